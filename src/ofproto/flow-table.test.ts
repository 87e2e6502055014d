import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newFlowKey, W_DL_TYPE, W_IN_PORT, W_NW, W_NW_SRC } from '../lib/flow/layout.ts';
import { newMatch } from '../lib/flow/match.ts';
import { matchToString } from '../lib/flow/match-format.ts';
import { FlowTables, type Rule } from './flow-table.ts';
import { GroupTable } from './group-table.ts';
import { MeterTable } from './meter-table.ts';
import { parseFlowMod } from './openflow/flow-mod-parse.ts';
import { parseGroupMod } from './openflow/group.ts';
import type {
  FlowMod,
  FlowModCommand,
  FlowRemovedReason,
  FlowStatsRequest,
} from './openflow/messages.ts';
import { parseMeterMod } from './openflow/meter.ts';
import { formatOfpacts } from './openflow/ofpact-format.ts';

const U64 = 0xffffffffffffffffn;

function fm(text: string, command: FlowModCommand = 'add', extra: Partial<FlowMod> = {}): FlowMod {
  const r = parseFlowMod(text, command);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return { ...r.value, ...extra };
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function all(): FlowStatsRequest {
  return {
    aggregate: false,
    match: newMatch(),
    tableId: 255,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    cookie: 0n,
    cookieMask: 0n,
  };
}

/* A rule as a short sorted-comparable string, like `ovs-ofctl --no-stats dump-flows`. */
function show(r: Rule): string {
  const m = matchToString(r.match, r.priority, {});
  const c = r.cookie ? `cookie=0x${r.cookie.toString(16)}, ` : '';
  const t = r.tableId ? `table=${r.tableId}, ` : '';
  return `${c}${t}${m ? `${m} ` : ''}actions=${formatOfpacts(r.ofpacts)}`;
}

function dump(t: FlowTables): string[] {
  return [...t.rules()].map(show).sort();
}

test('add then lookup returns the highest-priority match and unwildcards what it examined', () => {
  const t = new FlowTables();
  assert.equal(t.flowMod(fm('priority=10,in_port=1,actions=output:2')), null);
  assert.equal(t.flowMod(fm('priority=20,ip,nw_src=198.18.0.0/16,actions=output:3')), null);
  assert.equal(t.count, 2);
  const key = newFlowKey();
  key[W_IN_PORT] = 1;
  key[W_DL_TYPE] = 0x0800;
  key[W_NW_SRC] = 0xc6120001;
  const wc = newFlowKey();
  const r = t.lookup(0, key, wc);
  assert.equal(r?.priority, 20);
  assert.equal(wc[W_DL_TYPE] & 0xffff, 0xffff);
  key[W_NW_SRC] = 0x0a000001;
  assert.equal(t.lookup(0, key, null)?.priority, 10);
  assert.equal(t.lookup(1, key, null), null, 'table-miss is null');
});

test('add over an identical flow replaces it, keeps counters unless reset_counts', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  t.flowMod(fm('in_port=1,actions=output:2'));
  const [r1] = t.rules();
  t.credit(r1, 3, 300, c.t);
  c.t += 5000;
  t.flowMod(fm('in_port=1,actions=output:3'));
  assert.equal(t.count, 1);
  assert.equal(r1.removed, true);
  const [r2] = t.rules();
  assert.equal(formatOfpacts(r2.ofpacts), 'output:3');
  assert.equal(r2.packetCount, 3);
  assert.equal(r2.created, c.t, 'an add restarts the duration');
  t.flowMod(fm('in_port=1,reset_counts,actions=output:4'));
  const [r3] = t.rules();
  assert.equal(r3.packetCount, 0);
});

test('check_overlap refuses an overlapping flow of the same priority only', () => {
  const t = new FlowTables();
  t.flowMod(fm('priority=5,in_port=1,actions=drop'));
  const e = t.flowMod(fm('priority=5,dl_type=0x800,check_overlap,actions=drop'));
  assert.equal(e?.error, 'OFPFMFC_OVERLAP');
  assert.equal(t.flowMod(fm('priority=6,dl_type=0x800,check_overlap,actions=drop')), null);
  assert.equal(t.flowMod(fm('priority=5,in_port=2,check_overlap,actions=drop')), null);
  assert.equal(t.count, 3);
});

