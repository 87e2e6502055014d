/*
 * The classifier: wildcarded rules with priorities, looked up by tuple space search as in OVS's
 * lib/classifier.c. Rules with the same mask share a subtable holding a hash table of their
 * masked keys. A lookup visits subtables in descending order of the highest priority they hold
 * and stops as soon as no remaining subtable can beat the best match found.
 *
 * Besides the winning rule, a lookup reports the wildcard mask of every key bit it depended on
 * (OVS's `wc`), so the caller can install a megaflow that any packet agreeing on those bits
 * may share. Two optimisations keep that mask narrow and the search short:
 *  - staged lookup: each subtable hashes the metadata, L2, L3 and L4 parts of its mask in
 *    turn and gives up at the first stage no rule agrees with, depending only on the stages
 *    it looked at;
 *  - prefix tries on nw_src, nw_dst, ipv6_src and ipv6_dst: a subtable whose rules all need
 *    an address prefix the packet lacks is skipped after examining only the address bits
 *    the trie walk needed.
 *
 * Rules may carry conjunction(id, k/n) actions (OVS's conjunctive matches): such "soft" rules
 * only count when matching rules cover all n clauses of an id at one priority, and then the
 * rule matching conj_id=id is the answer, with OVS's tie-breaking and fallback rules.
 *
 * Lookups allocate nothing: hashes are 30-bit integers, tables live in typed arrays, and the
 * trie results in scratch arrays owned by the classifier. (Only the rare path that checks
 * whether soft matches complete a conjunction allocates.)
 */

import { hashAdd, hashFinish } from '../flow/hash.ts';
import {
  ETH_TYPE_IP,
  ETH_TYPE_IPV6,
  FLOW_WORDS,
  type FlowKey,
  N_STAGES,
  STAGE_ENDS,
  W_CONJ_ID,
  W_DL_TYPE,
  W_IPV6_DST,
  W_IPV6_SRC,
  W_NW_DST,
  W_NW_SRC,
} from '../flow/layout.ts';
import { type Match, markMaskShared } from '../flow/match.ts';
import { HashCount } from './hash-count.ts';
import { PrefixTrie, plenIsSet } from './trie.ts';

export interface ClsRule<T> {
  readonly match: Match;
  readonly priority: number;
  readonly data: T;
  /** The rule's conjunction(id, k/n) actions, if it is part of conjunctive matches. */
  readonly conj: readonly Conjunction[] | null;
}

/** One conjunction(id, k/n) action: `clause` is k - 1 (0-based), `nClauses` is n (2..64). */
export interface Conjunction {
  readonly id: number;
  readonly clause: number;
  readonly nClauses: number;
}

/* Internal rule record; `st`/`node` say where it lives while it is in a classifier. */
class Rule<T> implements ClsRule<T> {
  st: Subtable<T> | null = null;
  node = -1;
  /** The fewest clauses of any of its conjunctions. */
  readonly minClauses: number;
  constructor(
    readonly match: Match,
    readonly priority: number,
    readonly data: T,
    readonly conj: readonly Conjunction[] | null,
  ) {
    let min = 64;
    if (conj !== null) for (const c of conj) min = Math.min(min, c.nClauses);
    this.minClauses = min;
  }
}

/*
 * Rule keys are carved out of shared slabs, as views on one ArrayBuffer. A 98-word typed array
 * is too big for V8 to keep on its heap, so each `new Uint32Array(FLOW_WORDS)` is a backing
 * store of its own (a malloc, and a record the garbage collector sweeps); at 100k rules that
 * allocation and sweeping cost more than the insertion itself. A view is a small heap object.
 * Slots are never reused, so a key a caller still holds never changes under it; a slab is
 * freed once no view on it is left (so a long-lived rule can pin at most SLAB_KEYS keys' worth).
 */
const SLAB_KEYS = 16;
let slab: ArrayBuffer | null = null;
let slabNext = SLAB_KEYS;

function allocKey(): Uint32Array {
  if (slabNext === SLAB_KEYS) {
    slab = new ArrayBuffer(SLAB_KEYS * FLOW_WORDS * 4);
    slabNext = 0;
  }
  return new Uint32Array(slab as ArrayBuffer, slabNext++ * FLOW_WORDS * 4, FLOW_WORDS);
}

