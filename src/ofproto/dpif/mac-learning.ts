/*
 * The MAC learning table NORMAL switches with (OVS's lib/mac-learning): which port a MAC was
 * last seen on, per VLAN, with
 *
 * - aging: a learned entry lives `idleTime` seconds (15..3600, default 300) after it was last
 *   refreshed; static entries (fdb/add) never age and are kept by fdb/flush;
 * - a size limit (10..1,000,000, default 8192): when full, the entry to go is the least
 *   recently used one of the port that holds the most entries, so one busy port cannot
 *   push every other port's MACs out (OVS's "fair" eviction);
 * - flood VLANs (Bridge flood_vlans): no learning and no lookups there;
 * - the gratuitous ARP lock that keeps bond members from re-learning reflected ARPs.
 *
 * Time is whole seconds from an injectable clock, as OVS's time_now(). A MAC is a 48-bit
 * integer held exactly in a double (use macFromWords for flow key words). Ports are
 * OpenFlow port numbers (a bundle is named by one of its ports).
 *
 * Mutations report whether forwarding may have changed (`needRevalidate`), which the
 * revalidators read and clear through run().
 */

import { coverage } from '../../lib/coverage.ts';
import { ofpPortToString } from '../../lib/flow/ofp-port.ts';
import { timeMsec } from '../../lib/timeval.ts';
import type { OfpPort } from '../ofp-port.ts';

export const MAC_ENTRY_DEFAULT_IDLE_TIME = 300;
export const MAC_DEFAULT_MAX = 8192;
export const MAC_GRAT_ARP_LOCK_TIME = 5;
/** The age OVS reports for static entries (INT_MAX). */
export const MAC_ENTRY_AGE_STATIC_ENTRY = 0x7fffffff;

/** Milliseconds, like Date.now. */
export type Clock = () => number;

/* OVS's coverage counters of lib/mac-learning.c (coverage/read-counter reads them). */
const covLearned = coverage('mac_learning_learned');
const covExpired = coverage('mac_learning_expired');
const covEvicted = coverage('mac_learning_evicted');
const covMoved = coverage('mac_learning_moved');
const covStaticNoneMove = coverage('mac_learning_static_none_move');

const TWO32 = 0x1_0000_0000;

/** A MAC from flow key words (first two bytes in the low 16 bits of `hi`, last four in `lo`). */
export function macFromWords(hi: number, lo: number): number {
  return (hi & 0xffff) * TWO32 + (lo >>> 0);
}

export function macIsMulticast(mac: number): boolean {
  return Math.floor(mac / 0x100_0000_0000) % 2 === 1;
}

export function formatMac48(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) % 256;
    s += (i === 5 ? '' : ':') + b.toString(16).padStart(2, '0');
  }
  return s;
}

/** Parses "xx:xx:xx:xx:xx:xx"; null if malformed. */
export function parseMac48(s: string): number | null {
  const m =
    /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(
      s,
    );
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + Number.parseInt(m[i], 16);
  return v;
}

export interface MacEntry {
  readonly mac: number;
  readonly vlan: number;
  /** The port the MAC was learned on. */
  port: OfpPort;
  /** Seconds (clock time) when it expires, or MAC_ENTRY_AGE_STATIC_ENTRY. */
  expires: number;
  /** Seconds until which gratuitous ARPs arriving over bonds are not learned. */
  gratArpLock: number;
  /* Global LRU list (least recently used first) and the per-port one. */
  lruPrev: MacEntry | null;
  lruNext: MacEntry | null;
  portPrev: MacEntry | null;
  portNext: MacEntry | null;
}

interface PortList {
  head: MacEntry | null;
  tail: MacEntry | null;
  /** Entries on the port: its priority in the usage heap. */
  n: number;
  /** Position in the usage heap (1-based). */
  idx: number;
}

