import { readFileSync } from "node:fs";

/** This package's version, read once from package.json (two levels up from src/ and from dist/). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
