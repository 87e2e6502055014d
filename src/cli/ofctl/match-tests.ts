/*
 * ovs-ofctl's undocumented match round-trip commands (parse-ofp10-match, ...): each reads
 * wire matches as hex, one a line, from stdin, prints the flow each means and where encoding
 * that flow again gives other bytes. OVS's test suites check its match codecs through them.
 */

import { W_VLAN0 } from '../../lib/flow/layout.ts';
import { type Match, newMatch } from '../../lib/flow/match.ts';
import { matchToString } from '../../lib/flow/match-format.ts';
import { Reader, Writer } from '../../ofproto/openflow/bytes.ts';
import { OfpError } from '../../ofproto/openflow/errors.ts';
import { parseFlowMod } from '../../ofproto/openflow/flow-mod-parse.ts';
import {
  pullMatchRaw,
  pullOxmMatch,
  putMatchRaw,
  putOxmMatch,
} from '../../ofproto/openflow/match-nxm.ts';
import {
  normalizeOf10Logged,
  OFP10_MATCH_LEN,
  pullOf10Match,
  putOf10Match,
} from '../../ofproto/openflow/match-of10.ts';
import { OFP11_MATCH_LEN, pullOf11Match, putOf11Match } from '../../ofproto/openflow/match-of11.ts';
import { nxMatchToString, oxmMatchToString } from '../../ofproto/openflow/match-print.ts';
import { NxMatchSyntaxError, nxMatchFromString } from '../../ofproto/openflow/nx-match-parse.ts';
import { type Ctx, preprocessedLines, readInput } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { parseHex } from './testing.ts';

const OF_VERSIONS = [
  'OpenFlow10',
  'OpenFlow11',
  'OpenFlow12',
  'OpenFlow13',
  'OpenFlow14',
  'OpenFlow15',
];

/** OVS's print_differences(): "OFFSET: old -> new" for each byte that changed. */
export function differences(prefix: string, a: Uint8Array, b: Uint8Array): string {
  let s = '';
  const n = Math.min(a.length, b.length);
  const hx = (x: number) => x.toString(16).padStart(2, '0');
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) s += `${prefix}${String(i).padStart(2)}: ${hx(a[i])} -> ${hx(b[i])}\n`;
  }
  for (let i = a.length; i < b.length; i++)
    s += `${prefix}${String(i).padStart(2)}: (none) -> ${hx(b[i])}\n`;
  for (let i = b.length; i < a.length; i++)
    s += `${prefix}${String(i).padStart(2)}: ${hx(a[i])} -> (none)\n`;
  return s;
}

/* Hex with "x" digits: as expected output the x's are 0, as input each is a random digit
 * (bytes the codec must ignore). */
function hexPair(line: string, len: number): { input: Uint8Array; expected: Uint8Array } {
  const parse = (text: string) => {
    const p = parseHex(text);
    if (p.rest !== '') throw new OfctlFatal('Trailing garbage in hex data');
    if (p.bytes.length !== len) {
      throw new OfctlFatal(`Input is ${p.bytes.length} bytes, expected ${len}`);
    }
    return p.bytes;
  };
  const expected = parse(line.replace(/x/g, '0'));
  const input = parse(line.replace(/x/g, () => '0123456789abcdef'[(Math.random() * 16) | 0]));
  return { input, expected };
}

function of10Bytes(m: Parameters<typeof putOf10Match>[1]): Uint8Array {
  const w = new Writer(OFP10_MATCH_LEN);
  putOf10Match(w, m);
  return w.finish();
}

/** `parse-ofp10-match`: OF1.0 matches from stdin, as flows and re-encoded, then normalized. */
export function cmdParseOfp10Match(ctx: Ctx): void {
  for (const { line } of preprocessedLines(readInput('-'))) {
    const { input, expected } = hexPair(line, OFP10_MATCH_LEN);
    const m = pullOf10Match(new Reader(input), 'none');
    ctx.out(`${matchToString(m)}\n`);
    const out = of10Bytes(m);
    ctx.out(differences('', expected, out));
    normalizeOf10Logged(m);
    ctx.out(differences('normal: ', out, of10Bytes(m)));
    ctx.out('\n');
  }
}

