/*
 * Prefix tracking for one IP address field (OVS's classifier tries): a binary trie of the
 * prefixes that rules match on, so that a lookup can learn which prefix lengths could match a
 * packet's address at all, and how many leading address bits that conclusion depends on.
 *
 * The trie is path-compressed, as OVS's is: a chain of one-child nodes where no prefix ends
 * collapses into one node holding the whole run of bits, so a lookup makes one step per
 * branching point or stored prefix length (a handful) instead of one per address bit, and
 * compares the run a word at a time. Results are those of the plain bit-at-a-time trie.
 *
 * Nodes live in one typed array of fixed-size records, so a hundred thousand prefixes stay
 * cheap and lookups allocate nothing. Node 0 is the root (depth 0); child 0 means "none".
 */

/* Record layout: two children (indexed by the address bit at this node's depth, the first
 * bit of the child's run), the number of prefixes ending here, the node's depth (the prefix
 * length at its end), then the address words of its whole prefix (bits past depth are 0). */
const C0 = 0;
const CNT = 2;
const DEPTH = 3;
const ADDR = 4;

export class PrefixTrie {
  /** Field width in bits (32 or 128) and the key words it spans. */
  readonly nBits: number;
  readonly word: number;
  private readonly nAddr: number;
  private readonly stride: number;
  private nodes: Int32Array;
  private nNodes = 1;
  private freeList: number[] = [];
  /** Number of prefixes stored (with multiplicity). */
  size = 0;

  constructor(word: number, nBits: number) {
    this.word = word;
    this.nBits = nBits;
    this.nAddr = nBits >>> 5;
    this.stride = ADDR + this.nAddr;
    this.nodes = new Int32Array(64 * this.stride);
  }

  private bit(words: ArrayLike<number>, i: number): number {
    return (words[this.word + (i >>> 5)] >>> (31 - (i & 31))) & 1;
  }

  /* Bit i of node n's address. */
  private nodeBit(n: number, i: number): number {
    return (this.nodes[n * this.stride + ADDR + (i >>> 5)] >>> (31 - (i & 31))) & 1;
  }

  /* The first bit in [from, to) where `words` differs from node n's address, or `to`. */
  private firstDiff(words: ArrayLike<number>, n: number, from: number, to: number): number {
    const nodes = this.nodes;
    const a = n * this.stride + ADDR;
    for (let i = from; i < to; ) {
      const w = i >>> 5;
      let x = (words[this.word + w] ^ nodes[a + w]) >>> 0;
      const lo = i & 31;
      if (lo !== 0) x = (x << lo) >>> lo;
      const d = (w << 5) + Math.clz32(x);
      if (x !== 0) return Math.min(d, to);
      i = (w + 1) << 5;
    }
    return to;
  }

  /* A new node of depth `depth` whose address is the first `depth` bits of `words`. */
  private alloc(words: ArrayLike<number>, depth: number, count: number): number {
    let id = this.freeList.pop();
    if (id === undefined) {
      if ((this.nNodes + 1) * this.stride > this.nodes.length) {
        const b = new Int32Array(this.nodes.length * 2);
        b.set(this.nodes);
        this.nodes = b;
      }
      id = this.nNodes++;
    }
    const nodes = this.nodes;
    const base = id * this.stride;
    nodes[base + C0] = 0;
    nodes[base + C0 + 1] = 0;
    nodes[base + CNT] = count;
    nodes[base + DEPTH] = depth;
    for (let w = 0; w < this.nAddr; w++) {
      const keep = depth - (w << 5);
      const m = keep >= 32 ? 0xffffffff : keep <= 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
      nodes[base + ADDR + w] = words[this.word + w] & m;
    }
    return id;
  }

