/**
 * bench/openflow: the OpenFlow side of the switch, TypeSwitch beside real Open vSwitch 3.1 in
 * one run, both with `--enable-dummy` and a `datapath_type=dummy` bridge (br0, fail_mode
 * secure, dummy ports p1 and p2) in a temporary run directory (bench/lib/switch-stack.ts):
 *
 *   add-flows    real /usr/bin/ovs-ofctl add-flows of `--flows` (100,000) distinct flows from
 *                a file (flows.ts) to br0.mgmt: wall time and the switch's CPU time
 *   dump-flows   real ovs-ofctl dump-flows of them: wall time, switch CPU, and the flow count
 *                checked against what was added
 *   del-flows    real ovs-ofctl del-flows: all of them
 *   ...ours      the same three with our ovs-ofctl (the bundle), against both switches
 *   packet-in    packet-in round trips per second with a controller (controller.ts) on a unix
 *                socket: a closed loop of packet-outs to OFPP_TABLE whose only flow sends them
 *                back to the controller, with 1 and with 64 packets in flight
 *
 * The kinds take turns step by step (real first), `--rounds` times.
 *
 * Usage: node --import tsx bench/openflow/bench.ts [--quick] [--json] [--flows N]
 *          [--rounds N] [--kinds real,ours] [--parts flows,ourctl,pin]
 *   OVS_CPU_PROF=<dir>: our ovs-vswitchd runs under `node --cpu-prof --cpu-prof-dir=<dir>`
 *   (a .cpuprofile per switch, written when it exits; open it in Chrome's DevTools).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds } from '../forwarding/traffic.ts';
import { DIST, STACK_LABEL, type StackKind, SwitchStack } from '../lib/switch-stack.ts';
import { BenchController } from './controller.ts';
import { BENCH_BRIDGE_VSCTL, flowFile } from './flows.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const asJson = argv.includes('--json');
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N_FLOWS = Number(opt('--flows') ?? (quick ? 20_000 : 100_000));
const ROUNDS = Number(opt('--rounds') ?? 1);
const KINDS = (opt('--kinds') ?? 'real,ours').split(',') as StackKind[];
/* flows: real ovs-ofctl; ourctl: our ovs-ofctl; pin: packet-ins (e.g. one part at a time under
 * OVS_CPU_PROF). */
const PARTS = (opt('--parts') ?? 'flows,ourctl,pin').split(',');
const PIN_WARM_MS = quick ? 300 : 500;
const PIN_MS = quick ? 1500 : 3000;
const IN_FLIGHT = [1, 64];
const profDir = process.env.OVS_CPU_PROF;

const REAL_OFCTL = ['/usr/bin/ovs-ofctl'];
const OUR_OFCTL = [process.execPath, join(DIST, 'ovs-ofctl.js')];

interface Timed {
  ms: number;
  /** Switch CPU-seconds over the command. */
  cpu: number | undefined;
  lines?: number;
}

type Row = Record<string, Timed[]>;

interface PinResult {
  inFlight: number;
  rate: number;
  cpu: number | undefined;
}

interface KindResult {
  steps: Row;
  pin: PinResult[];
  errors: string[];
}

