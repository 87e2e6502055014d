// TAP devices inside a namespace this test creates: the kernel side gets an address from
// 198.18.0.0/15 and answers an ARP request written from userspace, and frames the kernel
// sends (ping's ARP requests) are read back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { nativeAddon } from './index.ts';
import {
  formatMac,
  getHwaddr,
  getLinkState,
  getMtu,
  ifIndex,
  inNetns,
  setAdminUp,
  setHwaddr,
  setMtu,
} from './netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from './netns-fixture.ts';
import { TapDevice } from './tap.ts';

const skip = netnsUnavailable() || (nativeAddon() ? false : 'native addon not built');
// CI installs and allows everything these tests need: a missing piece fails them, never skips.
if (skip) throw new Error(`cannot run: ${skip}`);
const OUR_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x42];
const OUR_IP = [198, 18, 0, 2];
const KERNEL_IP = [198, 18, 0, 1];

/** Naive ARP request builder (RFC 826): who-has KERNEL_IP tell OUR_IP, broadcast. */
function arpRequest(): Buffer {
  return Buffer.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ...OUR_MAC,
    0x08,
    0x06,
    0x00,
    0x01,
    0x08,
    0x00,
    6,
    4,
    0x00,
    0x01,
    ...OUR_MAC,
    ...OUR_IP,
    ...[0, 0, 0, 0, 0, 0],
    ...KERNEL_IP,
    ...new Array(18).fill(0),
  ]);
}

/** RFC 1071 checksum, written out plainly. */
function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Naive ICMP echo request from OUR_IP to KERNEL_IP, addressed to `dstMac`. */
function icmpEcho(dstMac: Uint8Array, seq: number): Buffer {
  const icmp = Buffer.from([
    8,
    0,
    0,
    0,
    0x12,
    0x34,
    seq >> 8,
    seq & 0xff,
    ...Buffer.from('typeswitch tap'),
  ]);
  icmp.writeUInt16BE(inetChecksum(icmp), 2);
  const ip = Buffer.from([
    0x45,
    0,
    0,
    20 + icmp.length,
    0,
    1,
    0x40,
    0,
    64,
    1,
    0,
    0,
    ...OUR_IP,
    ...KERNEL_IP,
  ]);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  return Buffer.concat([Buffer.from([...dstMac, ...OUR_MAC, 0x08, 0x00]), ip, icmp]);
}

async function readUntil(
  tap: TapDevice,
  match: (f: Buffer) => boolean,
  ms = 2000,
): Promise<Buffer | undefined> {
  const buf = new Uint8Array(16 * 2048);
  const out = new Uint32Array(32);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const n = tap.readBatch(buf, 2048, out, 16);
    for (let i = 0; i < n; i++) {
      const f = Buffer.from(buf.subarray(out[2 * i], out[2 * i] + out[2 * i + 1]));
      if (match(f)) return f;
    }
    if (n === 0) await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}

