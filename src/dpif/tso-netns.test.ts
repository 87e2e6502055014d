// Userspace TSO on real links: TCP between two network namespaces through the datapath (its PMD
// worker, system ports on veths whose offloads are on, as the kernel makes them), with iperf3
// as the peer and tshark reading what arrives. Super-frames must cross whole; where a frame
// leaves by a device that cannot take it whole, the segments must be MTU-sized with valid
// checksums, after set and VLAN actions too.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { W_DL_DST, W_IN_PORT } from '../lib/flow/layout.ts';
import { inNetns } from '../native/netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from '../native/netns-fixture.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import type { OdpPort } from './dpif.ts';
import { DpifNetdev } from './dpif-netdev.ts';
import type { MissUpcall, UpcallResult } from './netdev/dp-netdev.ts';
import { type OdpAction, parseOdpActions } from './netdev/odp-actions.ts';

const skip = netnsUnavailable();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hex = (b: Uint8Array, from: number): string =>
  Buffer.from(b.subarray(from, from + 6)).toString('hex');

/** Runs a command to its end without blocking this thread (it answers the upcalls). */
function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout?.on('data', (d) => {
      out += d;
    });
    c.stderr?.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => c.pid && process.kill(c.pid, 'SIGKILL'), timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${out.slice(0, 300)}${err}`));
    });
  });
}

/** iperf3 -c from `client` to `ip` for `seconds`: bits/s received, or throws with its output. */
async function iperf3(server: TestNetns, client: TestNetns, ip: string, seconds: number) {
  const srv = spawn('ip', ['netns', 'exec', server.name, 'iperf3', '-s', '-1', '-B', ip], {
    stdio: 'ignore',
  });
  try {
    await sleep(300);
    const out = await runAsync(
      'ip',
      ['netns', 'exec', client.name, 'iperf3', '-c', ip, '-t', String(seconds), '-J'].concat([
        '--connect-timeout',
        '3000',
      ]),
      (seconds + 15) * 1000,
    );
    const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
    const bps = j.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error(`iperf3: ${out.slice(0, 300)}`);
    return bps;
  } finally {
    if (srv.exitCode === null && srv.pid) process.kill(srv.pid, 'SIGKILL');
  }
}

interface Capture {
  readonly child: ChildProcess;
  readonly file: string;
}

/** tshark on `dev` in `ns`, up to `count` TCP frames to a file; resolves once it captures. */
async function capture(ns: TestNetns, dev: string, dir: string, count: number): Promise<Capture> {
  const file = join(dir, `${ns.name}-${dev}.pcap`);
  const child = spawn(
    'ip',
    ['netns', 'exec', ns.name, 'tshark', '-i', dev, '-f', 'tcp', '-c', String(count)].concat([
      '-a',
      'duration:15',
      '-w',
      file,
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const deadline = Date.now() + 10_000;
  while (!err.includes('Capturing on')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tshark: ${err}`);
    await sleep(20);
  }
  return { child, file };
}

interface Frame {
  len: number;
  src: string;
  ipOk: boolean;
  tcpOk: boolean;
  vlan: string;
}

/** Stops the capture and reads it back with tshark's own checksum verification on. */
async function frames(c: Capture): Promise<Frame[]> {
  if (c.child.exitCode === null) {
    await sleep(500);
    if (c.child.pid) process.kill(c.child.pid, 'SIGINT');
    await new Promise((r) => c.child.once('exit', r));
  }
  const out = await runAsync(
    'tshark',
    ['-r', c.file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'].concat(
      ['-T', 'fields', '-e', 'frame.len', '-e', 'ip.src', '-e', 'ip.checksum.status'],
      ['-e', 'tcp.checksum.status', '-e', 'vlan.id', '-Y', 'tcp'],
    ),
    60_000,
  );
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [len, src, ipSt, tcpSt, vlan] = l.split('\t');
      // Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
      return { len: Number(len), src, ipOk: ipSt === '1', tcpOk: tcpSt === '1', vlan: vlan ?? '' };
    });
}

