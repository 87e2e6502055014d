/*
 * The megaflow classifier (OVS's dpcls in dpif-netdev-private-dpcls.h / dpif-netdev.c):
 * megaflows never overlap and have no priority, so a lookup is a tuple space search that
 * stops at the first hit. One subtable per distinct mask, each an open-addressing hash table
 * of masked keys over only the words its mask touches; subtables are tried in descending
 * order of recent hits, re-sorted periodically (OVS re-sorts its pvector every second).
 *
 * Lookups allocate nothing: keys live in a typed array per subtable, entries are numbers.
 */

import { hashAdd, hashFinish } from '../../lib/flow/hash.ts';
import { FLOW_WORDS, type FlowKey } from '../../lib/flow/layout.ts';

/** What the classifier stores: anything with a slot it can find the flow by. */
export interface DpclsRule {
  /** The megaflow mask (FLOW_WORDS words). */
  readonly mask: Uint32Array;
  /** key & mask. */
  readonly maskedKey: Uint32Array;
}

export class DpclsSubtable<R extends DpclsRule> {
  readonly mask: Uint32Array;
  /** Key words the mask touches, ascending, and their mask values. */
  readonly words: Int32Array;
  readonly maskWords: Uint32Array;
  readonly nWords: number;
  /** Recent hits (for ordering); reset at each re-sort. */
  hits = 0;
  /* Open addressing with linear probing: slot -> rule index + 1 into `rules` (0 empty). */
  private slots: Int32Array;
  private slotHash: Int32Array;
  private keys: Uint32Array; // slot * nWords
  private slotMask: number;
  private rules: Array<R | null>;
  count = 0;

  constructor(mask: Uint32Array) {
    this.mask = Uint32Array.from(mask);
    const w: number[] = [];
    for (let i = 0; i < FLOW_WORDS; i++) if (mask[i] !== 0) w.push(i);
    this.words = Int32Array.from(w);
    this.maskWords = Uint32Array.from(w.map((i) => mask[i]));
    this.nWords = w.length;
    this.slots = new Int32Array(16);
    this.slotHash = new Int32Array(16);
    this.keys = new Uint32Array(16 * Math.max(1, this.nWords));
    this.rules = new Array<R | null>(16).fill(null);
    this.slotMask = 15;
  }

  /** Hash of key & mask over this subtable's words. */
  hashKey(key: FlowKey): number {
    let h = 0;
    const words = this.words;
    const mw = this.maskWords;
    for (let i = 0; i < this.nWords; i++) h = hashAdd(h, key[words[i]] & mw[i]);
    return hashFinish(h, this.nWords);
  }

  /** The rule whose masked key equals `key & mask`, or null. */
  lookup(key: FlowKey, hash: number): R | null {
    const n = this.nWords;
    const words = this.words;
    const mw = this.maskWords;
    const keys = this.keys;
    const sm = this.slotMask;
    for (let s = hash & sm; ; s = (s + 1) & sm) {
      const r = this.slots[s];
      if (r === 0) return null;
      if (this.slotHash[s] !== hash) continue;
      const base = s * n;
      let i = 0;
      for (; i < n; i++) if (keys[base + i] !== (key[words[i]] & mw[i]) >>> 0) break;
      if (i === n) return this.rules[s];
    }
  }

  insert(rule: R): void {
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    this.place(rule, this.hashKey(rule.maskedKey));
    this.count++;
  }

  private place(rule: R, hash: number): void {
    const sm = this.slotMask;
    let s = hash & sm;
    while (this.slots[s] !== 0) s = (s + 1) & sm;
    this.slots[s] = 1;
    this.slotHash[s] = hash;
    this.rules[s] = rule;
    const base = s * this.nWords;
    for (let i = 0; i < this.nWords; i++) this.keys[base + i] = rule.maskedKey[this.words[i]];
  }

  /** Removes `rule` (by identity). Returns false if it was not there. */
  remove(rule: R): boolean {
    const hash = this.hashKey(rule.maskedKey);
    const sm = this.slotMask;
    let s = hash & sm;
    for (;;) {
      if (this.slots[s] === 0) return false;
      if (this.rules[s] === rule) break;
      s = (s + 1) & sm;
    }
    // Backward-shift deletion keeps every probe chain unbroken.
    const n = this.nWords;
    let i = s;
    let j = s;
    for (;;) {
      this.slots[i] = 0;
      this.rules[i] = null;
      for (;;) {
        j = (j + 1) & sm;
        if (this.slots[j] === 0) {
          this.count--;
          return true;
        }
        const home = this.slotHash[j] & sm;
        if (i <= j ? home <= i || home > j : home <= i && home > j) break;
      }
      this.slots[i] = 1;
      this.slotHash[i] = this.slotHash[j];
      this.rules[i] = this.rules[j];
      for (let w = 0; w < n; w++) this.keys[i * n + w] = this.keys[j * n + w];
      i = j;
    }
  }

