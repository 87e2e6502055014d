/**
 * Bridge reconciliation (OVS's vswitchd/bridge.c): turns the configuration read from the
 * database into ofproto objects, in phases, so that what is unchanged is never disturbed:
 *
 *   1. deletions: bridges no longer configured (or whose datapath type changed), then in each
 *      remaining bridge the interfaces no longer configured, whose type changed, whose options
 *      no longer apply, or whose requested OpenFlow port number changed;
 *   2. creations: new bridges, then in each bridge the new interfaces, first those that request
 *      an OpenFlow port number, then the others (so an automatic number never takes a
 *      requested one);
 *   3. configuration: bridge address and datapath ID, fail mode, MAC table settings, MTUs and
 *      addresses of internal interfaces;
 *   4. the caller writes status back (status.ts) together with cur_cfg.
 *
 * `reconfigure` returns what the database should now say about each interface and bridge.
 */
import type { DpifBackers } from '../dpif/backers.ts';
import { UnknownDatapathTypeError } from '../dpif/backers.ts';
import { coverage } from '../lib/coverage.ts';
import type { TlsOptions } from '../lib/jsonrpc/stream.ts';
import { rundir } from '../lib/paths.ts';
import { vlog } from '../lib/vlog.ts';
import {
  type EthAddr,
  ethAddrBytes,
  formatEthAddr,
  type Netdev,
  NetdevError,
  parseEthAddr,
  STRERROR,
} from '../netdev/netdev.ts';
import type { NetdevRegistry } from '../netdev/registry.ts';
import type { BundleSettings } from '../ofproto/dpif/ofproto-dpif.ts';
import { portVlanFromColumns } from '../ofproto/dpif/vlan.ts';
import { OFPP_LOCAL, type OfpPort, validOfportRequest } from '../ofproto/ofp-port.ts';
import { DEFAULT_SETTINGS, Ofproto } from '../ofproto/ofproto.ts';
import type { Subfield } from '../ofproto/openflow/ofpact.ts';
import { parseSubfield } from '../ofproto/openflow/ofpact-parse.ts';
import type {
  BridgeConfig,
  FlowTableConfig,
  IfaceConfig,
  OvsConfig,
  PortConfig,
} from './config.ts';

const log = vlog('bridge');
/* The MTU of an internal port on a bridge without other ports (OVS's ETH_PAYLOAD_MAX). */
const ETH_PAYLOAD_MAX = 1500;
const covRevReconfigure = coverage('rev_reconfigure');

let selfConfine = true;
/** Targets already refused, so each refusal is logged once (OVS rate-limits the same error). */
const refusedControllers = new Set<string>();

/** ovs-vswitchd's --no-self-confinement: unix controller sockets may then live anywhere. */
export function setSelfConfinement(on: boolean): void {
  selfConfine = on;
}

/**
 * As OVS, a confined daemon refuses unix: controllers outside the run directory and punix:
 * controllers not named "<rundir>/<bridge>.*": a database user must not make the switch
 * connect to, or overwrite, an arbitrary local file. Returns OVS's error text, or null.
 */
export function confinedControllerError(bridge: string, target: string): string | null {
  if (!selfConfine) return null;
  const dir = normalizeSlashes(rundir());
  const t = normalizeSlashes(target);
  if (t.startsWith('unix:')) {
    const allowed = `unix:${dir}/`;
    if (!t.includes('/') || t.startsWith(allowed)) return null;
    return (
      `bridge ${bridge}: Not connecting to socket controller "${target}" due to possibility ` +
      `for remote exploit.  Instead, specify socket in permitted directory "${allowed}" or ` +
      `connect to "unix:${rundir()}/${bridge}.mgmt" (which is always available without ` +
      'special configuration).'
    );
  }
  if (t.startsWith('punix:')) {
    const allowed = `punix:${dir}/${bridge}.`;
    if (t.startsWith(allowed) && !t.slice(allowed.length).includes('/')) return null;
    return (
      `bridge ${bridge}: Not adding Unix domain socket controller "${target}" due to ` +
      `possibility of overwriting local files. Instead, specify path in permitted format ` +
      `"${allowed}*" or connect to "unix:${rundir()}/${bridge}.mgmt" (which is always ` +
      'available without special configuration).'
    );
  }
  return null;
}

