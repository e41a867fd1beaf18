/** The ssh config and known_hosts readers, checked against OpenSSH's documented semantics. */
import { createHmac, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StowageConfig } from "../../src/config.js";
import { hostFieldMatches, KnownHosts, knownHostsName } from "../../src/systems/ssh/known-hosts.js";
import { resolveSettings } from "../../src/systems/ssh/settings.js";
import { expandPath, parseSshConfig, resolveHostConfig } from "../../src/systems/ssh/ssh-config.js";
import { removeScratch, scratch } from "./ssh-helpers.js";

afterAll(removeScratch);

const CONFIG = `
# Global options come first and apply to every host.
IdentityFile ~/.ssh/global_key

Match host gpu-box exec "false"
  Port 9999
  User matched

Host gpu-box gpu-?? !gpu-00
  HostName %h.lab.example
  User trainer
  IdentityFile %d/.ssh/%r_%h
  IdentitiesOnly yes

Host gpu-*
  Port 2222
  User ignored-because-first-wins

Host *.internal
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/a_hosts "/etc/with space"

Host *
  Port=22
  User default-user
  IdentityAgent none
`;

function settingsFor(host: string, extra: Partial<{ user: string; port: number }> = {}, config: StowageConfig = {}) {
  const dir = scratch("ssh-config");
  const file = join(dir, "config");
  writeFileSync(file, CONFIG);
  return resolveSettings({ system: "ssh", host, path: "/", ...extra }, { ...config, ssh: { configFile: file, ...config.ssh } }, { HOME: "/home/me" });
}

describe("ssh config", () => {
  it("takes the first value per keyword, across Host blocks, and skips Match blocks", () => {
    const settings = settingsFor("gpu-box");
    expect(settings.user).toBe("trainer");
    expect(settings.port).toBe(2222);
    expect(settings.hostName).toBe("gpu-box.lab.example");
  });

  it("accumulates IdentityFile and expands ~ and %d %r %h", () => {
    const settings = settingsFor("gpu-box");
    expect(settings.identityFiles).toEqual(["/home/me/.ssh/global_key", "/home/me/.ssh/trainer_gpu-box.lab.example"]);
    // IdentitiesOnly keeps the agent out.
    expect(settings.agentSocket).toBeUndefined();
  });

  it("matches ? wildcards and honours negated patterns", () => {
    expect(settingsFor("gpu-07").user).toBe("trainer");
    expect(settingsFor("gpu-00").user).toBe("ignored-because-first-wins");
    expect(settingsFor("web").user).toBe("default-user");
    expect(settingsFor("web").port).toBe(22);
  });

  it("lets the address override the config", () => {
    const settings = settingsFor("gpu-box", { user: "me", port: 2200 });
    expect(settings.user).toBe("me");
    expect(settings.port).toBe(2200);
    expect(settings.identityFiles).toContain("/home/me/.ssh/me_gpu-box.lab.example");
  });

  it("reads UserKnownHostsFile lists with quotes and StrictHostKeyChecking", () => {
    const settings = settingsFor("db.internal");
    expect(settings.knownHostsFiles.slice(0, 2)).toEqual(["/home/me/.ssh/a_hosts", "/etc/with space"]);
    expect(settings.knownHostsWriteFile).toBe("/home/me/.ssh/a_hosts");
    expect(settings.hostKeyPolicy).toBe("accept-new");
    expect(settingsFor("web").hostKeyPolicy).toBe("strict");
    expect(settingsFor("web", {}, { ssh: { acceptNewHostKeys: true } }).hostKeyPolicy).toBe("accept-new");
  });

  it("uses config.ssh.knownHosts instead of every other known_hosts file", () => {
    const settings = settingsFor("db.internal", {}, { ssh: { knownHosts: "/x/known" } });
    expect(settings.knownHostsFiles).toEqual(["/x/known"]);
    expect(settings.knownHostsWriteFile).toBe("/x/known");
  });

  it("falls back to the default key files and SSH_AUTH_SOCK without a config file", () => {
    const settings = resolveSettings({ system: "ssh", host: "h", path: "/" }, { ssh: { configFile: "/nonexistent/config" } }, {
      HOME: "/home/me",
      SSH_AUTH_SOCK: "/run/agent.sock",
    });
    expect(settings.identityFiles).toEqual(["/home/me/.ssh/id_ed25519", "/home/me/.ssh/id_ecdsa", "/home/me/.ssh/id_rsa"]);
    expect(settings.agentSocket).toBe("/run/agent.sock");
    expect(settings.knownHostsFiles).toContain("/home/me/.ssh/known_hosts");
    expect(settings.knownHostsFiles).toContain("/etc/ssh/ssh_known_hosts");
  });

  it("parses keyword=value and ignores keywords it does not know", () => {
    const blocks = parseSshConfig("Host a\n  ForwardAgent yes\n  hostname=b.example\n  ProxyJump   x\n");
    expect(resolveHostConfig(blocks, "a").hostName).toBe("b.example");
  });

  it("expands %% and rejects unknown tokens", () => {
    const tokens = { home: "/h", localUser: "lu", hostName: "hn", remoteUser: "ru", port: 22, alias: "al" };
    expect(expandPath("~/%%/%u/%p/%n", tokens)).toBe("/h/%/lu/22/al");
    expect(() => expandPath("%Z", tokens)).toThrow();
  });
});

