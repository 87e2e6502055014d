/*
 * What a learn() action's flow_mod does to its table (OVS's ofproto_flow_mod_init_for_learn
 * and ofproto_flow_mod_learn): a flow identical in every attribute a learned flow has is only
 * refreshed (its hard_age restarts, its counters and creation time stay); otherwise the flow
 * is installed, unless learn(limit=N) already has N flows of its cookie in the table.
 *
 * Translation asks first, without changing anything, to know what learn(result_dst=...)
 * writes; the upcall handler then applies the same decision to the table.
 */

import type { Match } from '../../lib/flow/match.ts';
import type { FlowMod, FlowModFlags, FlowStatsRequest } from '../openflow/messages.ts';
import { ofpactsEqual } from '../openflow/ofpact-equal.ts';

export { ofpactsEqual };

import type { XRule, XTables } from './xlate/xlate.ts';

/** A rule as learn compares it with the flow it would install. */
export interface XLearnedRule extends XRule {
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly importance: number;
  readonly flags: FlowModFlags;
  modified: number;
}

/** The lookups learn needs of a bridge's tables (FlowTables has them). */
export interface LearnTables {
  findExactly(tableId: number, match: Match, priority: number): XLearnedRule | null;
  select(req: FlowStatsRequest): readonly XRule[];
}

export type LearnOutcome =
  /** An identical flow exists: only its modification time moves. */
  | { readonly kind: 'refresh'; readonly rule: XLearnedRule }
  /** Install (add, or modify the flow with the same match and priority). */
  | { readonly kind: 'install'; readonly replaces: boolean }
  /** learn(limit=N) has N flows of its cookie in the table already. */
  | { readonly kind: 'limit' };

function learnTables(t: XTables): LearnTables | null {
  const l = t as Partial<LearnTables> & XTables;
  return typeof l.findExactly === 'function' && typeof l.select === 'function'
    ? (l as LearnTables)
    : null;
}

/** What applying learned flow `fm` (with learn's `limit`, 0: none) would do. Changes nothing. */
export function learnOutcome(tables: XTables, fm: FlowMod, limit: number): LearnOutcome {
  const t = learnTables(tables);
  if (!t) return { kind: 'install', replaces: false };
  const old = t.findExactly(fm.tableId, fm.match, fm.priority);
  if (old && sameLearnedFlow(old, fm)) return { kind: 'refresh', rule: old };
  if (limit > 0) {
    const n = t.select({
      aggregate: false,
      match: {
        key: new Uint32Array(fm.match.key.length),
        mask: new Uint32Array(fm.match.mask.length),
      },
      tableId: fm.tableId,
      outPort: 0xffff,
      outGroup: 0xffffffff,
      cookie: fm.newCookie,
      cookieMask: 0xffffffffffffffffn,
    }).length;
    if (n >= limit) return { kind: 'limit' };
  }
  return { kind: 'install', replaces: old !== null };
}

/**
 * Applies learned flow `fm` as learnOutcome() decides; `install` does the table change.
 * Returns whether the flow is in the table afterwards (false: the limit was reached).
 */
export function applyLearn(
  tables: XTables,
  fm: FlowMod,
  limit: number,
  now: number,
  install: (fm: FlowMod) => void,
): boolean {
  const o = learnOutcome(tables, fm, limit);
  if (o.kind === 'limit') return false;
  if (o.kind === 'refresh') {
    o.rule.modified = now;
    return true;
  }
  // OVS's learned flow_mod is a modify_strict: over a different flow with the same match it
  // keeps that flow's timeouts, creation time and counters.
  install(o.replaces ? { ...fm, command: 'modify_strict' } : fm);
  return true;
}

function sameLearnedFlow(r: XLearnedRule, fm: FlowMod): boolean {
  return (
    r.idleTimeout === fm.idleTimeout &&
    r.hardTimeout === fm.hardTimeout &&
    r.importance === fm.importance &&
    r.flags.sendFlowRem === fm.flags.sendFlowRem &&
    r.flags.noPacketCounts === fm.flags.noPacketCounts &&
    r.flags.noByteCounts === fm.flags.noByteCounts &&
    r.cookie === fm.newCookie &&
    ofpactsEqual(r.ofpacts, fm.ofpacts)
  );
}
