/**
 * The database commands every table supports (OVS's db-ctl-base.c): comment, get, list,
 * find, set, add, remove, clear, create, destroy, wait-until, and show.
 */

import type { Cell, Table } from '../../lib/table-format.ts';
import { atomFromString, atomToString } from '../../ovsdb/atom.ts';
import {
  compareDatums,
  datumExcludesAll,
  datumFromString,
  datumIncludesAll,
  datumSubtract,
  datumToBare,
  datumToJson,
  datumToString,
  datumUnion,
  emptyDatum,
  findKey,
  isDefaultDatum,
} from '../../ovsdb/datum.ts';
import type { Atom, ColumnSchema, Datum, OvsdbType, TableSchema } from '../../ovsdb/types.ts';
import {
  type CommandSyntax,
  type CtlContext,
  createSymbol,
  fatal,
  getColumn,
  getRow,
  getTable,
  messageOf,
  type PreContext,
  parseColumnKeyValue,
  ROW_IDS,
  tokenParse,
} from './ctl.ts';
import type { Idl, IdlRow } from './idl.ts';
import { vswitchSchema } from './schema.ts';

/** Table lookups before connecting use the schema ovs-vsctl was built with, as OVS does. */
const compiledSchema = {
  get schema() {
    return vswitchSchema();
  },
};

/** Runs a core parser, turning its exception into a fatal error with OVS's text. */
function parse<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    fatal(messageOf(e));
  }
}

/** OVS's pre_get_table: the table, plus the columns its records are named by. */
function preTable(ctx: PreContext, name: string): TableSchema {
  const table = getTable(compiledSchema, name);
  ctx.need.table(table.name);
  const id = ROW_IDS[table.name];
  if (id) {
    ctx.need.add(id.nameTable, id.nameColumn);
    if (id.uuidColumn) ctx.need.add(id.nameTable, id.uuidColumn);
  }
  return table;
}

function preColumn(ctx: PreContext, table: TableSchema, name: string): void {
  ctx.need.add(table.name, getColumn(table, name).name);
}

function checkMutable(row: IdlRow, column: ColumnSchema): void {
  if (!column.mutable && row.committed) {
    fatal(`cannot modify read-only column ${column.name} in table ${row.table.name}`);
  }
}

const UUID_TYPE: OvsdbType = { key: { type: 'uuid' }, value: null, min: 1, max: 1 };

function datumCell(type: OvsdbType, d: Datum): Cell {
  return {
    json: datumToJson(type, d),
    render: (_json, format) =>
      format === 'string' ? datumToString(type, d) : datumToBare(type, d),
  };
}

/** OVS's pre_parse_column_key_value: the column named at the start of COLUMN[:KEY]=VALUE. */
function preParseColumn(ctx: PreContext, arg: string, table: TableSchema): void {
  const [name] = tokenParse(arg, 0);
  if (name === '') fatal(`${arg}: missing column name`);
  ctx.need.add(table.name, getColumn(table, name).name);
}

/* ---------- get ---------- */

function preGet(ctx: PreContext): void {
  const id = ctx.options.get('--id');
  if (id === undefined && ctx.argv.length <= 3 && process.stdout.isTTY) {
    ctx.warn('db_ctl_base', '"get" command without row arguments or "--id" is possibly erroneous');
  }
  const table = preTable(ctx, ctx.argv[1] as string);
  for (const arg of ctx.argv.slice(3)) {
    if (arg.toLowerCase() === '_uuid' || arg.toLowerCase() === '-uuid') continue;
    preParseColumn(ctx, arg, table);
  }
}

