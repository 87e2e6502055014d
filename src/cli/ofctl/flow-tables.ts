/*
 * replace-flows and diff-flows: two versions of a flow table compared entry by entry, as OVS's
 * ovs-ofctl keeps them (struct fte).
 */

import { readFileSync, statSync } from 'node:fs';
import { matchToString } from '../../lib/flow/match-format.ts';
import { parseFlowMod } from '../../ofproto/openflow/flow-mod-parse.ts';
import type { FlowMod, FlowModCommand, OfpMessage } from '../../ofproto/openflow/messages.ts';
import { formatOfpacts } from '../../ofproto/openflow/ofpact-format.ts';
import {
  P_ANY,
  P_OF10_NXM,
  P_OF10_NXM_TID,
  usableProtocols,
} from '../../ofproto/openflow/protocols.ts';
import { type Ctx, flowModFrame, preprocessedLines } from './ctx.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { bundleTransact, collectFlows, flowParseError, tableSpecified } from './flows.ts';
import type { Vconn } from './vconn.ts';

/* ---- replace-flows / diff-flows ---- */

/* One flow table entry as OVS's ovs-ofctl keeps it for these commands (struct fte_version). */
export interface FteVersion {
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  flags: FlowMod['flags'];
  tableId: number;
  ofpacts: FlowMod['ofpacts'];
}

export interface Fte {
  match: FlowMod['match'];
  priority: number;
  versions: [FteVersion | null, FteVersion | null];
  order: number;
}

export class FteState {
  private readonly map = new Map<string, Fte>();
  private n = 0;

  insert(match: FlowMod['match'], priority: number, v: FteVersion, index: 0 | 1): void {
    const k = `${v.tableId}/${priority}/${match.key.join(',')}/${match.mask.join(',')}`;
    let e = this.map.get(k);
    if (!e) {
      e = { match, priority, versions: [null, null], order: this.n++ };
      this.map.set(k, e);
    }
    e.versions[index] = v;
  }

  /* OVS walks each table's classifier; we walk tables in order, then priority, then arrival. */
  entries(): Fte[] {
    const tableOf = (e: Fte): number => (e.versions[0] ?? e.versions[1])?.tableId ?? 0;
    return [...this.map.values()].sort(
      (a, b) => tableOf(a) - tableOf(b) || b.priority - a.priority || a.order - b.order,
    );
  }
}

export function fteEquals(a: FteVersion, b: FteVersion): boolean {
  return (
    a.cookie === b.cookie &&
    a.idleTimeout === b.idleTimeout &&
    a.hardTimeout === b.hardTimeout &&
    a.importance === b.importance &&
    a.tableId === b.tableId &&
    formatOfpacts(a.ofpacts) === formatOfpacts(b.ofpacts)
  );
}

export function readFlowsFromFile(
  file: string,
  st: FteState,
  index: 0 | 1,
  accept?: (n: string) => number | undefined,
): number {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'latin1');
  } catch (e) {
    throw new OfctlFatal(`${file}: open (${strerror((e as NodeJS.ErrnoException).code)})`);
  }
  let usable = P_ANY;
  for (const { line, no } of preprocessedLines(text)) {
    const p = parseFlowMod(line, 'add', { portNumber: accept });
    if (!p.ok) throw new OfctlFatal(`${file}:${no}: ${flowParseError(p.error)}`);
    const fm = p.value;
    usable &= usableProtocols(fm, { tableSpecified: tableSpecified(line) });
    st.insert(
      fm.match,
      fm.priority,
      {
        cookie: fm.newCookie,
        idleTimeout: fm.idleTimeout,
        hardTimeout: fm.hardTimeout,
        importance: fm.importance,
        flags: { ...noFlags(), sendFlowRem: fm.flags.sendFlowRem, emerg: fm.flags.emerg },
        tableId: fm.tableId !== 255 ? fm.tableId : 0,
        ofpacts: fm.ofpacts,
      },
      index,
    );
  }
  return usable;
}

export function noFlags(): FlowMod['flags'] {
  return {
    sendFlowRem: false,
    checkOverlap: false,
    resetCounts: false,
    noPacketCounts: false,
    noByteCounts: false,
    emerg: false,
  };
}

export async function readFlowsFromSwitch(
  vc: Vconn,
  protocol: number,
  st: FteState,
  index: 0 | 1,
): Promise<void> {
  const p = parseFlowMod('', 'delete');
  if (!p.ok) throw new OfctlFatal(p.error);
  const nxm = (protocol & (P_OF10_NXM | P_OF10_NXM_TID)) !== 0;
  const flows = await collectFlows(vc, {
    type: 'stats_request',
    format: nxm ? 'nxt' : 'standard',
    flags: 0,
    body: {
      stat: 'flow',
      aggregate: false,
      match: p.value.match,
      tableId: 255,
      outPort: 0xffff,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 0n,
    },
  });
  for (const f of flows) {
    st.insert(
      f.match,
      f.priority,
      {
        cookie: f.cookie,
        idleTimeout: f.idleTimeout,
        hardTimeout: f.hardTimeout,
        importance: f.importance,
        flags: noFlags(),
        tableId: f.tableId,
        ofpacts: f.ofpacts,
      },
      index,
    );
  }
}

