/*
 * sFlow version 5 datagrams (sflow.org, sflow_version_5.txt), as Open vSwitch's agent
 * (lib/sflow_receiver.c) lays them out: XDR, every field a big-endian 32-bit word, opaque
 * data padded to a multiple of four bytes.
 *
 * OVS sends the compact sample forms (flow_sample = format 1, counters_sample = format 2,
 * source id = class << 24 | index); the expanded forms (3, 4) decode and encode too.
 * Records are tagged `enterprise << 12 | format`; records this codec does not model come
 * back as `unknown` with their bytes, so a decoded datagram re-encodes identically.
 *
 * Record order inside a sample is the agent's business. OVS builds its lists by prepending,
 * so a flow sample carries [extended switch, raw header, (mpls, tunnel egress/ingress ...)]
 * and a port's counters sample [ethernet, openflow port, port name, (lacp), generic].
 *
 * Nothing here allocates per flow sample: a sampler on the hot path keeps one
 * SflowFlowSample (and its two records) and overwrites its fields before each add().
 */
import { type DecodeError, decodeWith, Reader, Writer } from './codec.ts';

export const SFLOW_VERSION_5 = 5;
export const SFLOW_DEFAULT_PORT = 6343;
/** OVS's default and maximum datagram sizes (lib/sflow.h). */
export const SFLOW_DEFAULT_DATAGRAM_SIZE = 1400;
export const SFLOW_MAX_DATAGRAM_SIZE = 1500;
export const SFLOW_MIN_DATAGRAM_SIZE = 200;

export const SAMPLE_FLOW = 1;
export const SAMPLE_COUNTERS = 2;
export const SAMPLE_FLOW_EXPANDED = 3;
export const SAMPLE_COUNTERS_EXPANDED = 4;

export const FLOW_HEADER = 1;
export const FLOW_ETHERNET = 2;
export const FLOW_IPV4 = 3;
export const FLOW_IPV6 = 4;
export const FLOW_EX_SWITCH = 1001;
export const FLOW_EX_MPLS = 1006;
export const FLOW_EX_IPV4_TUNNEL_EGRESS = 1023;
export const FLOW_EX_IPV4_TUNNEL_INGRESS = 1024;
export const FLOW_EX_VNI_EGRESS = 1029;
export const FLOW_EX_VNI_INGRESS = 1030;

export const COUNTERS_GENERIC = 1;
export const COUNTERS_ETHERNET = 2;
export const COUNTERS_VLAN = 5;
export const COUNTERS_LACP = 7;
export const COUNTERS_OPENFLOW_PORT = 1004;
export const COUNTERS_PORT_NAME = 1005;
export const COUNTERS_APP_RESOURCES = 2203;
export const COUNTERS_OVS_DP = 2207;

export const HEADER_PROTOCOL_ETHERNET = 1;
export const DS_CLASS_IFINDEX = 0;
export const DS_CLASS_PHYSICAL_ENTITY = 2;
/** The "undefined" value of a counter (all ones) and of a gauge (zero). */
export const SFLOW_UNDEF_COUNTER = 0xffffffff;

export type SflowAddress = { type: 'ipv4'; ipv4: number } | { type: 'ipv6'; ipv6: Uint8Array };

export interface SflowDatagram {
  agentAddress: SflowAddress;
  subAgentId: number;
  sequenceNumber: number;
  /** Milliseconds since the agent booted. */
  uptime: number;
  samples: SflowSample[];
}

export type SflowSample = SflowFlowSample | SflowCountersSample | SflowUnknownSample;

export interface SflowFlowSample {
  kind: 'flow';
  /** Expanded form (format 3): 32-bit source index and interface formats. */
  expanded: boolean;
  sequenceNumber: number;
  sourceIdType: number;
  sourceIdIndex: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  /** Compact form: the raw 32-bit interface words (top 2 bits format). Expanded: format/value. */
  inputFormat: number;
  input: number;
  outputFormat: number;
  output: number;
  records: SflowFlowRecord[];
}

