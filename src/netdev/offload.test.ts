import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { finishOffload, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, l3Offset, OL_CSUM } from './offload.ts';

/* A deliberately naive checksum: 16-bit big-endian words, end-around carry at every step. */
function onesSum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
    if (s > 0xffff) s -= 0xffff;
  }
  return s;
}
const be16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const be32 = (v: number): number[] => [...be16(v >>> 16), ...be16(v & 0xffff)];

interface Spec {
  v6: boolean;
  udp: boolean;
  vlan: boolean;
  payload: number[];
  flags: number;
}

const SRC4 = [198, 18, 0, 1];
const DST4 = [198, 18, 0, 2];
const SRC6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1];
const DST6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 2];

/** A super-frame as the kernel hands it over: lengths of the whole, the L4 checksum field
 * holding only the pseudo-header sum (CHECKSUM_PARTIAL). */
function superFrame(s: Spec): { frame: Uint8Array; l4FromL3: number; csumOff: number } {
  const l2 = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  if (s.vlan) l2.push(0x81, 0x00, 0x00, 0x05);
  l2.push(...be16(s.v6 ? 0x86dd : 0x0800));
  const proto = s.udp ? 17 : 6;
  const l4h = s.udp ? 8 : 20;
  const l4len = l4h + s.payload.length;
  const l4 = s.udp
    ? [...be16(40000), ...be16(5201), ...be16(l4len), 0, 0]
    : [
        ...be16(40000),
        ...be16(5201),
        ...be32(0xfffff000),
        ...be32(7),
        0x50,
        s.flags,
        ...be16(512),
        0,
        0,
        0,
        0,
      ];
  let l3: number[];
  let pseudo: number[];
  if (s.v6) {
    l3 = [0x60, 0, 0, 0, ...be16(l4len), proto, 64, ...SRC6, ...DST6];
    pseudo = [...SRC6, ...DST6, ...be32(l4len), 0, 0, 0, proto];
  } else {
    l3 = [
      0x45,
      0,
      ...be16(20 + l4len),
      ...be16(0x1234),
      0x40,
      0,
      64,
      proto,
      0,
      0,
      ...SRC4,
      ...DST4,
    ];
    const c = ~onesSum(l3) & 0xffff;
    l3[10] = c >> 8;
    l3[11] = c & 255;
    pseudo = [...SRC4, ...DST4, 0, proto, ...be16(l4len)];
  }
  const csumOff = s.udp ? 6 : 16;
  const ps = onesSum(pseudo);
  l4[csumOff] = ps >> 8;
  l4[csumOff + 1] = ps & 255;
  return {
    frame: Uint8Array.from([...l2, ...l3, ...l4, ...s.payload]),
    l4FromL3: l3.length,
    csumOff,
  };
}

interface Seg {
  bytes: number[];
}

function run(s: Spec, mss: number): { segs: Seg[]; n: number } {
  const { frame, l4FromL3, csumOff } = superFrame(s);
  const gso = s.udp ? GSO_UDP_L4 : s.v6 ? GSO_TCPV6 : GSO_TCPV4;
  const ol0 = OL_CSUM | (gso << 8) | (mss << 16);
  const ol1 = l4FromL3 | (csumOff << 16);
  const segs: Seg[] = [];
  const n = finishOffload(frame, 0, frame.length, ol0 >>> 0, ol1, (b, o, l) => {
    segs.push({ bytes: [...b.subarray(o, o + l)] });
  });
  return { segs, n };
}

