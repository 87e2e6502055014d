import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Json, JsonObject } from '../lib/json.ts';
import { jsonToOvsString, OvsdbError } from './error.ts';
import { ClusteredDatabaseError, OvsdbLog } from './log.ts';
import { parseDatabaseSchema } from './schema.ts';
import { createDatabaseFile, Storage } from './storage.ts';

const ovsdbTool = '/usr/bin/ovsdb-tool';
const fixtures = fileURLToPath(new URL('../../test/fixtures/ovsdb/', import.meta.url));
/** Written by real ovsdb-tool 3.1 create + transact (see test/fixtures/ovsdb/README.md). */
const realDb = join(fixtures, 'real-3.1.db');
const demoSchemaFile = join(fixtures, 'test.ovsschema');
const vswitchSchemaFile = fileURLToPath(new URL('../../schema/vswitch.ovsschema', import.meta.url));
const demoSchema = () => parseDatabaseSchema(JSON.parse(readFileSync(demoSchemaFile, 'utf8')));

const dir = mkdtempSync(join(tmpdir(), 'ts-storage-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'db') => join(dir, `${n++}-${name}`);

const ctx = { now: () => Date.now(), hasLock: () => false };
function run(st: Storage, ops: Json[]): Json[] {
  const r = st.db.execute(ops, ctx);
  assert.equal(r.status, 'committed', JSON.stringify(r));
  return (r as { results: Json[] }).results;
}
async function commit(st: Storage, ops: Json[]): Promise<void> {
  const r = st.db.execute(ops, ctx);
  assert.equal(r.status, 'committed', JSON.stringify(r));
  if (r.status === 'committed') await st.whenWritten(r.txnId, r.durable);
}

/** Every row's persistent columns, as sorted JSON, through `select` (our side). */
function contents(st: Storage): string {
  const ops: Json[] = [];
  for (const t of st.schema.tables.values()) {
    const cols = t.columnList.filter((c) => !c.ephemeral).map((c) => c.name);
    ops.push({ op: 'select', table: t.name, where: [], columns: ['_uuid', ...cols] });
  }
  const results = st.db.execute(ops, ctx) as unknown as { results: { rows: JsonObject[] }[] };
  return jsonToOvsString(
    results.results.map((r) =>
      [...r.rows].sort((a, b) =>
        String((a._uuid as Json[])[1]).localeCompare(String((b._uuid as Json[])[1])),
      ),
    ),
    true,
  );
}
/** The rows of a database file, read strictly by us. */
function contentsOf(file: string): string {
  const st = Storage.open(file, { readOnly: true, strict: true });
  try {
    return contents(st);
  } finally {
    st.closeSync();
  }
}

/** The same, through real ovsdb-tool query on the file. */
function realContents(file: string, st: Storage): string {
  const ops: Json[] = [st.schema.name];
  for (const t of st.schema.tables.values()) {
    const cols = t.columnList.filter((c) => !c.ephemeral).map((c) => c.name);
    ops.push({ op: 'select', table: t.name, where: [], columns: ['_uuid', ...cols] });
  }
  const out = execFileSync(ovsdbTool, ['query', file, JSON.stringify(ops)]).toString();
  const results = JSON.parse(out) as { rows: JsonObject[] }[];
  return jsonToOvsString(
    results.map((r) =>
      [...r.rows].sort((a, b) =>
        String((a._uuid as Json[])[1]).localeCompare(String((b._uuid as Json[])[1])),
      ),
    ),
    true,
  );
}

test('a file written by real ovsdb-tool replays to the rows real ovsdb-tool query shows', () => {
  const st = Storage.open(realDb, { readOnly: true, strict: true });
  try {
    assert.equal(st.readError, null);
    const q = JSON.parse(readFileSync(join(fixtures, 'real-3.1.query.json'), 'utf8')) as Json[];
    const r = st.db.execute(q.slice(1), ctx) as { results: Json[] };
    // Golden: real ovsdb-tool 3.1's output for the same query, captured with the fixture.
    assert.equal(
      `${jsonToOvsString(r.results, true)}\n`,
      readFileSync(join(fixtures, 'real-3.1.query.txt'), 'utf8'),
    );
  } finally {
    st.closeSync();
  }
});

test('createDatabaseFile writes the same bytes as real ovsdb-tool create', () => {
  for (const schemaFile of [vswitchSchemaFile, demoSchemaFile]) {
    const ours = tmp();
    const real = tmp();
    createDatabaseFile(ours, parseDatabaseSchema(JSON.parse(readFileSync(schemaFile, 'utf8'))));
    execFileSync(ovsdbTool, ['create', real, schemaFile]);
    assert.deepEqual(readFileSync(ours), readFileSync(real), schemaFile);
  }
});

test('a one-row commit is written byte for byte as real ovsdb-tool transact writes it (but _date)', async () => {
  const base = tmp();
  execFileSync(ovsdbTool, ['create', base, vswitchSchemaFile]);
  execFileSync(ovsdbTool, [
    'transact',
    base,
    '["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"next_cfg":1,"external_ids":["map",[["a","b"]]],"ovs_version":"3.1","datapath_types":["set",["netdev","system"]]}}]',
  ]);
  const ops: Json[] = [
    {
      op: 'update',
      table: 'Open_vSwitch',
      where: [],
      row: {
        next_cfg: 2,
        cur_cfg: 5,
        external_ids: ['map', [['c', 'd']]],
        iface_types: ['set', ['a', 'b']],
        system_type: 'linux',
        dpdk_initialized: true,
        statistics: ['map', [['ephemeral', 'not written']]],
      },
    },
    { op: 'comment', comment: 'hi' },
  ];
  const ours = tmp();
  const real = tmp();
  copyFileSync(base, ours);
  copyFileSync(base, real);
  const st = Storage.open(ours);
  await commit(st, ops);
  await st.close();
  execFileSync(ovsdbTool, ['transact', real, JSON.stringify(['Open_vSwitch', ...ops])]);
  const lastRecord = (f: string) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .at(-2)
      ?.replace(/"_date":\d+/, '"_date":0');
  assert.equal(lastRecord(ours), lastRecord(real));
  assert.match(lastRecord(ours) ?? '', /"_is_diff":true/);
  assert.doesNotMatch(lastRecord(ours) ?? '', /statistics/);
});

test('commits reopen to the same rows, for us and for real ovsdb-tool', async () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  const st = Storage.open(file);
  await commit(st, [
    {
      op: 'insert',
      table: 'Root',
      row: {
        name: 'r',
        tags: ['set', ['a', 'b']],
        options: ['map', [['k', 'v']]],
        children: ['named-uuid', 'c'],
      },
    },
    { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c', trunks: ['set', [1, 2]] } },
    { op: 'commit', durable: true },
  ]);
  await commit(st, [
    { op: 'mutate', table: 'Root', where: [], mutations: [['tags', 'insert', 'z']] },
    { op: 'update', table: 'Root', where: [], row: { options: ['map', [['k', 'w']]] } },
  ]);
  const expected = contents(st);
  await st.close();
  const again = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(contents(again), expected);
  assert.equal(realContents(file, again), expected);
  again.closeSync();
});

test('a set diff that would not fit its column is written whole, so real OVS 3.1 can read it', async () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  const st = Storage.open(file);
  await commit(st, [
    { op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } },
    {
      op: 'insert',
      table: 'Child',
      'uuid-name': 'c',
      row: { name: 'c', trunks: ['set', [1, 2, 3, 4]] },
    },
  ]);
  // Replacing all four elements of a max-4 set: the diff has eight.
  await commit(st, [
    { op: 'update', table: 'Child', where: [], row: { trunks: ['set', [5, 6, 7, 8]] } },
  ]);
  const expected = contents(st);
  await st.close();
  const last = readFileSync(file, 'utf8').split('\n').at(-2) ?? '';
  assert.doesNotMatch(last, /_is_diff/);
  assert.match(last, /"trunks":\["set",\[5,6,7,8\]\]/);
  const again = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(contents(again), expected);
  assert.equal(realContents(file, again), expected);
  again.closeSync();
});

