/** OpenFlow port numbers (OVS's ofp_port_t): a space of its own, distinct from datapath ports. */
export type OfpPort = number & { readonly __brand: 'OfpPort' };
export const ofpPort = (n: number): OfpPort => n as OfpPort;
/** Highest number a physical port may have, exclusive (OpenFlow 1.0's OFPP_MAX). */
export const OFPP_MAX = ofpPort(0xff00);
/** The bridge's own internal port. */
export const OFPP_LOCAL = ofpPort(0xfffe);
/** "No port". The database shows it as -1. */
export const OFPP_NONE = ofpPort(0xffff);

/** A requested number is honoured only in 1..OFPP_MAX-1 (OVS's iface_validate_ofport__). */
export function validOfportRequest(n: number | undefined): OfpPort | null {
  return n !== undefined && Number.isInteger(n) && n >= 1 && n < OFPP_MAX ? ofpPort(n) : null;
}
