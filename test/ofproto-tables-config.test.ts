/**
 * Flow table configuration, as OVS's ofproto.at cases "flow table names", "table description
 * (OpenFlow 1.4)" and "flow table configuration" drive it, side by side on our switch and on
 * real ovs-vswitchd 3.1 (both --enable-dummy), both asked by real ovs-ofctl 3.1: table names
 * set through Flow_Table rows and through table-features requests (OVSDB's outrank OpenFlow's),
 * flow limits in table stats, and eviction set by an OF1.4 table-mod in table-desc.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

function run(s: Stack, args: string[]) {
  return spawnSync('/usr/bin/ovs-ofctl', args, { encoding: 'utf8', env: s.env, timeout: 10_000 });
}

/** What ovs-ofctl printed and how it exited, so errors compare too. */
function ofctl(s: Stack, args: string[]): string {
  const r = run(s, args);
  return `${r.status} ${r.stdout}${r.stderr.split('\n')[0]}`;
}

function tableLines(s: Stack): string {
  return run(s, ['-O', 'OpenFlow15', 'dump-table-features', 'br0'])
    .stdout.split('\n')
    .filter((l) => l.startsWith('  table'))
    .join('\n');
}

function ok(s: Stack, args: string[]): void {
  const r = vsctl(s, args);
  assert.equal(r.status, 0, r.stderr);
}

/** One scenario, returning everything it printed. */
function scenario(s: Stack): string[] {
  const out: string[] = [];
  ok(s, dummyBridge('br0', [1, 2]));
  // Names through OpenFlow: OF1.3 replaces all tables' features, OF1.5 modifies one.
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '0', 'name:xyzzy']));
  out.push(ofctl(s, ['-O', 'OpenFlow15', 'mod-table', 'br0', '1', 'name:quux']));
  out.push(tableLines(s));
  // Names through OVSDB replace them and then cannot be changed through OpenFlow.
  ok(s, [
    '--',
    '--id=@t0',
    'create',
    'Flow_Table',
    'name=zero',
    '--',
    '--id=@t1',
    'create',
    'Flow_Table',
    'name=one',
    '--',
    '--id=@t2',
    'create',
    'Flow_Table',
    'name=two',
    '--',
    'set',
    'bridge',
    'br0',
    'flow_tables={0=@t0,1=@t1,2=@t2}',
  ]);
  out.push(tableLines(s));
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '0', 'name:zero']));
  out.push(ofctl(s, ['-O', 'OpenFlow15', 'mod-table', 'br0', '1', 'name:one']));
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '0', 'name:xyzzy']));
  out.push(ofctl(s, ['-O', 'OpenFlow15', 'mod-table', 'br0', '1', 'name:quux']));
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '3', 'name:three']));
  out.push(tableLines(s));
  // Once OVSDB lets go of a name, OpenFlow may set and clear it.
  ok(s, ['remove', 'bridge', 'br0', 'flow_tables', '2']);
  out.push(tableLines(s));
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '2', 'name:foobar']));
  out.push(tableLines(s));
  out.push(ofctl(s, ['-O', 'OpenFlow13', 'mod-table', 'br0', '2', 'name:']));
  out.push(tableLines(s));
  // A flow limit shows in OF1.0 table stats.
  ok(s, [
    '--',
    '--id=@t4',
    'create',
    'Flow_Table',
    'flow-limit=1024',
    '--',
    'set',
    'bridge',
    'br0',
    'flow_tables:4=@t4',
  ]);
  out.push(ofctl(s, ['dump-tables', 'br0']));
  out.push(ofctl(s, ['-O', 'OpenFlow12', 'dump-tables', 'br0']));
  // Eviction through an OF1.4 table-mod shows in table-desc; a vacancy change keeps it.
  const desc = (): string =>
    ofctl(s, ['-O', 'OpenFlow14', 'dump-table-desc', 'br0']).split('\n').slice(0, 8).join('\n');
  out.push(desc());
  out.push(ofctl(s, ['-O', 'OpenFlow14', 'mod-table', 'br0', '0', 'evict']));
  out.push(desc());
  out.push(ofctl(s, ['-O', 'OpenFlow14', 'mod-table', 'br0', '0', 'vacancy:20,80']));
  out.push(desc());
  out.push(ofctl(s, ['-O', 'OpenFlow14', 'mod-table', 'br0', '0', 'noevict']));
  out.push(desc());
  return out;
}

describe('flow table configuration on our switch and on real ovs-vswitchd', () => {
  let ours: string[] = [];
  let real: string[] = [];
  sideBySide(scenario, (which, r) => {
    if (which === 'real') real = r;
    else ours = r;
  });

  it('table names come from table-features requests and Flow_Table rows', () => {
    assert.match(real[2] ?? '', /table 0 \("xyzzy"\):\n {2}table 1 \("quux"\): ditto/);
    assert.match(real[3] ?? '', /table 2 \("two"\)/);
    assert.deepEqual(ours.slice(0, 4), real.slice(0, 4));
  });

  it('OVSDB names may be restated but not changed through OpenFlow', () => {
    assert.match(real[6] ?? '', /^1 .*OFPTFFC_EPERM/);
    assert.match(real[9] ?? '', /table 3 \("three"\)/);
    assert.deepEqual(ours.slice(4, 10), real.slice(4, 10));
  });

  it('names OVSDB drops may be set and cleared through OpenFlow', () => {
    assert.match(real[12] ?? '', /table 2 \("foobar"\)/);
    assert.doesNotMatch(real[14] ?? '', /foobar/);
    assert.deepEqual(ours.slice(10, 15), real.slice(10, 15));
  });

  it('a Flow_Table flow limit shows as max_entries', () => {
    assert.match(real[15] ?? '', /max_entries=1024/);
    assert.match(real[16] ?? '', /OFPST_TABLE reply \(OF1.2\)[\s\S]*max_entries=1024/);
    assert.deepEqual(ours.slice(15, 17), real.slice(15, 17));
  });

  it('OF1.4 table-mod eviction shows in table-desc', () => {
    assert.match(real[17] ?? '', /eviction=off/);
    assert.match(real[19] ?? '', /table 0:\n {3}eviction=on/);
    assert.match(real[21] ?? '', /eviction=on .*\n {3}vacancy=on vacancy_down=20%/);
    assert.deepEqual(ours.slice(17), real.slice(17));
  });
});
