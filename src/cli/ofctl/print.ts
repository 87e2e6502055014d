/*
 * ovs-ofctl's printing of the OpenFlow messages it receives (OVS's ofp_to_string()): a header
 * line "NAME (OFx.y) (xid=0xN):" followed by the message's own text, for the replies the
 * ovs-ofctl commands print and the errors a switch sends back.
 */

import { extractFlow, LAYER_L4 } from '../../lib/flow/extract.ts';
import { fieldByName, getField32 } from '../../lib/flow/fields.ts';
import { FLOW_WORDS } from '../../lib/flow/layout.ts';
import { flowToString, matchToString } from '../../lib/flow/match-format.ts';
import { vlog } from '../../lib/vlog.ts';
import { decodeMessage } from '../../ofproto/openflow/codec.ts';
import { OfpError } from '../../ofproto/openflow/errors.ts';
import {
  formatDuration,
  formatFlowModFlags,
  formatFlowStats,
} from '../../ofproto/openflow/flow-stats-format.ts';
import { formatGroup, formatGroupMod } from '../../ofproto/openflow/group.ts';
import { nxMatchToString, ofp10MatchToString } from '../../ofproto/openflow/match-print.ts';
import type {
  AsyncConfig,
  AsyncMasks,
  FlowMod,
  OfpFrame,
  OfpMessage,
  PortDesc,
  StatsReply,
  StatsRequest,
} from '../../ofproto/openflow/messages.ts';
import { formatMeterConfig, formatMeterId, formatMeterMod } from '../../ofproto/openflow/meter.ts';
import { formatHexArg, formatOfpacts } from '../../ofproto/openflow/ofpact-format.ts';
import { headerByWire } from '../../ofproto/openflow/oxm-fields.ts';
import type { PortStats, TableStats } from '../../ofproto/openflow/stats.ts';
import { flowMonitorText } from './flow-monitor-print.ts';
import { groupFeaturesText } from './groups.ts';
import { rawMessageText } from './print-raw.ts';
import { tableFeaturesText } from './table-features.ts';
import type { Received } from './vconn.ts';

export interface PrintOptions {
  portName?: (port: number) => string | undefined;
  showStats?: boolean;
  /** ofp_print()'s verbosity: 1 for dumps, 2 for monitor, ofp-parse and error replies. */
  verbosity?: number;
}

const U64 = 0xffffffffffffffffn;

/** " (OF1.3)" etc.; nothing for OpenFlow 1.0. */
export function versionSuffix(v: number): string {
  if (v === 1) return '';
  if (v >= 2 && v <= 6) return ` (OF1.${v - 1})`;
  return ` (OF 0x${v.toString(16).padStart(2, '0')})`;
}

export function header(name: string, version: number, xid: number): string {
  return `${name}${versionSuffix(version)} (xid=0x${xid.toString(16)}):`;
}

const RESERVED_PORTS: Record<number, string> = {
  65528: 'IN_PORT',
  65529: 'TABLE',
  65530: 'NORMAL',
  65531: 'FLOOD',
  65532: 'ALL',
  65533: 'CONTROLLER',
  65534: 'LOCAL',
  65535: 'ANY',
  65280: 'UNSET',
};

/** OVS's ofputil_format_port(): reserved names, then the port map, then the number. */
export function formatPort(port: number, opts?: PrintOptions): string {
  const r = RESERVED_PORTS[port];
  if (r) return r;
  const n = opts?.portName?.(port);
  if (n !== undefined) return /^[A-Za-z0-9_.-]+$/.test(n) && !/^\d/.test(n) ? n : `"${n}"`;
  return String(port);
}

