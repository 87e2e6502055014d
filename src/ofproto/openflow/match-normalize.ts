/*
 * OVS's "normalization" of a match (ofputil_normalize_match()): constraints on fields that
 * cannot be present given the match's Ethernet type and IP protocol are dropped (nw_src on a
 * non-IP flow, tp_dst on ICMPv6 echo...). ovs-ofctl normalizes a copy of each flow it parses
 * only to tell the user, in an INFO log, that the switch will not see what they wrote.
 */

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
  N_MPLS,
  W_ARP_SHA,
  W_ARP_THA,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_PACKET_TYPE,
  W_TP,
} from '../../lib/flow/layout.ts';
import { cloneMatch, type Match } from '../../lib/flow/match.ts';
import { matchToString } from '../../lib/flow/match-format.ts';
import { VlogRateLimit, vlog } from '../../lib/vlog.ts';

const ND_NEIGHBOR_SOLICIT = 135;
const ND_NEIGHBOR_ADVERT = 136;
const OFPHTN_ETHERTYPE = 1;

const MAY_NW_ADDR = 1 << 0;
const MAY_TP_ADDR = 1 << 1;
const MAY_NW_PROTO = 1 << 2;
const MAY_IPVX = 1 << 3;
const MAY_ARP_SHA = 1 << 4;
const MAY_ARP_THA = 1 << 5;
const MAY_IPV6 = 1 << 6;
const MAY_ND_TARGET = 1 << 7;
const MAY_MPLS = 1 << 8;
const MAY_ETHER = 1 << 9;

const log = vlog('ofp_match');
const rl = new VlogRateLimit(1, 5);

/* Stops matching on `bits` of words w .. w+n-1; true if any were matched. */
function clear(m: Match, w: number, n: number, bits = 0xffffffff): boolean {
  let changed = false;
  for (let i = w; i < w + n; i++) {
    if (m.mask[i] & bits) {
      changed = true;
      m.mask[i] = (m.mask[i] & ~bits) >>> 0;
      m.key[i] = (m.key[i] & m.mask[i]) >>> 0;
    }
  }
  return changed;
}

/** Normalizes `m` in place as OVS does; true when that dropped anything. */
export function normalizeMatch(m: Match): boolean {
  const k = m.key;
  let may = 0;
  let dlType = 0;
  const ptMask = m.mask[W_PACKET_TYPE];
  const pt = k[W_PACKET_TYPE];
  if (ptMask === 0 || pt === 0) {
    may = MAY_ETHER;
    dlType = k[W_DL_TYPE] & 0xffff;
  } else if (ptMask === 0xffffffff && pt >>> 16 === OFPHTN_ETHERTYPE) {
    dlType = pt & 0xffff;
  }
  const proto = k[W_NW] & 0xff;
  const tpSrc = k[W_TP] >>> 16;
  if (dlType === ETH_TYPE_IP) {
    may |= MAY_NW_PROTO | MAY_IPVX | MAY_NW_ADDR;
    if (
      proto === IPPROTO_TCP ||
      proto === IPPROTO_UDP ||
      proto === IPPROTO_SCTP ||
      proto === IPPROTO_ICMP
    ) {
      may |= MAY_TP_ADDR;
    }
  } else if (dlType === ETH_TYPE_IPV6) {
    may |= MAY_NW_PROTO | MAY_IPVX | MAY_IPV6;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
      may |= MAY_TP_ADDR;
    } else if (proto === IPPROTO_ICMPV6) {
      may |= MAY_TP_ADDR;
      if (tpSrc === ND_NEIGHBOR_SOLICIT) may |= MAY_ND_TARGET | MAY_ARP_SHA;
      else if (tpSrc === ND_NEIGHBOR_ADVERT) may |= MAY_ND_TARGET | MAY_ARP_THA;
    }
  } else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) {
    may |= MAY_NW_PROTO | MAY_NW_ADDR | MAY_ARP_SHA | MAY_ARP_THA;
  } else if (dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST) {
    may |= MAY_MPLS;
  }
  let changed = false;
  if (!(may & MAY_ETHER)) {
    changed = clear(m, W_DL_SRC, 2) || changed;
    changed = clear(m, W_DL_DST, 2) || changed;
  }
  if (!(may & MAY_NW_ADDR)) {
    changed = clear(m, W_NW_SRC, 1) || changed;
    changed = clear(m, W_NW_DST, 1) || changed;
  }
  if (!(may & MAY_TP_ADDR)) changed = clear(m, W_TP, 1) || changed;
  if (!(may & MAY_NW_PROTO)) changed = clear(m, W_NW, 1, 0xff) || changed;
  // nw_tos (DSCP and ECN) and nw_ttl; the fragment bits stay.
  if (!(may & MAY_IPVX)) changed = clear(m, W_NW, 1, 0x00ffff00) || changed;
  if (!(may & MAY_ARP_SHA)) changed = clear(m, W_ARP_SHA, 2) || changed;
  if (!(may & MAY_ARP_THA)) changed = clear(m, W_ARP_THA, 2) || changed;
  if (!(may & MAY_IPV6)) {
    changed = clear(m, W_IPV6_SRC, 4) || changed;
    changed = clear(m, W_IPV6_DST, 4) || changed;
    changed = clear(m, W_IPV6_LABEL, 1) || changed;
  }
  if (!(may & MAY_ND_TARGET)) changed = clear(m, W_ND_TARGET, 4) || changed;
  if (!(may & MAY_MPLS)) changed = clear(m, W_MPLS0, N_MPLS) || changed;
  return changed;
}

/**
 * Logs, as OVS's ofputil_normalize_match() does, what normalizing `m` would drop; `m` itself
 * is left as it is (the switch decides what to make of it).
 */
export function logNormalization(m: Match): void {
  if (!log.infoEnabled) return;
  const copy = cloneMatch(m);
  if (!normalizeMatch(copy) || rl.admit() === null) return;
  log.info('normalization changed ofp_match, details:');
  log.info(` pre: ${matchToString(m)}`);
  log.info(`post: ${matchToString(copy)}`);
}
