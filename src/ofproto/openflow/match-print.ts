/*
 * Matches printed as they are on the wire rather than as the flow they mean: what ovs-ofctl
 * shows at high verbosity (and its parse-* test commands print). An NXM or OXM match becomes
 * "NXM_OF_ETH_TYPE(0800), NXM_OF_IP_PROTO_W(06/ff)", an OpenFlow 1.0 match lists its fields
 * in the struct's own terms (dl_vlan=65535 for "no VLAN", "*" for wildcards at verbosity 2+).
 */

import { headerByWire, OFPXMC_EXPERIMENTER } from './oxm-fields.ts';

const NXM_NX_COOKIE = 30;

function hex(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/* An entry's name as OVS spells it: the header's name (with _W when masked), the cookie
 * pseudo-field, or "class:field" when nothing has that number. */
function entryName(cls: number, num: number, exp: number, masked: boolean, width: number): string {
  // The cookie pseudo-field shares its number with mpls_ttl, told apart by length.
  if (cls === 1 && num === NXM_NX_COOKIE && width === 8) {
    return masked ? 'NXM_NX_COOKIE_W' : 'NXM_NX_COOKIE';
  }
  const h = headerByWire(cls, num, exp);
  if (h && h.nBytes === width) return masked ? `${h.name}_W` : h.name;
  return `${cls}:${num}`;
}

/**
 * The entries of an NXM or OXM match body (without OXM's ofp_match header), OVS's
 * nx_match_to_string(): "<any>" when empty; bytes that do not make a whole, consistent entry
 * end the list as "<N invalid bytes>".
 */
export function nxMatchToString(b: Uint8Array): string {
  if (b.length === 0) return '<any>';
  const parts: string[] = [];
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 4) break;
    const cls = (b[at] << 8) | b[at + 1];
    const num = b[at + 2] >> 1;
    const masked = (b[at + 2] & 1) === 1;
    const len = b[at + 3];
    const expLen = cls === OFPXMC_EXPERIMENTER ? 4 : 0;
    if (expLen && b.length - at < 8) break;
    if (len < expLen) break;
    const exp = expLen
      ? ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0
      : 0;
    const payload = len - expLen;
    const start = at + 4 + expLen;
    if (start + payload > b.length) break;
    const width = masked ? payload >> 1 : payload;
    if (masked) {
      let consistent = true;
      for (let i = 0; i < width; i++) {
        if (b[start + i] & ~b[start + width + i]) consistent = false;
      }
      if (!consistent) break;
    }
    let s = `${entryName(cls, num, exp, masked, width)}(${hex(b, start, start + width)}`;
    if (masked) s += `/${hex(b, start + width, start + 2 * width)}`;
    parts.push(`${s})`);
    at = start + payload;
  }
  if (at < b.length) parts.push(`<${b.length - at} invalid bytes>`);
  return parts.join(', ');
}

/**
 * An OXM match as it sits in a message (ofp_match header: type 1, length, entries, padding),
 * OVS's oxm_match_to_string(); `len` is the padded length the header's length rounds up to.
 */
export function oxmMatchToString(b: Uint8Array): string {
  if (b.length < 4) return `<${b.length} invalid bytes>`;
  const type = (b[0] << 8) | b[1];
  const matchLen = (b[2] << 8) | b[3];
  if (type !== 1) return `<bad match type field ${type}>`;
  if (matchLen < 4 || matchLen > b.length) return `<bad length ${matchLen}>`;
  return nxMatchToString(b.subarray(4, matchLen));
}

const OFPFW10_IN_PORT = 1 << 0;
const OFPFW10_DL_VLAN = 1 << 1;
const OFPFW10_DL_SRC = 1 << 2;
const OFPFW10_DL_DST = 1 << 3;
const OFPFW10_DL_TYPE = 1 << 4;
const OFPFW10_NW_PROTO = 1 << 5;
const OFPFW10_TP_SRC = 1 << 6;
const OFPFW10_TP_DST = 1 << 7;
const OFPFW10_DL_VLAN_PCP = 1 << 20;
const OFPFW10_NW_TOS = 1 << 21;

function mac(b: Uint8Array, at: number): string {
  return Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * A 40-byte OpenFlow 1.0 match in its own terms (OVS's ofp10_match_to_string()): below
 * verbosity 2 wildcarded fields are left out, from 2 on they print as "*".
 */
export function ofp10MatchToString(
  b: Uint8Array,
  verbosity: number,
  formatPort: (port: number) => string,
): string {
  const u16 = (at: number) => (b[at] << 8) | b[at + 1];
  const w = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const dlType = u16(22);
  const tos = b[24];
  const proto = b[25];
  const out: string[] = [];
  const wild = (name: string, isWild: number | boolean, value: () => string): void => {
    if (isWild && verbosity < 2) return;
    out.push(`${name}=${isWild ? '*' : value()}`);
  };
  const netmask = (name: string, at: number, wildBits: number): void => {
    if (wildBits >= 32 && verbosity < 2) return;
    if (wildBits >= 32) {
      out.push(`${name}=*`);
      return;
    }
    const ip = Array.from(b.subarray(at, at + 4)).join('.');
    out.push(`${name}=${ip}${wildBits ? `/${32 - wildBits}` : ''}`);
  };
  let skipType = false;
  let skipProto = false;
  if (!(w & OFPFW10_DL_TYPE)) {
    skipType = true;
    if (dlType === 0x0800) {
      if (!(w & OFPFW10_NW_PROTO)) {
        skipProto = true;
        const names: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
        if (names[proto]) out.push(names[proto]);
        else {
          out.push('ip');
          skipProto = false;
        }
      } else {
        out.push('ip');
      }
    } else if (dlType === 0x0806) out.push('arp');
    else if (dlType === 0x8035) out.push('rarp');
    else if (dlType === 0x8847) out.push('mpls');
    else if (dlType === 0x8848) out.push('mplsm');
    else skipType = false;
  }
  wild('in_port', w & OFPFW10_IN_PORT, () => formatPort(u16(4)));
  wild('dl_vlan', w & OFPFW10_DL_VLAN, () => String(u16(18)));
  wild('dl_vlan_pcp', w & OFPFW10_DL_VLAN_PCP, () => String(b[20]));
  wild('dl_src', w & OFPFW10_DL_SRC, () => mac(b, 6));
  wild('dl_dst', w & OFPFW10_DL_DST, () => mac(b, 12));
  if (!skipType) {
    wild('dl_type', w & OFPFW10_DL_TYPE, () => `0x${dlType.toString(16).padStart(4, '0')}`);
  }
  netmask('nw_src', 28, (w >>> 8) & 0x3f);
  netmask('nw_dst', 32, (w >>> 14) & 0x3f);
  if (!skipProto) {
    const isArp = dlType === 0x0806 || dlType === 0x8035;
    wild(isArp ? 'arp_op' : 'nw_proto', w & OFPFW10_NW_PROTO, () => String(proto));
  }
  wild('nw_tos', w & OFPFW10_NW_TOS, () => String(tos));
  if (proto === 1) {
    wild('icmp_type', w & OFPFW10_TP_SRC, () => String(u16(36)));
    wild('icmp_code', w & OFPFW10_TP_DST, () => String(u16(38)));
  } else {
    wild('tp_src', w & OFPFW10_TP_SRC, () => String(u16(36)));
    wild('tp_dst', w & OFPFW10_TP_DST, () => String(u16(38)));
  }
  return out.join(',');
}
