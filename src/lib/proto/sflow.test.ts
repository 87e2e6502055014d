import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, mac, u8, u32, u64 } from './arbitraries.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import {
  decodeSflowDatagram,
  encodeSflowDatagram,
  SFLOW_UNDEF_COUNTER,
  type SflowAddress,
  type SflowCounterRecord,
  type SflowCountersSample,
  type SflowDatagram,
  SflowDatagramBuilder,
  type SflowFlowRecord,
  type SflowFlowSample,
  type SflowSample,
  sflowSampleSize,
} from './sflow.ts';
import {
  all,
  fromHex,
  hex,
  one,
  problems,
  TEST_AGENT_IP,
  throughSfacctd,
  tsharkFields,
  udpFrame,
} from './test-support.ts';

// An ARP request as OVS would sample it: 60 bytes on the wire before the FCS.
const ARP = fromHex(
  'ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 c6120001 000000000000 c6120002' +
    '000000000000000000000000000000000000',
);

/** A flow sample shaped as ofproto-dpif-sflow.c builds it. */
function ovsFlowSample(seq: number, frame: Uint8Array): SflowFlowSample {
  return {
    kind: 'flow',
    expanded: false,
    sequenceNumber: seq,
    sourceIdType: 0,
    sourceIdIndex: 1003,
    samplingRate: 400,
    samplePool: 400 * seq,
    drops: 0,
    inputFormat: 0,
    input: 1003,
    outputFormat: 0,
    output: 1004,
    records: [
      { type: 'switch', srcVlan: 10, srcPriority: 3, dstVlan: 20, dstPriority: 5 },
      {
        type: 'header',
        protocol: 1,
        frameLength: frame.length + 4,
        stripped: 4,
        header: frame.subarray(0, Math.min(frame.length, 128)),
      },
    ],
  };
}

const generic: SflowCounterRecord = {
  type: 'generic',
  ifIndex: 1003,
  ifType: 6,
  ifSpeed: 10_000_000_000n,
  ifDirection: 1,
  ifStatus: 3,
  ifInOctets: 0x1_0000_0001n,
  ifInUcastPkts: 5,
  ifInMulticastPkts: 6,
  ifInBroadcastPkts: 7,
  ifInDiscards: 8,
  ifInErrors: 9,
  ifInUnknownProtos: SFLOW_UNDEF_COUNTER,
  ifOutOctets: 2000n,
  ifOutUcastPkts: 11,
  ifOutMulticastPkts: 12,
  ifOutBroadcastPkts: 13,
  ifOutDiscards: 14,
  ifOutErrors: 15,
  ifPromiscuousMode: 0,
};
const ethernet: SflowCounterRecord = {
  type: 'ethernet',
  dot3StatsAlignmentErrors: 1,
  dot3StatsFCSErrors: 2,
  dot3StatsSingleCollisionFrames: SFLOW_UNDEF_COUNTER,
  dot3StatsMultipleCollisionFrames: SFLOW_UNDEF_COUNTER,
  dot3StatsSQETestErrors: SFLOW_UNDEF_COUNTER,
  dot3StatsDeferredTransmissions: SFLOW_UNDEF_COUNTER,
  dot3StatsLateCollisions: SFLOW_UNDEF_COUNTER,
  dot3StatsExcessiveCollisions: SFLOW_UNDEF_COUNTER,
  dot3StatsInternalMacTransmitErrors: SFLOW_UNDEF_COUNTER,
  dot3StatsCarrierSenseErrors: SFLOW_UNDEF_COUNTER,
  dot3StatsFrameTooLongs: 3,
  dot3StatsInternalMacReceiveErrors: SFLOW_UNDEF_COUNTER,
  dot3StatsSymbolErrors: SFLOW_UNDEF_COUNTER,
};
const lacp: SflowCounterRecord = {
  type: 'lacp',
  actorSystemId: 'aa:bb:cc:dd:ee:01',
  partnerSystemId: '02:11:22:33:44:55',
  attachedAggId: 5,
  actorAdminState: 0x05,
  actorOperState: 0x3d,
  partnerAdminState: 0x00,
  partnerOperState: 0x3f,
  lacpdusRx: 21,
  markerPdusRx: SFLOW_UNDEF_COUNTER,
  markerResponsePdusRx: SFLOW_UNDEF_COUNTER,
  unknownRx: SFLOW_UNDEF_COUNTER,
  illegalRx: 1,
  lacpdusTx: 22,
  markerPdusTx: SFLOW_UNDEF_COUNTER,
  markerResponsePdusTx: SFLOW_UNDEF_COUNTER,
};

