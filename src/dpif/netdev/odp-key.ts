/*
 * Printing the datapath flow key and mask in OVS's text form (lib/odp-util.c): what
 * `ovs-appctl dpctl/dump-flows` prints (terse, or verbose with -m) and the attribute bodies
 * of set(...) actions; plus the field table the parser (odp-key-parse.ts) shares.
 *
 * OVS builds a list of netlink attributes (OVS_KEY_ATTR_*) from its struct flow and then
 * prints it; here the same attribute sequence is walked straight off our flow key and mask
 * (lib/flow/layout.ts), so there is one representation of a flow and the text is only a view.
 * Control path only: these functions allocate strings.
 */

import { getFlowVlanLimit } from '../../lib/flow/extract.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MIN,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  ETH_TYPE_VLAN_8021AD,
  ETH_TYPE_VLAN_8021Q,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  VLAN_CFI,
  W_ARP_SHA,
  W_ARP_THA,
  W_CT_LABEL,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_DP_HASH,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_PACKET_TYPE,
  W_PKT_MARK,
  W_RECIRC_ID,
  W_SKB_PRIORITY,
  W_TCP_FLAGS,
  W_TP,
  W_TUN_DST,
  W_TUN_FLAGS,
  W_TUN_ID,
  W_TUN_IPV6_DST,
  W_TUN_IPV6_SRC,
  W_TUN_SRC,
  W_TUN_TOS_TTL,
  W_TUN_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { CT_STATE_NAMES, TCP_FLAG_NAMES, TUN_FLAG_NAMES } from '../../lib/flow/match-format.ts';
import { formatIpv4, formatIpv6, formatMac } from '../../lib/packet/addr.ts';

/** How a sub-field prints: OVS's format_eth / format_ipv4 / format_u8u / ... */
export type SubFieldFormat =
  | 'mac'
  | 'ipv4'
  | 'ipv6'
  | 'u8u'
  | 'u8x'
  | 'be16'
  | 'be16x'
  | 'frag'
  | 'label'
  | 'x32'
  | 'x64'
  | 'u32';

/** One field inside a key attribute: where it lives in the flow key. Scalar fields are
 * `bits` wide at `shift` in `word`; mac/ipv6/x64 span 2/4/2 words. */
export interface SubField {
  readonly name: string;
  readonly word: number;
  readonly shift: number;
  readonly bits: number;
  readonly fmt: SubFieldFormat;
}

function sf(
  name: string,
  word: number,
  shift: number,
  bits: number,
  fmt: SubFieldFormat,
): SubField {
  return { name, word, shift, bits, fmt };
}

const TP_PORTS = [sf('src', W_TP, 16, 16, 'be16'), sf('dst', W_TP, 0, 16, 'be16')];
const ICMP_TC = [sf('type', W_TP, 16, 8, 'u8u'), sf('code', W_TP, 0, 8, 'u8u')];

