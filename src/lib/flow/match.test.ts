import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { prefixMaskWords } from '../packet/addr.ts';
import { field, fieldExactMask } from './fields.ts';
import { FLOW_WORDS, W_DL_TYPE, W_IN_PORT, W_NW_SRC, W_VLAN0 } from './layout.ts';
import {
  isMaskShared,
  type Match,
  markMaskShared,
  matchCheckPrereqs,
  matchEquals,
  matchFromFlowAndMask,
  matchSetField,
  newMatch,
} from './match.ts';
import { flowToString, matchToString } from './match-format.ts';
import { parseExactFlow, parseFieldValue, parseMatch, splitActions } from './match-parse.ts';

const OVS_OFCTL = '/usr/bin/ovs-ofctl';

function ours(s: string): string {
  const r = parseMatch(s);
  if (!r.ok) return `error: ${r.error}`;
  return matchToString(r.match, r.priority);
}

/* Runs real `ovs-ofctl -F nxm parse-flows` and returns each flow's match as it prints it. */
function ofctlMatches(matches: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'ts-match-'));
  try {
    const file = join(dir, 'flows.txt');
    writeFileSync(
      file,
      matches.map((m) => (m ? `${m},actions=drop\n` : 'actions=drop\n')).join(''),
    );
    const out = execFileSync(OVS_OFCTL, ['-F', 'nxm', 'parse-flows', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out
      .split('\n')
      .filter((l) => l.includes(': ADD '))
      .map((l) => l.replace(/^.*?: ADD /, '').replace(/ ?actions=drop$/, ''));
  } catch (e) {
    throw new Error(`ovs-ofctl rejected a flow: ${(e as { stderr?: string }).stderr ?? e}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES = [
  '',
  'priority=100,tcp,nw_src=198.18.0.0/24,tp_dst=80',
  'priority=0',
  'ip,nw_dst=198.18.0.0/255.255.0.255',
  'ip,nw_src=198.18.0.1/32',
  'dl_vlan=5',
  'dl_vlan=0xffff',
  'dl_vlan_pcp=3',
  'vlan_tci=0x1000/0x1000',
  'vlan_tci=0',
  'vlan_vid=0x1005',
  'arp,arp_op=2,arp_sha=00:11:22:33:44:55/ff:ff:ff:00:00:00',
  'rarp,arp_spa=198.18.0.0/16',
  'ipv6,ipv6_src=2001:db8::/32,ipv6_dst=2001:db8::1',
  'ipv6,ipv6_label=0x12345',
  'ipv6,ipv6_src=::ffff:198.18.0.1',
  'icmp6,icmp_type=135,nd_target=2001:db8::2,nd_sll=00:00:5e:00:53:01',
  'icmp6,icmpv6_type=136,icmpv6_code=0,nd_tll=00:00:5e:00:53:02',
  'reg0=5,reg3=0x10/0xf0,metadata=0x1234',
  'xreg1=0x1/0xff',
  'xxreg0=0x1',
  'reg1[0..7]=0x12',
  'tcp,tcp_flags=+syn-ack',
  'tcp,tcp_flags=syn|ack',
  'tcp,tcp_flags=0x012/0x0ff',
  'in_port=LOCAL',
  'in_port=7',
  'ip,nw_frag=later',
  'ip,nw_frag=not_later',
  'ip,nw_frag=yes',
  'ip,nw_tos=184,nw_ecn=3,nw_ttl=9',
  'ip,ip_dscp=46',
  'udp6,tp_src=0x1000/0xf000',
  'sctp,sctp_dst=3868',
  'icmp,icmp_type=8,icmp_code=0',
  'ip,nw_proto=89',
  'ipv6,nw_proto=44',
  'dl_type=0x88cc',
  'dl_src=00:00:5e:00:53:01,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
  'eth_src=00:00:5e:00:53:01',
  'mpls,mpls_label=100,mpls_tc=2,mpls_bos=1,mpls_ttl=64',
  'tun_id=0x5,tun_src=198.18.0.1,tun_dst=198.18.0.0/15',
  'tun_id=0x5/0xff',
  'pkt_mark=0x10/0xff',
  'ct_mark=0x1',
  'tcp,nw_src=198.18.0.1,tcp_src=22',
  'udp,udp_dst=53',
  'ip,ip_src=198.18.0.5',
  'dl_type=0x0800,nw_proto=6',
  'dl_type=0x86dd,nw_proto=17',
  'ip,nw_dst=198.18.0.0/0',
  'icmp6,icmpv6_type=136,icmpv6_code=0,nd_reserved=536870912',
  'icmp6,icmpv6_type=135,icmpv6_code=0,nd_options_type=1',
  'ct_state=+trk+est',
  'ct_state=trk|new',
  'ct_state=-trk',
  'tun_flags=+oam',
  'ct_zone=5',
  'ct_label=0x1/0xff',
  'ct_label=0x1234',
  'tun_gbp_id=5,tun_gbp_flags=1',
  'actset_output=5',
  'conj_id=7',
  'dp_hash=0x5/0xf',
  'recirc_id=5',
  'tun_ipv6_src=2001:db8::1,tun_ipv6_dst=2001:db8::/64',
  'ipv6,ipv6_src=::',
  'ipv6,ipv6_dst=fe80::1/10',
  'tcp6,tcp_flags=+fin',
  'arp,arp_tpa=198.18.0.1/255.255.0.255',
  'rarp',
  'mplsm',
  'in_port=ANY',
  'in_port=4294967294',
  'ipv6,ipv6_src=1:2:3:4:5:6:7:8',
  'ipv6,ipv6_src=::1:0:0:0:1',
  'ipv6,ipv6_src=2001:db8:0:0:1::',
  'vlan_tci=0x0005/0x0fff',
  'dl_vlan=7,dl_vlan_pcp=1',
  'vlan_pcp=3',
  'mpls,mpls_label=5',
  'metadata=0xffffffffffffffff',
  'metadata=0x1/0x1',
  'tun_id=0',
  'reg15=0/0x1',
  'ip,nw_tos=4',
];

test('matchToString(parseMatch(s)) prints what real ovs-ofctl parse-flows prints', {}, () => {
  const want = ofctlMatches(CASES);
  assert.equal(want.length, CASES.length);
  const bad: string[] = [];
  CASES.forEach((c, i) => {
    const got = ours(c);
    if (got !== want[i]) bad.push(`${c}\n  ovs:  ${want[i]}\n  ours: ${got}`);
  });
  assert.deepEqual(bad, []);
});

const ERROR_CASES = [
  'nw_src=1.2.3.4/33',
  'tp_src=70000',
  'tp_src=0x10000',
  'dl_src=00:11:22:33:44',
  'ipv6_src=2001:db8::/129',
  'ipv6_src=2001:zz8::1',
  'nw_frag=maybe',
  'nw_ttl=5/0xf0',
  'tcp_flags=+syn+syn',
  'tcp_flags=+bogus',
  'in_port=foo',
  'bogus=1',
  'dl_vlan=x',
  'in_port=0xfffffffe',
  'in_port=70000',
];

function ofctlError(m: string): string {
  const r = spawnSync(OVS_OFCTL, ['parse-flow', `${m},actions=drop`], { encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('ovs-ofctl: ')) ?? '';
  return line.replace(/^ovs-ofctl: /, '');
}

test('parse errors read like real ovs-ofctl', {}, () => {
  const bad: string[] = [];
  for (const c of ERROR_CASES) {
    const r = parseMatch(c);
    const want = ofctlError(c);
    const got = r.ok ? '(accepted)' : r.error;
    if (got !== want) bad.push(`${c}\n  ovs:  ${want}\n  ours: ${got}`);
  }
  assert.deepEqual(bad, []);
});

test('priority and non-field keywords are reported to the caller', () => {
  const r = parseMatch('table=3,priority=7,cookie=0x5,ip', { allowOthers: true });
  assert.ok(r.ok);
  assert.equal(r.priority, 7);
  assert.deepEqual(r.others, [
    ['table', '3'],
    ['cookie', '0x5'],
  ]);
  const strict = parseMatch('table=3,ip');
  assert.equal(strict.ok, false);
});

test('prerequisite check names the field whose prerequisites are missing', () => {
  const ok = parseMatch('tcp,tp_dst=80');
  assert.ok(ok.ok);
  assert.equal(matchCheckPrereqs(ok.match), null);
  const bad = parseMatch('tp_dst=80');
  assert.ok(bad.ok);
  assert.equal(matchCheckPrereqs(bad.match), 'tcp_dst');
  const arp = parseMatch('arp,arp_spa=198.18.0.1');
  assert.ok(arp.ok);
  assert.equal(matchCheckPrereqs(arp.match), null);
});

test('dl_vlan sets VID and the tag-present bit; vlan_tci=0 means no tag', () => {
  const a = parseMatch('dl_vlan=5');
  assert.ok(a.ok);
  assert.equal(a.match.key[W_VLAN0], 0x1005);
  assert.equal(a.match.mask[W_VLAN0], 0x1fff);
  const b = parseMatch('ip,nw_src=198.18.0.0/16');
  assert.ok(b.ok);
  assert.equal(b.match.key[W_DL_TYPE], 0x0800);
  assert.equal(b.match.mask[W_NW_SRC], 0xffff0000);
});

/* Random matches: fields consistent with a random protocol, random values and masks. */
const PROTOS = [
  '',
  'ip',
  'tcp',
  'udp',
  'sctp',
  'icmp',
  'ipv6',
  'tcp6',
  'udp6',
  'icmp6',
  'arp',
  'mpls',
];
const COMMON: Array<[string, boolean]> = [
  ['in_port', false],
  ['dl_src', true],
  ['dl_dst', true],
  ['vlan_tci', true],
  ['reg0', true],
  ['reg5', true],
  ['metadata', true],
  ['tun_id', true],
  ['pkt_mark', true],
];
const BY_PROTO: Record<string, Array<[string, boolean]>> = {
  ip: [
    ['nw_src', true],
    ['nw_dst', true],
    ['nw_tos', false],
    ['nw_ecn', false],
    ['nw_ttl', false],
  ],
  ipv6: [
    ['ipv6_src', true],
    ['ipv6_dst', true],
    ['ipv6_label', true],
    ['nw_tos', false],
    ['nw_ttl', false],
  ],
  l4: [
    ['tp_src', true],
    ['tp_dst', true],
  ],
  tcp: [['tcp_flags', true]],
  icmp: [
    ['icmp_type', false],
    ['icmp_code', false],
  ],
  arp: [
    ['arp_spa', true],
    ['arp_tpa', true],
    ['arp_op', false],
    ['arp_sha', true],
    ['arp_tha', true],
  ],
  mpls: [
    ['mpls_label', false],
    ['mpls_tc', false],
    ['mpls_ttl', false],
    ['mpls_bos', false],
  ],
};

function fieldsFor(proto: string): Array<[string, boolean]> {
  const r = [...COMMON];
  const v6 = proto.endsWith('6') || proto === 'ipv6';
  if (['ip', 'tcp', 'udp', 'sctp', 'icmp'].includes(proto)) r.push(...BY_PROTO.ip);
  if (v6) r.push(...BY_PROTO.ipv6);
  if (['tcp', 'udp', 'sctp', 'tcp6', 'udp6'].includes(proto)) r.push(...BY_PROTO.l4);
  if (proto === 'tcp' || proto === 'tcp6') r.push(...BY_PROTO.tcp);
  if (proto === 'icmp' || proto === 'icmp6') r.push(...BY_PROTO.icmp);
  if (proto === 'arp') r.push(...BY_PROTO.arp);
  if (proto === 'mpls') r.push(...BY_PROTO.mpls);
  return r;
}

const arbMatch = fc
  .tuple(
    fc.constantFrom(...PROTOS),
    fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.boolean()), { maxLength: 6 }),
  )
  .map(([proto, picks]) => {
    const r = parseMatch(proto);
    if (!r.ok) throw new Error(r.error);
    const m: Match = r.match;
    const fs = fieldsFor(proto);
    for (const [a, b, c, d, masked] of picks) {
      const [name, maskable] = fs[a % fs.length];
      const f = field(name);
      const value: number[] = [];
      const mask: number[] = [];
      const exact = fieldExactMask(f);
      for (let i = 0; i < f.nWords; i++) {
        const lim = f.nWords === 1 && f.nBits < 32 ? 2 ** f.nBits - 1 : 0xffffffff;
        value.push(([b, c, d, 0][i % 4] & exact[i] & lim) >>> 0);
        mask.push(maskable && masked ? ((b * 2654435761) ^ d) >>> 0 : 0xffffffff);
      }
      // OVS cannot parse non-CIDR IPv6 masks whose text starts with a digit (it reads them
      // as a prefix length), so IPv6 masks here are prefixes.
      if (f.format === 'ipv6' && masked) mask.splice(0, 4, ...prefixMaskWords(b % 129, 4));
      matchSetField(m, f, value, mask);
    }
    return m;
  });

test('random matches round-trip through matchToString and parseMatch', () => {
  fc.assert(
    fc.property(arbMatch, fc.integer({ min: 0, max: 65535 }), (m, prio) => {
      const s = matchToString(m, prio);
      const r = parseMatch(s);
      assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error}`);
      assert.equal(r.priority ?? 0x8000, prio);
      assert.ok(matchEquals(r.match, m), `${s} reparsed as ${matchToString(r.match)}`);
    }),
    { numRuns: 2000 },
  );
});