/** Runs a command to completion (bounded), capturing stdout only when asked. */
function run(
  cmd: string[],
  env: NodeJS.ProcessEnv,
  keepOut: boolean,
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string; lines: number; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(cmd[0] as string, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let lines = 0;
    let partial = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      // Count flows as they stream: the dump of 100,000 flows is ~20 MB.
      const s = partial + d;
      const cut = s.lastIndexOf('\n');
      const whole = cut >= 0 ? s.slice(0, cut) : '';
      partial = cut >= 0 ? s.slice(cut + 1) : s;
      if (whole) for (const l of whole.split('\n')) if (l.includes(' actions=')) lines++;
      if (keepOut && out.length < 1 << 20) out += d;
    });
    p.stderr.on('data', (d) => {
      if (err.length < 4000) err += d;
    });
    const timer = setTimeout(
      () => p.pid && p.exitCode === null && process.kill(p.pid, 'SIGKILL'),
      timeoutMs,
    );
    p.on('close', (code) => {
      clearTimeout(timer);
      if (partial.includes(' actions=')) lines++;
      resolve({ code, out, err, lines, ms: performance.now() - t0 });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Bench {
  readonly res: KindResult = { steps: {}, pin: [], errors: [] };
  controller: BenchController | null = null;

  constructor(
    readonly kind: StackKind,
    readonly s: SwitchStack,
  ) {}

  static async create(kind: StackKind): Promise<Bench> {
    const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const s = await SwitchStack.start(kind, { nodeArgs });
    try {
      s.vsctl(...BENCH_BRIDGE_VSCTL);
      const b = new Bench(kind, s);
      // The management socket appears once the bridge is built.
      for (let i = 0; ; i++) {
        const r = await run([...REAL_OFCTL, 'show', s.mgmt('br0')], s.env, false, 10_000);
        if (r.code === 0) break;
        if (i > 200) throw new Error(`br0.mgmt never answered: ${r.err}`);
        await sleep(50);
      }
      return b;
    } catch (e) {
      await s.stop();
      throw e;
    }
  }

  private record(step: string, t: Timed): void {
    this.res.steps[step] ??= [];
    this.res.steps[step].push(t);
  }

  async ofctl(step: string, tool: string[], args: string[], expectLines?: number): Promise<void> {
    const pid = this.s.vswitchdPid;
    const c0 = cpuSeconds(pid);
    const r = await run([...tool, ...args], this.s.env, false, 600_000);
    const c1 = cpuSeconds(pid);
    if (r.code !== 0) throw new Error(`${step}: ovs-ofctl ${args[0]} exited ${r.code}: ${r.err}`);
    if (expectLines !== undefined && r.lines !== expectLines)
      throw new Error(`${step}: dumped ${r.lines} flows, expected ${expectLines}`);
    const cpu = c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined;
    this.record(step, { ms: r.ms, cpu, lines: expectLines === undefined ? undefined : r.lines });
  }

  async count(): Promise<number> {
    const r = await run(
      [...REAL_OFCTL, 'dump-aggregate', this.s.mgmt('br0')],
      this.s.env,
      true,
      60_000,
    );
    const m = /flow_count=(\d+)/.exec(r.out);
    return m ? Number(m[1]) : -1;
  }

  async setupController(): Promise<void> {
    // OVS accepts unix: controller targets only inside its run directory.
    const path = join(this.s.dir, 'controller.sock');
    this.controller = await BenchController.listen(path);
    this.s.vsctl('set-controller', 'br0', `unix:${path}`);
    const deadline = Date.now() + 20_000;
    while (!this.controller.connected) {
      if (Date.now() > deadline) throw new Error('the switch never connected to the controller');
      await sleep(20);
    }
    // After the controller is there: a bridge that gains its primary controller flushes its
    // flows (OVS's bridge_configure_remotes), and ours does the same.
    await sleep(200);
    await this.ofctl('pin-flows', REAL_OFCTL, [
      '-O',
      'OpenFlow13',
      'add-flow',
      this.s.mgmt('br0'),
      'priority=0,actions=controller',
    ]);
  }

  async packetIns(inFlight: number): Promise<void> {
    const c = this.controller;
    if (!c) throw new Error('no controller');
    const pid = this.s.vswitchdPid;
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    const r = await c.roundTrips(inFlight, PIN_WARM_MS, PIN_MS);
    const c1 = cpuSeconds(pid);
    const secs = (performance.now() - t0) / 1000;
    if (r.n === 0)
      throw new Error(`no packet-in with ${inFlight} in flight: ${c.errors.join('; ')}`);
    this.res.pin.push({
      inFlight,
      rate: r.rate,
      // Over the whole loop (warm-up and drain included): CPU per packet-in is what matters.
      cpu: c0 !== undefined && c1 !== undefined ? (c1 - c0) / secs : undefined,
    });
  }

  async stop(): Promise<void> {
    this.controller?.close();
    await this.s.stop();
  }
}

const load0 = loadavg();
const t0 = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'bench-openflow-'));
const flowsPath = join(dir, 'flows.txt');
writeFileSync(flowsPath, flowFile(N_FLOWS));

const benches: Bench[] = [];
const results: Partial<Record<StackKind, KindResult>> = {};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void Promise.allSettled(benches.map((b) => b.stop())).then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });

async function each(f: (b: Bench) => Promise<void>): Promise<void> {
  for (const b of benches) {
    if (b.res.errors.length) continue;
    try {
      await f(b);
    } catch (e) {
      b.res.errors.push((e as Error).message);
    }
  }
}

