// AF_PACKET rings on a veth pair. Both ends live in a namespace this test creates; the test
// process enters it only to open its sockets (inNetns), so nothing touches the root namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AfPacketSocket } from './af-packet.ts';
import { nativeAddon } from './index.ts';
import { inNetns } from './netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from './netns-fixture.ts';

const skip = netnsUnavailable() || (nativeAddon() ? '' : 'native addon not built');
// CI installs and allows everything these tests need: a missing piece fails them, never skips.
if (skip) throw new Error(`cannot run: ${skip}`);
const TEST_ETHERTYPE = 0x88b5; // IEEE local experimental: nothing else on the link uses it
const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_OTHER = [0x02, 0, 0, 0, 0, 0x99]; // no interface has it: needs promiscuous reception

/** Naive frame builder: dst, src, [tags...], ethertype 0x88b5, "TSWT", seq, zero padding. */
function frame(
  seq: number,
  opts: { dst?: number[]; tags?: [number, number][]; size?: number } = {},
): Buffer {
  const bytes = [...(opts.dst ?? MAC_OTHER), ...MAC_A];
  for (const [tpid, tci] of opts.tags ?? [])
    bytes.push(tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff);
  bytes.push(TEST_ETHERTYPE >> 8, TEST_ETHERTYPE & 0xff, 0x54, 0x53, 0x57, 0x54);
  bytes.push((seq >>> 24) & 0xff, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff);
  while (bytes.length < (opts.size ?? 60)) bytes.push(0);
  return Buffer.from(bytes);
}

/** The test marker's position: after the MACs and any 802.1Q/802.1ad tags. */
function markerSeq(f: Uint8Array): number {
  let p = 12;
  while (
    p + 4 <= f.length &&
    (f[p] === 0x81 || f[p] === 0x88) &&
    (f[p + 1] === 0x00 || f[p + 1] === 0xa8)
  )
    p += 4;
  if (p + 10 > f.length || f[p] !== 0x88 || f[p + 1] !== 0xb5) return -1;
  if (f[p + 2] !== 0x54 || f[p + 3] !== 0x53 || f[p + 4] !== 0x57 || f[p + 5] !== 0x54) return -1;
  return ((f[p + 6] << 24) | (f[p + 7] << 16) | (f[p + 8] << 8) | f[p + 9]) >>> 0;
}

function sendAll(sock: AfPacketSocket, frames: Buffer[]): void {
  const buf = Buffer.concat(frames);
  const desc = new Uint32Array(frames.length * 2);
  let off = 0;
  frames.forEach((f, i) => {
    desc[2 * i] = off;
    desc[2 * i + 1] = f.length;
    off += f.length;
  });
  let sent = 0;
  for (let tries = 0; sent < frames.length && tries < 10_000; tries++) {
    sent += sock.send(buf, desc.subarray(2 * sent), frames.length - sent);
  }
  assert.equal(sent, frames.length, 'transmit ring kept refusing frames');
}

interface Batches {
  frames: Buffer[];
  batchSizes: number[];
}

/** Receives test frames until `count` arrived or `ms` passed (bounded), copying them out. */
async function receive(sock: AfPacketSocket, count: number, ms = 2000): Promise<Batches> {
  const out = new Uint32Array(2 * 256);
  const got: Batches = { frames: [], batchSizes: [] };
  const deadline = Date.now() + ms;
  while (got.frames.length < count && Date.now() < deadline) {
    const n = sock.recv(out, 256);
    if (n === 0) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    got.batchSizes.push(n);
    for (let i = 0; i < n; i++) {
      const f = sock.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]);
      if (markerSeq(f) >= 0) got.frames.push(Buffer.from(f));
    }
    sock.release();
  }
  return got;
}

