/**
 * ovs-vsctl's view of the database: a replica of every table (filled from one `monitor`
 * reply) plus one transaction's pending changes, with the semantics of OVS's IDL
 * (lib/ovsdb-idl.c): reads see this transaction's writes, `verify` records a prerequisite
 * that becomes a "wait" operation, rows inserted here carry temporary UUIDs that become
 * named UUIDs on the wire, deleted non-root rows are left for the server's garbage
 * collector, and writes that change nothing are dropped so that an idle transaction is
 * "unchanged" and never sent.
 *
 * Rows iterate in the order the server sent them (OVS iterates in hash order, which no
 * caller may rely on).
 */
import type { Json, JsonObject } from '../../lib/json.ts';
import {
  datumEquals,
  datumFromJson,
  datumToJson,
  defaultDatum,
  isDefaultDatum,
} from '../../ovsdb/datum.ts';
import { jsonToOvsString } from '../../ovsdb/error.ts';
import { shashOrder } from '../../ovsdb/ovs-hash-order.ts';
import type {
  Atom,
  ColumnSchema,
  DatabaseSchema,
  Datum,
  OvsdbType,
  TableSchema,
} from '../../ovsdb/types.ts';

export class IdlRow {
  /**
   * The row as the server last sent it (JSON column values), or null for a row inserted by
   * this transaction. Columns are converted to datums only when read: most commands look at
   * a handful of the rows they fetched.
   */
  readonly raw: JsonObject | null;
  private readonly oldData: (Datum | undefined)[];
  private curData: (Datum | undefined)[];
  deleted = false;
  written: Set<number> | null = null;
  verified: Set<number> | null = null;
  /** create --id=<uuid>: ask the server to keep this UUID. */
  persistUuid = false;

  constructor(
    readonly table: TableSchema,
    readonly uuid: string,
    raw: JsonObject | null,
  ) {
    this.raw = raw;
    this.oldData = [];
    this.curData = [];
  }

  /** True for rows that exist in the database (not inserted by this transaction). */
  get committed(): boolean {
    return this.raw !== null;
  }

  /** The committed value of column `i` (the default for an inserted row). */
  oldAt(i: number): Datum {
    let d = this.oldData[i];
    if (d === undefined) {
      const col = this.table.columnList[i] as ColumnSchema;
      const json = this.raw?.[col.name];
      d = json === undefined ? defaultDatum(col.type) : datumFromJson(col.type, json);
      this.oldData[i] = d;
    }
    return d;
  }

  /** Column `i` as this transaction sees it. */
  curAt(i: number): Datum {
    return this.curData[i] ?? this.oldAt(i);
  }

  setCur(i: number, d: Datum): void {
    this.curData[i] = d;
  }

  resetCur(): void {
    this.curData = [];
  }
}

export interface TxnResult {
  status: 'success' | 'unchanged' | 'try-again' | 'error';
  error?: string;
  /** Open_vSwitch next_cfg after the increment, when one was requested. */
  nextCfg?: number;
  /** Messages OVS's IDL logs as warnings while reading the reply (module ovsdb_idl). */
  warnings?: string[];
}

export class Idl {
  readonly tables = new Map<string, Map<string, IdlRow>>();
  /** Rows touched by the current transaction, in first-touch order. */
  private txnRows = new Set<IdlRow>();
  /** Temporary UUID -> real UUID, filled from the reply to the transaction. */
  readonly insertedUuids = new Map<string, string>();

  constructor(readonly schema: DatabaseSchema) {
    for (const name of schema.tables.keys()) this.tables.set(name, new Map());
  }

  table(name: string): TableSchema {
    return this.schema.tables.get(name) as TableSchema;
  }

  /**
   * The monitor request for the tables and columns the commands need (`needs`, or every
   * column of every table when null), with later changes reported for Open_vSwitch only
   * unless `watchAll`.
   */
  monitorRequests(
    needs: ReadonlyMap<string, ReadonlySet<string>> | null,
    watchAll: boolean,
  ): JsonObject {
    const req: JsonObject = {};
    for (const t of this.schema.tables.values()) {
      const cols = needs ? needs.get(t.name) : new Set(t.columns.keys());
      if (!cols) continue;
      const changes = watchAll || t.name === 'Open_vSwitch';
      req[t.name] = {
        columns: t.columnList.filter((c) => cols.has(c.name)).map((c) => c.name),
        select: { initial: true, insert: changes, delete: changes, modify: changes },
      };
    }
    return req;
  }

