import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Json, JsonObject } from '../../lib/json.ts';
import { Database } from '../database.ts';
import { parseDatabaseSchema } from '../schema.ts';
import { databaseAccess } from './file-db.ts';
import { OvsdbServer } from './jsonrpc-server.ts';
import { ServerDbMaintainer } from './server-db.ts';
import { RawClient } from './test-client.ts';

const SCHEMA = {
  name: 'Test',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
      },
      isRoot: true,
    },
  },
};

let dir: string;
let sock: string;
let server: OvsdbServer;
let listener: net.Server;

function insert(name: string, n = 0): Json {
  return { op: 'insert', table: 'T', row: { name, n } };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ovsdb-server-test-'));
  sock = join(dir, 'db.sock');
  server = new OvsdbServer();
  server.addDb('Test', databaseAccess(new Database(parseDatabaseSchema(SCHEMA))), 'test.db');
  const m = new ServerDbMaintainer(server);
  server.onDbsChanged = () => m.sync();
  server.addDb('_Server', m.access, '<internal>');
  listener = net.createServer((s) => {
    server.serve(s, 'test', { maxBacklog: 1 << 20, maxMessageSize: 1 << 20 });
  });
  await new Promise<void>((r) => listener.listen(sock, r));
});

after(() => {
  listener.close();
  server.reconnectAll(true);
  rmSync(dir, { recursive: true, force: true });
});

