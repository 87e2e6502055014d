/*
 * 802.1ag Continuity Check Messages as Open vSwitch composes them (lib/cfm.c): ethertype
 * 0x8902, a 75-byte CCM (MD level and version, opcode 1, flags with RDI and the interval
 * code, first-TLV offset 70, sequence number, MEP id, the 48-byte MAID, the 16 octets
 * 802.1ag reserves for ITU-T Y.1731, and the End TLV).
 *
 * OVS's extended mode uses those 16 Y.1731 octets for its own fields: the transmission
 * interval in ms when the interval code is 0, a 64-bit MPID (the 16-bit MEP id field then
 * carries a hash of it), and an operationally-down flag. It also sends to 01:23:20:00:00:30
 * instead of the standard 01:80:c2:00:00:30. In standard mode those fields are zero.
 *
 * Like OVS the decoder accepts a 74-byte CCM (older OVS omitted the End TLV); it requires
 * the standard first-TLV offset of 70 and parses TLVs up to the End TLV or the data's end.
 */
import { type DecodeError, decodeWith, Reader, type Writer } from './codec.ts';

export const ETH_TYPE_CFM = 0x8902;
export const ETH_TYPE_VLAN = 0x8100;
export const CCM_DST_MAC = '01:80:c2:00:00:30';
export const CCM_DST_MAC_EXTENDED = '01:23:20:00:00:30';
export const CCM_OPCODE = 1;
export const CCM_LEN = 75;
export const CCM_ACCEPT_LEN = 74;
export const CCM_MAID_LEN = 48;
export const CCM_FIRST_TLV_OFFSET = 70;
export const CCM_RDI = 0x80;

/** Interval codes 1..7 of 802.1ag in milliseconds (OVS's ccm_interval_to_ms). */
export const CCM_INTERVAL_MS: Readonly<Record<number, number>> = {
  1: 3,
  2: 10,
  3: 100,
  4: 1000,
  5: 10000,
  6: 60000,
  7: 600000,
};

export interface CfmTlv {
  type: number;
  value: Uint8Array;
}

export interface Ccm {
  mdLevel: number;
  version: number;
  rdi: boolean;
  /** Interval code, 0..7 (0 only in OVS's extended mode: see intervalMsX). */
  interval: number;
  /** Flag bits 3..6, reserved: zero from OVS. */
  reservedFlags: number;
  sequence: number;
  mepId: number;
  maid: Uint8Array;
  /** OVS extended mode: interval in ms when `interval` is 0. */
  intervalMsX: number;
  /** OVS extended mode: the full MPID. */
  mpid64: bigint;
  /** OVS extended mode: the sender is operationally down. */
  opdown: boolean;
  /** Optional TLVs before the End TLV. */
  tlvs: CfmTlv[];
  /** False for the 74-byte CCM of old OVS versions (no End TLV). */
  endTlv: boolean;
}

export interface CcmFrame {
  dst: string;
  src: string;
  /** 802.1Q tag if OVS was configured with cfm_ccm_vlan / cfm_ccm_pcp. */
  vlan: { vid: number; pcp: number } | null;
  ccm: Ccm;
}

const ascii = new TextEncoder();

/** OVS's fixed MAID: MD name format 4 (string) "ovs", MA name format 2 (string) "ovs". */
export function ovsMaid(): Uint8Array {
  return makeMaid('ovs', 'ovs');
}

export function makeMaid(mdName: string, maName: string): Uint8Array {
  const md = ascii.encode(mdName);
  const ma = ascii.encode(maName);
  if (md.length + ma.length + 4 > CCM_MAID_LEN)
    throw new RangeError('MD and MA names too long for a MAID');
  const m = new Uint8Array(CCM_MAID_LEN);
  m[0] = 4;
  m[1] = md.length;
  m.set(md, 2);
  m[2 + md.length] = 2;
  m[3 + md.length] = ma.length;
  m.set(ma, 4 + md.length);
  return m;
}

