/**
 * Opening a database file replays each record through the commit checks, as OVS does
 * (ovsdb_txn_replay_commit): files written by real ovsdb-tool, with records appended that
 * no server would have committed (a reference to a missing row, the deletion of a row still
 * referenced, an unreferenced non-root row), read by real and by our ovsdb-tool and
 * ovsdb-server. ovsdb-tool stops at the first record that fails the checks, silently;
 * ovsdb-server logs it and goes on with the next record. Both collect the garbage.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitAccepting } from './socket-wait.ts';

const ROOT = join(import.meta.dirname, '..');
const REAL = {
  tool: '/usr/bin/ovsdb-tool',
  server: '/usr/sbin/ovsdb-server',
};
const OURS = {
  tool: join(ROOT, 'bin', 'ovsdb-tool'),
  server: join(ROOT, 'bin', 'ovsdb-server'),
};
const CLIENT = '/usr/bin/ovsdb-client';

const SCHEMA = {
  name: 'R',
  version: '1.0.0',
  tables: {
    Root: {
      columns: {
        name: { type: 'string' },
        kids: {
          type: { key: { type: 'uuid', refTable: 'Kid' }, min: 0, max: 'unlimited' },
        },
      },
      isRoot: true,
    },
    Kid: { columns: { name: { type: 'string' } } },
  },
};

const MISSING = '0badbad0-0000-4000-8000-000000000001';
const ORPHAN = '0badbad0-0000-4000-8000-000000000002';
const BAD_ROOT = '0badbad0-0000-4000-8000-000000000003';
const LATE_ROOT = '0badbad0-0000-4000-8000-000000000004';

let dir: string;
let kid1 = '';
let root1 = '';

/** One log record, built naively from the format's definition: header, JSON, newline. */
function record(json: unknown): string {
  const data = `${JSON.stringify(json)}\n`;
  const sha1 = createHash('sha1').update(data).digest('hex');
  return `OVSDB JSON ${Buffer.byteLength(data)} ${sha1}\n${data}`;
}

/**
 * A database file made by real ovsdb-tool (schema, then a transaction with one Root row
 * referencing one Kid row), with `extra` records appended.
 */
function makeDb(name: string, extra: unknown[]): string {
  const db = join(dir, name);
  execFileSync(REAL.tool, ['create', db, join(dir, 'r.ovsschema')]);
  const out = execFileSync(REAL.tool, [
    'transact',
    db,
    JSON.stringify([
      'R',
      { op: 'insert', table: 'Kid', row: { name: 'k1' }, 'uuid-name': 'k' },
      {
        op: 'insert',
        table: 'Root',
        row: { name: 'r1', kids: ['named-uuid', 'k'] },
      },
    ]),
  ]).toString();
  const uuids = [...out.matchAll(/"uuid","([0-9a-f-]{36})"/g)].map((m) => m[1] as string);
  kid1 = uuids[0] as string;
  root1 = uuids[1] as string;
  for (const r of extra) appendFileSync(db, record(r));
  return db;
}

function records(): { orphan: unknown; badRef: unknown; late: unknown; badDelete: unknown } {
  return {
    // An unreferenced row of a non-root table: garbage, collected by the checks.
    orphan: { Kid: { [ORPHAN]: { name: 'orphan' } }, _date: 1 },
    // A reference to a row that does not exist.
    badRef: {
      Root: { [BAD_ROOT]: { name: 'bad', kids: ['uuid', MISSING] } },
      _date: 2,
    },
    late: { Root: { [LATE_ROOT]: { name: 'late' } }, _date: 3 },
    // Deleting a row that r1 still references.
    badDelete: { Kid: { [kid1]: null }, _date: 4 },
  };
}

const SELECT = JSON.stringify([
  'R',
  { op: 'select', table: 'Root', where: [], columns: ['_uuid', 'name', 'kids'] },
  { op: 'select', table: 'Kid', where: [], columns: ['_uuid', 'name'] },
]);

/** Select results with rows in _uuid order: OVS returns them in hash order, we do not. */
function sortedRows(text: string): unknown {
  const results = JSON.parse(text) as { rows: { _uuid: [string, string] }[] }[];
  for (const r of results) r.rows.sort((a, b) => (a._uuid[1] < b._uuid[1] ? -1 : 1));
  return results;
}

