/*
 * dump-table-features and mod-table's table renaming: OFPMP_TABLE_FEATURES replies read as
 * OVS's ofputil_table_features (instruction, action and field bitmaps, loose about what it does
 * not know) and printed with OVS's abbreviations: "ditto" for tables like the one before,
 * "eth_{src,dst}" for shared prefixes and "reg0...reg15" for numbered runs.
 */

import { encodeMessage } from '../../ofproto/openflow/codec.ts';
import type { OfpMessage } from '../../ofproto/openflow/messages.ts';
import { wireHeadersInFieldOrder } from '../../ofproto/openflow/oxm-fields.ts';
import type { TableFeatures } from '../../ofproto/openflow/table-features.ts';
import type { Ctx } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { vlogWarn } from './log.ts';
import { formatReceived } from './print.ts';
import { fatalErrno, type Received, type Vconn } from './vconn.ts';

/* ---- field and action vocabularies ---- */

const HEADERS = wireHeadersInFieldOrder();
const FIELD_NAMES: string[] = [];
const FIELD_BY_WIRE = new Map<string, number>();
for (const h of HEADERS) {
  if (FIELD_NAMES[FIELD_NAMES.length - 1] !== h.field) FIELD_NAMES.push(h.field);
  FIELD_BY_WIRE.set(`${h.cls}:${h.num}:${h.experimenter}`, FIELD_NAMES.length - 1);
}
const N_FIELDS = FIELD_NAMES.length;

/* OVS's ofpact types that OpenFlow action bitmaps map to, in OVS's ofpact order, with the
 * action type code in OF1.0, OF1.1 and OF1.2+ (-1: none). */
const ACTIONS: ReadonlyArray<readonly [string, number, number, number]> = [
  ['output', 0, 0, 0],
  ['group', -1, 22, 22],
  ['enqueue', 11, -1, -1],
  ['set_field', -1, -1, 25],
  ['set_vlan_vid', 1, 1, -1],
  ['set_vlan_pcp', 2, 2, -1],
  ['strip_vlan', 3, 18, 18],
  ['push_vlan', -1, 17, 17],
  ['mod_dl_src', 4, 3, -1],
  ['mod_dl_dst', 5, 4, -1],
  ['mod_nw_src', 6, 5, -1],
  ['mod_nw_dst', 7, 6, -1],
  ['mod_nw_tos', 8, 7, -1],
  ['mod_nw_ecn', -1, 8, -1],
  ['mod_nw_ttl', -1, 23, 23],
  ['mod_tp_src', 9, 9, -1],
  ['mod_tp_dst', 10, 10, -1],
  ['dec_ttl', -1, 24, 24],
  ['set_mpls_label', -1, 13, -1],
  ['set_mpls_tc', -1, 14, -1],
  ['set_mpls_ttl', -1, 15, 15],
  ['dec_mpls_ttl', -1, 16, 16],
  ['push_mpls', -1, 19, 19],
  ['pop_mpls', -1, 20, 20],
  ['set_queue', -1, 21, 21],
];

/* OVS's instruction types in its order, by OpenFlow instruction type code. */
const INSTRUCTION_NAMES = [
  'meter',
  'apply_actions',
  'clear_actions',
  'write_actions',
  'write_metadata',
  'goto_table',
];
const INSTRUCTION_FROM_OFPIT: Record<number, number> = { 6: 0, 4: 1, 5: 2, 3: 3, 2: 4, 1: 5 };

/* ---- the decoded form ---- */

interface ActionFeatures {
  ofpacts: number;
  setFields: Uint8Array;
}

interface InstructionFeatures {
  next: Uint8Array;
  instructions: number;
  write: ActionFeatures;
  apply: ActionFeatures;
}

interface Features {
  tableId: number;
  name: string;
  command: number;
  metadataMatch: bigint;
  metadataWrite: bigint;
  supportsEviction: number;
  supportsVacancy: number;
  maxEntries: number;
  nonmiss: InstructionFeatures;
  miss: InstructionFeatures;
  match: Uint8Array;
  mask: Uint8Array;
  wildcard: Uint8Array;
  /** A table-stats reply's counters and table-miss setting (none in table features). */
  stats?: { active: number; lookup: bigint; matched: bigint };
  missConfig?: string;
}

