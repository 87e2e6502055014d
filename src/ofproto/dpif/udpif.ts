/*
 * The upcall and revalidation layer of one datapath (OVS's ofproto-dpif-upcall.c), shared by
 * every bridge on that datapath:
 *
 *  - miss upcalls: the packet's datapath key is mapped to its bridge and OpenFlow in_port,
 *    translated (xlate.ts), side effects applied (MAC learning, learned flows), and the
 *    megaflow installed with the translation's mask, unless the translation needs every
 *    packet (learn) — then the packet is handled without caching;
 *  - userspace() action upcalls: packet-ins, handed to the bridge's controller connections;
 *  - revalidation: when OpenFlow tables, ports, VLAN settings or MAC tables change, every
 *    cached megaflow is translated again from its key; flows whose actions changed are
 *    updated, flows that no longer translate are deleted; before that, their statistics are
 *    credited to the OpenFlow rules they went through and their MAC entries refreshed;
 *  - idle expiry (other_config:max-idle, 10 s by default) and the flow limit.
 *
 * Revalidation runs before the next received batch is processed and on a timer, so after a
 * change no packet is forwarded by a stale megaflow.
 */

import type { DpifNetdev } from '../../dpif/dpif-netdev.ts';
import type {
  ActionUpcall,
  DpFlow,
  MissUpcall,
  UpcallHandler,
  UpcallResult,
} from '../../dpif/netdev/dp-netdev.ts';
import type { OdpAction, UserspaceCookie } from '../../dpif/netdev/odp-actions.ts';
import { formatOdpActions } from '../../dpif/netdev/odp-actions.ts';
import { formatOdpFlow } from '../../dpif/netdev/odp-key.ts';
import type { FlowKey } from '../../lib/flow/layout.ts';
import { FLOW_WORDS, W_CT_STATE, W_IN_PORT, W_TCP_FLAGS } from '../../lib/flow/layout.ts';
import { slabFlowKey } from '../../lib/flow/match.ts';
import { type ClockTimer, every, timeMsec } from '../../lib/timeval.ts';
import { VlogRateLimit, vlog } from '../../lib/vlog.ts';
import type { FlowMod } from '../openflow/messages.ts';
import type { Ofpact } from '../openflow/ofpact.ts';
import { applyLearn } from './learn.ts';
import { NF_OUT_DROP, NF_OUT_MULTI } from './netflow-agent.ts';
import type { OfprotoDpif } from './ofproto-dpif.ts';
import { formatTrace, type TraceNode } from './xlate/trace.ts';
import {
  type ControllerCall,
  type XBridge,
  type XlateFinTimeout,
  type XlateGroupHit,
  type XlateLearn,
  type XlatePatch,
  type XlateResult,
  type XlateRuleHit,
  type XRule,
  xlate,
} from './xlate/xlate.ts';

const ofprotoLog = vlog('ofproto');
const learnLimitRl = new VlogRateLimit(1, 5);
const log = vlog('ofproto_dpif_upcall');
/* OVS logs each flow a revalidator dump returns in module "dpif" at debug level. */
const dpifLog = vlog('dpif');

export const DEFAULT_MAX_IDLE_MS = 10_000;
const TCP_FIN = 0x01;
const TCP_RST = 0x04;

