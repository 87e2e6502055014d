/*
 * The sFlow version 5 agent of one bridge (OVS's ofproto/ofproto-dpif-sflow.c, written anew).
 *
 * What a collector sees, as real ovs-vswitchd 3.1 sends it:
 * - one sampler for the whole bridge, source id PHYSICAL_ENTITY:(1000 + sub-agent id), because
 *   the datapath samples at the bridge, not per port; its sample pool grows by the sampling
 *   rate at every sample (OVS trusts the datapath's random sampler to converge);
 * - flow samples carry [extended switch, raw header] with frame_length = packet + 4 (the FCS
 *   the NIC stripped) and stripped = 4;
 * - input/output are ifIndex values of ports that have one, 0 ("unknown") for the others;
 *   ports without an ifIndex (e.g. netdev-dummy ports without options:ifindex) get no poller;
 * - a counter poller per ifIndex port sends [ethernet, openflow port, port name, generic],
 *   and the bridge poller sends [app resources, ovs dp] (when datapath stats are available);
 *   each poller first fires at a random second within its interval, then every interval;
 * - datagrams are packed up to 1400 bytes and flushed once a second; uptime counts whole
 *   seconds (in milliseconds) since the agent was (re)created.
 *
 * All work happens in tick() (once a second, from a timer unless opts.timers is false) and
 * in sample(), which only encodes into a preallocated builder. Sending never throws: errors
 * are logged rate-limited and the datagram is dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  DS_CLASS_IFINDEX,
  DS_CLASS_PHYSICAL_ENTITY,
  HEADER_PROTOCOL_ETHERNET,
  SFLOW_DEFAULT_PORT,
  SFLOW_UNDEF_COUNTER,
  type SflowAddress,
  type SflowCounterRecord,
  type SflowCountersSample,
  SflowDatagramBuilder,
  type SflowFlowRecord,
  type SflowFlowSample,
} from '../../lib/proto/sflow.ts';
import { vlog } from '../../lib/vlog.ts';

const log = vlog('sflow');

export const SFLOW_DEFAULT_SAMPLING = 400;
export const SFLOW_DEFAULT_POLLING = 30;
export const SFLOW_DEFAULT_HEADER = 128;
/** sFlow output encodings (sflow_version_5.txt, "Input/output port information"). */
export const SFLOW_OUTPUT_MULTIPLE = 0x80000000;
export const SFLOW_OUTPUT_DISCARD = 0x40000000;
/** What OVS puts in `output` for a dropped packet (discard, reason 256 "unknown"). */
export const SFLOW_OUTPUT_DROP = SFLOW_OUTPUT_DISCARD | 256;
/** Datagrams waiting in the socket before new ones are dropped. */
const MAX_IN_FLIGHT = 256;

export interface SflowSettings {
  /** An IP address or an interface name whose address is used; null: pick as OVS does. */
  agentAddress: string | null;
  /** "IP:PORT", "IP" (port 6343) or "[IPv6]:PORT". */
  targets: string[];
  /** 1-in-N; 0 disables sampling and the agent (OVS does the same). */
  sampling: number;
  /** Seconds between counter samples; 0 disables polling. */
  polling: number;
  /** Bytes of each sampled frame. */
  header: number;
}

export interface SflowPortStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxDropped?: number;
  txDropped?: number;
  rxErrors?: number;
  txErrors?: number;
  multicast?: number;
  rxBroadcast?: number;
  txMulticast?: number;
  txBroadcast?: number;
  rxFrameErrors?: number;
  rxCrcErrors?: number;
  rxOversizeErrors?: number;
}

export interface SflowPort {
  /** The kernel ifIndex (or the ifindex option of a dummy port); <= 0: none. */
  ifIndex: number;
  odpPort: number;
  /** The OpenFlow port number (the counters' openflow-port record). */
  ofpPort: number;
  name: string;
  /** Link speed; 0 when unknown (OVS then reports 100 Mb/s, duplex unknown). */
  speedBps: number;
  fullDuplex?: boolean;
  up: boolean;
  carrier: boolean;
  stats(): SflowPortStats;
}

export interface SflowDpStats {
  nHit: number;
  nMissed: number;
  nLost: number;
  nMaskHit: number;
  nFlows: number;
  nMasks: number;
}