/** The key attributes with fixed sub-fields, as OVS names and orders them. */
export const KEY_ATTR_FIELDS: Readonly<Record<string, readonly SubField[]>> = {
  eth: [sf('src', W_DL_SRC, 0, 48, 'mac'), sf('dst', W_DL_DST, 0, 48, 'mac')],
  ipv4: [
    sf('src', W_NW_SRC, 0, 32, 'ipv4'),
    sf('dst', W_NW_DST, 0, 32, 'ipv4'),
    sf('proto', W_NW, 0, 8, 'u8u'),
    sf('tos', W_NW, 16, 8, 'u8x'),
    sf('ttl', W_NW, 8, 8, 'u8u'),
    sf('frag', W_NW, 24, 8, 'frag'),
  ],
  ipv6: [
    sf('src', W_IPV6_SRC, 0, 128, 'ipv6'),
    sf('dst', W_IPV6_DST, 0, 128, 'ipv6'),
    sf('label', W_IPV6_LABEL, 0, 20, 'label'),
    sf('proto', W_NW, 0, 8, 'u8u'),
    sf('tclass', W_NW, 16, 8, 'u8x'),
    sf('hlimit', W_NW, 8, 8, 'u8u'),
    sf('frag', W_NW, 24, 8, 'frag'),
  ],
  tcp: TP_PORTS,
  udp: TP_PORTS,
  sctp: TP_PORTS,
  icmp: ICMP_TC,
  icmpv6: ICMP_TC,
  arp: [
    sf('sip', W_NW_SRC, 0, 32, 'ipv4'),
    sf('tip', W_NW_DST, 0, 32, 'ipv4'),
    // The flow keeps only the opcode's low byte (as OVS's nw_proto does).
    sf('op', W_NW, 0, 8, 'be16'),
    sf('sha', W_ARP_SHA, 0, 48, 'mac'),
    sf('tha', W_ARP_THA, 0, 48, 'mac'),
  ],
  nd: [
    sf('target', W_ND_TARGET, 0, 128, 'ipv6'),
    sf('sll', W_ARP_SHA, 0, 48, 'mac'),
    sf('tll', W_ARP_THA, 0, 48, 'mac'),
  ],
  tunnel: [
    sf('tun_id', W_TUN_ID, 0, 64, 'x64'),
    sf('src', W_TUN_SRC, 0, 32, 'ipv4'),
    sf('dst', W_TUN_DST, 0, 32, 'ipv4'),
    sf('ipv6_src', W_TUN_IPV6_SRC, 0, 128, 'ipv6'),
    sf('ipv6_dst', W_TUN_IPV6_DST, 0, 128, 'ipv6'),
    sf('tos', W_TUN_TOS_TTL, 8, 8, 'u8x'),
    sf('ttl', W_TUN_TOS_TTL, 0, 8, 'u8u'),
    sf('tp_src', W_TUN_TP, 16, 16, 'be16'),
    sf('tp_dst', W_TUN_TP, 0, 16, 'be16'),
  ],
};

/** Single-value key attributes: the word and width they occupy. */
export const SCALAR_ATTRS: Readonly<Record<string, SubField>> = {
  skb_priority: sf('', W_SKB_PRIORITY, 0, 32, 'x32'),
  skb_mark: sf('', W_PKT_MARK, 0, 32, 'x32'),
  recirc_id: sf('', W_RECIRC_ID, 0, 32, 'x32'),
  dp_hash: sf('', W_DP_HASH, 0, 32, 'x32'),
  in_port: sf('', W_IN_PORT, 0, 32, 'u32'),
  ct_zone: sf('', W_CT_ZONE, 0, 16, 'x32'),
  ct_mark: sf('', W_CT_MARK, 0, 32, 'x32'),
  ct_state: sf('', W_CT_STATE, 0, 8, 'x32'),
  eth_type: sf('', W_DL_TYPE, 0, 16, 'x32'),
};

export function ones(bits: number): number {
  return bits >= 32 ? 0xffffffff : ((1 << bits) >>> 0) - 1;
}

export function nWordsOf(f: SubField): number {
  return f.fmt === 'mac' || f.fmt === 'x64' ? 2 : f.fmt === 'ipv6' ? 4 : 1;
}

/** The sub-field's value words (1, 2 or 4) taken from `k`. */
export function getWords(k: ArrayLike<number>, f: SubField): number[] {
  const n = nWordsOf(f);
  if (n === 1) return [((k[f.word] >>> f.shift) & ones(f.bits)) >>> 0];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(k[f.word + i] >>> 0);
  if (f.fmt === 'mac') out[0] &= 0xffff;
  return out;
}

