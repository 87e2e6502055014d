/*
 * Consistency of actions with the flow's match, as OVS's ofpacts_check() enforces before a flow
 * is added: set_field/load/move of a field whose prerequisites the match does not establish, ct
 * without IP, resubmit(,,ct) without ct_state=+trk-inv are OFPBAC_MATCH_INCONSISTENT; the legacy
 * OF1.0 actions (mod_nw_src without `ip`, mod_tp_dst without tcp/udp/sctp, dec_ttl without IP,
 * strip_vlan without a VLAN...) only restrict the flow to OpenFlow 1.0 / NXM. Actions that change the packet
 * (push/pop VLAN and MPLS) change what later actions may do, so a copy of the key is updated as
 * the list is walked.
 */

import { fieldByName, setFieldBit } from '../../lib/flow/fields.ts';
import {
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  ETH_TYPE_MPLS,
  ETH_TYPE_MPLS_MCAST,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VLAN_CFI,
  W_CT_STATE,
  W_DL_TYPE,
  W_NW,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { type Match, prereqOk } from '../../lib/flow/match.ts';
import { VlogRateLimit, vlog } from '../../lib/vlog.ts';
import { OfpError } from './errors.ts';
import type { Ofpact, Subfield } from './ofpact.ts';

interface State {
  key: Uint32Array;
  mask: Uint32Array;
  /** Set by "soft" inconsistencies OVS tolerates only in OpenFlow 1.0/NXM flows. */
  soft: { of10Only: boolean };
}

function isIp(k: Uint32Array): boolean {
  return k[W_DL_TYPE] === ETH_TYPE_IP || k[W_DL_TYPE] === ETH_TYPE_IPV6;
}

function isMpls(k: Uint32Array): boolean {
  return k[W_DL_TYPE] === ETH_TYPE_MPLS || k[W_DL_TYPE] === ETH_TYPE_MPLS_MCAST;
}

function inconsistent(why: string): never {
  throw new OfpError('OFPBAC_MATCH_INCONSISTENT', why);
}

/* OVS's inconsistent_match(): OF1.0's legacy actions did not require the match to establish
 * the protocol, so such a flow stays valid but only in OpenFlow 1.0 / NXM. */
function soft(st: State): void {
  st.soft.of10Only = true;
}

const warnRl = new VlogRateLimit(1, 5);

/* OVS warns as it refuses: set_field's own words, or meta_flow's for a subfield read
 * ("source") or written ("destination"). */
function warnPrereq(role: 'set_field' | 'source' | 'destination', name: string): void {
  if (warnRl.admit() === null) return;
  if (role === 'set_field')
    vlog('ofp_actions').warn(`set_field ${name} lacks correct prerequisites`);
  else vlog('meta_flow').warn(`${role} field ${name} lacks correct prerequisites`);
}

function checkField(
  st: State,
  name: string,
  write: boolean,
  role: 'set_field' | 'source' | 'destination' = write ? 'destination' : 'source',
): void {
  const f = fieldByName(name);
  if (!f) throw new OfpError('OFPBAC_BAD_ARGUMENT', `unknown field ${name}`);
  if (write && !f.writable) throw new OfpError('OFPBAC_BAD_SET_ARGUMENT', `${name} is read-only`);
  if (!prereqOk(f.prereq, st.key)) {
    warnPrereq(role, name);
    inconsistent(`${name} lacks correct prerequisites`);
  }
}

function checkSub(st: State, sf: Subfield, write = false): void {
  checkField(st, sf.field, write);
}

/* learn: sources are read from the flow being matched; destinations are checked against the
 * flow the learned rule will match, as far as the immediate match specs before them build it. */
function checkLearn(st: State, a: Extract<Ofpact, { type: 'learn' }>): void {
  const dst: State = { key: new Uint32Array(st.key.length), mask: st.mask, soft: st.soft };
  for (const sp of a.specs) {
    if (sp.kind === 'output') {
      checkSub(st, sp.src);
      continue;
    }
    if ('subfield' in sp.src) checkSub(st, sp.src.subfield);
    if (sp.kind === 'load') {
      checkSub(dst, sp.dst, true);
      continue;
    }
    checkSub(dst, sp.dst);
    const f = fieldByName(sp.dst.field);
    if (f && 'value' in sp.src) {
      for (let i = 0; i < sp.dst.nBits; i++) {
        setFieldBit(dst.key, f, sp.dst.ofs + i, Number((sp.src.value >> BigInt(i)) & 1n));
      }
    }
  }
}

function checkList(st: State, acts: readonly Ofpact[]): void {
  for (const a of acts) checkOne(st, a);
}

function checkOne(st: State, a: Ofpact): void {
  const k = st.key;
  switch (a.type) {
    case 'set_field':
      checkField(st, a.field, true, 'set_field');
      return;
    case 'reg_move':
      checkSub(st, a.src);
      checkSub(st, a.dst, true);
      return;
    case 'output_reg':
    case 'stack_push':
      checkSub(st, a.src);
      return;
    case 'stack_pop':
      checkSub(st, a.dst, true);
      return;
    case 'multipath':
    case 'check_pkt_larger':
      checkSub(st, a.dst, true);
      return;
    case 'bundle':
      if (a.dst) checkSub(st, a.dst, true);
      return;
    case 'set_ipv4_src':
    case 'set_ipv4_dst':
      if (k[W_DL_TYPE] !== ETH_TYPE_IP) soft(st);
      return;
    case 'set_ip_dscp':
    case 'set_ip_ecn':
    case 'set_ip_ttl':
    case 'dec_ttl':
      if (!isIp(k)) soft(st);
      return;
    case 'set_l4_src_port':
    case 'set_l4_dst_port': {
      const p = k[W_NW] & 0xff;
      if (!isIp(k) || (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_SCTP)) {
        soft(st);
      }
      return;
    }
    case 'fin_timeout':
      if (!isIp(k) || (k[W_NW] & 0xff) !== IPPROTO_TCP) soft(st);
      return;
    case 'set_vlan_vid':
    case 'set_vlan_pcp':
      if (!a.pushIfNeeded && !(k[W_VLAN0] & VLAN_CFI)) soft(st);
      k[W_VLAN0] |= VLAN_CFI;
      return;
    case 'push_vlan':
      k[W_VLAN0] |= VLAN_CFI;
      return;
    case 'strip_vlan':
      if (!(k[W_VLAN0] & VLAN_CFI)) soft(st);
      k[W_VLAN0] = 0;
      return;
    case 'set_mpls_label':
    case 'set_mpls_tc':
    case 'set_mpls_ttl':
    case 'dec_mpls_ttl':
      if (!isMpls(k)) soft(st);
      return;
    case 'push_mpls':
      k[W_DL_TYPE] = a.ethertype;
      return;
    case 'pop_mpls':
      if (!isMpls(k)) soft(st);
      k[W_DL_TYPE] = a.ethertype;
      k[W_NW] = 0;
      return;
    case 'resubmit':
      if (a.withCt) {
        // ct_state must say +trk-inv for the original-direction tuple to exist.
        const cs = k[W_CT_STATE];
        const cm = st.mask[W_CT_STATE];
        if ((cm & 0x30) !== 0x30 || (cs & 0x30) !== 0x20) {
          inconsistent('resubmit with ct needs ct_state=+trk-inv');
        }
      }
      return;
    case 'ct':
      if (!isIp(k)) inconsistent('ct needs IP');
      if ('src' in a.zone) checkSub(st, a.zone.src);
      for (const x of a.actions) {
        if (x.type === 'set_field' && x.field !== 'ct_mark' && x.field !== 'ct_label') {
          throw new OfpError('OFPBAC_BAD_SET_ARGUMENT', 'ct exec can only set ct_mark or ct_label');
        }
      }
      checkList(st, a.actions);
      return;
    case 'clone':
      checkList({ key: k.slice(), mask: st.mask, soft: st.soft }, a.actions);
      return;
    case 'write_actions':
      // The action set runs at the end of the pipeline: OVS does not restrict the protocol.
      checkList({ key: k.slice(), mask: st.mask, soft: { of10Only: false } }, a.actions);
      return;
    case 'learn':
      checkLearn(st, a);
      return;
    default:
      return;
  }
}

/**
 * Checks `acts` against `match` as OVS does when a flow is added; returns the OfpError OVS
 * would report (OFPBAC_MATCH_INCONSISTENT, OFPBAC_BAD_SET_ARGUMENT...) or null.
 */
export interface CheckResult {
  /** The error OVS reports whatever the protocol (OFPBAC_MATCH_INCONSISTENT...), or null. */
  error: OfpError | null;
  /** True when the flow is acceptable only as OpenFlow 1.0 / NXM (see soft()). */
  of10Only: boolean;
}

/* The top-level check's working key: every flow_mod is checked, and a fresh 98-word array
 * each time was a malloc'd backing store per flow_mod. Nothing keeps it past the call (nested
 * lists get copies). */
let scratchKey = new Uint32Array(0);

export function checkOfpacts(acts: readonly Ofpact[], match: Match): CheckResult {
  if (scratchKey.length !== match.key.length) scratchKey = new Uint32Array(match.key.length);
  const key = scratchKey;
  for (let i = 0; i < key.length; i++) key[i] = match.key[i] & match.mask[i];
  const st: State = { key, mask: match.mask, soft: { of10Only: false } };
  try {
    checkList(st, acts);
    return { error: null, of10Only: st.soft.of10Only };
  } catch (e) {
    if (e instanceof OfpError) return { error: e, of10Only: false };
    throw e;
  }
}
