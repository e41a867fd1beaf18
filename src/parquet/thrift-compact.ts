/**
 * Thrift's compact protocol, schema-less: a struct is read into its fields (id, wire type, value)
 * and written back byte for byte, so a Parquet footer can be edited (offsets, counts) without a
 * generated model of every Parquet struct. 64-bit integers stay bigints, binaries stay bytes.
 */

export const WireType = {
  True: 1,
  False: 2,
  Byte: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  Double: 7,
  Binary: 8,
  List: 9,
  Set: 10,
  Map: 11,
  Struct: 12,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftList | ThriftMap | ThriftStruct;

export interface ThriftList {
  elementType: WireType;
  items: ThriftValue[];
}

export interface ThriftMap {
  keyType: WireType;
  valueType: WireType;
  entries: [ThriftValue, ThriftValue][];
}

export interface ThriftField {
  id: number;
  type: WireType;
  value: ThriftValue;
}

export interface ThriftStruct {
  fields: ThriftField[];
}

class Reader {
  position = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    const value = this.bytes[this.position++];
    if (value === undefined) throw new RangeError("thrift: unexpected end of data");
    return value;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  /**
   * A varint as a number: counts, lengths and 32-bit values without a BigInt each (page headers are
   * read for every page of a table). Exact to 2^53, past which no count or 32-bit value reaches.
   */
  smallVarint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  }

  /** A zigzag varint of at most 32 bits, as a number. */
  smallZigzag(): number {
    const n = this.smallVarint();
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }

  /** A zigzag varint of up to 64 bits: through a number when it has at most 7 bytes (49 bits), else a BigInt. */
  zigzag64(): bigint {
    const start = this.position;
    for (let i = 0; i < 7; i++) {
      const b = this.bytes[start + i];
      if (b === undefined) break;
      if ((b & 0x80) === 0) return BigInt(this.smallZigzag());
    }
    return this.zigzag();
  }

  value(type: WireType): ThriftValue {
    switch (type) {
      case WireType.True:
        return true;
      case WireType.False:
        return false;
      case WireType.Byte:
        return (this.byte() << 24) >> 24;
      case WireType.I16:
      case WireType.I32:
        return this.smallZigzag();
      case WireType.I64:
        return this.zigzag64();
      case WireType.Double: {
        const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.position, 8).getFloat64(0, true);
        this.position += 8;
        return value;
      }
      case WireType.Binary: {
        const length = this.smallVarint();
        // A copy: a view would keep the whole source buffer alive as long as the value.
        const value = new Uint8Array(this.bytes.subarray(this.position, this.position + length));
        this.position += length;
        return value;
      }
      case WireType.List:
      case WireType.Set: {
        const header = this.byte();
        const size = header >> 4 === 15 ? this.smallVarint() : header >> 4;
        const elementType = (header & 15) as WireType;
        const items: ThriftValue[] = [];
        // Booleans inside a collection take a byte each: 1 is true.
        for (let i = 0; i < size; i++) items.push(isBool(elementType) ? this.byte() === 1 : this.value(elementType));
        return { elementType, items };
      }
      case WireType.Map: {
        const size = this.smallVarint();
        if (size === 0) return { keyType: WireType.Binary, valueType: WireType.Binary, entries: [] };
        const types = this.byte();
        const keyType = (types >> 4) as WireType;
        const valueType = (types & 15) as WireType;
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let i = 0; i < size; i++) entries.push([this.value(keyType), this.value(valueType)]);
        return { keyType, valueType, entries };
      }
      case WireType.Struct:
        return this.struct();
      default:
        throw new RangeError(`thrift: unknown wire type ${String(type)}`);
    }
  }

  struct(): ThriftStruct {
    const fields: ThriftField[] = [];
    let id = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { fields };
      const type = (header & 15) as WireType;
      id = header >> 4 === 0 ? this.smallZigzag() : id + (header >> 4);
      fields.push({ id, type, value: this.value(type) });
    }
  }
}