const fieldSet = (): Uint8Array => new Uint8Array(N_FIELDS);
const actionFeatures = (): ActionFeatures => ({ ofpacts: 0, setFields: fieldSet() });
const instructionFeatures = (): InstructionFeatures => ({
  next: new Uint8Array(255),
  instructions: 0,
  write: actionFeatures(),
  apply: actionFeatures(),
});

class Bad extends Error {}

/* IDs glommed together on byte boundaries: type, length, and (experimenter) more. */
function* ids(b: Uint8Array): Generator<number> {
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 4) throw new Bad('OFPBPC_BAD_LEN');
    const type = (b[at] << 8) | b[at + 1];
    const len = (b[at + 2] << 8) | b[at + 3];
    if (len < 4 || at + len > b.length) throw new Bad('OFPBPC_BAD_LEN');
    yield type;
    at += len;
  }
}

function actionBitmap(b: Uint8Array, version: number): number {
  let types = 0;
  for (const t of ids(b)) if (t < 32) types |= 1 << t;
  const col = version === 1 ? 1 : version === 2 ? 2 : 3;
  let out = 0;
  ACTIONS.forEach((a, i) => {
    const code = a[col];
    if (code >= 0 && types & (1 << code)) out |= 1 << i;
  });
  return out;
}

function oxms(b: Uint8Array, exact: Uint8Array, masked: Uint8Array | null): void {
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 4) throw new Bad('OFPBMC_BAD_LEN');
    const h = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
    const cls = h >>> 16;
    let exp = 0;
    let size = 4;
    if (cls === 0xffff) {
      if (b.length - at < 8) throw new Bad('OFPBMC_BAD_LEN');
      exp = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
      size = 8;
    }
    const id = FIELD_BY_WIRE.get(`${cls}:${(h >> 9) & 0x7f}:${exp}`);
    if (id !== undefined) {
      if (h & 0x100) {
        if (!masked) throw new Bad('OFPBMC_BAD_MASK');
        masked[id] = 1;
      } else exact[id] = 1;
    }
    at += size;
  }
}

const REQUIRED = [0, 2, 4, 6, 8, 10, 12, 14];

function decodeFeatures(t: TableFeatures, version: number): Features {
  if (t.tableId === 255) throw new Bad('OFPTFFC_BAD_TABLE');
  if (version >= 6 && t.command > 3) throw new Bad('OFPTFFC_BAD_COMMAND');
  const f: Features = {
    tableId: t.tableId,
    name: t.name,
    command: version >= 6 ? t.command : 0,
    metadataMatch: t.metadataMatch,
    metadataWrite: t.metadataWrite,
    supportsEviction: version >= 5 ? (t.config & 4 ? 1 : 0) : -1,
    supportsVacancy: version >= 5 ? (t.config & 8 ? 1 : 0) : -1,
    maxEntries: t.maxEntries,
    nonmiss: instructionFeatures(),
    miss: instructionFeatures(),
    match: fieldSet(),
    mask: fieldSet(),
    wildcard: fieldSet(),
  };
  const seen = new Set<number>();
  for (const p of t.properties) {
    if (p.type < 32) {
      if (seen.has(p.type)) throw new Bad('OFPTFFC_BAD_FEATURES');
      seen.add(p.type);
    }
    const which = p.type & 1 ? f.miss : f.nonmiss;
    switch (p.type) {
      case 0:
      case 1:
        for (const it of ids(p.body)) {
          const i = INSTRUCTION_FROM_OFPIT[it];
          if (i !== undefined) which.instructions |= 1 << i;
        }
        break;
      case 2:
      case 3:
        which.next.fill(0);
        for (const id of p.body) {
          if (id >= 255) throw new Bad('OFPBPC_BAD_VALUE');
          which.next[id] = 1;
        }
        break;
      case 4:
      case 5:
        which.write.ofpacts = actionBitmap(p.body, version);
        break;
      case 6:
      case 7:
        which.apply.ofpacts = actionBitmap(p.body, version);
        break;
      case 8:
        oxms(p.body, f.match, f.mask);
        break;
      case 10:
        oxms(p.body, f.wildcard, null);
        break;
      case 12:
      case 13:
        oxms(p.body, which.write.setFields, null);
        break;
      case 14:
      case 15:
        oxms(p.body, which.apply.setFields, null);
        break;
    }
  }
  const anyProps = t.properties.length > 0;
  const missing = REQUIRED.filter((r) => !seen.has(r));
  if (missing.length && (anyProps || version < 6)) {
    vlogWarn(
      'ofp_table',
      `table features message missing ${missing.length} required properties, including property ${missing[0]}`,
    );
    throw new Bad('OFPTFFC_BAD_FEATURES');
  }
  if (anyProps) {
    if (!seen.has(1)) f.miss.instructions = f.nonmiss.instructions;
    if (!seen.has(3)) f.miss.next = f.nonmiss.next.slice();
    if (!seen.has(5)) f.miss.write.ofpacts = f.nonmiss.write.ofpacts;
    if (!seen.has(7)) f.miss.apply.ofpacts = f.nonmiss.apply.ofpacts;
    if (!seen.has(13)) f.miss.write.setFields = f.nonmiss.write.setFields.slice();
    if (!seen.has(15)) f.miss.apply.setFields = f.nonmiss.apply.setFields.slice();
  }
  for (let i = 0; i < N_FIELDS; i++) {
    if (f.mask[i]) {
      f.match[i] = 1;
      f.wildcard[i] = 1;
    }
    if (!f.match[i]) f.wildcard[i] = 0;
  }
  return f;
}

