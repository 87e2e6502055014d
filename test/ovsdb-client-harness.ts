/**
 * Starts real ovsdb-server (the reference peer) on a punix: socket in a fresh temp directory
 * with a vswitch database, for the client tests. Killed by PID in stop().
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OVSDB_SERVER = '/usr/sbin/ovsdb-server';
export const OVSDB_TOOL = '/usr/bin/ovsdb-tool';
export const OVSDB_CLIENT = '/usr/bin/ovsdb-client';
export const OVS_VSCTL = '/usr/bin/ovs-vsctl';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const OVS_PKI = '/usr/bin/ovs-pki';

export interface SslFiles {
  privateKey: string;
  certificate: string;
  caCert: string;
}

export interface RealServer {
  dir: string;
  sock: string;
  remote: string;
  /** `ssl:127.0.0.1:PORT` when started with `ssl`. */
  sslRemote?: string;
  db: string;
  stop(): Promise<void>;
  /** Stops the server (keeping its database file) and starts it again on the same socket. */
  restart(): Promise<void>;
  /** Removes the temp directory (after stop). */
  cleanup(): Promise<void>;
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ovsdb-server');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * `clustered` makes a one-server Raft cluster (the only storage for which real ovsdb-server
 * keeps a transaction history, so monitor_cond_since can resume).
 */
export async function startRealServer(
  opts: { clustered?: boolean; ssl?: SslFiles } = {},
): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-client-'));
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  if (opts.clustered) {
    // (It warns on stderr that clusters make ephemeral columns persistent.)
    execFileSync(
      OVSDB_TOOL,
      ['create-cluster', db, VSWITCH_SCHEMA, `unix:${join(dir, 'raft.sock')}`],
      {
        stdio: 'ignore',
      },
    );
  } else {
    execFileSync(OVSDB_TOOL, ['create', db, VSWITCH_SCHEMA]);
  }
  let child: ChildProcess | null = null;
  const sslPort = opts.ssl ? await freePort() : 0;
  const sslArgs = opts.ssl
    ? [
        `--remote=pssl:${sslPort}:127.0.0.1`,
        `--private-key=${opts.ssl.privateKey}`,
        `--certificate=${opts.ssl.certificate}`,
        `--ca-cert=${opts.ssl.caCert}`,
      ]
    : [];
  const start = async (): Promise<void> => {
    rmSync(sock, { force: true });
    child = spawn(
      OVSDB_SERVER,
      [
        ...sslArgs,
        `--remote=punix:${sock}`,
        `--unixctl=${join(dir, 'ctl')}`,
        '--no-chdir',
        '-vconsole:off',
        `--log-file=${join(dir, 'log')}`,
        db,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => existsSync(sock), 5000);
  };
  const stop = async (): Promise<void> => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
    child = null;
  };
  await start();
  if (opts.ssl) await waitForPort(sslPort, 5000);
  return {
    dir,
    sock,
    remote: `unix:${sock}`,
    ...(opts.ssl ? { sslRemote: `ssl:127.0.0.1:${sslPort}` } : {}),
    db,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    cleanup: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not listening`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Makes a CA and two signed certificates with real ovs-pki (OVS's own PKI tool). */
export function makePki(dir: string): { server: SslFiles; client: SslFiles } {
  const pki = join(dir, 'pki');
  const run = (...args: string[]): void => {
    execFileSync(OVS_PKI, [`--dir=${pki}`, `--log=${join(dir, 'pki.log')}`, ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  };
  run('init');
  run('req+sign', 'srv', 'switch');
  run('req+sign', 'cli', 'switch');
  const ca = join(pki, 'switchca', 'cacert.pem');
  const files = (n: string): SslFiles => ({
    privateKey: join(dir, `${n}-privkey.pem`),
    certificate: join(dir, `${n}-cert.pem`),
    caCert: ca,
  });
  return { server: files('srv'), client: files('cli') };
}

/** Runs ovs-vsctl --no-wait against the server (to change the database from outside). */
export function vsctl(server: RealServer, ...args: string[]): string {
  return execFileSync(OVS_VSCTL, [`--db=${server.remote}`, '--no-wait', '--timeout=5', ...args], {
    encoding: 'utf8',
  });
}
