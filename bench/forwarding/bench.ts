/**
 * bench/forwarding: packets per second and TCP throughput through one switch on real links
 * (veth pairs between network namespaces), for TypeSwitch, real Open vSwitch 3.1 with its
 * userspace datapath, and the Linux bridge, in one run on the same topology (topology.ts).
 *
 *   udp-1      trafgen, 64-byte UDP frames of one flow, as fast as it can, for a fixed time
 *   udp-10k    the same with 10,000 flows (UDP source ports 1024..11023 in turn)
 *   tcp        iperf3, one TCP connection
 *
 * Kinds (topology.ts): ours (userspace TSO, its default: veth offloads on), ours-afxdp (afxdp
 * ports), real (OVS's default: offloads off, as its docs advise for veth), real-tso (OVS with
 * userspace-tso-enable=true, offloads on), real-afxdp (OVS with afxdp ports, built for its own
 * turns only: its PMD thread polls a core flat out even when idle), linux; ours-notso on
 * request.
 *
 * The rate is what the receiver's eth0 counted (its rx_packets), over a window that starts once
 * the generator has run for a while; also shown: what the sender put on its link, the switch
 * process's CPU use, and how busy the whole machine was. All three topologies stand side by
 * side and take turns, case by case, for two rounds.
 *
 * Usage: node --import tsx bench/forwarding/bench.ts [--quick] [--json]
 *          [--kinds ours,real,real-tso,linux] [--cases udp-1,udp-10k,tcp]
 *   BENCH_FWD_PERF=<dir>: `perf record -g` of each ovs-vswitchd over each UDP window, written
 *   to <dir>/<kind>-udp-<flows>.data; our Node runs with --perf-basic-prof, so that
 *   `perf report` names JIT-compiled functions (Node 20 refuses --cpu-prof in NODE_OPTIONS).
 *   Perturbs the rates.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { RX_IP, type SwitchKind, Topology, TX_IP } from './topology.ts';
import {
  announceMac,
  counters,
  cpuSeconds,
  iperf3,
  machineCpu,
  sleep,
  Trafgen,
} from './traffic.ts';

if (process.getuid?.() !== 0) {
  console.error('bench/forwarding: needs root (network namespaces); skipped');
  process.exit(0);
}

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const listArg = (name: string, all: string[]): string[] => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1].split(',') : all;
};
const KINDS = listArg('--kinds', [
  'ours',
  'ours-afxdp',
  'real',
  'real-tso',
  'real-afxdp',
  'linux',
]) as SwitchKind[];
/** Kinds whose switch burns a core while idle (OVS's PMD threads poll afxdp ports without
 * sleeping): built for their own turn only, so they take nothing from the others' turns. */
const TRANSIENT = new Set<SwitchKind>(['real-afxdp']);
const CASES = listArg('--cases', ['udp-1', 'udp-10k', 'tcp']);
const ROUNDS = quick ? 1 : 2;
const WARM_S = quick ? 1 : 1.5;
const MEASURE_S = quick ? 2 : 4;
const TCP_S = quick ? 2 : 4;
// A host behind the receiver's port that is not the receiver: its frames are counted by the
// receiver's eth0, then dropped before IP (see announceMac).
const SINK_IP = '198.18.0.200';
const SINK_MAC = '02:18:00:00:00:c8';

const LABEL: Record<SwitchKind, string> = {
  ours: 'TypeSwitch',
  'ours-notso': 'TypeSwitch/noTSO',
  'ours-afxdp': 'TypeSwitch afxdp',
  'ours-xsktx': 'TypeSwitch xsk-tx',
  'real-afxdp': 'OVS 3.1 afxdp',
  real: 'OVS 3.1 netdev',
  'real-tso': 'OVS 3.1 +TSO',
  linux: 'Linux bridge',
};

