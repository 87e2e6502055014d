/*
 * Ofpacts on the wire: OpenFlow 1.0 actions, OpenFlow 1.1+ actions and instructions, and the
 * Nicira vendor actions (type OFPAT_VENDOR, vendor 0x2320, a 16-bit subtype), following the
 * choices OVS makes for each version (ofp-actions.c): e.g. mod_nw_src is OFPAT10_SET_NW_SRC in
 * OF1.0 and OFPAT_SET_FIELD(ipv4_src) in OF1.2+; a `load:` stays NXAST_REG_LOAD before OF1.5.
 *
 * Decoding never trusts lengths: a bad length is OFPBAC_BAD_LEN (OFPBIC_BAD_LEN for
 * instructions), an unknown type OFPBAC_BAD_TYPE / OFPBAC_BAD_VENDOR_TYPE.
 */

import { type Field, fieldByName } from '../../lib/flow/fields.ts';
import { VLAN_CFI, W_NW, W_VLAN0 } from '../../lib/flow/layout.ts';
import type { Match } from '../../lib/flow/match.ts';
import { VlogRateLimit, vlog } from '../../lib/vlog.ts';
import { DecodeError, type Reader, Writer } from './bytes.ts';
import { NX_VENDOR_ID, OfpError } from './errors.ts';
import { entryWords, portFromOfp11, portToOfp11, pullEntry, putFieldTlv } from './match-nxm.ts';
import type { ControllerReason, LearnSpec, Ofpact, Subfield } from './ofpact.ts';
import { OFPCR_REASONS } from './ofpact.ts';
import { bigToFieldWords, debugOfpact, debugOfpactType, fieldBits } from './ofpact-format.ts';

// OVS's debugging actions: always encoded, decoded only once enabled (as OVS, whose
// ovs-vswitchd enables them with --enable-dummy and whose ovs-ofctl never does).
const NXAST_DEBUG_SLOW = 254;
const NXAST_DEBUG_RECIRC = 255;
let debugOfpactsEnabled = false;

/** Lets the decoder accept debug_slow and debug_recirc (ovs-vswitchd --enable-dummy). */
export function enableDebugOfpacts(on = true): void {
  debugOfpactsEnabled = on;
}

import { headerByWire, headerFor, headerWord } from './oxm-fields.ts';

export const OFP10_VERSION = 1;
export const OFP11_VERSION = 2;
export const OFP12_VERSION = 3;
export const OFP13_VERSION = 4;
export const OFP14_VERSION = 5;
export const OFP15_VERSION = 6;

const OFPAT_VENDOR = 0xffff;

/* OF1.0 action types. */
const A10 = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  STRIP_VLAN: 3,
  SET_DL_SRC: 4,
  SET_DL_DST: 5,
  SET_NW_SRC: 6,
  SET_NW_DST: 7,
  SET_NW_TOS: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  ENQUEUE: 11,
} as const;

/* OF1.1+ action types. */
const A11 = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  SET_DL_SRC: 3,
  SET_DL_DST: 4,
  SET_NW_SRC: 5,
  SET_NW_DST: 6,
  SET_NW_TOS: 7,
  SET_NW_ECN: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  SET_MPLS_LABEL: 13,
  SET_MPLS_TC: 14,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  METER: 29,
} as const;

/* Nicira action subtypes. */
export const NXAST = {
  RESUBMIT: 1,
  SET_TUNNEL: 2,
  SET_QUEUE: 4,
  POP_QUEUE: 5,
  REG_MOVE: 6,
  REG_LOAD: 7,
  NOTE: 8,
  SET_TUNNEL64: 9,
  MULTIPATH: 10,
  BUNDLE: 12,
  BUNDLE_LOAD: 13,
  RESUBMIT_TABLE: 14,
  OUTPUT_REG: 15,
  LEARN: 16,
  EXIT: 17,
  DEC_TTL: 18,
  FIN_TIMEOUT: 19,
  CONTROLLER: 20,
  DEC_TTL_CNT_IDS: 21,
  WRITE_METADATA: 22,
  PUSH_MPLS: 23,
  POP_MPLS: 24,
  SET_MPLS_TTL: 25,
  DEC_MPLS_TTL: 26,
  STACK_PUSH: 27,
  STACK_POP: 28,
  SAMPLE: 29,
  SET_MPLS_LABEL: 30,
  SET_MPLS_TC: 31,
  CONJUNCTION: 34,
  CT: 35,
  CONTROLLER2: 37,
  OUTPUT_TRUNC: 39,
  CLONE: 42,
  CT_CLEAR: 43,
  RESUBMIT_TABLE_CT: 44,
  CHECK_PKT_LARGER: 49,
} as const;

/* Instruction types (OF1.1+). */
const OFPIT = {
  GOTO_TABLE: 1,
  WRITE_METADATA: 2,
  WRITE_ACTIONS: 3,
  APPLY_ACTIONS: 4,
  CLEAR_ACTIONS: 5,
  METER: 6,
} as const;

const HASH_FIELDS = [
  'eth_src',
  'symmetric_l4',
  'symmetric_l3l4',
  'symmetric_l3l4+udp',
  'nw_src',
  'nw_dst',
  'symmetric_l3',
] as const;
const MP_ALGS = ['modulo_n', 'hash_threshold', 'hrw', 'iter_hash'] as const;

/* ---------------------------------------------------------------------------------------- */
/* Helpers.                                                                                 */

function startAction(w: Writer, type: number): number {
  const at = w.pos;
  w.u16(type).u16(0);
  return at;
}

function endAction(w: Writer, at: number): undefined {
  w.pad(8, at);
  w.setU16(at + 2, w.pos - at);
}

function startNx(w: Writer, subtype: number): number {
  const at = startAction(w, OFPAT_VENDOR);
  w.u32(NX_VENDOR_ID).u16(subtype);
  return at;
}

function nxmHeader32(field: string): number {
  const h = headerFor(field, false, OFP10_VERSION);
  if (!h || h.experimenter) throw new OfpError('OFPBAC_BAD_ARGUMENT', `no NXM header for ${field}`);
  return headerWord(h, false);
}

function fieldOfHeader(word: number): Field {
  const h = headerByWire(word >>> 16, (word >>> 9) & 0x7f, 0);
  if (!h) throw new OfpError('OFPBAC_BAD_ARGUMENT', `unknown field 0x${word.toString(16)}`);
  return h.field;
}

function subfieldFrom(word: number, ofs: number, nBits: number): Subfield {
  const f = fieldOfHeader(word);
  if (nBits < 1 || ofs + nBits > fieldBits(f)) {
    throw new OfpError('OFPBAC_BAD_SET_LEN', `${f.name}[${ofs}..${ofs + nBits - 1}]`);
  }
  return { field: f.name, ofs, nBits };
}

function ofsNbits(sf: Subfield): number {
  return (sf.ofs << 6) | (sf.nBits - 1);
}

function subfieldFromOfsNbits(word: number, on: number): Subfield {
  return subfieldFrom(word, on >>> 6, (on & 0x3f) + 1);
}

function wordsToBig(w: readonly number[]): bigint {
  let v = 0n;
  for (const x of w) v = (v << 32n) | BigInt(x >>> 0);
  return v;
}

/** Splits a set_field mask into contiguous runs (for NXAST_REG_LOAD, at most 64 bits each). */
function loadSegments(a: Extract<Ofpact, { type: 'set_field' }>): Array<[Subfield, bigint]> {
  const v = wordsToBig(a.value);
  // Mask bits read from the words (least significant bit 0 in the last word): a BigInt shift
  // per bit made this the costliest part of encoding a dump's load actions.
  const mw = a.mask;
  const nw = mw.length;
  // The usual load of a whole register (load:N->NXM_NX_REG0[]): one segment over every bit,
  // as the scan below would find it.
  if (nw <= 2 && (mw[0] & (nw === 2 ? mw[1] : -1)) === -1) {
    const nBits = nw * 32;
    return [[{ field: a.field, ofs: 0, nBits }, BigInt.asUintN(nBits, v)]];
  }
  const maskBit = (i: number): number =>
    i < nw * 32 ? (mw[nw - 1 - (i >>> 5)] >>> (i & 31)) & 1 : 0;
  const out: Array<[Subfield, bigint]> = [];
  let bit = 0;
  const total = fieldBits(fieldByName(a.field)!) + 32;
  while (bit < total) {
    if (maskBit(bit) === 0) {
      bit++;
      continue;
    }
    let n = 0;
    while (n < 64 && maskBit(bit + n) === 1) n++;
    out.push([
      { field: a.field, ofs: bit, nBits: n },
      (v >> BigInt(bit)) & ((1n << BigInt(n)) - 1n),
    ]);
    bit += n;
  }
  return out;
}

