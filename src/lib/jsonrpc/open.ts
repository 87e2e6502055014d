/** One-shot helpers: a session to an active address, sessions from a passive one. */
import { vlog } from '../vlog.ts';
import { DEFAULT_PROBE_INTERVAL } from './reconnect.ts';
import { JsonRpcSession, type JsonRpcSessionOptions } from './session.ts';
import {
  listenStream,
  needsProbes,
  openStream,
  type PassiveStream,
  type TlsOptions,
} from './stream.ts';

const log = vlog('jsonrpc');

export interface ConnectOptions extends JsonRpcSessionOptions {
  tls?: TlsOptions;
  defaultPort?: number;
  /** Give up connecting after this long (ETIMEDOUT). */
  timeoutMs?: number;
}

/** Connects once (no reconnection) and wraps the stream in a session. */
export async function connect(
  address: string,
  options: ConnectOptions = {},
): Promise<JsonRpcSession> {
  const { tls, defaultPort, timeoutMs, ...sessionOptions } = options;
  const stream = await openStream(address, { tls, defaultPort, timeoutMs });
  return new JsonRpcSession(stream, { name: address, ...sessionOptions });
}

export interface ListenOptions {
  tls?: TlsOptions;
  defaultPort?: number;
  /**
   * Options for each accepted session. The probe defaults as ovsdb-server's do: 5 s for
   * ptcp/pssl, none for punix.
   */
  session?: JsonRpcSessionOptions;
}

/**
 * Listens on a passive address and calls `onSession` with a session for each accepted
 * connection. Resolves once listening; `.port` is the bound port (ptcp:0 picks a free one).
 */
export function listen(
  address: string,
  onSession: (session: JsonRpcSession) => void,
  options: ListenOptions = {},
): Promise<PassiveStream> {
  const probe =
    options.session?.probeIntervalMs ?? (needsProbes(address) ? DEFAULT_PROBE_INTERVAL : 0);
  return listenStream(
    address,
    (stream) => {
      const session = new JsonRpcSession(stream, { ...options.session, probeIntervalMs: probe });
      if (log.dbgEnabled) log.dbg(`${address}: accepted connection from ${session.name}`);
      onSession(session);
    },
    { tls: options.tls, defaultPort: options.defaultPort },
  );
}
