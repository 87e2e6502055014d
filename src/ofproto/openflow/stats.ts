/*
 * Counter statistics bodies of multipart/stats replies: table, port, queue, group and meter
 * statistics, and the group and meter feature replies, per OpenFlow version (OF1.0 and
 * OF1.3+ layouts; OF1.4 ports and queues carry lengths and properties).
 */

import type { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import { portFromOfp11, portToOfp11 } from './match-nxm.ts';

const U64_MAX = 0xffffffffffffffffn;

export interface TableStats {
  tableId: number;
  /** OF1.0 only. */
  name: string;
  wildcards: number;
  maxEntries: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  /** -1 when unknown (OF1.0/1.1 carry no duration). */
  durationSec: number;
  durationNsec: number;
  /** A netdev's own named counters (OF1.4+: Intel's experimenter property, as OVS sends). */
  custom?: readonly (readonly [string, bigint])[];
}

export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationSec: number;
  durationNsec: number;
}

export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  buckets: Array<{ packetCount: bigint; byteCount: bigint }>;
}

export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bands: Array<{ packetCount: bigint; byteCount: bigint }>;
}

export interface GroupFeatures {
  types: number;
  capabilities: number;
  maxGroups: [number, number, number, number];
  actions: [number, number, number, number];
}

export interface MeterFeatures {
  maxMeter: number;
  bandTypes: number;
  capabilities: number;
  maxBands: number;
  maxColor: number;
}

/* ---------------------------------------------------------------------------------------- */

export function putTableStats(w: Writer, t: TableStats, version: number): void {
  if (version === 1) {
    w.u8(t.tableId).zeros(3).str(t.name, 32).u32(t.wildcards).u32(t.maxEntries);
    w.u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
    return;
  }
  if (version < 4) {
    putOfp11TableStats(w, t, version);
    return;
  }
  w.u8(t.tableId).zeros(3).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
}

/*
 * OF1.1 and OF1.2 table stats carry the table's capabilities too; the bitmaps are the ones
 * real ovs-vswitchd 3.1 sends (captured from its OFPST_TABLE replies). The last table has no
 * goto_table instruction. Real ovs-ofctl reads these replies before add-flows in OF1.1/1.2.
 */
function putOfp11TableStats(w: Writer, t: TableStats, version: number): void {
  const instructions = t.tableId >= 253 ? 0x3c : 0x3e;
  w.u8(t.tableId).zeros(7).str(t.name, 32);
  if (version === 2) {
    w.u32(0xfbff).u32(0xfbff).u32(instructions).u32(0x01ffe7ff).u32(0x01ffe7ff);
  } else {
    w.u64(0x0000101ffffffffdn).u64(0x0000101ffffffffdn).u32(0x03ff8001).u32(0x03ff8001);
    w.u64(0x0000000ffffffbddn).u64(0x0000000ffffffbddn).u64(U64_MAX).u64(U64_MAX);
    w.u32(instructions);
  }
  w.u32(0).u32(t.maxEntries).u32(t.activeCount).u64(t.lookupCount).u64(t.matchedCount);
}

export function pullTableStats(r: Reader, version: number): TableStats {
  if (version === 1) {
    const tableId = r.u8();
    r.skip(3);
    return {
      tableId,
      name: r.str(32),
      wildcards: r.u32(),
      maxEntries: r.u32(),
      activeCount: r.u32(),
      lookupCount: r.u64(),
      matchedCount: r.u64(),
    };
  }
  if (version < 4) {
    const tableId = r.u8();
    r.skip(7);
    const name = r.str(32);
    r.skip(version === 2 ? 24 : 64);
    return {
      tableId,
      name,
      wildcards: 0,
      maxEntries: r.u32(),
      activeCount: r.u32(),
      lookupCount: r.u64(),
      matchedCount: r.u64(),
    };
  }
  const tableId = r.u8();
  r.skip(3);
  return {
    tableId,
    name: '',
    wildcards: 0,
    maxEntries: 0,
    activeCount: r.u32(),
    lookupCount: r.u64(),
    matchedCount: r.u64(),
  };
}

const PORT_COUNTERS = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxDropped',
  'txDropped',
  'rxErrors',
  'txErrors',
] as const;
const PORT_ETH_COUNTERS = ['rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions'] as const;

