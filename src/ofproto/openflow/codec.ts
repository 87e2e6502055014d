/*
 * The message layer: one whole OpenFlow message (from the framer) to an OfpFrame and back.
 *
 * decodeMessage() never throws for bad input: it returns the OfpError OVS would answer with
 * (OFPBRC_BAD_LEN for a wrong length, OFPBRC_BAD_TYPE for an unknown type, OFPBRC_BAD_VERSION,
 * the match/action/instruction errors from the nested decoders).
 */

import {
  FLOW_WORDS,
  W_IN_PORT,
  W_METADATA,
  W_PACKET_TYPE,
  W_REG0,
  W_TUN_GTPU,
  W_TUN_ID,
  W_TUN_TOS_TTL,
  W_TUN_TP,
} from '../../lib/flow/layout.ts';
import { type Match, newMatch } from '../../lib/flow/match.ts';
import { vlog } from '../../lib/vlog.ts';
import { DecodeError, Reader, Writer } from './bytes.ts';
import {
  decodeErrorBody,
  encodeErrorBody,
  NX_VENDOR_ID,
  OfpError,
  ONF_VENDOR_ID,
} from './errors.ts';
import { pullGroupDesc, pullGroupMod, putGroupDesc, putGroupMod } from './group.ts';
import {
  portFromOfp11,
  portToOfp11,
  pullMatchRaw,
  pullOxmMatch,
  putMatchRaw,
  putOxmMatch,
} from './match-nxm.ts';
import { of10Expressible, pullOf10Match, putOf10Match } from './match-of10.ts';
import {
  type AsyncConfig,
  type AsyncMasks,
  type ControllerRole,
  FLOW_REMOVED_REASONS,
  type FlowMod,
  type FlowModCommand,
  type FlowModFlags,
  type FlowStats,
  type FlowStatsRequest,
  OFP10_VERSION,
  OFP11_VERSION,
  OFP12_VERSION,
  OFP13_VERSION,
  OFP14_VERSION,
  OFP15_VERSION,
  type OfpFrame,
  type OfpMessage,
  PACKET_IN_REASONS,
  type PacketInFormat,
  type PortDesc,
  type StatsReply,
  type StatsRequest,
} from './messages.ts';
import { pullMeterConfig, pullMeterMod, putMeterConfig, putMeterMod } from './meter.ts';
import {
  decodeActions,
  decodeOfpactsForVersion,
  putActions,
  putOfpactsForVersion,
} from './ofpact-wire.ts';
import { pullOxsStats } from './oxs-stats.ts';
import {
  pullGroupFeatures,
  pullGroupStats,
  pullMeterFeatures,
  pullMeterStats,
  pullPortStats,
  pullQueueStats,
  pullTableStats,
  putGroupFeatures,
  putGroupStats,
  putMeterFeatures,
  putMeterStats,
  putPortStats,
  putQueueStats,
  putTableStats,
} from './stats.ts';
import { pullTableFeatures, putTableFeatures } from './table-features.ts';

export const MIN_VERSION = OFP10_VERSION;
export const MAX_VERSION = OFP15_VERSION;

/* Message type numbers. OF1.0 and OF1.1+ differ after OFPT_PORT_MOD. */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  VENDOR: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
} as const;
export const OFPT10 = {
  PORT_MOD: 15,
  STATS_REQUEST: 16,
  STATS_REPLY: 17,
  BARRIER_REQUEST: 18,
  BARRIER_REPLY: 19,
} as const;
export const OFPT11 = {
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
  ROLE_STATUS: 30,
  TABLE_STATUS: 31,
  REQUESTFORWARD: 32,
  BUNDLE_CONTROL: 33,
  BUNDLE_ADD_MESSAGE: 34,
} as const;

/* Nicira message subtypes (after vendor NX_VENDOR_ID). */
export const NXT = {
  ROLE_REQUEST: 10,
  ROLE_REPLY: 11,
  SET_FLOW_FORMAT: 12,
  FLOW_MOD: 13,
  FLOW_REMOVED: 14,
  FLOW_MOD_TABLE_ID: 15,
  SET_PACKET_IN_FORMAT: 16,
  PACKET_IN: 17,
  PACKET_IN2: 30,
  GROUP_MOD: 31,
  SET_ASYNC_CONFIG: 19,
} as const;
const ONFT_BUNDLE_CONTROL = 2300;
const ONFT_BUNDLE_ADD_MESSAGE = 2301;

export const OFPST = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  VENDOR: 0xffff,
} as const;
const NXST_FLOW = 0;
const NXST_AGGREGATE = 1;
/* OVS's OpenFlow 1.0 (and, for features, 1.1) group statistics extensions. */
const NXST_GROUP = 7;
const NXST_GROUP_DESC = 8;
const NXST_GROUP_FEATURES = 9;
const NXST_KINDS = new Map<number, number>([
  [NXST_FLOW, OFPST.FLOW],
  [NXST_AGGREGATE, OFPST.AGGREGATE],
  [NXST_GROUP, OFPST.GROUP],
  [NXST_GROUP_DESC, OFPST.GROUP_DESC],
  [NXST_GROUP_FEATURES, OFPST.GROUP_FEATURES],
]);

export type DecodeResult =
  | { ok: true; frame: OfpFrame }
  | { ok: false; error: OfpError; version: number; xid: number };

/* ---------------------------------------------------------------------------------------- */
/* Shared pieces.                                                                           */

function putMac(w: Writer, mac: [number, number]): void {
  w.u16(mac[0]).u32(mac[1]);
}

function getMac(r: Reader): [number, number] {
  return [r.u16(), r.u32()];
}

function pullPort(r: Reader, version: number): PortDesc {
  if (version === OFP10_VERSION) {
    const portNo = r.u16();
    const hwAddr = getMac(r);
    const name = r.str(16);
    const [config, state, curr, advertised, supported, peer] = [
      r.u32(),
      r.u32(),
      r.u32(),
      r.u32(),
      r.u32(),
      r.u32(),
    ];
    return {
      portNo,
      hwAddr,
      name,
      config,
      state,
      curr,
      advertised,
      supported,
      peer,
      currSpeed: 0,
      maxSpeed: 0,
    };
  }
  if (version < OFP14_VERSION) {
    const portNo = portFromOfp11(r.u32()) ?? 0;
    r.skip(4);
    const hwAddr = getMac(r);
    r.skip(2);
    const name = r.str(16);
    const v = Array.from({ length: 8 }, () => r.u32());
    return {
      portNo,
      hwAddr,
      name,
      config: v[0],
      state: v[1],
      curr: v[2],
      advertised: v[3],
      supported: v[4],
      peer: v[5],
      currSpeed: v[6],
      maxSpeed: v[7],
    };
  }
  const start = r.pos;
  const portNo = portFromOfp11(r.u32()) ?? 0;
  const len = r.u16();
  if (len < 40) throw new OfpError('OFPBRC_BAD_LEN', 'ofp14_port length');
  r.skip(2);
  const hwAddr = getMac(r);
  r.skip(2);
  const name = r.str(16);
  const p: PortDesc = {
    portNo,
    hwAddr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
    currSpeed: 0,
    maxSpeed: 0,
  };
  while (r.pos < start + len) {
    const t = r.u16();
    const plen = r.u16();
    if (plen < 4) throw new OfpError('OFPBPC_BAD_LEN', 'port property');
    const body = r.sub(((plen + 7) & ~7) - 4);
    if (t === 0 && plen >= 32) {
      body.skip(4);
      p.curr = body.u32();
      p.advertised = body.u32();
      p.supported = body.u32();
      p.peer = body.u32();
      p.currSpeed = body.u32();
      p.maxSpeed = body.u32();
    }
  }
  return p;
}

function putPort(w: Writer, p: PortDesc, version: number): void {
  if (version === OFP10_VERSION) {
    w.u16(p.portNo);
    putMac(w, p.hwAddr);
    w.str(p.name, 16);
    w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer);
    return;
  }
  if (version < OFP14_VERSION) {
    w.u32(portToOfp11(p.portNo)).zeros(4);
    putMac(w, p.hwAddr);
    w.zeros(2).str(p.name, 16);
    w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer);
    w.u32(p.currSpeed).u32(p.maxSpeed);
    return;
  }
  w.u32(portToOfp11(p.portNo)).u16(72).zeros(2);
  putMac(w, p.hwAddr);
  w.zeros(2).str(p.name, 16);
  w.u32(p.config).u32(p.state);
  w.u16(0).u16(32).zeros(4);
  w.u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer).u32(p.currSpeed).u32(p.maxSpeed);
}

function flagsFromWire(f: number, version: number): FlowModFlags {
  return {
    sendFlowRem: (f & 1) !== 0,
    checkOverlap: (f & 2) !== 0,
    emerg: version === OFP10_VERSION && (f & 4) !== 0,
    resetCounts: version >= OFP12_VERSION && (f & 4) !== 0,
    noPacketCounts: version >= OFP13_VERSION && (f & 8) !== 0,
    noByteCounts: version >= OFP13_VERSION && (f & 0x10) !== 0,
  };
}

function flagsToWire(f: FlowModFlags, version: number): number {
  let v = (f.sendFlowRem ? 1 : 0) | (f.checkOverlap ? 2 : 0);
  if (version === OFP10_VERSION && f.emerg) v |= 4;
  if (version >= OFP12_VERSION && f.resetCounts) v |= 4;
  if (version >= OFP13_VERSION) v |= (f.noPacketCounts ? 8 : 0) | (f.noByteCounts ? 0x10 : 0);
  return v;
}

const COMMANDS: readonly FlowModCommand[] = [
  'add',
  'modify',
  'modify_strict',
  'delete',
  'delete_strict',
];

function commandFrom(n: number): FlowModCommand {
  const c = COMMANDS[n];
  if (!c) throw new OfpError('OFPFMFC_BAD_COMMAND', `command ${n}`);
  return c;
}

function pullNxmPadded(r: Reader, len: number, cookie?: { value: bigint; mask: bigint }): Match {
  const m = pullMatchRaw(r, len, true, cookie);
  const pad = ((len + 7) & ~7) - len;
  if (r.remaining < pad) throw new OfpError('OFPBRC_BAD_LEN', 'match padding');
  r.skip(pad);
  return m;
}

