/**
 * Transmit offloads carried with a frame through the switch (OVS's userspace TSO, lib/dp-packet.h
 * offload flags): a frame received from a socket with PACKET_VNET_HDR may be a GSO/GRO
 * super-frame of up to 64 kB whose TCP or UDP checksum is still to be filled in. Such a frame
 * crosses the datapath whole; a port that can hand it to the kernel the same way (an AF_PACKET
 * socket with PACKET_VNET_HDR) does so, and every other destination (a TAP device, a dummy port,
 * the main thread's upcalls and packet-ins) gets what finishOffload() makes of it: segments of at
 * most gso_size payload bytes, each with complete IP and TCP/UDP checksums, as the kernel's own
 * software GSO would have put them on the wire.
 *
 * Two 32-bit offload words describe a frame (0, 0: an ordinary frame, checksums complete):
 *   word 0: OL_CSUM (bit 0) when the L4 checksum is partial; the virtio gso_type in bits 8-15;
 *           gso_size in bits 16-31.
 *   word 1: where the L4 header starts, counted from the L3 header (bits 0-15), and the
 *           checksum field's offset inside it (bits 16-31).
 * Counting from L3 keeps the words true while VLAN tags are pushed and popped on the way.
 */

import type { TxBatch } from './netdev.ts';

/** Word 0: the L4 checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL). */
export const OL_CSUM = 1;
/** virtio_net_hdr gso_type values (word 0 bits 8-15). */
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const GSO_ECN = 0x80;

export function olGsoType(ol0: number): number {
  return (ol0 >>> 8) & 0x7f;
}
export function olGsoSize(ol0: number): number {
  return ol0 >>> 16;
}

/** Offset of the L3 header: after the Ethernet header and any 802.1Q/802.1ad tags. */
export function l3Offset(f: Uint8Array, off: number, len: number): number {
  let p = off + 12;
  const end = off + len;
  for (let tags = 0; tags < 4 && p + 2 <= end; tags++) {
    const t = (f[p] << 8) | f[p + 1];
    if (t !== 0x8100 && t !== 0x88a8) break;
    p += 4;
  }
  return p + 2;
}

/** One's-complement sum of f[from, to) as 16-bit big-endian words, added to `sum` (unfolded). */
function sumBytes(f: Uint8Array, from: number, to: number, sum: number): number {
  let s = sum;
  let i = from;
  for (; i + 1 < to; i += 2) s += (f[i] << 8) | f[i + 1];
  if (i < to) s += f[i] << 8;
  return s; // at most 2^31 for 64 kB: exact in a double, folded by the caller
}

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The pseudo-header's sum for an L4 segment of `l4len` bytes (IPv4 or IPv6 at l3). */
function pseudoSum(f: Uint8Array, l3: number, v6: boolean, proto: number, l4len: number): number {
  const s = v6 ? sumBytes(f, l3 + 8, l3 + 40, 0) : sumBytes(f, l3 + 12, l3 + 20, 0);
  return s + proto + (l4len & 0xffff) + Math.floor(l4len / 0x10000);
}

/** Writes the complete L4 checksum of the segment f[l4, end) at l4 + csumOff. */
function fillL4Csum(
  f: Uint8Array,
  l3: number,
  v6: boolean,
  proto: number,
  l4: number,
  end: number,
  csumOff: number,
): void {
  const at = l4 + csumOff;
  f[at] = 0;
  f[at + 1] = 0;
  let c = ~fold(sumBytes(f, l4, end, pseudoSum(f, l3, v6, proto, end - l4))) & 0xffff;
  if (c === 0 && proto === 17) c = 0xffff; // UDP: 0 means "no checksum"
  f[at] = c >>> 8;
  f[at + 1] = c & 0xff;
}

function fillIpv4Csum(f: Uint8Array, l3: number): void {
  const ihl = (f[l3] & 0x0f) * 4;
  f[l3 + 10] = 0;
  f[l3 + 11] = 0;
  const c = ~fold(sumBytes(f, l3, l3 + ihl, 0)) & 0xffff;
  f[l3 + 10] = c >>> 8;
  f[l3 + 11] = c & 0xff;
}

