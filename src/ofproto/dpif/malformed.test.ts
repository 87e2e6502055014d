/*
 * Malformed frames go through the whole switch without an exception: every golden frame
 * (Ethernet, VLAN, QinQ, ARP, IPv4 with options and fragments, IPv6 with extension headers,
 * ICMP, ND, TCP, UDP, SCTP, MPLS...) cut at every length, plus random bytes, is received on a
 * port of a bridge whose tables match and rewrite every layer. Nothing may throw, and no
 * upcall may fail (a failed upcall is counted as lost).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DpifBackers } from '../../dpif/backers.ts';
import { GOLDEN_FRAMES } from '../../lib/flow/golden-frames.ts';
import type { DummyNetdev } from '../../netdev/dummy.ts';
import { NetdevRegistry } from '../../netdev/registry.ts';
import { ofpPort } from '../ofp-port.ts';
import { Ofproto } from '../ofproto.ts';
import { parseFlowMod } from '../openflow/flow-mod-parse.ts';
import { portVlanFromColumns, TRUNK_ALL } from './vlan.ts';

function bridge(): { br: Ofproto; p1: DummyNetdev } {
  const registry = new NetdevRegistry({ enableDummy: true, override: false });
  const br = new Ofproto('br0', 'dummy', new DpifBackers(registry));
  br.portAdd(registry.open('br0', 'dummy-internal'));
  const p1 = registry.open('p1', 'dummy') as DummyNetdev;
  br.portAdd(p1, ofpPort(1));
  br.portAdd(registry.open('p2', 'dummy'), ofpPort(2));
  br.portAdd(registry.open('p3', 'dummy'), ofpPort(3));
  br.setBundles(
    [
      { name: 'p1', ofpPorts: [1], vlan: TRUNK_ALL, mirrorOut: false },
      { name: 'p2', ofpPorts: [2], vlan: portVlanFromColumns({ tag: 5 }), mirrorOut: false },
      { name: 'p3', ofpPorts: [3], vlan: TRUNK_ALL, mirrorOut: false },
    ],
    false,
  );
  const flows = [
    'priority=0,actions=NORMAL',
    'priority=10,tcp,tp_dst=80,actions=mod_tp_dst:8080,mod_nw_src:198.18.9.9,output:3',
    'priority=10,udp6,actions=dec_ttl,mod_vlan_vid:7,output:3',
    'priority=10,arp,arp_op=1,actions=mod_dl_src:02:00:00:00:00:99,NORMAL',
    'priority=10,icmp6,icmp_type=135,actions=output:2,strip_vlan,output:3',
    'priority=10,dl_vlan=100,actions=strip_vlan,push_vlan:0x88a8,mod_vlan_vid:200,output:3',
    'priority=10,sctp,actions=mod_tp_src:1,resubmit(,1)',
    'table=1,actions=dec_ttl,output:3,CONTROLLER:64',
    'priority=10,ip,nw_frag=later,actions=output:3',
    'priority=10,mpls,actions=output:2',
  ];
  for (const f of flows) {
    const r = parseFlowMod(f, 'add');
    if (!r.ok) throw new Error(`${f}: ${r.error}`);
    const err = br.tables.flowMod(r.value);
    if (err) throw err;
  }
  return { br, p1 };
}

test('every truncation of every golden frame crosses the switch without an exception', () => {
  const { br, p1 } = bridge();
  try {
    let n = 0;
    for (const g of GOLDEN_FRAMES) {
      const bytes = Uint8Array.from(Buffer.from(g.hex, 'hex'));
      for (let len = 0; len <= bytes.length; len++) {
        // Twice: once translated in full (no cached flow), once through the caches.
        br.dpif.dp.flowFlush();
        p1.receiveFrame(bytes.subarray(0, len));
        p1.receiveFrame(bytes.subarray(0, len));
        n++;
      }
    }
    const st = br.dpif.dp.stats;
    assert.equal(st.lost, 0);
    assert.equal(st.missed, n, JSON.stringify(st));
    assert.equal(st.hit + st.missed, 2 * n, JSON.stringify(st));
  } finally {
    br.destroy();
  }
});

test('random bytes cross the switch without an exception', () => {
  const { br, p1 } = bridge();
  try {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (b) => {
        br.dpif.dp.flowFlush();
        p1.receiveFrame(b);
      }),
      { numRuns: 2000 },
    );
    assert.equal(br.dpif.dp.stats.lost, 0);
    assert.equal(br.dpif.dp.stats.missed, 2000);
  } finally {
    br.destroy();
  }
});
