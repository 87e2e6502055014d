/**
 * The transaction records of a standalone database file (OVS's ovsdb/file.c). After the
 * schema record, every record is one committed transaction:
 *
 *     {"<table>": {"<row uuid>": <row> | null, ...}, ...,
 *      "_date": <ms since the epoch>, "_comment": "<text>", "_is_diff": true}
 *
 * - `null` deletes the row; a row object for a UUID not yet in the table inserts it (absent
 *   columns take their defaults); for an existing row it modifies the columns it names.
 * - With `"_is_diff": true` (OVS 2.15 and later) a modified set or map column carries the
 *   difference to apply: every key in it that the old value lacks is added, a key present
 *   with another value takes the new value, a key present with the same value is removed.
 *   Scalars (at most one element) carry the new value. If the old value is the column's
 *   default, the value simply replaces it.
 * - Without it (older files, and what `ovsdb-tool compact` writes) modified columns carry
 *   their whole new value.
 * - Only persistent columns are written: ephemeral ones never reach the disk, and a
 *   transaction that changed nothing else writes no record at all.
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';
import { isUuid } from './atom.ts';
import {
  datumApplyDiff,
  datumDiff,
  datumEquals,
  datumFromJson,
  datumToJson,
  defaultDatum,
  isCompositeType,
} from './datum.ts';
import { formatNumber, jsonStringToOvs, OvsdbError, syntaxError } from './error.ts';
import { ovsColumnOrder, shashOrder } from './ovs-hash-order.ts';
import type {
  Atom,
  AtomicType,
  Changes,
  ColumnSchema,
  DatabaseSchema,
  Datum,
  OvsdbType,
  Row,
  RowChange,
  TableSchema,
} from './types.ts';

export interface RecordAnnotations {
  /** `_date`: milliseconds since the epoch (OVS writes time_wall_msec()). */
  readonly date: number;
  readonly comment?: string;
}

/**
 * Whether the columns a record may carry for `column`: ephemeral columns are never written.
 * (The schema parser already made ephemeral strong references to non-root tables persistent,
 * as OVS does, so a log replay cannot lose rows only they kept alive.)
 */
function isPersistent(column: ColumnSchema): boolean {
  return !column.ephemeral;
}

/** Each column type's default value, computed once. */
const defaults = new WeakMap<OvsdbType, Datum>();
function isDefault(type: OvsdbType, d: Datum): boolean {
  let def = defaults.get(type);
  if (!def) {
    def = defaultDatum(type);
    defaults.set(type, def);
  }
  return d.keys.length === def.keys.length && datumEquals(type, d, def);
}

/**
 * A table's columns in the order OVS visits them when it writes a row (its schema's column
 * shash), so that records come out with members in OVS's order. Ephemeral ones are left out.
 */
const columnOrders = new WeakMap<TableSchema, ColumnSchema[]>();
export function persistentColumnsInOvsOrder(table: TableSchema): ColumnSchema[] {
  let cols = columnOrders.get(table);
  if (!cols) {
    cols = ovsColumnOrder(table.columnList.map((c) => c.name))
      .map((n) => table.columns.get(n) as ColumnSchema)
      .filter(isPersistent);
    columnOrders.set(table, cols);
  }
  return cols;
}

/** `entries` as an object whose members are in the order OVS prints them. */
function ovsObject(entries: [string, Json][]): JsonObject {
  if (entries.length === 1) {
    const [k, v] = entries[0] as [string, Json];
    return { [k]: v };
  }
  const byName = new Map(entries);
  const out: JsonObject = {};
  for (const k of shashOrder(entries.map((e) => e[0]))) out[k] = byName.get(k) as Json;
  return out;
}

function rowJsonForInsert(table: TableSchema, row: Row): JsonObject {
  const out: [string, Json][] = [];
  for (const c of persistentColumnsInOvsOrder(table)) {
    const d = row.fields[c.index] as Datum;
    if (!isDefault(c.type, d)) out.push([c.name, datumToJson(c.type, d)]);
  }
  return ovsObject(out);
}

interface ModifiedColumn {
  readonly column: ColumnSchema;
  readonly newer: Datum;
  readonly diff: Datum;
}

/**
 * The persistent columns a modification changed, with their diffs. `fits` turns false when
 * a set or map diff has more (or fewer) elements than its column allows: OVS 3.1 parses a
 * diff with the column's own type, so such a diff (e.g. replacing all four elements of a
 * max-4 set gives an eight-element one) would make the file unreadable to it, and the
 * commit is written whole instead (a record without "_is_diff").
 */
