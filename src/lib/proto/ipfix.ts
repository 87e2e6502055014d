/*
 * IPFIX messages (RFC 7011) and the templates Open vSwitch exports
 * (ofproto/ofproto-dpif-ipfix.c).
 *
 * A message is a 16-byte header and a list of sets: template sets (id 2), options template
 * sets (id 3) and data sets (id >= 256, the template they follow). Data records are decoded
 * against the templates the collector has seen (IpfixTemplateCache, per observation domain),
 * field by field: 1-, 2- and 4-byte fields as numbers, 8-byte fields as bigints, anything
 * else (MACs, IPv6 addresses, strings, variable-length fields) as bytes.
 */
import { type DecodeError, decodeWith, Reader, type Writer } from './codec.ts';

export const IPFIX_VERSION = 10;
export const IPFIX_DEFAULT_PORT = 4739;
export const IPFIX_SET_TEMPLATE = 2;
export const IPFIX_SET_OPTIONS_TEMPLATE = 3;
export const IPFIX_MIN_DATA_SET_ID = 256;
export const IPFIX_VARLEN = 0xffff;
/** OVS re-sends templates every 600 s (RFC 7011 §8.4 for UDP). */
export const OVS_IPFIX_TEMPLATE_INTERVAL = 600;
/** OVS starts a new template message once one reaches this size. */
export const OVS_IPFIX_MAX_MESSAGE_LEN = 1024;
export const IPFIX_ENTERPRISE_VMWARE = 6876;

export interface IpfixFieldSpec {
  id: number;
  /** Bytes, or IPFIX_VARLEN for a variable-length field. */
  length: number;
  /** Private enterprise number; 0 for IANA elements (no enterprise bit on the wire). */
  enterprise: number;
}

export interface IpfixTemplateRecord {
  templateId: number;
  /** Empty: a template withdrawal. */
  fields: IpfixFieldSpec[];
}

export interface IpfixOptionsTemplateRecord extends IpfixTemplateRecord {
  scopeFieldCount: number;
}

export type IpfixValue = number | bigint | Uint8Array;

export type IpfixSet =
  | { kind: 'template'; records: IpfixTemplateRecord[] }
  | { kind: 'options-template'; records: IpfixOptionsTemplateRecord[] }
  | { kind: 'data'; setId: number; fields: IpfixFieldSpec[]; records: IpfixValue[][] }
  /** A data set whose template the decoder has not seen: kept as bytes. */
  | { kind: 'raw'; setId: number; data: Uint8Array };

export interface IpfixMessage {
  /** Seconds since the epoch. */
  exportTime: number;
  /** Data records sent before this message in this observation domain (RFC 7011 §3.1). */
  sequenceNumber: number;
  observationDomainId: number;
  sets: IpfixSet[];
}

/** Templates a collector has learned, by observation domain and template id. */
export class IpfixTemplateCache {
  private readonly map = new Map<string, IpfixFieldSpec[]>();
  get(domain: number, id: number): IpfixFieldSpec[] | undefined {
    return this.map.get(`${domain}/${id}`);
  }
  set(domain: number, id: number, fields: IpfixFieldSpec[]): void {
    if (fields.length === 0) this.map.delete(`${domain}/${id}`);
    else this.map.set(`${domain}/${id}`, fields);
  }
}

// ---------------------------------------------------------------- encode

function putFieldSpec(w: Writer, f: IpfixFieldSpec): void {
  if (f.enterprise) {
    w.u16(f.id | 0x8000);
    w.u16(f.length);
    w.u32(f.enterprise);
  } else {
    w.u16(f.id & 0x7fff);
    w.u16(f.length);
  }
}

function putValue(w: Writer, f: IpfixFieldSpec, v: IpfixValue): void {
  if (f.length === IPFIX_VARLEN) {
    if (!(v instanceof Uint8Array))
      throw new TypeError(`field ${f.id}: variable-length value must be bytes`);
    if (v.length < 255) w.u8(v.length);
    else {
      w.u8(255);
      w.u16(v.length);
    }
    w.put(v);
    return;
  }
  if (typeof v === 'number') {
    if (f.length === 1) w.u8(v);
    else if (f.length === 2) w.u16(v);
    else if (f.length === 4) w.u32(v);
    else throw new TypeError(`field ${f.id}: a number cannot fill ${f.length} bytes`);
  } else if (typeof v === 'bigint') {
    if (f.length !== 8)
      throw new TypeError(`field ${f.id}: a bigint cannot fill ${f.length} bytes`);
    w.u64(v);
  } else {
    if (v.length !== f.length)
      throw new TypeError(`field ${f.id}: ${v.length} bytes for a ${f.length}-byte field`);
    w.put(v);
  }
}

