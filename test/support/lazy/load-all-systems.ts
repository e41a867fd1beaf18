// Child program: loads every system module under Node's own ESM loader (not vitest's), which is
// how the CLI and the published package load them. CommonJS packages expose fewer named exports there.
const modules = ["file", "ssh", "s3", "gs", "azure", "github"].map((name) => `${name}/system.js`);
for (const name of modules) await import(`../../../src/systems/${name}`);
await import("../../../src/resources/table/engine.js");
process.stdout.write(`loaded ${modules.length} systems\n`);
