/**
 * Monitors (RFC 7047 §4.1.5 and OVS's monitor_cond / monitor_cond_since extensions): which
 * tables, columns and kinds of change a client watches, and the <table-updates> (v1),
 * <table-updates2> (v2, v3) documents that describe a set of row changes to it.
 *
 * Composition is a pure function of (monitor shape, changes), so monitors of the same shape
 * without conditions share one composed and serialised update per commit (see MonitorHub).
 */
import type { Json, JsonObject } from '../../lib/json.ts';
import { isJsonObject } from '../../lib/json.ts';
import { datumDiff, datumEquals, datumToJson, isDefaultDatum } from '../datum.ts';
import {
  JsonObjectParser,
  OP_ARRAY,
  OP_BOOLEAN,
  OP_OBJECT,
  OP_OPTIONAL,
  type OvsdbError,
  syntaxError,
} from '../error.ts';
import type {
  Changes,
  DatabaseSchema,
  Datum,
  OvsdbType,
  Row,
  RowChange,
  TableSchema,
} from '../types.ts';

export const SELECT_INITIAL = 1;
export const SELECT_INSERT = 2;
export const SELECT_DELETE = 4;
export const SELECT_MODIFY = 8;
const SELECT_ALL = 15;

/** 1: "monitor" (update), 2: "monitor_cond" (update2), 3: "monitor_cond_since" (update3). */
export type MonitorVersion = 1 | 2 | 3;

export const UUID_TYPE: OvsdbType = Object.freeze({
  key: Object.freeze({ type: 'uuid' as const }),
  value: null,
  min: 1,
  max: 1,
});

export interface MonitorColumn {
  readonly name: string;
  readonly type: OvsdbType;
  /** Position in Row.fields, or -1 for _uuid, -2 for _version. */
  readonly index: number;
  select: number;
}

export type RowPredicate = (row: Row) => boolean;
/** Compiles one RFC 7047 <condition> (a single clause) of a table into a predicate. */
export type ClauseCompiler = (table: TableSchema, clause: Json) => RowPredicate;

export interface MonitorTable {
  readonly schema: TableSchema;
  readonly columns: MonitorColumn[];
  select: number;
  /** null: every row (no condition, an empty one, or one with a `true` clause). */
  condition: RowPredicate | null;
  /** Canonical text of the condition, for telling conditional shapes apart. */
  conditionKey: string;
}

export function columnValue(c: MonitorColumn, row: Row): Datum {
  if (c.index >= 0) return row.fields[c.index];
  return { keys: [c.index === -1 ? row.uuid : row.version], values: null };
}

/** The monitored tables of one monitor: what `monitor*` requests parse into. */
export class MonitorSpec {
  readonly version: MonitorVersion;
  readonly tables = new Map<string, MonitorTable>();
  private cachedShape: string | null | undefined;

  constructor(version: MonitorVersion) {
    this.version = version;
  }

  /** True when no table has a condition that filters rows. */
  get unconditional(): boolean {
    for (const t of this.tables.values()) if (t.condition) return false;
    return true;
  }

  /** Identifies monitors whose updates are byte-identical for every commit. */
  get shapeKey(): string {
    if (this.cachedShape == null) {
      let s = `v${this.version}`;
      for (const [name, t] of this.tables) {
        s += `|${name}:${t.select}:${t.conditionKey}:`;
        for (const c of t.columns) s += `${c.name}/${c.select},`;
      }
      this.cachedShape = s;
    }
    return this.cachedShape;
  }

  invalidateShape(): void {
    this.cachedShape = undefined;
  }
}

function parseSelect(tableName: string, json: Json | undefined): number {
  if (json === undefined) return SELECT_ALL;
  const p = new JsonObjectParser(json, `table ${tableName} select`);
  let select = 0;
  const bit = (name: string, flag: number): void => {
    const v = p.member(name, OP_BOOLEAN | OP_OPTIONAL);
    if (v === undefined || v === true) select |= flag;
  };
  bit('initial', SELECT_INITIAL);
  bit('insert', SELECT_INSERT);
  bit('delete', SELECT_DELETE);
  bit('modify', SELECT_MODIFY);
  p.finish();
  return select;
}

/**
 * Compiles a monitor "where" (clauses OR-ed, as OVS's ovsdb_condition_empty_or_match_any)
 * into a predicate, or null when it matches every row.
 */
