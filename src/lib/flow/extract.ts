/*
 * Flow key extraction: the per-packet parse from frame bytes to a flow key.
 *
 * Follows the decisions of OVS's miniflow_extract() (lib/flow.c) so that the same frame gives
 * the same key, truncated and malformed frames included: each header is taken only when it is
 * whole and sane, and parsing stops at the first one that is not, leaving the later fields zero.
 * Never throws and never allocates.
 */

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
  FLOW_DL_TYPE_NONE,
  FLOW_NW_FRAG_ANY,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IGMP,
  IPPROTO_ROUTING,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  NW_FRAG_SHIFT,
  NW_TOS_SHIFT,
  NW_TTL_SHIFT,
  VLAN_CFI,
  W_ARP_SHA,
  W_ARP_THA,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_OPTIONS_TYPE,
  W_ND_RESERVED,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TCP_FLAGS,
  W_TP,
  W_VLAN0,
} from './layout.ts';

/* Indexes into the optional `layers` array that extractFlow() fills in. Offsets are relative
 * to the frame's start (the `offset` argument); -1 means "no such layer". */
export const LAYER_L2_5 = 0;
export const LAYER_L3 = 1;
export const LAYER_L4 = 2;
/** Bytes of Ethernet padding after the IP datagram (OVS's l2_pad_size). */
export const LAYER_L2_PAD = 3;
export const N_LAYERS = 4;

/* OVS parses two VLAN headers in its flow library but ovs-vswitchd lowers this to the
 * Open_vSwitch other_config:vlan-limit (default 1); the bridge sets it. */
let vlanLimit = 2;

/** Sets how many VLAN headers extraction parses (0 = as many as fit, at most 2). */
export function setFlowVlanLimit(n: number): void {
  vlanLimit = n <= 0 || n > 2 ? 2 : n;
}

export function getFlowVlanLimit(): number {
  return vlanLimit;
}

function be16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

function be32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/* Stores a 6-byte MAC at b[p] into key words w (high 16 bits) and w+1 (low 32 bits). */
function putMac(out: FlowKey, w: number, b: Uint8Array, p: number): void {
  out[w] = (b[p] << 8) | b[p + 1];
  out[w + 1] = be32(b, p + 2);
}

function put128(out: FlowKey, w: number, b: Uint8Array, p: number): void {
  out[w] = be32(b, p);
  out[w + 1] = be32(b, p + 4);
  out[w + 2] = be32(b, p + 8);
  out[w + 3] = be32(b, p + 12);
}

function isZeroMac(out: FlowKey, w: number): boolean {
  return out[w] === 0 && out[w + 1] === 0;
}

/**
 * Parses `len` bytes of `frame` starting at `offset` into `out` (FLOW_WORDS words, all of
 * which are overwritten). `inPort` goes into in_port; other metadata (tunnel, recirc_id,
 * registers...) starts at zero for the caller to fill in. When `layers` is given, it receives
 * the header offsets (LAYER_*).
 */
