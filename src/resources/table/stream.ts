/**
 * Streaming a table in exact-size batches with bounded memory.
 *
 * The plan's units (row groups) are put in a seeded random order when shuffling, then split among
 * shards by row ranges, then grouped into blocks: one unit each, or, when shuffling, consecutive
 * units holding at least `shuffleBufferSize` rows, whose rows are permuted together. Only the
 * current block and `prefetch` blocks ahead are in memory. Every worker computes the same order
 * from the same seed, so shards are disjoint and complete without talking to each other.
 *
 * A position is (block, rows of that block already delivered); blocks are reproducible from the
 * seed, so a stream resumed from a position continues with exactly the rows that would have come.
 */
import { createHash } from "node:crypto";
import type { RecordBatch } from "apache-arrow";
import { RecordBatch as Batch } from "apache-arrow";
import { StowageError } from "../../errors.js";
import { type Dataset, isReplacedDataFile } from "./dataset.js";
import type { Unit } from "./plan.js";
import { type Projection, readUnit } from "./read.js";
import { permutation, random, shuffleInPlace } from "./shuffle.js";
import { type Picks, take } from "./take.js";
import { streamPool } from "../../parquet/wasm-pool.js";

export interface StreamPlan {
  batchSize: number;
  seed: number | undefined;
  shuffleBufferSize: number;
  dropLast: boolean;
  shard: { index: number; count: number } | undefined;
  prefetch: number;
  resumeFrom: string | undefined;
  signal: AbortSignal | undefined;
}

interface Position {
  v: 1;
  /** Identifies the data and options the position belongs to. */
  id: string;
  block: number;
  offset: number;
}

function invalid(message: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "stream", message });
}

/** Units in a seeded order, then this shard's contiguous range of rows. */
export function arrangeUnits(units: Unit[], seed: number | undefined, shard: StreamPlan["shard"]): Unit[] {
  const ordered = [...units];
  if (seed !== undefined) shuffleInPlace(ordered, random(seed, 0x5eed));
  if (!shard) return ordered;
  const total = ordered.reduce((n, u) => n + u.rows, 0);
  const start = Math.floor((total * shard.index) / shard.count);
  const end = Math.floor((total * (shard.index + 1)) / shard.count);
  const mine: Unit[] = [];
  let at = 0;
  for (const unit of ordered) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + unit.rows);
    if (from < to) mine.push({ ...unit, offset: unit.offset + (from - at), rows: to - from });
    at += unit.rows;
  }
  return mine;
}

function groupIntoBlocks(units: Unit[], shuffled: boolean, bufferRows: number): Unit[][] {
  if (!shuffled) return units.map((u) => [u]);
  const blocks: Unit[][] = [];
  let current: Unit[] = [];
  let rows = 0;
  for (const unit of units) {
    current.push(unit);
    rows += unit.rows;
    if (rows >= bufferRows) {
      blocks.push(current);
      current = [];
      rows = 0;
    }
  }
  if (current.length > 0) blocks.push(current);
  return blocks;
}

function identify(units: Unit[], projection: Projection, plan: StreamPlan): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([plan.seed ?? null, plan.shuffleBufferSize, plan.shard ?? null, projection.columns, projection.predicate]));
  for (const u of units) hash.update(`${u.file.relative}:${u.file.size}:${u.rowGroup}:${u.offset}:${u.rows}\n`);
  return hash.digest("base64url").slice(0, 16);
}

function decodePosition(token: string, id: string): Position {
  let position: Position;
  try {
    position = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Position;
  } catch {
    throw invalid("resumeFrom is not a position token from stream().position");
  }
  if (position.v !== 1 || position.id !== id) {
    throw invalid("resumeFrom belongs to a different table version or different stream options (seed, shard, columns, filter, shuffleBufferSize)");
  }
  return position;
}

/** A loaded block: its batches, and the order its rows are delivered in (undefined: as stored). */
interface Block {
  batches: RecordBatch[];
  rows: number;
  order: Picks | undefined;
}

async function loadBlock(dataset: Dataset, units: Unit[], projection: Projection, plan: StreamPlan, index: number): Promise<Block> {
  const decodeBatch = plan.seed === undefined ? plan.batchSize : Math.max(plan.batchSize, 8192);
  // All queued at once: the worker goes from one unit to the next without waiting for this thread.
  const batches = (await Promise.all(units.map((unit) => readUnit(dataset, unit, projection, decodeBatch, streamPool())))).flat();
  const rows = batches.reduce((n, b) => n + b.numRows, 0);
  if (plan.seed === undefined) return { batches, rows, order: undefined };
  const chunkOf = new Uint32Array(rows);
  const rowOf = new Uint32Array(rows);
  let at = 0;
  batches.forEach((batch, c) => {
    for (let r = 0; r < batch.numRows; r++, at++) {
      chunkOf[at] = c;
      rowOf[at] = r;
    }
  });
  const perm = permutation(rows, random(plan.seed, index + 1));
  return { batches, rows, order: { chunkOf: perm.map((p) => chunkOf[p]!), rowOf: perm.map((p) => rowOf[p]!) } };
}