export interface SflowCountersSample {
  kind: 'counters';
  expanded: boolean;
  sequenceNumber: number;
  sourceIdType: number;
  sourceIdIndex: number;
  records: SflowCounterRecord[];
}

export interface SflowUnknownSample {
  kind: 'unknown';
  /** enterprise << 12 | format */
  tag: number;
  data: Uint8Array;
}

export interface SflowIpv4Info {
  length: number;
  protocol: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  tos: number;
}

export type SflowFlowRecord =
  | {
      type: 'header';
      protocol: number;
      frameLength: number;
      stripped: number;
      /** The sampled bytes (header_length is their count). */
      header: Uint8Array;
    }
  | { type: 'ethernet'; length: number; src: string; dst: string; ethType: number }
  | ({ type: 'ipv4' | 'ipv4-tunnel-egress' | 'ipv4-tunnel-ingress' } & SflowIpv4Info)
  | {
      type: 'ipv6';
      length: number;
      protocol: number;
      src: Uint8Array;
      dst: Uint8Array;
      srcPort: number;
      dstPort: number;
      tcpFlags: number;
      priority: number;
    }
  | { type: 'switch'; srcVlan: number; srcPriority: number; dstVlan: number; dstPriority: number }
  | { type: 'mpls'; nextHop: SflowAddress; inStack: number[]; outStack: number[] }
  | { type: 'vni-egress' | 'vni-ingress'; vni: number }
  | { type: 'unknown'; tag: number; data: Uint8Array };

export interface SflowGenericCounters {
  ifIndex: number;
  ifType: number;
  ifSpeed: bigint;
  /** 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out (RFC 2668). */
  ifDirection: number;
  /** bit 0 admin up, bit 1 oper up */
  ifStatus: number;
  ifInOctets: bigint;
  ifInUcastPkts: number;
  ifInMulticastPkts: number;
  ifInBroadcastPkts: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifInUnknownProtos: number;
  ifOutOctets: bigint;
  ifOutUcastPkts: number;
  ifOutMulticastPkts: number;
  ifOutBroadcastPkts: number;
  ifOutDiscards: number;
  ifOutErrors: number;
  ifPromiscuousMode: number;
}

export const ETHERNET_COUNTER_NAMES = [
  'dot3StatsAlignmentErrors',
  'dot3StatsFCSErrors',
  'dot3StatsSingleCollisionFrames',
  'dot3StatsMultipleCollisionFrames',
  'dot3StatsSQETestErrors',
  'dot3StatsDeferredTransmissions',
  'dot3StatsLateCollisions',
  'dot3StatsExcessiveCollisions',
  'dot3StatsInternalMacTransmitErrors',
  'dot3StatsCarrierSenseErrors',
  'dot3StatsFrameTooLongs',
  'dot3StatsInternalMacReceiveErrors',
  'dot3StatsSymbolErrors',
] as const;
export type SflowEthernetCounters = Record<(typeof ETHERNET_COUNTER_NAMES)[number], number>;

export interface SflowLacpCounters {
  actorSystemId: string;
  partnerSystemId: string;
  attachedAggId: number;
  actorAdminState: number;
  actorOperState: number;
  partnerAdminState: number;
  partnerOperState: number;
  lacpdusRx: number;
  markerPdusRx: number;
  markerResponsePdusRx: number;
  unknownRx: number;
  illegalRx: number;
  lacpdusTx: number;
  markerPdusTx: number;
  markerResponsePdusTx: number;
}

export interface SflowAppResources {
  userTime: number;
  systemTime: number;
  memUsed: bigint;
  memMax: bigint;
  fdOpen: number;
  fdMax: number;
  connOpen: number;
  connMax: number;
}

export interface SflowOvsDpCounters {
  nHit: number;
  nMissed: number;
  nLost: number;
  nMaskHit: number;
  nFlows: number;
  nMasks: number;
}