export interface SflowAgentOptions {
  /** Wall-clock milliseconds (tests inject a fake clock). */
  now?: () => number;
  /** Replaces the UDP socket; the buffer is only valid during the call. */
  send?: (buf: Uint8Array, host: string, port: number) => void;
  /** OVS numbers sFlow bridges 0, 1, ... in bridge order: the sub-agent id. */
  subId?: number;
  /** Datapath statistics for the bridge's ovs-dp counters record. */
  dpStats?: () => SflowDpStats | null;
  /** false: no 1-second timer; the caller calls tick(). */
  timers?: boolean;
  /**
   * Called when the agent comes up later than configure()/the constructor returned (its
   * address found by a route lookup): the datapath's sampling rate must be read again.
   */
  onEnabled?: () => void;
  /** Poller phase (OVS: 1 + random() % interval); tests make it deterministic. */
  random?: () => number;
}

type Target = UdpTarget;

interface Poller {
  port: SflowPort | null;
  sourceType: number;
  sourceIndex: number;
  countdown: number;
  sequence: number;
}

/** Parses a collector target as OVS's inet_parse_active does for literals; defaultPort null:
 *  the port is required. */
export function parseSflowTarget(
  s: string,
  defaultPort: number | null = SFLOW_DEFAULT_PORT,
): Target | null {
  let host = s.trim();
  let port: number | null = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (isIP(host) !== 6) {
    const i = host.lastIndexOf(':');
    if (i >= 0) {
      port = Number(host.slice(i + 1));
      host = host.slice(0, i);
    }
  }
  const family = isIP(host);
  if (family === 0 || port === null || !Number.isInteger(port) || port <= 0 || port > 65535)
    return null;
  return { host, port, family: family as 4 | 6 };
}

export function sflowAddress(ip: string): SflowAddress | null {
  const family = isIP(ip);
  if (family === 4) {
    const p = ip.split('.').map(Number);
    return { type: 'ipv4', ipv4: ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0 };
  }
  if (family === 6) {
    const b = new Uint8Array(16);
    let [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
    if (ip.includes('.')) {
      // An embedded dotted quad takes the last two groups.
      const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
      if (m) {
        const v4 = sflowAddress(m[1]);
        if (v4?.type === 'ipv4') {
          b[12] = v4.ipv4 >>> 24;
          b[13] = (v4.ipv4 >>> 16) & 0xff;
          b[14] = (v4.ipv4 >>> 8) & 0xff;
          b[15] = v4.ipv4 & 0xff;
        }
        if (ip.includes('::')) tail = tail.slice(0, -m[1].length).replace(/:$/, '');
        else head = head.slice(0, -m[1].length).replace(/:$/, '');
      }
    }
    const hg = head ? head.split(':') : [];
    const tg = tail ? tail.split(':') : [];
    hg.forEach((g, i) => {
      b[2 * i] = parseInt(g, 16) >> 8;
      b[2 * i + 1] = parseInt(g, 16) & 0xff;
    });
    const end = ip.includes('.') ? 12 : 16;
    tg.forEach((g, i) => {
      const at = end - 2 * (tg.length - i);
      b[at] = parseInt(g, 16) >> 8;
      b[at + 1] = parseInt(g, 16) & 0xff;
    });
    // An IPv4-mapped address is reported as IPv4, as OVS does.
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
      return {
        type: 'ipv4',
        ipv4: ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0,
      };
    }
    return { type: 'ipv6', ipv6: b };
  }
  return null;
}

/** The address of a local interface (IPv4 first), as OVS's netdev_get_ip_by_name. */
function interfaceAddress(name: string): string | null {
  const addrs = networkInterfaces()[name];
  if (!addrs || addrs.length === 0) return null;
  const v4 = addrs.find((a) => a.family === 'IPv4');
  return (v4 ?? addrs[0]).address;
}

/** The local address the kernel would use towards `t` (OVS: a route lookup). */
function routeSource(t: Target): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createSocket(t.family === 6 ? 'udp6' : 'udp4');
    const done = (v: string | null) => {
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(v);
    };
    s.once('error', () => done(null));
    try {
      s.connect(t.port, t.host, () => {
        try {
          done(s.address().address);
        } catch {
          done(null);
        }
      });
    } catch {
      done(null);
    }
  });
}

