/*
 * Translation (OVS's ofproto-dpif-xlate.c): runs a packet's flow through a bridge's OpenFlow
 * tables and actions and produces
 *   - the datapath actions that do the same to every packet of the megaflow,
 *   - the megaflow's mask: every flow bit a lookup or an action looked at,
 *   - the side effects to apply when a real packet is handled (MAC learning, learned flows,
 *     packet-ins) and the rules it hit (for their statistics),
 *   - for ofproto/trace, the explanation tree.
 *
 * Header changes are applied to a working copy of the flow and committed as datapath
 * actions (commit.ts) only before the packet leaves (output, controller), as OVS does, so a
 * change undone before any output costs nothing. Translation works in OpenFlow port numbers;
 * the caller maps the datapath's in_port before and ports after.
 *
 * Translation has no side effects of its own: what it would change is returned.
 */

import type { OdpAction, UserspaceCookie } from '../../../dpif/netdev/odp-actions.ts';
import {
  type Field,
  fieldByName,
  getFieldBits,
  getFieldWords,
  setFieldBits,
  setFieldWords,
} from '../../../lib/flow/fields.ts';
import {
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  ETH_TYPE_VLAN_8021Q,
  FLOW_NW_FRAG_ANY,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  N_REGS,
  NW_FRAG_SHIFT,
  OFPP_ALL,
  OFPP_CONTROLLER,
  OFPP_FLOOD,
  OFPP_IN_PORT,
  OFPP_LOCAL,
  OFPP_MAX,
  OFPP_NONE,
  OFPP_NORMAL,
  OFPP_TABLE,
  VLAN_CFI,
  VLAN_VID_MASK,
  W_ACTSET_OUTPUT,
  W_ARP_SHA,
  W_ARP_THA,
  W_CONJ_ID,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_DP_HASH,
  W_IN_PORT,
  W_METADATA,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_PACKET_TYPE,
  W_PKT_MARK,
  W_RECIRC_ID,
  W_REG0,
  W_SKB_PRIORITY,
  W_TP,
  W_TUN_ID,
  W_VLAN0,
  W_VLAN1,
} from '../../../lib/flow/layout.ts';
import { type Match, matchFromFlowAndMask, newSlabWords } from '../../../lib/flow/match.ts';
import { flowToString, matchToString } from '../../../lib/flow/match-format.ts';
import { ofpPortToString } from '../../../lib/flow/ofp-port.ts';
import { VlogRateLimit, vlog } from '../../../lib/vlog.ts';
import type { Continuation, FrozenAction, UnrollXlate } from '../../openflow/continuation.ts';
import type { FlowMod, FlowStatsRequest } from '../../openflow/messages.ts';
import { noFlowModFlags, OFP_NO_BUFFER } from '../../openflow/messages.ts';
import type { ControllerReason, Ofpact, Subfield } from '../../openflow/ofpact.ts';
import { debugOfpactType, formatOfpact, formatSubfield } from '../../openflow/ofpact-format.ts';
import { learnOutcome, type XLearnedRule } from '../learn.ts';
import { commitOdpActions } from './commit.ts';
import {
  CONTINUATION_TOKEN_WORD,
  continuationToken,
  freezeUnroll,
  resumeOf,
  stackBitsToBytes,
  stackBytesToBits,
} from './freeze.ts';
import {
  bundleIncludesVlan,
  egress,
  ingressVlan,
  isReservedMac,
  type MacView,
  type NormalBridge,
  type NormalLearn,
  type NormalOutput,
  type NormalPort,
  xlateNormal,
} from './normal.ts';
import { type TraceNode, traceAdd } from './trace.ts';

const xlateLog = vlog('ofproto_dpif_xlate');
const xlateErrorRl = new VlogRateLimit(1, 5);

/** What translation reads of a rule (the flow table's Rule has this shape). */
export interface XRule {
  readonly tableId: number;
  readonly match: Match;
  readonly priority: number;
  cookie: bigint;
  ofpacts: Ofpact[];
  removed: boolean;
}

export interface XTables {
  lookup(tableId: number, key: FlowKey, wc: FlowKey | null): XRule | null;
  /** A table's table-miss behaviour (OpenFlow 1.1/1.2 table-mod); 'default' when absent. */
  missConfig?(tableId: number): 'default' | 'controller' | 'continue' | 'drop';
  /** learn(): the flow a learned flow would replace, and the flows counted for its limit. */
  findExactly?(tableId: number, match: Match, priority: number): XLearnedRule | null;
  select?(req: FlowStatsRequest): readonly XRule[];
}

export interface XBucket {
  readonly bucketId: number;
  readonly weight: number;
  readonly watchPort: number;
  readonly watchGroup: number;
  readonly ofpacts: Ofpact[];
}

export interface XGroup {
  readonly groupId: number;
  readonly type: 'all' | 'select' | 'indirect' | 'ff';
  readonly buckets: readonly XBucket[];
}

export interface XGroups {
  get(groupId: number): XGroup | undefined;
}

export interface XPort {
  readonly name: string;
  readonly ofpPort: number;
  /** null for ports without a datapath port (patch ports). */
  readonly odpPort: number | null;
  /** The other end of a patch port. */
  readonly peer: { readonly bridge: string; readonly ofpPort: number } | null;
  readonly noFlood: boolean;
  readonly noFwd: boolean;
  readonly noPacketIn: boolean;
  /** Administratively up with carrier (fast-failover liveness). */
  readonly live: boolean;
  /**
   * The port's QoS queues that set a DSCP (Queue dscp): skb_priority -> DSCP bits as they sit
   * in the ToS byte (dscp << 2). Absent or empty: none.
   */
  readonly dscp?: ReadonlyMap<number, number>;
}

export interface XBridge {
  readonly name: string;
  readonly tables: XTables;
  readonly groups: XGroups | null;
  readonly ports: ReadonlyMap<number, XPort>;
  /** FLOOD/ALL order. */
  readonly floodOrder: readonly XPort[];
  readonly normal: NormalBridge;
  readonly macs: MacView;
  /** Whether a table miss calls for a packet-in (some controller wants one). */
  readonly missToController: boolean;
  /** OpenFlow's fragment handling (OFPC_FRAG_*: 0 normal, 1 drop, 3 nx-match); 0 if absent. */
  readonly fragHandling?: number;
  /** Port mirrors (SPAN / RSPAN), index = position (at most 32). */
  readonly mirrors: readonly XMirror[];
  /** sFlow sampling rate N (1-in-N), 0 without an sFlow agent. */
  readonly sflowSampling: number;
  /** NetFlow is on: megaflows must separate what NetFlow records tell apart. */
  readonly netflow: boolean;
  /** IPFIX (bridge-wide sampling and the sample action); null or absent without. */
  readonly ipfix?: XIpfix | null;
  /** Names OpenFlow ports for traces. */
  portName(ofp: number): string | undefined;
  /** The bridge's identity in continuations (OVS's ofproto uuid, 16 bytes). */
  readonly uuid?: Uint8Array;
}

/** What translation needs of a bridge's IPFIX exporters (OVS's dpif_ipfix getters). */
export interface XIpfix {
  /** Bridge-wide sampling probability out of 2^32-1; 0 without a bridge exporter. */
  readonly bridgeProbability: number;
  readonly inputSampling: boolean;
  readonly outputSampling: boolean;
}

/** A Mirror row as translation uses it. Ports are OpenFlow port numbers of bundles. */
export interface XMirror {
  readonly name: string;
  readonly selectAll: boolean;
  /** Bundles whose received packets are mirrored. */
  readonly srcPorts: ReadonlySet<number>;
  /** Bundles whose transmitted packets are mirrored. */
  readonly dstPorts: ReadonlySet<number>;
  /** Only these VLANs (null: all). */
  readonly vlans: ReadonlySet<number> | null;
  /** SPAN: the bundle (its first OpenFlow port) copies go out on. */
  readonly outPort: number | null;
  /** RSPAN: the VLAN copies are flooded on. */
  readonly outVlan: number | null;
  /** Bytes of each copy kept (a trunc datapath action ahead of its outputs); 0: all. */
  readonly snaplen: number;
}

/** Looks up bridges by name (patch ports cross between them). */
export interface XWorld {
  bridge(name: string): XBridge | undefined;
}

/** A packet-in the translation calls for, identified in its userspace() cookie. */
export interface ControllerCall {
  readonly bridge: string;
  readonly reason: ControllerReason;
  readonly tableId: number;
  readonly cookie: bigint;
  readonly maxLen: number;
  readonly controllerId: number;
  readonly userdata: Uint8Array | undefined;
  /**
   * A table miss (OVS's OFPR_EXPLICIT_MISS: a controller action of a table-miss flow;
   * OFPR_IMPLICIT_MISS: no flow matched): OpenFlow 1.3+ reports both as no_match, and a
   * connection gets implicit ones only before 1.3.
   */
  readonly miss?: 'explicit' | 'implicit';
  /**
   * The pipeline fields (PIN_META_WORDS: metadata, registers, tunnel id, packet mark) as
   * translation had them at the controller action, [word, value] pairs of the nonzero ones;
   * absent when all are zero. The datapath's packet does not carry them.
   */
  readonly meta?: readonly number[];
  /** A `controller(pause)`: what resuming needs (its token is among `meta`). */
  readonly continuation?: Continuation;
}

/** The flow words a packet-in reports besides in_port (OVS's flow metadata). */
export const PIN_META_WORDS: readonly number[] = [
  W_METADATA,
  W_METADATA + 1,
  W_TUN_ID,
  W_TUN_ID + 1,
  W_PKT_MARK,
  ...Array.from({ length: N_REGS }, (_, i) => W_REG0 + i),
].filter((w) => w < FLOW_WORDS);

export interface XlateInput {
  readonly world: XWorld;
  readonly bridge: XBridge;
  /** The packet's flow in OpenFlow terms (in_port an OpenFlow port). Not modified. */
  readonly flow: FlowKey;
  /** Whether learning and learned flows may happen (a real packet). */
  readonly sideEffects: boolean;
  /** Trace tree root, or null. */
  readonly trace: TraceNode[] | null;
  /** Registers a packet-in and returns the cookie id its userspace() action carries. */
  controllerId(call: ControllerCall): number;
  /** Traces name ports (ofproto/trace --names). */
  readonly names?: boolean;
  /** A packet-out's actions: translated instead of a table 0 lookup. */
  readonly ofpacts?: readonly Ofpact[];
}

export interface XlateRuleHit {
  readonly bridge: string;
  readonly rule: XRule;
}

/** A fin_timeout action met in `rule`: applied when a packet with FIN or RST goes through. */
export interface XlateFinTimeout {
  readonly bridge: string;
  readonly rule: XRule;
  readonly idle: number;
  readonly hard: number;
}