export function setWords(k: Uint32Array, f: SubField, w: readonly number[]): void {
  const n = nWordsOf(f);
  if (n === 1) {
    const m = ones(f.bits);
    k[f.word] = ((k[f.word] & ~(m << f.shift)) | ((w[0] & m) << f.shift)) >>> 0;
    return;
  }
  for (let i = 0; i < n; i++) k[f.word + i] = w[i] >>> 0;
  if (f.fmt === 'mac') k[f.word] &= 0xffff;
}

export function fullWords(f: SubField): number[] {
  const n = nWordsOf(f);
  if (n === 1) return [ones(f.bits)];
  const out = new Array<number>(n).fill(0xffffffff);
  if (f.fmt === 'mac') out[0] = 0xffff;
  return out;
}

function isZero(w: readonly number[]): boolean {
  return w.every((x) => x === 0);
}

function isFull(f: SubField, w: readonly number[]): boolean {
  const full = fullWords(f);
  return w.every((x, i) => x === full[i]);
}

const hex = (v: number): string => (v === 0 ? '0' : `0x${(v >>> 0).toString(16)}`);

/* ODP's frag enumeration: none, first, later; the flow's bits are ANY=1, LATER=2. */
function fragName(flowFrag: number): string {
  return flowFrag === 0 ? 'no' : flowFrag & FLOW_NW_FRAG_LATER ? 'later' : 'first';
}

function fmtValue(f: SubField, w: readonly number[]): string {
  switch (f.fmt) {
    case 'mac':
      return formatMac(w[0], w[1]);
    case 'ipv4':
      return formatIpv4(w[0]);
    case 'ipv6':
      return formatIpv6(w);
    case 'u8u':
    case 'be16':
    case 'u32':
      return String(w[0]);
    case 'u8x':
    case 'be16x':
    case 'label':
    case 'x32':
      return hex(w[0]);
    case 'x64':
      return `0x${((BigInt(w[0]) << 32n) | BigInt(w[1])).toString(16)}`;
    case 'frag':
      return fragName(w[0]);
  }
}

function fmtMask(f: SubField, w: readonly number[]): string {
  switch (f.fmt) {
    case 'mac':
    case 'ipv4':
    case 'ipv6':
      return fmtValue(f, w);
    case 'x64':
      return `0x${((BigInt(w[0]) << 32n) | BigInt(w[1])).toString(16)}`;
    default:
      return hex(w[0]);
  }
}

/* One "name=value[/mask]," as OVS's format_* helpers print it; terse mode skips fields
 * with an empty mask. */
function formatSubField(
  out: string[],
  f: SubField,
  key: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  verbose: boolean,
): void {
  const v = getWords(key, f);
  const m = mask ? getWords(mask, f) : fullWords(f);
  if (!verbose && isZero(m)) return;
  if (f.fmt === 'frag') {
    // Frag is an enumeration: any non-empty mask prints the value alone.
    if (isZero(m)) return;
    out.push(`${f.name}=${fragName(v[0])}`);
    return;
  }
  const full = f.fmt === 'label' ? (m[0] & 0xfffff) === 0xfffff : isFull(f, m);
  out.push(full ? `${f.name}=${fmtValue(f, v)}` : `${f.name}=${fmtValue(f, v)}/${fmtMask(f, m)}`);
}

function formatFlags(names: readonly string[], flags: number, sep = '|'): string {
  if (!flags) return '0';
  const parts: string[] = [];
  let bad = 0;
  for (let bit = 0; bit < 32; bit++) {
    const b = (1 << bit) >>> 0;
    if (!(flags & b)) continue;
    if (names[bit] !== undefined) parts.push(names[bit]);
    else bad |= b;
  }
  if (bad) parts.push(`0x${(bad >>> 0).toString(16)}`);
  return parts.join(sep);
}

function formatFlagsMasked(
  names: readonly string[],
  flags: number,
  mask: number,
  max: number,
): string {
  if (mask === max) return formatFlags(names, flags);
  if (!mask) return '0/0';
  let s = '';
  for (let bit = 0; bit < 32; bit++) {
    const b = (1 << bit) >>> 0;
    if (!(mask & b)) continue;
    s += `${flags & b ? '+' : '-'}${names[bit] ?? '[Unknown]'}`;
  }
  return s;
}

