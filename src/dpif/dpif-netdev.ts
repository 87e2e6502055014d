/**
 * The userspace datapath (OVS's lib/dpif-netdev.c): the port table, and the forwarding engine
 * (netdev/dp-netdev.ts) fed by every port's received frames. Misses go to the upcall handler
 * ofproto installs (setUpcallHandler); until one is installed, missed packets are dropped.
 * Two classes share it: `netdev` numbers new ports with the lowest free number; the `dummy` class (and every
 * class under --enable-dummy=override) numbers them after the name, as OVS does to make test
 * outputs predictable: the first digits in the name (p3 -> 3), plus 100 when the name starts
 * with "br" (br0 -> 100), else (no digits, or that number taken) the lowest free number.
 *
 * Linux ports (system, tap, internal) are driven by a PMD worker thread (netdev/pmd-thread.ts)
 * started with the first of them: it receives, forwards on hits in a replica of this engine's
 * flow table and transmits, so the main thread's control work never stalls forwarding. This
 * engine stays the authority for flows (upcalls, installs, revalidation, dumps happen here);
 * `syncStats()` brings the worker's counters in before a dump. In-memory ports (dummy) stay on
 * the main thread and keep their synchronous semantics. TYPESWITCH_PMD=0 keeps everything on
 * the main thread.
 */
import { LinuxNetdev } from '../netdev/linux/netdev-linux.ts';
import { type Netdev, netdevError, type TxBatch } from '../netdev/netdev.ts';
import type { NetdevRegistry } from '../netdev/registry.ts';
import {
  type Dpif,
  type DpifPort,
  type DpifStats,
  ODPP_LOCAL,
  ODPP_NONE,
  type OdpPort,
  odpPort,
} from './dpif.ts';
import { DpNetdev, type UpcallHandler } from './netdev/dp-netdev.ts';
import { PacketBatch } from './netdev/packet-batch.ts';
import { PmdThread } from './netdev/pmd-thread.ts';

const MAX_PORT = 0xffff;
/** How often pending revalidation runs while the worker forwards (ms): changes to the
 * OpenFlow tables reach the worker's flows this soon even when no packet reaches this thread. */
const PMD_REVALIDATE_MS = 50;

/** OVS's choose_port for the dummy class: the number a port named `name` asks for, if any. */
export function nameDerivedPort(name: string): number | undefined {
  const m = /\d+/.exec(name);
  if (!m) return undefined;
  // strtol of the digits run; a leading "br" moves the search to 100 and up.
  const n = (name.startsWith('br') ? 100 : 0) + Number.parseInt(m[0], 10);
  return n > 0 && n !== ODPP_NONE && Number.isSafeInteger(n) ? n : undefined;
}

export class DpifNetdev implements Dpif {
  readonly fullName: string;
  readonly version = '<built-in>';
  private readonly byNumber = new Map<OdpPort, DpifPort>();
  private readonly byName = new Map<string, DpifPort>();
  /** The forwarding engine. */
  readonly dp: DpNetdev;
  private handler: UpcallHandler | null = null;
  private readonly rxBatch = new PacketBatch();
  private flushing = false;
  /** Runs before each received batch is forwarded (revalidation of stale flows). */
  beforeInput: (() => void) | null = null;
  /** Whether Linux ports go to a PMD worker thread. */
  readonly pmdEnabled: boolean;
  private pmd: PmdThread | null = null;
  /** Ports the PMD thread drives. */
  private readonly pmdPorts = new Map<OdpPort, LinuxNetdev>();
  private pmdTimer: NodeJS.Timeout | null = null;

  /**
   * `dummyClass`: number ports after their names. The datapath's own port (number 0, named
   * after the datapath: `ovs-TYPE` for a bridge backer) is opened here, as OVS's datapath
   * creates it. `dpName` names a datapath made by `dpctl/add-dp TYPE@NAME`.
   */
  constructor(
    readonly type: string,
    readonly dummyClass: boolean,
    registry: NetdevRegistry,
    dpName?: string,
  ) {
    const name = dpName ?? `ovs-${type}`;
    this.fullName = `${type}@${name}`;
    this.pmdEnabled = process.env.TYPESWITCH_PMD !== '0';
    this.dp = new DpNetdev({
      io: { send: (port, batch) => this.send(port as OdpPort, batch) },
      upcall: {
        miss: (up) => this.handler?.miss(up) ?? null,
        action: (up) => this.handler?.action?.(up),
        installed: (f) => this.handler?.installed?.(f),
        other: (a, p, k) => this.handler?.other?.(a, p, k),
      },
    });
    const local = registry.open(name, this.portOpenType('internal'));
    this.insert({ portNo: ODPP_LOCAL, name, type: local.type, netdev: local });
    this.attach(ODPP_LOCAL, local);
  }

