/** The ssh config and known_hosts readers, checked against OpenSSH's documented semantics. */
import { createHmac, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { StowageConfig } from "../../src/config.js";
import { hostFieldMatches, KnownHosts, knownHostsName } from "../../src/systems/ssh/known-hosts.js";
import { SshConfigError } from "../../src/systems/ssh/errors.js";
import { resolveSettings, type SshSettings } from "../../src/systems/ssh/settings.js";
import { expandPath, parseSshConfig, resolveHostConfig } from "../../src/systems/ssh/ssh-config.js";
import { removeScratch, scratch } from "./ssh-helpers.js";

afterAll(removeScratch);

const run = promisify(execFile);

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
  it("takes the first value per keyword, across Host blocks, and skips Match blocks whose criteria fail", () => {
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
    const settings = resolveSettings(
      { system: "ssh", host: "h", path: "/" },
      { ssh: { configFile: "/nonexistent/config" } },
      {
        HOME: "/home/me",
        SSH_AUTH_SOCK: "/run/agent.sock",
      },
    );
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

describe("ssh config Match", () => {
  function configFile(text: string, extra: Record<string, string> = {}): string {
    const dir = scratch("ssh-match");
    for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
    const file = join(dir, "config");
    writeFileSync(file, text);
    return file;
  }
  function resolveWith(text: string, host: string, extra: Partial<{ user: string; port: number }> = {}, files: Record<string, string> = {}) {
    const file = configFile(text, files);
    return resolveSettings({ system: "ssh", host, path: "/", ...extra }, { ssh: { configFile: file } }, { HOME: dirname(file) });
  }
  const localUser = userInfo().username;

  it("judges host against the HostName obtained so far and originalhost against the host as given", () => {
    const config = [
      "Match host alias",
      "  IdentityFile ~/before-hostname",
      "Host alias",
      "  HostName real.example",
      "Match host real.example",
      "  User by-host",
      "Match host alias",
      "  Port 1111",
      "Match originalhost alias",
      "  Port 2001",
      "",
    ].join("\n");
    const settings = resolveWith(config, "alias");
    expect(settings).toMatchObject({ hostName: "real.example", user: "by-host", port: 2001 });
    expect(settings.identityFiles.map((file) => basename(file))).toEqual(["before-hostname"]);
    expect(resolveWith(config, "other")).toMatchObject({ user: localUser, port: 22 });
  });

  it("judges user against the address's user, else the User obtained so far, else the local user; case-sensitively", () => {
    const config = ["Match user alice", "  Port 2001", "Host *", "  User bob", "Match user bob", "  Port 2002", "Match user ALICE", "  Port 2003", ""].join(
      "\n",
    );
    expect(resolveWith(config, "h", { user: "alice" })).toMatchObject({ user: "alice", port: 2001 });
    expect(resolveWith(config, "h")).toMatchObject({ user: "bob", port: 2002 });
    expect(resolveWith(config, "h", { user: "ALICE" }).port).toBe(2003);
    expect(resolveWith(`Match localuser ${localUser}\n  Port 2004\n`, "h").port).toBe(2004);
    expect(resolveWith(`Match localuser !${localUser},*\n  Port 2005\n`, "h").port).toBe(22);
  });

  it("takes comma lists and negation, ANDs criteria, and knows all and !all", () => {
    const config = [
      "Match host web-*,!web-internal user deploy",
      "  Port 2001",
      "Match !host db-* originalhost web-*",
      "  Port 2002",
      "Match !all",
      "  User never",
      "Match all",
      "  User everyone",
      "",
    ].join("\n");
    expect(resolveWith(config, "web-1", { user: "deploy" }).port).toBe(2001);
    expect(resolveWith(config, "web-internal", { user: "deploy" }).port).toBe(2002);
    expect(resolveWith(config, "web-1").port).toBe(2002);
    expect(resolveWith(config, "db-1", { user: "deploy" }).port).toBe(22);
    expect(resolveWith(config, "db-1").user).toBe("everyone");
  });

  it("runs exec with /bin/sh and %h %p %r %n %u %d expanded, matching on exit status 0", () => {
    const config = [
      "Host t",
      "  HostName t.example",
      "  Port 2200",
      "Match exec false",
      "  User from-false",
      `Match exec "test %h = t.example && test %p = 2200 && test %r = ${localUser} && test %n = t && test %u = ${localUser} && test -d %d && test 100%% = 100%%"`,
      "  User from-true",
      "",
    ].join("\n");
    expect(resolveWith(config, "t").user).toBe("from-true");
    expect(resolveWith(config, "u").user).toBe(localUser);
    expect(() => resolveWith('Match exec "true %Z"\n  User x\n', "t")).toThrow(SshConfigError);
  });

  it("does not run exec once an earlier criterion of its line failed, and runs it once for the blocks an Include adds", () => {
    const file = configFile("");
    const marks = join(dirname(file), "marks");
    writeFileSync(
      file,
      [
        `Match host nothing-matches exec "echo skipped >> ${marks}"`,
        "  User never",
        `Match exec "echo ran >> ${marks}"`,
        `  Include ${join(dirname(file), "inner.conf")}`,
        "",
      ].join("\n"),
    );
    writeFileSync(join(dirname(file), "inner.conf"), "User from-include\nHost h\n  Port 2001\nHost *\n  IdentityFile ~/inner-key\n");
    const settings = resolveSettings({ system: "ssh", host: "h", path: "/" }, { ssh: { configFile: file } }, { HOME: dirname(file) });
    expect(settings).toMatchObject({ user: "from-include", port: 2001, identityFiles: [join(dirname(file), "inner-key")] });
    expect(readFileSync(marks, "utf8")).toBe("ran\n");
  });

  it("applies an Include inside a Match block only when the Match holds", () => {
    // A relative Include is under ~/.ssh; HOME is the config's directory here.
    const config = ["Match host gpu-*", "  Include ../gpu.conf", "Host *", "  User fallback", ""].join("\n");
    const files = { "gpu.conf": "User trainer\nHost gpu-2\n  Port 2002\n" };
    expect(resolveWith(config, "gpu-1", {}, files)).toMatchObject({ user: "trainer", port: 22 });
    expect(resolveWith(config, "gpu-2", {}, files)).toMatchObject({ user: "trainer", port: 2002 });
    expect(resolveWith(config, "web", {}, files)).toMatchObject({ user: "fallback", port: 22 });
  });

  it("keeps the first value obtained across Host and Match blocks in file order", () => {
    const config = [
      "Match originalhost h",
      "  Port 2001",
      "Host h",
      "  Port 2002",
      "  User from-host",
      "Match all",
      "  User from-match",
      "  HostName late.example",
      "",
    ].join("\n");
    expect(resolveWith(config, "h")).toMatchObject({ port: 2001, user: "from-host", hostName: "late.example" });
  });

  it("reads again for Match final, where final and canonical hold and Host lines match the HostName", () => {
    const config = [
      "Match canonical",
      "  User canon",
      "Match final",
      "  Port 2002",
      "Host real.example",
      "  IdentityFile ~/final-key",
      "Host alias",
      "  HostName Real.Example",
      "  IdentityFile ~/alias-key",
      "",
    ].join("\n");
    const settings = resolveWith(config, "alias");
    expect(settings).toMatchObject({ user: "canon", port: 2002, hostName: "Real.Example" });
    expect(settings.identityFiles.map((file) => basename(file))).toEqual(["alias-key", "final-key"]);
    // Without a Match final, canonical never holds: Stowage does no CanonicalizeHostname.
    expect(resolveWith("Match canonical\n  User canon\n", "alias").user).toBe(localUser);
  });

  it("rejects Match lines OpenSSH rejects, and never applies criteria of newer OpenSSH releases", () => {
    for (const line of ["Match host", "Match", "Match frobnicate x", "Match canonical host a all", "Match all host a", 'Match exec "'])
      expect(() => resolveWith(`${line}\n  User x\n`, "a"), line).toThrow(SshConfigError);
    expect(resolveWith("Match tagged x\n  User x\nMatch !localnetwork 10.0.0.0/8\n  Port 2001\n", "a")).toMatchObject({ user: localUser, port: 22 });
    expect(resolveWith("Match final all # comment\n  User x\n", "a").user).toBe("x");
    expect(resolveWith("Match host a all\n  User x\n", "a").user).toBe("x");
  });

  it("stops a Match exec that runs too long with an SshConfigError", () => {
    const blocks = parseSshConfig('Match exec "sleep 5"\n  User x\n');
    const started = Date.now();
    expect(() => resolveHostConfig(blocks, "h", { execTimeoutMs: 200 })).toThrow(SshConfigError);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("agrees with OpenSSH's own ssh -G", async () => {
    const config = [
      "Match originalhost a*",
      "  Port 2001",
      "Host a1",
      "  HostName one.example",
      "Match host one.example user !root,*",
      "  User matched-one",
      "Match host *.example",
      "  Port 2009",
      "  User example-user",
      'Match exec "test %n = b"',
      "  HostName bee.example",
      "Match final host bee.example",
      "  User final-bee",
      "Host *",
      "  User default",
      "",
    ].join("\n");
    const file = configFile(config);
    const cases: Array<[host: string, user?: string]> = [["a1"], ["a1", "root"], ["a2"], ["b"], ["b", "someone"], ["c"]];
    for (const [host, user] of cases) {
      const { stdout } = await run("ssh", ["-G", "-F", file, ...(user ? ["-l", user] : []), host]);
      const openssh = Object.fromEntries(stdout.split("\n").map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]));
      const ours = resolveSettings({ system: "ssh", host, path: "/", ...(user ? { user } : {}) }, { ssh: { configFile: file } }, { HOME: dirname(file) });
      expect({ host, user: ours.user, port: String(ours.port), hostName: ours.hostName.toLowerCase() }).toEqual({
        host,
        user: openssh.user,
        port: openssh.port,
        hostName: openssh.hostname,
      });
    }
  });
});
