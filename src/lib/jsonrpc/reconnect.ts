/**
 * Reconnection, after OVS's lib/reconnect.c: a small backoff state machine (pure, clock passed
 * in, so it is tested without waiting) and `ReconnectingClient`, which keeps one JsonRpcSession
 * to one of its remotes alive: the first attempt is immediate; each failed attempt waits the
 * backoff (1 s, doubling to max 8 s); a connection that was up at least as long as the current
 * backoff resets it to the minimum. Active TCP/SSL sessions get the 5 s inactivity probe.
 */
import type { Json } from '../json.ts';
import { vlog } from '../vlog.ts';
import {
  type CloseReason,
  JsonRpcClosedError,
  JsonRpcSession,
  type JsonRpcSessionOptions,
} from './session.ts';
import { needsProbes, openStream, type TlsOptions } from './stream.ts';

const log = vlog('reconnect');

export const DEFAULT_MIN_BACKOFF = 1000;
export const DEFAULT_MAX_BACKOFF = 8000;
export const DEFAULT_PROBE_INTERVAL = 5000;

export type ReconnectState = 'void' | 'backoff' | 'connecting' | 'active';

/** The backoff part of OVS's reconnect FSM. All times in ms. */
export class Reconnect {
  state: ReconnectState = 'void';
  backoff = 0;
  stateEntered = 0;
  lastConnected = 0;
  readonly minBackoff: number;
  readonly maxBackoff: number;
  nAttempts = 0;

  constructor(minBackoff = DEFAULT_MIN_BACKOFF, maxBackoff = DEFAULT_MAX_BACKOFF) {
    // OVS: min at least 1 s; max at least 1 s and at least min.
    this.minBackoff = Math.max(minBackoff, 1000);
    this.maxBackoff = Math.max(maxBackoff, 1000, this.minBackoff);
  }
  private enter(state: ReconnectState, now: number): void {
    this.state = state;
    this.stateEntered = now;
  }
  /** Starts: the first connection attempt is due at once. */
  enable(now: number): void {
    if (this.state === 'void') {
      this.backoff = 0;
      this.enter('backoff', now);
    }
  }
  disable(now: number): void {
    this.enter('void', now);
  }
  connecting(now: number): void {
    this.nAttempts++;
    this.enter('connecting', now);
  }
  connected(now: number): void {
    this.lastConnected = now;
    this.enter('active', now);
  }
  /** A connection attempt failed or an established connection dropped. */
  disconnected(now: number): void {
    if (this.state === 'void' || this.state === 'backoff') return;
    if (this.state === 'active' && now - this.lastConnected >= this.backoff) {
      this.backoff = this.minBackoff;
    } else if (this.backoff < this.minBackoff) {
      this.backoff = this.minBackoff;
    } else if (this.backoff < this.maxBackoff / 2) {
      this.backoff *= 2;
    } else {
      this.backoff = this.maxBackoff;
    }
    this.enter('backoff', now);
  }
  /** Ms until the next connection attempt is due (0 = now), or null if none is. */
  nextAttemptIn(now: number): number | null {
    if (this.state !== 'backoff') return null;
    return Math.max(0, this.stateEntered + this.backoff - now);
  }
}

export interface ReconnectingClientOptions {
  tls?: TlsOptions;
  /** Port for `tcp:HOST` / `ssl:HOST` without one (OVSDB's 6640 for database clients). */
  defaultPort?: number;
  minBackoff?: number;
  maxBackoff?: number;
  /** Inactivity probe; default 5 s for tcp/ssl remotes, none for unix (as OVS). */
  probeIntervalMs?: number;
  session?: Omit<JsonRpcSessionOptions, 'onClose' | 'probeIntervalMs'>;
  /** Called for each new session, before any of its input is processed. */
  onConnect?: (session: JsonRpcSession) => void;
  onDisconnect?: (reason: CloseReason) => void;
}

