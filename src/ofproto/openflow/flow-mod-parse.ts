/*
 * The ovs-ofctl flow syntax (add-flow, mod-flows, del-flows, and the lines of add-flows files)
 * parsed into a FlowMod, as OVS's parse_ofp_str() does: the match through the flow library's
 * parseMatch(), the flow-mod keywords here, the actions through ofpact-parse.ts.
 */

import { OFP_DEFAULT_PRIORITY } from '../../lib/flow/match.ts';
import { type ParseOptions, parseMatch, splitActions } from '../../lib/flow/match-parse.ts';
import { ofpPortFromString } from '../../lib/flow/ofp-port.ts';
import { type FlowMod, type FlowModCommand, noFlowModFlags, OFP_NO_BUFFER } from './messages.ts';
import { type ParseResult, parseOfpacts } from './ofpact-parse.ts';

export interface FlowModParseOptions {
  portNumber?: (name: string) => number | undefined;
}

const U64 = 0xffffffffffffffffn;

function parseU(s: string, max: number): number | null {
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^[0-9]+$/.test(s)) v = Number(s);
  else return null;
  return v > max ? null : v;
}

function parseU64(s: string): bigint | null {
  // strtoull() semantics, as OVS's str_to_u64(): a leading '-' negates modulo 2^64 ("-1").
  const neg = s.startsWith('-');
  const t = neg ? s.slice(1) : s;
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) return null;
  const v = BigInt(t);
  if (v > U64) return null;
  return neg ? (U64 + 1n - v) & U64 : v;
}

/**
 * Parses one flow as `ovs-ofctl add-flow` (command 'add'), `mod-flows` ('modify' or
 * 'modify_strict' with --strict) or `del-flows` ('delete'/'delete_strict') read it.
 */
export function parseFlowMod(
  text: string,
  command: FlowModCommand,
  opts?: FlowModParseOptions,
): ParseResult<FlowMod> {
  const { match: matchText, actions } = splitActions(text);
  const isDelete = command === 'delete' || command === 'delete_strict';
  const popts: ParseOptions = { portNumber: opts?.portNumber, allowOthers: true };
  const pm = parseMatch(matchText, popts);
  if (!pm.ok) return { ok: false, error: pm.error };
  const fm: FlowMod = {
    command,
    match: pm.match,
    priority: pm.priority ?? OFP_DEFAULT_PRIORITY,
    newCookie: command === 'add' ? 0n : U64,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 255,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    flags: noFlowModFlags(),
    importance: 0,
    ofpacts: [],
  };
  for (const [name, value] of pm.others) {
    switch (name) {
      case 'table': {
        const t = parseU(value, 255);
        if (t === null) return { ok: false, error: `invalid table "${value}"` };
        fm.tableId = t;
        break;
      }
      case 'idle_timeout':
      case 'hard_timeout':
      case 'importance': {
        if (isDelete) return { ok: false, error: `field ${name} not allowed here` };
        const v = parseU(value, 0xffff);
        if (v === null) return { ok: false, error: `invalid ${name} "${value}"` };
        if (name === 'idle_timeout') fm.idleTimeout = v;
        else if (name === 'hard_timeout') fm.hardTimeout = v;
        else fm.importance = v;
        break;
      }
      case 'cookie': {
        const slash = value.indexOf('/');
        if (slash >= 0) {
          if (command === 'add')
            return { ok: false, error: 'flow additions cannot use a cookie mask' };
          const c = parseU64(value.slice(0, slash));
          const m = parseU64(value.slice(slash + 1));
          if (c === null || m === null) return { ok: false, error: `invalid cookie "${value}"` };
          fm.cookie = c;
          fm.cookieMask = m;
        } else {
          if (isDelete) return { ok: false, error: 'cannot set cookie' };
          const c = parseU64(value);
          if (c === null) return { ok: false, error: `invalid cookie "${value}"` };
          fm.newCookie = c;
        }
        break;
      }
      case 'out_port': {
        if (command === 'add') return { ok: false, error: 'unknown keyword out_port' };
        const p = ofpPortFromString(value, opts?.portNumber);
        if (p === null) return { ok: false, error: `${value} is not a valid OpenFlow port` };
        fm.outPort = p;
        break;
      }
      case 'out_group': {
        if (command === 'add') return { ok: false, error: 'unknown keyword out_group' };
        const g = value.toUpperCase() === 'ANY' ? 0xffffffff : parseU(value, 0xffffffff);
        if (g === null) return { ok: false, error: `invalid out_group "${value}"` };
        fm.outGroup = g;
        break;
      }
      case 'buffer_id': {
        const b = parseU(value, 0xffffffff);
        if (b === null) return { ok: false, error: `invalid buffer_id "${value}"` };
        fm.bufferId = b;
        break;
      }
      case 'send_flow_rem':
        fm.flags.sendFlowRem = true;
        break;
      case 'check_overlap':
        fm.flags.checkOverlap = true;
        break;
      case 'reset_counts':
        fm.flags.resetCounts = true;
        break;
      case 'no_packet_counts':
        fm.flags.noPacketCounts = true;
        break;
      case 'no_byte_counts':
        fm.flags.noByteCounts = true;
        break;
      case 'duration':
      case 'n_packets':
      case 'n_bytes':
      case 'idle_age':
      case 'hard_age':
        // Accepted and ignored so that dump-flows output can be fed back in, as OVS does.
        break;
      default:
        if (value === '') return { ok: false, error: `field ${name} missing value` };
        return { ok: false, error: `unknown keyword ${name}` };
    }
  }
  if (isDelete) {
    if (actions !== null && actions.trim() !== '') {
      // OVS ignores actions on deletes only when empty; otherwise they are an error.
      return { ok: false, error: 'actions are not allowed when deleting flows' };
    }
  } else {
    if (actions === null) return { ok: false, error: 'must specify an action' };
    const pa = parseOfpacts(actions, { portNumber: opts?.portNumber });
    if (!pa.ok) return pa;
    fm.ofpacts = pa.value;
  }
  if (command === 'add' && fm.tableId === 255) fm.tableId = 0;
  return { ok: true, value: fm };
}
