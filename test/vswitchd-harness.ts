/**
 * A database server and an ovs-vswitchd in a temp dir (their OVS_RUNDIR), driven by the real
 * ovs-vsctl and ovs-appctl 3.1. The switch is ours (run from source) or real
 * /usr/sbin/ovs-vswitchd, so the same sequence can be run against both and compared. Every
 * process is killed by its PID in stopStack; the directory is removed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const UNSHARE = '/usr/bin/unshare';

export interface Stack {
  dir: string;
  sock: string;
  env: NodeJS.ProcessEnv;
  ovsdb: ChildProcess;
  vswitchd: ChildProcess;
  which: 'ours' | 'real';
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(path: string, proc: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with status ${proc.exitCode}`);
    if (existsSync(path)) {
      const ok = await new Promise<boolean>((res) => {
        const c = connect(path);
        c.once('connect', () => {
          c.destroy();
          res(true);
        });
        c.once('error', () => res(false));
      });
      if (ok) return;
    }
    await sleep(10);
  }
  throw new Error(`${what} did not start listening on ${path}`);
}

export function vsctl(s: Stack, args: string[]): RunResult {
  const r = spawnSync('/usr/bin/ovs-vsctl', [`--db=unix:${s.sock}`, '--timeout=10', ...args], {
    encoding: 'utf8',
    env: s.env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `ovs-appctl -t ovs-vswitchd ...`: found through the pidfile in OVS_RUNDIR, as OVS's tests do. */
