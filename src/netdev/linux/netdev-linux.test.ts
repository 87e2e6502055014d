// Linux netdevs on real devices inside a namespace this test creates: a veth pair for `system`
// ports (frames injected from the far end with a raw packet socket, and captured there with
// the same or with tshark), TAP devices for `internal` and `tap` ports (the kernel side gets an
// address from 198.18.0.0/15 and talks to the netdev). The test process enters the namespace
// only to open devices and to call setters (inNetns).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { AfPacketSocket } from '../../native/af-packet.ts';
import { nativeAddon } from '../../native/index.ts';
import { inNetns } from '../../native/netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from '../../native/netns-fixture.ts';
import { type Netdev, NetdevError, type NetdevRxSink, type TxBatch } from '../netdev.ts';
import { NetdevRegistry } from '../registry.ts';
import { parseEthtoolDriverInfo, parseEthtoolSpeedBps, parseProcNetDev } from './kernel-info.ts';
import { toNetdevError } from './netdev-linux.ts';
import { SystemNetdev } from './system.ts';
import { TapNetdev } from './tap.ts';

const skip = netnsUnavailable() || (nativeAddon() ? '' : 'native addon not built');
// CI installs and allows everything these tests need: a missing piece fails them, never skips.
if (skip) throw new Error(`cannot run: ${skip}`);

const TEST_ETHERTYPE = 0x88b5; // IEEE local experimental: nothing else on the link uses it
const SRC = [0x02, 0, 0, 0, 0, 0x0a];
const DST = [0x02, 0, 0, 0, 0, 0x99]; // nobody's address: reception needs promiscuous mode

/** Naive frame builder: dst, src, [802.1Q tags], 0x88b5, "TSWT", 32-bit seq, zero padding. */
function frame(seq: number, tags: [number, number][] = [], size = 60): Buffer {
  const b = [...DST, ...SRC];
  for (const [tpid, tci] of tags) b.push(tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff);
  b.push(TEST_ETHERTYPE >> 8, TEST_ETHERTYPE & 0xff, 0x54, 0x53, 0x57, 0x54);
  b.push((seq >>> 24) & 0xff, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff);
  while (b.length < size) b.push(0);
  return Buffer.from(b);
}

function isTest(f: Uint8Array): boolean {
  let p = 12;
  while (p + 4 <= f.length && f[p] === 0x81 && f[p + 1] === 0x00) p += 4;
  return f[p] === 0x88 && f[p + 1] === 0xb5 && f[p + 2] === 0x54 && f[p + 5] === 0x54;
}

/** A batch over one buffer, as the datapath's PacketBatch hands it. */
function batchOf(frames: Buffer[]): TxBatch {
  const slot = 2048;
  const slab = new Uint8Array(slot * frames.length);
  const off = new Int32Array(frames.length);
  const len = new Int32Array(frames.length);
  const views: Uint8Array[] = [];
  frames.forEach((f, i) => {
    // Each frame its own view, as PacketBatch slots are, all over one slab.
    const view = slab.subarray(i * slot, (i + 1) * slot);
    view.set(f, 16);
    views.push(view);
    off[i] = 16;
    len[i] = f.length;
  });
  return { frames: views, off, len, count: frames.length };
}

/** A sink that copies what it receives and counts bursts. */
class CollectingSink implements NetdevRxSink {
  frames: Buffer[] = [];
  flushes = 0;
  receive(frame: Uint8Array, off: number, len: number): void {
    const f = frame.subarray(off, off + len);
    if (isTest(f)) this.frames.push(Buffer.from(f));
  }
  flush(): void {
    this.flushes++;
  }
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function sendRaw(sock: AfPacketSocket, frames: Buffer[]): void {
  const buf = Buffer.concat(frames);
  const desc = new Uint32Array(frames.length * 2);
  let o = 0;
  frames.forEach((f, i) => {
    desc[2 * i] = o;
    desc[2 * i + 1] = f.length;
    o += f.length;
  });
  assert.equal(sock.send(buf, desc, frames.length), frames.length);
}

async function captureRaw(sock: AfPacketSocket, count: number, ms = 2000): Promise<Buffer[]> {
  const out = new Uint32Array(128);
  const got: Buffer[] = [];
  const deadline = Date.now() + ms;
  while (got.length < count && Date.now() < deadline) {
    const n = sock.recv(out, 64);
    for (let i = 0; i < n; i++) {
      const f = sock.ring.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]);
      if (isTest(f)) got.push(Buffer.from(f));
    }
    sock.release();
    if (n === 0) await new Promise((r) => setTimeout(r, 2));
  }
  return got;
}

