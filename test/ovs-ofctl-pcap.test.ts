/**
 * ofp-parse-pcap side by side with real ovs-ofctl 3.1 on captures built here byte by byte:
 * handshakes, messages split over segments and packed into one, out-of-order and retransmitted
 * segments, both directions, other ports, VLAN tags, Linux cooked captures, both byte orders
 * and nanosecond stamps, --timestamp, port arguments, and broken files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { ourCli } from './ovs-vsctl-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'ofp-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ours = ourCli('ovs-ofctl');

function ofctl(which: 'real' | 'ours', args: string[]) {
  const [cmd, argv] = which === 'real' ? ['ovs-ofctl', args] : [process.execPath, [ours, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 20000 });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d+\|/gm, 'TS|'),
  };
}

function same(args: string[]): string {
  const r = ofctl('real', args);
  const o = ofctl('ours', args);
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
  return r.stdout;
}

interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  data?: Uint8Array;
  vlan?: number;
}

const ipBytes = (s: string): number[] => s.split('.').map(Number);

/* Deliberately naive: Ethernet (optionally 802.1Q), IPv4 without options, TCP without options. */
function frame(s: Seg): Buffer {
  const data = Buffer.from(s.data ?? []);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(s.sport, 0);
  tcp.writeUInt16BE(s.dport, 2);
  tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp[12] = 5 << 4;
  tcp[13] = s.flags;
  tcp.writeUInt16BE(65535, 14);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + data.length, 2);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(ipBytes(s.src)).copy(ip, 12);
  Buffer.from(ipBytes(s.dst)).copy(ip, 16);
  const eth = Buffer.from([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6]);
  const tag = s.vlan === undefined ? [] : [0x81, 0x00, 0, s.vlan];
  return Buffer.concat([eth, Buffer.from([...tag, 0x08, 0x00]), ip, tcp, data]);
}

function pcap(
  frames: Buffer[],
  opts: { be?: boolean; nsec?: boolean; sll?: boolean } = {},
): Buffer {
  const w32 = (b: Buffer, v: number, at: number): void => {
    if (opts.be) b.writeUInt32BE(v >>> 0, at);
    else b.writeUInt32LE(v >>> 0, at);
  };
  const head = Buffer.alloc(24);
  w32(head, opts.nsec ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  if (opts.be) {
    head.writeUInt16BE(2, 4);
    head.writeUInt16BE(4, 6);
  } else {
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
  }
  w32(head, 65535, 16);
  w32(head, opts.sll ? 113 : 1, 20);
  const out: Buffer[] = [head];
  frames.forEach((f0, i) => {
    let f: Buffer = f0;
    if (opts.sll) {
      const sll = Buffer.alloc(16);
      sll.writeUInt16BE(4, 2);
      sll.writeUInt16BE(6, 4);
      f0.copy(sll, 6, 6, 12);
      f0.copy(sll, 14, 12, 14);
      f = Buffer.concat([sll, f0.subarray(14)]);
    }
    const rec = Buffer.alloc(16);
    w32(rec, 1700000000 + i, 0);
    w32(rec, opts.nsec ? 123456789 : 654321, 4);
    w32(rec, f.length, 8);
    w32(rec, f.length, 12);
    out.push(rec, f);
  });
  return Buffer.concat(out);
}

const msg = (version: number, xid: number, m: Parameters<typeof encodeMessage>[0]['msg']) =>
  encodeMessage({ version, xid, msg: m });

function conversation(port: number, vlan?: number): Buffer[] {
  const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: port, vlan };
  const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: port, dport: 40000, vlan };
  const hello = msg(4, 1, { type: 'hello', versions: [1, 4] });
  const feat = msg(4, 2, { type: 'features_request' });
  const echo = msg(4, 3, { type: 'echo_request', data: Uint8Array.from([1, 2, 3]) });
  const both = Buffer.concat([feat, echo]);
  const reply = msg(4, 2, {
    type: 'features_reply',
    datapathId: 0x1234n,
    nBuffers: 0,
    nTables: 254,
    auxiliaryId: 0,
    capabilities: 0x47,
    actions: 0,
    ports: [],
  });
  let cs = 1000;
  let ss = 5000;
  const frames: Seg[] = [
    { ...c, seq: cs, flags: 0x02 },
    { ...s, seq: ss, flags: 0x12 },
    { ...c, seq: cs + 1, flags: 0x18, data: hello },
  ];
  cs += 1 + hello.length;
  ss += 1;
  // Split over two segments, the second first (out of order: dropped), then both in order.
  frames.push({ ...c, seq: cs + 5, flags: 0x18, data: both.subarray(5) });
  frames.push({ ...c, seq: cs, flags: 0x18, data: both.subarray(0, 5) });
  frames.push({ ...c, seq: cs + 5, flags: 0x18, data: both.subarray(5) });
  // A retransmission of data already seen: ignored.
  frames.push({ ...c, seq: cs, flags: 0x18, data: both.subarray(0, 5) });
  cs += both.length;
  frames.push({ ...s, seq: ss, flags: 0x18, data: reply });
  ss += reply.length;
  frames.push({ ...c, seq: cs, flags: 0x11 });
  frames.push({ ...s, seq: ss, flags: 0x11 });
  return frames.map(frame);
}

