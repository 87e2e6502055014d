/*
 * Test helpers for the protocol codecs: wrap payloads into Ethernet/IPv4/UDP with a
 * deliberately naive builder (not the code under test), write pcaps, and run tshark on them.
 * Test addresses come from 198.18.0.0/15 only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePcapFile } from '../pcap.ts';

export const TEST_AGENT_IP = 0xc6120001; // 198.18.0.1
export const TEST_COLLECTOR_IP = 0xc6120002; // 198.18.0.2

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function ipChecksum(b: number[]): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet/IPv4/UDP frame carrying `payload` (UDP checksum 0, which IPv4 allows). */
export function udpFrame(
  payload: Uint8Array,
  dstPort: number,
  srcPort = 50000,
  src = TEST_AGENT_IP,
  dst = TEST_COLLECTOR_IP,
): Uint8Array {
  const eth = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
  const udpLen = 8 + payload.length;
  const ipLen = 20 + udpLen;
  const ip = [
    0x45,
    0,
    ipLen >> 8,
    ipLen & 0xff,
    0,
    1,
    0x40,
    0,
    64,
    17,
    0,
    0,
    src >>> 24,
    (src >>> 16) & 0xff,
    (src >>> 8) & 0xff,
    src & 0xff,
    dst >>> 24,
    (dst >>> 16) & 0xff,
    (dst >>> 8) & 0xff,
    dst & 0xff,
  ];
  const c = ipChecksum(ip);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  const udp = [
    srcPort >> 8,
    srcPort & 0xff,
    dstPort >> 8,
    dstPort & 0xff,
    udpLen >> 8,
    udpLen & 0xff,
    0,
    0,
  ];
  const out = new Uint8Array(14 + ipLen);
  out.set(eth, 0);
  out.set(ip, 14);
  out.set(udp, 34);
  out.set(payload, 42);
  return out;
}

export interface TsharkPacket {
  /** field name -> every occurrence, in order */
  fields: Map<string, string[]>;
}

/**
 * Writes `frames` to a pcap and runs `tshark -T fields` over it, returning per packet the
 * requested fields (all occurrences) plus `_ws.malformed` and `_ws.expert.severity` so
 * tests can assert the dissector saw no malformed data.
 */
