/**
 * The PMD-thread side of a Linux port (OVS's rxq and txq as a PMD thread polls them): given
 * the PmdPortSpec the main thread's LinuxNetdev handed off, it receives bursts on this
 * thread's event loop and transmits batches. A `system` port opens an AF_PACKET socket and
 * ring of its own (in the device's namespace); a `tap` port shares the main thread's TAP fd,
 * which stays owned (and closed) there. Nothing here allocates per frame.
 */
import { AfPacketSocket } from '../../native/af-packet.ts';
import { FdPoller } from '../../native/fd-poll.ts';
import { requireNativeAddon } from '../../native/index.ts';
import { inNetns } from '../../native/netdev-ioctl.ts';
import type { NetdevRxSink, TxBatch } from '../netdev.ts';
import { BURST, log, MAX_BURSTS_PER_WAKEUP, type PmdPortSpec, sendRuns } from './netdev-linux.ts';

export type { PmdPortSpec };

/** Slot size for reading a TAP device: the largest frame the MTU allows, tag included. */
function tapSlotSize(mtu: number): number {
  return Math.max(2048, (mtu + 14 + 8 + 63) & ~63);
}

export interface PmdPortCounters {
  /** Frames the kernel kept refusing on transmit (cumulative). */
  txDropped: number;
  /** Frames lost because the receive ring was full (cumulative; AF_PACKET only). */
  rxDropped: number;
}

export abstract class PmdPort {
  protected readonly txDesc = new Uint32Array(2 * BURST);
  protected readonly rxDesc = new Uint32Array(2 * BURST);
  protected txDropped = 0;
  protected closed = false;

  protected constructor(
    readonly name: string,
    protected sink: NetdevRxSink,
  ) {}

  /** Throws (the native layer's errors) when the device cannot be opened here. */
  static open(spec: PmdPortSpec, sink: NetdevRxSink): PmdPort {
    return spec.kind === 'tap' ? new PmdTapPort(spec, sink) : new PmdAfPacketPort(spec, sink);
  }

  abstract send(batch: TxBatch): void;
  abstract counters(): PmdPortCounters;
  /** Stops receiving and lets go of what this thread opened. Idempotent. */
  abstract close(): void;

  protected reportError(what: string, err: unknown): void {
    log.warnRl(`${this.name}: ${what}: ${(err as Error)?.message ?? err}`);
  }
}

class PmdAfPacketPort extends PmdPort {
  private readonly sock: AfPacketSocket;
  private readonly xmit = (buf: Uint8Array, n: number): number =>
    this.sock.send(buf, this.txDesc, n);

  constructor(spec: PmdPortSpec, sink: NetdevRxSink) {
    super(spec.name, sink);
    const open = (): AfPacketSocket =>
      AfPacketSocket.open(spec.name, { promiscuous: false, ignoreOutgoing: true });
    this.sock = spec.netns ? inNetns(spec.netns, open) : open();
    this.sock.onReadable((status) => this.poll(status));
  }

  private poll(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.reportError('receive polling failed', status);
      this.sock.stopPolling();
      return;
    }
    const sock = this.sock;
    const ring = sock.ring;
    const desc = this.rxDesc;
    const sink = this.sink;
    try {
      for (let b = 0; b < MAX_BURSTS_PER_WAKEUP; b++) {
        const n = sock.recv(desc, BURST);
        if (n === 0) break;
        for (let i = 0; i < n; i++) sink.receive(ring, desc[2 * i], desc[2 * i + 1]);
        sink.flush();
        sock.release();
        if (n < BURST) break;
      }
    } catch (err) {
      this.reportError('receive failed', err);
      if (!sock.closed) sock.release();
    }
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    this.txDropped += sendRuns(this.name, batch, this.txDesc, this.xmit);
  }

  counters(): PmdPortCounters {
    return {
      txDropped: this.txDropped,
      rxDropped: this.sock.closed ? 0 : this.sock.stats().drops,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}

class PmdTapPort extends PmdPort {
  private readonly fd: number;
  private slot: number;
  private rxBuf: Uint8Array;
  private poller: FdPoller | null;
  private readonly addon = requireNativeAddon();
  private readonly xmit = (buf: Uint8Array, n: number): number =>
    this.addon.fdWriteBatch(this.fd, buf, this.txDesc, n);

  constructor(spec: PmdPortSpec, sink: NetdevRxSink) {
    super(spec.name, sink);
    this.fd = spec.fd;
    this.slot = tapSlotSize(spec.mtu);
    this.rxBuf = new Uint8Array(BURST * this.slot);
    this.poller = new FdPoller(this.fd, (status) => this.poll(status));
  }

  private poll(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.reportError('receive polling failed', status);
      this.poller?.stop();
      this.poller = null;
      return;
    }
    const desc = this.rxDesc;
    const sink = this.sink;
    try {
      for (let b = 0; b < MAX_BURSTS_PER_WAKEUP; b++) {
        const buf = this.rxBuf;
        const n = this.addon.fdReadBatch(this.fd, buf, this.slot, desc, BURST);
        if (n === 0) break;
        for (let i = 0; i < n; i++) sink.receive(buf, desc[2 * i], desc[2 * i + 1]);
        sink.flush();
        if (n < BURST) break;
      }
    } catch (err) {
      this.reportError('receive failed', err);
    }
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    this.txDropped += sendRuns(this.name, batch, this.txDesc, this.xmit);
  }

  counters(): PmdPortCounters {
    return { txDropped: this.txDropped, rxDropped: 0 };
  }

  /** The fd is the main thread's: only the poll handle is ours. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller?.stop();
    this.poller = null;
  }
}
