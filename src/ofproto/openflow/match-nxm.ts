/*
 * NXM (Nicira extended match) and OXM (OpenFlow 1.2+ extensible match) encoding of a Match.
 *
 * Both are a sequence of TLVs `header, value[, mask]`; they differ only in which headers carry
 * a field (oxm-fields.ts). Decoding follows OVS's nx_pull_raw(): an unknown field is
 * OFPBMC_BAD_FIELD, a TLV longer than what is left OFPBMC_BAD_LEN, value bits outside the mask
 * OFPBMC_BAD_WILDCARDS, a field set twice OFPBMC_DUP_FIELD, a field before its prerequisites
 * OFPBMC_BAD_PREREQ and an out-of-range value OFPBMC_BAD_VALUE.
 */

import { type Field, fieldByName } from '../../lib/flow/fields.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import {
  isMaskShared,
  type Match,
  matchSetField,
  newMatch,
  prereqOk,
} from '../../lib/flow/match.ts';
import { DecodeError, Reader, type Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import { OFP11_MATCH_LEN, pullOf11Match } from './match-of11.ts';
import {
  headerByWire,
  headerFor,
  headerWord,
  type MfHeader,
  OFPXMC_EXPERIMENTER,
} from './oxm-fields.ts';

export const OFPMT_STANDARD = 0;
export const OFPMT_OXM = 1;
export const NXM_NX_COOKIE_CLS = 0x0001;
export const NXM_NX_COOKIE_NUM = 30;

/* OF1.1+ port numbers (32 bits) <-> the 16-bit numbers the flow key holds, as OVS's
 * ofputil_port_from_ofp11(). */
export function portFromOfp11(p: number): number | null {
  if (p < 0xff00) return p;
  if (p >= 0xffffff00) return p - 0xffff0000;
  return null;
}

export function portToOfp11(p: number): number {
  return p >= 0xff00 ? (p + 0xffff0000) >>> 0 : p;
}

/* ---------------------------------------------------------------------------------------- */
/* Field values as bytes.                                                                   */

function fieldBytes(words: Uint32Array, f: Field, nBytes: number, out: Uint8Array, at: number) {
  if (f.nWords === 1) {
    let v = ((words[f.word] & f.wordMask) >>> f.shift) >>> 0;
    for (let i = nBytes - 1; i >= 0; i--) {
      out[at + i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    return;
  }
  // Most significant word first; the first word holds only nBits % 32 bits. The field's
  // bytes are the last nBytes of its words (a MAC skips 2 of its 8).
  const first = f.nWords * 4 - nBytes;
  for (let k = first; k < f.nWords * 4; k++) {
    const i = k >> 2;
    const w = words[f.word + i] & (i === 0 ? f.wordMask : 0xffffffff);
    out[at + k - first] = (w >>> (8 * (3 - (k & 3)))) & 0xff;
  }
}

/** Bytes (big-endian, nBytes) to the registry's words-most-significant-first form. */
function bytesToWords(f: Field, b: Uint8Array): number[] {
  if (f.nWords === 1) {
    let v = 0;
    for (const x of b) v = v * 256 + x;
    return [v >>> 0];
  }
  const tmp = new Uint8Array(f.nWords * 4);
  tmp.set(b.subarray(Math.max(0, b.length - tmp.length)), Math.max(0, tmp.length - b.length));
  const r: number[] = [];
  for (let i = 0; i < f.nWords; i++) {
    r.push(
      ((tmp[i * 4] << 24) | (tmp[i * 4 + 1] << 16) | (tmp[i * 4 + 2] << 8) | tmp[i * 4 + 3]) >>> 0,
    );
  }
  return r;
}

function fieldMaskIsSet(m: Match, f: Field): boolean {
  if ((m.mask[f.word] & f.wordMask) !== 0) return true;
  for (let i = 1; i < f.nWords; i++) if (m.mask[f.word + i] !== 0) return true;
  return false;
}

function fieldMaskIsExact(m: Match, f: Field): boolean {
  if ((m.mask[f.word] & f.wordMask) >>> 0 !== f.wordMask) return false;
  for (let i = 1; i < f.nWords; i++) if (m.mask[f.word + i] >>> 0 !== 0xffffffff) return false;
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding.                                                                                */

const F = (n: string): Field => {
  const f = fieldByName(n);
  if (!f) throw new Error(`flow registry lacks ${n}`);
  return f;
};

/* The fields that never share key bits with another, in the order written. */
const PLAIN_META = [
  'tun_id',
  'tun_src',
  'tun_dst',
  'tun_ipv6_src',
  'tun_ipv6_dst',
  'tun_flags',
  'tun_gbp_id',
  'tun_gbp_flags',
  'tun_erspan_idx',
  'tun_erspan_ver',
  'tun_erspan_dir',
  'tun_erspan_hwid',
  'tun_gtpu_flags',
  'tun_gtpu_msgtype',
  'metadata',
  'pkt_mark',
  'ct_state',
  'ct_zone',
  'ct_mark',
  'ct_label',
  'ct_nw_proto',
  'ct_nw_src',
  'ct_nw_dst',
  'ct_ipv6_src',
  'ct_ipv6_dst',
  'ct_tp_src',
  'ct_tp_dst',
  'conj_id',
  'dp_hash',
  'recirc_id',
  'actset_output',
].map(F);
const REGS = Array.from({ length: 16 }, (_, i) => F(`reg${i}`));

export interface MatchEncodeOptions {
  /** OXM (OpenFlow 1.2+) rather than NXM. */
  oxm: boolean;
  /** OpenFlow wire version (for which OXM assignments are standard). */
  version: number;
}

/*
 * The field list depends on the mask and, through prerequisites, on dl_type, nw_proto and the
 * VLAN bits of the key; rules of one classifier subtable share a read-only mask, so a dump of
 * many flows derives each list once per mask and key shape.
 */
const fieldsByMask = new WeakMap<Uint32Array, Map<number, readonly Field[]>>();
/* Only ever a shared mask (so holding it past its subtable costs one mask, no more). */
let lastMask: Uint32Array | null = null;
let lastShape = -1;
let lastFields: readonly Field[] = [];
/* The OXM/NXM headers of lastFields for one version (oxm is part of the field list's key). */
let hdrFields: readonly Field[] | null = null;
let hdrVersion = -1;
let hdrList: Array<MfHeader | undefined> = [];

/** The registry fields that together express `m`, in the order OVS-like encoders write them. */
export function matchFields(m: Match, oxm: boolean): readonly Field[] {
  const shape =
    (m.key[W_DL_TYPE] & 0xffff) * 1024 +
    (m.key[W_NW] & 0xff) * 4 +
    (m.key[W_VLAN0] & 0x1fff ? 2 : 0) +
    (oxm ? 1 : 0);
  // A dump walks a subtable's rules in a row: the last answer usually holds.
  if (m.mask === lastMask && shape === lastShape) return lastFields;
  if (!isMaskShared(m.mask)) return matchFieldsOf(m, oxm);
  let byShape = fieldsByMask.get(m.mask);
  if (byShape === undefined) {
    byShape = new Map();
    fieldsByMask.set(m.mask, byShape);
  }
  let fields = byShape.get(shape);
  if (fields === undefined) {
    fields = matchFieldsOf(m, oxm);
    byShape.set(shape, fields);
  }
  lastMask = m.mask;
  lastShape = shape;
  lastFields = fields;
  return fields;
}

function matchFieldsOf(m: Match, oxm: boolean): Field[] {
  const out: Field[] = [];
  const add = (n: string) => {
    const f = F(n);
    if (fieldMaskIsSet(m, f)) out.push(f);
  };
  if (m.mask[W_IN_PORT]) out.push(F(oxm ? 'in_port_oxm' : 'in_port'));
  add('eth_dst');
  add('eth_src');
  add('eth_type');
  const vm = m.mask[W_VLAN0] & 0xffff;
  if (vm && !oxm) {
    out.push(F('vlan_tci'));
  } else if (vm) {
    // OXM has no TCI: the VID and CFI bits go as vlan_vid, the PCP only when a VLAN is present
    // (as OVS's nx_put_raw() does, so vlan_tci=0 reads back as vlan_tci=0x0000/0x1fff).
    if (vm & 0x1fff) out.push(F('vlan_vid'));
    if (vm & 0xe000 && m.key[W_VLAN0] & 0x1fff) out.push(F('vlan_pcp'));
  }
  const dlType = m.key[W_DL_TYPE];
  const proto = m.key[W_NW] & 0xff;
  if (dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST) {
    add('mpls_label');
    add('mpls_tc');
    add('mpls_bos');
    add('mpls_ttl');
  }
  if (dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) {
    if (dlType === ETH_TYPE_IP) {
      add('ip_src');
      add('ip_dst');
    } else {
      add('ipv6_src');
      add('ipv6_dst');
      add('ipv6_label');
    }
    add('ip_frag');
    add(oxm ? 'ip_dscp' : 'nw_tos');
    add('nw_ecn');
    add('nw_ttl');
    add('nw_proto');
    if (proto === IPPROTO_TCP) {
      add('tcp_src');
      add('tcp_dst');
      add('tcp_flags');
    } else if (proto === IPPROTO_UDP) {
      add('udp_src');
      add('udp_dst');
    } else if (proto === IPPROTO_SCTP) {
      add('sctp_src');
      add('sctp_dst');
    } else if (proto === IPPROTO_ICMP && dlType === ETH_TYPE_IP) {
      add('icmp_type');
      add('icmp_code');
    } else if (proto === IPPROTO_ICMPV6 && dlType === ETH_TYPE_IPV6) {
      add('icmpv6_type');
      add('icmpv6_code');
      add('nd_target');
      add('nd_sll');
      add('nd_tll');
      add('nd_reserved');
      add('nd_options_type');
    }
  } else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) {
    add('arp_op');
    add('arp_spa');
    add('arp_tpa');
    add('arp_sha');
    add('arp_tha');
  }
  for (const r of REGS) if (fieldMaskIsSet(m, r)) out.push(r);
  for (const f of PLAIN_META) if (fieldMaskIsSet(m, f)) out.push(f);
  if (m.mask[F('packet_type').word]) out.push(F('packet_type'));
  return out;
}

/** Writes `words` (most significant first, as the registry holds a field) as nBytes bytes. */
function putWordsBytes(w: Writer, f: Field, words: readonly number[], nBytes: number): void {
  if (f.nWords === 1) {
    const v = words[0] >>> 0;
    for (let i = nBytes - 1; i >= 0; i--) w.u8(Math.floor(v / 2 ** (8 * i)) & 0xff);
    return;
  }
  // Skip the leading bytes the field does not have (e.g. 2 of the 8 bytes of a MAC's words).
  let skip = f.nWords * 4 - nBytes;
  for (let i = 0; i < f.nWords; i++) {
    const x = words[i] >>> 0;
    for (let b = 3; b >= 0; b--) {
      if (skip > 0) {
        skip--;
        continue;
      }
      w.u8((x >>> (8 * b)) & 0xff);
    }
  }
}

/**
 * Writes one TLV for a field from words (value and optional mask, as set_field carries them);
 * in_port is sent as OF1.1+ in_port_oxm when the header is the OXM one.
 */
export function putFieldTlv(
  w: Writer,
  h: MfHeader,
  value: readonly number[],
  mask: readonly number[] | null,
): void {
  const f = h.field;
  let v = value;
  if (f.name === 'in_port_oxm') v = [portToOfp11(value[0])];
  const masked = mask !== null && f.maskable;
  w.u32(headerWord(h, masked));
  if (h.experimenter) w.u32(h.experimenter);
  putWordsBytes(w, f, v, h.nBytes);
  if (masked) putWordsBytes(w, f, mask, h.nBytes);
}

/** A pulled TLV's value (and mask) as registry words, checked as OVS's mf_set() would. */
export function entryWords(e: PulledEntry): { value: number[]; mask: number[] | null } {
  const h = e.header!;
  const f = h.field;
  const value = bytesToWords(f, e.value);
  const mask = e.mask ? bytesToWords(f, e.mask) : null;
  if (f.name === 'in_port_oxm') {
    const p = portFromOfp11(value[0]);
    if (p === null) throw new OfpError('OFPBMC_BAD_VALUE', 'in_port');
    return { value: [p], mask };
  }
  if (!checkValue(f, value)) throw new OfpError('OFPBMC_BAD_VALUE', h.name);
  return { value, mask };
}

/** Writes one TLV for `f` taken from `m` (the mask is written when it is not exact). */
export function putEntry(w: Writer, m: Match, f: Field, h: MfHeader): void {
  const masked = f.maskable && !fieldMaskIsExact(m, f);
  w.u32(headerWord(h, masked));
  if (h.experimenter) w.u32(h.experimenter);
  // Written in place: this runs for every field of every flow in a dump and every packet-in.
  const n = h.nBytes;
  w.zeros(masked ? 2 * n : n);
  const at = w.pos - (masked ? 2 * n : n);
  if (f.name === 'in_port_oxm') {
    // OF1.1+ ports are 32 bits; the key holds OpenFlow 1.0's 16-bit numbers.
    let v = portToOfp11(m.key[W_IN_PORT]);
    for (let i = n - 1; i >= 0; i--) {
      w.buf[at + i] = v & 0xff;
      v = Math.floor(v / 256);
    }
  } else {
    fieldBytes(m.key, f, n, w.buf, at);
  }
  if (masked) fieldBytes(m.mask, f, n, w.buf, at + n);
}

/** Writes the raw TLVs of `m` (no ofp_match header, no padding); returns their length. */
export function putMatchRaw(
  w: Writer,
  m: Match,
  opts: MatchEncodeOptions,
  cookie?: { value: bigint; mask: bigint },
): number {
  const start = w.pos;
  const fields = matchFields(m, opts.oxm);
  if (fields === lastFields) {
    // A cached field list: its headers for this version are worth keeping beside it.
    if (fields !== hdrFields || opts.version !== hdrVersion) {
      hdrFields = fields;
      hdrVersion = opts.version;
      hdrList = fields.map((f) => headerFor(f.name, opts.oxm, opts.version));
    }
    for (let i = 0; i < fields.length; i++) {
      const h = hdrList[i];
      if (h) putEntry(w, m, fields[i], h);
    }
  } else {
    for (const f of fields) {
      const h = headerFor(f.name, opts.oxm, opts.version);
      if (h) putEntry(w, m, f, h);
    }
  }
  if (cookie && cookie.mask !== 0n) {
    const exact = cookie.mask === 0xffffffffffffffffn;
    w.u32(((NXM_NX_COOKIE_CLS << 16) | (NXM_NX_COOKIE_NUM << 9) | (exact ? 8 : 0x110)) >>> 0);
    w.u64(cookie.value);
    if (!exact) w.u64(cookie.mask);
  }
  return w.pos - start;
}

/** An OF1.2+ `ofp_match` (type OXM, length, TLVs, padding to 8). */
export function putOxmMatch(w: Writer, m: Match, version: number): void {
  const start = w.pos;
  w.u16(OFPMT_OXM).u16(0);
  putMatchRaw(w, m, { oxm: true, version });
  w.setU16(start + 2, w.pos - start);
  w.pad(8, start);
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding.                                                                                */

export interface PulledEntry {
  header: MfHeader | null;
  /** Raw header word and experimenter id, for error reports of unknown fields. */
  word: number;
  experimenter: number;
  hasMask: boolean;
  value: Uint8Array;
  mask: Uint8Array | null;
}

/**
 * Pulls one TLV header+payload (shared by matches and set_field / learn). In a match
 * (`inMatch`) a known header with the wrong length is an unknown field, as in OVS.
 */
export function pullEntry(r: Reader, inMatch = false): PulledEntry {
  if (r.remaining < 4) throw new OfpError('OFPBMC_BAD_LEN', 'truncated OXM header');
  const word = r.u32();
  const cls = word >>> 16;
  const num = (word >>> 9) & 0x7f;
  const hasMask = (word & 0x100) !== 0;
  let len = word & 0xff;
  let experimenter = 0;
  if (cls === OFPXMC_EXPERIMENTER) {
    if (len < 4 || r.remaining < 4) throw new OfpError('OFPBMC_BAD_LEN', 'experimenter OXM');
    experimenter = r.u32();
    len -= 4;
  }
  if (r.remaining < len) throw new OfpError('OFPBMC_BAD_LEN', 'OXM payload truncated');
  const payload = r.bytes(len);
  let h = headerByWire(cls, num, experimenter) ?? null;
  if (h) {
    const want = h.nBytes * (hasMask ? 2 : 1);
    if (len !== want && inMatch) h = null;
    else if (len !== want) throw new OfpError('OFPBMC_BAD_LEN', `${h.name} length ${len}`);
  }
  const half = hasMask ? len / 2 : len;
  return {
    header: h,
    word,
    experimenter,
    hasMask,
    value: payload.subarray(0, half),
    mask: hasMask ? payload.subarray(half) : null,
  };
}

function checkValue(f: Field, v: number[]): boolean {
  if (f.nWords !== 1) return (v[0] & ~f.wordMask) === 0;
  return (((v[0] << f.shift) >>> 0) & ~f.wordMask) === 0 && v[0] >>> 0 <= f.wordMask >>> f.shift;
}

/** Applies one pulled TLV to `m` with OVS's checks. */
export function applyEntry(m: Match, e: PulledEntry, strict: boolean): void {
  const h = e.header;
  if (!h) {
    if (strict) throw new OfpError('OFPBMC_BAD_FIELD', `0x${e.word.toString(16)}`);
    return;
  }
  const f = h.field;
  const value = bytesToWords(f, e.value);
  const mask = e.mask ? bytesToWords(f, e.mask) : null;
  if (mask) {
    if (!f.maskable) throw new OfpError('OFPBMC_BAD_MASK', h.name);
    for (let i = 0; i < e.value.length; i++) {
      if (e.value[i] & ~e.mask![i]) throw new OfpError('OFPBMC_BAD_WILDCARDS', h.name);
    }
  }
  if (strict && !prereqOk(f.prereq, m.key)) throw new OfpError('OFPBMC_BAD_PREREQ', h.name);
  let probe = f;
  if (f.name === 'in_port_oxm') probe = F('in_port');
  if (fieldMaskIsSet(m, probe)) throw new OfpError('OFPBMC_DUP_FIELD', h.name);
  if (f.name === 'in_port_oxm') {
    const p = portFromOfp11(value[0]);
    if (p === null) throw new OfpError('OFPBMC_BAD_VALUE', 'in_port');
    matchSetField(m, F('in_port'), [p]);
    return;
  }
  if (!checkValue(f, value)) throw new OfpError('OFPBMC_BAD_VALUE', h.name);
  matchSetField(m, f, value, mask ?? undefined);
}

/** Parses `len` bytes of raw NXM/OXM TLVs into a Match. */
export function pullMatchRaw(
  r: Reader,
  len: number,
  strict = true,
  cookie?: { value: bigint; mask: bigint },
): Match {
  const m = newMatch();
  if (r.remaining < len) throw new OfpError('OFPBMC_BAD_LEN', 'match longer than message');
  const sub = r.sub(len);
  while (sub.remaining > 0) {
    const at = sub.pos;
    // The cookie pseudo-field shares its number with mpls_ttl: the length tells them apart.
    if (
      sub.remaining >= 4 &&
      sub.peekU32() >>> 9 === ((NXM_NX_COOKIE_CLS << 7) | NXM_NX_COOKIE_NUM) &&
      (sub.peekU32() & 0x1ff) === (sub.peekU32() & 0x100 ? 0x110 : 8)
    ) {
      const word = sub.u32();
      const hasMask = (word & 0x100) !== 0;
      if (!cookie) throw new OfpError('OFPBMC_BAD_FIELD', 'cookie not allowed here');
      if (cookie.mask) throw new OfpError('OFPBMC_DUP_FIELD', 'cookie');
      try {
        cookie.value = sub.u64();
        cookie.mask = hasMask ? sub.u64() : 0xffffffffffffffffn;
      } catch {
        throw new OfpError('OFPBMC_BAD_LEN', `cookie at ${at}`);
      }
      continue;
    }
    applyEntry(m, pullEntry(sub, true), strict);
  }
  return m;
}

/**
 * Parses an OF1.2+ `ofp_match` (OXM), consuming its padding; not `strict`: unknown fields are
 * skipped and prerequisites not checked (OVS's oxm_pull_match_loose()).
 */
export function pullOxmMatch(r: Reader, strict = true): Match {
  if (r.remaining < 4) throw new OfpError('OFPBMC_BAD_LEN', 'ofp_match header');
  const type = r.peekU16();
  const len = r.peekU16(2);
  if (len < 4) throw new OfpError('OFPBMC_BAD_LEN', 'ofp_match length');
  // OpenFlow 1.1's fixed match, which OVS takes in any version that has ofp_match headers.
  if (type === OFPMT_STANDARD) {
    if (len !== OFP11_MATCH_LEN || r.remaining < len) {
      throw new OfpError('OFPBMC_BAD_LEN', 'standard match');
    }
    return pullOf11Match(r);
  }
  if (type !== OFPMT_OXM) throw new OfpError('OFPBMC_BAD_TYPE', `match type ${type}`);
  const padded = (len + 7) & ~7;
  if (r.remaining < padded) throw new OfpError('OFPBMC_BAD_LEN', 'ofp_match beyond message');
  const start = r.pos;
  r.skip(4);
  const m = pullMatchRaw(r, len - 4, strict);
  r.pos = start + padded;
  return m;
}

/** Reads a whole TLV list from bytes (tests and ofp-print helpers). */
export function decodeNxmBytes(b: Uint8Array): Match {
  try {
    return pullMatchRaw(new Reader(b), b.length);
  } catch (e) {
    if (e instanceof DecodeError) throw new OfpError('OFPBMC_BAD_LEN', e.message);
    throw e;
  }
}
