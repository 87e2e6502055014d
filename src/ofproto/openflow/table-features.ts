/*
 * OFPMP_TABLE_FEATURES bodies (OF1.3+): a fixed part per table and a list of properties. The
 * properties are kept as (type, bytes) pairs; tableFeatureProperties() builds the eight that
 * OpenFlow 1.3/1.4 require (ovs-ofctl rejects a reply without them) from plain lists.
 */

import { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import { headerFor, headerWord } from './oxm-fields.ts';

export const OFPTFPT_INSTRUCTIONS = 0;
export const OFPTFPT_NEXT_TABLES = 2;
export const OFPTFPT_WRITE_ACTIONS = 4;
export const OFPTFPT_APPLY_ACTIONS = 6;
export const OFPTFPT_MATCH = 8;
export const OFPTFPT_WILDCARDS = 10;
export const OFPTFPT_WRITE_SETFIELD = 12;
export const OFPTFPT_APPLY_SETFIELD = 14;

export interface TableFeatureProp {
  type: number;
  body: Uint8Array;
}

export interface TableFeatures {
  tableId: number;
  /** OF1.5 command (0 replace, 1 modify, 2 enable, 3 disable); 0 before OF1.5. */
  command: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  /** OF1.3 config / OF1.4+ capabilities. */
  config: number;
  maxEntries: number;
  properties: TableFeatureProp[];
}

export function putTableFeatures(w: Writer, t: TableFeatures, version: number): void {
  const at = w.pos;
  w.u16(0)
    .u8(t.tableId)
    .u8(version >= 6 ? t.command : 0)
    .zeros(4)
    .str(t.name, 32);
  w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries);
  for (const p of t.properties) {
    const s = w.pos;
    w.u16(p.type)
      .u16(4 + p.body.length)
      .bytes(p.body);
    w.pad(8, s);
  }
  w.setU16(at, w.pos - at);
}

export function pullTableFeatures(r: Reader, version: number): TableFeatures {
  const start = r.pos;
  const len = r.u16();
  if (len < 64 || len % 8 || len - 2 > r.remaining) {
    throw new OfpError('OFPBPC_BAD_LEN', `table features length ${len}`);
  }
  const tableId = r.u8();
  if (tableId === 255) throw new OfpError('OFPTFFC_BAD_TABLE');
  const command = r.u8();
  r.skip(4);
  const t: TableFeatures = {
    tableId,
    command: version >= 6 ? command : 0,
    name: r.str(32),
    metadataMatch: r.u64(),
    metadataWrite: r.u64(),
    config: r.u32(),
    maxEntries: r.u32(),
    properties: [],
  };
  const end = start + len;
  while (r.pos < end) {
    if (end - r.pos < 4) throw new OfpError('OFPBPC_BAD_LEN', 'table feature property');
    const type = r.u16();
    const plen = r.u16();
    const padded = (plen + 7) & ~7;
    if (plen < 4 || r.pos - 4 + padded > end) {
      throw new OfpError('OFPBPC_BAD_LEN', `table feature property ${type}`);
    }
    t.properties.push({ type, body: r.bytes(plen - 4).slice() });
    r.skip(padded - plen);
  }
  return t;
}

export interface FeatureLists {
  /** Instruction types (OFPIT_*). */
  instructions: number[];
  nextTables: number[];
  /** OpenFlow 1.1+ action types (OFPAT_*). */
  writeActions: number[];
  applyActions: number[];
  /** Registry field names. */
  match: string[];
  wildcards: string[];
  writeSetfield: string[];
  applySetfield: string[];
}

function oxmList(w: Writer, fields: readonly string[], version: number): void {
  for (const name of fields) {
    const h = headerFor(name, true, version);
    if (!h) continue;
    w.u32(headerWord(h, false));
    if (h.experimenter) w.u32(h.experimenter);
  }
}

/** The required properties built from lists (the instruction and action ids carry no body). */
export function tableFeatureProperties(l: FeatureLists, version: number): TableFeatureProp[] {
  const mk = (type: number, f: (w: Writer) => void): TableFeatureProp => {
    const w = new Writer(64);
    f(w);
    return { type, body: w.finish() };
  };
  return [
    mk(OFPTFPT_INSTRUCTIONS, (w) => {
      for (const i of l.instructions) w.u16(i).u16(4);
    }),
    mk(OFPTFPT_NEXT_TABLES, (w) => {
      for (const t of l.nextTables) w.u8(t);
    }),
    mk(OFPTFPT_WRITE_ACTIONS, (w) => {
      for (const a of l.writeActions) w.u16(a).u16(4);
    }),
    mk(OFPTFPT_APPLY_ACTIONS, (w) => {
      for (const a of l.applyActions) w.u16(a).u16(4);
    }),
    mk(OFPTFPT_MATCH, (w) => oxmList(w, l.match, version)),
    mk(OFPTFPT_WILDCARDS, (w) => oxmList(w, l.wildcards, version)),
    mk(OFPTFPT_WRITE_SETFIELD, (w) => oxmList(w, l.writeSetfield, version)),
    mk(OFPTFPT_APPLY_SETFIELD, (w) => oxmList(w, l.applySetfield, version)),
  ];
}

/** Reads the next-tables property of a table (an empty list if absent). */
export function nextTablesOf(t: TableFeatures): number[] {
  const p = t.properties.find((x) => x.type === OFPTFPT_NEXT_TABLES);
  return p ? Array.from(p.body) : [];
}

/** Instruction ids of a table's instructions property. */
export function instructionsOf(t: TableFeatures): number[] {
  const p = t.properties.find((x) => x.type === OFPTFPT_INSTRUCTIONS);
  if (!p) return [];
  const r = new Reader(p.body);
  const out: number[] = [];
  while (r.remaining >= 4) {
    out.push(r.u16());
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) break;
    r.skip(len - 4);
  }
  return out;
}
