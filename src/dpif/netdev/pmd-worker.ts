/**
 * The PMD worker thread (OVS's pmd_thread_main): receives on the Linux ports handed to it,
 * forwards through its own DpNetdev engine whose flow table replays the main thread's (put,
 * modify, del, flush commands in order; its EMC is its own) and transmits. What it cannot do
 * itself goes to the main thread: missed packets (upcalls), userspace() and port-layer actions,
 * output to ports it does not drive. Flow, port and lookup statistics go back as deltas every
 * PMD_STATS_INTERVAL_MS and on request.
 *
 * Entry point of a worker started by pmd-thread.ts; bundled as dist/cli/pmd-worker.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setFlowVlanLimit } from '../../lib/flow/extract.ts';
import { FLOW_WORDS } from '../../lib/flow/layout.ts';
import { setConsoleWriter, setLevels, setPattern, vlog } from '../../lib/vlog.ts';
import { PmdPort } from '../../netdev/linux/pmd-port.ts';
import type { NetdevRxSink, TxBatch } from '../../netdev/netdev.ts';
import { type FrameEmit, finishOffload, OffloadFinisher } from '../../netdev/offload.ts';
import { type DpFlow, DpNetdev, type UpcallResult } from './dp-netdev.ts';
import type { OdpActions } from './odp-actions.ts';
import { MD_WORDS, NETDEV_MAX_BURST, PacketBatch } from './packet-batch.ts';
import {
  DP_STAT_NAMES,
  FLOW_STAT_WORDS,
  type PackedFrames,
  PMD_ACTION_BATCH,
  PMD_ACTION_DELAY_MS,
  PMD_FLOW_STATS_EVERY,
  PMD_FLOW_STATS_FEW,
  PMD_MAX_ACTION_IDS,
  PMD_MAX_INFLIGHT,
  PMD_STATS_INTERVAL_MS,
  type PmdCommand,
  type PmdEvent,
  type PmdWorkerData,
  TX_DONE,
  UP_DONE,
  UP_POSTED,
  type UserspaceAction,
  type UserspaceDef,
} from './pmd-protocol.ts';

const port0 = parentPort;
if (port0 === null) throw new Error('pmd-worker.ts runs as a worker thread only');
const parent = port0;
const data = workerData as PmdWorkerData;
if (data.vlanLimit !== undefined) setFlowVlanLimit(data.vlanLimit);
const shared = new Int32Array(data.shared);

// This thread's log messages go to the main thread's vlog (its levels, file and syslog): here
// every module logs at info to a "console" that posts "module|LEVEL|message" lines there.
setLevels(null, null, 'off');
setLevels(null, 'console', 'info');
setPattern('console', '%c|%p|%m');
setConsoleWriter((line) => parent.postMessage({ t: 'log', line }));
const log = vlog('dpif_netdev');

/** What the engine returns for a miss here: nothing to run, nothing to install (the main
 * thread translates it and runs it). */
const PUNT: UpcallResult = { actions: [], mask: null };

const ports = new Map<number, PmdPort>();

interface Tracked {
  readonly flow: DpFlow;
  packets: number;
  bytes: number;
  used: number;
  tcpFlags: number;
}
/** The replica's flows by the id the main thread gave them. */
const tracked = new Map<number, Tracked>();
let upPosted = 0;
let upcallDrops = 0;
let putErrors = 0;

function post(ev: PmdEvent, transfer?: ArrayBuffer[]): void {
  parent.postMessage(ev, transfer ?? []);
}

/** Whether another packet message fits the queue to the main thread; counts a drop if not. */
function upRoom(n: number): boolean {
  if (upPosted - Atomics.load(shared, UP_DONE) >= PMD_MAX_INFLIGHT) {
    upcallDrops += n;
    return false;
  }
  upPosted++;
  Atomics.store(shared, UP_POSTED, upPosted);
  return true;
}

/* Missed packets of the batch being processed, copied here and posted after it. */
let upData = new Uint8Array(NETDEV_MAX_BURST * 2048);
const upLen = new Int32Array(NETDEV_MAX_BURST * 8);
const upMd = new Uint32Array(NETDEV_MAX_BURST * 8 * MD_WORDS);
let upN = 0;
let upBytes = 0;