/** What a bridge on this datapath offers the upcall layer. */
export interface UdpifBridge {
  readonly dpif: OfprotoDpif;
  /** Applies a learned flow (learn action). */
  learnFlow(fm: FlowMod): void;
  /** Adds datapath statistics to one of the bridge's rules. */
  creditRule(rule: XRule, packets: number, bytes: number, used: number): void;
  /** Adds statistics to a group and its bucket (index in the group's list). */
  creditGroup?(groupId: number, bucket: number, packets: number, bytes: number): void;
  /** Counts packets a patch port sent (tx) or received. */
  patchStats?(ofpPort: number, tx: boolean, packets: number, bytes: number): void;
  /** fin_timeout: shortens a rule's timeouts. */
  reduceTimeouts?(rule: XRule, idle: number, hard: number): void;
  /** A packet-in for the bridge's controllers. */
  packetIn(call: ControllerCall, packet: Uint8Array, flow: FlowKey): void;
  /** Brings the bridge's port view up to date; true if it changed. */
  refresh(): boolean;
  /**
   * NetFlow accounting of one datapath flow since the last call (final: the flow is gone).
   * Ports are OpenFlow numbers; `outPort` uses NetFlow's multi/drop codes.
   */
  netflowStats?(
    key: FlowKey,
    packets: number,
    bytes: number,
    tcpFlags: number,
    used: number,
    inPort: number,
    outPort: number,
    final: boolean,
  ): void;
  /** A packet the datapath sampled for sFlow (the userspace cookie's fields). */
  sflowSample?(
    packet: Uint8Array,
    inOdpPort: number,
    output: number,
    vid: number,
    pcp: number,
  ): void;
  /**
   * A packet the datapath sampled for IPFIX (an ipfix() or flow_sample() cookie), with the
   * actions of the megaflow it hit (null when none is installed for it).
   */
  ipfixSample?(
    packet: Uint8Array,
    inOdpPort: number,
    cookie: Extract<UserspaceCookie, { kind: 'ipfix' | 'flow_sample' }>,
    flowActions: readonly OdpAction[] | null,
  ): void;
}

/* What a megaflow's translation did that later packets must repeat (OVS's xlate cache). */
interface XCache {
  /** NetFlow's output interface of the flow (OpenFlow port or NF_OUT_* code). */
  nfOut: number;
  rules: XlateRuleHit[];
  mirrored: ReadonlyMap<string, number>;
  learns: XlateLearn[];
  finTimeouts: readonly XlateFinTimeout[];
  patches: readonly XlatePatch[];
  groups: readonly XlateGroupHit[];
  /** Flows learn() actions add: applied again on every hit (OVS's XC_LEARN). */
  flowMods: XlateResult['flowMods'];
  packets: number;
  bytes: number;
}

/** How many distinct controller calls udpif remembers before it starts afresh. */
export const MAX_CONTROLLER_CALLS = 1 << 16;

export interface ControllerCallInfo extends ControllerCall {
  /** OpenFlow metadata at the time (in_port, registers...), as a full flow key. */
  readonly flow: FlowKey;
}

/* Process-wide, as OVS's upcall/disable-megaflows: every new datapath flow then matches
 * the whole packet (an exact-match flow) instead of the translation's wildcards. */
let megaflowsEnabled = true;
let exactMask: Uint32Array | null = null;

export function setMegaflowsEnabled(on: boolean): void {
  megaflowsEnabled = on;
}

export class Udpif implements UpcallHandler {
  private readonly bridges = new Map<string, UdpifBridge>();
  /** Datapath port -> the bridge and OpenFlow port it belongs to. */
  private odpToOfp = new Map<number, { bridge: UdpifBridge; ofpPort: number }>();
  private readonly calls = new Map<string, number>();
  private readonly callById = new Map<number, ControllerCall>();
  private lastCall: { call: ControllerCall; id: number } | null = null;
  private nextCallId = 1;
  private dirty = false;
  private mapDirty = true;
  private timer: ClockTimer | null = null;
  maxIdleMs = DEFAULT_MAX_IDLE_MS;
  /** Times revalidation ran (coverage). */
  revalidations = 0;

  constructor(readonly dpif: DpifNetdev) {
    dpif.setUpcallHandler(this);
    dpif.beforeInput = () => this.revalidateIfNeeded();
  }

  addBridge(b: UdpifBridge): void {
    this.bridges.set(b.dpif.name, b);
    this.mapDirty = true;
    this.changed();
    if (!this.timer) {
      this.timer = every(500, () => this.periodic());
    }
  }

  removeBridge(name: string): void {
    this.bridges.delete(name);
    this.mapDirty = true;
    this.changed();
    if (this.bridges.size === 0 && this.timer) {
      this.timer.cancel();
      this.timer = null;
    }
  }

  bridge(name: string): XBridge | undefined {
    return this.bridges.get(name)?.dpif;
  }

  /** Brings every bridge's ports up to date (and the datapath port map with them). */
  refresh(): void {
    let any = this.mapDirty;
    this.mapDirty = false;
    for (const b of this.bridges.values()) if (b.refresh()) any = true;
    if (!any) return;
    // Patch peers may sit on a bridge that just changed.
    for (const b of this.bridges.values()) b.dpif.rebuild();
    const m = new Map<number, { bridge: UdpifBridge; ofpPort: number }>();
    for (const b of this.bridges.values())
      for (const p of b.dpif.ports.values())
        if (p.odpPort !== null) m.set(p.odpPort, { bridge: b, ofpPort: p.ofpPort });
    this.odpToOfp = m;
    this.dirty = true;
  }

