/*
 * Matches: a flow key plus a mask of the bits that matter, set field by field with OVS's
 * semantics (dl_vlan, vlan_pcp and the other special fields), and their prerequisites.
 * Printing is in match-format.ts, parsing in match-parse.ts.
 *
 * The key of a match is always kept masked (key & mask), so two equal matches have equal words.
 */

import { FIELDS, type Field, fieldByName, fieldExactMask, type Prereq } from './fields.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IGMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  VLAN_CFI,
  VLAN_PCP_MASK,
  VLAN_VID_MASK,
  W_ARP_SHA,
  W_ARP_THA,
  W_CT_IPV6_SRC,
  W_CT_LABEL,
  W_CT_MARK,
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
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_RESERVED,
  W_ND_TARGET,
  W_NW,
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
  W_VLAN0,
} from './layout.ts';

export const OFP_DEFAULT_PRIORITY = 0x8000;

export interface Match {
  readonly key: FlowKey;
  readonly mask: FlowKey;
}

/*
 * Matches are carved out of shared slabs: a 392-byte typed array is too big for V8's on-heap
 * storage, so each `new Uint32Array(FLOW_WORDS)` is a malloc'd backing store the garbage
 * collector tracks one by one, which dominated decoding a flow_mod. Slots are never reused
 * (a match a caller holds never changes under it); a slab lives as long as any of its matches.
 * Matches that may cross a thread (megaflows) get buffers of their own: structured cloning a
 * view copies its whole buffer.
 */
const SLAB_MATCHES = 64;
const MATCH_BYTES = FLOW_WORDS * 4;
let slab: ArrayBuffer = new ArrayBuffer(0);
let slabNext = SLAB_MATCHES;

export function newMatch(): Match {
  if (slabNext === SLAB_MATCHES) {
    slab = new ArrayBuffer(SLAB_MATCHES * 2 * MATCH_BYTES);
    slabNext = 0;
  }
  const at = slabNext++ * 2 * MATCH_BYTES;
  return {
    key: new Uint32Array(slab, at, FLOW_WORDS),
    mask: new Uint32Array(slab, at + MATCH_BYTES, FLOW_WORDS),
  };
}

let keySlab: ArrayBuffer = new ArrayBuffer(0);
let keySlabNext = SLAB_MATCHES;

/**
 * A zeroed flow key carved from a shared slab, as newMatch() does for matches: for short-lived
 * keys on per-message paths (a packet-out's flow, a packet-in's metadata) that never cross a
 * thread.
 */
export function slabFlowKey(): FlowKey {
  if (keySlabNext === SLAB_MATCHES) {
    keySlab = new ArrayBuffer(SLAB_MATCHES * MATCH_BYTES);
    keySlabNext = 0;
  }
  return new Uint32Array(keySlab, keySlabNext++ * MATCH_BYTES, FLOW_WORDS);
}

const WORD_SLAB_BYTES = 64 * 1024;
let wordSlab: ArrayBuffer = new ArrayBuffer(0);
let wordSlabNext = WORD_SLAB_BYTES;

/**
 * `n` zeroed words (n <= 4096) carved from a shared slab, never handed out twice: for the
 * working keys of one translation or one message. Not for anything that crosses a thread
 * (structured cloning a view copies its whole slab).
 */
export function newSlabWords(n: number): Uint32Array {
  const bytes = n * 4;
  if (wordSlabNext + bytes > WORD_SLAB_BYTES) {
    wordSlab = new ArrayBuffer(WORD_SLAB_BYTES);
    wordSlabNext = 0;
  }
  const out = new Uint32Array(wordSlab, wordSlabNext, n);
  wordSlabNext += bytes;
  return out;
}

/*
 * Masks that nobody writes any more (a classifier subtable's, which all its rules share), so
 * that encoders may cache what they derive from one (the fields it sets) by identity.
 */
const sharedMasks = new WeakSet<FlowKey>();

/** Declares `mask` read-only from now on; only its owner may call this. */
export function markMaskShared(mask: FlowKey): void {
  sharedMasks.add(mask);
}

export function isMaskShared(mask: FlowKey): boolean {
  return sharedMasks.has(mask);
}

/** A match whose key and mask own their buffers (safe to transfer or clone to a worker). */
function newOwnedMatch(): Match {
  return { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) };
}

export function cloneMatch(m: Match): Match {
  return { key: m.key.slice(), mask: m.mask.slice() };
}

export function matchEquals(a: Match, b: Match): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    if (a.key[i] !== b.key[i] || a.mask[i] !== b.mask[i]) return false;
  }
  return true;
}

/** An exact match on every bit of a packet's key (no OVS semantics, all words). */
export function matchFromKeyExact(key: FlowKey): Match {
  const m = newOwnedMatch();
  m.key.set(key.subarray(0, FLOW_WORDS));
  m.mask.fill(0xffffffff);
  return m;
}

/** Does `key` (a packet's flow key) match `m`? */
export function matchHits(m: Match, key: FlowKey): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    if ((key[i] & m.mask[i]) >>> 0 !== m.key[i]) return false;
  }
  return true;
}

