/**
 * The transaction builder of the replica (OVS's ovsdb_idl_txn): writes against replica rows,
 * inserts with named uuids, "verify" prerequisites that become `wait` operations (so a
 * concurrent change to a column the caller read makes the commit come back "try-again"),
 * increments (next_cfg style), and a commit that maps the named rows to their real uuids.
 */
import { randomUUID } from 'node:crypto';
import type { Json, JsonObject } from '../../lib/json.ts';
import { isJsonObject } from '../../lib/json.ts';
import { datumEquals, defaultDatum } from '../datum.ts';
import type { Atom, AtomicType, Datum, OvsdbType, TableSchema } from '../types.ts';
import { OvsdbRpcError } from './connection.ts';
import type { Idl } from './idl.ts';
import {
  type ColumnValue,
  datumToValue,
  type RowRef,
  type ValueInput,
  valueToDatum,
} from './row.ts';

/**
 * - success: committed (inserted rows have their real uuids in `inserted`);
 * - unchanged: nothing to send;
 * - try-again: a verified column or an updated row changed underneath: re-read and retry;
 * - not-locked: the transaction required a lock this client does not hold;
 * - error: the server rejected it (constraint violation, ...) or the connection failed.
 */
export type CommitStatus = 'success' | 'unchanged' | 'try-again' | 'not-locked' | 'error';

export interface CommitResult {
  status: CommitStatus;
  /** Temporary uuid of each inserted TxnRow -> the uuid the server gave it. */
  inserted: Map<string, string>;
  /** The column's value after `increment()`, when there was one. */
  incrementedValue?: number;
  /** OVS-style text of the error ("constraint violation: ...") for status "error". */
  error?: string;
  /** The raw operation results, when the server answered. */
  results?: Json[];
}

interface RowState {
  table: TableSchema;
  uuid: string;
  inserted: boolean;
  deleted: boolean;
  /** Column index -> new value. */
  writes: Map<number, Datum>;
  /** Columns whose replica value must still hold at commit. */
  verify: Set<number>;
  /** The replica row's values when first touched (for verify and change detection). */
  base: readonly Datum[] | null;
}

/** A row as this transaction sees it: replica values overlaid with the transaction's writes. */
export class TxnRow implements RowRef {
  readonly uuid: string;
  readonly table: TableSchema;
  private readonly txn: IdlTxn;
  constructor(txn: IdlTxn, table: TableSchema, uuid: string) {
    this.txn = txn;
    this.table = table;
    this.uuid = uuid;
  }
  datum(column: string): Datum {
    return this.txn.read(this, column);
  }
  get(column: string): ColumnValue {
    const c = this.txn.column(this.table, column);
    return datumToValue(c.type, this.txn.read(this, column));
  }
  set(column: string, value: ValueInput): this {
    this.txn.set(this, column, value);
    return this;
  }
  verify(column: string): this {
    this.txn.verify(this, column);
    return this;
  }
  delete(): void {
    this.txn.delete(this);
  }
}

function namedUuid(tempUuid: string): string {
  return `row${tempUuid.replace(/-/g, '_')}`;
}

export class IdlTxn {
  private readonly idl: Idl;
  private readonly rows = new Map<string, RowState>();
  private readonly mutations: JsonObject[] = [];
  private incrementOp: { table: string; uuid: string; column: string } | null = null;
  private comments: string[] = [];
  private committed = false;

  constructor(idl: Idl) {
    this.idl = idl;
  }

  column(table: TableSchema, name: string): { index: number; type: OvsdbType } {
    const c = table.columns.get(name);
    if (!c) throw new RangeError(`table ${table.name} has no column ${name}`);
    return c;
  }

  private tableOf(ref: RowRef): TableSchema {
    const st = this.rows.get(ref.uuid);
    if (st) return st.table;
    const t = (ref as { table?: TableSchema }).table;
    if (t && typeof t === 'object' && 'columns' in t) return t;
    throw new RangeError(`row ${ref.uuid} is not known to this transaction`);
  }

