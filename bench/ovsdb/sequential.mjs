// bench/ovsdb/sequential.mjs: the sequential case of run.mjs alone (one client, one small
// insert at a time, each reply awaited), for profiling the request->reply path.
// Usage: node bench/ovsdb/sequential.mjs [--real] [--prof DIR] [N]
//   --prof DIR   run TypeSwitch's server under `node --cpu-prof --cpu-prof-dir=DIR`
//   BENCH_NODE_FLAGS="..." in the environment: more node/V8 flags for TypeSwitch's server
//   BENCH_SERVER_JS=FILE: another build of TypeSwitch's ovsdb-server (A/B comparisons)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RawClient } from '../lib/raw-jsonrpc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const real = args.includes('--real');
const profIdx = args.indexOf('--prof');
const profDir = profIdx >= 0 ? args[profIdx + 1] : null;
const n = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--prof') ?? 3000);

/** utime + stime of a process, in ms (Linux /proc, 100 ticks per second). */
function serverCpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-ovsdb-seq-'));
const db = join(dir, 'bench.db');
const sock = join(dir, 'db.sock');
const tool = real ? '/usr/bin/ovsdb-tool' : join(root, 'bin/ovsdb-tool');
spawnSync(tool, ['create', db, join(here, 'bench.ovsschema')]);
const serverArgs = [db, `--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir'];
const child = real
  ? spawn('/usr/sbin/ovsdb-server', [...serverArgs, '-vconsole:off'], { stdio: 'ignore' })
  : spawn(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        ...(profDir ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profDir}`] : []),
        process.env.BENCH_SERVER_JS ?? join(root, 'dist/cli/ovsdb-server.js'),
        ...serverArgs,
        '-vconsole:off',
      ],
      { stdio: 'ignore' },
    );
try {
  for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(25);
  const c = await RawClient.open(sock);
  const cpu0 = serverCpuMs(child.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await c.request('transact', [
      'Bench',
      { op: 'insert', table: 'T', row: { name: `r${i}`, n: i } },
    ]);
    if (r.error) throw new Error(JSON.stringify(r.error));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpuUs = ((serverCpuMs(child.pid) - cpu0) * 1000) / n;
  c.close();
  console.log(
    `${real ? 'real OVS' : 'TypeSwitch'}: ${(n / secs).toFixed(0)} transactions/s, server CPU ${cpuUs.toFixed(0)} us/transaction`,
  );
} finally {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