function normalizeSlashes(s: string): string {
  return s.replace(/\/+/g, '/');
}

/** One interface as the switch has it. */
export interface Iface {
  readonly name: string;
  cfg: IfaceConfig;
  portName: string;
  /** The netdev type it was opened as (a change of type means delete and re-create). */
  readonly openType: string;
  readonly netdev: Netdev;
  readonly ofpPort: OfpPort;
}

/** What the database should say about one Interface row after a reconfiguration. */
export type IfaceOutcome =
  | { readonly uuid: string; readonly ok: true; readonly iface: Iface }
  | { readonly uuid: string; readonly ok: false; readonly error: string | null };

export interface BridgeOutcome {
  readonly uuid: string;
  readonly datapathId: string;
  readonly datapathVersion: string;
}

export interface ReconfigureOutcome {
  readonly ifaces: IfaceOutcome[];
  readonly bridges: BridgeOutcome[];
}

export class Bridge {
  readonly ifaces = new Map<string, Iface>();

  constructor(
    readonly name: string,
    public cfg: BridgeConfig,
    readonly ofproto: Ofproto,
    /** The configured datapath type, normalized (what a change is detected against). */
    readonly type: string,
  ) {}

  /** OVS derives the fallback address from the first bytes of the row's UUID. */
  defaultEa(): EthAddr {
    const hex = this.cfg.uuid.replace(/-/g, '');
    const word = (i: number): number[] => {
      const w = hex.slice(i * 8, i * 8 + 8);
      // struct uuid holds 32-bit words in host (little-endian) order.
      return [6, 4, 2, 0].map((o) => Number.parseInt(w.slice(o, o + 2), 16));
    };
    const b = [...word(0), ...word(1).slice(0, 2)];
    b[0] = (b[0] & 0xfe) | 0x02;
    return formatEthAddr(b);
  }
}

/** Datapath port names of OVS 3.1's tunnel netdev classes (lib/netdev-vport.c). */
const TUNNEL_DPIF_PORTS = [
  'genev_sys',
  'gre_sys',
  'vxlan_sys',
  'lisp_sys',
  'stt_sys',
  'erspan_sys',
  'ip6erspan_sys',
  'ip6gre_sys',
  'gtpu_sys',
  'udp_sys',
];

export interface VSwitchOptions {
  registry: NetdevRegistry;
  backers: DpifBackers;
  /** --enable-dummy=override: an empty datapath type means "system" (a dummy datapath). */
  override: boolean;
  now?: () => number;
  /** OVS_RUNDIR: bridges' OpenFlow management sockets go there (none when undefined). */
  rundir?: string;
  /** A port's device changed state (link, admin state): status should be written soon. */
  onDeviceChange?: () => void;
}

/*
 * The Open_vSwitch table's SSL row (private_key, certificate, ca_cert) for ssl: controllers and
 * pssl: listeners; null (SSL unusable) without a complete one.
 */
function sslSettings(cfg: OvsConfig | undefined): TlsOptions | null {
  const ssl = cfg?.ssl;
  if (!ssl?.privateKey || !ssl.certificate || !ssl.caCert) return null;
  return { privateKey: ssl.privateKey, certificate: ssl.certificate, caCert: ssl.caCert };
}

/** All bridges of the process. */
export class VSwitch {
  readonly bridges = new Map<string, Bridge>();

  constructor(private readonly opts: VSwitchOptions) {}

