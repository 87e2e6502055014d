import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DpifBackers } from '../dpif/backers.ts';
import type { EthAddr } from '../netdev/netdev.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import {
  type Bridge,
  confinedControllerError,
  pickDatapathId,
  setSelfConfinement,
  VSwitch,
} from './bridge.ts';
import type { BridgeConfig, IfaceConfig, OvsConfig } from './config.ts';

let uuidSeq = 0;
const uuid = (): string => `00000000-0000-4000-8000-${(++uuidSeq).toString(16).padStart(12, '0')}`;

function iface(name: string, o: Partial<IfaceConfig> = {}): IfaceConfig {
  return {
    uuid: uuid(),
    name,
    type: 'dummy',
    options: new Map(),
    ofportRequest: undefined,
    ofport: undefined,
    mtuRequest: undefined,
    lldpEnable: false,
    mac: undefined,
    ...o,
  };
}

const NO_VLAN = {
  tag: undefined,
  trunks: [],
  cvlans: [],
  vlanMode: undefined,
  otherConfig: new Map<string, string>(),
};

function bridge(name: string, ifaces: IfaceConfig[], o: Partial<BridgeConfig> = {}): BridgeConfig {
  return {
    uuid: uuid(),
    name,
    datapathType: 'dummy',
    failMode: undefined,
    otherConfig: new Map(),
    mirrorOutputPorts: new Set(),
    ports: [iface(name, { type: 'internal' }), ...ifaces].map((i) => ({
      uuid: uuid(),
      name: i.name,
      mac: undefined,
      ...NO_VLAN,
      ifaces: [i],
    })),
    floodVlans: [],
    controllers: [],
    mirrors: [],
    flowTables: new Map(),
    sflow: null,
    netflow: null,
    ...o,
  };
}

const ovs = (bridges: BridgeConfig[]): OvsConfig => ({
  uuid: uuid(),
  nextCfg: 1,
  otherConfig: new Map(),
  bridges,
  ssl: null,
});

function vswitch(): VSwitch {
  const registry = new NetdevRegistry({ enableDummy: true, override: false });
  return new VSwitch({ registry, backers: new DpifBackers(registry), override: false });
}

const ofports = (br: Bridge | undefined): Record<string, number> =>
  Object.fromEntries([...(br?.ifaces.values() ?? [])].map((i) => [i.name, i.ofpPort]));

test('unchanged interfaces are not disturbed by changes around them', () => {
  const vs = vswitch();
  const p1 = iface('p1');
  vs.reconfigure(ovs([bridge('br0', [p1])]));
  const before = vs.bridges.get('br0')?.ifaces.get('p1')?.netdev;
  const b2 = bridge('br0', [p1, iface('p2')]);
  vs.reconfigure(ovs([b2, bridge('br1', [iface('p3')])]));
  assert.equal(vs.bridges.get('br0')?.ifaces.get('p1')?.netdev, before);
  assert.deepEqual(ofports(vs.bridges.get('br0')), { br0: 65534, p1: 1, p2: 2 });
  vs.reconfigure(ovs([b2]));
  assert.equal(vs.bridges.has('br1'), false);
  assert.equal(vs.bridges.get('br0')?.ifaces.get('p1')?.netdev, before);
});

test('interfaces with a request are added first, so an automatic number never takes it', () => {
  const vs = vswitch();
  // In one transaction: "a" has no request, "b" asks for 1.
  const out = vs.reconfigure(ovs([bridge('br0', [iface('a'), iface('b', { ofportRequest: 1 })])]));
  assert.deepEqual(ofports(vs.bridges.get('br0')), { br0: 65534, a: 2, b: 1 });
  assert.equal(
    out.ifaces.every((o) => o.ok),
    true,
  );
});