function cmdGet(ctx: CtlContext): void {
  const id = ctx.options.get('--id') ?? null;
  const mustExist = !ctx.options.has('--if-exists');
  const recordId = ctx.argv[2] as string;
  if (id !== null && !mustExist) fatal('--if-exists and --id may not be specified together');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const row = getRow(ctx, table, recordId, mustExist);
  if (!row) return;
  if (id !== null) {
    const { isNew, sym } = createSymbol(ctx.symtab, id);
    if (!isNew) fatal(`row id "${id}" specified on "get" command was used before it was defined`);
    // The symbol was created just now, unreferenced: it can still take the row's UUID.
    (sym as { uuid: string }).uuid = row.uuid;
    sym.strongRef = true;
  }
  for (const arg of ctx.argv.slice(3)) {
    const lower = arg.toLowerCase();
    if (lower === '_uuid' || lower === '-uuid') {
      ctx.output += `${row.uuid}\n`;
      continue;
    }
    const { column, key } = parseColumnKeyValue(arg, table, null, false);
    ctx.idl.verify(row, column);
    const datum = ctx.idl.read(row, column);
    if (key !== null) {
      if (!column.type.value) fatal(`cannot specify key to get for non-map column ${column.name}`);
      const k = parse(() => atomFromString(column.type.key, key, ctx.symtab));
      const i = findKey(column.type.key.type, datum, k);
      if (i < 0) {
        if (mustExist)
          fatal(`no key "${key}" in ${table.name} record "${recordId}" column ${column.name}`);
      } else {
        ctx.output += atomToString(
          column.type.value.type,
          (datum.values as readonly Atom[])[i] as Atom,
        );
      }
    } else {
      ctx.output += datumToString(column.type, datum);
    }
    ctx.output += '\n';
  }
}

/* ---------- list / find ---------- */

function parseColumnNames(
  names: string | null | undefined,
  table: TableSchema,
): (ColumnSchema | null)[] {
  if (names === undefined || names === null) return [null, ...table.columnList];
  const out: (ColumnSchema | null)[] = [];
  for (const n of names.split(/[, ]+/)) {
    if (n === '') continue;
    out.push(n.toLowerCase() === '_uuid' ? null : getColumn(table, n));
  }
  if (out.length === 0) fatal('must specify at least one column name');
  return out;
}

function preListColumns(ctx: PreContext, table: TableSchema): void {
  for (const c of parseColumnNames(ctx.options.get('--columns'), table)) {
    if (c) ctx.need.add(table.name, c.name);
  }
}

function preList(ctx: PreContext): void {
  preListColumns(ctx, preTable(ctx, ctx.argv[1] as string));
}

function makeTable(columns: (ColumnSchema | null)[]): Table {
  return { headings: columns.map((c) => (c ? c.name : '_uuid')), rows: [] };
}

function listRecord(idl: Idl, row: IdlRow, columns: (ColumnSchema | null)[], out: Table): void {
  out.rows.push(
    columns.map((c) =>
      c
        ? datumCell(c.type, idl.read(row, c))
        : datumCell(UUID_TYPE, { keys: [row.uuid], values: null }),
    ),
  );
}

function cmdList(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const columns = parseColumnNames(ctx.options.get('--columns'), table);
  const out = makeTable(columns);
  ctx.table = out;
  if (ctx.argv.length > 2) {
    for (const rec of ctx.argv.slice(2)) {
      const row = getRow(ctx, table, rec, mustExist);
      if (row) listRecord(ctx.idl, row, columns, out);
    }
  } else {
    for (const row of ctx.idl.rows(table.name)) listRecord(ctx.idl, row, columns, out);
  }
}

function preFind(ctx: PreContext): void {
  const table = preTable(ctx, ctx.argv[1] as string);
  preListColumns(ctx, table);
  for (const arg of ctx.argv.slice(2)) preParseColumn(ctx, arg, table);
}

const RELOPS = [
  '=',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '{=}',
  '{!=}',
  '{<}',
  '{>}',
  '{<=}',
  '{>=}',
  '{in}',
  '{not-in}',
];

