/*
 * The exact-match cache (OVS's EMC, dpif-netdev-private-dfc.h): a fixed table of full flow
 * keys, each pointing at the megaflow that covers it. A key may sit in one of two slots
 * (chosen by two segments of its hash); a new entry replaces an empty slot, else the slot
 * whose megaflow is dead, else the one with the smaller hash, as OVS does. Entries are
 * inserted only with probability 1/insertInvProb (other_config:emc-insert-inv-prob, default
 * 100) so that a flood of short flows does not thrash it. Entries for deleted megaflows are
 * ignored (the flow's `dead` flag) and overwritten lazily.
 *
 * Most packets carry no metadata beyond in_port (no recirculation, tunnel, mark or conntrack
 * state): callers say so with `hasMd` = false, and then only in_port and the packet-header
 * words are compared, against entries whose metadata is zero too.
 */

import { FLOW_WORDS, type FlowKey, STAGE_L2 } from '../../lib/flow/layout.ts';

export const EMC_ENTRIES = 8192;
export const EMC_DEFAULT_INSERT_INV_PROB = 100;

export interface EmcFlow {
  dead: boolean;
}

export class Emc<F extends EmcFlow> {
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly keys: Uint32Array;
  private readonly flows: Array<F | null>;
  /** 1 when the entry's key has non-zero metadata words besides in_port. */
  private readonly mdNonZero: Uint8Array;
  /** 0 disables insertion; 1 inserts always. */
  insertInvProb = EMC_DEFAULT_INSERT_INV_PROB;
  private rng = 0x2545f491;

  constructor(entries = EMC_ENTRIES) {
    this.mask = entries - 1;
    this.hashes = new Int32Array(entries);
    this.keys = new Uint32Array(entries * FLOW_WORDS);
    this.flows = new Array<F | null>(entries).fill(null);
    this.mdNonZero = new Uint8Array(entries);
  }

  private keyEquals(slot: number, key: FlowKey, hasMd: boolean): boolean {
    const base = slot * FLOW_WORDS;
    const keys = this.keys;
    if (!hasMd) {
      if (this.mdNonZero[slot] !== 0 || keys[base] !== key[0]) return false;
      for (let i = STAGE_L2; i < FLOW_WORDS; i++) if (keys[base + i] !== key[i]) return false;
      return true;
    }
    for (let i = 0; i < FLOW_WORDS; i++) if (keys[base + i] !== key[i]) return false;
    return true;
  }

  /** `hasMd` false promises that key words [1, STAGE_L2) are all zero. */
  lookup(key: FlowKey, hash: number, hasMd = true): F | null {
    let s = hash & this.mask;
    let f = this.flows[s];
    if (f !== null && this.hashes[s] === hash && !f.dead && this.keyEquals(s, key, hasMd)) return f;
    s = (hash >>> 13) & this.mask;
    f = this.flows[s];
    if (f !== null && this.hashes[s] === hash && !f.dead && this.keyEquals(s, key, hasMd)) return f;
    return null;
  }

  /** Maybe inserts (key -> flow), honouring the insertion probability. */
  probabilisticInsert(key: FlowKey, hash: number, flow: F): void {
    const inv = this.insertInvProb;
    if (inv === 0) return;
    if (inv > 1) {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x;
      if ((x >>> 0) % inv !== 0) return;
    }
    this.insert(key, hash, flow);
  }

  insert(key: FlowKey, hash: number, flow: F): void {
    const a = hash & this.mask;
    const b = (hash >>> 13) & this.mask;
    let s: number;
    const fa = this.flows[a];
    const fb = this.flows[b];
    if (fa !== null && this.hashes[a] === hash && this.keyEquals(a, key, true)) s = a;
    else if (fb !== null && this.hashes[b] === hash && this.keyEquals(b, key, true)) s = b;
    else if (fa === null || fa.dead) s = a;
    else if (fb === null || fb.dead) s = b;
    else s = this.hashes[a] > this.hashes[b] ? b : a;
    this.hashes[s] = hash;
    this.flows[s] = flow;
    this.keys.set(key, s * FLOW_WORDS);
    let md = 0;
    for (let i = 1; i < STAGE_L2; i++) if (key[i] !== 0) md = 1;
    this.mdNonZero[s] = md;
  }

  clear(): void {
    this.flows.fill(null);
  }
}
