// bench/ovsdb: TypeSwitch's ovsdb-server side by side with real ovsdb-server, in one run.
//   sequential small transactions per second (one at a time, each awaited)
//   pipelined transactions per second (all sent at once on one connection)
//   fan-out: time for one committed change to reach 50 monitoring clients (median)
//   and the server's CPU time per transaction in the first two (all its threads; the ratio
//   is real's / ours, so >1 is ours better, like the rates)
// Usage: node bench/ovsdb/run.mjs [--quick]
//   BENCH_SERVER_JS=FILE: run this build of TypeSwitch's ovsdb-server (A/B comparisons)
//   BENCH_ONLY='real OVS' or BENCH_ONLY=TypeSwitch: one server only
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RawClient } from '../lib/raw-jsonrpc.mjs';
import { waitAccepting } from './accepting.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const schema = join(here, 'bench.ovsschema');
const quick = process.argv.includes('--quick');
const N_SEQ = quick ? 500 : 3000;
const N_PIPE = quick ? 2000 : 20000;
const N_MON = 50;
const FANOUT_ROUNDS = quick ? 10 : 40;

const servers = [
  { name: 'real OVS', tool: '/usr/bin/ovsdb-tool', server: '/usr/sbin/ovsdb-server' },
  {
    name: 'TypeSwitch',
    tool: join(root, 'bin/ovsdb-tool'),
    server: join(root, 'bin/ovsdb-server'),
  },
];

async function startServer(s, dir) {
  const db = join(dir, 'bench.db');
  const sock = join(dir, 'db.sock');
  const r = spawnSync(s.tool, ['create', db, schema], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${s.name}: ovsdb-tool create failed: ${r.stderr}`);
  const ab = s.name === 'TypeSwitch' ? process.env.BENCH_SERVER_JS : undefined;
  const child = spawn(
    ab ? process.execPath : s.server,
    [
      ...(ab ? [ab] : []),
      db,
      `--remote=punix:${sock}`,
      `--unixctl=${join(dir, 'ctl')}`,
      '--no-chdir',
      '-vconsole:off',
    ],
    {
      stdio: 'ignore',
    },
  );
  try {
    await waitAccepting(sock);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${s.name}: server did not come up (${e.message})`);
  }
  return { child, sock };
}

/**
 * CPU time of a process in µs, all threads (V8 compiles and collects garbage on threads of
 * its own), from the scheduler's per-thread counters (Linux /proc, ns). Steadier than the
 * rates when the machine is busy.
 */
function serverCpuUs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ns / 1000;
}

const insert = (i) => ['Bench', { op: 'insert', table: 'T', row: { name: `r${i}`, n: i } }];

async function sequential(sock) {
  const c = await RawClient.open(sock);
  const t0 = performance.now();
  for (let i = 0; i < N_SEQ; i++) {
    const r = await c.request('transact', insert(i));
    if (r.error) throw new Error(JSON.stringify(r.error));
  }
  const secs = (performance.now() - t0) / 1000;
  c.close();
  return N_SEQ / secs;
}

async function pipelined(sock) {
  const c = await RawClient.open(sock);
  const t0 = performance.now();
  const all = [];
  for (let i = 0; i < N_PIPE; i++) all.push(c.request('transact', insert(N_SEQ + i)));
  const replies = await Promise.all(all);
  const secs = (performance.now() - t0) / 1000;
  if (replies.some((r) => r.error)) throw new Error('pipelined transaction failed');
  c.close();
  return N_PIPE / secs;
}

async function fanout(sock) {
  const monitors = [];
  for (let i = 0; i < N_MON; i++) {
    const c = await RawClient.open(sock);
    await c.request('monitor_cond', [
      'Bench',
      null,
      { T: [{ columns: ['name', 'n'], where: [['name', '==', 'hot']] }] },
    ]);
    monitors.push(c);
  }
  const writer = await RawClient.open(sock);
  const ins = await writer.request('transact', [
    'Bench',
    { op: 'insert', table: 'T', row: { name: 'hot', n: 0 } },
  ]);
  await sleep(200);
  const times = [];
  for (let round = 1; round <= FANOUT_ROUNDS; round++) {
    let seen = 0;
    const done = new Promise((resolve) => {
      for (const m of monitors) {
        m.onNotify = (msg) => {
          if (msg.method === 'update2' && ++seen === N_MON) resolve();
        };
      }
    });
    const t0 = performance.now();
    await writer.request('transact', [
      'Bench',
      { op: 'update', table: 'T', where: [['_uuid', '==', ins.result[0].uuid]], row: { n: round } },
    ]);
    await done;
    times.push(performance.now() - t0);
  }
  for (const m of monitors) m.close();
  writer.close();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * This benchmark's client is a Node process too, and is measured with each server in turn: a
 * cold client (V8's interpreter) makes whichever server goes first look slower. So it first
 * runs the sequential case against a throwaway real ovsdb-server, and both servers then meet
 * a client that is equally warm.
 */
async function warmClient() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ovsdb-client-'));
  const { child, sock } = await startServer(servers[0], dir);
  try {
    await sequential(sock);
  } finally {
    child.kill('SIGTERM');
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

await warmClient();
const results = {};
for (const s of servers.filter(
  (x) => !process.env.BENCH_ONLY || x.name === process.env.BENCH_ONLY,
)) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ovsdb-'));
  const { child, sock } = await startServer(s, dir);
  try {
    const cpu0 = serverCpuUs(child.pid);
    const seq = await sequential(sock);
    const cpu1 = serverCpuUs(child.pid);
    const pipe = await pipelined(sock);
    const cpu2 = serverCpuUs(child.pid);
    results[s.name] = {
      seq,
      pipe,
      fanoutMs: await fanout(sock),
      seqCpuUs: (cpu1 - cpu0) / N_SEQ,
      pipeCpuUs: (cpu2 - cpu1) / N_PIPE,
    };
  } finally {
    child.kill('SIGTERM');
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (Object.keys(results).length < 2) {
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}
const real = results['real OVS'];
const ours = results.TypeSwitch;
const fmt = (n) => n.toFixed(n < 10 ? 2 : 0);
console.log(
  'bench/ovsdb                          real OVS   TypeSwitch   ratio (TypeSwitch / real)',
);
console.log(
  `sequential transactions per second  ${fmt(real.seq).padStart(9)}  ${fmt(ours.seq).padStart(11)}   ${(ours.seq / real.seq).toFixed(2)}x`,
);
console.log(
  `pipelined transactions per second   ${fmt(real.pipe).padStart(9)}  ${fmt(ours.pipe).padStart(11)}   ${(ours.pipe / real.pipe).toFixed(2)}x`,
);
console.log(
  `sequential: server CPU µs per txn   ${real.seqCpuUs.toFixed(1).padStart(9)}  ${ours.seqCpuUs.toFixed(1).padStart(11)}   ${(real.seqCpuUs / ours.seqCpuUs).toFixed(2)}x`,
);
console.log(
  `pipelined: server CPU µs per txn    ${real.pipeCpuUs.toFixed(1).padStart(9)}  ${ours.pipeCpuUs.toFixed(1).padStart(11)}   ${(real.pipeCpuUs / ours.pipeCpuUs).toFixed(2)}x`,
);
console.log(
  `fan-out to ${N_MON} monitors (ms, median) ${fmt(real.fanoutMs).padStart(8)}  ${fmt(ours.fanoutMs).padStart(11)}   ${(real.fanoutMs / ours.fanoutMs).toFixed(2)}x faster`,
);
