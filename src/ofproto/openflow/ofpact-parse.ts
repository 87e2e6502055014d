/*
 * The ovs-ofctl action syntax of ovs-actions(7) parsed into ofpacts, with OVS's checks on
 * instruction order and `drop`, and its error messages where a user sees them.
 */

import { type Field, fieldByName } from '../../lib/flow/fields.ts';
import { parseFieldValue, splitKeyValues } from '../../lib/flow/match-parse.ts';
import { ofpPortFromString } from '../../lib/flow/ofp-port.ts';
import { parseIpv4, parseIpv6, parseMac } from '../../lib/packet/addr.ts';
import type {
  BundleAlgorithm,
  ControllerReason,
  HashFields,
  LearnSpec,
  MultipathAlgorithm,
  Nat,
  Ofpact,
  Subfield,
} from './ofpact.ts';
import { OFPCR_REASONS } from './ofpact.ts';
import { bigToFieldWords, debugOfpact, fieldBits } from './ofpact-format.ts';
import { headerByWireName } from './oxm-fields.ts';

export interface OfpactParseOptions {
  portNumber?: (name: string) => number | undefined;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

class ParseError extends Error {}

function fail(msg: string): never {
  throw new ParseError(msg);
}

/* ---------------------------------------------------------------------------------------- */
/* Small value parsers.                                                                     */

function parseUint(s: string, max: number, what: string): number {
  const t = s.trim();
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(t)) v = Number.parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) v = Number(t);
  else fail(`invalid ${what} "${s}"`);
  if (v > max) fail(`invalid ${what} "${s}"`);
  return v;
}

function parseBig(s: string, what: string): bigint {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t)) return BigInt(t);
  return fail(`${s}: invalid ${what}`);
}

function parsePort(s: string, opts?: OfpactParseOptions): number {
  const p = ofpPortFromString(s, opts?.portNumber);
  if (p === null) fail(`${s}: output to unknown port`);
  return p;
}

/** A field by its registry name or an NXM/OXM name. */
export function lookupField(name: string): Field | undefined {
  return fieldByName(name) ?? headerByWireName(name.replace(/_W$/, ''))?.field;
}

/** `NAME[]`, `NAME[i]`, `NAME[a..b]` or a bare `NAME` (the whole field). */
export function parseSubfield(s: string): Subfield {
  const m = /^([A-Za-z0-9_]+)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?$/.exec(s.trim());
  if (!m) fail(`${s}: syntax error parsing subfield`);
  const f = lookupField(m[1]);
  if (!f) fail(`${s.trim()}: unknown field \`${m[1]}'`);
  const width = fieldBits(f);
  if (m[2] === undefined) return { field: f.name, ofs: 0, nBits: width };
  const start = Number(m[2]);
  const end = m[3] === undefined ? start : Number(m[3]);
  if (end < start) fail(`${s}: starting bit ${start} is after ending bit ${end}`);
  if (end >= width) fail(`${s}: ending bit ${end} exceeds field width ${width}`);
  return { field: f.name, ofs: start, nBits: end - start + 1 };
}

/** Bits `ofs..ofs+nBits` of a field as value/mask words (for set_field built from `load:`). */
function subfieldValueMask(sf: Subfield, v: bigint): { value: number[]; mask: number[] } {
  const f = fieldByName(sf.field)!;
  const fmask = ((1n << BigInt(sf.nBits)) - 1n) << BigInt(sf.ofs);
  const val = (v << BigInt(sf.ofs)) & fmask;
  return { value: bigToFieldWords(f, val), mask: bigToFieldWords(f, fmask) };
}

function splitArrow(s: string, what: string): [string, string] {
  const i = s.indexOf('->');
  if (i < 0) fail(`${what}: missing \`->'`);
  return [s.slice(0, i), s.slice(i + 2)];
}

/** Top-level split on commas and blanks (OVS's ofputil_parse_key_value() delimiters) that
 * respects parentheses: "strip_vlan output:1" is two actions, as in OVS. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && (c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n')) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

function parseHexBytes(s: string): Uint8Array {
  const clean = s.replace(/[.\s]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) fail(`bad hex digit in \`${s}'`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/* ---------------------------------------------------------------------------------------- */
/* Individual actions.                                                                      */

