import { FdPoller, waitReadable } from './fd-poll.ts';
import {
  type AfPacketHandle,
  type AfPacketOpenOptions,
  type AfPacketStats,
  type NativeAddon,
  requireNativeAddon,
} from './index.ts';

export type { AfPacketOpenOptions, AfPacketStats };

/**
 * An AF_PACKET socket bound to one Linux interface, with a TPACKET_V3 receive ring read in
 * place and a transmit ring fed in batches.
 *
 * Receive: `recv(out, max)` writes (offset, length) pairs into `out`; each frame is
 * `ring.subarray(offset, offset + length)`, 802.1Q tag included even when the kernel stripped
 * it. Frames stay valid until `release()`, which hands their blocks back to the kernel: call it
 * once the batch has been forwarded or copied. Nothing is allocated per frame.
 *
 * Transmit: `send(buf, desc, n)` sends the frames described by (offset, length) pairs in
 * `desc` out of `buf` (which may be this or another socket's `ring`) with one system call, and
 * returns how many it consumed: sent, or skipped as malformed (too long; counted in txErrors).
 * Fewer than n when the kernel pushes back (ENOBUFS, ring full): retry or count them as drops.
 * A link that is down throws ENETDOWN.
 *
 * Offloads (option `vnetHdr`, PACKET_VNET_HDR): the kernel's GSO/GRO super-frames (up to
 * 64 kB) and frames whose TCP/UDP checksum is still to be filled in arrive whole, each with two
 * offload words that `recv(out, max, ol)` writes to ol[2i], ol[2i + 1] (see offload.ts in
 * src/netdev for their layout; 0, 0 for an ordinary frame); `send(buf, desc, n, ol)` hands them
 * back to the kernel, which segments and checksums as the frames leave. Without `ol` every frame
 * is sent as an ordinary one.
 */
export class AfPacketSocket {
  readonly name: string;
  readonly fd: number;
  readonly ifindex: number;
  /** The RX ring; recv() offsets index it. Empty after close(). */
  readonly ring: Uint8Array;
  readonly qdiscBypass: boolean;
  readonly frameSize: number;
  /** Whether PACKET_VNET_HDR is on: recv() reports offloads, send() takes them. */
  readonly vnetHdr: boolean;
  /** Whether frames go out through a second socket that nobody polls (option separateTx). */
  readonly separateTx: boolean;
  #addon: NativeAddon;
  #handle: AfPacketHandle;
  #poller: FdPoller | null = null;
  #closed = false;

  private constructor(name: string, addon: NativeAddon, handle: AfPacketHandle) {
    this.name = name;
    this.#addon = addon;
    this.#handle = handle;
    this.fd = handle.fd;
    this.ifindex = handle.ifindex;
    this.ring = new Uint8Array(handle.ring);
    this.qdiscBypass = handle.qdiscBypass;
    this.frameSize = handle.frameSize;
    this.vnetHdr = handle.vnetHdr === true;
    this.separateTx = handle.separateTx === true;
  }

  /** Throws an Error with code ENODEV ("IF: could not open network device (No such device)"),
   * EPERM, ... when the socket cannot be set up. */
  static open(name: string, options: AfPacketOpenOptions = {}): AfPacketSocket {
    const addon = requireNativeAddon();
    return new AfPacketSocket(name, addon, addon.afpOpen(name, options));
  }

  recv(out: Uint32Array, max: number, ol?: Uint32Array): number {
    return this.#addon.afpRecv(this.#handle, out, max, ol);
  }

  release(): void {
    this.#addon.afpRelease(this.#handle);
  }

  send(buf: Uint8Array | ArrayBuffer, desc: Uint32Array, n: number, ol?: Uint32Array): number {
    return this.#addon.afpSend(this.#handle, buf, desc, n, ol);
  }

  /** Cumulative counters; `drops` are frames lost because the ring was full. */
  stats(): AfPacketStats {
    return this.#addon.afpStats(this.#handle);
  }

  /** Calls `fn` on this thread's event loop when frames may be waiting (a block retired). */
  onReadable(fn: (status: number) => void): void {
    this.#poller?.stop();
    this.#poller = new FdPoller(this.fd, fn);
  }

  stopPolling(): void {
    this.#poller?.stop();
    this.#poller = null;
  }

  /** Blocks until readable or timeout: for a datapath worker thread, never the main thread. */
  waitReadable(timeoutMs: number): boolean {
    return waitReadable(this.fd, timeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Idempotent. Views of `ring` read as empty afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stopPolling();
    this.#addon.afpClose(this.#handle);
  }
}
