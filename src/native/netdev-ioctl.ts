import { requireNativeAddon } from './index.ts';

/** IFF_* bits as SIOCGIFFLAGS reports them (linux/if.h). */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;

/** What Interface.admin_state and link_state need: the administrative flag and the carrier. */
export interface LinkState {
  adminUp: boolean;
  carrier: boolean;
  /** IFF_RUNNING: the operational state; the kernel updates it asynchronously (linkwatch),
   * so it can lag a carrier change by up to a second. */
  running: boolean;
}

export function ifIndex(name: string): number {
  return requireNativeAddon().ifIndex(name);
}

export function getFlags(name: string): number {
  return requireNativeAddon().ifGetFlags(name);
}

/** Sets the bits in `set`, clears those in `clear`, returns the resulting flags. */
export function updateFlags(name: string, set: number, clear: number): number {
  return requireNativeAddon().ifUpdateFlags(name, set, clear);
}

export function setAdminUp(name: string, up: boolean): void {
  updateFlags(name, up ? IFF_UP : 0, up ? 0 : IFF_UP);
}

export function getMtu(name: string): number {
  return requireNativeAddon().ifGetMtu(name);
}

export function setMtu(name: string, mtu: number): void {
  requireNativeAddon().ifSetMtu(name, mtu);
}

/** The MAC address as 6 bytes. */
export function getHwaddr(name: string): Uint8Array {
  return new Uint8Array(requireNativeAddon().ifGetHwaddr(name));
}

export function setHwaddr(name: string, mac: Uint8Array): void {
  requireNativeAddon().ifSetHwaddr(name, mac);
}

export function getLinkState(name: string): LinkState {
  const addon = requireNativeAddon();
  const flags = addon.ifGetFlags(name);
  return {
    adminUp: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    carrier: addon.ifCarrier(name),
  };
}

/** "aa:bb:cc:dd:ee:ff" for 6 bytes. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Runs `fn` with the calling thread inside the network namespace at `path` (a name alone means
 * /run/netns/NAME, as `ip netns` makes them) and returns it to where it was, even if fn throws.
 * Sockets and TAP devices opened inside stay in that namespace for their whole life, so one
 * process can serve interfaces of several namespaces. `fn` must be synchronous: the thread's
 * namespace is shared by everything that runs on it.
 */
export function inNetns<T>(nameOrPath: string, fn: () => T): T {
  const path = nameOrPath.includes('/') ? nameOrPath : `/run/netns/${nameOrPath}`;
  const addon = requireNativeAddon();
  const saved = addon.netnsEnter(path);
  try {
    return fn();
  } finally {
    addon.netnsRestore(saved);
  }
}
