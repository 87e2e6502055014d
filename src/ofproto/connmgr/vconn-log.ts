/*
 * The switch side of OVS's vconn debug log: each OpenFlow message a bridge's connections send
 * or receive, printed as ovs-ofctl prints it, when the "vconn" module logs at debug level.
 * Printing OpenFlow is the command-line layer's job (src/cli/ofctl/print.ts), which this layer
 * may not import: the daemon registers that printer at start-up with setOfpPrinter(). Without
 * one, a message is named by its header only.
 */

import { vlog } from '../../lib/vlog.ts';

/** Formats one whole OpenFlow message as ofp_to_string() does (newline-terminated or not). */
export type OfpPrinter = (bytes: Uint8Array) => string;

export const vconnLog = vlog('vconn');
let printer: OfpPrinter | null = null;

export function setOfpPrinter(p: OfpPrinter | null): void {
  printer = p;
}

function describe(msg: Uint8Array): string {
  if (printer) {
    try {
      return printer(msg).replace(/\n$/, '');
    } catch (e) {
      return `(unprintable message: ${(e as Error).message})`;
    }
  }
  const xid = ((msg[4] << 24) | (msg[5] << 16) | (msg[6] << 8) | msg[7]) >>> 0;
  return `OpenFlow message version 0x${msg[0].toString(16).padStart(2, '0')} type ${msg[1]} (xid=0x${xid.toString(16)})`;
}

/**
 * Logs each message in `bytes` (one write may carry several) as "NAME: WHAT: MESSAGE".
 * Callers test vconnLog.dbgEnabled first: formatting is the cost this log must not add
 * when it is off.
 */
export function logVconnMessages(name: string, what: string, bytes: Uint8Array): void {
  for (let at = 0; at + 8 <= bytes.length; ) {
    const len = (bytes[at + 2] << 8) | bytes[at + 3];
    if (len < 8 || at + len > bytes.length) break;
    vconnLog.dbg(`${name}: ${what}: ${describe(bytes.subarray(at, at + len))}`);
    at += len;
  }
}

function versionByte(v: number): string {
  return `0x${v.toString(16).padStart(2, '0')}`;
}

/* OVS's description of a version bitmap in its negotiation messages. */
export function versionsToString(versions: readonly number[]): string {
  const vs = [...versions].sort((a, b) => a - b);
  if (vs.length === 0) return 'no versions';
  const max = vs[vs.length - 1];
  if (vs.length === 1) return `version ${versionByte(max)}`;
  if (vs.length === max && vs[0] === 1) return `version ${versionByte(max)} and earlier`;
  return `versions ${vs.map(versionByte).join(', ')}`;
}

/** The "negotiated OpenFlow version" line, with the versions as wire version numbers. */
export function logNegotiated(
  name: string,
  version: number,
  ours: readonly number[],
  peer: readonly number[],
): void {
  vconnLog.dbg(
    `${name}: negotiated OpenFlow version ${versionByte(version)} (we support ${versionsToString(ours)}, peer supports ${versionsToString(peer)})`,
  );
}
