/*
 * Flow monitors on the wire: the Nicira NXST_FLOW_MONITOR extension (OpenFlow 1.0-1.2), its
 * ONF twin for OpenFlow 1.3 (ONFST 1870, ONFT 1870-1872) and OpenFlow 1.4+'s
 * OFPMP_FLOW_MONITOR. Requests, the flow updates that answer them (and arrive later, xid 0),
 * cancels, and the paused/resumed notices a switch sends when updates back up.
 *
 * These messages work on whole raw messages so that the switch (connmgr) and ovs-ofctl's
 * `monitor` can both use them beside codec.ts: decodeFlowMonitorMessage() returns null for
 * anything that is not a monitor message.
 *
 * Flags are kept in OpenFlow 1.4's OFPFMF_* numbering whatever the wire form; the Nicira
 * bits are translated on the way in and out, as OVS's ofp-monitor does.
 */

import { type Match, newMatch } from '../../lib/flow/match.ts';
import { DecodeError, Reader, Writer } from './bytes.ts';
import { NX_VENDOR_ID, OfpError, ONF_VENDOR_ID } from './errors.ts';
import {
  portFromOfp11,
  portToOfp11,
  pullMatchRaw,
  pullOxmMatch,
  putMatchRaw,
  putOxmMatch,
} from './match-nxm.ts';
import {
  FLOW_REMOVED_REASONS,
  type FlowRemovedReason,
  OFP10_VERSION,
  OFP13_VERSION,
  OFP14_VERSION,
} from './messages.ts';
import type { Ofpact } from './ofpact.ts';
import {
  contextForMatch,
  decodeActions,
  decodeInstructions,
  putActions,
  putInstructions,
  putOfpactsForVersion,
} from './ofpact-wire.ts';

/** OpenFlow 1.4 flow monitor flags (the internal numbering). */
export const OFPFMF = {
  INITIAL: 1,
  ADD: 2,
  REMOVED: 4,
  MODIFY: 8,
  INSTRUCTIONS: 16,
  NO_ABBREV: 32,
  ONLY_OWN: 64,
} as const;

/* Nicira/ONF flags: the same events, numbered differently past INITIAL/ADD. */
const NXFMF = { INITIAL: 1, ADD: 2, DELETE: 4, MODIFY: 8, ACTIONS: 16, OWN: 32 } as const;
const NX_TO_OFP: readonly [number, number][] = [
  [NXFMF.INITIAL, OFPFMF.INITIAL],
  [NXFMF.ADD, OFPFMF.ADD],
  [NXFMF.DELETE, OFPFMF.REMOVED],
  [NXFMF.MODIFY, OFPFMF.MODIFY],
  [NXFMF.ACTIONS, OFPFMF.INSTRUCTIONS],
  [NXFMF.OWN, OFPFMF.ONLY_OWN],
];

function nxToOfpFlags(f: number): number {
  let out = 0;
  for (const [nx, ofp] of NX_TO_OFP) if (f & nx) out |= ofp;
  return out;
}

function ofpToNxFlags(f: number): number {
  let out = 0;
  for (const [nx, ofp] of NX_TO_OFP) if (f & ofp) out |= nx;
  return out;
}

const OFPP_NONE = 0xffff;
const OFPG_ANY = 0xffffffff;
const OFPST_VENDOR = 0xffff;
const OFPMP14_FLOW_MONITOR = 16;
const NXST_FLOW_MONITOR = 2;
const ONFST_FLOW_MONITOR = 1870;
const NXT_FLOW_MONITOR_CANCEL = 21;
const NXT_FLOW_MONITOR_PAUSED = 22;
const NXT_FLOW_MONITOR_RESUMED = 23;
const ONFT_FLOW_MONITOR_CANCEL = 1870;
const ONFT_FLOW_MONITOR_PAUSED = 1871;
const ONFT_FLOW_MONITOR_RESUMED = 1872;
const OFPT_VENDOR = 4;
const OFPSF_REPLY_MORE = 1;
const MAX_MSG = 0xffff;

