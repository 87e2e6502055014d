// Misbehaving clients and crashes against our ovsdb-server: each is answered or disconnected,
// the server keeps serving everyone else, and the data is intact (checked afterwards with real
// ovsdb-client). A SIGKILL in the middle of a stream of transactions loses none that were
// acknowledged.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Json, JsonObject } from '../src/lib/json.ts';
import { RawClient } from '../src/ovsdb/server/test-client.ts';
import {
  createDb,
  ensureBuilt,
  makeTempDir,
  run,
  type ServerProcess,
  startServer,
} from './ovsdb-server-harness.ts';

let dir: string;
let db: string;
let srv: ServerProcess;
const LIMITS = {
  TYPESWITCH_OVSDB_MAX_BACKLOG: String(4 << 20),
  TYPESWITCH_OVSDB_MAX_MESSAGE_SIZE: String(8 << 20),
};

async function bridgeNames(sock: string): Promise<string[]> {
  const r = await run('/usr/bin/ovsdb-client', [
    'transact',
    `unix:${sock}`,
    JSON.stringify([
      'Open_vSwitch',
      { op: 'select', table: 'Bridge', where: [], columns: ['name'] },
    ]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout)[0].rows as { name: string }[]).map((x) => x.name).sort();
}

function insertBridge(name: string, extra = ''): Json[] {
  // Bridges must be referenced from the root table to survive garbage collection.
  return [
    'Open_vSwitch',
    {
      op: 'insert',
      table: 'Bridge',
      row: { name, external_ids: ['map', extra ? [['pad', extra]] : []] },
      'uuid-name': 'b',
    },
    {
      op: 'mutate',
      table: 'Open_vSwitch',
      where: [],
      mutations: [['bridges', 'insert', ['set', [['named-uuid', 'b']]]]],
    },
  ];
}

before(async () => {
  ensureBuilt();
  dir = makeTempDir();
  db = join(dir, 'conf.db');
  await createDb(db);
  srv = await startServer(dir, [db], [], LIMITS);
  const init = await run('/usr/bin/ovs-vsctl', [
    '--no-wait',
    `--db=unix:${srv.sock}`,
    'init',
    '--',
    'add-br',
    'br0',
  ]);
  assert.equal(init.code, 0, init.stderr);
});

after(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('ovsdb-server under misbehaving clients', () => {
  it('malformed JSON disconnects only that client', async () => {
    const c = await RawClient.connect(srv.sock);
    c.sendText('{"method":"echo","params":[1,],"id":1}');
    await c.waitClosed();
    assert.deepEqual(await bridgeNames(srv.sock), ['br0']);
  });

  it('a valid JSON value that is not JSON-RPC disconnects only that client', async () => {
    const c = await RawClient.connect(srv.sock);
    c.send({ hello: 'world' });
    await c.waitClosed();
    const c2 = await RawClient.connect(srv.sock);
    c2.send({ method: 'echo', params: 'notarray', id: 1 });
    await c2.waitClosed();
    assert.deepEqual(await bridgeNames(srv.sock), ['br0']);
  });

  it('unknown methods and wrong parameter types get error replies on a live connection', async () => {
    const c = await RawClient.connect(srv.sock);
    assert.equal((await c.request('frobnicate', [])).error, 'unknown method');
    assert.deepEqual((await c.request('transact', [42])).error, {
      syntax: '[42]',
      details: 'transact request params must begin with <db-name>',
      error: 'syntax error',
    });
    assert.deepEqual((await c.request('monitor_cond', ['Open_vSwitch', 1])).error, {
      syntax: '["Open_vSwitch",1]',
      details: 'invalid parameters',
      error: 'syntax error',
    });
    assert.deepEqual((await c.request('monitor', ['Open_vSwitch', 1, 'x'])).error, {
      syntax: '"x"',
      details: 'monitor-requests must be object',
      error: 'syntax error',
    });
    const t = await c.request('transact', ['Open_vSwitch', 1]);
    // Captured from real ovsdb-server 3.1.
    assert.deepEqual(t.result, [
      { details: 'Parsing ovsdb operation 1 of 1 failed: Object expected.', error: 'syntax error' },
    ]);
    assert.deepEqual((await c.request('echo', ['still here'])).result, ['still here']);
    c.close();
    assert.deepEqual(await bridgeNames(srv.sock), ['br0']);
  });

  it('an oversized message disconnects its sender', async () => {
    const c = await RawClient.connect(srv.sock);
    c.sendText(`{"method":"echo","id":1,"params":["${'z'.repeat(9 << 20)}"]}`);
    await c.waitClosed(10_000);
    assert.deepEqual(await bridgeNames(srv.sock), ['br0']);
  });

  it('a client that never reads is disconnected; others keep working', async () => {
    const slow = await RawClient.connect(srv.sock);
    const mon = await slow.request('monitor', [
      'Open_vSwitch',
      'slow',
      { Bridge: { columns: ['name', 'external_ids'] } },
    ]);
    assert.equal(mon.error, null);
    slow.socket.pause();
    const w = await RawClient.connect(srv.sock);
    const pad = 'p'.repeat(200_000);
    let i = 0;
    for (; i < 60; i++) {
      const r = await w.request('transact', insertBridge(`slow${i}`, pad));
      assert.equal(((r.result as JsonObject[])[0] as JsonObject).error, undefined);
      if (i % 5 === 4) {
        // Ask the server: a fresh client lists the sessions' effect via a later query.
        const alive = await w.request('echo', []);
        assert.deepEqual(alive.result, []);
      }
    }
    // The slow client was cut off: its socket saw the end once we read what was buffered.
    slow.socket.resume();
    await slow.waitClosed(10_000);
    const names = await bridgeNames(srv.sock);
    assert.equal(names.length, 61);
    assert.ok(names.includes('slow59'));
    w.close();
  });
});

describe('ovsdb-server with many clients', () => {
  it('fans one change out to 100 monitoring clients and serves them concurrently', async () => {
    const clients = await Promise.all(
      Array.from({ length: 100 }, () => RawClient.connect(srv.sock)),
    );
    try {
      await Promise.all(
        clients.map((c, i) =>
          c.request('monitor_cond', [
            'Open_vSwitch',
            `m${i}`,
            { Bridge: { columns: ['name'], where: [['name', '==', 'fan']] } },
          ]),
        ),
      );
      const w = clients[0];
      const r = await w.request('transact', insertBridge('fan'));
      const uuid = ((r.result as JsonObject[])[0].uuid as Json[])[1] as string;
      const updates = await Promise.all(
        clients.map((c) => c.waitFor((m) => m.method === 'update2')),
      );
      updates.forEach((u, i) => {
        assert.deepEqual(u.params, [`m${i}`, { Bridge: { [uuid]: { insert: { name: 'fan' } } } }]);
      });
      // Every client transacts at once; each gets its own answer.
      const replies = await Promise.all(
        clients.map((c, i) =>
          c.request('transact', [
            'Open_vSwitch',
            { op: 'select', table: 'Bridge', where: [['name', '==', 'fan']], columns: ['name'] },
            { op: 'comment', comment: `c${i}` },
          ]),
        ),
      );
      for (const rep of replies) assert.deepEqual(rep.result, [{ rows: [{ name: 'fan' }] }, {}]);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('ovsdb-server crash safety', () => {
  it('SIGKILL in the middle of a transaction stream loses no acknowledged transaction', async () => {
    const c = await RawClient.connect(srv.sock);
    const acked: string[] = [];
    // Pipeline transactions; kill the server once a number of them were acknowledged.
    let next = 0;
    const inFlight = new Map<number, string>();
    const sendOne = () => {
      const name = `crash${next}`;
      const id = 1000 + next++;
      inFlight.set(id, name);
      c.send({ method: 'transact', params: insertBridge(name), id });
    };
    for (let k = 0; k < 8; k++) sendOne();
    const deadline = Date.now() + 20_000;
    while (acked.length < 150 && Date.now() < deadline) {
      const m = await c.waitFor((x) => typeof x.id === 'number' && inFlight.has(x.id as number));
      const name = inFlight.get(m.id as number) as string;
      inFlight.delete(m.id as number);
      const res = m.result as JsonObject[];
      if (res && !res.some((r) => r && (r as JsonObject).error)) acked.push(name);
      sendOne();
    }
    srv.proc.kill('SIGKILL');
    await srv.stop();
    assert.ok(acked.length >= 150, `acknowledged ${acked.length}`);
    srv = await startServer(dir, [db], [], LIMITS);
    const names = new Set(await bridgeNames(srv.sock));
    const missing = acked.filter((n) => !names.has(n));
    assert.deepEqual(missing, []);
    // The file is still a valid database for real ovsdb-tool.
    const check = await run('/usr/bin/ovsdb-tool', ['db-name', db]);
    assert.equal(check.stdout, 'Open_vSwitch\n');
  });
});
