/**
 * The seed's first walkthrough on real links: two "hosts" and four "VMs", each a network
 * namespace this harness creates (names carry the test's PID), joined by veth pairs:
 *
 *   vm1 eth0 ── tap0 ┐                      ┌ tap0 ── eth0 vm3
 *                    host1 br0 ─ eth0 ══ eth0 ─ br0 host2
 *   vm2 eth0 ── tap1 ┘        (trunk)       └ tap1 ── eth0 vm4
 *
 * Each host runs a switch (ovsdb-server + ovs-vswitchd, started inside the host's namespace
 * with `ip netns exec`) in a run directory of its own (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR), on a
 * punix socket; the implementation is a parameter: real Open vSwitch 3.1 with the userspace
 * datapath (datapath_type=netdev), or ours (bin/ovsdb-server, bin/ovs-vswitchd, bin/ovs-vsctl).
 * The VMs get 198.18.0.1-4/24. Everything is removed by destroy(): processes by PID, then the
 * namespaces (which takes every veth with them).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type SwitchImpl = 'real' | 'ours';

interface ImplPaths {
  ovsdbTool: string;
  ovsdbServer: string;
  vswitchd: string;
  vsctl: string;
  schema: string;
}

const IMPLS: Record<SwitchImpl, ImplPaths> = {
  real: {
    ovsdbTool: '/usr/bin/ovsdb-tool',
    ovsdbServer: '/usr/sbin/ovsdb-server',
    vswitchd: '/usr/sbin/ovs-vswitchd',
    vsctl: '/usr/bin/ovs-vsctl',
    schema: '/usr/share/openvswitch/vswitch.ovsschema',
  },
  ours: {
    ovsdbTool: join(ROOT, 'bin/ovsdb-tool'),
    ovsdbServer: join(ROOT, 'bin/ovsdb-server'),
    vswitchd: join(ROOT, 'bin/ovs-vswitchd'),
    vsctl: join(ROOT, 'bin/ovs-vsctl'),
    schema: join(ROOT, 'schema/vswitch.ovsschema'),
  },
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], timeout = 20_000): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    timeout,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A network namespace of the harness. */
export class Netns {
  private alive = true;
  constructor(readonly name: string) {
    run('ip', ['netns', 'add', name]);
    try {
      // Keep the kernel's IPv6 chatter off the links: the frames seen are the test's.
      this.exec('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      this.exec('sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
      this.ip('link', 'set', 'lo', 'up');
    } catch (e) {
      this.destroy();
      throw e;
    }
  }
  exec(cmd: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }
  ip(...args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }
  /** Brings `dev` up with transmit checksum offload off (OVS's advice for veth). */
  up(dev: string): void {
    this.ip('link', 'set', dev, 'up');
    try {
      this.exec('ethtool', '-K', dev, 'tx', 'off');
    } catch {
      // Without ethtool only kernel-made TCP/UDP checksums suffer; ping does not.
    }
  }
  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    try {
      run('ip', ['netns', 'del', this.name]);
    } catch {
      // Already gone.
    }
  }
}

/** veth pair: `a` in namespace `na`, `b` in `nb`, both up. */
export function vethBetween(na: Netns, a: string, nb: Netns, b: string): void {
  // Made in the first namespace, then moved: the names may clash with the root namespace's.
  const tmpA = `tsv${process.pid % 100000}a${counter}`;
  const tmpB = `tsv${process.pid % 100000}b${counter++}`;
  run('ip', [
    'link',
    'add',
    tmpA,
    'netns',
    na.name,
    'type',
    'veth',
    'peer',
    'name',
    tmpB,
    'netns',
    nb.name,
  ]);
  na.ip('link', 'set', tmpA, 'name', a);
  nb.ip('link', 'set', tmpB, 'name', b);
  na.up(a);
  nb.up(b);
}
let counter = 0;

