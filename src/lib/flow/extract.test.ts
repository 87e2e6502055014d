import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { extractFlow, LAYER_L3, LAYER_L4, N_LAYERS, setFlowVlanLimit } from './extract.ts';
import { GOLDEN_FRAMES } from './golden-frames.ts';
import {
  FLOW_WORDS,
  getDlType,
  getNwFrag,
  getNwProto,
  getTpDst,
  getTpSrc,
  W_ARP_SHA,
  W_ND_TARGET,
  W_NW_SRC,
  W_TCP_FLAGS,
  W_VLAN0,
  W_VLAN1,
} from './layout.ts';
import { flowToString } from './match-format.ts';

const OVS_OFCTL = '/usr/bin/ovs-ofctl';
const frames = GOLDEN_FRAMES.map((g) => ({ ...g, bytes: Buffer.from(g.hex, 'hex') }));

function frame(name: string): Uint8Array {
  const f = frames.find((x) => x.name === name);
  assert.ok(f, name);
  return f.bytes;
}

function parse(b: Uint8Array, len = b.length): Uint32Array {
  const key = new Uint32Array(FLOW_WORDS);
  extractFlow(b, 0, len, 0xffff, key);
  return key;
}

/* A naive pcap writer (classic libpcap format, Ethernet link type). */
function pcap(packets: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  parts.push(hdr);
  for (const p of packets) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(p.length, 8);
    rh.writeUInt32LE(p.length, 12);
    parts.push(rh, Buffer.from(p));
  }
  return Buffer.concat(parts);
}

test('every golden frame and every prefix of it parses as real ovs-ofctl parse-pcap says', {}, () => {
  const packets: Uint8Array[] = [];
  const labels: string[] = [];
  for (const f of frames) {
    for (let n = 1; n <= f.bytes.length; n++) {
      packets.push(f.bytes.subarray(0, n));
      labels.push(`${f.name}[0..${n})`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'ts-extract-'));
  try {
    const file = join(dir, 'golden.pcap');
    writeFileSync(file, pcap(packets));
    const out = execFileSync(OVS_OFCTL, ['parse-pcap', file], { encoding: 'utf8' });
    const lines = out.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, packets.length);
    setFlowVlanLimit(2);
    const bad: string[] = [];
    for (let i = 0; i < packets.length; i++) {
      const ours = flowToString(parse(packets[i]));
      if (ours !== lines[i]) bad.push(`${labels[i]}\n  ovs:  ${lines[i]}\n  ours: ${ours}`);
    }
    assert.deepEqual(bad.slice(0, 10), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IPv4 TCP: addresses, ports, flags and layer offsets', () => {
  const b = frame('ipv4-tcp-syn');
  const key = new Uint32Array(FLOW_WORDS);
  const layers = new Int32Array(N_LAYERS);
  extractFlow(b, 0, b.length, 7, key, layers);
  assert.equal(key[0], 7);
  assert.equal(getDlType(key), 0x0800);
  assert.equal(key[W_NW_SRC], 0xc6120001);
  assert.equal(getNwProto(key), 6);
  assert.equal(getTpSrc(key), 1234);
  assert.equal(getTpDst(key), 80);
  assert.equal(key[W_TCP_FLAGS], 0x002);
  assert.equal(layers[LAYER_L3], 14);
  assert.equal(layers[LAYER_L4], 34);
});

test('a frame inside a larger buffer parses the same at any offset', () => {
  const b = frame('vlan-arp-request');
  const big = new Uint8Array(b.length + 37);
  big.set(b, 11);
  assert.deepEqual(
    parse(b),
    (() => {
      const k = new Uint32Array(FLOW_WORDS);
      extractFlow(big, 11, b.length, 0xffff, k);
      return k;
    })(),
  );
});

test('IPv4 later fragments carry no L4 fields; first fragments do', () => {
  const later = parse(frame('ipv4-later-fragment'));
  assert.equal(getNwFrag(later), 3);
  assert.equal(getTpSrc(later), 0);
  const first = parse(frame('ipv4-first-fragment'));
  assert.equal(getNwFrag(first), 1);
  assert.equal(getTpDst(first), 20);
});

test('IPv6 later fragment reports nw_proto 44 (fragment) like OVS', () => {
  const k = parse(frame('ipv6-later-fragment'));
  assert.equal(getNwProto(k), 44);
  assert.equal(getNwFrag(k), 3);
});

test('IPv4 with IHL below 5 stops after the Ethernet header', () => {
  const k = parse(frame('ipv4-bad-ihl'));
  assert.equal(getDlType(k), 0x0800);
  assert.equal(k[W_NW_SRC], 0);
  assert.equal(getNwProto(k), 0);
});

test('ND: target and SLL; a repeated SLL option drops target and addresses', () => {
  const ok = parse(frame('ipv6-nd-ns-sll'));
  assert.equal(ok[W_ND_TARGET + 3], 2);
  assert.equal(ok[W_ARP_SHA], 0x0000);
  assert.equal(ok[W_ARP_SHA + 1], 0x5e005301);
  const dup = parse(frame('ipv6-nd-ns-dup-sll'));
  assert.equal(dup[W_ND_TARGET + 3], 0);
  assert.equal(dup[W_ARP_SHA + 1], 0);
});

test('two VLAN tags are parsed, or one when the vlan limit is 1', () => {
  setFlowVlanLimit(2);
  const k2 = parse(frame('qinq-icmp'));
  assert.equal(k2[W_VLAN0], 0x88a8_b064);
  assert.equal(k2[W_VLAN1], 0x8100_1014);
  assert.equal(getDlType(k2), 0x0800);
  setFlowVlanLimit(1);
  const k1 = parse(frame('qinq-icmp'));
  assert.equal(k1[W_VLAN1], 0);
  assert.equal(getDlType(k1), 0x8100);
  setFlowVlanLimit(2);
});

test('random bytes and random truncations never throw', () => {
  const key = new Uint32Array(FLOW_WORDS);
  const layers = new Int32Array(N_LAYERS);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(250), (bytes, len) => {
      extractFlow(bytes, 0, len, 1, key, layers);
    }),
    { numRuns: 3000 },
  );
  // Golden frames with random byte corruptions keep deep header paths exercised.
  fc.assert(
    fc.property(
      fc.constantFrom(...frames.map((f) => f.bytes)),
      fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }),
      (b, edits) => {
        const c = Uint8Array.from(b);
        for (const [i, v] of edits) if (i < c.length) c[i] = v;
        extractFlow(c, 0, c.length, 1, key, layers);
      },
    ),
    { numRuns: 3000 },
  );
});