/** A patch port the packet crossed: counted as sent by `port`, received by `peerPort`. */
export interface XlatePatch {
  readonly bridge: string;
  readonly port: number;
  readonly peerBridge: string;
  readonly peerPort: number;
}

/** A group bucket a translation used (bucket: its index in the group's list; -1: all). */
export interface XlateGroupHit {
  readonly bridge: string;
  readonly groupId: number;
  readonly bucket: number;
}

export interface XlateLearn {
  readonly bridge: string;
  readonly learn: NormalLearn;
}

export interface XlateResult {
  readonly actions: OdpAction[];
  /** The megaflow mask (datapath fields only). */
  readonly wc: FlowKey;
  readonly finalFlow: FlowKey;
  /** Rules hit, for statistics. */
  readonly rules: XlateRuleHit[];
  readonly learns: XlateLearn[];
  /** fin_timeout actions met (OVS's XC_FIN_TIMEOUT cache entries). */
  readonly finTimeouts: XlateFinTimeout[];
  /** Patch ports crossed, for their statistics (OVS's XC_NETDEV entries). */
  readonly patches: XlatePatch[];
  /** Group buckets used, for the groups' statistics (OVS's XC_GROUP entries). */
  readonly groups: XlateGroupHit[];
  /** Flows learn() actions add, per bridge (limit: learn's, 0 for none). */
  readonly flowMods: Array<{
    readonly bridge: string;
    readonly fm: FlowMod;
    readonly limit: number;
  }>;
  /** Something no megaflow can stand for (learn): every packet must be translated. */
  readonly slow: boolean;
  /** Mirrors that copied the packet, per bridge (bit i = mirror i). */
  readonly mirrored: ReadonlyMap<string, number>;
  /** Why translation failed (OVS's xlate_strerror text), and the packet is dropped; or null. */
  readonly error: string | null;
}

const MAX_DEPTH = 64;
/** The last table a table-miss "continue" reaches (OVS's 254 is its hidden internal table). */
const LAST_TABLE = 253;
const OFPC_FRAG_DROP = 1;
const OFPC_FRAG_NX_MATCH = 3;
const MAX_RESUBMITS = 4096;

/** The action set's execution order (OpenFlow 1.1+ section 5.10). */
function actionSetRank(a: Ofpact): number {
  switch (a.type) {
    case 'strip_vlan':
    case 'pop_mpls':
      return 1;
    case 'push_mpls':
      return 2;
    case 'push_vlan':
      return 3;
    case 'dec_ttl':
    case 'dec_mpls_ttl':
      return 4;
    case 'group':
      return 7;
    case 'output':
      return 8;
    case 'set_queue':
      return 6;
    default:
      return 5;
  }
}

function actionSetKey(a: Ofpact): string {
  if (a.type === 'set_field') return `set_field:${a.field}`;
  return a.type;
}

class Ctx {
  readonly flow: FlowKey;
  readonly base: FlowKey;
  readonly wc: FlowKey;
  readonly odp: OdpAction[] = [];
  readonly rules: XlateRuleHit[] = [];
  readonly learns: XlateLearn[] = [];
  readonly finTimeouts: XlateFinTimeout[] = [];
  readonly patches: XlatePatch[] = [];
  readonly groups: XlateGroupHit[] = [];
  readonly flowMods: Array<{ bridge: string; fm: FlowMod; limit: number }> = [];
  slow = false;
  bridge: XBridge;
  trace: TraceNode[] | null;
  depth = 0;
  resubmits = 0;
  exit = false;
  /** Ends the current action list only (dec_ttl's exception): the caller's list goes on. */
  stopList = false;
  error = false;
  errorText: string | null = null;
  tableId = 0;
  // No rule yet (a packet-out's actions): OVS's OVS_BE64_MAX.
  ruleCookie = 0xffffffffffffffffn;
  /** The rule whose actions are running (null: a packet-out's, or the table-miss rule's). */
  rule: XRule | null = null;
  actionSet: Ofpact[] = [];
  inActionSet = false;
  inPacketOut = false;
  /** Translating a group bucket's own actions (OVS's group_bucket_action). */
  inGroup = 0;
  /** Mirrors already applied, per bridge (each copies a packet once). */
  readonly mirrored = new Map<string, number>();
  /** The snaplen of the mirror being output to (0: none). */
  mirrorSnaplen = 0;
  stack: number[][] = [];
  /** The stack's size as OVS keeps it (each value in whole bytes plus a length byte). */
  stackBytes = 0;
  /** Netlink bytes of odp[0..odpCounted), the datapath's limit being 64 kB. */
  odpBytes = 0;
  odpCounted = 0;
  /* Freezing for a controller(pause) (freeze.ts). */
  freezing = false;
  pause: Extract<Ofpact, { type: 'controller' }> | null = null;
  frozen: FrozenAction[] = [];
  lastUnroll: UnrollXlate | null = null;
  /** A resumed packet's datapath in_port (its continuation's NXCPT_ODP_PORT). */
  odpInPort = 0;
  /** Resuming a continuation: the datapath's in_port may be another bridge's port. */
  resumed = false;

  /** The packet's skb_priority before translation (pop_queue's target). */
  readonly base0SkbPriority: number;

  constructor(readonly xin: XlateInput) {
    this.base0SkbPriority = xin.flow[W_SKB_PRIORITY];
    // The three carved from a shared slab (each 392-byte typed array is a malloc of its own),
    // filled with set(): Uint32Array.from() walks an iterator.
    const all = newSlabWords(3 * FLOW_WORDS);
    all.set(xin.flow.subarray(0, FLOW_WORDS));
    all.set(xin.flow.subarray(0, FLOW_WORDS), FLOW_WORDS);
    this.flow = all.subarray(0, FLOW_WORDS);
    this.base = all.subarray(FLOW_WORDS, 2 * FLOW_WORDS);
    this.wc = all.subarray(2 * FLOW_WORDS);
    this.bridge = xin.bridge;
    this.trace = xin.trace;
  }

  report(type: 'action' | 'detail' | 'warn' | 'error', text: string): void {
    if (this.trace) traceAdd(this.trace, type, text);
    // As OVS's xlate_report_error: errors translating a real packet are logged, rate-limited.
    else if (type === 'error' && this.xin.sideEffects && xlateErrorRl.admit() !== null) {
      xlateLog.warn(
        `${text} on bridge ${this.bridge.name} while processing ${flowToString(this.base)}`,
      );
    }
  }
}

function isIpAny(flow: FlowKey): boolean {
  const t = flow[W_DL_TYPE] & 0xffff;
  return t === ETH_TYPE_IP || t === ETH_TYPE_IPV6;
}

function isLaterFrag(flow: FlowKey): boolean {
  return ((flow[W_NW] >>> NW_FRAG_SHIFT) & FLOW_NW_FRAG_LATER) !== 0;
}

/** Translates; see the file comment. */
export function xlate(xin: XlateInput): XlateResult {
  const ctx = new Ctx(xin);
  const wc = ctx.wc;
  // Fields a megaflow always matches (OVS's xlate_wc_init).
  wc[W_IN_PORT] = 0xffffffff;
  wc[W_RECIRC_ID] = 0xffffffff;
  wc[W_PACKET_TYPE] = 0xffffffff;
  wc[W_DL_TYPE] |= 0xffff;
  if (isIpAny(ctx.flow)) wc[W_NW] |= 3 << NW_FRAG_SHIFT;
  // OVS's netflow_mask_wc: a NetFlow record is per addresses, protocol, ToS and ports.
  if (ctx.bridge.netflow && (ctx.flow[W_DL_TYPE] & 0xffff) === ETH_TYPE_IP) {
    wc[W_NW_SRC] = 0xffffffff;
    wc[W_NW_DST] = 0xffffffff;
    wc[W_NW] |= 0x00ff00ff;
    wc[W_TP] = 0xffffffff;
  }

  if (ctx.trace) ctx.trace = traceAdd(ctx.trace, 'bridge', `bridge("${ctx.bridge.name}")`);
  // Bridge-wide IPFIX samples on reception, ahead of everything else but sFlow.
  if (!xin.ofpacts) ipfixSample(ctx, ODPP_NONE);
  const resume = resumeOf(xin.ofpacts);
  if (!resume) mirrorIngress(ctx);
  const sampling = xin.ofpacts ? 0 : ctx.bridge.sflowSampling;
  if (resume) {
    // OVS's xlate_resume: the frozen stack, action set and mirrors, then the frozen actions.
    ctx.stack = resume.stack.map(stackBytesToBits);
    for (const v of resume.stack) ctx.stackBytes += v.length + 1;
    ctx.actionSet = [...resume.actionSet];
    if (resume.mirrors) ctx.mirrored.set(ctx.bridge.name, resume.mirrors);
    ctx.odpInPort = resume.odpPort;
    ctx.resumed = true;
    doActions(ctx, resume.actions);
  } else if (xin.ofpacts) {
    ctx.inPacketOut = true;
    doActions(ctx, xin.ofpacts);
    ctx.inPacketOut = false;
  } else {
    tableAction(ctx, 0, true, true, -1, true);
  }
  if (ctx.actionSet.length > 0 && !ctx.error && !ctx.freezing) executeActionSet(ctx);
  if (ctx.freezing) finishFreezing(ctx);
  if (sampling > 0) sflowSample(ctx, sampling);
  finishWc(ctx);
  // The datapath cannot be trusted with Neighbor Discovery rewrites: OVS slow-paths them.
  if (!ctx.slow) for (const a of ctx.odp) if (a.type === 'set' && a.attr === 'nd') ctx.slow = true;
  // A failed translation installs a drop flow, as OVS's xlate_actions does.
  const failed = ctx.errorText !== null;
  return {
    actions: failed ? [] : ctx.odp,
    wc: ctx.wc,
    finalFlow: ctx.flow,
    rules: ctx.rules,
    learns: ctx.learns,
    finTimeouts: ctx.finTimeouts,
    patches: ctx.patches,
    groups: ctx.groups,
    flowMods: ctx.flowMods,
    slow: failed ? false : ctx.slow,
    mirrored: ctx.mirrored,
    error: ctx.errorText,
  };
}

