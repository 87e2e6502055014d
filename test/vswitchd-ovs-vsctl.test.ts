/**
 * Our ovs-vswitchd driven by real ovs-vsctl 3.1 (without --no-wait: every call waits for
 * cur_cfg to reach its next_cfg) and real ovs-appctl 3.1 (finding us by pidfile in
 * OVS_RUNDIR), on our ovsdb-server. Expected values follow OVS's rules and what real
 * ovs-vswitchd --enable-dummy writes for the same commands (see vswitchd-compare.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appctl,
  type Stack,
  startStack,
  startVswitchd,
  stopStack,
  stopVswitchd,
  vsctl,
} from './vswitchd-harness.ts';

function ok(s: Stack, args: string[]): string {
  const r = vsctl(s, args);
  assert.equal(r.status, 0, `ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', `ovs-vsctl ${args.join(' ')}`);
  return r.stdout;
}
const get = (s: Stack, table: string, rec: string, col: string): string =>
  ok(s, ['get', table, rec, col]).trim();

/** The bridge address OVS derives from the Bridge row's UUID (no port lends one). */
function uuidAddress(uuid: string): string {
  const h = uuid.replace(/-/g, '');
  const le = (w: string): string[] => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)];
  const b = [...le(h.slice(0, 8)), ...le(h.slice(8, 16)).slice(0, 2)];
  b[0] = ((Number.parseInt(b[0] as string, 16) & 0xfe) | 0x02).toString(16).padStart(2, '0');
  return b.join(':');
}

async function withStack(dummy: string, body: (s: Stack) => Promise<void> | void): Promise<void> {
  const s = await startStack({ which: 'ours', dummy });
  try {
    await body(s);
  } finally {
    stopStack(s);
  }
}

test('bridges and ports come and go; ofport, datapath_id and cur_cfg read back exactly', async () => {
  await withStack('--enable-dummy=override', (s) => {
    assert.equal(get(s, 'Open_vSwitch', '.', 'cur_cfg'), '0');
    ok(s, ['add-br', 'br0']);
    assert.equal(get(s, 'Open_vSwitch', '.', 'cur_cfg'), '1');
    assert.equal(get(s, 'Interface', 'br0', 'ofport'), '65534');
    const uuid = get(s, 'Bridge', 'br0', '_uuid');
    const mac = uuidAddress(uuid);
    assert.equal(get(s, 'Interface', 'br0', 'mac_in_use'), `"${mac}"`);
    assert.equal(get(s, 'Bridge', 'br0', 'datapath_id'), `"0000${mac.replace(/:/g, '')}"`);
    assert.equal(get(s, 'Bridge', 'br0', 'datapath_version'), '"<built-in>"');

    ok(s, ['add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=5']);
    ok(s, ['add-port', 'br0', 'p2']);
    ok(s, ['add-port', 'br0', 'p3', '--', 'set', 'interface', 'p3', 'type=dummy']);
    assert.equal(get(s, 'Interface', 'p1', 'ofport'), '5');
    assert.equal(get(s, 'Interface', 'p2', 'ofport'), '1');
    assert.equal(get(s, 'Interface', 'p3', 'ofport'), '2');
    assert.equal(get(s, 'Interface', 'p3', 'error'), '[]');
    assert.equal(get(s, 'Interface', 'p3', 'admin_state'), 'up');
    assert.equal(get(s, 'Interface', 'p3', 'link_state'), 'up');
    assert.equal(get(s, 'Interface', 'p3', 'mtu'), '1500');
    assert.equal(get(s, 'Interface', 'p3', 'ifindex'), '0');

    // A released number is not handed out again at once.
    ok(s, ['del-port', 'br0', 'p2']);
    ok(s, ['add-port', 'br0', 'p4']);
    assert.equal(get(s, 'Interface', 'p4', 'ofport'), '3');
    // ...but a request for it is honoured, moving the port.
    ok(s, ['set', 'interface', 'p4', 'ofport_request=1']);
    assert.equal(get(s, 'Interface', 'p4', 'ofport'), '1');

    ok(s, [
      'add-br',
      'br1',
      '--',
      'set',
      'bridge',
      'br1',
      'other_config:datapath-id=00000000000000ff',
    ]);
    assert.equal(get(s, 'Bridge', 'br1', 'datapath_id'), '"00000000000000ff"');
    ok(s, [
      'set',
      'bridge',
      'br1',
      'other_config:hwaddr=00:11:22:33:44:55',
      'other_config:datapath-id=x',
    ]);
    assert.equal(get(s, 'Bridge', 'br1', 'datapath_id'), '"0000001122334455"');
    assert.equal(get(s, 'Interface', 'br1', 'mac_in_use'), '"00:11:22:33:44:55"');

    const show = appctl(s, ['dpif/show']);
    assert.equal(show.status, 0, show.stderr);
    // With override every datapath and port is a dummy one under OVS's names; numbering
    // follows the dummy datapath's rules (br0 -> 100, p1 -> 1, names without digits -> lowest).
    assert.equal(
      show.stdout,
      [
        'system@ovs-system: hit:0 missed:0',
        '  br0:',
        '    br0 65534/100: (dummy-internal)',
        '    p1 5/1: (system)',
        '    p3 2/3: (dummy)',
        '    p4 1/4: (system)',
        '  br1:',
        '    br1 65534/101: (dummy-internal)',
        '',
      ].join('\n'),
    );

    ok(s, ['del-br', 'br0']);
    assert.equal(appctl(s, ['ofproto/list']).stdout, 'br1\n');
    assert.equal(get(s, 'Open_vSwitch', '.', 'cur_cfg'), get(s, 'Open_vSwitch', '.', 'next_cfg'));
    assert.equal(get(s, 'Open_vSwitch', '.', 'cur_cfg'), '10');
  });
});

