import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { JsonObject } from '../../lib/json.ts';
import { datumDiff, datumEquals, datumFromAtomsUnique, datumToJson } from '../datum.ts';
import { parseDatabaseSchema } from '../schema.ts';
import type { Datum, OvsdbType } from '../types.ts';
import { applyTableUpdates, emptyReplica, replaceWithSnapshot } from './replica.ts';

const schema = parseDatabaseSchema({
  name: 'T',
  version: '1.0.0',
  tables: {
    R: {
      columns: {
        s: { type: 'string' },
        o: { type: { key: 'integer', min: 0, max: 1 } },
        set: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        map: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
  },
});
const U = '00000000-0000-0000-0000-000000000001';
const table = schema.tables.get('R');
const mapType = table?.columns.get('map')?.type as OvsdbType;
const setType = table?.columns.get('set')?.type as OvsdbType;

describe('replica: applying update, update2 and update3', () => {
  it('update2 initial/modify/delete', () => {
    const r = emptyReplica(schema, ['R']);
    let ev = applyTableUpdates(
      schema,
      r,
      { R: { [U]: { initial: { s: 'a', set: ['set', [1, 2]] } } } },
      2,
    );
    assert.equal(ev[0]?.kind, 'insert');
    const row = r.get('R')?.get(U);
    assert.equal(row?.string('s'), 'a');
    assert.deepEqual(row?.set('set'), [1, 2]);
    assert.equal(row?.get('o'), undefined);
    // A set diff toggles membership; a scalar diff is the new value.
    ev = applyTableUpdates(
      schema,
      r,
      { R: { [U]: { modify: { s: 'b', set: ['set', [2, 3]], o: 7 } } } },
      3,
    );
    assert.equal(ev[0]?.kind, 'modify');
    assert.deepEqual(ev[0]?.kind === 'modify' ? ev[0].columns.sort() : [], ['o', 's', 'set']);
    assert.deepEqual(r.get('R')?.get(U)?.set('set'), [1, 3]);
    assert.equal(r.get('R')?.get(U)?.get('o'), 7);
    assert.equal(row?.string('s'), 'a', 'rows are immutable snapshots');
    ev = applyTableUpdates(schema, r, { R: { [U]: { delete: null } } }, 2);
    assert.equal(ev[0]?.kind, 'delete');
    assert.equal(r.get('R')?.size, 0);
  });

  it('update (version 1) new/old', () => {
    const r = emptyReplica(schema, ['R']);
    applyTableUpdates(
      schema,
      r,
      { R: { [U]: { new: { s: 'a', map: ['map', [['k', 'v']]] } } } },
      1,
    );
    applyTableUpdates(
      schema,
      r,
      { R: { [U]: { old: { s: 'a' }, new: { s: 'b', map: ['map', [['k', 'v']]] } } } },
      1,
    );
    assert.equal(r.get('R')?.get(U)?.string('s'), 'b');
    assert.equal(r.get('R')?.get(U)?.mapGet('map', 'k'), 'v');
    applyTableUpdates(schema, r, { R: { [U]: { old: { s: 'b' } } } }, 1);
    assert.equal(r.get('R')?.size, 0);
  });

  it('a snapshot after reconnect yields only the differences', () => {
    const r = emptyReplica(schema, ['R']);
    const V = '00000000-0000-0000-0000-000000000002';
    applyTableUpdates(
      schema,
      r,
      { R: { [U]: { initial: { s: 'a' } }, [V]: { initial: { s: 'v' } } } },
      2,
    );
    const kept = r.get('R')?.get(U);
    const W = '00000000-0000-0000-0000-000000000003';
    const ev = replaceWithSnapshot(
      schema,
      r,
      { R: { [U]: { initial: { s: 'a' } }, [W]: { initial: { s: 'w' } } } },
      2,
    );
    assert.deepEqual(ev.map((e) => e.kind).sort(), ['delete', 'insert']);
    assert.equal(r.get('R')?.get(U), kept, 'unchanged row keeps its identity');
  });

  // Oracle: the server sends datumDiff(old, new); applying it must give new.
  const atoms = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 });
  const mapArb = fc
    .tuple(atoms, fc.array(fc.constantFrom('x', 'y'), { minLength: 5, maxLength: 5 }))
    .map(
      ([ks, vs]): Datum =>
        datumFromAtomsUnique(
          mapType,
          ks,
          ks.map((_, i) => vs[i] as string),
        ),
    );
  const setArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 6 })
    .map((ks): Datum => datumFromAtomsUnique(setType, ks, null));
  it('modify with a server-style diff reproduces the new value (maps and sets)', () => {
    fc.assert(
      fc.property(mapArb, mapArb, setArb, setArb, (m1, m2, s1, s2) => {
        const r = emptyReplica(schema, ['R']);
        applyTableUpdates(
          schema,
          r,
          {
            R: {
              [U]: { initial: { map: datumToJson(mapType, m1), set: datumToJson(setType, s1) } },
            },
          },
          2,
        );
        const modify: JsonObject = {
          map: datumToJson(mapType, datumDiff(mapType, m1, m2)),
          set: datumToJson(setType, datumDiff(setType, s1, s2)),
        };
        applyTableUpdates(schema, r, { R: { [U]: { modify } } }, 2);
        const row = r.get('R')?.get(U);
        return (
          !!row &&
          datumEquals(mapType, row.datum('map'), m2) &&
          datumEquals(setType, row.datum('set'), s2)
        );
      }),
    );
  });
});