/** OVS's xlate_wc_finish: non-datapath fields never reach the megaflow. */
function finishWc(ctx: Ctx): void {
  const wc = ctx.wc;
  wc[W_METADATA] = 0;
  wc[W_METADATA + 1] = 0;
  for (let i = 0; i < N_REGS; i++) wc[W_REG0 + i] = 0;
  wc[W_CONJ_ID] = 0;
  wc[W_ACTSET_OUTPUT] = 0;
  for (const w of [W_VLAN0, W_VLAN1]) if (wc[w] & 0xffff) wc[w] |= VLAN_CFI;
  // A header the packet did not have is matched as absent (its TPID word zero), whatever
  // pushes and sets did to the mask (OVS's xlate_wc_finish).
  // A header the packet has is always matched on its TPID and presence, as the datapath
  // matches every Ethernet type exactly.
  const orig = ctx.xin.flow;
  if (!(orig[W_VLAN0] & VLAN_CFI)) {
    wc[W_VLAN0] = 0xffff0000;
    wc[W_VLAN1] = 0;
  } else {
    wc[W_VLAN0] = (wc[W_VLAN0] | 0xffff0000 | VLAN_CFI) >>> 0;
    if (!(orig[W_VLAN1] & VLAN_CFI)) wc[W_VLAN1] = 0xffff0000;
    else wc[W_VLAN1] = (wc[W_VLAN1] | 0xffff0000 | VLAN_CFI) >>> 0;
  }
  const proto = ctx.xin.flow[W_NW] & 0xff;
  if (isIpAny(ctx.xin.flow) && (proto === 1 || proto === 58)) wc[W_TP] &= 0x00ff00ff;
  if (isLaterFrag(ctx.xin.flow)) wc[W_TP] = 0;
}

function formatRuleLine(_ctx: Ctx, tableId: number, rule: XRule | null, miss: boolean): string {
  const t = String(tableId).padStart(2, ' ');
  if (!rule) return miss ? `${t}. No match, and a "packet-in" is called for.` : `${t}. No match.`;
  let s = `${t}. ${matchToString(rule.match, 0x8000, { portName: undefined })}`;
  if (!s.endsWith(' ')) s += ', ';
  s += `priority ${rule.priority}`;
  if (rule.cookie !== 0n) s += `, cookie 0x${rule.cookie.toString(16)}`;
  return s.replace('. , priority', '. priority');
}

/**
 * Looks up `tableId` and runs the rule's actions (OVS's xlate_table_action). A resubmit's
 * in_port (`inPort`, or -1 to keep the packet's) holds for the lookup only: the rule's
 * actions see the packet's own in_port again, as in OVS. Only a lookup in the same or an
 * earlier table deepens the recursion, so a chain of goto_tables may run through all tables.
 */
function tableAction(
  ctx: Ctx,
  tableId: number,
  mayPacketIn: boolean,
  honorMiss: boolean,
  inPort = -1,
  first = false,
): void {
  if (ctx.depth >= MAX_DEPTH) {
    ctx.report('error', `over max translation depth ${MAX_DEPTH}`);
    ctx.error = true;
    ctx.errorText = 'Recursion too deep';
    return;
  }
  if (ctx.resubmits >= MAX_RESUBMITS) {
    ctx.report('error', `over ${MAX_RESUBMITS} resubmit actions`);
    ctx.error = true;
    ctx.errorText = 'Too many resubmits';
    return;
  }
  for (; ctx.odpCounted < ctx.odp.length; ctx.odpCounted++)
    ctx.odpBytes += odpActionBytes(ctx.odp[ctx.odpCounted] as OdpAction);
  if (ctx.odpBytes > 0xffff) {
    // Not a failure: what was translated so far runs, in the slow path (as OVS does).
    ctx.report('error', 'resubmits yielded over 64 kB of actions');
    ctx.slow = true;
    ctx.exit = true;
    return;
  }
  if (ctx.stackBytes >= 65536) {
    ctx.report('error', 'resubmits yielded over 64 kB of stack');
    ctx.error = true;
    ctx.errorText = 'Stack too deep';
    return;
  }
  const tables = ctx.bridge.tables;
  const saved = ctx.flow[W_IN_PORT];
  // Fragments are looked up without L4 ports unless OpenFlow asked to match them (OVS's
  // frag_handling); in "drop" mode they match nothing and are dropped.
  const frag = isIpAny(ctx.flow) && ((ctx.flow[W_NW] >>> NW_FRAG_SHIFT) & FLOW_NW_FRAG_ANY) !== 0;
  const fragMode = frag ? (ctx.bridge.fragHandling ?? 0) : OFPC_FRAG_NX_MATCH;
  if (fragMode === OFPC_FRAG_DROP) {
    if (ctx.trace) {
      const line = `${String(tableId).padStart(2, ' ')}. Packets are IP fragments and the fragment handling mode is "drop".`;
      traceAdd(traceAdd(ctx.trace, 'table', line), 'action', 'drop');
    }
    return;
  }
  const savedTp = ctx.flow[W_TP];
  if (fragMode !== OFPC_FRAG_NX_MATCH) ctx.flow[W_TP] = 0;
  if (inPort >= 0) ctx.flow[W_IN_PORT] = inPort;
  let rule = tables.lookup(tableId, ctx.flow, ctx.wc);
  // A table set to "continue" on a miss passes the packet to the next table (OVS's
  // rule_dpif_lookup_from_table); a miss in the last table then calls for a packet-in.
  let miss = 'default';
  const startTable = tableId;
  if (!rule && honorMiss && tables.missConfig) {
    miss = tables.missConfig(tableId);
    while (!rule && miss === 'continue' && tableId < LAST_TABLE) {
      tableId++;
      rule = tables.lookup(tableId, ctx.flow, ctx.wc);
      if (!rule) miss = tables.missConfig(tableId);
    }
  }
  ctx.flow[W_IN_PORT] = saved;
  ctx.flow[W_TP] = savedTp;
  const deepens = !first && startTable <= ctx.tableId ? 1 : 0;
  const oldTable = ctx.tableId;
  const oldCookie = ctx.ruleCookie;
  const oldRule = ctx.rule;
  const oldTrace = ctx.trace;
  ctx.tableId = tableId;
  ctx.rule = rule;
  if (rule) {
    ctx.rules.push({ bridge: ctx.bridge.name, rule });
    ctx.ruleCookie = rule.cookie;
    if (ctx.trace)
      ctx.trace = traceAdd(ctx.trace, 'table', formatRuleLine(ctx, startTable, rule, false));
    ctx.resubmits++;
    ctx.depth += deepens;
    // A rule reached from a bucket (resubmit) runs its actions as a rule's, not the group's.
    const inGroup = ctx.inGroup;
    ctx.inGroup = 0;
    doActions(ctx, rule.ofpacts);
    ctx.inGroup = inGroup;
    ctx.depth -= deepens;
  } else if (honorMiss) {
    let toController = false;
    if (mayPacketIn) {
      if (miss === 'continue' || miss === 'controller')
        toController = ctx.bridge.ports.get(saved)?.noPacketIn === false;
      else if (miss === 'default') toController = ctx.bridge.missToController;
    }
    if (ctx.trace)
      ctx.trace = traceAdd(ctx.trace, 'table', formatRuleLine(ctx, startTable, null, toController));
    if (toController) {
      ctx.report('action', 'CONTROLLER:65535');
      // OVS's miss goes through its hidden table-miss rule, whose cookie is 0.
      ctx.ruleCookie = 0n;
      controllerAction(ctx, 'no_match', 0xffff, 0, undefined, 'implicit');
    } else {
      ctx.ruleCookie = 0n;
      ctx.report('action', 'drop');
    }
  }
  ctx.trace = oldTrace;
  ctx.tableId = oldTable;
  ctx.rule = oldRule;
  // Table 0's rule stays the translation's own (OVS's ctx.rule): its cookie is what the
  // action set's packet-ins report.
  if (!first) ctx.ruleCookie = oldCookie;
}

function doActions(ctx: Ctx, acts: readonly FrozenAction[]): void {
  if (acts.length === 0) {
    ctx.report('action', 'drop');
    return;
  }
  for (let i = 0; i < acts.length; i++) {
    const a = acts[i] as FrozenAction;
    if (ctx.error || ctx.exit) {
      // Paused: what this frame had left goes into the continuation (OVS's do_xlate_actions).
      if (ctx.freezing) freezeUnroll(ctx, acts, i);
      break;
    }
    if (a.type === 'unroll_xlate') {
      ctx.tableId = a.tableId;
      ctx.ruleCookie = a.cookie;
      continue;
    }
    if (ctx.trace)
      ctx.report(
        'action',
        formatOfpact(a, ctx.xin.names ? { portName: (p) => ctx.bridge.portName(p) } : undefined),
      );
    doAction(ctx, a);
    if (ctx.stopList) {
      ctx.stopList = false;
      break;
    }
  }
}

function portLive(ctx: Ctx, port: number): boolean {
  const p = ctx.bridge.ports.get(port);
  return p?.live === true;
}