const agent: SflowAddress = { type: 'ipv4', ipv4: TEST_AGENT_IP };

function datagram(samples: SflowSample[], seq = 1): SflowDatagram {
  return { agentAddress: agent, subAgentId: 0, sequenceNumber: seq, uptime: 12345, samples };
}

describe('sFlow v5 against tshark', () => {
  it('decodes an OVS-shaped flow sample and interface counters without errors', () => {
    const counters: SflowCountersSample = {
      kind: 'counters',
      expanded: false,
      sequenceNumber: 4,
      sourceIdType: 0,
      sourceIdIndex: 1003,
      records: [ethernet, lacp, generic],
    };
    const d = encodeToBytes(encodeSflowDatagram, datagram([ovsFlowSample(1, ARP), counters], 77));
    const [p] = tsharkFields(
      [udpFrame(d, 6343)],
      [
        'sflow_245.version',
        'sflow_245.agent',
        'sflow_245.sequence_number',
        'sflow_245.sysuptime',
        'sflow_245.numsamples',
        'sflow_245.sampletype',
        'sflow.flow_sample.sampling_rate',
        'sflow.flow_sample.sample_pool',
        'sflow.flow_sample.source_id_index',
        'sflow.flow_sample.input_interface',
        'sflow.flow_sample.output_interface_value',
        'sflow_245.header_protocol',
        'sflow_245.header.frame_length',
        'sflow_245.header.payload_stripped',
        'sflow_245.header.sampled_header_length',
        'sflow_245.vlan.in',
        'sflow_245.pri.in',
        'sflow_245.vlan.out',
        'sflow_245.pri.out',
        'arp.dst.proto_ipv4',
        'sflow_245.ifindex',
        'sflow_245.ifspeed',
        'sflow_245.ifinoct',
        'sflow_245.ifinunk',
        'sflow_245.ifoper_status',
        'sflow_245.dot3StatsFCSErrors',
        'sflow_245.dot3StatsFrameTooLongs',
        'sflow.lag_port.actor_system_id',
        'sflow.lag_port.partner_oper_system_id',
        'sflow.lag_port.attached_agg_id',
        'sflow.lag_port.state',
        'sflow.lag_port.lacpdus.rx',
        'sflow.lag_port.lacpdus.tx',
      ],
    );
    assert.deepEqual(problems(p), []);
    assert.equal(one(p, 'sflow_245.version'), '5');
    assert.equal(one(p, 'sflow_245.agent'), '198.18.0.1');
    assert.equal(one(p, 'sflow_245.sequence_number'), '77');
    assert.equal(one(p, 'sflow_245.sysuptime'), '12345');
    assert.equal(one(p, 'sflow_245.numsamples'), '2');
    assert.deepEqual(all(p, 'sflow_245.sampletype'), ['1', '2']);
    assert.equal(one(p, 'sflow.flow_sample.sampling_rate'), '400');
    assert.equal(one(p, 'sflow.flow_sample.sample_pool'), '400');
    assert.equal(one(p, 'sflow.flow_sample.input_interface'), '1003');
    assert.equal(one(p, 'sflow.flow_sample.output_interface_value'), '1004');
    assert.equal(one(p, 'sflow_245.header_protocol'), '1');
    assert.equal(one(p, 'sflow_245.header.frame_length'), '64');
    assert.equal(one(p, 'sflow_245.header.payload_stripped'), '4');
    assert.equal(one(p, 'sflow_245.header.sampled_header_length'), '60');
    assert.equal(one(p, 'sflow_245.vlan.in'), '10');
    assert.equal(one(p, 'sflow_245.pri.in'), '3');
    assert.equal(one(p, 'sflow_245.vlan.out'), '20');
    assert.equal(one(p, 'sflow_245.pri.out'), '5');
    // tshark dissects the sampled header itself: the ARP target is inside it.
    assert.equal(one(p, 'arp.dst.proto_ipv4'), '198.18.0.2');
    assert.equal(one(p, 'sflow_245.ifindex'), '1003');
    assert.equal(one(p, 'sflow_245.ifspeed'), '10000000000');
    assert.equal(one(p, 'sflow_245.ifinoct'), String(0x1_0000_0001));
    assert.equal(one(p, 'sflow_245.ifinunk'), '4294967295');
    assert.equal(one(p, 'sflow_245.ifoper_status'), '1');
    assert.equal(one(p, 'sflow_245.dot3StatsFCSErrors'), '2');
    assert.equal(one(p, 'sflow_245.dot3StatsFrameTooLongs'), '3');
    assert.equal(one(p, 'sflow.lag_port.actor_system_id'), 'aa:bb:cc:dd:ee:01');
    assert.equal(one(p, 'sflow.lag_port.partner_oper_system_id'), '02:11:22:33:44:55');
    assert.equal(one(p, 'sflow.lag_port.attached_agg_id'), '5');
    // OVS copies the four state octets in struct order (actor admin first); tshark shows the
    // word as read, and labels the octets in the reverse order.
    assert.equal(Number(one(p, 'sflow.lag_port.state')), 0x053d003f);
    assert.equal(one(p, 'sflow.lag_port.lacpdus.rx'), '21');
    assert.equal(one(p, 'sflow.lag_port.lacpdus.tx'), '22');
  });

  it('decodes expanded samples, IPv6 agents and sampled IPv4/IPv6/ethernet records', () => {
    const v6 = fromHex('20010db8000000000000000000000001');
    const sample: SflowFlowSample = {
      kind: 'flow',
      expanded: true,
      sequenceNumber: 9,
      sourceIdType: 0,
      sourceIdIndex: 0x01020304,
      samplingRate: 1000,
      samplePool: 5000,
      drops: 2,
      inputFormat: 0,
      input: 0x01020304,
      outputFormat: 0,
      output: 7,
      records: [
        {
          type: 'ethernet',
          length: 64,
          src: '02:00:00:00:00:01',
          dst: '02:00:00:00:00:02',
          ethType: 0x0800,
        },
        {
          type: 'ipv4',
          length: 46,
          protocol: 6,
          src: 0xc6120001,
          dst: 0xc6120002,
          srcPort: 1234,
          dstPort: 80,
          tcpFlags: 0x12,
          tos: 0,
        },
        {
          type: 'ipv6',
          length: 40,
          protocol: 17,
          src: v6,
          dst: fromHex('20010db8000000000000000000000002'),
          srcPort: 53,
          dstPort: 5353,
          tcpFlags: 0,
          priority: 0,
        },
      ],
    };
    const d = encodeToBytes(encodeSflowDatagram, {
      agentAddress: { type: 'ipv6', ipv6: v6 },
      subAgentId: 3,
      sequenceNumber: 1,
      uptime: 1,
      samples: [sample],
    });
    const [p] = tsharkFields(
      [udpFrame(d, 6343)],
      [
        'sflow_245.agent.v6',
        'sflow_245.sampletype',
        'sflow.flow_sample.source_id_index',
        'sflow.flow_sample.dropped_packets',
        'sflow_245.ethernet.source_mac_address',
        'sflow_245.ipv4_dst',
        'sflow_245.ipv6_dst',
      ],
    );
    assert.deepEqual(problems(p), []);
    assert.equal(one(p, 'sflow_245.agent.v6'), '2001:db8::1');
    assert.equal(one(p, 'sflow_245.sampletype'), '3');
    assert.equal(Number(one(p, 'sflow.flow_sample.source_id_index')), 0x01020304);
    assert.equal(one(p, 'sflow.flow_sample.dropped_packets'), '2');
    assert.equal(one(p, 'sflow_245.ethernet.source_mac_address'), '02:00:00:00:00:01');
    assert.equal(one(p, 'sflow_245.ipv4_dst'), '198.18.0.2');
    assert.equal(one(p, 'sflow_245.ipv6_dst'), '2001:db8::2');
  });
});