function settingsEqual(a: SflowSettings, b: SflowSettings): boolean {
  return (
    a.agentAddress === b.agentAddress &&
    a.sampling === b.sampling &&
    a.polling === b.polling &&
    a.header === b.header &&
    a.targets.length === b.targets.length &&
    a.targets.every((t, i) => t === b.targets[i])
  );
}

const u32 = (v: number | undefined): number =>
  v === undefined || v < 0 ? SFLOW_UNDEF_COUNTER : v >>> 0;
const u64 = (v: number | undefined): bigint =>
  v === undefined || v < 0 ? 0xffffffffffffffffn : BigInt(Math.floor(v));

export class SflowAgent {
  private settings: SflowSettings;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly subId: number;
  private targets: Target[] = [];
  private agentIp: SflowAddress | null = null;
  private builder: SflowDatagramBuilder | null = null;
  private bootTime = 0;
  private readonly ports = new Map<number, SflowPort>();
  private pollers: Poller[] = [];
  private bridgePoller: Poller | null = null;
  private flowSequence = 0;
  private samplePool = 0;
  private countedPool = 0;
  private poolCounted = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly collectors: UdpCollectors;
  private generation = 0;
  private closed = false;
  /** Datagrams dropped because the socket backed up or failed. */
  get droppedDatagrams(): number {
    return this.collectors.dropped;
  }
  /** Datagrams handed to the network (or to opts.send). */
  get sentDatagrams(): number {
    return this.collectors.sent;
  }
  // The per-sample objects are reused: sample() allocates only the header view.
  private readonly switchRec = {
    type: 'switch' as const,
    srcVlan: 0,
    srcPriority: 0,
    dstVlan: 0,
    dstPriority: 0,
  };
  private readonly headerRec = {
    type: 'header' as const,
    protocol: HEADER_PROTOCOL_ETHERNET,
    frameLength: 0,
    stripped: 4,
    header: new Uint8Array(0) as Uint8Array,
  };
  private readonly flowSample: SflowFlowSample = {
    kind: 'flow',
    expanded: false,
    sequenceNumber: 0,
    sourceIdType: DS_CLASS_PHYSICAL_ENTITY,
    sourceIdIndex: 1000,
    samplingRate: 0,
    samplePool: 0,
    drops: 0,
    inputFormat: 0,
    input: 0,
    outputFormat: 0,
    output: 0,
    records: [this.switchRec, this.headerRec] as SflowFlowRecord[],
  };

  constructor(
    readonly bridge: string,
    readonly dpid: bigint,
    settings: SflowSettings,
    private readonly opts: SflowAgentOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? (() => Math.floor(Math.random() * 0x7fffffff));
    this.subId = opts.subId ?? 0;
    this.flowSample.sourceIdIndex = 1000 + this.subId;
    this.settings = { ...settings, targets: [...settings.targets] };
    this.collectors = new UdpCollectors(`${bridge}: sFlow`, opts.send);
    this.apply(true);
    if (opts.timers !== false) {
      this.timer = setInterval(() => this.tick(), 1000);
      this.timer.unref();
    }
  }

  /** True while the agent samples and sends (it has targets, a rate and an address). */
  get enabled(): boolean {
    return this.builder !== null;
  }

  /** The agent address datagrams carry, once known. */
  get agentAddress(): SflowAddress | null {
    return this.agentIp;
  }

  /** 1-in-N rate the datapath should sample at (0: do not sample). */
  get samplingRate(): number {
    return this.builder ? this.settings.sampling : 0;
  }

  /** OVS's datapath probability: UINT32_MAX / rate, at least 1. */
  get probability(): number {
    const r = this.samplingRate;
    return r > 0 ? Math.max(1, Math.floor(0xffffffff / r)) : 0;
  }

  configure(settings: SflowSettings): void {
    if (this.closed || settingsEqual(settings, this.settings)) return;
    this.settings = { ...settings, targets: [...settings.targets] };
    this.apply(false);
  }

  setPorts(ports: SflowPort[]): void {
    this.ports.clear();
    for (const p of ports) this.ports.set(p.odpPort, p);
    this.rebuildPollers();
  }

