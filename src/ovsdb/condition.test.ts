import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../lib/json.ts';
import { compileCondition, compileWhere, emptyOrMatchesAny } from './condition.ts';
import type { OvsdbError } from './error.ts';
import { parseDatabaseSchema } from './schema.ts';
import type { Datum, Row, TableSchema } from './types.ts';

const schema = parseDatabaseSchema({
  name: 'C',
  tables: {
    T: {
      columns: {
        i: { type: 'integer' },
        o: { type: { key: 'integer', min: 0, max: 1 } },
        s: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        m: { type: { key: 'integer', value: 'integer', min: 0, max: 'unlimited' } },
        name: { type: 'string' },
      },
    },
  },
});
const T = schema.tables.get('T') as TableSchema;

function row(i: number, o: number[], s: number[], m: [number, number][], name = 'x'): Row {
  const sorted = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
  const mm = [...new Map(m)].sort((a, b) => a[0] - b[0]);
  const fields: Datum[] = [
    { keys: [i], values: null },
    { keys: sorted(o).slice(0, 1), values: null },
    { keys: sorted(s), values: null },
    { keys: mm.map((p) => p[0]), values: mm.map((p) => p[1]) },
    { keys: [name], values: null },
  ];
  return {
    uuid: '00000000-0000-0000-0000-000000000001',
    version: '00000000-0000-0000-0000-000000000002',
    fields,
  };
}

describe('conditions', () => {
  const r = row(5, [], [1, 2, 3], [[1, 10]]);
  it('evaluates every function', () => {
    const ok = (w: Json) => compileWhere(T, w)(r);
    assert.equal(
      ok([
        ['i', '<', 6],
        ['i', '<=', 5],
        ['i', '>', 4],
        ['i', '>=', 5],
        ['i', '==', 5],
        ['i', '!=', 4],
      ]),
      true,
    );
    assert.equal(
      ok([
        ['i', 'includes', 5],
        ['i', 'excludes', 4],
      ]),
      true,
    );
    assert.equal(ok([['o', '<', 100]]), false, 'ordering on an empty optional is false');
    assert.equal(ok([['o', '==', ['set', []]]]), true);
    assert.equal(
      ok([
        ['s', 'includes', ['set', [1, 3]]],
        ['s', 'excludes', ['set', [4, 5]]],
      ]),
      true,
    );
    assert.equal(ok([['s', '==', ['set', [1, 2, 3]]]]), true);
    assert.equal(ok([['m', 'includes', ['map', [[1, 10]]]]]), true);
    assert.equal(ok([['m', 'includes', ['map', [[1, 11]]]]]), false);
    assert.equal(ok([['m', 'excludes', ['map', [[1, 11]]]]]), true);
    assert.equal(ok([['_uuid', '==', ['uuid', '00000000-0000-0000-0000-000000000001']]]), true);
    assert.equal(ok([['_version', '!=', ['uuid', '00000000-0000-0000-0000-000000000002']]]), false);
    assert.equal(ok([true]), true);
    assert.equal(ok([false]), false);
    assert.equal(ok([]), true);
  });
  it('exposes a _uuid equality for direct lookup', () => {
    const c = compileCondition(T, [
      ['i', '==', 1],
      ['_uuid', '==', ['uuid', '00000000-0000-0000-0000-0000000000ff']],
    ]);
    assert.equal(c.uuidEquals, '00000000-0000-0000-0000-0000000000ff');
  });
  it('matches any clause for monitors, empty meaning all', () => {
    assert.equal(emptyOrMatchesAny(compileCondition(T, []), r), true);
    assert.equal(emptyOrMatchesAny(compileCondition(T, [false, ['i', '==', 5]]), r), true);
    assert.equal(emptyOrMatchesAny(compileCondition(T, [false]), r), false);
  });
  it('reports errors with OVS tags', () => {
    const err = (w: Json) => {
      try {
        compileWhere(T, w);
      } catch (e) {
        return (e as OvsdbError).toJson();
      }
      return null;
    };
    assert.deepEqual(err([['nope', '==', 1]]), {
      error: 'unknown column',
      details: 'No column nope in table T.',
      syntax: '["nope","==",1]',
    });
    assert.deepEqual(err([['i', 'like', 1]]), {
      error: 'unknown function',
      details: 'No function named like.',
    });
    assert.deepEqual(err([['name', '<', 'a']]), {
      error: 'syntax error',
      details: 'Type mismatch: "<" operator may not be applied to column name of type string.',
      syntax: '["name","<","a"]',
    });
    assert.deepEqual(err([['i']]), {
      error: 'syntax error',
      details: 'Parse error in condition.',
      syntax: '["i"]',
    });
    assert.ok(err([['i', '==', ['set', []]]]) !== null, 'a scalar column needs exactly one value');
  });
});

/* A deliberately naive oracle of RFC 7047 §5.1 on integer sets. */
function oracle(field: number[], fn: string, arg: number[], scalarLike: boolean): boolean {
  const has = (xs: number[], x: number) => xs.includes(x);
  if (['<', '<=', '>', '>='].includes(fn)) {
    if (field.length === 0) return false;
    const [a, b] = [field[0] as number, arg[0] as number];
    return fn === '<' ? a < b : fn === '<=' ? a <= b : fn === '>' ? a > b : a >= b;
  }
  const eq = field.length === arg.length && field.every((x) => has(arg, x));
  if (fn === '==') return eq;
  if (fn === '!=') return !eq;
  if (fn === 'includes')
    return scalarLike && field.length === 1 && arg.length === 1
      ? eq
      : arg.every((x) => has(field, x));
  return scalarLike && field.length === 1 && arg.length === 1
    ? !eq
    : arg.every((x) => !has(field, x));
}

describe('condition oracle', () => {
  it('agrees with a naive evaluator', () => {
    const small = fc.integer({ min: 0, max: 4 });
    fc.assert(
      fc.property(
        fc.constantFrom('o', 's'),
        fc.constantFrom('<', '<=', '>', '>=', '==', '!=', 'includes', 'excludes'),
        fc.uniqueArray(small, { maxLength: 4 }),
        fc.uniqueArray(small, { maxLength: 4 }),
        (colName, fn, fieldVals, argVals) => {
          const ordering = ['<', '<=', '>', '>='].includes(fn);
          if (ordering && colName === 's') return;
          let field = fieldVals;
          let arg = argVals;
          if (colName === 'o') {
            field = field.slice(0, 1);
            arg = arg.slice(0, ordering || fn === '==' || fn === '!=' ? 1 : 1);
            if (ordering && arg.length === 0) return;
          }
          const r = row(0, colName === 'o' ? field : [], colName === 's' ? field : [], []);
          const got = compileWhere(T, [[colName, fn, ['set', arg]]])(r);
          const sortedField = [...field].sort((a, b) => a - b);
          assert.equal(got, oracle(sortedField, fn, arg, colName === 'o'));
        },
      ),
    );
  });
});
