/*
 * Groups: the group-mod and group-desc model, its wire forms (OF1.1-1.4 buckets, OF1.5 buckets
 * with properties, OF1.0 through OVS's NXT_GROUP_MOD with the OF1.5 layout), the add-group
 * text syntax of ovs-ofctl(8) and OVS's printed form (`group_id=1,type=all,bucket=...`).
 */

import { fieldByName } from '../../lib/flow/fields.ts';
import { splitKeyValues } from '../../lib/flow/match-parse.ts';
import { ofpPortFromString, ofpPortToString } from '../../lib/flow/ofp-port.ts';
import type { Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import { portFromOfp11, portToOfp11 } from './match-nxm.ts';
import type { Ofpact } from './ofpact.ts';
import { formatOfpacts } from './ofpact-format.ts';
import { type ParseResult, parseOfpacts } from './ofpact-parse.ts';
import { decodeActions, putActions } from './ofpact-wire.ts';
import { headerByWire, headerFor, headerWord, wireHeadersInFieldOrder } from './oxm-fields.ts';

export type GroupType = 'all' | 'select' | 'indirect' | 'ff';
export const GROUP_TYPES: readonly GroupType[] = ['all', 'select', 'indirect', 'ff'];
export type GroupCommand = 'add' | 'modify' | 'delete' | 'insert_bucket' | 'remove_bucket';
const COMMAND_CODES: Record<GroupCommand, number> = {
  add: 0,
  modify: 1,
  delete: 2,
  insert_bucket: 3,
  remove_bucket: 5,
};

/* OVS's extension command: add the group, or modify it if it exists. */
const OFPGC11_ADD_OR_MOD = 0x8000;
export const OFPG_MAX = 0xffffff00;
export const OFPG_ALL = 0xfffffffc;
export const OFPG_ANY = 0xffffffff;
export const OFPG15_BUCKET_MAX = 0xffffff00;
export const OFPG15_BUCKET_FIRST = 0xfffffffd;
export const OFPG15_BUCKET_LAST = 0xfffffffe;
export const OFPG15_BUCKET_ALL = 0xffffffff;

export interface Bucket {
  bucketId: number;
  weight: number;
  /** OpenFlow 1.0-space port, 0xffff (OFPP_ANY) for none. */
  watchPort: number;
  watchGroup: number;
  ofpacts: Ofpact[];
}

/**
 * OVS's selection-method group property (Netronome's experimenter, OF1.5 and OVS's OF1.0
 * extension): how a select group picks a bucket, and the fields it hashes.
 */
export interface GroupProps {
  /** "hash" or "dp_hash"; empty: none. */
  method: string;
  param: bigint;
  /** Field names in OVS's field order, each hashed whole. */
  fields: string[];
}

export interface GroupMod {
  command: GroupCommand;
  groupType: GroupType;
  groupId: number;
  /** OF1.5 command_bucket_id (insert/remove position); OFPG15_BUCKET_ALL otherwise. */
  commandBucketId: number;
  buckets: Bucket[];
  props?: GroupProps;
  /** With command 'modify': OVS's OFPGC11_ADD_OR_MOD (0x8000), which creates a missing group. */
  addOrMod?: boolean;
}

export interface GroupDesc {
  groupType: GroupType;
  groupId: number;
  buckets: Bucket[];
  props?: GroupProps;
}

function defaultWeight(t: GroupType): number {
  return t === 'select' ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Wire.                                                                                    */

/* `layout` picks the bucket format (OF1.5's for 6), `actVersion` the actions' encoding: they
 * differ for OVS's OF1.0 group extension, which uses OF1.5 buckets with OF1.0 actions. */
function putBuckets(
  w: Writer,
  buckets: readonly Bucket[],
  t: GroupType,
  layout: number,
  actVersion = layout,
): void {
  for (const b of buckets) {
    const at = w.pos;
    if (layout < 6) {
      w.u16(0).u16(b.weight).u32(portToOfp11(b.watchPort)).u32(b.watchGroup).zeros(4);
      putActions(w, b.ofpacts, actVersion);
      w.setU16(at, w.pos - at);
      continue;
    }
    w.u16(0).u16(0).u32(b.bucketId);
    const a = w.pos;
    putActions(w, b.ofpacts, actVersion);
    w.setU16(at + 2, w.pos - a);
    // As OVS: a weight goes with select groups, and with any bucket that has one (buckets
    // inserted into a group whose type the message does not say).
    if (t === 'select' || b.weight) w.u16(0).u16(8).u16(b.weight).zeros(2);
    if (b.watchPort !== 0xffff) w.u16(1).u16(8).u32(portToOfp11(b.watchPort));
    if (b.watchGroup !== OFPG_ANY) w.u16(2).u16(8).u32(b.watchGroup);
    w.setU16(at, w.pos - at);
  }
}

function pullBuckets(
  r: Reader,
  len: number,
  t: GroupType,
  layout: number,
  actVersion = layout,
): Bucket[] {
  if (len > r.remaining) throw new OfpError('OFPGMFC_BAD_BUCKET', 'bucket list beyond message');
  const list = r.sub(len);
  const out: Bucket[] = [];
  let nextId = 0;
  // An OpenFlow 1.1-1.4 bucket header is 16 bytes; OpenFlow 1.5's (ofp15_bucket) is 8.
  const minBucket = layout < 6 ? 16 : 8;
  while (list.remaining > 0) {
    if (list.remaining < minBucket) throw new OfpError('OFPGMFC_BAD_BUCKET', 'truncated bucket');
    const blen = list.peekU16();
    if (blen < minBucket || blen % 8 || blen > list.remaining) {
      throw new OfpError('OFPGMFC_BAD_BUCKET', `bucket length ${blen}`);
    }
    const b = list.sub(blen);
    b.skip(2);
    if (layout < 6) {
      const weight = b.u16();
      const watchPort = portFromOfp11(b.u32());
      const watchGroup = b.u32();
      b.skip(4);
      if (watchPort === null) throw new OfpError('OFPGMFC_BAD_WATCH');
      out.push({
        bucketId: nextId++,
        weight,
        watchPort,
        watchGroup,
        ofpacts: decodeActions(b, b.remaining, actVersion),
      });
      continue;
    }
    const actLen = b.u16();
    const bucketId = b.u32();
    const bucket: Bucket = {
      bucketId,
      weight: defaultWeight(t),
      watchPort: 0xffff,
      watchGroup: OFPG_ANY,
      ofpacts: decodeActions(b, actLen, actVersion),
    };
    while (b.remaining >= 4) {
      const pt = b.u16();
      const plen = b.u16();
      if (plen < 4 || plen - 4 > b.remaining)
        throw new OfpError('OFPBPC_BAD_LEN', 'bucket property');
      const p = b.sub(plen - 4);
      b.skip(Math.min(b.remaining, ((plen + 7) & ~7) - plen));
      if (pt === 0) bucket.weight = p.u16();
      else if (pt === 1) bucket.watchPort = portFromOfp11(p.u32()) ?? 0xffff;
      else if (pt === 2) bucket.watchGroup = p.u32();
      else throw new OfpError('OFPBPC_BAD_TYPE', `bucket property ${pt}`);
    }
    out.push(bucket);
  }
  return out;
}

/** The body of a group-mod (after the OpenFlow or NXT header). */
export function putGroupMod(w: Writer, g: GroupMod, version: number): void {
  w.u16(g.addOrMod ? OFPGC11_ADD_OR_MOD : COMMAND_CODES[g.command])
    .u8(GROUP_TYPES.indexOf(g.groupType))
    .u8(0)
    .u32(g.groupId);
  if (version < 6 && version !== 1) {
    putBuckets(w, g.buckets, g.groupType, version);
    return;
  }
  const lenAt = w.pos;
  w.u16(0).zeros(2).u32(g.commandBucketId);
  const s = w.pos;
  putBuckets(w, g.buckets, g.groupType, 6, version);
  w.setU16(lenAt, w.pos - s);
  if (g.props?.method) putSelectionMethod(w, g.props, version);
}

const NTR_VENDOR_ID = 0x0000154d;
const NTR_COMPAT_VENDOR_ID = 0x00001540;

/* A hashed field as OVS prints it: its name when the value is all-ones (hashed whole), else
 * name=value with the value shown as the field's own kind of value. */
function selectionFieldText(name: string, format: string, v: Uint8Array): string {
  if (v.every((b) => b === 0xff)) return name;
  let text: string;
  if (format === 'ipv4' && v.length === 4) text = v.join('.');
  else if (format === 'ethernet') {
    text = Array.from(v, (b) => b.toString(16).padStart(2, '0')).join(':');
  } else if (format === 'decimal' && v.length <= 4) {
    text = String(v.reduce((acc, b) => acc * 256 + b, 0));
  } else {
    text = `0x${Buffer.from(v)
      .toString('hex')
      .replace(/^0+(?=.)/, '')}`;
  }
  return `${name}=${text}`;
}
const NTRT_SELECTION_METHOD = 1;

/* The selection-method property: experimenter header, method name (16 bytes), parameter, then
 * the hashed fields as OXM headers with all-ones values. */
function putSelectionMethod(w: Writer, p: GroupProps, version: number): void {
  const at = w.pos;
  w.u16(0xffff).u16(0).u32(NTR_VENDOR_ID).u32(NTRT_SELECTION_METHOD).zeros(4);
  w.str(p.method, 16).u64(p.param);
  for (const f of p.fields) {
    const h = headerFor(f.split('=')[0], true, version === 1 ? 6 : version);
    if (!h) continue;
    w.u32(headerWord(h, false));
    if (h.experimenter) w.u32(h.experimenter);
    w.zeros(h.nBytes);
    for (let i = 0; i < h.nBytes; i++) w.buf[w.pos - h.nBytes + i] = 0xff;
  }
  w.setU16(at + 2, w.pos - at);
  w.pad(8, at);
}

function pullGroupProps(r: Reader, end: number): GroupProps | undefined {
  let props: GroupProps | undefined;
  while (r.pos + 4 <= end) {
    const at = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || at + len > end) throw new OfpError('OFPBPC_BAD_LEN', 'group property');
    const vendor = type === 0xffff && len >= 40 ? r.u32() : 0;
    // OVS 2.4 wrote the Netronome id as 0x1540; OVS still reads that spelling.
    if (
      (vendor === NTR_VENDOR_ID || vendor === NTR_COMPAT_VENDOR_ID) &&
      r.u32() === NTRT_SELECTION_METHOD
    ) {
      r.skip(4);
      const method = r.str(16);
      const param = r.u64();
      const fields: string[] = [];
      while (r.pos + 4 <= at + len) {
        const hw = r.u32();
        const cls = hw >>> 16;
        const exp = cls === 0xffff ? r.u32() : 0;
        const h = headerByWire(cls, (hw >> 9) & 0x7f, exp);
        const vlen = (hw & 0xff) - (exp ? 4 : 0);
        if (vlen < 0 || r.pos + vlen > at + len)
          throw new OfpError('OFPBPC_BAD_LEN', 'group field');
        const value = r.bytes(vlen);
        if (h) fields.push(selectionFieldText(h.field.name, h.field.format, value));
      }
      // OVS keeps selection fields in a bitmap by field id, so they print in its field order.
      const rank = (t: string) => FIELD_ORDER.get(t.split('=')[0]) ?? Number.MAX_SAFE_INTEGER;
      fields.sort((a, b) => rank(a) - rank(b));
      props = { method, param, fields };
    }
    r.pos = at + ((len + 7) & ~7);
  }
  r.pos = Math.max(r.pos, end);
  return props;
}

export function pullGroupMod(r: Reader, version: number): GroupMod {
  const cmd = r.u16();
  const addOrMod = cmd === OFPGC11_ADD_OR_MOD;
  const command = addOrMod
    ? 'modify'
    : (Object.keys(COMMAND_CODES) as GroupCommand[]).find((k) => COMMAND_CODES[k] === cmd);
  if (!command) throw new OfpError('OFPGMFC_BAD_COMMAND', `command ${cmd}`);
  const t = r.u8();
  const groupType = GROUP_TYPES[t];
  if (!groupType) throw new OfpError('OFPGMFC_BAD_TYPE', `type ${t}`);
  r.skip(1);
  const groupId = r.u32();
  if (version < 6 && version !== 1) {
    return {
      command,
      groupType,
      groupId,
      commandBucketId: OFPG15_BUCKET_ALL,
      buckets: pullBuckets(r, r.remaining, groupType, version),
      ...(addOrMod && { addOrMod }),
    };
  }
  const blen = r.u16();
  r.skip(2);
  const commandBucketId = r.u32();
  const buckets = pullBuckets(r, blen, groupType, 6, version);
  const g: GroupMod = { command, groupType, groupId, commandBucketId, buckets };
  if (addOrMod) g.addOrMod = true;
  const props = r.remaining > 0 ? pullGroupProps(r, r.end) : undefined;
  if (props) g.props = props;
  return g;
}

/** One OFPST_GROUP_DESC entry. */
export function putGroupDesc(w: Writer, g: GroupDesc, version: number): void {
  const at = w.pos;
  w.u16(0).u8(GROUP_TYPES.indexOf(g.groupType)).u8(0).u32(g.groupId);
  // OVS's OF1.0 extension (NXST_GROUP_DESC) uses OF1.5's layout with OF1.0 actions.
  if (version < 6 && version !== 1) {
    putBuckets(w, g.buckets, g.groupType, version);
  } else {
    const lenAt = w.pos;
    w.u16(0).zeros(6);
    const s = w.pos;
    putBuckets(w, g.buckets, g.groupType, 6, version);
    w.setU16(lenAt, w.pos - s);
    if (g.props?.method) putSelectionMethod(w, g.props, version);
  }
  w.setU16(at, w.pos - at);
}

export function pullGroupDesc(r: Reader, version: number): GroupDesc {
  const start = r.pos;
  const len = r.u16();
  if (len < 8 || len - 2 > r.remaining) throw new OfpError('OFPBRC_BAD_LEN', 'group desc');
  const groupType = GROUP_TYPES[r.u8()];
  if (!groupType) throw new OfpError('OFPGMFC_BAD_TYPE');
  r.skip(1);
  const groupId = r.u32();
  let buckets: Bucket[];
  // OVS's OF1.0 extension (NXST_GROUP_DESC) uses OF1.5's layout with OF1.0 actions.
  if (version < 6 && version !== 1)
    buckets = pullBuckets(r, start + len - r.pos, groupType, version);
  else {
    const blen = r.u16();
    r.skip(6);
    buckets = pullBuckets(r, blen, groupType, 6, version);
    const end = start + len;
    if (r.pos < end) {
      const props = pullGroupProps(r, end);
      r.pos = start + len;
      return props ? { groupType, groupId, buckets, props } : { groupType, groupId, buckets };
    }
  }
  r.pos = start + len;
  return { groupType, groupId, buckets };
}

/* ---------------------------------------------------------------------------------------- */
/* Text.                                                                                    */

function fmtBucketId(id: number): string {
  if (id === OFPG15_BUCKET_FIRST) return 'first';
  if (id === OFPG15_BUCKET_LAST) return 'last';
  if (id === OFPG15_BUCKET_ALL) return 'all';
  return String(id);
}

/** OVS's ofp_print_group(): `group_id=1,type=select,bucket=weight:100,actions=output:1`. */
export function formatGroup(g: GroupDesc & { props?: GroupProps }, version: number): string {
  let s = `group_id=${g.groupId},type=${g.groupType}`;
  if (g.props?.method) {
    s += `,selection_method=${g.props.method}`;
    if (g.props.param) s += `,selection_method_param=${g.props.param}`;
    const f = g.props.fields;
    if (f.length === 1) s += `,fields=${f[0]}`;
    else if (f.length > 1) s += `,fields(${f.join(',')})`;
  }
  if (g.buckets.length) s += ',';
  const parts: string[] = [];
  for (const b of g.buckets) {
    let t = 'bucket=';
    if (version >= 6) t += `bucket_id:${fmtBucketId(b.bucketId)},`;
    if (b.weight !== defaultWeight(g.groupType)) t += `weight:${b.weight},`;
    if (b.watchPort !== 0xffff) t += `watch_port:${ofpPortToString(b.watchPort)},`;
    if (b.watchGroup !== OFPG_ANY) t += `watch_group:${b.watchGroup},`;
    t += `actions=${formatOfpacts(b.ofpacts)}`;
    parts.push(t);
  }
  return s + parts.join(',');
}

const COMMAND_TEXT: Record<GroupCommand, string> = {
  add: 'ADD',
  modify: 'MOD',
  delete: 'DEL',
  insert_bucket: 'INSERT_BUCKET',
  remove_bucket: 'REMOVE_BUCKET',
};

/** OVS's group-mod print: ` ADD group_id=...` (command_bucket_id shown for bucket commands). */
export function formatGroupMod(g: GroupMod, version: number): string {
  let s = ` ${g.addOrMod ? 'ADD_OR_MOD' : COMMAND_TEXT[g.command]} `;
  if (g.command === 'insert_bucket' || g.command === 'remove_bucket') {
    s += `command_bucket_id:${fmtBucketId(g.commandBucketId)},`;
  }
  return s + formatGroup(g, version);
}

function parseU32(s: string, what: string): number {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(s) || Number(s) > 0xffffffff) {
    throw new OfpError('OFPGMFC_BAD_BUCKET', `invalid ${what} "${s}"`);
  }
  return Number(s);
}

