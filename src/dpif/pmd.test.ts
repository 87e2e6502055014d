// The datapath's PMD worker thread on real links: veth pairs in a network namespace of the
// test's own, traffic sent and counted by Python AF_PACKET sockets on the far ends (separate
// processes, so they keep running while this thread is made to block).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { coverage } from '../lib/coverage.ts';
import { W_IN_PORT } from '../lib/flow/layout.ts';
import { setConsoleWriter } from '../lib/vlog.ts';
import { inNetns } from '../native/netdev-ioctl.ts';
import { createTestNetns, netnsUnavailable, type TestNetns } from '../native/netns-fixture.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import type { OdpPort } from './dpif.ts';
import { DpifNetdev } from './dpif-netdev.ts';
import type { ActionUpcall, MissUpcall, UpcallResult } from './netdev/dp-netdev.ts';
import type { OdpAction } from './netdev/odp-actions.ts';

const PY = '/usr/bin/python3';
/* send DEV SECONDS: one 0x88b5 frame a millisecond, prints how many; recv DEV SECONDS: prints
 * the arrival times (s since the epoch) of the 0x88b5 frames that came in, listening at least
 * SECONDS and until they stop. */
const TRAFFIC = `
import json, socket, struct, sys, time
mode, dev, dur = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((dev, 0x88b5))
end = time.time() + dur
if mode == 'send':
    hdr = bytes.fromhex('020000000002' '020000000001' '88b5')
    i = 0
    while time.time() < end:
        s.send(hdr + struct.pack('!Q', i) + bytes(50))
        i += 1
        time.sleep(0.001)
    print(i)
else:
    print('ready', flush=True)
    s.settimeout(0.1)
    times = []
    # Past DUR it listens on while frames still come (a sender that started late under load),
    # up to 5 s more.
    while True:
        now = time.time()
        if now > end + 5 or (now > end and (not times or now - times[-1] > 0.7)):
            break
        try:
            f, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING:
            times.append(time.time())
    print(json.dumps(times))
`;

interface Proc {
  readonly child: ChildProcess;
  readonly out: Promise<string>;
}

function run(ns: TestNetns, ...args: (string | number)[]): Proc {
  const child = spawn('ip', ['netns', 'exec', ns.name, PY, '-c', TRAFFIC, ...args.map(String)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout?.setEncoding('utf8');
  const out = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: string) => {
      text += d;
    });
    child.on('error', reject);
    child.on('exit', () => resolve(text));
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
  kill.unref();
  return { child, out };
}

/** A receiver that has bound its socket. */
async function receiver(ns: TestNetns, dev: string, seconds: number): Promise<Proc> {
  const p = run(ns, 'recv', dev, String(seconds));
  let seen = '';
  p.child.stdout?.on('data', (d: string) => {
    seen += d;
  });
  const deadline = Date.now() + 5000;
  while (!seen.includes('ready')) {
    if (Date.now() > deadline) throw new Error('receiver did not start');
    await sleep(20);
  }
  return p;
}