test('modify (loose) changes actions of every matching flow, keeps cookie/timeouts/created', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  t.flowMod(fm('cookie=0x1,idle_timeout=50,in_port=1,ip,actions=output:2'));
  t.flowMod(fm('cookie=0x2,in_port=1,arp,actions=output:2'));
  t.flowMod(fm('in_port=2,actions=output:1'));
  c.t += 2000;
  // OF1.3 modify without a cookie mask: new cookie all-ones (not changed, no add).
  assert.equal(t.flowMod(fm('in_port=1,actions=output:9', 'modify')), null);
  assert.deepEqual(dump(t), [
    'cookie=0x1, ip,in_port=1 actions=output:9',
    'cookie=0x2, arp,in_port=1 actions=output:9',
    'in_port=2 actions=output:1',
  ]);
  const r = [...t.rules()].find((x) => x.cookie === 1n)!;
  assert.equal(r.idleTimeout, 50);
  assert.equal(r.created, 1_000_000);
  assert.equal(r.modified, c.t);
});

test('modify with a new cookie (OF1.0/NXM) changes the cookie; with none matching it adds', () => {
  const t = new FlowTables();
  t.flowMod(fm('in_port=1,actions=drop'));
  t.flowMod(fm('in_port=1,actions=output:1', 'modify', { newCookie: 0x5n }));
  assert.deepEqual(dump(t), ['cookie=0x5, in_port=1 actions=output:1']);
  // No flow matches: the modify adds (new cookie given, no cookie mask).
  t.flowMod(fm('in_port=7,actions=output:1', 'modify', { newCookie: 0n }));
  assert.equal(t.count, 2);
  // With a cookie mask nothing is added.
  t.flowMod(fm('in_port=8,cookie=0x1/0x1,actions=output:1', 'modify'));
  assert.equal(t.count, 2);
  // modifyCookie false (OF1.1+): cookie kept.
  t.flowMod(fm('in_port=1,actions=output:2', 'modify', { newCookie: 0x9n }), {
    modifyCookie: false,
  });
  assert.ok(dump(t).includes('cookie=0x5, in_port=1 actions=output:2'));
});

test('modify_strict touches only the flow with that exact match and priority', () => {
  const t = new FlowTables();
  t.flowMod(fm('priority=5,in_port=1,actions=drop'));
  t.flowMod(fm('priority=6,in_port=1,actions=drop'));
  t.flowMod(fm('priority=5,in_port=1,ip,actions=drop'));
  t.flowMod(fm('priority=5,in_port=1,actions=output:3', 'modify_strict'));
  assert.deepEqual(dump(t), [
    'priority=5,in_port=1 actions=output:3',
    'priority=5,ip,in_port=1 actions=drop',
    'priority=6,in_port=1 actions=drop',
  ]);
});

test('delete with cookie mask, out_port and table filters (tests/ofproto.at semantics)', () => {
  const removed: Array<[string, FlowRemovedReason]> = [];
  const t = new FlowTables();
  t.onRemoved = (r, why) => removed.push([show(r), why]);
  t.flowMod(fm('cookie=0x1,in_port=1,actions=output:2'));
  t.flowMod(fm('cookie=0x2,in_port=2,actions=output:3'));
  t.flowMod(fm('cookie=0x3,table=1,in_port=3,actions=output:2'));
  t.flowMod(fm('cookie=0x4,table=2,in_port=4,actions=controller'));
  t.flowMod(fm('cookie=0x5,table=2,in_port=5,actions=drop'));
  // out_port=2 matches flows that output to port 2 only.
  t.flowMod(fm('out_port=2', 'delete'));
  assert.deepEqual(dump(t).length, 3);
  assert.deepEqual(removed.map((x) => x[0]).sort(), [
    'cookie=0x1, in_port=1 actions=output:2',
    'cookie=0x3, table=1, in_port=3 actions=output:2',
  ]);
  assert.ok(removed.every((x) => x[1] === 'delete'));
  // out_port=CONTROLLER matches the controller action.
  t.flowMod(fm('out_port=CONTROLLER', 'delete'));
  assert.equal(t.count, 2);
  // A cookie mask selects by cookie bits.
  t.flowMod(fm('cookie=0x4/0x4', 'delete'));
  assert.deepEqual(dump(t), ['cookie=0x2, in_port=2 actions=output:3']);
  // A table filter.
  t.flowMod(fm('table=5', 'delete'));
  assert.equal(t.count, 1);
  t.flowMod(fm('', 'delete'));
  assert.equal(t.count, 0);
});