  /** A bridge's ports changed: the datapath port map is rebuilt before the next use. */
  portsMoved(): void {
    this.mapDirty = true;
    this.dirty = true;
  }

  /** Something forwarding depends on changed: cached flows must be checked. */
  changed(): void {
    this.dirty = true;
  }

  /** Finds where a patch peer named `name` sits. */
  findPort(name: string): { bridge: string; ofpPort: number } | null {
    for (const b of this.bridges.values())
      for (const p of b.dpif.ports.values())
        if (p.name === name) return { bridge: b.dpif.name, ofpPort: p.ofpPort };
    return null;
  }

  /* ---------------------------------------------------------------------------------- */

  miss(up: MissUpcall): UpcallResult | null {
    try {
      return this.miss__(up);
    } catch (e) {
      log.err(`upcall failed: ${(e as Error).stack ?? e}`);
      return null;
    }
  }

  private miss__(up: MissUpcall): UpcallResult | null {
    this.refresh();
    const where = this.odpToOfp.get(up.key[W_IN_PORT]);
    if (!where) return null;
    const flow = up.key.slice();
    flow[W_IN_PORT] = where.ofpPort;
    const r = this.translate(where.bridge, flow, true, null);
    this.applySideEffects(r);
    if (r.error === 'Recursion too deep' || r.error === 'Too many resubmits')
      this.logFailedTranslation(where.bridge, flow, r.error);
    if (!megaflowsEnabled && !r.slow) {
      if (!exactMask) {
        exactMask = new Uint32Array(r.wc.length).fill(0xffffffff);
        // ct_state is 8 bits wide in a flow's mask, as in OVS (its ODP mask is then not exact).
        exactMask[W_CT_STATE] = 0xff;
      }
      r.wc.set(exactMask);
    }
    // The mask the datapath keeps owns its buffer (xlate's shares one with its flow copies).
    const mask = r.slow ? null : r.wc.slice();
    // The packet that caused the upcall runs outside any megaflow: credit it here.
    this.credit(r.rules, 1, up.packet.length, timeMsec());
    this.creditMirrors(r.mirrored, 1, up.packet.length);
    this.finTimeouts(r.finTimeouts, flow[W_TCP_FLAGS]);
    if (r.patches.length !== 0) this.creditPatches(r.patches, 1, up.packet.length);
    for (const g of r.groups)
      this.bridges.get(g.bridge)?.creditGroup?.(g.groupId, g.bucket, 1, up.packet.length);
    // The cache entry goes with the flow the datapath installs next (installed()).
    const nfOut = this.nfOutput(r.actions);
    where.bridge.netflowStats?.(
      flow,
      1,
      up.packet.length,
      flow[W_TCP_FLAGS] & 0xfff,
      timeMsec(),
      where.ofpPort,
      nfOut,
      mask === null,
    );
    this.pendingCache = mask
      ? {
          nfOut,
          rules: r.rules,
          mirrored: r.mirrored,
          learns: r.learns,
          finTimeouts: r.finTimeouts,
          flowMods: r.flowMods,
          patches: r.patches,
          groups: r.groups,
          packets: 0,
          bytes: 0,
        }
      : null;
    return { actions: r.actions, mask };
  }

  /* Set by miss() for the flow the datapath installs right after. */
  private pendingCache: XCache | null = null;

  /** NetFlow's output interface for a flow's actions (OVS's nf_output_iface). */
  private nfOutput(actions: readonly OdpAction[]): number {
    let out = NF_OUT_DROP;
    let n = 0;
    for (const a of actions) {
      if (a.type !== 'output') continue;
      n++;
      out = this.odpToOfp.get(a.port)?.ofpPort ?? NF_OUT_DROP;
    }
    return n > 1 ? NF_OUT_MULTI : out;
  }

