import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Match, matchEquals } from '../../lib/flow/match.ts';
import { matchToString } from '../../lib/flow/match-format.ts';
import { parseMatch } from '../../lib/flow/match-parse.ts';
import { hex, Reader, Writer } from './bytes.ts';
import { encodeMessage } from './codec.ts';
import { OfpError } from './errors.ts';
import { decodeNxmBytes, pullOxmMatch, putMatchRaw, putOxmMatch } from './match-nxm.ts';
import { of10Expressible, pullOf10Match, putOf10Match } from './match-of10.ts';
import { noFlowModFlags } from './messages.ts';

/* Matches in flow syntax: each must round trip through NXM and OXM (and OF1.0 when it fits). */
const MATCHES = [
  '',
  'in_port=1',
  'in_port=65534',
  'dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
  'dl_vlan=5',
  'dl_vlan=5,dl_vlan_pcp=3',
  'vlan_tci=0x1000/0x1000',
  'ip,nw_src=10.0.0.0/8,nw_dst=198.18.0.1',
  'ip,nw_src=10.0.0.0/255.0.255.0',
  'tcp,tp_src=80,tp_dst=0x100/0xff00',
  'udp,nw_tos=16,udp_dst=53',
  'icmp,icmp_type=8,icmp_code=0',
  'arp,arp_op=1,arp_spa=198.18.0.1,arp_tha=00:00:00:00:00:00',
  'ipv6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::/32,ipv6_label=0x12345',
  'icmp6,icmp_type=135,nd_target=2001:db8::2,nd_sll=00:11:22:33:44:55',
  'tcp6,tcp_flags=+syn-ack',
  'ip,nw_ecn=2,nw_ttl=64,ip_frag=later',
  'reg0=5,reg3=0x10/0xf0,metadata=0x1234/0xffff',
  'xreg2=0x100000001',
  'tun_id=0x55,tun_src=198.18.0.1,tun_dst=198.18.0.2',
  'pkt_mark=0x1/0x1',
  'ct_state=+trk+est,ct_zone=5,ct_mark=0x10,ip',
  'mpls,mpls_label=100,mpls_tc=3,mpls_bos=1',
  'conj_id=7',
];

function parsed(s: string): Match {
  const r = parseMatch(s);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.match;
}

function nxmRoundTrip(m: Match): Match {
  const w = new Writer();
  putMatchRaw(w, m, { oxm: false, version: 1 });
  return decodeNxmBytes(w.finish());
}

function oxmRoundTrip(m: Match, version: number): Match {
  const w = new Writer();
  putOxmMatch(w, m, version);
  return pullOxmMatch(new Reader(w.finish()));
}

describe('NXM, OXM and OF1.0 matches', () => {
  for (const s of MATCHES) {
    it(`round trips "${s}"`, () => {
      const m = parsed(s);
      assert.ok(matchEquals(nxmRoundTrip(m), m), 'NXM');
      for (const v of [4, 5, 6]) assert.ok(matchEquals(oxmRoundTrip(m, v), m), `OXM v${v}`);
      if (of10Expressible(m)) {
        const w = new Writer();
        putOf10Match(w, m);
        assert.equal(w.pos, 40);
        assert.ok(matchEquals(pullOf10Match(new Reader(w.finish())), m), 'OF1.0');
      }
    });
  }

  it('real ovs-ofctl decodes our NXM and OXM as the same match', () => {
    for (const s of MATCHES) {
      const m = parsed(s);
      for (const [version, format] of [
        [1, 'nxt'],
        [4, 'standard'],
        [6, 'standard'],
      ] as const) {
        const bytes = encodeMessage({
          version,
          xid: 1,
          msg: {
            type: 'flow_mod',
            format,
            command: 'add',
            match: m,
            priority: 0x8000,
            newCookie: 0n,
            cookie: 0n,
            cookieMask: 0n,
            tableId: 0,
            idleTimeout: 0,
            hardTimeout: 0,
            bufferId: 0xffffffff,
            outPort: 0xffff,
            outGroup: 0xffffffff,
            flags: noFlowModFlags(),
            importance: 0,
            ofpacts: [],
          },
        });
        const out = execFileSync('ovs-ofctl', ['ofp-print', hex(bytes)])
          .toString()
          .split('\n')[0];
        const want = matchToString(version > 1 ? oxmRoundTrip(m, version) : m);
        assert.equal(
          out.replace(/^.*ADD (.*)actions=drop$/, '$1').trim(),
          want,
          `v${version} ${s}`,
        );
      }
    }
  });

  it('OXM says "no VLAN" as vlan_vid=0, which reads back as VID and CFI only, as in OVS', () => {
    const m = parsed('vlan_tci=0');
    assert.equal(matchToString(oxmRoundTrip(m, 4)), 'vlan_tci=0x0000/0x1fff');
    assert.ok(matchEquals(nxmRoundTrip(m), m));
  });

  it('OF1.0 matches OF1.0 cannot say are detected', () => {
    assert.equal(of10Expressible(parsed('reg0=1')), false);
    assert.equal(of10Expressible(parsed('ip,nw_src=10.0.0.0/255.0.255.0')), false);
    assert.equal(of10Expressible(parsed('ipv6,ipv6_src=2001:db8::1')), false);
    assert.equal(of10Expressible(parsed('tcp,tp_dst=80')), true);
  });

  it('OF1.0 drops fields whose prerequisites are wildcarded, as OVS normalizes', () => {
    // wildcards: everything but tp_dst (so no dl_type / nw_proto): tp_dst is dropped.
    const b = new Uint8Array(40);
    new DataView(b.buffer).setUint32(0, 0x3fffff & ~(1 << 7));
    new DataView(b.buffer).setUint16(38, 80);
    assert.equal(matchToString(pullOf10Match(new Reader(b))), '');
  });

  it('random register and IPv4 matches round trip (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.nat(), fc.nat()), { maxLength: 5 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 32 }))),
        fc.option(fc.integer({ min: 0, max: 0xffff })),
        (regs, ip, tp) => {
          let s = tp !== null || ip !== null ? 'tcp' : '';
          const seen = new Set<number>();
          for (const [r, v, mk] of regs) {
            if (seen.has(r)) continue;
            seen.add(r);
            s += `${s ? ',' : ''}reg${r}=0x${(v & mk).toString(16)}/0x${mk.toString(16)}`;
          }
          if (ip) {
            const a = ip[0] >>> 0;
            s += `,nw_src=${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${ip[1]}`;
          }
          if (tp !== null) s += `,tp_dst=${tp}`;
          const m = parsed(s);
          assert.ok(matchEquals(nxmRoundTrip(m), m));
          assert.ok(matchEquals(oxmRoundTrip(m, 4), m));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('malformed OXM gives OFPBMC errors, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeNxmBytes(b);
        } catch (e) {
          assert.ok(e instanceof OfpError, String(e));
          assert.match(e.error, /^OFPBMC_|^OFPBRC_/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
