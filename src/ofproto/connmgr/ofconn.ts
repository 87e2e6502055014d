/*
 * One OpenFlow connection of a bridge (OVS's ofconn over a vconn): version negotiation by
 * hello, the per-connection state that shapes what is said on it (flow format, packet-in
 * format, miss_send_len, role, asynchronous message masks), an inactivity probe, and sending.
 * What each request does is in ofconn-handle.ts.
 *
 * A connection never throws into its socket's event handlers: bad input gets an OFPT_ERROR
 * or, where OVS closes the connection (an unusable header, no common version), a close.
 */

import type { Socket } from 'node:net';
import { noteActivity } from '../../lib/busy-poll.ts';
import { vlog } from '../../lib/vlog.ts';
import { decodeMessage, encodeErrorReply, encodeMessage } from '../openflow/codec.ts';
import { OfpError } from '../openflow/errors.ts';
import { decodeFlowMonitorMessage, type FlowMonitorFrame } from '../openflow/flow-monitor.ts';
import { OfpFramer } from '../openflow/framer.ts';
import { negotiateVersion } from '../openflow/hello.ts';
import type {
  AsyncConfig,
  AsyncMasks,
  ControllerRole,
  FlowModCommand,
  OfpFrame,
  OfpMessage,
  PacketInFormat,
} from '../openflow/messages.ts';
import type { TableFeatures } from '../openflow/table-features.ts';
import type { OfpBundle } from './bundles.ts';
import type { Pinsched } from './pinsched.ts';
import { logNegotiated, logVconnMessages, vconnLog } from './vconn-log.ts';

const log = vlog('connmgr');
const NXT_SET_ASYNC_CONFIG2 = 27;
const OFPT14_SET_ASYNC = 28;

/** Primary connections are controllers; service ones are listeners such as the mgmt socket. */
export type OfconnType = 'primary' | 'service';

export const OFP_DEFAULT_MISS_SEND_LEN = 128;

/* Bit positions of the reasons in async masks (OVS's enums). */
export const PIN_REASON_BITS = {
  no_match: 0,
  action: 1,
  invalid_ttl: 2,
  action_set: 3,
  group: 4,
  packet_out: 5,
} as const;
const PRE14_ACTION_BITS =
  (1 << PIN_REASON_BITS.action_set) |
  (1 << PIN_REASON_BITS.group) |
  (1 << PIN_REASON_BITS.packet_out);
export const FLOW_REMOVED_BITS = {
  idle: 0,
  hard: 1,
  delete: 2,
  group_delete: 3,
  meter_delete: 4,
  eviction: 5,
} as const;
export const PORT_STATUS_BITS = { add: 0, delete: 1, modify: 2 } as const;

/* OVS's ofputil_async_cfg_default(): packet-ins for every reason but invalid_ttl, port
 * status for every role, flow-removed for primaries with the reasons of the version. */
export function defaultAsyncConfig(version: number): AsyncConfig {
  const pin = 0b111011;
  const frBits = version >= 5 ? 0b111111 : version === 4 ? 0b1111 : 0b111;
  return {
    master: { packetIn: pin, portStatus: 0b111, flowRemoved: frBits },
    slave: { packetIn: 0, portStatus: 0b111, flowRemoved: 0 },
  };
}

export interface OfconnOptions {
  type: OfconnType;
  /** Versions we allow (the bridge's `protocols`). */
  versions: readonly number[];
  /** For logs: `unix:...`, `tcp:...`, the peer. */
  name: string;
  /** Send an echo request after this long without input; disconnect after twice it (0: never). */
  probeIntervalMs?: number;
  /** Which controller_id packet-ins of the controller action go to. */
  controllerId?: number;
}

/** A message added to a bundle, decoded, with its bytes for error replies. */
export interface BundledMessage {
  frame: OfpFrame;
  raw: Uint8Array;
}

export type FrameHandler = (conn: Ofconn, frame: OfpFrame, raw: Uint8Array) => void;