  private grow(): void {
    const old = this.rules;
    const oldSlots = this.slots;
    const oldHash = this.slotHash;
    const size = oldSlots.length * 2;
    this.slots = new Int32Array(size);
    this.slotHash = new Int32Array(size);
    this.keys = new Uint32Array(size * Math.max(1, this.nWords));
    this.rules = new Array<R | null>(size).fill(null);
    this.slotMask = size - 1;
    for (let s = 0; s < oldSlots.length; s++) {
      const r = old[s];
      if (oldSlots[s] !== 0 && r !== null) this.place(r, oldHash[s]);
    }
  }

  *all(): Generator<R> {
    for (const r of this.rules) if (r !== null) yield r;
  }
}

/* A numeric hash of a whole mask: finding a subtable costs one pass over the mask words and
 * no allocation (a string id per insert/remove was most of a flow setup). */
function maskHash(mask: Uint32Array): number {
  let h = 0;
  for (let i = 0; i < FLOW_WORDS; i++) h = hashAdd(h, mask[i]);
  return hashFinish(h, FLOW_WORDS);
}

function sameMask(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Dpcls<R extends DpclsRule> {
  /** Subtables in search order. */
  subtables: DpclsSubtable<R>[] = [];
  /* Subtables by maskHash(); a list in case two masks collide. */
  private byMask = new Map<number, DpclsSubtable<R>[]>();
  /** Subtables visited by lookups since creation (OVS's "masks: hit"). */
  subtablesVisited = 0;
  private lookupsSinceSort = 0;
  /** Re-sort after this many lookups. */
  sortInterval = 1 << 16;

  get count(): number {
    let n = 0;
    for (const st of this.subtables) n += st.count;
    return n;
  }

  private subtableFor(mask: Uint32Array, hash: number): DpclsSubtable<R> | undefined {
    const list = this.byMask.get(hash);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) if (sameMask(list[i].mask, mask)) return list[i];
    return undefined;
  }

  insert(rule: R): void {
    const h = maskHash(rule.mask);
    let st = this.subtableFor(rule.mask, h);
    if (st === undefined) {
      st = new DpclsSubtable<R>(rule.mask);
      const list = this.byMask.get(h);
      if (list === undefined) this.byMask.set(h, [st]);
      else list.push(st);
      this.subtables.push(st);
    }
    st.insert(rule);
  }

  remove(rule: R): boolean {
    const h = maskHash(rule.mask);
    const st = this.subtableFor(rule.mask, h);
    if (st === undefined || !st.remove(rule)) return false;
    if (st.count === 0) {
      const list = this.byMask.get(h) as DpclsSubtable<R>[];
      if (list.length === 1) this.byMask.delete(h);
      else list.splice(list.indexOf(st), 1);
      this.subtables.splice(this.subtables.indexOf(st), 1);
    }
    return true;
  }

  /** The megaflow matching `key`, or null. */
  lookup(key: FlowKey): R | null {
    if (++this.lookupsSinceSort >= this.sortInterval) this.resort();
    const sts = this.subtables;
    for (let i = 0; i < sts.length; i++) {
      const st = sts[i];
      const r = st.lookup(key, st.hashKey(key));
      if (r !== null) {
        st.hits++;
        this.subtablesVisited += i + 1;
        return r;
      }
    }
    this.subtablesVisited += sts.length;
    return null;
  }

  /** Orders subtables by recent hits, most first, and starts counting afresh. */
  resort(): void {
    this.lookupsSinceSort = 0;
    this.subtables.sort((a, b) => b.hits - a.hits);
    for (const st of this.subtables) st.hits = 0;
  }

  /** The rule stored under exactly this mask and masked key (not a lookup). */
  find(mask: Uint32Array, maskedKey: Uint32Array): R | null {
    const st = this.subtableFor(mask, maskHash(mask));
    if (st === undefined) return null;
    return st.lookup(maskedKey, st.hashKey(maskedKey));
  }

  clear(): void {
    this.subtables = [];
    this.byMask.clear();
  }

  *all(): Generator<R> {
    for (const st of this.subtables) yield* st.all();
  }
}
