/**
 * OVSDB errors (RFC 7047 §3.1 <error>), plus the two small JSON helpers every parser of the
 * core needs: OVS's compact serialisation (used for the "syntax" member of an error) and the
 * member-by-member object parser whose messages ("Parsing X failed: ...") clients see.
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';
import { formatG } from '../lib/table-format.ts';

/** The error strings of RFC 7047 and the ones OVS adds. */
export type OvsdbErrorTag =
  | 'syntax error'
  | 'constraint violation'
  | 'domain error'
  | 'range error'
  | 'timed out'
  | 'not supported'
  | 'aborted'
  | 'not owner'
  | 'referential integrity violation'
  | 'resources exhausted'
  | 'I/O error'
  | 'duplicate uuid-name'
  | 'unknown database'
  | 'unknown method'
  | 'ovsdb error'
  | 'internal error'
  | (string & {});

export interface OvsdbErrorJson extends JsonObject {
  error: string;
}

export class OvsdbError extends Error {
  readonly tag: OvsdbErrorTag;
  readonly details: string | undefined;
  /** The offending JSON, serialised as OVS does (sorted keys, compact). */
  readonly syntax: string | undefined;

  constructor(tag: OvsdbErrorTag, details?: string, opts?: { syntax?: Json; message?: string }) {
    const syntax = opts?.syntax !== undefined ? jsonToOvsString(opts.syntax, true) : undefined;
    super(opts?.message ?? errorText(tag, details, syntax));
    this.name = 'OvsdbError';
    this.tag = tag;
    this.details = details;
    this.syntax = syntax;
  }

  /** The RFC 7047 <error> object, members in OVS's order. */
  toJson(): OvsdbErrorJson {
    // Members in the order real ovsdb-server prints them (its hash order for these names:
    // syntax, details, error), so that replies are byte-identical, not just equal.
    const out = {} as OvsdbErrorJson;
    if (this.syntax !== undefined) out.syntax = this.syntax;
    if (this.details !== undefined) out.details = this.details;
    out.error = this.tag;
    return out;
  }

  /** OVS's ovsdb_error_to_string form: `syntax "..": tag: details`. */
  override toString(): string {
    return errorText(this.tag, this.details, this.syntax);
  }

  /** A copy whose details are prefixed, as OVS's ovsdb_wrap_error does. */
  wrap(prefix: string): OvsdbError {
    const details = this.details !== undefined ? `${prefix}: ${this.details}` : prefix;
    const e = new OvsdbError(this.tag, details);
    (e as { syntax: string | undefined }).syntax = this.syntax;
    return e;
  }
}

function errorText(tag: string, details: string | undefined, syntax: string | undefined): string {
  let s = syntax !== undefined ? `syntax "${syntax}": ${tag}` : tag;
  if (details !== undefined) s += `: ${details}`;
  return s;
}

/** A syntax error about `json`, as OVS's ovsdb_syntax_error. */
export function syntaxError(
  json: Json | undefined,
  details: string,
  tag = 'syntax error',
): OvsdbError {
  return new OvsdbError(tag, details, json === undefined ? undefined : { syntax: json });
}

export function isOvsdbError(e: unknown): e is OvsdbError {
  return e instanceof OvsdbError;
}

/* ---------- OVS's JSON serialisation ---------- */

/** printf("%.15g"), which OVS uses for reals both in JSON and in the string syntax. */
export function formatReal(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  return formatG(x, 15);
}

