/**
 * The replica and its transactions against real ovsdb-server 3.1 (the reference), changed
 * from outside with real ovs-vsctl; plus the monitor fallback against a minimal fake server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RealServer, startRealServer, vsctl } from '../../../test/ovsdb-client-harness.ts';
import type { Json } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import { Idl } from './idl.ts';
import type { RowEvent } from './replica.ts';

let server: RealServer;

describe('Idl against real ovsdb-server', { timeout: 30000 }, () => {
  before(async () => {
    server = await startRealServer();
    vsctl(server, 'init');
  });
  after(async () => {
    await server?.cleanup();
  });

  it('loads the database, then follows changes made by another client', async () => {
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      timeoutMs: 5000,
    });
    try {
      assert.equal(idl.monitorVersion, 3, 'real ovsdb-server 3.1 supports monitor_cond_since');
      assert.equal(idl.rows('Open_vSwitch').length, 1);
      const events: RowEvent[] = [];
      idl.on('row', (e) => events.push(e));
      const seqno = idl.seqno;
      vsctl(
        server,
        'add-br',
        'brA',
        '--',
        'set',
        'bridge',
        'brA',
        'external_ids:owner=test',
        'stp_enable=true',
      );
      assert.ok(await idl.waitUntil(() => idl.rows('Bridge').length === 1, 5000));
      assert.ok(idl.seqno > seqno);
      const br = idl.rows('Bridge')[0];
      assert.ok(br);
      assert.equal(br.string('name'), 'brA');
      assert.equal(br.get('name'), 'brA');
      assert.equal(br.boolean('stp_enable'), true);
      assert.deepEqual(br.map('external_ids'), new Map([['owner', 'test']]));
      assert.equal(br.mapGet('external_ids', 'owner'), 'test');
      assert.equal(br.get('fail_mode'), undefined, 'empty optional column');
      assert.equal(br.set('ports').length, 1);
      const inserted = events
        .filter((e) => e.kind === 'insert')
        .map((e) => e.table)
        .sort();
      assert.deepEqual(inserted, ['Bridge', 'Interface', 'Port']);
      assert.ok(
        events.some(
          (e) => e.kind === 'modify' && e.table === 'Open_vSwitch' && e.columns.includes('bridges'),
        ),
      );

      vsctl(server, 'set', 'bridge', 'brA', 'external_ids:owner=other');
      assert.ok(
        await idl.waitUntil(
          () => idl.rows('Bridge')[0]?.mapGet('external_ids', 'owner') === 'other',
          5000,
        ),
      );
      vsctl(server, 'del-br', 'brA');
      assert.ok(
        await idl.waitUntil(
          () => idl.rows('Bridge').length === 0 && idl.rows('Port').length === 0,
          5000,
        ),
      );
      assert.ok(events.some((e) => e.kind === 'delete' && e.table === 'Bridge'));
    } finally {
      idl.close();
    }
  });

  it('replicates only the chosen columns and rows', async () => {
    vsctl(server, 'add-br', 'brB', '--', 'add-br', 'brC');
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      tables: { Bridge: { columns: ['name'], where: [['name', '==', 'brC']] } },
      timeoutMs: 5000,
    });
    try {
      assert.deepEqual(
        idl.rows('Bridge').map((b) => b.string('name')),
        ['brC'],
      );
      assert.deepEqual(
        idl.rows('Bridge')[0]?.set('ports'),
        [],
        'unmonitored column keeps its default',
      );
      assert.throws(() => idl.table('Port'), /not replicated/);
      await idl.setCondition('Bridge', [['name', '==', 'brB']]);
      assert.ok(await idl.waitUntil(() => idl.rows('Bridge')[0]?.string('name') === 'brB', 5000));
      assert.equal(idl.rows('Bridge').length, 1);
    } finally {
      idl.close();
      vsctl(server, 'del-br', 'brB', '--', 'del-br', 'brC');
    }
  });

  it('commits inserts with named uuids, increments, and reports real uuids', async () => {
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      timeoutMs: 5000,
    });
    try {
      const ovs = idl.first('Open_vSwitch');
      assert.ok(ovs);
      const before = ovs.integer('next_cfg') ?? 0;
      const r = await idl.commitWithRetry((txn) => {
        const root = idl.first('Open_vSwitch');
        assert.ok(root);
        txn.verify(root, 'bridges');
        const iface = txn.insert('Interface', { name: 'brT', type: 'internal' });
        const port = txn.insert('Port', { name: 'brT', interfaces: [iface] });
        const br = txn.insert('Bridge', {
          name: 'brT',
          ports: [port],
          external_ids: { made: 'by-idl' },
        });
        txn.set(root, 'bridges', [...root.set('bridges'), br]);
        txn.increment(root, 'next_cfg');
        txn.comment('idl test');
        return br;
      });
      assert.equal(r.status, 'success', r.error);
      assert.equal(r.incrementedValue, before + 1);
      const real = r.inserted.get(r.value.uuid);
      assert.ok(real && real !== r.value.uuid);
      // The replica already holds our change when commit resolves.
      const br = idl.getRow('Bridge', real);
      assert.ok(br, 'inserted bridge is in the replica');
      assert.equal(br.mapGet('external_ids', 'made'), 'by-idl');
      // Real ovs-vsctl sees it too.
      assert.equal(vsctl(server, 'get', 'bridge', 'brT', 'external_ids:made').trim(), 'by-idl');
      assert.equal(
        vsctl(server, 'get', 'open_vswitch', '.', 'next_cfg').trim(),
        String(before + 1),
      );
    } finally {
      idl.close();
    }
  });

  it('retries when a verified column changed underneath (as ovs-vsctl relies on)', async () => {
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      timeoutMs: 5000,
    });
    try {
      let attempts = 0;
      const r = await idl.commitWithRetry((txn) => {
        attempts++;
        const root = idl.first('Open_vSwitch');
        assert.ok(root);
        const seen = root.set('bridges');
        txn.verify(root, 'bridges');
        if (attempts === 1) vsctl(server, 'add-br', 'brRace'); // a concurrent writer wins
        const br = txn.insert('Bridge', { name: 'brMine' });
        txn.set(root, 'bridges', [...seen, br]);
      });
      assert.equal(r.status, 'success', r.error);
      assert.equal(attempts, 2, 'first attempt came back try-again');
      const names = idl.rows('Bridge').map((b) => b.string('name'));
      assert.ok(
        names.includes('brRace') && names.includes('brMine'),
        `both bridges kept: ${names}`,
      );
    } finally {
      idl.close();
    }
  });

  it('reports server errors and unchanged transactions', async () => {
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      timeoutMs: 5000,
    });
    try {
      const none = await idl.transaction().commit();
      assert.equal(none.status, 'unchanged');
      const txn = idl.transaction();
      const root = idl.first('Open_vSwitch');
      assert.ok(root);
      const a = txn.insert('Bridge', { name: 'brDup' });
      const b = txn.insert('Bridge', { name: 'brDup' });
      txn.set(root, 'bridges', [...root.set('bridges'), a, b]);
      const r = await txn.commit();
      assert.equal(r.status, 'error');
      assert.match(
        r.error ?? '',
        /^constraint violation: Transaction causes multiple rows in "Bridge" table to have identical values \(brDup\) for index on column "name"/,
      );
    } finally {
      idl.close();
    }
  });

  it('reconnects after the server restarts and catches up', async () => {
    const idl = await Idl.connect({
      remote: server.remote,
      database: 'Open_vSwitch',
      timeoutMs: 5000,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    try {
      const disconnected = new Promise((r) => idl.once('disconnected', r));
      const reconnected = new Promise((r) => {
        idl.once('disconnected', () => idl.once('connected', r));
      });
      await server.stop();
      await disconnected;
      assert.equal(idl.isConnected, false);
      assert.ok(idl.rows('Bridge').length > 0, 'replica kept while disconnected');
      await server.restart();
      await reconnected;
      vsctl(server, 'add-br', 'brAfter');
      assert.ok(
        await idl.waitUntil(
          () => idl.rows('Bridge').some((b) => b.string('name') === 'brAfter'),
          5000,
        ),
      );
      const r = await idl.commitWithRetry((txn) => {
        const br = idl.find('Bridge', (b) => b.string('name') === 'brAfter')[0];
        assert.ok(br);
        txn.set(br, 'external_ids', { after: 'restart' });
      });
      assert.equal(r.status, 'success', r.error);
    } finally {
      idl.close();
    }
  });
});

describe('Idl against a real clustered ovsdb-server (transaction history)', {
  timeout: 30000,
}, () => {
  it('resumes with monitor_cond_since after a restart instead of reloading', async () => {
    const srv = await startRealServer({ clustered: true });
    let idl: Idl | undefined;
    try {
      await waitForVsctl(srv);
      idl = await Idl.connect({
        remote: srv.remote,
        database: 'Open_vSwitch',
        timeoutMs: 5000,
        minBackoffMs: 50,
      });
      vsctl(srv, 'add-br', 'br0');
      assert.ok(await idl.waitUntil(() => idl?.rows('Bridge').length === 1, 5000));
      const lastId = idl.lastTxnId;
      assert.notEqual(
        lastId,
        '00000000-0000-0000-0000-000000000000',
        'clustered servers report txn ids',
      );
      const events: RowEvent[] = [];
      idl.on('row', (e) => events.push(e));
      const connected = new Promise<{ resumed: boolean }>((r) => idl?.once('connected', r));
      await srv.restart();
      const info = await connected;
      assert.equal(info.resumed, true);
      assert.deepEqual(events, [], 'nothing changed, so nothing reported');
      vsctl(srv, 'add-br', 'br1');
      assert.ok(await idl.waitUntil(() => idl?.rows('Bridge').length === 2, 5000));
      assert.notEqual(idl.lastTxnId, lastId);
    } finally {
      idl?.close();
      await srv.cleanup();
    }
  });
});

/** A fresh cluster elects itself leader shortly after start; init once it accepts writes. */
async function waitForVsctl(srv: RealServer): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      vsctl(srv, 'init');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A minimal OVSDB server: answers get_schema and monitor; `echo` only when told to. */
async function fakeServer(opts: {
  answerEcho: boolean;
}): Promise<{ sock: string; connections: () => number; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'ts-idl-fake-'));
  const sock = join(dir, 'fake.sock');
  let connections = 0;
  const srv = net.createServer((s) => {
    connections++;
    const framer = new JsonFramer();
    s.on('error', () => {});
    s.on('data', (chunk) =>
      framer.feed(chunk, (msg: Json) => {
        const m = msg as { method: string; id: Json; params: Json[] };
        const reply = (result: Json): void => {
          s.write(JSON.stringify({ id: m.id, result, error: null }));
        };
        if (m.method === 'get_schema')
          reply({
            name: 'T',
            version: '1.0.0',
            tables: { Things: { columns: { label: { type: 'string' } } } },
          });
        else if (m.method === 'monitor_cond_since')
          reply([false, '00000000-0000-0000-0000-000000000000', {}]);
        else if (m.method === 'echo' && opts.answerEcho) reply(m.params);
      }),
    );
  });
  await new Promise<void>((r) => srv.listen(sock, r));
  return {
    sock,
    connections: () => connections,
    close: () => {
      srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('Idl inactivity probes', { timeout: 10000 }, () => {
  it('drops a connection whose server stops answering, and reconnects', async () => {
    const fake = await fakeServer({ answerEcho: false });
    const idl = await Idl.connect({
      remote: `unix:${fake.sock}`,
      database: 'T',
      timeoutMs: 2000,
      probeIntervalMs: 100,
      minBackoffMs: 20,
    });
    try {
      const dropped = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 2000);
        idl.once('disconnected', () => {
          clearTimeout(t);
          r(true);
        });
      });
      assert.ok(dropped, 'silent server detected');
      assert.ok(
        // Bounded, with room for a machine busy with other test files.
        await idl.waitUntil(() => fake.connections() >= 2 && idl.isConnected, 5000),
        'reconnected',
      );
    } finally {
      idl.close();
      fake.close();
    }
  });

  it('keeps a connection whose server answers echo', async () => {
    const fake = await fakeServer({ answerEcho: true });
    const idl = await Idl.connect({
      remote: `unix:${fake.sock}`,
      database: 'T',
      timeoutMs: 2000,
      // Long enough that a loaded CI machine's event-loop stalls do not look like silence;
      // the wait still spans several probe rounds.
      probeIntervalMs: 300,
    });
    try {
      let drops = 0;
      idl.on('disconnected', () => drops++);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(drops, 0);
      assert.equal(fake.connections(), 1);
    } finally {
      idl.close();
      fake.close();
    }
  });
});

