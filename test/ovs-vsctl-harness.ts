/**
 * Side-by-side runs of our ovs-vsctl and real ovs-vsctl 3.1: each gets its own fresh real
 * ovsdb-server (punix socket in a temp dir, database from the installed vswitch schema,
 * killed by PID afterwards), the same command sequence is run against both, and stdout,
 * stderr, exit status and the resulting database (ovsdb-client dump) are returned with
 * UUIDs and log timestamps normalised so that the two can be compared as strings.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REAL_VSCTL = '/usr/bin/ovs-vsctl';
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const bundles = new Map<string, string>();
/** Bundles src/cli/NAME.ts once per process, as the build does, so tests run current code. */
export function ourCli(name: string): string {
  let bundle = bundles.get(name);
  if (!bundle) {
    const dir = mkdtempSync(join(tmpdir(), `${name}-bundle-`));
    bundle = join(dir, `${name}.mjs`);
    buildSync({
      entryPoints: [join(ROOT, `src/cli/${name}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'error',
      banner: {
        js: "import { createRequire as __tsCreateRequire } from 'node:module'; const require = __tsCreateRequire(import.meta.url);",
      },
    });
    bundles.set(name, bundle);
  }
  return bundle;
}

export function ourVsctl(): string {
  return ourCli('ovs-vsctl');
}

export interface Server {
  dir: string;
  sock: string;
  db: string;
  proc: ChildProcess;
  /** Real ovs-vswitchd --enable-dummy on this database, when asked for. */
  vswitchd?: ChildProcess;
}

/**
 * A fresh database server: real ovsdb-server, or (`server: 'ours'`) TypeSwitch's, on a
 * database created by real ovsdb-tool from the installed schema.
 */
export async function startServer(
  opts: { vswitchd?: boolean; server?: 'real' | 'ours' } = {},
): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'vsctl-e2e-'));
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  const r = spawnSync('/usr/bin/ovsdb-tool', ['create', db, SCHEMA]);
  if (r.status !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr}`);
  const serverArgs = [
    `--remote=punix:${sock}`,
    `--unixctl=${join(dir, 'ctl')}`,
    '--no-chdir',
    '-vconsole:off',
    db,
  ];
  const proc =
    opts.server === 'ours'
      ? spawn(process.execPath, [ourCli('ovsdb-server'), ...serverArgs], {
          stdio: 'ignore',
          env: { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir },
        })
      : spawn('/usr/sbin/ovsdb-server', serverArgs, { stdio: 'ignore' });
  // The socket file appears at bind(), a moment before listen(): probe until a connect works.
  let ready = false;
  for (let i = 0; i < 500 && !ready; i++) {
    if (existsSync(sock)) {
      ready = await new Promise<boolean>((res) => {
        const c = connect(sock);
        c.once('connect', () => {
          c.destroy();
          res(true);
        });
        c.once('error', () => res(false));
      });
    }
    if (!ready) await new Promise((res) => setTimeout(res, 10));
  }
  if (!ready) throw new Error('ovsdb-server did not start listening');
  const server: Server = { dir, sock, db, proc };
  if (opts.vswitchd) {
    spawnSync(REAL_VSCTL, [`--db=unix:${sock}`, '--no-wait', 'init']);
    // In a network namespace of its own: its netdev bridges' TAP devices stay out of the host.
    server.vswitchd = spawn(
      '/usr/bin/unshare',
      [
        '--net',
        '/usr/sbin/ovs-vswitchd',
        '--enable-dummy',
        '--disable-system',
        `unix:${sock}`,
        `--unixctl=${join(dir, 'vswitchd.ctl')}`,
        '--no-chdir',
        '-vconsole:off',
        `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      ],
      {
        stdio: 'ignore',
        env: { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir },
      },
    );
    // Ready once it has written cur_cfg for the initial configuration.
    for (let i = 0; i < 500; i++) {
      const r = spawnSync(REAL_VSCTL, [`--db=unix:${sock}`, 'get', 'open', '.', 'cur_cfg'], {
        encoding: 'utf8',
      });
      if (r.stdout.trim() !== '' && r.stdout.trim() !== '0') break;
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  return server;
}

export function stopServer(s: Server): void {
  if (s.vswitchd?.pid !== undefined && s.vswitchd.exitCode === null) s.vswitchd.kill('SIGTERM');
  if (s.proc.pid !== undefined && s.proc.exitCode === null) s.proc.kill('SIGTERM');
  rmSync(s.dir, { recursive: true, force: true });
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

export function runVsctl(
  which: 'ours' | 'real',
  s: Server,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): RunResult {
  const env = {
    ...process.env,
    OVS_RUNDIR: s.dir,
    OVS_LOGDIR: s.dir,
    OVS_PKGDATADIR: join(ROOT, 'schema'),
    ...extraEnv,
  };
  const cmd = which === 'real' ? REAL_VSCTL : process.execPath;
  const argv = which === 'real' ? [...args] : [ourVsctl(), ...args];
  // argv[0] as a shell gives it when ovs-vsctl is found on PATH (getopt prints it).
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 20000, argv0: 'ovs-vsctl' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

/** Like runVsctl, without blocking the event loop (so scenarios can run side by side). */
export function runVsctlAsync(
  which: 'ours' | 'real',
  s: Server,
  args: readonly string[],
): Promise<RunResult> {
  const env = {
    ...process.env,
    OVS_RUNDIR: s.dir,
    OVS_LOGDIR: s.dir,
    OVS_PKGDATADIR: join(ROOT, 'schema'),
  };
  const cmd = which === 'real' ? REAL_VSCTL : process.execPath;
  const argv = which === 'real' ? [...args] : [ourVsctl(), ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env, argv0: 'ovs-vsctl', timeout: 20000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (status, signal) => resolve({ stdout, stderr, status, signal }));
  });
}

/** `ovsdb-client dump` of the server's database. */
export function dump(s: Server): string {
  const r = spawnSync('/usr/bin/ovsdb-client', ['dump', `unix:${s.sock}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ovsdb-client dump failed: ${r.stderr}`);
  return r.stdout;
}

type J = null | boolean | number | string | J[] | { [k: string]: J };

/**
 * The database as a string that does not depend on the UUIDs the server happened to pick:
 * every row UUID is replaced by a label made from its table and its name-like column (or,
 * for unnamed rows, its other contents), sets are re-sorted, and rows are sorted.
 */
export function canonicalDump(s: Server): string {
  const r = spawnSync('/usr/bin/ovsdb-client', ['dump', '-f', 'json', `unix:${s.sock}`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ovsdb-client dump failed: ${r.stderr}`);
  const tables = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { caption: string; headings: string[]; data: J[][] });
  const labels = new Map<string, string>();
  const strip = (j: J): J => (Array.isArray(j) ? (j[0] === 'uuid' ? '?' : j.map(strip)) : j);
  for (const t of tables) {
    const name = t.caption.replace(/ table$/, '');
    const nameIdx = ['name', 'target', 'id'].map((h) => t.headings.indexOf(h)).find((i) => i >= 0);
    for (const row of t.data) {
      const uuid = (row[0] as J[])[1] as string;
      const key =
        nameIdx !== undefined ? JSON.stringify(row[nameIdx]) : JSON.stringify(strip(row.slice(1)));
      labels.set(uuid, `${name}:${key}`);
    }
  }
  const subst = (j: J): J => {
    if (!Array.isArray(j)) return j;
    if (j[0] === 'uuid' && typeof j[1] === 'string') return ['ref', labels.get(j[1]) ?? 'dangling'];
    if ((j[0] === 'set' || j[0] === 'map') && Array.isArray(j[1])) {
      return [
        j[0],
        (j[1] as J[]).map(subst).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
      ];
    }
    return j.map(subst);
  };
  const out: string[] = [];
  for (const t of tables) {
    out.push(`${t.caption}: ${t.headings.join(' ')}`);
    const rows = t.data.map((row) => JSON.stringify(row.map(subst))).sort();
    out.push(...rows);
  }
  return `${out.join('\n')}\n`;
}

const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Replaces each distinct UUID by <N> in order of first appearance. */
export function normaliseUuids(text: string, map = new Map<string, string>()): string {
  return text.replace(UUID_G, (u) => {
    let n = map.get(u);
    if (!n) {
      n = `<${map.size}>`;
      map.set(u, n);
    }
    return n;
  });
}

/** Log lines start with a wall-clock timestamp. */
export function normaliseLog(text: string): string {
  return text.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIME|');
}

/** One ovs-vsctl call of a scenario: its arguments, or a function of the earlier results. */
export type Step =
  | readonly string[]
  | {
      args: readonly string[] | ((prev: readonly RunResult[]) => readonly string[]);
      /** Output lists rows or children in UUID or hash order: compare it as a sorted multiset. */
      unordered?: boolean;
    };

export interface Transcript {
  steps: { args: readonly string[]; result: RunResult; unordered: boolean }[];
  dump: string;
  sock: string;
}

/**
 * Runs `steps` against a fresh server with the given implementation; "--db" (and "--no-wait"
 * unless `wait`) are prepended to each call.
 */
export async function transcript(
  which: 'ours' | 'real',
  steps: readonly Step[],
  opts: { wait?: boolean; vswitchd?: boolean; server?: 'real' | 'ours' } = {},
): Promise<Transcript> {
  const s = await startServer(opts);
  try {
    const results: RunResult[] = [];
    const out: Transcript['steps'] = [];
    for (const step of steps) {
      const spec = Array.isArray(step)
        ? { args: step as readonly string[] }
        : (step as Exclude<Step, readonly string[]>);
      const args = typeof spec.args === 'function' ? spec.args(results) : spec.args;
      const full = [`--db=unix:${s.sock}`, ...(opts.wait ? [] : ['--no-wait']), ...args];
      const r = await runVsctlAsync(which, s, full);
      results.push(r);
      out.push({ args, result: r, unordered: 'unordered' in spec && spec.unordered === true });
    }
    return { steps: out, dump: canonicalDump(s), sock: s.sock };
  } finally {
    stopServer(s);
  }
}

function normaliseStep(r: RunResult, sock: string, unordered: boolean): string {
  const clean = (t: string): string =>
    normaliseLog(t.replaceAll(sock, '<sock>').replaceAll(dirname(sock), '<dir>'));
  if (unordered) {
    const all = (t: string): string =>
      clean(t).replace(UUID_G, '<uuid>').split('\n').sort().join('\n');
    return `status ${r.status} ${r.signal ?? ''}\n--stdout (sorted)--\n${all(r.stdout)}\n--stderr (sorted)--\n${all(r.stderr)}`;
  }
  const map = new Map<string, string>();
  return `status ${r.status} ${r.signal ?? ''}\n--stdout--\n${normaliseUuids(clean(r.stdout), map)}--stderr--\n${normaliseUuids(clean(r.stderr), map)}`;
}

/** Runs the scenario with both implementations; returns [ours, real] as comparable text. */
export async function compareScenario(
  steps: readonly Step[],
  opts: { wait?: boolean; vswitchd?: boolean } = {},
): Promise<[string, string]> {
  return compareRuns(
    steps,
    { client: 'ours', server: 'real' },
    { client: 'real', server: 'real' },
    opts,
  );
}

export interface Setup {
  client: 'ours' | 'real';
  server: 'ours' | 'real';
}

/** Runs the scenario with two client/server combinations; returns both as comparable text. */
export async function compareRuns(
  steps: readonly Step[],
  left: Setup,
  right: Setup,
  opts: { wait?: boolean; vswitchd?: boolean } = {},
): Promise<[string, string]> {
  const [a, b] = await Promise.all([
    transcript(left.client, steps, { ...opts, server: left.server }),
    transcript(right.client, steps, { ...opts, server: right.server }),
  ]);
  const text = (t: Transcript): string =>
    `${t.steps.map((st) => `$ ovs-vsctl ${st.args.join(' ').replace(UUID_G, '<uuid>')}\n${normaliseStep(st.result, t.sock, st.unordered)}`).join('\n')}\n== database ==\n${t.dump}`;
  return [text(a), text(b)];
}