export type SflowCounterRecord =
  | ({ type: 'generic' } & SflowGenericCounters)
  | ({ type: 'ethernet' } & SflowEthernetCounters)
  | {
      type: 'vlan';
      vlanId: number;
      octets: bigint;
      ucastPkts: number;
      multicastPkts: number;
      broadcastPkts: number;
      discards: number;
    }
  | ({ type: 'lacp' } & SflowLacpCounters)
  | { type: 'openflow-port'; datapathId: bigint; portNo: number }
  | { type: 'port-name'; name: string }
  | ({ type: 'app-resources' } & SflowAppResources)
  | ({ type: 'ovs-dp' } & SflowOvsDpCounters)
  | { type: 'unknown'; tag: number; data: Uint8Array };

// ---------------------------------------------------------------- sizes

const pad4 = (n: number): number => (n + 3) & ~3;
const addressSize = (a: SflowAddress): number => (a.type === 'ipv6' ? 20 : 8);
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

function flowRecordBodySize(r: SflowFlowRecord): number {
  switch (r.type) {
    case 'header':
      return 16 + pad4(r.header.length);
    case 'ethernet':
      return 24;
    case 'ipv4':
    case 'ipv4-tunnel-egress':
    case 'ipv4-tunnel-ingress':
      return 32;
    case 'ipv6':
      return 56;
    case 'switch':
      return 16;
    case 'mpls':
      return addressSize(r.nextHop) + 8 + 4 * (r.inStack.length + r.outStack.length);
    case 'vni-egress':
    case 'vni-ingress':
      return 4;
    case 'unknown':
      return pad4(r.data.length);
  }
}

function counterRecordBodySize(r: SflowCounterRecord): number {
  switch (r.type) {
    case 'generic':
      return 88;
    case 'ethernet':
      return 52;
    case 'vlan':
      return 28;
    case 'lacp':
      return 56;
    case 'openflow-port':
      return 12;
    case 'port-name':
      return 4 + pad4(utf8.encode(r.name).length);
    case 'app-resources':
      return 40;
    case 'ovs-dp':
      return 24;
    case 'unknown':
      return pad4(r.data.length);
  }
}

/** Bytes a sample takes in a datagram, its own tag and length words included. */
export function sflowSampleSize(s: SflowSample): number {
  if (s.kind === 'flow') {
    let n = 8 + (s.expanded ? 44 : 32);
    for (const r of s.records) n += 8 + flowRecordBodySize(r);
    return n;
  }
  if (s.kind === 'counters') {
    let n = 8 + (s.expanded ? 16 : 12);
    for (const r of s.records) n += 8 + counterRecordBodySize(r);
    return n;
  }
  return 8 + pad4(s.data.length);
}

export function sflowHeaderSize(agent: SflowAddress): number {
  return 4 + addressSize(agent) + 16;
}

// ---------------------------------------------------------------- encode

function putAddress(w: Writer, a: SflowAddress): void {
  if (a.type === 'ipv4') {
    w.u32(1);
    w.u32(a.ipv4);
  } else {
    w.u32(2);
    w.put(a.ipv6, 16);
  }
}

function putOpaque(w: Writer, data: Uint8Array): void {
  w.put(data);
  w.zeros(pad4(data.length) - data.length);
}

function putIpv4Info(w: Writer, r: SflowIpv4Info): void {
  w.u32(r.length);
  w.u32(r.protocol);
  w.u32(r.src);
  w.u32(r.dst);
  w.u32(r.srcPort);
  w.u32(r.dstPort);
  w.u32(r.tcpFlags);
  w.u32(r.tos);
}

const FLOW_TAGS: Record<Exclude<SflowFlowRecord['type'], 'unknown'>, number> = {
  header: FLOW_HEADER,
  ethernet: FLOW_ETHERNET,
  ipv4: FLOW_IPV4,
  ipv6: FLOW_IPV6,
  switch: FLOW_EX_SWITCH,
  mpls: FLOW_EX_MPLS,
  'ipv4-tunnel-egress': FLOW_EX_IPV4_TUNNEL_EGRESS,
  'ipv4-tunnel-ingress': FLOW_EX_IPV4_TUNNEL_INGRESS,
  'vni-egress': FLOW_EX_VNI_EGRESS,
  'vni-ingress': FLOW_EX_VNI_INGRESS,
};

