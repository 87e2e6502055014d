/**
 * The replica's data and the pure functions that apply monitor updates to it (RFC 7047
 * `update`, OVS's `update2`/`update3`). No I/O: idl.ts feeds it what the server sends.
 */
import type { Json, JsonObject } from '../../lib/json.ts';
import { isJsonObject } from '../../lib/json.ts';
import { datumApplyDiff, datumEquals, datumFromJson } from '../datum.ts';
import type { DatabaseSchema, Datum, OvsdbType, TableSchema } from '../types.ts';
import type { TableUpdates } from './connection.ts';
import { defaultFields, IdlRow } from './row.ts';

/** One row change as observed by the replica. */
export type RowEvent =
  | { kind: 'insert'; table: string; row: IdlRow }
  | { kind: 'modify'; table: string; row: IdlRow; old: IdlRow; columns: string[] }
  | { kind: 'delete'; table: string; old: IdlRow };

export type ReplicaTables = Map<string, Map<string, IdlRow>>;

export function emptyReplica(schema: DatabaseSchema, tables: Iterable<string>): ReplicaTables {
  const r: ReplicaTables = new Map();
  for (const t of tables) if (schema.tables.has(t)) r.set(t, new Map());
  return r;
}

/** A diff may hold any number of elements: parse it with the size limits lifted. */
function diffType(type: OvsdbType): OvsdbType {
  return { key: type.key, value: type.value, min: 0, max: Number.POSITIVE_INFINITY };
}

/** Applies column values (full values, or update2 diffs when `diff`) to `fields`; returns changed column names. */
function applyColumns(
  table: TableSchema,
  fields: Datum[],
  values: JsonObject,
  diff: boolean,
): string[] {
  const changed: string[] = [];
  for (const name in values) {
    const col = table.columns.get(name);
    if (!col) continue; // _uuid, _version, or a column newer than our schema
    const json = values[name] as Json;
    let next: Datum;
    try {
      if (diff) {
        next = datumApplyDiff(
          col.type,
          fields[col.index] as Datum,
          datumFromJson(diffType(col.type), json),
        );
      } else {
        next = datumFromJson(col.type, json);
      }
    } catch {
      // OVS logs and skips a column it cannot parse; so do we, keeping the old value.
      continue;
    }
    if (!datumEquals(col.type, fields[col.index] as Datum, next)) {
      fields[col.index] = next;
      changed.push(name);
    }
  }
  return changed;
}

/**
 * Applies one table-updates (version 1) or table-updates2 (version 2 and 3) object to the
 * replica in place and returns the row events, in the order rows appear.
 */
export function applyTableUpdates(
  schema: DatabaseSchema,
  replica: ReplicaTables,
  updates: TableUpdates,
  version: 1 | 2 | 3,
): RowEvent[] {
  const events: RowEvent[] = [];
  for (const tname in updates) {
    const table = schema.tables.get(tname);
    const rows = replica.get(tname);
    const tu = updates[tname];
    if (!table || !rows || !isJsonObject(tu)) continue;
    for (const uuid in tu) {
      const ru = tu[uuid];
      if (!isJsonObject(ru)) continue;
      const ev =
        version === 1
          ? applyRowUpdate1(table, rows, uuid, ru)
          : applyRowUpdate2(table, rows, uuid, ru);
      if (ev) events.push(ev);
    }
  }
  return events;
}

function insertRow(
  table: TableSchema,
  rows: Map<string, IdlRow>,
  uuid: string,
  values: JsonObject,
): RowEvent {
  const existing = rows.get(uuid);
  const fields = defaultFields(table);
  applyColumns(table, fields, values, false);
  const row = new IdlRow(table, uuid, fields);
  rows.set(uuid, row);
  if (existing) {
    // An insert for a row we have means we missed its deletion (e.g. across a reconnect).
    const columns = table.columnList
      .filter(
        (c) => !datumEquals(c.type, existing.fields[c.index] as Datum, fields[c.index] as Datum),
      )
      .map((c) => c.name);
    return { kind: 'modify', table: table.name, row, old: existing, columns };
  }
  return { kind: 'insert', table: table.name, row };
}

function modifyRow(
  table: TableSchema,
  rows: Map<string, IdlRow>,
  uuid: string,
  values: JsonObject,
  diff: boolean,
): RowEvent | null {
  const old = rows.get(uuid);
  if (!old) return null; // OVS warns "modify for nonexistent row" and ignores it
  const fields = [...old.fields];
  const columns = applyColumns(table, fields, values, diff);
  if (columns.length === 0) return null;
  const row = new IdlRow(table, uuid, fields);
  rows.set(uuid, row);
  return { kind: 'modify', table: table.name, row, old, columns };
}

function deleteRow(table: TableSchema, rows: Map<string, IdlRow>, uuid: string): RowEvent | null {
  const old = rows.get(uuid);
  if (!old) return null;
  rows.delete(uuid);
  return { kind: 'delete', table: table.name, old };
}

/** RFC 7047 <row-update>: {old?, new?}; "new" carries every monitored column. */
function applyRowUpdate1(
  table: TableSchema,
  rows: Map<string, IdlRow>,
  uuid: string,
  ru: JsonObject,
): RowEvent | null {
  const nw = ru.new;
  if (!isJsonObject(nw)) return deleteRow(table, rows, uuid);
  if (!rows.has(uuid)) return insertRow(table, rows, uuid, nw);
  return modifyRow(table, rows, uuid, nw, false);
}

/** OVS's <row-update2>: exactly one of initial, insert, delete, modify. */
function applyRowUpdate2(
  table: TableSchema,
  rows: Map<string, IdlRow>,
  uuid: string,
  ru: JsonObject,
): RowEvent | null {
  if (isJsonObject(ru.initial)) return insertRow(table, rows, uuid, ru.initial);
  if (isJsonObject(ru.insert)) return insertRow(table, rows, uuid, ru.insert);
  if ('delete' in ru) return deleteRow(table, rows, uuid);
  if (isJsonObject(ru.modify)) return modifyRow(table, rows, uuid, ru.modify, true);
  return null;
}

/**
 * Replaces the replica's contents by a full snapshot (the reply to a fresh monitor after a
 * reconnect) and returns the differences as events, so watchers see only what really changed.
 */
export function replaceWithSnapshot(
  schema: DatabaseSchema,
  replica: ReplicaTables,
  snapshot: TableUpdates,
  version: 1 | 2 | 3,
): RowEvent[] {
  const fresh: ReplicaTables = new Map();
  for (const t of replica.keys()) fresh.set(t, new Map());
  applyTableUpdates(schema, fresh, snapshot, version);
  const events: RowEvent[] = [];
  for (const [tname, rows] of replica) {
    const table = schema.tables.get(tname) as TableSchema;
    const next = fresh.get(tname) as Map<string, IdlRow>;
    for (const [uuid, old] of rows) {
      const row = next.get(uuid);
      if (!row) {
        events.push({ kind: 'delete', table: tname, old });
        continue;
      }
      const columns = table.columnList
        .filter(
          (c) => !datumEquals(c.type, old.fields[c.index] as Datum, row.fields[c.index] as Datum),
        )
        .map((c) => c.name);
      if (columns.length) events.push({ kind: 'modify', table: tname, row, old, columns });
      else next.set(uuid, old); // keep identity of unchanged rows
    }
    for (const [uuid, row] of next)
      if (!rows.has(uuid)) events.push({ kind: 'insert', table: tname, row });
    replica.set(tname, next);
  }
  return events;
}
