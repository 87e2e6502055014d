/*
 * The NORMAL action: an 802.1Q learning switch (OVS's xlate_normal).
 *
 * xlateNormal() decides, from the packet's flow key, the bridge's ports with their VLAN
 * settings and a read-only view of the MAC table, what happens to a packet:
 *   - dropped, and why;
 *   - sent to the one port its destination MAC was learned on, or flooded to every other
 *     port of its VLAN, each output with the VLAN headers the packet must carry there;
 *   - what to learn (source MAC, VLAN, port): returned, not applied, so translation has no
 *     side effects; the caller feeds it to MacLearning.update() (and keeps it in its xlate
 *     cache, as OVS's XC_NORMAL entry, to re-learn on megaflow hits).
 * It also ORs into a caller's mask every flow bit the decision depended on (the megaflow).
 *
 * normalOdpActions() turns a decision into datapath actions the way OVS commits VLAN changes:
 * before each output, pop the headers that differ from what the packet carries now and push
 * the wanted ones, then output.
 *
 * Each decision carries the lines ofproto/trace prints for it (`reports`).
 *
 * Not covered here: multicast snooping, mirroring itself (only mirror output ports are
 * refused), bond member choice and SLB admissibility (a bundle is one datapath port), and
 * patch ports (output to them is the caller's).
 */

import type { OdpPort } from '../../../dpif/dpif.ts';
import { type OdpAction, output } from '../../../dpif/netdev/odp-actions.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_VLAN_8021AD,
  ETH_TYPE_VLAN_8021Q,
  type FlowKey,
  OFPP_CONTROLLER,
  OFPP_NONE,
  VLAN_CFI,
  VLAN_VID_MASK,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_VLAN0,
  W_VLAN1,
} from '../../../lib/flow/layout.ts';
import type { OfpPort } from '../../ofp-port.ts';
import { MAC_ENTRY_AGE_STATIC_ENTRY, macFromWords } from '../mac-learning.ts';
import {
  hdrVid,
  type IngressRefusal,
  includesVlan,
  inputVidRefusal,
  type PortVlan,
  TRUNK_ALL,
  xvlanExtract,
  xvlanInputTranslate,
  xvlanOutputTranslate,
  xvlanPutWord,
} from '../vlan.ts';

/** A bundle as NORMAL sees it. */
export interface NormalPort {
  readonly name: string;
  readonly ofpPort: OfpPort;
  /** null for a port without a datapath port (a patch port). */
  readonly odpPort: OdpPort | null;
  readonly vlan: PortVlan;
  /** False when OpenFlow set the port's no-flood flag. */
  readonly floodable: boolean;
  /** Output port of some mirror: NORMAL neither takes packets from it nor sends to it. */
  readonly mirrorOut: boolean;
}

export interface NormalBridge {
  /** In the order floods go out (OVS's bundle list order). */
  readonly ports: readonly NormalPort[];
  readonly portByOfp: ReadonlyMap<number, NormalPort>;
  /** Bridge other_config:forward-bpdu. */
  readonly forwardBpdu: boolean;
}

/** What NORMAL reads from the MAC table. */
export interface MacView {
  /** `expires` is MAC_ENTRY_AGE_STATIC_ENTRY for static entries (learning never moves them). */
  lookup(
    mac: number,
    vlan: number,
  ): { readonly port: OfpPort; readonly expires: number } | undefined;
  mayLearn(mac: number, vlan: number): boolean;
}

export type NormalDropReason =
  | 'no-input-bundle'
  | 'partial-vlan'
  | 'input-mirror-output'
  | 'vlan-not-allowed'
  | 'reserved-mac'
  | 'learned-port-mirror'
  | 'learned-port-unknown'
  | 'learned-port-is-input';

export interface NormalOutput {
  readonly port: NormalPort;
  /** The packet's VLAN headers on egress as flow key words (TPID<<16 | TCI with CFI), 0 = none. */
  readonly vlan0: number;
  readonly vlan1: number;
}

export interface NormalLearn {
  readonly mac: number;
  readonly vlan: number;
  readonly port: OfpPort;
  readonly isGratArp: boolean;
}

