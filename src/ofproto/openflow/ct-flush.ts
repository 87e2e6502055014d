/*
 * Conntrack flushes (Nicira NXT_CT_FLUSH_ZONE and NXT_CT_FLUSH): a zone, or a match on the
 * original and reply tuples as nested properties, as OVS's ofp_ct_match.
 */

import { isIPv4, isIPv6 } from 'node:net';
import { splitKeyValues } from '../../lib/flow/match-parse.ts';
import { OfpError } from './errors.ts';
import { nxtMessage, type RawMessage } from './raw-msg.ts';

export const NXT_CT_FLUSH_ZONE = 29;
export const NXT_CT_FLUSH = 32;

const ORIG = 0;
const REPLY = 1;
const ZONE = 2;
const T_SRC = 0;
const T_DST = 1;
const T_SRC_PORT = 2;
const T_DST_PORT = 3;
const T_ICMP_ID = 4;
const T_ICMP_TYPE = 5;
const T_ICMP_CODE = 6;

export interface CtTuple {
  /** 16-byte IPv6 or IPv4-mapped addresses; all zero when not given. */
  src: Uint8Array;
  dst: Uint8Array;
  srcPort: number;
  dstPort: number;
  icmpId: number;
  icmpType: number;
  icmpCode: number;
}

export interface CtMatch {
  ipProto: number;
  /** 0 none, 4 IPv4, 6 IPv6. */
  l3: 0 | 4 | 6;
  orig: CtTuple;
  reply: CtTuple;
}

export function emptyTuple(): CtTuple {
  return {
    src: new Uint8Array(16),
    dst: new Uint8Array(16),
    srcPort: 0,
    dstPort: 0,
    icmpId: 0,
    icmpType: 0,
    icmpCode: 0,
  };
}

export function emptyCtMatch(): CtMatch {
  return { ipProto: 0, l3: 0, orig: emptyTuple(), reply: emptyTuple() };
}

const isZero = (a: Uint8Array): boolean => a.every((b) => b === 0);
const isIcmp = (p: number): boolean => p === 1 || p === 58;

export function encodeCtFlushZone(zone: number, version: number, xid: number): Uint8Array {
  const body = new Uint8Array(8);
  body[6] = zone >> 8;
  body[7] = zone & 255;
  return nxtMessage(version, NXT_CT_FLUSH_ZONE, xid, body);
}

/* An OpenFlow property: type, length, payload, zero padding to 8. */
function prop(type: number, payload: number[] | Uint8Array, nested = false): number[] {
  const head = [type >> 8, type & 255, 0, 0];
  const pre = nested ? [0, 0, 0, 0] : [];
  const out = [...head, ...pre, ...payload];
  const len = out.length;
  out[2] = len >> 8;
  out[3] = len & 255;
  while (out.length % 8) out.push(0);
  return out;
}

function tupleProps(t: CtTuple, proto: number): number[] {
  const out: number[] = [];
  if (!isZero(t.src)) out.push(...prop(T_SRC, t.src));
  if (!isZero(t.dst)) out.push(...prop(T_DST, t.dst));
  if (isIcmp(proto)) {
    out.push(...prop(T_ICMP_ID, [t.icmpId >> 8, t.icmpId & 255, 0, 0]));
    out.push(...prop(T_ICMP_TYPE, [t.icmpType]));
    out.push(...prop(T_ICMP_CODE, [t.icmpCode]));
  } else {
    if (t.srcPort) out.push(...prop(T_SRC_PORT, [t.srcPort >> 8, t.srcPort & 255, 0, 0]));
    if (t.dstPort) out.push(...prop(T_DST_PORT, [t.dstPort >> 8, t.dstPort & 255, 0, 0]));
  }
  return out;
}

