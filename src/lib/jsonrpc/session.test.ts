import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, listen } from './open.ts';
import { Reconnect, ReconnectingClient } from './reconnect.ts';
import { type CloseReason, JsonRpcRemoteError, type JsonRpcSession } from './session.ts';
import { parseActive, parsePassive } from './stream.ts';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}
function closed(s: JsonRpcSession): Promise<CloseReason> {
  return new Promise((resolve) => s.onClose((r) => resolve(r)));
}

describe('JsonRpcSession against real ovsdb-server 3.1', () => {
  let dir: string;
  let server: ChildProcess;
  let sock: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-jsonrpc-'));
    sock = join(dir, 'db.sock');
    execFileSync('ovsdb-tool', [
      'create',
      join(dir, 'db'),
      '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    server = spawn(
      '/usr/sbin/ovsdb-server',
      [
        `--remote=punix:${sock}`,
        `--unixctl=${join(dir, 'ctl')}`,
        '--no-chdir',
        '-vconsole:off',
        join(dir, 'db'),
      ],
      { stdio: 'ignore' },
    );
    await waitFor(() => existsSync(sock));
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets list_dbs and echo replies', async () => {
    const s = await connect(`unix:${sock}`);
    assert.deepEqual(await s.request('list_dbs', []), ['Open_vSwitch', '_Server']);
    assert.deepEqual(await s.request('echo', ['hello', 1]), ['hello', 1]);
    s.close();
  });

  it('reports an error reply for an unknown database as JsonRpcRemoteError', async () => {
    const s = await connect(`unix:${sock}`);
    await assert.rejects(s.request('get_schema', ['nope']), (err: unknown) => {
      assert.ok(err instanceof JsonRpcRemoteError);
      assert.deepEqual(err.error, {
        error: 'unknown database',
        details: 'get_schema request specifies unknown database nope',
        syntax: '["nope"]',
      });
      return true;
    });
    s.close();
  });

  it("answers the server's own echo and keeps many requests in flight in order", async () => {
    const s = await connect(`unix:${sock}`);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => s.request('echo', [i])));
    assert.deepEqual(
      replies,
      Array.from({ length: 50 }, (_, i) => [i]),
    );
    s.close();
  });

  it('is disconnected by ovsdb-server after sending malformed JSON', async () => {
    const s = await connect(`unix:${sock}`);
    const done = closed(s);
    s.stream.write('{"method":"echo","params":[],"id":1]');
    const reason = await done;
    assert.equal(reason.kind, 'eof');
  });
});