/** Splits at top-level ",bucket=" (actions may contain parentheses and commas). */
function splitBuckets(s: string): { head: string; buckets: string[] } {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && s.startsWith('bucket=', i) && (i === 0 || /[,\s]/.test(s[i - 1]))) {
      parts.push(s.slice(start, i));
      start = i;
    }
  }
  parts.push(s.slice(start));
  const head = parts[0].replace(/[,\s]+$/, '');
  return {
    head,
    buckets: parts.slice(1).map((p) => p.slice('bucket='.length).replace(/[,\s]+$/, '')),
  };
}

/* As OVS's OF1.5 encoder: a bucket given without bucket_id gets the lowest id that no bucket
 * of the same message names. */
function assignBucketIds(parsed: Bucket[], explicit: readonly boolean[]): void {
  if (explicit.every(Boolean)) return;
  const used = new Set(parsed.filter((_, i) => explicit[i]).map((b) => b.bucketId));
  let next = 0;
  parsed.forEach((b, i) => {
    if (explicit[i]) return;
    while (used.has(next)) next++;
    b.bucketId = next;
    used.add(next);
  });
}

/* ofputil_parse_key_value()'s split that also keeps each token's text, since a bucket's
 * keywords may sit anywhere among its actions and the actions are re-parsed as written. */
