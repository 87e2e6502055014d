/*
 * IPFIX exporter statistics (Nicira NXST_IPFIX_BRIDGE and NXST_IPFIX_FLOW): one record per
 * exporter, as OVS's nx_ipfix_stats_reply, with the text OVS prints for them.
 */

import { OfpError } from './errors.ts';
import { nxstMessage, type RawMessage } from './raw-msg.ts';

export const NXST_IPFIX_BRIDGE = 3;
export const NXST_IPFIX_FLOW = 4;
const RECORD = 88;

export interface IpfixStats {
  collectorSetId: number;
  totalFlows: bigint;
  currentFlows: bigint;
  pkts: bigint;
  ipv4Pkts: bigint;
  ipv6Pkts: bigint;
  errorPkts: bigint;
  ipv4ErrorPkts: bigint;
  ipv6ErrorPkts: bigint;
  txPkts: bigint;
  txErrors: bigint;
}

const ORDER = [
  'totalFlows',
  'currentFlows',
  'pkts',
  'ipv4Pkts',
  'ipv6Pkts',
  'errorPkts',
  'ipv4ErrorPkts',
  'ipv6ErrorPkts',
  'txPkts',
  'txErrors',
] as const;

/**
 * Whether `raw` is an NXST_IPFIX_BRIDGE or NXST_IPFIX_FLOW request ('bridge' / 'flow'), or
 * null: codec.ts does not model these requests, the switch answers them from the raw bytes.
 */
export function ipfixStatsRequestKind(raw: Uint8Array): 'bridge' | 'flow' | null {
  const version = raw[0] ?? 0;
  const of10 = version === 1;
  const at = of10 ? 12 : 16;
  if (raw.length < at + 8 || raw[1] !== (of10 ? 16 : 18)) return null;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dv.getUint16(8) !== 0xffff || dv.getUint32(at) !== 0x2320) return null;
  const sub = dv.getUint32(at + 4);
  return sub === NXST_IPFIX_BRIDGE ? 'bridge' : sub === NXST_IPFIX_FLOW ? 'flow' : null;
}

export function encodeIpfixRequest(version: number, flow: boolean, xid: number): Uint8Array {
  return nxstMessage(
    version,
    false,
    flow ? NXST_IPFIX_FLOW : NXST_IPFIX_BRIDGE,
    xid,
    new Uint8Array(0),
  );
}

export function encodeIpfixReply(
  version: number,
  flow: boolean,
  stats: readonly IpfixStats[],
  xid: number,
): Uint8Array {
  const body = new Uint8Array(RECORD * stats.length);
  const dv = new DataView(body.buffer);
  stats.forEach((s, i) => {
    ORDER.forEach((k, j) => {
      dv.setBigUint64(i * RECORD + 8 * j, s[k]);
    });
    dv.setUint32(i * RECORD + 80, s.collectorSetId);
  });
  return nxstMessage(version, true, flow ? NXST_IPFIX_FLOW : NXST_IPFIX_BRIDGE, xid, body);
}

export function decodeIpfixReply(m: RawMessage): IpfixStats[] {
  const b = m.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: IpfixStats[] = [];
  let at = m.bodyAt;
  while (at < b.length) {
    if (b.length - at < RECORD) throw new OfpError('OFPBRC_BAD_LEN');
    const s = { collectorSetId: dv.getUint32(at + 80) } as IpfixStats;
    ORDER.forEach((k, j) => {
      s[k] = dv.getBigUint64(at + 8 * j);
    });
    out.push(s);
    at += RECORD;
  }
  return out;
}

const U64 = 0xffffffffffffffffn;

function stat(leader: string, v: bigint, more: boolean): string {
  return `${leader}${v === U64 ? '?' : v}${more ? ', ' : '\n'}`;
}

function statsText(s: IpfixStats, indent: number): string {
  return (
    stat('flows=', s.totalFlows, true) +
    stat('current flows=', s.currentFlows, true) +
    stat('sampled pkts=', s.pkts, true) +
    stat('ipv4 ok=', s.ipv4Pkts, true) +
    stat('ipv6 ok=', s.ipv6Pkts, true) +
    stat('tx pkts=', s.txPkts, false) +
    ' '.repeat(indent) +
    stat('pkts errs=', s.errorPkts, true) +
    stat('ipv4 errs=', s.ipv4ErrorPkts, true) +
    stat('ipv6 errs=', s.ipv6ErrorPkts, true) +
    stat('tx errs=', s.txErrors, false)
  );
}

export function formatIpfixBridgeReply(stats: readonly IpfixStats[]): string {
  return stats.map((s) => `\n  bridge ipfix: ${statsText(s, 16)}`).join('');
}

/** `bodyLen` is the reply's body size: OVS counts records by it. */
export function formatIpfixFlowReply(stats: readonly IpfixStats[], bodyLen: number): string {
  let s = ` ${Math.floor(bodyLen / RECORD)} ids\n`;
  for (const st of stats)
    s += `  id ${String(st.collectorSetId).padStart(3)}: ${statsText(st, 10)}`;
  return s;
}
