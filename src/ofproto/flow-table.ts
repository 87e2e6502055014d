/*
 * The OpenFlow flow tables of one bridge (OVS's oftable array in ofproto.c): 255 classifiers of
 * rules, the flow_mod state machine (add / modify / modify_strict / delete / delete_strict with
 * OVS's cookie, out_port and out_group rules), flow and table statistics, and expiry.
 *
 * A flow_mod is all-or-nothing: every check that can fail runs before the first change, so a
 * failed one leaves the tables as they were (OVS gets there with versioned classifiers and
 * revert functions; with one thread and no bundles yet, ordering the checks suffices).
 */

import { Classifier, type ClsRule, type Conjunction } from '../lib/classifier/classifier.ts';
import { fieldByName, getFieldWords } from '../lib/flow/fields.ts';
import { FLOW_WORDS, type FlowKey, OFPP_CONTROLLER, OFPP_NONE } from '../lib/flow/layout.ts';
import { type Match, matchEquals } from '../lib/flow/match.ts';
import { timeMsec } from '../lib/timeval.ts';
import { OfpError } from './openflow/errors.ts';
import {
  type AggregateStats,
  type FlowMod,
  type FlowModFlags,
  type FlowRemovedReason,
  type FlowStats,
  type FlowStatsRequest,
  OFP_NO_BUFFER,
  OFPG_ANY,
  OFPTT_ALL,
} from './openflow/messages.ts';
import type { Ofpact, Subfield } from './openflow/ofpact.ts';
import { checkOfpacts } from './openflow/ofpact-check.ts';
import type { TableStats } from './openflow/stats.ts';

const U64_MAX = 0xffffffffffffffffn;
/* What OVS's userspace datapath reports as each table's capacity (ofproto-dpif). */
const TABLE_MAX_ENTRIES = 1000000;
/* OF1.0 table-stats wildcards: every OFPFW10 bit (OVS matches all fields). */
const OFPFW10_ALL = 0x3fffff;

export interface Rule {
  readonly tableId: number;
  readonly match: Match;
  readonly priority: number;
  cookie: bigint;
  /** Replaced (new array) on modify; xlate reads it. */
  ofpacts: Ofpact[];
  flags: FlowModFlags;
  idleTimeout: number;
  hardTimeout: number;
  importance: number;
  /** ms (clock). */
  readonly created: number;
  /** ms, for hard_age and the hard timeout. */
  modified: number;
  /** ms of the last packet, for idle_age and the idle timeout. */
  used: number;
  packetCount: number;
  byteCount: number;
  /** True once removed from its table (xlate caches check it). */
  removed: boolean;
}

/* The stored rule: the public shape plus its classifier handle. */
class OfRule implements Rule {
  cls: ClsRule<OfRule> | null = null;
  /* Once in a table, the classifier's copy of the match (masked key, the subtable's shared
   * mask): the flow_mod's own arrays are then garbage rather than two more buffers per rule. */
  match: Match;
  removed = false;
  packetCount = 0;
  byteCount = 0;
  used: number;
  modified: number;
  constructor(
    readonly tableId: number,
    match: Match,
    readonly priority: number,
    public cookie: bigint,
    public ofpacts: Ofpact[],
    public flags: FlowModFlags,
    public idleTimeout: number,
    public hardTimeout: number,
    public importance: number,
    readonly created: number,
  ) {
    this.match = match;
    this.modified = created;
    this.used = created;
  }
}

export interface FlowTablesOptions {
  now?: () => number;
  nTables?: number;
}

/** How a flow_mod treats cookies beyond what FlowMod says (OVS's ofputil_flow_mod.modify_cookie). */
export interface FlowModOptions {
  /**
   * Whether a modify may change the cookie of the flows it modifies. OVS sets this for OF1.0
   * and NXM flow_mods that carry a new cookie (newCookie not all-ones), never for OF1.1+.
   * Default: newCookie !== all-ones.
   */
  modifyCookie?: boolean;
  /**
   * The OpenFlow version the flow_mod came in. From OF1.1 on, OF1.0-only actions whose
   * prerequisites the match lacks (mod_nw_src without ip...) are refused as OVS does.
   */
  version?: number;
}

/**
 * A table's settings from its Flow_Table row (OVS's ofproto_table_settings): a name, a flow
 * limit, and whether a full table evicts (overflow_policy=evict) or refuses new flows.
 */
export interface TableSettings {
  readonly name: string | null;
  readonly maxFlows: number;
  readonly evict: boolean;
  /**
   * Flow_Table `groups`: eviction is fair among flows that agree on these subfields, taking
   * from the largest such group first (OVS's eviction groups). Empty or absent: no groups.
   */
  readonly groups?: readonly Subfield[];
}