describe('sFlow v5 record layouts', () => {
  // Expected bytes built by hand from lib/sflow_receiver.c's put* sequence (XDR words).
  it('lays out the OVS-specific counter records as OVS does', () => {
    const sample: SflowCountersSample = {
      kind: 'counters',
      expanded: false,
      sequenceNumber: 1,
      sourceIdType: 2,
      sourceIdIndex: 0,
      records: [
        { type: 'openflow-port', datapathId: 0x0000_0a0b_0c0d_0e0fn, portNo: 3 },
        { type: 'port-name', name: 'p1' },
        {
          type: 'app-resources',
          userTime: 10,
          systemTime: 20,
          memUsed: 0x1_0000_0000n,
          memMax: 0n,
          fdOpen: 0,
          fdMax: 0,
          connOpen: 0,
          connMax: 0,
        },
        { type: 'ovs-dp', nHit: 1, nMissed: 2, nLost: 3, nMaskHit: 4, nFlows: 5, nMasks: 6 },
      ],
    };
    const w = new Writer(1024);
    encodeSflowDatagram(datagram([sample]), w);
    const body = hex(w.bytes()).slice(2 * 28); // after the 28-byte IPv4 datagram header
    const words = [
      '00000002', // counters_sample
      (sflowSampleSize(sample) - 8).toString(16).padStart(8, '0'),
      '00000001', // sequence
      '02000000', // source id: class 2, index 0
      '00000004', // records
      '000003ec',
      '0000000c',
      '00000a0b0c0d0e0f',
      '00000003',
      '000003ed',
      '00000008',
      '00000002',
      '70310000',
      '0000089b',
      '00000028',
      '0000000a',
      '00000014',
      '0000000100000000',
      '0000000000000000',
      '00000000',
      '00000000',
      '00000000',
      '00000000',
      '0000089f',
      '00000018',
      '00000001',
      '00000002',
      '00000003',
      '00000004',
      '00000005',
      '00000006',
    ];
    assert.equal(body, words.join(''));
    assert.deepEqual(decodeSflowDatagram(w.bytes()), datagram([sample]));
  });

  it('writes the LACP port state as four octets in actor-admin, actor-oper, partner-admin, partner-oper order', () => {
    const b = encodeToBytes(
      encodeSflowDatagram,
      datagram([
        {
          kind: 'counters',
          expanded: false,
          sequenceNumber: 1,
          sourceIdType: 0,
          sourceIdIndex: 1,
          records: [lacp],
        },
      ]),
    );
    // header 28 + sample header 20 + record tag/len 8 + two padded MACs 16 + agg id 4
    assert.equal(hex(b.subarray(76, 80)), '053d003f');
  });

  it('pads sampled headers to a multiple of four with zeros', () => {
    const s = ovsFlowSample(1, ARP.subarray(0, 42));
    const b = encodeToBytes(encodeSflowDatagram, datagram([s]));
    assert.equal(b.length % 4, 0);
    assert.equal(hex(b.subarray(b.length - 2)), '0000');
    assert.equal(sflowSampleSize(s), 8 + 32 + 8 + 16 + 8 + 16 + 44);
  });
});

