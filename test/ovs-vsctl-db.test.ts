/**
 * The database commands get, list, find, set, add, remove and clear, the names of tables,
 * columns and records and their errors, and hash-ordered listings: our ovs-vsctl against real
 * ovs-vsctl 3.1, each on its own fresh real ovsdb-server; stdout, stderr, exit status and the
 * resulting database must be identical.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareScenario, type Step } from './ovs-vsctl-harness.ts';

const scenarios: Record<string, Step[]> = {
  'get, set, add, remove, clear on maps and sets': [
    ['add-br', 'br0'],
    ['set', 'bridge', 'br0', 'other-config:hwaddr="00:11:22:33:44:55"', 'external_ids:a=b'],
    ['get', 'bridge', 'br0', 'other_config'],
    ['get', 'bridge', 'br0', 'other_config:hwaddr'],
    ['get', 'bridge', 'br0', 'other_config:nokey'],
    ['--if-exists', 'get', 'bridge', 'br0', 'other_config:nokey'],
    ['get', 'bridge', 'br0', 'name', '_uuid'],
    ['add', 'bridge', 'br0', 'flood_vlans', '1', '2', '3'],
    ['remove', 'bridge', 'br0', 'flood_vlans', '2'],
    ['get', 'br', 'br0', 'flood'],
    ['add', 'bridge', 'br0', 'flood_vlans', '10-12'],
    ['get', 'bridge', 'br0', 'flood_vlans'],
    ['clear', 'bridge', 'br0', 'flood_vlans'],
    ['add', 'bridge', 'br0', 'external_ids', 'c=d', 'a=z'],
    ['get', 'bridge', 'br0', 'external_ids'],
    ['add', 'bridge', 'br0', 'external_ids', 'c=e', '--', 'get', 'bridge', 'br0', 'external_ids'],
    ['remove', 'bridge', 'br0', 'external_ids', 'a'],
    ['remove', 'bridge', 'br0', 'external_ids', 'c=x'],
    ['get', 'bridge', 'br0', 'external_ids'],
    ['remove', 'bridge', 'br0', 'external_ids', 'c=d'],
    ['get', 'bridge', 'br0', 'external_ids'],
    ['set', 'bridge', 'br0', 'external_ids={x=1, y="two words"}', 'stp_enable=true'],
    ['get', 'bridge', 'br0', 'external_ids', 'stp_enable', 'external-ids:y'],
    ['set', 'interface', 'br0', 'mtu_request=9000', 'ofport_request=7'],
    ['get', 'interface', 'br0', 'mtu_request', 'ofport_request', 'type'],
    ['set', 'open', '.', 'other_config:n=1.5e3'],
    ['get', 'open_vswitch', '.', 'other_config'],
  ],
  'find with every relational operator': [
    ['add-br', 'br0'],
    ['add-port', 'br0', 'p1', 'tag=5', 'trunks=1,2,3', 'external_ids:k=v'],
    ['find', 'bridge', 'name=br0'],
    ['--columns=name,datapath_type', 'find', 'bridge', 'datapath_type=""'],
    ['--columns=name', 'find', 'interface', 'type=internal'],
    ['find', 'bridge', 'name!=br0'],
    { args: ['--columns=name', 'find', 'port', 'tag<6'], unordered: true },
    ['--columns=name', 'find', 'port', 'tag>=5'],
    ['--columns=name', 'find', 'port', 'tag>5'],
    ['--columns=name', 'find', 'port', 'trunks{>=}[1,2]'],
    { args: ['--columns=name', 'find', 'port', 'trunks{<}[1,2,3,4]'], unordered: true },
    { args: ['--columns=name', 'find', 'port', 'trunks{in}[1,2,3,4]'], unordered: true },
    { args: ['--columns=name', 'find', 'port', 'trunks{not-in}[7,8]'], unordered: true },
    ['--columns=name', 'find', 'port', 'trunks{=}[1,2,3]'],
    { args: ['--columns=name', 'find', 'port', 'trunks{!=}[1]'], unordered: true },
    ['--columns=name', 'find', 'port', 'external_ids:k=v'],
    { args: ['--columns=name', 'find', 'port', 'external_ids:k!=v'], unordered: true },
    { args: ['--columns=name', 'find', 'port', 'external_ids:nokey{in}[]'], unordered: true },
    { args: ['find', 'port', 'tag'], unordered: true },
    ['find', 'port', 'tag~5'],
    ['find', 'port', 'name:x=y'],
  ],
  'record naming and name errors': [
    ['add-br', 'br0'],
    ['list', 'foo'],
    ['list', 'b'],
    ['list', 'bri'],
    ['list', 'BRIDGE', 'br0'],
    ['list', 'bridge', 'br9'],
    ['--if-exists', 'list', 'bridge', 'br9'],
    ['get', 'bridge', 'br0', 'nosuch'],
    ['get', 'bridge', 'br0', 's'],
    ['get', 'bridge', 'br0', 'name:x'],
    ['get', 'bridge', 'br0', 'external_ids:'],
    ['get', 'bridge', 'br0', 'name', '--', 'get', 'bridge', 'br0', '-uuid'],
    ['set', 'bridge', 'br0', 'name=x'],
    ['set', 'port', 'br0', 'tag=5000'],
    ['set', 'port', 'br0', 'tag=abc'],
    ['set', 'bridge', 'br0', 'fail_mode=bogus'],
    ['set', 'bridge', 'br0', 'flood_vlans'],
    ['set', 'bridge', 'br0', 'flood_vlans='],
    ['set', 'bridge', 'br0', 'external_ids:k'],
    ['set', 'bridge', 'br0', 'name:k=v'],
    ['set', 'bridge', 'br0', 'external_ids="unterminated'],
    ['set', 'bridge', 'br0', 'external_ids={a=b,a=c}'],
    ['clear', 'port', 'br0', 'interfaces'],
    ['remove', 'port', 'br0', 'interfaces', '[]'],
    ['add', 'bridge', 'br0', 'flood_vlans', 'x'],
    ['get', 'open', '.', 'bridges'],
    ['get', 'controller', 'br0', 'target'],
    ['--if-exists', 'set', 'bridge', 'nope', 'stp_enable=true'],
  ],
};

describe('database commands', { concurrency: 6 }, () => {
  for (const [name, steps] of Object.entries(scenarios)) {
    test(`same as real ovs-vsctl: ${name}`, async () => {
      const [ours, real] = await compareScenario(steps);
      assert.equal(ours, real);
    });
  }
});

test('listing whole tables prints rows in the same (hash) order as real ovs-vsctl on the same database', async () => {
  const { runVsctl, startServer, stopServer } = await import('./ovs-vsctl-harness.ts');
  const s = await startServer();
  try {
    const db = `--db=unix:${s.sock}`;
    const setup = ['add-br', 'br0', '--', 'add-br', 'br1'];
    for (let i = 0; i < 40; i++)
      setup.push('--', 'add-port', i % 2 ? 'br0' : 'br1', `p${i}`, `tag=${i}`);
    assert.equal(runVsctl('real', s, [db, '--no-wait', ...setup]).status, 0);
    const queries = [
      ['--columns=_uuid,name', 'list', 'port'],
      ['--columns=name', 'list', 'interface'],
      ['list', 'bridge'],
      ['--columns=name,tag', 'find', 'port', 'tag>10'],
      ['--format=csv', '--columns=name', 'list', 'interface'],
    ];
    for (const q of queries) {
      const ours = runVsctl('ours', s, [db, ...q]);
      const real = runVsctl('real', s, [db, ...q]);
      assert.equal(ours.stdout, real.stdout, q.join(' '));
      assert.ok(ours.stdout.split('\n').length > 10);
    }
  } finally {
    stopServer(s);
  }
});