const DEFAULT_TABLE_SETTINGS: TableSettings = { name: null, maxFlows: Infinity, evict: false };

/** Where a table name came from; OVSDB's outranks OpenFlow's (OVS's name_level). */
export const NAME_FROM_OPENFLOW = 1;
export const NAME_FROM_OVSDB = 2;
export type TableNameLevel = typeof NAME_FROM_OPENFLOW | typeof NAME_FROM_OVSDB;
/* OFP_MAX_TABLE_NAME_LEN: OVS keeps at most that many bytes of a name. */
const TABLE_NAME_MAX = 32;

/** What a table does with a packet no rule matches (OVS's enum ofputil_table_miss). */
export type TableMissConfig = 'default' | 'controller' | 'continue' | 'drop';

/** Flow-mod checks outside the flow tables (groups and meters exist). */
export interface ActionCheckers {
  groupExists: ((groupId: number) => boolean) | null;
  meterExists: ((meterId: number) => boolean) | null;
}

export class FlowTables implements ActionCheckers {
  readonly nTables: number;
  private readonly tables: Classifier<OfRule>[] = [];
  private readonly lookups: Float64Array;
  private readonly matches: Float64Array;
  /** The tables' clock (ms): flow ages and timeouts are measured on it. */
  readonly now: () => number;
  private nRules = 0;
  /* Rules above OpenFlow's priority range (fail-open's), not reported in table stats. */
  private hiddenRules = 0;
  /* Rules with an idle or hard timeout: while there are none, expiry has nothing to scan. */
  private nTimed = 0;
  private readonly settings: TableSettings[] = [];
  /* Who set each table's name: 0 nobody, else a TableNameLevel. */
  private readonly nameLevels: Uint8Array;
  private readonly ofEviction: Uint8Array;
  private version_ = 0;
  onChange: (() => void) | null = null;
  onRemoved: ((rule: Rule, reason: FlowRemovedReason) => void) | null = null;
  groupExists: ((groupId: number) => boolean) | null = null;
  meterExists: ((meterId: number) => boolean) | null = null;

  constructor(opts: FlowTablesOptions = {}) {
    this.now = opts.now ?? timeMsec;
    this.nTables = opts.nTables ?? 255;
    for (let i = 0; i < this.nTables; i++) this.tables.push(new Classifier<OfRule>());
    this.lookups = new Float64Array(this.nTables);
    this.matches = new Float64Array(this.nTables);
    this.nameLevels = new Uint8Array(this.nTables);
    this.ofEviction = new Uint8Array(this.nTables);
  }

  /** The clock rules are timed with (ms). */
  get clock(): () => number {
    return this.now;
  }

  /** Bumped on every change to any table. */
  get version(): number {
    return this.version_;
  }

  get count(): number {
    return this.nRules;
  }

  /** Rules of one table (for tests and dumps). */
  tableCount(tableId: number): number {
    return this.tables[tableId]?.count ?? 0;
  }

  tableSettings(tableId: number): TableSettings {
    return this.settings[tableId] ?? DEFAULT_TABLE_SETTINGS;
  }

  /**
   * Applies a table's Flow_Table settings. A table over its new limit evicts down to it when
   * it may (and keeps what it cannot evict), as OVS's evict_rules_from_table.
   */
  configureTable(tableId: number, s: TableSettings | null): void {
    if (tableId >= this.nTables) return;
    const next = s ?? DEFAULT_TABLE_SETTINGS;
    this.setTableName(tableId, next.name, NAME_FROM_OVSDB);
    const cur = this.tableSettings(tableId);
    if (
      cur.maxFlows === next.maxFlows &&
      cur.evict === next.evict &&
      sameSubfields(cur.groups, next.groups)
    ) {
      return;
    }
    this.settings[tableId] = { ...next, name: cur.name };
    const victims: Rule[] = [];
    for (let n = this.tableCount(tableId); n > next.maxFlows; n--) {
      const v = this.evictionVictim(tableId, victims);
      if (v === null) break;
      victims.push(v);
    }
    if (victims.length) this.removeRules(victims, 'eviction');
  }

  /**
   * Names a table (OVS's oftable_set_name): a name set through OVSDB outranks one set through
   * OpenFlow; an empty name clears, and null clears only a name set at the same level.
   */
  setTableName(tableId: number, name: string | null, level: TableNameLevel): void {
    if (tableId >= this.nTables) return;
    const have = this.nameLevels[tableId];
    if (level < have) return;
    let next: string | null;
    if (name !== null) {
      next = name === '' ? null : name.slice(0, TABLE_NAME_MAX);
      this.nameLevels[tableId] = level;
    } else if (have === level) {
      next = null;
      this.nameLevels[tableId] = 0;
    } else return;
    const cur = this.tableSettings(tableId);
    if (cur.name !== next) this.settings[tableId] = { ...cur, name: next };
  }