  /** OVS's ofproto_normalize_type, except that without a kernel datapath "" means netdev. */
  normalizeType(type: string): string {
    if (type === '') return this.opts.override ? 'system' : 'netdev';
    return type;
  }

  reconfigure(cfg: OvsConfig | undefined): ReconfigureOutcome {
    const bridgeCfgs = cfg?.bridges ?? [];
    const failed: IfaceOutcome[] = [];

    // Phase 1: deletions.
    const wanted = new Map(bridgeCfgs.map((b) => [b.name, b]));
    for (const [name, br] of [...this.bridges]) {
      const c = wanted.get(name);
      if (!c || this.normalizeType(c.datapathType) !== br.type) this.destroyBridge(br);
    }
    for (const br of this.bridges.values()) {
      br.cfg = wanted.get(br.name) as BridgeConfig;
      this.deleteOrReconfigurePorts(br);
    }

    // Phase 2: creations.
    for (const c of bridgeCfgs) {
      if (this.bridges.has(c.name)) continue;
      const type = this.normalizeType(c.datapathType);
      try {
        const ofproto = new Ofproto(c.name, type, this.opts.backers, {
          now: this.opts.now,
          rundir: this.opts.rundir,
        });
        ofproto.onDeviceChange = this.opts.onDeviceChange ?? null;
        this.bridges.set(c.name, new Bridge(c.name, c, ofproto, type));
      } catch (e) {
        if (!(e instanceof UnknownDatapathTypeError)) throw e;
        log.warn(`unknown datapath type ${type}`);
        log.warn(`could not create datapath ${c.name} of unknown type ${type}`);
        log.err(`failed to create bridge ${c.name}: ${STRERROR.EAFNOSUPPORT}`);
      }
    }
    for (const c of bridgeCfgs) {
      const br = this.bridges.get(c.name);
      if (!br) continue;
      this.addPorts(br, true, failed);
      this.addPorts(br, false, failed);
    }

    // Phase 3: configuration.
    const bridges: BridgeOutcome[] = [];
    const ifaces: IfaceOutcome[] = [...failed];
    const ssl = sslSettings(cfg);
    for (const c of bridgeCfgs) {
      const br = this.bridges.get(c.name);
      if (!br) continue;
      br.ofproto.connmgr?.setSsl(ssl);
      this.configureBridge(br);
      bridges.push({
        uuid: c.uuid,
        datapathId: br.ofproto.datapathId().toString(16).padStart(16, '0'),
        datapathVersion: br.ofproto.dpif.version,
      });
      for (const iface of br.ifaces.values())
        ifaces.push({ uuid: iface.cfg.uuid, ok: true, iface });
    }
    const sig = this.reconfigureSignature();
    // OVS keeps one pending reason per datapath, the last one set: a pass that also changed a
    // flow table (the fail-open flows of a standalone bridge come and go with its fail mode)
    // is counted as a flow table revalidation instead.
    const failModes = new Map([...this.bridges.values()].map((b) => [b.name, b.cfg.failMode]));
    let flowTable = false;
    for (const [name, mode] of failModes) {
      const before = this.lastFailModes.get(name);
      if (before === undefined ? mode !== 'secure' : before !== mode) flowTable = true;
    }
    if (sig !== this.lastSignature && !flowTable) covRevReconfigure.inc();
    this.lastSignature = sig;
    this.lastFailModes = failModes;
    return { ifaces, bridges };
  }

  private lastSignature = '[]';
  private lastFailModes = new Map<string, string | undefined>();

