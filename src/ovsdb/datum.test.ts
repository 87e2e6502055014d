import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../lib/json.ts';
import { atomToString, compareAtoms, SymbolTable } from './atom.ts';
import {
  datumApplyDiff,
  datumDiff,
  datumFromJson,
  datumFromString,
  datumSubtract,
  datumToJson,
  datumToString,
  datumUnion,
  defaultDatum,
  typeToEnglish,
} from './datum.ts';
import { compareStrings, formatReal, jsonToOvsString, OvsdbError } from './error.ts';
import type { Atom, AtomicType, BaseType, Datum, OvsdbType } from './types.ts';

const INF = Number.POSITIVE_INFINITY;
const setOf = (t: AtomicType, min = 0, max = INF): OvsdbType => ({
  key: { type: t },
  value: null,
  min,
  max,
});
const mapOf = (k: AtomicType, v: AtomicType, min = 0, max = INF): OvsdbType => ({
  key: { type: k },
  value: { type: v },
  min,
  max,
});
const scalar = (t: AtomicType): OvsdbType => setOf(t, 1, 1);

describe('string syntax (golden: real ovsdb-client 3.1 "dump --format=list")', () => {
  // Captured from `ovsdb-client dump --format=list` after inserting these values into real
  // ovsdb-server 3.1.
  it('quotes strings as OVS does', () => {
    const d = datumFromJson(setOf('string'), [
      'set',
      [
        'true',
        'x-y.z',
        '',
        '9a',
        '_ok',
        'with"quote',
        'tab\there',
        '12345678-1234-1234-1234-123456789abc',
        'ünï',
      ],
    ]);
    assert.equal(
      datumToString(setOf('string'), d),
      '["", "12345678-1234-1234-1234-123456789abc", "9a", _ok, "tab\\there", "true", "with\\"quote", x-y.z, "ünï"]',
    );
  });
  it('prints reals with %.15g', () => {
    const d = datumFromJson(setOf('real'), [
      'set',
      [0.1, 1e20, 1e-5, 2.5, 100, 1.5e15, 1.2345678901234568e17],
    ]);
    assert.equal(
      datumToString(setOf('real'), d),
      '[1e-05, 0.1, 2.5, 100, 1.5e+15, 1.23456789012346e+17, 1e+20]',
    );
    assert.equal(formatReal(1e300), '1e+300');
  });
  it('prints maps, sets, scalars and empties', () => {
    const m = mapOf('string', 'string');
    assert.equal(
      datumToString(
        m,
        datumFromJson(m, [
          'map',
          [
            ['k', 'v'],
            ['a=b', 'c,d'],
          ],
        ]),
      ),
      '{"a=b"="c,d", k=v}',
    );
    assert.equal(
      datumToString(setOf('integer'), datumFromJson(setOf('integer'), ['set', [3, -5]])),
      '[-5, 3]',
    );
    assert.equal(
      datumToString(setOf('integer', 0, 1), datumFromJson(setOf('integer', 0, 1), 3)),
      '3',
    );
    assert.equal(
      datumToString(setOf('integer', 0, 1), datumFromJson(setOf('integer', 0, 1), ['set', []])),
      '[]',
    );
    assert.equal(datumToString(m, datumFromJson(m, ['map', []])), '{}');
    assert.equal(datumToString(scalar('string'), defaultDatum(scalar('string'))), '""');
    assert.equal(
      datumToString(scalar('uuid'), defaultDatum(scalar('uuid'))),
      '00000000-0000-0000-0000-000000000000',
    );
  });
  it('parses the string syntax', () => {
    assert.deepEqual(datumFromString(setOf('integer'), '[3, 1,2]').keys, [1, 2, 3]);
    assert.deepEqual(datumFromString(setOf('integer'), '1-3 7').keys, [1, 2, 3, 7]);
    const m = mapOf('string', 'string');
    const d = datumFromString(m, '{"a=b"="c,d", k=v}');
    assert.deepEqual(d, { keys: ['a=b', 'k'], values: ['c,d', 'v'] });
    assert.deepEqual(datumFromString(scalar('boolean'), 'yes').keys, [true]);
    assert.deepEqual(datumFromString(scalar('string'), '"tab\\there"').keys, ['tab\there']);
  });
  it('reports string syntax errors with OVS messages', () => {
    const msg = (t: OvsdbType, s: string) => {
      try {
        datumFromString(t, s);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    assert.equal(msg(setOf('integer'), ''), 'use "[]" to specify the empty set');
    assert.equal(msg(mapOf('string', 'string'), ''), 'use "{}" to specify the empty map');
    assert.equal(msg(scalar('integer'), 'x'), '"x" is not a valid integer or range');
    assert.equal(
      msg(scalar('boolean'), 'maybe'),
      '"maybe" is not a valid boolean (use "true" or "false")',
    );
    assert.equal(
      msg(setOf('integer', 0, 2), '1 2 3'),
      '1 2 3: 3 value(s) specified but the maximum number is 2',
    );
    assert.equal(msg(setOf('integer'), '1 1'), '1 1: set contains duplicate value');
    assert.equal(msg(mapOf('string', 'string'), '{a}'), 'a}: syntax error at "}" expecting "="');
    assert.equal(msg(setOf('string'), '[a'), '[a: missing "]" at end of data');
    assert.equal(msg(setOf('string'), '[a] b'), '[a] b: trailing garbage after "]"');
    const e: BaseType = { type: 'string', enum: ['a', 'b'] };
    assert.equal(
      msg({ key: e, value: null, min: 1, max: 1 }, 'c'),
      'constraint violation: c is not one of the allowed values ([a, b])',
    );
  });
});

describe('JSON form (as OVS prints it)', () => {
  it('prints one-element sets bare, empty sets and maps wrapped', () => {
    assert.deepEqual(datumToJson(setOf('integer'), { keys: [1], values: null }), 1);
    assert.deepEqual(datumToJson(setOf('integer'), { keys: [], values: null }), ['set', []]);
    assert.deepEqual(
      datumToJson(setOf('uuid'), { keys: ['00000000-0000-0000-0000-000000000001'], values: null }),
      ['uuid', '00000000-0000-0000-0000-000000000001'],
    );
    assert.deepEqual(datumToJson(mapOf('string', 'integer'), { keys: ['a'], values: [1] }), [
      'map',
      [['a', 1]],
    ]);
  });
  it('rejects what OVS rejects', () => {
    const err = (t: OvsdbType, j: Json) => {
      try {
        datumFromJson(t, j);
      } catch (e) {
        return (e as OvsdbError).toJson();
      }
      return null;
    };
    assert.deepEqual(err(setOf('integer', 0, 2), ['set', [1, 2, 3]]), {
      error: 'syntax error',
      details: 'set must have 0 to 2 members but 3 are present',
      syntax: '["set",[1,2,3]]',
    });
    assert.deepEqual(err(mapOf('string', 'string'), 'x'), {
      error: 'syntax error',
      details: 'expected ["map", <array>]',
      syntax: '"x"',
    });
    assert.deepEqual(err(setOf('integer'), ['set', [1, 1]]), {
      error: 'ovsdb error',
      details: 'set contains duplicate',
    });
    assert.deepEqual(err(scalar('integer'), 1.5), {
      error: 'syntax error',
      details: 'expected integer',
      syntax: '1.5',
    });
  });
  it('resolves named uuids through the symbol table', () => {
    const st = new SymbolTable(() => '00000000-0000-0000-0000-0000000000aa');
    const t: OvsdbType = { key: { type: 'uuid', refTable: 'X' }, value: null, min: 0, max: INF };
    const d = datumFromJson(t, ['named-uuid', 'row1'], st);
    assert.deepEqual(d.keys, ['00000000-0000-0000-0000-0000000000aa']);
    assert.equal(st.get('row1')?.strongRef, true);
  });
  it('describes types in English as OVS does', () => {
    assert.equal(
      typeToEnglish(mapOf('integer', 'string', 0, 2)),
      'map of up to 2 (integer, string) pairs',
    );
    assert.equal(typeToEnglish(setOf('integer')), 'set of integers');
    assert.equal(typeToEnglish(setOf('string', 1, INF)), 'set of 1 or more strings');
    assert.equal(typeToEnglish(scalar('real')), 'real');
  });
});

/* ---------- property tests ---------- */

const atomArb: Record<AtomicType, fc.Arbitrary<Atom>> = {
  integer: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  // Reals that survive printf("%.15g").
  real: fc.integer({ min: -(2 ** 30), max: 2 ** 30 }).map((i) => i / 8),
  boolean: fc.boolean(),
  string: fc.string({ unit: 'binary', maxLength: 12 }),
  uuid: fc.uuid().map((u) => u.toLowerCase()),
};
const atomicTypes: AtomicType[] = ['integer', 'real', 'boolean', 'string', 'uuid'];

const typeArb: fc.Arbitrary<OvsdbType> = fc
  .record({
    k: fc.constantFrom(...atomicTypes),
    v: fc.option(fc.constantFrom(...atomicTypes), { nil: null }),
    kind: fc.constantFrom('scalar', 'optional', 'set'),
  })
  .map(({ k, v, kind }) => ({
    key: { type: k },
    value: v ? { type: v } : null,
    min: kind === 'scalar' ? 1 : 0,
    max: kind === 'set' ? INF : 1,
  }));

function datumArb(type: OvsdbType): fc.Arbitrary<Datum> {
  const k = type.key.type;
  const v = type.value?.type;
  const pairs = fc.uniqueArray(fc.tuple(atomArb[k], v ? atomArb[v] : fc.constant(0 as Atom)), {
    minLength: type.min,
    maxLength: type.max === INF ? 6 : type.max,
    comparator: (a, b) => compareAtoms(k, a[0], b[0]) === 0,
  });
  return pairs.map((ps) => {
    ps.sort((a, b) => compareAtoms(k, a[0], b[0]));
    return { keys: ps.map((p) => p[0]), values: v ? ps.map((p) => p[1]) : null };
  });
}

const typeAndDatum: fc.Arbitrary<[OvsdbType, Datum]> = typeArb.chain((t) =>
  datumArb(t).map((d): [OvsdbType, Datum] => [t, d]),
);
const typeAndTwoDatums = typeArb.chain((t) =>
  fc.tuple(datumArb(t), datumArb(t)).map(([a, b]): [OvsdbType, Datum, Datum] => [t, a, b]),
);

describe('codec properties', () => {
  it('JSON round-trips', () => {
    fc.assert(
      fc.property(typeAndDatum, ([type, d]) => {
        assert.deepEqual(datumFromJson(type, datumToJson(type, d)), d);
      }),
    );
  });
  it('string syntax round-trips', () => {
    fc.assert(
      fc.property(typeAndDatum, ([type, d]) => {
        assert.deepEqual(datumFromString(type, datumToString(type, d)), d);
      }),
    );
  });
  it('strings compare as strcmp on UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        assert.equal(
          Math.sign(compareStrings(a, b)),
          Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
      }),
    );
  });
  it('diff then apply gives the new datum', () => {
    fc.assert(
      fc.property(typeAndTwoDatums, ([type, a, b]) => {
        assert.deepEqual(datumApplyDiff(type, a, datumDiff(type, a, b)), b);
      }),
    );
  });
  it('union and subtract behave as set operations', () => {
    const t = setOf('integer');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 20 })),
        fc.uniqueArray(fc.integer({ min: 0, max: 20 })),
        (xs, ys) => {
          const a = { keys: [...xs].sort((p, q) => p - q), values: null };
          const b = { keys: [...ys].sort((p, q) => p - q), values: null };
          const u = datumUnion(t, a, b).keys;
          assert.deepEqual(
            u,
            [...new Set([...xs, ...ys])].sort((p, q) => p - q),
          );
          assert.deepEqual(
            datumSubtract(t, a, t, b).keys,
            a.keys.filter((x) => !ys.includes(x as number)),
          );
        },
      ),
    );
  });
});

describe('serialisation helpers', () => {
  it('serialises JSON compactly with sorted keys like OVS', () => {
    assert.equal(jsonToOvsString({ b: [1, 'x\n'], a: null }, true), '{"a":null,"b":[1,"x\\n"]}');
    assert.equal(atomToString('string', 'plain'), 'plain');
  });
  it('union keeps existing map values', () => {
    const t = mapOf('string', 'string');
    const d = datumUnion(
      t,
      { keys: ['k'], values: ['old'] },
      { keys: ['k', 'n'], values: ['new', 'v'] },
    );
    assert.deepEqual(d, { keys: ['k', 'n'], values: ['old', 'v'] });
  });
  it('OvsdbError prints as ovsdb_error_to_string', () => {
    assert.equal(
      new OvsdbError('constraint violation', 'bad').toString(),
      'constraint violation: bad',
    );
  });
});
