/**
 * Framing of a JSON-RPC byte stream as OVS's lib/jsonrpc.c speaks it: top-level JSON values
 * written back to back with no delimiter. The framer finds where each top-level value ends by
 * scanning only the structural bytes (braces, brackets, quotes and backslashes; all ASCII, so a
 * multi-byte UTF-8 sequence can never be mistaken for one) and hands each complete value to
 * JSON.parse. Scanner state survives chunk boundaries, so a value may be split anywhere.
 */
import { isUtf8 } from 'node:buffer';
import type { Json } from '../json.ts';

/** A malformed or oversized input stream. The session closes the connection on it, as OVS does. */
export class JsonFramingError extends Error {
  override readonly name = 'JsonFramingError';
  readonly code: 'EPROTO' | 'E2BIG';
  constructor(message: string, code: 'EPROTO' | 'E2BIG' = 'EPROTO') {
    super(message);
    this.code = code;
  }
}

/** OVS's json parser refuses deeper nesting than this (lib/json.c). */
export const MAX_NESTING_DEPTH = 1000;

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export interface JsonFramerOptions {
  /** Largest accepted value in bytes; a longer one is an E2BIG framing error. 0 = no limit. */
  maxMessageSize?: number;
}

export class JsonFramer {
  private readonly maxMessageSize: number;
  /** Pieces of the value being collected, earlier chunks first. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed: JsonFramingError | null = null;

  constructor(options: JsonFramerOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 0;
  }

  /** True while part of a value has been received but not its end. */
  get pending(): boolean {
    return this.depth > 0 || this.partsBytes > 0;
  }

  /**
   * Feeds one chunk and calls `onValue` for each value completed by it, in order. The chunk
   * may be reused by the caller once this returns: nothing refers to it afterwards. Throws
   * JsonFramingError on malformed input; after that the framer stays failed (the stream can't
   * be resynchronised, so the caller must close it).
   */
  feed(chunk: Uint8Array, onValue: (value: Json) => void): void {
    if (this.failed) throw this.failed;
    try {
      this.scan(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        onValue,
      );
    } catch (err) {
      this.failed =
        err instanceof JsonFramingError
          ? err
          : new JsonFramingError(String((err as Error).message));
      this.parts = [];
      throw this.failed;
    }
  }

  /** Call at end of stream: a value cut off by EOF is an error, as in OVS. */
  finish(): void {
    if (this.failed) throw this.failed;
    if (this.pending) {
      this.failed = new JsonFramingError(
        this.inString ? 'unexpected end of input in quoted string' : 'unexpected end of input',
      );
      throw this.failed;
    }
  }

  private scan(buf: Buffer, onValue: (value: Json) => void): void {
    const n = buf.length;
    // Scanner state in locals for the hot loop, written back before anything can throw or
    // re-enter (emit calls out to the message handler).
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let start = depth > 0 ? 0 : -1;
    for (let i = 0; i < n; i++) {
      const b = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (b === QUOTE) {
        if (depth === 0) throw new JsonFramingError('syntax error at beginning of input');
        inString = true;
      } else if (b === LBRACE || b === LBRACKET) {
        if (depth === 0) start = i;
        if (++depth > MAX_NESTING_DEPTH) {
          throw new JsonFramingError(`input exceeds maximum nesting depth ${MAX_NESTING_DEPTH}`);
        }
      } else if (b === RBRACE || b === RBRACKET) {
        if (depth === 0) throw new JsonFramingError('syntax error at beginning of input');
        if (--depth === 0) {
          this.depth = 0;
          this.emit(buf, start, i + 1, onValue);
          start = -1;
        }
      } else if (depth === 0 && !isSpace(b)) {
        // OVS's parser accepts only objects and arrays at the top of a JSON-RPC stream.
        throw new JsonFramingError('syntax error at beginning of input');
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    if (depth > 0) {
      const rest = start >= 0 ? buf.subarray(start) : buf;
      this.partsBytes += rest.length;
      this.checkSize(this.partsBytes);
      // Always a copy: a tail slice would pin the whole chunk in memory, and a reader may
      // reuse its buffer for the next read (the server reads into one shared buffer).
      this.parts.push(Buffer.from(rest));
    }
  }

  private checkSize(size: number): void {
    if (this.maxMessageSize > 0 && size > this.maxMessageSize) {
      throw new JsonFramingError(
        `message exceeds maximum size of ${this.maxMessageSize} bytes`,
        'E2BIG',
      );
    }
  }

  private emit(buf: Buffer, start: number, end: number, onValue: (value: Json) => void): void {
    let bytes: Buffer;
    if (this.parts.length > 0) {
      this.parts.push(buf.subarray(0, end));
      bytes = Buffer.concat(this.parts, this.partsBytes + end);
      this.parts = [];
      this.partsBytes = 0;
    } else {
      bytes = buf.subarray(start, end);
    }
    this.checkSize(bytes.length);
    onValue(decodeJson(bytes));
  }
}

/** Parses one complete JSON text, rejecting invalid UTF-8 (which toString would silently mangle). */
export function decodeJson(bytes: Buffer): Json {
  // Pure-ASCII messages are the common case; isUtf8 is a fast native check.
  if (!isUtf8(bytes)) throw new JsonFramingError('invalid UTF-8 sequence');
  try {
    return JSON.parse(bytes.toString('utf8')) as Json;
  } catch (err) {
    throw new JsonFramingError(`syntax error: ${(err as Error).message}`);
  }
}
