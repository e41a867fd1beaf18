/** Measurements tests assert on: content digests and the process's peak memory. */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";

export async function sha256Of(stream: Readable | AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Runs `fn` while sampling RSS; returns its result and how far RSS rose above where it started. */
export async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; rssGrowth: number }> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, rssGrowth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `worker` over `items` with at most `limit` in flight. */
export async function eachLimit<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await worker(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}
