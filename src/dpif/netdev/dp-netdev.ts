/*
 * The userspace datapath's forwarding engine (OVS's lib/dpif-netdev.c, one PMD's worth):
 * batches in, flow key extraction, exact-match cache, megaflow classifier, upcall on miss,
 * action execution grouped by flow, per-port output batches, recirculation, per-flow and
 * per-port statistics, and the flow table API the revalidator and dpctl commands use
 * (put / get / del / dump / flush, idle expiry).
 *
 * The port layer plugs in through two narrow interfaces given to the constructor:
 *  - DpNetdevIo.send(port, batch): transmit a batch on a datapath port (called when a
 *    port's output batch fills up and at the end of every input batch; the frames are
 *    only valid during the call);
 *  - UpcallHandler: miss() translates a packet that no megaflow covers into actions plus a
 *    wildcard mask (ofproto-dpif's job), action() receives userspace() action upcalls.
 * and feeds packets with input(batch) (PacketBatch.add(frame, off, len, inPort) per frame),
 * synchronously; a packet's last output hands its slot to the output batch in exchange for a
 * free one (no copy), so a port must not keep references to a batch's frames[] slots.
 *
 * The per-packet path allocates nothing in the steady state (all hits): keys, layer offsets
 * and the per-packet flow pointers live in arrays made once; statistics are plain numbers.
 * Time comes from an injectable clock read once per batch (lib/timeval by default, whose
 * boxed result is the one allocation per batch).
 */

