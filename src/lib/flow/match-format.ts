/*
 * Printing matches and packet flows as OVS does: match_format() order and spelling (what
 * ovs-ofctl dump-flows shows) and flow_format() (what parse-pcap and packet-ins show).
 */

import { cidrBits, formatIpv4, formatIpv6, formatMac } from '../packet/addr.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  FLOW_NW_FRAG_ANY,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  N_REGS,
  VLAN_CFI,
  VLAN_PCP_MASK,
  VLAN_VID_MASK,
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
import { isIpAny, type Match, newMatch, OFP_DEFAULT_PRIORITY, packetWildcards } from './match.ts';
import { ofpPortToString } from './ofp-port.ts';

export interface FormatOptions {
  /** Names OpenFlow ports; return undefined to print the number. */
  portName?: (port: number) => string | undefined;
}

/* C's "%#x": "0" for zero, else 0x-prefixed lowercase hex. */
function hexAlt(v: number): string {
  return v === 0 ? '0' : `0x${(v >>> 0).toString(16)}`;
}

function hexAltWords(w: ArrayLike<number>, ofs: number, n: number): string {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(w[ofs + i] >>> 0);
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

function allOnes(w: ArrayLike<number>, ofs: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (w[ofs + i] >>> 0 !== 0xffffffff) return false;
  return true;
}

function anySet(w: ArrayLike<number>, ofs: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (w[ofs + i] !== 0) return true;
  return false;
}

export const TCP_FLAG_NAMES = [
  'fin',
  'syn',
  'rst',
  'psh',
  'ack',
  'urg',
  'ece',
  'cwr',
  'ns',
  '[200]',
  '[400]',
  '[800]',
];
export const CT_STATE_NAMES = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'];
export const TUN_FLAG_NAMES = ['oam', 'df', 'csum', 'key'];

function flagName(names: readonly string[], bit: number): string | undefined {
  const i = 31 - Math.clz32(bit);
  return names[i];
}

function formatFlags(names: readonly string[], flags: number): string {
  if (!flags) return '0';
  const parts: string[] = [];
  let bad = 0;
  for (let f = flags >>> 0; f; f = (f & (f - 1)) >>> 0) {
    const bit = (f & -f) >>> 0;
    const n = flagName(names, bit);
    if (n) parts.push(n);
    else bad = (bad | bit) >>> 0;
  }
  if (bad) parts.push(`0x${bad.toString(16)}`);
  return parts.join('|');
}

function formatFlagsMasked(
  names: readonly string[],
  flags: number,
  mask: number,
  maxMask: number,
): string {
  if (mask === maxMask) return formatFlags(names, flags);
  if (!mask) return '0/0';
  let s = '';
  for (let mk = mask >>> 0; mk; mk = (mk & (mk - 1)) >>> 0) {
    const bit = (mk & -mk) >>> 0;
    s += `${flags & bit ? '+' : '-'}${flagName(names, bit) ?? '[Unknown]'}`;
  }
  return s;
}

class Out {
  s = '';
  put(name: string, value: string): void {
    this.s += `${name}=${value},`;
  }
  raw(text: string): void {
    this.s += text;
  }
}

function fmtIpMasked(o: Out, name: string, ip: number, mask: number): void {
  if (!mask) return;
  let v = formatIpv4(ip);
  if (mask >>> 0 !== 0xffffffff) {
    const n = cidrBits([mask], 0, 1);
    v += n >= 0 ? `/${n}` : `/${formatIpv4(mask)}`;
  }
  o.put(name, v);
}

function fmtIpv6Masked(o: Out, name: string, key: FlowKey, mask: FlowKey, w: number): void {
  if (!anySet(mask, w, 4)) return;
  let v = formatIpv6(key, w);
  if (!allOnes(mask, w, 4)) {
    const n = cidrBits(mask, w, 4);
    v += n >= 0 ? `/${n}` : `/${formatIpv6(mask, w)}`;
  }
  o.put(name, v);
}

function fmtEthMasked(o: Out, name: string, key: FlowKey, mask: FlowKey, w: number): void {
  if (!mask[w] && !mask[w + 1]) return;
  let v = formatMac(key[w], key[w + 1]);
  if (mask[w] !== 0xffff || mask[w + 1] !== 0xffffffff) {
    v += `/${formatMac(mask[w], mask[w + 1])}`;
  }
  o.put(name, v);
}

function fmtU32Masked(o: Out, name: string, v: number, mask: number): void {
  if (!mask) return;
  o.put(name, mask >>> 0 === 0xffffffff ? hexAlt(v) : `${hexAlt(v)}/${hexAlt(mask)}`);
}

function fmtU16Masked(o: Out, name: string, v: number, mask: number): void {
  if (!mask) return;
  o.put(name, mask === 0xffff ? String(v) : `0x${v.toString(16)}/0x${mask.toString(16)}`);
}

function fmtBe32Masked(o: Out, name: string, v: number, mask: number): void {
  if (!mask) return;
  o.put(
    name,
    mask >>> 0 === 0xffffffff
      ? String(v >>> 0)
      : `0x${(v >>> 0).toString(16).padStart(8, '0')}/0x${(mask >>> 0).toString(16).padStart(8, '0')}`,
  );
}

function fmtBe64Masked(o: Out, name: string, key: FlowKey, mask: FlowKey, w: number): void {
  if (!mask[w] && !mask[w + 1]) return;
  let v = hexAltWords(key, w, 2);
  if (!allOnes(mask, w, 2)) v += `/${hexAltWords(mask, w, 2)}`;
  o.put(name, v);
}

function fmtPort(port: number, opts: FormatOptions | undefined): string {
  const n = opts?.portName?.(port);
  return n ?? ofpPortToString(port);
}

/**
 * Formats a match as OVS's match_format() does: `priority=` (when not the default 32768),
 * protocol shorthands, then the fields in OVS's order, comma-separated.
 */
export function matchToString(
  m: Match,
  priority: number = OFP_DEFAULT_PRIORITY,
  opts?: FormatOptions,
): string {
  const f = m.key;
  const wc = m.mask;
  const o = new Out();
  let skipType = false;
  let skipProto = false;
  const dlType = f[W_DL_TYPE];
  const nwProto = f[W_NW] & 0xff;
  const nwProtoMask = wc[W_NW] & 0xff;

  if (priority !== OFP_DEFAULT_PRIORITY) o.put('priority', String(priority));
  fmtU32Masked(o, 'pkt_mark', f[W_PKT_MARK], wc[W_PKT_MARK]);
  if (wc[W_RECIRC_ID]) fmtU32Masked(o, 'recirc_id', f[W_RECIRC_ID], wc[W_RECIRC_ID]);
  if (wc[W_DP_HASH]) fmtU32Masked(o, 'dp_hash', f[W_DP_HASH], wc[W_DP_HASH]);
  if (wc[W_CONJ_ID]) o.put('conj_id', String(f[W_CONJ_ID]));
  if (wc[W_SKB_PRIORITY]) o.put('skb_priority', hexAlt(f[W_SKB_PRIORITY]));
  if (wc[25]) o.put('actset_output', fmtPort(f[25], opts));
  const ctMask = wc[W_CT_STATE] & 0xff;
  if (ctMask) {
    o.put(
      'ct_state',
      ctMask === 0xff
        ? formatFlags(CT_STATE_NAMES, f[W_CT_STATE] & 0xff)
        : formatFlagsMasked(CT_STATE_NAMES, f[W_CT_STATE], ctMask, 0xff),
    );
  }
  if (wc[W_CT_ZONE]) fmtU16Masked(o, 'ct_zone', f[W_CT_ZONE], wc[W_CT_ZONE]);
  if (wc[W_CT_MARK]) fmtU32Masked(o, 'ct_mark', f[W_CT_MARK], wc[W_CT_MARK]);
  if (anySet(wc, W_CT_LABEL, 4)) {
    let v = hexAltWords(f, W_CT_LABEL, 4).replace(/^0$/, '0x0');
    if (!allOnes(wc, W_CT_LABEL, 4)) v += `/${hexAltWords(wc, W_CT_LABEL, 4)}`;
    o.put('ct_label', v);
  }
  fmtIpMasked(o, 'ct_nw_src', f[W_CT_NW_SRC], wc[W_CT_NW_SRC]);
  fmtIpv6Masked(o, 'ct_ipv6_src', f, wc, W_CT_IPV6_SRC);
  fmtIpMasked(o, 'ct_nw_dst', f[W_CT_NW_DST], wc[W_CT_NW_DST]);
  fmtIpv6Masked(o, 'ct_ipv6_dst', f, wc, W_CT_IPV6_DST);
  if (wc[W_CT_NW_PROTO]) {
    o.put('ct_nw_proto', String(f[W_CT_NW_PROTO]));
    fmtU16Masked(o, 'ct_tp_src', f[W_CT_TP] >>> 16, wc[W_CT_TP] >>> 16);
    fmtU16Masked(o, 'ct_tp_dst', f[W_CT_TP] & 0xffff, wc[W_CT_TP] & 0xffff);
  }
  // Ethernet (0) is the default packet type: shown only in megaflows (recirc_id matched).
  if (wc[W_PACKET_TYPE] && (f[W_PACKET_TYPE] !== 0 || wc[W_RECIRC_ID])) {
    const v = f[W_PACKET_TYPE];
    if (v === 0 && wc[W_PACKET_TYPE] >>> 0 === 0xffffffff) o.raw('eth,');
    else o.raw(`packet_type=(${v >>> 16},${hexAlt(v & 0xffff)}),`);
  }

  if (wc[W_DL_TYPE]) {
    skipType = true;
    if (dlType === ETH_TYPE_IP) {
      if (nwProtoMask) {
        skipProto = true;
        if (nwProto === IPPROTO_ICMP) o.raw('icmp,');
        else if (nwProto === IPPROTO_TCP) o.raw('tcp,');
        else if (nwProto === IPPROTO_UDP) o.raw('udp,');
        else if (nwProto === IPPROTO_SCTP) o.raw('sctp,');
        else {
          o.raw('ip,');
          skipProto = false;
        }
      } else {
        o.raw('ip,');
      }
    } else if (dlType === ETH_TYPE_IPV6) {
      if (nwProtoMask) {
        skipProto = true;
        if (nwProto === IPPROTO_ICMPV6) o.raw('icmp6,');
        else if (nwProto === IPPROTO_TCP) o.raw('tcp6,');
        else if (nwProto === IPPROTO_UDP) o.raw('udp6,');
        else if (nwProto === IPPROTO_SCTP) o.raw('sctp6,');
        else {
          o.raw('ipv6,');
          skipProto = false;
        }
      } else {
        o.raw('ipv6,');
      }
    } else if (dlType === ETH_TYPE_ARP) o.raw('arp,');
    else if (dlType === ETH_TYPE_RARP) o.raw('rarp,');
    else if (dlType === ETH_TYPE_MPLS) o.raw('mpls,');
    else if (dlType === ETH_TYPE_MPLS_MCAST) o.raw('mplsm,');
    else skipType = false;
  }
  for (let i = 0; i < N_REGS; i++) fmtU32Masked(o, `reg${i}`, f[W_REG0 + i], wc[W_REG0 + i]);

  // Tunnel.
  fmtBe64Masked(o, 'tun_id', f, wc, W_TUN_ID);
  fmtIpMasked(o, 'tun_src', f[W_TUN_SRC], wc[W_TUN_SRC]);
  fmtIpMasked(o, 'tun_dst', f[W_TUN_DST], wc[W_TUN_DST]);
  fmtIpv6Masked(o, 'tun_ipv6_src', f, wc, W_TUN_IPV6_SRC);
  fmtIpv6Masked(o, 'tun_ipv6_dst', f, wc, W_TUN_IPV6_DST);
  fmtU16Masked(o, 'tun_gbp_id', f[W_TUN_GBP] >>> 16, wc[W_TUN_GBP] >>> 16);
  if (wc[W_TUN_GBP] & 0xff) o.put('tun_gbp_flags', hexAlt(f[W_TUN_GBP] & 0xff));
  if ((wc[W_TUN_TOS_TTL] >>> 8) & 0xff) {
    o.put('tun_tos', ((f[W_TUN_TOS_TTL] >>> 8) & 0xff).toString(16));
  }
  if (wc[W_TUN_TOS_TTL] & 0xff) o.put('tun_ttl', String(f[W_TUN_TOS_TTL] & 0xff));
  const erVer = (f[W_TUN_ERSPAN] >>> 24) & 0xff;
  if ((wc[W_TUN_ERSPAN] >>> 24) & 0xff) o.put('tun_erspan_ver', String(erVer));
  if (wc[W_TUN_ERSPAN_IDX] && erVer === 1) {
    o.put('tun_erspan_idx', hexAlt(f[W_TUN_ERSPAN_IDX]));
  }
  if ((wc[W_TUN_ERSPAN] >>> 16) & 0xff && erVer === 2) {
    o.put('tun_erspan_dir', String((f[W_TUN_ERSPAN] >>> 16) & 0xff));
  }
  if ((wc[W_TUN_ERSPAN] >>> 8) & 0xff && erVer === 2) {
    o.put('tun_erspan_hwid', hexAlt((f[W_TUN_ERSPAN] >>> 8) & 0xff));
  }
  if ((wc[W_TUN_GTPU] >>> 8) & 0xff) o.put('gtpu_flags', hexAlt((f[W_TUN_GTPU] >>> 8) & 0xff));
  if (wc[W_TUN_GTPU] & 0xff) o.put('gtpu_msgtype', String(f[W_TUN_GTPU] & 0xff));
  if (wc[W_TUN_FLAGS] & 0xf) {
    o.put(
      'tun_flags',
      formatFlagsMasked(TUN_FLAG_NAMES, f[W_TUN_FLAGS], wc[W_TUN_FLAGS] & 0xf, 0xf),
    );
  }

  fmtBe64Masked(o, 'metadata', f, wc, W_METADATA);
  if (wc[W_IN_PORT]) o.put('in_port', fmtPort(f[W_IN_PORT], opts));

  for (let i = 0; i < 2; i++) {
    const tciMask = wc[W_VLAN0 + i] & 0xffff;
    if (!tciMask) break;
    const tci = f[W_VLAN0 + i] & 0xffff;
    const sfx = i === 0 ? '' : String(i);
    const vidMask = tciMask & VLAN_VID_MASK;
    const pcpMask = tciMask & VLAN_PCP_MASK;
    const cfi = tciMask & VLAN_CFI;
    if (
      cfi &&
      tci & VLAN_CFI &&
      (!vidMask || vidMask === VLAN_VID_MASK) &&
      (!pcpMask || pcpMask === VLAN_PCP_MASK) &&
      (vidMask || pcpMask)
    ) {
      if (vidMask) o.put(`dl_vlan${sfx}`, String(tci & VLAN_VID_MASK));
      if (pcpMask) o.put(`dl_vlan_pcp${sfx}`, String(tci >>> 13));
    } else if (tciMask === 0xffff) {
      o.put(`vlan_tci${sfx}`, `0x${tci.toString(16).padStart(4, '0')}`);
    } else {
      o.put(
        `vlan_tci${sfx}`,
        `0x${tci.toString(16).padStart(4, '0')}/0x${tciMask.toString(16).padStart(4, '0')}`,
      );
    }
  }

  fmtEthMasked(o, 'dl_src', f, wc, W_DL_SRC);
  fmtEthMasked(o, 'dl_dst', f, wc, W_DL_DST);
  if (!skipType && wc[W_DL_TYPE]) o.put('dl_type', `0x${dlType.toString(16).padStart(4, '0')}`);

  const isArp = dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
  if (dlType === ETH_TYPE_IPV6) {
    fmtIpv6Masked(o, 'ipv6_src', f, wc, W_IPV6_SRC);
    fmtIpv6Masked(o, 'ipv6_dst', f, wc, W_IPV6_DST);
    if (wc[W_IPV6_LABEL]) {
      const v = f[W_IPV6_LABEL].toString(16).padStart(5, '0');
      o.put(
        'ipv6_label',
        wc[W_IPV6_LABEL] >>> 0 === 0xffffffff || wc[W_IPV6_LABEL] === 0xfffff
          ? `0x${v}`
          : `0x${v}/0x${wc[W_IPV6_LABEL].toString(16).padStart(5, '0')}`,
      );
    }
  } else if (isArp) {
    fmtIpMasked(o, 'arp_spa', f[W_NW_SRC], wc[W_NW_SRC]);
    fmtIpMasked(o, 'arp_tpa', f[W_NW_DST], wc[W_NW_DST]);
  } else {
    fmtIpMasked(o, 'nw_src', f[W_NW_SRC], wc[W_NW_SRC]);
    fmtIpMasked(o, 'nw_dst', f[W_NW_DST], wc[W_NW_DST]);
  }
  if (!skipProto && nwProtoMask) o.put(isArp ? 'arp_op' : 'nw_proto', String(nwProto));
  if (isArp) {
    fmtEthMasked(o, 'arp_sha', f, wc, W_ARP_SHA);
    fmtEthMasked(o, 'arp_tha', f, wc, W_ARP_THA);
  }
  const tos = (f[W_NW] >>> 16) & 0xff;
  const tosMask = (wc[W_NW] >>> 16) & 0xff;
  if (tosMask & 0xfc) o.put('nw_tos', String(tos & 0xfc));
  if (tosMask & 0x03) o.put('nw_ecn', String(tos & 0x03));
  if ((wc[W_NW] >>> 8) & 0xff) o.put('nw_ttl', String((f[W_NW] >>> 8) & 0xff));
  const lse = f[W_MPLS0];
  const lseMask = wc[W_MPLS0];
  if (lseMask & 0xfffff000) o.put('mpls_label', String(lse >>> 12));
  if (lseMask & 0xe00) o.put('mpls_tc', String((lse >>> 9) & 7));
  if (lseMask & 0xff) o.put('mpls_ttl', String(lse & 0xff));
  if (lseMask & 0x100) o.put('mpls_bos', String((lse >>> 8) & 1));
  for (let i = 1; i < N_MPLS; i++) {
    fmtBe32Masked(o, `mpls_lse${i}`, f[W_MPLS0 + i], wc[W_MPLS0 + i]);
  }

  const frag = (f[W_NW] >>> 24) & 0xff;
  switch ((wc[W_NW] >>> 24) & 3) {
    case FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER:
      o.put(
        'nw_frag',
        frag & FLOW_NW_FRAG_ANY
          ? frag & FLOW_NW_FRAG_LATER
            ? 'later'
            : 'first'
          : frag & FLOW_NW_FRAG_LATER
            ? '<error>'
            : 'no',
      );
      break;
    case FLOW_NW_FRAG_ANY:
      o.put('nw_frag', frag & FLOW_NW_FRAG_ANY ? 'yes' : 'no');
      break;
    case FLOW_NW_FRAG_LATER:
      o.put('nw_frag', frag & FLOW_NW_FRAG_LATER ? 'later' : 'not_later');
      break;
  }

  const tpSrc = f[W_TP] >>> 16;
  const tpDst = f[W_TP] & 0xffff;
  const tpSrcMask = wc[W_TP] >>> 16;
  const tpDstMask = wc[W_TP] & 0xffff;
  if (dlType === ETH_TYPE_IP && nwProto === IPPROTO_ICMP) {
    fmtU16Masked(o, 'icmp_type', tpSrc, tpSrcMask);
    fmtU16Masked(o, 'icmp_code', tpDst, tpDstMask);
  } else if (dlType === ETH_TYPE_IPV6 && nwProto === IPPROTO_ICMPV6) {
    fmtU16Masked(o, 'icmp_type', tpSrc, tpSrcMask);
    fmtU16Masked(o, 'icmp_code', tpDst, tpDstMask);
    fmtIpv6Masked(o, 'nd_target', f, wc, W_ND_TARGET);
    fmtEthMasked(o, 'nd_sll', f, wc, W_ARP_SHA);
    fmtEthMasked(o, 'nd_tll', f, wc, W_ARP_THA);
    fmtBe32Masked(o, 'nd_reserved', f[W_ND_RESERVED], wc[W_ND_RESERVED]);
    if (wc[W_ND_OPTIONS_TYPE]) {
      fmtU16Masked(o, 'nd_options_type', f[W_ND_OPTIONS_TYPE], wc[W_ND_OPTIONS_TYPE] ? 0xffff : 0);
    }
  } else {
    fmtU16Masked(o, 'tp_src', tpSrc, tpSrcMask);
    fmtU16Masked(o, 'tp_dst', tpDst, tpDstMask);
  }
  if (isIpAny(f) && nwProto === IPPROTO_TCP && wc[W_TCP_FLAGS] & 0xfff) {
    o.put(
      'tcp_flags',
      formatFlagsMasked(TCP_FLAG_NAMES, f[W_TCP_FLAGS], wc[W_TCP_FLAGS] & 0xfff, 0xfff),
    );
  }
  return o.s.endsWith(',') ? o.s.slice(0, -1) : o.s;
}

/**
 * Formats a packet's flow key as OVS's flow_format() does (what `ovs-ofctl parse-pcap` and
 * packet-in messages show): the packet's meaningful fields, leaving out zero-valued metadata.
 */
export function flowToString(key: FlowKey, opts?: FormatOptions): string {
  const m = newMatch();
  packetWildcards(key, m.mask);
  // flow_format() skips all-zero context fields.
  const zeroSkip = [W_SKB_PRIORITY, W_PKT_MARK, W_RECIRC_ID, W_DP_HASH, W_CT_STATE, W_CT_ZONE];
  zeroSkip.push(W_CT_MARK);
  for (const w of zeroSkip) if (!key[w]) m.mask[w] = 0;
  if (!anySet(key, W_CT_LABEL, 4)) m.mask.fill(0, W_CT_LABEL, W_CT_LABEL + 4);
  if (!(key[W_CT_STATE] & 0x20) || !key[W_CT_NW_PROTO]) {
    m.mask[W_CT_NW_PROTO] = 0;
    m.mask[W_CT_TP] = 0;
    m.mask[W_CT_NW_SRC] = 0;
    m.mask[W_CT_NW_DST] = 0;
    m.mask.fill(0, W_CT_IPV6_SRC, W_CT_IPV6_DST + 4);
  }
  for (let i = 0; i < N_REGS; i++) if (key[W_REG0 + i]) m.mask[W_REG0 + i] = 0xffffffff;
  if (key[W_METADATA] || key[W_METADATA + 1]) m.mask.fill(0xffffffff, W_METADATA, W_METADATA + 2);
  // flow_format() shows in_port even when zero only if... it does not: zero in_port is skipped.
  if (!key[W_IN_PORT]) m.mask[W_IN_PORT] = 0;
  for (let i = 0; i < FLOW_WORDS; i++) m.key[i] = (key[i] & m.mask[i]) >>> 0;
  return matchToString(m, OFP_DEFAULT_PRIORITY, opts);
}
