/**
 * The OpenFlow switch (OVS's ofproto), as far as ports go: one per bridge, on the shared
 * datapath of its type. It numbers its ports in OpenFlow's space:
 *
 * - the port named like the bridge is the local port, OFPP_LOCAL (65534);
 * - a port added with a request (Interface.ofport_request) gets that number if it is free;
 * - any other port gets the next number after the last one handed out (not the lowest free
 *   one: OVS avoids reusing a number soon, so stale flows do not hit a new port), skipping
 *   numbers in use and, for an hour, numbers recently released unless nothing else is left;
 *   automatic numbers stay below 32768, the upper half being left to controllers.
 *
 * Patch ports have no datapath port (OVS prints their datapath number as "none").
 *
 * Forwarding: the OpenFlow tables (flow-table.ts), groups and meters, and the datapath side
 * (dpif/ofproto-dpif.ts for translation, dpif/udpif.ts for upcalls and revalidation shared by
 * every bridge on the same datapath). Every port change is handed to both.
 */
import type { DpifBackers } from '../dpif/backers.ts';
import type { OdpPort } from '../dpif/dpif.ts';
import type { DpifNetdev } from '../dpif/dpif-netdev.ts';
import type { EthAddr, Netdev } from '../netdev/netdev.ts';
import { netdevError } from '../netdev/netdev.ts';
import type { FlowKey } from '../lib/flow/layout.ts';
import { vlog } from '../lib/vlog.ts';
import { type BundleSettings, OfprotoDpif } from './dpif/ofproto-dpif.ts';
import { type Udpif, udpifOf } from './dpif/udpif.ts';
import type { ControllerCall } from './dpif/xlate/xlate.ts';
import type { XGroup, XGroups } from './dpif/xlate/xlate.ts';
import { FlowTables, type Rule } from './flow-table.ts';
import { GroupTable } from './group-table.ts';
import { MeterTable } from './meter-table.ts';
import { parseFlowMod } from './openflow/flow-mod-parse.ts';
import type { FlowMod } from './openflow/messages.ts';
import { OFPP_LOCAL, OFPP_MAX, OFPP_NONE, type OfpPort, ofpPort } from './ofp-port.ts';
import type { PatchNetdev } from '../netdev/patch.ts';

const log = vlog('ofproto');

/** Receives what the switch sends to controllers (connmgr plugs in here). */
export interface PacketInSink {
  packetIn(call: ControllerCall, packet: Uint8Array, flow: FlowKey): void;
}

export interface Ofport {
  readonly ofpPort: OfpPort;
  readonly netdev: Netdev;
  /** null for ports without a datapath port (patch ports). */
  readonly odpPort: OdpPort | null;
}

export type FailMode = 'standalone' | 'secure';

/** Settings the bridge hands down; stored now, used by the forwarding slice. */
export interface OfprotoSettings {
  failMode: FailMode;
  /** Seconds a learned MAC stays (Bridge other_config:mac-aging-time, default 300). */
  macAgingTime: number;
  /** Most MACs learned (other_config:mac-table-size, default 8192). */
  macTableSize: number;
}

export const DEFAULT_SETTINGS: Readonly<OfprotoSettings> = {
  failMode: 'standalone',
  macAgingTime: 300,
  macTableSize: 8192,
};

const AUTO_PORT_LIMIT = 32768;
const REUSE_AFTER_MS = 60 * 60 * 1000;

export interface OfprotoOptions {
  /** Milliseconds clock, injectable for tests of port number reuse. */
  now?: () => number;
}

export class Ofproto {
  readonly dpif: DpifNetdev;
  datapathId = 0n;
  /** The bridge's Ethernet address (the local port's). */
  ea: EthAddr | null = null;
  settings: OfprotoSettings = { ...DEFAULT_SETTINGS };
  private readonly byNumber = new Map<OfpPort, Ofport>();
  private readonly byName = new Map<string, Ofport>();
  /** Port number -> when it was released (Infinity while in use). */
  private readonly usage = new Map<number, number>();
  private allocNext = 0;
  private readonly now: () => number;
  private destroyed = false;
  readonly tables: FlowTables;
  readonly groups: GroupTable;
  readonly meters: MeterTable;
  /** Forwarding state translation reads. */
  readonly fwd: OfprotoDpif;
  /** The datapath's upcall layer (shared with the other bridges on it). */
  readonly udpif: Udpif;
  /** Where packet-ins go; set by the connection manager. */
  packetInSink: PacketInSink | null = null;
  private hasDefaultFlow = false;
  private portsDirty = true;

  /** Throws UnknownDatapathTypeError when `type` is not offered. */
  constructor(
    readonly name: string,
    readonly type: string,
    private readonly backers: DpifBackers,
    opts: OfprotoOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.dpif = backers.acquire(type);
    this.tables = new FlowTables({ now: this.now });
    this.groups = new GroupTable(this.tables, { now: this.now });
    this.meters = new MeterTable(this.tables);
    this.udpif = udpifOf(this.dpif);
    const udpif = this.udpif;
    const groups = this.groups;
    const xgroups: XGroups = { get: (id: number): XGroup | undefined => groups.get(id) };
    this.fwd = new OfprotoDpif({
      name,
      tables: this.tables,
      groups: xgroups,
      now: this.now,
      findPatchPeer: (peer) => udpif.findPort(peer),
      onChange: () => udpif.changed(),
    });
    this.tables.onChange = () => udpif.changed();
    this.groups.onChange = () => udpif.changed();
    this.udpif.addBridge({
      dpif: this.fwd,
      learnFlow: (fm) => {
        const err = this.tables.flowMod(fm);
        if (err) log.warn(`${name}: learned flow refused: ${err.message}`);
      },
      creditRule: (rule, packets, bytes, used) =>
        this.tables.credit(rule as Rule, packets, bytes, used),
      packetIn: (call, packet, flow) => this.packetInSink?.packetIn(call, packet, flow),
      refresh: () => this.refreshPorts(),
    });
  }

