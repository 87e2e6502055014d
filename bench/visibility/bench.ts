/**
 * bench/visibility: what sFlow and NetFlow cost the forwarding rate, TypeSwitch beside real Open
 * vSwitch 3.1 (userspace datapath) in one run, on bench/forwarding's topology (one switch
 * namespace between a sender and a receiver on veth links; topology.ts and traffic.ts are
 * imported from there):
 *
 *   off       neither configured (each switch's own baseline)
 *   sflow     an sFlow row on br0: sampling=64, polling=10, agent and target 127.0.0.1
 *   netflow   a NetFlow row on br0: target 127.0.0.1, active_timeout left at its default
 *
 * The collector (collector.mjs) listens on 127.0.0.1 inside the switch namespace and counts
 * what arrives, as a check that sampling and export really ran. Traffic is trafgen's 64-byte
 * UDP frames (one flow, or 10,000), rate read from the receiver's rx_packets over a window.
 * Modes change live on the same switches; kinds take turns mode by mode, `--rounds` times.
 *
 * Usage: node --import tsx bench/visibility/bench.ts [--quick] [--json] [--rounds N]
 *          [--kinds ours,real] [--cases udp-1,udp-10k]
 *   BENCH_VIS_PERF=<dir>: `perf record -g` of each ovs-vswitchd over each window, to
 *   <dir>/<kind>-<mode>-<flows>.data (ours with --perf-basic-prof, so JIT frames are named).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RX_IP, type SwitchKind, Topology, TX_IP } from '../forwarding/topology.ts';
import {
  announceMac,
  counters,
  cpuSeconds,
  machineCpu,
  sleep,
  Trafgen,
} from '../forwarding/traffic.ts';

if (process.getuid?.() !== 0) {
  console.error('bench/visibility: needs root (network namespaces); skipped');
  process.exit(0);
}

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const KINDS = (opt('--kinds') ?? 'ours,real').split(',') as Exclude<SwitchKind, 'linux'>[];
const CASES = (opt('--cases') ?? 'udp-1,udp-10k').split(',');
const ROUNDS = Number(opt('--rounds') ?? (quick ? 1 : 2));
const WARM_S = quick ? 1 : 1.5;
const MEASURE_S = quick ? 2 : 3;
const MODES = ['off', 'sflow', 'netflow'] as const;
type Mode = (typeof MODES)[number];
const perfDir = process.env.BENCH_VIS_PERF;
const SFLOW_PORT = 6343;
const NETFLOW_PORT = 2055;
const SINK_IP = '198.18.0.200';
const SINK_MAC = '02:18:00:00:00:c8';
const LABEL = { ours: 'TypeSwitch', real: 'OVS 3.1 netdev' };

interface Sample {
  mode: Mode;
  flows: number;
  rxPps: number;
  switchCpu?: number;
  machineBusy: number;
  /** sFlow flow samples that reached the collector during the measured window. */
  flowSamples: number;
  /** Datapath lookups that missed (upcalls) during the window, per second (dpctl/show): not
   * 0 while the flows of a case are still being set up. */
  missPps?: number;
}

