import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  atomFromJson,
  atomFromString,
  atomToString,
  checkAtomConstraints,
  compareAtoms,
  SymbolTable,
  stringNeedsQuotes,
} from './atom.ts';
import { formatReal, OvsdbError } from './error.ts';
import type { BaseType } from './types.ts';

describe('atoms', () => {
  it('orders atoms as ovsdb_atom_compare_3way', () => {
    assert.ok(compareAtoms('boolean', false, true) < 0);
    assert.ok(compareAtoms('integer', -2, 10) < 0);
    assert.ok(compareAtoms('string', 'Z', 'a') < 0);
    assert.ok(compareAtoms('string', '\uffff', '\u{10000}') < 0, 'UTF-8 byte order, not UTF-16');
    assert.equal(
      compareAtoms(
        'uuid',
        'a0000000-0000-0000-0000-000000000000',
        'a0000000-0000-0000-0000-000000000000',
      ),
      0,
    );
  });

  it('decides quoting like OVS (bare identifiers only)', () => {
    for (const s of ['abc', '_a', 'a-b.c', 'br0']) assert.equal(stringNeedsQuotes(s), false, s);
    for (const s of [
      '',
      '0a',
      'true',
      'false',
      'a b',
      'é',
      '12345678-1234-1234-1234-123456789abc',
    ]) {
      assert.equal(stringNeedsQuotes(s), true, s);
    }
    assert.equal(atomToString('string', 'a"b'), '"a\\"b"');
  });

  it('parses the string syntax of each type', () => {
    assert.equal(atomFromString({ type: 'integer' }, '-12'), -12);
    assert.equal(atomFromString({ type: 'real' }, '1e3'), 1000);
    assert.equal(atomFromString({ type: 'boolean' }, 'off'), false);
    assert.equal(atomFromString({ type: 'string' }, 'plain'), 'plain');
    assert.equal(
      atomFromString({ type: 'uuid' }, 'ABCDEF01-0000-0000-0000-000000000000'),
      'abcdef01-0000-0000-0000-000000000000',
    );
    const st = new SymbolTable(() => '00000000-0000-0000-0000-000000000007');
    assert.equal(
      atomFromString({ type: 'uuid' }, '@row', st),
      '00000000-0000-0000-0000-000000000007',
    );
    assert.throws(
      () => atomFromString({ type: 'string' }, ''),
      /An empty string is not valid as input/,
    );
    assert.throws(() => atomFromString({ type: 'real' }, 'x1'), /"x1" is not a valid real number/);
  });

  it('checks constraints with OVS messages', () => {
    const msg = (b: BaseType, a: number | string) => {
      try {
        checkAtomConstraints(b, a);
      } catch (e) {
        return (e as OvsdbError).details;
      }
      return null;
    };
    assert.equal(
      msg({ type: 'integer', minInteger: 1, maxInteger: 3 }, 4),
      '4 is not in the valid range 1 to 3 (inclusive)',
    );
    assert.equal(
      msg({ type: 'integer', minInteger: 1 }, 0),
      '0 is less than minimum allowed value 1',
    );
    assert.equal(
      msg({ type: 'real', maxReal: 1.5 }, 2),
      '2 is greater than maximum allowed value 1.5',
    );
    assert.equal(
      msg({ type: 'string', minLength: 2 }, 'é'),
      '"é" length 1 is less than minimum allowed length 2',
    );
    assert.equal(
      msg({ type: 'integer', enum: [1, 2] }, 3),
      '3 is not one of the allowed values ([1, 2])',
    );
    assert.equal(msg({ type: 'string', enum: ['a'] }, 'a'), null);
  });

  it('reads atoms from JSON', () => {
    assert.equal(atomFromJson('real', 3), 3);
    assert.throws(
      () => atomFromJson('integer', 'x'),
      (e: unknown) => e instanceof OvsdbError && e.details === 'expected integer',
    );
    assert.throws(() => atomFromJson('uuid', ['named-uuid', 'x']), /expected \["uuid", <string>\]/);
  });
});

describe('formatReal', () => {
  it('agrees with C printf("%.15g") (via python3, whose % formatting is printf)', () => {
    const xs = fc.sample(
      fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: -1e6, max: 1e6 }).map((i) => i / 1000),
        fc.constantFrom(
          0,
          1e-5,
          1e-4,
          123456789012345,
          1234567890123456,
          0.1,
          1e21,
          -2.5e-300,
          // exact ties at the 15th digit: printf rounds them to even
          5647453515801765,
          123456789012345.5,
          123456789012344.5,
          -5647453515801765,
        ),
      ),
      400,
    );
    const out = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import sys\nfor l in sys.stdin: print("%.15g" % float(l))'],
      {
        input: xs.map((x) => (Object.is(x, -0) ? '-0.0' : x.toString())).join('\n'),
        encoding: 'utf8',
      },
    ).split('\n');
    xs.forEach((x, i) => {
      assert.equal(formatReal(x), out[i], String(x));
    });
  });
});