export function encodeCcm(c: Ccm, w: Writer): void {
  w.u8(((c.mdLevel & 7) << 5) | (c.version & 0x1f));
  w.u8(CCM_OPCODE);
  w.u8((c.rdi ? CCM_RDI : 0) | ((c.reservedFlags & 0xf) << 3) | (c.interval & 7));
  w.u8(CCM_FIRST_TLV_OFFSET);
  w.u32(c.sequence);
  w.u16(c.mepId);
  w.put(c.maid, CCM_MAID_LEN);
  w.u16(c.intervalMsX);
  w.u64(c.mpid64);
  w.u8(c.opdown ? 1 : 0);
  w.zeros(5);
  for (const t of c.tlvs) {
    w.u8(t.type);
    w.u16(t.value.length);
    w.put(t.value);
  }
  if (c.endTlv) w.u8(0);
}

export function encodeCcmFrame(
  f: { dst: string; src: string; vlan: { vid: number; pcp: number } | null },
  c: Ccm,
  w: Writer,
): void {
  w.mac(f.dst);
  w.mac(f.src);
  if (f.vlan) {
    w.u16(ETH_TYPE_VLAN);
    w.u16(((f.vlan.pcp & 7) << 13) | (f.vlan.vid & 0xfff));
  }
  w.u16(ETH_TYPE_CFM);
  encodeCcm(c, w);
}

function decodeCcmFrom(r: Reader): Ccm {
  const start = r.pos;
  r.need(CCM_ACCEPT_LEN, 'CCM');
  const lv = r.u8();
  const opcode = r.u8();
  if (opcode !== CCM_OPCODE) r.fail(`CFM opcode ${opcode} is not a CCM`, start + 1);
  const flags = r.u8();
  const tlvOffset = r.u8();
  if (tlvOffset !== CCM_FIRST_TLV_OFFSET)
    r.fail(`first TLV offset ${tlvOffset}, expected 70`, start + 3);
  const sequence = r.u32();
  const mepId = r.u16();
  const maid = r.bytes(CCM_MAID_LEN);
  const intervalMsX = r.u16();
  const mpid64 = r.u64();
  const opdown = r.u8() !== 0;
  r.skip(5);
  const tlvs: CfmTlv[] = [];
  let endTlv = false;
  while (r.remaining > 0) {
    const type = r.u8();
    if (type === 0) {
      endTlv = true;
      break;
    }
    const len = r.u16('TLV length');
    tlvs.push({ type, value: r.bytes(len, 'TLV value') });
  }
  return {
    mdLevel: lv >> 5,
    version: lv & 0x1f,
    rdi: (flags & CCM_RDI) !== 0,
    interval: flags & 7,
    reservedFlags: (flags >> 3) & 0xf,
    sequence,
    mepId,
    maid,
    intervalMsX,
    mpid64,
    opdown,
    tlvs,
    endTlv,
  };
}

/** A CCM from its MD-level octet on; bytes after the End TLV are ignored. */
export function decodeCcm(bytes: Uint8Array): Ccm | DecodeError {
  return decodeWith('cfm', () => decodeCcmFrom(new Reader(bytes, 'cfm')));
}

export function decodeCcmFrame(frame: Uint8Array): CcmFrame | DecodeError {
  return decodeWith('cfm', () => {
    const r = new Reader(frame, 'cfm');
    const dst = r.mac();
    const src = r.mac();
    let type = r.u16('ethertype');
    let vlan: CcmFrame['vlan'] = null;
    if (type === ETH_TYPE_VLAN) {
      const tci = r.u16('802.1Q TCI');
      vlan = { vid: tci & 0xfff, pcp: tci >> 13 };
      type = r.u16('ethertype');
    }
    if (type !== ETH_TYPE_CFM) r.fail(`ethertype 0x${type.toString(16)} is not CFM`, r.pos - 2);
    return { dst, src, vlan, ccm: decodeCcmFrom(r) };
  });
}
