/**
 * bin/ovsdb-client side by side with real ovsdb-client 3.1, both against the same real
 * ovsdb-server: stdout, stderr and exit status must be byte-identical (uuids come from the
 * server, so they match; only timestamps are normalized).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  makePki,
  OVSDB_CLIENT,
  type RealServer,
  startRealServer,
  vsctl,
} from './ovsdb-client-harness.ts';

const ROOT = join(import.meta.dirname, '..');
const OURS = join(ROOT, 'bin', 'ovsdb-client');

/** Builds dist/; if another CLI in the tree does not build yet, builds ovsdb-client alone. */
async function buildOnce(): Promise<void> {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { encoding: 'utf8' });
  if (r.status === 0) return;
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'ovsdb-client.ts')],
    outdir: join(ROOT, 'dist', 'cli'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __tsCreateRequire } from 'node:module'; const require = __tsCreateRequire(import.meta.url);",
    },
  });
}

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

function run(cmd: string, args: string[], input?: Buffer): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input,
    timeout: 10000,
    env: { ...process.env, OVS_RUNDIR: '/nonexistent-rundir' },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

/** getopt names the program by argv[0], which differs between the two binaries. */
function normProgram(r: Run, argv0: string): Run {
  return { ...r, stderr: r.stderr.split(`${argv0}: `).join('ovsdb-client: ') };
}

function same(args: string[]): Run {
  const real = normProgram(run(OVSDB_CLIENT, args), OVSDB_CLIENT);
  const ours = normProgram(run(OURS, args), OURS);
  assert.deepEqual(ours, real, `ovsdb-client ${args.join(' ')}`);
  return real;
}

let server: RealServer;

