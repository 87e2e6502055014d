/*
 * A bridge's forwarding state (OVS's ofproto-dpif): its OpenFlow tables and groups, its MAC
 * table, its ports as translation sees them (OpenFlow number, datapath number, patch peer,
 * OpenFlow port config) and its bundles' VLAN settings, which NORMAL needs. Translation reads
 * it through the XBridge interface; everything that changes forwarding bumps `changed()` so
 * the datapath's cached megaflows are revalidated.
 */

import { randomBytes } from 'node:crypto';
import { MacLearning } from './mac-learning.ts';
import { type PortVlan, TRUNK_ALL } from './vlan.ts';
import { type NormalBridge, type NormalPort, normalBridge } from './xlate/normal.ts';
import type { XBridge, XGroups, XIpfix, XMirror, XPort, XTables } from './xlate/xlate.ts';

/** OpenFlow port config bits (OFPPC_*). */
export const OFPPC_PORT_DOWN = 1 << 0;
export const OFPPC_NO_RECV = 1 << 2;
export const OFPPC_NO_FWD = 1 << 5;
export const OFPPC_NO_PACKET_IN = 1 << 6;
/** OpenFlow 1.0's no-flood bit (1.1+ has no such bit; OVS keeps it). */
export const OFPPC_NO_FLOOD = 1 << 4;

/** A port as the bridge hands it to forwarding. */
export interface DpPortInfo {
  readonly name: string;
  readonly ofpPort: number;
  readonly odpPort: number | null;
  /** Patch peer's interface name. */
  readonly peerName: string | null;
  /** Administratively up with carrier. */
  readonly live: boolean;
}

/** A bundle (an OVSDB Port): its interfaces and VLAN behaviour. */
export interface BundleSettings {
  readonly name: string;
  readonly ofpPorts: readonly number[];
  readonly vlan: PortVlan;
  readonly mirrorOut: boolean;
}

export interface OfprotoDpifOptions {
  readonly name: string;
  readonly tables: XTables;
  readonly groups: XGroups | null;
  readonly now?: () => number;
  /** Finds the bridge and OpenFlow port a patch peer's interface name is on. */
  readonly findPatchPeer: (peerName: string) => { bridge: string; ofpPort: number } | null;
  /** Called after anything forwarding depends on changed. */
  readonly onChange: () => void;
  /** Whether some controller connection wants packet-ins for table misses. */
  readonly wantsPacketInOnMiss?: () => boolean;
  /** The OpenFlow fragment handling mode (OFPC_FRAG_*). */
  readonly fragHandling?: () => number;
}

export class OfprotoDpif implements XBridge {
  readonly name: string;
  readonly tables: XTables;
  readonly groups: XGroups | null;
  readonly macs: MacLearning;
  ports: Map<number, XPort> = new Map();
  floodOrder: XPort[] = [];
  normal: NormalBridge = normalBridge([]);
  private missOverride: boolean | null = null;
  forwardBpdu = false;
  mirrors: XMirror[] = [];
  /** sFlow 1-in-N sampling (0: no sFlow). */
  sflowSampling = 0;
  netflow = false;
  /** The bridge's IPFIX exporters as translation sees them (null: no IPFIX). */
  ipfix: XIpfix | null = null;
  /** Packets and bytes each mirror copied (Mirror.statistics tx_packets / tx_bytes). */
  mirrorStats: Array<{ packets: number; bytes: number }> = [];
  private portInfos: DpPortInfo[] = [];
  private bundles: BundleSettings[] = [];
  private readonly portConfig = new Map<number, number>();
  private readonly queueDscp = new Map<number, ReadonlyMap<number, number>>();
  private readonly names = new Map<number, string>();

  /**
   * Whether a table miss under the default table-miss behaviour calls for a packet-in: asked
   * of the connection manager at each translation (OVS's connmgr_wants_packet_in_on_miss), so
   * a controller that just connected gets the very next miss.
   */
  get missToController(): boolean {
    return this.missOverride ?? this.opts.wantsPacketInOnMiss?.() ?? false;
  }

  set missToController(v: boolean) {
    this.missOverride = v;
  }

  get fragHandling(): number {
    return this.opts.fragHandling?.() ?? 0;
  }

  /**
   * The bridge's identity in continuations (OVS's ofproto uuid): random per instance, so a
   * continuation from before a restart or from another switch is stale.
   */
  readonly uuid: Uint8Array = uuidV4();

  constructor(private readonly opts: OfprotoDpifOptions) {
    this.name = opts.name;
    this.tables = opts.tables;
    this.groups = opts.groups;
    this.macs = new MacLearning({ clock: opts.now });
    byUuid.set(uuidKey(this.uuid), new WeakRef(this));
  }

  /** The bridge a continuation names, if it still exists in this process. */
  static byUuid(uuid: Uint8Array): OfprotoDpif | null {
    const k = uuidKey(uuid);
    const d = byUuid.get(k)?.deref() ?? null;
    if (d === null) byUuid.delete(k);
    return d;
  }

  portName(ofp: number): string | undefined {
    return this.names.get(ofp);
  }

  /** OpenFlow port config bits (port_mod). */
  getPortConfig(ofp: number): number {
    return this.portConfig.get(ofp) ?? 0;
  }