test('delete_strict needs the exact priority; delete (loose) takes more specific flows', () => {
  const t = new FlowTables();
  t.flowMod(fm('priority=100,ip,actions=drop'));
  t.flowMod(fm('priority=100,tcp,actions=drop'));
  t.flowMod(fm('priority=200,ip,actions=drop'));
  t.flowMod(fm('ip', 'delete_strict'));
  assert.equal(t.count, 3, 'default priority 32768 matches nothing');
  t.flowMod(fm('priority=100,ip', 'delete_strict'));
  assert.deepEqual(dump(t), ['priority=100,tcp actions=drop', 'priority=200,ip actions=drop']);
  t.flowMod(fm('ip', 'delete'));
  assert.equal(t.count, 0);
});

test('flow_mod errors: bad table, unknown buffer, consistency; nothing changes', () => {
  const t = new FlowTables({ nTables: 10 });
  assert.equal(t.flowMod(fm('table=20,actions=drop'))?.error, 'OFPBRC_BAD_TABLE_ID');
  assert.equal(
    t.flowMod(fm('actions=drop', 'add', { bufferId: 5 }))?.error,
    'OFPBRC_BUFFER_UNKNOWN',
  );
  // Setting tcp_dst needs a TCP match.
  const bad = fm('ip,actions=set_field:80->tcp_dst');
  assert.equal(t.flowMod(bad)?.error, 'OFPBAC_MATCH_INCONSISTENT');
  assert.equal(t.count, 0);
  assert.equal(t.version, 0);
});

test('flow stats: durations, ages, counters, no_packet_counts as all-ones, aggregate', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  t.flowMod(fm('in_port=1,actions=drop'));
  t.flowMod(fm('in_port=2,no_packet_counts,actions=drop'));
  const [a] = t.select({ ...all(), match: fm('in_port=1', 'delete').match });
  c.t += 1500;
  t.credit(a, 2, 120, c.t - 500);
  c.t += 2000;
  const fs = t.flowStats({ ...all(), match: fm('in_port=1', 'delete').match });
  assert.equal(fs.length, 1);
  assert.equal(fs[0].durationSec, 3);
  assert.equal(fs[0].durationNsec, 500_000_000);
  assert.equal(fs[0].idleAge, 2);
  assert.equal(fs[0].hardAge, 3);
  assert.equal(fs[0].packetCount, 2n);
  const agg = t.aggregate(all());
  assert.equal(agg.flowCount, 2);
  assert.equal(agg.packetCount, U64);
  assert.equal(agg.byteCount, 120n);
});

test('expire removes hard-timed-out then idle-timed-out flows with their reasons', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  const why: FlowRemovedReason[] = [];
  t.onRemoved = (_r, w) => why.push(w);
  t.flowMod(fm('in_port=1,hard_timeout=5,actions=drop'));
  t.flowMod(fm('in_port=2,idle_timeout=3,actions=drop'));
  t.flowMod(fm('in_port=3,idle_timeout=3,actions=drop'));
  c.t += 2000;
  const [r3] = t.select({ ...all(), match: fm('in_port=3', 'delete').match });
  t.credit(r3, 1, 60, c.t);
  c.t += 1500;
  assert.equal(t.expire(), 1);
  assert.deepEqual(why, ['idle']);
  c.t += 2000;
  assert.equal(t.expire(), 2);
  assert.deepEqual(why, ['idle', 'hard', 'idle']);
  assert.equal(t.count, 0);
});

test('expiry follows timeouts through replacement, deletion and bundles snapshots', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  const gone: string[] = [];
  t.onRemoved = (r, w) => gone.push(`${show(r)} ${w}`);
  t.flowMod(fm('in_port=1,hard_timeout=1,actions=drop'));
  assert.equal(t.nextExpiry(), c.t + 1001);
  // Replaced by the same flow without a timeout: nothing is left to expire.
  t.flowMod(fm('in_port=1,actions=drop'));
  assert.equal(t.nextExpiry(), Infinity);
  c.t += 5000;
  assert.equal(t.expire(), 0);
  // A timed flow added after a snapshot is gone once it is restored; one kept in it expires.
  t.flowMod(fm('in_port=2,idle_timeout=1,actions=drop'));
  const restore = t.snapshot();
  t.flowMod(fm('in_port=3,idle_timeout=1,actions=drop'));
  restore();
  c.t += 2000;
  assert.equal(t.expire(), 1);
  assert.deepEqual(gone, ['in_port=2 actions=drop idle']);
  t.flowMod(fm('in_port=4,hard_timeout=1,actions=drop'));
  t.flowMod(fm('in_port=4', 'delete'));
  assert.equal(t.nextExpiry(), Infinity);
});