function evaluateRelop(a: Datum, b: Datum, type: OvsdbType, op: string): boolean {
  switch (op) {
    case '=':
    case '{=}':
      return compareDatums(type, a, b) === 0;
    case '!=':
    case '{!=}':
      return compareDatums(type, a, b) !== 0;
    case '<':
      return compareDatums(type, a, b) < 0;
    case '>':
      return compareDatums(type, a, b) > 0;
    case '<=':
      return compareDatums(type, a, b) <= 0;
    case '>=':
      return compareDatums(type, a, b) >= 0;
    case '{<}':
      return b.keys.length > a.keys.length && datumIncludesAll(type, b, a);
    case '{>}':
      return a.keys.length > b.keys.length && datumIncludesAll(type, a, b);
    case '{<=}':
    case '{in}':
      return datumIncludesAll(type, b, a);
    case '{>=}':
      return datumIncludesAll(type, a, b);
    case '{not-in}':
      return datumExcludesAll(type, b, a);
    default:
      return false;
  }
}

/** OVS's check_condition: COLUMN[:KEY] OP VALUE against one row. */
function checkCondition(ctx: CtlContext, table: TableSchema, row: IdlRow, arg: string): boolean {
  const { column, key, operator, value } = parseColumnKeyValue(arg, table, RELOPS, true);
  if (value === null) fatal(`${arg}: missing value`);
  const op = RELOPS[operator] as string;
  const have = ctx.idl.read(row, column);
  const type: OvsdbType = { ...column.type, max: Number.POSITIVE_INFINITY };
  if (key !== null) {
    if (!column.type.value) fatal(`cannot specify key to check for non-map column ${column.name}`);
    const want = parse(() => atomFromString(column.type.key, key, ctx.symtab));
    const vtype: OvsdbType = {
      key: column.type.value,
      value: null,
      min: column.type.min,
      max: Number.POSITIVE_INFINITY,
    };
    const b = parse(() => datumFromString(vtype, value, ctx.symtab));
    const i = findKey(column.type.key.type, have, want);
    const isSetOp = op.startsWith('{');
    if (i < 0 && !isSetOp) return false;
    const a: Datum =
      i >= 0
        ? { keys: [(have.values as readonly Atom[])[i] as Atom], values: null }
        : { keys: [], values: null };
    return evaluateRelop(a, b, vtype, op);
  }
  const want = parse(() => datumFromString(column.type, value, ctx.symtab));
  return evaluateRelop(have, want, type, op);
}

function cmdFind(ctx: CtlContext): void {
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const columns = parseColumnNames(ctx.options.get('--columns'), table);
  const out = makeTable(columns);
  ctx.table = out;
  for (const row of ctx.idl.rows(table.name)) {
    let ok = true;
    for (const arg of ctx.argv.slice(2)) {
      if (!checkCondition(ctx, table, row, arg)) {
        ok = false;
        break;
      }
    }
    if (ok) listRecord(ctx.idl, row, columns, out);
  }
}

/* ---------- set / add / remove / clear ---------- */

function preSetLike(ctx: PreContext): void {
  const table = preTable(ctx, ctx.argv[1] as string);
  for (const arg of ctx.argv.slice(3)) preParseColumn(ctx, arg, table);
}

/** OVS's set_column: COLUMN[:KEY]=VALUE into `row`. */
export function setColumn(ctx: CtlContext, table: TableSchema, row: IdlRow, arg: string): void {
  const { column, key, value } = parseColumnKeyValue(arg, table, null, true);
  if (value === null) fatal(`${arg}: missing value`);
  checkMutable(row, column);
  if (key !== null) {
    const vt = column.type.value;
    if (!vt) fatal(`cannot specify key to set for non-map column ${column.name}`);
    const k = parse(() => atomFromString(column.type.key, key, ctx.symtab));
    const v = parse(() => atomFromString(vt, value, ctx.symtab));
    const pair: Datum = { keys: [k], values: [v] };
    const merged = datumUnion(column.type, pair, ctx.idl.read(row, column));
    ctx.idl.verify(row, column);
    ctx.idl.write(row, column, merged);
  } else {
    const d = parse(() => datumFromString(column.type, value, ctx.symtab));
    ctx.idl.write(row, column, d);
  }
}

function cmdSet(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const row = getRow(ctx, table, ctx.argv[2] as string, mustExist);
  if (!row) return;
  for (const arg of ctx.argv.slice(3)) setColumn(ctx, table, row, arg);
  ctx.invalidateCache();
}

