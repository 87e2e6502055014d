/**
 * The control loop in-process against real ovsdb-server 3.1 (a temp dir, killed by PID):
 * configuration written with real ovs-vsctl --no-wait, status read back from the replica.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DummyNetdev } from '../netdev/dummy.ts';
import { Vswitchd } from './vswitchd.ts';

let dir: string;
let server: ChildProcess;
let sock: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vswitchd-unit-'));
  sock = join(dir, 'db.sock');
  const db = join(dir, 'conf.db');
  spawnSync('/usr/bin/ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
  server = spawn(
    '/usr/sbin/ovsdb-server',
    [`--remote=punix:${sock}`, `--unixctl=${join(dir, 'ctl')}`, '--no-chdir', '-vconsole:off', db],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 500 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  vsctl('init');
});

after(() => {
  if (server.pid !== undefined && server.exitCode === null) server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

function vsctl(...args: string[]): void {
  const r = spawnSync('/usr/bin/ovs-vsctl', [`--db=unix:${sock}`, '--no-wait', ...args], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

test('status and statistics are written back; our own writes cause no reconfiguration', async () => {
  const vs = new Vswitchd({
    remote: `unix:${sock}`,
    enableDummy: true,
    override: false,
    linux: false,
    minStatsIntervalMs: 50,
  });
  try {
    await vs.whenConfigured();
    vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy');
    vsctl('add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy');
    const ovsRow = () => vs.idl.first('Open_vSwitch');
    const iface = () => vs.idl.find('Interface', (r) => r.string('name') === 'p1')[0];
    // --no-wait leaves next_cfg alone: the status shows the change was applied.
    assert.ok(await vs.idl.waitUntil(() => iface()?.integer('ofport') === 1, 5000));
    assert.deepEqual(ovsRow()?.set('datapath_types'), ['dummy', 'netdev']);
    assert.equal(ovsRow()?.string('dpdk_version'), 'none');
    assert.equal(iface()?.string('mac_in_use')?.startsWith('aa:55:aa:55:'), true);

    const netdev = vs.vswitch.bridges.get('br0')?.ifaces.get('p1')?.netdev as DummyNetdev;
    await new Promise((r) => setTimeout(r, 100)); // let the last status commit return
    const settled = vs.reconfigurations;
    netdev.stats.rxPackets = 7;
    netdev.stats.rxBytes = 420;
    assert.ok(
      await vs.idl.waitUntil(
        () =>
          iface()?.mapGet<number>('statistics', 'rx_packets') === 7 &&
          iface()?.mapGet<number>('statistics', 'rx_bytes') === 420,
        3000,
      ),
    );
    netdev.setUp(false);
    assert.ok(await vs.idl.waitUntil(() => iface()?.string('link_state') === 'down', 3000));
    // Several refreshes later, still no reconfiguration: status columns do not trigger one.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(vs.reconfigurations, settled);
    vsctl('del-br', 'br0');
    for (let i = 0; i < 250 && vs.vswitch.bridges.size > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(vs.vswitch.bridges.size, 0);
    assert.equal(ovsRow()?.integer('cur_cfg'), ovsRow()?.integer('next_cfg'));
  } finally {
    vs.close();
  }
});