function doAction(ctx: Ctx, a: Ofpact): void {
  const flow = ctx.flow;
  const wc = ctx.wc;
  // debug_slow (a test action): the flow stays in the userspace slow path, as OVS's.
  if (debugOfpactType(a) === 'debug_slow') ctx.slow = true;
  switch (a.type) {
    case 'output':
      outputAction(ctx, a.port, a.maxLen);
      break;
    case 'enqueue':
      wc[W_SKB_PRIORITY] = 0xffffffff;
      enqueueAction(ctx, a.port, a.queue);
      break;
    case 'output_trunc':
      outputTruncAction(ctx, a.port, a.maxLen);
      break;
    case 'output_reg': {
      const f = fieldOf(a.src.field);
      if (!f) break;
      markSubfield(wc, f, a.src);
      const port = getFieldBits(flow, f, a.src.ofs, a.src.nBits);
      if (port <= 0xffff) outputAction(ctx, port, a.maxLen);
      break;
    }
    case 'controller':
      if (a.pause) {
        // Stops translation here; the continuation goes out when the frames have unwound.
        ctx.pause = a;
        ctx.freezing = true;
        ctx.exit = true;
        break;
      }
      // The plain form is what output:CONTROLLER becomes in OpenFlow 1.1+ (and back), so it
      // reports where it ran as that does.
      controllerAction(
        ctx,
        a.reason === 'action' ? contextReason(ctx) : a.reason,
        a.maxLen,
        a.controllerId,
        a.userdata,
      );
      break;
    case 'group':
      groupAction(ctx, a.groupId);
      break;
    case 'set_vlan_vid': {
      if (!(flow[W_VLAN0] & VLAN_CFI) && !a.pushIfNeeded) break;
      wc[W_VLAN0] |= VLAN_VID_MASK | VLAN_CFI;
      if (!(flow[W_VLAN0] & VLAN_CFI)) flow[W_VLAN0] = (ETH_TYPE_VLAN_8021Q << 16) | VLAN_CFI;
      flow[W_VLAN0] = ((flow[W_VLAN0] & ~VLAN_VID_MASK) | (a.vid & VLAN_VID_MASK) | VLAN_CFI) >>> 0;
      break;
    }
    case 'set_vlan_pcp': {
      if (!(flow[W_VLAN0] & VLAN_CFI) && !a.pushIfNeeded) break;
      wc[W_VLAN0] |= 0xe000 | VLAN_CFI;
      if (!(flow[W_VLAN0] & VLAN_CFI)) flow[W_VLAN0] = (ETH_TYPE_VLAN_8021Q << 16) | VLAN_CFI;
      flow[W_VLAN0] = ((flow[W_VLAN0] & ~0xe000) | ((a.pcp & 7) << 13) | VLAN_CFI) >>> 0;
      break;
    }
    case 'strip_vlan':
      wc[W_VLAN0] |= 0xffffffff;
      if (flow[W_VLAN0] & VLAN_CFI) {
        flow[W_VLAN0] = flow[W_VLAN1];
        flow[W_VLAN1] = 0;
      }
      break;
    case 'push_vlan':
      wc[W_VLAN0] = 0xffffffff;
      wc[W_VLAN1] = 0xffffffff;
      flow[W_VLAN1] = flow[W_VLAN0];
      flow[W_VLAN0] = ((a.ethertype << 16) | VLAN_CFI) >>> 0;
      break;
    case 'set_eth_src':
      wc[W_DL_SRC] |= 0xffff;
      wc[W_DL_SRC + 1] = 0xffffffff;
      flow[W_DL_SRC] = a.mac[0] & 0xffff;
      flow[W_DL_SRC + 1] = a.mac[1] >>> 0;
      break;
    case 'set_eth_dst':
      wc[W_DL_DST] |= 0xffff;
      wc[W_DL_DST + 1] = 0xffffffff;
      flow[W_DL_DST] = a.mac[0] & 0xffff;
      flow[W_DL_DST + 1] = a.mac[1] >>> 0;
      break;
    case 'set_ipv4_src':
    case 'set_ipv4_dst':
      if ((flow[W_DL_TYPE] & 0xffff) === ETH_TYPE_IP) {
        const w = a.type === 'set_ipv4_src' ? W_NW_SRC : W_NW_DST;
        wc[w] = 0xffffffff;
        flow[w] = a.ip >>> 0;
      }
      break;
    case 'set_ip_dscp':
      if (isIpAny(flow)) {
        wc[W_NW] |= 0xfc << 16;
        flow[W_NW] = ((flow[W_NW] & ~(0xfc << 16)) | ((a.dscp & 0xfc) << 16)) >>> 0;
      }
      break;
    case 'set_ip_ecn':
      if (isIpAny(flow)) {
        wc[W_NW] |= 0x03 << 16;
        flow[W_NW] = ((flow[W_NW] & ~(0x03 << 16)) | ((a.ecn & 3) << 16)) >>> 0;
      }
      break;
    case 'set_ip_ttl':
      if (isIpAny(flow)) {
        wc[W_NW] |= 0xff << 8;
        flow[W_NW] = ((flow[W_NW] & ~(0xff << 8)) | ((a.ttl & 0xff) << 8)) >>> 0;
      }
      break;
    case 'set_l4_src_port':
    case 'set_l4_dst_port': {
      const proto = flow[W_NW] & 0xff;
      // The protocol decides whether the rewrite applies: the megaflow must match it.
      if (isIpAny(flow) && !isLaterFrag(flow)) wc[W_NW] |= 0xff;
      if (
        isIpAny(flow) &&
        !isLaterFrag(flow) &&
        (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP)
      ) {
        const m = a.type === 'set_l4_src_port' ? 0xffff0000 : 0x0000ffff;
        const v = a.type === 'set_l4_src_port' ? a.port << 16 : a.port & 0xffff;
        wc[W_TP] = (wc[W_TP] | m) >>> 0;
        flow[W_TP] = ((flow[W_TP] & ~m) | (v & m)) >>> 0;
      }
      break;
    }
    case 'set_field':
      setFieldAction(ctx, a.field, a.value, a.mask);
      break;
    case 'reg_move': {
      const src = fieldOf(a.src.field);
      const dst = fieldOf(a.dst.field);
      if (!src || !dst) break;
      markSubfield(wc, src, a.src);
      markSubfield(wc, dst, a.dst);
      for (let i = 0; i < a.src.nBits; i++) {
        const bit = getFieldBits(flow, src, a.src.ofs + i, 1);
        setFieldBits(flow, dst, a.dst.ofs + i, 1, bit);
      }
      fixVlanTpid(flow);
      break;
    }
    case 'stack_push': {
      const f = fieldOf(a.src.field);
      if (!f) break;
      markSubfield(wc, f, a.src);
      const bits: number[] = [];
      if (f.special === 'in-port-oxm') {
        // The OpenFlow 1.1+ form of the port: LOCAL is 0xfffffffe, not 0xfffe.
        const v = inPortToOfp11(flow[W_IN_PORT] as number);
        for (let i = 0; i < a.src.nBits; i++) bits.push((v >>> (a.src.ofs + i)) & 1);
      } else {
        for (let i = 0; i < a.src.nBits; i++) bits.push(getFieldBits(flow, f, a.src.ofs + i, 1));
      }
      ctx.stack.push(bits);
      ctx.stackBytes += ((a.src.nBits + 7) >> 3) + 1;
      break;
    }
    case 'stack_pop': {
      const f = fieldOf(a.dst.field);
      const bits = ctx.stack.pop();
      if (bits) ctx.stackBytes -= ((bits.length + 7) >> 3) + 1;
      if (!f || !bits) {
        if (!bits) ctx.report('error', 'stack underflow');
        break;
      }
      markSubfield(wc, f, a.dst);
      if (f.special === 'in-port-oxm') {
        let v = inPortToOfp11(flow[W_IN_PORT] as number);
        for (let i = 0; i < a.dst.nBits; i++) {
          const m = 1 << (a.dst.ofs + i);
          v = bits[i] ? (v | m) >>> 0 : (v & ~m) >>> 0;
        }
        flow[W_IN_PORT] = inPortFromOfp11(v);
      } else {
        for (let i = 0; i < a.dst.nBits; i++) setFieldBits(flow, f, a.dst.ofs + i, 1, bits[i] ?? 0);
      }
      break;
    }
    case 'dec_ttl': {
      if (!isIpAny(flow)) break;
      wc[W_NW] |= 0xff << 8;
      const ttl = (flow[W_NW] >>> 8) & 0xff;
      if (ttl > 1) {
        flow[W_NW] = ((flow[W_NW] & ~(0xff << 8)) | ((ttl - 1) << 8)) >>> 0;
      } else {
        const v = (flow[W_DL_TYPE] & 0xffff) === ETH_TYPE_IP ? 4 : 6;
        for (const id of a.controllerIds.length ? a.controllerIds : [0])
          controllerAction(ctx, 'invalid_ttl', 0xffff, id, undefined);
        ctx.report('warn', `IPv${v} decrement TTL exception`);
        ctx.stopList = true;
      }
      break;
    }
    case 'set_tunnel':
      wc[W_TUN_ID] = 0xffffffff;
      wc[W_TUN_ID + 1] = 0xffffffff;
      flow[W_TUN_ID] = Number((a.tunId >> 32n) & 0xffffffffn);
      flow[W_TUN_ID + 1] = Number(a.tunId & 0xffffffffn);
      break;
    case 'set_queue':
      // The userspace datapath's queue is its skb_priority (OVS's dpif_netdev_queue_to_priority).
      wc[W_SKB_PRIORITY] = 0xffffffff;
      flow[W_SKB_PRIORITY] = a.queue >>> 0;
      break;
    case 'fin_timeout':
      // Applied by the caller, to packets with FIN or RST, now and on later megaflow hits.
      if (ctx.rule !== null) {
        ctx.finTimeouts.push({
          bridge: ctx.bridge.name,
          rule: ctx.rule,
          idle: a.idleTimeout,
          hard: a.hardTimeout,
        });
      }
      break;
    case 'pop_queue':
      wc[W_SKB_PRIORITY] = 0xffffffff;
      if (flow[W_SKB_PRIORITY] !== ctx.base0SkbPriority) {
        flow[W_SKB_PRIORITY] = ctx.base0SkbPriority;
        ctx.report(
          'detail',
          `queue = ${ctx.base0SkbPriority ? `0x${ctx.base0SkbPriority.toString(16)}` : '0'}`,
        );
      }
      break;
    case 'note':
    case 'meter':
    case 'conjunction':
    case 'check_pkt_larger':
      break;
    case 'sample':
      flowSampleAction(ctx, a);
      break;
    case 'resubmit': {
      const table = a.tableId === 255 ? ctx.tableId : a.tableId;
      tableAction(ctx, table, false, false, a.port === OFPP_IN_PORT ? -1 : a.port);
      break;
    }
    case 'goto_table':
      tableAction(ctx, a.tableId, true, true);
      break;
    case 'write_metadata': {
      const hi = Number((a.mask >> 32n) & 0xffffffffn);
      const lo = Number(a.mask & 0xffffffffn);
      const vh = Number((a.metadata >> 32n) & 0xffffffffn);
      const vl = Number(a.metadata & 0xffffffffn);
      flow[W_METADATA] = ((flow[W_METADATA] & ~hi) | (vh & hi)) >>> 0;
      flow[W_METADATA + 1] = ((flow[W_METADATA + 1] & ~lo) | (vl & lo)) >>> 0;
      break;
    }
    case 'clear_actions':
      ctx.actionSet = [];
      break;
    case 'write_actions':
      for (const w of a.actions) {
        const k = actionSetKey(w);
        ctx.actionSet = ctx.actionSet.filter((x) => actionSetKey(x) !== k);
        ctx.actionSet.push(w);
      }
      break;
    case 'exit':
      ctx.exit = true;
      break;
    case 'clone': {
      const savedFlow = flow.slice();
      const savedSet = ctx.actionSet;
      ctx.actionSet = [];
      doActions(ctx, a.actions);
      if (ctx.freezing) finishFreezing(ctx);
      ctx.actionSet = savedSet;
      flow.set(savedFlow);
      ctx.exit = false;
      break;
    }
    case 'multipath': {
      const f = fieldOf(a.dst.field);
      if (!f) break;
      const h = hashFields(ctx, a.fields, a.basis);
      const n = a.maxLink + 1;
      let link = 0;
      if (a.algorithm === 'modulo_n') link = h % n;
      else if (a.algorithm === 'hash_threshold') link = Math.floor((h / 0x100000000) * n);
      else link = hrwChoose(h, n);
      markSubfield(wc, f, a.dst);
      setFieldBits(flow, f, a.dst.ofs, a.dst.nBits, link);
      break;
    }
    case 'bundle': {
      const live = a.members.filter((m) => portLive(ctx, m));
      let chosen = OFPP_NONE;
      if (a.algorithm === 'active_backup') chosen = live[0] ?? OFPP_NONE;
      else if (live.length) {
        const h = hashFields(ctx, a.fields, a.basis);
        chosen = live[hrwChoose(h, live.length)] ?? OFPP_NONE;
      }
      if (a.load && a.dst) {
        const f = fieldOf(a.dst.field);
        if (f) {
          markSubfield(wc, f, a.dst);
          setFieldBits(flow, f, a.dst.ofs, a.dst.nBits, chosen);
        }
      } else if (chosen !== OFPP_NONE) {
        outputAction(ctx, chosen, 0);
      }
      break;
    }
    case 'learn':
      learnAction(ctx, a);
      break;
    case 'ct':
    case 'ct_clear':
    case 'nat':
      ctx.report('warn', 'connection tracking is not supported by this datapath, dropping');
      ctx.exit = true;
      break;
    case 'push_mpls':
      pushMplsAction(ctx, a.ethertype);
      break;
    case 'pop_mpls':
      popMplsAction(ctx, a.ethertype);
      break;
    case 'set_mpls_label':
      setMplsLse(ctx, MPLS_LABEL_MASK, (a.label & 0xfffff) << 12);
      break;
    case 'set_mpls_tc':
      setMplsLse(ctx, MPLS_TC_MASK, (a.tc & 7) << 9);
      break;
    case 'set_mpls_ttl':
      setMplsLse(ctx, MPLS_TTL_MASK, a.ttl & 0xff);
      break;
    case 'dec_mpls_ttl':
      if (decMplsTtl(ctx)) ctx.stopList = true;
      break;
  }
}

