/**
 * In-memory network devices (OVS's lib/netdev-dummy.c): the test bench of the whole switch.
 * A dummy device starts up, with carrier, MTU 1500 and the address aa:55:aa:55:NN:NN, where
 * NN:NN counts the dummy devices this process has created (OVS's expected test outputs depend
 * on that sequence: the dummy datapath's own port takes :00:00, the first bridge :00:01...).
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { encodePcapHeader, encodePcapRecord } from '../lib/pcap.ts';
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

/** A capture file opened for appending, as OVS's netdev-dummy opens "pcap" options ("ab"). */
class PcapAppender {
  private fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
    if (fstatSync(this.fd).size === 0) writeSync(this.fd, encodePcapHeader());
  }
  write(frame: Uint8Array, off: number, len: number): void {
    writeSync(this.fd, encodePcapRecord(frame.subarray(off, off + len), Date.now() * 1000));
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A `dummy` device (also `dummy-internal`, `dummy-pmd`, and any type OVS's
 * `--enable-dummy=override` replaces: it keeps the type name it was opened with).
 *
 * Frames arrive through `receiveFrame()` (netdev-dummy/receive) and what the switch sends is
 * counted and, with options:pcap or options:tx_pcap, appended to a capture file; received
 * frames go to options:pcap or options:rxq_pcap. Tests may also watch `onTransmit`.
 */
export class DummyNetdev extends MemoryNetdev {
  private txPcap: PcapAppender | null = null;
  private rxPcap: PcapAppender | null = null;
  private config = new Map<string, string>();
  /** Called with every transmitted frame (valid during the call). */
  onTransmit: ((frame: Uint8Array, off: number, len: number) => void) | null = null;

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
    this.closePcaps();
    super.close();
  }

  private closePcaps(): void {
    if (this.rxPcap && this.rxPcap !== this.txPcap) this.rxPcap.close();
    this.txPcap?.close();
    this.rxPcap = this.txPcap = null;
  }

  /** options:ifindex (OVS's dummy ports have none unless told; sFlow reports it). */
  private ifindex = 0;

  override getIfindex(): number {
    return this.ifindex;
  }

  override getConfig(): ReadonlyMap<string, string> {
    return this.ifindex > 0 ? new Map([['ifindex', String(this.ifindex)]]) : new Map();
  }

  override setConfig(options: ReadonlyMap<string, string>): string | null {
    const want = (k: string): string | undefined => options.get(k);
    const ifx = Number.parseInt(want('ifindex') ?? '', 10);
    const nextIfindex = Number.isInteger(ifx) && ifx > 0 ? ifx : 0;
    if (nextIfindex !== this.ifindex) {
      this.ifindex = nextIfindex;
      this.changed();
    }
    const same = ['pcap', 'rxq_pcap', 'tx_pcap'].every((k) => want(k) === this.config.get(k));
    if (!same) {
      this.closePcaps();
      try {
        const both = want('pcap');
        if (both !== undefined) {
          this.rxPcap = this.txPcap = new PcapAppender(both);
        } else {
          const rx = want('rxq_pcap');
          const tx = want('tx_pcap');
          if (rx !== undefined) this.rxPcap = new PcapAppender(rx);
          if (tx !== undefined) this.txPcap = new PcapAppender(tx);
        }
      } catch (e) {
        return `${this.name}: ${(e as Error).message}`;
      }
    }
    this.config = new Map(options);
    return null;
  }

  /** A frame arriving from the wire: counted and handed to the datapath. */
  receiveFrame(frame: Uint8Array, off = 0, len = frame.length): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    this.rxq0.packets++;
    this.rxq0.bytes += len;
    this.rxPcap?.write(frame, off, len);
    const sink = this.rxSink;
    if (sink) {
      sink.receive(frame, off, len);
      sink.flush();
    }
  }

  protected override transmit(frame: Uint8Array, off: number, len: number): void {
    this.txq0.packets++;
    this.txq0.bytes += len;
    this.txPcap?.write(frame, off, len);
    this.onTransmit?.(frame, off, len);
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
