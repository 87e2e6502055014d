/**
 * Mutations (RFC 7047 §5.1 <mutation>): arithmetic on integer/real columns (scalars and sets,
 * element-wise) and insert/delete on sets and maps, with OVS's error tags and messages.
 */
import type { Json } from '../lib/json.ts';
import type { SymbolTable } from './atom.ts';
import { checkAtomConstraints, INT64_MAX, INT64_MIN } from './atom.ts';
import {
  datumFromAtoms,
  datumFromJson,
  datumSubtract,
  datumUnion,
  isMapType,
  isScalarType,
  isSetType,
  typeToEnglish,
} from './datum.ts';
import { OvsdbError, syntaxError } from './error.ts';
import type { Atom, ColumnSchema, Datum, OvsdbType, TableSchema } from './types.ts';

export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
const MUTATORS: readonly string[] = ['+=', '-=', '*=', '/=', '%=', 'insert', 'delete'];

export interface Mutation {
  readonly column: ColumnSchema;
  readonly mutator: Mutator;
  /** The argument's type (the column's, relaxed as OVS relaxes it). */
  readonly argType: OvsdbType;
  readonly arg: Datum;
}

function typeMismatch(m: Mutator, col: ColumnSchema, json: Json): OvsdbError {
  return syntaxError(
    json,
    `Type mismatch: "${m}" operator may not be applied to column ${col.name} of type ${typeToEnglish(col.type)}.`,
  );
}

function mutationFromJson(
  table: TableSchema,
  json: Json,
  symtab: SymbolTable | undefined,
): Mutation {
  if (
    !Array.isArray(json) ||
    json.length !== 3 ||
    typeof json[0] !== 'string' ||
    typeof json[1] !== 'string'
  ) {
    throw syntaxError(json, 'Parse error in mutation.');
  }
  const [name, mname] = json as [string, string, Json];
  if (name === '_uuid' || name === '_version') {
    throw syntaxError(
      json,
      `Cannot mutate immutable column ${name} in table ${table.name}.`,
      'constraint violation',
    );
  }
  const column = table.columns.get(name);
  if (!column)
    throw syntaxError(json, `No column ${name} in table ${table.name}.`, 'unknown column');
  if (!column.mutable) {
    throw syntaxError(
      json,
      `Cannot mutate immutable column ${name} in table ${table.name}.`,
      'constraint violation',
    );
  }
  if (!MUTATORS.includes(mname))
    throw syntaxError(undefined, `No mutator named ${mname}.`, 'unknown mutator');
  const mutator = mname as Mutator;
  const type = column.type;
  let argType: OvsdbType;
  let arg: Datum;
  if (mutator === 'insert' || mutator === 'delete') {
    if (!isSetType(type) && !isMapType(type)) throw typeMismatch(mutator, column, json);
    argType = { ...type, min: 0, max: mutator === 'delete' ? Number.POSITIVE_INFINITY : type.max };
    try {
      arg = datumFromJson(argType, json[2] as Json, symtab);
    } catch (e) {
      if (!(e instanceof OvsdbError) || !(isMapType(type) && mutator === 'delete')) throw e;
      // Deleting from a map also accepts a set of keys.
      argType = { ...argType, value: null };
      arg = datumFromJson(argType, json[2] as Json, symtab);
    }
  } else {
    if (
      (!isScalarType(type) && !isSetType(type)) ||
      (type.key.type !== 'integer' && type.key.type !== 'real') ||
      (mutator === '%=' && type.key.type === 'real')
    ) {
      throw typeMismatch(mutator, column, json);
    }
    argType = { key: { type: type.key.type }, value: null, min: 1, max: 1 };
    arg = datumFromJson(argType, json[2] as Json, symtab);
  }
  return { column, mutator, argType, arg };
}

/** Compiles a `mutations` array; throws OvsdbError as OVS does. */
export function compileMutationList(
  table: TableSchema,
  json: Json,
  symtab?: SymbolTable,
): Mutation[] {
  if (!Array.isArray(json)) throw syntaxError(json, 'Parse error in mutation.');
  return json.map((m) => mutationFromJson(table, m, symtab));
}

function rangeError(m: Mutator): OvsdbError {
  return new OvsdbError('range error', `Result of "${m}" operation is out of range.`);
}

