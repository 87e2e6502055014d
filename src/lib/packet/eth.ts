/*
 * Ethernet, 802.1Q/802.1ad and MPLS headers in place in a frame buffer.
 *
 * Frames live in a Uint8Array at [off, off + len). Pushing a header moves the bytes after the
 * MAC addresses (or the L2 header) right, so the buffer must have room; the functions return
 * the new length (or -1 when there is no room or no such header). Nothing allocates.
 */

import { getBe16, getBe32, putBe16, putBe32 } from './checksum.ts';

export const ETH_HEADER_LEN = 14;
export const VLAN_HEADER_LEN = 4;
export const MPLS_HLEN = 4;
export const ETH_ADDR_LEN = 6;

export function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

export function isMplsType(t: number): boolean {
  return t === 0x8847 || t === 0x8848;
}

/** Writes a MAC held as key words (high 16 bits, low 32 bits) at b[p]. */
export function putMac(b: Uint8Array, p: number, hi: number, lo: number): void {
  putBe16(b, p, hi);
  putBe32(b, p + 2, lo);
}

export function getMacHi(b: Uint8Array, p: number): number {
  return getBe16(b, p);
}

export function getMacLo(b: Uint8Array, p: number): number {
  return getBe32(b, p + 2);
}

export function setEthDst(b: Uint8Array, off: number, hi: number, lo: number): void {
  putMac(b, off, hi, lo);
}

export function setEthSrc(b: Uint8Array, off: number, hi: number, lo: number): void {
  putMac(b, off + 6, hi, lo);
}

/** The offset of the Ethernet type (or first TPID) field. */
export const ETH_TYPE_OFS = 12;

/** Inserts an 802.1Q/802.1ad tag (outermost) after the MAC addresses. */
export function pushVlan(
  b: Uint8Array,
  off: number,
  len: number,
  tpid: number,
  tci: number,
): number {
  if (len < 12 || off + len + VLAN_HEADER_LEN > b.length) return -1;
  b.copyWithin(off + 16, off + 12, off + len);
  putBe16(b, off + 12, tpid);
  putBe16(b, off + 14, tci);
  return len + VLAN_HEADER_LEN;
}

/** Removes the outermost VLAN tag, if there is one. */
export function popVlan(b: Uint8Array, off: number, len: number): number {
  if (len < 18 || !isVlanTpid(getBe16(b, off + 12))) return -1;
  b.copyWithin(off + 12, off + 16, off + len);
  return len - VLAN_HEADER_LEN;
}

/** Rewrites the outermost tag's TCI (the tag must be there). */
export function setVlanTci(b: Uint8Array, off: number, tci: number): void {
  putBe16(b, off + 14, tci);
}

/* The offset of the Ethernet type after any VLAN tags. */
function typeOffset(b: Uint8Array, off: number, len: number): number {
  let p = off + 12;
  while (p + 6 <= off + len && isVlanTpid(getBe16(b, p))) p += 4;
  return p;
}

/**
 * Pushes an MPLS label stack entry at the start of L2.5 (after the MAC addresses and tags),
 * setting the Ethernet type to `ethType`.
 */
export function pushMpls(
  b: Uint8Array,
  off: number,
  len: number,
  ethType: number,
  lse: number,
): number {
  const tp = typeOffset(b, off, len);
  if (tp + 2 > off + len || off + len + MPLS_HLEN > b.length) return -1;
  const l25 = tp + 2;
  b.copyWithin(l25 + MPLS_HLEN, l25, off + len);
  putBe16(b, tp, ethType);
  putBe32(b, l25, lse >>> 0);
  return len + MPLS_HLEN;
}

/** Pops the outermost MPLS label stack entry; the Ethernet type becomes `ethType`. */
export function popMpls(b: Uint8Array, off: number, len: number, ethType: number): number {
  const tp = typeOffset(b, off, len);
  if (tp + 2 + MPLS_HLEN > off + len || !isMplsType(getBe16(b, tp))) return -1;
  const l25 = tp + 2;
  b.copyWithin(l25, l25 + MPLS_HLEN, off + len);
  putBe16(b, tp, ethType);
  return len - MPLS_HLEN;
}

/** Rewrites the outermost label stack entry (at the L2.5 offset). */
export function setMplsLse(b: Uint8Array, l25: number, lse: number): void {
  putBe32(b, l25, lse >>> 0);
}
