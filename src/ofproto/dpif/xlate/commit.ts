/*
 * Committing header changes to datapath actions (OVS's commit_odp_actions): OpenFlow actions
 * change the translation's working flow; before anything that lets the packet leave (an
 * output, a trip to the controller), the differences between that flow and what the packet
 * carries in the datapath (the base flow) become set()/push/pop actions, in OVS's order:
 * Ethernet, IP, transport ports, ARP, VLAN headers, priority, mark.
 *
 * As OVS: a set() names only the fields that differ; when they are all of the attribute's
 * writable fields the set is unmasked. L3/L4 changes are committed only when the packet has
 * an L3 protocol (nw_proto != 0), exactly as OVS skips them.
 */

import type { OdpAction, SetAttr } from '../../../dpif/netdev/odp-actions.ts';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  N_MPLS,
  NW_FRAG_SHIFT,
  W_ARP_SHA,
  W_ARP_THA,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_PKT_MARK,
  W_SKB_PRIORITY,
  W_TP,
  W_VLAN0,
  W_VLAN1,
} from '../../../lib/flow/layout.ts';
import { commitVlan } from './normal.ts';

/** A field of a settable attribute: first word, word count, and the bits of each word. */
interface F {
  readonly w: number;
  readonly n: number;
  readonly m: number;
}
const f = (w: number, n: number, m = 0xffffffff): F => ({ w, n, m });

// A MAC's first word holds its top 16 bits.
const ETH: readonly F[] = [f(W_DL_SRC, 2, 0xffff), f(W_DL_DST, 2, 0xffff)];
/* Writable IPv4 fields: src, dst, tos (23..16 of W_NW), ttl (15..8). */
const IPV4: readonly F[] = [
  f(W_NW_SRC, 1),
  f(W_NW_DST, 1),
  f(W_NW, 1, 0x00ff0000),
  f(W_NW, 1, 0x0000ff00),
];
const IPV6: readonly F[] = [
  f(W_IPV6_SRC, 4),
  f(W_IPV6_DST, 4),
  f(W_IPV6_LABEL, 1, 0x000fffff),
  f(W_NW, 1, 0x00ff0000),
  f(W_NW, 1, 0x0000ff00),
];
const TP: readonly F[] = [f(W_TP, 1, 0xffff0000), f(W_TP, 1, 0x0000ffff)];
const ARP: readonly F[] = [
  f(W_NW_SRC, 1),
  f(W_NW_DST, 1),
  f(W_NW, 1, 0x000000ff),
  f(W_ARP_SHA, 2, 0xffff),
  f(W_ARP_THA, 2, 0xffff),
];
/* Neighbor Discovery: target, source and target link-layer addresses (sll/tll share the ARP
 * hardware address words). */
const ND: readonly F[] = [f(W_ND_TARGET, 4), f(W_ARP_SHA, 2, 0xffff), f(W_ARP_THA, 2, 0xffff)];
const PRIO: readonly F[] = [f(W_SKB_PRIORITY, 1)];
const MARK: readonly F[] = [f(W_PKT_MARK, 1)];

function fieldDiffers(flow: FlowKey, base: FlowKey, x: F): boolean {
  for (let i = 0; i < x.n; i++) {
    const m = i === 0 ? x.m : 0xffffffff;
    if (((flow[x.w + i] ^ base[x.w + i]) & m) !== 0) return true;
  }
  return false;
}