function parseSetField(arg: string, opts?: OfpactParseOptions): Ofpact {
  const [valueText, fieldName] = splitArrow(arg, arg);
  const f = lookupField(fieldName.trim());
  if (!f) fail(`${fieldName}: unknown field`);
  if (!f.writable) fail(`${f.name} is read-only`);
  const r = parseFieldValue(f, valueText.trim(), { portNumber: opts?.portNumber });
  if ('error' in r) fail(r.error);
  return { type: 'set_field', field: f.name, value: r.value, mask: r.mask, raw: 'set_field' };
}

function parseLoad(arg: string): Ofpact {
  const [valueText, dstText] = splitArrow(arg, arg);
  const dst = parseSubfield(dstText);
  const v = parseBig(valueText, 'load value');
  if (v >> BigInt(dst.nBits) !== 0n) {
    fail(`${valueText}: value does not fit into ${dst.nBits} bits`);
  }
  const f = fieldByName(dst.field)!;
  if (!f.writable) fail(`${f.name} is read-only`);
  const { value, mask } = subfieldValueMask(dst, v);
  return { type: 'set_field', field: dst.field, value, mask, raw: 'load' };
}

function parseMove(arg: string): Ofpact {
  const [a, b] = splitArrow(arg, arg);
  const src = parseSubfield(a);
  const dst = parseSubfield(b);
  if (src.nBits !== dst.nBits) {
    fail(
      `source field ${a} (${src.nBits} bits) differs from destination field ${b} (${dst.nBits} bits) in width`,
    );
  }
  return { type: 'reg_move', src, dst };
}

function parseController(arg: string): Ofpact {
  const a: Extract<Ofpact, { type: 'controller' }> = {
    type: 'controller',
    maxLen: 0xffff,
    controllerId: 0,
    reason: 'action',
    pause: false,
  };
  if (arg === '') return a;
  if (/^[0-9]+$/.test(arg)) {
    a.maxLen = parseUint(arg, 0xffff, 'max_len');
    return a;
  }
  for (const [k, v] of splitKeyValues(arg)) {
    if (k === 'reason') {
      if (!OFPCR_REASONS.includes(v as ControllerReason)) fail(`unknown reason "${v}"`);
      a.reason = v as ControllerReason;
    } else if (k === 'max_len') a.maxLen = parseUint(v, 0xffff, 'max_len');
    else if (k === 'id') a.controllerId = parseUint(v, 0xffff, 'controller id');
    else if (k === 'userdata') a.userdata = parseHexBytes(v);
    else if (k === 'pause') a.pause = true;
    else if (k === 'meter_id') a.meterId = parseUint(v, 0xffffffff, 'meter_id');
    else fail(`${k}: unknown controller action argument`);
  }
  return a;
}

function parseOutput(arg: string, opts?: OfpactParseOptions): Ofpact {
  if (arg.includes('[')) return { type: 'output_reg', src: parseSubfield(arg), maxLen: 0 };
  if (arg.includes('=')) {
    let port = -1;
    let maxLen = -1;
    for (const [k, v] of splitKeyValues(arg)) {
      if (k === 'port') port = parsePort(v, opts);
      else if (k === 'max_len') maxLen = parseUint(v, 0xffffffff, 'max_len');
      else fail(`${k}: unknown output argument`);
    }
    if (port < 0) fail('output: port is required');
    if (maxLen < 0) return portAction(port, 0);
    return { type: 'output_trunc', port, maxLen };
  }
  const port = ofpPortFromString(arg, opts?.portNumber);
  // Not a port: a field name alone is an output to the whole field ("output:NXM_NX_REG0").
  if (port === null && lookupField(arg.trim())) {
    return { type: 'output_reg', src: parseSubfield(arg), maxLen: 0 };
  }
  return portAction(parsePort(arg, opts), 0);
}

function portAction(port: number, maxLen: number): Ofpact {
  if (port === 0xfffd) {
    return {
      type: 'controller',
      maxLen: maxLen || 0xffff,
      controllerId: 0,
      reason: 'action',
      pause: false,
    };
  }
  return { type: 'output', port, maxLen };
}

function parseEnqueue(arg: string, opts?: OfpactParseOptions): Ofpact {
  const parts = arg.includes(':') ? arg.split(':') : arg.split(',');
  if (parts.length !== 2) fail('enqueue: bad syntax');
  return {
    type: 'enqueue',
    port: parsePort(parts[0].trim(), opts),
    queue: parseUint(parts[1], 0xffffffff, 'queue'),
  };
}

