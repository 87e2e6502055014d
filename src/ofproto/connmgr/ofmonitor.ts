/*
 * Flow monitors (OVS's ofmonitor_* in connmgr.c and ofproto.c): a controller asks to hear
 * about flows matching a filter; it gets the matching flows at once (unless !initial), then
 * an update whenever such a flow is added, modified (actions or cookie) or removed.
 *
 * Updates collect per connection while a request is handled and go out together when it is
 * done (flush()). A change made by the monitoring connection itself is told to it as one
 * abbreviated update carrying the request's xid, unless the monitor asked for its own changes
 * in full (ONLY_OWN). When a connection's send queue backs up past 128 kB, monitoring pauses:
 * the controller gets a "paused" notice, then only removals of flows it already knows about;
 * once the queue drains, it gets every flow added or modified meanwhile and a "resumed" notice.
 *
 * Nothing here runs unless some connection has a monitor: `active` gates the flow-mod hooks.
 */

import type { Match } from '../../lib/flow/match.ts';
import { type FlowTables, outputsToGroup, outputsToPort, type Rule } from '../flow-table.ts';
import { OfpError } from '../openflow/errors.ts';
import {
  encodeFlowMonitorPause,
  encodeFlowUpdates,
  type FlowMonitorFrame,
  type FlowMonitorRequest,
  type FlowUpdate,
  type FullFlowUpdate,
  OFPFMF,
} from '../openflow/flow-monitor.ts';
import type { FlowMod, FlowRemovedReason } from '../openflow/messages.ts';
import type { Ofpact } from '../openflow/ofpact.ts';
import { ofpactsEqual } from '../openflow/ofpact-equal.ts';

export { ofpactsEqual };

import type { Ofconn } from './ofconn.ts';

const OFPP_NONE = 0xffff;
const OFPG_ANY = 0xffffffff;
const OFPTT_ALL = 0xff;
/* OVS pauses a connection's monitors when this much is queued for it. */
export const MONITOR_PAUSE_BYTES = 128 * 1024;

interface Monitor {
  id: number;
  flags: number;
  outPort: number;
  outGroup: number;
  tableId: number;
  match: Match;
}

interface ConnState {
  readonly monitors: Map<number, Monitor>;
  /** 0 while flowing; the seqno at which monitoring paused. */
  paused: number;
  updates: FlowUpdate[];
  sentAbbrev: boolean;
}

interface RuleSeqnos {
  add: number;
  modify: number;
}

type Event = 'added' | 'modified' | 'removed';

export class Ofmonitors {
  private readonly conns = new Map<Ofconn, ConnState>();
  private readonly seqnos = new WeakMap<Rule, RuleSeqnos>();
  private seqno = 1;
  private nMonitors = 0;
  private flushQueued = false;
  /** The request being handled (for abbreviated updates to its sender). */
  private reqConn: Ofconn | null = null;
  private reqXid = 0;

  constructor(
    private readonly tables: () => FlowTables,
    private readonly nTables: number,
  ) {}

