/**
 * The forwarding bench's topology: one switch namespace between a sender and a receiver,
 * joined by veth pairs, with the switch one of three kinds:
 *
 *   tx eth0 ── p1 ┐                 ┌ p2 ── eth0 rx
 *                 └ sw: bridge br0 ─┘
 *
 *   'ours'      TypeSwitch (bin/ovsdb-server + bin/ovs-vswitchd), datapath_type=netdev, with
 *               its default userspace TSO: the veths keep their offloads (GSO, checksum)
 *   'ours-notso' TypeSwitch with other_config:userspace-tso-enable=false, offloads off
 *   'real'      Open vSwitch 3.1, datapath_type=netdev (its userspace datapath), as OVS's docs
 *               advise for veth: transmit checksum offload off, no userspace TSO
 *   'real-tso'  the same with other_config:userspace-tso-enable=true and the offloads on
 *   'ours-xsktx' 'ours' with TYPESWITCH_XSK_TX=1: system ports send plain frames through a
 *               transmit-only AF_XDP socket (receive stays on the AF_PACKET ring)
 *   'ours-afxdp' TypeSwitch with type=afxdp ports (native XDP on veth, copy mode), offloads off
 *   'real-afxdp' Open vSwitch 3.1 with type=afxdp ports (Debian's is built with AF_XDP; they
 *               are PMD ports: a thread polls them without sleeping), offloads off
 *   'linux'     the kernel's bridge (ip link add type bridge), offloads on
 *
 * BENCH_DIST=<dir> runs our daemons from another bundle of the same entry points (e.g. the
 * tree of another commit, for A/B runs) instead of dist/cli.
 *
 * The sender and receiver get 198.18.0.1/24 and 198.18.0.2/24. Everything is removed by
 * destroy(): daemons by PID, then the namespaces (which take their veths with them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netns, SwitchHost, type SwitchLaunch, vethBetween } from '../../test/netns-harness.ts';

export type SwitchKind =
  | 'ours'
  | 'ours-notso'
  | 'ours-afxdp'
  | 'ours-xsktx'
  | 'real'
  | 'real-tso'
  | 'real-afxdp'
  | 'linux';

/** Whether the kind's veths keep their transmit offloads (checksum, TSO). */
export function offloadsOn(kind: SwitchKind): boolean {
  return kind === 'ours' || kind === 'ours-xsktx' || kind === 'real-tso' || kind === 'linux';
}

/** Whether the switch's ports are `afxdp` (AF_XDP sockets and an XDP program) on the veths. */
export function afxdpPorts(kind: SwitchKind): boolean {
  return kind.endsWith('-afxdp');
}

function launchFor(kind: SwitchKind): SwitchLaunch {
  const dist = process.env.BENCH_DIST;
  if (!dist || !kind.startsWith('ours')) return {};
  return {
    ovsdbServer: [process.execPath, join(dist, 'ovsdb-server.js')],
    vswitchd: [process.execPath, join(dist, 'ovs-vswitchd.js')],
  };
}

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
    if (offloadsOn(this.kind)) {
      // vethBetween turned them off (the tests' setting): back to the kernel's defaults.
      for (const [n, dev] of [
        [this.tx, 'eth0'],
        [this.rx, 'eth0'],
        [this.sw, 'p1'],
        [this.sw, 'p2'],
      ] as const)
        n.exec('ethtool', '-K', dev, 'tx', 'on', 'tso', 'on', 'gso', 'on');
    }
    if (this.kind === 'linux') {
      this.sw.ip('link', 'add', 'br0', 'type', 'bridge');
      this.sw.ip('link', 'set', 'p1', 'master', 'br0');
      this.sw.ip('link', 'set', 'p2', 'master', 'br0');
      this.sw.ip('link', 'set', 'br0', 'up');
      return;
    }
    const impl = this.kind.startsWith('ours') ? 'ours' : 'real';
    // TYPESWITCH_XSK_TX=1: system ports transmit through AF_XDP (src/netdev/linux/pmd-port.ts).
    const saved = process.env.TYPESWITCH_XSK_TX;
    if (this.kind === 'ours-xsktx') process.env.TYPESWITCH_XSK_TX = '1';
    let host: SwitchHost;
    try {
      host = new SwitchHost(impl, this.sw, launchFor(this.kind));
    } finally {
      if (saved === undefined) delete process.env.TYPESWITCH_XSK_TX;
      else process.env.TYPESWITCH_XSK_TX = saved;
    }
    this.host = host;
    await host.start();
    const tso = this.kind === 'ours' || this.kind === 'ours-xsktx' || this.kind === 'real-tso';
    // Read as ports are opened (OVS: from its configuration pass on, never turned off again),
    // so it goes in before the bridge.
    host.vsctl('set', 'Open_vSwitch', '.', `other_config:userspace-tso-enable=${tso}`);
    host.vsctl('add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev');
    for (const p of ['p1', 'p2']) {
      if (afxdpPorts(this.kind))
        host.vsctl('add-port', 'br0', p, '--', 'set', 'interface', p, 'type=afxdp');
      else host.vsctl('add-port', 'br0', p);
    }
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
