/*
 * Prefix tracking for one IP address field (OVS's classifier tries): a binary trie of the
 * prefixes that rules match on, so that a lookup can learn which prefix lengths could match a
 * packet's address at all, and how many leading address bits that conclusion depends on.
 *
 * Nodes live in one typed array, three words each (two children and a count of rules whose
 * prefix ends there), so a node is one cache line away, a hundred thousand /32 prefixes stay
 * cheap, and lookups allocate nothing. Node 0 is the root; child 0 means "none".
 */

export class PrefixTrie {
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

export function plenIsSet(plens: Uint32Array, plen: number): boolean {
  return (plens[plen >>> 5] & (1 << (plen & 31))) !== 0;
}