  /* A packet with FIN or RST went through fin_timeout actions (OVS's XC_FIN_TIMEOUT). */
  private finTimeouts(fts: readonly XlateFinTimeout[], tcpFlags: number): void {
    if (fts.length === 0 || !(tcpFlags & (TCP_FIN | TCP_RST))) return;
    for (const ft of fts) this.bridges.get(ft.bridge)?.reduceTimeouts?.(ft.rule, ft.idle, ft.hard);
  }

  private creditPatches(ps: readonly XlatePatch[], packets: number, bytes: number): void {
    for (const p of ps) {
      this.bridges.get(p.bridge)?.patchStats?.(p.port, true, packets, bytes);
      this.bridges.get(p.peerBridge)?.patchStats?.(p.peerPort, false, packets, bytes);
    }
  }

  private creditMirrors(m: ReadonlyMap<string, number>, packets: number, bytes: number): void {
    for (const [bridge, bits] of m)
      this.bridges.get(bridge)?.dpif.creditMirrors(bits, packets, bytes);
  }

  private credit(
    rules: readonly XlateRuleHit[],
    packets: number,
    bytes: number,
    used: number,
  ): void {
    for (const h of rules) {
      if (h.rule.removed) continue;
      this.bridges.get(h.bridge)?.creditRule(h.rule, packets, bytes, used);
    }
  }

  action(up: ActionUpcall): void {
    this.refresh();
    const c = up.action.cookie;
    if (c?.kind === 'sflow') {
      const where = this.odpToOfp.get(up.key[W_IN_PORT]);
      where?.bridge.sflowSample?.(up.packet, up.key[W_IN_PORT], c.output, c.vid, c.pcp);
      return;
    }
    if (c?.kind === 'ipfix' || c?.kind === 'flow_sample') {
      // OVS's cookie names the bridge; ours does not. A sample ahead of an output was made by
      // the bridge owning that port (a patch peer's, past a patch port), others by in_port's.
      const b =
        this.odpToOfp.get(c.outputPort)?.bridge ?? this.odpToOfp.get(up.key[W_IN_PORT])?.bridge;
      if (!b?.ipfixSample) return;
      // OVS reads the sampled flow's actions to tell forwarded packets from dropped ones, but
      // finds them by a hash of the packet's exact flow: only a packet identical in every
      // field to the one that created the megaflow finds them.
      const f = this.dpif.dp.flowLookup(up.key);
      let same = f !== null;
      for (let i = 0; same && f && i < FLOW_WORDS; i++) same = f.key[i] === up.key[i];
      b.ipfixSample(up.packet, up.key[W_IN_PORT], c, same && f ? f.actions : null);
      return;
    }
    if (c?.kind !== 'controller') return;
    const call = this.callById.get(c.recircId);
    if (!call) return;
    const b = this.bridges.get(call.bridge);
    if (!b) return;
    const where = this.odpToOfp.get(up.key[W_IN_PORT]);
    // A slab key, not slice(): a packet-in per packet-out made a malloc'd 392-byte copy each.
    const flow = slabFlowKey();
    flow.set(up.key.subarray(0, FLOW_WORDS));
    if (where) flow[W_IN_PORT] = where.ofpPort;
    // A packet-out from CONTROLLER or NONE has no datapath port: its packet-ins name the
    // OpenFlow in_port the controller gave, as OVS's do.
    else if (this.packetOutInPort !== null) flow[W_IN_PORT] = this.packetOutInPort;
    // Registers and metadata live only in translation: the call kept them (OVS freezes them
    // in the controller action's recirculation state).
    const meta = call.meta;
    if (meta !== undefined) for (let i = 0; i < meta.length; i += 2) flow[meta[i]] = meta[i + 1];
    b.packetIn(call, up.packet, flow);
  }

  private lastFailureLog = -Infinity;

  /**
   * A translation that ran away (too deep, too many resubmits) is translated again with a
   * trace, logged whole so that the loop can be found (OVS's upcall_xlate); at most once a
   * second, as the log is huge.
   */
  private logFailedTranslation(b: UdpifBridge, flow: FlowKey, error: string): void {
    const now = timeMsec();
    if (now - this.lastFailureLog < 1000) return;
    this.lastFailureLog = now;
    const root: TraceNode[] = [];
    xlate({
      world: this,
      bridge: b.dpif,
      flow,
      sideEffects: false,
      trace: root,
      controllerId: (call) => this.registerCall(call),
    });
    log.warn(`${formatTrace(root)}\nTranslation failed (${error}), packet is dropped.`);
  }