/* ---- printing ---- */

const allZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
function sameBits(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function namesSequential(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return false;
  const ra = a.slice(i);
  const rb = b.slice(i);
  return (
    /^\d+$/.test(ra) &&
    /^\d+$/.test(rb) &&
    ra.length < 10 &&
    rb.length < 10 &&
    Number(ra) + 1 === Number(rb)
  );
}

function suffixRun(ids: readonly string[], from: number, n: number): number {
  for (let i = 1; ; i++) {
    if (i >= n || !namesSequential(ids[from + i - 1], ids[from + i])) return i === 2 ? 1 : i;
  }
}

function commonPrefix(a: string, b: string): number {
  let r = 0;
  for (let i = 0; ; i++) {
    if (i >= a.length || i >= b.length || a[i] !== b[i]) return r;
    if (a[i] === '_') r = i + 1;
  }
}

function prefixRun(ids: readonly string[], from: number, n: number, pl: number): [number, number] {
  if (n < 2) return [n, 0];
  const extra = commonPrefix(ids[from].slice(pl), ids[from + 1].slice(pl));
  if (!extra) return [1, 0];
  let i = 2;
  while (i < n && commonPrefix(ids[from].slice(pl), ids[from + i].slice(pl))) i++;
  return [i, extra];
}

/** OVS's print_names(): "eth_{src,dst}" for shared prefixes, "reg0...reg15" for runs. */
export function printNames(ids: readonly string[], from = 0, n = ids.length, pl = 0): string {
  let s = '';
  let group = 0;
  while (n > 0) {
    if (group++) s += pl ? ',' : ' ';
    const [pRun, extra] = prefixRun(ids, from, n, pl);
    const sRun = suffixRun(ids, from, n);
    const run = Math.max(pRun, sRun);
    if (sRun >= pRun) {
      s += ids[from].slice(pl);
      if (run > 1) s += `...${ids[from + run - 1].slice(pl)}`;
    } else {
      s += `${ids[from].slice(pl, pl + extra)}{${printNames(ids, from, run, pl + extra)}}`;
    }
    from += run;
    n -= run;
  }
  return s;
}

function fieldsText(bits: Uint8Array): string {
  const names: string[] = [];
  for (let i = 0; i < N_FIELDS; i++) if (bits[i]) names.push(FIELD_NAMES[i]);
  return names.length ? ` ${printNames(names)}` : '';
}

function actionsText(a: ActionFeatures): string {
  let s = '';
  if (a.ofpacts) {
    const names = ACTIONS.filter((_, i) => a.ofpacts & (1 << i)).map(([n]) => n);
    s += `        actions: ${names.join(' ')}\n`;
  }
  if (!allZero(a.setFields)) s += `        supported on Set-Field:${fieldsText(a.setFields)}\n`;
  return s;
}

const actionsEqual = (a: ActionFeatures, b: ActionFeatures): boolean =>
  a.ofpacts === b.ofpacts && sameBits(a.setFields, b.setFields);
const actionsEmpty = (a: ActionFeatures): boolean => !a.ofpacts && allZero(a.setFields);

function instructionsText(t: InstructionFeatures, prev: InstructionFeatures | null): string {
  let s = '';
  if (!allZero(t.next)) {
    const parts: string[] = [];
    for (let i = 0; i < 255; ) {
      if (!t.next[i]) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < 255 && t.next[j]) j++;
      parts.push(j === i + 1 ? `${i}` : `${i}-${j - 1}`);
      i = j;
    }
    s += `      next tables: ${parts.join(',')}\n`;
  }
  if (t.instructions) {
    if (prev && t.instructions === prev.instructions) s += '      (same instructions)\n';
    else {
      const names: string[] = [];
      for (let i = 0; i < 32; i++) {
        if (t.instructions & (1 << i)) names.push(INSTRUCTION_NAMES[i] ?? String(i));
      }
      s += `      instructions: ${names.join(' ')}\n`;
    }
  }
  if (
    prev &&
    actionsEqual(t.write, prev.write) &&
    actionsEqual(t.apply, prev.apply) &&
    !allZero(t.write.setFields)
  ) {
    s += '      (same actions)\n';
  } else if (!actionsEqual(t.write, t.apply)) {
    s += `      Write-Actions features:\n${actionsText(t.write)}`;
    s += `      Apply-Actions features:\n${actionsText(t.apply)}`;
  } else if (t.write.ofpacts || !allZero(t.write.setFields)) {
    s += `      Write-Actions and Apply-Actions features:\n${actionsText(t.write)}`;
  }
  return s;
}