const fullMasks = new Map<string, readonly number[]>();

/** All bits of a field as words (cached: set_field decoding needs it per action). */
function fullMask(f: Field): number[] {
  let m = fullMasks.get(f.name);
  if (!m) {
    m = bigToFieldWords(f, (1n << BigInt(fieldBits(f))) - 1n);
    fullMasks.set(f.name, m);
  }
  return m.slice();
}

function setFieldIsFull(a: Extract<Ofpact, { type: 'set_field' }>): boolean {
  const full = fullMask(fieldByName(a.field)!);
  return a.mask.every((x, i) => x >>> 0 === full[i] >>> 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding.                                                                                */

/**
 * What encoding needs to know about the flow, as OVS's ofpacts_check() records it: whether a
 * VLAN header is present at this point (so mod_vlan_vid need not push one in OF1.1+) and which
 * L4 protocol mod_tp_src/dst rewrite.
 */
export interface EncodeContext {
  readonly hasVlan: boolean;
  readonly l4: 'tcp' | 'udp' | 'sctp';
}

/* The six contexts there are, shared and frozen: a dump encodes one action list per flow,
 * and an object (and a copy of it) per list was most of what encoding the list allocated. */
const CONTEXTS: readonly EncodeContext[] = [false, true].flatMap((hasVlan) =>
  (['tcp', 'udp', 'sctp'] as const).map((l4) => Object.freeze({ hasVlan, l4 })),
);

function contextOf(hasVlan: boolean, l4: EncodeContext['l4']): EncodeContext {
  return CONTEXTS[(hasVlan ? 3 : 0) + (l4 === 'tcp' ? 0 : l4 === 'udp' ? 1 : 2)];
}

export function contextForMatch(m: Match | undefined): EncodeContext {
  if (!m) return CONTEXTS[0];
  const hasVlan = (m.mask[W_VLAN0] & VLAN_CFI) !== 0 && (m.key[W_VLAN0] & VLAN_CFI) !== 0;
  const proto = m.mask[W_NW] & 0xff ? m.key[W_NW] & 0xff : 6;
  return contextOf(hasVlan, proto === 17 ? 'udp' : proto === 132 ? 'sctp' : 'tcp');
}

function putOxmSetField(
  w: Writer,
  field: string,
  value: number[],
  mask: number[] | null,
  version: number,
): undefined {
  const name = field === 'in_port' ? 'in_port_oxm' : field;
  const h = headerFor(name, true, version);
  if (!h) throw new OfpError('OFPBAC_BAD_SET_TYPE', field);
  const at = startAction(w, A11.SET_FIELD);
  putFieldTlv(w, h, value, mask);
  endAction(w, at);
}

function putRegLoad(w: Writer, sf: Subfield, v: bigint): undefined {
  const at = startNx(w, NXAST.REG_LOAD);
  w.u16(ofsNbits(sf)).u32(nxmHeader32(sf.field)).u64(v);
  endAction(w, at);
}

function putSetField(
  w: Writer,
  a: Extract<Ofpact, { type: 'set_field' }>,
  version: number,
): undefined {
  const useOxm =
    version >= OFP15_VERSION || (a.raw !== 'load' && version >= OFP12_VERSION && setFieldIsFull(a));
  if (useOxm) {
    putOxmSetField(w, a.field, a.value, setFieldIsFull(a) ? null : a.mask, version);
    return;
  }
  if (version < OFP12_VERSION && a.raw !== 'load') {
    // OF1.0/1.1 have no set_field: use the legacy action for the field when there is one.
    const v = a.value;
    if (setFieldIsFull(a)) {
      const legacy = legacySetField(a.field, v);
      if (legacy) {
        putAction(w, legacy, version);
        return;
      }
    }
  }
  if (a.value.length === 1 && (a.mask[0] | 0) === -1) {
    // A whole 32-bit field (load:N->NXM_NX_REG0[]): one segment, written without the
    // segment list and BigInt loadSegments() would build for it.
    const at = startNx(w, NXAST.REG_LOAD);
    w.u16(31).u32(nxmHeader32(a.field)).u32(0).u32(a.value[0]);
    endAction(w, at);
    return;
  }
  for (const [sf, v] of loadSegments(a)) putRegLoad(w, sf, v);
}

function legacySetField(field: string, v: number[]): Ofpact | null {
  switch (field) {
    case 'eth_src':
      return { type: 'set_eth_src', mac: [v[0], v[1]] };
    case 'eth_dst':
      return { type: 'set_eth_dst', mac: [v[0], v[1]] };
    case 'ip_src':
      return { type: 'set_ipv4_src', ip: v[0] };
    case 'ip_dst':
      return { type: 'set_ipv4_dst', ip: v[0] };
    case 'tcp_src':
    case 'udp_src':
      return { type: 'set_l4_src_port', port: v[0] };
    case 'tcp_dst':
    case 'udp_dst':
      return { type: 'set_l4_dst_port', port: v[0] };
    case 'vlan_vid':
      // A present VID sets it (a push before it was dropped); an absent one strips the tag.
      return v[0] & 0x1000
        ? { type: 'set_vlan_vid', vid: v[0] & 0xfff, pushIfNeeded: false }
        : { type: 'strip_vlan', raw: 'strip_vlan' };
    case 'vlan_pcp':
      return { type: 'set_vlan_pcp', pcp: v[0] & 7, pushIfNeeded: false };
    default:
      return null;
  }
}

function putController(w: Writer, a: Extract<Ofpact, { type: 'controller' }>): undefined {
  if (!a.userdata?.length && !a.pause && !a.meterId) {
    const at = startNx(w, NXAST.CONTROLLER);
    w.u16(a.maxLen).u16(a.controllerId).u8(OFPCR_REASONS.indexOf(a.reason)).u8(0);
    endAction(w, at);
    return;
  }
  // NXAST_CONTROLLER2: properties after a 6-byte pad.
  const at = startNx(w, NXAST.CONTROLLER2);
  w.zeros(6);
  const prop = (type: number, body: (w: Writer) => void) => {
    const p = w.pos;
    w.u16(type).u16(0);
    body(w);
    w.setU16(p + 2, w.pos - p);
    w.pad(8, p);
  };
  if (a.maxLen !== 0xffff) prop(0, (x) => x.u16(a.maxLen));
  if (a.controllerId) prop(1, (x) => x.u16(a.controllerId));
  if (a.reason !== 'action') prop(2, (x) => x.u8(OFPCR_REASONS.indexOf(a.reason)));
  if (a.userdata?.length) prop(3, (x) => x.bytes(a.userdata!));
  if (a.pause) prop(4, () => {});
  if (a.meterId) prop(5, (x) => x.u32(a.meterId!));
  endAction(w, at);
}

function putLearn(w: Writer, a: Extract<Ofpact, { type: 'learn' }>): undefined {
  const learn2 = a.limit !== 0 || a.flags.writeResult;
  const at = startNx(w, learn2 ? 45 : NXAST.LEARN);
  w.u16(a.idleTimeout).u16(a.hardTimeout).u16(a.priority).u64(a.cookie);
  const flags =
    (a.flags.sendFlowRem ? 1 : 0) | (a.flags.deleteLearned ? 2 : 0) | (a.flags.writeResult ? 4 : 0);
  w.u16(flags).u8(a.tableId).u8(0).u16(a.finIdleTimeout).u16(a.finHardTimeout);
  if (learn2) {
    w.u32(a.limit);
    if (a.flags.writeResult && a.resultDst) {
      w.u16(ofsNbits(a.resultDst)).zeros(2).u32(nxmHeader32(a.resultDst.field));
    } else {
      w.u16(0).zeros(2);
    }
  }
  for (const sp of a.specs) putLearnSpec(w, sp);
  // A zero header ends the spec list; padding to 8 follows.
  if ((w.pos - at) % 8 !== 0) w.pad(8, at);
  endAction(w, at);
}

function putLearnSpec(w: Writer, sp: LearnSpec): void {
  const nBits = sp.kind === 'output' ? sp.src.nBits : sp.dst.nBits;
  const dstType = sp.kind === 'match' ? 0 : sp.kind === 'load' ? 1 << 11 : 2 << 11;
  const srcIsField = sp.kind === 'output' || 'subfield' in sp.src;
  w.u16((srcIsField ? 0 : 1 << 13) | dstType | nBits);
  if (sp.kind === 'output') {
    w.u32(nxmHeader32(sp.src.field)).u16(sp.src.ofs);
    return;
  }
  if ('subfield' in sp.src) {
    w.u32(nxmHeader32(sp.src.subfield.field)).u16(sp.src.subfield.ofs);
  } else {
    const n = Math.ceil(nBits / 16) * 2;
    const b = new Uint8Array(n);
    let v = sp.src.value;
    for (let i = n - 1; i >= 0; i--) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    w.bytes(b);
  }
  w.u32(nxmHeader32(sp.dst.field)).u16(sp.dst.ofs);
}

function putAction(
  w: Writer,
  a: Ofpact,
  version: number,
  ctx: EncodeContext = contextForMatch(undefined),
): undefined {
  const of10 = version === OFP10_VERSION;
  let at: number;
  const debug = debugOfpactType(a);
  if (debug) {
    at = startNx(w, debug === 'debug_slow' ? NXAST_DEBUG_SLOW : NXAST_DEBUG_RECIRC);
    w.zeros(6);
    return endAction(w, at);
  }
  switch (a.type) {
    case 'output':
      at = startAction(w, 0);
      if (of10) w.u16(a.port).u16(a.maxLen);
      else w.u32(portToOfp11(a.port)).u16(a.maxLen).zeros(6);
      return endAction(w, at);
    case 'controller':
      if (
        a.reason === 'action' &&
        !a.controllerId &&
        !a.userdata?.length &&
        !a.pause &&
        !a.meterId
      ) {
        return putAction(w, { type: 'output', port: 0xfffd, maxLen: a.maxLen }, version);
      }
      return putController(w, a);
    case 'enqueue':
      if (!of10) {
        putAction(w, { type: 'set_queue', queue: a.queue }, version);
        putAction(w, { type: 'output', port: a.port, maxLen: 0 }, version);
        return putAction(w, { type: 'pop_queue' }, version);
      }
      at = startAction(w, A10.ENQUEUE);
      w.u16(a.port).zeros(6).u32(a.queue);
      return endAction(w, at);
    case 'output_reg':
      at = startNx(w, NXAST.OUTPUT_REG);
      w.u16(ofsNbits(a.src)).u32(nxmHeader32(a.src.field)).u16(a.maxLen).zeros(6);
      return endAction(w, at);
    case 'output_trunc':
      at = startNx(w, NXAST.OUTPUT_TRUNC);
      w.u16(a.port).u32(a.maxLen);
      return endAction(w, at);
    case 'bundle':
      at = startNx(w, a.load ? NXAST.BUNDLE_LOAD : NXAST.BUNDLE);
      w.u16(a.algorithm === 'active_backup' ? 0 : 1)
        .u16(HASH_FIELDS.indexOf(a.fields))
        .u16(a.basis)
        .u32(nxmHeader32('in_port'))
        .u16(a.members.length);
      if (a.load && a.dst) w.u16(ofsNbits(a.dst)).u32(nxmHeader32(a.dst.field));
      else w.u16(0).u32(0);
      w.zeros(4);
      for (const m of a.members) w.u16(m);
      return endAction(w, at);
    case 'set_vlan_vid':
      if (version >= OFP11_VERSION && a.pushIfNeeded && !ctx.hasVlan) {
        // OVS pushes a tag first when the flow has none; OF1.1+ has no conditional push.
        putAction(w, { type: 'push_vlan', ethertype: 0x8100 }, version, ctx);
      }
      if (version >= OFP12_VERSION) {
        return putOxmSetField(w, 'vlan_vid', [a.vid | 0x1000], null, version);
      }
      at = startAction(w, A10.SET_VLAN_VID);
      w.u16(a.vid).zeros(2);
      return endAction(w, at);
    case 'set_vlan_pcp':
      if (version >= OFP11_VERSION && a.pushIfNeeded && !ctx.hasVlan) {
        putAction(w, { type: 'push_vlan', ethertype: 0x8100 }, version, ctx);
      }
      if (version >= OFP12_VERSION) return putOxmSetField(w, 'vlan_pcp', [a.pcp], null, version);
      at = startAction(w, A10.SET_VLAN_PCP);
      w.u8(a.pcp).zeros(3);
      return endAction(w, at);
    case 'strip_vlan':
      at = startAction(w, of10 ? A10.STRIP_VLAN : A11.POP_VLAN);
      w.zeros(4);
      return endAction(w, at);
    case 'push_vlan':
      // OpenFlow 1.0 pushes as a side effect of the VLAN set that follows (as OVS encodes it).
      if (of10) return undefined;
      at = startAction(w, A11.PUSH_VLAN);
      w.u16(a.ethertype).zeros(2);
      return endAction(w, at);
    case 'set_eth_src':
    case 'set_eth_dst':
      if (version >= OFP12_VERSION) {
        return putOxmSetField(
          w,
          a.type === 'set_eth_src' ? 'eth_src' : 'eth_dst',
          a.mac,
          null,
          version,
        );
      }
      at = startAction(
        w,
        of10 ? (a.type === 'set_eth_src' ? 4 : 5) : a.type === 'set_eth_src' ? 3 : 4,
      );
      w.u16(a.mac[0]).u32(a.mac[1]).zeros(6);
      return endAction(w, at);
    case 'set_ipv4_src':
    case 'set_ipv4_dst':
      if (version >= OFP12_VERSION) {
        return putOxmSetField(
          w,
          a.type === 'set_ipv4_src' ? 'ip_src' : 'ip_dst',
          [a.ip],
          null,
          version,
        );
      }
      at = startAction(w, (of10 ? 6 : 5) + (a.type === 'set_ipv4_dst' ? 1 : 0));
      w.u32(a.ip);
      return endAction(w, at);
    case 'set_ip_dscp':
      if (version >= OFP12_VERSION)
        return putOxmSetField(w, 'ip_dscp', [a.dscp >> 2], null, version);
      at = startAction(w, of10 ? A10.SET_NW_TOS : A11.SET_NW_TOS);
      w.u8(a.dscp).zeros(3);
      return endAction(w, at);
    case 'set_ip_ecn':
      if (version >= OFP12_VERSION) return putOxmSetField(w, 'nw_ecn', [a.ecn], null, version);
      if (version === OFP11_VERSION) {
        at = startAction(w, A11.SET_NW_ECN);
        w.u8(a.ecn).zeros(3);
        return endAction(w, at);
      }
      return putRegLoad(w, { field: 'nw_ecn', ofs: 0, nBits: 2 }, BigInt(a.ecn));
    case 'set_ip_ttl':
      if (of10) return putRegLoad(w, { field: 'nw_ttl', ofs: 0, nBits: 8 }, BigInt(a.ttl));
      at = startAction(w, A11.SET_NW_TTL);
      w.u8(a.ttl).zeros(3);
      return endAction(w, at);
    case 'set_l4_src_port':
    case 'set_l4_dst_port':
      if (version >= OFP12_VERSION) {
        const dir = a.type === 'set_l4_src_port' ? 'src' : 'dst';
        return putOxmSetField(w, `${ctx.l4}_${dir}`, [a.port], null, version);
      }
      at = startAction(w, (of10 ? 9 : 9) + (a.type === 'set_l4_dst_port' ? 1 : 0));
      w.u16(a.port).zeros(2);
      return endAction(w, at);
    case 'reg_move':
      if (version >= OFP15_VERSION) {
        at = startAction(w, 28);
        w.u16(a.src.nBits).u16(a.src.ofs).u16(a.dst.ofs).zeros(2);
        for (const sf of [a.src, a.dst]) {
          const h = headerFor(sf.field, true, version);
          if (!h) throw new OfpError('OFPBAC_BAD_ARGUMENT', sf.field);
          w.u32(headerWord(h, false));
          if (h.experimenter) w.u32(h.experimenter);
        }
        return endAction(w, at);
      }
      at = startNx(w, NXAST.REG_MOVE);
      w.u16(a.src.nBits).u16(a.src.ofs).u16(a.dst.ofs);
      w.u32(nxmHeader32(a.src.field)).u32(nxmHeader32(a.dst.field));
      return endAction(w, at);
    case 'set_field':
      return putSetField(w, a, version);
    case 'stack_push':
    case 'stack_pop': {
      const sf = a.type === 'stack_push' ? a.src : a.dst;
      at = startNx(w, a.type === 'stack_push' ? NXAST.STACK_PUSH : NXAST.STACK_POP);
      w.u16(sf.ofs).u32(nxmHeader32(sf.field)).u16(sf.nBits).zeros(6);
      return endAction(w, at);
    }
    case 'dec_ttl':
      if (!a.explicitIds) {
        if (of10) {
          at = startNx(w, NXAST.DEC_TTL);
          w.zeros(6);
          return endAction(w, at);
        }
        at = startAction(w, A11.DEC_NW_TTL);
        w.zeros(4);
        return endAction(w, at);
      }
      at = startNx(w, NXAST.DEC_TTL_CNT_IDS);
      w.u16(a.controllerIds.length).zeros(4);
      for (const id of a.controllerIds) w.u16(id);
      return endAction(w, at);
    case 'set_mpls_label':
      if (version >= OFP12_VERSION)
        return putOxmSetField(w, 'mpls_label', [a.label], null, version);
      at = startNx(w, NXAST.SET_MPLS_LABEL);
      w.zeros(2).u32(a.label);
      return endAction(w, at);
    case 'set_mpls_tc':
      if (version >= OFP12_VERSION) return putOxmSetField(w, 'mpls_tc', [a.tc], null, version);
      at = startNx(w, NXAST.SET_MPLS_TC);
      w.u8(a.tc).zeros(5);
      return endAction(w, at);
    case 'set_mpls_ttl':
      if (of10) {
        at = startNx(w, NXAST.SET_MPLS_TTL);
        w.u8(a.ttl).zeros(5);
        return endAction(w, at);
      }
      at = startAction(w, A11.SET_MPLS_TTL);
      w.u8(a.ttl).zeros(3);
      return endAction(w, at);
    case 'dec_mpls_ttl':
      if (of10) {
        at = startNx(w, NXAST.DEC_MPLS_TTL);
        w.zeros(6);
        return endAction(w, at);
      }
      at = startAction(w, A11.DEC_MPLS_TTL);
      w.zeros(4);
      return endAction(w, at);
    case 'push_mpls':
    case 'pop_mpls':
      if (of10) {
        at = startNx(w, a.type === 'push_mpls' ? NXAST.PUSH_MPLS : NXAST.POP_MPLS);
        w.u16(a.ethertype).zeros(4);
        return endAction(w, at);
      }
      at = startAction(w, a.type === 'push_mpls' ? A11.PUSH_MPLS : A11.POP_MPLS);
      w.u16(a.ethertype).zeros(2);
      return endAction(w, at);
    case 'set_tunnel':
      if (version >= OFP12_VERSION) {
        const f = fieldByName('tun_id')!;
        return putOxmSetField(w, 'tun_id', bigToFieldWords(f, a.tunId), null, version);
      }
      if (a.wide || a.tunId > 0xffffffffn) {
        at = startNx(w, NXAST.SET_TUNNEL64);
        w.zeros(6).u64(a.tunId);
      } else {
        at = startNx(w, NXAST.SET_TUNNEL);
        w.zeros(2).u32(Number(a.tunId));
      }
      return endAction(w, at);
    case 'set_queue':
      if (of10) {
        at = startNx(w, NXAST.SET_QUEUE);
        w.zeros(2).u32(a.queue);
        return endAction(w, at);
      }
      at = startAction(w, A11.SET_QUEUE);
      w.u32(a.queue);
      return endAction(w, at);
    case 'pop_queue':
      at = startNx(w, NXAST.POP_QUEUE);
      w.zeros(6);
      return endAction(w, at);
    case 'fin_timeout':
      at = startNx(w, NXAST.FIN_TIMEOUT);
      w.u16(a.idleTimeout).u16(a.hardTimeout).zeros(2);
      return endAction(w, at);
    case 'resubmit':
      if (a.tableId === 255 && !a.withCt) {
        at = startNx(w, NXAST.RESUBMIT);
        w.u16(a.port).zeros(4);
      } else {
        at = startNx(w, a.withCt ? NXAST.RESUBMIT_TABLE_CT : NXAST.RESUBMIT_TABLE);
        w.u16(a.port).u8(a.tableId).zeros(3);
      }
      return endAction(w, at);
    case 'learn':
      return putLearn(w, a);
    case 'conjunction':
      at = startNx(w, NXAST.CONJUNCTION);
      w.u8(a.clause).u8(a.nClauses).u32(a.id);
      return endAction(w, at);
    case 'multipath':
      at = startNx(w, NXAST.MULTIPATH);
      w.u16(HASH_FIELDS.indexOf(a.fields)).u16(a.basis).zeros(2);
      w.u16(MP_ALGS.indexOf(a.algorithm)).u16(a.maxLink).u32(a.arg).zeros(2);
      w.u16(ofsNbits(a.dst)).u32(nxmHeader32(a.dst.field));
      return endAction(w, at);
    case 'note':
      at = startNx(w, NXAST.NOTE);
      w.bytes(a.data);
      if (w.pos - at < 16) w.zeros(16 - (w.pos - at));
      return endAction(w, at);
    case 'exit':
      at = startNx(w, NXAST.EXIT);
      w.zeros(6);
      return endAction(w, at);
    case 'sample':
      at = startNx(w, a.samplingPort === 0xffff && a.direction === 'default' ? NXAST.SAMPLE : 41);
      w.u16(a.probability).u32(a.collectorSetId).u32(a.obsDomainId).u32(a.obsPointId);
      if (!(a.samplingPort === 0xffff && a.direction === 'default')) {
        w.u16(a.samplingPort).u8(a.direction === 'default' ? 0 : a.direction === 'ingress' ? 1 : 2);
        w.zeros(5);
      }
      return endAction(w, at);
    case 'clone':
      at = startNx(w, NXAST.CLONE);
      w.zeros(6);
      for (const x of a.actions) putAction(w, x, version);
      return endAction(w, at);
    case 'ct': {
      at = startNx(w, NXAST.CT);
      w.u16((a.commit ? 1 : 0) | (a.force ? 2 : 0));
      if ('src' in a.zone) {
        w.u32(nxmHeader32(a.zone.src.field)).u16(ofsNbits(a.zone.src));
      } else {
        w.u32(0).u16(a.zone.imm);
      }
      w.u8(a.recircTable).zeros(3).u16(a.alg);
      for (const x of a.actions) putAction(w, x, version);
      return endAction(w, at);
    }
    case 'nat': {
      at = startNx(w, 36);
      const f = a.flags;
      w.zeros(2).u16(
        (f.src ? 1 : 0) |
          (f.dst ? 2 : 0) |
          (f.persistent ? 4 : 0) |
          (f.hash ? 8 : 0) |
          (f.random ? 16 : 0),
      );
      const presentAt = w.pos;
      w.u16(0);
      let present = 0;
      if (a.ipv4) {
        present |= 1;
        w.u32(a.ipv4.min);
        if (a.ipv4.max !== a.ipv4.min) {
          present |= 2;
          w.u32(a.ipv4.max);
        }
      } else if (a.ipv6) {
        present |= 4;
        for (const x of a.ipv6.min) w.u32(x);
        if (a.ipv6.max.some((x, i) => x !== a.ipv6!.min[i])) {
          present |= 8;
          for (const x of a.ipv6.max) w.u32(x);
        }
      }
      if (a.proto?.min) {
        present |= 16;
        w.u16(a.proto.min);
        if (a.proto.max !== a.proto.min) {
          present |= 32;
          w.u16(a.proto.max);
        }
      }
      w.setU16(presentAt, present);
      return endAction(w, at);
    }
    case 'ct_clear':
      at = startNx(w, NXAST.CT_CLEAR);
      w.zeros(6);
      return endAction(w, at);
    case 'check_pkt_larger':
      at = startNx(w, NXAST.CHECK_PKT_LARGER);
      w.u16(a.pktLen).u16(a.dst.ofs).u32(nxmHeader32(a.dst.field));
      return endAction(w, at);
    case 'group':
      if (of10) {
        at = startNx(w, 40);
        w.zeros(2).u32(a.groupId);
        return endAction(w, at);
      }
      at = startAction(w, A11.GROUP);
      w.u32(a.groupId);
      return endAction(w, at);
    case 'meter':
      at = startAction(w, A11.METER);
      w.u32(a.meterId);
      return endAction(w, at);
    case 'write_metadata':
      at = startNx(w, NXAST.WRITE_METADATA);
      w.zeros(6).u64(a.metadata).u64(a.mask);
      return endAction(w, at);
    case 'clear_actions':
    case 'write_actions':
    case 'goto_table':
      throw new OfpError('OFPBAC_BAD_TYPE', `${a.type} is not an action in this context`);
  }
}

/** Writes an action list (OF1.0 actions, or the actions of an OF1.1+ apply/write). */
export function putActions(
  w: Writer,
  acts: readonly Ofpact[],
  version: number,
  ctx: EncodeContext = contextForMatch(undefined),
): void {
  let c = ctx;
  for (const a of acts) {
    putAction(w, a, version, c);
    if (a.type === 'push_vlan' || (a.type === 'set_vlan_vid' && a.pushIfNeeded))
      c = contextOf(true, c.l4);
    else if (a.type === 'set_vlan_pcp' && a.pushIfNeeded) c = contextOf(true, c.l4);
    else if (a.type === 'strip_vlan') c = contextOf(false, c.l4);
  }
}

/* Instructions an OF1.0 action list leaves out. */
function notOf10Action(a: Ofpact): boolean {
  return (
    a.type === 'meter' ||
    a.type === 'clear_actions' ||
    a.type === 'write_actions' ||
    a.type === 'goto_table'
  );
}

/**
 * Writes ofpacts for a message body: for OF1.0 the actions (instructions other than
 * apply-actions are dropped, as OVS does), for OF1.1+ the instructions.
 */
export function putOfpactsForVersion(
  w: Writer,
  acts: readonly Ofpact[],
  version: number,
  match?: Match,
): void {
  if (version === OFP10_VERSION) {
    // Copied only when something must be left out (rarely: a dump encodes a list per flow).
    const list = acts.some(notOf10Action) ? acts.filter((a) => !notOf10Action(a)) : acts;
    putActions(w, list, version, contextForMatch(match));
    return;
  }
  putInstructions(w, acts, version, match);
}

export function putInstructions(
  w: Writer,
  acts: readonly Ofpact[],
  version: number,
  match?: Match,
): void {
  const ctx = contextForMatch(match);
  const apply: Ofpact[] = acts.filter(
    (a) =>
      a.type !== 'meter' &&
      a.type !== 'clear_actions' &&
      a.type !== 'write_actions' &&
      a.type !== 'write_metadata' &&
      a.type !== 'goto_table',
  );
  const meter = acts.find((a) => a.type === 'meter');
  if (meter && meter.type === 'meter') {
    if (version >= OFP15_VERSION) {
      // OF1.5 made meter an action, placed first in apply-actions.
      apply.unshift(meter);
    } else {
      w.u16(OFPIT.METER).u16(8).u32(meter.meterId);
    }
  }
  if (apply.length) {
    const at = w.pos;
    w.u16(OFPIT.APPLY_ACTIONS).u16(0).zeros(4);
    putActions(w, apply, version, ctx);
    w.setU16(at + 2, w.pos - at);
  }
  for (const a of acts) {
    if (a.type === 'clear_actions') w.u16(OFPIT.CLEAR_ACTIONS).u16(8).zeros(4);
    else if (a.type === 'write_actions') {
      const at = w.pos;
      w.u16(OFPIT.WRITE_ACTIONS).u16(0).zeros(4);
      putActions(w, a.actions, version, ctx);
      w.setU16(at + 2, w.pos - at);
    }
  }
  for (const a of acts) {
    if (a.type === 'write_metadata') {
      w.u16(OFPIT.WRITE_METADATA).u16(24).zeros(4).u64(a.metadata).u64(a.mask);
    }
  }
  for (const a of acts) {
    if (a.type === 'goto_table') w.u16(OFPIT.GOTO_TABLE).u16(8).u8(a.tableId).zeros(3);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding.                                                                                */

function decodeNx(r: Reader, len: number, version: number, out: Ofpact[]): void {
  const subtype = r.u16();
  switch (subtype) {
    case NXAST.RESUBMIT: {
      const port = r.u16();
      out.push({ type: 'resubmit', port, tableId: 255, withCt: false });
      return;
    }
    case NXAST.RESUBMIT_TABLE:
    case NXAST.RESUBMIT_TABLE_CT: {
      const port = r.u16();
      const tableId = r.u8();
      const pad = r.bytes(3);
      if (pad.some((x) => x)) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'resubmit pad');
      out.push({ type: 'resubmit', port, tableId, withCt: subtype === NXAST.RESUBMIT_TABLE_CT });
      return;
    }
    case NXAST.SET_TUNNEL:
      r.skip(2);
      out.push({ type: 'set_tunnel', tunId: BigInt(r.u32()), wide: false });
      return;
    case NXAST.SET_TUNNEL64:
      r.skip(6);
      out.push({ type: 'set_tunnel', tunId: r.u64(), wide: true });
      return;
    case NXAST.SET_QUEUE:
      r.skip(2);
      out.push({ type: 'set_queue', queue: r.u32() });
      return;
    case NXAST.POP_QUEUE:
      out.push({ type: 'pop_queue' });
      return;
    case NXAST.REG_MOVE: {
      const nBits = r.u16();
      const srcOfs = r.u16();
      const dstOfs = r.u16();
      const src = subfieldFrom(r.u32(), srcOfs, nBits);
      const dst = subfieldFrom(r.u32(), dstOfs, nBits);
      out.push({ type: 'reg_move', src, dst });
      return;
    }
    case NXAST.REG_LOAD: {
      const on = r.u16();
      const sf = subfieldFromOfsNbits(r.u32(), on);
      const v = r.u64();
      if (sf.nBits < 64 && v >> BigInt(sf.nBits) !== 0n) {
        throw new OfpError('OFPBAC_BAD_ARGUMENT', 'reg_load value too wide');
      }
      const f = fieldByName(sf.field)!;
      const m = ((1n << BigInt(sf.nBits)) - 1n) << BigInt(sf.ofs);
      out.push({
        type: 'set_field',
        field: sf.field,
        value: bigToFieldWords(f, v << BigInt(sf.ofs)),
        mask: bigToFieldWords(f, m),
        raw: 'load',
      });
      return;
    }
    case NXAST.NOTE:
      out.push({ type: 'note', data: r.bytes(len - 10).slice() });
      return;
    case NXAST.OUTPUT_REG: {
      const on = r.u16();
      const src = subfieldFromOfsNbits(r.u32(), on);
      out.push({ type: 'output_reg', src, maxLen: r.u16() });
      return;
    }
    case NXAST.EXIT:
      out.push({ type: 'exit' });
      return;
    case NXAST.DEC_TTL:
      out.push({ type: 'dec_ttl', controllerIds: [0], explicitIds: false });
      return;
    case NXAST.DEC_TTL_CNT_IDS: {
      const n = r.u16();
      r.skip(4);
      if (16 + n * 2 > len) throw new OfpError('OFPBAC_BAD_LEN', 'dec_ttl_cnt_ids');
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(r.u16());
      out.push({ type: 'dec_ttl', controllerIds: ids, explicitIds: true });
      return;
    }
    case NXAST.FIN_TIMEOUT:
      out.push({ type: 'fin_timeout', idleTimeout: r.u16(), hardTimeout: r.u16() });
      return;
    case NXAST.CONTROLLER: {
      const maxLen = r.u16();
      const controllerId = r.u16();
      const reason = OFPCR_REASONS[r.u8()] ?? 'action';
      out.push({ type: 'controller', maxLen, controllerId, reason, pause: false });
      return;
    }
    case NXAST.CONTROLLER2: {
      r.skip(6);
      const a: Extract<Ofpact, { type: 'controller' }> = {
        type: 'controller',
        maxLen: 0xffff,
        controllerId: 0,
        reason: 'action',
        pause: false,
      };
      while (r.remaining >= 4) {
        const t = r.u16();
        const plen = r.u16();
        if (plen < 4 || plen - 4 > r.remaining) throw new OfpError('OFPBPC_BAD_LEN', 'controller2');
        const body = r.sub(plen - 4);
        if (t === 0) a.maxLen = body.u16();
        else if (t === 1) a.controllerId = body.u16();
        else if (t === 2) a.reason = (OFPCR_REASONS[body.u8()] ?? 'action') as ControllerReason;
        else if (t === 3) a.userdata = body.rest().slice();
        else if (t === 4) a.pause = true;
        else if (t === 5) a.meterId = body.u32();
        const padded = ((plen + 7) & ~7) - plen;
        r.skip(Math.min(padded, r.remaining));
      }
      out.push(a);
      return;
    }
    case NXAST.WRITE_METADATA:
      r.skip(6);
      out.push({ type: 'write_metadata', metadata: r.u64(), mask: r.u64() });
      return;
    case NXAST.PUSH_MPLS:
    case NXAST.POP_MPLS:
      out.push({
        type: subtype === NXAST.PUSH_MPLS ? 'push_mpls' : 'pop_mpls',
        ethertype: r.u16(),
      });
      return;
    case NXAST.SET_MPLS_TTL:
      out.push({ type: 'set_mpls_ttl', ttl: r.u8() });
      return;
    case NXAST.DEC_MPLS_TTL:
      out.push({ type: 'dec_mpls_ttl' });
      return;
    case NXAST.SET_MPLS_LABEL:
      r.skip(2);
      out.push({ type: 'set_mpls_label', label: r.u32() });
      return;
    case NXAST.SET_MPLS_TC:
      out.push({ type: 'set_mpls_tc', tc: r.u8() });
      return;
    case NXAST.STACK_PUSH:
    case NXAST.STACK_POP: {
      const ofs = r.u16();
      const word = r.u32();
      const nBits = r.u16();
      const sf = subfieldFrom(word, ofs, nBits);
      out.push(
        subtype === NXAST.STACK_PUSH
          ? { type: 'stack_push', src: sf }
          : { type: 'stack_pop', dst: sf },
      );
      return;
    }
    case NXAST.SAMPLE:
    case 38:
    case 41: {
      const a: Extract<Ofpact, { type: 'sample' }> = {
        type: 'sample',
        probability: r.u16(),
        collectorSetId: r.u32(),
        obsDomainId: r.u32(),
        obsPointId: r.u32(),
        samplingPort: 0xffff,
        direction: 'default',
      };
      if (subtype !== NXAST.SAMPLE) {
        a.samplingPort = r.u16();
        const d = subtype === 41 ? r.u8() : 0;
        a.direction = d === 1 ? 'ingress' : d === 2 ? 'egress' : 'default';
      }
      if (a.probability === 0) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'sample probability 0');
      out.push(a);
      return;
    }
    case NXAST.CONJUNCTION: {
      const clause = r.u8();
      const n = r.u8();
      const id = r.u32();
      if (n < 2 || n > 64 || clause >= n) throw new OfpError('NXBAC_BAD_CONJUNCTION');
      out.push({ type: 'conjunction', id, clause, nClauses: n });
      return;
    }
    case NXAST.MULTIPATH: {
      const fields = HASH_FIELDS[r.u16()];
      const basis = r.u16();
      r.skip(2);
      const algorithm = MP_ALGS[r.u16()];
      const maxLink = r.u16();
      const arg = r.u32();
      r.skip(2);
      const on = r.u16();
      const dst = subfieldFromOfsNbits(r.u32(), on);
      if (!fields || !algorithm) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'multipath');
      out.push({ type: 'multipath', fields, basis, algorithm, maxLink, arg, dst });
      return;
    }
    case NXAST.BUNDLE:
    case NXAST.BUNDLE_LOAD: {
      const alg = r.u16();
      const fields = HASH_FIELDS[r.u16()];
      const basis = r.u16();
      r.u32();
      const n = r.u16();
      const on = r.u16();
      const dstWord = r.u32();
      r.skip(4);
      if (32 + n * 2 > len) throw new OfpError('OFPBAC_BAD_LEN', 'bundle members');
      const members: number[] = [];
      for (let i = 0; i < n; i++) members.push(r.u16());
      if (!fields || alg > 1) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'bundle');
      const a: Extract<Ofpact, { type: 'bundle' }> = {
        type: 'bundle',
        load: subtype === NXAST.BUNDLE_LOAD,
        fields,
        basis,
        algorithm: alg === 0 ? 'active_backup' : 'hrw',
        memberType: 'ofport',
        members,
      };
      if (a.load) a.dst = subfieldFromOfsNbits(dstWord, on);
      out.push(a);
      return;
    }
    case NXAST.LEARN:
    case 45:
      out.push(decodeLearn(r, subtype === 45));
      return;
    case NXAST.OUTPUT_TRUNC: {
      const port = r.u16();
      out.push({ type: 'output_trunc', port, maxLen: r.u32() });
      return;
    }
    case NXAST.CLONE: {
      r.skip(6);
      out.push({ type: 'clone', actions: decodeActions(r, r.remaining, version) });
      return;
    }
    case NXAST.CT: {
      const flags = r.u16();
      const zoneWord = r.u32();
      const zoneVal = r.u16();
      const recircTable = r.u8();
      r.skip(3);
      const alg = r.u16();
      const zone = zoneWord ? { src: subfieldFromOfsNbits(zoneWord, zoneVal) } : { imm: zoneVal };
      const actions = decodeActions(r, r.remaining, version);
      out.push({
        type: 'ct',
        commit: (flags & 1) !== 0,
        force: (flags & 2) !== 0,
        zone,
        recircTable,
        alg,
        actions,
      });
      return;
    }
    case NXAST.CT_CLEAR:
      out.push({ type: 'ct_clear' });
      return;
    case NXAST_DEBUG_SLOW:
    case NXAST_DEBUG_RECIRC:
      if (!debugOfpactsEnabled) {
        throw new OfpError('OFPBAC_BAD_VENDOR_TYPE', `NX subtype ${subtype}`);
      }
      out.push(debugOfpact(subtype === NXAST_DEBUG_SLOW ? 'debug_slow' : 'debug_recirc'));
      return;
    case 36: {
      r.skip(2);
      const flags = r.u16();
      const present = r.u16();
      if (flags & ~31 || (flags & 3) === 3 || (flags & 24) === 24) {
        throw new OfpError('OFPBAC_BAD_ARGUMENT', 'nat flags');
      }
      const nat: Extract<Ofpact, { type: 'nat' }> = {
        type: 'nat',
        flags: {
          src: (flags & 1) !== 0,
          dst: (flags & 2) !== 0,
          persistent: (flags & 4) !== 0,
          hash: (flags & 8) !== 0,
          random: (flags & 16) !== 0,
        },
      };
      if (present & 1) {
        const min = r.u32();
        nat.ipv4 = { min, max: present & 2 ? r.u32() : min };
        if (!min || nat.ipv4.max < min) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'nat range');
      } else if (present & 2) {
        throw new OfpError('OFPBAC_BAD_ARGUMENT', 'nat range');
      } else if (present & 4) {
        const min = [r.u32(), r.u32(), r.u32(), r.u32()];
        nat.ipv6 = { min, max: present & 8 ? [r.u32(), r.u32(), r.u32(), r.u32()] : min.slice() };
      }
      if (present & 16) {
        const min = r.u16();
        nat.proto = { min, max: present & 32 ? r.u16() : min };
      }
      out.push(nat);
      return;
    }
    case 40:
      r.skip(2);
      out.push({ type: 'group', groupId: r.u32() });
      return;
    case NXAST.CHECK_PKT_LARGER: {
      const pktLen = r.u16();
      const ofs = r.u16();
      const dst = subfieldFrom(r.u32(), ofs, 1);
      out.push({ type: 'check_pkt_larger', pktLen, dst });
      return;
    }
    default:
      throw new OfpError('OFPBAC_BAD_VENDOR_TYPE', `NX subtype ${subtype}`);
  }
}

