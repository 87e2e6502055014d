/**
 * The generic part of ovs-vsctl (OVS's lib/db-ctl-base.c): the context a command runs in,
 * fatal errors, and how tables, columns and records are named on the command line.
 */

import type { Table } from '../../lib/table-format.ts';
import { isUuid, type SymbolTable } from '../../ovsdb/atom.ts';
import { parseToken } from '../../ovsdb/datum.ts';
import type { ColumnSchema, TableSchema } from '../../ovsdb/types.ts';
import type { Idl, IdlRow } from './idl.ts';

/** A fatal error: printed as "ovs-vsctl: MESSAGE", exit status 1, nothing committed. */
export class VsctlError extends Error {
  override readonly name = 'VsctlError';
}

/** A deliberate exit with a status (br-exists exits 2), nothing committed. */
export class VsctlExit extends Error {
  override readonly name = 'VsctlExit';
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

export function fatal(message: string): never {
  throw new VsctlError(message);
}

export type CommandOptions = Map<string, string | null>;

/** One parsed command between "--" separators. */
export interface ParsedCommand {
  syntax: CommandSyntax;
  /** argv[0] is the command name. */
  argv: string[];
  options: CommandOptions;
  output: string;
  table: Table | null;
}

export interface CtlContext {
  argv: string[];
  options: CommandOptions;
  output: string;
  table: Table | null;
  idl: Idl;
  symtab: SymbolTable;
  lastCommand: boolean;
  tryAgain: boolean;
  /** Warnings to log (OVS logs them with VLOG_WARN on the console). */
  warn: (module: string, message: string) => void;
  invalidateCache: () => void;
  /** The Open_vSwitch row (inserted by the transaction when the table was empty). */
  ovs: IdlRow;
  /** ovs-vsctl's bridge/port/interface cache (vsctl-cache.ts). */
  cache: unknown;
  verifiedPorts: boolean;
  /** Interfaces this transaction creates, checked once ovs-vswitchd has applied it. */
  newIfaces: string[];
}

export interface CommandSyntax {
  name: string;
  minArgs: number;
  maxArgs: number;
  arguments: string;
  /** Runs before connecting; may only validate (table and column names). */
  prerequisites?: (ctx: PreContext) => void;
  run?: (ctx: CtlContext) => void;
  postprocess?: (ctx: CtlContext) => void;
  /** "--may-exist,--id=" etc., as OVS writes them. */
  options: string;
  mode: 'RO' | 'RW';
}

export interface PreContext {
  argv: string[];
  options: CommandOptions;
  warn: (module: string, message: string) => void;
  need: Needs;
}

/**
 * What the commands will read, gathered before connecting (OVS's prerequisites:
 * ovsdb_idl_add_table / ovsdb_idl_add_column). Only these tables and columns are fetched;
 * as in OVS, rows of other tables are invisible and other columns read as their defaults,
 * which is part of ovs-vsctl's behaviour (e.g. del-br leaves Flow_Sample_Collector_Set rows).
 */
export class Needs {
  readonly tables = new Map<string, Set<string>>();
  table(name: string): Set<string> {
    let cols = this.tables.get(name);
    if (!cols) {
      cols = new Set();
      this.tables.set(name, cols);
    }
    return cols;
  }
  add(table: string, ...columns: string[]): void {
    const cols = this.table(table);
    for (const c of columns) cols.add(c);
  }
}

/* ---------- names ---------- */

function lowerUnderscore(c: string): string {
  return c === '-' ? '_' : c.toLowerCase();
}

/** OVS's score_partial_match: exact > case/dash-insensitive full > prefix length. */
export function scorePartialMatch(name: string, s: string): number {
  if (name === s) return Number.MAX_SAFE_INTEGER;
  let i = 0;
  for (; ; i++) {
    const a = i < name.length ? lowerUnderscore(name[i] as string) : '';
    const b = i < s.length ? lowerUnderscore(s[i] as string) : '';
    if (a !== b) break;
    if (a === '') return Number.MAX_SAFE_INTEGER - 1;
  }
  return i === s.length ? i : 0;
}

function bestMatch<T>(items: Iterable<T>, nameOf: (t: T) => string, s: string): T[] {
  let best: T[] = [];
  let bestScore = 0;
  for (const it of items) {
    const score = scorePartialMatch(nameOf(it), s);
    if (score && score >= bestScore) {
      if (score > bestScore) best = [];
      best.push(it);
      bestScore = score;
    }
  }
  return best;
}

function sortedNames(names: string[]): string {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(', ');
}

export function getTable(
  idl: { schema: { tables: ReadonlyMap<string, TableSchema> } },
  name: string,
): TableSchema {
  const m = bestMatch(idl.schema.tables.values(), (t) => t.name, name);
  if (m.length === 0) fatal(`unknown table "${name}"`);
  if (m.length > 1)
    fatal(`"${name}" matches multiple table names: ${sortedNames(m.map((t) => t.name))}`);
  return m[0] as TableSchema;
}

export function getColumn(table: TableSchema, name: string): ColumnSchema {
  const m = bestMatch(table.columnList, (c) => c.name, name);
  if (m.length === 0) fatal(`${table.name} does not contain a column whose name matches "${name}"`);
  if (m.length > 1) {
    fatal(
      `${table.name} contains more than one column whose name matches "${name}": ${sortedNames(m.map((c) => c.name))}`,
    );
  }
  return m[0] as ColumnSchema;
}

/** Thrown string-syntax errors from the core carry OVS's message text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function tokenParse(s: string, start: number): [string, number] {
  try {
    return parseToken(s, start);
  } catch (e) {
    fatal(messageOf(e));
  }
}

export interface ColumnKeyValue {
  column: ColumnSchema;
  key: string | null;
  operator: number;
  value: string | null;
}

/** OVS's parse_column_key_value: COLUMN[:KEY][OP VALUE]. */
export function parseColumnKeyValue(
  arg: string,
  table: TableSchema,
  operators: readonly string[] | null,
  wantValue: boolean,
): ColumnKeyValue {
  let [name, p] = tokenParse(arg, 0);
  if (name === '') fatal(`${arg}: missing column name`);
  const column = getColumn(table, name);
  let key: string | null = null;
  if (arg[p] === ':') {
    [key, p] = tokenParse(arg, p + 1);
  }
  if (!wantValue) {
    if (p < arg.length) fatal(`${arg}: trailing garbage "${arg.slice(p)}" in argument`);
    return { column, key, operator: -1, value: null };
  }
  const ops = operators ?? ['='];
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as string;
    if (op.length > bestLen && arg.startsWith(op, p) && p + op.length < arg.length) {
      best = i;
      bestLen = op.length;
    }
  }
  if (best < 0) fatal(missingOperatorError(arg, ops));
  return { column, key, operator: best, value: arg.slice(p + bestLen) };
}

