/**
 * One JSON-RPC connection over a byte stream (net.Socket or tls.TLSSocket): framing in,
 * serialisation out, request/reply matching, automatic echo replies, an inactivity probe and a
 * bounded output backlog. The counterpart of OVS's `struct jsonrpc` plus the per-connection half
 * of `jsonrpc_session` (reconnection lives in reconnect.ts).
 */
import { noteActivity } from '../busy-poll.ts';
import type { Json } from '../json.ts';
import { vlog } from '../vlog.ts';
import { JsonFramer, JsonFramingError } from './framer.ts';
import {
  describeMessage,
  encodeMessage,
  type JsonRpcMessage,
  JsonRpcMessageError,
  type JsonRpcNotify,
  type JsonRpcRequest,
  messageFromJson,
} from './message.ts';
import type { Stream } from './stream.ts';

const log = vlog('jsonrpc');

/** Why a session closed. `kind` is stable; `message` is for people (OVS's wording where it has one). */
export interface CloseReason {
  kind: 'eof' | 'protocol' | 'too-big' | 'backlog' | 'probe' | 'io' | 'local';
  message: string;
}

/** The peer answered a request with an error reply; `error` is the reply's "error" member. */
export class JsonRpcRemoteError extends Error {
  override readonly name = 'JsonRpcRemoteError';
  readonly error: Json;
  constructor(error: Json) {
    super(typeof error === 'string' ? error : JSON.stringify(error));
    this.error = error;
  }
}

/** The session closed (or was closed) before a reply arrived, or a request timed out. */
export class JsonRpcClosedError extends Error {
  override readonly name = 'JsonRpcClosedError';
  readonly reason: CloseReason;
  constructor(reason: CloseReason) {
    super(reason.message);
    this.reason = reason;
  }
}

/** A request given `timeoutMs` got no reply in time (the session stays open). */
export class JsonRpcTimeoutError extends Error {
  override readonly name = 'JsonRpcTimeoutError';
  readonly code = 'ETIMEDOUT';
}

export interface JsonRpcSessionOptions {
  /** Used in log messages; defaults to the peer's address. */
  name?: string;
  /** Largest accepted incoming message in bytes; 0 (default, as OVS) = no limit. */
  maxMessageSize?: number;
  /**
   * Disconnect when a message is sent while more than this many bytes are still queued for a
   * peer that doesn't read. A single large message on an empty queue is always accepted.
   * 0 = no limit. Default 64 MiB.
   */
  maxBacklogBytes?: number;
  /** Send an "echo" after this many ms without input, close if still silent after as long again. 0 = off (default). */
  probeIntervalMs?: number;
  onRequest?: (req: JsonRpcRequest, session: JsonRpcSession) => void;
  onNotify?: (msg: JsonRpcNotify, session: JsonRpcSession) => void;
  onClose?: (reason: CloseReason, session: JsonRpcSession) => void;
}

interface Pending {
  resolve: (v: Json) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export const DEFAULT_MAX_BACKLOG = 64 * 1024 * 1024;

export class JsonRpcSession {
  readonly name: string;
  readonly stream: Stream;
  onRequest: ((req: JsonRpcRequest, session: JsonRpcSession) => void) | undefined;
  onNotify: ((msg: JsonRpcNotify, session: JsonRpcSession) => void) | undefined;
  private readonly closeListeners: ((reason: CloseReason, session: JsonRpcSession) => void)[] = [];
  private readonly framer: JsonFramer;
  private readonly maxBacklog: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private _closeReason: CloseReason | null = null;
  // Inactivity probe state (OVS reconnect FSM's ACTIVE/IDLE states, per connection).
  private readonly probeInterval: number;
  private lastActivity = Date.now();
  private probeSentAt = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly onValue = (json: Json): void => this.receive(json);
  private nSent = 0;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.stream.uncork();
  };
  private nReceived = 0;