function nextEqual(a: Uint8Array, aId: number, b: Uint8Array, bId: number): boolean {
  if (bId === aId + 1 && a[bId] && !b[bId]) {
    for (let i = 0; i < 255; i++) if (i !== bId && a[i] !== b[i]) return false;
    return true;
  }
  if (aId === bId + 1) return nextEqual(b, bId, a, aId);
  return sameBits(a, b);
}

function instructionsEqual(
  a: InstructionFeatures,
  aId: number,
  b: InstructionFeatures,
  bId: number,
): boolean {
  return (
    nextEqual(a.next, aId, b.next, bId) &&
    a.instructions === b.instructions &&
    actionsEqual(a.write, b.write) &&
    actionsEqual(a.apply, b.apply)
  );
}

const instructionsEmpty = (t: InstructionFeatures): boolean =>
  allZero(t.next) && !t.instructions && actionsEmpty(t.write) && actionsEmpty(t.apply);

function featuresEqual(a: Features, b: Features): boolean {
  return (
    a.metadataMatch === b.metadataMatch &&
    a.metadataWrite === b.metadataWrite &&
    a.supportsEviction === b.supportsEviction &&
    a.supportsVacancy === b.supportsVacancy &&
    a.maxEntries === b.maxEntries &&
    a.missConfig === b.missConfig &&
    instructionsEqual(a.nonmiss, a.tableId, b.nonmiss, b.tableId) &&
    instructionsEqual(a.miss, a.tableId, b.miss, b.tableId) &&
    sameBits(a.match, b.match)
  );
}

function featuresEmpty(f: Features): boolean {
  return (
    !f.metadataMatch &&
    !f.metadataWrite &&
    f.supportsEviction < 0 &&
    f.supportsVacancy < 0 &&
    !f.maxEntries &&
    instructionsEmpty(f.nonmiss) &&
    instructionsEmpty(f.miss) &&
    allZero(f.match)
  );
}