export function appctl(s: Stack, args: string[]): RunResult {
  const r = spawnSync('/usr/bin/ovs-appctl', ['--timeout=10', '-t', 'ovs-vswitchd', ...args], {
    encoding: 'utf8',
    env: s.env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface StackOptions {
  which: 'ours' | 'real';
  /** ovs-vswitchd's dummy option; default `--enable-dummy`. */
  dummy?: string;
  /** Our ovsdb-server (default) or the real one (TYPESWITCH_TEST_REAL_OVSDB=1 forces it). */
  ovsdb?: 'ours' | 'real';
  /**
   * Run the switch in a network namespace of its own (default). Off for tests whose switch
   * must reach a peer on the host's loopback (a controller), with dummy bridges only.
   */
  ownNetns?: boolean;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `vswitchd-${opts.which}-`));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  const c = spawnSync('/usr/bin/ovsdb-tool', ['create', db, SCHEMA], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`ovsdb-tool create: ${c.stderr}`);
  const realDb = opts.ovsdb === 'real' || process.env.TYPESWITCH_TEST_REAL_OVSDB === '1';
  const dbArgs = [`--remote=punix:${sock}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, '--no-chdir'];
  const ovsdb = realDb
    ? spawn('/usr/sbin/ovsdb-server', [...dbArgs, '-vconsole:off', db], { stdio: 'ignore', env })
    : spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli/ovsdb-server.ts'), ...dbArgs, '-vconsole:off', db],
        { stdio: 'ignore', env, cwd: ROOT },
      );
  const stack: Stack = { dir, sock, env, ovsdb, vswitchd: ovsdb, which: opts.which };
  try {
    await waitForSocket(sock, ovsdb, 'ovsdb-server');
    const init = vsctl(stack, ['--no-wait', 'init']);
    if (init.status !== 0) throw new Error(`ovs-vsctl init: ${init.stderr}`);
    await startVswitchd(stack, opts);
  } catch (e) {
    stopStack(stack);
    throw e;
  }
  return stack;
}

/** Starts the switch on the stack's database and waits until it has configured itself. */
export async function startVswitchd(stack: Stack, opts: StackOptions): Promise<void> {
  const { dir, sock, env } = stack;
  stack.which = opts.which;
  const swArgs = [
    opts.dummy ?? '--enable-dummy',
    '--disable-system',
    '--pidfile',
    '--no-chdir',
    '-vconsole:off',
    `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
    `unix:${sock}`,
  ];
  // Each switch runs in a network namespace of its own (unshare execs, so the PID is the
  // switch's): the TAP devices of its netdev bridges never meet another test's or the host's.
  const wrap = opts.ownNetns === false ? [] : [UNSHARE, '--net'];
  const cmd =
    opts.which === 'real'
      ? [...wrap, '/usr/sbin/ovs-vswitchd', ...swArgs]
      : [
          ...wrap,
          process.execPath,
          '--import',
          'tsx',
          join(ROOT, 'src/cli/ovs-vswitchd.ts'),
          ...swArgs,
        ];
  stack.vswitchd = spawn(cmd[0] as string, cmd.slice(1), {
    stdio: opts.which === 'real' ? 'ignore' : ['ignore', 'ignore', 'pipe'],
    env,
    cwd: ROOT,
  });
  // Ready once the first configuration has been written back.
  for (let i = 0; ; i++) {
    if (stack.vswitchd.exitCode !== null)
      throw new Error(`ovs-vswitchd exited with status ${stack.vswitchd.exitCode}`);
    const r = vsctl(stack, ['get', 'Open_vSwitch', '.', 'datapath_types']);
    if (r.stdout.trim() !== '[]' && r.stdout.trim() !== '') break;
    if (i > 300) throw new Error('ovs-vswitchd did not write its first configuration');
    await sleep(20);
  }
  // And its control socket answers (the pidfile is written before it).
  for (let i = 0; appctl(stack, ['version']).status !== 0; i++) {
    if (i > 200) throw new Error('ovs-vswitchd control socket not answering');
    await sleep(20);
  }
}

/** Stops the switch (SIGTERM to its PID) and waits for it to exit. */
export async function stopVswitchd(stack: Stack): Promise<void> {
  const p = stack.vswitchd;
  if (p === stack.ovsdb || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
}

export function stopStack(s: Stack): void {
  for (const p of [s.vswitchd, s.ovsdb]) {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** Rows of a table as name -> column -> value text (`ovs-vsctl --format=json list`). */
export function listByName(
  s: Stack,
  table: string,
  columns: string[],
): Map<string, Map<string, string>> {
  const r = vsctl(s, [
    '--format=csv',
    '--data=bare',
    '--no-headings',
    `--columns=name,${columns.join(',')}`,
    'list',
    table,
  ]);
  if (r.status !== 0) throw new Error(`list ${table}: ${r.stderr}`);
  const out = new Map<string, Map<string, string>>();
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const cells = parseCsvLine(line);
    const m = new Map(columns.map((c, i) => [c, cells[i + 1] ?? '']));
    out.set(cells[0] ?? '', m);
  }
  return out;
}

function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/**
 * ovs-vsctl arguments (each command after a `--`) that add a dummy bridge and a dummy port
 * `p<N>` on OpenFlow port N for each of `ports`.
 */
export function dummyBridge(bridge: string, ports: readonly number[] = []): string[] {
  const args = ['--', 'add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=dummy'];
  for (const n of ports) {
    args.push('--', 'add-port', bridge, `p${n}`, '--', 'set', 'interface', `p${n}`);
    args.push('type=dummy', `ofport_request=${n}`);
  }
  return args;
}

/**
 * For a describe(): runs `scenario` once on a real ovs-vswitchd stack and once on ours, in the
 * suite's before(), handing each result to `seen`; both stacks stop in its after().
 */
export function sideBySide<T>(
  scenario: (s: Stack) => T | Promise<T>,
  seen: (which: 'real' | 'ours', result: T) => void,
): void {
  const stacks: Stack[] = [];
  before(async () => {
    for (const which of ['real', 'ours'] as const) {
      const s = await startStack({ which });
      stacks.push(s);
      seen(which, await scenario(s));
    }
  });
  after(() => {
    for (const s of stacks) stopStack(s);
  });
}
