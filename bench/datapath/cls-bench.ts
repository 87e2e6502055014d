/*
 * The OpenFlow classifier (src/lib/classifier) in-process: lookups per second with and
 * without the wildcard output (the megaflow mask an upcall needs), and insertions per second.
 *
 * Cases (one per process, chosen with --case; prints one JSON line):
 *   ovs-1k, ovs-100k   the workload of OVS's own `ovstest test-classifier benchmark`, rebuilt
 *                      rule for rule from tests/test-classifier.c (13 fields, two values each,
 *                      all 13 matched exactly, prefix tries on nw_src/nw_dst); run with
 *                      1000 rules / 10 priorities and 100000 rules / 100 priorities, 5 tables
 *   5tuple-*           one mask: in_port, dl_type, nw_src, nw_dst, nw_proto, tp_src, tp_dst
 *   acl-*              eight masks: nw_dst /8 /16 /24 /32, each with and without tp_dst,
 *                      priority by prefix length (longest prefix wins); half the lookups
 *                      go to addresses under a rule's prefix, half to random ones
 *   l2-*               a MAC table: dl_dst + VLAN exact, behind a priority-0 catch-all
 * where * is 1k or 100k rules. ovs-cls-bench.c builds the last three in OVS's classifier
 * from the same generator, drawn in the same order: keep the two in step.
 */

import { Classifier } from '../../src/lib/classifier/classifier.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  FLOW_WORDS,
  OFPP_LOCAL,
  VLAN_CFI,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_METADATA,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
  W_TUN_ID,
  W_VLAN0,
} from '../../src/lib/flow/layout.ts';
import type { Match } from '../../src/lib/flow/match.ts';
import { measure, Rng } from './measure.ts';

type Key = Uint32Array;

function newMatch(): Match {
  return { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) };
}

function setBits(m: Match, w: number, value: number, mask: number): void {
  m.key[w] = ((m.key[w] & ~mask) | (value & mask)) >>> 0;
  m.mask[w] = (m.mask[w] | mask) >>> 0;
}

/* ------------------------------------------------------------------------------------- */
/* OVS's test-classifier benchmark workload. */

/*
 * Per field (in test-classifier.c's CLS_FIELDS order): how to store value 0 or 1 in a key,
 * with the field's mask. Values are those of the C test's *_values[] tables.
 */
interface ClsField {
  readonly words: readonly number[];
  readonly masks: readonly number[];
  readonly values: readonly [readonly number[], readonly number[]];
}
const FULL = 0xffffffff;
const CLS_FIELDS: readonly ClsField[] = [
  // tun_id: 0, 0xfedcba9876543210
  {
    words: [W_TUN_ID, W_TUN_ID + 1],
    masks: [FULL, FULL],
    values: [
      [0, 0],
      [0xfedcba98, 0x76543210],
    ],
  },
  // metadata: 0, 0xfedcba9876543210
  {
    words: [W_METADATA, W_METADATA + 1],
    masks: [FULL, FULL],
    values: [
      [0, 0],
      [0xfedcba98, 0x76543210],
    ],
  },
  // nw_src: 192.168.0.1, 192.160.68.85
  { words: [W_NW_SRC], masks: [FULL], values: [[0xc0a80001], [0xc0a04455]] },
  // nw_dst: 192.168.0.2, 192.160.68.85
  { words: [W_NW_DST], masks: [FULL], values: [[0xc0a80002], [0xc0a04455]] },
  // in_port: 1, LOCAL
  { words: [W_IN_PORT], masks: [FULL], values: [[1], [OFPP_LOCAL]] },
  // vlan_tci: 101, 0
  { words: [W_VLAN0], masks: [0xffff], values: [[101], [0]] },
  // dl_type: IPv4, ARP
  { words: [W_DL_TYPE], masks: [0xffff], values: [[ETH_TYPE_IP], [ETH_TYPE_ARP]] },
  // tp_src: 49362, 80 (high half of the tp word)
  { words: [W_TP], masks: [0xffff0000], values: [[49362 << 16], [80 << 16]] },
  // tp_dst: 6667, 22
  { words: [W_TP], masks: [0xffff], values: [[6667], [22]] },
  // dl_src: 00:02:e3:0f:80:a4, 5e:33:7f:5f:1e:99
  {
    words: [W_DL_SRC, W_DL_SRC + 1],
    masks: [0xffff, FULL],
    values: [
      [0x0002, 0xe30f80a4],
      [0x5e33, 0x7f5f1e99],
    ],
  },
  // dl_dst: 4a:27:71:ae:64:c1, ff:ff:ff:ff:ff:ff
  {
    words: [W_DL_DST, W_DL_DST + 1],
    masks: [0xffff, FULL],
    values: [
      [0x4a27, 0x71ae64c1],
      [0xffff, FULL],
    ],
  },
  // nw_proto: TCP, ICMP
  { words: [W_NW], masks: [0xff], values: [[6], [1]] },
  // nw_tos DSCP bits: 48, 0
  { words: [W_NW], masks: [0xfc << 16], values: [[48 << 16], [0]] },
];
const CLS_N_FIELDS = CLS_FIELDS.length;
const F_IDX = { NW_SRC: 2, NW_DST: 3, TUN_ID: 0, METADATA: 1, IN_PORT: 4, VLAN: 5, DL_TYPE: 6 };

