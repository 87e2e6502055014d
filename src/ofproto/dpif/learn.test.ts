import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLOW_WORDS } from '../../lib/flow/layout.ts';
import type { Match } from '../../lib/flow/match.ts';
import { type FlowMod, type FlowStatsRequest, noFlowModFlags } from '../openflow/messages.ts';
import type { Ofpact } from '../openflow/ofpact.ts';
import { applyLearn, learnOutcome, ofpactsEqual, type XLearnedRule } from './learn.ts';
import type { XRule, XTables } from './xlate/xlate.ts';

const match = (w: number): Match => {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  key[64] = w;
  mask[64] = 0xffff;
  return { key, mask };
};
const out = (port: number): Ofpact[] => [{ type: 'output', port, maxLen: 0 }];

function fm(w: number, port: number, cookie = 7n, tableId = 3): FlowMod {
  return {
    command: 'add',
    match: match(w),
    priority: 0x8000,
    newCookie: cookie,
    cookie: 0n,
    cookieMask: 0n,
    tableId,
    idleTimeout: 0,
    hardTimeout: 10,
    bufferId: 0xffffffff,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    flags: noFlowModFlags(),
    importance: 0,
    ofpacts: out(port),
  };
}

/* A table of learned rules keyed by their one matched word: a deliberately naive stand-in. */
class FakeTables implements XTables {
  rules: XLearnedRule[] = [];
  lookup(): XRule | null {
    return null;
  }
  findExactly(tableId: number, m: Match, priority: number): XLearnedRule | null {
    return (
      this.rules.find(
        (r) => r.tableId === tableId && r.priority === priority && r.match.key[64] === m.key[64],
      ) ?? null
    );
  }
  select(req: FlowStatsRequest): readonly XRule[] {
    return this.rules.filter((r) => r.tableId === req.tableId && r.cookie === req.cookie);
  }
  install(f: FlowMod): void {
    const old = this.findExactly(f.tableId, f.match, f.priority);
    if (old) {
      old.ofpacts = f.ofpacts;
      return;
    }
    this.rules.push({
      tableId: f.tableId,
      match: f.match,
      priority: f.priority,
      cookie: f.newCookie,
      ofpacts: f.ofpacts,
      removed: false,
      idleTimeout: f.idleTimeout,
      hardTimeout: f.hardTimeout,
      importance: f.importance,
      flags: f.flags,
      modified: 0,
    });
  }
}

describe('learn(): what a learned flow does to its table', () => {
  it('installs a new flow, then only refreshes an identical one', () => {
    const t = new FakeTables();
    const installed: FlowMod[] = [];
    const apply = (f: FlowMod, now: number) =>
      applyLearn(t, f, 0, now, (x) => {
        installed.push(x);
        t.install(x);
      });
    assert.equal(apply(fm(1, 2), 100), true);
    assert.equal(installed.length, 1);
    assert.equal(apply(fm(1, 2), 5000), true);
    assert.equal(installed.length, 1, 'an identical flow is not installed again');
    assert.equal(t.rules[0]?.modified, 5000, 'its hard_age restarts');
  });

  it('replaces a flow whose actions changed with a modify_strict', () => {
    const t = new FakeTables();
    t.install(fm(1, 2));
    const installed: FlowMod[] = [];
    applyLearn(t, fm(1, 3), 0, 1, (x) => installed.push(x));
    assert.equal(installed[0]?.command, 'modify_strict');
  });

  it('refuses flows past learn(limit=N) for its cookie and table, not others', () => {
    const t = new FakeTables();
    const put = (f: FlowMod) => applyLearn(t, f, 2, 1, (x) => t.install(x));
    assert.equal(put(fm(1, 2)), true);
    assert.equal(put(fm(2, 2)), true);
    assert.equal(learnOutcome(t, fm(3, 2), 2).kind, 'limit');
    assert.equal(put(fm(3, 2)), false);
    assert.equal(put(fm(3, 2, 8n)), true, 'another cookie has its own count');
    assert.equal(put(fm(4, 2, 7n, 4)), true, 'another table has its own count');
    assert.equal(learnOutcome(t, fm(1, 2), 2).kind, 'refresh', 'a learned flow is refreshed');
    assert.equal(t.rules.length, 4);
  });

  it('compares action lists deeply', () => {
    assert.equal(ofpactsEqual(out(1), out(1)), true);
    assert.equal(ofpactsEqual(out(1), out(2)), false);
    const note = (b: number[]): Ofpact[] => [{ type: 'note', data: Uint8Array.from(b) }];
    assert.equal(ofpactsEqual(note([1, 2]), note([1, 2])), true);
    assert.equal(ofpactsEqual(note([1, 2]), note([1, 3])), false);
  });
});
