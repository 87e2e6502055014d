/**
 * Database schemas (RFC 7047 §3.2): parsing with OVS's validation and messages, and
 * serialisation back to the JSON OVS writes (ovsdb-tool, get_schema, the log's first record).
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { INT64_MAX, INT64_MIN } from './atom.ts';
import { datumFromJson, datumToJson, enumType } from './datum.ts';
import {
  compareStrings,
  isId,
  JsonObjectParser,
  jsonToOvsString,
  OP_ANY,
  OP_ARRAY,
  OP_BOOLEAN,
  OP_FALSE,
  OP_ID,
  OP_INTEGER,
  OP_NUMBER,
  OP_OBJECT,
  OP_OPTIONAL,
  OP_STRING,
  OP_TRUE,
  OvsdbError,
  syntaxError,
} from './error.ts';
import type {
  AtomicType,
  BaseType,
  ColumnSchema,
  DatabaseSchema,
  OvsdbType,
  TableSchema,
} from './types.ts';

/** What the shared TableSchema lacks but a round trip needs. */
export interface TableSchemaFull extends TableSchema {
  /** The table-level "mutable" member (OVS keeps it; nothing enforces it). */
  readonly mutable: boolean;
}

const UINT_MAX = 4294967295;
const ATOMIC_TYPES: readonly string[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

/* ---------- types ---------- */

function atomicTypeFromJson(json: Json): AtomicType {
  if (typeof json !== 'string') throw syntaxError(json, 'atomic-type expected');
  if (!ATOMIC_TYPES.includes(json)) throw syntaxError(json, `"${json}" is not an atomic-type`);
  return json as AtomicType;
}

function optionalUint(p: JsonObjectParser, name: string): number | undefined {
  const v = p.member(name, OP_INTEGER | OP_OPTIONAL);
  if (v === undefined) return undefined;
  if ((v as number) < 0 || (v as number) > UINT_MAX) {
    p.put(syntaxError(v, `${name} out of valid range 0 to ${UINT_MAX}`));
    return undefined;
  }
  return v as number;
}

/** RFC 7047 <base-type>. */
export function baseTypeFromJson(json: Json): BaseType {
  if (typeof json === 'string') return { type: atomicTypeFromJson(json) };
  const p = new JsonObjectParser(json, 'ovsdb type');
  const typeJson = p.member('type', OP_STRING);
  if (p.error) throw p.error;
  const type = atomicTypeFromJson(typeJson as Json);
  const base: { -readonly [K in keyof BaseType]: BaseType[K] } = { type };
  const enumJson = p.member('enum', OP_ANY | OP_OPTIONAL);
  if (enumJson !== undefined) {
    try {
      base.enum = datumFromJson(enumType(type), enumJson).keys;
    } catch (e) {
      if (!(e instanceof OvsdbError)) throw e;
      p.put(e);
    }
  } else if (type === 'integer') {
    const min = p.member('minInteger', OP_INTEGER | OP_OPTIONAL) as number | undefined;
    const max = p.member('maxInteger', OP_INTEGER | OP_OPTIONAL) as number | undefined;
    if (min !== undefined && min > INT64_MIN) base.minInteger = min;
    if (max !== undefined && max < INT64_MAX) base.maxInteger = max;
    if ((min ?? INT64_MIN) > (max ?? INT64_MAX))
      p.put(syntaxError(json, 'minInteger exceeds maxInteger'));
  } else if (type === 'real') {
    const min = p.member('minReal', OP_NUMBER | OP_OPTIONAL) as number | undefined;
    const max = p.member('maxReal', OP_NUMBER | OP_OPTIONAL) as number | undefined;
    if (min !== undefined && min > -Number.MAX_VALUE) base.minReal = min;
    if (max !== undefined && max < Number.MAX_VALUE) base.maxReal = max;
    if ((min ?? -Number.MAX_VALUE) > (max ?? Number.MAX_VALUE)) {
      p.put(syntaxError(json, 'minReal exceeds maxReal'));
    }
  } else if (type === 'string') {
    const min = optionalUint(p, 'minLength');
    const max = optionalUint(p, 'maxLength');
    if (min !== undefined && min > 0) base.minLength = min;
    if (max !== undefined && max < UINT_MAX) base.maxLength = max;
    if ((min ?? 0) > (max ?? UINT_MAX)) p.put(syntaxError(json, 'minLength exceeds maxLength'));
  } else if (type === 'uuid') {
    const refTable = p.member('refTable', OP_ID | OP_OPTIONAL);
    if (refTable !== undefined) {
      base.refTable = refTable as string;
      const refType = p.member('refType', OP_ID | OP_OPTIONAL);
      if (refType === undefined || refType === 'strong') base.refType = 'strong';
      else if (refType === 'weak') base.refType = 'weak';
      else p.put(syntaxError(json, `refType must be "strong" or "weak" (not "${refType}")`));
    }
  }
  p.finish();
  return base;
}

function nFromJson(json: Json | undefined, dflt: number): number {
  if (json === undefined) return dflt;
  if (typeof json === 'number' && Number.isInteger(json) && json >= 0 && json < UINT_MAX)
    return json;
  throw syntaxError(json, 'bad min or max value');
}

/** RFC 7047 <type>. */
export function typeFromJson(json: Json): OvsdbType {
  if (typeof json === 'string') return { key: baseTypeFromJson(json), value: null, min: 1, max: 1 };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw syntaxError(json, 'ovsdb type expected');
  }
  const p = new JsonObjectParser(json, 'ovsdb type');
  const keyJson = p.member('key', OP_STRING | OP_OBJECT);
  const valueJson = p.member('value', OP_STRING | OP_OBJECT | OP_OPTIONAL);
  const minJson = p.member('min', OP_INTEGER | OP_OPTIONAL);
  const maxJson = p.member('max', OP_INTEGER | OP_STRING | OP_OPTIONAL);
  p.finish();
  const key = baseTypeFromJson(keyJson as Json);
  const value = valueJson !== undefined ? baseTypeFromJson(valueJson) : null;
  const min = nFromJson(minJson, 1);
  const max = maxJson === 'unlimited' ? Number.POSITIVE_INFINITY : nFromJson(maxJson, 1);
  if (min > 1 || max < 1) throw syntaxError(json, 'ovsdb type fails constraint checks');
  return { key, value, min, max };
}