/*
 * Ports by how many entries they have, a binary max-heap with OVS's lib/heap.c tie
 * behaviour: which of several equally full ports loses an entry on overflow is visible in
 * fdb/show, and OVS's expected outputs depend on it.
 */
class UsageHeap {
  private readonly a: (PortList | undefined)[] = [undefined];
  private n = 0;

  max(): PortList | undefined {
    return this.n > 0 ? this.a[1] : undefined;
  }

  insert(p: PortList): void {
    this.put(p, ++this.n);
    this.up(p.idx);
  }

  remove(p: PortList): void {
    const i = p.idx;
    if (i < this.n) this.put(this.a[this.n] as PortList, i);
    this.a[this.n] = undefined;
    this.n--;
    if (i <= this.n) this.upOrDown(i);
  }

  /** After p.n changed. */
  changed(p: PortList): void {
    this.upOrDown(p.idx);
  }

  private put(p: PortList, i: number): void {
    this.a[i] = p;
    p.idx = i;
  }

  private swap(i: number, j: number): void {
    const x = this.a[i] as PortList;
    this.put(this.a[j] as PortList, i);
    this.put(x, j);
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 1) {
      const parent = i >> 1;
      if ((this.a[parent] as PortList).n >= (this.a[i] as PortList).n) break;
      this.swap(parent, i);
      moved = true;
      i = parent;
    }
    return moved;
  }

  private down(i: number): void {
    while (2 * i <= this.n) {
      const l = 2 * i;
      const r = l + 1;
      let m = i;
      if ((this.a[l] as PortList).n > (this.a[m] as PortList).n) m = l;
      if (r <= this.n && (this.a[r] as PortList).n > (this.a[m] as PortList).n) m = r;
      if (m === i) break;
      this.swap(m, i);
      i = m;
    }
  }

  private upOrDown(i: number): void {
    if (!this.up(i)) this.down(i);
  }
}

export interface MacLearningStats {
  learned: number;
  expired: number;
  evicted: number;
  moved: number;
}

export interface MacLearningOptions {
  readonly idleTime?: number;
  readonly maxEntries?: number;
  readonly clock?: Clock;
}

function normalizeIdleTime(t: number): number {
  // OVS takes the value as unsigned: a negative one is huge, so it clamps to the maximum.
  if (!Number.isFinite(t) || t < 0) return 3600;
  t = Math.trunc(t);
  return t < 15 ? 15 : Math.min(t, 3600);
}

function normalizeMaxEntries(n: number): number {
  if (!Number.isFinite(n) || n < 0) return 1_000_000;
  n = Math.trunc(n);
  return n < 10 ? 10 : Math.min(n, 1_000_000);
}

/* OVS's smap_get_int: a whole decimal int, else the default. */
function otherConfigInt(oc: ReadonlyMap<string, string> | undefined, key: string): number {
  const v = oc?.get(key);
  if (v === undefined || !/^\s*[+-]?\d+$/.test(v)) return 0;
  const n = Number.parseInt(v, 10);
  return n >= -0x8000_0000 && n <= 0x7fff_ffff ? n : 0;
}

/**
 * The table settings a Bridge's other_config asks for (mac-aging-time, mac-table-size), with
 * OVS's defaults for absent, malformed or zero values; MacLearning clamps them into range.
 */
export function macTableConfig(otherConfig: ReadonlyMap<string, string> | undefined): {
  idleTime: number;
  maxEntries: number;
} {
  return {
    idleTime: otherConfigInt(otherConfig, 'mac-aging-time') || MAC_ENTRY_DEFAULT_IDLE_TIME,
    maxEntries: otherConfigInt(otherConfig, 'mac-table-size') || MAC_DEFAULT_MAX,
  };
}

export class MacLearning {
  idleTime: number;
  maxEntries: number;
  readonly stats: MacLearningStats = { learned: 0, expired: 0, evicted: 0, moved: 0 };
  staticEntries = 0;
  /** Set by every change that may alter forwarding; run() returns and clears it. */
  needRevalidate = false;

