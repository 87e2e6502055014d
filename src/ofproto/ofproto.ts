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
import { extractFlow } from '../lib/flow/extract.ts';
import type { FlowKey } from '../lib/flow/layout.ts';
import { slabFlowKey } from '../lib/flow/match.ts';
import { type ClockTimer, every, timeMsec } from '../lib/timeval.ts';
import { packageVersion } from '../lib/unixctl/version.ts';
import { vlog } from '../lib/vlog.ts';
import type { EthAddr, Netdev } from '../netdev/netdev.ts';
import { ethAddrBytes, netdevError } from '../netdev/netdev.ts';
import type { PatchNetdev } from '../netdev/patch.ts';
import { Connmgr, type ControllerConfig } from './connmgr/connmgr.ts';
import { OFPP_ANY, type OfSwitch, type PortMod } from './connmgr/of-switch.ts';
import type { Ofconn } from './connmgr/ofconn.ts';
import {
  IpfixAgent,
  type IpfixBridgeExporterOptions,
  type IpfixFlowExporterOptions,
  type IpfixPort,
  ipfixActionsOutput,
} from './dpif/ipfix-agent.ts';
import { NetflowAgent, type NetflowSettings, netflowEngineIds } from './dpif/netflow-agent.ts';
import { type BundleSettings, OfprotoDpif } from './dpif/ofproto-dpif.ts';
import { nxtResume, sendPausedPacketIn } from './dpif/ofproto-dpif-resume.ts';
import { SflowAgent, type SflowPort, type SflowSettings } from './dpif/sflow-agent.ts';
import { type Udpif, udpifOf } from './dpif/udpif.ts';
import type { ControllerCall, XGroup, XGroups } from './dpif/xlate/xlate.ts';
import { FlowTables, type Rule } from './flow-table.ts';
import { GroupTable } from './group-table.ts';
import { MeterTable } from './meter-table.ts';
import { OFPP_LOCAL, OFPP_MAX, OFPP_NONE, type OfpPort, ofpPort } from './ofp-port.ts';
import { OfpError } from './openflow/errors.ts';
import { parseFlowMod } from './openflow/flow-mod-parse.ts';
import type { IpfixStats } from './openflow/ipfix-stats.ts';
import type { PacketOut, PortDesc, SwitchDesc } from './openflow/messages.ts';
import type { Ofpact } from './openflow/ofpact.ts';
import type { PortStats, QueueStats } from './openflow/stats.ts';
import { queueConfigReplies } from './queue-desc.ts';

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
  /** When the port was added (this.now()), for its statistics' duration. */
  readonly created?: number;
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
  /**
   * Where the OpenFlow management socket `<name>.mgmt` goes (OVS_RUNDIR). Without it the
   * bridge has no connection manager (in-process tests).
   */
  rundir?: string;
}

const U64 = 0xffffffffffffffffn;
/* OpenFlow 1.1+ port state and config bits. */
const OFPPS_LINK_DOWN = 1;
const OFPPS_LIVE = 4;
const OFPPC_PORT_DOWN = 1;

export class Ofproto implements OfSwitch {
  readonly dpif: DpifNetdev;
  /** The OpenFlow datapath ID (Bridge datapath_id). */
  datapathId_ = 0n;
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
  /** OpenFlow connections (null without a run directory). */
  readonly connmgr: Connmgr | null = null;
  private timer: ClockTimer | null = null;
  private wantsMiss = false;
  /** Bridge other_config:dp-desc. */
  dpDesc = 'None';
  /** The bridge's sFlow agent (the sFlow row), if any. */
  sflow: SflowAgent | null = null;
  private sflowSubId = -1;
  /** The bridge's NetFlow exporter (the NetFlow row), if any. */
  netflow: NetflowAgent | null = null;
  /** The bridge's IPFIX exporters (IPFIX row, Flow_Sample_Collector_Set rows), if any. */
  ipfix: IpfixAgent | null = null;
  private portsDirty = true;

