/**
 * The iteration order of OVS's string hash maps (lib/shash.c over lib/hmap.c, keyed by
 * lib/hash.c's hash_string). Several ovsdb-client outputs list tables, columns or monitor rows
 * in that order, so reproducing it is what makes our output byte-identical. Assumes the
 * portable Murmur-based hash (OVS builds without SSE4.2, as Debian's do).
 */
import type { Json, JsonObject } from '../../lib/json.ts';
import { formatJsonNumber, quoteJsonString } from '../../lib/table-format.ts';

/** lib/hash.c hash_string: one implementation for the whole tree, in ../ovs-hash-order.ts. */
import { ovsHashString as hashString } from '../ovs-hash-order.ts';

export { hashString };

function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask;
}

/**
 * The order in which an OVS shash that had `keys` inserted in this order iterates them
 * (duplicates are inserted as given).
 */
export function shashOrder(keys: readonly string[]): string[] {
  return hmapOrder(keys, hashString);
}

/** Like shashOrder for any key with the given 32-bit hash function. */
export function hmapOrder<K>(keys: readonly K[], hash: (k: K) => number): K[] {
  let mask = 0;
  // Each bucket is a chain, head first (OVS inserts at the head).
  let buckets: { key: K; hash: number }[][] = [[]];
  let n = 0;
  for (const key of keys) {
    const h = hash(key);
    (buckets[h & mask] as { key: K; hash: number }[]).unshift({ key, hash: h });
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = calcMask(n);
      if (newMask > mask) {
        const next: { key: K; hash: number }[][] = Array.from({ length: newMask + 1 }, () => []);
        for (const chain of buckets)
          for (const node of chain)
            (next[node.hash & newMask] as { key: K; hash: number }[]).unshift(node);
        buckets = next;
        mask = newMask;
      }
    }
  }
  const out: K[] = [];
  for (const chain of buckets) for (const node of chain) out.push(node.key);
  return out;
}

/**
 * Serializes like OVS's json_to_string without JSSF_SORT: compact, and each object's members
 * in the iteration order of an shash into which they were inserted in Object.keys() order.
 * Build objects in the order OVS's code would have inserted the members.
 */
/** Objects whose Object.keys() order already is the final iteration order. */
export const PREORDERED: WeakSet<object> = new WeakSet();

export function jsonToStringHashOrder(json: Json): string {
  const parts: string[] = [];
  const walk = (j: Json): void => {
    if (j === null) parts.push('null');
    else if (typeof j === 'boolean') parts.push(j ? 'true' : 'false');
    else if (typeof j === 'number') parts.push(formatJsonNumber(j));
    else if (typeof j === 'string') parts.push(quoteJsonString(j));
    else if (Array.isArray(j)) {
      parts.push('[');
      j.forEach((e, i) => {
        if (i) parts.push(',');
        walk(e);
      });
      parts.push(']');
    } else {
      parts.push('{');
      const keys = PREORDERED.has(j) ? Object.keys(j) : shashOrder(Object.keys(j));
      keys.forEach((k, i) => {
        if (i) parts.push(',');
        parts.push(quoteJsonString(k), ':');
        walk((j as JsonObject)[k] as Json);
      });
      parts.push('}');
    }
  };
  walk(json);
  return parts.join('');
}
