/**
 * time/stop and time/warp (ovs-vswitchd --enable-dummy), as OVS's own tests drive them, side by
 * side on our switch and real ovs-vswitchd 3.1: flow idle and hard timeouts, idle_age after a
 * warp, MAC aging, and the commands' replies and errors. Both switches must print the same.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { appctl, dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

function ofctl(s: Stack, args: string[]): string {
  const r = spawnSync('/usr/bin/ovs-ofctl', args, { encoding: 'utf8', env: s.env });
  if (r.status !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** dump-flows without the fields that depend on when the flow was added. */
function flows(s: Stack): string {
  return ofctl(s, ['dump-flows', 'br0'])
    .replace(/ duration=[\d.]+s,/g, '')
    .replace(/ cookie=0x0,/g, '');
}

function warp(s: Stack, args: string[]): string {
  const r = appctl(s, ['time/warp', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** One scenario, returning everything it printed. */
async function scenario(s: Stack): Promise<string[]> {
  const out: string[] = [];
  const r = vsctl(s, dummyBridge('br0', [1, 2]));
  assert.equal(r.status, 0, r.stderr);
  out.push(`stop:${JSON.stringify(appctl(s, ['time/stop']).stdout)}`);
  ofctl(s, ['add-flow', 'br0', 'priority=10,in_port=1,idle_timeout=5,actions=drop']);
  ofctl(s, ['add-flow', 'br0', 'priority=20,in_port=2,hard_timeout=8,actions=NORMAL']);
  ofctl(s, ['add-flow', 'br0', 'priority=0,actions=NORMAL']);
  out.push(flows(s));
  out.push(warp(s, ['3000', '1000']));
  out.push(flows(s));
  out.push(warp(s, ['3000']));
  // 6 s: the idle flow (never hit) has expired; the hard one has 2 s left.
  out.push(flows(s));
  out.push(warp(s, ['3000', '500']));
  out.push(flows(s));
  // A MAC learned on a NORMAL bridge ages out after mac-aging-time (set low here).
  vsctl(s, ['set', 'bridge', 'br0', 'other_config:mac-aging-time=20']);
  const pkt =
    'in_port(1),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2)';
  appctl(s, ['netdev-dummy/receive', 'p1', pkt]);
  // The receive is queued (in both switches); wait, bounded, until the MAC is learned.
  let fdb = '';
  for (let i = 0; i < 100 && !fdb.includes('50:54:00:00:00:01'); i++) {
    await sleep(20);
    fdb = appctl(s, ['fdb/show', 'br0']).stdout;
  }
  warp(s, ['1000']);
  out.push(appctl(s, ['fdb/show', 'br0']).stdout.replace(/ +\d+$/gm, ' AGE'));
  out.push(warp(s, ['30000', '5000']));
  out.push(appctl(s, ['fdb/show', 'br0']).stdout);
  for (const bad of [['0'], ['-5', '10'], ['x']]) {
    const e = appctl(s, ['time/warp', ...bad]);
    out.push(`${bad.join(' ')} -> ${e.status} ${e.stdout}${e.stderr}`);
  }
  return out;
}

describe('time/warp on our switch and on real ovs-vswitchd', () => {
  let ours: string[] = [];
  let real: string[] = [];
  sideBySide(scenario, (which, r) => {
    if (which === 'real') real = r;
    else ours = r;
  });

  it('flows expire by idle and hard timeouts only when the clock is warped past them', () => {
    // The scenario itself is meaningful: the idle flow is there, then gone.
    assert.match(real[1] ?? '', /idle_timeout=5/);
    assert.doesNotMatch(real[5] ?? '', /idle_timeout=5/);
    assert.match(real[5] ?? '', /hard_timeout=8/);
    assert.doesNotMatch(real[7] ?? '', /hard_timeout=8/);
    assert.deepEqual(ours.slice(0, 8), real.slice(0, 8));
  });

  it('MAC entries age out on the warped clock', () => {
    assert.match(real[8] ?? '', /50:54:00:00:00:01/);
    assert.doesNotMatch(real[10] ?? '', /50:54:00:00:00:01/);
    assert.deepEqual(ours.slice(8, 11), real.slice(8, 11));
  });

  it("bad arguments get OVS's errors", () => {
    assert.match(real[11] ?? '', /invalid MSECS/);
    assert.deepEqual(ours.slice(11), real.slice(11));
  });
});
