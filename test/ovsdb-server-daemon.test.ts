// ovsdb-server as a daemon and its remotes: --detach/--pidfile with real ovs-appctl, active
// (outgoing) remotes that reconnect, and pssl: with real ovsdb-client over SSL.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '../src/lib/json.ts';
import { JsonFramer } from '../src/lib/jsonrpc/framer.ts';
import {
  createDb,
  ensureBuilt,
  makeTempDir,
  OVSDB_SERVER,
  ROOT,
  run,
  startServer,
  vswitchSchema,
  waitFor,
} from './ovsdb-server-harness.ts';

let dir: string;
let db: string;

before(async () => {
  ensureBuilt();
  dir = makeTempDir();
  db = join(dir, 'conf.db');
  await createDb(db);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('ovsdb-server daemon', () => {
  it('--no-db serves only _Server, as real ovsdb-server does', async () => {
    const sock = join(dir, 'nodb.sock');
    const ctl = join(dir, 'nodb.ctl');
    const pidfile = join(dir, 'nodb.pid');
    const r = await run(
      process.execPath,
      [
        OVSDB_SERVER,
        '--no-db',
        `--remote=punix:${sock}`,
        `--unixctl=${ctl}`,
        `--pidfile=${pidfile}`,
        '--detach',
        '--no-chdir',
        '-vconsole:off',
      ],
      { env: { ...process.env, OVS_RUNDIR: dir } },
    );
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    try {
      // Output of real ovsdb-server 3.1 --no-db for both commands.
      assert.equal(
        (await run('/usr/bin/ovs-appctl', ['-t', ctl, 'ovsdb-server/list-dbs'])).stdout,
        '_Server\n',
      );
      assert.equal(
        (await run('/usr/bin/ovsdb-client', ['list-dbs', `unix:${sock}`])).stdout,
        '_Server\n',
      );
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
      await waitFor(() => !alive(pid), 10_000, 'daemon exit');
    }
  });

  it('--detach --pidfile: the parent returns once serving; ovs-appctl exit stops it', async () => {
    const pidfile = join(dir, 'ovsdb-server.pid');
    const sock = join(dir, 'd.sock');
    const ctl = join(dir, 'd.ctl');
    const log = join(dir, 'd.log');
    const r = await run(
      process.execPath,
      [
        OVSDB_SERVER,
        db,
        `--remote=punix:${sock}`,
        `--unixctl=${ctl}`,
        `--pidfile=${pidfile}`,
        '--detach',
        '--no-chdir',
        `--log-file=${log}`,
        '-vconsole:off',
      ],
      { env: { ...process.env, OVS_RUNDIR: dir } },
    );
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    try {
      assert.ok(alive(pid));
      // Named as OVS's daemon is (OVS's own tests check /proc/PID/comm), not "node".
      assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'ovsdb-server\n');
      assert.equal(
        (await run('/usr/bin/ovsdb-client', ['list-dbs', `unix:${sock}`])).stdout,
        'Open_vSwitch\n_Server\n',
      );
      const v = await run('/usr/bin/ovs-appctl', ['-t', ctl, 'version']);
      assert.match(v.stdout, /^ovsdb-server \(TypeSwitch\) \d+\.\d+\.\d+\n$/);
      const cmds = await run('/usr/bin/ovs-appctl', ['-t', ctl, 'list-commands']);
      for (const c of [
        'exit',
        'ovsdb-server/add-remote',
        'ovsdb-server/compact',
        'ovsdb-server/list-dbs',
        'vlog/set',
      ]) {
        assert.match(cmds.stdout, new RegExp(`\\n  ${c.replace('/', '\\/')} `));
      }
      const mem = await run('/usr/bin/ovs-appctl', ['-t', ctl, 'memory/show']);
      assert.match(mem.stdout, /^cells:\d+ monitors:0 sessions:\d+ triggers:0\n$/);
      // A second server on the same pidfile refuses to start.
      const second = await run(process.execPath, [
        OVSDB_SERVER,
        db,
        `--pidfile=${pidfile}`,
        `--unixctl=${join(dir, 'x.ctl')}`,
      ]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /already running as pid \d+, aborting/);
      assert.equal((await run('/usr/bin/ovs-appctl', ['-t', ctl, 'exit'])).code, 0);
      await waitFor(() => !alive(pid), 10_000, 'daemon exit');
      assert.equal(existsSync(pidfile), false, 'pidfile removed at exit');
      assert.match(readFileSync(log, 'utf8'), /opened log file/);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a missing database file is reported as OVS words it', async () => {
    const r = await run(process.execPath, [
      OVSDB_SERVER,
      join(dir, 'nope.db'),
      `--unixctl=${join(dir, 'n.ctl')}`,
    ]);
    assert.equal(r.code, 1);
    // Same text as real ovsdb-server 3.1.
    assert.equal(
      r.stderr,
      `ovsdb-server: I/O error: ${join(dir, 'nope.db')}: open failed (No such file or directory)\n`,
    );
  });

  it('ovsdb-server/add-db and remove-db, with OVS 3.1 error texts', async () => {
    const other = join(dir, 'other.db');
    await createDb(other);
    const srv = await startServer(dir, [db]);
    const appctl = (...a: string[]) => run('/usr/bin/ovs-appctl', ['-t', srv.ctl, ...a]);
    try {
      const dup = await appctl('ovsdb-server/add-db', other);
      assert.equal(dup.code, 2);
      assert.match(dup.stderr, /^ovsdb error: Open_vSwitch: duplicate database name\n/);
      const missing = await appctl('ovsdb-server/add-db', join(dir, 'zz.db'));
      assert.match(
        missing.stderr,
        new RegExp(
          `^I/O error: ${join(dir, 'zz.db')}: open failed \\(No such file or directory\\)\n`,
        ),
      );
      // A client that is not change-aware is disconnected when its database goes away.
      const { spawn } = await import('node:child_process');
      const mon = spawn(
        '/usr/bin/ovsdb-client',
        ['monitor', `unix:${srv.sock}`, 'Open_vSwitch', 'Bridge'],
        { stdio: 'ignore' },
      );
      const monExit = new Promise<number | null>((r) => mon.on('exit', (code) => r(code)));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await appctl('ovsdb-server/remove-db', 'Open_vSwitch')).code, 0);
      assert.equal((await appctl('ovsdb-server/list-dbs')).stdout, '_Server\n');
      const code = await Promise.race([
        monExit,
        new Promise((r) => setTimeout(() => r('running'), 5000)),
      ]);
      mon.kill();
      assert.notEqual(code, 'running', 'ovsdb-client monitor was disconnected');
      assert.equal((await appctl('ovsdb-server/add-db', other)).code, 0);
      assert.equal((await appctl('ovsdb-server/list-dbs')).stdout, 'Open_vSwitch\n_Server\n');
      assert.equal(
        (await run('/usr/bin/ovsdb-client', ['list-dbs', `unix:${srv.sock}`])).stdout,
        'Open_vSwitch\n_Server\n',
      );
    } finally {
      await srv.stop();
    }
  });

  it('ovsdb-client convert replaces the schema online and keeps the data', async () => {
    const file = join(dir, 'convert.db');
    await createDb(file);
    const schema = JSON.parse(readFileSync(vswitchSchema(), 'utf8'));
    schema.version = '99.0.0';
    schema.tables.Bridge.columns.new_col = { type: { key: 'string', min: 0, max: 1 } };
    delete schema.cksum;
    const newSchema = join(dir, 'new.ovsschema');
    writeFileSync(newSchema, JSON.stringify(schema));
    const sub = join(dir, 'conv');
    mkdirSync(sub, { recursive: true });
    const srv = await startServer(sub, [file]);
    try {
      const vsctl = (...a: string[]) =>
        run('/usr/bin/ovs-vsctl', ['--no-wait', `--db=unix:${srv.sock}`, ...a]);
      assert.equal((await vsctl('init', '--', 'add-br', 'br0')).code, 0);
      const conv = await run('/usr/bin/ovsdb-client', ['convert', `unix:${srv.sock}`, newSchema]);
      assert.equal(conv.code, 0, conv.stderr);
      assert.equal(
        (await run('/usr/bin/ovsdb-client', ['get-schema-version', `unix:${srv.sock}`])).stdout,
        '99.0.0\n',
      );
      assert.equal((await vsctl('list-br')).stdout, 'br0\n');
      const dump = await run('/usr/bin/ovsdb-client', [
        'dump',
        `unix:${srv.sock}`,
        'Open_vSwitch',
        'Bridge',
        'name',
        'new_col',
      ]);
      assert.equal(dump.stdout, 'Bridge table\nname new_col\n---- -------\nbr0  []\n');
      // The file itself now holds the new schema, as real ovsdb-tool reads it.
      assert.equal((await run('/usr/bin/ovsdb-tool', ['db-version', file])).stdout, '99.0.0\n');
      // Real ovsdb-server 3.1 accepts converting _Server to its own schema; so do we.
      const same = await run('/usr/bin/ovsdb-client', [
        'convert',
        `unix:${srv.sock}`,
        join(ROOT, 'schema', '_server.ovsschema'),
      ]);
      assert.equal(same.code, 0, same.stderr);
      assert.equal(
        (await run('/usr/bin/ovsdb-client', ['list-dbs', `unix:${srv.sock}`])).stdout,
        'Open_vSwitch\n_Server\n',
      );
    } finally {
      await srv.stop();
    }
  });

  it('an active unix: remote connects out and reconnects after being dropped', async () => {
    const path = join(dir, 'active.sock');
    let conns = 0;
    const replies: JsonObject[] = [];
    const sockets: net.Socket[] = [];
    const listener = net.createServer((s) => {
      conns++;
      sockets.push(s);
      const f = new JsonFramer();
      s.on('data', (d) => f.feed(d, (v) => replies.push(v as JsonObject)));
      s.on('error', () => {});
      s.write(JSON.stringify({ method: 'list_dbs', params: [], id: conns }));
    });
    await new Promise<void>((r) => listener.listen(path, r));
    const srv = await startServer(dir, [db], [`--remote=unix:${path}`]);
    try {
      await waitFor(() => replies.some((m) => m.id === 1), 10_000, 'reply over the active remote');
      assert.deepEqual(replies.find((m) => m.id === 1)?.result, ['Open_vSwitch', '_Server']);
      sockets[0].destroy();
      await waitFor(() => replies.some((m) => m.id === 2), 15_000, 'reconnection');
      assert.equal(conns, 2);
    } finally {
      await srv.stop();
      listener.close();
    }
  });

  it('pssl: serves real ovsdb-client over SSL with the configured certificates', async () => {
    const pki = join(dir, 'pki');
    const sh = (cmd: string) => run('/bin/sh', ['-c', cmd], { timeoutMs: 30_000 });
    const gen = await sh(
      `mkdir -p ${pki} && cd ${pki} && ` +
        'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=testca && ' +
        'for n in srv cli; do openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n && ' +
        'openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 1; done',
    );
    assert.equal(gen.code, 0, gen.stderr);
    const port = await freePort();
    const srv = await startServer(
      dir,
      [db],
      [
        `--remote=pssl:${port}:127.0.0.1`,
        `--private-key=${join(pki, 'srv.key')}`,
        `--certificate=${join(pki, 'srv.pem')}`,
        `--ca-cert=${join(pki, 'ca.pem')}`,
      ],
    );
    try {
      const r = await run('/usr/bin/ovsdb-client', [
        `--private-key=${join(pki, 'cli.key')}`,
        `--certificate=${join(pki, 'cli.pem')}`,
        `--ca-cert=${join(pki, 'ca.pem')}`,
        'list-dbs',
        `ssl:127.0.0.1:${port}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Open_vSwitch\n_Server\n');
    } finally {
      await srv.stop();
    }
  });
});
