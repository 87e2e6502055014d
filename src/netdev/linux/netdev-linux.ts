/**
 * Linux network devices (OVS's lib/netdev-linux.c) as ports of the userspace datapath. This
 * module holds what they share; the classes are in system.ts and tap.ts:
 *
 * - `system`: an existing interface (veth, physical, a VM's tap seen as a plain interface),
 *   read and written through an AF_PACKET socket with a TPACKET_V3 receive ring
 *   (src/native/af-packet.ts). Frames are handed to the datapath straight from the ring, with
 *   the 802.1Q tag the kernel stripped put back; our own transmitted frames are not seen again.
 * - `tap`: a TAP device by name, attached (or created, as OVS does when it is missing).
 * - `internal` ports of a netdev datapath, including each bridge's local port: a TAP device
 *   made for the port, so the host can give it an address. OVS reports these as type `tap`.
 *   The device disappears when the port is removed (or the switch exits).
 *
 * Flags, carrier, MTU, address and ifindex are read once from the kernel and then followed
 * through rtnetlink (link-watch.ts), so the getters make no system call. Counters come from
 * the kernel, from the switch's point of view (a TAP device's are swapped, as OVS does).
 *
 * A device belongs to the network namespace current when it was opened: sockets and TAP fds
 * keep theirs, and calls that name the device to the kernel (MTU, address, flags, counters)
 * are made from inside that namespace even when the caller has moved elsewhere.
 */

import { closeSync, openSync } from 'node:fs';
import { vlog } from '../../lib/vlog.ts';
import type { XskOpenOptions } from '../../native/af-xdp.ts';
import {
  formatMac,
  getFlags,
  getHwaddr,
  getMtu,
  IFF_PROMISC,
  IFF_RUNNING,
  IFF_UP,
  ifIndex,
  inNetns,
  setHwaddr,
  setMtu,
  updateFlags,
} from '../../native/netdev-ioctl.ts';
import {
  type EthAddr,
  ethAddrBytes,
  type Netdev,
  NetdevError,
  type NetdevRxSink,
  type NetdevStats,
  netdevError,
  STRERROR,
  type TxBatch,
} from '../netdev.ts';
import {
  type DriverInfo,
  type KernelStats,
  readDriverInfo,
  readEthtoolSpeedBps,
  readKernelStats,
  readSpeedBps,
} from './kernel-info.ts';
import { currentNetns, type LinkMessage, watchLink } from './link-watch.ts';

export const log = vlog('netdev_linux');

/** Frames handed to the datapath per burst (OVS's NETDEV_MAX_BURST). */
export const BURST = 32;
/** Bursts read per readiness callback before yielding to the event loop. */
export const MAX_BURSTS_PER_WAKEUP = 16;

/** What drainRxRing needs of a memory-mapped receive ring (AF_PACKET or AF_XDP). */
export interface RxRing {
  readonly closed: boolean;
  recv(desc: Uint32Array, max: number): number;
  release(): void;
}

/**
 * One wake-up of a memory-mapped receive ring: bursts of frames read in place from `frames`
 * into `sink`, each burst handed back to the kernel once the sink has flushed it. Returns the
 * error that ended it (that burst's frames are lost) rather than throwing: a throw would escape
 * into the poll callback and take the process down.
 */
export function drainRxRing(
  sock: RxRing,
  frames: Uint8Array,
  desc: Uint32Array,
  sink: NetdevRxSink,
): unknown {
  try {
    for (let b = 0; b < MAX_BURSTS_PER_WAKEUP; b++) {
      const n = sock.recv(desc, BURST);
      if (n === 0) break;
      for (let i = 0; i < n; i++) sink.receive(frames, desc[2 * i], desc[2 * i + 1]);
      sink.flush();
      sock.release();
      if (n < BURST) break;
    }
  } catch (err) {
    if (!sock.closed) sock.release();
    return err;
  }
  return undefined;
}
/** Times a transmit is retried when the kernel pushes back before the rest are dropped. */
const TX_RETRIES = 4;