  /*
   * What OVS's ofproto-dpif revalidates for with REV_RECONFIGURE (ports, bundles and their
   * VLANs, mirrors, LLDP, sampling and NetFlow settings): a change of it counts one
   * rev_reconfigure, as OVS counts one per main-loop pass that had such a change. Flow table
   * and MAC changes are other reasons, not counted here.
   */
  private reconfigureSignature(): string {
    const parts: unknown[] = [];
    const names = [...this.bridges.keys()].sort();
    for (const name of names) {
      const br = this.bridges.get(name) as Bridge;
      const ifaces = [...br.ifaces.values()]
        .map((i) => [i.name, i.ofpPort, i.openType, i.portName, i.cfg.lldpEnable])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
      const c = br.cfg;
      parts.push(name, br.type, ifaces, c.mirrors, c.sflow, c.netflow, c.ipfix, c.collectorSets);
      parts.push(c.ports.map((p) => [p.name, p.tag, p.trunks, p.cvlans, p.vlanMode]));
    }
    return JSON.stringify(parts, (_k, v: unknown) =>
      v instanceof Map ? [...v] : v instanceof Set ? [...v] : v,
    );
  }

  /** Removes every bridge (at exit). */
  destroy(): void {
    for (const br of [...this.bridges.values()]) this.destroyBridge(br);
  }

  private destroyBridge(br: Bridge): void {
    br.ofproto.destroy();
    br.ifaces.clear();
    this.bridges.delete(br.name);
  }

  private openType(br: Bridge, c: IfaceConfig): string {
    const internal = c.name === br.name || c.type === 'internal';
    return br.ofproto.dpif.portOpenType(internal ? 'internal' : c.type === '' ? 'system' : c.type);
  }

  private deleteIface(br: Bridge, iface: Iface): void {
    log.info(`bridge ${br.name}: deleted interface ${iface.name} on port ${iface.ofpPort}`);
    // As OVS when a port goes: a MAC learned on it has likely moved, so the other bridges
    // (patched to this one) forget it too rather than keep forwarding towards the old spot.
    const gone = br.ofproto.fwd.macs.entriesOnPort(iface.ofpPort);
    if (gone.length > 0) {
      for (const other of this.bridges.values()) {
        if (other === br) continue;
        for (const e of gone) other.ofproto.fwd.macs.expireMac(e.mac, e.vlan);
      }
    }
    br.ofproto.portDel(iface.ofpPort);
    br.ifaces.delete(iface.name);
  }

  private deleteOrReconfigurePorts(br: Bridge): void {
    const wanted = new Map<string, { port: PortConfig; iface: IfaceConfig }>();
    for (const port of br.cfg.ports)
      for (const iface of port.ifaces)
        if (!wanted.has(iface.name)) wanted.set(iface.name, { port, iface });
    const byOfport = new Map<number, Iface>();
    for (const i of br.ifaces.values()) byOfport.set(i.ofpPort, i);

    const doomed = new Set<Iface>();
    for (const iface of br.ifaces.values()) {
      if (doomed.has(iface)) continue;
      const w = wanted.get(iface.name);
      if (!w || this.openType(br, w.iface) !== iface.openType) {
        doomed.add(iface);
        continue;
      }
      iface.cfg = w.iface;
      iface.portName = w.port.name;
      if (iface.netdev.setConfig(w.iface.options) !== null) {
        doomed.add(iface);
        continue;
      }
      // A changed request: move the port, unless the number belongs to a port that asked for
      // it too (a conflict in the configuration that cannot be resolved; keep what is there).
      const req = validOfportRequest(w.iface.ofportRequest);
      if (iface.ofpPort !== OFPP_LOCAL && req !== null && req !== iface.ofpPort) {
        const victim = byOfport.get(req);
        if (!victim) doomed.add(iface);
        else if (validOfportRequest(wanted.get(victim.name)?.iface.ofportRequest) !== req) {
          doomed.add(victim);
          doomed.add(iface);
        }
      }
    }
    for (const iface of doomed) this.deleteIface(br, iface);
  }

  private addPorts(br: Bridge, withRequest: boolean, failed: IfaceOutcome[]): void {
    for (const port of br.cfg.ports) {
      for (const c of port.ifaces) {
        const req = validOfportRequest(c.ofportRequest);
        if ((req !== null) !== withRequest || br.ifaces.has(c.name)) continue;
        const r = this.createIface(br, port, c, req ?? validOfportRequest(c.ofport));
        if (r === null || typeof r === 'string') failed.push({ uuid: c.uuid, ok: false, error: r });
      }
    }
  }