function preAddRemove(ctx: PreContext): void {
  const table = preTable(ctx, ctx.argv[1] as string);
  preColumn(ctx, table, ctx.argv[3] as string);
}

function rowAndColumn(ctx: CtlContext): {
  table: TableSchema;
  column: ColumnSchema;
  row: IdlRow | null;
} {
  const mustExist = !ctx.options.has('--if-exists');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const column = getColumn(table, ctx.argv[3] as string);
  const row = getRow(ctx, table, ctx.argv[2] as string, mustExist);
  if (row) checkMutable(row, column);
  return { table, column, row };
}

function cmdAdd(ctx: CtlContext): void {
  const { table, column, row } = rowAndColumn(ctx);
  if (!row) return;
  const type = column.type;
  const addType: OvsdbType = { ...type, min: 1, max: Number.POSITIVE_INFINITY };
  let datum = ctx.idl.read(row, column);
  for (const arg of ctx.argv.slice(4)) {
    const add = parse(() => datumFromString(addType, arg, ctx.symtab));
    // As the last command OVS sends the additions as a partial update ("mutate"), whose map
    // insertions replace the value of a key that is already there.
    datum =
      ctx.lastCommand && type.value ? datumUnion(type, add, datum) : datumUnion(type, datum, add);
  }
  if (!ctx.lastCommand && datum.keys.length > type.max) {
    fatal(
      `"add" operation would put ${datum.keys.length} ${type.value ? 'pairs' : 'values'} in column ${column.name} of table ${table.name} but the maximum number is ${type.max}`,
    );
  }
  ctx.idl.verify(row, column);
  ctx.idl.write(row, column, datum);
  ctx.invalidateCache();
}

function cmdRemove(ctx: CtlContext): void {
  const { table, column, row } = rowAndColumn(ctx);
  if (!row) return;
  const type = column.type;
  let datum = ctx.idl.read(row, column);
  for (const arg of ctx.argv.slice(4)) {
    let rmType: OvsdbType = { ...type, min: 1, max: Number.POSITIVE_INFINITY };
    let rm: Datum;
    try {
      rm = datumFromString(rmType, arg, ctx.symtab);
    } catch (e) {
      if (!type.value) fatal(messageOf(e));
      rmType = { ...rmType, value: null };
      const t = rmType;
      rm = parse(() => datumFromString(t, arg, ctx.symtab));
    }
    datum = datumSubtract(type, datum, rmType, rm);
  }
  if (datum.keys.length < type.min) {
    fatal(
      `"remove" operation would put ${datum.keys.length} ${type.value ? 'pairs' : 'values'} in column ${column.name} of table ${table.name} but the minimum number is ${type.min}`,
    );
  }
  ctx.idl.verify(row, column);
  ctx.idl.write(row, column, datum);
  ctx.invalidateCache();
}

function preClear(ctx: PreContext): void {
  const table = preTable(ctx, ctx.argv[1] as string);
  for (const arg of ctx.argv.slice(3)) preColumn(ctx, table, arg);
}

function cmdClear(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const row = getRow(ctx, table, ctx.argv[2] as string, mustExist);
  if (!row) return;
  for (const arg of ctx.argv.slice(3)) {
    const column = getColumn(table, arg);
    checkMutable(row, column);
    if (column.type.min > 0) {
      fatal(
        `"clear" operation cannot be applied to column ${column.name} of table ${table.name}, which is not allowed to be empty`,
      );
    }
    ctx.idl.write(row, column, emptyDatum(column.type));
  }
  ctx.invalidateCache();
}

/* ---------- create / destroy ---------- */

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function preCreate(ctx: PreContext): void {
  const table = getTable(compiledSchema, ctx.argv[1] as string);
  if (!ctx.options.has('--id') && !table.isRoot) {
    ctx.warn(
      'db_ctl_base',
      `applying "create" command to table ${table.name} without --id option will have no effect`,
    );
  }
}