/** A JSON number as OVS prints it (integers exactly, reals as %.15g). */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 2 ** 64) {
    return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
  }
  return formatReal(x);
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/** OVS's string escaping: only '"', '\\' and control characters; UTF-8 passes through. */
export function jsonStringToOvs(s: string): string {
  if (!/["\\\x00-\x1f]/.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && (code < 0x20 || ch === '"' || ch === '\\')) {
      out += ESCAPES[ch] ?? `\\u${code.toString(16).padStart(4, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/** Compact JSON exactly as OVS's json_to_string (with JSSF_SORT when `sort`). */
export function jsonToOvsString(json: Json, sort = false): string {
  if (json === null) return 'null';
  switch (typeof json) {
    case 'boolean':
      return json ? 'true' : 'false';
    case 'number':
      return formatNumber(json);
    case 'string':
      return jsonStringToOvs(json);
  }
  if (Array.isArray(json)) {
    return `[${json.map((j) => jsonToOvsString(j, sort)).join(',')}]`;
  }
  // Like JSON.stringify, members whose value is undefined do not exist.
  let keys = Object.keys(json).filter((k) => json[k] !== undefined);
  if (sort) keys = keys.sort(compareStrings);
  return `{${keys.map((k) => `${jsonStringToOvs(k)}:${jsonToOvsString(json[k] as Json, sort)}`).join(',')}}`;
}

/** strcmp() on the UTF-8 encodings of two strings, without encoding them. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 puts surrogates (U+10000 and up) below U+E000..U+FFFF; UTF-8 does not.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/* ---------- OVS's object member parser ---------- */

export const OP_NULL = 1 << 0;
export const OP_FALSE = 1 << 1;
export const OP_TRUE = 1 << 2;
export const OP_OBJECT = 1 << 3;
export const OP_ARRAY = 1 << 4;
export const OP_INTEGER = 1 << 5;
export const OP_REAL = 1 << 6;
export const OP_STRING = 1 << 7;
export const OP_BOOLEAN = OP_FALSE | OP_TRUE;
export const OP_NUMBER = OP_INTEGER | OP_REAL;
export const OP_ANY = OP_NULL | OP_BOOLEAN | OP_OBJECT | OP_ARRAY | OP_NUMBER | OP_STRING;
/** A string that is an <id>. */
export const OP_ID = 1 << 8;
export const OP_OPTIONAL = 1 << 9;

/** RFC 7047 <id>: [_A-Za-z][_A-Za-z0-9]*. */
export function isId(s: string): boolean {
  return /^[_A-Za-z][_A-Za-z0-9]*$/.test(s);
}

function jsonTypeBit(v: Json): number {
  if (v === null) return OP_NULL;
  if (v === false) return OP_FALSE;
  if (v === true) return OP_TRUE;
  if (typeof v === 'number') return Number.isInteger(v) ? OP_INTEGER : OP_REAL;
  if (typeof v === 'string') return OP_STRING;
  if (Array.isArray(v)) return OP_ARRAY;
  return OP_OBJECT;
}

/**
 * Reads the members of one JSON object, remembering which were used so that `finish()` can
 * reject unknown members. Only the first problem is kept, as OVS does.
 */
export class JsonObjectParser {
  readonly obj: JsonObject | null;
  private readonly used = new Set<string>();
  private firstError: OvsdbError | null = null;

  constructor(
    readonly json: Json,
    readonly name: string,
  ) {
    this.obj = isJsonObject(json) ? json : null;
    if (!this.obj) this.raise('Object expected.');
  }

  member(name: string, types: number): Json | undefined {
    if (!this.obj) return undefined;
    if (!Object.hasOwn(this.obj, name) || this.obj[name] === undefined) {
      if (!(types & OP_OPTIONAL)) this.raise(`Required '${name}' member is missing.`);
      return undefined;
    }
    const v = this.obj[name] as Json;
    if (jsonTypeBit(v) & types || (types & OP_ID && typeof v === 'string' && isId(v))) {
      this.used.add(name);
      return v;
    }
    this.raise(`Type mismatch for member '${name}'.`);
    return undefined;
  }

  raise(message: string): void {
    if (!this.firstError) {
      this.firstError = syntaxError(
        this.obj ?? undefined,
        `Parsing ${this.name} failed: ${message}`,
      );
    }
  }

  put(error: OvsdbError): void {
    if (!this.firstError) this.firstError = error;
  }

  get error(): OvsdbError | null {
    return this.firstError;
  }

  /** Throws the first error, or an error for the first member nobody asked for. */
  finish(): void {
    if (!this.firstError && this.obj) {
      const obj = this.obj;
      const unused = Object.keys(obj).filter((k) => !this.used.has(k) && obj[k] !== undefined);
      if (unused.length > 1) {
        const n = unused.length - 1;
        this.raise(
          `Member '${unused[0]}' and ${n} other member${n > 1 ? 's' : ''} are present but not allowed here.`,
        );
      } else if (unused.length === 1) {
        this.raise(`Member '${unused[0]}' is present but not allowed here.`);
      }
    }
    if (this.firstError) throw this.firstError;
  }
}
