/*
 * Flow-stats replies written straight from the stored flows (OVS's ofputil_append_flow_stats_
 * reply() with ofpmp_postappend()): each entry goes into one reused buffer as it is filled from
 * its flow, and a reply ends when the next entry would take it past 65,535 bytes, so a dump of
 * 100,000 flows makes no object per flow and encodes each entry once.
 */

import { Writer } from './bytes.ts';
import { putFlowStats, putFlowStatsReplyHeader } from './codec.ts';
import type { FlowModFlags, FlowStats } from './messages.ts';

const OFPSF_REPLY_MORE = 1;
/* Where every stats header keeps its flags: after the 8-byte header and the 16-bit type. */
const FLAGS_AT = 10;
const MAX_MESSAGE = 0xffff;

const NO_FLAGS: FlowModFlags = Object.freeze({
  sendFlowRem: false,
  checkOverlap: false,
  resetCounts: false,
  noPacketCounts: false,
  noByteCounts: false,
  emerg: false,
});

/** A flow-stats entry to be overwritten for each flow (see encodeFlowStatsReplies). */
export function scratchFlowStats(): FlowStats {
  return {
    match: { key: new Uint32Array(0), mask: new Uint32Array(0) },
    priority: 0,
    tableId: 0,
    durationSec: 0,
    durationNsec: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    idleAge: 0,
    hardAge: 0,
    cookie: 0n,
    packetCount: 0n,
    byteCount: 0n,
    flags: NO_FLAGS,
    importance: 0,
    ofpacts: [],
  };
}

/* One writer for every dump (the replies are copied out of it). Null while in use. */
let spare: Writer | null = null;

/**
 * Encodes `n` flows as flow-stats replies (NXST_FLOW when `nx`, else the version's own), all but
 * the last flagged REPLY_MORE, handing each reply to `emit` as it is complete. `fill` writes
 * flow i into the entry it is given (the same object every time: nothing may keep it). An
 * entry that cannot be encoded in this version, or alone exceeds a message, is left out and
 * reported to `skipped`, as a reply without it is still correct.
 */
export function encodeFlowStatsReplies(
  n: number,
  fill: (i: number, out: FlowStats) => void,
  version: number,
  xid: number,
  nx: boolean,
  emit: (reply: Uint8Array) => void,
  skipped: (i: number, e: Error) => void,
): void {
  new FlowStatsReplyEncoder(n, fill, version, xid, nx, skipped).run(emit);
}

/**
 * encodeFlowStatsReplies() in steps: each `run()` emits replies until it has emitted `budget`
 * bytes or the last reply, so a large dump can go out as fast as the peer reads it instead of
 * all at once. The flows are filled when their turn comes.
 */
export class FlowStatsReplyEncoder {
  private i = 0;
  private w: Writer | null;
  private readonly f = scratchFlowStats();
  private readonly headerEnd: number;

  constructor(
    private readonly n: number,
    private readonly fill: (i: number, out: FlowStats) => void,
    private readonly version: number,
    xid: number,
    private readonly nx: boolean,
    private readonly skipped: (i: number, e: Error) => void,
  ) {
    const w = spare ?? new Writer(1 << 17);
    spare = null;
    w.reset();
    putFlowStatsReplyHeader(w, version, xid, nx);
    this.headerEnd = w.pos;
    this.w = w;
  }

  /** Whether the last reply has been emitted. */
  get done(): boolean {
    return this.w === null;
  }

  /** Emits replies until `budget` bytes have gone out, or the last one; true when done. */
  run(emit: (reply: Uint8Array) => void, budget = Number.POSITIVE_INFINITY): boolean {
    const w = this.w;
    if (w === null) return true;
    const { n, fill, f, version, nx, headerEnd } = this;
    let sent = 0;
    try {
      for (let i = this.i; i < n; i++) {
        fill(i, f);
        const at = w.pos;
        try {
          putFlowStats(w, f, version, nx);
        } catch (e) {
          w.pos = at;
          this.skipped(i, e as Error);
          continue;
        }
        if (w.pos <= MAX_MESSAGE) continue;
        if (at === headerEnd) {
          w.pos = at;
          this.skipped(i, new Error('flow-stats entry longer than a message'));
          continue;
        }
        // The entry starts the next reply: end this one before it, then move it down.
        const end = w.pos;
        w.pos = at;
        w.setU16(FLAGS_AT, OFPSF_REPLY_MORE);
        w.setU16(2, at);
        emit(w.finishPooled());
        sent += at;
        w.buf.copyWithin(headerEnd, at, end);
        w.setU16(FLAGS_AT, 0);
        w.pos = headerEnd + (end - at);
        if (sent >= budget) {
          this.i = i + 1;
          return false;
        }
      }
      w.setU16(2, w.pos);
      const last = w.finishPooled();
      this.finish();
      emit(last);
      return true;
    } catch (e) {
      this.finish();
      throw e;
    }
  }

  /** Gives the writer back (a dump dropped half way, or ended). */
  finish(): void {
    const w = this.w;
    if (w === null) return;
    this.w = null;
    this.i = this.n;
    if (w.buf.length <= 1 << 18 && spare === null) spare = w;
  }
}