  /**
   * Names OVS keeps for itself: the datapath ports of its tunnel classes (by prefix) and
   * `ovs-` followed by a datapath type (the datapaths' own local ports).
   */
  private isReservedName(name: string): boolean {
    if (TUNNEL_DPIF_PORTS.some((p) => name.startsWith(p))) return true;
    if (!name.startsWith('ovs-')) return false;
    const t = name.slice(4);
    return t === 'system' || t === 'netdev' || this.opts.backers.types().includes(t);
  }

  /** Returns the new interface, the error text for Interface.error, or null for none. */
  private createIface(
    br: Bridge,
    port: PortConfig,
    c: IfaceConfig,
    req: OfpPort | null,
  ): Iface | string | null {
    if (this.isReservedName(c.name)) {
      // As OVS: refused before any device is opened, with no text for Interface.error.
      log.warn(`could not create interface ${c.name}, name is reserved`);
      return null;
    }
    const openType = this.openType(br, c);
    let netdev: Netdev;
    try {
      netdev = this.opts.registry.open(c.name, openType);
    } catch (e) {
      if (!(e instanceof NetdevError)) throw e;
      const msg = `could not open network device ${c.name} (${e.message})`;
      log.warn(msg);
      return msg;
    }
    const configError = netdev.setConfig(c.options);
    if (configError !== null) {
      log.err(configError);
      netdev.close();
      return configError;
    }
    let ofpPort: OfpPort;
    try {
      ofpPort = br.ofproto.portAdd(netdev, req);
    } catch (e) {
      if (!(e instanceof NetdevError)) throw e;
      netdev.close();
      const msg = `could not add network device ${c.name} to ofproto (${e.message})`;
      log.warn(msg);
      return msg;
    }
    const iface: Iface = { name: c.name, cfg: c, portName: port.name, openType, netdev, ofpPort };
    br.ifaces.set(c.name, iface);
    log.info(`bridge ${br.name}: added interface ${c.name} on port ${ofpPort}`);
    return iface;
  }

