import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, u8, u16, u32, u64 } from './arbitraries.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import {
  BPDU_FLAG,
  type Bpdu,
  decodeBpdu,
  decodeStpFrame,
  encodeBpdu,
  encodeStpFrame,
  makeBridgeId,
  msToStpTimer,
  ROLE_SHIFT,
  RSTP_ROLE,
  splitBridgeId,
  stpTimerToMs,
} from './stp.ts';
import { hex, one, problems, tsharkFields } from './test-support.ts';

const SRC = '02:00:00:00:00:0b';
const root = makeBridgeId(0x8000, '02:00:00:00:00:01');
const bridge = makeBridgeId(0x9000 | 7, '02:00:00:00:00:02');

const config: Bpdu = {
  type: 'config',
  protocolVersion: 0,
  flags: BPDU_FLAG.topologyChange | BPDU_FLAG.topologyChangeAck,
  rootId: root,
  rootPathCost: 19,
  bridgeId: bridge,
  portId: 0x8002,
  messageAge: msToStpTimer(1000),
  maxAge: msToStpTimer(20000),
  helloTime: msToStpTimer(2000),
  forwardDelay: msToStpTimer(15000),
};
const rst: Bpdu = {
  ...config,
  type: 'rst',
  protocolVersion: 2,
  flags:
    (RSTP_ROLE.designated << ROLE_SHIFT) |
    BPDU_FLAG.proposal |
    BPDU_FLAG.learning |
    BPDU_FLAG.forwarding |
    BPDU_FLAG.agreement,
  version1Length: 0,
};
const tcn: Bpdu = { type: 'tcn', protocolVersion: 0 };

function frame(b: Bpdu, minLength = 0): Uint8Array {
  return encodeToBytes((x: Bpdu, w: Writer) => encodeStpFrame(SRC, x, w, minLength), b);
}

