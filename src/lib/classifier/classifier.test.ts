import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  FLOW_WORDS,
  W_CONJ_ID,
  W_DL_TYPE,
  W_IN_PORT,
  W_IPV6_SRC,
  W_METADATA,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_REG0,
  W_TP,
} from '../flow/layout.ts';
import { isMaskShared, type Match, matchHits, newMatch } from '../flow/match.ts';
import { parseMatch } from '../flow/match-parse.ts';
import { Classifier, type ClsRule } from './classifier.ts';

/* Each "dimension" is a key word with a small value domain, so random rules and packets
 * overlap often. Masks on the address words are CIDR prefixes (tries apply) or arbitrary. */
const DIMS: ReadonlyArray<{ w: number; values: number[]; cidr: boolean }> = [
  { w: W_IN_PORT, values: [1, 2, 3], cidr: false },
  { w: W_REG0, values: [0, 5, 0x80000005], cidr: false },
  { w: W_METADATA + 1, values: [0, 1], cidr: false },
  { w: W_DL_TYPE, values: [0x0800, 0x86dd, 0x0806], cidr: false },
  { w: W_NW_SRC, values: [0xc6120001, 0xc6120101, 0xc6130001, 0x0a000001], cidr: true },
  { w: W_NW_DST, values: [0xc6120002, 0xc61200ff, 0x0a000002], cidr: true },
  { w: W_IPV6_SRC, values: [0x20010db8, 0x20010db9, 0xfe800000], cidr: true },
  { w: W_NW, values: [0x00004006, 0x00004011, 0x01004006, 0x03004011], cidr: false },
  { w: W_TP, values: [0x04d20050, 0x00350035, 0x0001_0002], cidr: false },
];

const arbMask = (cidr: boolean) =>
  fc.oneof(
    fc.constant(0xffffffff),
    cidr
      ? fc.integer({ min: 0, max: 32 }).map((n) => (n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0))
      : fc.constantFrom(0xffff, 0xff, 0xffff0000),
    fc.integer({ min: 0, max: 0xffffffff }).map((x) => x >>> 0),
  );

const arbRule = fc
  .tuple(
    fc.subarray(
      DIMS.map((_, i) => i),
      { minLength: 0, maxLength: 5 },
    ),
    fc.array(fc.tuple(fc.nat(10), fc.nat()), { minLength: 9, maxLength: 9 }),
  )
  .chain(([dims, picks]) =>
    fc.tuple(...dims.map((d) => arbMask(DIMS[d].cidr))).map((masks) => {
      const m = newMatch();
      dims.forEach((d, i) => {
        const dim = DIMS[d];
        const v = dim.values[picks[d][0] % dim.values.length];
        m.mask[dim.w] = masks[i];
        m.key[dim.w] = (v & masks[i]) >>> 0;
      });
      return m;
    }),
  );

const arbPacket = fc
  .array(fc.nat(), { minLength: DIMS.length, maxLength: DIMS.length })
  .map((p) => {
    const k = new Uint32Array(FLOW_WORDS);
    DIMS.forEach((d, i) => {
      k[d.w] = d.values[p[i] % d.values.length];
    });
    return k;
  });

function oracle<T>(rules: ClsRule<T>[], key: Uint32Array): ClsRule<T> | null {
  let best: ClsRule<T> | null = null;
  for (const r of rules)
    if (matchHits(r.match, key) && (!best || r.priority > best.priority)) best = r;
  return best;
}

