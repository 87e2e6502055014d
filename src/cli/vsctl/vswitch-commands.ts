/**
 * ovs-vsctl's own commands over bridges, ports and interfaces, including VLAN ("fake")
 * bridges: a fake bridge is a Port with fake_bridge=true and a tag, living in its parent.
 * A cache maps names to bridges/ports/interfaces as OVS's vsctl_context does, and is
 * rebuilt whenever a generic database command may have changed things under it.
 */
import type { Atom, Datum } from '../../ovsdb/types.ts';
import { type CommandSyntax, type CtlContext, fatal, type PreContext, VsctlExit } from './ctl.ts';
import { setColumn } from './db-commands.ts';
import type { IdlRow } from './idl.ts';

export interface VsBridge {
  brCfg: IdlRow | null;
  name: string;
  ports: VsPort[];
  children: Map<number, VsBridge>;
  parent: VsBridge | null;
  vlan: number;
}
export interface VsPort {
  portCfg: IdlRow;
  bridge: VsBridge;
  ifaces: VsIface[];
}
export interface VsIface {
  ifaceCfg: IdlRow;
  port: VsPort;
}
export interface VsCache {
  bridges: Map<string, VsBridge>;
  ports: Map<string, VsPort>;
  ifaces: Map<string, VsIface>;
}

/* ---------- small row accessors ---------- */

function str(ctx: CtlContext, row: IdlRow, col: string): string {
  const d = ctx.idl.col(row, col);
  return (d.keys[0] as string | undefined) ?? '';
}
function uuids(ctx: CtlContext, row: IdlRow, col: string): string[] {
  return ctx.idl.col(row, col).keys as string[];
}
function optInt(ctx: CtlContext, row: IdlRow, col: string): number | null {
  const d = ctx.idl.col(row, col);
  return d.keys.length ? (d.keys[0] as number) : null;
}
function setOf(keys: Atom[]): Datum {
  return { keys: [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), values: null };
}
function one(v: Atom): Datum {
  return { keys: [v], values: null };
}
const NONE: Datum = { keys: [], values: null };

function refs(ctx: CtlContext, row: IdlRow, col: string, table: string): IdlRow[] {
  const out: IdlRow[] = [];
  for (const u of uuids(ctx, row, col)) {
    const r = ctx.idl.get(table, u);
    if (r) out.push(r);
  }
  return out;
}

/** OVS's byte-wise sort of C strings. */
function byteSort(a: string[]): string[] {
  return a.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
}

/* ---------- the cache ---------- */

function isFakeBridgePort(ctx: CtlContext, port: IdlRow): boolean {
  const fake = ctx.idl.col(port, 'fake_bridge').keys[0] === true;
  const tag = optInt(ctx, port, 'tag');
  return fake && tag !== null && tag >= 0 && tag <= 4095;
}

function addBridgeToCache(
  ctx: CtlContext,
  cache: VsCache,
  brCfg: IdlRow | null,
  name: string,
  parent: VsBridge | null,
  vlan: number,
): VsBridge {
  const br: VsBridge = { brCfg, name, ports: [], children: new Map(), parent, vlan };
  if (parent) {
    const conflict = parent.children.get(vlan);
    if (conflict) {
      ctx.warn(
        'vsctl',
        `${parent.name}: bridge has multiple VLAN bridges (${name} and ${conflict.name}) for VLAN ${vlan}, but only one is allowed`,
      );
    } else {
      parent.children.set(vlan, br);
    }
  }
  cache.bridges.set(name, br);
  return br;
}

function addPortToCache(
  ctx: CtlContext,
  cache: VsCache,
  parent: VsBridge,
  portCfg: IdlRow,
): VsPort {
  const tag = optInt(ctx, portCfg, 'tag');
  if (tag !== null && tag >= 0 && tag <= 4095) {
    const vb = parent.children.get(tag);
    if (vb) parent = vb;
  }
  const port: VsPort = { portCfg, bridge: parent, ifaces: [] };
  parent.ports.push(port);
  cache.ports.set(str(ctx, portCfg, 'name'), port);
  return port;
}

function addIfaceToCache(ctx: CtlContext, cache: VsCache, port: VsPort, ifaceCfg: IdlRow): VsIface {
  const iface: VsIface = { ifaceCfg, port };
  port.ifaces.push(iface);
  cache.ifaces.set(str(ctx, ifaceCfg, 'name'), iface);
  return iface;
}

export function populateCache(ctx: CtlContext): VsCache {
  if (ctx.cache) return ctx.cache as VsCache;
  const cache: VsCache = { bridges: new Map(), ports: new Map(), ifaces: new Map() };
  ctx.cache = cache;
  const brRows = refs(ctx, ctx.ovs, 'bridges', 'Bridge');
  const seenBr = new Set<string>();
  const seenPorts = new Set<string>();
  for (const brCfg of brRows) {
    const name = str(ctx, brCfg, 'name');
    if (seenBr.has(name)) {
      ctx.warn('vsctl', `${name}: database contains duplicate bridge name`);
      continue;
    }
    seenBr.add(name);
    const br = addBridgeToCache(ctx, cache, brCfg, name, null, 0);
    for (const portCfg of refs(ctx, brCfg, 'ports', 'Port')) {
      const pname = str(ctx, portCfg, 'name');
      if (seenPorts.has(pname)) continue;
      seenPorts.add(pname);
      if (isFakeBridgePort(ctx, portCfg) && !seenBr.has(pname)) {
        seenBr.add(pname);
        addBridgeToCache(ctx, cache, null, pname, br, optInt(ctx, portCfg, 'tag') as number);
      }
    }
  }
  const seen2 = new Set<string>();
  for (const brCfg of brRows) {
    const name = str(ctx, brCfg, 'name');
    if (seen2.has(name)) continue;
    seen2.add(name);
    const br = cache.bridges.get(name) as VsBridge;
    for (const portCfg of refs(ctx, brCfg, 'ports', 'Port')) {
      const pname = str(ctx, portCfg, 'name');
      const existing = cache.ports.get(pname);
      if (existing) {
        if (existing.portCfg === portCfg) {
          ctx.warn(
            'vsctl',
            `${pname}: port is in multiple bridges (${br.name} and ${existing.bridge.name})`,
          );
        }
        continue;
      }
      if (isFakeBridgePort(ctx, portCfg) && seen2.has(pname)) continue;
      if (isFakeBridgePort(ctx, portCfg)) seen2.add(pname);
      const port = addPortToCache(ctx, cache, br, portCfg);
      for (const ifaceCfg of refs(ctx, portCfg, 'interfaces', 'Interface')) {
        const iname = str(ctx, ifaceCfg, 'name');
        const ex = cache.ifaces.get(iname);
        if (ex) {
          if (ex.ifaceCfg === ifaceCfg) {
            ctx.warn(
              'vsctl',
              `${iname}: interface is in multiple ports (${str(ctx, ex.port.portCfg, 'name')} and ${pname})`,
            );
          }
          continue;
        }
        addIfaceToCache(ctx, cache, port, ifaceCfg);
      }
    }
  }
  return cache;
}

