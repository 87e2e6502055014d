/*
 * NetFlow version 5 export datagrams (Cisco's fixed layout; OVS's lib/netflow.h): a 24-byte
 * header and up to 30 records of 48 bytes. Addresses are IPv4 as unsigned 32-bit numbers.
 *
 * OVS's quirks the agent must reproduce (ofproto/netflow.c), kept out of the codec:
 * - flow_sequence is written per record as the running flow counter, so the header ends up
 *   holding the number of the message's last record, not its first;
 * - with add_id_to_interface the low 7 bits of engine_id go into the top of the 16-bit
 *   interface fields and the OpenFlow port keeps its low 9 bits (netflowInterfaceWithEngineId);
 * - for ICMP, src_port is 0 and dst_port is type << 8 | code;
 * - tos carries only the DSCP bits; nexthop, AS numbers and masks are zero.
 */
import { type DecodeError, decodeWith, Reader, Writer } from './codec.ts';

export const NETFLOW_V5_VERSION = 5;
export const NETFLOW_DEFAULT_PORT = 2055;
export const NETFLOW_V5_HEADER_LEN = 24;
export const NETFLOW_V5_RECORD_LEN = 48;
export const NETFLOW_V5_MAX_RECORDS = 30;

export interface NetflowV5Header {
  /** Milliseconds since the exporter started. */
  sysUptime: number;
  unixSecs: number;
  unixNsecs: number;
  flowSequence: number;
  engineType: number;
  engineId: number;
  /** Top 2 bits sampling mode, low 14 bits interval; OVS sends 0. */
  samplingInterval: number;
}

export interface NetflowV5Record {
  srcAddr: number;
  dstAddr: number;
  nextHop: number;
  input: number;
  output: number;
  packets: number;
  octets: number;
  /** sysUptime (ms) at the first and last packet. */
  first: number;
  last: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  protocol: number;
  tos: number;
  srcAs: number;
  dstAs: number;
  srcMask: number;
  dstMask: number;
}

export interface NetflowV5Message {
  header: NetflowV5Header;
  records: NetflowV5Record[];
}

/** The interface number OVS exports for an OpenFlow port (ofproto/netflow.c). */
export function netflowInterface(
  ofpPort: number,
  engineId: number,
  addIdToInterface: boolean,
): number {
  if (!addIdToInterface) return ofpPort & 0xffff;
  return (((engineId & 0x7f) << 9) | (ofpPort & 0x1ff)) & 0xffff;
}

/** The dst_port OVS exports for an ICMP flow (type in the high byte, code in the low). */
export function netflowIcmpPort(type: number, code: number): number {
  return ((type & 0xff) << 8) | (code & 0xff);
}

export function encodeNetflowV5Header(h: NetflowV5Header, count: number, w: Writer): void {
  w.u16(NETFLOW_V5_VERSION);
  w.u16(count);
  w.u32(h.sysUptime);
  w.u32(h.unixSecs);
  w.u32(h.unixNsecs);
  w.u32(h.flowSequence);
  w.u8(h.engineType);
  w.u8(h.engineId);
  w.u16(h.samplingInterval);
}

/** One 48-byte record at w.pos: the per-expired-flow hot path, no allocation. */
export function encodeNetflowV5Record(r: NetflowV5Record, w: Writer): void {
  w.u32(r.srcAddr);
  w.u32(r.dstAddr);
  w.u32(r.nextHop);
  w.u16(r.input);
  w.u16(r.output);
  w.u32(r.packets);
  w.u32(r.octets);
  w.u32(r.first);
  w.u32(r.last);
  w.u16(r.srcPort);
  w.u16(r.dstPort);
  w.u8(0);
  w.u8(r.tcpFlags);
  w.u8(r.protocol);
  w.u8(r.tos);
  w.u16(r.srcAs);
  w.u16(r.dstAs);
  w.u8(r.srcMask);
  w.u8(r.dstMask);
  w.u16(0);
}

