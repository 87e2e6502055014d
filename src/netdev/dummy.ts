/**
 * In-memory network devices (OVS's lib/netdev-dummy.c): the test bench of the whole switch.
 * A dummy device starts up, with carrier, MTU 1500 and the address aa:55:aa:55:NN:NN, where
 * NN:NN counts the dummy devices this process has created (OVS's expected test outputs depend
 * on that sequence: the dummy datapath's own port takes :00:00, the first bridge :00:01...).
 */
import {
  type EthAddr,
  formatEthAddr,
  type Netdev,
  type NetdevRxSink,
  type NetdevStats,
  randomEthAddr,
  type TxBatch,
} from './netdev.ts';

/** Shared by every dummy device of the process, as OVS's static counter is. */
let nextDummyNumber = 0xaa550000;

/** Every open dummy device, oldest first (netdev-dummy/set-admin-state without a name). */
const liveDummies = new Set<DummyNetdev>();

export function dummyNetdevs(): IterableIterator<DummyNetdev> {
  return liveDummies.values();
}

export function findDummyNetdev(name: string): DummyNetdev | undefined {
  for (const d of liveDummies) if (d.name === name) return d;
  return undefined;
}

/** For tests that need OVS's address sequence from its start. */
export function resetDummyNumbering(): void {
  nextDummyNumber = 0xaa550000;
}

function nextDummyAddr(): EthAddr {
  const n = nextDummyNumber;
  nextDummyNumber = (nextDummyNumber + 1) >>> 0;
  return formatEthAddr([
    0xaa,
    0x55,
    (n >>> 24) & 0xff,
    (n >>> 16) & 0xff,
    (n >>> 8) & 0xff,
    n & 0xff,
  ]);
}

/** What every in-memory device shares: flags, carrier, address, MTU and counters. */
export abstract class MemoryNetdev implements Netdev {
  protected mac: EthAddr;
  protected mtu: number | null;
  protected up = true;
  protected carrier = true;
  protected carrierResets = 0;
  protected seq = 1;
  readonly stats: NetdevStats = { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 };

  constructor(
    readonly name: string,
    readonly type: string,
    mac: EthAddr,
    mtu: number | null,
  ) {
    this.mac = mac;
    this.mtu = mtu;
  }

  get changeSeq(): number {
    return this.seq;
  }
  protected changed(): void {
    this.seq++;
  }
  setConfig(_options: ReadonlyMap<string, string>): string | null {
    return null;
  }
  getConfig(): ReadonlyMap<string, string> {
    return new Map();
  }
  getEtheraddr(): EthAddr {
    return this.mac;
  }
  setEtheraddr(mac: EthAddr): void {
    if (mac !== this.mac) {
      this.mac = mac;
      this.changed();
    }
  }
  getMtu(): number | null {
    return this.mtu;
  }
  setMtu(mtu: number): void {
    if (this.mtu !== null && mtu !== this.mtu) {
      this.mtu = mtu;
      this.changed();
    }
  }
  isUp(): boolean {
    return this.up;
  }
  setUp(up: boolean): void {
    if (up !== this.up) {
      this.up = up;
      this.changed();
    }
  }
  /** As OVS's netdev_get_carrier: no link while administratively down. */
  getCarrier(): boolean {
    return this.up && this.carrier;
  }
  /** Link state, as `netdev-dummy/set-admin-state` and tests drive it. */
  setCarrier(carrier: boolean): void {
    if (carrier !== this.carrier) {
      if (!carrier) this.carrierResets++;
      this.carrier = carrier;
      this.changed();
    }
  }
  getCarrierResets(): number {
    return this.carrierResets;
  }
  getSpeedBps(): number {
    return 0;
  }
  getIfindex(): number {
    return 0;
  }
  getStats(): NetdevStats {
    return { ...this.stats };
  }
  getStatisticsColumn(): Map<string, number> {
    const s = this.stats;
    return new Map([
      ['rx_packets', s.rxPackets],
      ['tx_packets', s.txPackets],
      ['rx_bytes', s.rxBytes],
      ['tx_bytes', s.txBytes],
    ]);
  }
  getStatus(): Map<string, string> {
    return new Map();
  }
  protected rxSink: NetdevRxSink | null = null;
  setRxSink(sink: NetdevRxSink | null): void {
    this.rxSink = sink;
  }
  /** Counts the frames as sent; devices that keep or forward them override transmit(). */
  send(batch: TxBatch): void {
    if (!this.up) return;
    for (let i = 0; i < batch.count; i++) {
      this.stats.txPackets++;
      this.stats.txBytes += batch.len[i];
      this.transmit(batch.frames[i], batch.off[i], batch.len[i]);
    }
  }
  protected transmit(_frame: Uint8Array, _off: number, _len: number): void {}
  close(): void {
    this.rxSink = null;
  }
}

/**
 * A `dummy` device (also `dummy-internal`, `dummy-pmd`, and any type OVS's
 * `--enable-dummy=override` replaces: it keeps the type name it was opened with).
 */
export class DummyNetdev extends MemoryNetdev {
  /** OVS's two custom counters and per-queue counters of queue 0. */
  readonly custom = { rxCustomPackets1: 0, rxCustomPackets2: 0 };
  readonly rxq0 = { bytes: 0, packets: 0 };
  readonly txq0 = { bytes: 0, packets: 0 };

  constructor(name: string, type = 'dummy') {
    super(name, type, nextDummyAddr(), 1500);
    liveDummies.add(this);
  }

  override close(): void {
    liveDummies.delete(this);
  }

  override getStatisticsColumn(): Map<string, number> {
    const m = super.getStatisticsColumn();
    m.set('rx_custom_packets_1', this.custom.rxCustomPackets1);
    m.set('rx_custom_packets_2', this.custom.rxCustomPackets2);
    m.set('rx_q0_bytes', this.rxq0.bytes);
    m.set('rx_q0_packets', this.rxq0.packets);
    m.set('tx_q0_bytes', this.txq0.bytes);
    m.set('tx_q0_packets', this.txq0.packets);
    return m;
  }
}

/**
 * An `internal` port of a `netdev` datapath. OVS makes it a TAP device; until native packet
 * I/O exists it lives in memory, reported under OVS's type name (`tap`), with a random
 * address as a new TAP device gets.
 */
export class InternalNetdev extends MemoryNetdev {
  constructor(name: string) {
    super(name, 'tap', randomEthAddr(), 1500);
  }
}