  /** The OpenFlow in_port of the packet-out being executed (its upcalls come synchronously). */
  private packetOutInPort: number | null = null;

  private registerCall(call: ControllerCall): number {
    // A packet-out or flow sending to the controller repeats the same call packet after
    // packet: skip building the string key when nothing changed since the last one.
    const last = this.lastCall;
    if (
      last !== null &&
      last.call.bridge === call.bridge &&
      last.call.reason === call.reason &&
      last.call.tableId === call.tableId &&
      last.call.cookie === call.cookie &&
      last.call.maxLen === call.maxLen &&
      last.call.controllerId === call.controllerId &&
      last.call.miss === call.miss &&
      last.call.userdata === undefined &&
      call.userdata === undefined &&
      last.call.meta === undefined &&
      call.meta === undefined
    )
      return last.id;
    const id = this.registerCall__(call);
    this.lastCall = { call, id };
    return id;
  }

  private registerCall__(call: ControllerCall): number {
    const k = `${call.bridge}|${call.reason}|${call.tableId}|${call.cookie}|${call.maxLen}|${call.controllerId}|${call.userdata ? Buffer.from(call.userdata).toString('hex') : ''}|${call.miss ?? ''}|${call.meta?.join(',') ?? ''}`;
    let id = this.calls.get(k);
    if (id === undefined) {
      if (this.calls.size >= MAX_CONTROLLER_CALLS) {
        // Calls carry pipeline fields (registers, tunnel ids), so their variety has no bound:
        // start afresh and revalidate, so that every datapath flow is re-translated under new
        // ids. Ids keep counting up, so an old flow's id never names a new call.
        this.calls.clear();
        this.callById.clear();
        this.lastCall = null;
        this.changed();
      }
      id = this.nextCallId++;
      this.calls.set(k, id);
      this.callById.set(id, call);
    }
    return id;
  }

  translate(
    b: UdpifBridge,
    flow: FlowKey,
    sideEffects: boolean,
    trace: TraceNode[] | null,
    names = false,
    ofpacts?: readonly Ofpact[],
  ): XlateResult {
    this.refresh();
    const r = xlate({
      world: this,
      bridge: b.dpif,
      flow,
      sideEffects,
      trace,
      controllerId: (call) => this.registerCall(call),
      names,
      ofpacts,
    });
    // ofproto/trace -generate learns as a real packet would (upcalls apply theirs in miss).
    if (sideEffects && trace !== null) this.applySideEffects(r);
    return r;
  }

  /** Looks up a bridge's upcall view by name. */
  bridgeByName(name: string): UdpifBridge | undefined {
    return this.bridges.get(name);
  }

  /* Learned flows: refreshed, installed, or refused at learn's limit (learn.ts). */
  private applyLearns(mods: XlateResult['flowMods']): void {
    for (const m of mods) {
      const b = this.bridges.get(m.bridge);
      if (!b) continue;
      const ok = applyLearn(b.dpif.tables, m.fm, m.limit, timeMsec(), (fm) => b.learnFlow(fm));
      if (!ok && learnLimitRl.admit() !== null)
        ofprotoLog.info(`Learn limit for flow ${m.fm.newCookie} reached.`);
    }
  }

  private applySideEffects(r: XlateResult): void {
    for (const l of r.learns) {
      const b = this.bridges.get(l.bridge);
      if (b?.dpif.macs.update(l.learn.mac, l.learn.vlan, l.learn.port, l.learn.isGratArp))
        this.changed();
    }
    this.applyLearns(r.flowMods);
  }

  /* ---------------------------------------------------------------------------------- */
  /* Revalidation and statistics. */

  /** Called by the datapath right after it installed a flow for the last miss. */
  installed(flow: DpFlow): void {
    if (this.pendingCache) flow.xcache = this.pendingCache;
    this.pendingCache = null;
  }

  revalidateIfNeeded(): void {
    this.refresh();
    if (this.dirty) this.revalidate();
  }

