/**
 * One JSON-RPC connection to an OVSDB server, speaking RFC 7047's methods and OVS's
 * extensions with typed results. No reconnection here: the replica (idl.ts) reconnects by
 * opening a new OvsdbConnection. Server-sent `echo` requests are answered automatically, so an
 * idle connection survives the server's inactivity probes.
 */
import { EventEmitter } from 'node:events';
import type { Json, JsonObject } from '../../lib/json.ts';
import { isJsonObject } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import {
  encodeMessage,
  type JsonRpcMessage,
  reply as makeReply,
  request as makeRequest,
  messageFromJson,
} from '../../lib/jsonrpc/message.ts';
import { openStream, type Stream, type TlsOptions } from '../../lib/jsonrpc/stream.ts';

export type { TlsOptions };

/** The server answered a request with a JSON-RPC error (e.g. "unknown method"). */
export class OvsdbRpcError extends Error {
  override readonly name = 'OvsdbRpcError';
  /** The `error` member of the reply, as sent. */
  readonly error: Json;
  readonly method: string;
  constructor(method: string, error: Json) {
    super(
      typeof error === 'string'
        ? error
        : isJsonObject(error) && typeof error.error === 'string'
          ? error.details !== undefined
            ? `${error.error}: ${String(error.details)}`
            : error.error
          : JSON.stringify(error),
    );
    this.method = method;
    this.error = error;
  }
  /** The RFC 7047 error tag ("unknown method", "unknown database", ...) when there is one. */
  get tag(): string | undefined {
    if (typeof this.error === 'string') return this.error;
    return isJsonObject(this.error) && typeof this.error.error === 'string'
      ? this.error.error
      : undefined;
  }
}

/** The connection closed (or failed) before a reply arrived. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  readonly code = 'ECONNRESET';
}

export interface ConnectOptions {
  tls?: TlsOptions;
  /** Give up connecting after this many milliseconds. */
  timeoutMs?: number;
}

/** One entry of a monitor request (RFC 7047 §4.1.5, with `where` for monitor_cond). */
export interface MonitorRequest {
  columns?: string[];
  where?: Json[];
  select?: { initial?: boolean; insert?: boolean; delete?: boolean; modify?: boolean };
}
export type MonitorRequests = { [table: string]: MonitorRequest | MonitorRequest[] };

/** RFC 7047 table-updates (update) or OVS's table-updates2 (update2, update3). */
export type TableUpdates = { [table: string]: { [uuid: string]: JsonObject } };

export interface MonitorCondSinceReply {
  found: boolean;
  lastTxnId: string;
  updates: TableUpdates;
}

/** A notification from the server other than echo. */
export interface OvsdbNotification {
  method: string;
  params: Json[];
}

interface Pending {
  method: string;
  resolve: (v: Json) => void;
  reject: (e: Error) => void;
}

/**
 * Called as the reply is read, in order with the notifications around it (a promise would run
 * it a microtask later, after any notification that came in the same read).
 */
export type ReplyCallback = (result: Json | undefined, error?: Json) => void;

/**
 * Events: `notification` (OvsdbNotification), `close` (Error | undefined).
 * Typical `update` methods: "update" [monid, updates], "update2" [monid, updates2],
 * "update3" [monid, lastTxnId, updates2], "locked" [name], "stolen" [name].
 */
export class OvsdbConnection extends EventEmitter {
  readonly name: string;
  private readonly stream: Stream;
  private readonly framer = new JsonFramer();
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closedError: Error | undefined;
  private isClosed = false;
  /** Time (Date.now()) something was last received, for inactivity probes. */
  lastReceived = Date.now();