export function compileMonitorCondition(
  table: TableSchema,
  where: Json[],
  compileClause: ClauseCompiler,
): { predicate: RowPredicate | null; key: string } {
  if (where.length === 0) return { predicate: null, key: '' };
  const preds: RowPredicate[] = [];
  for (const clause of where) {
    if (clause === true) return { predicate: null, key: '' };
    if (clause === false) continue;
    preds.push(compileClause(table, clause));
  }
  const key = JSON.stringify(where);
  if (preds.length === 0) return { predicate: () => false, key };
  if (preds.length === 1) return { predicate: preds[0], key };
  return { predicate: (row) => preds.some((p) => p(row)), key };
}

function parseMonitorRequest(
  spec: MonitorSpec,
  mt: MonitorTable,
  request: Json,
  compileClause: ClauseCompiler,
): void {
  const ts = mt.schema;
  const p = new JsonObjectParser(request, `table ${ts.name}`);
  const where = spec.version >= 2 ? p.member('where', OP_ARRAY | OP_OPTIONAL) : undefined;
  const columns = p.member('columns', OP_ARRAY | OP_OPTIONAL);
  const selectJson = p.member('select', OP_OBJECT | OP_OPTIONAL);
  p.finish();
  const select = parseSelect(ts.name, selectJson);
  mt.select |= select;
  const add = (name: string, columnsJson: Json | undefined): void => {
    if (mt.columns.some((c) => c.name === name)) {
      throw syntaxError(columnsJson, `column ${name} mentioned more than once`);
    }
    if (name === '_uuid') mt.columns.push({ name, type: UUID_TYPE, index: -1, select });
    else if (name === '_version') mt.columns.push({ name, type: UUID_TYPE, index: -2, select });
    else {
      const col = ts.columns.get(name);
      if (!col) throw syntaxError(columnsJson, `${name} is not a valid column name`);
      mt.columns.push({ name, type: col.type, index: col.index, select });
    }
  };
  if (columns !== undefined) {
    const list = columns as Json[];
    for (const c of list) {
      if (typeof c !== 'string') throw syntaxError(columns, 'array of column names expected');
      add(c, columns);
    }
  } else {
    for (const col of ts.columnList) add(col.name, undefined);
    add('_version', undefined);
  }
  if (where !== undefined) {
    const { predicate, key } = compileMonitorCondition(ts, where as Json[], compileClause);
    mt.condition = predicate;
    mt.conditionKey = key;
  }
}

/**
 * Parses <monitor-requests> (an object: table name → one request or an array of them).
 * Throws OvsdbError with OVS's messages.
 */
export function parseMonitorRequests(
  schema: DatabaseSchema,
  requests: Json,
  version: MonitorVersion,
  compileClause: ClauseCompiler,
): MonitorSpec {
  if (!isJsonObject(requests)) throw syntaxError(requests, 'monitor-requests must be object');
  const spec = new MonitorSpec(version);
  for (const [name, value] of Object.entries(requests)) {
    const ts = schema.tables.get(name);
    if (!ts) throw syntaxError(undefined, `no table named ${name}`);
    const mt: MonitorTable = {
      schema: ts,
      columns: [],
      select: 0,
      condition: null,
      conditionKey: '',
    };
    spec.tables.set(name, mt);
    if (Array.isArray(value)) {
      for (const r of value) parseMonitorRequest(spec, mt, r, compileClause);
    } else {
      parseMonitorRequest(spec, mt, value as Json, compileClause);
    }
  }
  return spec;
}

