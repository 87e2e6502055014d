/**
 * Side by side with real ovs-vswitchd 3.1 (--enable-dummy --disable-system): the same real
 * ovs-vsctl sequence (without --no-wait, so each call waits for cur_cfg) is run against ours
 * and against the real one, each with its own database server. What ovs-vsctl prints, what
 * `ovs-appctl dpif/show` prints, and the status both write back must be the same. Values that
 * are random in OVS (patch port addresses) or derived from row UUIDs (a bridge's address and
 * datapath ID) are compared by the rule that makes them, not by value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appctl,
  dummyBridge,
  listByName,
  type Stack,
  startStack,
  stopStack,
  vsctl,
} from './vswitchd-harness.ts';

const SEQUENCE: string[][] = [
  ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
  ['add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy', 'ofport_request=5'],
  ['add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'type=dummy'],
  // No such system device: the error is written to the row and ovs-vsctl reports it.
  ['add-port', 'br0', 'nosuch9'],
  ['add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=dummy'],
  ['add-port', 'br1', 'pa', '--', 'set', 'interface', 'pa', 'type=patch', 'options:peer=pb'],
  ['add-port', 'br0', 'pb', '--', 'set', 'interface', 'pb', 'type=patch', 'options:peer=pa'],
  ['add-port', 'br1', 'i1', '--', 'set', 'interface', 'i1', 'type=internal'],
  // A patch port without a peer cannot be configured.
  ['add-port', 'br1', 'pz', '--', 'set', 'interface', 'pz', 'type=patch'],
  // Moving to a requested number deletes and re-adds the port (with a new dummy device).
  ['set', 'interface', 'p2', 'ofport_request=7'],
  ['del-port', 'br0', 'p1'],
  ['add-port', 'br0', 'p3', '--', 'set', 'interface', 'p3', 'type=dummy'],
  [
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
  ['set', 'interface', 'i1', 'type=dummy'],
  [...dummyBridge('br2'), 'other_config:hwaddr=00:11:22:33:44:55'],
  [...dummyBridge('br3'), 'other_config:datapath-id=0000000000000abc'],
  ['add-port', 'br3', 'q12', '--', 'set', 'interface', 'q12', 'type=dummy', 'mtu_request=9000'],
  ['del-br', 'br2'],
  // An internal port takes Interface.mac; a port's universal address becomes the bridge's.
  [
    'add-port',
    'br1',
    'i2',
    '--',
    'set',
    'interface',
    'i2',
    'type=internal',
    'mac="02:00:5e:00:53:aa"',
  ],
  ['set', 'port', 'q12', 'mac="00:00:5e:00:53:01"'],
  ['add-port', 'br3', 'bad', '--', 'set', 'interface', 'bad', 'type=no-such-type'],
];

const IFACE_COLUMNS = [
  'type',
  'ofport',
  'error',
  'admin_state',
  'link_state',
  'link_resets',
  'link_speed',
  'duplex',
  'mtu',
  'ifindex',
  'status',
  'statistics',
  'mac_in_use',
];

interface Observed {
  calls: string[];
  dpifShow: string;
  ifaces: Map<string, Map<string, string>>;
  bridges: Map<string, Map<string, string>>;
  ovs: Map<string, Map<string, string>>;
}

function observe(s: Stack, sequence: string[][]): Observed {
  const calls = sequence.map((args) => {
    const r = vsctl(s, args);
    return `${args.join(' ')} -> ${r.status}\n${r.stdout}${r.stderr.replaceAll(s.dir, 'DIR')}`;
  });
  const show = appctl(s, ['dpif/show']);
  assert.equal(show.status, 0, show.stderr);
  const ovsCols = ['cur_cfg', 'next_cfg', 'datapath_types', 'dpdk_initialized', 'dpdk_version'];
  const r = vsctl(s, [
    '--format=csv',
    '--data=bare',
    '--no-headings',
    `--columns=${ovsCols.join(',')}`,
    'list',
    'Open_vSwitch',
  ]);
  const ovs = new Map([
    ['.', new Map(ovsCols.map((c, i) => [c, r.stdout.trim().split(',')[i] ?? '']))],
  ]);
  return {
    calls,
    dpifShow: show.stdout,
    ifaces: listByName(s, 'Interface', IFACE_COLUMNS),
    bridges: listByName(s, 'Bridge', ['_uuid', 'datapath_id', 'datapath_version']),
    ovs,
  };
}

const BOND_MEMBERS = ['d1', 'd2'];

/** dpif/show with the bond members' names taken out of their lines, lines sorted per bridge. */
function bondNeutral(show: string): string {
  return show
    .split('\n')
    .map((l) => l.replace(/^ {4}d[12] /, '    d? '))
    .sort()
    .join('\n');
}