function missingOperatorError(arg: string, ops: readonly string[]): string {
  let s = `${arg}: argument does not end in "${ops[0]}"`;
  if (ops.length === 2) s += ` or "${ops[1]}"`;
  else if (ops.length > 2) {
    for (let i = 1; i < ops.length - 1; i++) s += `, "${ops[i]}"`;
    s += `, or "${ops[ops.length - 1]}"`;
  }
  return `${s} followed by a value.`;
}

/** Only validates the column name part of COLUMN[:KEY]=VALUE (pre_parse_column_key_value). */
export function preParseColumn(arg: string, table: TableSchema): void {
  const [name] = tokenParse(arg, 0);
  if (name === '') fatal(`${arg}: missing column name`);
  getColumn(table, name);
}

/* ---------- records ---------- */

interface RowId {
  /** Table and column holding the name. */
  nameTable: string;
  nameColumn: string;
  /** Column of nameTable that points to the row wanted (e.g. Bridge.sflow). */
  uuidColumn?: string;
}

/** How each table's records may be named (ovs-vsctl's ctl_table_class table). */
export const ROW_IDS: Readonly<Record<string, RowId>> = {
  Bridge: { nameTable: 'Bridge', nameColumn: 'name' },
  Controller: { nameTable: 'Bridge', nameColumn: 'name', uuidColumn: 'controller' },
  Interface: { nameTable: 'Interface', nameColumn: 'name' },
  Mirror: { nameTable: 'Mirror', nameColumn: 'name' },
  Manager: { nameTable: 'Manager', nameColumn: 'target' },
  NetFlow: { nameTable: 'Bridge', nameColumn: 'name', uuidColumn: 'netflow' },
  Port: { nameTable: 'Port', nameColumn: 'name' },
  QoS: { nameTable: 'Port', nameColumn: 'name', uuidColumn: 'qos' },
  sFlow: { nameTable: 'Bridge', nameColumn: 'name', uuidColumn: 'sflow' },
  Flow_Table: { nameTable: 'Flow_Table', nameColumn: 'name' },
  IPFIX: { nameTable: 'Bridge', nameColumn: 'name', uuidColumn: 'ipfix' },
  AutoAttach: { nameTable: 'Bridge', nameColumn: 'name', uuidColumn: 'auto_attach' },
  Flow_Sample_Collector_Set: { nameTable: 'Flow_Sample_Collector_Set', nameColumn: 'id' },
};

