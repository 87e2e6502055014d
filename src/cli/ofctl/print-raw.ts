/*
 * ofp_to_string() for the messages our message union leaves as bytes: table-mod with its
 * OF1.4 properties, table and queue descriptions, queue config, TLV tables, conntrack flushes
 * and IPFIX statistics. Null when the bytes are none of these (the caller hex-dumps them).
 */

import { decodeMessage } from '../../ofproto/openflow/codec.ts';
import {
  decodeCtFlush,
  formatCtFlush,
  NXT_CT_FLUSH,
  NXT_CT_FLUSH_ZONE,
} from '../../ofproto/openflow/ct-flush.ts';
import {
  decodeIpfixReply,
  formatIpfixBridgeReply,
  formatIpfixFlowReply,
  NXST_IPFIX_BRIDGE,
  NXST_IPFIX_FLOW,
} from '../../ofproto/openflow/ipfix-stats.ts';
import {
  decodeQueueGetConfigReply,
  decodeQueueGetConfigRequest,
  formatQueueGetConfigReply,
  formatQueueGetConfigRequest,
  OFPMP14_QUEUE_DESC,
} from '../../ofproto/openflow/queue-config.ts';
import { parseRaw, type RawMessage } from '../../ofproto/openflow/raw-msg.ts';
import {
  decodeTableDescReply,
  decodeTableMod,
  formatTableDesc,
  formatTableMod,
  OFPMP14_TABLE_DESC,
} from '../../ofproto/openflow/table-config.ts';
import {
  decodeTlvTableMod,
  decodeTlvTableReply,
  formatTlvTableMod,
  formatTlvTableReply,
  NXT_TLV_TABLE_MOD,
  NXT_TLV_TABLE_REPLY,
  NXT_TLV_TABLE_REQUEST,
} from '../../ofproto/openflow/tlv-table.ts';
import { vlogWarn } from './log.ts';
import { formatPort, header, hexDump, messageBody, type PrintOptions } from './print.ts';
import { ofp12TableStatsText } from './table-features.ts';

const warnMatch = (msg: string): void => vlogWarn('ofp_match', msg);

interface Known {
  name: string;
  body: (m: RawMessage, opts?: PrintOptions) => string;
}

const empty = (): string => '';

function statsFlags(m: RawMessage): string {
  const k = m.kind;
  const flags = 'flags' in k ? k.flags : 0;
  if (!flags) return '';
  let s = ' flags=';
  if (flags & 1) s += '[more]';
  if (flags & ~1) s += `[***unknown flags 0x${(flags & ~1).toString(16).padStart(4, '0')}***]`;
  return s;
}

const NXT_SET_CONTROLLER_ID = 20;
const ONFT_ROLE_STATUS = 1911;
const OFPT14_ROLE_STATUS = 30;
const ROLE_NAMES = ['nochange', 'equal', 'primary', 'secondary'];
const ROLE_REASONS = ['primary_request', 'configuration_changed', 'experimenter_data_changed'];

/* A role status (OF1.4, or ONF's OF1.3 extension): role, reason, then the generation id, which
 * OVS leaves out when it is all-ones (unknown). */
function roleStatusBody(m: RawMessage): string {
  const b = m.bytes;
  const at = m.bodyAt;
  if (b.length - at < 16) throw Object.assign(new Error('short'), { code: 'OFPBRC_BAD_LEN' });
  const role = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  const reason = b[at + 4];
  const gen = Buffer.from(b.subarray(at + 8, at + 16)).readBigUInt64BE();
  let s = ` role=${ROLE_NAMES[role] ?? role}`;
  if (gen !== 0xffffffffffffffffn) s += ` generation_id=${gen}`;
  return `${s} reason=${ROLE_REASONS[reason] ?? '(unknown)'}`;
}

const NXT_RESUME = 28;
const NXT_PACKET_IN2 = 30;

/* A resume carries a packet-in2's properties (the packet, its metadata, the continuation),
 * and OVS prints it as it prints that packet-in. */
function resumeBody(m: RawMessage, opts?: PrintOptions): string {
  const b = m.bytes.slice();
  b[12] = NXT_PACKET_IN2 >>> 24;
  b[13] = (NXT_PACKET_IN2 >>> 16) & 0xff;
  b[14] = (NXT_PACKET_IN2 >>> 8) & 0xff;
  b[15] = NXT_PACKET_IN2 & 0xff;
  const r = decodeMessage(b);
  if (!r.ok) throw Object.assign(new Error(r.error.error), { code: r.error.error });
  return messageBody(r.frame, opts, b);
}