interface IpLink {
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  linkinfo?: { info_kind?: string };
}

describe('Linux netdevs', () => {
  let ns: TestNetns;
  const opened: { close(): void }[] = [];
  const track = <T extends { close(): void }>(x: T): T => {
    opened.push(x);
    return x;
  };
  const link = (dev: string): IpLink =>
    (JSON.parse(ns.ip('-d', '-j', 'link', 'show', dev)) as IpLink[])[0];
  const linkExists = (dev: string): boolean => {
    try {
      link(dev);
      return true;
    } catch {
      return false;
    }
  };

  before(() => {
    ns = createTestNetns('tsnd-linux');
    ns.addVeth('port0', 'wire0');
  });
  after(() => {
    for (const x of opened.reverse()) x.close();
    ns?.destroy();
  });

  it('system: reads ifindex, MTU, address and flags from the kernel, turns on promiscuous mode', () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const k = link('port0');
    assert.equal(nd.type, 'system');
    assert.equal(nd.getIfindex(), k.ifindex);
    assert.equal(nd.getMtu(), k.mtu);
    assert.equal(nd.getEtheraddr(), k.address);
    assert.equal(nd.isUp(), true);
    assert.equal(nd.getCarrier(), true);
    assert.ok(k.flags.includes('PROMISC'), `flags ${k.flags}`);
    const status = inNetns(ns.name, () => nd.getStatus());
    assert.equal(status.get('driver_name'), 'veth');
    nd.close();
    assert.ok(!link('port0').flags.includes('PROMISC'), 'promiscuous flag left on after close');
  });

  it('system: frames sent on the wire arrive through the sink, 802.1Q tags intact, in bursts', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const wire = track(inNetns(ns.name, () => AfPacketSocket.open('wire0')));
    const sink = new CollectingSink();
    nd.setRxSink(sink);
    const frames = [
      frame(1),
      frame(2, [[0x8100, 0x0001]]), // VLAN 1
      frame(3, [[0x8100, 0xa002]]), // PCP 5, VLAN 2
      ...Array.from({ length: 40 }, (_, i) => frame(100 + i, [[0x8100, 2]], 60 + i * 10)),
    ];
    sendRaw(wire, frames);
    await until('all frames', () => sink.frames.length >= frames.length);
    assert.equal(sink.frames.length, frames.length);
    for (const [i, f] of sink.frames.entries())
      assert.equal(f.toString('hex'), frames[i].toString('hex'), `frame ${i}`);
    assert.ok(sink.flushes >= 1 && sink.flushes < frames.length, `flushes ${sink.flushes}`);
    // With no sink, nothing is delivered.
    nd.setRxSink(null);
    sendRaw(wire, [frame(999)]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.frames.length, frames.length);
    nd.close();
    wire.close();
  });

  it('system: sends a batch out of the device and never hears its own frames back', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const wire = track(inNetns(ns.name, () => AfPacketSocket.open('wire0')));
    const sink = new CollectingSink();
    nd.setRxSink(sink);
    const frames = Array.from({ length: 50 }, (_, i) =>
      frame(i, i % 2 ? [[0x8100, 0x0002]] : [], 60 + i),
    );
    nd.send(batchOf(frames));
    const got = await captureRaw(wire, frames.length);
    assert.equal(got.length, frames.length);
    for (const [i, f] of got.entries()) assert.equal(f.toString('hex'), frames[i].toString('hex'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.frames.length, 0, 'own transmitted frames came back');
    const stats = inNetns(ns.name, () => nd.getStats());
    assert.ok(stats.txPackets >= frames.length, `tx_packets ${stats.txPackets}`);
    nd.close();
    wire.close();
  });

  it('system: tshark on the far end sees the 802.1Q tag of a frame the netdev sent', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const args = ['netns', 'exec', ns.name, 'tshark', '-l', '-n', '-i', 'wire0', '-c', '1'];
    args.push(
      '-f',
      'vlan and ether proto 0x88b5',
      '-T',
      'fields',
      '-e',
      'vlan.id',
      '-e',
      'vlan.etype',
    );
    const ts = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    ts.stdout.on('data', (d) => {
      out += d;
    });
    ts.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<void>((r) => ts.on('exit', () => r()));
    try {
      await until('tshark to start capturing', () => err.includes('Capturing on'), 15_000);
      // tshark may still be attaching its filter: resend until it has one, bounded.
      for (let i = 0; i < 100 && ts.exitCode === null && out === ''; i++) {
        nd.send(batchOf([frame(i, [[0x8100, 0x0002]])]));
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    } finally {
      if (ts.exitCode === null && ts.pid) process.kill(ts.pid);
    }
    assert.match(out, /^2\t0x88b5$/m, `tshark printed: ${out} / ${err}`);
    nd.close();
  });

  it('system: follows admin state and carrier from the kernel and counts link resets', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const seq0 = nd.changeSeq;
    ns.ip('link', 'set', 'wire0', 'down');
    await until('carrier down', () => !nd.getCarrier());
    assert.ok(nd.changeSeq > seq0);
    assert.equal(nd.isUp(), true);
    ns.ip('link', 'set', 'wire0', 'up');
    await until('carrier up', () => nd.getCarrier());
    assert.equal(nd.getCarrierResets(), 2);
    inNetns(ns.name, () => nd.setUp(false));
    assert.equal(nd.isUp(), false);
    assert.ok(!link('port0').flags.includes('UP'));
    await until('no carrier while down', () => !nd.getCarrier());
    inNetns(ns.name, () => nd.setUp(true));
    await until('carrier back', () => nd.getCarrier());
    nd.close();
  });

  it('system: MTU and address changes go to the kernel; changes made by others are seen', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    inNetns(ns.name, () => nd.setMtu(1400));
    assert.equal(link('port0').mtu, 1400);
    assert.equal(nd.getMtu(), 1400);
    ns.ip('link', 'set', 'port0', 'mtu', '1500');
    await until('MTU notification', () => nd.getMtu() === 1500);
    inNetns(ns.name, () => nd.setEtheraddr('02:00:00:00:00:42' as never));
    assert.equal(link('port0').address, '02:00:00:00:00:42');
    ns.ip('link', 'set', 'port0', 'address', '02:00:00:00:00:43');
    await until('address notification', () => nd.getEtheraddr() === '02:00:00:00:00:43');
    nd.close();
  });

  // TPACKET_V3 packs frames into blocks of 256 KiB whatever the slot size chosen at open.
  it('system: a jumbo MTU set after opening still receives whole frames', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const wire = track(inNetns(ns.name, () => AfPacketSocket.open('wire0')));
    const sink = new CollectingSink();
    nd.setRxSink(sink);
    ns.ip('link', 'set', 'wire0', 'mtu', '9000');
    inNetns(ns.name, () => nd.setMtu(9000));
    const big = frame(77, [[0x8100, 0x0001]], 9000 + 14 + 4);
    sendRaw(wire, [big]);
    await until('the jumbo frame', () => sink.frames.length === 1);
    assert.equal(sink.frames[0].toString('hex'), big.toString('hex'));
    inNetns(ns.name, () => nd.setMtu(1500));
    ns.ip('link', 'set', 'wire0', 'mtu', '1500');
    nd.close();
    wire.close();
  });

  it('system: follows its interface away and back (a VM restarting remakes its veth)', async () => {
    const nd = track(inNetns(ns.name, () => new SystemNetdev('port0')));
    const sink = new CollectingSink();
    nd.setRxSink(sink);
    const oldIfindex = nd.getIfindex();
    const seq0 = nd.changeSeq;
    ns.ip('link', 'del', 'port0');
    await until('the device to go', () => !nd.getCarrier() && nd.changeSeq > seq0);
    ns.addVeth('port0', 'wire0');
    await until('the device to come back', () => nd.getIfindex() !== oldIfindex);
    await until('carrier on the new device', () => nd.getCarrier());
    assert.equal(nd.getIfindex(), link('port0').ifindex);
    assert.ok(link('port0').flags.includes('PROMISC'));
    const wire = track(inNetns(ns.name, () => AfPacketSocket.open('wire0')));
    sendRaw(wire, [frame(5, [[0x8100, 0x0001]])]);
    await until('a frame through the new device', () => sink.frames.length === 1);
    nd.close();
    wire.close();
  });

  it('system: a missing interface is a NetdevError saying "No such device"', () => {
    assert.throws(
      () => inNetns(ns.name, () => new SystemNetdev('nosuch0')),
      (e: unknown) =>
        e instanceof NetdevError && e.code === 'ENODEV' && e.message === 'No such device',
    );
  });

  it('internal: a new TAP device, down, reported as tap by the tun driver, gone on close', () => {
    const nd = track(inNetns(ns.name, () => new TapNetdev('br9')));
    assert.equal(nd.type, 'tap');
    assert.equal(nd.created, true);
    const k = link('br9');
    assert.equal(k.linkinfo?.info_kind, 'tun');
    assert.ok(!k.flags.includes('UP'), 'a new internal port starts down, as in OVS');
    assert.ok(k.flags.includes('PROMISC'));
    assert.equal(nd.isUp(), false);
    assert.equal(nd.getCarrier(), false);
    assert.equal(nd.getIfindex(), k.ifindex);
    assert.equal(nd.getEtheraddr(), k.address);
    // As OVS reads it through ethtool: the tun driver says 10 Gb/s even while down.
    assert.equal(
      inNetns(ns.name, () => nd.getSpeedBps()),
      10_000_000_000,
    );
    assert.deepEqual(
      [...nd.getStatus()],
      [
        ['driver_name', 'tun'],
        ['driver_version', '1.6'],
        ['firmware_version', ''],
      ],
    );
    nd.close();
    assert.equal(linkExists('br9'), false, 'internal TAP device left behind');
  });

  it('internal: the host stack and the netdev exchange frames (ARP), counters in switch terms', async () => {
    const nd = track(inNetns(ns.name, () => new TapNetdev('int0')));
    const sink = new CollectingSink();
    const arps: Buffer[] = [];
    nd.setRxSink({
      receive(f, off, len) {
        const b = Buffer.from(f.subarray(off, off + len));
        if (b.readUInt16BE(12) === 0x0806) arps.push(b);
        sink.receive(f, off, len);
      },
      flush: () => sink.flush(),
    });
    inNetns(ns.name, () => nd.setEtheraddr('02:00:00:00:01:01' as never));
    inNetns(ns.name, () => nd.setUp(true));
    assert.equal(link('int0').address, '02:00:00:00:01:01');
    ns.ip('addr', 'add', '198.18.5.1/24', 'dev', 'int0');
    // The kernel resolves 198.18.5.2: its ARP request comes out of the TAP device to us.
    try {
      ns.exec('ping', '-c', '1', '-W', '0.2', '198.18.5.2');
    } catch {
      // Nobody answers the ping (exit status 1): the ARP request it caused is what matters.
    }
    await until('an ARP request from the host', () => arps.length > 0);
    assert.ok(arps.length > 0, 'no ARP request received');
    const req = arps[0];
    assert.equal(req.subarray(6, 12).toString('hex'), '020000000101');
    // Answer it: the kernel must learn 198.18.5.2 is at 02:00:00:00:01:02.
    const reply = Buffer.from([
      ...[0x02, 0, 0, 0, 1, 1],
      ...[0x02, 0, 0, 0, 1, 2],
      0x08,
      0x06,
      ...[0, 1, 8, 0, 6, 4, 0, 2],
      ...[0x02, 0, 0, 0, 1, 2],
      ...[198, 18, 5, 2],
      ...[0x02, 0, 0, 0, 1, 1],
      ...[198, 18, 5, 1],
      ...new Array(18).fill(0),
    ]);
    nd.send(batchOf([reply]));
    await until('the kernel to learn the neighbour', () =>
      ns.ip('neigh', 'show', 'dev', 'int0').includes('02:00:00:00:01:02'),
    );
    const stats = inNetns(ns.name, () => nd.getStats());
    assert.ok(stats.rxPackets >= 1, `rx ${JSON.stringify(stats)}`);
    assert.ok(stats.txPackets >= 1, `tx ${JSON.stringify(stats)}`);
    nd.close();
  });

  it('tap: attaches to an existing TAP device and leaves it in place on close', () => {
    ns.ip('tuntap', 'add', 'dev', 'vm0', 'mode', 'tap');
    const nd = track(inNetns(ns.name, () => new TapNetdev('vm0')));
    assert.equal(nd.created, false);
    assert.equal(nd.getIfindex(), link('vm0').ifindex);
    nd.close();
    assert.equal(linkExists('vm0'), true);
    ns.ip('link', 'del', 'vm0');
  });

  it('tap: a device of that name that is not a TAP device is refused', () => {
    assert.throws(
      () => inNetns(ns.name, () => new TapNetdev('wire0')),
      (e: unknown) => e instanceof NetdevError && e.message === 'Invalid argument',
    );
  });

  it('registry: with linux on, system/tap/internal open real devices; dummy modes unchanged', () => {
    const reg = new NetdevRegistry({ enableDummy: false, override: false, linux: true });
    const sys: Netdev = track(inNetns(ns.name, () => reg.open('port0', '')));
    assert.ok(sys instanceof SystemNetdev);
    const int: Netdev = track(inNetns(ns.name, () => reg.open('br7', 'internal')));
    assert.ok(int instanceof TapNetdev);
    assert.equal(int.type, 'tap');
    assert.throws(() => inNetns(ns.name, () => reg.open('nosuch1', 'system')), /No such device/);
    sys.close();
    int.close();
    const override = new NetdevRegistry({ enableDummy: true, override: true, linux: true });
    assert.equal(override.open('port0', '').constructor.name, 'DummyNetdev');
    const off = new NetdevRegistry({ enableDummy: false, override: false, linux: false });
    assert.throws(() => off.open('port0', ''), /No such device/);
  });
});