/** Appends one data record (the values in template order). */
export function encodeIpfixDataRecord(
  fields: IpfixFieldSpec[],
  values: IpfixValue[],
  w: Writer,
): void {
  if (values.length !== fields.length) {
    throw new TypeError(`template has ${fields.length} fields, record has ${values.length} values`);
  }
  for (let i = 0; i < fields.length; i++) putValue(w, fields[i], values[i]);
}

export function encodeIpfixSet(s: IpfixSet, w: Writer): void {
  const start = w.pos;
  w.u16(
    s.kind === 'template'
      ? IPFIX_SET_TEMPLATE
      : s.kind === 'options-template'
        ? IPFIX_SET_OPTIONS_TEMPLATE
        : s.setId,
  );
  w.u16(0);
  switch (s.kind) {
    case 'template':
      for (const t of s.records) {
        w.u16(t.templateId);
        w.u16(t.fields.length);
        for (const f of t.fields) putFieldSpec(w, f);
      }
      break;
    case 'options-template':
      for (const t of s.records) {
        w.u16(t.templateId);
        w.u16(t.fields.length);
        w.u16(t.scopeFieldCount);
        for (const f of t.fields) putFieldSpec(w, f);
      }
      break;
    case 'data':
      for (const r of s.records) encodeIpfixDataRecord(s.fields, r, w);
      break;
    case 'raw':
      w.put(s.data);
      break;
  }
  w.patch16(start + 2, w.pos - start);
}

export function encodeIpfixMessage(m: IpfixMessage, w: Writer): number {
  const start = w.pos;
  w.u16(IPFIX_VERSION);
  w.u16(0);
  w.u32(m.exportTime);
  w.u32(m.sequenceNumber);
  w.u32(m.observationDomainId);
  for (const s of m.sets) encodeIpfixSet(s, w);
  const len = w.pos - start;
  if (len > 0xffff) throw new RangeError(`IPFIX message of ${len} bytes exceeds 65535`);
  w.patch16(start + 2, len);
  return len;
}

// ---------------------------------------------------------------- decode

function getFieldSpec(r: Reader): IpfixFieldSpec {
  const id = r.u16('information element id');
  const length = r.u16('field length');
  if (length === 0) r.fail('zero-length field specifier', r.pos - 2);
  if (id & 0x8000) return { id: id & 0x7fff, length, enterprise: r.u32('enterprise number') };
  return { id, length, enterprise: 0 };
}

function getValue(r: Reader, f: IpfixFieldSpec): IpfixValue {
  if (f.length === IPFIX_VARLEN) {
    let n = r.u8('variable length');
    if (n === 255) n = r.u16('variable length');
    return r.bytes(n, 'variable-length value');
  }
  switch (f.length) {
    case 1:
      return r.u8();
    case 2:
      return r.u16();
    case 4:
      return r.u32();
    case 8:
      return r.u64();
    default:
      return r.bytes(f.length);
  }
}

function minRecordLength(fields: IpfixFieldSpec[]): number {
  let n = 0;
  for (const f of fields) n += f.length === IPFIX_VARLEN ? 1 : f.length;
  return n;
}

/**
 * Decodes a message, learning its templates into `cache` (a fresh one if not given) before
 * decoding the data sets that follow them.
 */
