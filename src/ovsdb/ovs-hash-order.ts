/**
 * The order in which Open vSwitch iterates a JSON object's members (a `struct shash`: an
 * hmap keyed by hash_string(name, 0)). Real OVS tools print some things in that order
 * (e.g. `ovsdb-tool show-log -m` lists tables, rows and columns as the parsed record's
 * shash yields them), so reproducing their output needs the same order.
 *
 * The model: OVS's 32-bit murmur-style hash_bytes() (the portable "mhash" variant that
 * generic x86-64 and most distribution builds use), buckets chosen by `hash & mask`, new
 * nodes pushed at the head of their bucket, the table doubled (rehashing buckets in order,
 * each chain from its head) once it holds more than twice as many nodes as buckets, and
 * iteration bucket by bucket, each chain from its head.
 */
import type { Json, JsonObject } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function mhashAdd(hash: number, data: number): number {
  if (data !== 0) {
    let d = Math.imul(data, 0xcc9e2d51) >>> 0;
    d = rotl(d, 15);
    d = Math.imul(d, 0x1b873593) >>> 0;
    hash = (hash ^ d) >>> 0;
  }
  hash = rotl(hash, 13);
  return (Math.imul(hash, 5) + 0xe6546b64) >>> 0;
}

function mhashFinish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** OVS's hash_bytes(p, n, basis) over little-endian 32-bit words. */
export function ovsHashBytes(bytes: Uint8Array, basis = 0): number {
  let hash = basis >>> 0;
  const n = bytes.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w =
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24)) >>>
      0;
    hash = mhashAdd(hash, w);
  }
  if (i < n) {
    let w = 0;
    for (let j = 0; i + j < n; j++) w |= (bytes[i + j] as number) << (8 * j);
    hash = mhashAdd(hash, w >>> 0);
  }
  return mhashFinish((hash ^ n) >>> 0);
}

const encoder = new TextEncoder();

/** OVS's hash_string(s, basis) on the UTF-8 bytes of `s`. */
export function ovsHashString(s: string, basis = 0): number {
  return ovsHashBytes(encoder.encode(s), basis);
}

/** Column and table names recur in every record: keep their hashes (bounded). */
const hashCache = new Map<string, number>();
function cachedHash(name: string): number {
  let h = hashCache.get(name);
  if (h === undefined) {
    h = ovsHashString(name);
    if (hashCache.size >= 4096) hashCache.clear();
    hashCache.set(name, h);
  }
  return h;
}

function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask >>> 0;
}

/**
 * The iteration order of an OVS shash into which `names` were inserted in this order (a
 * repeated name keeps its first place, as json_object_put replaces in place).
 */
export function shashOrder(names: readonly string[]): string[] {
  let mask = 0;
  let buckets: { name: string; hash: number }[][] = [[]];
  const seen = new Set<string>();
  let n = 0;
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const hash = cachedHash(name);
    (buckets[hash & mask] as { name: string; hash: number }[]).unshift({ name, hash });
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = calcMask(n);
      if (newMask > mask) {
        const fresh: { name: string; hash: number }[][] = [];
        for (let i = 0; i <= newMask; i++) fresh.push([]);
        for (const chain of buckets) {
          for (const node of chain)
            (fresh[(node.hash & newMask) >>> 0] as typeof chain).unshift(node);
        }
        buckets = fresh;
        mask = newMask;
      }
    }
  }
  const out: string[] = [];
  for (const chain of buckets) for (const node of chain) out.push(node.name);
  return out;
}

/**
 * The same JSON with every object's members re-inserted in the order OVS would print an
 * object into which they were inserted in their JavaScript order. Serialised in that order
 * (jsonToOvsString), the bytes are what OVS writes when its code inserted them the same way.
 */
export function inOvsMemberOrder(json: Json): Json {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) return json.map(inOvsMemberOrder);
  const out: JsonObject = {};
  for (const k of shashOrder(Object.keys(json))) out[k] = inOvsMemberOrder(json[k] as Json);
  return out;
}

/** An object with the same members, inserted in `order`. */
function reinsert(obj: JsonObject, order: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of order) if (Object.hasOwn(obj, k)) out[k] = obj[k] as Json;
  return out;
}

/**
 * The order in which OVS's schema code visits a table's columns: the implicit `_uuid` and
 * `_version` first, then the columns in the order the parsed schema JSON yields them.
 */
export function ovsColumnOrder(parsedOrder: readonly string[]): string[] {
  return shashOrder(['_uuid', '_version', ...shashOrder(parsedOrder)]).filter(
    (c) => !c.startsWith('_'),
  );
}

/**
 * A schema's JSON (as schemaToJson builds it, tables and columns in the order they were
 * parsed) in the member order real OVS writes it (ovsdb_schema_to_json: tables and columns
 * inserted in the order its parsed schema yields them, then printed in hash order).
 */
export function schemaJsonInOvsOrder(schemaJson: JsonObject): JsonObject {
  return inOvsMemberOrder(schemaInsertionOrder(schemaJson)) as JsonObject;
}

function schemaInsertionOrder(schemaJson: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(schemaJson)) {
    if (k !== 'tables' || !isJsonObject(schemaJson.tables)) {
      out[k] = schemaJson[k] as Json;
      continue;
    }
    const tables = schemaJson.tables;
    const ordered: JsonObject = {};
    // The parsed JSON's member order, then the schema's own table shash built from it.
    for (const tname of shashOrder(shashOrder(Object.keys(tables)))) {
      const t = tables[tname];
      if (!isJsonObject(t) || !isJsonObject(t.columns)) {
        ordered[tname] = t as Json;
        continue;
      }
      const cols = t.columns;
      const tableOut: JsonObject = {};
      for (const m of Object.keys(t)) {
        tableOut[m] =
          m === 'columns' ? reinsert(cols, ovsColumnOrder(Object.keys(cols))) : (t[m] as Json);
      }
      ordered[tname] = tableOut;
    }
    out.tables = ordered;
  }
  return out;
}
