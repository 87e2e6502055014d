import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, mac, u16, u32, u64 } from './arbitraries.ts';
import {
  CCM_DST_MAC,
  CCM_DST_MAC_EXTENDED,
  type Ccm,
  type CcmFrame,
  decodeCcm,
  decodeCcmFrame,
  encodeCcm,
  encodeCcmFrame,
  ovsMaid,
} from './cfm.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import { all, hex, one, problems, tsharkFields } from './test-support.ts';

const SRC = '02:00:00:00:00:0c';

/** A CCM as cfm_compose_ccm builds it in standard mode, 1 s interval, after boot without peers. */
const standard: Ccm = {
  mdLevel: 0,
  version: 0,
  rdi: true,
  interval: 4,
  reservedFlags: 0,
  sequence: 17,
  mepId: 5,
  maid: ovsMaid(),
  intervalMsX: 0,
  mpid64: 0n,
  opdown: false,
  tlvs: [],
  endTlv: true,
};
/** Extended mode: interval code 0 with the interval in ms, 64-bit MPID, opdown. */
const extended: Ccm = {
  ...standard,
  rdi: false,
  interval: 0,
  mepId: 0xbeef,
  intervalMsX: 500,
  mpid64: 0x1_0000_0005n,
  opdown: true,
};

type FrameHead = Omit<CcmFrame, 'ccm'>;
const frame = (head: FrameHead, c: Ccm): Uint8Array =>
  encodeToBytes((x: Ccm, w: Writer) => encodeCcmFrame(head, x, w), c);
const std: FrameHead = { dst: CCM_DST_MAC, src: SRC, vlan: null };