export function decodeIpfixMessage(
  bytes: Uint8Array,
  cache: IpfixTemplateCache = new IpfixTemplateCache(),
): IpfixMessage | DecodeError {
  return decodeWith('ipfix', () => {
    const r = new Reader(bytes, 'ipfix');
    const version = r.u16('version');
    if (version !== IPFIX_VERSION) r.fail(`unsupported version ${version}`, 0);
    const length = r.u16('length');
    if (length !== bytes.length)
      r.fail(`message length ${length} but ${bytes.length} bytes received`, 2);
    const exportTime = r.u32();
    const sequenceNumber = r.u32();
    const observationDomainId = r.u32();
    const sets: IpfixSet[] = [];
    while (r.remaining > 0) {
      const at = r.pos;
      const setId = r.u16('set id');
      const setLen = r.u16('set length');
      if (setLen < 4) r.fail(`set length ${setLen} shorter than its header`, at + 2);
      const s = r.sub(setLen - 4, 'set');
      if (setId === IPFIX_SET_TEMPLATE || setId === IPFIX_SET_OPTIONS_TEMPLATE) {
        const options = setId === IPFIX_SET_OPTIONS_TEMPLATE;
        const records: IpfixOptionsTemplateRecord[] = [];
        // Anything shorter than a record header at the end is padding (§3.3.1).
        while (s.remaining >= (options ? 6 : 4)) {
          const tat = s.pos;
          const templateId = s.u16('template id');
          const count = s.u16('field count');
          if (templateId < IPFIX_MIN_DATA_SET_ID)
            s.fail(`template id ${templateId} below 256`, tat);
          const scopeFieldCount = options && count > 0 ? s.u16('scope field count') : 0;
          if (options && count > 0 && (scopeFieldCount === 0 || scopeFieldCount > count)) {
            s.fail(`scope field count ${scopeFieldCount} of ${count} fields`, tat + 4);
          }
          const fields: IpfixFieldSpec[] = [];
          for (let i = 0; i < count; i++) fields.push(getFieldSpec(s));
          cache.set(observationDomainId, templateId, fields);
          records.push({ templateId, scopeFieldCount, fields });
        }
        if (options) sets.push({ kind: 'options-template', records });
        else
          sets.push({
            kind: 'template',
            records: records.map(({ templateId, fields }) => ({ templateId, fields })),
          });
      } else if (setId >= IPFIX_MIN_DATA_SET_ID) {
        const fields = cache.get(observationDomainId, setId);
        if (!fields) {
          sets.push({ kind: 'raw', setId, data: s.bytes(s.remaining) });
          continue;
        }
        const min = Math.max(1, minRecordLength(fields));
        const records: IpfixValue[][] = [];
        while (s.remaining >= min) {
          const rec: IpfixValue[] = [];
          for (const f of fields) rec.push(getValue(s, f));
          records.push(rec);
        }
        sets.push({ kind: 'data', setId, fields, records });
      } else {
        r.fail(`reserved set id ${setId}`, at);
      }
    }
    return { exportTime, sequenceNumber, observationDomainId, sets };
  });
}

// ---------------------------------------------------------------- OVS's templates

