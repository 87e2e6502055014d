import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { newMatch } from '../../lib/flow/match.ts';
import { FlowTables } from '../flow-table.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { parseFlowMod } from './flow-mod-parse.ts';
import { encodeFlowStatsReplies } from './flow-stats-encode.ts';
import type { FlowStats, OfpMessage } from './messages.ts';

/* Flows of bench/openflow's four shapes plus a few whose entries are long (many actions), so
 * that replies fill at different points. */
function flowLine(i: number): string {
  const a = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
  switch (i % 5) {
    case 0:
      return `priority=100,ip,nw_dst=${a},actions=output:1`;
    case 1:
      return `priority=200,tcp,nw_src=${a},tp_dst=80,actions=mod_dl_dst:02:00:00:00:00:01,output:2`;
    case 2:
      return `priority=300,dl_vlan=${(i % 4094) + 1},actions=strip_vlan,output:1`;
    case 3:
      return `priority=400,udp,in_port=1,nw_src=${a},tp_dst=${i + 1},actions=load:${i}->NXM_NX_REG0[],resubmit(,1)`;
    default:
      return `priority=500,ip,nw_src=${a},actions=${'output:1,'.repeat(1 + (i % 40))}output:2`;
  }
}

function tablesWith(n: number, now: () => number): FlowTables {
  const t = new FlowTables({ now });
  for (let i = 0; i < n; i++) {
    const r = parseFlowMod(flowLine(i), 'add');
    if (!r.ok) throw new Error(r.error);
    const e = t.flowMod(r.value, { version: 1 });
    if (e) throw e;
  }
  return t;
}

const ALL = {
  aggregate: false,
  match: newMatch(),
  tableId: 0xff,
  outPort: 0xffff,
  outGroup: 0xffffffff,
  cookie: 0n,
  cookieMask: 0n,
} as const;

/* The naive oracle: each flow alone through encodeMessage(), its entry cut after the header. */
function entryBytes(fs: FlowStats, version: number, nx: boolean): Uint8Array {
  const body = { stat: 'flow' as const, flows: [fs] };
  const msg = { type: 'stats_reply', format: nx ? 'nxt' : 'standard', flags: 0, body };
  const b = encodeMessage({ version, xid: 7, msg: msg as OfpMessage });
  return b.subarray(headerLen(version, nx));
}

function headerLen(version: number, nx: boolean): number {
  return (version === 1 ? 12 : 16) + (nx ? 12 : 0);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

for (const [version, nx] of [
  [1, true],
  [4, false],
  [4, true],
  [6, false],
] as const) {
  test(`direct flow-stats replies (version ${version}, ${nx ? 'NXM' : 'own format'}) carry exactly the entries encodeMessage() makes, split below 64 kB`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 4 }), (n, skip) => {
        let clock = 5_000;
        const t = tablesWith(n + skip, () => clock);
        clock = 7_250;
        const rules = t.select(ALL).slice(skip);
        const replies: Uint8Array[] = [];
        encodeFlowStatsReplies(
          rules.length,
          (i, out) => t.fillRuleStats(rules[i], clock, out),
          version,
          0x1234,
          nx,
          (r) => replies.push(r.slice()),
          (_i, e) => assert.fail(e),
        );
        assert.ok(replies.length >= 1);
        const hl = headerLen(version, nx);
        replies.forEach((r, k) => {
          assert.ok(r.length <= 0xffff);
          assert.equal((r[2] << 8) | r[3], r.length);
          assert.equal(Buffer.from(r.subarray(4, 8)).readUInt32BE(0), 0x1234);
          const more = (r[10] << 8) | r[11];
          assert.equal(more, k < replies.length - 1 ? 1 : 0);
          const d = decodeMessage(r);
          assert.ok(d.ok, 'each reply decodes');
        });
        const want = concat(rules.map((r) => entryBytes(t.ruleStats(r, clock), version, nx)));
        const got = concat(replies.map((r) => r.subarray(hl)));
        assert.deepEqual(got, want);
        // Greedy split: no reply could have taken the next reply's first entry.
        for (let k = 0; k + 1 < replies.length; k++) {
          const next = replies[k + 1];
          // Every entry form starts with its own 16-bit length.
          const firstLen = (next[hl] << 8) | next[hl + 1];
          assert.ok(replies[k].length + firstLen > 0xffff);
        }
      }),
      { numRuns: 6 },
    );
  });
}

test('a flow that cannot be encoded is left out and reported, the rest still sent', () => {
  const t = tablesWith(3, () => 0);
  const rules = t.select(ALL);
  const replies: Uint8Array[] = [];
  const skipped: number[] = [];
  encodeFlowStatsReplies(
    3,
    (i, out) => {
      t.fillRuleStats(rules[i], 0, out);
      // A set_field of a field with no OXM header makes putFlowStats throw for this entry.
      if (i === 1) {
        out.ofpacts = [
          { type: 'set_field', field: 'no_such_field', value: [1], mask: [1], raw: 'set_field' },
        ] as never;
      }
    },
    4,
    1,
    false,
    (r) => replies.push(r.slice()),
    (i) => skipped.push(i),
  );
  assert.deepEqual(skipped, [1]);
  assert.equal(replies.length, 1);
  const d = decodeMessage(replies[0]);
  assert.ok(d.ok && d.frame.msg.type === 'stats_reply' && d.frame.msg.body.stat === 'flow');
  if (d.ok && d.frame.msg.type === 'stats_reply' && d.frame.msg.body.stat === 'flow')
    assert.equal(d.frame.msg.body.flows.length, 2);
});