function bitNames(bits: number, names: Record<number, string>, sep = ' '): string {
  if (!bits) return '0';
  const out: string[] = [];
  let rest = bits >>> 0;
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if (rest & bit && names[bit] !== undefined) {
      out.push(names[bit]);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(sep);
}

const PORT_CONFIG: Record<number, string> = {
  1: 'PORT_DOWN',
  2: 'NO_STP',
  4: 'NO_RECV',
  8: 'NO_RECV_STP',
  16: 'NO_FLOOD',
  32: 'NO_FWD',
  64: 'NO_PACKET_IN',
};
const PORT_STATE: Record<number, string> = { 1: 'LINK_DOWN', 2: 'BLOCKED', 4: 'LIVE' };

function portState(state: number, version: number): string {
  if (version === 1) {
    // OpenFlow 1.0 keeps the STP state in bits 8-9; "listen" (0) is not printed.
    const stp = state & 0x300;
    const rest = state & ~0x300;
    if (stp) {
      const n = stp === 0x100 ? 'STP_LEARN' : stp === 0x200 ? 'STP_FORWARD' : 'STP_BLOCK';
      return rest ? `${n} ${bitNames(rest, PORT_STATE)}` : n;
    }
    return bitNames(rest, PORT_STATE);
  }
  return bitNames(state, PORT_STATE);
}

const FEATURES = [
  '10MB-HD',
  '10MB-FD',
  '100MB-HD',
  '100MB-FD',
  '1GB-HD',
  '1GB-FD',
  '10GB-FD',
  '40GB-FD',
  '100GB-FD',
  '1TB-FD',
  'OTHER',
  'COPPER',
  'FIBER',
  'AUTO_NEG',
  'AUTO_PAUSE',
  'AUTO_PAUSE_ASYM',
];

/* OpenFlow 1.0's feature bits 7..11 are OF1.1's 11..15 (no 40G/100G/1T/other). */
function netdevFeatures(bits: number, version: number): number {
  if (version !== 1) return bits;
  return (bits & 0x7f) | ((bits & 0xf80) << 4);
}

function featuresText(bits: number, version: number): string {
  const f = netdevFeatures(bits, version);
  const out: string[] = [];
  for (let i = 0; i < FEATURES.length; i++) if (f & (1 << i)) out.push(FEATURES[i]);
  return `${out.join(' ')}\n`;
}

function macString(hw: [number, number]): string {
  const b = [
    (hw[0] >>> 8) & 0xff,
    hw[0] & 0xff,
    hw[1] >>> 24,
    (hw[1] >>> 16) & 0xff,
    (hw[1] >>> 8) & 0xff,
    hw[1] & 0xff,
  ];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** OVS's ofputil_phy_port_format(). */
export function formatPhyPort(p: PortDesc, version: number): string {
  let name = '';
  for (const ch of p.name) {
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c > 0x7e) break;
    name += ch;
  }
  let s = ` ${formatPort(p.portNo)}(${name}): addr:${macString(p.hwAddr)}\n`;
  s += `     config:     ${bitNames(p.config, PORT_CONFIG)}\n`;
  s += `     state:      ${portState(p.state, version)}\n`;
  if (p.curr) s += `     current:    ${featuresText(p.curr, version)}`;
  if (p.advertised) s += `     advertised: ${featuresText(p.advertised, version)}`;
  if (p.supported) s += `     supported:  ${featuresText(p.supported, version)}`;
  if (p.peer) s += `     peer:       ${featuresText(p.peer, version)}`;
  // OpenFlow 1.0 has no speed fields: OVS derives them from the fastest feature bit.
  const cur = version === 1 ? featuresKbps(p.curr, version) : p.currSpeed;
  const max = version === 1 ? featuresKbps(p.supported, version) : p.maxSpeed;
  s += `     speed: ${Math.floor(cur / 1000)} Mbps now, ${Math.floor(max / 1000)} Mbps max\n`;
  return s;
}

/* netdev_features_to_bps(), in kbps, 0 when no speed bit is set. */
function featuresKbps(bits: number, version: number): number {
  const f = netdevFeatures(bits, version);
  if (f & (1 << 9)) return 1e9;
  if (f & (1 << 8)) return 1e8;
  if (f & (1 << 7)) return 4e7;
  if (f & (1 << 6)) return 1e7;
  if (f & 0x30) return 1e6;
  if (f & 0x0c) return 1e5;
  if (f & 0x03) return 1e4;
  return 0;
}

/** OVS's ofputil_port_mod_format(). */
function portModBody(m: Extract<OfpMessage, { type: 'port_mod' }>, v: number): string {
  let s = ` port: ${formatPort(m.portNo)}: addr:${macString(m.hwAddr)}\n`;
  s += `     config: ${bitNames(m.config, PORT_CONFIG)}\n`;
  s += `     mask:   ${bitNames(m.mask, PORT_CONFIG)}\n`;
  s += `     advertise: ${m.advertise ? featuresText(m.advertise, v) : 'UNCHANGED\n'}`;
  return s;
}

/** Ports in port-number order, as ofputil_phy_ports_format() prints them. */
export function formatPhyPorts(ports: readonly PortDesc[], version: number): string {
  return [...ports]
    .sort((a, b) => (a.portNo & 0xffff) - (b.portNo & 0xffff))
    .map((p) => formatPhyPort(p, version))
    .join('');
}

const CAPS: Record<number, string> = {
  1: 'FLOW_STATS',
  2: 'TABLE_STATS',
  4: 'PORT_STATS',
  8: 'STP',
  16: 'GROUP_STATS',
  32: 'IP_REASM',
  64: 'QUEUE_STATS',
  128: 'ARP_MATCH_IP',
  256: 'PORT_BLOCKED',
  512: 'BUNDLES',
  1024: 'FLOW_MONITORING',
};

function capabilities(wire: number, version: number): number {
  // Wire bit 3 is STP in OF1.0 and GROUP_STATS later; OVS's internal bit for the latter is 4.
  const common = 1 | 2 | 4 | 32 | 64;
  let mask = common;
  if (version <= 2) mask |= 128;
  else if (version <= 4) mask |= 256;
  else mask |= 256 | 512 | 1024;
  let c = wire & mask;
  if (wire & 8) c |= version === 1 ? 8 : 16;
  return c;
}

const OF10_ACTIONS: Array<[number, string]> = [
  [0, 'output'],
  [11, 'enqueue'],
  [1, 'set_vlan_vid'],
  [2, 'set_vlan_pcp'],
  [3, 'strip_vlan'],
  [4, 'mod_dl_src'],
  [5, 'mod_dl_dst'],
  [6, 'mod_nw_src'],
  [7, 'mod_nw_dst'],
  [8, 'mod_nw_tos'],
  [9, 'mod_tp_src'],
  [10, 'mod_tp_dst'],
];

function featuresReply(f: Extract<OfpFrame['msg'], { type: 'features_reply' }>, v: number): string {
  let s = ` dpid:${f.datapathId.toString(16).padStart(16, '0')}\n`;
  s += `n_tables:${f.nTables}, n_buffers:${f.nBuffers}`;
  if (f.auxiliaryId) s += `, auxiliary_id:${f.auxiliaryId}`;
  s += '\n';
  s += `capabilities: ${bitNames(capabilities(f.capabilities, v), CAPS)}\n`;
  if (v === 1 && f.actions) {
    s += `actions: ${OF10_ACTIONS.filter(([bit]) => f.actions & (1 << bit))
      .map(([, n]) => n)
      .join(' ')}\n`;
  }
  if (v <= 3) s += formatPhyPorts(f.ports, v);
  return s;
}

const FRAGS = ['normal', 'drop', 'reassemble', 'nx-match'];

/* ---- table stats ----------------------------------------------------------------------- */

/* OpenFlow 1.0's wildcard bits as the field names OVS prints, in its field order. */
const OF10_WILDCARD_FIELDS: Array<[number, string]> = [
  [1 << 0, 'in_port'],
  [1 << 2, 'eth_src'],
  [1 << 3, 'eth_dst'],
  [1 << 4, 'eth_type'],
  [1 << 1, 'vlan_vid'],
  [1 << 20, 'vlan_pcp'],
  [0x3f << 8, 'ip_src'],
  [0x3f << 14, 'ip_dst'],
  [1 << 5, 'nw_proto'],
  [1 << 21, 'nw_tos'],
  [1 << 6, 'tcp_src'],
  [1 << 7, 'tcp_dst'],
];

/** "eth_{src,dst,type}": consecutive names sharing a prefix, as OVS's print_matches() groups. */
export function groupFieldNames(names: readonly string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < names.length) {
    const us = names[i].indexOf('_');
    const prefix = us > 0 ? names[i].slice(0, us + 1) : null;
    let j = i + 1;
    if (prefix) while (j < names.length && names[j].startsWith(prefix)) j++;
    if (j - i > 1 && prefix) {
      out.push(
        `${prefix}{${names
          .slice(i, j)
          .map((n) => n.slice(prefix.length))
          .join(',')}}`,
      );
    } else out.push(names[i]);
    i = j;
  }
  return out.join(' ');
}

interface TableFeat {
  maxEntries: number;
  matching: string;
}

function tableFeatures(t: TableStats, v: number): TableFeat {
  if (v !== 1) return { maxEntries: 0, matching: '' };
  const names = OF10_WILDCARD_FIELDS.filter(([bits]) => t.wildcards & bits).map(([, n]) => n);
  return { maxEntries: t.maxEntries, matching: groupFieldNames(names) };
}

/** OVS's ofp_print_table_stats_reply() for the stats replies of OF1.0 and OF1.3+. */
function tableStatsReply(stats: readonly TableStats[], v: number): string {
  let s = '';
  let firstDitto = -1;
  let lastDitto = -1;
  let prev: { t: TableStats; f: TableFeat } | null = null;
  const finish = (): void => {
    if (firstDitto < 0) return;
    s +=
      firstDitto === lastDitto
        ? `\n  table ${firstDitto}: ditto\n`
        : `\n  tables ${firstDitto}...${lastDitto}: ditto\n`;
  };
  for (const t of stats) {
    const f = tableFeatures(t, v);
    const sameStats =
      prev !== null &&
      prev.t.activeCount === t.activeCount &&
      prev.t.lookupCount === t.lookupCount &&
      prev.t.matchedCount === t.matchedCount;
    const sameFeatures =
      prev !== null && prev.f.maxEntries === f.maxEntries && prev.f.matching === f.matching;
    const name = v === 1 ? t.name : '';
    const prevMatching = prev?.f.matching;
    prev = { t, f };
    if (sameStats && sameFeatures && !name) {
      if (firstDitto < 0) firstDitto = t.tableId;
      lastDitto = t.tableId;
      continue;
    }
    finish();
    firstDitto = -1;
    s += `\n  table ${t.tableId}`;
    if (name) s += ` ("${name}")`;
    s += ':';
    if (sameStats && sameFeatures) {
      s += ' ditto';
      continue;
    }
    s += '\n';
    s += `    active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}\n`;
    const empty = !f.maxEntries && !f.matching;
    if (sameFeatures) {
      if (!empty) s += '    (same features)\n';
      continue;
    }
    if (f.maxEntries) s += `    max_entries=${f.maxEntries}\n`;
    if (f.matching) {
      s +=
        f.matching === prevMatching
          ? '    (same matching)\n'
          : `    matching:\n      exact match or wildcard: ${f.matching}\n`;
    }
  }
  finish();
  return s;
}