function verifyPorts(ctx: CtlContext): void {
  if (ctx.verifiedPorts) return;
  ctx.idl.verifyName(ctx.ovs, 'bridges');
  for (const br of ctx.idl.rows('Bridge')) ctx.idl.verifyName(br, 'ports');
  for (const p of ctx.idl.rows('Port')) ctx.idl.verifyName(p, 'interfaces');
  ctx.verifiedPorts = true;
}

function checkConflicts(ctx: CtlContext, cache: VsCache, name: string, msg: string): void {
  verifyPorts(ctx);
  if (cache.bridges.has(name)) fatal(`${msg} because a bridge named ${name} already exists`);
  const port = cache.ports.get(name);
  if (port)
    fatal(`${msg} because a port named ${name} already exists on bridge ${port.bridge.name}`);
  const iface = cache.ifaces.get(name);
  if (iface) {
    fatal(
      `${msg} because an interface named ${name} already exists on bridge ${iface.port.bridge.name}`,
    );
  }
}

function findBridge(
  ctx: CtlContext,
  cache: VsCache,
  name: string,
  mustExist: boolean,
): VsBridge | null {
  const br = cache.bridges.get(name) ?? null;
  if (mustExist && !br) fatal(`no bridge named ${name}`);
  ctx.idl.verifyName(ctx.ovs, 'bridges');
  return br;
}

function findRealBridge(
  ctx: CtlContext,
  cache: VsCache,
  name: string,
  mustExist: boolean,
): VsBridge | null {
  const br = findBridge(ctx, cache, name, mustExist);
  if (br?.parent) fatal(`${name} is a fake bridge`);
  return br;
}

function findPort(
  ctx: CtlContext,
  cache: VsCache,
  name: string,
  mustExist: boolean,
): VsPort | null {
  let port = cache.ports.get(name) ?? null;
  if (port && name === port.bridge.name) port = null;
  if (mustExist && !port) fatal(`no port named ${name}`);
  verifyPorts(ctx);
  return port;
}

function findIface(
  ctx: CtlContext,
  cache: VsCache,
  name: string,
  mustExist: boolean,
): VsIface | null {
  let iface = cache.ifaces.get(name) ?? null;
  if (iface && name === iface.port.bridge.name) iface = null;
  if (mustExist && !iface) fatal(`no interface named ${name}`);
  verifyPorts(ctx);
  return iface;
}

function bridgeInsertPort(ctx: CtlContext, br: IdlRow, port: IdlRow): void {
  ctx.idl.set(br, 'ports', setOf([...uuids(ctx, br, 'ports'), port.uuid]));
}
function bridgeDeletePort(ctx: CtlContext, br: IdlRow, port: IdlRow): void {
  ctx.idl.set(br, 'ports', setOf(uuids(ctx, br, 'ports').filter((u) => u !== port.uuid)));
}

function cmdInit(_ctx: CtlContext): void {}

/* ---------- bridges ---------- */

function cmdAddBr(ctx: CtlContext): void {
  const mayExist = ctx.options.has('--may-exist');
  const brName = ctx.argv[1] as string;
  if (brName === '') fatal('bridge name must not be empty string');
  let parentName: string | null = null;
  let vlan = 0;
  if (ctx.argv.length === 2) {
    // plain bridge
  } else if (ctx.argv.length === 4) {
    parentName = ctx.argv[2] as string;
    vlan = atoi(ctx.argv[3] as string);
    if (vlan < 0 || vlan > 4095) fatal(`${ctx.argv[0]}: vlan must be between 0 and 4095`);
  } else {
    fatal(`'${ctx.argv[0]}' command takes exactly 1 or 3 arguments`);
  }
  const cache = populateCache(ctx);
  if (mayExist) {
    const br = findBridge(ctx, cache, brName, false);
    if (br) {
      if (parentName === null) {
        if (br.parent) {
          fatal(
            `"--may-exist add-br ${brName}" but ${brName} is a VLAN bridge for VLAN ${br.vlan}`,
          );
        }
      } else if (!br.parent) {
        fatal(
          `"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} is not a VLAN bridge`,
        );
      } else if (br.parent.name !== parentName) {
        fatal(
          `"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} has the wrong parent ${br.parent.name}`,
        );
      } else if (br.vlan !== vlan) {
        fatal(
          `"--may-exist add-br ${brName} ${parentName} ${vlan}" but ${brName} is a VLAN bridge for the wrong VLAN ${br.vlan}`,
        );
      }
      return;
    }
  }
  checkConflicts(ctx, cache, brName, `cannot create a bridge named ${brName}`);
  const idl = ctx.idl;
  if (parentName === null) {
    const iface = idl.insert('Interface');
    ctx.newIfaces.push(iface.uuid);
    idl.set(iface, 'name', one(brName));
    idl.set(iface, 'type', one('internal'));
    const port = idl.insert('Port');
    idl.set(port, 'name', one(brName));
    idl.set(port, 'interfaces', one(iface.uuid));
    const br = idl.insert('Bridge');
    idl.set(br, 'name', one(brName));
    idl.set(br, 'ports', one(port.uuid));
    idl.set(ctx.ovs, 'bridges', setOf([...uuids(ctx, ctx.ovs, 'bridges'), br.uuid]));
  } else {
    const parent = findBridge(ctx, cache, parentName, false);
    if (parent?.parent) fatal('cannot create bridge with fake bridge as parent');
    if (!parent) fatal(`parent bridge ${parentName} does not exist`);
    const conflict = parent.children.get(vlan);
    if (conflict) {
      fatal(
        `bridge ${parentName} already has a child VLAN bridge ${conflict.name} on VLAN ${vlan}`,
      );
    }
    const iface = idl.insert('Interface');
    ctx.newIfaces.push(iface.uuid);
    idl.set(iface, 'name', one(brName));
    idl.set(iface, 'type', one('internal'));
    const port = idl.insert('Port');
    idl.set(port, 'name', one(brName));
    idl.set(port, 'interfaces', one(iface.uuid));
    idl.set(port, 'fake_bridge', one(true));
    idl.set(port, 'tag', one(vlan));
    bridgeInsertPort(ctx, parent.brCfg as IdlRow, port);
  }
  ctx.invalidateCache();
}

/** C's atoi: leading spaces, optional sign, digits; anything else stops (0 if none). */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

