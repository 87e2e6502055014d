// bench/datapath: the userspace datapath and the classifier, measured in-process, with OVS's
// own classifier benchmark (`ovstest test-classifier benchmark`) side by side where it is built.
//   datapath: Mpps for exact-match-cache hits, megaflow hits with 1, 10 and 100 masks (EMC
//             off), and flow setups per second; batches of 32 64-byte UDP frames
//   classifier: lookups per second with 1,000 and 100,000 rules, wildcard output off and on
// Every case runs in a fresh Node process (esbuild bundle, as the shipped tools are) with a
// warm-up and five timed repetitions; medians are shown.
// Usage: node bench/datapath/run.mjs [--quick] [--json]
//   OVSTEST=/path/to/ovstest overrides where OVS's test driver is looked for
//   (bench/datapath/build-ovstest.sh builds it into /tmp/ovs-bench-build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const asJson = process.argv.includes('--json');
const DP_CASES = ['rx', 'emc', 'mf1', 'mf10', 'mf100', 'upcall'];
const CLS_CASES = [
  'ovs-1k',
  'ovs-100k',
  '5tuple-1k',
  '5tuple-100k',
  'acl-1k',
  'acl-100k',
  'l2-1k',
  'l2-100k',
];
// The arguments of OVS's benchmark for the two "ovs-*" cases: rules, priorities, tables.
const OVS_ARGS = { 'ovs-1k': [1000, 10, 5], 'ovs-100k': [100000, 100, 5] };
const OVS_LOOKUPS = quick ? 500000 : 1000000;
const OVS_REPS = 2;

const load0 = loadavg();
const t0 = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'bench-datapath-'));
const results = { datapath: {}, classifier: {}, ovs: {}, notes: [] };

