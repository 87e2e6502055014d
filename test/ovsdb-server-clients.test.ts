// Real Open vSwitch 3.1 clients (ovsdb-client, ovs-vsctl, ovs-appctl, the Python IDL) against
// our ovsdb-server. Every assertion is on what the real tool printed.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createDb,
  ensureBuilt,
  makeTempDir,
  run,
  type ServerProcess,
  startServer,
} from './ovsdb-server-harness.ts';

let dir: string;
let srv: ServerProcess;
let db: string;

const vsctl = (...args: string[]) =>
  run('/usr/bin/ovs-vsctl', ['--no-wait', `--db=unix:${srv.sock}`, '--timeout=10', ...args]);
const client = (...args: string[]) => run('/usr/bin/ovsdb-client', args);
const appctl = (...args: string[]) => run('/usr/bin/ovs-appctl', ['-t', srv.ctl, ...args]);

before(async () => {
  ensureBuilt();
  dir = makeTempDir();
  db = join(dir, 'conf.db');
  await createDb(db);
  srv = await startServer(dir, [db]);
});

after(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ovsdb-server with real OVS clients', () => {
  it('ovsdb-client list-dbs and get-schema', async () => {
    const r = await client('list-dbs', `unix:${srv.sock}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Open_vSwitch\n_Server\n');
    const s = await client('get-schema', `unix:${srv.sock}`, 'Open_vSwitch');
    assert.equal(s.code, 0, s.stderr);
    const schema = JSON.parse(s.stdout);
    assert.equal(schema.name, 'Open_vSwitch');
    assert.ok(schema.tables.Bridge.columns.name);
    const v = await client('get-schema-version', `unix:${srv.sock}`, 'Open_vSwitch');
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    const tables = await client('list-tables', `unix:${srv.sock}`, 'Open_vSwitch');
    assert.match(tables.stdout, /^Table\n-+\n(.*\n)*Bridge\n/);
  });

  it('ovs-vsctl init, add-br, add-port, set, list, create, destroy', async () => {
    assert.equal((await vsctl('init')).code, 0);
    assert.equal((await vsctl('add-br', 'br0')).code, 0);
    assert.equal((await vsctl('add-port', 'br0', 'p1')).code, 0);
    assert.equal((await vsctl('list-br')).stdout, 'br0\n');
    assert.equal((await vsctl('list-ports', 'br0')).stdout, 'p1\n');
    assert.equal((await vsctl('set', 'Port', 'p1', 'tag=42')).code, 0);
    assert.equal((await vsctl('get', 'Port', 'p1', 'tag')).stdout, '42\n');
    const list = await vsctl('--columns=name,tag', 'list', 'Port', 'p1');
    assert.equal(list.stdout, 'name                : p1\ntag                 : 42\n');
    const created = await vsctl('create', 'QoS', 'type=linux-htb');
    assert.equal(created.code, 0, created.stderr);
    const uuid = created.stdout.trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal((await vsctl('get', 'QoS', uuid, 'type')).stdout, 'linux-htb\n');
    assert.equal((await vsctl('destroy', 'QoS', uuid)).code, 0);
    const gone = await vsctl('get', 'QoS', uuid, 'type');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no row/);
    const dup = await vsctl('add-br', 'br0');
    assert.notEqual(dup.code, 0);
    assert.match(
      dup.stderr,
      /cannot create a bridge named br0 because a bridge named br0 already exists/,
    );
  });

  it('ovsdb-client transact and dump', async () => {
    const t = await client(
      'transact',
      `unix:${srv.sock}`,
      JSON.stringify([
        'Open_vSwitch',
        { op: 'select', table: 'Bridge', where: [], columns: ['name'] },
      ]),
    );
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(JSON.parse(t.stdout), [{ rows: [{ name: 'br0' }] }]);
    const bad = await client(
      'transact',
      `unix:${srv.sock}`,
      JSON.stringify(['Open_vSwitch', { op: 'select', table: 'Nope', where: [] }]),
    );
    assert.match(bad.stdout, /unknown table|"error"/);
    const d = await client('dump', `unix:${srv.sock}`, 'Open_vSwitch', 'Bridge', 'name');
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout, 'Bridge table\nname\n----\nbr0\n');
  });

  it('ovsdb-client monitor sees an insertion made by ovs-vsctl', async () => {
    const { spawn } = await import('node:child_process');
    const mon = spawn(
      '/usr/bin/ovsdb-client',
      ['monitor', `unix:${srv.sock}`, 'Open_vSwitch', 'Bridge', 'name'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    mon.stdout.on('data', (d) => {
      out += String(d);
    });
    try {
      const deadline = Date.now() + 10_000;
      while (!out.includes('br0') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.match(out, /initial\s+br0/);
      assert.equal((await vsctl('add-br', 'br-mon')).code, 0);
      while (!out.includes('br-mon') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.match(out, /insert\s+br-mon/);
    } finally {
      mon.kill();
    }
    assert.equal((await vsctl('del-br', 'br-mon')).code, 0);
  });

  it('the Python IDL connects, monitors, inserts a row and sees it', async () => {
    const script = join(dir, 'idl.py');
    writeFileSync(
      script,
      `
import sys, time
import ovs.db.idl, ovs.poller, ovs.db.types
remote, schema_path = sys.argv[1], sys.argv[2]
helper = ovs.db.idl.SchemaHelper(location=schema_path)
helper.register_all()
idl = ovs.db.idl.Idl(remote, helper)
def run_until(cond, what):
    deadline = time.time() + 10
    while not cond():
        idl.run()
        if cond():
            break
        if time.time() > deadline:
            print("timeout: " + what); sys.exit(1)
        p = ovs.poller.Poller(); idl.wait(p); p.timer_wait(100); p.block()
run_until(lambda: idl.has_ever_connected() and idl.tables['Open_vSwitch'].rows, "initial")
print("bridges:", sorted(b.name for b in idl.tables['Bridge'].rows.values()))
txn = ovs.db.idl.Transaction(idl)
br = txn.insert(idl.tables['Bridge'])
br.name = "br-py"
ovs_row = next(iter(idl.tables['Open_vSwitch'].rows.values()))
ovs_row.bridges = list(ovs_row.bridges) + [br]
status = txn.commit_block()
print("commit:", status)
run_until(lambda: any(b.name == "br-py" for b in idl.tables['Bridge'].rows.values()), "see br-py")
print("bridges:", sorted(b.name for b in idl.tables['Bridge'].rows.values()))
idl.close()
`,
    );
    const r = await run(
      '/usr/bin/python3',
      [script, `unix:${srv.sock}`, '/usr/share/openvswitch/vswitch.ovsschema'],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "bridges: ['br0']\ncommit: success\nbridges: ['br-py', 'br0']\n");
    assert.equal((await vsctl('list-br')).stdout, 'br-py\nbr0\n');
  });

  it('the Python IDL resynchronises with monitor_cond_since after ovsdb-server/reconnect', async () => {
    const script = join(dir, 'idl-reconnect.py');
    writeFileSync(
      script,
      `
import sys, time, subprocess
import ovs.db.idl, ovs.poller
remote, schema_path, ctl, vsctl_db = sys.argv[1:5]
helper = ovs.db.idl.SchemaHelper(location=schema_path)
helper.register_all()
idl = ovs.db.idl.Idl(remote, helper)
def run_until(cond, what):
    deadline = time.time() + 15
    while True:
        idl.run()
        if cond():
            return
        if time.time() > deadline:
            print("timeout: " + what); sys.exit(1)
        p = ovs.poller.Poller(); idl.wait(p); p.timer_wait(50); p.block()
names = lambda: sorted(b.name for b in idl.tables['Bridge'].rows.values())
run_until(lambda: idl.has_ever_connected() and idl.tables['Bridge'].rows, "initial")
print("before:", names())
seqno = idl.change_seqno
subprocess.run(["ovs-appctl", "-t", ctl, "ovsdb-server/reconnect"], check=True)
subprocess.run(["ovs-vsctl", "--no-wait", "--db=" + vsctl_db, "add-br", "br-re"], check=True)
run_until(lambda: "br-re" in names(), "br-re after reconnect")
print("after:", names())
idl.close()
`,
    );
    const r = await run(
      '/usr/bin/python3',
      [
        script,
        `unix:${srv.sock}`,
        '/usr/share/openvswitch/vswitch.ovsschema',
        srv.ctl,
        `unix:${srv.sock}`,
      ],
      { timeoutMs: 40_000 },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "before: ['br-py', 'br0']\nafter: ['br-py', 'br-re', 'br0']\n");
    assert.equal((await vsctl('del-br', 'br-re')).code, 0);
  });

  it('ovs-appctl: list-dbs, remotes, compact, and errors worded as OVS', async () => {
    assert.equal((await appctl('ovsdb-server/list-dbs')).stdout, 'Open_vSwitch\n_Server\n');
    assert.equal((await appctl('ovsdb-server/list-remotes')).stdout, `punix:${srv.sock}\n`);
    const extra = join(dir, 'extra.sock');
    assert.equal((await appctl('ovsdb-server/add-remote', `punix:${extra}`)).code, 0);
    assert.equal(
      (await appctl('ovsdb-server/list-remotes')).stdout,
      `punix:${srv.sock}\npunix:${extra}\n`,
    );
    assert.equal((await client('list-dbs', `unix:${extra}`)).stdout, 'Open_vSwitch\n_Server\n');
    assert.equal((await appctl('ovsdb-server/remove-remote', `punix:${extra}`)).code, 0);
    const noRemote = await appctl('ovsdb-server/remove-remote', 'punix:/nonexistent');
    assert.equal(noRemote.code, 2);
    assert.equal(noRemote.stdout, '');
    assert.match(noRemote.stderr, /^no such remote\n/);
    const badDb = await appctl('ovsdb-server/add-remote', 'db:Nope,Manager,target');
    assert.match(badDb.stderr, /^"db:Nope,Manager,target": no database named Nope\n/);
    const badTable = await appctl('ovsdb-server/add-remote', 'db:Open_vSwitch,Nope,target');
    assert.match(badTable.stderr, /^"db:Open_vSwitch,Nope,target": no table named Nope\n/);
    const reserved = await appctl('ovsdb-server/remove-db', '_Server');
    assert.match(reserved.stderr, /^Cannot remove reserved database\.\n/);
    const unknown = await appctl('ovsdb-server/remove-db', 'nope');
    assert.match(unknown.stderr, /^Failed to find the database\.\n/);
    assert.equal((await appctl('ovsdb-server/compact')).code, 0);
    const noDb = await appctl('ovsdb-server/compact', 'nope');
    assert.match(noDb.stderr, /^no database by that name\n/);
    // Data survives compaction: a second look through the server and a reading of the file.
    assert.equal((await vsctl('list-br')).stdout, 'br-py\nbr0\n');
    const q = await run('/usr/bin/ovsdb-tool', [
      'query',
      db,
      JSON.stringify([
        'Open_vSwitch',
        { op: 'select', table: 'Bridge', where: [], columns: ['name'] },
      ]),
    ]);
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(
      JSON.parse(q.stdout)[0]
        .rows.map((x: { name: string }) => x.name)
        .sort(),
      ['br-py', 'br0'],
    );
  });

  it('db: remotes follow the Manager table and write status back', async () => {
    assert.equal(
      (await appctl('ovsdb-server/add-remote', 'db:Open_vSwitch,Open_vSwitch,manager_options'))
        .code,
      0,
    );
    assert.equal((await vsctl('set-manager', 'ptcp:0:127.0.0.1')).code, 0);
    let port = '';
    const deadline = Date.now() + 10_000;
    while (!port && Date.now() < deadline) {
      const r = await vsctl(
        '--if-exists',
        'get',
        'Manager',
        'ptcp:0:127.0.0.1',
        'status:bound_port',
      );
      port = r.stdout.trim().replace(/"/g, '');
      if (!port) await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(port, /^\d+$/, 'Manager.status:bound_port written back');
    const viaTcp = await client('list-dbs', `tcp:127.0.0.1:${port}`);
    assert.equal(viaTcp.stdout, 'Open_vSwitch\n_Server\n');
    // Manager.inactivity_probe applies to the sessions of that target: a silent peer gets an
    // echo request, then is dropped.
    assert.equal(
      (await vsctl('set', 'Manager', 'ptcp:0:127.0.0.1', 'inactivity_probe=300')).code,
      0,
    );
    await new Promise((res) => setTimeout(res, 200));
    const { connect } = await import('node:net');
    const silent = connect(Number(port), '127.0.0.1');
    let got = '';
    silent.on('data', (d) => {
      got += String(d);
    });
    silent.on('error', () => {});
    const t0 = Date.now();
    await new Promise<void>((res) => silent.on('close', () => res()));
    assert.match(got, /"method":"echo"/);
    assert.ok(Date.now() - t0 < 5000, 'dropped after two probe intervals');
    assert.equal((await vsctl('del-manager')).code, 0);
    await new Promise((res) => setTimeout(res, 300));
    const closed = await client('--timeout=2', 'list-dbs', `tcp:127.0.0.1:${port}`);
    assert.notEqual(closed.code, 0, 'listener removed with its Manager row');
  });
});
