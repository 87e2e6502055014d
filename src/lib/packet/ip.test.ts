import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractFlow, LAYER_L3, LAYER_L4, N_LAYERS } from '../flow/extract.ts';
import { GOLDEN_FRAMES } from '../flow/golden-frames.ts';
import {
  FLOW_WORDS,
  W_ARP_SHA,
  W_ARP_THA,
  W_IPV6_SRC,
  W_ND_TARGET,
  W_NW,
  W_NW_SRC,
  W_TP,
  W_VLAN0,
} from '../flow/layout.ts';
import {
  setArpOp,
  setArpSha,
  setArpSpa,
  setArpTha,
  setArpTpa,
  setNdReserved,
  setNdSll,
  setNdTarget,
  setNdTll,
} from './arp-nd.ts';
import { crc32c } from './crc32c.ts';
import { popMpls, popVlan, pushMpls, pushVlan } from './eth.ts';
import {
  setIcmpTypeCode,
  setIpv4Dst,
  setIpv4Src,
  setIpv4Tos,
  setIpv4Ttl,
  setIpv6Src,
  setTpDst,
  setTpSrc,
} from './ip.ts';

function golden(name: string): Uint8Array {
  const g = GOLDEN_FRAMES.find((f) => f.name === name);
  assert.ok(g, name);
  const b = new Uint8Array(g.hex.length / 2 + 16);
  b.set(Buffer.from(g.hex, 'hex'));
  return b;
}

/* Deliberately naive RFC 1071 sum, independent of checksum.ts. */
function naiveSum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

function ipv4Ok(b: Uint8Array, l3: number): boolean {
  return naiveSum([...b.subarray(l3, l3 + 20)]) === 0xffff;
}

function l4OkV4(b: Uint8Array, l3: number, l4: number, end: number): boolean {
  const pseudo = [
    ...b.subarray(l3 + 12, l3 + 20),
    0,
    b[l3 + 9],
    (end - l4) >> 8,
    (end - l4) & 0xff,
  ];
  return naiveSum([...pseudo, ...b.subarray(l4, end)]) === 0xffff;
}

function layers(b: Uint8Array, len: number): Int32Array {
  const key = new Uint32Array(FLOW_WORDS);
  const l = new Int32Array(N_LAYERS);
  extractFlow(b, 0, len, 0, key, l);
  return l;
}

test('rewriting IPv4 addresses, TOS, TTL and TCP ports keeps every checksum valid', () => {
  const b = golden('ipv4-tcp-options');
  const len = b.length - 16;
  const l = layers(b, len);
  const l3 = l[LAYER_L3];
  const l4 = l[LAYER_L4];
  assert.ok(ipv4Ok(b, l3) && l4OkV4(b, l3, l4, len), 'golden frame checksums');
  setIpv4Src(b, l3, l4, 0xc6120063);
  setIpv4Dst(b, l3, l4, 0xc6130001);
  setIpv4Tos(b, l3, 0x10);
  setIpv4Ttl(b, l3, 3);
  setTpSrc(b, 6, l4, len - l4, 8080);
  setTpDst(b, 6, l4, len - l4, 22);
  assert.ok(ipv4Ok(b, l3));
  assert.ok(l4OkV4(b, l3, l4, len));
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, len, 0, key);
  assert.equal(key[W_NW_SRC], 0xc6120063);
  assert.equal(key[W_TP], ((8080 << 16) | 22) >>> 0);
});

test('UDP checksums are updated, ICMP type/code too', () => {
  const b = golden('ipv4-udp');
  const len = b.length - 16;
  const l = layers(b, len);
  setIpv4Src(b, l[LAYER_L3], l[LAYER_L4], 0x0a000001);
  setTpDst(b, 17, l[LAYER_L4], len - l[LAYER_L4], 5300);
  assert.ok(l4OkV4(b, l[LAYER_L3], l[LAYER_L4], len));
  const i = golden('ipv4-icmp-echo');
  const il = layers(i, i.length - 16);
  setIcmpTypeCode(i, il[LAYER_L4], 0, 0);
  assert.equal(naiveSum([...i.subarray(il[LAYER_L4], i.length - 16)]), 0xffff);
});

