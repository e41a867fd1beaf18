/** The ssh config and known_hosts readers, checked against OpenSSH's documented semantics. */
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StowageConfig } from "../../src/config.js";
import { hostFieldMatches, KnownHosts, knownHostsName } from "../../src/systems/ssh/known-hosts.js";
import { SshConfigError } from "../../src/systems/ssh/errors.js";
import { resolveSettings, type SshSettings } from "../../src/systems/ssh/settings.js";
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

describe("ssh config Include", () => {
  /** Writes `files` (path → text) under a fresh directory, which also serves as $HOME. */
  function tree(files: Record<string, string>): string {
    const home = scratch("ssh-include");
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(home, path)), { recursive: true });
      writeFileSync(join(home, path), text);
    }
    return home;
  }
  const resolveIn = (home: string, host: string) =>
    resolveSettings({ system: "ssh", host, path: "/" }, { ssh: { configFile: join(home, ".ssh", "config") } }, { HOME: home });

  it("reads globbed files under ~/.ssh in lexical order, skipping hidden and missing ones", () => {
    const home = tree({
      ".ssh/config": "Include config.d/*.conf ~/nowhere/* /nonexistent/file\nHost *\n  User from-main\n",
      ".ssh/config.d/b.conf": "Host gpu\n  User from-b\n  Port 2201\n",
      ".ssh/config.d/a.conf": "Host gpu\n  User from-a\n",
      ".ssh/config.d/.hidden.conf": "Host *\n  HostName hidden.example\n",
      ".ssh/config.d/c.txt": "Host *\n  HostName txt.example\n",
    });
    const settings = resolveIn(home, "gpu");
    expect(settings.user).toBe("from-a");
    expect(settings.port).toBe(2201);
    expect(settings.hostName).toBe("gpu");
    expect(resolveIn(home, "web").user).toBe("from-main");
  });

  it("globs directories too, and takes ~/ and absolute paths", () => {
    const home = tree({
      ".ssh/config": "Include ~/conf/*/hosts\n",
      "conf/2-second/hosts": "Host *\n  Port 2002\n  User second\n",
      "conf/1-first/hosts": "Host *\n  Port 2001\n",
    });
    const absolute = tree({ ".ssh/config": `Include ${join(home, "conf", "2-second", "hosts")}\n` });
    expect(resolveIn(home, "h").port).toBe(2001);
    expect(resolveIn(home, "h").user).toBe("second");
    expect(resolveIn(absolute, "h").port).toBe(2002);
  });

  it("applies an Include inside a Host block only to hosts that block matches, its Host blocks included", () => {
    const home = tree({
      ".ssh/config": ["Host gpu-*", "  Include cond.conf", "  IdentityFile ~/after-include", "Host *", "  User fallback", ""].join("\n"),
      ".ssh/cond.conf": ["User from-cond", "Host gpu-1 other", "  Port 2222", ""].join("\n"),
    });
    expect(resolveIn(home, "gpu-1")).toMatchObject({ user: "from-cond", port: 2222, identityFiles: [join(home, "after-include")] });
    expect(resolveIn(home, "gpu-2")).toMatchObject({ user: "from-cond", port: 22 });
    // "other" is named in the included file, but the Include itself is in a block that does not match it.
    expect(resolveIn(home, "other")).toMatchObject({ user: "fallback", port: 22 });
    expect(resolveIn(home, "other").identityFiles).not.toContain(join(home, "after-include"));
  });

  it("returns to the including block after an included file ends inside a Host block", () => {
    const home = tree({
      ".ssh/config": "Include top.conf\nUser after-include\n",
      ".ssh/top.conf": "Host nothing-matches\n  Port 1\n",
    });
    expect(resolveIn(home, "x")).toMatchObject({ user: "after-include", port: 22 });
  });

  it("stops an Include loop with an SshConfigError, and allows nesting up to OpenSSH's depth of 16", () => {
    const loop = tree({ ".ssh/config": "Include a.conf\n", ".ssh/a.conf": "Include b.conf\n", ".ssh/b.conf": "Include a.conf\n" });
    expect(() => resolveIn(loop, "h")).toThrow(SshConfigError);
    const self = tree({ ".ssh/config": "Include config\n" });
    expect(() => resolveIn(self, "h")).toThrow(SshConfigError);

    const chain = (levels: number) => {
      const files: Record<string, string> = { ".ssh/config": "Include f1\n" };
      for (let i = 1; i <= levels; i++) files[`.ssh/f${i}`] = i === levels ? "User deepest\n" : `Include f${i + 1}\n`;
      return tree(files);
    };
    expect(resolveIn(chain(16), "h").user).toBe("deepest");
    expect(() => resolveIn(chain(17), "h")).toThrow(SshConfigError);
  });
});