/** `parse-ofp11-match`: OF1.1 standard matches from stdin, as flows and re-encoded. */
export function cmdParseOfp11Match(ctx: Ctx): void {
  for (const { line } of preprocessedLines(readInput('-'))) {
    const p = parseHex(line);
    if (p.rest !== '') throw new OfctlFatal('Trailing garbage in hex data');
    if (p.bytes.length !== OFP11_MATCH_LEN) {
      throw new OfctlFatal(`Input is ${p.bytes.length} bytes, expected ${OFP11_MATCH_LEN}`);
    }
    let m: ReturnType<typeof pullOf11Match>;
    try {
      m = pullOf11Match(new Reader(p.bytes));
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      ctx.out(`bad ofp11_match: ${e.error}\n\n`);
      continue;
    }
    ctx.out(`${matchToString(m)}\n`);
    const w = new Writer(OFP11_MATCH_LEN);
    putOf11Match(w, m);
    ctx.out(differences('', p.bytes, w.finish()));
    ctx.out('\n');
  }
}

/* OVS's ovs_hex_dump() without the ASCII column: unlike ofp-print's dumps, the '-' goes only
 * before a ninth byte. */
function plainHexDump(b: Uint8Array): string {
  let s = '';
  for (let off = 0; off < b.length; off += 16) {
    s += `${off.toString(16).padStart(8, '0')} `;
    for (let i = 0; i < 16 && off + i < b.length; i++) {
      s += `${i === 8 ? '-' : ' '}${b[off + i].toString(16).padStart(2, '0')}`;
    }
    s += '\n';
  }
  return s;
}

/* OVS's ds_get_test_line(): comment lines and blank lines are echoed, not returned. */
function* testLines(ctx: Ctx, text: string): Generator<string> {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    if (raw.startsWith('#')) {
      ctx.out(`${raw}\n`);
      continue;
    }
    const hash = raw.indexOf('#');
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    if (!/[^ \t\n]/.test(line)) {
      ctx.out('\n');
      continue;
    }
    yield line;
  }
}

/**
 * `parse-nxm` (`parse-nx-match`) and `parse-oxm VERSION`: raw NXM/OXM matches as text from
 * stdin, decoded (strictly with --strict) and encoded again, printed in the same text form.
 */
export function cmdParseNxm(ctx: Ctx, args: string[], oxm: boolean): void {
  let version = 1;
  if (oxm) {
    const v = OF_VERSIONS.indexOf(args[0] ?? '');
    if (v < 0) throw new OfctlFatal(`${args[0]}: not a valid version string`);
    version = v + 1;
  }
  const strict = ctx.o.strict;
  for (const line of testLines(ctx, readInput('-'))) {
    let tlvs: Uint8Array;
    try {
      tlvs = nxMatchFromString(line);
    } catch (e) {
      if (e instanceof NxMatchSyntaxError) throw new OfctlFatal(e.message);
      throw e;
    }
    let m: Match;
    const cookie = { value: 0n, mask: 0n };
    try {
      if (oxm) {
        const w = new Writer(tlvs.length + 12);
        w.u16(1)
          .u16(tlvs.length + 4)
          .bytes(tlvs)
          .pad(8, 0);
        m = pullOxmMatch(new Reader(w.finish()), strict);
      } else {
        const padded = new Uint8Array((tlvs.length + 7) & ~7);
        padded.set(tlvs);
        m = pullMatchRaw(new Reader(padded), tlvs.length, strict, cookie);
      }
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      ctx.out(`nx_pull_match() returned error ${e.error}\n`);
      continue;
    }
    const w = new Writer(64);
    let text: string;
    if (oxm) {
      putOxmMatch(w, m, version);
      text = oxmMatchToString(w.finish());
    } else {
      const len = putMatchRaw(w, m, { oxm: false, version: 1 }, cookie);
      w.pad(8, 0);
      text = nxMatchToString(w.finish().subarray(0, len));
    }
    ctx.out(`${text}\n`);
    if (ctx.o.verbosity > 0) ctx.out(plainHexDump(w.finish()));
  }
}