  /** Throws UnknownDatapathTypeError when `type` is not offered. */
  constructor(
    readonly name: string,
    readonly type: string,
    private readonly backers: DpifBackers,
    opts: OfprotoOptions = {},
  ) {
    this.now = opts.now ?? timeMsec;
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
      wantsPacketInOnMiss: () => this.wantsPacketInOnMiss(),
      fragHandling: () => this.connmgr?.fragHandling ?? 0,
    });
    this.tables.onChange = () => udpif.changed();
    this.groups.onChange = () => udpif.changed();
    this.meters.onChange = () => udpif.changed();
    this.udpif.addBridge({
      dpif: this.fwd,
      learnFlow: (fm) => {
        // Through the flow monitors, which report learned flows as OVS does.
        const apply = () => this.tables.flowMod(fm);
        const err = this.connmgr ? this.connmgr.monitors.flowMod(null, 0, fm, apply) : apply();
        if (err) log.warn(`${name}: learned flow refused: ${err.message}`);
      },
      creditRule: (rule, packets, bytes, used) =>
        this.tables.credit(rule as Rule, packets, bytes, used),
      creditGroup: (groupId, bucket, packets, bytes) =>
        this.groups.credit(groupId, bucket, packets, bytes),
      reduceTimeouts: (rule, idle, hard) => this.tables.reduceTimeouts(rule as Rule, idle, hard),
      patchStats: (ofp, tx, packets, bytes) => {
        const nd = this.byNumber.get(ofp as OfpPort)?.netdev;
        if (nd?.type !== 'patch') return;
        const st = (nd as PatchNetdev).stats;
        if (tx) {
          st.txPackets += packets;
          st.txBytes += bytes;
        } else {
          st.rxPackets += packets;
          st.rxBytes += bytes;
        }
      },
      packetIn: (call, packet, flow) => {
        // A pause's packet-in carries its continuation, which connmgr does not encode.
        if (call.continuation && this.connmgr)
          sendPausedPacketIn(this.connmgr.connections(), call, packet, flow);
        else this.packetInSink?.packetIn(call, packet, flow);
      },
      refresh: () => this.refreshPorts(),
      sflowSample: (packet, inOdp, output, vid, pcp) =>
        this.sflow?.sample(packet, inOdp, output, vid, pcp),
      netflowStats: (key, packets, bytes, flags, used, inPort, outPort, final) =>
        this.netflow?.flowStats(key, packets, bytes, flags, used, inPort, outPort, final),
      ipfixSample: (packet, inOdp, c, actions) => {
        const out = ipfixActionsOutput(actions);
        if (c.kind === 'ipfix') this.ipfix?.bridgeSample(packet, inOdp, c.outputPort, out);
        else this.ipfix?.flowSample(packet, inOdp, c, out);
      },
    });
    if (opts.rundir !== undefined) {
      const cm = new Connmgr(this, { rundir: opts.rundir, now: this.now });
      this.connmgr = cm;
      this.packetInSink = cm;
      cm.flushed();
    }
    // Flow timeouts, and noticing whether a controller now wants table-miss packet-ins.
    this.timer = every(1000, () => this.run());
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
    this.sflow?.setPorts(this.sflowPorts());
    this.ipfix?.setPorts(this.ipfixPorts());
    return true;
  }

  /** The bridge's bundles (OVSDB Ports) with their VLAN settings, for NORMAL. */
  setBundles(bundles: readonly BundleSettings[], forwardBpdu: boolean): void {
    this.refreshPorts();
    this.fwd.setBundles(bundles, forwardBpdu);
  }

  /** Fail mode (Bridge fail_mode): the connection manager keeps the standalone flow. */
  setFailMode(mode: FailMode): void {
    this.settings.failMode = mode;
    this.connmgr?.setFailMode(mode);
  }

  /**
   * The sFlow row (null: none). `subId` numbers the bridges with sFlow, as OVS's sub-agent
   * ids do.
   */
  setSflow(settings: SflowSettings | null, subId: number): void {
    if (settings === null || settings.sampling <= 0) {
      this.sflow?.close();
      this.sflow = null;
    } else if (this.sflow === null || this.sflowSubId !== subId) {
      this.sflowSubId = subId;
      this.sflow?.close();
      const dp = this.dpif.dp;
      this.sflow = new SflowAgent(this.name, this.datapathId_, settings, {
        subId,
        // With no agent address given it is found later (a route lookup): sample from then.
        onEnabled: () => this.syncSflowRate(),
        dpStats: () => ({
          nHit: dp.stats.hit,
          nMissed: dp.stats.missed,
          nLost: dp.stats.lost,
          nMaskHit: dp.stats.masksHit,
          nFlows: dp.flowCount,
          nMasks: dp.maskCount,
        }),
      });
    } else {
      this.sflow.configure(settings);
    }
    this.sflow?.setPorts(this.sflowPorts());
    this.syncSflowRate();
  }

  private syncSflowRate(): void {
    const rate = this.sflow?.samplingRate ?? 0;
    if (rate !== this.fwd.sflowSampling) {
      this.fwd.sflowSampling = rate;
      this.udpif.changed();
    }
  }

  /** The NetFlow row (null: none). */
  setNetflow(settings: NetflowSettings | null): void {
    if (settings === null) {
      this.netflow?.close();
      this.netflow = null;
    } else if (this.netflow === null) {
      // The userspace datapath's defaults: a 16-bit hash of its name (OVS's dpif-netdev
      // takes hash_string("ovs-netdev")), high byte the engine type, low byte the id.
      const ids = netflowEngineIds(this.dpif.fullName.split('@')[1] ?? '');
      this.netflow = new NetflowAgent(settings, {
        defaultEngineType: ids.engineType,
        defaultEngineId: ids.engineId,
      });
    } else {
      this.netflow.configure(settings);
    }
    const on = this.netflow !== null;
    if (on !== this.fwd.netflow) {
      this.fwd.netflow = on;
      this.udpif.changed();
    }
  }

  /**
   * The IPFIX rows (OVS's ofproto_set_ipfix): the bridge exporter and the collector sets;
   * with neither the sample action does nothing. Changes apply live; what a removed
   * exporter still had cached is exported first.
   */
  setIpfix(
    bridge: IpfixBridgeExporterOptions | null,
    flows: readonly IpfixFlowExporterOptions[],
  ): void {
    const valid = flows.filter((f) => f.ipfix !== null && f.ipfix.targets.length > 0);
    const wanted = (bridge !== null && bridge.targets.length > 0) || valid.length > 0;
    let changed = false;
    if (wanted && this.ipfix === null) {
      this.ipfix = new IpfixAgent();
      this.ipfix.setPorts(this.ipfixPorts());
      changed = true;
    }
    if (this.ipfix !== null) {
      if (this.ipfix.setOptions(bridge, valid)) changed = true;
      if (!wanted) {
        this.ipfix.close();
        this.ipfix = null;
        changed = true;
      }
    }
    if (this.fwd.ipfix !== this.ipfix) this.fwd.ipfix = this.ipfix;
    if (changed) this.udpif.changed();
  }

  private ipfixPorts(): IpfixPort[] {
    return [...this.byNumber.values()]
      .filter((p) => p.odpPort !== null)
      .map((p) => {
        const st = p.netdev.getStatus();
        return {
          odpPort: p.odpPort as number,
          name: p.netdev.name,
          ifIndex: Math.max(0, p.netdev.getIfindex()),
          ifType: Number(st.get('if_type') ?? 0) || 0,
          ifDescr: st.get('if_descr') ?? '',
        };
      });
  }

  private sflowPorts(): SflowPort[] {
    return [...this.byNumber.values()]
      .filter((p) => p.odpPort !== null)
      .map((p) => ({
        ifIndex: p.netdev.getIfindex(),
        odpPort: p.odpPort as number,
        ofpPort: p.ofpPort,
        name: p.netdev.name,
        speedBps: p.netdev.getSpeedBps(),
        up: p.netdev.isUp(),
        carrier: p.netdev.getCarrier(),
        stats: () => p.netdev.getStats(),
      }));
  }

  /** The Bridge's Controller rows. */
  setControllers(list: readonly ControllerConfig[]): void {
    this.connmgr?.setControllers(list);
  }

  /* In-band control (OVS's in-band.c): the remotes reached in-band and the rules in force. */
  private inBandRemotes: readonly (readonly [string, number])[] = [];
  private inBandKey = '';
  private inBandRules: Rule[] = [];

  /**
   * The controller targets reached through the bridge itself. Hidden table-0 rules (above
   * OpenFlow's priorities, so dump-flows and table stats never show them) let DHCP and ARP
   * of the local port and TCP to and from each IPv4 remote through to NORMAL.
   */
  setInBandRemotes(targets: readonly string[]): void {
    const remotes: [string, number][] = [];
    for (const t of targets) {
      const m = /^(?:tcp|ssl):(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(t);
      if (m) remotes.push([m[1], m[2] ? Number(m[2]) : 6653]);
    }
    this.inBandRemotes = remotes;
    this.updateInBand();
  }

  private updateInBand(): void {
    const mac = this.byNumber.get(OFPP_LOCAL)?.netdev.getEtheraddr() ?? null;
    const local = mac !== null && mac !== '00:00:00:00:00:00' ? mac : null;
    const key = this.inBandRemotes.length ? `${local}|${this.inBandRemotes.join(';')}` : '';
    if (key === this.inBandKey) return;
    this.inBandKey = key;
    if (this.inBandRules.length) this.tables.removeRules(this.inBandRules, 'delete');
    this.inBandRules = [];
    if (!key) return;
    // OVS's in-band rule priorities, IBR_FROM_LOCAL_DHCP (180000) upward.
    const rules: [number, string][] = [];
    if (local) {
      rules.push([180000, `udp,in_port=LOCAL,dl_src=${local},tp_src=68,tp_dst=67`]);
      rules.push([180001, `arp,dl_dst=${local},arp_op=2`]);
      rules.push([180002, `arp,dl_src=${local},arp_op=1`]);
    }
    for (const [ip, port] of this.inBandRemotes) {
      rules.push([180005, `arp,arp_tpa=${ip},arp_op=2`]);
      rules.push([180006, `arp,arp_spa=${ip},arp_op=1`]);
      rules.push([180007, `tcp,nw_dst=${ip},tp_dst=${port}`]);
      rules.push([180008, `tcp,nw_src=${ip},tp_src=${port}`]);
    }
    for (const [priority, text] of rules) {
      const p = parseFlowMod(`${text},actions=NORMAL`, 'add');
      if (!p.ok) continue;
      const fm = { ...p.value, priority, tableId: 0 };
      if (this.tables.flowMod(fm) !== null) continue;
      const r = this.tables.findExactly(0, fm.match, priority);
      if (r) this.inBandRules.push(r);
    }
  }

  /* Each port's netdev changeSeq when last looked at. */
  private readonly seqs = new Map<OfpPort, number>();

  /**
   * Follows device changes (link up/down, admin state, address): forwarding re-reads port
   * liveness and controllers get a port-status. Returns whether anything changed.
   */
  checkPorts(): boolean {
    let changed = false;
    for (const p of this.byNumber.values()) {
      const seq = p.netdev.changeSeq;
      const was = this.seqs.get(p.ofpPort);
      this.seqs.set(p.ofpPort, seq);
      if (was === undefined || was === seq) continue;
      changed = true;
      this.connmgr?.sendPortStatus('modify', this.portDesc(p));
    }
    for (const k of [...this.seqs.keys()]) if (!this.byNumber.has(k)) this.seqs.delete(k);
    if (changed) this.syncPorts();
    // The local port's address is in the in-band rules (and the port may be new).
    if (this.inBandRemotes.length) this.updateInBand();
    return changed;
  }

  /** Called when a device's state changed (the switch writes Interface status then). */
  onDeviceChange: (() => void) | null = null;

  private run(): void {
    if (this.checkPorts()) this.onDeviceChange?.();
    this.udpif.pushAllStats();
    this.tables.expire();
    this.netflow?.run();
    const wants = this.wantsPacketInOnMiss();
    if (wants !== this.wantsMiss) {
      this.wantsMiss = wants;
      this.udpif.changed();
    }
  }

  /* OVS's want_packet_in_on_miss: a connection with controller id 0 that speaks OpenFlow
   * older than 1.3 (or has not negotiated a version yet). */
  private wantsPacketInOnMiss(): boolean {
    const cm = this.connmgr;
    return cm?.connections().some((c) => c.controllerId === 0 && c.version < 4) ?? false;
  }

  /* ---------------------------------------------------------------------------------- */
  /* What the connection manager asks of the bridge (OfSwitch). */

  fragHandlingChanged(): void {
    this.udpif.changed();
  }

  get flowTables(): FlowTables {
    return this.tables;
  }

  datapathId(): bigint {
    return this.datapathId_;
  }

  portDescs(): PortDesc[] {
    return [...this.byNumber.values()]
      .sort((a, b) => a.ofpPort - b.ofpPort)
      .map((p) => this.portDesc(p));
  }

  portDesc(p: Ofport): PortDesc {
    const mac = ethAddrBytes(p.netdev.getEtheraddr());
    const up = p.netdev.isUp();
    const carrier = p.netdev.getCarrier();
    return {
      portNo: p.ofpPort,
      hwAddr: [
        (mac[0] << 8) | mac[1],
        ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0,
      ],
      name: p.netdev.name,
      config: (this.fwd.getPortConfig(p.ofpPort) & ~OFPPC_PORT_DOWN) | (up ? 0 : OFPPC_PORT_DOWN),
      state: carrier ? OFPPS_LIVE : OFPPS_LINK_DOWN,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 0,
      maxSpeed: 0,
    };
  }

  portStats(portNo: number): PortStats[] {
    return [...this.byNumber.values()]
      .filter((p) => portNo === OFPP_ANY || p.ofpPort === portNo)
      .sort((a, b) => a.ofpPort - b.ofpPort)
      .map((p) => {
        const st = p.netdev.getStats();
        const age = Math.max(0, this.now() - (p.created ?? this.now()));
        return {
          portNo: p.ofpPort,
          rxPackets: BigInt(st.rxPackets),
          txPackets: BigInt(st.txPackets),
          rxBytes: BigInt(st.rxBytes),
          txBytes: BigInt(st.txBytes),
          rxDropped: U64,
          txDropped: U64,
          rxErrors: U64,
          txErrors: U64,
          rxFrameErr: U64,
          rxOverErr: U64,
          rxCrcErr: U64,
          collisions: U64,
          durationSec: Math.floor(age / 1000),
          durationNsec: (age % 1000) * 1_000_000,
          custom: p.netdev.type.startsWith('dummy') ? dummyCustomStats(st) : undefined,
        };
      });
  }

  /**
   * Queue 0 on every port, without counters (no QoS on these ports yet). As OVS: a queue no
   * port has is OFPQOFC_BAD_QUEUE, a port the switch lacks OFPQOFC_BAD_PORT.
   */
  queueStats(portNo: number, queueId: number): QueueStats[] | OfpError {
    // OF1.0 says "every port" with OFPP_ALL.
    if (portNo === OFPP_ALL) portNo = OFPP_ANY;
    if (portNo !== OFPP_ANY && !this.byNumber.has(portNo as OfpPort)) {
      return new OfpError('OFPQOFC_BAD_PORT');
    }
    if (queueId !== 0 && queueId !== 0xffffffff) return new OfpError('OFPQOFC_BAD_QUEUE');
    return [...this.byNumber.values()]
      .filter((p) => portNo === OFPP_ANY || p.ofpPort === portNo)
      .sort((a, b) => a.ofpPort - b.ofpPort)
      .map((p) => ({
        portNo: p.ofpPort,
        queueId: 0,
        txBytes: U64,
        txPackets: U64,
        txErrors: U64,
        durationSec: 0xffffffff,
        durationNsec: 0xffffffff,
      }));
  }

  queueConfigReplies(raw: Uint8Array): Uint8Array[] | OfpError {
    return queueConfigReplies(raw, [...this.byNumber.keys()], () => [0]);
  }

  /** NXT_RESUME from `conn` (OVS's handle_nxt_resume); errors go back to the sender. */
  resume(conn: Ofconn, raw: Uint8Array): void {
    const err = nxtResume(this.udpif, raw);
    if (err) conn.sendError(err, raw, new DataView(raw.buffer, raw.byteOffset).getUint32(4));
  }

  packetOut(po: PacketOut): OfpError | null {
    const send = this.packetOutPrepare(po);
    if (send instanceof OfpError) return send;
    send();
    return null;
  }

  /** Checks and translates a packet-out now; the function returned sends it. */
  packetOutPrepare(po: PacketOut): (() => void) | OfpError {
    const view = this.udpif.bridgeByName(this.name);
    if (!view) return new OfpError('OFPBRC_EPERM');
    // OVS refuses only numbers past its port space: a packet may claim to come from a port
    // the bridge does not have (yet).
    const err = this.checkActionRefs(po.ofpacts);
    if (err) return err;
    const flow = slabFlowKey();
    extractFlow(po.data, 0, po.data.length, po.inPort, flow);
    // OpenFlow 1.5 packet-outs may preset pipeline fields (tunnel, metadata, registers).
    const md = po.flowMetadata;
    if (md) {
      for (let i = 1; i < md.mask.length; i++) {
        if (md.mask[i]) flow[i] = (flow[i] & ~md.mask[i]) | (md.key[i] & md.mask[i]);
      }
    }
    return this.udpif.packetOutPrepare(view, po.data, flow, po.ofpacts);
  }

  /* As for flows (OVS's ofproto_check_ofpacts): the groups and meters a packet-out names
   * must exist when it is translated. */
  private checkActionRefs(acts: readonly Ofpact[]): OfpError | null {
    for (const a of acts) {
      if (a.type === 'group' && !this.groups.has(a.groupId)) {
        return new OfpError('OFPBAC_BAD_OUT_GROUP', `group ${a.groupId}`);
      }
      if (a.type === 'meter' && !this.meters.get(a.meterId)) {
        return new OfpError('OFPMMFC_INVALID_METER', `meter ${a.meterId}`);
      }
      if (a.type === 'write_actions' || a.type === 'clone' || a.type === 'ct') {
        const e = this.checkActionRefs(a.actions);
        if (e) return e;
      }
    }
    return null;
  }

  portMod(pm: PortMod): OfpError | null {
    const p = this.byNumber.get(pm.portNo as OfpPort);
    if (!p) return new OfpError('OFPPMFC_BAD_PORT');
    const mac = ethAddrBytes(p.netdev.getEtheraddr());
    const hw: [number, number] = [
      (mac[0] << 8) | mac[1],
      ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0,
    ];
    if (pm.hwAddr[0] !== hw[0] || pm.hwAddr[1] >>> 0 !== hw[1])
      return new OfpError('OFPPMFC_BAD_HW_ADDR');
    const old = this.fwd.getPortConfig(p.ofpPort) | (p.netdev.isUp() ? 0 : OFPPC_PORT_DOWN);
    const next = ((old & ~pm.mask) | (pm.config & pm.mask)) >>> 0;
    if (next !== old) {
      if ((next ^ old) & OFPPC_PORT_DOWN) p.netdev.setUp(!(next & OFPPC_PORT_DOWN));
      this.fwd.setPortConfig(p.ofpPort, next & ~OFPPC_PORT_DOWN);
      this.syncPorts();
      this.connmgr?.sendPortStatus('modify', this.portDesc(p));
    }
    return null;
  }

  ipfixStats(flow: boolean): IpfixStats[] | null {
    const agent = this.ipfix;
    if (!agent) return null;
    const all = flow ? agent.flowStats() : [agent.bridgeStats()];
    if (all.length === 0 || all[0] === null) return null;
    const n = BigInt;
    return all.map((s) => {
      const x = s as NonNullable<typeof s>;
      return {
        collectorSetId: x.collectorSetId ?? 0,
        totalFlows: n(x.totalFlows),
        currentFlows: n(x.currentFlows),
        pkts: n(x.pkts),
        ipv4Pkts: n(x.ipv4Pkts),
        ipv6Pkts: n(x.ipv6Pkts),
        errorPkts: n(x.errorPkts),
        ipv4ErrorPkts: n(x.ipv4ErrorPkts),
        ipv6ErrorPkts: n(x.ipv6ErrorPkts),
        txPkts: n(x.txPkts),
        txErrors: n(x.txErrors),
      };
    });
  }

  switchDesc(): SwitchDesc {
    return {
      mfrDesc: 'Nicira, Inc.',
      hwDesc: 'Open vSwitch',
      swDesc: `TypeSwitch ${packageVersion()}`,
      serialNum: 'None',
      dpDesc: this.dpDesc,
    };
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
    const port: Ofport = { ofpPort: ofp, netdev, odpPort: odp, created: this.now() };
    this.byNumber.set(ofp, port);
    this.byName.set(netdev.name, port);
    this.syncPorts();
    this.connmgr?.sendPortStatus('add', this.portDesc(port));
    return ofp;
  }

  portDel(ofp: OfpPort): void {
    const port = this.byNumber.get(ofp);
    if (!port) return;
    this.byNumber.delete(ofp);
    this.byName.delete(port.netdev.name);
    if (port.odpPort !== null) this.dpif.portDel(port.odpPort);
    if (ofp < OFPP_MAX) this.usage.set(ofp, this.now());
    if (!this.destroyed) this.connmgr?.sendPortStatus('delete', this.portDesc(port));
    port.netdev.close();
    if (!this.destroyed) this.syncPorts();
    this.fwd.macs.flushPort(ofp);
  }

  /**
   * Follows ports the datapath renumbered (dpif-dummy/change-port-number), as OVS's port_run
   * re-queries every port when the backer's port sequence changes.
   */
  odpPortsChanged(): void {
    let changed = false;
    for (const [ofp, p] of this.byNumber) {
      if (p.odpPort === null) continue;
      const now = this.dpif.portQueryByName(p.netdev.name)?.portNo;
      if (now === undefined || now === p.odpPort) continue;
      const q: Ofport = { ...p, odpPort: now };
      this.byNumber.set(ofp, q);
      this.byName.set(p.netdev.name, q);
      changed = true;
    }
    if (changed) this.syncPorts();
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
    this.connmgr?.close();
    this.sflow?.close();
    this.netflow?.close();
    this.ipfix?.close();
    this.ipfix = null;
    this.timer?.cancel();
    this.timer = null;
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

const OFPP_ALL = 0xfffc;

/*
 * The named counters OVS's dummy netdev reports (OF1.4+ port stats print them): two test
 * counters that stay 0 here, then one receive and one transmit queue's bytes and packets.
 */
function dummyCustomStats(st: {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}): [string, bigint][] {
  return [
    ['rx_custom_packets_1', 0n],
    ['rx_custom_packets_2', 0n],
    ['rx_q0_bytes', BigInt(st.rxBytes)],
    ['rx_q0_packets', BigInt(st.rxPackets)],
    ['tx_q0_bytes', BigInt(st.txBytes)],
    ['tx_q0_packets', BigInt(st.txPackets)],
  ];
}