  private constructor(name: string, stream: Stream) {
    super();
    this.name = name;
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.lastReceived = Date.now();
      try {
        this.framer.feed(chunk, (v) => this.receive(v));
      } catch (err) {
        this.fail(err as Error);
      }
    });
    stream.on('error', (err) => this.fail(err));
    stream.on('close', () =>
      this.fail(new ConnectionClosedError(`${name}: connection closed by peer`)),
    );
  }

  /** Connects to an active remote (`unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`). */
  static async connect(name: string, opts: ConnectOptions = {}): Promise<OvsdbConnection> {
    const stream = await openStream(name, {
      tls: opts.tls,
      timeoutMs: opts.timeoutMs,
      defaultPort: 6640,
    });
    return new OvsdbConnection(name, stream);
  }

  /** Wraps an already connected stream (e.g. one accepted on a passive remote). */
  static fromStream(name: string, stream: Stream): OvsdbConnection {
    return new OvsdbConnection(name, stream);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private receive(json: Json): void {
    let msg: JsonRpcMessage;
    try {
      msg = messageFromJson(json);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    switch (msg.type) {
      case 'reply':
      case 'error': {
        if (typeof msg.id !== 'number') return;
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.type === 'reply') p.resolve(msg.result);
        else p.reject(new OvsdbRpcError(p.method, msg.error));
        return;
      }
      case 'request':
        if (msg.method === 'echo') this.send(makeReply(msg.params, msg.id));
        return;
      case 'notify':
        this.emit('notification', {
          method: msg.method,
          params: msg.params,
        } satisfies OvsdbNotification);
        return;
    }
  }

  private send(msg: JsonRpcMessage): void {
    if (!this.isClosed) this.stream.write(encodeMessage(msg));
  }

  private fail(err: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedError = err;
    this.stream.destroy();
    for (const p of this.pending.values()) {
      p.reject(
        err instanceof ConnectionClosedError
          ? err
          : new ConnectionClosedError(`${this.name}: ${err.message}`),
      );
    }
    this.pending.clear();
    this.emit('close', err);
  }

  /** Sends a request and resolves with its result; rejects with OvsdbRpcError on an error reply. */
  request(method: string, params: Json[]): Promise<Json> {
    if (this.isClosed) {
      return Promise.reject(
        this.closedError ?? new ConnectionClosedError(`${this.name}: connection closed`),
      );
    }
    const id = this.nextId++;
    return new Promise<Json>((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.send(makeRequest(method, params, id));
    });
  }

  /**
   * Sends a request whose reply (or error reply) goes to `cb` as it is read, in order with
   * notifications. Nothing is called if the connection closes first: `close` reports that.
   */
  requestWithCallback(method: string, params: Json[], cb: ReplyCallback): void {
    if (this.isClosed) return;
    const id = this.nextId++;
    this.pending.set(id, {
      method,
      resolve: (v) => cb(v),
      reject: (e) => {
        if (e instanceof OvsdbRpcError) cb(undefined, e.error);
      },
    });
    this.send(makeRequest(method, params, id));
  }

  /**
   * Stops reading from the server (ovsdb-client/block): replies, notifications and echo
   * requests wait in the socket until resume(), so the server sees a client that does not read.
   */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** The id the next request() will use (for `cancel`). */
  peekNextId(): number {
    return this.nextId;
  }

  close(): void {
    if (this.isClosed) return;
    this.stream.end();
    this.fail(new ConnectionClosedError(`${this.name}: connection closed`));
  }

  // ---- RFC 7047 methods ----

  async listDbs(): Promise<string[]> {
    const r = await this.request('list_dbs', []);
    if (!Array.isArray(r) || !r.every((x) => typeof x === 'string')) throw badReply('list_dbs', r);
    return r as string[];
  }

  /** The schema as JSON; parse it with parseDatabaseSchema from ../schema.ts. */
  async getSchema(db: string): Promise<JsonObject> {
    const r = await this.request('get_schema', [db]);
    if (!isJsonObject(r)) throw badReply('get_schema', r);
    return r;
  }

  /** Runs operations; the result array has one entry per operation (errors included, RFC 7047 §4.1.3). */
  async transact(db: string, ops: Json[]): Promise<Json[]> {
    const r = await this.request('transact', [db, ...ops]);
    if (!Array.isArray(r)) throw badReply('transact', r);
    return r;
  }

  /** Asks the server to cancel the request with `id` (it then answers that request with an error). */
  cancel(id: number): void {
    this.send({ type: 'notify', method: 'cancel', params: [id] });
  }

  async monitor(db: string, monitorId: Json, requests: MonitorRequests): Promise<TableUpdates> {
    return asUpdates(
      'monitor',
      await this.request('monitor', [db, monitorId, requests as unknown as Json]),
    );
  }

  async monitorCond(db: string, monitorId: Json, requests: MonitorRequests): Promise<TableUpdates> {
    return asUpdates(
      'monitor_cond',
      await this.request('monitor_cond', [db, monitorId, requests as unknown as Json]),
    );
  }

  async monitorCondSince(
    db: string,
    monitorId: Json,
    requests: MonitorRequests,
    lastTxnId: string,
  ): Promise<MonitorCondSinceReply> {
    const r = await this.request('monitor_cond_since', [
      db,
      monitorId,
      requests as unknown as Json,
      lastTxnId,
    ]);
    if (
      !Array.isArray(r) ||
      r.length !== 3 ||
      typeof r[0] !== 'boolean' ||
      typeof r[1] !== 'string'
    ) {
      throw badReply('monitor_cond_since', r);
    }
    return { found: r[0], lastTxnId: r[1], updates: asUpdates('monitor_cond_since', r[2]) };
  }

  /** Changes the conditions of a monitor_cond(_since) monitor (OVS's monitor_cond_change). */
  async monitorCondChange(
    monitorId: Json,
    newMonitorId: Json,
    requests: MonitorRequests,
  ): Promise<void> {
    await this.request('monitor_cond_change', [
      monitorId,
      newMonitorId,
      requests as unknown as Json,
    ]);
  }

  async monitorCancel(monitorId: Json): Promise<void> {
    await this.request('monitor_cancel', [monitorId]);
  }

  /** Resolves `true` when the lock was acquired now, `false` when queued (a "locked" notification follows). */
  async lock(name: string): Promise<boolean> {
    return lockedOf('lock', await this.request('lock', [name]));
  }

  async steal(name: string): Promise<boolean> {
    return lockedOf('steal', await this.request('steal', [name]));
  }

  async unlock(name: string): Promise<void> {
    await this.request('unlock', [name]);
  }

  async echo(params: Json[] = []): Promise<Json> {
    return this.request('echo', params);
  }

  async setDbChangeAware(aware = true): Promise<void> {
    await this.request('set_db_change_aware', [aware]);
  }
}

function badReply(method: string, r: Json): Error {
  return new OvsdbRpcError(method, {
    error: 'syntax error',
    details: `unexpected ${method} reply: ${JSON.stringify(r)}`,
  });
}

function asUpdates(method: string, r: Json): TableUpdates {
  if (!isJsonObject(r)) throw badReply(method, r);
  return r as TableUpdates;
}

function lockedOf(method: string, r: Json): boolean {
  if (!isJsonObject(r) || typeof r.locked !== 'boolean') throw badReply(method, r);
  return r.locked;
}

/** True when `err` is the server's "unknown method" answer (used to fall back to older methods). */
export function isUnknownMethod(err: unknown): boolean {
  if (!(err instanceof OvsdbRpcError)) return false;
  return (
    err.tag === 'unknown method' ||
    (typeof err.error === 'string' && err.error.includes('unknown method'))
  );
}