export interface NormalResult {
  /** The VLAN the packet belongs to inside the bridge; -1 if dropped before that was known. */
  readonly vlan: number;
  readonly drop: NormalDropReason | null;
  readonly flood: boolean;
  readonly outputs: readonly NormalOutput[];
  readonly learn: NormalLearn | null;
  /**
   * What ofproto/trace says of the decision, in order. ofproto/trace prints an 'error' as
   * ">>>> text <<<<", a 'warn' as ">> text" and a 'detail' as "-> text".
   */
  readonly reports: readonly NormalReport[];
}

export interface NormalReport {
  readonly kind: 'error' | 'warn' | 'detail';
  readonly text: string;
}

export interface NormalOptions {
  /**
   * Whether learning happens in this translation (OVS's allow_side_effects, false for a
   * trace without a packet). Only changes the answer when source and destination MAC are
   * the same: the just-learned entry then points back at the input port.
   */
  readonly sideEffects?: boolean;
}

/** The bundle OVS uses for packets a controller sends with in_port NONE or CONTROLLER. */
const NONE_BUNDLE: NormalPort = {
  name: 'OFPP_NONE',
  ofpPort: OFPP_NONE as OfpPort,
  odpPort: null,
  vlan: TRUNK_ALL,
  floodable: false,
  mirrorOut: false,
};

/* IEEE and vendor control-protocol destinations NORMAL never forwards (unless forward-bpdu). */
const RESERVED_MACS: ReadonlySet<number> = (() => {
  const s = new Set<number>();
  for (let i = 0; i < 16; i++) s.add(0x0180c2000000 + i);
  for (const m of [0x00e02b000000, 0x00e02b000004, 0x00e02b000006]) s.add(m);
  for (const m of [0x01000c000000, 0x01000ccccccc, 0x01000ccccccd, 0x01000ccdcdcd]) s.add(m);
  for (let i = 0; i < 8; i++) s.add(0x01000cccccc0 + i);
  return s;
})();

export function isReservedMac(mac: number): boolean {
  return RESERVED_MACS.has(mac);
}

const BROADCAST = 0xffffffffffff;
const ARP_OP_REQUEST = 1;
const ARP_OP_REPLY = 2;

function isVlanEthType(t: number): boolean {
  return t === ETH_TYPE_VLAN_8021Q || t === ETH_TYPE_VLAN_8021AD;
}

/* Gratuitous ARP (a VM announcing itself after migration), unmasking what it looked at. */
function isGratuitousArp(flow: FlowKey, dst: number, wc: FlowKey | null): boolean {
  if ((flow[W_DL_TYPE] & 0xffff) !== ETH_TYPE_ARP) return false;
  if (dst !== BROADCAST) return false;
  if (wc) wc[W_NW] |= 0xff;
  const op = flow[W_NW] & 0xff;
  if (op === ARP_OP_REPLY) return true;
  if (op !== ARP_OP_REQUEST) return false;
  if (wc) {
    wc[W_NW_SRC] = 0xffffffff;
    wc[W_NW_DST] = 0xffffffff;
  }
  return flow[W_NW_SRC] === flow[W_NW_DST];
}

function dropped(
  reason: NormalDropReason,
  vlan: number,
  reports: readonly NormalReport[],
  learn: NormalLearn | null = null,
): NormalResult {
  return { vlan, drop: reason, flood: false, outputs: [], learn, reports };
}

const warn = (text: string): NormalReport => ({ kind: 'warn', text });
const detail = (text: string): NormalReport => ({ kind: 'detail', text });

function ingressError(p: NormalPort, vid: number, why: IngressRefusal): NormalReport {
  const text =
    why === 'tagged-on-access'
      ? `dropping VLAN ${vid} tagged packet received on port ${p.name} configured as VLAN ${p.vlan.vlan} access port`
      : why === 'not-trunked'
        ? `dropping VLAN ${vid} packet received on port ${p.name} not configured for trunking VLAN ${vid}`
        : `dropping VLAN ${vid} packet received on dot1q-tunnel port ${p.name} that excludes this VLAN`;
  return { kind: 'error', text };
}

const inX = new Uint32Array(2);
const xv = new Uint32Array(2);
const outX = new Uint32Array(2);

/**
 * The VLAN headers (internal form, see vlan.ts) a packet with these flow VLAN words belongs to
 * after ingress through bundle `p`; null when `p` would refuse it.
 */
export function ingressVlan(p: NormalPort, w0: number, w1: number): [number, number] | null {
  xvlanExtract(w0, w1, inX);
  if (inputVidRefusal(p.vlan, hdrVid(inX[0])) !== null) return null;
  xvlanInputTranslate(p.vlan, inX[0], inX[1], xv);
  return [xv[0], xv[1]];
}