function hasConstraints(b: BaseType): boolean {
  return (
    b.enum !== undefined ||
    b.minInteger !== undefined ||
    b.maxInteger !== undefined ||
    b.minReal !== undefined ||
    b.maxReal !== undefined ||
    b.minLength !== undefined ||
    b.maxLength !== undefined ||
    b.refTable !== undefined
  );
}

export function baseTypeToJson(b: BaseType): Json {
  if (!hasConstraints(b)) return b.type;
  const out: JsonObject = { type: b.type };
  if (b.enum) out.enum = datumToJson(enumType(b.type), { keys: b.enum, values: null });
  if (b.minInteger !== undefined) out.minInteger = b.minInteger;
  if (b.maxInteger !== undefined) out.maxInteger = b.maxInteger;
  if (b.minReal !== undefined) out.minReal = b.minReal;
  if (b.maxReal !== undefined) out.maxReal = b.maxReal;
  if (b.minLength !== undefined) out.minLength = b.minLength;
  if (b.maxLength !== undefined) out.maxLength = b.maxLength;
  if (b.refTable !== undefined) {
    out.refTable = b.refTable;
    if (b.refType === 'weak') out.refType = 'weak';
  }
  return out;
}

export function typeToJson(t: OvsdbType): Json {
  if (t.min === 1 && t.max === 1 && t.value === null && !hasConstraints(t.key)) return t.key.type;
  const out: JsonObject = { key: baseTypeToJson(t.key) };
  if (t.value) out.value = baseTypeToJson(t.value);
  if (t.min !== 1) out.min = t.min;
  if (t.max === Number.POSITIVE_INFINITY) out.max = 'unlimited';
  else if (t.max !== 1) out.max = t.max;
  return out;
}

/* ---------- columns, tables, databases ---------- */

type MutableColumn = { -readonly [K in keyof ColumnSchema]: ColumnSchema[K] };

function columnFromJson(json: Json, name: string, index: number): MutableColumn {
  const p = new JsonObjectParser(json, `schema for column ${name}`);
  const mutableJson = p.member('mutable', OP_TRUE | OP_FALSE | OP_OPTIONAL);
  const ephemeralJson = p.member('ephemeral', OP_TRUE | OP_FALSE | OP_OPTIONAL);
  const typeJson = p.member('type', OP_STRING | OP_OBJECT);
  p.finish();
  const type = typeFromJson(typeJson as Json);
  let mutable = mutableJson !== false;
  // A weak reference must be able to change when its target goes away.
  if (!mutable && (type.key.refType === 'weak' || type.value?.refType === 'weak')) mutable = true;
  return { name, index, type, ephemeral: ephemeralJson === true, mutable };
}