export class Ofconn {
  readonly type: OfconnType;
  readonly name: string;
  /** The vconn's own name in the vconn log (`unix#3`, `tcp:IP:PORT`), without the bridge. */
  readonly vconnName: string;
  /* Flow mods done since the last "flow_mods in the last N s" report (OVS's ofconn counters). */
  private nAdd = 0;
  private nDelete = 0;
  private nModify = 0;
  private firstOp = 0;
  private lastOp = 0;
  private opBackoff = 0;
  private opTimer: NodeJS.Timeout | null = null;
  /** Negotiated version, 0 until the peer's hello. */
  version = 0;
  role: ControllerRole = 'equal';
  /** NXM (true) or OpenFlow 1.0 matches in flow mods and stats (nxt_set_flow_format). */
  nxm = false;
  /** flow_mod_table_id extension enabled. */
  tableIdExt = false;
  packetInFormat: PacketInFormat = 'standard';
  missSendLen: number;
  asyncConfig: AsyncConfig = defaultAsyncConfig(4);
  controllerId: number;
  /** Packet-ins not sent because the peer left too much unread (PACKET_IN_BACKLOG_MAX). */
  packetInsDropped = 0;
  /** Packet-in rate limiter (controller_rate_limit), if configured. */
  pinsched: Pinsched | null = null;
  /** A table-features set request still arriving (multipart "more"). */
  pendingTableFeatures: TableFeatures[] | null = null;
  /** Bundles opened on this connection (bundle id -> state). */
  readonly bundles = new Map<number, OfpBundle>();
  private readonly framer = new OfpFramer();
  /* Replies held while one read's requests are handled (one array, reused). */
  private readonly corkedOut: Uint8Array[] = [];
  private corked = false;
  private corkedBytes = 0;
  /* A reply sent piecemeal as the peer reads it (see sendPaced), what arrived meanwhile, and
   * what else was sent meanwhile: both wait for the whole reply. */
  private pacer: PacedReply | null = null;
  private pumping = false;
  /** Reading stopped until the peer takes the replies already queued. */
  private readPaused = false;
  private waitingDrain = false;
  private readonly heldIn: Uint8Array[] = [];
  private readonly heldOut: Uint8Array[] = [];
  private heldOutBytes = 0;
  private readonly versions: readonly number[];
  private xid = 1;
  private closed = false;
  private lastRx = Date.now();
  private probeSent = false;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly probeMs: number;
  /** Set by the connection manager. */
  onFrame: FrameHandler | null = null;
  onClose: ((conn: Ofconn) => void) | null = null;
  onConnected: ((conn: Ofconn) => void) | null = null;
  /** Flow monitor requests and cancels (their own codec: flow-monitor.ts). */
  onFlowMonitor: ((conn: Ofconn, frame: FlowMonitorFrame, raw: Uint8Array) => void) | null = null;
  /** Requests codec.ts does not model (queue configuration); true when handled. */
  onRawRequest: ((conn: Ofconn, raw: Uint8Array) => boolean) | null = null;
  /** The send queue emptied after backing up (flow monitors resume on it). */
  onDrain: ((conn: Ofconn) => void) | null = null;
  /** Sees every whole message sent or received (the snoop socket's feed). */
  onTraffic: ((bytes: Uint8Array) => void) | null = null;