function parseResubmit(arg: string, isParen: boolean, opts?: OfpactParseOptions): Ofpact {
  if (!isParen) {
    return { type: 'resubmit', port: parsePort(arg, opts), tableId: 255, withCt: false };
  }
  const parts = arg.split(',').map((x) => x.trim());
  if (parts.length > 3) fail(`${arg}: too many arguments to resubmit`);
  const port = parts[0] ? parsePort(parts[0], opts) : 0xfff8;
  const tableId = parts[1] ? parseUint(parts[1], 254, 'table') : 255;
  let withCt = false;
  if (parts.length === 3) {
    if (parts[2] !== 'ct') fail(`${parts[2]}: unknown resubmit argument`);
    withCt = true;
  }
  if (port === 0xfff8 && tableId === 255) {
    fail('at least one "in_port" or "table" must be specified on resubmit');
  }
  return { type: 'resubmit', port, tableId, withCt };
}

const HASH_FIELDS: readonly HashFields[] = [
  'eth_src',
  'symmetric_l4',
  'symmetric_l3l4',
  'symmetric_l3l4+udp',
  'nw_src',
  'nw_dst',
  'symmetric_l3',
];

function parseBundle(arg: string, load: boolean, opts?: OfpactParseOptions): Ofpact {
  const mi = arg.search(/(members|slaves):/);
  if (mi < 0) fail(`${arg}: not enough arguments to bundle action`);
  const head = arg
    .slice(0, mi)
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x);
  // OVS tokenizes the member list on commas, blanks and brackets: "members:[2,3]" is 2 and 3.
  const members = arg
    .slice(mi)
    .replace(/^(members|slaves):/, '')
    .split(/[,\s[\]]+/)
    .map((x) => x.trim())
    .filter((x) => x)
    .map((p) => parsePort(p, opts));
  if (head.length !== (load ? 5 : 4)) fail(`${arg}: not enough arguments to bundle action`);
  const [fields, basis, alg, type] = head;
  if (!HASH_FIELDS.includes(fields as HashFields)) fail(`${fields}: unknown fields`);
  if (alg !== 'active_backup' && alg !== 'hrw') fail(`${alg}: unknown algorithm`);
  if (type !== 'ofport') fail(`${type}: unknown member type`);
  const a: Extract<Ofpact, { type: 'bundle' }> = {
    type: 'bundle',
    load,
    fields: fields as HashFields,
    basis: parseUint(basis, 0xffff, 'basis'),
    algorithm: alg as BundleAlgorithm,
    memberType: 'ofport',
    members,
  };
  if (load) a.dst = parseSubfield(head[4]);
  return a;
}

function parseMultipath(arg: string): Ofpact {
  const p = arg.split(',').map((x) => x.trim());
  if (p.length !== 6) fail(`${arg}: not enough arguments to multipath action`);
  if (!HASH_FIELDS.includes(p[0] as HashFields)) fail(`${p[0]}: unknown fields`);
  const algs: MultipathAlgorithm[] = ['modulo_n', 'hash_threshold', 'hrw', 'iter_hash'];
  if (!algs.includes(p[2] as MultipathAlgorithm)) fail(`${p[2]}: unknown algorithm`);
  const nLinks = parseUint(p[3], 65536, 'n_links');
  if (nLinks < 1) fail(`${p[3]}: n_links must be between 1 and 65536`);
  const dst = parseSubfield(p[5]);
  return {
    type: 'multipath',
    fields: p[0] as HashFields,
    basis: parseUint(p[1], 0xffff, 'basis'),
    algorithm: p[2] as MultipathAlgorithm,
    maxLink: nLinks - 1,
    arg: parseUint(p[4], 0xffffffff, 'arg'),
    dst,
  };
}

function parseLearnSrc(s: string): { subfield: Subfield } | { value: bigint } {
  const t = s.trim();
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) return { value: BigInt(t) };
  return { subfield: parseSubfield(t) };
}

function fieldValueToBig(words: readonly number[]): bigint {
  let v = 0n;
  for (const w of words) v = (v << 32n) | BigInt(w >>> 0);
  return v;
}

