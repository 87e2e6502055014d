import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getColumn, getTable, parseColumnKeyValue, scorePartialMatch, VsctlError } from './ctl.ts';
import { vswitchSchema } from './schema.ts';

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VsctlError) return e.message;
    throw e;
  }
  return '';
}

const idl = { schema: vswitchSchema() };

test('table names: case-insensitive unique prefixes, exact names win', () => {
  assert.equal(getTable(idl, 'bridge').name, 'Bridge');
  assert.equal(getTable(idl, 'sflow').name, 'sFlow');
  assert.equal(getTable(idl, 'open').name, 'Open_vSwitch');
  assert.equal(getTable(idl, 'qos').name, 'QoS');
  assert.equal(
    errorOf(() => getTable(idl, 'c')),
    '"c" matches multiple table names: CT_Timeout_Policy, CT_Zone, Controller',
  );
  assert.equal(
    errorOf(() => getTable(idl, 'foo')),
    'unknown table "foo"',
  );
});

test('column names: unique prefixes with "-" and "_" interchangeable', () => {
  const bridge = getTable(idl, 'Bridge');
  assert.equal(getColumn(bridge, 'other-config').name, 'other_config');
  assert.equal(getColumn(bridge, 'flood').name, 'flood_vlans');
  assert.equal(
    errorOf(() => getColumn(bridge, 's')),
    'Bridge contains more than one column whose name matches "s": sflow, status, stp_enable',
  );
  assert.equal(
    errorOf(() => getColumn(bridge, 'x')),
    'Bridge does not contain a column whose name matches "x"',
  );
});

test('COLUMN:KEY=VALUE arguments', () => {
  const port = getTable(idl, 'Port');
  const r = parseColumnKeyValue('other_config:"a:b"=c=d', port, null, true);
  assert.deepEqual([r.column.name, r.key, r.value], ['other_config', '"a:b"', 'c=d']);
  const ops = ['=', '!=', '<', '>', '<=', '>='];
  assert.equal(parseColumnKeyValue('tag>=5', port, ops, true).operator, 5);
  assert.equal(
    errorOf(() => parseColumnKeyValue('tag', port, ops, true)),
    'tag: argument does not end in "=", "!=", "<", ">", "<=", or ">=" followed by a value.',
  );
  assert.equal(
    errorOf(() => parseColumnKeyValue('=1', port, null, true)),
    '=1: missing column name',
  );
  assert.equal(
    errorOf(() => parseColumnKeyValue('tag=1', port, null, false)),
    'tag=1: trailing garbage "=1" in argument',
  );
});

test('scorePartialMatch: an exact name beats every prefix, and prefixes score their length', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z_]{1,12}$/), fc.nat(), (name, cut) => {
      const prefix = name.slice(0, 1 + (cut % name.length));
      const s = scorePartialMatch(name, prefix);
      if (prefix === name) return s === Number.MAX_SAFE_INTEGER;
      return s === prefix.length && s < scorePartialMatch(name, name);
    }),
  );
  assert.equal(scorePartialMatch('other_config', 'OTHER-CONFIG'), Number.MAX_SAFE_INTEGER - 1);
  assert.equal(scorePartialMatch('name', 'names'), 0);
});