function formatVlanTci(tci: number, mask: number, verbose: boolean): string {
  const parts: string[] = [];
  const vid = tci & 0xfff;
  const vidM = mask & 0xfff;
  const pcp = (tci >>> 13) & 7;
  const pcpM = (mask >>> 13) & 7;
  if (verbose || vid || vidM)
    parts.push(vidM !== 0xfff ? `vid=${vid}/0x${vidM.toString(16)}` : `vid=${vid}`);
  if (verbose || pcp || pcpM)
    parts.push(pcpM !== 7 ? `pcp=${pcp}/0x${pcpM.toString(16)}` : `pcp=${pcp}`);
  if (!(tci & VLAN_CFI)) parts.push('cfi=0');
  return parts.join(',');
}

function formatMplsLse(lse: number): string {
  return `label=${lse >>> 12},tc=${(lse >>> 9) & 7},ttl=${lse & 0xff},bos=${(lse >>> 8) & 1}`;
}

function formatMplsMasked(lse: number, m: number): string {
  return (
    `label=${lse >>> 12}/0x${(m >>> 12).toString(16)},tc=${(lse >>> 9) & 7}/${((m >>> 9) & 7).toString(16)},` +
    `ttl=${lse & 0xff}/0x${(m & 0xff).toString(16)},bos=${(lse >>> 8) & 1}/${((m >>> 8) & 1).toString(16)}`
  );
}

function formatU128(k: ArrayLike<number>, w: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += (k[w + i] >>> 0).toString(16).padStart(8, '0');
  s = s.replace(/^0+/, '');
  // As OVS's ds_put_hex: a bare 0 when all bytes are zero.
  return s === '' ? '0' : `0x${s}`;
}

function allZero(m: ArrayLike<number>, w: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (m[w + i] !== 0) return false;
  return true;
}

