// Module hook: appends every resolved module URL to $STOWAGE_RESOLVE_LOG, so a test can see
// exactly which packages a program loaded.
import { appendFileSync } from "node:fs";

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(process.env.STOWAGE_RESOLVE_LOG, `${result.url}\n`);
  return result;
}
