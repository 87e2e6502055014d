/*
 * Meters: meter-mod and meter-config, their OF1.3+ wire form (also used by OVS in OF1.0 through
 * no extension: meters need OF1.3), the add-meter text syntax and OVS's printed form
 * (`meter=1 kbps burst bands=\ntype=drop rate=100 burst_size=10`).
 */

import type { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import type { ParseResult } from './ofpact-parse.ts';

/** The highest meter id a user may set (OFPM13_MAX). */
export const OFPM_MAX = 0xffff0000;
export const OFPM_SLOWPATH = 0xfffffffd;
export const OFPM_CONTROLLER = 0xfffffffe;
export const OFPM_ALL = 0xffffffff;

export const OFPMF_KBPS = 1;
export const OFPMF_PKTPS = 2;
export const OFPMF_BURST = 4;
export const OFPMF_STATS = 8;

export type MeterCommand = 'add' | 'modify' | 'delete';
const COMMANDS: readonly MeterCommand[] = ['add', 'modify', 'delete'];

export interface MeterBand {
  /** 1 drop, 2 dscp_remark. */
  type: number;
  rate: number;
  burstSize: number;
  precLevel: number;
}

export interface MeterConfig {
  meterId: number;
  flags: number;
  bands: MeterBand[];
}

export interface MeterMod extends MeterConfig {
  command: MeterCommand;
}

function putBands(w: Writer, bands: readonly MeterBand[]): void {
  for (const b of bands) {
    w.u16(b.type)
      .u16(16)
      .u32(b.rate)
      .u32(b.burstSize)
      .u8(b.type === 2 ? b.precLevel : 0)
      .zeros(3);
  }
}

function pullBands(r: Reader, len: number): MeterBand[] {
  if (len > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'meter bands');
  const out: MeterBand[] = [];
  const l = r.sub(len);
  while (l.remaining >= 16) {
    const type = l.u16();
    const blen = l.u16();
    if (blen !== 16) throw new OfpError('OFPMMFC_BAD_BAND', `band length ${blen}`);
    const rate = l.u32();
    const burstSize = l.u32();
    const precLevel = l.u8();
    l.skip(3);
    if (type !== 1 && type !== 2) throw new OfpError('OFPMMFC_BAD_BAND', `band type ${type}`);
    out.push({ type, rate, burstSize, precLevel: type === 2 ? precLevel : 0 });
  }
  if (l.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'meter band');
  return out;
}

export function putMeterMod(w: Writer, m: MeterMod): void {
  w.u16(COMMANDS.indexOf(m.command)).u16(m.flags).u32(m.meterId);
  putBands(w, m.bands);
}

export function pullMeterMod(r: Reader): MeterMod {
  const cmd = r.u16();
  const command = COMMANDS[cmd];
  if (!command) throw new OfpError('OFPMMFC_BAD_COMMAND', `command ${cmd}`);
  const flags = r.u16();
  const meterId = r.u32();
  // A rate is in kb/s or in packets/s, not both (OVS checks this for add and modify only).
  if (command !== 'delete' && flags & 1 && flags & 2) {
    throw new OfpError('OFPMMFC_BAD_FLAGS', 'kbps and pktps');
  }
  return { command, flags, meterId, bands: pullBands(r, r.remaining) };
}

/** One OFPMP_METER_CONFIG entry. */
export function putMeterConfig(w: Writer, m: MeterConfig): void {
  const at = w.pos;
  w.u16(0).u16(m.flags).u32(m.meterId);
  putBands(w, m.bands);
  w.setU16(at, w.pos - at);
}

export function pullMeterConfig(r: Reader): MeterConfig {
  const len = r.u16();
  if (len < 8 || len - 2 > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'meter config');
  const flags = r.u16();
  const meterId = r.u32();
  return { flags, meterId, bands: pullBands(r, len - 8) };
}

export function formatMeterId(id: number): string {
  if (id === OFPM_ALL) return 'all';
  if (id === OFPM_CONTROLLER) return 'controller';
  if (id === OFPM_SLOWPATH) return 'slowpath';
  return String(id);
}

/** OVS's ofputil_format_meter_config() (ends with a newline, as OVS's does). */
export function formatMeterConfig(m: MeterConfig): string {
  let s = `meter=${formatMeterId(m.meterId)} `;
  if (m.flags & OFPMF_KBPS) s += 'kbps ';
  if (m.flags & OFPMF_PKTPS) s += 'pktps ';
  if (m.flags & OFPMF_BURST) s += 'burst ';
  if (m.flags & OFPMF_STATS) s += 'stats ';
  const other = m.flags & ~15;
  if (other) s += `flags:0x${other.toString(16)} `;
  s += 'bands=';
  for (const b of m.bands) {
    s += `\ntype=${b.type === 1 ? 'drop' : b.type === 2 ? 'dscp_remark' : b.type} rate=${b.rate}`;
    if (m.flags & OFPMF_BURST) s += ` burst_size=${b.burstSize}`;
    if (b.type === 2) s += ` prec_level=${b.precLevel}`;
  }
  return `${s}\n`;
}

export function formatMeterMod(m: MeterMod): string {
  return ` ${m.command === 'add' ? 'ADD' : m.command === 'modify' ? 'MOD' : 'DEL'} ${formatMeterConfig(m)}`;
}

/* C's strtoul(s, &end, 0) over the whole token, as OVS's str_to_u32(); the result is cut to
 * 32 bits as there. */
function u32(s: string): number {
  if (s === '') throw new OfpError('OFPMMFC_BAD_BAND_VALUE', 'missing required numeric argument');
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  const v = m
    ? BigInt(m[2].startsWith('0') && !/^0[xX]/.test(m[2]) ? `0o${m[2].slice(1) || '0'}` : m[2])
    : -1n;
  if (!m || v > 0xffffffffffffffffn) {
    throw new OfpError('OFPMMFC_BAD_BAND_VALUE', `invalid numeric format ${s}`);
  }
  return Number(BigInt.asUintN(32, m[1] === '-' ? -v : v));
}

/* strtok_r(): the next token of `s` after `pos` delimited by any of `delims`. */
function strtok(st: { s: string; pos: number }, delims: string): string | null {
  let i = st.pos;
  while (i < st.s.length && delims.includes(st.s[i])) i++;
  if (i >= st.s.length) {
    st.pos = i;
    return null;
  }
  let j = i;
  while (j < st.s.length && !delims.includes(st.s[j])) j++;
  st.pos = j < st.s.length ? j + 1 : j;
  return st.s.slice(i, j);
}

const NAME_DELIMS = '=, \t\r\n';
const VALUE_DELIMS = ', \t\r\n';

/**
 * Parses the add-meter / mod-meter / del-meters (and dump-meters: 'delete') syntax of
 * ovs-ofctl(8) as OVS's parser reads it: words split at commas, spaces and '=', so
 * `meter=1 pktps stats bands=type=drop rate=1` and `meter=1,pktps,band=type=drop,rate=1` are
 * the same; everything from the first "band" on is the band list.
 */
export function parseMeterMod(text: string, command: MeterCommand): ParseResult<MeterMod> {
  try {
    const m: MeterMod = { command, meterId: 0, flags: 0, bands: [] };
    const withFlags = command !== 'delete';
    let head = text;
    let bandText = '';
    if (withFlags) {
      const bi = text.indexOf('band');
      const eq = bi < 0 ? -1 : text.indexOf('=', bi + 1);
      if (eq < 0) return { ok: false, error: 'must specify bands' };
      head = text.slice(0, bi);
      bandText = text.slice(eq + 1);
    }
    const st = { s: head, pos: 0 };
    for (let name = strtok(st, NAME_DELIMS); name !== null; name = strtok(st, NAME_DELIMS)) {
      if (withFlags && name === 'kbps') m.flags |= OFPMF_KBPS;
      else if (withFlags && name === 'pktps') m.flags |= OFPMF_PKTPS;
      else if (withFlags && name === 'burst') m.flags |= OFPMF_BURST;
      else if (withFlags && name === 'stats') m.flags |= OFPMF_STATS;
      else {
        const value = strtok(st, VALUE_DELIMS);
        if (value === null) return { ok: false, error: `field ${name} missing value` };
        if (name !== 'meter') return { ok: false, error: `unknown keyword ${name}` };
        if (value === 'all') m.meterId = OFPM_ALL;
        else if (value === 'controller') m.meterId = OFPM_CONTROLLER;
        else if (value === 'slowpath') m.meterId = OFPM_SLOWPATH;
        else {
          m.meterId = u32(value);
          if (m.meterId > OFPM_MAX || !m.meterId) {
            return { ok: false, error: `invalid value for ${name}` };
          }
        }
      }
    }
    if (!m.meterId) return { ok: false, error: "must specify 'meter'" };
    if (withFlags && !m.flags) {
      return { ok: false, error: "meter must specify either 'kbps' or 'pktps'" };
    }
    if (!withFlags) return { ok: true, value: m };
    const bt = { s: bandText, pos: 0 };
    let band: MeterBand | null = null;
    for (let name = strtok(bt, NAME_DELIMS); name !== null; name = strtok(bt, NAME_DELIMS)) {
      const value = strtok(bt, VALUE_DELIMS);
      if (value === null) return { ok: false, error: `field ${name} missing value` };
      if (name === 'type') {
        band = { type: 0, rate: 0, burstSize: 0, precLevel: 0 };
        m.bands.push(band);
        if (value === 'drop') band.type = 1;
        else if (value === 'dscp_remark') band.type = 2;
        else return { ok: false, error: `field ${name} unknown value ${value}` };
      } else if (!band) return { ok: false, error: "band must start with the 'type' keyword" };
      else if (name === 'rate') band.rate = u32(value);
      else if (name === 'burst_size') band.burstSize = u32(value);
      else if (name === 'prec_level') {
        const p = /^(0x[0-9a-f]+|[0-9]+)$/i.test(value) ? Number(value) : -1;
        if (p < 0 || p > 255) return { ok: false, error: `invalid ${name} "${value}"` };
        band.precLevel = p;
      } else return { ok: false, error: `unknown keyword ${name}` };
    }
    if (!m.bands.length) return { ok: false, error: 'meter must have bands' };
    for (const b of m.bands) {
      if (b.type === 2 && !b.precLevel) {
        return { ok: false, error: "'dscp_remark' band must have 'prec_level'" };
      }
      if (b.type !== 2 && b.precLevel) {
        return { ok: false, error: "Only 'dscp_remark' band may have 'prec_level'" };
      }
      if (!b.rate) return { ok: false, error: "band must have 'rate'" };
      if (m.flags & OFPMF_BURST && !b.burstSize) {
        return { ok: false, error: "band must have 'burst_size' when 'burst' flag is set" };
      }
      if (!(m.flags & OFPMF_BURST) && b.burstSize) {
        return { ok: false, error: "band may have 'burst_size' only when 'burst' flag is set" };
      }
    }
    return { ok: true, value: m };
  } catch (e) {
    if (e instanceof OfpError) return { ok: false, error: e.message.replace(/^[A-Z_]+: /, '') };
    throw e;
  }
}
