/**
 * Rows of the replica and the conversions between Datums and the plain TypeScript values
 * callers want: a scalar column reads as its atom, an optional one as atom-or-undefined, a set
 * as an array, a map as a Map. Writes accept the same shapes (or a Datum).
 */
import { compareAtoms } from '../atom.ts';
import { datumFromAtomsUnique, defaultDatum, emptyDatum } from '../datum.ts';
import type { Atom, ColumnSchema, Datum, OvsdbType, TableSchema } from '../types.ts';

/** Anything with a uuid: a replica row or a row inserted in a transaction. */
export interface RowRef {
  readonly uuid: string;
}

/** An atom as callers may give it: a row stands for its uuid. */
export type AtomInput = Atom | RowRef;

/**
 * What a column can be set to: a Datum, an atom (one-element set), an array (a set), a Map or
 * plain object (a map), or null/undefined (the empty set or map).
 */
export type ValueInput =
  | Datum
  | AtomInput
  | readonly AtomInput[]
  | ReadonlyMap<AtomInput, AtomInput>
  | { readonly [key: string]: AtomInput }
  | null
  | undefined;

/** What get() returns, by column kind. */
export type ColumnValue = Atom | undefined | Atom[] | Map<Atom, Atom>;

export function isDatum(v: unknown): v is Datum {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as Datum).keys) &&
    'values' in (v as object) &&
    ((v as Datum).values === null || Array.isArray((v as Datum).values))
  );
}

function atomOf(a: AtomInput): Atom {
  return typeof a === 'object' ? a.uuid : a;
}

/** Converts a caller's value to a canonical Datum of `type` (duplicates collapse). */
export function valueToDatum(type: OvsdbType, v: ValueInput): Datum {
  if (v === null || v === undefined) return emptyDatum(type);
  if (isDatum(v)) return datumFromAtomsUnique(type, [...v.keys], v.values ? [...v.values] : null);
  if (type.value) {
    let keys: Atom[];
    let values: Atom[];
    if (v instanceof Map) {
      keys = [...v.keys()].map(atomOf);
      values = [...v.values()].map(atomOf);
    } else if (typeof v === 'object' && !Array.isArray(v) && !('uuid' in v)) {
      const o = v as { readonly [key: string]: AtomInput };
      keys = Object.keys(o).map((k) => coerceKey(type, k));
      values = Object.values(o).map(atomOf);
    } else {
      throw new TypeError('a map column needs a Map, an object or a Datum');
    }
    return datumFromAtomsUnique(type, keys, values);
  }
  if (Array.isArray(v))
    return datumFromAtomsUnique(type, (v as readonly AtomInput[]).map(atomOf), null);
  if (v instanceof Map) throw new TypeError('a set or scalar column cannot take a Map');
  return { keys: [atomOf(v as AtomInput)], values: null };
}

/** Object keys are strings: turn them back into integers/reals/booleans for such map keys. */
function coerceKey(type: OvsdbType, k: string): Atom {
  switch (type.key.type) {
    case 'integer':
    case 'real':
      return Number(k);
    case 'boolean':
      return k === 'true';
    default:
      return k;
  }
}

/** Reads a Datum as the TS value its column kind suggests. */
export function datumToValue(type: OvsdbType, d: Datum): ColumnValue {
  if (type.value) {
    const m = new Map<Atom, Atom>();
    const vals = d.values ?? [];
    d.keys.forEach((k, i) => {
      m.set(k, vals[i] as Atom);
    });
    return m;
  }
  if (type.max === 1) return type.min === 1 ? d.keys[0] : d.keys[0];
  return [...d.keys];
}

/**
 * A row of the replica. Immutable: a change in the database replaces the object, so a row
 * held across an update still shows the values it had (compare with `idl.getRow`).
 */
export class IdlRow implements RowRef {
  readonly uuid: string;
  readonly table: TableSchema;
  /** Indexed by ColumnSchema.index; unmonitored columns hold their default. */
  readonly fields: readonly Datum[];

  constructor(table: TableSchema, uuid: string, fields: readonly Datum[]) {
    this.table = table;
    this.uuid = uuid;
    this.fields = fields;
  }

  column(name: string): ColumnSchema {
    const c = this.table.columns.get(name);
    if (!c) throw new RangeError(`table ${this.table.name} has no column ${name}`);
    return c;
  }

  /** The column's value as a Datum. */
  datum(name: string): Datum {
    return this.fields[this.column(name).index] as Datum;
  }

  /** The column's value as a TS value: atom, atom|undefined, array or Map by column kind. */
  get(name: string): ColumnValue {
    const c = this.column(name);
    return datumToValue(c.type, this.fields[c.index] as Datum);
  }

  /** A scalar or optional column's atom (undefined when empty). */
  scalar<T extends Atom = Atom>(name: string): T | undefined {
    return this.datum(name).keys[0] as T | undefined;
  }

  string(name: string): string | undefined {
    const a = this.scalar(name);
    return typeof a === 'string' ? a : undefined;
  }

  integer(name: string): number | undefined {
    const a = this.scalar(name);
    return typeof a === 'number' ? a : undefined;
  }

  boolean(name: string): boolean | undefined {
    const a = this.scalar(name);
    return typeof a === 'boolean' ? a : undefined;
  }

  /** A set column's atoms (also works on scalar and optional columns). */
  set<T extends Atom = Atom>(name: string): T[] {
    return [...this.datum(name).keys] as T[];
  }

  /** A map column as a Map. */
  map<K extends Atom = string, V extends Atom = string>(name: string): Map<K, V> {
    const d = this.datum(name);
    const m = new Map<K, V>();
    const vals = d.values ?? [];
    d.keys.forEach((k, i) => {
      m.set(k as K, vals[i] as V);
    });
    return m;
  }

  /** One key of a map column. */
  mapGet<V extends Atom = string>(name: string, key: Atom): V | undefined {
    const c = this.column(name);
    const d = this.fields[c.index] as Datum;
    const i = binarySearch(c.type, d, key);
    return i >= 0 ? ((d.values ?? [])[i] as V) : undefined;
  }
}

function binarySearch(type: OvsdbType, d: Datum, key: Atom): number {
  let lo = 0;
  let hi = d.keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(type.key.type, d.keys[mid] as Atom, key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** A fresh field array with every column at its default. */
export function defaultFields(table: TableSchema): Datum[] {
  return table.columnList.map((c) => defaultDatum(c.type));
}
