/**
 * Fair eviction (Flow_Table `groups`): when a full table with overflow_policy=evict must make
 * room, the flow that goes is the one expiring soonest in the largest group, not the one
 * expiring soonest overall; without groups, the soonest overall. Ours against real
 * ovs-vswitchd 3.1, driven by real ovs-vsctl and ovs-ofctl, dumps compared at every step.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

function ofctl(s: Stack, args: string[], input?: string): string {
  const r = spawnSync('/usr/bin/ovs-ofctl', args, { encoding: 'utf8', env: s.env, input });
  assert.equal(r.status, 0, `ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const flows = (s: Stack): string =>
  ofctl(s, ['--no-stats', 'dump-flows', 'br0'])
    .split('\n')
    .filter((l) => l.includes('actions='))
    .map((l) => l.trim())
    .sort()
    .join('\n');

function scenario(s: Stack): string[] {
  const steps: string[] = [];
  const r = vsctl(s, [
    ...dummyBridge('br0', [1, 2]),
    '--',
    '--id=@t',
    'create',
    'Flow_Table',
    'name=fair',
    'flow-limit=3',
    'overflow-policy=evict',
    'groups="NXM_OF_ETH_DST[]"',
    '--',
    'set',
    'bridge',
    'br0',
    'fail_mode=secure',
    'flow_tables:0=@t',
  ]);
  assert.equal(r.status, 0, r.stderr);
  ofctl(
    s,
    ['add-flows', 'br0', '-'],
    [
      'hard_timeout=15,dl_dst=02:00:00:00:00:0a,dl_src=02:00:00:00:01:01,actions=output:1',
      'hard_timeout=25,dl_dst=02:00:00:00:00:0b,dl_src=02:00:00:00:01:02,actions=output:2',
      'hard_timeout=35,dl_dst=02:00:00:00:00:0b,dl_src=02:00:00:00:01:03,actions=output:2',
    ].join('\n'),
  );
  steps.push(flows(s));
  // The largest group (dl_dst ...:0b) gives up its soonest flow, not the soonest overall.
  ofctl(s, ['add-flow', 'br0', 'dl_dst=02:00:00:00:00:0a,dl_src=02:00:00:00:01:04,actions=drop']);
  steps.push(flows(s));
  // Without groups, the soonest overall goes.
  assert.equal(vsctl(s, ['set', 'Flow_Table', 'fair', 'groups=[]', 'flow-limit=4']).status, 0);
  ofctl(s, ['add-flow', 'br0', 'hard_timeout=45,dl_dst=02:00:00:00:00:0c,actions=drop']);
  ofctl(s, ['add-flow', 'br0', 'hard_timeout=55,dl_dst=02:00:00:00:00:0d,actions=drop']);
  steps.push(flows(s));
  return steps;
}

describe('eviction with Flow_Table groups', () => {
  const seen: Partial<Record<'real' | 'ours', string[]>> = {};
  sideBySide(scenario, (which, r) => {
    seen[which] = r;
  });

  it('evicts the same flows as real ovs-vswitchd at each step', () => {
    const real = seen.real as string[];
    assert.equal(real.length, 3);
    // The scenario means what it says on real OVS: the soonest flow overall survived the
    // first eviction and went in the last.
    assert.match(real[1], /hard_timeout=15/);
    assert.doesNotMatch(real[1], /hard_timeout=25/);
    assert.doesNotMatch(real[2], /hard_timeout=15/);
    assert.deepEqual(seen.ours, real);
  });
});
