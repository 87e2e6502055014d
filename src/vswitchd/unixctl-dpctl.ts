/**
 * ovs-vswitchd's `dpctl/*` commands that manage datapaths, their ports and their flows
 * directly, beneath OpenFlow (OVS's lib/dpctl.c run through unixctl):
 *
 *   dpctl/add-dp TYPE@NAME [IFACE...], dpctl/del-dp DP, dpctl/dump-dps
 *   dpctl/add-if DP IFACE[,type=T][,port_no=N][,KEY=VALUE]..., dpctl/set-if DP IFACE,..., del-if
 *   dpctl/add-flow [DP] FLOW ACTIONS, mod-flow, del-flow [DP] FLOW, get-flow [DP] ufid:UFID
 *   dpctl/add-flows [DP] FILE, mod-flows [DP] FILE, and del-flows [DP] FILE (del-flows without
 *   a file, dump-flows and show stay in unixctl-forwarding.ts and find datapaths here)
 *
 * A datapath made by add-dp stands beside the bridges' backers (`dummy@ovs-dummy`): it has no
 * upcall handler, so a packet that misses its flows is dropped, as a datapath with no
 * ofproto attached does in OVS. Failures reply in OVS's words, `ovs-vswitchd: WHAT (strerror)`,
 * one line each, and fail the command as dpctl does (a flow file's bad lines do not).
 */
import { readFileSync } from 'node:fs';
import { ODPP_LOCAL, odpPort } from '../dpif/dpif.ts';
import { DpifNetdev } from '../dpif/dpif-netdev.ts';
import { type OdpAction, parseOdpActions } from '../dpif/netdev/odp-actions.ts';
import { type OdpFlow, parseOdpFlow } from '../dpif/netdev/odp-key-parse.ts';
import { W_DL_TYPE, W_PACKET_TYPE } from '../lib/flow/layout.ts';
import { type UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { type Netdev, NetdevError } from '../netdev/netdev.ts';
import type { Vswitchd } from './vswitchd.ts';

const PROGRAM = 'ovs-vswitchd';

/** strerror's text for the errno values dpctl reports. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  EFBIG: 'File too large',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EOPNOTSUPP: 'Operation not supported',
};

/** One dpctl command's reply being built: output and error lines share one text, as in OVS. */
class DpctlReply {
  text = '';
  print(s: string): void {
    this.text += s;
  }
  error(errno: string | null, what: string): void {
    const e = errno === null ? '' : ` (${STRERROR[errno] ?? errno})`;
    this.text += `${PROGRAM}: ${what}${e}\n`;
  }
}

/** A failure that ends the command; its text is already in the reply. */
class DpctlFailed extends Error {
  override readonly name = 'DpctlFailed';
}

const created = new WeakMap<Vswitchd, Map<string, DpifNetdev>>();

function createdDps(vs: Vswitchd): Map<string, DpifNetdev> {
  let m = created.get(vs);
  if (!m) {
    m = new Map();
    created.set(vs, m);
  }
  return m;
}

/** OVS's dp_parse_name: `TYPE@NAME`, or a bare NAME of type `system`. */
export function parseDpName(s: string): { type: string; name: string } {
  const at = s.indexOf('@');
  return at < 0 ? { type: 'system', name: s } : { type: s.slice(0, at), name: s.slice(at + 1) };
}

/** Datapaths made by `dpctl/add-dp`, in name order. */
export function dpctlDatapaths(vs: Vswitchd): DpifNetdev[] {
  return [...createdDps(vs).values()].sort((a, b) =>
    a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0,
  );
}

/** Every datapath of the process, bridge backers and add-dp's, sorted by full name. */
export function allDatapaths(vs: Vswitchd): DpifNetdev[] {
  return [...vs.backers.list(), ...createdDps(vs).values()].sort((a, b) =>
    a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0,
  );
}

/** The datapath `TYPE@NAME` (or NAME, type system) names, if it exists. */
export function findDatapath(vs: Vswitchd, arg: string): DpifNetdev | undefined {
  const { type, name } = parseDpName(arg);
  const full = `${type}@${name}`;
  return allDatapaths(vs).find((d) => d.fullName === full);
}

function openDp(vs: Vswitchd, arg: string, r: DpctlReply): DpifNetdev {
  const d = findDatapath(vs, arg);
  if (d) return d;
  r.error('ENODEV', 'opening datapath');
  throw new DpctlFailed();
}

/**
 * OVS's opt_dpif_open: the first argument names the datapath when one by that name exists,
 * else (fewer than `maxArgs` arguments) the only datapath there is.
 */
function optDpOpen(
  vs: Vswitchd,
  args: string[],
  maxArgs: number,
  r: DpctlReply,
): { dpif: DpifNetdev; rest: string[] } {
  const first = args[0];
  if (first !== undefined) {
    const d = findDatapath(vs, first);
    if (d) return { dpif: d, rest: args.slice(1) };
  }
  if (args.length + 1 === maxArgs) {
    r.error('EINVAL', 'datapath not found');
    throw new DpctlFailed();
  }
  const all = allDatapaths(vs);
  if (all.length === 1) return { dpif: all[0] as DpifNetdev, rest: args };
  r.error(null, all.length === 0 ? 'no datapaths exist' : 'multiple datapaths, specify one');
  r.error('EINVAL', 'datapath not found');
  throw new DpctlFailed();
}

function errnoOf(e: unknown): string {
  return e instanceof NetdevError ? e.code : 'EINVAL';
}

/** IFACE[,KEY=VALUE]... as dpctl splits it (strtok on "," then "="). */
function splitIface(arg: string): { name: string | undefined; opts: [string, string][] } {
  const parts = arg.split(',').filter((p) => p !== '');
  const name = parts.shift();
  const opts: [string, string][] = parts.map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
  });
  return { name, opts };
}

