/**
 * The forwarding bench's topology: one switch namespace between a sender and a receiver,
 * joined by veth pairs, with the switch one of three kinds:
 *
 *   tx eth0 ── p1 ┐                 ┌ p2 ── eth0 rx
 *                 └ sw: bridge br0 ─┘
 *
 *   'ours'   TypeSwitch (bin/ovsdb-server + bin/ovs-vswitchd), datapath_type=netdev
 *   'real'   Open vSwitch 3.1, datapath_type=netdev (its userspace datapath)
 *   'linux'  the kernel's bridge (ip link add type bridge)
 *
 * The sender and receiver get 198.18.0.1/24 and 198.18.0.2/24. Everything is removed by
 * destroy(): daemons by PID, then the namespaces (which take their veths with them).
 */
import { readFileSync } from 'node:fs';
import { Netns, SwitchHost, vethBetween } from '../../test/netns-harness.ts';

export type SwitchKind = 'ours' | 'real' | 'linux';

export const TX_IP = '198.18.0.1';
export const RX_IP = '198.18.0.2';

let topologies = 0;

export class Topology {
  readonly namespaces: Netns[] = [];
  sw!: Netns;
  tx!: Netns;
  rx!: Netns;
  host: SwitchHost | undefined;

  private constructor(readonly kind: SwitchKind) {}

  static async create(kind: SwitchKind): Promise<Topology> {
    const t = new Topology(kind);
    try {
      await t.build();
    } catch (e) {
      await t.destroy();
      throw e;
    }
    return t;
  }

  private async build(): Promise<void> {
    // Unique per topology: a failed clean-up of one cannot get in the next one's way.
    const prefix = `tsfwd${process.pid}n${topologies++}`;
    const ns = (suffix: string): Netns => {
      const n = new Netns(`${prefix}-${suffix}`);
      this.namespaces.push(n);
      return n;
    };
    this.sw = ns('sw');
    this.tx = ns('tx');
    this.rx = ns('rx');
    vethBetween(this.tx, 'eth0', this.sw, 'p1');
    vethBetween(this.rx, 'eth0', this.sw, 'p2');
    this.tx.ip('addr', 'add', `${TX_IP}/24`, 'dev', 'eth0');
    this.rx.ip('addr', 'add', `${RX_IP}/24`, 'dev', 'eth0');
    if (this.kind === 'linux') {
      this.sw.ip('link', 'add', 'br0', 'type', 'bridge');
      this.sw.ip('link', 'set', 'p1', 'master', 'br0');
      this.sw.ip('link', 'set', 'p2', 'master', 'br0');
      this.sw.ip('link', 'set', 'br0', 'up');
      return;
    }
    const host = new SwitchHost(this.kind, this.sw);
    this.host = host;
    await host.start();
    host.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
    host.vsctl('add-port', 'br0', 'p1');
    host.vsctl('add-port', 'br0', 'p2');
  }

  /** The PID of the process that forwards (ovs-vswitchd), for CPU accounting; none for Linux. */
  switchPid(): number | undefined {
    if (!this.host) return undefined;
    try {
      return Number(readFileSync(`${this.host.dir}/ovs-vswitchd.pid`, 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  mac(ns: Netns, dev: string): string {
    const m = /link\/ether ([0-9a-f:]{17})/.exec(ns.ip('link', 'show', dev));
    if (!m) throw new Error(`no MAC on ${ns.name} ${dev}`);
    return m[1];
  }

  async destroy(): Promise<void> {
    if (this.host) {
      await this.host.stop();
      this.host.removeDir();
    }
    for (const n of this.namespaces) n.destroy();
  }
}