function tableFromJson(json: Json, name: string): TableSchemaFull & { isRoot: boolean } {
  const p = new JsonObjectParser(json, `table schema for table ${name}`);
  const columnsJson = p.member('columns', OP_OBJECT) as JsonObject | undefined;
  const mutableJson = p.member('mutable', OP_TRUE | OP_FALSE | OP_OPTIONAL);
  const maxRowsJson = p.member('maxRows', OP_INTEGER | OP_OPTIONAL) as number | undefined;
  const isRootJson = p.member('isRoot', OP_BOOLEAN | OP_OPTIONAL);
  const indexesJson = p.member('indexes', OP_ARRAY | OP_OPTIONAL) as Json[] | undefined;
  p.finish();
  const cols = columnsJson as JsonObject;
  let maxRows = Number.POSITIVE_INFINITY;
  if (maxRowsJson !== undefined) {
    if (maxRowsJson <= 0) throw syntaxError(json, 'maxRows must be at least 1');
    if (maxRowsJson < UINT_MAX) maxRows = maxRowsJson;
  }
  const names = Object.keys(cols);
  if (names.length === 0) throw syntaxError(json, 'table must have at least one column');
  const columns = new Map<string, MutableColumn>();
  const columnList: MutableColumn[] = [];
  for (const cname of names) {
    if (cname[0] === '_') throw syntaxError(json, 'names beginning with "_" are reserved');
    if (!isId(cname)) throw syntaxError(json, 'name must be a valid id');
    const col = columnFromJson(cols[cname] as Json, cname, columnList.length);
    columns.set(cname, col);
    columnList.push(col);
  }
  const indexes: string[][] = [];
  for (const ij of indexesJson ?? []) {
    const index = columnSetFromJson(ij, columns, false);
    if (index.length === 0) throw syntaxError(json, 'index must have at least one column');
    for (const c of index) {
      if (columns.get(c)?.ephemeral) {
        throw syntaxError(json, `ephemeral columns (such as ${c}) may not be indexed`);
      }
    }
    indexes.push(index);
  }
  return {
    name,
    columns,
    columnList,
    isRoot: isRootJson === true,
    maxRows,
    indexes,
    mutable: mutableJson !== false,
  };
}

/**
 * OVS's ovsdb_column_set_from_json: an array of distinct column names. With `implicit`,
 * `_uuid` and `_version` are accepted too (select's "columns", monitors).
 */
export function columnSetFromJson(
  json: Json,
  columns: ReadonlyMap<string, ColumnSchema>,
  implicit = true,
): string[] {
  const generic = () => syntaxError(json, 'array of distinct column names expected');
  if (!Array.isArray(json)) throw generic();
  const out: string[] = [];
  for (const el of json) {
    if (typeof el !== 'string') throw generic();
    if (!columns.has(el) && !(implicit && (el === '_uuid' || el === '_version'))) {
      throw syntaxError(json, `${el} is not a valid column name`);
    }
    if (out.includes(el)) throw generic();
    out.push(el);
  }
  return out;
}

const VERSION_RE = /^(\d+)\.(\d+)\.(\d+)$/;

export function isValidVersion(s: string): boolean {
  const m = VERSION_RE.exec(s);
  return !!m?.slice(1).every((x) => Number(x) <= UINT_MAX);
}