function stageUpcall(key: Uint32Array, packet: Uint8Array): void {
  if (upN === upLen.length) flushUpcalls();
  if (upBytes + packet.length > upData.length) {
    const bigger = new Uint8Array(Math.max(upData.length * 2, upBytes + packet.length));
    bigger.set(upData.subarray(0, upBytes));
    upData = bigger;
  }
  upData.set(packet, upBytes);
  upBytes += packet.length;
  upLen[upN] = packet.length;
  upMd.set(key.subarray(0, MD_WORDS), upN * MD_WORDS);
  upN++;
}

/* The main thread takes no offloads: a missed super-frame goes up as the segments the wire
 * would carry (each translated as it arrives there), a partial checksum completed. */
let upKey: Uint32Array = new Uint32Array(0);
const stageSegment: FrameEmit = (b, o, l) => stageUpcall(upKey, b.subarray(o, o + l));

function stageMiss(key: Uint32Array, packet: Uint8Array): void {
  if (dp.curOl0 === 0) {
    stageUpcall(key, packet);
    return;
  }
  upKey = key;
  if (finishOffload(packet, 0, packet.length, dp.curOl0, dp.curOl1, stageSegment) === 0)
    upcallDrops++;
}

function flushUpcalls(): void {
  if (upN === 0) return;
  const n = upN;
  upN = 0;
  const bytes = upBytes;
  upBytes = 0;
  if (!upRoom(n)) return;
  const ev = {
    t: 'upcall' as const,
    n,
    data: upData.slice(0, bytes),
    len: upLen.slice(0, n),
    md: upMd.slice(0, n * MD_WORDS),
  };
  post(ev, [ev.data.buffer, ev.len.buffer, ev.md.buffer] as ArrayBuffer[]);
}

/* userspace() upcalls, staged like misses: sampling ones wait (up to PMD_ACTION_DELAY_MS) for
 * more, since at 1-in-64 a burst rarely holds two; any other kind (a packet-in) goes at the end
 * of its burst. */
let actData = new Uint8Array(PMD_ACTION_BATCH * 2048);
const actLen = new Int32Array(PMD_ACTION_BATCH);
const actKeys = new Uint32Array(PMD_ACTION_BATCH * FLOW_WORDS);
const actIds = new Int32Array(PMD_ACTION_BATCH);
let actN = 0;
let actBytes = 0;
let actUrgent = false;
let actTimer: NodeJS.Timeout | null = null;
let actIdOf = new WeakMap<UserspaceAction, number>();
let nextActId = 1;
let actDefs: UserspaceDef[] | null = null;
let actReset = false;

/** Forgets every action number; the next message tells the main thread to do the same. */
function resetActionIds(): void {
  actIdOf = new WeakMap();
  nextActId = 1;
  actDefs = null;
  actReset = true;
}

/* userspace() on a frame with offloads: a packet-in gets every segment (what the wire would
 * carry); a sample gets the first only (the datapath sampled the super-frame once). */
let olAction: UserspaceAction | null = null;
let olKey: Uint32Array = new Uint32Array(0);
let olFirstOnly = false;
let olEmitted = 0;
const stageActionSegment: FrameEmit = (b, o, l) => {
  if (olFirstOnly && olEmitted > 0) return;
  olEmitted++;
  stageActionFrame(olAction as UserspaceAction, b, o, l, olKey);
};

function stageAction(
  action: UserspaceAction,
  frame: Uint8Array,
  off: number,
  len: number,
  key: Uint32Array,
): void {
  if (dp.curOl0 === 0) {
    stageActionFrame(action, frame, off, len, key);
    return;
  }
  const kind = action.cookie?.kind;
  olAction = action;
  olKey = key;
  olFirstOnly = kind === 'sflow' || kind === 'ipfix' || kind === 'flow_sample';
  olEmitted = 0;
  // The frame is the datapath's: finish a copy, not the packet that goes on forwarding.
  const copy = frame.slice(off, off + len);
  finishOffload(copy, 0, len, dp.curOl0, dp.curOl1, stageActionSegment);
  olAction = null;
}

