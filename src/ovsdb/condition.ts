/**
 * Conditions (RFC 7047 §5.1 <condition>) and OVS's boolean `true`/`false` clauses used by
 * monitor_cond. A condition compiles once into clauses; evaluating a row allocates nothing.
 */
import type { Json } from '../lib/json.ts';
import type { SymbolTable } from './atom.ts';
import { compareAtoms } from './atom.ts';
import {
  compareDatums,
  datumEquals,
  datumExcludesAll,
  datumFromJson,
  datumIncludesAll,
  isOptionalScalarType,
  isScalarType,
  typeToEnglish,
} from './datum.ts';
import { syntaxError } from './error.ts';
import { IMPLICIT_UUID_TYPE } from './schema.ts';
import type { Atom, Datum, OvsdbType, Row, TableSchema } from './types.ts';

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
const FUNCTIONS: readonly string[] = ['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes'];

export interface Clause {
  /** 'true'/'false' for the boolean clauses, which have no column. */
  readonly fn: ConditionFunction | 'true' | 'false';
  readonly column: string;
  /** Index into Row.fields; -1 for _uuid, -2 for _version. */
  readonly index: number;
  readonly type: OvsdbType;
  readonly arg: Datum;
}

export interface Condition {
  readonly clauses: readonly Clause[];
  /** True if every clause holds (an empty condition matches every row). */
  matches(row: Row): boolean;
  /** When a clause is `_uuid == <uuid>`, that UUID: the executor looks the row up directly. */
  readonly uuidEquals: string | undefined;
}

export function rowField(row: Row, index: number): Datum {
  if (index >= 0) return row.fields[index] as Datum;
  return { keys: [index === -1 ? row.uuid : row.version], values: null };
}

function evalClause(c: Clause, row: Row): boolean {
  if (c.fn === 'true') return true;
  if (c.fn === 'false') return false;
  const type = c.type;
  const arg = c.arg;
  let field: Datum;
  let scalarAtom: Atom | undefined;
  if (c.index === -1) scalarAtom = row.uuid;
  else if (c.index === -2) scalarAtom = row.version;
  if (scalarAtom !== undefined) {
    field = { keys: [scalarAtom], values: null };
  } else {
    field = row.fields[c.index] as Datum;
  }
  const optScalar = isOptionalScalarType(type);
  if (
    optScalar &&
    field.keys.length === 0 &&
    (c.fn === '<' || c.fn === '<=' || c.fn === '>' || c.fn === '>=')
  ) {
    return false;
  }
  if ((optScalar || isScalarType(type)) && field.keys.length === 1 && arg.keys.length === 1) {
    const cmp = compareAtoms(type.key.type, field.keys[0] as Atom, arg.keys[0] as Atom);
    switch (c.fn) {
      case '<':
        return cmp < 0;
      case '<=':
        return cmp <= 0;
      case '==':
      case 'includes':
        return cmp === 0;
      case '!=':
      case 'excludes':
        return cmp !== 0;
      case '>=':
        return cmp >= 0;
      case '>':
        return cmp > 0;
    }
  }
  switch (c.fn) {
    case '==':
      return datumEquals(type, field, arg);
    case '!=':
      return !datumEquals(type, field, arg);
    case 'includes':
      return datumIncludesAll(type, field, arg);
    case 'excludes':
      return datumExcludesAll(type, field, arg);
    default:
      return false;
  }
}

