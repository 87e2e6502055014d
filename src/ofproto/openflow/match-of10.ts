/*
 * OpenFlow 1.0's fixed `ofp_match` (40 bytes, a wildcard bitmap and CIDR prefix lengths for the
 * IPv4 addresses), converted to and from a Match with OVS's semantics: dl_vlan 0xffff means
 * "no VLAN", nw_tos is the DSCP bits, and fields whose prerequisites are absent are dropped
 * (OVS's ofputil_normalize_match()).
 */

import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_RARP,
  FLOW_WORDS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VLAN_CFI,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { type Match, newMatch } from '../../lib/flow/match.ts';
import { matchToString } from '../../lib/flow/match-format.ts';
import { VlogRateLimit, vlog } from '../../lib/vlog.ts';
import type { Reader, Writer } from './bytes.ts';

export const OFPFW10_IN_PORT = 1 << 0;
export const OFPFW10_DL_VLAN = 1 << 1;
export const OFPFW10_DL_SRC = 1 << 2;
export const OFPFW10_DL_DST = 1 << 3;
export const OFPFW10_DL_TYPE = 1 << 4;
export const OFPFW10_NW_PROTO = 1 << 5;
export const OFPFW10_TP_SRC = 1 << 6;
export const OFPFW10_TP_DST = 1 << 7;
export const OFPFW10_NW_SRC_SHIFT = 8;
export const OFPFW10_NW_DST_SHIFT = 14;
export const OFPFW10_DL_VLAN_PCP = 1 << 20;
export const OFPFW10_NW_TOS = 1 << 21;
export const OFPFW10_ALL = (1 << 22) - 1;
export const OFP_VLAN_NONE = 0xffff;
export const OFP10_MATCH_LEN = 40;

const DSCP_BITS = 0x00fc0000;
const log = vlog('ofp_match');
const normalizeRl = new VlogRateLimit(1, 5);

function prefixLen(mask: number): number | null {
  if (mask === 0) return 0;
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  return 32 - Math.log2(inv + 1);
}

function putMac(w: Writer, hi: number, lo: number): void {
  w.u16(hi).u32(lo);
}

/**
 * Drops constraints OF1.0 semantics say cannot apply (OVS's ofputil_normalize_match); true
 * when it dropped any.
 */
export function normalizeOf10(m: Match): boolean {
  const dlType = m.mask[W_DL_TYPE] ? m.key[W_DL_TYPE] : -1;
  const isIp = dlType === ETH_TYPE_IP;
  const isIp6 = dlType === ETH_TYPE_IPV6;
  const isArp = dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
  const before4 = [m.mask[W_NW_SRC], m.mask[W_NW_DST], m.mask[W_NW], m.mask[W_TP]];
  if (!isIp && !isArp) {
    clearMasked(m, W_NW_SRC, 0xffffffff);
    clearMasked(m, W_NW_DST, 0xffffffff);
    if (!isIp6) clearMasked(m, W_NW, 0xffffffff);
  } else if (isArp) {
    clearMasked(m, W_NW, 0xffffff00);
  }
  // The flow's nw_proto, masked or not, as OVS looks at it.
  const proto = m.key[W_NW] & 0xff;
  const l4 =
    (isIp &&
      (proto === IPPROTO_TCP ||
        proto === IPPROTO_UDP ||
        proto === IPPROTO_SCTP ||
        proto === IPPROTO_ICMP)) ||
    (isIp6 &&
      (proto === IPPROTO_TCP ||
        proto === IPPROTO_UDP ||
        proto === IPPROTO_SCTP ||
        proto === IPPROTO_ICMPV6));
  if (!l4) clearMasked(m, W_TP, 0xffffffff);
  return (
    before4[0] !== m.mask[W_NW_SRC] ||
    before4[1] !== m.mask[W_NW_DST] ||
    before4[2] !== m.mask[W_NW] ||
    before4[3] !== m.mask[W_TP]
  );
}

/* Stops matching on the bits of `bits` in word `w`. */
function clearMasked(m: Match, w: number, bits: number): void {
  m.mask[w] = (m.mask[w] & ~bits) >>> 0;
  m.key[w] = (m.key[w] & m.mask[w]) >>> 0;
}

/* Sets the bits of `mask` in word `w` of `m` to those of `v`. */
function setMasked(m: Match, w: number, v: number, mask: number): void {
  m.mask[w] = (m.mask[w] | mask) >>> 0;
  m.key[w] = ((m.key[w] & ~mask) | (v & mask)) >>> 0;
}