function modifiedColumns(
  table: TableSchema,
  old: Row,
  nu: Row,
  fit: { fits: boolean },
): ModifiedColumn[] {
  const out: ModifiedColumn[] = [];
  for (const c of persistentColumnsInOvsOrder(table)) {
    const od = old.fields[c.index] as Datum;
    const nd = nu.fields[c.index] as Datum;
    if (od === nd || datumEquals(c.type, od, nd)) continue;
    const diff = datumDiff(c.type, od, nd);
    if (
      fit.fits &&
      isCompositeType(c.type) &&
      !isDefault(c.type, od) &&
      (diff.keys.length < c.type.min || diff.keys.length > c.type.max)
    ) {
      fit.fits = false;
    }
    out.push({ column: c, newer: nd, diff });
  }
  return out;
}

/**
 * The record for one commit, as OVS writes it (diff form unless a diff would not fit its
 * column), or null when the commit changed nothing persistent (then nothing is written).
 */
export function changesToRecord(
  schema: DatabaseSchema,
  changes: Changes,
  ann: RecordAnnotations,
): JsonObject | null {
  // First the changed columns of every modified row (which decides the format), then JSON.
  const fit = { fits: true };
  const tables: [TableSchema, [string, RowChange, ModifiedColumn[] | null][]][] = [];
  for (const [tname, rows] of changes) {
    const table = schema.tables.get(tname);
    if (!table) continue;
    const list: [string, RowChange, ModifiedColumn[] | null][] = [];
    for (const [uuid, ch] of rows) {
      if (ch.old && ch.new) {
        const cols = modifiedColumns(table, ch.old, ch.new, fit);
        if (cols.length) list.push([uuid, ch, cols]);
      } else {
        list.push([uuid, ch, null]);
      }
    }
    if (list.length) tables.push([table, list]);
  }
  if (!tables.length) return null;
  const diff = fit.fits;
  const out: [string, Json][] = [];
  for (const [table, list] of tables) {
    const tableJson: [string, Json][] = [];
    for (const [uuid, ch, cols] of list) {
      let rowJson: Json;
      if (!ch.new) rowJson = null;
      else if (!cols) rowJson = rowJsonForInsert(table, ch.new);
      else {
        rowJson = ovsObject(
          cols.map((m) => [m.column.name, datumToJson(m.column.type, diff ? m.diff : m.newer)]),
        );
      }
      tableJson.push([uuid, rowJson]);
    }
    out.push([table.name, ovsObject(tableJson)]);
  }
  return annotate(out, ann, diff);
}

/** Adds `_comment`, `_is_diff` and `_date` as ovsdb_file_txn_annotate() does. */
function annotate(out: [string, Json][], ann: RecordAnnotations, diff: boolean): JsonObject {
  if (ann.comment !== undefined) out.push(['_comment', ann.comment]);
  if (diff) out.push(['_is_diff', true]);
  out.push(['_date', ann.date]);
  return ovsObject(out);
}

/* ---------- the same records, serialised directly ---------- */

/*
 * Appending a commit is on every transaction's path, so the log text is written straight
 * from the rows rather than through a JSON tree re-ordered into OVS's member order and then
 * serialised: same bytes as jsonToOvsString(changesToRecord(...)), a fraction of the work.
 * Table, column and annotation names are <id>s and row names are UUIDs, so as member names
 * they never need escaping.
 */

function atomText(type: AtomicType, a: Atom): string {
  switch (typeof a) {
    case 'string':
      return type === 'uuid' ? `["uuid","${a}"]` : jsonStringToOvs(a);
    case 'number':
      return formatNumber(a);
    default:
      return a ? 'true' : 'false';
  }
}

/** datumToJson's JSON, as text. */
export function datumText(type: OvsdbType, d: Datum): string {
  const kt = type.key.type;
  const keys = d.keys;
  const n = keys.length;
  if (type.value) {
    if (n === 0) return '["map",[]]';
    const vt = type.value.type;
    const vals = d.values as readonly Atom[];
    let s = '["map",[';
    for (let i = 0; i < n; i++) {
      if (i) s += ',';
      s += `[${atomText(kt, keys[i] as Atom)},${atomText(vt, vals[i] as Atom)}]`;
    }
    return `${s}]]`;
  }
  if (n === 1) return atomText(kt, keys[0] as Atom);
  let s = '["set",[';
  for (let i = 0; i < n; i++) {
    if (i) s += ',';
    s += atomText(kt, keys[i] as Atom);
  }
  return `${s}]]`;
}