function putNxmPadded(w: Writer, m: Match, cookie?: { value: bigint; mask: bigint }): number {
  const start = w.pos;
  const len = putMatchRaw(w, m, { oxm: false, version: OFP10_VERSION }, cookie);
  w.pad(8, start);
  return len;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding.                                                                                */

function decodeHello(r: Reader, version: number): OfpMessage {
  let bitmap = version < 32 ? (((1 << version) >>> 0) - 1) * 2 : 0;
  while (r.remaining >= 4) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || r.remaining < ((len + 7) & ~7) - 4) break;
    const body = r.sub(((len + 7) & ~7) - 4);
    if (type === 1 && len >= 8) bitmap = body.u32() & ~1;
  }
  const versions: number[] = [];
  for (let v = 1; v < 32; v++) if (bitmap & (1 << v)) versions.push(v);
  return { type: 'hello', versions };
}

function decodeFlowMod10(r: Reader): OfpMessage {
  const b = r.buf;
  const at = r.pos;
  const wildcards = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  const match = pullOf10Match(r, 'log');
  const cookie = r.u64();
  // With OVS's flow_mod_table_id extension the high byte of the command is the table.
  const cmd = r.u16();
  const command = commandFrom(cmd & 0xff);
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  // OpenFlow 1.0: a rule that wildcards nothing has the highest priority, whatever it says.
  const wirePriority = r.u16();
  const priority = wildcards & 0x3fffff ? wirePriority : 0xffff;
  const bufferId = r.u32();
  const outPort = r.u16();
  const flags = flagsFromWire(r.u16(), OFP10_VERSION);
  const ofpacts = decodeActions(r, r.remaining, OFP10_VERSION);
  return {
    type: 'flow_mod',
    format: 'standard',
    command,
    match,
    priority,
    newCookie:
      command === 'add' || command === 'modify' || command === 'modify_strict' ? cookie : 0n,
    cookie: 0n,
    cookieMask: 0n,
    tableId: cmd >> 8 ? cmd >> 8 : 255,
    idleTimeout,
    hardTimeout,
    bufferId,
    outPort,
    outGroup: 0xffffffff,
    flags,
    importance: 0,
    ofpacts,
  };
}

function decodeFlowMod11(r: Reader, version: number): OfpMessage {
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const command = commandFrom(r.u8());
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = portFromOfp11(r.u32());
  if (outPort === null) throw new OfpError('OFPFMFC_BAD_COMMAND', 'out_port');
  const outGroup = r.u32();
  const flags = flagsFromWire(r.u16(), version);
  const importance = r.u16();
  const match = pullOxmMatch(r);
  const ofpacts = decodeOfpactsForVersion(r, r.remaining, version);
  const isAdd = command === 'add';
  return {
    type: 'flow_mod',
    format: 'standard',
    command,
    match,
    priority,
    newCookie: isAdd
      ? cookie
      : command.startsWith('modify') && cookieMask === 0n
        ? cookie
        : 0xffffffffffffffffn,
    cookie: isAdd ? 0n : cookie,
    cookieMask: isAdd ? 0n : cookieMask,
    tableId,
    idleTimeout,
    hardTimeout,
    bufferId,
    outPort,
    outGroup,
    flags,
    importance: version >= OFP14_VERSION ? importance : 0,
    ofpacts,
  };
}

function decodeNxtFlowMod(r: Reader): OfpMessage {
  const cookieV = r.u64();
  const cmd = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = r.u16();
  const flags = flagsFromWire(r.u16(), OFP10_VERSION);
  const matchLen = r.u16();
  r.skip(6);
  const cookie = { value: 0n, mask: 0n };
  const match = pullNxmPadded(r, matchLen, cookie);
  const ofpacts = decodeActions(r, r.remaining, OFP10_VERSION);
  const command = commandFrom(cmd & 0xff);
  return {
    type: 'flow_mod',
    format: 'nxt',
    command,
    match,
    priority,
    newCookie: command === 'add' || command.startsWith('modify') ? cookieV : 0n,
    cookie: cookie.value,
    cookieMask: cookie.mask,
    tableId: cmd >> 8 ? cmd >> 8 : 255,
    idleTimeout,
    hardTimeout,
    bufferId,
    outPort,
    outGroup: 0xffffffff,
    flags,
    importance: 0,
    ofpacts,
  };
}

function decodePacketIn(r: Reader, version: number): OfpMessage {
  const bufferId = r.u32();
  if (version === OFP11_VERSION) return decodePacketIn11(r, bufferId);
  const totalLen = r.u16();
  const metadata = newMatch();
  if (version === OFP10_VERSION) {
    const inPort = r.u16();
    const reason = r.u8();
    r.skip(1);
    metadata.key[0] = inPort;
    metadata.mask[0] = 0xffffffff;
    return standardPacketIn(r, bufferId, totalLen, reason, 0, NO_COOKIE, metadata);
  }
  const reason = r.u8();
  const tableId = r.u8();
  const cookie = version >= OFP13_VERSION ? r.u64() : 0xffffffffffffffffn;
  const m = pullOxmMatch(r);
  r.skip(2);
  return standardPacketIn(r, bufferId, totalLen, reason, tableId, cookie, m);
}

const NO_COOKIE = 0xffffffffffffffffn;

/* A standard-format packet-in whose data is the rest of the message. */
function standardPacketIn(
  r: Reader,
  bufferId: number,
  totalLen: number,
  reason: number,
  tableId: number,
  cookie: bigint,
  metadata: Match,
): OfpMessage {
  return {
    type: 'packet_in',
    format: 'standard',
    bufferId,
    totalLen,
    reason: PACKET_IN_REASONS[reason] ?? 'no_match',
    tableId,
    cookie,
    metadata,
    data: r.rest().slice(),
  };
}

/* OpenFlow 1.1's packet-in: 32-bit in_port and in_phy_port before the length, no match. */
function decodePacketIn11(r: Reader, bufferId: number): OfpMessage {
  const inPort = r.u32();
  r.skip(4);
  const totalLen = r.u16();
  const reason = r.u8();
  const tableId = r.u8();
  const metadata = newMatch();
  const port = portFromOfp11(inPort);
  if (port === null) throw new OfpError('OFPBRC_BAD_PORT', `in_port ${inPort}`);
  metadata.key[0] = port;
  metadata.mask[0] = 0xffffffff;
  return standardPacketIn(r, bufferId, totalLen, reason, tableId, NO_COOKIE, metadata);
}

function decodeNxtPacketIn(r: Reader): OfpMessage {
  const bufferId = r.u32();
  const totalLen = r.u16();
  const reason = r.u8();
  const tableId = r.u8();
  const cookie = r.u64();
  const matchLen = r.u16();
  r.skip(6);
  const metadata = pullNxmPadded(r, matchLen);
  r.skip(2);
  return {
    type: 'packet_in',
    format: 'nxt_packet_in',
    bufferId,
    totalLen,
    reason: PACKET_IN_REASONS[reason] ?? 'no_match',
    tableId,
    cookie,
    metadata,
    data: r.rest().slice(),
  };
}

function decodeNxtPacketIn2(r: Reader): OfpMessage {
  const pi: Extract<OfpMessage, { type: 'packet_in' }> = {
    type: 'packet_in',
    format: 'nxt_packet_in2',
    bufferId: 0xffffffff,
    totalLen: 0,
    reason: 'no_match',
    tableId: 0,
    // Without a cookie property the packet-in came from no rule (OVS's OVS_BE64_MAX).
    cookie: 0xffffffffffffffffn,
    metadata: newMatch(),
    data: new Uint8Array(0),
  };
  let haveFullLen = false;
  while (r.remaining > 0) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || r.remaining < ((len + 7) & ~7) - 4) throw new OfpError('OFPBPC_BAD_LEN');
    const p = r.sub(len - 4);
    r.skip(((len + 7) & ~7) - len);
    switch (type) {
      case 0:
        pi.data = p.rest().slice();
        break;
      case 1:
        pi.totalLen = p.u32();
        haveFullLen = true;
        break;
      case 2:
        pi.bufferId = p.u32();
        break;
      case 3:
        pi.tableId = p.u8();
        break;
      case 4:
        p.skip(4);
        pi.cookie = p.u64();
        break;
      case 5:
        pi.reason = PACKET_IN_REASONS[p.u8()] ?? 'no_match';
        break;
      case 6:
        pi.metadata = pullMatchRaw(p, p.remaining, false);
        break;
      case 7:
        pi.userdata = p.rest().slice();
        break;
      case 8:
        pi.continuation = p.rest().slice();
        break;
      default:
        if (type & 0x8000) throw new OfpError('OFPBPC_BAD_TYPE', `packet-in2 property ${type}`);
    }
  }
  if (!haveFullLen) pi.totalLen = pi.data.length;
  return pi;
}

/* Flow key words of OVS's pipeline fields (mf_is_pipeline_field()); tun_tos/ttl and the
 * tunnel ports are not among them. */
const PIPELINE_WORDS: ReadonlySet<number> = (() => {
  const s = new Set<number>([W_IN_PORT, W_PACKET_TYPE, W_METADATA, W_METADATA + 1]);
  for (let w = W_REG0; w < W_REG0 + 16; w++) s.add(w);
  for (let w = W_TUN_ID; w <= W_TUN_GTPU; w++) {
    if (w !== W_TUN_TOS_TTL && w !== W_TUN_TP) s.add(w);
  }
  return s;
})();

function decodePacketOut(r: Reader, version: number): OfpMessage {
  const bufferId = r.u32();
  let inPort: number;
  let actionsLen: number;
  if (version === OFP10_VERSION) {
    inPort = r.u16();
    actionsLen = r.u16();
  } else if (version < OFP15_VERSION) {
    const p = portFromOfp11(r.u32());
    if (p === null) throw new OfpError('OFPBRC_BAD_PORT');
    inPort = p;
    actionsLen = r.u16();
    r.skip(6);
  } else {
    actionsLen = r.u16();
    r.skip(2);
    // OVS reads this metadata loosely: fields it does not know are skipped.
    const m = pullOxmMatch(r, false);
    // OpenFlow 1.5 says where the packet came from in its metadata; OVS insists on it.
    if (!m.mask[0]) throw new OfpError('OFPBRC_BAD_PORT', 'packet-out without in_port');
    // Only pipeline metadata (in_port, metadata, registers, tunnel, packet_type) may be set.
    for (let w = 0; w < m.mask.length; w++) {
      if (m.mask[w] && !PIPELINE_WORDS.has(w)) {
        throw new OfpError('OFPBRC_PIPELINE_FIELDS_ONLY', `packet-out metadata word ${w}`);
      }
    }
    inPort = m.key[0];
    if (actionsLen > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'packet-out actions');
    const ofpacts = decodeActions(r, actionsLen, version);
    return {
      type: 'packet_out',
      bufferId,
      inPort,
      ofpacts,
      data: r.rest().slice(),
      flowMetadata: m,
    };
  }
  if (actionsLen > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'packet-out actions');
  const ofpacts = decodeActions(r, actionsLen, version);
  return { type: 'packet_out', bufferId, inPort, ofpacts, data: r.rest().slice() };
}