/** The datapath's "missed" lookup count (dpctl/show, either implementation). */
function dpMissed(t: Topology): number | undefined {
  try {
    const m = /lookups: hit:\d+ missed:(\d+)/.exec(t.host?.appctl('dpctl/show') ?? '');
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface CollectorCounts {
  sflow: { datagrams: number; flowSamples: number; counterSamples: number; bad: number };
  netflow: { datagrams: number; records: number; packets: number; bad: number };
}

/** The collector in the switch's namespace, for the whole run; `latest` are its totals. */
class Collector {
  private readonly proc: ChildProcess;
  private out = '';
  private readonly exited: Promise<void>;
  latest: CollectorCounts = {
    sflow: { datagrams: 0, flowSamples: 0, counterSamples: 0, bad: 0 },
    netflow: { datagrams: 0, records: 0, packets: 0, bad: 0 },
  };

  constructor(ns: string, maxSeconds: number) {
    this.proc = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, join(here, 'collector.mjs')].concat(
        [SFLOW_PORT, NETFLOW_PORT, maxSeconds].map(String),
      ),
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    this.proc.stdout?.on('data', (d) => {
      this.out += d;
      const lines = this.out.split('\n');
      this.out = lines.pop() ?? '';
      for (const l of lines) {
        if (l === 'listening') this.listening = true;
        else if (l.startsWith('{')) this.latest = JSON.parse(l) as CollectorCounts;
      }
    });
    this.exited = new Promise((r) => this.proc.on('exit', () => r()));
  }

  private listening = false;

  async ready(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.listening) {
      if (Date.now() > deadline || this.proc.exitCode !== null)
        throw new Error('collector did not start');
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.proc.stdin?.end();
    await Promise.race([this.exited, sleep(3000)]);
    if (this.proc.exitCode === null && this.proc.pid) process.kill(this.proc.pid, 'SIGKILL');
  }
}

const collectors = new Map<Topology, Collector>();

function configure(t: Topology, mode: Mode): void {
  const h = t.host;
  if (!h) throw new Error('no switch host');
  h.vsctl('clear', 'bridge', 'br0', 'sflow', '--', 'clear', 'bridge', 'br0', 'netflow');
  if (mode === 'sflow')
    h.vsctl(
      '--',
      '--id=@s',
      'create',
      'sflow',
      'agent=127.0.0.1',
      `target="127.0.0.1:${SFLOW_PORT}"`,
      'sampling=64',
      'polling=10',
      '--',
      'set',
      'bridge',
      'br0',
      'sflow=@s',
    );
  else if (mode === 'netflow')
    h.vsctl(
      '--',
      '--id=@n',
      'create',
      'netflow',
      `targets="127.0.0.1:${NETFLOW_PORT}"`,
      '--',
      'set',
      'bridge',
      'br0',
      'netflow=@n',
    );
}

async function waitReachable(t: Topology): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      t.tx.exec('ping', '-c', '1', '-W', '1', '-n', '-q', RX_IP);
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new Error('receiver never answered ping through the switch');
}

async function runCase(t: Topology, mode: Mode, flows: number): Promise<Sample> {
  configure(t, mode);
  const collector = collectors.get(t) as Collector;
  const pid = t.switchPid();
  // Reconfiguration (and the sFlow agent finding its address) settles before traffic.
  await sleep(500);
  announceMac(t.rx, 'eth0', SINK_MAC, SINK_IP);
  await sleep(100);
  const spec = {
    srcMac: t.mac(t.tx, 'eth0'),
    dstMac: SINK_MAC,
    srcIp: TX_IP,
    dstIp: SINK_IP,
    flows,
  };
  const gen = new Trafgen(t.tx, 'eth0', spec, WARM_S + MEASURE_S + 5);
  try {
    await sleep(WARM_S * 1000);
    if (!gen.running) throw new Error(`trafgen exited: ${gen.stderr.slice(0, 300)}`);
    const miss0 = dpMissed(t);
    const rx0 = counters(t.rx, 'eth0').rxPackets;
    const fs0 = collector.latest.sflow.flowSamples;
    const cpu0 = cpuSeconds(pid);
    const m0 = machineCpu();
    const w0 = performance.now();
    const perf =
      perfDir && pid
        ? spawn(
            'perf',
            ['record', '-q', '-F', '499', '-g', '-p', String(pid)].concat([
              '-o',
              join(perfDir, `${t.kind}-${mode}-${flows}.data`),
              '--',
              'sleep',
              String(MEASURE_S),
            ]),
            { stdio: 'ignore' },
          )
        : null;
    await sleep(MEASURE_S * 1000);
    if (perf) await Promise.race([new Promise((r) => perf.on('exit', r)), sleep(10_000)]);
    const rx1 = counters(t.rx, 'eth0').rxPackets;
    const fs1 = collector.latest.sflow.flowSamples;
    const cpu1 = cpuSeconds(pid);
    const m1 = machineCpu();
    const secs = (performance.now() - w0) / 1000;
    const miss1 = dpMissed(t);
    const s: Sample = {
      mode,
      flows,
      rxPps: (rx1 - rx0) / secs,
      machineBusy: 1 - (m1.idle - m0.idle) / Math.max(1, m1.total - m0.total),
      flowSamples: fs1 - fs0,
    };
    if (cpu0 !== undefined && cpu1 !== undefined) s.switchCpu = (cpu1 - cpu0) / secs;
    if (miss0 !== undefined && miss1 !== undefined) s.missPps = (miss1 - miss0) / secs;
    return s;
  } finally {
    await gen.stop();
    await sleep(300);
  }
}

