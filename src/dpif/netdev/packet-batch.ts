/*
 * A batch of up to NETDEV_MAX_BURST packets held in one preallocated slab: each packet owns a
 * fixed slot (a Uint8Array view made once) with its offset and length, plus the datapath
 * metadata that travels with it (the metadata stage of the flow key: in_port, recirc_id,
 * dp_hash, skb_priority, pkt_mark, conntrack, tunnel). Like OVS's dp_packet_batch, but with
 * nothing allocated per packet: slots are reused, headers are pushed in place into the room
 * left after the frame.
 *
 * Slots hold MTU-sized frames; a GSO/GRO super-frame (up to 64 kB, from a port with offloads)
 * takes a slot of MAX_SLOT_SIZE made once per index and kept beside the ordinary one. Each packet carries two
 * offload words (src/netdev/offload.ts), 0 for an ordinary frame.
 */

import { STAGE_L2 } from '../../lib/flow/layout.ts';

export const NETDEV_MAX_BURST = 32;
/** Slot size: a 1518-byte frame plus room for pushed tags and labels. */
export const DEFAULT_SLOT_SIZE = 2048;
/** Words of metadata kept per packet (the flow key's metadata stage). */
export const MD_WORDS = STAGE_L2;
/** The largest frame a slot takes (an IP datagram of 64 kB, Ethernet header and two tags) and
 * the size a slot grows to for it (room for pushed headers). */
export const MAX_FRAME_SIZE = 65535 + 14 + 8;
export const MAX_SLOT_SIZE = 65536 + 512;

/* Per frame array: a 32-bit view over its whole buffer and its byte offset, found once, so
 * frames copy a word at a time without touching the .buffer/.byteOffset getters per packet.
 * Slots and receive rings are long-lived, so this is a cache hit on the per-packet path. */
interface Words {
  readonly v: Uint32Array;
  readonly base: number;
}
const wordViews = new WeakMap<Uint8Array, Words>();
const bufferViews = new WeakMap<ArrayBufferLike, Uint32Array>();

function wordsOf(b: Uint8Array): Words {
  let w = wordViews.get(b);
  if (w === undefined) {
    const ab = b.buffer;
    let v = bufferViews.get(ab);
    if (v === undefined) {
      v = new Uint32Array(ab, 0, ab.byteLength >>> 2);
      bufferViews.set(ab, v);
    }
    w = { v, base: b.byteOffset };
    wordViews.set(b, w);
  }
  return w;
}

/* The last source seen: a port receives its frames from one ring, so this spares the
 * WeakMap look-up per frame. (It keeps that one array reachable until the next source.) */
let lastSrc: Uint8Array | null = null;
let lastSrcWords: Words | null = null;

function srcWordsOf(src: Uint8Array): Words {
  if (src === lastSrc && lastSrcWords !== null) return lastSrcWords;
  const w = wordsOf(src);
  lastSrc = src;
  lastSrcWords = w;
  return w;
}

/*
 * The copy itself. A whole-array source goes through TypedArray.prototype.set (a memmove in
 * V8, twice as fast as any JS loop for a frame); a range would need a subarray view, an
 * allocation per packet, so ranges copy 32-bit words when both ends are equally aligned.
 */
function copyWith(
  dw: Words,
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): void {
  let j = 0;
  if (len >= 16) {
    if (srcOff === 0 && len === src.length) {
      dst.set(src, dstOff);
      return;
    }
    if (len > 2048) {
      // A super-frame: a memmove through a view beats the word loop by far, and one view per
      // 64 kB is no allocation worth avoiding.
      dst.set(src.subarray(srcOff, srcOff + len), dstOff);
      return;
    }
    const sw = srcWordsOf(src);
    const s = sw.base + srcOff;
    const d = dw.base + dstOff;
    if (((s | d) & 3) === 0) {
      const n = len >>> 2;
      const sv = sw.v;
      const dv = dw.v;
      const s4 = s >>> 2;
      const d4 = d >>> 2;
      for (let w = 0; w < n; w++) dv[d4 + w] = sv[s4 + w];
      j = n << 2;
    }
  }
  for (; j < len; j++) dst[dstOff + j] = src[srcOff + j];
}

