/*
 * Flow commands: dump-flows, dump-aggregate, add-flow(s), mod-flows, del-flows, and the
 * bundle transaction --bundle uses.
 */

import { fieldByName, getFieldWords } from '../../lib/flow/fields.ts';
import { prereqOk } from '../../lib/flow/match.ts';
import { parseFlowMod } from '../../ofproto/openflow/flow-mod-parse.ts';
import { formatFlowStats } from '../../ofproto/openflow/flow-stats-format.ts';
import { logNormalization } from '../../ofproto/openflow/match-normalize.ts';
import type {
  FlowMod,
  FlowModCommand,
  FlowStats,
  OfpMessage,
} from '../../ofproto/openflow/messages.ts';
import {
  matchProtocols,
  P_ANY,
  P_OF10_NXM,
  P_OF10_NXM_TID,
  P_OF10_STD_ANY,
  P_OF13_UP,
  usableProtocols,
} from '../../ofproto/openflow/protocols.ts';
import { type Ctx, flowModFrame, formatReceivedReq, preprocessedLines, readInput } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { vlogWarn } from './log.ts';
import { formatReceived, hexDump } from './print.ts';
import { fatalErrno, type Received, type Vconn } from './vconn.ts';

/* ---- flows ---- */

/* A modify without a cookie or cookie mask may add a flow (OpenFlow 1.0), which then gets
 * cookie 0: OVS's parser sends 0 rather than "keep". */
export function modifyCookie(fm: FlowMod): FlowMod {
  const modify = fm.command === 'modify' || fm.command === 'modify_strict';
  if (modify && !fm.cookieMask && fm.newCookie === 0xffffffffffffffffn)
    return { ...fm, newCookie: 0n };
  return fm;
}

/* Tables are looked up by number or name (OVS's ofputil_table_from_string()), so a bad one is
 * "unknown", with a warning first when it is a number out of range. */
export function flowParseError(e: string): string {
  const m = /^invalid table "(.*)"$/.exec(e);
  if (!m) return e;
  if (/^\d+$/.test(m[1])) {
    vlogWarn('ofp_table', `table ${m[1]} is outside the supported range 0 through 255`);
  }
  return `unknown table "${m[1]}"`;
}

/* A match no protocol can carry with these actions: OVS reports it as an inconsistency. */
export const NO_PROTOCOL = 'actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)';

export function tableSpecified(text: string): boolean {
  // table=255 means every table, which OpenFlow 1.0 says without the table-id extension.
  const m = /(^|[\s,])table\s*[=:]\s*([^\s,]*)/.exec(text);
  return m !== null && m[2] !== '255';
}

export async function parseFlowOrDie(
  text: string,
  command: FlowModCommand,
  accept: ((n: string) => number | undefined) | undefined,
): Promise<{ fm: FlowMod; usable: number }> {
  const p = parseFlowMod(text, command, { portNumber: accept });
  if (!p.ok) throw new OfctlFatal(flowParseError(p.error));
  logNormalization(p.value.match);
  const usable = usableProtocols(p.value, { tableSpecified: tableSpecified(text) });
  if (!usable) throw new OfctlFatal(NO_PROTOCOL);
  // As OVS's ofpacts_check(): goto_table may only go forward from a given table.
  const t = p.value.tableId;
  if (
    tableSpecified(text) &&
    p.value.ofpacts.some((a) => a.type === 'goto_table' && a.tableId <= t)
  ) {
    throw new OfctlFatal('actions are invalid with specified match (OFPBIC_BAD_TABLE_ID)');
  }
  return { fm: modifyCookie(p.value), usable };
}

