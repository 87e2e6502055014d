/**
 * ovs-vswitchd's unixctl commands about packets and flows, in OVS's formats:
 *
 *   netdev-dummy/receive NAME PACKET|FLOW...   inject frames (hex or datapath flow syntax)
 *   ofproto/trace [DP] ODP_FLOW | BRIDGE BR_FLOW [-generate|PACKET]
 *   dpif/dump-flows [-m] BRIDGE, dpctl/dump-flows [-m] [DP], dpctl/del-flows [DP], dpctl/show
 *   fdb/show BRIDGE, fdb/flush [BRIDGE], fdb/stats-show BRIDGE, fdb/stats-clear [BRIDGE]
 *   fdb/add BRIDGE PORT VLAN MAC, fdb/del BRIDGE VLAN MAC
 *   bridge/dump-flows BRIDGE, revalidator/wait, revalidator/purge
 */

import type { DpifNetdev } from '../dpif/dpif-netdev.ts';
import { formatOdpActions } from '../dpif/netdev/odp-actions.ts';
import { applyDefaultEthertype, type OdpFlow, parseOdpFlow } from '../dpif/netdev/odp-key-parse.ts';
import { extractFlow } from '../lib/flow/extract.ts';
import {
  FLOW_WORDS,
  W_CT_TP,
  W_IN_PORT,
  W_RECIRC_ID,
  W_TUN_GTPU,
  W_TUN_ID,
} from '../lib/flow/layout.ts';
import { flowToString, matchToString } from '../lib/flow/match-format.ts';
import { parseExactFlow } from '../lib/flow/match-parse.ts';
import { composePacket } from '../lib/packet/compose.ts';
import { type UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { findDummyNetdev } from '../netdev/dummy.ts';
import {
  FDB_FLUSH_REPLY,
  FDB_STATS_CLEAR_REPLY,
  fdbAdd,
  fdbDel,
  fdbShow,
  fdbStatsShow,
} from '../ofproto/dpif/mac-learning.ts';
import { setMegaflowsEnabled, udpifOf } from '../ofproto/dpif/udpif.ts';
import { formatTrace, type TraceNode } from '../ofproto/dpif/xlate/trace.ts';
import { formatMegaflow } from '../ofproto/dpif/xlate/xlate.ts';
import type { Ofproto } from '../ofproto/ofproto.ts';
import type { Ofpact } from '../ofproto/openflow/ofpact.ts';
import { formatOfpacts } from '../ofproto/openflow/ofpact-format.ts';
import { parseOfpacts } from '../ofproto/openflow/ofpact-parse.ts';
import { dummyAddrs, OvsRouter, registerRouterCommands } from './ovs-router.ts';
import {
  allDatapaths,
  delFlowsHasFile,
  dpctlDelFlowsFile,
  findDatapath,
  registerDpctlCommands,
} from './unixctl-dpctl.ts';
import type { Vswitchd } from './vswitchd.ts';

function hexPacket(s: string): Uint8Array | null {
  const t = s.replace(/\s+/g, '');
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return null;
  return Uint8Array.from(Buffer.from(t, 'hex'));
}

function ofproto(vs: Vswitchd, name: string): Ofproto {
  const br = vs.vswitch.bridges.get(name);
  if (!br) throw new UnixctlError('no such bridge');
  return br.ofproto;
}

function dpifByName(vs: Vswitchd, name: string | undefined): DpifNetdev {
  const all = allDatapaths(vs);
  if (name === undefined) {
    if (all.length === 1) return all[0] as DpifNetdev;
    throw new UnixctlError(
      all.length === 0 ? 'no datapaths exist' : 'multiple datapaths, please specify',
    );
  }
  const d =
    findDatapath(vs, name) ??
    all.find((x) => x.fullName === name || x.fullName.split('@')[1] === name || x.type === name);
  if (!d) throw new UnixctlError(`${name}: datapath not found`);
  return d;
}

function odpPortNamer(dpif: DpifNetdev): (p: number) => string | undefined {
  return (p) => dpif.portQueryByNumber(p as never)?.name;
}

/** The text of ofproto/trace for a flow already in OpenFlow terms on bridge `br`. */
export function traceText(
  br: Ofproto,
  flow: Uint32Array,
  generate: boolean,
  names = false,
  ofpacts?: readonly Ofpact[],
): string {
  const root: TraceNode[] = [];
  const udpif = br.udpif;
  const view = udpif.bridgeByName(br.name);
  if (!view) throw new UnixctlError('no such bridge');
  const portName = names ? (p: number): string | undefined => br.fwd.portName(p) : undefined;
  let s = `Flow: ${flowToString(flow, { portName })}\n`;
  const r = udpif.translate(view, flow, generate, root, names, ofpacts);
  s += formatTrace(root);
  s += '\n';
  const same = r.finalFlow.every((w, i) => w === flow[i]);
  s += `Final flow: ${same ? 'unchanged' : flowToString(r.finalFlow, { portName })}\n`;
  s += `Megaflow: ${formatMegaflow(flow, r.wc, portName)}\n`;
  const odpName = names ? odpPortNamer(br.dpif) : undefined;
  s += `Datapath actions: ${r.actions.length ? formatOdpActions(r.actions, { portName: odpName }) : 'drop'}\n`;
  if (r.error !== null) s += `Translation failed (${r.error}), packet is dropped.\n`;
  else if (r.slow) {
    s += 'This flow is handled by the userspace slow path because it:\n';
    s += '  - Uses action(s) not supported by datapath.\n';
  }
  return s;
}

interface TraceRequest {
  br: Ofproto;
  flow: Uint32Array;
  generate: boolean;
  names: boolean;
}

/* Packet metadata kept from the flow argument when a packet is given (OVS's
 * pkt_metadata_from_flow): recirc_id through the conntrack words, and the tunnel. */
const MD_WORDS: readonly [number, number][] = [
  [W_RECIRC_ID, W_CT_TP + 1],
  [W_TUN_ID, W_TUN_GTPU + 1],
];

/**
 * ofproto/trace's arguments, as OVS's parse_flow_and_packet: options anywhere, then
 * `odp_flow`, `dp_name odp_flow` or `bridge br_flow`, optionally followed by a packet in hex.
 * The errors are OVS's texts (ovs-appctl prints them).
 */
function parseTraceArgs(vs: Vswitchd, argv: readonly string[]): TraceRequest {
  let generate = false;
  let names = false;
  const args: string[] = [];
  for (const a of argv) {
    if (a === '-generate' || a === '--generate') generate = true;
    else if (a === '-names' || a === '--names') names = true;
    else if (a === '--no-names') names = false;
    else if (a.startsWith('-')) throw new UnixctlError(`${a}: unknown option`);
    else if (args.length >= 3) throw new UnixctlError('too many arguments');
    else args.push(a);
  }
  let packet: Uint8Array | null = null;
  if (!generate && args.length > 1) {
    const hex = (args[args.length - 1] as string).replace(/\s+/g, '');
    const err = !/^([0-9a-fA-F]{2})*$/.test(hex)
      ? 'Trailing garbage in packet data'
      : hex.length < 28
        ? 'Packet data too short for Ethernet'
        : null;
    if (err === null) {
      packet = Uint8Array.from(Buffer.from(hex, 'hex'));
      args.pop();
    } else if (args.length > 2) {
      throw new UnixctlError(err);
    }
  }
  let backer: DpifNetdev | undefined;
  const backers = vs.backers.list();
  if (args.length === 2) {
    const a0 = args[0] as string;
    const type = a0.startsWith('ovs-') ? a0.slice(4) : a0;
    backer = backers.find((d) => d.type === type);
  } else if (args.length === 1) {
    if (backers.length === 1) backer = backers[0];
  } else {
    throw new UnixctlError('Syntax error');
  }
  const flowText = (args[args.length - 1] as string).replace(/^\s*ufid:[0-9a-fA-F-]+,?\s*/, '');
  const portNo = (name: string): number | undefined =>
    backer ? (backer.portQueryByName(name)?.portNo as number | undefined) : undefined;
  let odp: OdpFlow | null = null;
  try {
    odp = parseOdpFlow(flowText, { portNo });
    if (/(^|[,(])eth\(/.test(flowText)) applyDefaultEthertype(flowText, odp.key);
  } catch {
    odp = null;
  }
  let br: Ofproto | undefined;
  let flow: Uint32Array;
  if (odp) {
    if (!backer) throw new UnixctlError('Cannot find the datapath');
    const recirc = odp.key[W_RECIRC_ID] as number;
    if (recirc !== 0) {
      throw new UnixctlError(`no recirculation data for recirc_id 0x${recirc.toString(16)}`);
    }
    const odpPort = odp.key[W_IN_PORT] as number;
    flow = Uint32Array.from(odp.key);
    for (const b of vs.vswitch.bridges.values()) {
      if (b.ofproto.dpif !== backer) continue;
      for (const p of b.ofproto.ports()) {
        if (p.odpPort === odpPort) {
          br = b.ofproto;
          flow[W_IN_PORT] = p.ofpPort;
        }
      }
    }
    if (!br) throw new UnixctlError(`no OpenFlow port for datapath port ${odpPort}`);
  } else {
    const syntax = `syntax error at ${flowText}`;
    if (args.length !== 2) throw new UnixctlError(`${syntax} (or the bridge name was omitted)`);
    const found = vs.vswitch.bridges.get(args[0] as string)?.ofproto;
    if (!found) throw new UnixctlError(`${args[0]}: unknown bridge`);
    br = found;
    const r = parseExactFlow(flowText, { portNumber: (n) => found.portByName(n)?.ofpPort });
    if (!r.ok) throw new UnixctlError(`Bad openflow flow syntax: ${r.error}`);
    flow = r.key;
  }
  if (packet) {
    const key = new Uint32Array(FLOW_WORDS);
    extractFlow(packet, 0, packet.length, flow[W_IN_PORT] as number, key);
    for (const [from, to] of MD_WORDS) key.set(flow.subarray(from, to), from);
    flow = key;
  }
  return { br, flow, generate, names };
}

function trace(vs: Vswitchd, args: string[]): string {
  const t = parseTraceArgs(vs, args);
  return traceText(t.br, t.flow, t.generate, t.names);
}

/** ofproto/trace-packet-out: the trace of a packet-out with ACTIONS (the last argument). */
function tracePacketOut(vs: Vswitchd, args: string[]): string {
  const acts = parseOfpacts(args[args.length - 1] as string);
  if (!acts.ok) throw new UnixctlError(acts.error);
  const t = parseTraceArgs(vs, args.slice(0, -1));
  return traceText(t.br, t.flow, t.generate, t.names, acts.value);
}

function receive(_vs: Vswitchd, args: string[]): string {
  const name = args[0] as string;
  const dev = findDummyNetdev(name);
  if (!dev) throw new UnixctlError('no such dummy netdev');
  let i = 1;
  if (args[i] === '--qinq') i++;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--len') {
      i++;
      continue;
    }
    let frame = hexPacket(a);
    if (!frame) {
      let odp: OdpFlow;
      try {
        odp = parseOdpFlow(a);
        applyDefaultEthertype(a, odp.key);
      } catch {
        const r = parseExactFlow(a);
        if (!r.ok) throw new UnixctlError(`syntax error at ${a}`);
        odp = { key: r.key, mask: r.mask };
      }
      const lenIdx = args.indexOf('--len', i);
      const want = lenIdx > 0 ? Number(args[lenIdx + 1]) : 0;
      frame = composePacket(odp.key);
      if (want > frame.length) {
        const padded = new Uint8Array(want);
        padded.set(frame);
        frame = padded;
      }
    }
    dev.receiveFrame(frame);
  }
  return '';
}

function dumpFlows(dpif: DpifNetdev, args: string[], onlyBridge: Ofproto | null): string {
  const verbose = args.includes('-m') || args.includes('--more');
  const names = verbose || args.includes('--names');
  const opts = {
    verbose,
    portName: names ? odpPortNamer(dpif) : undefined,
  };
  dpif.dp.flowDump();
  if (!onlyBridge) return dpif.dp.formatDumpFlows(opts);
  const ports = new Set<number>();
  for (const p of onlyBridge.ports()) if (p.odpPort !== null) ports.add(p.odpPort);
  let s = '';
  for (const f of dpif.dp.flowDump())
    if (ports.has(f.key[W_IN_PORT])) s += `${dpif.dp.formatFlow(f, opts, 'dpif')}\n`;
  return s;
}

function dpctlShow(dpif: DpifNetdev): string {
  const st = dpif.dp.stats;
  let s = `${dpif.fullName}:\n`;
  s += `  lookups: hit:${st.hit} missed:${st.missed} lost:${st.lost}\n`;
  s += `  flows: ${dpif.dp.flowCount}\n`;
  const ports = [...dpif.ports()].sort((a, b) => a.portNo - b.portNo);
  for (const p of ports)
    s += `  port ${p.portNo}: ${p.name}${p.type === 'system' ? '' : ` (${p.type})`}\n`;
  return s;
}

function bridgeDumpFlows(br: Ofproto): string {
  br.udpif.pushAllStats();
  const now = Date.now();
  let s = '';
  for (const r of br.tables.rules()) {
    if (r.tableId !== 0) s += `table_id=${r.tableId}, `;
    s += `duration=${Math.floor((now - r.created) / 1000)}s, `;
    s += `n_packets=${r.packetCount}, n_bytes=${r.byteCount}, `;
    s += `${matchToString(r.match, r.priority)},actions=${formatOfpacts(r.ofpacts)}\n`;
  }
  return s;
}

export function registerForwardingCommands(cmds: UnixctlCommands, vs: Vswitchd): void {
  registerDpctlCommands(cmds, vs);
  registerRouterCommands(cmds, new OvsRouter(dummyAddrs));
  cmds.register(
    'netdev-dummy/receive',
    'name [--qinq] packet|flow [--len packet_len]',
    2,
    1000,
    (args) => receive(vs, args),
  );
  cmds.register(
    'ofproto/trace',
    '{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]',
    1,
    10,
    (args) => trace(vs, args),
  );
  cmds.register(
    'ofproto/trace-packet-out',
    '[-consistent] {[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet] actions',
    2,
    10,
    (args) => tracePacketOut(vs, args),
  );
  // Counters of flows the PMD worker forwards come in first, so dumps show every packet.
  cmds.register('dpif/dump-flows', '[-m] [--names | --no-names] bridge', 1, 4, async (args) => {
    const name = args[args.length - 1] as string;
    const br = ofproto(vs, name);
    await br.dpif.syncStats();
    return dumpFlows(br.dpif, args.slice(0, -1), br);
  });
  cmds.register('dpctl/dump-flows', '[-m] [--names] [dp] [filter=..]', 0, 5, async (args) => {
    const dp = args.filter((a) => !a.startsWith('-') && !a.includes('='))[0];
    const dpif = dpifByName(vs, dp);
    await dpif.syncStats();
    return dumpFlows(dpif, args, null);
  });
  cmds.register('dpctl/del-flows', '[dp] [file]', 0, 2, (args) => {
    if (delFlowsHasFile(vs, args)) return dpctlDelFlowsFile(vs, args);
    const d = dpifByName(vs, args[0]);
    for (const b of vs.vswitch.bridges.values()) if (b.ofproto.dpif === d) b.ofproto.udpif.flush();
    d.dp.flowFlush();
    return '';
  });
  cmds.register('dpctl/show', '[dp]', 0, 2, async (args) => {
    const name = args.filter((a) => !a.startsWith('-'))[0];
    if (
      name !== undefined &&
      !findDatapath(vs, name) &&
      !allDatapaths(vs).some((d) => d.type === name || d.fullName.endsWith(`@${name}`))
    )
      throw new UnixctlError(`ovs-vswitchd: opening datapath ${name} failed (No such device)\n`);
    const dpifs = name !== undefined ? [dpifByName(vs, name)] : allDatapaths(vs);
    await Promise.all(dpifs.map((d) => d.syncStats()));
    return dpifs.map(dpctlShow).join('');
  });
  cmds.register('fdb/show', 'bridge', 1, 1, (args) => {
    const br = ofproto(vs, args[0] as string);
    return fdbShow(br.fwd.macs);
  });
  cmds.register('fdb/flush', '[bridge]', 0, 1, (args) => {
    const list = args[0]
      ? [ofproto(vs, args[0])]
      : [...vs.vswitch.bridges.values()].map((b) => b.ofproto);
    for (const br of list) {
      br.fwd.macs.flush();
      br.udpif.changed();
    }
    return FDB_FLUSH_REPLY;
  });
  cmds.register('fdb/stats-show', 'bridge', 1, 1, (args) => {
    const br = ofproto(vs, args[0] as string);
    return fdbStatsShow(br.name, br.fwd.macs);
  });
  cmds.register('fdb/stats-clear', '[bridge]', 0, 1, (args) => {
    const list = args[0]
      ? [ofproto(vs, args[0])]
      : [...vs.vswitch.bridges.values()].map((b) => b.ofproto);
    for (const br of list) {
      const st = br.fwd.macs.stats;
      st.learned = st.expired = st.evicted = st.moved = 0;
    }
    return FDB_STATS_CLEAR_REPLY;
  });
  cmds.register('fdb/add', 'bridge port vlan mac', 4, 4, (args) => {
    const br = ofproto(vs, args[0] as string);
    const port = br.portByName(args[1] as string);
    if (!port) throw new UnixctlError('no such port');
    const r = fdbAdd(br.fwd.macs, port.ofpPort, args[2] as string, args[3] as string);
    br.udpif.changed();
    if (!r.ok) throw new UnixctlError(r.error);
    return r.text;
  });
  cmds.register('fdb/del', 'bridge vlan mac', 3, 3, (args) => {
    const br = ofproto(vs, args[0] as string);
    const r = fdbDel(br.fwd.macs, args[1] as string, args[2] as string);
    br.udpif.changed();
    if (!r.ok) throw new UnixctlError(r.error);
    return r.text;
  });
  cmds.register('bridge/dump-flows', 'bridge', 1, 2, async (args) => {
    const br = ofproto(vs, args[args.length - 1] as string);
    await br.dpif.syncStats();
    return bridgeDumpFlows(br);
  });
  cmds.register('revalidator/wait', '', 0, 0, async () => {
    await Promise.all(vs.backers.list().map((d) => d.syncStats()));
    for (const b of vs.vswitch.bridges.values()) {
      b.ofproto.udpif.revalidateIfNeeded();
      b.ofproto.udpif.pushAllStats();
    }
    return '';
  });
  for (const on of [false, true]) {
    cmds.register(`upcall/${on ? 'enable' : 'disable'}-megaflows`, '', 0, 0, () => {
      setMegaflowsEnabled(on);
      for (const b of vs.vswitch.bridges.values()) b.ofproto.udpif.flush();
      for (const d of vs.backers.list()) d.dp.flowFlush();
      return `megaflows ${on ? 'enabled' : 'disabled'}`;
    });
    // Our datapath always dumps by ufid; the switch is accepted as OVS's is.
    cmds.register(`upcall/${on ? 'enable' : 'disable'}-ufid`, '', 0, 0, () => {
      const state = on ? 'enabled for supported datapaths' : 'disabled';
      return `Datapath dumping tersely using UFID ${state}`;
    });
  }
  cmds.register('revalidator/purge', '', 0, 0, () => {
    // Statistics first, as OVS's revalidators push them before deleting flows.
    for (const d of vs.backers.list()) udpifOf(d).flush();
    return '';
  });
}
