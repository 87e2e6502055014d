import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Json } from '../lib/json.ts';
import { Database, type TxnContext, type TxnOutcome } from './database.ts';
import { parseDatabaseSchema } from './schema.ts';
import { TEST_SCHEMA } from './txn-fixtures.ts';
import type { Changes } from './types.ts';

function counterUuids(): () => string {
  let n = 0;
  return () => `00000000-0000-0000-0000-${(++n).toString(16).padStart(12, '0')}`;
}
const ctx: TxnContext = { now: () => 1000, hasLock: () => false };
const schema = parseDatabaseSchema(TEST_SCHEMA);

function committed(o: TxnOutcome): Extract<TxnOutcome, { status: 'committed' }> {
  assert.equal(o.status, 'committed', JSON.stringify(o));
  return o as Extract<TxnOutcome, { status: 'committed' }>;
}

describe('Database', () => {
  it('uses the injected UUID generator and tells listeners about each commit', () => {
    const db = new Database(schema, { newUuid: counterUuids() });
    const seen: [Changes, string][] = [];
    const off = db.onCommit((c, id) => seen.push([c, id]));
    const o = committed(db.execute([{ op: 'insert', table: 'Root', row: { name: 'a' } }], ctx));
    assert.deepEqual(o.results, [{ uuid: ['uuid', '00000000-0000-0000-0000-000000000001'] }]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.[1], o.txnId);
    const ch = seen[0]?.[0].get('Root')?.get('00000000-0000-0000-0000-000000000001');
    assert.equal(ch?.old, null);
    assert.equal(ch?.new?.fields[0]?.keys[0], 'a');
    // A transaction that changes nothing commits without a listener call.
    const o2 = committed(db.execute([{ op: 'select', table: 'Root', where: [] }], ctx));
    assert.equal(o2.changes.size, 0);
    assert.equal(o2.txnId, o.txnId);
    assert.equal(seen.length, 1);
    off();
    db.execute([{ op: 'insert', table: 'Root', row: { name: 'b' } }], ctx);
    assert.equal(seen.length, 1);
  });

  it('changes nothing when a transaction fails', () => {
    const db = new Database(schema);
    db.execute(
      [{ op: 'insert', table: 'Root', row: { name: 'a', i: 1, iset: ['set', [1, 2]] } }],
      ctx,
    );
    const before = db.snapshot();
    const o = db.execute(
      [
        { op: 'mutate', table: 'Root', where: [], mutations: [['i', '+=', 1]] },
        { op: 'insert', table: 'Root', row: { name: 'b' } },
        { op: 'mutate', table: 'Root', where: [], mutations: [['iset', '*=', 0]] },
      ],
      ctx,
    );
    assert.equal(o.status, 'aborted');
    assert.deepEqual(db.snapshot(), before);
    const row = [...db.rows('Root')][0];
    assert.equal(row?.fields[1]?.keys[0], 1);
  });

  it('gives a row a new _version only when it changes', () => {
    const db = new Database(schema);
    db.execute([{ op: 'insert', table: 'Root', row: { name: 'a' } }], ctx);
    const v0 = [...db.rows('Root')][0]?.version;
    db.execute([{ op: 'update', table: 'Root', where: [], row: { name: 'a' } }], ctx);
    assert.equal([...db.rows('Root')][0]?.version, v0);
    db.execute([{ op: 'update', table: 'Root', where: [], row: { i: 3 } }], ctx);
    assert.notEqual([...db.rows('Root')][0]?.version, v0);
  });

  it('blocks a wait until its condition holds, then times out from the request start', () => {
    const db = new Database(schema);
    const wait: Json = {
      op: 'wait',
      table: 'Root',
      timeout: 500,
      where: [],
      columns: ['name'],
      until: '==',
      rows: [{ name: 'x' }],
    };
    const blocked = db.execute([wait], { now: () => 1000, hasLock: () => false, created: 1000 });
    assert.deepEqual(blocked, { status: 'blocked', until: 1500 });
    const late = db.execute([wait], { now: () => 1600, hasLock: () => false, created: 1000 });
    assert.equal(late.status, 'aborted');
    assert.deepEqual((late as { results: Json[] }).results, [
      { error: 'timed out', details: '"wait" timed out after 600 ms' },
    ]);
    db.execute([{ op: 'insert', table: 'Root', row: { name: 'x' } }], ctx);
    committed(db.execute([wait], { now: () => 1100, hasLock: () => false, created: 1000 }));
    const { timeout: _timeout, ...noTimeout } = wait as { [k: string]: Json };
    const forever = db.execute([{ ...noTimeout, until: '!=' }], ctx);
    assert.deepEqual(forever, { status: 'blocked', until: Number.POSITIVE_INFINITY });
  });

  it('checks lock ownership in assert', () => {
    const db = new Database(schema);
    committed(
      db.execute([{ op: 'assert', lock: 'l' }], { now: () => 0, hasLock: (n) => n === 'l' }),
    );
    const o = db.execute([{ op: 'assert', lock: 'l' }], ctx);
    assert.deepEqual((o as { results: Json[] }).results, [
      { error: 'not owner', details: 'Asserted lock l not held.' },
    ]);
  });

  it('reports durable and comment', () => {
    const db = new Database(schema);
    const o = committed(
      db.execute(
        [
          { op: 'insert', table: 'Root', row: { name: 'a' } },
          { op: 'comment', comment: 'one' },
          { op: 'comment', comment: 'two' },
          { op: 'commit', durable: true },
        ],
        ctx,
      ),
    );
    assert.equal(o.durable, true);
    assert.equal(o.comment, 'one\ntwo');
  });

  it('refuses writes to a reserved database', () => {
    const db = new Database(
      parseDatabaseSchema({
        name: '_Server',
        tables: { D: { columns: { n: { type: 'string' } } } },
      }),
    );
    const o = db.execute([{ op: 'insert', table: 'D', row: {} }], ctx);
    assert.deepEqual((o as { results: Json[] }).results, [
      {
        error: 'not allowed',
        details: 'insert operation not allowed on table in reserved database _Server',
      },
    ]);
    committed(db.execute([{ op: 'select', table: 'D', where: [] }], ctx));
  });

  it('rebuilds reference counts and weak references when replaying storage', () => {
    const src = new Database(schema, { newUuid: counterUuids() });
    const log: Changes[] = [];
    src.onCommit((c) => log.push(c));
    src.execute(
      [
        { op: 'insert', table: 'Child', row: { name: 'c' }, 'uuid-name': 'c' },
        { op: 'insert', table: 'Other', row: { k: 1 }, 'uuid-name': 'o' },
        {
          op: 'insert',
          table: 'Root',
          row: { name: 'r', kids: ['named-uuid', 'c'], weak: ['named-uuid', 'o'] },
        },
      ],
      ctx,
    );
    const db = new Database(schema);
    for (const c of log) db.replay(c);
    const del = db.execute([{ op: 'delete', table: 'Child', where: [] }], ctx);
    assert.equal(del.status, 'aborted');
    assert.match(
      JSON.stringify(del),
      /cannot delete Child row .* because of 1 remaining reference/,
    );
    committed(db.execute([{ op: 'delete', table: 'Other', where: [] }], ctx));
    const root = [...db.rows('Root')][0];
    const weakIdx = schema.tables.get('Root')?.columns.get('weak')?.index as number;
    assert.deepEqual(root?.fields[weakIdx]?.keys, []);
    // loadRows does the same bookkeeping.
    const db2 = new Database(schema);
    for (const t of ['Child', 'Other', 'Root']) db2.loadRows(t, src.rows(t));
    assert.equal(db2.execute([{ op: 'delete', table: 'Child', where: [] }], ctx).status, 'aborted');
  });

  it('keeps every row and mutation through thousands of small transactions', () => {
    const db = new Database(schema);
    const n = 5000;
    for (let i = 0; i < n; i++) {
      committed(db.execute([{ op: 'insert', table: 'Root', row: { name: `r${i}`, i } }], ctx));
    }
    for (let i = 0; i < n; i++) {
      committed(
        db.execute(
          [
            {
              op: 'mutate',
              table: 'Root',
              where: [['name', '==', `r${i}`]],
              mutations: [['i', '+=', 1]],
            },
          ],
          ctx,
        ),
      );
      if (i >= 200) break; // full scans: keep this part short
    }
    assert.equal(db.rowCount(), n);
    const rows = [...db.rows('Root')];
    const iIdx = schema.tables.get('Root')?.columns.get('i')?.index as number;
    const nameIdx = schema.tables.get('Root')?.columns.get('name')?.index as number;
    // Rows r0..r200 were each mutated once (+1); the rest keep their inserted value.
    for (const [k, want] of [
      ['r0', 1],
      ['r200', 201],
      ['r201', 201],
      ['r4999', 4999],
    ] as const) {
      const row = rows.find((r) => r.fields[nameIdx]?.keys[0] === k);
      assert.equal(row?.fields[iIdx]?.keys[0], want, k);
    }
  });
});
