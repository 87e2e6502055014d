/*
 * Rewriting ARP and IPv6 Neighbor Discovery fields in place (the datapath's set actions on
 * arp_* and nd_* fields). ND rewrites keep the ICMPv6 checksum right. `l3` is the ARP header's
 * offset; `l4` the ICMPv6 header's and `l4Len` its length. MACs are key words (hi16, lo32).
 */

import { csumUpdate16, csumUpdate32, getBe16, getBe32, putBe16, putBe32 } from './checksum.ts';
import { putMac } from './eth.ts';

export function setArpOp(b: Uint8Array, l3: number, op: number): void {
  putBe16(b, l3 + 6, op);
}

export function setArpSha(b: Uint8Array, l3: number, hi: number, lo: number): void {
  putMac(b, l3 + 8, hi, lo);
}

export function setArpSpa(b: Uint8Array, l3: number, ip: number): void {
  putBe32(b, l3 + 14, ip >>> 0);
}

export function setArpTha(b: Uint8Array, l3: number, hi: number, lo: number): void {
  putMac(b, l3 + 18, hi, lo);
}

export function setArpTpa(b: Uint8Array, l3: number, ip: number): void {
  putBe32(b, l3 + 24, ip >>> 0);
}

/* Rewrites 32 bits at `at` inside the ICMPv6 message, updating its checksum. */
function put32Csum(b: Uint8Array, l4: number, at: number, v: number): void {
  const old = getBe32(b, at);
  putBe16(b, l4 + 2, csumUpdate32(getBe16(b, l4 + 2), old, v >>> 0));
  putBe32(b, at, v >>> 0);
}

/* Rewrites 16 bits at `at` (an even offset from l4), updating the checksum. */
function put16Csum(b: Uint8Array, l4: number, at: number, v: number): void {
  const old = getBe16(b, at);
  putBe16(b, l4 + 2, csumUpdate16(getBe16(b, l4 + 2), old, v & 0xffff));
  putBe16(b, at, v);
}

/** Sets the ND target address from four key words. */
export function setNdTarget(b: Uint8Array, l4: number, w: ArrayLike<number>, wOfs = 0): void {
  for (let i = 0; i < 4; i++) put32Csum(b, l4, l4 + 8 + 4 * i, w[wOfs + i]);
}

/* The offset of the first link-layer address option of `type` (1 = source, 2 = target) that
 * is 8 bytes long, or -1. */
function findLlaOption(b: Uint8Array, l4: number, l4Len: number, type: number): number {
  let p = l4 + 24;
  const end = l4 + l4Len;
  while (p + 8 <= end) {
    const len = b[p + 1] * 8;
    if (len === 0 || p + len > end) return -1;
    if (b[p] === type && len === 8) return p;
    p += len;
  }
  return -1;
}

/* Options start 24 bytes into the ICMPv6 message, an even offset, so MAC bytes at p+2..p+7
 * are three aligned 16-bit words for the checksum update. */
function setLla(b: Uint8Array, l4: number, l4Len: number, type: number, hi: number, lo: number) {
  const p = findLlaOption(b, l4, l4Len, type);
  if (p < 0) return false;
  put16Csum(b, l4, p + 2, hi);
  put16Csum(b, l4, p + 4, lo >>> 16);
  put16Csum(b, l4, p + 6, lo & 0xffff);
  return true;
}

/** Sets the source link-layer address option; false if the message has none. */
export function setNdSll(b: Uint8Array, l4: number, l4Len: number, hi: number, lo: number) {
  return setLla(b, l4, l4Len, 1, hi, lo);
}

/** Sets the target link-layer address option; false if the message has none. */
export function setNdTll(b: Uint8Array, l4: number, l4Len: number, hi: number, lo: number) {
  return setLla(b, l4, l4Len, 2, hi, lo);
}

/** Sets the ND reserved/flags word (R, S, O bits). */
export function setNdReserved(b: Uint8Array, l4: number, v: number): void {
  put32Csum(b, l4, l4 + 4, v);
}
