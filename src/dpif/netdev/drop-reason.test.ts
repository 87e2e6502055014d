/*
 * The drop_action_* coverage counters: every packet an empty action list drops is counted
 * once under the reason its translation gave (the upcalled packet and later hits alike), as
 * real ovs-vswitchd 3.1 counts three ICMP packets under drop_action_of_pipeline when an
 * OpenFlow rule drops them; and the packets netdev-dummy/receive composes from a datapath key
 * without eth_type(), whose type comes from the L3 attribute.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coverageRead } from '../../lib/coverage.ts';
import { FLOW_WORDS, W_DL_TYPE } from '../../lib/flow/layout.ts';
import { composePacket } from '../../lib/packet/compose.ts';
import { DpNetdev, type UpcallResult } from './dp-netdev.ts';
import type { DropReason } from './drop-reason.ts';
import { applyDefaultEthertype, parseOdpFlow } from './odp-key-parse.ts';
import { PacketBatch } from './packet-batch.ts';

const ICMP =
  'in_port(1),packet_type(ns=0,id=0),eth(src=3a:6d:d2:09:9c:ab,dst=1e:2c:e9:2a:66:9e),' +
  'ipv4(src=198.18.0.1,dst=198.18.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)';

function icmpFrame(): Uint8Array {
  const f = parseOdpFlow(ICMP);
  applyDefaultEthertype(ICMP, f.key);
  return composePacket(f.key);
}

function droppingDp(reason: DropReason | undefined): DpNetdev {
  const mask = new Uint32Array(FLOW_WORDS);
  mask[W_DL_TYPE] = 0xffff;
  return new DpNetdev({
    io: { send: () => assert.fail('a dropped packet was sent') },
    upcall: {
      miss: (): UpcallResult => ({ actions: [], mask, dropReason: reason }),
    },
  });
}

function receive(dp: DpNetdev, frame: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const b = new PacketBatch(1);
    b.add(frame, 0, frame.length, 1);
    dp.input(b);
  }
}

const read = (name: string): number => coverageRead(name) ?? Number.NaN;

test('every drop_action_* counter exists before anything is dropped', () => {
  for (const r of ['of_pipeline', 'too_many_resubmit', 'recursion_too_deep', 'stack_too_deep'])
    assert.equal(typeof coverageRead(`drop_action_${r}`), 'number', r);
});

test('packets an OpenFlow rule drops count under of_pipeline, the upcalled one included', () => {
  const before = read('drop_action_of_pipeline');
  const dp = droppingDp(undefined);
  receive(dp, icmpFrame(), 3);
  assert.equal(dp.flowCount, 1);
  assert.equal(read('drop_action_of_pipeline') - before, 3);
  // The megaflow counts the two packets that hit it, as OVS's dump shows (packets:2).
  const [flow] = dp.flowDump();
  assert.equal(flow?.packets, 2);
});

test('a translation error names its own counter, on hits too', () => {
  const pipeline = read('drop_action_of_pipeline');
  const before = read('drop_action_too_many_resubmit');
  receive(droppingDp('too_many_resubmit'), icmpFrame(), 2);
  assert.equal(read('drop_action_too_many_resubmit') - before, 2);
  assert.equal(read('drop_action_of_pipeline'), pipeline);
});

test('a key without eth_type() is composed with its L3 attribute type, 64 bytes of payload', () => {
  const f = icmpFrame();
  // bytes:212 for two such packets in real OVS 3.1's dpctl/dump-flows.
  assert.equal(f.length, 106);
  assert.equal((f[12] << 8) | f[13], 0x0800);
  const v6 = 'in_port(1),eth(),ipv6(src=2001:db8::1,dst=2001:db8::2,proto=58),icmpv6(type=128)';
  const k = parseOdpFlow(v6).key;
  applyDefaultEthertype(v6, k);
  assert.equal(k[W_DL_TYPE] & 0xffff, 0x86dd);
  const bare = 'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)';
  const kb = parseOdpFlow(bare).key;
  applyDefaultEthertype(bare, kb);
  assert.equal(kb[W_DL_TYPE] & 0xffff, 0x05ff);
  const typed = 'in_port(1),eth(),eth_type(0x88b5)';
  const kt = parseOdpFlow(typed).key;
  applyDefaultEthertype(typed, kt);
  assert.equal(kt[W_DL_TYPE] & 0xffff, 0x88b5);
});