export function encodeNetflowV5(m: NetflowV5Message, w: Writer): number {
  if (m.records.length > NETFLOW_V5_MAX_RECORDS) {
    throw new RangeError(`NetFlow v5 allows at most 30 records, got ${m.records.length}`);
  }
  const start = w.pos;
  encodeNetflowV5Header(m.header, m.records.length, w);
  for (const r of m.records) encodeNetflowV5Record(r, w);
  return w.pos - start;
}

export function decodeNetflowV5(bytes: Uint8Array): NetflowV5Message | DecodeError {
  return decodeWith('netflow', () => {
    const r = new Reader(bytes, 'netflow');
    const version = r.u16('version');
    if (version !== NETFLOW_V5_VERSION) r.fail(`unsupported version ${version}`, 0);
    const count = r.u16('count');
    if (count > NETFLOW_V5_MAX_RECORDS) r.fail(`count ${count} exceeds 30`, 2);
    const header: NetflowV5Header = {
      sysUptime: r.u32(),
      unixSecs: r.u32(),
      unixNsecs: r.u32(),
      flowSequence: r.u32(),
      engineType: r.u8(),
      engineId: r.u8(),
      samplingInterval: r.u16(),
    };
    if (r.remaining !== count * NETFLOW_V5_RECORD_LEN) {
      r.fail(
        `count ${count} needs ${count * NETFLOW_V5_RECORD_LEN} record bytes, have ${r.remaining}`,
      );
    }
    const records: NetflowV5Record[] = [];
    for (let i = 0; i < count; i++) {
      const srcAddr = r.u32();
      const dstAddr = r.u32();
      const nextHop = r.u32();
      const input = r.u16();
      const output = r.u16();
      const packets = r.u32();
      const octets = r.u32();
      const first = r.u32();
      const last = r.u32();
      const srcPort = r.u16();
      const dstPort = r.u16();
      r.skip(1);
      const tcpFlags = r.u8();
      const protocol = r.u8();
      const tos = r.u8();
      const srcAs = r.u16();
      const dstAs = r.u16();
      const srcMask = r.u8();
      const dstMask = r.u8();
      r.skip(2);
      records.push({
        srcAddr,
        dstAddr,
        nextHop,
        input,
        output,
        packets,
        octets,
        first,
        last,
        srcPort,
        dstPort,
        tcpFlags,
        protocol,
        tos,
        srcAs,
        dstAs,
        srcMask,
        dstMask,
      });
    }
    return { header, records };
  });
}

/**
 * Accumulates records into one preallocated datagram, sending it (through `send`) when the
 * 30th record is added, as OVS does, or on flush(). The header is written when the first
 * record arrives.
 *
 * `sequence: 'ovs'` (the default) writes flow_sequence as OVS does, the running counter at
 * the message's last record; `'standard'` writes the count of flows exported before the
 * message, which collectors (nfcapd) use to detect loss.
 */
export class NetflowV5Batcher {
  private readonly w = new Writer(
    NETFLOW_V5_HEADER_LEN + NETFLOW_V5_MAX_RECORDS * NETFLOW_V5_RECORD_LEN,
  );
  private count = 0;
  /** Flows exported so far (OVS's netflow_cnt). */
  flowCount = 0;

  constructor(
    private readonly header: () => Omit<NetflowV5Header, 'flowSequence'>,
    private readonly send: (datagram: Uint8Array) => void,
    private readonly sequence: 'ovs' | 'standard' = 'ovs',
  ) {}

  add(r: NetflowV5Record): void {
    if (this.count === 0) {
      this.w.pos = 0;
      encodeNetflowV5Header({ ...this.header(), flowSequence: this.flowCount }, 0, this.w);
    }
    this.count++;
    this.w.patch16(2, this.count);
    if (this.sequence === 'ovs') this.w.patch32(16, this.flowCount);
    this.flowCount = (this.flowCount + 1) >>> 0;
    encodeNetflowV5Record(r, this.w);
    if (this.count >= NETFLOW_V5_MAX_RECORDS) this.flush();
  }

  /** The datagram view is valid only until `send` returns. */
  flush(): void {
    if (this.count === 0) return;
    const d = this.w.bytes();
    this.count = 0;
    this.w.pos = 0;
    this.send(d);
  }
}