test('records in the old whole-value format (no _is_diff) are read as replacements', () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  const uuid = '11111111-2222-3333-4444-555555555555';
  const log = OvsdbLog.open(file, 'read-write');
  while (log.read()) {
    // skip to the end
  }
  log.write({ Root: { [uuid]: { name: 'r', tags: ['set', ['a', 'b']] } }, _date: 1 });
  log.write({ Root: { [uuid]: { tags: ['set', ['b', 'c']] } }, _date: 2 });
  log.write({ Root: { [uuid]: { tags: 'c' } }, _date: 3, _is_diff: true });
  log.close();
  const st = Storage.open(file, { readOnly: true, strict: true });
  const rows = st.db.execute([{ op: 'select', table: 'Root', where: [], columns: ['tags'] }], ctx);
  assert.deepEqual((rows as { results: Json[] }).results, [{ rows: [{ tags: 'b' }] }]);
  assert.equal(realContents(file, st), contents(st));
  st.closeSync();
});

test('an update of ephemeral columns only writes no record', async () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  const st = Storage.open(file);
  await commit(st, [{ op: 'insert', table: 'Root', row: { name: 'r' } }]);
  const size = statSync(file).size;
  await commit(st, [
    { op: 'update', table: 'Root', where: [], row: { status: ['map', [['a', 'b']]] } },
  ]);
  assert.equal(statSync(file).size, size);
  await st.close();
});

