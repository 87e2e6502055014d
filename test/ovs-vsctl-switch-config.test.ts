/**
 * Controller, fail-mode, manager, SSL, auto-attach, init, show and emer-reset commands: the
 * same sequences run by our ovs-vsctl and by real ovs-vsctl 3.1, each against its own fresh
 * real ovsdb-server; stdout, stderr, exit status and the resulting database must be identical.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareScenario, type Step } from './ovs-vsctl-harness.ts';

const scenarios: Record<string, Step[]> = {
  'controllers and fail mode': [
    ['add-br', 'br0'],
    ['set-controller', 'br0', 'tcp:1.2.3.4:6653', 'ptcp:6633'],
    ['get-controller', 'br0'],
    { args: ['list', 'controller'], unordered: true },
    ['set-fail-mode', 'br0', 'secure'],
    ['get-fail-mode', 'br0'],
    ['del-fail-mode', 'br0'],
    ['get-fail-mode', 'br0'],
    ['set-fail-mode', 'br0', 'bogus'],
    ['del-controller', 'br0'],
    ['get-controller', 'br0'],
    ['--inactivity-probe=3000', 'set-controller', 'br0', 'tcp:1.1.1.1'],
    ['get', 'controller', 'br0', 'inactivity_probe', 'target'],
    ['set-controller', 'br0', 'bogus:1'],
    ['get-controller', 'br9'],
  ],
  'managers and SSL': [
    ['set-manager', 'ptcp:6640', 'tcp:127.0.0.1:1'],
    ['get-manager'],
    ['list', 'manager', 'ptcp:6640'],
    ['del-manager'],
    ['get-manager'],
    ['--inactivity-probe=500', 'set-manager', 'ptcp:6641'],
    ['get', 'manager', 'ptcp:6641', 'inactivity_probe'],
    ['get-ssl'],
    ['set-ssl', '/k', '/c', '/ca'],
    ['get-ssl'],
    ['--bootstrap', 'set-ssl', '/k2', '/c2', '/ca2'],
    ['get-ssl'],
    ['list', 'ssl'],
    ['get', 'ssl', '.', 'private_key'],
    ['del-ssl'],
    ['get-ssl'],
    ['del-ssl'],
  ],
  'auto-attach mappings': [
    ['add-br', 'br0'],
    ['add-aa-mapping', 'br0', '100', '200'],
    ['add-aa-mapping', 'br0', '101', '201'],
    ['get-aa-mapping', 'br0'],
    ['list', 'autoattach', 'br0'],
    ['del-aa-mapping', 'br0', '100', '200'],
    ['get-aa-mapping', 'br0'],
    ['add-aa-mapping', 'br0', 'x', '1'],
  ],
  'init, show and emer-reset': [
    ['init'],
    ['show'],
    ['init'],
    ['add-br', 'br0'],
    ['set-controller', 'br0', 'tcp:1.2.3.4'],
    ['set', 'controller', 'br0', 'is_connected=true'],
    ['set-manager', 'ptcp:6640'],
    ['set', 'manager', 'ptcp:6640', 'is_connected=true'],
    [
      'add-port',
      'br0',
      'p0',
      'trunks=1,2',
      '--',
      'set',
      'interface',
      'p0',
      'type=patch',
      'options:peer=p1',
      'error="boom"',
      'bfd_status:state=up',
    ],
    ['set', 'open', '.', 'ovs_version="3.1.0"'],
    [
      'set',
      'bridge',
      'br0',
      'fail_mode=secure',
      'datapath_type=netdev',
      'other_config:hwaddr="00:11:22:33:44:55"',
    ],
    { args: ['show'], unordered: true },
    [
      'set',
      'bridge',
      'br0',
      'flow_tables:1=@ft',
      '--',
      '--id=@ft',
      'create',
      'flow_table',
      'name=t1',
    ],
    { args: ['show'], unordered: true },
    ['emer-reset'],
    { args: ['show'], unordered: true },
    ['list', 'bridge', 'br0'],
  ],
};

describe('switch configuration commands', { concurrency: 4 }, () => {
  for (const [name, steps] of Object.entries(scenarios)) {
    test(`same as real ovs-vsctl: ${name}`, async () => {
      const [ours, real] = await compareScenario(steps);
      assert.equal(ours, real);
    });
  }
});