export async function prepareDumpFlows(
  ctx: Ctx,
  args: string[],
  aggregate: boolean,
): Promise<{ vc: Vconn; protocol: number; msg: OfpMessage }> {
  const name = args[0];
  const match = args[1] ?? '';
  let accept: ((n: string) => number | undefined) | undefined;
  if (match) {
    accept = await ctx.portsToAccept(name);
    if (ctx.shouldAcceptNames()) await ctx.tableMap(name);
  }
  const p = parseFlowMod(match, 'delete', { portNumber: accept });
  if (!p.ok) throw new OfctlFatal(flowParseError(p.error));
  const fm = p.value;
  let usable = matchProtocols(fm.match);
  if (fm.cookieMask) usable &= ~P_OF10_STD_ANY;
  const vc = await ctx.open(name);
  const protocol = await ctx.setProtocolForFlowDump(vc, usable);
  const nxm = (protocol & (P_OF10_NXM | P_OF10_NXM_TID)) !== 0;
  const msg: OfpMessage = {
    type: 'stats_request',
    format: nxm ? 'nxt' : 'standard',
    flags: 0,
    body: {
      stat: 'flow',
      aggregate,
      match: fm.match,
      tableId: fm.tableId,
      outPort: fm.outPort,
      outGroup: fm.outGroup,
      cookie: fm.cookie,
      cookieMask: fm.cookieMask,
    },
  };
  return { vc, protocol, msg };
}

export function compareFlows(ctx: Ctx, a: FlowStats, b: FlowStats): number {
  for (const sc of ctx.o.sort) {
    let ret = 0;
    if (sc.field === null) {
      ret = a.priority < b.priority ? -1 : a.priority > b.priority ? 1 : 0;
    } else {
      const f = fieldByName(sc.field);
      if (!f) continue;
      const has = (fs: FlowStats): boolean => {
        if (!prereqOk(f.prereq, fs.match.key)) return false;
        return getFieldWords(fs.match.mask, f).some((w) => w !== 0);
      };
      const ina = has(a);
      const inb = has(b);
      if (ina !== inb) return ina ? -1 : 1;
      const av = getFieldWords(a.match.key, f);
      const bv = getFieldWords(b.match.key, f);
      for (let i = 0; i < av.length && !ret; i++) ret = av[i] < bv[i] ? -1 : av[i] > bv[i] ? 1 : 0;
    }
    if (ret) return sc.desc ? -ret : ret;
  }
  return 0;
}

export async function cmdDumpFlows(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  if (!ctx.o.sort.length && !ctx.shouldShowNames() && ctx.o.showStats) {
    const { vc, msg } = await prepareDumpFlows(ctx, args, false);
    await ctx.dumpTransaction(vc, msg, name);
    vc.close();
    return;
  }
  const { vc, msg } = await prepareDumpFlows(ctx, args, false);
  const flows = await collectFlows(vc, msg);
  if (ctx.o.sort.length) {
    // A stable sort over the arrival order, as OVS's qsort tie-break on address gives.
    const idx = flows.map((f, i) => ({ f, i }));
    idx.sort((x, y) => compareFlows(ctx, x.f, y.f) || x.i - y.i);
    flows.splice(0, flows.length, ...idx.map((x) => x.f));
  }
  const show = await ctx.portsToShow(name);
  let s = '';
  for (const fs of flows)
    s += ` ${formatFlowStats(fs, { showStats: ctx.o.showStats, portName: show })}\n`;
  ctx.out(s);
  vc.close();
}

export async function collectFlows(vc: Vconn, msg: OfpMessage): Promise<FlowStats[]> {
  const rq = vc.request(msg);
  vc.send(rq.bytes);
  const flows: FlowStats[] = [];
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(rq.xid);
    } catch (e) {
      fatalErrno(e, 'dump flows');
    }
    const m = r.frame?.msg;
    if (m?.type === 'error') {
      throw new OfctlFatal(`dump flows: ${formatReceived(r)}`);
    }
    if (m?.type !== 'stats_reply' || m.body.stat !== 'flow') {
      throw new OfctlFatal(`received bad reply: ${formatReceived(r)}`);
    }
    // vconn_dump_flows() decodes without the flow-age extension: no idle_age/hard_age.
    for (const f of m.body.flows) flows.push({ ...f, idleAge: -1, hardAge: -1 });
    if (!(m.flags & 1)) return flows;
  }
}