describe('sFlow v5 decode errors', () => {
  const good = encodeToBytes(encodeSflowDatagram, datagram([ovsFlowSample(1, ARP)]));

  it('reports truncation with the offset where data ran out', () => {
    for (const cut of [3, 20, 40, good.length - 1]) {
      const e = decodeSflowDatagram(good.subarray(0, cut));
      assert.ok(e instanceof DecodeError, `cut at ${cut}`);
      assert.ok(e.offset <= cut && e.offset >= 0, `offset ${e.offset} for cut ${cut}`);
    }
  });

  it('rejects other versions and unknown address types', () => {
    const v4 = good.slice();
    v4[3] = 4;
    const e1 = decodeSflowDatagram(v4);
    assert.ok(e1 instanceof DecodeError && /version 4/.test(e1.message) && e1.offset === 0);
    const badAddr = good.slice();
    badAddr[7] = 9;
    const e2 = decodeSflowDatagram(badAddr);
    assert.ok(e2 instanceof DecodeError && e2.offset === 4);
  });

  it('rejects a record whose length disagrees with its contents', () => {
    const b = good.slice();
    // first record (extended switch) length word sits after the 28+40 header bytes + tag
    assert.equal(hex(b.subarray(68, 76)), '000003e900000010');
    b[75] = 0x14;
    assert.ok(decodeSflowDatagram(b) instanceof DecodeError);
  });
});