const B_MIN = -(2n ** 63n);
const B_MAX = 2n ** 63n - 1n;

function bigIntOp(m: Mutator, x: number, y: number): number {
  const bx = BigInt(x);
  const by = BigInt(y);
  let r: bigint;
  switch (m) {
    case '+=':
      r = bx + by;
      break;
    case '-=':
      r = bx - by;
      break;
    case '*=':
      r = bx * by;
      break;
    case '/=':
      r = bx / by;
      break;
    default:
      r = bx % by;
  }
  if (r < B_MIN || r > B_MAX) throw rangeError(m);
  return Number(r);
}

function mutateInteger(m: Mutator, x: number, y: number): number {
  if ((m === '/=' || m === '%=') && y === 0)
    throw new OvsdbError('domain error', 'Division by zero.');
  if ((m === '/=' || m === '%=') && x === INT64_MIN && y === -1) throw rangeError(m);
  let r: number;
  switch (m) {
    case '+=':
      r = x + y;
      break;
    case '-=':
      r = x - y;
      break;
    case '*=':
      r = x * y;
      break;
    case '/=':
      r = Math.trunc(x / y);
      break;
    default:
      r = x % y;
  }
  if (Number.isSafeInteger(r) && Number.isSafeInteger(x) && Number.isSafeInteger(y))
    return r === 0 ? 0 : r;
  if (r >= INT64_MAX * 2 || r <= INT64_MIN * 2) throw rangeError(m);
  return bigIntOp(m, x, y);
}

function mutateReal(m: Mutator, x: number, y: number): number {
  let r: number;
  switch (m) {
    case '+=':
      r = x + y;
      break;
    case '-=':
      r = x - y;
      break;
    case '*=':
      r = x * y;
      break;
    default:
      if (y === 0) throw new OvsdbError('domain error', 'Division by zero.');
      r = x / y;
  }
  if (!(r >= -Number.MAX_VALUE && r <= Number.MAX_VALUE)) throw rangeError(m);
  return r;
}

function mutateScalar(col: ColumnSchema, dst: Datum, m: Mutation): Datum {
  const type = col.type;
  const y = m.arg.keys[0] as number;
  const isInt = type.key.type === 'integer';
  const keys: Atom[] = new Array(dst.keys.length);
  for (let i = 0; i < dst.keys.length; i++) {
    const x = dst.keys[i] as number;
    keys[i] = isInt ? mutateInteger(m.mutator, x, y) : mutateReal(m.mutator, x, y);
  }
  for (const k of keys) checkAtomConstraints(type.key, k);
  try {
    return datumFromAtoms(type, keys, null);
  } catch {
    throw new OvsdbError(
      'constraint violation',
      `Result of "${m.mutator}" operation contains duplicates.`,
    );
  }
}

function checkCount(d: Datum, type: OvsdbType): void {
  const n = d.keys.length;
  if (n < type.min || n > type.max) {
    throw new OvsdbError(
      'constraint violation',
      `Attempted to store ${n} elements in ${typeToEnglish(type)}.`,
    );
  }
}

/**
 * Applies the mutations to a row's fields, returning the new fields array (the input is not
 * modified; unchanged datums are shared). Throws OvsdbError on the first failure.
 */
export function applyMutations(mutations: readonly Mutation[], fields: readonly Datum[]): Datum[] {
  const out = fields.slice();
  for (const m of mutations) {
    const col = m.column;
    const dst = out[col.index] as Datum;
    let next: Datum;
    switch (m.mutator) {
      case 'insert':
        next = datumUnion(col.type, dst, m.arg);
        checkCount(next, col.type);
        break;
      case 'delete':
        next = datumSubtract(col.type, dst, m.argType, m.arg);
        checkCount(next, col.type);
        break;
      default:
        next = mutateScalar(col, dst, m);
    }
    out[col.index] = next;
  }
  return out;
}

/** RFC 7047 `mutations` as a function from a row's fields to its new fields. */
export function compileMutations(
  table: TableSchema,
  json: Json,
  symtab?: SymbolTable,
): (fields: readonly Datum[]) => Datum[] {
  const list = compileMutationList(table, json, symtab);
  return (fields) => applyMutations(list, fields);
}