describe('AF_PACKET sockets with TPACKET_V3 rings on a veth pair', () => {
  let ns: TestNetns;
  const open: AfPacketSocket[] = [];
  const openIn = (dev: string, opts = {}): AfPacketSocket => {
    const s = inNetns(ns.name, () => AfPacketSocket.open(dev, opts));
    open.push(s);
    return s;
  };

  before(() => {
    ns = createTestNetns('tsnat-afp');
    ns.addVeth('va', 'vb');
  });
  after(() => {
    for (const s of open) s.close();
    ns?.destroy();
  });

  it('delivers frames sent on one end to the other, byte-identical and in batches', async () => {
    const a = openIn('va');
    const b = openIn('vb');
    const frames = Array.from({ length: 100 }, (_, i) => frame(i, { size: 60 + (i % 7) * 100 }));
    sendAll(a, frames);
    const got = await receive(b, frames.length);
    assert.equal(got.frames.length, frames.length);
    for (const [i, f] of got.frames.entries()) assert.deepEqual(f, frames[i], `frame ${i}`);
    assert.ok(
      got.batchSizes.some((n) => n > 1),
      `batches: ${got.batchSizes.join(',')}`,
    );
    a.close();
    b.close();
  });

  it('receives frames addressed to other MACs and holds promiscuous mode while open', async () => {
    // The kernel counts packet-socket promiscuity apart from IFF_PROMISC: read it from iproute2.
    const promiscuity = (): number =>
      (JSON.parse(ns.ip('-d', '-j', 'link', 'show', 'vb')) as { promiscuity: number }[])[0]
        .promiscuity;
    assert.equal(promiscuity(), 0);
    const a = openIn('va');
    const b = openIn('vb');
    assert.equal(promiscuity(), 1);
    sendAll(a, [frame(7, { dst: MAC_OTHER })]);
    const got = await receive(b, 1);
    assert.equal(got.frames.length, 1);
    assert.deepEqual([...got.frames[0].subarray(0, 6)], MAC_OTHER);
    b.close();
    a.close();
    assert.equal(promiscuity(), 0, 'promiscuous mode left on');
  });

  it('restores 802.1Q and 802.1ad tags that the kernel strips on receive', async () => {
    const a = openIn('va');
    const b = openIn('vb');
    const frames = [
      frame(1, { tags: [[0x8100, 0x600a]] }), // PCP 3, VID 10
      frame(2, { tags: [[0x8100, 0x0000]] }), // priority-tagged, VID 0
      frame(3, {
        tags: [
          [0x88a8, 0x0064],
          [0x8100, 0x0005],
        ],
      }), // QinQ: S-tag 100, C-tag 5
    ];
    sendAll(a, frames);
    const got = await receive(b, frames.length);
    assert.equal(got.frames.length, 3);
    for (const [i, f] of got.frames.entries())
      assert.equal(f.toString('hex'), frames[i].toString('hex'));
    a.close();
    b.close();
  });

  it('with vnetHdr: ordinary frames pass with zero offload words, tags restored', async () => {
    const a = openIn('va', { vnetHdr: true });
    const b = openIn('vb', { vnetHdr: true });
    assert.equal(a.vnetHdr, true);
    const frames = [frame(1), frame(2, { tags: [[0x8100, 0x600a]] }), frame(3, { size: 1400 })];
    sendAll(a, frames);
    const out = new Uint32Array(64);
    const ol = new Uint32Array(64).fill(0xdead);
    const got: Buffer[] = [];
    const deadline = Date.now() + 2000;
    while (got.length < frames.length && Date.now() < deadline) {
      const n = b.recv(out, 32, ol);
      for (let i = 0; i < n; i++) {
        const f = b.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]);
        if (markerSeq(f) < 0) continue;
        assert.deepEqual([ol[2 * i], ol[2 * i + 1]], [0, 0], 'no offloads on a raw frame');
        got.push(Buffer.from(f));
      }
      b.release();
      if (n === 0) await new Promise((r) => setTimeout(r, 2));
    }
    assert.deepEqual(
      got.map((f) => f.toString('hex')),
      frames.map((f) => f.toString('hex')),
    );
    a.close();
    b.close();
  });

  it('with vnetHdr: a partial checksum sent with offload words arrives complete', async () => {
    // TCP/IPv4 behind an 802.1Q tag, checksum field garbage: the socket writes the
    // pseudo-header sum, the kernel (va has checksum offload off) completes it in software.
    const a = openIn('va', { vnetHdr: true });
    const b = openIn('vb');
    const ip = [0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2];
    const tcp = [0x9c, 0x40, 0x14, 0x51, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 2, 0, 0xab, 0xcd];
    tcp.push(0, 0, ...Array.from({ length: 20 }, (_, i) => i * 7));
    const f = Buffer.from([
      ...MAC_OTHER,
      ...MAC_A,
      0x81,
      0x00,
      0x00,
      0x05,
      0x08,
      0x00,
      ...ip,
      ...tcp,
    ]);
    const desc = Uint32Array.of(0, f.length);
    // OL_CSUM, no GSO; L4 at 20 bytes past L3, checksum field 16 bytes into it.
    const olw = Uint32Array.of(1, 20 | (16 << 16));
    assert.equal(a.send(f, desc, 1, olw), 1);
    const out = new Uint32Array(64);
    let seg: Buffer | undefined;
    const deadline = Date.now() + 2000;
    while (!seg && Date.now() < deadline) {
      const n = b.recv(out, 32);
      for (let i = 0; i < n; i++) {
        const g = b.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]);
        if (g.length === f.length && g[16] === 0x08) seg = Buffer.from(g);
      }
      b.release();
      if (n === 0) await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(seg, 'the frame arrived');
    // Naive check: pseudo-header plus segment sums to 0xffff.
    const words = [198, 18, 0, 1, 198, 18, 0, 2, 0, 6, 0, tcp.length, ...seg.subarray(38)];
    let sum = 0;
    for (let i = 0; i < words.length; i += 2) {
      sum += (words[i] << 8) | (words[i + 1] ?? 0);
      if (sum > 0xffff) sum -= 0xffff;
    }
    assert.equal(sum, 0xffff, `TCP checksum ${seg.subarray(54, 56).toString('hex')} is valid`);
    assert.deepEqual(seg.subarray(0, 54), f.subarray(0, 54), 'headers unchanged');
    a.close();
    b.close();
  });

  it('restores the tag of a frame built and sent by scapy', async () => {
    const py = '/usr/bin/python3';
    const script = [
      'import sys',
      'from scapy.all import Ether, Dot1Q, IP, UDP, Raw, sendp, raw',
      "p = Ether(dst='02:00:00:00:00:99', src='02:00:00:00:00:0a')/Dot1Q(vlan=2, prio=5)/IP(src='198.18.0.1', dst='198.18.0.2')/UDP(sport=4000, dport=4001)/Raw(b'TSWT-scapy')",
      "sendp(p, iface='va', verbose=False)",
      'print(raw(p).hex())',
    ].join('\n');
    const b = openIn('vb');
    // scapy is a test peer CI installs (python3-scapy): its absence is a failure, not a skip.
    const hex = ns.exec(py, '-c', script).trim();
    const out = new Uint32Array(64);
    const deadline = Date.now() + 2000;
    let seen: string | undefined;
    while (!seen && Date.now() < deadline) {
      const n = b.recv(out, 32);
      for (let i = 0; i < n; i++) {
        const f = Buffer.from(b.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]));
        if (f.includes('TSWT-scapy')) seen = f.toString('hex');
      }
      b.release();
      if (!seen) await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(seen, hex);
    assert.equal(seen?.slice(24, 32), '8100a002'); // TPID, PCP 5 and VID 2 as on the wire
    b.close();
  });

  it('does not receive frames transmitted on the same interface (PACKET_IGNORE_OUTGOING)', async () => {
    // With PACKET_QDISC_BYPASS no other packet socket would see the frames at all, so the
    // sender goes through the qdisc layer (the default), where packet sockets see them.
    const sender = openIn('va');
    const watcher = openIn('va');
    const control = openIn('va', { ignoreOutgoing: false });
    sendAll(sender, [frame(11), frame(12), frame(13)]);
    const seenByControl = await receive(control, 3);
    assert.equal(seenByControl.frames.length, 3, 'control socket should see outgoing frames');
    const seenByWatcher = await receive(watcher, 1, 100);
    assert.equal(seenByWatcher.frames.length, 0);
    const seenBySender = await receive(sender, 1, 50);
    assert.equal(seenBySender.frames.length, 0);
    for (const s of [sender, watcher, control]) s.close();
  });

  it('accounts for every frame of a 10,000-frame burst: received or counted as dropped', async () => {
    const a = openIn('va', { txRing: true });
    const b = openIn('vb', { blockCount: 4, blockSize: 1 << 16 }); // small: may overflow
    const total = 10_000;
    const buf = Buffer.alloc(64 * 256);
    const desc = new Uint32Array(512);
    const out = new Uint32Array(512);
    let sent = 0;
    let received = 0;
    const seqs = new Set<number>();
    const drain = (): void => {
      for (;;) {
        const n = b.recv(out, 256);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const seq = markerSeq(b.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]));
          if (seq >= 0) {
            received++;
            seqs.add(seq);
          }
        }
        b.release();
      }
    };
    for (let guard = 0; sent < total && guard < 100_000; guard++) {
      const batch = Math.min(256, total - sent);
      for (let i = 0; i < batch; i++) {
        frame(sent + i, { size: 64 }).copy(buf, 64 * i);
        desc[2 * i] = 64 * i;
        desc[2 * i + 1] = 64;
      }
      let done = 0;
      for (let tries = 0; done < batch && tries < 1000; tries++)
        done += a.send(buf, desc.subarray(2 * done), batch - done);
      sent += done;
      if (guard % 8 === 0) drain();
    }
    assert.equal(sent, total);
    const deadline = Date.now() + 3000;
    let stats = b.stats();
    while (Date.now() < deadline) {
      drain();
      stats = b.stats();
      if (received + stats.drops >= total) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(received + stats.drops, total, `received ${received}, dropped ${stats.drops}`);
    assert.equal(seqs.size, received, 'a frame was delivered twice');
    assert.ok(received > 0);
    a.close();
    b.close();
  });

  it('wakes an event-loop callback when frames arrive (libuv poll), and waitReadable times out', async () => {
    const a = openIn('va');
    const b = openIn('vb');
    assert.equal(b.waitReadable(20), false);
    const arrived = new Promise<number>((resolve) => {
      const out = new Uint32Array(64);
      b.onReadable(() => {
        const n = b.recv(out, 32);
        b.release();
        if (n > 0) {
          b.stopPolling();
          resolve(n);
        }
      });
    });
    sendAll(a, [frame(21)]);
    const timeout = new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error('no wake-up within 2 s')), 2000).unref(),
    );
    assert.ok((await Promise.race([arrived, timeout])) >= 1);
    a.close();
    b.close();
  });

  it('serves a socket from a worker thread that blocks in waitReadable', async () => {
    // A worker does not inherit the TypeScript loader: register tsx in it before the import.
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./af-packet-worker.fixture.ts', import.meta.url).href;
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    const worker = new Worker(boot, {
      eval: true,
      workerData: { netns: ns.name, dev: 'vb', want: 50 },
    });
    try {
      const messages: { ready?: boolean; got?: number }[] = [];
      const result = new Promise<number>((resolve, reject) => {
        worker.on('message', (m: { ready?: boolean; got?: number }) => {
          messages.push(m);
          if (m.got !== undefined) resolve(m.got);
        });
        worker.on('error', reject);
      });
      const deadline = Date.now() + 3000;
      while (!messages.some((m) => m.ready) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      const a = openIn('va');
      sendAll(
        a,
        Array.from({ length: 50 }, (_, i) => frame(100 + i)),
      );
      assert.equal(await result, 50);
    } finally {
      await worker.terminate();
    }
  });

  for (const opts of [
    { txRing: true },
    { txRing: true, qdiscBypass: true },
    { qdiscBypass: true },
    { separateTx: true },
    { separateTx: true, vnetHdr: true },
  ]) {
    it(`transmits the same frames with ${JSON.stringify(opts)}`, async () => {
      const a = openIn('va', opts);
      const b = openIn('vb');
      if ('separateTx' in opts) assert.equal(a.separateTx, true, 'a socket of its own sends');
      const frames = [
        frame(31),
        frame(32, { size: 1514 }),
        frame(33, { tags: [[0x8100, 0x0003]] }),
      ];
      sendAll(a, frames);
      const got = await receive(b, frames.length);
      assert.deepEqual(got.frames, frames);
      a.close();
      b.close();
    });
  }
});