function decodeLearn(r: Reader, learn2: boolean): Ofpact {
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const cookie = r.u64();
  const flags = r.u16();
  const tableId = r.u8();
  r.skip(1);
  const finIdleTimeout = r.u16();
  const finHardTimeout = r.u16();
  const a: Extract<Ofpact, { type: 'learn' }> = {
    type: 'learn',
    tableId,
    idleTimeout,
    hardTimeout,
    finIdleTimeout,
    finHardTimeout,
    priority,
    cookie,
    flags: {
      sendFlowRem: (flags & 1) !== 0,
      deleteLearned: (flags & 2) !== 0,
      writeResult: (flags & 4) !== 0,
    },
    limit: 0,
    specs: [],
  };
  if (flags & ~7) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'learn flags');
  if (learn2) {
    a.limit = r.u32();
    const on = r.u16();
    r.skip(2);
    if (a.flags.writeResult) a.resultDst = subfieldFromOfsNbits(r.u32(), on);
  }
  while (r.remaining >= 2) {
    const h = r.u16();
    if (h === 0) break;
    const nBits = h & 0x3ff;
    const srcImm = (h >> 13) & 1;
    const dstType = (h >> 11) & 3;
    let src: { subfield: Subfield } | { value: bigint };
    if (srcImm) {
      const n = Math.ceil(nBits / 16) * 2;
      let v = 0n;
      for (const b of r.bytes(n)) v = (v << 8n) | BigInt(b);
      src = { value: v };
    } else {
      const word = r.u32();
      src = { subfield: subfieldFrom(word, r.u16(), nBits) };
    }
    if (dstType === 2) {
      if (!('subfield' in src)) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'learn output');
      a.specs.push({ kind: 'output', src: src.subfield });
      continue;
    }
    const word = r.u32();
    const dst = subfieldFrom(word, r.u16(), nBits);
    a.specs.push({ kind: dstType === 0 ? 'match' : 'load', dst, src });
  }
  return a;
}