function setField(m: Match, f: ClsField, v: 0 | 1): void {
  for (let i = 0; i < f.words.length; i++) setBits(m, f.words[i], f.values[v][i], f.masks[i]);
}

interface Workload {
  readonly cls: Classifier<number>;
  readonly lookups: readonly Key[];
  readonly insertRate: number;
}

/* As test-classifier.c's benchmark(): the lookup flows, then n rules over n_tables wildcard
 * patterns (which, as in the C test, only decide whether the priority is forced to 0). */
function ovsWorkload(nRules: number, nPriorities: number, nTables: number): Workload {
  const rng = new Rng(1);
  const wcfs: number[] = [];
  for (let i = 0; i < nTables; i++) {
    let w: number;
    do w = rng.next() & ((1 << CLS_N_FIELDS) - 1);
    while (wcfs.includes(w));
    wcfs.push(w);
  }
  const priorities: number[] = [];
  for (let i = 0; i < nPriorities; i++) priorities.push((i * 129) & 0x7fffffff);
  for (let i = priorities.length; i > 1; i--) {
    const j = rng.range(i);
    [priorities[i - 1], priorities[j]] = [priorities[j], priorities[i - 1]];
  }
  // 2 * N_FLOW_VALUES lookup flows; the C test draws each field from x in this order.
  const order = [
    F_IDX.NW_SRC,
    F_IDX.NW_DST,
    F_IDX.TUN_ID,
    F_IDX.METADATA,
    F_IDX.IN_PORT,
    F_IDX.VLAN,
    F_IDX.DL_TYPE,
    7,
    8,
    9,
    10,
    11,
    12,
  ];
  const N_FLOW_VALUES = 1 << 12; // every field but metadata
  const lookups: Key[] = [];
  for (let i = 0; i < 2 * N_FLOW_VALUES; i++) {
    let x = rng.range(N_FLOW_VALUES);
    const m = newMatch();
    for (const f of order) {
      setField(m, CLS_FIELDS[f], (x % 2) as 0 | 1);
      x = Math.floor(x / 2);
    }
    lookups.push(m.key);
  }
  const cls = new Classifier<number>();
  const t0 = performance.now();
  let tried = 0;
  for (let i = 0; i < nRules; i++) {
    const priority = priorities[rng.range(nPriorities)];
    const wcf = wcfs[rng.range(nTables)];
    const pat = rng.next() & ((1 << CLS_N_FIELDS) - 1);
    const m = newMatch();
    for (let f = 0; f < CLS_N_FIELDS; f++) setField(m, CLS_FIELDS[f], (pat >>> f) & 1 ? 1 : 0);
    const p = wcf !== 0 ? priority : 0;
    tried++;
    if (cls.findExactly(m, p) === null) cls.insert(m, p, i);
  }
  const insertRate = tried / ((performance.now() - t0) / 1000);
  return { cls, lookups, insertRate };
}

