/*
 * Cuts a TCP byte stream into whole OpenFlow messages using the header's length field.
 *
 * A length below 8 can never be resynchronised: the framer reports it once and stops (the
 * connection must be closed, as OVS's vconn does for a bad header length).
 */

export type FrameEvent =
  | { kind: 'message'; bytes: Uint8Array }
  | { kind: 'fatal'; reason: string; header: Uint8Array };

const EMPTY = new Uint8Array(0);

export class OfpFramer {
  private buf: Uint8Array = new Uint8Array(0);
  private dead = false;

  /** Adds received bytes; returns every message they complete, in order. */
  push(chunk: Uint8Array): FrameEvent[] {
    if (this.dead) return [];
    if (this.buf.length === 0) this.buf = chunk;
    else {
      const nb = new Uint8Array(this.buf.length + chunk.length);
      nb.set(this.buf);
      nb.set(chunk, this.buf.length);
      this.buf = nb;
    }
    const out: FrameEvent[] = [];
    let pos = 0;
    while (this.buf.length - pos >= 8) {
      const len = (this.buf[pos + 2] << 8) | this.buf[pos + 3];
      if (len < 8) {
        this.dead = true;
        out.push({
          kind: 'fatal',
          reason: `received OpenFlow message with length ${len} < 8`,
          header: this.buf.slice(pos, pos + 8),
        });
        this.buf = new Uint8Array(0);
        return out;
      }
      if (this.buf.length - pos < len) break;
      // A view, not a copy: every chunk a socket delivers is a buffer of its own, never
      // reused, and a copy per message was a malloc per flow_mod.
      out.push({ kind: 'message', bytes: this.buf.subarray(pos, pos + len) });
      pos += len;
    }
    this.buf = pos === 0 ? this.buf : pos === this.buf.length ? EMPTY : this.buf.subarray(pos);
    return out;
  }

  /** Bytes held waiting for the rest of a message. */
  get pending(): number {
    return this.buf.length;
  }
}
