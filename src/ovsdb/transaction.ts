/**
 * The executor of RFC 7047 §5.2 operations, all-or-nothing, with OVS's commit checks:
 * referential integrity, garbage collection of unreferenced non-root rows, weak reference
 * cleanup, maxRows and unique indexes. A transaction copies only the rows it touches.
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { isUuid, SymbolTable } from './atom.ts';
import { type Condition, compileCondition } from './condition.ts';
import type { Database, TableData, TxnContext, TxnOutcome } from './database.ts';
import { rowToJson } from './database.ts';
import { checkDatumConstraints, compareDatums, datumEquals, datumFromJson } from './datum.ts';
import {
  JsonObjectParser,
  OP_ARRAY,
  OP_BOOLEAN,
  OP_ID,
  OP_INTEGER,
  OP_OBJECT,
  OP_OPTIONAL,
  OP_STRING,
  OvsdbError,
  syntaxError,
} from './error.ts';
import { applyMutations, compileMutationList, type Mutation } from './mutation.ts';
import { shashOrder } from './ovs-hash-order.ts';
import { columnSetFromJson, IMPLICIT_UUID_TYPE } from './schema.ts';
import { precommit } from './txn-commit.ts';
import type { Changes, Datum, Row, TableSchema } from './types.ts';

/** A row inside a transaction: the committed version and the one being built. */
export interface TxnRow {
  readonly table: TableData;
  readonly uuid: string;
  readonly old: Row | null;
  /** null once deleted. `fields` is private to the transaction until commit. */
  new: { uuid: string; version: string; fields: Datum[] } | null;
  /** Effective strong reference count (committed count plus this txn's changes). */
  nRefs: number;
  /** Columns changed (set by determineChanges and weak-reference cleanup). */
  changed: boolean;
  /** Weak references from this row to rows deleted in this transaction, by column. */
  deletedWeak?: Map<number, Set<string>>;
}

export class Txn {
  /** Touched rows, per table, in the order the tables were first touched. */
  readonly rows = new Map<TableData, Map<string, TxnRow>>();
  readonly symtab: SymbolTable;
  durable = false;
  comment = '';
  /** The smallest "wait" timeout seen, as OVS's trigger deadline. */
  timeoutMs = Number.POSITIVE_INFINITY;

  constructor(
    readonly db: Database,
    readonly ctx: TxnContext,
  ) {
    this.symtab = new SymbolTable(db.newUuid);
  }

  find(t: TableData, uuid: string): TxnRow | undefined {
    return this.rows.get(t)?.get(uuid);
  }

  private add(tr: TxnRow): TxnRow {
    let m = this.rows.get(tr.table);
    if (!m) {
      m = new Map();
      this.rows.set(tr.table, m);
    }
    m.set(tr.uuid, tr);
    return tr;
  }

  /** The txn row for a committed row, made on first touch (copy-on-write). */
  modify(t: TableData, row: Row): TxnRow {
    const found = this.find(t, row.uuid);
    if (found) return found;
    return this.add({
      table: t,
      uuid: row.uuid,
      old: row,
      new: { uuid: row.uuid, version: row.version, fields: row.fields.slice() },
      nRefs: t.refCount(row.uuid),
      changed: false,
    });
  }

  insert(t: TableData, uuid: string, fields: Datum[]): void {
    this.add({
      table: t,
      uuid,
      old: null,
      new: { uuid, version: this.db.newUuid(), fields },
      nRefs: 0,
      changed: true,
    });
  }

  delete(t: TableData, uuid: string): void {
    const tr = this.find(t, uuid);
    if (tr) {
      if (!tr.old) this.rows.get(t)?.delete(uuid);
      else tr.new = null;
      return;
    }
    const row = t.rows.get(uuid);
    if (row) this.modify(t, row).new = null;
  }

  /** The row as this transaction currently sees it. */
  current(t: TableData, uuid: string): Row | null {
    const tr = this.find(t, uuid);
    if (tr) return tr.new;
    return t.rows.get(uuid) ?? null;
  }

  /** OVS's find_or_make_txn_row: any txn row (even a deleted one), or pull in a committed row. */
  findOrMake(t: TableData, uuid: string): TxnRow | undefined {
    const tr = this.find(t, uuid);
    if (tr) return tr;
    const row = t.rows.get(uuid);
    return row ? this.modify(t, row) : undefined;
  }