function matchesText(f: Features, mask: boolean, wc: boolean, title: string): string {
  const bits = fieldSet();
  for (let i = 0; i < N_FIELDS; i++) {
    const m = mask ? f.mask[i] : 1 - f.mask[i];
    const w = wc ? f.wildcard[i] : 1 - f.wildcard[i];
    bits[i] = f.match[i] & m & w;
  }
  return allZero(bits) ? '' : `      ${title}:${fieldsText(bits)}\n`;
}

const COMMANDS = ['replace', 'modify', 'enable', 'disable'];
const hex64 = (v: bigint): string => (v ? `0x${v.toString(16)}` : '0');

/** OVS's table-features text, carried from one table to the next for "ditto". */
/** The table-features part of a stats reply as ofp-print shows it; a bad property says why. */
export function tableFeaturesText(tables: readonly TableFeatures[], version: number): string {
  const p = new TableFeaturesPrinter();
  try {
    for (const t of tables) p.add(decodeFeatures(t, version));
  } catch (e) {
    if (e instanceof Bad) return ` ***decode error: ${e.message}***`;
    throw e;
  }
  return p.finish();
}

export class TableFeaturesPrinter {
  private s = '';
  private prev: Features | null = null;
  private firstDitto = -1;
  private lastDitto = -1;

  private finishDitto(): void {
    if (this.firstDitto < 0) return;
    this.s +=
      this.firstDitto === this.lastDitto
        ? `\n  table ${this.firstDitto}: ditto\n`
        : `\n  tables ${this.firstDitto}...${this.lastDitto}: ditto\n`;
  }

  add(f: Features): void {
    const prev = this.prev;
    this.prev = f;
    let s = '';
    if (!prev && f.command !== 0) s += `\n  command: ${COMMANDS[f.command] ?? '***error***'}`;
    const sameFeatures = prev !== null && featuresEqual(f, prev);
    const st = f.stats;
    const pst = prev?.stats;
    const sameStats =
      !st ||
      (pst !== undefined &&
        st.active === pst.active &&
        st.lookup === pst.lookup &&
        st.matched === pst.matched);
    if (sameStats && sameFeatures && !f.name) {
      this.s += s;
      if (this.firstDitto < 0) this.firstDitto = f.tableId;
      this.lastDitto = f.tableId;
      return;
    }
    this.s += s;
    this.finishDitto();
    this.firstDitto = -1;
    s = `\n  table ${f.tableId}`;
    if (f.name) s += ` ("${f.name}")`;
    s += ':';
    if (sameStats && sameFeatures) {
      this.s += `${s} ditto`;
      return;
    }
    s += '\n';
    if (st) s += `    active=${st.active}, lookup=${st.lookup}, matched=${st.matched}\n`;
    if (sameFeatures) {
      if (!featuresEmpty(f)) s += '    (same features)\n';
      this.s += s;
      return;
    }
    if (f.metadataMatch || f.metadataWrite) {
      s += `    metadata: match=${hex64(f.metadataMatch)} write=${hex64(f.metadataWrite)}\n`;
    }
    if (f.missConfig) s += `    config=${f.missConfig}\n`;
    if (f.supportsEviction >= 0)
      s += `    eviction: ${f.supportsEviction ? '' : 'not '}supported\n`;
    if (f.supportsVacancy >= 0)
      s += `    vacancy events: ${f.supportsVacancy ? '' : 'not '}supported\n`;
    if (f.maxEntries) s += `    max_entries=${f.maxEntries}\n`;
    const pn = prev?.nonmiss ?? null;
    const pm = prev?.miss ?? null;
    if (
      prev &&
      pn &&
      pm &&
      instructionsEqual(f.nonmiss, f.tableId, pn, prev.tableId) &&
      instructionsEqual(f.miss, f.tableId, pm, prev.tableId)
    ) {
      if (!instructionsEmpty(f.nonmiss)) s += '    (same instructions)\n';
    } else if (!instructionsEqual(f.nonmiss, f.tableId, f.miss, f.tableId)) {
      s += '    instructions (other than table miss):\n';
      s += instructionsText(f.nonmiss, pn);
      s += '    instructions (table miss):\n';
      s += instructionsText(f.miss, pm);
    } else if (!instructionsEmpty(f.nonmiss)) {
      s += '    instructions (table miss and others):\n';
      s += instructionsText(f.nonmiss, pn);
    }
    if (!allZero(f.match)) {
      if (prev && sameBits(f.match, prev.match)) s += '    (same matching)\n';
      else {
        s += '    matching:\n';
        s += matchesText(f, true, true, 'arbitrary mask');
        s += matchesText(f, false, true, 'exact match or wildcard');
        s += matchesText(f, false, false, 'must exact match');
      }
    }
    this.s += s;
  }