/* ---- port and queue stats ---------------------------------------------------------------- */

export interface PortStatsExt extends PortStats {
  custom?: readonly (readonly [string, bigint])[];
}

function stat(v: bigint): string {
  return v === U64 ? '?' : v.toString();
}

export function formatPortStats(ps: PortStatsExt, opts?: PrintOptions): string {
  let s = '  port ';
  if ((ps.portNo & 0xffff) < 10) s += ' ';
  s += formatPort(ps.portNo, opts);
  s += `: rx pkts=${stat(ps.rxPackets)}, bytes=${stat(ps.rxBytes)}, drop=${stat(ps.rxDropped)}, errs=${stat(ps.rxErrors)}, frame=${stat(ps.rxFrameErr)}, over=${stat(ps.rxOverErr)}, crc=${stat(ps.rxCrcErr)}\n`;
  s += `           tx pkts=${stat(ps.txPackets)}, bytes=${stat(ps.txBytes)}, drop=${stat(ps.txDropped)}, errs=${stat(ps.txErrors)}, coll=${stat(ps.collisions)}\n`;
  if (ps.durationSec >= 0 && ps.durationSec !== 0xffffffff) {
    s += `           duration=${formatDuration(ps.durationSec, ps.durationNsec)}\n`;
  }
  if (ps.custom?.length) {
    s += '           CUSTOM Statistics';
    ps.custom.forEach(([n, val], i) => {
      if (!n) return;
      s += i % 3 === 0 ? '\n                      ' : ' ';
      s += `${n}=${val},`;
    });
    s += '\n';
  }
  return s;
}

/* ---- the message printer ------------------------------------------------------------------ */

function statsName(body: StatsReply['stat'], format: 'standard' | 'nxt', v: number): string {
  const nx = format === 'nxt';
  switch (body) {
    case 'desc':
      return 'OFPST_DESC reply';
    case 'flow':
      return nx ? 'NXST_FLOW reply' : 'OFPST_FLOW reply';
    case 'aggregate':
      return nx ? 'NXST_AGGREGATE reply' : 'OFPST_AGGREGATE reply';
    case 'table':
      return 'OFPST_TABLE reply';
    case 'port':
      return 'OFPST_PORT reply';
    case 'queue':
      return 'OFPST_QUEUE reply';
    case 'port_desc':
      return 'OFPST_PORT_DESC reply';
    case 'group':
      return v === 1 ? 'NXST_GROUP reply' : 'OFPST_GROUP reply';
    case 'group_desc':
      return v === 1 ? 'NXST_GROUP_DESC reply' : 'OFPST_GROUP_DESC reply';
    case 'group_features':
      return v === 1 ? 'NXST_GROUP_FEATURES reply' : 'OFPST_GROUP_FEATURES reply';
    case 'meter':
      return 'OFPST_METER reply';
    case 'meter_config':
      return 'OFPST_METER_CONFIG reply';
    case 'meter_features':
      return 'OFPST_METER_FEATURES reply';
    case 'table_features':
      return 'OFPST_TABLE_FEATURES reply';
    default:
      return 'OFPST reply';
  }
}

function flowModBody(
  fm: FlowMod,
  v: number,
  opts?: PrintOptions,
  raw?: Uint8Array,
  nxt = false,
): string {
  const cmd = {
    add: 'ADD',
    modify: 'MOD',
    modify_strict: 'MOD_STRICT',
    delete: 'DEL',
    delete_strict: 'DEL_STRICT',
  }[fm.command];
  let s = ` ${cmd}`;
  // OF1.0 carries a table in the command's high byte (the table-id extension): OVS prints
  // that byte as it is, where our codec reads 0 as "any table" (255).
  let table = fm.tableId;
  if (v === 1) {
    const at = nxt ? 24 : 56;
    table = raw && raw.length > at ? raw[at] : fm.tableId === 255 ? 0 : fm.tableId;
  }
  if (table !== 0) s += ` table:${table}`;
  s += ' ';
  // At high verbosity OVS shows an OF1.0 or NXM match as it is on the wire, without priority.
  let needPriority = false;
  if ((opts?.verbosity ?? 0) >= 3 && raw && v === 1) {
    needPriority = true;
    if (nxt) {
      const matchLen = (raw[40] << 8) | raw[41];
      s += nxMatchToString(raw.subarray(48, 48 + matchLen));
    } else {
      s += ofp10MatchToString(raw.subarray(8, 48), opts?.verbosity ?? 0, (p) =>
        formatPort(p, opts),
      );
    }
  } else {
    s += matchToString(fm.match, fm.priority, { portName: opts?.portName });
  }
  if (!s.endsWith(' ')) s += ' ';
  if (fm.newCookie !== 0n && fm.newCookie !== U64) s += `cookie:0x${fm.newCookie.toString(16)} `;
  if (fm.cookieMask !== 0n) {
    s += `cookie:0x${fm.cookie.toString(16)}/0x${fm.cookieMask.toString(16)} `;
  }
  if (fm.idleTimeout) s += `idle:${fm.idleTimeout} `;
  if (fm.hardTimeout) s += `hard:${fm.hardTimeout} `;
  if (fm.importance) s += `importance:${fm.importance} `;
  if (needPriority && fm.priority !== 0x8000) s += `pri:${fm.priority} `;
  if (fm.bufferId !== 0xffffffff) s += `buf:0x${fm.bufferId.toString(16)} `;
  const anyPort = v === 1 ? 0xffff : 0xffff;
  if (fm.outPort !== anyPort && fm.outPort !== 0xffffffff)
    s += `out_port:${formatPort(fm.outPort, opts)} `;
  const flags = v <= 2 ? { ...fm.flags, resetCounts: false } : fm.flags;
  s += formatFlowModFlags(flags);
  s += `actions=${formatOfpacts(fm.ofpacts, { portName: opts?.portName })}`;
  return s;
}

