/**
 * Peers that do not read: as OVS, our switch stops reading a connection whose replies pile up
 * unsent (so a flood of requests waits in the peer's socket, not in our memory), and drops
 * packet-ins for a controller that leaves too many unread. Both then carry on normally.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { OfpFramer } from '../src/ofproto/openflow/framer.ts';
import { dummyBridge, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hello = (v: number): Uint8Array =>
  encodeMessage({ version: v, xid: 1, msg: { type: 'hello', versions: [v] } });

/* Reads every message on `sock` (resuming it) until `done` says so, counting by type. */
function readAll(
  sock: Socket,
  done: (counts: Map<number, number>) => boolean,
  ms: number,
): Promise<Map<number, number>> {
  const framer = new OfpFramer();
  const counts = new Map<number, number>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(counts), ms);
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      for (const ev of framer.push(new Uint8Array(d))) {
        if (ev.kind !== 'message') continue;
        counts.set(ev.bytes[1], (counts.get(ev.bytes[1]) ?? 0) + 1);
      }
      if (done(counts)) {
        clearTimeout(timer);
        resolve(counts);
      }
    });
    sock.resume();
  });
}

describe('peers that do not read', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ which: 'ours' });
    const r = vsctl(s, [
      ...dummyBridge('br0', [1]),
      '--',
      'set',
      'bridge',
      'br0',
      'fail_mode=secure',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => stopStack(s));

  it('a flood of requests whose replies are not read waits in the peer', async () => {
    const sock = connect(join(s.dir, 'br0.mgmt'));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause();
    // 8 MiB of echo requests, each answered with as much again.
    const n = 1 << 20;
    const flood = new Uint8Array(n * 8);
    for (let i = 0; i < n; i++) flood.set([4, 2, 0, 8, 0, 0, 0, 9], i * 8);
    sock.write(hello(4));
    sock.write(flood);
    await sleep(1500);
    assert.ok(sock.writableLength > 1 << 20, `still to send: ${sock.writableLength}`);
    const counts = await readAll(sock, (c) => (c.get(3) ?? 0) >= n, 60_000);
    sock.destroy();
    assert.equal(counts.get(3), n, 'every echo request was answered in the end');
  });

  it('packet-ins for a controller that does not read are dropped, not queued without end', async () => {
    const path = join(s.dir, 'ctl.sock');
    let ctl: Socket | null = null;
    const server = createServer((c) => {
      ctl = c;
      c.pause();
      c.write(hello(4));
    });
    await new Promise<void>((r) => server.listen(path, () => r()));
    try {
      assert.equal(vsctl(s, ['set-controller', 'br0', `unix:${path}`]).status, 0);
      for (let i = 0; i < 200 && ctl === null; i++) await sleep(25);
      assert.ok(ctl, 'the switch connected to the controller');
      await sleep(300);
      // Packet-outs of 1,000-byte frames to the controller, from the management socket, 500
      // per ovs-ofctl call: 5,000 of them are 5 MB of packet-ins.
      const frame = Buffer.alloc(1000);
      frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
      const packets = Array.from({ length: 500 }, () => frame.toString('hex'));
      for (let i = 0; i < 10; i++) {
        const r = spawnSync(
          '/usr/bin/ovs-ofctl',
          ['packet-out', 'br0', '1', 'controller', ...packets],
          { env: s.env, encoding: 'utf8', timeout: 60_000 },
        );
        assert.equal(r.status, 0, `packet-out: ${r.stderr}`);
      }
      // The switch still answers its management socket at once.
      const probe = spawnSync('/usr/bin/ovs-ofctl', ['dump-flows', 'br0'], {
        env: s.env,
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(probe.status, 0, probe.stderr);
      const c = ctl as unknown as Socket;
      const counts = await readAll(c, () => false, 3000);
      const pins = counts.get(10) ?? 0;
      assert.ok(pins > 100, `some packet-ins arrived (${pins})`);
      assert.ok(pins < 2500, `most were dropped while unread (${pins} of 5000 arrived)`);
    } finally {
      (ctl as Socket | null)?.destroy();
      server.close();
    }
  });
});