import { extractFlow, N_LAYERS } from '../../lib/flow/extract.ts';
import { hashAdd, hashFinish } from '../../lib/flow/hash.ts';
import {
  FLOW_WORDS,
  type FlowKey,
  STAGE_L2,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_RECIRC_ID,
  W_TCP_FLAGS,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { slabFlowKey } from '../../lib/flow/match.ts';
import { timeMsec } from '../../lib/timeval.ts';
import { vlog } from '../../lib/vlog.ts';
import { Dpcls, type DpclsRule } from './dpcls.ts';
import { type DropReason, dropCounter } from './drop-reason.ts';
import { Emc, type EmcFlow } from './emc.ts';
import {
  formatOdpActions,
  type OdpAction,
  type OdpActionFormatOptions,
  type OdpActions,
} from './odp-actions.ts';
import { type ExecuteSink, OdpExecutor } from './odp-execute.ts';
import { formatOdpFlow, type OdpFlowFormatOptions } from './odp-key.ts';
import { DEFAULT_SLOT_SIZE, MD_WORDS, NETDEV_MAX_BURST, PacketBatch } from './packet-batch.ts';

const log = vlog('dpif_netdev');

/** OVS's MAX_FLOWS per PMD thread. */
export const DEFAULT_FLOW_LIMIT = 65536;
/** How many times a packet may recirculate (OVS's MAX_RECIRC_DEPTH). */
export const MAX_RECIRC_DEPTH = 6;

export interface DpNetdevIo {
  /** Transmits batch.count frames on datapath port `port`. Frames are valid during the call. */
  send(port: number, batch: PacketBatch): void;
}

export interface MissUpcall {
  /** The packet's flow key (metadata included). Valid only during the call. */
  readonly key: FlowKey;
  /** The packet's bytes. Valid only during the call. */
  readonly packet: Uint8Array;
}

export interface UpcallResult {
  readonly actions: OdpActions;
  /** The megaflow's mask (every bit the translation looked at), or null not to install. */
  readonly mask: FlowKey | null;
  readonly ufid?: string;
  /** Why an empty action list drops (OVS's explicit drop action); default of_pipeline. */
  readonly dropReason?: DropReason;
}

export interface ActionUpcall {
  readonly action: Extract<OdpAction, { type: 'userspace' }>;
  /** Copies, owned by the receiver. */
  readonly key: Uint32Array;
  readonly packet: Uint8Array;
}

export interface UpcallHandler {
  /** A packet no megaflow covers; null drops it (counted as lost). */
  miss(up: MissUpcall): UpcallResult | null;
  /** A userspace() action ran. */
  action?(up: ActionUpcall): void;
  /**
   * A userspace() action ran, the packet and key handed over in place (valid only during the
   * call): for a handler that copies them into batches of its own (the PMD worker), which
   * saves the two copies action() gets. Used instead of action() when present.
   */
  actionInPlace?(
    action: Extract<OdpAction, { type: 'userspace' }>,
    frame: Uint8Array,
    off: number,
    len: number,
    key: FlowKey,
  ): void;
  /** The megaflow for the last miss was installed. */
  installed?(flow: DpFlow): void;
  /** tnl_pop / lb_output / push_eth / pop_eth, if the port layer handles them. */
  other?(action: OdpAction, packet: Uint8Array, key: FlowKey): void;
}

/** One megaflow. Stats are updated in place by the forwarding loop. */
export class DpFlow implements DpclsRule, EmcFlow {
  /** The key of the packet that created it (values under partial masks are shown as-is). */
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
  readonly maskedKey: Uint32Array;
  actions: OdpActions;
  packets = 0;
  bytes = 0;
  /** Time of the last hit (clock ms), 0 = never. */
  used = 0;
  tcpFlags = 0;
  dead = false;
  /** The reason its packets are dropped when its action list is empty (drop_action_*). */
  dropReason: DropReason | undefined = undefined;
  /** The upcall layer's record of what this flow's translation did (its xlate cache), kept
   * on the flow so the revalidator finds it without a look-up; opaque to the datapath. */
  xcache: unknown = undefined;
  /** Datapath-internal: the batch generation and per-flow group this flow was last put in
   * (OVS's flow->batch), so grouping a batch by flow is O(n). */
  batchGen = 0;
  batchGroup = 0;
  constructor(
    readonly ufid: string,
    key: FlowKey,
    mask: FlowKey,
    actions: OdpActions,
    readonly created: number,
    /** key & mask when the caller has it already (taken over, not copied). */
    maskedKey?: Uint32Array,
  ) {
    this.key = Uint32Array.from(key);
    this.mask = Uint32Array.from(mask);
    if (maskedKey !== undefined && maskedKey.length === FLOW_WORDS) {
      this.maskedKey = maskedKey;
    } else {
      this.maskedKey = new Uint32Array(FLOW_WORDS);
      for (let i = 0; i < FLOW_WORDS; i++) this.maskedKey[i] = (key[i] & mask[i]) >>> 0;
    }
    this.actions = actions;
  }
}

export interface PortStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Frames that did not fit an output slot (larger than the datapath's slot size). */
  txDropped: number;
}

export interface DpStats {
  /** Packets that hit a cached flow (EMC or megaflow). */
  hit: number;
  missed: number;
  lost: number;
  emcHit: number;
  megaflowHit: number;
  /** Subtables visited by megaflow lookups (OVS's "masks: hit"). */
  masksHit: number;
  upcalls: number;
  recirculations: number;
}

export type FlowPutError = 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EFBIG';

/**
 * Told of every change to the flow table, in order, right after it happened: how a replica of
 * the table (the PMD worker's, pmd-thread.ts) is kept in step with this one.
 */
export interface DpFlowListener {
  put(flow: DpFlow): void;
  /** The flow's actions changed; `zeroStats` when a put asked to zero its statistics. */
  modify(flow: DpFlow, zeroStats: boolean): void;
  del(flow: DpFlow): void;
  flush(): void;
}

export interface FlowPut {
  readonly key: FlowKey;
  readonly mask: FlowKey;
  readonly actions: OdpActions;
  readonly ufid?: string;
  /** As OVS's DPIF_FP_CREATE / MODIFY / ZERO_STATS. Default: create only. */
  readonly create?: boolean;
  readonly modify?: boolean;
  readonly zeroStats?: boolean;
}

export type FlowPutResult =
  | { readonly ok: true; readonly flow: DpFlow; readonly created: boolean }
  | { readonly ok: false; readonly error: FlowPutError };

export interface DpNetdevOptions {
  readonly io: DpNetdevIo;
  readonly upcall: UpcallHandler;
  /** Milliseconds; default timeMsec (lib/timeval: warpable by time/warp). */
  readonly now?: () => number;
  readonly flowLimit?: number;
  /** Seed for sample() and EMC insertion decisions. */
  readonly seed?: number;
  /** other_config:emc-insert-inv-prob (0 disables the EMC). */
  readonly emcInsertInvProb?: number;
  readonly slotSize?: number;
  /** Megaflow lookups between re-sorts of the subtables by hits (default 65536); they are
   * also re-sorted every second of the clock, as OVS does. */
  readonly resortInterval?: number;
}

/* Two hex digits per byte value, so a ufid is formatted by table look-ups. */
const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push(i.toString(16).padStart(2, '0'));

function hex16(v: number): string {
  return HEX2[(v >>> 8) & 255] + HEX2[v & 255];
}

/** A 128-bit id for a megaflow derived from its mask and masked key, UUID-formatted. */
export function ufidOf(maskedKey: Uint32Array, mask: Uint32Array): string {
  // Four hashes of maskedKey ++ mask with different bases, run side by side in one pass.
  let h1 = Math.imul(1, 0x9e3779b1);
  let h2 = Math.imul(2, 0x9e3779b1);
  let h3 = Math.imul(3, 0x9e3779b1);
  let h4 = Math.imul(4, 0x9e3779b1);
  for (let pass = 0; pass < 2; pass++) {
    const a = pass === 0 ? maskedKey : mask;
    for (let i = 0; i < FLOW_WORDS; i++) {
      const w = a[i];
      h1 = hashAdd(h1, w);
      h2 = hashAdd(h2, w);
      h3 = hashAdd(h3, w);
      h4 = hashAdd(h4, w);
    }
  }
  const n = FLOW_WORDS * 2;
  const x1 = (hashFinish(h1, n) * 4 + 1) >>> 0;
  const x2 = (hashFinish(h2, n) * 4 + 2) >>> 0;
  const x3 = (hashFinish(h3, n) * 4 + 3) >>> 0;
  const x4 = (hashFinish(h4, n) * 4 + 4) >>> 0;
  return (
    `${hex16(x1 >>> 16)}${hex16(x1)}-${hex16(x2 >>> 16)}-${hex16(x2)}-` +
    `${hex16(x3 >>> 16)}-${hex16(x3)}${hex16(x4 >>> 16)}${hex16(x4)}`
  );
}

export class DpNetdev {
  private readonly io: DpNetdevIo;
  private readonly handler: UpcallHandler;
  private readonly now: () => number;
  flowLimit: number;
  private readonly cls = new Dpcls<DpFlow>();
  private readonly emc = new Emc<DpFlow>();
  private readonly byUfid = new Map<string, DpFlow>();
  private readonly executor: OdpExecutor;
  readonly stats: DpStats = {
    hit: 0,
    missed: 0,
    lost: 0,
    emcHit: 0,
    megaflowHit: 0,
    masksHit: 0,
    upcalls: 0,
    recirculations: 0,
  };
  private readonly ports = new Map<number, PortStats>();
  private readonly tx = new Map<number, PacketBatch>();
  /* Ports with queued output, as a fixed array and a count (no reallocation per batch). */
  private txDirty: PacketBatch[] = [];
  private nTxDirty = 0;
  private readonly txPort = new Map<PacketBatch, number>();
  private readonly slotSize: number;

  /* Per-packet scratch, made once. */
  private readonly keys: Uint32Array[] = [];
  private readonly layers: Int32Array[] = [];
  private readonly hashes = new Int32Array(NETDEV_MAX_BURST);
  /* The batch's hits grouped per flow (OVS's packet_batch_per_flow): group g runs flow
   * groupFlow[g] on packets groupHead[g], next[...], ... in arrival order. */
  private readonly groupFlow: Array<DpFlow | null> = new Array(NETDEV_MAX_BURST).fill(null);
  private readonly groupHead = new Int32Array(NETDEV_MAX_BURST);
  private readonly groupTail = new Int32Array(NETDEV_MAX_BURST);
  private readonly next = new Int32Array(NETDEV_MAX_BURST);
  private batchGen = 0;
  /** The drop reason the last miss upcall gave (for counting its own packet). */
  private missDropReason: DropReason | undefined = undefined;
  private readonly missMask = new Uint32Array(FLOW_WORDS);
  /* Recirculated packets, one batch per depth. */
  private readonly recirc: PacketBatch[] = [];
  private recircDepth = 0;
  private lastPort = -1;
  private lastPortStats: PortStats | null = null;
  private lastTx: PacketBatch | null = null;
  private executeBatch: PacketBatch | null = null;
  private lastTxPort = -1;
  private busy = false;
  private lastResort = 0;
  /* The frames array and index of the packet being executed (for slot hand-over). */
  private curFrames: Uint8Array[] | null = null;
  private curIdx = 0;
  private readonly deferred: PacketBatch[] = [];
  /** Whether received packets count in the ports' rx statistics (not for packets another
   * thread already counted, see inputUpcalled). */
  private countRxOn = true;
  /** Replicas of the flow table to keep in step (the PMD worker). */
  flowListener: DpFlowListener | null = null;
  /**
   * The offload words (src/netdev/offload.ts) of the packet being missed or executed: they
   * follow it into output and recirculation batches, and an upcall handler that hands the
   * packet to something that cannot take offloads reads them here. 0 for ordinary frames.
   */
  curOl0 = 0;
  curOl1 = 0;

  constructor(opts: DpNetdevOptions) {
    this.io = opts.io;
    this.handler = opts.upcall;
    this.now = opts.now ?? timeMsec;
    this.flowLimit = opts.flowLimit ?? DEFAULT_FLOW_LIMIT;
    this.slotSize = opts.slotSize ?? DEFAULT_SLOT_SIZE;
    if (opts.emcInsertInvProb !== undefined) this.emc.insertInvProb = opts.emcInsertInvProb;
    if (opts.resortInterval !== undefined) this.cls.sortInterval = Math.max(1, opts.resortInterval);
    for (let i = 0; i < NETDEV_MAX_BURST; i++) {
      this.keys.push(new Uint32Array(FLOW_WORDS));
      this.layers.push(new Int32Array(N_LAYERS));
    }
    for (let d = 0; d <= MAX_RECIRC_DEPTH; d++)
      this.recirc.push(new PacketBatch(NETDEV_MAX_BURST, this.slotSize));
    const sink: ExecuteSink = {
      output: (port, frame, off, len, _key, final) =>
        this.queueOutput(port, frame, off, len, final),
      userspace: (action, frame, off, len, key) => {
        const h = this.handler;
        if (h.actionInPlace !== undefined) {
          h.actionInPlace(action, frame, off, len, key);
          return;
        }
        if (h.action === undefined) return;
        // A slab key rather than slice(): a malloc'd 392-byte copy per packet-out's upcall.
        const copy = slabFlowKey();
        copy.set(key.subarray(0, FLOW_WORDS));
        h.action({ action, key: copy, packet: frame.slice(off, off + len) });
      },
      recirculate: (frame, off, len, key) => this.queueRecirc(frame, off, len, key),
      other: (action, frame, off, len, key) =>
        this.handler.other?.(action, frame.slice(off, off + len), key),
    };
    this.executor = new OdpExecutor(sink, opts.seed, this.slotSize);
  }

  /** emc-insert-inv-prob: 0 disables the EMC, 1 inserts every miss. */
  set emcInsertInvProb(v: number) {
    this.emc.insertInvProb = v;
  }

  get flowCount(): number {
    return this.byUfid.size;
  }

  /** Number of megaflow subtables (distinct masks). */
  get maskCount(): number {
    return this.cls.subtables.length;
  }

  portStats(port: number): PortStats {
    let s = this.ports.get(port);
    if (s === undefined) {
      s = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
      this.ports.set(port, s);
    }
    return s;
  }

  /* ---------------------------------------------------------------------------------- */
  /* Forwarding. */

  /** Processes a received batch (each packet's in_port in its metadata) and transmits. */
  input(batch: PacketBatch): void {
    if (this.busy) {
      // Called back from send() or an upcall (a port looping frames back): run it after the
      // current batch instead of corrupting its state. Rare, so a copy is fine here.
      const copy = new PacketBatch(batch.count || 1, this.slotSize);
      for (let i = 0; i < batch.count; i++) {
        const j = copy.addBytes(
          batch.frames[i],
          batch.off[i],
          batch.len[i],
          batch.md,
          i * MD_WORDS,
          batch.mdSet[i] !== 0,
        );
        if (j >= 0) copy.setOffload(j, batch.ol[2 * i], batch.ol[2 * i + 1]);
      }
      this.deferred.push(copy);
      return;
    }
    this.busy = true;
    try {
      this.inputNow(batch);
      // Bounded: a port that loops back forever is cut off after a few rounds.
      for (let round = 0; round < 64 && this.deferred.length > 0; round++) {
        const next = this.deferred.shift();
        if (next !== undefined) this.inputNow(next);
      }
      if (this.deferred.length > 0) {
        for (const b of this.deferred) this.stats.lost += b.count;
        this.deferred.length = 0;
      }
    } finally {
      this.busy = false;
    }
  }

  private inputNow(batch: PacketBatch): void {
    this.recircDepth = 0;
    this.processBatch(batch);
    // Recirculated packets run as further batches, bounded by depth.
    for (let d = 0; d < MAX_RECIRC_DEPTH; d++) {
      const rb = this.recirc[d];
      if (rb.count === 0) break;
      this.recircDepth = d + 1;
      this.processBatch(rb);
      rb.clear();
    }
    this.recirc[MAX_RECIRC_DEPTH].clear();
    this.recircDepth = 0;
    this.flushTx();
  }

  private processBatch(batch: PacketBatch): void {
    const n = batch.count;
    const now = this.now();
    const st = this.stats;
    // Like OVS's PMD, re-order the subtables by hits about once a second.
    if (now - this.lastResort >= 1000 || now < this.lastResort) {
      this.lastResort = now;
      this.cls.resort();
    }
    // Never 0, so a new flow (batchGen 0) is never taken for a member of this batch.
    this.batchGen = (this.batchGen % 0x3fffffff) + 1;
    const gen = this.batchGen;
    let nGroups = 0;
    const groupFlow = this.groupFlow;
    const groupHead = this.groupHead;
    const groupTail = this.groupTail;
    const next = this.next;
    for (let i = 0; i < n; i++) {
      const key = this.keys[i];
      const off = batch.off[i];
      const len = batch.len[i];
      const md = i * MD_WORDS;
      const inPort = batch.md[md];
      extractFlow(batch.frames[i], off, len, inPort, key, this.layers[i]);
      const hasMd = batch.mdSet[i] !== 0;
      if (hasMd) for (let w = 1; w < STAGE_L2; w++) key[w] = batch.md[md + w];
      const hash = emcHash(key, hasMd);
      this.hashes[i] = hash;
      let flow = this.emc.lookup(key, hash, hasMd);
      if (flow !== null) {
        st.emcHit++;
      } else {
        const before = this.cls.subtablesVisited;
        flow = this.cls.lookup(key);
        st.masksHit += this.cls.subtablesVisited - before;
        if (flow !== null) {
          st.megaflowHit++;
          this.emc.probabilisticInsert(key, hash, flow);
        }
      }
      if (flow === null) {
        // As in OVS, the packet that caused the upcall runs its actions at once and is not
        // counted in the new megaflow's statistics; later packets of the batch hit the flow.
        st.missed++;
        this.countRx(inPort, len);
        this.curOl0 = batch.ol[2 * i];
        this.curOl1 = batch.ol[2 * i + 1];
        const acts = this.handleMiss(batch, i, key);
        if (acts !== null && acts.length === 0) dropCounter(this.missDropReason).inc();
        if (acts !== null) {
          this.curFrames = batch.frames;
          this.curIdx = i;
          this.executor.load(batch.frames[i], off, len, key, this.layers[i]);
          this.executor.execute(acts);
          this.curFrames = null;
        }
        continue;
      }
      st.hit++;
      next[i] = -1;
      if (flow.batchGen === gen) {
        const g = flow.batchGroup;
        next[groupTail[g]] = i;
        groupTail[g] = i;
      } else {
        flow.batchGen = gen;
        flow.batchGroup = nGroups;
        groupFlow[nGroups] = flow;
        groupHead[nGroups] = i;
        groupTail[nGroups] = i;
        nGroups++;
      }
      flow.packets++;
      flow.bytes += len;
      flow.used = now;
      flow.tcpFlags |= key[W_TCP_FLAGS] & 0xfff;
      this.countRx(inPort, len);
    }
    // Execute grouped by flow (in order of each flow's first packet), keeping each flow's
    // packets in arrival order.
    const frames = batch.frames;
    const ol = batch.olAny ? batch.ol : null;
    for (let g = 0; g < nGroups; g++) {
      const f = groupFlow[g] as DpFlow;
      const acts = f.actions;
      // Out of the batch now, so that no later generation number can alias this one.
      f.batchGen = 0;
      groupFlow[g] = null;
      if (acts.length === 0) {
        let c = 0;
        for (let j = groupHead[g]; j >= 0; j = next[j]) c++;
        dropCounter(f.dropReason).inc(c);
      }
      for (let j = groupHead[g]; j >= 0; j = next[j]) {
        this.curFrames = frames;
        this.curIdx = j;
        if (ol !== null) {
          this.curOl0 = ol[2 * j];
          this.curOl1 = ol[2 * j + 1];
        }
        this.executor.load(frames[j], batch.off[j], batch.len[j], this.keys[j], this.layers[j]);
        this.executor.execute(acts);
      }
    }
    this.curFrames = null;
    this.curOl0 = 0;
    this.curOl1 = 0;
  }

  /**
   * Runs `actions` on one packet as if it had arrived on `inPort` (OVS's dpif_execute: how
   * packet-outs and userspace-handled packets reach the wire). Not counted as received.
   */
  execute(packet: Uint8Array, inPort: number, actions: OdpActions): void {
    if (this.busy) {
      // From inside a batch (an upcall): queue it as an input the loop runs next would
      // re-translate it, so run it on a private executor path instead, after the batch.
      queueMicrotask(() => this.execute(packet, inPort, actions));
      return;
    }
    // One batch serves every packet-out that fits a slot (a controller may send tens of
    // thousands a second); execute() never re-enters while it is in use (busy above).
    let b: PacketBatch;
    if (packet.length + 64 > this.slotSize) b = new PacketBatch(1, packet.length + 64);
    else {
      b = this.executeBatch ??= new PacketBatch(1, this.slotSize);
      b.clear();
    }
    if (b.add(packet, 0, packet.length, inPort) < 0) return;
    this.curOl0 = 0;
    this.curOl1 = 0;
    this.busy = true;
    try {
      const key = this.keys[0];
      extractFlow(b.frames[0], 0, packet.length, inPort, key, this.layers[0]);
      this.curFrames = b.frames;
      this.curIdx = 0;
      this.executor.load(b.frames[0], 0, packet.length, key, this.layers[0]);
      this.executor.execute(actions);
      this.curFrames = null;
      this.flushTx();
    } finally {
      this.busy = false;
    }
  }

  /**
   * Processes packets another datapath thread already received, looked up and counted (its
   * misses): they count in flow statistics here, not again as received or as lookups.
   */
  inputUpcalled(batch: PacketBatch): void {
    const st = this.stats;
    const { hit, missed, emcHit, megaflowHit, masksHit } = st;
    this.countRxOn = false;
    try {
      this.input(batch);
    } finally {
      this.countRxOn = true;
      st.hit = hit;
      st.missed = missed;
      st.emcHit = emcHit;
      st.megaflowHit = megaflowHit;
      st.masksHit = masksHit;
    }
  }

  private countRx(port: number, len: number): void {
    if (!this.countRxOn) return;
    let s = this.lastPortStats;
    if (port !== this.lastPort || s === null) {
      s = this.portStats(port);
      this.lastPort = port;
      this.lastPortStats = s;
    }
    s.rxPackets++;
    s.rxBytes += len;
  }

  /* Upcalls a missed packet and installs the megaflow; returns the actions to run on it, or
   * null when it is lost. */
  private handleMiss(batch: PacketBatch, i: number, key: Uint32Array): OdpActions | null {
    this.stats.upcalls++;
    const off = batch.off[i];
    const up: MissUpcall = { key, packet: batch.frames[i].subarray(off, off + batch.len[i]) };
    let r: UpcallResult | null;
    try {
      r = this.handler.miss(up);
    } catch {
      r = null;
    }
    if (r === null) {
      this.stats.lost++;
      return null;
    }
    this.missDropReason = r.dropReason;
    if (r.mask === null || this.byUfid.size >= this.flowLimit) return r.actions;
    // A scratch copy: the flow keeps its own.
    const mask = this.missMask;
    mask.set(r.mask);
    // The datapath always matches in_port and recirc_id exactly (OVS requires it).
    mask[W_IN_PORT] = 0xffffffff;
    mask[W_RECIRC_ID] = 0xffffffff;
    // An earlier upcall in this batch may have installed a flow covering this packet.
    if (this.cls.lookup(key) === null) {
      const put = this.flowPut({ key, mask, actions: r.actions, ufid: r.ufid, create: true });
      if (put.ok && put.created) {
        put.flow.dropReason = r.dropReason;
        this.handler.installed?.(put.flow);
      }
    }
    return r.actions;
  }

  private queueOutput(
    port: number,
    frame: Uint8Array,
    off: number,
    len: number,
    final: boolean,
  ): void {
    // Consecutive outputs mostly go to the same port: skip the map then.
    let b = this.lastTx;
    if (port !== this.lastTxPort || b === null) {
      b = this.tx.get(port) ?? null;
      if (b === null) {
        b = new PacketBatch(NETDEV_MAX_BURST, this.slotSize);
        this.tx.set(port, b);
        this.txPort.set(b, port);
      }
      this.lastTx = b;
      this.lastTxPort = port;
    }
    if (b.full) this.sendBatch(port, b);
    if (b.count === 0) {
      if (this.nTxDirty === this.txDirty.length) this.txDirty.push(b);
      else this.txDirty[this.nTxDirty] = b;
      this.nTxDirty++;
    }
    const cur = this.curFrames;
    if (
      final &&
      cur !== null &&
      cur[this.curIdx] === frame &&
      frame.length === b.frames[b.count].length
    ) {
      // The packet's last use: hand its slot to the output batch and take that batch's
      // free slot in exchange, instead of copying the bytes. Only for a slot of the same size
      // (grown slots go with grown slots), so that no batch ends up short of room.
      const i = b.count;
      cur[this.curIdx] = b.adopt(frame, off, len, this.executor.root.key[W_IN_PORT]);
      if (this.curOl0 !== 0) b.setOffload(i, this.curOl0, this.curOl1);
      return;
    }
    const i = b.addBytes(frame, off, len, this.executor.root.key, 0, false);
    if (i < 0) this.portStats(port).txDropped++;
    else if (this.curOl0 !== 0) b.setOffload(i, this.curOl0, this.curOl1);
  }

  private sendBatch(port: number, b: PacketBatch): void {
    const s = this.portStats(port);
    s.txPackets += b.count;
    for (let i = 0; i < b.count; i++) s.txBytes += b.len[i];
    try {
      this.io.send(port, b);
    } catch {
      // A failing port must not stop forwarding for the others.
    }
    b.clear();
  }

  private flushTx(): void {
    const d = this.txDirty;
    for (let i = 0; i < this.nTxDirty; i++) {
      const b = d[i];
      if (b.count > 0) this.sendBatch(this.txPort.get(b) ?? 0, b);
    }
    this.nTxDirty = 0;
  }

  private queueRecirc(frame: Uint8Array, off: number, len: number, key: FlowKey): void {
    const d = this.recircDepth;
    if (d >= MAX_RECIRC_DEPTH) {
      this.stats.lost++;
      return;
    }
    this.stats.recirculations++;
    const rb = this.recirc[d];
    const i = rb.addBytes(frame, off, len, key, 0, true);
    if (i < 0) this.stats.lost++;
    else if (this.curOl0 !== 0) rb.setOffload(i, this.curOl0, this.curOl1);
  }

  /* ---------------------------------------------------------------------------------- */
  /* The flow table (dpif flow_put / flow_get / flow_del / flow_dump / flow_flush). */

  /**
   * Installs or modifies a megaflow with OVS's semantics: a put whose masked key is covered
   * by an existing megaflow is an EEXIST (create), modifies that flow's actions (modify), or
   * is an overlap (EINVAL, neither flag); a modify with nothing there is ENOENT.
   */
  flowPut(p: FlowPut): FlowPutResult {
    const create = p.create ?? !p.modify;
    const masked = new Uint32Array(FLOW_WORDS);
    for (let i = 0; i < FLOW_WORDS; i++) masked[i] = (p.key[i] & p.mask[i]) >>> 0;
    const existing = this.cls.lookup(masked);
    if (existing === null) {
      if (!create) return { ok: false, error: 'ENOENT' };
      if (this.byUfid.size >= this.flowLimit) return { ok: false, error: 'EFBIG' };
      const ufid = p.ufid ?? ufidOf(masked, p.mask);
      if (this.byUfid.has(ufid)) return { ok: false, error: 'EEXIST' };
      const flow = new DpFlow(ufid, p.key, p.mask, p.actions, this.now(), masked);
      this.cls.insert(flow);
      this.byUfid.set(ufid, flow);
      this.flowListener?.put(flow);
      // OVS's dpif-netdev debug line for each new flow: OVS's own tests read megaflows from it.
      if (log.dbgEnabled) {
        log.dbg(
          `flow_add: ufid:${ufid} mega_ufid:${ufid} ${formatOdpFlow(p.key, p.mask)}, actions:${formatOdpActions(p.actions)}`,
        );
      }
      return { ok: true, flow, created: true };
    }
    if (p.modify) {
      existing.actions = p.actions;
      if (p.zeroStats) {
        existing.packets = 0;
        existing.bytes = 0;
        existing.used = 0;
        existing.tcpFlags = 0;
      }
      this.flowListener?.modify(existing, p.zeroStats === true);
      return { ok: true, flow: existing, created: false };
    }
    return { ok: false, error: create ? 'EEXIST' : 'EINVAL' };
  }

  flowGet(ufid: string): DpFlow | undefined {
    return this.byUfid.get(ufid);
  }

  /** The megaflow with exactly this key/mask (as given to put), if any. */
  flowFind(key: FlowKey, mask: FlowKey): DpFlow | null {
    const masked = new Uint32Array(FLOW_WORDS);
    for (let i = 0; i < FLOW_WORDS; i++) masked[i] = (key[i] & mask[i]) >>> 0;
    return this.cls.find(Uint32Array.from(mask), masked);
  }

  /** The megaflow a packet with this exact key would hit (no statistics change). */
  flowLookup(key: FlowKey): DpFlow | null {
    return this.cls.lookup(key);
  }

  flowDel(flow: DpFlow | string): DpFlow | null {
    const f = typeof flow === 'string' ? this.byUfid.get(flow) : flow;
    if (f === undefined || f.dead) return null;
    f.dead = true;
    this.cls.remove(f);
    this.byUfid.delete(f.ufid);
    this.flowListener?.del(f);
    return f;
  }

  /** Replaces a flow's actions (the revalidator's "modify"). */
  flowModify(ufid: string, actions: OdpActions): boolean {
    const f = this.byUfid.get(ufid);
    if (f === undefined) return false;
    f.actions = actions;
    this.flowListener?.modify(f, false);
    return true;
  }

  /** All megaflows, in classifier order. */
  flowDump(): DpFlow[] {
    return [...this.cls.all()];
  }

  /** Every flow, without a copy: the table must not change while this is iterated. */
  flows(): IterableIterator<DpFlow> {
    return this.byUfid.values();
  }

  flowFlush(): void {
    for (const f of this.byUfid.values()) f.dead = true;
    this.byUfid.clear();
    this.cls.clear();
    this.emc.clear();
    this.flowListener?.flush();
  }

  /** Deletes flows idle for more than `maxIdleMs` (never-used flows count from creation). */
  expireIdle(maxIdleMs: number): DpFlow[] {
    const now = this.now();
    const out: DpFlow[] = [];
    // Deleting from a Map while iterating it is well defined (deleted entries are skipped).
    for (const f of this.byUfid.values()) {
      const last = f.used || f.created;
      if (now - last > maxIdleMs) {
        this.flowDel(f);
        out.push(f);
      }
    }
    return out;
  }

  /**
   * One `dpctl/dump-flows` line for `flow`; with `verbose` the `-m` form (ufid, every key
   * attribute, dp:ovs). OVS's trailing dp-extra-info (its miniflow layout) is not printed.
   * The `dpif` form is ofproto's dpif/dump-flows: its ufid ends with a space and it names no
   * datapath.
   */
  formatFlow(
    flow: DpFlow,
    opts?: OdpFlowFormatOptions & OdpActionFormatOptions,
    form: 'dpctl' | 'dpif' = 'dpctl',
  ): string {
    const used = flow.used === 0 ? 'never' : `${((this.now() - flow.used) / 1000).toFixed(3)}s`;
    const flags = flow.tcpFlags ? `, flags:${formatTcpFlagsShort(flow.tcpFlags)}` : '';
    const v = opts?.verbose === true;
    const dpctl = form === 'dpctl';
    const ufid = v ? `ufid:${flow.ufid}${dpctl ? ', ' : ' '}` : '';
    return (
      `${ufid}${formatOdpFlow(flow.key, flow.mask, opts)}, packets:${flow.packets}, ` +
      `bytes:${flow.bytes}, used:${used}${flags}${v && dpctl ? ', dp:ovs' : ''}, actions:${formatOdpActions(flow.actions, opts)}`
    );
  }

  /** The whole `ovs-appctl dpctl/dump-flows` reply (one main-thread dump, as OVS's dummy). */
  formatDumpFlows(opts?: OdpFlowFormatOptions & OdpActionFormatOptions): string {
    // OVS prints the header with the first flow of a thread, so an empty table prints nothing.
    const flows = this.flowDump();
    if (flows.length === 0) return '';
    let s = 'flow-dump from the main thread:\n';
    for (const f of flows) s += `${this.formatFlow(f, opts)}\n`;
    return s;
  }
}

/* Words the exact-match hash always mixes: in_port and the header fields that tell flows
 * apart (addresses, types, ports). Like OVS, which uses the NIC's 5-tuple hash, the hash
 * need not cover every word: the cache compares whole keys. */
const EMC_HASH_WORDS = Int32Array.from([
  W_IN_PORT,
  W_DL_DST,
  W_DL_DST + 1,
  W_DL_SRC,
  W_DL_SRC + 1,
  W_DL_TYPE,
  W_VLAN0,
  W_MPLS0,
  W_NW_SRC,
  W_NW_DST,
  W_IPV6_SRC + 3,
  W_IPV6_DST + 3,
  W_NW,
  W_TP,
  W_ND_TARGET + 3,
]);

/**
 * The exact-match cache's hash of a key: the fixed header words above, plus every non-zero
 * metadata word (tagged by index) when the packet has metadata (`hasMd`; with all metadata
 * zero both ways give the same hash, so it is a function of the key alone). Each word is
 * mixed by xor, multiply and rotate (a third of a full Murmur round: this hash runs on every
 * packet, and the cache compares whole keys anyway), then the full finaliser spreads it.
 */
export function emcHash(key: FlowKey, hasMd: boolean): number {
  let h = 0;
  const ws = EMC_HASH_WORDS;
  for (let i = 0; i < ws.length; i++) {
    h = Math.imul(h ^ key[ws[i]], 0x9e3779b1);
    h = (h << 13) | (h >>> 19);
  }
  if (hasMd) {
    for (let i = 1; i < STAGE_L2; i++) {
      const v = key[i];
      if (v !== 0) h = hashAdd(h, (v ^ Math.imul(i, 0x9e3779b1)) | 0);
    }
  }
  return hashFinish(h, ws.length);
}

/** TCP flags as `dpctl/dump-flows` shows them after "flags:" (OVS's packet_format_tcp_flags). */
export function formatTcpFlagsShort(f: number): string {
  if (!f) return 'none';
  let s = '';
  if (f & 0x002) s += 'S';
  if (f & 0x001) s += 'F';
  if (f & 0x008) s += 'P';
  if (f & 0x004) s += 'R';
  if (f & 0x020) s += 'U';
  if (f & 0x010) s += '.';
  if (f & 0x040) s += 'E';
  if (f & 0x080) s += 'C';
  if (f & 0x100) s += 'N';
  if (f & 0x200) s += '[200]';
  if (f & 0x400) s += '[400]';
  if (f & 0x800) s += '[800]';
  return s;
}
