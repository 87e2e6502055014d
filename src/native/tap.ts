import { FdPoller, waitReadable } from './fd-poll.ts';
import { type NativeAddon, requireNativeAddon } from './index.ts';
import { setAdminUp } from './netdev-ioctl.ts';

export interface TapOpenOptions {
  /** Create the device when no interface of that name exists (default true). A device created
   * here is not persistent: it disappears when the TapDevice is closed. */
  create?: boolean;
  /** Bring the device administratively up (default true). */
  up?: boolean;
}

/**
 * A TAP device (IFF_TAP | IFF_NO_PI): what the kernel sends to the interface we read, what we
 * write the kernel receives. Internal ports (a bridge's local port) are TAP devices; `tap`
 * ports attach to one a VM manager made. Reads and writes go in batches of whole frames.
 */
export class TapDevice {
  readonly name: string;
  readonly fd: number;
  #addon: NativeAddon;
  #poller: FdPoller | null = null;
  #closed = false;

  private constructor(addon: NativeAddon, fd: number, name: string) {
    this.#addon = addon;
    this.fd = fd;
    this.name = name;
  }

  static open(name: string, options: TapOpenOptions = {}): TapDevice {
    const addon = requireNativeAddon();
    const { fd, name: actual } = addon.tapOpen(name, { create: options.create ?? true });
    const tap = new TapDevice(addon, fd, actual);
    if (options.up ?? true) {
      try {
        setAdminUp(actual, true);
      } catch (err) {
        tap.close();
        throw err;
      }
    }
    return tap;
  }

  /**
   * Reads up to `max` frames without blocking: frame i lands at buf[i * slotSize], and
   * out[2i], out[2i+1] get its offset and length. `slotSize` must hold the largest frame
   * (MTU + 18); a longer frame is cut short by the kernel.
   */
  readBatch(buf: Uint8Array, slotSize: number, out: Uint32Array, max: number): number {
    this.#check();
    return this.#addon.fdReadBatch(this.fd, buf, slotSize, out, max);
  }

  /** Writes n frames described by (offset, length) pairs in desc; returns how many went. */
  writeBatch(buf: Uint8Array | ArrayBuffer, desc: Uint32Array, n: number): number {
    this.#check();
    return this.#addon.fdWriteBatch(this.fd, buf, desc, n);
  }

  onReadable(fn: (status: number) => void): void {
    this.#check();
    this.#poller?.stop();
    this.#poller = new FdPoller(this.fd, fn);
  }

  stopPolling(): void {
    this.#poller?.stop();
    this.#poller = null;
  }

  waitReadable(timeoutMs: number): boolean {
    this.#check();
    return waitReadable(this.fd, timeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stopPolling();
    this.#addon.fdClose(this.fd);
  }

  #check(): void {
    if (this.#closed) {
      const err = new Error(`${this.name}: TAP device is closed (Bad file descriptor)`) as Error & {
        code: string;
        errno: number;
      };
      err.code = 'EBADF';
      err.errno = -9;
      throw err;
    }
  }
}