/* ------------------------------------------------------------------------------------ */
/* MPLS (OVS's compose_mpls_push/pop_action and flow_push/pop_mpls). Label stack entries are
 * kept as on the wire: label 31..12, tc 11..9, bottom of stack 8, ttl 7..0. */

const MPLS_LABEL_MASK = 0xfffff000;
const MPLS_TC_MASK = 0x00000e00;
const MPLS_BOS_MASK = 0x00000100;
const MPLS_TTL_MASK = 0x000000ff;

function isMplsEthType(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MCAST;
}

/** How many label stack entries the flow has, un-wildcarding the bottom-of-stack bits read. */
function countMplsLabels(flow: FlowKey, wc: FlowKey | null): number {
  if (!isMplsEthType(flow[W_DL_TYPE] & 0xffff)) return 0;
  let n = 0;
  for (let i = 0; i < N_MPLS; i++) {
    if (wc) wc[W_MPLS0 + i] |= MPLS_BOS_MASK;
    if (flow[W_MPLS0 + i] & MPLS_BOS_MASK) return i + 1;
    if (flow[W_MPLS0 + i]) n++;
  }
  return n;
}

function pushMplsAction(ctx: Ctx, ethType: number): void {
  const flow = ctx.flow;
  const wc = ctx.wc;
  const n = countMplsLabels(flow, wc);
  if (n === 0) {
    // Header changes still pending belong to the packet under the new label.
    commitOdpActions(flow, ctx.base, wc, ctx.odp);
  } else if (n >= N_MPLS) {
    ctx.report(
      'error',
      `dropping packet on which an MPLS push action can't be performed as it would have more MPLS LSEs than the ${N_MPLS} supported.`,
    );
    ctx.error = true;
    ctx.errorText = 'Too many MPLS labels';
    return;
  }
  if (n > 0) {
    for (let i = 0; i < n; i++) wc[W_MPLS0 + i] = 0xffffffff;
    for (let i = n; i >= 1; i--) flow[W_MPLS0 + i] = flow[W_MPLS0 + i - 1];
    flow[W_MPLS0] = (flow[W_MPLS0 + 1] & ~MPLS_BOS_MASK) >>> 0;
  } else {
    const dlType = flow[W_DL_TYPE] & 0xffff;
    // IPv4 or IPv6 explicit null, with the IP header's DSCP and TTL.
    const label = dlType === ETH_TYPE_IPV6 ? 2 : 0;
    let tc = 0;
    let ttl = 64;
    if (isIpAny(flow)) {
      tc = ((flow[W_NW] >>> 16) & 0xfc) >>> 2;
      wc[W_NW] |= 0xfc << 16;
      const t = (flow[W_NW] >>> 8) & 0xff;
      if (t) ttl = t;
      wc[W_NW] |= 0xff << 8;
    }
    flow[W_MPLS0] = ((label << 12) | ((tc & 7) << 9) | MPLS_BOS_MASK | ttl) >>> 0;
    // The L3 and L4 fields are hidden under the label (OVS clears them, and dp_hash).
    flow.fill(0, W_NW_SRC, FLOW_WORDS);
    flow[W_DP_HASH] = 0;
  }
  flow[W_DL_TYPE] = ((flow[W_DL_TYPE] & ~0xffff) | ethType) >>> 0;
}

function popMplsAction(ctx: Ctx, ethType: number): void {
  const flow = ctx.flow;
  const wc = ctx.wc;
  const n = countMplsLabels(flow, wc);
  if (n === 0) return;
  if (n === N_MPLS) {
    wc[W_MPLS0 + n - 1] |= MPLS_BOS_MASK;
    if (!(flow[W_MPLS0 + n - 1] & MPLS_BOS_MASK)) {
      ctx.report(
        'error',
        `dropping packet on which an MPLS pop action can't be performed as it has more MPLS LSEs than the ${N_MPLS} supported.`,
      );
      ctx.error = true;
      ctx.errorText = 'Too many MPLS labels';
      ctx.odp.length = 0;
      return;
    }
  }
  for (let i = 1; i < N_MPLS; i++) wc[W_MPLS0 + i] = 0xffffffff;
  for (let i = 1; i < n; i++) flow[W_MPLS0 + i - 1] = flow[W_MPLS0 + i];
  flow[W_MPLS0 + n - 1] = 0;
  flow[W_DL_TYPE] = ((flow[W_DL_TYPE] & ~0xffff) | ethType) >>> 0;
}

function setMplsLse(ctx: Ctx, mask: number, bits: number): void {
  const flow = ctx.flow;
  if (!isMplsEthType(flow[W_DL_TYPE] & 0xffff)) return;
  ctx.wc[W_MPLS0] |= mask;
  flow[W_MPLS0] = ((flow[W_MPLS0] & ~mask) | (bits & mask)) >>> 0;
}

/** dec_mpls_ttl; true when the current action list stops (OVS's "MPLS decrement TTL exception"). */
function decMplsTtl(ctx: Ctx): boolean {
  const flow = ctx.flow;
  if (isMplsEthType(flow[W_DL_TYPE] & 0xffff)) {
    const ttl = flow[W_MPLS0] & MPLS_TTL_MASK;
    ctx.wc[W_MPLS0] |= MPLS_TTL_MASK;
    if (ttl > 1) {
      flow[W_MPLS0] = ((flow[W_MPLS0] & ~MPLS_TTL_MASK) | (ttl - 1)) >>> 0;
      return false;
    }
    controllerAction(ctx, 'invalid_ttl', 0xffff, 0, undefined);
  }
  ctx.report('warn', 'MPLS decrement TTL exception');
  return true;
}

function fieldOf(name: string): Field | undefined {
  return fieldByName(name);
}

/* OVS's ofputil_port_to_ofp11 / _from_ofp11: reserved ports live at the top of 32 bits. */
function inPortToOfp11(p: number): number {
  return p >= 0xff00 ? (p + 0xffff0000) >>> 0 : p;
}

function inPortFromOfp11(v: number): number {
  if (v < 0xff00) return v;
  if (v >= 0xffffff00) return v - 0xffff0000;
  return OFPP_NONE;
}

function markSubfield(wc: FlowKey, f: Field, sf: Subfield): void {
  for (let i = 0; i < sf.nBits; i++) setFieldBits(wc, f, sf.ofs + i, 1, 1);
}

/** A VLAN header set through a field gets the 802.1Q TPID it needs on the wire. */
function fixVlanTpid(flow: FlowKey): void {
  if (flow[W_VLAN0] & VLAN_CFI && flow[W_VLAN0] >>> 16 === 0)
    flow[W_VLAN0] = ((ETH_TYPE_VLAN_8021Q << 16) | (flow[W_VLAN0] & 0xffff)) >>> 0;
  if (!(flow[W_VLAN0] & VLAN_CFI) && flow[W_VLAN0] !== 0 && (flow[W_VLAN0] & 0xffff) === 0)
    flow[W_VLAN0] = 0;
}

function setFieldAction(ctx: Ctx, name: string, value: number[], mask: number[]): void {
  const f = fieldOf(name);
  if (!f) return;
  const flow = ctx.flow;
  if (f.special === 'vlan-pcp' && !(flow[W_VLAN0] & VLAN_CFI)) {
    ctx.report('warn', `unmet prerequisites for ${f.name}, set_field ignored`);
    return;
  }
  const cur = getFieldWords(flow, f);
  const next = cur.map(
    (c, i) => ((c & ~(mask[i] ?? 0)) | ((value[i] ?? 0) & (mask[i] ?? 0))) >>> 0,
  );
  if (f.special === 'dl-vlan') {
    // dl_vlan (12 bits) keeps the rest of the TCI and implies a header.
    flow[W_VLAN0] = ((flow[W_VLAN0] & ~VLAN_VID_MASK) | (next[0] & VLAN_VID_MASK) | VLAN_CFI) >>> 0;
  } else if (f.special === 'vlan-pcp') {
    flow[W_VLAN0] = ((flow[W_VLAN0] & ~0xe000) | ((next[0] & 7) << 13)) >>> 0;
  } else {
    setFieldWords(flow, f, next);
  }
  if (f.word === W_VLAN0) {
    ctx.wc[W_VLAN0] |= 0xffff;
    fixVlanTpid(flow);
  } else {
    // Only the bits written (OVS's mf_mask_field_masked): a load of 8 bits of tcp_src makes
    // a megaflow, and a set action, of those 8 bits.
    const m = getFieldWords(ctx.wc, f);
    setFieldWords(
      ctx.wc,
      f,
      m.map((x, i) => (x | (mask[i] ?? 0)) >>> 0),
    );
  }
  // Neighbor Discovery fields need an ND message: checking that matches ICMPv6's type and
  // code (OVS's mf_are_prereqs_ok with a mask).
  if (f.word === W_ND_TARGET || ((f.word === W_ARP_SHA || f.word === W_ARP_THA) && isIpAny(flow)))
    ctx.wc[W_TP] |= 0x00ff00ff;
}

/* ------------------------------------------------------------------------------------ */
/* Output. */

/** Why output to CONTROLLER sends a packet-in, by where it runs (OVS's order of checks). */
function contextReason(ctx: Ctx): ControllerReason {
  if (ctx.inPacketOut) return 'packet_out';
  if (ctx.inGroup > 0) return 'group';
  if (ctx.inActionSet) return 'action_set';
  return 'action';
}