  /** Rows matching `cond`, as this transaction sees them. */
  query(t: TableData, cond: Condition, cb: (row: Row) => void): void {
    if (cond.uuidEquals !== undefined) {
      const row = this.current(t, cond.uuidEquals);
      if (row && cond.matches(row)) cb(row);
      return;
    }
    const touched = this.rows.get(t);
    // Snapshot first: callbacks may add txn rows.
    const out: Row[] = [];
    for (const row of t.rows.values()) {
      const tr = touched?.get(row.uuid);
      const cur = tr ? tr.new : row;
      if (cur && cond.matches(cur)) out.push(cur);
    }
    if (touched) {
      for (const tr of touched.values())
        if (!tr.old && tr.new && cond.matches(tr.new)) out.push(tr.new);
    }
    for (const r of out) cb(r);
  }
}

/* ---------- operation helpers ---------- */

function parseTable(x: Txn, p: JsonObjectParser, member = 'table'): TableData | undefined {
  const name = p.member(member, OP_ID);
  if (name === undefined) return undefined;
  const t = x.db.tables.get(name as string);
  if (!t) p.raise(`No table named ${name as string}.`);
  return t;
}

function columnOf(
  schema: TableSchema,
  name: string,
): { index: number; type: typeof IMPLICIT_UUID_TYPE; mutable: boolean } | undefined {
  if (name === '_uuid') return { index: -1, type: IMPLICIT_UUID_TYPE, mutable: false };
  if (name === '_version') return { index: -2, type: IMPLICIT_UUID_TYPE, mutable: false };
  const c = schema.columns.get(name);
  return c ? { index: c.index, type: c.type, mutable: c.mutable } : undefined;
}

interface ParsedRow {
  /** Column index -> datum, in the JSON's member order (-1/-2 for _uuid/_version). */
  readonly values: Map<number, Datum>;
  readonly names: string[];
}

/** OVS's ovsdb_row_from_json. */
function parseRow(t: TableData, json: Json, symtab: SymbolTable): ParsedRow {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw syntaxError(json, 'row must be JSON object');
  }
  const values = new Map<number, Datum>();
  const names: string[] = [];
  for (const name of Object.keys(json)) {
    const col = columnOf(t.schema, name);
    if (!col) throw syntaxError(json, `No column ${name} in table ${t.name}.`, 'unknown column');
    values.set(col.index, datumFromJson(col.type, json[name] as Json, symtab));
    names.push(name);
  }
  return { values, names };
}

/* ---------- operations ---------- */

type Executor = (x: Txn, p: JsonObjectParser, result: JsonObject) => void;

const opInsert: Executor = (x, p, result) => {
  const t = parseTable(x, p);
  const uuidJson = p.member('uuid', OP_STRING | OP_OPTIONAL) as string | undefined;
  const uuidName = p.member('uuid-name', OP_ID | OP_OPTIONAL) as string | undefined;
  const rowJson = p.member('row', OP_OBJECT);
  if (p.error) throw p.error;
  const table = t as TableData;
  let uuid: string | undefined;
  if (uuidJson !== undefined) {
    if (!isUuid(uuidJson)) throw syntaxError(uuidJson, 'bad uuid');
    uuid = uuidJson.toLowerCase();
    if (table.rows.has(uuid) || x.find(table, uuid)) {
      throw syntaxError(
        uuidJson,
        'This UUID would duplicate a UUID already present within the table or deleted within the same transaction.',
        'duplicate uuid',
      );
    }
  }
  if (uuidName !== undefined) {
    const sym = x.symtab.insert(uuidName);
    if (sym.created) {
      throw syntaxError(
        uuidName,
        'This "uuid-name" appeared on an earlier "insert" operation.',
        'duplicate uuid-name',
      );
    }
    if (uuid !== undefined) (sym as { uuid: string }).uuid = uuid;
    else uuid = sym.uuid;
    sym.created = true;
  } else if (uuid === undefined) {
    uuid = x.db.newUuid();
  }
  const parsed = parseRow(table, rowJson as Json, x.symtab);
  const fields = table.defaults.slice();
  for (const [i, d] of parsed.values) if (i >= 0) fields[i] = d;
  // Defaults may break a column's constraints (e.g. an enum without "").
  for (const c of table.schema.columnList) {
    const d = fields[c.index] as Datum;
    if (d.keys.length === 1 && !parsed.values.has(c.index)) checkDatumConstraints(c.type, d);
  }
  x.insert(table, uuid, fields);
  result.uuid = ['uuid', uuid];
};