function delPort(ctx: CtlContext, cache: VsCache, port: VsPort): void {
  const br = port.bridge.parent ? port.bridge.parent.brCfg : port.bridge.brCfg;
  bridgeDeletePort(ctx, br as IdlRow, port.portCfg);
  for (const iface of [...port.ifaces]) {
    cache.ifaces.delete(str(ctx, iface.ifaceCfg, 'name'));
    ctx.idl.delete(iface.ifaceCfg);
  }
  port.ifaces = [];
  port.bridge.ports = port.bridge.ports.filter((p) => p !== port);
  cache.ports.delete(str(ctx, port.portCfg, 'name'));
  ctx.idl.delete(port.portCfg);
}

function delBridge(ctx: CtlContext, cache: VsCache, br: VsBridge): void {
  for (const child of [...br.children.values()]) delBridge(ctx, cache, child);
  for (const port of [...br.ports]) delPort(ctx, cache, port);
  if (br.brCfg) {
    for (const fs of [...ctx.idl.rows('Flow_Sample_Collector_Set')]) {
      if (ctx.idl.col(fs, 'bridge').keys[0] === br.brCfg.uuid) ctx.idl.delete(fs);
    }
  }
  if (br.parent) br.parent.children.delete(br.vlan);
  if (br.brCfg) {
    ctx.idl.delete(br.brCfg);
    const u = br.brCfg.uuid;
    ctx.idl.set(ctx.ovs, 'bridges', setOf(uuids(ctx, ctx.ovs, 'bridges').filter((x) => x !== u)));
  }
  cache.bridges.delete(br.name);
}

function cmdDelBr(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, mustExist);
  if (br) delBridge(ctx, cache, br);
}

function outputSorted(ctx: CtlContext, names: string[]): void {
  for (const n of byteSort(names)) ctx.output += `${n}\n`;
}

function cmdListBr(ctx: CtlContext): void {
  let real = ctx.options.has('--real');
  let fake = ctx.options.has('--fake');
  if (!real && !fake) real = fake = true;
  const cache = populateCache(ctx);
  const names: string[] = [];
  for (const br of cache.bridges.values()) if (br.parent ? fake : real) names.push(br.name);
  outputSorted(ctx, names);
}

function cmdBrExists(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  if (!findBridge(ctx, cache, ctx.argv[1] as string, false)) throw new VsctlExit(2);
}

function smapWith(d: Datum, key: string, value: string | null): Datum {
  const keys: Atom[] = [];
  const values: Atom[] = [];
  let placed = false;
  const dv = d.values ?? [];
  for (let i = 0; i < d.keys.length; i++) {
    const k = d.keys[i] as string;
    if (k === key) {
      if (value !== null) {
        keys.push(k);
        values.push(value);
      }
      placed = true;
      continue;
    }
    if (!placed && value !== null && Buffer.compare(Buffer.from(key), Buffer.from(k)) < 0) {
      keys.push(key);
      values.push(value);
      placed = true;
    }
    keys.push(k);
    values.push(dv[i] as Atom);
  }
  if (!placed && value !== null) {
    keys.push(key);
    values.push(value);
  }
  return { keys, values };
}

function cmdBrSetExternalId(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  const value = ctx.argv.length >= 4 ? (ctx.argv[3] as string) : null;
  if (br.brCfg) {
    ctx.idl.verifyName(br.brCfg, 'external_ids');
    ctx.idl.set(
      br.brCfg,
      'external_ids',
      smapWith(ctx.idl.col(br.brCfg, 'external_ids'), ctx.argv[2] as string, value),
    );
  } else {
    const port = cache.ports.get(ctx.argv[1] as string) as VsPort;
    ctx.idl.verifyName(port.portCfg, 'external_ids');
    ctx.idl.set(
      port.portCfg,
      'external_ids',
      smapWith(ctx.idl.col(port.portCfg, 'external_ids'), `fake-bridge-${ctx.argv[2]}`, value),
    );
  }
}

function getExternalId(ctx: CtlContext, d: Datum, prefix: string, key: string | null): void {
  const vals = d.values ?? [];
  if (key !== null) {
    const i = d.keys.indexOf(prefix + key);
    if (i >= 0) ctx.output += `${vals[i]}\n`;
    return;
  }
  for (let i = 0; i < d.keys.length; i++) {
    const k = d.keys[i] as string;
    if (k.startsWith(prefix)) ctx.output += `${k.slice(prefix.length)}=${vals[i]}\n`;
  }
}

function cmdBrGetExternalId(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  const key = ctx.argv.length >= 3 ? (ctx.argv[2] as string) : null;
  if (br.brCfg) {
    ctx.idl.verifyName(br.brCfg, 'external_ids');
    getExternalId(ctx, ctx.idl.col(br.brCfg, 'external_ids'), '', key);
  } else {
    const port = cache.ports.get(ctx.argv[1] as string) as VsPort;
    ctx.idl.verifyName(port.portCfg, 'external_ids');
    getExternalId(ctx, ctx.idl.col(port.portCfg, 'external_ids'), 'fake-bridge-', key);
  }
}

function cmdBrToVlan(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  ctx.output += `${br.vlan}\n`;
}

function cmdBrToParent(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  if (br.parent) br = br.parent;
  ctx.output += `${br.name}\n`;
}

/* ---------- ports ---------- */

function cmdListPorts(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  ctx.idl.verifyName((br.brCfg ?? br.parent?.brCfg) as IdlRow, 'ports');
  const names: string[] = [];
  for (const p of br.ports) {
    const n = str(ctx, p.portCfg, 'name');
    if (n !== br.name) names.push(n);
  }
  outputSorted(ctx, names);
}

function commandString(ctx: CtlContext): string {
  const words = [...ctx.options.keys(), ...ctx.argv];
  return words.map(escapeArg).join(' ');
}

