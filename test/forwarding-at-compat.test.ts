/*
 * Behaviour that Open vSwitch's own ofproto-dpif autotests rely on, checked without the OVS
 * source tree: the exact-flow syntax ofproto/trace takes, and the OF1.1/1.2 table statistics
 * real ovs-ofctl reads before add-flows in those versions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExactFlow } from '../src/lib/flow/match-parse.ts';
import { Reader, Writer } from '../src/ofproto/openflow/bytes.ts';
import { pullTableStats, putTableStats, type TableStats } from '../src/ofproto/openflow/stats.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('ofproto/trace flow syntax: icmp_type and icmp_code are exact 8-bit fields', () => {
  const r = parseExactFlow(
    'in_port=1,dl_type=0x0800,nw_proto=1,nw_src=192.168.0.1,icmp_type=8,icmp_code=0',
  );
  assert.ok(r.ok, r.ok ? '' : r.error);
  const bad = parseExactFlow('in_port=1,icmp,icmp_type=8/0xf');
  assert.equal(bad.ok, false);
});

const table0: TableStats = {
  tableId: 0,
  name: '',
  wildcards: 0,
  maxEntries: 1000000,
  activeCount: 1,
  lookupCount: 0n,
  matchedCount: 0n,
};

// Captured from real ovs-vswitchd 3.1 (dummy datapath): the first entry of an OFPST_TABLE
// reply, table 0 with one flow.
const OF11_TABLE0 =
  '00'.repeat(40) +
  '0000fbff0000fbff0000003e01ffe7ff01ffe7ff00000000000f424000000001' +
  '00000000000000000000000000000000';
const OF12_TABLE0 =
  '00'.repeat(40) +
  '0000101ffffffffd0000101ffffffffd03ff800103ff80010000000ffffffbdd0000000ffffffbdd' +
  'ffffffffffffffffffffffffffffffff0000003e00000000000f424000000001' +
  '00000000000000000000000000000000';

for (const [version, golden] of [
  [2, OF11_TABLE0],
  [3, OF12_TABLE0],
] as const) {
  test(`table stats in OF1.${version - 1} are encoded as real ovs-vswitchd sends them`, () => {
    const w = new Writer();
    putTableStats(w, table0, version);
    const bytes = w.finish();
    assert.equal(hex(bytes), golden);
    const back = pullTableStats(new Reader(bytes), version);
    assert.equal(back.activeCount, 1);
    assert.equal(back.maxEntries, 1000000);
  });
}