/** The name OVS gives a message of this frame (its ofpraw name). */
export function messageName(f: OfpFrame): string {
  const m = f.msg;
  switch (m.type) {
    case 'hello':
      return 'OFPT_HELLO';
    case 'error':
      return 'OFPT_ERROR';
    case 'echo_request':
      return 'OFPT_ECHO_REQUEST';
    case 'echo_reply':
      return 'OFPT_ECHO_REPLY';
    case 'features_request':
      return 'OFPT_FEATURES_REQUEST';
    case 'features_reply':
      return 'OFPT_FEATURES_REPLY';
    case 'get_config_request':
      return 'OFPT_GET_CONFIG_REQUEST';
    case 'get_config_reply':
      return 'OFPT_GET_CONFIG_REPLY';
    case 'set_config':
      return 'OFPT_SET_CONFIG';
    case 'barrier_request':
      return 'OFPT_BARRIER_REQUEST';
    case 'barrier_reply':
      return 'OFPT_BARRIER_REPLY';
    case 'flow_mod':
      return m.format === 'nxt' ? 'NXT_FLOW_MOD' : 'OFPT_FLOW_MOD';
    case 'group_mod':
      return f.version === 1 ? 'NXT_GROUP_MOD' : 'OFPT_GROUP_MOD';
    case 'meter_mod':
      return 'OFPT_METER_MOD';
    case 'port_mod':
      return 'OFPT_PORT_MOD';
    case 'packet_out':
      return 'OFPT_PACKET_OUT';
    case 'packet_in':
      return m.format === 'nxt_packet_in'
        ? 'NXT_PACKET_IN'
        : m.format === 'nxt_packet_in2'
          ? 'NXT_PACKET_IN2'
          : 'OFPT_PACKET_IN';
    case 'flow_removed':
      return m.format === 'nxt' ? 'NXT_FLOW_REMOVED' : 'OFPT_FLOW_REMOVED';
    case 'port_status':
      return 'OFPT_PORT_STATUS';
    case 'bundle_control':
      return f.version === 4 ? 'ONFT_BUNDLE_CONTROL' : 'OFPT_BUNDLE_CONTROL';
    case 'bundle_add':
      return f.version === 4 ? 'ONFT_BUNDLE_ADD_MESSAGE' : 'OFPT_BUNDLE_ADD_MESSAGE';
    case 'stats_reply':
      return statsName(m.body.stat, m.format, f.version);
    case 'stats_request': {
      const stat = m.body.stat === 'flow' && m.body.aggregate ? 'aggregate' : m.body.stat;
      return statsName(stat, m.format, f.version).replace(/ reply$/, ' request');
    }
    case 'nxt_set_flow_format':
      return 'NXT_SET_FLOW_FORMAT';
    case 'nxt_flow_mod_table_id':
      return 'NXT_FLOW_MOD_TABLE_ID';
    case 'nxt_set_packet_in_format':
      return 'NXT_SET_PACKET_IN_FORMAT';
    case 'set_async':
      return m.format === 'nxt' ? 'NXT_SET_ASYNC_CONFIG' : 'OFPT_SET_ASYNC';
    case 'get_async_reply':
      return 'OFPT_GET_ASYNC_REPLY';
    case 'get_async_request':
      return 'OFPT_GET_ASYNC_REQUEST';
    case 'role_request':
      return m.format === 'nxt' ? 'NXT_ROLE_REQUEST' : 'OFPT_ROLE_REQUEST';
    case 'role_reply':
      return m.format === 'nxt' ? 'NXT_ROLE_REPLY' : 'OFPT_ROLE_REPLY';
    default:
      return m.type.toUpperCase();
  }
}

/** Prints an error reply (and the start of the request it carries), as ofp_print_error_msg(). */
function errorBody(e: Extract<OfpFrame['msg'], { type: 'error' }>, opts?: PrintOptions): string {
  const name = e.error.name ?? `***decode error: OFPBRC_BAD_TYPE***`;
  let s = ` ${name}\n`;
  if (name === 'OFPHFC_INCOMPATIBLE' || name === 'OFPHFC_EPERM') {
    s += printable(e.error.data);
  } else if (e.error.data.length >= 8) {
    s += ofpToString(e.error.data, opts);
  }
  return s;
}

/* Header-level decode failures: OVS could not even name the message, so no header line. */
const HEADER_ERRORS = new Set([
  'OFPBRC_BAD_TYPE',
  'OFPBRC_BAD_VERSION',
  'OFPBRC_BAD_VENDOR',
  'OFPBRC_BAD_SUBTYPE',
  'OFPBRC_BAD_STAT',
  'OFPBRC_BAD_EXPERIMENTER',
]);

/** Formats one message as ofp_to_string() does (verbosity 1 for dumps, 2 for monitor). */
export function ofpToString(
  bytes: Uint8Array,
  opts?: PrintOptions,
  frame?: OfpFrame | null,
): string {
  if (bytes.length === 0) return 'OpenFlow message is empty\n';
  if (bytes.length < 8) {
    return `OpenFlow packet too short (only ${bytes.length} bytes):\n${hexDump(bytes)}`;
  }
  const len = (bytes[2] << 8) | bytes[3];
  if (bytes.length < len) {
    const name = headerName(bytes);
    const h = name ? `${header(name, bytes[0], xidOf(bytes))}\n` : '';
    return `${h}(***truncated to ${bytes.length} bytes from ${len}***)\n${hexDump(bytes)}`;
  }
  if (bytes.length > len) {
    return `(***only uses ${len} bytes out of ${bytes.length}***)\n${hexDump(bytes)}`;
  }
  const lenError = checkLength(bytes, len);
  if (lenError) {
    vlog('ofp_msgs').warn(lenError);
    return `***decode error: OFPBRC_BAD_LEN***\n${hexDump(bytes)}`;
  }
  let f = frame;
  let error: string | null = null;
  if (f === undefined) {
    const r = decodeMessage(bytes);
    f = r.ok ? r.frame : null;
    if (!r.ok) {
      error = r.error.error;
      // OVS looks a message up by (version, type) alone: an unknown version is an unknown type.
      if (error === 'OFPBRC_BAD_VERSION') {
        vlog('ofp_msgs').warn(`unknown OpenFlow message (version ${bytes[0]}, type ${bytes[1]})`);
        error = 'OFPBRC_BAD_TYPE';
      }
    }
  }
  if (!f || rawCandidate(f)) {
    const raw = rawMessageText(bytes, opts) ?? flowMonitorText(bytes, opts);
    if (raw !== null) return withHexDump(raw, bytes, opts);
  }
  if (!f) {
    const name = error ?? 'OFPBRC_BAD_TYPE';
    // A body that fails to decode still has a name OVS prints before the error.
    const known = HEADER_ERRORS.has(name) ? null : headerName(bytes);
    const h = known ? `${header(known, bytes[0], xidOf(bytes))} ` : '';
    return `${h}***decode error: ${name}***\n${hexDump(bytes)}`;
  }
  const h = header(messageName(f), f.version, f.xid);
  let body: string;
  try {
    body = messageBody(f, opts, bytes);
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    return `${h} ***decode error: ${e.error}***\n${hexDump(bytes)}`;
  }
  const text = h + body;
  return withHexDump(text.endsWith('\n') ? text : `${text.replace(/ +$/, '')}\n`, bytes, opts);
}

/* OFPT_BUNDLE_ADD_MESSAGE: the bundle, then the message it carries, which must be one a
 * bundle may hold and share the outer message's version and xid. */
