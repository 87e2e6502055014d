// bench/vsctl: our ovs-vsctl against real ovs-vsctl, side by side in one run.
//   one ovs-vsctl call per port for 200 ports   (start-up cost dominates)
//   one ovs-vsctl call adding 1,000 ports       (transaction and IDL cost dominate)
//   per-call latency of `--no-wait br-exists br0`, next to a bare `node -e 0`
// Each CLI talks to a database server of its own kind (real tools to real ovsdb-server,
// ours to ours), both with --no-wait: no ovs-vswitchd is involved.
// Usage: node bench/vsctl/run.mjs [--quick]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const quick = process.argv.includes('--quick');
const PORTS_SEQ = quick ? 40 : 200;
const PORTS_ONE = quick ? 200 : 1000;
const LAT_RUNS = quick ? 10 : 30;

const kinds = [
  {
    name: 'real OVS',
    tool: '/usr/bin/ovsdb-tool',
    server: '/usr/sbin/ovsdb-server',
    vsctl: '/usr/bin/ovs-vsctl',
    schema: '/usr/share/openvswitch/vswitch.ovsschema',
  },
  {
    name: 'TypeSwitch',
    tool: join(root, 'bin/ovsdb-tool'),
    server: join(root, 'bin/ovsdb-server'),
    vsctl: join(root, 'bin/ovs-vsctl'),
    schema: join(root, 'schema/vswitch.ovsschema'),
  },
];

async function startServer(k, dir) {
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  const r = spawnSync(k.tool, ['create', db, k.schema], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${k.name}: ovsdb-tool create: ${r.stderr}`);
  const child = spawn(
    k.server,
    [db, `--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir', '-vconsole:off'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(25);
  return { child, sock };
}

function vsctl(k, sock, args) {
  const r = spawnSync(k.vsctl, [`--db=unix:${sock}`, '--no-wait', ...args], { encoding: 'utf8' });
  if (r.status !== 0 && args[0] !== 'br-exists') {
    throw new Error(`${k.name}: ovs-vsctl ${args.slice(0, 3).join(' ')}: ${r.stderr}`);
  }
}

function timed(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const results = {};
for (const k of kinds) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vsctl-'));
  const { child, sock } = await startServer(k, dir);
  try {
    vsctl(k, sock, ['init']);
    vsctl(k, sock, ['add-br', 'br0']);
    const seqMs = timed(() => {
      for (let i = 1; i <= PORTS_SEQ; i++) vsctl(k, sock, ['add-port', 'br0', `p${i}`]);
    });
    const many = ['add-br', 'br1'];
    for (let i = 1; i <= PORTS_ONE; i++) many.push('--', 'add-port', 'br1', `q${i}`);
    const oneMs = timed(() => vsctl(k, sock, many));
    const lat = [];
    for (let i = 0; i < LAT_RUNS; i++) lat.push(timed(() => vsctl(k, sock, ['br-exists', 'br0'])));
    lat.sort((a, b) => a - b);
    results[k.name] = { seqMs, oneMs, latMs: lat[Math.floor(lat.length / 2)] };
  } finally {
    child.kill('SIGTERM');
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  }
}
const node = [];
for (let i = 0; i < LAT_RUNS; i++) node.push(timed(() => spawnSync(process.execPath, ['-e', '0'])));
node.sort((a, b) => a - b);
const nodeMs = node[Math.floor(node.length / 2)];

const real = results['real OVS'];
const ours = results.TypeSwitch;
const ms = (n) => `${n.toFixed(1)} ms`.padStart(11);
console.log(
  'bench/vsctl                                 real OVS   TypeSwitch   TypeSwitch time / real',
);
console.log(
  `${PORTS_SEQ} calls, one port each (total)        ${ms(real.seqMs)} ${ms(ours.seqMs)}   ${(ours.seqMs / real.seqMs).toFixed(2)}x`,
);
console.log(
  `one call adding ${PORTS_ONE} ports                ${ms(real.oneMs)} ${ms(ours.oneMs)}   ${(ours.oneMs / real.oneMs).toFixed(2)}x`,
);
console.log(
  `per call: --no-wait br-exists (median)      ${ms(real.latMs)} ${ms(ours.latMs)}   ${(ours.latMs / real.latMs).toFixed(2)}x`,
);
console.log(
  `bare node -e 0 (median): ${nodeMs.toFixed(1)} ms; our call / node start-up: ${(ours.latMs / nodeMs).toFixed(2)}x (goal <= 1.5x)`,
);