try {
  for (const kind of KINDS) {
    try {
      const b = await Bench.create(kind);
      benches.push(b);
      results[kind] = b.res;
    } catch (e) {
      results[kind] = { steps: {}, pin: [], errors: [(e as Error).message] };
    }
  }
  const mgmt = (b: Bench): string => b.s.mgmt('br0');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [tool, tag, part] of [
      [REAL_OFCTL, 'ovs-ofctl', 'flows'],
      [OUR_OFCTL, 'our ovs-ofctl', 'ourctl'],
    ] as const) {
      if (!PARTS.includes(part)) continue;
      await each((b) => b.ofctl(`${tag} add-flows`, tool, ['add-flows', mgmt(b), flowsPath]));
      await each(async (b) => {
        const n = await b.count();
        if (n !== N_FLOWS) throw new Error(`${tag} add-flows left ${n} flows, not ${N_FLOWS}`);
      });
      await each((b) => b.ofctl(`${tag} dump-flows`, tool, ['dump-flows', mgmt(b)], N_FLOWS));
      await each((b) => b.ofctl(`${tag} del-flows`, tool, ['del-flows', mgmt(b)]));
    }
  }
  if (PARTS.includes('pin')) {
    await each((b) => b.setupController());
    for (let round = 0; round < ROUNDS; round++)
      for (const n of IN_FLIGHT) await each((b) => b.packetIns(n));
  }
} finally {
  await Promise.allSettled(benches.map((b) => b.stop()));
  rmSync(dir, { recursive: true, force: true });
}

const load1 = loadavg();
const elapsed = (performance.now() - t0) / 1000;

if (asJson) {
  console.log(
    JSON.stringify({ flows: N_FLOWS, results, loadavg: { before: load0, after: load1 } }),
  );
} else {
  const fmt = (x: number | undefined, d = 2): string => (x === undefined ? '-' : x.toFixed(d));
  console.log(`bench/openflow: ${N_FLOWS} flows, a dummy bridge, real ovs-ofctl and ours`);
  console.log(
    `  ${cpus().length} CPUs; load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after; ${elapsed.toFixed(0)} s`,
  );
  const steps = [...new Set(KINDS.flatMap((k) => Object.keys(results[k]?.steps ?? {})))].filter(
    (s) => s !== 'pin-flows',
  );
  console.log(
    '\n  step: wall s (switch CPU s) per round; ratio OVS/ours of the best wall time (>1: ours faster)',
  );
  for (const step of steps) {
    const cells = KINDS.map((k) => {
      const ts = results[k]?.steps[step] ?? [];
      return `${STACK_LABEL[k]} ${ts.map((t) => `${fmt(t.ms / 1000)} (${fmt(t.cpu)})`).join(' / ') || '-'}`;
    });
    const best = (k: StackKind): number | undefined => {
      const ts = results[k]?.steps[step];
      return ts?.length ? Math.min(...ts.map((t) => t.ms)) : undefined;
    };
    const r = best('real');
    const o = best('ours');
    console.log(
      `    ${step.padEnd(24)} ${cells.join('   ')}   ${r && o ? `${(r / o).toFixed(2)}x` : ''}`,
    );
  }
  console.log(
    '\n  packet-in round trips per second (switch cores busy); ratio ours/OVS of the best',
  );
  for (const n of IN_FLIGHT) {
    const cells = KINDS.map((k) => {
      const ps = (results[k]?.pin ?? []).filter((p) => p.inFlight === n);
      return `${STACK_LABEL[k]} ${ps.map((p) => `${p.rate.toFixed(0)} (${fmt(p.cpu)})`).join(' / ') || '-'}`;
    });
    const best = (k: StackKind): number | undefined => {
      const ps = (results[k]?.pin ?? []).filter((p) => p.inFlight === n);
      return ps.length ? Math.max(...ps.map((p) => p.rate)) : undefined;
    };
    const r = best('real');
    const o = best('ours');
    console.log(
      `    ${`${n} in flight`.padEnd(24)} ${cells.join('   ')}   ${r && o ? `${(o / r).toFixed(2)}x` : ''}`,
    );
  }
  for (const k of KINDS)
    for (const e of results[k]?.errors ?? []) console.log(`  ${STACK_LABEL[k]} error: ${e}`);
}
if (KINDS.some((k) => (results[k]?.errors.length ?? 0) > 0)) process.exitCode = 1;
