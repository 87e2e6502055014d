/*
 * OpenFlow messages as plain data: one discriminated union, version-independent where OVS's
 * ofputil_* structures are (a flow-mod is the same object whether it came as OF1.0, OF1.3 or
 * NXT_FLOW_MOD), with the wire form recorded where it matters for replies (`format`).
 */

import type { Match } from '../../lib/flow/match.ts';
import type { DecodedError } from './errors.ts';
import type { GroupDesc, GroupMod } from './group.ts';
import type { MeterConfig, MeterMod } from './meter.ts';
import type { Ofpact } from './ofpact.ts';
import type {
  GroupFeatures,
  GroupStats,
  MeterFeatures,
  MeterStats,
  PortStats,
  QueueStats,
  TableStats,
} from './stats.ts';
import type { TableFeatures } from './table-features.ts';

export const OFP10_VERSION = 1;
export const OFP11_VERSION = 2;
export const OFP12_VERSION = 3;
export const OFP13_VERSION = 4;
export const OFP14_VERSION = 5;
export const OFP15_VERSION = 6;

export const OFP_HEADER_LEN = 8;
export const OFP_MAX_MSG_LEN = 0xffff;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;

export interface PortDesc {
  portNo: number;
  hwAddr: [number, number];
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;
  maxSpeed: number;
}

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

export interface FlowModFlags {
  sendFlowRem: boolean;
  checkOverlap: boolean;
  resetCounts: boolean;
  noPacketCounts: boolean;
  noByteCounts: boolean;
  emerg: boolean;
}

export function noFlowModFlags(): FlowModFlags {
  return {
    sendFlowRem: false,
    checkOverlap: false,
    resetCounts: false,
    noPacketCounts: false,
    noByteCounts: false,
    emerg: false,
  };
}

export interface FlowMod {
  command: FlowModCommand;
  match: Match;
  priority: number;
  /** The cookie a new or modified flow gets (OVS's new_cookie; all-ones: keep). */
  newCookie: bigint;
  /** Cookie filter for modify/delete (mask 0: any). */
  cookie: bigint;
  cookieMask: bigint;
  /** 255 (OFPTT_ALL) for "all tables" in deletes, or when the wire form has no table. */
  tableId: number;
  idleTimeout: number;
  hardTimeout: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  flags: FlowModFlags;
  importance: number;
  ofpacts: Ofpact[];
}

export type FlowRemovedReason =
  | 'idle'
  | 'hard'
  | 'delete'
  | 'group_delete'
  | 'meter_delete'
  | 'eviction';
export const FLOW_REMOVED_REASONS: readonly FlowRemovedReason[] = [
  'idle',
  'hard',
  'delete',
  'group_delete',
  'meter_delete',
  'eviction',
];

export interface FlowRemoved {
  match: Match;
  cookie: bigint;
  priority: number;
  reason: FlowRemovedReason;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
}

export type PacketInFormat = 'standard' | 'nxt_packet_in' | 'nxt_packet_in2';
export type PacketInReason =
  | 'no_match'
  | 'action'
  | 'invalid_ttl'
  | 'action_set'
  | 'group'
  | 'packet_out';
export const PACKET_IN_REASONS: readonly PacketInReason[] = [
  'no_match',
  'action',
  'invalid_ttl',
  'action_set',
  'group',
  'packet_out',
];

export interface PacketIn {
  format: PacketInFormat;
  bufferId: number;
  totalLen: number;
  reason: PacketInReason;
  tableId: number;
  cookie: bigint;
  /** Packet metadata (in_port, registers, tunnel...) as a match. */
  metadata: Match;
  data: Uint8Array;
  userdata?: Uint8Array;
  /** NXT_PACKET_IN2 continuation, kept opaque. */
  continuation?: Uint8Array;
}

export interface PacketOut {
  bufferId: number;
  inPort: number;
  ofpacts: Ofpact[];
  data: Uint8Array;
  /** OpenFlow 1.5's whole packet metadata match, when decoded from one (in_port is in it). */
  flowMetadata?: Match;
}

export type ControllerRole = 'nochange' | 'equal' | 'master' | 'slave';

export interface FlowStatsRequest {
  aggregate: boolean;
  match: Match;
  tableId: number;
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
}

export interface FlowStats {
  match: Match;
  priority: number;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  /** Seconds since last packet / modification (NXST only; -1 unknown). */
  idleAge: number;
  hardAge: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  flags: FlowModFlags;
  importance: number;
  ofpacts: Ofpact[];
}