describe('ovsdb-client against real ovsdb-client 3.1', { timeout: 60000 }, () => {
  before(async () => {
    await buildOnce();
    server = await startRealServer();
    vsctl(
      server,
      'init',
      '--',
      'add-br',
      'br0',
      '--',
      'set',
      'bridge',
      'br0',
      'external_ids:a=b',
      'external_ids:"x y"="q,\\"é"',
      'other_config:hwaddr=00:11:22:33:44:55',
      '--',
      'add-port',
      'br0',
      'p1',
      '--',
      'set',
      'interface',
      'p1',
      'type=dummy',
      'options:n=3',
      '--',
      'add-br',
      'br1',
    );
  });
  after(async () => {
    await server?.cleanup();
  });

  it('schema commands', () => {
    const S = server.remote;
    assert.equal(same(['list-dbs', S]).stdout, 'Open_vSwitch\n_Server\n');
    assert.equal(same(['get-schema-version', S]).stdout, '8.3.1\n');
    same(['get-schema-cksum', S]);
    same(['get-schema', S]);
    same(['get-schema', S, '_Server']);
    same(['--pretty', 'get-schema', S]);
    // list-tables and list-columns print in OVS's hash-table order.
    assert.match(same(['list-tables', S]).stdout, /^Table\n-+\nController\nBridge\n/);
    same(['list-tables', S, '_Server']);
    same(['list-columns', S, 'Open_vSwitch', 'Port']);
    same(['list-columns', S]);
    same(['-f', 'csv', 'list-columns', S, 'Open_vSwitch', 'Interface']);
  });

  it('dump in every format', () => {
    const S = server.remote;
    const t = same(['dump', S]);
    assert.match(t.stdout, /^AutoAttach table\n/);
    same(['dump', S, 'Open_vSwitch', 'Bridge', 'name', 'external_ids', 'ports']);
    for (const f of ['table', 'list', 'csv', 'html', 'json']) {
      same([`--format=${f}`, 'dump', S]);
      same([`--format=${f}`, '--no-headings', 'dump', S, 'Interface']);
    }
    for (const d of ['string', 'bare', 'json'])
      same([`--data=${d}`, 'dump', S, 'Open_vSwitch', 'Bridge']);
    same(['--bare', 'dump', S]);
    same(['--pretty', '-f', 'json', 'dump', S, 'Open_vSwitch', 'Port']);
    same(['dump', S, '_Server']);
  });

  it('transact and query', () => {
    const S = server.remote;
    const sel =
      '["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["name","datapath_type"]}]';
    assert.match(same(['transact', S, sel]).stdout, /"name":"br0"/);
    same(['query', S, sel]);
    same(['query', S, '["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":7}}]']);
    same(['transact', S, '["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":7}}]']);
    same(['transact', S, '["nodb",{"op":"select","table":"Bridge","where":[]}]']);
    same(['--pretty', 'transact', S, sel]);
  });

  it('errors and exit statuses', () => {
    const S = server.remote;
    for (const args of [
      [],
      ['foo'],
      ['list-dbs', S, 'extra'],
      ['list-dbs', 'unix:/nonexistent/db.sock'],
      ['get-schema', S, 'nodb'],
      ['dump', S, 'Open_vSwitch', 'Nope'],
      ['dump', S, 'Open_vSwitch', 'Bridge', 'nocol'],
      ['--format=xml', 'dump', S],
      ['--data=xml', 'dump', S],
      ['--timeout=0', 'list-dbs', S],
      ['--bogus', 'list-dbs', S],
      ['transact', S, '["Open_vSwitch",{"op":"select"'],
      ['transact', S, '[1]'],
      ['monitor', S, 'Open_vSwitch', 'Nope'],
      ['monitor', S, 'Open_vSwitch', 'Bridge', 'name,nope'],
      ['monitor', S, 'Open_vSwitch', 'Bridge', 'name,name'],
    ]) {
      const r = same(args);
      assert.notEqual(r.status, 0, args.join(' '));
    }
  });

  it('backup prints the same database file (but for its date)', () => {
    const norm = (s: string): string[] => {
      const lines = s.split('\n');
      // Record 2's header holds the length and SHA-1 of a text that contains the date.
      lines[2] = (lines[2] as string).replace(/ [0-9a-f]{40}$/, ' SHA1');
      lines[3] = (lines[3] as string).replace(/"_date":\d+/, '"_date":0');
      return lines;
    };
    const real = execFileSync(OVSDB_CLIENT, ['backup', server.remote]).toString('utf8');
    const ours = execFileSync(OURS, ['backup', server.remote]).toString('utf8');
    assert.deepEqual(norm(ours), norm(real));
    assert.match(real, /^OVSDB JSON \d+ [0-9a-f]{40}\n\{/);
  });

  it('monitor and monitor-cond print initial contents and updates identically', async () => {
    const S = server.remote;
    const cases: string[][] = [
      ['monitor', S, 'Bridge'],
      ['monitor', S, 'Open_vSwitch', 'Bridge', 'name,external_ids,ports'],
      ['monitor', S, 'ALL'],
      ['--format=csv', 'monitor', S, 'Open_vSwitch', 'Interface', 'name,type,!initial'],
      [
        'monitor-cond',
        S,
        'Open_vSwitch',
        '[["name","==","brX"]]',
        'Bridge',
        'name,external_ids,other_config',
      ],
      ['monitor-cond-since', S, 'Open_vSwitch', '[true]', 'Bridge', 'name,external_ids'],
      ['-f', 'json', 'monitor-cond', S, 'Open_vSwitch', '[true]', 'Port'],
      ['--format=list', 'monitor', S, 'Open_vSwitch', 'Port', 'name,interfaces,!delete'],
      ['--timestamp', 'monitor', S, 'Open_vSwitch', 'Bridge', 'name'],
    ];
    const procs: { args: string[]; real: Watched; ours: Watched }[] = cases.map((args) => ({
      args,
      real: watch(OVSDB_CLIENT, args),
      ours: watch(OURS, args),
    }));
    try {
      for (const p of procs) {
        // Nothing to print yet when initial rows are not wanted or none match.
        if (p.args.some((a) => a.includes('!initial') || a.includes('brX'))) continue;
        await waitFor(() => p.real.out.length > 0 && p.ours.out.length > 0, 5000);
      }
      await settle(procs.flatMap((p) => [p.real, p.ours]));
      vsctl(server, 'add-br', 'brX', '--', 'set', 'bridge', 'brX', 'external_ids:k=v');
      await settle(procs.flatMap((p) => [p.real, p.ours]));
      vsctl(
        server,
        'set',
        'bridge',
        'brX',
        'external_ids:k=w',
        'other_config:a=1',
        '--',
        'add-port',
        'brX',
        'pX',
      );
      await settle(procs.flatMap((p) => [p.real, p.ours]));
      vsctl(server, 'del-br', 'brX');
      await settle(procs.flatMap((p) => [p.real, p.ours]));
    } finally {
      for (const p of procs) {
        p.real.child.kill('SIGTERM');
        p.ours.child.kill('SIGTERM');
      }
      await Promise.all(procs.flatMap((p) => [p.real.exited, p.ours.exited]));
    }
    const norm = (s: string): string => s.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIME|');
    const normStamp = (s: string): string =>
      s.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/gm, 'STAMP');
    for (const p of procs) {
      assert.equal(
        normStamp(p.ours.out),
        normStamp(p.real.out),
        `stdout of ovsdb-client ${p.args.join(' ')}`,
      );
      assert.equal(
        norm(p.ours.err),
        norm(p.real.err),
        `stderr of ovsdb-client ${p.args.join(' ')}`,
      );
    }
    const stamped = procs[procs.length - 1] as { real: Watched };
    assert.match(stamped.real.out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\nrow +action +name\n/);
    const all = procs[2] as { real: Watched };
    assert.match(all.real.out, /Bridge\nrow +action/);
    assert.match(all.real.out, /delete/);
  });
});

