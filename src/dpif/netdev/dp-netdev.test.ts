/*
 * The forwarding engine: action execution on real frames (re-parsed to check), the flow
 * table's put/del semantics, the caches against a classifier oracle (fast-check), and the
 * steady-state loop allocating nothing.
 */

import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import fc from 'fast-check';
import { extractFlow } from '../../lib/flow/extract.ts';
import {
  FLOW_WORDS,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_RECIRC_ID,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { checksum } from '../../lib/packet/checksum.ts';
import { composePacket } from '../../lib/packet/compose.ts';
import { DpNetdev, type DpNetdevIo, type UpcallHandler, type UpcallResult } from './dp-netdev.ts';
import { type OdpActions, parseOdpActions } from './odp-actions.ts';
import { parseOdpFlow } from './odp-key-parse.ts';
import { PacketBatch } from './packet-batch.ts';

function frameFor(text: string): Uint8Array {
  const f = parseOdpFlow(text);
  return composePacket(f.key);
}

/** Captures every transmitted frame (copied) per port. */
class CaptureIo implements DpNetdevIo {
  out = new Map<number, Uint8Array[]>();
  batches = 0;
  send(port: number, batch: PacketBatch): void {
    this.batches++;
    const l = this.out.get(port) ?? [];
    for (let i = 0; i < batch.count; i++) l.push(batch.packet(i).slice());
    this.out.set(port, l);
  }
  count(port: number): number {
    return this.out.get(port)?.length ?? 0;
  }
}

function keyOf(frame: Uint8Array, inPort = 0): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  extractFlow(frame, 0, frame.length, inPort, k);
  return k;
}

/** A datapath whose every miss runs `actions` under an exact-match megaflow. */
function fixedDp(actions: string, io: CaptureIo, seed?: number) {
  const acts = parseOdpActions(actions);
  const upcall: UpcallHandler = {
    miss: () => ({ actions: acts, mask: new Uint32Array(FLOW_WORDS).fill(0xffffffff) }),
  };
  return new DpNetdev({ io, upcall, seed, now: () => 1000 });
}

function send(dp: DpNetdev, frames: Uint8Array[], inPort: number) {
  const b = new PacketBatch();
  for (const f of frames) b.add(f, 0, f.length, inPort);
  dp.input(b);
}

const TCP =
  'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=80)';

test('set(ipv4/tcp) rewrites headers with valid checksums; push_vlan tags; outputs batch per port', () => {
  const io = new CaptureIo();
  const dp = fixedDp(
    'set(ipv4(src=198.18.0.9,ttl=9)),set(tcp(dst=8080)),2,push_vlan(vid=10,pcp=3),3',
    io,
  );
  const f = frameFor(TCP);
  send(dp, [f, f, f], 1);
  assert.equal(io.count(2), 3);
  assert.equal(io.count(3), 3);
  assert.equal(io.batches, 2, 'one batch per port');
  const p2 = io.out.get(2)?.[0] ?? new Uint8Array();
  const k2 = keyOf(p2);
  assert.equal(k2[W_NW_SRC], 0xc6120009);
  assert.equal((k2[W_NW] >>> 8) & 0xff, 9);
  assert.equal(k2[W_TP] & 0xffff, 8080);
  assert.equal(checksum(p2, 14, 20), 0, 'IPv4 header checksum');
  // TCP checksum over pseudo-header + segment must verify to 0.
  const l4 = p2.subarray(34);
  const ph = new Uint8Array(12 + l4.length);
  ph.set(p2.subarray(26, 34), 0);
  ph[9] = 6;
  ph[10] = l4.length >> 8;
  ph[11] = l4.length & 0xff;
  ph.set(l4, 12);
  assert.equal(checksum(ph, 0, ph.length), 0, 'TCP checksum');
  const p3 = io.out.get(3)?.[0] ?? new Uint8Array();
  const k3 = keyOf(p3);
  assert.equal(p3.length, p2.length + 4);
  assert.equal(k3[W_VLAN0] & 0xffff, 0x1000 | (3 << 13) | 10);
  assert.equal(k3[W_NW_SRC], 0xc6120009, 'later actions see earlier rewrites');
});

