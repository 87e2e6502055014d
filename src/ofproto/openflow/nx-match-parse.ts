/*
 * The text form of raw NXM/OXM matches ("NXM_OF_ETH_TYPE(0800), NXM_OF_IP_SRC_W(c0a80000/
 * ffff0000)") turned into wire bytes, entry for entry, with no checks beyond the syntax: the
 * inverse of nxMatchToString(), used by ovs-ofctl's parse-nxm and parse-oxm test commands to
 * feed the match decoder arbitrary (also invalid) matches.
 */

import { headerByWireName, OFPXMC_EXPERIMENTER } from './oxm-fields.ts';

export class NxMatchSyntaxError extends Error {
  override readonly name = 'NxMatchSyntaxError';
}

/* An entry's header from its name: a field's wire name, that name with _W for its masked form
 * (maskable fields only), the cookie pseudo-field, or the header itself as 8 (or, for an
 * experimenter OXM, 16) hex digits. */
function headerFromName(name: string): { word: number; exp: number } | null {
  const exact = headerByWireName(name);
  const word = (cls: number, num: number, masked: boolean, len: number) =>
    ((cls << 16) | (num << 9) | (masked ? 0x100 : 0) | len) >>> 0;
  if (exact) {
    const extra = exact.experimenter ? 4 : 0;
    return {
      word: word(exact.cls, exact.num, false, exact.nBytes + extra),
      exp: exact.experimenter,
    };
  }
  if (name.endsWith('_W')) {
    const h = headerByWireName(name.slice(0, -2));
    if (h?.field.maskable) {
      const extra = h.experimenter ? 4 : 0;
      return { word: word(h.cls, h.num, true, 2 * h.nBytes + extra), exp: h.experimenter };
    }
  }
  if (name === 'NXM_NX_COOKIE') return { word: word(1, 30, false, 8), exp: 0 };
  if (name === 'NXM_NX_COOKIE_W') return { word: word(1, 30, true, 16), exp: 0 };
  if (/^[0-9a-fA-F]{8}$/.test(name)) return { word: Number.parseInt(name, 16) >>> 0, exp: 0 };
  if (/^[0-9a-fA-F]{16}$/.test(name)) {
    const w = Number.parseInt(name.slice(0, 8), 16) >>> 0;
    if (w >>> 16 === OFPXMC_EXPERIMENTER) {
      return { word: w, exp: Number.parseInt(name.slice(8), 16) >>> 0 };
    }
  }
  return null;
}

/* Hex digit pairs, blanks between pairs allowed (OVS's ofpbuf_put_hex()). */
function takeHex(s: string, at: number): { bytes: number[]; at: number } {
  const bytes: number[] = [];
  let i = at;
  for (;;) {
    while (i < s.length && ' \t\r\n'.includes(s[i])) i++;
    const pair = s.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
    bytes.push(Number.parseInt(pair, 16));
    i += 2;
  }
  return { bytes, at: i };
}

/**
 * The TLV bytes `s` spells, unpadded; "<any>" is none. Throws NxMatchSyntaxError with OVS's
 * message for text it cannot read.
 */
export function nxMatchFromString(s: string): Uint8Array {
  if (s === '<any>') return new Uint8Array(0);
  const out: number[] = [];
  const skipSep = (i: number) => {
    while (i < s.length && (s[i] === ',' || s[i] === ' ')) i++;
    return i;
  };
  for (let i = skipSep(0); i < s.length; i = skipSep(i)) {
    const paren = s.indexOf('(', i);
    if (paren < 0) throw new NxMatchSyntaxError(`${s}: missing ( at end of nx_match`);
    const name = s.slice(i, paren);
    const h = headerFromName(name);
    if (!h) throw new NxMatchSyntaxError(`${s}: unknown field \`${name}'`);
    const masked = (h.word & 0x100) !== 0;
    const expLen = h.word >>> 16 === OFPXMC_EXPERIMENTER ? 4 : 0;
    const payload = (h.word & 0xff) - expLen;
    const width = masked ? payload >> 1 : payload;
    const v = takeHex(s, paren + 1);
    if (v.bytes.length !== width) {
      throw new NxMatchSyntaxError(`expected to read ${width} bytes but got ${v.bytes.length}`);
    }
    out.push(h.word >>> 24, (h.word >>> 16) & 0xff, (h.word >>> 8) & 0xff, h.word & 0xff);
    if (expLen) out.push(h.exp >>> 24, (h.exp >>> 16) & 0xff, (h.exp >>> 8) & 0xff, h.exp & 0xff);
    out.push(...v.bytes);
    i = v.at;
    if (masked) {
      while (s[i] === ' ') i++;
      if (s[i] !== '/') throw new NxMatchSyntaxError(`${s}: missing / in masked field ${name}`);
      const m = takeHex(s, i + 1);
      if (m.bytes.length !== width) {
        throw new NxMatchSyntaxError(`${s.slice(m.at, m.at + 2)}: hex digits expected`);
      }
      out.push(...m.bytes);
      i = m.at;
    }
    while (s[i] === ' ') i++;
    if (s[i] !== ')') throw new NxMatchSyntaxError(`${s}: missing ) following field ${name}`);
    i++;
  }
  return Uint8Array.from(out);
}