/** OVS's process_escape_args: double-quote words containing blanks, quotes or backslashes. */
export function escapeArg(s: string): string {
  if (!/[ \t\r\n\v\\'"]/.test(s)) return s;
  let out = '"';
  for (const c of s) out += c === '"' || c === '\\' ? `\\${c}` : c;
  return `${out}"`;
}

function addPort(
  ctx: CtlContext,
  brName: string,
  portName: string,
  mayExist: boolean,
  fakeIface: boolean,
  ifaceNames: string[],
  settings: string[],
): void {
  if (portName === '') fatal('port name must not be empty string');
  for (const n of ifaceNames) if (n === '') fatal('interface name must not be empty string');
  const cache = populateCache(ctx);
  if (mayExist) {
    const vp = findPort(ctx, cache, portName, false);
    if (vp) {
      const want = byteSort([...ifaceNames]);
      const have = byteSort(
        refs(ctx, vp.portCfg, 'interfaces', 'Interface').map((i) => str(ctx, i, 'name')),
      );
      if (vp.bridge.name !== brName) {
        fatal(
          `"${commandString(ctx)}" but ${portName} is actually attached to bridge ${vp.bridge.name}`,
        );
      }
      if (want.join('\0') !== have.join('\0')) {
        fatal(
          `"${commandString(ctx)}" but ${portName} actually has interface(s) ${have.join(', ')}`,
        );
      }
      return;
    }
  }
  checkConflicts(ctx, cache, portName, `cannot create a port named ${portName}`);
  for (const n of ifaceNames)
    checkConflicts(ctx, cache, n, `cannot create an interface named ${n}`);
  const bridge = findBridge(ctx, cache, brName, true) as VsBridge;
  const idl = ctx.idl;
  const ifaces = ifaceNames.map((n) => {
    const r = idl.insert('Interface');
    ctx.newIfaces.push(r.uuid);
    idl.set(r, 'name', one(n));
    return r;
  });
  const port = idl.insert('Port');
  idl.set(port, 'name', one(portName));
  idl.set(port, 'interfaces', setOf(ifaces.map((i) => i.uuid)));
  idl.set(port, 'bond_fake_iface', one(fakeIface));
  if (bridge.parent) idl.set(port, 'tag', one(bridge.vlan));
  const portTable = idl.table('Port');
  for (const s of settings) setColumn(ctx, portTable, port, s);
  bridgeInsertPort(ctx, (bridge.parent ? bridge.parent.brCfg : bridge.brCfg) as IdlRow, port);
  const vp = addPortToCache(ctx, cache, bridge, port);
  for (const i of ifaces) addIfaceToCache(ctx, cache, vp, i);
}

function cmdAddPort(ctx: CtlContext): void {
  addPort(
    ctx,
    ctx.argv[1] as string,
    ctx.argv[2] as string,
    ctx.options.has('--may-exist'),
    false,
    [ctx.argv[2] as string],
    ctx.argv.slice(3),
  );
}

function cmdAddBond(ctx: CtlContext): void {
  let n = ctx.argv.length - 3;
  for (let i = 3; i < ctx.argv.length; i++) {
    if ((ctx.argv[i] as string).includes('=')) {
      n = i - 3;
      break;
    }
  }
  if (n < 2) fatal(`add-bond requires at least 2 interfaces, but only ${n} were specified`);
  addPort(
    ctx,
    ctx.argv[1] as string,
    ctx.argv[2] as string,
    ctx.options.has('--may-exist'),
    ctx.options.has('--fake-iface'),
    ctx.argv.slice(3, 3 + n),
    ctx.argv.slice(3 + n),
  );
}

function cmdAddBondIface(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const port = findPort(ctx, cache, ctx.argv[1] as string, true) as VsPort;
  const ifaceName = ctx.argv[2] as string;
  if (ctx.options.has('--may-exist')) {
    const iface = findIface(ctx, cache, ifaceName, false);
    if (iface) {
      if (iface.port === port) return;
      fatal(
        `"${commandString(ctx)}" but ${ifaceName} is actually attached to port ${str(ctx, iface.port.portCfg, 'name')}`,
      );
    }
  }
  checkConflicts(ctx, cache, ifaceName, `cannot create an interface named ${ifaceName}`);
  const iface = ctx.idl.insert('Interface');
  ctx.newIfaces.push(iface.uuid);
  ctx.idl.set(iface, 'name', one(ifaceName));
  ctx.idl.set(
    port.portCfg,
    'interfaces',
    setOf([...uuids(ctx, port.portCfg, 'interfaces'), iface.uuid]),
  );
  addIfaceToCache(ctx, cache, port, iface);
}

function cmdDelBondIface(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const ifaceName = ctx.argv[ctx.argv.length - 1] as string;
  const mustExist = !ctx.options.has('--if-exists');
  const iface = findIface(ctx, cache, ifaceName, mustExist);
  if (!iface) return;
  if (ctx.argv.length > 2) {
    const portName = ctx.argv[1] as string;
    const port = findPort(ctx, cache, portName, true);
    if (iface.port !== port) fatal(`port ${portName} does not have an interface ${ifaceName}`);
  }
  if (iface.port.ifaces.length <= 1) {
    fatal(`cannot delete last interface from port ${str(ctx, iface.port.portCfg, 'name')}`);
  }
  const p = iface.port.portCfg;
  ctx.idl.set(
    p,
    'interfaces',
    setOf(uuids(ctx, p, 'interfaces').filter((u) => u !== iface.ifaceCfg.uuid)),
  );
  iface.port.ifaces = iface.port.ifaces.filter((i) => i !== iface);
  cache.ifaces.delete(ifaceName);
  ctx.idl.delete(iface.ifaceCfg);
}

function cmdDelPort(ctx: CtlContext): void {
  const mustExist = !ctx.options.has('--if-exists');
  const withIface = ctx.options.has('--with-iface');
  const target = ctx.argv[ctx.argv.length - 1] as string;
  const cache = populateCache(ctx);
  let port: VsPort | null;
  if (findBridge(ctx, cache, target, false)) {
    if (mustExist) {
      fatal(
        `cannot delete port ${target} because it is the local port for bridge ${target} (deleting this port requires deleting the entire bridge)`,
      );
    }
    port = null;
  } else if (!withIface) {
    port = findPort(ctx, cache, target, mustExist);
  } else {
    port = findPort(ctx, cache, target, false);
    if (!port) {
      const iface = findIface(ctx, cache, target, false);
      if (iface) port = iface.port;
    }
    if (mustExist && !port) fatal(`no port or interface named ${target}`);
  }
  if (!port) return;
  if (ctx.argv.length === 3) {
    const bridge = findBridge(ctx, cache, ctx.argv[1] as string, true);
    if (port.bridge !== bridge) {
      if (port.bridge.parent === bridge) {
        fatal(
          `bridge ${ctx.argv[1]} does not have a port ${ctx.argv[2]} (although its child bridge ${port.bridge.name} does)`,
        );
      }
      fatal(`bridge ${ctx.argv[1]} does not have a port ${ctx.argv[2]}`);
    }
  }
  delPort(ctx, cache, port);
}

function cmdPortToBr(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const port = findPort(ctx, cache, ctx.argv[1] as string, true) as VsPort;
  ctx.output += `${port.bridge.name}\n`;
}

/* ---------- interfaces ---------- */

function cmdListIfaces(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  verifyPorts(ctx);
  const names: string[] = [];
  for (const p of br.ports) {
    for (const i of p.ifaces) {
      const n = str(ctx, i.ifaceCfg, 'name');
      if (n !== br.name) names.push(n);
    }
  }
  outputSorted(ctx, names);
}

function cmdIfaceToBr(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const iface = findIface(ctx, cache, ctx.argv[1] as string, true) as VsIface;
  ctx.output += `${iface.port.bridge.name}\n`;
}

/* ---------- controllers and fail mode ---------- */

function verifyControllers(ctx: CtlContext, br: IdlRow): void {
  ctx.idl.verifyName(br, 'controller');
  for (const c of refs(ctx, br, 'controller', 'Controller')) ctx.idl.verifyName(c, 'target');
}

function cmdGetController(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  if (br.parent) br = br.parent;
  const cfg = br.brCfg as IdlRow;
  verifyControllers(ctx, cfg);
  outputSorted(
    ctx,
    refs(ctx, cfg, 'controller', 'Controller').map((c) => str(ctx, c, 'target')),
  );
}

function cmdDelController(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = (findRealBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge).brCfg as IdlRow;
  verifyControllers(ctx, br);
  const ctrls = refs(ctx, br, 'controller', 'Controller');
  if (uuids(ctx, br, 'controller').length) {
    for (const c of ctrls) ctx.idl.delete(c);
    ctx.idl.set(br, 'controller', NONE);
  }
}

const VCONN_RE = /^(tcp|ssl|unix):.|^(ptcp|pssl|punix):/;

function insertControllers(
  ctx: CtlContext,
  targets: string[],
  table: 'Controller' | 'Manager',
): IdlRow[] {
  const probe = ctx.options.get('--inactivity-probe');
  return targets.map((t) => {
    if (!VCONN_RE.test(t)) ctx.warn('vsctl', `target type "${t}" is possibly erroneous`);
    const r = ctx.idl.insert(table);
    ctx.idl.set(r, 'target', one(t));
    if (probe !== undefined && probe !== null) ctx.idl.set(r, 'inactivity_probe', one(atoi(probe)));
    return r;
  });
}

function cmdSetController(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = (findRealBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge).brCfg as IdlRow;
  verifyControllers(ctx, br);
  for (const c of refs(ctx, br, 'controller', 'Controller')) ctx.idl.delete(c);
  const ctrls = insertControllers(ctx, ctx.argv.slice(2), 'Controller');
  ctx.idl.set(br, 'controller', setOf(ctrls.map((c) => c.uuid)));
}

function cmdGetFailMode(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  if (br.parent) br = br.parent;
  const cfg = br.brCfg as IdlRow;
  ctx.idl.verifyName(cfg, 'fail_mode');
  const mode = str(ctx, cfg, 'fail_mode');
  if (mode) ctx.output += `${mode}\n`;
}

function cmdDelFailMode(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  ctx.idl.set(br.brCfg as IdlRow, 'fail_mode', NONE);
}

function cmdSetFailMode(ctx: CtlContext): void {
  const cache = populateCache(ctx);
  const br = findRealBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  const mode = ctx.argv[2] as string;
  if (mode !== 'standalone' && mode !== 'secure')
    fatal('fail-mode must be "standalone" or "secure"');
  ctx.idl.set(br.brCfg as IdlRow, 'fail_mode', one(mode));
}

/* ---------- managers ---------- */

function verifyManagers(ctx: CtlContext): void {
  ctx.idl.verifyName(ctx.ovs, 'manager_options');
  for (const m of refs(ctx, ctx.ovs, 'manager_options', 'Manager')) ctx.idl.verifyName(m, 'target');
}

function cmdGetManager(ctx: CtlContext): void {
  verifyManagers(ctx);
  const targets = [
    ...new Set(refs(ctx, ctx.ovs, 'manager_options', 'Manager').map((m) => str(ctx, m, 'target'))),
  ];
  outputSorted(ctx, targets);
}

function deleteManagers(ctx: CtlContext): void {
  for (const m of refs(ctx, ctx.ovs, 'manager_options', 'Manager')) ctx.idl.delete(m);
  ctx.idl.set(ctx.ovs, 'manager_options', NONE);
}

function cmdDelManager(ctx: CtlContext): void {
  verifyManagers(ctx);
  deleteManagers(ctx);
}

function cmdSetManager(ctx: CtlContext): void {
  verifyManagers(ctx);
  deleteManagers(ctx);
  const mgrs = insertControllers(ctx, ctx.argv.slice(1), 'Manager');
  ctx.idl.set(ctx.ovs, 'manager_options', setOf(mgrs.map((m) => m.uuid)));
}

/* ---------- SSL ---------- */

function sslRow(ctx: CtlContext): IdlRow | null {
  const u = uuids(ctx, ctx.ovs, 'ssl')[0];
  return u ? (ctx.idl.get('SSL', u) ?? null) : null;
}

function cmdGetSsl(ctx: CtlContext): void {
  const ssl = sslRow(ctx);
  ctx.idl.verifyName(ctx.ovs, 'ssl');
  if (!ssl) return;
  for (const c of ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert'])
    ctx.idl.verifyName(ssl, c);
  ctx.output += `Private key: ${str(ctx, ssl, 'private_key')}\n`;
  ctx.output += `Certificate: ${str(ctx, ssl, 'certificate')}\n`;
  ctx.output += `CA Certificate: ${str(ctx, ssl, 'ca_cert')}\n`;
  ctx.output += `Bootstrap: ${ctx.idl.col(ssl, 'bootstrap_ca_cert').keys[0] === true ? 'true' : 'false'}\n`;
}

function cmdDelSsl(ctx: CtlContext): void {
  const ssl = sslRow(ctx);
  if (!ssl) return;
  ctx.idl.verifyName(ctx.ovs, 'ssl');
  ctx.idl.delete(ssl);
  ctx.idl.set(ctx.ovs, 'ssl', NONE);
}

function cmdSetSsl(ctx: CtlContext): void {
  const old = sslRow(ctx);
  ctx.idl.verifyName(ctx.ovs, 'ssl');
  if (old) ctx.idl.delete(old);
  const ssl = ctx.idl.insert('SSL');
  ctx.idl.set(ssl, 'private_key', one(ctx.argv[1] as string));
  ctx.idl.set(ssl, 'certificate', one(ctx.argv[2] as string));
  ctx.idl.set(ssl, 'ca_cert', one(ctx.argv[3] as string));
  ctx.idl.set(ssl, 'bootstrap_ca_cert', one(ctx.options.has('--bootstrap')));
  ctx.idl.set(ctx.ovs, 'ssl', one(ssl.uuid));
}

/* ---------- auto-attach ---------- */

function parseUll(s: string): number {
  const m = /^\s*[+-]?\d+/.exec(s);
  if (!m) fatal(`Invalid argument ${s}`);
  return Number.parseInt(m[0], 10);
}

function aaBridge(ctx: CtlContext): IdlRow | null {
  const cache = populateCache(ctx);
  let br = findBridge(ctx, cache, ctx.argv[1] as string, true) as VsBridge;
  if (br.parent) br = br.parent;
  return br.brCfg;
}

function aaRow(ctx: CtlContext, br: IdlRow): IdlRow | null {
  const u = uuids(ctx, br, 'auto_attach')[0];
  return u ? (ctx.idl.get('AutoAttach', u) ?? null) : null;
}

function cmdAddAaMapping(ctx: CtlContext): void {
  const isid = parseUll(ctx.argv[2] as string);
  const vlan = parseUll(ctx.argv[3] as string);
  const br = aaBridge(ctx);
  if (!br) return;
  let aa = aaRow(ctx, br);
  if (!aa) {
    aa = ctx.idl.insert('AutoAttach');
    ctx.idl.set(br, 'auto_attach', one(aa.uuid));
  }
  const d = ctx.idl.col(aa, 'mappings');
  const keys = [...d.keys];
  const values = [...(d.values ?? [])];
  const i = keys.indexOf(isid);
  if (i >= 0) values[i] = vlan;
  else {
    keys.push(isid);
    values.push(vlan);
  }
  const idx = keys.map((_, j) => j).sort((a, b) => (keys[a] as number) - (keys[b] as number));
  ctx.idl.set(aa, 'mappings', {
    keys: idx.map((j) => keys[j] as Atom),
    values: idx.map((j) => values[j] as Atom),
  });
}

function cmdDelAaMapping(ctx: CtlContext): void {
  const isid = parseUll(ctx.argv[2] as string);
  const vlan = parseUll(ctx.argv[3] as string);
  const br = aaBridge(ctx);
  if (!br) return;
  const aa = aaRow(ctx, br);
  if (!aa) return;
  const d = ctx.idl.col(aa, 'mappings');
  const vals = d.values ?? [];
  let found = false;
  for (let i = 0; i < d.keys.length; i++) if (d.keys[i] === isid && vals[i] === vlan) found = true;
  if (!found) return;
  const keys: Atom[] = [];
  const values: Atom[] = [];
  for (let i = 0; i < d.keys.length; i++) {
    if (d.keys[i] !== isid && vals[i] !== vlan) {
      keys.push(d.keys[i] as Atom);
      values.push(vals[i] as Atom);
    }
  }
  ctx.idl.set(aa, 'mappings', { keys, values });
}

function cmdGetAaMapping(ctx: CtlContext): void {
  const br = aaBridge(ctx);
  if (!br) return;
  ctx.idl.verifyName(br, 'auto_attach');
  const aa = aaRow(ctx, br);
  if (!aa) return;
  ctx.idl.verifyName(aa, 'mappings');
  const d = ctx.idl.col(aa, 'mappings');
  for (let i = 0; i < d.keys.length; i++) ctx.output += `${d.keys[i]} ${(d.values ?? [])[i]}\n`;
}

/* ---------- emer-reset ---------- */

function cmdEmerReset(ctx: CtlContext): void {
  const idl = ctx.idl;
  idl.set(ctx.ovs, 'manager_options', NONE);
  idl.set(ctx.ovs, 'ssl', NONE);
  for (const br of idl.rows('Bridge')) {
    for (const c of [
      'controller',
      'fail_mode',
      'mirrors',
      'netflow',
      'sflow',
      'ipfix',
      'flood_vlans',
    ]) {
      idl.set(br, c, NONE);
    }
    const oc = idl.col(br, 'other_config');
    const i = oc.keys.indexOf('hwaddr');
    idl.set(
      br,
      'other_config',
      i >= 0
        ? { keys: ['hwaddr'], values: [(oc.values as readonly Atom[])[i] as Atom] }
        : { keys: [], values: [] },
    );
  }
  for (const p of idl.rows('Port')) idl.set(p, 'other_config', { keys: [], values: [] });
  for (const i of idl.rows('Interface')) {
    idl.set(i, 'ingress_policing_rate', one(0));
    idl.set(i, 'ingress_policing_burst', one(0));
  }
  for (const t of [
    'Mirror',
    'Controller',
    'Manager',
    'NetFlow',
    'SSL',
    'sFlow',
    'IPFIX',
    'Flow_Sample_Collector_Set',
  ]) {
    for (const r of [...idl.rows(t)]) idl.delete(r);
  }
  ctx.invalidateCache();
}

/* ---------- zones and datapath capabilities ---------- */

function findDatapath(ctx: CtlContext, name: string): IdlRow | null {
  const d = ctx.idl.col(ctx.ovs, 'datapaths');
  const i = d.keys.indexOf(name);
  if (i < 0) return null;
  return ctx.idl.get('Datapath', (d.values as readonly Atom[])[i] as string) ?? null;
}

function cmdListDpCap(ctx: CtlContext): void {
  const dp = findDatapath(ctx, ctx.argv[1] as string);
  if (!dp) fatal(`datapath "${ctx.argv[1]}" record not found`);
  const caps = ctx.idl.col(dp, 'capabilities');
  const parts: string[] = [];
  for (let i = 0; i < caps.keys.length; i++)
    parts.push(`${caps.keys[i]}=${(caps.values ?? [])[i]}`);
  ctx.output += `${parts.join(' ')}\n`;
}

function cmdListZoneTp(ctx: CtlContext): void {
  const dp = findDatapath(ctx, ctx.argv[1] as string);
  if (!dp) fatal(`datapath: ${ctx.argv[1]} record not found`);
  const zones = ctx.idl.col(dp, 'ct_zones');
  for (let i = 0; i < zones.keys.length; i++) {
    let line = `Zone:${zones.keys[i]}, Timeout Policies: `;
    const zone = ctx.idl.get('CT_Zone', (zones.values as readonly Atom[])[i] as string);
    const tpu = zone ? uuids(ctx, zone, 'timeout_policy')[0] : undefined;
    const tp = tpu ? ctx.idl.get('CT_Timeout_Policy', tpu) : undefined;
    if (tp) {
      const t = ctx.idl.col(tp, 'timeouts');
      for (let j = 0; j < t.keys.length; j++) line += `${t.keys[j]}=${(t.values ?? [])[j]} `;
    } else {
      line += 'system default';
    }
    ctx.output += `${line.replace(/ +$/, '')}\n`;
  }
}

/** sscanf's %i: decimal, 0x hexadecimal or 0 octal; 0 when nothing parses. */
function scanInt(s: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return 0;
  const body = m[2] as string;
  const n = /^0[xX]/.test(body)
    ? Number.parseInt(body.slice(2), 16)
    : body.length > 1 && body[0] === '0'
      ? Number.parseInt(body, 8)
      : Number(body);
  return m[1] === '-' ? -n : n;
}

function zoneId(arg: string): number {
  return arg.startsWith('zone=') ? scanInt(arg.slice(5)) : 0;
}

function findZone(ctx: CtlContext, dp: IdlRow, id: number): IdlRow | null {
  const z = ctx.idl.col(dp, 'ct_zones');
  const i = z.keys.indexOf(id);
  return i < 0
    ? null
    : (ctx.idl.get('CT_Zone', (z.values as readonly Atom[])[i] as string) ?? null);
}

function cmdAddZoneTp(ctx: CtlContext): void {
  const dpName = ctx.argv[1] as string;
  const id = zoneId(ctx.argv[2] as string);
  const dp = findDatapath(ctx, dpName);
  if (!dp) fatal(`datapath ${dpName} does not exist`);
  const tps = ctx.argv.slice(3);
  const zone = findZone(ctx, dp, id);
  if (tps.length === 0) fatal('No timeout policy');
  if (zone && !ctx.options.has('--may-exist')) fatal(`zone id ${id} already exists`);
  const want = new Map<string, number>();
  for (const tp of tps) {
    const m = /^([^=:]*)[=:](.*)$/.exec(tp);
    if (!m) break;
    want.set(m[1] as string, atoi(m[2] as string));
  }
  let policy: IdlRow | null = null;
  for (const row of ctx.idl.rows('CT_Timeout_Policy')) {
    const t = ctx.idl.col(row, 'timeouts');
    if (t.keys.length !== want.size) continue;
    if (t.keys.every((k, i) => want.get(k as string) === (t.values as readonly Atom[])[i])) {
      policy = row;
      break;
    }
  }
  if (!policy) {
    policy = ctx.idl.insert('CT_Timeout_Policy');
    const keys = [...want.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    ctx.idl.set(policy, 'timeouts', { keys, values: keys.map((k) => want.get(k) as number) });
  }
  if (zone) {
    ctx.idl.set(zone, 'timeout_policy', one(policy.uuid));
  } else {
    const z = ctx.idl.insert('CT_Zone');
    ctx.idl.set(z, 'timeout_policy', one(policy.uuid));
    const d = ctx.idl.col(dp, 'ct_zones');
    const keys = [...d.keys, id];
    const values = [...(d.values ?? []), z.uuid];
    const order = keys.map((_, i) => i).sort((a, b) => (keys[a] as number) - (keys[b] as number));
    ctx.idl.set(dp, 'ct_zones', {
      keys: order.map((i) => keys[i] as Atom),
      values: order.map((i) => values[i] as Atom),
    });
  }
}

function cmdDelZoneTp(ctx: CtlContext): void {
  const dpName = ctx.argv[1] as string;
  const id = zoneId(ctx.argv[2] as string);
  const dp = findDatapath(ctx, dpName);
  if (!dp) fatal(`datapath ${dpName} does not exist`);
  const zone = findZone(ctx, dp, id);
  if (!ctx.options.has('--if-exists') && !zone) fatal(`zone id ${id} does not exist`);
  if (!zone) return;
  const d = ctx.idl.col(dp, 'ct_zones');
  const keep = d.keys.map((_, i) => i).filter((i) => d.keys[i] !== id);
  ctx.idl.set(dp, 'ct_zones', {
    keys: keep.map((i) => d.keys[i] as Atom),
    values: keep.map((i) => (d.values as readonly Atom[])[i] as Atom),
  });
}

const MAX = Number.MAX_SAFE_INTEGER;

const COMMANDS: readonly CommandSyntax[] = [
  { name: 'init', minArgs: 0, maxArgs: 0, arguments: '', run: cmdInit, options: '', mode: 'RW' },
  {
    name: 'add-br',
    minArgs: 1,
    maxArgs: 3,
    arguments: 'NEW-BRIDGE [PARENT] [NEW-VLAN]',
    run: cmdAddBr,
    options: '--may-exist',
    mode: 'RW',
  },
  {
    name: 'del-br',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdDelBr,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'list-br',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdListBr,
    options: '--real,--fake',
    mode: 'RO',
  },
  {
    name: 'br-exists',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdBrExists,
    options: '',
    mode: 'RO',
  },
  {
    name: 'br-to-vlan',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdBrToVlan,
    options: '',
    mode: 'RO',
  },
  {
    name: 'br-to-parent',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdBrToParent,
    options: '',
    mode: 'RO',
  },
  {
    name: 'br-set-external-id',
    minArgs: 2,
    maxArgs: 3,
    arguments: 'BRIDGE KEY [VALUE]',
    run: cmdBrSetExternalId,
    options: '',
    mode: 'RW',
  },
  {
    name: 'br-get-external-id',
    minArgs: 1,
    maxArgs: 2,
    arguments: 'BRIDGE [KEY]',
    run: cmdBrGetExternalId,
    options: '',
    mode: 'RO',
  },
  {
    name: 'list-ports',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdListPorts,
    options: '',
    mode: 'RO',
  },
  {
    name: 'add-port',
    minArgs: 2,
    maxArgs: MAX,
    arguments: 'BRIDGE NEW-PORT [COLUMN[:KEY]=VALUE]...',
    run: cmdAddPort,
    options: '--may-exist',
    mode: 'RW',
  },
  {
    name: 'del-port',
    minArgs: 1,
    maxArgs: 2,
    arguments: '[BRIDGE] PORT|IFACE',
    run: cmdDelPort,
    options: '--if-exists,--with-iface',
    mode: 'RW',
  },
  {
    name: 'port-to-br',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'PORT',
    run: cmdPortToBr,
    options: '',
    mode: 'RO',
  },
  {
    name: 'add-bond',
    minArgs: 4,
    maxArgs: MAX,
    arguments: 'BRIDGE BOND IFACE... [COLUMN[:KEY]=VALUE]...',
    run: cmdAddBond,
    options: '--may-exist,--fake-iface',
    mode: 'RW',
  },
  {
    name: 'add-bond-iface',
    minArgs: 2,
    maxArgs: 2,
    arguments: 'BOND IFACE',
    run: cmdAddBondIface,
    options: '--may-exist',
    mode: 'RW',
  },
  {
    name: 'del-bond-iface',
    minArgs: 1,
    maxArgs: 2,
    arguments: '[BOND] IFACE',
    run: cmdDelBondIface,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'list-ifaces',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdListIfaces,
    options: '',
    mode: 'RO',
  },
  {
    name: 'iface-to-br',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'IFACE',
    run: cmdIfaceToBr,
    options: '',
    mode: 'RO',
  },
  {
    name: 'get-controller',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdGetController,
    options: '',
    mode: 'RO',
  },
  {
    name: 'del-controller',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdDelController,
    options: '',
    mode: 'RW',
  },
  {
    name: 'set-controller',
    minArgs: 1,
    maxArgs: MAX,
    arguments: 'BRIDGE TARGET...',
    run: cmdSetController,
    options: '--inactivity-probe=',
    mode: 'RW',
  },
  {
    name: 'get-fail-mode',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdGetFailMode,
    options: '',
    mode: 'RO',
  },
  {
    name: 'del-fail-mode',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdDelFailMode,
    options: '',
    mode: 'RW',
  },
  {
    name: 'set-fail-mode',
    minArgs: 2,
    maxArgs: 2,
    arguments: 'BRIDGE MODE',
    run: cmdSetFailMode,
    options: '',
    mode: 'RW',
  },
  {
    name: 'get-manager',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdGetManager,
    options: '',
    mode: 'RO',
  },
  {
    name: 'del-manager',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdDelManager,
    options: '',
    mode: 'RW',
  },
  {
    name: 'set-manager',
    minArgs: 1,
    maxArgs: MAX,
    arguments: 'TARGET...',
    run: cmdSetManager,
    options: '--inactivity-probe=',
    mode: 'RW',
  },
  {
    name: 'get-ssl',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdGetSsl,
    options: '',
    mode: 'RO',
  },
  {
    name: 'del-ssl',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdDelSsl,
    options: '',
    mode: 'RW',
  },
  {
    name: 'set-ssl',
    minArgs: 3,
    maxArgs: 3,
    arguments: 'PRIVATE-KEY CERTIFICATE CA-CERT',
    run: cmdSetSsl,
    options: '--bootstrap',
    mode: 'RW',
  },
  {
    name: 'add-aa-mapping',
    minArgs: 3,
    maxArgs: 3,
    arguments: 'BRIDGE ARG ARG',
    run: cmdAddAaMapping,
    options: '',
    mode: 'RW',
  },
  {
    name: 'del-aa-mapping',
    minArgs: 3,
    maxArgs: 3,
    arguments: 'BRIDGE ARG ARG',
    run: cmdDelAaMapping,
    options: '',
    mode: 'RW',
  },
  {
    name: 'get-aa-mapping',
    minArgs: 1,
    maxArgs: 1,
    arguments: 'BRIDGE',
    run: cmdGetAaMapping,
    options: '',
    mode: 'RO',
  },
  {
    name: 'emer-reset',
    minArgs: 0,
    maxArgs: 0,
    arguments: '',
    run: cmdEmerReset,
    options: '',
    mode: 'RW',
  },
  {
    name: 'add-zone-tp',
    minArgs: 3,
    maxArgs: MAX,
    arguments: '',
    run: cmdAddZoneTp,
    options: '--may-exist',
    mode: 'RW',
  },
  {
    name: 'del-zone-tp',
    minArgs: 2,
    maxArgs: 2,
    arguments: '',
    run: cmdDelZoneTp,
    options: '--if-exists',
    mode: 'RW',
  },
  {
    name: 'list-zone-tp',
    minArgs: 1,
    maxArgs: 1,
    arguments: '',
    run: cmdListZoneTp,
    options: '',
    mode: 'RO',
  },
  {
    name: 'list-dp-cap',
    minArgs: 1,
    maxArgs: 1,
    arguments: '',
    run: cmdListDpCap,
    options: '',
    mode: 'RO',
  },
];

/* ---------- prerequisites: the tables and columns each command reads ---------- */

function preGetInfo(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'bridges');
  ctx.need.add('Bridge', 'name', 'controller', 'fail_mode', 'ports');
  ctx.need.add('Port', 'name', 'fake_bridge', 'tag', 'interfaces');
  ctx.need.add('Interface', 'name', 'ofport', 'error');
}

function preExternalId(ctx: PreContext): void {
  preGetInfo(ctx);
  ctx.need.add('Bridge', 'external_ids');
  ctx.need.add('Port', 'external_ids');
}

function preController(ctx: PreContext): void {
  preGetInfo(ctx);
  ctx.need.add('Controller', 'target', 'inactivity_probe');
}

function preManager(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'manager_options');
  ctx.need.add('Manager', 'target', 'inactivity_probe');
}

function preGetSsl(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'ssl');
  ctx.need.add('SSL', 'private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert');
}

function preSsl(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'ssl');
  ctx.need.table('SSL');
}