function commitAttr(
  attr: SetAttr,
  fields: readonly F[],
  flow: FlowKey,
  base: FlowKey,
  wc: FlowKey | null,
  out: OdpAction[],
): void {
  let nDiff = 0;
  for (const x of fields) if (fieldDiffers(flow, base, x)) nDiff++;
  if (nDiff === 0) return;
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  // As OVS's commit(): a changed field is set under the bits translation looked at or set
  // (e.g. mod_nw_tos's six DSCP bits), and the set is unmasked only when that covers every
  // writable field whole. Bits that differ are always included, whatever the mask says.
  let full = nDiff === fields.length;
  for (const x of fields) {
    const differs = fieldDiffers(flow, base, x);
    for (let i = 0; i < x.n; i++) {
      const m = i === 0 ? x.m : 0xffffffff;
      const w = x.w + i;
      key[w] = (key[w] | (flow[w] & m)) >>> 0;
      if (differs) {
        const bits = wc ? (wc[w] | (flow[w] ^ base[w])) & m : m;
        if (bits >>> 0 !== m >>> 0) full = false;
        mask[w] = (mask[w] | bits) >>> 0;
        if (wc) wc[w] = (wc[w] | bits) >>> 0;
      }
    }
  }
  for (const x of fields)
    for (let i = 0; i < x.n; i++) {
      const m = i === 0 ? x.m : 0xffffffff;
      const w = x.w + i;
      base[w] = ((base[w] & ~m) | (flow[w] & m)) >>> 0;
    }
  // A masked set carries only its masked bits (OVS clears the rest of the key).
  if (!full) for (let w = 0; w < FLOW_WORDS; w++) key[w] &= mask[w];
  if (full) {
    // An unmasked set carries every field of the attribute (read-only ones as they are).
    for (const x of fields) for (let i = 0; i < x.n; i++) mask[x.w + i] |= i === 0 ? x.m : ~0;
  }
  out.push({ type: 'set', attr, key, mask, masked: !full });
}

function l4Pending(flow: FlowKey, base: FlowKey): boolean {
  return fieldDiffers(flow, base, TP[0]) || fieldDiffers(flow, base, TP[1]);
}

const vlanScratch = new Uint32Array(2);

/* ------------------------------------------------------------------------------------ */
/* MPLS (OVS's commit_mpls_action): the label stacks of base and flow share their bottom
 * entries; base's others are popped (its top one rewritten with a set when flow has one more
 * in its place), then flow's extra ones pushed. */

const MPLS_BOS = 0x100;

function isMpls(t: number): boolean {
  return t === ETH_TYPE_MPLS || t === ETH_TYPE_MPLS_MCAST;
}

function mplsCount(k: FlowKey): number {
  if (!isMpls(k[W_DL_TYPE] & 0xffff)) return 0;
  let n = 0;
  for (let i = 0; i < N_MPLS; i++) {
    if (k[W_MPLS0 + i] & MPLS_BOS) return i + 1;
    if (k[W_MPLS0 + i]) n++;
  }
  return n;
}

function mplsCommon(a: FlowKey, an: number, b: FlowKey, bn: number): number {
  const n = Math.min(an, bn);
  let common = 0;
  for (let i = 0; i < n; i++) {
    if (a[W_MPLS0 + an - 1 - i] !== b[W_MPLS0 + bn - 1 - i]) break;
    common++;
  }
  return common;
}

function setDlType(k: FlowKey, t: number): void {
  k[W_DL_TYPE] = ((k[W_DL_TYPE] & ~0xffff) | t) >>> 0;
}

function commitMpls(flow: FlowKey, base: FlowKey, out: OdpAction[]): void {
  let baseN = mplsCount(base);
  const flowN = mplsCount(flow);
  if (baseN === 0 && flowN === 0) return;
  let common = mplsCommon(flow, flowN, base, baseN);
  const flowType = flow[W_DL_TYPE] & 0xffff;
  while (baseN > common) {
    if (baseN - 1 === common && flowN > common) {
      const lse = flow[W_MPLS0 + flowN - baseN];
      const key = new Uint32Array(FLOW_WORDS);
      const mask = new Uint32Array(FLOW_WORDS);
      key[W_MPLS0] = lse;
      mask[W_MPLS0] = 0xffffffff;
      out.push({ type: 'set', attr: 'mpls', key, mask, masked: false });
      base[W_MPLS0] = lse;
      common++;
    } else {
      // Popping the last label of several: the outer pops keep an MPLS ethertype.
      const t = !isMpls(flowType) && baseN > 1 ? ETH_TYPE_MPLS : flowType;
      out.push({ type: 'pop_mpls', ethType: t });
      for (let i = 1; i < baseN; i++) base[W_MPLS0 + i - 1] = base[W_MPLS0 + i];
      base[W_MPLS0 + baseN - 1] = 0;
      setDlType(base, flowType);
      baseN--;
    }
  }
  while (baseN < flowN) {
    const lse = flow[W_MPLS0 + flowN - baseN - 1];
    out.push({ type: 'push_mpls', lse, ethType: flowType });
    // base keeps its L3 fields: a patch port or group bucket may go back to them.
    for (let i = baseN; i >= 1; i--) base[W_MPLS0 + i] = base[W_MPLS0 + i - 1];
    base[W_MPLS0] = lse;
    setDlType(base, flowType);
    baseN++;
  }
}

