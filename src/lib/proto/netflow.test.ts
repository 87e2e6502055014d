import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, u8, u16, u32 } from './arbitraries.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import {
  decodeNetflowV5,
  encodeNetflowV5,
  encodeNetflowV5Record,
  NETFLOW_V5_RECORD_LEN,
  NetflowV5Batcher,
  type NetflowV5Header,
  type NetflowV5Message,
  type NetflowV5Record,
  netflowIcmpPort,
  netflowInterface,
} from './netflow.ts';
import { all, hex, one, problems, throughNfcapd, tsharkFields, udpFrame } from './test-support.ts';

const A = 0xc6120001; // 198.18.0.1
const B = 0xc6120002; // 198.18.0.2

function rec(over: Partial<NetflowV5Record>): NetflowV5Record {
  return {
    srcAddr: A,
    dstAddr: B,
    nextHop: 0,
    input: 1,
    output: 2,
    packets: 10,
    octets: 1500,
    first: 1000,
    last: 2000,
    srcPort: 1234,
    dstPort: 80,
    tcpFlags: 0x1b,
    protocol: 6,
    tos: 0,
    srcAs: 0,
    dstAs: 0,
    srcMask: 0,
    dstMask: 0,
    ...over,
  };
}

const header: NetflowV5Header = {
  sysUptime: 5000,
  unixSecs: 1_700_000_000,
  unixNsecs: 123_456_789,
  flowSequence: 42,
  engineType: 7,
  engineId: 3,
  samplingInterval: 0,
};

const records = [
  rec({}),
  rec({
    srcAddr: B,
    dstAddr: A,
    protocol: 17,
    srcPort: 53,
    dstPort: 5353,
    tcpFlags: 0,
    packets: 3,
    octets: 300,
    tos: 0xb8,
  }),
  // ICMP echo request as OVS exports it: type/code in dst_port.
  rec({
    protocol: 1,
    srcPort: 0,
    dstPort: netflowIcmpPort(8, 0),
    tcpFlags: 0,
    packets: 1,
    octets: 84,
    input: netflowInterface(5, 3, true),
    output: netflowInterface(65534, 3, true),
  }),
];

describe('NetFlow v5 layout', () => {
  it('puts fields where lib/netflow.h does (48-byte record, naive expected bytes)', () => {
    const w = new Writer(64);
    encodeNetflowV5Record(
      rec({
        tcpFlags: 0x12,
        protocol: 6,
        tos: 0x20,
        srcAs: 0x0102,
        dstAs: 0x0304,
        srcMask: 24,
        dstMask: 16,
      }),
      w,
    );
    assert.equal(w.pos, NETFLOW_V5_RECORD_LEN);
    assert.equal(
      hex(w.bytes()),
      'c6120001c612000200000000' +
        '00010002' +
        '0000000a000005dc' +
        '000003e8000007d0' +
        '04d20050' +
        '00120620' +
        '01020304' +
        '1810' +
        '0000',
    );
  });

  it('follows OVS for interface numbers with add_id_to_interface and for ICMP ports', () => {
    assert.equal(netflowInterface(5, 3, false), 5);
    assert.equal(netflowInterface(5, 3, true), (3 << 9) | 5);
    assert.equal(netflowInterface(0x3ff, 0xff, true), (0x7f << 9) | 0x1ff);
    assert.equal(netflowIcmpPort(3, 1), 0x0301);
  });
});