test('random matches print exactly as real ovs-ofctl re-prints them', {}, () => {
  const ms = fc.sample(arbMatch, { numRuns: 400, seed: 42 }).map((m) => matchToString(m));
  const want = ofctlMatches(ms);
  assert.equal(want.length, ms.length);
  const bad = ms.filter((m, i) => m !== want[i]).map((m) => `${m}\n  ovs: ${want[ms.indexOf(m)]}`);
  assert.deepEqual(bad.slice(0, 5), []);
});

test('parseFieldValue handles "*" and CIDR forms', () => {
  const f = field('nw_src');
  assert.deepEqual(parseFieldValue(f, '*'), { value: [0], mask: [0] });
  assert.deepEqual(parseFieldValue(f, '198.18.0.0/15'), {
    value: [0xc6120000],
    mask: [0xfffe0000],
  });
  const m = newMatch();
  assert.equal(matchToString(m), '');
});

test('splitActions separates the actions the way ovs-ofctl does', () => {
  assert.deepEqual(splitActions('priority=5,ip actions=output:1,mod_vlan_vid:5'), {
    match: 'priority=5,ip ',
    actions: 'output:1,mod_vlan_vid:5',
  });
  assert.deepEqual(splitActions('in_port=1,action=drop'), { match: 'in_port=1,', actions: 'drop' });
  assert.deepEqual(splitActions('ip'), { match: 'ip', actions: null });
});