export async function cmdDumpAggregate(ctx: Ctx, args: string[]): Promise<void> {
  const { vc, msg } = await prepareDumpFlows(ctx, args, true);
  await ctx.dumpTransaction(vc, msg, args[0]);
  vc.close();
}

export const FILE_COMMANDS: Array<[string, FlowModCommand]> = [
  ['add', 'add'],
  ['delete', 'delete'],
  ['delete_strict', 'delete_strict'],
  ['modify', 'modify'],
  ['modify_strict', 'modify_strict'],
];

/** A leading command word on an add-flows line, matched as OVS's strncmp() on the token. */
export function lineCommand(line: string): { command: FlowModCommand; rest: string } {
  const s = line.replace(/^[ \t\r\n]+/, '');
  const m = /^[^, \t\r\n]*/.exec(s);
  const tok = m ? m[0] : '';
  for (const [kw, cmd] of FILE_COMMANDS) {
    if (kw.startsWith(tok) && tok.length <= kw.length) {
      return { command: cmd, rest: s.slice(tok.length) };
    }
  }
  return { command: 'add', rest: s };
}

/*
 * Flow files run to 100,000 lines, all parsed before the first is sent: their matches are
 * moved into one shared buffer, so that the collector is not left tracking two typed-array
 * buffers per flow for the whole run.
 */
function pooled(fms: FlowMod[]): FlowMod[] {
  if (fms.length < 1024) return fms;
  const w = fms[0].match.key.length;
  const pool = new Uint32Array(fms.length * 2 * w);
  return fms.map((fm, i) => {
    const key = pool.subarray(2 * i * w, (2 * i + 1) * w);
    const mask = pool.subarray((2 * i + 1) * w, (2 * i + 2) * w);
    key.set(fm.match.key);
    mask.set(fm.match.mask);
    return { ...fm, match: { key, mask } };
  });
}

export async function parseFlowFile(
  ctx: Ctx,
  name: string,
  file: string,
  command: FlowModCommand | null,
): Promise<{ fms: FlowMod[]; usable: number }> {
  const accept = await ctx.namesForParse(name);
  const text = readInput(file);
  const fms: FlowMod[] = [];
  let usable = P_ANY;
  for (const { line, no } of preprocessedLines(text)) {
    let cmd = command;
    let body = line;
    if (cmd === null) {
      const lc = lineCommand(line);
      cmd = lc.command;
      body = lc.rest;
    }
    const p = parseFlowMod(body, cmd, { portNumber: accept });
    if (!p.ok) throw new OfctlFatal(`${file}:${no}: ${flowParseError(p.error)}`);
    logNormalization(p.value.match);
    const u = usableProtocols(p.value, { tableSpecified: tableSpecified(body) });
    if (!u) throw new OfctlFatal(`${file}:${no}: ${NO_PROTOCOL}`);
    usable &= u;
    fms.push(modifyCookie(p.value));
  }
  return { fms: pooled(fms), usable };
}

export async function sendFlowMods(
  ctx: Ctx,
  name: string,
  fms: FlowMod[],
  usable: number,
): Promise<void> {
  if (ctx.o.bundle) {
    await bundleFlowMods(ctx, name, fms, usable);
    return;
  }
  const { vc, protocol } = await ctx.openForFlowMod(name, usable);
  let r: Received | null;
  // -m five times dumps each flow_mod sent; six or more, one bare hex string (OVS's tests
  // replay that string with ofctl/send).
  let dump = '';
  const v = ctx.o.verbosity;
  try {
    r = await vc.transactEachNoreply(fms.length, (i) => {
      const rq = vc.request(flowModFrame(fms[i], protocol));
      if (v === 5) dump += hexDump(rq.bytes);
      else if (v > 5) dump += `${bareHex(rq.bytes)}\n`;
      return rq;
    });
  } catch (e) {
    fatalErrno(e, `talking to ${vc.name}`);
  }
  if (r) {
    ctx.err(formatReceived(r, { verbosity: ctx.o.verbosity + 2 }));
    throw new OfctlFatal('', 1, true);
  }
  if (dump) ctx.out(dump);
  vc.close();
}

