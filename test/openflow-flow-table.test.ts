/**
 * Flow_Table rows (name, flow_limit, overflow_policy) configured with real ovs-vsctl, seen
 * through real ovs-ofctl 3.1, on our switch and on real ovs-vswitchd: a full table refuses a
 * new flow with OFPFMFC_TABLE_FULL, or with overflow_policy=evict gives up the flow that would
 * expire soonest (only flows with timeouts are evictable); a lower limit evicts down to it;
 * table features and stats carry the name and the limit. Both switches must print the same.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { dummyBridge, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

function ofctl(s: Stack, args: string[]): string {
  const r = spawnSync('/usr/bin/ovs-ofctl', ['--timeout=10', ...args], {
    encoding: 'utf8',
    env: s.env,
  });
  // Errors name the xid of the request that failed; the message itself must match.
  return `$ ovs-ofctl ${args.join(' ')} -> ${r.status}\n${r.stdout}${r.stderr}`;
}

function table(s: Stack, settings: string[]): string {
  const r = vsctl(s, [
    ...['--', '--id=@ft', 'create', 'Flow_Table', ...settings],
    ...['--', 'set', 'bridge', 'br0', 'flow_tables:0=@ft'],
  ]);
  assert.equal(r.status, 0, r.stderr);
  return `$ Flow_Table ${settings.join(' ')}\n`;
}

/* Table 0's block of a dump-table-features or dump-tables reply. */
const table0 = (out: string): string => {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => /^ {2}table 0/.test(l));
  const end = lines.findIndex((l, i) => i > start && /^ {2}table 1/.test(l));
  return `${lines[0]}\n${lines.slice(start, end).join('\n')}\n`;
};

async function scenario(s: Stack): Promise<string> {
  let out = table(s, ['name=main', 'flow_limit=3', 'overflow_policy=refuse']);
  for (let p = 1; p <= 4; p++)
    out += ofctl(s, ['add-flow', 'br0', `priority=${p},in_port=${p},actions=drop`]);
  // Replacing an existing flow needs no room (the third is the standalone NORMAL flow).
  out += ofctl(s, ['add-flow', 'br0', 'priority=2,in_port=2,actions=output:1']);
  out += ofctl(s, ['--no-stats', 'dump-flows', 'br0']);
  out += table0(ofctl(s, ['-O', 'OpenFlow13', 'dump-table-features', 'br0']));
  out += table0(ofctl(s, ['-O', 'OpenFlow13', 'dump-tables', 'br0']));

  // Eviction takes only flows that expire on their own.
  out += table(s, ['name=main', 'flow_limit=3', 'overflow_policy=evict']);
  out += ofctl(s, ['add-flow', 'br0', 'hard_timeout=100,priority=9,in_port=9,actions=drop']);
  out += ofctl(s, ['del-flows', 'br0']);
  for (const [p, t] of [
    [1, 300],
    [2, 100],
    [3, 200],
  ]) {
    out += ofctl(s, [
      'add-flow',
      'br0',
      `hard_timeout=${t},priority=${p},in_port=${p},actions=drop`,
    ]);
  }
  out += ofctl(s, ['add-flow', 'br0', 'hard_timeout=400,priority=4,in_port=4,actions=drop']);
  out += ofctl(s, ['--no-stats', '--sort', 'dump-flows', 'br0']);
  // A lower limit evicts down to it.
  out += table(s, ['name=main', 'flow_limit=1', 'overflow_policy=evict']);
  out += ofctl(s, ['--no-stats', '--sort', 'dump-flows', 'br0']);
  // Without a row the table is unlimited again.
  const r = vsctl(s, ['clear', 'bridge', 'br0', 'flow_tables']);
  assert.equal(r.status, 0, r.stderr);
  for (let p = 5; p <= 7; p++)
    out += ofctl(s, ['add-flow', 'br0', `priority=${p},in_port=${p},actions=drop`]);
  out += ofctl(s, ['--no-stats', '--sort', 'dump-flows', 'br0']);
  return out;
}

const outputs: Record<'ours' | 'real', string> = { ours: '', real: '' };

for (const which of ['real', 'ours'] as const) {
  describe(`Flow_Table limits (${which} ovs-vswitchd)`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ which });
      const r = vsctl(s, [...dummyBridge('br0', [1, 2, 3, 4, 5, 6, 7, 9])]);
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => stopStack(s));

    it('refuses, evicts and names as configured', async () => {
      outputs[which] = await scenario(s);
      assert.match(outputs[which], /OFPFMFC_TABLE_FULL/);
      assert.match(outputs[which], /name="main"|"main"/);
    });
  });
}

describe('ours against real', () => {
  it('prints the same at every step', () => {
    assert.ok(outputs.real !== '', 'the real switch ran first');
    assert.equal(outputs.ours, outputs.real);
  });
});
