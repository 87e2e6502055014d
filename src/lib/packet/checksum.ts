/*
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), over frame bytes.
 * Sums are kept as unfolded numbers below 2^53 so no carry is lost; nothing allocates.
 */

/** Adds `len` bytes at `off` to a running one's-complement sum (unfolded). */
export function csumPartial(b: Uint8Array, off: number, len: number, sum = 0): number {
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return sum;
}

/** Folds a running sum to 16 bits and complements it: the value to put in a header. */
export function csumFinish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Checksum of `len` bytes at `off`. */
export function checksum(b: Uint8Array, off: number, len: number): number {
  return csumFinish(csumPartial(b, off, len));
}

/** RFC 1624 eqn. 3: the checksum after a 16-bit word changes from `old` to `now`. */
export function csumUpdate16(csum: number, old: number, now: number): number {
  let sum = (~csum & 0xffff) + (~old & 0xffff) + (now & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The checksum after a 32-bit value (two aligned 16-bit words) changes. */
export function csumUpdate32(csum: number, old: number, now: number): number {
  return csumUpdate16(csumUpdate16(csum, old >>> 16, now >>> 16), old & 0xffff, now & 0xffff);
}

/** Sum of the IPv4 pseudo-header (RFC 793/768) for an L4 checksum. */
export function ipv4PseudoSum(src: number, dst: number, proto: number, l4Len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4Len;
}

/** Sum of the IPv6 pseudo-header (RFC 8200 section 8.1); addresses read from the frame. */
export function ipv6PseudoSum(
  b: Uint8Array,
  srcOff: number,
  dstOff: number,
  nextHeader: number,
  l4Len: number,
): number {
  return (
    csumPartial(b, srcOff, 16, 0) +
    csumPartial(b, dstOff, 16, 0) +
    Math.floor(l4Len / 0x10000) +
    (l4Len & 0xffff) +
    nextHeader
  );
}

export function getBe16(b: Uint8Array, p: number): number {
  return (b[p] << 8) | b[p + 1];
}

export function putBe16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

export function getBe32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

export function putBe32(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 24) & 0xff;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}
