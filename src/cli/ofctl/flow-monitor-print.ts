/*
 * ovs-ofctl's side of flow monitors: the "watch:" specification parsed as OVS does, and the
 * monitor requests, flow updates, cancels, pauses and resumptions printed as ofp_to_string()
 * prints them (Nicira NXST/NXT for OF1.0-1.2, ONF for OF1.3, standard OFPST for OF1.4+).
 */

import { fieldByName } from '../../lib/flow/fields.ts';
import { matchToString } from '../../lib/flow/match-format.ts';
import { parseMatch, splitKeyValues } from '../../lib/flow/match-parse.ts';
import {
  decodeFlowMonitorMessage,
  type FlowMonitorRequest,
  type FlowUpdate,
  OFPFMF,
} from '../../ofproto/openflow/flow-monitor.ts';
import { formatOfpacts } from '../../ofproto/openflow/ofpact-format.ts';
import { formatPort, header, hexDump, type PrintOptions } from './print.ts';

const PROTOCOLS = new Set([
  'ip',
  'ipv4',
  'ipv6',
  'icmp',
  'icmp6',
  'tcp',
  'tcp6',
  'udp',
  'udp6',
  'sctp',
  'sctp6',
  'arp',
  'rarp',
  'mpls',
  'mplsm',
]);

let nextId = 0;

/** OVS's parse_flow_monitor_request(): a request, or the error text OVS gives. */
export function parseWatch(
  spec: string,
  portNumber?: (name: string) => number | undefined,
): FlowMonitorRequest | string {
  const rq: FlowMonitorRequest = {
    id: nextId++,
    command: 'add',
    flags:
      OFPFMF.INITIAL |
      OFPFMF.ADD |
      OFPFMF.REMOVED |
      OFPFMF.MODIFY |
      OFPFMF.ONLY_OWN |
      OFPFMF.INSTRUCTIONS,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    tableId: 0xff,
    match: parseMatchOrThrow(''),
  };
  const matchParts: string[] = [];
  const NOT: Record<string, number> = {
    '!initial': OFPFMF.INITIAL,
    '!add': OFPFMF.ADD,
    '!delete': OFPFMF.REMOVED,
    '!modify': OFPFMF.MODIFY,
    '!actions': OFPFMF.INSTRUCTIONS,
    '!abbrev': OFPFMF.NO_ABBREV,
    '!own': OFPFMF.ONLY_OWN,
  };
  for (const [name, value] of splitKeyValues(spec)) {
    if (name in NOT) rq.flags &= ~NOT[name];
    else if (PROTOCOLS.has(name)) matchParts.push(name);
    else if (fieldByName(name)) {
      matchParts.push(`${name}=${value}`);
      const pm = parseMatch(matchParts.join(','), { portNumber, allowOthers: false });
      if (!pm.ok) return pm.error;
    } else {
      if (!value) return `${spec}: field ${name} missing value`;
      if (name === 'table') {
        if (!/^\d+$/.test(value) || Number(value) > 255) return `unknown table "${value}"`;
        rq.tableId = Number(value);
      } else if (name === 'out_port') rq.outPort = atoi(value) & 0xffff;
      else if (name === 'out_group') rq.outGroup = atoi(value) >>> 0;
      else return `${spec}: unknown keyword ${name}`;
    }
  }
  const pm = parseMatch(matchParts.join(','), { portNumber, allowOthers: false });
  if (!pm.ok) return pm.error;
  rq.match = pm.match;
  return rq;
}

function parseMatchOrThrow(s: string): FlowMonitorRequest['match'] {
  const pm = parseMatch(s, { allowOthers: false });
  if (!pm.ok) throw new Error(pm.error);
  return pm.match;
}

function atoi(s: string): number {
  const m = /^\s*([-+]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) : 0;
}

const FLAG_NAMES: Array<[number, string]> = [
  [OFPFMF.INITIAL, 'initial'],
  [OFPFMF.ADD, 'add'],
  [OFPFMF.REMOVED, 'delete'],
  [OFPFMF.MODIFY, 'modify'],
  [OFPFMF.INSTRUCTIONS, 'actions'],
  [OFPFMF.NO_ABBREV, 'no-abbrev'],
  [OFPFMF.ONLY_OWN, 'own'],
];

