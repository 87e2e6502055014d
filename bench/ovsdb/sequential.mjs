// bench/ovsdb/sequential.mjs: the sequential case of run.mjs alone (one client, one small
// insert at a time, each reply awaited), for profiling the request->reply path.
// Usage: node bench/ovsdb/sequential.mjs [--real] [--prof DIR] [--buckets B] [N]
//   Prints the rate and the server's CPU time per transaction (all threads; main thread).
//   --buckets B  also the server's CPU per transaction in each run of B transactions (all
//                threads/main thread, µs), to see how a fresh server warms up
//   --prof DIR   run TypeSwitch's server under `node --cpu-prof --cpu-prof-dir=DIR`
//   BENCH_NODE_FLAGS="..." in the environment: more node/V8 flags for TypeSwitch's server
//   BENCH_SERVER_JS=FILE: another build of TypeSwitch's ovsdb-server (A/B comparisons)
//   BENCH_SERVER_LOG=FILE: the server's stdout and stderr appended to FILE (with
//     BENCH_NODE_FLAGS="--trace-opt --trace-deopt"), with a line where the client starts
//     and at each bucket's end, to see what V8 compiles or throws away, and when
//   BENCH_THREADS=1: each of the server's threads' CPU time (ms) when the client starts and
//     at each bucket's end (V8's compiler and GC threads against the serving one)
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient } from '../lib/raw-jsonrpc.mjs';
import { waitAccepting } from './accepting.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const real = args.includes('--real');
const profIdx = args.indexOf('--prof');
const profDir = profIdx >= 0 ? args[profIdx + 1] : null;
const bucketIdx = args.indexOf('--buckets');
const bucket = bucketIdx >= 0 ? Number(args[bucketIdx + 1]) : 0;
const n = Number(
  args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--prof' && i !== bucketIdx + 1) ?? 3000,
);

/**
 * CPU time of a process in µs, from the scheduler's per-thread counters (Linux /proc, in
 * nanoseconds): all threads (V8 compiles and collects garbage on its own threads), and the
 * main thread, the one that serves requests.
 */
function serverCpuUs(pid) {
  let all = 0;
  let main = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      all += ns;
      if (tid === String(pid)) main = ns;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return { all: all / 1000, main: main / 1000 };
}

/** Per-thread CPU of a process (name:tid ms), for BENCH_THREADS=1. */
function threadCpu(pid) {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.push(`${comm}:${tid}=${(ns / 1e6).toFixed(1)}`);
    } catch {
      // Gone.
    }
  }
  return out.join(' ');
}

const insert = (i) => ['Bench', { op: 'insert', table: 'T', row: { name: `r${i}`, n: i } }];

/**
 * This client is a Node process too: cold, it would slow the first server it meets. It runs
 * the same inserts against a throwaway real ovsdb-server first, so that whichever server is
 * measured meets a warm client.
 */
async function warmClient() {
  const d = mkdtempSync(join(tmpdir(), 'bench-ovsdb-client-'));
  spawnSync('/usr/bin/ovsdb-tool', ['create', join(d, 'db'), join(here, 'bench.ovsschema')]);
  const s = join(d, 'sock');
  const srv = spawn(
    '/usr/sbin/ovsdb-server',
    [
      join(d, 'db'),
      `--remote=punix:${s}`,
      `--unixctl=${join(d, 'ctl')}`,
      '--no-chdir',
      '-vconsole:off',
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitAccepting(s);
    const c = await RawClient.open(s);
    for (let i = 0; i < 3000; i++) await c.request('transact', insert(i));
    c.close();
  } finally {
    srv.kill('SIGTERM');
    await new Promise((r) => srv.once('exit', r));
    rmSync(d, { recursive: true, force: true });
  }
}

await warmClient();
const dir = mkdtempSync(join(tmpdir(), 'bench-ovsdb-seq-'));
const db = join(dir, 'bench.db');
const sock = join(dir, 'db.sock');
const tool = real ? '/usr/bin/ovsdb-tool' : join(root, 'bin/ovsdb-tool');
spawnSync(tool, ['create', db, join(here, 'bench.ovsschema')]);
const logFile = process.env.BENCH_SERVER_LOG;
const mark = (text) => logFile && appendFileSync(logFile, `=== ${text}\n`);
const stdio = logFile ? ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] : 'ignore';
const serverArgs = [db, `--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir'];
const child = real
  ? spawn('/usr/sbin/ovsdb-server', [...serverArgs, '-vconsole:off'], { stdio })
  : spawn(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        ...(profDir ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profDir}`] : []),
        process.env.BENCH_SERVER_JS ?? join(root, 'dist/cli/ovsdb-server.js'),
        ...serverArgs,
        '-vconsole:off',
      ],
      { stdio },
    );
try {
  await waitAccepting(sock);
  const c = await RawClient.open(sock);
  const cpu0 = serverCpuUs(child.pid);
  const ticks = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return [Number(f[11]), Number(f[12])];
  };
  const t0ticks = ticks();
  mark('client starts');
  if (process.env.BENCH_THREADS) console.log(threadCpu(child.pid));
  const t0 = performance.now();
  const buckets = [];
  let last = cpu0;
  for (let i = 0; i < n; i++) {
    const r = await c.request('transact', insert(i));
    if (r.error) throw new Error(JSON.stringify(r.error));
    if (bucket > 0 && (i + 1) % bucket === 0) {
      const now = serverCpuUs(child.pid);
      buckets.push(
        `${((now.all - last.all) / bucket).toFixed(0)}/${((now.main - last.main) / bucket).toFixed(0)}`,
      );
      last = now;
      mark(`after ${i + 1}`);
      if (process.env.BENCH_THREADS) console.log(threadCpu(child.pid));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = serverCpuUs(child.pid);
  const t1ticks = ticks();
  // utime and stime in clock ticks (10 ms): user space against the kernel's share.
  console.log(
    `user ${(((t1ticks[0] - t0ticks[0]) * 10000) / n).toFixed(1)} us/txn, system ${(((t1ticks[1] - t0ticks[1]) * 10000) / n).toFixed(1)} us/txn (all threads, 10 ms ticks)`,
  );
  c.close();
  if (buckets.length > 0) console.log(`per ${bucket}: ${buckets.join(' ')}`);
  console.log(
    `${real ? 'real OVS' : 'TypeSwitch'}: ${(n / secs).toFixed(0)} transactions/s, server CPU ${((cpu1.all - cpu0.all) / n).toFixed(1)} us/transaction (main thread ${((cpu1.main - cpu0.main) / n).toFixed(1)})`,
  );
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