export function fteFlowMod(e: Fte, v: FteVersion, command: FlowModCommand): FlowMod {
  return {
    command,
    match: e.match,
    priority: e.priority,
    newCookie: v.cookie,
    cookie: 0n,
    cookieMask: 0n,
    tableId: v.tableId,
    idleTimeout: v.idleTimeout,
    hardTimeout: v.hardTimeout,
    bufferId: 0xffffffff,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    flags: v.flags,
    importance: v.importance,
    ofpacts: command === 'add' ? v.ofpacts : [],
  };
}

export async function cmdReplaceFlows(ctx: Ctx, args: string[]): Promise<void> {
  const [name, file] = args;
  const accept = await ctx.portsToAccept(name);
  if (ctx.shouldAcceptNames()) await ctx.tableMap(name);
  const st = new FteState();
  const usable = readFlowsFromFile(file, st, 0, accept);
  const vc = await ctx.open(name);
  const protocol = await ctx.setProtocolForFlowDump(vc, usable);
  await readFlowsFromSwitch(vc, protocol, st, 1);
  const entries = st.entries();
  const msgs: OfpMessage[] = [];
  // Per table: deletions of what only the switch has, then additions and changes.
  const tables = [...new Set(entries.map((e) => (e.versions[0] ?? e.versions[1])?.tableId ?? 0))];
  for (const t of tables) {
    const inTable = entries.filter((e) => ((e.versions[0] ?? e.versions[1])?.tableId ?? 0) === t);
    for (const e of inTable) {
      const [fv, sv] = e.versions;
      if (sv && !fv) msgs.push(flowModFrame(fteFlowMod(e, sv, 'delete_strict'), protocol));
    }
    for (const e of inTable) {
      const [fv, sv] = e.versions;
      if (fv && (ctx.o.readd || !sv || !fteEquals(sv, fv))) {
        msgs.push(flowModFrame(fteFlowMod(e, fv, 'add'), protocol));
      }
    }
  }
  if (ctx.o.bundle) await bundleTransact(ctx, vc, msgs);
  else
    await ctx.transactNoreply(
      vc,
      msgs.map((m) => vc.request(m)),
    );
  vc.close();
}

export function fteVersionFormat(
  e: Fte,
  v: FteVersion | null,
  show?: (p: number) => string | undefined,
): string {
  if (!v) return '';
  let s = '';
  if (v.tableId) s += `table=${v.tableId} `;
  s += matchToString(e.match, e.priority, { portName: show });
  if (v.cookie !== 0n) s += ` cookie=0x${v.cookie.toString(16)}`;
  if (v.idleTimeout) s += ` idle_timeout=${v.idleTimeout}`;
  if (v.hardTimeout) s += ` hard_timeout=${v.hardTimeout}`;
  if (v.importance) s += ` importance=${v.importance}`;
  s += ` actions=${formatOfpacts(v.ofpacts, { portName: show })}\n`;
  return s;
}

export async function readFlowsFromSource(
  ctx: Ctx,
  source: string,
  st: FteState,
  index: 0 | 1,
): Promise<((p: number) => string | undefined) | undefined> {
  let isFile = source.startsWith('/') || source.startsWith('.');
  if (!isFile && !source.includes(':')) {
    try {
      statSync(source);
      isFile = true;
    } catch {
      isFile = false;
    }
  }
  if (isFile) {
    readFlowsFromFile(source, st, index);
    return undefined;
  }
  const vc = await ctx.open(source);
  const protocol = await ctx.setProtocolForFlowDump(vc, P_ANY);
  await readFlowsFromSwitch(vc, protocol, st, index);
  vc.close();
  return ctx.portsToShow(source);
}

export async function cmdDiffFlows(ctx: Ctx, args: string[]): Promise<number> {
  const st = new FteState();
  const show0 = await readFlowsFromSource(ctx, args[0], st, 0);
  const show1 = await readFlowsFromSource(ctx, args[1], st, 1);
  const show = show0 ?? show1;
  let differ = false;
  let out = '';
  for (const e of st.entries()) {
    const [a, b] = e.versions;
    if (!a || !b || !fteEquals(a, b)) {
      const as = fteVersionFormat(e, a, show);
      const bs = fteVersionFormat(e, b, show);
      if (as) out += `-${as}`;
      if (bs) out += `+${bs}`;
      differ = true;
    }
  }
  ctx.out(out);
  return differ ? 2 : 0;
}