  private state(ref: RowRef): RowState {
    let st = this.rows.get(ref.uuid);
    if (st) return st;
    const table = this.tableOf(ref);
    const row = this.idl.getRow(table.name, ref.uuid);
    if (!row) throw new RangeError(`row ${ref.uuid} is not in table ${table.name} of the replica`);
    st = {
      table,
      uuid: ref.uuid,
      inserted: false,
      deleted: false,
      writes: new Map(),
      verify: new Set(),
      base: row.fields,
    };
    this.rows.set(ref.uuid, st);
    return st;
  }

  /** The view of `ref` (a replica row or an inserted row) inside this transaction. */
  row(ref: RowRef): TxnRow {
    return new TxnRow(this, this.tableOf(ref), ref.uuid);
  }

  /** Inserts a row; `values` are its non-default columns. Other rows can refer to the result. */
  insert(table: string, values: { readonly [column: string]: ValueInput } = {}): TxnRow {
    const ts = this.idl.tableSchema(table);
    const uuid = randomUUID();
    const st: RowState = {
      table: ts,
      uuid,
      inserted: true,
      deleted: false,
      writes: new Map(),
      verify: new Set(),
      base: null,
    };
    this.rows.set(uuid, st);
    const row = new TxnRow(this, ts, uuid);
    for (const [k, v] of Object.entries(values)) this.set(row, k, v);
    return row;
  }

  /** Reads a column as this transaction sees it. */
  read(ref: RowRef, column: string): Datum {
    const table = this.tableOf(ref);
    const c = this.column(table, column);
    const st = this.rows.get(ref.uuid);
    const w = st?.writes.get(c.index);
    if (w) return w;
    if (st?.inserted) return defaultDatum(c.type);
    const row = this.idl.getRow(table.name, ref.uuid);
    return (row?.fields[c.index] as Datum | undefined) ?? defaultDatum(c.type);
  }

  /** Sets a column to a whole new value. */
  set(ref: RowRef, column: string, value: ValueInput): void {
    const st = this.state(ref);
    const c = this.column(st.table, column);
    if (st.deleted) throw new Error(`row ${ref.uuid} was deleted in this transaction`);
    st.writes.set(c.index, valueToDatum(c.type, value));
  }

  /**
   * Makes the commit fail with "try-again" if `column` of `ref` no longer has the value the
   * replica has now (OVS's ovsdb_idl_txn_verify). Call it for every column a decision used.
   */
  verify(ref: RowRef, column: string): void {
    const st = this.state(ref);
    if (st.inserted) return;
    const c = this.column(st.table, column);
    if (!this.idl.isReplicated(st.table.name, column)) {
      throw new RangeError(`cannot verify ${st.table.name}.${column}: column not replicated`);
    }
    st.verify.add(c.index);
  }

  delete(ref: RowRef): void {
    const st = this.state(ref);
    if (st.inserted) this.rows.delete(ref.uuid);
    else st.deleted = true;
  }

  /** Adds an RFC 7047 mutate operation on one row (mutator "+=", "insert", "delete", ...). */
  mutate(
    ref: RowRef,
    column: string,
    mutator: string,
    value: ValueInput,
    valueType?: OvsdbType,
  ): void {
    const table = this.tableOf(ref);
    const c = this.column(table, column);
    let type: OvsdbType = valueType ?? c.type;
    if (!valueType && (mutator === 'insert' || mutator === 'delete')) {
      type = { ...c.type, min: 0, max: Number.POSITIVE_INFINITY };
    } else if (!valueType) {
      type = { key: c.type.key, value: null, min: 1, max: 1 };
    }
    this.mutations.push({
      op: 'mutate',
      table: table.name,
      where: [['_uuid', '==', this.uuidJson(ref.uuid)]],
      mutations: [[column, mutator, this.datumJson(type, valueToDatum(type, value))]],
    });
  }

