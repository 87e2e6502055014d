/**
 * The Open_vSwitch schema as ovs-vsctl sees it. Real ovs-vsctl has its schema compiled in, so
 * table and column names are resolved (and their errors reported) before it connects; we load
 * the schema file shipped with the package once, at start-up, for the same behaviour.
 *
 * Only what ovs-vsctl needs is parsed (types, constraints, mutability, isRoot, maxRows); the
 * full RFC 7047 §3.2 validation lives in src/ovsdb/schema.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, JsonObject } from '../../lib/json.ts';
import { defaultSchemaPath, pkgroot } from '../../lib/paths.ts';
import { compareAtoms } from '../../ovsdb/atom.ts';
import type {
  Atom,
  AtomicType,
  BaseType,
  ColumnSchema,
  DatabaseSchema,
  OvsdbType,
  TableSchema,
} from '../../ovsdb/types.ts';

function parseBase(json: Json): BaseType {
  if (typeof json === 'string') return { type: json as AtomicType };
  const o = json as JsonObject;
  const type = o.type as AtomicType;
  const base: {
    -readonly [K in keyof BaseType]: BaseType[K];
  } = { type };
  if (o.enum !== undefined) {
    const e = o.enum;
    const atoms = (Array.isArray(e) && e[0] === 'set' ? (e[1] as Json[]) : [e]) as Atom[];
    base.enum = [...atoms].sort((a, b) => compareAtoms(type, a, b));
  }
  if (typeof o.minInteger === 'number') base.minInteger = o.minInteger;
  if (typeof o.maxInteger === 'number') base.maxInteger = o.maxInteger;
  if (typeof o.minReal === 'number') base.minReal = o.minReal;
  if (typeof o.maxReal === 'number') base.maxReal = o.maxReal;
  if (typeof o.minLength === 'number') base.minLength = o.minLength;
  if (typeof o.maxLength === 'number') base.maxLength = o.maxLength;
  if (typeof o.refTable === 'string') {
    base.refTable = o.refTable;
    base.refType = o.refType === 'weak' ? 'weak' : 'strong';
  }
  return base;
}

export function parseType(json: Json): OvsdbType {
  if (typeof json === 'string')
    return { key: { type: json as AtomicType }, value: null, min: 1, max: 1 };
  const o = json as JsonObject;
  const max =
    o.max === 'unlimited' ? Number.POSITIVE_INFINITY : typeof o.max === 'number' ? o.max : 1;
  return {
    key: parseBase(o.key as Json),
    value: o.value !== undefined ? parseBase(o.value) : null,
    min: typeof o.min === 'number' ? o.min : 1,
    max,
  };
}

export function parseSchema(json: JsonObject): DatabaseSchema {
  const tables = new Map<string, TableSchema>();
  const tjson = json.tables as JsonObject;
  for (const name of Object.keys(tjson).sort()) {
    const t = tjson[name] as JsonObject;
    const cjson = t.columns as JsonObject;
    const columns = new Map<string, ColumnSchema>();
    const columnList: ColumnSchema[] = [];
    for (const cname of Object.keys(cjson).sort()) {
      const c = cjson[cname] as JsonObject;
      const col: ColumnSchema = {
        name: cname,
        index: columnList.length,
        type: parseType(c.type as Json),
        ephemeral: c.ephemeral === true,
        mutable: c.mutable !== false,
      };
      columns.set(cname, col);
      columnList.push(col);
    }
    tables.set(name, {
      name,
      columns,
      columnList,
      isRoot: t.isRoot === true,
      maxRows: typeof t.maxRows === 'number' ? t.maxRows : Number.POSITIVE_INFINITY,
      indexes: (t.indexes as string[][] | undefined) ?? [],
    });
  }
  return {
    name: json.name as string,
    version: json.version as string,
    tables,
    ...(typeof json.cksum === 'string' ? { cksum: json.cksum } : {}),
  };
}

let cached: DatabaseSchema | undefined;

/**
 * The vswitch schema ovs-vsctl was built for: the package's own copy, whatever OVS_PKGDATADIR
 * says (real ovs-vsctl has it compiled in; OVS's tests point OVS_PKGDATADIR at a sandbox that
 * holds no schema). A bundle copied out of the package falls back to OVS_PKGDATADIR.
 */
export function vswitchSchema(): DatabaseSchema {
  if (!cached) {
    const own = join(pkgroot(), 'schema', 'vswitch.ovsschema');
    const path = existsSync(own) ? own : defaultSchemaPath();
    cached = parseSchema(JSON.parse(readFileSync(path, 'utf8')) as JsonObject);
  }
  return cached;
}
