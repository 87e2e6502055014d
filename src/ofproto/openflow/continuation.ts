/*
 * The continuation of a paused translation (NXPINT_CONTINUATION of an NXT_PACKET_IN2, sent
 * back in an NXT_RESUME): the switch-private state a `controller(pause)` froze, in the
 * property format OVS 3.1 uses (lib/ofp-packet.c's NXCPT_* properties), so that real
 * ovs-ofctl prints ours as it prints OVS's and a controller can hand either back.
 *
 * Bytes here are the NXPINT_CONTINUATION property's body as codec.ts keeps it: the 4 bytes
 * of padding that align nested properties, then the properties.
 */

import { DecodeError, Reader, Writer } from './bytes.ts';
import { OfpError } from './errors.ts';
import type { Ofpact } from './ofpact.ts';
import { decodeActions, putActions } from './ofpact-wire.ts';

/* OVS's enum nx_continuation_prop_type (experimenter-range property numbers). */
export const NXCPT = {
  BRIDGE: 0x8000,
  STACK: 0x8001,
  MIRRORS: 0x8002,
  CONNTRACKED: 0x8003,
  TABLE_ID: 0x8004,
  COOKIE: 0x8005,
  ACTIONS: 0x8006,
  ACTION_SET: 0x8007,
  ODP_PORT: 0x8008,
} as const;

/** A frame boundary in the frozen actions: the table and rule cookie the actions after it ran
 * under (OVS's OFPACT_UNROLL_XLATE, which never appears on the wire as an action). */
export interface UnrollXlate {
  readonly type: 'unroll_xlate';
  readonly tableId: number;
  readonly cookie: bigint;
}

export type FrozenAction = Ofpact | UnrollXlate;

export interface Continuation {
  /** The bridge's 16-byte UUID (OVS's ofproto uuid); null when absent. */
  readonly bridge: Uint8Array | null;
  /** The data stack, bottom first; each value big-endian in whole bytes (at most 128). */
  readonly stack: readonly Uint8Array[];
  /** Mirrors already output to (bit i = mirror i of the bridge). */
  readonly mirrors: number;
  readonly conntracked: boolean;
  /** What is left to do, innermost frame first, with a marker before each frame's actions. */
  readonly actions: readonly FrozenAction[];
  readonly actionSet: readonly Ofpact[];
  /** The datapath port the packet came in on; 0 when unknown. */
  readonly odpPort: number;
}

/** OVS's ofpprop_put: type, length, body, padding to 8 bytes. */
function prop(w: Writer, type: number, body: (w: Writer) => void): void {
  const at = w.pos;
  w.u16(type).u16(0);
  body(w);
  w.setU16(at + 2, w.pos - at);
  w.pad(8, at);
}

/* A nested property (ofpprop_start_nested): 4 bytes of padding before the body, counted. */
function nested(w: Writer, type: number, body: (w: Writer) => void): void {
  prop(w, type, (x) => {
    x.zeros(4);
    body(x);
  });
}

/**
 * Encodes `c` as OVS's ofputil_put_packet_in_private does for OpenFlow `version` (actions are
 * encoded in that version). Returns the NXPINT_CONTINUATION body, or null when there is
 * nothing to say (OVS then leaves the property out).
 */