test('a torn last record: open keeps the acknowledged records, cuts the tail, appends after them', async () => {
  const file = tmp();
  copyFileSync(realDb, file);
  const full = statSync(file).size;
  truncateSync(file, full - 9);
  const warnings: string[] = [];
  const st = Storage.open(file, { warn: (w) => warnings.push(w) });
  assert.ok(st.readError instanceof OvsdbError);
  assert.match(warnings[0] ?? '', /error reading \d+ bytes starting at offset \d+ \(End of file\)/);
  // The last record (an insert of a Child) is gone; the three before it are there.
  const names = st.db.execute(
    [{ op: 'select', table: 'Child', where: [], columns: ['name'] }],
    ctx,
  );
  assert.deepEqual((names as { results: Json[] }).results, [{ rows: [{ name: 'c2' }] }]);
  const good = st.size;
  assert.equal(statSync(file).size, good, 'the torn tail is cut off at open');
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 99 } }]);
  const expected = contents(st);
  await st.close();
  const again = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(contents(again), expected);
  assert.equal(realContents(file, again), expected);
  again.closeSync();
});

test('a record that does not apply stops the replay there; the server keeps what came before', () => {
  const file = tmp();
  copyFileSync(realDb, file);
  const goodSize = statSync(file).size;
  const log = OvsdbLog.open(file, 'read-write');
  while (log.read()) {
    // to the end
  }
  log.write({ Child: { '99999999-2222-3333-4444-555555555555': null }, _date: 1 });
  log.write({ Root: {}, _date: 2 });
  log.close();
  const warnings: string[] = [];
  const st = Storage.open(file, { warn: (w) => warnings.push(w) });
  assert.match(
    String(st.readError),
    /transaction deletes row 99999999-2222-3333-4444-555555555555 that does not exist/,
  );
  assert.equal(warnings.length, 1);
  assert.equal(statSync(file).size, goodSize);
  st.closeSync();
  const reread = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(realContents(file, reread), contentsOf(realDb));
  reread.closeSync();
});

test('strict open (ovsdb-tool) fails on a torn tail with the offset', () => {
  const file = tmp();
  copyFileSync(realDb, file);
  truncateSync(file, statSync(file).size - 3);
  assert.throws(
    () => Storage.open(file, { readOnly: true, strict: true }),
    /error reading \d+ bytes starting at offset \d+ \(End of file\)/,
  );
});

test('a commit that cannot be written (read-only file) is reported to whenWritten', async () => {
  const file = tmp();
  copyFileSync(realDb, file);
  const st = Storage.open(file, { readOnly: true, strict: true, attach: true });
  const r = st.db.execute([{ op: 'update', table: 'Root', where: [], row: { counter: 1 } }], ctx);
  assert.equal(r.status, 'committed');
  if (r.status !== 'committed') return;
  await assert.rejects(st.whenWritten(r.txnId, false), (e: unknown) => {
    return (
      e instanceof OvsdbError &&
      e.tag === 'I/O error' &&
      /cannot truncate to length \d+/.test(e.details ?? '')
    );
  });
  st.closeSync();
});

test('a second writer of the same file is refused; a clustered file is not supported', () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  const st = Storage.open(file);
  assert.throws(() => Storage.open(file), /failed to lock lockfile/);
  st.closeSync();
  const clustered = tmp();
  execFileSync(ovsdbTool, ['create-cluster', clustered, demoSchemaFile, 'tcp:127.0.0.1:6641']);
  assert.throws(() => Storage.open(clustered), ClusteredDatabaseError);
});

test('compaction on request keeps every row and writes what real ovsdb-tool compact writes', async () => {
  const file = tmp();
  copyFileSync(realDb, file);
  const st = Storage.open(file);
  const before = contents(st);
  st.compactSync('compacted by ovsdb-tool 3.1.0');
  assert.equal(contents(st), before);
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 7 } }]);
  const expected = contents(st);
  await st.close();
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 7, 'schema, snapshot, one commit');
  const again = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(contents(again), expected);
  assert.equal(realContents(file, again), expected);
  again.closeSync();
  // Real ovsdb-tool compact of the same fixture: same schema record; same snapshot record
  // up to _date, _is_diff (ovsdb-tool writes none) and the order of colliding row UUIDs.
  const real = tmp();
  copyFileSync(realDb, real);
  execFileSync(ovsdbTool, ['compact', real]);
  const realLines = readFileSync(real, 'utf8').split('\n');
  assert.equal(lines[1], realLines[1]);
  const norm = (s: string) =>
    JSON.parse(s.replace(/"_date":\d+/, '"_date":0').replace(',"_is_diff":true', ''));
  assert.deepEqual(norm(lines[3] as string), norm(realLines[3] as string));
});

