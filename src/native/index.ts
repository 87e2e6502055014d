/**
 * The native addon (src/native/typeswitch-native.c), loaded once on first use. It is built
 * by `npm install` (node-gyp, from binding.gyp); when it is missing the callers degrade as
 * documented where they use it, and `nativeAddon()` says why.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pkgroot } from '../lib/paths.ts';

export interface NativeAddon {
  /** fcntl(F_SETLK, F_WRLCK) on the whole file: true if this process now holds the lock. */
  fcntlLock(fd: number): boolean;
  /** fcntl(F_GETLK): the PID of another process holding a write lock on the file, or 0. */
  fcntlLockOwner(fd: number): number;

  // Packet I/O (af-packet.c, netdev-ioctl.c, fd-poll.c); the typed wrappers are af-packet.ts,
  // tap.ts, netdev-ioctl.ts and fd-poll.ts.  Failures throw Errors shaped like Node's system
  // errors: message "IF: what failed (strerror)", code 'ENODEV', errno -19, syscall.
  afpOpen(name: string, options?: AfPacketOpenOptions): AfPacketHandle;
  afpRecv(handle: AfPacketHandle, out: Uint32Array, max: number, ol?: Uint32Array): number;
  afpRelease(handle: AfPacketHandle): void;
  afpSend(
    handle: AfPacketHandle,
    buf: ArrayBufferView | ArrayBuffer,
    desc: Uint32Array,
    n: number,
    ol?: Uint32Array,
  ): number;
  afpStats(handle: AfPacketHandle): AfPacketStats;
  afpClose(handle: AfPacketHandle): void;

  xskOpen(name: string, options?: XskOpenOptions): XskHandle;
  xskRecv(handle: XskHandle, out: Uint32Array, max: number): number;
  xskRelease(handle: XskHandle): void;
  xskSend(
    handle: XskHandle,
    buf: ArrayBufferView | ArrayBuffer,
    desc: Uint32Array,
    n: number,
  ): number;
  xskStats(handle: XskHandle): XskStats;
  xskClose(handle: XskHandle): void;

  tapOpen(name: string, options?: { create?: boolean }): { fd: number; name: string };
  fdReadBatch(fd: number, buf: Uint8Array, slotSize: number, out: Uint32Array, max: number): number;
  fdWriteBatch(
    fd: number,
    buf: ArrayBufferView | ArrayBuffer,
    desc: Uint32Array,
    n: number,
  ): number;
  fdClose(fd: number): void;
  ifGetFlags(name: string): number;
  ifUpdateFlags(name: string, set: number, clear: number): number;
  ifGetMtu(name: string): number;
  ifSetMtu(name: string, mtu: number): void;
  ifGetHwaddr(name: string): Buffer;
  ifSetHwaddr(name: string, mac: Uint8Array): void;
  ifIndex(name: string): number;
  ifCarrier(name: string): boolean;
  netnsEnter(path: string): number;
  netnsRestore(fd: number): void;

  pollStart(
    fd: number,
    events: number,
    callback: (status: number, events: number) => void,
  ): NativePoller;
  pollStop(poller: NativePoller): void;
  pollUnref(poller: NativePoller, unref: boolean): void;
  waitReadable(fd: number, timeoutMs: number): boolean;

  rtnlOpen(): number;
  rtnlRequestLinks(fd: number): void;
  rtnlRead(fd: number): RtnlMessage[];
}

/** One rtnetlink link message; 'done' ends a dump, 'overrun' means notifications were lost. */
export type RtnlMessage =
  | {
      type: 'new' | 'del';
      ifindex: number;
      name?: string;
      /** ifi_flags, 32 bits: IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000. */
      flags: number;
      adminUp: boolean;
      carrier: boolean;
      mtu?: number;
      /** IF_OPER_* (RFC 2863): 2 down, 5 dormant, 6 up. */
      operstate?: number;
      mac?: Buffer;
    }
  | { type: 'done' }
  | { type: 'overrun' };

