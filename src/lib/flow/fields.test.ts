import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FIELDS,
  field,
  fieldByName,
  getField32,
  getFieldBits,
  getFieldWords,
  setField32,
  setFieldBits,
  setFieldWords,
  unwildcardField,
} from './fields.ts';
import { FLOW_WORDS, W_REG0, W_TP } from './layout.ts';

test('aliases resolve to the same field as in ovs-fields(7)', () => {
  for (const [a, b] of [
    ['dl_src', 'eth_src'],
    ['dl_dst', 'eth_dst'],
    ['dl_type', 'eth_type'],
    ['nw_src', 'ip_src'],
    ['nw_dst', 'ip_dst'],
    ['nw_proto', 'ip_proto'],
    ['nw_frag', 'ip_frag'],
    ['nw_ecn', 'ip_ecn'],
    ['tp_src', 'tcp_src'],
    ['tp_dst', 'tcp_dst'],
    ['tunnel_id', 'tun_id'],
  ]) {
    assert.equal(fieldByName(a), fieldByName(b), a);
  }
  assert.equal(fieldByName('nope'), undefined);
  const names = new Set<string>();
  for (const f of FIELDS) {
    assert.ok(!names.has(f.name), f.name);
    names.add(f.name);
    assert.ok(f.word >= 0 && f.word + f.nWords <= FLOW_WORDS, f.name);
  }
});

test('xreg and xxreg overlay the 32-bit registers, most significant first', () => {
  const key = new Uint32Array(FLOW_WORDS);
  setFieldWords(key, field('xreg1'), [0x11111111, 0x22222222]);
  assert.equal(key[W_REG0 + 2], 0x11111111);
  assert.equal(key[W_REG0 + 3], 0x22222222);
  assert.deepEqual(getFieldWords(key, field('xxreg0')), [0, 0, 0x11111111, 0x22222222]);
});

test('narrow fields share words without disturbing their neighbours', () => {
  const key = new Uint32Array(FLOW_WORDS);
  setField32(key, field('tp_src'), 80);
  setField32(key, field('tp_dst'), 443);
  assert.equal(key[W_TP], (80 << 16) | 443);
  assert.equal(getField32(key, field('udp_dst')), 443);
  setFieldBits(key, field('reg0'), 4, 8, 0xab);
  assert.equal(key[W_REG0], 0xab0);
  assert.equal(getFieldBits(key, field('reg0'), 4, 8), 0xab);
  // Bit 40 of xreg0 is bit 8 of reg0 (the high word).
  assert.equal(getFieldBits(key, field('xreg0'), 36, 8), 0xab);
  const wc = new Uint32Array(FLOW_WORDS);
  unwildcardField(wc, field('tp_dst'));
  assert.equal(wc[W_TP], 0xffff);
});