/** Applies <monitor-cond-change-requests> to a spec; returns the old conditions per table. */
export function parseCondChange(
  spec: MonitorSpec,
  requests: Json,
  compileClause: ClauseCompiler,
): Map<string, RowPredicate | null> {
  if (!isJsonObject(requests)) {
    throw syntaxError(undefined, 'monitor-cond-change-requests must be object');
  }
  const updates: [MonitorTable, RowPredicate | null, string][] = [];
  for (const [name, value] of Object.entries(requests)) {
    const mt = spec.tables.get(name);
    if (!mt) {
      // OVS tells an unknown table from a table this monitor doesn't watch only by schema.
      throw syntaxError(undefined, `no table named ${name} in monitor session`);
    }
    if (!Array.isArray(value)) {
      throw syntaxError(undefined, `table ${name} no monitor-cond-change JSON array`);
    }
    for (const r of value) {
      const p = new JsonObjectParser(r, `table ${name}`);
      const columns = p.member('columns', OP_ARRAY | OP_OPTIONAL);
      const where = p.member('where', OP_ARRAY | OP_OPTIONAL);
      p.finish();
      if (columns !== undefined) throw syntaxError(r, 'changing columns is unsupported');
      if (where !== undefined) {
        const { predicate, key } = compileMonitorCondition(
          mt.schema,
          where as Json[],
          compileClause,
        );
        updates.push([mt, predicate, key]);
      }
    }
  }
  const old = new Map<string, RowPredicate | null>();
  for (const [mt, predicate, key] of updates) {
    if (!old.has(mt.schema.name)) old.set(mt.schema.name, mt.condition);
    mt.condition = predicate;
    mt.conditionKey = key;
  }
  spec.invalidateShape();
  return old;
}

/* ---------- composition ---------- */

function rowUpdateType(initial: boolean, old: Row | null, nu: Row | null): number {
  return initial ? SELECT_INITIAL : !old ? SELECT_INSERT : !nu ? SELECT_DELETE : SELECT_MODIFY;
}

/** Which monitored columns differ between two versions of a row (null: none). */
function changedColumns(mt: MonitorTable, old: Row, nu: Row): boolean[] | null {
  let any = false;
  const changed = new Array<boolean>(mt.columns.length);
  for (let i = 0; i < mt.columns.length; i++) {
    const c = mt.columns[i];
    const d =
      c.index >= 0
        ? !datumEquals(c.type, old.fields[c.index], nu.fields[c.index])
        : c.index === -2 && old.version !== nu.version;
    changed[i] = d;
    if (d) any = true;
  }
  return any ? changed : null;
}

/** <row-update> of RFC 7047 ("monitor"), or null when nothing is to be sent. */
function composeRowUpdate1(
  mt: MonitorTable,
  old: Row | null,
  nu: Row | null,
  initial: boolean,
): JsonObject | null {
  const type = rowUpdateType(initial, old, nu);
  if (!(mt.select & type)) return null;
  let changed: boolean[] | null = null;
  if (type === SELECT_MODIFY) {
    changed = changedColumns(mt, old as Row, nu as Row);
    if (!changed) return null;
  }
  const out: JsonObject = {};
  const oldJson: JsonObject | null = type & (SELECT_DELETE | SELECT_MODIFY) ? {} : null;
  const newJson: JsonObject | null =
    type & (SELECT_INITIAL | SELECT_INSERT | SELECT_MODIFY) ? {} : null;
  if (oldJson) out.old = oldJson;
  if (newJson) out.new = newJson;
  for (let i = 0; i < mt.columns.length; i++) {
    const c = mt.columns[i];
    if (!(type & c.select)) continue;
    if (oldJson && (type === SELECT_DELETE || changed?.[i])) {
      oldJson[c.name] = datumToJson(c.type, columnValue(c, old as Row));
    }
    if (newJson) newJson[c.name] = datumToJson(c.type, columnValue(c, nu as Row));
  }
  return out;
}

/** OVS's ovsdb_monitor_row_update_type_condition. */
function conditionalType(
  type: number,
  condOld: RowPredicate | null,
  condNew: RowPredicate | null,
  old: Row | null,
  nu: Row | null,
): number {
  const oldMatch = old ? !condOld || condOld(old) : false;
  const newMatch = nu ? !condNew || condNew(nu) : false;
  if (!oldMatch && !newMatch) return 0;
  switch (type) {
    case SELECT_INITIAL:
    case SELECT_INSERT:
      return newMatch ? type : 0;
    case SELECT_MODIFY:
      return !oldMatch ? SELECT_INSERT : !newMatch ? SELECT_DELETE : SELECT_MODIFY;
    case SELECT_DELETE:
      return oldMatch ? type : 0;
  }
  return 0;
}

