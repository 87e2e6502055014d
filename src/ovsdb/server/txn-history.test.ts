import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Changes, RowChange } from '../types.ts';
import { TxnHistory, ZERO_TXN_ID } from './txn-history.ts';

/** A commit touching `n` rows of table T, each row named after the commit. */
function commit(id: number, n: number): Changes {
  const rows = new Map<string, RowChange>();
  for (let i = 0; i < n; i++) {
    rows.set(`row-${id}-${i}`, {
      old: null,
      new: { uuid: `row-${id}-${i}`, version: 'v', fields: [] },
    });
  }
  return new Map([['T', rows]]);
}

const txnId = (i: number): string => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;

/**
 * The history's rule, written plainly: keep the newest entries, at most `max`, and drop the
 * oldest while their rows add up to more than the database holds (keeping one at least).
 */
function model(max: number, adds: { size: number; dbRows: number }[]): number[] {
  let kept: { i: number; size: number }[] = [];
  adds.forEach(({ size, dbRows }, i) => {
    kept.push({ i, size });
    let total = kept.reduce((a, e) => a + e.size, 0);
    while (kept.length > 1 && (kept.length > max || (dbRows > 0 && total > dbRows))) {
      total -= (kept[0] as { size: number }).size;
      kept = kept.slice(1);
    }
  });
  return kept.map((e) => e.i);
}

test('the history keeps what the plain rule keeps, and answers changesAfter from it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 6 }),
      fc.array(
        fc.record({
          size: fc.integer({ min: 0, max: 4 }),
          dbRows: fc.integer({ min: 0, max: 12 }),
        }),
        {
          maxLength: 40,
        },
      ),
      (max, adds) => {
        const h = new TxnHistory(max);
        adds.forEach(({ size, dbRows }, i) => {
          h.add(txnId(i), commit(i, size), dbRows);
        });
        const kept = model(max, adds);
        for (let i = 0; i < adds.length; i++) {
          const got = h.changesAfter(txnId(i));
          if (i === adds.length - 1) {
            assert.deepEqual(got, new Map());
          } else if (!kept.includes(i)) {
            assert.equal(got, null, `txn ${i} should be forgotten`);
          } else {
            // Every row of every later commit, and nothing else.
            const later = adds.slice(i + 1).reduce((a, e) => a + e.size, 0);
            const rows = got?.get('T');
            assert.equal(rows?.size ?? 0, later);
          }
        }
        assert.equal(h.lastTxnId, adds.length ? txnId(adds.length - 1) : ZERO_TXN_ID);
      },
    ),
  );
});

test('reset forgets every transaction', () => {
  const h = new TxnHistory();
  h.add(txnId(1), commit(1, 1));
  h.add(txnId(2), commit(2, 1));
  h.reset();
  assert.equal(h.lastTxnId, ZERO_TXN_ID);
  assert.equal(h.changesAfter(txnId(1)), null);
});