// Sockets here are opened on the loopback device of a namespace of the test's own.
describe('AF_PACKET error paths', () => {
  let ns: TestNetns;
  before(() => {
    ns = createTestNetns('tsnat-afperr');
  });
  after(() => ns?.destroy());
  const open = (name: string, opts = {}): AfPacketSocket =>
    inNetns(ns.name, () => AfPacketSocket.open(name, opts));

  it('names the interface and errno when it does not exist', () => {
    assert.throws(() => open('tsnat-nosuch0'), {
      message: 'tsnat-nosuch0: could not open network device (No such device)',
      code: 'ENODEV',
      errno: -19,
    });
  });

  it('rejects a name longer than IFNAMSIZ and bad options with typed errors', () => {
    assert.throws(() => open('x'.repeat(16)), { name: 'RangeError' });
    assert.throws(() => open('lo', { blockCount: 1 }), { name: 'RangeError' });
    assert.throws(() => open('lo', { blockSize: 'big' as unknown as number }), {
      name: 'TypeError',
      message: /blockSize/,
    });
  });

  it('refuses calls on a closed socket with EBADF and empties the ring view', () => {
    const s = open('lo', {
      blockSize: 1 << 17,
      blockCount: 2,
      txRing: true,
      txFrames: 4,
    });
    assert.ok(s.ring.byteLength > 0);
    s.close();
    s.close();
    assert.equal(s.ring.byteLength, 0);
    assert.throws(() => s.recv(new Uint32Array(2), 1), {
      code: 'EBADF',
      message: 'lo: socket is closed (Bad file descriptor)',
    });
    assert.throws(() => s.send(Buffer.alloc(60), new Uint32Array([0, 60]), 1), { code: 'EBADF' });
    assert.throws(() => s.stats(), { code: 'EBADF' });
  });

  it('checks batch arguments against their buffers', () => {
    const s = open('lo', { blockSize: 1 << 17, blockCount: 2, txFrames: 4 });
    try {
      assert.throws(() => s.recv(new Uint32Array(4), 3), { name: 'RangeError' });
      assert.throws(() => s.recv(new Uint8Array(8) as unknown as Uint32Array, 1), {
        name: 'TypeError',
      });
      assert.throws(() => s.send(Buffer.alloc(60), new Uint32Array([10, 60]), 1), {
        name: 'RangeError',
        message: /outside the buffer/,
      });
      assert.throws(() => s.send(Buffer.alloc(60), new Uint32Array([0, 60]), 2), {
        name: 'RangeError',
      });
    } finally {
      s.close();
    }
  });

  it('refuses objects that are not its sockets instead of misreading them', () => {
    const addon = nativeAddon();
    assert.ok(addon);
    const monitorFd = inNetns(ns.name, () => addon.rtnlOpen());
    const poller = addon.pollStart(monitorFd, 1, () => {});
    try {
      const notSockets: unknown[] = [poller, {}, null, undefined, 3, 'lo', new Uint8Array(8)];
      for (const bad of notSockets) {
        const h = bad as Parameters<typeof addon.afpRecv>[0];
        assert.throws(() => addon.afpRecv(h, new Uint32Array(2), 1), { name: 'TypeError' });
        assert.throws(() => addon.afpSend(h, new Uint8Array(60), new Uint32Array([0, 60]), 1), {
          name: 'TypeError',
        });
        assert.throws(() => addon.afpClose(h), { name: 'TypeError' });
      }
      const sock = open('lo');
      const asPoller = sock as unknown as Parameters<typeof addon.pollStop>[0];
      assert.throws(() => addon.pollStop(asPoller), { name: 'TypeError' });
      sock.close();
    } finally {
      addon.pollStop(poller);
      addon.fdClose(monitorFd);
    }
  });
});