/** Rows [from, to) of a block in delivery order: zero-copy slices when unshuffled. */
function piecesOf(block: Block, from: number, to: number): RecordBatch[] {
  if (block.order) {
    const picks = { chunkOf: block.order.chunkOf.subarray(from, to), rowOf: block.order.rowOf.subarray(from, to) };
    return [
      new Batch(
        block.batches[0]!.schema,
        take(
          block.batches.map((b) => b.data),
          picks,
        ),
      ),
    ];
  }
  const pieces: RecordBatch[] = [];
  let start = 0;
  for (const batch of block.batches) {
    const end = start + batch.numRows;
    const a = Math.max(from, start);
    const b = Math.min(to, end);
    if (a < b) pieces.push(a === start && b === end ? batch : batch.slice(a - start, b - start));
    start = end;
  }
  return pieces;
}

function combine(pieces: RecordBatch[]): RecordBatch {
  if (pieces.length === 1) return pieces[0]!;
  const total = pieces.reduce((n, p) => n + p.numRows, 0);
  const chunkOf = new Uint32Array(total);
  const rowOf = new Uint32Array(total);
  let at = 0;
  pieces.forEach((piece, c) => {
    for (let r = 0; r < piece.numRows; r++, at++) {
      chunkOf[at] = c;
      rowOf[at] = r;
    }
  });
  return new Batch(
    pieces[0]!.schema,
    take(
      pieces.map((p) => p.data),
      { chunkOf, rowOf },
    ),
  );
}

/** A stream of batches that knows where it is. */
export class TableStream implements AsyncIterable<RecordBatch> {
  /** A token for `resumeFrom`: the stream resumed with it starts right after the last batch delivered. */
  position: string | undefined;

  constructor(
    private readonly open: () => Promise<{ dataset: Dataset; units: Unit[]; projection: Projection }>,
    private readonly plan: StreamPlan,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    const { dataset, units: planned, projection } = await this.open();
    const plan = this.plan;
    try {
      const units = arrangeUnits(planned, plan.seed, plan.shard);
      const blocks = groupIntoBlocks(units, plan.seed !== undefined, plan.shuffleBufferSize);
      const id = identify(units, projection, plan);
      const start = plan.resumeFrom ? decodePosition(plan.resumeFrom, id) : { v: 1 as const, id, block: 0, offset: 0 };
      const loads = new Map<number, Promise<Block>>();
      const load = (index: number) => {
        if (index >= blocks.length || loads.has(index)) return;
        const promise = loadBlock(dataset, blocks[index]!, projection, plan, index);
        promise.catch(() => {}); // awaited later; keeps an early failure from being "unhandled"
        loads.set(index, promise);
      };
      let pending: RecordBatch[] = [];
      let pendingRows = 0;
      for (let b = start.block; b < blocks.length; b++) {
        for (let k = 0; k <= plan.prefetch; k++) load(b + k);
        plan.signal?.throwIfAborted();
        const block = await loads.get(b)!.catch((error: unknown) => {
          throw replacedWhileStreaming(error, dataset) ?? error;
        });
        loads.delete(b);
        let offset = b === start.block ? start.offset : 0;
        while (offset < block.rows) {
          const wanted = plan.batchSize - pendingRows;
          const to = Math.min(block.rows, offset + wanted);
          pending.push(...piecesOf(block, offset, to));
          pendingRows += to - offset;
          offset = to;
          if (pendingRows === plan.batchSize) {
            const batch = combine(pending);
            pending = [];
            pendingRows = 0;
            this.position = encodePosition(id, offset === block.rows ? b + 1 : b, offset === block.rows ? 0 : offset);
            yield batch;
          }
        }
      }
      if (pendingRows > 0 && !plan.dropLast) {
        this.position = encodePosition(id, blocks.length, 0);
        yield combine(pending);
      }
    } finally {
      dataset.close();
    }
  }
}

/**
 * A data file the stream planned on is gone (a replace). The rows already delivered came from the
 * old version and the rest exist only in the new one, so the stream cannot go on without mixing
 * them: it fails with `Conflict`.
 */
function replacedWhileStreaming(error: unknown, dataset: Dataset): StowageError | undefined {
  if (!isReplacedDataFile(error)) return undefined;
  return new StowageError({
    code: "Conflict",
    operation: "stream",
    path: dataset.root,
    message: "the table was replaced while this stream read it; start a new stream to read the new version",
    cause: error,
  });
}

function encodePosition(id: string, block: number, offset: number): string {
  return Buffer.from(JSON.stringify({ v: 1, id, block, offset } satisfies Position)).toString("base64url");
}