/** The information elements OVS exports (IANA ids, sizes; VMware's private ones). */
export const IE = {
  octetDeltaCount: { id: 1, length: 8, enterprise: 0 },
  packetDeltaCount: { id: 2, length: 8, enterprise: 0 },
  protocolIdentifier: { id: 4, length: 1, enterprise: 0 },
  ipClassOfService: { id: 5, length: 1, enterprise: 0 },
  sourceTransportPort: { id: 7, length: 2, enterprise: 0 },
  sourceIPv4Address: { id: 8, length: 4, enterprise: 0 },
  ingressInterface: { id: 10, length: 4, enterprise: 0 },
  destinationTransportPort: { id: 11, length: 2, enterprise: 0 },
  destinationIPv4Address: { id: 12, length: 4, enterprise: 0 },
  egressInterface: { id: 14, length: 4, enterprise: 0 },
  postMCastPacketDeltaCount: { id: 19, length: 8, enterprise: 0 },
  postMCastOctetDeltaCount: { id: 20, length: 8, enterprise: 0 },
  minimumIpTotalLength: { id: 25, length: 8, enterprise: 0 },
  maximumIpTotalLength: { id: 26, length: 8, enterprise: 0 },
  sourceIPv6Address: { id: 27, length: 16, enterprise: 0 },
  destinationIPv6Address: { id: 28, length: 16, enterprise: 0 },
  flowLabelIPv6: { id: 31, length: 4, enterprise: 0 },
  sourceMacAddress: { id: 56, length: 6, enterprise: 0 },
  vlanId: { id: 58, length: 2, enterprise: 0 },
  ipVersion: { id: 60, length: 1, enterprise: 0 },
  flowDirection: { id: 61, length: 1, enterprise: 0 },
  destinationMacAddress: { id: 80, length: 6, enterprise: 0 },
  interfaceName: { id: 82, length: IPFIX_VARLEN, enterprise: 0 },
  interfaceDescription: { id: 83, length: IPFIX_VARLEN, enterprise: 0 },
  octetTotalCount: { id: 85, length: 8, enterprise: 0 },
  packetTotalCount: { id: 86, length: 8, enterprise: 0 },
  droppedOctetDeltaCount: { id: 132, length: 8, enterprise: 0 },
  droppedPacketDeltaCount: { id: 133, length: 8, enterprise: 0 },
  droppedOctetTotalCount: { id: 134, length: 8, enterprise: 0 },
  droppedPacketTotalCount: { id: 135, length: 8, enterprise: 0 },
  flowEndReason: { id: 136, length: 1, enterprise: 0 },
  observationPointId: { id: 138, length: 4, enterprise: 0 },
  exportingProcessId: { id: 144, length: 4, enterprise: 0 },
  flowStartDeltaMicroseconds: { id: 158, length: 4, enterprise: 0 },
  flowEndDeltaMicroseconds: { id: 159, length: 4, enterprise: 0 },
  notSentPacketTotalCount: { id: 167, length: 8, enterprise: 0 },
  postMCastPacketTotalCount: { id: 174, length: 8, enterprise: 0 },
  postMCastOctetTotalCount: { id: 175, length: 8, enterprise: 0 },
  icmpTypeIPv4: { id: 176, length: 1, enterprise: 0 },
  icmpCodeIPv4: { id: 177, length: 1, enterprise: 0 },
  icmpTypeIPv6: { id: 178, length: 1, enterprise: 0 },
  icmpCodeIPv6: { id: 179, length: 1, enterprise: 0 },
  ipTTL: { id: 192, length: 1, enterprise: 0 },
  ipDiffServCodePoint: { id: 195, length: 1, enterprise: 0 },
  ipPrecedence: { id: 196, length: 1, enterprise: 0 },
  octetDeltaSumOfSquares: { id: 198, length: 8, enterprise: 0 },
  octetTotalSumOfSquares: { id: 199, length: 8, enterprise: 0 },
  tcpSynTotalCount: { id: 218, length: 8, enterprise: 0 },
  tcpFinTotalCount: { id: 219, length: 8, enterprise: 0 },
  tcpRstTotalCount: { id: 220, length: 8, enterprise: 0 },
  tcpPshTotalCount: { id: 221, length: 8, enterprise: 0 },
  tcpAckTotalCount: { id: 222, length: 8, enterprise: 0 },
  tcpUrgTotalCount: { id: 223, length: 8, enterprise: 0 },
  ethernetHeaderLength: { id: 240, length: 1, enterprise: 0 },
  dot1qVlanId: { id: 243, length: 2, enterprise: 0 },
  dot1qPriority: { id: 244, length: 1, enterprise: 0 },
  ethernetType: { id: 256, length: 2, enterprise: 0 },
  layer2OctetDeltaCount: { id: 352, length: 8, enterprise: 0 },
  layer2OctetTotalCount: { id: 353, length: 8, enterprise: 0 },
  ingressUnicastPacketTotalCount: { id: 354, length: 8, enterprise: 0 },
  ingressMulticastPacketTotalCount: { id: 355, length: 8, enterprise: 0 },
  ingressBroadcastPacketTotalCount: { id: 356, length: 8, enterprise: 0 },
  egressUnicastPacketTotalCount: { id: 357, length: 8, enterprise: 0 },
  egressBroadcastPacketTotalCount: { id: 358, length: 8, enterprise: 0 },
  ingressInterfaceType: { id: 368, length: 4, enterprise: 0 },
  egressInterfaceType: { id: 369, length: 4, enterprise: 0 },
  tunnelType: { id: 891, length: 1, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelKey: { id: 892, length: IPFIX_VARLEN, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelSourceIPv4Address: { id: 893, length: 4, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelDestinationIPv4Address: { id: 894, length: 4, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelProtocolIdentifier: { id: 895, length: 1, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelSourceTransportPort: { id: 896, length: 2, enterprise: IPFIX_ENTERPRISE_VMWARE },
  tunnelDestinationTransportPort: { id: 897, length: 2, enterprise: IPFIX_ENTERPRISE_VMWARE },
  virtualObsID: { id: 898, length: IPFIX_VARLEN, enterprise: IPFIX_ENTERPRISE_VMWARE },
} as const satisfies Record<string, IpfixFieldSpec>;
export type IeName = keyof typeof IE;

export type OvsIpfixL2 = 'eth' | 'vlan';
export type OvsIpfixL3 = 'unknown' | 'ipv4' | 'ipv6';
export type OvsIpfixL4 = 'unknown' | 'tcp' | 'udp' | 'sctp' | 'icmp';
export type OvsIpfixDirection = 'ingress' | 'egress';

export interface OvsIpfixTemplateKey {
  l2: OvsIpfixL2;
  l3: OvsIpfixL3;
  l4: OvsIpfixL4;
  tunnel: boolean;
  direction: OvsIpfixDirection;
}

const L2: OvsIpfixL2[] = ['eth', 'vlan'];
const L3: OvsIpfixL3[] = ['unknown', 'ipv4', 'ipv6'];
const L4: OvsIpfixL4[] = ['unknown', 'tcp', 'udp', 'sctp', 'icmp'];
const DIRS: OvsIpfixDirection[] = ['ingress', 'egress'];

/** OVS numbers its templates by mixed radix over (l2, l3, l4, tunnel, direction) from 256. */
export function ovsIpfixTemplateId(k: OvsIpfixTemplateKey): number {
  let id = L2.indexOf(k.l2);
  id = id * L3.length + L3.indexOf(k.l3);
  id = id * L4.length + L4.indexOf(k.l4);
  id = id * 2 + (k.tunnel ? 1 : 0);
  id = id * 2 + DIRS.indexOf(k.direction);
  return IPFIX_MIN_DATA_SET_ID + id;
}

/** The exporter-statistics options template takes the id after the largest flow template id. */
export const OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID =
  IPFIX_MIN_DATA_SET_ID +
  ((((L2.length * L3.length + L3.length) * L4.length + L4.length) * 2 + 2) * 2 + 2);

export const OVS_IPFIX_EXPORTER_STATS_TEMPLATE: IpfixOptionsTemplateRecord = {
  templateId: OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID,
  scopeFieldCount: 1,
  fields: [IE.exportingProcessId, IE.notSentPacketTotalCount],
};

/** The element names of one OVS flow template, in template order. */
export function ovsIpfixTemplateFieldNames(
  k: OvsIpfixTemplateKey,
  virtualObsId: boolean,
): IeName[] {
  const n: IeName[] = [
    'observationPointId',
    'flowDirection',
    'sourceMacAddress',
    'destinationMacAddress',
    'ethernetType',
    'ethernetHeaderLength',
    'ingressInterface',
    'ingressInterfaceType',
    'interfaceName',
    'interfaceDescription',
  ];
  if (k.direction === 'egress')
    n.push('egressInterface', 'egressInterfaceType', 'interfaceName', 'interfaceDescription');
  if (k.l2 === 'vlan') n.push('vlanId', 'dot1qVlanId', 'dot1qPriority');
  const ports = k.l4 === 'tcp' || k.l4 === 'udp' || k.l4 === 'sctp';
  if (k.l3 !== 'unknown') {
    n.push(
      'ipVersion',
      'ipTTL',
      'protocolIdentifier',
      'ipDiffServCodePoint',
      'ipPrecedence',
      'ipClassOfService',
    );
    if (k.l3 === 'ipv4') {
      n.push('sourceIPv4Address', 'destinationIPv4Address');
      if (ports) n.push('sourceTransportPort', 'destinationTransportPort');
      else if (k.l4 === 'icmp') n.push('icmpTypeIPv4', 'icmpCodeIPv4');
    } else {
      n.push('sourceIPv6Address', 'destinationIPv6Address', 'flowLabelIPv6');
      if (ports) n.push('sourceTransportPort', 'destinationTransportPort');
      else if (k.l4 === 'icmp') n.push('icmpTypeIPv6', 'icmpCodeIPv6');
    }
  }
  if (k.tunnel) {
    n.push(
      'tunnelSourceIPv4Address',
      'tunnelDestinationIPv4Address',
      'tunnelProtocolIdentifier',
      'tunnelSourceTransportPort',
      'tunnelDestinationTransportPort',
      'tunnelType',
      'tunnelKey',
    );
  }
  if (virtualObsId) n.push('virtualObsID');
  n.push(
    'flowStartDeltaMicroseconds',
    'flowEndDeltaMicroseconds',
    'droppedPacketDeltaCount',
    'droppedPacketTotalCount',
    'packetDeltaCount',
    'packetTotalCount',
    'ingressUnicastPacketTotalCount',
    'ingressMulticastPacketTotalCount',
    'ingressBroadcastPacketTotalCount',
    'egressUnicastPacketTotalCount',
    'egressBroadcastPacketTotalCount',
    'postMCastPacketDeltaCount',
    'postMCastPacketTotalCount',
    'layer2OctetDeltaCount',
    'layer2OctetTotalCount',
    'flowEndReason',
  );
  if (k.l3 !== 'unknown') {
    n.push(
      'droppedOctetDeltaCount',
      'droppedOctetTotalCount',
      'octetDeltaCount',
      'octetTotalCount',
      'octetDeltaSumOfSquares',
      'octetTotalSumOfSquares',
      'minimumIpTotalLength',
      'maximumIpTotalLength',
      'postMCastOctetDeltaCount',
      'postMCastOctetTotalCount',
    );
  }
  if (k.l4 === 'tcp') {
    n.push(
      'tcpAckTotalCount',
      'tcpFinTotalCount',
      'tcpPshTotalCount',
      'tcpRstTotalCount',
      'tcpSynTotalCount',
      'tcpUrgTotalCount',
    );
  }
  return n;
}

export function ovsIpfixTemplate(
  k: OvsIpfixTemplateKey,
  virtualObsId: boolean,
): IpfixTemplateRecord {
  return {
    templateId: ovsIpfixTemplateId(k),
    fields: ovsIpfixTemplateFieldNames(k, virtualObsId).map((name) => IE[name]),
  };
}

/** Every template OVS defines, in the order it sends them (l4 only with a known l3). */
export function ovsIpfixAllTemplateKeys(): OvsIpfixTemplateKey[] {
  const out: OvsIpfixTemplateKey[] = [];
  for (const l2 of L2) {
    for (const l3 of L3) {
      for (const l4 of L4) {
        if (l3 === 'unknown' && l4 !== 'unknown') continue;
        for (const tunnel of [false, true]) {
          for (const direction of DIRS) out.push({ l2, l3, l4, tunnel, direction });
        }
      }
    }
  }
  return out;
}

/**
 * The template messages OVS sends at start and every OVS_IPFIX_TEMPLATE_INTERVAL seconds:
 * template records are packed into one template set per message, and a message is closed
 * once it has reached 1024 bytes (so a message may run past 1024 by one template).
 * Template messages carry the current sequence number and do not advance it. The options
 * template follows in its own message, in observation domain 0 (it describes the exporting
 * process, not one domain).
 */
export function ovsIpfixTemplateMessages(
  exportTime: number,
  sequenceNumber: number,
  observationDomainId: number,
  virtualObsId: boolean,
): IpfixMessage[] {
  const out: IpfixMessage[] = [];
  let records: IpfixTemplateRecord[] = [];
  let size = 16 + 4;
  for (const k of ovsIpfixAllTemplateKeys()) {
    if (size >= OVS_IPFIX_MAX_MESSAGE_LEN) {
      out.push({
        exportTime,
        sequenceNumber,
        observationDomainId,
        sets: [{ kind: 'template', records }],
      });
      records = [];
      size = 16 + 4;
    }
    const t = ovsIpfixTemplate(k, virtualObsId);
    records.push(t);
    size += 4;
    for (const f of t.fields) size += f.enterprise ? 8 : 4;
  }
  out.push({
    exportTime,
    sequenceNumber,
    observationDomainId,
    sets: [{ kind: 'template', records }],
  });
  out.push({
    exportTime,
    sequenceNumber,
    observationDomainId: 0,
    sets: [{ kind: 'options-template', records: [OVS_IPFIX_EXPORTER_STATS_TEMPLATE] }],
  });
  return out;
}

/**
 * OVS's Exporting Process Reliability Statistics message (domain 0, one record): the
 * exporter id and the number of messages it failed to send. It advances the sequence number.
 */
export function ovsIpfixExporterStatsMessage(
  exportTime: number,
  sequenceNumber: number,
  exportingProcessId: number,
  notSentPacketTotalCount: bigint,
): IpfixMessage {
  return {
    exportTime,
    sequenceNumber,
    observationDomainId: 0,
    sets: [
      {
        kind: 'data',
        setId: OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID,
        fields: OVS_IPFIX_EXPORTER_STATS_TEMPLATE.fields,
        records: [[exportingProcessId, notSentPacketTotalCount]],
      },
    ],
  };
}

/** Builds a data record for an OVS template from named values; missing counters are zero. */
export function ovsIpfixRecord(
  k: OvsIpfixTemplateKey,
  virtualObsId: boolean,
  values: Partial<Record<IeName, IpfixValue>>,
): IpfixValue[] {
  return ovsIpfixTemplateFieldNames(k, virtualObsId).map((name) => {
    const v = values[name];
    if (v !== undefined) return v;
    const f: IpfixFieldSpec = IE[name];
    if (f.length === IPFIX_VARLEN) return new Uint8Array(0);
    if (f.length === 8) return 0n;
    if (f.length <= 4 && f.length !== 3) return 0;
    return new Uint8Array(f.length);
  });
}