/* ------------------------------------------------------------------------------------- */
/* Our own shapes. */

function fiveTuple(n: number): Workload {
  const rng = new Rng(7);
  const cls = new Classifier<number>();
  const lookups: Key[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const m = newMatch();
    setBits(m, W_IN_PORT, 1 + (i & 7), FULL);
    setBits(m, W_DL_TYPE, ETH_TYPE_IP, 0xffff);
    setBits(m, W_NW_SRC, 0x0a000000 + rng.range(1 << 24), FULL);
    setBits(m, W_NW_DST, 0xac100000 + rng.range(1 << 20), FULL);
    setBits(m, W_NW, i & 1 ? 6 : 17, 0xff);
    setBits(m, W_TP, rng.next(), FULL);
    cls.insert(m, 100, i);
    // Half the lookups hit this rule, half differ in tp_dst and miss.
    if (i % Math.max(1, n >> 13) === 0) {
      lookups.push(m.key.slice());
      const miss = m.key.slice();
      miss[W_TP] = (miss[W_TP] ^ 0x5555) >>> 0;
      lookups.push(miss);
    }
  }
  return { cls, lookups, insertRate: n / ((performance.now() - t0) / 1000) };
}

const ACL_PLENS = [8, 16, 24, 32];

function acl(n: number): Workload {
  const rng = new Rng(11);
  const cls = new Classifier<number>();
  const t0 = performance.now();
  // The distinct rules in insertion order (what lookups draw from; ovs-cls-bench.c the same).
  const ruleMatches: Match[] = [];
  for (let i = 0; ruleMatches.length < n; i++) {
    const plen = ACL_PLENS[i & 3];
    const withPort = (i & 4) !== 0;
    const m = newMatch();
    const mask = (0xffffffff << (32 - plen)) >>> 0;
    setBits(m, W_DL_TYPE, ETH_TYPE_IP, 0xffff);
    setBits(m, W_NW, 6, 0xff);
    setBits(m, W_NW_DST, rng.next(), mask);
    if (withPort) setBits(m, W_TP, 1 + rng.range(1024), 0xffff);
    const r = cls.replace(m, plen * 2 + (withPort ? 1 : 0), i);
    if (r.displaced === null) ruleMatches.push(m);
  }
  const insertRate = n / ((performance.now() - t0) / 1000);
  // Lookups: TCP packets to addresses under a rule's prefix (the rules' own keys with random
  // host bits) and to random addresses (mostly misses).
  const lookups: Key[] = [];
  for (let i = 0; i < 8192; i++) {
    const k = new Uint32Array(FLOW_WORDS);
    k[W_IN_PORT] = 1;
    k[W_DL_TYPE] = ETH_TYPE_IP;
    k[W_NW] = (64 << 8) | 6;
    k[W_NW_SRC] = 0xc0a80001;
    k[W_TP] = ((1024 + rng.range(60000)) << 16) | (1 + rng.range(1024));
    if (i & 1) {
      const r = ruleMatches[rng.range(ruleMatches.length)];
      const m = r.mask[W_NW_DST];
      k[W_NW_DST] = ((r.key[W_NW_DST] & m) | (rng.next() & ~m)) >>> 0;
    } else {
      k[W_NW_DST] = rng.next();
    }
    lookups.push(k);
  }
  return { cls, lookups, insertRate };
}