function decodeFlowRemoved(r: Reader, version: number): OfpMessage {
  if (version === OFP10_VERSION) {
    const match = pullOf10Match(r, 'none');
    const cookie = r.u64();
    const priority = r.u16();
    const reason = r.u8();
    r.skip(1);
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const idleTimeout = r.u16();
    r.skip(2);
    return {
      type: 'flow_removed',
      format: 'standard',
      match,
      cookie,
      priority,
      reason: FLOW_REMOVED_REASONS[reason] ?? 'delete',
      // OpenFlow 1.0 carries no table; OVS reads it as 255 (none).
      tableId: 255,
      durationSec,
      durationNsec,
      idleTimeout,
      hardTimeout: 0,
      packetCount: r.u64(),
      byteCount: r.u64(),
    };
  }
  if (version >= OFP15_VERSION) return decodeFlowRemoved15(r);
  const cookie = r.u64();
  const priority = r.u16();
  const reason = r.u8();
  const tableId = r.u8();
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = pullOxmMatch(r);
  return {
    type: 'flow_removed',
    format: 'standard',
    match,
    cookie,
    priority,
    reason: FLOW_REMOVED_REASONS[reason] ?? 'delete',
    tableId,
    durationSec,
    durationNsec,
    idleTimeout,
    hardTimeout,
    packetCount,
    byteCount,
  };
}

/* OF1.5 reorders the fixed part and carries the counters as OXS fields. */
function decodeFlowRemoved15(r: Reader): OfpMessage {
  const tableId = r.u8();
  const reason = r.u8();
  const priority = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const cookie = r.u64();
  const match = pullOxmMatch(r);
  const st = pullOxsStats(r);
  return {
    type: 'flow_removed',
    format: 'standard',
    match,
    cookie,
    priority,
    reason: FLOW_REMOVED_REASONS[reason] ?? 'delete',
    tableId,
    durationSec: st.durationSec,
    durationNsec: st.durationNsec,
    idleTimeout,
    hardTimeout,
    packetCount: st.packetCount,
    byteCount: st.byteCount,
  };
}

function decodeNxtFlowRemoved(r: Reader): OfpMessage {
  const cookie = r.u64();
  const priority = r.u16();
  const reason = r.u8();
  // Nicira's table_id is the table plus one, zero meaning none.
  const rawTable = r.u8();
  const tableId = rawTable ? rawTable - 1 : 255;
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const idleTimeout = r.u16();
  const matchLen = r.u16();
  const packetCount = r.u64();
  const byteCount = r.u64();
  const match = pullNxmPadded(r, matchLen);
  return {
    type: 'flow_removed',
    format: 'nxt',
    match,
    cookie,
    priority,
    reason: FLOW_REMOVED_REASONS[reason] ?? 'delete',
    tableId,
    durationSec,
    durationNsec,
    idleTimeout,
    hardTimeout: 0,
    packetCount,
    byteCount,
  };
}

/* OF1.4 async-config property types: even = slave, odd = master. */
const ASYNC_PROPS: ReadonlyArray<keyof AsyncMasks> = [
  'packetIn',
  'portStatus',
  'flowRemoved',
  'roleStatus',
  'tableStatus',
  'requestForward',
];

/* The reasons OpenFlow 1.4 defines for each property pair, in ASYNC_PROPS order. */
const ASYNC_ALLOWED14 = [0x3f, 0x7, 0x3f, 0x7, 0x18, 0x3];
const ASYNC_NAMES = [
  'PACKET_IN',
  'PORT_STATUS',
  'FLOW_REMOVED',
  'ROLE_STATUS',
  'TABLE_STATUS',
  'REQUESTFORWARD',
];
const asyncLog = vlog('ofp_connection');

/* `strict` (a set-async): OVS refuses unknown properties (OFPACFC_UNSUPPORTED) and reasons
 * the version lacks (OFPACFC_INVALID); a get-async reply is read loosely, dropping both. */
function pullAsync(r: Reader, version: number, strict = false): AsyncConfig {
  const c: AsyncConfig = { master: {}, slave: {} };
  if (version < OFP14_VERSION) {
    for (const k of ['packetIn', 'portStatus', 'flowRemoved'] as const) {
      c.master[k] = r.u32();
      c.slave[k] = r.u32();
    }
    return c;
  }
  while (r.remaining > 0) {
    const t = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining)
      throw new OfpError('OFPBPC_BAD_LEN', `async property ${t}`);
    const k = t < 2 * ASYNC_PROPS.length ? ASYNC_PROPS[t >> 1] : undefined;
    if (!k) {
      if (strict) {
        asyncLog.warn(`unknown async config property type ${t}`);
        throw new OfpError('OFPACFC_UNSUPPORTED', `async property ${t}`);
      }
      r.skip(((len + 7) & ~7) - 4 <= r.remaining ? ((len + 7) & ~7) - 4 : len - 4);
      continue;
    }
    if (len !== 8) throw new OfpError('OFPBPC_BAD_LEN', `async property ${t}`);
    let mask = r.u32();
    const allowed = ASYNC_ALLOWED14[t >> 1];
    if (mask & ~allowed) {
      if (strict) {
        asyncLog.warn(
          `bad value 0x${mask.toString(16)} for ${ASYNC_NAMES[t >> 1]} (allowed mask 0x${allowed.toString(16)})`,
        );
        throw new OfpError('OFPACFC_INVALID', `async property ${t} mask 0x${mask.toString(16)}`);
      }
      mask &= allowed;
    }
    (t & 1 ? c.master : c.slave)[k] = mask;
  }
  return c;
}

function putAsync(w: Writer, c: AsyncConfig, version: number): void {
  if (version < OFP14_VERSION) {
    for (const k of ['packetIn', 'portStatus', 'flowRemoved'] as const) {
      w.u32(c.master[k] ?? 0).u32(c.slave[k] ?? 0);
    }
    return;
  }
  ASYNC_PROPS.forEach((k, i) => {
    if (c.slave[k] !== undefined)
      w.u16(2 * i)
        .u16(8)
        .u32(c.slave[k]!);
    if (c.master[k] !== undefined)
      w.u16(2 * i + 1)
        .u16(8)
        .u32(c.master[k]!);
  });
}

function roleFrom(n: number, nx: boolean): ControllerRole {
  if (nx) {
    if (n > 2) throw new OfpError('OFPRRFC_BAD_ROLE', `role ${n}`);
    return (['equal', 'master', 'slave'] as const)[n];
  }
  if (n > 3) throw new OfpError('OFPRRFC_BAD_ROLE', `role ${n}`);
  return (['nochange', 'equal', 'master', 'slave'] as const)[n];
}

function roleTo(role: ControllerRole, nx: boolean): number {
  const i = ['nochange', 'equal', 'master', 'slave'].indexOf(role);
  return nx ? Math.max(0, i - 1) : i;
}

function pullDesc(r: Reader): StatsReply {
  return {
    stat: 'desc',
    mfrDesc: r.str(256),
    hwDesc: r.str(256),
    swDesc: r.str(256),
    serialNum: r.str(32),
    dpDesc: r.str(256),
  };
}

function pullFlowStatsRequest(
  r: Reader,
  version: number,
  aggregate: boolean,
  nx: boolean,
): FlowStatsRequest {
  if (nx) {
    const outPort = r.u16();
    const matchLen = r.u16();
    const tableId = r.u8();
    r.skip(3);
    const cookie = { value: 0n, mask: 0n };
    const match = pullNxmPadded(r, matchLen, cookie);
    return {
      aggregate,
      match,
      tableId,
      outPort,
      outGroup: 0xffffffff,
      cookie: cookie.value,
      cookieMask: cookie.mask,
    };
  }
  if (version === OFP10_VERSION) {
    const match = pullOf10Match(r);
    const tableId = r.u8();
    r.skip(1);
    const outPort = r.u16();
    return { aggregate, match, tableId, outPort, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n };
  }
  const tableId = r.u8();
  r.skip(3);
  const outPort = portFromOfp11(r.u32()) ?? 0xffff;
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const match = pullOxmMatch(r);
  return { aggregate, match, tableId, outPort, outGroup, cookie, cookieMask };
}

function pullFlowStats(r: Reader, version: number, nx: boolean): FlowStats {
  const start = r.pos;
  const len = r.u16();
  if (len < 8 || r.remaining + 2 < len) throw new OfpError('OFPBRC_BAD_LEN', 'flow stats entry');
  const end = start + len;
  const tableId = r.u8();
  r.skip(1);
  let fs: FlowStats;
  if (nx) {
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const priority = r.u16();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const matchLen = r.u16();
    const idleAge = r.u16() - 1;
    const hardAge = r.u16() - 1;
    const cookie = r.u64();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const match = pullNxmPadded(r, matchLen);
    const ofpacts = decodeActions(r, end - r.pos, OFP10_VERSION);
    fs = {
      match,
      priority,
      tableId,
      durationSec,
      durationNsec,
      idleTimeout,
      hardTimeout,
      idleAge,
      hardAge,
      cookie,
      packetCount,
      byteCount,
      flags: flagsFromWire(0, 1),
      importance: 0,
      ofpacts,
    };
  } else if (version === OFP10_VERSION) {
    const match = pullOf10Match(r, 'none');
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const priority = r.u16();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    r.skip(6);
    const cookie = r.u64();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const ofpacts = decodeActions(r, end - r.pos, OFP10_VERSION);
    fs = {
      match,
      priority,
      tableId,
      durationSec,
      durationNsec,
      idleTimeout,
      hardTimeout,
      idleAge: -1,
      hardAge: -1,
      cookie,
      packetCount,
      byteCount,
      flags: flagsFromWire(0, 1),
      importance: 0,
      ofpacts,
    };
  } else if (version >= OFP15_VERSION) {
    fs = pullFlowDesc15(r, end);
  } else {
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const priority = r.u16();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const flags = flagsFromWire(r.u16(), version);
    const importance = r.u16();
    r.skip(2);
    const cookie = r.u64();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const match = pullOxmMatch(r);
    const ofpacts = decodeOfpactsForVersion(r, end - r.pos, version);
    fs = {
      match,
      priority,
      tableId,
      durationSec,
      durationNsec,
      idleTimeout,
      hardTimeout,
      idleAge: -1,
      hardAge: -1,
      cookie,
      packetCount,
      byteCount,
      flags,
      importance: version >= OFP14_VERSION ? importance : 0,
      ofpacts,
    };
  }
  r.pos = end;
  return fs;
}

