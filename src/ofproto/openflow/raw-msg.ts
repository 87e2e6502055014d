/*
 * Framing for the messages our message union does not model (table-desc, queue config, TLV
 * tables, conntrack flushes, IPFIX statistics, flow monitors): the OpenFlow, Nicira vendor and
 * multipart headers they sit in, built and recognised from bytes. Bodies are each message
 * module's business; this only says where a body starts and what kind of message it is.
 */

export const NX_VENDOR_ID = 0x00002320;
export const ONF_VENDOR_ID = 0x4f4e4600;

const OFPT_VENDOR = 4;

/** Where a message's body starts and what names its type. */
export type RawKind =
  | { cls: 'ofpt'; type: number }
  | { cls: 'nxt'; subtype: number }
  | { cls: 'onft'; subtype: number }
  | { cls: 'ofpst'; reply: boolean; stat: number; flags: number }
  | { cls: 'nxst'; reply: boolean; subtype: number; flags: number }
  | { cls: 'onfst'; reply: boolean; subtype: number; flags: number };

export interface RawMessage {
  version: number;
  xid: number;
  kind: RawKind;
  /** The message's own bytes (exactly its length). */
  bytes: Uint8Array;
  /** Offset of the body after every header. */
  bodyAt: number;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function statsTypes(version: number): [number, number] {
  return version === 1 ? [16, 17] : [18, 19];
}

/** The kind and body offset of a whole message, or null if its headers are cut short. */
export function parseRaw(bytes: Uint8Array): RawMessage | null {
  if (bytes.length < 8) return null;
  const version = bytes[0];
  const type = bytes[1];
  const len = u16(bytes, 2);
  if (len < 8 || len > bytes.length) return null;
  const b = bytes.subarray(0, len);
  const xid = u32(b, 4);
  const [stReq, stRep] = statsTypes(version);
  if (type === OFPT_VENDOR) {
    if (len < 16) return null;
    const vendor = u32(b, 8);
    const subtype = u32(b, 12);
    if (vendor === NX_VENDOR_ID)
      return { version, xid, kind: { cls: 'nxt', subtype }, bytes: b, bodyAt: 16 };
    if (vendor === ONF_VENDOR_ID)
      return { version, xid, kind: { cls: 'onft', subtype }, bytes: b, bodyAt: 16 };
    return { version, xid, kind: { cls: 'ofpt', type }, bytes: b, bodyAt: 8 };
  }
  if (type === stReq || type === stRep) {
    const hdr = version === 1 ? 12 : 16;
    if (len < hdr) return null;
    const stat = u16(b, 8);
    const flags = u16(b, 10);
    const reply = type === stRep;
    if (stat === 0xffff) {
      if (len < 24) return null;
      const vendor = u32(b, hdr);
      const subtype = u32(b, hdr + 4);
      if (vendor === NX_VENDOR_ID) {
        return { version, xid, kind: { cls: 'nxst', reply, subtype, flags }, bytes: b, bodyAt: 24 };
      }
      if (vendor === ONF_VENDOR_ID) {
        return {
          version,
          xid,
          kind: { cls: 'onfst', reply, subtype, flags },
          bytes: b,
          bodyAt: 24,
        };
      }
    }
    return { version, xid, kind: { cls: 'ofpst', reply, stat, flags }, bytes: b, bodyAt: hdr };
  }
  return { version, xid, kind: { cls: 'ofpt', type }, bytes: b, bodyAt: 8 };
}

function finish(out: Uint8Array): Uint8Array {
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  return out;
}

function head(version: number, type: number, xid: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out[0] = version;
  out[1] = type;
  const dv = new DataView(out.buffer);
  dv.setUint32(4, xid >>> 0);
  return out;
}

/** A plain OpenFlow message: header and body. */
export function ofptMessage(
  version: number,
  type: number,
  xid: number,
  body: Uint8Array,
): Uint8Array {
  const out = head(version, type, xid, 8 + body.length);
  out.set(body, 8);
  return finish(out);
}

/** A Nicira vendor message (NXT_*), or an ONF one with `vendor`. */
export function nxtMessage(
  version: number,
  subtype: number,
  xid: number,
  body: Uint8Array,
  vendor = NX_VENDOR_ID,
): Uint8Array {
  const out = head(version, OFPT_VENDOR, xid, 16 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, vendor);
  dv.setUint32(12, subtype);
  out.set(body, 16);
  return finish(out);
}

/** A standard multipart (stats) request or reply. */
export function statsMessage(
  version: number,
  reply: boolean,
  stat: number,
  xid: number,
  body: Uint8Array,
  flags = 0,
): Uint8Array {
  const [rq, rp] = statsTypes(version);
  const hdr = version === 1 ? 12 : 16;
  const out = head(version, reply ? rp : rq, xid, hdr + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, stat);
  dv.setUint16(10, flags);
  out.set(body, hdr);
  return finish(out);
}

/** A Nicira (or ONF) vendor multipart request or reply: NXST_* (ONFST_*). */
export function nxstMessage(
  version: number,
  reply: boolean,
  subtype: number,
  xid: number,
  body: Uint8Array,
  flags = 0,
  vendor = NX_VENDOR_ID,
): Uint8Array {
  const [rq, rp] = statsTypes(version);
  const hdr = version === 1 ? 12 : 16;
  const out = head(version, reply ? rp : rq, xid, 24 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, 0xffff);
  dv.setUint16(10, flags);
  dv.setUint32(hdr, vendor);
  dv.setUint32(hdr + 4, subtype);
  out.set(body, 24);
  return finish(out);
}

/** The multipart "more" flag of a stats message. */
export function statsMore(m: RawMessage): boolean {
  const k = m.kind;
  return (k.cls === 'ofpst' || k.cls === 'nxst' || k.cls === 'onfst') && (k.flags & 1) !== 0;
}

/** OpenFlow 1.1+ port numbers (32 bits) as OVS's 16-bit ones; null when out of range. */
export function portFromOfp11(p: number): number | null {
  if (p < 0xff00) return p;
  if (p >= 0xffffff00) return (p - 0xffff0000) & 0xffff;
  return null;
}

export function portToOfp11(p: number): number {
  return p >= 0xff00 ? (p + 0xffff0000) >>> 0 : p;
}
