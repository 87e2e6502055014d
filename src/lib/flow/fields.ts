/*
 * The field registry: every matchable field of ovs-fields(7) that the flow key holds, with its
 * names, width, place in the key, prerequisites, maskability and text format.
 *
 * A field lives either in part of one key word (`nWords === 1`: the value is shifted left by
 * `shift` and covers the bits `wordMask`), or in `nWords` whole words, most significant first,
 * the first of them holding `nBits % 32` low bits (MACs, IPv6 addresses, 64/128-bit fields).
 */

import {
  N_REGS,
  W_ACTSET_OUTPUT,
  W_ARP_SHA,
  W_ARP_THA,
  W_CONJ_ID,
  W_CT_IPV6_DST,
  W_CT_IPV6_SRC,
  W_CT_LABEL,
  W_CT_MARK,
  W_CT_NW_DST,
  W_CT_NW_PROTO,
  W_CT_NW_SRC,
  W_CT_STATE,
  W_CT_TP,
  W_CT_ZONE,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_DP_HASH,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_METADATA,
  W_MPLS0,
  W_ND_OPTIONS_TYPE,
  W_ND_RESERVED,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_PACKET_TYPE,
  W_PKT_MARK,
  W_RECIRC_ID,
  W_REG0,
  W_SKB_PRIORITY,
  W_TCP_FLAGS,
  W_TP,
  W_TUN_DST,
  W_TUN_ERSPAN,
  W_TUN_ERSPAN_IDX,
  W_TUN_FLAGS,
  W_TUN_GBP,
  W_TUN_GTPU,
  W_TUN_ID,
  W_TUN_IPV6_DST,
  W_TUN_IPV6_SRC,
  W_TUN_SRC,
  W_TUN_TOS_TTL,
  W_VLAN0,
} from './layout.ts';

export type FieldFormat =
  | 'decimal'
  | 'hexadecimal'
  | 'ipv4'
  | 'ipv6'
  | 'ethernet'
  | 'ofp-port'
  | 'ofp-port-oxm'
  | 'frag'
  | 'tcp-flags'
  | 'tun-flags'
  | 'ct-state'
  | 'packet-type';

/** Prerequisites as named in ovs-fields(7). */
export type Prereq =
  | 'none'
  | 'ethernet'
  | 'arp'
  | 'ipv4'
  | 'ipv6'
  | 'vlan-vid'
  | 'mpls'
  | 'ip-any'
  | 'ct'
  | 'tcp'
  | 'udp'
  | 'sctp'
  | 'icmpv4'
  | 'icmpv6'
  | 'nd'
  | 'nd-solicit'
  | 'nd-advert';

/* Fields whose value is not simply "bits of the key": setting them also sets other bits. */
export type FieldSpecial = 'none' | 'dl-vlan' | 'vlan-pcp' | 'in-port-oxm';

export interface Field {
  readonly name: string;
  readonly aliases: readonly string[];
  /** Width in bits as documented (the value range). */
  readonly nBits: number;
  /** Width in bytes, as OVS uses to range-check parsed integers. */
  readonly nBytes: number;
  readonly word: number;
  readonly nWords: number;
  readonly shift: number;
  /** For one-word fields, the key bits the field covers; for wider ones, the first word's. */
  readonly wordMask: number;
  readonly maskable: boolean;
  readonly writable: boolean;
  readonly prereq: Prereq;
  readonly format: FieldFormat;
  readonly special: FieldSpecial;
}

interface Spec {
  n: string;
  a?: string[];
  bits: number;
  bytes?: number;
  w: number;
  nw?: number;
  sh?: number;
  wm?: number;
  mask?: boolean;
  rw?: boolean;
  pre?: Prereq;
  f: FieldFormat;
  sp?: FieldSpecial;
}

function def(s: Spec): Field {
  const nWords = s.nw ?? 1;
  const shift = s.sh ?? 0;
  let wordMask: number;
  if (s.wm !== undefined) {
    wordMask = s.wm >>> 0;
  } else if (nWords === 1) {
    wordMask = s.bits >= 32 ? 0xffffffff : (((1 << s.bits) - 1) << shift) >>> 0;
  } else {
    const top = s.bits % 32;
    wordMask = top === 0 ? 0xffffffff : ((1 << top) - 1) >>> 0;
  }
  return {
    name: s.n,
    aliases: s.a ?? [],
    nBits: s.bits,
    nBytes: s.bytes ?? Math.ceil(s.bits / 8),
    word: s.w,
    nWords,
    shift,
    wordMask,
    maskable: s.mask ?? true,
    writable: s.rw ?? true,
    prereq: s.pre ?? 'none',
    format: s.f,
    special: s.sp ?? 'none',
  };
}

