import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OvsdbError } from './error.ts';
import { OvsdbIoError } from './io-error.ts';
import { lockfileName } from './lockfile.ts';
import { ClusteredDatabaseError, composeRecord, OvsdbLog, parseRecordHeader } from './log.ts';

const ovsdbTool = '/usr/bin/ovsdb-tool';
const fixtures = fileURLToPath(new URL('../../test/fixtures/ovsdb/', import.meta.url));
/** Written by real ovsdb-tool 3.1 create + transact (see test/fixtures/ovsdb/README.md). */
const realDb = join(fixtures, 'real-3.1.db');
const demoSchema = join(fixtures, 'test.ovsschema');

const dir = mkdtempSync(join(tmpdir(), 'ts-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'db') => join(dir, `${n++}-${name}`);

/** Deliberately naive record builder, independent of composeRecord. */
function naiveRecord(jsonText: string): Buffer {
  const body = Buffer.from(`${jsonText}\n`);
  const sha = createHash('sha1').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`OVSDB JSON ${body.length} ${sha}\n`), body]);
}

/** What real ovsdb-tool prints on stderr/stdout and its exit status. */
function realTool(...args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(ovsdbTool, args, { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

function readAll(log: OvsdbLog): { records: Json[]; error: OvsdbError | null } {
  const records: Json[] = [];
  for (;;) {
    try {
      const r = log.read();
      if (r === null) return { records, error: null };
      records.push(r);
    } catch (e) {
      return { records, error: e as OvsdbError };
    }
  }
}
type Json = import('../lib/json.ts').Json;

test('header lines parse as OVS parses them', () => {
  assert.deepEqual(parseRecordHeader(`OVSDB JSON 12 ${'a'.repeat(40)}\n`), {
    magic: 'JSON',
    length: 12,
    sha1: 'a'.repeat(40),
  });
  assert.equal(parseRecordHeader(`OVSDB JSON 0 ${'a'.repeat(40)}\n`), null, 'zero length');
  assert.equal(parseRecordHeader(`OVSDB JSON 12 ${'a'.repeat(39)}\n`), null, 'short hash');
  assert.equal(parseRecordHeader(`OVSDB JSON 12 ${'a'.repeat(40)}`), null, 'no newline');
  assert.equal(parseRecordHeader(`OVSDX JSON 12 ${'a'.repeat(40)}\n`), null, 'bad lead');
  assert.equal(parseRecordHeader('garbage\n'), null);
});

test('composeRecord writes header, compact JSON and newline with length and SHA-1 of the data', () => {
  const json = { b: [1, 'x', null, true], a: { c: 'é\n' } };
  assert.deepEqual(composeRecord(json), naiveRecord('{"b":[1,"x",null,true],"a":{"c":"é\\n"}}'));
});

test('every record of a file written by real ovsdb-tool reads back and re-composes to the same bytes', () => {
  const bytes = readFileSync(realDb);
  const log = OvsdbLog.open(realDb, 'read-only');
  const { records, error } = readAll(log);
  log.close();
  assert.equal(error, null);
  assert.equal(records.length, 5);
  assert.equal((records[0] as { name: string }).name, 'Demo');
  assert.deepEqual(Buffer.concat(records.map((r) => composeRecord(r))), bytes);
});

test('a torn last record is reported at its offset with the same words as real ovsdb-tool', () => {
  const db = tmp();
  copyFileSync(realDb, db);
  const full = statSync(db).size;
  truncateSync(db, full - 5);
  const log = OvsdbLog.open(db, 'read-only');
  const { records, error } = readAll(log);
  log.close();
  assert.equal(records.length, 4);
  assert.ok(error instanceof OvsdbIoError);
  const real = realTool('show-log', db);
  assert.equal(real.status, 1);
  assert.equal(real.err, `ovsdb-tool: ${error.toString()}\n`);
  assert.match(
    error.toString(),
    /^I\/O error: .*: error reading \d+ bytes starting at offset \d+ \(End of file\)$/,
  );
});

test('a corrupt record (bad hash, bad header) is reported as real ovsdb-tool reports it', () => {
  const bad = tmp();
  const bytes = Buffer.from(readFileSync(realDb));
  const i = bytes.lastIndexOf('"_is_diff":true');
  bytes.write('"_is_diff":fals', i); // same length, other hash
  writeFileSync(bad, bytes);
  const log = OvsdbLog.open(bad, 'read-only');
  const { records, error } = readAll(log);
  log.close();
  assert.equal(records.length, 4);
  assert.equal(realTool('show-log', bad).err, `ovsdb-tool: ${String(error)}\n`);

  const garbage = tmp();
  writeFileSync(garbage, Buffer.concat([readFileSync(realDb), Buffer.from('garbage\n')]));
  const log2 = OvsdbLog.open(garbage, 'read-only');
  const r2 = readAll(log2);
  log2.close();
  assert.equal(r2.records.length, 5);
  assert.equal(realTool('show-log', garbage).err, `ovsdb-tool: ${String(r2.error)}\n`);
});

test('a record whose body is not JSON is reported with OVS parser message', () => {
  const f = tmp();
  const body = Buffer.from('{"a": tru}\n');
  const sha = createHash('sha1').update(body).digest('hex');
  writeFileSync(
    f,
    Buffer.concat([readFileSync(realDb), Buffer.from(`OVSDB JSON ${body.length} ${sha}\n`), body]),
  );
  const log = OvsdbLog.open(f, 'read-only');
  const { records, error } = readAll(log);
  log.close();
  assert.equal(records.length, 5);
  assert.match(
    String(error),
    /are not valid JSON \(line 0, column 9, byte 9: invalid keyword 'tru'\)$/,
  );
  assert.equal(realTool('show-log', f).err, `ovsdb-tool: ${String(error)}\n`);
});

test('the first write after a torn tail truncates it; real ovsdb-tool then reads the whole file', () => {
  const db = tmp();
  copyFileSync(realDb, db);
  truncateSync(db, statSync(db).size - 7);
  const log = OvsdbLog.open(db, 'read-write');
  const { records, error } = readAll(log);
  assert.equal(records.length, 4);
  assert.ok(error);
  const good = log.offset;
  const rec = { _date: 1700000000000, _comment: 'after crash', _is_diff: true };
  log.write(rec);
  log.commitSync();
  log.close();
  assert.equal(statSync(db).size, good + naiveRecord(JSON.stringify(rec)).length);
  const real = realTool('show-log', db);
  assert.equal(real.status, 0, real.err);
  assert.match(real.out, /record 4: 2023-11-14 22:13:20\.000 "after crash"\n$/);
});

test('create-excl refuses an existing file and open reports missing files as OVS does', () => {
  const db = tmp();
  OvsdbLog.open(db, 'create-excl').close();
  assert.throws(
    () => OvsdbLog.open(db, 'create-excl'),
    (e: unknown) => String(e) === `I/O error: ${db}: create failed (File exists)`,
  );
  const missing = join(dir, 'missing');
  assert.throws(
    () => OvsdbLog.open(missing, 'read-only'),
    (e: unknown) => String(e) === `I/O error: ${missing}: open failed (No such file or directory)`,
  );
  assert.equal(
    realTool('db-name', missing).err,
    `ovsdb-tool: I/O error: ${missing}: open failed (No such file or directory)\n`,
  );
});

test('a file that is not a log is "unexpected file format"', () => {
  const f = tmp();
  writeFileSync(f, 'hello world\n');
  assert.throws(
    () => OvsdbLog.open(f, 'read-only'),
    (e: unknown) =>
      e instanceof OvsdbError && String(e) === `ovsdb error: ${f}: unexpected file format`,
  );
  assert.equal(
    realTool('db-name', f).err,
    `ovsdb-tool: ovsdb error: ${f}: unexpected file format\n`,
  );
});

test('a clustered database file gets a clear "not supported" error', () => {
  const db = tmp();
  execFileSync(ovsdbTool, ['create-cluster', db, demoSchema, 'tcp:127.0.0.1:6641']);
  assert.match(readFileSync(db, 'latin1'), /^OVSDB CLUSTER /);
  assert.throws(
    () => OvsdbLog.open(db, 'read-write'),
    (e: unknown) =>
      e instanceof ClusteredDatabaseError &&
      e.tag === 'not supported' &&
      /clustered databases are not supported/.test(String(e)),
  );
});

test('two writers of one file in one process: the second is refused (EDEADLK)', () => {
  const db = tmp();
  const a = OvsdbLog.open(db, 'create');
  const warnings: string[] = [];
  assert.throws(
    () => OvsdbLog.open(db, 'read-write', { warn: (w) => warnings.push(w) }),
    (e: unknown) =>
      String(e) === `I/O error: ${db}: failed to lock lockfile (Resource deadlock avoided)`,
  );
  assert.match(warnings[0] ?? '', /this process has already locked it/);
  // Readers do not lock.
  OvsdbLog.open(db, 'read-only').close();
  a.close();
  OvsdbLog.open(db, 'read-write').close();
  assert.equal(readFileSync(lockfileName(db), 'utf8'), '', 'the lock file is left empty');
});

test('a lock held by another live process (ours, by PID) is refused; a dead PID is taken over', async () => {
  const db = tmp();
  OvsdbLog.open(db, 'create').close();
  const lock = lockfileName(db);
  // A live process whose PID is in the lock file.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    writeFileSync(lock, `${child.pid}\n`);
    assert.throws(
      () => OvsdbLog.open(db, 'read-write'),
      (e: unknown) =>
        String(e) ===
        `I/O error: ${db}: failed to lock lockfile (Resource temporarily unavailable)`,
    );
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  OvsdbLog.open(db, 'read-write').close();
  // A PID reused by an unrelated program (not node, not ovsdb) does not hold the lock.
  const other = spawn('/bin/sleep', ['20'], { stdio: 'ignore' });
  try {
    writeFileSync(lock, `${other.pid}\n`);
    OvsdbLog.open(db, 'read-write').close();
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
  }
});

test("a real OVS fcntl lock (seen in /proc/locks) is refused, and real OVS's error matches ours", async () => {
  const db = tmp();
  OvsdbLog.open(db, 'create').close();
  const lock = lockfileName(db);
  const holder = spawn(
    '/usr/bin/python3',
    [
      '-c',
      'import fcntl,os,sys,time\nfd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT)\nfcntl.lockf(fd,fcntl.LOCK_EX)\nprint("locked",flush=True)\ntime.sleep(20)',
      lock,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', () => reject(new Error('lock holder died')));
    });
    let ours = '';
    assert.throws(
      () => OvsdbLog.open(db, 'read-write'),
      (e: unknown) => {
        ours = String(e);
        return true;
      },
    );
    const real = realTool('transact', db, '["Demo"]');
    assert.equal(real.err.split('\n').at(-2), `ovsdb-tool: ${ours}`);
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
  }
});

test('replace() swaps the file atomically, follows a symlink, and appends continue in the new file', () => {
  const real = tmp('target');
  const link = tmp('link');
  OvsdbLog.open(real, 'create').close();
  symlinkSync(real, link);
  const log = OvsdbLog.open(link, 'read-write');
  log.write({ a: 1 });
  log.write({ b: 2 });
  log.replace([{ schema: 1 }, { rows: 2 }]);
  assert.equal(log.offset, log.base);
  log.write({ c: 3 });
  log.commitSync();
  log.close();
  assert.ok(statSync(link).isFile());
  assert.deepEqual(
    readFileSync(real),
    Buffer.concat([naiveRecord('{"schema":1}'), naiveRecord('{"rows":2}'), naiveRecord('{"c":3}')]),
  );
  assert.throws(() => statSync(`${real}.tmp`));
});

test('async commit() resolves for every one of many concurrent callers', async () => {
  const log = OvsdbLog.open(tmp(), 'create');
  const waits: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    log.write({ i });
    waits.push(log.commit());
  }
  await Promise.all(waits);
  log.close();
});

test('a read-only log cannot be written: the error is the one real ovsdb-tool query reports', () => {
  const db = tmp();
  copyFileSync(realDb, db);
  const log = OvsdbLog.open(db, 'read-only');
  readAll(log);
  const size = log.offset;
  let err: unknown;
  try {
    log.write({ x: 1 });
  } catch (e) {
    err = e;
  }
  log.close();
  assert.ok(err instanceof OvsdbIoError);
  assert.deepEqual(err.toJson(), {
    error: 'I/O error',
    details: `${db}: cannot truncate to length ${size}`,
    'io-error': 'Invalid argument',
  });
});