export function encodeSflowFlowRecord(r: SflowFlowRecord, w: Writer): void {
  w.u32(r.type === 'unknown' ? r.tag : FLOW_TAGS[r.type]);
  w.u32(flowRecordBodySize(r));
  switch (r.type) {
    case 'header':
      w.u32(r.protocol);
      w.u32(r.frameLength);
      w.u32(r.stripped);
      w.u32(r.header.length);
      putOpaque(w, r.header);
      break;
    case 'ethernet':
      w.u32(r.length);
      w.mac(r.src);
      w.zeros(2);
      w.mac(r.dst);
      w.zeros(2);
      w.u32(r.ethType);
      break;
    case 'ipv4':
    case 'ipv4-tunnel-egress':
    case 'ipv4-tunnel-ingress':
      putIpv4Info(w, r);
      break;
    case 'ipv6':
      w.u32(r.length);
      w.u32(r.protocol);
      w.put(r.src, 16);
      w.put(r.dst, 16);
      w.u32(r.srcPort);
      w.u32(r.dstPort);
      w.u32(r.tcpFlags);
      w.u32(r.priority);
      break;
    case 'switch':
      w.u32(r.srcVlan);
      w.u32(r.srcPriority);
      w.u32(r.dstVlan);
      w.u32(r.dstPriority);
      break;
    case 'mpls':
      putAddress(w, r.nextHop);
      w.u32(r.inStack.length);
      for (const l of r.inStack) w.u32(l);
      w.u32(r.outStack.length);
      for (const l of r.outStack) w.u32(l);
      break;
    case 'vni-egress':
    case 'vni-ingress':
      w.u32(r.vni);
      break;
    case 'unknown':
      putOpaque(w, r.data);
      break;
  }
}

const COUNTER_TAGS: Record<Exclude<SflowCounterRecord['type'], 'unknown'>, number> = {
  generic: COUNTERS_GENERIC,
  ethernet: COUNTERS_ETHERNET,
  vlan: COUNTERS_VLAN,
  lacp: COUNTERS_LACP,
  'openflow-port': COUNTERS_OPENFLOW_PORT,
  'port-name': COUNTERS_PORT_NAME,
  'app-resources': COUNTERS_APP_RESOURCES,
  'ovs-dp': COUNTERS_OVS_DP,
};

export function encodeSflowCounterRecord(r: SflowCounterRecord, w: Writer): void {
  w.u32(r.type === 'unknown' ? r.tag : COUNTER_TAGS[r.type]);
  w.u32(counterRecordBodySize(r));
  switch (r.type) {
    case 'generic':
      w.u32(r.ifIndex);
      w.u32(r.ifType);
      w.u64(r.ifSpeed);
      w.u32(r.ifDirection);
      w.u32(r.ifStatus);
      w.u64(r.ifInOctets);
      w.u32(r.ifInUcastPkts);
      w.u32(r.ifInMulticastPkts);
      w.u32(r.ifInBroadcastPkts);
      w.u32(r.ifInDiscards);
      w.u32(r.ifInErrors);
      w.u32(r.ifInUnknownProtos);
      w.u64(r.ifOutOctets);
      w.u32(r.ifOutUcastPkts);
      w.u32(r.ifOutMulticastPkts);
      w.u32(r.ifOutBroadcastPkts);
      w.u32(r.ifOutDiscards);
      w.u32(r.ifOutErrors);
      w.u32(r.ifPromiscuousMode);
      break;
    case 'ethernet':
      for (const k of ETHERNET_COUNTER_NAMES) w.u32(r[k]);
      break;
    case 'vlan':
      w.u32(r.vlanId);
      w.u64(r.octets);
      w.u32(r.ucastPkts);
      w.u32(r.multicastPkts);
      w.u32(r.broadcastPkts);
      w.u32(r.discards);
      break;
    case 'lacp':
      w.mac(r.actorSystemId);
      w.zeros(2);
      w.mac(r.partnerSystemId);
      w.zeros(2);
      w.u32(r.attachedAggId);
      // The four state octets go out in this order, not as a number (OVS's put32).
      w.u8(r.actorAdminState);
      w.u8(r.actorOperState);
      w.u8(r.partnerAdminState);
      w.u8(r.partnerOperState);
      w.u32(r.lacpdusRx);
      w.u32(r.markerPdusRx);
      w.u32(r.markerResponsePdusRx);
      w.u32(r.unknownRx);
      w.u32(r.illegalRx);
      w.u32(r.lacpdusTx);
      w.u32(r.markerPdusTx);
      w.u32(r.markerResponsePdusTx);
      break;
    case 'openflow-port':
      w.u64(r.datapathId);
      w.u32(r.portNo);
      break;
    case 'port-name': {
      const b = utf8.encode(r.name);
      w.u32(b.length);
      putOpaque(w, b);
      break;
    }
    case 'app-resources':
      w.u32(r.userTime);
      w.u32(r.systemTime);
      w.u64(r.memUsed);
      w.u64(r.memMax);
      w.u32(r.fdOpen);
      w.u32(r.fdMax);
      w.u32(r.connOpen);
      w.u32(r.connMax);
      break;
    case 'ovs-dp':
      w.u32(r.nHit);
      w.u32(r.nMissed);
      w.u32(r.nLost);
      w.u32(r.nMaskHit);
      w.u32(r.nFlows);
      w.u32(r.nMasks);
      break;
    case 'unknown':
      putOpaque(w, r.data);
      break;
  }
}