  private readonly clock: Clock;
  private readonly byVlan = new Map<number, Map<number, MacEntry>>();
  private readonly ports = new Map<number, PortList>();
  private readonly usage = new UsageHeap();
  private lruHead: MacEntry | null = null;
  private lruTail: MacEntry | null = null;
  private count = 0;
  private floodVlans: ReadonlySet<number> | null = null;

  constructor(o: MacLearningOptions = {}) {
    this.idleTime = normalizeIdleTime(o.idleTime ?? MAC_ENTRY_DEFAULT_IDLE_TIME);
    this.maxEntries = normalizeMaxEntries(o.maxEntries ?? MAC_DEFAULT_MAX);
    this.clock = o.clock ?? timeMsec;
  }

  /** Current time in whole seconds. */
  now(): number {
    return Math.floor(this.clock() / 1000);
  }

  get size(): number {
    return this.count;
  }

  /** Changes the aging time; existing entries keep their age (their expiry shifts). */
  setIdleTime(t: number): void {
    const idle = normalizeIdleTime(t);
    if (idle === this.idleTime) return;
    const delta = idle - this.idleTime;
    for (let e = this.lruHead; e; e = e.lruNext) {
      if (e.expires !== MAC_ENTRY_AGE_STATIC_ENTRY) e.expires += delta;
    }
    this.idleTime = idle;
  }

  /** Takes effect at the next run() or insertion, as in OVS. */
  setMaxEntries(n: number): void {
    this.maxEntries = normalizeMaxEntries(n);
  }

  /** Sets the flood VLANs; returns true if they changed (flows must be revalidated). */
  setFloodVlans(vlans: Iterable<number> | null): boolean {
    const next = vlans ? new Set([...vlans].filter((v) => v >= 0 && v < 4096)) : null;
    const norm = next?.size ? next : null;
    const cur = this.floodVlans;
    const same =
      cur === norm ||
      (cur !== null &&
        norm !== null &&
        cur.size === norm.size &&
        [...cur].every((v) => norm.has(v)));
    if (same) return false;
    this.floodVlans = norm;
    return true;
  }

  isLearningVlan(vlan: number): boolean {
    return this.floodVlans === null || !this.floodVlans.has(vlan);
  }

  mayLearn(mac: number, vlan: number): boolean {
    return this.isLearningVlan(vlan) && !macIsMulticast(mac);
  }

  private find(mac: number, vlan: number): MacEntry | undefined {
    return this.byVlan.get(vlan)?.get(mac);
  }

  /** The entry NORMAL forwards by: none for multicast MACs or in flood VLANs. */
  lookup(mac: number, vlan: number): MacEntry | undefined {
    if (macIsMulticast(mac) || !this.isLearningVlan(vlan)) return undefined;
    return this.find(mac, vlan);
  }

  /** Seconds since the entry was last refreshed, or MAC_ENTRY_AGE_STATIC_ENTRY. */
  age(e: MacEntry): number {
    if (e.expires === MAC_ENTRY_AGE_STATIC_ENTRY) return MAC_ENTRY_AGE_STATIC_ENTRY;
    return this.idleTime - (e.expires - this.now());
  }

  isGratArpLocked(e: MacEntry): boolean {
    return this.now() < e.gratArpLock;
  }

  /** Entries from least to most recently used (the order fdb/show prints). */
  *entries(): IterableIterator<MacEntry> {
    for (let e = this.lruHead; e; e = e.lruNext) yield e;
  }

  /* ---- list plumbing ---- */

  private lruUnlink(e: MacEntry): void {
    if (e.lruPrev) e.lruPrev.lruNext = e.lruNext;
    else this.lruHead = e.lruNext;
    if (e.lruNext) e.lruNext.lruPrev = e.lruPrev;
    else this.lruTail = e.lruPrev;
    e.lruPrev = e.lruNext = null;
  }

