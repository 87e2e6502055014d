/*
 * Shared pieces of the control- and visibility-protocol codecs: a typed decode error that
 * carries the byte offset, a bounds-checked big-endian Reader cursor, and a Writer that
 * appends into a caller-supplied buffer (no allocation per message) and back-patches lengths.
 */

/** A malformed or unsupported message. `offset` is the byte where decoding gave up. */
export class DecodeError extends Error {
  readonly code = 'DECODE_ERROR';
  override readonly name = 'DecodeError';
  constructor(
    readonly protocol: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${protocol}: ${reason} at byte ${offset}`);
  }
}

/** Thrown by Writer when a message does not fit the buffer it was given. */
export class EncodeOverflowError extends RangeError {
  readonly code = 'ENCODE_OVERFLOW';
  override readonly name = 'EncodeOverflowError';
}

export class Reader {
  readonly view: DataView;
  pos: number;
  end: number;

  constructor(
    readonly buf: Uint8Array,
    readonly protocol: string,
    start = 0,
    end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, at = this.pos): never {
    throw new DecodeError(this.protocol, at, reason);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      this.fail(`truncated ${what}: need ${n} bytes, have ${this.end - this.pos}`);
    }
  }

  u8(what = 'field'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what = 'field'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'field'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what = 'field'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A copy, so decoded messages never alias the receive buffer. */
  bytes(n: number, what = 'field'): Uint8Array {
    this.need(n, what);
    const v = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  mac(what = 'MAC address'): string {
    this.need(6, what);
    const s = macToString(this.buf, this.pos);
    this.pos += 6;
    return s;
  }

  skip(n: number, what = 'padding'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A sub-reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.protocol, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
}

export class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(buf: Uint8Array | number) {
    this.buf = typeof buf === 'number' ? new Uint8Array(buf) : buf;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Re-targets this writer at another buffer (e.g. the next slot of a ring). */
  bind(buf: Uint8Array, pos = 0): this {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.pos = pos;
    return this;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new EncodeOverflowError(
        `encode needs ${this.pos + n} bytes, buffer holds ${this.buf.length}`,
      );
    }
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v));
    this.pos += 8;
  }

  put(src: Uint8Array, len = src.length): void {
    this.room(len);
    if (len <= src.length) {
      this.buf.set(len === src.length ? src : src.subarray(0, len), this.pos);
    } else {
      this.buf.set(src, this.pos);
      this.buf.fill(0, this.pos + src.length, this.pos + len);
    }
    this.pos += len;
  }

  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  mac(mac: string): void {
    this.room(6);
    putMacString(this.buf, this.pos, mac);
    this.pos += 6;
  }

  patch16(at: number, v: number): void {
    this.view.setUint16(at, v);
  }

  patch32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** "aa:bb:cc:dd:ee:ff", lower case, as OVS prints MACs. */
export function macToString(b: Uint8Array, p = 0): string {
  return `${HEX[b[p]]}:${HEX[b[p + 1]]}:${HEX[b[p + 2]]}:${HEX[b[p + 3]]}:${HEX[b[p + 4]]}:${HEX[b[p + 5]]}`;
}

const MAC_RE = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

export function putMacString(b: Uint8Array, p: number, mac: string): void {
  if (!MAC_RE.test(mac)) throw new TypeError(`not a MAC address: ${mac}`);
  const parts = mac.split(':');
  for (let i = 0; i < 6; i++) b[p + i] = Number.parseInt(parts[i], 16);
}

/** Runs a decoder body, turning a thrown DecodeError into the returned value. */
export function decodeWith<T>(protocol: string, body: () => T): T | DecodeError {
  try {
    return body();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    if (e instanceof RangeError || e instanceof TypeError) {
      return new DecodeError(protocol, -1, e.message);
    }
    throw e;
  }
}

/** Encodes into a fresh, exactly sized copy: for tests and cold paths. */
export function encodeToBytes<T>(
  encode: (msg: T, w: Writer) => unknown,
  msg: T,
  capacity = 65536,
): Uint8Array {
  const w = new Writer(capacity);
  encode(msg, w);
  return w.buf.slice(0, w.pos);
}