test('a stored flow holds its match masked, as OVS stores it', () => {
  const t = new FlowTables();
  // The key carries address bits outside the /16 mask: the stored match drops them.
  const m = fm('ip,nw_src=198.18.0.0/16,actions=drop');
  m.match.key[W_NW_SRC] |= 0x1234;
  t.flowMod(m);
  const [r] = t.rules();
  assert.equal(r.match.key[W_NW_SRC], 0xc6120000);
  assert.equal(matchToString(r.match, 0x8000, {}), 'ip,nw_src=198.18.0.0/16');
  assert.notEqual(
    t.findExactly(0, fm('ip,nw_src=198.18.0.0/16', 'delete_strict').match, 0x8000),
    null,
  );
});

test('conjunctive flows resolve through the classifier', () => {
  const t = new FlowTables();
  t.flowMod(fm('priority=10,in_port=1,actions=conjunction(7,1/2)'));
  t.flowMod(fm('priority=10,ip,actions=conjunction(7,2/2)'));
  t.flowMod(fm('priority=10,conj_id=7,actions=output:5'));
  const key = newFlowKey();
  key[W_IN_PORT] = 1;
  key[W_DL_TYPE] = 0x0800;
  key[W_NW] = 6;
  assert.equal(formatOfpacts(t.lookup(0, key, newFlowKey())!.ofpacts), 'output:5');
  key[W_IN_PORT] = 2;
  assert.equal(t.lookup(0, key, null), null);
});

test('table stats count lookups and matches', () => {
  const t = new FlowTables({ nTables: 3 });
  t.flowMod(fm('in_port=1,actions=drop'));
  const key = newFlowKey();
  key[W_IN_PORT] = 1;
  t.lookup(0, key, null);
  key[W_IN_PORT] = 2;
  t.lookup(0, key, null);
  const ts = t.tableStats();
  assert.equal(ts.length, 3);
  assert.deepEqual([ts[0].activeCount, ts[0].lookupCount, ts[0].matchedCount], [1, 2n, 1n]);
});

test('groups: a flow may not name a missing group; deleting a group deletes its flows', () => {
  const t = new FlowTables();
  const g = new GroupTable(t);
  assert.equal(t.flowMod(fm('actions=group:1'))?.error, 'OFPBAC_BAD_OUT_GROUP');
  const add = parseGroupMod('group_id=1,type=all,bucket=output:1,bucket=output:2', 'add');
  assert.ok(add.ok);
  assert.equal(g.groupMod(add.value), null);
  assert.equal(g.groupMod(add.value)?.error, 'OFPGMFC_GROUP_EXISTS');
  assert.equal(t.flowMod(fm('in_port=1,actions=group:1')), null);
  assert.equal(t.flowMod(fm('in_port=2,actions=output:3')), null);
  assert.equal(g.stats()[0].refCount, 1);
  const why: FlowRemovedReason[] = [];
  t.onRemoved = (_r, w) => why.push(w);
  const del = parseGroupMod('group_id=1', 'delete');
  assert.ok(del.ok);
  assert.equal(g.groupMod(del.value), null);
  assert.equal(g.count, 0);
  assert.deepEqual(why, ['group_delete']);
  assert.equal(t.count, 1);
});

test('groups: OVS checks (indirect needs one bucket, ff needs watch, modify unknown)', () => {
  const g = new GroupTable(null);
  // ovs-ofctl refuses both of these before sending: build them from valid ones, as a
  // controller could send them, to check the switch's own refusal.
  const two = parseGroupMod('group_id=2,type=all,bucket=output:1,bucket=output:2', 'add');
  assert.ok(two.ok);
  assert.equal(g.groupMod({ ...two.value, groupType: 'indirect' })?.error, 'OFPGMFC_INVALID_GROUP');
  const ff = parseGroupMod('group_id=3,type=ff,bucket=watch_port:1,output:1', 'add');
  assert.ok(ff.ok);
  const unwatched = ff.value.buckets.map((bk) => ({ ...bk, watchPort: 0xffff }));
  assert.equal(g.groupMod({ ...ff.value, buckets: unwatched })?.error, 'OFPGMFC_INVALID_GROUP');
  const mod = parseGroupMod('group_id=9,type=all,bucket=output:1', 'modify');
  assert.ok(mod.ok);
  assert.equal(g.groupMod(mod.value)?.error, 'OFPGMFC_UNKNOWN_GROUP');
  const sel = parseGroupMod('group_id=4,type=select,bucket=weight:5,output:1', 'add');
  assert.ok(sel.ok);
  assert.equal(g.groupMod(sel.value), null);
  assert.equal(g.get(4)?.type, 'select');
  assert.equal(g.desc()[0].buckets[0].weight, 5);
});