type NativeError = Error & { code?: string; errno?: number };
/** Sends the first n frames of txDesc out of buf; returns how many the kernel took. */
export type Xmit = (buf: Uint8Array, n: number) => number;

/**
 * Turns a native failure into the NetdevError Interface.error shows: "No such device" and the
 * like, as OVS prints strerror. Other failures (a kernel feature missing, no permission) say
 * what failed and why.
 */
export function toNetdevError(err: unknown): NetdevError {
  if (err instanceof NetdevError) return err;
  const e = err as NativeError;
  const code = e?.code ?? '';
  if (code in STRERROR) return netdevError(code as keyof typeof STRERROR);
  if (code === 'ERR_NATIVE_ADDON_MISSING')
    return new NetdevError('EOPNOTSUPP', `${STRERROR.EOPNOTSUPP}: ${e.message}`);
  // The native layer says "IF: what failed (strerror)"; Interface.error already names the
  // device, so keep what failed and why: "TPACKET_V3 not supported: Protocol not available".
  const text = String(e?.message ?? err);
  const m = /^[^:]*:\s*(.*?)\s*\(([^()]*)\)\s*$/.exec(text);
  return new NetdevError('EOPNOTSUPP', m ? `${m[1]}: ${m[2]}` : text);
}

/** A whole-buffer byte view per distinct buffer, so a batch's frames go out in one call. */
const wholeViews = new WeakMap<ArrayBufferLike, Uint8Array>();
function wholeView(b: ArrayBufferLike): Uint8Array {
  let v = wholeViews.get(b);
  if (v === undefined) {
    v = new Uint8Array(b);
    wholeViews.set(b, v);
  }
  return v;
}

/**
 * Sends `batch` in runs of frames sharing a buffer, `xmit(buf, n)` sending the first n
 * entries of `desc` and returning how many went. Returns how many frames the kernel kept
 * refusing (dropped). Shared by the devices and their PMD-thread side (pmd-port.ts).
 */
export function sendRuns(
  name: string,
  batch: TxBatch,
  desc: Uint32Array,
  xmit: Xmit,
  /** When given, filled with the frames' offload words alongside desc (a vnet socket). */
  olOut?: Uint32Array,
): number {
  const { frames, off, len, count } = batch;
  const ol = olOut !== undefined ? batch.ol : undefined;
  let dropped = 0;
  let i = 0;
  while (i < count) {
    const f0 = frames[i];
    const buf = f0.buffer;
    let k = 0;
    while (i < count && k < BURST) {
      const f = frames[i];
      if (f.buffer !== buf) break;
      desc[2 * k] = f.byteOffset + off[i];
      desc[2 * k + 1] = len[i];
      if (olOut !== undefined) {
        olOut[2 * k] = ol !== undefined ? ol[2 * i] : 0;
        olOut[2 * k + 1] = ol !== undefined ? ol[2 * i + 1] : 0;
      }
      k++;
      i++;
    }
    const whole = wholeView(buf);
    let sent = 0;
    for (let tries = 0; sent < k && tries < TX_RETRIES; tries++) {
      let n: number;
      try {
        n = xmit(whole, k - sent);
      } catch (err) {
        log.warnRl(`${name}: send failed (${toNetdevError(err).message})`);
        break;
      }
      sent += n;
      if (sent < k) {
        desc.copyWithin(0, 2 * n, 2 * (k - sent + n));
        olOut?.copyWithin(0, 2 * n, 2 * (k - sent + n));
      }
    }
    dropped += k - sent;
  }
  return dropped;
}

/**
 * What a PMD thread needs to drive a device's packets itself (pmd-port.ts opens it there).
 */
