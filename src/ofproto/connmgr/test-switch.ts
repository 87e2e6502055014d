/*
 * Test support: an OfSwitch with real flow, group and meter tables and a fixed set of ports,
 * described as real ovs-vswitchd describes dummy ports (so outputs compare with real OVS).
 * Packet-outs and port-mods are recorded.
 */

import { FlowTables } from '../flow-table.ts';
import { GroupTable } from '../group-table.ts';
import { MeterTable } from '../meter-table.ts';
import type { OfpError } from '../openflow/errors.ts';
import type { PacketOut, PortDesc, SwitchDesc } from '../openflow/messages.ts';
import type { PortStats, QueueStats } from '../openflow/stats.ts';
import { OFPP_ANY, type OfSwitch, type PortMod } from './of-switch.ts';

const OFPPS_LIVE = 4;
const U64 = 0xffffffffffffffffn;

export interface TestPort {
  portNo: number;
  name: string;
  /** 48-bit address as [high 16, low 32]. */
  hwAddr: [number, number];
}

export class TestSwitch implements OfSwitch {
  readonly flowTables: FlowTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  readonly packetOuts: PacketOut[] = [];
  readonly portMods: PortMod[] = [];
  dpid = 1n;

  constructor(
    readonly name: string,
    readonly ports: TestPort[],
    now: () => number = Date.now,
  ) {
    this.flowTables = new FlowTables({ now });
    this.groups = new GroupTable(this.flowTables);
    this.meters = new MeterTable(this.flowTables);
  }

  datapathId(): bigint {
    return this.dpid;
  }

  portDescs(): PortDesc[] {
    return this.ports.map((p) => ({
      portNo: p.portNo,
      hwAddr: p.hwAddr,
      name: p.name,
      config: 0,
      state: OFPPS_LIVE,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 0,
      maxSpeed: 0,
    }));
  }

  portStats(portNo: number): PortStats[] {
    return this.ports
      .filter((p) => portNo === OFPP_ANY || p.portNo === portNo)
      .map((p) => ({
        portNo: p.portNo,
        rxPackets: 0n,
        txPackets: 0n,
        rxBytes: 0n,
        txBytes: 0n,
        // Dummy ports count packets and bytes only; OVS reports the rest as unknown.
        rxDropped: U64,
        txDropped: U64,
        rxErrors: U64,
        txErrors: U64,
        rxFrameErr: U64,
        rxOverErr: U64,
        rxCrcErr: U64,
        collisions: U64,
        durationSec: 0,
        durationNsec: 0,
      }));
  }

  /** Like a dummy port in OVS: queue 0 on every port, with no counters. */
  queueStats(portNo: number, queueId: number): QueueStats[] {
    if (queueId !== 0 && queueId !== 0xffffffff) return [];
    return this.ports
      .filter((p) => portNo === OFPP_ANY || p.portNo === portNo)
      .map((p) => ({
        portNo: p.portNo,
        queueId: 0,
        txBytes: U64,
        txPackets: U64,
        txErrors: U64,
        durationSec: 0xffffffff,
        durationNsec: 0xffffffff,
      }));
  }

  packetOut(po: PacketOut): OfpError | null {
    this.packetOuts.push(po);
    return null;
  }

  portMod(pm: PortMod): OfpError | null {
    this.portMods.push(pm);
    return null;
  }

  switchDesc(): SwitchDesc {
    return {
      mfrDesc: 'Nicira, Inc.',
      hwDesc: 'Open vSwitch',
      swDesc: '3.1.0',
      serialNum: 'None',
      dpDesc: 'None',
    };
  }
}
