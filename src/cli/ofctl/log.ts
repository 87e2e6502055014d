/*
 * The vlog modules ovs-ofctl logs under (registered up front so that -vMODULE:LEVEL finds them
 * by name, as OVS's static module list does).
 */

import { vlog } from '../../lib/vlog.ts';

export const MODULES = [
  'ofctl',
  'vconn',
  'ofp_table',
  'ofp_match',
  'pcap',
  'ofp_util',
  'stream',
  'stream_unix',
  'ofp_msgs',
  'fatal_signal',
  'poll_loop',
  'hmap',
];

export function registerModules(): void {
  for (const m of MODULES) vlog(m);
}

export function vlogWarn(module: string, msg: string): void {
  vlog(module).warn(msg);
}

export function vlogDbg(module: string, msg: string): void {
  vlog(module).dbg(msg);
}