test('changing an interface type re-creates it; unusable interfaces get OVS errors and ofport -1', async () => {
  await withStack('--enable-dummy', (s) => {
    ok(s, ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy']);
    const missing = vsctl(s, ['add-port', 'br0', 'eth9']);
    assert.equal(missing.status, 0);
    assert.match(
      missing.stderr,
      /^ovs-vsctl: Error detected while setting up 'eth9': could not open network device eth9 \(No such device\)\. {2}See ovs-vswitchd log for details\.\n/,
    );
    assert.equal(get(s, 'Interface', 'eth9', 'ofport'), '-1');
    assert.equal(get(s, 'Interface', 'eth9', 'mac_in_use'), '[]');
    ok(s, ['set', 'interface', 'eth9', 'type=dummy']);
    assert.equal(get(s, 'Interface', 'eth9', 'ofport'), '1');
    assert.equal(get(s, 'Interface', 'eth9', 'error'), '[]');
    assert.equal(get(s, 'Interface', 'eth9', 'mac_in_use'), '"aa:55:aa:55:00:02"');
    ok(s, ['set', 'interface', 'eth9', 'type=patch', 'options:peer=eth9']);
    assert.equal(get(s, 'Interface', 'eth9', 'error'), '"eth9: patch peer must not be self"');
    assert.equal(get(s, 'Interface', 'eth9', 'ofport'), '-1');
    // Without --enable-dummy=override a netdev bridge's own port stands in for OVS's TAP device.
    ok(s, ['add-br', 'br1']);
    assert.equal(get(s, 'Bridge', 'br1', 'datapath_type'), '""');
    assert.equal(
      appctl(s, ['dpif/show']).stdout,
      [
        'dummy@ovs-dummy: hit:0 missed:0',
        '  br0:',
        '    br0 65534/100: (dummy-internal)',
        'netdev@ovs-netdev: hit:0 missed:0',
        '  br1:',
        '    br1 65534/1: (tap)',
        '',
      ].join('\n'),
    );
  });
});

test('a restarted switch keeps the OpenFlow port numbers written before', async () => {
  await withStack('--enable-dummy', async (s) => {
    ok(s, ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy']);
    for (const p of ['a', 'b', 'c'])
      ok(s, ['add-port', 'br0', p, '--', 'set', 'interface', p, 'type=dummy']);
    ok(s, ['del-port', 'br0', 'a']);
    await stopVswitchd(s);
    await startVswitchd(s, { which: 'ours' });
    ok(s, ['add-port', 'br0', 'd', '--', 'set', 'interface', 'd', 'type=dummy']);
    const show = appctl(s, ['dpif/show']).stdout;
    // b and c keep 2 and 3 (the ofport column is taken as a request); d gets a new number.
    assert.match(show, /\n {4}b 2\/\d+: \(dummy\)\n/);
    assert.match(show, /\n {4}c 3\/\d+: \(dummy\)\n/);
    assert.match(show, /\n {4}d 1\/\d+: \(dummy\)\n/);
  });
});

test('unixctl: version, netdev-dummy/set-admin-state written back as admin_state and link_state', async () => {
  await withStack('--enable-dummy', async (s) => {
    const v = appctl(s, ['version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^ovs-vswitchd \(TypeSwitch\) \d+\.\d+\.\d+\n$/);
    ok(s, ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy']);
    ok(s, ['add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy']);
    assert.equal(appctl(s, ['netdev-dummy/set-admin-state', 'p1', 'down']).stdout, 'OK\n');
    let state = '';
    for (let i = 0; i < 100 && state !== 'down down'; i++) {
      state = `${get(s, 'Interface', 'p1', 'admin_state')} ${get(s, 'Interface', 'p1', 'link_state')}`;
      if (state !== 'down down') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state, 'down down');
    assert.equal(get(s, 'Interface', 'br0', 'admin_state'), 'up');
    const bad = appctl(s, ['netdev-dummy/set-admin-state', 'nosuch', 'up']);
    assert.equal(bad.status, 2);
    assert.equal(
      bad.stderr,
      'Unknown Dummy Interface\novs-appctl: ovs-vswitchd: server returned an error\n',
    );
  });
});
