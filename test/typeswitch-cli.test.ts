// bin/typeswitch on its embedded default: start, status, restart and stop, driven and checked
// with real Open vSwitch tools pointed at the printed OVS_RUNDIR.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = join(import.meta.dirname, '..');
const home = mkdtempSync(join(tmpdir(), 'ts-home-'));
const env: NodeJS.ProcessEnv = { ...process.env, TYPESWITCH_HOME: home };
for (const v of ['OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR', 'OVS_SYSCONFDIR']) delete env[v];
const ovsEnv = { ...env, OVS_RUNDIR: join(home, 'run'), OVS_DBDIR: join(home, 'db') };

// The daemons start in a network namespace of their own (they inherit it from unshare), so
// the TAP device of the bridge the test adds never appears on the host running the tests.
function typeswitch(...args: string[]) {
  return spawnSync('/usr/bin/unshare', ['--net', join(root, 'bin/typeswitch'), ...args], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}
function real(cmd: string, ...args: string[]) {
  return spawnSync(cmd, args, { env: ovsEnv, encoding: 'utf8', timeout: 30_000 });
}
function serverPid(name = 'ovsdb-server'): number | null {
  const f = join(home, 'run', `${name}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : null;
}

before(() => {
  spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
});
after(() => {
  for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
    const pid = serverPid(name);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  rmSync(home, { recursive: true, force: true });
});

test('start creates the database, starts ovsdb-server and prints how to reach it', () => {
  const r = typeswitch('start');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`created database ${join(home, 'db', 'conf.db')}`));
  assert.match(r.stdout, /started ovsdb-server \(pid \d+\)/);
  assert.match(r.stdout, /started ovs-vswitchd \(pid \d+\)/);
  assert.match(r.stdout, new RegExp(`export OVS_RUNDIR=${join(home, 'run')} `));
  assert.ok(existsSync(join(home, 'run', 'db.sock')));
});

test('real ovs-appctl finds the server by name and real ovs-vsctl uses the database', () => {
  const v = real('/usr/bin/ovs-appctl', '-t', 'ovsdb-server', 'version');
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^ovsdb-server \(TypeSwitch\) /);
  // typeswitch start initialised the database: show prints the Open_vSwitch row at once.
  const show = real('/usr/bin/ovs-vsctl', '--no-wait', 'show');
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /^[0-9a-f-]{36}\n$/);
  // Without --no-wait: real ovs-vsctl waits until our ovs-vswitchd has applied the change.
  const add = real('/usr/bin/ovs-vsctl', '--timeout=20', 'add-br', 'br0');
  assert.equal(add.status, 0, add.stderr);
  assert.equal(real('/usr/bin/ovs-vsctl', 'list-br').stdout, 'br0\n');
  assert.equal(real('/usr/bin/ovs-vsctl', 'get', 'Interface', 'br0', 'ofport').stdout, '65534\n');
  const vs = real('/usr/bin/ovs-appctl', '-t', 'ovs-vswitchd', 'version');
  assert.equal(vs.status, 0, vs.stderr);
  assert.match(vs.stdout, /^ovs-vswitchd \(TypeSwitch\) /);
});

test('status reports the running server; a second start leaves it alone', () => {
  const pid = serverPid();
  const s = typeswitch('status');
  assert.equal(s.status, 0);
  assert.match(s.stdout, new RegExp(`ovsdb-server is running with pid ${pid}`));
  assert.match(s.stdout, /ovs-vswitchd is running with pid \d+/);
  const again = typeswitch('start');
  assert.equal(again.status, 0);
  assert.match(again.stdout, new RegExp(`ovsdb-server is already running \\(pid ${pid}\\)`));
  assert.equal(serverPid(), pid);
});

test('restart keeps the data; stop ends the server and status says so', () => {
  const before = serverPid();
  const r = typeswitch('restart');
  assert.equal(r.status, 0, r.stderr);
  assert.notEqual(serverPid(), before);
  assert.equal(real('/usr/bin/ovs-vsctl', '--no-wait', 'list-br').stdout, 'br0\n');
  const pid = serverPid()!;
  const stop = typeswitch('stop');
  assert.equal(stop.status, 0);
  assert.match(stop.stdout, new RegExp(`stopped ovsdb-server \\(pid ${pid}\\)`));
  assert.match(stop.stdout, /stopped ovs-vswitchd \(pid \d+\)/);
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'latin1') : '';
  assert.ok(stat === '' || / Z /.test(stat), `pid ${pid} still runs: ${stat}`);
  const s = typeswitch('status');
  assert.equal(s.status, 3);
  assert.match(s.stdout, /ovsdb-server is not running/);
  assert.match(s.stdout, /ovs-vswitchd is not running/);
});

test('an unknown subcommand prints the usage and fails', () => {
  const r = typeswitch('frobnicate');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /usage: typeswitch start \| stop \| status \| restart/);
});
