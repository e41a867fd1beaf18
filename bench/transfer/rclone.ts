/** A generated rclone.conf pointing rclone at the same servers Stowage uses. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Remote names in the generated config. */
export const RCLONE_REMOTE = { ssh: "bsftp", s3: "bs3", azure: "baz", gs: "bgs" } as const;

/** The settings of the research (B.2): 16 in flight, 16 MiB parts. */
export const RCLONE_FLAGS = [
  "--transfers",
  "16",
  "--checkers",
  "16",
  "--s3-chunk-size",
  "16M",
  "--s3-upload-concurrency",
  "16",
  "--azureblob-chunk-size",
  "16M",
  "--azureblob-upload-concurrency",
  "16",
  "--sftp-disable-hashcheck",
];

export async function writeRcloneConfig(dir: string, env: Record<string, string>): Promise<string> {
  const sections: string[] = [];
  if (env.STOWAGE_TEST_SSH_PORT) {
    sections.push(`[${RCLONE_REMOTE.ssh}]
type = sftp
host = 127.0.0.1
port = ${env.STOWAGE_TEST_SSH_PORT}
user = ${env.STOWAGE_TEST_SSH_USER}
key_file = ${env.STOWAGE_TEST_SSH_KEY}
known_hosts_file = ${env.STOWAGE_TEST_SSH_KNOWN_HOSTS}
`);
  }
  if (env.AWS_ENDPOINT_URL) {
    sections.push(`[${RCLONE_REMOTE.s3}]
type = s3
provider = Other
env_auth = false
access_key_id = ${env.AWS_ACCESS_KEY_ID}
secret_access_key = ${env.AWS_SECRET_ACCESS_KEY}
region = ${env.AWS_REGION ?? "us-east-1"}
endpoint = ${env.AWS_ENDPOINT_URL}
force_path_style = true
`);
  }
  if (env.AZURE_STORAGE_CONNECTION_STRING) {
    const endpoint = /BlobEndpoint=([^;]+)/.exec(env.AZURE_STORAGE_CONNECTION_STRING)?.[1];
    sections.push(`[${RCLONE_REMOTE.azure}]
type = azureblob
account = ${env.AZURE_STORAGE_ACCOUNT}
key = ${env.AZURE_STORAGE_KEY}
endpoint = ${endpoint}
use_emulator = true
`);
  }
  if (env.STORAGE_EMULATOR_HOST) {
    sections.push(`[${RCLONE_REMOTE.gs}]
type = google cloud storage
anonymous = true
project_number = ${env.GOOGLE_CLOUD_PROJECT}
endpoint = ${env.STORAGE_EMULATOR_HOST}/storage/v1/
`);
  }
  const file = join(dir, "rclone.conf");
  await writeFile(file, sections.join("\n"), { mode: 0o600 });
  return file;
}
