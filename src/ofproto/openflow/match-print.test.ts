import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { W_DL_TYPE, W_IN_PORT, W_NW, W_NW_SRC, W_TP, W_VLAN0 } from '../../lib/flow/layout.ts';
import { matchEquals, newMatch } from '../../lib/flow/match.ts';
import { Reader, Writer } from './bytes.ts';
import { normalizeMatch } from './match-normalize.ts';
import { OFP11_MATCH_LEN, pullOf11Match, putOf11Match } from './match-of11.ts';
import { nxMatchToString, ofp10MatchToString, oxmMatchToString } from './match-print.ts';
import { NxMatchSyntaxError, nxMatchFromString } from './nx-match-parse.ts';

/* Expected texts: what real ovs-ofctl 3.1's parse-nxm / ofp-print print for these entries. */
describe('raw NXM/OXM text', () => {
  it('prints entries with names, masks and the cookie pseudo-field', () => {
    const b = Uint8Array.from([
      0x00,
      0x00,
      0x06,
      0x02,
      0x08,
      0x00, // NXM_OF_ETH_TYPE(0800)
      0x00,
      0x00,
      0x0f,
      0x08,
      0xc6,
      0x12,
      0x00,
      0x00,
      0xff,
      0xfe,
      0x00,
      0x00, // IP_SRC_W
      0x00,
      0x01,
      0x3c,
      0x01,
      0x05, // NXM_NX_MPLS_TTL(05): same number as the cookie
      0x00,
      0x01,
      0x3c,
      0x08,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // NXM_NX_COOKIE
    ]);
    assert.equal(
      nxMatchToString(b),
      'NXM_OF_ETH_TYPE(0800), NXM_OF_IP_SRC_W(c6120000/fffe0000), NXM_NX_MPLS_TTL(05), NXM_NX_COOKIE(0102030405060708)',
    );
    assert.equal(nxMatchToString(new Uint8Array(0)), '<any>');
  });

  it('ends with the bytes it cannot read', () => {
    // A value with bits outside its mask is inconsistent: OVS stops there.
    const b = Uint8Array.from([
      0x00, 0x00, 0x06, 0x02, 0x08, 0x00, 0x00, 0x00, 0x0f, 0x08, 1, 1, 1, 1, 0, 0, 0, 0,
    ]);
    assert.equal(nxMatchToString(b), 'NXM_OF_ETH_TYPE(0800), <12 invalid bytes>');
    assert.equal(oxmMatchToString(Uint8Array.from([0, 2, 0, 4])), '<bad match type field 2>');
  });

  it('parses what it prints (round trip over random entries of known fields)', () => {
    const names = [
      'NXM_OF_ETH_TYPE',
      'NXM_OF_IP_SRC_W',
      'NXM_NX_REG0_W',
      'OXM_OF_VLAN_VID',
      'NXM_NX_IPV6_DST_W',
    ];
    const width: Record<string, number> = {
      NXM_OF_ETH_TYPE: 2,
      NXM_OF_IP_SRC_W: 4,
      NXM_NX_REG0_W: 4,
      OXM_OF_VLAN_VID: 2,
      NXM_NX_IPV6_DST_W: 16,
    };
    const entry = fc
      .constantFrom(...names)
      .chain((n) =>
        fc.tuple(
          fc.constant(n),
          fc.uint8Array({ minLength: width[n], maxLength: width[n] }),
          fc.uint8Array({ minLength: width[n], maxLength: width[n] }),
        ),
      );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
        const text = entries
          .map(([n, v, m]) => {
            if (!n.endsWith('_W')) return `${n}(${hex(v)})`;
            const vm = v.map((x, i) => x & m[i]); // consistent: no value bit outside the mask
            return `${n}(${hex(vm)}/${hex(m)})`;
          })
          .join(', ');
        assert.equal(nxMatchToString(nxMatchFromString(text)), text || '<any>');
      }),
    );
  });

  it('refuses text it cannot read, in OVS words', () => {
    assert.throws(
      () => nxMatchFromString('NXM_OF_FOO(00)'),
      new NxMatchSyntaxError("NXM_OF_FOO(00): unknown field `NXM_OF_FOO'"),
    );
    assert.throws(
      () => nxMatchFromString('NXM_OF_ETH_TYPE(08)'),
      /expected to read 2 bytes but got 1/,
    );
  });
});

