import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  applyVlogOption,
  compilePattern,
  listLevels,
  listPatterns,
  openRequestedLogFile,
  reopenLogFile,
  resetVlogForTests,
  setConsoleWriter,
  setLevelsFromString,
  VlogRateLimit,
  vlog,
} from './vlog.ts';

function capture(): string[] {
  const lines: string[] = [];
  setConsoleWriter((l) => lines.push(l));
  return lines;
}

describe('vlog', () => {
  afterEach(() => {
    resetVlogForTests();
    setConsoleWriter(() => {});
  });

  it("writes console lines in OVS's default pattern, numbering every message", () => {
    const lines = capture();
    const log = vlog('vlog_test_a');
    log.info('hello\n');
    log.warn('second');
    log.dbg('hidden at the default level');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|00001\|vlog_test_a\|INFO\|hello\n$/);
    assert.match(lines[1], /\|00002\|vlog_test_a\|WARN\|second\n$/);
  });

  it("sets levels per module and destination from -v specs, with OVS's errors", () => {
    const lines = capture();
    const a = vlog('vlog_test_b');
    const b = vlog('vlog_test_c');
    assert.equal(setLevelsFromString('vlog_test_b:console:dbg'), null);
    assert.equal(a.dbgEnabled, true);
    assert.equal(b.dbgEnabled, false);
    a.dbg('shown');
    b.dbg('not shown');
    assert.equal(lines.length, 1);
    assert.equal(applyVlogOption('-vconsole:off'), 1);
    a.emer('silenced');
    assert.equal(lines.length, 1);
    assert.equal(setLevelsFromString('nosuch'), 'no destination, level, or module "nosuch"');
    // A module OVS has and we may not have registered yet is accepted, as OVS would.
    assert.equal(setLevelsFromString('ovsdb_rbac:file:dbg'), null);
    assert.equal(vlog('ovsdb_rbac').levels[2], 5);
    assert.equal(setLevelsFromString('console:file'), 'cannot specify multiple destinations');
    assert.equal(setLevelsFromString('info:dbg'), 'cannot specify multiple levels');
    assert.equal(setLevelsFromString('vlog_test_b:vlog_test_c'), 'cannot specify multiple modules');
    assert.throws(() => applyVlogOption('-vbogus'), {
      message: 'processing "bogus": no destination, level, or module "bogus"',
    });
  });

  it("lists levels in OVS's table layout, sorted by module", () => {
    vlog('vlog_test_d');
    setLevelsFromString('vlog_test_d:console:off');
    setLevelsFromString('vlog_test_d:syslog:err');
    const text = listLevels();
    const lines = text.split('\n');
    // Header and row shapes captured from real ovsdb-server 3.1's vlog/list.
    assert.equal(lines[0], '                 console    syslog    file');
    assert.equal(lines[1], '                 -------    ------    ------');
    assert.ok(lines.includes('vlog_test_d        OFF        ERR       INFO'));
    const names = lines.slice(2, -1).map((l) => l.split(' ')[0]);
    assert.deepEqual(names, [...names].sort());
  });

  it('lists and changes patterns like vlog/set PATTERN:dest:pattern', () => {
    // Default table captured from real ovsdb-server 3.1 (our syslog prefix is "none": we have
    // no libc syslog).
    assert.equal(
      listPatterns(),
      '         prefix                            format\n' +
        '         ------                            ------\n' +
        'SYSLOG   none                              ovs|%05N|%c%T|%p|%m\n' +
        'CONSOLE  none                              %D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m\n' +
        'FILE     none                              %D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m\n',
    );
    const lines = capture();
    assert.equal(setLevelsFromString('PATTERN:console:%c:%p:%m'), null);
    vlog('vlog_test_e').info('x');
    assert.deepEqual(lines, ['vlog_test_e:INFO:x\n']);
    assert.equal(setLevelsFromString('PATTERN:nowhere:%m'), 'unknown destination "nowhere"');
  });

  it('formats widths, justification and dates', () => {
    const m = vlog('vlog_test_f');
    const t = Date.UTC(2026, 10, 24, 13, 0, 0, 123);
    assert.equal(
      compilePattern('[%-8c][%8p][%05N]')(m, 4, 'x', t).replace(/\d{5}/, 'N'),
      '[vlog_test_f][    INFO][N]',
    );
    assert.equal(
      compilePattern('%D{%Y-%m-%dT%H:%M:%S.###Z}')(m, 4, 'x', t),
      '2026-11-24T13:00:00.123Z',
    );
    assert.equal(compilePattern('%D')(m, 4, 'x', t), '2026-11-24 13:00:00.123');
  });

  it('logs to a file given by --log-file, and reopens it after rotation', () => {
    setConsoleWriter(() => {});
    const dir = mkdtempSync(join(tmpdir(), 'ts-vlog-'));
    const file = join(dir, 'test.log');
    applyVlogOption(`--log-file=${file}`);
    openRequestedLogFile();
    const log = vlog('vlog_test_g');
    log.info('to file');
    log.dbg('not to file');
    renameSync(file, `${file}.1`);
    reopenLogFile();
    log.warn('after reopen');
    const first = readFileSync(`${file}.1`, 'utf8');
    assert.match(
      first,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\|\d{5}\|vlog\|INFO\|opened log file /,
    );
    assert.match(first, /\|vlog_test_g\|INFO\|to file\n/);
    assert.doesNotMatch(first, /not to file/);
    assert.match(readFileSync(file, 'utf8'), /\|vlog_test_g\|WARN\|after reopen\n$/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('rate-limits with a token bucket and reports what it dropped', () => {
    const rl = new VlogRateLimit(60, 2); // 1 per second, burst 2
    const t = Date.now();
    assert.equal(rl.admit(t), '');
    assert.equal(rl.admit(t), '');
    assert.equal(rl.admit(t), null);
    assert.equal(rl.admit(t + 10), null);
    assert.match(rl.admit(t + 1000) ?? '', /^Dropped 2 log messages in last 1 seconds/);
  });

  it('does no formatting work for a disabled level, and starts when the level is enabled', () => {
    // Speed is a benchmark's business; here we check the structure that makes it cheap: a
    // disabled call never reaches a destination, so nothing is formatted or written.
    const lines = capture();
    const log = vlog('vlog_test_h');
    assert.equal(log.isEnabled('dbg'), false);
    for (let i = 0; i < 1000; i++) log.dbg('x');
    assert.deepEqual(lines, []);
    assert.equal(setLevelsFromString('vlog_test_h:console:dbg'), null);
    assert.equal(log.isEnabled('dbg'), true);
    log.dbg('now shown');
    assert.equal(lines.length, 1);
    assert.match(lines[0], /\|vlog_test_h\|DBG\|now shown\n$/);
  });
});
