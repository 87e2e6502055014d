/*
 * OpenFlow 1.1's fixed "standard" match (ofp11_match, 88 bytes: a wildcard bitmap for the
 * exact-only fields, arbitrary bit masks for the addresses and metadata, set bits meaning
 * "don't care"), converted to and from a Match with OVS's semantics. OVS accepts this match
 * type in any version from 1.1 on, as OpenFlow 1.1 flow mods and their stats carry it.
 */

import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VLAN_CFI,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_METADATA,
  W_MPLS0,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { type Match, newMatch } from '../../lib/flow/match.ts';
import { vlog } from '../../lib/vlog.ts';
import type { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';

export const OFPMT_STANDARD = 0;
export const OFP11_MATCH_LEN = 88;

const FW_IN_PORT = 1 << 0;
const FW_DL_VLAN = 1 << 1;
const FW_DL_VLAN_PCP = 1 << 2;
const FW_DL_TYPE = 1 << 3;
const FW_NW_TOS = 1 << 4;
const FW_NW_PROTO = 1 << 5;
const FW_TP_SRC = 1 << 6;
const FW_TP_DST = 1 << 7;
const FW_MPLS_LABEL = 1 << 8;
const FW_MPLS_TC = 1 << 9;
const VID_NONE = 0xffff;
const VID_ANY = 0xfffe;
const DSCP_BITS = 0x00fc0000;
const portLog = vlog('ofp_port');

/* OpenFlow 1.1's 32-bit ports: the reserved ones sit at the top of the 32-bit space. */
function portFromOfp11(p: number): number | null {
  if (p < 0xff00) return p;
  return p >= 0xffffff00 ? p - 0xffff0000 : null;
}

function portToOfp11(p: number): number {
  return p >= 0xff00 ? (p + 0xffff0000) >>> 0 : p;
}

function setMasked(m: Match, w: number, v: number, mask: number): void {
  m.mask[w] = (m.mask[w] | mask) >>> 0;
  m.key[w] = ((m.key[w] & ~mask) | (v & mask)) >>> 0;
}

/** Parses an ofp11_match (its 4-byte header included); errors are OVS's OFPBMC_*. */
export function pullOf11Match(r: Reader): Match {
  const type = r.u16();
  const len = r.u16();
  if (type !== OFPMT_STANDARD || len !== OFP11_MATCH_LEN) {
    throw new OfpError('OFPBMC_BAD_LEN', `standard match length ${len}`);
  }
  const m = newMatch();
  const inPort = r.u32();
  const wc = r.u32() & 0xffff; // OVS reads the wildcards into 16 bits.
  const srcHi = r.u16();
  const srcLo = r.u32();
  const srcMaskHi = ~r.u16() & 0xffff;
  const srcMaskLo = ~r.u32() >>> 0;
  const dstHi = r.u16();
  const dstLo = r.u32();
  const dstMaskHi = ~r.u16() & 0xffff;
  const dstMaskLo = ~r.u32() >>> 0;
  const dlVlan = r.u16();
  const pcp = r.u8();
  r.skip(1);
  const dlType = r.u16();
  const tos = r.u8();
  const proto = r.u8();
  const nwSrc = r.u32();
  const nwSrcMask = ~r.u32() >>> 0;
  const nwDst = r.u32();
  const nwDstMask = ~r.u32() >>> 0;
  const tpSrc = r.u16();
  const tpDst = r.u16();
  const mplsLabel = r.u32();
  const mplsTc = r.u8();
  r.skip(3);
  const metaHi = r.u32();
  const metaLo = r.u32();
  const metaMaskHi = ~r.u32() >>> 0;
  const metaMaskLo = ~r.u32() >>> 0;

  if (!(wc & FW_IN_PORT)) {
    const p = portFromOfp11(inPort);
    if (p === null) {
      portLog.warn(
        `port ${inPort} is outside the supported range 0 through 65279 or 0xffffff00 through 0xffffffff`,
      );
      throw new OfpError('OFPBMC_BAD_VALUE', `in_port ${inPort}`);
    }
    setMasked(m, W_IN_PORT, p, 0xffffffff);
  }
  if (srcMaskHi || srcMaskLo || dstMaskHi || dstMaskLo) {
    setMasked(m, W_DL_SRC, srcHi, srcMaskHi);
    setMasked(m, W_DL_SRC + 1, srcLo, srcMaskLo);
    setMasked(m, W_DL_DST, dstHi, dstMaskHi);
    setMasked(m, W_DL_DST + 1, dstLo, dstMaskLo);
  }
  if (!(wc & FW_DL_VLAN)) {
    if (dlVlan === VID_NONE) {
      setMasked(m, W_VLAN0, 0, 0xffff);
    } else {
      if (dlVlan === VID_ANY) setMasked(m, W_VLAN0, VLAN_CFI, VLAN_CFI);
      else if (dlVlan < 4096) setMasked(m, W_VLAN0, VLAN_CFI | dlVlan, 0x1fff);
      else throw new OfpError('OFPBMC_BAD_VALUE', `dl_vlan ${dlVlan}`);
      if (!(wc & FW_DL_VLAN_PCP)) {
        if (pcp > 7) throw new OfpError('OFPBMC_BAD_VALUE', `dl_vlan_pcp ${pcp}`);
        setMasked(m, W_VLAN0, pcp << 13, 0xe000);
      }
    }
  }
  // Below 0x600 the field is a length: OVS's "not an Ethernet type" value.
  if (!(wc & FW_DL_TYPE)) setMasked(m, W_DL_TYPE, dlType >= 0x600 ? dlType : 0x5ff, 0xffff);
  const type2 = m.mask[W_DL_TYPE] ? m.key[W_DL_TYPE] : 0;
  const ipv4 = type2 === ETH_TYPE_IP;
  const arp = type2 === ETH_TYPE_ARP || type2 === ETH_TYPE_RARP;
  if (ipv4 && !(wc & FW_NW_TOS)) {
    if (tos & ~0xfc) throw new OfpError('OFPBMC_BAD_VALUE', `nw_tos ${tos}`);
    setMasked(m, W_NW, tos << 16, DSCP_BITS);
  }
  if (ipv4 || arp) {
    if (!(wc & FW_NW_PROTO)) setMasked(m, W_NW, proto, 0xff);
    setMasked(m, W_NW_SRC, nwSrc, nwSrcMask);
    setMasked(m, W_NW_DST, nwDst, nwDstMask);
  }
  const p = m.key[W_NW] & 0xff;
  if (ipv4 && (wc & (FW_TP_SRC | FW_TP_DST)) !== (FW_TP_SRC | FW_TP_DST)) {
    if (p === IPPROTO_ICMP) {
      if (!(wc & FW_TP_SRC)) {
        if (tpSrc >= 0x100) throw new OfpError('OFPBMC_BAD_FIELD', `icmp_type ${tpSrc}`);
        setMasked(m, W_TP, tpSrc << 16, 0xffff0000);
      }
      if (!(wc & FW_TP_DST)) {
        if (tpDst >= 0x100) throw new OfpError('OFPBMC_BAD_FIELD', `icmp_code ${tpDst}`);
        setMasked(m, W_TP, tpDst, 0xffff);
      }
    } else if (p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_SCTP) {
      if (!(wc & FW_TP_SRC)) setMasked(m, W_TP, tpSrc << 16, 0xffff0000);
      if (!(wc & FW_TP_DST)) setMasked(m, W_TP, tpDst, 0xffff);
    }
  }
  if (type2 === ETH_TYPE_MPLS || type2 === ETH_TYPE_MPLS_MCAST) {
    if (!(wc & FW_MPLS_LABEL)) setMasked(m, W_MPLS0, mplsLabel << 12, 0xfffff000);
    if (!(wc & FW_MPLS_TC)) setMasked(m, W_MPLS0, (mplsTc & 7) << 9, 0xe00);
  }
  setMasked(m, W_METADATA, metaHi, metaMaskHi);
  setMasked(m, W_METADATA + 1, metaLo, metaMaskLo);
  return m;
}

/** Writes `m` as an ofp11_match, dropping what that match cannot say, as OVS does. */
export function putOf11Match(w: Writer, m: Match): void {
  const k = m.key;
  const mk = m.mask;
  let wc = 0;
  const vm = mk[W_VLAN0] & 0xffff;
  const tci = k[W_VLAN0] & 0xffff;
  let dlVlan = 0;
  let pcp = 0;
  if (vm === 0) {
    wc |= FW_DL_VLAN | FW_DL_VLAN_PCP;
  } else if (vm & VLAN_CFI && !(tci & VLAN_CFI)) {
    dlVlan = VID_NONE;
    wc |= FW_DL_VLAN_PCP;
  } else {
    dlVlan = vm & 0x0fff ? tci & 0x0fff : VID_ANY;
    if (vm & 0xe000) pcp = tci >>> 13;
    else wc |= FW_DL_VLAN_PCP;
  }
  if (!mk[W_IN_PORT]) wc |= FW_IN_PORT;
  if (!mk[W_DL_TYPE]) wc |= FW_DL_TYPE;
  if (!(mk[W_NW] & DSCP_BITS)) wc |= FW_NW_TOS;
  if (!(mk[W_NW] & 0xff)) wc |= FW_NW_PROTO;
  if (!(mk[W_TP] >>> 16)) wc |= FW_TP_SRC;
  if (!(mk[W_TP] & 0xffff)) wc |= FW_TP_DST;
  if (!(mk[W_MPLS0] & 0xfffff000)) wc |= FW_MPLS_LABEL;
  if (!(mk[W_MPLS0] & 0xe00)) wc |= FW_MPLS_TC;
  w.u16(OFPMT_STANDARD).u16(OFP11_MATCH_LEN);
  w.u32(mk[W_IN_PORT] ? portToOfp11(k[W_IN_PORT]) : 0);
  w.u32(wc);
  w.u16(k[W_DL_SRC] & 0xffff).u32(k[W_DL_SRC + 1]);
  w.u16(~mk[W_DL_SRC] & 0xffff).u32(~mk[W_DL_SRC + 1] >>> 0);
  w.u16(k[W_DL_DST] & 0xffff).u32(k[W_DL_DST + 1]);
  w.u16(~mk[W_DL_DST] & 0xffff).u32(~mk[W_DL_DST + 1] >>> 0);
  w.u16(dlVlan).u8(pcp).u8(0);
  w.u16(mk[W_DL_TYPE] ? k[W_DL_TYPE] & 0xffff : 0);
  w.u8(mk[W_NW] & DSCP_BITS ? (k[W_NW] >>> 16) & 0xfc : 0);
  w.u8(mk[W_NW] & 0xff ? k[W_NW] & 0xff : 0);
  w.u32(k[W_NW_SRC]).u32(~mk[W_NW_SRC] >>> 0);
  w.u32(k[W_NW_DST]).u32(~mk[W_NW_DST] >>> 0);
  w.u16(mk[W_TP] >>> 16 ? k[W_TP] >>> 16 : 0).u16(mk[W_TP] & 0xffff ? k[W_TP] & 0xffff : 0);
  w.u32(mk[W_MPLS0] & 0xfffff000 ? k[W_MPLS0] >>> 12 : 0);
  w.u8(mk[W_MPLS0] & 0xe00 ? (k[W_MPLS0] >>> 9) & 7 : 0).zeros(3);
  w.u32(k[W_METADATA]).u32(k[W_METADATA + 1]);
  w.u32(~mk[W_METADATA] >>> 0).u32(~mk[W_METADATA + 1] >>> 0);
}