describe('OpenFlow 1.0 ofp_match text', () => {
  it('lists fields in the struct order, "*" for wildcards from verbosity 2', () => {
    const b = new Uint8Array(40);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 0x003820ee); // all wild but in_port and dl_type
    dv.setUint16(4, 2);
    dv.setUint16(22, 0x0800);
    // Captured from real ovs-ofctl 3.1 ofp-print at verbosity 3 (our bytes).
    assert.equal(
      ofp10MatchToString(b, 3, String),
      'ip,in_port=2,dl_vlan=*,dl_vlan_pcp=*,dl_src=*,dl_dst=*,nw_src=*,nw_dst=*,nw_proto=*,nw_tos=*,tp_src=*,tp_dst=*',
    );
    assert.equal(ofp10MatchToString(b, 1, String), 'ip,in_port=2');
  });
});

describe('OpenFlow 1.1 standard match', () => {
  it('round-trips what it can say', () => {
    fc.assert(
      fc.property(
        fc.record({
          inPort: fc.option(fc.integer({ min: 0, max: 0xfeff }), { nil: undefined }),
          vid: fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined }),
          tcp: fc.boolean(),
          src: fc.integer({ min: 0, max: 32 }),
          tpDst: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
        }),
        (r) => {
          const m = newMatch();
          if (r.inPort !== undefined) {
            m.key[W_IN_PORT] = r.inPort;
            m.mask[W_IN_PORT] = 0xffffffff;
          }
          if (r.vid !== undefined) {
            m.key[W_VLAN0] = 0x1000 | r.vid;
            m.mask[W_VLAN0] = 0x1fff;
          }
          m.key[W_DL_TYPE] = 0x0800;
          m.mask[W_DL_TYPE] = 0xffff;
          if (r.tcp) {
            m.key[W_NW] = 6;
            m.mask[W_NW] = 0xff;
            if (r.tpDst !== undefined) {
              m.key[W_TP] = r.tpDst;
              m.mask[W_TP] = 0xffff;
            }
          }
          const mask = r.src ? (0xffffffff << (32 - r.src)) >>> 0 : 0;
          m.key[W_NW_SRC] = 0xc6120001 & mask;
          m.mask[W_NW_SRC] = mask;
          const w = new Writer(OFP11_MATCH_LEN);
          putOf11Match(w, m);
          const bytes = w.finish();
          assert.equal(bytes.length, OFP11_MATCH_LEN);
          assert.ok(matchEquals(pullOf11Match(new Reader(bytes)), m));
        },
      ),
    );
  });
});

describe('normalization (OVS ofputil_normalize_match)', () => {
  it('drops nw_tos from ARP and L4 ports from a protocol without them, and only those', () => {
    const m = newMatch();
    m.key[W_DL_TYPE] = 0x0806;
    m.mask[W_DL_TYPE] = 0xffff;
    m.key[W_NW] = 0x00100002; // nw_tos 16, arp_op 2
    m.mask[W_NW] = 0x00fc00ff;
    assert.equal(normalizeMatch(m), true);
    assert.equal(m.mask[W_NW], 0xff);
    assert.equal(normalizeMatch(m), false);
    const ip = newMatch();
    ip.key[W_DL_TYPE] = 0x0800;
    ip.mask[W_DL_TYPE] = 0xffff;
    ip.key[W_NW] = 47; // GRE: no ports
    ip.mask[W_NW] = 0xff;
    ip.key[W_TP] = 443;
    ip.mask[W_TP] = 0xffff;
    assert.equal(normalizeMatch(ip), true);
    assert.equal(ip.mask[W_TP], 0);
  });
});