export interface AfPacketOpenOptions {
  /** RX ring block size in bytes (page multiple); default 256 KiB, raised to hold one frame. */
  blockSize?: number;
  /** RX ring blocks; default 16. */
  blockCount?: number;
  /** Slot size for one frame; default from the interface MTU (at least 2048). */
  frameSize?: number;
  /** Send through a TX ring instead of sendmmsg(2) (default false: same cost on veth). */
  txRing?: boolean;
  /** TX ring slots when txRing; default 1024 (rounded up to whole blocks). */
  txFrames?: number;
  /** A partly filled RX block is handed over after this long; default 1 ms. */
  retireTimeoutMs?: number;
  /** PACKET_MR_PROMISC membership (default true). */
  promiscuous?: boolean;
  /** PACKET_QDISC_BYPASS (default false): skips the qdisc layer, but then no other packet
   * socket (tcpdump, tshark) sees the frames we send, and it measured no faster on veth. */
  qdiscBypass?: boolean;
  /** PACKET_IGNORE_OUTGOING (default true): frames sent on the interface, by us or by the
   * host's stack, are not received back. */
  ignoreOutgoing?: boolean;
  /** PACKET_VNET_HDR (default false): GSO/GRO super-frames and partial checksums come and go
   * whole, described by offload words (see af-packet.ts); implies sendmmsg, not a TX ring. */
  vnetHdr?: boolean;
  /** Transmit on a second socket that receives nothing and is never polled (default false):
   * the kernel then wakes no poller for every sent frame it frees. */
  separateTx?: boolean;
}

/** OVS's options:xdp-mode values; best-effort tries the other three in this order. */
export type XdpMode = 'best-effort' | 'native-with-zerocopy' | 'native' | 'generic';

export interface XskOpenOptions {
  /** Default best-effort. */
  mode?: XdpMode;
  /** Receive queues, one AF_XDP socket each (OVS's options:n_rxq); default 1, at most 16. */
  queues?: number;
  /** UMEM frame size, 2048 (default) or 4096. */
  frameSize?: number;
  /** UMEM frames per queue, a power of two: half receive, half transmit; default 4096. */
  frames?: number;
  /** XDP_USE_NEED_WAKEUP (OVS's options:use-need-wakeup); default true. */
  needWakeup?: boolean;
  /** Transmit only, in copy mode, with no XDP program attached: receive stays with whatever
   * reads the device now (an AF_PACKET ring). Default false. */
  txOnly?: boolean;
}

/** AF_XDP sockets on one interface with their XDP program attached (af-xdp.c). */
export interface XskHandle {
  /** One socket per queue; each is readable when its receive ring has frames. */
  readonly fds: readonly number[];
  readonly ifindex: number;
  /** Every queue's UMEM; xskRecv offsets index it. */
  readonly umem: ArrayBuffer;
  readonly frameSize: number;
  /** The mode in use (what best-effort found). */
  readonly mode: Exclude<XdpMode, 'best-effort'>;
  readonly needWakeup: boolean;
}

export interface XskStats {
  /** XDP_STATISTICS, summed over the queues. */
  rxDropped: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  rxRingFull: number;
  rxFillRingEmpty: number;
  /** Transmits refused because every transmit frame was still with the kernel. */
  txNoFrame: number;
  /** Frames not sent because they were longer than a UMEM frame. */
  txErrors: number;
}

/** An open AF_PACKET socket; `ring` is the RX ring memory, which afpRecv's offsets index. */
export interface AfPacketHandle {
  readonly fd: number;
  readonly ifindex: number;
  readonly ring: ArrayBuffer;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly frameSize: number;
  readonly txFrames: number;
  /** Whether PACKET_QDISC_BYPASS took effect. */
  readonly qdiscBypass: boolean;
  /** Whether the kernel filters our own outgoing frames (else afpRecv skips them itself). */
  readonly ignoreOutgoing: boolean;
  /** Whether PACKET_VNET_HDR took effect. */
  readonly vnetHdr: boolean;
  /** Whether sends go through a socket of their own. */
  readonly separateTx: boolean;
}

export interface AfPacketStats {
  /** Frames the kernel accepted into the ring (PACKET_STATISTICS tp_packets). */
  packets: number;
  /** Frames dropped because the ring was full (tp_drops). */
  drops: number;
  freezes: number;
  rxTruncated: number;
  rxOutgoingSkipped: number;
  txErrors: number;
  txRingFull: number;
}

declare const pollerBrand: unique symbol;
export interface NativePoller {
  readonly [pollerBrand]: true;
}

let loaded: NativeAddon | null | undefined;
let loadError = '';

export function nativeAddon(): NativeAddon | null {
  if (loaded !== undefined) return loaded;
  const path = join(pkgroot(), 'build', 'Release', 'typeswitch_native.node');
  try {
    loaded = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    loaded = null;
    loadError = `${path}: ${(err as Error).message}`;
  }
  return loaded;
}

export function nativeAddonError(): string {
  return loadError;
}

/** The addon, or an Error with code ERR_NATIVE_ADDON_MISSING saying why it did not load. */
export function requireNativeAddon(): NativeAddon {
  const addon = nativeAddon();
  if (addon) return addon;
  const err = new Error(`native addon not available (run npm install): ${loadError}`) as Error & {
    code: string;
  };
  err.code = 'ERR_NATIVE_ADDON_MISSING';
  throw err;
}
