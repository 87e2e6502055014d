/**
 * Atoms (RFC 7047 §5.1 <atom>): ordering, JSON codec, constraint checks, and the "string"
 * syntax that ovs-vsctl and ovsdb-client's table output use.
 */
import type { Json } from '../lib/json.ts';
import {
  compareStrings,
  formatReal,
  isId,
  jsonStringToOvs,
  OvsdbError,
  syntaxError,
} from './error.ts';
import type { Atom, AtomicType, BaseType } from './types.ts';

export const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
export const INT64_MIN = -(2 ** 63);
export const INT64_MAX = 2 ** 63;
/** The most integers one "a-b" range in the string syntax may expand to. */
export const MAX_ATOM_RANGE_SIZE = 4096;

export function isUuid(s: string): boolean {
  return s.length === 36 && UUID_RE.test(s);
}

/* ---------- named-uuid symbol table ---------- */

export interface OvsdbSymbol {
  readonly uuid: string;
  /** Set once an insert has created the row this name stands for. */
  created: boolean;
  strongRef: boolean;
  weakRef: boolean;
}

/** Named UUIDs of one transaction (RFC 7047 §5.2.1 "uuid-name"). */
export class SymbolTable {
  readonly symbols = new Map<string, OvsdbSymbol>();
  constructor(private readonly newUuid: () => string = () => crypto.randomUUID()) {}

  get(name: string): OvsdbSymbol | undefined {
    return this.symbols.get(name);
  }

  /** Defines `name` as `uuid` (an insert's "uuid-name"); returns the symbol. */
  put(name: string, uuid: string, created: boolean): OvsdbSymbol {
    const sym: OvsdbSymbol = { uuid, created, strongRef: false, weakRef: false };
    this.symbols.set(name, sym);
    return sym;
  }

  /** Looks `name` up, creating it with a fresh UUID on first use. */
  insert(name: string): OvsdbSymbol {
    let sym = this.symbols.get(name);
    if (!sym) {
      sym = { uuid: this.newUuid(), created: false, strongRef: false, weakRef: false };
      this.symbols.set(name, sym);
    }
    return sym;
  }
}

function noteReference(sym: OvsdbSymbol, base: BaseType): void {
  if (base.refTable) {
    if (base.refType === 'weak') sym.weakRef = true;
    else sym.strongRef = true;
  }
}

/* ---------- ordering ---------- */

/** OVS's ovsdb_atom_compare_3way. */
export function compareAtoms(type: AtomicType, a: Atom, b: Atom): number {
  if (type === 'string') return compareStrings(a as string, b as string);
  if (a === b) return 0;
  // Numbers numerically, false < true, UUIDs as lower-case hex strings (same as OVS's
  // word-by-word comparison).
  return a < b ? -1 : 1;
}

export function atomEquals(a: Atom, b: Atom): boolean {
  return a === b;
}

export function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/* ---------- JSON ---------- */

function baseOf(b: BaseType | AtomicType): BaseType {
  return typeof b === 'string' ? { type: b } : b;
}

function parseUuidJson(json: Json, base: BaseType, symtab: SymbolTable | undefined): string {
  if (Array.isArray(json) && json.length === 2 && typeof json[1] === 'string') {
    if (json[0] === 'uuid') {
      if (!isUuid(json[1])) throw syntaxError(json, `"${json[1]}" is not a valid UUID`);
      return json[1].toLowerCase();
    }
    if (json[0] === 'named-uuid' && symtab) {
      if (!isId(json[1])) throw syntaxError(json, 'named-uuid string is not a valid <id>');
      const sym = symtab.insert(json[1]);
      noteReference(sym, base);
      return sym.uuid;
    }
  }
  throw syntaxError(json, 'expected ["uuid", <string>]');
}

/** Parses one atom without checking constraints. */
export function atomFromJsonUnchecked(
  base: BaseType | AtomicType,
  json: Json,
  symtab?: SymbolTable,
): Atom {
  const b = baseOf(base);
  switch (b.type) {
    case 'integer':
      if (
        typeof json === 'number' &&
        Number.isInteger(json) &&
        json >= INT64_MIN &&
        json <= INT64_MAX
      ) {
        return json;
      }
      break;
    case 'real':
      if (typeof json === 'number') return json === 0 ? 0 : json;
      break;
    case 'boolean':
      if (typeof json === 'boolean') return json;
      break;
    case 'string':
      if (typeof json === 'string') return json;
      break;
    case 'uuid':
      return parseUuidJson(json, b, symtab);
  }
  throw syntaxError(json, `expected ${b.type}`);
}