export function encodeCtFlush(
  m: CtMatch,
  zone: number | null,
  version: number,
  xid: number,
): Uint8Array {
  const body = [m.ipProto, 0, 0, 0, 0, 0, 0, 0];
  const o = tupleProps(m.orig, m.ipProto);
  if (o.length) body.push(...prop(ORIG, o, true));
  const r = tupleProps(m.reply, m.ipProto);
  if (r.length) body.push(...prop(REPLY, r, true));
  if (zone !== null) body.push(...prop(ZONE, [zone >> 8, zone & 255, 0, 0]));
  return nxtMessage(version, NXT_CT_FLUSH, xid, Uint8Array.from(body));
}

function* props(b: Uint8Array, at: number, end: number): Generator<[number, Uint8Array]> {
  while (at < end) {
    if (end - at < 4) throw new OfpError('OFPBPC_BAD_LEN');
    const type = (b[at] << 8) | b[at + 1];
    const len = (b[at + 2] << 8) | b[at + 3];
    if (len < 4 || at + len > end) throw new OfpError('OFPBPC_BAD_LEN');
    yield [type, b.subarray(at + 4, at + len)];
    at += (len + 7) & ~7;
  }
}

/* OVS reads a 16-bit property from any payload of 2 bytes or more (it writes 2 + 2 pad). */
function be16(p: Uint8Array): number {
  if (p.length < 2) throw new OfpError('OFPBPC_BAD_LEN');
  return (p[0] << 8) | p[1];
}

function isMapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i]) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

function decodeTuple(p: Uint8Array, t: CtTuple, m: CtMatch): void {
  if (p.length < 4) throw new OfpError('OFPBPC_BAD_LEN');
  const inner = p.subarray(4);
  for (const [type, v] of props(inner, 0, inner.length)) {
    if (type === T_SRC || type === T_DST) {
      if (v.length < 16) throw new OfpError('OFPBPC_BAD_LEN');
      const a = v.slice(0, 16);
      if (type === T_SRC) t.src = a;
      else t.dst = a;
      const l3 = isZero(a) ? 0 : isMapped(a) ? 4 : 6;
      if (m.l3 && l3 && m.l3 !== l3) throw new OfpError('OFPBPC_BAD_VALUE');
      m.l3 = l3;
    } else if (type === T_SRC_PORT) t.srcPort = be16(v);
    else if (type === T_DST_PORT) t.dstPort = be16(v);
    else if (type === T_ICMP_ID) t.icmpId = be16(v);
    else if (type === T_ICMP_TYPE || type === T_ICMP_CODE) {
      if (v.length !== 1) throw new OfpError('OFPBPC_BAD_LEN');
      if (type === T_ICMP_TYPE) t.icmpType = v[0];
      else t.icmpCode = v[0];
    }
  }
}

export function decodeCtFlush(msg: RawMessage): { match: CtMatch; zone: number | null } {
  const b = msg.bytes;
  const at = msg.bodyAt;
  if (b.length < at + 8) throw new OfpError('OFPBRC_BAD_LEN');
  for (let i = 1; i < 8; i++) if (b[at + i]) throw new OfpError('NXBRC_MUST_BE_ZERO');
  const m = emptyCtMatch();
  m.ipProto = b[at];
  let zone: number | null = null;
  for (const [type, p] of props(b, at + 8, b.length)) {
    if (type === ORIG) decodeTuple(p, m.orig, m);
    else if (type === REPLY) decodeTuple(p, m.reply, m);
    else if (type === ZONE) zone = be16(p);
  }
  return { match: m, zone };
}

/* inet_ntop(AF_INET6): the longest run (two groups or more) of zero groups becomes "::". */
function ipv6Text(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i] << 8) | a[i + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]): string => x.map((v) => v.toString(16)).join(':');
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

function addrText(a: Uint8Array): string {
  return isMapped(a) ? `${a[12]}.${a[13]}.${a[14]}.${a[15]}` : ipv6Text(a);
}

function tupleText(t: CtTuple, proto: number, l3: number): string {
  const v4 = l3 === 4;
  let s = `${v4 ? 'ct_nw_src=' : 'ct_ipv6_src='}${addrText(t.src)}`;
  s += `${v4 ? ',ct_nw_dst=' : ',ct_ipv6_dst='}${addrText(t.dst)}`;
  if (isIcmp(proto)) s += `,icmp_id=${t.icmpId},icmp_type=${t.icmpType},icmp_code=${t.icmpCode}`;
  else s += `,ct_tp_src=${t.srcPort},ct_tp_dst=${t.dstPort}`;
  return s;
}