/**
 * The shash order of a few names that recur from record to record (the columns a row
 * carries, a commit's tables and annotations): computed once per distinct list.
 */
const orderCache = new Map<string, readonly string[]>();
function recurringOrder(names: readonly string[]): readonly string[] {
  const key = names.join(',');
  let order = orderCache.get(key);
  if (order === undefined) {
    order = shashOrder(names);
    if (orderCache.size >= 1024) orderCache.clear();
    orderCache.set(key, order);
  }
  return order;
}

/** An object's text from member names and value texts, members in OVS's order. */
function objectText(names: string[], texts: string[], recurring: boolean): string {
  const n = names.length;
  if (n === 1) return `{"${names[0]}":${texts[0]}}`;
  if (n === 0) return '{}';
  const order = recurring ? recurringOrder(names) : shashOrder(names);
  let s = '{';
  if (n <= 16) {
    for (let i = 0; i < n; i++) {
      const name = order[i] as string;
      if (i) s += ',';
      s += `"${name}":${texts[names.indexOf(name)]}`;
    }
  } else {
    const byName = new Map<string, string>();
    for (let i = 0; i < n; i++) byName.set(names[i] as string, texts[i] as string);
    for (let i = 0; i < n; i++) {
      const name = order[i] as string;
      if (i) s += ',';
      s += `"${name}":${byName.get(name)}`;
    }
  }
  return `${s}}`;
}

function rowTextForInsert(table: TableSchema, row: Row): string {
  const names: string[] = [];
  const texts: string[] = [];
  for (const c of persistentColumnsInOvsOrder(table)) {
    const d = row.fields[c.index] as Datum;
    if (!isDefault(c.type, d)) {
      names.push(c.name);
      texts.push(datumText(c.type, d));
    }
  }
  return objectText(names, texts, true);
}

function annotatedText(
  names: string[],
  texts: string[],
  ann: RecordAnnotations,
  diff: boolean,
): string {
  if (ann.comment !== undefined) {
    names.push('_comment');
    texts.push(jsonStringToOvs(ann.comment));
  }
  if (diff) {
    names.push('_is_diff');
    texts.push('true');
  }
  names.push('_date');
  texts.push(formatNumber(ann.date));
  return objectText(names, texts, true);
}

/**
 * jsonToOvsString(changesToRecord(schema, changes, ann)), built directly; null when the
 * commit changed nothing persistent.
 */
export function changesToRecordText(
  schema: DatabaseSchema,
  changes: Changes,
  ann: RecordAnnotations,
): string | null {
  const fit = { fits: true };
  const tables: [TableSchema, [string, RowChange, ModifiedColumn[] | null][]][] = [];
  for (const [tname, rows] of changes) {
    const table = schema.tables.get(tname);
    if (!table) continue;
    const list: [string, RowChange, ModifiedColumn[] | null][] = [];
    for (const [uuid, ch] of rows) {
      if (ch.old && ch.new) {
        const cols = modifiedColumns(table, ch.old, ch.new, fit);
        if (cols.length) list.push([uuid, ch, cols]);
      } else {
        list.push([uuid, ch, null]);
      }
    }
    if (list.length) tables.push([table, list]);
  }
  if (!tables.length) return null;
  const diff = fit.fits;
  const tableNames: string[] = [];
  const tableTexts: string[] = [];
  for (const [table, list] of tables) {
    const uuids: string[] = [];
    const rowTexts: string[] = [];
    for (const [uuid, ch, cols] of list) {
      let text: string;
      if (!ch.new) text = 'null';
      else if (!cols) text = rowTextForInsert(table, ch.new);
      else {
        const names: string[] = [];
        const texts: string[] = [];
        for (const m of cols) {
          names.push(m.column.name);
          texts.push(datumText(m.column.type, diff ? m.diff : m.newer));
        }
        text = objectText(names, texts, true);
      }
      uuids.push(uuid);
      rowTexts.push(text);
    }
    tableNames.push(table.name);
    tableTexts.push(objectText(uuids, rowTexts, false));
  }
  return annotatedText(tableNames, tableTexts, ann, diff);
}