function bundleAddBody(
  m: Extract<OfpMessage, { type: 'bundle_add' }>,
  v: number,
  outerXid: number,
  opts?: PrintOptions,
): string {
  const inner = m.message;
  if (inner[0] !== v) throw new OfpError('OFPBFC_BAD_VERSION');
  if (xidOf(inner) !== outerXid) throw new OfpError('OFPBFC_MSG_BAD_XID');
  if (inner[1] === 0) {
    vlog('ofp_bundle').warn('OFPT_HELLO message not allowed inside OFPT14_BUNDLE_ADD_MESSAGE');
    throw new OfpError('OFPBFC_MSG_UNSUP');
  }
  let s = `\n bundle_id=${m.bundleId ? `0x${m.bundleId.toString(16)}` : '0'}`;
  const names: string[] = [];
  if (m.flags & 1) names.push('atomic');
  if (m.flags & 2) names.push('ordered');
  s += ` flags=${names.join(' ') || '0'}`;
  return `${s}\n${ofpToString(m.message, opts)}`;
}

/* OVS's ofpraw_check_length() for the fixed-size messages: [exact length, or minimum with a
 * repeating unit], by version. */
function expectedLength(v: number, t: number): [number, number] | null {
  if (t === 5) return [8, 0];
  if (t === 6) return v === 1 ? [32, 48] : v <= 3 ? [32, 64] : [32, 0];
  if (t === 7) return [8, 0];
  if (t === 8 || t === 9) return [12, 0];
  if ((v === 1 && (t === 18 || t === 19)) || (v > 1 && (t === 20 || t === 21))) return [8, 0];
  return null;
}

function checkLength(b: Uint8Array, len: number): string | null {
  if (b[0] < 1 || b[0] > 6) return null;
  const e = expectedLength(b[0], b[1]);
  const name = headerName(b);
  if (!e || !name) return null;
  const [min, unit] = e;
  if (unit ? len >= min && (len - min) % unit === 0 : len === min) return null;
  const why = unit
    ? `must be exactly ${min} bytes or longer by an integer multiple of ${unit} bytes`
    : `expected length ${min}`;
  return `received ${name} with incorrect length ${len} (${why})`;
}

const ASYNC_TYPES: ReadonlyArray<readonly [keyof AsyncMasks, string, readonly string[]]> = [
  [
    'packetIn',
    'PACKET_IN',
    ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'],
  ],
  ['portStatus', 'PORT_STATUS', ['add', 'delete', 'modify']],
  [
    'flowRemoved',
    'FLOW_REMOVED',
    ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'],
  ],
  [
    'roleStatus',
    'ROLE_STATUS',
    ['primary_request', 'configuration_changed', 'experimenter_data_changed'],
  ],
  ['tableStatus', 'TABLE_STATUS', ['', '', '', 'vacancy_down', 'vacancy_up']],
  ['requestForward', 'REQUESTFORWARD', ['group_mod', 'meter_mod']],
];

/* ofputil_format_set_async_config(): each role's enabled reasons per message type. */
function asyncConfigBody(c: AsyncConfig): string {
  let s = '';
  for (const [label, masks] of [
    ['primary', c.master],
    ['secondary', c.slave],
  ] as const) {
    s += `\n ${label}:\n`;
    for (const [key, name, reasons] of ASYNC_TYPES) {
      const bits = masks[key] ?? 0;
      s += `${name.padStart(16)}:`;
      for (let j = 0; j < reasons.length; j++) {
        if (bits & (1 << j) && reasons[j]) s += ` ${reasons[j]}`;
      }
      if (!bits) s += ' (off)';
      s += '\n';
    }
  }
  return s;
}