const OFPT14_REQUESTFORWARD = 32;
const NXT_REQUESTFORWARD = 132;
const ONFT13_REQUESTFORWARD = 2350;

/* A request forwarded to the other controllers: the group or meter mod it carries, in the
 * outer message's version, printed as that message's own body would be. */
function requestForwardBody(m: RawMessage, opts?: PrintOptions): string {
  const b = m.bytes;
  const fail = (code: string) => Object.assign(new Error(code), { code });
  const inner = b.subarray(m.bodyAt);
  if (inner.length < 8) throw fail('OFPBFC_MSG_BAD_LEN');
  const len = (inner[2] << 8) | inner[3];
  if (len < 8 || len > inner.length) throw fail('OFPBFC_MSG_BAD_LEN');
  if (inner[0] !== m.version) throw fail('OFPBRC_BAD_VERSION');
  const bytes = inner.subarray(0, len);
  const r = decodeMessage(bytes);
  if (!r.ok) throw fail(r.error.error);
  const t = r.frame.msg.type;
  if (t === 'group_mod') return ` reason=group_mod${messageBody(r.frame, opts, bytes)}`;
  if (t === 'meter_mod') return ` reason=meter_mod${messageBody(r.frame, opts, bytes)}`;
  throw fail('OFPBRC_BAD_TYPE');
}

const OFPT14_TABLE_STATUS = 31;
const OFPST_TABLE = 3;
const OFPTR_VACANCY_DOWN = 3;
const OFPTR_VACANCY_UP = 4;

/* A table's vacancy crossed a threshold (OF1.4+): the reason, then the table's description. */
function tableStatusBody(m: RawMessage): string {
  const b = m.bytes;
  if (b.length - m.bodyAt < 8) throw Object.assign(new Error('short'), { code: 'OFPBRC_BAD_LEN' });
  const reason = b[m.bodyAt];
  if (reason !== OFPTR_VACANCY_DOWN && reason !== OFPTR_VACANCY_UP) {
    throw Object.assign(new Error('reason'), { code: 'OFPBPC_BAD_VALUE' });
  }
  const descs = decodeTableDescReply({ ...m, bodyAt: m.bodyAt + 8 });
  if (descs.length !== 1) throw Object.assign(new Error('desc'), { code: 'OFPBRC_BAD_LEN' });
  const why = reason === OFPTR_VACANCY_DOWN ? 'VACANCY_DOWN' : 'VACANCY_UP';
  return ` reason=${why}\ntable_desc:-${formatTableDesc(descs[0])}`;
}