  /**
   * Applies a monitor reply or "update" notification (RFC 7047 <table-updates>). With
   * `reorder` (the initial contents), rows are put in the order real ovs-vsctl iterates
   * them, so that listing a whole table prints rows in the same order.
   */
  applyUpdates(updates: Json, reorder = false): void {
    if (!updates || typeof updates !== 'object' || Array.isArray(updates)) return;
    for (const [tname, rows] of Object.entries(updates)) {
      const table = this.schema.tables.get(tname);
      const map = this.tables.get(tname);
      if (!table || !map || !rows || typeof rows !== 'object' || Array.isArray(rows)) continue;
      for (const [uuid, change] of Object.entries(rows)) {
        const neu = (change as JsonObject).new;
        if (neu === undefined || neu === null) {
          map.delete(uuid);
          continue;
        }
        // A "modify" may carry only the changed columns: keep the others.
        const prev = map.get(uuid)?.raw;
        const raw = prev ? { ...prev, ...(neu as JsonObject) } : (neu as JsonObject);
        map.set(uuid, new IdlRow(table, uuid, raw));
      }
    }
    if (reorder) this.reorderLikeOvs(updates);
  }

  /**
   * Puts every table's rows in the order real ovs-vsctl's IDL iterates them after loading
   * `updates`: it walks tables and rows in shash order (the reply lists both sorted), creates
   * each row in its table's hmap (keyed by the UUID's first 32 bits), and, while parsing a
   * row's columns in name order, creates placeholder rows for the UUIDs it references; the
   * hmap is then walked bucket by bucket, each chain from its most recent node.
   */
  private reorderLikeOvs(updates: JsonObject): void {
    const seqs = new Map<string, string[]>();
    const seen = new Map<string, Set<string>>();
    const create = (table: string, uuid: string): void => {
      let set = seen.get(table);
      if (!set) {
        set = new Set();
        seen.set(table, set);
        seqs.set(table, []);
      }
      if (set.has(uuid)) return;
      set.add(uuid);
      (seqs.get(table) as string[]).push(uuid);
    };
    for (const tname of shashOrder(Object.keys(updates).sort())) {
      const table = this.schema.tables.get(tname);
      const rows = updates[tname];
      if (!table || !rows || typeof rows !== 'object' || Array.isArray(rows)) continue;
      const map = this.tables.get(tname) as Map<string, IdlRow>;
      for (const uuid of shashOrder(Object.keys(rows).sort())) {
        create(tname, uuid);
        const row = map.get(uuid);
        if (!row?.raw) continue;
        for (const col of table.columnList) {
          const ref = col.type.key.refTable ?? col.type.value?.refTable;
          if (!ref || row.raw[col.name] === undefined) continue;
          const d = row.oldAt(col.index);
          const atoms = col.type.key.refTable ? d.keys : (d.values ?? []);
          for (const u of atoms) create(ref, u as string);
        }
      }
    }
    for (const [tname, seq] of seqs) {
      const map = this.tables.get(tname);
      if (!map || map.size < 2) continue;
      const out = new Map<string, IdlRow>();
      for (const u of hmapOrder(seq, (x) => Number.parseInt(x.slice(0, 8), 16))) {
        const row = map.get(u);
        if (row) out.set(u, row);
      }
      this.tables.set(tname, out);
    }
  }

  /** Rows of `table` visible to this transaction. */
  *rows(table: string): Iterable<IdlRow> {
    const map = this.tables.get(table);
    if (!map) return;
    for (const row of map.values()) if (!row.deleted) yield row;
  }

  firstRow(table: string): IdlRow | undefined {
    for (const r of this.rows(table)) return r;
    return undefined;
  }

  get(table: string, uuid: string): IdlRow | undefined {
    const row = this.tables.get(table)?.get(uuid);
    return row && !row.deleted ? row : undefined;
  }

  read(row: IdlRow, column: ColumnSchema): Datum {
    return row.curAt(column.index);
  }

  /** Shorthand for reading a column by name (the caller knows it exists). */
  col(row: IdlRow, name: string): Datum {
    return row.curAt((row.table.columns.get(name) as ColumnSchema).index);
  }

  verify(row: IdlRow, column: ColumnSchema): void {
    if (!row.committed) return;
    row.verified ??= new Set();
    row.verified.add(column.index);
    this.txnRows.add(row);
  }

  verifyName(row: IdlRow, name: string): void {
    this.verify(row, row.table.columns.get(name) as ColumnSchema);
  }

  write(row: IdlRow, column: ColumnSchema, datum: Datum): void {
    row.setCur(column.index, datum);
    row.written ??= new Set();
    row.written.add(column.index);
    this.txnRows.add(row);
  }

