/**
 * Packet I/O rates for 64-byte frames on a veth pair, one thread, in a namespace of its own:
 *   node --import tsx src/native/packet-io-bench.ts [seconds] [tx batch size]
 * TX: our socket on one end sends batches (sendmmsg and the TX ring, each with and without
 * PACKET_QDISC_BYPASS; then an AF_XDP socket in native and generic mode), counted by the
 * peer's kernel rx counter. RX: trafgen (netsniff-ng) floods one end,
 * our TPACKET_V3 socket on the other counts frames received and dropped. FWD: the same flood,
 * and one thread moves each received batch straight from the RX ring out of a second veth
 * pair (no copy in JavaScript), as a datapath port-to-port path would at best.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AfPacketSocket } from './af-packet.ts';
import { XskSocket } from './af-xdp.ts';
import { inNetns } from './netdev-ioctl.ts';
import { createTestNetns } from './netns-fixture.ts';

const seconds = Number(process.argv[2] ?? 2);
const BATCH = Number(process.argv[3] ?? 32);
const ns = createTestNetns('tsnat-bench');

function rxPackets(dev: string): number {
  return Number(ns.exec('cat', `/sys/class/net/${dev}/statistics/rx_packets`).trim());
}

/** PIDs of a process's children (from /proc), recursively. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(/\s+/).map(Number) : []) out.push(k, ...descendants(k));
    }
  } catch {
    // The process is gone already.
  }
  return out;
}

/** trafgen forks a worker per CPU that outlives a killed parent: stop them all by PID. */
async function stopGenerator(gen: ChildProcess): Promise<void> {
  if (!gen.pid) return;
  const pids = [...descendants(gen.pid), gen.pid];
  const exited =
    gen.exitCode === null ? new Promise((r) => gen.once('exit', r)) : Promise.resolve();
  const signal = (sig: NodeJS.Signals): void => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // Already exited.
      }
    }
  };
  signal('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  await new Promise((r) => setTimeout(r, 100));
  signal('SIGKILL');
}

function frames64(n: number): { buf: Buffer; desc: Uint32Array } {
  const buf = Buffer.alloc(64 * n);
  const desc = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) {
    Buffer.from([2, 0, 0, 0, 0, 0x99, 2, 0, 0, 0, 0, 0x0a, 0x88, 0xb5]).copy(buf, 64 * i);
    desc[2 * i] = 64 * i;
    desc[2 * i + 1] = 64;
  }
  return { buf, desc };
}

/** What a transmit benchmark needs of a socket. */
interface TxSocket {
  send(buf: Buffer, desc: Uint32Array, n: number): number;
  close(): void;
}

/**
 * Sends 64-byte frames in batches for `seconds`, then prints what was queued, what arrived at
 * the peer, and the CPU it took; `perCpu` says which count the per-CPU-second figure uses.
 */
