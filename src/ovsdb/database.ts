/**
 * An in-memory OVSDB database: the committed rows of each table with the bookkeeping that
 * commits need (strong reference counts, the weak references pointing at each row, unique
 * indexes), transaction execution (transaction.ts does the work) and commit listeners.
 * Rows are immutable; a commit replaces the Row objects it changed and nothing else.
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { datumAddedRemoved, datumToJson } from './datum.ts';
import { executeTransaction } from './transaction.ts';
import { referenceKinds } from './txn-commit.ts';
import type { Changes, DatabaseSchema, Datum, Row, RowChange, TableSchema } from './types.ts';

export interface TxnContext {
  now(): number;
  /** Whether the session that sent the transaction owns lock `name` ("assert"). */
  hasLock(name: string): boolean;
  /** When the request first arrived (ms, same clock as now()); a `wait` times out from it. */
  created?: number;
  /** Alternatively, how long the request has been waiting. */
  elapsedMs?: number;
  /** A read-only connection (a remote's read_only column): operations that write fail. */
  readOnly?: boolean;
}

export type TxnOutcome =
  | {
      status: 'committed';
      results: Json[];
      changes: Changes;
      durable: boolean;
      comment?: string;
      /**
       * The id of this commit; for a transaction that changed nothing, the id of the last
       * commit (nothing new needs to reach the disk).
       */
      txnId: string;
    }
  | { status: 'aborted'; results: Json[] }
  | { status: 'blocked'; until: number };

export type CommitListener = (changes: Changes, txnId: string, info: CommitInfo) => void;

export interface CommitInfo {
  durable: boolean;
  comment?: string;
}

export interface DatabaseOptions {
  /** UUID generator for new rows, versions and transaction ids (tests inject a counter). */
  newUuid?: () => string;
}

/** A strong or weak reference source: which row of which table. */
interface RefSource {
  table: TableData;
  uuid: string;
  /** How many weak references the source row holds to the target. */
  n: number;
}

/** One table's committed state. */
export class TableData {
  readonly rows = new Map<string, Row>();
  /** Strong references to each row from other rows (absent means 0). */
  readonly refCounts = new Map<string, number>();
  /** For each row, the rows that hold weak references to it. */
  readonly weakSources = new Map<string, Map<string, RefSource>>();
  /** One map per schema index: index key -> row uuid. */
  readonly indexes: Map<string, string>[];
  /** Column indexes of each schema index. */
  readonly indexColumns: number[][];
  readonly defaults: Datum[];
  /** Columns that hold strong references to rows (key or value). */
  readonly strongRefColumns: number[];
  readonly weakRefColumns: number[];

  constructor(
    readonly schema: TableSchema,
    defaults: Datum[],
  ) {
    this.indexes = schema.indexes.map(() => new Map());
    this.indexColumns = schema.indexes.map((cols) =>
      cols.map((c) => schema.columns.get(c)?.index ?? -1),
    );
    this.defaults = defaults;
    this.strongRefColumns = [];
    this.weakRefColumns = [];
    for (const c of schema.columnList) {
      const isRef = (b: typeof c.type.key | null, kind: 'strong' | 'weak') =>
        !!b?.refTable && (b.refType ?? 'strong') === kind;
      if (isRef(c.type.key, 'strong') || isRef(c.type.value, 'strong'))
        this.strongRefColumns.push(c.index);
      if (isRef(c.type.key, 'weak') || isRef(c.type.value, 'weak'))
        this.weakRefColumns.push(c.index);
    }
  }

  get name(): string {
    return this.schema.name;
  }

  refCount(uuid: string): number {
    return this.refCounts.get(uuid) ?? 0;
  }

  indexKey(i: number, fields: readonly Datum[]): string {
    const cols = this.indexColumns[i] as number[];
    let key = '';
    for (const c of cols) {
      const d = fields[c] as Datum;
      key += `${JSON.stringify(d.keys)}${d.values ? JSON.stringify(d.values) : ''}\u0000`;
    }
    return key;
  }
}

