/**
 * The OVSDB data model (RFC 7047 §3 and §5.1), shared by every part of src/ovsdb/.
 * Values are kept in their canonical in-memory form: sorted, de-duplicated, constraint-checked.
 * The wire/JSON forms are produced and parsed by atom.ts and datum.ts.
 */

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

/**
 * One atom. Integers and reals are numbers (integers are safe integers), booleans are
 * booleans, strings are strings, and UUIDs are canonical lower-case UUID strings: the column's
 * type always says which is meant, so no tagging is needed in memory.
 */
export type Atom = number | boolean | string;

/** RFC 7047 <base-type>, with its constraints resolved. */
export interface BaseType {
  readonly type: AtomicType;
  /** Allowed values, sorted in atom order; undefined means unconstrained. */
  readonly enum?: readonly Atom[];
  readonly minInteger?: number;
  readonly maxInteger?: number;
  readonly minReal?: number;
  readonly maxReal?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  /** For uuid atoms that reference a table. */
  readonly refTable?: string;
  readonly refType?: 'strong' | 'weak';
}

/** RFC 7047 <type>. `max` is Infinity for "unlimited". */
export interface OvsdbType {
  readonly key: BaseType;
  readonly value: BaseType | null;
  readonly min: number;
  readonly max: number;
}

export interface ColumnSchema {
  readonly name: string;
  /** Position in TableSchema.columnList and Row.fields. */
  readonly index: number;
  readonly type: OvsdbType;
  readonly ephemeral: boolean;
  readonly mutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  /** User columns by name (not _uuid/_version: those are implicit in every row). */
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  /** User columns in index order. */
  readonly columnList: readonly ColumnSchema[];
  readonly isRoot: boolean;
  /** Infinity when the schema sets no limit. */
  readonly maxRows: number;
  /** Each index is a list of column names whose combined value is unique. */
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum?: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

/**
 * A value of a column: a set of atoms (keys) or a map (keys with values). Keys are sorted in
 * atom order and unique; for maps, values[i] belongs to keys[i]. A scalar column holds a
 * one-element set. `values` is null exactly when the column type has no value type.
 */
export interface Datum {
  readonly keys: readonly Atom[];
  readonly values: readonly Atom[] | null;
}

/** A row as stored. Row objects are immutable: an update creates a new Row. */
export interface Row {
  readonly uuid: string;
  readonly version: string;
  /** Indexed by ColumnSchema.index. */
  readonly fields: readonly Datum[];
}

/** One row's change inside a committed transaction. */
export interface RowChange {
  /** null for an inserted row. */
  readonly old: Row | null;
  /** null for a deleted row. */
  readonly new: Row | null;
}

/** What a transaction changed: table name -> row uuid -> change. Only tables with changes. */
export type Changes = ReadonlyMap<string, ReadonlyMap<string, RowChange>>;