export function encodeSflowSample(s: SflowSample, w: Writer): void {
  const size = sflowSampleSize(s);
  if (s.kind === 'unknown') {
    w.u32(s.tag);
    w.u32(size - 8);
    putOpaque(w, s.data);
    return;
  }
  if (s.kind === 'flow') {
    w.u32(s.expanded ? SAMPLE_FLOW_EXPANDED : SAMPLE_FLOW);
    w.u32(size - 8);
    w.u32(s.sequenceNumber);
    if (s.expanded) {
      w.u32(s.sourceIdType);
      w.u32(s.sourceIdIndex);
    } else {
      w.u32(((s.sourceIdType & 0xff) << 24) | (s.sourceIdIndex & 0xffffff));
    }
    w.u32(s.samplingRate);
    w.u32(s.samplePool);
    w.u32(s.drops);
    if (s.expanded) {
      w.u32(s.inputFormat);
      w.u32(s.input);
      w.u32(s.outputFormat);
      w.u32(s.output);
    } else {
      w.u32(s.input);
      w.u32(s.output);
    }
    w.u32(s.records.length);
    for (const r of s.records) encodeSflowFlowRecord(r, w);
    return;
  }
  w.u32(s.expanded ? SAMPLE_COUNTERS_EXPANDED : SAMPLE_COUNTERS);
  w.u32(size - 8);
  w.u32(s.sequenceNumber);
  if (s.expanded) {
    w.u32(s.sourceIdType);
    w.u32(s.sourceIdIndex);
  } else {
    w.u32(((s.sourceIdType & 0xff) << 24) | (s.sourceIdIndex & 0xffffff));
  }
  w.u32(s.records.length);
  for (const r of s.records) encodeSflowCounterRecord(r, w);
}

/** Appends a whole datagram at w.pos; returns its length. */
export function encodeSflowDatagram(d: SflowDatagram, w: Writer): number {
  const start = w.pos;
  w.u32(SFLOW_VERSION_5);
  putAddress(w, d.agentAddress);
  w.u32(d.subAgentId);
  w.u32(d.sequenceNumber);
  w.u32(d.uptime);
  w.u32(d.samples.length);
  for (const s of d.samples) encodeSflowSample(s, w);
  return w.pos - start;
}

// ---------------------------------------------------------------- decode

function getAddress(r: Reader): SflowAddress {
  const at = r.pos;
  const t = r.u32('address type');
  if (t === 1) return { type: 'ipv4', ipv4: r.u32('IPv4 address') };
  if (t === 2) return { type: 'ipv6', ipv6: r.bytes(16, 'IPv6 address') };
  return r.fail(`unknown address type ${t}`, at);
}