function decodeSetFieldOxm(r: Reader, version: number): Ofpact {
  let e: ReturnType<typeof pullEntry>;
  try {
    e = pullEntry(r);
  } catch (err) {
    if (err instanceof OfpError) throw new OfpError('OFPBAC_BAD_SET_LEN', err.message);
    throw err;
  }
  if (!e.header) throw new OfpError('OFPBAC_BAD_SET_TYPE', `0x${e.word.toString(16)}`);
  if (e.hasMask && version < OFP15_VERSION) {
    throw new OfpError('OFPBAC_BAD_SET_MASK', e.header.name);
  }
  let f = e.header.field;
  if (!f.writable) throw new OfpError('OFPBAC_BAD_SET_ARGUMENT', `${f.name} is read-only`);
  let vm: { value: number[]; mask: number[] | null };
  try {
    vm = entryWords(e);
  } catch (err) {
    if (err instanceof OfpError) throw new OfpError('OFPBAC_BAD_SET_ARGUMENT', err.message);
    throw err;
  }
  if (f.name === 'in_port_oxm') f = fieldByName('in_port')!;
  let mask = fullMask(f);
  if (vm.mask) {
    mask = vm.mask;
    for (let i = 0; i < vm.value.length; i++) {
      if ((vm.value[i] & ~mask[i]) >>> 0) throw new OfpError('OFPBAC_BAD_SET_MASK', f.name);
    }
  }
  return { type: 'set_field', field: f.name, value: vm.value, mask, raw: 'set_field' };
}