  constructor(
    private readonly sock: Socket,
    opts: OfconnOptions,
  ) {
    this.type = opts.type;
    this.name = opts.name;
    const at = opts.name.indexOf('<->');
    this.vconnName = at < 0 ? opts.name : opts.name.slice(at + 3);
    this.versions = opts.versions;
    this.missSendLen = opts.type === 'primary' ? OFP_DEFAULT_MISS_SEND_LEN : 0;
    this.controllerId = opts.controllerId ?? 0;
    this.probeMs = opts.probeIntervalMs ?? 0;
    sock.setNoDelay?.(true);
    sock.on('data', (d: Buffer) => this.receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    sock.on('error', (e) => log.dbg(`${this.name}: ${e.message}`));
    sock.on('close', () => this.closedByPeer());
    sock.on('drain', () => {
      if (this.waitingDrain) {
        this.waitingDrain = false;
        this.pump();
      }
      if (this.readPaused && this.pacer === null && !this.closed) {
        this.readPaused = false;
        this.sock.resume();
      }
      this.onDrain?.(this);
    });
    const hello = encodeMessage({
      version: Math.max(...this.versions),
      xid: this.nextXid(),
      msg: { type: 'hello', versions: [...this.versions] },
    });
    this.write(hello);
    if (this.probeMs > 0) this.armProbe();
  }

  /** Bytes written but not yet handed to the kernel. */
  get txBacklog(): number {
    return this.sock.writableLength + this.corkedBytes + this.heldOutBytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the hello exchange finished. */
  get isConnected(): boolean {
    return this.version !== 0 && !this.closed;
  }

  nextXid(): number {
    const x = this.xid;
    this.xid = (this.xid + 1) >>> 0 || 1;
    return x;
  }

  /** Sends `msg` in the negotiated version; returns false when it cannot be said in it. */
  send(msg: OfpMessage, xid = this.nextXid()): boolean {
    if (this.closed || this.version === 0) return false;
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage({ version: this.version, xid, msg });
    } catch (e) {
      log.warn(`${this.name}: cannot encode ${msg.type}: ${(e as Error).message}`);
      return false;
    }
    this.write(bytes);
    return true;
  }

  /** Answers the request `raw` with `err` carrying as much of the request as fits, as OVS does. */
  sendError(err: OfpError, raw: Uint8Array, xid: number): void {
    if (this.closed) return;
    // As OVS's vconn, a message in another version is refused in that message's version.
    const own = err.error === 'OFPBRC_BAD_VERSION' ? 0 : this.version;
    const v = own || (raw[0] >= 1 && raw[0] <= 6 ? raw[0] : 1);
    let bytes: Uint8Array;
    try {
      const data = raw.subarray(0, 0xffff - 32);
      const error = { name: err.error, type: 0, code: 0, vendor: 0, data };
      bytes = encodeMessage({ version: v, xid, msg: { type: 'error', error } });
    } catch {
      bytes = encodeErrorReply(err, raw, v, xid);
    }
    this.write(bytes);
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.pacer !== null && !this.pumping) {
      this.heldOut.push(bytes);
      this.heldOutBytes += bytes.length;
      return;
    }
    this.onTraffic?.(bytes);
    if (vconnLog.dbgEnabled) logVconnMessages(this.vconnName, 'sent (Success)', bytes);
    if (this.corked) {
      this.corkedOut.push(bytes);
      this.corkedBytes += bytes.length;
      if (this.corkedBytes >= 1 << 20) this.uncork();
      return;
    }
    this.sock.write(bytes);
  }

  /* Replies to one read's worth of requests go out in one write: peers such as ovs-ofctl
   * send a barrier after every flow_mod, and a system call per reply would dominate. */
  private cork(): void {
    this.corked = true;
  }

  private uncork(): void {
    const out = this.corkedOut;
    if (out.length === 0) return;
    const total = this.corkedBytes;
    this.corkedBytes = 0;
    if (this.closed) {
      out.length = 0;
      return;
    }
    if (out.length === 1) this.sock.write(out[0]);
    else if (total < 1 << 16) this.sock.write(Buffer.concat(out, total));
    else {
      // A dump's 64 kB replies go out as one writev rather than copied into one buffer.
      this.sock.cork();
      for (const b of out) this.sock.write(b);
      this.sock.uncork();
    }
    out.length = 0;
  }

  /**
   * Sends a large reply (a dump of many flows) in steps as the peer reads it, instead of
   * encoding all of it before the first byte leaves: `reply.run(emit, budget)` emits messages
   * until it has emitted `budget` bytes (true when it emitted the last). The peer starts on
   * the first part while the rest is made. Requests that arrive meanwhile are handled after
   * the last part, and anything else sent on the connection goes after it too, in the order
   * the reply sent at once would have given.
   */
  sendPaced(reply: PacedReply): void {
    if (this.closed) {
      reply.abort();
      return;
    }
    if (this.pacer !== null) {
      // Only a held request can start one, and those wait for the current one to end.
      throw new Error('sendPaced: a paced reply is already under way');
    }
    this.pacer = reply;
    // As OVS stops reading a connection with many replies queued: a peer that does not read
    // the dump cannot make us hold ever more of its requests.
    this.sock.pause();
    setImmediate(() => this.pump());
  }