/* OpenFlow 1.5's ofp_flow_desc: the counters come as OXS fields after the match
 * (OFPXSC_OPENFLOW_BASIC: 0 duration, 1 idle_time, 3 flow_count, 4 packet_count, 5 byte_count). */
function pullFlowDesc15(r: Reader, end: number): FlowStats {
  // length, pad2[2] (already read as table and pad above), then table_id and pad.
  const tableId = r.u8();
  r.skip(1);
  const priority = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const flags = flagsFromWire(r.u16(), OFP15_VERSION);
  const importance = r.u16();
  const cookie = r.u64();
  const match = pullOxmMatch(r);
  r.skip(2);
  const statsLen = r.u16();
  if (statsLen < 4 || r.pos - 4 + statsLen > end)
    throw new OfpError('OFPBRC_BAD_LEN', 'flow stats');
  const statsEnd = r.pos - 4 + statsLen;
  let durationSec = 0;
  let durationNsec = 0;
  let idleAge = -1;
  let packetCount = 0xffffffffffffffffn;
  let byteCount = 0xffffffffffffffffn;
  while (r.pos + 4 <= statsEnd) {
    const cls = r.u16();
    const field = r.u8() >> 1;
    const len = r.u8();
    if (r.pos + len > statsEnd) throw new OfpError('OFPBRC_BAD_LEN', 'OXS field');
    const at = r.pos;
    if (cls === 0x8002 && len === 8) {
      if (field === 0) {
        durationSec = r.u32();
        durationNsec = r.u32();
      } else if (field === 1) idleAge = r.u32();
      else if (field === 4) packetCount = r.u64();
      else if (field === 5) byteCount = r.u64();
    }
    r.pos = at + len;
  }
  r.pos = (statsEnd + 7) & ~7;
  const ofpacts = decodeOfpactsForVersion(r, end - r.pos, OFP15_VERSION);
  return {
    match,
    priority,
    tableId,
    durationSec,
    durationNsec,
    idleTimeout,
    hardTimeout,
    idleAge,
    hardAge: -1,
    cookie,
    packetCount,
    byteCount,
    flags,
    importance,
    ofpacts,
  };
}

/* OpenFlow 1.5's aggregate reply is one ofp_oxs_stat: flow_count (3), packet_count (4) and
 * byte_count (5) as OXS fields. */
function pullAggregate15(r: Reader): { packetCount: bigint; byteCount: bigint; flowCount: number } {
  const start = r.pos;
  r.skip(2);
  const len = r.u16();
  if (len < 4 || start + len > r.end) throw new OfpError('OFPBRC_BAD_LEN', 'aggregate stats');
  const end = start + len;
  let packetCount = 0xffffffffffffffffn;
  let byteCount = 0xffffffffffffffffn;
  let flowCount = 0;
  while (r.pos + 4 <= end) {
    const cls = r.u16();
    const field = r.u8() >> 1;
    const flen = r.u8();
    if (r.pos + flen > end) throw new OfpError('OFPBRC_BAD_LEN', 'OXS field');
    const at = r.pos;
    if (cls === 0x8002) {
      if (field === 3 && flen === 4) flowCount = r.u32();
      else if (field === 4 && flen === 8) packetCount = r.u64();
      else if (field === 5 && flen === 8) byteCount = r.u64();
    }
    r.pos = at + flen;
  }
  r.pos = Math.min(r.end, start + ((len + 7) & ~7));
  return { packetCount, byteCount, flowCount };
}

function decodeStats(r: Reader, version: number, isReply: boolean): OfpMessage {
  const statType = r.u16();
  const flags = r.u16();
  if (version >= OFP11_VERSION) r.skip(4);
  let nx = false;
  let sub = -1;
  if (statType === OFPST.VENDOR) {
    const vendor = r.u32();
    if (vendor !== NX_VENDOR_ID) throw new OfpError('OFPBRC_BAD_VENDOR');
    sub = r.u32();
    r.skip(4);
    nx = true;
    if (!NXST_KINDS.has(sub)) throw new OfpError('OFPBRC_BAD_SUBTYPE');
  }
  const format = nx ? 'nxt' : 'standard';
  const kind = nx ? (NXST_KINDS.get(sub) as number) : statType;
  if (!isReply) {
    let body: StatsRequest;
    switch (kind) {
      case OFPST.DESC:
        body = { stat: 'desc' };
        break;
      case OFPST.FLOW:
      case OFPST.AGGREGATE:
        body = { stat: 'flow', ...pullFlowStatsRequest(r, version, kind === OFPST.AGGREGATE, nx) };
        break;
      case OFPST.PORT_DESC:
        body = {
          stat: 'port_desc',
          portNo: version >= OFP15_VERSION ? (portFromOfp11(r.u32()) ?? 0xffff) : 0xffff,
        };
        break;
      case OFPST.TABLE:
        body = { stat: 'table' };
        break;
      case OFPST.PORT:
        body = {
          stat: 'port',
          portNo: version === OFP10_VERSION ? r.u16() : (portFromOfp11(r.u32()) ?? 0xffff),
        };
        break;
      case OFPST.GROUP_FEATURES:
        body = { stat: 'group_features' };
        break;
      case OFPST.GROUP_DESC:
        body = {
          stat: 'group_desc',
          groupId: version >= OFP15_VERSION || nx ? r.u32() : 0xfffffffc,
        };
        break;
      case OFPST.METER_CONFIG:
      case OFPST.METER: {
        const meterId = r.u32();
        r.skip(4);
        body = { stat: kind === OFPST.METER ? 'meter' : 'meter_config', meterId };
        break;
      }
      case OFPST.QUEUE: {
        const portNo = version === OFP10_VERSION ? r.u16() : (portFromOfp11(r.u32()) ?? 0xffff);
        if (version === OFP10_VERSION) r.skip(2);
        body = { stat: 'queue', portNo, queueId: r.u32() };
        break;
      }
      case OFPST.GROUP: {
        const groupId = r.u32();
        r.skip(4);
        body = { stat: 'group', groupId };
        break;
      }
      case OFPST.TABLE_FEATURES: {
        const tables = [];
        while (r.remaining > 0) tables.push(pullTableFeatures(r, version));
        body = { stat: 'table_features', tables };
        break;
      }
      case OFPST.METER_FEATURES:
        body = { stat: 'meter_features' };
        break;
      default:
        if (kind > OFPST.PORT_DESC + 3 && kind !== OFPST.VENDOR)
          throw new OfpError('OFPBRC_BAD_STAT');
        body = { stat: 'raw', statType: kind, body: r.rest().slice() };
    }
    return { type: 'stats_request', format, flags, body };
  }
  let body: StatsReply;
  switch (kind) {
    case OFPST.DESC:
      body = pullDesc(r);
      break;
    case OFPST.FLOW: {
      const flows: FlowStats[] = [];
      while (r.remaining > 0) flows.push(pullFlowStats(r, version, nx));
      body = { stat: 'flow', flows };
      break;
    }
    case OFPST.AGGREGATE: {
      if (version >= OFP15_VERSION && !nx) {
        body = { stat: 'aggregate', ...pullAggregate15(r) };
        break;
      }
      const packetCount = r.u64();
      const byteCount = r.u64();
      const flowCount = r.u32();
      body = { stat: 'aggregate', packetCount, byteCount, flowCount };
      break;
    }
    case OFPST.PORT_DESC: {
      const ports: PortDesc[] = [];
      while (r.remaining > 0) ports.push(pullPort(r, version));
      body = { stat: 'port_desc', ports };
      break;
    }
    case OFPST.GROUP_DESC: {
      const groups = [];
      while (r.remaining > 0) groups.push(pullGroupDesc(r, version));
      body = { stat: 'group_desc', groups };
      break;
    }
    case OFPST.METER_CONFIG: {
      const meters = [];
      while (r.remaining > 0) meters.push(pullMeterConfig(r));
      body = { stat: 'meter_config', meters };
      break;
    }
    case OFPST.TABLE: {
      if (version === OFP11_VERSION || version === OFP12_VERSION) {
        body = { stat: 'raw', statType: kind, body: r.rest().slice() };
        break;
      }
      const stats = [];
      while (r.remaining > 0) stats.push(pullTableStats(r, version));
      body = { stat: 'table', stats };
      break;
    }
    case OFPST.PORT: {
      const stats = [];
      while (r.remaining > 0) stats.push(pullPortStats(r, version));
      body = { stat: 'port', stats };
      break;
    }
    case OFPST.QUEUE: {
      const stats = [];
      while (r.remaining > 0) stats.push(pullQueueStats(r, version));
      body = { stat: 'queue', stats };
      break;
    }
    case OFPST.GROUP: {
      const stats = [];
      while (r.remaining > 0) stats.push(pullGroupStats(r, version));
      body = { stat: 'group', stats };
      break;
    }
    case OFPST.METER: {
      const stats = [];
      while (r.remaining > 0) stats.push(pullMeterStats(r));
      body = { stat: 'meter', stats };
      break;
    }
    case OFPST.GROUP_FEATURES:
      body = { stat: 'group_features', ...pullGroupFeatures(r) };
      break;
    case OFPST.TABLE_FEATURES: {
      const tables = [];
      while (r.remaining > 0) tables.push(pullTableFeatures(r, version));
      body = { stat: 'table_features', tables };
      break;
    }
    case OFPST.METER_FEATURES:
      body = { stat: 'meter_features', ...pullMeterFeatures(r) };
      break;
    default:
      body = { stat: 'raw', statType: kind, body: r.rest().slice() };
  }
  return { type: 'stats_reply', format, flags, body };
}