function clauseFromJson(table: TableSchema, json: Json, symtab: SymbolTable | undefined): Clause {
  if (json === true || json === false) {
    return {
      fn: json ? 'true' : 'false',
      column: '_uuid',
      index: -1,
      type: IMPLICIT_UUID_TYPE,
      arg: { keys: [], values: null },
    };
  }
  if (
    !Array.isArray(json) ||
    json.length !== 3 ||
    typeof json[0] !== 'string' ||
    typeof json[1] !== 'string'
  ) {
    throw syntaxError(json, 'Parse error in condition.');
  }
  const [name, fnName] = json as [string, string, Json];
  let index: number;
  let type: OvsdbType;
  if (name === '_uuid' || name === '_version') {
    index = name === '_uuid' ? -1 : -2;
    type = IMPLICIT_UUID_TYPE;
  } else {
    const col = table.columns.get(name);
    if (!col)
      throw syntaxError(json, `No column ${name} in table ${table.name}.`, 'unknown column');
    index = col.index;
    type = col.type;
  }
  if (!FUNCTIONS.includes(fnName)) {
    throw syntaxError(undefined, `No function named ${fnName}.`, 'unknown function');
  }
  const fn = fnName as ConditionFunction;
  let argType: OvsdbType = type;
  switch (fn) {
    case '<':
    case '<=':
    case '>':
    case '>=':
      if (
        !(isScalarType(type) || isOptionalScalarType(type)) ||
        (type.key.type !== 'integer' && type.key.type !== 'real')
      ) {
        throw syntaxError(
          json,
          `Type mismatch: "${fn}" operator may not be applied to column ${name} of type ${typeToEnglish(type)}.`,
        );
      }
      argType = { ...type, min: 1 };
      break;
    case 'excludes':
      if (!isScalarType(type)) argType = { ...type, min: 0, max: Number.POSITIVE_INFINITY };
      break;
    case 'includes':
      if (!isScalarType(type)) argType = { ...type, min: 0 };
      break;
    default:
      break;
  }
  const arg = datumFromJson(argType, json[2] as Json, symtab);
  return { fn, column: name, index, type, arg };
}

const FN_ORDER: Record<Clause['fn'], number> = {
  true: 0,
  false: 1,
  '==': 2,
  includes: 3,
  '<=': 4,
  '<': 5,
  '>=': 6,
  '>': 7,
  excludes: 8,
  '!=': 9,
};

/** Compiles a `where` array. Throws OvsdbError with OVS's tags and messages. */
export function compileCondition(table: TableSchema, json: Json, symtab?: SymbolTable): Condition {
  if (!Array.isArray(json)) throw syntaxError(json, 'Parse error in condition.');
  const clauses = json.map((c) => clauseFromJson(table, c, symtab));
  // Cheap, selective clauses first, as OVS orders them.
  clauses.sort((a, b) => {
    if (a.fn !== b.fn) return FN_ORDER[a.fn] - FN_ORDER[b.fn];
    if (a.index !== b.index)
      return a.index < 0 || b.index < 0 ? a.index - b.index : a.column < b.column ? -1 : 1;
    return compareDatums(a.type, a.arg, b.arg);
  });
  let uuidEquals: string | undefined;
  for (const c of clauses) {
    if (c.fn === '==' && c.index === -1 && c.arg.keys.length === 1)
      uuidEquals = c.arg.keys[0] as string;
  }
  const n = clauses.length;
  const matches =
    n === 0
      ? () => true
      : (row: Row) => {
          for (let i = 0; i < n; i++) if (!evalClause(clauses[i] as Clause, row)) return false;
          return true;
        };
  return { clauses, matches, uuidEquals };
}

/** A `where` array as a row predicate. */
export function compileWhere(
  table: TableSchema,
  json: Json,
  symtab?: SymbolTable,
): (row: Row) => boolean {
  return compileCondition(table, json, symtab).matches;
}

/** True if any clause holds: the semantics of monitor_cond's condition (OVS: match any). */
export function matchesAnyClause(cond: Condition, row: Row): boolean {
  if (cond.clauses.length === 0) return false;
  for (const c of cond.clauses) if (evalClause(c, row)) return true;
  return false;
}

export function evaluateClause(c: Clause, row: Row): boolean {
  return evalClause(c, row);
}

/** OVS's ovsdb_condition_empty_or_match_any, the test monitors apply to each row. */
export function emptyOrMatchesAny(cond: Condition, row: Row): boolean {
  return cond.clauses.length === 0 || matchesAnyClause(cond, row);
}
