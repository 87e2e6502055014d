/*
 * ovs-ofctl's side of an OpenFlow connection (OVS's vconn): unix: and tcp: targets, the hello
 * exchange with version bitmaps, a process-wide transaction id counter, and the blocking-style
 * helpers ovs-ofctl is written with (transact, transact-with-barrier, multipart dumps).
 *
 * Every message real ovs-ofctl allocates takes the next xid from one counter starting at 1,
 * hellos included; the xids it prints ("(xid=0x4)") depend on that, so ours count the same way.
 */

import net from 'node:net';
import { noteActivity } from '../../lib/busy-poll.ts';
import { rundir } from '../../lib/paths.ts';
import { vlog } from '../../lib/vlog.ts';
import { decodeMessage, encodeMessage } from '../../ofproto/openflow/codec.ts';
import { OfpFramer } from '../../ofproto/openflow/framer.ts';
import type { OfpFrame, OfpMessage } from '../../ofproto/openflow/messages.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { vlogWarn } from './log.ts';
import { ofpToString } from './print.ts';

const VCONN = vlog('vconn');

let nextXid = 1;

/** The next transaction id, as OVS's alloc_xid() hands them out. */
export function allocXid(): number {
  return nextXid++;
}

/** One received message: its bytes and (when our codec understands it) its decoded frame. */
export interface Received {
  bytes: Uint8Array;
  version: number;
  type: number;
  xid: number;
  frame: OfpFrame | null;
  decodeError?: string;
}

/** "0x01" / "0x01, 0x04": OVS's ofputil_format_version(_bitmap). */
function fmtVersion(v: number): string {
  return `0x${v.toString(16).padStart(2, '0')}`;
}

export function versionBitmapToString(versions: readonly number[]): string {
  const vs = [...versions].sort((a, b) => a - b);
  if (vs.length === 0) return 'no versions';
  const max = vs[vs.length - 1];
  if (vs.length === 1) return `version ${fmtVersion(max)}`;
  if (vs.length === max && vs[0] === 1) return `version ${fmtVersion(max)} and earlier`;
  return `versions ${vs.map(fmtVersion).join(', ')}`;
}

/** Whether `name` is a well-formed active vconn name (OVS's vconn_verify_name() == 0). */
export function vconnNameValid(name: string): boolean {
  if (name.startsWith('unix:')) return name.length > 5;
  if (name.startsWith('tcp:'))
    return /^tcp:[^:]+(:\d+)?$/.test(name) || /^tcp:\[.*\](:\d+)?$/.test(name);
  return false;
}

type Waiter = (r: Received | Error) => void;

export class Vconn {
  readonly name: string;
  version = 0;
  private sock: net.Socket;
  private framer = new OfpFramer();
  private queue: Received[] = [];
  private waiters: Waiter[] = [];
  private closedError: Error | null = null;
  ended = false;