function decodeVendor(r: Reader, version: number): OfpMessage {
  const vendor = r.u32();
  if (vendor === ONF_VENDOR_ID && version === OFP13_VERSION) {
    const sub = r.u32();
    if (sub === ONFT_BUNDLE_CONTROL || sub === ONFT_BUNDLE_ADD_MESSAGE) {
      return decodeBundle(r, sub === ONFT_BUNDLE_CONTROL);
    }
    throw new OfpError('OFPBRC_BAD_SUBTYPE', `ONF subtype ${sub}`);
  }
  if (vendor !== NX_VENDOR_ID)
    throw new OfpError('OFPBRC_BAD_VENDOR', `vendor 0x${vendor.toString(16)}`);
  const sub = r.u32();
  switch (sub) {
    case NXT.ROLE_REQUEST:
    case NXT.ROLE_REPLY:
      return {
        type: sub === NXT.ROLE_REQUEST ? 'role_request' : 'role_reply',
        format: 'nxt',
        role: roleFrom(r.u32(), true),
        generationId: 0n,
      };
    case NXT.SET_FLOW_FORMAT: {
      const f = r.u32();
      if (f !== 0 && f !== 2) throw new OfpError('OFPBRC_EPERM', `flow format ${f}`);
      return { type: 'nxt_set_flow_format', format: f === 0 ? 'openflow10' : 'nxm' };
    }
    case NXT.FLOW_MOD:
      return decodeNxtFlowMod(r);
    case NXT.FLOW_REMOVED:
      return decodeNxtFlowRemoved(r);
    case NXT.FLOW_MOD_TABLE_ID: {
      const enable = r.u8();
      r.skip(7);
      return { type: 'nxt_flow_mod_table_id', enable: enable !== 0 };
    }
    case NXT.SET_PACKET_IN_FORMAT: {
      const f = r.u32();
      const formats: PacketInFormat[] = ['standard', 'nxt_packet_in', 'nxt_packet_in2'];
      if (!formats[f]) throw new OfpError('OFPBRC_EPERM', `packet-in format ${f}`);
      return { type: 'nxt_set_packet_in_format', format: formats[f] };
    }
    case NXT.PACKET_IN:
      return decodeNxtPacketIn(r);
    case NXT.PACKET_IN2:
      return decodeNxtPacketIn2(r);
    case NXT.GROUP_MOD:
      return { type: 'group_mod', ...pullGroupMod(r, OFP10_VERSION) };
    case NXT.SET_ASYNC_CONFIG:
      return { type: 'set_async', format: 'nxt', config: pullAsync(r, OFP13_VERSION) };
    default:
      throw new OfpError('OFPBRC_BAD_SUBTYPE', `NXT subtype ${sub}`);
  }
}

function decodeBundle(r: Reader, control: boolean): OfpMessage {
  const bundleId = r.u32();
  if (control) {
    const ctrlType = r.u16();
    const flags = r.u16();
    return { type: 'bundle_control', bundleId, ctrlType, flags, properties: r.rest().slice() };
  }
  r.skip(2);
  const flags = r.u16();
  const rest = r.rest();
  if (rest.length < 8) throw new OfpError('OFPBFC_MSG_BAD_LEN');
  const inner = (rest[2] << 8) | rest[3];
  if (inner < 8 || inner > rest.length) throw new OfpError('OFPBFC_MSG_BAD_LEN');
  return { type: 'bundle_add', bundleId, flags, message: rest.slice(0, inner) };
}

function decodeBody(r: Reader, version: number, type: number): OfpMessage {
  switch (type) {
    case OFPT.HELLO:
      return decodeHello(r, version);
    case OFPT.ERROR:
      return { type: 'error', error: decodeErrorBody(r, version) };
    case OFPT.ECHO_REQUEST:
      return { type: 'echo_request', data: r.rest().slice() };
    case OFPT.ECHO_REPLY:
      return { type: 'echo_reply', data: r.rest().slice() };
    case OFPT.VENDOR:
      return decodeVendor(r, version);
    case OFPT.FEATURES_REQUEST:
      return { type: 'features_request' };
    case OFPT.FEATURES_REPLY: {
      const datapathId = r.u64();
      const nBuffers = r.u32();
      const nTables = r.u8();
      const auxiliaryId = r.u8();
      r.skip(2);
      const capabilities = r.u32();
      const actions = r.u32();
      const ports: PortDesc[] = [];
      if (version < OFP13_VERSION) {
        const size = version === OFP10_VERSION ? 48 : 64;
        if (r.remaining % size) throw new OfpError('OFPBRC_BAD_LEN', 'features ports');
        while (r.remaining > 0) ports.push(pullPort(r, version));
      }
      return {
        type: 'features_reply',
        datapathId,
        nBuffers,
        nTables,
        auxiliaryId,
        capabilities,
        actions,
        ports,
      };
    }
    case OFPT.GET_CONFIG_REQUEST:
      return { type: 'get_config_request' };
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      return {
        type: type === OFPT.SET_CONFIG ? 'set_config' : 'get_config_reply',
        flags: r.u16(),
        missSendLen: r.u16(),
      };
    case OFPT.PACKET_IN:
      return decodePacketIn(r, version);
    case OFPT.FLOW_REMOVED:
      return decodeFlowRemoved(r, version);
    case OFPT.PORT_STATUS: {
      const reason = r.u8();
      r.skip(7);
      const reasons = ['add', 'delete', 'modify'] as const;
      if (!reasons[reason]) throw new OfpError('OFPBRC_BAD_LEN', `port-status reason ${reason}`);
      return { type: 'port_status', reason: reasons[reason], port: pullPort(r, version) };
    }
    case OFPT.PACKET_OUT:
      return decodePacketOut(r, version);
    case OFPT.FLOW_MOD:
      return version === OFP10_VERSION ? decodeFlowMod10(r) : decodeFlowMod11(r, version);
  }
  if (version === OFP10_VERSION) {
    switch (type) {
      case OFPT10.PORT_MOD: {
        const portNo = r.u16();
        const hwAddr = getMac(r);
        return {
          type: 'port_mod',
          portNo,
          hwAddr,
          config: r.u32(),
          mask: r.u32(),
          advertise: r.u32(),
        };
      }
      case OFPT10.STATS_REQUEST:
        return decodeStats(r, version, false);
      case OFPT10.STATS_REPLY:
        return decodeStats(r, version, true);
      case OFPT10.BARRIER_REQUEST:
        return { type: 'barrier_request' };
      case OFPT10.BARRIER_REPLY:
        return { type: 'barrier_reply' };
      case 20:
      case 21:
        return { type: 'opaque', ofpType: type, body: r.rest().slice() };
    }
    throw new OfpError('OFPBRC_BAD_TYPE', `type ${type}`);
  }
  switch (type) {
    case OFPT11.PORT_MOD: {
      const p = portFromOfp11(r.u32());
      r.skip(4);
      const hwAddr = getMac(r);
      r.skip(2);
      const config = r.u32();
      const mask = r.u32();
      let advertise = 0;
      if (version < OFP14_VERSION) advertise = r.u32();
      else {
        while (r.remaining >= 4) {
          const t = r.u16();
          const len = r.u16();
          if (len < 4) throw new OfpError('OFPBPC_BAD_LEN');
          const body = r.sub(((len + 7) & ~7) - 4);
          if (t === 0 && len >= 8) advertise = body.u32();
        }
      }
      if (p === null) throw new OfpError('OFPPMFC_BAD_PORT');
      return { type: 'port_mod', portNo: p, hwAddr, config, mask, advertise };
    }
    case OFPT11.GROUP_MOD:
      return { type: 'group_mod', ...pullGroupMod(r, version) };
    case OFPT11.TABLE_MOD: {
      const tableId = r.u8();
      r.skip(3);
      return { type: 'table_mod', tableId, config: r.u32() };
    }
    case OFPT11.MULTIPART_REQUEST:
      return decodeStats(r, version, false);
    case OFPT11.MULTIPART_REPLY:
      return decodeStats(r, version, true);
    case OFPT11.BARRIER_REQUEST:
      return { type: 'barrier_request' };
    case OFPT11.BARRIER_REPLY:
      return { type: 'barrier_reply' };
    case 22:
    case 23:
      return { type: 'opaque', ofpType: type, body: r.rest().slice() };
  }
  if (version >= OFP12_VERSION && (type === OFPT11.ROLE_REQUEST || type === OFPT11.ROLE_REPLY)) {
    const role = roleFrom(r.u32(), false);
    r.skip(4);
    return {
      type: type === OFPT11.ROLE_REQUEST ? 'role_request' : 'role_reply',
      format: 'standard',
      role,
      generationId: r.u64(),
    };
  }
  if (version >= OFP13_VERSION) {
    switch (type) {
      case OFPT11.GET_ASYNC_REQUEST:
        return { type: 'get_async_request' };
      case OFPT11.GET_ASYNC_REPLY:
      case OFPT11.SET_ASYNC:
        return {
          type: type === OFPT11.SET_ASYNC ? 'set_async' : 'get_async_reply',
          format: 'standard',
          config: pullAsync(r, version, type === OFPT11.SET_ASYNC),
        };
      case OFPT11.METER_MOD:
        return { type: 'meter_mod', ...pullMeterMod(r) };
    }
  }
  if (version >= OFP14_VERSION) {
    switch (type) {
      case OFPT11.BUNDLE_CONTROL:
      case OFPT11.BUNDLE_ADD_MESSAGE:
        return decodeBundle(r, type === OFPT11.BUNDLE_CONTROL);
      case OFPT11.ROLE_STATUS:
      case OFPT11.TABLE_STATUS:
      case OFPT11.REQUESTFORWARD:
        return { type: 'opaque', ofpType: type, body: r.rest().slice() };
    }
  }
  throw new OfpError('OFPBRC_BAD_TYPE', `type ${type}`);
}

/**
 * Decodes one whole message (exactly `length` bytes as the header says; the framer cuts them).
 * Returns the OfpError to answer with instead of throwing.
 */