/** Appends to `out` what makes the datapath's packet (`base`) look like `flow`; updates base. */
export function commitOdpActions(
  flow: FlowKey,
  base: FlowKey,
  wc: FlowKey | null,
  out: OdpAction[],
): void {
  commitAttr('eth', ETH, flow, base, wc, out);
  // A packet that stops being MPLS loses its labels before its L3 header can be changed.
  const mplsFirst = isMpls(base[W_DL_TYPE] & 0xffff) && !isMpls(flow[W_DL_TYPE] & 0xffff);
  if (mplsFirst) commitMpls(flow, base, out);
  const dlType = flow[W_DL_TYPE] & 0xffff;
  const nwProto = flow[W_NW] & 0xff;
  const isIp = dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6;
  // Which L4 attribute a port rewrite is committed as depends on the protocol: match on it.
  // An L3 rewrite leaves nw_proto wildcarded, as OVS's does (only IP packets without an L3
  // protocol, which OVS treats as having no L3 header, could tell the difference).
  if (isIp && wc && l4Pending(flow, base)) wc[W_NW] |= 0xff;
  if (nwProto !== 0 && isIp) {
    commitAttr(
      dlType === ETH_TYPE_IP ? 'ipv4' : 'ipv6',
      dlType === ETH_TYPE_IP ? IPV4 : IPV6,
      flow,
      base,
      wc,
      out,
    );
    if (dlType === ETH_TYPE_IPV6 && nwProto === IPPROTO_ICMPV6)
      commitAttr('nd', ND, flow, base, wc, out);
    const later = (flow[W_NW] >>> NW_FRAG_SHIFT) & FLOW_NW_FRAG_LATER;
    if (!later) {
      if (nwProto === IPPROTO_TCP) commitAttr('tcp', TP, flow, base, wc, out);
      else if (nwProto === IPPROTO_UDP) commitAttr('udp', TP, flow, base, wc, out);
      else if (nwProto === IPPROTO_SCTP) commitAttr('sctp', TP, flow, base, wc, out);
      else if (nwProto === IPPROTO_ICMP && dlType === ETH_TYPE_IP)
        commitAttr('icmp', TP, flow, base, wc, out);
      else if (nwProto === IPPROTO_ICMPV6 && dlType === ETH_TYPE_IPV6)
        commitAttr('icmpv6', TP, flow, base, wc, out);
    }
  } else if (dlType === ETH_TYPE_ARP) {
    commitAttr('arp', ARP, flow, base, wc, out);
  }
  if (!mplsFirst) commitMpls(flow, base, out);
  if (flow[W_VLAN0] !== base[W_VLAN0] || flow[W_VLAN1] !== base[W_VLAN1]) {
    vlanScratch[0] = base[W_VLAN0];
    vlanScratch[1] = base[W_VLAN1];
    commitVlan(vlanScratch, flow[W_VLAN0], flow[W_VLAN1], out, wc);
    base[W_VLAN0] = vlanScratch[0];
    base[W_VLAN1] = vlanScratch[1];
  }
  commitAttr('skb_priority', PRIO, flow, base, wc, out);
  commitAttr('skb_mark', MARK, flow, base, wc, out);
}