/** Formats the body of one key attribute (without "name(" ... ")"). `mask` null = exact. */
export function formatKeyAttrBody(
  attr: string,
  key: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  verbose: boolean,
  portName?: (port: number) => string | undefined,
): string {
  const fields = KEY_ATTR_FIELDS[attr];
  if (fields !== undefined) {
    const out: string[] = [];
    for (const f of fields) formatSubField(out, f, key, mask, verbose);
    if (attr === 'tunnel') {
      // Flags: oam, df, csum, key, printed as +/- terms unless all four are matched.
      const fl = key[W_TUN_FLAGS] & 0xf;
      const fm = mask ? mask[W_TUN_FLAGS] & 0xf : 0xf;
      if (verbose || fm) out.push(`flags(${formatFlagsMasked(TUN_FLAG_NAMES, fl, fm, 0xf)})`);
    }
    return out.join(',');
  }
  const m = (w: number): number => (mask ? mask[w] >>> 0 : 0xffffffff);
  switch (attr) {
    case 'skb_priority':
    case 'skb_mark':
    case 'recirc_id':
    case 'dp_hash': {
      const f = SCALAR_ATTRS[attr];
      const mv = m(f.word);
      return mv === 0xffffffff ? hex(key[f.word]) : `${hex(key[f.word])}/${hex(mv)}`;
    }
    case 'ct_mark':
    case 'ct_zone': {
      const f = SCALAR_ATTRS[attr];
      const full = ones(f.bits) >>> 0;
      const mv = (m(f.word) & full) >>> 0;
      if (!verbose && mv === 0) return '';
      return mv === full ? hex(key[f.word] & full) : `${hex(key[f.word] & full)}/${hex(mv)}`;
    }
    case 'ct_state': {
      const v = key[W_CT_STATE] & 0xff;
      const mv = m(W_CT_STATE) & 0xff;
      // ODP's u32 ct_state mask counts as exact only when all 32 bits are set: a flow that
      // matches all 8 state bits (megaflows disabled) still prints its mask.
      const exact = mv === 0xff && (!mask || mask[W_CT_STATE] === 0xffffffff);
      if (verbose) return exact ? hex(v) : `${hex(v)}/${hex(mv)}`;
      return exact
        ? formatFlags(CT_STATE_NAMES, v)
        : formatFlagsMasked(CT_STATE_NAMES, v, mv, 0xffffffff);
    }
    case 'ct_label': {
      if (!verbose && mask && allZero(mask, W_CT_LABEL, 4)) return '';
      const v = formatU128(key, W_CT_LABEL);
      if (!mask) return v;
      let full = true;
      for (let i = 0; i < 4; i++) if (mask[W_CT_LABEL + i] >>> 0 !== 0xffffffff) full = false;
      return full ? v : `${v}/${formatU128(mask, W_CT_LABEL)}`;
    }
    case 'in_port': {
      const mv = m(W_IN_PORT);
      if (mv === 0xffffffff) return portName?.(key[W_IN_PORT]) ?? String(key[W_IN_PORT] >>> 0);
      return `${key[W_IN_PORT] >>> 0}/${hex(mv)}`;
    }
    case 'packet_type': {
      const v = key[W_PACKET_TYPE] >>> 0;
      const mv = m(W_PACKET_TYPE);
      const out: string[] = [];
      const ns = v >>> 16;
      const nsM = mv >>> 16;
      const id = v & 0xffff;
      const idM = mv & 0xffff;
      if (verbose || nsM) out.push(nsM === 0xffff ? `ns=${ns}` : `ns=${ns}/${hex(nsM)}`);
      if (verbose || idM) out.push(idM === 0xffff ? `id=${hex(id)}` : `id=${hex(id)}/${hex(idM)}`);
      return out.join(',');
    }
    case 'eth_type': {
      const v = key[W_DL_TYPE] & 0xffff;
      const mv = m(W_DL_TYPE) & 0xffff;
      const h = (x: number): string => `0x${x.toString(16).padStart(4, '0')}`;
      return mv === 0xffff ? h(v) : `${h(v)}/${h(mv)}`;
    }
    case 'vlan':
      return formatVlanTci(key[W_VLAN0] & 0xffff, mask ? mask[W_VLAN0] & 0xffff : 0xffff, verbose);
    case 'mpls': {
      // Every entry down to the bottom of the stack (at most 3), all exact or all masked.
      let n = 1;
      while (n < 3 && !((key[W_MPLS0 + n - 1] >>> 0) & 0x100)) n++;
      let exact = !mask;
      if (mask) {
        exact = true;
        for (let i = 0; i < n; i++) if (m(W_MPLS0 + i) !== 0xffffffff) exact = false;
      }
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const lse = key[W_MPLS0 + i] >>> 0;
        parts.push(exact ? formatMplsLse(lse) : formatMplsMasked(lse, m(W_MPLS0 + i)));
      }
      return parts.join(',');
    }
    case 'tcp_flags': {
      const v = key[W_TCP_FLAGS] & 0xfff;
      const mv = m(W_TCP_FLAGS) & 0xffff;
      return mv === 0xffff || mv === 0xfff
        ? formatFlags(TCP_FLAG_NAMES, v)
        : formatFlagsMasked(TCP_FLAG_NAMES, v, mv & 0xfff, 0xfff);
    }
  }
  return '';
}

export interface OdpFlowFormatOptions {
  /** Prints in_port (when exact) by name, as `dpctl/dump-flows -m` does. */
  readonly portName?: (port: number) => string | undefined;
  /** Every attribute, wildcarded ones as value/0 (`dpctl/dump-flows -m`). */
  readonly verbose?: boolean;
}

function isMplsType(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MCAST;
}