export interface PmdPortSpec {
  readonly kind: 'afpacket' | 'tap' | 'afxdp';
  readonly name: string;
  /** tap: the device's fd; it stays open on this side, the worker reads and writes it. */
  readonly fd: number;
  /** afpacket: the namespace to open the worker's socket in (a /proc path), '' for its own. */
  readonly netns: string;
  readonly mtu: number;
  /** afpacket: open with PACKET_VNET_HDR, so GSO super-frames cross the switch whole. */
  readonly tso: boolean;
  /** afxdp: how to open the AF_XDP sockets (the mode the main thread settled on); else null. */
  readonly xdp: XskOpenOptions | null;
}

/**
 * Userspace TSO (OVS's other_config:userspace-tso-enable, read once at start-up as OVS does):
 * on by default here, see docs/forwarding.md; TYPESWITCH_TSO=0 or
 * other_config:userspace-tso-enable=false turn it off.
 */
const TSO_DEFAULT = process.env.TYPESWITCH_TSO !== '0';
let userspaceTso = TSO_DEFAULT;

export function setUserspaceTso(enabled: boolean): void {
  if (enabled !== userspaceTso)
    log.info(`Userspace TCP Segmentation Offloading support ${enabled ? 'enabled' : 'disabled'}`);
  userspaceTso = enabled;
}

/** Applies Open_vSwitch other_config:userspace-tso-enable ("true"/"false"; absent: default).
 * Ports opened from now on follow it; open ones keep what they have. */
export function configureUserspaceTso(value: string | undefined): void {
  setUserspaceTso(value === 'true' ? true : value === 'false' ? false : TSO_DEFAULT);
}
export function userspaceTsoEnabled(): boolean {
  return userspaceTso;
}

/** What the Linux device classes share: state followed from the kernel, counters, status. */
export abstract class LinuxNetdev implements Netdev {
  protected ifindex = 0;
  protected flags = 0;
  protected mtu = 1500;
  protected mac: EthAddr = '00:00:00:00:00:00' as EthAddr;
  protected present = true;
  protected carrierResets = 0;
  protected seq = 1;
  protected rxSink: NetdevRxSink | null = null;
  /** Frames the kernel refused or that found the device down (added to tx_dropped). */
  protected txDropped = 0;
  protected closed = false;
  private unwatch: (() => void) | null = null;
  private unwatchName: (() => void) | null = null;
  private driver: DriverInfo | null | undefined;
  /** Flags we turned on and must turn off again on close (OVS's netdev_restore_flags). */
  private flagsTurnedOn = 0;
  /** Preallocated (offset, length) pairs for transmit calls. */
  protected readonly txDesc = new Uint32Array(2 * BURST);
  /** The device's network namespace: its identity, and an fd to enter it by. */
  private readonly netns: string;
  private netnsFd = -1;
  /** Set while a PMD thread drives the device's packets: told when it must reopen. */
  private pmdOnChange: (() => void) | null = null;
  /** close() came while a PMD thread still used the device: finished by pmdTakeBack(). */
  private pmdClosePending = false;
  /** Receive-ring drops the PMD thread reported (its own socket's). */
  protected pmdRxDropped = 0;

  constructor(
    readonly name: string,
    readonly type: string,
  ) {
    this.netns = currentNetns();
  }

  /** Runs `fn` in the device's network namespace (where a name means this device). */
  protected inOwnNetns<T>(fn: () => T): T {
    if (this.netnsFd < 0 || currentNetns() === this.netns) return fn();
    return inNetns(`/proc/self/fd/${this.netnsFd}`, fn);
  }

  /** Reads the device's state and starts following it; call once the device exists. */
  protected attachKernel(): void {
    try {
      this.netnsFd = openSync('/proc/thread-self/ns/net', 'r');
    } catch {
      this.netnsFd = -1; // no /proc: the caller's namespace is the only one there is
    }
    try {
      this.readKernelState();
      this.unwatchName = watchLink(this.name, (m) => this.onNamedLink(m));
    } catch (err) {
      this.unwatch?.();
      this.unwatch = null;
      if (this.netnsFd >= 0) closeSync(this.netnsFd);
      this.netnsFd = -1;
      throw err;
    }
  }

