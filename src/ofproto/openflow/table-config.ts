/*
 * Table configuration: OFPT_TABLE_MOD (OF1.1+; miss handling in 1.1/1.2, eviction and vacancy
 * properties in 1.4+) and the OFPMP_TABLE_DESC multipart (OF1.4+), modelled as OVS's
 * ofputil_table_mod / ofputil_table_desc, with the text OVS prints for them.
 */

import { OfpError } from './errors.ts';
import { ofptMessage, type RawMessage, statsMessage } from './raw-msg.ts';

export const OFPT11_TABLE_MOD = 17;
export const OFPMP14_TABLE_DESC = 14;

const OFPTC14_EVICTION = 1 << 2;
const OFPTC14_VACANCY_EVENTS = 1 << 3;
const OFPTMPT14_EVICTION = 2;
const OFPTMPT14_VACANCY = 3;

export type TableMiss = 'default' | 'controller' | 'continue' | 'drop';
export type Tristate = 'default' | 'on' | 'off';
/* OVS keeps these as enums; a decoded eviction property lands in the same slot (see below). */
const TRISTATE: readonly Tristate[] = ['default', 'on', 'off'];

export interface TableVacancy {
  down: number;
  up: number;
  vacancy: number;
}

export interface TableMod {
  /** 255: all tables. */
  tableId: number;
  miss: TableMiss;
  /** A Tristate, or (as OVS's decoder leaves it) the raw eviction-flags property value. */
  eviction: Tristate | number;
  /** 0xffffffff: not given. */
  evictionFlags: number;
  vacancy: Tristate;
  tableVacancy: TableVacancy;
}

export interface TableDesc {
  tableId: number;
  eviction: Tristate;
  evictionFlags: number;
  vacancy: Tristate;
  tableVacancy: TableVacancy;
}

export function defaultTableMod(tableId: number): TableMod {
  return {
    tableId,
    miss: 'default',
    eviction: 'default',
    evictionFlags: 0xffffffff,
    vacancy: 'default',
    tableVacancy: { down: 0, up: 0, vacancy: 0 },
  };
}

function missConfig(miss: TableMiss): number {
  return miss === 'continue' ? 1 : miss === 'drop' ? 2 : 0;
}

/** Encodes a table-mod for OF1.1+ (OpenFlow 1.0 has none: the caller says so first). */
export function encodeTableMod(tm: TableMod, version: number, xid: number): Uint8Array {
  if (version < 2) throw new OfpError('OFPBRC_BAD_VERSION', 'table mod needs OpenFlow 1.1');
  let config = 0;
  if (version <= 3) config = missConfig(tm.miss);
  else if (version >= 5) {
    if (tm.eviction === 'on') config |= OFPTC14_EVICTION;
    if (tm.vacancy === 'on') config |= OFPTC14_VACANCY_EVENTS;
  }
  const props: number[] = [];
  if (version >= 5) {
    if (tm.evictionFlags !== 0xffffffff) {
      const f = tm.evictionFlags >>> 0;
      props.push(0, OFPTMPT14_EVICTION, 0, 8, f >>> 24, (f >> 16) & 255, (f >> 8) & 255, f & 255);
    }
    if (tm.vacancy === 'on') {
      props.push(0, OFPTMPT14_VACANCY, 0, 8, tm.tableVacancy.down, tm.tableVacancy.up, 0, 0);
    }
  }
  const body = new Uint8Array(8 + props.length);
  body[0] = tm.tableId;
  new DataView(body.buffer).setUint32(4, config);
  body.set(props, 8);
  return ofptMessage(version, OFPT11_TABLE_MOD, xid, body);
}

function decodeMiss(config: number, version: number): TableMiss {
  if (version !== 2 && version !== 3) return 'default';
  return (['controller', 'continue', 'drop', 'controller'] as const)[config & 3];
}

function tri(on: boolean, version: number): Tristate {
  return version < 5 ? 'default' : on ? 'on' : 'off';
}

/* OpenFlow properties: type, length (4 + payload), padded to 8. */
function* props(b: Uint8Array, at: number, end: number): Generator<[number, DataView, number]> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (at < end) {
    if (end - at < 4) throw new OfpError('OFPBPC_BAD_LEN');
    const type = dv.getUint16(at);
    const len = dv.getUint16(at + 2);
    if (len < 4 || at + len > end) throw new OfpError('OFPBPC_BAD_LEN');
    yield [type, new DataView(b.buffer, b.byteOffset + at + 4, len - 4), len - 4];
    at += (len + 7) & ~7;
  }
}

export function decodeTableMod(m: RawMessage): TableMod {
  const b = m.bytes;
  if (b.length < 16) throw new OfpError('OFPBRC_BAD_LEN');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const config = dv.getUint32(12);
  const tm = defaultTableMod(b[8]);
  tm.miss = decodeMiss(config, m.version);
  if (m.version >= 5) {
    tm.eviction = tri((config & OFPTC14_EVICTION) !== 0, m.version);
    tm.vacancy = tri((config & OFPTC14_VACANCY_EVENTS) !== 0, m.version);
    for (const [type, p, len] of props(b, 16, b.length)) {
      if (type === OFPTMPT14_EVICTION) {
        if (len !== 4) throw new OfpError('OFPBPC_BAD_LEN');
        // OVS 3.1 stores this property's value in the eviction mode, not the flags.
        tm.eviction = p.getUint32(0);
      } else if (type === OFPTMPT14_VACANCY) {
        if (len !== 4) throw new OfpError('OFPBPC_BAD_LEN');
        const down = p.getUint8(0);
        const up = p.getUint8(1);
        if (down > up || down > 100 || up > 100 || p.getUint8(2)) {
          throw new OfpError('OFPBPC_BAD_VALUE');
        }
        tm.tableVacancy = { down, up, vacancy: 0 };
      } else throw new OfpError('OFPBRC_BAD_TYPE');
    }
  }
  return tm;
}

