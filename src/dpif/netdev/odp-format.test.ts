/*
 * Datapath action and flow key text formats against real Open vSwitch 3.1.
 *
 * GOLDEN pairs were captured from real ovs-vswitchd 3.1 (--enable-dummy, dummy@ovs-dummy):
 * each input was installed with `ovs-appctl dpctl/add-flow` (or, for the megaflow keys, made
 * by upcalls from `netdev-dummy/receive` with OpenFlow rules) and the output is what
 * `ovs-appctl dpctl/dump-flows` printed. The live test repeats the capture when real OVS is
 * installed.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatOdpActions, parseOdpActions } from './odp-actions.ts';
import { formatOdpFlow } from './odp-key.ts';
import { parseOdpFlow } from './odp-key-parse.ts';
import { OdpParseError } from './odp-parse.ts';

/* [action list given to dpctl/add-flow, what dpctl/dump-flows printed after "actions:"]. */
const ACTION_GOLDEN: ReadonlyArray<readonly [string, string]> = [
  ['userspace(pid=0)', `userspace(pid=0,userdata(${'0'.repeat(96)}))`],
  ['userspace(pid=1,userdata(01020304))', 'userspace(pid=1,userdata(0102030400000000))'],
  [
    'userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))',
    'userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))',
  ],
  ['userspace(pid=0,slow_path(match))', 'userspace(pid=0,slow_path(match))'],
  ['userspace(pid=0,slow_path())', 'userspace(pid=0,slow_path(0))'],
  ['userspace(pid=5,sFlow(vid=0,pcp=0,output=2))', 'userspace(pid=5,sFlow(vid=0,pcp=0,output=2))'],
  [
    'userspace(pid=0,flow_sample(probability=65535,collector_set_id=1,obs_domain_id=2,obs_point_id=3,output_port=4294967295))',
    'userspace(pid=0,flow_sample(probability=65535,collector_set_id=1,obs_domain_id=2,obs_point_id=3,output_port=4294967295))',
  ],
  ['userspace(pid=0,ipfix(output_port=1))', 'userspace(pid=0,ipfix(output_port=1))'],
  [
    'userspace(pid=0,userdata(0102),actions)',
    'userspace(pid=0,userdata(0102000000000000),actions)',
  ],
  [
    'userspace(pid=0,userdata(0102),tunnel_out_port=3)',
    'userspace(pid=0,userdata(0102000000000000),tunnel_out_port=3)',
  ],
  ['drop', 'drop'],
  ['pop_vlan', 'pop_vlan'],
  ['push_vlan(vid=10,pcp=3)', 'push_vlan(vid=10,pcp=3)'],
  ['push_vlan(tpid=0x88a8,vid=10,pcp=3)', 'push_vlan(tpid=0x88a8,vid=10,pcp=3)'],
  ['push_vlan(vid=10,pcp=0,cfi=0)', 'push_vlan(vid=10,pcp=0,cfi=0)'],
  ['sample(sample=50.0%,actions(1))', 'sample(sample=50.0%,actions(1))'],
  ['sample(sample=100.0%,actions(1,2))', 'sample(sample=100.0%,actions(1,2))'],
  ['sample(sample=0.5%,actions(1))', 'sample(sample=0.5%,actions(1))'],
  [
    'sample(sample=33.3%,actions(userspace(pid=0,userdata(01))))',
    'sample(sample=33.3%,actions(userspace(pid=0,userdata(0100000000000000))))',
  ],
  ['recirc(5)', 'recirc(0x5)'],
  ['clone(push_vlan(vid=5,pcp=0),1)', 'clone(push_vlan(vid=5,pcp=0),1)'],
  ['trunc(100)', 'trunc(100)'],
  ['meter(1)', 'meter(1)'],
  ['ct', 'ct'],
  ['ct(commit)', 'ct(commit)'],
  [
    'ct(commit,zone=5,mark=0x1/0xff,label=0x1/0xff)',
    'ct(commit,zone=5,mark=0x1/0xff,label=0x1/0xff)',
  ],
  ['ct(zone=1,nat)', 'ct(zone=1,nat)'],
  [
    'ct(commit,nat(src=10.0.0.1-10.0.0.5:100-200,persistent,random))',
    'ct(commit,nat(src=10.0.0.1-10.0.0.5:100-200,persistent,random))',
  ],
  ['ct_clear', 'ct_clear'],
  ['check_pkt_len(size=200,gt(2),le(3))', 'check_pkt_len(size=200,gt(2),le(3))'],
  [
    'check_pkt_len(size=200,gt(drop),le(set(ipv4(ttl=3)),1))',
    'check_pkt_len(size=200,gt(drop),le(set(ipv4(ttl=3)),1))',
  ],
  [
    'set(ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0,ttl=64,frag=no))',
    'set(ipv4(src=1.2.3.4,dst=5.6.7.8,proto=6,tos=0,ttl=64,frag=no))',
  ],
  ['set(ipv4(src=1.2.3.4))', 'set(ipv4(src=1.2.3.4))'],
  ['set(ipv4(src=1.2.3.4/255.255.255.0))', 'set(ipv4(src=1.2.3.4/255.255.255.0))'],
  ['set(ipv4(src=1.2.3.4,frag=no))', 'set(ipv4(src=1.2.3.4,frag=no))'],
  ['set(ipv4(tos=0x4/0xfc))', 'set(ipv4(tos=0x4/0xfc))'],
  ['set(tcp(src=1,dst=2))', 'set(tcp(src=1,dst=2))'],
  ['set(tcp(src=1/0xff))', 'set(tcp(src=1/0xff))'],
  ['set(tcp(src=1/0xff,dst=4))', 'set(tcp(src=1/0xff,dst=4))'],
  ['set(udp(dst=53))', 'set(udp(dst=53))'],
  ['set(sctp(src=1,dst=2))', 'set(sctp(src=1,dst=2))'],
  ['set(skb_mark(0x5))', 'set(skb_mark(0x5))'],
  ['set(skb_priority(0x5))', 'set(skb_priority(0x5))'],
  ['set(recirc_id(2))', 'set(recirc_id(0x2))'],
  ['set(in_port(2))', 'set(in_port(2))'],
  ['set(ct_state(0x1))', 'set(ct_state(0x1))'],
  ['set(vlan(vid=5,pcp=1))', 'set(vlan(vid=5,pcp=1))'],
  ['set(vlan(vid=5))', 'set(vlan(vid=5))'],
  ['set(mpls(label=5,tc=1,ttl=3,bos=1))', 'set(mpls(label=5,tc=1,ttl=3,bos=1))'],
  ['set(eth(src=00:00:00:00:00:03))', 'set(eth(src=00:00:00:00:00:03))'],
  [
    'set(eth(dst=00:00:00:00:00:03/ff:ff:ff:00:00:00))',
    'set(eth(dst=00:00:00:00:00:03/ff:ff:ff:00:00:00))',
  ],
  [
    'set(eth(src=00:00:00:00:00:03,dst=00:00:00:00:00:04/ff:ff:ff:ff:ff:ff))',
    'set(eth(src=00:00:00:00:00:03,dst=00:00:00:00:00:04))',
  ],
  [
    'set(ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=64,frag=no))',
    'set(ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=64,frag=no))',
  ],
  ['set(ipv6(src=2001:db8::1))', 'set(ipv6(src=2001:db8::1))'],
  ['set(icmp(type=1,code=2))', 'set(icmp(type=1,code=2))'],
  ['set(icmpv6(type=1,code=2))', 'set(icmpv6(type=1,code=2))'],
  [
    'set(arp(sip=1.1.1.1,tip=2.2.2.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02))',
    'set(arp(sip=1.1.1.1,tip=2.2.2.2,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:02))',
  ],
  [
    'set(nd(target=::1,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02))',
    'set(nd(target=::1,sll=00:00:00:00:00:01,tll=00:00:00:00:00:02))',
  ],
  [
    'set(tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,tp_dst=4789,flags(df|key)))',
    'set(tunnel(tun_id=0x5,src=1.1.1.1,dst=2.2.2.2,ttl=64,tp_dst=4789,flags(df|key)))',
  ],
  ['1,2,3', '1,2,3'],
  ['set(ipv4(ttl=63)),1', 'set(ipv4(ttl=63)),1'],
  ['tnl_pop(1)', 'tnl_pop(1)'],
  ['lb_output(1)', 'lb_output(1)'],
];