export function tsharkFields(
  frames: Uint8Array[],
  fields: string[],
  extraArgs: string[] = [],
): TsharkPacket[] {
  const dir = mkdtempSync(join(tmpdir(), 'ts-proto-'));
  try {
    const file = join(dir, 'cap.pcap');
    writeFileSync(file, encodePcapFile(frames));
    const all = [...fields, '_ws.malformed', '_ws.expert.severity', '_ws.expert.message'];
    const args = [
      '-n',
      '-r',
      file,
      ...extraArgs,
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=\x1f',
    ];
    for (const f of all) args.push('-e', f);
    const out = execFileSync('tshark', args, {
      encoding: 'utf8',
      timeout: 30000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = out.split('\n').filter((l) => l.length > 0);
    return lines.map((line) => {
      const cols = line.split('\t');
      const m = new Map<string, string[]>();
      all.forEach((f, i) => {
        const v = cols[i] ?? '';
        m.set(f, v === '' ? [] : v.split('\x1f'));
      });
      return { fields: m };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The one value of a field, or throws: keeps assertions short. */
export function one(p: TsharkPacket, field: string): string {
  const v = p.fields.get(field) ?? [];
  if (v.length !== 1) throw new Error(`${field}: expected one value, got ${JSON.stringify(v)}`);
  return v[0];
}

export function all(p: TsharkPacket, field: string): string[] {
  return p.fields.get(field) ?? [];
}

/** Expert messages of error or warning severity, and any malformed marker. */
export function problems(p: TsharkPacket): string[] {
  const out: string[] = [];
  if ((p.fields.get('_ws.malformed') ?? []).length > 0) out.push('malformed');
  const msgs = p.fields.get('_ws.expert.message') ?? [];
  const sev = p.fields.get('_ws.expert.severity') ?? [];
  msgs.forEach((m, i) => {
    // 8388608 = error, 6291456 = warning (epan/proto.h PI_ERROR / PI_WARN)
    if (sev[i] === '8388608' || sev[i] === '6291456') out.push(m);
  });
  return out;
}

/** Full `tshark -V` text of the capture, for assertions on rendered lines. */
export function tsharkVerbose(frames: Uint8Array[], extraArgs: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'ts-proto-'));
  try {
    const file = join(dir, 'cap.pcap');
    writeFileSync(file, encodePcapFile(frames));
    return execFileSync('tshark', ['-n', '-r', file, ...extraArgs, '-V'], {
      encoding: 'utf8',
      timeout: 30000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A UDP port that was free a moment ago (bind to 0, read it, close). */
export async function freeUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

export async function sendUdp(port: number, datagrams: Uint8Array[]): Promise<void> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  try {
    for (const d of datagrams) {
      await new Promise<void>((res, rej) =>
        s.send(d, port, '127.0.0.1', (e) => (e ? rej(e) : res())),
      );
    }
  } finally {
    s.close();
  }
}

export interface NfcapdRun {
  /** nfdump -o csv of what nfcapd stored, one object per flow keyed by csv column (sa, ipkt...). */
  flows: Record<string, string>[];
  /** nfdump's summary: flows, bytes, packets, ... */
  summary: Record<string, string>;
  /** nfcapd's own summary line(s) printed at exit ("Flows: N, Packets: ..."). */
  log: string;
}

/**
 * Starts real nfcapd on 127.0.0.1 with a fresh directory, sends the datagrams, stops it by
 * PID (SIGTERM makes it flush and close its file), and reads the file back with nfdump.
 */
export async function throughNfcapd(datagrams: Uint8Array[]): Promise<NfcapdRun> {
  const { spawn } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'ts-nfcapd-'));
  const port = await freeUdpPort();
  const child = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    const deadline = Date.now() + 10000;
    while (!/Startup/.test(log)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`nfcapd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await sendUdp(port, datagrams);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
    }
  }
  try {
    const files = readdirSync(dir).filter((f) => /^nfcapd\.\d+$/.test(f));
    if (files.length !== 1)
      throw new Error(`nfcapd left ${JSON.stringify(readdirSync(dir))}: ${log}`);
    const out = execFileSync('nfdump', ['-r', join(dir, files[0]), '-o', 'csv'], {
      encoding: 'utf8',
      timeout: 20000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = out.split('\n').map((l) => l.split(','));
    const zip = (keys: string[], vals: string[]) =>
      Object.fromEntries(keys.map((k, i) => [k, (vals[i] ?? '').trim()]));
    const head = lines[0];
    const flows: Record<string, string>[] = [];
    let i = 1;
    for (; i < lines.length && lines[i][0] !== 'Summary'; i++) {
      if (lines[i].length === head.length) flows.push(zip(head, lines[i]));
    }
    const summary = i + 2 < lines.length ? zip(lines[i + 1], lines[i + 2]) : {};
    return { flows, summary, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SfacctdRun {
  /** The print plugin's csv rows, keyed by its header (SRC_MAC, VLAN, PACKETS, ...). */
  flows: Record<string, string>[];
  /** The counter file's JSON lines, one per counter record, in arrival order. */
  counters: Record<string, unknown>[];
  log: string;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Starts real pmacct sfacctd on 127.0.0.1 with the print plugin and a JSON counter file,
 * sends the datagrams, waits until `expectFlows` flow rows and `expectCounters` counter
 * lines are written (or 8 s pass), then stops the daemon and its plugin by PID.
 */
export async function throughSfacctd(
  datagrams: Uint8Array[],
  aggregate: string,
  expectFlows: number,
  expectCounters: number,
): Promise<SfacctdRun> {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'ts-sfacctd-'));
  const port = await freeUdpPort();
  const conf = join(dir, 'sfacctd.conf');
  writeFileSync(
    conf,
    [
      'daemonize: false',
      'sfacctd_ip: 127.0.0.1',
      `sfacctd_port: ${port}`,
      'plugins: print',
      `aggregate: ${aggregate}`,
      'print_output: csv',
      `print_output_file: ${join(dir, 'flows.csv')}`,
      'print_refresh_time: 1',
      `sfacctd_counter_file: ${join(dir, 'counters.json')}`,
      'sfacctd_counter_output: json',
      'sfacctd_renormalize: false',
      '',
    ].join('\n'),
  );
  const child = spawn('sfacctd', ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const read = (name: string): string[] => {
    const p = join(dir, name);
    return existsSync(p)
      ? readFileSync(p, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
      : [];
  };
  const plugins: number[] = [];
  try {
    const deadline = Date.now() + 10000;
    // Data that arrives before the print plugin runs its first purge can be lost.
    while (!/waiting for sFlow data/.test(log) || !/Purging cache - END/.test(log)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`sfacctd did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (child.pid !== undefined) plugins.push(...childPids(child.pid));
    await sendUdp(port, datagrams);
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      const counters = read('counters.json').filter((l) => l.includes('"event_type": "log"'));
      if (read('flows.csv').length - 1 >= expectFlows && counters.length >= expectCounters) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    if (child.pid !== undefined) plugins.push(...childPids(child.pid));
    // The output files are complete; sfacctd can take seconds to wind down on SIGINT.
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    // Only PIDs that still belong to sfacctd: a reaped PID may have been reused.
    for (const pid of [child.pid, ...plugins]) {
      try {
        if (pid !== undefined && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sfacctd')) {
          process.kill(pid, 'SIGKILL');
        }
      } catch {
        // already gone
      }
    }
  }
  try {
    const csv = read('flows.csv').map((l) => l.split(','));
    const flows = csv
      .slice(1)
      .map((row) => Object.fromEntries(csv[0].map((k, i) => [k, row[i] ?? ''])));
    const counters = read('counters.json')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => o.event_type === 'log');
    return { flows, counters, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