function timeTx(label: string, s: TxSocket, perCpu: 'queued' | 'arrived'): void {
  const { buf, desc } = frames64(BATCH);
  const before = rxPackets('vb');
  let queued = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let calls = 0;
  while (true) {
    queued += s.send(buf, desc, BATCH);
    if (++calls % 64 === 0 && process.hrtime.bigint() >= end) break;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const delivered = rxPackets('vb') - before;
  s.close();
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const per =
    perCpu === 'queued'
      ? `${Math.round(queued / cpuSecs)} frames`
      : `${Math.round(delivered / cpuSecs)} arrived frames`;
  console.log(
    `TX ${label}: ${Math.round(queued / secs)} frames/s queued, ${Math.round(delivered / secs)} frames/s arrived at the peer; CPU ${Math.round((cpuSecs / secs) * 100)}%, i.e. ${per} per CPU-second`,
  );
}

function benchTx(label: string, opts: { qdiscBypass: boolean; mmsg: boolean }): void {
  const s = inNetns(ns.name, () =>
    AfPacketSocket.open('va', {
      qdiscBypass: opts.qdiscBypass,
      promiscuous: false,
      txRing: !opts.mmsg,
    }),
  );
  timeTx(label, s, 'queued');
}

/** The same through an AF_XDP socket (copy mode on veth: one skb per frame, built in our
 * sendto), from a UMEM, with the XDP program of af-xdp.c attached to the sending end. */
function benchTxXsk(mode: 'native' | 'generic'): void {
  timeTx(
    `AF_XDP ${mode} (copy)`,
    inNetns(ns.name, () => XskSocket.open('va', { mode })),
    'arrived',
  );
}

async function benchRx(): Promise<void> {
  const conf = join(tmpdir(), `tsnat-bench-${process.pid}.cfg`);
  writeFileSync(
    conf,
    `{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x88, 0xb5, fill(0x00, 50) }\n`,
  );
  const s = inNetns(ns.name, () => AfPacketSocket.open('vb'));
  const gen = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'trafgen',
      '--dev',
      'va',
      '--conf',
      conf,
      '--cpus',
      '1',
      '--qdisc-path',
      '-q',
      // Bounded: the generator stops by itself even if nobody stops it.
      '-n',
      String(Math.round(seconds * 3e6) + 3_000_000),
    ],
    {
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 300));
  const out = new Uint32Array(2 * 256);
  let got = 0;
  for (let i = 0; i < 1000 && s.recv(out, 256) > 0; i++) s.release();
  const before = s.stats();
  const cpu0 = process.cpuUsage();
  const beforeKernel = rxPackets('vb');
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let idle = 0;
  while (true) {
    const n = s.recv(out, 256);
    if (n === 0) {
      idle++;
      s.waitReadable(5);
    } else {
      got += n;
      s.release();
    }
    if (process.hrtime.bigint() >= end) break;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const after = s.stats();
  const offered = rxPackets('vb') - beforeKernel;
  await stopGenerator(gen);
  s.close();
  console.log(
    `RX TPACKET_V3: ${Math.round(got / secs)} frames/s received; offered ${Math.round(offered / secs)} frames/s; ring drops ${after.drops - before.drops}; receiver CPU ${Math.round((cpuSecs / secs) * 100)}%, i.e. ${Math.round(got / cpuSecs)} frames per CPU-second (${idle} idle waits)`,
  );
}

async function benchForward(): Promise<void> {
  const conf = join(tmpdir(), `tsnat-bench-${process.pid}.cfg`);
  const rx = inNetns(ns.name, () => AfPacketSocket.open('vb'));
  const tx = inNetns(ns.name, () => AfPacketSocket.open('vc', { promiscuous: false }));
  const gen = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'trafgen',
      '--dev',
      'va',
      '--conf',
      conf,
      '--cpus',
      '1',
      '--qdisc-path',
      '-q',
      // Bounded: the generator stops by itself even if nobody stops it.
      '-n',
      String(Math.round(seconds * 3e6) + 3_000_000),
    ],
    {
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 300));
  const out = new Uint32Array(2 * 256);
  for (let i = 0; i < 1000 && rx.recv(out, 256) > 0; i++) rx.release();
  let fwd = 0;
  let got = 0;
  const before = rxPackets('vd');
  const offered0 = rxPackets('vb');
  const drops0 = rx.stats().drops;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) {
    const n = rx.recv(out, BATCH);
    if (n === 0) {
      rx.waitReadable(5);
      continue;
    }
    got += n;
    fwd += tx.send(rx.ring, out, n);
    rx.release();
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const arrived = rxPackets('vd') - before;
  const offered = rxPackets('vb') - offered0;
  const drops = rx.stats().drops - drops0;
  await stopGenerator(gen);
  rx.close();
  tx.close();
  console.log(
    `FWD rx ring -> sendmmsg: ${Math.round(got / secs)} frames/s received, ${Math.round(fwd / secs)} sent, ${Math.round(arrived / secs)} arrived, of ${Math.round(offered / secs)} offered (ring drops ${drops}); CPU ${Math.round(((cpu.user + cpu.system) / 1e6 / secs) * 100)}%`,
  );
}

try {
  spawnSync('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
  ns.addVeth('va', 'vb');
  benchTx('ring + qdisc bypass', { qdiscBypass: true, mmsg: false });
  benchTx('ring, via qdisc', { qdiscBypass: false, mmsg: false });
  benchTx('sendmmsg + qdisc bypass', { qdiscBypass: true, mmsg: true });
  benchTx('sendmmsg, via qdisc', { qdiscBypass: false, mmsg: true });
  benchTxXsk('native');
  benchTxXsk('generic');
  await benchRx();
  ns.addVeth('vc', 'vd');
  await benchForward();
} finally {
  ns.destroy();
  rmSync(join(tmpdir(), `tsnat-bench-${process.pid}.cfg`), { force: true });
}
