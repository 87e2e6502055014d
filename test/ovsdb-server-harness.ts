/**
 * Shared set-up for the ovsdb-server end-to-end tests: builds the CLI bundle once per test
 * file, creates database files with real ovsdb-tool, starts our ovsdb-server on a unix socket
 * in a temporary directory and stops it by PID.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OVSDB_SERVER = join(ROOT, 'bin', 'ovsdb-server');
export const VSWITCH_SCHEMA = join(ROOT, 'schema', 'vswitch.ovsschema');
export const REAL_VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestSource(p) : st.mtimeMs);
  }
  return newest;
}

let built = false;
/**
 * Builds dist/ once per test file, unless the bundle is already newer than every source file
 * (npm test builds first; test files running in parallel then don't rebuild under each other).
 */
export function ensureBuilt(): void {
  if (built) return;
  const bundle = join(ROOT, 'dist', 'cli', 'ovsdb-server.js');
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource(join(ROOT, 'src'))) {
    built = true;
    return;
  }
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0 && !existsSync(join(ROOT, 'dist', 'cli', 'ovsdb-server.js'))) {
    throw new Error(`build failed: ${r.stderr}`);
  }
  built = true;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by a timeout), capturing its output. */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, env: opts.env ?? process.env, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code: unknown = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : err ? 1 : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** The schema for new database files: ours if present, else real OVS's. */
export function vswitchSchema(): string {
  return existsSync(VSWITCH_SCHEMA) ? VSWITCH_SCHEMA : REAL_VSWITCH_SCHEMA;
}

export function makeTempDir(prefix = 'ovsdb-server-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function createDb(path: string, schema = vswitchSchema()): Promise<void> {
  const r = await run('/usr/bin/ovsdb-tool', ['create', path, schema]);
  if (r.code !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr}`);
}

export interface ServerProcess {
  proc: ChildProcess;
  sock: string;
  ctl: string;
  stderr(): string;
  /** Stops it (SIGTERM, then SIGKILL after a grace period) and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function waitFor(
  cond: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts our ovsdb-server on `dir/db.sock` with control socket `dir/ctl`. */
export async function startServer(
  dir: string,
  dbs: string[],
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  const sock = join(dir, 'db.sock');
  const ctl = join(dir, 'ctl');
  rmSync(sock, { force: true });
  rmSync(ctl, { force: true });
  const proc = spawn(
    process.execPath,
    [OVSDB_SERVER, ...dbs, `--remote=punix:${sock}`, `--unixctl=${ctl}`, '-vconsole:off', ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, ...env },
    },
  );
  let err = '';
  proc.stderr?.on('data', (d) => {
    err += String(d);
  });
  proc.stdout?.resume();
  let exited = false;
  proc.on('exit', () => {
    exited = true;
  });
  await waitFor(() => exited || (existsSync(sock) && existsSync(ctl)), 15_000, 'server sockets');
  if (exited) throw new Error(`ovsdb-server exited: ${err}`);
  return {
    proc,
    sock,
    ctl,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (exited) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await waitFor(() => exited, 10_000, 'server exit');
      clearTimeout(t);
    },
  };
}