function l2(n: number): Workload {
  const rng = new Rng(13);
  const cls = new Classifier<number>();
  const lookups: Key[] = [];
  const t0 = performance.now();
  cls.insert(newMatch(), 0, -1);
  for (let i = 0; i < n; i++) {
    const m = newMatch();
    const hi = 0x5054;
    const lo = (0x00000000 + i * 2654435761) >>> 0;
    const vid = 1 + (i % 16);
    setBits(m, W_DL_DST, hi, 0xffff);
    setBits(m, W_DL_DST + 1, lo, FULL);
    setBits(m, W_VLAN0, VLAN_CFI | vid, VLAN_CFI | 0x0fff);
    cls.insert(m, 100, i);
    if (i % Math.max(1, n >> 13) === 0) {
      const k = new Uint32Array(FLOW_WORDS);
      k[W_IN_PORT] = 1;
      k[W_DL_TYPE] = ETH_TYPE_IP;
      k[W_DL_SRC + 1] = rng.next();
      k[W_DL_DST] = hi;
      k[W_DL_DST + 1] = lo;
      k[W_VLAN0] = ((0x8100 << 16) | VLAN_CFI | vid) >>> 0;
      lookups.push(k);
      const miss = k.slice();
      miss[W_DL_DST + 1] = rng.next(); // unknown MAC: the catch-all (flood)
      lookups.push(miss);
    }
  }
  return { cls, lookups, insertRate: (n + 1) / ((performance.now() - t0) / 1000) };
}

/* ------------------------------------------------------------------------------------- */

const quick = process.argv.includes('--quick');
const T = quick ? { warmup: 0.15, rep: 0.1, reps: 3 } : { warmup: 0.4, rep: 0.2, reps: 5 };
const BLOCK = 1024;

function lookupRate(w: Workload, withWc: boolean) {
  const { cls, lookups } = w;
  // Visit the lookup keys in a fixed shuffled order (as the C test draws them at random).
  const rng = new Rng(3);
  const order = new Int32Array(1 << 16);
  for (let i = 0; i < order.length; i++) order[i] = rng.range(lookups.length);
  const wc = new Uint32Array(FLOW_WORDS);
  let pos = 0;
  let hits = 0;
  let total = 0;
  const r = measure((units) => {
    const n = units * BLOCK;
    for (let i = 0; i < n; i++) {
      const key = lookups[order[pos]];
      pos = (pos + 1) & 0xffff;
      let rule: unknown;
      if (withWc) {
        wc.fill(0);
        rule = cls.lookup(key, wc);
      } else {
        rule = cls.lookup(key);
      }
      if (rule !== null) hits++;
    }
    total += n;
    return n;
  }, T);
  return { r, hitRate: hits / total };
}

function runCase(name: string) {
  const m = /^(ovs|5tuple|acl|l2)-(1k|100k)$/.exec(name);
  if (m === null) throw new Error(`unknown case ${name}`);
  const n = m[2] === '1k' ? 1000 : 100000;
  const w =
    m[1] === 'ovs'
      ? ovsWorkload(n, n === 1000 ? 10 : 100, 5)
      : m[1] === '5tuple'
        ? fiveTuple(n)
        : m[1] === 'acl'
          ? acl(n)
          : l2(n);
  const plain = lookupRate(w, false);
  const wc = lookupRate(w, true);
  return {
    case: name,
    rules: w.cls.count,
    subtables: w.cls.subtableCount,
    insertsPerSec: w.insertRate,
    hitRate: plain.hitRate,
    noWc: plain.r.median,
    noWcCpu: plain.r.cpuMedian,
    noWcAll: plain.r.all,
    wc: wc.r.median,
    wcCpu: wc.r.cpuMedian,
    wcAll: wc.r.all,
  };
}

const i = process.argv.indexOf('--case');
process.stdout.write(`${JSON.stringify(runCase(i >= 0 ? process.argv[i + 1] : 'ovs-1k'))}\n`);