  /** Whether setTableName would take effect, or leave the name as it is anyway. */
  maySetTableName(tableId: number, name: string | null, level: TableNameLevel): boolean {
    const cur = this.tableSettings(tableId).name;
    return (
      level >= (this.nameLevels[tableId] ?? 0) ||
      name === null ||
      cur === null ||
      name.slice(0, TABLE_NAME_MAX) === cur
    );
  }

  /** Eviction asked for through OpenFlow (OF1.4 table-mod), apart from Flow_Table's. */
  setOpenflowEviction(tableId: number, on: boolean): void {
    if (tableId < this.nTables) this.ofEviction[tableId] = on ? 1 : 0;
  }

  openflowEviction(tableId: number): boolean {
    return this.ofEviction[tableId] === 1;
  }

  /*
   * The rule a full table gives up (OVS's choose_rule_to_evict): only with eviction on, only
   * rules that expire on their own; the least important first, then the soonest to expire.
   */
  private evictionVictim(tableId: number, skip: readonly Rule[] = []): OfRule | null {
    if (!this.tableSettings(tableId).evict && this.ofEviction[tableId] !== 1) return null;
    const groups = this.tableSettings(tableId).groups;
    // With eviction groups, only the largest group's flows are candidates (ties: the first).
    let inGroup: string | null = null;
    if (groups?.length) {
      const sizes = new Map<string, number>();
      for (const r of this.tables[tableId].rules()) {
        if (!expires(r.data) || skip.includes(r.data)) continue;
        const k = evictionGroupKey(r.data.match, groups);
        const n = (sizes.get(k) ?? 0) + 1;
        sizes.set(k, n);
        if (inGroup === null || n > (sizes.get(inGroup) ?? 0)) inGroup = k;
      }
    }
    let best: OfRule | null = null;
    let bestPrio = Infinity;
    for (const r of this.tables[tableId].rules()) {
      const rule = r.data;
      let expiry = Infinity;
      if (rule.hardTimeout) expiry = rule.modified + rule.hardTimeout * 1000;
      if (rule.idleTimeout) expiry = Math.min(expiry, rule.used + rule.idleTimeout * 1000);
      if (expiry === Infinity || skip.includes(rule)) continue;
      if (inGroup !== null && groups && evictionGroupKey(rule.match, groups) !== inGroup) continue;
      // OVS ranks expiry in units of 1024 ms below the importance.
      const prio = rule.importance * 2 ** 32 + Math.floor(expiry / 1024);
      if (prio < bestPrio) {
        best = rule;
        bestPrio = prio;
      }
    }
    return best;
  }

  /*
   * Each table's table-miss behaviour, as an OpenFlow 1.1/1.2 table-mod sets it (OVS's
   * oftable miss_config): 'default' sends a packet-in only while a controller that wants
   * table misses is connected.
   */
  private readonly missConfigs = new Map<number, TableMissConfig>();

  missConfig(tableId: number): TableMissConfig {
    return this.missConfigs.get(tableId) ?? 'default';
  }

  setMissConfig(tableId: number, miss: TableMissConfig): void {
    if (miss === 'default') this.missConfigs.delete(tableId);
    else this.missConfigs.set(tableId, miss);
    this.onChange?.();
  }

  lookup(tableId: number, key: FlowKey, wc: FlowKey | null): Rule | null {
    const cls = this.tables[tableId];
    if (cls === undefined) return null;
    this.lookups[tableId]++;
    const r = cls.lookup(key, wc);
    if (r === null) return null;
    this.matches[tableId]++;
    return r.data;
  }

  *rules(): IterableIterator<Rule> {
    for (const r of this.allRules()) if (!r.removed) yield r;
  }

  /* Every rule, table by table, as one array. */
  private allRules(): OfRule[] {
    const out: OfRule[] = [];
    for (const cls of this.tables) {
      if (cls.isEmpty()) continue;
      for (const r of cls.rules()) out.push(r.data);
    }
    return out;
  }

  private track(r: OfRule, sign: 1 | -1): void {
    if (r.priority > 0xffff) this.hiddenRules += sign;
    if (r.idleTimeout !== 0 || r.hardTimeout !== 0) this.nTimed += sign;
  }

  /* ------------------------------------------------------------------------------------ */
  /* flow_mod.                                                                            */