function rowKey(row: Row, cols: readonly { index: number }[]): string {
  let k = '';
  for (const c of cols) {
    if (c.index === -1) k += `${row.uuid}\u0000`;
    else if (c.index === -2) k += `${row.version}\u0000`;
    else {
      const d = row.fields[c.index] as Datum;
      k += `${JSON.stringify(d.keys)}${d.values ? JSON.stringify(d.values) : ''}\u0000`;
    }
  }
  return k;
}

const opSelect: Executor = (x, p, result) => {
  const t = parseTable(x, p);
  const where = p.member('where', OP_ARRAY);
  const columnsJson = p.member('columns', OP_ARRAY | OP_OPTIONAL);
  const sortJson = p.member('sort', OP_ARRAY | OP_OPTIONAL);
  if (p.error) throw p.error;
  const table = t as TableData;
  const cond = compileCondition(table.schema, where as Json, x.symtab);
  const columns =
    columnsJson !== undefined ? columnSetFromJson(columnsJson, table.schema.columns) : undefined;
  const sort = sortJson !== undefined ? columnSetFromJson(sortJson, table.schema.columns) : [];
  let rows: Row[] = [];
  if (!columns || columns.includes('_uuid')) {
    x.query(table, cond, (r) => rows.push(r));
  } else {
    const cols = columns.map((n) => columnOf(table.schema, n) as { index: number });
    const seen = new Set<string>();
    x.query(table, cond, (r) => {
      const k = rowKey(r, cols);
      if (!seen.has(k)) {
        seen.add(k);
        rows.push(r);
      }
    });
  }
  if (sort.length) {
    const cols = sort.map(
      (n) => columnOf(table.schema, n) as NonNullable<ReturnType<typeof columnOf>>,
    );
    rows = rows.sort((a, b) => {
      for (const c of cols) {
        const da =
          c.index >= 0
            ? (a.fields[c.index] as Datum)
            : { keys: [c.index === -1 ? a.uuid : a.version], values: null };
        const db =
          c.index >= 0
            ? (b.fields[c.index] as Datum)
            : { keys: [c.index === -1 ? b.uuid : b.version], values: null };
        const r = compareDatums(c.type, da, db);
        if (r) return r;
      }
      return 0;
    });
  }
  const order = selectMemberOrder(table.schema, columns);
  result.rows = rows.map((r) => rowToJson(table.schema, r, order));
};

const allColumnsOrder = new WeakMap<TableSchema, readonly string[]>();

/**
 * The member order of a selected row as real ovsdb-server prints it: its column set is
 * filled from the table's column hash (all columns) or in the order given, then each row's
 * members go into a JSON object printed in hash order. Matching it makes select replies
 * byte-identical, not just equal. Computed once per select (and once per table for all).
 */
function selectMemberOrder(schema: TableSchema, columns?: readonly string[]): readonly string[] {
  if (columns) return shashOrder(columns);
  let order = allColumnsOrder.get(schema);
  if (!order) {
    const parsed = shashOrder(schema.columnList.map((c) => c.name));
    order = shashOrder(shashOrder(['_uuid', '_version', ...parsed]));
    allColumnsOrder.set(schema, order);
  }
  return order;
}

const opUpdate: Executor = (x, p, result) => {
  const t = parseTable(x, p);
  const where = p.member('where', OP_ARRAY);
  const rowJson = p.member('row', OP_OBJECT);
  if (p.error) throw p.error;
  const table = t as TableData;
  const parsed = parseRow(table, rowJson as Json, x.symtab);
  for (const name of parsed.names) {
    const col = columnOf(table.schema, name);
    if (col && !col.mutable) {
      throw syntaxError(
        p.json,
        `Cannot update immutable column ${name} in table ${table.name}.`,
        'constraint violation',
      );
    }
  }
  const cond = compileCondition(table.schema, where as Json, x.symtab);
  let count = 0;
  const entries = [...parsed.values];
  x.query(table, cond, (row) => {
    count++;
    let differs = false;
    for (const [i, d] of entries) {
      if (
        !datumEquals(
          (table.schema.columnList[i] as TableSchema['columnList'][number]).type,
          row.fields[i] as Datum,
          d,
        )
      ) {
        differs = true;
        break;
      }
    }
    if (!differs) return;
    const tr = x.modify(table, row);
    const fields = (tr.new as NonNullable<TxnRow['new']>).fields;
    for (const [i, d] of entries) fields[i] = d;
  });
  result.count = count;
};