test("automatic compaction follows OVS 3.1's rule: 100 records, over 10 MB and twice the base, after 10-20 min", async () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  let now = 1_000_000;
  const st = Storage.open(file, { now: () => now, random: () => 0.5 });
  await commit(st, [{ op: 'insert', table: 'Root', row: { name: 'r' } }]);
  const big = 'x'.repeat(120_000);
  for (let i = 0; i < 99; i++) {
    await commit(st, [{ op: 'update', table: 'Root', where: [], row: { name: `${i}${big}` } }]);
  }
  assert.ok(statSync(file).size > 10 * 1024 * 1024);
  assert.equal(st.shouldCompact(), false, 'not before the minimum interval');
  now += 14 * 60 * 1000; // the minimum is 10 min + 0.5 * 10 min = 15 min
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 1 } }]);
  assert.ok(statSync(file).size > 10 * 1024 * 1024, 'still not compacted');
  now += 2 * 60 * 1000;
  assert.equal(st.shouldCompact(), true);
  const before = contents(st);
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 2 } }]);
  assert.ok(statSync(file).size < 200_000, 'compacted');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /"_comment":"compacting database online"/);
  assert.notEqual(contents(st), before);
  const expected = contents(st);
  await st.close();
  const again = Storage.open(file, { readOnly: true, strict: true });
  assert.equal(contents(again), expected);
  again.closeSync();
});

test('after a day any commit compacts (the once-a-day rule)', async () => {
  const file = tmp();
  createDatabaseFile(file, demoSchema());
  let now = 5_000_000;
  const st = Storage.open(file, { now: () => now, random: () => 0 });
  await commit(st, [{ op: 'insert', table: 'Root', row: { name: 'r' } }]);
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 1 } }]);
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 7);
  now += 24 * 60 * 60 * 1000;
  await commit(st, [{ op: 'update', table: 'Root', where: [], row: { counter: 2 } }]);
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 5, 'schema + snapshot');
  await st.close();
});

/* ---------- property: random transactions round-trip through the file ---------- */

const tagArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const opArb: fc.Arbitrary<Json> = fc.oneof(
  fc.record({
    op: fc.constant('update'),
    table: fc.constant('Root'),
    where: fc.constant([]),
    row: fc.record(
      {
        counter: fc.integer({ min: -5, max: 5 }),
        ratio: fc.constantFrom(0, 0.5, -1.25, 1e10),
        flag: fc.boolean(),
        tags: fc.uniqueArray(tagArb, { maxLength: 5 }).map((a) => ['set', a] as Json),
        options: fc
          .uniqueArray(fc.tuple(tagArb, tagArb), { maxLength: 4, selector: (t) => t[0] })
          .map((a) => ['map', a] as Json),
      },
      { requiredKeys: [] },
    ),
  }) as unknown as fc.Arbitrary<Json>,
  fc
    .record({
      mut: fc.constantFrom('insert', 'delete'),
      tags: fc.uniqueArray(tagArb, { maxLength: 3 }),
    })
    .map(
      ({ mut, tags }) =>
        ({
          op: 'mutate',
          table: 'Root',
          where: [],
          mutations: [['tags', mut, ['set', tags]]],
        }) as Json,
    ),
  fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { maxLength: 4 }).map(
    (t) =>
      ({
        op: 'update',
        table: 'Child',
        where: [],
        row: { trunks: ['set', t] },
      }) as Json,
  ),
);

test('property: any sequence of commits replays to the same rows (ours and real ovsdb-tool)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
      const file = tmp();
      createDatabaseFile(file, demoSchema());
      const st = Storage.open(file);
      run(st, [
        { op: 'insert', table: 'Root', row: { name: 'r', children: ['named-uuid', 'c'] } },
        { op: 'insert', table: 'Child', 'uuid-name': 'c', row: { name: 'c' } },
      ]);
      for (const op of ops) await commit(st, [op]);
      const expected = contents(st);
      await st.close();
      const again = Storage.open(file, { readOnly: true, strict: true });
      const ours = contents(again);
      const real = realContents(file, again);
      again.closeSync();
      rmSync(file);
      assert.equal(ours, expected);
      assert.equal(real, expected);
    }),
    { numRuns: 25 },
  );
});