test('a changed request moves the port; a port holding the number without asking moves too', () => {
  const vs = vswitch();
  const a = iface('a');
  const b = iface('b');
  vs.reconfigure(ovs([bridge('br0', [a, b])]));
  assert.deepEqual(ofports(vs.bridges.get('br0')), { br0: 65534, a: 1, b: 2 });
  vs.reconfigure(ovs([bridge('br0', [a, { ...b, ofportRequest: 1 }])]));
  const br = vs.bridges.get('br0');
  assert.equal(br?.ifaces.get('b')?.ofpPort, 1);
  assert.equal(br?.ifaces.get('a')?.ofpPort, 3);
  // Two interfaces asking for the same number: the one holding it keeps it.
  vs.reconfigure(
    ovs([
      bridge('br0', [
        { ...a, ofportRequest: 1 },
        { ...b, ofportRequest: 1 },
      ]),
    ]),
  );
  assert.equal(vs.bridges.get('br0')?.ifaces.get('b')?.ofpPort, 1);
});

test('type changes re-create; failures are reported per interface with OVS wording', () => {
  const vs = vswitch();
  const p = iface('p1');
  vs.reconfigure(ovs([bridge('br0', [p])]));
  const nd = vs.bridges.get('br0')?.ifaces.get('p1')?.netdev;
  const out = vs.reconfigure(
    ovs([bridge('br0', [{ ...p, type: '' }, iface('pt', { type: 'patch' })])]),
  );
  assert.equal(vs.bridges.get('br0')?.ifaces.has('p1'), false);
  assert.notEqual(nd, undefined);
  const errors = Object.fromEntries(
    out.ifaces.filter((o) => !o.ok).map((o) => [o.uuid, o.ok ? '' : o.error]),
  );
  assert.equal(errors[p.uuid], 'could not open network device p1 (No such device)');
  assert.equal(
    Object.values(errors).includes("pt: patch type requires valid 'peer' argument"),
    true,
  );
});

test('a bridge of an unknown datapath type is not created; its rows get no status', () => {
  const vs = vswitch();
  const out = vs.reconfigure(ovs([bridge('br0', [iface('p1')], { datapathType: 'system' })]));
  assert.equal(vs.bridges.size, 0);
  assert.deepEqual(out, { ifaces: [], bridges: [] });
});

test('bridge address: hwaddr, else the smallest universal port address, else from the UUID', () => {
  const vs = vswitch();
  // Golden pairs captured from real ovs-vswitchd 3.1 (Bridge _uuid -> br0 mac_in_use).
  for (const [u, mac] of [
    ['e0bd5f6a-a547-43b6-b818-fdbd22e27434', '6a:5f:bd:e0:b6:43'],
    ['cf80d55d-ad3f-4bb3-86f4-8f4fb3db87e3', '5e:d5:80:cf:b3:4b'],
    ['6b180798-c008-4020-acab-12fb7a367a80', '9a:07:18:6b:20:40'],
  ]) {
    const out = vs.reconfigure(ovs([{ ...bridge('br0', [iface('p1')]), uuid: u as string }]));
    assert.equal(vs.bridges.get('br0')?.ofproto.ea, mac);
    assert.equal(out.bridges[0]?.datapathId, `0000${(mac as string).replace(/:/g, '')}`);
    vs.reconfigure(ovs([]));
  }
  const withMac = bridge('br0', [iface('p1')]);
  vs.reconfigure(
    ovs([
      {
        ...withMac,
        ports: [
          ...withMac.ports,
          {
            uuid: uuid(),
            name: 'x',
            mac: '00:00:5e:00:53:01',
            ...NO_VLAN,
            ifaces: [iface('x')],
          },
        ],
      },
    ]),
  );
  assert.equal(vs.bridges.get('br0')?.ofproto.ea, '00:00:5e:00:53:01');
  vs.reconfigure(ovs([{ ...withMac, otherConfig: new Map([['hwaddr', '00:11:22:33:44:55']]) }]));
  assert.equal(vs.bridges.get('br0')?.ofproto.ea, '00:11:22:33:44:55');
  assert.equal(
    vs.bridges.get('br0')?.ifaces.get('br0')?.netdev.getEtheraddr(),
    '00:11:22:33:44:55',
  );
});

