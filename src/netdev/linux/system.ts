/**
 * `system` ports (OVS's netdev-linux "system" class): an existing Linux interface, read through
 * a TPACKET_V3 receive ring in place and written with batched sends (src/native/af-packet.ts).
 */
import { AfPacketSocket } from '../../native/af-packet.ts';
import type { TxBatch } from '../netdev.ts';
import { BURST, drainRxRing, LinuxNetdev, log, toNetdevError, type Xmit } from './netdev-linux.ts';

/** A `system` port: an existing Linux interface through AF_PACKET. */
export class SystemNetdev extends LinuxNetdev {
  private sock: AfPacketSocket;
  /** Made once: the transmit path allocates nothing per batch. */
  private readonly xmit: Xmit = (buf, n) => this.sock.send(buf, this.txDesc, n);
  private readonly rxDesc = new Uint32Array(2 * BURST);
  private polling = false;

  /** Throws NetdevError (ENODEV for a missing interface, as OVS says). */
  constructor(name: string) {
    super(name, 'system');
    try {
      this.sock = SystemNetdev.openSocket(name);
    } catch (err) {
      throw toNetdevError(err);
    }
    try {
      this.attachKernel();
    } catch (err) {
      this.sock.close();
      throw toNetdevError(err);
    }
  }

  protected override reattach(): void {
    if (this.pmdOwned) {
      // The PMD thread opens its own socket on the new device (told through pmdOnChange).
      return;
    }
    const sock = SystemNetdev.openSocket(this.name);
    this.stopRx();
    this.sock.close();
    this.sock = sock;
    if (this.rxSink) this.startRx();
  }

  /** Promiscuous mode is the device's IFF_PROMISC (set by attachKernel), as OVS sets it. */
  private static openSocket(name: string): AfPacketSocket {
    return AfPacketSocket.open(name, {
      promiscuous: false,
      ignoreOutgoing: true,
      separateTx: true,
    });
  }

  protected startRx(): void {
    if (this.polling) return;
    this.polling = true;
    this.sock.onReadable((status) => this.poll(status));
  }
  protected stopRx(): void {
    if (!this.polling) return;
    this.polling = false;
    this.sock.stopPolling();
  }

  private poll(status: number): void {
    if (status < 0 || this.closed) {
      // The device went away under the fd: stop, or the loop would be woken again and again.
      if (status < 0 && !this.closed) {
        log.warnRl(`${this.name}: receive polling failed (status ${status})`);
        this.stopRx();
      }
      return;
    }
    const sock = this.sock;
    const sink = this.rxSink;
    if (sink === null) return;
    const err = drainRxRing(sock, sock.ring, this.rxDesc, sink);
    if (err !== undefined)
      log.errRl(`${this.name}: receive failed: ${(err as Error).stack ?? err}`);
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    if (this.sock.closed) {
      // Handed to a PMD thread, which transmits: a frame sent here would have no socket.
      this.txDropped += batch.count;
      return;
    }
    this.sendRuns(batch, this.xmit);
  }

  protected pmdKind(): 'afpacket' {
    return 'afpacket';
  }
  /** The worker opens a socket of its own: two would each receive every frame. */
  protected override pmdRelinquish(): void {
    this.sock.close();
  }
  protected override pmdResume(): void {
    if (this.sock.closed) this.sock = this.inOwnNetns(() => SystemNetdev.openSocket(this.name));
  }

  /** AF_PACKET ring counters: frames lost to a full ring, frames too long for a slot. */
  ringStats(): { drops: number; rxTruncated: number } {
    const s = this.sock.stats();
    return { drops: s.drops, rxTruncated: s.rxTruncated };
  }

  override getStatisticsColumn(): Map<string, number> {
    const m = super.getStatisticsColumn();
    const drops = (this.sock.closed ? 0 : this.sock.stats().drops) + this.pmdRxDropped;
    if (drops) m.set('rx_dropped', (m.get('rx_dropped') ?? 0) + drops);
    return m;
  }

  protected closeDevice(): void {
    this.sock.close();
  }
}
