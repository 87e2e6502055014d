/*
 * Rewriting IPv4, IPv6 and transport header fields in place, keeping the IPv4 header checksum
 * and the TCP/UDP/ICMPv6 checksums (which cover a pseudo-header with the addresses) right by
 * incremental update, as OVS's packet_set_* functions do. `l3` and `l4` are absolute offsets
 * into the buffer; pass l4 = -1 when the packet has no transport header (a later fragment).
 */

import { csumUpdate16, csumUpdate32, getBe16, getBe32, putBe16, putBe32 } from './checksum.ts';
import { crc32c } from './crc32c.ts';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/* Where the transport checksum that covers the pseudo-header sits, or -1. */
function pseudoCsumOffset(proto: number, l4: number, b: Uint8Array): number {
  if (l4 < 0) return -1;
  if (proto === IPPROTO_TCP) return l4 + 16;
  if (proto === IPPROTO_UDP) return getBe16(b, l4 + 6) === 0 ? -1 : l4 + 6;
  return -1;
}

function fixUdpZero(b: Uint8Array, proto: number, at: number): void {
  // A computed UDP checksum of zero is sent as all ones (RFC 768).
  if (proto === IPPROTO_UDP && getBe16(b, at) === 0) putBe16(b, at, 0xffff);
}

function setIpv4Addr(b: Uint8Array, l3: number, l4: number, at: number, v: number): void {
  const old = getBe32(b, at);
  if (old === v >>> 0) return;
  const proto = b[l3 + 9];
  const c = pseudoCsumOffset(proto, l4, b);
  if (c >= 0) {
    putBe16(b, c, csumUpdate32(getBe16(b, c), old, v));
    fixUdpZero(b, proto, c);
  }
  putBe16(b, l3 + 10, csumUpdate32(getBe16(b, l3 + 10), old, v));
  putBe32(b, at, v >>> 0);
}

export function setIpv4Src(b: Uint8Array, l3: number, l4: number, v: number): void {
  setIpv4Addr(b, l3, l4, l3 + 12, v);
}

export function setIpv4Dst(b: Uint8Array, l3: number, l4: number, v: number): void {
  setIpv4Addr(b, l3, l4, l3 + 16, v);
}

/** Sets the whole TOS byte (DSCP and ECN). */
export function setIpv4Tos(b: Uint8Array, l3: number, tos: number): void {
  const oldWord = getBe16(b, l3);
  const now = (oldWord & 0xff00) | (tos & 0xff);
  putBe16(b, l3 + 10, csumUpdate16(getBe16(b, l3 + 10), oldWord, now));
  b[l3 + 1] = tos & 0xff;
}

export function setIpv4Ttl(b: Uint8Array, l3: number, ttl: number): void {
  const oldWord = getBe16(b, l3 + 8);
  const now = ((ttl & 0xff) << 8) | (oldWord & 0xff);
  putBe16(b, l3 + 10, csumUpdate16(getBe16(b, l3 + 10), oldWord, now));
  b[l3 + 8] = ttl & 0xff;
}

/** Sets an IPv6 address (`which` 8 = source, 24 = destination) from four key words. */
function setIpv6Addr(
  b: Uint8Array,
  l3: number,
  l4: number,
  proto: number,
  at: number,
  w: ArrayLike<number>,
  wOfs: number,
): void {
  let c = pseudoCsumOffset(proto, l4, b);
  if (proto === IPPROTO_ICMPV6 && l4 >= 0) c = l4 + 2;
  for (let i = 0; i < 4; i++) {
    const p = l3 + at + 4 * i;
    const old = getBe32(b, p);
    const v = w[wOfs + i] >>> 0;
    if (old === v) continue;
    if (c >= 0) putBe16(b, c, csumUpdate32(getBe16(b, c), old, v));
    putBe32(b, p, v);
  }
  if (c >= 0) fixUdpZero(b, proto, c);
}

/** `proto` is the transport protocol after extension headers (the flow's nw_proto). */
export function setIpv6Src(
  b: Uint8Array,
  l3: number,
  l4: number,
  proto: number,
  w: ArrayLike<number>,
  wOfs = 0,
): void {
  setIpv6Addr(b, l3, l4, proto, 8, w, wOfs);
}

export function setIpv6Dst(
  b: Uint8Array,
  l3: number,
  l4: number,
  proto: number,
  w: ArrayLike<number>,
  wOfs = 0,
): void {
  setIpv6Addr(b, l3, l4, proto, 24, w, wOfs);
}

export function setIpv6Tc(b: Uint8Array, l3: number, tc: number): void {
  const v = getBe32(b, l3);
  putBe32(b, l3, ((v & 0xf00fffff) | ((tc & 0xff) << 20)) >>> 0);
}

export function setIpv6Label(b: Uint8Array, l3: number, label: number): void {
  const v = getBe32(b, l3);
  putBe32(b, l3, ((v & 0xfff00000) | (label & 0xfffff)) >>> 0);
}

export function setIpv6Hlim(b: Uint8Array, l3: number, hlim: number): void {
  b[l3 + 7] = hlim & 0xff;
}

/* Transport ports. TCP and UDP update their checksums; SCTP recomputes its CRC32c over
 * `l4Len` bytes. */
function setPort(
  b: Uint8Array,
  proto: number,
  l4: number,
  l4Len: number,
  at: number,
  port: number,
) {
  const old = getBe16(b, at);
  if (old === (port & 0xffff)) return;
  putBe16(b, at, port);
  if (proto === IPPROTO_TCP) {
    putBe16(b, l4 + 16, csumUpdate16(getBe16(b, l4 + 16), old, port));
  } else if (proto === IPPROTO_UDP) {
    if (getBe16(b, l4 + 6) !== 0) {
      putBe16(b, l4 + 6, csumUpdate16(getBe16(b, l4 + 6), old, port));
      fixUdpZero(b, proto, l4 + 6);
    }
  } else if (proto === IPPROTO_SCTP) {
    sctpUpdateCrc(b, l4, l4Len);
  }
}

export function setTpSrc(b: Uint8Array, proto: number, l4: number, l4Len: number, port: number) {
  setPort(b, proto, l4, l4Len, l4, port);
}

export function setTpDst(b: Uint8Array, proto: number, l4: number, l4Len: number, port: number) {
  setPort(b, proto, l4, l4Len, l4 + 2, port);
}

/** Recomputes the SCTP checksum (CRC32c with the checksum field taken as zero). */
export function sctpUpdateCrc(b: Uint8Array, l4: number, l4Len: number): void {
  putBe32(b, l4 + 8, 0);
  const crc = crc32c(b, l4, l4Len);
  // SCTP stores the CRC32c in little-endian byte order (RFC 4960 appendix B).
  b[l4 + 8] = crc & 0xff;
  b[l4 + 9] = (crc >>> 8) & 0xff;
  b[l4 + 10] = (crc >>> 16) & 0xff;
  b[l4 + 11] = (crc >>> 24) & 0xff;
}

/** ICMP/ICMPv6 type and code: the first 16-bit word of the header, under its checksum. */
export function setIcmpTypeCode(b: Uint8Array, l4: number, type: number, code: number): void {
  const old = getBe16(b, l4);
  const now = ((type & 0xff) << 8) | (code & 0xff);
  putBe16(b, l4 + 2, csumUpdate16(getBe16(b, l4 + 2), old, now));
  putBe16(b, l4, now);
}
