/**
 * The datapath interface (OVS's dpif-provider.h), as far as ports go: a datapath owns a table
 * of ports numbered in the datapath's own space (`OdpPort`, distinct from OpenFlow's `OfpPort`),
 * each backed by a netdev. Flows, the megaflow cache and upcalls come with the forwarding slice.
 */
import type { Netdev } from '../netdev/netdev.ts';

/** A datapath port number. Branded so it cannot be mixed up with an OpenFlow port number. */
export type OdpPort = number & { readonly __brand: 'OdpPort' };
export const odpPort = (n: number): OdpPort => n as OdpPort;
/** The datapath's own internal port. */
export const ODPP_LOCAL = odpPort(0);
/** "No port" (OVS's ODPP_NONE, UINT32_MAX). */
export const ODPP_NONE = odpPort(0xffffffff);

export interface DpifPort {
  readonly portNo: OdpPort;
  readonly name: string;
  /** The netdev's type, as `dpif/show` prints it. */
  readonly type: string;
  readonly netdev: Netdev;
}

export interface DpifStats {
  /** Packets that matched a cached flow. */
  hit: number;
  /** Packets that needed an upcall. */
  missed: number;
}

export interface Dpif {
  /** `TYPE@NAME`, e.g. `dummy@ovs-dummy`, as OVS names it in dpif/show. */
  readonly fullName: string;
  /** The datapath type: `dummy`, `netdev`, or `system` under --enable-dummy=override. */
  readonly type: string;
  /** What Bridge.datapath_version reports. */
  readonly version: string;
  /**
   * The netdev type a port of configured type `type` is opened as on this datapath (OVS's
   * dpif_port_open_type): `internal` is `dummy-internal` on a dummy datapath.
   */
  portOpenType(type: string): string;
  /** Adds a port for `netdev` and returns its number. Throws NetdevError EEXIST if named twice. */
  portAdd(netdev: Netdev): OdpPort;
  portDel(port: OdpPort): void;
  portQueryByName(name: string): DpifPort | undefined;
  portQueryByNumber(port: OdpPort): DpifPort | undefined;
  ports(): IterableIterator<DpifPort>;
  getStats(): DpifStats;
}