describe('userspace TSO through the PMD worker', { skip: skip || false }, () => {
  let sw: TestNetns;
  let a: TestNetns;
  let b: TestNetns;
  let dpif: DpifNetdev;
  let p1: OdpPort;
  let p2: OdpPort;
  let tap: OdpPort;
  let dir: string;
  const registry = new NetdevRegistry({ enableDummy: true, override: false, linux: true });
  /** Extra actions per direction, before the output. */
  let mode: 'plain' | 'rewrite' | 'vlan' = 'plain';
  const macPort = new Map<string, number>();

  const extra = (inPort: number, out: number): OdpAction[] => {
    if (mode === 'rewrite' && inPort === p1 && out === p2)
      return parseOdpActions('set(ipv4(src=198.18.0.9/255.255.255.255))');
    if (mode === 'rewrite' && inPort === p2 && out === p1)
      return parseOdpActions('set(ipv4(dst=198.18.0.1/255.255.255.255))');
    if (mode === 'vlan' && inPort === p1 && out === p2)
      return parseOdpActions(`push_vlan(vid=10,pcp=0),${tap},pop_vlan`);
    return [];
  };

  // A learning switch of the test's own: floods (uncached) until it knows the destination.
  const handler = {
    miss(up: MissUpcall): UpcallResult {
      const inPort = up.key[W_IN_PORT];
      macPort.set(hex(up.packet, 6), inPort);
      const out = macPort.get(hex(up.packet, 0));
      if (out === undefined || out === inPort) {
        const flood = [p1, p2, tap].filter((p) => p !== inPort);
        return { actions: flood.map((port) => ({ type: 'output', port })), mask: null };
      }
      const mask = new Uint32Array(up.key.length);
      mask[W_DL_DST] = 0xffffffff;
      mask[W_DL_DST + 1] = 0xffffffff;
      return { actions: [...extra(inPort, out), { type: 'output', port: out }], mask };
    },
  };

  const resetFlows = (): void => {
    for (const f of dpif.dp.flowDump()) dpif.dp.flowDel(f);
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tso-netns-'));
    sw = createTestNetns('tstso-sw');
    a = createTestNetns('tstso-a');
    b = createTestNetns('tstso-b');
    // Fresh veths keep the kernel's offloads (checksum, TSO, GSO): what TSO is about.
    sw.ip('link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', a.name);
    sw.ip('link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b.name);
    for (const [n, d] of [
      [sw, 'p1'],
      [sw, 'p2'],
      [a, 'eth0'],
      [b, 'eth0'],
    ] as const)
      n.ip('link', 'set', d, 'up');
    a.ip('addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
    b.ip('addr', 'add', '198.18.0.2/24', 'dev', 'eth0');
    dpif = inNetns(sw.name, () => new DpifNetdev('netdev', false, registry));
    dpif.setUpcallHandler(handler);
    p1 = inNetns(sw.name, () => dpif.portAdd(registry.open('p1', 'system')));
    p2 = inNetns(sw.name, () => dpif.portAdd(registry.open('p2', 'system')));
    // An internal port: a TAP device, which takes no offloads.
    tap = inNetns(sw.name, () => dpif.portAdd(registry.open('tsint0', 'internal')));
    sw.ip('addr', 'add', '198.18.0.3/24', 'dev', 'tsint0');
    sw.ip('link', 'set', 'tsint0', 'up');
  });
  before(() => dpif.syncStats());
  after(async () => {
    await dpif?.close();
    for (const p of [...(dpif?.ports() ?? [])]) p.netdev.close();
    for (const n of [a, b, sw]) n?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries a TCP stream between veths as super-frames, one trip through the switch per 64 kB', async () => {
    assert.equal(dpif.pmdRunning, true);
    const bps = await iperf3(b, a, '198.18.0.2', 1);
    await dpif.syncStats();
    const f = dpif.dp
      .flowDump()
      .find((x) => x.key[W_IN_PORT] === p1 && x.actions.some((y) => y.type === 'output'));
    assert.ok(f && f.packets > 0, 'the a-to-b megaflow counted packets');
    // MTU-sized frames would average under 1514 bytes; super-frames are tens of kB.
    const avg = f.bytes / f.packets;
    assert.ok(avg > 4000, `average ${avg.toFixed(0)} bytes per packet (${bps / 1e9} Gbit/s)`);
  });

  it('segments super-frames for a TAP port: MTU-sized frames with valid checksums', async () => {
    resetFlows();
    const cap = await capture(sw, 'tsint0', dir, 3000);
    await iperf3(sw, a, '198.18.0.3', 1);
    const got = (await frames(cap)).filter((x) => x.src === '198.18.0.1');
    assert.ok(got.length > 200, `${got.length} frames from a captured on the TAP`);
    const big = got.filter((x) => x.len > 1514);
    assert.equal(big.length, 0, `frames over the MTU: ${big.slice(0, 3).map((x) => x.len)}`);
    assert.ok(
      got.some((x) => x.len > 1400),
      'full-sized segments (the stream was cut at gso_size)',
    );
    const bad = got.filter((x) => !x.ipOk || !x.tcpOk);
    assert.equal(bad.length, 0, `${bad.length} of ${got.length} with bad checksums`);
  });

  it('keeps checksums right after a set action rewrote addresses of super-frames', async () => {
    resetFlows();
    mode = 'rewrite';
    // p2 without TSO and checksum offload: the kernel segments what we send and fills in the
    // checksums from the pseudo-header sum we wrote, so a wrong one shows on the wire.
    sw.exec('ethtool', '-K', 'p2', 'tx', 'off', 'tso', 'off');
    const aMac = /link\/ether ([0-9a-f:]{17})/.exec(a.ip('link', 'show', 'eth0'))?.[1] ?? '';
    b.ip('neigh', 'replace', '198.18.0.9', 'lladdr', aMac, 'dev', 'eth0', 'nud', 'permanent');
    try {
      const cap = await capture(b, 'eth0', dir, 3000);
      await iperf3(b, a, '198.18.0.2', 1);
      const got = (await frames(cap)).filter((x) => x.src === '198.18.0.9');
      assert.ok(got.length > 200, `${got.length} rewritten frames captured`);
      assert.equal(got.filter((x) => x.len > 1514).length, 0, 'segments within the MTU');
      const bad = got.filter((x) => !x.ipOk || !x.tcpOk);
      assert.equal(bad.length, 0, `${bad.length} of ${got.length} with bad checksums`);
    } finally {
      mode = 'plain';
      sw.exec('ethtool', '-K', 'p2', 'tx', 'on', 'tso', 'on');
      resetFlows();
    }
  });

  it('pushes and pops VLAN tags on super-frames', async () => {
    resetFlows();
    mode = 'vlan';
    try {
      // a to b: push a tag, copy to the TAP (segmented there, tag and all), pop, on to b.
      const cap = await capture(sw, 'tsint0', dir, 3000);
      await iperf3(b, a, '198.18.0.2', 1);
      const got = (await frames(cap)).filter((x) => x.src === '198.18.0.1');
      assert.ok(got.length > 200, `${got.length} frames captured`);
      assert.ok(
        got.every((x) => x.vlan === '10'),
        'every copy on the TAP carries the pushed tag',
      );
      assert.equal(got.filter((x) => x.len > 1518).length, 0, 'tagged segments within the MTU');
      assert.ok(
        got.some((x) => x.len > 1400),
        'full-sized segments',
      );
      const bad = got.filter((x) => !x.ipOk || !x.tcpOk);
      assert.equal(bad.length, 0, `${bad.length} of ${got.length} with bad checksums`);
      await dpif.syncStats();
      const f = dpif.dp.flowDump().find((x) => x.key[W_IN_PORT] === p1 && x.packets > 0);
      assert.ok(f && f.bytes / f.packets > 4000, 'b was reached by super-frames after the pop');
    } finally {
      mode = 'plain';
      resetFlows();
    }
  });
});
