/*
 * OVS's dump_transaction() and transact_noreply() for requests built as bytes (the messages
 * our message union does not model): every part of a multipart reply printed, an error reply
 * printed and the dump ended, anything else fatal.
 */

import { parseRaw, statsMore } from '../../ofproto/openflow/raw-msg.ts';
import type { Ctx } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { formatReceived } from './print.ts';
import { allocXid, fatalErrno, type Received, type Vconn } from './vconn.ts';

function isStatsRequest(b: Uint8Array): boolean {
  return b[1] === (b[0] === 1 ? 16 : 18);
}

/** Builds a request with the next xid, as ofpraw_alloc() takes one. */
export function rawRequest(build: (xid: number) => Uint8Array): { xid: number; bytes: Uint8Array } {
  const xid = allocXid();
  return { xid, bytes: build(xid) };
}

export async function dumpRaw(
  ctx: Ctx,
  vc: Vconn,
  rq: { xid: number; bytes: Uint8Array },
  vconnName?: string,
): Promise<void> {
  const show = vconnName ? await ctx.portsToShow(vconnName) : undefined;
  if (!isStatsRequest(rq.bytes)) {
    let r: Received;
    try {
      r = await vc.transact(rq.bytes, rq.xid);
    } catch (e) {
      fatalErrno(e, `talking to ${vc.name}`);
    }
    ctx.out(formatReceived(r, { portName: show }));
    return;
  }
  const replyType = rq.bytes[1] + 1;
  vc.send(rq.bytes);
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(rq.xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const text = formatReceived(r, { portName: show, showStats: true });
    if (r.type === 1) {
      ctx.out(text);
      return;
    }
    const m = parseRaw(r.bytes);
    // The reply must be the request's own kind (same multipart type and vendor subtype).
    const same =
      m !== null &&
      r.type === replyType &&
      r.bytes.length >= 12 &&
      r.bytes[8] === rq.bytes[8] &&
      r.bytes[9] === rq.bytes[9];
    if (!same || !m) throw new OfctlFatal(`received bad reply: ${text}`);
    ctx.out(text);
    if (!statsMore(m)) return;
  }
}