  private configureBridge(br: Bridge): void {
    const oc = br.cfg.otherConfig;
    const ofproto = br.ofproto;

    const ea = this.pickLocalHwAddr(br);
    const local = ofproto.port(OFPP_LOCAL);
    local?.netdev.setEtheraddr(ea);
    ofproto.ea = ea;
    const dpid = pickDatapathId(oc.get('datapath-id'), ea);
    if (dpid !== ofproto.datapathId_) {
      log.info(`bridge ${br.name}: using datapath ID ${dpid.toString(16).padStart(16, '0')}`);
      ofproto.datapathId_ = dpid;
    }
    ofproto.dpDesc = oc.get('dp-desc') ?? 'None';

    ofproto.settings = {
      failMode: br.cfg.failMode === 'secure' ? 'secure' : 'standalone',
      macAgingTime: intOption(oc.get('mac-aging-time'), DEFAULT_SETTINGS.macAgingTime),
      macTableSize: intOption(oc.get('mac-table-size'), DEFAULT_SETTINGS.macTableSize),
    };
    const macs = ofproto.fwd.macs;
    macs.setIdleTime(ofproto.settings.macAgingTime);
    macs.setMaxEntries(ofproto.settings.macTableSize);
    if (macs.setFloodVlans(br.cfg.floodVlans)) ofproto.udpif.changed();
    const bundles: BundleSettings[] = [];
    for (const port of br.cfg.ports) {
      const ofpPorts: number[] = [];
      for (const c of port.ifaces) {
        const i = br.ifaces.get(c.name);
        if (i) ofpPorts.push(i.ofpPort);
      }
      if (ofpPorts.length === 0) continue;
      bundles.push({
        name: port.name,
        ofpPorts,
        vlan: portVlanFromColumns({
          tag: port.tag,
          trunks: port.trunks,
          cvlans: port.cvlans,
          vlanMode: port.vlanMode,
          otherConfig: port.otherConfig,
        }),
        mirrorOut: br.cfg.mirrorOutputPorts.has(port.name),
      });
    }
    ofproto.setBundles(bundles, oc.get('forward-bpdu') === 'true');
    const bundlePorts = new Map(bundles.map((b) => [b.name, b.ofpPorts]));
    const portsOf = (names: readonly string[]): Set<number> =>
      new Set(names.flatMap((n) => bundlePorts.get(n) ?? []));
    ofproto.fwd.setMirrors(
      br.cfg.mirrors
        // OVS ignores a mirror with neither an output port nor an output VLAN.
        .filter(
          (m) =>
            (m.outputPort !== undefined && bundlePorts.has(m.outputPort)) ||
            m.outputVlan !== undefined,
        )
        .map((m) => ({
          name: m.name,
          selectAll: m.selectAll,
          srcPorts: portsOf(m.selectSrcPort),
          dstPorts: portsOf(m.selectDstPort),
          vlans: m.selectVlan.length ? new Set(m.selectVlan) : null,
          outPort: m.outputPort !== undefined ? (bundlePorts.get(m.outputPort)?.[0] ?? null) : null,
          outVlan: m.outputPort === undefined ? (m.outputVlan ?? null) : null,
          snaplen: m.snaplen,
        })),
    );
    const controllers = br.cfg.controllers.filter((c) => {
      const err = confinedControllerError(br.name, c.target);
      if (err === null) return true;
      const key = `${br.name}\0${c.target}`;
      if (!refusedControllers.has(key)) {
        refusedControllers.add(key);
        log.err(err);
      }
      return false;
    });
    ofproto.setControllers(
      controllers.map((c) => ({
        target: c.target,
        maxBackoffMs: c.maxBackoff,
        probeIntervalMs: c.inactivityProbe,
        rateLimit: c.rateLimit,
        burstLimit: c.burstLimit,
      })),
    );
    ofproto.setInBandRemotes(
      br.cfg.otherConfig.get('disable-in-band') === 'true' ? [] : controllers.map((c) => c.target),
    );
    ofproto.setFailMode(ofproto.settings.failMode);
    ofproto.setSflow(br.cfg.sflow, this.sflowSubId(br.name));
    ofproto.setNetflow(br.cfg.netflow);
    ofproto.setIpfix(br.cfg.ipfix ?? null, br.cfg.collectorSets ?? []);
    for (let t = 0; t < ofproto.flowTables.nTables; t++) {
      const ft = br.cfg.flowTables.get(t);
      ofproto.flowTables.configureTable(
        t,
        ft
          ? {
              name: ft.name,
              maxFlows: ft.flowLimit,
              evict: ft.overflowPolicy === 'evict',
              groups: evictionGroups(br.name, t, ft),
            }
          : null,
      );
    }

    // Internal ports follow the smallest MTU of the bridge's other ports (as just requested),
    // or the Ethernet default without any, unless told otherwise (OVS's bridge minimum).
    const isInternal = (i: Iface): boolean => i.cfg.type === 'internal' || i.name === br.name;
    const requested = (i: Iface): number | undefined =>
      i.cfg.mtuRequest !== undefined && i.cfg.mtuRequest > 0 ? i.cfg.mtuRequest : undefined;
    let minMtu: number | undefined;
    for (const i of br.ifaces.values()) {
      if (isInternal(i)) continue;
      const want = requested(i);
      if (want !== undefined) i.netdev.setMtu(want);
      const m = i.netdev.getMtu();
      if (m !== null && (minMtu === undefined || m < minMtu)) minMtu = m;
    }
    for (const i of br.ifaces.values()) {
      const internal = isInternal(i);
      if (internal) i.netdev.setMtu(requested(i) ?? minMtu ?? ETH_PAYLOAD_MAX);
      if (internal && i.ofpPort !== OFPP_LOCAL && i.cfg.mac !== undefined) {
        const mac = parseEthAddr(i.cfg.mac);
        if (mac === undefined) continue;
        const b = ethAddrBytes(mac);
        if (b[0] & 1) log.err(`interface ${i.name}: cannot set MAC to multicast address`);
        else if (b.every((x) => x === 0))
          log.err(`interface ${i.name}: cannot set MAC to all zero`);
        else i.netdev.setEtheraddr(mac);
      }
    }
  }