describe('ovsdb jsonrpc server', () => {
  it('answers list_dbs, get_schema and echo; errors as OVS 3.1 for bad requests', async () => {
    const c = await RawClient.connect(sock);
    assert.deepEqual((await c.request('list_dbs', [])).result, ['Test', '_Server']);
    const schema = (await c.request('get_schema', ['Test'])).result as JsonObject;
    assert.equal(schema.name, 'Test');
    // Texts below captured from real ovsdb-server 3.1 over a raw unix socket.
    assert.deepEqual((await c.request('get_schema', ['nope'])).error, {
      syntax: '["nope"]',
      details: 'get_schema request specifies unknown database nope',
      error: 'unknown database',
    });
    assert.deepEqual((await c.request('get_schema', [])).error, {
      syntax: '[]',
      details: 'get_schema request params must begin with <db-name>',
      error: 'syntax error',
    });
    assert.equal((await c.request('foo', [])).error, 'unknown method');
    assert.deepEqual((await c.request('echo', [1, 'x'])).result, [1, 'x']);
    assert.deepEqual((await c.request('lock', [1])).error, {
      syntax: '[1]',
      details: 'lock request params must be <id>',
      error: 'syntax error',
    });
    assert.deepEqual((await c.request('unlock', ['x'])).error, {
      syntax: '["x"]',
      details: 'unlock: "unlock" without "lock" or "steal"',
      error: 'syntax error',
    });
    assert.deepEqual((await c.request('set_db_change_aware', [3])).error, {
      syntax: '[3]',
      details: 'set_db_change_aware: true or false parameter expected',
      error: 'syntax error',
    });
    assert.equal((await c.request('monitor_cancel', [1])).error, 'unknown monitor');
    assert.deepEqual((await c.request('monitor_cond_change', [1, 2, {}])).error, {
      syntax: '1',
      details: 'unknown monitor session',
      error: 'syntax error',
    });
    assert.deepEqual((await c.request('transact', ['Test'])).result, []);
    assert.equal(c.closed, false);
    c.close();
  });

  it('the _Server database lists every database with its schema', async () => {
    const c = await RawClient.connect(sock);
    const r = await c.request('transact', [
      '_Server',
      {
        op: 'select',
        table: 'Database',
        where: [],
        columns: ['name', 'model', 'connected', 'leader'],
      },
    ]);
    const rows = ((r.result as JsonObject[])[0].rows as JsonObject[]).sort((a, b) =>
      String(a.name) < String(b.name) ? -1 : 1,
    );
    assert.deepEqual(rows, [
      { name: 'Test', model: 'standalone', connected: true, leader: true },
      { name: '_Server', model: 'standalone', connected: true, leader: true },
    ]);
    c.close();
  });

  it('sends update, update2 and update3 notifications for a commit', async () => {
    const w = await RawClient.connect(sock);
    const m = await RawClient.connect(sock);
    const r1 = await m.request('monitor', ['Test', 'm1', { T: { columns: ['name'] } }]);
    assert.equal(r1.error, null);
    const r2 = await m.request('monitor_cond', [
      'Test',
      'm2',
      { T: { columns: ['name', 'n'], where: [['n', '>', 10]] } },
    ]);
    assert.deepEqual(r2.result, {});
    const r3 = await m.request('monitor_cond_since', [
      'Test',
      'm3',
      { T: { columns: ['name'] } },
      '00000000-0000-0000-0000-000000000000',
    ]);
    const [found, , initial] = r3.result as Json[];
    assert.equal(found, false);
    assert.equal(typeof initial, 'object');
    const t = await w.request('transact', ['Test', insert('a', 42)]);
    const uuid = ((t.result as JsonObject[])[0].uuid as Json[])[1] as string;
    const u1 = await m.waitFor((x) => x.method === 'update');
    assert.deepEqual(u1.params, ['m1', { T: { [uuid]: { new: { name: 'a' } } } }]);
    const u2 = await m.waitFor((x) => x.method === 'update2');
    assert.deepEqual(u2.params, ['m2', { T: { [uuid]: { insert: { name: 'a', n: 42 } } } }]);
    const u3 = await m.waitFor((x) => x.method === 'update3');
    const p3 = u3.params as Json[];
    assert.equal(p3[0], 'm3');
    assert.deepEqual(p3[2], { T: { [uuid]: { insert: { name: 'a' } } } });
    // A reconnecting client that knows the last id gets only what it missed.
    const lastId = p3[1] as string;
    await w.request('transact', ['Test', insert('b', 1)]);
    const c2 = await RawClient.connect(sock);
    const since = (
      await c2.request('monitor_cond_since', ['Test', 'x', { T: { columns: ['name'] } }, lastId])
    ).result as Json[];
    assert.equal(since[0], true);
    const rows = Object.values(since[2] as JsonObject);
    assert.deepEqual(Object.values(rows[0] as JsonObject), [{ insert: { name: 'b' } }]);
    for (const c of [w, m, c2]) c.close();
  });

  it('duplicate monitor IDs are refused per session', async () => {
    const c = await RawClient.connect(sock);
    assert.deepEqual((await c.request('monitor', ['Test', null, { T: {} }])).error, null);
    assert.deepEqual(
      (
        await c.request('monitor_cond_since', [
          '_Server',
          null,
          { Database: {} },
          '00000000-0000-0000-0000-000000000000',
        ])
      ).error,
      {
        syntax: 'null',
        details: 'duplicate monitor ID',
        error: 'syntax error',
      },
    );
    c.close();
  });

  it('locks: lock queues, steal notifies "stolen", unlock hands over with "locked"', async () => {
    const a = await RawClient.connect(sock);
    const b = await RawClient.connect(sock);
    assert.deepEqual((await a.request('lock', ['L'])).result, { locked: true });
    assert.deepEqual((await b.request('lock', ['L'])).result, { locked: false });
    assert.deepEqual((await a.request('unlock', ['L'])).result, {});
    assert.deepEqual((await b.waitFor((m) => m.method === 'locked')).params, ['L']);
    assert.deepEqual((await a.request('steal', ['L'])).result, { locked: true });
    assert.deepEqual((await b.waitFor((m) => m.method === 'stolen')).params, ['L']);
    assert.deepEqual((await a.request('lock', ['L'])).error, {
      syntax: '["L"]',
      details: 'must issue "unlock" before new "lock"',
      error: 'syntax error',
    });
    a.close();
    // The owner's disconnection passes the lock on.
    assert.deepEqual((await b.waitFor((m) => m.method === 'locked')).params, ['L']);
    b.close();
  });

  it('a blocked wait completes after a later commit, or times out', async () => {
    const a = await RawClient.connect(sock);
    const b = await RawClient.connect(sock);
    a.send({
      method: 'transact',
      id: 'w1',
      params: [
        'Test',
        {
          op: 'wait',
          table: 'T',
          where: [['name', '==', 'late']],
          columns: ['name'],
          until: '!=',
          rows: [],
          timeout: 5000,
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.received.length, 0, 'no reply while the wait is unsatisfied');
    await b.request('transact', ['Test', insert('late')]);
    const reply = await a.waitFor((m) => m.id === 'w1');
    assert.deepEqual(reply.result, [{}]);
    const t0 = Date.now();
    const r = await a.request('transact', [
      'Test',
      {
        op: 'wait',
        table: 'T',
        where: [['name', '==', 'never']],
        columns: ['name'],
        until: '!=',
        rows: [],
        timeout: 100,
      },
    ]);
    assert.ok(Date.now() - t0 >= 90);
    assert.equal((r.result as Json[]).length, 1);
    assert.equal(((r.result as JsonObject[])[0] as JsonObject).error, 'timed out');
    a.close();
    b.close();
  });

  it('a blocked transaction: duplicate request IDs refused; "cancel" answered as OVS does', async () => {
    const a = await RawClient.connect(sock);
    const wait = {
      method: 'transact',
      id: 'w',
      params: [
        'Test',
        {
          op: 'wait',
          table: 'T',
          where: [['name', '==', 'zz']],
          columns: ['name'],
          until: '!=',
          rows: [],
          timeout: 10000,
        },
      ],
    };
    a.send(wait);
    a.send(wait);
    const dup = await a.waitFor((m) => m.id === 'w');
    assert.deepEqual((dup.error as JsonObject).details, 'transact: duplicate request ID');
    // Not change-aware: OVS drops a cancelled transaction without a reply.
    a.send({ method: 'cancel', params: ['w'], id: null });
    assert.deepEqual((await a.request('echo', [])).result, []);
    assert.equal(a.received.length, 0);
    // Change-aware: the cancelled transaction gets a "canceled" error reply.
    assert.deepEqual((await a.request('set_db_change_aware', [true])).result, {});
    a.send(wait);
    a.send({ method: 'cancel', params: ['w'], id: null });
    assert.deepEqual((await a.waitFor((m) => m.id === 'w')).error, 'canceled');
    a.close();
  });

  it('malformed JSON and invalid JSON-RPC close only that connection', async () => {
    const bad = await RawClient.connect(sock);
    bad.sendText('{"method": "echo", "params": [1,], "id": 1}');
    await bad.waitClosed();
    const bad2 = await RawClient.connect(sock);
    bad2.send({ frob: 1 });
    await bad2.waitClosed();
    const bad3 = await RawClient.connect(sock);
    bad3.sendText('"just a string"');
    await bad3.waitClosed();
    const good = await RawClient.connect(sock);
    assert.deepEqual((await good.request('list_dbs', [])).result, ['Test', '_Server']);
    good.close();
  });

  it('an oversized message disconnects its sender', async () => {
    const big = await RawClient.connect(sock);
    big.sendText(`{"method":"echo","id":1,"params":["${'x'.repeat(1 << 21)}"]}`);
    await big.waitClosed();
    const good = await RawClient.connect(sock);
    assert.deepEqual((await good.request('echo', ['ok'])).result, ['ok']);
    good.close();
  });

  it('a client that never reads is disconnected once its backlog is exceeded', async () => {
    const slow = await RawClient.connect(sock);
    assert.equal((await slow.request('monitor', ['Test', 's', { T: {} }])).error, null);
    slow.socket.pause();
    const w = await RawClient.connect(sock);
    const long = 'y'.repeat(100_000);
    const slowSession = [...server.sessions].find((s) => s.monitors.has('"s"'));
    assert.ok(slowSession);
    for (let i = 0; i < 200 && !slowSession.conn.isClosed; i++) {
      await w.request('transact', ['Test', insert(`${long}${i}`)]);
    }
    assert.equal(slowSession.conn.isClosed, true, 'the non-reading client was dropped');
    assert.equal(server.sessions.has(slowSession), false);
    assert.deepEqual((await w.request('echo', [])).result, []);
    w.close();
    slow.close();
  });

  it('removing a database disconnects clients that are not change-aware', async () => {
    const extra = new Database(parseDatabaseSchema({ ...SCHEMA, name: 'Extra' }));
    server.addDb('Extra', databaseAccess(extra), 'extra.db');
    const plain = await RawClient.connect(sock);
    const aware = await RawClient.connect(sock);
    assert.deepEqual((await aware.request('set_db_change_aware', [true])).result, {});
    await plain.request('monitor', ['Extra', 'p', { T: {} }]);
    await aware.request('monitor', ['Extra', 'a', { T: {} }]);
    server.removeDb('Extra', 'test');
    await plain.waitClosed();
    assert.deepEqual((await aware.waitFor((m) => m.method === 'monitor_canceled')).params, ['a']);
    assert.deepEqual((await aware.request('list_dbs', [])).result, ['Test', '_Server']);
    aware.close();
  });
});