describe("known_hosts", () => {
  const key = (seed: string) => {
    const type = Buffer.from("ssh-ed25519");
    const body = Buffer.alloc(32, seed);
    const blob = Buffer.concat([u32(type.length), type, u32(body.length), body]);
    return blob;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const line = (hosts: string, blob: Buffer, marker = "") => `${marker ? marker + " " : ""}${hosts} ssh-ed25519 ${blob.toString("base64")}`;
  const hashed = (name: string) => {
    const salt = randomBytes(20);
    return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
  };
  function knownHosts(text: string): KnownHosts {
    const file = join(scratch("ssh-kh-unit"), "known_hosts");
    writeFileSync(file, text);
    return new KnownHosts([file, "/nonexistent/known_hosts"]);
  }

  it("names non-22 ports as [host]:port", () => {
    expect(knownHostsName("h", 22)).toBe("h");
    expect(knownHostsName("h", 2222)).toBe("[h]:2222");
  });

  it("matches comma lists, wildcards and negation", () => {
    expect(hostFieldMatches("a.example,b.example", "b.example")).toBe(true);
    expect(hostFieldMatches("*.example,!evil.example", "evil.example")).toBe(false);
    expect(hostFieldMatches("*.example", "x.example")).toBe(true);
    expect(hostFieldMatches("[h]:2222", "h")).toBe(false);
  });

  it("judges keys as known, changed, unknown and revoked", () => {
    const good = key("g");
    const other = key("o");
    const kh = knownHosts(
      [
        "# comment",
        line("plain.example,[ported.example]:2222", good),
        line(hashed("hashed.example"), good),
        line("*", other, "@cert-authority"),
        line("revoked.example", good),
        line("revoked.example", good, "@revoked"),
        "garbage line",
      ].join("\n"),
    );
    expect(kh.check("plain.example", good)).toBe("known");
    expect(kh.check("[ported.example]:2222", good)).toBe("known");
    expect(kh.check("ported.example", good)).toBe("unknown");
    expect(kh.check("hashed.example", good)).toBe("known");
    expect(kh.check("hashed.example", other)).toBe("changed");
    expect(kh.check("nowhere.example", other)).toBe("unknown");
    expect(kh.check("revoked.example", good)).toBe("revoked");
    expect(kh.keyTypesFor("plain.example")).toEqual(["ssh-ed25519"]);
  });
});
