/**
 * Client authentication: the ssh-agent first (unless IdentitiesOnly), then each private key file
 * that exists, in order. A key with a passphrase is used only when STOWAGE_SSH_PASSPHRASE opens it;
 * otherwise it is skipped, because Stowage never prompts.
 */
import { readFileSync } from "node:fs";
import ssh2, { type AnyAuthMethod, type ParsedKey } from "ssh2";
import { credential } from "../../credentials.js";
import type { SshSettings } from "./settings.js";

// ssh2 is CommonJS and Node's ESM loader cannot see `utils` as a named export.
const { utils } = ssh2;

export interface AuthPlan {
  methods: AnyAuthMethod[];
  /** Each method's source (agent socket or key file), for error messages. */
  sources: string[];
  /** Why candidates were left out, for the error message when nothing works. */
  skipped: string[];
}

export function planAuth(settings: SshSettings, env: NodeJS.ProcessEnv = process.env): AuthPlan {
  const methods: AnyAuthMethod[] = [];
  const sources: string[] = [];
  const skipped: string[] = [];
  const username = settings.user;
  const explicitKey = credential(settings.credentials, "privateKey");
  if (explicitKey) {
    const parsed = utils.parseKey(explicitKey, credential(settings.credentials, "passphrase") ?? env.STOWAGE_SSH_PASSPHRASE);
    if (parsed instanceof Error) skipped.push(`the private key given in credentials: ${parsed.message}`);
    else {
      methods.push({ type: "publickey", username, key: parsed });
      sources.push("the private key given in credentials");
    }
  }
  const password = credential(settings.credentials, "password");
  if (password) {
    methods.push({ type: "password", username, password });
    sources.push("the password given in credentials");
  }
  if (settings.agentSocket) {
    methods.push({ type: "agent", username, agent: settings.agentSocket });
    sources.push(`ssh-agent ${settings.agentSocket}`);
  }
  for (const file of settings.identityFiles) {
    const key = loadKey(file, env.STOWAGE_SSH_PASSPHRASE, skipped);
    if (!key) continue;
    methods.push({ type: "publickey", username, key });
    sources.push(file);
  }
  return { methods, sources, skipped };
}

function loadKey(file: string, passphrase: string | undefined, skipped: string[]): ParsedKey | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined; // like ssh, missing default or configured key files are passed over quietly
  }
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    skipped.push(
      /passphrase/i.test(parsed.message) && passphrase === undefined
        ? `${file} has a passphrase (set STOWAGE_SSH_PASSPHRASE to use it)`
        : `${file}: ${parsed.message}`,
    );
    return undefined;
  }
  return parsed;
}