/* [flow key given to dpctl/add-flow or made by an upcall, what dpctl/dump-flows printed]. */
const KEY_GOLDEN: ReadonlyArray<readonly [string, string]> = [
  [
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)',
    'recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)',
  ],
  [
    'in_port(2),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0,frag=no)',
    'recirc_id(0),in_port(2),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0,frag=no)',
  ],
  // Megaflows installed by upcalls (OpenFlow rules + NORMAL, netdev-dummy/receive).
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(dst=10.0.0.2/255.0.0.0,proto=17,frag=no)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(dst=10.0.0.2/255.0.0.0,proto=17,frag=no)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:03,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=198.18.0.3,tip=198.18.0.1,op=1)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:03,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=198.18.0.3,tip=198.18.0.1,op=1)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:03),eth_type(0x86dd),ipv6(frag=no)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:03),eth_type(0x86dd),ipv6(frag=no)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:09),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800),ipv4(dst=198.18.0.9/128.0.0.0,proto=1,frag=no))',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:09),eth_type(0x8100),vlan(vid=10),encap(eth_type(0x0800),ipv4(dst=198.18.0.9/128.0.0.0,proto=1,frag=no))',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(src=198.18.0.1,proto=6,frag=no),tcp(dst=80)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(src=198.18.0.1,proto=6,frag=no),tcp(dst=80)',
  ],
  // More upcall megaflows (IPv6 prefixes, ND, MPLS, VLAN, fragments, TCP flags, ARP).
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x86dd),ipv6(src=2001:db8::1/ffff:ffff::,proto=58,frag=no),icmpv6(type=135)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x86dd),ipv6(src=2001:db8::1/ffff:ffff::,proto=58,frag=no),icmpv6(type=135)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x8847),mpls(label=5/0xfffff,tc=0/0,ttl=64/0x0,bos=1/1)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x8847),mpls(label=5/0xfffff,tc=0/0,ttl=64/0x0,bos=1/1)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=10,pcp=5/0x0),encap(eth_type(0x0806))',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=10,pcp=5/0x0),encap(eth_type(0x0806))',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,tos=0/0xfc,frag=first),udp(src=53/0xffe0)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,tos=0/0xfc,frag=first),udp(src=53/0xffe0)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x86dd),ipv6(src=2001:db8::1/ffff:ffff::,proto=6,frag=no),tcp(dst=80)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x86dd),ipv6(src=2001:db8::1/ffff:ffff::,proto=6,frag=no),tcp(dst=80)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(+syn-ack)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=6,frag=no),tcp_flags(+syn-ack)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,tos=0x10/0xfc,ttl=64,frag=no)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,tos=0x10/0xfc,ttl=64,frag=no)',
  ],
  [
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0806),arp(tha=00:00:00:00:00:00)',
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0806),arp(tha=00:00:00:00:00:00)',
  ],
];