  /** Adds the prefix of length `plen` taken from `words` (a key, at this trie's field). */
  insert(words: ArrayLike<number>, plen: number): void {
    const S = this.stride;
    let cur = 0;
    let d = 0;
    this.size++;
    for (;;) {
      if (d === plen) {
        this.nodes[cur * S + CNT]++;
        return;
      }
      const slot = cur * S + C0 + this.bit(words, d);
      const next = this.nodes[slot];
      if (next === 0) {
        const leaf = this.alloc(words, plen, 1);
        this.nodes[slot] = leaf;
        return;
      }
      const D = this.nodes[next * S + DEPTH];
      const end = Math.min(D, plen);
      const m = this.firstDiff(words, next, d + 1, end);
      if (m === end) {
        if (plen >= D) {
          cur = next;
          d = D;
          continue;
        }
        // The new prefix ends inside next's run: it becomes next's parent.
        const x = this.alloc(words, plen, 1);
        this.nodes[x * S + C0 + this.nodeBit(next, plen)] = next;
        this.nodes[slot] = x;
        return;
      }
      // The runs part at bit m: a branching node there, with next and a new leaf below.
      const split = this.alloc(words, m, 0);
      const leaf = this.alloc(words, plen, 1);
      this.nodes[split * S + C0 + this.nodeBit(next, m)] = next;
      this.nodes[split * S + C0 + this.bit(words, m)] = leaf;
      this.nodes[slot] = split;
      return;
    }
  }

  /** Removes one instance of a prefix added by insert(). */
  remove(words: ArrayLike<number>, plen: number): void {
    const S = this.stride;
    const nodes = this.nodes;
    // At most one node per prefix length is on the path: bounded by nBits + 1.
    let parent = -1;
    let grand = -1;
    let cur = 0;
    let d = 0;
    while (d < plen) {
      const next = nodes[cur * S + C0 + this.bit(words, d)];
      if (next === 0) return;
      const D = nodes[next * S + DEPTH];
      if (D > plen || this.firstDiff(words, next, d + 1, D) !== D) return;
      grand = parent;
      parent = cur;
      cur = next;
      d = D;
    }
    const b = cur * S;
    if (nodes[b + CNT] === 0) return;
    nodes[b + CNT]--;
    this.size--;
    if (cur === 0 || nodes[b + CNT] > 0) return;
    // Keep the trie compressed: a node with no prefix and fewer than two children goes.
    const c0 = nodes[b + C0];
    const c1 = nodes[b + C0 + 1];
    if (c0 !== 0 && c1 !== 0) return;
    const pslot = parent * S + C0 + this.nodeBit(cur, nodes[parent * S + DEPTH]);
    nodes[pslot] = c0 !== 0 ? c0 : c1;
    this.freeList.push(cur);
    if (c0 !== 0 || c1 !== 0 || parent === 0) return;
    // cur was a leaf: its parent may now be a prefix-less node with one child.
    const pb = parent * S;
    if (nodes[pb + CNT] !== 0) return;
    const only = nodes[pb + C0] !== 0 ? nodes[pb + C0] : nodes[pb + C0 + 1];
    if (nodes[pb + C0] !== 0 && nodes[pb + C0 + 1] !== 0) return;
    const gslot = grand * S + C0 + this.nodeBit(parent, nodes[grand * S + DEPTH]);
    nodes[gslot] = only;
    this.freeList.push(parent);
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
    const S = this.stride;
    if (nodes[CNT] > 0) plens[0] |= 1;
    const nBits = this.nBits;
    let cur = 0;
    let d = 0;
    while (d < nBits) {
      const next = nodes[cur * S + C0 + this.bit(key, d)];
      if (next === 0) return d + 1;
      const D = nodes[next * S + DEPTH];
      const m = this.firstDiff(key, next, d + 1, D);
      if (m !== D) return m + 1;
      cur = next;
      d = D;
      if (nodes[next * S + CNT] > 0) plens[d >>> 5] |= 1 << (d & 31);
    }
    return nBits;
  }
}

export function plenIsSet(plens: Uint32Array, plen: number): boolean {
  return (plens[plen >>> 5] & (1 << (plen & 31))) !== 0;
}