  /** Whether any connection has a monitor (the flow-mod hooks cost nothing otherwise). */
  get active(): boolean {
    return this.nMonitors > 0;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Requests.                                                                            */

  /** Handles a monitor request or cancel; returns the error to send, if any. */
  handle(conn: Ofconn, frame: FlowMonitorFrame): OfpError | null {
    const msg = frame.msg;
    if (msg.type === 'flow_monitor_cancel') return this.remove(conn, msg.id);
    if (msg.type !== 'flow_monitor_request') return new OfpError('OFPBRC_BAD_TYPE', msg.type);
    const st = this.state(conn);
    const created: Monitor[] = [];
    const undo = (): void => {
      for (const m of created) this.removeMonitor(st, m.id);
    };
    for (const rq of msg.requests) {
      if (rq.tableId !== OFPTT_ALL && rq.tableId >= this.nTables) {
        undo();
        return new OfpError('OFPBRC_BAD_TABLE_ID');
      }
      let err: OfpError | null = null;
      switch (rq.command) {
        case 'add':
          err = this.create(st, rq, created);
          break;
        case 'modify':
          if (!st.monitors.has(rq.id)) err = new OfpError('OFPMOFC_UNKNOWN_MONITOR');
          else {
            this.removeMonitor(st, rq.id);
            err = this.create(st, rq, created);
          }
          break;
        case 'delete':
          if (!st.monitors.has(rq.id)) err = new OfpError('OFPMOFC_UNKNOWN_MONITOR');
          else this.removeMonitor(st, rq.id);
          break;
      }
      if (err) {
        undo();
        return err;
      }
    }
    // The initial flows answer the request (in its xid), one update per flow.
    const flags = new Map<Rule, number>();
    for (const m of created) {
      if (m.flags & OFPFMF.INITIAL) this.collect(m, 0, flags);
    }
    const updates: FlowUpdate[] = [];
    for (const [rule, f] of flags) updates.push(refreshUpdate(rule, f));
    for (const b of encodeFlowUpdates(conn.version, frame.xid, updates)) conn.write(b);
    return null;
  }

  private state(conn: Ofconn): ConnState {
    let st = this.conns.get(conn);
    if (!st) {
      st = { monitors: new Map(), paused: 0, updates: [], sentAbbrev: false };
      this.conns.set(conn, st);
      conn.onDrain = (c) => this.maybeResume(c);
    }
    return st;
  }

  private create(st: ConnState, rq: FlowMonitorRequest, created: Monitor[]): OfpError | null {
    if (st.monitors.has(rq.id)) return new OfpError('OFPMOFC_MONITOR_EXISTS');
    const m: Monitor = {
      id: rq.id,
      flags: rq.flags,
      outPort: rq.outPort,
      outGroup: rq.outGroup,
      tableId: rq.tableId,
      match: rq.match,
    };
    st.monitors.set(rq.id, m);
    this.nMonitors++;
    created.push(m);
    return null;
  }

  private remove(conn: Ofconn, id: number): OfpError | null {
    const st = this.conns.get(conn);
    if (!st?.monitors.has(id)) return new OfpError('OFPMOFC_UNKNOWN_MONITOR');
    this.removeMonitor(st, id);
    return null;
  }

  private removeMonitor(st: ConnState, id: number): void {
    if (st.monitors.delete(id)) this.nMonitors--;
  }

  /** Forgets a closed connection's monitors. */
  connClosed(conn: Ofconn): void {
    const st = this.conns.get(conn);
    if (!st) return;
    this.nMonitors -= st.monitors.size;
    this.conns.delete(conn);
  }

  /* Rules `m` covers, with the update flags each gets: every matching flow for the initial
   * reply (seqno 0), or those added/modified since `seqno` for a resume. */
  private collect(m: Monitor, seqno: number, out: Map<Rule, number>): void {
    const rules = this.tables().select({
      aggregate: false,
      match: m.match,
      tableId: m.tableId,
      outPort: m.outPort,
      outGroup: m.outGroup,
      cookie: 0n,
      cookieMask: 0n,
    });
    for (const rule of rules) {
      if (rule.priority > 0xffff) continue;
      let update: number = OFPFMF.INITIAL;
      if (seqno) {
        const s = this.seqnos.get(rule);
        if (s && s.add > seqno) update = OFPFMF.ADD | OFPFMF.MODIFY;
        else if (s && s.modify > seqno) update = OFPFMF.MODIFY;
        else continue;
        if (!(m.flags & update)) continue;
      }
      out.set(rule, (out.get(rule) ?? 0) | update | (m.flags & OFPFMF.INSTRUCTIONS));
    }
  }

  /* ------------------------------------------------------------------------------------ */
  /* Flow changes.                                                                        */

  /**
   * Runs a flow_mod (`apply`) from `conn` and reports what it changed. Deletions reach us
   * through the flow tables' removal hook (removed()); adds and modifies are found by
   * looking at the affected rules before and after.
   */
  flowMod(conn: Ofconn | null, xid: number, fm: FlowMod, apply: () => OfpError | null) {
    const prevConn = this.reqConn;
    const prevXid = this.reqXid;
    this.reqConn = conn;
    this.reqXid = xid;
    try {
      if (!this.active) return apply();
      const tables = this.tables();
      const addTable = fm.tableId === OFPTT_ALL ? 0 : fm.tableId;
      const before =
        addTable < tables.nTables ? tables.findExactly(addTable, fm.match, fm.priority) : null;
      let modified: { rule: Rule; ofpacts: Ofpact[]; cookie: bigint }[] = [];
      if (fm.command === 'modify' || fm.command === 'modify_strict') {
        modified = this.modifyTargets(tables, fm).map((rule) => ({
          rule,
          ofpacts: rule.ofpacts,
          cookie: rule.cookie,
        }));
      }
      const err = apply();
      if (err) return err;
      if (fm.command === 'delete' || fm.command === 'delete_strict') return null;
      for (const m of modified) {
        if (m.rule.removed) continue;
        const changedActions = !ofpactsEqual(m.rule.ofpacts, m.ofpacts);
        if (changedActions || m.rule.cookie !== m.cookie) {
          this.report(m.rule, 'modified', 'delete', changedActions ? m.ofpacts : null);
        }
      }
      if (modified.length === 0) {
        const after =
          addTable < tables.nTables ? tables.findExactly(addTable, fm.match, fm.priority) : null;
        if (after && after !== before) this.report(after, 'added', 'delete', null);
      }
      return null;
    } finally {
      this.reqConn = prevConn;
      this.reqXid = prevXid;
      // Changes from no connection (learned flows): nobody else will flush.
      if (conn === null && this.active) this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private modifyTargets(tables: FlowTables, fm: FlowMod): Rule[] {
    if (fm.command === 'modify_strict') {
      const out: Rule[] = [];
      const first = fm.tableId === OFPTT_ALL ? 0 : fm.tableId;
      const last = fm.tableId === OFPTT_ALL ? tables.nTables - 1 : fm.tableId;
      for (let t = first; t <= last && t < tables.nTables; t++) {
        const r = tables.findExactly(t, fm.match, fm.priority);
        if (r && ((r.cookie ^ fm.cookie) & fm.cookieMask) === 0n) out.push(r);
      }
      return out;
    }
    return tables.select({
      aggregate: false,
      match: fm.match,
      tableId: fm.tableId,
      outPort: OFPP_NONE,
      outGroup: OFPG_ANY,
      cookie: fm.cookie,
      cookieMask: fm.cookieMask,
    });
  }

  /** A rule left its table (the flow tables' removal hook). */
  removed(rule: Rule, reason: FlowRemovedReason): void {
    if (!this.active) return;
    this.report(rule, 'removed', reason, null);
    // Outside a request (expiry), nothing else will flush.
    if (this.reqConn === null) this.scheduleFlush();
  }

  /* OVS's ofmonitor_report(). */
  private report(
    rule: Rule,
    event: Event,
    reason: FlowRemovedReason,
    oldActions: Ofpact[] | null,
  ): void {
    if (rule.priority > 0xffff) return;
    let update: number;
    let s = this.seqnos.get(rule);
    if (event === 'added') {
      const n = this.seqno++;
      s = { add: n, modify: n };
      this.seqnos.set(rule, s);
      update = OFPFMF.ADD;
    } else if (event === 'modified') {
      const n = this.seqno++;
      if (s) s.modify = n;
      else this.seqnos.set(rule, { add: 0, modify: n });
      update = OFPFMF.MODIFY;
    } else {
      update = OFPFMF.REMOVED;
    }
    for (const [conn, st] of this.conns) {
      if (st.monitors.size === 0 || !conn.isConnected) continue;
      if (st.paused) {
        // While paused, only removals of flows the controller already heard about.
        if (event !== 'removed' || (s?.add ?? 0) > st.paused) continue;
      }
      let flags = 0;
      for (const m of st.monitors.values()) {
        if (
          m.flags & update &&
          (m.tableId === OFPTT_ALL || m.tableId === rule.tableId) &&
          (hasOutPort(rule.ofpacts, m.outPort) ||
            (oldActions !== null && hasOutPort(oldActions, m.outPort))) &&
          (m.outGroup === OFPG_ANY || outputsToGroup(rule.ofpacts, m.outGroup)) &&
          looseMatch(rule.match, m.match)
        ) {
          flags |= m.flags;
        }
      }
      if (!flags) continue;
      if (st.updates.length === 0) st.sentAbbrev = false;
      if (flags & OFPFMF.ONLY_OWN || conn !== this.reqConn || st.paused) {
        st.updates.push({
          event,
          reason: event === 'removed' ? reason : 'idle',
          tableId: rule.tableId,
          idleTimeout: rule.idleTimeout,
          hardTimeout: rule.hardTimeout,
          priority: rule.priority,
          cookie: rule.cookie,
          match: rule.match,
          ofpacts: flags & OFPFMF.INSTRUCTIONS ? rule.ofpacts : [],
        });
      } else if (!st.sentAbbrev) {
        st.updates.push({ event: 'abbrev', xid: this.reqXid });
        st.sentAbbrev = true;
      }
    }
  }

  /** Sends the collected updates (OVS's ofmonitor_flush) and pauses backed-up connections. */
  flush(): void {
    for (const [conn, st] of this.conns) {
      if (st.updates.length) {
        const updates = st.updates;
        st.updates = [];
        for (const b of encodeFlowUpdates(conn.version, 0, updates)) conn.write(b);
      }
      if (!st.paused && st.monitors.size && conn.txBacklog > MONITOR_PAUSE_BYTES) {
        st.paused = this.seqno++;
        conn.write(encodeFlowMonitorPause(conn.version, true));
      }
    }
  }

  /* OVS's ofmonitor_resume(): once the queue drained, what changed meanwhile, then "resumed". */
  private maybeResume(conn: Ofconn): void {
    const st = this.conns.get(conn);
    if (!st?.paused || conn.txBacklog > 0 || !conn.isConnected) return;
    const flags = new Map<Rule, number>();
    for (const m of st.monitors.values()) this.collect(m, st.paused, flags);
    const updates: FlowUpdate[] = [];
    for (const [rule, f] of flags) updates.push(refreshUpdate(rule, f));
    if (updates.length) {
      for (const b of encodeFlowUpdates(conn.version, 0, updates)) conn.write(b);
    }
    conn.write(encodeFlowMonitorPause(conn.version, false));
    st.paused = 0;
  }
}

/* A flow as an initial or resume update (OVS's ofproto_compose_flow_refresh_update). */
function refreshUpdate(rule: Rule, flags: number): FullFlowUpdate {
  return {
    event: flags & OFPFMF.INITIAL ? 'initial' : flags & OFPFMF.ADD ? 'added' : 'modified',
    reason: 'idle',
    tableId: rule.tableId,
    idleTimeout: rule.idleTimeout,
    hardTimeout: rule.hardTimeout,
    priority: rule.priority,
    cookie: rule.cookie,
    match: rule.match,
    ofpacts: flags & OFPFMF.INSTRUCTIONS ? rule.ofpacts : [],
  };
}

function hasOutPort(acts: readonly Ofpact[], port: number): boolean {
  return port === OFPP_NONE || outputsToPort(acts, port);
}

/* Whether `rule` is at least as specific as `target` and agrees with it where `target` looks
 * (OVS's cls_rule_is_loose_match). */
export function looseMatch(rule: Match, target: Match): boolean {
  const rk = rule.key;
  const rm = rule.mask;
  const tk = target.key;
  const tm = target.mask;
  for (let i = 0; i < tm.length; i++) {
    const m = tm[i];
    if (m === 0) continue;
    if ((m & ~rm[i]) !== 0 || ((rk[i] ^ tk[i]) & m) !== 0) return false;
  }
  return true;
}