function triText(t: Tristate | number): string {
  return typeof t === 'number' ? (TRISTATE[t] ?? '***error***') : t;
}

/** OVS's ofp_print_bit_names() for the eviction flags ("OTHER|IMPORTANCE|LIFETIME"). */
export function evictionFlagsText(flags: number): string {
  if (flags === 0xffffffff) return '(default)';
  if (!flags) return '0';
  const names = ['OTHER', 'IMPORTANCE', 'LIFETIME'];
  const out: string[] = [];
  let rest = flags >>> 0;
  for (let i = 0; i < 3; i++) {
    if (rest & (1 << i)) {
      out.push(names[i]);
      rest &= ~(1 << i);
    }
  }
  if (rest) out.push(`0x${(rest >>> 0).toString(16)}`);
  return out.join('|');
}

export function formatTableMod(tm: TableMod): string {
  let s = tm.tableId === 255 ? ' table_id: ALL_TABLES' : ` table_id=${tm.tableId}`;
  if (tm.miss !== 'default') s += `, flow_miss_config=${tm.miss}`;
  if (tm.eviction !== 'default') s += `, eviction=${triText(tm.eviction)}`;
  // OVS prints this one without a separator.
  if (tm.evictionFlags !== 0xffffffff) s += `eviction_flags=${evictionFlagsText(tm.evictionFlags)}`;
  if (tm.vacancy !== 'default') {
    s += `, vacancy=${tm.vacancy}`;
    if (tm.vacancy === 'on') s += ` vacancy:${tm.tableVacancy.down},${tm.tableVacancy.up}`;
  }
  return s;
}

export function encodeTableDescRequest(version: number, xid: number): Uint8Array {
  return statsMessage(version, false, OFPMP14_TABLE_DESC, xid, new Uint8Array(0));
}

export function encodeTableDescReply(
  tables: readonly TableDesc[],
  version: number,
  xid: number,
  flags = 0,
): Uint8Array {
  const parts: number[] = [];
  for (const t of tables) {
    const config =
      (t.eviction === 'on' ? OFPTC14_EVICTION : 0) |
      (t.vacancy === 'on' ? OFPTC14_VACANCY_EVENTS : 0);
    const start = parts.length;
    parts.push(
      0,
      0,
      t.tableId,
      0,
      config >>> 24,
      (config >> 16) & 255,
      (config >> 8) & 255,
      config & 255,
    );
    const f = t.evictionFlags >>> 0;
    parts.push(0, OFPTMPT14_EVICTION, 0, 8, f >>> 24, (f >> 16) & 255, (f >> 8) & 255, f & 255);
    if (t.vacancy === 'on') {
      const v = t.tableVacancy;
      parts.push(0, OFPTMPT14_VACANCY, 0, 8, v.down, v.up, v.vacancy, 0);
    }
    const len = parts.length - start;
    parts[start] = len >> 8;
    parts[start + 1] = len & 255;
  }
  return statsMessage(version, true, OFPMP14_TABLE_DESC, xid, Uint8Array.from(parts), flags);
}

/** The tables of a table-desc reply body (from `m.bodyAt`). */
export function decodeTableDescReply(m: RawMessage): TableDesc[] {
  const b = m.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: TableDesc[] = [];
  let at = m.bodyAt;
  while (at < b.length) {
    if (b.length - at < 8) throw new OfpError('OFPBRC_BAD_LEN');
    const len = dv.getUint16(at);
    if (len < 8 || at + len > b.length) throw new OfpError('OFPBRC_BAD_LEN');
    const config = dv.getUint32(at + 4);
    const td: TableDesc = {
      tableId: b[at + 2],
      eviction: tri((config & OFPTC14_EVICTION) !== 0, m.version),
      vacancy: tri((config & OFPTC14_VACANCY_EVENTS) !== 0, m.version),
      evictionFlags: 0xffffffff,
      tableVacancy: { down: 0, up: 0, vacancy: 0 },
    };
    for (const [type, p, plen] of props(b, at + 8, at + len)) {
      if (type === OFPTMPT14_EVICTION) {
        if (plen !== 4) throw new OfpError('OFPBPC_BAD_LEN');
        td.evictionFlags = p.getUint32(0);
      } else if (type === OFPTMPT14_VACANCY) {
        if (plen !== 4) throw new OfpError('OFPBPC_BAD_LEN');
        td.tableVacancy = { down: p.getUint8(0), up: p.getUint8(1), vacancy: p.getUint8(2) };
      } else throw new OfpError('OFPBPC_BAD_TYPE');
    }
    out.push(td);
    at += len;
  }
  return out;
}

export function formatTableDesc(td: TableDesc): string {
  let s = `\n  table ${td.tableId}:\n`;
  s += `   eviction=${td.eviction} eviction_flags=${evictionFlagsText(td.evictionFlags)}\n`;
  s += `   vacancy=${td.vacancy}`;
  if (td.vacancy === 'on') {
    const v = td.tableVacancy;
    s += ` vacancy_down=${v.down}% vacancy_up=${v.up}% vacancy=${v.vacancy}%`;
  }
  return `${s}\n`;
}
