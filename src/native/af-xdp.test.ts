// AF_XDP sockets on a veth pair in a namespace this test creates: frames sent on one end with
// an AF_PACKET socket arrive in the other end's UMEM through our XDP program, frames sent from
// the UMEM arrive at the AF_PACKET socket; modes, errors and the detach on close.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AfPacketSocket } from './af-packet.ts';
import { XskSocket } from './af-xdp.ts';
import { nativeAddon } from './index.ts';
import { inNetns } from './netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from './netns-fixture.ts';

const skip = netnsUnavailable() || (nativeAddon() ? '' : 'native addon not built');
if (skip) throw new Error(`cannot run: ${skip}`);

const TEST_ETHERTYPE = 0x88b5; // IEEE local experimental: nothing else on the link uses it

/** Naive frame builder: broadcast dst, src 02:..:0a, ethertype 0x88b5, seq, zero padding. */
function frame(seq: number, size = 60): Buffer {
  const b = Buffer.alloc(size);
  b.fill(0xff, 0, 6);
  b.set([0x02, 0, 0, 0, 0, 0x0a], 6);
  b.writeUInt16BE(TEST_ETHERTYPE, 12);
  b.writeUInt32BE(seq, 14);
  return b;
}

function seqOf(f: Uint8Array): number {
  if (f.length < 18 || f[12] !== 0x88 || f[13] !== 0xb5) return -1;
  return ((f[14] << 24) | (f[15] << 16) | (f[16] << 8) | f[17]) >>> 0;
}

function packed(frames: Buffer[]): { buf: Buffer; desc: Uint32Array } {
  const buf = Buffer.concat(frames);
  const desc = new Uint32Array(frames.length * 2);
  let off = 0;
  frames.forEach((f, i) => {
    desc[2 * i] = off;
    desc[2 * i + 1] = f.length;
    off += f.length;
  });
  return { buf, desc };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads sequence numbers until `count` arrived or `ms` passed, releasing after each batch. */
async function drain(
  recv: (out: Uint32Array) => number,
  view: () => Uint8Array,
  release: () => void,
  count: number,
  ms = 3000,
): Promise<number[]> {
  const out = new Uint32Array(2 * 64);
  const seqs: number[] = [];
  const deadline = Date.now() + ms;
  while (seqs.length < count && Date.now() < deadline) {
    const n = recv(out);
    if (n === 0) {
      await sleep(2);
      continue;
    }
    const mem = view();
    for (let i = 0; i < n; i++) {
      const s = seqOf(mem.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]));
      if (s >= 0) seqs.push(s);
    }
    release();
  }
  return seqs;
}