  sample(packet: Uint8Array, inOdpPort: number, output: number, vid: number, pcp: number): void {
    const b = this.builder;
    if (!b) return;
    const fs = this.flowSample;
    const rate = this.settings.sampling;
    this.samplePool = (this.samplePool + rate) >>> 0;
    this.flowSequence = (this.flowSequence + 1) >>> 0;
    fs.sequenceNumber = this.flowSequence;
    fs.samplingRate = rate;
    fs.samplePool = this.poolCounted ? this.countedPool : this.samplePool;
    fs.input = this.ifIndexOf(inOdpPort);
    // A bare discard (reason 0) is taken as OVS's only one, "unknown" (256).
    fs.output =
      (output & 0xc0000000) === 0
        ? this.ifIndexOf(output)
        : output >>> 0 === SFLOW_OUTPUT_DISCARD
          ? SFLOW_OUTPUT_DROP
          : output >>> 0;
    const sw = this.switchRec;
    const n = packet.length;
    if (n >= 16 && packet[12] === 0x81 && packet[13] === 0x00) {
      const tci = (packet[14] << 8) | packet[15];
      sw.srcVlan = tci & 0xfff;
      sw.srcPriority = tci >>> 13;
    } else {
      sw.srcVlan = 0;
      sw.srcPriority = 0;
    }
    sw.dstVlan = vid & 0xfff;
    sw.dstPriority = pcp & 7;
    const h = this.headerRec;
    h.frameLength = n + 4;
    h.header = packet.subarray(0, Math.min(n, this.settings.header));
    if (!b.add(fs)) log.warnRl(`sFlow sample of ${n} bytes too large for a datagram`);
  }

  countPool(_odpPort: number, n: number): void {
    this.poolCounted = true;
    this.countedPool = (this.countedPool + n) >>> 0;
  }

  /** Once a second: counter polling and the datagram flush (OVS's sfl_agent_tick). */
  tick(): void {
    const b = this.builder;
    if (!b) return;
    for (const p of this.allPollers()) {
      if (p.countdown === 0) continue;
      if (--p.countdown > 0) continue;
      p.countdown = this.settings.polling;
      this.poll(p, b);
    }
    b.flush();
  }

  close(): void {
    if (this.closed) return;
    this.builder?.flush();
    this.closed = true;
    this.builder = null;
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.collectors.close();
  }

  // ------------------------------------------------------------------ internals

  private ifIndexOf(odpPort: number): number {
    const p = this.ports.get(odpPort);
    return p && p.ifIndex > 0 ? p.ifIndex : 0;
  }

  private *allPollers(): Iterable<Poller> {
    if (this.bridgePoller) yield this.bridgePoller;
    yield* this.pollers;
  }

  private newPoller(port: SflowPort | null, type: number, index: number): Poller {
    const interval = this.settings.polling;
    return {
      port,
      sourceType: type,
      sourceIndex: index,
      countdown: interval > 0 ? 1 + (this.random() % interval) : 0,
      sequence: 0,
    };
  }

  private rebuildPollers(): void {
    if (!this.builder) {
      this.pollers = [];
      return;
    }
    const old = new Map(this.pollers.map((p) => [p.sourceIndex, p]));
    this.pollers = [];
    for (const port of this.ports.values()) {
      if (port.ifIndex <= 0) continue;
      const prev = old.get(port.ifIndex);
      if (prev) {
        prev.port = port;
        this.pollers.push(prev);
      } else {
        this.pollers.push(this.newPoller(port, DS_CLASS_IFINDEX, port.ifIndex));
      }
    }
  }

