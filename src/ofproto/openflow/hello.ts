/*
 * Version negotiation as OVS does it (ofputil_decode_hello / vconn): each side sends a hello
 * whose header version is its highest version, with a version-bitmap element when its set is
 * not simply "1.0 up to the highest"; the peer's set is its bitmap, or every version up to its
 * header version when it sent none; the connection uses the highest common version, and with
 * none in common the side that notices sends OFPET_HELLO_FAILED/OFPHFC_INCOMPATIBLE.
 */

import { OfpError } from './errors.ts';
import type { OfpFrame } from './messages.ts';

export const ALL_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6];
/* OVS's default for ovs-vswitchd bridges (protocols column empty): OF1.0 to OF1.5. */
export const DEFAULT_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6];

export function helloFrame(versions: readonly number[], xid = 0): OfpFrame {
  const max = Math.max(...versions);
  return {
    version: max,
    xid,
    msg: { type: 'hello', versions: [...versions].sort((a, b) => a - b) },
  };
}

/**
 * The version to use given our versions and the peer's hello (as decoded: `versions` already
 * reflects the bitmap or the header version). Throws OFPHFC_INCOMPATIBLE when none is shared.
 */
export function negotiateVersion(ours: readonly number[], peerHello: OfpFrame): number {
  if (peerHello.msg.type !== 'hello') throw new Error('not a hello');
  const theirs = new Set(peerHello.msg.versions);
  let best = 0;
  for (const v of ours) if (theirs.has(v) && v > best) best = v;
  if (!best) {
    throw new OfpError(
      'OFPHFC_INCOMPATIBLE',
      `peer supports versions ${[...theirs].join(',')}, we support ${ours.join(',')}`,
    );
  }
  return best;
}
