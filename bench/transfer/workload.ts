/**
 * The two workloads, written once per run into a temp dir: one big random file, and many small
 * random files in nested directories laid out like the research's mkdata.sh
 * (d00..d09/e00..e09/fNNN.bin).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type WorkloadName = "big" | "small";

export interface Workload {
  name: WorkloadName;
  /** Local directory holding the workload (the source of every upload). */
  dir: string;
  files: number;
  bytes: number;
  label: string;
}

export interface Scale {
  bigBytes: number;
  smallFiles: number;
  smallFileBytes: number;
}

export const FULL: Scale = { bigBytes: 1 << 30, smallFiles: 10_000, smallFileBytes: 10 << 10 };
export const QUICK: Scale = { bigBytes: 64 << 20, smallFiles: 1_000, smallFileBytes: 10 << 10 };

const MiB = 1 << 20;

export function describe(name: WorkloadName, scale: Scale): string {
  return name === "big" ? `1 × ${scale.bigBytes / MiB} MiB` : `${scale.smallFiles} × ${scale.smallFileBytes >> 10} KiB`;
}

async function writeBig(dir: string, bytes: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = await open(join(dir, "big.bin"), "w");
  try {
    for (let written = 0; written < bytes;) {
      const chunk = randomBytes(Math.min(16 * MiB, bytes - written));
      await file.write(chunk);
      written += chunk.length;
    }
  } finally {
    await file.close();
  }
}

/** 10 × 10 directories with `files / 100` files each (the count must be a multiple of 100). */
async function writeSmall(dir: string, files: number, size: number): Promise<void> {
  if (files % 100 !== 0) throw new Error(`the small-file count must be a multiple of 100, got ${files}`);
  const perDir = files / 100;
  const width = Math.max(3, String(perDir - 1).length);
  for (let d = 0; d < 10; d++) {
    for (let e = 0; e < 10; e++) {
      const leaf = join(dir, `d${String(d).padStart(2, "0")}`, `e${String(e).padStart(2, "0")}`);
      await mkdir(leaf, { recursive: true });
      await Promise.all(Array.from({ length: perDir }, (_, f) => writeFile(join(leaf, `f${String(f).padStart(width, "0")}.bin`), randomBytes(size))));
    }
  }
}

export async function createWorkloads(root: string, scale: Scale): Promise<Record<WorkloadName, Workload>> {
  const big: Workload = { name: "big", dir: join(root, "big"), files: 1, bytes: scale.bigBytes, label: describe("big", scale) };
  const small: Workload = {
    name: "small",
    dir: join(root, "small"),
    files: scale.smallFiles,
    bytes: scale.smallFiles * scale.smallFileBytes,
    label: describe("small", scale),
  };
  await writeBig(big.dir, big.bytes);
  await writeSmall(small.dir, small.files, scale.smallFileBytes);
  return { big, small };
}