/* `dst[=src]` in learn: the value is a subfield if it reads as one, else an immediate (a whole
 * field's value, or an integer for part of one); `orig` (the whole learn argument) heads the
 * errors, which say why neither reading worked, in OVS's words. */
function parseLearnMatchSpec(
  orig: string,
  key: string,
  val: string,
  opts?: OfpactParseOptions,
): LearnSpec {
  let dst: Subfield;
  try {
    dst = parseSubfield(key);
  } catch (e) {
    if (e instanceof ParseError) fail(`${orig}: unknown keyword ${key}`);
    throw e;
  }
  if (val === '') return { kind: 'match', dst, src: { subfield: dst } };
  let subErr = '';
  try {
    const src = parseSubfield(val);
    if (src.nBits !== dst.nBits) {
      fail(`${orig}: bit widths of ${key} (${src.nBits}) and ${val} (${dst.nBits}) differ`);
    }
    return { kind: 'match', dst, src: { subfield: src } };
  } catch (e) {
    if (!(e instanceof ParseError) || e.message.includes('bit widths')) throw e;
    subErr = e.message;
  }
  const f = fieldByName(dst.field)!;
  let immErr = '';
  let v = 0n;
  if (dst.ofs === 0 && dst.nBits === fieldBits(f)) {
    const r = parseFieldValue(f, val, { portNumber: opts?.portNumber });
    if ('error' in r) immErr = r.error;
    else {
      v = fieldValueToBig(r.value);
      if (f.nWords === 1 && f.shift) v &= BigInt(f.wordMask >>> f.shift);
    }
  } else if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(val)) {
    immErr = `${orig}: cannot parse integer value`;
  } else {
    v = BigInt(val);
    if (v >> BigInt(dst.nBits)) {
      const shown = f.format === 'hexadecimal' ? `0x${v.toString(16)}` : String(v);
      immErr = `${orig}: value ${shown} does not fit into ${dst.nBits} bits`;
    }
  }
  if (immErr) {
    fail(
      `${orig}: ${key} value ${val} cannot be parsed as a subfield (${subErr}) or an immediate value (${immErr})`,
    );
  }
  return { kind: 'match', dst, src: { value: v } };
}

function parseLearn(arg: string, opts?: OfpactParseOptions): Ofpact {
  const a: Extract<Ofpact, { type: 'learn' }> = {
    type: 'learn',
    tableId: 1,
    idleTimeout: 0,
    hardTimeout: 0,
    finIdleTimeout: 0,
    finHardTimeout: 0,
    priority: 0x8000,
    cookie: 0n,
    flags: { sendFlowRem: false, deleteLearned: false, writeResult: false },
    limit: 0,
    specs: [],
  };
  for (const part of splitTop(arg)) {
    const eq = part.indexOf('=');
    const colon = part.indexOf(':');
    const key = part.slice(0, eq >= 0 ? eq : part.length);
    const val = eq >= 0 ? part.slice(eq + 1) : '';
    if (key === 'table') a.tableId = parseUint(val, 254, 'table');
    else if (key === 'priority') a.priority = parseUint(val, 0xffff, 'priority');
    else if (key === 'idle_timeout') a.idleTimeout = parseUint(val, 0xffff, 'idle_timeout');
    else if (key === 'hard_timeout') a.hardTimeout = parseUint(val, 0xffff, 'hard_timeout');
    else if (key === 'fin_idle_timeout') a.finIdleTimeout = parseUint(val, 0xffff, 'timeout');
    else if (key === 'fin_hard_timeout') a.finHardTimeout = parseUint(val, 0xffff, 'timeout');
    else if (key === 'cookie') a.cookie = parseBig(val, 'cookie');
    else if (key === 'limit') a.limit = parseUint(val, 0xffffffff, 'limit');
    else if (key === 'result_dst') {
      a.flags.writeResult = true;
      a.resultDst = parseSubfield(val);
    } else if (part === 'send_flow_rem') a.flags.sendFlowRem = true;
    else if (part === 'delete_learned') a.flags.deleteLearned = true;
    else if (part.startsWith('load:')) {
      const [src, dst] = splitArrow(part.slice(5), part);
      const d = parseSubfield(dst);
      const s = parseLearnSrc(src);
      if ('value' in s && s.value >> BigInt(d.nBits)) {
        fail(`${part.slice(5)}: value does not fit into ${d.nBits} bits`);
      }
      if ('subfield' in s && s.subfield.nBits !== d.nBits) {
        fail(`${part}: source and destination widths differ`);
      }
      a.specs.push({ kind: 'load', dst: d, src: s });
    } else if (part.startsWith('output:')) {
      a.specs.push({ kind: 'output', src: parseSubfield(part.slice(7)) });
    } else if (colon >= 0 && (eq < 0 || colon < eq)) {
      fail(`${part}: unknown keyword`);
    } else {
      a.specs.push(parseLearnMatchSpec(arg, key, val, opts));
    }
  }
  return a;
}

