/** Amazon S3 and S3-compatible servers: `s3://<bucket>/<key>`, configured by the AWS chain. */
import { join } from "node:path";
import type { SystemDescriptor } from "../descriptor.js";
import { file, variable, type SetupFound } from "../sources.js";

import { bucketAddress, bucketDefaultPath } from "../object-store.js";

export interface S3Config {
  endpoint: string;
  region: string;
  pathStyle: boolean;
  profile: string;
  /** Tuning: objects larger than this many bytes are copied in parts of this size (default 5 GiB). */
  copyPartSize: number;
  /** Where resources created without a path go. */
  bucket: string;
}

/** Explicit S3 credentials: an access key, with its session token when it is a temporary one. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const descriptor: SystemDescriptor = {
  name: "s3",
  schemes: ["s3"],
  packages: ["@aws-sdk/client-s3"],
  credentials: { fields: ["accessKeyId", "secretAccessKey", "sessionToken"], required: ["accessKeyId", "secretAccessKey"] },
  setup: (context) => {
    const { env, config, home } = context;
    const found: SetupFound = {
      sources: [
        ...["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"].flatMap((name) => variable(context, name)),
        ...file(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials")),
        ...file(env.AWS_CONFIG_FILE ?? join(home, ".aws", "config")),
        ...variable(context, "AWS_ENDPOINT_URL_S3"),
        ...variable(context, "AWS_ENDPOINT_URL"),
        ...(config.s3?.endpoint ? ["config s3.endpoint"] : []),
      ],
    };
    if (config.s3?.bucket) found.probe = `s3://${String(config.s3.bucket)}`;
    return found;
  },
  config: {
    endpoint: { env: "STOWAGE_S3_ENDPOINT", type: "string" },
    region: { type: "string" },
    pathStyle: { env: "STOWAGE_S3_PATH_STYLE", type: "boolean" },
    profile: { type: "string" },
    copyPartSize: { env: "STOWAGE_S3_COPY_PART_SIZE", type: "number" },
    bucket: { env: "STOWAGE_S3_BUCKET", type: "string" },
  },
  load: async () => {
    // AWS SDK releases for Node 20 print a notice about future releases on every start; it is not
    // the user's to act on. Setting the variable to "false" brings it back.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    return (await import("./system.js")).createS3System;
  },
  parseUrl: (rest, context) => bucketAddress("s3", "bucket", rest, context),
  normalize: (address) => address,
  format: (address) => `s3://${address.path.slice(1)}`,
  connectionKey: () => "s3",
  defaultPath: (kind, name, config) => bucketDefaultPath("s3", "bucket", "STOWAGE_S3_BUCKET", kind, name, config),
};