function getIpv4Info(r: Reader): SflowIpv4Info {
  return {
    length: r.u32(),
    protocol: r.u32(),
    src: r.u32(),
    dst: r.u32(),
    srcPort: r.u32(),
    dstPort: r.u32(),
    tcpFlags: r.u32(),
    tos: r.u32(),
  };
}

function exact(r: Reader, what: string): void {
  if (r.remaining !== 0) r.fail(`${r.remaining} unexpected trailing bytes in ${what}`);
}

function decodeFlowRecord(tag: number, r: Reader): SflowFlowRecord {
  let rec: SflowFlowRecord;
  switch (tag) {
    case FLOW_HEADER: {
      const protocol = r.u32();
      const frameLength = r.u32();
      const stripped = r.u32();
      const len = r.u32('header length');
      const header = r.bytes(len, 'sampled header');
      r.skip(pad4(len) - len);
      rec = { type: 'header', protocol, frameLength, stripped, header };
      break;
    }
    case FLOW_ETHERNET: {
      const length = r.u32();
      const src = r.mac();
      r.skip(2);
      const dst = r.mac();
      r.skip(2);
      rec = { type: 'ethernet', length, src, dst, ethType: r.u32() };
      break;
    }
    case FLOW_IPV4:
      rec = { type: 'ipv4', ...getIpv4Info(r) };
      break;
    case FLOW_EX_IPV4_TUNNEL_EGRESS:
      rec = { type: 'ipv4-tunnel-egress', ...getIpv4Info(r) };
      break;
    case FLOW_EX_IPV4_TUNNEL_INGRESS:
      rec = { type: 'ipv4-tunnel-ingress', ...getIpv4Info(r) };
      break;
    case FLOW_IPV6:
      rec = {
        type: 'ipv6',
        length: r.u32(),
        protocol: r.u32(),
        src: r.bytes(16),
        dst: r.bytes(16),
        srcPort: r.u32(),
        dstPort: r.u32(),
        tcpFlags: r.u32(),
        priority: r.u32(),
      };
      break;
    case FLOW_EX_SWITCH:
      rec = {
        type: 'switch',
        srcVlan: r.u32(),
        srcPriority: r.u32(),
        dstVlan: r.u32(),
        dstPriority: r.u32(),
      };
      break;
    case FLOW_EX_MPLS: {
      const nextHop = getAddress(r);
      const stack = (): number[] => {
        const n = r.u32('label stack depth');
        r.need(4 * n, 'label stack');
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push(r.u32());
        return out;
      };
      const inStack = stack();
      rec = { type: 'mpls', nextHop, inStack, outStack: stack() };
      break;
    }
    case FLOW_EX_VNI_EGRESS:
      rec = { type: 'vni-egress', vni: r.u32() };
      break;
    case FLOW_EX_VNI_INGRESS:
      rec = { type: 'vni-ingress', vni: r.u32() };
      break;
    default:
      return { type: 'unknown', tag, data: r.bytes(r.remaining) };
  }
  exact(r, 'flow record');
  return rec;
}