  set(row: IdlRow, name: string, datum: Datum): void {
    this.write(row, row.table.columns.get(name) as ColumnSchema, datum);
  }

  insert(table: string, uuid?: string, persist = false): IdlRow {
    const row = new IdlRow(this.table(table), uuid ?? tempUuid(), null);
    row.persistUuid = persist;
    (this.tables.get(table) as Map<string, IdlRow>).set(row.uuid, row);
    this.txnRows.add(row);
    return row;
  }

  delete(row: IdlRow): void {
    if (!row.committed) {
      this.tables.get(row.table.name)?.delete(row.uuid);
      this.txnRows.delete(row);
      return;
    }
    row.deleted = true;
    this.txnRows.add(row);
  }

  /** Forgets the pending transaction (before a retry). */
  abort(): void {
    for (const row of this.txnRows) {
      if (!row.committed) {
        this.tables.get(row.table.name)?.delete(row.uuid);
        continue;
      }
      row.resetCur();
      row.deleted = false;
      row.written = null;
      row.verified = null;
    }
    this.txnRows.clear();
  }

  /**
   * The "transact" operations for the pending changes, or null when nothing would change
   * (OVS's TXN_UNCHANGED). `increment` names the Open_vSwitch row whose next_cfg is bumped.
   */
  buildOperations(opts: {
    database: string;
    increment?: IdlRow;
    comment?: string;
    dryRun?: boolean;
  }): { ops: Json[]; incIndex: number; inserts: Map<string, number> } | null {
    const ops: Json[] = [opts.database];
    const inserted = new Map<string, string>();
    for (const row of this.txnRows) {
      if (!row.committed && !row.persistUuid) inserted.set(row.uuid, rowName(row.uuid));
    }
    const subst = (json: Json): Json => substituteUuids(json, inserted);
    const where = (row: IdlRow): Json => [['_uuid', '==', subst(['uuid', row.uuid])]];

    for (const row of this.txnRows) {
      if (!row.verified || !row.committed) continue;
      const columns: Json[] = [];
      const values: JsonObject = {};
      for (const idx of [...row.verified].sort((a, b) => a - b)) {
        const col = row.table.columnList[idx] as ColumnSchema;
        columns.push(col.name);
        values[col.name] = datumToJson(col.type, row.oldAt(idx));
      }
      ops.push({
        op: 'wait',
        table: row.table.name,
        timeout: 0,
        where: where(row),
        until: '==',
        columns,
        rows: [values],
      });
    }

    for (const t of this.schema.tables.values()) {
      if (t.maxRows !== 1) continue;
      let initial = 0;
      let final = 0;
      for (const row of (this.tables.get(t.name) as Map<string, IdlRow>).values()) {
        if (row.committed) initial++;
        if (!row.deleted) final++;
      }
      if (initial === 0 && final === 1) {
        ops.push({ op: 'wait', table: t.name, where: [], timeout: 0, until: '==', rows: [] });
      }
    }

    let anyUpdates = false;
    const inserts = new Map<string, number>();
    for (const row of this.txnRows) {
      const t = row.table;
      if (row.deleted) {
        if (t.isRoot) {
          ops.push({ op: 'delete', table: t.name, where: where(row) });
          anyUpdates = true;
        }
        continue;
      }
      if (!row.written && row.committed) continue;
      const rowJson: JsonObject = {};
      for (const idx of [...(row.written ?? [])].sort((a, b) => a - b)) {
        const col = t.columnList[idx] as ColumnSchema;
        const d = row.curAt(idx);
        if (row.committed) {
          if (datumEquals(col.type, row.oldAt(idx), d)) continue;
        } else if (isDefaultDatum(col.type, d)) {
          continue;
        }
        rowJson[col.name] = subst(datumToJson(col.type, d));
        anyUpdates = true;
      }
      if (row.committed) {
        if (Object.keys(rowJson).length === 0) continue;
        ops.push({ op: 'update', table: t.name, where: where(row), row: rowJson });
      } else {
        anyUpdates = true;
        const op: JsonObject = { op: 'insert', table: t.name };
        if (row.persistUuid) op.uuid = row.uuid;
        else op['uuid-name'] = rowName(row.uuid);
        op.row = rowJson;
        inserts.set(row.uuid, ops.length - 1);
        ops.push(op);
      }
    }

    // Indexes into the reply, which has no element for ops[0] (the database name).
    let incIndex = -1;
    if (opts.increment && anyUpdates) {
      incIndex = ops.length - 1;
      ops.push({
        op: 'mutate',
        table: opts.increment.table.name,
        where: where(opts.increment),
        mutations: [['next_cfg', '+=', 1]],
      });
      ops.push({
        op: 'select',
        table: opts.increment.table.name,
        where: where(opts.increment),
        columns: ['next_cfg'],
      });
    }
    if (opts.comment) ops.push({ op: 'comment', comment: opts.comment });
    if (opts.dryRun) ops.push({ op: 'abort' });
    if (!anyUpdates) return null;
    return { ops, incIndex, inserts };
  }