describe('TAP devices', () => {
  let ns: TestNetns;
  const taps: TapDevice[] = [];
  before(() => {
    ns = createTestNetns('tsnat-tap');
  });
  after(() => {
    for (const t of taps) t.close();
    ns?.destroy();
  });

  it('creates a named TAP that the kernel answers ARP and ping on, and reads kernel frames', async () => {
    const tap = inNetns(ns.name, () => TapDevice.open('tsbr0'));
    taps.push(tap);
    assert.equal(tap.name, 'tsbr0');
    ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'tsbr0');
    const kernelMac = inNetns(ns.name, () => getHwaddr('tsbr0'));
    assert.equal(inNetns(ns.name, () => getLinkState('tsbr0')).adminUp, true);

    const req = arpRequest();
    assert.equal(tap.writeBatch(req, new Uint32Array([0, req.length]), 1), 1);
    const reply = await readUntil(
      tap,
      (f) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2,
    );
    assert.ok(reply, 'no ARP reply from the kernel');
    assert.deepEqual([...reply.subarray(0, 6)], OUR_MAC); // to us
    assert.deepEqual([...reply.subarray(22, 28)], [...kernelMac]); // sender hardware address
    assert.deepEqual([...reply.subarray(28, 32)], KERNEL_IP);
    assert.deepEqual([...reply.subarray(38, 42)], OUR_IP);

    // The kernel learned our address from the ARP request: an echo request gets its reply.
    const echo = icmpEcho(kernelMac, 7);
    assert.equal(tap.writeBatch(echo, new Uint32Array([0, echo.length]), 1), 1);
    const pong = await readUntil(
      tap,
      (f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === 0,
    );
    assert.ok(pong, 'no ICMP echo reply from the kernel');
    assert.deepEqual([...pong.subarray(26, 30)], KERNEL_IP);
    assert.deepEqual([...pong.subarray(30, 34)], OUR_IP);
    assert.equal(pong.readUInt16BE(40), 7); // our sequence number
    assert.equal(inetChecksum(pong.subarray(14, 34)), 0, 'IPv4 header checksum');
    assert.equal(inetChecksum(pong.subarray(34, 14 + pong.readUInt16BE(16))), 0, 'ICMP checksum');

    // ping from the kernel side toward an address behind the TAP: the kernel first asks who
    // has it, and that request must come out of our fd.
    const ping = spawn(
      'ip',
      ['netns', 'exec', ns.name, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '198.18.0.9'],
      {
        stdio: 'ignore',
      },
    );
    try {
      const asked = await readUntil(
        tap,
        (f) =>
          f.readUInt16BE(12) === 0x0806 &&
          f.readUInt16BE(20) === 1 &&
          f.subarray(38, 42).equals(Buffer.from([198, 18, 0, 9])),
        3000,
      );
      assert.ok(asked, 'the kernel ARP request for 198.18.0.9 never came out of the TAP');
    } finally {
      if (ping.exitCode === null && ping.pid) process.kill(ping.pid);
    }
  });

  it('wakes an event-loop callback when the kernel sends a frame', async () => {
    const tap = inNetns(ns.name, () => TapDevice.open('tsbr1'));
    taps.push(tap);
    ns.ip('addr', 'add', '198.18.1.1/24', 'dev', 'tsbr1');
    const woke = new Promise<void>((resolve) => {
      tap.onReadable(() => {
        tap.stopPolling();
        resolve();
      });
    });
    const ping = spawn(
      'ip',
      ['netns', 'exec', ns.name, 'ping', '-c', '1', '-W', '1', '198.18.1.9'],
      { stdio: 'ignore' },
    );
    const timer = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error('no wake-up')), 3000).unref(),
    );
    try {
      await Promise.race([woke, timer]);
    } finally {
      if (ping.exitCode === null && ping.pid) process.kill(ping.pid);
    }
  });

  it('attaches to an existing TAP by name and gets and sets MAC and MTU', () => {
    ns.ip('tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
    const tap = inNetns(ns.name, () => TapDevice.open('tap0', { create: false }));
    taps.push(tap);
    inNetns(ns.name, () => {
      assert.ok(ifIndex('tap0') > 0);
      setMtu('tap0', 1400);
      assert.equal(getMtu('tap0'), 1400);
      setHwaddr('tap0', new Uint8Array([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]));
      assert.equal(formatMac(getHwaddr('tap0')), '02:11:22:33:44:55');
    });
    assert.match(ns.ip('link', 'show', 'tap0'), /mtu 1400 .*\n.*link\/ether 02:11:22:33:44:55/);
    // Closing our fd leaves a persistent TAP made by someone else in place.
    tap.close();
    assert.match(ns.ip('link', 'show', 'tap0'), /tap0/);
  });

  it('reports admin state and carrier as the kernel sees them', () => {
    ns.ip('link', 'add', 'ls0', 'type', 'veth', 'peer', 'name', 'ls1');
    inNetns(ns.name, () => {
      // `running` follows the operational state, which the kernel updates asynchronously
      // (linkwatch), so only the admin flag and the carrier are compared at once.
      const now = (): [boolean, boolean] => {
        const s = getLinkState('ls0');
        return [s.adminUp, s.carrier];
      };
      assert.deepEqual(now(), [false, false]);
      assert.equal(getLinkState('ls0').running, false);
      setAdminUp('ls0', true);
      // The peer is still down, so veth reports no carrier.
      assert.deepEqual(now(), [true, false]);
      setAdminUp('ls1', true);
      assert.deepEqual(now(), [true, true]);
      setAdminUp('ls1', false);
      assert.equal(getLinkState('ls0').carrier, false);
    });
    assert.match(ns.ip('link', 'show', 'ls0'), /NO-CARRIER/);
  });

  it('fails with errno codes: missing device, closed fd, bad arguments, bad namespace', () => {
    assert.throws(() => inNetns(ns.name, () => TapDevice.open('nosuchtap', { create: false })), {
      code: 'ENODEV',
      message: 'nosuchtap: could not open network device (No such device)',
    });
    assert.throws(() => inNetns(ns.name, () => getMtu('nosuch1')), {
      code: 'ENODEV',
      message: 'nosuch1: could not get MTU (No such device)',
    });
    assert.throws(() => inNetns(ns.name, () => setHwaddr('tap0', new Uint8Array(5))), {
      name: 'RangeError',
    });
    assert.throws(() => inNetns('tsnat-no-such-netns', () => 0), { code: 'ENOENT' });
    const tap = inNetns(ns.name, () => TapDevice.open('tsbr2'));
    tap.close();
    assert.throws(() => tap.readBatch(new Uint8Array(2048), 2048, new Uint32Array(2), 1), {
      code: 'EBADF',
    });
    const tap2 = inNetns(ns.name, () => TapDevice.open('tsbr3'));
    taps.push(tap2);
    assert.throws(() => tap2.readBatch(new Uint8Array(100), 2048, new Uint32Array(2), 1), {
      name: 'RangeError',
    });
    assert.throws(() => tap2.writeBatch(Buffer.alloc(10), new Uint32Array([5, 10]), 1), {
      name: 'RangeError',
    });
  });
});
