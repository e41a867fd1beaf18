/** Google Cloud Storage: `gs://<bucket>/<object name>`, configured by Application Default Credentials. */
import type { SystemDescriptor } from "../descriptor.js";
import { bucketAddress, bucketDefaultPath } from "../object-store.js";

export interface GsConfig {
  project: string;
  endpoint: string;
  /** Where resources created without a path go. */
  bucket: string;
}

export const descriptor: SystemDescriptor = {
  name: "gs",
  schemes: ["gs", "gcs"],
  packages: ["@google-cloud/storage"],
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