  flowMod(fm: FlowMod, opts: FlowModOptions = {}): OfpError | null {
    if (fm.tableId !== OFPTT_ALL && fm.tableId >= this.nTables) {
      return new OfpError('OFPBRC_BAD_TABLE_ID', `table ${fm.tableId}`);
    }
    const modifyCookie = opts.modifyCookie ?? fm.newCookie !== U64_MAX;
    const version = opts.version ?? 1;
    switch (fm.command) {
      case 'add':
        return this.add(fm, version);
      case 'modify':
      case 'modify_strict':
        return this.modify(fm, fm.command === 'modify_strict', modifyCookie, version);
      case 'delete':
      case 'delete_strict': {
        if (fm.command === 'delete' && this.clearTables(fm)) return null;
        const victims = this.collect(fm, fm.command === 'delete_strict', true);
        if (victims.length) this.removeRules(victims, 'delete');
        return null;
      }
      default:
        return new OfpError('OFPFMFC_BAD_COMMAND');
    }
  }

  /* Checks shared by add and modify: actions consistent with the match, groups and meters
   * that exist, no buffered packet (OVS keeps none). */
  private checkNew(fm: FlowMod, version: number): OfpError | null {
    const c = checkOfpacts(fm.ofpacts, fm.match);
    if (c.error) return c.error;
    if (c.of10Only && version > 1) {
      return new OfpError('OFPBAC_MATCH_INCONSISTENT', 'action needs OpenFlow 1.0');
    }
    const err = this.checkRefs(fm.ofpacts);
    if (err) return err;
    if (fm.bufferId !== OFP_NO_BUFFER) return new OfpError('OFPBRC_BUFFER_UNKNOWN');
    return null;
  }

  private checkRefs(acts: readonly Ofpact[]): OfpError | null {
    for (const a of acts) {
      if (a.type === 'meter' && this.meterExists && !this.meterExists(a.meterId)) {
        return new OfpError('OFPMMFC_INVALID_METER', `meter ${a.meterId}`);
      }
      if (a.type === 'group' && this.groupExists && !this.groupExists(a.groupId)) {
        return new OfpError('OFPBAC_BAD_OUT_GROUP', `group ${a.groupId}`);
      }
      const nested = nestedActions(a);
      if (nested) {
        const e = this.checkRefs(nested);
        if (e) return e;
      }
    }
    return null;
  }

  private add(fm: FlowMod, version: number): OfpError | null {
    const err = this.checkNew(fm, version);
    if (err) return err;
    const tableId = fm.tableId === OFPTT_ALL ? 0 : fm.tableId;
    const cls = this.tables[tableId];
    // Only an overlap check needs to know beforehand whether the flow is new; otherwise the
    // classifier's replace() says which flow it displaced (one search instead of two).
    if (
      fm.flags.checkOverlap &&
      cls.findExactly(fm.match, fm.priority) === null &&
      this.overlaps(cls, fm.match, fm.priority)
    ) {
      return new OfpError('OFPFMFC_OVERLAP');
    }
    // A new flow in a full table takes an evicted flow's place, or is refused.
    let evicted: OfRule | null = null;
    if (cls.count >= this.tableSettings(tableId).maxFlows) {
      if (cls.findExactly(fm.match, fm.priority) === null) {
        evicted = this.evictionVictim(tableId);
        if (evicted === null) return new OfpError('OFPFMFC_TABLE_FULL');
      }
    }
    if (evicted) this.removeRules([evicted], 'eviction');
    const now = this.now();
    const rule = new OfRule(
      tableId,
      fm.match,
      fm.priority,
      storedCookie(fm.newCookie),
      storedOfpacts(fm.ofpacts),
      stateFlags(fm.flags),
      fm.idleTimeout,
      fm.hardTimeout,
      fm.importance,
      now,
    );
    const res = cls.replace(rule.match, rule.priority, rule, conjunctionsOf(rule.ofpacts));
    rule.cls = res.rule;
    rule.match = res.rule.match;
    if (res.displaced) {
      const d = res.displaced.data;
      // An add over an identical flow keeps the old cookie only when it brings none.
      if (fm.newCookie === U64_MAX) rule.cookie = d.cookie;
      if (!fm.flags.resetCounts) {
        rule.packetCount = d.packetCount;
        rule.byteCount = d.byteCount;
      }
      rule.used = d.used;
      d.removed = true;
      d.cls = null;
      this.track(d, -1);
    } else {
      this.nRules++;
    }
    this.track(rule, 1);
    this.changed();
    return null;
  }

