/*
 * ovs-ofctl's undocumented commands for testing: they parse or print OpenFlow without a
 * switch (ofp-print, parse-flow(s), print-error, encode-error-reply, encode-hello). OVS's
 * own test suites drive its codec through them, so their output must match byte for byte.
 */

import { vlog } from '../../lib/vlog.ts';
import { encodeMessage } from '../../ofproto/openflow/codec.ts';
import { errorTripletIn, isOfpErrorName } from '../../ofproto/openflow/errors.ts';
import { parseFlowMod } from '../../ofproto/openflow/flow-mod-parse.ts';
import { logNormalization } from '../../ofproto/openflow/match-normalize.ts';
import type { FlowMod } from '../../ofproto/openflow/messages.ts';
import {
  P_ANY,
  P_OF10_NXM_TID,
  P_OF10_STD_TID,
  protocolsToString,
  protocolVersion,
  usableProtocols,
} from '../../ofproto/openflow/protocols.ts';
import { type Ctx, flowModFrame, preprocessedLines, readInput } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { flowParseError, lineCommand, modifyCookie, NO_PROTOCOL, tableSpecified } from './flows.ts';
import { ofpToString } from './print.ts';

/** OVS's ofpbuf_put_hex(): pairs of hex digits, blanks between pairs skipped. */
export function parseHex(s: string): { bytes: Uint8Array; rest: string } {
  const out: number[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && ' \t\r\n'.includes(s[i])) i++;
    const pair = s.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
    out.push(Number.parseInt(pair, 16));
    i += 2;
  }
  return { bytes: Uint8Array.from(out), rest: s.slice(i) };
}

/* C's atoi(). */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) | 0 : 0;
}

/** `ofp-print HEX [VERBOSITY]`, `ofp-print - [VERBOSITY]` (hex from stdin, or raw with --raw). */
export function cmdOfpPrint(ctx: Ctx, args: string[]): void {
  const verbosity = args.length > 1 ? atoi(args[1]) : 2;
  let bytes: Uint8Array;
  if (args[0] === '-' && ctx.o.raw) {
    bytes = new Uint8Array(Buffer.from(readInput('-'), 'latin1'));
  } else {
    const text = args[0] === '-' ? (readInput('-').split('\n')[0] ?? '') : args[0];
    const p = parseHex(text);
    if (p.rest !== '') throw new OfctlFatal('trailing garbage following hex bytes');
    bytes = p.bytes;
  }
  ctx.out(ofpToString(bytes, { verbosity }));
}

/* ofputil_protocol_to_string(): one protocol's name, which for OpenFlow 1.0 says whether the
 * table-id extension is on ("-table_id" off, "+table_id" on). */
const PROTOCOL_NAMES: Record<number, string> = {
  1: 'OpenFlow10-table_id',
  2: 'OpenFlow10+table_id',
  4: 'NXM-table_id',
  8: 'NXM+table_id',
  16: 'OpenFlow11',
  32: 'OXM-OpenFlow12',
  64: 'OXM-OpenFlow13',
  128: 'OXM-OpenFlow14',
  256: 'OXM-OpenFlow15',
};

/* `noTable[i]`: the i-th flow gave no table. */
function printFlowMods(
  ctx: Ctx,
  fms: readonly FlowMod[],
  usable: number,
  noTable: readonly boolean[],
): void {
  ctx.out(`usable protocols: ${protocolsToString(usable)}\n`);
  const allowed = usable & ctx.o.allowedProtocols;
  if (!allowed) throw new OfctlFatal('no usable protocol');
  const protocol = allowed & -allowed;
  ctx.out(`chosen protocol: ${PROTOCOL_NAMES[protocol] ?? protocolsToString(protocol)}\n`);
  const version = protocolVersion(protocol);
  let xid = 1;
  for (const [i, fm] of fms.entries()) {
    const msg = flowModFrame(fm, protocol);
    const bytes = encodeMessage({ version, xid: xid++, msg });
    // With the table-id extension OVS sends "no table given" as table 255 in the command's
    // high byte, where our encoder writes 0 (which a switch reads the same way).
    if (protocol & (P_OF10_STD_TID | P_OF10_NXM_TID) && noTable[i]) {
      bytes[msg.type === 'flow_mod' && msg.format === 'nxt' ? 24 : 56] = 0xff;
    }
    ctx.out(ofpToString(bytes, { verbosity: ctx.o.verbosity }));
  }
}

