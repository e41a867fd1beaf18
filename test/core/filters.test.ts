import { describe, expect, it } from "vitest";
import { createFilter, parseRules } from "../../src/transfer/filters.js";

const keep = (filter: (p: string) => boolean, paths: string[]) => paths.filter(filter);

describe("transfer filters", () => {
  const paths = ["a.txt", "b.bin", "src/x.ts", "src/deep/y.ts", ".git/HEAD", "sub/.git/config", "logs/1.log", "node_modules/p/i.js", "build/out.o"];

  it("exclude .git/ by default, and keep it on request", () => {
    expect(keep(createFilter(), paths)).not.toContain(".git/HEAD");
    expect(keep(createFilter(), paths)).not.toContain("sub/.git/config");
    expect(keep(createFilter({ includeGit: true }), paths)).toContain(".git/HEAD");
  });

  it("apply include and exclude globs with * and **", () => {
    expect(keep(createFilter({ include: ["**/*.ts"] }), paths)).toEqual(["src/x.ts", "src/deep/y.ts"]);
    expect(keep(createFilter({ include: ["src/*.ts"] }), paths)).toEqual(["src/x.ts"]);
    expect(keep(createFilter({ exclude: ["*.log", "node_modules/"] }), paths)).toEqual(["a.txt", "b.bin", "src/x.ts", "src/deep/y.ts", "build/out.o"]);
  });

  it("read ignore files in .gitignore syntax: anchors, directories, negation, comments", () => {
    const ignore = ["# build output", "/build", "*.bin", "!b.bin", "deep/"];
    expect(keep(createFilter({ ignore }), paths)).toEqual(["a.txt", "b.bin", "src/x.ts", "logs/1.log", "node_modules/p/i.js"]);
    expect(parseRules(["", "# only a comment"])).toEqual([]);
  });

  it("rejects empty patterns with InvalidInput", () => {
    expect(() => createFilter({ exclude: [""] })).toThrowError(expect.objectContaining({ code: "InvalidInput" }));
  });
});