/** <row-update2> ("monitor_cond"), or null when nothing is to be sent. */
function composeRowUpdate2(
  mt: MonitorTable,
  old: Row | null,
  nu: Row | null,
  initial: boolean,
  condOld: RowPredicate | null,
  condNew: RowPredicate | null,
): JsonObject | null {
  const type = conditionalType(rowUpdateType(initial, old, nu), condOld, condNew, old, nu);
  if (!(mt.select & type)) return null;
  if (type === SELECT_DELETE) return { delete: null };
  let changed: boolean[] | null = null;
  if (type === SELECT_MODIFY) {
    changed = changedColumns(mt, old as Row, nu as Row);
    if (!changed) return null;
  }
  const diff: JsonObject = {};
  for (let i = 0; i < mt.columns.length; i++) {
    const c = mt.columns[i];
    if (!(type & c.select)) continue;
    if (changed) {
      if (!changed[i]) continue;
      diff[c.name] = datumToJson(
        c.type,
        datumDiff(c.type, columnValue(c, old as Row), columnValue(c, nu as Row)),
      );
    } else {
      const d = columnValue(c, nu as Row);
      if (!isDefaultDatum(c.type, d)) diff[c.name] = datumToJson(c.type, d);
    }
  }
  const op = type === SELECT_INITIAL ? 'initial' : type === SELECT_MODIFY ? 'modify' : 'insert';
  return { [op]: diff };
}

/**
 * The update document for `changes`, or null when it would be empty. `initial` marks the
 * changes as the initial contents (every change an insertion). For condition changes pass the
 * old conditions in `oldConditions` and the same rows as old and new.
 */
export function composeUpdate(
  spec: MonitorSpec,
  changes: Changes,
  initial: boolean,
  oldConditions?: ReadonlyMap<string, RowPredicate | null>,
): JsonObject | null {
  let out: JsonObject | null = null;
  for (const [name, mt] of spec.tables) {
    const rows = changes.get(name);
    if (!rows || rows.size === 0) continue;
    let tableJson: JsonObject | null = null;
    const condOld = oldConditions?.has(name) ? (oldConditions.get(name) ?? null) : mt.condition;
    for (const [uuid, ch] of rows) {
      const rowJson =
        spec.version === 1
          ? composeRowUpdate1(mt, ch.old, ch.new, initial)
          : composeRowUpdate2(mt, ch.old, ch.new, initial, condOld, mt.condition);
      if (!rowJson) continue;
      if (!tableJson) {
        // Keyed by row UUIDs, each seen once: on a plain object every new key would add a
        // hidden class (a map transition V8 keeps and searches), several µs per row and
        // much of the garbage; an object without prototype is a hash table from the start.
        tableJson = Object.create(null) as JsonObject;
        if (!out) out = {};
        out[name] = tableJson;
      }
      tableJson[uuid] = rowJson;
    }
  }
  return out;
}

/** Every row of the monitored tables as an insertion-shaped change, for the initial reply. */
export function initialChanges(
  spec: MonitorSpec,
  rowsOf: (table: string) => Iterable<Row>,
): Changes {
  const out = new Map<string, Map<string, RowChange>>();
  for (const [name, mt] of spec.tables) {
    if (!(mt.select & SELECT_INITIAL)) continue;
    const m = new Map<string, RowChange>();
    for (const row of rowsOf(name)) m.set(row.uuid, { old: null, new: row });
    if (m.size) out.set(name, m);
  }
  return out;
}

/** The rows of the tables whose condition changed, each as an unchanged row. */
export function condChangeChanges(
  tables: Iterable<string>,
  rowsOf: (table: string) => Iterable<Row>,
): Changes {
  const out = new Map<string, Map<string, RowChange>>();
  for (const name of tables) {
    const m = new Map<string, RowChange>();
    for (const row of rowsOf(name)) m.set(row.uuid, { old: row, new: row });
    if (m.size) out.set(name, m);
  }
  return out;
}

/** Merges consecutive change sets into one (first old, last new), as OVS's change sets do. */
export function mergeChanges(list: readonly Changes[]): Changes {
  if (list.length === 1) return list[0];
  const out = new Map<string, Map<string, RowChange>>();
  for (const changes of list) {
    for (const [table, rows] of changes) {
      let m = out.get(table);
      if (!m) {
        m = new Map();
        out.set(table, m);
      }
      for (const [uuid, ch] of rows) {
        const prev = m.get(uuid);
        if (!prev) m.set(uuid, ch);
        else if (!prev.old && !ch.new) m.delete(uuid);
        else m.set(uuid, { old: prev.old, new: ch.new });
      }
    }
  }
  return out;
}

export type { OvsdbError };
