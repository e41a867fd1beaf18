/**
 * The Storage client, configured the way Google's own tools are: Application Default Credentials
 * (GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file, the metadata server), the project from
 * `config.gs.project` or GOOGLE_CLOUD_PROJECT / GCLOUD_PROJECT, and STORAGE_EMULATOR_HOST, which the
 * SDK reads itself when the client is constructed.
 */
import { IdempotencyStrategy, Storage, type StorageOptions } from "@google-cloud/storage";
import { OAuth2Client } from "google-auth-library";
import { timeoutsMs, type StowageConfig } from "../../config.js";
import { sectionOf } from "../descriptor.js";
import type { GsConfig } from "./index.js";
import { credential, type Credentials } from "../../credentials.js";

export interface GsConnection {
  storage: Storage;
  /** Where requests go, for the system id. */
  endpoint: string;
  /** True when talking to an emulator (STORAGE_EMULATOR_HOST), which may not enforce preconditions. */
  emulator: boolean;
  project: string | undefined;
  /**
   * Whether uploads may hold a resumable session open across requests (chunks), to continue it
   * after a failure. Real GCS and private endpoints do. The firebase-tools emulator the tests use
   * does not: it appends each PUT's body and finalizes the object at once, whatever the
   * Content-Range says (a status query would finalize an empty object), so against an emulator
   * uploads stay single-request and cannot resume.
   */
  chunkedSessions: boolean;
  /** A request with no answer for this long is taken for a stalled connection (the idle timeout). */
  stallMs: number;
}

export function connect(config: StowageConfig, env: NodeJS.ProcessEnv = process.env, credentials?: Credentials): GsConnection {
  const emulatorHost = env.STORAGE_EMULATOR_HOST || undefined;
  const options: StorageOptions = {
    // With the default (RetryConditional) strategy, SDK 7.22 switches retries off client-wide while
    // an unconditional upload or delete runs, and concurrent calls can leave them off for good
    // (then one dropped keep-alive connection fails a read). Our writes are whole-object and our
    // deletes ignore NotFound, so repeating them is safe.
    retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways },
  };
  // A short-lived token handed over by the Stowage that started this copy on an SSH host.
  if (env.STOWAGE_GS_ACCESS_TOKEN) {
    const client = new OAuth2Client();
    client.setCredentials({ access_token: env.STOWAGE_GS_ACCESS_TOKEN });
    options.authClient = client;
  }
  if (credentials) {
    options.credentials = { client_email: credential(credentials, "clientEmail")!, private_key: credential(credentials, "privateKey")! };
  }
  const project = sectionOf<GsConfig>(config, "gs").project ?? (env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT);
  if (project) options.projectId = project;
  const endpoint = sectionOf<GsConfig>(config, "gs").endpoint;
  if (endpoint) {
    options.apiEndpoint = endpoint;
    // The SDK skips credentials for any custom endpoint; a private endpoint of real GCS needs them.
    options.useAuthWithCustomEndpoint = emulatorHost === undefined;
  }
  return {
    storage: new Storage(options),
    endpoint: emulatorHost ?? endpoint ?? "https://storage.googleapis.com",
    emulator: emulatorHost !== undefined,
    project,
    chunkedSessions: emulatorHost === undefined,
    stallMs: timeoutsMs(config).idle,
  };
}
