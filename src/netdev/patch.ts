/**
 * Patch ports (OVS's netdev-vport "patch" class): two ports, usually on different bridges,
 * that name each other with `options:peer`. They have no datapath port of their own; the
 * switch joins them during translation. Like every vport they get a random address.
 */
import { MemoryNetdev } from './dummy.ts';
import { randomEthAddr } from './netdev.ts';

export class PatchNetdev extends MemoryNetdev {
  private peerName: string | null = null;

  constructor(name: string) {
    super(name, 'patch', randomEthAddr(), null);
  }

  get peer(): string | null {
    return this.peerName;
  }

  /** OVS's rules and words: exactly one option, `peer`, naming another port. */
  override setConfig(options: ReadonlyMap<string, string>): string | null {
    const peer = options.get('peer');
    if (peer === undefined) return `${this.name}: patch type requires valid 'peer' argument`;
    if (options.size > 1) return `${this.name}: patch type takes only a 'peer' argument`;
    if (peer === this.name) return `${this.name}: patch peer must not be self`;
    if (peer !== this.peerName) {
      this.peerName = peer;
      this.changed();
    }
    return null;
  }

  override getConfig(): ReadonlyMap<string, string> {
    return this.peerName === null ? new Map() : new Map([['peer', this.peerName]]);
  }
}