const arrivals = async (p: Proc): Promise<number[]> => {
  const text = await p.out;
  const line = text.split('\n').find((l) => l.startsWith('['));
  return line ? (JSON.parse(line) as number[]) : [];
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fdCount = (): number => readdirSync('/proc/self/fd').length;

const skip = netnsUnavailable();

describe('PMD worker thread', { skip: skip || false }, () => {
  let ns: TestNetns;
  let dpif: DpifNetdev;
  let p1: OdpPort;
  let p2: OdpPort;
  const registry = new NetdevRegistry({ enableDummy: true, override: false, linux: true });
  /** What the fake upcall layer answers: output to the other veth, or drop. */
  let mode: 'forward' | 'drop' | 'uncached' | 'sample' = 'forward';
  let misses = 0;
  const sampled: ActionUpcall[] = [];
  /** Where a port's packets go when not to the default (p2, or p1 for p2's). */
  const routes = new Map<number, number>();

  const handler = {
    miss(up: MissUpcall): UpcallResult {
      misses++;
      const inPort = up.key[W_IN_PORT];
      const mask = new Uint32Array(up.key.length);
      const out = routes.get(inPort) ?? (inPort === p2 ? p1 : p2);
      const output: OdpAction = { type: 'output', port: out };
      // As xlate samples for sFlow: every packet here, so that each one must come up.
      const sample: OdpAction = {
        type: 'sample',
        probability: 0xffffffff,
        actions: [
          {
            type: 'userspace',
            pid: 0,
            cookie: { kind: 'sflow', vid: 0, pcp: 0, output: out },
            actions: false,
            tunnelOutPort: null,
          },
        ],
      };
      return {
        actions: mode === 'drop' ? [] : mode === 'sample' ? [sample, output] : [output],
        mask: mode === 'uncached' ? null : mask,
      };
    },
    action(up: ActionUpcall): void {
      sampled.push(up);
    },
  };

  before(() => {
    ns = createTestNetns('tspmd');
    ns.addVeth('p1', 'h1');
    ns.addVeth('p2', 'h2');
    dpif = inNetns(ns.name, () => new DpifNetdev('netdev', false, registry));
    dpif.setUpcallHandler(handler);
    p1 = inNetns(ns.name, () => dpif.portAdd(registry.open('p1', 'system')));
    p2 = inNetns(ns.name, () => dpif.portAdd(registry.open('p2', 'system')));
  });
  // The worker answers in order: once it has, it has opened the ports added before.
  before(() => dpif.syncStats());
  after(async () => {
    await dpif?.close();
    for (const p of [...(dpif?.ports() ?? [])]) p.netdev.close();
    ns?.destroy();
  });

  it('forwards between veths on the worker while the main thread is blocked', async () => {
    assert.equal(dpif.pmdRunning, true);
    const rx = await receiver(ns, 'h2', 3);
    const tx = run(ns, 'send', 'h1', 2.4);
    await sleep(600); // the first packet's upcall installs the flow
    const missesBefore = misses;
    assert.ok(missesBefore >= 1, 'the first packet went up to this thread');
    const t0 = Date.now() / 1000;
    // Block this thread (OVSDB, OpenFlow, unixctl would all be stuck) for one second.
    while (Date.now() / 1000 < t0 + 1) {
      /* busy */
    }
    const t1 = Date.now() / 1000;
    const sent = Number((await tx.out).trim());
    const times = await arrivals(rx);
    const during = times.filter((t) => t > t0 + 0.05 && t < t1 - 0.05).length;
    // About 0.9 s of a frame a millisecond: most of it must have arrived during the block,
    // not queued up behind it (the ring would have released it only afterwards).
    assert.ok(sent > 1000, `sender sent ${sent}`);
    // On a loaded machine the sender slows down too: compare with its own rate.
    const expected = (sent / 2.4) * (t1 - t0 - 0.1);
    assert.ok(
      during > expected * 0.3,
      `only ${during} of ${times.length} frames arrived during the block (~${expected | 0} sent)`,
    );
    // A starved receiver may lose a few on a loaded machine; a lost burst would be 32.
    assert.ok(times.length >= sent * 0.98, `received ${times.length} of ${sent}`);
    assert.ok(misses - missesBefore <= 2, 'hits stayed in the worker');
  });

  it('brings the worker statistics into the flow table for dump-flows', async () => {
    await dpif.syncStats();
    const flows = dpif.dp.flowDump();
    const f = flows.find((x) => x.key[W_IN_PORT] === p1);
    assert.ok(f, 'the megaflow for p1 is there');
    assert.ok(f.packets > 1000, `flow packets ${f.packets}`);
    assert.equal(f.bytes, f.packets * 72);
    assert.ok(f.used > 0);
    const dump = dpif.dp.formatDumpFlows();
    assert.match(dump, new RegExp(`in_port\\(${p1}\\).*packets:${f.packets}, bytes:${f.bytes}`));
    const st = dpif.getStats();
    assert.ok(st.hit + st.missed >= f.packets, 'lookup counters came across too');
    assert.ok(dpif.dp.portStats(p1).rxPackets >= f.packets);
    assert.ok(dpif.dp.portStats(p2).txPackets >= f.packets);
  });

  it('stops matching a flow in the worker once the main thread deletes it', async () => {
    mode = 'drop';
    for (const f of dpif.dp.flowDump()) dpif.dp.flowDel(f);
    const missesBefore = misses;
    const rx = await receiver(ns, 'h2', 1.5);
    const tx = run(ns, 'send', 'h1', 1);
    const sent = Number((await tx.out).trim());
    const times = await arrivals(rx);
    assert.ok(sent > 300);
    assert.equal(times.length, 0, 'nothing is forwarded with the drop flow');
    assert.ok(misses > missesBefore, 'the deleted flow sent packets up again');
    await dpif.syncStats();
    const f = dpif.dp.flowDump().find((x) => x.key[W_IN_PORT] === p1);
    assert.ok(f && f.packets > 100, 'the new drop flow counts the hits in the worker');
    mode = 'forward';
    for (const x of dpif.dp.flowDump()) dpif.dp.flowDel(x);
  });

  it('survives a port removed while traffic runs, and lets go of its socket', async () => {
    const fds = fdCount();
    const p3 = inNetns(ns.name, () => {
      ns.addVeth('p3', 'h3');
      return dpif.portAdd(registry.open('p3', 'system'));
    });
    const netdev = dpif.portQueryByNumber(p3)?.netdev;
    assert.ok(netdev);
    const rx = await receiver(ns, 'h2', 2);
    const tx = run(ns, 'send', 'h3', 1.2);
    await sleep(400);
    dpif.portDel(p3);
    netdev.close();
    const sent = Number((await tx.out).trim());
    const times = await arrivals(rx);
    assert.ok(times.length > 100 && times.length < sent, `${times.length} of ${sent}`);
    // The worker still forwards for the other ports and answers.
    await dpif.syncStats();
    assert.equal(dpif.pmdRunning, true);
    const deadline = Date.now() + 2000;
    while (fdCount() > fds && Date.now() < deadline) await sleep(20);
    assert.equal(fdCount(), fds, 'the worker closed its socket, the device its fds');
  });

  it('bounds the upcall queue while the main thread is blocked: drops and counts', async () => {
    mode = 'uncached';
    const drops = coverage('pmd_upcall_drop');
    const before = drops.total;
    const missesBefore = misses;
    try {
      const tx = run(ns, 'send', 'h1', 1.5);
      // Blocks once the sender is under way (its start takes long on a loaded machine).
      for (let i = 0; i < 250 && misses === missesBefore; i++) await sleep(20);
      const t0 = Date.now();
      while (Date.now() < t0 + 1000) {
        /* busy: every packet is an upcall, and nobody takes them */
      }
      const sent = Number((await tx.out).trim());
      await dpif.syncStats();
      const handled = misses - missesBefore;
      const dropped = drops.total - before;
      assert.ok(dropped > 0, 'packets beyond the queue bound were dropped and counted');
      const ringDrops = dpif.portQueryByNumber(p1)?.netdev.getStatisticsColumn().get('rx_dropped');
      // What the kernel itself lost on a loaded machine (veth backlog) is not ours to count.
      assert.ok(
        handled + dropped >= sent * 0.8,
        `${handled} handled + ${dropped} dropped of ${sent} (p1 rx_dropped ${ringDrops})`,
      );
      assert.ok(handled < sent, 'not every packet queued up');
    } finally {
      mode = 'forward';
    }
  });

  it('hands output for a main-thread port (dummy) back to the main thread', async () => {
    const d = dpif.portAdd(registry.open('d9', 'dummy'));
    const nd = dpif.portQueryByNumber(d)?.netdev;
    assert.ok(nd);
    routes.set(p1, d);
    try {
      const tx = run(ns, 'send', 'h1', 1);
      const sent = Number((await tx.out).trim());
      // The last frames may still sit in a ring block the kernel has not handed over.
      let got = 0;
      for (let i = 0; i < 30; i++) {
        await dpif.syncStats();
        got = nd.getStats().txPackets;
        if (got >= sent) break;
        await sleep(100);
      }
      assert.ok(sent > 300 && got >= sent * 0.95, `${got} of ${sent} sent on the dummy port`);
      const f = dpif.dp.flowDump().find((x) => x.key[W_IN_PORT] === p1);
      assert.ok(f && f.packets >= got - 5, 'hits counted in the worker');
    } finally {
      routes.clear();
      for (const x of dpif.dp.flowDump()) dpif.dp.flowDel(x);
      dpif.portDel(d);
      nd.close();
    }
  });

  it('brings every sampled packet up in batches of userspace() upcalls', async () => {
    mode = 'sample';
    sampled.length = 0;
    const batches = coverage('pmd_userspace_batch');
    const before = batches.total;
    try {
      const rx = await receiver(ns, 'h2', 1.5);
      const tx = run(ns, 'send', 'h1', 1);
      const sent = Number((await tx.out).trim());
      const times = await arrivals(rx);
      for (let i = 0; i < 20 && sampled.length < times.length; i++) await sleep(50);
      assert.ok(sent > 300, `sender sent ${sent}`);
      // The first packet ran its actions on this thread (the upcall); the rest in the worker.
      assert.ok(
        Math.abs(sampled.length - times.length) <= 1,
        `${sampled.length} samples for ${times.length} forwarded`,
      );
      const up = sampled[sampled.length - 1];
      assert.equal(up.action.type, 'userspace');
      assert.deepEqual(up.action.cookie, { kind: 'sflow', vid: 0, pcp: 0, output: p2 });
      assert.equal(up.key[W_IN_PORT], p1);
      assert.equal(up.packet.length, 72);
      assert.deepEqual([...up.packet.subarray(12, 14)], [0x88, 0xb5]);
      // A frame a millisecond, samples held up to 5 ms: several to a message.
      const messages = batches.total - before;
      assert.ok(messages > 0 && messages * 2 < sampled.length, `${messages} messages`);
    } finally {
      mode = 'forward';
      for (const x of dpif.dp.flowDump()) dpif.dp.flowDel(x);
    }
  });

  it('drives TAP ports in the worker: frames the host sends on one reach a veth and back', async () => {
    // An internal port: a TAP device the host stack transmits on (we receive) and the reverse.
    const tap = inNetns(ns.name, () => dpif.portAdd(registry.open('tp0', 'internal')));
    routes.set(p1, tap);
    const lines: string[] = [];
    try {
      // Down, as a new internal port is: the worker's writes fail, and it says so in our log.
      setConsoleWriter((l) => lines.push(l));
      const early = run(ns, 'send', 'h1', 0.3);
      await early.out;
      await dpif.syncStats();
      setConsoleWriter((l) => process.stderr.write(l));
      assert.ok(
        lines.some((l) => /netdev_linux\|WARN\|tp0: send failed \(/.test(l)),
        `worker log reached this thread's vlog: ${lines.join('')}`,
      );
      for (const x of dpif.dp.flowDump()) dpif.dp.flowDel(x);
      ns.ip('link', 'set', 'tp0', 'up');
      const toVeth = await receiver(ns, 'h2', 1.6);
      const fromTap = run(ns, 'send', 'tp0', 1);
      const sentTap = Number((await fromTap.out).trim());
      const got = await arrivals(toVeth);
      assert.ok(sentTap > 300 && got.length >= sentTap * 0.95, `${got.length} of ${sentTap}`);
      const toTap = await receiver(ns, 'tp0', 1.6);
      const fromVeth = run(ns, 'send', 'h1', 1);
      const sentVeth = Number((await fromVeth.out).trim());
      const back = await arrivals(toTap);
      assert.ok(back.length >= sentVeth * 0.95, `${back.length} of ${sentVeth} onto the TAP`);
      await dpif.syncStats();
      const f = dpif.dp.flowDump().find((x) => x.key[W_IN_PORT] === tap);
      assert.ok(f && f.packets >= sentTap - 5, 'the TAP port flow counted in the worker');
    } finally {
      routes.clear();
      for (const x of dpif.dp.flowDump()) dpif.dp.flowDel(x);
      const nd = dpif.portQueryByNumber(tap)?.netdev;
      dpif.portDel(tap);
      nd?.close();
    }
  });

  it('keeps forwarding after an MTU change makes the worker reopen the port', async () => {
    const nd = dpif.portQueryByNumber(p1)?.netdev;
    assert.ok(nd);
    inNetns(ns.name, () => nd.setMtu(9000));
    try {
      await dpif.syncStats();
      const rx = await receiver(ns, 'h2', 1.6);
      const tx = run(ns, 'send', 'h1', 1);
      const sent = Number((await tx.out).trim());
      const got = await arrivals(rx);
      assert.ok(sent > 300 && got.length >= sent * 0.95, `${got.length} of ${sent}`);
    } finally {
      inNetns(ns.name, () => nd.setMtu(1500));
    }
  });

  it('falls back to forwarding on the main thread when the worker dies', async () => {
    await dpif.pmdKillForTest();
    assert.equal(dpif.pmdRunning, false);
    const rx = await receiver(ns, 'h2', 1.6);
    const tx = run(ns, 'send', 'h1', 1);
    const sent = Number((await tx.out).trim());
    const got = await arrivals(rx);
    const drops = dpif.portQueryByNumber(p2)?.netdev.getStatisticsColumn().get('tx_dropped');
    // Forwarded by this (busy) thread now: a loaded machine loses more here than the worker.
    assert.ok(
      sent > 300 && got.length >= sent * 0.8,
      `${got.length} of ${sent} (p2 tx_dropped ${drops})`,
    );
    // A new port starts a new worker.
    const p4 = inNetns(ns.name, () => {
      ns.addVeth('p4', 'h4');
      return dpif.portAdd(registry.open('p4', 'system'));
    });
    assert.equal(dpif.pmdRunning, true);
    await dpif.syncStats();
    const nd = dpif.portQueryByNumber(p4)?.netdev;
    dpif.portDel(p4);
    nd?.close();
  });

  for (const mode of ['close', 'exit'] as const) {
    it(`a process with a worker ends cleanly (${mode})`, async () => {
      const entry = new URL('./pmd-exit.fixture.ts', import.meta.url).pathname;
      // A namespace of its own: the datapath's own TAP device (ovs-netdev) is one per namespace.
      const ns2 = createTestNetns('tspmdx');
      ns2.addVeth('x1', 'x2');
      const child = spawn(process.execPath, ['--import', 'tsx', entry, ns2.name, 'x1', mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout?.on('data', (d) => {
        out += String(d);
      });
      const code = await new Promise<number | string>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('still running after 10 s');
        }, 10_000);
        child.on('exit', (c) => {
          clearTimeout(t);
          resolve(c ?? -1);
        });
      });
      ns2.destroy();
      assert.equal(out, 'up\n');
      assert.equal(code, 0);
    });
  }

  it('ends the worker on close', async () => {
    await dpif.close();
    assert.equal(dpif.pmdRunning, false);
  });
});