describe("ssh config ProxyJump and ProxyCommand", () => {
  function resolveWith(text: string, host: string, extra: Partial<{ user: string; port: number }> = {}) {
    const file = join(scratch("ssh-proxy-config"), "config");
    writeFileSync(file, text);
    return resolveSettings({ system: "ssh", host, path: "/", ...extra }, { ssh: { configFile: file } }, { HOME: "/home/me" });
  }
  const jumpVia = (settings: SshSettings | undefined): SshSettings | undefined => (settings?.proxy?.kind === "jump" ? settings.proxy.via : undefined);

  it("resolves each hop through the config; later hops go through earlier ones, the first by its own config", () => {
    const config = [
      "Host target",
      "  HostName 10.0.0.5",
      "  ProxyJump alice@bastion:2200,inner",
      "Host bastion",
      "  HostName bastion.example",
      "  User bob",
      "  Port 2100",
      "  IdentityFile ~/.ssh/bastion_key",
      "  ProxyJump outer",
      "Host inner",
      "  HostName inner.example",
      "  Port 2022",
      "  ProxyJump ignored-inside-a-chain",
      "Host outer",
      "  HostName outer.example",
      "",
    ].join("\n");
    const target = resolveWith(config, "target", { user: "me", port: 2345 });
    expect(target).toMatchObject({ hostName: "10.0.0.5", user: "me", port: 2345 });
    const inner = jumpVia(target);
    expect(inner).toMatchObject({ alias: "inner", hostName: "inner.example", port: 2022 });
    expect(inner?.user).not.toBe("me"); // the address's user is the target's alone
    const bastion = jumpVia(inner);
    expect(bastion).toMatchObject({ alias: "bastion", hostName: "bastion.example", user: "alice", port: 2200 });
    expect(bastion?.identityFiles).toEqual(["/home/me/.ssh/bastion_key"]);
    const outer = jumpVia(bastion);
    expect(outer).toMatchObject({ alias: "outer", hostName: "outer.example", port: 22, proxy: undefined });
  });

  it("takes [v6]:port and ssh:// hops, and rejects malformed ones", () => {
    expect(jumpVia(resolveWith("Host t\n  ProxyJump u@[::1]:2200\n", "t"))).toMatchObject({ hostName: "::1", user: "u", port: 2200 });
    expect(jumpVia(resolveWith("Host t\n  ProxyJump ssh://u@h.example:2201\n", "t"))).toMatchObject({ hostName: "h.example", user: "u", port: 2201 });
    expect(() => resolveWith("Host t\n  ProxyJump h:99999\n", "t")).toThrow(SshConfigError);
    expect(() => resolveWith("Host t\n  ProxyJump @h\n", "t")).toThrow(SshConfigError);
  });

  it("uses whichever of ProxyJump and ProxyCommand comes first; none disables both", () => {
    const config = [
      "Host cmd-first",
      "  ProxyCommand nc %h %p",
      "Host none-first",
      "  ProxyJump none",
      "Host *",
      "  ProxyJump bastion",
      "  ProxyCommand never-used",
      "Host bastion",
      "",
    ].join("\n");
    expect(resolveWith(config, "cmd-first").proxy).toEqual({ kind: "command", command: "nc cmd-first 22" });
    expect(resolveWith(config, "none-first").proxy).toBeUndefined();
    expect(resolveWith("Host *\n  ProxyCommand none\n  ProxyJump b\n", "x").proxy).toBeUndefined();
  });

  it("expands %h %p %r %n %% in ProxyCommand, keeps its quotes, and rejects other tokens", () => {
    const config = 'Host t\n  HostName t.example\n  User u\n  Port 2222\n  ProxyCommand ssh -W "%h:%p" -l %r jump # %n 100%%\n';
    expect(resolveWith(config, "t").proxy).toEqual({ kind: "command", command: 'ssh -W "t.example:2222" -l u jump # t 100%' });
    expect(() => resolveWith("Host t\n  ProxyCommand nc %d %p\n", "t")).toThrow(SshConfigError);
  });

  it("refuses jump hosts that jump through each other", () => {
    expect(() => resolveWith("Host *\n  ProxyJump bastion\n", "target")).toThrow(SshConfigError);
  });
});
