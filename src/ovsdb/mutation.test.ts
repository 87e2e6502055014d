import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Json } from '../lib/json.ts';
import { OvsdbError } from './error.ts';
import { compileMutations } from './mutation.ts';
import { parseDatabaseSchema } from './schema.ts';
import type { Datum, TableSchema } from './types.ts';

const T = parseDatabaseSchema({
  name: 'M',
  tables: {
    T: {
      columns: {
        i: { type: 'integer' },
        r: { type: 'real' },
        s: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        m: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        two: { type: { key: 'string', min: 1, max: 2 } },
        lim: { type: { key: { type: 'integer', maxInteger: 10 } } },
      },
    },
  },
}).tables.get('T') as TableSchema;

const base: Datum[] = [
  { keys: [7], values: null },
  { keys: [1.5], values: null },
  { keys: [1, 2], values: null },
  { keys: ['a', 'b'], values: [1, 2] },
  { keys: ['x'], values: null },
  { keys: [3], values: null },
];

function run(muts: Json, fields: Datum[] = base): Datum[] {
  return compileMutations(T, muts)(fields);
}
function fail(muts: Json, fields: Datum[] = base): unknown {
  try {
    run(muts, fields);
  } catch (e) {
    assert.ok(e instanceof OvsdbError);
    return e.toJson();
  }
  return null;
}

describe('mutations', () => {
  it('does arithmetic as C does (truncating division, sign of the dividend)', () => {
    assert.deepEqual(run([['i', '/=', -2]])[0]?.keys, [-3]);
    assert.deepEqual(run([['i', '%=', -4]])[0]?.keys, [3]);
    assert.deepEqual(
      run([
        ['i', '-=', 10],
        ['i', '%=', 4],
      ])[0]?.keys,
      [-3],
    );
    assert.deepEqual(run([['r', '/=', 2]])[1]?.keys, [0.75]);
    assert.deepEqual(run([['s', '*=', 3]])[2]?.keys, [3, 6]);
  });
  it('leaves the input untouched', () => {
    const before = JSON.stringify(base);
    run([
      ['i', '+=', 1],
      ['s', 'insert', 5],
    ]);
    assert.equal(JSON.stringify(base), before);
  });
  it('reports domain and range errors', () => {
    assert.deepEqual(fail([['i', '%=', 0]]), {
      error: 'domain error',
      details: 'Division by zero.',
    });
    assert.deepEqual(fail([['r', '/=', 0]]), {
      error: 'domain error',
      details: 'Division by zero.',
    });
    const big: Datum[] = [...base];
    big[0] = { keys: [2 ** 62], values: null };
    assert.deepEqual(fail([['i', '+=', 2 ** 62]], big), {
      error: 'range error',
      details: 'Result of "+=" operation is out of range.',
    });
    assert.deepEqual(run([['i', '-=', 2 ** 62]], big)[0]?.keys, [0]);
    const huge: Datum[] = [...base];
    huge[1] = { keys: [1e308], values: null };
    assert.deepEqual(fail([['r', '*=', 10]], huge), {
      error: 'range error',
      details: 'Result of "*=" operation is out of range.',
    });
  });
  it('checks constraints after the mutation', () => {
    assert.deepEqual(fail([['lim', '+=', 8]]), {
      error: 'constraint violation',
      details: '11 is greater than maximum allowed value 10',
    });
    assert.deepEqual(fail([['two', 'delete', 'x']]), {
      error: 'constraint violation',
      details: 'Attempted to store 0 elements in set of 1 to 2 strings.',
    });
    assert.deepEqual(fail([['two', 'insert', ['set', ['y', 'z']]]]), {
      error: 'constraint violation',
      details: 'Attempted to store 3 elements in set of 1 to 2 strings.',
    });
  });
  it('deletes from maps by key or by pair', () => {
    assert.deepEqual(run([['m', 'delete', ['set', ['a']]]])[3], { keys: ['b'], values: [2] });
    assert.deepEqual(
      run([
        [
          'm',
          'delete',
          [
            'map',
            [
              ['a', 9],
              ['b', 2],
            ],
          ],
        ],
      ])[3],
      { keys: ['a'], values: [1] },
    );
    assert.deepEqual(
      run([
        [
          'm',
          'insert',
          [
            'map',
            [
              ['a', 9],
              ['c', 3],
            ],
          ],
        ],
      ])[3],
      {
        keys: ['a', 'b', 'c'],
        values: [1, 2, 3],
      },
    );
  });
  it('rejects type mismatches', () => {
    assert.deepEqual(fail([['m', '+=', 1]]), {
      error: 'syntax error',
      details:
        'Type mismatch: "+=" operator may not be applied to column m of type map of (string, integer) pairs.',
      syntax: '["m","+=",1]',
    });
    assert.deepEqual(fail([['i', 'insert', 1]]), {
      error: 'syntax error',
      details: 'Type mismatch: "insert" operator may not be applied to column i of type integer.',
      syntax: '["i","insert",1]',
    });
    assert.deepEqual(fail([['_uuid', 'insert', 1]]), {
      error: 'constraint violation',
      details: 'Cannot mutate immutable column _uuid in table T.',
      syntax: '["_uuid","insert",1]',
    });
  });
});