/** Whether bundle `p` carries a packet with internal VLAN headers (v0, v1). */
export function bundleIncludesVlan(p: NormalPort, v0: number, v1: number): boolean {
  return includesVlan(p.vlan, v0, v1);
}

/** The output to bundle `p` of a packet with internal VLAN headers (v0, v1). */
export function egress(p: NormalPort, v0: number, v1: number, flowVlan0: number): NormalOutput {
  xvlanOutputTranslate(p.vlan, v0, v1, outX);
  if (p.vlan.priorityTags !== 'never') {
    // Priority-tagging ports keep the PCP the packet arrived with.
    outX[0] = ((outX[0] & ~0xe000) | (flowVlan0 & 0xe000)) >>> 0;
  }
  const w0 = xvlanPutWord(outX[0], p.vlan.priorityTags);
  const w1 = w0 ? xvlanPutWord(outX[1], p.vlan.priorityTags) : 0;
  return { port: p, vlan0: w0, vlan1: w1 };
}

function cvlanMask(p: NormalPort, wc: FlowKey | null): void {
  if (wc && p.vlan.mode === 'dot1q-tunnel' && p.vlan.cvlans) wc[W_VLAN1] |= 0xffff;
}

/** NORMAL's decision for one packet. */
export function xlateNormal(
  bridge: NormalBridge,
  macs: MacView,
  flow: FlowKey,
  wc: FlowKey | null,
  o: NormalOptions = {},
): NormalResult {
  if (wc) {
    wc[W_DL_SRC] |= 0xffff;
    wc[W_DL_SRC + 1] = 0xffffffff;
    wc[W_DL_DST] |= 0xffff;
    wc[W_DL_DST + 1] = 0xffffffff;
    wc[W_VLAN0] |= VLAN_VID_MASK | VLAN_CFI;
  }
  const inPortNo = flow[W_IN_PORT];
  let inBundle = bridge.portByOfp.get(inPortNo);
  const realInput = inBundle !== undefined;
  if (!inBundle) {
    if (inPortNo !== OFPP_NONE && inPortNo !== OFPP_CONTROLLER) {
      return dropped('no-input-bundle', -1, [
        { kind: 'error', text: `received packet on unknown port ${inPortNo}` },
        warn('no input bundle, dropping'),
      ]);
    }
    inBundle = NONE_BUNDLE;
  }

  const dlType = flow[W_DL_TYPE] & 0xffff;
  if (isVlanEthType(dlType) && !(flow[W_VLAN0] & VLAN_CFI)) {
    return dropped('partial-vlan', -1, [warn('partial VLAN tag, dropping')]);
  }
  if (inBundle.mirrorOut) {
    return dropped('input-mirror-output', -1, [warn('input port is mirror output port, dropping')]);
  }

  xvlanExtract(flow[W_VLAN0], flow[W_VLAN1], inX);
  const refusal = inputVidRefusal(inBundle.vlan, hdrVid(inX[0]));
  if (refusal !== null) {
    return dropped('vlan-not-allowed', -1, [
      ingressError(inBundle, hdrVid(inX[0]), refusal),
      warn('disallowed VLAN VID for this input port, dropping'),
    ]);
  }
  xvlanInputTranslate(inBundle.vlan, inX[0], inX[1], xv);
  const v0 = xv[0];
  const v1 = xv[1];
  const vlan = hdrVid(v0);

  const dst = macFromWords(flow[W_DL_DST], flow[W_DL_DST + 1]);
  if (realInput && !bridge.forwardBpdu && RESERVED_MACS.has(dst)) {
    return dropped('reserved-mac', vlan, [detail('packet has reserved destination MAC, dropping')]);
  }

  const src = macFromWords(flow[W_DL_SRC], flow[W_DL_SRC + 1]);
  const isGratArp = isGratuitousArp(flow, dst, wc);
  const learn: NormalLearn | null =
    realInput && macs.mayLearn(src, vlan)
      ? { mac: src, vlan, port: inBundle.ofpPort, isGratArp }
      : null;

  let entry = macs.lookup(dst, vlan);
  if (
    src === dst &&
    learn !== null &&
    o.sideEffects !== false &&
    entry?.expires !== MAC_ENTRY_AGE_STATIC_ENTRY
  ) {
    // OVS learns before it looks up: the destination is now on the input port.
    entry = { port: inBundle.ofpPort, expires: 0 };
  }
  const flowVlan0 = flow[W_VLAN0];
  if (entry) {
    const to = bridge.portByOfp.get(entry.port);
    if (to?.mirrorOut) {
      return dropped(
        'learned-port-mirror',
        vlan,
        [warn('learned port is a mirror port, dropping')],
        learn,
      );
    }
    if (!to) {
      return dropped(
        'learned-port-unknown',
        vlan,
        [warn('learned port is unknown, dropping')],
        learn,
      );
    }
    if (to === inBundle) {
      return dropped(
        'learned-port-is-input',
        vlan,
        [detail('learned port is input port, dropping')],
        learn,
      );
    }
    cvlanMask(to, wc);
    return {
      vlan,
      drop: null,
      flood: false,
      outputs: [egress(to, v0, v1, flowVlan0)],
      learn,
      reports: [detail('forwarding to learned port')],
    };
  }

  const outputs: NormalOutput[] = [];
  for (const p of bridge.ports) {
    if (p === inBundle || !p.floodable || p.mirrorOut || !includesVlan(p.vlan, v0, v1)) continue;
    cvlanMask(p, wc);
    outputs.push(egress(p, v0, v1, flowVlan0));
  }
  return {
    vlan,
    drop: null,
    flood: true,
    outputs,
    learn,
    reports: [detail('no learned MAC for destination, flooding')],
  };
}

