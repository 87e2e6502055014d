import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { compareAtoms } from './atom.ts';
import { jsonToOvsString } from './error.ts';
import { parseDatabaseSchema } from './schema.ts';
import { changesToRecord, changesToRecordText } from './storage-record.ts';
import type { Atom, Changes, Datum, Row, RowChange, TableSchema } from './types.ts';

// Enough columns that OVS's hash order differs from the schema's, every atomic type, sets,
// maps, a column that may exceed its max in diff form, and an ephemeral column.
const schema = parseDatabaseSchema({
  name: 'S',
  version: '1.0.0',
  tables: {
    Alpha: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        x: { type: 'real' },
        b: { type: 'boolean' },
        ref: { type: { key: { type: 'uuid' }, min: 0, max: 1 } },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        few: { type: { key: 'integer', min: 0, max: 2 } },
        kv: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        eph: { type: 'integer', ephemeral: true },
        zeta: { type: 'string' },
        omega: { type: { key: 'real', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
    },
    Beta: { columns: { v: { type: 'integer' }, s: { type: 'string' } }, isRoot: true },
    Gamma_2: { columns: { w: { type: 'boolean' } }, isRoot: true },
  },
});

const str = fc.string({
  maxLength: 6,
  unit: fc.oneof(
    fc.constantFrom('a', '"', '\\', '\n', '\u0001', 'é'),
    fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' }),
  ),
});
const num = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(2 ** 60),
);
const uuid = fc.uuid();

function sortedUnique(type: 'string' | 'integer' | 'real', atoms: Atom[]): Atom[] {
  const out = [...atoms].sort((a, b) => compareAtoms(type, a, b));
  return out.filter((a, i) => i === 0 || compareAtoms(type, out[i - 1] as Atom, a) !== 0);
}

const set = (type: 'string' | 'integer' | 'real', atom: fc.Arbitrary<Atom>, max: number) =>
  fc
    .array(atom, { maxLength: max })
    .map((a): Datum => ({ keys: sortedUnique(type, a), values: null }));
const scalar = (atom: fc.Arbitrary<Atom>) => atom.map((a): Datum => ({ keys: [a], values: null }));

function fieldsArb(table: TableSchema): fc.Arbitrary<Datum[]> {
  const per: fc.Arbitrary<Datum>[] = table.columnList.map((c) => {
    const t = c.type;
    if (t.value) {
      return fc.dictionary(fc.string({ maxLength: 3 }), fc.integer()).map((o): Datum => {
        const keys = sortedUnique('string', Object.keys(o));
        return { keys, values: keys.map((k) => o[k as string] as number) };
      });
    }
    if (t.max > 1 || t.min === 0) {
      const k = t.key.type;
      if (k === 'uuid')
        return fc
          .option(uuid, { nil: undefined })
          .map((u): Datum => ({ keys: u ? [u] : [], values: null }));
      if (k === 'string') return set('string', str, 4);
      if (k === 'real') return set('real', fc.double({ noNaN: true, noDefaultInfinity: true }), 3);
      return set('integer', fc.integer({ min: -5, max: 5 }), t.max);
    }
    switch (t.key.type) {
      case 'string':
        return fc.oneof(scalar(str), scalar(fc.constant('')));
      case 'integer':
        return fc.oneof(scalar(fc.integer()), scalar(fc.constant(0)));
      case 'real':
        return scalar(num);
      default:
        return scalar(fc.boolean());
    }
  });
  return fc.tuple(...per);
}

function changesArb(): fc.Arbitrary<Changes> {
  const tables = [...schema.tables.values()];
  return fc
    .tuple(
      ...tables.map((t) =>
        fc.array(
          fc.record({
            uuid,
            kind: fc.constantFrom('insert', 'delete', 'modify'),
            a: fieldsArb(t),
            b: fieldsArb(t),
          }),
          { maxLength: 5 },
        ),
      ),
    )
    .map((perTable) => {
      const changes = new Map<string, Map<string, RowChange>>();
      perTable.forEach((rows, i) => {
        const m = new Map<string, RowChange>();
        for (const r of rows) {
          const old: Row = { uuid: r.uuid, version: r.uuid, fields: r.a };
          const nu: Row = { uuid: r.uuid, version: r.uuid, fields: r.b };
          m.set(
            r.uuid,
            r.kind === 'insert'
              ? { old: null, new: nu }
              : r.kind === 'delete'
                ? { old, new: null }
                : { old, new: nu },
          );
        }
        if (m.size) changes.set((tables[i] as TableSchema).name, m);
      });
      return changes;
    });
}

test('changesToRecordText is byte-for-byte the serialised changesToRecord', () => {
  fc.assert(
    fc.property(
      changesArb(),
      fc.option(str, { nil: undefined }),
      fc.integer({ min: 0, max: 2 ** 45 }),
      (changes, comment, date) => {
        const ann = comment === undefined ? { date } : { date, comment };
        const tree = changesToRecord(schema, changes, ann);
        const text = changesToRecordText(schema, changes, ann);
        assert.equal(text, tree === null ? null : jsonToOvsString(tree));
      },
    ),
    { numRuns: 400 },
  );
});

test('a commit that changes only ephemeral columns writes nothing', () => {
  const t = schema.tables.get('Alpha') as TableSchema;
  const fields: Datum[] = t.columnList.map(() => ({ keys: [], values: null }));
  const eph = t.columns.get('eph')?.index as number;
  const changed = fields.slice();
  changed[eph] = { keys: [7], values: null };
  const u = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
  const changes = new Map([
    [
      'Alpha',
      new Map([
        [
          u,
          { old: { uuid: u, version: u, fields }, new: { uuid: u, version: u, fields: changed } },
        ],
      ]),
    ],
  ]);
  assert.equal(changesToRecordText(schema, changes, { date: 1 }), null);
  // A real change is written, members in OVS's shash order (the tree form's order too).
  changed[t.columns.get('n')?.index as number] = { keys: [3], values: null };
  const text = changesToRecordText(schema, changes, { date: 1 });
  assert.equal(text, `{"_date":1,"Alpha":{"${u}":{"n":3}},"_is_diff":true}`);
  assert.equal(text, jsonToOvsString(changesToRecord(schema, changes, { date: 1 }) ?? {}));
});