export function encodeContinuation(c: Continuation, version: number): Uint8Array | null {
  const w = new Writer(256);
  w.zeros(4);
  if (c.bridge?.some((b) => b !== 0)) {
    const uuid = c.bridge;
    prop(w, NXCPT.BRIDGE, (x) => x.bytes(uuid));
  }
  // Top of the stack first: the decoder pushes each at the bottom.
  for (let i = c.stack.length - 1; i >= 0; i--) {
    const v = c.stack[i] as Uint8Array;
    prop(w, NXCPT.STACK, (x) => x.bytes(v));
  }
  if (c.mirrors) prop(w, NXCPT.MIRRORS, (x) => x.u32(c.mirrors >>> 0));
  if (c.conntracked) prop(w, NXCPT.CONNTRACKED, () => {});
  if (c.actions.length) {
    // Each run of actions after a marker goes as one NXCPT_ACTIONS, preceded by the table and
    // cookie when they differ from the last ones said (both start at 0).
    let table = 0;
    let cookie = 0n;
    let unroll: UnrollXlate | null = null;
    let run: Ofpact[] = [];
    const flush = (): void => {
      if (unroll !== null) {
        const u = unroll;
        if (u.tableId !== table) {
          prop(w, NXCPT.TABLE_ID, (x) => x.u8(u.tableId));
          table = u.tableId;
        }
        if (u.cookie !== cookie) {
          prop(w, NXCPT.COOKIE, (x) => x.zeros(4).u64(u.cookie));
          cookie = u.cookie;
        }
      }
      if (run.length) {
        const acts = run;
        nested(w, NXCPT.ACTIONS, (x) => putActions(x, acts, version));
      }
    };
    for (const a of c.actions) {
      if (a.type === 'unroll_xlate') {
        flush();
        unroll = a;
        run = [];
      } else run.push(a);
    }
    flush();
  }
  if (c.actionSet.length) {
    const set = c.actionSet;
    nested(w, NXCPT.ACTION_SET, (x) => putActions(x, set, version));
  }
  if (c.odpPort) prop(w, NXCPT.ODP_PORT, (x) => x.u32(c.odpPort >>> 0));
  return w.pos > 4 ? w.finish() : null;
}

/* The largest value OVS's stack holds (a union mf_subvalue). */
const MAX_STACK_VALUE = 128;

/**
 * Decodes a continuation as OVS's ofputil_decode_packet_in_private does (strictly: an unknown
 * property is an error). Throws OfpError with OVS's codes.
 */
export function decodeContinuation(body: Uint8Array, version: number): Continuation {
  try {
    return decodeContinuation__(body, version);
  } catch (e) {
    if (e instanceof DecodeError) throw new OfpError('OFPBPC_BAD_LEN', e.message);
    throw e;
  }
}

function decodeContinuation__(body: Uint8Array, version: number): Continuation {
  const r = new Reader(body);
  if (r.remaining < 4) throw new OfpError('OFPBPC_BAD_LEN', 'continuation');
  r.skip(4);
  let bridge: Uint8Array | null = null;
  const stack: Uint8Array[] = [];
  let mirrors = 0;
  let conntracked = false;
  let table = 0;
  let cookie = 0n;
  const actions: FrozenAction[] = [];
  let actionSet: Ofpact[] = [];
  let odpPort = 0;
  while (r.remaining > 0) {
    // OVS's ofpprop_pull: a length below the header or past the end is OFPBPC_BAD_LEN.
    if (r.remaining < 4) throw new OfpError('OFPBPC_BAD_LEN', 'property header');
    const type = r.u16();
    const len = r.u16();
    const padded = (len + 7) & ~7;
    if (len < 4 || padded - 4 > r.remaining)
      throw new OfpError('OFPBPC_BAD_LEN', `property ${type}`);
    const p = r.sub(len - 4);
    r.skip(padded - len);
    const exact = (n: number): void => {
      if (p.remaining !== n) throw new OfpError('OFPBPC_BAD_LEN', `property ${type}`);
    };
    switch (type) {
      case NXCPT.BRIDGE:
        exact(16);
        bridge = p.bytes(16).slice();
        break;
      case NXCPT.STACK:
        if (p.remaining > MAX_STACK_VALUE) throw new OfpError('OFPBPC_BAD_LEN', 'stack value');
        stack.unshift(p.rest().slice());
        break;
      case NXCPT.MIRRORS:
        exact(4);
        mirrors = p.u32();
        break;
      case NXCPT.CONNTRACKED:
        conntracked = true;
        break;
      case NXCPT.TABLE_ID:
        exact(1);
        table = p.u8();
        break;
      case NXCPT.COOKIE:
        // ofpprop_parse_be64: 4 bytes of padding, then the value.
        exact(12);
        p.skip(4);
        cookie = p.u64();
        break;
      case NXCPT.ACTIONS:
        actions.push({ type: 'unroll_xlate', tableId: table, cookie });
        actions.push(...nestedActions(p, version));
        break;
      case NXCPT.ACTION_SET:
        actionSet = nestedActions(p, version);
        break;
      case NXCPT.ODP_PORT:
        exact(4);
        odpPort = p.u32();
        break;
      default:
        throw new OfpError('OFPBPC_BAD_TYPE', `continuation property ${type}`);
    }
  }
  return { bridge, stack, mirrors, conntracked, actions, actionSet, odpPort };
}