const specs: Spec[] = [
  { n: 'dp_hash', bits: 32, w: W_DP_HASH, f: 'hexadecimal', rw: false },
  { n: 'recirc_id', bits: 32, w: W_RECIRC_ID, f: 'decimal', mask: false, rw: false },
  { n: 'packet_type', bits: 32, w: W_PACKET_TYPE, f: 'packet-type', mask: false, rw: false },
  { n: 'conj_id', bits: 32, w: W_CONJ_ID, f: 'decimal', mask: false, rw: false },
  { n: 'tun_id', a: ['tunnel_id'], bits: 64, w: W_TUN_ID, nw: 2, f: 'hexadecimal' },
  { n: 'tun_src', bits: 32, w: W_TUN_SRC, f: 'ipv4' },
  { n: 'tun_dst', bits: 32, w: W_TUN_DST, f: 'ipv4' },
  { n: 'tun_ipv6_src', bits: 128, w: W_TUN_IPV6_SRC, nw: 4, f: 'ipv6' },
  { n: 'tun_ipv6_dst', bits: 128, w: W_TUN_IPV6_DST, nw: 4, f: 'ipv6' },
  { n: 'tun_flags', bits: 16, w: W_TUN_FLAGS, wm: 0x1, f: 'tun-flags' },
  { n: 'tun_ttl', bits: 8, w: W_TUN_TOS_TTL, f: 'decimal', mask: false, rw: false },
  { n: 'tun_tos', bits: 8, w: W_TUN_TOS_TTL, sh: 8, f: 'decimal', mask: false, rw: false },
  { n: 'tun_gbp_id', bits: 16, w: W_TUN_GBP, sh: 16, f: 'decimal' },
  { n: 'tun_gbp_flags', bits: 8, w: W_TUN_GBP, f: 'hexadecimal' },
  { n: 'tun_erspan_idx', bits: 32, w: W_TUN_ERSPAN_IDX, wm: 0xfffff, f: 'hexadecimal' },
  { n: 'tun_erspan_ver', bits: 8, w: W_TUN_ERSPAN, sh: 24, wm: 0x0f000000, f: 'decimal' },
  { n: 'tun_erspan_dir', bits: 8, w: W_TUN_ERSPAN, sh: 16, wm: 0x00010000, f: 'decimal' },
  { n: 'tun_erspan_hwid', bits: 8, w: W_TUN_ERSPAN, sh: 8, wm: 0x3f00, f: 'hexadecimal' },
  { n: 'tun_gtpu_flags', bits: 8, w: W_TUN_GTPU, sh: 8, f: 'hexadecimal', rw: false },
  { n: 'tun_gtpu_msgtype', bits: 8, w: W_TUN_GTPU, f: 'decimal', rw: false },
  { n: 'metadata', bits: 64, w: W_METADATA, nw: 2, f: 'hexadecimal' },
  { n: 'in_port', bits: 16, w: W_IN_PORT, wm: 0xffffffff, f: 'ofp-port', mask: false },
  {
    n: 'in_port_oxm',
    bits: 32,
    w: W_IN_PORT,
    f: 'ofp-port-oxm',
    mask: false,
    sp: 'in-port-oxm',
  },
  { n: 'actset_output', bits: 32, w: W_ACTSET_OUTPUT, f: 'ofp-port-oxm', mask: false, rw: false },
  { n: 'skb_priority', bits: 32, w: W_SKB_PRIORITY, f: 'hexadecimal', mask: false, rw: false },
  { n: 'pkt_mark', bits: 32, w: W_PKT_MARK, f: 'hexadecimal' },
  { n: 'ct_state', bits: 32, w: W_CT_STATE, f: 'ct-state', rw: false },
  { n: 'ct_zone', bits: 16, w: W_CT_ZONE, f: 'hexadecimal', mask: false, rw: false },
  { n: 'ct_mark', bits: 32, w: W_CT_MARK, f: 'hexadecimal' },
  { n: 'ct_label', bits: 128, w: W_CT_LABEL, nw: 4, f: 'hexadecimal' },
  {
    n: 'ct_nw_proto',
    bits: 8,
    w: W_CT_NW_PROTO,
    f: 'decimal',
    mask: false,
    rw: false,
    pre: 'ct',
  },
  { n: 'ct_nw_src', bits: 32, w: W_CT_NW_SRC, f: 'ipv4', rw: false, pre: 'ct' },
  { n: 'ct_nw_dst', bits: 32, w: W_CT_NW_DST, f: 'ipv4', rw: false, pre: 'ct' },
  { n: 'ct_ipv6_src', bits: 128, w: W_CT_IPV6_SRC, nw: 4, f: 'ipv6', rw: false, pre: 'ct' },
  { n: 'ct_ipv6_dst', bits: 128, w: W_CT_IPV6_DST, nw: 4, f: 'ipv6', rw: false, pre: 'ct' },
  { n: 'ct_tp_src', bits: 16, w: W_CT_TP, sh: 16, f: 'decimal', rw: false, pre: 'ct' },
  { n: 'ct_tp_dst', bits: 16, w: W_CT_TP, f: 'decimal', rw: false, pre: 'ct' },
];
for (let i = 0; i < N_REGS; i++) {
  specs.push({ n: `reg${i}`, bits: 32, w: W_REG0 + i, f: 'hexadecimal' });
}
for (let i = 0; i < N_REGS / 2; i++) {
  specs.push({ n: `xreg${i}`, bits: 64, w: W_REG0 + 2 * i, nw: 2, f: 'hexadecimal' });
}
for (let i = 0; i < N_REGS / 4; i++) {
  specs.push({ n: `xxreg${i}`, bits: 128, w: W_REG0 + 4 * i, nw: 4, f: 'hexadecimal' });
}
specs.push(
  { n: 'eth_src', a: ['dl_src'], bits: 48, w: W_DL_SRC, nw: 2, f: 'ethernet', pre: 'ethernet' },
  { n: 'eth_dst', a: ['dl_dst'], bits: 48, w: W_DL_DST, nw: 2, f: 'ethernet', pre: 'ethernet' },
  {
    n: 'eth_type',
    a: ['dl_type'],
    bits: 16,
    w: W_DL_TYPE,
    f: 'hexadecimal',
    mask: false,
    rw: false,
    pre: 'ethernet',
  },
  { n: 'vlan_tci', bits: 16, w: W_VLAN0, f: 'hexadecimal', pre: 'ethernet' },
  {
    n: 'dl_vlan',
    bits: 16,
    w: W_VLAN0,
    wm: 0x0fff,
    f: 'decimal',
    mask: false,
    pre: 'ethernet',
    sp: 'dl-vlan',
  },
  { n: 'vlan_vid', bits: 16, w: W_VLAN0, wm: 0x1fff, f: 'decimal', pre: 'ethernet' },
  {
    n: 'dl_vlan_pcp',
    bits: 8,
    w: W_VLAN0,
    sh: 13,
    wm: 0xe000,
    f: 'decimal',
    mask: false,
    pre: 'ethernet',
    sp: 'vlan-pcp',
  },
  {
    n: 'vlan_pcp',
    bits: 8,
    w: W_VLAN0,
    sh: 13,
    wm: 0xe000,
    f: 'decimal',
    mask: false,
    pre: 'vlan-vid',
    sp: 'vlan-pcp',
  },
  {
    n: 'mpls_label',
    bits: 32,
    w: W_MPLS0,
    sh: 12,
    wm: 0xfffff000,
    f: 'decimal',
    mask: false,
    pre: 'mpls',
  },
  { n: 'mpls_tc', bits: 8, w: W_MPLS0, sh: 9, wm: 0xe00, f: 'decimal', mask: false, pre: 'mpls' },
  { n: 'mpls_bos', bits: 8, w: W_MPLS0, sh: 8, wm: 0x100, f: 'decimal', mask: false, pre: 'mpls' },
  { n: 'mpls_ttl', bits: 8, w: W_MPLS0, f: 'decimal', mask: false, pre: 'mpls' },
  { n: 'ip_src', a: ['nw_src'], bits: 32, w: W_NW_SRC, f: 'ipv4', pre: 'ipv4' },
  { n: 'ip_dst', a: ['nw_dst'], bits: 32, w: W_NW_DST, f: 'ipv4', pre: 'ipv4' },
  { n: 'ipv6_src', bits: 128, w: W_IPV6_SRC, nw: 4, f: 'ipv6', pre: 'ipv6' },
  { n: 'ipv6_dst', bits: 128, w: W_IPV6_DST, nw: 4, f: 'ipv6', pre: 'ipv6' },
  { n: 'ipv6_label', bits: 32, w: W_IPV6_LABEL, wm: 0xfffff, f: 'hexadecimal', pre: 'ipv6' },
  {
    n: 'nw_proto',
    a: ['ip_proto'],
    bits: 8,
    w: W_NW,
    f: 'decimal',
    mask: false,
    rw: false,
    pre: 'ip-any',
  },
  {
    n: 'nw_tos',
    bits: 8,
    w: W_NW,
    sh: 16,
    wm: 0x00fc0000,
    f: 'decimal',
    mask: false,
    pre: 'ip-any',
  },
  {
    n: 'ip_dscp',
    bits: 8,
    w: W_NW,
    sh: 18,
    wm: 0x00fc0000,
    f: 'decimal',
    mask: false,
    pre: 'ip-any',
  },
  {
    n: 'nw_ecn',
    a: ['ip_ecn'],
    bits: 8,
    w: W_NW,
    sh: 16,
    wm: 0x00030000,
    f: 'decimal',
    mask: false,
    pre: 'ip-any',
  },
  { n: 'nw_ttl', bits: 8, w: W_NW, sh: 8, f: 'decimal', mask: false, pre: 'ip-any' },
  {
    n: 'ip_frag',
    a: ['nw_frag'],
    bits: 8,
    w: W_NW,
    sh: 24,
    wm: 0x03000000,
    f: 'frag',
    rw: false,
    pre: 'ip-any',
  },
  { n: 'arp_op', bits: 16, w: W_NW, wm: 0xff, f: 'decimal', mask: false, pre: 'arp' },
  { n: 'arp_spa', bits: 32, w: W_NW_SRC, f: 'ipv4', pre: 'arp' },
  { n: 'arp_tpa', bits: 32, w: W_NW_DST, f: 'ipv4', pre: 'arp' },
  { n: 'arp_sha', bits: 48, w: W_ARP_SHA, nw: 2, f: 'ethernet', pre: 'arp' },
  { n: 'arp_tha', bits: 48, w: W_ARP_THA, nw: 2, f: 'ethernet', pre: 'arp' },
  { n: 'tcp_src', a: ['tp_src'], bits: 16, w: W_TP, sh: 16, f: 'decimal', pre: 'tcp' },
  { n: 'tcp_dst', a: ['tp_dst'], bits: 16, w: W_TP, f: 'decimal', pre: 'tcp' },
  {
    n: 'tcp_flags',
    bits: 16,
    w: W_TCP_FLAGS,
    wm: 0xfff,
    f: 'tcp-flags',
    rw: false,
    pre: 'tcp',
  },
  { n: 'udp_src', bits: 16, w: W_TP, sh: 16, f: 'decimal', pre: 'udp' },
  { n: 'udp_dst', bits: 16, w: W_TP, f: 'decimal', pre: 'udp' },
  { n: 'sctp_src', bits: 16, w: W_TP, sh: 16, f: 'decimal', pre: 'sctp' },
  { n: 'sctp_dst', bits: 16, w: W_TP, f: 'decimal', pre: 'sctp' },
  {
    n: 'icmp_type',
    bits: 8,
    w: W_TP,
    sh: 16,
    wm: 0xffff0000,
    f: 'decimal',
    mask: false,
    pre: 'icmpv4',
  },
  { n: 'icmp_code', bits: 8, w: W_TP, wm: 0xffff, f: 'decimal', mask: false, pre: 'icmpv4' },
  {
    n: 'icmpv6_type',
    bits: 8,
    w: W_TP,
    sh: 16,
    wm: 0xffff0000,
    f: 'decimal',
    mask: false,
    pre: 'icmpv6',
  },
  { n: 'icmpv6_code', bits: 8, w: W_TP, wm: 0xffff, f: 'decimal', mask: false, pre: 'icmpv6' },
  { n: 'nd_target', bits: 128, w: W_ND_TARGET, nw: 4, f: 'ipv6', pre: 'nd' },
  { n: 'nd_sll', bits: 48, w: W_ARP_SHA, nw: 2, f: 'ethernet', pre: 'nd-solicit' },
  { n: 'nd_tll', bits: 48, w: W_ARP_THA, nw: 2, f: 'ethernet', pre: 'nd-advert' },
  { n: 'nd_reserved', bits: 32, w: W_ND_RESERVED, f: 'decimal', mask: false, pre: 'nd' },
  { n: 'nd_options_type', bits: 8, w: W_ND_OPTIONS_TYPE, f: 'decimal', mask: false, pre: 'nd' },
);