  portOpenType(type: string): string {
    if (type === 'internal') return this.dummyClass ? 'dummy-internal' : 'internal';
    return type;
  }

  /** `requested`: the number asked for (dpctl/add-if port_no=); EINVAL when it is taken. */
  portAdd(netdev: Netdev, requested?: OdpPort): OdpPort {
    if (this.byName.has(netdev.name)) throw netdevError('EEXIST');
    if (requested !== undefined && this.byNumber.has(requested)) throw netdevError('EINVAL');
    const portNo = requested ?? this.choosePort(netdev.name);
    this.insert({ portNo, name: netdev.name, type: netdev.type, netdev });
    this.attach(portNo, netdev);
    return portNo;
  }

  portDel(port: OdpPort): void {
    const p = this.byNumber.get(port);
    if (!p || port === ODPP_LOCAL) return;
    p.netdev.setRxSink(null);
    this.byNumber.delete(port);
    this.byName.delete(p.name);
    const owned = this.pmdPorts.get(port);
    if (owned !== undefined && this.pmd !== null) {
      this.pmdPorts.delete(port);
      // The device (its fd) stays open until the worker has let go of it.
      void this.pmd.delPort(port).then(() => owned.pmdTakeBack());
      if (this.pmdPorts.size === 0) this.stopPmdTimer();
    }
  }

  /**
   * Gives port `name` the number `portNo` (OVS's dpif-dummy/change-port-number, dummy
   * datapaths only). Returns OVS's error text, or null when done. Flows that named the old
   * number stay until revalidation finds they no longer translate.
   */
  changePortNumber(name: string, portNo: number): string | null {
    const p = this.byName.get(name);
    if (!p) return 'unknown port';
    const to = odpPort(portNo >>> 0);
    if (to === 0 || to === ODPP_NONE) return 'bad port number';
    if (this.byNumber.has(to)) return 'port number already in use';
    const from = p.portNo;
    const moved: DpifPort = { ...p, portNo: to };
    this.byNumber.delete(from);
    this.byNumber.set(to, moved);
    this.byName.set(name, moved);
    const owned = this.pmdPorts.get(from);
    if (owned !== undefined && this.pmd !== null) {
      this.pmdPorts.delete(from);
      // The worker lets go of the device before it comes back under its new number.
      void this.pmd.delPort(from).then(() => {
        owned.pmdTakeBack();
        if (this.byNumber.get(to)?.netdev === owned) this.attach(to, owned);
      });
      if (this.pmdPorts.size === 0) this.stopPmdTimer();
    } else {
      this.attach(to, p.netdev);
    }
    return null;
  }

  private send(port: OdpPort, batch: TxBatch): void {
    const p = this.byNumber.get(port);
    if (p === undefined) return;
    const owned = this.pmdPorts.get(port);
    if (owned !== undefined && !owned.pmdDirectSend && this.pmd !== null) {
      this.pmd.send(port, batch);
      return;
    }
    p.netdev.send(batch);
  }

  /**
   * Brings the PMD thread's flow, lookup and port statistics into this datapath's counters
   * (they arrive by themselves every 100 ms); resolves at once without a worker.
   */
  syncStats(): Promise<void> {
    return this.pmd?.syncStats() ?? Promise.resolve();
  }

  /** Whether a PMD worker thread is forwarding for this datapath (tests, dpif/show). */
  get pmdRunning(): boolean {
    return this.pmd?.running ?? false;
  }

  /** Test hook: the PMD thread dies as if it crashed; resolves once its ports are back here. */
  pmdKillForTest(): Promise<void> {
    return this.pmd?.kill() ?? Promise.resolve();
  }

  /** Ends the PMD thread (its sockets closed); ports still here are served by the main
   * thread afterwards. Resolves when the thread has exited. */
  close(): Promise<void> {
    const pmd = this.pmd;
    if (pmd === null) {
      this.closeLocal();
      return Promise.resolve();
    }
    return pmd.close().then(() => {
      this.pmdLost(pmd);
      this.closeLocal();
    });
  }

  /* The datapath's own port goes with it (OVS's dpif_netdev_close), after the PMD thread let go
   * of it: its device is closed, so nothing keeps this engine reachable. */
  private closeLocal(): void {
    const local = this.byNumber.get(ODPP_LOCAL);
    if (!local) return;
    local.netdev.setRxSink(null);
    this.byNumber.delete(ODPP_LOCAL);
    this.byName.delete(local.name);
    local.netdev.close();
  }

  /** Hands other_config:vlan-limit (as the flow library now has it) to a running worker. */
  setVlanLimit(limit: number): void {
    this.pmd?.setVlanLimit(limit);
  }