  /** Adds atoms to a set column without rewriting it (a mutate, so concurrent adds merge). */
  addToSet(ref: RowRef, column: string, atoms: ValueInput): void {
    this.mutate(ref, column, 'insert', atoms);
  }
  removeFromSet(ref: RowRef, column: string, atoms: ValueInput): void {
    this.mutate(ref, column, 'delete', atoms);
  }
  /** Sets one key of a map column (delete the key, then insert the pair). */
  setMapKey(ref: RowRef, column: string, key: Atom, value: Atom): void {
    const c = this.column(this.tableOf(ref), column);
    const keyType: OvsdbType = {
      key: c.type.key,
      value: null,
      min: 0,
      max: Number.POSITIVE_INFINITY,
    };
    this.mutate(ref, column, 'delete', [key], keyType);
    this.mutate(ref, column, 'insert', new Map([[key, value]]));
  }
  deleteMapKey(ref: RowRef, column: string, key: Atom): void {
    const c = this.column(this.tableOf(ref), column);
    this.mutate(ref, column, 'delete', [key], {
      key: c.type.key,
      value: null,
      min: 0,
      max: Number.POSITIVE_INFINITY,
    });
  }

  /**
   * Increments an integer column at commit and reports its new value (OVS's
   * ovsdb_idl_txn_increment, used for next_cfg). One per transaction.
   */
  increment(ref: RowRef, column: string): void {
    const table = this.tableOf(ref);
    this.column(table, column);
    this.incrementOp = { table: table.name, uuid: ref.uuid, column };
  }

  /** Adds a comment to the transaction (the server logs it). */
  comment(text: string): void {
    this.comments.push(text);
  }

  private isInserted(uuid: string): boolean {
    return this.rows.get(uuid)?.inserted === true;
  }

  private uuidJson(uuid: string): Json {
    return this.isInserted(uuid) ? ['named-uuid', namedUuid(uuid)] : ['uuid', uuid];
  }

  private atomJson(type: AtomicType, a: Atom): Json {
    return type === 'uuid' ? this.uuidJson(a as string) : a;
  }

  /** A datum on the wire, with references to rows inserted here as named uuids. */
  private datumJson(type: OvsdbType, d: Datum): Json {
    const kt = type.key.type;
    if (type.value) {
      const vt = type.value.type;
      const vals = d.values ?? [];
      return [
        'map',
        d.keys.map((k, i) => [this.atomJson(kt, k), this.atomJson(vt, vals[i] as Atom)]),
      ];
    }
    if (d.keys.length === 1) return this.atomJson(kt, d.keys[0] as Atom);
    return ['set', d.keys.map((k) => this.atomJson(kt, k))];
  }

