/*
 * The asynchronous status messages a switch volunteers beyond packet-in, flow-removed and
 * port-status: role status (another controller became master; OF1.4 OFPT_ROLE_STATUS, ONF's
 * 1911 in OF1.3), table status (flow table vacancy crossed a threshold; OF1.4+), and request
 * forwarding (a group or meter mod one controller made, told to the others; OF1.4
 * OFPT_REQUESTFORWARD, ONF 2350 in OF1.3, NXT 132 before). Also the vacancy settings of an
 * OF1.4+ table-mod, which codec.ts leaves out of its table_mod message.
 */

import { Reader, Writer } from './bytes.ts';
import { NX_VENDOR_ID, OfpError, ONF_VENDOR_ID } from './errors.ts';
import { OFP13_VERSION, OFP14_VERSION } from './messages.ts';

const OFPT_VENDOR = 4;
const OFPT14_ROLE_STATUS = 30;
const OFPT14_TABLE_STATUS = 31;
const OFPT14_REQUESTFORWARD = 32;
const ONFT13_ROLE_STATUS = 1911;
const ONFT13_REQUESTFORWARD = 2350;
const NXT_REQUESTFORWARD = 132;

/** OFPCR_ROLE_* numbers. */
export const OFPCR_ROLE = { nochange: 0, equal: 1, master: 2, slave: 3 } as const;
/** ofp14_controller_role_reason. */
export const OFPCRR = { PRIMARY_REQUEST: 0, CONFIG: 1, EXPERIMENTER: 2 } as const;
/** ofp14_table_reason. */
export const OFPTR = { VACANCY_DOWN: 3, VACANCY_UP: 4 } as const;
/** ofp14_requestforward_reason. */
export const OFPRFR = { GROUP_MOD: 0, METER_MOD: 1 } as const;

/* OF1.4 table config bits and table-mod property types. */
const OFPTC14_EVICTION = 4;
const OFPTC14_VACANCY_EVENTS = 8;
const OFPTMPT14_EVICTION = 2;
const OFPTMPT14_VACANCY = 3;

function header(w: Writer, version: number, type: number, xid: number): void {
  w.u8(version).u8(type).u16(0).u32(xid);
}

function done(w: Writer): Uint8Array {
  w.setU16(2, w.pos);
  return w.finish();
}

/** A role status telling a connection its new role; null below OF1.3 (nothing to say it in). */
export function encodeRoleStatus(
  version: number,
  role: keyof typeof OFPCR_ROLE,
  reason: number,
  generationId: bigint,
): Uint8Array | null {
  if (version < OFP13_VERSION) return null;
  const w = new Writer(32);
  if (version >= OFP14_VERSION) header(w, version, OFPT14_ROLE_STATUS, 0);
  else {
    header(w, version, OFPT_VENDOR, 0);
    w.u32(ONF_VENDOR_ID).u32(ONFT13_ROLE_STATUS);
  }
  w.u32(OFPCR_ROLE[role]).u8(reason).zeros(3).u64(generationId);
  return done(w);
}

/** A table's description as table status and table-desc replies carry it (OF1.4+). */
export interface TableDesc {
  tableId: number;
  eviction: boolean;
  /** OFPTMPEF14_* bits OVS would evict by (other, importance, lifetime). */
  evictionFlags: number;
  vacancyEvents: boolean;
  vacancyDown: number;
  vacancyUp: number;
  vacancy: number;
}

/** OFPT_TABLE_STATUS; null below OF1.4. */
export function encodeTableStatus(
  version: number,
  reason: number,
  td: TableDesc,
): Uint8Array | null {
  if (version < OFP14_VERSION) return null;
  const w = new Writer(48);
  header(w, version, OFPT14_TABLE_STATUS, 0);
  w.u8(reason).zeros(7);
  putTableDesc(w, td);
  return done(w);
}

function putTableDesc(w: Writer, td: TableDesc): void {
  const start = w.pos;
  const config =
    (td.eviction ? OFPTC14_EVICTION : 0) | (td.vacancyEvents ? OFPTC14_VACANCY_EVENTS : 0);
  w.u16(0).u8(td.tableId).u8(0).u32(config);
  w.u16(OFPTMPT14_EVICTION).u16(8).u32(td.evictionFlags);
  w.u16(OFPTMPT14_VACANCY).u16(8).u8(td.vacancyDown).u8(td.vacancyUp).u8(td.vacancy).u8(0);
  w.setU16(start, w.pos - start);
}

/** OFPMP_TABLE_DESC reply body: the tables' descriptions back to back. */
export function encodeTableDescs(tds: readonly TableDesc[]): Uint8Array {
  const w = new Writer(24 * tds.length);
  for (const td of tds) putTableDesc(w, td);
  return w.finish();
}

/**
 * A forwarded request: `inner` is the group or meter mod already encoded in the receiving
 * connection's version, with the original request's xid.
 */
export function encodeRequestForward(version: number, inner: Uint8Array): Uint8Array {
  const w = new Writer(16 + inner.length);
  if (version >= OFP14_VERSION) header(w, version, OFPT14_REQUESTFORWARD, 0);
  else {
    header(w, version, OFPT_VENDOR, 0);
    const onf = version === OFP13_VERSION;
    w.u32(onf ? ONF_VENDOR_ID : NX_VENDOR_ID).u32(onf ? ONFT13_REQUESTFORWARD : NXT_REQUESTFORWARD);
  }
  w.bytes(inner);
  return done(w);
}

/** What an OF1.4+ table-mod says about vacancy events ('default': nothing, before OF1.4). */
export interface TableModVacancy {
  vacancy: 'default' | 'on' | 'off';
  down: number;
  up: number;
}

/**
 * The vacancy part of a raw OFPT_TABLE_MOD (OVS's ofputil_decode_table_mod): the
 * VACANCY_EVENTS config bit and the vacancy property's thresholds.
 */
export function decodeTableModVacancy(raw: Uint8Array): TableModVacancy | OfpError {
  const version = raw[0];
  if (version < OFP14_VERSION) return { vacancy: 'default', down: 0, up: 0 };
  try {
    const r = new Reader(raw, 8, raw.length);
    r.skip(4);
    const config = r.u32();
    const out: TableModVacancy = {
      vacancy: config & OFPTC14_VACANCY_EVENTS ? 'on' : 'off',
      down: 0,
      up: 0,
    };
    while (r.remaining > 0) {
      if (r.remaining < 4) return new OfpError('OFPBPC_BAD_LEN');
      const type = r.u16();
      const len = r.u16();
      if (len < 4 || ((len + 7) & ~7) - 4 > r.remaining) return new OfpError('OFPBPC_BAD_LEN');
      const body = r.sub(((len + 7) & ~7) - 4);
      if (type === OFPTMPT14_VACANCY) {
        if (len !== 8) return new OfpError('OFPBPC_BAD_LEN');
        out.down = body.u8();
        out.up = body.u8();
        if (out.down > out.up || out.up > 100) {
          return new OfpError('OFPBPC_BAD_VALUE', 'vacancy thresholds');
        }
      } else if (type === OFPTMPT14_EVICTION) {
        if (len !== 8) return new OfpError('OFPBPC_BAD_LEN');
      } else {
        return new OfpError('OFPBRC_BAD_TYPE', `table-mod property ${type}`);
      }
    }
    return out;
  } catch {
    return new OfpError('OFPBRC_BAD_LEN', 'table mod');
  }
}
