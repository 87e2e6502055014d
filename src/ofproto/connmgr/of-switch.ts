/*
 * What the connection manager needs from a bridge (OVS's ofproto, as connmgr sees it). The
 * bridge implements this; connmgr owns the OpenFlow connections and speaks for the bridge.
 *
 * Port descriptions use OpenFlow 1.1+ semantics for `state` (LINK_DOWN 1, BLOCKED 2, LIVE 4),
 * `config` (PORT_DOWN 1, NO_RECV 4, NO_FWD 0x20, NO_PACKET_IN 0x40) and the feature bitmaps
 * (10MB_HD 1 ... 10GB_FD 0x40, 40GB 0x80, 100GB 0x100, 1TB 0x200, OTHER 0x400, COPPER 0x800,
 * FIBER 0x1000, AUTONEG 0x2000, PAUSE 0x4000, PAUSE_ASYM 0x8000); connmgr converts them for
 * OpenFlow 1.0 peers.
 */

import type { FlowTables } from '../flow-table.ts';
import type { GroupTable } from '../group-table.ts';
import type { MeterTable } from '../meter-table.ts';
import type { OfpError } from '../openflow/errors.ts';
import type { IpfixStats } from '../openflow/ipfix-stats.ts';
import type { PacketOut, PortDesc, SwitchDesc } from '../openflow/messages.ts';
import type { PortStats, QueueStats } from '../openflow/stats.ts';
import type { Ofconn } from './ofconn.ts';

export const OFPP_ANY = 0xffff;

export interface PortMod {
  portNo: number;
  hwAddr: [number, number];
  config: number;
  mask: number;
  advertise: number;
}

export interface OfSwitch {
  /** The bridge name (names the management socket `<rundir>/<name>.mgmt`). */
  readonly name: string;
  datapathId(): bigint;
  readonly flowTables: FlowTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  /** An NXT_RESUME from `conn` (codec.ts does not decode it): continue a paused packet. */
  resume?(conn: Ofconn, raw: Uint8Array): void;
  /** The fragment handling mode (OFPC_FRAG_*) changed: forwarding must follow it. */
  fragHandlingChanged?(): void;
  /** Every OpenFlow port, LOCAL included. */
  portDescs(): PortDesc[];
  /** Counters of one port, or of all ports for OFPP_ANY; [] for an unknown port. */
  portStats(portNo: number): PortStats[];
  /** Queue counters (OFPP_ANY / queue 0xffffffff for all); bridges without QoS return []. */
  queueStats?(portNo: number, queueId: number): QueueStats[] | OfpError;
  /** Replies to a queue configuration request (raw: codec.ts does not model it). */
  queueConfigReplies?(raw: Uint8Array): Uint8Array[] | OfpError;
  /** IPFIX exporter statistics (NXST_IPFIX_BRIDGE / _FLOW); null when none is configured. */
  ipfixStats?(flow: boolean): IpfixStats[] | null;
  /** Runs a packet-out through the pipeline. */
  packetOut(po: PacketOut): OfpError | null;
  /** Checks and translates a packet-out now, to send later (a bundle's packet-outs). */
  packetOutPrepare?(po: PacketOut): (() => void) | OfpError;
  portMod(pm: PortMod): OfpError | null;
  /** mfr "Nicira, Inc.", hw "Open vSwitch", sw the version, serial and dp_desc "None" by default. */
  switchDesc(): SwitchDesc;
}