/* OVS's ds_put_printable(): printable ASCII as is, anything else as a C octal escape. */
function printable(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\${c.toString(8).padStart(3, '0')}`;
  }
  return s;
}

function xidOf(b: Uint8Array): number {
  return ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
}

const TYPE_NAMES_COMMON = [
  'OFPT_HELLO',
  'OFPT_ERROR',
  'OFPT_ECHO_REQUEST',
  'OFPT_ECHO_REPLY',
  null,
  'OFPT_FEATURES_REQUEST',
  'OFPT_FEATURES_REPLY',
  'OFPT_GET_CONFIG_REQUEST',
  'OFPT_GET_CONFIG_REPLY',
  'OFPT_SET_CONFIG',
  'OFPT_PACKET_IN',
  'OFPT_FLOW_REMOVED',
  'OFPT_PORT_STATUS',
  'OFPT_PACKET_OUT',
  'OFPT_FLOW_MOD',
];
const TYPE_NAMES_10: Record<number, string> = {
  15: 'OFPT_PORT_MOD',
  18: 'OFPT_BARRIER_REQUEST',
  19: 'OFPT_BARRIER_REPLY',
};
const TYPE_NAMES_11: Record<number, string> = {
  15: 'OFPT_GROUP_MOD',
  16: 'OFPT_PORT_MOD',
  17: 'OFPT_TABLE_MOD',
  20: 'OFPT_BARRIER_REQUEST',
  21: 'OFPT_BARRIER_REPLY',
  24: 'OFPT_ROLE_REQUEST',
  25: 'OFPT_ROLE_REPLY',
  26: 'OFPT_GET_ASYNC_REQUEST',
  27: 'OFPT_GET_ASYNC_REPLY',
  28: 'OFPT_SET_ASYNC',
  29: 'OFPT_METER_MOD',
  30: 'OFPT_ROLE_STATUS',
  31: 'OFPT_TABLE_STATUS',
  32: 'OFPT_REQUESTFORWARD',
  33: 'OFPT_BUNDLE_CONTROL',
  34: 'OFPT_BUNDLE_ADD_MESSAGE',
};

/* The name of a message known from its header alone (ofpraw_decode_partial()), for the
 * line OVS prints above a truncated one. */
function headerName(b: Uint8Array): string | null {
  const v = b[0];
  const t = b[1];
  if (v < 1 || v > 6) return null;
  if (t < TYPE_NAMES_COMMON.length) return TYPE_NAMES_COMMON[t];
  return (v === 1 ? TYPE_NAMES_10[t] : TYPE_NAMES_11[t]) ?? null;
}

/* At verbosity 5 and above OVS follows every message with its bytes. */
function withHexDump(text: string, bytes: Uint8Array, opts?: PrintOptions): string {
  if ((opts?.verbosity ?? 0) < 5 || text.includes('***decode error')) return text;
  return text + hexDump(bytes);
}

/* Messages our union keeps as bytes, or decodes only in part (table-mod properties). */
function rawCandidate(f: OfpFrame): boolean {
  const m = f.msg;
  return (
    m.type === 'opaque' ||
    m.type === 'table_mod' ||
    ((m.type === 'stats_request' || m.type === 'stats_reply') && m.body.stat === 'raw')
  );
}

/** The text after the header line's colon. */
export function messageBody(f: OfpFrame, opts?: PrintOptions, raw?: Uint8Array): string {
  const m = f.msg;
  const v = f.version;
  switch (m.type) {
    case 'features_reply':
      return featuresReply(m, v);
    case 'get_config_reply':
      return ` frags=${FRAGS[m.flags & 3]} miss_send_len=${m.missSendLen}\n`;
    case 'error':
      return errorBody(m, opts);
    case 'flow_mod':
      return flowModBody(m, v, opts, raw, m.format === 'nxt');
    case 'barrier_reply':
    case 'barrier_request':
      return '';
    case 'group_mod': {
      // OpenFlow 1.0 has groups only as Nicira extensions, which carry OpenFlow 1.5's layout.
      let t = formatGroupMod(m, v === 1 ? 6 : v);
      // OVS leaves the group type out of bucket commands (ofp_print_group()'s suppress_type).
      if (m.command === 'insert_bucket' || m.command === 'remove_bucket') {
        t = t.replace(`,type=${m.groupType}`, '');
      }
      return `\n${t}\n`;
    }
    case 'packet_in':
      return packetInBody(m, opts);
    case 'packet_out': {
      const md = m.flowMetadata
        ? matchToString(m.flowMetadata, 0x8000, { portName: opts?.portName })
        : `in_port=${formatPort(m.inPort, opts)}`;
      let t = ` ${md} actions=${formatOfpacts(m.ofpacts, { portName: opts?.portName })}`;
      if (m.bufferId === 0xffffffff) {
        t += ` data_len=${m.data.length}`;
        if ((opts?.verbosity ?? 1) > 0 && m.data.length) t += `\n${packetToString(m.data)}`;
        if ((opts?.verbosity ?? 1) > 2) t += hexDump(m.data, false);
      } else t += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
      return t;
    }
    case 'port_mod':
      return portModBody(m, v);
    case 'port_status':
      return ` ${m.reason === 'add' ? 'ADD' : m.reason === 'delete' ? 'DEL' : 'MOD'}:${formatPhyPort(m.port, v)}`;
    case 'flow_removed': {
      let t = ` ${matchToString(m.match, m.priority, { portName: opts?.portName })}`;
      t += ` reason=${m.reason}`;
      if (m.tableId !== 255) t += ` table_id=${m.tableId}`;
      if (m.cookie !== 0n) t += ` cookie:0x${m.cookie.toString(16)}`;
      t += ` duration${formatDuration(m.durationSec, m.durationNsec)} idle${m.idleTimeout}`;
      if (m.hardTimeout) t += ` hard${m.hardTimeout}`;
      return `${t} pkts${m.packetCount} bytes${m.byteCount}\n`;
    }
    case 'echo_request':
    case 'echo_reply':
      return ` ${m.data.length} bytes of payload\n${(opts?.verbosity ?? 1) > 1 ? hexDump(m.data) : ''}`;
    case 'hello':
      return raw
        ? helloBody(raw)
        : `\n version bitmap: ${m.versions.map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(', ')}\n`;
    case 'meter_mod':
      return formatMeterMod(m);
    case 'bundle_control': {
      const types = [
        'OPEN_REQUEST',
        'OPEN_REPLY',
        'CLOSE_REQUEST',
        'CLOSE_REPLY',
        'COMMIT_REQUEST',
        'COMMIT_REPLY',
        'DISCARD_REQUEST',
        'DISCARD_REPLY',
      ];
      let s = `\n bundle_id=${m.bundleId ? `0x${m.bundleId.toString(16)}` : '0'} type=${types[m.ctrlType] ?? m.ctrlType}`;
      // As OVS's ofp_print_bit_names(): no flags print as "0".
      const names: string[] = [];
      if (m.flags & 1) names.push('atomic');
      if (m.flags & 2) names.push('ordered');
      s += ` flags=${names.join(' ') || '0'}`;
      return `${s}\n`;
    }
    case 'stats_reply':
      return statsReplyBody(m.body, m.flags, v, opts, raw);
    case 'stats_request':
      return statsFlags(m.flags) + statsRequestBody(m.body, opts);
    case 'get_config_request':
    case 'features_request':
      return '';
    case 'set_config':
      return ` frags=${FRAGS[m.flags & 3]} miss_send_len=${m.missSendLen}\n`;
    case 'nxt_set_flow_format':
      return ` format=${m.format === 'nxm' ? 'nxm' : 'openflow10'}\n`;
    case 'nxt_flow_mod_table_id':
      return ` ${m.enable ? 'enable' : 'disable'}\n`;
    case 'nxt_set_packet_in_format':
      return ` format=${m.format}\n`;
    case 'role_request':
    case 'role_reply': {
      const role = m.role === 'master' ? 'primary' : m.role === 'slave' ? 'secondary' : m.role;
      let t = ` role=${role}`;
      // OVS shows a generation id only where the message carries a meaningful one.
      const gen =
        m.format === 'standard' &&
        m.generationId !== U64 &&
        !(m.type === 'role_request' && m.role === 'nochange');
      if (gen) t += ` generation_id=${m.generationId}`;
      return `${t}\n`;
    }
    case 'bundle_add':
      return bundleAddBody(m, v, f.xid, opts);
    case 'set_async':
    case 'get_async_reply':
      return asyncConfigBody(m.config);
    default:
      return '';
  }
}

function statsRequestBody(b: StatsRequest, opts?: PrintOptions): string {
  switch (b.stat) {
    case 'flow': {
      let s = '';
      if (b.tableId !== 0xff) s += ` table=${b.tableId}`;
      if (b.outPort !== 0xffff && b.outPort !== 0xffffffff)
        s += ` out_port=${formatPort(b.outPort, opts)}`;
      return `${s} ${matchToString(b.match, 0x8000, { portName: opts?.portName })}`;
    }
    case 'port':
      return ` port_no=${formatPort(b.portNo, opts)}`;
    case 'port_desc':
      return ` port=${formatPort(b.portNo, opts)}`;
    case 'queue':
      // OpenFlow 1.0 says ALL where later versions say ANY: OVS prints both as ANY.
      return ` port=${formatPort(b.portNo === 0xfffc ? 0xffff : b.portNo, opts)} queue=${b.queueId === 0xffffffff ? 'ALL' : b.queueId}`;
    case 'group':
    case 'group_desc':
      return ` group_id=${b.groupId === 0xfffffffc ? 'ALL' : b.groupId === 0xffffffff ? 'ANY' : b.groupId}`;
    case 'meter':
    case 'meter_config':
      return ` meter=${formatMeterId(b.meterId)}`;
    default:
      return '';
  }
}

function statsFlags(flags: number): string {
  if (!flags) return '';
  let s = ' flags=';
  if (flags & 1) s += '[more]';
  if (flags & ~1) s += `[***unknown flags 0x${(flags & ~1).toString(16).padStart(4, '0')}***]`;
  return s;
}

function statsReplyBody(
  b: StatsReply,
  flags: number,
  v: number,
  opts?: PrintOptions,
  raw?: Uint8Array,
): string {
  let s = statsFlags(flags);
  switch (b.stat) {
    case 'desc':
      return `${s}\nManufacturer: ${b.mfrDesc}\nHardware: ${b.hwDesc}\nSoftware: ${b.swDesc}\nSerial Num: ${b.serialNum}\nDP Description: ${b.dpDesc}\n`;
    case 'flow':
      s += '\n';
      for (const fs of b.flows) {
        s += ` ${formatFlowStats(fs, { showStats: opts?.showStats ?? true, portName: opts?.portName })}\n`;
      }
      return s;
    case 'aggregate':
      return `${s} packet_count=${b.packetCount} byte_count=${b.byteCount} flow_count=${b.flowCount}\n`;
    case 'group_features':
      return s + groupFeaturesText(b, v);
    case 'table_features': {
      const t = tableFeaturesText(b.tables, v).replace(/\n+$/, '\n');
      return t.startsWith('\n') || t.startsWith(' ***') ? s + t : `${s}\n${t}`;
    }
    case 'table':
      return s + tableStatsReply(b.stats, v);
    case 'port': {
      const stats = v >= 5 && raw ? (portStats14(raw) ?? b.stats) : b.stats;
      s += ` ${stats.length} ports\n`;
      for (const ps of stats) s += formatPortStats(ps, opts);
      return s;
    }
    case 'port_desc':
      return `${s}\n${formatPhyPorts(b.ports, v)}`;
    case 'queue':
      s += ` ${b.stats.length} queues\n`;
      for (const q of b.stats) {
        s += `  port ${formatPort(q.portNo, opts)} queue ${q.queueId}: bytes=${stat(q.txBytes)}, pkts=${stat(q.txPackets)}, errors=${stat(q.txErrors)}, duration=`;
        s +=
          q.durationSec === 0xffffffff || q.durationSec < 0
            ? '?'
            : formatDuration(q.durationSec, q.durationNsec);
        s += '\n';
      }
      return s;
    case 'group_desc': {
      s += '\n';
      const props = v >= 6 && raw ? groupProps15(raw) : null;
      for (const g of b.groups) {
        let line = formatGroup(g, v === 1 ? 6 : v);
        // The codec decodes the property now; the raw scan covers what it leaves out.
        const extra = g.props ? undefined : props?.get(g.groupId);
        if (extra) {
          const head = `group_id=${g.groupId},type=${g.groupType}`;
          line = head + extra + line.slice(head.length);
        }
        s += ` ${line}\n`;
      }
      return s;
    }
    case 'group':
      s += '\n';
      for (const g of b.stats) {
        s += ` group_id=${g.groupId}`;
        if (g.durationSec !== 0xffffffff && g.durationSec >= 0) {
          s += `,duration=${formatDuration(g.durationSec, g.durationNsec)}`;
        }
        s += `,ref_count=${g.refCount},packet_count=${stat(g.packetCount)},byte_count=${stat(g.byteCount)}`;
        g.buckets.forEach((bk, i) => {
          s += `,bucket${i}:packet_count=${stat(bk.packetCount)},byte_count=${stat(bk.byteCount)}`;
        });
        s += '\n';
      }
      return s;
    case 'meter_config':
      s += '\n';
      b.meters.forEach((m, i) => {
        if (i) s += '\n';
        s += formatMeterConfig(m);
      });
      return s;
    case 'meter_features':
      return `${s}\nmax_meter:${b.maxMeter} max_bands:${b.maxBands} max_color:${b.maxColor}\nband_types: ${bitNames(b.bandTypes, { 2: 'drop', 4: 'dscp_remark' })}\ncapabilities: ${bitNames(b.capabilities, { 1: 'kbps', 2: 'pktps', 4: 'burst', 8: 'stats' })}\n`;
    case 'meter':
      s += '\n';
      b.stats.forEach((m, i) => {
        if (i) s += '\n';
        s += `meter:${formatMeterId(m.meterId)} flow_count:${m.flowCount} packet_in_count:${m.packetInCount} byte_in_count:${m.byteInCount} duration:${formatDuration(m.durationSec, m.durationNsec)} bands:\n`;
        m.bands.forEach((bd, j) => {
          s += `${j}: packet_count:${bd.packetCount} byte_count:${bd.byteCount}\n`;
        });
      });
      return s;
    default:
      return s;
  }
}

/** The flow of a packet as ofp_packet_to_string() prints it, with the L4 checksum. */
export function packetToString(data: Uint8Array): string {
  const key = new Uint32Array(FLOW_WORDS);
  const layers = new Int32Array(4);
  extractFlow(data, 0, data.length, 0, key, layers);
  let s = flowToString(key);
  const l4 = layers[LAYER_L4];
  const proto = NW_PROTO ? getField32(key, NW_PROTO) : 0;
  const type = DL_TYPE ? getField32(key, DL_TYPE) : 0;
  const isIp = type === 0x0800 || type === 0x86dd;
  if (isIp && l4 >= 0) {
    const left = data.length - l4;
    const u16 = (o: number): string => ((data[l4 + o] << 8) | data[l4 + o + 1]).toString(16);
    if (proto === 6 && left >= 20) s += ` tcp_csum:${u16(16)}`;
    else if (proto === 17 && left >= 8) s += ` udp_csum:${u16(6)}`;
    else if (proto === 132 && left >= 12) {
      const v =
        ((data[l4 + 8] << 24) | (data[l4 + 9] << 16) | (data[l4 + 10] << 8) | data[l4 + 11]) >>> 0;
      s += ` sctp_csum:${v.toString(16)}`;
    } else if (proto === 1 && left >= 4) s += ` icmp_csum:${u16(2)}`;
    else if (proto === 58 && left >= 4) s += ` icmp6_csum:${u16(2)}`;
  }
  return `${s}\n`;
}

const NW_PROTO = fieldByName('nw_proto');
const DL_TYPE = fieldByName('dl_type');

const PIN_REASONS: Record<string, string> = {
  no_match: 'no_match',
  action: 'action',
  invalid_ttl: 'invalid_ttl',
  action_set: 'action_set',
  group: 'group',
  packet_out: 'packet_out',
};

function packetInBody(
  m: Extract<OfpFrame['msg'], { type: 'packet_in' }>,
  opts?: PrintOptions,
): string {
  let s = '';
  if (m.tableId) s += ` table_id=${m.tableId}`;
  if (m.cookie !== U64) s += ` cookie=0x${m.cookie.toString(16)}`;
  s += ` total_len=${m.totalLen} `;
  s += matchToString(m.metadata, 0x8000, { portName: opts?.portName });
  s += ` (via ${PIN_REASONS[m.reason] ?? m.reason})`;
  s += ` data_len=${m.data.length}`;
  if (m.bufferId === 0xffffffff) {
    s += ' (unbuffered)';
    if (m.totalLen !== m.data.length) s += ' (***total_len != data_len***)';
  } else {
    s += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
    if (m.totalLen < m.data.length) s += ' (***total_len < data_len***)';
  }
  s += '\n';
  if (m.userdata?.length) s += ` userdata=${formatHexArg(m.userdata)}\n`;
  s += packetToString(m.data);
  if ((opts?.verbosity ?? 1) > 2) s += hexDump(m.data, false);
  return s;
}

/* A hello's version bitmap, as OVS decodes it: the header's version implies every version up
 * to it; a bitmap element replaces that; anything else is "unknown data". */
function helloBody(b: Uint8Array): string {
  const len = (b[2] << 8) | b[3];
  let allowed = b[0] < 32 ? (((1 << b[0]) >>> 0) - 1) * 2 : 0xfffffffe;
  let ok = true;
  let off = 8;
  while (off < len) {
    if (len - off < 4) {
      ok = false;
      break;
    }
    const type = (b[off] << 8) | b[off + 1];
    const elen = (b[off + 2] << 8) | b[off + 3];
    const padded = (elen + 7) & ~7;
    if (elen < 4 || padded > len - off) {
      ok = false;
      break;
    }
    const bitmapLen = elen - 4;
    if (type !== 1 || !bitmapLen || bitmapLen % 4) ok = false;
    else {
      let bits = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
      if (bits & 1) {
        vlog('ofp_util').warn('peer claims to support invalid OpenFlow version 0x00');
        bits = (bits & ~1) >>> 0;
      }
      if (!bits) {
        vlog('ofp_util').warn('peer does not support any OpenFlow version (between 0x01 and 0x1f)');
        ok = false;
      } else allowed = bits;
    }
    off += padded;
  }
  const versions: string[] = [];
  for (let v = 0; v < 32; v++) {
    if ((allowed >>> v) & 1) versions.push(`0x${v.toString(16).padStart(2, '0')}`);
  }
  const s = `\n version bitmap: ${versions.join(', ')}\n`;
  return ok ? s : `${s} unknown data in hello:\n${hexDump(b.subarray(0, len))}`;
}

/** OVS's ds_put_hex_dump() from offset 0: 16 bytes a line, "-" after the eighth byte. */
export function hexDump(b: Uint8Array, ascii = true): string {
  let s = '';
  for (let off = 0; off < b.length; off += 16) {
    const n = Math.min(16, b.length - off);
    let line = `${off.toString(16).padStart(8, '0')}  `;
    for (let i = 0; i < n; i++) {
      line += `${b[off + i].toString(16).padStart(2, '0')}${i === 7 ? '-' : ' '}`;
    }
    if (ascii) {
      line += '   '.repeat(16 - n);
      line += '|';
      for (let i = 0; i < n; i++) {
        const c = b[off + i];
        line += c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
      }
      line += `${' '.repeat(16 - n)}|`;
    } else {
      line = line.replace(/ +$/, '');
    }
    s += `${line}\n`;
  }
  return s;
}

/** Prints a received message (decoded by our codec) as ovs-ofctl does. */
export function formatReceived(r: Received, opts?: PrintOptions): string {
  return ofpToString(r.bytes, opts, r.frame ?? undefined);
}

/* OpenFlow 1.4+ port stats with their properties (Ethernet counters and Intel's custom
 * statistics, which our codec's PortStats does not carry). Null if malformed. */
function portStats14(msg: Uint8Array): PortStatsExt[] | null {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const u64 = (o: number): bigint => dv.getBigUint64(o);
  const out: PortStatsExt[] = [];
  let off = 16;
  while (off + 80 <= msg.length) {
    const len = dv.getUint16(off);
    if (len < 80 || off + len > msg.length) return null;
    const p11 = dv.getUint32(off + 4);
    const portNo = p11 >= 0xffffff00 ? (p11 - 0xffff0000) & 0xffff : p11;
    const ps: PortStatsExt = {
      portNo,
      durationSec: dv.getUint32(off + 8),
      durationNsec: dv.getUint32(off + 12),
      rxPackets: u64(off + 16),
      txPackets: u64(off + 24),
      rxBytes: u64(off + 32),
      txBytes: u64(off + 40),
      rxDropped: u64(off + 48),
      txDropped: u64(off + 56),
      rxErrors: u64(off + 64),
      txErrors: u64(off + 72),
      rxFrameErr: U64,
      rxOverErr: U64,
      rxCrcErr: U64,
      collisions: U64,
    };
    let p = off + 80;
    const end = off + len;
    while (p + 4 <= end) {
      const type = dv.getUint16(p);
      const plen = dv.getUint16(p + 2);
      if (plen < 4 || p + plen > end) return null;
      if (type === 0 && plen === 40) {
        ps.rxFrameErr = u64(p + 8);
        ps.rxOverErr = u64(p + 16);
        ps.rxCrcErr = u64(p + 24);
        ps.collisions = u64(p + 32);
      } else if (
        type === 0xffff &&
        plen >= 16 &&
        dv.getUint32(p + 4) === 0xaa01 &&
        dv.getUint32(p + 8) === 2
      ) {
        const n = dv.getUint16(p + 14);
        let q = p + 16;
        const custom: Array<[string, bigint]> = [];
        for (let i = 0; i < n; i++) {
          if (q + 1 > p + plen) return null;
          const nl = msg[q];
          const name = Buffer.from(msg.subarray(q + 1, q + 1 + nl)).toString('latin1');
          q += 1 + nl;
          if (q + 8 > p + plen) return null;
          custom.push([name, u64(q)]);
          q += 8;
        }
        ps.custom = custom;
      }
      p += (plen + 7) & ~7;
    }
    out.push(ps);
    off = end;
  }
  return out;
}

/* OpenFlow 1.5 group descriptions carry OVS's selection-method property (Netronome's
 * experimenter, NTR_VENDOR_ID 0x154d), which our codec's GroupDesc leaves out: group id ->
 * ",selection_method=...,selection_method_param=...,fields(...)". */
function groupProps15(msg: Uint8Array): Map<number, string> {
  const out = new Map<number, string>();
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  let off = 16;
  while (off + 16 <= msg.length) {
    const len = dv.getUint16(off);
    if (len < 16 || off + len > msg.length) break;
    const groupId = dv.getUint32(off + 4);
    const bucketLen = dv.getUint16(off + 8);
    let p = off + 16 + bucketLen;
    const end = off + len;
    while (p + 4 <= end) {
      const type = dv.getUint16(p);
      const plen = dv.getUint16(p + 2);
      if (plen < 4 || p + plen > end) break;
      if (
        type === 0xffff &&
        plen >= 40 &&
        dv.getUint32(p + 4) === 0x154d &&
        dv.getUint32(p + 8) === 1
      ) {
        const nameBytes = msg.subarray(p + 16, p + 32);
        const nul = nameBytes.indexOf(0);
        const method = Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString('latin1');
        const param = dv.getBigUint64(p + 32);
        let t = '';
        if (method) {
          t += `,selection_method=${method}`;
          if (param) t += `,selection_method_param=${param}`;
          const fields: string[] = [];
          let q = p + 40;
          while (q + 4 <= p + plen) {
            const cls = dv.getUint16(q);
            const fb = msg[q + 2];
            const flen = msg[q + 3];
            if (flen === 0 || q + 4 + flen > p + plen) break;
            const exp = cls === 0xffff ? dv.getUint32(q + 4) : 0;
            const h = headerByWire(cls, fb >> 1, exp);
            fields.push(h ? h.field.name : `0x${dv.getUint32(q).toString(16)}`);
            // Each entry is a header and its value (the experimenter id counts in the length).
            q += 4 + flen;
          }
          if (fields.length === 1) t += `,fields=${fields[0]}`;
          else if (fields.length > 1) t += `,fields(${fields.join(',')})`;
        }
        out.set(groupId, t);
      }
      p += (plen + 7) & ~7;
    }
    off = end;
  }
  return out;
}