function cmdCreate(ctx: CtlContext): void {
  const id = ctx.options.get('--id') ?? null;
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  let row: IdlRow;
  if (id !== null && UUID_RE.test(id)) {
    row = ctx.idl.insert(table.name, id.toLowerCase(), true);
  } else if (id !== null) {
    const { sym } = createSymbol(ctx.symtab, id);
    if (table.isRoot) sym.strongRef = true;
    row = ctx.idl.insert(table.name, sym.uuid);
  } else {
    row = ctx.idl.insert(table.name);
  }
  for (const arg of ctx.argv.slice(2)) setColumn(ctx, table, row, arg);
  ctx.output += row.uuid;
}

function postCreate(ctx: CtlContext): void {
  const real = ctx.idl.insertedUuids.get(ctx.output);
  if (real) ctx.output = real;
  ctx.output += '\n';
}

function preDestroy(ctx: PreContext): void {
  preTable(ctx, ctx.argv[1] as string);
}

function cmdDestroy(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const all = ctx.options.has('--all');
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  if (all && ctx.argv.length > 2)
    fatal('--all and records argument should not be specified together');
  if (all && !mustExist) fatal('--all and --if-exists should not be specified together');
  if (!all && ctx.argv.length === 2) {
    ctx.warn('db_ctl_base', 'either --all or records argument should be specified');
    return;
  }
  if (all) {
    for (const row of [...ctx.idl.rows(table.name)]) ctx.idl.delete(row);
  } else {
    for (const rec of ctx.argv.slice(2)) {
      const row = getRow(ctx, table, rec, mustExist);
      if (row) ctx.idl.delete(row);
    }
  }
  ctx.invalidateCache();
}

/* ---------- wait-until ---------- */

function cmdWaitUntil(ctx: CtlContext): void {
  const table = getTable(ctx.idl, ctx.argv[1] as string);
  const row = getRow(ctx, table, ctx.argv[2] as string, false);
  if (!row) {
    ctx.tryAgain = true;
    return;
  }
  for (const arg of ctx.argv.slice(3)) {
    if (!checkCondition(ctx, table, row, arg)) {
      ctx.tryAgain = true;
      return;
    }
  }
}

/* ---------- show ---------- */

interface ShowTable {
  table: string;
  nameColumn: string | null;
  columns: string[];
}

const SHOW_TABLES: readonly ShowTable[] = [
  {
    table: 'Open_vSwitch',
    nameColumn: null,
    columns: ['manager_options', 'bridges', 'ovs_version'],
  },
  {
    table: 'Bridge',
    nameColumn: 'name',
    columns: ['controller', 'fail_mode', 'datapath_type', 'ports'],
  },
  { table: 'Port', nameColumn: 'name', columns: ['tag', 'trunks', 'interfaces'] },
  { table: 'Interface', nameColumn: 'name', columns: ['type', 'options', 'error', 'bfd_status'] },
  { table: 'Controller', nameColumn: 'target', columns: ['is_connected'] },
  { table: 'Manager', nameColumn: 'target', columns: ['is_connected'] },
];

function showTableFor(name: string): ShowTable | undefined {
  return SHOW_TABLES.find((s) => s.table === name);
}