test('bytes past `len` never influence the key', () => {
  const a = new Uint32Array(FLOW_WORDS);
  const b = new Uint32Array(FLOW_WORDS);
  fc.assert(
    fc.property(
      fc.constantFrom(...frames.map((f) => f.bytes)),
      fc.nat(200),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      (g, cut, junk) => {
        const len = Math.min(cut, g.length);
        const padded = new Uint8Array(len + junk.length);
        padded.set(g.subarray(0, len));
        padded.set(junk, len);
        extractFlow(g.subarray(0, len), 0, len, 1, a);
        extractFlow(padded, 0, len, 1, b);
        assert.deepEqual(b, a);
      },
    ),
    { numRuns: 2000 },
  );
});

test('randomly corrupted golden frames parse as real ovs-ofctl parse-pcap says', {}, () => {
  // Corruptions aim at header bytes (the first 80), where parsing decisions are made.
  const samples = fc.sample(
    fc.tuple(
      fc.constantFrom(...frames.map((f) => f.bytes)),
      fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      fc.nat(8),
    ),
    { numRuns: 3000, seed: 20261124 },
  );
  const packets = samples.map(([b, edits, trim]) => {
    const c = Uint8Array.from(b.subarray(0, Math.max(1, b.length - trim)));
    for (const [i, v] of edits) if (i < c.length) c[i] = v;
    return c;
  });
  const dir = mkdtempSync(join(tmpdir(), 'ts-extract-fuzz-'));
  try {
    const file = join(dir, 'fuzz.pcap');
    writeFileSync(file, pcap(packets));
    const out = execFileSync(OVS_OFCTL, ['parse-pcap', file], { encoding: 'utf8' });
    const lines = out.split('\n').filter((l) => l.length > 0);
    assert.equal(lines.length, packets.length);
    setFlowVlanLimit(2);
    const bad: string[] = [];
    for (let i = 0; i < packets.length; i++) {
      const ours = flowToString(parse(packets[i]));
      if (ours !== lines[i]) {
        bad.push(
          `${Buffer.from(packets[i]).toString('hex')}\n  ovs:  ${lines[i]}\n  ours: ${ours}`,
        );
      }
    }
    assert.deepEqual(bad.slice(0, 5), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
