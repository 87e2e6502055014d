/*
 * ovs-ofctl's Nicira-extension commands: Geneve TLV mappings (add/del/dump-tlv-map), conntrack
 * flushes (ct-flush-zone, ct-flush) and IPFIX statistics (dump-ipfix-bridge/flow).
 */

import {
  type CtMatch,
  emptyCtMatch,
  encodeCtFlush,
  encodeCtFlushZone,
  parseCtTuple,
} from '../../ofproto/openflow/ct-flush.ts';
import { encodeIpfixRequest } from '../../ofproto/openflow/ipfix-stats.ts';
import { P_NXM_OXM_ANY } from '../../ofproto/openflow/protocols.ts';
import {
  encodeTlvTableMod,
  encodeTlvTableRequest,
  parseTlvMappings,
  type TlvCommand,
} from '../../ofproto/openflow/tlv-table.ts';
import type { Ctx } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { dumpRaw, rawRequest } from './raw-dump.ts';

export async function cmdTlvMod(ctx: Ctx, args: string[], add: boolean): Promise<void> {
  const command: TlvCommand = add ? 'add' : args.length > 1 ? 'delete' : 'clear';
  const mappings = parseTlvMappings(args.length > 1 ? args[1] : '');
  if (!mappings) throw new OfctlFatal('invalid tlv mapping');
  const { vc } = await ctx.openForFlowMod(args[0], P_NXM_OXM_ANY);
  await ctx.transactNoreply(vc, [
    rawRequest((xid) => encodeTlvTableMod({ command, mappings }, vc.version, xid)),
  ]);
  vc.close();
}

export async function cmdDumpTlvMap(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  await dumpRaw(
    ctx,
    vc,
    rawRequest((xid) => encodeTlvTableRequest(vc.version, xid)),
    args[0],
  );
  vc.close();
}

/* OVS's str_to_u16(): strtol base 0 over the whole string, 0..65535. */
function strToU16(s: string, what: string): number {
  let v: number | null = null;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]*$/.test(s)) v = Number.parseInt(s, 8);
  else if (/^[1-9]\d*$/.test(s)) v = Number(s);
  if (v === null || v > 0xffff) throw new OfctlFatal(`invalid ${what} "${s}"`);
  return v;
}

export async function cmdCtFlushZone(ctx: Ctx, args: string[]): Promise<void> {
  const zone = strToU16(args[1], 'zone_id');
  const vc = await ctx.open(args[0]);
  await ctx.transactNoreply(vc, [rawRequest((xid) => encodeCtFlushZone(zone, vc.version, xid))]);
  vc.close();
}

export async function cmdCtFlush(ctx: Ctx, args: string[]): Promise<void> {
  const m: CtMatch = emptyCtMatch();
  let rest = args.slice(1);
  let zone: number | null = null;
  if (rest.length && rest[0].startsWith('zone=')) {
    // ovs_scan("zone=%SCNu16"): decimal digits, an optional sign, trailing text ignored.
    const mm = /^zone=\s*\+?(\d+)/.exec(rest[0]);
    if (!mm || Number(mm[1]) > 0xffff) throw new OfctlFatal('Failed to parse zone');
    zone = Number(mm[1]);
    rest = rest.slice(1);
  }
  for (let i = 0; i < 2 && i < rest.length; i++) {
    const arg = rest[i];
    if (!arg) continue;
    const err = parseCtTuple(arg, i ? m.reply : m.orig, m);
    if (err !== null) throw new OfctlFatal(`Failed to parse ct-tuple: ${err}`);
  }
  const vc = await ctx.open(args[0]);
  await ctx.transactNoreply(vc, [rawRequest((xid) => encodeCtFlush(m, zone, vc.version, xid))]);
  vc.close();
}

export async function cmdDumpIpfix(ctx: Ctx, args: string[], flow: boolean): Promise<void> {
  const vc = await ctx.open(args[0]);
  await dumpRaw(
    ctx,
    vc,
    rawRequest((xid) => encodeIpfixRequest(vc.version, flow, xid)),
    args[0],
  );
  vc.close();
}
