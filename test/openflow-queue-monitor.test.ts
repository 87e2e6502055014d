/**
 * Queue statistics and queue configuration requests, OpenFlow 1.4 port statistics of dummy
 * ports, and a --detach'ed `ovs-ofctl monitor` driven over its control socket: each run
 * against real ovs-vswitchd 3.1 and ours, printed by real ovs-ofctl, and both must print the
 * same (the expectations below are what real ovs-vswitchd answered).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const REAL_OFCTL = '/usr/bin/ovs-ofctl';
const OUR_OFCTL = join(ROOT, 'bin/ovs-ofctl');

function run(s: Stack, tool: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', env: s.env, cwd: s.dir, timeout: 20000 });
  return { status: r.status, out: r.stdout.replace(/ \(xid=0x[0-9a-f]+\)/g, '') };
}

const QUEUE_CASES: [string, string[], string][] = [
  [
    'queue 0 of the local port (OF1.0)',
    ['queue-stats', 'br0', 'LOCAL', '0'],
    'OFPST_QUEUE reply: 1 queues\n  port LOCAL queue 0: bytes=?, pkts=?, errors=?, duration=?\n',
  ],
  [
    'a queue no port has is OFPQOFC_BAD_QUEUE',
    ['queue-stats', 'br0', 'ANY', '5'],
    'OFPT_ERROR: OFPQOFC_BAD_QUEUE\nOFPST_QUEUE request: port=ANY queue=5\n',
  ],
  [
    'a port the switch lacks is OFPQOFC_BAD_PORT',
    ['-O', 'OpenFlow13', 'queue-stats', 'br0', '10'],
    'OFPT_ERROR (OF1.3): OFPQOFC_BAD_PORT\nOFPST_QUEUE request (OF1.3): port=10 queue=ALL\n',
  ],
  [
    'queue configuration of one port (OF1.0)',
    ['queue-get-config', 'br0', '1'],
    'OFPT_QUEUE_GET_CONFIG_REPLY: port=1\nqueue 0:\n',
  ],
  [
    'queue configuration of every port (OF1.2)',
    ['-O', 'OpenFlow12', 'queue-get-config', 'br0', 'ANY'],
    'OFPT_QUEUE_GET_CONFIG_REPLY (OF1.2): port=ANY\nqueue 0:\nqueue 0:\n',
  ],
  [
    'queue descriptions (OF1.4)',
    ['-O', 'OpenFlow14', 'queue-get-config', 'br0', 'any'],
    'OFPST_QUEUE_DESC reply (OF1.4): port=1\nqueue 0:\nport=LOCAL\nqueue 0:\n',
  ],
  [
    'a queue description of a missing queue (OF1.4)',
    ['-O', 'OpenFlow14', 'queue-get-config', 'br0', '1', '2'],
    'OFPT_ERROR (OF1.4): OFPQOFC_BAD_QUEUE\nOFPST_QUEUE_DESC request (OF1.4): port=1 queue=2\n',
  ],
  [
    'queue configuration of a missing port (OF1.1)',
    ['-O', 'OpenFlow11', 'queue-get-config', 'br0', '10'],
    'OFPT_ERROR (OF1.1): OFPQOFC_BAD_PORT\nOFPT_QUEUE_GET_CONFIG_REQUEST (OF1.1): port=10\n',
  ],
];

for (const which of ['real', 'ours'] as const) {
  describe(`queues, port stats and a detached monitor (${which} ovs-vswitchd)`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ which, ownNetns: false });
      const r = vsctl(s, [
        ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
        ...['--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy'],
        'ofport_request=1',
      ]);
      assert.equal(r.status, 0, r.stderr);
    });
    after(() => stopStack(s));

    for (const [name, args, want] of QUEUE_CASES) {
      it(name, () => {
        const r = run(s, REAL_OFCTL, args);
        assert.equal(r.out, want);
      });
    }

    it('OF1.4 port stats of a dummy port carry its custom counters', () => {
      const r = run(s, REAL_OFCTL, ['-O', 'OpenFlow14', 'dump-ports', 'br0', 'LOCAL']);
      assert.equal(r.status, 0);
      assert.match(
        r.out,
        /CUSTOM Statistics\n {22}rx_custom_packets_1=0, rx_custom_packets_2=0, rx_q0_bytes=0,\n {22}rx_q0_packets=0, tx_q0_bytes=0, tx_q0_packets=0,\n/,
      );
    });

    it('our ovs-ofctl monitor --detach answers ofctl/send and ofctl/barrier', () => {
      const d = run(s, OUR_OFCTL, [
        '-P',
        'standard',
        'monitor',
        'br0',
        '--detach',
        '--no-chdir',
        '--pidfile',
      ]);
      assert.equal(d.status, 0);
      const pid = readFileSync(join(s.dir, 'ovs-ofctl.pid'), 'utf8').trim();
      const ctl = join(s.dir, `ovs-ofctl.${pid}.ctl`);
      const appctl = (args: string[]) =>
        spawnSync('/usr/bin/ovs-appctl', ['-t', ctl, ...args], {
          encoding: 'utf8',
          timeout: 10000,
        });
      try {
        assert.equal(appctl(['ofctl/set-output-file', join(s.dir, 'monitor.log')]).status, 0);
        // An OF1.1 features request on an OF1.0 connection.
        const sent = appctl(['ofctl/send', '0205000801234567']);
        assert.equal(sent.stdout, 'sent\n');
        const bad = appctl(['ofctl/send', '0205000901234567']);
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /^Message size does not match length in OpenFlow header\n/);
        assert.equal(appctl(['ofctl/barrier']).status, 0);
      } finally {
        appctl(['exit']);
      }
      const log = readFileSync(join(s.dir, 'monitor.log'), 'utf8').replace(
        / \(xid=0x[0-9a-f]+\)/g,
        '',
      );
      assert.equal(
        log,
        'send: OFPT_FEATURES_REQUEST (OF1.1):\n' +
          'OFPT_ERROR (OF1.1): OFPBRC_BAD_VERSION\nOFPT_FEATURES_REQUEST (OF1.1):\n' +
          'OFPT_BARRIER_REPLY:\n',
      );
    });

    it('a packet-out from CONTROLLER reaches the controller with in_port=CONTROLLER', () => {
      const d = run(s, OUR_OFCTL, [
        '-P',
        'standard',
        'monitor',
        'br0',
        '128',
        '--detach',
        '--no-chdir',
      ]);
      assert.equal(d.status, 0);
      const ctl = spawnSync('sh', ['-c', 'ls ovs-ofctl.*.ctl'], { cwd: s.dir, encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .map((f) => join(s.dir, f));
      assert.equal(ctl.length, 1);
      const appctl = (args: string[]) =>
        spawnSync('/usr/bin/ovs-appctl', ['-t', ctl[0], ...args], {
          encoding: 'utf8',
          timeout: 10000,
        });
      try {
        assert.equal(appctl(['ofctl/set-output-file', join(s.dir, 'pin.log')]).status, 0);
        for (const inPort of ['none', 'controller']) {
          const r = run(s, REAL_OFCTL, [
            'packet-out',
            'br0',
            `in_port=${inPort} packet=0001020304050010203040501234 actions=controller`,
          ]);
          assert.equal(r.status, 0);
        }
        assert.equal(appctl(['ofctl/barrier']).status, 0);
      } finally {
        appctl(['exit']);
      }
      const log = readFileSync(join(s.dir, 'pin.log'), 'utf8');
      assert.deepEqual(
        [...log.matchAll(/in_port=(\w+) \(via action\)/g)].map((m) => m[1]),
        ['ANY', 'CONTROLLER'],
      );
    });
  });
}