  /** Flags, MTU, address and ifindex from the kernel; follows that ifindex from now on. */
  private readKernelState(): void {
    this.ifindex = ifIndex(this.name);
    this.flags = getFlags(this.name);
    this.mtu = getMtu(this.name);
    this.mac = formatMac(getHwaddr(this.name)) as EthAddr;
    const unwatch = watchLink(this.ifindex, (m) => this.onLink(m));
    this.unwatch?.();
    this.unwatch = unwatch;
    // The datapath wants every frame on the link: OVS turns IFF_PROMISC on for its ports.
    if (!(this.flags & IFF_PROMISC)) {
      this.flags = updateFlags(this.name, IFF_PROMISC, 0);
      this.flagsTurnedOn |= IFF_PROMISC;
    }
  }

  /**
   * A device of our name appeared after ours went away (a VM restarted and its interface was
   * made again): attach to it, if this class can (reattach), and say so through changeSeq.
   */
  private onNamedLink(m: LinkMessage): void {
    if (m.type !== 'new' || this.present || this.closed || m.ifindex === this.ifindex) return;
    try {
      this.inOwnNetns(() => {
        this.reattach();
        this.readKernelState();
      });
    } catch (err) {
      log.warn(`${this.name}: cannot attach to the new device (${toNetdevError(err).message})`);
      return;
    }
    this.present = true;
    log.info(`${this.name}: device is back (ifindex ${this.ifindex})`);
    this.changed();
    this.pmdOnChange?.();
  }

  /** Reopens what this class holds on the device (runs in the device's namespace). */
  protected reattach(): void {
    throw netdevError('ENODEV');
  }