/** Compares two x.y.z versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** RFC 7047 <database-schema>, validated as OVS does; throws OvsdbError("syntax error"). */
export function parseDatabaseSchema(json: Json): DatabaseSchema {
  const p = new JsonObjectParser(json, 'database schema');
  const name = p.member('name', OP_ID) as string;
  const versionJson = p.member('version', OP_STRING | OP_OPTIONAL) as string | undefined;
  const cksum = p.member('cksum', OP_STRING | OP_OPTIONAL) as string | undefined;
  const tablesJson = p.member('tables', OP_OBJECT) as JsonObject;
  p.finish();
  if (versionJson !== undefined && !isValidVersion(versionJson)) {
    throw syntaxError(json, `schema version "${versionJson}" not in format x.y.z`);
  }
  const tables = new Map<string, TableSchemaFull & { isRoot: boolean }>();
  for (const tname of Object.keys(tablesJson)) {
    if (tname[0] === '_') throw syntaxError(json, 'names beginning with "_" are reserved');
    if (!isId(tname)) throw syntaxError(json, 'name must be a valid id');
    tables.set(tname, tableFromJson(tablesJson[tname] as Json, tname));
  }
  // Schemas older than "isRoot" had no garbage collection: with no root table, all are roots.
  if (![...tables.values()].some((t) => t.isRoot)) for (const t of tables.values()) t.isRoot = true;
  for (const t of tables.values()) {
    for (const col of t.columnList as MutableColumn[]) {
      for (const [base, which] of [
        [col.type.key, 'key'],
        [col.type.value, 'value'],
      ] as const) {
        if (base?.type !== 'uuid' || !base.refTable) continue;
        const ref = tables.get(base.refTable);
        if (!ref) {
          throw new OvsdbError(
            'syntax error',
            `column ${col.name} ${which} refers to undefined table ${base.refTable}`,
          );
        }
        // Replaying the log must not garbage-collect a row only an ephemeral column kept.
        if (base.refType !== 'weak' && !ref.isRoot) col.ephemeral = false;
      }
    }
  }
  const schema: DatabaseSchema = { name, version: versionJson ?? '', tables };
  if (cksum !== undefined) (schema as { cksum?: string }).cksum = cksum;
  return schema;
}

export function tableSchemaToJson(t: TableSchema, defaultIsRoot: boolean): JsonObject {
  const out: JsonObject = {};
  if ((t as Partial<TableSchemaFull>).mutable === false) out.mutable = false;
  if (t.isRoot !== defaultIsRoot) out.isRoot = t.isRoot;
  const columns: JsonObject = {};
  for (const c of t.columnList) {
    const cj: JsonObject = {};
    if (!c.mutable) cj.mutable = false;
    if (c.ephemeral) cj.ephemeral = true;
    cj.type = typeToJson(c.type);
    columns[c.name] = cj;
  }
  out.columns = columns;
  if (t.maxRows !== Number.POSITIVE_INFINITY) out.maxRows = t.maxRows;
  if (t.indexes.length) out.indexes = t.indexes.map((i) => [...i]);
  return out;
}

/** The schema as OVS's ovsdb_schema_to_json writes it; parseDatabaseSchema reads it back. */
export function schemaToJson(schema: DatabaseSchema): JsonObject {
  const out: JsonObject = { name: schema.name };
  if (schema.version) out.version = schema.version;
  if (schema.cksum) out.cksum = schema.cksum;
  let nRoot = 0;
  for (const t of schema.tables.values()) if (t.isRoot) nRoot++;
  const defaultIsRoot = nRoot === schema.tables.size;
  const tables: JsonObject = {};
  for (const t of schema.tables.values()) tables[t.name] = tableSchemaToJson(t, defaultIsRoot);
  out.tables = tables;
  return out;
}

/** The "cksum" member as written in the schema ('' when absent), as ovsdb-tool prints it. */
export function schemaCksum(schema: DatabaseSchema): string {
  return schema.cksum ?? '';
}

/** OVS's ovsdb_schema_equal: equal JSON forms (member order ignored). */
export function schemaEquals(a: DatabaseSchema, b: DatabaseSchema): boolean {
  return jsonToOvsString(schemaToJson(a), true) === jsonToOvsString(schemaToJson(b), true);
}

export function getTable(schema: DatabaseSchema, name: string): TableSchema | undefined {
  return schema.tables.get(name);
}

const UUID_TYPE: OvsdbType = Object.freeze({
  key: { type: 'uuid' as const },
  value: null,
  min: 1,
  max: 1,
});

/** The type of a column, including the implicit `_uuid` and `_version`. */
export function columnType(table: TableSchema, name: string): OvsdbType | undefined {
  if (name === '_uuid' || name === '_version') return UUID_TYPE;
  return table.columns.get(name)?.type;
}

export const IMPLICIT_UUID_TYPE = UUID_TYPE;

/** Table names in a stable order (byte order), for output that lists tables. */
export function sortedTableNames(schema: DatabaseSchema): string[] {
  return [...schema.tables.keys()].sort(compareStrings);
}

/** Reads a schema from file text; errors name the file as ovsdb-tool does. */
export function parseDatabaseSchemaText(text: string, fileName: string): DatabaseSchema {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    throw new OvsdbError(
      'failed to read schema',
      `"${fileName}" could not be read as JSON (${(e as Error).message})`,
    );
  }
  try {
    return parseDatabaseSchema(json);
  } catch (e) {
    if (e instanceof OvsdbError) throw e.wrap(`failed to parse "${fileName}" as ovsdb schema`);
    throw e;
  }
}