function stageActionFrame(
  action: UserspaceAction,
  frame: Uint8Array,
  off: number,
  len: number,
  key: Uint32Array,
): void {
  if (actN === PMD_ACTION_BATCH) flushActions();
  let id = actIdOf.get(action);
  if (id === undefined) {
    if (nextActId > PMD_MAX_ACTION_IDS) {
      flushActions();
      resetActionIds();
    }
    id = nextActId++;
    actIdOf.set(action, id);
    if (actDefs === null) actDefs = [];
    actDefs.push([id, action]);
  }
  if (actBytes + len > actData.length) {
    const bigger = new Uint8Array(Math.max(actData.length * 2, actBytes + len));
    bigger.set(actData.subarray(0, actBytes));
    actData = bigger;
  }
  actData.set(frame.subarray(off, off + len), actBytes);
  actBytes += len;
  actLen[actN] = len;
  actIds[actN] = id;
  actKeys.set(key.subarray(0, FLOW_WORDS), actN * FLOW_WORDS);
  actN++;
  const kind = action.cookie?.kind;
  if (kind !== 'sflow' && kind !== 'ipfix' && kind !== 'flow_sample') actUrgent = true;
  else if (actTimer === null) actTimer = setTimeout(flushActions, PMD_ACTION_DELAY_MS);
}

function flushActions(): void {
  if (actTimer !== null) {
    clearTimeout(actTimer);
    actTimer = null;
  }
  actUrgent = false;
  if (actN === 0) return;
  const n = actN;
  actN = 0;
  const bytes = actBytes;
  actBytes = 0;
  if (!upRoom(n)) {
    // The numbers this message would have defined are lost with it: start over.
    resetActionIds();
    return;
  }
  const ev = {
    t: 'actions' as const,
    n,
    data: actData.slice(0, bytes),
    len: actLen.slice(0, n),
    keys: actKeys.slice(0, n * FLOW_WORDS),
    acts: actIds.slice(0, n),
    defs: actDefs,
    reset: actReset,
  };
  actDefs = null;
  actReset = false;
  post(ev, [ev.data.buffer, ev.len.buffer, ev.keys.buffer, ev.acts.buffer] as ArrayBuffer[]);
}

function pack(batch: TxBatch): PackedFrames {
  let bytes = 0;
  for (let i = 0; i < batch.count; i++) bytes += batch.len[i];
  const out = new Uint8Array(bytes);
  const len = new Int32Array(batch.count);
  let o = 0;
  for (let i = 0; i < batch.count; i++) {
    const l = batch.len[i];
    out.set(batch.frames[i].subarray(batch.off[i], batch.off[i] + l), o);
    len[i] = l;
    o += l;
  }
  return { n: batch.count, data: out, len };
}

/* Output to a main-thread port, offloads finished first (the main thread takes none). */
let outPort = 0;
const outFinisher = new OffloadFinisher((batch) => {
  if (!upRoom(batch.count)) return;
  const f = pack(batch);
  post({ t: 'out', port: outPort, ...f }, [
    f.data.buffer as ArrayBuffer,
    f.len.buffer as ArrayBuffer,
  ]);
});

const dp: DpNetdev = new DpNetdev({
  io: {
    send(port, batch) {
      const p = ports.get(port);
      if (p !== undefined) {
        p.send(batch);
        return;
      }
      // A port of the main thread's (dummy, or one being added): the main thread sends it.
      outPort = port;
      outFinisher.sendBatch(batch);
    },
  },
  upcall: {
    miss(up) {
      stageMiss(up.key, up.packet);
      return PUNT;
    },
    actionInPlace: stageAction,
    other(action, packet, key) {
      if (!upRoom(1)) return;
      post({ t: 'other', action, key: Uint32Array.from(key), packet });
    },
  },
  // The main thread enforces the flow limit; the replica takes whatever it is told.
  flowLimit: 0x7fffffff,
  emcInsertInvProb: data.emcInsertInvProb,
});