test('pop_vlan, masked set(eth), trunc, clone leaves the original untouched', () => {
  const io = new CaptureIo();
  const dp = fixedDp(
    'clone(set(eth(dst=00:00:00:00:00:aa/00:00:00:00:00:ff)),4),pop_vlan,trunc(20),5,6',
    io,
  );
  const tagged =
    'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x8100),vlan(vid=7,pcp=0),encap(eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1,dst=2))';
  const f = frameFor(tagged);
  send(dp, [f], 1);
  const p4 = io.out.get(4)?.[0] ?? new Uint8Array();
  assert.equal(keyOf(p4)[W_DL_DST + 1], 0x000000aa);
  assert.equal(keyOf(p4)[W_VLAN0] & 0xfff, 7, 'clone ran before pop_vlan');
  const p5 = io.out.get(5)?.[0] ?? new Uint8Array();
  assert.equal(p5.length, 20, 'trunc applies to the next output only');
  const p6 = io.out.get(6)?.[0] ?? new Uint8Array();
  assert.equal(p6.length, f.length - 4);
  assert.equal(keyOf(p6)[W_VLAN0], 0);
  assert.equal(keyOf(p6)[W_DL_DST + 1], 0x00000002, 'clone did not touch the original');
});

test('sample is deterministic for a seed and near its probability; 100% always runs', () => {
  const run = (seed: number) => {
    const io = new CaptureIo();
    const dp = fixedDp(
      'sample(sample=25.0%,actions(7)),sample(sample=100.0%,actions(8))',
      io,
      seed,
    );
    const f = frameFor(TCP);
    for (let i = 0; i < 125; i++) send(dp, new Array(32).fill(f), 1);
    return [io.count(7), io.count(8)];
  };
  const [a, all] = run(42);
  assert.deepEqual(run(42), [a, all]);
  assert.equal(all, 4000);
  assert.ok(a > 850 && a < 1150, `sampled ${a} of 4000 at 25%`);
});

test('recirculation re-injects with the new recirc_id and hits that flow', () => {
  const io = new CaptureIo();
  const seen: number[] = [];
  const upcall: UpcallHandler = {
    miss: ({ key }) => {
      seen.push(key[W_RECIRC_ID]);
      const mask = new Uint32Array(FLOW_WORDS);
      mask[W_DL_TYPE] = 0xffff;
      const acts = key[W_RECIRC_ID] === 0 ? 'set(ipv4(ttl=5)),recirc(0x7)' : '9';
      return { actions: parseOdpActions(acts), mask };
    },
  };
  const dp = new DpNetdev({ io, upcall, now: () => 1 });
  const f = frameFor(TCP);
  send(dp, [f, f], 1);
  assert.deepEqual(seen, [0, 7], 'one upcall per recirc_id; the second packet hits both flows');
  assert.equal(io.count(9), 2);
  assert.equal((keyOf(io.out.get(9)?.[0] ?? f)[W_NW] >>> 8) & 0xff, 5);
  assert.equal(dp.stats.recirculations, 2);
  assert.equal(dp.flowCount, 2);
});

test('userspace() hands a copy to the handler; the upcalled packet is not in the flow stats (as OVS)', () => {
  const io = new CaptureIo();
  const got: string[] = [];
  const upcall: UpcallHandler = {
    miss: () => {
      const m = parseOdpFlow(
        'in_port(1),eth_type(0x0800),ipv4(src=198.18.0.1,proto=6,frag=no),tcp(dst=80)',
      ).mask;
      return { actions: parseOdpActions('userspace(pid=0,slow_path(match)),2'), mask: m };
    },
    action: (up) => got.push(`${up.packet.length}:${up.action.pid}`),
  };
  let now = 5000;
  const dp = new DpNetdev({ io, upcall, now: () => now });
  const f = frameFor(TCP);
  send(dp, [f, f], 1);
  assert.deepEqual(got, [`${f.length}:0`, `${f.length}:0`]);
  now = 6500;
  const [flow] = dp.flowDump();
  assert.equal(
    dp.formatFlow(flow),
    // packet_type is wildcarded here, so OVS shows eth() (see the golden keys).
    `recirc_id(0),in_port(1),eth(),eth_type(0x0800),ipv4(src=198.18.0.1,proto=6,frag=no),tcp(dst=80), packets:1, bytes:${f.length}, used:1.500s, actions:userspace(pid=0,slow_path(match)),2`,
  );
  assert.equal(dp.portStats(1).rxPackets, 2);
  assert.equal(dp.portStats(2).txPackets, 2);
  assert.equal(dp.expireIdle(10_000).length, 0);
  now = 20_000;
  assert.equal(dp.expireIdle(10_000).length, 1);
  assert.equal(dp.flowCount, 0);
});

