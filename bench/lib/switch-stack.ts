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
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchHost } from '../../test/netns-harness.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.BENCH_DIST ?? join(ROOT, 'dist', 'cli');

export type StackKind = 'ours' | 'real';

export const STACK_LABEL: Record<StackKind, string> = { ours: 'TypeSwitch', real: 'OVS 3.1' };

/** argv[0..] for one of TypeSwitch's tools, bundled. */
export function ourTool(name: string): string[] {
  return [process.execPath, join(DIST, `${name}.js`)];
}

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
  private constructor(
    readonly kind: StackKind,
    private readonly host: SwitchHost,
  ) {}

  get dir(): string {
    return this.host.dir;
  }
  get sock(): string {
    return this.host.sock;
  }
  get env(): NodeJS.ProcessEnv {
    return this.host.env;
  }

  /** Starts both daemons and waits until the switch has written its first configuration. */
  static async start(kind: StackKind, opts: StackOptions = {}): Promise<SwitchStack> {
    const host = new SwitchHost(kind, null, {
      dirPrefix: 'bench',
      ovsdbServer: kind === 'real' ? ['/usr/sbin/ovsdb-server'] : ourTool('ovsdb-server'),
      vswitchd:
        kind === 'real'
          ? ['/usr/sbin/ovs-vswitchd']
          : [process.execPath, ...(opts.nodeArgs ?? []), join(DIST, 'ovs-vswitchd.js')],
      vswitchdArgs: ['--enable-dummy', '--disable-system', ...(opts.vswitchdArgs ?? [])],
    });
    const s = new SwitchStack(kind, host);
    try {
      await host.start();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
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
    // A longer timeout than the tests': commands over 100,000 flows take a while.
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
    return this.host.log();
  }

  /** SIGTERM to each daemon by PID, SIGKILL after a bounded wait; removes the directory. */
  async stop(): Promise<void> {
    await this.host.stop();
    this.host.removeDir();
  }
}