/* "Datapath actions:" lines of real `ovs-appctl ofproto/trace` 3.1 for OpenFlow actions such as
 * mod_vlan_vid, dec_ttl, push_mpls, set_queue, ct(commit, exec(set_field ct_mark)), ct(table=1),
 * controller, clone and NORMAL: each must parse and print back unchanged. */
const TRACE_GOLDEN: readonly string[] = [
  'push_vlan(vid=5,pcp=0),3',
  'set(ipv4(src=198.18.0.9)),set(tcp(dst=8080)),1',
  'set(ipv4(ttl=63)),3',
  'push_mpls(label=0,tc=0,ttl=64,bos=1,eth_type=0x8847),3',
  'set(skb_mark(0x5)),3',
  'set(eth(src=50:54:00:00:00:0a)),3,set(eth(dst=50:54:00:00:00:0b)),1',
  'userspace(pid=0,controller(reason=1,dont_send=1,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))',
  'set(ipv4(tos=0x10/0xfc)),3',
  'set(eth(dst=50:54:00:00:00:aa)),3,set(eth(dst=50:54:00:00:00:02)),1',
  'set(skb_priority(0x1)),3',
  'ct(commit,zone=5),3',
  'ct(commit,zone=5,mark=0x1/0xffffffff),3',
  'ct(commit,nat(src=198.18.0.100)),3',
  'set(ipv4(tos=0x1/0x3)),3',
  'userspace(pid=0,controller(reason=0,dont_send=1,continuation=0,recirc_id=2,rule_cookie=0,controller_id=3,max_len=128))',
  'ct,recirc(0x3)',
  '100,3,1',
  'drop',
];