export function extractFlow(
  frame: Uint8Array,
  offset: number,
  len: number,
  inPort: number,
  out: FlowKey,
  layers?: Int32Array,
): void {
  out.fill(0, 0, FLOW_WORDS);
  out[W_IN_PORT] = inPort >>> 0;
  if (layers !== undefined) {
    layers[LAYER_L2_5] = -1;
    layers[LAYER_L3] = -1;
    layers[LAYER_L4] = -1;
    layers[LAYER_L2_PAD] = 0;
  }
  if (len > frame.length - offset) len = frame.length - offset;
  if (len < 14 || offset < 0) return;

  const b = frame;
  let p = offset;
  let size = len;

  // Link layer.
  putMac(out, W_DL_DST, b, p);
  putMac(out, W_DL_SRC, b, p + 6);
  p += 12;
  size -= 12;

  let nVlans = 0;
  let tpid = be16(b, p);
  while ((tpid === ETH_TYPE_VLAN_8021Q || tpid === ETH_TYPE_VLAN_8021AD) && nVlans < vlanLimit) {
    if (size < 6) break;
    out[W_VLAN0 + nVlans] = ((tpid << 16) | be16(b, p + 2) | VLAN_CFI) >>> 0;
    p += 4;
    size -= 4;
    nVlans++;
    tpid = be16(b, p);
  }

  // Ethernet II type, or an 802.2 LLC/SNAP header carrying one.
  let dlType = be16(b, p);
  p += 2;
  size -= 2;
  if (dlType < ETH_TYPE_MIN) {
    dlType = FLOW_DL_TYPE_NONE;
    if (
      size >= 8 &&
      b[p] === 0xaa &&
      b[p + 1] === 0xaa &&
      b[p + 2] === 0x03 &&
      b[p + 3] === 0 &&
      b[p + 4] === 0 &&
      b[p + 5] === 0
    ) {
      const snapType = be16(b, p + 6);
      p += 8;
      size -= 8;
      if (snapType >= ETH_TYPE_MIN) dlType = snapType;
    }
  }
  out[W_DL_TYPE] = dlType;

  if (dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST) {
    if (layers !== undefined) layers[LAYER_L2_5] = p - offset;
    let count = 0;
    while (size >= 4) {
      const lse = be32(b, p);
      if (count < N_MPLS) out[W_MPLS0 + count] = lse;
      count++;
      p += 4;
      size -= 4;
      if (lse & 0x100) break;
    }
  }

  if (layers !== undefined) layers[LAYER_L3] = p - offset;

  let nwFrag = 0;
  let nwTos = 0;
  let nwTtl = 0;
  let nwProto = 0;
  if (dlType === ETH_TYPE_IP) {
    if (size < 20) return;
    const ipLen = (b[p] & 0x0f) * 4;
    if (ipLen < 20 || size < ipLen) return;
    const totLen = be16(b, p + 2);
    if (totLen > size || ipLen > totLen || size - totLen > 0xffff) return;
    if (layers !== undefined) layers[LAYER_L2_PAD] = size - totLen;
    size = totLen;
    out[W_NW_SRC] = be32(b, p + 12);
    out[W_NW_DST] = be32(b, p + 16);
    nwTos = b[p + 1];
    nwTtl = b[p + 8];
    nwProto = b[p + 9];
    const fragOff = be16(b, p + 6);
    if (fragOff & 0x3fff) {
      nwFrag = FLOW_NW_FRAG_ANY;
      if (fragOff & 0x1fff) nwFrag |= FLOW_NW_FRAG_LATER;
    }
    p += ipLen;
    size -= ipLen;
  } else if (dlType === ETH_TYPE_IPV6) {
    if (size < 40) return;
    const plen = be16(b, p + 4);
    if (plen + 40 > size || size - (plen + 40) > 0xffff) return;
    const tcFlow = be32(b, p);
    put128(out, W_IPV6_SRC, b, p + 8);
    put128(out, W_IPV6_DST, b, p + 24);
    nwTos = (tcFlow >>> 20) & 0xff;
    nwTtl = b[p + 7];
    nwProto = b[p + 6];
    p += 40;
    size -= 40;
    if (layers !== undefined) layers[LAYER_L2_PAD] = size - plen;
    size = plen;

    // Extension headers, up to the first terminal (or unknown) header.
    for (;;) {
      if (
        nwProto !== IPPROTO_HOPOPTS &&
        nwProto !== IPPROTO_ROUTING &&
        nwProto !== IPPROTO_DSTOPTS &&
        nwProto !== IPPROTO_AH &&
        nwProto !== IPPROTO_FRAGMENT
      ) {
        break;
      }
      // Every extension header is at least 8 bytes long.
      if (size < 8) return;
      if (nwProto === IPPROTO_FRAGMENT) {
        nwProto = b[p];
        const offlg = be16(b, p + 2);
        p += 8;
        size -= 8;
        if (offlg !== 0) {
          nwFrag = FLOW_NW_FRAG_ANY;
          if (offlg & 0xfff8) {
            nwFrag |= FLOW_NW_FRAG_LATER;
            nwProto = IPPROTO_FRAGMENT;
            break;
          }
        }
      } else {
        const extLen = nwProto === IPPROTO_AH ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
        nwProto = b[p];
        if (size < extLen) return;
        p += extLen;
        size -= extLen;
      }
    }
    out[W_IPV6_LABEL] = tcFlow & 0xfffff;
  } else {
    if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) {
      if (
        size >= 28 &&
        be16(b, p) === 1 &&
        be16(b, p + 2) === ETH_TYPE_IP &&
        b[p + 4] === 6 &&
        b[p + 5] === 4
      ) {
        out[W_NW_SRC] = be32(b, p + 14);
        out[W_NW_DST] = be32(b, p + 24);
        const op = be16(b, p + 6);
        // Only the low 8 bits of the opcode are matchable; larger ones are left at zero.
        if (op <= 0xff) out[W_NW] = op;
        putMac(out, W_ARP_SHA, b, p + 8);
        putMac(out, W_ARP_THA, b, p + 18);
      }
    }
    return;
  }

  if (layers !== undefined) layers[LAYER_L4] = p - offset;
  out[W_NW] =
    ((nwFrag << NW_FRAG_SHIFT) | (nwTos << NW_TOS_SHIFT) | (nwTtl << NW_TTL_SHIFT) | nwProto) >>> 0;

  if (nwFrag & FLOW_NW_FRAG_LATER) return;

  if (nwProto === IPPROTO_TCP) {
    if (size >= 20) {
      const ctl = be16(b, p + 12);
      const hdrLen = (ctl >>> 12) * 4;
      if (hdrLen >= 20 && size >= hdrLen) {
        out[W_TCP_FLAGS] = ctl & 0x0fff;
        out[W_TP] = be32(b, p);
      }
    }
  } else if (nwProto === IPPROTO_UDP) {
    if (size >= 8) out[W_TP] = be32(b, p);
  } else if (nwProto === IPPROTO_SCTP) {
    if (size >= 12) out[W_TP] = be32(b, p);
  } else if (nwProto === IPPROTO_ICMP) {
    if (size >= 4) out[W_TP] = ((b[p] << 16) | b[p + 1]) >>> 0;
  } else if (nwProto === IPPROTO_IGMP) {
    if (size >= 8) {
      out[W_TP] = ((b[p] << 16) | b[p + 1]) >>> 0;
      out[W_ND_RESERVED] = be32(b, p + 4);
    }
  } else if (nwProto === IPPROTO_ICMPV6) {
    if (size >= 8) {
      const type = b[p];
      const code = b[p + 1];
      out[W_TP] = ((type << 16) | code) >>> 0;
      if (code === 0 && (type === ND_NEIGHBOR_SOLICIT || type === ND_NEIGHBOR_ADVERT)) {
        extractNd(b, p + 8, size - 8, out);
      }
    }
  }
}

