import { FdPoller } from './fd-poll.ts';
import { type NativeAddon, type RtnlMessage, requireNativeAddon } from './index.ts';

export type { RtnlMessage };
export type LinkMessage = Extract<RtnlMessage, { type: 'new' | 'del' }>;

export interface LinkMonitorOptions {
  /** Report every existing link first, ending with a 'done' message (default true). */
  dump?: boolean;
}

/**
 * Follows the kernel's link table (rtnetlink RTMGRP_LINK) of the network namespace current
 * when it is opened: admin state, carrier, MTU and MAC changes arrive on the event loop as they
 * happen. When the kernel drops notifications (the socket overran) the monitor asks for every
 * link again, so the caller's view converges; it sees an 'overrun' message before the re-dump.
 */
export class LinkMonitor {
  readonly fd: number;
  #addon: NativeAddon;
  #poller: FdPoller | null = null;
  #closed = false;

  private constructor(addon: NativeAddon, fd: number) {
    this.#addon = addon;
    this.fd = fd;
  }

  static open(onMessage: (m: RtnlMessage) => void, options: LinkMonitorOptions = {}): LinkMonitor {
    const addon = requireNativeAddon();
    const mon = new LinkMonitor(addon, addon.rtnlOpen());
    mon.#poller = new FdPoller(mon.fd, () => {
      if (mon.#closed) return;
      for (const m of mon.read()) onMessage(m);
    });
    if (options.dump ?? true) addon.rtnlRequestLinks(mon.fd);
    return mon;
  }

  /** Messages waiting now (the poller calls this; a worker may call it itself). */
  read(): RtnlMessage[] {
    const msgs = this.#addon.rtnlRead(this.fd);
    if (msgs.some((m) => m.type === 'overrun')) this.#addon.rtnlRequestLinks(this.fd);
    return msgs;
  }

  /** Keep the process alive for this monitor or not (default: it does, like a socket). */
  ref(keepAlive: boolean): void {
    this.#poller?.ref(keepAlive);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller?.stop();
    this.#poller = null;
    this.#addon.fdClose(this.fd);
  }
}