  /** (Re)creates the agent from the settings, as OVS's dpif_sflow_set_options. */
  private apply(initial: boolean): void {
    const gen = ++this.generation;
    const s = this.settings;
    const targets: Target[] = [];
    for (const t of s.targets) {
      const p = parseSflowTarget(t);
      if (p) targets.push(p);
      else log.warnRl(`${this.bridge}: ${t}: bad sFlow target`);
    }
    this.targets = targets;
    this.builder = null;
    if (targets.length === 0 || s.sampling <= 0) return;
    let ip: string | null = null;
    if (s.agentAddress) {
      ip = interfaceAddress(s.agentAddress) ?? (isIP(s.agentAddress) ? s.agentAddress : null);
    }
    if (ip) {
      this.start(ip, initial);
      return;
    }
    // No usable agent setting: the source address towards the first routable collector.
    void (async () => {
      for (const t of targets) {
        const src = await routeSource(t);
        if (gen !== this.generation) return;
        if (src) {
          this.start(src, initial);
          if (this.builder) {
            try {
              this.opts.onEnabled?.();
            } catch (e) {
              log.warnRl(`${this.bridge}: sFlow onEnabled: ${String(e)}`);
            }
          }
          return;
        }
      }
      if (gen === this.generation) log.err('could not determine IP address for sFlow agent');
    })();
  }

  private start(ip: string, initial: boolean): void {
    const addr = sflowAddress(ip);
    if (!addr) {
      log.err('could not determine IP address for sFlow agent');
      return;
    }
    if (!initial || this.bootTime === 0) log.info(`creating sFlow agent ${this.subId}`);
    this.agentIp = addr;
    // A new agent: OVS restarts uptime and every sequence number.
    this.bootTime = this.now();
    this.flowSequence = 0;
    this.samplePool = 0;
    this.builder = new SflowDatagramBuilder(
      addr,
      this.subId,
      (d) => this.transmit(d),
      // OVS's agent keeps time in whole seconds: uptime is a multiple of 1000 ms.
      () => ((Math.floor(this.now() / 1000) - Math.floor(this.bootTime / 1000)) * 1000) >>> 0,
    );
    this.bridgePoller = this.newPoller(
      null,
      DS_CLASS_PHYSICAL_ENTITY,
      this.flowSample.sourceIdIndex,
    );
    this.pollers = [];
    this.rebuildPollers();
  }

  private poll(p: Poller, b: SflowDatagramBuilder): void {
    const records: SflowCounterRecord[] = [];
    if (p.port) {
      const port = p.port;
      let st: SflowPortStats;
      try {
        st = port.stats();
      } catch (e) {
        log.warnRl(`${port.name}: cannot read statistics: ${String(e)}`);
        return;
      }
      const speed = port.speedBps > 0 ? port.speedBps : 100_000_000;
      const direction = port.speedBps > 0 ? (port.fullDuplex === false ? 2 : 1) : 0;
      const ethernet: SflowCounterRecord = {
        type: 'ethernet',
        dot3StatsAlignmentErrors: u32(st.rxFrameErrors),
        dot3StatsFCSErrors: u32(st.rxCrcErrors),
        dot3StatsSingleCollisionFrames: SFLOW_UNDEF_COUNTER,
        dot3StatsMultipleCollisionFrames: SFLOW_UNDEF_COUNTER,
        dot3StatsSQETestErrors: SFLOW_UNDEF_COUNTER,
        dot3StatsDeferredTransmissions: SFLOW_UNDEF_COUNTER,
        dot3StatsLateCollisions: SFLOW_UNDEF_COUNTER,
        dot3StatsExcessiveCollisions: SFLOW_UNDEF_COUNTER,
        dot3StatsInternalMacTransmitErrors: SFLOW_UNDEF_COUNTER,
        dot3StatsCarrierSenseErrors: SFLOW_UNDEF_COUNTER,
        dot3StatsFrameTooLongs: u32(st.rxOversizeErrors),
        dot3StatsInternalMacReceiveErrors: SFLOW_UNDEF_COUNTER,
        dot3StatsSymbolErrors: SFLOW_UNDEF_COUNTER,
      };
      records.push(
        ethernet,
        { type: 'openflow-port', datapathId: this.dpid, portNo: port.ofpPort >>> 0 },
        { type: 'port-name', name: port.name },
        {
          type: 'generic',
          ifIndex: p.sourceIndex,
          ifType: 6,
          ifSpeed: BigInt(speed),
          ifDirection: direction,
          ifStatus: port.up ? (port.carrier ? 3 : 1) : 0,
          ifInOctets: u64(st.rxBytes),
          ifInUcastPkts: u32(st.rxPackets),
          ifInMulticastPkts: u32(st.multicast),
          ifInBroadcastPkts: u32(st.rxBroadcast),
          ifInDiscards: u32(st.rxDropped),
          ifInErrors: u32(st.rxErrors),
          ifInUnknownProtos: SFLOW_UNDEF_COUNTER,
          ifOutOctets: u64(st.txBytes),
          ifOutUcastPkts: u32(st.txPackets),
          ifOutMulticastPkts: u32(st.txMulticast),
          ifOutBroadcastPkts: u32(st.txBroadcast),
          ifOutDiscards: u32(st.txDropped),
          ifOutErrors: u32(st.txErrors),
          ifPromiscuousMode: 0,
        },
      );
    } else {
      const ru = process.resourceUsage();
      records.push({
        type: 'app-resources',
        userTime: Math.floor(ru.userCPUTime / 1000) >>> 0,
        systemTime: Math.floor(ru.systemCPUTime / 1000) >>> 0,
        memUsed: BigInt(ru.maxRSS) * 1024n,
        memMax: 0n,
        fdOpen: 0,
        fdMax: 0,
        connOpen: 0,
        connMax: 0,
      });
      const dp = this.opts.dpStats?.();
      if (dp) records.push({ type: 'ovs-dp', ...dp });
    }
    p.sequence = (p.sequence + 1) >>> 0;
    const cs: SflowCountersSample = {
      kind: 'counters',
      expanded: false,
      sequenceNumber: p.sequence,
      sourceIdType: p.sourceType,
      sourceIdIndex: p.sourceIndex,
      records,
    };
    b.add(cs);
  }