  private constructor(name: string, sock: net.Socket) {
    this.name = name;
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.onData(d);
      noteActivity();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => this.onClose(e.code ?? 'EIO'));
    sock.on('end', () => {
      this.ended = true;
      this.onClose('EOF');
    });
    sock.on('close', () => this.onClose('EOF'));
  }

  private onData(d: Buffer): void {
    for (const ev of this.framer.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))) {
      if (ev.kind !== 'message') {
        this.onClose('EPROTO');
        return;
      }
      const b = ev.bytes;
      const r = decodeMessage(b);
      const rec: Received = {
        bytes: b,
        version: b[0],
        type: b[1],
        xid: ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0,
        frame: r.ok ? r.frame : null,
      };
      if (!r.ok) rec.decodeError = r.error.message;
      if (VCONN.dbgEnabled) this.logMessages('received', b);
      const w = this.waiters.shift();
      if (w) w(rec);
      else this.queue.push(rec);
    }
  }

  private onClose(code: string): void {
    if (this.closedError) return;
    const e = new Error(code);
    (e as NodeJS.ErrnoException).code = code;
    this.closedError = e;
    for (const w of this.waiters.splice(0)) w(e);
  }

  /** Opens `name` (unix:PATH or tcp:IP[:PORT]); rejects with the errno code on failure. */
  static connectRaw(name: string): Promise<Vconn> {
    return new Promise((resolve, reject) => {
      let sock: net.Socket;
      if (name.startsWith('unix:')) {
        const path = name.slice(5);
        sock = net.connect(path.startsWith('/') ? path : `${rundir()}/${path}`);
      } else if (name.startsWith('tcp:')) {
        const rest = name.slice(4);
        let host = rest;
        let port = 6653;
        const m = /^\[(.*)\](?::(\d+))?$/.exec(rest) ?? /^([^:]*)(?::(\d+))?$/.exec(rest);
        if (m) {
          host = m[1];
          if (m[2]) port = Number(m[2]);
        }
        sock = net.connect(port, host);
      } else {
        reject(Object.assign(new Error('EAFNOSUPPORT'), { code: 'EAFNOSUPPORT' }));
        return;
      }
      const onErr = (e: NodeJS.ErrnoException): void => {
        sock.destroy();
        reject(Object.assign(new Error(e.code ?? 'EIO'), { code: e.code ?? 'EIO' }));
      };
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.removeListener('error', onErr);
        sock.setNoDelay(true);
        resolve(new Vconn(name, sock));
      });
    });
  }

  /**
   * The hello exchange: sends ours (taking an xid), waits for the peer's, picks the highest
   * common version. Throws the errno code ovs-ofctl reports on failure.
   */
  async connect(allowed: readonly number[]): Promise<void> {
    this.sendFrame({
      version: Math.max(...allowed),
      xid: allocXid(),
      msg: { type: 'hello', versions: [...allowed].sort((a, b) => a - b) },
    });
    let r: Received;
    try {
      r = await this.recv();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw errnoErr(code === 'EOF' ? 'ECONNRESET' : (code ?? 'EIO'));
    }
    if (r.frame?.msg.type !== 'hello') {
      vlogWarn('vconn', `${this.name}: received message while expecting hello`);
      throw errnoErr('EPROTO');
    }
    const peer = r.frame.msg.versions;
    const common = allowed.filter((v) => peer.includes(v));
    if (common.length === 0) {
      vlogWarn(
        'vconn',
        `${this.name}: version negotiation failed (we support ${versionBitmapToString(allowed)}, peer supports ${versionBitmapToString(peer)})`,
      );
      // OVS sends its own error at once: that fails (EPIPE) only if the switch, which notices
      // too, has already hung up; otherwise the error is delivered and it reports EPROTO.
      throw errnoErr(this.closedError || this.ended ? 'EPIPE' : 'EPROTO');
    }
    this.version = Math.max(...common);
    if (VCONN.dbgEnabled) {
      VCONN.dbg(
        `${this.name}: negotiated OpenFlow version 0x${this.version.toString(16).padStart(2, '0')} (we support ${versionBitmapToString(allowed)}, peer supports ${versionBitmapToString(peer)})`,
      );
    }
  }

  sendFrame(f: OfpFrame): void {
    this.send(encodeMessage(f));
  }

  send(b: Uint8Array): void {
    if (this.closedError) return;
    if (VCONN.dbgEnabled) this.logMessages('sent (Success)', b);
    this.sock.write(b);
  }

  /* vconn's debug log of each message, one entry per message even when written together. */
  private logMessages(what: string, b: Uint8Array): void {
    for (let at = 0; at + 8 <= b.length; ) {
      const len = (b[at + 2] << 8) | b[at + 3];
      if (len < 8) break;
      const text = ofpToString(b.subarray(at, at + len)).replace(/\n$/, '');
      VCONN.dbg(`${this.name}: ${what}: ${text}`);
      at += len;
    }
  }

  /** A request in this connection's version with a fresh xid; returns the xid. */
  request(msg: OfpMessage): { xid: number; bytes: Uint8Array } {
    const xid = allocXid();
    const bytes = encodeMessage({ version: this.version, xid, msg });
    return { xid, bytes };
  }

  recv(): Promise<Received> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiters.push((r) => (r instanceof Error ? reject(r) : resolve(r)));
    });
  }

  /** Receives until a message with `xid` arrives (others are dropped, as OVS's vconn does). */
  async recvXid(xid: number): Promise<Received> {
    for (;;) {
      const r = await this.recv();
      if (r.xid === xid) return r;
    }
  }

  /** Sends a request and returns the reply with the same xid. */
  async transact(bytes: Uint8Array, xid: number): Promise<Received> {
    this.send(bytes);
    return this.recvXid(xid);
  }

  /**
   * OVS's vconn_transact_multiple_noreply(): sends each request, then a barrier, and returns
   * the first error reply to any of them (or null once the barrier reply arrives).
   */
  async transactNoreply(requests: { xid: number; bytes: Uint8Array }[]): Promise<Received | null> {
    const barrier = this.request({ type: 'barrier_request' });
    // One write for the requests and their barrier: a syscall per message is what costs here.
    let total = barrier.bytes.length;
    for (const r of requests) total += r.bytes.length;
    const buf = new Uint8Array(total);
    let at = 0;
    for (const r of requests) {
      buf.set(r.bytes, at);
      at += r.bytes.length;
    }
    buf.set(barrier.bytes, at);
    this.send(buf);
    const xids = new Set(requests.map((r) => r.xid));
    // As OVS, an error is kept and reported once the barrier's reply came in.
    let error: Received | null = null;
    for (;;) {
      const r = await this.recv();
      if (r.xid === barrier.xid) return error;
      if (xids.has(r.xid) && r.frame?.msg.type !== 'echo_request') error ??= r;
    }
  }

  /**
   * OVS's transact_noreply() once per request, in order: each request goes out with its own
   * barrier and the next goes out only once the switch has answered that barrier, so a
   * failure stops the run exactly where OVS's stops. The next request is encoded while the
   * switch works on the current one. Resolves to the first error reply, or null.
   */
  async transactEachNoreply(
    count: number,
    build: (i: number) => { xid: number; bytes: Uint8Array },
  ): Promise<Received | null> {
    const barrierType = this.version === 1 ? 18 : 20;
    const prepare = (i: number): { xid: number; barrierXid: number; buf: Uint8Array } => {
      const rq = build(i);
      const barrierXid = allocXid();
      const buf = new Uint8Array(rq.bytes.length + 8);
      buf.set(rq.bytes, 0);
      const b = rq.bytes.length;
      buf[b] = this.version;
      buf[b + 1] = barrierType;
      buf[b + 3] = 8;
      buf[b + 4] = barrierXid >>> 24;
      buf[b + 5] = (barrierXid >>> 16) & 0xff;
      buf[b + 6] = (barrierXid >>> 8) & 0xff;
      buf[b + 7] = barrierXid & 0xff;
      return { xid: rq.xid, barrierXid, buf };
    };
    let cur = count > 0 ? prepare(0) : null;
    for (let i = 0; cur; i++) {
      this.send(cur.buf);
      const next = i + 1 < count ? prepare(i + 1) : null;
      // As OVS's vconn_transact_noreply(): a reply to the request (an error) is kept until the
      // barrier's reply arrives, then reported.
      let error: Received | null = null;
      for (;;) {
        const r = await this.recv();
        if (r.xid === cur.barrierXid) break;
        if (r.xid === cur.xid && r.type !== 2) error = r;
      }
      if (error) return error;
      cur = next;
    }
    return null;
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

function errnoErr(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** ovs-ofctl's run(): "MESSAGE (strerror)" as a fatal error. */
export function fatalErrno(e: unknown, message: string): never {
  const code = (e as NodeJS.ErrnoException)?.code;
  throw new OfctlFatal(`${message} (${strerror(code === 'EOF' ? 'EOF' : code)})`);
}