describe('SflowDatagramBuilder', () => {
  it('batches samples like OVS: flushes before a sample would reach the 1400-byte limit', () => {
    const sent: Uint8Array[] = [];
    let now = 1000;
    const b = new SflowDatagramBuilder(
      agent,
      0,
      (d) => sent.push(d.slice()),
      () => now,
    );
    const frame = new Uint8Array(200).fill(0xab);
    frame.set(ARP.subarray(0, 14));
    const size = sflowSampleSize(ovsFlowSample(1, frame));
    assert.equal(size, 8 + 32 + 8 + 16 + 8 + 16 + 128);
    for (let i = 1; i <= 20; i++) assert.ok(b.add(ovsFlowSample(i, frame)));
    now = 2000;
    b.flush();
    const perDatagram = Math.floor((1400 - 28 - 1) / size);
    assert.equal(sent.length, Math.ceil(20 / perDatagram));
    let seq = 0;
    let total = 0;
    for (const [i, d] of sent.entries()) {
      assert.ok(d.length < 1400);
      const dec = decodeSflowDatagram(d);
      assert.ok(!(dec instanceof DecodeError));
      assert.equal(dec.sequenceNumber, i + 1);
      for (const s of dec.samples) {
        assert.equal(s.kind, 'flow');
        if (s.kind === 'flow') assert.equal(s.sequenceNumber, ++seq);
      }
      total += dec.samples.length;
    }
    assert.equal(total, 20);
    const last = decodeSflowDatagram(sent[sent.length - 1]);
    assert.ok(!(last instanceof DecodeError) && last.uptime === 2000);
  });

  it('refuses a sample larger than half a datagram and never sends an empty datagram', () => {
    const sent: Uint8Array[] = [];
    const b = new SflowDatagramBuilder(
      agent,
      0,
      (d) => sent.push(d.slice()),
      () => 0,
      200,
    );
    const s = ovsFlowSample(1, new Uint8Array(128));
    assert.equal(b.add(s), false);
    b.flush();
    assert.equal(sent.length, 0);
  });
});

// ---------------------------------------------------------------- property tests

