import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DummyNetdev, resetDummyNumbering } from './dummy.ts';
import { parseAfxdpOptions, xskFrameSize } from './linux/afxdp.ts';
import { formatEthAddr, parseEthAddr } from './netdev.ts';
import { PatchNetdev } from './patch.ts';
import { NetdevRegistry } from './registry.ts';

test('dummy devices are numbered aa:55:aa:55:NN:NN in creation order, up, MTU 1500', () => {
  resetDummyNumbering();
  const a = new DummyNetdev('ovs-dummy', 'dummy-internal');
  const b = new DummyNetdev('p1');
  // Captured from real ovs-vswitchd 3.1 --enable-dummy: the datapath's port is :00, br0 :01...
  assert.equal(a.getEtheraddr(), 'aa:55:aa:55:00:00');
  assert.equal(b.getEtheraddr(), 'aa:55:aa:55:00:01');
  assert.equal(b.getMtu(), 1500);
  assert.equal(b.getCarrier(), true);
  b.setUp(false);
  assert.equal(b.getCarrier(), false); // no link while administratively down
  // The statistics column real ovs-vswitchd writes for a dummy interface.
  assert.deepEqual([...b.getStatisticsColumn().keys()].sort(), [
    'rx_bytes',
    'rx_custom_packets_1',
    'rx_custom_packets_2',
    'rx_packets',
    'rx_q0_bytes',
    'rx_q0_packets',
    'tx_bytes',
    'tx_packets',
    'tx_q0_bytes',
    'tx_q0_packets',
  ]);
});

test('patch ports: peer option checked with OVS wording; random local unicast address', () => {
  const p = new PatchNetdev('pa');
  assert.equal(p.setConfig(new Map()), "pa: patch type requires valid 'peer' argument");
  assert.equal(p.setConfig(new Map([['peer', 'pa']])), 'pa: patch peer must not be self');
  assert.equal(
    p.setConfig(
      new Map([
        ['peer', 'pb'],
        ['x', '1'],
      ]),
    ),
    "pa: patch type takes only a 'peer' argument",
  );
  assert.equal(p.setConfig(new Map([['peer', 'pb']])), null);
  assert.deepEqual([...p.getConfig()], [['peer', 'pb']]);
  assert.equal(p.getMtu(), null);
  const first = Number.parseInt(p.getEtheraddr().slice(0, 2), 16);
  assert.equal(first & 3, 2);
});

test('registry: dummy types need --enable-dummy; system and tap need a device', () => {
  const plain = new NetdevRegistry({ enableDummy: false, override: false });
  assert.throws(() => plain.open('p1', 'dummy'), /Address family not supported by protocol/);
  assert.throws(() => plain.open('eth0', ''), /No such device/);
  assert.throws(() => plain.open('t0', 'tap'), /No such device/);
  assert.throws(() => plain.open('v0', 'vxlan'), /Address family not supported by protocol/);
  assert.equal(plain.open('br0', 'internal').type, 'tap');
  const override = new NetdevRegistry({ enableDummy: true, override: true });
  assert.equal(override.open('eth0', '').type, 'system');
  assert.equal(override.open('t0', 'tap').type, 'tap');
  assert.equal(override.open('v0', 'vxlan').type, 'vxlan');
  assert.equal(override.open('pp', 'patch').type, 'patch');
});

test('registry: afxdp types with Linux devices only, listed as real OVS 3.1 lists them', () => {
  const plain = new NetdevRegistry({ enableDummy: false, override: false });
  assert.throws(() => plain.open('p1', 'afxdp'), /Address family not supported by protocol/);
  assert.ok(!plain.types().includes('afxdp'));
  const linux = new NetdevRegistry({ enableDummy: false, override: false, linux: true });
  // Real ovs-vswitchd 3.1 (Debian, built with AF_XDP) lists both in iface_types.
  assert.ok(linux.types().includes('afxdp') && linux.types().includes('afxdp-nonpmd'));
  assert.throws(() => linux.open('nosuchdev0', 'afxdp'), /No such device/);
  const override = new NetdevRegistry({ enableDummy: true, override: true });
  assert.equal(override.open('x0', 'afxdp').type, 'afxdp');
});

test('afxdp options are read as OVS 3.1 reads them', () => {
  const p = (o: Record<string, string>) => parseAfxdpOptions('p1', new Map(Object.entries(o)));
  assert.deepEqual(p({}), { nRxq: 1, mode: 'best-effort', needWakeup: true });
  assert.deepEqual(p({ n_rxq: '4', 'xdp-mode': 'NATIVE', 'use-need-wakeup': 'yes' }), {
    nRxq: 4,
    mode: 'native',
    needWakeup: true,
  });
  assert.deepEqual(p({ n_rxq: '4x', 'use-need-wakeup': 'False' }), {
    nRxq: 1,
    mode: 'best-effort',
    needWakeup: false,
  });
  assert.deepEqual(p({ n_rxq: '-3' }), { nRxq: 1, mode: 'best-effort', needWakeup: true });
  // The log lines real ovs-vswitchd 3.1 writes for these (netdev_afxdp|ERR).
  assert.deepEqual(p({ n_rxq: '17' }), { error: "p1: Too big 'n_rxq' (17 > 16)." });
  assert.deepEqual(p({ 'xdp-mode': 'bogus' }), { error: 'p1: Incorrect xdp-mode (bogus).' });
  assert.equal(xskFrameSize(1500), 2048);
  assert.equal(xskFrameSize(3000), 4096);
});

test('Ethernet address parsing and printing', () => {
  assert.equal(parseEthAddr('0:1:22:aB:4:5'), '00:01:22:ab:04:05');
  assert.equal(parseEthAddr('00:11:22:33:44'), undefined);
  assert.equal(formatEthAddr([1, 2, 3, 4, 5, 255]), '01:02:03:04:05:ff');
});
