/*
 * Classic libpcap capture files (the format tcpdump, tshark and OVS's netdev-dummy
 * `pcap=`/`rxq_pcap=` options read and write): a 24-byte global header, then per packet a
 * 16-byte record header and the frame bytes.
 *
 * Writing uses microsecond timestamps in little-endian order, which is what OVS's
 * ovs_pcap_write produces on x86. Reading accepts either byte order and both the
 * microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magics. The stream reader takes
 * bytes as they arrive, so a file that is still being appended to can be followed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const LINKTYPE_ETHERNET = 1;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const DEFAULT_SNAPLEN = 262144;

export interface PcapRecord {
  /** Seconds since the epoch. */
  tsSec: number;
  /** Microseconds, or nanoseconds when the file says so (PcapHeader.nanos). */
  tsFrac: number;
  /** Length of the frame on the wire; data may be shorter if it was cut at snaplen. */
  origLen: number;
  data: Uint8Array;
}

export interface PcapHeader {
  linkType: number;
  snapLen: number;
  nanos: boolean;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
}

export class PcapError extends Error {
  readonly code = 'PCAP_ERROR';
  override readonly name = 'PcapError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`pcap: ${message} at byte ${offset}`);
  }
}

export function encodePcapHeader(
  linkType = LINKTYPE_ETHERNET,
  snapLen = DEFAULT_SNAPLEN,
): Uint8Array {
  const b = new Uint8Array(GLOBAL_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC_USEC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snapLen, true);
  v.setUint32(20, linkType, true);
  return b;
}

/** One record (header and frame) with a microsecond timestamp. */
export function encodePcapRecord(
  frame: Uint8Array,
  timeUs: number,
  snapLen = DEFAULT_SNAPLEN,
): Uint8Array {
  const incl = Math.min(frame.length, snapLen);
  const b = new Uint8Array(RECORD_HEADER_LEN + incl);
  const v = new DataView(b.buffer);
  const sec = Math.floor(timeUs / 1e6);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, Math.floor(timeUs - sec * 1e6), true);
  v.setUint32(8, incl, true);
  v.setUint32(12, frame.length, true);
  b.set(frame.subarray(0, incl), RECORD_HEADER_LEN);
  return b;
}

/** A whole capture file in memory. Frames without a time get consecutive milliseconds. */
export function encodePcapFile(
  frames: ReadonlyArray<Uint8Array | { data: Uint8Array; timeUs: number }>,
  linkType = LINKTYPE_ETHERNET,
): Uint8Array {
  const parts: Uint8Array[] = [encodePcapHeader(linkType)];
  frames.forEach((f, i) => {
    if (f instanceof Uint8Array) parts.push(encodePcapRecord(f, 1_700_000_000e6 + i * 1000));
    else parts.push(encodePcapRecord(f.data, f.timeUs));
  });
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Appends frames to a capture file as they are sent, like netdev-dummy's tx pcap. */
export class PcapFileWriter {
  private fd: number | null;
  constructor(
    path: string,
    private readonly now: () => number = () => Date.now() * 1000,
    linkType = LINKTYPE_ETHERNET,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, encodePcapHeader(linkType));
  }

  write(frame: Uint8Array, timeUs = this.now()): void {
    if (this.fd === null) throw new PcapError('write after close', 0);
    writeSync(this.fd, encodePcapRecord(frame, timeUs));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseHeader(b: Uint8Array, off: number): PcapHeader {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = v.getUint32(off, true);
  const be = v.getUint32(off, false);
  let littleEndian: boolean;
  let nanos: boolean;
  if (le === MAGIC_USEC || le === MAGIC_NSEC) {
    littleEndian = true;
    nanos = le === MAGIC_NSEC;
  } else if (be === MAGIC_USEC || be === MAGIC_NSEC) {
    littleEndian = false;
    nanos = be === MAGIC_NSEC;
  } else {
    throw new PcapError(`bad magic 0x${be.toString(16).padStart(8, '0')}`, off);
  }
  return {
    littleEndian,
    nanos,
    versionMajor: v.getUint16(off + 4, littleEndian),
    versionMinor: v.getUint16(off + 6, littleEndian),
    snapLen: v.getUint32(off + 16, littleEndian),
    linkType: v.getUint32(off + 20, littleEndian),
  };
}

/**
 * Incremental reader: push() bytes in any chunking, records come out whole. A record
 * longer than the snaplen (plus slack) means the file is corrupt.
 */
export class PcapStreamReader {
  header: PcapHeader | null = null;
  private pending = new Uint8Array(0);
  private consumed = 0;

  push(chunk: Uint8Array): PcapRecord[] {
    const buf = this.pending.length === 0 ? chunk : concat(this.pending, chunk);
    const out: PcapRecord[] = [];
    let p = 0;
    if (this.header === null) {
      if (buf.length < GLOBAL_HEADER_LEN) {
        this.pending = buf.slice();
        return out;
      }
      this.header = parseHeader(buf, 0);
      p = GLOBAL_HEADER_LEN;
    }
    const h = this.header;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (buf.length - p >= RECORD_HEADER_LEN) {
      const incl = v.getUint32(p + 8, h.littleEndian);
      if (incl > Math.max(h.snapLen, 65535) + 65536) {
        throw new PcapError(
          `record length ${incl} exceeds snaplen ${h.snapLen}`,
          this.consumed + p,
        );
      }
      if (buf.length - p - RECORD_HEADER_LEN < incl) break;
      out.push({
        tsSec: v.getUint32(p, h.littleEndian),
        tsFrac: v.getUint32(p + 4, h.littleEndian),
        origLen: v.getUint32(p + 12, h.littleEndian),
        data: buf.slice(p + RECORD_HEADER_LEN, p + RECORD_HEADER_LEN + incl),
      });
      p += RECORD_HEADER_LEN + incl;
    }
    this.consumed += p;
    this.pending = buf.slice(p);
    return out;
  }

  /** Bytes received but not yet part of a whole record. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Reads a whole capture file; a torn final record is reported, not silently dropped. */
export function decodePcapFile(bytes: Uint8Array): { header: PcapHeader; records: PcapRecord[] } {
  const r = new PcapStreamReader();
  const records = r.push(bytes);
  if (r.header === null) throw new PcapError('file shorter than the global header', 0);
  if (r.buffered !== 0) throw new PcapError('truncated final record', bytes.length - r.buffered);
  return { header: r.header, records };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