function parseSample(arg: string, opts?: OfpactParseOptions): Ofpact {
  const a: Extract<Ofpact, { type: 'sample' }> = {
    type: 'sample',
    probability: 0,
    collectorSetId: 0,
    obsDomainId: 0,
    obsPointId: 0,
    samplingPort: 0xffff,
    direction: 'default',
  };
  for (const [k, v] of splitKeyValues(arg)) {
    if (k === 'probability') a.probability = parseUint(v, 0xffff, 'probability');
    else if (k === 'collector_set_id') a.collectorSetId = parseUint(v, 0xffffffff, 'id');
    else if (k === 'obs_domain_id') a.obsDomainId = parseUint(v, 0xffffffff, 'id');
    else if (k === 'obs_point_id') a.obsPointId = parseUint(v, 0xffffffff, 'id');
    else if (k === 'sampling_port') a.samplingPort = parsePort(v, opts);
    else if (k === 'ingress' || k === 'egress') a.direction = k;
    else fail(`invalid key "${k}" in "sample" argument`);
  }
  if (a.probability === 0) fail('non-zero "probability" must be specified on sample');
  return a;
}

function parseNat(arg: string): Nat {
  const nat: Nat = {
    flags: { src: false, dst: false, persistent: false, hash: false, random: false },
  };
  for (const part of splitTop(arg)) {
    const eq = part.indexOf('=');
    const k = eq >= 0 ? part.slice(0, eq) : part;
    const v = eq >= 0 ? part.slice(eq + 1) : '';
    if (k === 'src' || k === 'dst') {
      nat.flags[k] = true;
      if (v) parseNatRange(nat, v);
    } else if (k === 'persistent' || k === 'hash' || k === 'random') nat.flags[k] = true;
    else fail(`invalid key "${k}" in "nat" argument`);
  }
  return nat;
}

function parseNatRange(nat: Nat, s: string): void {
  let rest = s;
  if (!rest.startsWith('[') && rest.split(':').length > 2) {
    // Bare IPv6 addresses (no port can follow them).
    const [a, b] = rest.split('-');
    const min = parseIpv6(a);
    const max = b ? parseIpv6(b) : min;
    if (!min || !max) fail(`${s}: bad IPv6 address`);
    nat.ipv6 = { min, max };
    return;
  }
  if (rest.startsWith('[')) {
    const m = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(.*)$/.exec(rest);
    if (!m) fail(`${s}: bad nat range`);
    const min = parseIpv6(m[1]);
    const max = m[2] ? parseIpv6(m[2]) : min;
    if (!min || !max) fail(`${s}: bad IPv6 address`);
    nat.ipv6 = { min, max };
    rest = m[3];
  } else {
    const m = /^([0-9.]+)(?:-([0-9.]+))?(.*)$/.exec(rest);
    if (!m) fail(`${s}: bad nat range`);
    const min = parseIpv4(m[1]);
    const max = m[2] ? parseIpv4(m[2]) : min;
    if (min === null || max === null) fail(`${s}: bad IPv4 address`);
    nat.ipv4 = { min, max };
    rest = m[3];
  }
  if (rest.startsWith(':')) {
    const [a, b] = rest.slice(1).split('-');
    const min = parseUint(a, 0xffff, 'port');
    nat.proto = { min, max: b ? parseUint(b, 0xffff, 'port') : min };
  } else if (rest) fail(`${s}: bad nat range`);
}

