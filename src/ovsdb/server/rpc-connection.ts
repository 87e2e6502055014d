/**
 * One client connection of the database server, seen as a JSON-RPC peer. It is the server's
 * own transport rather than the generic lib/jsonrpc session because the server needs three
 * things a generic session hides: sending pre-serialised text (one update shared by many
 * monitors is serialised once), one socket write per turn of the event loop however many
 * messages were queued, and a bound on what a peer that stops reading can make us buffer.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { noteActivity } from '../../lib/busy-poll.ts';
import type { Json } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import { type JsonRpcMessage, messageFromJson } from '../../lib/jsonrpc/message.ts';

export interface RpcConnectionOptions {
  /** Bytes queued for a peer that does not read before it is disconnected. */
  maxBacklog?: number;
  /** Largest JSON-RPC message accepted from the peer, in bytes. */
  maxMessageSize?: number;
  /**
   * Inactivity probe interval in ms (0: none). After this long without hearing from the peer we
   * send an "echo" request; after as long again, still silent, we disconnect. OVS's rule.
   */
  probeInterval?: number;
}

export const DEFAULT_MAX_BACKLOG = 64 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
export const DEFAULT_PROBE_INTERVAL = 5000;

export type CloseReason = 'eof' | 'protocol error' | 'backlog' | 'probe timeout' | 'closed';

export class RpcConnection {
  readonly name: string;
  onMessage: (msg: JsonRpcMessage) => void = () => {};
  onClose: (reason: CloseReason, detail?: string) => void = () => {};

  private readonly socket: Duplex;
  private readonly framer: JsonFramer;
  private readonly maxBacklog: number;
  private readonly direct: boolean;
  private probeInterval: number;
  /**
   * Messages queued this turn, concatenated (V8 joins strings lazily, so this costs no copy
   * until the write; one message, the usual case, is written as it is).
   */
  private queue = '';
  private queuedBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private lastRx = Date.now();
  private probeSent = false;
  private probeTimer: NodeJS.Timeout | null = null;

  constructor(socket: Duplex, name: string, opts: RpcConnectionOptions = {}) {
    this.socket = socket;
    this.name = name;
    this.maxBacklog = opts.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    this.direct = isPlainSocket(socket);
    this.framer = new JsonFramer({
      maxMessageSize: opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    });
    this.probeInterval = opts.probeInterval ?? 0;
    if (!(this.direct && readIntoSharedBuffer(socket as Socket, this))) {
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
    }
    socket.on('end', () => {
      try {
        this.framer.finish();
        this.shutdown('eof');
      } catch (err) {
        this.shutdown('protocol error', (err as Error).message);
      }
    });
    socket.on('error', (err) => this.shutdown('closed', err.message));
    socket.on('close', () => this.shutdown('eof'));
    socket.on('drain', () => this.onDrain?.());
    this.armProbe();
  }

  /** Called when the socket's own buffer has drained (monitors may then flush more). */
  onDrain: (() => void) | null = null;

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes accepted for sending but not yet taken by the kernel. */
  get backlog(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  setProbeInterval(ms: number): void {
    if (ms === this.probeInterval) return;
    this.probeInterval = ms;
    this.armProbe();
  }

  /** Queues one serialised message. */
  sendRaw(text: string): void {
    if (this.closed) return;
    this.queue = this.queuedBytes === 0 ? text : this.queue + text;
    this.queuedBytes += text.length;
    if (this.backlog > this.maxBacklog) {
      this.shutdown('backlog', `output backlog exceeds ${this.maxBacklog} bytes`);
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
  }

  /** A reply whose result is already serialised. */
  sendRawReply(id: Json, resultText: string): void {
    this.sendRaw(`{"id":${JSON.stringify(id)},"result":${resultText},"error":null}`);
  }

  sendReply(id: Json, result: Json): void {
    this.sendRaw(`{"id":${JSON.stringify(id)},"result":${JSON.stringify(result)},"error":null}`);
  }

  sendError(id: Json, error: Json): void {
    // OVS writes no "result" member in an error reply.
    this.sendRaw(`{"id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`);
  }

  sendNotify(method: string, params: Json[]): void {
    this.sendRaw(
      `{"id":null,"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`,
    );
  }

  sendRequest(method: string, params: Json[], id: Json): void {
    this.sendRaw(
      `{"id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`,
    );
  }

  /** Flushes what is queued, then closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.clearProbe();
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.onClose('closed');
  }

  /** Closes at once, dropping anything queued. */
  destroy(reason: CloseReason = 'closed', detail?: string): void {
    this.shutdown(reason, detail);
  }

  /** Sends what is queued (called once per turn for every connection that queued). */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.queuedBytes === 0) return;
    const text = this.queue;
    this.queue = '';
    this.queuedBytes = 0;
    if (this.direct && this.socket.writableLength === 0 && this.writeDirect(text)) return;
    this.socket.write(text);
  }

