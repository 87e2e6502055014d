/*
 * Which OpenFlow "protocols" (OVS's word: a version plus flow format) can carry a flow-mod, as
 * ovs-ofctl computes before choosing one ("usable protocols: NXM,OXM"), and their names.
 */

import {
  FLOW_WORDS,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_METADATA,
  W_MPLS0,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_SKB_PRIORITY,
  W_TP,
  W_TUN_TOS_TTL,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import type { Match } from '../../lib/flow/match.ts';
import { of10Expressible } from './match-of10.ts';
import type { FlowMod } from './messages.ts';
import type { Ofpact } from './ofpact.ts';
import { checkOfpacts } from './ofpact-check.ts';

export const P_OF10_STD = 1 << 0;
export const P_OF10_STD_TID = 1 << 1;
export const P_OF10_NXM = 1 << 2;
export const P_OF10_NXM_TID = 1 << 3;
export const P_OF11_STD = 1 << 4;
export const P_OF12_OXM = 1 << 5;
export const P_OF13_OXM = 1 << 6;
export const P_OF14_OXM = 1 << 7;
export const P_OF15_OXM = 1 << 8;

export const P_OF10_STD_ANY = P_OF10_STD | P_OF10_STD_TID;
export const P_OF10_NXM_ANY = P_OF10_NXM | P_OF10_NXM_TID;
export const P_OF10_ANY = P_OF10_STD_ANY | P_OF10_NXM_ANY;
export const P_ANY_OXM = P_OF12_OXM | P_OF13_OXM | P_OF14_OXM | P_OF15_OXM;
export const P_NXM_OXM_ANY = P_OF10_NXM_ANY | P_ANY_OXM;
export const P_OF11_UP = P_OF11_STD | P_ANY_OXM;
export const P_OF13_UP = P_OF13_OXM | P_OF14_OXM | P_OF15_OXM;
export const P_TID = P_OF10_STD_TID | P_OF10_NXM_TID | P_OF11_UP;
export const P_ANY = (1 << 9) - 1;

const NAMES: ReadonlyArray<[number, string]> = [
  [P_OF10_STD, 'OpenFlow10'],
  [P_OF10_STD_TID, 'OpenFlow10+table_id'],
  [P_OF10_NXM, 'NXM'],
  [P_OF10_NXM_TID, 'NXM+table_id'],
  [P_OF11_STD, 'OpenFlow11'],
  [P_OF12_OXM, 'OXM-OpenFlow12'],
  [P_OF13_OXM, 'OXM-OpenFlow13'],
  [P_OF14_OXM, 'OXM-OpenFlow14'],
  [P_OF15_OXM, 'OXM-OpenFlow15'],
];

const ABBREVS: ReadonlyArray<[number, string]> = [
  [P_ANY, 'any'],
  [P_OF10_STD_ANY, 'OpenFlow10'],
  [P_OF10_NXM_ANY, 'NXM'],
  [P_ANY_OXM, 'OXM'],
];

/** OVS's ofputil_protocols_to_string(): abbreviations first, then single protocols. */
export function protocolsToString(p: number): string {
  const out: string[] = [];
  let rest = p;
  for (const [bits, name] of ABBREVS) {
    if ((rest & bits) === bits) {
      out.push(name);
      rest &= ~bits;
    }
  }
  for (const [bit, name] of NAMES) if (rest & bit) out.push(name);
  return out.join(',');
}

/** The OpenFlow wire version of a single protocol. */
export function protocolVersion(p: number): number {
  if (p & P_OF10_ANY) return 1;
  if (p & P_OF11_STD) return 2;
  if (p & P_OF12_OXM) return 3;
  if (p & P_OF13_OXM) return 4;
  if (p & P_OF14_OXM) return 5;
  return 6;
}

/* OpenFlow 1.1's standard match: OF1.0's fields with arbitrary Ethernet and IPv4 masks, plus
 * metadata and the MPLS label and TC. */
function of11Expressible(m: Match): boolean {
  for (let w = 0; w < FLOW_WORDS; w++) {
    const mk = m.mask[w];
    if (!mk) continue;
    switch (w) {
      case W_IN_PORT:
      case W_DL_SRC:
      case W_DL_SRC + 1:
      case W_DL_DST:
      case W_DL_DST + 1:
      case W_DL_TYPE:
      case W_NW_SRC:
      case W_NW_DST:
      case W_METADATA:
      case W_METADATA + 1:
        break;
      case W_VLAN0:
        if (![0xffff, 0x1fff, 0xf000].includes(mk & 0xffff)) return false;
        break;
      case W_NW:
        if (mk & ~(0x00fc0000 | 0xff)) return false;
        break;
      case W_TP:
        if ((mk & 0xffff) !== 0 && (mk & 0xffff) !== 0xffff) return false;
        if (mk >>> 16 !== 0 && mk >>> 16 !== 0xffff) return false;
        break;
      case W_MPLS0:
        if (mk & ~0xfffffe00) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function matchProtocols(m: Match): number {
  // tun_tos, tun_ttl and skb_priority have no NXM or OXM encoding: no protocol carries them.
  if (m.mask[W_TUN_TOS_TTL] & 0xffff || m.mask[W_SKB_PRIORITY]) return 0;
  if (of10Expressible(m)) return P_ANY;
  return P_NXM_OXM_ANY | (of11Expressible(m) ? P_OF11_STD : 0);
}

/* set_field of these fields has an OpenFlow 1.0 action (mod_dl_src, mod_nw_src...). */
const LEGACY_SET_FIELDS = new Set([
  'eth_src',
  'eth_dst',
  'ip_src',
  'ip_dst',
  'tcp_src',
  'tcp_dst',
  'udp_src',
  'udp_dst',
  'vlan_vid',
  'vlan_pcp',
  'ip_dscp',
  'nw_tos',
]);

/** The protocols whose action encodings can carry `acts` (no check against a match). */
export function actionProtocols(acts: readonly Ofpact[]): number {
  let p = P_ANY;
  for (const a of acts) {
    switch (a.type) {
      case 'meter':
        p &= P_OF13_UP;
        break;
      case 'push_vlan':
        p &= P_OF11_UP;
        break;
      case 'write_metadata':
        p &= ~P_OF10_STD_ANY;
        break;
      case 'set_field':
        if (a.raw === 'set_field' && !LEGACY_SET_FIELDS.has(a.field)) p &= P_NXM_OXM_ANY;
        break;
      case 'write_actions':
      case 'clone':
        p &= actionProtocols(a.actions);
        break;
    }
  }
  return p;
}

export interface FlowModProtocolOptions {
  /** The flow text named a table (table=N), which OF1.0 carries only with the table-id extension. */
  tableSpecified: boolean;
}

/** The protocols that can carry `fm`, as ovs-ofctl computes for add-flow and friends. */
export function usableProtocols(fm: FlowMod, opts: FlowModProtocolOptions): number {
  let p = matchProtocols(fm.match) & actionProtocols(fm.ofpacts);
  if (opts.tableSpecified) p &= P_TID;
  if (fm.cookieMask) p &= ~P_OF10_STD_ANY;
  if (fm.flags.resetCounts) p &= P_OF12_OXM | P_OF13_UP;
  if (fm.flags.noPacketCounts || fm.flags.noByteCounts) p &= P_OF13_UP;
  const check = checkOfpacts(fm.ofpacts, fm.match);
  if (check.error) return 0;
  if (check.of10Only) p &= P_OF10_ANY;
  return p;
}