  constructor(stream: Stream, options: JsonRpcSessionOptions = {}) {
    this.stream = stream;
    this.name = options.name ?? peerName(stream);
    this.framer = new JsonFramer({ maxMessageSize: options.maxMessageSize ?? 0 });
    this.maxBacklog = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG;
    this.probeInterval = options.probeIntervalMs ?? 0;
    this.onRequest = options.onRequest;
    this.onNotify = options.onNotify;
    if (options.onClose) this.closeListeners.push(options.onClose);

    stream.on('data', (chunk: Buffer) => {
      this.input(chunk);
      noteActivity();
    });
    stream.on('end', () => this.eof());
    stream.on('error', (err: NodeJS.ErrnoException) => {
      log.warnRl(`${this.name}: receive error: ${err.message}`);
      this.shutdown({ kind: 'io', message: err.message });
    });
    stream.on('close', () => this.shutdown({ kind: 'eof', message: 'connection closed by peer' }));
    stream.on('drain', () => {
      this.lastActivity = Date.now();
    });
    if (this.probeInterval > 0) this.scheduleProbe(this.probeInterval);
  }

  get closed(): boolean {
    return this._closeReason !== null;
  }
  get closeReason(): CloseReason | null {
    return this._closeReason;
  }
  /** Bytes queued for the peer and not yet handed to the kernel (OVS's jsonrpc_get_backlog). */
  get backlog(): number {
    return this._closeReason ? 0 : this.stream.writableLength;
  }
  get stats(): { sent: number; received: number; pendingRequests: number } {
    return { sent: this.nSent, received: this.nReceived, pendingRequests: this.pending.size };
  }

  onClose(cb: (reason: CloseReason, session: JsonRpcSession) => void): void {
    if (this._closeReason) queueMicrotask(() => cb(this._closeReason!, this));
    else this.closeListeners.push(cb);
  }

  /** Sends any message. Returns false if the session is closed (the message is dropped). */
  send(msg: JsonRpcMessage): boolean {
    if (this._closeReason) return false;
    if (this.maxBacklog > 0 && this.stream.writableLength > this.maxBacklog) {
      log.warn(
        `sending backlog exceeded maximum size (${this.stream.writableLength} > ${this.maxBacklog} bytes), disconnecting, jsonrpc: ${this.name}`,
      );
      this.shutdown({ kind: 'backlog', message: 'sending backlog exceeded maximum size' });
      return false;
    }
    if (log.dbgEnabled) log.dbg(`${this.name}: send ${describeMessage(msg)}`);
    return this.write(encodeMessage(msg));
  }

  /**
   * Sends an already serialised message (e.g. one monitor update shared by many sessions).
   * `text` must be exactly one JSON-RPC message; it is not checked.
   */
  sendRaw(text: string): boolean {
    if (this._closeReason) return false;
    if (this.maxBacklog > 0 && this.stream.writableLength > this.maxBacklog) {
      this.shutdown({ kind: 'backlog', message: 'sending backlog exceeded maximum size' });
      return false;
    }
    return this.write(text);
  }