describe('JsonRpcSession between our own peers', () => {
  it('replies to requests through onRequest, asynchronously too', async () => {
    const passive = await listen('ptcp:0:127.0.0.1', (s) => {
      s.onRequest = (req, sess) => {
        if (req.method === 'add') {
          setTimeout(
            () => sess.reply(req.id, (req.params[0] as number) + (req.params[1] as number)),
            5,
          );
        } else {
          sess.replyError(req.id, { error: 'unknown method' });
        }
      };
    });
    const c = await connect(`tcp:127.0.0.1:${passive.port}`);
    assert.equal(await c.request('add', [2, 3]), 5);
    await assert.rejects(c.request('sub', [2, 3]), JsonRpcRemoteError);
    c.close();
    await passive.close();
  });

  it('closes with a protocol error on an invalid JSON-RPC message (as OVS does)', async () => {
    let serverSide: JsonRpcSession | undefined;
    const passive = await listen('ptcp:0:127.0.0.1', (s) => {
      serverSide = s;
    });
    const raw = net.connect(passive.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    raw.write('{"method":"x","params":{},"id":1}');
    await waitFor(() => serverSide?.closed === true);
    assert.deepEqual(serverSide!.closeReason, {
      kind: 'protocol',
      message: '"params" must be JSON array',
    });
    raw.destroy();
    await passive.close();
  });

  it('closes on an oversized message', async () => {
    let serverSide: JsonRpcSession | undefined;
    const passive = await listen(
      'ptcp:0:127.0.0.1',
      (s) => {
        serverSide = s;
      },
      { session: { maxMessageSize: 1000 } },
    );
    const c = await connect(`tcp:127.0.0.1:${passive.port}`);
    c.notify('big', ['x'.repeat(5000)]);
    await waitFor(() => serverSide?.closed === true);
    assert.equal(serverSide!.closeReason!.kind, 'too-big');
    c.close();
    await passive.close();
  });

  it('probes an idle peer and disconnects one that never answers', async () => {
    // A raw socket that reads nothing and answers nothing plays the dead peer.
    const dead = net.createServer(() => {});
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as net.AddressInfo).port;
    const s = await connect(`tcp:127.0.0.1:${port}`, { probeIntervalMs: 100 });
    const t0 = Date.now();
    const reason = await closed(s);
    assert.equal(reason.kind, 'probe');
    assert.equal(
      reason.message,
      'no response to inactivity probe after 0.1 seconds, disconnecting',
    );
    assert.ok(Date.now() - t0 >= 190);
    dead.close();
  });

  it('keeps a quiet but live peer: its echo replies count as activity', async () => {
    const passive = await listen('ptcp:0:127.0.0.1', () => {}, { session: { probeIntervalMs: 0 } });
    const s = await connect(`tcp:127.0.0.1:${passive.port}`, { probeIntervalMs: 50 });
    await sleep(400);
    assert.equal(s.closed, false);
    assert.ok(s.stats.sent >= 3, `sent ${s.stats.sent} probes`);
    s.close();
    await passive.close();
  });

  it('disconnects a peer that never reads once the backlog passes the limit, without stalling others', async () => {
    const blDir = mkdtempSync(join(tmpdir(), 'ts-bl-'));
    const sessions: JsonRpcSession[] = [];
    const passive = await listen(
      `punix:${join(blDir, 's')}`,
      (s) => {
        sessions.push(s);
      },
      { session: { maxBacklogBytes: 1 << 20 } },
    );
    const path = (passive.address as { path: string }).path;
    const stuck = net.connect(path);
    stuck.pause();
    const good = await connect(`unix:${path}`);
    await waitFor(() => sessions.length === 2);
    const [stuckSide] = sessions;
    const chunk = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 200 && !stuckSide.closed; i++) {
      stuckSide.notify('flood', [chunk]);
      await sleep(0);
    }
    assert.equal(stuckSide.closeReason?.kind, 'backlog');
    sessions[1].onRequest = (req, s) => s.reply(req.id, 'fine');
    assert.equal(await good.request('ping', []), 'fine');
    good.close();
    stuck.destroy();
    await passive.close();
    rmSync(blDir, { recursive: true, force: true });
  });

  it('survives a handler that throws: later messages in the same chunk are still handled', async () => {
    const passive = await listen('ptcp:0:127.0.0.1', (s) => {
      s.onRequest = (req, sess) => {
        if (req.method === 'boom') throw new Error('handler bug');
        sess.reply(req.id, 'after');
      };
    });
    const raw = net.connect(passive.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    const got: string[] = [];
    raw.on('data', (d) => got.push(d.toString()));
    // One write, so both requests arrive in one chunk.
    raw.write('{"method":"boom","params":[],"id":1}{"method":"ok","params":[],"id":2}');
    await waitFor(() => got.join('').includes('"id":2'));
    assert.equal(got.join(''), '{"result":"after","error":null,"id":2}');
    raw.destroy();
    await passive.close();
  });

  it('times out a request that gets no reply, leaving the session open', async () => {
    const passive = await listen('ptcp:0:127.0.0.1', (s) => {
      s.onRequest = () => {};
    });
    const c = await connect(`tcp:127.0.0.1:${passive.port}`);
    await assert.rejects(c.request('never', [], { timeoutMs: 50 }), {
      name: 'JsonRpcTimeoutError',
      message: 'never: request timed out',
    });
    assert.equal(c.closed, false);
    assert.deepEqual(await c.request('echo', [7]), [7]);
    c.close();
    await passive.close();
  });

  it('rejects pending requests when the connection closes', async () => {
    const passive = await listen('ptcp:0:127.0.0.1', (s) => {
      s.onRequest = () => s.close();
    });
    const c = await connect(`tcp:127.0.0.1:${passive.port}`);
    await assert.rejects(c.request('x', []), { name: 'JsonRpcClosedError' });
    await passive.close();
  });
});