/* An IPv4 prefix of `bits` (1 to 32) as a mask word. */
function prefixWord(bits: number): number {
  return bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parses a 40-byte OF1.0 match. `normalize`: drop what OF1.0 semantics rule out, as OVS does
 * for flow mods ('log' also logs what changed); OVS prints flow-removed messages and flow
 * statistics as sent ('none').
 */
export function pullOf10Match(r: Reader, normalize: 'quiet' | 'log' | 'none' = 'quiet'): Match {
  // Every flow_mod from ovs-ofctl comes through here: fields are read straight into the
  // match's words, with no views, arrays or closures to collect afterwards.
  const m = newMatch();
  const wc = r.u32();
  const inPort = r.u16();
  const dlSrcHi = r.u16();
  const dlSrcLo = r.u32();
  const dlDstHi = r.u16();
  const dlDstLo = r.u32();
  const dlVlan = r.u16();
  const pcp = r.u8();
  r.skip(1);
  const dlType = r.u16();
  const tos = r.u8();
  const proto = r.u8();
  r.skip(2);
  const nwSrc = r.u32();
  const nwDst = r.u32();
  const tpSrc = r.u16();
  const tpDst = r.u16();
  if (!(wc & OFPFW10_IN_PORT)) setMasked(m, W_IN_PORT, inPort, 0xffffffff);
  if (!(wc & OFPFW10_DL_SRC)) {
    setMasked(m, W_DL_SRC, dlSrcHi, 0xffff);
    setMasked(m, W_DL_SRC + 1, dlSrcLo, 0xffffffff);
  }
  if (!(wc & OFPFW10_DL_DST)) {
    setMasked(m, W_DL_DST, dlDstHi, 0xffff);
    setMasked(m, W_DL_DST + 1, dlDstLo, 0xffffffff);
  }
  if (!(wc & OFPFW10_DL_TYPE)) setMasked(m, W_DL_TYPE, dlType, 0xffff);
  const vlanWild = (wc & OFPFW10_DL_VLAN) !== 0;
  const pcpWild = (wc & OFPFW10_DL_VLAN_PCP) !== 0;
  if (!vlanWild && dlVlan === OFP_VLAN_NONE) {
    setMasked(m, W_VLAN0, 0, 0xffff);
  } else {
    if (!vlanWild) setMasked(m, W_VLAN0, (dlVlan & 0xfff) | VLAN_CFI, 0x1fff);
    if (!pcpWild) setMasked(m, W_VLAN0, ((pcp & 7) << 13) | VLAN_CFI, 0xe000 | VLAN_CFI);
  }
  if (!(wc & OFPFW10_NW_TOS)) setMasked(m, W_NW, (tos & 0xfc) << 16, DSCP_BITS);
  if (!(wc & OFPFW10_NW_PROTO)) setMasked(m, W_NW, proto, 0xff);
  const srcBits = Math.max(0, 32 - ((wc >>> OFPFW10_NW_SRC_SHIFT) & 0x3f));
  const dstBits = Math.max(0, 32 - ((wc >>> OFPFW10_NW_DST_SHIFT) & 0x3f));
  if (srcBits) setMasked(m, W_NW_SRC, nwSrc, prefixWord(srcBits));
  if (dstBits) setMasked(m, W_NW_DST, nwDst, prefixWord(dstBits));
  if (!(wc & OFPFW10_TP_SRC)) setMasked(m, W_TP, tpSrc << 16, 0xffff0000);
  if (!(wc & OFPFW10_TP_DST)) setMasked(m, W_TP, tpDst, 0xffff);
  if (normalize === 'log') normalizeOf10Logged(m);
  else if (normalize !== 'none') normalizeOf10(m);
  return m;
}

/** normalizeOf10(), logging the match before and after when that changed it, as OVS does. */
const preKey = new Uint32Array(FLOW_WORDS);
const preMask = new Uint32Array(FLOW_WORDS);

export function normalizeOf10Logged(m: Match): void {
  if (!log.infoEnabled) {
    normalizeOf10(m);
    return;
  }
  // The match as it came, formatted only if normalization changes it: a string per flow_mod
  // was a few percent of a switch's time adding flows.
  const pre = { key: preKey, mask: preMask };
  preKey.set(m.key.subarray(0, FLOW_WORDS));
  preMask.set(m.mask.subarray(0, FLOW_WORDS));
  if (normalizeOf10(m) && normalizeRl.admit() !== null) {
    log.info('normalization changed ofp_match, details:');
    log.info(` pre: ${matchToString(pre, 0x8000)}`);
    log.info(`post: ${matchToString(m, 0x8000)}`);
  }
}

/**
 * Whether `m` can be said in an OF1.0 match: only the ten OF1.0 fields, exact (or CIDR for the
 * IPv4 addresses), and VLAN masks OF1.0 can express.
 */
export function of10Expressible(m: Match): boolean {
  for (let w = 0; w < FLOW_WORDS; w++) {
    const mk = m.mask[w];
    if (!mk) continue;
    switch (w) {
      case W_IN_PORT:
        if (mk !== 0xffffffff && mk !== 0xffff) return false;
        break;
      case W_DL_SRC:
      case W_DL_DST:
        if (mk !== 0xffff || m.mask[w + 1] !== 0xffffffff) return false;
        break;
      case W_DL_SRC + 1:
      case W_DL_DST + 1:
        if (m.mask[w - 1] !== 0xffff) return false;
        break;
      case W_DL_TYPE:
        if (mk !== 0xffff) return false;
        break;
      case W_VLAN0: {
        const v = mk & 0xffff;
        if (mk >>> 16) return false;
        if (![0xffff, 0x1fff, 0xf000, 0].includes(v)) return false;
        if (v === 0xffff && (m.key[W_VLAN0] & VLAN_CFI) === 0 && m.key[W_VLAN0] & 0xffff)
          return false;
        if (v !== 0xffff && v !== 0 && (m.key[W_VLAN0] & VLAN_CFI) === 0) return false;
        break;
      }
      case W_NW: {
        if (mk & ~(DSCP_BITS | 0xff)) return false;
        if (mk & DSCP_BITS && (mk & DSCP_BITS) !== DSCP_BITS) return false;
        if (mk & 0xff && (mk & 0xff) !== 0xff) return false;
        break;
      }
      case W_NW_SRC:
      case W_NW_DST:
        if (prefixLen(mk) === null) return false;
        break;
      case W_TP:
        if ((mk & 0xffff) !== 0 && (mk & 0xffff) !== 0xffff) return false;
        if (mk >>> 16 !== 0 && mk >>> 16 !== 0xffff) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Writes `m` as an OF1.0 match; the caller has checked of10Expressible(). */
export function putOf10Match(w: Writer, m: Match): void {
  const k = m.key;
  const mk = m.mask;
  let wc = 0;
  if (!mk[W_IN_PORT]) wc |= OFPFW10_IN_PORT;
  if (!mk[W_DL_SRC + 1]) wc |= OFPFW10_DL_SRC;
  if (!mk[W_DL_DST + 1]) wc |= OFPFW10_DL_DST;
  if (!mk[W_DL_TYPE]) wc |= OFPFW10_DL_TYPE;
  const vm = mk[W_VLAN0] & 0xffff;
  const tci = k[W_VLAN0] & 0xffff;
  let dlVlan = 0;
  let pcp = 0;
  if (vm === 0) {
    wc |= OFPFW10_DL_VLAN | OFPFW10_DL_VLAN_PCP;
  } else if (vm & VLAN_CFI && !(tci & VLAN_CFI)) {
    // "No VLAN": OVS leaves the PCP bit of the wildcards clear (and the PCP zero).
    dlVlan = OFP_VLAN_NONE;
  } else {
    if (vm & 0x0fff) dlVlan = tci & 0xfff;
    else wc |= OFPFW10_DL_VLAN;
    if (vm & 0xe000) pcp = tci >>> 13;
    else wc |= OFPFW10_DL_VLAN_PCP;
  }
  if (!(mk[W_NW] & DSCP_BITS)) wc |= OFPFW10_NW_TOS;
  if (!(mk[W_NW] & 0xff)) wc |= OFPFW10_NW_PROTO;
  wc |= (32 - (prefixLen(mk[W_NW_SRC]) ?? 32)) << OFPFW10_NW_SRC_SHIFT;
  wc |= (32 - (prefixLen(mk[W_NW_DST]) ?? 32)) << OFPFW10_NW_DST_SHIFT;
  if (!(mk[W_TP] >>> 16)) wc |= OFPFW10_TP_SRC;
  if (!(mk[W_TP] & 0xffff)) wc |= OFPFW10_TP_DST;
  w.u32(wc);
  w.u16(k[W_IN_PORT]);
  putMac(w, k[W_DL_SRC], k[W_DL_SRC + 1]);
  putMac(w, k[W_DL_DST], k[W_DL_DST + 1]);
  w.u16(dlVlan).u8(pcp).u8(0);
  w.u16(k[W_DL_TYPE]);
  w.u8((k[W_NW] >>> 16) & 0xfc)
    .u8(k[W_NW] & 0xff)
    .u16(0);
  w.u32(k[W_NW_SRC]).u32(k[W_NW_DST]);
  w.u16(k[W_TP] >>> 16).u16(k[W_TP] & 0xffff);
}