test('ofproto/trace datapath actions parse and print back unchanged (golden)', () => {
  for (const t of TRACE_GOLDEN) assert.equal(formatOdpActions(parseOdpActions(t)), t, t);
});

test('datapath actions print as real OVS 3.1 prints them (golden)', () => {
  for (const [input, want] of ACTION_GOLDEN) {
    assert.equal(formatOdpActions(parseOdpActions(input)), want, input);
  }
});

test('printed actions parse back to the same text (round trip)', () => {
  for (const [, printed] of ACTION_GOLDEN) {
    assert.equal(formatOdpActions(parseOdpActions(printed)), printed, printed);
  }
});

test('datapath flow keys print as real OVS 3.1 prints them (golden)', () => {
  for (const [input, want] of KEY_GOLDEN) {
    const f = parseOdpFlow(input);
    assert.equal(formatOdpFlow(f.key, f.mask), want, input);
  }
});

/* `dpctl/dump-flows -m` keys from real OVS 3.1 (upcall megaflows and a dpctl/add-flow flow):
 * verbose form, wildcarded fields as value/0, ports by name. */
const VERBOSE_GOLDEN: readonly string[] = [
  'skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(p1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:01/00:00:00:00:00:00,dst=50:54:00:00:00:02/00:00:00:00:00:00),eth_type(0x0800),ipv4(src=198.18.0.1/0.0.0.0,dst=10.0.0.2/255.0.0.0,proto=17,tos=0/0,ttl=64/0,frag=no),udp(src=1234/0,dst=53/0)',
  'skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(p1),packet_type(ns=0,id=0),eth(src=50:54:00:00:00:03,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=198.18.0.3,tip=198.18.0.1,op=1,sha=50:54:00:00:00:03/00:00:00:00:00:00,tha=00:00:00:00:00:00/00:00:00:00:00:00)',
  'skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(p2),packet_type(ns=0/0,id=0/0),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0,dst=0.0.0.0/0.0.0.0,proto=0/0,tos=0/0,ttl=0/0,frag=no)',
];

test('verbose keys (dpctl/dump-flows -m) print as real OVS 3.1 prints them (golden)', () => {
  const names = new Map([
    [1, 'p1'],
    [2, 'p2'],
  ]);
  const portNo = (n: string) => [...names].find(([, v]) => v === n)?.[0];
  for (const v of VERBOSE_GOLDEN) {
    const f = parseOdpFlow(v, { portNo });
    assert.equal(formatOdpFlow(f.key, f.mask, { verbose: true, portName: (p) => names.get(p) }), v);
  }
  // The same megaflow, tersely: what plain dump-flows printed for it.
  const f = parseOdpFlow(VERBOSE_GOLDEN[0], { portNo });
  assert.equal(
    formatOdpFlow(f.key, f.mask),
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(dst=10.0.0.2/255.0.0.0,proto=17,frag=no)',
  );
});

