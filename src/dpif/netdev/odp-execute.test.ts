/*
 * Action execution checked by an independent parser: frames rewritten by set actions are
 * handed to scapy (Debian's /usr/bin/python3), which recomputes every checksum and reports
 * the header fields; nothing of ours judges our own output there.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { extractFlow, N_LAYERS } from '../../lib/flow/extract.ts';
import { FLOW_WORDS, W_CT_STATE, W_DP_HASH, W_PKT_MARK } from '../../lib/flow/layout.ts';
import { composePacket } from '../../lib/packet/compose.ts';
import { type OdpAction, parseOdpActions } from './odp-actions.ts';
import { type ExecuteSink, OdpExecutor } from './odp-execute.ts';
import { parseOdpFlow } from './odp-key-parse.ts';

interface Out {
  port: number;
  frame: Uint8Array;
  key: Uint32Array;
}

function run(flow: string, actions: string, seed?: number): { outs: Out[]; ups: OdpAction[] } {
  const outs: Out[] = [];
  const ups: OdpAction[] = [];
  const sink: ExecuteSink = {
    output: (port, frame, off, len, key) =>
      outs.push({ port, frame: frame.slice(off, off + len), key: Uint32Array.from(key) }),
    userspace: (a) => ups.push(a),
    recirculate: () => {},
  };
  const ex = new OdpExecutor(sink, seed);
  const frame = composePacket(parseOdpFlow(flow).key);
  const buf = new Uint8Array(2048);
  buf.set(frame);
  const key = new Uint32Array(FLOW_WORDS);
  const layers = new Int32Array(N_LAYERS);
  extractFlow(buf, 0, frame.length, 1, key, layers);
  ex.load(buf, 0, frame.length, key, layers);
  ex.execute(parseOdpActions(actions));
  return { outs, ups };
}

const ETH = 'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02)';
const CASES: ReadonlyArray<{ name: string; flow: string; actions: string }> = [
  {
    name: 'ipv4-tcp',
    flow: `${ETH},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)`,
    actions:
      'set(ipv4(src=198.18.1.1,dst=198.18.1.2,tos=0x10/0xfc,ttl=7)),set(tcp(src=4321,dst=8080)),1',
  },
  {
    name: 'ipv4-udp',
    flow: `${ETH},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=53,dst=1000)`,
    actions: 'set(ipv4(src=198.18.0.0/255.255.0.0)),set(udp(dst=2000)),1',
  },
  {
    name: 'ipv4-icmp',
    flow: `${ETH},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)`,
    actions: 'set(icmp(type=0,code=0)),set(ipv4(dst=198.18.9.9)),1',
  },
  {
    name: 'ipv6-udp',
    flow: `${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=17,tclass=0,hlimit=64,frag=no),udp(src=53,dst=1000)`,
    actions: 'set(ipv6(src=2001:db8::99,label=0x12345,tclass=0x20,hlimit=9)),set(udp(src=5353)),1',
  },
  {
    name: 'ipv6-tcp',
    flow: `${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(src=1,dst=2)`,
    actions: 'set(ipv6(dst=2001:db8::77)),set(tcp(dst=22)),1',
  },
  {
    name: 'nd',
    flow: `${ETH},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=ff02::1:ff00:2,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::2,sll=50:54:00:00:00:05)`,
    actions: 'set(nd(target=2001:db8::3,sll=50:54:00:00:00:06)),1',
  },
  {
    name: 'arp',
    flow: `${ETH},eth_type(0x0806),arp(sip=198.18.0.1,tip=198.18.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)`,
    actions: 'set(arp(sip=198.18.0.7,op=2,tha=50:54:00:00:00:09)),1',
  },
  {
    name: 'vlan-mpls',
    flow: `${ETH},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=53,dst=1000)`,
    actions: 'push_mpls(label=100,tc=3,ttl=9,bos=1,eth_type=0x8847),push_vlan(vid=10,pcp=5),1',
  },
];

const SCAPY = `
import sys, json
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ARP, Dot1Q, bind_layers
from scapy.contrib.mpls import MPLS
bind_layers(Dot1Q, MPLS, type=0x8847)
from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr
res = []
for line in sys.stdin:
    raw = bytes.fromhex(line.strip())
    p = Ether(raw)
    r = {"ok": True}
    for L in (IP, TCP, UDP, ICMP, ICMPv6ND_NS):
        if L in p and hasattr(p[L], "chksum") or (L in p and hasattr(p[L], "cksum")):
            f = "chksum" if hasattr(p[L], "chksum") else "cksum"
            have = getattr(p[L], f)
            q = Ether(raw)
            delattr(q[L], f)
            want = getattr(Ether(bytes(q))[L], f)
            if have != want: r["ok"] = False; r["bad"] = L.__name__
    if IP in p: r.update(src=p[IP].src, dst=p[IP].dst, tos=p[IP].tos, ttl=p[IP].ttl)
    if IPv6 in p: r.update(src=p[IPv6].src, dst=p[IPv6].dst, tc=p[IPv6].tc, fl=p[IPv6].fl, hlim=p[IPv6].hlim)
    if TCP in p: r.update(sport=p[TCP].sport, dport=p[TCP].dport)
    if UDP in p: r.update(sport=p[UDP].sport, dport=p[UDP].dport)
    if ICMP in p: r.update(icmp_type=p[ICMP].type)
    if ICMPv6ND_NS in p: r.update(tgt=p[ICMPv6ND_NS].tgt)
    if ICMPv6NDOptSrcLLAddr in p: r.update(lladdr=p[ICMPv6NDOptSrcLLAddr].lladdr)
    if ARP in p: r.update(psrc=p[ARP].psrc, op=p[ARP].op, hwdst=p[ARP].hwdst)
    if Dot1Q in p: r.update(vlan=p[Dot1Q].vlan, prio=p[Dot1Q].prio)
    if MPLS in p: r.update(label=p[MPLS].label, cos=p[MPLS].cos, mttl=p[MPLS].ttl)
    res.append(r)
print(json.dumps(res))
`;

test('set actions keep every checksum right and write the fields (checked by scapy)', {}, () => {
  const frames = CASES.map((c) => {
    const { outs } = run(c.flow, c.actions);
    assert.equal(outs.length, 1, c.name);
    return outs[0].frame;
  });
  const input = frames.map((f) => Buffer.from(f).toString('hex')).join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', SCAPY], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as Array<Record<string, string | number | boolean>>;
  const by = Object.fromEntries(CASES.map((c, i) => [c.name, res[i]]));
  for (const c of CASES)
    assert.equal(by[c.name].ok, true, `${c.name}: bad ${by[c.name].bad} checksum`);
  assert.deepEqual(
    [
      by['ipv4-tcp'].src,
      by['ipv4-tcp'].dst,
      by['ipv4-tcp'].tos,
      by['ipv4-tcp'].ttl,
      by['ipv4-tcp'].sport,
      by['ipv4-tcp'].dport,
    ],
    ['198.18.1.1', '198.18.1.2', 0x10, 7, 4321, 8080],
  );
  assert.deepEqual(
    [by['ipv4-udp'].src, by['ipv4-udp'].dport],
    ['198.18.0.1', 2000],
    'masked set keeps the unmasked bits',
  );
  assert.deepEqual([by['ipv4-icmp'].icmp_type, by['ipv4-icmp'].dst], [0, '198.18.9.9']);
  assert.deepEqual(
    [
      by['ipv6-udp'].src,
      by['ipv6-udp'].fl,
      by['ipv6-udp'].tc,
      by['ipv6-udp'].hlim,
      by['ipv6-udp'].sport,
    ],
    ['2001:db8::99', 0x12345, 0x20, 9, 5353],
  );
  assert.deepEqual([by['ipv6-tcp'].dst, by['ipv6-tcp'].dport], ['2001:db8::77', 22]);
  assert.deepEqual([by.nd.tgt, by.nd.lladdr], ['2001:db8::3', '50:54:00:00:00:06']);
  assert.deepEqual([by.arp.psrc, by.arp.op, by.arp.hwdst], ['198.18.0.7', 2, '50:54:00:00:00:09']);
  assert.deepEqual(
    [
      by['vlan-mpls'].vlan,
      by['vlan-mpls'].prio,
      by['vlan-mpls'].label,
      by['vlan-mpls'].cos,
      by['vlan-mpls'].mttl,
    ],
    [10, 5, 100, 3, 9],
  );
});

const UDP4 = `${ETH},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=53,dst=1000)`;

test('metadata sets, hash, ct_clear and check_pkt_len act on the key and branch on length', () => {
  const { outs } = run(
    UDP4,
    'set(skb_mark(0x5/0xf)),hash(l4(0)),2,ct_clear,check_pkt_len(size=60,gt(3),le(4)),check_pkt_len(size=1000,gt(5),le(6))',
  );
  assert.deepEqual(
    outs.map((o) => o.port),
    [2, 3, 6],
  );
  assert.equal(outs[0].key[W_PKT_MARK], 5);
  assert.notEqual(outs[0].key[W_DP_HASH], 0);
  assert.equal(outs[1].key[W_CT_STATE], 0);
  // The same 5-tuple always hashes the same; sym_l4 is direction-independent.
  const a = run(UDP4, 'hash(sym_l4(0)),1').outs[0].key[W_DP_HASH];
  const rev = UDP4.replace(
    'src=198.18.0.1,dst=198.18.0.2',
    'src=198.18.0.2,dst=198.18.0.1',
  ).replace('udp(src=53,dst=1000)', 'udp(src=1000,dst=53)');
  assert.equal(run(rev, 'hash(sym_l4(0)),1').outs[0].key[W_DP_HASH], a);
});

test('nested actions deeper than the limit are skipped, not a crash; userspace reaches the sink', () => {
  let acts = '1';
  for (let i = 0; i < 12; i++) acts = `clone(${acts}),2`;
  const { outs } = run(UDP4, acts);
  assert.ok(outs.length > 0 && outs.length < 13);
  const { ups } = run(UDP4, 'userspace(pid=7,userdata(0102)),1');
  assert.equal(ups.length, 1);
  assert.equal(ups[0].type === 'userspace' ? ups[0].pid : -1, 7);
});

test('property: every truncation of every frame survives every action without an exception', () => {
  const flows = CASES.map((c) => c.flow);
  const actions = [
    ...CASES.map((c) => c.actions),
    'pop_vlan,pop_mpls(eth_type=0x800),set(mpls(label=1)),set(vlan(vid=3)),1',
    'set(eth(src=00:00:00:00:00:01)),set(icmpv6(type=1,code=0)),set(sctp(src=1)),hash(sym_l4(1)),1',
    'clone(push_vlan(vid=1,pcp=0),set(ipv4(ttl=1)),1),sample(sample=50.0%,actions(2)),trunc(10),3',
  ];
  const sink: ExecuteSink = { output: () => {}, userspace: () => {}, recirculate: () => {} };
  const ex = new OdpExecutor(sink, 1);
  const parsed = actions.map((a) => parseOdpActions(a));
  const frames = flows.map((f) => composePacket(parseOdpFlow(f).key, 8));
  fc.assert(
    fc.property(
      fc.nat({ max: frames.length - 1 }),
      fc.nat({ max: parsed.length - 1 }),
      fc.nat({ max: 200 }),
      (fi, ai, cut) => {
        const frame = frames[fi];
        const len = Math.min(cut, frame.length);
        const buf = new Uint8Array(2048);
        buf.set(frame.subarray(0, len));
        const key = new Uint32Array(FLOW_WORDS);
        const layers = new Int32Array(N_LAYERS);
        extractFlow(buf, 0, len, 1, key, layers);
        ex.load(buf, 0, len, key, layers);
        ex.execute(parsed[ai]);
      },
    ),
    { numRuns: 2000 },
  );
});
