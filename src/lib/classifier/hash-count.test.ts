import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HashCount } from './hash-count.ts';

test('HashCount agrees with a Map of counts under random adds and removes', () => {
  fc.assert(
    fc.property(
      // Few distinct hashes that share low bits, so probe chains collide and wrap around.
      fc.array(
        fc.tuple(
          fc.boolean(),
          fc.nat(40).map((x) => (x * 64 + (x % 3)) & 0x3fffffff),
        ),
        {
          maxLength: 300,
        },
      ),
      (ops) => {
        const h = new HashCount(2);
        const m = new Map<number, number>();
        for (const [add, k] of ops) {
          if (add) {
            h.add(k);
            m.set(k, (m.get(k) ?? 0) + 1);
          } else {
            h.remove(k);
            const c = (m.get(k) ?? 0) - 1;
            if (c <= 0) m.delete(k);
            else m.set(k, c);
          }
          for (let x = 0; x < 41; x++) {
            const key = (x * 64 + (x % 3)) & 0x3fffffff;
            assert.equal(h.has(key), m.has(key));
          }
          assert.equal(h.size, m.size);
        }
      },
    ),
    { numRuns: 300 },
  );
});
