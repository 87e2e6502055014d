/**
 * ovs-vswitchd's own unixctl commands, in OVS's output formats:
 *
 *   dpif/show                          datapaths, their bridges and ports (ofport/odp port)
 *   dpif/dump-dps                      TYPE@BRIDGE of every bridge, sorted
 *   ofproto/list                       bridge names
 *   netdev-dummy/set-admin-state [netdev] up|down
 *   dpif-dummy/change-port-number DP PORT NUMBER   renumbers a dummy datapath's port
 *
 * Commands about flows and packets are in unixctl-forwarding.ts.
 */
import { type UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { dummyNetdevs, findDummyNetdev } from '../netdev/dummy.ts';
import { shashOrder } from '../ovsdb/client/index.ts';
import { allDatapaths } from './unixctl-dpctl.ts';
import { registerForwardingCommands } from './unixctl-forwarding.ts';
import type { Vswitchd } from './vswitchd.ts';

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** C's atoi: leading blanks, a sign and the digits that follow; 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1] as string, 10) | 0 : 0;
}

/** The text of `dpif/show`. */
export function dpifShow(vs: Vswitchd): string {
  let s = '';
  const bridges = [...vs.vswitch.bridges.values()].sort((a, b) => byName(a.name, b.name));
  for (const dpif of vs.backers.list()) {
    const st = dpif.getStats();
    s += `${dpif.fullName}: hit:${st.hit} missed:${st.missed}\n`;
    for (const br of bridges) {
      if (br.ofproto.dpif !== dpif) continue;
      s += `  ${br.name}:\n`;
      const ports = [...br.ofproto.ports()].sort((a, b) => byName(a.netdev.name, b.netdev.name));
      for (const p of ports) {
        s += `    ${p.netdev.name} ${p.ofpPort}/${p.odpPort === null ? 'none' : p.odpPort}: (${p.netdev.type}`;
        const config = [...p.netdev.getConfig()].sort(([a], [b]) => byName(a, b));
        config.forEach(([k, v], i) => {
          s += `${i ? ',' : ':'} ${k}=${v}`;
        });
        s += ')\n';
      }
    }
  }
  return s;
}

export function registerVswitchdCommands(cmds: UnixctlCommands, vs: Vswitchd): void {
  registerForwardingCommands(cmds, vs);
  cmds.register('dpif/show', '', 0, 0, async () => {
    await Promise.all(vs.backers.list().map((d) => d.syncStats()));
    return dpifShow(vs);
  });
  cmds.register('dpif/dump-dps', '', 0, 0, () =>
    [...vs.vswitch.bridges.values()]
      .map((b) => `${b.ofproto.type}@${b.name}`)
      .sort(byName)
      .map((n) => `${n}\n`)
      .join(''),
  );
  cmds.register('ofproto/list', '', 0, 0, () =>
    // OVS walks its table of switches, hashed by name.
    shashOrder([...vs.vswitch.bridges.keys()])
      .map((n) => `${n}\n`)
      .join(''),
  );
  cmds.register('dpif-dummy/change-port-number', 'dp port new-number', 3, 3, (args) => {
    const [dpName, port, num] = args as [string, string, string];
    const dpif = allDatapaths(vs).find(
      (d) => d.fullName.slice(d.fullName.indexOf('@') + 1) === dpName,
    );
    if (!dpif?.dummyClass) throw new UnixctlError('unknown datapath or not a dummy');
    const err = dpif.changePortNumber(port, atoi(num));
    if (err !== null) throw new UnixctlError(err);
    for (const b of vs.vswitch.bridges.values())
      if (b.ofproto.dpif === dpif) b.ofproto.odpPortsChanged();
    return '';
  });
  cmds.register('netdev-dummy/set-admin-state', '[netdev] up|down', 1, 2, (args) => {
    const state = (args[args.length - 1] ?? '').toLowerCase();
    if (state !== 'up' && state !== 'down') throw new UnixctlError('Invalid Admin State');
    const up = state === 'up';
    if (args.length > 1) {
      const dev = findDummyNetdev(args[0] as string);
      if (!dev) throw new UnixctlError('Unknown Dummy Interface');
      dev.setUp(up);
    } else {
      for (const dev of dummyNetdevs()) dev.setUp(up);
    }
    for (const b of vs.vswitch.bridges.values()) b.ofproto.syncPorts();
    vs.refreshStatusSoon();
    return 'OK';
  });
}
