/**
 * `afxdp` ports (OVS's netdev-afxdp): an existing Linux interface read and written through
 * AF_XDP sockets, one per receive queue, with an XDP program that steers the interface's
 * frames to them attached while the port exists (src/native/af-xdp.ts).
 *
 * Options, as OVS reads them: `xdp-mode` (best-effort, the default, tries
 * native-with-zerocopy, native and generic in turn), `n_rxq` (1 to 16, default 1) and
 * `use-need-wakeup` (default true). Invalid values fail as OVS's set_config does ("IF: could
 * not set configuration (Invalid argument)"); sockets that cannot be set up fail as OVS's
 * port add does ("could not add network device IF to ofproto (Invalid argument)"), with the
 * reason in the log.
 *
 * The sockets are opened when the options are first applied, so a missing kernel feature or
 * permission lands in Interface.error. A PMD thread then opens its own in the mode found here.
 * Frames are at most one UMEM frame long: offloaded super-frames are segmented before they
 * leave, and a sender's veth segments before it hands frames to an interface with native XDP.
 */
import { vlog } from '../../lib/vlog.ts';
import { type XdpMode, type XskOpenOptions, XskSocket } from '../../native/af-xdp.ts';
import type { TxBatch } from '../netdev.ts';
import { OffloadFinisher } from '../offload.ts';
import { currentNetns } from './link-watch.ts';
import { BURST, drainRxRing, LinuxNetdev, toNetdevError, type Xmit } from './netdev-linux.ts';

const log = vlog('netdev_afxdp');

/** OVS's MAX_XSKQ. */
export const MAX_XSK_QUEUES = 16;
const MODES: readonly XdpMode[] = ['best-effort', 'native-with-zerocopy', 'native', 'generic'];

/**
 * Devices whose sockets a PMD thread still holds after their port was removed (it lets go
 * asynchronously), by namespace and name, with the mode they were in and who waits. A port
 * made again on the device meanwhile (a type or option change re-creates it in one
 * reconfiguration pass) cannot bind the queue yet: it defers its open until then.
 */
const releasing = new Map<
  string,
  { mode: Exclude<XdpMode, 'best-effort'> | null; waiters: (() => void)[] }
>();

export interface AfxdpConfig {
  readonly nRxq: number;
  readonly mode: XdpMode;
  readonly needWakeup: boolean;
}

/** The UMEM frame that holds a frame of this MTU, tag included, behind XDP's 256-byte headroom. */
export function xskFrameSize(mtu: number): number {
  return mtu + 14 + 8 + 256 <= 2048 ? 2048 : 4096;
}

/**
 * Reads the options as OVS's netdev_afxdp_set_config does: n_rxq a decimal integer (else 1;
 * at least 1), xdp-mode by name ignoring case, use-need-wakeup true unless "false". Returns
 * the config, or the error OVS logs.
 */
export function parseAfxdpOptions(
  name: string,
  options: ReadonlyMap<string, string>,
): AfxdpConfig | { error: string } {
  const rawN = options.get('n_rxq');
  // smap_get_int: a whole decimal integer, else the default (1).
  const n = Math.max(rawN !== undefined && /^\s*[+-]?\d+$/.test(rawN) ? Number(rawN.trim()) : 1, 1);
  if (n > MAX_XSK_QUEUES) return { error: `${name}: Too big 'n_rxq' (${n} > ${MAX_XSK_QUEUES}).` };
  const rawMode = options.get('xdp-mode') ?? 'best-effort';
  const mode = MODES.find((m) => m === rawMode.toLowerCase());
  if (mode === undefined) return { error: `${name}: Incorrect xdp-mode (${rawMode}).` };
  const w = options.get('use-need-wakeup');
  // smap_get_bool with a default of true: anything but "false" is true.
  const needWakeup = w === undefined || w.toLowerCase() !== 'false';
  return { nRxq: n, mode, needWakeup };
}

