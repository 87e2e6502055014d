import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrefixTrie, plenIsSet } from './trie.ts';

const key = (ip: number) => Uint32Array.of(ip >>> 0);

test('trie lookup reports matching prefix lengths and the bits it examined', () => {
  const t = new PrefixTrie(0, 32);
  t.insert(key(0xc6120000), 15); // 198.18.0.0/15
  t.insert(key(0xc6120100), 24); // 198.18.1.0/24
  const plens = new Uint32Array(2);
  // 198.18.1.7: both prefixes match; the walk ends past bit 24.
  let bits = t.lookup(key(0xc6120107), plens);
  assert.ok(plenIsSet(plens, 15) && plenIsSet(plens, 24));
  assert.equal(bits, 25);
  // 198.19.0.1: only the /15; the /24 path diverges at bit 16 (0-based 15).
  bits = t.lookup(key(0xc6130001), plens);
  assert.ok(plenIsSet(plens, 15) && !plenIsSet(plens, 24));
  assert.equal(bits, 16);
  // 10.0.0.1: the first bit already leaves the trie.
  bits = t.lookup(key(0x0a000001), plens);
  assert.ok(!plenIsSet(plens, 15));
  assert.equal(bits, 1);
  t.remove(key(0xc6120000), 15);
  bits = t.lookup(key(0xc6120107), plens);
  assert.ok(!plenIsSet(plens, 15) && plenIsSet(plens, 24));
  t.remove(key(0xc6120100), 24);
  assert.equal(t.size, 0);
  assert.equal(t.lookup(key(0xc6120107), plens), 1);
});

test('IPv6 prefixes span words', () => {
  const t = new PrefixTrie(0, 128);
  const k = Uint32Array.of(0x20010db8, 0x00010000, 0, 1);
  t.insert(k, 48);
  const plens = new Uint32Array(5);
  t.lookup(Uint32Array.of(0x20010db8, 0x0001ffff, 5, 5), plens);
  assert.ok(plenIsSet(plens, 48));
  t.lookup(Uint32Array.of(0x20010db8, 0x00020000, 0, 1), plens);
  assert.ok(!plenIsSet(plens, 48));
});