/**
 * Copies `len` bytes from src[srcOff] to dst[dstOff] (different buffers or disjoint ranges).
 * Allocates nothing once both arrays have been seen.
 */
export function copyFrame(
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): void {
  copyWith(wordsOf(dst), dst, dstOff, src, srcOff, len);
}

export class PacketBatch {
  readonly capacity: number;
  readonly slotSize: number;
  readonly slab: Uint8Array;
  /**
   * frames[i] is slot i (whole slot; the packet is [off[i], off[i] + len[i])). The datapath
   * may exchange slots between batches (a last output hands the buffer over instead of
   * copying it), so always index frames[] afresh rather than keeping a slot.
   */
  readonly frames: Uint8Array[];
  readonly off: Int32Array;
  readonly len: Int32Array;
  /** MD_WORDS metadata words per packet; word 0 is in_port. */
  readonly md: Uint32Array;
  /** 1 when packet i has metadata besides in_port (so the key needs it copied in). */
  readonly mdSet: Uint8Array;
  /** Offload words of packet i at [2i], [2i + 1]; zero for an ordinary frame. */
  readonly ol: Uint32Array;
  /* 1 when slot i's offload words are non-zero: cleared when the slot is reused, so that an
   * ordinary frame costs a load instead of two stores. */
  private readonly olSet: Uint8Array;
  /** Whether any packet since clear() was given offload words (else all of them are zero). */
  olAny = false;
  count = 0;
  /* Word views of the slots, checked by identity: frames[] entries may be exchanged. */
  private readonly slotFrame: Array<Uint8Array | null>;
  /* Per index, the slot not in use: the ordinary one while a super-frame's is, and back. */
  private readonly spare: Array<Uint8Array | null>;
  private readonly slotWords: Array<Words | null>;

  constructor(capacity = NETDEV_MAX_BURST, slotSize = DEFAULT_SLOT_SIZE) {
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.slab = new Uint8Array(capacity * slotSize);
    this.frames = [];
    for (let i = 0; i < capacity; i++)
      this.frames.push(this.slab.subarray(i * slotSize, (i + 1) * slotSize));
    this.off = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.md = new Uint32Array(capacity * MD_WORDS);
    this.mdSet = new Uint8Array(capacity);
    this.ol = new Uint32Array(2 * capacity);
    this.olSet = new Uint8Array(capacity);
    this.slotFrame = new Array<Uint8Array | null>(capacity).fill(null);
    this.slotWords = new Array<Words | null>(capacity).fill(null);
    this.spare = new Array<Uint8Array | null>(capacity).fill(null);
  }

  /* Copies into slot i without a WeakMap look-up for the slot. */
  private copyIn(i: number, src: Uint8Array, srcOff: number, len: number): void {
    let f = this.frames[i];
    if (len > f.length || (f.length > this.slotSize && len <= this.slotSize))
      f = this.resize(i, len);
    let dw = this.slotWords[i];
    if (this.slotFrame[i] !== f || dw === null) {
      dw = wordsOf(f);
      this.slotFrame[i] = f;
      this.slotWords[i] = dw;
    }
    copyWith(dw, f, 0, src, srcOff, len);
  }

  /*
   * Puts a slot that suits `len` at index i: a 64 kB one for a super-frame, made once and kept
   * as the index's spare while ordinary frames use the ordinary slot again (64-byte frames
   * 64 kB apart would cost a cache line and a TLB entry each: -25% per CPU-second at 64 bytes
   * after a TCP stream had grown every slot).
   */
  private resize(i: number, len: number): Uint8Array {
    const f = this.frames[i];
    const spare = this.spare[i];
    let next: Uint8Array;
    if (len > f.length) {
      next = spare !== null && spare.length >= len ? spare : new Uint8Array(MAX_SLOT_SIZE);
    } else if (spare !== null && spare.length >= len && spare.length <= this.slotSize) {
      next = spare;
    } else {
      return f; // no ordinary slot to go back to (this one came by adopt): keep it
    }
    this.spare[i] = f;
    this.frames[i] = next;
    return next;
  }