interface UdpResult {
  flows: number;
  /** Frames per second counted by the receiver. */
  rxPps: number;
  /** Frames per second the generator put on its link. */
  txPps: number;
  /** CPU-seconds per second of the switch process (1.0 = one core), if it is a process. */
  switchCpu?: number;
  /** Share of the machine's CPU time that was busy during the window (all cores). */
  machineBusy: number;
}

interface KindResult {
  /** One entry per round, for each UDP case. */
  udp: Record<string, UdpResult[]>;
  tcpBps: number[];
  /** Switch CPU-seconds per second during each TCP round (1.0 = one core). */
  tcpCpu: number[];
  errors: string[];
}

const results: Partial<Record<SwitchKind, KindResult>> = {};
const load0 = loadavg();
const t0 = performance.now();

async function runUdp(t: Topology, flows: number): Promise<UdpResult> {
  const spec = {
    srcMac: t.mac(t.tx, 'eth0'),
    dstMac: SINK_MAC,
    srcIp: TX_IP,
    dstIp: SINK_IP,
    flows,
  };
  const pid = t.switchPid();
  // A generator left over from an earlier case would inflate this one: the link must be quiet.
  const q0 = counters(t.rx, 'eth0').rxPackets;
  await sleep(300);
  const stray = counters(t.rx, 'eth0').rxPackets - q0;
  if (stray > 100)
    throw new Error(`${stray} frames arrived in 300 ms before the generator started`);
  // Again for each case: the switch's MAC table must not have aged it out.
  announceMac(t.rx, 'eth0', SINK_MAC, SINK_IP);
  await sleep(100);
  const gen = new Trafgen(t.tx, 'eth0', spec, WARM_S + MEASURE_S + 5);
  try {
    await sleep(WARM_S * 1000);
    if (!gen.running) throw new Error(`trafgen exited: ${gen.stderr.slice(0, 500)}`);
    const rx0 = counters(t.rx, 'eth0');
    const tx0 = counters(t.tx, 'eth0');
    const cpu0 = cpuSeconds(pid);
    const m0 = machineCpu();
    const w0 = performance.now();
    const perf =
      perfDir && pid ? startPerf(pid, join(perfDir, `${t.kind}-udp-${flows}.data`)) : undefined;
    await sleep(MEASURE_S * 1000);
    const rx1 = counters(t.rx, 'eth0');
    const tx1 = counters(t.tx, 'eth0');
    const cpu1 = cpuSeconds(pid);
    const m1 = machineCpu();
    const secs = (performance.now() - w0) / 1000;
    if (perf) await perf;
    if (!gen.running) throw new Error(`trafgen exited: ${gen.stderr.slice(0, 500)}`);
    const r: UdpResult = {
      flows,
      rxPps: (rx1.rxPackets - rx0.rxPackets) / secs,
      txPps: (tx1.txPackets - tx0.txPackets) / secs,
      machineBusy: 1 - (m1.idle - m0.idle) / Math.max(1, m1.total - m0.total),
    };
    if (cpu0 !== undefined && cpu1 !== undefined) r.switchCpu = (cpu1 - cpu0) / secs;
    return r;
  } finally {
    await gen.stop();
  }
}

const perfDir = process.env.BENCH_FWD_PERF;

/** perf record of the switch for the measuring window, bounded by its own `sleep`. */
function startPerf(pid: number, out: string): Promise<void> {
  const p = spawn(
    'perf',
    [
      'record',
      '-q',
      '-F',
      '499',
      '-g',
      '-p',
      String(pid),
      '-o',
      out,
      '--',
      'sleep',
      String(MEASURE_S),
    ],
    { stdio: 'ignore' },
  );
  const timer = setTimeout(
    () => p.pid && p.exitCode === null && process.kill(p.pid, 'SIGKILL'),
    (MEASURE_S + 10) * 1000,
  );
  return new Promise((r) =>
    p.on('exit', () => {
      clearTimeout(timer);
      r();
    }),
  );
}