/** How a switch's daemons are launched, where the implementation's defaults do not suit. */
export interface SwitchLaunch {
  /** argv of ovsdb-server and ovs-vswitchd before their options (default: the implementation's). */
  ovsdbServer?: string[];
  vswitchd?: string[];
  /** More ovs-vswitchd options. */
  vswitchdArgs?: string[];
  /** Start of the run directory's name (default `seed`). */
  dirPrefix?: string;
}

/**
 * One switch: its run directory, its daemons, and its ovs-vsctl. With a namespace the daemons
 * start inside it; without one (benchmarks on dummy bridges) they start here.
 */
export class SwitchHost {
  readonly dir: string;
  readonly sock: string;
  readonly env: NodeJS.ProcessEnv;
  readonly paths: ImplPaths;
  private procs: ChildProcess[] = [];

  constructor(
    readonly impl: SwitchImpl,
    private readonly netns: Netns | null,
    private readonly launch: SwitchLaunch = {},
  ) {
    this.paths = IMPLS[impl];
    const where = netns ? `-${netns.name}` : '';
    this.dir = mkdtempSync(join(tmpdir(), `${launch.dirPrefix ?? 'seed'}-${impl}${where}-`));
    this.sock = join(this.dir, 'db.sock');
    this.env = {
      ...process.env,
      OVS_RUNDIR: this.dir,
      OVS_DBDIR: this.dir,
      OVS_LOGDIR: this.dir,
    };
  }

  /** Creates the database, starts both daemons (in the host's namespace), waits until ready. */
  async start(): Promise<void> {
    const p = this.paths;
    const db = join(this.dir, 'conf.db');
    const c = spawnSync(p.ovsdbTool, ['create', db, p.schema], { encoding: 'utf8', env: this.env });
    if (c.status !== 0) throw new Error(`${this.impl} ovsdb-tool create: ${c.stderr}`);
    const common = ['--no-chdir', '-vconsole:off', '--pidfile'];
    this.spawnDaemon(this.launch.ovsdbServer ?? [p.ovsdbServer], [
      `--remote=punix:${this.sock}`,
      `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
      ...common,
      db,
    ]);
    await this.waitFor('ovsdb-server socket', () => existsSync(this.sock));
    this.vsctl('--no-wait', 'init');
    this.spawnDaemon(this.launch.vswitchd ?? [p.vswitchd], [
      `--unixctl=${join(this.dir, 'ovs-vswitchd.ctl')}`,
      `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
      ...common,
      ...(this.launch.vswitchdArgs ?? []),
      `unix:${this.sock}`,
    ]);
    // Ready once the switch has written its first configuration back.
    await this.waitFor('ovs-vswitchd first configuration', () => {
      const r = this.vsctlRaw('get', 'Open_vSwitch', '.', 'datapath_types');
      return r.status === 0 && r.stdout.trim() !== '[]' && r.stdout.trim() !== '';
    });
  }

  /** The namespace the daemons run in (a switch started without one has none to give). */
  get ns(): Netns {
    if (!this.netns) throw new Error(`${this.impl} switch runs in no namespace`);
    return this.netns;
  }

  private spawnDaemon(argv: string[], args: string[]): void {
    // `ip netns exec` execs the command in place: the child's PID is the daemon's.
    const full = this.netns ? ['ip', 'netns', 'exec', this.netns.name, ...argv] : argv;
    const cmd = argv.join(' ');
    const child = spawn(full[0] as string, [...full.slice(1), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: this.env,
      cwd: this.dir,
    });
    let err = '';
    child.stderr?.on('data', (d) => {
      if (err.length < 10_000) err += d;
    });
    child.on('exit', (code, sig) => {
      if (code !== 0 && sig === null) this.exitNotes.push(`${cmd} exited ${code}: ${err}`);
    });
    this.procs.push(child);
  }
  readonly exitNotes: string[] = [];