/**
 * `check-vlan TCI MASK`: a VLAN match through each of OVS's representations (flow syntax,
 * NXM, OXM, OF1.0, OF1.1), printing what each makes of it.
 */
export function cmdCheckVlan(ctx: Ctx, args: string[]): void {
  const hex4 = (v: number) => v.toString(16).padStart(4, '0');
  const hex2 = (v: number) => v.toString(16).padStart(2, '0');
  const tciOf = (m: Match) => `${hex4(m.key[W_VLAN0] & 0xffff)}/${hex4(m.mask[W_VLAN0] & 0xffff)}`;
  const m = newMatch();
  m.key[W_VLAN0] = Number.parseInt(args[0], 16) & 0xffff;
  m.mask[W_VLAN0] = Number.parseInt(args[1], 16) & 0xffff;

  const text = matchToString(m);
  ctx.out(`${text} -> `);
  // OVS parses with no command, which needs no actions; a delete needs none either.
  const p = parseFlowMod(text, 'delete', {});
  if (!p.ok) throw new OfctlFatal(p.error);
  ctx.out(`${tciOf(p.value.match)}\n`);

  let w = new Writer(64);
  const len = putMatchRaw(w, m, { oxm: false, version: 1 });
  const nxm = w.finish().subarray(0, len);
  ctx.out(`NXM: ${nxMatchToString(nxm)} -> `);
  try {
    ctx.out(`${tciOf(pullMatchRaw(new Reader(nxm), nxm.length))}\n`);
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    ctx.out(`${e.error}\n`);
  }

  w = new Writer(64);
  putOxmMatch(w, m, 3);
  const oxm = w.finish();
  ctx.out(`OXM: ${oxmMatchToString(oxm)} -> `);
  try {
    const o = pullOxmMatch(new Reader(oxm));
    const vid = o.key[W_VLAN0] & 0x1fff;
    const mask = o.mask[W_VLAN0] & 0x1fff;
    const pcp = vid && (o.mask[W_VLAN0] >>> 13) & 7 ? hex2((o.key[W_VLAN0] >>> 13) & 7) : '--';
    ctx.out(
      `${hex4(vid)}/${hex4(mask)},${pcp === '--' ? pcp : String(Number.parseInt(pcp, 16)).padStart(2, '0')}\n`,
    );
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    ctx.out(`${e.error}\n`);
  }

  w = new Writer(OFP10_MATCH_LEN);
  putOf10Match(w, m);
  const of10 = w.finish();
  const wc10 = new DataView(of10.buffer, of10.byteOffset).getUint32(0);
  const back10 = pullOf10Match(new Reader(of10), 'none');
  ctx.out(
    `OF1.0: ${hex4((of10[18] << 8) | of10[19])}/${(wc10 >>> 1) & 1},${hex2(of10[20])}/${(wc10 >>> 20) & 1} -> ${tciOf(back10)}\n`,
  );

  w = new Writer(OFP11_MATCH_LEN);
  putOf11Match(w, m);
  const of11 = w.finish();
  const wc11 = new DataView(of11.buffer, of11.byteOffset).getUint32(8);
  let back11 = '';
  try {
    back11 = tciOf(pullOf11Match(new Reader(of11)));
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    back11 = e.error;
  }
  ctx.out(
    `OF1.1: ${hex4((of11[36] << 8) | of11[37])}/${(wc11 >>> 1) & 1},${hex2(of11[38])}/${(wc11 >>> 2) & 1} -> ${back11}\n`,
  );
}
