/**
 * Transactions compared with real ovsdb-server 3.1 (/usr/sbin/ovsdb-server): the same
 * sequence of transactions runs on a real server (over its unix socket) and on our Database;
 * the replies must be equal once UUIDs are normalised. Real OVS is required: if it is
 * missing, the test fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../lib/json.ts';
import { Database, type TxnContext } from './database.ts';
import { parseDatabaseSchema } from './schema.ts';
import { TXN_CASES as CASES, RealOvsdb, TEST_SCHEMA, UuidNormalizer } from './txn-fixtures.ts';

const ctx: TxnContext = { now: () => Date.now(), hasLock: () => false };

describe('transactions against real ovsdb-server 3.1', () => {
  let real: RealOvsdb;
  const realReplies: Json[] = [];
  const ourReplies: Json[] = [];

  before(async () => {
    real = await RealOvsdb.start(TEST_SCHEMA);
    const db = new Database(parseDatabaseSchema(TEST_SCHEMA));
    const nReal = new UuidNormalizer();
    const nOurs = new UuidNormalizer();
    for (const c of CASES) {
      const r = await real.transact(c.ops);
      nReal.learnInserts(r);
      realReplies.push(nReal.normalize(r));
      const o = db.execute(c.ops, ctx);
      const results = o.status === 'blocked' ? { blocked: true } : o.results;
      nOurs.learnInserts(results);
      ourReplies.push(nOurs.normalize(results));
    }
  });

  after(async () => {
    await real?.stop();
  });

  CASES.forEach((c, i) => {
    it(c.name, () => {
      assert.deepEqual(ourReplies[i], realReplies[i]);
    });
  });
});

/* ---------- random transactions, differential against real OVS ---------- */

const nameArb = fc.constantFrom('n1', 'n2', 'n3', 'n4');
const childArb = fc.constantFrom('c1', 'c2', 'c3');

/** One random transaction over TEST_SCHEMA that only names rows by uuid-name or by value. */
const txnArb: fc.Arbitrary<Json[]> = fc
  .array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 5 })
  .chain((kinds) =>
    fc.tuple(
      ...kinds.map((k, idx): fc.Arbitrary<Json> => {
        // Only name rows that an earlier operation of this transaction inserts.
        const earlier = (p: string, kind: number) =>
          kinds.flatMap((kk, j) => (j < idx && kk === kind ? [`${p}${j}`] : []));
        switch (k) {
          case 0:
            return fc.record({ name: childArb, sub: fc.boolean() }).map(({ name, sub }): Json => {
              const subs = earlier('c', 0);
              const row: { [k: string]: Json } = { name };
              if (sub && subs.length) row.sub = ['named-uuid', subs[subs.length - 1] as string];
              return { op: 'insert', table: 'Child', 'uuid-name': `c${idx}`, row };
            });
          case 1:
            return fc
              .record({ k: fc.integer({ min: 0, max: 3 }), s: fc.constantFrom('a', 'b') })
              .map((row) => ({
                op: 'insert',
                table: 'Other',
                'uuid-name': `o${idx}`,
                row,
              }));
          case 2:
            return fc
              .record({ name: nameArb, i: fc.integer({ min: -5, max: 5 }) })
              .map(({ name, i }) => ({
                op: 'insert',
                table: 'Root',
                row: {
                  name,
                  i,
                  kids: ['set', earlier('c', 0).map((c) => ['named-uuid', c])],
                  weak: ['set', earlier('o', 1).map((o) => ['named-uuid', o])],
                },
              }));
          case 3:
            return fc
              .record({ name: nameArb, d: fc.integer({ min: -3, max: 3 }) })
              .map(({ name, d }) => ({
                op: 'mutate',
                table: 'Root',
                where: [['name', '==', name]],
                mutations: [
                  ['i', '+=', d],
                  ['iset', 'insert', d],
                ],
              }));
          case 4:
            return nameArb.map((name) => ({
              op: 'update',
              table: 'Root',
              where: [['name', '==', name]],
              row: { kids: ['set', []] },
            }));
          case 5:
            return fc
              .integer({ min: 0, max: 3 })
              .map((k) => ({ op: 'delete', table: 'Other', where: [['k', '==', k]] }));
          case 6:
            return nameArb.map((name) => ({
              op: 'delete',
              table: 'Root',
              where: [['name', '==', name]],
            }));
          case 7:
            return childArb.map((name) => ({
              op: 'delete',
              table: 'Child',
              where: [['name', '==', name]],
            }));
          case 8:
            return fc.constantFrom('Child', 'Other').map((table) => ({
              op: 'select',
              table,
              where: [],
              columns: table === 'Child' ? ['name'] : ['k', 's'],
            }));
          case 9:
            return fc.constant({
              op: 'select',
              table: 'Root',
              where: [],
              columns: ['name', 'i', 'iset', 'weak'],
            });
          case 10: {
            const others = earlier('o', 1);
            const row: Json = others.length ? { w: ['named-uuid', others[0] as string] } : {};
            return fc.constant<Json>({ op: 'insert', table: 'WeakOne', row });
          }
          default:
            return fc.constant({ op: 'select', table: 'WeakOne', where: [], columns: [] });
        }
      }),
    ),
  );

/**
 * When a transaction breaks several constraints, which one OVS reports depends on its hash
 * order of rows (random UUIDs); the exact messages are checked by the fixed table above.
 */
function tagsOnly(results: Json): Json {
  if (!Array.isArray(results)) return results;
  return results.map((r) =>
    r && typeof r === 'object' && !Array.isArray(r) && 'error' in r
      ? { error: r.error as Json }
      : r,
  );
}

describe('random transactions against real ovsdb-server 3.1', () => {
  it('gives the same replies for 150 random transactions', async () => {
    const txns = fc.sample(txnArb, { numRuns: 150, seed: 7047 });
    const real = await RealOvsdb.start(TEST_SCHEMA);
    try {
      const db = new Database(parseDatabaseSchema(TEST_SCHEMA));
      const nReal = new UuidNormalizer();
      const nOurs = new UuidNormalizer();
      for (const ops of txns) {
        const r = await real.transact(ops);
        nReal.learnInserts(r);
        const o = db.execute(ops, ctx);
        const results = o.status === 'blocked' ? { blocked: true } : o.results;
        nOurs.learnInserts(results);
        assert.deepEqual(
          tagsOnly(nOurs.normalize(results)),
          tagsOnly(nReal.normalize(r)),
          JSON.stringify(ops),
        );
      }
    } finally {
      await real.stop();
    }
  });
});