/**
 * The record holding a whole database (compaction, ovsdb-tool compact/convert): every row as
 * an insert. `isDiff` adds `"_is_diff": true` as ovsdb-server's online compaction does
 * (ovsdb-tool's does not); for inserts it changes nothing.
 */
export function snapshotRecord(
  schema: DatabaseSchema,
  rowsOf: (table: string) => Iterable<Row>,
  ann: RecordAnnotations,
  isDiff = false,
): JsonObject {
  const out: [string, Json][] = [];
  for (const table of schema.tables.values()) {
    const tableJson: [string, Json][] = [];
    for (const row of rowsOf(table.name)) tableJson.push([row.uuid, rowJsonForInsert(table, row)]);
    if (tableJson.length) out.push([table.name, ovsObject(tableJson)]);
  }
  return annotate(out, ann, isDiff);
}

export interface ReplayOptions {
  /**
   * Ignore tables and columns the schema lacks (reading a file under a new schema, as
   * `ovsdb-tool convert` does); otherwise they are errors.
   */
  readonly converting?: boolean;
  /** Version UUIDs for the rows the record touches. */
  readonly newUuid: () => string;
}

/** A diff may legitimately hold more (or fewer) elements than the column itself allows. */
function relaxed(type: OvsdbType): OvsdbType {
  return { key: type.key, value: type.value, min: 0, max: Number.POSITIVE_INFINITY };
}

function applyRowJson(
  table: TableSchema,
  fields: Datum[],
  json: Json,
  isDiff: boolean,
  converting: boolean,
): void {
  if (!isJsonObject(json)) throw syntaxError(json, 'row must be JSON object');
  for (const name of Object.keys(json)) {
    const column = table.columns.get(name);
    if (!column) {
      if (converting) continue;
      throw new OvsdbError('unknown column', `No column ${name} in table ${table.name}.`, {
        syntax: json,
      });
    }
    const value = json[name] as Json;
    const old = fields[column.index] as Datum;
    if (isDiff && isCompositeType(column.type) && !isDefault(column.type, old)) {
      const diff = datumFromJson(relaxed(column.type), value);
      fields[column.index] = datumApplyDiff(column.type, old, diff);
    } else {
      fields[column.index] = datumFromJson(column.type, value);
    }
  }
}

/**
 * The changes one transaction record makes to the rows `lookup` finds (the database state
 * before it). Throws OvsdbError (syntax error, unknown table, unknown column, constraint
 * errors from the values) as OVS's ovsdb_file_txn_from_json does.
 */
export function recordToChanges(
  schema: DatabaseSchema,
  record: JsonObject,
  lookup: (table: string, uuid: string) => Row | undefined,
  opts: ReplayOptions,
): Changes {
  const isDiff = record._is_diff === true;
  const converting = opts.converting ?? false;
  const changes = new Map<string, Map<string, RowChange>>();
  for (const tname of Object.keys(record)) {
    const tableJson = record[tname] as Json;
    const table = schema.tables.get(tname);
    if (!table) {
      if (tname === '_date' && typeof tableJson === 'number' && Number.isInteger(tableJson)) {
        continue;
      }
      if (tname === '_is_diff' && typeof tableJson === 'boolean') continue;
      if (tname === '_comment' || converting) continue;
      throw new OvsdbError('unknown table', `No table named ${tname}.`, { syntax: record });
    }
    if (!isJsonObject(tableJson)) throw syntaxError(tableJson, 'object expected');
    const rows = new Map<string, RowChange>();
    for (const uuid of Object.keys(tableJson)) {
      if (!isUuid(uuid)) throw syntaxError(tableJson, `"${uuid}" is not a valid UUID`);
      const rowJson = tableJson[uuid] as Json;
      const key = uuid.toLowerCase();
      const old = lookup(tname, key) ?? null;
      if (rowJson === null) {
        if (!old) {
          throw new OvsdbError(
            'syntax error',
            `transaction deletes row ${key} that does not exist`,
          );
        }
        rows.set(key, { old, new: null });
        continue;
      }
      const fields: Datum[] = old
        ? [...old.fields]
        : table.columnList.map((c) => defaultDatum(c.type));
      applyRowJson(table, fields, rowJson, isDiff, converting);
      rows.set(key, { old, new: { uuid: key, version: opts.newUuid(), fields } });
    }
    if (rows.size) changes.set(tname, rows);
  }
  return changes;
}