  /** The whole text, as ovs-ofctl puts it (without the first newline, with puts()'s one). */
  finish(): string {
    this.finishDitto();
    const t = this.s.startsWith('\n') ? this.s.slice(1) : this.s;
    return `${t}\n`;
  }
}

/* ---- OpenFlow 1.2 table statistics ---- */

const OF12_TABLE_STATS_LEN = 128;
const OF12_LAST_OXM = 35;
const TABLE_MISS_NAMES = ['controller', 'continue', 'drop'];

/* An OXM bitmap (bit n: OpenFlow basic field n) as a field set. */
function oxmBitmap(bits: bigint, out: Uint8Array): void {
  // OpenFlow 1.2 defines basic fields 0 (in_port) to 35 (mpls_tc): later bits mean nothing.
  for (let n = 0; n <= OF12_LAST_OXM; n++) {
    if (!((bits >> BigInt(n)) & 1n)) continue;
    const id = FIELD_BY_WIRE.get(`${0x8000}:${n}:0`);
    if (id !== undefined) out[id] = 1;
  }
}

function of12Actions(bits: number): number {
  let out = 0;
  ACTIONS.forEach((a, i) => {
    if (a[3] >= 0 && bits & (1 << a[3])) out |= 1 << i;
  });
  return out;
}

/**
 * OVS's text for an OpenFlow 1.2 table-stats reply body: each table's statistics with the
 * features the same entry carries (bitmaps of fields, actions and instructions), printed as
 * table features are. Null when the body is not whole entries.
 */
export function ofp12TableStatsText(body: Uint8Array): string | null {
  if (body.length % OF12_TABLE_STATS_LEN) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const p = new TableFeaturesPrinter();
  for (let at = 0; at < body.length; at += OF12_TABLE_STATS_LEN) {
    const nameBytes = body.subarray(at + 8, at + 40);
    const nul = nameBytes.indexOf(0);
    const f: Features = {
      tableId: body[at],
      name: new TextDecoder().decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)),
      command: 0,
      metadataMatch: dv.getBigUint64(at + 80),
      metadataWrite: dv.getBigUint64(at + 88),
      supportsEviction: -1,
      supportsVacancy: -1,
      maxEntries: dv.getUint32(at + 104),
      nonmiss: instructionFeatures(),
      miss: instructionFeatures(),
      match: fieldSet(),
      mask: fieldSet(),
      wildcard: fieldSet(),
      stats: {
        active: dv.getUint32(at + 108),
        lookup: dv.getBigUint64(at + 112),
        matched: dv.getBigUint64(at + 120),
      },
      missConfig: TABLE_MISS_NAMES[dv.getUint32(at + 100) & 3],
    };
    oxmBitmap(dv.getBigUint64(at + 40), f.match);
    oxmBitmap(dv.getBigUint64(at + 48), f.wildcard);
    const n = f.nonmiss;
    n.write.ofpacts = of12Actions(dv.getUint32(at + 56));
    n.apply.ofpacts = of12Actions(dv.getUint32(at + 60));
    oxmBitmap(dv.getBigUint64(at + 64), n.write.setFields);
    oxmBitmap(dv.getBigUint64(at + 72), n.apply.setFields);
    const insts = dv.getUint32(at + 96);
    for (let it = 0; it < 32; it++) {
      const i = INSTRUCTION_FROM_OFPIT[it];
      if (i !== undefined && insts & (1 << it)) n.instructions |= 1 << i;
    }
    f.miss = {
      next: n.next.slice(),
      instructions: n.instructions,
      write: { ofpacts: n.write.ofpacts, setFields: n.write.setFields.slice() },
      apply: { ofpacts: n.apply.ofpacts, setFields: n.apply.setFields.slice() },
    };
    for (let i = 0; i < N_FIELDS; i++) if (!f.match[i]) f.wildcard[i] = 0;
    p.add(f);
  }
  return p.finish();
}