  private modify(
    fm: FlowMod,
    strict: boolean,
    modifyCookie: boolean,
    version: number,
  ): OfpError | null {
    const rules = this.collect(fm, strict, false);
    if (rules.length === 0) {
      // OVS adds the flow when the modify names no cookie to match on.
      if (fm.newCookie !== U64_MAX && fm.cookieMask === 0n) return this.add(fm, version);
      return null;
    }
    const err = this.checkNew(fm, version);
    if (err) return err;
    const now = this.now();
    const conj = conjunctionsOf(fm.ofpacts);
    const ofpacts = storedOfpacts(fm.ofpacts);
    for (const r of rules) {
      const hadConj = r.cls?.conj != null;
      r.ofpacts = ofpacts;
      if (modifyCookie && fm.newCookie !== U64_MAX) r.cookie = fm.newCookie;
      r.modified = now;
      if (fm.flags.resetCounts) {
        r.packetCount = 0;
        r.byteCount = 0;
      }
      if (hadConj || conj !== null) {
        // The classifier keeps conjunctions per rule: re-insert to update them.
        const res = this.tables[r.tableId].replace(r.match, r.priority, r, conj);
        r.cls = res.rule;
      }
    }
    this.changed();
    return null;
  }

  /* The rules a modify/delete/stats request names, table by table. */
  private collect(
    c: {
      tableId: number;
      match: Match;
      priority?: number;
      cookie: bigint;
      cookieMask: bigint;
      outPort: number;
      outGroup: number;
    },
    strict: boolean,
    filterOut: boolean,
  ): OfRule[] {
    const out: OfRule[] = [];
    const first = c.tableId === OFPTT_ALL ? 0 : c.tableId;
    const last = c.tableId === OFPTT_ALL ? this.nTables - 1 : c.tableId;
    const outPort = filterOut ? c.outPort : OFPP_NONE;
    const outGroup = filterOut ? c.outGroup : OFPG_ANY;
    for (let t = first; t <= last && t < this.nTables; t++) {
      const cls = this.tables[t];
      if (cls.isEmpty()) continue;
      if (strict) {
        const r = cls.findExactly(c.match, c.priority ?? 0)?.data;
        if (r && this.criteriaOk(r, c.cookie, c.cookieMask, outPort, outGroup)) out.push(r);
        continue;
      }
      for (const cr of looseTargets(cls, c.match)) {
        const r = cr.data;
        // Hidden rules (priority above OpenFlow's 16 bits: fail-open) are internal.
        if (r.priority > 0xffff) continue;
        if (this.criteriaOk(r, c.cookie, c.cookieMask, outPort, outGroup)) out.push(r);
      }
    }
    return out;
  }

  private criteriaOk(
    r: OfRule,
    cookie: bigint,
    cookieMask: bigint,
    outPort: number,
    outGroup: number,
  ): boolean {
    // BigInt arithmetic allocates: skip it for the usual request that names no cookie.
    if (cookieMask !== 0n && ((r.cookie ^ cookie) & cookieMask) !== 0n) return false;
    if (outPort !== OFPP_NONE && !outputsToPort(r.ofpacts, outPort)) return false;
    if (outGroup !== OFPG_ANY && !outputsToGroup(r.ofpacts, outGroup)) return false;
    return true;
  }

  private overlaps(cls: Classifier<OfRule>, m: Match, priority: number): boolean {
    for (const cr of cls.rules()) {
      if (cr.priority !== priority) continue;
      const o = cr.match;
      let clash = false;
      for (let i = 0; i < FLOW_WORDS; i++) {
        const both = (o.mask[i] & m.mask[i]) >>> 0;
        if (((o.key[i] ^ m.key[i]) & both) !== 0) {
          clash = true;
          break;
        }
      }
      if (!clash) return true;
    }
    return false;
  }

  /* A delete of everything in some tables (no match, cookie, port or group filter) drops
   * their classifiers whole instead of removing rule by rule. False when it does not apply. */
  private clearTables(fm: FlowMod): boolean {
    if (fm.cookieMask !== 0n || fm.outPort !== OFPP_NONE || fm.outGroup !== OFPG_ANY) return false;
    for (let i = 0; i < FLOW_WORDS; i++) if (fm.match.mask[i] !== 0) return false;
    const first = fm.tableId === OFPTT_ALL ? 0 : fm.tableId;
    const last = fm.tableId === OFPTT_ALL ? this.nTables - 1 : fm.tableId;
    let n = 0;
    for (let t = first; t <= last; t++) {
      const cls = this.tables[t];
      if (cls.isEmpty()) continue;
      const hidden: OfRule[] = [];
      const gone: OfRule[] = [];
      for (const cr of cls.rules()) {
        // Hidden rules (fail-open) are not OpenFlow's to delete.
        if (cr.data.priority > 0xffff) hidden.push(cr.data);
        else gone.push(cr.data);
      }
      if (gone.length === 0) continue;
      const fresh = new Classifier<OfRule>();
      for (const r of hidden)
        r.cls = fresh.replace(r.match, r.priority, r, conjunctionsOf(r.ofpacts)).rule;
      this.tables[t] = fresh;
      for (const r of gone) {
        r.cls = null;
        r.removed = true;
        this.track(r, -1);
        this.nRules--;
        n++;
        this.onRemoved?.(r, 'delete');
      }
    }
    if (n) this.changed();
    return true;
  }