function decodeStd10(r: Reader, type: number, out: Ofpact[]): void {
  switch (type) {
    case A10.OUTPUT:
      out.push(portOrController(r.u16(), r.u16()));
      return;
    case A10.SET_VLAN_VID: {
      const vid = r.u16();
      if (vid & ~0xfff) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'vlan vid');
      out.push({ type: 'set_vlan_vid', vid, pushIfNeeded: true });
      return;
    }
    case A10.SET_VLAN_PCP: {
      const pcp = r.u8();
      if (pcp & ~7) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'vlan pcp');
      out.push({ type: 'set_vlan_pcp', pcp, pushIfNeeded: true });
      return;
    }
    case A10.STRIP_VLAN:
      out.push({ type: 'strip_vlan', raw: 'strip_vlan' });
      return;
    case A10.SET_DL_SRC:
    case A10.SET_DL_DST: {
      const mac: [number, number] = [r.u16(), r.u32()];
      out.push({ type: type === A10.SET_DL_SRC ? 'set_eth_src' : 'set_eth_dst', mac });
      return;
    }
    case A10.SET_NW_SRC:
    case A10.SET_NW_DST:
      out.push({ type: type === A10.SET_NW_SRC ? 'set_ipv4_src' : 'set_ipv4_dst', ip: r.u32() });
      return;
    case A10.SET_NW_TOS: {
      const tos = r.u8();
      if (tos & 3) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'nw_tos');
      out.push({ type: 'set_ip_dscp', dscp: tos });
      return;
    }
    case A10.SET_TP_SRC:
    case A10.SET_TP_DST:
      out.push({
        type: type === A10.SET_TP_SRC ? 'set_l4_src_port' : 'set_l4_dst_port',
        port: r.u16(),
      });
      return;
    case A10.ENQUEUE: {
      const port = r.u16();
      r.skip(6);
      out.push({ type: 'enqueue', port, queue: r.u32() });
      return;
    }
    default:
      throw new OfpError('OFPBAC_BAD_TYPE', `OF1.0 action ${type}`);
  }
}

