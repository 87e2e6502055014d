/**
 * The userspace datapath (OVS's lib/dpif-netdev.c), port table only for now. Two classes share
 * it: `netdev` numbers new ports with the lowest free number; the `dummy` class (and every
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
  readonly stats: DpifStats = { hit: 0, missed: 0 };

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
    const local = registry.open(name, this.portOpenType('internal'));
    this.insert({ portNo: ODPP_LOCAL, name, type: local.type, netdev: local });
  }

  portOpenType(type: string): string {
    if (type === 'internal') return this.dummyClass ? 'dummy-internal' : 'internal';
    return type;
  }

  portAdd(netdev: Netdev): OdpPort {
    if (this.byName.has(netdev.name)) throw netdevError('EEXIST');
    const portNo = this.choosePort(netdev.name);
    this.insert({ portNo, name: netdev.name, type: netdev.type, netdev });
    return portNo;
  }

  portDel(port: OdpPort): void {
    const p = this.byNumber.get(port);
    if (!p || port === ODPP_LOCAL) return;
    this.byNumber.delete(port);
    this.byName.delete(p.name);
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
    return { ...this.stats };
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