  private onLink(m: LinkMessage): void {
    if (m.type === 'del') {
      if (this.present) {
        this.present = false;
        if (this.flags & IFF_RUNNING) this.carrierResets++;
        this.flags = 0;
        this.changed();
      }
      return;
    }
    let changed = false;
    if (((m.flags ^ this.flags) & IFF_RUNNING) !== 0) this.carrierResets++;
    if (m.flags !== this.flags) {
      this.flags = m.flags;
      changed = true;
    }
    if (m.mtu !== undefined && m.mtu !== this.mtu) {
      this.mtu = m.mtu;
      this.mtuChanged();
      this.pmdOnChange?.();
      changed = true;
    }
    if (m.mac && m.mac.length === 6) {
      const mac = formatMac(m.mac) as EthAddr;
      if (mac !== this.mac) {
        this.mac = mac;
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  protected changed(): void {
    this.seq++;
  }
  /** The MTU changed: receive buffers may need to grow. */
  protected mtuChanged(): void {}

  get changeSeq(): number {
    return this.seq;
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
    if (mac === this.mac || !this.present) return;
    try {
      this.inOwnNetns(() => setHwaddr(this.name, Uint8Array.from(ethAddrBytes(mac))));
    } catch (err) {
      log.warn(`${this.name}: setting Ethernet address failed (${toNetdevError(err).message})`);
      return;
    }
    this.mac = mac;
    this.changed();
  }
  getMtu(): number | null {
    return this.mtu;
  }
  setMtu(mtu: number): void {
    if (mtu === this.mtu || !this.present) return;
    try {
      this.inOwnNetns(() => setMtu(this.name, mtu));
    } catch (err) {
      log.warn(`${this.name}: setting MTU to ${mtu} failed (${toNetdevError(err).message})`);
      return;
    }
    this.mtu = mtu;
    this.mtuChanged();
    this.pmdOnChange?.();
    this.changed();
  }
  isUp(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }
  setUp(up: boolean): void {
    if (up === this.isUp() || !this.present) return;
    try {
      this.flags = this.inOwnNetns(() => updateFlags(this.name, up ? IFF_UP : 0, up ? 0 : IFF_UP));
    } catch (err) {
      log.warn(
        `${this.name}: setting device ${up ? 'up' : 'down'} failed (${toNetdevError(err).message})`,
      );
      return;
    }
    this.changed();
  }
  /** As OVS's netdev-linux: the carrier is the kernel's IFF_RUNNING. */
  getCarrier(): boolean {
    return (this.flags & IFF_RUNNING) !== 0;
  }
  getCarrierResets(): number {
    return this.carrierResets;
  }
  /**
   * sysfs while the device runs; otherwise the last speed seen, or ethtool's answer (asked
   * once: sysfs has none for a device that is down, while OVS, asking ethtool, still has one).
   */
  getSpeedBps(): number {
    if (!this.present) return 0;
    const bps = this.inOwnNetns(() => readSpeedBps(this.name));
    if (bps !== undefined) {
      this.lastSpeedBps = bps;
      return bps;
    }
    if (this.lastSpeedBps === undefined)
      this.lastSpeedBps = this.inOwnNetns(() => readEthtoolSpeedBps(this.name));
    return this.lastSpeedBps;
  }
  private lastSpeedBps: number | undefined;
  getIfindex(): number {
    return this.ifindex;
  }

  /** The kernel's counters, turned to the switch's point of view. */
  protected kernelStats(): KernelStats | undefined {
    return this.present ? this.inOwnNetns(() => readKernelStats(this.name)) : undefined;
  }

  getStats(): NetdevStats {
    const k = this.kernelStats();
    if (!k) return { rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 };
    return {
      rxPackets: k.rxPackets,
      txPackets: k.txPackets,
      rxBytes: k.rxBytes,
      txBytes: k.txBytes,
    };
  }

  /** The counters OVS writes for a Linux device, in its names. */
  getStatisticsColumn(): Map<string, number> {
    const k = this.kernelStats();
    const z = (v: number | undefined): number => v ?? 0;
    return new Map([
      ['collisions', z(k?.collisions)],
      ['rx_bytes', z(k?.rxBytes)],
      ['rx_crc_err', 0],
      ['rx_dropped', z(k?.rxDropped)],
      ['rx_errors', z(k?.rxErrors)],
      ['rx_frame_err', z(k?.rxFrameErrors)],
      ['rx_missed_errors', 0],
      ['rx_multicast_packets', z(k?.rxMulticast)],
      ['rx_over_err', z(k?.rxFifoErrors)],
      ['rx_packets', z(k?.rxPackets)],
      ['tx_bytes', z(k?.txBytes)],
      ['tx_dropped', z(k?.txDropped) + this.txDropped],
      ['tx_errors', z(k?.txErrors)],
      ['tx_packets', z(k?.txPackets)],
    ]);
  }

  /** driver_name, driver_version, firmware_version, as ethtool reports them. */
  getStatus(): Map<string, string> {
    if (this.driver === undefined) this.driver = this.inOwnNetns(() => this.readDriver()) ?? null;
    const d = this.driver;
    if (!d) return new Map();
    return new Map([
      ['driver_name', d.driver],
      ['driver_version', d.version],
      ['firmware_version', d.firmware],
    ]);
  }
  protected readDriver(): DriverInfo | undefined {
    return readDriverInfo(this.name);
  }

  setRxSink(sink: NetdevRxSink | null): void {
    this.rxSink = sink;
    if (this.closed || this.pmdOwned) return;
    if (sink) this.startRx();
    else this.stopRx();
  }
  protected abstract startRx(): void;
  protected abstract stopRx(): void;

  /* ---------------------------------------------------------------------------------- */
  /* A PMD thread (src/dpif/netdev/pmd-thread.ts) driving the device's packets. */

  /** Whether a PMD thread may drive the device (OVS's afxdp-nonpmd may not). */
  get pmdCapable(): boolean {
    return true;
  }

  get pmdOwned(): boolean {
    return this.pmdOnChange !== null;
  }

  /**
   * Hands receive (and, unless pmdDirectSend, transmit) to a PMD thread: this side stops
   * reading. `onChange` is told when the worker must reopen with a new spec (MTU changed,
   * device made again). Configuration, state and counters stay here.
   */
  pmdHandOff(onChange: () => void): PmdPortSpec {
    this.stopRx();
    this.pmdOnChange = onChange;
    this.pmdRelinquish();
    return this.pmdSpec();
  }

  /** What the worker opens; valid while handed off. */
  pmdSpec(): PmdPortSpec {
    return {
      kind: this.pmdKind(),
      name: this.name,
      fd: this.pmdFd(),
      netns: this.netnsFd >= 0 ? `/proc/${process.pid}/fd/${this.netnsFd}` : '',
      mtu: this.mtu,
      tso: userspaceTso,
      xdp: this.pmdXdp(),
    };
  }

  /** afxdp: the AF_XDP options the worker opens its sockets with. */
  protected pmdXdp(): XskOpenOptions | null {
    return null;
  }

  /** Tells the PMD thread to reopen the device with a new spec (configuration changed). */
  protected pmdReopen(): void {
    this.pmdOnChange?.();
  }

  /** The PMD thread let go of the device (after it confirmed): finish a pending close, or
   * take the packets back. */
  pmdTakeBack(): void {
    if (this.pmdOnChange === null) return;
    this.pmdOnChange = null;
    if (this.pmdClosePending) {
      this.pmdClosePending = false;
      this.closeDevice();
      this.closeNetnsFd();
      return;
    }
    if (this.closed) return;
    try {
      this.pmdResume();
    } catch (err) {
      log.warn(`${this.name}: cannot take the device back (${toNetdevError(err).message})`);
      return;
    }
    if (this.rxSink) this.startRx();
  }

  /** Counts what the PMD thread dropped: transmit refusals and receive-ring drops (deltas). */
  pmdCountDrops(txDropped: number, rxDropped: number): void {
    this.txDropped += txDropped;
    this.pmdRxDropped += rxDropped;
  }

  /** Whether the main thread may transmit itself while a worker owns the device. */
  get pmdDirectSend(): boolean {
    return false;
  }
  protected abstract pmdKind(): PmdPortSpec['kind'];
  protected pmdFd(): number {
    return -1;
  }
  /** Lets go of what the worker opens for itself. */
  protected pmdRelinquish(): void {}
  /** Opens again what pmdRelinquish let go. */
  protected pmdResume(): void {}

  private closeNetnsFd(): void {
    if (this.netnsFd >= 0) {
      closeSync(this.netnsFd);
      this.netnsFd = -1;
    }
  }

  abstract send(batch: TxBatch): void;

  /**
   * Sends `batch` in runs of frames sharing a buffer, `xmit(buf, n)` sending the first n
   * entries of txDesc and returning how many went. What the kernel keeps refusing is dropped.
   */
  protected sendRuns(batch: TxBatch, xmit: Xmit): void {
    this.txDropped += sendRuns(this.name, batch, this.txDesc, xmit);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rxSink = null;
    this.stopRx();
    this.unwatch?.();
    this.unwatch = null;
    this.unwatchName?.();
    this.unwatchName = null;
    if (this.flagsTurnedOn && this.present) {
      try {
        this.inOwnNetns(() => updateFlags(this.name, 0, this.flagsTurnedOn));
      } catch {
        // The device went away meanwhile: nothing to restore.
      }
    }
    if (this.pmdOwned) {
      // The worker still reads the device: its fd and namespace stay open until it says so.
      this.pmdClosePending = true;
      return;
    }
    this.closeDevice();
    this.closeNetnsFd();
  }
  protected abstract closeDevice(): void;
}
