/*
 * A 32-bit hash over key words in the style of MurmurHash3 (as OVS's hash.h uses): cheap
 * per-word mixing so it can run incrementally across the classifier's lookup stages, and a
 * final avalanche. Results are 30-bit so V8 keeps them as small integers (no boxing).
 */

import { FLOW_WORDS, type FlowKey } from './layout.ts';

export function hashAdd(hash: number, data: number): number {
  data = Math.imul(data, 0xcc9e2d51);
  data = (data << 15) | (data >>> 17);
  data = Math.imul(data, 0x1b873593);
  hash ^= data;
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

export function hashFinish(hash: number, nWords: number): number {
  hash ^= nWords << 2;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash & 0x3fffffff;
}

/** Hash of words [start, end) of `words`. */
export function hashWords(words: Uint32Array, start: number, end: number, basis = 0): number {
  let h = basis;
  for (let i = start; i < end; i++) h = hashAdd(h, words[i]);
  return hashFinish(h, end - start);
}

/** Hash of a whole flow key (the exact-match cache's hash, computed once per packet). */
export function flowHash(key: FlowKey, basis = 0): number {
  return hashWords(key, 0, FLOW_WORDS, basis);
}

/** Hash of `key & mask` over all words. */
export function flowHashMasked(key: FlowKey, mask: FlowKey, basis = 0): number {
  let h = basis;
  for (let i = 0; i < FLOW_WORDS; i++) h = hashAdd(h, key[i] & mask[i]);
  return hashFinish(h, FLOW_WORDS);
}