/** OVS's fallback bridge address: the UUID's first six bytes as struct uuid stores them. */
function uuidAddress(uuid: string): string {
  const h = uuid.replace(/-/g, '');
  const le = (w: string): string[] => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)];
  const b = [...le(h.slice(0, 8)), ...le(h.slice(8, 16)).slice(0, 2)];
  b[0] = ((Number.parseInt(b[0] as string, 16) & 0xfe) | 0x02).toString(16).padStart(2, '0');
  return b.join(':');
}

async function compare(sequence: string[][], dummy: string, compareMacs: boolean): Promise<void> {
  let ours: Stack | undefined;
  let real: Stack | undefined;
  try {
    [ours, real] = await Promise.all([
      startStack({ which: 'ours', dummy }),
      startStack({ which: 'real', dummy }),
    ]);
    const o = observe(ours, sequence);
    const r = observe(real, sequence);
    assert.deepEqual(o.calls, r.calls);
    assert.equal(bondNeutral(o.dpifShow), bondNeutral(r.dpifShow));
    assert.deepEqual(o.ovs, r.ovs);
    assert.deepEqual([...o.ifaces.keys()].sort(), [...r.ifaces.keys()].sort());
    for (const [name, rc] of r.ifaces) {
      const oc = o.ifaces.get(name) as Map<string, string>;
      for (const col of IFACE_COLUMNS) {
        // Patch ports get random addresses; bridge ports one derived from the bridge's UUID.
        if (
          col === 'mac_in_use' &&
          (!compareMacs || rc.get('type') === 'patch' || o.bridges.has(name))
        )
          continue;
        // Bond members are added in UUID order, random in both runs: compare them as a set.
        if ((col === 'ofport' || col === 'mac_in_use') && BOND_MEMBERS.includes(name)) continue;
        assert.equal(oc.get(col), rc.get(col), `Interface ${name} ${col}`);
      }
    }
    const bond = (obs: Observed, col: string): string[] =>
      BOND_MEMBERS.map((n) => obs.ifaces.get(n)?.get(col) ?? '').sort();
    assert.deepEqual(bond(o, 'ofport'), bond(r, 'ofport'));
    if (compareMacs) assert.deepEqual(bond(o, 'mac_in_use'), bond(r, 'mac_in_use'));
    for (const obs of [o, r]) {
      for (const [name, b] of obs.bridges) {
        const uuid = b.get('_uuid') as string;
        assert.equal(b.get('datapath_version'), '<built-in>');
        const mac = obs.ifaces.get(name)?.get('mac_in_use');
        const dpid = b.get('datapath_id');
        if (name === 'br3') assert.equal(dpid, '0000000000000abc');
        else assert.equal(dpid, `0000${(mac as string).replace(/:/g, '')}`, `${name} datapath_id`);
        if (name !== 'br3') assert.equal(mac, uuidAddress(uuid), `${name} address`);
        else if (compareMacs) assert.equal(mac, '00:00:5e:00:53:01', 'br3 takes its port address');
      }
    }
  } finally {
    if (ours) stopStack(ours);
    if (real) stopStack(real);
  }
}

test('same status, vsctl output and dpif/show as real ovs-vswitchd --enable-dummy', () =>
  compare(SEQUENCE, '--enable-dummy', true));

// Under override OVS itself opens extra dummy devices while probing, so dummy addresses differ.
test('same as real ovs-vswitchd --enable-dummy=override (every datapath and port a dummy)', () =>
  compare(
    [
      ['add-br', 'br0'],
      ['add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=5'],
      ['add-port', 'br0', 'eth0'],
      ['add-port', 'br0', 't1', '--', 'set', 'interface', 't1', 'type=tap'],
      ['add-port', 'br0', 'i5', '--', 'set', 'interface', 'i5', 'type=internal'],
      ['add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=netdev'],
      ['add-port', 'br1', 'q3'],
      [
        'add-port',
        'br1',
        'v1',
        '--',
        'set',
        'interface',
        'v1',
        'type=vxlan',
        'options:remote_ip=198.18.0.1',
      ],
      ['set', 'interface', 'p1', 'type=dummy'],
      ['del-port', 'br0', 'eth0'],
      ['add-port', 'br0', 'eth1'],
    ],
    '--enable-dummy=override',
    false,
  ));
