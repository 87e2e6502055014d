/**
 * Datums (RFC 7047 §5.1 <value>): canonical sorted sets and maps, their JSON and string
 * codecs as OVS prints them, and the set algebra used by mutations, diffs and monitors.
 */
import type { Json } from '../lib/json.ts';
import {
  atomFromJson,
  atomFromStringRange,
  atomToBare,
  atomToJson,
  atomToString,
  checkAtomConstraints,
  compareAtoms,
  defaultAtom,
  type SymbolTable,
  stringSyntaxError,
} from './atom.ts';
import { OvsdbError, syntaxError } from './error.ts';
import type { Atom, AtomicType, BaseType, Datum, OvsdbType } from './types.ts';

export const EMPTY_SET: Datum = Object.freeze({
  keys: Object.freeze([]) as readonly Atom[],
  values: null,
});
export const EMPTY_MAP: Datum = Object.freeze({
  keys: Object.freeze([]) as readonly Atom[],
  values: Object.freeze([]) as readonly Atom[],
});

export function isMapType(type: OvsdbType): boolean {
  return type.value !== null;
}
export function isScalarType(type: OvsdbType): boolean {
  return type.min === 1 && type.max === 1 && type.value === null;
}
export function isOptionalScalarType(type: OvsdbType): boolean {
  return type.min === 0 && type.max === 1 && type.value === null;
}
export function isSetType(type: OvsdbType): boolean {
  return type.value === null && !(type.min === 1 && type.max === 1);
}
export function isCompositeType(type: OvsdbType): boolean {
  return type.max > 1;
}

export function emptyDatum(type: OvsdbType): Datum {
  return type.value ? EMPTY_MAP : EMPTY_SET;
}

/** The type of an enum datum in a base type: a set of one or more of that atomic type. */
export function enumType(t: AtomicType): OvsdbType {
  return { key: { type: t }, value: null, min: 1, max: Number.POSITIVE_INFINITY };
}

/** ovsdb_type_to_english, as OVS uses it in messages. */
export function typeToEnglish(type: OvsdbType): string {
  const key = type.key.type;
  if (isScalarType(type)) return key;
  let s = type.value ? 'map' : 'set';
  if (type.max === Number.POSITIVE_INFINITY) {
    s += type.min ? ` of ${type.min} or more` : ' of';
  } else if (type.min) {
    s += ` of ${type.min} to ${type.max}`;
  } else {
    s += ` of up to ${type.max}`;
  }
  return type.value ? `${s} (${key}, ${type.value.type}) pairs` : `${s} ${key}s`;
}

/** OVS's ovsdb_datum_default: empty unless min is 1, then one default atom (pair). */
export function defaultDatum(type: OvsdbType): Datum {
  if (type.min === 0) return emptyDatum(type);
  return {
    keys: [defaultAtom(type.key.type)],
    values: type.value ? [defaultAtom(type.value.type)] : null,
  };
}

export function isDefaultDatum(type: OvsdbType, d: Datum): boolean {
  return datumEquals(type, d, defaultDatum(type));
}

/* ---------- construction, sorting ---------- */