function portOrController(port: number, maxLen: number): Ofpact {
  if (port === 0xfffd) {
    return { type: 'controller', maxLen, controllerId: 0, reason: 'action', pause: false };
  }
  return { type: 'output', port, maxLen };
}

function decodeStd11(r: Reader, type: number, version: number, out: Ofpact[]): void {
  switch (type) {
    case A11.OUTPUT: {
      const p = portFromOfp11(r.u32());
      if (p === null) throw new OfpError('OFPBAC_BAD_OUT_PORT');
      out.push(portOrController(p, r.u16()));
      return;
    }
    // OF1.1's set_vlan_* only rewrite an existing tag (OVS decodes them without push).
    case A11.SET_VLAN_VID:
      out.push({ type: 'set_vlan_vid', vid: r.u16() & 0xfff, pushIfNeeded: false });
      return;
    case A11.SET_VLAN_PCP:
      out.push({ type: 'set_vlan_pcp', pcp: r.u8() & 7, pushIfNeeded: false });
      return;
    case A11.SET_DL_SRC:
    case A11.SET_DL_DST: {
      const mac: [number, number] = [r.u16(), r.u32()];
      out.push({ type: type === A11.SET_DL_SRC ? 'set_eth_src' : 'set_eth_dst', mac });
      return;
    }
    case A11.SET_NW_SRC:
    case A11.SET_NW_DST:
      out.push({ type: type === A11.SET_NW_SRC ? 'set_ipv4_src' : 'set_ipv4_dst', ip: r.u32() });
      return;
    case A11.SET_NW_TOS:
      out.push({ type: 'set_ip_dscp', dscp: r.u8() & 0xfc });
      return;
    case A11.SET_NW_ECN:
      out.push({ type: 'set_ip_ecn', ecn: r.u8() & 3 });
      return;
    case A11.SET_TP_SRC:
    case A11.SET_TP_DST:
      out.push({
        type: type === A11.SET_TP_SRC ? 'set_l4_src_port' : 'set_l4_dst_port',
        port: r.u16(),
      });
      return;
    case A11.SET_MPLS_TTL:
      out.push({ type: 'set_mpls_ttl', ttl: r.u8() });
      return;
    case A11.DEC_MPLS_TTL:
      out.push({ type: 'dec_mpls_ttl' });
      return;
    case A11.PUSH_VLAN: {
      const t = r.u16();
      if (t !== 0x8100 && t !== 0x88a8) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'push_vlan');
      out.push({ type: 'push_vlan', ethertype: t });
      return;
    }
    case A11.POP_VLAN:
      out.push({ type: 'strip_vlan', raw: 'pop_vlan' });
      return;
    case A11.PUSH_MPLS:
    case A11.POP_MPLS:
      out.push({ type: type === A11.PUSH_MPLS ? 'push_mpls' : 'pop_mpls', ethertype: r.u16() });
      return;
    case A11.SET_QUEUE:
      out.push({ type: 'set_queue', queue: r.u32() });
      return;
    case A11.GROUP:
      out.push({ type: 'group', groupId: r.u32() });
      return;
    case A11.SET_NW_TTL:
      out.push({ type: 'set_ip_ttl', ttl: r.u8() });
      return;
    case A11.DEC_NW_TTL:
      out.push({ type: 'dec_ttl', controllerIds: [0], explicitIds: false });
      return;
    case A11.SET_FIELD:
      if (version < OFP12_VERSION) throw new OfpError('OFPBAC_BAD_TYPE', 'set_field in OF1.1');
      out.push(decodeSetFieldOxm(r, version));
      return;
    case 28: {
      if (version < OFP15_VERSION) throw new OfpError('OFPBAC_BAD_TYPE', 'copy_field');
      const nBits = r.u16();
      const srcOfs = r.u16();
      const dstOfs = r.u16();
      r.skip(2);
      const sfs: Subfield[] = [];
      for (const ofs of [srcOfs, dstOfs]) {
        const word = r.u32();
        const exp = word >>> 16 === 0xffff ? r.u32() : 0;
        const h = headerByWire(word >>> 16, (word >>> 9) & 0x7f, exp);
        if (!h) throw new OfpError('OFPBAC_BAD_ARGUMENT', 'copy_field field');
        if (ofs + nBits > fieldBits(h.field) || nBits < 1) throw new OfpError('OFPBAC_BAD_SET_LEN');
        sfs.push({ field: h.field.name, ofs, nBits });
      }
      out.push({ type: 'reg_move', src: sfs[0], dst: sfs[1] });
      return;
    }
    case A11.METER:
      if (version < OFP15_VERSION) throw new OfpError('OFPBAC_BAD_TYPE', 'meter action');
      out.push({ type: 'meter', meterId: r.u32() });
      return;
    default:
      throw new OfpError('OFPBAC_BAD_TYPE', `action ${type}`);
  }
}

