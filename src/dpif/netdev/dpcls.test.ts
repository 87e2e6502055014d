/*
 * The megaflow classifier against a linear oracle (fast-check), and its hit-count ordering.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FLOW_WORDS, W_IN_PORT, W_NW_DST, W_NW_SRC, W_TP } from '../../lib/flow/layout.ts';
import { Dpcls, type DpclsRule } from './dpcls.ts';

class R implements DpclsRule {
  readonly maskedKey: Uint32Array;
  constructor(
    readonly mask: Uint32Array,
    key: Uint32Array,
    readonly id: number,
  ) {
    this.maskedKey = key.map((v, i) => v & mask[i]);
  }
}

const MASKS: Uint32Array[] = [
  [W_IN_PORT],
  [W_IN_PORT, W_NW_SRC],
  [W_NW_SRC, W_NW_DST],
  [W_IN_PORT, W_NW_SRC, W_NW_DST, W_TP],
].map((ws) => {
  const m = new Uint32Array(FLOW_WORDS);
  for (const w of ws) m[w] = w === W_NW_SRC ? 0xffffff00 : 0xffffffff;
  return m;
});

function keyOf(inPort: number, src: number, dst: number, tp: number): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_IN_PORT] = inPort;
  k[W_NW_SRC] = src;
  k[W_NW_DST] = dst;
  k[W_TP] = tp;
  return k;
}

const small = fc.integer({ min: 0, max: 3 });
const keyArb = fc.tuple(small, small, small, small).map(([a, b, c, d]) => keyOf(a, b << 8, c, d));

test('property: lookups find exactly the stored megaflow that matches, through inserts and deletes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: MASKS.length - 1 }), keyArb), { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.array(keyArb, { minLength: 1, maxLength: 30 }),
      (adds, dels, probes) => {
        const cls = new Dpcls<R>();
        cls.sortInterval = 3;
        const live: R[] = [];
        let id = 0;
        for (const [mi, k] of adds) {
          const r = new R(MASKS[mi], k, id++);
          // Megaflows never overlap: skip a rule some live rule already covers or overlaps.
          if (live.some((o) => overlaps(o, r))) continue;
          cls.insert(r);
          live.push(r);
        }
        for (const d of dels) {
          if (live.length === 0) break;
          const [r] = live.splice(d % live.length, 1);
          assert.ok(cls.remove(r));
          assert.ok(!cls.remove(r), 'a second remove finds nothing');
        }
        assert.equal(cls.count, live.length);
        for (const k of probes) {
          const want = live.find((r) => r.maskedKey.every((v, i) => v === (k[i] & r.mask[i])));
          assert.equal(cls.lookup(k), want ?? null);
        }
        assert.equal([...cls.all()].length, live.length);
      },
    ),
    { numRuns: 300 },
  );
});

/* Two megaflows overlap when some key matches both. */
function overlaps(a: R, b: R): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = a.mask[i] & b.mask[i];
    if ((a.maskedKey[i] & m) !== (b.maskedKey[i] & m)) return false;
  }
  return true;
}

test('subtables are re-sorted by hits: the busiest mask is searched first', () => {
  const cls = new Dpcls<R>();
  cls.sortInterval = 1 << 30;
  const rules = MASKS.slice(0, 3).map(
    (m, i) => new R(m, keyOf(i + 10, (i + 10) << 8, i + 10, 0), i),
  );
  for (const r of rules) cls.insert(r);
  const hot = keyOf(12, 12 << 8, 12, 0);
  for (let i = 0; i < 100; i++) assert.equal(cls.lookup(hot), rules[2]);
  const before = cls.subtablesVisited;
  cls.lookup(hot);
  assert.equal(cls.subtablesVisited - before, 3, 'third subtable before re-sorting');
  cls.resort();
  const mid = cls.subtablesVisited;
  cls.lookup(hot);
  assert.equal(cls.subtablesVisited - mid, 1, 'first after re-sorting');
  assert.deepEqual([...cls.subtables[0].mask], [...rules[2].mask]);
});
