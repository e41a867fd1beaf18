/**
 * A separate program: waits until the given instant, then saves a blob of `content` at `url` under
 * `name`, and prints the version it got. Several of these at once race on one name.
 */
import { blob, closeSystems } from "../../src/index.js";

const [name, url, content, startAt] = process.argv.slice(2) as [string, string, string, string];
const resource = blob({ data: content, path: url });
await resource.writePending();
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
await resource.save(name);
process.stdout.write(JSON.stringify({ version: resource.version }));
await closeSystems();
