/** The `stowage` command end to end, as a shell user runs it, against the SSH test host. */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { folder } from "../../src/index.js";
import { tempDir } from "../support/process.js";

const execFileAsync = promisify(execFile);

async function stowage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the stowage CLI with an SSH host", () => {
  const remote = () => `ssh://${process.env.STOWAGE_TEST_SSH_HOST}${process.env.STOWAGE_TEST_SSH_DIR}/cli-${randomUUID()}`;

  it("copies a local folder to the host, lists it and prints a file", async () => {
    const local = join(tempDir("cli"), "data");
    await folder(local).put({ "a.txt": "alpha\n", "sub/b.txt": "bravo\n" });
    const target = remote();
    const copied = await stowage("cp", "--json", local, target);
    expect(copied.code).toBe(0);
    expect(JSON.parse(copied.stdout)).toMatchObject({ bytes: 12, failed: [] });
    const listed = await stowage("ls", "-R", "--json", target);
    expect(JSON.parse(listed.stdout).map((e: { path: string }) => e.path)).toEqual(["a.txt", "sub/b.txt"]);
    expect((await stowage("cat", `${target}/sub/b.txt`)).stdout).toBe("bravo\n");
  });

  it("exits with the code of the error and prints it as JSON on request", async () => {
    const missing = await stowage("cat", `${remote()}/missing.txt`);
    expect(missing.code).toBe(3);
    const json = await stowage("ls", "--json", `${remote()}-nope`);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "NotFound", system: "ssh" });
    expect((await stowage("cp", "only-one-argument")).code).toBe(2);
  });
});