const ONF_COPY_FIELD_VENDOR = 0x4f4e4600;

/** Parses `len` bytes of actions. */
export function decodeActions(r: Reader, len: number, version: number): Ofpact[] {
  if (len % 8 !== 0 || len > r.remaining)
    throw new OfpError('OFPBAC_BAD_LEN', 'action list length');
  const list = r.sub(len);
  const out: Ofpact[] = [];
  const listStart = list.pos;
  const at = { offset: 0 };
  try {
    decodeActionList(list, version, out, at);
  } catch (e) {
    if (e instanceof OfpError) {
      logBadAction(list.buf.subarray(listStart, list.end), at.offset, e);
    }
    throw e;
  }
  return out;
}

const actionsLog = vlog('ofp_actions');
const badActionRl = new VlogRateLimit(1, 5);

/* As OVS: a list that fails to decode is logged with the failing action's offset (that of the
 * action being read when the error was thrown) and the whole list in hex. */
function logBadAction(list: Uint8Array, offset: number, e: OfpError): void {
  if (!actionsLog.warnEnabled) return;
  const lines: string[] = [];
  for (let off = 0; off < list.length; off += 16) {
    let line = `${off.toString(16).padStart(8, '0')}  `;
    const n = Math.min(16, list.length - off);
    for (let i = 0; i < n; i++) {
      line += `${list[off + i].toString(16).padStart(2, '0')}${i === 7 ? '-' : ' '}`;
    }
    lines.push(line.trimEnd());
  }
  actionsLog.warnRl(
    `bad action at offset ${offset} (${e.error}):\n${lines.join('\n')}`,
    badActionRl,
  );
}