test('dump-flows line after three packets matches real OVS 3.1 (upcall packet uncounted, flags:S.)', () => {
  // Captured from real ovs-vswitchd 3.1: rule "actions=output:2" (datapath port 3), three
  // netdev-dummy/receive of this TCP SYN+ACK, then `ovs-appctl dpctl/dump-flows`.
  const io = new CaptureIo();
  const mask = parseOdpFlow(
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no)',
  ).mask;
  let now = 1000;
  const dp = new DpNetdev({
    io,
    upcall: { miss: () => ({ actions: parseOdpActions('3'), mask }) },
    now: () => now,
  });
  const f = composePacket(
    parseOdpFlow(
      'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1234,dst=22),tcp_flags(syn|ack)',
    ).key,
    0,
  );
  for (let i = 0; i < 3; i++) send(dp, [f], 1);
  now += 5;
  const [flow] = dp.flowDump();
  assert.equal(
    dp.formatFlow(flow),
    'recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:2, bytes:108, used:0.005s, flags:S., actions:3',
  );
  assert.deepEqual([dp.stats.hit, dp.stats.missed, dp.stats.lost], [2, 1, 0]);
  assert.equal(dp.formatDumpFlows(), `flow-dump from the main thread:\n${dp.formatFlow(flow)}\n`);
  assert.match(
    dp.formatFlow(flow, { verbose: true, portName: (p) => `p${p}` }),
    /^ufid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}, skb_priority\(0\/0\),skb_mark\(0\/0\),ct_state\(0\/0\),.*in_port\(p1\),packet_type\(ns=0,id=0\),eth\(src=50:54:00:00:00:01\/00:00:00:00:00:00,.*, packets:2, bytes:108, used:0.005s, flags:S., dp:ovs, actions:p3$/,
  );
  dp.flowFlush();
  assert.equal(dp.formatDumpFlows(), '', 'an empty table prints nothing, as OVS');
  assert.equal(io.count(3), 3);
});

test('a port that feeds packets back from send() is served after the batch, boundedly', () => {
  let dp: DpNetdev | null = null;
  let sends = 0;
  const io: DpNetdevIo = {
    send: (port, batch) => {
      sends++;
      // Port 2 loops every frame back in on port 2 (whose flow outputs to 2 again).
      if (port === 2 && dp !== null) dp.input(batch);
    },
  };
  const acts = parseOdpActions('2');
  const mask = parseOdpFlow('in_port(1),eth_type(0x0800)').mask;
  dp = new DpNetdev({ io, upcall: { miss: () => ({ actions: acts, mask }) }, now: () => 1 });
  send(dp, [frameFor(TCP)], 1);
  assert.ok(sends > 1 && sends <= 66, `${sends} sends`);
  assert.ok(dp.stats.lost >= 1, 'the endless loop is cut off and counted');
  // And the datapath still works afterwards.
  const before = sends;
  send(dp, [frameFor(TCP)], 1);
  assert.ok(sends > before);
});