function identify(m: RawMessage): Known | null {
  const k = m.kind;
  const v = m.version;
  const port = (opts?: PrintOptions) => (p: number) => formatPort(p, opts);
  switch (k.cls) {
    case 'ofpt':
      if (v >= 2 && k.type === 17) {
        return { name: 'OFPT_TABLE_MOD', body: (x) => formatTableMod(decodeTableMod(x)) };
      }
      if (v >= 5 && k.type === OFPT14_REQUESTFORWARD) {
        return { name: 'OFPT_REQUESTFORWARD', body: requestForwardBody };
      }
      if (v >= 5 && k.type === OFPT14_TABLE_STATUS) {
        return { name: 'OFPT_TABLE_STATUS', body: tableStatusBody };
      }
      if (v >= 5 && k.type === OFPT14_ROLE_STATUS) {
        return { name: 'OFPT_ROLE_STATUS', body: roleStatusBody };
      }
      if ((v === 1 && k.type === 20) || (v >= 2 && v <= 4 && k.type === 22)) {
        return {
          name: 'OFPT_QUEUE_GET_CONFIG_REQUEST',
          body: (x, o) => formatQueueGetConfigRequest(decodeQueueGetConfigRequest(x), port(o)),
        };
      }
      if ((v === 1 && k.type === 21) || (v >= 2 && v <= 4 && k.type === 23)) {
        return {
          name: 'OFPT_QUEUE_GET_CONFIG_REPLY',
          body: (x, o) => formatQueueGetConfigReply(decodeQueueGetConfigReply(x), port(o)),
        };
      }
      return null;
    case 'ofpst': {
      const dir = k.reply ? 'reply' : 'request';
      if (v === 3 && k.reply && k.stat === OFPST_TABLE) {
        return {
          name: 'OFPST_TABLE reply',
          body: (x) => {
            const text = ofp12TableStatsText(x.bytes.subarray(x.bodyAt));
            if (text === null) throw Object.assign(new Error('len'), { code: 'OFPBRC_BAD_LEN' });
            return statsFlags(x) + (text === '\n' ? '' : `\n${text.slice(0, -1)}`);
          },
        };
      }
      if (v < 5) return null;
      if (k.stat === OFPMP14_TABLE_DESC) {
        return {
          name: `OFPST_TABLE_DESC ${dir}`,
          body: k.reply
            ? (x) => statsFlags(x) + decodeTableDescReply(x).map(formatTableDesc).join('')
            : (x) => statsFlags(x),
        };
      }
      if (k.stat === OFPMP14_QUEUE_DESC) {
        return {
          name: `OFPST_QUEUE_DESC ${dir}`,
          body: k.reply
            ? (x, o) =>
                statsFlags(x) + formatQueueGetConfigReply(decodeQueueGetConfigReply(x), port(o))
            : (x, o) =>
                statsFlags(x) +
                formatQueueGetConfigRequest(decodeQueueGetConfigRequest(x), port(o)),
        };
      }
      return null;
    }
    case 'nxt':
      switch (k.subtype) {
        case NXT_TLV_TABLE_MOD:
          return {
            name: 'NXT_TLV_TABLE_MOD',
            body: (x) => formatTlvTableMod(decodeTlvTableMod(x, warnMatch)),
          };
        case NXT_TLV_TABLE_REQUEST:
          return { name: 'NXT_TLV_TABLE_REQUEST', body: empty };
        case NXT_TLV_TABLE_REPLY:
          return {
            name: 'NXT_TLV_TABLE_REPLY',
            body: (x) => formatTlvTableReply(decodeTlvTableReply(x, warnMatch)),
          };
        case NXT_CT_FLUSH_ZONE:
          return {
            name: 'NXT_CT_FLUSH_ZONE',
            body: (x) => ` zone_id=${(x.bytes[22] << 8) | x.bytes[23]}`,
          };
        case NXT_CT_FLUSH:
          return { name: 'NXT_CT_FLUSH', body: (x) => formatCtFlush(decodeCtFlush(x)) };
        case NXT_RESUME:
          return { name: 'NXT_RESUME', body: resumeBody };
        case NXT_REQUESTFORWARD:
          return { name: 'NXT_REQUESTFORWARD', body: requestForwardBody };
        case NXT_SET_CONTROLLER_ID:
          return {
            name: 'NXT_SET_CONTROLLER_ID',
            body: (x) => ` id=${(x.bytes[x.bodyAt + 6] << 8) | x.bytes[x.bodyAt + 7]}`,
          };
      }
      return null;
    case 'onft':
      if (v === 4 && k.subtype === ONFT13_REQUESTFORWARD) {
        return { name: 'ONFT_REQUESTFORWARD', body: requestForwardBody };
      }
      if (v === 4 && k.subtype === ONFT_ROLE_STATUS) {
        return { name: 'ONFT_ROLE_STATUS', body: roleStatusBody };
      }
      return null;
    case 'nxst': {
      const dir = k.reply ? 'reply' : 'request';
      if (k.subtype === NXST_IPFIX_BRIDGE) {
        return {
          name: `NXST_IPFIX_BRIDGE ${dir}`,
          body: k.reply
            ? (x) => statsFlags(x) + formatIpfixBridgeReply(decodeIpfixReply(x))
            : statsFlags,
        };
      }
      if (k.subtype === NXST_IPFIX_FLOW) {
        return {
          name: `NXST_IPFIX_FLOW ${dir}`,
          body: k.reply
            ? (x) =>
                statsFlags(x) + formatIpfixFlowReply(decodeIpfixReply(x), x.bytes.length - x.bodyAt)
            : statsFlags,
        };
      }
      return null;
    }
    default:
      return null;
  }
}

/** The whole text OVS prints for `bytes`, or null when it is not one of ours. */
export function rawMessageText(bytes: Uint8Array, opts?: PrintOptions): string | null {
  const m = parseRaw(bytes);
  if (!m) return null;
  const known = identify(m);
  if (!known) return null;
  let body: string;
  try {
    body = known.body(m, opts);
  } catch (e) {
    const name = (e as { code?: string }).code ?? 'OFPBRC_BAD_LEN';
    body = ` ***decode error: ${name}***\n${hexDump(m.bytes)}`;
  }
  const text = header(known.name, m.version, m.xid) + body;
  return text.endsWith('\n') ? text : `${text.replace(/ +$/, '')}\n`;
}