function outputAction(ctx: Ctx, port: number, maxLen: number): void {
  const inPort = ctx.flow[W_IN_PORT];
  switch (port) {
    case OFPP_IN_PORT:
      composeOutput(ctx, inPort);
      break;
    case OFPP_TABLE:
      tableAction(ctx, 0, true, true);
      break;
    case OFPP_NORMAL:
      normalAction(ctx);
      break;
    case OFPP_FLOOD:
    case OFPP_ALL:
      for (const p of ctx.bridge.floodOrder) {
        if (p.ofpPort === inPort) continue;
        if (port === OFPP_FLOOD && p.noFlood) continue;
        composeOutput(ctx, p.ofpPort);
      }
      break;
    case OFPP_CONTROLLER:
      controllerAction(ctx, contextReason(ctx), maxLen, 0, undefined);
      break;
    case OFPP_NONE:
      break;
    default:
      if (port === inPort) ctx.report('warn', 'skipping output to input port');
      else composeOutput(ctx, port);
  }
}

/**
 * output(port=P,max_len=N) (OVS's xlate_output_trunc_action): a trunc datapath action, then
 * the output, whose header changes the trunc precedes. Only ports with a datapath port: what
 * a truncation ahead of a patch port would do is unclear, so OVS refuses it.
 */
function outputTruncAction(ctx: Ctx, port: number, maxLen: number): void {
  switch (port) {
    case OFPP_TABLE:
    case OFPP_NORMAL:
    case OFPP_FLOOD:
    case OFPP_ALL:
    case OFPP_CONTROLLER:
    case OFPP_NONE:
      ctx.report('warn', `output_trunc does not support port: ${ofpPortToString(port)}`);
      return;
  }
  if (port === ctx.flow[W_IN_PORT]) {
    ctx.report('detail', 'skipping output to input port');
    return;
  }
  const xport = ctx.bridge.ports.get(port);
  if (!xport || xport.odpPort === null) {
    ctx.report('error', `output_trunc does not support patch port ${ofpPortToString(port)}`);
    return;
  }
  ctx.odp.push({ type: 'trunc', maxLen });
  outputAction(ctx, port, 0);
}

/** Output to one OpenFlow port of the current bridge (OVS's compose_output_action). */
/* OVS's xlate_enqueue_action: an output with skb_priority the queue's for this one packet. */
function enqueueAction(ctx: Ctx, port: number, queue: number): void {
  const inPort = ctx.flow[W_IN_PORT];
  let ofp = port;
  if (port === OFPP_IN_PORT) ofp = inPort;
  else if (port === inPort) return;
  const saved = ctx.flow[W_SKB_PRIORITY];
  ctx.flow[W_SKB_PRIORITY] = queue >>> 0;
  composeOutput(ctx, ofp);
  ctx.flow[W_SKB_PRIORITY] = saved;
}

function composeOutput(ctx: Ctx, ofp: number): void {
  const port = ctx.bridge.ports.get(ofp);
  if (!port) {
    ctx.report('warn', 'Nonexistent output port');
    return;
  }
  if (port.noFwd) {
    ctx.report('detail', 'OFPPC_NO_FWD set, skipping output');
    return;
  }
  if (port.peer) {
    patchOutput(ctx, port);
    return;
  }
  if (port.odpPort === null) return;
  // A queue with a DSCP marks the IP packets it sends (OVS's dscp_from_skb_priority), for
  // this output only.
  const savedNw = ctx.flow[W_NW];
  if (port.dscp && port.dscp.size > 0) {
    ctx.wc[W_SKB_PRIORITY] = 0xffffffff;
    const dscp = port.dscp.get(ctx.flow[W_SKB_PRIORITY]);
    if (dscp !== undefined) {
      ctx.wc[W_NW] |= 0xfc << 16;
      ctx.flow[W_NW] = ((ctx.flow[W_NW] & ~(0xfc << 16)) | ((dscp & 0xfc) << 16)) >>> 0;
    }
  }
  commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  ipfixSample(ctx, port.odpPort);
  ctx.odp.push({ type: 'output', port: port.odpPort });
  ctx.flow[W_NW] = savedNw;
  mirrorEgress(ctx, ofp, ctx.flow[W_VLAN0], ctx.flow[W_VLAN1]);
}

/* ------------------------------------------------------------------------------------ */
/* Mirrors (OVS's mirror_packet): a copy of the packet as it entered the bridge goes to each
 * selecting mirror's output port (SPAN) or is flooded tagged with its output VLAN (RSPAN),
 * once per mirror. */

function mirrorIngress(ctx: Ctx): void {
  const ms = ctx.bridge.mirrors;
  if (ms.length === 0) return;
  const inPort = ctx.flow[W_IN_PORT];
  let bits = 0;
  ms.forEach((m, i) => {
    if (m.selectAll || m.srcPorts.has(inPort)) bits |= 1 << i;
  });
  const inBundle = ctx.bridge.normal.portByOfp.get(inPort);
  if (bits && inBundle) mirrorPacket(ctx, inBundle, bits, ctx.flow[W_VLAN0], ctx.flow[W_VLAN1]);
}

/** After an output to `ofp` with the packet carrying VLAN words (w0, w1) there. */
function mirrorEgress(ctx: Ctx, ofp: number, w0: number, w1: number): void {
  const ms = ctx.bridge.mirrors;
  if (ms.length === 0) return;
  let bits = 0;
  ms.forEach((m, i) => {
    if (m.selectAll || m.dstPorts.has(ofp)) bits |= 1 << i;
  });
  const bundle = ctx.bridge.normal.portByOfp.get(ofp);
  if (bits && bundle) mirrorPacket(ctx, bundle, bits, w0, w1);
}

/**
 * Sends copies of the packet (as it is now, with VLAN words w0/w1) to mirrors `bits`, whose
 * selection saw it on `bundle` (OVS's mirror_packet).
 */
function mirrorPacket(ctx: Ctx, bundle: NormalPort, bits: number, w0: number, w1: number): void {
  const b = ctx.bridge;
  bits &= ~(ctx.mirrored.get(b.name) ?? 0);
  if (!bits) return;
  const vlans = ingressVlan(bundle, w0, w1);
  if (!vlans) return;
  const vid = vlans[0] & VLAN_VID_MASK;
  for (let i = 0; i < b.mirrors.length; i++) {
    if (!(bits & (1 << i))) continue;
    const m = b.mirrors[i] as XMirror;
    if (m.vlans) ctx.wc[W_VLAN0] |= VLAN_VID_MASK | VLAN_CFI;
    if (m.vlans && !m.vlans.has(vid)) continue;
    ctx.mirrored.set(b.name, (ctx.mirrored.get(b.name) ?? 0) | (1 << i));
    ctx.mirrorSnaplen = m.snaplen;
    if (m.outPort !== null) {
      const out = b.normal.portByOfp.get(m.outPort);
      if (out && out.odpPort !== null) mirrorOut(ctx, egress(out, vlans[0], vlans[1], w0));
    } else if (m.outVlan !== null && vid !== m.outVlan) {
      const dst = macFromFlow(ctx.flow);
      ctx.wc[W_DL_DST] |= 0xffff;
      ctx.wc[W_DL_DST + 1] = 0xffffffff;
      if (isReservedMac(dst)) continue;
      const v0 = ((vlans[0] & ~VLAN_VID_MASK) | m.outVlan | VLAN_CFI) >>> 0;
      for (const p of b.normal.ports) {
        if (p.mirrorOut || p.odpPort === null || !bundleIncludesVlan(p, v0, vlans[1])) continue;
        mirrorOut(ctx, egress(p, v0, vlans[1], w0));
      }
    }
    ctx.mirrorSnaplen = 0;
  }
}

function macFromFlow(flow: FlowKey): number {
  return (flow[W_DL_DST] & 0xffff) * 0x100000000 + (flow[W_DL_DST + 1] >>> 0);
}

function mirrorOut(ctx: Ctx, o: NormalOutput): void {
  const v0 = ctx.flow[W_VLAN0];
  const v1 = ctx.flow[W_VLAN1];
  ctx.flow[W_VLAN0] = o.vlan0;
  ctx.flow[W_VLAN1] = o.vlan1;
  commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  ipfixSample(ctx, o.port.odpPort as number);
  const snaplen = ctx.mirrorSnaplen;
  if (snaplen > 0 && snaplen < 0xffff) ctx.odp.push({ type: 'trunc', maxLen: snaplen });
  ctx.odp.push({ type: 'output', port: o.port.odpPort as number });
  ctx.flow[W_VLAN0] = v0;
  ctx.flow[W_VLAN1] = v1;
}

/** Continues the translation in the patch peer's bridge, as if received there. */
function patchOutput(ctx: Ctx, port: XPort): void {
  const peer = port.peer;
  if (!peer) return;
  const bridge = ctx.xin.world.bridge(peer.bridge);
  if (!bridge?.ports.has(peer.ofpPort)) {
    ctx.report('warn', 'patch port peer is not on any bridge');
    return;
  }
  const flow = ctx.flow;
  const saved = flow.slice();
  const savedBridge = ctx.bridge;
  const savedTrace = ctx.trace;
  const savedSet = ctx.actionSet;
  const savedTable = ctx.tableId;
  const savedStack = ctx.stack;
  ctx.patches.push({
    bridge: savedBridge.name,
    port: port.ofpPort,
    peerBridge: peer.bridge,
    peerPort: peer.ofpPort,
  });
  ctx.bridge = bridge;
  ctx.actionSet = [];
  // The peer starts with an empty stack, and this bridge's is as it was on return (OVS).
  ctx.stack = [];
  // The packet enters the peer with fresh metadata, as from a new port.
  flow[W_IN_PORT] = peer.ofpPort;
  flow[W_METADATA] = 0;
  flow[W_METADATA + 1] = 0;
  for (let i = 0; i < N_REGS; i++) flow[W_REG0 + i] = 0;
  if (ctx.trace) ctx.trace = traceAdd(ctx.trace, 'bridge', `bridge("${bridge.name}")`);
  // Entering table 0 again counts against the depth limit (tableAction deepens).
  tableAction(ctx, 0, true, true);
  if (ctx.actionSet.length > 0 && !ctx.error && !ctx.freezing) executeActionSet(ctx);
  if (ctx.freezing) finishFreezing(ctx);
  ctx.exit = false;
  ctx.bridge = savedBridge;
  ctx.trace = savedTrace;
  ctx.actionSet = savedSet;
  ctx.tableId = savedTable;
  ctx.stack = savedStack;
  // The packet in this bridge is as it was before it crossed (the datapath keeps what the
  // committed actions did to it, which the next commit takes into account).
  flow.set(saved);
}