const isBool = (type: WireType) => type === WireType.True || type === WireType.False;

class Writer {
  readonly #chunks: number[] = [];
  readonly #parts: Uint8Array[] = [];

  byte(value: number): void {
    this.#chunks.push(value & 0xff);
  }

  varint(value: bigint): void {
    let n = value;
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  zigzag(value: bigint): void {
    this.varint(value >= 0n ? value << 1n : (-value << 1n) - 1n);
  }

  raw(bytes: Uint8Array): void {
    this.#flush();
    this.#parts.push(bytes);
  }

  value(type: WireType, value: ThriftValue): void {
    switch (type) {
      case WireType.True:
      case WireType.False:
        return;
      case WireType.Byte:
        return this.byte(value as number);
      case WireType.I16:
      case WireType.I32:
        return this.zigzag(BigInt(value as number));
      case WireType.I64:
        return this.zigzag(value as bigint);
      case WireType.Double: {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setFloat64(0, value as number, true);
        return this.raw(bytes);
      }
      case WireType.Binary: {
        const bytes = value as Uint8Array;
        this.varint(BigInt(bytes.length));
        return this.raw(bytes);
      }
      case WireType.List:
      case WireType.Set: {
        const { elementType, items } = value as ThriftList;
        if (items.length < 15) this.byte((items.length << 4) | elementType);
        else {
          this.byte(0xf0 | elementType);
          this.varint(BigInt(items.length));
        }
        for (const item of items) {
          if (isBool(elementType)) this.byte(item ? 1 : 2);
          else this.value(elementType, item);
        }
        return;
      }
      case WireType.Map: {
        const { keyType, valueType, entries } = value as ThriftMap;
        this.varint(BigInt(entries.length));
        if (entries.length === 0) return;
        this.byte((keyType << 4) | valueType);
        for (const [k, v] of entries) {
          this.value(keyType, k);
          this.value(valueType, v);
        }
        return;
      }
      case WireType.Struct:
        return this.struct(value as ThriftStruct);
    }
  }

  struct(struct: ThriftStruct): void {
    let last = 0;
    for (const field of struct.fields) {
      // A boolean field's value lives in its header's type.
      const type = isBool(field.type) ? (field.value ? WireType.True : WireType.False) : field.type;
      const delta = field.id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag(BigInt(field.id));
      }
      this.value(type, field.value);
      last = field.id;
    }
    this.byte(0);
  }

  #flush(): void {
    if (this.#chunks.length === 0) return;
    this.#parts.push(Uint8Array.from(this.#chunks));
    this.#chunks.length = 0;
  }

  bytes(): Uint8Array {
    this.#flush();
    return Buffer.concat(this.#parts);
  }
}

export function readStruct(bytes: Uint8Array): ThriftStruct {
  return new Reader(bytes).struct();
}

/** The struct starting at `offset`, and where it ends (a page header is followed by its page). */
export function readStructAt(bytes: Uint8Array, offset: number): { struct: ThriftStruct; end: number } {
  const reader = new Reader(bytes);
  reader.position = offset;
  return { struct: reader.struct(), end: reader.position };
}

export function writeStruct(struct: ThriftStruct): Uint8Array {
  const writer = new Writer();
  writer.struct(struct);
  return writer.bytes();
}

export function field(struct: ThriftStruct, id: number): ThriftField | undefined {
  return struct.fields.find((f) => f.id === id);
}

/** Sets a field, keeping fields in id order (the compact protocol's deltas expect it). */
export function setField(struct: ThriftStruct, id: number, type: WireType, value: ThriftValue): void {
  const existing = field(struct, id);
  if (existing) {
    existing.type = type;
    existing.value = value;
    return;
  }
  struct.fields.push({ id, type, value });
  struct.fields.sort((a, b) => a.id - b.id);
}
