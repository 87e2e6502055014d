/**
 * Schema parsing and serialisation, checked against real ovsdb-tool 3.1: its error messages
 * for invalid schemas (`ovsdb-tool schema-version FILE`) and the schema it writes into a new
 * database file (`ovsdb-tool create`).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Json } from '../lib/json.ts';
import { jsonToOvsString, OvsdbError } from './error.ts';
import {
  compareVersions,
  parseDatabaseSchema,
  parseDatabaseSchemaText,
  schemaEquals,
  schemaToJson,
} from './schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'ts-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const col = (type: Json): Json => ({ type });
const one = (columns: Json, extra: object = {}): Json => ({
  name: 'S',
  tables: { T: { columns, ...extra } },
});

const BAD: [string, Json][] = [
  ['reserved column name', one({ _a: col('integer') })],
  ['column name not an id', one({ 'a-b': col('integer') })],
  ['reserved table name', { name: 'S', tables: { _T: { columns: { a: col('integer') } } } }],
  ['bad version', { name: 'S', version: '1.2', tables: {} }],
  ['database name not an id', { name: '1S', tables: {} }],
  ['missing tables', { name: 'S' }],
  ['unknown member', { name: 'S', tables: {}, bogus: 1 }],
  ['no columns', one({})],
  ['maxRows 0', one({ a: col('integer') }, { maxRows: 0 })],
  ['unknown atomic type', one({ a: col('float') })],
  ['min above 1', one({ a: col({ key: 'integer', min: 2 }) })],
  ['max 0', one({ a: col({ key: 'integer', max: 0 }) })],
  ['bad max string', one({ a: col({ key: 'integer', max: 'lots' }) })],
  [
    'minInteger above maxInteger',
    one({ a: col({ key: { type: 'integer', minInteger: 5, maxInteger: 1 } }) }),
  ],
  ['minReal above maxReal', one({ a: col({ key: { type: 'real', minReal: 5, maxReal: 1 } }) })],
  [
    'minLength above maxLength',
    one({ a: col({ key: { type: 'string', minLength: 5, maxLength: 1 } }) }),
  ],
  ['negative minLength', one({ a: col({ key: { type: 'string', minLength: -1 } }) })],
  [
    'enum plus range',
    one({ a: col({ key: { type: 'integer', enum: ['set', [1, 2]], minInteger: 0 } }) }),
  ],
  ['bad enum', one({ a: col({ key: { type: 'integer', enum: ['set', ['x']] } }) })],
  ['bad refType', one({ a: col({ key: { type: 'uuid', refTable: 'T', refType: 'soft' } }) })],
  ['undefined refTable', one({ a: col({ key: { type: 'uuid', refTable: 'Nope' } }) })],
  ['constraint on wrong type', one({ a: col({ key: { type: 'string', minInteger: 1 } }) })],
  ['index on unknown column', one({ a: col('integer') }, { indexes: [['b']] })],
  ['empty index', one({ a: col('integer') }, { indexes: [[]] })],
  ['duplicate column in index', one({ a: col('integer') }, { indexes: [['a', 'a']] })],
  [
    'index on ephemeral column',
    one({ a: { type: 'integer', ephemeral: true } }, { indexes: [['a']] }),
  ],
  ['bad column member', one({ a: { type: 'integer', mutable: 'no' } })],
  ['type not an object', one({ a: col(5) })],
];

function realError(name: string, schema: Json): string {
  const file = join(dir, `${name.replace(/\W+/g, '_')}.ovsschema`);
  writeFileSync(file, JSON.stringify(schema));
  const r = spawnSync('/usr/bin/ovsdb-tool', ['schema-version', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  assert.notEqual(r.status, 0, `real ovsdb-tool accepted the "${name}" schema`);
  return r.stderr.replace(/^ovsdb-tool: /, '').trimEnd();
}

function ourError(name: string, schema: Json): string {
  const file = join(dir, `${name.replace(/\W+/g, '_')}.ovsschema`);
  try {
    parseDatabaseSchemaText(JSON.stringify(schema), file);
  } catch (e) {
    assert.ok(e instanceof OvsdbError);
    return e.toString();
  }
  return 'accepted';
}

describe('invalid schemas are rejected with ovsdb-tool 3.1 messages', () => {
  for (const [name, schema] of BAD) {
    it(name, () => {
      assert.equal(ourError(name, schema), realError(name, schema));
    });
  }
});

describe('schema serialisation', () => {
  it('writes the vswitch schema exactly as ovsdb-tool create stores it', () => {
    const src = readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8');
    const db = join(dir, 'vswitch.db');
    execFileSync('/usr/bin/ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
    const stored = JSON.parse(readFileSync(db, 'utf8').split('\n')[1] as string) as Json;
    const ours = schemaToJson(parseDatabaseSchema(JSON.parse(src) as Json));
    assert.equal(jsonToOvsString(ours, true), jsonToOvsString(stored, true));
    assert.ok(schemaEquals(parseDatabaseSchema(ours), parseDatabaseSchema(stored)));
  });

  it('makes every table a root when none is marked', () => {
    const s = parseDatabaseSchema({
      name: 'S',
      tables: { A: { columns: { a: col('integer') } }, B: { columns: { b: col('integer') } } },
    });
    assert.deepEqual(
      [...s.tables.values()].map((t) => t.isRoot),
      [true, true],
    );
    // And prints no isRoot then, as OVS does.
    assert.equal(JSON.stringify(schemaToJson(s)).includes('isRoot'), false);
  });

  it('forces weak references mutable and strong references to non-roots persistent', () => {
    const s = parseDatabaseSchema({
      name: 'S',
      tables: {
        R: {
          isRoot: true,
          columns: {
            w: { type: { key: { type: 'uuid', refTable: 'C', refType: 'weak' } }, mutable: false },
            s: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 1 }, ephemeral: true },
            e: { type: 'integer', ephemeral: true },
          },
        },
        C: { columns: { x: col('integer') } },
      },
    });
    const r = s.tables.get('R');
    assert.equal(r?.columns.get('w')?.mutable, true);
    assert.equal(r?.columns.get('s')?.ephemeral, false);
    assert.equal(r?.columns.get('e')?.ephemeral, true);
    assert.equal(s.tables.get('C')?.isRoot, false);
  });

  it('round-trips constraints, enums, maxRows and indexes', () => {
    const j: Json = {
      name: 'S',
      version: '1.0.0',
      cksum: '123 45',
      tables: {
        T: {
          mutable: false,
          columns: {
            e: {
              type: {
                key: { type: 'string', enum: ['set', ['b', 'a']] },
                min: 0,
                max: 'unlimited',
              },
            },
            i: {
              type: {
                key: { type: 'integer', minInteger: 1, maxInteger: 9 },
                value: { type: 'real', minReal: 0.5 },
              },
            },
            s: { type: { key: { type: 'string', minLength: 1, maxLength: 3 } }, mutable: false },
          },
          maxRows: 5,
          indexes: [['s'], ['e', 'i']],
        },
      },
    };
    const s = parseDatabaseSchema(j);
    assert.equal(s.tables.get('T')?.maxRows, 5);
    const back = schemaToJson(s);
    assert.equal(
      jsonToOvsString(schemaToJson(parseDatabaseSchema(back)), true),
      jsonToOvsString(back, true),
    );
    assert.deepEqual((back.tables as { T: { columns: { e: Json } } }).T.columns.e, {
      type: { key: { type: 'string', enum: ['set', ['a', 'b']] }, min: 0, max: 'unlimited' },
    });
  });

  it('compares versions numerically', () => {
    assert.equal(compareVersions('1.10.0', '1.9.9'), 1);
    assert.equal(compareVersions('2.0.0', '2.0.0'), 0);
  });
});
