import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VsctlError } from './ctl.ts';
import { findTypographicMistakes, parseGlobalOptions } from './options.ts';

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VsctlError) return e.message;
    throw e;
  }
  return '';
}

test('global options stop at the first command word and "--" is consumed', () => {
  const p = parseGlobalOptions(['--db=unix:/x', '--no-wait', '-t', '5', '--', 'add-br', 'br0']);
  assert.equal(p.options.db, 'unix:/x');
  assert.equal(p.options.noWait, true);
  assert.equal(p.options.timeout, 5);
  assert.equal(p.rest, 5);
  const q = parseGlobalOptions(['list-br', '--no-wait']);
  assert.equal(q.rest, 0);
  assert.equal(q.options.noWait, false);
});

test('long options match by unique prefix; ambiguity lists candidates as glibc does', () => {
  assert.equal(parseGlobalOptions(['--no-w', 'x']).options.noWait, true);
  assert.equal(
    errorOf(() => parseGlobalOptions(['--no'])),
    "option '--no' is ambiguous; possibilities: '--no-syslog' '--no-wait' '--no-leader-only' '--no-shuffle-remotes' '--no-headings'",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['--foo'])),
    "unrecognized option '--foo'",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['--db'])),
    "option '--db' requires an argument",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['--dry-run=1'])),
    "option '--dry-run' doesn't allow an argument",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['-x'])),
    "invalid option -- 'x'",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['-t'])),
    "option requires an argument -- 't'",
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['-t', '0'])),
    'value 0 on -t or --timeout is invalid',
  );
});

test('table options and command options given before the first command', () => {
  const p = parseGlobalOptions(['-fcsv', '--bare', '--may-exist', '--id=@x', 'add-br', 'b']);
  assert.equal(p.options.style.format, 'list');
  assert.equal(p.options.style.cellFormat, 'bare');
  assert.equal(p.options.style.headings, false);
  assert.deepEqual(
    [...p.local],
    [
      ['--may-exist', null],
      ['--id', '@x'],
    ],
  );
  assert.equal(
    errorOf(() => parseGlobalOptions(['--format=xml'])),
    'unknown output format "xml"',
  );
});

test('typographic mistakes from web pages are named with their fix', () => {
  // The seed walkthrough's sFlow command, as the shell passes it on.
  const seed = [
    '--',
    '-id=@sflow',
    'create',
    'sflow',
    'agent=eth1',
    'target=\u201d198.18.0.9:6343\u201d',
    '\u2014',
    'set',
    'bridge',
    'br0',
    'sflow=@sflow',
  ];
  assert.deepEqual(findTypographicMistakes(seed), [
    '"-id=@sflow" has a single dash; use "--id=@sflow"',
    '"target=\u201d198.18.0.9:6343\u201d" contains a right double quotation mark (U+201D); use a straight quote " (type \\" or \'"\' in the shell)',
    '"\u2014" is an em dash (U+2014); use "--" to separate commands',
  ]);
  assert.deepEqual(findTypographicMistakes(['\u2013may-exist', 'add-br', 'b']), [
    '"\u2013may-exist" starts with an en dash (U+2013); use "--may-exist"',
  ]);
  assert.deepEqual(findTypographicMistakes(['--', '-may-exist', 'add-br', 'b']), [
    '"-may-exist" has a single dash; use "--may-exist"',
  ]);
});

test('legitimate arguments are not mistaken for typography', () => {
  assert.deepEqual(
    findTypographicMistakes([
      '-t',
      '5',
      '-vconsole:off',
      'set',
      'bridge',
      'br0',
      'external_ids:note="it\u2019s \u201cquoted\u201d"',
      'other_config:x=a\u2014b',
    ]),
    [],
  );
});
