/*
 * A multiset of 30-bit hashes with counts: the classifier's per-stage index. Open addressing
 * with linear probing and backward-shift deletion in typed arrays, so `has()` is a few array
 * reads and allocates nothing.
 */

export class HashCount {
  private keys: Int32Array; // hash + 1, 0 = empty slot
  private counts: Int32Array;
  private mask: number;
  private n = 0;

  constructor(capacity = 8) {
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.keys = new Int32Array(size);
    this.counts = new Int32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.n;
  }

  has(hash: number): boolean {
    const k = hash + 1;
    const keys = this.keys;
    const mask = this.mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const x = keys[i];
      if (x === k) return true;
      if (x === 0) return false;
    }
  }

  add(hash: number): void {
    if ((this.n + 1) * 2 > this.keys.length) this.grow();
    const k = hash + 1;
    const mask = this.mask;
    let i = hash & mask;
    while (this.keys[i] !== 0 && this.keys[i] !== k) i = (i + 1) & mask;
    if (this.keys[i] === 0) {
      this.keys[i] = k;
      this.n++;
    }
    this.counts[i]++;
  }

  remove(hash: number): void {
    const k = hash + 1;
    const keys = this.keys;
    const mask = this.mask;
    let i = hash & mask;
    while (keys[i] !== k) {
      if (keys[i] === 0) return;
      i = (i + 1) & mask;
    }
    if (--this.counts[i] > 0) return;
    // Backward-shift deletion keeps every probe sequence unbroken.
    let j = i;
    for (;;) {
      keys[i] = 0;
      this.counts[i] = 0;
      for (;;) {
        j = (j + 1) & mask;
        if (keys[j] === 0) {
          this.n--;
          return;
        }
        const home = (keys[j] - 1) & mask;
        // Move j back to i unless its home lies cyclically in (i, j].
        if (i <= j ? home <= i || home > j : home <= i && home > j) break;
      }
      keys[i] = keys[j];
      this.counts[i] = this.counts[j];
      i = j;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    this.keys = new Int32Array(oldKeys.length * 2);
    this.counts = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    for (let s = 0; s < oldKeys.length; s++) {
      if (oldKeys[s] === 0) continue;
      let i = (oldKeys[s] - 1) & this.mask;
      while (this.keys[i] !== 0) i = (i + 1) & this.mask;
      this.keys[i] = oldKeys[s];
      this.counts[i] = oldCounts[s];
    }
  }
}