function bucketTokens(s: string): Array<{ key: string; value: string; raw: string }> {
  const out: Array<{ key: string; value: string; raw: string }> = [];
  const isSep = (c: string) => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSep(s[i])) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && !':=(, \t\r\n'.includes(s[j])) j++;
    const key = s.slice(i, j);
    let value = '';
    if (s[j] === '=' || s[j] === ':' || s[j] === '(') {
      const open = s[j] === '(';
      const start = ++j;
      let depth = 0;
      while (j < s.length) {
        const c = s[j];
        if (c === '(') depth++;
        else if (c === ')') {
          if (depth === 0 && open) {
            // "(x)->y" (move's source) runs on to the next separator.
            if (s.startsWith(')->', j)) {
              j++;
              while (j < s.length && !isSep(s[j])) j++;
            }
            break;
          }
          depth--;
        } else if (depth === 0 && !open && isSep(c)) break;
        j++;
      }
      value = s.slice(start, j);
      if (open && s[j] === ')') j++;
    }
    out.push({ key, value, raw: s.slice(i, j) });
    i = j;
  }
  return out;
}

function parseBucket(s: string, t: GroupType, index: number): { b: Bucket; explicit: boolean } {
  const b: Bucket = {
    bucketId: index,
    weight: defaultWeight(t),
    watchPort: 0xffff,
    watchGroup: OFPG_ANY,
    ofpacts: [],
  };
  let explicit = false;
  const actions: string[] = [];
  for (const { key, value, raw } of bucketTokens(s)) {
    const k = key.toLowerCase();
    if (k === 'bucket_id') {
      b.bucketId =
        value === 'first'
          ? OFPG15_BUCKET_FIRST
          : value === 'last'
            ? OFPG15_BUCKET_LAST
            : parseU32(value, 'bucket_id');
      explicit = true;
    } else if (k === 'weight') {
      if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(value) || Number(value) > 0xffff) {
        throw new OfpError('OFPGMFC_BAD_BUCKET', `invalid weight "${value}"`);
      }
      b.weight = Number(value);
    } else if (k === 'watch_port') {
      const p = ofpPortFromString(value);
      if (p === null) throw new OfpError('OFPGMFC_BAD_WATCH', `${value}: invalid watch_port`);
      b.watchPort = p;
    } else if (k === 'watch_group') b.watchGroup = parseU32(value, 'watch_group');
    else if (k === 'action' || k === 'actions') actions.push(value);
    else actions.push(raw);
  }
  if (!actions.length) throw new OfpError('OFPGMFC_BAD_BUCKET', 'bucket must specify actions');
  if (t === 'ff' && b.watchPort === 0xffff && b.watchGroup === OFPG_ANY) {
    throw new OfpError(
      'OFPGMFC_BAD_BUCKET',
      'fast failover bucket requires watch_port or watch_group',
    );
  }
  const p = parseOfpacts(actions.join(','));
  if (!p.ok) throw new OfpError('OFPGMFC_BAD_BUCKET', p.error);
  b.ofpacts = p.value;
  return { b, explicit };
}