/* Nicira update events vs OpenFlow 1.4's. */
const NXFME = { ADDED: 0, DELETED: 1, MODIFIED: 2, ABBREV: 3 } as const;
const OFPFME = {
  INITIAL: 0,
  ADDED: 1,
  REMOVED: 2,
  MODIFIED: 3,
  ABBREV: 4,
  PAUSED: 5,
  RESUMED: 6,
} as const;

export type FlowMonitorCommand = 'add' | 'modify' | 'delete';
const COMMANDS: readonly FlowMonitorCommand[] = ['add', 'modify', 'delete'];

export interface FlowMonitorRequest {
  id: number;
  command: FlowMonitorCommand;
  /** OFPFMF bits. */
  flags: number;
  /** OpenFlow port number in 16-bit space (OFPP_NONE 0xffff: any). */
  outPort: number;
  outGroup: number;
  tableId: number;
  match: Match;
}

export type FlowUpdateEvent = 'initial' | 'added' | 'removed' | 'modified';

/** A flow update that describes a flow (not an abbreviation or a pause notice). */
export interface FullFlowUpdate {
  event: FlowUpdateEvent;
  /** For removed. */
  reason: FlowRemovedReason;
  tableId: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  cookie: bigint;
  match: Match;
  /** Empty unless the monitor asked for instructions. */
  ofpacts: Ofpact[];
}

export type FlowUpdate =
  | FullFlowUpdate
  | { event: 'abbrev'; xid: number }
  | { event: 'paused' }
  | { event: 'resumed' };

export type FlowMonitorMessage =
  | { type: 'flow_monitor_request'; flags: number; requests: FlowMonitorRequest[] }
  | { type: 'flow_monitor_reply'; flags: number; updates: FlowUpdate[] }
  | { type: 'flow_monitor_cancel'; id: number }
  | { type: 'flow_monitor_paused' }
  | { type: 'flow_monitor_resumed' };

export interface FlowMonitorFrame {
  version: number;
  xid: number;
  msg: FlowMonitorMessage;
}

export type FlowMonitorDecodeResult =
  | { ok: true; frame: FlowMonitorFrame }
  | { ok: false; error: OfpError; version: number; xid: number };

/* ---------------------------------------------------------------------------------------- */
/* Recognising.                                                                             */

type Kind =
  | { form: 'nx' | 'onf' | 'of14'; what: 'request' | 'reply'; hdrLen: number }
  | { form: 'nx' | 'onf'; what: 'cancel' | 'paused' | 'resumed'; hdrLen: number };

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}
function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/* Which monitor message `b` is, from its headers alone (no allocation). */
function classify(b: Uint8Array): Kind | null {
  if (b.length < 16) return null;
  const v = b[0];
  const type = b[1];
  if (type === OFPT_VENDOR) {
    const vendor = u32(b, 8);
    const sub = u32(b, 12);
    if (vendor === NX_VENDOR_ID && v < OFP13_VERSION) {
      if (sub === NXT_FLOW_MONITOR_CANCEL) return { form: 'nx', what: 'cancel', hdrLen: 16 };
      if (sub === NXT_FLOW_MONITOR_PAUSED) return { form: 'nx', what: 'paused', hdrLen: 16 };
      if (sub === NXT_FLOW_MONITOR_RESUMED) return { form: 'nx', what: 'resumed', hdrLen: 16 };
    } else if (vendor === ONF_VENDOR_ID && v === OFP13_VERSION) {
      if (sub === ONFT_FLOW_MONITOR_CANCEL) return { form: 'onf', what: 'cancel', hdrLen: 16 };
      if (sub === ONFT_FLOW_MONITOR_PAUSED) return { form: 'onf', what: 'paused', hdrLen: 16 };
      if (sub === ONFT_FLOW_MONITOR_RESUMED) return { form: 'onf', what: 'resumed', hdrLen: 16 };
    }
    return null;
  }
  const statsReq = v === OFP10_VERSION ? 16 : 18;
  if (type !== statsReq && type !== statsReq + 1) return null;
  const what = type === statsReq ? 'request' : 'reply';
  const stat = u16(b, 8);
  if (v >= OFP14_VERSION) {
    return stat === OFPMP14_FLOW_MONITOR ? { form: 'of14', what, hdrLen: 16 } : null;
  }
  if (stat !== OFPST_VENDOR || b.length < 24) return null;
  if (v === OFP10_VERSION) {
    if (u32(b, 12) === NX_VENDOR_ID && u32(b, 16) === NXST_FLOW_MONITOR) {
      return { form: 'nx', what, hdrLen: 24 };
    }
    return null;
  }
  const vendor = u32(b, 16);
  const sub = u32(b, 20);
  if (vendor === NX_VENDOR_ID && v < OFP13_VERSION && sub === NXST_FLOW_MONITOR) {
    return { form: 'nx', what, hdrLen: 24 };
  }
  if (vendor === ONF_VENDOR_ID && v === OFP13_VERSION && sub === ONFST_FLOW_MONITOR) {
    return { form: 'onf', what, hdrLen: 24 };
  }
  return null;
}