try {
  await build({
    entryPoints: [join(here, 'dp-bench.ts'), join(here, 'cls-bench.ts')],
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });

  const runCase = (file, name) => {
    const args = [join(dir, file), '--case', name];
    if (quick) args.push('--quick');
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${file} --case ${name} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  for (const c of DP_CASES) results.datapath[c] = runCase('dp-bench.mjs', c);

  const ovsBuild = process.env.OVS_BENCH_BUILD ?? '/tmp/ovs-bench-build';
  const ovstest = process.env.OVSTEST ?? join(ovsBuild, 'tests', 'ovstest');
  const clsBench = join(ovsBuild, 'ovs-cls-bench');
  const haveOvs = existsSync(ovstest);
  const haveClsBench = existsSync(clsBench);
  if (!haveOvs || !haveClsBench) {
    results.notes.push(
      `OVS's ovstest or ovs-cls-bench not found under ${ovsBuild}: run bench/datapath/build-ovstest.sh for the side-by-side classifier numbers`,
    );
  }
  // Our workloads in OVS's classifier (ovs-cls-bench.c): rates per wall and CPU second.
  const runClsBench = (name) => {
    const [, workload, size] = /^(\w+)-(1k|100k)$/.exec(name);
    const args = [workload, size === '1k' ? '1000' : '100000'];
    if (quick) args.push('--quick');
    const r = spawnSync(clsBench, args, { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`ovs-cls-bench ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  // One run of OVS's benchmark: [lookups/s without wildcards, with wildcards, hit rate].
  const runOvs = ([rules, prios, tables]) => {
    const r = spawnSync(
      ovstest,
      ['test-classifier', 'benchmark', `${rules}`, `${prios}`, `${tables}`, '1', `${OVS_LOOKUPS}`],
      { encoding: 'utf8', timeout: 120_000 },
    );
    // Two lines "classifier lookups: N ms, R lookups/sec": without, then with wildcards.
    const rates = [...r.stdout.matchAll(/(\d+) lookups\/sec/g)].map((m) => Number(m[1]));
    const hits = /hits: (\d+), misses: (\d+)/.exec(r.stdout);
    if (r.status !== 0 || rates.length !== 2 || hits === null)
      throw new Error(`ovstest failed: ${r.stdout}${r.stderr}`);
    return [rates[0], rates[1], Number(hits[1]) / (Number(hits[1]) + Number(hits[2]))];
  };
  // OVS's lookups per CPU-second, both modes together: the difference in the process's CPU
  // time between a long and a short run is the CPU time of the extra lookups (set-up cancels
  // out), which unlike the wall clock hardly depends on what else the machine is doing.
  const cpuOf = (args, n) => {
    const r = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        'cpu %U %S',
        ovstest,
        'test-classifier',
        'benchmark',
        ...args.map(String),
        '1',
        `${n}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const t = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
    if (r.status !== 0 || t === null) throw new Error(`ovstest under time failed: ${r.stderr}`);
    return Number(t[1]) + Number(t[2]);
  };
  const ovsCpuRate = (args) => {
    const lo = OVS_LOOKUPS / 2;
    const hi = OVS_LOOKUPS * 2;
    return (2 * (hi - lo)) / (cpuOf(args, hi) - cpuOf(args, lo));
  };
  const haveTime = existsSync('/usr/bin/time');
  for (const c of CLS_CASES) {
    const args = OVS_ARGS[c];
    if (args === undefined && haveClsBench) {
      // Compared per CPU-second, which other load hardly moves: one run is enough.
      results.ovs[c] = runClsBench(c);
      results.classifier[c] = runCase('cls-bench.mjs', c);
      continue;
    }
    if (!haveOvs || args === undefined) {
      results.classifier[c] = runCase('cls-bench.mjs', c);
      continue;
    }
    // OVS's runs straddle ours, so that both see the same machine load.
    const ovs = [];
    for (let rep = 0; rep < Math.ceil(OVS_REPS / 2); rep++) ovs.push(runOvs(args));
    results.classifier[c] = runCase('cls-bench.mjs', c);
    for (let rep = Math.ceil(OVS_REPS / 2); rep < OVS_REPS; rep++) ovs.push(runOvs(args));
    results.ovs[c] = {
      noWc: median(ovs.map((x) => x[0])),
      wc: median(ovs.map((x) => x[1])),
      hitRate: ovs[0][2],
      noWcAll: ovs.map((x) => x[0]),
      wcAll: ovs.map((x) => x[1]),
      bothCpu: haveTime ? ovsCpuRate(args) : null,
    };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const load1 = loadavg();
results.machine = {
  cpus: cpus().length,
  model: cpus()[0]?.model,
  loadBefore: load0.map((x) => x.toFixed(2)).join(' '),
  loadAfter: load1.map((x) => x.toFixed(2)).join(' '),
  seconds: ((performance.now() - t0) / 1000).toFixed(1),
};

if (asJson) {
  console.log(JSON.stringify(results, null, 2));
} else {
  report(results);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function report(r) {
  const m = (x) => (x / 1e6).toFixed(2);
  const k = (x) => Math.round(x / 1000).toLocaleString('en-US');
  const spread = (all) => `${m(Math.min(...all))}–${m(Math.max(...all))}`;
  console.log('\nbench/datapath — DpNetdev, batches of 32 64-byte UDP frames, port 1 -> port 2');
  console.log('| case | Mpps (median) | range | Mpps per CPU-second | detail |');
  console.log('|---|---|---|---|---|');
  const d = r.datapath;
  const row = (label, c, detail) =>
    console.log(
      `| ${label} | ${m(c.mpps * 1e6)} | ${spread(c.all)} | ${m(c.cpuMpps * 1e6)} | ${detail} |`,
    );
  row('receive copy only (floor)', d.rx, 'PacketBatch.add of 32 frames, no datapath');
  row('EMC hits, 1,000 flows', d.emc, `EMC hit rate ${(d.emc.emcHitRate * 100).toFixed(1)}%`);
  for (const c of ['mf1', 'mf10', 'mf100']) {
    const x = d[c];
    row(
      `megaflow hits, ${x.masks} mask${x.masks > 1 ? 's' : ''}, EMC off`,
      x,
      `${x.flows} flows, ${x.subtablesPerHit.toFixed(1)} subtables searched per hit`,
    );
  }
  const u = d.upcall;
  console.log(
    `| flow setups (upcalls) | ${k(u.mpps * 1e6)}k/s | ${k(Math.min(...u.all))}k–${k(Math.max(...u.all))}k | ${k(u.cpuMpps * 1e6)}k/s | ${u.flows} new flows per repetition, trivial handler |`,
  );

  console.log(
    '\nbench/datapath — classifier lookups, million/s (median). OVS: ovs-* rows ovstest test-classifier benchmark (wall clock), others ovs-cls-bench (per CPU-second, as ours)',
  );
  console.log(
    '| workload | rules | subtables | hits | TypeSwitch no wc / wc | OVS no wc / wc | ratio no wc / wc |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, c] of Object.entries(r.classifier)) {
    const o = r.ovs[name];
    // Per CPU-second where OVS's side has it too, else wall clock for both.
    const cpu = o === undefined || o.noWcCpu !== undefined;
    const ours = cpu ? [c.noWcCpu, c.wcCpu] : [c.noWc, c.wc];
    const theirs = o === undefined ? null : cpu ? [o.noWcCpu, o.wcCpu] : [o.noWc, o.wc];
    const hits = `${(c.hitRate * 100).toFixed(0)}%${o ? ` (OVS ${(o.hitRate * 100).toFixed(0)}%)` : ''}`;
    const pair = (xs) => `${m(xs[0])} / ${m(xs[1])}`;
    const ratio = theirs
      ? `${(ours[0] / theirs[0]).toFixed(2)}x / ${(ours[1] / theirs[1]).toFixed(2)}x`
      : '–';
    console.log(
      `| ${name}${cpu ? '' : ' (wall)'} | ${c.rules.toLocaleString('en-US')} | ${c.subtables} | ${hits} | ${pair(ours)} | ${theirs ? pair(theirs) : '–'} | ${ratio} |`,
    );
  }
  console.log('\nclassifier insertions per second (building each workload, from a cold start):');
  console.log(
    Object.entries(r.classifier)
      .map(([n, c]) => `${n} ${k(c.insertsPerSec)}k`)
      .join(', '),
  );
  const cpuRows = Object.entries(r.ovs).filter(([, o]) => o.bothCpu);
  if (cpuRows.length > 0) {
    console.log('\novs-* per CPU-second, lookups without and with wildcards together:');
    for (const [name, o] of cpuRows) {
      const c = r.classifier[name];
      const ours = 2 / (1 / c.noWcCpu + 1 / c.wcCpu);
      console.log(
        `${name}: TypeSwitch ${m(ours)} M/s, OVS ${m(o.bothCpu)} M/s, ratio ${(ours / o.bothCpu).toFixed(2)}x`,
      );
    }
  }
  for (const n of r.notes) console.log(`\nnote: ${n}`);
  const mc = r.machine;
  console.log(
    `\n${mc.cpus} × ${mc.model}; load average ${mc.loadBefore} before, ${mc.loadAfter} after; ${mc.seconds} s`,
  );
}
