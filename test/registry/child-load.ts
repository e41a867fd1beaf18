/** A separate program: loads a name and prints what it found as JSON (used by the registry tests). */
import { Blob, closeSystems, load } from "../../src/index.js";

const resource = await load(process.argv[2]!);
const text = resource instanceof Blob ? await resource.fetch("utf8") : undefined;
process.stdout.write(JSON.stringify({ type: resource.resourceType, version: resource.version, text }));
await closeSystems();