function getRowById(
  ctx: CtlContext,
  table: TableSchema,
  id: RowId,
  recordId: string,
): IdlRow | null {
  const idl = ctx.idl;
  const nameTable = idl.table(id.nameTable);
  const nameCol = nameTable.columns.get(id.nameColumn) as ColumnSchema;
  const isInt = nameCol.type.key.type === 'integer';
  if (isInt && !/^[0-9]+$/.test(recordId)) return null;
  let referrer: IdlRow | null = null;
  for (const row of idl.rows(id.nameTable)) {
    const d = idl.read(row, nameCol);
    if (d.keys.length !== 1) continue;
    const name = d.keys[0];
    let match: boolean;
    if (isInt) {
      match = name === Number(recordId);
    } else {
      const s = name as string;
      match = s === recordId || (recordId.length >= 4 && isUuid(s) && s.startsWith(recordId));
    }
    if (match) {
      if (referrer) fatal(`multiple rows in ${nameTable.name} match "${recordId}"`);
      referrer = row;
    }
  }
  if (!referrer) return null;
  if (!id.uuidColumn) return referrer;
  const ucol = nameTable.columns.get(id.uuidColumn) as ColumnSchema;
  idl.verify(referrer, ucol);
  const u = idl.read(referrer, ucol);
  if (u.keys.length !== 1) return null;
  return idl.get(table.name, u.keys[0] as string) ?? null;
}

function partialUuidLength(s: string): number {
  const tmpl = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
  if (s.length > tmpl.length) return 0;
  for (let i = 0; i < s.length; i++) {
    const ok = tmpl[i] === 'x' ? /[0-9a-fA-F]/.test(s[i] as string) : s[i] === '-';
    if (!ok) return 0;
  }
  return s.length;
}

/** OVS's ctl_get_row. */
export function getRow(
  ctx: CtlContext,
  table: TableSchema,
  recordId: string,
  mustExist: boolean,
): IdlRow | null {
  const idl = ctx.idl;
  let row: IdlRow | null = null;
  if (isUuid(recordId)) row = idl.get(table.name, recordId.toLowerCase()) ?? null;
  if (!row && recordId === '.') {
    let n = 0;
    for (const r of idl.rows(table.name)) {
      if (n++ === 0) row = r;
      else {
        row = null;
        break;
      }
    }
  }
  if (!row) {
    const id = ROW_IDS[table.name];
    if (id) row = getRowById(ctx, table, id, recordId);
  }
  if (!row && partialUuidLength(recordId) >= 4) {
    for (const r of idl.rows(table.name)) {
      if (r.uuid.startsWith(recordId)) {
        if (!row) row = r;
        else {
          fatal(
            `${table.name} contains 2 or more rows whose UUIDs begin with ${recordId}: at least ${row.uuid} and ${r.uuid}`,
          );
        }
      }
    }
  }
  if (mustExist && !row) fatal(`no row "${recordId}" in table ${table.name}`);
  return row;
}

/** OVS's create_symbol (for --id=@name). */
export function createSymbol(
  symtab: SymbolTable,
  id: string,
): { uuid: string; isNew: boolean; sym: ReturnType<SymbolTable['insert']> } {
  if (id[0] !== '@') fatal(`row id "${id}" does not begin with "@"`);
  const isNew = symtab.get(id) === undefined;
  const sym = symtab.insert(id);
  if (sym.created) fatal(`row id "${id}" may only be specified on one --id option`);
  sym.created = true;
  return { uuid: sym.uuid, isNew, sym };
}