  private lruAppend(e: MacEntry): void {
    e.lruPrev = this.lruTail;
    e.lruNext = null;
    if (this.lruTail) this.lruTail.lruNext = e;
    else this.lruHead = e;
    this.lruTail = e;
  }

  private portUnlink(e: MacEntry): void {
    const pl = this.ports.get(e.port);
    if (!pl) return;
    if (e.portPrev) e.portPrev.portNext = e.portNext;
    else pl.head = e.portNext;
    if (e.portNext) e.portNext.portPrev = e.portPrev;
    else pl.tail = e.portPrev;
    e.portPrev = e.portNext = null;
    if (--pl.n === 0) {
      this.ports.delete(e.port);
      this.usage.remove(pl);
    } else {
      this.usage.changed(pl);
    }
  }

  private portAppend(e: MacEntry): void {
    let pl = this.ports.get(e.port);
    if (!pl) {
      pl = { head: null, tail: null, n: 1, idx: 0 };
      this.ports.set(e.port, pl);
      this.usage.insert(pl);
    } else {
      pl.n++;
      this.usage.changed(pl);
    }
    this.portListPush(pl, e);
  }

  private portListPush(pl: PortList, e: MacEntry): void {
    e.portPrev = pl.tail;
    e.portNext = null;
    if (pl.tail) pl.tail.portNext = e;
    else pl.head = e;
    pl.tail = e;
  }

  /** Most recently used on its port, without changing the port's count. */
  private portTouch(e: MacEntry): void {
    const pl = this.ports.get(e.port);
    if (!pl || pl.tail === e) return;
    if (e.portPrev) e.portPrev.portNext = e.portNext;
    else pl.head = e.portNext;
    if (e.portNext) e.portNext.portPrev = e.portPrev;
    e.portPrev = e.portNext = null;
    this.portListPush(pl, e);
  }

  private setPort(e: MacEntry, port: OfpPort): void {
    if (e.port === port) return;
    this.needRevalidate = true;
    this.portUnlink(e);
    e.port = port;
    this.portAppend(e);
  }

  /** Removes an entry (aged, evicted or deleted). */
  expire(e: MacEntry): void {
    this.needRevalidate = true;
    this.portUnlink(e);
    this.lruUnlink(e);
    const t = this.byVlan.get(e.vlan);
    if (t) {
      t.delete(e.mac);
      if (t.size === 0) this.byVlan.delete(e.vlan);
    }
    if (e.expires === MAC_ENTRY_AGE_STATIC_ENTRY) this.staticEntries--;
    this.count--;
  }

  private evictFairly(): void {
    const best = this.usage.max();
    if (!best?.head) return;
    this.stats.evicted++;
    covEvicted.inc();
    this.expire(best.head);
  }

  /* Inserts or refreshes an entry, marking it most recently used. */
  private insert(mac: number, vlan: number, port: OfpPort, isStatic: boolean): MacEntry {
    let e = this.find(mac, vlan);
    if (!e) {
      if (this.count >= this.maxEntries) this.evictFairly();
      e = {
        mac,
        vlan,
        port,
        expires: 0,
        gratArpLock: Number.NEGATIVE_INFINITY,
        lruPrev: null,
        lruNext: null,
        portPrev: null,
        portNext: null,
      };
      let t = this.byVlan.get(vlan);
      if (!t) {
        t = new Map();
        this.byVlan.set(vlan, t);
      }
      t.set(mac, e);
      this.count++;
      this.portAppend(e);
      this.needRevalidate = true;
      if (!isStatic) {
        this.stats.learned++;
        covLearned.inc();
      }
    } else {
      this.lruUnlink(e);
      // Most recently used on its port too.
      this.portTouch(e);
    }
    this.lruAppend(e);
    if (isStatic) {
      if (e.expires !== MAC_ENTRY_AGE_STATIC_ENTRY) this.staticEntries++;
      e.expires = MAC_ENTRY_AGE_STATIC_ENTRY;
    } else {
      e.expires = this.now() + this.idleTime;
    }
    return e;
  }