/** `parse-flow FLOW`: parses FLOW as add-flow does and prints the flow mod it makes. */
export function cmdParseFlow(ctx: Ctx, args: string[]): void {
  const p = parseFlowMod(args[0], 'add', {});
  if (!p.ok) throw new OfctlFatal(flowParseError(p.error));
  logNormalization(p.value.match);
  const usable = usableProtocols(p.value, { tableSpecified: tableSpecified(args[0]) });
  if (!usable) throw new OfctlFatal(NO_PROTOCOL);
  printFlowMods(ctx, [modifyCookie(p.value)], usable, [!tableSpecified(args[0])]);
}

/** `parse-flows FILE`: parses FILE as add-flows does and prints each flow mod. */
export function cmdParseFlows(ctx: Ctx, args: string[]): void {
  const text = readInput(args[0]);
  const fms: FlowMod[] = [];
  const noTable: boolean[] = [];
  let usable = P_ANY;
  for (const { line, no } of preprocessedLines(text)) {
    const lc = lineCommand(line);
    const p = parseFlowMod(lc.rest, lc.command, {});
    if (!p.ok) throw new OfctlFatal(`${args[0]}:${no}: ${flowParseError(p.error)}`);
    logNormalization(p.value.match);
    const u = usableProtocols(p.value, { tableSpecified: tableSpecified(lc.rest) });
    if (!u) throw new OfctlFatal(`${args[0]}:${no}: ${NO_PROTOCOL}`);
    usable &= u;
    fms.push(modifyCookie(p.value));
    noTable.push(!tableSpecified(lc.rest));
  }
  printFlowMods(ctx, fms, usable, noTable);
}

/* OVS's error domains, by wire version, as print-error names them. */
const DOMAINS: ReadonlyArray<readonly [number, string]> = [
  [1, 'OpenFlow 1.0'],
  [2, 'OpenFlow 1.1'],
  [3, 'OpenFlow 1.2'],
  [4, 'OpenFlow 1.3'],
  [5, 'OpenFlow 1.4'],
  [6, 'OpenFlow 1.5'],
];

/** `print-error NAME`: where error NAME goes on the wire in each OpenFlow version. */
export function cmdPrintError(ctx: Ctx, args: string[]): void {
  const name = args[0].replace(/^OFPERR_/, '');
  if (!isOfpErrorName(name)) throw new OfctlFatal(`unknown error "${args[0]}"`);
  for (const [v, domain] of DOMAINS) {
    const t = errorTripletIn(name, v);
    if (!t) continue;
    const vendor = t.vendor ? `0x${t.vendor.toString(16)}` : '0';
    ctx.out(`${domain}: vendor ${vendor}, type ${t.type}, code ${t.code}\n`);
  }
}

/** `encode-error-reply NAME HEX`: the error reply to request HEX, as a hex dump. */
export function cmdEncodeErrorReply(ctx: Ctx, args: string[]): void {
  const name = args[0].replace(/^OFPERR_/, '');
  if (!isOfpErrorName(name)) throw new OfctlFatal(`unknown error "${args[0]}"`);
  const p = parseHex(args[1]);
  if (p.rest !== '') throw new OfctlFatal('Trailing garbage in hex data');
  const rq = p.bytes;
  if (rq.length < 8) throw new OfctlFatal('Request too short');
  if (rq.length !== ((rq[2] << 8) | rq[3])) throw new OfctlFatal('Request size inconsistent');
  const xid = ((rq[4] << 24) | (rq[5] << 16) | (rq[6] << 8) | rq[7]) >>> 0;
  if (!errorTripletIn(name, rq[0])) {
    const domain = DOMAINS.find(([v]) => v === rq[0]);
    vlog('ofp_errors').err(`cannot encode ${name} for ${domain ? domain[1] : `version ${rq[0]}`}`);
  }
  const data = rq.subarray(0, Math.min(rq.length, 64));
  const bytes = encodeMessage({
    version: rq[0],
    xid,
    msg: { type: 'error', error: { name, type: 0, code: 0, vendor: 0, data } },
  });
  ctx.out(ovsHexDump(bytes));
}

/* OVS's ovs_hex_dump() to a stream (no ASCII column): the separator comes before each byte. */
function ovsHexDump(b: Uint8Array): string {
  let s = '';
  for (let off = 0; off < b.length; off += 16) {
    let line = `${off.toString(16).padStart(8, '0')} `;
    for (let i = 0; i < 16 && off + i < b.length; i++) {
      line += `${i === 8 ? '-' : ' '}${b[off + i].toString(16).padStart(2, '0')}`;
    }
    s += `${line}\n`;
  }
  return s;
}
