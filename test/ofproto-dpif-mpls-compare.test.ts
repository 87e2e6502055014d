/**
 * MPLS translation side by side with real ovs-vswitchd 3.1 on a dummy bridge: push_mpls on
 * labelled and unlabelled packets, pop_mpls to MPLS and to IPv4, label/tc/ttl rewrites and
 * dec_mpls_ttl (also its TTL exception), and the datapath flows (actions and megaflow masks)
 * each installs, as `ovs-appctl dpctl/dump-flows` shows them. The same real tools drive both
 * switches; the flows and packets are our own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { appctl, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const FLOWS = [
  'dl_src=50:54:00:00:00:01,actions=push_mpls:0x8847,2',
  'dl_src=50:54:00:00:00:02,actions=pop_mpls:0x0800,2',
  'dl_src=50:54:00:00:00:03,actions=pop_mpls:0x8847,2',
  'dl_src=50:54:00:00:00:04,actions=push_mpls:0x8847,set_mpls_label:7,set_mpls_ttl:3,dec_mpls_ttl,set_mpls_tc:2,2,pop_mpls:0x0800,2',
  'dl_src=50:54:00:00:00:05,ip,actions=push_mpls:0x8848,load:12->OXM_OF_MPLS_LABEL[],2,push_mpls:0x8847,2',
  'dl_src=50:54:00:00:00:06,ip,actions=push_mpls:0x8847,2',
  'dl_src=50:54:00:00:00:07,ip,actions=push_mpls:0x8847,set_mpls_ttl:0,dec_mpls_ttl,2',
  'dl_src=50:54:00:00:00:08,actions=dec_mpls_ttl,2',
];

const eth = (n: number): string => `eth(src=50:54:00:00:00:0${n},dst=50:54:00:00:00:0a)`;
const ipv4 = 'ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0x44,ttl=33,frag=no),tcp(src=1,dst=2)';
/* 50:54:00:00:00:0a <- 50:54:00:00:00:03, MPLS with labels 20 (ttl 32) and 20 (bottom), IPv4. */
const TWO_LABELS =
  '50540000000a505400000003884700014020000141204500002c00000000400639' +
  '78c0a80001c0a800020050000000000000002a0000002a500027107744000048' +
  '4f4745';
const PACKETS = [
  `in_port(1),${eth(1)},eth_type(0x8847),mpls(label=11,tc=3,ttl=64,bos=1)`,
  `in_port(1),${eth(2)},eth_type(0x8847),mpls(label=11,tc=3,ttl=64,bos=1)`,
  TWO_LABELS,
  `in_port(1),${eth(4)},eth_type(0x8847),mpls(label=11,tc=3,ttl=64,bos=1)`,
  `in_port(1),${eth(5)},eth_type(0x0800),${ipv4}`,
  `in_port(1),${eth(6)},eth_type(0x0800),${ipv4}`,
  `in_port(1),${eth(7)},eth_type(0x0800),${ipv4}`,
  `in_port(1),${eth(8)},eth_type(0x8847),mpls(label=11,tc=3,ttl=1,bos=1)`,
];

function ofctl(s: Stack, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('/usr/bin/ovs-ofctl', ['--timeout=10', ...args], {
    encoding: 'utf8',
    env: s.env,
  });
  return { status: r.status, stderr: r.stderr };
}

/* Datapath flows (not the dump's header) without statistics, sorted. */
const flowsOf = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('recirc_id'))
    .map((l) => l.replace(/ packets:.*actions:/, ' actions:'))
    .sort();

async function scenario(which: 'ours' | 'real'): Promise<string[]> {
  const s = await startStack({ which });
  try {
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      'fail-mode=secure',
      ...[1, 2].flatMap((n) => [
        ...['--', 'add-port', 'br0', `p${n}`, '--', 'set', 'interface', `p${n}`, 'type=dummy'],
        `ofport_request=${n}`,
      ]),
    ]);
    assert.equal(r.status, 0, r.stderr);
    for (const f of FLOWS) {
      const a = ofctl(s, ['add-flow', 'br0', f]);
      assert.equal(a.status, 0, `${which}: ${f}: ${a.stderr}`);
    }
    for (const p of PACKETS) {
      const x = appctl(s, ['netdev-dummy/receive', 'p1', p]);
      assert.equal(x.status, 0, `${which}: ${p}: ${x.stderr}`);
    }
    return flowsOf(appctl(s, ['dpctl/dump-flows']).stdout);
  } finally {
    stopStack(s);
  }
}

describe('MPLS datapath flows against real ovs-vswitchd 3.1', () => {
  let real: string[] = [];
  let ours: string[] = [];
  before(async () => {
    real = await scenario('real');
    ours = await scenario('ours');
  });
  it('installs one datapath flow per packet, as real OVS', () => {
    assert.equal(real.length, PACKETS.length);
    assert.equal(ours.length, real.length);
  });
  for (let i = 1; i <= PACKETS.length; i++) {
    const src = `src=50:54:00:00:00:0${i}`;
    it(`flow for ${src}: same match and actions`, () => {
      const r = real.find((l) => l.includes(src));
      assert.ok(r, `real has no flow for ${src}`);
      assert.equal(
        ours.find((l) => l.includes(src)),
        r,
      );
    });
  }
  it('the real flows show the MPLS actions', () => {
    assert.ok(
      real.some((l) => l.includes('push_mpls(label=11,tc=3,ttl=64,bos=0,eth_type=0x8847)')),
    );
    assert.ok(
      real.some((l) => l.includes('push_mpls(label=12,tc=1,ttl=33,bos=0,eth_type=0x8847)')),
    );
  });
});