  private async waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.exitNotes.length) throw new Error(`${this.impl}: ${this.exitNotes.join('; ')}`);
      if (Date.now() > deadline) throw new Error(`${this.impl}: timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  vsctlRaw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(this.paths.vsctl, [`--db=unix:${this.sock}`, '--timeout=20', ...args], {
      encoding: 'utf8',
      env: this.env,
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  vsctl(...args: string[]): string {
    const r = this.vsctlRaw(...args);
    if (r.status !== 0) throw new Error(`${this.impl} ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Real ovs-appctl on the switch's control socket (it talks to both implementations). */
  appctl(...args: string[]): string {
    const ctl = join(this.dir, 'ovs-vswitchd.ctl');
    const r = spawnSync('/usr/bin/ovs-appctl', ['--timeout=10', '-t', ctl, ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (r.status !== 0) throw new Error(`${this.impl} ovs-appctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** The switch's log, for failure messages. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'ovs-vswitchd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM to each daemon by PID, then SIGKILL to what is left after a bounded wait. */
  async stop(): Promise<void> {
    const live = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
    for (const c of [...this.procs].reverse()) if (live(c) && c.pid) process.kill(c.pid, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (this.procs.some(live) && Date.now() < deadline) await sleep(20);
    for (const c of this.procs) if (live(c) && c.pid) process.kill(c.pid, 'SIGKILL');
    this.procs = [];
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Vm {
  name: string;
  ns: Netns;
  ip: string;
  vlan: number;
  host: number;
}

export interface SeedNetwork {
  hosts: [SwitchHost, SwitchHost];
  vms: Vm[];
  namespaces: Netns[];
}

let networks = 0;

/**
 * Builds the topology and configures each host as the seed says:
 *   ovs-vsctl add-br br0; add-port br0 eth0; add-port br0 tap0 tag=1; add-port br0 tap1 tag=2
 * (with datapath_type=netdev: there is no kernel datapath here).
 */
export async function startSeedNetwork(impls: [SwitchImpl, SwitchImpl]): Promise<SeedNetwork> {
  const namespaces: Netns[] = [];
  const hosts: SwitchHost[] = [];
  const net: SeedNetwork = {
    hosts: hosts as unknown as [SwitchHost, SwitchHost],
    vms: [],
    namespaces,
  };
  // Unique per network: a failed clean-up of one cannot get in the next one's way.
  const prefix = `tsseed${process.pid}n${networks++}`;
  try {
    const h1 = new Netns(`${prefix}-h1`);
    namespaces.push(h1);
    const h2 = new Netns(`${prefix}-h2`);
    namespaces.push(h2);
    vethBetween(h1, 'eth0', h2, 'eth0');
    const vmDefs: [number, Netns, string, number][] = [
      [1, h1, 'tap0', 1],
      [2, h1, 'tap1', 2],
      [3, h2, 'tap0', 1],
      [4, h2, 'tap1', 2],
    ];
    for (const [n, host, tap, vlan] of vmDefs) {
      const ns = new Netns(`${prefix}-vm${n}`);
      namespaces.push(ns);
      vethBetween(host, tap, ns, 'eth0');
      const ip = `198.18.0.${n}`;
      ns.ip('addr', 'add', `${ip}/24`, 'dev', 'eth0');
      net.vms.push({ name: `vm${n}`, ns, ip, vlan, host: host === h1 ? 1 : 2 });
    }
    for (const [i, host] of [h1, h2].entries()) {
      const sw = new SwitchHost(impls[i], host);
      hosts.push(sw);
      await sw.start();
      sw.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
      sw.vsctl('add-port', 'br0', 'eth0');
      sw.vsctl('add-port', 'br0', 'tap0', 'tag=1');
      sw.vsctl('add-port', 'br0', 'tap1', 'tag=2');
    }
  } catch (e) {
    await destroySeedNetwork(net);
    throw e;
  }
  return net;
}

export async function destroySeedNetwork(net: SeedNetwork): Promise<void> {
  for (const h of net.hosts) await h.stop();
  for (const ns of net.namespaces) ns.destroy();
  for (const h of net.hosts) h.removeDir();
}

/** One ping (bounded by `waitS`), true when answered. */
export function ping(from: Netns, ip: string, waitS = 1): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(
      'ip',
      ['netns', 'exec', from.name, 'ping', '-c', '1', '-W', String(waitS), '-n', '-q', ip],
      {
        stdio: 'ignore',
      },
    );
    const timer = setTimeout(() => p.pid && process.kill(p.pid, 'SIGKILL'), (waitS + 5) * 1000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** Pings until answered, at most `tries` times (the first may wait for learning and ARP). */
export async function pingUntil(from: Netns, ip: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) if (await ping(from, ip)) return true;
  return false;
}

/**
 * Captures on `dev` in `ns` with tshark while `during` runs, and returns the 802.1Q VLAN IDs
 * of the frames seen (outer tag first for each frame).
 */
export async function captureVlanIds(
  ns: Netns,
  dev: string,
  during: () => Promise<void>,
): Promise<{ vlans: Set<number>; lines: string[] }> {
  const ts = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'tshark',
      '-l',
      '-n',
      '-i',
      dev,
      '-f',
      'vlan',
      '-T',
      'fields',
      '-e',
      'vlan.id',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  ts.stdout.on('data', (d) => {
    out += d;
  });
  ts.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((r) => ts.on('exit', () => r()));
  try {
    const deadline = Date.now() + 20_000;
    while (!err.includes('Capturing on')) {
      if (ts.exitCode !== null) throw new Error(`tshark exited: ${err}`);
      if (Date.now() > deadline) throw new Error(`tshark did not start: ${err}`);
      await sleep(20);
    }
    await sleep(300); // the capture filter goes on just after the banner
    await during();
    await sleep(300);
  } finally {
    if (ts.exitCode === null && ts.pid) process.kill(ts.pid, 'SIGINT');
    await Promise.race([exited, sleep(5000)]);
    if (ts.exitCode === null && ts.signalCode === null && ts.pid) process.kill(ts.pid, 'SIGKILL');
  }
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const vlans = new Set<number>();
  for (const l of lines) {
    const first = Number.parseInt(l.split(',')[0], 10);
    if (Number.isFinite(first)) vlans.add(first);
  }
  return { vlans, lines };
}

/**
 * TCP throughput from `client` to `server` with iperf3 for `seconds` (bounded): bits per
 * second received, as iperf3's JSON summary says, or an Error with what iperf3 printed.
 */
export async function iperf3(server: Vm, client: Vm, seconds = 2): Promise<number> {
  const srv = spawn(
    'ip',
    ['netns', 'exec', server.ns.name, 'iperf3', '-s', '-1', '-B', server.ip, '-p', '5201'],
    { stdio: 'ignore' },
  );
  try {
    await sleep(300); // the server binds first
    return await new Promise<number>((resolve, reject) => {
      const args = ['netns', 'exec', client.ns.name, 'iperf3', '-c', server.ip, '-p', '5201'];
      args.push('-t', String(seconds), '-J', '--connect-timeout', '3000');
      const c = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => {
        out += d;
      });
      const timer = setTimeout(
        () => c.pid && process.kill(c.pid, 'SIGKILL'),
        (seconds + 10) * 1000,
      );
      c.on('exit', () => {
        clearTimeout(timer);
        try {
          const j = JSON.parse(out) as {
            error?: string;
            end?: { sum_received?: { bits_per_second?: number } };
          };
          const bps = j.end?.sum_received?.bits_per_second;
          if (j.error || bps === undefined)
            reject(new Error(`iperf3: ${j.error ?? out.slice(0, 500)}`));
          else resolve(bps);
        } catch {
          reject(new Error(`iperf3 printed: ${out.slice(0, 500)}`));
        }
      });
    });
  } finally {
    if (srv.exitCode === null && srv.signalCode === null && srv.pid)
      process.kill(srv.pid, 'SIGKILL');
  }
}