test('parseExactFlow follows parse_ofp_exact_flow, errors included', {}, () => {
  // ovs-ofctl compose-packet parses its flow with parse_ofp_exact_flow().
  const cases = [
    'udp,tp_src=1',
    'tcp,tcp_src=1,tcp_src=2',
    'ip,ip,nw_src=198.18.0.1',
    'tcp,icmp',
    'nw_src=198.18.0.1',
    'ip,nw_src=198.18.0.0/24',
    'ip,bogus=1',
    'tcp,tp_dst=70000',
  ];
  for (const c of cases) {
    const r = spawnSync(OVS_OFCTL, ['compose-packet', c], { encoding: 'utf8' });
    const want = (r.stderr.split('\n').find((l) => l.startsWith('ovs-ofctl: ')) ?? '').replace(
      /^ovs-ofctl: /,
      '',
    );
    const got = parseExactFlow(c);
    assert.equal(got.ok ? '' : got.error, want, c);
  }
  const ok = parseExactFlow('in_port=3,udp,nw_src=198.18.0.1,udp_dst=53,dl_vlan=7');
  assert.ok(ok.ok);
  // A VLAN set by its fields carries the 802.1Q TPID (OVS's flow_fix_vlan_tpid).
  assert.equal(ok.key[W_VLAN0], 0x81001007);
  assert.equal(ok.key[W_DL_TYPE], 0x0800);
  const dflt = parseExactFlow('ip');
  assert.ok(dflt.ok);
  assert.equal(dflt.key[W_IN_PORT], 0xffff);
  assert.equal(
    flowToString(dflt.key),
    'ip,in_port=ANY,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no',
  );
});

