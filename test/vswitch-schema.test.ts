// Our schema/vswitch.ovsschema against Open vSwitch 3.1's installed one: same meaning, own text.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ours = fileURLToPath(new URL('../schema/vswitch.ovsschema', import.meta.url));
const reference = '/usr/share/openvswitch/vswitch.ovsschema';
const ovsdbTool = '/usr/bin/ovsdb-tool';

type J = null | boolean | number | string | J[] | { [k: string]: J };
type Obj = { [k: string]: J };

/** RFC 7047 §3.2 <base-type> in its one long form, so "string" ≡ {"type":"string"}. */
function normBase(b: J): Obj {
  const o: Obj = typeof b === 'string' ? { type: b } : { ...(b as Obj) };
  if (o.type === 'uuid' && o.refTable !== undefined && o.refType === undefined)
    o.refType = 'strong';
  return o;
}
/** RFC 7047 <type> with defaults made explicit (min 1, max 1, no value). */
function normType(t: J): Obj {
  if (typeof t === 'string') return { key: normBase(t), value: null, min: 1, max: 1 };
  const o = t as Obj;
  return {
    key: normBase(o.key),
    value: o.value === undefined ? null : normBase(o.value),
    min: o.min ?? 1,
    max: o.max ?? 1,
  };
}
function normSchema(s: Obj): Obj {
  const tables: Obj = {};
  for (const [tn, tj] of Object.entries(s.tables as Obj)) {
    const t = tj as Obj;
    const columns: Obj = {};
    for (const [cn, cj] of Object.entries(t.columns as Obj)) {
      const c = cj as Obj;
      columns[cn] = {
        type: normType(c.type),
        ephemeral: c.ephemeral ?? false,
        mutable: c.mutable ?? true,
      };
    }
    tables[tn] = {
      columns,
      isRoot: t.isRoot ?? false,
      maxRows: t.maxRows ?? null,
      indexes: t.indexes ?? [],
    };
  }
  return { name: s.name, version: s.version, tables };
}
const load = (p: string): Obj => JSON.parse(readFileSync(p, 'utf8')) as Obj;

test('our Open_vSwitch schema means exactly what OVS 3.1 schema means (cksum aside)', () => {
  const a = normSchema(load(ours));
  const b = normSchema(load(reference));
  // Table by table first, so that a failure names the table.
  assert.deepEqual(Object.keys(a.tables as Obj).sort(), Object.keys(b.tables as Obj).sort());
  for (const tn of Object.keys(b.tables as Obj)) {
    assert.deepEqual((a.tables as Obj)[tn], (b.tables as Obj)[tn], `table ${tn}`);
  }
  assert.deepEqual(a, b);
});

test('our schema is Open_vSwitch 8.3.1 with 19 tables', () => {
  const s = load(ours);
  assert.equal(s.name, 'Open_vSwitch');
  assert.equal(s.version, '8.3.1');
  assert.equal(Object.keys(s.tables as Obj).length, 19);
});

test('the cksum field is the POSIX cksum of the file without its cksum line (as OVS builds it)', () => {
  const text = readFileSync(ours, 'utf8');
  const without = text
    .split('\n')
    .filter((l) => !/"cksum": *"[0-9]+ [0-9]+",/.test(l))
    .join('\n');
  assert.equal(without.length, text.length - (text.split('\n')[1].length + 1));
  // Oracle: coreutils cksum, as OVS's build-aux/calculate-schema-cksum uses it.
  const sum = execFileSync('cksum', { input: without }).toString().trim();
  assert.equal(load(ours).cksum, sum);
  // Real ovsdb-tool reports the same value.
  assert.equal(execFileSync(ovsdbTool, ['schema-cksum', ours]).toString(), `${sum}\n`);
});

test('real ovsdb-tool creates a database from our schema and finds it equal to its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-schema-'));
  try {
    const db = join(dir, 'conf.db');
    execFileSync(ovsdbTool, ['create', db, ours]);
    assert.equal(execFileSync(ovsdbTool, ['db-name', db]).toString(), 'Open_vSwitch\n');
    assert.equal(execFileSync(ovsdbTool, ['db-version', db]).toString(), '8.3.1\n');
    // needs-conversion compares the whole schema, cksum included: with the reference's cksum
    // substituted, OVS itself must find our schema identical to its own.
    const refCksum = load(reference).cksum as string;
    const swapped = join(dir, 'swapped.ovsschema');
    writeFileSync(
      swapped,
      readFileSync(ours, 'utf8').replace(/"cksum": "[0-9]+ [0-9]+"/, `"cksum": "${refCksum}"`),
    );
    const db2 = join(dir, 'swapped.db');
    execFileSync(ovsdbTool, ['create', db2, swapped]);
    assert.equal(execFileSync(ovsdbTool, ['needs-conversion', db2, reference]).toString(), 'no\n');
    assert.equal(execFileSync(ovsdbTool, ['needs-conversion', db, reference]).toString(), 'yes\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