  /** OVS numbers the bridges that have sFlow 0, 1, ... in its bridge order. */
  private sflowSubId(name: string): number {
    let n = 0;
    for (const b of this.bridges.values()) {
      if (b.name === name) return n;
      if (b.cfg.sflow) n++;
    }
    return n;
  }

  /** OVS's bridge_pick_local_hw_addr: other_config:hwaddr, else the smallest usable port address. */
  private pickLocalHwAddr(br: Bridge): EthAddr {
    const requested = parseEthAddr(br.cfg.otherConfig.get('hwaddr') ?? '');
    if (requested !== undefined) {
      const b = ethAddrBytes(requested);
      if (b[0] & 1)
        log.err(`bridge ${br.name}: cannot set MAC address to multicast address ${requested}`);
      else if (b.every((x) => x === 0))
        log.err(`bridge ${br.name}: cannot set MAC address to zero`);
      else return requested;
    }
    let best: EthAddr | undefined;
    for (const port of br.cfg.ports) {
      if (br.cfg.mirrorOutputPorts.has(port.name)) continue;
      let ea: EthAddr | undefined;
      const portMac = port.mac !== undefined ? parseEthAddr(port.mac) : undefined;
      if (portMac !== undefined) {
        ea = portMac;
      } else {
        // Bonds take the address of their alphabetically first member.
        let first: Iface | undefined;
        for (const c of port.ifaces) {
          const i = br.ifaces.get(c.name);
          if (i && (!first || i.name < first.name)) first = i;
        }
        if (!first || first.ofpPort === OFPP_LOCAL) continue;
        ea = first.netdev.getEtheraddr();
      }
      if (usableBridgeAddr(ea) && (best === undefined || ea < best)) best = ea;
    }
    return best ?? br.defaultEa();
  }
}

/** Neither multicast, locally administered, IEEE-reserved (01:80:c2:00:00:0x) nor zero. */
function usableBridgeAddr(ea: EthAddr): boolean {
  const b = ethAddrBytes(ea);
  if (b[0] & 0x03) return false;
  if (b.every((x) => x === 0)) return false;
  return true;
}

/** other_config:datapath-id if it is exactly 16 hex digits and not zero, else the address. */
export function pickDatapathId(configured: string | undefined, ea: EthAddr): bigint {
  if (configured !== undefined && /^[0-9a-fA-F]{16}$/.test(configured)) {
    const v = BigInt(`0x${configured}`);
    if (v !== 0n) return v;
  }
  return BigInt(`0x${ea.replace(/:/g, '')}`);
}

function intOption(v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : dflt;
}

/*
 * Flow_Table `groups` (subfields such as "NXM_OF_IN_PORT[]") for fair eviction; a bad one is
 * logged and dropped, as OVS does.
 */
function evictionGroups(bridge: string, table: number, ft: FlowTableConfig): Subfield[] {
  const raw = ft.groups;
  const out: Subfield[] = [];
  for (const g of raw) {
    try {
      out.push(parseSubfield(g));
    } catch (e) {
      log.warn(`bridge ${bridge}: table ${table}: ${(e as Error).message}`);
    }
  }
  return out;
}