export class ReconnectingClient {
  readonly remotes: string[];
  private readonly fsm: Reconnect;
  private readonly options: ReconnectingClientOptions;
  private current: JsonRpcSession | null = null;
  private remoteIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private waiters: { resolve: (s: JsonRpcSession) => void; reject: (e: Error) => void }[] = [];
  lastError: string | null = null;

  constructor(remotes: string | string[], options: ReconnectingClientOptions = {}) {
    this.remotes = Array.isArray(remotes) ? remotes : [remotes];
    if (this.remotes.length === 0) throw new Error('no remotes');
    this.options = options;
    this.fsm = new Reconnect(options.minBackoff, options.maxBackoff);
  }

  get session(): JsonRpcSession | null {
    return this.current;
  }
  get isConnected(): boolean {
    return this.current !== null && !this.current.closed;
  }
  get remote(): string {
    return this.remotes[this.remoteIndex];
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.fsm.enable(Date.now());
    this.schedule();
  }

  /** Resolves with the session once connected (starting the client if needed). */
  waitConnected(timeoutMs?: number): Promise<JsonRpcSession> {
    this.start();
    if (this.current && !this.current.closed) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            reject(
              new Error(`${this.remote}: connection failed (${this.lastError ?? 'timed out'})`),
            );
          }
        }, timeoutMs).unref();
      }
    });
  }

  request(method: string, params: Json[], options?: { timeoutMs?: number }): Promise<Json> {
    if (!this.current || this.current.closed) {
      return Promise.reject(
        new JsonRpcClosedError({ kind: 'local', message: `${this.remote}: not connected` }),
      );
    }
    return this.current.request(method, params, options);
  }

  /** Drops the current connection; the client reconnects after the backoff (OVS's force_reconnect). */
  forceReconnect(): void {
    this.current?.close('reconnect requested');
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.fsm.disable(Date.now());
    const s = this.current;
    this.current = null;
    s?.close();
    const err = new Error('client closed');
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = this.fsm.nextAttemptIn(Date.now());
    if (wait === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.attempt(), wait);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const name = this.remote;
    this.fsm.connecting(Date.now());
    if (log.infoEnabled && this.fsm.backoff < this.fsm.maxBackoff)
      log.info(`${name}: connecting...`);
    let stream: Awaited<ReturnType<typeof openStream>>;
    try {
      stream = await openStream(name, {
        tls: this.options.tls,
        defaultPort: this.options.defaultPort,
        timeoutMs: Math.max(1000, this.fsm.backoff),
      });
    } catch (err) {
      this.lastError = (err as Error).message;
      if (this.stopped) return;
      if (this.fsm.backoff < this.fsm.maxBackoff) {
        log.info(`${name}: connection attempt failed (${this.lastError})`);
      }
      this.fsm.disconnected(Date.now());
      this.remoteIndex = (this.remoteIndex + 1) % this.remotes.length;
      this.schedule();
      return;
    }
    if (this.stopped) {
      stream.destroy();
      return;
    }
    this.fsm.connected(Date.now());
    log.info(`${name}: connected`);
    const probe = this.options.probeIntervalMs ?? (needsProbes(name) ? DEFAULT_PROBE_INTERVAL : 0);
    const session = new JsonRpcSession(stream, {
      name,
      ...this.options.session,
      probeIntervalMs: probe,
      onClose: (reason) => this.onSessionClose(session, reason),
    });
    this.current = session;
    this.options.onConnect?.(session);
    for (const w of this.waiters.splice(0)) w.resolve(session);
  }

  private onSessionClose(session: JsonRpcSession, reason: CloseReason): void {
    if (this.current !== session) return;
    this.current = null;
    this.lastError = reason.message;
    if (reason.kind === 'eof') log.info(`${session.name}: connection closed by peer`);
    else if (reason.kind !== 'local' || !this.stopped) {
      log.warn(`${session.name}: connection dropped (${reason.message})`);
    }
    this.options.onDisconnect?.(reason);
    if (this.stopped) return;
    this.fsm.disconnected(Date.now());
    this.schedule();
  }
}