export class AfxdpNetdev extends LinuxNetdev {
  private sock: XskSocket | null = null;
  private config: AfxdpConfig | null = null;
  /** What best-effort settled on (or the mode asked for), once the sockets opened. */
  private modeInUse: Exclude<XdpMode, 'best-effort'> | null = null;
  private readonly xmit: Xmit = (buf, n) => (this.sock ? this.sock.send(buf, this.txDesc, n) : 0);
  private readonly rxDesc = new Uint32Array(2 * BURST);
  private polling = false;
  /** Namespace and name: the key of `releasing`. */
  private readonly key: string;
  /** This device's entry in `releasing` is the one to clear. */
  private holdsRelease = false;
  /** Super-frames from offloading ports are cut to MTU-sized frames before they leave. */
  private readonly finisher = new OffloadFinisher((b) => this.sendRuns(b, this.xmit));

  /** Throws NetdevError (ENODEV for a missing interface, as OVS says). `afxdp-nonpmd` is
   * OVS's variant forwarded from the main loop instead of a PMD thread. */
  constructor(name: string, type: 'afxdp' | 'afxdp-nonpmd' = 'afxdp') {
    super(name, type);
    this.key = `${currentNetns()}/${name}`;
    try {
      this.attachKernel();
    } catch (err) {
      throw toNetdevError(err);
    }
  }

  override setConfig(options: ReadonlyMap<string, string>): string | null {
    const c = parseAfxdpOptions(this.name, options);
    if ('error' in c) {
      log.err(c.error);
      return `${this.name}: could not set configuration (Invalid argument)`;
    }
    const old = this.config;
    const same =
      old !== null && old.nRxq === c.nRxq && old.mode === c.mode && old.needWakeup === c.needWakeup;
    if (same) return null;
    this.config = c;
    if (this.pmdOwned) {
      // The worker holds the sockets: it reopens them (a failure there is only logged).
      this.modeInUse = c.mode === 'best-effort' ? this.modeInUse : c.mode;
      this.changed();
      this.pmdReopen();
      return null;
    }
    log.info(`${this.name}: Setting XDP mode to ${c.mode}.`);
    const wasPolling = this.polling;
    this.stopRx();
    this.sock?.close();
    this.sock = null;
    this.modeInUse = null;
    const prev = releasing.get(this.key);
    if (prev !== undefined) {
      // The queue is still bound by a removed port's PMD thread: a worker opens after it has
      // let go (its commands are ordered); the main thread opens once told.
      this.modeInUse = c.mode === 'best-effort' ? prev.mode : c.mode;
      prev.waiters.push(() => this.openDeferred());
      this.changed();
      return null;
    }
    try {
      this.sock = this.inOwnNetns(() => XskSocket.open(this.name, this.openOptions(c.mode)));
    } catch (err) {
      log.err(`${this.name}: ${toNetdevError(err).message}`);
      log.err(`${this.name}: AF_XDP device reconfiguration failed.`);
      return `could not add network device ${this.name} to ofproto (Invalid argument)`;
    }
    this.modeInUse = this.sock.mode;
    if (c.mode === 'best-effort')
      log.info(`${this.name}: ${this.sock.mode} XDP mode will be in use.`);
    this.changed();
    if (wasPolling || this.rxSink) this.startRx();
    return null;
  }

  /** The open setConfig deferred, now that the device is free (a failure can only be logged). */
  private openDeferred(): void {
    if (this.closed || this.pmdOwned || this.sock !== null || this.config === null) return;
    try {
      const mode = this.config.mode;
      this.sock = this.inOwnNetns(() => XskSocket.open(this.name, this.openOptions(mode)));
    } catch (err) {
      log.err(`${this.name}: ${toNetdevError(err).message}`);
      log.err(`${this.name}: AF_XDP device reconfiguration failed.`);
      return;
    }
    this.modeInUse = this.sock.mode;
    this.changed();
    if (this.rxSink) this.startRx();
  }

  override close(): void {
    // A PMD thread still holds the sockets: the device is busy until closeDevice() runs.
    if (!this.closed && this.pmdOwned && !releasing.has(this.key)) {
      releasing.set(this.key, { mode: this.modeInUse, waiters: [] });
      this.holdsRelease = true;
    }
    super.close();
  }

  private openOptions(mode: XdpMode): XskOpenOptions {
    const c = this.config;
    return {
      mode,
      queues: c?.nRxq ?? 1,
      needWakeup: c?.needWakeup ?? true,
      frameSize: xskFrameSize(this.mtu),
    };
  }

