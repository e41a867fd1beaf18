/**
 * The SSH socket's writes of one tick leave in one writev (src/systems/ssh/coalesce-writes.ts), and
 * nothing written is held back past the tick or lost at end().
 */
import { Writable } from "node:stream";
import { setImmediate as nextLoop } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { coalesceWrites } from "../../src/systems/ssh/coalesce-writes.js";

/** A sink that records each batch the stream hands it. */
function recordingSink(): { sink: Writable; batches: string[][] } {
  const batches: string[][] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      batches.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      batches.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { sink, batches };
}

describe("coalesceWrites", () => {
  it("hands the writes of one tick to the sink as one batch, in order", async () => {
    const { sink, batches } = recordingSink();
    coalesceWrites(sink);
    for (const piece of ["a", "b", "c", "d"]) sink.write(piece);
    expect(batches).toEqual([]); // held until the tick ends
    await nextLoop();
    expect(batches).toEqual([["a", "b", "c", "d"]]);
  });

  it("starts a new batch in the next tick", async () => {
    const { sink, batches } = recordingSink();
    coalesceWrites(sink);
    sink.write("1");
    sink.write("2");
    await nextLoop();
    sink.write("3");
    await nextLoop();
    expect(batches).toEqual([["1", "2"], ["3"]]);
  });

  it("delivers everything when the stream ends in the same tick", async () => {
    const { sink, batches } = recordingSink();
    coalesceWrites(sink);
    sink.write("x");
    sink.write("y");
    const finished = new Promise((resolve) => sink.once("finish", resolve));
    sink.end("z");
    await finished;
    await nextLoop();
    expect(batches.flat()).toEqual(["x", "y", "z"]);
    expect(sink.writableCorked).toBe(0);
  });
});
