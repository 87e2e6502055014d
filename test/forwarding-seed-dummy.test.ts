/**
 * The seed's first walkthrough (VLAN isolation across two hosts) on in-memory ports, run the
 * same way against real ovs-vswitchd 3.1 and ours, configured with real ovs-vsctl:
 *
 *   Host1 (bridge host1): vm1 tag=1, vm2 tag=2, trunk port eth0 (a dummy port we capture)
 *                         and a patch trunk to host2;
 *   Host2 (bridge host2): vm3 tag=1, vm4 tag=2, patch trunk to host1.
 *
 * Frames are injected with netdev-dummy/receive; every port's transmissions are captured with
 * options:tx_pcap and compared, port by port, between the two switches, and checked against
 * what the walkthrough says must happen: same VLAN reaches, the other VLAN never does, the
 * trunk carries 802.1Q tags 1 and 2. fdb/show must learn the same MACs in both.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractFlow } from '../src/lib/flow/extract.ts';
import { FLOW_WORDS } from '../src/lib/flow/layout.ts';
import { flowToString } from '../src/lib/flow/match-format.ts';
import { decodePcapFile } from '../src/lib/pcap.ts';
import {
  appctl,
  dummyBridge,
  type Stack,
  startStack,
  stopStack,
  vsctl,
} from './vswitchd-harness.ts';

const PORTS = ['vm1', 'vm2', 'vm3', 'vm4', 'eth0'] as const;
const MAC = {
  vm1: '50:54:00:00:00:01',
  vm2: '50:54:00:00:00:02',
  vm3: '50:54:00:00:00:03',
  vm4: '50:54:00:00:00:04',
  ext: '50:54:00:00:00:99',
};

function configure(s: Stack): void {
  const pcap = (p: string): string => `options:tx_pcap=${join(s.dir, `${p}.pcap`)}`;
  const r = vsctl(s, [
    ...dummyBridge('host1'),
    ...dummyBridge('host2'),
    '--',
    'add-port',
    'host1',
    'vm1',
    'tag=1',
    '--',
    'set',
    'interface',
    'vm1',
    'type=dummy',
    'ofport_request=1',
    pcap('vm1'),
    '--',
    'add-port',
    'host1',
    'vm2',
    'tag=2',
    '--',
    'set',
    'interface',
    'vm2',
    'type=dummy',
    'ofport_request=2',
    pcap('vm2'),
    '--',
    'add-port',
    'host1',
    'eth0',
    '--',
    'set',
    'interface',
    'eth0',
    'type=dummy',
    'ofport_request=3',
    pcap('eth0'),
    '--',
    'add-port',
    'host1',
    'patch12',
    '--',
    'set',
    'interface',
    'patch12',
    'type=patch',
    'options:peer=patch21',
    'ofport_request=4',
    '--',
    'add-port',
    'host2',
    'vm3',
    'tag=1',
    '--',
    'set',
    'interface',
    'vm3',
    'type=dummy',
    'ofport_request=1',
    pcap('vm3'),
    '--',
    'add-port',
    'host2',
    'vm4',
    'tag=2',
    '--',
    'set',
    'interface',
    'vm4',
    'type=dummy',
    'ofport_request=2',
    pcap('vm4'),
    '--',
    'add-port',
    'host2',
    'patch21',
    '--',
    'set',
    'interface',
    'patch21',
    'type=patch',
    'options:peer=patch12',
    'ofport_request=4',
  ]);
  assert.equal(r.status, 0, r.stderr);
}

function receive(s: Stack, port: string, flow: string): void {
  const r = appctl(s, ['netdev-dummy/receive', port, flow]);
  assert.equal(r.status, 0, `${port} ${flow}: ${r.stderr}`);
}

const arp = (src: string, dst: string, sip: string, tip: string, op = 1): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x0806),arp(sip=${sip},tip=${tip},op=${op},sha=${src},tha=00:00:00:00:00:00)`;
const ip = (src: string, dst: string, sip: string, dip: string): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x0800),ipv4(src=${sip},dst=${dip},proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)`;
const tagged = (vid: number, src: string, dst: string, sip: string, dip: string): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x8100),vlan(vid=${vid},pcp=0),encap(eth_type(0x0800),ipv4(src=${sip},dst=${dip},proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0))`;

/** The scenario: returns what every port transmitted (flows as text) and the MAC tables. */
async function run(which: 'ours' | 'real'): Promise<{
  tx: Record<string, string[]>;
  fdb1: string;
  fdb2: string;
}> {
  const s = await startStack({ which });
  try {
    configure(s);
    // VM1 asks for VM3 (broadcast ARP in VLAN 1), VM3 answers.
    receive(s, 'vm1', arp(MAC.vm1, 'ff:ff:ff:ff:ff:ff', '198.18.1.1', '198.18.1.3'));
    receive(s, 'vm3', arp(MAC.vm3, MAC.vm1, '198.18.1.3', '198.18.1.1', 2));
    // Pings in VLAN 1 both ways (now unicast, learned).
    receive(s, 'vm1', ip(MAC.vm1, MAC.vm3, '198.18.1.1', '198.18.1.3'));
    receive(s, 'vm3', ip(MAC.vm3, MAC.vm1, '198.18.1.3', '198.18.1.1'));
    // VM2 in VLAN 2 tries VM1's and VM3's MACs: must never reach VLAN 1 ports.
    receive(s, 'vm2', ip(MAC.vm2, MAC.vm1, '198.18.2.2', '198.18.1.1'));
    receive(s, 'vm2', arp(MAC.vm2, 'ff:ff:ff:ff:ff:ff', '198.18.2.2', '198.18.2.4'));
    receive(s, 'vm4', arp(MAC.vm4, MAC.vm2, '198.18.2.4', '198.18.2.2', 2));
    // A tagged frame from outside on the trunk eth0, VLAN 2, to VM2; and VLAN 1 broadcast.
    receive(s, 'eth0', tagged(2, MAC.ext, MAC.vm2, '198.18.2.9', '198.18.2.2'));
    receive(s, 'eth0', tagged(1, MAC.ext, 'ff:ff:ff:ff:ff:ff', '198.18.1.9', '198.18.1.255'));
    // An untagged frame on the trunk is VLAN 0: reaches no VM.
    receive(s, 'eth0', ip(MAC.ext, MAC.vm1, '198.18.0.9', '198.18.1.1'));
    // A tagged frame arriving on an access port is dropped.
    receive(s, 'vm1', tagged(2, MAC.vm1, MAC.vm2, '198.18.1.1', '198.18.2.2'));

    const tx: Record<string, string[]> = {};
    for (const p of PORTS) {
      const file = join(s.dir, `${p}.pcap`);
      tx[p] = [];
      if (!existsSync(file)) continue;
      for (const rec of decodePcapFile(readFileSync(file)).records) {
        const key = new Uint32Array(FLOW_WORDS);
        extractFlow(rec.data, 0, rec.data.length, 0, key);
        tx[p].push(flowToString(key));
      }
    }
    // Ages depend on timing, and the order of entries learned in the same instant on real
    // OVS on which thread learned first: compared as sorted lines without ages.
    const fdb = (br: string): string =>
      appctl(s, ['fdb/show', br])
        .stdout.split('\n')
        .map((l) => l.replace(/\s+\d+$/, ''))
        .sort()
        .join('\n');
    return { tx, fdb1: fdb('host1'), fdb2: fdb('host2') };
  } finally {
    stopStack(s);
  }
}

