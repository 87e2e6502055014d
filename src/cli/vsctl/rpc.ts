/**
 * The one OVSDB connection ovs-vsctl needs: connect to an active remote (unix:, tcp:,
 * ssl:), send requests, get replies and "update" notifications, answer "echo". Kept to
 * node:net and the shared framer so that a call starts quickly; TLS is loaded only for ssl:.
 */
import net from 'node:net';
import type { Json, JsonObject } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import { rundir } from '../../lib/paths.ts';

export interface TlsFiles {
  privateKey?: string;
  certificate?: string;
  caCert?: string;
  /** caCert may be missing: then trust the server once and save its CA there (OVS's bootstrap). */
  bootstrap?: boolean;
}

/**
 * OVS's CA bootstrap: the first connection accepts any server, saves the self-signed root at
 * the top of the chain it presented as the CA file, and fails (the caller tries again, now
 * verifying against that CA).
 */
async function bootstrapCaCert(s: import('node:tls').TLSSocket, file: string): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  let cert = s.getPeerCertificate(true);
  for (let i = 0; i < 16 && cert?.issuerCertificate; i++) {
    const up = cert.issuerCertificate;
    if (up.fingerprint256 === cert.fingerprint256) break;
    cert = up;
  }
  const selfSigned =
    cert?.raw !== undefined && JSON.stringify(cert.subject) === JSON.stringify(cert.issuer);
  if (!selfSigned) throw new RpcConnectError('EPROTO', 'CA certificate not found in peer chain');
  const b64 = cert.raw.toString('base64').replace(/.{64}/g, '$&\n');
  writeFileSync(
    file,
    `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
    {
      mode: 0o444,
      flag: 'wx',
    },
  );
}

/** strerror() text for the errno names a connect can fail with. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ENOTSOCK: 'Socket operation on non-socket',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EINVAL: 'Invalid argument',
  ENOTFOUND: 'Name or service not known',
  EOF: 'End of file',
  EPROTO: 'Protocol error',
};

export function strerror(code: string | undefined): string {
  return (code && STRERROR[code]) || code || 'Protocol error';
}

export class RpcConnectError extends Error {
  /** For a failed TLS handshake: OpenSSL's reason, as OVS logs it ("SSL_connect: ..."). */
  readonly sslError: string | undefined;
  constructor(
    readonly code: string,
    sslError?: string,
  ) {
    super(strerror(code));
    this.sslError = sslError;
  }
}

/** A TLS handshake failure as OVS reports it: a stream_ssl warning and "Protocol error". */
function tlsError(e: NodeJS.ErrnoException): RpcConnectError {
  const code = e.code ?? '';
  if (/^E[A-Z]+$/.test(code) && code in STRERROR) return new RpcConnectError(code);
  const verify = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|VERIFY/.test(code);
  const reason = verify
    ? 'error:0A000086:SSL routines::certificate verify failed'
    : (/error:[0-9A-F]+:[^\n]*/.exec(e.message)?.[0] ?? e.message);
  return new RpcConnectError('EPROTO', reason);
}

export class OvsdbConnection {
  private nextId = 0;
  private readonly pending = new Map<number, (msg: JsonObject) => void>();
  private readonly framer = new JsonFramer();
  onUpdate: ((params: Json[]) => void) | null = null;
  onClose: ((code: string) => void) | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (chunk: Buffer) => {
      try {
        this.framer.feed(chunk, (v) => this.receive(v));
      } catch {
        sock.destroy();
        this.onClose?.('EPROTO');
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => this.onClose?.(err.code ?? 'EIO'));
    sock.on('close', () => this.onClose?.('EOF'));
  }

  static async open(name: string, tlsFiles: TlsFiles): Promise<OvsdbConnection> {
    const sock = await connectSocket(name, tlsFiles);
    return new OvsdbConnection(sock);
  }

  private receive(v: Json): void {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return;
    const msg = v as JsonObject;
    if (typeof msg.method === 'string') {
      if (msg.method === 'echo' && msg.id !== undefined && msg.id !== null) {
        this.sock.write(JSON.stringify({ id: msg.id, result: msg.params ?? [], error: null }));
      } else if (msg.method === 'update' && Array.isArray(msg.params)) {
        this.onUpdate?.(msg.params);
      }
      return;
    }
    if (typeof msg.id === 'number') {
      const cb = this.pending.get(msg.id);
      if (cb) {
        this.pending.delete(msg.id);
        cb(msg);
      }
    }
  }

  /** Sends a request; resolves with the whole reply object ({result} or {error}). */
  request(method: string, params: Json[]): Promise<JsonObject> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.sock.write(JSON.stringify({ method, params, id }));
    });
  }

  close(): void {
    this.onClose = null;
    this.sock.destroy();
  }
}

function connectSocket(name: string, tlsFiles: TlsFiles): Promise<net.Socket> {
  const colon = name.indexOf(':');
  const kind = colon < 0 ? '' : name.slice(0, colon);
  const rest = name.slice(colon + 1);
  return new Promise((resolve, reject) => {
    let sock: net.Socket;
    let event = 'connect';
    if (kind === 'unix') {
      const path = rest.startsWith('/') ? rest : `${rundir()}/${rest}`;
      sock = net.connect({ path });
    } else if (kind === 'tcp' || kind === 'ssl') {
      const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(rest) ?? /^([^:]*)(?::(\d+))?$/.exec(rest);
      const host = m?.[1] ?? rest;
      const port = m?.[2] ? Number(m[2]) : 6640;
      if (kind === 'ssl') {
        event = 'secureConnect';
        import('node:tls')
          .then(async (tls) => {
            const { existsSync, readFileSync } = await import('node:fs');
            const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
            const bootstrapping =
              tlsFiles.bootstrap === true &&
              tlsFiles.caCert !== undefined &&
              !existsSync(tlsFiles.caCert);
            const s = tls.connect({
              host,
              port,
              key: read(tlsFiles.privateKey),
              cert: read(tlsFiles.certificate),
              ca: bootstrapping ? undefined : read(tlsFiles.caCert),
              rejectUnauthorized: tlsFiles.caCert !== undefined && !bootstrapping,
              checkServerIdentity: () => undefined,
            });
            s.once('error', (e: NodeJS.ErrnoException) => reject(tlsError(e)));
            s.once(event, () => {
              if (!bootstrapping) {
                resolve(s);
                return;
              }
              bootstrapCaCert(s, tlsFiles.caCert as string).then(
                () => {
                  s.destroy();
                  reject(new RpcConnectError('EPROTO'));
                },
                (e: unknown) => {
                  s.destroy();
                  reject(e instanceof RpcConnectError ? e : new RpcConnectError('EPROTO'));
                },
              );
            });
          })
          .catch(() => reject(new RpcConnectError('EAFNOSUPPORT')));
        return;
      }
      sock = net.connect({ host, port });
    } else if (kind === 'punix' || kind === 'ptcp') {
      // A passive remote, as OVS allows for --db: wait for the server to connect to us
      // (bounded by --timeout like any other wait), then serve that one connection.
      const server = net.createServer();
      const path = rest.startsWith('/') ? rest : `${rundir()}/${rest}`;
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new RpcConnectError(e.code ?? 'EIO')),
      );
      server.once('connection', (s) => {
        server.close();
        s.setNoDelay(true);
        resolve(s);
      });
      if (kind === 'punix') {
        server.listen(path);
      } else {
        const [port, host] = rest.split(':');
        server.listen(Number(port || 6640), host || undefined);
      }
      return;
    } else {
      reject(new RpcConnectError('EAFNOSUPPORT'));
      return;
    }
    sock.once('error', (e: NodeJS.ErrnoException) => reject(new RpcConnectError(e.code ?? 'EIO')));
    sock.once(event, () => {
      sock.setNoDelay(true);
      resolve(sock);
    });
  });
}
