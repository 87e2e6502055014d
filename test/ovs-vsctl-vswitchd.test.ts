/**
 * Without --no-wait, with real ovs-vswitchd (--enable-dummy) applying each change: every
 * call waits for cur_cfg to reach the next_cfg it set, then reports interfaces that
 * ovs-vswitchd could not set up. Our ovs-vsctl and real ovs-vsctl 3.1 each run the sequence
 * against their own ovsdb-server + ovs-vswitchd pair; outputs and databases must match.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareScenario } from './ovs-vsctl-harness.ts';

test('same as real ovs-vsctl with ovs-vswitchd applying the changes (waits, interface errors)', async () => {
  const [ours, real] = await compareScenario(
    [
      ['-t', '10', 'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      ['-t', '10', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy'],
      // A system device that does not exist: ovs-vswitchd records an error, ovs-vsctl reports it.
      ['-t', '10', 'add-port', 'br0', 'eth9'],
      [
        '-t',
        '10',
        'add-bond',
        'br0',
        'bond0',
        'd1',
        'd2',
        '--',
        'set',
        'interface',
        'd1',
        'type=dummy',
        '--',
        'set',
        'interface',
        'd2',
        'type=dummy',
      ],
      ['-t', '10', 'del-port', 'br0', 'eth9'],
      ['-t', '10', 'list-ports', 'br0'],
      ['-t', '10', 'get', 'interface', 'p1', 'type', 'error'],
      ['-t', '10', '--may-exist', 'add-br', 'br0'],
      ['-t', '10', 'del-br', 'br0'],
      ['-t', '10', 'list-br'],
    ],
    { wait: true, vswitchd: true },
  );
  assert.equal(ours, real);
});
