/**
 * The datapaths of the process, one per datapath type, shared by every bridge of that type
 * (OVS's dpif backers: all `dummy` bridges live in `dummy@ovs-dummy`). A datapath is created
 * by its first bridge and destroyed with its last, so port numbering starts over then, as in OVS.
 */
import type { NetdevRegistry } from '../netdev/registry.ts';
import { DpifNetdev } from './dpif-netdev.ts';

export class UnknownDatapathTypeError extends Error {
  override readonly name = 'UnknownDatapathTypeError';
}

export class DpifBackers {
  private readonly backers = new Map<string, { dpif: DpifNetdev; refs: number }>();

  constructor(private readonly registry: NetdevRegistry) {}

  /** The datapath types this process offers (Open_vSwitch.datapath_types). */
  types(): string[] {
    const o = this.registry.options;
    const t = ['netdev'];
    if (o.enableDummy) t.push('dummy');
    if (o.override) t.push('system');
    return t.sort();
  }

  /**
   * Opens (creating on first use) the datapath of `type`. Throws UnknownDatapathTypeError for a
   * type this process does not offer.
   */
  acquire(type: string): DpifNetdev {
    const have = this.backers.get(type);
    if (have) {
      have.refs++;
      return have.dpif;
    }
    if (!this.types().includes(type))
      throw new UnknownDatapathTypeError(`unknown datapath type ${type}`);
    const dummyClass = type === 'dummy' || this.registry.options.override;
    const dpif = new DpifNetdev(type, dummyClass, this.registry);
    this.backers.set(type, { dpif, refs: 1 });
    return dpif;
  }

  release(dpif: DpifNetdev): void {
    const b = this.backers.get(dpif.type);
    if (!b || b.dpif !== dpif) return;
    if (--b.refs === 0) {
      this.backers.delete(dpif.type);
      // Its PMD thread ends with it (the ports were removed and closed before).
      void dpif.close();
    }
  }

  /** Open datapaths, sorted by type (the order of dpif/show). */
  list(): DpifNetdev[] {
    return [...this.backers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, b]) => b.dpif);
  }
}
