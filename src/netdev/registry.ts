/**
 * Which netdev types exist and how a device of each is opened (OVS's netdev_open with its
 * class registry). `--enable-dummy` registers the dummy classes; `--enable-dummy=override`
 * also makes every other class except `patch` a dummy device keeping its type name, as OVS
 * does for its test suite.
 *
 * With `linux` on, `system` (and "") opens an existing Linux interface through AF_PACKET, and
 * `tap` and a netdev datapath's `internal` ports open TAP devices (linux/netdev-linux.ts).
 * With it off (the in-process unit tests), `internal` ports live in memory and `system`/`tap`
 * say "No such device", what OVS says for a missing interface.
 *
 * With `linux` on, `afxdp` opens an existing interface through AF_XDP sockets (linux/afxdp.ts);
 * `afxdp-nonpmd` the same, forwarded on the main thread.
 *
 * Not yet here (each says "Address family not supported by protocol", OVS's answer for a type
 * it does not know): tunnels (vxlan, geneve, gre, ...).
 */
import { DummyNetdev, InternalNetdev } from './dummy.ts';
import { AfxdpNetdev } from './linux/afxdp.ts';
import { SystemNetdev } from './linux/system.ts';
import { TapNetdev } from './linux/tap.ts';
import { type Netdev, netdevError } from './netdev.ts';
import { PatchNetdev } from './patch.ts';

export interface NetdevClassOptions {
  /** --enable-dummy. */
  enableDummy: boolean;
  /** --enable-dummy=override. */
  override: boolean;
  /**
   * Open real Linux devices for system, tap and internal (what ovs-vswitchd does). Default
   * off: in-process tests keep everything in memory.
   */
  linux?: boolean;
}

const DUMMY_TYPES = new Set(['dummy', 'dummy-internal', 'dummy-pmd']);
/** Types real OVS knows that override turns into dummy devices. */
const OVERRIDABLE_TYPES = new Set([
  'system',
  'tap',
  'internal',
  'afxdp',
  'afxdp-nonpmd',
  'bareudp',
  'erspan',
  'geneve',
  'gre',
  'gtpu',
  'ip6erspan',
  'ip6gre',
  'lisp',
  'stt',
  'vxlan',
]);

export class NetdevRegistry {
  /** Whether system, tap and internal open real Linux devices. */
  readonly linux: boolean;

  constructor(readonly options: NetdevClassOptions) {
    this.linux = options.linux ?? false;
  }

  /**
   * Opens device `name` of `type`, where `type` is already the datapath's open type
   * (`internal` became `dummy-internal` on a dummy datapath; `internal` is still `internal` on
   * a netdev datapath, where it stands for OVS's TAP device). Throws NetdevError.
   */
  open(name: string, type: string): Netdev {
    const t = type === '' ? 'system' : type;
    if (DUMMY_TYPES.has(t)) {
      if (!this.options.enableDummy) throw netdevError('EAFNOSUPPORT');
      return new DummyNetdev(name, t);
    }
    if (t === 'patch') return new PatchNetdev(name);
    if (this.options.override && OVERRIDABLE_TYPES.has(t)) {
      return new DummyNetdev(name, t === 'internal' ? 'dummy-internal' : t);
    }
    if (this.linux) {
      if (t === 'system') return new SystemNetdev(name);
      if (t === 'tap' || t === 'internal') return new TapNetdev(name);
      if (t === 'afxdp' || t === 'afxdp-nonpmd') return new AfxdpNetdev(name, t);
    }
    if (t === 'internal') return new InternalNetdev(name);
    if (t === 'system' || t === 'tap') throw netdevError('ENODEV');
    throw netdevError('EAFNOSUPPORT');
  }

  /** What Open_vSwitch.iface_types lists: the types this process can open. */
  types(): string[] {
    const types = ['internal', 'patch', 'system', 'tap'];
    if (this.linux) types.push('afxdp', 'afxdp-nonpmd');
    if (this.options.enableDummy) types.push('dummy', 'dummy-internal', 'dummy-pmd');
    if (this.options.override) for (const t of OVERRIDABLE_TYPES) types.push(t);
    return [...new Set(types)].sort();
  }
}