export function decodeMessage(buf: Uint8Array): DecodeResult {
  const version = buf.length > 0 ? buf[0] : 0;
  const xid =
    buf.length >= 8 ? ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0 : 0;
  try {
    if (buf.length < 8) throw new OfpError('OFPBRC_BAD_LEN', 'short header');
    const type = buf[1];
    const length = (buf[2] << 8) | buf[3];
    if (length !== buf.length || length < 8) throw new OfpError('OFPBRC_BAD_LEN', 'header length');
    if (type !== OFPT.HELLO && (version < MIN_VERSION || version > MAX_VERSION)) {
      throw new OfpError('OFPBRC_BAD_VERSION', `version ${version}`);
    }
    const r = new Reader(buf, 8, length);
    const msg = decodeBody(r, version, type);
    return { ok: true, frame: { version, xid, msg } };
  } catch (e) {
    if (e instanceof OfpError) return { ok: false, error: e, version, xid };
    if (e instanceof DecodeError) {
      return { ok: false, error: new OfpError('OFPBRC_BAD_LEN', e.message), version, xid };
    }
    if (e instanceof RangeError) {
      return { ok: false, error: new OfpError('OFPBRC_BAD_LEN', e.message), version, xid };
    }
    throw e;
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding.                                                                                */

function header(w: Writer, version: number, type: number, xid: number): void {
  w.u8(version).u8(type).u16(0).u32(xid);
}

function vendorHeader(w: Writer, version: number, xid: number, subtype: number): void {
  header(w, version, OFPT.VENDOR, xid);
  w.u32(NX_VENDOR_ID).u32(subtype);
}

function statsHeader(
  w: Writer,
  version: number,
  xid: number,
  reply: boolean,
  statType: number,
  flags: number,
): undefined {
  const t =
    version === OFP10_VERSION
      ? reply
        ? OFPT10.STATS_REPLY
        : OFPT10.STATS_REQUEST
      : reply
        ? OFPT11.MULTIPART_REPLY
        : OFPT11.MULTIPART_REQUEST;
  header(w, version, t, xid);
  w.u16(statType).u16(flags);
  if (version >= OFP11_VERSION) w.zeros(4);
}

function nxStatsHeader(
  w: Writer,
  version: number,
  xid: number,
  reply: boolean,
  sub: number,
  flags: number,
): void {
  statsHeader(w, version, xid, reply, OFPST.VENDOR, flags);
  w.u32(NX_VENDOR_ID).u32(sub).zeros(4);
}

function encodeFlowMod(
  w: Writer,
  m: FlowMod,
  format: 'standard' | 'nxt',
  version: number,
  xid: number,
): void {
  const cmd = COMMANDS.indexOf(m.command);
  const isAdd = m.command === 'add';
  if (
    format === 'nxt' ||
    (version === OFP10_VERSION && !of10Expressible(m.match)) ||
    (version === OFP10_VERSION && m.cookieMask)
  ) {
    vendorHeader(w, OFP10_VERSION === version ? version : version, xid, NXT.FLOW_MOD);
    // A modify that matches by cookie mask sends all-ones: "keep each flow's cookie" (OVS).
    const cookieField = isAdd || m.command.startsWith('modify') ? m.newCookie : 0n;
    w.u64(cookieField === 0xffffffffffffffffn && !m.cookieMask ? 0n : cookieField);
    w.u16(cmd | (m.tableId !== 255 ? m.tableId << 8 : 0));
    w.u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority).u32(m.bufferId).u16(m.outPort);
    w.u16(flagsToWire(m.flags, OFP10_VERSION));
    const lenAt = w.pos;
    w.u16(0).zeros(6);
    const len = putNxmPadded(
      w,
      m.match,
      isAdd ? undefined : { value: m.cookie, mask: m.cookieMask },
    );
    w.setU16(lenAt, len);
    putOfpactsForVersion(w, m.ofpacts, OFP10_VERSION, m.match);
    return;
  }
  if (version === OFP10_VERSION) {
    header(w, version, OFPT.FLOW_MOD, xid);
    putOf10Match(w, m.match);
    w.u64(isAdd || m.command.startsWith('modify') ? m.newCookie & 0xffffffffffffffffn : 0n);
    const withTable = m.tableId !== 255 && m.tableId !== 0 ? m.tableId << 8 : 0;
    w.u16(cmd | withTable)
      .u16(m.idleTimeout)
      .u16(m.hardTimeout)
      .u16(m.priority)
      .u32(m.bufferId);
    w.u16(m.outPort).u16(flagsToWire(m.flags, version));
    putOfpactsForVersion(w, m.ofpacts, version, m.match);
    return;
  }
  header(w, version, OFPT.FLOW_MOD, xid);
  if (isAdd) w.u64(m.newCookie).u64(0n);
  else
    w.u64(m.cookieMask ? m.cookie : m.newCookie === 0xffffffffffffffffn ? 0n : m.newCookie).u64(
      m.cookieMask,
    );
  // As OVS: OF1.1 forbids table 255 outright, so "all tables" goes out as table 0 there.
  const table =
    m.tableId === 255 && (version === 2 || !m.command.startsWith('delete')) ? 0 : m.tableId;
  w.u8(table).u8(cmd).u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority).u32(m.bufferId);
  w.u32(portToOfp11(m.outPort)).u32(m.outGroup).u16(flagsToWire(m.flags, version));
  w.u16(version >= OFP14_VERSION ? m.importance : 0);
  putOxmMatch(w, m.match, version);
  putOfpactsForVersion(w, m.ofpacts, version, m.match);
}

function putPacketInMetadataNxm(w: Writer, m: Match): number {
  return putMatchRaw(w, m, { oxm: false, version: OFP10_VERSION });
}

function encodePacketIn(
  w: Writer,
  p: Extract<OfpMessage, { type: 'packet_in' }>,
  version: number,
  xid: number,
): void {
  const reason = PACKET_IN_REASONS.indexOf(p.reason);
  if (p.format === 'nxt_packet_in2') {
    vendorHeader(w, version, xid, NXT.PACKET_IN2);
    const prop = (type: number, body: (w: Writer) => void) => {
      const at = w.pos;
      w.u16(type).u16(0);
      body(w);
      w.setU16(at + 2, w.pos - at);
      w.pad(8, at);
    };
    prop(0, (x) => x.bytes(p.data));
    if (p.totalLen !== p.data.length) prop(1, (x) => x.u32(p.totalLen));
    if (p.bufferId !== 0xffffffff) prop(2, (x) => x.u32(p.bufferId));
    // As OVS: table and reason always; the cookie unless no rule sent it (all ones).
    prop(3, (x) => x.u8(p.tableId));
    if (p.cookie !== 0xffffffffffffffffn) prop(4, (x) => x.zeros(4).u64(p.cookie));
    prop(5, (x) => x.u8(reason));
    prop(6, (x) => putPacketInMetadataNxm(x, p.metadata));
    if (p.userdata) prop(7, (x) => x.bytes(p.userdata!));
    if (p.continuation) prop(8, (x) => x.bytes(p.continuation!));
    return;
  }
  if (p.format === 'nxt_packet_in') {
    vendorHeader(w, version, xid, NXT.PACKET_IN);
    w.u32(p.bufferId).u16(p.totalLen).u8(reason).u8(p.tableId).u64(p.cookie);
    const lenAt = w.pos;
    w.u16(0).zeros(6);
    w.setU16(lenAt, putNxmPadded(w, p.metadata));
    w.zeros(2).bytes(p.data);
    return;
  }
  header(w, version, OFPT.PACKET_IN, xid);
  if (version === OFP10_VERSION) {
    w.u32(p.bufferId).u16(p.totalLen).u16(p.metadata.key[0]).u8(reason).u8(0).bytes(p.data);
    return;
  }
  if (version === OFP11_VERSION) {
    // OF1.1's own layout: in_port and in_phy_port (the same here), no match.
    const port = portToOfp11(p.metadata.key[0]);
    w.u32(p.bufferId).u32(port).u32(port).u16(p.totalLen).u8(reason).u8(p.tableId);
    w.bytes(p.data);
    return;
  }
  w.u32(p.bufferId).u16(p.totalLen).u8(reason).u8(p.tableId);
  if (version >= OFP13_VERSION) w.u64(p.cookie);
  putOxmMatch(w, p.metadata, version);
  w.zeros(2).bytes(p.data);
}

function encodeStatsRequest(
  w: Writer,
  b: StatsRequest,
  format: 'standard' | 'nxt',
  flags: number,
  version: number,
  xid: number,
): undefined {
  switch (b.stat) {
    case 'flow': {
      const nx = format === 'nxt' || (version === OFP10_VERSION && !of10Expressible(b.match));
      if (nx) {
        nxStatsHeader(w, version, xid, false, b.aggregate ? NXST_AGGREGATE : NXST_FLOW, flags);
        w.u16(b.outPort);
        const lenAt = w.pos;
        w.u16(0).u8(b.tableId).zeros(3);
        w.setU16(lenAt, putNxmPadded(w, b.match, { value: b.cookie, mask: b.cookieMask }));
        return;
      }
      statsHeader(w, version, xid, false, b.aggregate ? OFPST.AGGREGATE : OFPST.FLOW, flags);
      if (version === OFP10_VERSION) {
        putOf10Match(w, b.match);
        w.u8(b.tableId).u8(0).u16(b.outPort);
        return;
      }
      w.u8(b.tableId).zeros(3).u32(portToOfp11(b.outPort)).u32(b.outGroup).zeros(4);
      w.u64(b.cookie).u64(b.cookieMask);
      putOxmMatch(w, b.match, version);
      return;
    }
    case 'desc':
      return statsHeader(w, version, xid, false, OFPST.DESC, flags);
    case 'table':
      return statsHeader(w, version, xid, false, OFPST.TABLE, flags);
    case 'group_features':
      return statsHeader(w, version, xid, false, OFPST.GROUP_FEATURES, flags);
    case 'meter_features':
      return statsHeader(w, version, xid, false, OFPST.METER_FEATURES, flags);
    case 'port_desc':
      statsHeader(w, version, xid, false, OFPST.PORT_DESC, flags);
      if (version >= OFP15_VERSION) w.u32(portToOfp11(b.portNo)).zeros(4);
      return;
    case 'group_desc':
      statsHeader(w, version, xid, false, OFPST.GROUP_DESC, flags);
      if (version >= OFP15_VERSION) w.u32(b.groupId).zeros(4);
      return;
    case 'meter_config':
    case 'meter':
      statsHeader(
        w,
        version,
        xid,
        false,
        b.stat === 'meter' ? OFPST.METER : OFPST.METER_CONFIG,
        flags,
      );
      w.u32(b.meterId).zeros(4);
      return;
    case 'queue':
      statsHeader(w, version, xid, false, OFPST.QUEUE, flags);
      if (version === OFP10_VERSION) w.u16(b.portNo).zeros(2);
      else w.u32(portToOfp11(b.portNo));
      w.u32(b.queueId);
      return;
    case 'group':
      statsHeader(w, version, xid, false, OFPST.GROUP, flags);
      w.u32(b.groupId).zeros(4);
      return;
    case 'table_features':
      statsHeader(w, version, xid, false, OFPST.TABLE_FEATURES, flags);
      for (const t of b.tables) putTableFeatures(w, t, version);
      return;
    case 'port':
      statsHeader(w, version, xid, false, OFPST.PORT, flags);
      if (version === OFP10_VERSION) w.u16(b.portNo).zeros(6);
      else w.u32(portToOfp11(b.portNo)).zeros(4);
      return;
    case 'raw':
      statsHeader(w, version, xid, false, b.statType, flags);
      w.bytes(b.body);
      return;
  }
}