const INTEL_VENDOR_ID = 0xaa01;
const INTEL_PORT_STATS_CUSTOM = 2;

export function putPortStats(w: Writer, p: PortStats, version: number): void {
  if (version >= 5) {
    const at = w.pos;
    w.u16(0)
      .zeros(2)
      .u32(portToOfp11(p.portNo))
      .u32(Math.max(0, p.durationSec))
      .u32(p.durationNsec);
    for (const k of PORT_COUNTERS) w.u64(p[k]);
    w.u16(0).u16(40).zeros(4);
    for (const k of PORT_ETH_COUNTERS) w.u64(p[k]);
    if (p.custom?.length) {
      const prop = w.pos;
      w.u16(0xffff).u16(0).u32(INTEL_VENDOR_ID).u32(INTEL_PORT_STATS_CUSTOM);
      w.zeros(2).u16(p.custom.length);
      for (const [name, value] of p.custom) {
        const n = Buffer.from(name, 'latin1');
        w.u8(n.length).bytes(n).u64(value);
      }
      w.setU16(prop + 2, w.pos - prop);
      w.pad(8, prop);
    }
    w.setU16(at, w.pos - at);
    return;
  }
  if (version === 1) w.u16(p.portNo).zeros(6);
  else w.u32(portToOfp11(p.portNo)).zeros(4);
  for (const k of PORT_COUNTERS) w.u64(p[k]);
  for (const k of PORT_ETH_COUNTERS) w.u64(p[k]);
  if (version >= 4) w.u32(Math.max(0, p.durationSec)).u32(p.durationNsec);
}

export function pullPortStats(r: Reader, version: number): PortStats {
  const p = {
    durationSec: -1,
    durationNsec: 0,
    rxFrameErr: U64_MAX,
    rxOverErr: U64_MAX,
    rxCrcErr: U64_MAX,
    collisions: U64_MAX,
  } as PortStats;
  if (version >= 5) {
    const start = r.pos;
    const len = r.u16();
    if (len < 80 || len - 2 > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'port stats');
    r.skip(2);
    p.portNo = portFromOfp11(r.u32()) ?? 0xffff;
    p.durationSec = r.u32();
    p.durationNsec = r.u32();
    for (const k of PORT_COUNTERS) p[k] = r.u64();
    while (r.pos < start + len) {
      const t = r.u16();
      const plen = r.u16();
      if (plen < 4) throw new OfpError('OFPBPC_BAD_LEN', 'port stats property');
      const body = r.sub(((plen + 7) & ~7) - 4);
      if (t === 0 && plen >= 40) {
        body.skip(4);
        for (const k of PORT_ETH_COUNTERS) p[k] = body.u64();
      }
    }
    return p;
  }
  if (version === 1) {
    p.portNo = r.u16();
    r.skip(6);
  } else {
    p.portNo = portFromOfp11(r.u32()) ?? 0xffff;
    r.skip(4);
  }
  for (const k of PORT_COUNTERS) p[k] = r.u64();
  for (const k of PORT_ETH_COUNTERS) p[k] = r.u64();
  if (version >= 4) {
    p.durationSec = r.u32();
    p.durationNsec = r.u32();
  }
  return p;
}

export function putQueueStats(w: Writer, q: QueueStats, version: number): void {
  const at = w.pos;
  if (version >= 5) w.u16(48).zeros(6);
  if (version === 1) w.u16(q.portNo).zeros(2);
  else w.u32(portToOfp11(q.portNo));
  w.u32(q.queueId).u64(q.txBytes).u64(q.txPackets).u64(q.txErrors);
  if (version >= 4) w.u32(Math.max(0, q.durationSec)).u32(q.durationNsec);
  if (version >= 5) w.setU16(at, w.pos - at);
}

export function pullQueueStats(r: Reader, version: number): QueueStats {
  let end = -1;
  if (version >= 5) {
    const start = r.pos;
    const len = r.u16();
    if (len < 48 || len - 2 > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'queue stats');
    r.skip(6);
    end = start + len;
  }
  const portNo = version === 1 ? r.u16() : (portFromOfp11(r.u32()) ?? 0xffff);
  if (version === 1) r.skip(2);
  const q: QueueStats = {
    portNo,
    queueId: r.u32(),
    txBytes: r.u64(),
    txPackets: r.u64(),
    txErrors: r.u64(),
    durationSec: -1,
    durationNsec: 0,
  };
  if (version >= 4) {
    q.durationSec = r.u32();
    q.durationNsec = r.u32();
  }
  if (end >= 0) r.pos = end;
  return q;
}

