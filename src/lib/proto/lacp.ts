/*
 * Slow-protocols PDUs of IEEE 802.1AX (LACP, and the Marker protocol), in the 110-byte
 * version-1 layout OVS sends (lib/lacp.c), and their Ethernet framing: destination
 * 01:80:c2:00:00:02, ethertype 0x8809, then the subtype octet.
 *
 * The decoder accepts what OVS accepts: at least 110 bytes, subtype 1, an actor TLV
 * (type 1, length 20) and a partner TLV (type 2, length 20). The collector and terminator
 * TLVs and the reserved octets are not checked, as OVS does not check them.
 */
import { type DecodeError, decodeWith, Reader, type Writer } from './codec.ts';

export const ETH_TYPE_SLOW = 0x8809;
export const SLOW_PROTOCOLS_MAC = '01:80:c2:00:00:02';
export const LACP_PDU_LEN = 110;
export const SUBTYPE_LACP = 1;
export const SUBTYPE_MARKER = 2;

/** Actor/partner state bits (802.1AX 6.4.2.3). */
export const LACP_STATE = {
  activity: 0x01,
  timeout: 0x02,
  aggregation: 0x04,
  synchronization: 0x08,
  collecting: 0x10,
  distributing: 0x20,
  defaulted: 0x40,
  expired: 0x80,
} as const;

export interface LacpInfo {
  systemPriority: number;
  systemId: string;
  key: number;
  portPriority: number;
  portId: number;
  state: number;
}

export interface LacpPdu {
  subtype: 'lacp';
  actor: LacpInfo;
  partner: LacpInfo;
  /** Tens of microseconds; OVS sends 0. */
  collectorMaxDelay: number;
}

export interface MarkerPdu {
  subtype: 'marker';
  /** false: Marker Information (TLV 1); true: Marker Response (TLV 2). */
  response: boolean;
  requesterPort: number;
  requesterSystem: string;
  requesterTransactionId: number;
}

export type SlowProtocolsPdu = LacpPdu | MarkerPdu;

export interface SlowProtocolsFrame {
  dst: string;
  src: string;
  pdu: SlowProtocolsPdu;
}

function putInfo(w: Writer, i: LacpInfo): void {
  w.u16(i.systemPriority);
  w.mac(i.systemId);
  w.u16(i.key);
  w.u16(i.portPriority);
  w.u16(i.portId);
  w.u8(i.state);
  w.zeros(3);
}

/** The 110-byte PDU (from the subtype octet on). */
export function encodeSlowProtocolsPdu(p: SlowProtocolsPdu, w: Writer): void {
  const start = w.pos;
  if (p.subtype === 'lacp') {
    w.u8(SUBTYPE_LACP);
    w.u8(1);
    w.u8(1);
    w.u8(20);
    putInfo(w, p.actor);
    w.u8(2);
    w.u8(20);
    putInfo(w, p.partner);
    w.u8(3);
    w.u8(16);
    w.u16(p.collectorMaxDelay);
  } else {
    w.u8(SUBTYPE_MARKER);
    w.u8(1);
    w.u8(p.response ? 2 : 1);
    w.u8(16);
    w.u16(p.requesterPort);
    w.mac(p.requesterSystem);
    w.u32(p.requesterTransactionId);
    w.u16(0);
  }
  // Collector reserved, terminator TLV (0, 0) and reserved octets are all zero.
  w.zeros(LACP_PDU_LEN - (w.pos - start));
}

/** Ethernet header and PDU: 124 bytes, no padding needed. */
export function encodeSlowProtocolsFrame(src: string, p: SlowProtocolsPdu, w: Writer): void {
  w.mac(SLOW_PROTOCOLS_MAC);
  w.mac(src);
  w.u16(ETH_TYPE_SLOW);
  encodeSlowProtocolsPdu(p, w);
}

function getInfo(r: Reader): LacpInfo {
  const i: LacpInfo = {
    systemPriority: r.u16(),
    systemId: r.mac(),
    key: r.u16(),
    portPriority: r.u16(),
    portId: r.u16(),
    state: r.u8(),
  };
  r.skip(3);
  return i;
}

function decodePdu(r: Reader): SlowProtocolsPdu {
  const start = r.pos;
  r.need(LACP_PDU_LEN, 'slow protocols PDU');
  const subtype = r.u8();
  r.u8(); // version: OVS accepts any
  if (subtype === SUBTYPE_LACP) {
    const at = r.pos;
    if (r.u8() !== 1 || r.u8() !== 20) r.fail('actor TLV is not type 1 length 20', at);
    const actor = getInfo(r);
    const pt = r.pos;
    if (r.u8() !== 2 || r.u8() !== 20) r.fail('partner TLV is not type 2 length 20', pt);
    const partner = getInfo(r);
    r.skip(2); // collector TLV type/length
    const collectorMaxDelay = r.u16();
    r.pos = start + LACP_PDU_LEN;
    return { subtype: 'lacp', actor, partner, collectorMaxDelay };
  }
  if (subtype === SUBTYPE_MARKER) {
    const at = r.pos;
    const type = r.u8();
    if ((type !== 1 && type !== 2) || r.u8() !== 16)
      r.fail('marker TLV is not type 1 or 2 length 16', at);
    const requesterPort = r.u16();
    const requesterSystem = r.mac();
    const requesterTransactionId = r.u32();
    r.pos = start + LACP_PDU_LEN;
    return {
      subtype: 'marker',
      response: type === 2,
      requesterPort,
      requesterSystem,
      requesterTransactionId,
    };
  }
  return r.fail(`unknown slow protocols subtype ${subtype}`, start);
}

/** A PDU from its subtype octet on (what OVS reads at the packet's L3 offset). */
export function decodeSlowProtocolsPdu(bytes: Uint8Array): SlowProtocolsPdu | DecodeError {
  return decodeWith('lacp', () => decodePdu(new Reader(bytes, 'lacp')));
}

/** An untagged Ethernet frame carrying a slow-protocols PDU; trailing padding is ignored. */
export function decodeSlowProtocolsFrame(frame: Uint8Array): SlowProtocolsFrame | DecodeError {
  return decodeWith('lacp', () => {
    const r = new Reader(frame, 'lacp');
    const dst = r.mac();
    const src = r.mac();
    const t = r.u16('ethertype');
    if (t !== ETH_TYPE_SLOW) r.fail(`ethertype 0x${t.toString(16)} is not slow protocols`, 12);
    return { dst, src, pdu: decodePdu(r) };
  });
}
