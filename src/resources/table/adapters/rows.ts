/** Arrow → plain row objects: int64 as bigint, timestamps and dates as Date, decimals as strings. */
import { type DataType, type RecordBatch, type Table, Type, type Vector } from "apache-arrow";

type Convert = (value: unknown) => unknown;

function converter(type: DataType): Convert {
  switch (type.typeId) {
    case Type.Timestamp:
    case Type.Date:
      return (v) => (v === null ? null : new Date(v as number));
    case Type.Decimal: {
      const scale = (type as unknown as { scale: number }).scale;
      return (v) => (v === null ? null : decimalText(BigInt(String(v)), scale));
    }
    case Type.Struct: {
      const fields = type.children.map((f) => [f.name, converter(f.type)] as const);
      return (v) => (v === null ? null : Object.fromEntries(fields.map(([name, c]) => [name, c((v as Record<string, unknown>)[name])])));
    }
    case Type.List:
    case Type.FixedSizeList: {
      const item = converter(type.children[0]!.type);
      return (v) => (v === null ? null : Array.from(v as Vector, item));
    }
    default:
      return (v) => v;
  }
}

function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

export function toRows(data: Table | RecordBatch): Record<string, unknown>[] {
  const columns = data.schema.fields.map((f) => [f.name, data.getChild(f.name)!, converter(f.type)] as const);
  const rows = new Array<Record<string, unknown>>(data.numRows);
  for (let i = 0; i < data.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const [name, vector, convert] of columns) row[name] = convert(vector.get(i));
    rows[i] = row;
  }
  return rows;
}
