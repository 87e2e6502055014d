/*
 * Lets ovs-vswitchd's vconn debug log print OpenFlow messages as ovs-ofctl does: the printer
 * lives in this layer, which the switch's layers may not import, so the daemon hands it over
 * at start-up.
 */

import { setOfpPrinter } from '../../ofproto/connmgr/vconn-log.ts';

export function registerVconnPrinter(): void {
  // Loaded after start-up: the printer's code is large and the log is usually off.
  void import('./print.ts').then(
    (m) => setOfpPrinter((bytes) => m.ofpToString(bytes)),
    () => {},
  );
}