/** RFC 7047 <atom> to an Atom; checks the base type's constraints (not references). */
export function atomFromJson(base: BaseType | AtomicType, json: Json, symtab?: SymbolTable): Atom {
  const atom = atomFromJsonUnchecked(base, json, symtab);
  if (typeof base !== 'string') checkAtomConstraints(base, atom);
  return atom;
}

export function atomToJson(base: BaseType | AtomicType, atom: Atom): Json {
  const type = typeof base === 'string' ? base : base.type;
  return type === 'uuid' ? ['uuid', atom as string] : atom;
}

/* ---------- constraints ---------- */

function hasAtom(list: readonly Atom[], type: AtomicType, atom: Atom): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(type, list[mid] as Atom, atom);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00) i++;
    n++;
  }
  return n;
}

/** OVS's ovsdb_atom_check_constraints; UUID references are checked at commit instead. */
export function checkAtomConstraints(base: BaseType, atom: Atom): void {
  if (base.enum && !hasAtom(base.enum, base.type, atom)) {
    const valid = base.enum.map((a) => atomToString(base.type, a)).join(', ');
    throw new OvsdbError(
      'constraint violation',
      `${atomToString(base.type, atom)} is not one of the allowed values ([${valid}])`,
    );
  }
  switch (base.type) {
    case 'integer':
    case 'real': {
      const isInt = base.type === 'integer';
      const min = isInt ? base.minInteger : base.minReal;
      const max = isInt ? base.maxInteger : base.maxReal;
      const x = atom as number;
      if ((min === undefined || x >= min) && (max === undefined || x <= max)) return;
      const f = isInt ? String : formatReal;
      if (min !== undefined) {
        if (max !== undefined) {
          throw new OvsdbError(
            'constraint violation',
            `${f(x)} is not in the valid range ${f(min)} to ${f(max)} (inclusive)`,
          );
        }
        throw new OvsdbError(
          'constraint violation',
          `${f(x)} is less than minimum allowed value ${f(min)}`,
        );
      }
      throw new OvsdbError(
        'constraint violation',
        `${f(x)} is greater than maximum allowed value ${f(max as number)}`,
      );
    }
    case 'string': {
      if (base.minLength === undefined && base.maxLength === undefined) return;
      const s = atom as string;
      const n = utf8Length(s);
      if (base.minLength !== undefined && n < base.minLength) {
        throw new OvsdbError(
          'constraint violation',
          `"${s}" length ${n} is less than minimum allowed length ${base.minLength}`,
        );
      }
      if (base.maxLength !== undefined && n > base.maxLength) {
        throw new OvsdbError(
          'constraint violation',
          `"${s}" length ${n} is greater than maximum allowed length ${base.maxLength}`,
        );
      }
      return;
    }
    default:
      return;
  }
}

/* ---------- the "string" syntax ---------- */

/** OVS's rule: bare if it looks like an identifier and cannot be mistaken for another type. */
export function stringNeedsQuotes(s: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s)) return true;
  return s === 'true' || s === 'false' || isUuid(s);
}

export function atomToString(type: AtomicType, atom: Atom): string {
  switch (type) {
    case 'integer':
      return String(atom);
    case 'real':
      return formatReal(atom as number);
    case 'boolean':
      return atom ? 'true' : 'false';
    case 'string':
      return stringNeedsQuotes(atom as string) ? jsonStringToOvs(atom as string) : (atom as string);
    case 'uuid':
      return atom as string;
  }
}

/** ovsdb_atom_to_bare: strings unquoted. */
export function atomToBare(type: AtomicType, atom: Atom): string {
  return type === 'string' ? (atom as string) : atomToString(type, atom);
}

/** An error of the string syntax: OVS reports these as plain messages, without a tag. */
export function stringSyntaxError(message: string): OvsdbError {
  return new OvsdbError('syntax error', message, { message });
}