function decodeActionList(
  list: Reader,
  version: number,
  out: Ofpact[],
  at: { offset: number },
): void {
  const listStart = list.pos;
  while (list.remaining > 0) {
    at.offset = list.pos - listStart;
    if (list.remaining < 8) throw new OfpError('OFPBAC_BAD_LEN', 'truncated action');
    const type = list.peekU16();
    const alen = list.peekU16(2);
    if (alen < 8 || alen % 8 !== 0 || alen > list.remaining) {
      throw new OfpError('OFPBAC_BAD_LEN', `action type ${type} length ${alen}`);
    }
    const a = list.sub(alen);
    a.skip(4);
    try {
      if (type === OFPAT_VENDOR) {
        const vendor = a.u32();
        if (
          vendor === ONF_COPY_FIELD_VENDOR &&
          (version === OFP13_VERSION || version === OFP14_VERSION)
        ) {
          // ONF's OF1.3 extension copy_field (exp_type 3200): OF1.5's copy_field body follows.
          if (a.u16() !== 3200) throw new OfpError('OFPBAC_BAD_VENDOR_TYPE', 'ONF action');
          a.skip(2);
          decodeStd11(a, 28, OFP15_VERSION, out);
          continue;
        }
        if (vendor !== NX_VENDOR_ID)
          throw new OfpError('OFPBAC_BAD_VENDOR', `0x${vendor.toString(16)}`);
        decodeNx(a, alen, version, out);
      } else if (version === OFP10_VERSION) {
        decodeStd10(a, type, out);
      } else {
        decodeStd11(a, type, version, out);
      }
    } catch (e) {
      if (e instanceof DecodeError) throw new OfpError('OFPBAC_BAD_LEN', e.message);
      throw e;
    }
  }
}

/** Parses `len` bytes of OF1.1+ instructions into ofpacts (in OVS's canonical order). */
export function decodeInstructions(r: Reader, len: number, version: number): Ofpact[] {
  if (len > r.remaining) throw new OfpError('OFPBIC_BAD_LEN', 'instructions length');
  const list = r.sub(len);
  const byType = new Map<number, Ofpact[]>();
  while (list.remaining > 0) {
    if (list.remaining < 4) throw new OfpError('OFPBIC_BAD_LEN', 'truncated instruction');
    const type = list.peekU16();
    const ilen = list.peekU16(2);
    if (ilen < 8 || ilen % 8 !== 0 || ilen > list.remaining) {
      throw new OfpError('OFPBIC_BAD_LEN', `instruction ${type} length ${ilen}`);
    }
    const ins = list.sub(ilen);
    ins.skip(4);
    if (byType.has(type)) throw new OfpError('OFPBIC_DUP_INST', `instruction ${type}`);
    try {
      switch (type) {
        case OFPIT.GOTO_TABLE:
          byType.set(type, [{ type: 'goto_table', tableId: ins.u8() }]);
          break;
        case OFPIT.WRITE_METADATA:
          ins.skip(4);
          byType.set(type, [{ type: 'write_metadata', metadata: ins.u64(), mask: ins.u64() }]);
          break;
        case OFPIT.WRITE_ACTIONS:
          ins.skip(4);
          byType.set(type, [
            { type: 'write_actions', actions: decodeActions(ins, ins.remaining, version) },
          ]);
          break;
        case OFPIT.APPLY_ACTIONS:
          ins.skip(4);
          byType.set(type, decodeActions(ins, ins.remaining, version));
          break;
        case OFPIT.CLEAR_ACTIONS:
          byType.set(type, [{ type: 'clear_actions' }]);
          break;
        case OFPIT.METER:
          if (version < OFP13_VERSION || version >= OFP15_VERSION) {
            throw new OfpError('OFPBIC_UNKNOWN_INST', 'meter instruction');
          }
          byType.set(type, [{ type: 'meter', meterId: ins.u32() }]);
          break;
        case 0xffff:
          throw new OfpError('OFPBIC_BAD_EXPERIMENTER', 'experimenter instruction');
        default:
          throw new OfpError('OFPBIC_UNKNOWN_INST', `instruction ${type}`);
      }
    } catch (e) {
      if (e instanceof DecodeError) throw new OfpError('OFPBIC_BAD_LEN', e.message);
      throw e;
    }
  }
  const order = [
    OFPIT.METER,
    OFPIT.APPLY_ACTIONS,
    OFPIT.CLEAR_ACTIONS,
    OFPIT.WRITE_ACTIONS,
    OFPIT.WRITE_METADATA,
    OFPIT.GOTO_TABLE,
  ];
  const out: Ofpact[] = [];
  for (const t of order) out.push(...(byType.get(t) ?? []));
  return out;
}

/** Reads ofpacts of a message body: OF1.0 actions or OF1.1+ instructions. */
export function decodeOfpactsForVersion(r: Reader, len: number, version: number): Ofpact[] {
  return version === OFP10_VERSION
    ? decodeActions(r, len, version)
    : decodeInstructions(r, len, version);
}

/** Encodes actions standalone (tests, packet-out helpers). */
export function encodeActions(acts: readonly Ofpact[], version: number): Uint8Array {
  const w = new Writer();
  putActions(w, acts, version);
  return w.finish();
}