const opMutate: Executor = (x, p, result) => {
  const t = parseTable(x, p);
  const where = p.member('where', OP_ARRAY);
  const mutationsJson = p.member('mutations', OP_ARRAY);
  if (p.error) throw p.error;
  const table = t as TableData;
  const mutations: Mutation[] = compileMutationList(table.schema, mutationsJson as Json, x.symtab);
  const cond = compileCondition(table.schema, where as Json, x.symtab);
  let count = 0;
  let error: unknown;
  x.query(table, cond, (row) => {
    if (error) return;
    count++;
    try {
      const tr = x.modify(table, row);
      const nu = tr.new as NonNullable<TxnRow['new']>;
      nu.fields = applyMutations(mutations, nu.fields);
    } catch (e) {
      error = e;
    }
  });
  result.count = count;
  if (error) throw error;
};

const opDelete: Executor = (x, p, result) => {
  const where = p.member('where', OP_ARRAY);
  const t = parseTable(x, p);
  if (p.error) throw p.error;
  const table = t as TableData;
  const cond = compileCondition(table.schema, where as Json, x.symtab);
  let count = 0;
  x.query(table, cond, (row) => {
    count++;
    x.delete(table, row.uuid);
  });
  result.count = count;
};

/** Sentinel thrown by "wait" when the transaction must be retried later. */
class Blocked extends Error {}

const opWait: Executor = (x, p) => {
  const timeout = p.member('timeout', OP_INTEGER | OP_OPTIONAL) as number | undefined;
  const where = p.member('where', OP_ARRAY);
  const columnsJson = p.member('columns', OP_ARRAY | OP_OPTIONAL);
  const until = p.member('until', OP_STRING) as string | undefined;
  const rowsJson = p.member('rows', OP_ARRAY) as Json[] | undefined;
  const t = parseTable(x, p);
  if (p.error) throw p.error;
  const table = t as TableData;
  const cond = compileCondition(table.schema, where as Json, x.symtab);
  const columns =
    columnsJson !== undefined ? columnSetFromJson(columnsJson, table.schema.columns) : undefined;
  let timeoutMs = Number.POSITIVE_INFINITY;
  if (timeout !== undefined) {
    if (timeout < 0) throw syntaxError(timeout, 'timeout must be nonnegative');
    timeoutMs = timeout;
    if (timeout < x.timeoutMs) x.timeoutMs = timeout;
  }
  if (until !== '==' && until !== '!=')
    throw syntaxError(until as string, '"until" must be "==" or "!="');
  const cols = (
    columns ?? ['_uuid', '_version', ...table.schema.columnList.map((c) => c.name)]
  ).map((n) => columnOf(table.schema, n) as { index: number });
  const expected = new Set<string>();
  for (const rj of rowsJson as Json[]) {
    const parsed = parseRow(table, rj, x.symtab);
    const fields = table.defaults.slice();
    let uuid = '00000000-0000-0000-0000-000000000000';
    let version = uuid;
    for (const [i, d] of parsed.values) {
      if (i >= 0) fields[i] = d;
      else if (i === -1) uuid = d.keys[0] as string;
      else version = d.keys[0] as string;
    }
    expected.add(rowKey({ uuid, version, fields }, cols));
  }
  let equal = true;
  const actual = new Set<string>();
  x.query(table, cond, (row) => {
    if (!equal) return;
    const k = rowKey(row, cols);
    if (expected.has(k)) actual.add(k);
    else equal = false;
  });
  if (equal) equal = actual.size === expected.size;
  if ((until === '==') !== equal) {
    const elapsed =
      x.ctx.elapsedMs ??
      (x.ctx.created !== undefined ? Math.max(0, x.ctx.now() - x.ctx.created) : 0);
    if (timeout !== undefined && elapsed >= timeoutMs) {
      // A zero timeout fails on the first execution, where OVS's elapsed time is 0 (its
      // clock is cached per poll loop); ours may have ticked since the request arrived.
      if (elapsed && timeoutMs > 0) {
        throw new OvsdbError('timed out', `"wait" timed out after ${elapsed} ms`);
      }
      throw new OvsdbError('timed out', '"where" clause test failed');
    }
    throw new Blocked();
  }
};

const opCommit: Executor = (x, p) => {
  const durable = p.member('durable', OP_BOOLEAN);
  if (durable === true) x.durable = true;
};

const opAbort: Executor = () => {
  throw new OvsdbError('aborted', 'aborted by request');
};

const opComment: Executor = (x, p) => {
  const c = p.member('comment', OP_STRING) as string | undefined;
  if (c === undefined) return;
  x.comment = x.comment ? `${x.comment}\n${c}` : c;
};

const opAssert: Executor = (x, p) => {
  const lock = p.member('lock', OP_ID) as string | undefined;
  if (lock === undefined) return;
  if (!x.ctx.hasLock(lock)) throw new OvsdbError('not owner', `Asserted lock ${lock} not held.`);
};

