/**
 * The PMD-thread side of a Linux port (OVS's rxq and txq as a PMD thread polls them): given
 * the PmdPortSpec the main thread's LinuxNetdev handed off, it receives bursts on this
 * thread's event loop and transmits batches. A `system` port opens an AF_PACKET socket and
 * ring of its own (in the device's namespace); a `tap` port shares the main thread's TAP fd,
 * which stays owned (and closed) there. Nothing here allocates per frame.
 */
import { AfPacketSocket } from '../../native/af-packet.ts';
import { XskSocket } from '../../native/af-xdp.ts';
import { FdPoller } from '../../native/fd-poll.ts';
import { requireNativeAddon } from '../../native/index.ts';
import { inNetns } from '../../native/netdev-ioctl.ts';
import type { NetdevRxSink, TxBatch } from '../netdev.ts';
import { OffloadFinisher } from '../offload.ts';
import {
  BURST,
  drainRxRing,
  log,
  MAX_BURSTS_PER_WAKEUP,
  type PmdPortSpec,
  type RxRing,
  sendRuns,
} from './netdev-linux.ts';

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
    if (spec.kind === 'tap') return new PmdTapPort(spec, sink);
    if (spec.kind === 'afxdp') return new PmdXskPort(spec, sink);
    return new PmdAfPacketPort(spec, sink);
  }

  abstract send(batch: TxBatch): void;
  abstract counters(): PmdPortCounters;
  /** Stops receiving and lets go of what this thread opened. Idempotent. */
  abstract close(): void;

  protected reportError(what: string, err: unknown): void {
    log.warnRl(`${this.name}: ${what}: ${(err as Error)?.message ?? err}`);
  }

  /**
   * One wake-up of a memory-mapped receive ring (AF_PACKET or AF_XDP): bursts of frames read
   * in place from `frames` into the sink, each burst handed back to the kernel once the sink
   * has flushed it.
   */
  protected drainRing(
    status: number,
    sock: PolledRing,
    frames: Uint8Array,
    pollError: string,
  ): void {
    if (this.closed) return;
    if (status < 0) {
      this.reportError(pollError, status);
      sock.stopPolling();
      return;
    }
    const err = drainRxRing(sock, frames, this.rxDesc, this.sink);
    if (err !== undefined) this.reportError('receive failed', err);
  }
}

/** What drainRing needs of a ring socket. */
interface PolledRing extends RxRing {
  stopPolling(): void;
}

/**
 * TYPESWITCH_XSK_TX=1: `system` ports send ordinary frames through a transmit-only AF_XDP
 * socket (copy mode, no XDP program: receive stays on the AF_PACKET ring), about a third less
 * CPU per 64-byte frame on veth (bench/README.md). Off by default: such frames bypass the qdisc
 * and the packet taps, so tcpdump on the port no longer sees what the switch sends.
 */
const XSK_TX = process.env.TYPESWITCH_XSK_TX === '1';

/** A window onto part of a batch, reused: runs of a mixed batch go to different sockets. */
class PartBatch implements TxBatch {
  frames: Uint8Array[] = [];
  off = new Int32Array(BURST);
  len = new Int32Array(BURST);
  ol = new Uint32Array(2 * BURST);
  count = 0;

  fill(b: TxBatch, from: number, to: number): this {
    const n = to - from;
    if (n > this.off.length) {
      this.off = new Int32Array(n);
      this.len = new Int32Array(n);
      this.ol = new Uint32Array(2 * n);
    }
    const bol = b.ol;
    for (let k = 0; k < n; k++) {
      this.frames[k] = b.frames[from + k];
      this.off[k] = b.off[from + k];
      this.len[k] = b.len[from + k];
      this.ol[2 * k] = bol !== undefined ? bol[2 * (from + k)] : 0;
      this.ol[2 * k + 1] = bol !== undefined ? bol[2 * (from + k) + 1] : 0;
    }
    this.count = n;
    return this;
  }
}