/* The trie-tracked fields: key word, width in bits, and the dl_type they need. */
const TRIE_WORD = [W_NW_SRC, W_NW_DST, W_IPV6_SRC, W_IPV6_DST];
const TRIE_BITS = [32, 32, 128, 128];
const TRIE_DL_TYPE = [ETH_TYPE_IP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_IPV6];
const N_TRIES = 4;

function cidrLen(mask: Uint32Array, w: number, nBits: number): number {
  let n = 0;
  const nWords = nBits >>> 5;
  let i = 0;
  for (; i < nWords; i++) {
    const x = mask[w + i] >>> 0;
    if (x === 0xffffffff) {
      n += 32;
      continue;
    }
    const inv = ~x >>> 0;
    if ((inv & (inv + 1)) !== 0) return -1;
    n += Math.clz32(inv);
    i++;
    break;
  }
  for (; i < nWords; i++) if (mask[w + i] !== 0) return -1;
  return n;
}

class Subtable<T> {
  readonly mask: Uint32Array;
  /** Key words the mask touches, ascending (so grouped by stage). */
  readonly words: Int32Array;
  /** stageEnd[s]: index into `words` where stage s ends. */
  readonly stageEnd: Int32Array;
  /** Last stage with any words: its check is the full-table lookup. */
  readonly lastStage: number;
  /** Per trie field: the subtable's prefix length on it, or 0 when the trie cannot help. */
  readonly triePlen: Int32Array;
  readonly stageIndex: Array<HashCount | null>;
  /*
   * The hash table of distinct masked keys ("nodes"). heads[bucket] is node + 1 (0 = empty).
   * Each node is one interleaved record of `stride` int32s in nodeData: its hash, its chain
   * link, then its masked key words, so a probe reads one or two cache lines rather than one
   * per array (at 100k rules lookups are bound by memory stalls). nodeRules holds its rules,
   * highest priority first, and nodeBest the first of them, one dereference closer.
   */
  heads = new Int32Array(8);
  readonly stride: number;
  nodeData: Int32Array;
  nodeRules: Array<Rule<T>[] | null> = [];
  nodeBest: Array<Rule<T> | null> = [];
  private freeNodes: number[] = [];
  nNodes = 0;
  nRules = 0;
  maxPriority = -1;
  /** Rules per priority, to recompute maxPriority on removal. */
  readonly priorities = new Map<number, number>();
  /** The classifier holding this subtable (null once it is emptied and dropped). */
  owner: object | null;
  readonly maskHash: number;

  constructor(mask: Uint32Array, maskHash: number, owner: object) {
    this.mask = mask;
    this.maskHash = maskHash;
    this.owner = owner;
    const ws: number[] = [];
    for (let i = 0; i < FLOW_WORDS; i++) if (mask[i] !== 0) ws.push(i);
    this.words = Int32Array.from(ws);
    this.stageEnd = new Int32Array(N_STAGES);
    let last = 0;
    for (let s = 0, j = 0; s < N_STAGES; s++) {
      while (j < ws.length && ws[j] < STAGE_ENDS[s]) j++;
      this.stageEnd[s] = j;
      if (j > (s === 0 ? 0 : this.stageEnd[s - 1])) last = s;
    }
    this.lastStage = last;
    this.stageIndex = [];
    for (let s = 0; s < N_STAGES; s++) {
      const has = this.stageEnd[s] > (s === 0 ? 0 : this.stageEnd[s - 1]);
      this.stageIndex.push(s < last && has ? new HashCount() : null);
    }
    this.triePlen = new Int32Array(N_TRIES);
    for (let t = 0; t < N_TRIES; t++) {
      const p = cidrLen(mask, TRIE_WORD[t], TRIE_BITS[t]);
      this.triePlen[t] = Math.max(p, 0);
    }
    this.stride = 2 + ws.length;
    this.nodeData = new Int32Array(8 * this.stride);
  }

  /* The staged hashes of a rule's (already masked) key, filling `out[s]` for each stage. */
  stageHashes(key: Uint32Array, out: Int32Array): number {
    let h = 0;
    let wi = 0;
    for (let s = 0; s < N_STAGES; s++) {
      const end = this.stageEnd[s];
      for (; wi < end; wi++) {
        const w = this.words[wi];
        h = hashAdd(h, key[w] & this.mask[w]);
      }
      out[s] = hashFinish(h, wi);
    }
    return hashFinish(h, this.words.length);
  }

