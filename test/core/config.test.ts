/** Stowage's own settings: file first, STOWAGE_* variables on top, bad values refused up front. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUTS, timeoutsMs } from "../../src/config.js";
import { loadConfig } from "../../src/systems/config.js";
import { tempDir } from "../support/process.js";

function configFile(content: object): string {
  const path = join(tempDir("config"), "config.json");
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe("config", () => {
  it("fills in rclone-like network timeouts by default", () => {
    const config = loadConfig({ STOWAGE_CONFIG: "/nonexistent/config.json" });
    expect(timeoutsMs(config)).toEqual({ connect: DEFAULT_TIMEOUTS.connectSeconds * 1000, idle: DEFAULT_TIMEOUTS.idleSeconds * 1000 });
  });

  it("takes timeouts from the file, and STOWAGE_* variables over the file", () => {
    const path = configFile({ timeouts: { connectSeconds: 5, idleSeconds: 20 } });
    expect(timeoutsMs(loadConfig({ STOWAGE_CONFIG: path }))).toEqual({ connect: 5000, idle: 20000 });
    expect(timeoutsMs(loadConfig({ STOWAGE_CONFIG: path, STOWAGE_IDLE_TIMEOUT: "1.5" }))).toEqual({ connect: 5000, idle: 1500 });
  });

  it("refuses a timeout that is not a positive number with InvalidInput", () => {
    for (const value of ["0", "-3", "soon"]) {
      expect(() => loadConfig({ STOWAGE_CONFIG: "/nonexistent/config.json", STOWAGE_CONNECT_TIMEOUT: value })).toThrow(
        expect.objectContaining({ name: "StowageError", code: "InvalidInput" }),
      );
    }
  });

  it("refuses a config file that is not JSON with InvalidInput", () => {
    const path = join(tempDir("config"), "broken.json");
    writeFileSync(path, "{ not json");
    expect(() => loadConfig({ STOWAGE_CONFIG: path })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
  });
});
