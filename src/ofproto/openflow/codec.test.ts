import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hex, unhex } from './bytes.ts';
import { decodeMessage, encodeErrorReply, encodeMessage } from './codec.ts';
import { FIXTURES } from './codec-fixtures.ts';
import { errorTriplet, OfpError } from './errors.ts';
import { OfpFramer } from './framer.ts';
import { helloFrame, negotiateVersion } from './hello.ts';

function ofpPrint(h: string): string {
  return execFileSync('ovs-ofctl', ['ofp-print', h], { stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trimEnd();
}

/* A deliberately naive header builder for malformed-input cases (not the code under test). */
function msg(version: number, type: number, body: string, xid = 1): string {
  const len = 8 + body.length / 2;
  return (
    version.toString(16).padStart(2, '0') +
    type.toString(16).padStart(2, '0') +
    len.toString(16).padStart(4, '0') +
    xid.toString(16).padStart(8, '0') +
    body
  );
}

function expectError(h: string, name: string): void {
  const r = decodeMessage(unhex(h));
  assert.equal(r.ok, false, `expected ${name} for ${h}`);
  if (!r.ok) assert.equal(r.error.error, name, r.error.message);
}

describe('message fixtures', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: encodes to the fixture bytes`, () => {
      assert.equal(hex(encodeMessage(f.frame)), f.hex);
    });
    it(`${f.name}: decodes back to the same message`, () => {
      const r = decodeMessage(unhex(f.hex));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.frame, f.frame);
    });
    it(`${f.name}: real ovs-ofctl ofp-print decodes it as expected`, () => {
      assert.equal(ofpPrint(f.hex), f.text);
    });
  }

  it('streams: any chunking of all fixtures yields the same messages', () => {
    const all = unhex(FIXTURES.map((f) => f.hex).join(''));
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }),
        (sizes) => {
          const fr = new OfpFramer();
          const got: string[] = [];
          let pos = 0;
          let i = 0;
          while (pos < all.length) {
            const n = sizes[i++ % sizes.length];
            for (const ev of fr.push(all.subarray(pos, pos + n))) {
              assert.equal(ev.kind, 'message');
              if (ev.kind === 'message') got.push(hex(ev.bytes));
            }
            pos += n;
          }
          assert.deepEqual(
            got,
            FIXTURES.map((f) => f.hex),
          );
          assert.equal(fr.pending, 0);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('malformed messages become the OfpError OVS sends', () => {
  it('a header length that disagrees with the bytes is OFPBRC_BAD_LEN', () => {
    expectError('0100000900000001', 'OFPBRC_BAD_LEN');
    expectError('01000008000000', 'OFPBRC_BAD_LEN');
  });
  it('an unknown message type is OFPBRC_BAD_TYPE', () => {
    expectError(msg(1, 99, ''), 'OFPBRC_BAD_TYPE');
    expectError(msg(4, 40, ''), 'OFPBRC_BAD_TYPE');
  });
  it('an unsupported version is OFPBRC_BAD_VERSION', () => {
    expectError(msg(9, 2, ''), 'OFPBRC_BAD_VERSION');
  });
  it('an unknown vendor or Nicira subtype is OFPBRC_BAD_VENDOR / OFPBRC_BAD_SUBTYPE', () => {
    expectError(msg(1, 4, '0000aaaa00000001'), 'OFPBRC_BAD_VENDOR');
    expectError(msg(1, 4, '0000232000000063'), 'OFPBRC_BAD_SUBTYPE');
  });
  it('a truncated features reply is OFPBRC_BAD_LEN', () => {
    expectError(msg(4, 6, '0000000000000001'), 'OFPBRC_BAD_LEN');
  });
  it('an unknown OF1.0 action type is OFPBAC_BAD_TYPE', () => {
    // OF1.0 packet-out: buffer, in_port, actions_len=8, action type 0x63 len 8.
    expectError(
      msg(1, 13, 'ffffffff' + 'fffd' + '0008' + '00630008' + '00000000'),
      'OFPBAC_BAD_TYPE',
    );
  });
  it('an action whose length is not a multiple of 8 is OFPBAC_BAD_LEN', () => {
    expectError(
      msg(1, 13, 'ffffffff' + 'fffd' + '0008' + '00000006' + '00010000'),
      'OFPBAC_BAD_LEN',
    );
  });
  it('an unknown Nicira action subtype is OFPBAC_BAD_VENDOR_TYPE', () => {
    expectError(
      msg(1, 13, 'ffffffff' + 'fffd' + '0010' + 'ffff0010' + '00002320' + '00fe' + '000000000000'),
      'OFPBAC_BAD_VENDOR_TYPE',
    );
  });
  it('OXM errors: unknown field, bad prerequisite, duplicate field, bad mask', () => {
    const fmHead =
      '0000000000000000' +
      '0000000000000000' +
      '0000' +
      '0000' +
      '0000' +
      '8000' +
      'ffffffff' +
      'ffffffff' +
      'ffffffff' +
      '0000' +
      '0000';
    // OXM_OF_IPV4_SRC without eth_type=0x800.
    expectError(msg(4, 14, `${fmHead}0001000c800016040a00000100000000`), 'OFPBMC_BAD_PREREQ');
    // eth_type twice.
    expectError(msg(4, 14, `${fmHead}0001001080000a02080080000a020800`), 'OFPBMC_DUP_FIELD');
    // class 0x8000 field 0x7f is not a field.
    expectError(msg(4, 14, `${fmHead}0001000a8000fe020000000000000000`), 'OFPBMC_BAD_FIELD');
    // eth_type is not maskable.
    expectError(msg(4, 14, `${fmHead}0001000c80000b0408000fff00000000`), 'OFPBMC_BAD_MASK');
    // A TLV longer than the match.
    expectError(msg(4, 14, `${fmHead}0001000880000a0200000000`), 'OFPBMC_BAD_LEN');
  });
  it('an unknown instruction is OFPBIC_UNKNOWN_INST', () => {
    const body =
      '0000000000000000' +
      '0000000000000000' +
      '0000' +
      '0000' +
      '0000' +
      '8000' +
      'ffffffff' +
      'ffffffff' +
      'ffffffff' +
      '0000' +
      '0000' +
      '0001000400000000' +
      '00630008' +
      '00000000';
    expectError(msg(4, 14, body), 'OFPBIC_UNKNOWN_INST');
  });
  it('every truncation of every fixture decodes to an error or a message, never a throw', () => {
    for (const f of FIXTURES) {
      const b = unhex(f.hex);
      for (let n = 8; n < b.length; n++) {
        const t = b.slice(0, n);
        t[2] = n >> 8;
        t[3] = n & 0xff;
        const r = decodeMessage(t);
        if (!r.ok) assert.ok(r.error instanceof OfpError);
      }
    }
  });
  it('random bodies never make the decoder throw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ maxLength: 200 }),
        (v, t, body) => {
          const b = new Uint8Array(8 + body.length);
          b.set([v, t, (8 + body.length) >> 8, (8 + body.length) & 0xff, 0, 0, 0, 1]);
          b.set(body, 8);
          const r = decodeMessage(b);
          if (!r.ok) assert.ok(r.error instanceof OfpError);
        },
      ),
      { numRuns: 3000 },
    );
  });
  it('bit flips and byte changes in valid messages never make the decoder throw', () => {
    const all = FIXTURES.map((f) => unhex(f.hex));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (i, edits) => {
          const b = all[i].slice();
          for (const [pos, v] of edits) {
            const at = 8 + (pos % Math.max(1, b.length - 8));
            if (at < b.length) b[at] = v;
          }
          const r = decodeMessage(b);
          if (!r.ok) assert.ok(r.error instanceof OfpError);
        },
      ),
      { numRuns: 5000 },
    );
  });
  it('a length below 8 stops the framer with a fatal event', () => {
    const fr = new OfpFramer();
    const ev = fr.push(unhex('0100000400000001'));
    assert.equal(ev.length, 1);
    assert.equal(ev[0].kind, 'fatal');
    assert.deepEqual(fr.push(unhex('0100000800000001')), []);
  });
});

describe('error messages', () => {
  it('places errors per version as OVS does', () => {
    assert.deepEqual(errorTriplet('OFPBRC_BAD_LEN', 1), { vendor: 0, type: 1, code: 6 });
    assert.deepEqual(errorTriplet('OFPFMFC_OVERLAP', 1), { vendor: 0, type: 3, code: 1 });
    assert.deepEqual(errorTriplet('OFPFMFC_OVERLAP', 4), { vendor: 0, type: 5, code: 3 });
    assert.deepEqual(errorTriplet('OFPBFC_BAD_ID', 4), { vendor: 0x4f4e4600, type: 2302, code: 0 });
    assert.deepEqual(errorTriplet('OFPBFC_BAD_ID', 5), { vendor: 0, type: 17, code: 2 });
    // No OF1.0 position: sent as NXBRC_UNENCODABLE_ERROR.
    assert.deepEqual(errorTriplet('OFPMMFC_BAD_RATE', 1), { vendor: 0x2320, type: 1, code: 521 });
  });
  it('an error reply carries the request head and real OVS names it', () => {
    const req = unhex(msg(1, 99, '00'.repeat(80)));
    const rep = encodeErrorReply(new OfpError('OFPBRC_BAD_TYPE'), req, 1, 1);
    assert.equal(rep.length, 8 + 4 + 64);
    assert.match(ofpPrint(hex(rep)), /^OFPT_ERROR \(xid=0x1\): OFPBRC_BAD_TYPE/);
    for (const [v, name] of [
      [4, 'OFPBMC_BAD_PREREQ'],
      [4, 'OFPBFC_MSG_UNSUP'],
      [5, 'OFPBFC_MSG_UNSUP'],
      [1, 'NXBRC_NXM_INVALID'],
      [6, 'OFPBAC_BAD_SET_MASK'],
    ] as const) {
      const e = encodeErrorReply(new OfpError(name), new Uint8Array(0), v, 2);
      assert.match(ofpPrint(hex(e)), new RegExp(`: ${name}$`, 'm'), `${name} in version ${v}`);
    }
  });
});

describe('version negotiation', () => {
  it('picks the highest common version from bitmaps', () => {
    const peer = decodeMessage(encodeMessage(helloFrame([1, 4, 6])));
    assert.ok(peer.ok);
    assert.equal(negotiateVersion([1, 2, 3, 4, 5], peer.frame), 4);
  });
  it('without a bitmap the peer supports every version up to its header version', () => {
    const peer = decodeMessage(unhex('0300000800000001'));
    assert.ok(peer.ok);
    assert.equal(negotiateVersion([1, 4], peer.frame), 1);
  });
  it('no common version is OFPHFC_INCOMPATIBLE', () => {
    const peer = decodeMessage(encodeMessage(helloFrame([1])));
    assert.ok(peer.ok);
    assert.throws(
      () => negotiateVersion([4, 5], peer.frame),
      (e: unknown) => {
        return e instanceof OfpError && e.error === 'OFPHFC_INCOMPATIBLE';
      },
    );
  });
  it('sends a bitmap only when the set is not 1.0..max, as OVS', () => {
    assert.equal(hex(encodeMessage(helloFrame([1, 2, 3, 4]))), '0400000800000000');
    assert.equal(hex(encodeMessage(helloFrame([4]))), '04000010000000000001000800000010');
  });
});
