/*
 * ovs-ofctl's `bundle` command: a file of "flow ..." and "group ..." lines (each with its own
 * command word) sent as one ordered, atomic bundle, OpenFlow 1.4 implied when no version that
 * has bundles is allowed.
 */

import { readFileSync } from 'node:fs';
import { parseFlowMod } from '../../ofproto/openflow/flow-mod-parse.ts';
import { type GroupCommand, type GroupMod, parseGroupMod } from '../../ofproto/openflow/group.ts';
import { logNormalization } from '../../ofproto/openflow/match-normalize.ts';
import type { OfpMessage } from '../../ofproto/openflow/messages.ts';
import { parseOfpacts } from '../../ofproto/openflow/ofpact-parse.ts';
import { P_ANY, P_OF13_UP, usableProtocols } from '../../ofproto/openflow/protocols.ts';
import { Ctx, flowModFrame, preprocessedLines } from './ctx.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { bundleTransact, flowParseError, lineCommand, tableSpecified } from './flows.ts';
import { parsePacketOutStr } from './monitor.ts';
import { protocolsFromVersions } from './options.ts';

type Line =
  | { kind: 'flow'; msg: Parameters<typeof flowModFrame>[0] }
  | { kind: 'group'; msg: GroupMod }
  | { kind: 'packet-out'; msg: OfpMessage };

const GROUP_WORDS: Array<[string, GroupCommand]> = [
  ['add', 'add'],
  ['delete', 'delete'],
  ['modify', 'modify'],
  ['insert_bucket', 'insert_bucket'],
  ['remove_bucket', 'remove_bucket'],
];

/* OVS compares the first token as a prefix of each command word in turn (strncmp). */
function groupCommand(s: string): { command: GroupCommand; rest: string } {
  const t = s.replace(/^[ \t\r\n]+/, '');
  const tok = /^[^, \t\r\n]*/.exec(t)?.[0] ?? '';
  for (const [w, c] of GROUP_WORDS) {
    if (w.startsWith(tok)) return { command: c, rest: t.slice(tok.length) };
  }
  return { command: 'add', rest: t };
}

export async function cmdBundle(ctx: Ctx, args: string[]): Promise<void> {
  const [name, file] = args;
  const accept = await ctx.portsToAccept(name);
  if (ctx.shouldAcceptNames()) await ctx.tableMap(name);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'latin1');
  } catch (e) {
    throw new OfctlFatal(`${file}: open failed (${strerror((e as NodeJS.ErrnoException).code)})`);
  }
  const lines: Line[] = [];
  let usable = P_ANY;
  for (const { line, no } of preprocessedLines(text)) {
    const s = line.replace(/^[ \t\r\n]+/, '');
    const tok = /^[^, \t\r\n]*/.exec(s)?.[0] ?? '';
    const rest = s.slice(tok.length);
    const fail = (e: string): never => {
      throw new OfctlFatal(`${file}:${no}: ${e}`);
    };
    if ('flow'.startsWith(tok)) {
      const lc = lineCommand(rest);
      const p = parseFlowMod(lc.rest, lc.command, { portNumber: accept });
      if (!p.ok) fail(flowParseError(p.error));
      else {
        logNormalization(p.value.match);
        usable &= usableProtocols(p.value, { tableSpecified: tableSpecified(lc.rest) });
        lines.push({ kind: 'flow', msg: p.value });
      }
    } else if ('group'.startsWith(tok)) {
      const gc = groupCommand(rest);
      const p = parseGroupMod(gc.rest, gc.command);
      if (!p.ok) fail(p.error);
      else lines.push({ kind: 'group', msg: p.value });
    } else if ('packet-out'.startsWith(tok)) {
      let po: ReturnType<typeof parsePacketOutStr>;
      try {
        po = parsePacketOutStr(rest, accept, parseOfpacts);
      } catch (e) {
        if (e instanceof OfctlFatal) fail(e.message);
        throw e;
      }
      lines.push({ kind: 'packet-out', msg: { type: 'packet_out', bufferId: 0xffffffff, ...po } });
    } else {
      fail(`Unsupported bundle message type: ${tok}`);
    }
  }
  let o = ctx.o;
  if (!o.versions.some((v) => v >= 4)) {
    // Implicitly OpenFlow 1.4, and only versions that have bundles.
    const versions = [...o.versions, 5].filter((v) => v >= 4);
    o = { ...o, versions, allowedProtocols: protocolsFromVersions(versions) };
  }
  const sub = new Ctx(o, ctx.out, ctx.err);
  const { vc, protocol } = await sub.openForFlowMod(name, usable & P_OF13_UP);
  const msgs: OfpMessage[] = lines.map((l) =>
    l.kind === 'flow'
      ? flowModFrame(l.msg, protocol)
      : l.kind === 'group'
        ? { type: 'group_mod', ...l.msg }
        : l.msg,
  );
  await bundleTransact(sub, vc, msgs);
  vc.close();
}