describe('native failures as NetdevErrors', () => {
  const native = (message: string, code: string): Error =>
    Object.assign(new Error(message), { code, errno: -1 });
  it('keeps strerror alone for the codes OVS prints as such, what failed and why otherwise', () => {
    const enodev = toNetdevError(
      native('eth9: could not open network device (No such device)', 'ENODEV'),
    );
    assert.deepEqual([enodev.code, enodev.message], ['ENODEV', 'No such device']);
    const v3 = toNetdevError(
      native('eth0: TPACKET_V3 not supported (Protocol not available)', 'ENOPROTOOPT'),
    );
    assert.equal(v3.message, 'TPACKET_V3 not supported: Protocol not available');
    const perm = toNetdevError(
      native('eth0: could not create AF_PACKET socket (Operation not permitted)', 'EPERM'),
    );
    assert.equal(perm.message, 'could not create AF_PACKET socket: Operation not permitted');
    assert.ok(perm instanceof NetdevError);
  });
});

describe('kernel information parsers', () => {
  it('parses a /proc/net/dev line (captured from Linux 6.x)', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo: 114748673   23216    0    0    0     0          0         0 114748673   23216    0    0    0     0       0          0',
      '  eth0:    1180      12    1    2    3     4          0         5      986       9    6    7    8     9      10          0',
    ].join('\n');
    assert.deepEqual(parseProcNetDev(text, 'eth0'), {
      rxBytes: 1180,
      rxPackets: 12,
      rxErrors: 1,
      rxDropped: 2,
      rxFifoErrors: 3,
      rxFrameErrors: 4,
      rxMulticast: 5,
      txBytes: 986,
      txPackets: 9,
      txErrors: 6,
      txDropped: 7,
      txFifoErrors: 8,
      collisions: 9,
      txCarrierErrors: 10,
    });
    assert.equal(parseProcNetDev(text, 'eth1'), undefined);
    assert.equal(parseProcNetDev(text, 'eth'), undefined);
  });

  it('parses ethtool -i (captured from ethtool 6.1 on a veth)', () => {
    const text =
      'driver: veth\nversion: 1.0\nfirmware-version: \nexpansion-rom-version: \nbus-info: \n';
    assert.deepEqual(parseEthtoolDriverInfo(text), {
      driver: 'veth',
      version: '1.0',
      firmware: '',
    });
    assert.equal(parseEthtoolDriverInfo('Cannot get driver information'), undefined);
  });

  it('parses the speed out of ethtool DEV (captured from ethtool 6.1 on a tun device)', () => {
    const text =
      'Settings for q0:\n\tSupported ports: [  ]\n\tSpeed: 10000Mb/s\n\tDuplex: Full\n\tPort: Twisted Pair\n';
    assert.equal(parseEthtoolSpeedBps(text), 10_000_000_000);
    assert.equal(parseEthtoolSpeedBps('\tSpeed: Unknown!\n'), 0);
  });
});