  private pump(): void {
    const reply = this.pacer;
    if (reply === null) return;
    if (this.closed) {
      this.dropPacer();
      return;
    }
    let done = true;
    this.pumping = true;
    try {
      done = reply.run((b) => {
        this.onTraffic?.(b);
        if (vconnLog.dbgEnabled) logVconnMessages(this.vconnName, 'sent (Success)', b);
        this.sock.write(b);
      }, PACED_STEP_BYTES);
    } catch (e) {
      log.err(`${this.name}: error sending reply: ${(e as Error).stack ?? e}`);
      reply.abort();
    } finally {
      this.pumping = false;
    }
    if (!done) {
      if (this.sock.writableLength > 0) this.waitingDrain = true;
      else setImmediate(() => this.pump());
      return;
    }
    this.pacer = null;
    const out = this.heldOut.splice(0);
    this.heldOutBytes = 0;
    for (const b of out) this.write(b);
    // Requests held while the reply went out, in order, until one starts another.
    if (this.heldIn.length > 0) {
      this.cork();
      try {
        while (this.heldIn.length > 0 && this.pacer === null && !this.closed) {
          this.handleFramed(this.heldIn.shift() as Uint8Array);
        }
      } finally {
        this.uncork();
        this.corked = false;
      }
    }
    if (this.pacer === null && !this.closed && !this.readPaused) this.sock.resume();
  }

  private dropPacer(): void {
    this.pacer?.abort();
    this.pacer = null;
    this.waitingDrain = false;
    this.heldIn.length = 0;
    this.heldOut.length = 0;
    this.heldOutBytes = 0;
  }

  /** Counts a flow mod done for this connection (OVS's ofconn_report_flow_mod()). */
  reportFlowMod(command: FlowModCommand): void {
    if (command === 'add') this.nAdd++;
    else if (command === 'modify' || command === 'modify_strict') this.nModify++;
    else this.nDelete++;
    const now = Date.now();
    if (this.opTimer === null) {
      this.firstOp = now;
      // A busy controller is reported every minute or so, not at each flow mod.
      const at = Math.max(now + 10_000, this.opBackoff);
      this.opBackoff = at + 60_000;
      this.opTimer = setTimeout(() => this.logFlowMods(), at - now);
      this.opTimer.unref();
    }
    this.lastOp = now;
  }

  /* OVS's ofconn_log_flow_mods(): how many flow mods, over what time, of which kinds. */
  private logFlowMods(): void {
    if (this.opTimer) clearTimeout(this.opTimer);
    this.opTimer = null;
    const n = this.nAdd + this.nDelete + this.nModify;
    if (n === 0) return;
    const now = Date.now();
    const ago = Math.trunc((now - this.firstOp) / 1000);
    const interval = Math.trunc((this.lastOp - this.firstOp) / 1000);
    const when =
      interval === ago
        ? `in the last ${ago} s`
        : interval
          ? `in the ${interval} s starting ${ago} s ago`
          : `${ago} s ago`;
    const kinds: string[] = [];
    if (this.nAdd) kinds.push(`${this.nAdd} adds`);
    if (this.nDelete) kinds.push(`${this.nDelete} deletes`);
    if (this.nModify) kinds.push(`${this.nModify} modifications`);
    log.info(`${this.name}: ${n} flow_mods ${when} (${kinds.join(', ')})`);
    this.nAdd = this.nDelete = this.nModify = 0;
  }

  close(): void {
    if (this.closed) return;
    this.logFlowMods();
    this.dropPacer();
    this.uncork();
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.pinsched?.close();
    this.sock.end();
    this.sock.destroy();
    this.onClose?.(this);
  }

  private closedByPeer(): void {
    if (this.closed) return;
    this.logFlowMods();
    this.dropPacer();
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.pinsched?.close();
    this.onClose?.(this);
  }

  private receive(chunk: Uint8Array): void {
    this.lastRx = Date.now();
    this.probeSent = false;
    this.cork();
    try {
      this.receiveChunk(chunk);
    } finally {
      this.uncork();
      this.corked = false;
    }
    // As OVS stops reading a connection while many of its replies wait to be sent: a peer
    // that sends requests and never reads the answers cannot make us buffer without end.
    if (this.sock.writableLength > REPLY_BACKLOG_PAUSE && !this.readPaused && !this.closed) {
      this.readPaused = true;
      this.sock.pause();
    }
    noteActivity();
  }

  private receiveChunk(chunk: Uint8Array): void {
    for (const ev of this.framer.push(chunk)) {
      if (this.closed) return;
      if (ev.kind === 'fatal') {
        log.warn(`${this.name}: ${ev.reason}`);
        this.close();
        return;
      }
      // The framer's messages are views of its input: one kept for later is copied.
      if (this.pacer !== null) this.heldIn.push(ev.bytes.slice());
      else this.handleFramed(ev.bytes);
    }
  }