  /** What `dpif/show` prints after the type, OVS's names and order. */
  override getConfig(): ReadonlyMap<string, string> {
    const c = this.config;
    if (c === null) return new Map();
    return new Map([
      ['n_rxq', String(c.nRxq)],
      ['use-need-wakeup', String(c.needWakeup)],
      ['xdp-mode', c.mode],
      ['xdp-mode-in-use', this.modeInUse ?? 'unspecified'],
    ]);
  }

  /** The device has no sockets until its options are applied (the bridge always does). */
  private ensureOpen(): XskSocket | null {
    if (this.sock === null && this.config === null) this.setConfig(new Map());
    return this.sock;
  }

  protected startRx(): void {
    if (this.polling) return;
    const sock = this.ensureOpen();
    if (!sock) return;
    this.polling = true;
    sock.onReadable((status) => this.poll(status));
  }

  protected stopRx(): void {
    if (!this.polling) return;
    this.polling = false;
    this.sock?.stopPolling();
  }

  private poll(status: number): void {
    const sock = this.sock;
    if (status < 0 || this.closed || sock === null) {
      if (status < 0 && !this.closed) {
        log.warnRl(`${this.name}: error polling rx fd (status ${status}).`);
        this.stopRx();
      }
      return;
    }
    const sink = this.rxSink;
    if (sink === null) return;
    const err = drainRxRing(sock, sock.umem, this.rxDesc, sink);
    if (err !== undefined)
      log.errRl(`${this.name}: receive failed: ${(err as Error).stack ?? err}`);
  }

  send(batch: TxBatch): void {
    if (this.closed || batch.count === 0) return;
    if (this.sock === null || this.sock.closed) {
      this.txDropped += batch.count;
      return;
    }
    this.finisher.sendBatch(batch);
  }

  protected override reattach(): void {
    if (this.pmdOwned) return;
    const wasPolling = this.polling;
    this.stopRx();
    this.sock?.close();
    this.sock = null;
    const mode = this.modeInUse ?? this.config?.mode ?? 'best-effort';
    this.sock = XskSocket.open(this.name, this.openOptions(mode));
    if (wasPolling || this.rxSink) this.startRx();
  }

  /** A bigger MTU may need 4 kB UMEM frames: reopen. */
  protected override mtuChanged(): void {
    if (this.pmdOwned || this.sock === null || this.sock.frameSize >= xskFrameSize(this.mtu))
      return;
    try {
      this.inOwnNetns(() => this.reattach());
    } catch (err) {
      log.warn(`${this.name}: cannot reopen for MTU ${this.mtu} (${toNetdevError(err).message})`);
    }
  }

  override get pmdCapable(): boolean {
    return this.type === 'afxdp';
  }

  protected pmdKind(): 'afxdp' {
    return 'afxdp';
  }
  protected override pmdXdp(): XskOpenOptions {
    return this.openOptions(this.modeInUse ?? this.config?.mode ?? 'best-effort');
  }
  /** Only one socket may be bound to a queue: the worker's replaces ours. */
  protected override pmdRelinquish(): void {
    if (this.config === null) this.config = parseAfxdpOptions(this.name, new Map()) as AfxdpConfig;
    this.stopRx();
    this.sock?.close();
    this.sock = null;
  }
  protected override pmdResume(): void {
    if (this.sock === null)
      this.sock = this.inOwnNetns(() => XskSocket.open(this.name, this.pmdXdp()));
  }

  /** OVS's custom statistics of an afxdp port, while this thread holds the sockets. */
  override getStatisticsColumn(): Map<string, number> {
    const m = super.getStatisticsColumn();
    const s = this.sock !== null && !this.sock.closed ? this.sock.stats() : null;
    const drops = (s?.rxDropped ?? 0) + (s?.rxRingFull ?? 0) + this.pmdRxDropped;
    if (drops) m.set('rx_dropped', (m.get('rx_dropped') ?? 0) + drops);
    return m;
  }

  protected closeDevice(): void {
    if (this.sock !== null) log.info(`${this.name}: Removing xdp program.`);
    this.sock?.close();
    this.sock = null;
    const r = releasing.get(this.key);
    if (r !== undefined && this.holdsRelease) {
      this.holdsRelease = false;
      releasing.delete(this.key);
      for (const w of r.waiters) w();
    }
  }
}