describe('NetFlow v5 against real decoders', () => {
  const msg: NetflowV5Message = { header, records };
  const bytesOut = encodeToBytes(encodeNetflowV5, msg);

  it('tshark decodes header and records without errors', () => {
    const [p] = tsharkFields(
      [udpFrame(bytesOut, 2055)],
      [
        'cflow.version',
        'cflow.count',
        'cflow.sysuptime',
        'cflow.unix_secs',
        'cflow.unix_nsecs',
        'cflow.sequence',
        'cflow.engine_type',
        'cflow.engine_id',
        'cflow.srcaddr',
        'cflow.dstaddr',
        'cflow.inputint',
        'cflow.outputint',
        'cflow.packets',
        'cflow.octets',
        'cflow.srcport',
        'cflow.dstport',
        'cflow.protocol',
        'cflow.tos',
        'cflow.tcpflags',
      ],
      ['-d', 'udp.port==2055,cflow'],
    );
    assert.deepEqual(problems(p), []);
    assert.equal(one(p, 'cflow.version'), '5');
    assert.equal(one(p, 'cflow.count'), '3');
    assert.equal(Number(one(p, 'cflow.sysuptime')), 5);
    assert.equal(one(p, 'cflow.unix_secs'), '1700000000');
    assert.equal(one(p, 'cflow.unix_nsecs'), '123456789');
    assert.equal(one(p, 'cflow.sequence'), '42');
    assert.equal(one(p, 'cflow.engine_type'), '7');
    assert.equal(one(p, 'cflow.engine_id'), '3');
    assert.deepEqual(all(p, 'cflow.srcaddr'), ['198.18.0.1', '198.18.0.2', '198.18.0.1']);
    assert.deepEqual(all(p, 'cflow.inputint'), ['1', '1', String((3 << 9) | 5)]);
    assert.deepEqual(all(p, 'cflow.outputint'), ['2', '2', String((3 << 9) | 0x1fe)]);
    assert.deepEqual(all(p, 'cflow.packets'), ['10', '3', '1']);
    assert.deepEqual(all(p, 'cflow.octets'), ['1500', '300', '84']);
    assert.deepEqual(all(p, 'cflow.dstport'), ['80', '5353', String(8 << 8)]);
    assert.deepEqual(all(p, 'cflow.protocol'), ['6', '17', '1']);
    assert.deepEqual(all(p, 'cflow.tos').map(Number), [0, 0xb8, 0]);
    assert.deepEqual(all(p, 'cflow.tcpflags').map(Number), [0x1b, 0, 0]);
  });

  it('nfcapd stores the flows and nfdump reports their packets and bytes', async () => {
    const run = await throughNfcapd([bytesOut]);
    assert.match(run.log, /Flows: 3, Packets: 14, Bytes: 1884, Sequence Errors: 0, Bad Packets: 0/);
    assert.equal(run.summary.flows, '3');
    assert.equal(run.summary.packets, '14');
    assert.equal(run.summary.bytes, '1884');
    const tcp = run.flows.find((f) => f.pr === 'TCP');
    assert.ok(tcp, JSON.stringify(run.flows));
    assert.equal(tcp.sa, '198.18.0.1');
    assert.equal(tcp.da, '198.18.0.2');
    assert.equal(tcp.sp, '1234');
    assert.equal(tcp.dp, '80');
    assert.equal(tcp.ipkt, '10');
    assert.equal(tcp.ibyt, '1500');
    assert.equal(tcp.flg, '...AP.SF');
    assert.equal(tcp.in, '1');
    assert.equal(tcp.out, '2');
    // first/last are sysUptime-relative: 1000 ms and 2000 ms into a 5000 ms uptime.
    assert.equal(tcp.td, '1.000');
    const udp = run.flows.find((f) => f.pr === 'UDP');
    assert.ok(udp);
    assert.equal(udp.stos, '184');
  });

  it('a batcher splits 61 flows into 30 + 30 + 1 datagrams that nfcapd accepts without loss', async () => {
    const sent: Uint8Array[] = [];
    const b = new NetflowV5Batcher(
      () => ({
        sysUptime: 10_000,
        unixSecs: 1_700_000_000,
        unixNsecs: 0,
        engineType: 0,
        engineId: 0,
        samplingInterval: 0,
      }),
      (d) => sent.push(d.slice()),
      'standard',
    );
    for (let i = 0; i < 61; i++)
      b.add(rec({ srcPort: 1000 + i, packets: i + 1, octets: 100 * (i + 1) }));
    assert.equal(sent.length, 2);
    b.flush();
    b.flush();
    assert.deepEqual(
      sent.map((d) => d.length),
      [24 + 30 * 48, 24 + 30 * 48, 24 + 48],
    );
    const seqs = sent.map((d) => {
      const m = decodeNetflowV5(d);
      assert.ok(!(m instanceof DecodeError));
      return m.header.flowSequence;
    });
    assert.deepEqual(seqs, [0, 30, 60]);
    const run = await throughNfcapd(sent);
    const packets = (61 * 62) / 2;
    assert.match(
      run.log,
      new RegExp(`Flows: 61, Packets: ${packets}, Bytes: ${packets * 100}, Sequence Errors: 0`),
    );
    assert.equal(run.flows.length, 61);
  });

  it("the default batcher numbers flows as OVS does (the header holds the last record's number)", () => {
    const sent: Uint8Array[] = [];
    const b = new NetflowV5Batcher(
      () => ({
        sysUptime: 1,
        unixSecs: 2,
        unixNsecs: 3,
        engineType: 0,
        engineId: 0,
        samplingInterval: 0,
      }),
      (d) => sent.push(d.slice()),
    );
    for (let i = 0; i < 3; i++) b.add(rec({}));
    b.flush();
    b.add(rec({}));
    b.flush();
    const seqs = sent.map((d) => {
      const m = decodeNetflowV5(d);
      assert.ok(!(m instanceof DecodeError));
      return [m.records.length, m.header.flowSequence];
    });
    assert.deepEqual(seqs, [
      [3, 2],
      [1, 3],
    ]);
  });
});

describe('NetFlow v5 decode errors and properties', () => {
  it('rejects bad versions, counts over 30 and lengths that disagree with count', () => {
    const good = encodeToBytes(encodeNetflowV5, { header, records: records.slice(0, 1) });
    const v9 = good.slice();
    v9[1] = 9;
    const e1 = decodeNetflowV5(v9);
    assert.ok(e1 instanceof DecodeError && e1.offset === 0);
    const many = good.slice();
    many[3] = 31;
    const e2 = decodeNetflowV5(many);
    assert.ok(e2 instanceof DecodeError && e2.offset === 2);
    const e3 = decodeNetflowV5(good.subarray(0, good.length - 1));
    assert.ok(e3 instanceof DecodeError && e3.offset === 24);
    assert.throws(
      () => encodeToBytes(encodeNetflowV5, { header, records: Array(31).fill(rec({})) }),
      RangeError,
    );
  });

  it('decode(encode(x)) == x', () => {
    const r = fc.record({
      srcAddr: u32,
      dstAddr: u32,
      nextHop: u32,
      input: u16,
      output: u16,
      packets: u32,
      octets: u32,
      first: u32,
      last: u32,
      srcPort: u16,
      dstPort: u16,
      tcpFlags: u8,
      protocol: u8,
      tos: u8,
      srcAs: u16,
      dstAs: u16,
      srcMask: u8,
      dstMask: u8,
    });
    const h = fc.record({
      sysUptime: u32,
      unixSecs: u32,
      unixNsecs: u32,
      flowSequence: u32,
      engineType: u8,
      engineId: u8,
      samplingInterval: u16,
    });
    fc.assert(
      fc.property(h, fc.array(r, { maxLength: 30 }), (header, records) => {
        const m = { header, records };
        const b = encodeToBytes(encodeNetflowV5, m);
        assert.equal(b.length, 24 + 48 * records.length);
        assert.deepEqual(decodeNetflowV5(b), structuredClone(m));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(bytes(0, 120), (b) => void decodeNetflowV5(b)),
      { numRuns: 300 },
    );
  });
});