  /** The node holding `key`'s masked key, or -1. */
  findNode(hash: number, key: Uint32Array): number {
    const words = this.words;
    const mask = this.mask;
    const nw = words.length;
    const stride = this.stride;
    const data = this.nodeData;
    let idx = this.heads[hash & (this.heads.length - 1)];
    while (idx !== 0) {
      const n = idx - 1;
      const base = n * stride;
      if (data[base] === hash) {
        let i = 0;
        // `&` yields an int32, as the record stores the words.
        for (; i < nw; i++) {
          const w = words[i];
          if ((key[w] & mask[w]) !== data[base + 2 + i]) break;
        }
        if (i === nw) return n;
      }
      idx = data[base + 1];
    }
    return -1;
  }

  addNode(hash: number, key: Uint32Array, rules: Rule<T>[]): number {
    const nw = this.words.length;
    const stride = this.stride;
    let n = this.freeNodes.pop();
    if (n === undefined) {
      n = this.nodeRules.length;
      this.nodeRules.push(null);
      this.nodeBest.push(null);
      if ((n + 1) * stride > this.nodeData.length) {
        const d = new Int32Array(this.nodeData.length * 2);
        d.set(this.nodeData);
        this.nodeData = d;
      }
    }
    const base = n * stride;
    this.nodeData[base] = hash;
    this.nodeRules[n] = rules;
    this.nodeBest[n] = rules[0] ?? null;
    for (let i = 0; i < nw; i++) this.nodeData[base + 2 + i] = key[this.words[i]];
    this.nNodes++;
    if (this.nNodes > this.heads.length * 0.75) this.rehash(this.heads.length * 2);
    else this.link(n);
    return n;
  }

  /** Call after changing node n's rule list. */
  setBest(n: number): void {
    this.nodeBest[n] = this.nodeRules[n]?.[0] ?? null;
  }

  private link(n: number): void {
    const base = n * this.stride;
    const b = this.nodeData[base] & (this.heads.length - 1);
    this.nodeData[base + 1] = this.heads[b];
    this.heads[b] = n + 1;
  }

  private rehash(size: number): void {
    this.heads = new Int32Array(size);
    for (let n = 0; n < this.nodeRules.length; n++) if (this.nodeRules[n] !== null) this.link(n);
  }

  removeNode(n: number): void {
    const stride = this.stride;
    const data = this.nodeData;
    const b = data[n * stride] & (this.heads.length - 1);
    if (this.heads[b] === n + 1) {
      this.heads[b] = data[n * stride + 1];
    } else {
      let p = this.heads[b] - 1;
      while (p >= 0 && data[p * stride + 1] !== n + 1) p = data[p * stride + 1] - 1;
      if (p >= 0) data[p * stride + 1] = data[n * stride + 1];
    }
    this.nodeRules[n] = null;
    this.nodeBest[n] = null;
    this.freeNodes.push(n);
    this.nNodes--;
  }
}

/** The result of replace(): the new rule and the rule it displaced, if any. */
export interface ReplaceResult<T> {
  rule: ClsRule<T>;
  displaced: ClsRule<T> | null;
}

export class Classifier<T> {
  /* Subtables by maskHash(); a list in case two masks collide. */
  private readonly subtables = new Map<number, Subtable<T>[]>();
  /* Identifies this classifier's subtables (so remove() rejects another's rules). */
  private readonly token = {};
  /** Subtables in descending maxPriority order: the lookup order. */
  private ordered: Subtable<T>[] = [];
  private readonly tries: PrefixTrie[];
  private nRules = 0;
  /** Rules with conjunction actions; while there are none, lookups skip that machinery. */
  private nSoft = 0;
  private readonly softScratch: Array<Rule<T> | null> = [];

  /* Per-lookup scratch, allocated once. */
  /* trieDone[t] === lookupGen when trie t was already walked in this lookup. */
  private readonly trieDone = new Int32Array(N_TRIES);
  private lookupGen = 0;
  private readonly trieCheckBits = new Int32Array(N_TRIES);
  private readonly triePlens: Uint32Array[];
  private readonly scratchStages = new Int32Array(N_STAGES);