function parseCt(arg: string, opts?: OfpactParseOptions): Ofpact {
  const a: Extract<Ofpact, { type: 'ct' }> = {
    type: 'ct',
    commit: false,
    force: false,
    zone: { imm: 0 },
    recircTable: 255,
    alg: 0,
    actions: [],
  };
  for (const [k, v] of splitKeyValues(arg)) {
    if (k === 'commit') a.commit = true;
    else if (k === 'force') a.force = true;
    else if (k === 'table') a.recircTable = parseUint(v, 254, 'table');
    else if (k === 'zone') {
      a.zone = /^(0x[0-9a-f]+|[0-9]+)$/i.test(v)
        ? { imm: parseUint(v, 0xffff, 'zone') }
        : { src: parseSubfield(v) };
    } else if (k === 'alg') {
      a.alg = v === 'ftp' ? 21 : v === 'tftp' ? 69 : parseUint(v, 0xffff, 'alg');
    } else if (k === 'exec') a.actions.push(...parseActionList(v, opts));
    else if (k === 'nat') a.actions.unshift({ type: 'nat', ...parseNat(v) });
    else fail(`invalid argument to "ct" action: \`${k}'`);
  }
  return a;
}

function parseWriteMetadata(arg: string): Ofpact {
  const [v, m] = arg.split('/');
  return {
    type: 'write_metadata',
    metadata: parseBig(v, 'metadata'),
    mask: m === undefined ? 0xffffffffffffffffn : parseBig(m, 'mask'),
  };
}

