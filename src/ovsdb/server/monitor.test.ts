import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileWhere } from '../condition.ts';
import { parseDatabaseSchema } from '../schema.ts';
import type { Changes, Datum, Row, RowChange } from '../types.ts';
import {
  composeUpdate,
  condChangeChanges,
  initialChanges,
  mergeChanges,
  parseCondChange,
  parseMonitorRequests,
} from './monitor.ts';
import { TxnHistory } from './txn-history.ts';

const schema = parseDatabaseSchema({
  name: 'T',
  version: '1.0.0',
  tables: {
    B: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
      isRoot: true,
    },
  },
});
const clause = (table: Parameters<typeof compileWhere>[0], c: unknown) =>
  compileWhere(table, [c as never]);

/** An update as a client receives it: what is sent is its JSON text. */
const wire = (u: unknown): unknown => JSON.parse(JSON.stringify(u));

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const V1 = 'aaaaaaaa-1111-1111-1111-111111111111';
const V2 = 'bbbbbbbb-1111-1111-1111-111111111111';

const set = (...keys: string[]): Datum => ({ keys, values: null });
const map = (...kv: [string, string][]): Datum => ({
  keys: kv.map((x) => x[0]),
  values: kv.map((x) => x[1]),
});
function row(
  uuid: string,
  version: string,
  name: string,
  n: number,
  tags: Datum = set(),
  ids: Datum = map(),
): Row {
  return { uuid, version, fields: [set(name), { keys: [n], values: null }, tags, ids] };
}
// Column order in the parsed schema decides field positions.
const colIndex = (c: string) => schema.tables.get('B')!.columns.get(c)!.index;
function fields(name: string, n: number, tags: Datum, ids: Datum): Datum[] {
  const f: Datum[] = [];
  f[colIndex('name')] = set(name);
  f[colIndex('n')] = { keys: [n], values: null };
  f[colIndex('tags')] = tags;
  f[colIndex('ids')] = ids;
  return f;
}
function r(uuid: string, version: string, name: string, n = 0, tags = set(), ids = map()): Row {
  return { ...row(uuid, version, name, n), fields: fields(name, n, tags, ids) };
}
function changes(table: string, ...list: [string, RowChange][]): Changes {
  return new Map([[table, new Map(list)]]);
}

