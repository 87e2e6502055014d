/**
 * The seed walkthrough's ovs-vsctl commands (VLAN trunk/access ports and the sFlow
 * configuration), with its typographic mistakes fixed, run by our ovs-vsctl and by real
 * ovs-vsctl 3.1 against fresh real ovsdb-servers: outputs and databases must be identical.
 * The mistakes themselves get a precise error and change nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareScenario, dump, runVsctl, startServer, stopServer } from './ovs-vsctl-harness.ts';

const SFLOW_CREATE = [
  '--',
  '--id=@sflow',
  'create',
  'sflow',
  'agent=eth1',
  'target="198.18.0.9:6343"',
  'header=128',
  'sampling=64',
  'polling=10',
  '--',
  'set',
  'bridge',
  'br0',
  'sflow=@sflow',
];

test('seed VLAN walkthrough: add-br, add-port, access ports with tag', async () => {
  const [ours, real] = await compareScenario([
    ['add-br', 'br0'],
    ['add-port', 'br0', 'eth0'],
    ['add-port', 'br0', 'tap0', 'tag=1'],
    ['add-port', 'br0', 'tap0', 'tag=2'],
    ['add-port', 'br0', 'tap1', 'tag=2'],
    ['list-ports', 'br0'],
    ['get', 'port', 'tap0', 'tag'],
    { args: ['show'], unordered: true },
  ]);
  assert.equal(ours, real);
});

test('seed sFlow walkthrough: create with --id, list sflow, remove bridge br0 sflow <uuid>', async () => {
  const [ours, real] = await compareScenario([
    ['add-br', 'br0'],
    SFLOW_CREATE,
    ['list', 'sflow'],
    ['get', 'bridge', 'br0', 'sflow'],
    // The walkthrough's $SFLOWUUID: the UUID the first command of this call printed.
    { args: (prev) => ['remove', 'bridge', 'br0', 'sflow', (prev[1]?.stdout ?? '').trim()] },
    ['get', 'bridge', 'br0', 'sflow'],
    ['list', 'sflow'],
  ]);
  assert.equal(ours, real);
});

test('the seed sFlow command as pasted (em dash, -id, curly quotes) is refused and changes nothing', async () => {
  const s = await startServer();
  try {
    runVsctl('ours', s, [`--db=unix:${s.sock}`, '--no-wait', 'add-br', 'br0']);
    const before = dump(s);
    const pasted = [
      `--db=unix:${s.sock}`,
      '--no-wait',
      '--',
      '-id=@sflow',
      'create',
      'sflow',
      'agent=eth1',
      'target=\u201d198.18.0.9:6343\u201d',
      'header=128',
      'sampling=64',
      'polling=10',
      '\u2014',
      'set',
      'bridge',
      'br0',
      'sflow=@sflow',
    ];
    const r = runVsctl('ours', s, pasted);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'ovs-vsctl: "-id=@sflow" has a single dash; use "--id=@sflow"\n' +
        'ovs-vsctl: "target=\u201d198.18.0.9:6343\u201d" contains a right double quotation mark (U+201D); use a straight quote " (type \\" or \'"\' in the shell)\n' +
        'ovs-vsctl: "\u2014" is an em dash (U+2014); use "--" to separate commands\n',
    );
    assert.equal(dump(s), before);
    // Each mistake on its own is caught too.
    const em = runVsctl('ours', s, [`--db=unix:${s.sock}`, 'list-br', '\u2014', 'list-br']);
    assert.deepEqual(
      [em.status, em.stderr],
      [1, 'ovs-vsctl: "\u2014" is an em dash (U+2014); use "--" to separate commands\n'],
    );
    const emOpt = runVsctl('ours', s, [
      `--db=unix:${s.sock}`,
      '\u2014id=@s',
      'create',
      'sflow',
      'targets=x',
    ]);
    assert.deepEqual(
      [emOpt.status, emOpt.stderr],
      [1, 'ovs-vsctl: "\u2014id=@s" starts with an em dash (U+2014); use "--id=@s"\n'],
    );
    const left = runVsctl('ours', s, [
      `--db=unix:${s.sock}`,
      'set',
      'bridge',
      'br0',
      'external_ids:a=\u201cx\u201d',
    ]);
    assert.equal(left.status, 1);
    assert.match(left.stderr, /left double quotation mark \(U\+201C\)/);
    // A curly apostrophe inside a value is ordinary text.
    const ok = runVsctl('ours', s, [
      `--db=unix:${s.sock}`,
      '--no-wait',
      'set',
      'bridge',
      'br0',
      'external_ids:note="it\u2019s fine"',
    ]);
    assert.deepEqual([ok.status, ok.stderr], [0, '']);
  } finally {
    stopServer(s);
  }
});

test('without --no-wait, a change waits for cur_cfg and -t expiry dies of SIGALRM like real ovs-vsctl', async () => {
  const s = await startServer();
  try {
    const t0 = Date.now();
    const ours = runVsctl('ours', s, [`--db=unix:${s.sock}`, '-t', '1', 'add-br', 'br0']);
    const real = runVsctl('real', s, [`--db=unix:${s.sock}`, '-t', '1', 'add-br', 'br1']);
    assert.ok(Date.now() - t0 >= 2000);
    assert.equal(ours.signal, 'SIGALRM');
    assert.equal(real.signal, 'SIGALRM');
    const line =
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|00002\|fatal_signal\|WARN\|terminating with signal 14 \(Alarm clock\)\n$/;
    assert.match(ours.stderr, line);
    assert.match(real.stderr, line);
    // The change itself was committed (both bridges exist) with next_cfg bumped twice.
    const list = runVsctl('real', s, [`--db=unix:${s.sock}`, 'list-br']);
    assert.equal(list.stdout, 'br0\nbr1\n');
    const cfg = runVsctl('real', s, [`--db=unix:${s.sock}`, 'get', 'open', '.', 'next_cfg']);
    assert.equal(cfg.stdout, '2\n');
    // Read-only commands and unchanged transactions do not wait.
    const ro = runVsctl('ours', s, [
      `--db=unix:${s.sock}`,
      '-t',
      '1',
      'list-br',
      '--',
      '--may-exist',
      'add-br',
      'br0',
    ]);
    assert.deepEqual([ro.status, ro.stdout], [0, 'br0\nbr1\n']);
  } finally {
    stopServer(s);
  }
});

test('a change returns as soon as ovs-vswitchd (here: a stand-in writing cur_cfg) catches up', async () => {
  const s = await startServer();
  try {
    const { spawn } = await import('node:child_process');
    const { ourVsctl, ROOT } = await import('./ovs-vsctl-harness.ts');
    const child = spawn(
      process.execPath,
      [ourVsctl(), `--db=unix:${s.sock}`, '-t', '10', 'add-br', 'br0'],
      {
        env: { ...process.env, OVS_PKGDATADIR: `${ROOT}/schema` },
      },
    );
    const done = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let next = '';
    for (let i = 0; i < 100 && (next === '' || next === '0'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      next = runVsctl('real', s, [
        `--db=unix:${s.sock}`,
        '--no-wait',
        'get',
        'open',
        '.',
        'next_cfg',
      ]).stdout.trim();
    }
    assert.equal(next, '1');
    runVsctl('real', s, [
      `--db=unix:${s.sock}`,
      '--no-wait',
      'set',
      'open',
      '.',
      `cur_cfg=${next}`,
    ]);
    assert.equal(await done, 0);
  } finally {
    stopServer(s);
  }
});

test('wait-until blocks until another client makes the condition true', async () => {
  const s = await startServer();
  try {
    const { runVsctlAsync } = await import('./ovs-vsctl-harness.ts');
    const waiter = runVsctlAsync('ours', s, [
      `--db=unix:${s.sock}`,
      '--no-wait',
      '-t',
      '10',
      'wait-until',
      'bridge',
      'br9',
      'external_ids:ready=yes',
      '--',
      'get',
      'bridge',
      'br9',
      'name',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    runVsctl('real', s, [`--db=unix:${s.sock}`, '--no-wait', 'add-br', 'br9']);
    await new Promise((r) => setTimeout(r, 200));
    runVsctl('real', s, [
      `--db=unix:${s.sock}`,
      '--no-wait',
      'br-set-external-id',
      'br9',
      'ready',
      'yes',
    ]);
    const r = await waiter;
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, 'br9\n', '']);
  } finally {
    stopServer(s);
  }
});

test('concurrent read-modify-write calls retry on conflict and lose no update', async () => {
  const s = await startServer();
  try {
    const { runVsctlAsync } = await import('./ovs-vsctl-harness.ts');
    runVsctl('real', s, [`--db=unix:${s.sock}`, '--no-wait', 'add-br', 'br0']);
    const n = 8;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        runVsctlAsync('ours', s, [
          `--db=unix:${s.sock}`,
          '--no-wait',
          'br-set-external-id',
          'br0',
          `k${i}`,
          `v${i}`,
        ]),
      ),
    );
    for (const r of results) assert.deepEqual([r.status, r.stderr], [0, '']);
    const got = runVsctl('real', s, [`--db=unix:${s.sock}`, 'br-get-external-id', 'br0']);
    assert.equal(got.stdout, Array.from({ length: n }, (_, i) => `k${i}=v${i}\n`).join(''));
  } finally {
    stopServer(s);
  }
});

test('without --db, both use unix:$OVS_RUNDIR/db.sock', async () => {
  const s = await startServer();
  try {
    // runVsctl sets OVS_RUNDIR to the server's directory, where its socket is db.sock.
    assert.equal(runVsctl('ours', s, ['--no-wait', 'add-br', 'br0']).status, 0);
    assert.equal(runVsctl('real', s, ['--no-wait', 'list-br']).stdout, 'br0\n');
    assert.equal(runVsctl('ours', s, ['br-exists', 'br0']).status, 0);
    assert.equal(runVsctl('ours', s, ['br-exists', 'br1']).status, 2);
  } finally {
    stopServer(s);
  }
});