test('meters: add/modify/delete errors and flows using a deleted meter go away', () => {
  const t = new FlowTables();
  const m = new MeterTable(t);
  const add = parseMeterMod('meter=1,kbps,band=type=drop,rate=100', 'add');
  assert.ok(add.ok);
  assert.equal(m.meterMod(add.value), null);
  assert.equal(m.meterMod(add.value)?.error, 'OFPMMFC_METER_EXISTS');
  const zero = parseMeterMod('meter=0,kbps,band=type=drop,rate=100', 'add');
  if (zero.ok) assert.equal(m.meterMod(zero.value)?.error, 'OFPMMFC_INVALID_METER');
  const mod = parseMeterMod('meter=2,kbps,band=type=drop,rate=100', 'modify');
  assert.ok(mod.ok);
  assert.equal(m.meterMod(mod.value)?.error, 'OFPMMFC_UNKNOWN_METER');
  assert.equal(t.flowMod(fm('actions=meter:3,output:1'))?.error, 'OFPMMFC_INVALID_METER');
  assert.equal(t.flowMod(fm('actions=meter:1,output:1')), null);
  assert.equal(m.stats()[0].flowCount, 1);
  const del = parseMeterMod('meter=1', 'delete');
  assert.ok(del.ok);
  assert.equal(m.meterMod(del.value), null);
  assert.equal(t.count, 0);
  assert.equal(m.features().maxBands, 8);
});

test('delete of everything reports each flow and keeps hidden (fail-open) rules', () => {
  const t = new FlowTables();
  const why: FlowRemovedReason[] = [];
  t.onRemoved = (_r, w) => why.push(w);
  t.flowMod(fm('in_port=1,actions=drop'));
  t.flowMod(fm('table=3,in_port=2,actions=drop'));
  t.flowMod({ ...fm('actions=NORMAL'), priority: 0xf0f0f0 });
  assert.equal(t.count, 3);
  t.flowMod(fm('', 'delete'));
  assert.deepEqual(why, ['delete', 'delete']);
  assert.equal(t.count, 1);
  assert.equal(t.lookup(0, newFlowKey(), null)?.priority, 0xf0f0f0);
  assert.equal(t.tableStats()[0].activeCount, 0);
  assert.equal(t.flowStats(all()).length, 0);
});

test('eviction groups: a full table evicts from its largest group, not the soonest overall', () => {
  const c = clock();
  const t = new FlowTables({ now: c.now });
  const groups = [{ field: 'in_port', ofs: 0, nBits: 16 }];
  t.configureTable(0, { name: null, maxFlows: 4, evict: true, groups });
  // One flow on port 7 expires first, but port 3 has three flows: one of those goes.
  for (const f of [
    'idle_timeout=5,in_port=7,dl_src=02:00:00:00:00:07,actions=drop',
    'idle_timeout=15,in_port=3,dl_src=02:00:00:00:00:01,actions=drop',
    'idle_timeout=25,in_port=3,dl_src=02:00:00:00:00:02,actions=drop',
    'idle_timeout=35,in_port=3,dl_src=02:00:00:00:00:03,actions=drop',
  ]) {
    assert.equal(t.flowMod(fm(f)), null);
  }
  assert.equal(t.flowMod(fm('in_port=7,dl_src=02:00:00:00:00:08,actions=drop')), null);
  const left = dump(t).join('\n');
  assert.doesNotMatch(left, /02:00:00:00:00:01/);
  assert.match(left, /02:00:00:00:00:07/);
  // Without groups the soonest to expire overall goes.
  t.configureTable(0, { name: null, maxFlows: 4, evict: true, groups: [] });
  assert.equal(t.flowMod(fm('in_port=9,actions=drop')), null);
  assert.doesNotMatch(dump(t).join('\n'), /02:00:00:00:00:07/);
});
