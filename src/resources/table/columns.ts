/**
 * Column selection in a given order. Arrow JS 21's `RecordBatch#select` places each child at its
 * index in the *original* schema, which scrambles columns when selecting anything but a prefix;
 * these helpers select by position instead.
 */
import { makeData, RecordBatch, Schema, Struct } from "apache-arrow";

export function selectFields(schema: Schema, names: readonly string[]): Schema {
  return new Schema(
    names.map((name) => schema.fields.find((f) => f.name === name)!),
    schema.metadata,
  );
}

export function selectColumns(batch: RecordBatch, names: readonly string[]): RecordBatch {
  const indices = names.map((name) => batch.schema.fields.findIndex((f) => f.name === name));
  const schema = new Schema(
    indices.map((i) => batch.schema.fields[i]!),
    batch.schema.metadata,
  );
  const children = indices.map((i) => batch.data.children[i]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}
