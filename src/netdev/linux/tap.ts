/**
 * `tap` ports and the `internal` ports of a netdev datapath (OVS's netdev-linux "tap" class):
 * a TAP device, attached by name or made for the port (src/native/tap.ts).
 */
import { ifIndex } from '../../native/netdev-ioctl.ts';
import { TapDevice } from '../../native/tap.ts';
import type { EthAddr, TxBatch } from '../netdev.ts';
import type { DriverInfo, KernelStats } from './kernel-info.ts';
import {
  BURST,
  LinuxNetdev,
  log,
  MAX_BURSTS_PER_WAKEUP,
  toNetdevError,
  type Xmit,
} from './netdev-linux.ts';

/** Slot size for reading a TAP device: the largest frame the MTU allows, tag included. */
function tapSlotSize(mtu: number): number {
  return Math.max(2048, (mtu + 14 + 8 + 63) & ~63);
}

/**
 * A TAP device: `tap` ports and the `internal` ports of a netdev datapath (reported as `tap`,
 * as OVS does). What the kernel transmits on the device we receive, and the reverse.
 */
export class TapNetdev extends LinuxNetdev {
  private readonly tap: TapDevice;
  private readonly xmit: Xmit = (buf, n) => this.tap.writeBatch(buf, this.txDesc, n);
  private slot = 2048;
  private rxBuf = new Uint8Array(BURST * 2048);
  private readonly rxDesc = new Uint32Array(2 * BURST);
  private polling = false;
  /** Whether this device made the TAP device (it then goes away with the port). */
  readonly created: boolean;

  /**
   * Attaches to the TAP device `name`, creating it when it does not exist. A new device starts
   * administratively down, as OVS leaves its internal ports. Throws NetdevError.
   */
  constructor(name: string) {
    super(name, 'tap');
    let existed = false;
    try {
      existed = ifIndex(name) > 0;
    } catch {
      existed = false;
    }
    try {
      this.tap = TapDevice.open(name, { create: true, up: false });
    } catch (err) {
      // A device of that name that is not a TAP device makes TUNSETIFF say EINVAL.
      throw toNetdevError(err);
    }
    this.created = !existed;
    try {
      this.attachKernel();
    } catch (err) {
      this.tap.close();
      throw toNetdevError(err);
    }
    this.mtuChanged();
  }

  protected override mtuChanged(): void {
    const slot = tapSlotSize(this.mtu);
    if (slot !== this.slot) {
      this.slot = slot;
      this.rxBuf = new Uint8Array(BURST * slot);
    }
  }

  protected startRx(): void {
    if (this.polling) return;
    this.polling = true;
    this.tap.onReadable((status) => this.poll(status));
  }
  protected stopRx(): void {
    if (!this.polling) return;
    this.polling = false;
    this.tap.stopPolling();
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
    const desc = this.rxDesc;
    try {
      for (let b = 0; b < MAX_BURSTS_PER_WAKEUP; b++) {
        const buf = this.rxBuf;
        const n = this.tap.readBatch(buf, this.slot, desc, BURST);
        if (n === 0) break;
        const sink = this.rxSink;
        if (sink) {
          for (let i = 0; i < n; i++) sink.receive(buf, desc[2 * i], desc[2 * i + 1]);
          sink.flush();
        }
        if (n < BURST) break;
      }
    } catch (err) {
      log.errRl(`${this.name}: receive failed: ${(err as Error).stack ?? err}`);
    }
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    // A TAP device that is down refuses writes (EIO): count the frames as dropped, as OVS does.
    if (!this.isUp()) {
      this.txDropped += batch.count;
      return;
    }
    this.sendRuns(batch, this.xmit);
  }

  /** A TAP device's kernel counters are the host's view: what it sent, we received. */
  protected override kernelStats(): KernelStats | undefined {
    const k = super.kernelStats();
    if (!k) return undefined;
    return {
      ...k,
      rxBytes: k.txBytes,
      rxPackets: k.txPackets,
      rxErrors: k.txErrors,
      rxDropped: k.txDropped,
      txBytes: k.rxBytes,
      txPackets: k.rxPackets,
      txErrors: k.rxErrors,
      txDropped: k.rxDropped,
      rxFifoErrors: 0,
      rxFrameErrors: 0,
      rxMulticast: k.rxMulticast,
      collisions: k.collisions,
    };
  }

  /** The kernel's TUN driver identifies itself so (drivers/net/tun.c, DRV_VERSION). */
  protected override readDriver(): DriverInfo | undefined {
    return { driver: 'tun', version: '1.6', firmware: '' };
  }

  /** A TAP device changes its address only while down (OVS brings it down around the change). */
  override setEtheraddr(mac: EthAddr): void {
    if (mac === this.mac || !this.present) return;
    const wasUp = this.isUp();
    if (wasUp) this.setUp(false);
    super.setEtheraddr(mac);
    if (wasUp) this.setUp(true);
  }

  protected pmdKind(): 'tap' {
    return 'tap';
  }
  /** The worker reads and writes this fd; writes of whole frames from two threads are safe. */
  protected override pmdFd(): number {
    return this.tap.fd;
  }
  override get pmdDirectSend(): boolean {
    return true;
  }

  protected closeDevice(): void {
    this.tap.close();
  }
}