export interface SwitchDesc {
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

export interface AggregateStats {
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

export interface PortStatsRequest {
  portNo: number;
}

/** Multipart/stats bodies we decode in full; others stay opaque bytes. */
export type StatsRequest =
  | { stat: 'desc' }
  | ({ stat: 'flow' } & FlowStatsRequest)
  | { stat: 'port_desc'; portNo: number }
  | { stat: 'port'; portNo: number }
  | { stat: 'table' }
  | { stat: 'group_features' }
  | { stat: 'meter_features' }
  | { stat: 'group_desc'; groupId: number }
  | { stat: 'meter_config'; meterId: number }
  | { stat: 'queue'; portNo: number; queueId: number }
  | { stat: 'group'; groupId: number }
  | { stat: 'meter'; meterId: number }
  /** Empty to query; a list to set (OF1.3+). */
  | { stat: 'table_features'; tables: TableFeatures[] }
  | { stat: 'raw'; statType: number; body: Uint8Array };

export type StatsReply =
  | ({ stat: 'desc' } & SwitchDesc)
  | { stat: 'flow'; flows: FlowStats[] }
  | ({ stat: 'aggregate' } & AggregateStats)
  | { stat: 'port_desc'; ports: PortDesc[] }
  | { stat: 'group_desc'; groups: GroupDesc[] }
  | { stat: 'meter_config'; meters: MeterConfig[] }
  | { stat: 'table'; stats: TableStats[] }
  | { stat: 'port'; stats: PortStats[] }
  | { stat: 'queue'; stats: QueueStats[] }
  | { stat: 'group'; stats: GroupStats[] }
  | { stat: 'meter'; stats: MeterStats[] }
  | ({ stat: 'group_features' } & GroupFeatures)
  | ({ stat: 'meter_features' } & MeterFeatures)
  | { stat: 'table_features'; tables: TableFeatures[] }
  | { stat: 'raw'; statType: number; body: Uint8Array };

/** The message union. `format` records a Nicira/vendor form where one exists. */
export type OfpMessage =
  | { type: 'hello'; versions: number[] }
  | { type: 'error'; error: DecodedError }
  | { type: 'echo_request'; data: Uint8Array }
  | { type: 'echo_reply'; data: Uint8Array }
  | { type: 'features_request' }
  | {
      type: 'features_reply';
      datapathId: bigint;
      nBuffers: number;
      nTables: number;
      auxiliaryId: number;
      capabilities: number;
      actions: number;
      ports: PortDesc[];
    }
  | { type: 'get_config_request' }
  | { type: 'get_config_reply'; flags: number; missSendLen: number }
  | { type: 'set_config'; flags: number; missSendLen: number }
  | { type: 'barrier_request' }
  | { type: 'barrier_reply' }
  | {
      type: 'role_request' | 'role_reply';
      format: 'standard' | 'nxt';
      role: ControllerRole;
      generationId: bigint;
    }
  | { type: 'port_status'; reason: 'add' | 'delete' | 'modify'; port: PortDesc }
  | {
      type: 'port_mod';
      portNo: number;
      hwAddr: [number, number];
      config: number;
      mask: number;
      advertise: number;
    }
  | ({ type: 'packet_in' } & PacketIn)
  | ({ type: 'packet_out' } & PacketOut)
  | ({ type: 'flow_removed'; format: 'standard' | 'nxt' } & FlowRemoved)
  | ({ type: 'flow_mod'; format: 'standard' | 'nxt' } & FlowMod)
  | { type: 'nxt_flow_mod_table_id'; enable: boolean }
  | { type: 'nxt_set_flow_format'; format: 'openflow10' | 'nxm' }
  | { type: 'nxt_set_packet_in_format'; format: PacketInFormat }
  | { type: 'stats_request'; format: 'standard' | 'nxt'; flags: number; body: StatsRequest }
  | { type: 'stats_reply'; format: 'standard' | 'nxt'; flags: number; body: StatsReply }
  | { type: 'table_mod'; tableId: number; config: number }
  | ({ type: 'group_mod' } & GroupMod)
  | ({ type: 'meter_mod' } & MeterMod)
  | {
      type: 'bundle_control';
      bundleId: number;
      ctrlType: number;
      flags: number;
      properties: Uint8Array;
    }
  | { type: 'bundle_add'; bundleId: number; flags: number; message: Uint8Array }
  | { type: 'get_async_request' }
  | { type: 'get_async_reply' | 'set_async'; format: 'standard' | 'nxt'; config: AsyncConfig }
  /** A message type we recognise but keep as bytes (body after the header). */
  | { type: 'opaque'; ofpType: number; body: Uint8Array };

/** Which asynchronous messages a controller gets, per role (bitmaps of reasons). */
export interface AsyncMasks {
  packetIn?: number;
  portStatus?: number;
  flowRemoved?: number;
  roleStatus?: number;
  tableStatus?: number;
  requestForward?: number;
}

export interface AsyncConfig {
  /** For master (and equal) connections. */
  master: AsyncMasks;
  slave: AsyncMasks;
}

export interface OfpFrame {
  version: number;
  xid: number;
  msg: OfpMessage;
}