const FIELD_ORDER = new Map<string, number>();
for (const h of wireHeadersInFieldOrder()) {
  if (!FIELD_ORDER.has(h.field)) FIELD_ORDER.set(h.field, FIELD_ORDER.size);
}

/* "fields=ip_src" or "fields(ip_src,nw_proto)": fields hashed whole (masks are not supported
 * here yet), kept in OVS's field order. */
function parseSelectFields(s: string, props: GroupProps): string | null {
  const kvs = splitKeyValues(s);
  for (let i = 0; i < kvs.length; i++) {
    const [name, value] = kvs[i];
    const f = fieldByName(name);
    const canon = f?.name ?? name;
    // OVS names what is left of the list after the unknown field.
    const rest = kvs
      .slice(i + 1)
      .map(([k, v]) => (v ? `${k}=${v}` : k))
      .join(',');
    if (!FIELD_ORDER.has(canon)) return `${rest}: unknown field ${name}`;
    if (props.fields.includes(canon)) return `${name}: duplicate field`;
    if (value) return `${name}=${value}: masked selection fields are not supported`;
    props.fields.push(canon);
  }
  props.fields.sort((a, b) => (FIELD_ORDER.get(a) ?? 0) - (FIELD_ORDER.get(b) ?? 0));
  return null;
}

