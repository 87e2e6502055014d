/**
 * The switch side of bench/openflow without sockets, to see where a flow_mod's or a dump's time
 * goes: in one process, the bench's flows (flows.ts) encoded as ovs-ofctl sends them (OpenFlow
 * 1.0 with NXM), then timed separately: decoding them, applying them to FlowTables, selecting
 * every flow's statistics, and encoding those as multipart replies; and, as the switch answers a
 * dump, selecting and encoding the replies straight from the rules (flow-stats-encode.ts). Not
 * part of `npm run bench` (no OVS counterpart); run it under `node --cpu-prof` to profile one
 * stage.
 *
 * Usage: node --import tsx bench/openflow/table-bench.ts [FLOWS] [REPEATS]
 */
import { newMatch } from '../../src/lib/flow/match.ts';
import { FlowTables } from '../../src/ofproto/flow-table.ts';
import { decodeMessage, encodeMessage } from '../../src/ofproto/openflow/codec.ts';
import { parseFlowMod } from '../../src/ofproto/openflow/flow-mod-parse.ts';
import { encodeFlowStatsReplies } from '../../src/ofproto/openflow/flow-stats-encode.ts';
import type { FlowMod, OfpMessage } from '../../src/ofproto/openflow/messages.ts';
import { flowLine } from './flows.ts';

const N = Number(process.argv[2] ?? 100_000);
const REPEATS = Number(process.argv[3] ?? 3);

const raws: Uint8Array[] = [];
for (let i = 0; i < N; i++) {
  const r = parseFlowMod(flowLine(i), 'add');
  if (!r.ok) throw new Error(`${flowLine(i)}: ${r.error}`);
  const msg = { type: 'flow_mod', format: 'nxt', ...r.value } as OfpMessage;
  raws.push(encodeMessage({ version: 1, xid: i, msg }));
}

const ALL = {
  aggregate: false,
  match: newMatch(),
  tableId: 0xff,
  outPort: 0xffff,
  outGroup: 0xffffffff,
  cookie: 0n,
  cookieMask: 0n,
};
const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;
for (let rep = 0; rep < REPEATS; rep++) {
  let t = performance.now();
  const fms: FlowMod[] = raws.map((b) => {
    const r = decodeMessage(b);
    if (!r.ok || r.frame.msg.type !== 'flow_mod') throw new Error('decode failed');
    // As the connection applies it: OF1.0 adds reset counters, table 0.
    const m = r.frame.msg;
    return { ...m, tableId: 0, flags: { ...m.flags, resetCounts: true } };
  });
  const decode = ms(t);
  const tables = new FlowTables();
  t = performance.now();
  for (const fm of fms) {
    const e = tables.flowMod(fm, { version: 1 });
    if (e) throw e;
  }
  const apply = ms(t);
  t = performance.now();
  const stats = tables.flowStats(ALL);
  const select = ms(t);
  t = performance.now();
  let bytes = 0;
  for (let i = 0; i < stats.length; i += 200) {
    const body = { stat: 'flow', flows: stats.slice(i, i + 200) };
    const msg = { type: 'stats_reply', format: 'nxt', flags: 0, body } as OfpMessage;
    bytes += encodeMessage({ version: 1, xid: 1, msg }).length;
  }
  const encode = ms(t);
  // As the switch answers a dump now: entries straight from the rules (flow-stats-encode.ts).
  t = performance.now();
  const rules = tables.select(ALL);
  const now = tables.now();
  let direct = 0;
  encodeFlowStatsReplies(
    rules.length,
    (i, out) => tables.fillRuleStats(rules[i], now, out),
    1,
    1,
    true,
    (reply) => {
      direct += reply.length;
    },
    (_i, e) => {
      throw e;
    },
  );
  const dump = ms(t);
  console.log(
    `${N} flows: decode ${decode}, flow_mod ${apply}, flow stats ${select}, encode replies ${encode} (${(bytes / 1e6).toFixed(1)} MB); dump from the rules ${dump} (${(direct / 1e6).toFixed(1)} MB)`,
  );
}
