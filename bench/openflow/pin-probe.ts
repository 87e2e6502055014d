/**
 * bench/openflow's packet-in loop on one switch at a time, without the flow steps: the round
 * trips per second, the switch's cores and CPU per packet-in, and the controller's cores (a
 * switch that writes packet-ins one by one costs the controller more reads). For A/B runs of
 * two bundles (`BENCH_DIST`) under a loaded machine, where CPU per packet-in moves least.
 *
 * Usage: [BENCH_DIST=dir] [PIN_REPS=2] [HOLD_NODE_ARGS='--cpu-prof ...']
 *          node --import tsx bench/openflow/pin-probe.ts [ours|real] [IN_FLIGHT] [SECONDS]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpuSeconds } from '../forwarding/traffic.ts';
import { type StackKind, SwitchStack } from '../lib/switch-stack.ts';
import { BenchController } from './controller.ts';
import { BENCH_BRIDGE_VSCTL } from './flows.ts';

const kind = (process.argv[2] ?? 'ours') as StackKind;
const inFlight = Number(process.argv[3] ?? 64);
const secs = Number(process.argv[4] ?? 3);
const nodeArgs = (process.env.HOLD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const s = await SwitchStack.start(kind, { nodeArgs });
try {
  s.vsctl(...BENCH_BRIDGE_VSCTL);
  // OVS accepts unix: controller targets only inside its run directory.
  const path = join(s.dir, 'controller.sock');
  const c = await BenchController.listen(path);
  s.vsctl('set-controller', 'br0', `unix:${path}`);
  for (let i = 0; i < 500 && !c.connected; i++) await sleep(20);
  if (!c.connected) throw new Error('the switch never connected to the controller');
  // A bridge that gains its first controller flushes its flows: add the flow after.
  await sleep(200);
  const add = spawnSync(
    '/usr/bin/ovs-ofctl',
    ['-O', 'OpenFlow13', 'add-flow', s.mgmt('br0'), 'priority=0,actions=controller'],
    { timeout: 20_000 },
  );
  if (add.status !== 0) throw new Error(`add-flow: ${add.stderr}`);
  for (let k = 0; k < Number(process.env.PIN_REPS ?? 2); k++) {
    const c0 = cpuSeconds(s.vswitchdPid) ?? 0;
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await c.roundTrips(inFlight, 300, secs * 1000);
    const dt = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds(s.vswitchdPid) ?? 0;
    const u = process.cpuUsage(u0);
    const sw = (c1 - c0) / dt;
    // CPU over the whole loop (warm-up and drain too) per packet-in of the measured window.
    const perPin = ((c1 - c0) / (r.rate * dt)) * 1e6;
    console.log(
      `${kind} ${inFlight} in flight: ${r.rate.toFixed(0)}/s, switch ${sw.toFixed(2)} cores ` +
        `(${perPin.toFixed(1)} µs per packet-in), controller ${((u.user + u.system) / 1e6 / dt).toFixed(2)} cores`,
    );
  }
  c.close();
} finally {
  await s.stop();
}