async function waitReachable(t: Topology): Promise<void> {
  // The first pings teach the switch both MAC addresses and fill both ARP caches.
  // Bounded by time, not tries: on a loaded machine a freshly started switch is slow to learn.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      t.tx.exec('ping', '-c', '1', '-W', '1', '-n', '-q', RX_IP);
      return;
    } catch {
      await sleep(200);
    }
  }
  const errs = (t.host?.log() ?? '').split('\n').filter((l) => /\|(EMER|ERR|WARN)\|/.test(l));
  throw new Error(
    `receiver never answered ping through the switch${errs.length ? `; switch log:\n${errs.slice(-3).join('\n')}` : ''}`,
  );
}

async function build(kind: SwitchKind): Promise<Topology> {
  const saved = process.env.NODE_OPTIONS;
  if (kind.startsWith('ours') && perfDir) process.env.NODE_OPTIONS = '--perf-basic-prof';
  try {
    const t = await Topology.create(kind);
    await waitReachable(t).catch(async (e) => {
      await t.destroy();
      throw e;
    });
    return t;
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

async function runCase(t: Topology, c: string, res: KindResult): Promise<void> {
  try {
    if (c === 'tcp') {
      const pid = t.switchPid();
      const cpu0 = cpuSeconds(pid);
      const w0 = performance.now();
      res.tcpBps.push(await iperf3(t.rx, RX_IP, t.tx, TCP_S));
      const cpu1 = cpuSeconds(pid);
      if (cpu0 !== undefined && cpu1 !== undefined)
        res.tcpCpu.push((cpu1 - cpu0) / ((performance.now() - w0) / 1000));
    } else {
      const flows = c === 'udp-1' ? 1 : c === 'udp-10k' ? 10_000 : 0;
      if (!flows) throw new Error(`unknown case ${c}`);
      res.udp[c] ??= [];
      res.udp[c].push(await runUdp(t, flows));
    }
  } catch (e) {
    res.errors.push(`${c}: ${(e as Error).message}`);
  }
  await sleep(300); // let queues drain between cases
}

// All topologies stand side by side, and the kinds take turns case by case, round after round,
// so that load from elsewhere on the machine falls on all of them alike.
const topologies: Topology[] = [];
// Interrupted (Ctrl-C, or run.mjs's time limit): daemons and namespaces still go.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void Promise.allSettled([...Trafgen.live].map((g) => g.stop()))
      .then(() => Promise.allSettled(topologies.map((t) => t.destroy())))
      .then(() => process.exit(130));
  });
try {
  const standing = new Set<SwitchKind>();
  for (const kind of KINDS) {
    const res: KindResult = { udp: {}, tcpBps: [], tcpCpu: [], errors: [] };
    results[kind] = res;
    if (TRANSIENT.has(kind)) continue;
    try {
      topologies.push(await build(kind));
      standing.add(kind);
    } catch (e) {
      res.errors.push((e as Error).message);
    }
  }
  for (let round = 0; round < ROUNDS; round++)
    for (const c of CASES)
      for (const kind of KINDS) {
        const res = results[kind] as KindResult;
        if (!TRANSIENT.has(kind)) {
          const t = topologies.find((x) => x.kind === kind);
          if (t) await runCase(t, c, res);
          continue;
        }
        let t: Topology;
        try {
          t = await build(kind);
        } catch (e) {
          res.errors.push(`${c}: ${(e as Error).message}`);
          continue;
        }
        topologies.push(t);
        try {
          await runCase(t, c, res);
        } finally {
          topologies.splice(topologies.indexOf(t), 1);
          await t.destroy();
        }
      }
} finally {
  for (const t of topologies) await t.destroy();
}

const load1 = loadavg();
const elapsed = (performance.now() - t0) / 1000;