  /**
   * Writes `text` with one write(2) when the socket is a plain, open stream socket (unix or
   * TCP, not TLS) with nothing queued on the stream: as OVS sends, without a trip through
   * Node's stream machinery (a dozen calls and a deferred callback per write; for one update
   * sent to many monitors, most of the cost). Whatever the kernel did not take goes through
   * the stream, so order and backpressure are kept; on any error (EAGAIN, EPIPE, ...) the
   * whole text is left to the stream, which reports it as usual.
   */
  private writeDirect(text: string): boolean {
    // Read the descriptor each time: a destroyed socket drops its handle (and the number
    // may then belong to another file).
    const fd = (this.socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0 || !this.socket.writable) return false;
    let n: number;
    try {
      n = writeSync(fd, text);
    } catch {
      return false;
    }
    if (n < text.length || n < Buffer.byteLength(text)) {
      const bytes = Buffer.from(text);
      if (n < bytes.length) this.socket.write(bytes.subarray(n));
    }
    return true;
  }

  /** Takes bytes read from the peer (valid only during the call: the framer copies). */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.lastRx = Date.now();
    this.probeSent = false;
    try {
      this.framer.feed(chunk, (json) => {
        if (this.closed) return;
        let msg: JsonRpcMessage;
        try {
          msg = messageFromJson(json);
        } catch (err) {
          this.shutdown(
            'protocol error',
            `received bad JSON-RPC message: ${(err as Error).message}`,
          );
          return;
        }
        // Replies to our own probes carry no information for the server.
        if (msg.type === 'reply' && msg.id === 'echo') return;
        this.onMessage(msg);
      });
    } catch (err) {
      this.shutdown('protocol error', (err as Error).message);
    }
    noteActivity();
  }

  private shutdown(reason: CloseReason, detail?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearProbe();
    this.queue = '';
    this.queuedBytes = 0;
    this.socket.destroy();
    this.onClose(reason, detail);
  }

  private clearProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private armProbe(): void {
    this.clearProbe();
    if (this.probeInterval <= 0 || this.closed) return;
    const tick = (): void => {
      if (this.closed) return;
      const idle = Date.now() - this.lastRx;
      if (idle >= this.probeInterval) {
        if (this.probeSent) {
          this.shutdown(
            'probe timeout',
            `no response to inactivity probe after ${this.probeInterval / 1000} seconds`,
          );
          return;
        }
        this.probeSent = true;
        this.lastRx = Date.now();
        this.sendRequest('echo', [], 'echo');
      }
      const wait = Math.max(50, this.probeInterval - (Date.now() - this.lastRx));
      this.probeTimer = setTimeout(tick, wait);
      this.probeTimer.unref();
    };
    this.probeTimer = setTimeout(tick, this.probeInterval);
    this.probeTimer.unref();
  }
}

/*
 * Reads without the stream layer. A plain socket's reads normally become a new Buffer each,
 * pushed through the Readable machinery (a dozen calls, a deferred tick) to a 'data' event;
 * Node's `onread` option instead hands each read to a callback in a buffer of the caller's.
 * That option exists only for sockets one constructs, not for accepted ones, so it is set on
 * the accepted socket the way its constructor would set it, through the socket's own
 * symbols, found by name. One buffer serves every connection: a read is consumed by the
 * time its callback returns (the framer copies what it keeps). Where Node lacks the
 * symbols, the socket stays on 'data' events.
 */
const READ_BUFFER_SIZE = 64 * 1024;
let sharedReadBuffer: Buffer | null = null;
let onreadSymbols: { buffer: symbol; callback: symbol } | null | undefined;

function findOnreadSymbols(socket: Socket): { buffer: symbol; callback: symbol } | null {
  let buffer: symbol | undefined;
  let callback: symbol | undefined;
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    if (sym.description === 'kBuffer') buffer = sym;
    else if (sym.description === 'kBufferCb') callback = sym;
  }
  return buffer && callback ? { buffer, callback } : null;
}

function readIntoSharedBuffer(socket: Socket, conn: RpcConnection): boolean {
  if (onreadSymbols === undefined) onreadSymbols = findOnreadSymbols(socket);
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })
    ._handle;
  const syms = onreadSymbols;
  if (!syms || typeof handle?.useUserBuffer !== 'function') return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Already reading into a buffer of its own (or not a socket this code understands).
  if (fields[syms.buffer] !== null || fields[syms.callback] !== null) return false;
  if (sharedReadBuffer === null) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  const buf = sharedReadBuffer;
  fields[syms.buffer] = buf;
  fields[syms.callback] = (nread: number): void => conn.receive(buf.subarray(0, nread));
  handle.useUserBuffer(buf);
  return true;
}

/** Whether writes may bypass the stream: a plain net.Socket (a TLS one must encrypt). */
function isPlainSocket(socket: Duplex): boolean {
  return socket instanceof Socket && socket.constructor === Socket;
}

/*
 * Connections with queued output, flushed together by one microtask: the messages of one
 * turn (a reply, an update for fifty monitors) go out at its end, each connection's in one
 * write, without a microtask per connection.
 */
let dirty: RpcConnection[] = [];
function flushDirty(): void {
  const list = dirty;
  dirty = [];
  for (let i = 0; i < list.length; i++) (list[i] as RpcConnection).flush();
}
// A resolved promise's reaction rather than queueMicrotask: that one wraps every callback in
// an AsyncResource, several times the cost, once per reply.
const resolved = Promise.resolve();
function scheduleFlush(conn: RpcConnection): void {
  if (dirty.length === 0) void resolved.then(flushDirty);
  dirty.push(conn);
}
