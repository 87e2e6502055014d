/*
 * Spanning-tree BPDUs: 802.1D-1998 configuration and topology-change-notification BPDUs
 * (OVS lib/stp.c) and the 802.1D-2004 RST BPDU (lib/rstp-state-machines.c), with their
 * 802.3/LLC framing: destination 01:80:c2:00:00:00, a length field instead of an
 * ethertype, and LLC 42 42 03.
 *
 * Times travel in 1/256 s units; this codec carries them raw (see stpTimerToMs for OVS's
 * conversions). Bridge ids are 64-bit: priority (16 bits, the low 12 of them the system id
 * extension in 802.1D-2004) then the MAC.
 *
 * OVS's STP sends exact-size BPDUs (35-byte config, 4-byte TCN). OVS's RSTP sends every
 * BPDU, config and TCN included, as a 36-byte struct: pass minLength 36 to reproduce that.
 */
import {
  type DecodeError,
  decodeWith,
  macToString,
  putMacString,
  Reader,
  type Writer,
} from './codec.ts';

export const STP_MULTICAST_MAC = '01:80:c2:00:00:00';
export const STP_LLC = [0x42, 0x42, 0x03] as const;
export const BPDU_TYPE_CONFIG = 0x00;
export const BPDU_TYPE_RST = 0x02;
export const BPDU_TYPE_TCN = 0x80;
export const CONFIG_BPDU_LEN = 35;
export const TCN_BPDU_LEN = 4;
export const RST_BPDU_LEN = 36;

export const BPDU_FLAG = {
  topologyChange: 0x01,
  proposal: 0x02,
  learning: 0x10,
  forwarding: 0x20,
  agreement: 0x40,
  topologyChangeAck: 0x80,
} as const;
/** Port role, bits 2-3 of an RST BPDU's flags. */
export const RSTP_ROLE = { unknown: 0, alternateOrBackup: 1, root: 2, designated: 3 } as const;
export const ROLE_SHIFT = 2;
export const ROLE_MASK = 0x0c;

export interface BpduPriorityVector {
  flags: number;
  rootId: bigint;
  rootPathCost: number;
  bridgeId: bigint;
  portId: number;
  /** 1/256 s units. */
  messageAge: number;
  maxAge: number;
  helloTime: number;
  forwardDelay: number;
}

export type Bpdu =
  | ({ type: 'config'; protocolVersion: number } & BpduPriorityVector)
  | { type: 'tcn'; protocolVersion: number }
  | ({ type: 'rst'; protocolVersion: number; version1Length: number } & BpduPriorityVector);

export interface StpFrame {
  src: string;
  dst: string;
  bpdu: Bpdu;
}

export function makeBridgeId(priority: number, mac: string): bigint {
  const b = new Uint8Array(8);
  b[0] = priority >> 8;
  b[1] = priority & 0xff;
  putMacString(b, 2, mac);
  return new DataView(b.buffer).getBigUint64(0);
}

export function splitBridgeId(id: bigint): { priority: number; mac: string } {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, id));
  return { priority: (b[0] << 8) | b[1], mac: macToString(b, 2) };
}

/** OVS's STP conversions: whole 1/256 s ticks in `ms`, and whole ms in `ticks`. */
export function msToStpTimer(ms: number): number {
  return Math.trunc((ms * 0x100) / 1000);
}
export function stpTimerToMs(ticks: number): number {
  return Math.trunc((ticks * 1000) / 0x100);
}

export function bpduLength(b: Bpdu): number {
  return b.type === 'tcn' ? TCN_BPDU_LEN : b.type === 'config' ? CONFIG_BPDU_LEN : RST_BPDU_LEN;
}

function putVector(w: Writer, v: BpduPriorityVector): void {
  w.u8(v.flags);
  w.u64(v.rootId);
  w.u32(v.rootPathCost);
  w.u64(v.bridgeId);
  w.u16(v.portId);
  w.u16(v.messageAge);
  w.u16(v.maxAge);
  w.u16(v.helloTime);
  w.u16(v.forwardDelay);
}