const addr: fc.Arbitrary<SflowAddress> = fc.oneof(
  u32.map((ipv4) => ({ type: 'ipv4' as const, ipv4 })),
  bytes(16, 16).map((ipv6) => ({ type: 'ipv6' as const, ipv6 })),
);
const ipv4Info = fc.record({
  length: u32,
  protocol: u32,
  src: u32,
  dst: u32,
  srcPort: u32,
  dstPort: u32,
  tcpFlags: u32,
  tos: u32,
});
const flowRecord: fc.Arbitrary<SflowFlowRecord> = fc.oneof(
  fc.record({
    type: fc.constant('header' as const),
    protocol: u32,
    frameLength: u32,
    stripped: u32,
    header: bytes(0, 130),
  }),
  fc.record({
    type: fc.constant('ethernet' as const),
    length: u32,
    src: mac,
    dst: mac,
    ethType: u32,
  }),
  fc
    .tuple(
      fc.constantFrom(
        'ipv4' as const,
        'ipv4-tunnel-egress' as const,
        'ipv4-tunnel-ingress' as const,
      ),
      ipv4Info,
    )
    .map(([type, i]) => ({ type, ...i })),
  fc.record({
    type: fc.constant('ipv6' as const),
    length: u32,
    protocol: u32,
    src: bytes(16, 16),
    dst: bytes(16, 16),
    srcPort: u32,
    dstPort: u32,
    tcpFlags: u32,
    priority: u32,
  }),
  fc.record({
    type: fc.constant('switch' as const),
    srcVlan: u32,
    srcPriority: u32,
    dstVlan: u32,
    dstPriority: u32,
  }),
  fc.record({
    type: fc.constant('mpls' as const),
    nextHop: addr,
    inStack: fc.array(u32, { maxLength: 4 }),
    outStack: fc.array(u32, { maxLength: 4 }),
  }),
  fc.record({ type: fc.constantFrom('vni-egress' as const, 'vni-ingress' as const), vni: u32 }),
  fc.record({
    type: fc.constant('unknown' as const),
    tag: fc.integer({ min: 5000, max: 0xffffffff }),
    data: bytes(0, 8).map((b) => b.slice(0, b.length & ~3)),
  }),
);
const counterRecord: fc.Arbitrary<SflowCounterRecord> = fc.oneof(
  fc.record({
    type: fc.constant('generic' as const),
    ifIndex: u32,
    ifType: u32,
    ifSpeed: u64,
    ifDirection: u32,
    ifStatus: u32,
    ifInOctets: u64,
    ifInUcastPkts: u32,
    ifInMulticastPkts: u32,
    ifInBroadcastPkts: u32,
    ifInDiscards: u32,
    ifInErrors: u32,
    ifInUnknownProtos: u32,
    ifOutOctets: u64,
    ifOutUcastPkts: u32,
    ifOutMulticastPkts: u32,
    ifOutBroadcastPkts: u32,
    ifOutDiscards: u32,
    ifOutErrors: u32,
    ifPromiscuousMode: u32,
  }),
  fc.array(u32, { minLength: 13, maxLength: 13 }).map(
    (v) =>
      ({
        ...ethernet,
        ...Object.fromEntries(
          Object.keys(ethernet)
            .filter((k) => k !== 'type')
            .map((k, i) => [k, v[i]]),
        ),
      }) as SflowCounterRecord,
  ),
  fc.record({
    type: fc.constant('vlan' as const),
    vlanId: u32,
    octets: u64,
    ucastPkts: u32,
    multicastPkts: u32,
    broadcastPkts: u32,
    discards: u32,
  }),
  fc.record({
    type: fc.constant('lacp' as const),
    actorSystemId: mac,
    partnerSystemId: mac,
    attachedAggId: u32,
    actorAdminState: u8,
    actorOperState: u8,
    partnerAdminState: u8,
    partnerOperState: u8,
    lacpdusRx: u32,
    markerPdusRx: u32,
    markerResponsePdusRx: u32,
    unknownRx: u32,
    illegalRx: u32,
    lacpdusTx: u32,
    markerPdusTx: u32,
    markerResponsePdusTx: u32,
  }),
  fc.record({ type: fc.constant('openflow-port' as const), datapathId: u64, portNo: u32 }),
  fc.record({ type: fc.constant('port-name' as const), name: fc.string({ maxLength: 20 }) }),
  fc.record({
    type: fc.constant('app-resources' as const),
    userTime: u32,
    systemTime: u32,
    memUsed: u64,
    memMax: u64,
    fdOpen: u32,
    fdMax: u32,
    connOpen: u32,
    connMax: u32,
  }),
  fc.record({
    type: fc.constant('ovs-dp' as const),
    nHit: u32,
    nMissed: u32,
    nLost: u32,
    nMaskHit: u32,
    nFlows: u32,
    nMasks: u32,
  }),
);
const sample: fc.Arbitrary<SflowSample> = fc.oneof(
  fc.record({
    kind: fc.constant('flow' as const),
    expanded: fc.constant(false),
    sequenceNumber: u32,
    sourceIdType: u8,
    sourceIdIndex: fc.integer({ min: 0, max: 0xffffff }),
    samplingRate: u32,
    samplePool: u32,
    drops: u32,
    inputFormat: fc.constant(0),
    input: u32,
    outputFormat: fc.constant(0),
    output: u32,
    records: fc.array(flowRecord, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('flow' as const),
    expanded: fc.constant(true),
    sequenceNumber: u32,
    sourceIdType: u32,
    sourceIdIndex: u32,
    samplingRate: u32,
    samplePool: u32,
    drops: u32,
    inputFormat: u32,
    input: u32,
    outputFormat: u32,
    output: u32,
    records: fc.array(flowRecord, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('counters' as const),
    expanded: fc.boolean(),
    sequenceNumber: u32,
    sourceIdType: u8,
    sourceIdIndex: fc.integer({ min: 0, max: 0xffffff }),
    records: fc.array(counterRecord, { maxLength: 5 }),
  }),
);

describe('sFlow v5 properties', () => {
  it('decode(encode(x)) == x for any datagram', () => {
    fc.assert(
      fc.property(
        fc.record({
          agentAddress: addr,
          subAgentId: u32,
          sequenceNumber: u32,
          uptime: u32,
          samples: fc.array(sample, { maxLength: 4 }),
        }),
        (d) => {
          const b = encodeToBytes(encodeSflowDatagram, d);
          assert.deepEqual(decodeSflowDatagram(b), structuredClone(d));
          assert.equal(
            b.length,
            28 +
              (d.agentAddress.type === 'ipv6' ? 12 : 0) +
              d.samples.reduce((n, s) => n + sflowSampleSize(s), 0),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary or mutated input', () => {
    const base = encodeToBytes(encodeSflowDatagram, datagram([ovsFlowSample(1, ARP)]));
    fc.assert(
      fc.property(
        bytes(0, 200),
        fc.integer({ min: 0, max: base.length - 1 }),
        u8,
        (junk, at, v) => {
          decodeSflowDatagram(junk);
          const m = base.slice();
          m[at] = v;
          decodeSflowDatagram(m);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('sFlow v5 against pmacct sfacctd', () => {
  it('accounts the sampled packet and reads counter records after the OVS-specific ones', async () => {
    // An ICMP echo request, 98 bytes on the wire before the FCS.
    const icmp = fromHex(
      `020000000002 020000000001 0800 4500005400010000 4001 0000 c6120001 c6120002 0800f7ff00010001${'00'.repeat(56)}`,
    );
    const port: SflowCountersSample = {
      kind: 'counters',
      expanded: false,
      sequenceNumber: 1,
      sourceIdType: 0,
      sourceIdIndex: 1003,
      // OVS's order; sfacctd knows only ethernet and generic and must skip the others by length.
      records: [
        ethernet,
        { type: 'openflow-port', datapathId: 0x1234n, portNo: 3 },
        { type: 'port-name', name: 'p1x' },
        lacp,
        generic,
      ],
    };
    const global: SflowCountersSample = {
      kind: 'counters',
      expanded: false,
      sequenceNumber: 1,
      sourceIdType: 2,
      sourceIdIndex: 0,
      records: [
        {
          type: 'app-resources',
          userTime: 10,
          systemTime: 20,
          memUsed: 1n << 20n,
          memMax: 0n,
          fdOpen: 0,
          fdMax: 0,
          connOpen: 0,
          connMax: 0,
        },
        { type: 'ovs-dp', nHit: 1, nMissed: 2, nLost: 0, nMaskHit: 3, nFlows: 4, nMasks: 5 },
      ],
    };
    const d = encodeToBytes(encodeSflowDatagram, datagram([ovsFlowSample(1, icmp), port, global]));
    const run = await throughSfacctd(
      [d],
      'src_host, dst_host, in_iface, out_iface, vlan, src_mac, dst_mac, proto',
      1,
      7,
    );
    assert.equal(run.flows.length, 1, run.log);
    const f = run.flows[0];
    assert.equal(f.SRC_MAC, '02:00:00:00:00:01');
    assert.equal(f.DST_MAC, '02:00:00:00:00:02');
    assert.equal(f.VLAN, '10');
    assert.equal(f.IN_IFACE, '1003');
    assert.equal(f.OUT_IFACE, '1004');
    assert.equal(f.SRC_IP, '198.18.0.1');
    assert.equal(f.DST_IP, '198.18.0.2');
    assert.equal(f.PROTOCOL, 'icmp');
    assert.equal(f.PACKETS, '1');
    assert.equal(f.BYTES, '102'); // frame_length: 98 + the 4-byte FCS OVS adds back
    const types = run.counters.map((c) => c.sf_cnt_type ?? null);
    assert.deepEqual(types, [
      'sflow_cnt_ethernet',
      null,
      null,
      null,
      'sflow_cnt_generic',
      null,
      null,
    ]);
    const g = run.counters[4];
    assert.equal(g.ifIndex, 1003);
    assert.equal(g.ifSpeed, 10_000_000_000);
    assert.equal(g.ifInOctets, 0x1_0000_0001);
    assert.equal(g.ifOutUcastPkts, 11);
    assert.equal(run.counters[0].dot3StatsFrameTooLongs, 3);
  });
});