  /**
   * A port's QoS queues that set a DSCP (the Queue table's dscp column): queue id -> DSCP
   * (0..63). The userspace datapath's skb_priority is the queue id. Null or empty: none.
   */
  setQueueDscp(ofp: number, queues: ReadonlyMap<number, number> | null): void {
    if (!queues || queues.size === 0) {
      if (!this.queueDscp.delete(ofp)) return;
    } else {
      const m = new Map<number, number>();
      for (const [q, d] of queues) m.set(q >>> 0, (d << 2) & 0xfc);
      this.queueDscp.set(ofp, m);
    }
    this.rebuild();
    this.opts.onChange();
  }

  setPortConfig(ofp: number, config: number): void {
    if ((this.portConfig.get(ofp) ?? 0) === config) return;
    this.portConfig.set(ofp, config);
    this.rebuild();
  }

  setPorts(ports: readonly DpPortInfo[]): void {
    this.portInfos = [...ports];
    const live = new Set(ports.map((p) => p.ofpPort));
    for (const k of [...this.portConfig.keys()]) if (!live.has(k)) this.portConfig.delete(k);
    this.rebuild();
  }

  setBundles(bundles: readonly BundleSettings[], forwardBpdu: boolean): void {
    this.bundles = [...bundles];
    this.forwardBpdu = forwardBpdu;
    this.rebuild();
  }

  /** The bridge's mirrors (at most 32, as OVS). Statistics restart for a changed list. */
  setMirrors(mirrors: readonly XMirror[]): void {
    const names = (l: readonly XMirror[]): string => JSON.stringify(l.map((m) => m.name));
    const same = names(mirrors) === names(this.mirrors);
    this.mirrors = mirrors.slice(0, 32);
    if (!same) this.mirrorStats = this.mirrors.map(() => ({ packets: 0, bytes: 0 }));
    this.opts.onChange();
  }

  /** Counts packets a set of mirrors (bit i = mirror i) copied. */
  creditMirrors(bits: number, packets: number, bytes: number): void {
    for (let i = 0; i < this.mirrorStats.length; i++) {
      if (!(bits & (1 << i))) continue;
      const st = this.mirrorStats[i];
      if (st) {
        st.packets += packets;
        st.bytes += bytes;
      }
    }
  }

  /** Re-resolves patch peers (a peer bridge or port came or went). */
  rebuild(): void {
    const ports = new Map<number, XPort>();
    this.names.clear();
    for (const p of this.portInfos) {
      const cfg = this.portConfig.get(p.ofpPort) ?? 0;
      const peer = p.peerName !== null ? this.opts.findPatchPeer(p.peerName) : null;
      ports.set(p.ofpPort, {
        name: p.name,
        ofpPort: p.ofpPort,
        odpPort: p.odpPort,
        peer,
        noFlood: (cfg & OFPPC_NO_FLOOD) !== 0,
        noFwd: (cfg & OFPPC_NO_FWD) !== 0,
        noPacketIn: (cfg & OFPPC_NO_PACKET_IN) !== 0,
        live: p.live && (cfg & OFPPC_PORT_DOWN) === 0,
        dscp: this.queueDscp.get(p.ofpPort),
      });
      this.names.set(p.ofpPort, p.name);
    }
    this.ports = ports;
    // FLOOD/ALL go out in OpenFlow port order.
    this.floodOrder = [...ports.values()].sort((a, b) => a.ofpPort - b.ofpPort);

    // NORMAL works on bundles; a port that no bundle names is a trunk of its own.
    const normalPorts: NormalPort[] = [];
    const covered = new Set<number>();
    for (const b of this.bundles) {
      const first = b.ofpPorts.find((n) => ports.has(n));
      if (first === undefined) continue;
      const xp = ports.get(first) as XPort;
      for (const n of b.ofpPorts) covered.add(n);
      normalPorts.push({
        name: b.name,
        ofpPort: xp.ofpPort as NormalPort['ofpPort'],
        odpPort: xp.peer ? null : (xp.odpPort as NormalPort['odpPort']),
        vlan: b.vlan,
        floodable: !xp.noFlood,
        mirrorOut: b.mirrorOut,
      });
    }
    for (const xp of this.floodOrder) {
      if (covered.has(xp.ofpPort) || this.bundles.length > 0) continue;
      normalPorts.push({
        name: xp.name,
        ofpPort: xp.ofpPort as NormalPort['ofpPort'],
        odpPort: xp.peer ? null : (xp.odpPort as NormalPort['odpPort']),
        vlan: TRUNK_ALL,
        floodable: !xp.noFlood,
        mirrorOut: false,
      });
    }
    this.normal = normalBridge(normalPorts, this.forwardBpdu);
    this.opts.onChange();
  }
}

/* Bridges by uuid, for NXT_RESUME: weak, so that a destroyed bridge does not linger. */
const byUuid = new Map<string, WeakRef<OfprotoDpif>>();

function uuidKey(u: Uint8Array): string {
  return Buffer.from(u).toString('hex');
}

function uuidV4(): Uint8Array {
  const u = new Uint8Array(randomBytes(16));
  // Stored as OVS does, four host-order (little-endian) words: the version nibble is in the
  // second word's bits 12-15, the variant in the third word's top bits.
  u[5] = ((u[5] as number) & 0x0f) | 0x40;
  u[11] = ((u[11] as number) & 0x3f) | 0x80;
  return u;
}