/** The BPDU alone (from the protocol id on), zero-padded to `minLength`. */
export function encodeBpdu(b: Bpdu, w: Writer, minLength = 0): void {
  const start = w.pos;
  w.u16(0);
  w.u8(b.protocolVersion);
  switch (b.type) {
    case 'config':
      w.u8(BPDU_TYPE_CONFIG);
      putVector(w, b);
      break;
    case 'tcn':
      w.u8(BPDU_TYPE_TCN);
      break;
    case 'rst':
      w.u8(BPDU_TYPE_RST);
      putVector(w, b);
      w.u8(b.version1Length);
      break;
  }
  const n = w.pos - start;
  if (n < minLength) w.zeros(minLength - n);
}

/**
 * The 802.3 frame: header with the length of LLC + BPDU, LLC, BPDU. Like OVS this does not
 * pad to the 60-byte Ethernet minimum; `padToMinimum` adds trailing zeros for links that need it.
 */
export function encodeStpFrame(
  src: string,
  b: Bpdu,
  w: Writer,
  minLength = 0,
  padToMinimum = false,
): void {
  const start = w.pos;
  w.mac(STP_MULTICAST_MAC);
  w.mac(src);
  const lenAt = w.pos;
  w.u16(0);
  w.u8(STP_LLC[0]);
  w.u8(STP_LLC[1]);
  w.u8(STP_LLC[2]);
  encodeBpdu(b, w, minLength);
  w.patch16(lenAt, w.pos - lenAt - 2);
  if (padToMinimum && w.pos - start < 60) w.zeros(60 - (w.pos - start));
}

function getVector(r: Reader): BpduPriorityVector {
  return {
    flags: r.u8(),
    rootId: r.u64(),
    rootPathCost: r.u32(),
    bridgeId: r.u64(),
    portId: r.u16(),
    messageAge: r.u16(),
    maxAge: r.u16(),
    helloTime: r.u16(),
    forwardDelay: r.u16(),
  };
}

function decodeBpduFrom(r: Reader): Bpdu {
  const start = r.pos;
  const protocolId = r.u16('protocol id');
  if (protocolId !== 0) r.fail(`unexpected protocol id ${protocolId}`, start);
  const protocolVersion = r.u8();
  const at = r.pos;
  const type = r.u8('BPDU type');
  switch (type) {
    case BPDU_TYPE_CONFIG:
      r.need(CONFIG_BPDU_LEN - 4, 'config BPDU');
      return { type: 'config', protocolVersion, ...getVector(r) };
    case BPDU_TYPE_TCN:
      return { type: 'tcn', protocolVersion };
    case BPDU_TYPE_RST: {
      if (protocolVersion < 2)
        r.fail(`RST BPDU with protocol version ${protocolVersion}`, start + 2);
      r.need(RST_BPDU_LEN - 4, 'RST BPDU');
      const v = getVector(r);
      return { type: 'rst', protocolVersion, ...v, version1Length: r.u8() };
    }
    default:
      return r.fail(`unknown BPDU type 0x${type.toString(16)}`, at);
  }
}

/** A BPDU from its protocol id on; bytes after the BPDU are ignored. */
export function decodeBpdu(bytes: Uint8Array): Bpdu | DecodeError {
  return decodeWith('stp', () => decodeBpduFrom(new Reader(bytes, 'stp')));
}

/** An 802.3/LLC frame carrying a BPDU; the length field bounds the BPDU (padding is ignored). */
export function decodeStpFrame(frame: Uint8Array): StpFrame | DecodeError {
  return decodeWith('stp', () => {
    const r = new Reader(frame, 'stp');
    const dst = r.mac();
    const src = r.mac();
    const len = r.u16('802.3 length');
    if (len > 1500) r.fail(`0x${len.toString(16)} is an ethertype, not an 802.3 length`, 12);
    const llc = r.sub(len, 'LLC PDU');
    const at = llc.pos;
    if (llc.u8() !== 0x42 || llc.u8() !== 0x42 || llc.u8() !== 0x03)
      llc.fail('LLC header is not 42 42 03', at);
    return { dst, src, bpdu: decodeBpduFrom(llc) };
  });
}