/** Checks one segment's headers and checksums with the naive sum; returns its payload. */
function checkSegment(seg: number[], s: Spec): { payload: number[]; seq: number; flags: number } {
  const l3 = s.vlan ? 18 : 14;
  const proto = s.udp ? 17 : 6;
  let l4: number;
  let pseudo: number[];
  if (s.v6) {
    l4 = l3 + 40;
    assert.equal((seg[l3 + 4] << 8) | seg[l3 + 5], seg.length - l4, 'IPv6 payload length');
    pseudo = [...seg.slice(l3 + 8, l3 + 40), ...be32(seg.length - l4), 0, 0, 0, proto];
  } else {
    l4 = l3 + 20;
    assert.equal((seg[l3 + 2] << 8) | seg[l3 + 3], seg.length - l3, 'IPv4 total length');
    assert.equal(onesSum(seg.slice(l3, l4)), 0xffff, 'IPv4 header checksum');
    pseudo = [...seg.slice(l3 + 12, l3 + 20), 0, proto, ...be16(seg.length - l4)];
  }
  assert.equal(onesSum([...pseudo, ...seg.slice(l4)]), 0xffff, 'L4 checksum');
  if (s.udp) {
    assert.equal((seg[l4 + 4] << 8) | seg[l4 + 5], seg.length - l4, 'UDP length');
    return { payload: seg.slice(l4 + 8), seq: 0, flags: 0 };
  }
  const seq = ((seg[l4 + 4] << 24) | (seg[l4 + 5] << 16) | (seg[l4 + 6] << 8) | seg[l4 + 7]) >>> 0;
  return { payload: seg.slice(l4 + 20), seq, flags: seg[l4 + 13] };
}

// Payload lengths up to 9000 (fast-check's arrays stay short by default): a pattern per seed.
const specArb = fc
  .record({
    v6: fc.boolean(),
    udp: fc.boolean(),
    vlan: fc.boolean(),
    length: fc.integer({ min: 1, max: 9000 }),
    seed: fc.integer({ min: 1, max: 255 }),
    flags: fc.constantFrom(0x10, 0x18, 0x19, 0x98),
  })
  .map(({ length, seed, ...rest }) => ({
    ...rest,
    payload: Array.from({ length }, (_, i) => (i * seed + (i >> 8)) & 255),
  }));

describe('finishOffload', () => {
  it('cuts a super-frame into segments of at most gso_size bytes whose payloads add up and whose checksums are valid', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: 64, max: 1460 }), (s, mss) => {
        const { segs, n } = run(s, mss);
        assert.equal(n, segs.length);
        assert.equal(segs.length, Math.ceil(s.payload.length / mss));
        const all: number[] = [];
        let expectSeq = 0xfffff000;
        segs.forEach((g, k) => {
          const r = checkSegment(g.bytes, s);
          assert.ok(r.payload.length <= mss, 'segment payload within gso_size');
          all.push(...r.payload);
          if (!s.udp) {
            assert.equal(r.seq, expectSeq >>> 0, 'sequence numbers follow the payload');
            expectSeq += r.payload.length;
            const last = k === segs.length - 1;
            assert.equal(r.flags & 0x09, last ? s.flags & 0x09 : 0, 'FIN/PSH on the last only');
            assert.equal(r.flags & 0x80, k === 0 ? s.flags & 0x80 : 0, 'CWR on the first only');
          }
        });
        assert.deepEqual(all, s.payload);
      }),
      { numRuns: 150 },
    );
  });

  it('completes the checksum of a partial-checksum frame in place when it fits one segment', () => {
    const s: Spec = { v6: false, udp: false, vlan: true, payload: [1, 2, 3, 4, 5], flags: 0x18 };
    const { segs } = run(s, 1460);
    assert.equal(segs.length, 1);
    checkSegment(segs[0].bytes, s);
  });

  it('passes an ordinary frame through and refuses what it cannot parse', () => {
    const f = Uint8Array.from([...Array(12).fill(2), 0x08, 0x06, ...Array(28).fill(0)]);
    let got = 0;
    assert.equal(
      finishOffload(f, 0, f.length, 0, 0, () => got++),
      1,
    );
    assert.equal(got, 1);
    assert.equal(
      finishOffload(f, 0, f.length, OL_CSUM | (GSO_TCPV4 << 8), 20 | (16 << 16), () => got++),
      0,
    );
    assert.equal(got, 1, 'an ARP frame with offload words is not emitted');
  });

  it('finds the L3 header after 802.1Q and 802.1ad tags', () => {
    const f = Uint8Array.from([...Array(12).fill(0), 0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x08, 0]);
    assert.equal(l3Offset(f, 0, f.length), 22);
  });
});
