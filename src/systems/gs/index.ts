/** Google Cloud Storage: `gs://<bucket>/<object name>`, configured by Application Default Credentials. */
import { join } from "node:path";
import type { SystemDescriptor } from "../descriptor.js";
import { file, variable, type SetupFound } from "../sources.js";

import { bucketAddress, bucketDefaultPath } from "../object-store.js";

export interface GsConfig {
  project: string;
  endpoint: string;
  /** Where resources created without a path go. */
  bucket: string;
}

/** Explicit GCS credentials: a service account's email and PEM private key, as in its JSON key file. */
export interface GsCredentials {
  clientEmail: string;
  privateKey: string;
}

export const descriptor: SystemDescriptor = {
  name: "gs",
  schemes: ["gs", "gcs"],
  packages: ["@google-cloud/storage"],
  credentials: { fields: ["clientEmail", "privateKey"], required: ["clientEmail", "privateKey"] },
  setup: (context) => {
    const found: SetupFound = {
      sources: [
        ...variable(context, "GOOGLE_APPLICATION_CREDENTIALS"),
        ...file(join(context.home, ".config", "gcloud", "application_default_credentials.json")),
        ...variable(context, "STORAGE_EMULATOR_HOST"),
        ...variable(context, "GOOGLE_CLOUD_PROJECT"),
      ],
    };
    if (context.config.gs?.bucket) found.probe = `gs://${String(context.config.gs.bucket)}`;
    return found;
  },
  config: {
    project: { type: "string" },
    endpoint: { type: "string" },
    bucket: { env: "STOWAGE_GS_BUCKET", type: "string" },
  },
  load: async () => (await import("./system.js")).createGsSystem,
  parseUrl: (rest, context) => bucketAddress("gs", "bucket", rest, context),
  normalize: (address) => address,
  format: (address) => `gs://${address.path.slice(1)}`,
  connectionKey: () => "gs",
  defaultPath: (kind, name, config) => bucketDefaultPath("gs", "bucket", "STOWAGE_GS_BUCKET", kind, name, config),
};