  clear(): void {
    this.count = 0;
    this.olAny = false;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /**
   * Copies `len` bytes of `src` at `srcOff` in as a new packet received on `inPort`.
   * Returns its index, or -1 when the batch is full or the frame does not fit a slot.
   */
  add(src: Uint8Array, srcOff: number, len: number, inPort: number): number {
    if (this.count >= this.capacity || len > MAX_FRAME_SIZE || len < 0) return -1;
    const i = this.count++;
    this.copyIn(i, src, srcOff, len);
    this.off[i] = 0;
    this.len[i] = len;
    if (this.olSet[i] !== 0) this.clearOffload(i);
    const m = i * MD_WORDS;
    this.md[m] = inPort >>> 0;
    if (this.mdSet[i]) {
      this.md.fill(0, m + 1, m + MD_WORDS);
      this.mdSet[i] = 0;
    }
    return i;
  }

  /** Like add(), carrying metadata words from md[mdOff...] (recirculation, output copies). */
  addBytes(
    src: Uint8Array,
    srcOff: number,
    len: number,
    md: Uint32Array,
    mdOff: number,
    mdSet: boolean,
  ): number {
    if (this.count >= this.capacity || len > MAX_FRAME_SIZE || len < 0) return -1;
    const i = this.count++;
    this.copyIn(i, src, srcOff, len);
    this.off[i] = 0;
    this.len[i] = len;
    if (this.olSet[i] !== 0) this.clearOffload(i);
    const m = i * MD_WORDS;
    if (mdSet) {
      for (let j = 0; j < MD_WORDS; j++) this.md[m + j] = md[mdOff + j];
      this.mdSet[i] = 1;
    } else {
      this.md[m] = md[mdOff];
      if (this.mdSet[i]) {
        this.md.fill(0, m + 1, m + MD_WORDS);
        this.mdSet[i] = 0;
      }
    }
    return i;
  }

  /**
   * Appends a packet by taking over `slot` (a slot-sized buffer holding it at `off`) instead
   * of copying it; returns the slot it displaced, which the caller takes in exchange. -1-free:
   * the caller checks `full` and the slot size first.
   */
  adopt(slot: Uint8Array, off: number, len: number, inPort: number): Uint8Array {
    const i = this.count++;
    const old = this.frames[i];
    this.frames[i] = slot;
    this.off[i] = off;
    this.len[i] = len;
    if (this.olSet[i] !== 0) this.clearOffload(i);
    const m = i * MD_WORDS;
    this.md[m] = inPort >>> 0;
    if (this.mdSet[i]) {
      this.md.fill(0, m + 1, m + MD_WORDS);
      this.mdSet[i] = 0;
    }
    return old;
  }

  /** The bytes of packet i (a new view: for tests and the control path). */
  packet(i: number): Uint8Array {
    return this.frames[i].subarray(this.off[i], this.off[i] + this.len[i]);
  }

  /** Sets packet i's offload words (after add, addBytes or adopt, which clear them). */
  setOffload(i: number, ol0: number, ol1: number): void {
    this.ol[2 * i] = ol0;
    this.ol[2 * i + 1] = ol1;
    this.olSet[i] = 1;
    this.olAny = true;
  }

  private clearOffload(i: number): void {
    this.ol[2 * i] = 0;
    this.ol[2 * i + 1] = 0;
    this.olSet[i] = 0;
  }

  inPort(i: number): number {
    return this.md[i * MD_WORDS];
  }
}