if (asJson) {
  console.log(
    JSON.stringify({ results, loadavg: { before: load0, after: load1 }, cpus: cpus().length }),
  );
} else {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '-';
  console.log('bench/forwarding: one switch between two namespaces on veth links');
  console.log(
    `  ${cpus().length} CPUs; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after; ${elapsed.toFixed(0)} s`,
  );
  const best = (xs: number[] | undefined): number | undefined =>
    xs && xs.length > 0 ? Math.max(...xs) : undefined;
  const perCpu = (u: UdpResult): number | undefined =>
    u.switchCpu ? u.rxPps / u.switchCpu : undefined;
  const list = (xs: (number | undefined)[], f: (x: number) => string): string =>
    xs.map((x) => (x === undefined ? '-' : f(x))).join(' / ');
  const kp = (x: number): string => (x / 1000).toFixed(0);
  for (const c of CASES.filter((x) => x !== 'tcp')) {
    console.log(
      `\n  ${c}, kpps per round: received (sent), received per switch CPU-second, switch cores, machine busy`,
    );
    for (const kind of KINDS) {
      const us = results[kind]?.udp[c];
      if (!us?.length) continue;
      const cores = us.some((u) => u.switchCpu !== undefined)
        ? list(
            us.map((u) => u.switchCpu),
            (x) => x.toFixed(2),
          )
        : 'in kernel';
      console.log(
        `    ${LABEL[kind].padEnd(16)} ${list(
          us.map((u) => u.rxPps),
          kp,
        )} (${list(
          us.map((u) => u.txPps),
          kp,
        )})  ${list(us.map(perCpu), kp)}  ${cores}  ${list(
          us.map((u) => u.machineBusy),
          pct,
        )}`,
      );
    }
    const rx = (kind: SwitchKind) => best(results[kind]?.udp[c]?.map((u) => u.rxPps));
    const cpu = (kind: SwitchKind) =>
      best(results[kind]?.udp[c]?.map(perCpu).filter((x): x is number => x !== undefined));
    console.log(
      `    best of rounds: ours/OVS ${ratio(rx('ours'), rx('real'))} (per CPU-second ${ratio(cpu('ours'), cpu('real'))}), ours/bridge ${ratio(rx('ours'), rx('linux'))}`,
    );
    if (KINDS.includes('ours-afxdp'))
      console.log(
        `    afxdp: ours-afxdp/OVS ${ratio(rx('ours-afxdp'), rx('real'))} (per CPU-second ${ratio(cpu('ours-afxdp'), cpu('real'))}), ours-afxdp/OVS-afxdp ${ratio(rx('ours-afxdp'), rx('real-afxdp'))} (per CPU-second ${ratio(cpu('ours-afxdp'), cpu('real-afxdp'))}), ours-afxdp/ours ${ratio(rx('ours-afxdp'), rx('ours'))} (per CPU-second ${ratio(cpu('ours-afxdp'), cpu('ours'))})`,
      );
  }
  if (CASES.includes('tcp')) {
    console.log('\n  tcp (iperf3, one connection), Gbit/s per round, switch cores');
    for (const kind of KINDS) {
      const b = results[kind]?.tcpBps;
      const cores = results[kind]?.tcpCpu ?? [];
      if (b?.length)
        console.log(
          `    ${LABEL[kind].padEnd(16)} ${list(b, (x) => (x / 1e9).toFixed(2))}  ${cores.length ? list(cores, (x) => x.toFixed(2)) : 'in kernel'}`,
        );
    }
    const tcp = (kind: SwitchKind) => best(results[kind]?.tcpBps);
    console.log(
      `    best of rounds: ours/OVS ${ratio(tcp('ours'), tcp('real'))}, ours/OVS+TSO ${ratio(tcp('ours'), tcp('real-tso'))}, ours/bridge ${ratio(tcp('ours'), tcp('linux'))}, ours-afxdp/OVS-afxdp ${ratio(tcp('ours-afxdp'), tcp('real-afxdp'))}`,
    );
  }
  for (const kind of KINDS)
    for (const e of results[kind]?.errors ?? []) console.log(`  ${LABEL[kind]} error: ${e}`);
}
if (KINDS.some((kind) => (results[kind]?.errors.length ?? 0) > 0)) process.exitCode = 1;