/* atoi, as dpctl reads port_no= (leading digits, else 0). */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1] as string, 10) | 0 : 0;
}

function addIfs(vs: Vswitchd, dpArg: string, ifaces: string[], r: DpctlReply): boolean {
  const dpif = openDp(vs, dpArg, r);
  let ok = true;
  for (const arg of ifaces) {
    const { name, opts } = splitIface(arg);
    if (name === undefined) {
      r.error(null, `${arg} is not a valid network device name`);
      ok = false;
      continue;
    }
    let type = 'system';
    let portNo: number | undefined;
    const config = new Map<string, string>();
    for (const [k, v] of opts) {
      if (k === 'type') type = v;
      else if (k === 'port_no') portNo = atoi(v) >>> 0;
      else if (config.has(k)) r.error(null, `duplicate "${k}" option`);
      else config.set(k, v);
    }
    let netdev: Netdev;
    try {
      netdev = vs.registry.open(name, dpif.portOpenType(type));
    } catch (e) {
      r.error(errnoOf(e), `${name}: failed to open network device`);
      ok = false;
      continue;
    }
    const bad = config.size ? netdev.setConfig(config) : null;
    if (bad !== null) {
      netdev.close();
      r.error(null, bad);
      ok = false;
      continue;
    }
    if (dpif.portQueryByName(name)) {
      netdev.close();
      r.error('EEXIST', `adding ${name} to ${dpArg} failed`);
      ok = false;
      continue;
    }
    if (portNo !== undefined && dpif.portQueryByNumber(odpPort(portNo))) {
      netdev.close();
      r.error('EBUSY', `adding ${name} to ${dpArg} failed`);
      ok = false;
      continue;
    }
    try {
      dpif.portAdd(netdev, portNo === undefined ? undefined : odpPort(portNo));
    } catch (e) {
      netdev.close();
      r.error(errnoOf(e), `adding ${name} to ${dpArg} failed`);
      ok = false;
      continue;
    }
    netdev.setUp(true);
  }
  return ok;
}

function setIfs(vs: Vswitchd, dpArg: string, ifaces: string[], r: DpctlReply): boolean {
  const dpif = openDp(vs, dpArg, r);
  let ok = true;
  for (const arg of ifaces) {
    const { name, opts } = splitIface(arg);
    if (name === undefined) {
      r.error(null, `${arg} is not a valid network device name`);
      continue;
    }
    const port = dpif.portQueryByName(name);
    if (!port) {
      r.error('ENODEV', `${name}: failed to query port in ${dpArg}`);
      ok = false;
      continue;
    }
    const config = new Map(port.netdev.getConfig());
    let failed = false;
    for (const [k, v] of opts) {
      if (k === 'type') {
        if (v !== port.type) {
          r.error(null, `${name}: can't change type from ${port.type} to ${v}`);
          failed = true;
          break;
        }
      } else if (k === 'port_no') {
        if (port.portNo !== atoi(v) >>> 0) {
          r.error(null, `${name}: can't change port number from ${port.portNo} to ${atoi(v)}`);
          failed = true;
          break;
        }
      } else if (v === '') config.delete(k);
      else config.set(k, v);
    }
    if (!failed) {
      const bad = port.netdev.setConfig(config);
      if (bad !== null) {
        r.error(null, bad);
        failed = true;
      }
    }
    if (failed) ok = false;
  }
  return ok;
}