/*
 * NetFlow exports a flow when it ends (idle in the datapath for max-idle, 10 s by default) or
 * at the active timeout (600 s): no record reaches the collector within a case. So, after the
 * timed cases, a short run with NetFlow on and a wait for the records, as a check that export
 * really ran: packets sent, and packets the records count.
 */
async function netflowCheck(
  ts: Topology[],
): Promise<Map<Topology, { sent: number; counted: number }>> {
  const out = new Map<Topology, { sent: number; counted: number }>();
  for (const t of ts) {
    configure(t, 'netflow');
    await sleep(500);
    const c = collectors.get(t) as Collector;
    const p0 = c.latest.netflow.packets;
    announceMac(t.rx, 'eth0', SINK_MAC, SINK_IP);
    const rx0 = counters(t.rx, 'eth0').rxPackets;
    const spec = {
      srcMac: t.mac(t.tx, 'eth0'),
      dstMac: SINK_MAC,
      srcIp: TX_IP,
      dstIp: SINK_IP,
      flows: 100,
    };
    const gen = new Trafgen(t.tx, 'eth0', spec, 6);
    await sleep(1000);
    await gen.stop();
    await sleep(200);
    out.set(t, { sent: counters(t.rx, 'eth0').rxPackets - rx0, counted: p0 });
  }
  const deadline = Date.now() + 20_000;
  for (const t of ts) {
    const c = collectors.get(t) as Collector;
    const o = out.get(t) as { sent: number; counted: number };
    const p0 = o.counted;
    // Counted packets may include the announcement frames: stop once the sent ones are in.
    while (Date.now() < deadline && c.latest.netflow.packets - p0 < o.sent) await sleep(200);
    o.counted = c.latest.netflow.packets - p0;
  }
  return out;
}

const results: Partial<Record<SwitchKind, { samples: Sample[]; errors: string[] }>> = {};
const nfCheck: Partial<Record<SwitchKind, { sent: number; counted: number }>> = {};
const topologies: Topology[] = [];
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void Promise.allSettled([...Trafgen.live].map((g) => g.stop()))
      .then(() => Promise.allSettled(topologies.map((t) => t.destroy())))
      .then(() => process.exit(130));
  });

