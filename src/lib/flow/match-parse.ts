/*
 * Parsing the ovs-ofctl flow syntax: field values as OVS's mf_parse() reads them, the match
 * part of a flow (parseMatch), and a packet's exact flow (parseExactFlow, as ofproto/trace and
 * compose-packet take it). Errors are OVS's own messages.
 */

import { parseIpv4, parseIpv6, parseMac, prefixMaskWords } from '../packet/addr.ts';
import { vlog } from '../vlog.ts';
import { type Field, type FieldFormat, fieldByName, fieldExactMask } from './fields.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  ETH_TYPE_VLAN_8021Q,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VLAN_CFI,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_VLAN0,
} from './layout.ts';
import { type Match, matchSet, matchSetField, newMatch, prereqOk } from './match.ts';
import { CT_STATE_NAMES, TCP_FLAG_NAMES, TUN_FLAG_NAMES } from './match-format.ts';
import { ofpPortFromString } from './ofp-port.ts';

export type ParseMatchResult =
  | {
      ok: true;
      match: Match;
      /** Set when the text had `priority=`. */
      priority: number | undefined;
      /** Keywords that are not match fields (table, cookie, actions...), in order. */
      others: Array<[string, string]>;
    }
  | { ok: false; error: string };

export interface ParseOptions {
  /** Resolves port names for in_port and friends. */
  portNumber?: (name: string) => number | undefined;
  /** Accept keywords that are not fields (returned in `others`) instead of failing. */
  allowOthers?: boolean;
}

const PROTOCOLS: Record<string, [number, number]> = {
  ip: [ETH_TYPE_IP, 0],
  ipv4: [ETH_TYPE_IP, 0],
  icmp: [ETH_TYPE_IP, IPPROTO_ICMP],
  tcp: [ETH_TYPE_IP, IPPROTO_TCP],
  udp: [ETH_TYPE_IP, IPPROTO_UDP],
  sctp: [ETH_TYPE_IP, IPPROTO_SCTP],
  ipv6: [ETH_TYPE_IPV6, 0],
  ip6: [ETH_TYPE_IPV6, 0],
  icmp6: [ETH_TYPE_IPV6, IPPROTO_ICMPV6],
  tcp6: [ETH_TYPE_IPV6, IPPROTO_TCP],
  udp6: [ETH_TYPE_IPV6, IPPROTO_UDP],
  sctp6: [ETH_TYPE_IPV6, IPPROTO_SCTP],
  arp: [ETH_TYPE_ARP, 0],
  rarp: [ETH_TYPE_RARP, 0],
  mpls: [ETH_TYPE_MPLS, 0],
  mplsm: [ETH_TYPE_MPLS_MCAST, 0],
};

/** Splits OVS flow syntax into key/value pairs as ofputil_parse_key_value() does. */
export function splitKeyValues(s: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  const n = s.length;
  const isSep = (c: string) => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (i < n) {
    while (i < n && isSep(s[i])) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && !':=(, \t\r\n'.includes(s[j])) j++;
    const key = s.slice(i, j);
    let value = '';
    if (j < n && (s[j] === '=' || s[j] === ':')) {
      j++;
      const start = j;
      let depth = 0;
      while (j < n) {
        const c = s[j];
        if (c === '(') depth++;
        else if (c === ')') {
          if (depth === 0) break;
          depth--;
        } else if (depth === 0 && isSep(c)) break;
        j++;
      }
      value = s.slice(start, j);
    } else if (j < n && s[j] === '(') {
      j++;
      const start = j;
      let depth = 1;
      while (j < n && depth > 0) {
        if (s[j] === '(') depth++;
        else if (s[j] === ')') depth--;
        if (depth > 0) j++;
      }
      value = s.slice(start, j);
      if (j < n) j++;
    }
    out.push([key, value]);
    i = j;
  }
  return out;
}

/* strtoull(s, &end, 0) limited to the whole string; returns null on syntax error. */
function parseCInteger(s: string): bigint | null {
  const t = s.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return BigInt(t);
  if (/^0[0-7]*$/.test(t)) return BigInt(`0o${t.slice(1) || '0'}`);
  if (/^\+?[1-9][0-9]*$/.test(t)) return BigInt(t.replace('+', ''));
  return null;
}

type ValueMask = { value: bigint; mask: bigint } | { error: string };