function flagsText(flags: number): string {
  if (!flags) return '0';
  const out: string[] = [];
  let rest = flags;
  for (const [bit, n] of FLAG_NAMES) {
    if (rest & bit) {
      out.push(n);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.join(',');
}

export function formatMonitorRequest(rq: FlowMonitorRequest, opts?: PrintOptions): string {
  if (rq.command === 'delete') return `\n id=${rq.id} command=delete`;
  let s = `\n id=${rq.id} flags=${flagsText(rq.flags)}`;
  if (rq.outPort !== 0xffff) s += ` out_port=${formatPort(rq.outPort, opts)}`;
  if (rq.outGroup && rq.outGroup !== 0xffffffff) s += ` out_group=${rq.outGroup | 0}`;
  if (rq.tableId !== 0xff) s += ` table=${rq.tableId}`;
  s += ` ${matchToString(rq.match, 0x8000, { portName: opts?.portName })}`;
  return s.endsWith(' ') ? s.slice(0, -1) : s;
}

export function formatFlowUpdate(u: FlowUpdate, opts?: PrintOptions): string {
  switch (u.event) {
    case 'abbrev':
      return `\n event=ABBREV xid=0x${(u.xid >>> 0).toString(16)}`;
    case 'paused':
      return '\n event=PAUSED';
    case 'resumed':
      return '\n event=RESUMED';
  }
  let s = '\n event=';
  s +=
    u.event === 'initial'
      ? 'INITIAL'
      : u.event === 'added'
        ? 'ADDED'
        : u.event === 'modified'
          ? 'MODIFIED'
          : `DELETED reason=${u.reason}`;
  s += ` table=${u.tableId}`;
  if (u.idleTimeout) s += ` idle_timeout=${u.idleTimeout}`;
  if (u.hardTimeout) s += ` hard_timeout=${u.hardTimeout}`;
  s += ` cookie=${u.cookie ? `0x${u.cookie.toString(16)}` : '0'}`;
  s += ` ${matchToString(u.match, 0x8000, { portName: opts?.portName })}`;
  if (u.ofpacts.length) {
    if (!s.endsWith(' ')) s += ' ';
    s += `actions=${formatOfpacts(u.ofpacts, { portName: opts?.portName })}`;
  }
  return s;
}

function moreFlag(flags: number): string {
  if (!flags) return '';
  let s = ' flags=';
  if (flags & 1) s += '[more]';
  if (flags & ~1) s += `[***unknown flags 0x${(flags & ~1).toString(16).padStart(4, '0')}***]`;
  return s;
}

/** The whole text for a flow-monitor message, or null when `bytes` is not one. */
export function flowMonitorText(bytes: Uint8Array, opts?: PrintOptions): string | null {
  const d = decodeFlowMonitorMessage(bytes);
  if (!d) return null;
  const v = bytes[0];
  const pre = v >= 5 ? 'OFPST' : v === 4 ? 'ONFST' : 'NXST';
  const tpre = v === 4 ? 'ONFT' : 'NXT';
  if (!d.ok) {
    const isReq = bytes[1] === (v === 1 ? 16 : 18);
    const isStats = bytes[1] === (v === 1 ? 16 : 18) || bytes[1] === (v === 1 ? 17 : 19);
    const sub = ((bytes[14] << 8) | bytes[15]) - (v === 4 ? 1870 : 21);
    const name = isStats
      ? `${pre}_FLOW_MONITOR ${isReq ? 'request' : 'reply'}`
      : `${tpre}_FLOW_MONITOR_${['CANCEL', 'PAUSED', 'RESUMED'][sub] ?? 'CANCEL'}`;
    return `${header(name, d.version, d.xid)} ***decode error: ${d.error.error}***\n${hexDump(bytes)}`;
  }
  const f = d.frame;
  const m = f.msg;
  let name: string;
  let body: string;
  switch (m.type) {
    case 'flow_monitor_request':
      name = `${pre}_FLOW_MONITOR request`;
      body = moreFlag(m.flags) + m.requests.map((r) => formatMonitorRequest(r, opts)).join('');
      break;
    case 'flow_monitor_reply':
      name = `${pre}_FLOW_MONITOR reply`;
      body = moreFlag(m.flags) + m.updates.map((u) => formatFlowUpdate(u, opts)).join('');
      break;
    case 'flow_monitor_cancel':
      name = `${tpre}_FLOW_MONITOR_CANCEL`;
      body = ` id=${m.id}`;
      break;
    case 'flow_monitor_paused':
      name = `${tpre}_FLOW_MONITOR_PAUSED`;
      body = '';
      break;
    case 'flow_monitor_resumed':
      name = `${tpre}_FLOW_MONITOR_RESUMED`;
      body = '';
      break;
  }
  const text = header(name, f.version, f.xid) + body;
  return text.endsWith('\n') ? text : `${text.replace(/ +$/, '')}\n`;
}