export function isVlanType(t: number): boolean {
  return t === ETH_TYPE_VLAN_8021Q || t === ETH_TYPE_VLAN_8021AD;
}

/* The attribute sequence OVS's odp_flow_key_from_flow() builds, as [name, vlanIndex]. */
interface AttrItem {
  name: string;
  nested?: AttrItem[];
  /** For vlan/eth_type inside encaps: which tag (0 outer). -1 = the inner dl_type. */
  vlan?: number;
}

function keyAttrs(key: ArrayLike<number>, mask: ArrayLike<number> | null): AttrItem[] {
  const top: AttrItem[] = [{ name: 'skb_priority' }];
  const tunPresent =
    key[W_TUN_SRC] !== 0 ||
    key[W_TUN_DST] !== 0 ||
    !allZero(key, W_TUN_IPV6_SRC, 4) ||
    !allZero(key, W_TUN_IPV6_DST, 4);
  if (tunPresent) top.push({ name: 'tunnel' });
  top.push({ name: 'skb_mark' }, { name: 'ct_state' }, { name: 'ct_zone' }, { name: 'ct_mark' });
  top.push({ name: 'ct_label' }, { name: 'recirc_id' }, { name: 'dp_hash' }, { name: 'in_port' });
  top.push({ name: 'packet_type' });
  let cur = top;
  const dlType = key[W_DL_TYPE] & 0xffff;
  if (key[W_PACKET_TYPE] >>> 0 === 0) {
    top.push({ name: 'eth' });
    const maxVlans = getFlowVlanLimit();
    for (let i = 0; i < maxVlans; i++) {
      const tci = key[W_VLAN0 + i] & 0xffff;
      if (tci === 0) break;
      cur.push({ name: 'eth_type', vlan: i }, { name: 'vlan', vlan: i });
      const enc: AttrItem[] = [];
      cur.push({ name: 'encap', nested: enc });
      cur = enc;
    }
  }
  void mask;
  if (dlType < ETH_TYPE_MIN) return top;
  cur.push({ name: 'eth_type', vlan: -1 });
  if (isVlanType(dlType)) return top;
  if (dlType === ETH_TYPE_IP) cur.push({ name: 'ipv4' });
  else if (dlType === ETH_TYPE_IPV6) cur.push({ name: 'ipv6' });
  else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) cur.push({ name: 'arp' });
  else if (isMplsType(dlType)) cur.push({ name: 'mpls' });
  const isIp = dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6;
  const frag = (key[W_NW] >>> 24) & 0xff;
  if (isIp && !(frag & FLOW_NW_FRAG_LATER)) {
    const proto = key[W_NW] & 0xff;
    if (proto === IPPROTO_TCP) {
      cur.push({ name: 'tcp' });
      if ((key[W_TCP_FLAGS] & 0xfff) !== 0 || (mask && (mask[W_TCP_FLAGS] & 0xfff) !== 0))
        cur.push({ name: 'tcp_flags' });
    } else if (proto === IPPROTO_UDP) cur.push({ name: 'udp' });
    else if (proto === IPPROTO_SCTP) cur.push({ name: 'sctp' });
    else if (dlType === ETH_TYPE_IP && proto === IPPROTO_ICMP) cur.push({ name: 'icmp' });
    else if (dlType === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6) {
      cur.push({ name: 'icmpv6' });
      const type = key[W_TP] >>> 16;
      const code = key[W_TP] & 0xffff;
      const isNd = (type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT) && code === 0;
      // The mask carries nd only when ICMPv6 type and code are matched exactly.
      const ndMasked =
        !mask || (((mask[W_TP] >>> 16) & 0xff) === 0xff && (mask[W_TP] & 0xff) === 0xff);
      if (isNd && ndMasked) cur.push({ name: 'nd' });
    }
  }
  return top;
}