/** Parses the add-group / mod-group / del-groups syntax of ovs-ofctl(8). */
export function parseGroupMod(text: string, command: GroupCommand): ParseResult<GroupMod> {
  try {
    const { head, buckets } = splitBuckets(text.trim());
    const g: GroupMod = {
      command,
      groupType: 'all',
      groupId: command === 'delete' ? OFPG_ALL : 0,
      commandBucketId: OFPG15_BUCKET_ALL,
      buckets: [],
    };
    let haveId = false;
    let haveType = false;
    const typed = command === 'add' || command === 'modify';
    const props: GroupProps = { method: '', param: 0n, fields: [] };
    for (const [k, v] of splitKeyValues(head)) {
      if (k === 'selection_method') {
        if (!typed) return { ok: false, error: 'selection method is not needed' };
        if (v.length >= 16) {
          return { ok: false, error: 'selection method is longer than 15 bytes long' };
        }
        props.method = v;
        continue;
      }
      if (k === 'selection_method_param') {
        if (!typed) return { ok: false, error: 'selection method param is not needed' };
        if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v) || BigInt(v) > 0xffffffffffffffffn) {
          return { ok: false, error: `invalid selection_method_param "${v}"` };
        }
        props.param = BigInt(v);
        continue;
      }
      if (k === 'fields') {
        if (!typed) return { ok: false, error: 'fields are not needed' };
        const err = parseSelectFields(v, props);
        if (err) return { ok: false, error: err };
        continue;
      }
      if (k === 'group_id') {
        g.groupId = v === 'all' ? OFPG_ALL : v === 'any' ? OFPG_ANY : parseU32(v, 'group_id');
        if (v !== 'any' && g.groupId !== OFPG_ALL && g.groupId > OFPG_MAX) {
          return { ok: false, error: `invalid group id ${g.groupId}` };
        }
        haveId = true;
      } else if (k === 'type') {
        if (!typed) return { ok: false, error: 'type is not needed' };
        const t = v === 'fast_failover' ? 'ff' : v;
        if (!GROUP_TYPES.includes(t as GroupType))
          return { ok: false, error: `invalid group type ${v}` };
        g.groupType = t as GroupType;
        haveType = true;
      } else if (k === 'command_bucket_id') {
        g.commandBucketId =
          v === 'first'
            ? OFPG15_BUCKET_FIRST
            : v === 'last'
              ? OFPG15_BUCKET_LAST
              : v === 'all'
                ? OFPG15_BUCKET_ALL
                : parseU32(v, 'command_bucket_id');
        const special = [OFPG15_BUCKET_FIRST, OFPG15_BUCKET_LAST, OFPG15_BUCKET_ALL];
        if (g.commandBucketId > OFPG15_BUCKET_MAX && !special.includes(g.commandBucketId)) {
          return { ok: false, error: `invalid command bucket id ${g.commandBucketId}` };
        }
      } else {
        return { ok: false, error: `unknown keyword ${k}` };
      }
    }
    if (!haveId && command !== 'delete') return { ok: false, error: 'must specify a group_id' };
    if (!haveType && (command === 'add' || command === 'modify')) {
      return { ok: false, error: 'must specify a type' };
    }
    if (props.method !== 'hash' && props.fields.length) {
      return { ok: false, error: 'fields may only be specified with "selection_method=hash"' };
    }
    if (!props.method && props.param) {
      return {
        ok: false,
        error: 'selection_method_param is only allowed with "selection_method"',
      };
    }
    if (props.method || props.param || props.fields.length) g.props = props;
    const parsed: Array<{ b: Bucket; explicit: boolean }> = [];
    for (const text of buckets) {
      const pb = parseBucket(text, g.groupType, parsed.length);
      // As OVS, checked bucket by bucket, so an earlier bucket's error wins.
      if (command !== 'insert_bucket' && g.groupType !== 'select' && pb.b.weight) {
        return { ok: false, error: 'Only select groups can have bucket weights.' };
      }
      parsed.push(pb);
    }
    if (g.groupType === 'indirect' && parsed.length > 1) {
      return { ok: false, error: 'Indirect groups can have at most one bucket.' };
    }
    g.buckets = parsed.map((p) => p.b);
    assignBucketIds(
      g.buckets,
      parsed.map((p) => p.explicit),
    );
    if (command === 'delete' && g.buckets.length) return { ok: false, error: 'bucket not allowed' };
    return { ok: true, value: g };
  } catch (e) {
    if (e instanceof OfpError) return { ok: false, error: e.message.replace(/^[A-Z_]+: /, '') };
    throw e;
  }
}
