/*
 * OpenFlow 1.5 statistics as OXS fields (class OPENFLOW_BASIC 0x8002): one ofp_oxs_stat, a
 * reserved word and a length, then fields padded as a whole to 8 bytes. Absent counters read
 * as all-ones, as OVS leaves them.
 */

import type { Reader } from './bytes.ts';
import { OfpError } from './errors.ts';

export interface OxsStats {
  durationSec: number;
  durationNsec: number;
  idleAge: number;
  flowCount: number;
  packetCount: bigint;
  byteCount: bigint;
}

const U64 = 0xffffffffffffffffn;

export function pullOxsStats(r: Reader): OxsStats {
  const s: OxsStats = {
    durationSec: 0xffffffff,
    durationNsec: 0xffffffff,
    idleAge: 0xffffffff,
    flowCount: 0xffffffff,
    packetCount: U64,
    byteCount: U64,
  };
  const start = r.pos;
  if (r.remaining < 4) throw new OfpError('OFPBMC_BAD_LEN', 'OXS stat header');
  r.skip(2);
  const len = r.u16();
  const padded = (len + 7) & ~7;
  if (len < 4 || start + padded > r.end) throw new OfpError('OFPBMC_BAD_LEN', 'OXS stat');
  const end = start + len;
  while (r.pos < end) {
    if (end - r.pos < 4) throw new OfpError('OFPBMC_BAD_LEN', 'OXS field');
    const cls = r.u16();
    const field = r.u8() >> 1;
    const flen = r.u8();
    if (cls === 0xffff && flen < 4) throw new OfpError('OFPBMC_BAD_LEN', 'OXS experimenter');
    if (r.pos + flen > end) throw new OfpError('OFPBMC_BAD_LEN', 'OXS field');
    const at = r.pos;
    if (cls === 0x8002) {
      if (field === 0 && flen === 8) {
        s.durationSec = r.u32();
        s.durationNsec = r.u32();
      } else if (field === 1 && flen === 8) s.idleAge = r.u32();
      else if (field === 3 && flen === 4) s.flowCount = r.u32();
      else if (field === 4 && flen === 8) s.packetCount = r.u64();
      else if (field === 5 && flen === 8) s.byteCount = r.u64();
    }
    r.pos = at + flen;
  }
  r.pos = start + padded;
  return s;
}