  private handleFramed(raw: Uint8Array): void {
    try {
      this.receiveMessage(raw);
    } catch (e) {
      // A bug in a handler must not take the connection or the daemon down.
      log.err(`${this.name}: error handling message: ${(e as Error).stack ?? e}`);
    }
  }

  private receiveMessage(raw: Uint8Array): void {
    this.onTraffic?.(raw);
    if (vconnLog.dbgEnabled) logVconnMessages(this.vconnName, 'received', raw);
    const v = this.version;
    if (v !== 0 && raw.length === 8 && raw[0] === v && raw[1] === barrierRequestType(v)) {
      this.replyBarrier(raw);
      return;
    }
    const r = decodeMessage(raw);
    if (this.version === 0) {
      this.receiveHello(raw, r);
      return;
    }
    // Flow monitor messages are not in codec.ts's union: an NXST/ONF one fails to decode
    // there, an OF1.4 one comes back as an opaque multipart body.
    if (!r.ok || (r.frame.msg.type === 'stats_request' && r.frame.msg.body.stat === 'raw')) {
      const m = decodeFlowMonitorMessage(raw);
      if (m !== null) {
        if (!m.ok) this.sendError(m.error, raw, m.xid);
        else if (m.frame.version !== this.version) {
          this.sendError(new OfpError('OFPBRC_BAD_VERSION'), raw, m.frame.xid);
        } else this.onFlowMonitor?.(this, m.frame, raw);
        return;
      }
    }
    if (!r.ok && this.setControllerId(raw)) return;
    if (!r.ok && this.setAsyncConfig2(raw)) return;
    if (raw[0] === this.version && this.onRawRequest?.(this, raw)) return;
    if (!r.ok) {
      log.dbg(`${this.name}: bad message: ${r.error.message}`);
      this.sendError(r.error, raw, r.xid);
      return;
    }
    if (r.frame.version !== this.version && r.frame.msg.type !== 'hello') {
      this.sendError(new OfpError('OFPBRC_BAD_VERSION'), raw, r.frame.xid);
      return;
    }
    this.onFrame?.(this, r.frame, raw);
  }

  /* ovs-ofctl follows every flow_mod with a barrier and waits for its reply, so a barrier's
   * round trip is on the critical path of add-flows: the reply is the request's header with
   * the type bumped, with no decoding, dispatch or encoding. Everything the connection was
   * asked before it is done by now (requests are handled in order, synchronously). */
  private replyBarrier(raw: Uint8Array): void {
    const reply = new Uint8Array(8);
    reply.set(raw);
    reply[1] = raw[1] + 1;
    this.write(reply);
  }

  /* NXT_SET_CONTROLLER_ID (codec.ts does not know it): which controller(id=N) packet-ins
   * this connection gets. */
  private setControllerId(raw: Uint8Array): boolean {
    if (raw.length !== 24 || raw[1] !== 4) return false;
    const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
    if (v.getUint32(8) !== 0x2320 || v.getUint32(12) !== 20) return false;
    for (let i = 16; i < 22; i++) {
      if (raw[i] !== 0) {
        this.sendError(new OfpError('NXBRC_MUST_BE_ZERO'), raw, v.getUint32(4));
        return true;
      }
    }
    this.controllerId = v.getUint16(22);
    return true;
  }

  /* NXT_SET_ASYNC_CONFIG2 (codec.ts does not know it): OpenFlow 1.4's property-based async
   * configuration for earlier versions. Its properties are OF1.4 OFPT_SET_ASYNC's, so they
   * are decoded as one of those and handled as this connection's set_async. */
  private setAsyncConfig2(raw: Uint8Array): boolean {
    if (raw.length < 16 || raw[1] !== 4) return false;
    const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
    if (v.getUint32(8) !== 0x2320 || v.getUint32(12) !== NXT_SET_ASYNC_CONFIG2) return false;
    const xid = v.getUint32(4);
    const as14 = new Uint8Array(raw.length - 8);
    as14.set(raw.subarray(0, 8));
    as14.set(raw.subarray(16), 8);
    as14[0] = 5;
    as14[1] = OFPT14_SET_ASYNC;
    as14[2] = as14.length >> 8;
    as14[3] = as14.length & 0xff;
    const r = decodeMessage(as14);
    if (!r.ok) this.sendError(r.error, raw, xid);
    else if (r.frame.msg.type === 'set_async') {
      this.onFrame?.(
        this,
        { version: this.version, xid, msg: { ...r.frame.msg, format: 'nxt' } },
        raw,
      );
    }
    return true;
  }