test('flow put: create, EEXIST on a covered key, modify, ENOENT, EINVAL overlap, flow limit', () => {
  const io = new CaptureIo();
  const dp = new DpNetdev({ io, upcall: { miss: () => null }, now: () => 1, flowLimit: 2 });
  const a = parseOdpFlow('in_port(1),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0,frag=no)');
  const b = parseOdpFlow('in_port(1),eth_type(0x0800),ipv4(src=10.1.2.3,frag=no)');
  const acts = parseOdpActions('2');
  const r1 = dp.flowPut({ ...a, actions: acts });
  assert.ok(r1.ok && r1.created);
  assert.deepEqual(dp.flowPut({ ...b, actions: acts }), { ok: false, error: 'EEXIST' });
  assert.deepEqual(dp.flowPut({ ...b, actions: acts, create: false, modify: false }), {
    ok: false,
    error: 'EINVAL',
  });
  const m = dp.flowPut({ ...b, actions: parseOdpActions('3'), modify: true });
  assert.ok(m.ok && !m.created);
  const a0 = dp.flowDump()[0].actions[0];
  assert.equal(a0.type === 'output' ? a0.port : -1, 3);
  const c = parseOdpFlow('in_port(2),eth_type(0x0800)');
  assert.deepEqual(dp.flowPut({ ...c, actions: acts, modify: true }), {
    ok: false,
    error: 'ENOENT',
  });
  assert.ok(dp.flowPut({ ...c, actions: acts }).ok);
  assert.deepEqual(dp.flowPut({ ...parseOdpFlow('in_port(3)'), actions: acts }), {
    ok: false,
    error: 'EFBIG',
  });
  // A miss with no handler answer is lost, not a crash.
  send(dp, [frameFor(TCP.replace('in_port(1)', 'in_port(9)'))], 9);
  assert.equal(dp.stats.lost, 1);
  const found = dp.flowFind(a.key, a.mask);
  assert.ok(found);
  assert.ok(dp.flowDel(found.ufid));
  assert.equal(dp.flowCount, 1);
  dp.flowFlush();
  assert.equal(dp.flowCount, 0);
});

/* ---- The caches never change a forwarding decision: EMC + megaflows vs. an oracle. ---- */

interface RuleSpec {
  inPort?: number;
  src?: [number, number];
  dst?: number;
  proto?: number;
  tpDst?: number;
  port: number;
}

interface PktSpec {
  inPort: number;
  src: number;
  dst: number;
  proto: number;
  tpDst: number;
}

interface Rule {
  key: Uint32Array;
  mask: Uint32Array;
  port: number; // 0 = drop
}

const SRCS = [0xc6120001, 0xc6120002, 0xc6120101, 0xc6130001];
const DSTS = [0xc6120005, 0xc6120006, 0xc6128006];
const PORTS = [80, 443, 53];

const ruleArb: fc.Arbitrary<RuleSpec> = fc.record({
  inPort: fc.option(fc.constantFrom(1, 2, 3), { nil: undefined }),
  src: fc.option(fc.tuple(fc.constantFrom(...SRCS), fc.constantFrom(8, 16, 24, 32)), {
    nil: undefined,
  }),
  dst: fc.option(fc.constantFrom(...DSTS), { nil: undefined }),
  proto: fc.option(fc.constantFrom(6, 17), { nil: undefined }),
  tpDst: fc.option(fc.constantFrom(...PORTS), { nil: undefined }),
  port: fc.integer({ min: 0, max: 4 }),
});

function makeRule(r: RuleSpec): Rule {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  key[W_DL_TYPE] = 0x0800;
  mask[W_DL_TYPE] = 0xffff;
  if (r.inPort !== undefined) {
    key[W_IN_PORT] = r.inPort;
    mask[W_IN_PORT] = 0xffffffff;
  }
  if (r.src !== undefined) {
    const m = (0xffffffff << (32 - r.src[1])) >>> 0;
    key[W_NW_SRC] = (r.src[0] & m) >>> 0;
    mask[W_NW_SRC] = m;
  }
  if (r.dst !== undefined) {
    key[W_NW_DST] = r.dst;
    mask[W_NW_DST] = 0xffffffff;
  }
  if (r.proto !== undefined) {
    key[W_NW] = r.proto;
    mask[W_NW] = 0xff;
    if (r.tpDst !== undefined) {
      key[W_TP] = r.tpDst;
      mask[W_TP] = 0xffff;
    }
  }
  return { key, mask, port: r.port };
}

function hits(r: Rule, k: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (((k[i] ^ r.key[i]) & r.mask[i]) !== 0) return false;
  return true;
}