function showRow(ctx: CtlContext, row: IdlRow, level: number, shown: Set<string>): void {
  const idl = ctx.idl;
  const show = showTableFor(row.table.name);
  let out = ' '.repeat(level * 4);
  if (show?.nameColumn) {
    const col = row.table.columns.get(show.nameColumn) as ColumnSchema;
    out += `${show.table} ${datumToString(col.type, idl.read(row, col))}`;
  } else {
    out += row.uuid;
  }
  ctx.output += `${out}\n`;
  if (!show || shown.has(show.table)) return;
  shown.add(show.table);
  for (const cname of show.columns) {
    const column = row.table.columns.get(cname);
    if (!column) continue;
    const datum = idl.read(row, column);
    const type = column.type;
    if (type.key.type === 'uuid' && type.key.refTable) {
      const ref = showTableFor(type.key.refTable);
      if (ref) {
        for (const u of datum.keys) {
          const r = idl.get(ref.table, u as string);
          if (r) showRow(ctx, r, level + 1, shown);
        }
        continue;
      }
    } else if (type.value && type.value.type === 'uuid' && type.value.refTable) {
      const ref = showTableFor(type.value.refTable);
      if (ref?.nameColumn) {
        ctx.output += `${' '.repeat((level + 1) * 4)}${column.name}:\n`;
        const refName = ref.nameColumn;
        for (let i = 0; i < datum.keys.length; i++) {
          const r = idl.get(ref.table, (datum.values as readonly Atom[])[i] as string);
          let line = `${' '.repeat((level + 2) * 4)}${atomToString(type.key.type, datum.keys[i] as Atom)}=`;
          if (r) {
            const nc = r.table.columns.get(refName) as ColumnSchema;
            line += datumToString(nc.type, idl.read(r, nc));
          } else {
            line += '"<null>"';
          }
          ctx.output += `${line}\n`;
        }
        continue;
      }
    }
    if (!isDefaultDatum(type, datum)) {
      ctx.output += `${' '.repeat((level + 1) * 4)}${column.name}: ${datumToString(type, datum)}\n`;
    }
  }
  shown.delete(show.table);
}

function preShow(ctx: PreContext): void {
  for (const show of SHOW_TABLES) {
    ctx.need.table(show.table);
    if (show.nameColumn) ctx.need.add(show.table, show.nameColumn);
    ctx.need.add(show.table, ...show.columns);
  }
}

function cmdShow(ctx: CtlContext): void {
  const shown = new Set<string>();
  for (const row of ctx.idl.rows('Open_vSwitch')) showRow(ctx, row, 0, shown);
}

export const DB_COMMANDS: readonly CommandSyntax[] = [
  {
    name: 'comment',
    minArgs: 0,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: '[ARG]...',
    options: '',
    mode: 'RO',
  },
  {
    name: 'get',
    minArgs: 2,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD [COLUMN[:KEY]]...',
    prerequisites: preGet,
    run: cmdGet,
    options: '--if-exists,--id=',
    mode: 'RO',
  },
  {
    name: 'list',
    minArgs: 1,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE [RECORD]...',
    prerequisites: preList,
    run: cmdList,
    options: '--if-exists,--columns=',
    mode: 'RO',
  },
  {
    name: 'find',
    minArgs: 1,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE [COLUMN[:KEY]=VALUE]...',
    prerequisites: preFind,
    run: cmdFind,
    options: '--columns=',
    mode: 'RO',
  },
  {
    name: 'set',
    minArgs: 3,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD COLUMN[:KEY]=VALUE...',
    prerequisites: preSetLike,
    run: cmdSet,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'add',
    minArgs: 4,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD COLUMN [KEY=]VALUE...',
    prerequisites: preAddRemove,
    run: cmdAdd,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'remove',
    minArgs: 4,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...',
    prerequisites: preAddRemove,
    run: cmdRemove,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'clear',
    minArgs: 3,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD COLUMN...',
    prerequisites: preClear,
    run: cmdClear,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'create',
    minArgs: 2,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE COLUMN[:KEY]=VALUE...',
    prerequisites: preCreate,
    run: cmdCreate,
    postprocess: postCreate,
    options: '--id=',
    mode: 'RW',
  },
  {
    name: 'destroy',
    minArgs: 1,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE [RECORD]...',
    prerequisites: preDestroy,
    run: cmdDestroy,
    options: '--if-exists,--all',
    mode: 'RW',
  },
  {
    name: 'wait-until',
    minArgs: 2,
    maxArgs: Number.MAX_SAFE_INTEGER,
    arguments: 'TABLE RECORD [COLUMN[:KEY]=VALUE]...',
    prerequisites: preSetLike,
    run: cmdWaitUntil,
    options: '',
    mode: 'RO',
  },
  {
    name: 'show',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    prerequisites: preShow,
    run: cmdShow,
    options: '',
    mode: 'RO',
  },
];
