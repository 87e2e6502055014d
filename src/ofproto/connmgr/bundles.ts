/*
 * OpenFlow bundles (OVS's ofproto/bundles.c and do_bundle_commit() in ofproto.c): a
 * controller opens a bundle, adds flow, group and port mods and packet-outs to it, and
 * commits them as one change. Each bundle belongs to its connection; one left idle longer
 * than the bundle idle timeout (Open_vSwitch other_config:bundle-idle-timeout, 10 s by
 * default) is dropped with an OFPBFC_TIMEOUT error quoting the message that opened it.
 *
 * Replies carry no flags, whatever the request said (as OVS's). A bundle whose close, add or
 * commit names other flags than its open is dropped with OFPBFC_BAD_FLAGS; a commit drops
 * the bundle whatever its outcome.
 */

import { type ClockTimer, every, timeMsec } from '../../lib/timeval.ts';
import { decodeMessage } from '../openflow/codec.ts';
import { OfpError } from '../openflow/errors.ts';
import type { OfpMessage, PacketOut } from '../openflow/messages.ts';
import type { BundledMessage, Ofconn } from './ofconn.ts';
import { type HandlerContext, prepareFlowMod } from './ofconn-handle.ts';

/** One open (or closed, not yet committed) bundle. */
export interface OfpBundle {
  readonly flags: number;
  closed: boolean;
  /** Clock time of the last open, add or close (idle expiry counts from it). */
  used: number;
  /** The message that created the bundle (an open request or its first add), for errors. */
  readonly msg: Uint8Array;
  readonly xid: number;
  readonly entries: BundledMessage[];
}

export const OFPBCT = {
  OPEN_REQUEST: 0,
  OPEN_REPLY: 1,
  CLOSE_REQUEST: 2,
  CLOSE_REPLY: 3,
  COMMIT_REQUEST: 4,
  COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6,
  DISCARD_REPLY: 7,
} as const;
const OFPBF_ATOMIC = 1;
/* The embedded message follows the add's header, bundle id, padding and flags. */
const BUNDLE_ADD_HEADER = 16;

const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
/* How often each connection's bundles are checked for expiry (as OVS). */
const EXPIRY_INTERVAL_MS = 1000;
let idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS;

/** other_config:bundle-idle-timeout, in seconds; 0 (or unset) restores the 10 s default. */
export function setBundleIdleTimeout(seconds: number): void {
  idleTimeoutMs = seconds > 0 ? seconds * 1000 : DEFAULT_IDLE_TIMEOUT_MS;
}

/* One expiry timer per connection that has bundles; it stops once they are all gone. */
const expiryTimers = new WeakMap<Ofconn, ClockTimer>();

function watchExpiry(conn: Ofconn): void {
  if (expiryTimers.has(conn)) return;
  const timer = every(EXPIRY_INTERVAL_MS, () => {
    const limit = timeMsec() - idleTimeoutMs;
    for (const [id, b] of conn.bundles) {
      if (b.used <= limit) {
        conn.bundles.delete(id);
        conn.sendError(new OfpError('OFPBFC_TIMEOUT'), b.msg, b.xid);
      }
    }
    if (conn.bundles.size === 0) {
      timer.cancel();
      expiryTimers.delete(conn);
    }
  });
  expiryTimers.set(conn, timer);
}

function create(conn: Ofconn, id: number, flags: number, raw: Uint8Array, xid: number) {
  const b: OfpBundle = { flags, closed: false, used: timeMsec(), msg: raw, xid, entries: [] };
  conn.bundles.set(id, b);
  watchExpiry(conn);
  return b;
}

function reply(conn: Ofconn, bundleId: number, ctrlType: number, xid: number): void {
  conn.send(
    { type: 'bundle_control', bundleId, ctrlType, flags: 0, properties: new Uint8Array(0) },
    xid,
  );
}

export function bundleControl(
  ctx: HandlerContext,
  conn: Ofconn,
  msg: Extract<OfpMessage, { type: 'bundle_control' }>,
  xid: number,
  raw: Uint8Array,
): OfpError | null {
  if (conn.role === 'slave') return new OfpError('OFPBRC_IS_SECONDARY');
  const id = msg.bundleId;
  const b = conn.bundles.get(id);
  switch (msg.ctrlType) {
    case OFPBCT.OPEN_REQUEST:
      if (b) {
        conn.bundles.delete(id);
        return new OfpError('OFPBFC_BAD_ID');
      }
      create(conn, id, msg.flags, raw, xid);
      reply(conn, id, OFPBCT.OPEN_REPLY, xid);
      return null;
    case OFPBCT.CLOSE_REQUEST:
      if (!b) return new OfpError('OFPBFC_BAD_ID');
      if (b.closed || b.flags !== msg.flags) {
        conn.bundles.delete(id);
        return new OfpError(b.closed ? 'OFPBFC_BUNDLE_CLOSED' : 'OFPBFC_BAD_FLAGS');
      }
      b.closed = true;
      b.used = timeMsec();
      reply(conn, id, OFPBCT.CLOSE_REPLY, xid);
      return null;
    case OFPBCT.COMMIT_REQUEST: {
      if (!b) return new OfpError('OFPBFC_BAD_ID');
      conn.bundles.delete(id);
      if (b.flags !== msg.flags) return new OfpError('OFPBFC_BAD_FLAGS');
      const err = commit(ctx, conn, b);
      if (err) return err;
      reply(conn, id, OFPBCT.COMMIT_REPLY, xid);
      return null;
    }
    case OFPBCT.DISCARD_REQUEST:
      if (!b) return new OfpError('OFPBFC_BAD_ID');
      conn.bundles.delete(id);
      reply(conn, id, OFPBCT.DISCARD_REPLY, xid);
      return null;
    default:
      return new OfpError('OFPBFC_BAD_TYPE');
  }
}