const INT_RE = /^\s*[+-]?\d+$/;
const INT_RANGE_RE = /^(\s*[+-]?\d+)-([+-]?\d+)$/;
const REAL_RE =
  /^\s*[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;

function parseInt64(s: string): number | null {
  const n = Number(s);
  return Number.isInteger(n) && n >= INT64_MIN && n < INT64_MAX ? n : null;
}

/** Unescapes the inside of a JSON string literal; throws a message as OVS does. */
function unescapeJsonString(body: string): string {
  try {
    const v: unknown = JSON.parse(`"${body}"`);
    if (typeof v === 'string') return v;
  } catch {
    // fall through
  }
  throw new Error('invalid JSON string');
}

/**
 * Parses one atom from the string syntax. With `allowRange`, an integer may be "a-b"; the
 * result is then [start, end]. Throws `stringSyntaxError` (or a constraint violation, whose
 * message is then OVS's "constraint violation: ..." text).
 */
export function atomFromStringRange(
  base: BaseType,
  s: string,
  symtab?: SymbolTable,
  allowRange = false,
): [Atom, number | null] {
  let atom: Atom;
  let end: number | null = null;
  switch (base.type) {
    case 'integer': {
      const m = allowRange ? INT_RANGE_RE.exec(s) : null;
      if (m) {
        const a = parseInt64(m[1] as string);
        const b = parseInt64(m[2] as string);
        if (a === null || b === null) throw stringSyntaxError(`"${s}" is not a valid range`);
        if (b < a) {
          throw stringSyntaxError(`"${s}" is not a valid range. Range end cannot be before start.`);
        }
        atom = a;
        end = b;
      } else {
        const n = INT_RE.test(s) ? parseInt64(s) : null;
        if (n === null) throw stringSyntaxError(`"${s}" is not a valid integer or range`);
        atom = n;
      }
      break;
    }
    case 'real': {
      if (!REAL_RE.test(s)) throw stringSyntaxError(`"${s}" is not a valid real number`);
      const t = s.trim();
      let n: number;
      if (/nan$/i.test(t)) n = Number.NaN;
      else if (/inf/i.test(t)) n = t[0] === '-' ? -Infinity : Infinity;
      else n = Number(t);
      // strtod overflow is an error, underflow is not.
      if (!Number.isFinite(n) && !/(inf|infinity|nan)$/i.test(t)) {
        throw stringSyntaxError(`"${s}" is not a valid real number`);
      }
      atom = n === 0 ? 0 : n;
      break;
    }
    case 'boolean':
      if (s === 'true' || s === 'yes' || s === 'on' || s === '1') atom = true;
      else if (s === 'false' || s === 'no' || s === 'off' || s === '0') atom = false;
      else throw stringSyntaxError(`"${s}" is not a valid boolean (use "true" or "false")`);
      break;
    case 'string':
      if (s === '') {
        throw stringSyntaxError(
          'An empty string is not valid as input; use "" to represent the empty string',
        );
      }
      if (s[0] === '"') {
        if (s.length < 2 || s[s.length - 1] !== '"') {
          throw stringSyntaxError(`${s}: missing quote at end of quoted string`);
        }
        try {
          atom = unescapeJsonString(s.slice(1, -1));
        } catch {
          throw stringSyntaxError(`${s}: invalid JSON string`);
        }
      } else {
        atom = s;
      }
      break;
    case 'uuid':
      if (s[0] === '@' && symtab) {
        const sym = symtab.insert(s);
        noteReference(sym, base);
        atom = sym.uuid;
      } else if (isUuid(s)) {
        atom = s.toLowerCase();
      } else {
        throw stringSyntaxError(`"${s}" is not a valid UUID`);
      }
      break;
  }
  try {
    checkAtomConstraints(base, atom);
    if (end !== null) {
      const start = atom as number;
      if (base.enum) {
        for (let i = start + 1; i <= end; i++) checkAtomConstraints(base, i);
      } else {
        checkAtomConstraints(base, end);
      }
      if (end - start >= MAX_ATOM_RANGE_SIZE) {
        throw new OvsdbError(
          'constraint violation',
          `Range "${start}-${end}" is too big. Maximum allowed size is ${MAX_ATOM_RANGE_SIZE}.`,
        );
      }
    }
  } catch (e) {
    if (e instanceof OvsdbError) throw stringSyntaxError(e.toString());
    throw e;
  }
  return [atom, end];
}

export function atomFromString(base: BaseType, s: string, symtab?: SymbolTable): Atom {
  return atomFromStringRange(base, s, symtab, false)[0];
}