describe('addresses', () => {
  it('parses active and passive names as OVS does', () => {
    assert.deepEqual(parseActive('tcp:127.0.0.1:6640'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 6640,
    });
    assert.deepEqual(parseActive('ssl:[::1]:6641'), { kind: 'ssl', host: '::1', port: 6641 });
    assert.deepEqual(parseActive('tcp:[::1]', 6640), { kind: 'tcp', host: '::1', port: 6640 });
    assert.deepEqual(parseActive('unix:/a/b'), { kind: 'unix', path: '/a/b' });
    assert.deepEqual(parsePassive('ptcp:0'), { kind: 'ptcp', host: '0.0.0.0', port: 0 });
    assert.deepEqual(parsePassive('ptcp:6640:[::1]'), { kind: 'ptcp', host: '::1', port: 6640 });
    assert.deepEqual(parsePassive('pssl:6640:127.0.0.1'), {
      kind: 'pssl',
      host: '127.0.0.1',
      port: 6640,
    });
    assert.throws(() => parseActive('tcp:1.2.3.4'), {
      message: 'tcp:1.2.3.4: port must be specified',
    });
    assert.throws(() => parseActive('tcp:h:99999'), /bad port number/);
    assert.throws(() => parseActive('foo:bar'), /unknown stream type/);
  });

  it('listens on an IPv6 loopback and reports the bound name', async () => {
    const p = await listen('ptcp:0:[::1]', (s) => s.close());
    assert.ok(p.port > 0);
    assert.equal(p.boundName, `ptcp:${p.port}:[::1]`);
    await p.close();
  });

  it('replaces a stale unix socket file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-stale-'));
    const path = join(dir, 's');
    const first = await listen(`punix:${path}`, () => {});
    // Simulate a crash: the file stays, nobody listens.
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(join(dir, 't'), () => r()));
    await first.close();
    const again = await listen(`punix:${join(dir, 't')}`, (s) => s.close());
    assert.ok(existsSync(join(dir, 't')));
    await again.close();
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('interoperation with the Python ovs bindings (python3-openvswitch 3.1)', () => {
  it('serves a Python ovs.jsonrpc client: echo and a large UTF-8 request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-py-'));
    const path = join(dir, 's');
    const p = await listen(`punix:${path}`, (s) => {
      s.onRequest = (req, sess) => sess.reply(req.id, (req.params as string[]).join(''));
    });
    const script = [
      'import sys, json',
      'import ovs.stream, ovs.jsonrpc',
      'err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(sys.argv[1]))',
      'assert not err, err',
      'rpc = ovs.jsonrpc.Connection(stream)',
      'big = [chr(0xe9) * 100000, chr(0x1F600) + "{}[]" + chr(34) + chr(92)]',
      'for method, params in [("echo", ["x", 1]), ("concat", big)]:',
      '    err, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request(method, params))',
      '    assert not err, err',
      '    r = reply.result',
      '    print(json.dumps(r if isinstance(r, list) else [len(r), r[-8:]], ensure_ascii=False))',
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        '/usr/bin/python3',
        ['-c', script, `unix:${path}`],
        { timeout: 10_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    assert.equal(out, '["x", 1]\n[100007, "é😀{}[]\\"\\\\"]\n');
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('long unix socket paths', () => {
  it('binds and connects beyond the 107-byte sun_path limit, at the real path', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ts-long-')), 'd'.repeat(120));
    mkdirSync(dir);
    const path = join(dir, 'db.sock');
    const p = await listen(`punix:${path}`, (s) => {
      s.onRequest = (req, sess) => sess.reply(req.id, 'long');
    });
    assert.ok(existsSync(path));
    const c = await connect(`unix:${path}`);
    assert.equal(await c.request('x', []), 'long');
    c.close();
    await p.close();
    assert.equal(existsSync(path), false);
    rmSync(dirname(dir), { recursive: true, force: true });
  });
});

describe('Reconnect FSM (OVS backoff)', () => {
  it('tries at once, then backs off 1 s doubling to 8 s', () => {
    const r = new Reconnect();
    r.enable(0);
    assert.equal(r.nextAttemptIn(0), 0);
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      r.connecting(now);
      r.disconnected(now);
      waits.push(r.nextAttemptIn(now)!);
      now += r.backoff;
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('resets to the minimum after a connection that lasted at least the backoff', () => {
    const r = new Reconnect();
    r.enable(0);
    for (let i = 0; i < 4; i++) {
      r.connecting(0);
      r.disconnected(0);
    }
    assert.equal(r.backoff, 8000);
    r.connecting(100);
    r.connected(100);
    r.disconnected(100 + 9000);
    assert.equal(r.backoff, 1000);
  });
});

describe('ReconnectingClient', () => {
  it('moves on to the next remote when one fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-rc2-'));
    const good = join(dir, 'good');
    const passive = await listen(`punix:${good}`, (s) => {
      s.onRequest = (req, sess) => sess.reply(req.id, 'good');
    });
    const client = new ReconnectingClient([`unix:${join(dir, 'missing')}`, `unix:${good}`]);
    const t0 = Date.now();
    await client.waitConnected(5000);
    // The first attempt fails at once; the second waits the 1 s minimum backoff.
    assert.ok(Date.now() - t0 >= 900);
    assert.equal(client.remote, `unix:${good}`);
    assert.equal(await client.request('x', []), 'good');
    client.close();
    await passive.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects once the server appears, and reconnects after the server drops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-rc-'));
    const path = join(dir, 's');
    let connects = 0;
    const client = new ReconnectingClient(`unix:${path}`, {
      onConnect: () => {
        connects++;
      },
    });
    client.start();
    await sleep(100);
    assert.equal(client.isConnected, false);
    const served: JsonRpcSession[] = [];
    const passive = await listen(`punix:${path}`, (s) => {
      served.push(s);
      s.onRequest = (req, sess) => sess.reply(req.id, served.length);
    });
    const s1 = await client.waitConnected(3000);
    assert.equal(await s1.request('which', []), 1);
    served[0].close();
    await waitFor(() => connects === 2, 4000);
    assert.equal(await client.request('which', []), 2);
    client.close();
    await passive.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