/* Neighbor Discovery: the reserved/flags word, the target and the link-layer address options.
 * 'p' points just past the 8-byte ICMPv6 header (whose last 4 bytes are the ND flags). */
function extractNd(b: Uint8Array, p: number, size: number, out: FlowKey): void {
  out[W_ND_RESERVED] = be32(b, p - 4);
  if (size < 16) return;
  put128(out, W_ND_TARGET, b, p);
  p += 16;
  size -= 16;
  let optType = 0;
  while (size >= 8) {
    const type = b[p];
    const optLen = b[p + 1] * 8;
    if (optLen === 0 || optLen > size) break;
    if (type === 1 && optLen === 8) {
      if (!isZeroMac(out, W_ARP_SHA)) {
        invalidNd(out);
        break;
      }
      putMac(out, W_ARP_SHA, b, p + 2);
      if (optType === 0) optType = type;
    } else if (type === 2 && optLen === 8) {
      if (!isZeroMac(out, W_ARP_THA)) {
        invalidNd(out);
        break;
      }
      putMac(out, W_ARP_THA, b, p + 2);
      if (optType === 0) optType = type;
    }
    p += optLen;
    size -= optLen;
  }
  out[W_ND_OPTIONS_TYPE] = optType;
}

/* A repeated link-layer option makes OVS drop the target and both addresses (but keep the
 * options type it saw first). */
function invalidNd(out: FlowKey): void {
  out[W_ND_TARGET] = 0;
  out[W_ND_TARGET + 1] = 0;
  out[W_ND_TARGET + 2] = 0;
  out[W_ND_TARGET + 3] = 0;
  out[W_ARP_SHA] = 0;
  out[W_ARP_SHA + 1] = 0;
  out[W_ARP_THA] = 0;
  out[W_ARP_THA + 1] = 0;
}