test('rewriting an IPv6 source keeps the TCP checksum over the pseudo-header valid', () => {
  const b = golden('ipv6-tcp');
  const len = b.length - 16;
  const l = layers(b, len);
  const l3 = l[LAYER_L3];
  const l4 = l[LAYER_L4];
  const ok = () => {
    const n = len - l4;
    const pseudo = [...b.subarray(l3 + 8, l3 + 40), 0, 0, n >> 8, n & 0xff, 0, 0, 0, 6];
    return naiveSum([...pseudo, ...b.subarray(l4, len)]) === 0xffff;
  };
  assert.ok(ok());
  setIpv6Src(b, l3, l4, 6, [0x20010db8, 0, 0, 0x99]);
  assert.ok(ok());
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, len, 0, key);
  assert.equal(key[W_IPV6_SRC + 3], 0x99);
});

test('SCTP port rewrite recomputes the CRC32c', () => {
  const b = golden('ipv4-sctp');
  const len = b.length - 16;
  const l = layers(b, len);
  const l4 = l[LAYER_L4];
  setTpSrc(b, 132, l4, len - l4, 2905);
  const stored = b[l4 + 8] | (b[l4 + 9] << 8) | (b[l4 + 10] << 16) | (b[l4 + 11] * 2 ** 24);
  const c = Uint8Array.from(b.subarray(l4, len));
  c.fill(0, 8, 12);
  assert.equal(stored, crc32c(c, 0, c.length));
  // RFC 3720 B.4 test vector: 32 bytes of zeros.
  assert.equal(crc32c(new Uint8Array(32), 0, 32), 0x8a9136aa);
});

test('VLAN and MPLS push/pop round-trip the frame', () => {
  const b = golden('ipv4-udp');
  const len = b.length - 16;
  const orig = Uint8Array.from(b.subarray(0, len));
  const l2 = pushVlan(b, 0, len, 0x8100, 0x2005);
  assert.equal(l2, len + 4);
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, l2, 0, key);
  assert.equal(key[W_VLAN0], 0x8100_3005);
  assert.equal(popVlan(b, 0, l2), len);
  assert.deepEqual(b.subarray(0, len), orig);
  const l3 = pushMpls(b, 0, len, 0x8847, (100 << 12) | 0x100 | 64);
  assert.equal(l3, len + 4);
  assert.equal(popMpls(b, 0, l3, 0x0800), len);
  assert.deepEqual(b.subarray(0, len), orig);
  assert.equal(pushVlan(new Uint8Array(20), 0, 20, 0x8100, 1), -1);
});

test('ND target and SLL rewrites keep the ICMPv6 checksum valid', () => {
  const b = golden('ipv6-nd-ns-sll');
  const len = b.length - 16;
  const l = layers(b, len);
  const l3 = l[LAYER_L3];
  const l4 = l[LAYER_L4];
  const ok = () => {
    const n = len - l4;
    const pseudo = [...b.subarray(l3 + 8, l3 + 40), 0, 0, n >> 8, n & 0xff, 0, 0, 0, 58];
    return naiveSum([...pseudo, ...b.subarray(l4, len)]) === 0xffff;
  };
  assert.ok(ok());
  setNdTarget(b, l4, [0x20010db8, 0, 0, 0x77]);
  assert.ok(setNdSll(b, l4, len - l4, 0x0200, 0x00000001));
  assert.equal(setNdTll(b, l4, len - l4, 0, 1), false);
  setNdReserved(b, l4, 0x20000000);
  assert.ok(ok());
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, len, 0, key);
  assert.equal(key[W_ND_TARGET + 3], 0x77);
  assert.equal(key[W_ARP_SHA], 0x0200);
});

test('ARP field rewrites show up in the extracted key', () => {
  const b = golden('arp-reply');
  const len = b.length - 16;
  const l3 = layers(b, len)[LAYER_L3];
  setArpOp(b, l3, 1);
  setArpSpa(b, l3, 0xc6120009);
  setArpTpa(b, l3, 0xc612000a);
  setArpSha(b, l3, 0x0000, 0x5e005309);
  setArpTha(b, l3, 0, 0);
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, len, 0, key);
  assert.equal(key[W_NW_SRC], 0xc6120009);
  assert.equal(key[W_NW_SRC + 1], 0xc612000a);
  assert.equal(key[W_NW] & 0xff, 1);
  assert.equal(key[W_ARP_SHA + 1], 0x5e005309);
  assert.equal(key[W_ARP_THA + 1], 0);
});