function setWordBits(m: Match, w: number, bits: number, value: number, mask: number): void {
  const mk = (mask & bits) >>> 0;
  m.mask[w] = ((m.mask[w] & ~bits) | mk) >>> 0;
  m.key[w] = ((m.key[w] & ~bits) | (value & mk)) >>> 0;
}

/**
 * Sets `f` in `m` to `value` under `mask`, both as words most significant first (one word for
 * fields up to 32 bits, in the field's own bit positions). Bits outside the field are ignored.
 * OVS's special cases apply: dl_vlan and the PCP fields also require a VLAN tag to be present.
 */
export function matchSetField(
  m: Match,
  f: Field,
  value: readonly number[],
  mask: readonly number[] = fieldExactMask(f),
): void {
  if (f.nWords > 1) {
    for (let i = 0; i < f.nWords; i++) {
      setWordBits(m, f.word + i, i === 0 ? f.wordMask : 0xffffffff, value[i], mask[i]);
    }
    return;
  }
  const v = value[0] >>> 0;
  // A non-maskable field is either wildcarded or exact over all its key bits.
  const mk = !f.maskable && mask[0] !== 0 ? f.wordMask >>> f.shift : mask[0] >>> 0;
  if (f.special === 'dl-vlan') {
    if (mk === 0) {
      setWordBits(m, f.word, VLAN_VID_MASK | VLAN_CFI, 0, 0);
    } else if (v === 0xffff) {
      setWordBits(m, f.word, 0xffff, 0, 0xffff);
    } else {
      setWordBits(m, f.word, VLAN_VID_MASK | VLAN_CFI, (v & VLAN_VID_MASK) | VLAN_CFI, 0xffff);
    }
    return;
  }
  if (f.special === 'vlan-pcp') {
    if (mk === 0) {
      setWordBits(m, f.word, VLAN_PCP_MASK, 0, 0);
    } else {
      setWordBits(m, f.word, VLAN_PCP_MASK | VLAN_CFI, ((v & 7) << 13) | VLAN_CFI, 0xffff);
    }
    return;
  }
  setWordBits(m, f.word, f.wordMask, v << f.shift, mk << f.shift);
}

/** Convenience for fields up to 32 bits: value and mask as plain numbers. */
export function matchSet(m: Match, name: string, value: number, mask?: number): void {
  const f = fieldByName(name);
  if (!f) throw new Error(`unknown field ${name}`);
  matchSetField(m, f, [value], mask === undefined ? fieldExactMask(f) : [mask]);
}

/* ---------------------------------------------------------------------------------------- */
/* Prerequisites.                                                                           */

export function isIpAny(key: FlowKey): boolean {
  const t = key[W_DL_TYPE];
  return t === ETH_TYPE_IP || t === ETH_TYPE_IPV6;
}

/** Whether the values of `key` (a match's key or a packet's) satisfy a prerequisite. */
export function prereqOk(p: Prereq, key: FlowKey): boolean {
  const dlType = key[W_DL_TYPE];
  const proto = key[W_NW] & 0xff;
  const later = (key[W_NW] >>> 24) & FLOW_NW_FRAG_LATER;
  switch (p) {
    case 'none':
    case 'ethernet':
      return true;
    case 'arp':
      return dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP;
    case 'ipv4':
      return dlType === ETH_TYPE_IP;
    case 'ipv6':
      return dlType === ETH_TYPE_IPV6;
    case 'vlan-vid':
      return (key[W_VLAN0] & VLAN_CFI) !== 0;
    case 'mpls':
      return dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST;
    case 'ip-any':
      return isIpAny(key);
    case 'ct':
      return isIpAny(key) && (key[W_CT_STATE] & 0x20) !== 0;
    case 'tcp':
      return isIpAny(key) && proto === IPPROTO_TCP && !later;
    case 'udp':
      return isIpAny(key) && proto === IPPROTO_UDP && !later;
    case 'sctp':
      return isIpAny(key) && proto === IPPROTO_SCTP && !later;
    case 'icmpv4':
      return dlType === ETH_TYPE_IP && proto === IPPROTO_ICMP;
    case 'icmpv6':
      return dlType === ETH_TYPE_IPV6 && proto === IPPROTO_ICMPV6;
    case 'nd':
    case 'nd-solicit':
    case 'nd-advert': {
      if (dlType !== ETH_TYPE_IPV6 || proto !== IPPROTO_ICMPV6) return false;
      const type = key[W_TP] >>> 16;
      const code = key[W_TP] & 0xffff;
      if (code !== 0) return false;
      if (p === 'nd-solicit') return type === ND_NEIGHBOR_SOLICIT;
      if (p === 'nd-advert') return type === ND_NEIGHBOR_ADVERT;
      return type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT;
    }
  }
}

function fieldIsSet(m: Match, f: Field): boolean {
  if (f.nWords === 1) return (m.mask[f.word] & f.wordMask) !== 0;
  for (let i = 0; i < f.nWords; i++) if (m.mask[f.word + i] !== 0) return true;
  return false;
}

/**
 * Checks that every field the match constrains has its prerequisites in the match itself
 * (what a switch enforces on NXM/OXM flows). Returns the name of the first field that lacks
 * them, or null.
 */