const normTime = (s: string): string => s.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIME|');

describe('ovsdb-client wait and lock against real ovsdb-client 3.1', { timeout: 30000 }, () => {
  let srv: RealServer;
  before(async () => {
    await buildOnce();
    srv = await startRealServer();
  });
  after(async () => {
    await srv?.cleanup();
  });

  it('wait DATABASE added/connected returns at once, logging the connection', () => {
    for (const state of ['added', 'connected']) {
      const args = ['wait', srv.remote, 'Open_vSwitch', state];
      const real = run(OVSDB_CLIENT, args);
      const ours = run(OURS, args);
      assert.equal(real.status, 0);
      assert.deepEqual(
        { ...ours, stderr: normTime(ours.stderr) },
        { ...real, stderr: normTime(real.stderr) },
      );
      assert.match(real.stderr, /reconnect\|INFO\|unix:.*: connected\n$/);
    }
    same(['wait', srv.remote, 'Open_vSwitch', 'bogus']);
  });

  it('--timeout ends the tool with SIGALRM, as OVS does', () => {
    const args = ['--timeout=1', 'wait', srv.remote, 'NoSuchDb', 'added'];
    const real = run(OVSDB_CLIENT, args);
    const ours = run(OURS, args);
    assert.equal(real.signal, 'SIGALRM');
    assert.deepEqual(
      { ...ours, stderr: normTime(ours.stderr) },
      { ...real, stderr: normTime(real.stderr) },
    );
  });

  it('wait for a database that is not there blocks until killed', async () => {
    const args = ['wait', srv.remote, 'NoSuchDb', 'added'];
    const real = watch(OVSDB_CLIENT, args);
    const ours = watch(OURS, args);
    // Both connected (a loaded machine may take a while to start Node), then still waiting.
    await waitFor(
      () => real.err.includes('connected\n') && ours.err.includes('connected\n'),
      10_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(real.child.exitCode, null);
    assert.equal(ours.child.exitCode, null);
    real.child.kill('SIGTERM');
    ours.child.kill('SIGTERM');
    await Promise.all([real.exited, ours.exited]);
    assert.equal(normTime(ours.err), normTime(real.err));
  });

  it('lock, contention, release and steal print the same', async () => {
    // Each tool holds the lock first while the other queues; then a stealer takes it.
    for (const [first, second] of [
      [OVSDB_CLIENT, OURS],
      [OURS, OVSDB_CLIENT],
    ] as const) {
      const a = watch(first, ['lock', srv.remote, 'L']);
      await waitFor(() => a.out.length > 0, 5000);
      const b = watch(second, ['lock', srv.remote, 'L']);
      await waitFor(() => b.out.length > 0, 5000);
      a.child.kill('SIGTERM');
      await a.exited;
      await waitFor(() => b.out.includes('locked\n'), 5000);
      const c = watch(first, ['steal', srv.remote, 'L']);
      await waitFor(() => c.out.length > 0 && b.out.includes('stolen'), 5000);
      b.child.kill('SIGTERM');
      await b.exited;
      // The server tells the stealer "locked" once the robbed client is gone.
      await waitFor(() => c.out.includes('locked\n['), 5000);
      c.child.kill('SIGTERM');
      await c.exited;
      assert.equal(a.out, '{"locked":true}\n');
      assert.equal(b.out, '{"locked":false}\nlocked\n["L"]\nstolen\n["L"]\n');
      assert.equal(c.out, '{"locked":true}\nlocked\n["L"]\n');
    }
  });
});

describe('ovsdb-client over ssl: against real ovsdb-server', { timeout: 30000 }, () => {
  let srv: RealServer;
  let pkiDir: string;
  let client: { privateKey: string; certificate: string; caCert: string };
  before(async () => {
    await buildOnce();
    pkiDir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-client-pki-'));
    const pki = makePki(pkiDir);
    client = pki.client;
    srv = await startRealServer({ ssl: pki.server });
  });
  after(async () => {
    await srv?.cleanup();
    if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
  });

  it('connects with -p/-c/-C and --private-key/--certificate/--ca-cert', () => {
    const remote = srv.sslRemote as string;
    const short = ['-p', client.privateKey, '-c', client.certificate, '-C', client.caCert];
    const long = [
      `--private-key=${client.privateKey}`,
      `--certificate=${client.certificate}`,
      `--ca-cert=${client.caCert}`,
    ];
    assert.equal(same([...short, 'list-dbs', remote]).stdout, 'Open_vSwitch\n_Server\n');
    same([...long, 'dump', remote, 'Open_vSwitch', 'Open_vSwitch']);
  });

  it('refuses ssl: without the key, certificate and CA certificate, as OVS does', () => {
    const remote = srv.sslRemote as string;
    for (const extra of [[], ['-p', client.privateKey]]) {
      const args = [...extra, 'list-dbs', remote];
      const real = run(OVSDB_CLIENT, args);
      const ours = run(OURS, args);
      assert.equal(real.status, 1);
      assert.deepEqual(
        { ...ours, stderr: normTime(ours.stderr) },
        { ...real, stderr: normTime(real.stderr) },
      );
    }
  });
});

interface Watched {
  child: ChildProcess;
  out: string;
  err: string;
  exited: Promise<unknown>;
  lastChange: number;
}

function watch(cmd: string, args: string[]): Watched {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Watched = {
    child,
    out: '',
    err: '',
    exited: new Promise((r) => child.once('close', r)),
    lastChange: Date.now(),
  };
  child.stdout?.on('data', (d: Buffer) => {
    w.out += d.toString('utf8');
    w.lastChange = Date.now();
  });
  child.stderr?.on('data', (d: Buffer) => {
    w.err += d.toString('utf8');
  });
  return w;
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until no watched process has printed anything for 150 ms (bounded to 3 s). */
async function settle(ws: Watched[]): Promise<void> {
  const deadline = Date.now() + 3000;
  await new Promise((r) => setTimeout(r, 50));
  while (Date.now() < deadline && ws.some((w) => Date.now() - w.lastChange < 150)) {
    await new Promise((r) => setTimeout(r, 25));
  }
}