  /** Re-translates every megaflow; updates or deletes those whose actions changed. */
  revalidate(): void {
    this.dirty = false;
    this.revalidations++;
    const dp = this.dpif.dp;
    for (const f of dp.flowDump()) {
      this.pushStats(f);
      const where = this.odpToOfp.get(f.key[W_IN_PORT]);
      if (!where) {
        this.deleteFlow(f);
        continue;
      }
      const flow = Uint32Array.from(f.key);
      flow[W_IN_PORT] = where.ofpPort;
      const r = this.translate(where.bridge, flow, false, null);
      if (r.slow || !maskCovers(f.mask, r.wc)) {
        this.deleteFlow(f);
        continue;
      }
      if (!sameActions(f.actions, r.actions)) {
        dp.flowModify(f.ufid, r.actions);
        log.dbg(`revalidated flow ${f.ufid}: ${formatOdpActions(r.actions)}`);
        // OVS's dpif debug line for a flow changed in place (its tests read it).
        if (dpifLog.dbgEnabled)
          dpifLog.dbg(
            `${this.dpif.fullName}: put[modify] ufid:${f.ufid} ${formatOdpFlow(f.key, f.mask, { verbose: true })}, actions:${formatOdpActions(r.actions)}`,
          );
      }
      const xc = xcacheOf(f);
      if (xc) {
        xc.nfOut = this.nfOutput(r.actions);
        xc.rules = r.rules;
        xc.mirrored = r.mirrored;
        xc.learns = r.learns;
        xc.finTimeouts = r.finTimeouts;
        xc.flowMods = r.flowMods;
        xc.patches = r.patches;
        xc.groups = r.groups;
      }
    }
    // Learning during the checks above (none: no side effects) leaves nothing to redo.
    this.dirty = false;
  }

  private deleteFlow(f: DpFlow): void {
    this.pushStats(f);
    this.dpif.dp.flowDel(f);
    this.flowGone(f);
  }

  /** A megaflow left the datapath: NetFlow ends its record, the cache entry goes. */
  private flowGone(f: DpFlow): void {
    const xc = xcacheOf(f);
    f.xcache = undefined;
    if (!xc) return;
    const where = this.odpToOfp.get(f.key[W_IN_PORT]);
    where?.bridge.netflowStats?.(f.key, 0, 0, 0, f.used, where.ofpPort, xc.nfOut, true);
  }

  /** Credits a megaflow's new packets to its rules and refreshes its MAC entries. */
  private pushStats(f: DpFlow): void {
    const xc = xcacheOf(f);
    if (!xc) return;
    const dp = f.packets - xc.packets;
    if (dp <= 0) return;
    const db = f.bytes - xc.bytes;
    xc.packets = f.packets;
    xc.bytes = f.bytes;
    if (xc.rules.length !== 0) this.credit(xc.rules, dp, db, f.used);
    if (xc.mirrored.size !== 0) this.creditMirrors(xc.mirrored, dp, db);
    this.finTimeouts(xc.finTimeouts, f.tcpFlags);
    if (xc.patches.length !== 0) this.creditPatches(xc.patches, dp, db);
    for (const g of xc.groups)
      this.bridges.get(g.bridge)?.creditGroup?.(g.groupId, g.bucket, dp, db);
    if (xc.flowMods.length !== 0) this.applyLearns(xc.flowMods);
    const where = this.odpToOfp.get(f.key[W_IN_PORT]);
    where?.bridge.netflowStats?.(f.key, dp, db, f.tcpFlags, f.used, where.ofpPort, xc.nfOut, false);
    // Hits keep their MAC entries fresh. They never move one back: a packet handled since
    // (by an upcall) may have learned the address somewhere else, and the newer news wins.
    for (const l of xc.learns) {
      // Many flows learn the same thing (one host talking to many): once per pass will do.
      const m = this.learnMemo;
      if (
        m !== null &&
        m.bridge === l.bridge &&
        m.learn.mac === l.learn.mac &&
        m.learn.vlan === l.learn.vlan &&
        m.learn.port === l.learn.port &&
        m.learn.isGratArp === l.learn.isGratArp
      )
        continue;
      const macs = this.bridges.get(l.bridge)?.dpif.macs;
      if (!macs) continue;
      if (this.inPass) this.learnMemo = l;
      const e = macs.lookup(l.learn.mac, l.learn.vlan);
      if (e && e.port !== l.learn.port) continue;
      if (macs.update(l.learn.mac, l.learn.vlan, l.learn.port, l.learn.isGratArp)) this.changed();
    }
  }

