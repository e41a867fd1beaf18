/**
 * Prints one summary line per storage system, then the plain closing line CI reads:
 * "N passed, N failed". A test file belongs to a system when its name starts with that system
 * (test/conformance/s3.test.ts, test/systems/s3-outside.test.ts); others count under "core".
 */
import { basename } from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import type { SerializedError } from "vitest";
import { SYSTEM_NAMES } from "../../src/systems/addresses.js";

function groupOf(moduleId: string): string {
  const file = basename(moduleId);
  return SYSTEM_NAMES.find((name) => file === `${name}.test.ts` || file.startsWith(`${name}-`)) ?? "core";
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<SerializedError>): void {
    const groups = new Map<string, { passed: number; failed: number; skipped: number }>();
    let passed = 0;
    let failed = errors.length;
    let skipped = 0;
    for (const module of modules) {
      const counts = groups.get(groupOf(module.moduleId)) ?? { passed: 0, failed: 0, skipped: 0 };
      groups.set(groupOf(module.moduleId), counts);
      // A file that failed to load, or whose hooks failed, counts as a failure even with no tests run.
      if (module.state() === "failed" && [...module.children.allTests()].every((t) => t.result().state !== "failed")) {
        counts.failed++;
      }
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
    }
    const lines: string[] = [];
    for (const [group, counts] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      passed += counts.passed;
      failed += counts.failed;
      skipped += counts.skipped;
      const skippedText = counts.skipped ? `, ${counts.skipped} skipped` : "";
      lines.push(`${group.padEnd(8)} ${counts.passed} passed, ${counts.failed} failed${skippedText}`);
    }
    const skippedText = skipped ? `, ${skipped} skipped` : "";
    process.stdout.write(`\nPer system:\n${lines.map((l) => `  ${l}`).join("\n")}\n\n${passed} passed, ${failed} failed${skippedText}\n`);
  }
}