/** The row's referenced UUIDs in one column, by kind, skipping self-references. */
export function* columnRefs(
  schema: TableSchema,
  colIndex: number,
  d: Datum,
  kind: 'strong' | 'weak',
  self: string,
): Generator<[string, string]> {
  const type = (schema.columnList[colIndex] as TableSchema['columnList'][number]).type;
  const k = type.key;
  if (k.refTable && (k.refType ?? 'strong') === kind) {
    for (const a of d.keys) if (a !== self) yield [k.refTable, a as string];
  }
  const v = type.value;
  if (v?.refTable && (v.refType ?? 'strong') === kind && d.values) {
    for (const a of d.values) if (a !== self) yield [v.refTable, a as string];
  }
}

export class Database {
  readonly schema: DatabaseSchema;
  readonly tables = new Map<string, TableData>();
  readonly newUuid: () => string;
  private readonly listeners = new Set<CommitListener>();
  private lastTxnId: string;

  constructor(schema: DatabaseSchema, opts: DatabaseOptions = {}) {
    this.schema = schema;
    this.newUuid = opts.newUuid ?? (() => crypto.randomUUID());
    this.lastTxnId = '00000000-0000-0000-0000-000000000000';
    for (const t of schema.tables.values()) {
      this.tables.set(
        t.name,
        new TableData(
          t,
          t.columnList.map((c) => defaultFor(c.type)),
        ),
      );
    }
    referenceKinds(this.tables);
  }

  /** The id of the most recent commit (all zeros before the first). */
  get lastCommitId(): string {
    return this.lastTxnId;
  }

  table(name: string): TableData {
    const t = this.tables.get(name);
    if (!t) throw new Error(`no table ${name}`);
    return t;
  }

  getRow(table: string, uuid: string): Row | undefined {
    return this.tables.get(table)?.rows.get(uuid);
  }

  rows(table: string): IterableIterator<Row> {
    return this.table(table).rows.values();
  }

  rowCount(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.rows.size;
    return n;
  }

  /** A shallow copy of every table's rows (rows are immutable, so this is a snapshot). */
  snapshot(): Map<string, Map<string, Row>> {
    const out = new Map<string, Map<string, Row>>();
    for (const [name, t] of this.tables) out.set(name, new Map(t.rows));
    return out;
  }