/* Received frames, copied into one batch per burst (ring and TAP buffers are reused). */
const rxBatch = new PacketBatch();

function rxFlush(): void {
  if (rxBatch.count === 0) return;
  try {
    dp.input(rxBatch);
  } catch (err) {
    log.errRl(`PMD forwarding failed: ${(err as Error).stack ?? err}`);
  }
  rxBatch.clear();
  flushUpcalls();
  if (actUrgent) flushActions();
}

function sinkFor(portNo: number): NetdevRxSink {
  return {
    receive(frame, off, len) {
      if (rxBatch.full) rxFlush();
      rxBatch.add(frame, off, len, portNo);
    },
    receiveOffload(frame, off, len, ol0, ol1) {
      if (rxBatch.full) rxFlush();
      const i = rxBatch.add(frame, off, len, portNo);
      if (i >= 0) rxBatch.setOffload(i, ol0, ol1);
    },
    flush: rxFlush,
  };
}

function openPort(port: number, cmd: Extract<PmdCommand, { op: 'port-add' }>['spec']): void {
  try {
    ports.set(port, PmdPort.open(cmd, sinkFor(port)));
  } catch (err) {
    post({ t: 'port-error', port, message: (err as Error)?.message ?? String(err) });
  }
}

const lastPort = new Map<number, Float64Array>();

/* Flow deltas are written here, then copied out at their size (the message takes a copy). */
let flowVals = new Float64Array(1024 * FLOW_STAT_WORDS);

/** Deltas of every flow whose counters moved since the last call. */
function flowDeltas(): Float64Array {
  let o = 0;
  for (const [id, t] of tracked) {
    const f = t.flow;
    if (f.packets === t.packets && f.used === t.used && f.tcpFlags === t.tcpFlags) continue;
    if (o + FLOW_STAT_WORDS > flowVals.length) {
      const bigger = new Float64Array(flowVals.length * 2);
      bigger.set(flowVals);
      flowVals = bigger;
    }
    flowVals[o] = id;
    flowVals[o + 1] = f.packets - t.packets;
    flowVals[o + 2] = f.bytes - t.bytes;
    flowVals[o + 3] = f.used;
    flowVals[o + 4] = f.tcpFlags;
    o += FLOW_STAT_WORDS;
    t.packets = f.packets;
    t.bytes = f.bytes;
    t.used = f.used;
    t.tcpFlags = f.tcpFlags;
  }
  return flowVals.slice(0, o);
}

const NO_FLOWS = new Float64Array(0);
let pushes = 0;

/** Statistics since the last event; with many flows, theirs only when asked (seq) or every few
 * periodic pushes. */
function statsEvent(seq: number): PmdEvent {
  const withFlows =
    seq !== 0 || tracked.size <= PMD_FLOW_STATS_FEW || ++pushes % PMD_FLOW_STATS_EVERY === 0;
  const flows = withFlows ? flowDeltas() : NO_FLOWS;
  const dpDelta = new Float64Array(DP_STAT_NAMES.length);
  for (let i = 0; i < DP_STAT_NAMES.length; i++) {
    const k = DP_STAT_NAMES[i];
    dpDelta[i] = dp.stats[k];
    dp.stats[k] = 0;
  }
  const pv: number[] = [];
  const numbers = new Set<number>([...ports.keys(), ...lastPort.keys()]);
  for (const port of numbers) {
    const s = dp.portStats(port);
    const c = ports.get(port)?.counters() ?? { txDropped: 0, rxDropped: 0 };
    const now = [
      s.rxPackets,
      s.rxBytes,
      s.txPackets,
      s.txBytes,
      s.txDropped,
      c.txDropped,
      c.rxDropped,
    ];
    const last = lastPort.get(port) ?? new Float64Array(now.length);
    let any = false;
    for (let i = 0; i < now.length; i++) if (now[i] !== last[i]) any = true;
    if (!any) continue;
    pv.push(port);
    for (let i = 0; i < now.length; i++) pv.push(now[i] - last[i]);
    lastPort.set(port, Float64Array.from(now));
  }
  const ev: PmdEvent = {
    t: 'stats',
    seq,
    flows,
    dp: dpDelta,
    ports: Float64Array.from(pv),
    upcallDrops,
    putErrors,
  };
  upcallDrops = 0;
  putErrors = 0;
  return ev;
}