  private updateNeeded(
    mac: number,
    vlan: number,
    port: OfpPort,
    isGratArp: boolean,
    isBond: boolean,
  ): boolean {
    if (!this.mayLearn(mac, vlan)) return false;
    const e = this.find(mac, vlan);
    if (!e) return true;
    const age = this.age(e);
    if (age === MAC_ENTRY_AGE_STATIC_ENTRY) {
      // A static MAC seen on another port stays put; OVS counts the attempt.
      if (e.port !== port) covStaticNoneMove.inc();
      return false;
    }
    if (age > 0) return true;
    if (isGratArp) {
      if (!isBond) return true;
      if (this.isGratArpLocked(e)) return false;
    }
    return e.port !== port;
  }

  /**
   * Learns that `mac` in `vlan` is on `port` (OVS's mac_learning_update). Returns true when
   * the port of the MAC changed (a new MAC or a move), i.e. forwarding changed.
   */
  update(mac: number, vlan: number, port: OfpPort, isGratArp = false, isBond = false): boolean {
    if (!this.updateNeeded(mac, vlan, port, isGratArp, isBond)) return false;
    const isNew = this.find(mac, vlan) === undefined;
    const e = this.insert(mac, vlan, port, false);
    if (isGratArp) {
      if (!isBond) e.gratArpLock = this.now() + MAC_GRAT_ARP_LOCK_TIME;
      else if (this.isGratArpLocked(e)) return false;
    }
    if (isNew) return true;
    if (e.port !== port) {
      this.stats.moved++;
      covMoved.inc();
      this.setPort(e, port);
      return true;
    }
    return false;
  }

  /** fdb/add: a static entry (never aged, kept by flush); replaces a learned one. */
  addStatic(mac: number, vlan: number, port: OfpPort): MacEntry {
    const e = this.insert(mac, vlan, port, true);
    this.setPort(e, port);
    return e;
  }

  /** Deletes a static entry; false if there is none for (mac, vlan). */
  delStatic(mac: number, vlan: number): boolean {
    const e = this.lookup(mac, vlan);
    if (!e || e.expires !== MAC_ENTRY_AGE_STATIC_ENTRY) return false;
    this.expire(e);
    return true;
  }

  /** fdb/flush: drops every learned entry, keeps static ones. */
  flush(): void {
    for (let e = this.lruHead; e; ) {
      const next = e.lruNext;
      if (e.expires !== MAC_ENTRY_AGE_STATIC_ENTRY) this.expire(e);
      e = next;
    }
  }

  /** The entries on `port`, from least to most recently used on it. */
  entriesOnPort(port: OfpPort): MacEntry[] {
    const out: MacEntry[] = [];
    for (let e = this.ports.get(port)?.head ?? null; e; e = e.portNext) out.push(e);
    return out;
  }

  /** Removes the entry for (mac, vlan), static or not, if there is one. */
  expireMac(mac: number, vlan: number): boolean {
    const e = this.find(mac, vlan);
    if (!e) return false;
    this.expire(e);
    return true;
  }

  /** Drops every entry on `port` (the port was removed or reconfigured), static ones too. */
  flushPort(port: OfpPort): void {
    const pl = this.ports.get(port);
    while (pl && pl.n > 0 && pl.head) this.expire(pl.head);
  }

  private firstDynamic(): MacEntry | null {
    for (let e = this.lruHead; e; e = e.lruNext) {
      if (e.expires !== MAC_ENTRY_AGE_STATIC_ENTRY) return e;
    }
    return null;
  }

  /**
   * Ages out expired entries and trims the table to its size limit, least recently used
   * first. Returns whether flows need revalidation (and clears that flag).
   */
  run(): boolean {
    const now = this.now();
    for (let e = this.firstDynamic(); e; e = this.firstDynamic()) {
      if (!(this.count > this.maxEntries || now >= e.expires)) break;
      this.stats.expired++;
      covExpired.inc();
      this.expire(e);
    }
    const r = this.needRevalidate;
    this.needRevalidate = false;
    return r;
  }