export function formatCtFlush(d: { match: CtMatch; zone: number | null }): string {
  const m = d.match;
  return ` zone=${d.zone ?? 0} '${tupleText(m.orig, m.ipProto, m.l3)},ct_nw_proto=${m.ipProto}' '${tupleText(m.reply, m.ipProto, m.l3)}'`;
}

/* OVS's str_to_u8/u16: C's strtol base 0 over the whole string, then a range check. */
function uint(s: string, max: number): number | null {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = Number.parseInt(s, 8);
  else if (/^[1-9][0-9]*$/.test(s)) v = Number.parseInt(s, 10);
  else return null;
  return v <= max ? v : null;
}

function v4Mapped(s: string): Uint8Array | null {
  if (!isIPv4(s)) return null;
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  s.split('.').forEach((p, i) => {
    a[12 + i] = Number(p);
  });
  return a;
}

function v6Bytes(s: string): Uint8Array | null {
  if (!isIPv6(s) || s.includes('%')) return null;
  let head = s;
  let tail4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail4 = s
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [l, r] = head.includes('::') ? head.split('::') : [head, null];
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const groups =
    r === null ? left : [...left, ...new Array(8 - left.length - right.length).fill('0'), ...right];
  const a = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    a[2 * i] = v >> 8;
    a[2 * i + 1] = v & 255;
  });
  if (tail4.length) a.set(tail4, 12);
  return a;
}

/**
 * ovs-ofctl's ct tuple argument into `t` (and the match's protocol and L3 type); returns the
 * error text OVS gives, or null.
 */
export function parseCtTuple(s: string, t: CtTuple, m: CtMatch): string | null {
  for (const [key, value] of splitKeyValues(s)) {
    if (!value) return `field ${key} missing value`;
    const bad = `failed to parse field ${key}`;
    if (key === 'ct_nw_src' || key === 'ct_nw_dst') {
      const src = key[6] === 's';
      if (m.l3 && m.l3 !== 4) return `the L3 protocol does not match ${value}`;
      if (!isZero(src ? t.src : t.dst)) return `${key} is set multiple times`;
      const a = v4Mapped(value);
      if (!a) return bad;
      m.l3 = 4;
      if (src) t.src = a;
      else t.dst = a;
    } else if (key === 'ct_ipv6_src' || key === 'ct_ipv6_dst') {
      const src = key[8] === 's';
      if (m.l3 && m.l3 !== 6) return `the L3 protocol does not match ${value}`;
      if (!isZero(src ? t.src : t.dst)) return `${key} is set multiple times`;
      const a = v6Bytes(value);
      if (!a) return bad;
      m.l3 = 6;
      if (src) t.src = a;
      else t.dst = a;
    } else if (key === 'ct_nw_proto') {
      const v = uint(value, 255);
      if (v === null) return bad;
      m.ipProto = v;
    } else if (key === 'ct_tp_src' || key === 'ct_tp_dst') {
      const v = uint(value, 0xffff);
      if (v === null) return bad;
      if (key[6] === 's') t.srcPort = v;
      else t.dstPort = v;
    } else if (key === 'icmp_type' || key === 'icmp_code' || key === 'icmp_id') {
      if (!isIcmp(m.ipProto)) return 'invalid L4 fields';
      const v = uint(value, key === 'icmp_id' ? 0xffff : 255);
      if (v === null) return bad;
      if (key === 'icmp_type') t.icmpType = v;
      else if (key === 'icmp_code') t.icmpCode = v;
      else t.icmpId = v;
    } else return `invalid conntrack tuple field: ${key}`;
  }
  if (!m.ipProto && (t.srcPort || t.dstPort)) return 'port is set without protocol';
  return null;
}