/* ------------------------------------------------------------------------------------ */
/* Datapath actions. */

function countHeaders(w0: number, w1: number): number {
  return !(w0 & VLAN_CFI) ? 0 : !(w1 & VLAN_CFI) ? 1 : 2;
}

/**
 * Appends to `out` the actions that change the packet's VLAN headers from `base` to
 * (t0, t1) as OVS's commit_vlan_action does: keep the innermost headers both share, pop the
 * rest, push the wanted ones innermost first. Updates `base`; unmasks popped headers in `wc`.
 */
export function commitVlan(
  base: Uint32Array,
  t0: number,
  t1: number,
  out: OdpAction[],
  wc: FlowKey | null,
): void {
  let bn = countHeaders(base[0], base[1]) - 1;
  const target = [t0, t1];
  let fn = countHeaders(t0, t1) - 1;
  while (bn >= 0 && fn >= 0 && base[bn] === target[fn]) {
    bn--;
    fn--;
  }
  for (; bn >= 0; bn--) {
    out.push({ type: 'pop_vlan' });
    if (wc) wc[W_VLAN0 + bn] = 0xffffffff;
  }
  for (; fn >= 0; fn--) {
    out.push({ type: 'push_vlan', tpid: target[fn] >>> 16, tci: target[fn] & 0xffff });
  }
  base[0] = t0;
  base[1] = t0 ? t1 : 0;
}

/**
 * The datapath actions of a NORMAL decision for a packet whose flow key is `flow`, in the
 * order the decision lists its outputs. `base` holds the VLAN words the packet carries in the
 * datapath at this point (OVS's base flow; by default the flow's own) and is left at what it
 * carries after the last output, for the caller's next commit. Outputs to ports without a
 * datapath port are left out (the caller translates patch ports).
 */
export function normalOdpActions(
  flow: FlowKey,
  r: NormalResult,
  wc: FlowKey | null = null,
  base?: Uint32Array,
): OdpAction[] {
  const out: OdpAction[] = [];
  if (!base) {
    base = new Uint32Array(2);
    const b0 = flow[W_VLAN0];
    base[0] = b0 & VLAN_CFI ? b0 : 0;
    base[1] = base[0] && flow[W_VLAN1] & VLAN_CFI ? flow[W_VLAN1] : 0;
  }
  for (const o of r.outputs) {
    if (o.port.odpPort === null) continue;
    commitVlan(base, o.vlan0, o.vlan1, out, wc);
    out.push(output(o.port.odpPort));
  }
  return out;
}

/** Builds a NormalBridge from its ports (flood order = array order). */
export function normalBridge(ports: readonly NormalPort[], forwardBpdu = false): NormalBridge {
  const portByOfp = new Map<number, NormalPort>();
  for (const p of ports) portByOfp.set(p.ofpPort, p);
  return { ports, portByOfp, forwardBpdu };
}