  /** Milliseconds (clock time) when run() next has work, or undefined for none. */
  nextWakeMs(): number | undefined {
    if (this.count > this.maxEntries || this.needRevalidate) return this.clock();
    const e = this.firstDynamic();
    return e ? e.expires * 1000 : undefined;
  }

  clearStatistics(): void {
    this.stats.learned = this.stats.expired = this.stats.evicted = this.stats.moved = 0;
  }
}

/* ------------------------------------------------------------------------------------ */
/* unixctl replies (the text ovs-appctl prints; wiring is the unixctl module's job). */

/** `fdb/show BRIDGE`: the table from least to most recently used. */
export function fdbShow(
  ml: MacLearning,
  portName: (port: OfpPort) => string = ofpPortToString,
): string {
  let s = ' port  VLAN  MAC                Age\n';
  for (const e of ml.entries()) {
    const age = ml.age(e);
    s += `${portName(e.port).padStart(5)}  ${String(e.vlan).padStart(4)}  ${formatMac48(e.mac)}  `;
    s += age === MAC_ENTRY_AGE_STATIC_ENTRY ? 'static\n' : `${String(age).padStart(3)}\n`;
  }
  return s;
}

export const FDB_FLUSH_REPLY = 'table successfully flushed';
export const FDB_STATS_CLEAR_REPLY = 'statistics successfully cleared';

/** `fdb/stats-show BRIDGE`. */
export function fdbStatsShow(bridge: string, ml: MacLearning): string {
  return (
    `Statistics for bridge "${bridge}":\n` +
    `  Current/maximum MAC entries in the table: ${ml.size}/${ml.maxEntries}\n` +
    `  Current static MAC entries in the table : ${ml.staticEntries}\n` +
    `  Total number of learned MAC entries     : ${ml.stats.learned}\n` +
    `  Total number of expired MAC entries     : ${ml.stats.expired}\n` +
    `  Total number of evicted MAC entries     : ${ml.stats.evicted}\n` +
    `  Total number of port moved MAC entries  : ${ml.stats.moved}\n`
  );
}

/** A unixctl reply: text for success, or the error text ovs-appctl shows. */
export type FdbReply =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly error: string };

/**
 * `fdb/add BRIDGE PORT VLAN MAC`, after the caller resolved the bridge ("no such bridge")
 * and the port name. `vlanArg` is parsed like C's atoi.
 */
export function fdbAdd(
  ml: MacLearning,
  port: OfpPort,
  vlanArg: string,
  macArg: string,
  portName: (port: OfpPort) => string = ofpPortToString,
): FdbReply {
  const vlan = atoi(vlanArg) & 0xffff;
  const mac = parseMac48(macArg);
  if (mac === null) return { ok: false, error: 'bad MAC address' };
  const old = ml.lookup(mac, vlan);
  let text = '';
  if (old && (old.port !== port || old.expires !== MAC_ENTRY_AGE_STATIC_ENTRY)) {
    const kind = old.expires === MAC_ENTRY_AGE_STATIC_ENTRY ? 'static' : 'dynamic';
    text = `Overriding already existing ${kind} entry on ${portName(old.port)}\n`;
  }
  ml.addStatic(mac, vlan, port);
  return { ok: true, text };
}

/** `fdb/del BRIDGE VLAN MAC`. */
export function fdbDel(ml: MacLearning, vlanArg: string, macArg: string): FdbReply {
  const mac = parseMac48(macArg);
  if (mac === null) return { ok: false, error: 'bad MAC address' };
  if (!ml.delStatic(mac, atoi(vlanArg) & 0xffff)) {
    return { ok: false, error: 'could not find static mac entry\n' };
  }
  return { ok: true, text: '' };
}

function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) | 0 : 0;
}