/* eth_type/vlan attributes of tag i read the tag's word; present them through a view. */
function vlanView(key: ArrayLike<number>, mask: ArrayLike<number> | null, item: AttrItem) {
  const k = new Uint32Array(FLOW_WORDS);
  const m = new Uint32Array(FLOW_WORDS);
  const i = item.vlan ?? -1;
  if (item.name === 'eth_type') {
    if (i >= 0) {
      k[W_DL_TYPE] = key[W_VLAN0 + i] >>> 16;
      m[W_DL_TYPE] = 0xffff; // OVS exports the TPID as exact.
    } else {
      k[W_DL_TYPE] = key[W_DL_TYPE];
      m[W_DL_TYPE] = mask ? mask[W_DL_TYPE] : 0xffff;
    }
  } else {
    k[W_VLAN0] = key[W_VLAN0 + i];
    m[W_VLAN0] = mask ? mask[W_VLAN0 + i] : 0xffffffff;
  }
  return { k, m };
}

/* Is the attribute entirely wildcarded in the mask (OVS's odp_mask_attr_is_wildcard)? */
function attrIsWildcard(item: AttrItem, key: ArrayLike<number>, mask: ArrayLike<number>): boolean {
  const fields = KEY_ATTR_FIELDS[item.name];
  if (fields !== undefined) {
    for (const f of fields) if (!isZero(getWords(mask, f))) return false;
    if (item.name === 'tunnel' && (mask[W_TUN_FLAGS] & 0xffff) !== 0) return false;
    return true;
  }
  switch (item.name) {
    case 'ct_label':
      return allZero(mask, W_CT_LABEL, 4);
    case 'packet_type':
      return mask[W_PACKET_TYPE] === 0;
    case 'eth_type':
      return item.vlan !== undefined && item.vlan >= 0 ? false : (mask[W_DL_TYPE] & 0xffff) === 0;
    case 'vlan':
      return (mask[W_VLAN0 + (item.vlan ?? 0)] & 0xffff) === 0;
    case 'mpls':
      return mask[W_MPLS0] === 0;
    case 'tcp_flags':
      return (mask[W_TCP_FLAGS] & 0xfff) === 0;
    case 'ct_state':
      return (mask[W_CT_STATE] & 0xff) === 0;
    case 'ct_zone':
      return (mask[W_CT_ZONE] & 0xffff) === 0;
  }
  const s = SCALAR_ATTRS[item.name];
  if (s !== undefined) return mask[s.word] === 0;
  void key;
  return false;
}

function formatAttrs(
  items: AttrItem[],
  key: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  opts: OdpFlowFormatOptions | undefined,
): string {
  const verbose = opts?.verbose === true;
  const parts: string[] = [];
  let hasPacketType = false;
  for (const item of items) {
    if (item.name === 'packet_type') hasPacketType = true;
    if (item.nested !== undefined) {
      parts.push(`encap(${formatAttrs(item.nested, key, mask, opts)})`);
      continue;
    }
    const wild = mask ? attrIsWildcard(item, key, mask) : false;
    if (verbose || !wild) {
      let body: string;
      if (item.name === 'eth_type' || item.name === 'vlan') {
        const v = vlanView(key, mask, item);
        body = formatKeyAttrBody(item.name, v.k, mask ? v.m : null, verbose);
      } else {
        body = formatKeyAttrBody(item.name, key, mask, verbose, opts?.portName);
      }
      parts.push(`${item.name}(${body})`);
    } else if (item.name === 'eth' && !hasPacketType) {
      parts.push('eth()');
    } else if (item.name === 'packet_type') {
      hasPacketType = false;
    }
  }
  return parts.join(',');
}

/**
 * A megaflow's key and mask as `dpctl/dump-flows` prints them (terse: fully wildcarded
 * attributes are left out). `mask` null prints an exact key.
 */
export function formatOdpFlow(
  key: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  opts?: OdpFlowFormatOptions,
): string {
  return formatAttrs(keyAttrs(key, mask), key, mask, opts);
}
