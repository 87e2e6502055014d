/**
 * The unixctl client (OVS's unixctl_client_create / unixctl_client_transact), used by
 * ovs-appctl and by tests: one connection, one command, a string result or error back.
 */
import net from 'node:net';
import type { Json } from '../json.ts';
import { JsonRpcRemoteError, JsonRpcSession } from '../jsonrpc/session.ts';
import { shortUnixPath } from '../jsonrpc/stream.ts';

export type UnixctlReply = { ok: true; result: string | Json } | { ok: false; error: string };

/** Connection failures carry the errno code (ENOENT, ECONNREFUSED, ...) as `code`. */
export function unixctlConnect(path: string): Promise<JsonRpcSession> {
  return new Promise((resolve, reject) => {
    let short: ReturnType<typeof shortUnixPath>;
    try {
      short = shortUnixPath(path);
    } catch (err) {
      reject(err);
      return;
    }
    const sock = net.connect({ path: short.path });
    const fail = (err: Error): void => {
      short.release();
      reject(err);
    };
    sock.once('error', fail);
    sock.once('connect', () => {
      short.release();
      sock.off('error', fail);
      resolve(new JsonRpcSession(sock, { name: path, probeIntervalMs: 0 }));
    });
  });
}

/**
 * Sends one command. Resolves with the server's result or error reply; rejects if the
 * transaction itself failed (connection closed, a non-string error, ...).
 */
export async function unixctlTransact(
  session: JsonRpcSession,
  command: string,
  args: string[],
): Promise<UnixctlReply> {
  try {
    const result = await session.request(command, args);
    return { ok: true, result };
  } catch (err) {
    if (err instanceof JsonRpcRemoteError) {
      if (typeof err.error !== 'string') {
        throw Object.assign(new Error('unexpected error type in JSON RPC reply'), {
          code: 'EINVAL',
        });
      }
      return { ok: false, error: err.error };
    }
    throw err;
  }
}

/** Connects to `path`, runs one command, closes. */
export async function unixctlCommand(
  path: string,
  command: string,
  args: string[] = [],
): Promise<UnixctlReply> {
  const s = await unixctlConnect(path);
  try {
    return await unixctlTransact(s, command, args);
  } finally {
    s.close();
  }
}