function toolQuery(tool: string, db: string): string {
  return execFileSync(tool, ['query', db, SELECT], { encoding: 'utf8' });
}

/** Serves a copy of `db`, returns what a select sees and what the server logged. */
async function serve(server: string, db: string, tag: string): Promise<[string, string]> {
  const d = join(dir, `srv-${tag}`);
  mkdirSync(d);
  const copy = join(d, 'db');
  writeFileSync(copy, readFileSync(db));
  const sock = join(d, 'sock');
  const logFile = join(d, 'log');
  const child: ChildProcess = spawn(
    server,
    [
      copy,
      `--remote=punix:${sock}`,
      `--unixctl=${join(d, 'ctl')}`,
      `--log-file=${logFile}`,
      '--no-chdir',
      '-vconsole:off',
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitAccepting(sock, 10000);
    const out = execFileSync(CLIENT, ['transact', `unix:${sock}`, SELECT], {
      encoding: 'utf8',
    });
    // The file itself is left as it was: nothing cut off, nothing rewritten.
    assert.deepEqual(readFileSync(copy), readFileSync(db), `${tag}: file unchanged`);
    return [out, readFileSync(logFile, 'utf8')];
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('replayed records go through the commit checks (files from real ovsdb-tool)', {
  timeout: 60000,
}, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-replay-'));
    writeFileSync(join(dir, 'r.ovsschema'), JSON.stringify(SCHEMA));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ovsdb-tool stops silently at a record referencing a missing row; garbage is collected', () => {
    const db = makeDb('ref.db', []);
    const r = records();
    for (const x of [r.orphan, r.badRef, r.late]) appendFileSync(db, record(x));
    const real = toolQuery(REAL.tool, db);
    // Real ovsdb-tool: r1 and k1 only (the orphan collected, reading stopped at badRef).
    assert.ok(real.includes(root1) && real.includes(kid1), real);
    assert.ok(!real.includes(ORPHAN) && !real.includes(BAD_ROOT) && !real.includes(LATE_ROOT));
    assert.deepEqual(sortedRows(toolQuery(OURS.tool, db)), sortedRows(real));
  });

  it('ovsdb-server logs the failing record, skips it and applies the records after it', async () => {
    const db = makeDb('ref-server.db', []);
    const r = records();
    for (const x of [r.orphan, r.badRef, r.late]) appendFileSync(db, record(x));
    const [realOut, realLog] = await serve(REAL.server, db, 'real-ref');
    const [ourOut, ourLog] = await serve(OURS.server, db, 'ours-ref');
    assert.ok(realOut.includes(LATE_ROOT) && !realOut.includes(BAD_ROOT), realOut);
    assert.ok(!realOut.includes(ORPHAN));
    const message = `referential integrity violation: Table Root column kids row ${BAD_ROOT} references nonexistent row ${MISSING} in table Kid.`;
    assert.ok(realLog.includes(`|ovsdb_server|INFO|${message}`), realLog);
    assert.ok(ourLog.includes(`|ovsdb_server|INFO|${message}`), ourLog);
    assert.deepEqual(sortedRows(ourOut), sortedRows(realOut));
  });

  it('a record deleting a row that is still referenced: tool stops there, server skips it', async () => {
    const db = makeDb('del.db', []);
    const r = records();
    for (const x of [r.badDelete, r.late]) appendFileSync(db, record(x));
    const real = toolQuery(REAL.tool, db);
    assert.ok(real.includes(kid1) && !real.includes(LATE_ROOT), real);
    assert.deepEqual(sortedRows(toolQuery(OURS.tool, db)), sortedRows(real));
    const [realOut, realLog] = await serve(REAL.server, db, 'real-del');
    const [ourOut, ourLog] = await serve(OURS.server, db, 'ours-del');
    const message = `referential integrity violation: cannot delete Kid row ${kid1} because of 1 remaining reference(s)`;
    assert.ok(realLog.includes(`|ovsdb_server|INFO|${message}`), realLog);
    assert.ok(ourLog.includes(`|ovsdb_server|INFO|${message}`), ourLog);
    assert.ok(realOut.includes(kid1) && realOut.includes(LATE_ROOT), realOut);
    assert.deepEqual(sortedRows(ourOut), sortedRows(realOut));
  });
});