  private receiveHello(raw: Uint8Array, r: ReturnType<typeof decodeMessage>): void {
    if (!r.ok || r.frame.msg.type !== 'hello') {
      log.warn(`${this.name}: received message while expecting hello`);
      const err = new OfpError('OFPHFC_EPERM', 'expected hello');
      this.write(encodeErrorReply(err, raw, raw[0] >= 1 && raw[0] <= 6 ? raw[0] : 1, 0));
      this.close();
      return;
    }
    try {
      this.version = negotiateVersion(this.versions, r.frame);
    } catch (e) {
      const err = e instanceof OfpError ? e : new OfpError('OFPHFC_INCOMPATIBLE');
      log.warn(`${this.name}: version negotiation failed: ${err.message}`);
      const v = Math.min(Math.max(...this.versions), r.frame.version) || 1;
      const text = new TextEncoder().encode(
        `We support versions ${this.versions.map(versionName).join(', ')}, you support ${
          r.frame.msg.type === 'hello' ? r.frame.msg.versions.map(versionName).join(', ') : ''
        }.`,
      );
      this.write(encodeErrorReply(err, text, v, r.frame.xid));
      this.close();
      return;
    }
    this.asyncConfig = defaultAsyncConfig(this.version);
    if (vconnLog.dbgEnabled && r.frame.msg.type === 'hello') {
      logNegotiated(this.vconnName, this.version, this.versions, r.frame.msg.versions);
    }
    this.onConnected?.(this);
  }

  private armProbe(): void {
    const tick = () => {
      if (this.closed) return;
      const idle = Date.now() - this.lastRx;
      if (idle >= this.probeMs * (this.probeSent ? 2 : 1)) {
        if (this.probeSent) {
          log.err(
            `${this.name}: no response to inactivity probe after ${this.probeMs / 1000} seconds, disconnecting`,
          );
          this.close();
          return;
        }
        this.probeSent = true;
        if (this.version) this.send({ type: 'echo_request', data: new Uint8Array(0) });
      }
      this.probeTimer = setTimeout(tick, Math.max(50, this.probeMs / 2));
      this.probeTimer.unref?.();
    };
    this.probeTimer = setTimeout(tick, this.probeMs);
    this.probeTimer.unref?.();
  }

  /** Whether this connection gets an async message of `kind` for `reason` (a bit number). */
  wantsAsync(kind: keyof AsyncMasks, bit: number): boolean {
    if (!this.isConnected) return false;
    // Service connections get nothing asynchronous until they set a miss_send_len.
    if (this.type === 'service' && this.missSendLen === 0) return false;
    const masks = this.role === 'slave' ? this.asyncConfig.slave : this.asyncConfig.master;
    let mask = masks[kind] ?? 0;
    // Before OpenFlow 1.4 "action" covers the reasons 1.4 split out of it (action set, group,
    // packet-out), as OVS widens a mask set on such a connection.
    if (kind === 'packetIn' && this.version < 5 && mask & (1 << PIN_REASON_BITS.action)) {
      mask |= PRE14_ACTION_BITS;
    }
    return (mask & (1 << bit)) !== 0;
  }
}

/* OFPT_BARRIER_REQUEST: 18 in OpenFlow 1.0, 20 from 1.1 on (the reply is one more). */
/* Unsent replies past which the connection stops reading its peer (OVS: 100 messages). */
const REPLY_BACKLOG_PAUSE = 1 << 20;
/** Unsent output past which packet-ins to the connection are dropped (OVS: 100 of them). */
export const PACKET_IN_BACKLOG_MAX = 1 << 20;

/* What one step of a paced reply emits: a few of a dump's 64 kB replies, about what a unix
 * socket's send buffer holds, so the peer always has the next ones waiting. */
const PACED_STEP_BYTES = 256 * 1024;

/** A reply that Ofconn.sendPaced() sends in steps. */
export interface PacedReply {
  run(emit: (msg: Uint8Array) => void, budget: number): boolean;
  /** The connection closed before the last step: release what the reply holds. */
  abort(): void;
}

function barrierRequestType(version: number): number {
  return version === 1 ? 18 : 20;
}

export function versionName(v: number): string {
  return ['', '1.0', '1.1', '1.2', '1.3', '1.4', '1.5'][v] ?? `0x${v.toString(16)}`;
}
