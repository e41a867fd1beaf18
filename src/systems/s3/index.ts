/** Amazon S3 and S3-compatible servers: `s3://<bucket>/<key>`, configured by the AWS chain. */
import type { SystemDescriptor } from "../descriptor.js";
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

export const descriptor: SystemDescriptor = {
  name: "s3",
  schemes: ["s3"],
  packages: ["@aws-sdk/client-s3"],
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
