// bench/ovsdb/startup.mjs: how long a fresh ovsdb-server takes from its start until its
// socket accepts connections (the warm-up runs before it listens), median of N starts.
// Usage: node bench/ovsdb/startup.mjs [--real] [N]
//   BENCH_SERVER_JS=FILE: another build of TypeSwitch's ovsdb-server (A/B comparisons)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitAccepting } from './accepting.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const real = args.includes('--real');
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const times = [];
for (let i = 0; i < n; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ovsdb-start-'));
  const db = join(dir, 'bench.db');
  const sock = join(dir, 'db.sock');
  spawnSync(real ? '/usr/bin/ovsdb-tool' : join(root, 'bin/ovsdb-tool'), [
    'create',
    db,
    join(here, 'bench.ovsschema'),
  ]);
  const serverArgs = [db, `--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir'];
  const t0 = performance.now();
  const child = real
    ? spawn('/usr/sbin/ovsdb-server', [...serverArgs, '-vconsole:off'], { stdio: 'ignore' })
    : spawn(
        process.execPath,
        [
          process.env.BENCH_SERVER_JS ?? join(root, 'bin/ovsdb-server'),
          ...serverArgs,
          '-vconsole:off',
        ],
        { stdio: 'ignore' },
      );
  try {
    await waitAccepting(sock);
    times.push(performance.now() - t0);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
times.sort((a, b) => a - b);
console.log(
  `${real ? 'real OVS' : 'TypeSwitch'}: start-up to accepting, median of ${n}: ${times[n >> 1].toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(' ')})`,
);