test('datapath ID: other_config:datapath-id when exactly 16 hex digits and not zero', () => {
  const ea = '00:11:22:33:44:55' as EthAddr;
  assert.equal(pickDatapathId('0000000000000abc', ea), 0xabcn);
  assert.equal(pickDatapathId('0000000000000000', ea), 0x001122334455n);
  assert.equal(pickDatapathId('abc', ea), 0x001122334455n);
  assert.equal(pickDatapathId(undefined, ea), 0x001122334455n);
});

test('settings: fail mode and MAC table options are stored on the ofproto', () => {
  const vs = vswitch();
  vs.reconfigure(
    ovs([
      bridge('br0', [], {
        failMode: 'secure',
        otherConfig: new Map([
          ['mac-aging-time', '30'],
          ['mac-table-size', '100'],
        ]),
      }),
    ]),
  );
  assert.deepEqual(vs.bridges.get('br0')?.ofproto.settings, {
    failMode: 'secure',
    macAgingTime: 30,
    macTableSize: 100,
  });
});

// Behaviour of real ovs-vswitchd 3.1 (bridge.c's self-confinement): OVS's own test suite
// expects the punix: refusal as an ERR line naming the target.
test('a confined switch refuses unix sockets outside the run directory', () => {
  const saved = process.env.OVS_RUNDIR;
  process.env.OVS_RUNDIR = '/tmp/rd';
  try {
    assert.equal(confinedControllerError('br0', 'punix:/tmp/rd/br0.void'), null);
    assert.equal(confinedControllerError('br0', 'punix://tmp/rd/br0.ctl'), null);
    assert.equal(confinedControllerError('br0', 'unix:/tmp/rd/ctl.sock'), null);
    assert.equal(confinedControllerError('br0', 'unix:ctl.sock'), null);
    assert.equal(confinedControllerError('br0', 'tcp:127.0.0.1:6653'), null);
    assert.match(
      confinedControllerError('br0', 'punix:/tmp/rd/br0.void/../overwrite.file') ?? '',
      /^bridge br0: Not adding Unix domain socket controller "punix:\/tmp\/rd\/br0.void\/..\/overwrite.file" due to possibility of overwriting local files. Instead, specify path in permitted format "punix:\/tmp\/rd\/br0.\*"/,
    );
    assert.match(
      confinedControllerError('br0', 'punix:/tmp/rd/br1.void') ?? '',
      /Not adding Unix domain socket controller/,
    );
    assert.match(
      confinedControllerError('br0', 'unix:/etc/ctl.sock') ?? '',
      /^bridge br0: Not connecting to socket controller "unix:\/etc\/ctl.sock" due to possibility for remote exploit/,
    );
    setSelfConfinement(false);
    assert.equal(confinedControllerError('br0', 'unix:/etc/ctl.sock'), null);
  } finally {
    setSelfConfinement(true);
    if (saved === undefined) delete process.env.OVS_RUNDIR;
    else process.env.OVS_RUNDIR = saved;
  }
});

test('reserved names are refused with no Interface.error text, as OVS refuses them', () => {
  // Real ovs-vswitchd 3.1 --enable-dummy: ofport -1, error empty, and a bridge|WARN line.
  const vs = vswitch();
  const names = ['ovs-netdev', 'ovs-dummy', 'ovs-system', 'gre_sys', 'vxlan_sys0', 'genev_sys'];
  const ifs = names.map((n) => iface(n));
  const out = vs.reconfigure(ovs([bridge('br0', [...ifs, iface('ovs-p1')])]));
  for (const i of ifs) {
    const o = out.ifaces.find((x) => x.uuid === i.uuid);
    assert.deepEqual(o && !o.ok ? o.error : 'created', null, i.name);
  }
  assert.deepEqual(ofports(vs.bridges.get('br0')), { br0: 65534, 'ovs-p1': 1 });
});