function delIfs(vs: Vswitchd, dpArg: string, ifaces: string[], r: DpctlReply): boolean {
  const dpif = openDp(vs, dpArg, r);
  let ok = true;
  for (const name of ifaces) {
    let portNo: number;
    if (/^\d*$/.test(name)) portNo = atoi(name) >>> 0;
    else {
      const p = dpif.portQueryByName(name);
      if (!p) {
        r.error(null, `no port named ${name}`);
        ok = false;
        continue;
      }
      portNo = p.portNo;
    }
    const port = dpif.portQueryByNumber(odpPort(portNo));
    // The datapath's own port goes only with the datapath.
    const errno = portNo === ODPP_LOCAL ? 'EINVAL' : port ? null : 'ENODEV';
    if (errno !== null || !port) {
      r.error(errno ?? 'ENODEV', `deleting port ${name} from ${dpArg} failed`);
      ok = false;
      continue;
    }
    dpif.portDel(port.portNo);
    port.netdev.close();
  }
  return ok;
}

function addDp(vs: Vswitchd, args: string[], r: DpctlReply): boolean {
  const arg = args[0] as string;
  const { type, name } = parseDpName(arg);
  if (findDatapath(vs, arg)) {
    r.error('EEXIST', 'add_dp');
    return false;
  }
  if (!vs.backers.types().includes(type)) {
    r.error('EAFNOSUPPORT', 'add_dp');
    return false;
  }
  const dummyClass = type === 'dummy' || vs.registry.options.override === true;
  let dpif: DpifNetdev;
  try {
    dpif = new DpifNetdev(type, dummyClass, vs.registry, name);
  } catch (e) {
    r.error(errnoOf(e), 'add_dp');
    return false;
  }
  createdDps(vs).set(dpif.fullName, dpif);
  return args.length > 1 ? addIfs(vs, arg, args.slice(1), r) : true;
}

function delDp(vs: Vswitchd, arg: string, r: DpctlReply): boolean {
  const dpif = openDp(vs, arg, r);
  const mine = createdDps(vs);
  if (mine.get(dpif.fullName) !== dpif) {
    // A bridge backer lives as long as its bridges do.
    r.error('EBUSY', 'del_dp');
    return false;
  }
  mine.delete(dpif.fullName);
  for (const p of [...dpif.ports()]) {
    if (p.portNo === ODPP_LOCAL) continue;
    dpif.portDel(p.portNo);
    p.netdev.close();
  }
  dpif.dp.flowFlush();
  void dpif.close();
  return true;
}

function portNamer(dpif: DpifNetdev): (n: string) => number | undefined {
  return (n) => dpif.portQueryByName(n)?.portNo;
}

/* An optional leading "ufid:HEX" (OVS's odp_ufid_from_string); OVS derives one from the key
 * when none is given, which here is the flow's own key/mask identity. */
function splitUfid(s: string, r: DpctlReply): { ufid: string | undefined; rest: string } {
  if (!/^\s*ufid:/.test(s)) return { ufid: undefined, rest: s };
  const m = /^\s*ufid:([0-9a-fA-F-]*)[,\s]*/.exec(s) as RegExpExecArray;
  const ufid = (m[1] as string).toLowerCase();
  // 128 bits: 32 hex digits, dashes anywhere.
  if (!/^[0-9a-f]{32}$/.test(ufid.replace(/-/g, ''))) {
    r.error('EINVAL', 'parsing flow ufid');
    throw new DpctlFailed();
  }
  return { ufid, rest: s.slice(m[0].length) };
}

/* OVS's action parser takes spaces as well as commas between actions ("1 2" is output:1,
 * output:2); ours wants commas, so separators outside parentheses become one comma. */
function topLevelCommas(text: string): string {
  let out = '';
  let depth = 0;
  let pendingSep = false;
  for (const ch of text.trim()) {
    if (depth === 0 && (ch === ',' || ch === ' ' || ch === '\t')) {
      pendingSep = out !== '';
      continue;
    }
    if (pendingSep) out += ',';
    pendingSep = false;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    out += ch;
  }
  return out;
}

/* A datapath key without eth() is a layer-3 packet whose type is its eth_type (as OVS's
 * userspace datapath reads such a key), so its dump shows no eth() either. */