describe('ofp-parse-pcap side by side with real ovs-ofctl', () => {
  it('reassembles OpenFlow streams on the default ports as OVS does', () => {
    const f = join(dir, 'a.pcap');
    writeFileSync(f, pcap([...conversation(6653), ...conversation(6633, 7), ...conversation(80)]));
    const out = same(['ofp-parse-pcap', f]);
    assert.match(out, /10\.0\.0\.1\.40000 > 10\.0\.0\.2\.6653:\nOFPT_HELLO \(OF1\.3\) \(xid=0x1\)/);
    same(['--timestamp', 'ofp-parse-pcap', f]);
    same(['ofp-parse-pcap', f, '80']);
    same(['ofp-parse-pcap', f, '80', '6633']);
    same(['--more', 'ofp-parse-pcap', f]);
  });

  it('reads big-endian, nanosecond and Linux cooked captures', () => {
    for (const [name, opts] of [
      ['be.pcap', { be: true }],
      ['ns.pcap', { nsec: true }],
      ['sll.pcap', { sll: true }],
    ] as const) {
      const f = join(dir, name);
      writeFileSync(f, pcap(conversation(6653), opts));
      same(['--timestamp', 'ofp-parse-pcap', f]);
    }
  });

  it('reports missing, empty, truncated and foreign files as OVS does', () => {
    writeFileSync(join(dir, 'empty.pcap'), '');
    writeFileSync(join(dir, 'bad.pcap'), 'garbagegarbagegarbagegarbage');
    const good = pcap(conversation(6653));
    writeFileSync(join(dir, 'cut.pcap'), good.subarray(0, good.length - 30));
    const eth = pcap(conversation(6653));
    eth.writeUInt32LE(105, 20);
    writeFileSync(join(dir, 'wifi.pcap'), eth);
    for (const f of ['nonexistent.pcap', 'empty.pcap', 'bad.pcap', 'cut.pcap', 'wifi.pcap']) {
      same(['ofp-parse-pcap', join(dir, f)]);
    }
  });
});

describe('parse-pcap side by side with real ovs-ofctl', () => {
  it("prints each packet's flow as flow_format() does", () => {
    const icmp = Buffer.from(
      '5054000000075054000000050800' +
        '4500001c0000000080011b7bc0a80001c0a80002' +
        '0800f7ff00000000',
      'hex',
    );
    const nd = Buffer.from(
      '50540000000750540000000581000a2a86dd' +
        '6000000000083afe20010db8000000000000000000000001ff020000000000000000000000000001' +
        '8000000000000000',
      'hex',
    );
    const arp = Buffer.from(
      'ffffffffffff5054000000050806' + '0001080006040001505400000005c0a80001000000000000c0a80002',
      'hex',
    );
    const runt = Buffer.from('5054000000075054', 'hex');
    const f = join(dir, 'flows.pcap');
    writeFileSync(f, pcap([icmp, nd, arp, runt, ...conversation(6653)]));
    const out = same(['parse-pcap', f]);
    assert.match(out, /^icmp,in_port=ANY,vlan_tci=0x0000,dl_src=50:54:00:00:00:05,/);
    assert.equal(out.split('\n').length, 4 + conversation(6653).length + 1);
    writeFileSync(join(dir, 'sll2.pcap'), pcap([icmp, arp], { sll: true, be: true }));
    same(['parse-pcap', join(dir, 'sll2.pcap')]);
  });

  it('reports a file it cannot read, goes on with the next, and exits with its errno', () => {
    writeFileSync(join(dir, 'junk.pcap'), 'garbagegarbagegarbagegarbage');
    writeFileSync(join(dir, 'one.pcap'), pcap(conversation(6653)));
    same(['parse-pcap', join(dir, 'missing.pcap'), join(dir, 'one.pcap')]);
    same(['parse-pcap', join(dir, 'junk.pcap')]);
    same(['parse-pcap', join(dir, 'one.pcap'), join(dir, 'junk.pcap'), join(dir, 'one.pcap')]);
  });
});