function pushStats(seq: number): void {
  const ev = statsEvent(seq);
  if (ev.t === 'stats' && seq === 0 && ev.flows.length === 0 && ev.ports.length === 0) {
    // Nothing moved: skip the periodic message, unless lookup counters did.
    let moved = ev.upcallDrops !== 0 || ev.putErrors !== 0;
    for (let i = 0; i < ev.dp.length && !moved; i++) if (ev.dp[i] !== 0) moved = true;
    if (!moved) return;
  }
  post(ev);
}

function unpackTx(cmd: PackedFrames): TxBatch {
  const frames: Uint8Array[] = new Array(cmd.n).fill(cmd.data);
  const off = new Int32Array(cmd.n);
  let o = 0;
  for (let i = 0; i < cmd.n; i++) {
    off[i] = o;
    o += cmd.len[i];
  }
  return { frames, off, len: cmd.len, count: cmd.n };
}

function modify(id: number, actions: OdpActions, zeroStats: boolean): void {
  const t = tracked.get(id);
  if (t === undefined || !dp.flowModify(t.flow.ufid, actions)) {
    putErrors++;
    return;
  }
  if (zeroStats) {
    const f = t.flow;
    f.packets = f.bytes = f.used = f.tcpFlags = 0;
    t.packets = t.bytes = t.used = t.tcpFlags = 0;
  }
}

function apply(cmd: PmdCommand): void {
  switch (cmd.op) {
    case 'put': {
      const r = dp.flowPut({
        key: cmd.key,
        mask: cmd.mask,
        actions: cmd.actions,
        ufid: cmd.ufid,
        create: true,
      });
      if (r.ok) {
        tracked.set(cmd.id, { flow: r.flow, packets: 0, bytes: 0, used: 0, tcpFlags: 0 });
      } else {
        putErrors++;
      }
      return;
    }
    case 'modify':
      modify(cmd.id, cmd.actions, cmd.zeroStats);
      return;
    case 'del': {
      const t = tracked.get(cmd.id);
      if (t === undefined) {
        putErrors++;
        return;
      }
      // Hits since the last push are not credited: the main thread's flow is gone already.
      tracked.delete(cmd.id);
      dp.flowDel(t.flow);
      return;
    }
    case 'flush':
      tracked.clear();
      dp.flowFlush();
      return;
    case 'tx': {
      try {
        const b = unpackTx(cmd);
        const p = ports.get(cmd.port);
        if (p !== undefined) p.send(b);
      } finally {
        Atomics.add(shared, TX_DONE, 1);
      }
      return;
    }
    case 'port-add':
      openPort(cmd.port, cmd.spec);
      return;
    case 'port-update': {
      ports.get(cmd.port)?.close();
      ports.delete(cmd.port);
      openPort(cmd.port, cmd.spec);
      return;
    }
    case 'port-del': {
      rxFlush();
      ports.get(cmd.port)?.close();
      ports.delete(cmd.port);
      post({ t: 'port-closed', port: cmd.port });
      return;
    }
    case 'stats':
      // A sync brings in the samples held back too (they are older than its answer).
      flushActions();
      pushStats(cmd.seq);
      return;
    case 'emc':
      dp.emcInsertInvProb = cmd.insertInvProb;
      return;
    case 'vlan-limit':
      setFlowVlanLimit(cmd.limit);
      return;
    case 'exit':
      for (const p of ports.values()) p.close();
      ports.clear();
      clearInterval(timer);
      parent.close();
      return;
  }
}

parent.on('message', (cmds: PmdCommand[]) => {
  for (const c of cmds) {
    try {
      apply(c);
    } catch (err) {
      log.errRl(`PMD command ${c.op} failed: ${(err as Error).stack ?? err}`);
    }
  }
});

const timer = setInterval(() => pushStats(0), PMD_STATS_INTERVAL_MS);
post({ t: 'ready' });