  constructor() {
    this.tries = [];
    this.triePlens = [];
    for (let t = 0; t < N_TRIES; t++) {
      this.tries.push(new PrefixTrie(TRIE_WORD[t], TRIE_BITS[t]));
      this.triePlens.push(new Uint32Array(5));
    }
  }

  get count(): number {
    return this.nRules;
  }

  get subtableCount(): number {
    return this.ordered.length;
  }

  isEmpty(): boolean {
    return this.nRules === 0;
  }

  /**
   * Inserts a rule. A rule with an identical match and priority is replaced (and returned as
   * `displaced`), as OVS's classifier_replace() does.
   */
  replace(
    match: Match,
    priority: number,
    data: T,
    conj: readonly Conjunction[] | null = null,
  ): ReplaceResult<T> {
    const mh = maskHash(match.mask);
    let st = this.subtableFor(match.mask, mh);
    if (st === undefined) {
      st = new Subtable<T>(match.mask.slice(0, FLOW_WORDS), mh, this.token);
      markMaskShared(st.mask);
      const list = this.subtables.get(mh);
      if (list === undefined) this.subtables.set(mh, [st]);
      else list.push(st);
      this.ordered.push(st);
    }
    // Rules share their subtable's mask (rule matches are read-only).
    const mask = st.mask;
    // A fresh key is all zeros: only the words the mask touches need writing.
    const key = allocKey();
    const words = st.words;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      key[w] = (match.key[w] & mask[w]) >>> 0;
    }
    const m: Match = { key, mask };
    const rule = new Rule(m, priority, data, conj !== null && conj.length > 0 ? conj : null);
    if (rule.conj !== null) this.nSoft++;
    rule.st = st;
    const hash = st.stageHashes(key, this.scratchStages);
    let node = st.findNode(hash, key);
    let displaced: Rule<T> | null = null;
    if (node < 0) {
      node = st.addNode(hash, key, [rule]);
      for (let s = 0; s < N_STAGES; s++) {
        const idx = st.stageIndex[s];
        if (idx) idx.add(this.scratchStages[s]);
      }
    } else {
      const rules = st.nodeRules[node]!;
      const same = rules.findIndex((r) => r.priority === priority);
      if (same >= 0) {
        displaced = rules[same];
        rules[same] = rule;
        st.setBest(node);
        displaced.st = null;
        if (displaced.conj !== null) this.nSoft--;
        rule.node = node;
        return { rule, displaced };
      }
      let i = 0;
      while (i < rules.length && rules[i].priority >= priority) i++;
      rules.splice(i, 0, rule);
      st.setBest(node);
    }
    rule.node = node;
    st.nRules++;
    this.nRules++;
    st.priorities.set(priority, (st.priorities.get(priority) ?? 0) + 1);
    for (let t = 0; t < N_TRIES; t++) {
      if (st.triePlen[t] > 0) this.tries[t].insert(key, st.triePlen[t]);
    }
    if (priority > st.maxPriority) {
      st.maxPriority = priority;
      this.resort(st);
    }
    return { rule, displaced };
  }

  /** Inserts a rule; see replace(). */
  insert(
    match: Match,
    priority: number,
    data: T,
    conj: readonly Conjunction[] | null = null,
  ): ClsRule<T> {
    return this.replace(match, priority, data, conj).rule;
  }

  /** Removes a rule returned by insert()/replace(). Returns false if it is not here. */
  remove(r: ClsRule<T>): boolean {
    const rule = r as Rule<T>;
    const st = rule.st;
    // Also rejects rules of another classifier.
    if (st === null || st.owner !== this.token) return false;
    rule.st = null;
    if (rule.conj !== null) this.nSoft--;
    const rules = st.nodeRules[rule.node]!;
    rules.splice(rules.indexOf(rule), 1);
    st.setBest(rule.node);
    if (rules.length === 0) {
      st.removeNode(rule.node);
      const stages = this.scratchStages;
      st.stageHashes(rule.match.key, stages);
      for (let s = 0; s < N_STAGES; s++) {
        const idx = st.stageIndex[s];
        if (idx) idx.remove(stages[s]);
      }
    }
    for (let t = 0; t < N_TRIES; t++) {
      if (st.triePlen[t] > 0) this.tries[t].remove(rule.match.key, st.triePlen[t]);
    }
    st.nRules--;
    this.nRules--;
    const pc = (st.priorities.get(rule.priority) ?? 1) - 1;
    if (pc === 0) st.priorities.delete(rule.priority);
    else st.priorities.set(rule.priority, pc);
    if (st.nRules === 0) {
      st.owner = null;
      const list = this.subtables.get(st.maskHash) as Subtable<T>[];
      if (list.length === 1) this.subtables.delete(st.maskHash);
      else list.splice(list.indexOf(st), 1);
      this.ordered.splice(this.ordered.indexOf(st), 1);
    } else if (rule.priority === st.maxPriority && pc === 0) {
      let max = -1;
      for (const p of st.priorities.keys()) if (p > max) max = p;
      st.maxPriority = max;
      this.resort(st);
    }
    return true;
  }

  private subtableFor(mask: Uint32Array, hash: number): Subtable<T> | undefined {
    const list = this.subtables.get(hash);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) if (sameMask(list[i].mask, mask)) return list[i];
    return undefined;
  }

  /* Moves `st` to its place in descending maxPriority order (the rest is already sorted). */
  private resort(st: Subtable<T>): void {
    const a = this.ordered;
    let i = a.indexOf(st);
    while (i > 0 && a[i - 1].maxPriority < st.maxPriority) {
      a[i] = a[i - 1];
      i--;
    }
    while (i < a.length - 1 && a[i + 1].maxPriority > st.maxPriority) {
      a[i] = a[i + 1];
      i++;
    }
    a[i] = st;
  }

  /**
   * Finds the highest-priority rule matching the packet key `key`, or null. When `wc` is
   * given, ORs into it every key bit the answer depended on: any key that agrees with `key`
   * on those bits gets the same answer.
   */
  lookup(key: FlowKey, wc: FlowKey | null = null): ClsRule<T> | null {
    if (wc === null) return this.lookupExact(key, this.nSoft > 0);
    // conj_id is internal to conjunctive matching, not a packet field: keep it out of `wc`.
    const savedWc = wc[W_CONJ_ID];
    const r = this.lookup__(key, wc, this.nSoft > 0);
    wc[W_CONJ_ID] = savedWc;
    return r;
  }

  /*
   * The main loop finds the best "hard" (ordinary) match and, when conjunctions are allowed,
   * collects the "soft" matches (rules with conjunction actions) that beat it; only then does
   * the soft loop below run, as in OVS's classifier_lookup__().
   */
  private lookup__(key: FlowKey, wc: FlowKey | null, allowConj: boolean): Rule<T> | null {
    let hard: Rule<T> | null = null;
    let hardPri = -1;
    let softPri = -1;
    let nSoft = 0;
    const soft = this.softScratch;
    this.lookupGen = (this.lookupGen + 1) | 0;
    const ordered = this.ordered;
    for (let si = 0; si < ordered.length; si++) {
      const st = ordered[si];
      if (st.maxPriority <= hardPri) break;
      if (this.trieSkip(st, key, wc)) continue;

      const words = st.words;
      const mask = st.mask;
      let h = 0;
      let wi = 0;
      let missed = false;
      for (let s = 0; s <= st.lastStage; s++) {
        const end = st.stageEnd[s];
        for (; wi < end; wi++) {
          const w = words[wi];
          h = hashAdd(h, key[w] & mask[w]);
        }
        const idx = st.stageIndex[s];
        if (idx !== null && !idx.has(hashFinish(h, wi))) {
          missed = true;
          break;
        }
      }
      if (wc !== null) {
        // A miss at a stage depends on that stage and the ones before; a full lookup on all.
        for (let i = 0; i < wi; i++) {
          const w = words[i];
          wc[w] = (wc[w] | mask[w]) >>> 0;
        }
      }
      if (missed) continue;
      const node = st.findNode(hashFinish(h, words.length), key);
      if (node >= 0) {
        const r = st.nodeBest[node] as Rule<T>;
        if (r.priority <= hardPri) continue;
        if (r.conj === null) {
          hard = r;
          hardPri = r.priority;
        } else if (allowConj) {
          if (nSoft === soft.length) soft.push(r);
          else soft[nSoft] = r;
          nSoft++;
          if (r.priority > softPri) softPri = r.priority;
        }
      }
    }
    if (hardPri >= softPri) return hard;
    return this.softLoop(key, wc, hard, hardPri, nSoft);
  }

  /*
   * lookup__ without a wildcard output: nothing needs to be learned about which bits mattered,
   * so the staged indexes and prefix tries (which only save work by narrowing `wc` or by
   * skipping a probe the hash table would also miss) are skipped for one full-key probe per
   * subtable, as OVS's classifier does when no wildcards are wanted. Same answer as lookup__.
   */
  private lookupExact(key: FlowKey, allowConj: boolean): Rule<T> | null {
    let hard: Rule<T> | null = null;
    let hardPri = -1;
    let softPri = -1;
    let nSoft = 0;
    const soft = this.softScratch;
    const ordered = this.ordered;
    for (let si = 0; si < ordered.length; si++) {
      const st = ordered[si];
      if (st.maxPriority <= hardPri) break;
      const words = st.words;
      const mask = st.mask;
      const nw = words.length;
      let h = 0;
      for (let i = 0; i < nw; i++) {
        const w = words[i];
        h = hashAdd(h, key[w] & mask[w]);
      }
      const node = st.findNode(hashFinish(h, nw), key);
      if (node < 0) continue;
      const r = st.nodeBest[node] as Rule<T>;
      if (r.priority <= hardPri) continue;
      if (r.conj === null) {
        hard = r;
        hardPri = r.priority;
      } else if (allowConj) {
        if (nSoft === soft.length) soft.push(r);
        else soft[nSoft] = r;
        nSoft++;
        if (r.priority > softPri) softPri = r.priority;
      }
    }
    if (hardPri >= softPri) return hard;
    return this.softLoop(key, null, hard, hardPri, nSoft);
  }

  /* Checks whether the soft matches complete a conjunction that beats the hard match, falling
   * back to lower-priority rules with identical matches, as OVS does. Rare; may allocate. */
  private softLoop(
    key: FlowKey,
    wc: FlowKey | null,
    hard: Rule<T> | null,
    hardPri: number,
    nSoft: number,
  ): Rule<T> | null {
    const soft = this.softScratch.slice(0, nSoft);
    for (;;) {
      for (let i = 0; i < nSoft; ) {
        const s = soft[i];
        if (s === null || s.priority <= hardPri) soft[i] = soft[--nSoft];
        else i++;
      }
      if (nSoft === 0) break;
      let softPri = -1;
      let nSoftPri = 0;
      for (let i = 0; i < nSoft; i++) {
        const p = soft[i]!.priority;
        if (p > softPri) {
          softPri = p;
          nSoftPri = 1;
        } else if (p === softPri) {
          nSoftPri++;
        }
      }
      // Clause bitmaps per conjunction id (bits at or above nClauses start set).
      const seen = new Map<number, bigint>();
      for (let i = 0; i < nSoft; i++) {
        const s = soft[i]!;
        if (s.priority !== softPri || nSoftPri < s.minClauses) continue;
        for (const c of s.conj!) {
          if (c.nClauses > nSoftPri) continue;
          const all = (1n << 64n) - 1n;
          let bits = seen.get(c.id) ?? (all << BigInt(c.nClauses)) & all;
          bits |= 1n << BigInt(c.clause);
          seen.set(c.id, bits);
          if (bits !== all) continue;
          const savedConj = key[W_CONJ_ID];
          key[W_CONJ_ID] = c.id;
          const r = wc === null ? this.lookupExact(key, false) : this.lookup__(key, wc, false);
          key[W_CONJ_ID] = savedConj;
          if (r !== null) return r;
        }
      }
      // No conjunction completed at this priority: look behind each soft match for a
      // lower-priority rule with the identical match.
      for (let i = 0; i < nSoft; i++) {
        const s = soft[i]!;
        if (s.priority !== softPri) continue;
        const list = s.st!.nodeRules[s.node]!;
        const next = list[list.indexOf(s) + 1];
        if (next === undefined) {
          soft[i] = null;
        } else if (next.conj === null) {
          if (next.priority > hardPri) {
            hard = next;
            hardPri = next.priority;
          }
          soft[i] = null;
        } else {
          soft[i] = next;
        }
      }
    }
    return hard;
  }

  /* Whether a prefix trie proves `st` holds no rule for `key`; if so, unwildcards the address
   * bits the proof used. */
  private trieSkip(st: Subtable<T>, key: FlowKey, wc: FlowKey | null): boolean {
    for (let t = 0; t < N_TRIES; t++) {
      const plen = st.triePlen[t];
      if (plen === 0) continue;
      if ((key[W_DL_TYPE] & 0xffff) !== TRIE_DL_TYPE[t]) continue;
      if (this.trieDone[t] !== this.lookupGen) {
        this.trieCheckBits[t] = this.tries[t].lookup(key, this.triePlens[t]);
        this.trieDone[t] = this.lookupGen;
      }
      if (!plenIsSet(this.triePlens[t], plen)) {
        if (wc !== null) {
          wc[W_DL_TYPE] = (wc[W_DL_TYPE] | 0xffff) >>> 0;
          orPrefix(wc, TRIE_WORD[t], this.trieCheckBits[t]);
        }
        return true;
      }
    }
    return false;
  }

  /** The rule with exactly this match and priority (OpenFlow's "strict" lookup). */
  findExactly(match: Match, priority: number): ClsRule<T> | null {
    const st = this.subtableFor(match.mask, maskHash(match.mask));
    if (st === undefined) return null;
    const node = st.findNode(st.stageHashes(match.key, this.scratchStages), match.key);
    if (node < 0) return null;
    for (const r of st.nodeRules[node]!) if (r.priority === priority) return r;
    return null;
  }

  /**
   * All rules, highest-priority subtables first, as a new array (so the caller may change the
   * classifier while going through it). One array rather than a generator per subtable and
   * node: dumps and deletes of every rule go through here.
   */
  rules(): ClsRule<T>[] {
    const out: ClsRule<T>[] = [];
    const ordered = this.ordered;
    for (let si = 0; si < ordered.length; si++) {
      const nodes = ordered[si].nodeRules;
      for (let n = 0; n < nodes.length; n++) {
        const rules = nodes[n];
        if (rules === null) continue;
        for (let i = 0; i < rules.length; i++) out.push(rules[i]);
      }
    }
    return out;
  }

  /** All rules, highest-priority subtables first; rules removed meanwhile are skipped. */
  *[Symbol.iterator](): IterableIterator<ClsRule<T>> {
    for (const r of this.rules()) if ((r as Rule<T>).st !== null) yield r;
  }

  /**
   * Rules at least as specific as `target` that agree with it on its bits (OpenFlow's
   * non-strict flow_mod/flow_stats selection), in rules() order.
   */
  looseRules(target: Match): ClsRule<T>[] {
    // Only the words the target matches on can disqualify a rule.
    const ws: number[] = [];
    for (let i = 0; i < FLOW_WORDS; i++) if (target.mask[i] !== 0) ws.push(i);
    const out: ClsRule<T>[] = [];
    for (const r of this.rules()) {
      const m = r.match;
      let ok = true;
      for (let j = 0; j < ws.length; j++) {
        const i = ws[j];
        const tm = target.mask[i];
        if ((m.mask[i] & tm) >>> 0 !== tm || ((m.key[i] ^ target.key[i]) & tm) !== 0) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(r);
    }
    return out;
  }

  /** looseRules() as an iterator; rules removed meanwhile are skipped. */
  *loose(target: Match): IterableIterator<ClsRule<T>> {
    for (const r of this.looseRules(target)) if ((r as Rule<T>).st !== null) yield r;
  }
}

/* A numeric hash of a whole mask, to find its subtable without building a string id. */
function maskHash(mask: Uint32Array): number {
  // Over the non-zero words and where they are: most of a mask is zero, and skipping those
  // words is cheaper than mixing them in.
  let h = 0;
  let n = 0;
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = mask[i];
    if (m === 0) continue;
    h = hashAdd(hashAdd(h, i), m);
    n++;
  }
  return hashFinish(h, n);
}

function sameMask(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

function orPrefix(wc: FlowKey, w: number, nBits: number): void {
  for (let i = 0; nBits > 0; i++, nBits -= 32) {
    const m = nBits >= 32 ? 0xffffffff : (0xffffffff << (32 - nBits)) >>> 0;
    wc[w + i] = (wc[w + i] | m) >>> 0;
  }
}
