/**
 * Traffic for the forwarding bench: trafgen blasting 64-byte UDP frames (60 bytes before the
 * FCS) for a fixed time, receive rates read from the kernel's interface counters, and TCP
 * throughput with iperf3. Every process is bounded in time and killed by its PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from '../../test/netns-harness.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LinkCounters {
  rxPackets: number;
  rxDropped: number;
  txPackets: number;
  txDropped: number;
}

interface IpStats {
  stats64?: {
    rx?: { packets?: number; dropped?: number };
    tx?: { packets?: number; dropped?: number };
  };
}

export function counters(ns: Netns, dev: string): LinkCounters {
  const [j] = JSON.parse(ns.ip('-j', '-s', 'link', 'show', dev)) as IpStats[];
  const s = j?.stats64;
  return {
    rxPackets: s?.rx?.packets ?? 0,
    rxDropped: s?.rx?.dropped ?? 0,
    txPackets: s?.tx?.packets ?? 0,
    txDropped: s?.tx?.dropped ?? 0,
  };
}

/** utime + stime of a process in seconds, or undefined once it is gone. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start past the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** Idle and total jiffies of the whole machine, for its load during a case. */
export function machineCpu(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  return { idle, total: v.reduce((a, b) => a + b, 0) };
}

export interface UdpFlowsSpec {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  /** An address the receiver does not own: it counts the frame, then drops it, answering nothing. */
  dstIp: string;
  /** 1 for one flow; otherwise UDP source ports 1024 .. 1024+flows-1 in turn. */
  flows: number;
}

/** The trafgen configuration: Ethernet + IPv4 + UDP (checksum 0) + 18 bytes = 60 bytes. */
export function trafgenConfig(s: UdpFlowsSpec): string {
  const sport = s.flows === 1 ? '1024' : `dinc(1024, ${1024 + s.flows - 1})`;
  return [
    '{',
    `  eth(da=${s.dstMac}, sa=${s.srcMac}),`,
    `  ipv4(saddr=${s.srcIp}, daddr=${s.dstIp}, ttl=64),`,
    `  udp(sp=${sport}, dp=9, csum=0),`,
    '  fill(0x41, 18)',
    '}',
    '',
  ].join('\n');
}

function children(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number),
    );
  } catch {
    return [];
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = [pid];
  for (let guard = 0; todo.length > 0 && guard < 256; guard++) {
    const p = todo.pop() as number;
    for (const c of children(p)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** Alive and not a zombie: a reaped-late worker must not keep the wait going. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signalIfAlive(pid: number, sig: NodeJS.Signals): void {
  if (!alive(pid)) return;
  try {
    process.kill(pid, sig);
  } catch {
    // Exited in between.
  }
}

/**
 * Three broadcast frames from `mac` out of `dev`, so that the switch learns `mac` behind that
 * port. The receiver's own stack then sees frames for `mac` as another host's (its eth0 is not
 * promiscuous) and drops them at once, so its IP layer (a route lookup per frame) costs no CPU
 * that the switch or the sender would share.
 */
export function announceMac(ns: Netns, dev: string, mac: string, ip: string): void {
  const cfg = `{ eth(da=ff:ff:ff:ff:ff:ff, sa=${mac}), ipv4(saddr=${ip}, daddr=198.18.0.255), udp(sp=9, dp=9, csum=0), fill(0, 18) }`;
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns.name, 'trafgen', '--dev', dev, '--num', '3', '--cpus', '1'].concat([
      '--no-cpu-stats',
      '--notouch-irq',
      '--no-sock-mem',
      cfg,
    ]),
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      timeout: 10_000,
      killSignal: 'SIGKILL',
    },
  );
  if (r.status !== 0) throw new Error(`trafgen announcing ${mac}: ${r.stderr || r.error}`);
}

/** Runs trafgen in `ns` on `dev` until stop() (SIGINT, then SIGKILL if it lingers). */
export class Trafgen {
  private readonly proc: ChildProcess;
  private readonly dir: string;
  private readonly exited: Promise<void>;
  private err = '';

  constructor(ns: Netns, dev: string, spec: UdpFlowsSpec, maxSeconds: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'bench-fwd-trafgen-'));
    const cfg = join(this.dir, 'udp.cfg');
    writeFileSync(cfg, trafgenConfig(spec));
    // One sender process, so that the other core is left to the switch.
    const args = ['netns', 'exec', ns.name, 'trafgen', '--dev', dev, '--conf', cfg];
    args.push('--cpus', '1', '--no-cpu-stats', '--notouch-irq', '--no-sock-mem');
    this.proc = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr?.on('data', (d) => {
      if (this.err.length < 4000) this.err += d;
    });
    this.exited = new Promise((r) => this.proc.on('exit', () => r()));
    Trafgen.live.add(this);
    // Bounded even if the caller never stops it.
    const timer = setTimeout(() => this.kill('SIGKILL'), (maxSeconds + 10) * 1000);
    timer.unref();
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get stderr(): string {
    return this.err;
  }

  private kill(sig: NodeJS.Signals): void {
    if (this.running && this.proc.pid) process.kill(this.proc.pid, sig);
  }

  /**
   * trafgen sends from forked workers, which outlive a parent that gets SIGINT alone (a
   * terminal signals the whole group): each worker is stopped by its own PID too.
   */
  /** Every generator not yet stopped, for a clean-up on interruption. */
  static readonly live = new Set<Trafgen>();

  async stop(): Promise<void> {
    Trafgen.live.delete(this);
    const workers = this.proc.pid ? descendants(this.proc.pid) : [];
    this.kill('SIGINT');
    for (const w of workers) signalIfAlive(w, 'SIGINT');
    const deadline = Date.now() + 3000;
    while ((this.running || workers.some(alive)) && Date.now() < deadline) await sleep(20);
    this.kill('SIGKILL');
    for (const w of workers) signalIfAlive(w, 'SIGKILL');
    await Promise.race([this.exited, sleep(2000)]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** TCP from `client` to `serverIp` for `seconds` with iperf3: bits/s received, or an Error. */
export async function iperf3(
  server: Netns,
  serverIp: string,
  client: Netns,
  seconds: number,
): Promise<number> {
  const srv = spawn('ip', ['netns', 'exec', server.name, 'iperf3', '-s', '-1', '-B', serverIp], {
    stdio: 'ignore',
  });
  try {
    await sleep(300); // the server binds first
    return await new Promise<number>((resolve, reject) => {
      const args = ['netns', 'exec', client.name, 'iperf3', '-c', serverIp];
      args.push('-t', String(seconds), '-J', '--connect-timeout', '3000');
      const c = spawn('ip', args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout?.on('data', (d) => {
        out += d;
      });
      const timer = setTimeout(
        () => c.pid && c.exitCode === null && process.kill(c.pid, 'SIGKILL'),
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
          if (j.error || bps === undefined) reject(new Error(`iperf3: ${j.error ?? 'no summary'}`));
          else resolve(bps);
        } catch {
          reject(new Error(`iperf3 printed: ${out.slice(0, 300)}`));
        }
      });
    });
  } finally {
    if (srv.exitCode === null && srv.signalCode === null && srv.pid)
      process.kill(srv.pid, 'SIGKILL');
  }
}
