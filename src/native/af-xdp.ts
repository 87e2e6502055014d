import { FdPoller } from './fd-poll.ts';
import {
  type NativeAddon,
  requireNativeAddon,
  type XdpMode,
  type XskHandle,
  type XskOpenOptions,
  type XskStats,
} from './index.ts';

export type { XdpMode, XskOpenOptions, XskStats };

/**
 * AF_XDP sockets bound to one Linux interface, one per receive queue, with the XDP program
 * that steers the interface's frames to them attached for as long as this object is open
 * (src/native/af-xdp.c).
 *
 * Receive: `recv(out, max)` writes (offset, length) pairs into `out`; each frame is
 * `umem.subarray(offset, offset + length)`. Frames stay valid until `release()`, which gives
 * them back to the kernel's fill ring. Nothing is allocated per frame.
 *
 * Transmit: `send(buf, desc, n)` copies the frames described by (offset, length) pairs in
 * `desc` out of `buf` into transmit frames of the UMEM and wakes the kernel once; it returns how
 * many it consumed (queued, or skipped as too long). Fewer than n when every transmit frame is
 * still in flight: retry or count them as drops. A link that is down throws ENETDOWN.
 */
export class XskSocket {
  readonly name: string;
  readonly ifindex: number;
  /** Every queue's UMEM; recv() offsets index it. Empty after close(). */
  readonly umem: Uint8Array;
  readonly fds: readonly number[];
  readonly frameSize: number;
  /** The XDP mode in use (what best-effort settled on). */
  readonly mode: Exclude<XdpMode, 'best-effort'>;
  readonly needWakeup: boolean;
  #addon: NativeAddon;
  #handle: XskHandle;
  #pollers: FdPoller[] = [];
  #closed = false;

  private constructor(name: string, addon: NativeAddon, handle: XskHandle) {
    this.name = name;
    this.#addon = addon;
    this.#handle = handle;
    this.ifindex = handle.ifindex;
    this.umem = new Uint8Array(handle.umem);
    this.fds = handle.fds;
    this.frameSize = handle.frameSize;
    this.mode = handle.mode;
    this.needWakeup = handle.needWakeup;
  }

  /** Throws an Error shaped like Node's system errors: "IF: could not bind AF_XDP socket
   * (Operation not supported)", code EOPNOTSUPP, ... when no requested mode can be set up. */
  static open(name: string, options: XskOpenOptions = {}): XskSocket {
    const addon = requireNativeAddon();
    return new XskSocket(name, addon, addon.xskOpen(name, options));
  }

  recv(out: Uint32Array, max: number): number {
    return this.#addon.xskRecv(this.#handle, out, max);
  }

  release(): void {
    this.#addon.xskRelease(this.#handle);
  }

  send(buf: Uint8Array | ArrayBuffer, desc: Uint32Array, n: number): number {
    return this.#addon.xskSend(this.#handle, buf, desc, n);
  }

  stats(): XskStats {
    return this.#addon.xskStats(this.#handle);
  }

  /** Calls `fn` on this thread's event loop when any queue's receive ring has frames. */
  onReadable(fn: (status: number) => void): void {
    this.stopPolling();
    this.#pollers = this.fds.map((fd) => new FdPoller(fd, fn));
  }

  stopPolling(): void {
    for (const p of this.#pollers) p.stop();
    this.#pollers = [];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Idempotent: detaches the XDP program; views of `umem` read as empty afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stopPolling();
    this.#addon.xskClose(this.#handle);
  }
}