const load0 = loadavg();
const t0 = performance.now();
try {
  for (const kind of KINDS) {
    results[kind] = { samples: [], errors: [] };
    try {
      const saved = process.env.NODE_OPTIONS;
      if (kind === 'ours' && perfDir) process.env.NODE_OPTIONS = '--perf-basic-prof';
      const t = await Topology.create(kind).finally(() => {
        if (saved === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = saved;
      });
      topologies.push(t);
      const c = new Collector(t.sw.name, 1800);
      collectors.set(t, c);
      await c.ready();
      await waitReachable(t);
    } catch (e) {
      results[kind].errors.push((e as Error).message);
    }
  }
  for (let round = 0; round < ROUNDS; round++)
    for (const c of CASES)
      for (const mode of MODES)
        for (const t of topologies) {
          const res = results[t.kind] as { samples: Sample[]; errors: string[] };
          try {
            res.samples.push(await runCase(t, mode, c === 'udp-1' ? 1 : 10_000));
          } catch (e) {
            res.errors.push(`${c} ${mode}: ${(e as Error).message}`);
          }
        }
  for (const [t, r] of await netflowCheck(topologies)) nfCheck[t.kind] = r;
} finally {
  for (const c of collectors.values()) await c.stop();
  for (const t of topologies) await t.destroy();
}

const load1 = loadavg();
const elapsed = (performance.now() - t0) / 1000;

if (asJson) {
  console.log(
    JSON.stringify({
      results,
      nfCheck,
      loadavg: { before: load0, after: load1 },
      cpus: cpus().length,
    }),
  );
} else {
  console.log(
    "bench/visibility: forwarding with sFlow (1 in 64) and NetFlow, against each switch's own rate without",
  );
  console.log(
    `  ${cpus().length} CPUs; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after; ${elapsed.toFixed(0)} s`,
  );
  const pick = (kind: SwitchKind, flows: number, mode: Mode): Sample[] =>
    (results[kind]?.samples ?? []).filter((s) => s.flows === flows && s.mode === mode);
  const best = (kind: SwitchKind, flows: number, mode: Mode): number | undefined => {
    const xs = pick(kind, flows, mode);
    return xs.length ? Math.max(...xs.map((s) => s.rxPps)) : undefined;
  };
  // Frames forwarded per CPU-second of the switch: on a busy machine, the steadier measure.
  const perCpu = (s: Sample): number | undefined =>
    s.switchCpu ? s.rxPps / s.switchCpu : undefined;
  const bestPerCpu = (kind: SwitchKind, flows: number, mode: Mode): number | undefined => {
    const xs = pick(kind, flows, mode)
      .map(perCpu)
      .filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  const pct = (a: number | undefined, b: number | undefined): string =>
    a !== undefined && b ? `${((a / b) * 100).toFixed(0)}%` : '-';
  for (const c of CASES) {
    const flows = c === 'udp-1' ? 1 : 10_000;
    console.log(
      `\n  ${c}: kpps received per round (switch cores) [kpps per switch CPU-second]; best round as a fraction of the same switch's "off" (per CPU-second)`,
    );
    for (const kind of KINDS) {
      for (const mode of MODES) {
        const xs = (results[kind]?.samples ?? []).filter(
          (s) => s.flows === flows && s.mode === mode,
        );
        if (!xs.length) continue;
        const frac = `${pct(best(kind, flows, mode), best(kind, flows, 'off'))} (${pct(bestPerCpu(kind, flows, mode), bestPerCpu(kind, flows, 'off'))})`;
        // Sampled frames per forwarded frame over the window, as 1 in N.
        const got =
          mode === 'sflow'
            ? `1 in ${xs.map((s) => (s.flowSamples ? (s.rxPps * MEASURE_S) / s.flowSamples : 0).toFixed(0)).join(' / ')} sampled`
            : '';
        // Upcalls during the window: a case whose flows were still being set up measured that.
        const misses = xs.some((s) => (s.missPps ?? 0) >= 100)
          ? `  misses/s ${xs.map((s) => (s.missPps ?? 0).toFixed(0)).join(' / ')}`
          : '';
        console.log(
          `    ${LABEL[kind as 'ours' | 'real'].padEnd(15)} ${mode.padEnd(8)} ${xs.map((s) => `${(s.rxPps / 1000).toFixed(0)} (${s.switchCpu?.toFixed(2) ?? '-'}) [${((perCpu(s) ?? 0) / 1000).toFixed(0)}]`).join(' / ')}  ${frac}${got ? `  ${got}` : ''}${misses}`,
        );
      }
    }
    const x = (o: number | undefined, r: number | undefined): string =>
      o !== undefined && r ? `${(o / r).toFixed(2)}x` : '-';
    const ratio = MODES.map(
      (m) =>
        `${m} ${x(best('ours', flows, m), best('real', flows, m))} (${x(bestPerCpu('ours', flows, m), bestPerCpu('real', flows, m))})`,
    );
    console.log(`    ours/OVS, best rounds (per CPU-second): ${ratio.join(', ')}`);
  }
  console.log(
    '\n  NetFlow check (1 s of 100 flows, then records awaited): packets received / counted in records',
  );
  for (const kind of KINDS) {
    const n = nfCheck[kind];
    if (n) console.log(`    ${LABEL[kind as 'ours' | 'real'].padEnd(15)} ${n.sent} / ${n.counted}`);
  }
  for (const kind of KINDS)
    for (const e of results[kind]?.errors ?? [])
      console.log(`  ${LABEL[kind as 'ours' | 'real']} error: ${e}`);
}
if (KINDS.some((k) => (results[k]?.errors.length ?? 0) > 0)) process.exitCode = 1;