describe('CFM CCM', () => {
  it('composes the 75-byte CCM as lib/cfm.c (naive expected bytes)', () => {
    const w = new Writer(100);
    encodeCcm(standard, w);
    assert.equal(w.pos, 75);
    const maid = ['04036f7673', '02036f7673', '00'.repeat(38)].join('');
    assert.equal(
      hex(w.bytes()),
      '00' +
        '01' +
        '84' +
        '46' +
        '00000011' +
        '0005' +
        maid +
        '0000' +
        '0000000000000000' +
        '00' +
        '0000000000' +
        '00',
    );
    const x = new Writer(100);
    encodeCcm(extended, x);
    assert.equal(
      hex(x.bytes().subarray(58, 75)),
      '01f4' + '0000000100000005' + '01' + '0000000000' + '00',
    );
  });

  it('tshark decodes standard, extended and VLAN-tagged CCMs without errors', () => {
    const pkts = tsharkFields(
      [
        frame(std, standard),
        frame({ dst: CCM_DST_MAC_EXTENDED, src: SRC, vlan: null }, extended),
        frame({ ...std, vlan: { vid: 100, pcp: 7 } }, { ...standard, mdLevel: 3, sequence: 18 }),
      ],
      [
        'eth.type',
        'vlan.id',
        'vlan.priority',
        'cfm.md.level',
        'cfm.version',
        'cfm.opcode',
        'cfm.flags.rdi',
        'cfm.flags.interval',
        'cfm.first.tlv.offset',
        'cfm.ccm.seq.num',
        'cfm.ccm.ma.ep.id',
        'cfm.maid.md.name.format',
        'cfm.maid.md.name.string',
        'cfm.maid.ma.name.format',
        'cfm.maid.ma.name.string',
        'cfm.tlv.type',
      ],
    );
    for (const p of pkts) assert.deepEqual(problems(p), []);
    const [s, x, v] = pkts;
    assert.equal(Number(one(s, 'eth.type')), 0x8902);
    assert.equal(one(s, 'cfm.md.level'), '0');
    assert.equal(one(s, 'cfm.version'), '0');
    assert.equal(one(s, 'cfm.opcode'), '1');
    assert.equal(one(s, 'cfm.flags.rdi'), '1');
    assert.equal(one(s, 'cfm.flags.interval'), '4');
    assert.equal(one(s, 'cfm.first.tlv.offset'), '70');
    assert.equal(one(s, 'cfm.ccm.seq.num'), '17');
    assert.equal(one(s, 'cfm.ccm.ma.ep.id'), '5');
    assert.equal(one(s, 'cfm.maid.md.name.format'), '4');
    assert.equal(one(s, 'cfm.maid.md.name.string'), 'ovs');
    assert.equal(one(s, 'cfm.maid.ma.name.format'), '2');
    assert.equal(one(s, 'cfm.maid.ma.name.string'), 'ovs');
    assert.deepEqual(all(s, 'cfm.tlv.type'), ['0']);
    assert.equal(one(x, 'cfm.flags.rdi'), '0');
    assert.equal(one(x, 'cfm.flags.interval'), '0');
    // 802.1ag's MEP id is 13 bits; OVS's extended mode fills all 16 with a hash of the MPID.
    assert.equal(one(x, 'cfm.ccm.ma.ep.id'), String(0xbeef & 0x1fff));
    assert.equal(one(v, 'vlan.id'), '100');
    assert.equal(one(v, 'vlan.priority'), '7');
    assert.equal(one(v, 'cfm.md.level'), '3');
    assert.equal(one(v, 'cfm.ccm.seq.num'), '18');
  });

  it('decodes frames, VLAN tags, TLVs and the 74-byte CCM of older OVS', () => {
    const head: FrameHead = { dst: CCM_DST_MAC, src: SRC, vlan: { vid: 5, pcp: 1 } };
    const withTlv: Ccm = { ...standard, tlvs: [{ type: 2, value: new Uint8Array([1]) }] };
    assert.deepEqual(decodeCcmFrame(frame(head, withTlv)), { ...head, ccm: withTlv });
    const w = new Writer(100);
    encodeCcm(standard, w);
    assert.deepEqual(decodeCcm(w.bytes().subarray(0, 74)), { ...standard, endTlv: false });
  });

  it('rejects other opcodes, short CCMs and foreign TLV offsets with offsets', () => {
    const w = new Writer(100);
    encodeCcm(standard, w);
    const b = w.bytes();
    const lbm = b.slice();
    lbm[1] = 3;
    const e1 = decodeCcm(lbm);
    assert.ok(e1 instanceof DecodeError && e1.offset === 1);
    const e2 = decodeCcm(b.subarray(0, 73));
    assert.ok(e2 instanceof DecodeError && e2.offset === 0);
    const off = b.slice();
    off[3] = 4;
    const e3 = decodeCcm(off);
    assert.ok(e3 instanceof DecodeError && e3.offset === 3);
    const notCfm = frame(std, standard);
    notCfm[13] = 0x00;
    const e4 = decodeCcmFrame(notCfm);
    assert.ok(e4 instanceof DecodeError && e4.offset === 12);
  });

  it('decode(encode(x)) == x', () => {
    const ccm: fc.Arbitrary<Ccm> = fc.record({
      mdLevel: fc.integer({ min: 0, max: 7 }),
      version: fc.integer({ min: 0, max: 31 }),
      rdi: fc.boolean(),
      interval: fc.integer({ min: 0, max: 7 }),
      reservedFlags: fc.integer({ min: 0, max: 15 }),
      sequence: u32,
      mepId: u16,
      maid: bytes(48, 48),
      intervalMsX: u16,
      mpid64: u64,
      opdown: fc.boolean(),
      tlvs: fc.array(fc.record({ type: fc.integer({ min: 1, max: 255 }), value: bytes(0, 20) }), {
        maxLength: 3,
      }),
      endTlv: fc.boolean(),
    });
    const head = fc.record({
      dst: mac,
      src: mac,
      vlan: fc.option(
        fc.record({ vid: fc.integer({ min: 0, max: 4095 }), pcp: fc.integer({ min: 0, max: 7 }) }),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(head, ccm, (h, c) => {
        assert.deepEqual(decodeCcmFrame(frame(h, c)), structuredClone({ ...h, ccm: c }));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(bytes(0, 100), (b) => void decodeCcmFrame(b)),
      { numRuns: 300 },
    );
  });
});
