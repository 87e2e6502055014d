/*
 * Meters: meter-mod and meter-config, their OF1.3+ wire form (also used by OVS in OF1.0 through
 * no extension: meters need OF1.3), the add-meter text syntax and OVS's printed form
 * (`meter=1 kbps burst bands=\ntype=drop rate=100 burst_size=10`).
 */

import type { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import type { ParseResult } from './ofpact-parse.ts';

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

function u32(s: string, what: string): number {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s) || Number(s) > 0xffffffff) {
    throw new OfpError('OFPMMFC_BAD_BAND_VALUE', `invalid ${what} "${s}"`);
  }
  return Number(s);
}

/** Parses the add-meter / mod-meter / del-meters syntax of ovs-ofctl(8). */
export function parseMeterMod(text: string, command: MeterCommand): ParseResult<MeterMod> {
  try {
    const m: MeterMod = { command, meterId: OFPM_ALL, flags: 0, bands: [] };
    const bi = text.indexOf('band=');
    const head = bi >= 0 ? text.slice(0, bi) : text;
    let haveId = false;
    for (const kv of head.split(',').filter((x) => x.trim())) {
      const [k, v = ''] = kv.trim().split('=');
      if (k === 'meter') {
        m.meterId =
          v === 'all'
            ? OFPM_ALL
            : v === 'controller'
              ? OFPM_CONTROLLER
              : v === 'slowpath'
                ? OFPM_SLOWPATH
                : u32(v, 'meter id');
        haveId = true;
      } else if (k === 'kbps') m.flags |= OFPMF_KBPS;
      else if (k === 'pktps') m.flags |= OFPMF_PKTPS;
      else if (k === 'burst') m.flags |= OFPMF_BURST;
      else if (k === 'stats') m.flags |= OFPMF_STATS;
      else return { ok: false, error: `unknown keyword ${k}` };
    }
    if (!haveId && command !== 'delete') return { ok: false, error: 'must specify a meter id' };
    if (bi >= 0) {
      for (const bt of text
        .slice(bi)
        .split(/,?band=/)
        .filter((x) => x)) {
        const b: MeterBand = { type: 0, rate: 0, burstSize: 0, precLevel: 0 };
        for (const kv of bt.split(',').filter((x) => x)) {
          const [k, v = ''] = kv.split('=');
          if (k === 'type') {
            if (v === 'drop') b.type = 1;
            else if (v === 'dscp_remark') b.type = 2;
            else return { ok: false, error: `unknown band type ${v}` };
          } else if (k === 'rate') b.rate = u32(v, 'rate');
          else if (k === 'burst_size') b.burstSize = u32(v, 'burst_size');
          else if (k === 'prec_level') b.precLevel = u32(v, 'prec_level') & 0xff;
          else return { ok: false, error: `unknown keyword ${k}` };
        }
        if (!b.type) return { ok: false, error: 'band type must be specified' };
        m.bands.push(b);
      }
    }
    if (command !== 'delete' && !(m.flags & (OFPMF_KBPS | OFPMF_PKTPS))) {
      return { ok: false, error: "meter must specify either 'kbps' or 'pktps'" };
    }
    return { ok: true, value: m };
  } catch (e) {
    if (e instanceof OfpError) return { ok: false, error: e.message.replace(/^[A-Z_]+: /, '') };
    throw e;
  }
}