export function matchCheckPrereqs(m: Match): string | null {
  for (const f of FIELDS) {
    if (f.prereq === 'none' || f.prereq === 'ethernet') continue;
    if (f.special !== 'none' && f.name !== 'vlan_pcp') continue;
    if (fieldIsSet(m, f) && !prereqOk(f.prereq, m.key)) {
      // Aliased storage (tp_src for tcp/udp/sctp, arp_spa for nw_src...) is fine when any
      // field sharing the bits is satisfied.
      const sharing = FIELDS.find(
        (g) =>
          g !== f &&
          g.word === f.word &&
          g.wordMask === f.wordMask &&
          g.nWords === f.nWords &&
          prereqOk(g.prereq, m.key),
      );
      if (!sharing) return f.name;
    }
  }
  return null;
}

function anySet(w: ArrayLike<number>, ofs: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (w[ofs + i] !== 0) return true;
  return false;
}

/**
 * The mask OVS's flow_wildcards_init_for_packet() gives a packet: the fields that are
 * meaningful for its protocols. Writes into `mask`.
 */
export function packetWildcards(key: FlowKey, mask: FlowKey): void {
  mask.fill(0);
  const set = (w: number, n = 1, v = 0xffffffff) => {
    for (let i = 0; i < n; i++) mask[w + i] = v;
  };
  if (key[W_TUN_DST] || anySet(key, W_TUN_IPV6_DST, 4)) {
    if (key[W_TUN_FLAGS] & 8) set(W_TUN_ID, 2);
    set(W_TUN_SRC, 2);
    set(W_TUN_IPV6_SRC, 8);
    set(W_TUN_FLAGS, 7);
  } else if (key[W_TUN_ID] || key[W_TUN_ID + 1]) {
    set(W_TUN_ID, 2);
  }
  set(W_SKB_PRIORITY);
  set(W_PKT_MARK);
  set(W_CT_STATE);
  set(W_CT_ZONE, 1, 0xffff);
  set(W_CT_MARK);
  set(W_CT_LABEL, 4);
  set(W_RECIRC_ID);
  set(W_DP_HASH);
  set(W_IN_PORT);
  set(W_PACKET_TYPE);
  set(W_DL_DST, 1, 0xffff);
  set(W_DL_DST + 1);
  set(W_DL_SRC, 1, 0xffff);
  set(W_DL_SRC + 1);
  set(W_DL_TYPE, 1, 0xffff);
  for (let i = 0; i < 2; i++) {
    set(W_VLAN0 + i);
    if ((key[W_VLAN0 + i] & 0xffff) === 0) break;
  }
  const dlType = key[W_DL_TYPE];
  if (dlType === ETH_TYPE_IP) {
    set(W_NW_SRC, 2);
    set(W_CT_NW_SRC, 2);
  } else if (dlType === ETH_TYPE_IPV6) {
    set(W_IPV6_SRC, 8);
    set(W_IPV6_LABEL, 1, 0xfffff);
    if (prereqOk('nd', key)) {
      set(W_ARP_SHA, 1, 0xffff);
      set(W_ARP_SHA + 1);
      set(W_ARP_THA, 1, 0xffff);
      set(W_ARP_THA + 1);
      set(W_ND_TARGET, 4);
    } else {
      set(W_CT_IPV6_SRC, 8);
    }
  } else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) {
    set(W_NW_SRC, 2);
    mask[W_NW] = 0xff;
    set(W_ARP_SHA, 1, 0xffff);
    set(W_ARP_SHA + 1);
    set(W_ARP_THA, 1, 0xffff);
    set(W_ARP_THA + 1);
    return;
  } else if (dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST) {
    for (let i = 0; i < N_MPLS; i++) {
      set(W_MPLS0 + i);
      if (key[W_MPLS0 + i] & 0x100) break;
    }
    return;
  } else {
    return;
  }
  mask[W_NW] = 0x03ffffff;
  set(W_CT_NW_PROTO, 1, 0xff);
  set(W_CT_TP);
  const proto = key[W_NW] & 0xff;
  if (
    !((key[W_NW] >>> 24) & FLOW_NW_FRAG_LATER) &&
    (proto === IPPROTO_ICMP ||
      proto === IPPROTO_ICMPV6 ||
      proto === IPPROTO_TCP ||
      proto === IPPROTO_UDP ||
      proto === IPPROTO_SCTP ||
      proto === IPPROTO_IGMP)
  ) {
    set(W_TP);
    if (proto === IPPROTO_TCP) set(W_TCP_FLAGS, 1, 0xfff);
    else if (proto === IPPROTO_IGMP) set(W_ND_RESERVED);
  }
}

/** The match a megaflow installs: the packet's key under the wildcard mask from a lookup. */
export function matchFromFlowAndMask(key: FlowKey, mask: FlowKey): Match {
  const m = newOwnedMatch();
  for (let i = 0; i < FLOW_WORDS; i++) {
    m.mask[i] = mask[i];
    m.key[i] = (key[i] & mask[i]) >>> 0;
  }
  return m;
}
