/**
 * Filters: `[column, op, value]` clauses, all of which must hold, or a list of such lists (OR of
 * ANDs). Three uses: checked against the schema up front, evaluated as "may match?" against
 * partition values and row-group min/max statistics to skip data, and evaluated on each row.
 */
import { type DataType, type RecordBatch, type Schema, Type } from "apache-arrow";
import { StowageError } from "../../errors.js";
import type { ColumnStats } from "../../parquet/footer.js";
import type { Filter, FilterClause, FilterOp, FilterValue } from "./types.js";

const OPS: ReadonlySet<string> = new Set(["=", "==", "!=", "<", "<=", ">", ">=", "in", "not in"]);

interface Clause {
  column: string;
  op: FilterOp;
  /** Normalised: Dates as epoch milliseconds; for in/not in, a list. */
  value: unknown;
}

/** OR of ANDs. An empty list matches everything. */
export type Predicate = Clause[][];

function invalid(message: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "read", message });
}

const normaliseValue = (v: FilterValue): unknown => (v instanceof Date ? v.getTime() : v);

function baseType(type: DataType): DataType {
  return type.typeId === Type.Dictionary ? (type as unknown as { valueType: DataType }).valueType : type;
}

/** The filter checked against the schema: every column exists and every value fits its column. */
export function compileFilter(filter: Filter | undefined, schema: Schema): Predicate {
  if (!filter || filter.length === 0) return [];
  const nested = Array.isArray(filter[0]) && Array.isArray((filter[0] as readonly unknown[])[0]);
  const groups = (nested ? filter : [filter]) as readonly (readonly FilterClause[])[];
  return groups.map((group) =>
    group.map((clause) => {
      if (!Array.isArray(clause) || clause.length !== 3) throw invalid(`a filter clause is [column, op, value], not ${JSON.stringify(clause)}`);
      const [column, op, value] = clause;
      const field = schema.fields.find((f) => f.name === column);
      if (!field) throw invalid(`filter on unknown column "${column}" (columns: ${schema.fields.map((f) => f.name).join(", ")})`);
      if (!OPS.has(op)) throw invalid(`filter on "${column}" uses unknown operator "${op}"; use one of ${[...OPS].join(" ")}`);
      const list = op === "in" || op === "not in";
      if (list !== Array.isArray(value)) throw invalid(`filter on "${column}": "${op}" takes ${list ? "an array of values" : "a single value"}`);
      const values = (list ? value : [value]) as FilterValue[];
      for (const v of values) checkValue(column, baseType(field.type as DataType), v);
      return { column, op: op === "==" ? "=" : op, value: list ? values.map(normaliseValue) : normaliseValue(value as FilterValue) };
    }),
  );
}

function checkValue(column: string, type: DataType, value: FilterValue): void {
  if (value === null) return;
  const ok = (() => {
    switch (type.typeId) {
      case Type.Int:
      case Type.Float:
        return typeof value === "number" || typeof value === "bigint";
      case Type.Utf8:
      case Type.LargeUtf8:
        return typeof value === "string";
      case Type.Bool:
        return typeof value === "boolean";
      case Type.Timestamp:
      case Type.Date:
        return value instanceof Date || typeof value === "number";
      default:
        return false;
    }
  })();
  if (!ok) throw invalid(`filter on "${column}" (${type}) cannot compare with ${typeof value} ${String(value)}`);
}

export function filterColumns(predicate: Predicate): string[] {
  return [...new Set(predicate.flat().map((c) => c.column))];
}

/** Orders numbers, bigints (mixed), strings and booleans; Dates arrive as milliseconds. */
function compare(a: unknown, b: unknown): number {
  if (a instanceof Date) a = a.getTime();
  if (b instanceof Date) b = b.getTime();
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function matches(clause: Clause, value: unknown): boolean {
  const { op, value: target } = clause;
  if (target === null) return op === "=" ? value === null : op === "!=" ? value !== null : false;
  if (value === null || value === undefined) return false;
  switch (op) {
    case "=":
      return compare(value, target) === 0;
    case "!=":
      return compare(value, target) !== 0;
    case "<":
      return compare(value, target) < 0;
    case "<=":
      return compare(value, target) <= 0;
    case ">":
      return compare(value, target) > 0;
    case ">=":
      return compare(value, target) >= 0;
    case "in":
      return (target as unknown[]).some((t) => t !== null && compare(value, t) === 0);
    case "not in":
      return !(target as unknown[]).some((t) => t !== null && compare(value, t) === 0);
    default:
      return true;
  }
}

/**
 * False only when no row can match: every OR-branch has a clause that is certainly false given
 * what is known (`known` returns undefined for columns it knows nothing about).
 */
export function mayMatch(predicate: Predicate, known: (clause: Clause) => boolean | undefined): boolean {
  if (predicate.length === 0) return true;
  return predicate.some((group) => group.every((clause) => known(clause) !== false));
}

/** Clause vs a known constant value (a partition value). */
export function clauseOnValue(clause: Clause, value: unknown): boolean {
  return matches(clause, value);
}

/** Clause vs min/max statistics: false when no value in [min, max] can match. */
export function clauseOnStats(clause: Clause, stats: ColumnStats | undefined, rows: number): boolean | undefined {
  if (!stats) return undefined;
  const { op, value } = clause;
  if (value === null) {
    if (op === "=") return stats.nullCount === undefined ? undefined : stats.nullCount > 0;
    return undefined;
  }
  if (stats.nullCount !== undefined && stats.nullCount >= rows) return false;
  let { min, max } = stats;
  if (min === undefined || max === undefined) return undefined;
  // Statistics of timestamps come as Dates truncated to milliseconds: widen by one.
  if (max instanceof Date) max = max.getTime() + 1;
  if (min instanceof Date) min = min.getTime();
  if (typeof min !== typeof max || min instanceof Uint8Array) return undefined;
  const within = (v: unknown) => compare(v, min) >= 0 && compare(v, max) <= 0;
  switch (op) {
    case "=":
      return within(value);
    case "in":
      return (value as unknown[]).some((v) => v !== null && within(v));
    case "!=":
      return !(compare(min, value) === 0 && compare(max, value) === 0);
    case "<":
      return compare(min, value) < 0;
    case "<=":
      return compare(min, value) <= 0;
    case ">":
      return compare(max, value) > 0;
    case ">=":
      return compare(max, value) >= 0;
    default:
      return undefined;
  }
}

/** Indices of the rows of `batch` that match. */
export function matchingRows(predicate: Predicate, batch: RecordBatch): number[] {
  const rows: number[] = [];
  const groups = predicate.map((group) => group.map((clause) => ({ clause, vector: batch.getChild(clause.column)! })));
  for (let i = 0; i < batch.numRows; i++) {
    if (groups.some((group) => group.every(({ clause, vector }) => matches(clause, vector.get(i))))) rows.push(i);
  }
  return rows;
}
