/** OvsdbConnection's typed methods against real ovsdb-server 3.1. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RealServer, startRealServer, vsctl } from '../../../test/ovsdb-client-harness.ts';
import {
  ConnectionClosedError,
  isUnknownMethod,
  OvsdbConnection,
  type OvsdbNotification,
  OvsdbRpcError,
} from './connection.ts';

let server: RealServer;

describe('OvsdbConnection against real ovsdb-server', { timeout: 20000 }, () => {
  before(async () => {
    server = await startRealServer();
    vsctl(server, 'init');
  });
  after(async () => {
    await server?.cleanup();
  });

  it('list_dbs, get_schema, echo, transact', async () => {
    const c = await OvsdbConnection.connect(server.remote);
    try {
      assert.deepEqual((await c.listDbs()).sort(), ['Open_vSwitch', '_Server']);
      const schema = await c.getSchema('Open_vSwitch');
      assert.equal(schema.name, 'Open_vSwitch');
      assert.equal(schema.version, '8.3.1');
      assert.deepEqual(await c.echo(['ping', 1]), ['ping', 1]);
      const r = await c.transact('Open_vSwitch', [
        { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
      ]);
      assert.deepEqual(r, [{ rows: [{ next_cfg: 0 }] }]);
      await assert.rejects(
        c.getSchema('nodb'),
        (e: unknown) => e instanceof OvsdbRpcError && e.tag === 'unknown database',
      );
      await assert.rejects(c.request('no_such_method', []), (e: unknown) => isUnknownMethod(e));
      await c.setDbChangeAware(true);
    } finally {
      c.close();
    }
    await assert.rejects(c.listDbs(), ConnectionClosedError);
  });

  it('monitor_cond_since returns initial rows, then update3 notifications', async () => {
    const c = await OvsdbConnection.connect(server.remote);
    try {
      const notes: OvsdbNotification[] = [];
      c.on('notification', (n: OvsdbNotification) => notes.push(n));
      const r = await c.monitorCondSince(
        'Open_vSwitch',
        'm1',
        { Bridge: { columns: ['name'] } },
        '00000000-0000-0000-0000-000000000000',
      );
      assert.equal(r.found, false);
      assert.deepEqual(r.updates, {});
      vsctl(server, 'add-br', 'brM');
      const deadline = Date.now() + 3000;
      while (!notes.some((n) => n.method === 'update3') && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 10));
      const n = notes.find((x) => x.method === 'update3');
      assert.ok(n);
      assert.equal(n.params[0], 'm1');
      const rows = Object.values(
        (n.params[2] as { Bridge: Record<string, { insert: { name: string } }> }).Bridge,
      );
      assert.deepEqual(rows, [{ insert: { name: 'brM' } }]);
      await c.monitorCancel('m1');
    } finally {
      c.close();
      vsctl(server, 'del-br', 'brM');
    }
  });

  it('lock, steal and unlock with locked/stolen notifications', async () => {
    const a = await OvsdbConnection.connect(server.remote);
    const b = await OvsdbConnection.connect(server.remote);
    try {
      const aNotes: string[] = [];
      const bNotes: string[] = [];
      a.on('notification', (n: OvsdbNotification) =>
        aNotes.push(`${n.method} ${JSON.stringify(n.params)}`),
      );
      b.on('notification', (n: OvsdbNotification) =>
        bNotes.push(`${n.method} ${JSON.stringify(n.params)}`),
      );
      assert.equal(await a.lock('L'), true);
      assert.equal(await b.lock('L'), false);
      await a.unlock('L');
      const deadline = Date.now() + 3000;
      while (bNotes.length === 0 && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(bNotes, ['locked ["L"]']);
      assert.equal(await a.steal('L'), true);
      while (bNotes.length < 2 && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(bNotes, ['locked ["L"]', 'stolen ["L"]']);
      assert.deepEqual(aNotes, []);
    } finally {
      a.close();
      b.close();
    }
  });
});
