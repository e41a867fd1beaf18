/**
 * The read plan: which row groups of which files can hold matching rows. Partition values prune
 * whole files before their footers are read; row-group min/max statistics prune the rest.
 */
import type { DataType } from "apache-arrow";
import type { DataFile, Dataset } from "./dataset.js";
import { clauseOnStats, clauseOnValue, mayMatch, type Predicate } from "./filter.js";
import { typedValue } from "./partition.js";

/** One row group, or a slice of one (a shard border). */
export interface Unit {
  file: DataFile;
  rowGroup: number;
  /** Rows of the row group before the slice starts, and rows in the slice. */
  offset: number;
  rows: number;
}

const FOOTER_CONCURRENCY = 16;

export async function planUnits(dataset: Dataset, predicate: Predicate): Promise<Unit[]> {
  const partitionTypes = new Map(dataset.partitionCols.map((c) => [c, dataset.schema.fields.find((f) => f.name === c)?.type as DataType]));
  const partitionValue = (file: DataFile, column: string) => typedValue(file.partition[column] ?? null, partitionTypes.get(column)!);
  const files = dataset.files.filter((file) =>
    mayMatch(predicate, (clause) => (partitionTypes.has(clause.column) ? clauseOnValue(clause, partitionValue(file, clause.column)) : undefined)),
  );
  const perFile: Unit[][] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index]!;
      const footer = await dataset.footer(file);
      perFile[index] = footer.rowGroups
        .filter((group) =>
          mayMatch(predicate, (clause) =>
            partitionTypes.has(clause.column)
              ? clauseOnValue(clause, partitionValue(file, clause.column))
              : clauseOnStats(clause, group.stats.get(clause.column), group.rows),
          ),
        )
        .filter((group) => group.rows > 0)
        .map((group) => ({ file, rowGroup: group.index, offset: 0, rows: group.rows }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(FOOTER_CONCURRENCY, files.length) }, worker));
  return perFile.flat();
}
