/*
 * Building a frame from a flow key, as OVS's flow_compose() does for `ovs-ofctl compose-packet`,
 * `netdev-dummy/receive` with a flow and `ofproto/trace` with a flow: a frame that extracts
 * back to the same key, with correct lengths and checksums (other header fields zero).
 * Control path only: allocates the frame it returns.
 */

import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_RARP,
  FLOW_DL_TYPE_NONE,
  FLOW_NW_FRAG_ANY,
  FLOW_NW_FRAG_LATER,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IGMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  VLAN_CFI,
  W_ARP_SHA,
  W_ARP_THA,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_RESERVED,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TCP_FLAGS,
  W_TP,
  W_VLAN0,
} from '../flow/layout.ts';
import {
  checksum,
  csumFinish,
  csumPartial,
  ipv4PseudoSum,
  ipv6PseudoSum,
  putBe16,
  putBe32,
} from './checksum.ts';

class Builder {
  buf = new Uint8Array(256);
  len = 0;
  zeros(n: number): number {
    if (this.len + n > this.buf.length) {
      const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    const at = this.len;
    this.buf.fill(0, at, at + n);
    this.len += n;
    return at;
  }
  /* Inserts n zero bytes at `at`, moving the rest right. */
  insert(at: number, n: number): void {
    this.zeros(n);
    this.buf.copyWithin(at + n, at, this.len - n);
    this.buf.fill(0, at, at + n);
  }
}

function putL7(b: Builder, l7: Uint8Array | number): void {
  if (typeof l7 === 'number') {
    const at = b.zeros(l7);
    for (let i = 0; i < l7; i++) b.buf[at + i] = i & 0xff;
  } else if (l7.length) {
    const at = b.zeros(l7.length);
    b.buf.set(l7, at);
  }
}

function putMacWords(b: Uint8Array, p: number, key: FlowKey, w: number): void {
  putBe16(b, p, key[w]);
  putBe32(b, p + 2, key[w + 1]);
}

/* Appends the transport header (and payload) and returns its length. */
function composeL4(b: Builder, key: FlowKey, l7: Uint8Array | number): number {
  const start = b.len;
  const frag = (key[W_NW] >>> 24) & 0xff;
  if (frag & FLOW_NW_FRAG_ANY && frag & FLOW_NW_FRAG_LATER) return 0;
  const proto = key[W_NW] & 0xff;
  const tpSrc = key[W_TP] >>> 16;
  const tpDst = key[W_TP] & 0xffff;
  const l7Len = typeof l7 === 'number' ? l7 : l7.length;
  if (proto === IPPROTO_TCP) {
    const at = b.zeros(20);
    putBe16(b.buf, at, tpSrc);
    putBe16(b.buf, at + 2, tpDst);
    const flags = key[W_TCP_FLAGS] & 0xfff;
    putBe16(b.buf, at + 12, (5 << 12) | flags);
    if (!(flags & 0x7)) putL7(b, l7);
  } else if (proto === IPPROTO_UDP) {
    const at = b.zeros(8);
    putBe16(b.buf, at, tpSrc);
    putBe16(b.buf, at + 2, tpDst);
    putBe16(b.buf, at + 4, 8 + l7Len);
    putL7(b, l7);
  } else if (proto === IPPROTO_SCTP) {
    const at = b.zeros(12);
    putBe16(b.buf, at, tpSrc);
    putBe16(b.buf, at + 2, tpDst);
  } else if (proto === IPPROTO_ICMP) {
    // OVS's struct icmp_header is 8 bytes (type, code, checksum and the 4-byte rest).
    const at = b.zeros(8);
    b.buf[at] = tpSrc & 0xff;
    b.buf[at + 1] = tpDst & 0xff;
    if ((tpSrc === 8 || tpSrc === 0) && tpDst === 0) putL7(b, l7);
  } else if (proto === IPPROTO_IGMP) {
    const at = b.zeros(8);
    b.buf[at] = tpSrc & 0xff;
    b.buf[at + 1] = tpDst & 0xff;
    putBe32(b.buf, at + 4, key[W_ND_RESERVED]);
  } else if (proto === IPPROTO_ICMPV6) {
    const at = b.zeros(8);
    const type = tpSrc & 0xff;
    const code = tpDst & 0xff;
    b.buf[at] = type;
    b.buf[at + 1] = code;
    putBe32(b.buf, at + 4, key[W_ND_RESERVED]);
    if (code === 0 && (type === 135 || type === 136)) {
      const t = b.zeros(16);
      for (let i = 0; i < 4; i++) putBe32(b.buf, t + 4 * i, key[W_ND_TARGET + i]);
      if (key[W_ARP_SHA] || key[W_ARP_SHA + 1]) {
        const o = b.zeros(8);
        b.buf[o] = 1;
        b.buf[o + 1] = 1;
        putMacWords(b.buf, o + 2, key, W_ARP_SHA);
      }
      if (key[W_ARP_THA] || key[W_ARP_THA + 1]) {
        const o = b.zeros(8);
        b.buf[o] = 2;
        b.buf[o + 1] = 1;
        putMacWords(b.buf, o + 2, key, W_ARP_THA);
      }
    } else if (code === 0 && (type === 128 || type === 129)) {
      putL7(b, l7);
    }
  }
  return b.len - start;
}

function composeL4Csum(b: Builder, key: FlowKey, l4: number, pseudo: number): void {
  const frag = (key[W_NW] >>> 24) & 0xff;
  if (frag & FLOW_NW_FRAG_ANY && frag & FLOW_NW_FRAG_LATER) return;
  const proto = key[W_NW] & 0xff;
  const len = b.len - l4;
  const buf = b.buf;
  if (proto === IPPROTO_TCP) {
    putBe16(buf, l4 + 16, csumFinish(csumPartial(buf, l4, len, pseudo)));
  } else if (proto === IPPROTO_UDP) {
    const c = csumFinish(csumPartial(buf, l4, len, pseudo));
    putBe16(buf, l4 + 6, c === 0 ? 0xffff : c);
  } else if (proto === IPPROTO_ICMP || proto === IPPROTO_IGMP) {
    putBe16(buf, l4 + 2, checksum(buf, l4, len));
  } else if (proto === IPPROTO_ICMPV6) {
    putBe16(buf, l4 + 2, csumFinish(csumPartial(buf, l4, len, pseudo)));
  }
}

/**
 * A frame that parses back to `key`. `l7` is the payload for protocols that carry one: a
 * byte count (bytes 0, 1, 2...) or the bytes themselves; OVS's tools default to 64 bytes.
 */
export function composePacket(key: FlowKey, l7: Uint8Array | number = 64): Uint8Array {
  const b = new Builder();
  const dlType = key[W_DL_TYPE] & 0xffff;
  b.zeros(14);
  putMacWords(b.buf, 0, key, W_DL_DST);
  putMacWords(b.buf, 6, key, W_DL_SRC);
  putBe16(b.buf, 12, dlType);
  if (dlType === FLOW_DL_TYPE_NONE) {
    putBe16(b.buf, 12, b.len);
    return b.buf.slice(0, b.len);
  }
  for (let i = 1; i >= 0; i--) {
    const v = key[W_VLAN0 + i];
    if (v & VLAN_CFI) {
      b.insert(12, 4);
      // A flow parsed from text has no TPID; OVS's flow_fix_vlan_tpid() picks 802.1Q.
      putBe16(b.buf, 12, v >>> 16 || 0x8100);
      putBe16(b.buf, 14, v & 0xffff & ~VLAN_CFI);
    }
  }
  const l3 = b.len;
  if (dlType === ETH_TYPE_IP) {
    const at = b.zeros(20);
    const buf = b.buf;
    buf[at] = 0x45;
    buf[at + 1] = (key[W_NW] >>> 16) & 0xff;
    buf[at + 8] = (key[W_NW] >>> 8) & 0xff;
    buf[at + 9] = key[W_NW] & 0xff;
    putBe32(buf, at + 12, key[W_NW_SRC]);
    putBe32(buf, at + 16, key[W_NW_DST]);
    const frag = (key[W_NW] >>> 24) & 0xff;
    if (frag & FLOW_NW_FRAG_ANY)
      putBe16(buf, at + 6, 0x2000 | (frag & FLOW_NW_FRAG_LATER ? 100 : 0));
    const l4 = b.len;
    const l4Len = composeL4(b, key, l7);
    putBe16(b.buf, l3 + 2, 20 + l4Len);
    putBe16(b.buf, l3 + 10, checksum(b.buf, l3, 20));
    const pseudo = ipv4PseudoSum(key[W_NW_SRC], key[W_NW_DST], key[W_NW] & 0xff, l4Len);
    composeL4Csum(b, key, l4, pseudo);
  } else if (dlType === ETH_TYPE_IPV6) {
    const at = b.zeros(40);
    const buf = b.buf;
    const tos = (key[W_NW] >>> 16) & 0xff;
    putBe32(buf, at, ((6 << 28) | (tos << 20) | (key[W_IPV6_LABEL] & 0xfffff)) >>> 0);
    buf[at + 6] = key[W_NW] & 0xff;
    buf[at + 7] = (key[W_NW] >>> 8) & 0xff;
    for (let i = 0; i < 4; i++) {
      putBe32(buf, at + 8 + 4 * i, key[W_IPV6_SRC + i]);
      putBe32(buf, at + 24 + 4 * i, key[W_IPV6_DST + i]);
    }
    const l4 = b.len;
    const l4Len = composeL4(b, key, l7);
    putBe16(b.buf, l3 + 4, l4Len);
    const pseudo = ipv6PseudoSum(b.buf, l3 + 8, l3 + 24, key[W_NW] & 0xff, l4Len);
    composeL4Csum(b, key, l4, pseudo);
  } else if (dlType === ETH_TYPE_ARP || dlType === ETH_TYPE_RARP) {
    const at = b.zeros(28);
    const buf = b.buf;
    putBe16(buf, at, 1);
    putBe16(buf, at + 2, ETH_TYPE_IP);
    buf[at + 4] = 6;
    buf[at + 5] = 4;
    const op = key[W_NW] & 0xff;
    putBe16(buf, at + 6, op);
    if (op === 1 || op === 2) {
      putMacWords(buf, at + 8, key, W_ARP_SHA);
      putBe32(buf, at + 14, key[W_NW_SRC]);
      putMacWords(buf, at + 18, key, W_ARP_THA);
      putBe32(buf, at + 24, key[W_NW_DST]);
    }
  }
  if (dlType === ETH_TYPE_MPLS || dlType === ETH_TYPE_MPLS_MCAST) {
    let n = 1;
    for (; n < N_MPLS; n++) if (key[W_MPLS0 + n - 1] & 0x100) break;
    // Label stack entries go between the L2 header and l3, outermost first.
    b.insert(l3, 4 * n);
    for (let i = 0; i < n; i++) putBe32(b.buf, l3 + 4 * i, key[W_MPLS0 + i]);
    putBe16(b.buf, l3 - 2, dlType);
  }
  return b.buf.slice(0, b.len);
}