function parseOne(key: string, arg: string, isParen: boolean, opts?: OfpactParseOptions): Ofpact {
  switch (key) {
    case 'output':
      return parseOutput(arg, opts);
    case 'controller':
      return parseController(arg);
    case 'enqueue':
      return parseEnqueue(arg, opts);
    case 'bundle':
      return parseBundle(arg, false, opts);
    case 'bundle_load':
      return parseBundle(arg, true, opts);
    case 'mod_vlan_vid':
    case 'set_vlan_vid': {
      const vid = parseUint(arg, 0xffff, 'vlan_vid');
      if (vid & ~0xfff) fail(`${arg}: not a valid VLAN VID`);
      return { type: 'set_vlan_vid', vid, pushIfNeeded: key === 'mod_vlan_vid' };
    }
    case 'mod_vlan_pcp':
    case 'set_vlan_pcp': {
      const pcp = parseUint(arg, 0xff, 'vlan_pcp');
      if (pcp & ~7) fail(`${arg}: not a valid VLAN PCP`);
      return { type: 'set_vlan_pcp', pcp, pushIfNeeded: key === 'mod_vlan_pcp' };
    }
    case 'strip_vlan':
    case 'pop_vlan':
      return { type: 'strip_vlan', raw: key };
    case 'push_vlan': {
      const t = parseUint(arg, 0xffff, 'ethertype');
      if (t !== 0x8100 && t !== 0x88a8) fail(`${arg}: not a valid VLAN ethertype`);
      return { type: 'push_vlan', ethertype: t };
    }
    case 'mod_dl_src':
    case 'mod_dl_dst': {
      const mac = parseMac(arg);
      if (!mac) fail(`${arg}: invalid Ethernet address`);
      return { type: key === 'mod_dl_src' ? 'set_eth_src' : 'set_eth_dst', mac };
    }
    case 'mod_nw_src':
    case 'mod_nw_dst': {
      const ip = parseIpv4(arg);
      if (ip === null) fail(`${arg}: invalid IP address`);
      return { type: key === 'mod_nw_src' ? 'set_ipv4_src' : 'set_ipv4_dst', ip };
    }
    case 'mod_nw_tos': {
      const tos = parseUint(arg, 0xff, 'tos');
      if (tos & 3) fail(`${arg}: not a valid TOS`);
      return { type: 'set_ip_dscp', dscp: tos };
    }
    case 'mod_nw_ecn': {
      const ecn = parseUint(arg, 0xff, 'ecn');
      if (ecn > 3) fail(`${arg}: not a valid ECN`);
      return { type: 'set_ip_ecn', ecn };
    }
    case 'mod_nw_ttl':
      return { type: 'set_ip_ttl', ttl: parseUint(arg, 0xff, 'TTL') };
    case 'mod_tp_src':
    case 'mod_tp_dst':
      return {
        type: key === 'mod_tp_src' ? 'set_l4_src_port' : 'set_l4_dst_port',
        port: parseUint(arg, 0xffff, 'port'),
      };
    case 'set_field':
      return parseSetField(arg, opts);
    case 'load':
      return parseLoad(arg);
    case 'move':
      return parseMove(arg);
    case 'push':
      return { type: 'stack_push', src: parseSubfield(arg) };
    case 'pop':
      return { type: 'stack_pop', dst: parseSubfield(arg) };
    case 'dec_ttl': {
      if (!isParen) return { type: 'dec_ttl', controllerIds: [0], explicitIds: false };
      const ids = arg
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x)
        .map((x) => parseUint(x, 0xffff, 'controller id'));
      if (!ids.length) fail('dec_ttl_cnt_ids: expected at least one controller id.');
      return { type: 'dec_ttl', controllerIds: ids, explicitIds: true };
    }
    case 'set_mpls_label':
      return { type: 'set_mpls_label', label: parseUint(arg, 0xfffff, 'MPLS label') };
    case 'set_mpls_tc':
      return { type: 'set_mpls_tc', tc: parseUint(arg, 7, 'MPLS TC') };
    case 'set_mpls_ttl':
      return { type: 'set_mpls_ttl', ttl: parseUint(arg, 0xff, 'MPLS TTL') };
    case 'dec_mpls_ttl':
      return { type: 'dec_mpls_ttl' };
    case 'push_mpls':
    case 'pop_mpls': {
      const t = parseUint(arg, 0xffff, 'ethertype');
      if (key === 'push_mpls' && t !== 0x8847 && t !== 0x8848) {
        fail(`${arg}: not a valid MPLS ethertype`);
      }
      return { type: key, ethertype: t };
    }
    case 'set_tunnel':
    case 'set_tunnel64':
      return {
        type: 'set_tunnel',
        tunId: parseBig(arg, 'tunnel id'),
        wide: key === 'set_tunnel64',
      };
    case 'set_queue':
      return { type: 'set_queue', queue: parseUint(arg, 0xffffffff, 'queue') };
    case 'pop_queue':
      return { type: 'pop_queue' };
    case 'fin_timeout': {
      const a: Extract<Ofpact, { type: 'fin_timeout' }> = {
        type: 'fin_timeout',
        idleTimeout: 0,
        hardTimeout: 0,
      };
      for (const [k, v] of splitKeyValues(arg)) {
        if (k === 'idle_timeout') a.idleTimeout = parseUint(v, 0xffff, 'idle_timeout');
        else if (k === 'hard_timeout') a.hardTimeout = parseUint(v, 0xffff, 'hard_timeout');
        else fail(`invalid key '${k}' in 'fin_timeout' argument`);
      }
      return a;
    }
    case 'resubmit':
      return parseResubmit(arg, isParen, opts);
    case 'learn':
      return parseLearn(arg, opts);
    case 'conjunction': {
      const m = /^\s*(\d+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(arg);
      if (!m) fail(`"conjunction" syntax is "conjunction(id,i/n)"`);
      const k = Number(m[2]);
      const n = Number(m[3]);
      if (n < 2 || n > 64) fail(`number of clauses must be between 2 and 64`);
      if (k < 1 || k > n) fail(`clause index must be between 1 and number of clauses`);
      return { type: 'conjunction', id: Number(m[1]) >>> 0, clause: k - 1, nClauses: n };
    }
    case 'multipath':
      return parseMultipath(arg);
    case 'note':
      return { type: 'note', data: parseHexBytes(arg) };
    case 'exit':
      return { type: 'exit' };
    case 'sample':
      return parseSample(arg, opts);
    case 'clone':
      return { type: 'clone', actions: parseActionList(arg, opts) };
    case 'ct':
      return parseCt(arg, opts);
    case 'ct_clear':
      return { type: 'ct_clear' };
    case 'debug_slow':
    case 'debug_recirc':
      return debugOfpact(key);
    case 'check_pkt_larger': {
      const [n, dst] = splitArrow(arg, arg);
      const d = parseSubfield(dst);
      if (d.nBits !== 1) fail('Only 1-bit destination field is allowed');
      return { type: 'check_pkt_larger', pktLen: parseUint(n, 0xffff, 'length'), dst: d };
    }
    case 'group':
      return { type: 'group', groupId: parseUint(arg, 0xffffffff, 'group id') };
    case 'meter':
      return { type: 'meter', meterId: parseUint(arg, 0xffffffff, 'meter id') };
    case 'clear_actions':
      return { type: 'clear_actions' };
    case 'write_actions':
      return { type: 'write_actions', actions: parseActionList(arg, opts) };
    case 'write_metadata':
      return parseWriteMetadata(arg);
    case 'goto_table':
      return { type: 'goto_table', tableId: parseUint(arg, 254, 'table') };
  }
  if (key.toUpperCase() === 'CONTROLLER') return parseController(arg);
  // A bare port: a number or a reserved or named port.
  if (arg === '' && !isParen) {
    const p = ofpPortFromString(key, opts?.portNumber);
    if (p !== null) return portAction(p, 0);
  }
  return fail(`unknown action ${key}`);
}