const VNET_BLOCK_SIZE = 128 * 1024;
const VNET_BLOCK_COUNT = 32;

/**
 * A `system` port. With userspace TSO (spec.tso) and a sink that takes offloads, the socket has
 * PACKET_VNET_HDR: GSO super-frames come in and go out whole, with their offload words.
 */
class PmdAfPacketPort extends PmdPort {
  private readonly sock: AfPacketSocket;
  private readonly vnet: boolean;
  private readonly rxOl = new Uint32Array(2 * BURST);
  private readonly txOl = new Uint32Array(2 * BURST);
  private readonly xmit = (buf: Uint8Array, n: number): number =>
    this.sock.send(buf, this.txDesc, n);
  private readonly xmitOl = (buf: Uint8Array, n: number): number =>
    this.sock.send(buf, this.txDesc, n, this.txOl);

  constructor(spec: PmdPortSpec, sink: NetdevRxSink) {
    super(spec.name, sink);
    const vnetHdr = spec.tso && sink.receiveOffload !== undefined;
    // A TPACKET_V3 block reaches us when it is full or after 1 ms: with 64 kB frames, blocks
    // of 128 kB (the least that holds one) hand them over sooner than 256 kB ones (TCP through
    // the switch: 9.0 against 7.6 Gbit/s, alternating runs).
    const open = (): AfPacketSocket =>
      AfPacketSocket.open(spec.name, {
        promiscuous: false,
        ignoreOutgoing: true,
        // Sent frames freed in the receiver's softirq then wake no poller of ours (af-packet.c).
        separateTx: true,
        vnetHdr,
        ...(vnetHdr ? { blockSize: VNET_BLOCK_SIZE, blockCount: VNET_BLOCK_COUNT } : {}),
      });
    this.sock = spec.netns ? inNetns(spec.netns, open) : open();
    this.vnet = this.sock.vnetHdr;
    if (XSK_TX) {
      const openXsk = (): XskSocket => XskSocket.open(spec.name, { txOnly: true, frames: 2048 });
      try {
        this.xsk = spec.netns ? inNetns(spec.netns, openXsk) : openXsk();
      } catch (err) {
        this.reportError('transmit-only AF_XDP socket unavailable, using AF_PACKET', err);
      }
    }
    this.sock.onReadable((status) => (this.vnet ? this.pollOl(status) : this.poll(status)));
  }

  private xsk: XskSocket | null = null;
  private readonly xskXmit = (buf: Uint8Array, n: number): number =>
    (this.xsk as XskSocket).send(buf, this.txDesc, n);
  private readonly part = new PartBatch();

  /** Whether frame i can go through the AF_XDP socket: no offloads, fits a UMEM frame. */
  private plain(b: TxBatch, i: number): boolean {
    return (
      (b.ol === undefined || b.ol[2 * i] === 0) && b.len[i] <= (this.xsk as XskSocket).frameSize
    );
  }

  /** Ordinary frames through the AF_XDP socket, the rest through AF_PACKET, in order. */
  private sendSplit(batch: TxBatch, other: (b: TxBatch) => void): void {
    let allPlain = true;
    for (let i = 0; i < batch.count && allPlain; i++) allPlain = this.plain(batch, i);
    if (allPlain) {
      this.txDropped += sendRuns(this.name, batch, this.txDesc, this.xskXmit);
      return;
    }
    let i = 0;
    while (i < batch.count) {
      const p = this.plain(batch, i);
      let j = i + 1;
      while (j < batch.count && this.plain(batch, j) === p) j++;
      const part = this.part.fill(batch, i, j);
      if (p) this.txDropped += sendRuns(this.name, part, this.txDesc, this.xskXmit);
      else other(part);
      i = j;
    }
  }

  private readonly sendOl = (b: TxBatch): void => {
    this.txDropped += sendRuns(this.name, b, this.txDesc, this.xmitOl, this.txOl);
  };
  private readonly sendPlainAfp = (b: TxBatch): void => {
    this.txDropped += sendRuns(this.name, b, this.txDesc, this.xmit);
  };