  /** Interprets the reply to "transact" as OVS's ovsdb_idl_txn_process_reply does. */
  processReply(reply: Json, built: { incIndex: number; inserts: Map<string, number> }): TxnResult {
    if (!Array.isArray(reply)) return { status: 'error', error: jsonToOvsString(reply, true) };
    let hard = 0;
    let soft = 0;
    let error: string | undefined;
    const warnings: string[] = [];
    for (const op of reply) {
      if (op === null) {
        soft++;
      } else if (typeof op === 'object' && !Array.isArray(op)) {
        const e = op.error;
        if (e === undefined) continue;
        if (typeof e === 'string') {
          if (e === 'timed out' || e === 'unknown database') soft++;
          else if (e === 'not allowed') {
            hard++;
            error ??= jsonToOvsString(op, true);
          } else if (e !== 'aborted') {
            hard++;
            error ??= jsonToOvsString(op, true);
            warnings.push(`transaction error: ${error}`);
          }
        } else {
          hard++;
          error ??= jsonToOvsString(op, true);
          warnings.push('"error" in reply is not JSON string');
        }
      } else {
        hard++;
        error ??= jsonToOvsString(op, true);
        warnings.push('operation reply is not JSON null or object');
      }
    }
    if (hard) return { status: 'error', error: error as string, warnings };
    if (soft) return { status: 'try-again' };
    const result: TxnResult = { status: 'success' };
    if (built.incIndex >= 0) {
      const sel = reply[built.incIndex + 1] as JsonObject | undefined;
      const rows = sel?.rows as JsonObject[] | undefined;
      const v = rows?.[0]?.next_cfg;
      if (typeof v === 'number') result.nextCfg = v;
    }
    for (const [tmp, idx] of built.inserts) {
      const r = reply[idx] as JsonObject | undefined;
      const u = r?.uuid;
      if (Array.isArray(u) && typeof u[1] === 'string') this.insertedUuids.set(tmp, u[1]);
    }
    return result;
  }
}

/** OVS's hmap iteration order after inserting `keys` in order (see lib/hmap.c). */
export function hmapOrder<T>(keys: readonly T[], hash: (k: T) => number): T[] {
  let mask = 0;
  let buckets: { key: T; hash: number }[][] = [[]];
  let n = 0;
  for (const key of keys) {
    const h = hash(key) >>> 0;
    (buckets[h & mask] as { key: T; hash: number }[]).unshift({ key, hash: h });
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = calcMask(n);
      if (newMask > mask) {
        const fresh: { key: T; hash: number }[][] = [];
        for (let i = 0; i <= newMask; i++) fresh.push([]);
        for (const chain of buckets) {
          for (const node of chain)
            (fresh[(node.hash & newMask) >>> 0] as typeof chain).unshift(node);
        }
        buckets = fresh;
        mask = newMask;
      }
    }
  }
  const out: T[] = [];
  for (const chain of buckets) for (const node of chain) out.push(node.key);
  return out;
}

/** lib/hmap.c's calc_mask: the bucket mask for `capacity` nodes. */
function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask >>> 0;
}

/**
 * A UUID for a row this transaction inserts. It only names the row until the server assigns
 * the real one (it travels as a "named-uuid"), so it need not be cryptographically random;
 * Math.random avoids loading node:crypto on every call of a short-lived CLI.
 */
export function tempUuid(): string {
  let h = '';
  for (let i = 0; i < 4; i++)
    h += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16] as string, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** OVS's ovsdb_data_row_name: "row" + the UUID with '-' replaced by '_'. */
export function rowName(uuid: string): string {
  return `row${uuid.replaceAll('-', '_')}`;
}

function substituteUuids(json: Json, inserted: Map<string, string>): Json {
  if (!Array.isArray(json)) return json;
  if (json.length === 2 && json[0] === 'uuid' && typeof json[1] === 'string') {
    const name = inserted.get(json[1]);
    return name ? ['named-uuid', name] : json;
  }
  return json.map((j) => substituteUuids(j, inserted));
}

/** A one-atom datum. */
export function atomDatum(type: OvsdbType, key: Atom, value?: Atom): Datum {
  return { keys: [key], values: type.value ? [value as Atom] : null };
}