describe('monitor composition', () => {
  it('v1 initial sends every monitored column, _version included by default', () => {
    const spec = parseMonitorRequests(schema, { B: {} }, 1, clause);
    const rows = [r(U1, V1, 'br0', 0)];
    const u = composeUpdate(
      spec,
      initialChanges(spec, () => rows),
      true,
    );
    assert.deepEqual(wire(u), {
      B: {
        [U1]: {
          new: { name: 'br0', n: 0, tags: ['set', []], ids: ['map', []], _version: ['uuid', V1] },
        },
      },
    });
  });

  it('v1 modify puts only changed columns in "old" and all selected columns in "new"', () => {
    const spec = parseMonitorRequests(schema, { B: { columns: ['name', 'n'] } }, 1, clause);
    const u = composeUpdate(
      spec,
      changes('B', [U1, { old: r(U1, V1, 'a', 1), new: r(U1, V2, 'a', 2) }]),
      false,
    );
    assert.deepEqual(wire(u), { B: { [U1]: { old: { n: 1 }, new: { name: 'a', n: 2 } } } });
  });

  it('a change to unmonitored columns only sends nothing', () => {
    const spec = parseMonitorRequests(schema, { B: { columns: ['name'] } }, 2, clause);
    const u = composeUpdate(
      spec,
      changes('B', [U1, { old: r(U1, V1, 'a', 1), new: r(U1, V2, 'a', 2) }]),
      false,
    );
    assert.equal(u, null);
  });

  it('keys rows by UUID in objects without prototype (no hidden class per row)', () => {
    const spec = parseMonitorRequests(schema, { B: { columns: ['name'] } }, 2, clause);
    const u = composeUpdate(
      spec,
      changes(
        'B',
        [U1, { old: null, new: r(U1, V1, 'a') }],
        [U2, { old: null, new: r(U2, V2, 'b') }],
      ),
      false,
    );
    assert.equal(Object.getPrototypeOf(u?.B), null);
    assert.deepEqual(Object.keys(u?.B as object), [U1, U2]);
    assert.equal(
      JSON.stringify(u),
      `{"B":{"${U1}":{"insert":{"name":"a"}},"${U2}":{"insert":{"name":"b"}}}}`,
    );
  });

  it('v2 insert omits default values, modify sends set/map diffs, delete is null', () => {
    const spec = parseMonitorRequests(
      schema,
      { B: { columns: ['name', 'n', 'tags', 'ids'] } },
      2,
      clause,
    );
    const ins = composeUpdate(
      spec,
      changes('B', [U1, { old: null, new: r(U1, V1, 'a', 0, set('x')) }]),
      false,
    );
    assert.deepEqual(wire(ins), { B: { [U1]: { insert: { name: 'a', tags: 'x' } } } });
    const mod = composeUpdate(
      spec,
      changes('B', [
        U1,
        {
          old: r(U1, V1, 'a', 0, set('x', 'y'), map(['k', '1'], ['z', '0'])),
          new: r(U1, V2, 'a', 0, set('y', 'z'), map(['k', '2'])),
        },
      ]),
      false,
    );
    assert.deepEqual(wire(mod), {
      B: {
        [U1]: {
          modify: {
            tags: ['set', ['x', 'z']],
            ids: [
              'map',
              [
                ['k', '2'],
                ['z', '0'],
              ],
            ],
          },
        },
      },
    });
    const del = composeUpdate(spec, changes('B', [U1, { old: r(U1, V1, 'a'), new: null }]), false);
    assert.deepEqual(wire(del), { B: { [U1]: { delete: null } } });
  });

  it('select flags filter kinds of change', () => {
    const spec = parseMonitorRequests(
      schema,
      { B: { columns: ['name'], select: { insert: false, initial: false } } },
      2,
      clause,
    );
    assert.equal(
      composeUpdate(spec, changes('B', [U1, { old: null, new: r(U1, V1, 'a') }]), false),
      null,
    );
    assert.equal(initialChanges(spec, () => [r(U1, V1, 'a')]).size, 0);
    assert.ok(composeUpdate(spec, changes('B', [U1, { old: r(U1, V1, 'a'), new: null }]), false));
  });

  it('conditions turn modifies into inserts and deletes as rows enter and leave', () => {
    const spec = parseMonitorRequests(
      schema,
      { B: { columns: ['name', 'n'], where: [['n', '>', 5]] } },
      2,
      clause,
    );
    const enter = composeUpdate(
      spec,
      changes('B', [U1, { old: r(U1, V1, 'a', 1), new: r(U1, V2, 'a', 9) }]),
      false,
    );
    assert.deepEqual(wire(enter), { B: { [U1]: { insert: { name: 'a', n: 9 } } } });
    const leave = composeUpdate(
      spec,
      changes('B', [U1, { old: r(U1, V1, 'a', 9), new: r(U1, V2, 'a', 1) }]),
      false,
    );
    assert.deepEqual(wire(leave), { B: { [U1]: { delete: null } } });
    const outside = composeUpdate(
      spec,
      changes('B', [U2, { old: null, new: r(U2, V1, 'b', 1) }]),
      false,
    );
    assert.equal(outside, null);
  });

  it('clauses of a monitor condition are OR-ed; [true] and [] match all, [false] none', () => {
    const spec = parseMonitorRequests(
      schema,
      {
        B: {
          columns: ['name'],
          where: [
            ['name', '==', 'a'],
            ['name', '==', 'b'],
          ],
        },
      },
      2,
      clause,
    );
    const rows = [
      r(U1, V1, 'a'),
      r(U2, V1, 'b'),
      r('33333333-1111-1111-1111-111111111111', V1, 'c'),
    ];
    const u = composeUpdate(
      spec,
      initialChanges(spec, () => rows),
      true,
    );
    assert.deepEqual(Object.keys(u?.B as object).sort(), [U1, U2]);
    for (const [where, n] of [
      [[true], 3],
      [[], 3],
      [[false], 0],
    ] as const) {
      const s = parseMonitorRequests(
        schema,
        { B: { columns: ['name'], where: [...where] } },
        2,
        clause,
      );
      const x = composeUpdate(
        s,
        initialChanges(s, () => rows),
        true,
      );
      assert.equal(x ? Object.keys(x.B as object).length : 0, n, JSON.stringify(where));
    }
  });

  it('monitor_cond_change sends inserts and deletes for the condition difference', () => {
    const spec = parseMonitorRequests(
      schema,
      { B: { columns: ['name'], where: [['name', '==', 'a']] } },
      2,
      clause,
    );
    const rows = [r(U1, V1, 'a'), r(U2, V1, 'b')];
    const old = parseCondChange(spec, { B: [{ where: [['name', '==', 'b']] }] }, clause);
    const u = composeUpdate(
      spec,
      condChangeChanges(old.keys(), () => rows),
      false,
      old,
    );
    assert.deepEqual(wire(u), { B: { [U1]: { delete: null }, [U2]: { insert: { name: 'b' } } } });
  });

  it('parse errors carry OVS texts', () => {
    assert.throws(() => parseMonitorRequests(schema, { X: {} }, 1, clause), /no table named X/);
    assert.throws(
      () => parseMonitorRequests(schema, { B: { columns: ['nope'] } }, 1, clause),
      (e: Error & { details?: string }) => e.details === 'nope is not a valid column name',
    );
    assert.throws(
      () =>
        parseMonitorRequests(
          schema,
          { B: [{ columns: ['name'] }, { columns: ['name'] }] },
          1,
          clause,
        ),
      (e: Error & { details?: string }) => e.details === 'column name mentioned more than once',
    );
    assert.throws(
      () => parseMonitorRequests(schema, { B: { where: [] } }, 1, clause),
      (e: Error & { details?: string }) =>
        e.details === "Parsing table B failed: Member 'where' is present but not allowed here.",
    );
    assert.throws(
      () => parseMonitorRequests(schema, { B: { select: { insert: 1 } } }, 2, clause),
      (e: Error & { details?: string }) =>
        e.details === "Parsing table B select failed: Type mismatch for member 'insert'.",
    );
  });

  it('shape keys equal for identical unconditional monitors, differ otherwise', () => {
    const a = parseMonitorRequests(schema, { B: { columns: ['name'] } }, 2, clause);
    const b = parseMonitorRequests(schema, { B: { columns: ['name'] } }, 2, clause);
    const c = parseMonitorRequests(schema, { B: { columns: ['name'] } }, 3, clause);
    assert.equal(a.shapeKey, b.shapeKey);
    assert.notEqual(a.shapeKey, c.shapeKey);
    assert.equal(a.unconditional, true);
  });
});

