/*
 * One flow as `ovs-ofctl dump-flows` prints it (OVS's ofputil_flow_stats_format()):
 * `cookie=0x0, duration=1.5s, table=0, n_packets=0, n_bytes=0, idle_age=1, priority=100,ip
 * actions=drop`; with --no-stats only the non-default parts before the match.
 */

import { matchToString } from '../../lib/flow/match-format.ts';
import type { FlowModFlags, FlowStats } from './messages.ts';
import { formatOfpacts } from './ofpact-format.ts';

export interface FlowStatsFormatOptions {
  showStats: boolean;
  portName?: (port: number) => string | undefined;
}

/** OVS's ofp_print_duration(): seconds, then .mmm or the exact nanoseconds, then "s". */
export function formatDuration(sec: number, nsec: number): string {
  let s = String(sec >>> 0);
  if (nsec > 0) {
    const ms = Math.floor(nsec / 1000000);
    if (ms * 1000000 === nsec) s += `.${String(ms).padStart(3, '0')}`;
    else s += `.${String(nsec).padStart(9, '0').replace(/0+$/, '')}`;
  }
  return `${s}s`;
}

export function formatFlowModFlags(f: FlowModFlags): string {
  let s = '';
  if (f.sendFlowRem) s += 'send_flow_rem ';
  if (f.checkOverlap) s += 'check_overlap ';
  if (f.resetCounts) s += 'reset_counts ';
  if (f.noPacketCounts) s += 'no_packet_counts ';
  if (f.noByteCounts) s += 'no_byte_counts ';
  return s;
}

const U64 = 0xffffffffffffffffn;

function stat(v: bigint): string {
  return v === U64 ? '?' : v.toString();
}

/** The text of one flow-stats entry (without the leading space ovs-ofctl prints). */
export function formatFlowStats(fs: FlowStats, opts: FlowStatsFormatOptions): string {
  let s = '';
  const show = opts.showStats;
  if (show || fs.cookie) s += `cookie=0x${fs.cookie.toString(16)}, `;
  if (show) s += `duration=${formatDuration(fs.durationSec, fs.durationNsec)}, `;
  if (show || fs.tableId) s += `table=${fs.tableId}, `;
  if (show) s += `n_packets=${stat(fs.packetCount)}, n_bytes=${stat(fs.byteCount)}, `;
  if (fs.idleTimeout) s += `idle_timeout=${fs.idleTimeout}, `;
  if (fs.hardTimeout) s += `hard_timeout=${fs.hardTimeout}, `;
  s += formatFlowModFlags(fs.flags);
  if (fs.importance) s += `importance=${fs.importance}, `;
  if (show && fs.idleAge >= 0) s += `idle_age=${fs.idleAge}, `;
  if (show && fs.hardAge >= 0 && fs.hardAge !== fs.durationSec) s += `hard_age=${fs.hardAge}, `;
  const m = matchToString(fs.match, fs.priority, { portName: opts.portName });
  if (m) s += `${m} `;
  return `${s}actions=${formatOfpacts(fs.ofpacts, { portName: opts.portName })}`;
}

/** The line ovs-ofctl dump-flows prints for one flow (leading space included). */
export function formatFlowStatsLine(fs: FlowStats, opts: FlowStatsFormatOptions): string {
  return ` ${formatFlowStats(fs, opts)}`;
}