/** OVS's ds_put_hex(): "0x" then the bytes from the first nonzero one, or "0". */
function bareHex(b: Uint8Array): string {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return '0';
  let s = `0x${b[i].toString(16)}`;
  for (i++; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

export async function bundleFlowMods(
  ctx: Ctx,
  name: string,
  fms: FlowMod[],
  usable: number,
): Promise<void> {
  const { vc, protocol } = await ctx.openForFlowMod(name, usable & P_OF13_UP);
  const msgs = fms.map((fm) => flowModFrame(fm, protocol));
  await bundleTransact(ctx, vc, msgs);
  vc.close();
}

/** OVS's vconn_bundle_transact(): open, add each message, commit (ordered, atomic). */
export async function bundleTransact(ctx: Ctx, vc: Vconn, msgs: OfpMessage[]): Promise<void> {
  const flags = 3; // OFPBF_ATOMIC | OFPBF_ORDERED
  const bundleId = 0;
  const errors: string[] = [];
  const inner = new Map<number, Uint8Array>();
  const ctrl = async (ctrlType: number): Promise<boolean> => {
    const rq = vc.request({
      type: 'bundle_control',
      bundleId,
      ctrlType,
      flags,
      properties: new Uint8Array(0),
    });
    inner.set(rq.xid, rq.bytes);
    vc.send(rq.bytes);
    for (;;) {
      let r: Received;
      try {
        r = await vc.recv();
      } catch (e) {
        fatalErrno(e, `talking to ${vc.name}`);
      }
      const m = r.frame?.msg;
      if (m?.type === 'error') {
        errors.push(
          `Error ${m.error.name} for: ${formatReceivedReq(inner.get(r.xid) ?? m.error.data)}`,
        );
        if (r.xid === rq.xid) return false;
      } else if (r.xid === rq.xid) return true;
    }
  };
  const fail = (): never => {
    ctx.err(errors.join(''));
    throw new OfctlFatal(`talking to ${vc.name} (Protocol error)`);
  };
  // The messages are encoded (xids taken) before the bundle is opened, as OVS does.
  const rqs = msgs.map((m) => vc.request(m));
  for (const rq of rqs) inner.set(rq.xid, rq.bytes);
  if (!(await ctrl(0))) fail(); // OPEN_REQUEST
  // Each bundle_add carries its inner message's xid (OVS allocates none for it).
  for (const rq of rqs) {
    vc.sendFrame({
      version: vc.version,
      xid: rq.xid,
      msg: { type: 'bundle_add', bundleId, flags, message: rq.bytes },
    });
  }
  const barrier = vc.request({ type: 'barrier_request' });
  vc.send(barrier.bytes);
  for (;;) {
    let r: Received;
    try {
      r = await vc.recv();
    } catch (e) {
      fatalErrno(e, `talking to ${vc.name}`);
    }
    if (r.xid === barrier.xid && r.frame?.msg.type === 'barrier_reply') break;
    const m = r.frame?.msg;
    if (m?.type === 'error') {
      errors.push(
        `Error ${m.error.name} for: ${formatReceivedReq(inner.get(r.xid) ?? m.error.data)}`,
      );
    }
  }
  if (errors.length) fail();
  if (!(await ctrl(4))) fail(); // COMMIT_REQUEST
}

export async function cmdFlowMod(
  ctx: Ctx,
  args: string[],
  command: FlowModCommand | 'file-add',
): Promise<void> {
  const name = args[0];
  if (command === 'file-add' || (args.length > 1 && args[1] === '-')) {
    const { fms, usable } = await parseFlowFile(
      ctx,
      name,
      args[1],
      command === 'file-add' || command === 'add' ? null : command,
    );
    await sendFlowMods(ctx, name, fms, usable);
    return;
  }
  const accept = await ctx.namesForParse(name);
  const { fm, usable } = await parseFlowOrDie(args[1] ?? '', command, accept);
  await sendFlowMods(ctx, name, [fm], usable);
}
