/**
 * A minimal OpenFlow 1.3 controller for bench/openflow's packet-in round trips. It listens on a
 * unix socket (the bridge's Controller target is `unix:<path>`), answers hello and echo, and
 * keeps `inFlight` packets circulating: each packet-out sends a frame to OFPP_TABLE with
 * in_port 1, the bridge's only flow (`actions=controller`) sends it back as a packet-in, and
 * each packet-in is answered by the next packet-out. The packet-out is encoded once with our
 * codec; the hot loop only frames incoming messages by their headers, so that the controller
 * costs little and the same for both switches.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { OFPP_TABLE } from '../../src/lib/flow/layout.ts';
import { encodeMessage } from '../../src/ofproto/openflow/codec.ts';
import { OFP_NO_BUFFER } from '../../src/ofproto/openflow/messages.ts';

const OFP13 = 4;
const T_HELLO = 0;
const T_ERROR = 1;
const T_ECHO_REQUEST = 2;
const T_ECHO_REPLY = 3;
const T_PACKET_IN = 10;

/** A 60-byte UDP frame 198.18.0.1 -> 198.18.0.2 (test range), checksums zero. */
export function benchFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  // IPv4: version/IHL, TOS, total length 46, id, flags, TTL 64, UDP, checksum 0.
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2], 14);
  // UDP 1024 -> 9, length 26, checksum 0.
  f.set([0x04, 0x00, 0x00, 0x09, 0, 26, 0, 0], 34);
  return f;
}

export class BenchController {
  readonly server: Server;
  private conn: Socket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private readonly packetOut: Buffer;
  private readonly hello: Buffer;
  /** Packet-ins received since the controller started. */
  packetIns = 0;
  errors: string[] = [];
  private running = false;
  private helloSeen = false;

  private constructor(readonly path: string) {
    this.packetOut = Buffer.from(
      encodeMessage({
        version: OFP13,
        xid: 0x62656e63,
        msg: {
          type: 'packet_out',
          bufferId: OFP_NO_BUFFER,
          inPort: 1,
          ofpacts: [{ type: 'output', port: OFPP_TABLE, maxLen: 0xffff }],
          data: benchFrame(),
        },
      }),
    );
    this.hello = Buffer.from([OFP13, T_HELLO, 0, 8, 0, 0, 0, 1]);
    this.server = createServer((s) => this.accept(s));
  }

  static listen(path: string): Promise<BenchController> {
    rmSync(path, { force: true });
    const c = new BenchController(path);
    return new Promise((resolve, reject) => {
      c.server.once('error', reject);
      c.server.listen(path, () => resolve(c));
    });
  }

  get connected(): boolean {
    return this.conn !== null && this.helloSeen;
  }

  private accept(s: Socket): void {
    // One switch connection at a time: a reconnect replaces the old one.
    this.conn?.destroy();
    this.conn = s;
    this.buf = Buffer.alloc(0);
    this.helloSeen = false;
    s.setNoDelay?.(true);
    s.on('data', (d: Buffer) => this.onData(s, d));
    s.on('error', (e) => this.errors.push(e.message));
    s.on('close', () => {
      if (this.conn === s) this.conn = null;
    });
    s.write(this.hello);
  }

  private onData(s: Socket, d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let off = 0;
    let outs = 0;
    const replies: Buffer[] = [];
    while (this.buf.length - off >= 8) {
      const len = this.buf.readUInt16BE(off + 2);
      if (len < 8) {
        this.errors.push(`bad OpenFlow length ${len}`);
        s.destroy();
        return;
      }
      if (this.buf.length - off < len) break;
      const type = this.buf[off + 1];
      if (type === T_PACKET_IN) {
        this.packetIns++;
        if (this.running) outs++;
      } else if (type === T_ECHO_REQUEST) {
        const r = Buffer.from(this.buf.subarray(off, off + len));
        r[1] = T_ECHO_REPLY;
        replies.push(r);
      } else if (type === T_HELLO) {
        this.helloSeen = true;
      } else if (type === T_ERROR && this.errors.length < 10) {
        this.errors.push(
          `OFPT_ERROR ${this.buf.subarray(off, off + Math.min(len, 16)).toString('hex')}`,
        );
      }
      off += len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    for (let i = 0; i < outs; i++) replies.push(this.packetOut);
    if (replies.length === 1) s.write(replies[0] as Buffer);
    else if (replies.length > 1) s.write(Buffer.concat(replies));
  }

  /**
   * Closed loop with `inFlight` packets for `ms` after `warmMs`: packet-in round trips per
   * second over the measured window, and the count at its start and end.
   */
  async roundTrips(
    inFlight: number,
    warmMs: number,
    ms: number,
  ): Promise<{ rate: number; n: number }> {
    const s = this.conn;
    if (!s) throw new Error('switch not connected to the controller');
    this.running = true;
    const first: Buffer[] = [];
    for (let i = 0; i < inFlight; i++) first.push(this.packetOut);
    s.write(Buffer.concat(first));
    await new Promise((r) => setTimeout(r, warmMs));
    const n0 = this.packetIns;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const n1 = this.packetIns;
    const secs = (performance.now() - t0) / 1000;
    this.running = false;
    // Let what is still circulating drain before the next measurement.
    let last = -1;
    for (let i = 0; i < 100 && last !== this.packetIns; i++) {
      last = this.packetIns;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { rate: (n1 - n0) / secs, n: n1 - n0 };
  }

  close(): void {
    this.running = false;
    this.conn?.destroy();
    this.server.close();
    rmSync(this.path, { force: true });
  }
}