  private transmit(d: Uint8Array): void {
    this.collectors.send(d, this.targets);
  }
}

export interface UdpTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Datagrams to a set of UDP collectors (OVS's ofproto/collectors.c): one socket per address
 * family, a bounded number of sends in flight, failures logged rate-limited and counted,
 * never thrown.
 */
export class UdpCollectors {
  private sock4: Socket | null = null;
  private sock6: Socket | null = null;
  private inFlight = 0;
  private closed = false;
  dropped = 0;
  sent = 0;

  constructor(
    private readonly what: string,
    private readonly sendHook?: (buf: Uint8Array, host: string, port: number) => void,
  ) {}

  /** `d` may be reused by the caller as soon as this returns. */
  send(d: Uint8Array, targets: readonly UdpTarget[]): void {
    if (this.closed) return;
    if (this.sendHook) {
      for (const t of targets) {
        try {
          this.sendHook(d, t.host, t.port);
          this.sent++;
        } catch (e) {
          this.dropped++;
          log.warnRl(`${this.what} send to ${t.host}:${t.port}: ${String(e)}`);
        }
      }
      return;
    }
    const copy = Buffer.from(d);
    for (const t of targets) {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        this.dropped++;
        log.warnRl(`${this.what} send queue full, datagram dropped`);
        continue;
      }
      this.inFlight++;
      try {
        this.socket(t.family).send(copy, t.port, t.host, (err) => {
          this.inFlight--;
          if (this.closed && this.inFlight === 0) this.closeSockets();
          if (err) {
            this.dropped++;
            log.warnRl(`${this.what} send to ${t.host}:${t.port}: ${err.message}`);
          } else this.sent++;
        });
      } catch (e) {
        this.inFlight--;
        this.dropped++;
        log.warnRl(`${this.what} send to ${t.host}:${t.port}: ${String(e)}`);
      }
    }
  }

  /*
   * Datagrams still queued when the agent goes (the last records of a removed exporter) are
   * sent first: the sockets close once nothing is in flight, or after a second at most.
   */
  close(): void {
    this.closed = true;
    if (this.inFlight === 0) this.closeSockets();
    else setTimeout(() => this.closeSockets(), 1000).unref();
  }

  private closeSockets(): void {
    for (const s of [this.sock4, this.sock6]) {
      try {
        s?.close();
      } catch {
        // already closed
      }
    }
    this.sock4 = this.sock6 = null;
  }

  private socket(family: 4 | 6): Socket {
    let s = family === 6 ? this.sock6 : this.sock4;
    if (!s) {
      s = createSocket(family === 6 ? 'udp6' : 'udp4');
      s.on('error', (e) => log.warnRl(`${this.what} socket: ${e.message}`));
      s.unref();
      if (family === 6) this.sock6 = s;
      else this.sock4 = s;
    }
    return s;
  }
}
