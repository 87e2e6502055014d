/**
 * Stream addresses as OVS names them (lib/stream.c, lib/socket-util.c) and the sockets behind
 * them. Active: `unix:PATH`, `tcp:HOST[:PORT]`, `ssl:HOST[:PORT]` (IPv6 as `[addr]:port`).
 * Passive: `punix:PATH`, `ptcp:[PORT][:IP]`, `pssl:[PORT][:IP]`. A relative unix path is taken
 * relative to OVS_RUNDIR, as OVS does. SSL peers are verified against the CA certificate in both
 * directions and host names are not checked, which is OVS's model (trust = signed by our CA).
 */
import {
  closeSync,
  constants as fsConstants,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import net from 'node:net';
import { basename, dirname, isAbsolute, join } from 'node:path';
import tls from 'node:tls';
import { rundir } from '../paths.ts';

export type ActiveAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp' | 'ssl'; host: string; port: number };
export type PassiveAddress =
  | { kind: 'punix'; path: string }
  | { kind: 'ptcp' | 'pssl'; host: string; port: number };
export type StreamAddress = ActiveAddress | PassiveAddress;

export class StreamAddressError extends Error {
  override readonly name = 'StreamAddressError';
  readonly code = 'EAFNOSUPPORT';
}

/** The TCP port OVSDB uses when an address names none (IANA-assigned OVSDB port). */
export const OVSDB_PORT = 6640;

export interface TlsOptions {
  privateKey: string;
  certificate: string;
  caCert: string;
  /** Another CA certificate sent along with ours (OVS's --peer-ca-cert), for bootstrapping peers. */
  peerCaCert?: string;
  /** OVS's --ssl-protocols, e.g. "TLSv1.2,TLSv1.3": the versions allowed. */
  protocols?: string;
  /** OVS's --ssl-ciphers (OpenSSL's cipher list syntax). */
  ciphers?: string;
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/** The lowest and highest of OVS's --ssl-protocols list (unknown names ignored). */
function tlsVersionRange(protocols: string | undefined): {
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
} {
  if (!protocols) return {};
  const idx = protocols
    .split(/[\s,]+/)
    .map((p) => TLS_VERSIONS.indexOf(p as (typeof TLS_VERSIONS)[number]))
    .filter((i) => i >= 0);
  if (idx.length === 0) return {};
  return {
    minVersion: TLS_VERSIONS[Math.min(...idx)],
    maxVersion: TLS_VERSIONS[Math.max(...idx)],
  };
}

export function isPassiveName(name: string): boolean {
  return /^p(unix|tcp|ssl):/.test(name);
}

/** OVS's stream_or_pstream_needs_probes: unix sockets don't get inactivity probes. */
export function needsProbes(name: string): boolean {
  return /^p?(tcp|ssl):/.test(name);
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_UNIX_PATH = 107;

/**
 * A name for `path` that fits in a unix socket address. Longer names would be silently
 * truncated by the kernel interface Node uses, so, like OVS, we open the directory and name the
 * socket through /proc/self/fd/N/. Call `release()` once the bind or connect is done.
 */
export function shortUnixPath(path: string): { path: string; release: () => void } {
  if (Buffer.byteLength(path) <= MAX_UNIX_PATH) return { path, release: () => {} };
  const fd = openSync(dirname(path), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  const short = `/proc/self/fd/${fd}/${basename(path)}`;
  if (Buffer.byteLength(short) > MAX_UNIX_PATH) {
    closeSync(fd);
    throw Object.assign(new Error(`${path}: File name too long`), { code: 'ENAMETOOLONG' });
  }
  let released = false;
  return {
    path: short,
    release: () => {
      if (!released) closeSync(fd);
      released = true;
    },
  };
}

function unixPath(p: string): string {
  return isAbsolute(p) ? p : join(rundir(), p);
}

function parsePort(s: string, name: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) {
    throw new StreamAddressError(`${name}: bad port number "${s}"`);
  }
  return Number(s);
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Parses an active address (`unix:`, `tcp:`, `ssl:`). `defaultPort` fills a missing port. */
export function parseActive(name: string, defaultPort?: number): ActiveAddress {
  const colon = name.indexOf(':');
  const kind = colon < 0 ? '' : name.slice(0, colon);
  const rest = name.slice(colon + 1);
  if (kind === 'unix') return { kind, path: unixPath(rest) };
  if (kind === 'tcp' || kind === 'ssl') {
    let host: string;
    let portStr: string | undefined;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new StreamAddressError(`${name}: bad IPv6 address`);
      host = rest.slice(1, close);
      const after = rest.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) {
        throw new StreamAddressError(`${name}: bad address`);
      }
      portStr = after ? after.slice(1) : undefined;
    } else {
      const c = rest.lastIndexOf(':');
      // A bare IPv6 address (several colons, no brackets) has no port.
      if (c >= 0 && rest.indexOf(':') === c) {
        host = rest.slice(0, c);
        portStr = rest.slice(c + 1);
      } else {
        host = rest;
      }
    }
    if (host === '') throw new StreamAddressError(`${name}: host must be specified`);
    let port: number;
    if (portStr === undefined || portStr === '') {
      if (defaultPort === undefined) {
        throw new StreamAddressError(`${name}: port must be specified`);
      }
      port = defaultPort;
    } else {
      port = parsePort(portStr, name);
    }
    return { kind, host, port };
  }
  throw new StreamAddressError(`${name}: unknown stream type`);
}

/** Parses a passive address (`punix:`, `ptcp:`, `pssl:`). `ptcp:0` asks for a free port. */
export function parsePassive(name: string, defaultPort?: number): PassiveAddress {
  const colon = name.indexOf(':');
  const kind = colon < 0 ? '' : name.slice(0, colon);
  const rest = name.slice(colon + 1);
  if (kind === 'punix') return { kind, path: unixPath(rest) };
  if (kind === 'ptcp' || kind === 'pssl') {
    const c = rest.indexOf(':');
    const portStr = c < 0 ? rest : rest.slice(0, c);
    const host = c < 0 ? '' : stripBrackets(rest.slice(c + 1));
    let port: number;
    if (portStr === '') {
      if (defaultPort === undefined)
        throw new StreamAddressError(`${name}: port must be specified`);
      port = defaultPort;
    } else {
      port = parsePort(portStr, name);
    }
    // OVS binds to all IPv4 addresses when no IP is given.
    return { kind, host: host || '0.0.0.0', port };
  }
  throw new StreamAddressError(`${name}: unknown stream type`);
}

export function parseAddress(name: string, defaultPort?: number): StreamAddress {
  return isPassiveName(name) ? parsePassive(name, defaultPort) : parseActive(name, defaultPort);
}

export function formatAddress(a: StreamAddress): string {
  if (a.kind === 'unix' || a.kind === 'punix') return `${a.kind}:${a.path}`;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return a.kind === 'tcp' || a.kind === 'ssl'
    ? `${a.kind}:${host}:${a.port}`
    : `${a.kind}:${a.port}:${host}`;
}

function loadTls(
  opts: TlsOptions | undefined,
  name: string,
): {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
} {
  if (!opts) {
    throw new StreamAddressError(
      `${name}: SSL requires a private key, certificate and CA certificate (--private-key, --certificate, --ca-cert)`,
    );
  }
  return {
    key: readFileSync(opts.privateKey),
    cert: opts.peerCaCert
      ? Buffer.from(
          `${readFileSync(opts.certificate, 'utf8').trimEnd()}\n${readFileSync(opts.peerCaCert, 'utf8')}`,
        )
      : readFileSync(opts.certificate),
    ca: readFileSync(opts.caCert),
    ...tlsVersionRange(opts.protocols),
    ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
  };
}

/** A connected byte stream: a plain or TLS socket. */
export type Stream = net.Socket | tls.TLSSocket;

/**
 * Opens an active connection and resolves once it is established (after the TLS handshake for
 * ssl:). Rejects with the socket's error (ECONNREFUSED, ENOENT, certificate errors, ...).
 */
export function openStream(
  name: string,
  options: { tls?: TlsOptions; defaultPort?: number; timeoutMs?: number } = {},
): Promise<Stream> {
  let addr: ActiveAddress;
  try {
    addr = parseActive(name, options.defaultPort);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<Stream>((resolve, reject) => {
    let sock: Stream;
    const event = addr.kind === 'ssl' ? 'secureConnect' : 'connect';
    let release = (): void => {};
    if (addr.kind === 'unix') {
      let short: ReturnType<typeof shortUnixPath>;
      try {
        short = shortUnixPath(addr.path);
      } catch (err) {
        reject(err);
        return;
      }
      release = short.release;
      sock = net.connect({ path: short.path });
    } else if (addr.kind === 'tcp') {
      sock = net.connect({ host: addr.host, port: addr.port });
    } else {
      let creds: ReturnType<typeof loadTls>;
      try {
        creds = loadTls(options.tls, name);
      } catch (err) {
        reject(err);
        return;
      }
      sock = tls.connect({
        host: addr.host,
        port: addr.port,
        ...creds,
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: Error): void => {
      release();
      if (timer) clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    if (options.timeoutMs) {
      timer = setTimeout(
        () =>
          fail(Object.assign(new Error(`${name}: connection timed out`), { code: 'ETIMEDOUT' })),
        options.timeoutMs,
      );
    }
    sock.once('error', fail);
    sock.once(event, () => {
      release();
      if (timer) clearTimeout(timer);
      sock.off('error', fail);
      if (sock instanceof net.Socket) sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

/** A listening passive stream. */
export interface PassiveStream {
  readonly name: string;
  readonly address: PassiveAddress;
  /** The bound TCP port (the real one when `ptcp:0` asked for any), or 0 for punix. */
  readonly port: number;
  /** The name with the bound port filled in, e.g. `ptcp:41234:127.0.0.1`. */
  readonly boundName: string;
  close(): Promise<void>;
}

/**
 * Listens on a passive address; `onStream` gets each accepted connection (after the TLS
 * handshake for pssl:). A stale unix socket file is removed first, and removed again on close.
 */
export function listenStream(
  name: string,
  onStream: (s: Stream) => void,
  options: { tls?: TlsOptions; defaultPort?: number } = {},
): Promise<PassiveStream> {
  let addr: PassiveAddress;
  let server: net.Server;
  try {
    addr = parsePassive(name, options.defaultPort);
    if (addr.kind === 'pssl') {
      server = tls.createServer(
        { ...loadTls(options.tls, name), requestCert: true, rejectUnauthorized: true },
        (s) => onStream(s),
      );
      // A failed handshake concerns one peer only; don't let it surface as an uncaught error.
      server.on('tlsClientError', () => {});
    } else {
      server = net.createServer((s) => {
        s.setNoDelay(true);
        onStream(s);
      });
    }
    if (addr.kind === 'punix') removeStaleSocket(addr.path);
  } catch (err) {
    return Promise.reject(err);
  }
  const a = addr;
  return new Promise<PassiveStream>((resolve, reject) => {
    let release = (): void => {};
    const fail = (err: Error): void => {
      release();
      reject(err);
    };
    server.once('error', fail);
    const onListening = (): void => {
      release();
      server.off('error', fail);
      server.on('error', () => {});
      const bound = server.address();
      const port = typeof bound === 'object' && bound ? bound.port : 0;
      const boundAddr: PassiveAddress = a.kind === 'punix' ? a : { ...a, port };
      resolve({
        name,
        address: a,
        port,
        boundName: formatAddress(boundAddr),
        // Stops accepting at once; connections already accepted belong to their sessions.
        close: async () => {
          server.close();
          if (a.kind === 'punix') {
            try {
              unlinkSync(a.path);
            } catch {
              // Already gone.
            }
          }
        },
      });
    };
    if (a.kind === 'punix') {
      let short: ReturnType<typeof shortUnixPath>;
      try {
        short = shortUnixPath(a.path);
      } catch (err) {
        reject(err);
        return;
      }
      release = short.release;
      server.listen(short.path, onListening);
    } else {
      server.listen(a.port, a.host, onListening);
    }
  });
}

function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there, or not ours to remove: bind reports the error.
  }
}