/* OVS's parse_int_string for one half of "value/mask": hex digits beyond the field's byte
 * width are an error, as are decimal values that do not fit. */
function parseIntHalf(s: string, nBytes: number): bigint | 'range' | null {
  if (/^0[xX]/.test(s)) {
    const digits = s.slice(2).replace(/^0+/, '');
    if (!/^[0-9a-fA-F]*$/.test(digits)) return null;
    if (Math.ceil(digits.length / 2) > nBytes) return 'range';
    return digits === '' ? 0n : BigInt(`0x${digits}`);
  }
  const v = parseCInteger(s);
  if (v === null) return null;
  if (v >= 1n << 64n) return 'range';
  if (v >> BigInt(8 * nBytes) !== 0n) return 'range';
  return v;
}

function parseInteger(f: Field, s: string): ValueMask {
  const slash = s.indexOf('/');
  const vs = slash >= 0 ? s.slice(0, slash) : s;
  const v = parseIntHalf(vs, f.nBytes);
  if (v === null || v === 'range') {
    return {
      error:
        v === 'range'
          ? `${s}: value too large for ${f.nBytes}-byte field ${f.name}`
          : `${s}: bad syntax for ${f.name} value`,
    };
  }
  if (slash < 0) return { value: v, mask: (1n << BigInt(8 * f.nBytes)) - 1n };
  const mk = parseIntHalf(s.slice(slash + 1), f.nBytes);
  if (mk === null || mk === 'range') {
    return {
      error:
        mk === 'range'
          ? `${s}: mask too large for ${f.nBytes}-byte field ${f.name}`
          : `${s}: bad syntax for ${f.name} mask`,
    };
  }
  return { value: v, mask: mk };
}

function bigToWords(v: bigint, nWords: number): number[] {
  const r: number[] = [];
  for (let i = nWords - 1; i >= 0; i--) r.push(Number((v >> BigInt(32 * i)) & 0xffffffffn));
  return r;
}

function wordsToBig(w: readonly number[]): bigint {
  let v = 0n;
  for (const x of w) v = (v << 32n) | BigInt(x >>> 0);
  return v;
}

function parseFlags(
  s: string,
  names: readonly string[],
  allowed: number,
  what: string,
): { value: number; mask: number } | { error: string } {
  const num = /^(0[xX][0-9a-fA-F]+|[0-9]+)\/(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(s);
  if (num) {
    const v = Number(num[1]);
    const m = Number(num[2]);
    if (v & ~allowed || m & ~allowed) return { error: `${s}: unknown ${what} flag(s)` };
    return { value: v, mask: m };
  }
  const bitOf = (name: string) => names.indexOf(name);
  if (s.startsWith('+') || s.startsWith('-')) {
    let value = 0;
    let mask = 0;
    const re = /([+-])([^+-]+)/g;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      // OVS reports the text from the offending flag name on.
      const rest = s.slice(m.index + 1);
      consumed += m[0].length;
      const b = bitOf(m[2]);
      if (b >= 0 && mask & (1 << b)) {
        return { error: `${rest}: Each ${what} flag can be specified only once` };
      }
      if (b < 0 || !((1 << b) & allowed)) return { error: `${rest}: unknown ${what} flag(s)` };
      mask |= 1 << b;
      if (m[1] === '+') value |= 1 << b;
    }
    if (consumed !== s.length) return { error: `${s}: unknown ${what} flag(s)` };
    return { value, mask };
  }
  let value = 0;
  for (const part of s.split('|')) {
    if (/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(part)) {
      const v = Number(part);
      if (v & ~allowed) return { error: `${s}: unknown ${what} flag(s)` };
      value |= v;
      continue;
    }
    const b = bitOf(part);
    if (b < 0 || !((1 << b) & allowed)) return { error: `${s}: unknown ${what} flag(s)` };
    value |= 1 << b;
  }
  return { value, mask: 0xffffffff };
}

const FRAGS: ReadonlyArray<[string, number, number]> = [
  ['no', 3, 0],
  ['first', 3, 1],
  ['later', 3, 3],
  ['no', 1, 0],
  ['yes', 1, 1],
  ['not_later', 2, 0],
  ['later', 2, 2],
];

/**
 * Parses a field's value text ("value", "value/mask", "*", CIDR, flag syntax...) as OVS's
 * mf_parse() does. Returns words most significant first in the field's own bit positions.
 */