function normalAction(ctx: Ctx): void {
  const b = ctx.bridge;
  const r = xlateNormal(b.normal, b.macs, ctx.flow, ctx.wc, {
    sideEffects: ctx.xin.sideEffects,
  });
  if (ctx.trace) for (const rep of r.reports) traceAdd(ctx.trace, rep.kind, rep.text);
  if (r.learn) {
    ctx.learns.push({ bridge: b.name, learn: r.learn });
    if (ctx.trace && ctx.xin.sideEffects) {
      const p = b.portName(r.learn.port) ?? String(r.learn.port);
      const mac = formatMac(r.learn.mac);
      // OVS reports learning before the forwarding decision; placing it first keeps its order.
      const node = ctx.trace.pop();
      traceAdd(ctx.trace, 'detail', `learned that ${mac} is on port ${p} in VLAN ${r.learn.vlan}`);
      if (node) ctx.trace.push(node);
    }
  }
  if (r.drop !== null) return;
  // Everything but VLAN headers is committed first; NORMAL then commits VLANs per output.
  const vlan0 = ctx.flow[W_VLAN0];
  const vlan1 = ctx.flow[W_VLAN1];
  ctx.flow[W_VLAN0] = ctx.base[W_VLAN0];
  ctx.flow[W_VLAN1] = ctx.base[W_VLAN1];
  commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  ctx.flow[W_VLAN0] = vlan0;
  ctx.flow[W_VLAN1] = vlan1;
  const patchOuts = r.outputs.filter((o) => o.port.odpPort === null);
  for (const o of r.outputs) {
    if (o.port.odpPort === null) continue;
    mirrorOut(ctx, o);
    mirrorEgress(ctx, o.port.ofpPort, o.vlan0, o.vlan1);
  }
  for (const o of patchOuts) {
    const xp = b.ports.get(o.port.ofpPort);
    if (!xp?.peer) continue;
    const save0 = ctx.flow[W_VLAN0];
    const save1 = ctx.flow[W_VLAN1];
    ctx.flow[W_VLAN0] = o.vlan0;
    ctx.flow[W_VLAN1] = o.vlan1;
    patchOutput(ctx, xp);
    ctx.flow[W_VLAN0] = save0;
    ctx.flow[W_VLAN1] = save1;
  }
}

function formatMac(mac: number): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--)
    parts.push((Math.floor(mac / 2 ** (8 * i)) & 0xff).toString(16).padStart(2, '0'));
  return parts.join(':');
}

function controllerAction(
  ctx: Ctx,
  reason: ControllerReason,
  maxLen: number,
  controllerId: number,
  userdata: Uint8Array | undefined,
  implicitMiss?: 'implicit',
  continuation?: Continuation,
): void {
  commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  let miss: 'explicit' | 'implicit' | undefined = implicitMiss;
  if (reason === 'action' && ctx.rule !== null && isTableMissRule(ctx.rule) && !continuation)
    miss = 'explicit';
  let meta: number[] | undefined;
  // Past a patch port the packet-in names the peer's port, which the datapath never saw.
  if (ctx.flow[W_IN_PORT] !== ctx.xin.flow[W_IN_PORT] || ctx.resumed)
    meta = [W_IN_PORT, ctx.flow[W_IN_PORT]];
  for (const w of PIN_META_WORDS) {
    if (ctx.flow[w] === 0) continue;
    meta ??= [];
    meta.push(w, ctx.flow[w]);
  }
  if (continuation) {
    meta ??= [];
    meta.push(CONTINUATION_TOKEN_WORD, continuationToken(ctx.bridge.name, continuation));
  }
  const id = ctx.xin.controllerId({
    bridge: ctx.bridge.name,
    reason,
    tableId: ctx.tableId,
    cookie: ctx.ruleCookie,
    maxLen,
    controllerId,
    userdata,
    ...(miss ? { miss } : {}),
    ...(meta ? { meta } : {}),
    ...(continuation ? { continuation } : {}),
  });
  ctx.odp.push({
    type: 'userspace',
    pid: 0,
    cookie: {
      kind: 'controller',
      reason: REASON_CODES[reason],
      dontSend: false,
      continuation: continuation !== undefined,
      recircId: id,
      ruleCookie: ctx.ruleCookie,
      controllerId,
      maxLen,
    },
    actions: false,
    tunnelOutPort: null,
  });
}

/**
 * The end of a pause (OVS's finish_freezing): the packet-in with the frozen state goes where
 * translation stands, table 0 as OVS reports it; translation of this frame stays stopped.
 */
function finishFreezing(ctx: Ctx): void {
  const pause = ctx.pause;
  // A plain trace has nobody to resume it: like OVS, it shows no userspace action then.
  if (pause !== null && (ctx.xin.sideEffects || ctx.xin.trace === null)) {
    const c: Continuation = {
      bridge: ctx.bridge.uuid ?? null,
      stack: ctx.stack.map(stackBitsToBytes),
      mirrors: ctx.mirrored.get(ctx.bridge.name) ?? 0,
      conntracked: false,
      actions: ctx.frozen,
      actionSet: [...ctx.actionSet],
      odpPort: ctx.resumed
        ? ctx.odpInPort
        : (ctx.xin.bridge.ports.get(ctx.xin.flow[W_IN_PORT] as number)?.odpPort ?? 0),
    };
    const table = ctx.tableId;
    ctx.tableId = 0;
    controllerAction(
      ctx,
      pause.reason,
      pause.maxLen,
      pause.controllerId,
      pause.userdata,
      undefined,
      c,
    );
    ctx.tableId = table;
  } else commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  ctx.freezing = false;
  ctx.pause = null;
  ctx.frozen = [];
  ctx.lastUnroll = null;
}

/** About how many bytes an action takes as a netlink attribute (only the 64 kB limit uses it). */
function odpActionBytes(a: OdpAction): number {
  switch (a.type) {
    case 'output':
    case 'recirc':
    case 'meter':
    case 'trunc':
      return 8;
    case 'pop_vlan':
    case 'pop_eth':
    case 'ct_clear':
      return 4;
    case 'push_vlan':
    case 'pop_mpls':
      return 12;
    case 'set':
      return 32;
    case 'userspace':
      return 48;
    case 'sample':
    case 'clone': {
      let n = 16;
      for (const x of a.actions) n += odpActionBytes(x);
      return n;
    }
    default:
      return 16;
  }
}

/** OVS's rule_is_table_miss: priority 0 and no match at all. */
function isTableMissRule(rule: XRule): boolean {
  if (rule.priority !== 0) return false;
  const m = rule.match.mask;
  for (let i = 0; i < FLOW_WORDS; i++) if (m[i] !== 0) return false;
  return true;
}

const REASON_CODES: Record<ControllerReason, number> = {
  no_match: 0,
  action: 1,
  invalid_ttl: 2,
  action_set: 3,
  group: 4,
  packet_out: 5,
};

/**
 * sFlow (OVS's compose_sflow_action): the datapath samples 1 in N packets of the megaflow
 * before anything else and hands them to userspace with the packet's VLAN and where the
 * actions send it: the datapath port when there is one output, 0x80000000 | n for n outputs,
 * 0x40000000 | 256 when dropped (sFlow's "discarded, unknown reason").
 */
function sflowSample(ctx: Ctx, n: number): void {
  const outs = ctx.odp.filter((a) => a.type === 'output') as Array<{
    type: 'output';
    port: number;
  }>;
  const output =
    outs.length === 1
      ? (outs[0] as { port: number }).port
      : outs.length === 0
        ? (0x40000000 | 256) >>> 0
        : (0x80000000 | outs.length) >>> 0;
  const v0 = ctx.xin.flow[W_VLAN0];
  ctx.wc[W_VLAN0] |= 0xffff;
  const sample: OdpAction = {
    type: 'sample',
    probability: Math.max(1, Math.floor(0xffffffff / n)),
    actions: [
      {
        type: 'userspace',
        pid: 0,
        cookie: {
          kind: 'sflow',
          vid: v0 & VLAN_CFI ? v0 & VLAN_VID_MASK : 0,
          pcp: v0 & VLAN_CFI ? (v0 >>> 13) & 7 : 0,
          output,
        },
        actions: false,
        tunnelOutPort: null,
      },
    ],
  };
  ctx.odp.unshift(sample);
}

/** The datapath's "no port" in userspace cookies (an ingress IPFIX sample). */
const ODPP_NONE = 0xffffffff;

/**
 * OVS's compose_sample_action: a userspace() action with `cookie`, inside a sample() unless
 * the probability is 100%; nothing at all for probability 0.
 */
function composeSample(ctx: Ctx, probability: number, cookie: UserspaceCookie): void {
  if (probability === 0) return;
  const up: OdpAction = { type: 'userspace', pid: 0, cookie, actions: false, tunnelOutPort: null };
  ctx.odp.push(
    probability >>> 0 === 0xffffffff
      ? up
      : { type: 'sample', probability: probability >>> 0, actions: [up] },
  );
}

/**
 * Bridge-wide IPFIX (OVS's compose_ipfix_action): a sample on reception (`output` =
 * ODPP_NONE) and one ahead of every output to a datapath port, as the exporter enables them.
 */
function ipfixSample(ctx: Ctx, output: number): void {
  const ipfix = ctx.bridge.ipfix;
  if (!ipfix) return;
  if (output === ODPP_NONE) {
    if (ctx.xin.flow[W_IN_PORT] === OFPP_NONE || !ipfix.inputSampling) return;
  } else if (!ipfix.outputSampling) return;
  composeSample(ctx, ipfix.bridgeProbability, { kind: 'ipfix', outputPort: output });
}

/** The OpenFlow sample action (OVS's xlate_sample_action), for per-flow IPFIX. */
function flowSampleAction(ctx: Ctx, a: Extract<Ofpact, { type: 'sample' }>): void {
  if (!ctx.bridge.ipfix) return;
  let output = ODPP_NONE;
  if (a.samplingPort !== OFPP_NONE && a.samplingPort !== ctx.xin.flow[W_IN_PORT]) {
    const p = ctx.bridge.ports.get(a.samplingPort);
    if (!p || p.odpPort === null) {
      ctx.report('error', `can't use unknown port ${a.samplingPort} in flow sample action`);
      return;
    }
    output = p.odpPort;
  }
  commitOdpActions(ctx.flow, ctx.base, ctx.wc, ctx.odp);
  // The 16-bit probability scaled to 32 bits for the same fraction.
  const p16 = a.probability & 0xffff;
  composeSample(ctx, ((p16 << 16) | p16) >>> 0, {
    kind: 'flow_sample',
    probability: p16,
    collectorSetId: a.collectorSetId >>> 0,
    obsDomainId: a.obsDomainId >>> 0,
    obsPointId: a.obsPointId >>> 0,
    outputPort: output,
    direction: a.direction,
  });
}

/* ------------------------------------------------------------------------------------ */
/* Groups. */