/* ---- commands ---- */

function tableFeaturesRequest(tables: TableFeatures[] = [], more = false): OfpMessage {
  return {
    type: 'stats_request',
    format: 'standard',
    flags: more ? 1 : 0,
    body: { stat: 'table_features', tables },
  };
}

export async function cmdDumpTableFeatures(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  if (vc.version < 4) {
    throw new OfctlFatal("dump-table-features needs OpenFlow 1.3 or later ('-O OpenFlow13')");
  }
  const rq = vc.request(tableFeaturesRequest());
  vc.send(rq.bytes);
  const p = new TableFeaturesPrinter();
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(rq.xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const m = r.frame?.msg;
    if (m?.type === 'error') {
      ctx.out(formatReceived(r, { verbosity: ctx.o.verbosity + 1 }));
      break;
    }
    if (m?.type !== 'stats_reply' || m.body.stat !== 'table_features') {
      if (!r.frame && r.decodeError) throw new OfctlFatal(`decode error: ${r.decodeError}`);
      throw new OfctlFatal(`received bad reply: ${formatReceived(r, { verbosity: 2 })}`);
    }
    for (const t of m.body.tables) {
      try {
        p.add(decodeFeatures(t, r.version));
      } catch (e) {
        if (e instanceof Bad) throw new OfctlFatal(`decode error: ${e.message}`);
        throw e;
      }
    }
    if (!(m.flags & 1)) break;
  }
  ctx.out(p.finish());
  vc.close();
}

/** mod-table's "name:NAME": every table's features sent back with one name changed. */
export async function changeTableName(
  ctx: Ctx,
  vc: Vconn,
  tableId: number,
  newName: string,
): Promise<void> {
  const rq = vc.request(tableFeaturesRequest());
  vc.send(rq.bytes);
  const tables: TableFeatures[] = [];
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(rq.xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const m = r.frame?.msg;
    if (m?.type === 'stats_reply' && m.body.stat === 'table_features') {
      tables.push(...m.body.tables);
      if (!(m.flags & 1)) break;
    } else {
      // OVS's table iterator gives up quietly on anything else.
      break;
    }
  }
  const t = tables.find((x) => x.tableId === tableId);
  if (!t) throw new OfctlFatal(`switch does not have table ${tableId}`);
  t.name = newName.slice(0, 31);
  const send =
    vc.version >= 6
      ? [{ ...t, command: 1, properties: [] }]
      : tables.map((x) => ({ ...x, command: 0 }));
  // One multipart request, split as OVS splits it to stay under 64 kB per message.
  const chunks: TableFeatures[][] = [];
  let cur: TableFeatures[] = [];
  let size = 16;
  for (const x of send) {
    const len = 64 + x.properties.reduce((n, p) => n + ((4 + p.body.length + 7) & ~7), 0);
    if (cur.length && size + len > 0xffff) {
      chunks.push(cur);
      cur = [];
      size = 16;
    }
    cur.push(x);
    size += len;
  }
  chunks.push(cur);
  const xid = vc.request({ type: 'barrier_request' }).xid;
  const bytes = chunks.map((c, i) =>
    encodeFrame(vc, xid, tableFeaturesRequest(c, i < chunks.length - 1)),
  );
  for (const b of bytes) vc.send(b);
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const m = r.frame?.msg;
    if (m?.type === 'error') {
      ctx.out(formatReceived(r, { verbosity: ctx.o.verbosity + 1 }));
      return;
    }
    if (m?.type !== 'stats_reply' || !(m.flags & 1)) return;
  }
}

function encodeFrame(vc: Vconn, xid: number, msg: OfpMessage): Uint8Array {
  return encodeMessage({ version: vc.version, xid, msg });
}
