/*
 * The userspace datapath (DpNetdev) driven in-process: batches of 32 64-byte UDP frames are
 * received on port 1 (copied into a PacketBatch, as a port's receive would) and forwarded by
 * a megaflow to port 2, whose transmit only counts them. The upcall handler does no
 * translation: it hands back prepared actions and the mask the case calls for, so flow setup
 * measures the datapath's own cost (classifier insert, ufid, EMC), not ofproto's.
 *
 * Cases (one per process, chosen with --case; prints one JSON line):
 *   rx       the receive copy alone (no datapath): the floor under every other case
 *   emc      exact-match-cache hits, 1,000 flows, every miss inserted into the EMC
 *   mf1 / mf10 / mf100   megaflow hits with 1, 10 or 100 masks, EMC off, 4,096 flows
 *   upcall   flow setups: every packet a new flow (table flushed between repetitions)
 */

import {
  DpNetdev,
  type DpNetdevIo,
  type UpcallHandler,
  type UpcallResult,
} from '../../src/dpif/netdev/dp-netdev.ts';
import type { OdpActions } from '../../src/dpif/netdev/odp-actions.ts';
import { NETDEV_MAX_BURST, PacketBatch } from '../../src/dpif/netdev/packet-batch.ts';
import {
  FLOW_WORDS,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
} from '../../src/lib/flow/layout.ts';
import { udpFrame } from './frames.ts';
import { measure } from './measure.ts';

const IN_PORT = 1;
const OUT_PORT = 2;
const ACTIONS: OdpActions = [{ type: 'output', port: OUT_PORT }];

class CountIo implements DpNetdevIo {
  packets = 0;
  send(_port: number, batch: PacketBatch): void {
    this.packets += batch.count;
  }
}

function prefix(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/* The 5-tuple mask (what a typical L3/L4 OpenFlow pipeline un-wildcards). */
function fiveTupleMask(): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  m[W_DL_TYPE] = 0xffff;
  m[W_NW_SRC] = 0xffffffff;
  m[W_NW_DST] = 0xffffffff;
  m[W_NW] = 0xff; // nw_proto
  m[W_TP] = 0xffffffff;
  return m;
}

/*
 * Mask j of n: udp source port exact (the traffic puts flow i on port 1024 + i % n, so a
 * packet's megaflow can only be in its own mask's subtable and megaflows never overlap), plus
 * an nw_dst prefix of 32..16 bits and an nw_src prefix of 32/24/16/8/0/28 bits: 102 distinct
 * masks, the first ones exact on both addresses so that they hold many flows.
 */
const SRC_PREFIXES = [32, 24, 16, 8, 0, 28];
function megaflowMask(j: number): Uint32Array {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  m[W_DL_TYPE] = 0xffff;
  m[W_NW] = 0xff;
  m[W_TP] = 0xffff0000;
  m[W_NW_DST] = prefix(32 - (j % 17));
  m[W_NW_SRC] = prefix(SRC_PREFIXES[Math.floor(j / 17)]);
  return m;
}

function frames(n: number, nMasks: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      udpFrame({
        srcIp: (0x0a000000 + (i >>> 4)) >>> 0, // 10.0.x.y
        dstIp: (0xac100000 + ((i * 2654435761) >>> 16)) >>> 0, // 172.16.x.y, scattered
        srcPort: 1024 + (i % nMasks),
        dstPort: 5000 + (i & 0x3ff),
      }),
    );
  }
  return out;
}

/* Feeds `nBatches` batches of 32 frames, round-robin over `src` from *pos. */
function makePump(dp: DpNetdev | null, src: Uint8Array[]) {
  const batch = new PacketBatch();
  let pos = 0;
  return (nBatches: number): number => {
    for (let b = 0; b < nBatches; b++) {
      batch.clear();
      for (let i = 0; i < NETDEV_MAX_BURST; i++) {
        const f = src[pos];
        batch.add(f, 0, f.length, IN_PORT);
        pos = pos + 1 === src.length ? 0 : pos + 1;
      }
      if (dp !== null) dp.input(batch);
    }
    return nBatches * NETDEV_MAX_BURST;
  };
}

interface CaseResult {
  readonly case: string;
  readonly mpps: number;
  /** Mpps per CPU-second of this process. */
  readonly cpuMpps: number;
  readonly all: readonly number[];
  readonly packetsPerRep: number;
  readonly [k: string]: unknown;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`sanity check failed: ${what}`);
}