function groupAction(ctx: Ctx, groupId: number): void {
  const g = ctx.bridge.groups?.get(groupId);
  if (!g) {
    ctx.report('warn', `output to nonexistent group ${groupId}`);
    return;
  }
  switch (g.type) {
    case 'all':
      // One hit for the group and every bucket (OVS credits an "all" group once a packet).
      ctx.groups.push({ bridge: ctx.bridge.name, groupId: g.groupId, bucket: -1 });
      for (const b of g.buckets) groupBucket(ctx, b);
      break;
    case 'indirect':
      if (g.buckets[0]) groupBucket(ctx, g.buckets[0], g);
      break;
    case 'ff': {
      const b = g.buckets.find((x) => bucketLive(ctx, x));
      if (b) {
        ctx.report('detail', `using bucket ${b.bucketId}`);
        groupBucket(ctx, b, g);
      } else ctx.report('detail', 'no live bucket');
      break;
    }
    case 'select': {
      const live = g.buckets.filter((x) => x.weight > 0 && bucketLive(ctx, x));
      if (live.length === 0) {
        ctx.report('detail', 'no live bucket');
        break;
      }
      const h = hashFields(ctx, 'symmetric_l4', 0);
      let best = live[0];
      let bestScore = -1;
      for (const b of live) {
        const score = (mix(h ^ b.bucketId) % 0xffff) * b.weight;
        if (score > bestScore) {
          bestScore = score;
          best = b;
        }
      }
      ctx.report('detail', `using bucket ${best.bucketId}`);
      groupBucket(ctx, best, g);
      break;
    }
  }
}

function bucketLive(ctx: Ctx, b: XBucket): boolean {
  if (b.watchPort !== OFPP_ANY_WATCH && b.watchPort < OFPP_MAX && !portLive(ctx, b.watchPort))
    return false;
  if (b.watchPort === OFPP_LOCAL && !portLive(ctx, OFPP_LOCAL)) return false;
  return true;
}
const OFPP_ANY_WATCH = 0xffff;

function groupBucket(ctx: Ctx, b: XBucket, g?: XGroup): void {
  if (g)
    ctx.groups.push({ bridge: ctx.bridge.name, groupId: g.groupId, bucket: g.buckets.indexOf(b) });
  const oldTrace = ctx.trace;
  if (ctx.trace) ctx.trace = traceAdd(ctx.trace, 'bucket', `bucket ${b.bucketId}`);
  const saved = ctx.flow.slice();
  const sorted = [...b.ofpacts].sort((x, y) => actionSetRank(x) - actionSetRank(y));
  ctx.depth++;
  ctx.inGroup++;
  doActions(ctx, sorted);
  if (ctx.freezing) finishFreezing(ctx);
  ctx.inGroup--;
  ctx.depth--;
  ctx.flow.set(saved);
  ctx.exit = false;
  ctx.trace = oldTrace;
}

function executeActionSet(ctx: Ctx): void {
  let acts = [...ctx.actionSet].sort((x, y) => actionSetRank(x) - actionSetRank(y));
  ctx.actionSet = [];
  // With a group in the set, its output action is ignored.
  if (acts.some((a) => a.type === 'group')) acts = acts.filter((a) => a.type !== 'output');
  const oldTrace = ctx.trace;
  if (ctx.trace) ctx.trace = traceAdd(ctx.trace, 'table', '--. Executing action set:');
  ctx.inActionSet = true;
  doActions(ctx, acts);
  ctx.inActionSet = false;
  ctx.trace = oldTrace;
}

/* ------------------------------------------------------------------------------------ */
/* Hashing (multipath, bundle, select groups): the fields each mode covers are unwildcarded. */

function mix(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hashFields(ctx: Ctx, fields: string, basis: number): number {
  const flow = ctx.flow;
  const wc = ctx.wc;
  let h = mix(basis);
  const add = (w: number, m = 0xffffffff): void => {
    wc[w] = (wc[w] | m) >>> 0;
    h = mix(h ^ (flow[w] & m));
  };
  // Symmetric modes combine both directions' values so replies take the same path.
  const sym = (a: number, b: number, m = 0xffffffff): void => {
    wc[a] = (wc[a] | m) >>> 0;
    wc[b] = (wc[b] | m) >>> 0;
    h = mix(h ^ ((flow[a] & m) ^ (flow[b] & m)));
  };
  switch (fields) {
    case 'eth_src':
      add(W_DL_SRC, 0xffff);
      add(W_DL_SRC + 1);
      break;
    case 'nw_src':
      add(W_NW_SRC);
      break;
    case 'nw_dst':
      add(W_NW_DST);
      break;
    default: {
      sym(W_DL_SRC, W_DL_DST, 0xffff);
      sym(W_DL_SRC + 1, W_DL_DST + 1);
      add(W_DL_TYPE, 0xffff);
      if (isIpAny(flow)) {
        sym(W_NW_SRC, W_NW_DST);
        add(W_NW, 0xff);
        const proto = flow[W_NW] & 0xff;
        if (
          fields !== 'symmetric_l3' &&
          (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP)
        ) {
          wc[W_TP] = 0xffffffff;
          h = mix(h ^ ((flow[W_TP] >>> 16) ^ (flow[W_TP] & 0xffff)));
        }
      }
    }
  }
  return h >>> 0;
}

function hrwChoose(h: number, n: number): number {
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < n; i++) {
    const s = mix(h ^ Math.imul(i + 1, 0x9e3779b1));
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

/* ------------------------------------------------------------------------------------ */
/* learn(). */

function learnAction(ctx: Ctx, a: Extract<Ofpact, { type: 'learn' }>): void {
  // Not slow-pathed: the megaflow un-wildcards what the learned flow is built from, and each
  // hit applies the flow_mod again (the caller's cache, OVS's XC_LEARN).
  const flow = ctx.flow;
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  const ofpacts: Ofpact[] = [];
  if (a.finIdleTimeout || a.finHardTimeout) {
    ofpacts.push({
      type: 'fin_timeout',
      idleTimeout: a.finIdleTimeout,
      hardTimeout: a.finHardTimeout,
    });
  }
  const srcBits = (src: { subfield: Subfield } | { value: bigint }, nBits: number): bigint => {
    if ('value' in src) return src.value;
    const f = fieldOf(src.subfield.field);
    if (!f) return 0n;
    markSubfield(ctx.wc, f, src.subfield);
    let v = 0n;
    for (let i = nBits - 1; i >= 0; i--)
      v = (v << 1n) | BigInt(getFieldBits(flow, f, src.subfield.ofs + i, 1));
    return v;
  };
  for (const spec of a.specs) {
    if (spec.kind === 'output') {
      const f = fieldOf(spec.src.field);
      if (!f) continue;
      markSubfield(ctx.wc, f, spec.src);
      ofpacts.push({
        type: 'output',
        port: getFieldBits(flow, f, spec.src.ofs, spec.src.nBits),
        maxLen: 0,
      });
      continue;
    }
    const dst = fieldOf(spec.dst.field);
    if (!dst) continue;
    const v = srcBits(spec.src, spec.dst.nBits);
    if (spec.kind === 'match') {
      for (let i = 0; i < spec.dst.nBits; i++) {
        setFieldBits(key, dst, spec.dst.ofs + i, 1, Number((v >> BigInt(i)) & 1n));
        setFieldBits(mask, dst, spec.dst.ofs + i, 1, 1);
      }
      // As OVS's match_set_dl_vlan / _dl_vlan_pcp: those two also match "has a VLAN header";
      // bits of vlan_tci or vlan_vid match only themselves.
      if (dst.special === 'dl-vlan' || dst.special === 'vlan-pcp') mask[W_VLAN0] |= VLAN_CFI;
    } else {
      const nWords = dst.nWords;
      const value: number[] = new Array(nWords).fill(0);
      const m: number[] = new Array(nWords).fill(0);
      const tmpK = new Uint32Array(FLOW_WORDS);
      const tmpM = new Uint32Array(FLOW_WORDS);
      for (let i = 0; i < spec.dst.nBits; i++) {
        setFieldBits(tmpK, dst, spec.dst.ofs + i, 1, Number((v >> BigInt(i)) & 1n));
        setFieldBits(tmpM, dst, spec.dst.ofs + i, 1, 1);
      }
      const kw = getFieldWords(tmpK, dst);
      const mw = getFieldWords(tmpM, dst);
      for (let i = 0; i < nWords; i++) {
        value[i] = kw[i];
        m[i] = mw[i];
      }
      ofpacts.push({ type: 'set_field', field: dst.name, value, mask: m, raw: 'load' });
    }
  }
  // A plain ofproto/trace neither learns nor caches, so OVS builds no flow then.
  if (ctx.trace && !ctx.xin.sideEffects) {
    ctx.report('warn', 'suppressing side effects, so learn action ignored');
    return;
  }
  const fm: FlowMod = {
    command: 'add',
    match: { key, mask },
    priority: a.priority,
    newCookie: a.cookie,
    cookie: 0n,
    cookieMask: 0n,
    tableId: a.tableId,
    idleTimeout: a.idleTimeout,
    hardTimeout: a.hardTimeout,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP_NONE,
    outGroup: 0xffffffff,
    flags: { ...noFlowModFlags(), sendFlowRem: a.flags.sendFlowRem },
    importance: 0,
    ofpacts,
  };
  if (ctx.trace) {
    const m = matchToString(fm.match, 0x8000);
    let s = `table=${a.tableId}${m ? ` ${m}` : ''} priority=${a.priority}`;
    if (a.cookie) s += ` cookie=0x${a.cookie.toString(16)}`;
    if (a.idleTimeout) s += ` idle=${a.idleTimeout}`;
    if (a.hardTimeout) s += ` hard=${a.hardTimeout}`;
    if (a.flags.sendFlowRem) s += ' send_flow_rem';
    s += ` actions=${ofpacts.map((x) => formatOfpact(x)).join(',')}`;
    ctx.report('detail', s);
  }
  // Whether the flow goes in decides what result_dst says; the caller applies the same
  // decision (learn.ts) when it handles the packet.
  const outcome = a.limit > 0 ? learnOutcome(ctx.bridge.tables, fm, a.limit) : null;
  const success = outcome?.kind !== 'limit';
  // Revalidating a flow whose learned flow is gone: with a limit, learning it again may now
  // fail, so the megaflow must not stand for it (OVS's avoid_caching).
  if (a.limit > 0 && !ctx.xin.sideEffects && outcome?.kind !== 'refresh') ctx.slow = true;
  if (a.flags.writeResult && a.resultDst) {
    const f = fieldOf(a.resultDst.field);
    if (f) {
      markSubfield(ctx.wc, f, a.resultDst);
      setFieldBits(flow, f, a.resultDst.ofs, a.resultDst.nBits, success ? 1 : 0);
      ctx.report('detail', `${formatSubfield(a.resultDst)} is now ${success ? '0x1' : '0'}`);
    }
  }
  if (success) ctx.flowMods.push({ bridge: ctx.bridge.name, fm, limit: a.limit });
  else ctx.report('detail', 'Limit exceeded, learn failed');
}

/** The megaflow of a translation as ofproto/trace prints it. */
export function formatMegaflow(
  flow: FlowKey,
  wc: FlowKey,
  portName?: (p: number) => string | undefined,
): string {
  const m = matchFromFlowAndMask(flow, wc);
  const s = matchToString(m, 0x8000, { portName });
  return s;
}

export { W_SKB_PRIORITY };