describe('Idl monitor fallback', { timeout: 10000 }, () => {
  it('falls back to monitor_cond, then monitor, when the server does not know them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-idl-fake-'));
    const sock = join(dir, 'fake.sock');
    const seen: string[] = [];
    const schema = {
      name: 'T',
      version: '1.0.0',
      tables: { Things: { columns: { label: { type: 'string' } } } },
    };
    const srv = net.createServer((s) => {
      const framer = new JsonFramer();
      s.on('data', (chunk) =>
        framer.feed(chunk, (msg: Json) => {
          const m = msg as { method: string; id: Json; params: Json[] };
          seen.push(m.method);
          const reply = (result: Json, error: Json = null): void => {
            s.write(JSON.stringify({ id: m.id, result, error }));
          };
          if (m.method === 'get_schema') reply(schema);
          else if (m.method === 'monitor_cond_since' || m.method === 'monitor_cond')
            reply(null, 'unknown method');
          else if (m.method === 'monitor') {
            reply({
              Things: { '11111111-2222-3333-4444-555555555555': { new: { label: 'one' } } },
            });
            s.write(
              JSON.stringify({
                method: 'update',
                params: [
                  m.params[1] ?? null,
                  {
                    Things: {
                      '11111111-2222-3333-4444-555555555555': {
                        old: { label: 'one' },
                        new: { label: 'two' },
                      },
                    },
                  },
                ],
                id: null,
              }),
            );
          }
        }),
      );
    });
    await new Promise<void>((r) => srv.listen(sock, r));
    const idl = await Idl.connect({ remote: `unix:${sock}`, database: 'T', timeoutMs: 5000 });
    try {
      assert.deepEqual(seen, ['get_schema', 'monitor_cond_since', 'monitor_cond', 'monitor']);
      assert.equal(idl.monitorVersion, 1);
      assert.ok(await idl.waitUntil(() => idl.rows('Things')[0]?.string('label') === 'two', 2000));
    } finally {
      idl.close();
      srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