test('lookup agrees with a linear scan, and the megaflow mask is sound', () => {
  fc.assert(
    fc.property(
      fc.array(arbRule, { minLength: 1, maxLength: 60 }),
      fc.array(arbPacket, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      fc.nat(60),
      (matches, packets, noise, nRemove) => {
        const cls = new Classifier<number>();
        // Distinct priorities make the winner unique, so identities can be compared.
        const rules = matches.map((m, i) => cls.insert(m, (i * 7919) % 1000, i));
        const live = [...rules];
        for (let i = 0; i < Math.min(nRemove, live.length - 1); i += 3) {
          assert.ok(cls.remove(live[i]));
          live.splice(i, 1);
        }
        assert.equal(cls.count, live.length);
        const wc = new Uint32Array(FLOW_WORDS);
        for (const key of packets) {
          wc.fill(0);
          const got = cls.lookup(key, wc);
          const want = oracle(live, key);
          assert.equal(got, want);
          assert.equal(cls.lookup(key), want, 'lookup without wc differs');
          // Any packet that agrees with this one on the wildcard mask gets the same rule.
          for (let j = 0; j < noise.length; j++) {
            const other = key.slice();
            DIMS.forEach((d, i) => {
              const alt = d.values[(noise[j] + i * 31 + j) % d.values.length];
              other[d.w] = ((key[d.w] & wc[d.w]) | (alt & ~wc[d.w])) >>> 0;
            });
            assert.equal(oracle(live, other), want, 'megaflow mask too wide');
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('lookup without wc returns what lookup with wc returns, ties and removals included', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(arbRule, fc.nat(3)), { minLength: 1, maxLength: 80 }),
      fc.array(arbPacket, { minLength: 1, maxLength: 30 }),
      fc.array(fc.boolean(), { maxLength: 80 }),
      (rules, packets, drop) => {
        const cls = new Classifier<number>();
        // Few priorities, so equal-priority rules in different subtables compete.
        const inserted = rules.map(([m, p], i) => cls.insert(m, p * 10, i));
        // An identical match and priority displaces the earlier rule, which is then gone.
        const live = new Set([...cls]);
        inserted.forEach((r, i) => {
          if (drop[i]) assert.equal(cls.remove(r), live.delete(r));
        });
        const wc = new Uint32Array(FLOW_WORDS);
        for (const key of packets) {
          const fast = cls.lookup(key);
          wc.fill(0);
          const slow = cls.lookup(key, wc);
          assert.equal(fast, slow);
          assert.equal(fast?.priority ?? -1, oracle([...cls], key)?.priority ?? -1);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('prefix tries keep the megaflow to the address bits that matter', () => {
  const cls = new Classifier<string>();
  const add = (s: string, data: string) => {
    const r = parseMatch(s);
    assert.ok(r.ok);
    cls.insert(r.match, r.priority ?? 0x8000, data);
  };
  add('priority=10,ip,nw_dst=198.18.0.0/24', 'a');
  add('priority=5,ip', 'b');
  const key = new Uint32Array(FLOW_WORDS);
  key[W_DL_TYPE] = 0x0800;
  key[W_NW_DST] = 0x0a000001; // 10.0.0.1: the /24 cannot match
  const wc = new Uint32Array(FLOW_WORDS);
  assert.equal(cls.lookup(key, wc)?.data, 'b');
  // The first bit of the address already rules out 198.18.0.0/24.
  assert.equal(wc[W_NW_DST], 0x80000000);
  assert.equal(wc[W_DL_TYPE], 0xffff);
  wc.fill(0);
  key[W_NW_DST] = 0xc6120007;
  assert.equal(cls.lookup(key, wc)?.data, 'a');
  assert.equal(wc[W_NW_DST], 0xffffff00);
});

test('staged lookup leaves L4 wildcarded when L3 already misses', () => {
  const cls = new Classifier<string>();
  const r = parseMatch('priority=10,tcp,nw_proto=6,tp_dst=80,nw_tos=0');
  assert.ok(r.ok);
  cls.insert(r.match, 10, 'web');
  const key = new Uint32Array(FLOW_WORDS);
  key[W_DL_TYPE] = 0x0800;
  key[W_NW] = 0x00004011; // UDP
  key[W_TP] = 0x00350050;
  const wc = new Uint32Array(FLOW_WORDS);
  assert.equal(cls.lookup(key, wc), null);
  assert.equal(wc[W_TP], 0);
  assert.notEqual(wc[W_NW], 0);
});

test('replace displaces an identical rule; subtables re-order as priorities change', () => {
  const cls = new Classifier<string>();
  const m: Match = newMatch();
  m.mask[W_IN_PORT] = 0xffffffff;
  m.key[W_IN_PORT] = 1;
  const a = cls.replace(m, 100, 'a');
  assert.equal(a.displaced, null);
  const b = cls.replace(m, 100, 'b');
  assert.equal(b.displaced, a.rule);
  assert.equal(cls.count, 1);
  const any = newMatch();
  const c = cls.insert(any, 200, 'c');
  const key = new Uint32Array(FLOW_WORDS);
  key[W_IN_PORT] = 1;
  assert.equal(cls.lookup(key)?.data, 'c');
  cls.remove(c);
  assert.equal(cls.lookup(key)?.data, 'b');
  assert.equal(cls.findExactly(m, 100)?.data, 'b');
  assert.equal(cls.findExactly(m, 99), null);
  assert.deepEqual(
    [...cls].map((r) => r.data),
    ['b'],
  );
  assert.equal(cls.remove(c), false);
});

test('loose selection finds rules at least as specific as the target', () => {
  const cls = new Classifier<string>();
  for (const [s, d] of [
    ['ip,nw_src=198.18.0.1', 'x'],
    ['ip,nw_src=198.18.0.0/24', 'y'],
    ['arp', 'z'],
  ]) {
    const r = parseMatch(s);
    assert.ok(r.ok);
    cls.insert(r.match, 1, d);
  }
  const t = parseMatch('ip,nw_src=198.18.0.0/16');
  assert.ok(t.ok);
  assert.deepEqual([...cls.loose(t.match)].map((r) => r.data).sort(), ['x', 'y']);
});

test('rules() and looseRules() list every live rule once, loose ones as a linear filter would', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(arbRule, fc.nat(3)), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      arbRule,
      (specs, removals, target) => {
        const cls = new Classifier<number>();
        const live = new Map<number, ClsRule<number>>();
        specs.forEach(([m, p], i) => {
          const res = cls.replace(m, p, i);
          if (res.displaced) live.delete(res.displaced.data);
          live.set(i, res.rule);
        });
        for (const x of removals) {
          const ids = [...live.keys()];
          if (ids.length === 0) break;
          const id = ids[x % ids.length];
          cls.remove(live.get(id) as ClsRule<number>);
          live.delete(id);
        }
        const all = cls.rules().map((r) => r.data);
        assert.deepEqual(
          [...all].sort((a, b) => a - b),
          [...live.keys()].sort((a, b) => a - b),
        );
        assert.deepEqual(
          [...cls].map((r) => r.data),
          all,
          'the iterator follows rules()',
        );
        // Stored keys are masked copies: the rule's match agrees with the key it was given.
        for (const r of cls.rules()) {
          const given = specs[r.data][0];
          for (let w = 0; w < FLOW_WORDS; w++) {
            assert.equal(r.match.mask[w], given.mask[w]);
            assert.equal(r.match.key[w], (given.key[w] & given.mask[w]) >>> 0);
          }
        }
        const specific = (r: ClsRule<number>) =>
          r.match.mask.every(
            (m, w) =>
              (m & target.mask[w]) >>> 0 === target.mask[w] &&
              ((r.match.key[w] ^ target.key[w]) & target.mask[w]) === 0,
          );
        assert.deepEqual(
          cls.looseRules(target).map((r) => r.data),
          cls
            .rules()
            .filter(specific)
            .map((r) => r.data),
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('rules removed while iterating are not yielded', () => {
  const cls = new Classifier<string>();
  const a = newMatch();
  a.mask[W_IN_PORT] = 0xffffffff;
  a.key[W_IN_PORT] = 1;
  const b = newMatch();
  b.mask[W_IN_PORT] = 0xffffffff;
  b.key[W_IN_PORT] = 2;
  const ra = cls.insert(a, 1, 'a');
  const rb = cls.insert(b, 1, 'b');
  const seen: string[] = [];
  for (const r of cls) {
    seen.push(r.data);
    cls.remove(r === ra ? rb : ra);
  }
  assert.equal(seen.length, 1);
  assert.equal(cls.count, 1);
});

/* Documented conjunctive-match semantics (ovs-fields(7), "Conjunctive Match Fields"), scanned
 * linearly: the best ordinary rule, unless at some higher priority the matching
 * conjunction(id, k/n) rules cover all n clauses of an id and a rule matches conj_id=id.
 * One OVS detail is modelled too: the conj_id lookup does not see an ordinary rule whose
 * identical match is shadowed by a higher-priority conjunction rule. */
function oracleConj(rules: ClsRule<number>[], key: Uint32Array): ClsRule<number> | null {
  const hard = rules.filter((r) => r.conj === null);
  const same = (a: ClsRule<number>, b: ClsRule<number>) =>
    a.match.key.every((v, i) => v === b.match.key[i]) &&
    a.match.mask.every((v, i) => v === b.match.mask[i]);
  const visible = hard.filter(
    (h) => !rules.some((c) => c.conj !== null && c.priority > h.priority && same(c, h)),
  );
  const hb = oracle(hard, key);
  const hp = hb ? hb.priority : -1;
  const soft = rules.filter((r) => r.conj !== null && r.priority > hp && matchHits(r.match, key));
  const prios = [...new Set(soft.map((r) => r.priority))].sort((a, b) => b - a);
  for (const p of prios) {
    const seen = new Map<number, Set<number>>();
    const need = new Map<number, number>();
    for (const r of soft.filter((x) => x.priority === p)) {
      for (const c of r.conj ?? []) {
        if (!seen.has(c.id)) seen.set(c.id, new Set());
        seen.get(c.id)?.add(c.clause);
        need.set(c.id, c.nClauses);
      }
    }
    for (const [id, clauses] of seen) {
      if (clauses.size !== need.get(id)) continue;
      const k2 = key.slice();
      k2[W_CONJ_ID] = id;
      const r = oracle(visible, k2);
      if (r) return r;
    }
  }
  return hb;
}

test('conjunctive matches agree with the documented semantics and keep megaflows sound', () => {
  const arbGroup = fc.record({
    nClauses: fc.integer({ min: 2, max: 3 }),
    rules: fc.array(fc.tuple(fc.nat(2), arbRule), { minLength: 1, maxLength: 6 }),
    target: fc.option(arbRule, { nil: undefined }),
  });
  fc.assert(
    fc.property(
      fc.array(arbRule, { maxLength: 25 }),
      fc.array(arbGroup, { minLength: 1, maxLength: 3 }),
      fc.array(arbPacket, { minLength: 1, maxLength: 20 }),
      fc.nat(),
      (hardMatches, groups, packets, shuffle) => {
        const cls = new Classifier<number>();
        // Distinct priorities per ordinary rule and per conjunction group.
        const prios = Array.from({ length: 200 }, (_, i) => i).sort(
          (a, b) => ((a * 7919 + shuffle) % 200) - ((b * 7919 + shuffle) % 200),
        );
        let pi = 0;
        for (const [i, m] of hardMatches.entries()) cls.insert(m, prios[pi++], i);
        groups.forEach((g, gi) => {
          const id = 100 + gi;
          const p = prios[pi++];
          g.rules.forEach(([k, m], j) => {
            cls.insert(m, p, 1000 + gi * 10 + j, [
              { id, clause: k % g.nClauses, nClauses: g.nClauses },
            ]);
          });
          if (g.target) {
            const t = { key: g.target.key.slice(), mask: g.target.mask.slice() };
            t.mask[W_CONJ_ID] = 0xffffffff;
            t.key[W_CONJ_ID] = id;
            cls.insert(t, prios[pi++], 2000 + gi);
          }
        });
        const live = [...cls];
        const wc = new Uint32Array(FLOW_WORDS);
        for (const key of packets) {
          wc.fill(0);
          const got = cls.lookup(key, wc);
          assert.equal(got, oracleConj(live, key));
          assert.equal(wc[W_CONJ_ID], 0);
          assert.equal(cls.lookup(key), got, 'lookup without wc differs');
          for (let j = 0; j < 3; j++) {
            const other = key.slice();
            DIMS.forEach((d, i) => {
              const alt = d.values[(shuffle + i * 31 + j) % d.values.length];
              other[d.w] = ((key[d.w] & wc[d.w]) | (alt & ~wc[d.w])) >>> 0;
            });
            assert.equal(oracleConj(live, other), got, 'megaflow mask too wide');
          }
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('a conjunctive flow fires only when every dimension matches', () => {
  const cls = new Classifier<string>();
  const add = (s: string, p: number, d: string, conj: [number, number, number] | null = null) => {
    const r = parseMatch(s);
    assert.ok(r.ok);
    cls.insert(r.match, p, d, conj ? [{ id: conj[0], clause: conj[1], nClauses: conj[2] }] : null);
  };
  add('conj_id=1234', 5, 'conj-action');
  add('ip,nw_src=198.18.0.1', 10, 'src1', [1234, 0, 2]);
  add('ip,nw_src=198.18.0.4', 10, 'src4', [1234, 0, 2]);
  add('ip,nw_dst=198.18.0.2', 10, 'dst2', [1234, 1, 2]);
  add('ip', 1, 'default');
  const key = new Uint32Array(FLOW_WORDS);
  key[W_DL_TYPE] = 0x0800;
  key[W_NW_SRC] = 0xc6120004;
  key[W_NW_DST] = 0xc6120002;
  assert.equal(cls.lookup(key)?.data, 'conj-action');
  key[W_NW_DST] = 0xc6120003;
  assert.equal(cls.lookup(key)?.data, 'default');
});

test('rules of a subtable share one mask, marked read-only for encoders to cache by', () => {
  const cls = new Classifier<number>();
  const parse = (s: string): Match => {
    const r = parseMatch(s);
    if (!r.ok) throw new Error(r.error);
    return r.match;
  };
  const a = cls.replace(parse('ip,nw_dst=198.18.0.1'), 10, 1);
  const b = cls.replace(parse('ip,nw_dst=198.18.0.2'), 10, 2);
  const c = cls.replace(parse('arp,nw_dst=198.18.0.3'), 10, 3);
  const d = cls.replace(parse('tcp,tp_dst=80'), 10, 4);
  assert.equal(a.rule.match.mask, b.rule.match.mask);
  assert.equal(a.rule.match.mask, c.rule.match.mask);
  assert.notEqual(a.rule.match.mask, d.rule.match.mask);
  for (const r of [a, b, c, d]) assert.equal(isMaskShared(r.rule.match.mask), true);
  assert.equal(isMaskShared(parse('ip').mask), false);
});