test('push_mpls, pop_mpls, hash (which OVS prints but cannot parse), add_mpls and tnl_push round-trip', () => {
  for (const s of [
    'push_mpls(label=10,tc=0,ttl=64,bos=1,eth_type=0x8847)',
    'pop_mpls(eth_type=0x800)',
    'hash(l4(0))',
    'hash(sym_l4(7))',
    'add_mpls(label=200,tc=7,ttl=64,bos=1,eth_type=0x8847)',
    'tnl_push(tnl_port(6),header(size=50,type=4,eth(dst=50:54:00:00:00:02,src=50:54:00:00:00:01,dl_type=0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=4789,csum=0x0),vxlan(flags=0x8000000,vni=0x1c7)),out_port(1))',
  ]) {
    assert.equal(formatOdpActions(parseOdpActions(s)), s);
  }
});

test('malformed action and key text gives OdpParseError', () => {
  for (const s of [
    'set(foo(x=1))',
    'push_vlan(vid=x,pcp=0)',
    'sample(sample=150%,actions(1))',
    'recirc(',
    'bogus',
  ]) {
    assert.throws(() => parseOdpActions(s), OdpParseError, s);
  }
  for (const s of [
    'in_port(x)',
    'ipv4(src=1.2.3)',
    'eth(src=zz)',
    'in_port(1),vlan(vid=1),encap(vlan(vid=2),encap(vlan(vid=3)))',
  ]) {
    assert.throws(() => parseOdpFlow(s), OdpParseError, s);
  }
});

/* The live comparison: the same inputs through real ovs-vswitchd (a CI test peer). */