/** The oracle: first matching rule wins; the megaflow mask unions every rule examined. */
function classify(rules: Rule[], k: Uint32Array): UpcallResult {
  const mask = new Uint32Array(FLOW_WORDS);
  for (const r of rules) {
    for (let i = 0; i < FLOW_WORDS; i++) mask[i] |= r.mask[i];
    if (hits(r, k)) return { actions: r.port ? parseOdpActions(String(r.port)) : [], mask };
  }
  return { actions: [] as OdpActions, mask };
}

const pktArb: fc.Arbitrary<PktSpec> = fc.record({
  inPort: fc.constantFrom(1, 2, 3),
  src: fc.constantFrom(...SRCS),
  dst: fc.constantFrom(...DSTS),
  proto: fc.constantFrom(6, 17),
  tpDst: fc.constantFrom(...PORTS),
});

function packetFrame(p: PktSpec): Uint8Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_DL_DST] = 0x5054;
  k[W_DL_DST + 1] = 2;
  k[W_DL_SRC] = 0x5054;
  k[W_DL_SRC + 1] = 1;
  k[W_DL_TYPE] = 0x0800;
  k[W_NW_SRC] = p.src;
  k[W_NW_DST] = p.dst;
  k[W_NW] = (64 << 8) | p.proto;
  k[W_TP] = (1000 << 16) | p.tpDst;
  return composePacket(k);
}