function decodeCounterRecord(tag: number, r: Reader): SflowCounterRecord {
  let rec: SflowCounterRecord;
  switch (tag) {
    case COUNTERS_GENERIC:
      rec = {
        type: 'generic',
        ifIndex: r.u32(),
        ifType: r.u32(),
        ifSpeed: r.u64(),
        ifDirection: r.u32(),
        ifStatus: r.u32(),
        ifInOctets: r.u64(),
        ifInUcastPkts: r.u32(),
        ifInMulticastPkts: r.u32(),
        ifInBroadcastPkts: r.u32(),
        ifInDiscards: r.u32(),
        ifInErrors: r.u32(),
        ifInUnknownProtos: r.u32(),
        ifOutOctets: r.u64(),
        ifOutUcastPkts: r.u32(),
        ifOutMulticastPkts: r.u32(),
        ifOutBroadcastPkts: r.u32(),
        ifOutDiscards: r.u32(),
        ifOutErrors: r.u32(),
        ifPromiscuousMode: r.u32(),
      };
      break;
    case COUNTERS_ETHERNET: {
      const e = { type: 'ethernet' } as { type: 'ethernet' } & SflowEthernetCounters;
      for (const k of ETHERNET_COUNTER_NAMES) e[k] = r.u32();
      rec = e;
      break;
    }
    case COUNTERS_VLAN:
      rec = {
        type: 'vlan',
        vlanId: r.u32(),
        octets: r.u64(),
        ucastPkts: r.u32(),
        multicastPkts: r.u32(),
        broadcastPkts: r.u32(),
        discards: r.u32(),
      };
      break;
    case COUNTERS_LACP: {
      const actorSystemId = r.mac();
      r.skip(2);
      const partnerSystemId = r.mac();
      r.skip(2);
      rec = {
        type: 'lacp',
        actorSystemId,
        partnerSystemId,
        attachedAggId: r.u32(),
        actorAdminState: r.u8(),
        actorOperState: r.u8(),
        partnerAdminState: r.u8(),
        partnerOperState: r.u8(),
        lacpdusRx: r.u32(),
        markerPdusRx: r.u32(),
        markerResponsePdusRx: r.u32(),
        unknownRx: r.u32(),
        illegalRx: r.u32(),
        lacpdusTx: r.u32(),
        markerPdusTx: r.u32(),
        markerResponsePdusTx: r.u32(),
      };
      break;
    }
    case COUNTERS_OPENFLOW_PORT:
      rec = { type: 'openflow-port', datapathId: r.u64(), portNo: r.u32() };
      break;
    case COUNTERS_PORT_NAME: {
      const len = r.u32('port name length');
      const name = utf8d.decode(r.bytes(len, 'port name'));
      r.skip(pad4(len) - len);
      rec = { type: 'port-name', name };
      break;
    }
    case COUNTERS_APP_RESOURCES:
      rec = {
        type: 'app-resources',
        userTime: r.u32(),
        systemTime: r.u32(),
        memUsed: r.u64(),
        memMax: r.u64(),
        fdOpen: r.u32(),
        fdMax: r.u32(),
        connOpen: r.u32(),
        connMax: r.u32(),
      };
      break;
    case COUNTERS_OVS_DP:
      rec = {
        type: 'ovs-dp',
        nHit: r.u32(),
        nMissed: r.u32(),
        nLost: r.u32(),
        nMaskHit: r.u32(),
        nFlows: r.u32(),
        nMasks: r.u32(),
      };
      break;
    default:
      return { type: 'unknown', tag, data: r.bytes(r.remaining) };
  }
  exact(r, 'counter record');
  return rec;
}

function decodeRecords<T>(r: Reader, n: number, decode: (tag: number, r: Reader) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.u32('record tag');
    const at = r.pos;
    const len = r.u32('record length');
    if (len % 4 !== 0) r.fail(`record length ${len} is not a multiple of 4`, at);
    out.push(decode(tag, r.sub(len, 'record')));
  }
  return out;
}

function decodeSample(tag: number, r: Reader): SflowSample {
  switch (tag) {
    case SAMPLE_FLOW:
    case SAMPLE_FLOW_EXPANDED: {
      const expanded = tag === SAMPLE_FLOW_EXPANDED;
      const sequenceNumber = r.u32();
      let sourceIdType: number;
      let sourceIdIndex: number;
      if (expanded) {
        sourceIdType = r.u32();
        sourceIdIndex = r.u32();
      } else {
        const id = r.u32();
        sourceIdType = id >>> 24;
        sourceIdIndex = id & 0xffffff;
      }
      const samplingRate = r.u32();
      const samplePool = r.u32();
      const drops = r.u32();
      let inputFormat = 0;
      let outputFormat = 0;
      let input: number;
      let output: number;
      if (expanded) {
        inputFormat = r.u32();
        input = r.u32();
        outputFormat = r.u32();
        output = r.u32();
      } else {
        input = r.u32();
        output = r.u32();
      }
      const n = r.u32('record count');
      const records = decodeRecords(r, n, decodeFlowRecord);
      exact(r, 'flow sample');
      return {
        kind: 'flow',
        expanded,
        sequenceNumber,
        sourceIdType,
        sourceIdIndex,
        samplingRate,
        samplePool,
        drops,
        inputFormat,
        input,
        outputFormat,
        output,
        records,
      };
    }
    case SAMPLE_COUNTERS:
    case SAMPLE_COUNTERS_EXPANDED: {
      const expanded = tag === SAMPLE_COUNTERS_EXPANDED;
      const sequenceNumber = r.u32();
      let sourceIdType: number;
      let sourceIdIndex: number;
      if (expanded) {
        sourceIdType = r.u32();
        sourceIdIndex = r.u32();
      } else {
        const id = r.u32();
        sourceIdType = id >>> 24;
        sourceIdIndex = id & 0xffffff;
      }
      const n = r.u32('record count');
      const records = decodeRecords(r, n, decodeCounterRecord);
      exact(r, 'counters sample');
      return { kind: 'counters', expanded, sequenceNumber, sourceIdType, sourceIdIndex, records };
    }
    default:
      return { kind: 'unknown', tag, data: r.bytes(r.remaining) };
  }
}