test('live: real ovs-vswitchd prints what our formatter prints', {
  timeout: 120_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-odp-'));
  const env = {
    ...process.env,
    OVS_RUNDIR: dir,
    OVS_DBDIR: dir,
    OVS_LOGDIR: dir,
    OVS_SYSCONFDIR: dir,
  };
  const pids: number[] = [];
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
  const appctl = (...args: string[]) =>
    spawnSync('/usr/bin/ovs-appctl', ['-t', `${dir}/ovs-vswitchd.ctl`, ...args], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
  try {
    run('/usr/bin/ovsdb-tool', [
      'create',
      join(dir, 'conf.db'),
      '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    run('/usr/sbin/ovsdb-server', [
      `--remote=punix:${dir}/db.sock`,
      `--pidfile=${dir}/ovsdb-server.pid`,
      `--unixctl=${dir}/ovsdb-server.ctl`,
      '--detach',
      '--no-chdir',
      join(dir, 'conf.db'),
    ]);
    pids.push(Number(readFileSync(join(dir, 'ovsdb-server.pid'), 'utf8')));
    run('/usr/bin/ovs-vsctl', [`--db=unix:${dir}/db.sock`, '--no-wait', 'init']);
    run('/usr/sbin/ovs-vswitchd', [
      `unix:${dir}/db.sock`,
      '--enable-dummy',
      '--disable-system',
      `--pidfile=${dir}/ovs-vswitchd.pid`,
      `--unixctl=${dir}/ovs-vswitchd.ctl`,
      `--log-file=${dir}/ovs-vswitchd.log`,
      '--detach',
      '--no-chdir',
    ]);
    pids.push(Number(readFileSync(join(dir, 'ovs-vswitchd.pid'), 'utf8')));
    const vsctl = `--db=unix:${dir}/db.sock --timeout=30 add-br br0 -- set bridge br0 datapath_type=dummy`;
    const ports =
      ' -- add-port br0 p1 -- set interface p1 type=dummy -- add-port br0 p2 -- set interface p2 type=dummy';
    run('/usr/bin/ovs-vsctl', `${vsctl}${ports}`.split(' '));

    // 1. Flows put with dpctl/add-flow: our text for the same input equals what it dumps.
    const key = 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)';
    for (const [input] of ACTION_GOLDEN.filter((_, i) => i % 3 === 0)) {
      // Real OVS's revalidator deletes a flow it has no record of (one put by dpctl) at its
      // next pass, which a loaded machine can schedule between the add and the dump: a few
      // tries, bounded.
      let line = '';
      for (let i = 0; i < 5 && line === ''; i++) {
        appctl('dpctl/del-flows', 'dummy@ovs-dummy');
        const add = appctl('dpctl/add-flow', 'dummy@ovs-dummy', key, input);
        assert.equal(add.status, 0, `${input}: ${add.stderr}`);
        line =
          appctl('dpctl/dump-flows', 'dummy@ovs-dummy')
            .stdout.split('\n')
            .find((l) => l.includes('actions:')) ?? '';
      }
      assert.equal(
        formatOdpActions(parseOdpActions(input)),
        line.slice(line.indexOf('actions:') + 8),
        input,
      );
      const parsed = parseOdpFlow(key);
      assert.equal(
        formatOdpFlow(parsed.key, parsed.mask),
        line.slice(0, line.indexOf(', packets:')),
      );
    }

    // 2. Megaflows made by real upcalls: every dumped key and action list reads back and
    //    prints unchanged here.
    appctl('dpctl/del-flows', 'dummy@ovs-dummy');
    const ofctl = (flow: string) =>
      run('/usr/bin/ovs-ofctl', ['add-flow', `unix:${dir}/br0.mgmt`, flow]);
    ofctl('priority=10,tcp6,ipv6_src=2001:db8::/32,tp_dst=80,actions=output:1');
    ofctl('priority=8,tcp,tcp_flags=+syn-ack,actions=mod_nw_src:198.18.0.9,output:1');
    ofctl('priority=5,ip,nw_tos=16,actions=dec_ttl,output:1');
    ofctl('priority=3,arp,arp_tha=00:00:00:00:00:00,actions=output:1');
    ofctl('priority=1,actions=NORMAL');
    const eth = 'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02)';
    for (const p of [
      `${eth},eth_type(0x86dd),ipv6(src=2001:db8::1,dst=2001:db8::2,label=0,proto=6,tclass=0,hlimit=64,frag=no),tcp(src=1234,dst=80)`,
      `${eth},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=22),tcp_flags(syn)`,
      `${eth},eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=16,ttl=64,frag=no),udp(src=53,dst=1000)`,
      `${eth},eth_type(0x0806),arp(sip=198.18.0.1,tip=198.18.0.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)`,
      `${eth},eth_type(0x8100),vlan(vid=10,pcp=5),encap(eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.9,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0))`,
    ]) {
      assert.equal(appctl('netdev-dummy/receive', 'p1', p).status, 0, p);
    }
    // The receives are handled on ovs-vswitchd's next poll-loop turn: wait (boundedly) until
    // all five megaflows are installed.
    let lines: string[] = [];
    for (let tries = 0; tries < 50; tries++) {
      lines = appctl('dpctl/dump-flows', 'dummy@ovs-dummy')
        .stdout.split('\n')
        .filter((l) => l.includes('actions:'));
      if (lines.length >= 5) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    assert.equal(lines.length, 5, lines.join('\n'));
    for (const line of lines) {
      const k = line.slice(0, line.indexOf(', packets:'));
      const a = line.slice(line.indexOf('actions:') + 8);
      const f = parseOdpFlow(k);
      assert.equal(formatOdpFlow(f.key, f.mask), k);
      assert.equal(formatOdpActions(parseOdpActions(a)), a);
    }
  } finally {
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