describe('change merging and history', () => {
  it('merges to first old / last new and drops insert-then-delete', () => {
    const m = mergeChanges([
      changes(
        'B',
        [U1, { old: null, new: r(U1, V1, 'a') }],
        [U2, { old: r(U2, V1, 'b'), new: r(U2, V2, 'b', 1) }],
      ),
      changes(
        'B',
        [U1, { old: r(U1, V1, 'a'), new: null }],
        [U2, { old: r(U2, V2, 'b', 1), new: r(U2, V1, 'b', 2) }],
      ),
    ]);
    const b = m.get('B')!;
    assert.equal(b.has(U1), false);
    assert.equal(b.get(U2)!.old!.fields[colIndex('n')].keys[0], 0);
    assert.equal(b.get(U2)!.new!.fields[colIndex('n')].keys[0], 2);
  });

  it('answers changesAfter for the latest, a known, and an unknown id', () => {
    const h = new TxnHistory(3);
    assert.equal(h.changesAfter('00000000-0000-0000-0000-000000000000'), null);
    const ids = ['a1', 'a2', 'a3', 'a4'].map((x) => `${x}aaaaaa-0000-0000-0000-000000000000`);
    ids.forEach((id, i) => {
      h.add(id, changes('B', [U1, { old: null, new: r(U1, V1, `n${i}`) }]));
    });
    assert.equal(h.lastTxnId, ids[3]);
    assert.equal(h.changesAfter(ids[3])!.size, 0);
    assert.equal(h.changesAfter(ids[1])!.get('B')!.size, 1);
    assert.equal(h.changesAfter(ids[0]), null, 'evicted beyond the bound');
  });
});