/** Receives each frame finishOffload() makes; the bytes are valid only during the call. */
export type FrameEmit = (buf: Uint8Array, off: number, len: number) => void;

/** Frames of at most 64 kB plus headroom: one is built at a time. */
const scratch = new Uint8Array(65536 + 256);

/**
 * Turns a frame with offload words into ordinary frames for a destination that cannot take
 * offloads: completes its checksum in place (`f` is modified), or cuts a GSO super-frame into
 * segments built one at a time in a scratch buffer. Emits nothing for a frame it cannot make
 * sense of (not IPv4/IPv6 TCP/UDP, truncated headers, UDP fragmentation offload); returns the
 * number of frames emitted.
 */
export function finishOffload(
  f: Uint8Array,
  off: number,
  len: number,
  ol0: number,
  ol1: number,
  emit: FrameEmit,
): number {
  if (ol0 === 0) {
    emit(f, off, len);
    return 1;
  }
  const end = off + len;
  const l3 = l3Offset(f, off, len);
  if (l3 + 20 > end) return 0;
  const ver = f[l3] >>> 4;
  const v6 = ver === 6;
  if (!v6 && ver !== 4) return 0;
  const gso = olGsoType(ol0);
  let l4: number;
  let csumOff: number;
  let proto: number;
  if (ol0 & OL_CSUM) {
    l4 = l3 + (ol1 & 0xffff);
    csumOff = ol1 >>> 16;
    proto = csumOff === 6 ? 17 : 6;
  } else {
    l4 = v6 ? l3 + 40 : l3 + (f[l3] & 0x0f) * 4;
    proto = gso === GSO_UDP_L4 ? 17 : 6;
    csumOff = proto === 17 ? 6 : 16;
  }
  if (csumOff !== 6 && csumOff !== 16) return 0;
  if (l4 + csumOff + 2 > end || (v6 && l3 + 40 > end)) return 0;
  const mss = olGsoSize(ol0);
  const isTcp = proto === 6;
  const hdrEnd = isTcp ? l4 + (f[l4 + 12] >>> 4) * 4 : l4 + 8;
  if (hdrEnd > end) return 0;
  const payload = end - hdrEnd;
  if (gso === 0 || mss === 0 || payload <= mss) {
    if (gso === GSO_UDP) return 0;
    if (gso !== 0 && !v6) {
      // A "super-frame" that fits one segment: its IP length must still be right.
      f[l3 + 2] = (end - l3) >>> 8;
      f[l3 + 3] = (end - l3) & 0xff;
      fillIpv4Csum(f, l3);
    }
    fillL4Csum(f, l3, v6, proto, l4, end, csumOff);
    emit(f, off, len);
    return 1;
  }
  if (gso === GSO_UDP) return 0; // UFO would be IP fragmentation: not offered by veth
  if (isTcp !== (gso === GSO_TCPV4 || gso === GSO_TCPV6)) return 0;
  const hlen = hdrEnd - off;
  const s = scratch;
  // Offsets inside a segment built at scratch[0].
  const sl3 = l3 - off;
  const sl4 = l4 - off;
  const seq0 = ((f[l4 + 4] << 24) | (f[l4 + 5] << 16) | (f[l4 + 6] << 8) | f[l4 + 7]) >>> 0;
  const id0 = v6 ? 0 : (f[l3 + 4] << 8) | f[l3 + 5];
  const flags = isTcp ? f[l4 + 13] : 0;
  let n = 0;
  for (let p = hdrEnd; p < end; p += mss) {
    const plen = Math.min(mss, end - p);
    const last = p + plen >= end;
    s.set(f.subarray(off, hdrEnd), 0);
    s.set(f.subarray(p, p + plen), hlen);
    const segEnd = hlen + plen;
    if (v6) {
      const pl = segEnd - sl3 - 40;
      s[sl3 + 4] = pl >>> 8;
      s[sl3 + 5] = pl & 0xff;
    } else {
      const tl = segEnd - sl3;
      s[sl3 + 2] = tl >>> 8;
      s[sl3 + 3] = tl & 0xff;
      const id = (id0 + n) & 0xffff;
      s[sl3 + 4] = id >>> 8;
      s[sl3 + 5] = id & 0xff;
      fillIpv4Csum(s, sl3);
    }
    if (isTcp) {
      const seq = (seq0 + (p - hdrEnd)) >>> 0;
      s[sl4 + 4] = seq >>> 24;
      s[sl4 + 5] = (seq >>> 16) & 0xff;
      s[sl4 + 6] = (seq >>> 8) & 0xff;
      s[sl4 + 7] = seq & 0xff;
      let fl = flags;
      if (!last) fl &= ~0x09; // FIN and PSH only on the last segment
      if (n > 0) fl &= ~0x80; // CWR only on the first
      s[sl4 + 13] = fl;
    } else {
      const ul = segEnd - sl4;
      s[sl4 + 4] = ul >>> 8;
      s[sl4 + 5] = ul & 0xff;
    }
    fillL4Csum(s, sl3, v6, proto, sl4, segEnd, csumOff);
    emit(s, 0, segEnd);
    n++;
  }
  return n;
}

