/*
 * Geneve TLV option mappings (Nicira NXT_TLV_TABLE_MOD / _REQUEST / _REPLY): which tunnel
 * option class/type/length a tun_metadataN field matches, as OVS's ofputil_tlv_*.
 */

import { OfpError } from './errors.ts';
import { nxtMessage, type RawMessage } from './raw-msg.ts';

export const NXT_TLV_TABLE_MOD = 24;
export const NXT_TLV_TABLE_REQUEST = 25;
export const NXT_TLV_TABLE_REPLY = 26;

export type TlvCommand = 'add' | 'delete' | 'clear';
const COMMANDS: readonly TlvCommand[] = ['add', 'delete', 'clear'];

export interface TlvMap {
  optionClass: number;
  optionType: number;
  optionLen: number;
  index: number;
}

export interface TlvTableMod {
  command: TlvCommand;
  mappings: TlvMap[];
}

export interface TlvTableReply {
  maxOptionSpace: number;
  maxFields: number;
  mappings: TlvMap[];
}

function putMaps(out: Uint8Array, at: number, maps: readonly TlvMap[]): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const m of maps) {
    dv.setUint16(at, m.optionClass & 0xffff);
    out[at + 2] = m.optionType & 255;
    out[at + 3] = m.optionLen & 255;
    dv.setUint16(at + 4, m.index & 0xffff);
    at += 8;
  }
}

export function encodeTlvTableMod(ttm: TlvTableMod, version: number, xid: number): Uint8Array {
  const body = new Uint8Array(8 + 8 * ttm.mappings.length);
  body[1] = COMMANDS.indexOf(ttm.command);
  putMaps(body, 8, ttm.mappings);
  return nxtMessage(version, NXT_TLV_TABLE_MOD, xid, body);
}

export function encodeTlvTableRequest(version: number, xid: number): Uint8Array {
  return nxtMessage(version, NXT_TLV_TABLE_REQUEST, xid, new Uint8Array(0));
}

export function encodeTlvTableReply(r: TlvTableReply, version: number, xid: number): Uint8Array {
  const body = new Uint8Array(16 + 8 * r.mappings.length);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, r.maxOptionSpace);
  dv.setUint16(4, r.maxFields);
  putMaps(body, 16, r.mappings);
  return nxtMessage(version, NXT_TLV_TABLE_REPLY, xid, body);
}

function pullMaps(b: Uint8Array, at: number, maxFields: number, warn?: Warn): TlvMap[] {
  if ((b.length - at) % 8) throw new OfpError('OFPBRC_BAD_LEN');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: TlvMap[] = [];
  for (; at < b.length; at += 8) {
    const m = {
      optionClass: dv.getUint16(at),
      optionType: b[at + 2],
      optionLen: b[at + 3],
      index: dv.getUint16(at + 4),
    };
    if (m.optionLen % 4 || m.optionLen > 124) {
      warn?.(`tlv table option length (${m.optionLen}) is not a valid option size`);
      throw new OfpError('NXTTMFC_BAD_OPT_LEN');
    }
    if (m.index >= maxFields) {
      warn?.(`tlv table field index (${m.index}) is too large (max ${maxFields - 1})`);
      throw new OfpError('NXTTMFC_BAD_FIELD_IDX');
    }
    out.push(m);
  }
  return out;
}

/** Where OVS logs a warning about a malformed mapping (its ofp_match module). */
export type Warn = (msg: string) => void;

export function decodeTlvTableMod(m: RawMessage, warn?: Warn): TlvTableMod {
  const b = m.bytes;
  if (b.length < m.bodyAt + 8) throw new OfpError('OFPBRC_BAD_LEN');
  const cmd = (b[m.bodyAt] << 8) | b[m.bodyAt + 1];
  const command = COMMANDS[cmd];
  if (!command) throw new OfpError('NXTTMFC_BAD_COMMAND');
  return { command, mappings: pullMaps(b, m.bodyAt + 8, 64, warn) };
}

export function decodeTlvTableReply(m: RawMessage, warn?: Warn): TlvTableReply {
  const b = m.bytes;
  if (b.length < m.bodyAt + 16) throw new OfpError('OFPBRC_BAD_LEN');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const maxFields = dv.getUint16(m.bodyAt + 4);
  return {
    maxOptionSpace: dv.getUint32(m.bodyAt),
    maxFields,
    mappings: pullMaps(b, m.bodyAt + 16, maxFields, warn),
  };
}

/* C's "%#x": no "0x" for zero. */
function altHex(v: number, width: number): string {
  return (v ? `0x${v.toString(16)}` : '0').padStart(width);
}

function tableText(maps: readonly TlvMap[]): string {
  let s =
    ' mapping table:\n  class  type  length  match field\n ------  ----  ------  --------------';
  for (const m of maps) {
    s += `\n ${altHex(m.optionClass, 6)}  ${altHex(m.optionType, 4)}  ${String(m.optionLen).padStart(6)}  tun_metadata${m.index}`;
  }
  return s;
}

export function formatTlvTableMod(t: TlvTableMod): string {
  const s = `\n ${t.command === 'add' ? 'ADD' : t.command === 'delete' ? 'DEL' : 'CLEAR'}`;
  return t.command === 'clear' ? s : `${s}${tableText(t.mappings)}`;
}

export function formatTlvTableReply(r: TlvTableReply): string {
  const used = r.mappings.reduce((n, m) => n + m.optionLen, 0);
  return `\n max option space=${r.maxOptionSpace} max fields=${r.maxFields}\n allocated option space=${used}\n\n${tableText(r.mappings)}`;
}

/* C's strtol base 0 as ovs_scan's %i reads it: sign, 0x hex, leading-0 octal, decimal. */
function scanInt(s: string, at: number): [number, number] | null {
  const m = /^[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s.slice(at));
  if (!m) return null;
  const t = m[0];
  const neg = t.startsWith('-');
  const body = t.replace(/^[-+]/, '');
  let v: number;
  if (/^0[xX]/.test(body)) v = Number.parseInt(body.slice(2), 16);
  else if (body.length > 1 && body.startsWith('0')) v = Number.parseInt(body, 8);
  else v = Number.parseInt(body, 10);
  return [neg ? -v : v, at + t.length];
}

/** ovs-ofctl's "{class=C,type=T,len=L}->tun_metadataN[,...]" list; null if malformed. */
export function parseTlvMappings(s: string): TlvMap[] | null {
  const out: TlvMap[] = [];
  let at = 0;
  const lit = (t: string): boolean => {
    if (s.startsWith(t, at)) {
      at += t.length;
      return true;
    }
    return false;
  };
  while (at < s.length) {
    if (s[at] === ',') at++;
    const vals: number[] = [];
    const parts = ['{class=', ',type=', ',len=', '}->tun_metadata'];
    for (const p of parts) {
      if (!lit(p)) return null;
      const r = scanInt(s, at);
      if (!r) return null;
      vals.push(r[0]);
      at = r[1];
    }
    out.push({
      optionClass: vals[0] & 0xffff,
      optionType: vals[1] & 255,
      optionLen: vals[2] & 255,
      index: vals[3] & 0xffff,
    });
  }
  return out;
}