export function parseFieldValue(
  f: Field,
  s: string,
  opts?: ParseOptions,
): { value: number[]; mask: number[] } | { error: string } {
  const zero = new Array<number>(f.nWords).fill(0);
  if (s === '*') return { value: zero, mask: zero.slice() };
  let value: number[];
  let mask: number[];
  const fmt: FieldFormat = f.format;
  switch (fmt) {
    case 'decimal':
    case 'hexadecimal': {
      const r = parseInteger(f, s);
      if ('error' in r) return r;
      value = bigToWords(r.value, f.nWords);
      mask = bigToWords(r.mask, f.nWords);
      break;
    }
    case 'ipv4': {
      const slash = s.indexOf('/');
      const ip = parseIpv4(slash >= 0 ? s.slice(0, slash) : s);
      if (ip === null) return { error: `${s}: invalid IP address` };
      let m = 0xffffffff;
      if (slash >= 0) {
        const ms = s.slice(slash + 1);
        const asIp = parseIpv4(ms);
        if (asIp !== null) m = asIp;
        else if (/^-?[0-9]+$/.test(ms)) {
          const p = Number(ms);
          if (p < 0 || p > 32) {
            return { error: `${s}: IPv4 network prefix bits not between 0 and 32, inclusive` };
          }
          m = prefixMaskWords(p, 1)[0];
        } else return { error: `${s}: invalid IP address` };
      }
      value = [ip];
      mask = [m];
      break;
    }
    case 'ipv6': {
      const slash = s.indexOf('/');
      const ip = parseIpv6(slash >= 0 ? s.slice(0, slash) : s);
      if (ip === null) return { error: `${s}: invalid IPv6 address` };
      let m = [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
      if (slash >= 0) {
        const ms = s.slice(slash + 1);
        if (/^-?[0-9]+$/.test(ms)) {
          const p = Number(ms);
          if (p < 0 || p > 128) {
            return {
              error: `${s}: IPv6 network prefix bits not between 0 and 128, inclusive`,
            };
          }
          m = prefixMaskWords(p, 4);
        } else {
          const pm = parseIpv6(ms);
          if (pm === null) return { error: `${s}: Invalid IPv6 mask` };
          m = pm;
        }
      }
      value = ip;
      mask = m;
      break;
    }
    case 'ethernet': {
      const slash = s.indexOf('/');
      const mac = parseMac(slash >= 0 ? s.slice(0, slash) : s);
      const mm = slash >= 0 ? parseMac(s.slice(slash + 1)) : [0xffff, 0xffffffff];
      if (!mac || !mm) return { error: `${s}: invalid Ethernet address` };
      value = mac;
      mask = mm as number[];
      break;
    }
    case 'ofp-port':
    case 'ofp-port-oxm': {
      const p = ofpPortFromString(s, opts?.portNumber);
      if (p === null) {
        // Between OF1.0's 16-bit ports and OF1.1's reserved ones: OVS says why it refuses.
        const n = /^\d+$/.test(s) ? Number(s) : -1;
        if (n > 0xffff && n < 0xffffff00) {
          vlog('ofp_port').warn(
            `port ${n} is outside the supported range 0 through ffff or 0xffffff00 through 0xffffffff`,
          );
        }
        return {
          error:
            fmt === 'ofp-port'
              ? `${s}: invalid or unknown port for ${f.name}`
              : `${s}: port value out of range for ${f.name}`,
        };
      }
      value = [p];
      mask = [0xffffffff];
      break;
    }
    case 'frag': {
      const h = FRAGS.find(([n]) => n === s.toLowerCase());
      if (!h) {
        return {
          error: `${s}: unknown fragment type (valid types are "no", "yes", "first", "later", "not_later"`,
        };
      }
      // Several entries share a name; OVS takes the first (the A|L form).
      value = [h[2]];
      mask = [h[1]];
      break;
    }
    case 'tcp-flags':
    case 'tun-flags':
    case 'ct-state': {
      const r =
        fmt === 'tcp-flags'
          ? parseFlags(s, TCP_FLAG_NAMES, 0xfff, 'TCP')
          : fmt === 'tun-flags'
            ? parseFlags(s, TUN_FLAG_NAMES, 0x1, 'tunnel')
            : parseFlags(s, CT_STATE_NAMES, 0xff, 'ct_state');
      if ('error' in r) return r;
      value = [r.value >>> 0];
      mask = [r.mask >>> 0];
      break;
    }
    case 'packet-type': {
      const m = /^\((0[xX][0-9a-fA-F]+|[0-9]+),(0[xX][0-9a-fA-F]+|[0-9]+)\)$/.exec(s);
      if (!m) return { error: `${s}: bad syntax for packet type` };
      value = [((Number(m[1]) << 16) | Number(m[2])) >>> 0];
      mask = [0xffffffff];
      break;
    }
  }
  if (!f.maskable) {
    const mb = wordsToBig(mask);
    const full = (1n << BigInt(32 * f.nWords)) - 1n;
    const fieldFull = (1n << BigInt(8 * f.nBytes)) - 1n;
    const isOnes = f.format === 'frag' ? true : (mb & fieldFull) === fieldFull || mb === full;
    if (mb !== 0n && !isOnes) return { error: `${s}: invalid mask for field ${f.name}` };
  }
  return { value, mask };
}

/* "name[start..end]" / "name[bit]" / "name[]". */
function parseSubfield(spec: string): { f: Field; ofs: number; nBits: number } | { error: string } {
  const m = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(spec);
  if (!m) return { error: `${spec}: syntax error` };
  const f = fieldByName(m[1]);
  if (!f) return { error: `${spec}: unknown field \`${m[1]}'` };
  if (m[2] === undefined) return { f, ofs: 0, nBits: f.nBits };
  const a = Number(m[2]);
  const b = m[3] === undefined ? a : Number(m[3]);
  if (b < a) return { error: `${spec}: starting bit ${a} is after ending bit ${b}` };
  if (b >= f.nBits) {
    return {
      error: `${spec}: ${b - a + 1}-bit subfield that begins at offset ${a} exceeds ${f.nBits}-bit field ${f.name}`,
    };
  }
  return { f, ofs: a, nBits: b - a + 1 };
}

/**
 * Parses the match part of the ovs-ofctl flow syntax ("priority=100,tcp,nw_src=198.18.0.0/24,
 * tp_dst=80"). Keywords that are not fields are errors unless `allowOthers` is set, in which
 * case they are returned in `others` for the caller (table, cookie, actions...).
 */
export function parseMatch(s: string, opts?: ParseOptions): ParseMatchResult {
  const m = newMatch();
  let priority: number | undefined;
  const others: Array<[string, string]> = [];
  for (const [name, value] of splitKeyValues(s)) {
    const proto = PROTOCOLS[name];
    if (proto) {
      matchSet(m, 'eth_type', proto[0]);
      if (proto[1]) matchSet(m, 'nw_proto', proto[1]);
      continue;
    }
    if (name === 'eth' || name === 'no_readonly_table' || name === 'allow_hidden_fields') continue;
    const f = fieldByName(name);
    if (f) {
      const r = parseFieldValue(f, value === '' ? '0/0' : value, opts);
      if ('error' in r) return { ok: false, error: r.error };
      matchSetField(m, f, r.value, r.mask);
      continue;
    }
    if (name.includes('[')) {
      const sf = parseSubfield(name);
      if ('error' in sf) return { ok: false, error: sf.error };
      const v = parseCInteger(value);
      if (v === null) return { ok: false, error: `${value}: bad syntax for ${sf.f.name} value` };
      if (v >> BigInt(sf.nBits) !== 0n) {
        return { ok: false, error: `${value}: value too large for ${sf.nBits}-bit subfield` };
      }
      const sm = ((1n << BigInt(sf.nBits)) - 1n) << BigInt(sf.ofs);
      const cur = new Array<number>(sf.f.nWords);
      const curMask = new Array<number>(sf.f.nWords);
      // Read the field's current value and mask, then merge the subfield into them.
      for (let i = 0; i < sf.f.nWords; i++) {
        const w = sf.f.word + i;
        const sh = sf.f.nWords === 1 ? sf.f.shift : 0;
        const wm = sf.f.nWords === 1 || i === 0 ? sf.f.wordMask : 0xffffffff;
        cur[i] = ((m.key[w] & wm) >>> sh) >>> 0;
        curMask[i] = ((m.mask[w] & wm) >>> sh) >>> 0;
      }
      const nv = (wordsToBig(cur) & ~sm) | ((v << BigInt(sf.ofs)) & sm);
      const nm = wordsToBig(curMask) | sm;
      matchSetField(m, sf.f, bigToWords(nv, sf.f.nWords), bigToWords(nm, sf.f.nWords));
      continue;
    }
    if (name === 'priority') {
      if (!/^[0-9]+$/.test(value) || Number(value) > 65535) {
        return { ok: false, error: `invalid priority "${value}"` };
      }
      priority = Number(value);
      continue;
    }
    if (!opts?.allowOthers) {
      if (value === '' && name !== 'actions')
        return { ok: false, error: `field ${name} missing value` };
      return { ok: false, error: `unknown keyword ${name}` };
    }
    others.push([name, value]);
  }
  return { ok: true, match: m, priority, others };
}

/**
 * Splits ovs-ofctl flow text at its actions, as OVS's ofp_extract_actions() does: everything
 * from the first "action" on is the actions part (after its '='). Returns null actions when
 * there are none (or no '=' follows).
 */
export function splitActions(s: string): { match: string; actions: string | null } {
  const i = s.indexOf('action');
  if (i < 0) return { match: s, actions: null };
  const eq = s.indexOf('=', i + 1);
  return { match: s.slice(0, i), actions: eq < 0 ? null : s.slice(eq + 1) };
}

export type ParseFlowResult =
  | { ok: true; key: FlowKey; mask: FlowKey }
  | { ok: false; error: string };

function fieldValueIsSet(key: FlowKey, f: Field): boolean {
  if (f.nWords === 1) return (key[f.word] & f.wordMask) !== 0;
  for (let i = 0; i < f.nWords; i++) if (key[f.word + i] !== 0) return true;
  return false;
}

/**
 * Whether a parsed mask covers all of a field's bits. A field narrower than the word bits it
 * lives in (icmp_type in tp_src's 16) is exact when its own nBits are all set.
 */
function maskIsExact(f: Field, mask: readonly number[]): boolean {
  const exact = fieldExactMask(f);
  if (f.nWords === 1 && f.nBits < 32) exact[0] = (exact[0] & (2 ** f.nBits - 1)) >>> 0;
  return mask.every((x, i) => (x & exact[i]) >>> 0 === exact[i]);
}

/**
 * Parses a packet's flow in ovs-ofctl syntax (what ofproto/trace, compose-packet and
 * netdev-dummy/receive take), as OVS's parse_ofp_exact_flow() does: every field exact, each
 * set at most once and only after its prerequisites; in_port defaults to NONE (0xffff).
 * Returns the key and the mask of the fields given.
 */
export function parseExactFlow(s: string, opts?: ParseOptions): ParseFlowResult {
  const m = newMatch();
  const key = m.key;
  for (const [name, value] of splitKeyValues(s)) {
    const proto = PROTOCOLS[name];
    if (proto) {
      if (key[W_DL_TYPE]) return { ok: false, error: `${s}: Ethernet type set multiple times` };
      matchSet(m, 'eth_type', proto[0]);
      if (proto[1]) {
        if (key[W_NW] & 0xff) {
          return { ok: false, error: `${s}: network protocol set multiple times` };
        }
        matchSet(m, 'nw_proto', proto[1]);
      }
      continue;
    }
    const f = fieldByName(name);
    if (!f) return { ok: false, error: `${s}: unknown field ${name}` };
    if (!prereqOk(f.prereq, key)) {
      return { ok: false, error: `${s}: prerequisites not met for setting ${name}` };
    }
    if (fieldValueIsSet(key, f)) {
      return { ok: false, error: `${s}: field ${name} set multiple times` };
    }
    const r = parseFieldValue(f, value, opts);
    let err: string | null = null;
    if ('error' in r) err = r.error;
    else if (!maskIsExact(f, r.mask)) {
      err = `${value}: wildcards not allowed here`;
    }
    if (err !== null || 'error' in r) {
      return { ok: false, error: `${s}: bad value for ${name} (${err})` };
    }
    matchSetField(m, f, r.value);
  }
  if (!key[W_IN_PORT]) key[W_IN_PORT] = 0xffff;
  // A VLAN given by its fields is an 802.1Q header (OVS's flow_fix_vlan_tpid).
  for (const w of [W_VLAN0, W_VLAN0 + 1]) {
    if (key[w] & VLAN_CFI && key[w] >>> 16 === 0)
      key[w] = ((ETH_TYPE_VLAN_8021Q << 16) | (key[w] & 0xffff)) >>> 0;
  }
  return { ok: true, key, mask: m.mask };
}
