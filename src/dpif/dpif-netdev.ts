/**
 * The userspace datapath (OVS's lib/dpif-netdev.c): the port table, and the forwarding engine
 * (netdev/dp-netdev.ts) fed by every port's received frames. Misses go to the upcall handler
 * ofproto installs (setUpcallHandler); until one is installed, missed packets are dropped.
 * Two classes share it: `netdev` numbers new ports with the lowest free number; the `dummy` class (and every
 * class under --enable-dummy=override) numbers them after the name, as OVS does to make test
 * outputs predictable: the first digits in the name (p3 -> 3), plus 100 when the name starts
 * with "br" (br0 -> 100), else (no digits, or that number taken) the lowest free number.
 */
import { type Netdev, netdevError } from '../netdev/netdev.ts';
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

const MAX_PORT = 0xffff;

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

  /**
   * `dummyClass`: number ports after their names. The datapath's own port (number 0, named
   * `ovs-TYPE`) is opened here, as OVS's datapath creates it.
   */
  constructor(
    readonly type: string,
    readonly dummyClass: boolean,
    registry: NetdevRegistry,
  ) {
    const name = `ovs-${type}`;
    this.fullName = `${type}@${name}`;
    this.dp = new DpNetdev({
      io: { send: (port, batch) => this.byNumber.get(port as OdpPort)?.netdev.send(batch) },
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

  portAdd(netdev: Netdev): OdpPort {
    if (this.byName.has(netdev.name)) throw netdevError('EEXIST');
    const portNo = this.choosePort(netdev.name);
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