  /** Removes `rules` (reporting `reason` for each); used by deletes, expiry, groups, meters. */
  removeRules(rules: readonly Rule[], reason: FlowRemovedReason): void {
    let n = 0;
    for (const x of rules) {
      const r = x as OfRule;
      if (r.removed || r.cls === null) continue;
      this.tables[r.tableId].remove(r.cls);
      r.cls = null;
      r.removed = true;
      this.nRules--;
      this.track(r, -1);
      n++;
      this.onRemoved?.(r, reason);
    }
    if (n) this.changed();
  }

  /**
   * Records every rule and its mutable state; the returned function puts the tables back
   * exactly so (for all-or-nothing bundles). Removals and changes in between are undone
   * without further onRemoved calls.
   */
  snapshot(): () => void {
    const saved = this.allRules().map((r) => {
      return {
        r,
        cookie: r.cookie,
        ofpacts: r.ofpacts,
        flags: r.flags,
        idleTimeout: r.idleTimeout,
        hardTimeout: r.hardTimeout,
        importance: r.importance,
        modified: r.modified,
        used: r.used,
        packetCount: r.packetCount,
        byteCount: r.byteCount,
      };
    });
    return () => {
      for (const cls of this.tables) {
        for (const cr of cls.rules()) {
          cls.remove(cr);
          cr.data.cls = null;
          cr.data.removed = true;
        }
      }
      this.nRules = 0;
      this.hiddenRules = 0;
      this.nTimed = 0;
      for (const s of saved) {
        const r = s.r;
        Object.assign(r, {
          cookie: s.cookie,
          ofpacts: s.ofpacts,
          flags: s.flags,
          idleTimeout: s.idleTimeout,
          hardTimeout: s.hardTimeout,
          importance: s.importance,
          modified: s.modified,
          used: s.used,
          packetCount: s.packetCount,
          byteCount: s.byteCount,
        });
        const res = this.tables[r.tableId].replace(
          r.match,
          r.priority,
          r,
          conjunctionsOf(r.ofpacts),
        );
        r.cls = res.rule;
        r.match = res.rule.match;
        r.removed = false;
        this.nRules++;
        this.track(r, 1);
      }
      this.changed();
    };
  }

  /** Deletes every rule (OVS's ofproto_flush_flows). */
  flush(): void {
    this.removeRules(this.allRules(), 'delete');
  }

  private changed(): void {
    this.version_++;
    this.onChange?.();
  }

  /* ------------------------------------------------------------------------------------ */
  /* Statistics.                                                                          */

  select(req: FlowStatsRequest): Rule[] {
    if (req.tableId !== OFPTT_ALL && req.tableId >= this.nTables) return [];
    return this.collect(req, false, true);
  }

  /** Like select(), with OVS's error for a table that does not exist. */
  selectChecked(req: FlowStatsRequest): Rule[] | OfpError {
    if (req.tableId !== OFPTT_ALL && req.tableId >= this.nTables) {
      return new OfpError('OFPBRC_BAD_TABLE_ID', `table ${req.tableId}`);
    }
    return this.collect(req, false, true);
  }

  /** One rule's flow-stats entry at time `now`. */
  ruleStats(r: Rule, now = this.now()): FlowStats {
    const age = now - r.created;
    return {
      match: r.match,
      priority: r.priority,
      tableId: r.tableId,
      durationSec: Math.floor(age / 1000),
      durationNsec: (age % 1000) * 1000000,
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      idleAge: ageSecs(now - r.used),
      hardAge: ageSecs(now - r.modified),
      cookie: r.cookie,
      packetCount: r.flags.noPacketCounts ? U64_MAX : toU64(r.packetCount),
      byteCount: r.flags.noByteCounts ? U64_MAX : toU64(r.byteCount),
      flags: r.flags,
      importance: r.importance,
      ofpacts: r.ofpacts,
    };
  }

  /** ruleStats() written into `out` (a dump encodes entries from one reused object). */
  fillRuleStats(r: Rule, now: number, out: FlowStats): void {
    const age = now - r.created;
    out.match = r.match;
    out.priority = r.priority;
    out.tableId = r.tableId;
    out.durationSec = Math.floor(age / 1000);
    out.durationNsec = (age % 1000) * 1000000;
    out.idleTimeout = r.idleTimeout;
    out.hardTimeout = r.hardTimeout;
    out.idleAge = ageSecs(now - r.used);
    out.hardAge = ageSecs(now - r.modified);
    out.cookie = r.cookie;
    out.packetCount = r.flags.noPacketCounts ? U64_MAX : toU64(r.packetCount);
    out.byteCount = r.flags.noByteCounts ? U64_MAX : toU64(r.byteCount);
    out.flags = r.flags;
    out.importance = r.importance;
    out.ofpacts = r.ofpacts;
  }

