import { type NativePoller, requireNativeAddon } from './index.ts';

/**
 * Calls `onReadable` on the event loop of the calling thread (main or worker) whenever `fd`
 * is readable, through a libuv poll handle made by the addon. The callback gets a negative
 * libuv status when polling failed (the fd was closed under it, for instance).
 */
export class FdPoller {
  #poller: NativePoller | null;

  constructor(fd: number, onReadable: (status: number) => void) {
    this.#poller = requireNativeAddon().pollStart(fd, 1, (status) => onReadable(status));
  }

  /** Whether the poll keeps the process alive (it does by default, like a socket). */
  ref(keepAlive: boolean): void {
    if (this.#poller) requireNativeAddon().pollUnref(this.#poller, !keepAlive);
  }

  /** Idempotent. Must run before the fd is closed. */
  stop(): void {
    if (!this.#poller) return;
    requireNativeAddon().pollStop(this.#poller);
    this.#poller = null;
  }

  get active(): boolean {
    return this.#poller !== null;
  }
}

/** Blocks the calling thread until `fd` is readable or `timeoutMs` passes; for workers only. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  return requireNativeAddon().waitReadable(fd, timeoutMs);
}
