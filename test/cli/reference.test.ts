/** docs/cli.md is the CLI's own help, regenerated; a command whose usage changed makes it stale. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cliReference } from "../../scripts/cli-reference.js";

describe("docs/cli.md", () => {
  it("matches the command definitions (regenerate: npx tsx scripts/cli-reference.ts)", () => {
    expect(readFileSync("docs/cli.md", "utf8")).toBe(cliReference());
  });
});