/** Whether any frame of `batch` carries offload words. */
export function hasOffloads(batch: TxBatch): boolean {
  const ol = batch.ol;
  if (ol === undefined) return false;
  for (let i = 0; i < batch.count; i++) if (ol[2 * i] !== 0) return true;
  return false;
}

const FINISH_BURST = 32;
const FINISH_SLAB = 256 * 1024;

/**
 * Sends batches to a destination that cannot take offloads (a TAP device, the main thread):
 * batches without offloads go through as they are; otherwise ordinary frames are passed by
 * reference and offloaded ones finished (segmented, checksummed) into a slab of its own, sent on
 * in batches of at most 32. Nothing is allocated per batch.
 */
export class OffloadFinisher {
  private readonly frames: Uint8Array[] = new Array(FINISH_BURST);
  private readonly off = new Int32Array(FINISH_BURST);
  private readonly len = new Int32Array(FINISH_BURST);
  private count = 0;
  private readonly slab = new Uint8Array(FINISH_SLAB);
  private used = 0;
  private readonly out: TxBatch;
  private readonly emit: FrameEmit = (b, o, l) => this.push(b, o, l, true);
  /** Frames finishOffload() could not make sense of (dropped). */
  dropped = 0;

  constructor(private readonly send: (batch: TxBatch) => void) {
    const self = this;
    this.out = {
      frames: this.frames,
      off: this.off,
      len: this.len,
      get count(): number {
        return self.count;
      },
    };
  }

  sendBatch(batch: TxBatch): void {
    if (!hasOffloads(batch)) {
      this.send(batch);
      return;
    }
    const ol = batch.ol as Uint32Array;
    for (let i = 0; i < batch.count; i++) {
      const f = batch.frames[i];
      const o = batch.off[i];
      const l = batch.len[i];
      if (ol[2 * i] === 0) this.push(f, o, l, false);
      else if (finishOffload(f, o, l, ol[2 * i], ol[2 * i + 1], this.emit) === 0) this.dropped++;
    }
    this.flush();
  }

  private push(b: Uint8Array, o: number, l: number, copy: boolean): void {
    if (this.count === FINISH_BURST || (copy && this.used + l > FINISH_SLAB)) this.flush();
    const k = this.count++;
    if (copy && l <= FINISH_SLAB) {
      this.slab.set(b.subarray(o, o + l), this.used);
      this.frames[k] = this.slab;
      this.off[k] = this.used;
      this.used += l;
    } else {
      this.frames[k] = b;
      this.off[k] = o;
    }
    this.len[k] = l;
  }

  private flush(): void {
    if (this.count > 0) this.send(this.out);
    this.count = 0;
    this.used = 0;
  }
}