export function putGroupStats(w: Writer, g: GroupStats, version: number): void {
  const at = w.pos;
  w.u16(0).zeros(2).u32(g.groupId).u32(g.refCount).zeros(4).u64(g.packetCount).u64(g.byteCount);
  if (version >= 4 || version === 1) w.u32(Math.max(0, g.durationSec)).u32(g.durationNsec);
  for (const b of g.buckets) w.u64(b.packetCount).u64(b.byteCount);
  w.setU16(at, w.pos - at);
}

export function pullGroupStats(r: Reader, version: number): GroupStats {
  const start = r.pos;
  const len = r.u16();
  // OVS's NXST_GROUP (OpenFlow 1.0) carries OpenFlow 1.3's entries, durations included.
  const withDuration = version >= 4 || version === 1;
  const base = withDuration ? 40 : 32;
  if (len < base || (len - base) % 16 || len - 2 > r.remaining) {
    throw new OfpError('OFPBRC_BAD_LEN', 'group stats');
  }
  r.skip(2);
  const groupId = r.u32();
  const refCount = r.u32();
  r.skip(4);
  const g: GroupStats = {
    groupId,
    refCount,
    packetCount: r.u64(),
    byteCount: r.u64(),
    durationSec: -1,
    durationNsec: 0,
    buckets: [],
  };
  if (withDuration) {
    g.durationSec = r.u32();
    g.durationNsec = r.u32();
  }
  while (r.pos < start + len) g.buckets.push({ packetCount: r.u64(), byteCount: r.u64() });
  return g;
}

export function putMeterStats(w: Writer, m: MeterStats): void {
  const at = w.pos;
  w.u32(m.meterId).u16(0).zeros(6).u32(m.flowCount).u64(m.packetInCount).u64(m.byteInCount);
  w.u32(m.durationSec).u32(m.durationNsec);
  for (const b of m.bands) w.u64(b.packetCount).u64(b.byteCount);
  w.setU16(at + 4, w.pos - at);
}

export function pullMeterStats(r: Reader): MeterStats {
  const start = r.pos;
  const meterId = r.u32();
  const len = r.u16();
  if (len < 40 || (len - 40) % 16 || len - 6 > r.remaining) {
    throw new OfpError('OFPBRC_BAD_LEN', 'meter stats');
  }
  r.skip(6);
  const m: MeterStats = {
    meterId,
    flowCount: r.u32(),
    packetInCount: r.u64(),
    byteInCount: r.u64(),
    durationSec: r.u32(),
    durationNsec: r.u32(),
    bands: [],
  };
  while (r.pos < start + len) m.bands.push({ packetCount: r.u64(), byteCount: r.u64() });
  return m;
}

export function putGroupFeatures(w: Writer, f: GroupFeatures): void {
  w.u32(f.types).u32(f.capabilities);
  for (const x of f.maxGroups) w.u32(x);
  for (const x of f.actions) w.u32(x);
}

export function pullGroupFeatures(r: Reader): GroupFeatures {
  const types = r.u32();
  const capabilities = r.u32();
  const maxGroups = [r.u32(), r.u32(), r.u32(), r.u32()] as [number, number, number, number];
  const actions = [r.u32(), r.u32(), r.u32(), r.u32()] as [number, number, number, number];
  return { types, capabilities, maxGroups, actions };
}

export function putMeterFeatures(w: Writer, f: MeterFeatures): void {
  w.u32(f.maxMeter).u32(f.bandTypes).u32(f.capabilities).u8(f.maxBands).u8(f.maxColor).zeros(2);
}

export function pullMeterFeatures(r: Reader): MeterFeatures {
  const f: MeterFeatures = {
    maxMeter: r.u32(),
    bandTypes: r.u32(),
    capabilities: r.u32(),
    maxBands: r.u8(),
    maxColor: r.u8(),
  };
  r.skip(2);
  return f;
}