  private write(text: string): boolean {
    this.nSent++;
    // Messages sent in one turn of the event loop go out in one write (one syscall).
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(this.uncork);
    }
    this.stream.write(text);
    return true;
  }

  /** Sends a request with the next integer id and resolves with the reply's result. */
  request(method: string, params: Json[], options: { timeoutMs?: number } = {}): Promise<Json> {
    if (this._closeReason) return Promise.reject(new JsonRpcClosedError(this._closeReason));
    const id = this.nextId++;
    return new Promise<Json>((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: undefined };
      if (options.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new JsonRpcTimeoutError(`${method}: request timed out`));
        }, options.timeoutMs);
      }
      this.pending.set(id, p);
      this.send({ type: 'request', method, params, id });
    });
  }

  notify(method: string, params: Json[]): boolean {
    return this.send({ type: 'notify', method, params });
  }
  reply(id: Json, result: Json): boolean {
    return this.send({ type: 'reply', result, id });
  }
  replyError(id: Json, error: Json): boolean {
    return this.send({ type: 'error', error, id });
  }

  /**
   * Closes the session. Queued output is flushed first (bounded by a short timer) so that a
   * final reply such as unixctl's "exit" still reaches the peer.
   */
  close(message = 'closed locally'): void {
    if (this._closeReason) return;
    this.shutdown({ kind: 'local', message }, true);
  }

  private input(chunk: Buffer): void {
    this.lastActivity = Date.now();
    try {
      this.framer.feed(chunk, this.onValue);
    } catch (err) {
      if (err instanceof JsonFramingError) {
        log.warnRl(`${this.name}: error parsing stream: ${err.message}`);
        this.shutdown({
          kind: err.code === 'E2BIG' ? 'too-big' : 'protocol',
          message: err.message,
        });
      } else {
        log.err(`${this.name}: ${(err as Error).stack ?? String(err)}`);
        this.shutdown({ kind: 'protocol', message: (err as Error).message });
      }
    }
  }

  private receive(json: Json): void {
    if (this._closeReason) return;
    let msg: JsonRpcMessage;
    try {
      msg = messageFromJson(json);
    } catch (err) {
      if (!(err instanceof JsonRpcMessageError)) throw err;
      log.warnRl(`${this.name}: received bad JSON-RPC message: ${err.message}`);
      this.shutdown({ kind: 'protocol', message: err.message });
      return;
    }
    this.nReceived++;
    if (log.dbgEnabled) log.dbg(`${this.name}: received ${describeMessage(msg)}`);
    switch (msg.type) {
      case 'request':
        if (msg.method === 'echo') {
          this.send({ type: 'reply', result: msg.params, id: msg.id });
        } else if (this.onRequest) {
          this.dispatch(this.onRequest, msg);
        } else {
          this.send({ type: 'error', error: 'unknown method', id: msg.id });
        }
        return;
      case 'notify':
        if (this.onNotify) this.dispatch(this.onNotify, msg);
        return;
      case 'reply':
      case 'error': {
        if (msg.id === 'echo') return; // Reply to our inactivity probe: its arrival was the point.
        const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
        if (!p) return;
        this.pending.delete(msg.id as number);
        if (p.timer) clearTimeout(p.timer);
        if (msg.type === 'reply') p.resolve(msg.result);
        else p.reject(new JsonRpcRemoteError(msg.error));
        return;
      }
    }
  }

  /**
   * Runs a handler so that its exception (our bug, not the peer's) is logged and contained: if
   * it escaped into the framer, the rest of the input chunk would be lost with it.
   */
  private dispatch<M>(handler: (msg: M, session: JsonRpcSession) => void, msg: M): void {
    try {
      handler(msg, this);
    } catch (err) {
      log.err(`${this.name}: error handling message: ${(err as Error).stack ?? String(err)}`);
    }
  }

  private eof(): void {
    try {
      this.framer.finish();
    } catch (err) {
      log.warnRl(`${this.name}: error parsing stream: ${(err as Error).message}`);
      this.shutdown({ kind: 'protocol', message: (err as Error).message });
      return;
    }
    this.shutdown({ kind: 'eof', message: 'connection closed by peer' });
  }

  private scheduleProbe(ms: number): void {
    this.probeTimer = setTimeout(() => this.probe(), ms);
    this.probeTimer.unref();
  }

  private probe(): void {
    if (this._closeReason) return;
    const now = Date.now();
    if (this.probeSentAt > 0) {
      if (this.lastActivity >= this.probeSentAt) {
        this.probeSentAt = 0;
      } else if (now - this.probeSentAt >= this.probeInterval) {
        const secs = Number((this.probeInterval / 1000).toPrecision(3));
        const message = `no response to inactivity probe after ${secs} seconds, disconnecting`;
        log.err(`${this.name}: ${message}`);
        this.shutdown({ kind: 'probe', message });
        return;
      } else {
        this.scheduleProbe(this.probeInterval - (now - this.probeSentAt));
        return;
      }
    }
    const idle = now - this.lastActivity;
    if (idle >= this.probeInterval) {
      if (log.dbgEnabled) {
        log.dbg(`${this.name}: idle ${idle} ms, sending inactivity probe`);
      }
      this.probeSentAt = now;
      this.send({ type: 'request', method: 'echo', params: [], id: 'echo' });
      this.scheduleProbe(this.probeInterval);
    } else {
      this.scheduleProbe(this.probeInterval - idle);
    }
  }

  private shutdown(reason: CloseReason, graceful = false): void {
    if (this._closeReason) return;
    this._closeReason = reason;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (graceful && this.stream.writableLength > 0 && !this.stream.destroyed) {
      this.stream.end();
      setTimeout(() => this.stream.destroy(), 1000).unref();
    } else if (graceful) {
      this.stream.end();
      this.stream.destroy();
    } else {
      this.stream.destroy();
    }
    const err = new JsonRpcClosedError(reason);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const cb of this.closeListeners.splice(0)) {
      try {
        cb(reason, this);
      } catch (e) {
        log.err(`${this.name}: close handler failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
  }
}

function peerName(s: Stream): string {
  if (s.remoteAddress) {
    const host = s.remoteAddress.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress;
    return `${'encrypted' in s ? 'ssl' : 'tcp'}:${host}:${s.remotePort}`;
  }
  return 'unix';
}