  /** Registers a listener for each commit that changed something; returns its remover. */
  onCommit(cb: CommitListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Runs the operations of a "transact" request (the params after the database name). */
  execute(ops: Json[], ctx: TxnContext): TxnOutcome {
    return executeTransaction(this, ops, ctx);
  }

  /**
   * Applies already-validated changes (from executeTransaction, a log file or a replica) and
   * tells the listeners. Returns the commit's txn id.
   */
  commit(
    changes: Changes,
    txnId: string = this.newUuid(),
    info: CommitInfo = { durable: false },
  ): string {
    this.applyChanges(changes);
    this.lastTxnId = txnId;
    if (changes.size) for (const l of this.listeners) l(changes, txnId, info);
    return txnId;
  }

  /** Applies changes read back from storage, without checks and without telling listeners. */
  replay(changes: Changes, txnId?: string): void {
    this.applyChanges(changes);
    if (txnId) this.lastTxnId = txnId;
  }

  /** Bulk-loads rows (e.g. a compacted snapshot) without checks or listeners. */
  loadRows(table: string, rows: Iterable<Row>): void {
    const m = new Map<string, RowChange>();
    for (const r of rows) m.set(r.uuid, { old: this.getRow(table, r.uuid) ?? null, new: r });
    this.applyChanges(new Map([[table, m]]));
  }

  /** Empties the database (without listeners), e.g. before reloading a file. */
  clear(): void {
    for (const t of this.tables.values()) {
      t.rows.clear();
      t.refCounts.clear();
      t.weakSources.clear();
      for (const i of t.indexes) i.clear();
    }
  }

  private applyChanges(changes: Changes): void {
    // Reference bookkeeping first (needs old rows), then the rows and indexes.
    for (const [tname, rows] of changes) {
      const t = this.table(tname);
      for (const [uuid, ch] of rows) {
        if (t.strongRefColumns.length) this.adjustRefs(t, uuid, ch.old, ch.new);
        if (t.weakRefColumns.length) this.adjustWeak(t, uuid, ch.old, ch.new);
      }
    }
    for (const [tname, rows] of changes) {
      const t = this.table(tname);
      const nIdx = t.indexes.length;
      for (const [uuid, ch] of rows) {
        if (nIdx) {
          if (ch.old) {
            for (let i = 0; i < nIdx; i++) {
              const idx = t.indexes[i] as Map<string, string>;
              const k = t.indexKey(i, ch.old.fields);
              if (idx.get(k) === uuid) idx.delete(k);
            }
          }
          if (ch.new)
            for (let i = 0; i < nIdx; i++)
              (t.indexes[i] as Map<string, string>).set(t.indexKey(i, ch.new.fields), uuid);
        }
        if (ch.new) t.rows.set(uuid, ch.new);
        else {
          t.rows.delete(uuid);
          t.weakSources.delete(uuid);
        }
      }
    }
  }

  private adjustRefs(t: TableData, uuid: string, old: Row | null, nu: Row | null): void {
    for (const c of t.strongRefColumns) {
      const [removed, added] = this.columnDelta(t, c, old, nu);
      if (removed) {
        for (const [rt, ru] of columnRefs(t.schema, c, removed, 'strong', uuid)) {
          const target = this.tables.get(rt);
          if (!target) continue;
          const n = target.refCount(ru) - 1;
          if (n > 0) target.refCounts.set(ru, n);
          else target.refCounts.delete(ru);
        }
      }
      if (added) {
        for (const [rt, ru] of columnRefs(t.schema, c, added, 'strong', uuid)) {
          const target = this.tables.get(rt);
          if (target) target.refCounts.set(ru, target.refCount(ru) + 1);
        }
      }
    }
  }

  /** What changed in one column between two versions of a row: [removed, added]. */
  private columnDelta(
    t: TableData,
    c: number,
    old: Row | null,
    nu: Row | null,
  ): [Datum | null, Datum | null] {
    const od = old ? (old.fields[c] as Datum) : null;
    const nd = nu ? (nu.fields[c] as Datum) : null;
    if (od === nd) return [null, null];
    if (!od || !nd) return [od, nd];
    const type = (t.schema.columnList[c] as TableSchema['columnList'][number]).type;
    const { added, removed } = datumAddedRemoved(type, od, nd);
    return [removed, added];
  }

  private adjustWeak(t: TableData, uuid: string, old: Row | null, nu: Row | null): void {
    const key = `${t.name}\u0000${uuid}`;
    for (const c of t.weakRefColumns) {
      const [removed, added] = this.columnDelta(t, c, old, nu);
      if (removed) {
        for (const [rt, ru] of columnRefs(t.schema, c, removed, 'weak', uuid)) {
          const target = this.tables.get(rt);
          const srcs = target?.weakSources.get(ru);
          const s = srcs?.get(key);
          if (!srcs || !s) continue;
          if (--s.n <= 0) srcs.delete(key);
          if (srcs.size === 0) target?.weakSources.delete(ru);
        }
      }
      if (added) {
        for (const [rt, ru] of columnRefs(t.schema, c, added, 'weak', uuid)) {
          const target = this.tables.get(rt);
          if (!target) continue;
          let srcs = target.weakSources.get(ru);
          if (!srcs) {
            srcs = new Map();
            target.weakSources.set(ru, srcs);
          }
          const s = srcs.get(key);
          if (s) s.n++;
          else srcs.set(key, { table: t, uuid, n: 1 });
        }
      }
    }
  }
}

function defaultFor(type: TableSchema['columnList'][number]['type']): Datum {
  if (type.min === 0) return { keys: [], values: type.value ? [] : null };
  const d = (t: string) =>
    t === 'integer' || t === 'real'
      ? 0
      : t === 'boolean'
        ? false
        : t === 'string'
          ? ''
          : '00000000-0000-0000-0000-000000000000';
  return { keys: [d(type.key.type)], values: type.value ? [d(type.value.type)] : null };
}

/** A row as RFC 7047 <row> JSON: the given columns (default all, with _uuid and _version). */
export function rowToJson(schema: TableSchema, row: Row, columns?: readonly string[]): JsonObject {
  const out: JsonObject = {};
  if (!columns) {
    out._uuid = ['uuid', row.uuid];
    out._version = ['uuid', row.version];
    for (const c of schema.columnList)
      out[c.name] = datumToJson(c.type, row.fields[c.index] as Datum);
    return out;
  }
  for (const name of columns) {
    if (name === '_uuid') out._uuid = ['uuid', row.uuid];
    else if (name === '_version') out._version = ['uuid', row.version];
    else {
      const c = schema.columns.get(name);
      if (c) out[name] = datumToJson(c.type, row.fields[c.index] as Datum);
    }
  }
  return out;
}
