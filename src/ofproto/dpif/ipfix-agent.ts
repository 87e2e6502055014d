/*
 * IPFIX export of one bridge (OVS's ofproto/ofproto-dpif-ipfix.c, written anew).
 *
 * A bridge has at most one bridge exporter (the IPFIX row the Bridge points to: every
 * packet sampled 1-in-`sampling` on input and/or on each output) and any number of flow
 * exporters (Flow_Sample_Collector_Set rows, fed by the OpenFlow `sample` action through
 * collector set ids). Each exporter keeps a flow cache of sampled packets by flow key
 * (template, observation domain and every key field of the record) and exports a record
 * per cache entry, as OVS does:
 *   - when the entry is cache_active_timeout seconds old (end reason "active timeout");
 *   - when the cache holds more than cache_max_flows entries, oldest first ("lack of
 *     resources"); with both 0 every sample is exported at once (as an active timeout);
 *   - when the exporter goes away or is reconfigured away ("forced end").
 * Each record goes in a message of its own; the first export at least template-interval
 * (600 s) after the last template set is preceded by every template, the options template
 * and an exporter statistics record. Sequence numbers count messages with data, from 1,
 * per exporter; export times are seconds rounded up, and the records' start/end are
 * microsecond deltas back from them. Exporting process ids are numbered per process in the
 * order exporters are created, as OVS's.
 */

