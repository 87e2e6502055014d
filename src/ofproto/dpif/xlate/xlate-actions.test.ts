/*
 * Actions in translation: enqueue, set_queue and pop_queue as the userspace datapath's
 * skb_priority, a port's QoS queues that mark a DSCP, a load into part of a field, and
 * debug_slow. The expected datapath actions and megaflows are
 * what real ovs-vswitchd 3.1 printed (ofproto/trace br0 on a dummy bridge, with and without a
 * linux-htb QoS on p1 whose queue 1 has dscp=5 and queue 7 dscp=10) for the same flows and
 * packets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatOdpActions } from '../../../dpif/netdev/odp-actions.ts';
import { Classifier } from '../../../lib/classifier/classifier.ts';
import { parseExactFlow } from '../../../lib/flow/match-parse.ts';
import { parseFlowMod } from '../../openflow/flow-mod-parse.ts';
import { MacLearning } from '../mac-learning.ts';
import { normalBridge } from './normal.ts';
import { formatMegaflow, type XBridge, type XPort, type XRule, xlate } from './xlate.ts';

function bridge(flowText: string, dscp: ReadonlyMap<number, number> | undefined): XBridge {
  const cls = new Classifier<XRule>();
  const r = parseFlowMod(flowText, 'add');
  if (!r.ok) throw new Error(r.error);
  cls.replace(r.value.match, r.value.priority, {
    tableId: 0,
    match: r.value.match,
    priority: r.value.priority,
    cookie: 0n,
    ofpacts: r.value.ofpacts,
    removed: false,
  });
  const port = (ofp: number, odp: number, name: string, d?: ReadonlyMap<number, number>) => {
    const p: XPort = {
      name,
      ofpPort: ofp,
      odpPort: odp,
      peer: null,
      noFlood: false,
      noFwd: false,
      noPacketIn: false,
      live: true,
      dscp: d,
    };
    return p;
  };
  const ports = [port(1, 1, 'p1', dscp), port(9, 9, 'p9'), port(0xfffe, 100, 'br0')];
  return {
    name: 'br0',
    tables: { lookup: (t, key, wc) => (t === 0 ? (cls.lookup(key, wc)?.data ?? null) : null) },
    groups: null,
    ports: new Map(ports.map((p) => [p.ofpPort, p])),
    floodOrder: ports,
    normal: normalBridge([]),
    macs: new MacLearning(),
    missToController: false,
    mirrors: [],
    sflowSampling: 0,
    netflow: false,
    portName: (p) => ports.find((x) => x.ofpPort === p)?.name,
  };
}

function run(b: XBridge, packet: string): { actions: string; megaflow: string } {
  const f = parseExactFlow(packet);
  if (!f.ok) throw new Error(f.error);
  const r = xlate({
    world: { bridge: () => b },
    bridge: b,
    flow: f.key,
    sideEffects: false,
    trace: null,
    controllerId: () => 1,
  });
  return { actions: formatOdpActions(r.actions), megaflow: formatMegaflow(f.key, r.wc) };
}

const PACKET =
  'in_port=9,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,dl_type=0x0800,nw_src=198.18.1.1,' +
  'nw_dst=198.18.2.2,nw_proto=1,nw_tos=44,nw_ecn=0,nw_ttl=9,icmp_type=8,icmp_code=0';
const FLOW =
  'actions=enqueue:1:7,set_queue:1,output:1,output:LOCAL,mod_nw_tos:16,enqueue:1:7,pop_queue,output:1,set_queue:9,output:1';

describe('queues in translation', () => {
  it('queues with a DSCP mark the ToS of what they send', () => {
    const b = bridge(
      FLOW,
      new Map([
        [1, 5 << 2],
        [7, 10 << 2],
      ]),
    );
    assert.equal(
      run(b, PACKET).actions,
      'set(ipv4(tos=0x28/0xfc)),set(skb_priority(0x7)),1,set(ipv4(tos=0x14/0xfc)),set(skb_priority(0x1)),1,' +
        'set(ipv4(tos=0x2c/0xfc)),100,set(ipv4(tos=0x28/0xfc)),set(skb_priority(0x7)),1,' +
        'set(ipv4(tos=0x10/0xfc)),set(skb_priority(0)),1,set(skb_priority(0x9)),1',
    );
  });

  it('without queues on the port, enqueue and set_queue only set skb_priority', () => {
    const r = run(bridge(FLOW, undefined), PACKET);
    assert.equal(
      r.actions,
      'set(skb_priority(0x7)),1,set(skb_priority(0x1)),1,100,set(ipv4(tos=0x10/0xfc)),' +
        'set(skb_priority(0x7)),1,set(skb_priority(0)),1,set(skb_priority(0x9)),1',
    );
    assert.match(r.megaflow, /skb_priority=0,/);
  });
});

describe('debug_slow', () => {
  it('keeps the flow in the userspace slow path (OVS: "Uses action(s) not supported by datapath")', () => {
    const b = bridge('actions=debug_slow,output:1', undefined);
    const f = parseExactFlow(PACKET);
    if (!f.ok) throw new Error(f.error);
    const args = { world: { bridge: () => b }, bridge: b, flow: f.key, trace: null };
    const r = xlate({ ...args, sideEffects: false, controllerId: () => 1 });
    assert.equal(r.slow, true);
    assert.equal(formatOdpActions(r.actions), '1');
    const plain = bridge('actions=output:1', undefined);
    assert.equal(
      xlate({ ...args, bridge: plain, sideEffects: false, controllerId: () => 1 }).slow,
      false,
    );
  });
});

describe('a load into part of a field', () => {
  it('matches and rewrites only the bits it writes', () => {
    const b = bridge('tcp,actions=load:42->OXM_OF_TCP_SRC[0..7],output:1', undefined);
    const tcp = PACKET.replace('nw_proto=1', 'nw_proto=6').replace(
      'icmp_type=8,icmp_code=0',
      'tp_src=33419,tp_dst=22',
    );
    const r = run(b, tcp);
    assert.equal(r.actions, 'set(tcp(src=42/0xff)),1');
    assert.equal(r.megaflow, 'recirc_id=0,eth,tcp,in_port=9,nw_frag=no,tp_src=0x8b/0xff');
  });
});