  flowStats(req: FlowStatsRequest): FlowStats[] {
    const now = this.now();
    return this.select(req).map((r) => this.ruleStats(r, now));
  }

  aggregate(req: FlowStatsRequest): AggregateStats {
    let packets = 0n;
    let bytes = 0n;
    let flows = 0;
    let unknownPackets = false;
    let unknownBytes = false;
    for (const r of this.select(req)) {
      if (r.flags.noPacketCounts) unknownPackets = true;
      else packets += BigInt(r.packetCount);
      if (r.flags.noByteCounts) unknownBytes = true;
      else bytes += BigInt(r.byteCount);
      flows++;
    }
    // OVS reports all-ones when any selected flow does not count.
    return {
      packetCount: unknownPackets ? U64_MAX : packets,
      byteCount: unknownBytes ? U64_MAX : bytes,
      flowCount: flows,
    };
  }

  tableStats(): TableStats[] {
    const out: TableStats[] = [];
    for (let t = 0; t < this.nTables; t++) {
      out.push({
        tableId: t,
        name: this.tableSettings(t).name ?? '',
        wildcards: OFPFW10_ALL,
        maxEntries: Math.min(TABLE_MAX_ENTRIES, this.tableSettings(t).maxFlows),
        activeCount: this.tables[t].count - (t === 0 ? this.hiddenRules : 0),
        lookupCount: BigInt(this.lookups[t]),
        matchedCount: BigInt(this.matches[t]),
      });
    }
    return out;
  }

  /** Counts one lookup in table stats without a classifier lookup (e.g. a cached hit). */
  countLookup(tableId: number, matched: boolean, n = 1): void {
    if (tableId >= this.nTables) return;
    this.lookups[tableId] += n;
    if (matched) this.matches[tableId] += n;
  }

  credit(rule: Rule, packets: number, bytes: number, used: number): void {
    if (rule.removed) return;
    rule.packetCount += packets;
    rule.byteCount += bytes;
    if (used > rule.used) rule.used = used;
  }

  /**
   * fin_timeout's effect (OVS's ofproto_rule_reduce_timeouts): a nonzero timeout replaces a
   * rule's own when that is none or longer; never lengthens one.
   */
  reduceTimeouts(rule: Rule, idle: number, hard: number): void {
    if (rule.removed) return;
    const r = rule as OfRule;
    this.track(r, -1);
    if (idle && (!r.idleTimeout || idle < r.idleTimeout)) r.idleTimeout = idle;
    if (hard && (!r.hardTimeout || hard < r.hardTimeout)) r.hardTimeout = hard;
    this.track(r, 1);
  }

  /** Removes rules whose hard or idle timeout passed (hard first, as OVS checks); returns how many. */
  expire(): number {
    if (this.nTimed === 0) return 0;
    const now = this.now();
    const hard: Rule[] = [];
    const idle: Rule[] = [];
    for (const r of this.allRules()) {
      if (r.hardTimeout && now > r.modified + r.hardTimeout * 1000) hard.push(r);
      else if (r.idleTimeout && now > r.used + r.idleTimeout * 1000) idle.push(r);
    }
    this.removeRules(hard, 'hard');
    this.removeRules(idle, 'idle');
    return hard.length + idle.length;
  }

  /** The soonest time (ms) a rule can expire, or Infinity: when to call expire() next. */
  nextExpiry(): number {
    let t = Infinity;
    if (this.nTimed === 0) return t;
    for (const r of this.allRules()) {
      if (r.hardTimeout) t = Math.min(t, r.modified + r.hardTimeout * 1000 + 1);
      if (r.idleTimeout) t = Math.min(t, r.used + r.idleTimeout * 1000 + 1);
    }
    return t;
  }

  /** Rules whose actions use group `groupId` (directly or nested). */
  rulesWithGroup(groupId: number): Rule[] {
    const out: Rule[] = [];
    for (const r of this.rules()) if (outputsToGroup(r.ofpacts, groupId)) out.push(r);
    return out;
  }

  /** Rules with a meter instruction for `meterId`. */
  rulesWithMeter(meterId: number): Rule[] {
    const out: Rule[] = [];
    for (const r of this.rules()) {
      if (r.ofpacts.some((a) => a.type === 'meter' && a.meterId === meterId)) out.push(r);
    }
    return out;
  }