  /** poll() for a vnet socket: frames with offload words go to receiveOffload. */
  private pollOl(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.reportError('receive polling failed', status);
      this.sock.stopPolling();
      return;
    }
    const sock = this.sock;
    const ring = sock.ring;
    const desc = this.rxDesc;
    const ol = this.rxOl;
    const sink = this.sink;
    try {
      for (let b = 0; b < MAX_BURSTS_PER_WAKEUP; b++) {
        const n = sock.recv(desc, BURST, ol);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const ol0 = ol[2 * i];
          if (ol0 === 0) sink.receive(ring, desc[2 * i], desc[2 * i + 1]);
          else sink.receiveOffload?.(ring, desc[2 * i], desc[2 * i + 1], ol0, ol[2 * i + 1]);
        }
        sink.flush();
        sock.release();
        if (n < BURST) break;
      }
    } catch (err) {
      this.reportError('receive failed', err);
      if (!sock.closed) sock.release();
    }
  }

  private poll(status: number): void {
    this.drainRing(status, this.sock, this.sock.ring, 'receive polling failed');
  }

  private readonly finisher = new OffloadFinisher((b) => {
    if (this.xsk !== null) this.sendSplit(b, this.sendPlainAfp);
    else this.txDropped += sendRuns(this.name, b, this.txDesc, this.xmit);
  });

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    if (this.vnet) {
      if (this.xsk !== null) this.sendSplit(batch, this.sendOl);
      else this.txDropped += sendRuns(this.name, batch, this.txDesc, this.xmitOl, this.txOl);
    } else this.finisher.sendBatch(batch);
  }

  counters(): PmdPortCounters {
    return {
      txDropped: this.txDropped + this.finisher.dropped,
      rxDropped: this.sock.closed ? 0 : this.sock.stats().drops,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.xsk?.close();
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

  /** A TAP device without IFF_VNET_HDR: offloaded frames are segmented and checksummed here. */
  private readonly finisher = new OffloadFinisher((b) => {
    this.txDropped += sendRuns(this.name, b, this.txDesc, this.xmit);
  });

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    this.finisher.sendBatch(batch);
  }

  counters(): PmdPortCounters {
    return { txDropped: this.txDropped + this.finisher.dropped, rxDropped: 0 };
  }

  /** The fd is the main thread's: only the poll handle is ours. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller?.stop();
    this.poller = null;
  }
}

/**
 * An `afxdp` port: AF_XDP sockets of this thread's own, in the mode the main thread found
 * (it closed its sockets first: a queue takes one socket). Frames are read from the UMEM in
 * place; offloaded super-frames from other ports are segmented before they go out.
 */
class PmdXskPort extends PmdPort {
  private readonly sock: XskSocket;
  private readonly xmit = (buf: Uint8Array, n: number): number =>
    this.sock.send(buf, this.txDesc, n);
  private readonly finisher = new OffloadFinisher((b) => {
    this.txDropped += sendRuns(this.name, b, this.txDesc, this.xmit);
  });

  constructor(spec: PmdPortSpec, sink: NetdevRxSink) {
    super(spec.name, sink);
    const open = (): XskSocket => XskSocket.open(spec.name, spec.xdp ?? {});
    this.sock = spec.netns ? inNetns(spec.netns, open) : open();
    this.sock.onReadable((status) => this.poll(status));
  }

  private poll(status: number): void {
    this.drainRing(status, this.sock, this.sock.umem, 'error polling rx fd');
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    this.finisher.sendBatch(batch);
  }

  counters(): PmdPortCounters {
    if (this.sock.closed)
      return { txDropped: this.txDropped + this.finisher.dropped, rxDropped: 0 };
    const s = this.sock.stats();
    return {
      txDropped: this.txDropped + this.finisher.dropped,
      rxDropped: s.rxDropped + s.rxRingFull,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