/** Splits an action list into (key, arg, parenthesised) triples as OVS's parser does. */
function tokens(s: string): Array<[string, string, boolean]> {
  // check_pkt_larger(N)->dst keeps its destination after the parenthesis.
  const pre = s.replace(/check_pkt_larger\(([^)]*)\)->([^,\s]+)/g, 'check_pkt_larger:$1->$2');
  const out: Array<[string, string, boolean]> = [];
  for (const raw of splitTop(pre)) {
    const m = /^([^:=(]+)(?:([:=])([\s\S]*)|\(([\s\S]*)\))?$/.exec(raw);
    if (!m) fail(`${raw}: syntax error`);
    const key = m[1].trim();
    if (m[4] !== undefined) out.push([key, m[4], true]);
    else out.push([key, m[3] ?? '', false]);
  }
  return out;
}

function parseActionList(s: string, opts?: OfpactParseOptions): Ofpact[] {
  return tokens(s).map(([k, v, p]) => parseOne(k.toLowerCase() === k ? k : k, v, p, opts));
}

const INSTRUCTION_ORDER = ['meter', 'apply', 'clear', 'write', 'metadata', 'goto'] as const;
const INSTRUCTION_NAME: Record<string, string> = {
  meter: 'meter',
  apply: 'apply_actions',
  clear: 'clear_actions',
  write: 'write_actions',
  metadata: 'write_metadata',
  goto: 'goto_table',
};

function instrOf(a: Ofpact): (typeof INSTRUCTION_ORDER)[number] {
  switch (a.type) {
    case 'meter':
      return 'meter';
    case 'clear_actions':
      return 'clear';
    case 'write_actions':
      return 'write';
    case 'write_metadata':
      return 'metadata';
    case 'goto_table':
      return 'goto';
    default:
      return 'apply';
  }
}

/**
 * Parses the actions part of a flow (`mod_vlan_vid:5,output:2`, `drop`, instructions...) as
 * OVS's ofpacts_parse_instructions() does.
 */
export function parseOfpacts(s: string, opts?: OfpactParseOptions): ParseResult<Ofpact[]> {
  try {
    const toks = tokens(s);
    if (toks.some(([k]) => k === 'drop')) {
      if (toks.length > 1) {
        fail('"drop" must not be accompanied by any other action or instruction');
      }
      return { ok: true, value: [] };
    }
    const acts: Ofpact[] = [];
    for (const [k, v, p] of toks) {
      if (k === 'apply_actions') acts.push(...parseActionList(v, opts));
      else acts.push(parseOne(k, v, p, opts));
    }
    let last = -1;
    let lastName = '';
    const seen = new Set<string>();
    for (const a of acts) {
      const ins = instrOf(a);
      const idx = INSTRUCTION_ORDER.indexOf(ins);
      if (ins !== 'apply' && seen.has(ins)) {
        fail(`duplicate ${INSTRUCTION_NAME[ins]} instruction`);
      }
      if (idx < last) {
        fail(
          `invalid instruction ordering: ${INSTRUCTION_NAME[ins]} must appear before ${lastName}, for OpenFlow 1.1+ compatibility`,
        );
      }
      if (ins !== 'apply' || idx > last) {
        last = idx;
        lastName = INSTRUCTION_NAME[ins];
      }
      seen.add(ins);
    }
    const conj = acts.some((a) => a.type === 'conjunction');
    if (conj) {
      const other = acts.find((a) => a.type !== 'conjunction' && a.type !== 'note');
      if (other) {
        fail(
          `"conjunction" actions may be used along with "note" but not any other kind of action (such as the "${other.type}" action used here)`,
        );
      }
    }
    return { ok: true, value: acts };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e.message };
    throw e;
  }
}