const EXECUTORS: Record<string, [Executor, boolean]> = {
  insert: [opInsert, false],
  select: [opSelect, true],
  update: [opUpdate, false],
  mutate: [opMutate, false],
  delete: [opDelete, false],
  wait: [opWait, true],
  commit: [opCommit, false],
  abort: [opAbort, true],
  comment: [opComment, true],
  assert: [opAssert, true],
};

/* ---------- the transaction ---------- */

/**
 * Executes the operations of one "transact" request (`ops` excludes the database name) and,
 * if they all succeed and the commit checks pass, commits the changes to `db`.
 */
export function executeTransaction(db: Database, ops: Json[], ctx: TxnContext): TxnOutcome {
  const x = new Txn(db, ctx);
  const n = ops.length;
  const results: Json[] = [];
  let failed = false;
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Json;
    const p = new JsonObjectParser(op, `ovsdb operation ${i + 1} of ${n}`);
    const opName = p.member('op', OP_ID) as string | undefined;
    const result: JsonObject = {};
    let error: OvsdbError | null = null;
    let readOnly = false;
    if (opName !== undefined) {
      const ex = EXECUTORS[opName];
      if (ex) {
        readOnly = ex[1];
        if (ctx.readOnly && !readOnly) {
          // As OVS: refused before it is parsed, so no parse error can replace this one.
          results.push(
            new OvsdbError(
              'not allowed',
              `${opName} operation not allowed when database server is in read only mode`,
            ).toJson(),
          );
          failed = true;
          break;
        }
        try {
          ex[0](x, p, result);
        } catch (e) {
          if (e instanceof Blocked) {
            return { status: 'blocked', until: deadline(ctx, x.timeoutMs) };
          }
          if (!(e instanceof OvsdbError)) throw e;
          error = e;
        }
      } else {
        p.raise(`No operation "${opName}"`);
      }
    }
    // A parse error overrides any other error.
    try {
      p.finish();
    } catch (e) {
      if (!(e instanceof OvsdbError)) throw e;
      error = e;
    }
    if (!error && !readOnly && db.schema.name.startsWith('_')) {
      error = new OvsdbError(
        'not allowed',
        `${opName} operation not allowed on table in reserved database ${db.schema.name}`,
      );
    }
    if (error) {
      results.push(error.toJson());
      failed = true;
      break;
    }
    results.push(result);
  }
  while (results.length < n) results.push(null);
  if (failed) return { status: 'aborted', results };
  let changes: Changes;
  try {
    changes = precommit(x);
  } catch (e) {
    if (!(e instanceof OvsdbError)) throw e;
    results.push(e.toJson());
    return { status: 'aborted', results };
  }
  const info = { durable: x.durable, ...(x.comment ? { comment: x.comment } : {}) };
  const txnId = changes.size ? db.commit(changes, undefined, info) : db.lastCommitId;
  return {
    status: 'committed',
    results,
    changes,
    durable: x.durable,
    txnId,
    ...(x.comment ? { comment: x.comment } : {}),
  };
}

function deadline(ctx: TxnContext, timeoutMs: number): number {
  if (timeoutMs === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  const start = ctx.created ?? ctx.now() - (ctx.elapsedMs ?? 0);
  return start + timeoutMs;
}

/**
 * OVS's ovsdb_txn_replay_commit for a record read back from a database file: the change set
 * goes through the same commit checks as a client's transaction (referential integrity,
 * garbage collection of unreferenced non-root rows, weak reference cleanup, maxRows, unique
 * indexes), since a file may hold what no server would have committed. Returns the change
 * set to apply (with what the checks added); throws OvsdbError as a transaction would fail.
 * Nothing is applied here.
 */
export function replayChanges(db: Database, changes: Changes): Changes {
  const x = new Txn(db, REPLAY_CONTEXT);
  for (const [tname, rows] of changes) {
    const t = db.table(tname);
    for (const [uuid, ch] of rows) {
      const current = t.rows.get(uuid);
      if (ch.new) {
        if (current) {
          const tr = x.modify(t, current);
          tr.new = { uuid, version: ch.new.version, fields: ch.new.fields.slice() };
        } else {
          x.insert(t, uuid, ch.new.fields.slice());
        }
      } else {
        x.delete(t, uuid);
      }
    }
  }
  return precommit(x);
}

const REPLAY_CONTEXT: TxnContext = { now: () => Date.now(), hasLock: () => true };