describe('seed walkthrough 1 on dummy ports: ours against real OVS', () => {
  let ours: Awaited<ReturnType<typeof run>>;
  let real: Awaited<ReturnType<typeof run>>;
  before(async () => {
    [real, ours] = await Promise.all([run('real'), run('ours')]);
  });
  after(() => {});

  it('every port transmits exactly what real OVS transmits', () => {
    for (const p of PORTS) assert.deepEqual(ours.tx[p], real.tx[p], `port ${p}`);
  });

  it('VLANs are isolated: VLAN 2 traffic never reaches VM1 or VM3, VLAN 1 never VM2 or VM4', () => {
    const from = (f: string, ...macs: string[]): boolean =>
      macs.some((m) => f.includes(`dl_src=${m}`));
    for (const p of ['vm1', 'vm3']) {
      for (const f of ours.tx[p] ?? []) assert.ok(!from(f, MAC.vm2, MAC.vm4), `${p}: ${f}`);
    }
    for (const p of ['vm2', 'vm4']) {
      for (const f of ours.tx[p] ?? []) assert.ok(!from(f, MAC.vm1, MAC.vm3), `${p}: ${f}`);
    }
    // Nothing from the trunk's VLAN 0 reaches a VM.
    for (const p of ['vm1', 'vm2', 'vm3', 'vm4'])
      for (const f of ours.tx[p] ?? []) assert.doesNotMatch(f, /nw_src=198\.18\.0\.9/);
    // VM3 got VM1's broadcast ARP and both pings' halves; VM1 got the reply and the ping.
    assert.ok(
      (ours.tx.vm3 ?? []).some((f) => f.startsWith('arp') && f.includes(`dl_src=${MAC.vm1}`)),
    );
    assert.ok(
      (ours.tx.vm1 ?? []).some((f) => f.startsWith('icmp') && f.includes(`dl_src=${MAC.vm3}`)),
    );
    assert.ok(
      (ours.tx.vm4 ?? []).some((f) => f.startsWith('arp') && f.includes(`dl_src=${MAC.vm2}`)),
    );
    // Access ports transmit untagged.
    for (const p of ['vm1', 'vm2', 'vm3', 'vm4']) {
      for (const f of ours.tx[p] ?? []) assert.doesNotMatch(f, /dl_vlan=/, `${p}: ${f}`);
    }
  });

  it('the trunk carries 802.1Q tags 1 and 2', () => {
    const trunk = ours.tx.eth0 ?? [];
    assert.ok(
      trunk.some((f) => f.includes('dl_vlan=1,')),
      trunk.join('\n'),
    );
    assert.ok(
      trunk.some((f) => f.includes('dl_vlan=2,')),
      trunk.join('\n'),
    );
    for (const f of trunk) assert.match(f, /dl_vlan=[12],/);
  });

  it('fdb/show learns the same MACs', () => {
    assert.equal(ours.fdb1, real.fdb1);
    assert.equal(ours.fdb2, real.fdb2);
    assert.match(ours.fdb1, new RegExp(`1\\s+1\\s+${MAC.vm1}`));
  });
});