  private pmdThread(): PmdThread {
    if (this.pmd !== null) return this.pmd;
    const pmd = new PmdThread(this.dp, {
      upcall: (b) => {
        this.beforeInput?.();
        this.dp.inputUpcalled(b);
      },
      output: (port, b) => this.byNumber.get(odpPort(port))?.netdev.send(b),
      action: (up) => this.handler?.action?.(up),
      other: (a, p, k) => this.handler?.other?.(a, p, k),
      portDrops: (port, tx, rx) => this.pmdPorts.get(odpPort(port))?.pmdCountDrops(tx, rx),
      lost: () => this.pmdLost(pmd),
    });
    this.pmd = pmd;
    // The replica starts from the flows there are now.
    for (const f of this.dp.flowDump()) pmd.put(f);
    this.dp.flowListener = pmd;
    return pmd;
  }

  /** The worker ended (closed, or died): its ports go back to main-thread forwarding. */
  private pmdLost(pmd: PmdThread): void {
    if (this.pmd !== pmd) return;
    this.pmd = null;
    this.dp.flowListener = null;
    this.stopPmdTimer();
    const owned = [...this.pmdPorts];
    this.pmdPorts.clear();
    for (const [portNo, netdev] of owned) {
      netdev.pmdTakeBack();
      if (this.byNumber.get(portNo)?.netdev === netdev) this.attachMain(portNo, netdev);
    }
  }

  private startPmdTimer(): void {
    if (this.pmdTimer !== null) return;
    this.pmdTimer = setInterval(() => {
      try {
        this.beforeInput?.();
      } catch {
        // The upcall layer logs its own failures; the timer must keep running.
      }
    }, PMD_REVALIDATE_MS);
    this.pmdTimer.unref();
  }

  private stopPmdTimer(): void {
    if (this.pmdTimer !== null) clearInterval(this.pmdTimer);
    this.pmdTimer = null;
  }

  /** Installs the handler of missed packets and userspace() actions (ofproto's upcall layer). */
  setUpcallHandler(h: UpcallHandler | null): void {
    this.handler = h;
  }

  /** Feeds one frame received on `port` through the datapath at once. */
  receive(port: OdpPort, frame: Uint8Array, off = 0, len = frame.length): void {
    this.rx(port, frame, off, len);
    this.rxFlush();
  }

  private attach(portNo: OdpPort, netdev: Netdev): void {
    if (this.pmdEnabled && netdev instanceof LinuxNetdev && netdev.pmdCapable) {
      const pmd = this.pmdThread();
      const spec = netdev.pmdHandOff(() => {
        if (this.pmdPorts.get(portNo) === netdev) pmd.updatePort(portNo, netdev.pmdSpec());
      });
      this.pmdPorts.set(portNo, netdev);
      pmd.addPort(portNo, spec);
      this.startPmdTimer();
      return;
    }
    this.attachMain(portNo, netdev);
  }

  private attachMain(portNo: OdpPort, netdev: Netdev): void {
    netdev.setRxSink({
      receive: (frame, off, len) => this.rx(portNo, frame, off, len),
      flush: () => this.rxFlush(),
    });
  }

  private rx(port: OdpPort, frame: Uint8Array, off: number, len: number): void {
    if (this.flushing) {
      // A port that answers from inside send() (loopback): the engine defers this batch.
      const t = new PacketBatch(1);
      t.add(frame, off, len, port);
      this.dp.input(t);
      return;
    }
    const b = this.rxBatch;
    if (b.full) this.rxFlush();
    b.add(frame, off, len, port);
  }

  private rxFlush(): void {
    const b = this.rxBatch;
    if (b.count === 0 || this.flushing) return;
    this.flushing = true;
    try {
      this.beforeInput?.();
      this.dp.input(b);
    } finally {
      b.clear();
      this.flushing = false;
    }
  }

  portQueryByName(name: string): DpifPort | undefined {
    return this.byName.get(name);
  }
  portQueryByNumber(port: OdpPort): DpifPort | undefined {
    return this.byNumber.get(port);
  }
  ports(): IterableIterator<DpifPort> {
    return this.byNumber.values();
  }
  getStats(): DpifStats {
    return { hit: this.dp.stats.hit, missed: this.dp.stats.missed };
  }

  private insert(p: DpifPort): void {
    this.byNumber.set(p.portNo, p);
    this.byName.set(p.name, p);
  }

  private choosePort(name: string): OdpPort {
    if (this.dummyClass) {
      const wanted = nameDerivedPort(name);
      if (wanted !== undefined && !this.byNumber.has(odpPort(wanted))) return odpPort(wanted);
    }
    for (let n = 1; n <= MAX_PORT; n++) if (!this.byNumber.has(odpPort(n))) return odpPort(n);
    throw netdevError('EEXIST');
  }
}