function sameMask(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

test('property: EMC + megaflow cache forward exactly as the oracle, across rule changes, revalidation, deletes and re-sorts', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(ruleArb, { minLength: 1, maxLength: 8 }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.array(pktArb, { minLength: 1, maxLength: 32 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.constantFrom(0, 1, 3, 100),
      fc.constantFrom(1, 5, 65536),
      (ruleSets, batches, dels, emcInsertInvProb, resortInterval) => {
        let rules = ruleSets[0].map(makeRule);
        const io = new CaptureIo();
        const dp = new DpNetdev({
          io,
          upcall: { miss: ({ key }) => classify(rules, key) },
          emcInsertInvProb,
          resortInterval,
          now: () => 1,
        });
        for (let round = 0; round < 3; round++) {
          for (const pkts of batches) {
            io.out.clear();
            const want = new Map<number, number>();
            const b = new PacketBatch();
            for (const p of pkts) {
              const f = packetFrame(p);
              b.add(f, 0, f.length, p.inPort);
              const r = classify(rules, keyOf(f, p.inPort));
              const a = r.actions[0];
              if (a?.type === 'output') want.set(a.port, (want.get(a.port) ?? 0) + 1);
            }
            dp.input(b);
            const got = new Map<number, number>();
            for (const [port, l] of io.out) got.set(port, l.length);
            assert.deepEqual(got, want);
          }
          // Delete some megaflows at random: the EMC must not keep serving them.
          const flows = dp.flowDump();
          for (const d of dels) if (flows.length) dp.flowDel(flows[d % flows.length]);
          // New rules, then revalidate as ofproto does: re-translate each megaflow's key;
          // keep it only if mask and actions are unchanged, else delete it.
          if (round < 2) {
            rules = ruleSets[round + 1].map(makeRule);
            for (const f of dp.flowDump()) {
              const r = classify(rules, f.key);
              const m = Uint32Array.from(r.mask ?? new Uint32Array(FLOW_WORDS));
              m[W_IN_PORT] = 0xffffffff;
              m[W_RECIRC_ID] = 0xffffffff; // always exact in the datapath
              const same =
                sameMask(m, f.mask) && JSON.stringify(r.actions) === JSON.stringify(f.actions);
              if (!same) dp.flowDel(f);
            }
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

/* ---- Steady state: no allocation, and throughput. ---- */

/*
 * A datapath with `nFlows` UDP flows under one realistic megaflow mask (in_port, recirc_id,
 * dl_type, nw_src, nw_dst, nw_proto, nw_frag, tp_dst) and default EMC insertion, fed from a
 * receive ring (one buffer, as a netdev's) through one reused batch: the port layer's copy
 * into the batch is part of what is measured.
 */
function measure(nFlows: number, now?: () => number) {
  const io: DpNetdevIo = { send: () => {} };
  const acts = parseOdpActions('2');
  const mask = new Uint32Array(FLOW_WORDS);
  mask[W_IN_PORT] = 0xffffffff;
  mask[W_DL_TYPE] = 0xffff;
  mask[W_NW_SRC] = 0xffffffff;
  mask[W_NW_DST] = 0xffffffff;
  mask[W_NW] = 0xff0000ff;
  mask[W_TP] = 0xffff;
  const dp = new DpNetdev({ io, upcall: { miss: () => ({ actions: acts, mask }) }, now });
  const ring = new Uint8Array(nFlows * 128);
  const lens = new Int32Array(nFlows);
  for (let i = 0; i < nFlows; i++) {
    const f = packetFrame({
      inPort: 1,
      src: 0xc6120000 + i,
      dst: 0xc6120005,
      proto: 17,
      tpDst: 53,
    });
    ring.set(f, i * 128);
    lens[i] = f.length;
  }
  const b = new PacketBatch();
  let next = 0;
  const run = (n: number) => {
    for (let p = 0; p < n; p += 32) {
      b.clear();
      for (let i = 0; i < 32; i++) {
        b.add(ring, next * 128, lens[next], 1);
        next = next + 1 === nFlows ? 0 : next + 1;
      }
      dp.input(b);
    }
  };
  // Warm up: install the flows, fill the caches, let V8 optimise.
  run(Math.max(200_000, nFlows * 4));
  return { dp, run };
}

test('steady state allocates nothing per packet (1M packets, heap and GC checked)', () => {
  // The one allocation left is the clock: Date.now() boxes its result once per batch
  // (~0.5 byte per packet), so this test holds the clock still.
  const { run } = measure(1, () => 1);
  run(200_000);
  let gcs = 0;
  const obs = new PerformanceObserver((l) => {
    gcs += l.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const h0 = process.memoryUsage().heapUsed;
  run(1_000_000);
  const h1 = process.memoryUsage().heapUsed;
  obs.disconnect();
  const growth = h1 - h0;
  assert.ok(growth < 512 * 1024, `heap grew ${growth} bytes over 1M packets`);
  assert.ok(gcs <= 1, `${gcs} garbage collections during 1M packets`);
});

test('a long steady run is served entirely from the caches (speed belongs to the benchmarks)', () => {
  for (const nFlows of [1, 10_000]) {
    const { dp, run } = measure(nFlows);
    const n = 1_000_000;
    const before = { emc: dp.stats.emcHit, mf: dp.stats.megaflowHit, missed: dp.stats.missed };
    run(n);
    assert.equal(dp.stats.missed, before.missed, 'no upcalls once the flows are installed');
    assert.equal(dp.stats.emcHit - before.emc + (dp.stats.megaflowHit - before.mf), n);
    if (nFlows === 1) assert.equal(dp.stats.megaflowHit, before.mf, 'one flow: all EMC hits');
  }
});

test('a batch runs per flow, in order of each flow first packet, each flow in arrival order', () => {
  // OVS's packet_batch_per_flow order: all hits of the first flow seen, then the next, ...
  const io = new CaptureIo();
  // Megaflows on eth_src only, so the udp ports below tell packets of one flow apart.
  const mask = new Uint32Array(FLOW_WORDS);
  mask[W_DL_SRC] = 0xffffffff;
  mask[W_DL_SRC + 1] = 0xffffffff;
  const acts = parseOdpActions('2');
  const dp = new DpNetdev({ io, upcall: { miss: () => ({ actions: acts, mask }) }, now: () => 1 });
  const mk = (src: string, dst: number) =>
    frameFor(
      `in_port(1),eth(src=${src},dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=7,dst=${dst})`,
    );
  const flows = ['50:54:00:00:00:0a', '50:54:00:00:00:0b', '50:54:00:00:00:0c'];
  // Install the three megaflows first, so the batch below is all hits.
  send(
    dp,
    flows.map((s) => mk(s, 1)),
    1,
  );
  io.out.clear();
  // Packets tagged by udp dst: flow a b a c b a, ports 10..15 in arrival order.
  const order = [0, 1, 0, 2, 1, 0];
  send(
    dp,
    order.map((f, i) => mk(flows[f], 10 + i)),
    1,
  );
  const got = (io.out.get(2) ?? []).map((f) => keyOf(f)[W_TP] & 0xffff);
  assert.deepEqual(got, [10, 12, 15, 11, 14, 13]);
  assert.equal(dp.stats.hit, 6);
});

test('a 64 kB super-frame crosses whole with its offload words: copies, last output, recirculation', () => {
  // Words as a PACKET_VNET_HDR socket reports them: partial checksum, TCPv4 GSO of 1448.
  const ol0 = (1 | (1 << 8) | (1448 << 16)) >>> 0;
  const ol1 = 20 | (16 << 16);
  const seen: { port: number; len: number; ol0: number; ol1: number; tag: number }[] = [];
  const io: DpNetdevIo = {
    send(port, batch) {
      for (let i = 0; i < batch.count; i++) {
        const f = batch.packet(i);
        seen.push({
          port,
          len: batch.len[i],
          ol0: batch.ol[2 * i],
          ol1: batch.ol[2 * i + 1],
          tag: f[12] === 0x81 ? ((f[14] << 8) | f[15]) & 0xfff : -1,
        });
      }
    },
  };
  const recircActs = parseOdpActions('2,push_vlan(vid=7,pcp=0),3');
  const upcall: UpcallHandler = {
    miss: (up) => ({
      actions: up.key[W_RECIRC_ID] === 0 ? parseOdpActions('recirc(0x5)') : recircActs,
      mask: new Uint32Array(FLOW_WORDS).fill(0xffffffff),
    }),
  };
  const dp = new DpNetdev({ io, upcall, now: () => 1000 });
  const small = frameFor(TCP);
  const big = new Uint8Array(14 + 20 + 20 + 65000);
  big.set(small.subarray(0, 54));
  big[16] = (big.length - 14) >> 8; // IPv4 total length of the super-frame
  big[17] = (big.length - 14) & 0xff;
  for (let round = 0; round < 3; round++) {
    const b = new PacketBatch();
    b.add(small, 0, small.length, 1);
    const i = b.add(big, 0, big.length, 1);
    assert.equal(i, 1, 'a slot takes a 64 kB frame');
    b.setOffload(i, ol0, ol1);
    dp.input(b);
  }
  const bigOut = seen.filter((s) => s.len >= big.length);
  assert.equal(bigOut.length, 6, 'each round: one copy to port 2, the last output to port 3');
  for (const s of bigOut) {
    assert.deepEqual([s.ol0, s.ol1], [ol0, ol1], `port ${s.port} got the offload words`);
    assert.equal(s.len, s.port === 3 ? big.length + 4 : big.length);
    assert.equal(s.tag, s.port === 3 ? 7 : -1);
  }
  const smallOut = seen.filter((s) => s.len < 1000);
  assert.equal(smallOut.length, 6);
  assert.ok(
    smallOut.every((s) => s.ol0 === 0 && s.ol1 === 0),
    'ordinary frames carry none',
  );
  const f = dp.flowDump().find((x) => x.key[W_RECIRC_ID] === 5 && x.packets > 0);
  assert.ok(f && f.bytes >= 2 * big.length, 'a super-frame counts its whole length');
});

test('a batch slot takes a super-frame in a 64 kB slot made once, and ordinary frames go back to the small one', () => {
  const b = new PacketBatch();
  const small = b.frames[0];
  const big = new Uint8Array(60000).fill(7);
  b.add(big, 0, big.length, 1);
  const bigSlot = b.frames[0];
  assert.ok(bigSlot.length >= big.length && bigSlot !== small);
  assert.deepEqual(b.packet(0), big);
  b.clear();
  b.add(new Uint8Array(64).fill(1), 0, 64, 1);
  assert.equal(b.frames[0], small, 'the ordinary slot is back for a 64-byte frame');
  b.clear();
  b.add(big, 0, big.length, 1);
  assert.equal(b.frames[0], bigSlot, 'the big slot is reused, not made again');
});
