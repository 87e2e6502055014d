/*
 * A read cursor and a growing writer for OpenFlow's big-endian structures.
 *
 * The Reader never reads past its end: every read checks the remaining length and throws a
 * DecodeError carrying the byte offset, which the message decoders turn into the OfpError that
 * OVS would send back (usually OFPBRC_BAD_LEN). The Writer grows by doubling and lets a caller
 * reserve a length field and patch it once the body is written.
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code = 'ERR_OFP_DECODE';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

export class Reader {
  pos: number;
  readonly end: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    view?: DataView,
  ) {
    this.pos = start;
    this.end = end;
    // Sub-readers share their parent's view: creating DataViews is not free.
    this.view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(`need ${n} bytes, have ${this.end - this.pos}`, this.pos);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** A NUL-padded fixed-width string. */
  str(n: number): string {
    const b = this.bytes(n);
    let e = b.indexOf(0);
    if (e < 0) e = n;
    return new TextDecoder().decode(b.subarray(0, e));
  }

  /** A sub-reader over the next n bytes (the parent skips them). */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n, this.view);
    this.pos += n;
    return r;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  peekU16(ofs = 0): number {
    if (this.pos + ofs + 2 > this.end) throw new DecodeError('truncated', this.pos + ofs);
    return this.view.getUint16(this.pos + ofs);
  }

  peekU32(ofs = 0): number {
    if (this.pos + ofs + 4 > this.end) throw new DecodeError('truncated', this.pos + ofs);
    return this.view.getUint32(this.pos + ofs);
  }
}

export class Writer {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;

  constructor(size = 64) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  u8(v: number): this {
    this.grow(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.grow(2);
    this.view.setUint16(this.pos, v & 0xffff);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    this.grow(8);
    // setBigUint64 already wraps modulo 2^64; asUintN() allocated a BigInt per call.
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** A NUL-padded fixed-width string (truncated to n-1 bytes so it stays terminated). */
  str(s: string, n: number): this {
    const b = new TextEncoder().encode(s).subarray(0, n - 1);
    this.bytes(b);
    return this.zeros(n - b.length);
  }

  /** Pads with zeros up to a multiple of `align` counted from `start`. */
  pad(align: number, start = 0): this {
    const r = (this.pos - start) % align;
    return r ? this.zeros(align - r) : this;
  }

  setU16(at: number, v: number): void {
    this.view.setUint16(at, v & 0xffff);
  }

  setU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }

  /** Writes `pos - start` as a 16-bit length at `at`. */
  patchLen16(at: number, start: number): void {
    this.view.setUint16(at, this.pos - start);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Empties the writer for reuse; its buffer stays. */
  reset(): void {
    this.pos = 0;
  }

  /**
   * The bytes written, as finish(), but a small message is copied into a shared pool (as
   * Node's Buffer pool does): a typed array over 64 bytes is a malloc'd backing store the
   * collector tracks one by one, and per-message encoders (packet-ins, replies) made one each.
   * Pool space is never reused, so a holder's bytes never change.
   */
  finishPooled(): Uint8Array {
    const n = this.pos;
    if (n > POOL_MAX) return this.finish();
    if (poolPos + n > POOL_BYTES) {
      pool = new ArrayBuffer(POOL_BYTES);
      poolPos = 0;
    }
    const out = new Uint8Array(pool, poolPos, n);
    out.set(this.buf.subarray(0, n));
    // Keep each message 8-byte aligned, as Buffer's pool does.
    poolPos += (n + 7) & ~7;
    return out;
  }
}

const POOL_BYTES = 16 * 1024;
const POOL_MAX = 2048;
let pool = new ArrayBuffer(0);
let poolPos = POOL_BYTES;

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function unhex(s: string): Uint8Array {
  const clean = s.replace(/[\s.]/g, '');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
