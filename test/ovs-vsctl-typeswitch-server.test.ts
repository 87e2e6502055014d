/**
 * ovs-vsctl against TypeSwitch's own ovsdb-server: the seed walkthrough and a mixed
 * sequence run (a) by our ovs-vsctl on our server and (b) by real ovs-vsctl on our server,
 * each compared with real ovs-vsctl on real ovsdb-server 3.1 (outputs and resulting
 * database, read back with real ovsdb-client).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareRuns, type Step } from './ovs-vsctl-harness.ts';

const SEED: Step[] = [
  ['add-br', 'br0'],
  ['add-port', 'br0', 'eth0'],
  ['add-port', 'br0', 'tap0', 'tag=1'],
  [
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
  ],
  ['list', 'sflow'],
  { args: (prev) => ['remove', 'bridge', 'br0', 'sflow', (prev[3]?.stdout ?? '').trim()] },
  ['list', 'sflow'],
  { args: ['show'], unordered: true },
];

const MIXED: Step[] = [
  ['add-br', 'br0'],
  ['add-br', 'v5', 'br0', '5'],
  ['add-bond', 'br0', 'bond0', 'a', 'b', 'lacp=active'],
  ['set-controller', 'br0', 'tcp:198.18.0.1:6653'],
  ['set-manager', 'ptcp:6640'],
  ['set', 'bridge', 'br0', 'external_ids:k=v', 'other_config:hwaddr="00:11:22:33:44:55"'],
  ['--id=@q', 'create', 'qos', 'type=linux-htb', '--', 'set', 'port', 'bond0', 'qos=@q'],
  ['get', 'port', 'bond0', 'qos', 'lacp'],
  ['add', 'bridge', 'br0', 'flood_vlans', '1', '2', '3'],
  ['remove', 'bridge', 'br0', 'flood_vlans', '2'],
  ['destroy', 'qos', 'bond0'],
  ['clear', 'port', 'bond0', 'qos'],
  ['--columns=name,tag', 'find', 'port', 'tag=5'],
  ['del-port', 'bond0'],
  ['set', 'port', 'br0', 'tag=5000'],
  ['list-br'],
  ['del-br', 'br0'],
  ['list-br'],
];

describe('against the TypeSwitch ovsdb-server', { concurrency: 2 }, () => {
  for (const [name, steps] of Object.entries({ seed: SEED, mixed: MIXED })) {
    test(`our ovs-vsctl on our server = real ovs-vsctl on real server: ${name}`, async () => {
      const [ours, real] = await compareRuns(
        steps,
        { client: 'ours', server: 'ours' },
        { client: 'real', server: 'real' },
      );
      assert.equal(ours, real);
    });
    test(`real ovs-vsctl on our server = real ovs-vsctl on real server: ${name}`, async () => {
      const [ours, real] = await compareRuns(
        steps,
        { client: 'real', server: 'ours' },
        { client: 'real', server: 'real' },
      );
      assert.equal(ours, real);
    });
  }
});