function nestedActions(p: Reader, version: number): Ofpact[] {
  if (p.remaining < 4) throw new OfpError('OFPBPC_BAD_LEN', 'actions property');
  p.skip(4);
  return decodeActions(p, p.remaining, version);
}

/** The continuation of a NXT_PACKET_IN2 or NXT_RESUME as `ovs-ofctl` prints it (OVS's
 * ofputil_packet_in_private_format), one " continuation.X=..." line each. */
export function formatContinuationLines(
  c: Continuation,
  formatActions: (acts: readonly Ofpact[]) => string,
): string[] {
  const out: string[] = [];
  if (c.bridge) out.push(` continuation.bridge=${uuidToString(c.bridge)}`);
  if (c.stack.length) {
    const vals = [...c.stack].reverse().map((v) => `0x${stackValueHex(v)}`);
    out.push(` continuation.stack=(top) ${vals.join(' ')} (bottom)`);
  }
  if (c.mirrors) out.push(` continuation.mirrors=0x${c.mirrors.toString(16)}`);
  if (c.conntracked) out.push(' continuation.conntracked=true');
  if (c.actions.length) {
    const parts: string[] = [];
    let run: Ofpact[] = [];
    const flush = (): void => {
      if (run.length) parts.push(formatActions(run));
      run = [];
    };
    for (const a of c.actions) {
      if (a.type === 'unroll_xlate') {
        flush();
        parts.push(`unroll_xlate(table=${a.tableId}, cookie=${a.cookie})`);
      } else run.push(a);
    }
    flush();
    out.push(` continuation.actions=${parts.join(',')}`);
  }
  if (c.actionSet.length) out.push(` continuation.action_set=${formatActions(c.actionSet)}`);
  if (c.odpPort) out.push(` continuation.odp_port=${c.odpPort}`);
  return out;
}

function stackValueHex(v: Uint8Array): string {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  let s = '';
  for (; i < v.length; i++) s += (v[i] as number).toString(16).padStart(2, '0');
  return s.replace(/^0(?=.)/, '');
}

/** OVS's UUID_FMT of a uuid as it travels in NXCPT_BRIDGE: four 32-bit words, each in the
 * sending host's byte order (little-endian here, as on OVS's usual hosts). */
export function uuidToString(b: Uint8Array): string {
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const w = [0, 4, 8, 12].map((o) => v.getUint32(o, true).toString(16).padStart(8, '0'));
  const [w0, w1, w2, w3] = w as [string, string, string, string];
  return `${w0}-${w1.slice(0, 4)}-${w1.slice(4)}-${w2.slice(0, 4)}-${w2.slice(4)}${w3}`;
}

/** Whether `raw` is an NXT_RESUME (codec.ts does not decode it: connmgr routes it by this). */
export function isNxtResume(raw: Uint8Array): boolean {
  if (raw.length < 16 || raw[1] !== 4) return false;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.length);
  return v.getUint32(8) === 0x2320 && v.getUint32(12) === 28;
}