test('matches carved from a shared slab stay independent of each other', () => {
  // Enough to cross a slab boundary (64 matches per slab).
  const ms = Array.from({ length: 150 }, () => newMatch());
  ms.forEach((m, i) => {
    m.key.fill(i + 1);
    m.mask.fill(0x1000 + i);
  });
  ms.forEach((m, i) => {
    assert.equal(m.key.length, FLOW_WORDS);
    assert.equal(m.mask.length, FLOW_WORDS);
    assert.ok(
      m.key.every((w) => w === i + 1),
      `key ${i}`,
    );
    assert.ok(
      m.mask.every((w) => w === 0x1000 + i),
      `mask ${i}`,
    );
  });
  // A fresh match is all zeros even though its slab neighbours were written.
  const m = newMatch();
  assert.ok(m.key.every((w) => w === 0) && m.mask.every((w) => w === 0));
});

test('megaflow matches own their buffers (they may be cloned to the datapath worker)', () => {
  const key = new Uint32Array(FLOW_WORDS).fill(0xabcd);
  const mask = new Uint32Array(FLOW_WORDS).fill(0xff);
  const m = matchFromFlowAndMask(key, mask);
  assert.equal(m.key.buffer.byteLength, FLOW_WORDS * 4);
  assert.equal(m.mask.buffer.byteLength, FLOW_WORDS * 4);
  assert.equal(m.key[0], 0xcd);
});

test('only masks their owner marks are shared', () => {
  const a = newMatch();
  const b = newMatch();
  markMaskShared(a.mask);
  assert.equal(isMaskShared(a.mask), true);
  assert.equal(isMaskShared(b.mask), false);
  assert.equal(isMaskShared(a.key), false);
});
