import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, mac, u8, u16, u32 } from './arbitraries.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import {
  decodeSlowProtocolsFrame,
  decodeSlowProtocolsPdu,
  encodeSlowProtocolsFrame,
  encodeSlowProtocolsPdu,
  LACP_STATE,
  type LacpPdu,
  type MarkerPdu,
  type SlowProtocolsPdu,
} from './lacp.ts';
import { all, fromHex, hex, one, problems, tsharkFields } from './test-support.ts';

const SRC = '02:00:00:00:00:0a';
const pdu: LacpPdu = {
  subtype: 'lacp',
  actor: {
    systemPriority: 65534,
    systemId: 'aa:55:aa:55:00:01',
    key: 3,
    portPriority: 65535,
    portId: 12,
    state:
      LACP_STATE.activity |
      LACP_STATE.aggregation |
      LACP_STATE.synchronization |
      LACP_STATE.collecting |
      LACP_STATE.distributing,
  },
  partner: {
    systemPriority: 32768,
    systemId: 'aa:55:aa:55:00:02',
    key: 5,
    portPriority: 1,
    portId: 7,
    state: LACP_STATE.activity | LACP_STATE.timeout | LACP_STATE.defaulted,
  },
  collectorMaxDelay: 0,
};

const frame = (p: SlowProtocolsPdu): Uint8Array =>
  encodeToBytes((x: SlowProtocolsPdu, w: Writer) => encodeSlowProtocolsFrame(SRC, x, w), p);

describe('LACP PDU', () => {
  it('lays out the 110-byte PDU as lib/lacp.c (naive expected bytes)', () => {
    const b = frame(pdu);
    assert.equal(b.length, 124);
    const expected =
      '0180c2000002' +
      '02000000000a' +
      '8809' +
      '01' +
      '01' +
      '01' +
      '14' +
      'fffe' +
      'aa55aa550001' +
      '0003' +
      'ffff' +
      '000c' +
      '3d' +
      '000000' +
      '02' +
      '14' +
      '8000' +
      'aa55aa550002' +
      '0005' +
      '0001' +
      '0007' +
      '43' +
      '000000' +
      '03' +
      '10' +
      '0000' +
      '00'.repeat(12) +
      '0000' +
      '00'.repeat(50);
    assert.equal(hex(b), expected);
  });

  it('tshark decodes actor, partner and collector fields without errors', () => {
    const [p] = tsharkFields(
      [frame(pdu)],
      [
        'eth.dst',
        'slow.subtype',
        'lacp.version',
        'lacp.actor.sys_priority',
        'lacp.actor.sysid',
        'lacp.actor.key',
        'lacp.actor.port_priority',
        'lacp.actor.port',
        'lacp.actor.state',
        'lacp.actor.state.synchronization',
        'lacp.partner.sysid',
        'lacp.partner.key',
        'lacp.partner.port',
        'lacp.partner.state',
        'lacp.partner.state.defaulted',
        'lacp.collector.max_delay',
      ],
    );
    assert.deepEqual(problems(p), []);
    assert.equal(one(p, 'eth.dst'), '01:80:c2:00:00:02');
    assert.equal(one(p, 'slow.subtype'), '0x01');
    assert.equal(Number(one(p, 'lacp.version')), 1);
    assert.equal(one(p, 'lacp.actor.sys_priority'), '65534');
    assert.equal(one(p, 'lacp.actor.sysid'), 'aa:55:aa:55:00:01');
    assert.equal(one(p, 'lacp.actor.key'), '3');
    assert.equal(one(p, 'lacp.actor.port_priority'), '65535');
    assert.equal(one(p, 'lacp.actor.port'), '12');
    assert.equal(Number(one(p, 'lacp.actor.state')), 0x3d);
    assert.equal(one(p, 'lacp.actor.state.synchronization'), '1');
    assert.equal(one(p, 'lacp.partner.sysid'), 'aa:55:aa:55:00:02');
    assert.equal(one(p, 'lacp.partner.key'), '5');
    assert.equal(one(p, 'lacp.partner.port'), '7');
    assert.equal(Number(one(p, 'lacp.partner.state')), 0x43);
    assert.equal(one(p, 'lacp.partner.state.defaulted'), '1');
    assert.equal(one(p, 'lacp.collector.max_delay'), '0');
  });

  it('tshark decodes marker information and response PDUs', () => {
    const m: MarkerPdu = {
      subtype: 'marker',
      response: false,
      requesterPort: 4,
      requesterSystem: 'aa:55:aa:55:00:01',
      requesterTransactionId: 0x01020304,
    };
    const pkts = tsharkFields(
      [frame(m), frame({ ...m, response: true })],
      [
        'slow.subtype',
        'marker.tlvType',
        'marker.tlvLen',
        'marker.requesterPort',
        'marker.requesterSystem',
        'marker.requesterTransId',
      ],
    );
    for (const p of pkts) assert.deepEqual(problems(p), []);
    assert.equal(one(pkts[0], 'slow.subtype'), '0x02');
    // information (or response) TLV, then the terminator TLV
    assert.deepEqual(all(pkts[0], 'marker.tlvType').map(Number), [1, 0]);
    assert.deepEqual(all(pkts[1], 'marker.tlvType').map(Number), [2, 0]);
    assert.deepEqual(all(pkts[0], 'marker.tlvLen').map(Number), [16, 0]);
    assert.equal(one(pkts[0], 'marker.requesterPort'), '4');
    assert.equal(one(pkts[0], 'marker.requesterSystem'), 'aa:55:aa:55:00:01');
    assert.equal(Number(one(pkts[0], 'marker.requesterTransId')), 0x01020304);
  });

  it('decodes frames with padding and rejects what OVS rejects', () => {
    const b = new Uint8Array(128);
    b.set(frame(pdu));
    assert.deepEqual(decodeSlowProtocolsFrame(b), { dst: '01:80:c2:00:00:02', src: SRC, pdu });
    const bad = frame(pdu);
    bad[14 + 3] = 19; // actor length
    const e = decodeSlowProtocolsFrame(bad);
    assert.ok(e instanceof DecodeError && e.offset === 16);
    const short = decodeSlowProtocolsPdu(frame(pdu).subarray(14, 123));
    assert.ok(short instanceof DecodeError && short.offset === 0);
    const sub = frame(pdu).subarray(14);
    sub[0] = 9;
    assert.ok(decodeSlowProtocolsPdu(sub) instanceof DecodeError);
    assert.ok(
      decodeSlowProtocolsFrame(fromHex('0180c2000002020000000001080000')) instanceof DecodeError,
    );
  });

  it('decode(encode(x)) == x', () => {
    const info = fc.record({
      systemPriority: u16,
      systemId: mac,
      key: u16,
      portPriority: u16,
      portId: u16,
      state: u8,
    });
    const p: fc.Arbitrary<SlowProtocolsPdu> = fc.oneof(
      fc.record({
        subtype: fc.constant('lacp' as const),
        actor: info,
        partner: info,
        collectorMaxDelay: u16,
      }),
      fc.record({
        subtype: fc.constant('marker' as const),
        response: fc.boolean(),
        requesterPort: u16,
        requesterSystem: mac,
        requesterTransactionId: u32,
      }),
    );
    fc.assert(
      fc.property(p, (x) => {
        const w = new Writer(110);
        encodeSlowProtocolsPdu(x, w);
        assert.equal(w.pos, 110);
        assert.deepEqual(decodeSlowProtocolsPdu(w.bytes()), structuredClone(x));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(bytes(0, 130), (b) => void decodeSlowProtocolsFrame(b)),
      { numRuns: 300 },
    );
  });
});
