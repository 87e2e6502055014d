/**
 * The OpenFlow switch (OVS's ofproto), as far as ports go: one per bridge, on the shared
 * datapath of its type. It numbers its ports in OpenFlow's space:
 *
 * - the port named like the bridge is the local port, OFPP_LOCAL (65534);
 * - a port added with a request (Interface.ofport_request) gets that number if it is free;
 * - any other port gets the next number after the last one handed out (not the lowest free
 *   one: OVS avoids reusing a number soon, so stale flows do not hit a new port), skipping
 *   numbers in use and, for an hour, numbers recently released unless nothing else is left;
 *   automatic numbers stay below 32768, the upper half being left to controllers.
 *
 * Patch ports have no datapath port (OVS prints their datapath number as "none").
 * Tables, flows and connections to controllers come with later slices.
 */
import type { DpifBackers } from '../dpif/backers.ts';
import type { OdpPort } from '../dpif/dpif.ts';
import type { DpifNetdev } from '../dpif/dpif-netdev.ts';
import type { EthAddr, Netdev } from '../netdev/netdev.ts';
import { netdevError } from '../netdev/netdev.ts';
import { OFPP_LOCAL, OFPP_MAX, OFPP_NONE, type OfpPort, ofpPort } from './ofp-port.ts';

export interface Ofport {
  readonly ofpPort: OfpPort;
  readonly netdev: Netdev;
  /** null for ports without a datapath port (patch ports). */
  readonly odpPort: OdpPort | null;
}

export type FailMode = 'standalone' | 'secure';

/** Settings the bridge hands down; stored now, used by the forwarding slice. */
export interface OfprotoSettings {
  failMode: FailMode;
  /** Seconds a learned MAC stays (Bridge other_config:mac-aging-time, default 300). */
  macAgingTime: number;
  /** Most MACs learned (other_config:mac-table-size, default 8192). */
  macTableSize: number;
}

export const DEFAULT_SETTINGS: Readonly<OfprotoSettings> = {
  failMode: 'standalone',
  macAgingTime: 300,
  macTableSize: 8192,
};

const AUTO_PORT_LIMIT = 32768;
const REUSE_AFTER_MS = 60 * 60 * 1000;

export interface OfprotoOptions {
  /** Milliseconds clock, injectable for tests of port number reuse. */
  now?: () => number;
}

export class Ofproto {
  readonly dpif: DpifNetdev;
  datapathId = 0n;
  /** The bridge's Ethernet address (the local port's). */
  ea: EthAddr | null = null;
  settings: OfprotoSettings = { ...DEFAULT_SETTINGS };
  private readonly byNumber = new Map<OfpPort, Ofport>();
  private readonly byName = new Map<string, Ofport>();
  /** Port number -> when it was released (Infinity while in use). */
  private readonly usage = new Map<number, number>();
  private allocNext = 0;
  private readonly now: () => number;
  private destroyed = false;

  /** Throws UnknownDatapathTypeError when `type` is not offered. */
  constructor(
    readonly name: string,
    readonly type: string,
    private readonly backers: DpifBackers,
    opts: OfprotoOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.dpif = backers.acquire(type);
  }

  /**
   * Adds `netdev` as a port, numbered `requested` if that is given and free. Returns the
   * OpenFlow port number. Throws NetdevError when the datapath refuses the port.
   */
  portAdd(netdev: Netdev, requested: OfpPort | null = null): OfpPort {
    if (this.byName.has(netdev.name)) throw netdevError('EEXIST');
    const odp = netdev.type === 'patch' ? null : this.dpif.portAdd(netdev);
    const ofp = netdev.name === this.name ? OFPP_LOCAL : this.allocOfpPort(requested);
    if (ofp === OFPP_NONE) {
      if (odp !== null) this.dpif.portDel(odp);
      throw netdevError('EEXIST');
    }
    const port: Ofport = { ofpPort: ofp, netdev, odpPort: odp };
    this.byNumber.set(ofp, port);
    this.byName.set(netdev.name, port);
    return ofp;
  }

  portDel(ofp: OfpPort): void {
    const port = this.byNumber.get(ofp);
    if (!port) return;
    this.byNumber.delete(ofp);
    this.byName.delete(port.netdev.name);
    if (port.odpPort !== null) this.dpif.portDel(port.odpPort);
    if (ofp < OFPP_MAX) this.usage.set(ofp, this.now());
    port.netdev.close();
  }

  port(ofp: OfpPort): Ofport | undefined {
    return this.byNumber.get(ofp);
  }
  portByName(name: string): Ofport | undefined {
    return this.byName.get(name);
  }
  ports(): IterableIterator<Ofport> {
    return this.byNumber.values();
  }

  /** Removes every port and lets go of the datapath. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ofp of [...this.byNumber.keys()]) this.portDel(ofp);
    this.backers.release(this.dpif);
  }

  private allocOfpPort(requested: OfpPort | null): OfpPort {
    if (requested !== null && requested < OFPP_MAX && this.usage.get(requested) !== Infinity) {
      this.usage.set(requested, Infinity);
      return requested;
    }
    const limit = Math.min(OFPP_MAX, AUTO_PORT_LIMIT);
    const end = this.allocNext;
    let lru = 0;
    let lruAt = Infinity;
    for (;;) {
      if (++this.allocNext >= limit) this.allocNext = 1;
      const n = this.allocNext;
      const at = this.usage.get(n);
      if (at === undefined || at < this.now() - REUSE_AFTER_MS) {
        this.usage.set(n, Infinity);
        return ofpPort(n);
      }
      if (at < lruAt) {
        lruAt = at;
        lru = n;
      }
      if (n === end || (end === 0 && n === limit - 1)) {
        if (lru === 0) return OFPP_NONE;
        this.usage.set(lru, Infinity);
        return ofpPort(lru);
      }
    }
  }
}
