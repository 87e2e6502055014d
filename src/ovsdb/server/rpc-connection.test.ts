import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import { type CloseReason, RpcConnection } from './rpc-connection.ts';

/** A connected pair: our RpcConnection on one end, a raw socket on the other. */
async function pair(opts: ConstructorParameters<typeof RpcConnection>[2]) {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const peer = net.connect(port, '127.0.0.1');
  const sock = await accepted;
  server.close();
  const conn = new RpcConnection(sock, 'test', opts);
  const got: JsonObject[] = [];
  const framer = new JsonFramer();
  peer.on('data', (d) => framer.feed(d, (v) => got.push(v as JsonObject)));
  peer.on('error', () => {});
  let closed: CloseReason | null = null;
  conn.onClose = (reason) => {
    closed = reason;
  };
  return { conn, peer, got, closedReason: () => closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RpcConnection', () => {
  it('batches messages queued in one turn into one write, in order', async () => {
    const { conn, peer, got } = await pair({});
    for (let i = 0; i < 100; i++) conn.sendReply(i, { n: i });
    await sleep(50);
    assert.equal(got.length, 100);
    assert.deepEqual(
      got.map((m) => m.id),
      [...Array(100).keys()],
    );
    assert.deepEqual(got[5], { id: 5, result: { n: 5 }, error: null });
    peer.destroy();
  });

  it('keeps order and bytes when the kernel takes only part of a write', async () => {
    // Each message is far larger than a socket buffer, so the direct write(2) is partial (or
    // refused) and the rest must go through the stream, ahead of what is queued next.
    const { conn, peer, got } = await pair({});
    peer.pause();
    const big = 'é€x'.repeat(400_000);
    for (let turn = 0; turn < 3; turn++) {
      conn.sendReply(turn, { s: big, turn });
      conn.sendReply(100 + turn, 'small');
      await sleep(1);
    }
    peer.resume();
    try {
      for (let i = 0; i < 200 && got.length < 6; i++) await sleep(10);
      assert.deepEqual(
        got.map((m) => m.id),
        [0, 100, 1, 101, 2, 102],
      );
      const bigReply = got[4] as JsonObject;
      assert.equal((bigReply.result as JsonObject).s, big);
      assert.equal(got[5]?.result, 'small');
    } finally {
      conn.destroy();
      peer.destroy();
    }
  });

  it('sends an echo probe to a silent peer and drops it when it stays silent', async () => {
    const { peer, got, closedReason } = await pair({ probeInterval: 100 });
    await sleep(160);
    assert.deepEqual(got[0], { id: 'echo', method: 'echo', params: [] });
    await sleep(250);
    assert.equal(closedReason(), 'probe timeout');
    peer.destroy();
  });

  it('keeps a peer that answers its probes', async () => {
    const { conn, peer, got, closedReason } = await pair({ probeInterval: 100 });
    const answer = setInterval(() => {
      for (const m of got.splice(0)) {
        if (m.method === 'echo') peer.write(JSON.stringify({ id: m.id, result: [], error: null }));
      }
    }, 20);
    await sleep(500);
    clearInterval(answer);
    assert.equal(closedReason(), null);
    assert.equal(conn.isClosed, false);
    conn.destroy();
    peer.destroy();
  });

  it('delivers requests split across chunks and rejects a non-JSON-RPC value', async () => {
    const { conn, peer, closedReason } = await pair({});
    const seen: string[] = [];
    conn.onMessage = (m) => {
      if (m.type === 'request') seen.push(m.method);
    };
    const text = JSON.stringify({ method: 'echo', params: ['é'], id: 1 });
    peer.write(text.slice(0, 7));
    await sleep(10);
    peer.write(text.slice(7));
    await sleep(20);
    assert.deepEqual(seen, ['echo']);
    peer.write('{"id":1}');
    await sleep(50);
    assert.equal(closedReason(), 'protocol error');
    peer.destroy();
  });

  it('keeps large requests from several connections intact while reads share one buffer', async () => {
    // Plain sockets are read into one buffer shared by every connection; each request here
    // takes several reads, and the two peers' reads interleave.
    const a = await pair({});
    const b = await pair({});
    const seen: string[] = [];
    const collect = (m: Parameters<RpcConnection['onMessage']>[0]): void => {
      if (m.type === 'request') seen.push(String(m.params[0]));
    };
    a.conn.onMessage = collect;
    b.conn.onMessage = collect;
    const bigA = 'a€'.repeat(150_000);
    const bigB = 'b\\"'.repeat(100_000);
    const textA = JSON.stringify({ method: 'echo', params: [bigA], id: 1 });
    const textB = JSON.stringify({ method: 'echo', params: [bigB], id: 2 });
    for (let i = 0; i < Math.max(textA.length, textB.length); i += 50_000) {
      a.peer.write(textA.slice(i, i + 50_000));
      b.peer.write(textB.slice(i, i + 50_000));
      await sleep(2);
    }
    for (let i = 0; i < 200 && seen.length < 2; i++) await sleep(10);
    assert.deepEqual(seen.sort(), [bigA, bigB].sort());
    assert.equal(a.closedReason(), null);
    assert.equal(b.closedReason(), null);
    for (const p of [a, b]) {
      p.conn.destroy();
      p.peer.destroy();
    }
  });

  it('reports the end of the stream when reading without the stream layer', async () => {
    const { peer, closedReason } = await pair({});
    peer.end();
    for (let i = 0; i < 100 && closedReason() === null; i++) await sleep(5);
    assert.equal(closedReason(), 'eof');
  });
});