export const FIELDS: readonly Field[] = specs.map(def);

const byName = new Map<string, Field>();
for (const f of FIELDS) {
  byName.set(f.name, f);
  for (const a of f.aliases) byName.set(a, f);
}

/** Looks a field up by its name or alias (case-sensitive, as OVS). */
export function fieldByName(name: string): Field | undefined {
  return byName.get(name);
}

export function field(name: string): Field {
  const f = byName.get(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

/** Mask words (most significant first) that cover a field exactly. */
export function fieldExactMask(f: Field): number[] {
  if (f.nWords === 1) return [f.wordMask >>> f.shift];
  const r = [f.wordMask];
  for (let i = 1; i < f.nWords; i++) r.push(0xffffffff);
  return r;
}

/** Reads a field of at most 32 bits from a key. */
export function getField32(key: Uint32Array, f: Field): number {
  return ((key[f.word] & f.wordMask) >>> f.shift) >>> 0;
}

/** Writes a field of at most 32 bits into a key (bits outside the field are kept). */
export function setField32(key: Uint32Array, f: Field, v: number): void {
  key[f.word] = ((key[f.word] & ~f.wordMask) | ((v << f.shift) & f.wordMask)) >>> 0;
}

/** Reads a field as words, most significant first (one word for narrow fields). */
export function getFieldWords(key: Uint32Array, f: Field): number[] {
  if (f.nWords === 1) return [getField32(key, f)];
  const r: number[] = [];
  for (let i = 0; i < f.nWords; i++) r.push(key[f.word + i] >>> 0);
  return r;
}

/* Bit-level access used by subfield actions (move, load, learn): bit 0 is the field's least
 * significant bit. */
export function getFieldBits(key: Uint32Array, f: Field, ofs: number, nBits: number): number {
  let v = 0;
  for (let i = nBits - 1; i >= 0; i--) v = v * 2 + getFieldBit(key, f, ofs + i);
  return v >>> 0;
}

export function getFieldBit(key: Uint32Array, f: Field, bit: number): number {
  if (f.nWords === 1) return (key[f.word] >>> (f.shift + bit)) & 1;
  const w = f.word + f.nWords - 1 - (bit >>> 5);
  return (key[w] >>> (bit & 31)) & 1;
}

export function setFieldBit(key: Uint32Array, f: Field, bit: number, v: number): void {
  let w: number;
  let b: number;
  if (f.nWords === 1) {
    w = f.word;
    b = f.shift + bit;
  } else {
    w = f.word + f.nWords - 1 - (bit >>> 5);
    b = bit & 31;
  }
  if (v) key[w] = (key[w] | (1 << b)) >>> 0;
  else key[w] = (key[w] & ~(1 << b)) >>> 0;
}

export function setFieldBits(
  key: Uint32Array,
  f: Field,
  ofs: number,
  nBits: number,
  v: number,
): void {
  for (let i = 0; i < nBits; i++) {
    setFieldBit(key, f, ofs + i, i < 32 ? (v >>> i) & 1 : 0);
  }
}

/** Writes a field from words, most significant first (see getFieldWords). */
export function setFieldWords(key: Uint32Array, f: Field, words: ArrayLike<number>): void {
  if (f.nWords === 1) {
    setField32(key, f, words[0]);
    return;
  }
  key[f.word] = words[0] & f.wordMask;
  for (let i = 1; i < f.nWords; i++) key[f.word + i] = words[i] >>> 0;
}

/** ORs a whole field into a wildcard mask: "the translation looked at this field". */
export function unwildcardField(wc: Uint32Array, f: Field): void {
  wc[f.word] = (wc[f.word] | f.wordMask) >>> 0;
  for (let i = 1; i < f.nWords; i++) wc[f.word + i] = 0xffffffff;
}
