import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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

/* The oracle: the plain one-node-per-bit trie this module used before path compression. */
class BitTrie {
  /** Field width in bits (32 or 128) and the key words it spans. */
  readonly nBits: number;
  readonly word: number;
  /* node n: [n*3] child for bit 0, [n*3+1] child for bit 1, [n*3+2] prefixes ending here. */
  private nodes: Int32Array;
  private nNodes = 1;
  private freeList: number[] = [];
  /** Number of prefixes stored (with multiplicity). */
  size = 0;

  constructor(word: number, nBits: number) {
    this.word = word;
    this.nBits = nBits;
    this.nodes = new Int32Array(64 * 3);
  }

  private bit(words: ArrayLike<number>, i: number): number {
    return (words[this.word + (i >>> 5)] >>> (31 - (i & 31))) & 1;
  }

  private alloc(): number {
    const n = this.freeList.pop();
    if (n === undefined && this.nNodes * 3 === this.nodes.length) {
      const b = new Int32Array(this.nodes.length * 2);
      b.set(this.nodes);
      this.nodes = b;
    }
    const id = n ?? this.nNodes++;
    this.nodes[id * 3] = 0;
    this.nodes[id * 3 + 1] = 0;
    this.nodes[id * 3 + 2] = 0;
    return id;
  }

  /** Adds the prefix of length `plen` taken from `words` (a key, at this trie's field). */
  insert(words: ArrayLike<number>, plen: number): void {
    let node = 0;
    for (let i = 0; i < plen; i++) {
      const slot = node * 3 + this.bit(words, i);
      let next = this.nodes[slot];
      if (next === 0) {
        next = this.alloc();
        this.nodes[slot] = next;
      }
      node = next;
    }
    this.nodes[node * 3 + 2]++;
    this.size++;
  }

  /** Removes one instance of a prefix added by insert(). */
  remove(words: ArrayLike<number>, plen: number): void {
    const path: number[] = [0];
    let node = 0;
    for (let i = 0; i < plen; i++) {
      node = this.nodes[node * 3 + this.bit(words, i)];
      if (node === 0) return;
      path.push(node);
    }
    const nodes = this.nodes;
    if (nodes[node * 3 + 2] === 0) return;
    nodes[node * 3 + 2]--;
    this.size--;
    // Prune nodes that no longer lead to any prefix.
    for (let d = plen; d > 0; d--) {
      const n = path[d];
      if (nodes[n * 3] !== 0 || nodes[n * 3 + 1] !== 0 || nodes[n * 3 + 2] !== 0) break;
      nodes[path[d - 1] * 3 + this.bit(words, d - 1)] = 0;
      this.freeList.push(n);
    }
  }

  /**
   * Walks the trie along `key`'s address. Sets bit L of `plens` (a bitmap of nBits + 1 bits)
   * for every prefix length L that some rule has and the address matches, and returns how
   * many leading address bits the walk examined: any address that agrees on those bits gets
   * the same `plens`.
   */
  lookup(key: ArrayLike<number>, plens: Uint32Array): number {
    const nw = (this.nBits + 32) >>> 5;
    for (let i = 0; i < nw; i++) plens[i] = 0;
    const nodes = this.nodes;
    if (nodes[2] > 0) plens[0] |= 1;
    let node = 0;
    let word = 0;
    for (let i = 0; i < this.nBits; i++) {
      if ((i & 31) === 0) word = key[this.word + (i >>> 5)];
      const next = nodes[node * 3 + ((word >>> (31 - (i & 31))) & 1)];
      if (next === 0) return i + 1;
      node = next;
      if (nodes[node * 3 + 2] > 0) {
        const l = i + 1;
        plens[l >>> 5] |= 1 << (l & 31);
      }
    }
    return this.nBits;
  }
}

test('path-compressed trie answers as a bit-at-a-time trie, through inserts and removes', () => {
  for (const nBits of [32, 128]) {
    const nw = nBits >>> 5;
    // Few distinct high bits, so prefixes share runs, split them and end inside them.
    const arbAddr = fc
      .array(fc.constantFrom(0, 0x80000000, 0xc6120000, 0xc6120100, 0xc613ffff, 0xffffffff), {
        minLength: nw,
        maxLength: nw,
      })
      .map((ws) => Uint32Array.from(ws));
    const arbPlen = fc.oneof(
      fc.integer({ min: 0, max: nBits }),
      fc.constantFrom(0, 8, 15, 16, 24, nBits),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), arbAddr, arbPlen), { maxLength: 60 }),
        fc.array(arbAddr, { minLength: 1, maxLength: 10 }),
        (ops, probes) => {
          const t = new PrefixTrie(0, nBits);
          const o = new BitTrie(0, nBits);
          const added: Array<[Uint32Array, number]> = [];
          for (const [add, addr, plen] of ops) {
            if (add || added.length === 0) {
              t.insert(addr, plen);
              o.insert(addr, plen);
              added.push([addr, plen]);
            } else {
              // Remove something present, or (every other time) something maybe absent.
              const [a, l] = added.splice(plen % added.length, 1)[0];
              t.remove(a, l);
              o.remove(a, l);
              t.remove(addr, plen);
              o.remove(addr, plen);
            }
            assert.equal(t.size, o.size);
          }
          const p1 = new Uint32Array(nw + 1);
          const p2 = new Uint32Array(nw + 1);
          for (const k of [...probes, ...added.map(([a]) => a)]) {
            assert.equal(t.lookup(k, p1), o.lookup(k, p2));
            assert.deepEqual(p1, p2);
          }
        },
      ),
      { numRuns: 400 },
    );
  }
});
