/**
 * `ovs-ofctl monitor` with flow monitors (`watch:`, in the Nicira form for OF1.0-1.2, ONF's for
 * OF1.3 and the standard one for OF1.4+) and `invalid_ttl`, side by side with real ovs-ofctl 3.1
 * on real ovs-vswitchd: the initial reply on stdout and the flow updates on stderr must match as
 * flows are added, modified and deleted by another client.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  mask,
  REAL_OFCTL,
  real,
  run,
  type Switch,
  startSwitch,
  stopSwitch,
} from './ovs-ofctl-harness.ts';

let sw: Switch;

before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Watched {
  stdout: string;
  stderr: string;
}

/* Starts a monitor, waits (bounded) for its first reply, changes flows, then ends it. */
async function watch(which: 'real' | 'ours', args: string[]): Promise<Watched> {
  for (const c of [
    ['del-flows', 'br0'],
    ['add-flow', 'br0', 'priority=5,in_port=1,actions=output:2'],
  ]) {
    assert.equal(real(sw, c).status, 0);
  }
  const [cmd, argv] =
    which === 'real' ? [REAL_OFCTL, args] : [process.execPath, [sw.ours, ...args]];
  const p: ChildProcess = spawn(cmd, argv, {
    env: sw.stack.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout?.on('data', (d) => (stdout += d));
  p.stderr?.on('data', (d) => (stderr += d));
  let done = false;
  const closed = new Promise<void>((r) =>
    p.on('close', () => {
      done = true;
      r();
    }),
  );
  try {
    for (let i = 0; i < 200 && !done && !stdout.endsWith('\n'); i++) await sleep(50);
    for (const c of [
      ['add-flow', 'br0', 'priority=6,in_port=1,tcp,idle_timeout=50,cookie=0x12,actions=drop'],
      ['mod-flows', 'br0', 'in_port=1,tcp,actions=output:1'],
      ['del-flows', 'br0', 'in_port=1,tcp'],
      ['add-flow', 'br0', 'priority=9,in_port=2,actions=drop'],
    ]) {
      assert.equal(real(sw, c).status, 0);
    }
    const want = stderr.length;
    for (let i = 0; i < 40 && stderr.length === want; i++) await sleep(50);
    await sleep(300);
  } finally {
    p.kill('SIGTERM');
    await closed;
  }
  return { stdout, stderr: mask(stderr) };
}

async function sameWatch(args: string[]): Promise<void> {
  const r = await watch('real', args);
  const o = await watch('ours', args);
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.match(r.stderr, /event=ADDED table=0 idle_timeout=50 cookie=0x12 tcp,in_port=1/);
}

describe('ovs-ofctl monitor watch: side by side with real ovs-ofctl', () => {
  it('Nicira flow monitors (OpenFlow 1.0): initial flows, additions, changes, deletions', async () => {
    await sameWatch(['monitor', 'br0', 'watch:!own']);
    await sameWatch([
      'monitor',
      'br0',
      'watch:!own,!initial,out_port=2',
      'watch:!own,in_port=1,!actions',
    ]);
  });

  it('ONF flow monitors (OpenFlow 1.3)', async () => {
    await sameWatch(['-O', 'OpenFlow13', 'monitor', 'br0', 'watch:!own,in_port=1']);
  });

  it('standard flow monitors (OpenFlow 1.4 and 1.5), with the request printed by --more', async () => {
    await sameWatch(['-O', 'OpenFlow14', 'monitor', 'br0', 'watch:!own,in_port=1']);
    await sameWatch([
      '-O',
      'OpenFlow15',
      '--more',
      'monitor',
      'br0',
      'watch:!own,!actions,table=0,tcp',
    ]);
  });

  it('invalid_ttl with a watch and a miss_send_len', async () => {
    await sameWatch(['monitor', 'br0', 'invalid_ttl', 'watch:!own,tcp,in_port=1']);
    await sameWatch(['-O', 'OpenFlow12', 'monitor', 'br0', 'invalid_ttl', 'watch:!own']);
    await sameWatch(['monitor', 'br0', '128', 'watch:!own,tcp,in_port=1']);
  });

  it('errors: bad watch specifications, invalid_ttl without OF1.0-1.2', () => {
    for (const a of [
      ['monitor', 'br0', 'watch:bogus=1'],
      ['monitor', 'br0', 'watch:table=x'],
      ['monitor', 'br0', 'watch:in_port'],
      ['monitor', 'br0', 'watch:in_port=foo'],
      ['-O', 'OpenFlow13', 'monitor', 'br0', 'invalid_ttl'],
    ]) {
      const r = run(sw, 'real', a);
      const o = run(sw, 'ours', a);
      assert.equal(o.stderr, r.stderr, `stderr of ${a.join(' ')}`);
      assert.equal(o.status, r.status, `status of ${a.join(' ')}`);
    }
  });
});