/** Builds a datum from unsorted atoms; duplicates are an error as in OVS's ovsdb_datum_sort. */
export function datumFromAtoms(type: OvsdbType, keys: Atom[], values: Atom[] | null): Datum {
  const kt = type.key.type;
  const n = keys.length;
  if (n < 2) return { keys, values: type.value ? (values ?? []) : null };
  let sorted = true;
  for (let i = 1; i < n; i++) {
    const c = compareAtoms(kt, keys[i - 1] as Atom, keys[i] as Atom);
    if (c >= 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return { keys, values: type.value ? values : null };
  const idx = keys.map((_, i) => i);
  idx.sort((a, b) => compareAtoms(kt, keys[a] as Atom, keys[b] as Atom));
  const sk = idx.map((i) => keys[i] as Atom);
  for (let i = 1; i < n; i++) {
    if (compareAtoms(kt, sk[i - 1] as Atom, sk[i] as Atom) === 0) {
      throw new OvsdbError(
        'ovsdb error',
        values ? 'map contains duplicate key' : 'set contains duplicate',
      );
    }
  }
  return { keys: sk, values: values && type.value ? idx.map((i) => values[i] as Atom) : null };
}

/**
 * Like datumFromAtoms, but drops duplicates (OVS's ovsdb_datum_sort_unique): for maps the
 * smallest value of a duplicated key is kept.
 */
export function datumFromAtomsUnique(type: OvsdbType, keys: Atom[], values: Atom[] | null): Datum {
  const kt = type.key.type;
  const vt = type.value?.type;
  const idx = keys.map((_, i) => i);
  idx.sort((a, b) => {
    const c = compareAtoms(kt, keys[a] as Atom, keys[b] as Atom);
    if (c !== 0 || !values || !vt) return c;
    return compareAtoms(vt, values[a] as Atom, values[b] as Atom);
  });
  const ok: Atom[] = [];
  const ov: Atom[] | null = values && type.value ? [] : null;
  for (const i of idx) {
    const k = keys[i] as Atom;
    if (ok.length && compareAtoms(kt, ok[ok.length - 1] as Atom, k) === 0) continue;
    ok.push(k);
    if (ov) ov.push((values as Atom[])[i] as Atom);
  }
  return { keys: ok, values: ov };
}

/** Index of `key` in the datum's sorted keys, or -(insertion point) - 1. */
export function findKey(type: AtomicType, d: Datum, key: Atom): number {
  const keys = d.keys;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(type, keys[mid] as Atom, key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

export function datumHasKey(type: OvsdbType, d: Datum, key: Atom): boolean {
  return findKey(type.key.type, d, key) >= 0;
}

/* ---------- comparison ---------- */

function compareAtomArrays(t: AtomicType, a: readonly Atom[], b: readonly Atom[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareAtoms(t, a[i] as Atom, b[i] as Atom);
    if (c) return c;
  }
  return 0;
}

/** OVS's ovsdb_datum_compare_3way: by size first, then keys, then values. */
export function compareDatums(type: OvsdbType, a: Datum, b: Datum): number {
  if (a === b) return 0;
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  const c = compareAtomArrays(type.key.type, a.keys, b.keys);
  if (c || !type.value) return c;
  return compareAtomArrays(type.value.type, a.values ?? [], b.values ?? []);
}

export function datumEquals(type: OvsdbType, a: Datum, b: Datum): boolean {
  if (a === b) return true;
  const n = a.keys.length;
  if (n !== b.keys.length) return false;
  for (let i = 0; i < n; i++) if (a.keys[i] !== b.keys[i]) return false;
  if (type.value) {
    const av = a.values as readonly Atom[];
    const bv = b.values as readonly Atom[];
    for (let i = 0; i < n; i++) if (av[i] !== bv[i]) return false;
  }
  return true;
}

/* ---------- constraints ---------- */

export function checkDatumConstraints(type: OvsdbType, d: Datum): void {
  if (hasConstraints(type.key)) for (const k of d.keys) checkAtomConstraints(type.key, k);
  if (type.value && d.values && hasConstraints(type.value)) {
    for (const v of d.values) checkAtomConstraints(type.value, v);
  }
}

function hasConstraints(b: BaseType): boolean {
  return (
    b.enum !== undefined ||
    b.minInteger !== undefined ||
    b.maxInteger !== undefined ||
    b.minReal !== undefined ||
    b.maxReal !== undefined ||
    b.minLength !== undefined ||
    b.maxLength !== undefined
  );
}

/* ---------- JSON ---------- */

/**
 * RFC 7047 <value> to a canonical Datum, as OVS's ovsdb_datum_from_json: bare atoms for
 * non-maps, ["set", [...]], ["map", [[k, v], ...]]; sizes and atom constraints checked.
 */
export function datumFromJson(type: OvsdbType, json: Json, symtab?: SymbolTable): Datum {
  const isMap = type.value !== null;
  if (isMap || (Array.isArray(json) && json.length > 0 && json[0] === 'set')) {
    const cls = isMap ? 'map' : 'set';
    if (!Array.isArray(json) || json.length !== 2 || json[0] !== cls || !Array.isArray(json[1])) {
      throw syntaxError(json, `expected ["${cls}", <array>]`);
    }
    const inner = json[1];
    const n = inner.length;
    if (n < type.min || n > type.max) {
      if (type.min === 1 && type.max === 1) {
        throw syntaxError(json, `${cls} must have exactly one member but ${n} are present`);
      }
      throw syntaxError(
        json,
        `${cls} must have ${type.min} to ${maxToString(type.max)} members but ${n} are present`,
      );
    }
    const keys: Atom[] = new Array(n);
    const values: Atom[] | null = isMap ? new Array(n) : null;
    for (let i = 0; i < n; i++) {
      const el = inner[i] as Json;
      if (values) {
        if (!Array.isArray(el) || el.length !== 2)
          throw syntaxError(el, 'expected 2-element array');
        keys[i] = atomFromJson(type.key, el[0] as Json, symtab);
        values[i] = atomFromJson(type.value as BaseType, el[1] as Json, symtab);
      } else {
        keys[i] = atomFromJson(type.key, el, symtab);
      }
    }
    return datumFromAtoms(type, keys, values);
  }
  return { keys: [atomFromJson(type.key, json, symtab)], values: null };
}

function maxToString(max: number): string {
  return max === Number.POSITIVE_INFINITY ? '4294967295' : String(max);
}

/** A datum as OVS's ovsdb_datum_to_json prints it (sizes not checked). */
export function datumToJson(type: OvsdbType, d: Datum): Json {
  const kt = type.key.type;
  if (type.value) {
    const vt = type.value.type;
    const vals = d.values as readonly Atom[];
    const pairs: Json[] = new Array(d.keys.length);
    for (let i = 0; i < d.keys.length; i++) {
      pairs[i] = [atomToJson(kt, d.keys[i] as Atom), atomToJson(vt, vals[i] as Atom)];
    }
    return ['map', pairs];
  }
  if (d.keys.length === 1) return atomToJson(kt, d.keys[0] as Atom);
  return ['set', d.keys.map((k) => atomToJson(kt, k))];
}

/* ---------- the "string" syntax ---------- */

/** ovsdb_datum_to_string: `[a, b]`, `{k=v}`, bare scalar; `[]`/`{}` when empty. */
export function datumToString(type: OvsdbType, d: Datum): string {
  const isMap = type.value !== null;
  const kt = type.key.type;
  const parts: string[] = new Array(d.keys.length);
  for (let i = 0; i < d.keys.length; i++) {
    const k = atomToString(kt, d.keys[i] as Atom);
    parts[i] = isMap
      ? `${k}=${atomToString((type.value as BaseType).type, (d.values as readonly Atom[])[i] as Atom)}`
      : k;
  }
  const body = parts.join(', ');
  if (type.max > 1 || d.keys.length === 0) return isMap ? `{${body}}` : `[${body}]`;
  return body;
}

/** ovsdb_datum_to_bare: space-separated, strings unquoted. */
export function datumToBare(type: OvsdbType, d: Datum): string {
  const parts: string[] = [];
  for (let i = 0; i < d.keys.length; i++) {
    const k = atomToBare(type.key.type, d.keys[i] as Atom);
    parts.push(
      type.value
        ? `${k}=${atomToBare(type.value.type, (d.values as readonly Atom[])[i] as Atom)}`
        : k,
    );
  }
  return parts.join(' ');
}

const DELIMS = ':=, []{}!<>';
export function isTokenDelim(c: string): boolean {
  return DELIMS.includes(c);
}

/** ovsdb_token_parse: up to the next unquoted, unescaped delimiter. Returns [token, rest]. */
export function parseToken(s: string, start: number): [string, number] {
  let out = '';
  let inQuotes = false;
  let p = start;
  while (p < s.length) {
    const c = s[p++] as string;
    if (c === '\\') {
      if (inQuotes) out += '\\';
      if (p >= s.length) throw stringSyntaxError(`${s.slice(start)}: backslash at end of argument`);
      out += s[p++];
    } else if (!inQuotes && isTokenDelim(c)) {
      p--;
      break;
    } else {
      out += c;
      if (c === '"') inQuotes = !inQuotes;
    }
  }
  if (inQuotes)
    throw stringSyntaxError(`${s.slice(start)}: quoted string extends past end of argument`);
  return [out, p];
}

function skipSpaces(s: string, p: number): number {
  while (p < s.length && /\s/.test(s[p] as string)) p++;
  return p;
}

/** ovsdb_datum_from_string; errors carry OVS's message text. */
export function datumFromString(type: OvsdbType, s: string, symtab?: SymbolTable): Datum {
  const isMap = type.value !== null;
  let p = skipSpaces(s, 0);
  let endDelim = '';
  if (s[p] === (isMap ? '{' : '[')) {
    endDelim = isMap ? '}' : ']';
    p = skipSpaces(s, p + 1);
  } else if (p >= s.length) {
    throw stringSyntaxError(
      isMap ? 'use "{}" to specify the empty map' : 'use "[]" to specify the empty set',
    );
  }
  const keys: Atom[] = [];
  const values: Atom[] | null = isMap ? [] : null;
  while (p < s.length && s[p] !== endDelim) {
    const c = s[p] as string;
    if (isTokenDelim(c)) {
      throw stringSyntaxError(`${s}: unexpected "${c}" parsing ${typeToEnglish(type)}`);
    }
    const startKey = p;
    const [ktok, p1] = parseToken(s, p);
    p = p1;
    const [key, end] = atomFromStringRange(type.key, ktok, symtab, true);
    let value: Atom | undefined;
    if (type.value) {
      p = skipSpaces(s, p);
      if (s[p] === '=') {
        p = skipSpaces(s, p + 1);
        const [vtok, p2] = parseToken(s, p);
        p = p2;
        value = atomFromStringRange(type.value, vtok, symtab, false)[0];
      } else {
        throw stringSyntaxError(
          `${s.slice(startKey)}: syntax error at "${s[p] ?? ''}" expecting "="`,
        );
      }
    }
    if (end !== null && typeof key === 'number') {
      for (let i = key; i <= end; i++) keys.push(i);
    } else {
      keys.push(key);
      if (values) values.push(value as Atom);
    }
    p = skipSpaces(s, p);
    if (s[p] === ',') p = skipSpaces(s, p + 1);
  }
  if ((s[p] ?? '') !== endDelim) {
    throw stringSyntaxError(`${s}: missing "${endDelim}" at end of data`);
  }
  if (endDelim) {
    p = skipSpaces(s, p + 1);
    if (p < s.length) throw stringSyntaxError(`${s}: trailing garbage after "${endDelim}"`);
  }
  const what = isMap ? 'pair(s)' : 'value(s)';
  if (keys.length < type.min) {
    throw stringSyntaxError(
      `${s}: ${keys.length} ${what} specified but the minimum number is ${type.min}`,
    );
  }
  if (keys.length > type.max) {
    throw stringSyntaxError(
      `${s}: ${keys.length} ${what} specified but the maximum number is ${type.max}`,
    );
  }
  try {
    return datumFromAtoms(type, keys, values);
  } catch {
    throw stringSyntaxError(
      isMap ? `${s}: map contains duplicate key` : `${s}: set contains duplicate value`,
    );
  }
}

/* ---------- set and map algebra ---------- */

/**
 * OVS's ovsdb_datum_union: adds b's keys that a lacks (for maps, a's value wins for a key
 * both have). Returns `a` itself when nothing changes.
 */
export function datumUnion(type: OvsdbType, a: Datum, b: Datum): Datum {
  if (b.keys.length === 0) return a;
  const kt = type.key.type;
  const isMap = type.value !== null;
  const keys: Atom[] = [];
  const values: Atom[] | null = isMap ? [] : null;
  const av = a.values ?? [];
  const bv = b.values ?? [];
  let i = 0;
  let j = 0;
  let added = false;
  while (i < a.keys.length || j < b.keys.length) {
    const c =
      i >= a.keys.length
        ? 1
        : j >= b.keys.length
          ? -1
          : compareAtoms(kt, a.keys[i] as Atom, b.keys[j] as Atom);
    if (c <= 0) {
      keys.push(a.keys[i] as Atom);
      if (values) values.push(av[i] as Atom);
      i++;
      if (c === 0) j++;
    } else {
      keys.push(b.keys[j] as Atom);
      if (values) values.push(bv[j] as Atom);
      j++;
      added = true;
    }
  }
  return added ? { keys, values } : a;
}

/**
 * OVS's ovsdb_datum_subtract: removes from `a` the keys of `b` when `b` is a set, or the
 * (key, value) pairs of `b` when both are maps.
 */
export function datumSubtract(aType: OvsdbType, a: Datum, bType: OvsdbType, b: Datum): Datum {
  if (b.keys.length === 0 || a.keys.length === 0) return a;
  const kt = aType.key.type;
  const byPair = bType.value !== null && aType.value !== null;
  const keys: Atom[] = [];
  const values: Atom[] | null = aType.value ? [] : null;
  const av = a.values ?? [];
  const bv = b.values ?? [];
  let j = 0;
  let removed = false;
  for (let i = 0; i < a.keys.length; i++) {
    const k = a.keys[i] as Atom;
    while (j < b.keys.length && compareAtoms(kt, b.keys[j] as Atom, k) < 0) j++;
    if (j < b.keys.length && compareAtoms(kt, b.keys[j] as Atom, k) === 0) {
      if (!byPair || av[i] === bv[j]) {
        removed = true;
        continue;
      }
    }
    keys.push(k);
    if (values) values.push(av[i] as Atom);
  }
  return removed ? { keys, values } : a;
}

/** True if every key (or pair, for maps) of `b` is in `a`. */
export function datumIncludesAll(type: OvsdbType, a: Datum, b: Datum): boolean {
  const kt = type.key.type;
  for (let j = 0; j < b.keys.length; j++) {
    const i = findKey(kt, a, b.keys[j] as Atom);
    if (i < 0) return false;
    if (type.value && (a.values as readonly Atom[])[i] !== (b.values as readonly Atom[])[j])
      return false;
  }
  return true;
}

/** True if no key (or pair, for maps) of `b` is in `a`. */
export function datumExcludesAll(type: OvsdbType, a: Datum, b: Datum): boolean {
  const kt = type.key.type;
  for (let j = 0; j < b.keys.length; j++) {
    const i = findKey(kt, a, b.keys[j] as Atom);
    if (
      i >= 0 &&
      (!type.value || (a.values as readonly Atom[])[i] === (b.values as readonly Atom[])[j])
    ) {
      return false;
    }
  }
  return true;
}

/**
 * OVS's ovsdb_datum_diff (the update2 "modify" and the _is_diff log format): for sets and
 * maps the symmetric difference, with changed map values taken from `newer`; for scalars
 * simply `newer`.
 */
export function datumDiff(type: OvsdbType, older: Datum, newer: Datum): Datum {
  if (!isCompositeType(type)) return newer;
  const kt = type.key.type;
  const vt = type.value?.type;
  const keys: Atom[] = [];
  const values: Atom[] | null = vt ? [] : null;
  const ov = older.values ?? [];
  const nv = newer.values ?? [];
  let i = 0;
  let j = 0;
  while (i < older.keys.length || j < newer.keys.length) {
    const c =
      i >= older.keys.length
        ? 1
        : j >= newer.keys.length
          ? -1
          : compareAtoms(kt, older.keys[i] as Atom, newer.keys[j] as Atom);
    if (c < 0) {
      keys.push(older.keys[i] as Atom);
      if (values) values.push(ov[i] as Atom);
      i++;
    } else if (c > 0) {
      keys.push(newer.keys[j] as Atom);
      if (values) values.push(nv[j] as Atom);
      j++;
    } else {
      if (values && ov[i] !== nv[j]) {
        keys.push(newer.keys[j] as Atom);
        values.push(nv[j] as Atom);
      }
      i++;
      j++;
    }
  }
  return { keys, values };
}

/**
 * OVS's ovsdb_datum_apply_diff: a key of `diff` missing from `older` is added, one present
 * with another value is replaced, one present with the same value is removed. Throws
 * "ovsdb error" when the result's size breaks the type.
 */
export function datumApplyDiff(type: OvsdbType, older: Datum, diff: Datum): Datum {
  let out: Datum;
  if (!isCompositeType(type)) {
    out = diff;
  } else {
    const kt = type.key.type;
    const keys: Atom[] = [];
    const values: Atom[] | null = type.value ? [] : null;
    const ov = older.values ?? [];
    const dv = diff.values ?? [];
    let i = 0;
    let j = 0;
    while (i < older.keys.length || j < diff.keys.length) {
      const c =
        i >= older.keys.length
          ? 1
          : j >= diff.keys.length
            ? -1
            : compareAtoms(kt, older.keys[i] as Atom, diff.keys[j] as Atom);
      if (c < 0) {
        keys.push(older.keys[i] as Atom);
        if (values) values.push(ov[i] as Atom);
        i++;
      } else if (c > 0) {
        keys.push(diff.keys[j] as Atom);
        if (values) values.push(dv[j] as Atom);
        j++;
      } else {
        if (values && ov[i] !== dv[j]) {
          keys.push(diff.keys[j] as Atom);
          values.push(dv[j] as Atom);
        }
        i++;
        j++;
      }
    }
    out = { keys, values };
  }
  if (out.keys.length < type.min || out.keys.length > type.max) {
    throw new OvsdbError('ovsdb error', 'Datum crated by diff has size error');
  }
  return out;
}

/** A datum holding exactly one atom (or pair). */
export function singletonDatum(type: OvsdbType, key: Atom, value?: Atom): Datum {
  return { keys: [key], values: type.value ? [value as Atom] : null };
}

/** The UUIDs a datum refers to in `table` (keys and values whose base type has refTable). */
export function* datumRefs(
  type: OvsdbType,
  d: Datum,
): Generator<[string, string, 'strong' | 'weak']> {
  if (type.key.refTable) {
    for (const k of d.keys) yield [type.key.refTable, k as string, type.key.refType ?? 'strong'];
  }
  if (type.value?.refTable && d.values) {
    for (const v of d.values)
      yield [type.value.refTable, v as string, type.value.refType ?? 'strong'];
  }
}

/**
 * OVS's ovsdb_datum_added_removed: what `newer` adds to and removes from `older` (a changed
 * map value counts as one pair removed and one added). Scalars: all of older removed, all
 * of newer added. Linear in the sizes, as both are sorted.
 */
export function datumAddedRemoved(
  type: OvsdbType,
  older: Datum,
  newer: Datum,
): { added: Datum; removed: Datum } {
  if (!isCompositeType(type)) return { added: newer, removed: older };
  const kt = type.key.type;
  const hasV = type.value !== null;
  const ak: Atom[] = [];
  const av: Atom[] | null = hasV ? [] : null;
  const rk: Atom[] = [];
  const rv: Atom[] | null = hasV ? [] : null;
  const ov = older.values ?? [];
  const nv = newer.values ?? [];
  let i = 0;
  let j = 0;
  while (i < older.keys.length || j < newer.keys.length) {
    const c =
      i >= older.keys.length
        ? 1
        : j >= newer.keys.length
          ? -1
          : compareAtoms(kt, older.keys[i] as Atom, newer.keys[j] as Atom);
    if (c < 0) {
      rk.push(older.keys[i] as Atom);
      if (rv) rv.push(ov[i] as Atom);
      i++;
    } else if (c > 0) {
      ak.push(newer.keys[j] as Atom);
      if (av) av.push(nv[j] as Atom);
      j++;
    } else {
      if (hasV && ov[i] !== nv[j]) {
        rk.push(older.keys[i] as Atom);
        (rv as Atom[]).push(ov[i] as Atom);
        ak.push(newer.keys[j] as Atom);
        (av as Atom[]).push(nv[j] as Atom);
      }
      i++;
      j++;
    }
  }
  return { added: { keys: ak, values: av }, removed: { keys: rk, values: rv } };
}