export function decodeSflowDatagram(bytes: Uint8Array): SflowDatagram | DecodeError {
  return decodeWith('sflow', () => {
    const r = new Reader(bytes, 'sflow');
    const version = r.u32('version');
    if (version !== SFLOW_VERSION_5) r.fail(`unsupported version ${version}`, 0);
    const agentAddress = getAddress(r);
    const subAgentId = r.u32();
    const sequenceNumber = r.u32();
    const uptime = r.u32();
    const n = r.u32('sample count');
    const samples = decodeRecords(r, n, decodeSample);
    exact(r, 'datagram');
    return { agentAddress, subAgentId, sequenceNumber, uptime, samples };
  });
}

// ---------------------------------------------------------------- batching

/**
 * Packs samples into datagrams the way OVS's sFlow receiver does: the header is written once,
 * samples are appended to one preallocated buffer, and the datagram goes out (through `send`)
 * when the next sample would reach the size limit, or on flush() (OVS flushes once a second
 * from its tick). A sample larger than half the limit is refused, as OVS refuses it.
 * The sequence number counts datagrams sent; uptime is read at send time. The datagram handed
 * to `send` is a view of the builder's buffer, valid only until `send` returns: copy it if the
 * transmit is asynchronous.
 */
export class SflowDatagramBuilder {
  private readonly w: Writer;
  private readonly headerLen: number;
  private numSamples = 0;
  sequenceNumber = 0;
  readonly maxDatagramSize: number;

  constructor(
    agentAddress: SflowAddress,
    subAgentId: number,
    private readonly send: (datagram: Uint8Array) => void,
    private readonly uptime: () => number,
    maxDatagramSize = SFLOW_DEFAULT_DATAGRAM_SIZE,
  ) {
    this.maxDatagramSize = Math.max(SFLOW_MIN_DATAGRAM_SIZE, maxDatagramSize);
    this.w = new Writer(this.maxDatagramSize + 400);
    this.w.u32(SFLOW_VERSION_5);
    putAddress(this.w, agentAddress);
    this.w.u32(subAgentId);
    this.headerLen = this.w.pos + 12;
    this.w.pos = this.headerLen;
  }

  /** Returns false (and drops the sample) if it is too big for any datagram. */
  add(sample: SflowSample): boolean {
    const size = sflowSampleSize(sample);
    if (size > this.maxDatagramSize / 2) return false;
    if (this.w.pos + size >= this.maxDatagramSize) this.flush();
    encodeSflowSample(sample, this.w);
    this.numSamples++;
    return true;
  }

  get pendingSamples(): number {
    return this.numSamples;
  }

  flush(): void {
    if (this.numSamples === 0) return;
    const at = this.headerLen - 12;
    this.sequenceNumber = (this.sequenceNumber + 1) >>> 0;
    this.w.patch32(at, this.sequenceNumber);
    this.w.patch32(at + 4, this.uptime());
    this.w.patch32(at + 8, this.numSamples);
    const datagram = this.w.bytes();
    this.numSamples = 0;
    this.w.pos = this.headerLen;
    this.send(datagram);
  }
}
