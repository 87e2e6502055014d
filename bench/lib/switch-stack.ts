/**
 * One switch for a benchmark, without network namespaces: a database server and an
 * ovs-vswitchd with `--enable-dummy` in a temporary run directory (OVS_RUNDIR, OVS_DBDIR,
 * OVS_LOGDIR, pidfiles and the bridges' `.mgmt` sockets all inside it), either real Open
 * vSwitch 3.1 or TypeSwitch's bundled daemons. Bridges use `datapath_type=dummy`: no device is
 * created on the host. Both daemons are stopped by their PIDs; the directory is removed.
 *
 * TypeSwitch's daemons run from `dist/cli` (what `npm run bench` builds) or from the folder in
 * `BENCH_DIST` (a bundle of the same entry points, e.g. built elsewhere to leave dist alone).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.BENCH_DIST ?? join(ROOT, 'dist', 'cli');

export type StackKind = 'ours' | 'real';

export const STACK_LABEL: Record<StackKind, string> = { ours: 'TypeSwitch', real: 'OVS 3.1' };

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** argv[0..] for one of TypeSwitch's tools, bundled. */
export function ourTool(name: string): string[] {
  return [process.execPath, join(DIST, `${name}.js`)];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RunOut {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds. */
  ms: number;
}

export interface StackOptions {
  /** More ovs-vswitchd options. */
  vswitchdArgs?: string[];
  /** Node options for our ovs-vswitchd (e.g. `--cpu-prof`); ignored for real OVS. */
  nodeArgs?: string[];
}

export class SwitchStack {
  readonly dir: string;
  readonly sock: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly procs: ChildProcess[] = [];
  private readonly notes: string[] = [];

  private constructor(readonly kind: StackKind) {
    this.dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
    this.sock = join(this.dir, 'db.sock');
    this.env = { ...process.env, OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir };
  }

  /** Starts both daemons and waits until the switch has written its first configuration. */
  static async start(kind: StackKind, opts: StackOptions = {}): Promise<SwitchStack> {
    const s = new SwitchStack(kind);
    try {
      await s.boot(opts);
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async boot(opts: StackOptions): Promise<void> {
    const db = join(this.dir, 'conf.db');
    const c = spawnSync('/usr/bin/ovsdb-tool', ['create', db, SCHEMA], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`ovsdb-tool create: ${c.stderr}`);
    const common = ['--no-chdir', '-vconsole:off', '--pidfile'];
    const server = this.kind === 'real' ? ['/usr/sbin/ovsdb-server'] : ourTool('ovsdb-server');
    this.spawn(server, [
      `--remote=punix:${this.sock}`,
      `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
      ...common,
      db,
    ]);
    await this.waitFor('ovsdb-server socket', () => existsSync(this.sock));
    this.vsctl('--no-wait', 'init');
    const vswitchd =
      this.kind === 'real'
        ? ['/usr/sbin/ovs-vswitchd']
        : [process.execPath, ...(opts.nodeArgs ?? []), join(DIST, 'ovs-vswitchd.js')];
    this.spawn(vswitchd, [
      '--enable-dummy',
      '--disable-system',
      `--unixctl=${join(this.dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
      ...common,
      ...(opts.vswitchdArgs ?? []),
      `unix:${this.sock}`,
    ]);
    await this.waitFor('ovs-vswitchd first configuration', () => {
      const r = this.vsctlRaw('get', 'Open_vSwitch', '.', 'datapath_types');
      return r.status === 0 && r.stdout.trim() !== '[]' && r.stdout.trim() !== '';
    });
  }

  private spawn(argv: string[], args: string[]): void {
    const child = spawn(argv[0] as string, [...argv.slice(1), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: this.env,
      cwd: this.dir,
    });
    let err = '';
    child.stderr?.on('data', (d) => {
      if (err.length < 10_000) err += d;
    });
    child.on('exit', (code, sig) => {
      if (code !== 0 && sig === null) this.notes.push(`${argv.join(' ')} exited ${code}: ${err}`);
    });
    this.procs.push(child);
  }

  private async waitFor(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.notes.length) throw new Error(`${this.kind}: ${this.notes.join('; ')}`);
      if (Date.now() > deadline) throw new Error(`${this.kind}: timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  /** The ovs-vswitchd process ID (for CPU accounting and profiles). */
  get vswitchdPid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'ovs-vswitchd.pid'), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  /** `unix:<rundir>/<bridge>.mgmt`, the OpenFlow management socket ovs-ofctl uses. */
  mgmt(bridge: string): string {
    return `unix:${join(this.dir, `${bridge}.mgmt`)}`;
  }

  vsctlRaw(...args: string[]): RunOut {
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/ovs-vsctl', [`--db=unix:${this.sock}`, '--timeout=20', ...args], {
      encoding: 'utf8',
      env: this.env,
      timeout: 30_000,
    });
    return {
      status: r.status,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      ms: performance.now() - t0,
    };
  }

  vsctl(...args: string[]): string {
    const r = this.vsctlRaw(...args);
    if (r.status !== 0) throw new Error(`${this.kind} ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Real ovs-appctl on the switch's control socket. */
  appctl(...args: string[]): string {
    const r = spawnSync(
      '/usr/bin/ovs-appctl',
      ['--timeout=20', '-t', join(this.dir, 'ovs-vswitchd.ctl'), ...args],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`${this.kind} ovs-appctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** The switch's log (for failure messages). */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'ovs-vswitchd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM to each daemon by PID, SIGKILL after a bounded wait; removes the directory. */
  async stop(): Promise<void> {
    const live = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
    for (const c of [...this.procs].reverse()) if (live(c) && c.pid) process.kill(c.pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (this.procs.some(live) && Date.now() < deadline) await sleep(20);
    for (const c of this.procs) if (live(c) && c.pid) process.kill(c.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