const quick = process.argv.includes('--quick');
const fi = process.argv.indexOf('--flows');
/* --flows N overrides a case's number of distinct flows (for exploring, not in the table). */
const flowsArg = fi >= 0 ? Number(process.argv[fi + 1]) : undefined;
const T = quick ? { warmup: 0.15, rep: 0.1, reps: 3 } : { warmup: 0.5, rep: 0.25, reps: 5 };

function runCase(name: string): CaseResult {
  if (name === 'rx') {
    const pump = makePump(null, frames(1000, 1));
    const r = measure(pump, T);
    return {
      case: name,
      mpps: r.median / 1e6,
      cpuMpps: r.cpuMedian / 1e6,
      all: r.all,
      packetsPerRep: r.units * 32,
    };
  }
  if (name === 'emc' || /^mf\d+$/.test(name)) {
    const emc = name === 'emc';
    const nMasks = emc ? 1 : Number(name.slice(2));
    const results: UpcallResult[] = [];
    for (let j = 0; j < nMasks; j++)
      results.push({ actions: ACTIONS, mask: emc ? fiveTupleMask() : megaflowMask(j) });
    const upcall: UpcallHandler = {
      miss: (up) => results[((up.key[W_TP] >>> 16) - 1024) % nMasks],
    };
    const io = new CountIo();
    const dp = new DpNetdev({ io, upcall, emcInsertInvProb: emc ? 1 : 0 });
    const src = frames(flowsArg ?? (emc ? 1000 : 4096), nMasks);
    const pump = makePump(dp, src);
    const st = dp.stats;
    // Hit rates are those of the timed repetitions (warm-up includes the first misses).
    let base = { ...st };
    const r = measure(pump, { ...T, warmedUp: () => (base = { ...st }) });
    check(io.packets === st.hit + st.missed, 'every received packet is transmitted');
    check(st.upcalls <= src.length, 'no upcalls beyond the first sight of each flow');
    const received = st.hit + st.missed - (base.hit + base.missed);
    const emcHits = st.emcHit - base.emcHit;
    const mfHits = st.megaflowHit - base.megaflowHit;
    if (emc) check(emcHits / received > 0.95, `EMC hit rate ${emcHits / received}`);
    else {
      check(emcHits === 0, 'EMC off');
      check(dp.maskCount === nMasks, `${nMasks} masks installed, found ${dp.maskCount}`);
    }
    return {
      case: name,
      mpps: r.median / 1e6,
      cpuMpps: r.cpuMedian / 1e6,
      all: r.all,
      packetsPerRep: r.units * 32,
      flows: dp.flowCount,
      masks: dp.maskCount,
      emcHitRate: emcHits / received,
      megaflowHitRate: mfHits / received,
      // OVS's pmd-stats-show "avg. subtable lookups per megaflow hit".
      subtablesPerHit: mfHits > 0 ? (st.masksHit - base.masksHit) / mfHits : 0,
    };
  }
  if (name === 'upcall') {
    // 40,000 distinct flows fit under the default flow limit (65,536).
    const N = quick ? 8192 : 40960;
    const src: Uint8Array[] = [];
    for (let i = 0; i < N; i++)
      src.push(
        udpFrame({
          srcIp: (0x0a000000 + i) >>> 0,
          dstIp: 0xac100001,
          srcPort: 1024 + (i & 0xff),
          dstPort: 5000,
        }),
      );
    const result: UpcallResult = { actions: ACTIONS, mask: fiveTupleMask() };
    let upcalls = 0;
    const upcall: UpcallHandler = {
      miss: () => {
        upcalls++;
        return result;
      },
    };
    const io = new CountIo();
    const dp = new DpNetdev({ io, upcall });
    const pumpAll = makePump(dp, src);
    const nBatches = N / NETDEV_MAX_BURST;
    let flowsAfter = 0;
    const r = measure(
      (units) => {
        // One unit = one pass over all the unique frames, from an empty table.
        let n = 0;
        for (let u = 0; u < units; u++) n += pumpAll(nBatches);
        flowsAfter = dp.flowCount;
        return n;
      },
      { ...T, maxUnits: 1, minWarmupRounds: 2, before: () => dp.flowFlush() },
    );
    check(flowsAfter === N, `one megaflow per packet (${flowsAfter} of ${N})`);
    check(upcalls === dp.stats.upcalls, 'handler saw every upcall');
    return {
      case: name,
      mpps: r.median / 1e6,
      cpuMpps: r.cpuMedian / 1e6,
      all: r.all,
      packetsPerRep: N,
      flows: flowsAfter,
    };
  }
  throw new Error(`unknown case ${name}`);
}

const i = process.argv.indexOf('--case');
const which = i >= 0 ? process.argv[i + 1] : 'emc';
process.stdout.write(`${JSON.stringify(runCase(which))}\n`);