/* OF1.5 statistics as OXS fields (class OPENFLOW_BASIC 0x8002): what OVS puts, in its order. */
function putOxsStats(
  w: Writer,
  s: {
    duration?: [number, number];
    idleAge?: number;
    packets: bigint;
    bytes: bigint;
    flows?: number;
  },
): void {
  const at = w.pos;
  w.u16(0).u16(0);
  if (s.duration) w.u32(0x80020008).u32(s.duration[0]).u32(s.duration[1]);
  if (s.idleAge !== undefined && s.idleAge >= 0) w.u32(0x80020208).u32(s.idleAge).u32(0);
  if (s.packets !== 0xffffffffffffffffn) w.u32(0x80020808).u64(s.packets);
  if (s.bytes !== 0xffffffffffffffffn) w.u32(0x80020a08).u64(s.bytes);
  if (s.flows !== undefined) w.u32(0x80020604).u32(s.flows);
  w.setU16(at + 2, w.pos - at);
  w.pad(8, at);
}

/** Starts a flow-stats reply whose length and flags the caller patches (flow-stats-encode.ts). */
export function putFlowStatsReplyHeader(
  w: Writer,
  version: number,
  xid: number,
  nx: boolean,
): void {
  if (nx) nxStatsHeader(w, version, xid, true, NXST_FLOW, 0);
  else statsHeader(w, version, xid, true, OFPST.FLOW, 0);
}

/** One flow-stats entry: NXM (`nx`), OF1.0, OXM, or OF1.5's OXS form. */
export function putFlowStats(w: Writer, f: FlowStats, version: number, nx: boolean): void {
  const start = w.pos;
  if (version >= OFP15_VERSION && !nx) {
    w.u16(0).zeros(2).u8(f.tableId).u8(0).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    w.u16(flagsToWire(f.flags, version)).u16(f.importance).u64(f.cookie);
    putOxmMatch(w, f.match, version);
    putOxsStats(w, {
      duration: [f.durationSec, f.durationNsec],
      idleAge: f.idleAge,
      packets: f.packetCount,
      bytes: f.byteCount,
    });
    putOfpactsForVersion(w, f.ofpacts, version, f.match);
    w.setU16(start, w.pos - start);
    return;
  }
  w.u16(0).u8(f.tableId).u8(0);
  if (nx) {
    w.u32(f.durationSec).u32(f.durationNsec).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    const lenAt = w.pos;
    w.u16(0)
      .u16(f.idleAge + 1)
      .u16(f.hardAge + 1)
      .u64(f.cookie)
      .u64(f.packetCount)
      .u64(f.byteCount);
    w.setU16(lenAt, putNxmPadded(w, f.match));
    putOfpactsForVersion(w, f.ofpacts, OFP10_VERSION, f.match);
  } else if (version === OFP10_VERSION) {
    putOf10Match(w, f.match);
    w.u32(f.durationSec)
      .u32(f.durationNsec)
      .u16(f.priority)
      .u16(f.idleTimeout)
      .u16(f.hardTimeout)
      .zeros(6);
    w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    putOfpactsForVersion(w, f.ofpacts, version, f.match);
  } else {
    w.u32(f.durationSec).u32(f.durationNsec).u16(f.priority).u16(f.idleTimeout).u16(f.hardTimeout);
    w.u16(version >= OFP13_VERSION ? flagsToWire(f.flags, version) : 0);
    w.u16(version >= OFP14_VERSION ? f.importance : 0).zeros(2);
    w.u64(f.cookie).u64(f.packetCount).u64(f.byteCount);
    putOxmMatch(w, f.match, version);
    putOfpactsForVersion(w, f.ofpacts, version, f.match);
  }
  w.setU16(start, w.pos - start);
}

function encodeStatsReply(
  w: Writer,
  b: StatsReply,
  format: 'standard' | 'nxt',
  flags: number,
  version: number,
  xid: number,
): void {
  switch (b.stat) {
    case 'desc':
      statsHeader(w, version, xid, true, OFPST.DESC, flags);
      w.str(b.mfrDesc, 256)
        .str(b.hwDesc, 256)
        .str(b.swDesc, 256)
        .str(b.serialNum, 32)
        .str(b.dpDesc, 256);
      return;
    case 'flow': {
      const nx =
        format === 'nxt' ||
        (version === OFP10_VERSION && b.flows.some((f) => !of10Expressible(f.match)));
      if (nx) nxStatsHeader(w, version, xid, true, NXST_FLOW, flags);
      else statsHeader(w, version, xid, true, OFPST.FLOW, flags);
      for (const f of b.flows) putFlowStats(w, f, version, nx);
      return;
    }
    case 'aggregate':
      if (format === 'nxt') nxStatsHeader(w, version, xid, true, NXST_AGGREGATE, flags);
      else statsHeader(w, version, xid, true, OFPST.AGGREGATE, flags);
      if (version >= OFP15_VERSION && format !== 'nxt') {
        putOxsStats(w, { packets: b.packetCount, bytes: b.byteCount, flows: b.flowCount });
        return;
      }
      w.u64(b.packetCount).u64(b.byteCount).u32(b.flowCount).zeros(4);
      return;
    case 'port_desc':
      statsHeader(w, version, xid, true, OFPST.PORT_DESC, flags);
      for (const p of b.ports) putPort(w, p, version);
      return;
    case 'group_desc':
      if (format === 'nxt') nxStatsHeader(w, version, xid, true, NXST_GROUP_DESC, flags);
      else statsHeader(w, version, xid, true, OFPST.GROUP_DESC, flags);
      for (const g of b.groups) putGroupDesc(w, g, version);
      return;
    case 'meter_config':
      statsHeader(w, version, xid, true, OFPST.METER_CONFIG, flags);
      for (const m of b.meters) putMeterConfig(w, m);
      return;
    case 'table':
      statsHeader(w, version, xid, true, OFPST.TABLE, flags);
      for (const t of b.stats) putTableStats(w, t, version);
      return;
    case 'port':
      statsHeader(w, version, xid, true, OFPST.PORT, flags);
      for (const p of b.stats) putPortStats(w, p, version);
      return;
    case 'queue':
      statsHeader(w, version, xid, true, OFPST.QUEUE, flags);
      for (const q of b.stats) putQueueStats(w, q, version);
      return;
    case 'group':
      // OVS's OF1.0 extension replies in OF1.3's layout (with durations).
      if (format === 'nxt') nxStatsHeader(w, version, xid, true, NXST_GROUP, flags);
      else statsHeader(w, version, xid, true, OFPST.GROUP, flags);
      for (const g of b.stats) putGroupStats(w, g, format === 'nxt' ? OFP13_VERSION : version);
      return;
    case 'meter':
      statsHeader(w, version, xid, true, OFPST.METER, flags);
      for (const m of b.stats) putMeterStats(w, m);
      return;
    case 'table_features':
      statsHeader(w, version, xid, true, OFPST.TABLE_FEATURES, flags);
      for (const t of b.tables) putTableFeatures(w, t, version);
      return;
    case 'group_features': {
      if (format === 'nxt') nxStatsHeader(w, version, xid, true, NXST_GROUP_FEATURES, flags);
      else statsHeader(w, version, xid, true, OFPST.GROUP_FEATURES, flags);
      const { stat: _s, ...f } = b;
      putGroupFeatures(w, f);
      return;
    }
    case 'meter_features': {
      statsHeader(w, version, xid, true, OFPST.METER_FEATURES, flags);
      const { stat: _s, ...f } = b;
      putMeterFeatures(w, f);
      return;
    }
    case 'raw':
      statsHeader(w, version, xid, true, b.statType, flags);
      w.bytes(b.body);
      return;
  }
}

/** Encodes a whole message. Throws OfpError when `msg` cannot be said in `version`. */
/* A dump's replies run to 64 kB each: starting the writer near that size saves the ten
 * doublings (each a fresh buffer and a copy) of growing it from 128 bytes. */
function initialSize(msg: OfpMessage): number {
  if (msg.type === 'stats_reply' && msg.body.stat === 'flow') {
    return Math.min(1 << 16, 128 + msg.body.flows.length * 160);
  }
  return 128;
}

/* One writer reused by every encodeMessage() (each result is copied out of it): a fresh one per
 * message was two allocations, its buffer and DataView. Null while in use, so a nested call
 * gets a writer of its own. */
let spareWriter: Writer | null = null;
const SPARE_WRITER_MAX = 1 << 17;

export function encodeMessage(frame: OfpFrame): Uint8Array {
  const size = initialSize(frame.msg);
  let w = spareWriter;
  spareWriter = null;
  if (w === null || w.buf.length < size) w = new Writer(size);
  else w.reset();
  try {
    return encodeWith(w, frame);
  } finally {
    if (w.buf.length <= SPARE_WRITER_MAX) spareWriter = w;
  }
}