  /* The MAC learning a statistics pass refreshed last (passes run without interruption, so
   * repeating it in the same pass changes nothing). */
  private learnMemo: XlateLearn | null = null;
  private inPass = false;

  /** pushStats() of every flow whose counters moved since the last pass. */
  private statsPass(): void {
    this.inPass = true;
    this.learnMemo = null;
    try {
      for (const f of this.dpif.dp.flows()) this.pushStats(f);
    } finally {
      this.inPass = false;
      this.learnMemo = null;
    }
  }

  private logFlowDump(): void {
    const dp = this.dpif.dp;
    for (const f of dp.flows()) {
      dpifLog.dbg(
        `${this.dpif.fullName}: flow_dump ${dp.formatFlow(f, { verbose: true }, 'dpif')}`,
      );
    }
  }

  /** Pushes every megaflow's statistics to OpenFlow (before a flow stats reply). */
  pushAllStats(): void {
    this.statsPass();
  }

  private periodic(): void {
    try {
      if (dpifLog.isEnabled('dbg')) this.logFlowDump();
      this.statsPass();
      for (const f of this.dpif.dp.expireIdle(this.maxIdleMs)) this.flowGone(f);
      for (const b of this.bridges.values()) if (b.dpif.macs.run()) this.changed();
      this.revalidateIfNeeded();
    } catch (e) {
      log.err(`revalidator: ${(e as Error).stack ?? e}`);
    }
  }

  /**
   * Sends a packet through `actions` (a packet-out) from OpenFlow port `inPort` of bridge `b`:
   * translated with side effects and executed once, nothing cached.
   */
  packetOut(b: UdpifBridge, packet: Uint8Array, flow: FlowKey, ofpacts: readonly Ofpact[]): void {
    this.packetOutPrepare(b, packet, flow, ofpacts)();
  }

  /**
   * Translates a packet-out now and returns what executes it (OVS's packet_xlate, then
   * packet_execute): a bundle translates each packet-out against the tables and groups of
   * its point in the bundle, and sends them only once the whole bundle has committed.
   */
  packetOutPrepare(
    b: UdpifBridge,
    packet: Uint8Array,
    flow: FlowKey,
    ofpacts: readonly Ofpact[],
  ): () => void {
    const r = this.translate(b, flow, true, null, false, ofpacts);
    this.applySideEffects(r);
    let odpIn = 0xffffffff;
    const p = b.dpif.ports.get(flow[W_IN_PORT]);
    if (p && p.odpPort !== null) odpIn = p.odpPort;
    const inPort = flow[W_IN_PORT];
    return () => {
      this.packetOutInPort = inPort;
      try {
        this.dpif.dp.execute(packet, odpIn, r.actions);
      } finally {
        this.packetOutInPort = null;
      }
    };
  }

  /** Removes every megaflow (dpctl/del-flows). */
  flush(): void {
    this.pushAllStats();
    for (const f of this.dpif.dp.flowDump()) this.flowGone(f);
    this.dpif.dp.flowFlush();
  }

  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.dpif.setUpcallHandler(null);
    this.dpif.beforeInput = null;
  }
}

/** True when `have` (an installed mask) still includes every bit `need` looks at. */
function maskCovers(have: Uint32Array, need: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if ((need[i] & ~have[i]) !== 0) return false;
  return true;
}

function sameActions(a: readonly OdpAction[], b: readonly OdpAction[]): boolean {
  if (a.length !== b.length) return false;
  return formatOdpActions(a) === formatOdpActions(b);
}

/** The xlate cache the upcall layer keeps on a datapath flow (none for flows it did not
 * install, e.g. ones put with ovs-dpctl). */
function xcacheOf(f: DpFlow): XCache | undefined {
  return f.xcache as XCache | undefined;
}

const udpifs = new WeakMap<DpifNetdev, Udpif>();

/** The upcall layer of a datapath, created with its first bridge. */
export function udpifOf(dpif: DpifNetdev): Udpif {
  let u = udpifs.get(dpif);
  if (!u) {
    u = new Udpif(dpif);
    udpifs.set(dpif, u);
  }
  return u;
}