  /** Whether a rule with exactly this match and priority is in `tableId`. */
  findExactly(tableId: number, match: Match, priority: number): Rule | null {
    const r = this.tables[tableId]?.findExactly(match, priority)?.data ?? null;
    return r !== null && matchEquals(r.match, match) ? r : null;
  }
}

/* Rules of `cls` at least as specific as `target`; every rule when the target is catch-all. */
function expires(r: OfRule): boolean {
  return r.hardTimeout !== 0 || r.idleTimeout !== 0;
}

/* The values a rule's match gives the eviction-group subfields (0 where it does not match
 * them), as one key. */
function evictionGroupKey(m: Match, groups: readonly Subfield[]): string {
  let k = '';
  for (const sf of groups) {
    const f = fieldByName(sf.field);
    if (!f) continue;
    let v = 0n;
    for (const w of getFieldWords(m.key, f)) v = (v << 32n) | BigInt(w >>> 0);
    k += `${(v >> BigInt(sf.ofs)) & ((1n << BigInt(sf.nBits)) - 1n)},`;
  }
  return k;
}

function sameSubfields(
  a: readonly Subfield[] | undefined,
  b: readonly Subfield[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every((s, i) => s.field === y[i].field && s.ofs === y[i].ofs && s.nBits === y[i].nBits)
  );
}

function looseTargets(cls: Classifier<OfRule>, target: Match): ClsRule<OfRule>[] {
  for (let i = 0; i < FLOW_WORDS; i++) if (target.mask[i] !== 0) return cls.looseRules(target);
  return cls.rules();
}

/* A rule's flags are never changed in place (a modify replaces them), so rules share one
 * frozen object per combination: one object fewer per rule for the collector to trace. */
const sharedFlags: FlowModFlags[] = [];

function stateFlags(f: FlowModFlags): FlowModFlags {
  const bits =
    (f.sendFlowRem ? 1 : 0) |
    (f.checkOverlap ? 2 : 0) |
    (f.resetCounts ? 4 : 0) |
    (f.noPacketCounts ? 8 : 0) |
    (f.noByteCounts ? 16 : 0);
  let flags = sharedFlags[bits];
  if (flags === undefined) {
    flags = Object.freeze({
      sendFlowRem: (bits & 1) !== 0,
      checkOverlap: (bits & 2) !== 0,
      resetCounts: (bits & 4) !== 0,
      noPacketCounts: (bits & 8) !== 0,
      noByteCounts: (bits & 16) !== 0,
      emerg: false,
    });
    sharedFlags[bits] = flags;
  }
  return flags;
}

/* A flow_mod's cookie as a rule keeps it: the decoder makes a fresh 0n per message, and a
 * shared one is one object fewer per rule for the collector to copy and trace. */
function storedCookie(c: bigint): bigint {
  return c === U64_MAX || c === 0n ? 0n : c;
}

/* A decoded action list is grown by push(), which leaves room for 17 entries: a rule keeps an
 * exact-size copy (~130 bytes less per stored flow). */
function storedOfpacts(acts: Ofpact[]): Ofpact[] {
  return acts.slice();
}

/* Counters as the wire wants them; most flows in a big dump never saw a packet. */
function toU64(n: number): bigint {
  return n === 0 ? 0n : BigInt(n);
}

function ageSecs(ms: number): number {
  const s = Math.floor(ms / 1000);
  return Math.max(0, Math.min(s, 0xffff));
}

function nestedActions(a: Ofpact): readonly Ofpact[] | null {
  if (a.type === 'write_actions' || a.type === 'clone' || a.type === 'ct') return a.actions;
  return null;
}

/* OVS's ofpacts_output_to_port(): output, enqueue, and controller (to OFPP_CONTROLLER). */
export function outputsToPort(acts: readonly Ofpact[], port: number): boolean {
  for (const a of acts) {
    if ((a.type === 'output' || a.type === 'enqueue') && a.port === port) return true;
    if (a.type === 'controller' && port === OFPP_CONTROLLER) return true;
    const n = nestedActions(a);
    if (n && outputsToPort(n, port)) return true;
  }
  return false;
}

export function outputsToGroup(acts: readonly Ofpact[], groupId: number): boolean {
  for (const a of acts) {
    if (a.type === 'group' && a.groupId === groupId) return true;
    const n = nestedActions(a);
    if (n && outputsToGroup(n, groupId)) return true;
  }
  return false;
}

function conjunctionsOf(acts: readonly Ofpact[]): Conjunction[] | null {
  let out: Conjunction[] | null = null;
  for (const a of acts) {
    if (a.type !== 'conjunction') continue;
    out ??= [];
    out.push({ id: a.id, clause: a.clause, nClauses: a.nClauses });
  }
  return out;
}