  /** The operations commit() would send (for logging and tests). */
  operations(): Json[] {
    const ops: Json[] = [];
    const db = this.idl.database;
    for (const st of this.rows.values()) {
      if (st.inserted || st.verify.size === 0 || !st.base) continue;
      const cols = [...st.verify].map(
        (i) => st.table.columnList[i] as { name: string; index: number; type: OvsdbType },
      );
      const row: JsonObject = {};
      for (const c of cols) row[c.name] = this.datumJson(c.type, st.base[c.index] as Datum);
      ops.push({
        op: 'wait',
        table: st.table.name,
        timeout: 0,
        where: [['_uuid', '==', ['uuid', st.uuid]]],
        columns: cols.map((c) => c.name),
        until: '==',
        rows: [row],
      });
    }
    for (const st of this.rows.values()) {
      if (st.inserted) {
        const row: JsonObject = {};
        for (const [i, d] of st.writes) {
          const c = st.table.columnList[i] as { name: string; type: OvsdbType };
          if (!datumEquals(c.type, d, defaultDatum(c.type)))
            row[c.name] = this.datumJson(c.type, d);
        }
        ops.push({ op: 'insert', table: st.table.name, row, 'uuid-name': namedUuid(st.uuid) });
      } else if (st.deleted) {
        ops.push({
          op: 'delete',
          table: st.table.name,
          where: [['_uuid', '==', ['uuid', st.uuid]]],
        });
      } else {
        const row: JsonObject = {};
        for (const [i, d] of st.writes) {
          const c = st.table.columnList[i] as { name: string; type: OvsdbType };
          const current = this.idl.getRow(st.table.name, st.uuid)?.fields[i];
          if (!current || !datumEquals(c.type, d, current)) row[c.name] = this.datumJson(c.type, d);
        }
        if (Object.keys(row).length) {
          ops.push({
            op: 'update',
            table: st.table.name,
            where: [['_uuid', '==', ['uuid', st.uuid]]],
            row,
          });
        }
      }
    }
    ops.push(...this.mutations);
    if (this.incrementOp) {
      const where = [['_uuid', '==', this.uuidJson(this.incrementOp.uuid)]];
      ops.push({
        op: 'mutate',
        table: this.incrementOp.table,
        where,
        mutations: [[this.incrementOp.column, '+=', 1]],
      });
      ops.push({
        op: 'select',
        table: this.incrementOp.table,
        where,
        columns: [this.incrementOp.column],
      });
    }
    if (ops.length && this.comments.length)
      ops.push({ op: 'comment', comment: this.comments.join('\n') });
    void db;
    return ops;
  }

  /** Sends the transaction. Resolves (never rejects) with what happened. */
  async commit(): Promise<CommitResult> {
    if (this.committed) throw new Error('transaction already committed');
    this.committed = true;
    const inserted = new Map<string, string>();
    const ops = this.operations();
    if (!ops.some((o) => isJsonObject(o) && o.op !== 'wait' && o.op !== 'comment')) {
      return { status: 'unchanged', inserted };
    }
    let results: Json[];
    const seqnoAtSend = this.idl.seqno;
    try {
      const conn = this.idl.requireConnection();
      results = await conn.transact(this.idl.database, ops);
    } catch (err) {
      // A lost connection is worth retrying once the replica has reconnected.
      if (!(err instanceof OvsdbRpcError))
        return { status: 'try-again', inserted, error: (err as Error).message };
      return { status: 'error', inserted, error: err.message };
    }
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (!isJsonObject(r) || typeof r.error !== 'string') continue;
      const op = ops[i];
      const text = r.details !== undefined ? `${r.error}: ${String(r.details)}` : r.error;
      if (r.error === 'timed out' && isJsonObject(op) && op.op === 'wait')
        return { status: 'try-again', inserted, results };
      if (r.error === 'not owner') return { status: 'not-locked', inserted, error: text, results };
      return { status: 'error', inserted, error: text, results };
    }
    let incrementedValue: number | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as JsonObject;
      const r = results[i];
      if (!isJsonObject(r)) continue;
      if (op.op === 'insert' && Array.isArray(r.uuid) && typeof r.uuid[1] === 'string') {
        const name = op['uuid-name'] as string;
        for (const st of this.rows.values())
          if (st.inserted && namedUuid(st.uuid) === name) inserted.set(st.uuid, r.uuid[1]);
      } else if (
        (op.op === 'update' || op.op === 'delete' || op.op === 'mutate') &&
        r.count === 0
      ) {
        // The row went away since we read it.
        return { status: 'try-again', inserted, results };
      } else if (op.op === 'select' && this.incrementOp && Array.isArray(r.rows)) {
        const row = r.rows[0];
        const v = isJsonObject(row) ? row[this.incrementOp.column] : undefined;
        if (typeof v === 'number') incrementedValue = v;
      }
    }
    // The server sends the monitor update for our own change around the reply; wait briefly
    // for it so that callers reading the replica right after commit see their change.
    if (this.idl.seqno === seqnoAtSend) await this.idl.waitForChange(seqnoAtSend, 1000);
    return {
      status: 'success',
      inserted,
      results,
      ...(incrementedValue !== undefined ? { incrementedValue } : {}),
    };
  }
}