function preAutoAttach(ctx: PreContext): void {
  preGetInfo(ctx);
  ctx.need.add('Bridge', 'auto_attach');
  ctx.need.add('AutoAttach', 'mappings');
}

function preEmerReset(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'manager_options', 'ssl');
  ctx.need.add(
    'Bridge',
    'controller',
    'fail_mode',
    'mirrors',
    'netflow',
    'sflow',
    'ipfix',
    'flood_vlans',
    'other_config',
  );
  ctx.need.add('Port', 'other_config');
  ctx.need.add('Interface', 'ingress_policing_rate', 'ingress_policing_burst');
}

function preZone(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'datapaths');
  ctx.need.add('Datapath', 'ct_zones');
  ctx.need.add('CT_Zone', 'timeout_policy');
  ctx.need.add('CT_Timeout_Policy', 'timeouts');
}

function preDpCap(ctx: PreContext): void {
  ctx.need.add('Open_vSwitch', 'datapaths');
  ctx.need.add('Datapath', 'capabilities');
}

const PREREQUISITES: Readonly<Record<string, (ctx: PreContext) => void>> = {
  'add-br': preGetInfo,
  'del-br': preGetInfo,
  'list-br': preGetInfo,
  'br-exists': preGetInfo,
  'br-to-vlan': preGetInfo,
  'br-to-parent': preGetInfo,
  'br-set-external-id': preExternalId,
  'br-get-external-id': preExternalId,
  'list-ports': preGetInfo,
  'add-port': preGetInfo,
  'del-port': preGetInfo,
  'port-to-br': preGetInfo,
  'add-bond': preGetInfo,
  'add-bond-iface': preGetInfo,
  'del-bond-iface': preGetInfo,
  'list-ifaces': preGetInfo,
  'iface-to-br': preGetInfo,
  'get-controller': preController,
  'del-controller': preController,
  'set-controller': preController,
  'get-fail-mode': preGetInfo,
  'del-fail-mode': preGetInfo,
  'set-fail-mode': preGetInfo,
  'get-manager': preManager,
  'del-manager': preManager,
  'set-manager': preManager,
  'get-ssl': preGetSsl,
  'del-ssl': preSsl,
  'set-ssl': preSsl,
  'add-aa-mapping': preAutoAttach,
  'del-aa-mapping': preAutoAttach,
  'get-aa-mapping': preAutoAttach,
  'emer-reset': preEmerReset,
  'add-zone-tp': preZone,
  'del-zone-tp': preZone,
  'list-zone-tp': preZone,
  'list-dp-cap': preDpCap,
};

export const VSWITCH_COMMANDS: readonly CommandSyntax[] = COMMANDS.map((c) => {
  const pre = PREREQUISITES[c.name];
  return pre ? { ...c, prerequisites: pre } : c;
});