/* Messages a bundle may carry (OVS's ofputil_is_bundlable(), less the ones it cannot
 * apply: OVS accepts exactly these four). */
const BUNDLABLE = new Set(['flow_mod', 'group_mod', 'port_mod', 'packet_out']);
/* A message whose type cannot be told is refused as unsupported, not with its own error. */
const UNPARSABLE = new Set([
  'OFPBRC_BAD_TYPE',
  'OFPBRC_BAD_SUBTYPE',
  'OFPBRC_BAD_EXPERIMENTER',
  'OFPBRC_BAD_EXP_TYPE',
  'OFPBRC_BAD_LEN',
]);

export function bundleAdd(
  conn: Ofconn,
  msg: Extract<OfpMessage, { type: 'bundle_add' }>,
  xid: number,
  raw: Uint8Array,
): OfpError | null {
  if (conn.role === 'slave') return new OfpError('OFPBRC_IS_SECONDARY');
  const inner = msg.message;
  // The embedded message: same version and xid as the add that carries it.
  if (inner[0] !== raw[0]) return new OfpError('OFPBFC_BAD_VERSION');
  const innerXid = ((inner[4] << 24) | (inner[5] << 16) | (inner[6] << 8) | inner[7]) >>> 0;
  if (innerXid !== xid) return new OfpError('OFPBFC_MSG_BAD_XID');
  const r = decodeMessage(inner);
  if (!r.ok) return UNPARSABLE.has(r.error.error) ? new OfpError('OFPBFC_MSG_UNSUP') : r.error;
  const m = r.frame.msg;
  if (!BUNDLABLE.has(m.type)) return new OfpError('OFPBFC_MSG_UNSUP');
  // Flow mods are checked as they are added (OVS's ofproto_flow_mod_init()).
  if (m.type === 'flow_mod') {
    const p = prepareFlowMod(conn, m, inner);
    if (p instanceof OfpError) return p;
  }
  let b = conn.bundles.get(msg.bundleId);
  if (!b) {
    // An add opens the bundle implicitly, as in OVS.
    b = create(conn, msg.bundleId, msg.flags, raw, xid);
  } else if (b.closed || b.flags !== msg.flags) {
    conn.bundles.delete(msg.bundleId);
    return new OfpError(b.closed ? 'OFPBFC_BUNDLE_CLOSED' : 'OFPBFC_BAD_FLAGS');
  }
  b.used = timeMsec();
  // Errors about an entry quote the add message, as OVS's do.
  b.entries.push({ frame: r.frame, raw });
  return null;
}

/*
 * Applies a bundle's messages in order, all or nothing: on the first failure the flow and
 * group tables go back to what they were (port mods already done stay done, as in OVS) and
 * the failing message gets its own error before the commit fails with MSG_FAILED. Each
 * packet-out is translated where it stands in the bundle and sent only after the commit.
 */
function commit(ctx: HandlerContext, conn: Ofconn, b: OfpBundle): OfpError | null {
  const sw = ctx.sw;
  const atomic = (b.flags & OFPBF_ATOMIC) !== 0;
  const restoreFlows = sw.flowTables.snapshot();
  const restoreGroups = sw.groups.snapshot();
  const sends: Array<() => void> = [];
  for (const e of b.entries) {
    const m = e.frame.msg;
    let err: OfpError | null = null;
    if (m.type === 'flow_mod') {
      const p = prepareFlowMod(conn, m, e.raw.subarray(BUNDLE_ADD_HEADER));
      err =
        p instanceof OfpError
          ? p
          : ctx.monitors.flowMod(conn, e.frame.xid, p.fm, () =>
              sw.flowTables.flowMod(p.fm, p.opts),
            );
    } else if (m.type === 'group_mod') {
      err = sw.groups.groupMod(m);
    } else if (m.type === 'port_mod') {
      // Port mods cannot be undone, so an atomic bundle may not carry one.
      err = atomic ? new OfpError('OFPBFC_MSG_FAILED') : ctx.portMod(m);
    } else if (m.type === 'packet_out') {
      const send = prepareOut(ctx, m);
      if (send instanceof OfpError) err = send;
      else sends.push(send);
    }
    if (err) {
      restoreGroups();
      restoreFlows();
      conn.sendError(err, e.raw, e.frame.xid);
      return new OfpError('OFPBFC_MSG_FAILED');
    }
  }
  for (const send of sends) send();
  for (const e of b.entries)
    if (e.frame.msg.type === 'flow_mod') conn.reportFlowMod(e.frame.msg.command);
  return null;
}

function prepareOut(ctx: HandlerContext, po: PacketOut): (() => void) | OfpError {
  const sw = ctx.sw;
  if (sw.packetOutPrepare) return sw.packetOutPrepare(po);
  return () => void sw.packetOut(po);
}
