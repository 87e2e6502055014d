/*
 * Freezing and thawing a translation for continuations (OVS's freeze_unroll_actions,
 * finish_freezing and xlate_resume, the `controller(pause)` part): what each frame of the
 * translation had left to do when a pause stopped it, kept as a flat list in which each
 * frame's actions follow a marker saying which table and rule cookie they ran under.
 */

import type { Continuation, FrozenAction, UnrollXlate } from '../../openflow/continuation.ts';
import type { Ofpact } from '../../openflow/ofpact.ts';
import { formatOfpact } from '../../openflow/ofpact-format.ts';

/** What freezing needs of a translation's state. */
export interface FreezeState {
  tableId: number;
  ruleCookie: bigint;
  frozen: FrozenAction[];
  lastUnroll: UnrollXlate | null;
}

function putUnroll(s: FreezeState): void {
  const u = s.lastUnroll;
  if (u !== null && u.tableId === s.tableId && u.cookie === s.ruleCookie) return;
  const n: UnrollXlate = { type: 'unroll_xlate', tableId: s.tableId, cookie: s.ruleCookie };
  s.frozen.push(n);
  s.lastUnroll = n;
}

/**
 * Appends acts[from..] to the frozen actions. Actions that may send an asynchronous message
 * (which names the table and cookie) get a marker ahead of them; goto_table and
 * write_metadata, instructions rather than actions, become the resubmit and set_field that
 * do the same, as in OVS.
 */
export function freezeUnroll(s: FreezeState, acts: readonly FrozenAction[], from: number): void {
  for (let i = from; i < acts.length; i++) {
    const a = acts[i] as FrozenAction;
    switch (a.type) {
      case 'output_reg':
      case 'output_trunc':
      case 'group':
      case 'output':
      case 'controller':
      case 'dec_mpls_ttl':
      case 'dec_ttl':
        putUnroll(s);
        break;
      case 'resubmit':
        if (a.tableId === 255) putUnroll(s);
        break;
      case 'goto_table':
        s.frozen.push({ type: 'resubmit', port: OFPP_IN_PORT, tableId: a.tableId, withCt: false });
        continue;
      case 'write_metadata':
        s.frozen.push({
          type: 'set_field',
          field: 'metadata',
          value: split64(a.metadata),
          mask: split64(a.mask),
          raw: 'set_field',
        });
        continue;
      case 'note':
      case 'conjunction':
        continue;
    }
    s.frozen.push(a);
  }
}

const OFPP_IN_PORT = 0xfff8;

function split64(v: bigint): number[] {
  return [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
}

/** A stack value (bits, least significant first) in whole bytes, big-endian, as OVS's. */
export function stackBitsToBytes(bits: readonly number[]): Uint8Array {
  const n = (bits.length + 7) >> 3;
  const out = new Uint8Array(n);
  for (let i = 0; i < bits.length; i++)
    if (bits[i]) out[n - 1 - (i >> 3)] = (out[n - 1 - (i >> 3)] as number) | (1 << (i & 7));
  return out;
}

export function stackBytesToBits(v: Uint8Array): number[] {
  const n = v.length;
  const bits: number[] = new Array(n * 8);
  for (let i = 0; i < n * 8; i++) bits[i] = ((v[n - 1 - (i >> 3)] as number) >> (i & 7)) & 1;
  return bits;
}

/* ------------------------------------------------------------------------------------ */
/* Resuming. */

const RESUME = Symbol('xlate.resume');

/**
 * The "actions" that make xlate() resume `c` instead of looking up table 0: an empty list
 * carrying the continuation (so the upcall layer's packet-out entry point can run it).
 */
export function resumeOfpacts(c: Continuation): readonly Ofpact[] {
  return Object.assign([] as Ofpact[], { [RESUME]: c });
}

export function resumeOf(ofpacts: readonly Ofpact[] | undefined): Continuation | undefined {
  return (ofpacts as { [RESUME]?: Continuation } | undefined)?.[RESUME];
}

/* ------------------------------------------------------------------------------------ */
/* A paused packet-in names its continuation through the pipeline fields it carries (the
 * upcall layer tells calls apart by them): one extra [word, token] pair, with a word past
 * the flow key so that writing it into a flow does nothing. Equal continuations get equal
 * tokens, so a megaflow's actions stay the same when it is translated again. */

export const CONTINUATION_TOKEN_WORD = 0x7fffffff;
const MAX_TOKENS = 1 << 16;
const tokens = new Map<string, number>();
let nextToken = 1;

export function continuationToken(bridge: string, c: Continuation): number {
  const k = continuationKey(bridge, c);
  let t = tokens.get(k);
  if (t === undefined) {
    if (tokens.size >= MAX_TOKENS) tokens.clear();
    t = nextToken++;
    tokens.set(k, t);
  }
  return t;
}

function continuationKey(bridge: string, c: Continuation): string {
  const acts = c.actions.map((a) =>
    a.type === 'unroll_xlate' ? `U${a.tableId}/${a.cookie}` : formatOfpact(a),
  );
  const stack = c.stack.map((v) => Buffer.from(v).toString('hex'));
  return [
    bridge,
    stack.join('.'),
    c.mirrors,
    c.odpPort,
    acts.join('|'),
    c.actionSet.map((a) => formatOfpact(a)).join('|'),
  ].join('\n');
}
