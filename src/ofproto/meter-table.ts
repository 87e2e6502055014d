/*
 * The meter table of one bridge (OVS's ofproto meters on the userspace datapath): meter_mod
 * with OVS's checks and errors, config/stats/features replies. Rates are not enforced here;
 * a flow may only name a meter that exists, and deleting a meter deletes the flows that use it.
 */

import type { FlowTables } from './flow-table.ts';
import { OfpError } from './openflow/errors.ts';
import {
  type MeterBand,
  type MeterConfig,
  type MeterMod,
  OFPM_ALL,
  OFPM_CONTROLLER,
  OFPM_SLOWPATH,
  OFPMF_BURST,
  OFPMF_KBPS,
  OFPMF_PKTPS,
  OFPMF_STATS,
} from './openflow/meter.ts';
import type { MeterFeatures, MeterStats } from './openflow/stats.ts';

const OFPM13_MAX = 0xffff0000;
/* dpif-netdev's limits: 2^18 meters of up to 8 bands, drop bands only. */
export const MAX_METERS = 1 << 18;
export const MAX_BANDS = 8;
const OFPMBT13_DROP = 1;
const SUPPORTED_FLAGS = OFPMF_KBPS | OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS;

export interface Meter {
  readonly meterId: number;
  flags: number;
  bands: MeterBand[];
  /** ms */
  readonly created: number;
  packetInCount: number;
  byteInCount: number;
  bandStats: Array<{ packetCount: number; byteCount: number }>;
}

export interface MeterTableOptions {
  now?: () => number;
}

export class MeterTable {
  private readonly meters = new Map<number, Meter>();
  private readonly now: () => number;
  private tables: FlowTables | null = null;
  onChange: (() => void) | null = null;

  constructor(tables: FlowTables | null = null, opts: MeterTableOptions = {}) {
    this.now = opts.now ?? tables?.clock ?? Date.now;
    if (tables) this.attach(tables);
  }

  /** Ties the meters to a bridge's flow tables (flows naming meters are checked and deleted). */
  attach(tables: FlowTables): void {
    this.tables = tables;
    tables.meterExists = (id) => this.meters.has(id);
  }

  get count(): number {
    return this.meters.size;
  }

  get(meterId: number): Meter | undefined {
    return this.meters.get(meterId);
  }

  meterMod(mm: MeterMod): OfpError | null {
    const id = mm.meterId;
    if (mm.command !== 'delete') {
      if (id === 0) return new OfpError('OFPMMFC_INVALID_METER');
      if (id > OFPM13_MAX && id !== OFPM_SLOWPATH && id !== OFPM_CONTROLLER) {
        return new OfpError('OFPMMFC_INVALID_METER');
      }
      if (mm.bands.length > MAX_BANDS) return new OfpError('OFPMMFC_OUT_OF_BANDS');
    }
    switch (mm.command) {
      case 'add': {
        if (this.meters.has(id)) return new OfpError('OFPMMFC_METER_EXISTS');
        const err = checkConfig(mm);
        if (err) return err;
        if (this.meters.size >= MAX_METERS) return new OfpError('OFPMMFC_OUT_OF_METERS');
        this.meters.set(id, {
          meterId: id,
          flags: mm.flags,
          bands: mm.bands.map((b) => ({ ...b })),
          created: this.now(),
          packetInCount: 0,
          byteInCount: 0,
          bandStats: mm.bands.map(() => ({ packetCount: 0, byteCount: 0 })),
        });
        break;
      }
      case 'modify': {
        const m = this.meters.get(id);
        if (!m) return new OfpError('OFPMMFC_UNKNOWN_METER');
        const err = checkConfig(mm);
        if (err) return err;
        m.flags = mm.flags;
        m.bands = mm.bands.map((b) => ({ ...b }));
        m.bandStats = mm.bands.map(() => ({ packetCount: 0, byteCount: 0 }));
        break;
      }
      case 'delete':
        // Meter 0 does not exist in OpenFlow: deleting it is a no-op, not an error.
        if (id === 0) return null;
        this.delete(id);
        return null;
      default:
        return new OfpError('OFPMMFC_BAD_COMMAND');
    }
    this.onChange?.();
    return null;
  }

  /** Deletes one meter (or all with OFPM_ALL) and the flows that use it. */
  delete(meterId: number): void {
    const ids = meterId === OFPM_ALL ? [...this.meters.keys()] : [meterId];
    let n = 0;
    for (const id of ids) {
      if (!this.meters.delete(id)) continue;
      n++;
      if (this.tables) {
        const victims = this.tables.rulesWithMeter(id);
        if (victims.length) this.tables.removeRules(victims, 'meter_delete');
      }
    }
    if (n) this.onChange?.();
  }

  private selected(meterId: number): Meter[] {
    if (meterId === OFPM_ALL)
      return [...this.meters.values()].sort((a, b) => a.meterId - b.meterId);
    const m = this.meters.get(meterId);
    return m ? [m] : [];
  }

  config(meterId = OFPM_ALL): MeterConfig[] {
    return this.selected(meterId).map((m) => ({
      meterId: m.meterId,
      flags: m.flags,
      bands: m.bands.map((b) => ({ ...b })),
    }));
  }

  stats(meterId = OFPM_ALL): MeterStats[] {
    const now = this.now();
    return this.selected(meterId).map((m) => {
      const age = now - m.created;
      return {
        meterId: m.meterId,
        flowCount: this.tables ? this.tables.rulesWithMeter(m.meterId).length : 0,
        packetInCount: BigInt(m.packetInCount),
        byteInCount: BigInt(m.byteInCount),
        durationSec: Math.floor(age / 1000),
        durationNsec: (age % 1000) * 1000000,
        bands: m.bandStats.map((b) => ({
          packetCount: BigInt(b.packetCount),
          byteCount: BigInt(b.byteCount),
        })),
      };
    });
  }

  features(): MeterFeatures {
    return {
      maxMeter: MAX_METERS,
      bandTypes: 1 << OFPMBT13_DROP,
      capabilities: SUPPORTED_FLAGS,
      maxBands: MAX_BANDS,
      maxColor: 0,
    };
  }
}

/* dpif-netdev's meter_set() checks, as ofproto-dpif maps them to OpenFlow errors. */
function checkConfig(mm: MeterConfig): OfpError | null {
  if (mm.flags & ~SUPPORTED_FLAGS) return new OfpError('OFPMMFC_BAD_FLAGS');
  for (const b of mm.bands) {
    if (b.type !== OFPMBT13_DROP) return new OfpError('OFPMMFC_BAD_BAND');
  }
  return null;
}
