/**
 * A real controller drives our whole switch: ovsdb-server and ovs-vswitchd (ours), a bridge
 * with two dummy ports configured by real ovs-vsctl, and os-ken (Debian python3-os-ken)
 * running a small OpenFlow 1.3 learning switch. Frames injected on the ports go to the
 * controller as packet-ins, come back as packet-outs that reach the other port, and once both
 * MACs are known the controller's flow forwards without it. With the controller killed,
 * fail_mode standalone falls back to NORMAL switching; secure keeps only the installed flows.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodePcapFile } from '../src/lib/pcap.ts';
import { OSKEN_LEARNER_APP as APP } from './osken-learner.ts';
import {
  appctl,
  dummyBridge,
  type Stack,
  startStack,
  stopStack,
  vsctl,
} from './vswitchd-harness.ts';

const MAC1 = '02:00:00:00:00:01';
const MAC2 = '02:00:00:00:00:02';
const MAC3 = '02:00:00:00:00:03';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function until(what: string, pred: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const eth = (src: string, dst: string): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=7,dst=9)`;

/** Destination/source MAC pairs transmitted on a port so far. */
function sent(s: Stack, port: string): string[] {
  const f = join(s.dir, `${port}.pcap`);
  if (!existsSync(f)) return [];
  const hex = (b: Uint8Array, o: number): string =>
    [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return decodePcapFile(readFileSync(f)).records.map((r) => `${hex(r.data, 6)}>${hex(r.data, 0)}`);
}

function flows(s: Stack): string {
  const r = spawnSync(
    '/usr/bin/ovs-ofctl',
    ['-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'br0'],
    {
      encoding: 'utf8',
      env: s.env,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const running: Array<{ stack: Stack; osken: ChildProcess }> = [];
after(() => {
  for (const r of running) {
    if (r.osken.pid !== undefined && r.osken.exitCode === null) r.osken.kill('SIGKILL');
    stopStack(r.stack);
  }
});

async function scenario(failMode: 'standalone' | 'secure'): Promise<void> {
  // On the host's loopback, where os-ken listens (the bridge is a dummy one: no devices).
  const s = await startStack({ which: 'ours', ownNetns: false });
  const port = await freePort();
  writeFileSync(join(s.dir, 'learner.py'), APP);
  const osken = spawn(
    '/usr/bin/osken-manager',
    [
      '--ofp-listen-host',
      '127.0.0.1',
      '--ofp-tcp-listen-port',
      String(port),
      join(s.dir, 'learner.py'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: s.dir },
  );
  running.push({ stack: s, osken });
  let log = '';
  osken.stderr?.on('data', (d) => {
    log += d;
  });
  const pcap = (p: string): string => `options:tx_pcap=${join(s.dir, `${p}.pcap`)}`;
  const r = vsctl(s, [
    ...[...dummyBridge('br0'), `fail_mode=${failMode}`],
    ...[
      '--',
      'add-port',
      'br0',
      'p1',
      '--',
      'set',
      'interface',
      'p1',
      'type=dummy',
      'ofport_request=1',
      pcap('p1'),
    ],
    ...[
      '--',
      'add-port',
      'br0',
      'p2',
      '--',
      'set',
      'interface',
      'p2',
      'type=dummy',
      'ofport_request=2',
      pcap('p2'),
    ],
    ...['--', 'set-controller', 'br0', `tcp:127.0.0.1:${port}`],
    ...['--', 'set', 'controller', 'br0', 'max_backoff=1000', 'inactivity_probe=1000'],
  ]);
  assert.equal(r.status, 0, r.stderr);
  await until('os-ken connected and its table-miss flow', () =>
    flows(s).includes('CONTROLLER:65535'),
  );
  await until(
    'Controller is_connected',
    () => vsctl(s, ['get', 'controller', 'br0', 'is_connected']).stdout.trim() === 'true',
  );

  // A broadcast from p1: packet-in, the controller floods it with a packet-out: p2 gets it.
  appctl(s, ['netdev-dummy/receive', 'p1', eth(MAC1, 'ff:ff:ff:ff:ff:ff')]);
  await until('the flooded frame on p2', () => sent(s, 'p2').length === 1, 20000);
  assert.deepEqual(sent(s, 'p2'), [`${MAC1}>ff:ff:ff:ff:ff:ff`]);
  assert.deepEqual(sent(s, 'p1'), []);
  // The reply from p2: the controller knows MAC1, installs a flow and sends the frame to p1.
  appctl(s, ['netdev-dummy/receive', 'p2', eth(MAC2, MAC1)]);
  await until('the reply on p1', () => sent(s, 'p1').length === 1);
  await until('the learned flow', () => flows(s).includes('in_port=2'));
  assert.match(
    flows(s),
    /priority=1,in_port=2,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01 actions=output:1/,
  );
  // The same frame again is forwarded by the switch alone, through the installed flow.
  appctl(s, ['netdev-dummy/receive', 'p2', eth(MAC2, MAC1)]);
  await until('the second reply on p1', () => sent(s, 'p1').length === 2);

  // The controller goes away.
  osken.kill('SIGKILL');
  await until(
    'Controller disconnected',
    () => vsctl(s, ['get', 'controller', 'br0', 'is_connected']).stdout.trim() === 'false',
  );
  // Installed flows keep working in both modes.
  appctl(s, ['netdev-dummy/receive', 'p2', eth(MAC2, MAC1)]);
  await until('the installed flow still forwards', () => sent(s, 'p1').length === 3);
  if (failMode === 'standalone') {
    // Fail-open: NORMAL switches traffic the controller never saw.
    await until('fail-open NORMAL', () => {
      appctl(s, ['netdev-dummy/receive', 'p1', eth(MAC3, 'ff:ff:ff:ff:ff:ff')]);
      return sent(s, 'p2').some((x) => x.startsWith(MAC3));
    });
  } else {
    // Secure: only the installed flows; the rest goes to a controller that is not there.
    for (let i = 0; i < 5; i++)
      appctl(s, ['netdev-dummy/receive', 'p1', eth(MAC3, 'ff:ff:ff:ff:ff:ff')]);
    await new Promise((res) => setTimeout(res, 1500));
    for (let i = 0; i < 3; i++)
      appctl(s, ['netdev-dummy/receive', 'p1', eth(MAC3, 'ff:ff:ff:ff:ff:ff')]);
    assert.ok(!sent(s, 'p2').some((x) => x.startsWith(MAC3)), sent(s, 'p2').join('\n'));
    assert.doesNotMatch(flows(s), /NORMAL/);
  }
  // os-ken logs an exception for anything it could not decode from us.
  assert.doesNotMatch(log, /Traceback|error/i, log);
}

test('os-ken drives our switch; standalone fails open when it is gone', async () => {
  await scenario('standalone');
});

test('os-ken drives our switch; secure keeps only the installed flows when it is gone', async () => {
  await scenario('secure');
});