import type { OdpAction } from '../../dpif/netdev/odp-actions.ts';
import { extractFlow } from '../../lib/flow/extract.ts';
import {
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_ICMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  VLAN_VID_MASK,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TCP_FLAGS,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { Writer } from '../../lib/proto/codec.ts';
import {
  encodeIpfixMessage,
  IE,
  IPFIX_DEFAULT_PORT,
  type IpfixMessage,
  type IpfixValue,
  OVS_IPFIX_TEMPLATE_INTERVAL,
  type OvsIpfixL3,
  type OvsIpfixL4,
  type OvsIpfixTemplateKey,
  ovsIpfixExporterStatsMessage,
  ovsIpfixTemplateFieldNames,
  ovsIpfixTemplateId,
  ovsIpfixTemplateMessages,
} from '../../lib/proto/ipfix.ts';
import { vlog } from '../../lib/vlog.ts';
import { parseSflowTarget, UdpCollectors, type UdpTarget } from './sflow-agent.ts';

const log = vlog('ipfix');

const IPPROTO_ICMPV6 = 58;
const UINT32_MAX = 0xffffffff;
/** The datapath's "no port" (ODPP_NONE): an ingress sample. */
export const IPFIX_ODPP_NONE = 0xffffffff;
/** OVS caps virtual_obs_id at this many bytes. */
export const IPFIX_VIRTUAL_OBS_MAX_LEN = 254;
const BFD_CONTROL_DEST_PORT = 3784;
const BFD_ECHO_DEST_PORT = 3785;

/** IPFIX flowEndReason values (RFC 5102). */
export const IPFIX_END_ACTIVE_TIMEOUT = 2;
export const IPFIX_END_FORCED = 4;
export const IPFIX_END_LACK_OF_RESOURCES = 5;

/** What every exporter takes from its IPFIX row. */
export interface IpfixExporterOptions {
  /** "IP[:PORT]" (port 4739 by default). */
  targets: string[];
  /** Seconds; 0: none. */
  cacheActiveTimeout: number;
  /** 0: no caching. */
  cacheMaxFlows: number;
  enableTunnelSampling: boolean;
  virtualObsId: string | null;
}

/** The bridge-wide exporter (the Bridge's IPFIX row). */
export interface IpfixBridgeExporterOptions extends IpfixExporterOptions {
  /** 1-in-N. */
  sampling: number;
  obsDomainId: number;
  obsPointId: number;
  enableInputSampling: boolean;
  enableOutputSampling: boolean;
}

/** A flow exporter (a Flow_Sample_Collector_Set row and its IPFIX row). */
export interface IpfixFlowExporterOptions {
  id: number;
  ipfix: IpfixExporterOptions | null;
}

/** A bridge port as records name it. */
export interface IpfixPort {
  odpPort: number;
  name: string;
  /** 0 when the device has none. */
  ifIndex: number;
  /** IANA ifType, 0 when unknown. */
  ifType: number;
  ifDescr: string;
}

/** The fields of a flow_sample() userspace cookie. */
export interface IpfixFlowSampleCookie {
  probability: number;
  collectorSetId: number;
  obsDomainId: number;
  obsPointId: number;
  outputPort: number;
  direction: 'default' | 'ingress' | 'egress';
}

/** Exporter statistics (what `ovs-ofctl dump-ipfix-bridge/flow` report). */
export interface IpfixExporterStats {
  collectorSetId?: number;
  totalFlows: number;
  currentFlows: number;
  pkts: number;
  ipv4Pkts: number;
  ipv6Pkts: number;
  errorPkts: number;
  ipv4ErrorPkts: number;
  ipv6ErrorPkts: number;
  txPkts: number;
  txErrors: number;
}

export interface IpfixAgentOptions {
  /** Wall clock in milliseconds. */
  now?: () => number;
  send?: (buf: Uint8Array, host: string, port: number) => void;
  /** Run cache expiry on a timer (default true; tests call run() themselves). */
  timers?: boolean;
}

type Stats = Omit<IpfixExporterStats, 'collectorSetId'>;

/* Counters summed over every sample an exporter took (records carry the running totals). */
interface GlobalStats {
  droppedPackets: number;
  packets: number;
  l2Octets: number;
  inUcast: number;
  inMcast: number;
  inBcast: number;
  outUcast: number;
  outBcast: number;
  postMcastPackets: number;
  droppedOctets: number;
  octets: number;
  octetsSquared: number;
  postMcastOctets: number;
  tcpAck: number;
  tcpFin: number;
  tcpPsh: number;
  tcpRst: number;
  tcpSyn: number;
  tcpUrg: number;
}

const zeroGlobal = (): GlobalStats => ({
  droppedPackets: 0,
  packets: 0,
  l2Octets: 0,
  inUcast: 0,
  inMcast: 0,
  inBcast: 0,
  outUcast: 0,
  outBcast: 0,
  postMcastPackets: 0,
  droppedOctets: 0,
  octets: 0,
  octetsSquared: 0,
  postMcastOctets: 0,
  tcpAck: 0,
  tcpFin: 0,
  tcpPsh: 0,
  tcpRst: 0,
  tcpSyn: 0,
  tcpUrg: 0,
});

const zeroStats = (): Stats => ({
  totalFlows: 0,
  currentFlows: 0,
  pkts: 0,
  ipv4Pkts: 0,
  ipv6Pkts: 0,
  errorPkts: 0,
  ipv4ErrorPkts: 0,
  ipv6ErrorPkts: 0,
  txPkts: 0,
  txErrors: 0,
});

/** One flow cache entry: the record's key values and its aggregated counters. */
interface CacheEntry {
  hash: string;
  domain: number;
  tkey: OvsIpfixTemplateKey;
  keyValues: IpfixValue[];
  startUsec: number;
  endUsec: number;
  droppedPacketDelta: number;
  packetDelta: number;
  l2OctetDelta: number;
  postMcastPacketDelta: number;
  droppedOctetDelta: number;
  octetDelta: number;
  octetDeltaSquares: number;
  minIpLen: number;
  maxIpLen: number;
  postMcastOctetDelta: number;
  tcpPacketDelta: number;
  /** The exporter's running totals when the latest sample was taken. */
  totals: GlobalStats;
}

/** Counted per sample by OVS's ipfix_update_stats. */
type SampledType = 'ipv4' | 'ipv6' | 'ipv4-error' | 'ipv6-error' | 'others';

let exporterTotalCount = 0;

/** The number of every key field value in `v`, in template order (no counters). */
function keyHash(domain: number, templateId: number, v: IpfixValue[]): string {
  let s = `${domain}/${templateId}`;
  for (const x of v) s += x instanceof Uint8Array ? `/${Buffer.from(x).toString('hex')}` : `/${x}`;
  return s;
}

function macBytes(flow: FlowKey, w: number): Uint8Array {
  const hi = flow[w];
  const lo = flow[w + 1];
  return Uint8Array.of(
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

function ipv6Bytes(flow: FlowKey, w: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 4; i++) v.setUint32(i * 4, flow[w + i]);
  return b;
}

const utf8 = new TextEncoder();

/* The four interface key fields of a port (zeros and empty strings for an unknown one). */
function ifaceValues(p: IpfixPort | undefined): IpfixValue[] {
  if (!p) return [0, 0, new Uint8Array(0), new Uint8Array(0)];
  return [
    p.ifIndex >>> 0,
    p.ifType >>> 0,
    utf8.encode(p.name).subarray(0, 64),
    utf8.encode(p.ifDescr).subarray(0, 128),
  ];
}

/*
 * Closes collectors a little later: a socket closed at once loses the datagrams still
 * queued on it, such as the records a removed exporter flushes on its way out.
 */
function retire(c: UdpCollectors | null): void {
  if (c) setTimeout(() => c.close(), 1000).unref();
}

class Exporter {
  readonly id: number;
  private collectors: UdpCollectors | null = null;
  private targets: UdpTarget[] = [];
  seq = 1;
  lastTemplateSetTime = 0;
  /** Insertion order is flow start order (OVS's cache_flow_start_timestamp_list). */
  readonly cache = new Map<string, CacheEntry>();
  activeTimeout = 0;
  maxFlows = 0;
  virtualObsId: Uint8Array | null = null;
  global: GlobalStats = zeroGlobal();
  stats: Stats = zeroStats();
  private readonly w = new Writer(65536);

  constructor(
    id: number,
    private readonly now: () => number,
    private readonly sendHook: IpfixAgentOptions['send'],
  ) {
    this.id = id;
  }

  /** False when no collector can be used (the exporter is then off). */
  configure(o: IpfixExporterOptions): boolean {
    retire(this.collectors);
    this.collectors = null;
    const targets: UdpTarget[] = [];
    for (const t of o.targets) {
      const p = parseSflowTarget(t, IPFIX_DEFAULT_PORT);
      if (p) targets.push(p);
      else log.warnRl(`${t}: bad IPFIX collector address`);
    }
    if (targets.length === 0) {
      log.warnRl('no collectors could be initialized, IPFIX exporter disabled');
      return false;
    }
    const vid = o.virtualObsId !== null ? utf8.encode(o.virtualObsId) : null;
    if (vid && vid.length > IPFIX_VIRTUAL_OBS_MAX_LEN) {
      log.warnRl(
        `Virtual obsevation ID too long (${vid.length} bytes), should not be longer than ${IPFIX_VIRTUAL_OBS_MAX_LEN} bytes.`,
      );
      return false;
    }
    this.targets = targets;
    this.collectors = new UdpCollectors('IPFIX', this.sendHook);
    this.activeTimeout = o.cacheActiveTimeout;
    this.maxFlows = o.cacheMaxFlows;
    this.virtualObsId = vid;
    return true;
  }

  get collectorCount(): number {
    return this.collectors ? this.targets.length : 0;
  }

  close(): void {
    this.expireNow(true);
    retire(this.collectors);
    this.collectors = null;
  }

  /** Adds a sample's entry to the cache (OVS's ipfix_cache_update). */
  update(e: CacheEntry, type: SampledType): void {
    const old = this.cache.get(e.hash);
    if (!old) {
      this.cache.set(e.hash, e);
      this.stats.totalFlows++;
      this.stats.currentFlows = this.cache.size;
      this.count(type);
      if (this.cache.size > this.maxFlows) this.expireNow(false);
      return;
    }
    old.startUsec = Math.min(old.startUsec, e.startUsec);
    old.endUsec = Math.max(old.endUsec, e.endUsec);
    old.droppedPacketDelta += e.droppedPacketDelta;
    old.packetDelta += e.packetDelta;
    old.l2OctetDelta += e.l2OctetDelta;
    old.postMcastPacketDelta += e.postMcastPacketDelta;
    old.droppedOctetDelta += e.droppedOctetDelta;
    old.octetDelta += e.octetDelta;
    old.octetDeltaSquares += e.octetDeltaSquares;
    if (!old.minIpLen || (e.minIpLen && old.minIpLen > e.minIpLen)) old.minIpLen = e.minIpLen;
    if (old.maxIpLen < e.maxIpLen) old.maxIpLen = e.maxIpLen;
    old.postMcastOctetDelta += e.postMcastOctetDelta;
    old.tcpPacketDelta += e.tcpPacketDelta;
    old.totals = e.totals;
    this.count(type);
  }

  private count(type: SampledType): void {
    const s = this.stats;
    s.pkts++;
    if (type === 'ipv4') s.ipv4Pkts++;
    else if (type === 'ipv6') s.ipv6Pkts++;
    else if (type === 'ipv4-error') {
      s.ipv4ErrorPkts++;
      s.errorPkts++;
    } else if (type === 'ipv6-error') {
      s.ipv6ErrorPkts++;
      s.errorPkts++;
    }
  }

  /** When the oldest entry reaches its active timeout (ms), or null with an empty cache. */
  nextTimeoutMs(): number | null {
    for (const e of this.cache.values()) return e.startUsec / 1000 + 1000 * this.activeTimeout;
    return null;
  }

  expireNow(forced: boolean): void {
    const usec = this.now() * 1000;
    this.expire(forced, usec, Math.ceil(usec / 1_000_000));
  }

  /** OVS's dpif_ipfix_cache_expire. */
  expire(forced: boolean, nowUsec: number, exportSec: number): void {
    if (this.cache.size === 0) return;
    const maxStart = nowUsec - 1_000_000 * this.activeTimeout;
    let templatesSent = false;
    for (const e of [...this.cache.values()]) {
      let reason: number;
      if (forced) reason = IPFIX_END_FORCED;
      else if (e.startUsec <= maxStart) reason = IPFIX_END_ACTIVE_TIMEOUT;
      else if (this.cache.size > this.maxFlows) reason = IPFIX_END_LACK_OF_RESOURCES;
      else break;
      this.cache.delete(e.hash);
      if (!templatesSent && this.lastTemplateSetTime + OVS_IPFIX_TEMPLATE_INTERVAL <= exportSec) {
        for (const m of ovsIpfixTemplateMessages(
          exportSec,
          this.seq,
          e.domain,
          this.virtualObsId !== null,
        ))
          this.send(m);
        this.lastTemplateSetTime = exportSec;
        templatesSent = true;
        this.send(
          ovsIpfixExporterStatsMessage(
            exportSec,
            this.seq++,
            this.id,
            BigInt(this.stats.txErrors + (this.collectors?.dropped ?? 0)),
          ),
        );
      }
      this.sendRecord(e, reason, exportSec);
    }
  }

  private sendRecord(e: CacheEntry, reason: number, exportSec: number): void {
    const names = ovsIpfixTemplateFieldNames(e.tkey, this.virtualObsId !== null);
    const values: IpfixValue[] = [...e.keyValues];
    if (this.virtualObsId) values.push(this.virtualObsId);
    const exportUsec = exportSec * 1_000_000;
    const t = e.totals;
    const ip = e.octetDeltaSquares !== 0;
    const b = BigInt;
    values.push(
      (exportUsec - e.startUsec) >>> 0,
      (exportUsec - e.endUsec) >>> 0,
      b(e.droppedPacketDelta),
      b(t.droppedPackets),
      b(e.packetDelta),
      b(t.packets),
      b(t.inUcast),
      b(t.inMcast),
      b(t.inBcast),
      b(t.outUcast),
      b(t.outBcast),
      b(e.postMcastPacketDelta),
      b(t.postMcastPackets),
      b(e.l2OctetDelta),
      b(t.l2Octets),
      reason,
    );
    // OVS leaves out the IP and TCP parts when they are zero, whatever the template says; it
    // never is zero for an IP or TCP record, so templates and records agree in practice.
    if (e.tkey.l3 !== 'unknown') {
      values.push(
        b(ip ? e.droppedOctetDelta : 0),
        b(ip ? t.droppedOctets : 0),
        b(ip ? e.octetDelta : 0),
        b(ip ? t.octets : 0),
        b(e.octetDeltaSquares),
        b(ip ? t.octetsSquared : 0),
        b(ip ? e.minIpLen : 0),
        b(ip ? e.maxIpLen : 0),
        b(ip ? e.postMcastOctetDelta : 0),
        b(ip ? t.postMcastOctets : 0),
      );
    }
    if (e.tkey.l4 === 'tcp') {
      values.push(b(t.tcpAck), b(t.tcpFin), b(t.tcpPsh), b(t.tcpRst), b(t.tcpSyn), b(t.tcpUrg));
    }
    if (values.length !== names.length) {
      log.errRl(`IPFIX record has ${values.length} values for ${names.length} fields`);
      return;
    }
    this.send({
      exportTime: exportSec,
      sequenceNumber: this.seq++,
      observationDomainId: e.domain,
      sets: [
        {
          kind: 'data',
          setId: ovsIpfixTemplateId(e.tkey),
          fields: names.map((n) => IE[n]),
          records: [values],
        },
      ],
    });
    this.stats.currentFlows--;
  }

  private send(m: IpfixMessage): void {
    if (!this.collectors) return;
    this.w.pos = 0;
    try {
      encodeIpfixMessage(m, this.w);
    } catch (e) {
      log.errRl(`IPFIX message not encoded: ${(e as Error).message}`);
      return;
    }
    const before = this.collectors.dropped;
    this.collectors.send(this.w.bytes(), this.targets);
    const failed = this.collectors.dropped - before;
    this.stats.txPkts += this.targets.length - failed;
  }

  snapshot(): Stats {
    return { ...this.stats, txErrors: this.stats.txErrors + (this.collectors?.dropped ?? 0) };
  }
}

interface BridgeExporter {
  exporter: Exporter;
  options: IpfixBridgeExporterOptions | null;
  probability: number;
}

interface FlowExporter {
  exporter: Exporter;
  options: IpfixFlowExporterOptions;
}

function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function sameExporterOptions(a: IpfixExporterOptions, b: IpfixExporterOptions): boolean {
  return (
    sameTargets(a.targets, b.targets) &&
    a.cacheActiveTimeout === b.cacheActiveTimeout &&
    a.cacheMaxFlows === b.cacheMaxFlows &&
    a.enableTunnelSampling === b.enableTunnelSampling &&
    a.virtualObsId === b.virtualObsId
  );
}

function sameBridgeOptions(a: IpfixBridgeExporterOptions, b: IpfixBridgeExporterOptions): boolean {
  return (
    sameExporterOptions(a, b) &&
    a.sampling === b.sampling &&
    a.obsDomainId === b.obsDomainId &&
    a.obsPointId === b.obsPointId &&
    a.enableInputSampling === b.enableInputSampling &&
    a.enableOutputSampling === b.enableOutputSampling
  );
}

/**
 * A bridge's IPFIX state (OVS's struct dpif_ipfix): its bridge exporter, its flow exporters
 * by collector set id, and its ports.
 */
export class IpfixAgent {
  private readonly now: () => number;
  private readonly bridge: BridgeExporter;
  private readonly flows = new Map<number, FlowExporter>();
  private ports = new Map<number, IpfixPort>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private closed = false;
  private readonly scratch = new Uint32Array(FLOW_WORDS);

  constructor(private readonly opts: IpfixAgentOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.bridge = { exporter: this.newExporter(), options: null, probability: 0 };
  }

  /* Ids are numbered across the process, as OVS's exporter_total_count. */
  private newExporter(id = ++exporterTotalCount): Exporter {
    return new Exporter(id, this.now, this.opts.send);
  }

  /**
   * Applies the rows; returns whether anything translation depends on changed. A bridge
   * exporter or collector set without targets is off; removed ones flush their caches.
   */
  setOptions(
    bridge: IpfixBridgeExporterOptions | null,
    flows: readonly IpfixFlowExporterOptions[],
  ): boolean {
    let changed = false;
    const be = this.bridge;
    if (!bridge || bridge.targets.length === 0) {
      if (be.options) {
        this.clearBridge();
        changed = true;
      }
    } else {
      const optsChanged = !be.options || !sameBridgeOptions(bridge, be.options);
      let ok = true;
      if (optsChanged || be.exporter.collectorCount < new Set(bridge.targets).size) {
        ok = be.exporter.configure(bridge);
        if (!ok && be.options) {
          this.clearBridge();
          changed = true;
        }
      }
      if (ok && optsChanged) {
        be.options = { ...bridge, targets: [...bridge.targets] };
        be.probability = Math.max(1, Math.floor(UINT32_MAX / Math.max(1, bridge.sampling)));
        be.exporter.expireNow(false);
        changed = true;
      }
    }

    const wanted = new Set<number>();
    for (const f of flows) {
      if (!f.ipfix || f.ipfix.targets.length === 0) continue;
      wanted.add(f.id);
      let node = this.flows.get(f.id);
      const isNew = !node;
      if (!node) {
        node = { exporter: this.newExporter(), options: f };
        this.flows.set(f.id, node);
        changed = true;
      }
      const optsChanged =
        isNew || !node.options.ipfix || !sameExporterOptions(f.ipfix, node.options.ipfix);
      if (optsChanged || node.exporter.collectorCount < new Set(f.ipfix.targets).size) {
        if (!node.exporter.configure(f.ipfix)) {
          node.exporter.close();
          this.flows.delete(f.id);
          wanted.delete(f.id);
          changed = true;
          continue;
        }
      }
      if (optsChanged) {
        node.options = { id: f.id, ipfix: { ...f.ipfix, targets: [...f.ipfix.targets] } };
        node.exporter.expireNow(false);
        changed = true;
      }
    }
    for (const [id, node] of this.flows) {
      if (wanted.has(id)) continue;
      node.exporter.close();
      this.flows.delete(id);
      changed = true;
    }
    this.schedule();
    return changed;
  }

  private clearBridge(): void {
    const be = this.bridge;
    be.exporter.close();
    // OVS reuses the cleared exporter with its id reset to 0 and its sequence restarted.
    be.exporter = this.newExporter(0);
    be.options = null;
    be.probability = 0;
  }

  setPorts(ports: readonly IpfixPort[]): void {
    this.ports = new Map(ports.map((p) => [p.odpPort, p]));
  }

  /** Bridge-wide sampling probability out of 2^32-1 (0: no bridge exporter). */
  get bridgeProbability(): number {
    return this.bridge.probability;
  }
  get inputSampling(): boolean {
    return this.bridge.options?.enableInputSampling ?? false;
  }
  get outputSampling(): boolean {
    return this.bridge.options?.enableOutputSampling ?? false;
  }
  get tunnelSampling(): boolean {
    return this.bridge.options?.enableTunnelSampling ?? false;
  }
  /** Whether a bridge exporter is configured. */
  get hasBridgeExporter(): boolean {
    return this.bridge.options !== null;
  }
  /** The collector set ids with an exporter, in id order. */
  get collectorSetIds(): number[] {
    return [...this.flows.keys()].sort((a, b) => a - b);
  }

  bridgeStats(): IpfixExporterStats | null {
    return this.bridge.options ? this.bridge.exporter.snapshot() : null;
  }

  flowStats(): IpfixExporterStats[] {
    return this.collectorSetIds.map((id) => ({
      ...(this.flows.get(id) as FlowExporter).exporter.snapshot(),
      collectorSetId: id,
    }));
  }

  /** Exporting process ids (bridge exporter first, 0 once cleared), for tests and logs. */
  exporterIds(): { bridge: number; flows: Map<number, number> } {
    return {
      bridge: this.bridge.exporter.id,
      flows: new Map([...this.flows].map(([k, v]) => [k, v.exporter.id])),
    };
  }

  /* ------------------------------------------------------------------ sampling */

  /** A packet the bridge exporter's datapath sample() handed up (the ipfix() cookie). */
  bridgeSample(
    packet: Uint8Array,
    inOdpPort: number,
    outputOdpPort: number,
    outputAction: boolean | null,
  ): void {
    const be = this.bridge;
    if (this.closed || be.probability === 0 || !be.options) return;
    const flow = this.extract(packet, inOdpPort);
    const t = flow[W_DL_TYPE] & 0xffff;
    if ((t === ETH_TYPE_IP || t === ETH_TYPE_IPV6) && (flow[W_NW] & 0xff) === IPPROTO_UDP) {
      const dst = flow[W_TP] & 0xffff;
      // BFD belongs to OVS itself and is never sampled.
      if (dst === BFD_CONTROL_DEST_PORT || dst === BFD_ECHO_DEST_PORT) return;
    }
    const n = Math.floor(UINT32_MAX / be.probability);
    this.sample(
      be.exporter,
      packet,
      flow,
      n,
      be.options.obsDomainId,
      be.options.obsPointId,
      outputOdpPort,
      'default',
      outputAction,
    );
    this.schedule();
  }

  /** A packet an OpenFlow sample action handed up (the flow_sample() cookie). */
  flowSample(
    packet: Uint8Array,
    inOdpPort: number,
    c: IpfixFlowSampleCookie,
    outputAction: boolean | null,
  ): void {
    if (this.closed || c.probability === 0) return;
    const node = this.flows.get(c.collectorSetId);
    if (!node) return;
    const flow = this.extract(packet, inOdpPort);
    this.sample(
      node.exporter,
      packet,
      flow,
      Math.floor(0xffff / c.probability),
      c.obsDomainId,
      c.obsPointId,
      c.outputPort,
      c.direction,
      outputAction,
    );
    this.schedule();
  }

  /* OVS samples the packet as it is at the userspace action: its flow is extracted anew. */
  private extract(packet: Uint8Array, inOdpPort: number): FlowKey {
    extractFlow(packet, 0, packet.length, inOdpPort, this.scratch);
    return this.scratch;
  }

  /** OVS's ipfix_cache_entry_init followed by the cache update. */
  private sample(
    ex: Exporter,
    packet: Uint8Array,
    flow: FlowKey,
    n: number,
    domain: number,
    point: number,
    outputOdpPort: number,
    direction: 'default' | 'ingress' | 'egress',
    outputAction: boolean | null,
  ): void {
    const tci = flow[W_VLAN0] & 0xffff;
    const dlType = flow[W_DL_TYPE] & 0xffff;
    const proto = flow[W_NW] & 0xff;
    let l3: OvsIpfixL3 = 'unknown';
    let l4: OvsIpfixL4 = 'unknown';
    let type: SampledType = 'others';
    if (dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) {
      const v4 = dlType === ETH_TYPE_IP;
      l3 = v4 ? 'ipv4' : 'ipv6';
      type = v4 ? 'ipv4' : 'ipv6';
      if (proto === IPPROTO_TCP) l4 = 'tcp';
      else if (proto === IPPROTO_UDP) l4 = 'udp';
      else if (proto === IPPROTO_SCTP) l4 = 'sctp';
      else if (proto === (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) l4 = 'icmp';
      else type = v4 ? 'ipv4-error' : 'ipv6-error';
    }
    const dir: 'ingress' | 'egress' =
      direction === 'ingress'
        ? 'ingress'
        : direction === 'egress'
          ? 'egress'
          : outputOdpPort === IPFIX_ODPP_NONE
            ? 'ingress'
            : 'egress';
    const tkey: OvsIpfixTemplateKey = {
      l2: tci === 0 ? 'eth' : 'vlan',
      l3,
      l4,
      tunnel: false,
      direction: dir,
    };
    const ethHeaderLen = tci === 0 ? 14 : 18;
    const dst = macBytes(flow, W_DL_DST);
    const keyValues: IpfixValue[] = [
      point >>> 0,
      dir === 'ingress' ? 0 : 1,
      macBytes(flow, W_DL_SRC),
      dst,
      dlType,
      ethHeaderLen,
      ...ifaceValues(this.ports.get(flow[W_IN_PORT])),
    ];
    if (dir === 'egress') keyValues.push(...ifaceValues(this.ports.get(outputOdpPort)));
    if (tkey.l2 === 'vlan') {
      const vid = tci & VLAN_VID_MASK;
      keyValues.push(vid, vid, (tci >>> 13) & 7);
    }
    if (l3 !== 'unknown') {
      const tos = (flow[W_NW] >>> 16) & 0xff;
      keyValues.push(
        l3 === 'ipv4' ? 4 : 6,
        (flow[W_NW] >>> 8) & 0xff,
        proto,
        tos >>> 2,
        tos >>> 5,
        tos,
      );
      if (l3 === 'ipv4') keyValues.push(flow[W_NW_SRC] >>> 0, flow[W_NW_DST] >>> 0);
      else
        keyValues.push(
          ipv6Bytes(flow, W_IPV6_SRC),
          ipv6Bytes(flow, W_IPV6_DST),
          flow[W_IPV6_LABEL] >>> 0,
        );
      if (l4 === 'tcp' || l4 === 'udp' || l4 === 'sctp')
        keyValues.push(flow[W_TP] >>> 16, flow[W_TP] & 0xffff);
      else if (l4 === 'icmp') keyValues.push((flow[W_TP] >>> 16) & 0xff, flow[W_TP] & 0xff);
    }

    const broadcast = dst.every((x) => x === 0xff);
    const multicast = !broadcast && (dst[0] & 1) === 1;
    const g = ex.global;
    const nowUsec = this.now() * 1000;
    const total = packet.length;
    const l2Octets = n * total;
    const forwarded = outputAction === true;
    const e: CacheEntry = {
      hash: keyHash(domain, ovsIpfixTemplateId(tkey), keyValues),
      domain: domain >>> 0,
      tkey,
      keyValues,
      startUsec: nowUsec,
      endUsec: nowUsec,
      droppedPacketDelta: forwarded ? 0 : n,
      packetDelta: n,
      l2OctetDelta: l2Octets,
      postMcastPacketDelta: 0,
      droppedOctetDelta: 0,
      octetDelta: 0,
      octetDeltaSquares: 0,
      minIpLen: 0,
      maxIpLen: 0,
      postMcastOctetDelta: 0,
      tcpPacketDelta: 0,
      totals: g,
    };
    g.droppedPackets += e.droppedPacketDelta;
    g.packets += n;
    g.l2Octets += l2Octets;
    if (broadcast) {
      if (dir === 'ingress') g.inBcast += n;
      else g.outBcast += n;
    } else if (multicast) {
      if (dir === 'ingress') g.inMcast += n;
      else {
        e.postMcastPacketDelta = n;
        g.postMcastPackets += n;
      }
    } else if (dir === 'ingress') g.inUcast += n;
    else g.outUcast += n;
    if (l3 !== 'unknown') {
      const ipLen = (total - ethHeaderLen) & 0xffff;
      const octets = n * ipLen;
      e.droppedOctetDelta = forwarded ? 0 : octets;
      e.octetDelta = octets;
      e.octetDeltaSquares = octets * ipLen;
      e.minIpLen = ipLen;
      e.maxIpLen = ipLen;
      g.droppedOctets += e.droppedOctetDelta;
      g.octets += octets;
      g.octetsSquared += e.octetDeltaSquares;
      if (multicast && dir === 'egress') {
        e.postMcastOctetDelta = octets;
        g.postMcastOctets += octets;
      }
    }
    if (l4 === 'tcp') {
      const f = flow[W_TCP_FLAGS] & 0xfff;
      e.tcpPacketDelta = n;
      if (f & 0x10) g.tcpAck += n;
      if (f & 0x01) g.tcpFin += n;
      if (f & 0x08) g.tcpPsh += n;
      if (f & 0x04) g.tcpRst += n;
      if (f & 0x02) g.tcpSyn += n;
      if (f & 0x20) g.tcpUrg += n;
    }
    // Records carry the totals as of their latest sample.
    e.totals = { ...g };
    ex.update(e, type);
  }

  /* ------------------------------------------------------------------ timers */

  /** Exports what has timed out (OVS's dpif_ipfix_run). */
  run(): void {
    const usec = this.now() * 1000;
    const sec = Math.ceil(usec / 1_000_000);
    if (this.bridge.probability > 0) this.bridge.exporter.expire(false, usec, sec);
    for (const f of this.flows.values()) f.exporter.expire(false, usec, sec);
  }

  /** When run() next has something to do (ms on the agent's clock), or null. */
  nextTimeoutMs(): number | null {
    let next: number | null = null;
    const consider = (t: number | null): void => {
      if (t !== null && (next === null || t < next)) next = t;
    };
    if (this.bridge.probability > 0) consider(this.bridge.exporter.nextTimeoutMs());
    for (const f of this.flows.values()) consider(f.exporter.nextTimeoutMs());
    return next;
  }

  /* Wakes run() at the next active timeout; a timer already due earlier is kept. */
  private schedule(): void {
    if (this.opts.timers === false || this.closed) return;
    const next = this.nextTimeoutMs();
    if (this.timer && next !== null && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (next === null) return;
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        try {
          this.run();
        } catch (e) {
          log.errRl(`IPFIX export failed: ${(e as Error).message}`);
        }
        this.schedule();
      },
      Math.max(0, next - this.now()) + 1,
    );
    this.timer.unref();
  }

  /** Flushes every cache (end reason "forced end") and closes the sockets. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.bridge.exporter.close();
    for (const f of this.flows.values()) f.exporter.close();
    this.flows.clear();
    this.closed = true;
  }
}

/**
 * Whether a megaflow's actions forward the packet (OVS's dpif_ipfix_read_actions): an
 * output, or one inside a clone or a 100% sample. Without one, records count the sampled
 * packets as dropped; so they do when the flow is unknown (null).
 */
export function ipfixActionsOutput(actions: readonly OdpAction[] | null): boolean | null {
  if (actions === null || actions.length === 0) return null;
  const walk = (as: readonly OdpAction[]): boolean => {
    for (const a of as) {
      if (a.type === 'output' || a.type === 'lb_output') return true;
      if (a.type === 'clone' && walk(a.actions)) return true;
      if (a.type === 'sample' && a.probability >>> 0 === UINT32_MAX && walk(a.actions)) return true;
    }
    return false;
  };
  return walk(actions);
}
