import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Classifier } from '../../lib/classifier/classifier.ts';
import { cloneMatch, isMaskShared, type Match } from '../../lib/flow/match.ts';
import { parseMatch } from '../../lib/flow/match-parse.ts';
import { hex, Writer } from './bytes.ts';
import { putMatchRaw } from './match-nxm.ts';

/*
 * matchFields() caches its field list per shared (classifier) mask and key shape. The cache
 * must never change an encoding: rules that share a mask but differ in dl_type, nw_proto or
 * VLAN presence encode exactly as an unshared copy of the same match does.
 */

const parse = (s: string): Match => {
  const r = parseMatch(s);
  if (!r.ok) throw new Error(`${s}: ${r.error}`);
  return r.match;
};

function encode(m: Match, oxm: boolean, version: number): string {
  const w = new Writer();
  putMatchRaw(w, m, { oxm, version });
  return hex(w.finish());
}

/* Shapes whose masks coincide (dl_type plus one word) while the key shape differs. */
const SHAPES: Array<(a: number, b: number) => string> = [
  (a, b) => `ip,nw_dst=198.18.${a & 0xff}.${b & 0xff}`,
  (a, b) => `arp,arp_tpa=198.18.${a & 0xff}.${b & 0xff}`,
  (a) => `tcp,tp_dst=${a & 0xffff}`,
  (a) => `udp,tp_dst=${a & 0xffff}`,
  (a) => `sctp,tp_dst=${a & 0xffff}`,
  (a) => `tcp6,tp_dst=${a & 0xffff}`,
  (a, b) => `icmp,icmp_type=${a & 0xff},icmp_code=${b & 0xff}`,
  (a) => `dl_vlan=${a & 0xfff || 1},dl_vlan_pcp=${a & 7}`,
  (a) => `vlan_tci=0x${(a & 0xffff).toString(16)}/0xffff`,
  (a, b) => `in_port=${(a % 100) + 1},dl_dst=02:00:00:00:${(b & 0xff).toString(16)}:01`,
  (a, b) => `ipv6,ipv6_dst=2001:db8::${(a & 0xffff).toString(16)},nw_proto=${b & 0xff}`,
  (a) => `mpls,mpls_label=${a & 0xfffff}`,
  (a, b) => `reg3=${a >>> 0},metadata=0x${(b >>> 0).toString(16)}`,
];

test('a dump encodes rules under shared masks exactly as unshared copies', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: SHAPES.length - 1 }), fc.nat(), fc.nat()), {
        minLength: 1,
        maxLength: 40,
      }),
      (specs) => {
        const cls = new Classifier<number>();
        const stored: Match[] = [];
        specs.forEach(([s, a, b], i) => {
          stored.push(cls.replace(parse(SHAPES[s](a, b)), 100 + i, i).rule.match);
        });
        for (const m of stored) {
          assert.equal(isMaskShared(m.mask), true);
          const copy = cloneMatch(m);
          for (const [oxm, version] of [
            [false, 1],
            [true, 4],
            [true, 6],
          ] as const) {
            // Twice: the second encoding is served from the cache.
            assert.equal(encode(m, oxm, version), encode(copy, oxm, version));
            assert.equal(encode(m, oxm, version), encode(copy, oxm, version));
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('in_port as OXM is written as an OpenFlow 1.1+ 32-bit port', () => {
  // OXM_OF_IN_PORT (class 0x8000, field 0, length 4); LOCAL is 0xfffffffe in OF1.1+.
  assert.equal(encode(parse('in_port=LOCAL'), true, 4), '80000004fffffffe');
  assert.equal(encode(parse('in_port=7'), true, 4), '8000000400000007');
  // NXM_OF_IN_PORT: 16 bits.
  assert.equal(encode(parse('in_port=7'), false, 1), '000000020007');
});