function encodeWith(w: Writer, frame: OfpFrame): Uint8Array {
  const { version, xid, msg } = frame;
  const barrier = version === OFP10_VERSION ? OFPT10 : OFPT11;
  switch (msg.type) {
    case 'hello': {
      header(w, version, OFPT.HELLO, xid);
      let bitmap = 0;
      for (const v of msg.versions) bitmap |= 1 << v;
      bitmap >>>= 0;
      if (bitmap && (((bitmap >>> 1) + 1) & (bitmap >>> 1)) !== 0) {
        w.u16(1).u16(8).u32(bitmap);
      }
      break;
    }
    case 'error': {
      header(w, version, OFPT.ERROR, xid);
      const e = msg.error;
      if (e.name) encodeErrorBody(w, e.name, version, e.data);
      else w.u16(e.type).u16(e.code).bytes(e.data);
      break;
    }
    case 'echo_request':
    case 'echo_reply':
      header(w, version, msg.type === 'echo_request' ? OFPT.ECHO_REQUEST : OFPT.ECHO_REPLY, xid);
      w.bytes(msg.data);
      break;
    case 'features_request':
      header(w, version, OFPT.FEATURES_REQUEST, xid);
      break;
    case 'features_reply':
      header(w, version, OFPT.FEATURES_REPLY, xid);
      w.u64(msg.datapathId).u32(msg.nBuffers).u8(msg.nTables);
      w.u8(version >= OFP13_VERSION ? msg.auxiliaryId : 0).zeros(2);
      w.u32(msg.capabilities).u32(version === OFP10_VERSION ? msg.actions : 0);
      if (version < OFP13_VERSION) for (const p of msg.ports) putPort(w, p, version);
      break;
    case 'get_config_request':
      header(w, version, OFPT.GET_CONFIG_REQUEST, xid);
      break;
    case 'get_config_reply':
    case 'set_config':
      header(w, version, msg.type === 'set_config' ? OFPT.SET_CONFIG : OFPT.GET_CONFIG_REPLY, xid);
      w.u16(msg.flags).u16(msg.missSendLen);
      break;
    case 'barrier_request':
    case 'barrier_reply':
      header(
        w,
        version,
        msg.type === 'barrier_request' ? barrier.BARRIER_REQUEST : barrier.BARRIER_REPLY,
        xid,
      );
      break;
    case 'role_request':
    case 'role_reply':
      if (msg.format === 'nxt' || version < OFP12_VERSION) {
        vendorHeader(
          w,
          version,
          xid,
          msg.type === 'role_request' ? NXT.ROLE_REQUEST : NXT.ROLE_REPLY,
        );
        w.u32(roleTo(msg.role, true));
      } else {
        header(
          w,
          version,
          msg.type === 'role_request' ? OFPT11.ROLE_REQUEST : OFPT11.ROLE_REPLY,
          xid,
        );
        w.u32(roleTo(msg.role, false)).zeros(4).u64(msg.generationId);
      }
      break;
    case 'port_status':
      header(w, version, OFPT.PORT_STATUS, xid);
      w.u8(['add', 'delete', 'modify'].indexOf(msg.reason)).zeros(7);
      putPort(w, msg.port, version);
      break;
    case 'port_mod':
      if (version === OFP10_VERSION) {
        header(w, version, OFPT10.PORT_MOD, xid);
        w.u16(msg.portNo);
        putMac(w, msg.hwAddr);
        w.u32(msg.config).u32(msg.mask).u32(msg.advertise).zeros(4);
      } else {
        header(w, version, OFPT11.PORT_MOD, xid);
        w.u32(portToOfp11(msg.portNo)).zeros(4);
        putMac(w, msg.hwAddr);
        w.zeros(2).u32(msg.config).u32(msg.mask);
        if (version < OFP14_VERSION) w.u32(msg.advertise).zeros(4);
        else if (msg.advertise) w.u16(0).u16(8).u32(msg.advertise);
      }
      break;
    case 'packet_in':
      encodePacketIn(w, msg, version, xid);
      break;
    case 'packet_out':
      header(w, version, OFPT.PACKET_OUT, xid);
      w.u32(msg.bufferId);
      if (version === OFP10_VERSION) {
        const at = w.pos + 2;
        w.u16(msg.inPort).u16(0);
        const s = w.pos;
        putActions(w, msg.ofpacts, version);
        w.setU16(at, w.pos - s);
      } else if (version < OFP15_VERSION) {
        w.u32(portToOfp11(msg.inPort));
        const at = w.pos;
        w.u16(0).zeros(6);
        const s = w.pos;
        putActions(w, msg.ofpacts, version);
        w.setU16(at, w.pos - s);
      } else {
        const at = w.pos;
        w.u16(0).zeros(2);
        // The pipeline fields the packet starts with, in_port always among them.
        const m = msg.flowMetadata
          ? { key: msg.flowMetadata.key.slice(), mask: msg.flowMetadata.mask.slice() }
          : newMatch();
        m.key[0] = msg.inPort;
        m.mask[0] = 0xffffffff;
        putOxmMatch(w, m, version);
        const s = w.pos;
        putActions(w, msg.ofpacts, version);
        w.setU16(at, w.pos - s);
      }
      w.bytes(msg.data);
      break;
    case 'flow_removed':
      if (msg.format === 'nxt' || (version === OFP10_VERSION && !of10Expressible(msg.match))) {
        vendorHeader(w, version, xid, NXT.FLOW_REMOVED);
        w.u64(msg.cookie)
          .u16(msg.priority)
          .u8(FLOW_REMOVED_REASONS.indexOf(msg.reason))
          .u8((msg.tableId + 1) & 0xff);
        w.u32(msg.durationSec).u32(msg.durationNsec).u16(msg.idleTimeout);
        const lenAt = w.pos;
        w.u16(0).u64(msg.packetCount).u64(msg.byteCount);
        w.setU16(lenAt, putNxmPadded(w, msg.match));
      } else if (version === OFP10_VERSION) {
        header(w, version, OFPT.FLOW_REMOVED, xid);
        putOf10Match(w, msg.match);
        w.u64(msg.cookie).u16(msg.priority).u8(FLOW_REMOVED_REASONS.indexOf(msg.reason)).u8(0);
        w.u32(msg.durationSec).u32(msg.durationNsec).u16(msg.idleTimeout).zeros(2);
        w.u64(msg.packetCount).u64(msg.byteCount);
      } else if (version >= OFP15_VERSION) {
        // OF1.5 reorders the fixed part and carries the counters as OXS fields.
        header(w, version, OFPT.FLOW_REMOVED, xid);
        w.u8(msg.tableId).u8(FLOW_REMOVED_REASONS.indexOf(msg.reason)).u16(msg.priority);
        w.u16(msg.idleTimeout).u16(msg.hardTimeout).u64(msg.cookie);
        putOxmMatch(w, msg.match, version);
        putOxsStats(w, {
          duration: [msg.durationSec, msg.durationNsec],
          packets: msg.packetCount,
          bytes: msg.byteCount,
        });
      } else {
        header(w, version, OFPT.FLOW_REMOVED, xid);
        w.u64(msg.cookie)
          .u16(msg.priority)
          .u8(FLOW_REMOVED_REASONS.indexOf(msg.reason))
          .u8(msg.tableId);
        w.u32(msg.durationSec).u32(msg.durationNsec).u16(msg.idleTimeout).u16(msg.hardTimeout);
        w.u64(msg.packetCount).u64(msg.byteCount);
        putOxmMatch(w, msg.match, version);
      }
      break;
    case 'flow_mod':
      encodeFlowMod(w, msg, msg.format, version, xid);
      break;
    case 'nxt_flow_mod_table_id':
      vendorHeader(w, version, xid, NXT.FLOW_MOD_TABLE_ID);
      w.u8(msg.enable ? 1 : 0).zeros(7);
      break;
    case 'nxt_set_flow_format':
      vendorHeader(w, version, xid, NXT.SET_FLOW_FORMAT);
      w.u32(msg.format === 'nxm' ? 2 : 0);
      break;
    case 'nxt_set_packet_in_format':
      vendorHeader(w, version, xid, NXT.SET_PACKET_IN_FORMAT);
      w.u32(['standard', 'nxt_packet_in', 'nxt_packet_in2'].indexOf(msg.format));
      break;
    case 'stats_request':
      encodeStatsRequest(w, msg.body, msg.format, msg.flags, version, xid);
      break;
    case 'stats_reply':
      encodeStatsReply(w, msg.body, msg.format, msg.flags, version, xid);
      break;
    case 'table_mod':
      header(w, version, OFPT11.TABLE_MOD, xid);
      w.u8(msg.tableId).zeros(3).u32(msg.config);
      break;
    case 'group_mod':
      if (version === OFP10_VERSION) vendorHeader(w, version, xid, NXT.GROUP_MOD);
      else header(w, version, OFPT11.GROUP_MOD, xid);
      putGroupMod(w, msg, version);
      break;
    case 'meter_mod':
      if (version < OFP13_VERSION) throw new OfpError('OFPBRC_BAD_VERSION', 'meters need OF1.3+');
      header(w, version, OFPT11.METER_MOD, xid);
      putMeterMod(w, msg);
      break;
    case 'bundle_control':
    case 'bundle_add': {
      const ctl = msg.type === 'bundle_control';
      if (version === OFP13_VERSION) {
        header(w, version, OFPT.VENDOR, xid);
        w.u32(ONF_VENDOR_ID).u32(ctl ? ONFT_BUNDLE_CONTROL : ONFT_BUNDLE_ADD_MESSAGE);
      } else {
        header(w, version, ctl ? OFPT11.BUNDLE_CONTROL : OFPT11.BUNDLE_ADD_MESSAGE, xid);
      }
      w.u32(msg.bundleId);
      if (msg.type === 'bundle_control') w.u16(msg.ctrlType).u16(msg.flags).bytes(msg.properties);
      else w.zeros(2).u16(msg.flags).bytes(msg.message);
      break;
    }
    case 'get_async_request':
      header(w, version, OFPT11.GET_ASYNC_REQUEST, xid);
      break;
    case 'get_async_reply':
    case 'set_async':
      if (msg.format === 'nxt' || version < OFP13_VERSION) {
        if (msg.type !== 'set_async') throw new OfpError('OFPBRC_BAD_TYPE', 'NX get-async reply');
        vendorHeader(w, version, xid, NXT.SET_ASYNC_CONFIG);
        putAsync(w, msg.config, OFP13_VERSION);
      } else {
        header(
          w,
          version,
          msg.type === 'set_async' ? OFPT11.SET_ASYNC : OFPT11.GET_ASYNC_REPLY,
          xid,
        );
        putAsync(w, msg.config, version);
      }
      break;
    case 'opaque':
      header(w, version, msg.ofpType, xid);
      w.bytes(msg.body);
      break;
  }
  if (w.pos > 0xffff) throw new OfpError('OFPBRC_BAD_LEN', 'message longer than 65535 bytes');
  w.setU16(2, w.pos);
  return w.finishPooled();
}

/** The OFPT_ERROR OVS sends for `error` in reply to `request` (its first 64 bytes as data). */
export function encodeErrorReply(
  error: OfpError,
  request: Uint8Array,
  version: number,
  xid: number,
): Uint8Array {
  const v = version >= MIN_VERSION && version <= MAX_VERSION ? version : OFP10_VERSION;
  const w = new Writer(96);
  header(w, v, OFPT.ERROR, xid);
  encodeErrorBody(w, error.error, v, request.subarray(0, 64));
  w.setU16(2, w.pos);
  return w.finish();
}

/** Zero match helper for callers building stats requests. */
export function catchAllMatch(): Match {
  return { key: new Uint32Array(FLOW_WORDS), mask: new Uint32Array(FLOW_WORDS) };
}