function markLayer3(text: string, flow: OdpFlow): void {
  if (/(^|[,(])eth\(/.test(text) || /(^|[,(])packet_type\(/.test(text)) return;
  const type = flow.key[W_DL_TYPE] & 0xffff;
  if (type === 0) return;
  flow.key[W_PACKET_TYPE] = ((1 << 16) | type) >>> 0;
}

type PutMode = 'add' | 'modify';

function putFlow(
  dpif: DpifNetdev,
  keyText: string,
  actionsText: string,
  mode: PutMode,
  r: DpctlReply,
): boolean {
  const { ufid, rest } = splitUfid(keyText, r);
  let flow: OdpFlow;
  try {
    flow = parseOdpFlow(rest, { portNo: portNamer(dpif) });
  } catch (e) {
    r.error('EINVAL', `parsing flow key (${(e as Error).message})`);
    return false;
  }
  markLayer3(rest, flow);
  let actions: OdpAction[];
  try {
    actions = parseOdpActions(topLevelCommas(actionsText), { portNo: portNamer(dpif) });
  } catch {
    r.error('EINVAL', 'parsing actions');
    return false;
  }
  const res = dpif.dp.flowPut({
    key: flow.key,
    mask: flow.mask,
    actions,
    ufid,
    create: mode === 'add',
    modify: mode === 'modify',
  });
  if (!res.ok) {
    r.error(res.error, 'updating flow table');
    return false;
  }
  return true;
}

function delFlow(dpif: DpifNetdev, keyText: string, r: DpctlReply): boolean {
  const { ufid, rest } = splitUfid(keyText, r);
  if (ufid !== undefined && rest.trim() === '') {
    if (dpif.dp.flowDel(ufid)) return true;
    r.error('ENOENT', 'deleting flow');
    return false;
  }
  let flow: OdpFlow;
  try {
    flow = parseOdpFlow(rest, { portNo: portNamer(dpif) });
  } catch (e) {
    r.error('EINVAL', (e as Error).message);
    return false;
  }
  markLayer3(rest, flow);
  const f = dpif.dp.flowFind(flow.key, flow.mask);
  if (f && dpif.dp.flowDel(f)) return true;
  r.error('ENOENT', 'deleting flow');
  if (ufid === undefined) r.print('Perhaps you need to specify a UFID?\n');
  return false;
}

const VERBS = ['add', 'delete', 'modify'] as const;

/**
 * A flow file for add-flows / mod-flows / del-flows: one flow a line, optionally led by the
 * verb `add`, `modify` or `delete` (else the command's own). Bad lines are reported and
 * skipped; the command itself succeeds, as OVS's does.
 */
function processFlowLines(
  dpif: DpifNetdev,
  text: string,
  defaultVerb: 'add' | 'modify' | 'delete',
  r: DpctlReply,
): void {
  const lines = text.split('\n');
  let lineNo = 0;
  for (const raw of lines) {
    lineNo++;
    // ds_get_preprocessed_line: '#' starts a comment; blank lines are skipped.
    const hash = raw.indexOf('#');
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (line === '') continue;
    let verb = defaultVerb;
    let s = line;
    const word = /^[^,\s]*/.exec(s)?.[0] ?? '';
    // dpctl compares only as many characters as the first word has: "a", "del", "mod" work.
    const named = word === '' ? undefined : VERBS.find((v) => v.startsWith(word));
    if (named !== undefined) {
      verb = named;
      s = s.slice(word.length).trimStart();
    }
    const m = /^(\S+)\s*(.*)$/.exec(s);
    const flow = m?.[1];
    const actions = m?.[2] ? m[2] : undefined;
    if (
      flow === undefined ||
      ((verb === 'add' || verb === 'modify') && actions === undefined) ||
      (verb === 'delete' && actions !== undefined)
    ) {
      r.error(null, `Failed parsing line number ${lineNo}, skipped!`);
      continue;
    }
    try {
      if (verb === 'delete') delFlow(dpif, flow, r);
      else putFlow(dpif, flow, actions as string, verb, r);
    } catch (e) {
      // A bad line is reported (already in the reply) and skipped, as OVS does.
      if (!(e instanceof DpctlFailed)) throw e;
    }
  }
}

function processFlowFile(
  vs: Vswitchd,
  args: string[],
  verb: 'add' | 'modify' | 'delete',
  r: DpctlReply,
): boolean {
  const { dpif, rest } = optDpOpen(vs, args, 3, r);
  const file = rest[rest.length - 1] as string;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    r.error(code, `Opening file "${file}" failed`);
    return true;
  }
  processFlowLines(dpif, text, verb, r);
  return true;
}

/** `dpctl/del-flows [DP] FILE` (the file form; without a file the caller flushes). */
export function dpctlDelFlowsFile(vs: Vswitchd, args: string[]): string {
  return run((r) => processFlowFile(vs, args, 'delete', r));
}

/** Whether `dpctl/del-flows ARGS` names a file of flows rather than only a datapath. */
export function delFlowsHasFile(vs: Vswitchd, args: string[]): boolean {
  return args.length > 1 || (args.length === 1 && !findDatapath(vs, args[0] as string));
}

/* Strips dpctl's leading options (-m, -s, --names, ...), which these commands ignore. */
function stripOptions(args: string[]): string[] {
  let i = 0;
  while (i < args.length && /^-./.test(args[i] as string)) i++;
  return args.slice(i);
}

/* Runs one command: its reply text on success, else a UnixctlError carrying that text. */
function run(body: (r: DpctlReply) => boolean): string {
  const r = new DpctlReply();
  let ok: boolean;
  try {
    ok = body(r);
  } catch (e) {
    if (!(e instanceof DpctlFailed)) throw e;
    ok = false;
  }
  if (!ok) throw new UnixctlError(r.text);
  return r.text;
}

export function registerDpctlCommands(cmds: UnixctlCommands, vs: Vswitchd): void {
  const reg = (
    name: string,
    usage: string,
    min: number,
    max: number,
    f: (args: string[], r: DpctlReply, options: readonly string[]) => boolean,
  ): void =>
    cmds.register(`dpctl/${name}`, usage, min, max, (args) =>
      run((r) => {
        const rest = stripOptions(args);
        return f(rest, r, args.slice(0, args.length - rest.length));
      }),
    );
  reg('add-dp', 'dp [iface...]', 1, 1000, (a, r) => addDp(vs, a, r));
  reg('del-dp', 'dp', 1, 1, (a, r) => delDp(vs, a[0] as string, r));
  reg('add-if', 'dp iface...', 2, 1000, (a, r) => addIfs(vs, a[0] as string, a.slice(1), r));
  reg('set-if', 'dp iface...', 2, 1000, (a, r) => setIfs(vs, a[0] as string, a.slice(1), r));
  reg('del-if', 'dp iface...', 2, 1000, (a, r) => delIfs(vs, a[0] as string, a.slice(1), r));
  reg('dump-dps', '', 0, 0, (_a, r) => {
    for (const d of allDatapaths(vs)) r.print(`${d.fullName}\n`);
    return true;
  });
  reg('add-flow', '[dp] flow actions', 2, 3, (a, r) => {
    const { dpif, rest } = optDpOpen(vs, a, 4, r);
    return putFlow(dpif, rest[0] as string, rest[1] ?? '', 'add', r);
  });
  reg('mod-flow', '[dp] flow actions', 2, 3, (a, r) => {
    const { dpif, rest } = optDpOpen(vs, a, 4, r);
    return putFlow(dpif, rest[0] as string, rest[1] ?? '', 'modify', r);
  });
  reg('del-flow', '[dp] flow', 1, 2, (a, r) => {
    const { dpif, rest } = optDpOpen(vs, a, 3, r);
    return delFlow(dpif, rest[0] as string, r);
  });
  reg('get-flow', '[dp] ufid', 1, 2, (a, r, opts) => {
    const { dpif, rest } = optDpOpen(vs, a, 3, r);
    const { ufid } = splitUfid(rest[0] as string, r);
    const f = ufid === undefined ? undefined : dpif.dp.flowGet(ufid);
    if (!f) {
      r.error(
        ufid === undefined ? 'EINVAL' : 'ENOENT',
        ufid === undefined ? 'parsing flow ufid' : 'getting flow',
      );
      return false;
    }
    // Terse unless -m, as every dpctl flow listing (the ufid is the request's anyway).
    const verbose = opts.some((o) => o === '-m' || o === '--more' || /^-m+$/.test(o));
    r.print(`${dpif.dp.formatFlow(f, { verbose })}\n`);
    return true;
  });
  reg('add-flows', '[dp] file', 1, 2, (a, r) => processFlowFile(vs, a, 'add', r));
  reg('mod-flows', '[dp] file', 1, 2, (a, r) => processFlowFile(vs, a, 'modify', r));
}