  /**
   * Notes that ports changed (adds, deletes, link changes); forwarding picks them up before
   * it next translates (refreshPorts), so adding many ports stays linear.
   */
  syncPorts(): void {
    this.portsDirty = true;
    this.udpif.portsMoved();
  }

  /** Hands the current ports to forwarding if they changed since the last time. */
  refreshPorts(): boolean {
    if (!this.portsDirty) return false;
    this.portsDirty = false;
    const infos = [...this.byNumber.values()].map((p) => ({
      name: p.netdev.name,
      ofpPort: p.ofpPort as number,
      odpPort: p.odpPort as number | null,
      peerName: p.netdev.type === 'patch' ? (p.netdev as PatchNetdev).peer : null,
      live: p.netdev.isUp() && p.netdev.getCarrier(),
    }));
    this.fwd.setPorts(infos);
    return true;
  }

  /** The bridge's bundles (OVSDB Ports) with their VLAN settings, for NORMAL. */
  setBundles(bundles: readonly BundleSettings[], forwardBpdu: boolean): void {
    this.refreshPorts();
    this.fwd.setBundles(bundles, forwardBpdu);
  }

  /**
   * Without controllers, a standalone bridge keeps the flow `priority=0 actions=NORMAL` in
   * table 0 (OVS's connmgr_flushed); a secure one does not.
   */
  setDefaultFlow(on: boolean): void {
    if (on === this.hasDefaultFlow) return;
    this.hasDefaultFlow = on;
    const text = on ? 'priority=0,actions=NORMAL' : 'priority=0';
    const r = parseFlowMod(text, on ? 'add' : 'delete_strict');
    if (!r.ok) return;
    const fm: FlowMod = { ...r.value, tableId: 0 };
    this.tables.flowMod(fm);
  }

  /**
   * Adds `netdev` as a port, numbered `requested` if that is given and free. Returns the
   * OpenFlow port number. Throws NetdevError when the datapath refuses the port.
   */
  portAdd(netdev: Netdev, requested: OfpPort | null = null): OfpPort {
    if (this.byName.has(netdev.name)) throw netdevError('EEXIST');
    const odp = netdev.type === 'patch' ? null : this.dpif.portAdd(netdev);
    const ofp = netdev.name === this.name ? OFPP_LOCAL : this.allocOfpPort(requested);
    if (ofp === OFPP_NONE) {
      if (odp !== null) this.dpif.portDel(odp);
      throw netdevError('EEXIST');
    }
    const port: Ofport = { ofpPort: ofp, netdev, odpPort: odp };
    this.byNumber.set(ofp, port);
    this.byName.set(netdev.name, port);
    this.syncPorts();
    return ofp;
  }

  portDel(ofp: OfpPort): void {
    const port = this.byNumber.get(ofp);
    if (!port) return;
    this.byNumber.delete(ofp);
    this.byName.delete(port.netdev.name);
    if (port.odpPort !== null) this.dpif.portDel(port.odpPort);
    if (ofp < OFPP_MAX) this.usage.set(ofp, this.now());
    port.netdev.close();
    if (!this.destroyed) this.syncPorts();
    this.fwd.macs.flushPort(ofp);
  }

  port(ofp: OfpPort): Ofport | undefined {
    return this.byNumber.get(ofp);
  }
  portByName(name: string): Ofport | undefined {
    return this.byName.get(name);
  }
  ports(): IterableIterator<Ofport> {
    return this.byNumber.values();
  }

  /** Removes every port and lets go of the datapath. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ofp of [...this.byNumber.keys()]) this.portDel(ofp);
    this.udpif.removeBridge(this.name);
    this.backers.release(this.dpif);
  }

  private allocOfpPort(requested: OfpPort | null): OfpPort {
    if (requested !== null && requested < OFPP_MAX && this.usage.get(requested) !== Infinity) {
      this.usage.set(requested, Infinity);
      return requested;
    }
    const limit = Math.min(OFPP_MAX, AUTO_PORT_LIMIT);
    const end = this.allocNext;
    let lru = 0;
    let lruAt = Infinity;
    for (;;) {
      if (++this.allocNext >= limit) this.allocNext = 1;
      const n = this.allocNext;
      const at = this.usage.get(n);
      if (at === undefined || at < this.now() - REUSE_AFTER_MS) {
        this.usage.set(n, Infinity);
        return ofpPort(n);
      }
      if (at < lruAt) {
        lruAt = at;
        lru = n;
      }
      if (n === end || (end === 0 && n === limit - 1)) {
        if (lru === 0) return OFPP_NONE;
        this.usage.set(lru, Infinity);
        return ofpPort(lru);
      }
    }
  }
}