describe('STP/RSTP BPDUs', () => {
  it('frames a config BPDU as lib/stp.c does (naive expected bytes)', () => {
    assert.equal(
      hex(frame(config)),
      '0180c2000000' +
        '02000000000b' +
        '0026' +
        '424203' +
        '0000' +
        '00' +
        '00' +
        '81' +
        '8000020000000001' +
        '00000013' +
        '9007020000000002' +
        '8002' +
        '0100' +
        '1400' +
        '0200' +
        '0f00',
    );
    assert.equal(hex(frame(tcn)), '0180c2000000' + '02000000000b' + '0007' + '424203' + '00000080');
  });

  it('uses OVS timer conversions (256 ticks per second, truncating)', () => {
    assert.equal(msToStpTimer(2000), 512);
    assert.equal(msToStpTimer(1), 0);
    assert.equal(stpTimerToMs(msToStpTimer(15000)), 15000);
    assert.equal(stpTimerToMs(1), 3);
    assert.deepEqual(splitBridgeId(bridge), { priority: 0x9007, mac: '02:00:00:00:00:02' });
  });

  it('tshark decodes config, TCN and RST BPDUs without errors', () => {
    const pkts = tsharkFields(
      [frame(config), frame(tcn), frame(rst), frame(tcn, 36)],
      [
        'llc.dsap',
        'stp.protocol',
        'stp.version',
        'stp.type',
        'stp.flags.tc',
        'stp.flags.tcack',
        'stp.flags.port_role',
        'stp.flags.proposal',
        'stp.flags.agreement',
        'stp.flags.learning',
        'stp.flags.forwarding',
        'stp.root.prio',
        'stp.root.hw',
        'stp.root.cost',
        'stp.bridge.prio',
        'stp.bridge.ext',
        'stp.bridge.hw',
        'stp.port',
        'stp.msg_age',
        'stp.max_age',
        'stp.hello',
        'stp.forward',
        'stp.version_1_length',
      ],
    );
    for (const p of pkts) assert.deepEqual(problems(p), []);
    const [c, t, r, t36] = pkts;
    assert.equal(Number(one(c, 'llc.dsap')), 0x42);
    assert.equal(one(c, 'stp.version'), '0');
    assert.equal(Number(one(c, 'stp.type')), 0);
    assert.equal(one(c, 'stp.flags.tc'), '1');
    assert.equal(one(c, 'stp.flags.tcack'), '1');
    assert.equal(one(c, 'stp.root.prio'), '32768');
    assert.equal(one(c, 'stp.root.hw'), '02:00:00:00:00:01');
    assert.equal(one(c, 'stp.root.cost'), '19');
    assert.equal(one(c, 'stp.bridge.prio'), String(0x9000));
    assert.equal(one(c, 'stp.bridge.ext'), '7');
    assert.equal(one(c, 'stp.bridge.hw'), '02:00:00:00:00:02');
    assert.equal(Number(one(c, 'stp.port')), 0x8002);
    assert.equal(one(c, 'stp.msg_age'), '1');
    assert.equal(one(c, 'stp.max_age'), '20');
    assert.equal(one(c, 'stp.hello'), '2');
    assert.equal(one(c, 'stp.forward'), '15');
    assert.equal(Number(one(t, 'stp.type')), 0x80);
    assert.equal(Number(one(t36, 'stp.type')), 0x80);
    assert.equal(one(r, 'stp.version'), '2');
    assert.equal(Number(one(r, 'stp.type')), 2);
    assert.equal(Number(one(r, 'stp.flags.port_role')), 3);
    assert.equal(one(r, 'stp.flags.proposal'), '1');
    assert.equal(one(r, 'stp.flags.agreement'), '1');
    assert.equal(one(r, 'stp.flags.learning'), '1');
    assert.equal(one(r, 'stp.flags.forwarding'), '1');
    assert.equal(one(r, 'stp.flags.tc'), '0');
    assert.equal(one(r, 'stp.version_1_length'), '0');
  });

  it('decodes frames by their 802.3 length, ignoring Ethernet padding', () => {
    const padded = encodeToBytes((x: Bpdu, w: Writer) => encodeStpFrame(SRC, x, w, 0, true), tcn);
    assert.equal(padded.length, 60);
    assert.deepEqual(decodeStpFrame(padded), { dst: '01:80:c2:00:00:00', src: SRC, bpdu: tcn });
    assert.deepEqual(decodeStpFrame(frame(rst)), { dst: '01:80:c2:00:00:00', src: SRC, bpdu: rst });
  });

  it('rejects foreign protocol ids, short BPDUs, bad LLC and unknown types with offsets', () => {
    const f = frame(config);
    const pid = f.slice();
    pid[18] = 1;
    const e1 = decodeStpFrame(pid);
    assert.ok(e1 instanceof DecodeError && e1.offset === 17);
    const e2 = decodeStpFrame(f.subarray(0, 40));
    assert.ok(e2 instanceof DecodeError && e2.offset === 14);
    const llc = f.slice();
    llc[16] = 0x04;
    const e3 = decodeStpFrame(llc);
    assert.ok(e3 instanceof DecodeError && e3.offset === 14);
    const ty = f.slice();
    ty[20] = 0x55;
    const e4 = decodeStpFrame(ty);
    assert.ok(e4 instanceof DecodeError && e4.offset === 20);
    const w = new Writer(40);
    encodeBpdu(rst, w);
    const v0 = w.bytes().slice();
    v0[2] = 0;
    assert.ok(decodeBpdu(v0) instanceof DecodeError);
  });

  it('decode(encode(x)) == x', () => {
    const vector = {
      flags: u8,
      rootId: u64,
      rootPathCost: u32,
      bridgeId: u64,
      portId: u16,
      messageAge: u16,
      maxAge: u16,
      helloTime: u16,
      forwardDelay: u16,
    };
    const bpdu: fc.Arbitrary<Bpdu> = fc.oneof(
      fc.record({ type: fc.constant('config' as const), protocolVersion: u8, ...vector }),
      fc.record({ type: fc.constant('tcn' as const), protocolVersion: u8 }),
      fc.record({
        type: fc.constant('rst' as const),
        protocolVersion: fc.integer({ min: 2, max: 255 }),
        version1Length: u8,
        ...vector,
      }),
    );
    fc.assert(
      fc.property(bpdu, fc.constantFrom(0, 36), (b, min) => {
        assert.deepEqual(
          decodeStpFrame(frame(b, min)),
          structuredClone({ dst: '01:80:c2:00:00:00', src: SRC, bpdu: b }),
        );
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(bytes(0, 70), (b) => void decodeStpFrame(b)),
      { numRuns: 300 },
    );
  });
});