describe('AF_XDP sockets on veth', () => {
  let ns: TestNetns;
  const inNs = <T>(fn: () => T): T => inNetns(`/run/netns/${ns.name}`, fn);
  const xdpLine = (dev: string): string =>
    ns
      .ip('link', 'show', dev)
      .split('\n')
      .find((l) => l.includes('prog/xdp'))
      ?.trim() ?? '';

  before(() => {
    ns = createTestNetns('tsxsk');
    ns.addVeth('xa', 'xb');
  });
  after(() => ns?.destroy());

  for (const mode of ['native', 'generic'] as const) {
    it(`${mode}: receives into the UMEM and transmits from it, in batches, in order`, async () => {
      const x = inNs(() => XskSocket.open('xb', { mode }));
      const a = inNs(() => AfPacketSocket.open('xa', { ignoreOutgoing: true }));
      try {
        assert.equal(x.mode, mode);
        assert.match(xdpLine('xb'), /^prog\/xdp id \d+ name typeswitch_xsk /);
        const frames = Array.from({ length: 200 }, (_, i) => frame(i));
        const { buf, desc } = packed(frames);
        for (let i = 0; i < 200; i += 40) assert.equal(a.send(buf, desc.subarray(2 * i), 40), 40);
        const got = await drain(
          (o) => x.recv(o, 64),
          () => x.umem,
          () => x.release(),
          200,
        );
        assert.deepEqual(
          got,
          frames.map((_, i) => i),
        );

        // Out through the UMEM: 1,000 frames, more than there are transmit frames in flight
        // at once, so completions must be reclaimed along the way.
        const back = Array.from({ length: 1000 }, (_, i) => frame(10_000 + i, 60 + (i % 64)));
        const p = packed(back);
        let sent = 0;
        for (let tries = 0; sent < back.length && tries < 10_000; tries++) {
          const k = Math.min(32, back.length - sent);
          sent += x.send(p.buf, p.desc.subarray(2 * sent), k);
          if (sent % 256 === 0) await sleep(0);
        }
        assert.equal(sent, back.length);
        const seen = await drain(
          (o) => a.recv(o, 64),
          () => a.ring,
          () => a.release(),
          1000,
        );
        assert.deepEqual(
          seen,
          back.map((_, i) => 10_000 + i),
        );
        const st = x.stats();
        assert.equal(st.rxInvalidDescs, 0);
        assert.equal(st.txInvalidDescs, 0);
        assert.equal(st.txErrors, 0);
      } finally {
        x.close();
        a.close();
      }
      assert.equal(xdpLine('xb'), '', 'close() detaches the program');
      assert.equal(x.umem.byteLength, 0, 'the UMEM view is detached');
      assert.throws(() => x.recv(new Uint32Array(2), 1), { code: 'EBADF' });
    });
  }

  it('opens a socket per queue on a two-queue veth and receives from either', async () => {
    ns.ip(
      'link',
      'add',
      'xc',
      'numtxqueues',
      '2',
      'numrxqueues',
      '2',
      'type',
      'veth',
      'peer',
      'name',
      'xd',
      'numtxqueues',
      '2',
      'numrxqueues',
      '2',
    );
    for (const d of ['xc', 'xd']) ns.ip('link', 'set', d, 'up');
    const x = inNs(() => XskSocket.open('xd', { queues: 2, mode: 'native' }));
    const a = inNs(() => AfPacketSocket.open('xc', { ignoreOutgoing: true }));
    try {
      assert.equal(x.fds.length, 2);
      const { buf, desc } = packed(Array.from({ length: 64 }, (_, i) => frame(i)));
      assert.equal(a.send(buf, desc, 32), 32);
      assert.equal(a.send(buf, desc.subarray(64), 32), 32);
      const got = await drain(
        (o) => x.recv(o, 64),
        () => x.umem,
        () => x.release(),
        64,
      );
      assert.deepEqual(
        got.sort((p, q) => p - q),
        Array.from({ length: 64 }, (_, i) => i),
      );
    } finally {
      x.close();
      a.close();
      ns.ip('link', 'del', 'xc');
    }
  });

  it('transmit-only: attaches nothing, sends from the UMEM, leaves receive to AF_PACKET', async () => {
    const x = inNs(() => XskSocket.open('xb', { txOnly: true, frames: 2048 }));
    const a = inNs(() => AfPacketSocket.open('xa', { ignoreOutgoing: true }));
    const b = inNs(() => AfPacketSocket.open('xb', { ignoreOutgoing: true }));
    try {
      assert.equal(xdpLine('xb'), '', 'no XDP program');
      const out = packed(Array.from({ length: 300 }, (_, i) => frame(i)));
      let sent = 0;
      for (let tries = 0; sent < 300 && tries < 1000; tries++)
        sent += x.send(out.buf, out.desc.subarray(2 * sent), Math.min(32, 300 - sent));
      assert.equal(sent, 300);
      const seen = await drain(
        (o) => a.recv(o, 64),
        () => a.ring,
        () => a.release(),
        300,
      );
      assert.deepEqual(
        seen,
        Array.from({ length: 300 }, (_, i) => i),
      );
      const back = packed(Array.from({ length: 32 }, (_, i) => frame(500 + i)));
      assert.equal(a.send(back.buf, back.desc, 32), 32);
      const got = await drain(
        (o) => b.recv(o, 64),
        () => b.ring,
        () => b.release(),
        32,
      );
      assert.deepEqual(
        got,
        Array.from({ length: 32 }, (_, i) => 500 + i),
      );
      assert.equal(x.recv(new Uint32Array(64), 32), 0, 'the AF_XDP socket receives nothing');
    } finally {
      x.close();
      a.close();
      b.close();
    }
  });

  it('best-effort settles on native on veth (no zero-copy), reopening at once', () => {
    for (let i = 0; i < 3; i++) {
      const x = inNs(() => XskSocket.open('xb'));
      assert.equal(x.mode, 'native');
      x.close();
    }
  });

  it('says why it cannot open: zero-copy on veth, a missing device, a second program', () => {
    assert.throws(() => inNs(() => XskSocket.open('xb', { mode: 'native-with-zerocopy' })), {
      code: 'EOPNOTSUPP',
      message: 'xb: could not bind AF_XDP socket (Operation not supported)',
    });
    assert.equal(xdpLine('xb'), '', 'a failed open leaves nothing attached');
    assert.throws(() => inNs(() => XskSocket.open('nosuchdev0')), { code: 'ENODEV' });
    // veth has one queue here: a socket on queue 1 cannot bind (OVS gets EINVAL too).
    assert.throws(() => inNs(() => XskSocket.open('xb', { queues: 2, mode: 'native' })), {
      code: 'EINVAL',
    });
    const first = inNs(() => XskSocket.open('xb', { mode: 'native' }));
    try {
      assert.throws(
        () => inNs(() => XskSocket.open('xb', { mode: 'native' })),
        (err: Error) =>
          /xb: (could not bind AF_XDP socket|another XDP program is attached)/.test(err.message),
      );
      assert.notEqual(xdpLine('xb'), '', "the first socket's program stays");
    } finally {
      first.close();
    }
    assert.throws(() => inNs(() => XskSocket.open('xb', { frameSize: 1000 })), RangeError);
  });
});