/** Whether `raw` is a flow monitor message of any form (cheap header test). */
export function isFlowMonitorMessage(raw: Uint8Array): boolean {
  return classify(raw) !== null;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding.                                                                                */

/** Decodes a monitor message; null when `raw` is some other message. */
export function decodeFlowMonitorMessage(raw: Uint8Array): FlowMonitorDecodeResult | null {
  const k = classify(raw);
  if (k === null) return null;
  const version = raw[0];
  const xid = u32(raw, 4);
  try {
    if (u16(raw, 2) !== raw.length) throw new OfpError('OFPBRC_BAD_LEN', 'header length');
    const r = new Reader(raw, k.hdrLen, raw.length);
    const flags = k.what === 'request' || k.what === 'reply' ? u16(raw, 10) : 0;
    let msg: FlowMonitorMessage;
    switch (k.what) {
      case 'request': {
        const requests: FlowMonitorRequest[] = [];
        while (r.remaining > 0) requests.push(pullRequest(r, k.form, version));
        msg = { type: 'flow_monitor_request', flags, requests };
        break;
      }
      case 'reply': {
        const updates: FlowUpdate[] = [];
        while (r.remaining > 0) updates.push(pullUpdate(r, k.form, version));
        msg = { type: 'flow_monitor_reply', flags, updates };
        break;
      }
      case 'cancel':
        if (r.remaining !== 4) throw new OfpError('OFPBRC_BAD_LEN', 'flow monitor cancel');
        msg = { type: 'flow_monitor_cancel', id: r.u32() };
        break;
      case 'paused':
      case 'resumed':
        if (r.remaining !== 0) throw new OfpError('OFPBRC_BAD_LEN', `flow monitor ${k.what}`);
        msg = { type: k.what === 'paused' ? 'flow_monitor_paused' : 'flow_monitor_resumed' };
        break;
    }
    return { ok: true, frame: { version, xid, msg } };
  } catch (e) {
    if (e instanceof OfpError) return { ok: false, error: e, version, xid };
    if (e instanceof DecodeError || e instanceof RangeError) {
      return { ok: false, error: new OfpError('OFPBRC_BAD_LEN', e.message), version, xid };
    }
    throw e;
  }
}

const NX_FLAGS_ALL = 0x3f;
const OFP_FLAGS_ALLOWED =
  OFPFMF.INITIAL |
  OFPFMF.ADD |
  OFPFMF.REMOVED |
  OFPFMF.MODIFY |
  OFPFMF.INSTRUCTIONS |
  OFPFMF.ONLY_OWN;
const EVENT_FLAGS = OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY;

function pullRequest(r: Reader, form: 'nx' | 'onf' | 'of14', version: number): FlowMonitorRequest {
  if (r.remaining < 16) throw new OfpError('OFPBRC_BAD_LEN', 'flow monitor request');
  if (form === 'nx') {
    const id = r.u32();
    const nxFlags = r.u16();
    const outPort = r.u16();
    const matchLen = r.u16();
    const tableId = r.u8();
    const zeros = r.bytes(5);
    if (!(nxFlags & (NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY)) || nxFlags & ~NX_FLAGS_ALL) {
      throw new OfpError('OFPMOFC_BAD_FLAGS', `flags 0x${nxFlags.toString(16)}`);
    }
    if (zeros.some((x) => x !== 0)) throw new OfpError('NXBRC_MUST_BE_ZERO');
    const match = pullMatchRaw(r, matchLen);
    r.skip(((matchLen + 7) & ~7) - matchLen);
    return {
      id,
      command: 'add',
      flags: nxToOfpFlags(nxFlags),
      outPort,
      outGroup: OFPG_ANY,
      tableId,
      match,
    };
  }
  if (form === 'onf') {
    const id = r.u32();
    const nxFlags = r.u16();
    r.u16(); // match_len: the ofp_match header says it again
    const outPort = portFromOfp11(r.u32());
    const tableId = r.u8();
    const zeros = r.bytes(3);
    if (!(nxFlags & (NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY)) || nxFlags & ~NX_FLAGS_ALL) {
      throw new OfpError('OFPMOFC_BAD_FLAGS', `flags 0x${nxFlags.toString(16)}`);
    }
    if (zeros.some((x) => x !== 0)) throw new OfpError('NXBRC_MUST_BE_ZERO');
    if (outPort === null) throw new OfpError('OFPBRC_BAD_PORT');
    const match = pullOxmMatch(r);
    return {
      id,
      command: 'add',
      flags: nxToOfpFlags(nxFlags),
      outPort,
      outGroup: OFPG_ANY,
      tableId,
      match,
    };
  }
  const id = r.u32();
  const outPortRaw = r.u32();
  const outGroup = r.u32();
  const flags = r.u16();
  const tableId = r.u8();
  const cmd = r.u8();
  void version;
  const command = COMMANDS[cmd];
  if (command === undefined) throw new OfpError('OFPMOFC_BAD_COMMAND', `command ${cmd}`);
  if (command !== 'delete') {
    if (!(flags & EVENT_FLAGS) || flags & ~OFP_FLAGS_ALLOWED) {
      throw new OfpError('OFPMOFC_BAD_FLAGS', `flags 0x${flags.toString(16)}`);
    }
  }
  const outPort = command === 'delete' ? OFPP_NONE : portFromOfp11(outPortRaw);
  if (outPort === null) throw new OfpError('OFPBRC_BAD_PORT');
  const match = pullOxmMatch(r);
  return { id, command, flags, outPort, outGroup, tableId, match };
}

function reasonFrom(n: number): FlowRemovedReason {
  return FLOW_REMOVED_REASONS[n] ?? 'delete';
}

function pullUpdate(r: Reader, form: 'nx' | 'onf' | 'of14', version: number): FlowUpdate {
  if (r.remaining < 4) throw new OfpError('OFPBRC_BAD_LEN', 'flow update header');
  const start = r.pos;
  const length = r.peekU16();
  const ev = r.peekU16(2);
  if (length > r.remaining || length % 8 || length < 8) {
    throw new OfpError('OFPBRC_BAD_LEN', 'flow update length');
  }
  const end = start + length;
  if (form !== 'of14') {
    if (ev === NXFME.ABBREV) {
      if (length !== 8) throw new OfpError('OFPBRC_BAD_LEN', 'abbreviated flow update');
      r.skip(4);
      return { event: 'abbrev', xid: r.u32() };
    }
    const event = ev === NXFME.ADDED ? 'added' : ev === NXFME.DELETED ? 'removed' : 'modified';
    if (ev > NXFME.MODIFIED) throw new OfpError('NXBRC_FM_BAD_EVENT', `event ${ev}`);
    if (length < 24) throw new OfpError('OFPBRC_BAD_LEN', 'flow update');
    r.skip(4);
    const reason = r.u16();
    const priority = r.u16();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const matchLen = r.u16();
    const tableId = r.u8();
    r.skip(1);
    const cookie = r.u64();
    let match: Match;
    if (form === 'onf') {
      match = pullOxmMatch(r);
    } else {
      if (24 + matchLen > length) throw new OfpError('OFPBRC_BAD_LEN', 'flow update match');
      match = pullMatchRaw(r, matchLen);
      r.skip(((matchLen + 7) & ~7) - matchLen);
    }
    const rest = end - r.pos;
    if (rest < 0) throw new OfpError('OFPBRC_BAD_LEN', 'flow update match');
    const ofpacts =
      form === 'onf' ? decodeInstructions(r, rest, version) : decodeActions(r, rest, version);
    r.pos = end;
    return {
      event,
      reason: reasonFrom(reason),
      tableId,
      idleTimeout,
      hardTimeout,
      priority,
      cookie,
      match,
      ofpacts,
    };
  }
  switch (ev) {
    case OFPFME.ABBREV:
      if (length !== 8) throw new OfpError('OFPBRC_BAD_LEN', 'abbreviated flow update');
      r.skip(4);
      return { event: 'abbrev', xid: r.u32() };
    case OFPFME.PAUSED:
    case OFPFME.RESUMED:
      if (length !== 8) throw new OfpError('OFPBRC_BAD_LEN', 'flow update');
      r.skip(8);
      return ev === OFPFME.PAUSED ? { event: 'paused' } : { event: 'resumed' };
    case OFPFME.INITIAL:
    case OFPFME.ADDED:
    case OFPFME.REMOVED:
    case OFPFME.MODIFIED: {
      if (length < 24) throw new OfpError('OFPBRC_BAD_LEN', 'flow update');
      r.skip(4);
      const tableId = r.u8();
      const reason = r.u8();
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      r.skip(4);
      const cookie = r.u64();
      const match = pullOxmMatch(r);
      const rest = end - r.pos;
      if (rest < 0) throw new OfpError('OFPBRC_BAD_LEN', 'flow update match');
      const ofpacts = decodeInstructions(r, rest, version);
      r.pos = end;
      const event = (['initial', 'added', 'removed', 'modified'] as const)[ev];
      return {
        event,
        reason: reasonFrom(reason),
        tableId,
        idleTimeout,
        hardTimeout,
        priority,
        cookie,
        match,
        ofpacts,
      };
    }
    default:
      throw new OfpError('NXBRC_FM_BAD_EVENT', `event ${ev}`);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding.                                                                                */

function formFor(version: number): 'nx' | 'onf' | 'of14' {
  return version >= OFP14_VERSION ? 'of14' : version === OFP13_VERSION ? 'onf' : 'nx';
}

/* A multipart header for `form`; returns where the flags are. */
function mpHeader(w: Writer, version: number, xid: number, reply: boolean): number {
  const form = formFor(version);
  const type = version === OFP10_VERSION ? 16 : 18;
  w.u8(version)
    .u8(type + (reply ? 1 : 0))
    .u16(0)
    .u32(xid);
  const flagsAt = w.pos + 2;
  if (form === 'of14') {
    w.u16(OFPMP14_FLOW_MONITOR).u16(0).zeros(4);
  } else if (version === OFP10_VERSION) {
    w.u16(OFPST_VENDOR).u16(0).u32(NX_VENDOR_ID).u32(NXST_FLOW_MONITOR).zeros(4);
  } else {
    const onf = form === 'onf';
    w.u16(OFPST_VENDOR)
      .u16(0)
      .zeros(4)
      .u32(onf ? ONF_VENDOR_ID : NX_VENDOR_ID)
      .u32(onf ? ONFST_FLOW_MONITOR : NXST_FLOW_MONITOR);
  }
  return flagsAt;
}

function vendorMsg(version: number, xid: number, nxSub: number, onfSub: number): Writer {
  const w = new Writer(24);
  const onf = version === OFP13_VERSION;
  w.u8(version)
    .u8(OFPT_VENDOR)
    .u16(0)
    .u32(xid)
    .u32(onf ? ONF_VENDOR_ID : NX_VENDOR_ID)
    .u32(onf ? onfSub : nxSub);
  return w;
}

function done(w: Writer): Uint8Array {
  w.setU16(2, w.pos);
  return w.finish();
}

/** Encodes a request, a cancel, or a paused/resumed notice (one message). Replies: see
 * encodeFlowUpdates. OpenFlow 1.4+ has no cancel message: it is a request with command
 * delete, and its pause notices are flow updates. */
export function encodeFlowMonitorMessage(frame: FlowMonitorFrame): Uint8Array {
  const { version, xid, msg } = frame;
  switch (msg.type) {
    case 'flow_monitor_request': {
      const w = new Writer(64);
      const flagsAt = mpHeader(w, version, xid, false);
      w.setU16(flagsAt, msg.flags);
      for (const rq of msg.requests) putRequest(w, rq, version);
      return done(w);
    }
    case 'flow_monitor_reply':
      return encodeFlowUpdates(version, xid, msg.updates, msg.flags)[0];
    case 'flow_monitor_cancel': {
      if (version >= OFP14_VERSION) {
        const w = new Writer(40);
        mpHeader(w, version, xid, false);
        w.u32(msg.id).u32(0).u32(0).u16(0).u8(0).u8(2);
        putOxmMatch(w, newMatch(), version);
        return done(w);
      }
      const w = vendorMsg(version, xid, NXT_FLOW_MONITOR_CANCEL, ONFT_FLOW_MONITOR_CANCEL);
      w.u32(msg.id);
      return done(w);
    }
    case 'flow_monitor_paused':
    case 'flow_monitor_resumed':
      return encodeFlowMonitorPause(version, msg.type === 'flow_monitor_paused');
  }
}

function putRequest(w: Writer, rq: FlowMonitorRequest, version: number): void {
  const form = formFor(version);
  if (form === 'nx') {
    const start = w.pos;
    w.u32(rq.id).u16(ofpToNxFlags(rq.flags)).u16(rq.outPort).u16(0).u8(rq.tableId).zeros(5);
    const len = putMatchRaw(w, rq.match, { oxm: false, version });
    w.setU16(start + 8, len);
    w.pad(8, start);
  } else if (form === 'onf') {
    const start = w.pos;
    w.u32(rq.id).u16(ofpToNxFlags(rq.flags)).u16(0).u32(portToOfp11(rq.outPort)).u8(rq.tableId);
    w.zeros(3);
    const m = w.pos;
    putOxmMatch(w, rq.match, version);
    w.setU16(start + 6, u16FromWriter(w, m + 2));
  } else {
    w.u32(rq.id).u32(portToOfp11(rq.outPort)).u32(rq.outGroup).u16(rq.flags).u8(rq.tableId);
    w.u8(COMMANDS.indexOf(rq.command));
    putOxmMatch(w, rq.match, version);
  }
}

function u16FromWriter(w: Writer, at: number): number {
  return (w.buf[at] << 8) | w.buf[at + 1];
}

/** A paused (true) or resumed (false) notice in `version`'s form, xid 0. */
export function encodeFlowMonitorPause(version: number, paused: boolean): Uint8Array {
  if (version >= OFP14_VERSION) {
    const w = new Writer(32);
    mpHeader(w, version, 0, true);
    w.u16(8)
      .u16(paused ? OFPFME.PAUSED : OFPFME.RESUMED)
      .zeros(4);
    return done(w);
  }
  const w = paused
    ? vendorMsg(version, 0, NXT_FLOW_MONITOR_PAUSED, ONFT_FLOW_MONITOR_PAUSED)
    : vendorMsg(version, 0, NXT_FLOW_MONITOR_RESUMED, ONFT_FLOW_MONITOR_RESUMED);
  return done(w);
}

function putUpdate(w: Writer, upd: FlowUpdate, version: number): void {
  const form = formFor(version);
  const start = w.pos;
  if (upd.event === 'paused' || upd.event === 'resumed') {
    if (form !== 'of14') throw new OfpError('OFPBRC_BAD_TYPE', 'pause notice as a flow update');
    w.u16(8)
      .u16(upd.event === 'paused' ? OFPFME.PAUSED : OFPFME.RESUMED)
      .zeros(4);
    return;
  }
  if (upd.event === 'abbrev') {
    w.u16(8)
      .u16(form === 'of14' ? OFPFME.ABBREV : NXFME.ABBREV)
      .u32(upd.xid);
    return;
  }
  const u: FullFlowUpdate = upd;
  const reason = u.event === 'removed' ? FLOW_REMOVED_REASONS.indexOf(u.reason) : 0;
  if (form === 'of14') {
    const ev =
      u.event === 'initial'
        ? OFPFME.INITIAL
        : u.event === 'added'
          ? OFPFME.ADDED
          : u.event === 'removed'
            ? OFPFME.REMOVED
            : OFPFME.MODIFIED;
    w.u16(0).u16(ev).u8(u.tableId).u8(reason);
    w.u16(u.idleTimeout).u16(u.hardTimeout).u16(u.priority).zeros(4).u64(u.cookie);
    putOxmMatch(w, u.match, version);
    if (u.ofpacts.length) putInstructions(w, u.ofpacts, version, u.match);
  } else {
    const ev =
      u.event === 'removed' ? NXFME.DELETED : u.event === 'modified' ? NXFME.MODIFIED : NXFME.ADDED;
    w.u16(0).u16(ev).u16(reason).u16(u.priority).u16(u.idleTimeout).u16(u.hardTimeout);
    w.u16(0).u8(u.tableId).u8(0).u64(u.cookie);
    if (form === 'onf') {
      const m = w.pos;
      putOxmMatch(w, u.match, version);
      w.setU16(start + 12, u16FromWriter(w, m + 2));
      if (u.ofpacts.length) putInstructions(w, u.ofpacts, version, u.match);
    } else {
      const len = putMatchRaw(w, u.match, { oxm: false, version });
      w.setU16(start + 12, len);
      w.pad(8, start);
      if (u.ofpacts.length) {
        if (version === OFP10_VERSION) putOfpactsForVersion(w, u.ofpacts, version, u.match);
        else putActions(w, u.ofpacts, version, contextForMatch(u.match));
      }
    }
  }
  w.setU16(start, w.pos - start);
}

/**
 * Flow updates as the multipart replies that carry them: as many messages as 64 kB allows,
 * every one but the last flagged "more" (OVS's ofpmp_postappend). An empty list gives one
 * empty reply (the answer to a request that found no flows).
 */
export function encodeFlowUpdates(
  version: number,
  xid: number,
  updates: readonly FlowUpdate[],
  lastFlags = 0,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let w = new Writer(256);
  let flagsAt = mpHeader(w, version, xid, true);
  const hdr = w.pos;
  for (const u of updates) {
    const at = w.pos;
    putUpdate(w, u, version);
    if (w.pos > MAX_MSG && at > hdr) {
      // Move this update into a fresh message; the full one goes out flagged "more".
      const all = w.finish();
      const piece = all.slice(at, w.pos);
      const full = all.slice(0, at);
      full[flagsAt] = 0;
      full[flagsAt + 1] = OFPSF_REPLY_MORE;
      full[2] = at >> 8;
      full[3] = at & 0xff;
      out.push(full);
      w = new Writer(256);
      flagsAt = mpHeader(w, version, xid, true);
      w.bytes(piece);
    }
  }
  w.setU16(flagsAt, lastFlags);
  out.push(done(w));
  return out;
}
