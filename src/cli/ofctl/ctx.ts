/*
 * ovs-ofctl's connections and transactions (OVS's open_vconn, dump_transaction,
 * transact_noreply, protocol selection, port and table maps) and the small helpers every command
 * module shares. Written in the order OVS's ovs-ofctl does things, because the xids it prints
 * and the errors it reports follow from that order.
 */

import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { rundir } from '../../lib/paths.ts';
import type {
  FlowMod,
  OfpMessage,
  PortDesc,
  StatsRequest,
} from '../../ofproto/openflow/messages.ts';
import {
  P_OF10_ANY,
  P_OF10_NXM,
  P_OF10_NXM_TID,
  P_OF10_STD,
  P_OF10_STD_TID,
  P_OF11_STD,
  P_OF12_OXM,
  P_OF13_OXM,
  P_OF14_OXM,
  P_OF15_OXM,
  protocolsToString,
  protocolVersion,
} from '../../ofproto/openflow/protocols.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { vlogDbg } from './log.ts';
import type { Options } from './options.ts';
import { formatReceived, ofpToString } from './print.ts';
import { fatalErrno, type Received, Vconn, vconnNameValid } from './vconn.ts';

export type Out = (s: string) => void;

export class Ctx {
  readonly o: Options;
  readonly out: Out;
  readonly err: Out;
  private portMaps = new Map<string, Map<number, string>>();
  private tableMapsDone = new Set<string>();
  private interactive: boolean | null = null;

  constructor(o: Options, out: Out, err: Out) {
    this.o = o;
    this.out = out;
    this.err = err;
  }

  shouldShowNames(): boolean {
    if (this.interactive === null) this.interactive = isatty(1);
    return this.o.useNames > 0 || (this.o.useNames === -1 && this.interactive);
  }
  shouldAcceptNames(): boolean {
    return this.o.useNames !== 0;
  }

  /* ---- connections ---- */

  private async tryOpenSocket(name: string): Promise<Vconn | null> {
    // OVS's unix streams take relative names as relative to the run directory.
    const path = name.startsWith('/') ? name : `${rundir()}/${name}`;
    try {
      return await Vconn.connectRaw(`unix:${path}`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      vlogDbg('stream_unix', `${path}: connection failed (${strerror(code)})`);
      if (code === 'ENOENT') return null;
      // Connection refused on a stale socket file is reported as OVS does for it.
      throw new OfctlFatal(`${name}: failed to open socket (${strerror(code)})`);
    }
  }

  /** OVS's open_vconn(): a vconn name, a socket path, or a bridge's mgmt socket. */
  async open(name: string, suffix = 'mgmt'): Promise<Vconn> {
    let vc: Vconn | null = null;
    if (name.includes(':')) {
      try {
        vc = await Vconn.connectRaw(name);
      } catch (e) {
        fatalErrno(e, `connecting to ${name}`);
      }
    } else {
      const bridgePath = `${rundir()}/${name}.${suffix}`;
      // ofproto_parse_name(): "type@name" names the datapath "name".
      const dp = name.includes('@') ? name.slice(name.indexOf('@') + 1) : name;
      const socketName = `${rundir()}/${dp}.${suffix}`;
      vc =
        (await this.tryOpenSocket(name)) ??
        (await this.tryOpenSocket(bridgePath)) ??
        (await this.tryOpenSocket(socketName));
      if (!vc) throw new OfctlFatal(`${name} is not a bridge or a socket`);
    }
    vlogDbg('ofctl', `connecting to ${vc.name}`);
    try {
      await vc.connect(this.o.versions);
    } catch (e) {
      vc.close();
      throw new OfctlFatal(
        `${name}: failed to connect to socket (${strerror((e as NodeJS.ErrnoException).code)})`,
      );
    }
    return vc;
  }

  /* ---- port and table maps (OVS's get_port_map / get_table_map) ---- */

  async portIterator(vc: Vconn): Promise<PortDesc[]> {
    if (vc.version < 4) {
      const rq = vc.request({ type: 'features_request' });
      let r: Received;
      try {
        r = await vc.transact(rq.bytes, rq.xid);
      } catch (e) {
        fatalErrno(e, `talking to ${vc.name}`);
      }
      const f = r.frame;
      if (f?.msg.type !== 'features_reply') {
        throw new OfctlFatal(`${vc.name}: received bad features reply`);
      }
      if (f.msg.ports.length || vc.version === 1 || f.msg.ports !== undefined) return f.msg.ports;
    }
    return this.portDescDump(vc);
  }

  private async portDescDump(vc: Vconn): Promise<PortDesc[]> {
    const rq = vc.request({
      type: 'stats_request',
      format: 'standard',
      flags: 0,
      body: { stat: 'port_desc', portNo: 0xffff },
    });
    vc.send(rq.bytes);
    const ports: PortDesc[] = [];
    for (;;) {
      let r: Received;
      try {
        r = await vc.recvXid(rq.xid);
      } catch (e) {
        fatalErrno(e, 'OpenFlow receive failed');
      }
      const m = r.frame?.msg;
      if (m?.type !== 'stats_reply' || m.body.stat !== 'port_desc') {
        throw new OfctlFatal(`received bad reply: ${formatReceived(r)}`);
      }
      ports.push(...m.body.ports);
      if (!(m.flags & 1)) return ports;
    }
  }

  async portMap(name: string): Promise<Map<number, string>> {
    let map = this.portMaps.get(name);
    if (map) return map;
    map = new Map();
    this.portMaps.set(name, map);
    // OVS fetches names for bridges and well-formed active targets (vconn_verify_name() == 0).
    if (!name.includes(':') || vconnNameValid(name)) {
      const vc = await this.open(name);
      for (const p of await this.portIterator(vc)) map.set(p.portNo, p.name);
      vc.close();
    }
    return map;
  }

  /** Table names: fetched (and the connection made) as OVS does; OVS's tables have none. */
  async tableMap(name: string): Promise<void> {
    if (this.tableMapsDone.has(name)) return;
    this.tableMapsDone.add(name);
    if (name.includes(':') && !vconnNameValid(name)) return;
    const vc = await this.open(name);
    const rq = vc.request({
      type: 'stats_request',
      format: 'standard',
      flags: 0,
      body: vc.version < 4 ? { stat: 'table' } : { stat: 'table_features', tables: [] },
    });
    vc.send(rq.bytes);
    for (;;) {
      let r: Received;
      try {
        r = await vc.recvXid(rq.xid);
      } catch (e) {
        fatalErrno(e, 'OpenFlow receive failed');
      }
      // The multipart "more" flag sits right after the header in every version.
      const flags = (r.bytes[10] << 8) | r.bytes[11];
      const more = r.version === 1 && r.type !== 17 ? false : (flags & 1) !== 0;
      if (r.type !== (r.version === 1 ? 17 : 19) || !more) break;
    }
    vc.close();
  }

  async portsToAccept(name: string): Promise<((n: string) => number | undefined) | undefined> {
    if (!this.shouldAcceptNames()) return undefined;
    const map = await this.portMap(name);
    // A name two ports share (long names cut to OpenFlow's 15 characters) names neither.
    return (n: string) => {
      let found: number | undefined;
      for (const [no, pn] of map) {
        if (pn !== n) continue;
        if (found !== undefined && found !== no) return undefined;
        found = no;
      }
      return found;
    };
  }

  /**
   * The port and table maps for a parse call, fetched as OVS's ovs-ofctl does when both are
   * arguments of one C call: the compiler evaluates tables_to_accept() first.
   */
  async namesForParse(name: string): Promise<((n: string) => number | undefined) | undefined> {
    if (this.shouldAcceptNames()) await this.tableMap(name);
    return this.portsToAccept(name);
  }

  async portsToShow(name: string): Promise<((p: number) => string | undefined) | undefined> {
    if (!this.shouldShowNames()) return undefined;
    const map = await this.portMap(name);
    // Reserved ports (LOCAL, CONTROLLER...) print by their reserved names, never a port's name.
    // Ports sharing a (cut) name are shown by number, as OVS can't tell them apart by name.
    const seen = new Map<string, number>();
    for (const pn of map.values()) seen.set(pn, (seen.get(pn) ?? 0) + 1);
    return (p: number) => {
      if (p >= 0xff00 && p <= 0xffff) return undefined;
      const pn = map.get(p);
      if (pn === undefined || seen.get(pn) !== 1) return undefined;
      // Names other than a letter then letters and digits are shown JSON-quoted, as OVS does.
      return /^[A-Za-z][A-Za-z0-9]*$/.test(pn) ? pn : JSON.stringify(pn);
    };
  }

  /* ---- transactions ---- */

  /** OVS's dump_transaction(): prints every reply (all parts of a multipart reply). */
  async dumpTransaction(vc: Vconn, msg: OfpMessage, vconnName?: string): Promise<void> {
    const rq = vc.request(msg);
    const show = vconnName ? await this.portsToShow(vconnName) : undefined;
    if (msg.type !== 'stats_request') {
      let r: Received;
      try {
        r = await vc.transact(rq.bytes, rq.xid);
      } catch (e) {
        fatalErrno(e, `talking to ${vc.name}`);
      }
      this.out(formatReceived(r, { portName: show }));
      return;
    }
    vc.send(rq.bytes);
    for (;;) {
      let r: Received;
      try {
        r = await vc.recvXid(rq.xid);
      } catch (e) {
        fatalErrno(e, 'OpenFlow packet receive failed');
      }
      const text = formatReceived(r, { portName: show, showStats: true });
      const m = r.frame?.msg;
      if (m?.type === 'error') {
        this.out(text);
        return;
      }
      if (m?.type !== 'stats_reply') throw new OfctlFatal(`received bad reply: ${text}`);
      this.out(text);
      if (!(m.flags & 1)) return;
    }
  }

  /** OVS's transact_noreply(): on an error reply, prints it on stderr and exits 1. */
  async transactNoreply(vc: Vconn, reqs: { xid: number; bytes: Uint8Array }[]): Promise<void> {
    let r: Received | null;
    try {
      r = await vc.transactNoreply(reqs);
    } catch (e) {
      fatalErrno(e, `talking to ${vc.name}`);
    }
    if (r) {
      this.err(formatReceived(r, { verbosity: this.o.verbosity + 2 }));
      throw new OfctlFatal('', 1, true);
    }
  }

  /* ---- protocol selection ---- */

  /** OVS's try_set_protocol(): NXT_SET_FLOW_FORMAT / NXT_FLOW_MOD_TABLE_ID as needed. */
  private async trySetProtocol(vc: Vconn, want: number, cur: { p: number }): Promise<boolean> {
    for (;;) {
      if (protocolVersion(cur.p) !== protocolVersion(want)) return false;
      let msg: OfpMessage | null = null;
      let next = cur.p;
      const nxm = (p: number): boolean => (p & (P_OF10_NXM | P_OF10_NXM_TID)) !== 0;
      const tid = (p: number): boolean => (p & (P_OF10_STD_TID | P_OF10_NXM_TID)) !== 0;
      if (cur.p & P_OF10_ANY) {
        if (nxm(cur.p) !== nxm(want)) {
          msg = { type: 'nxt_set_flow_format', format: nxm(want) ? 'nxm' : 'openflow10' };
          next = nxm(want) ? P_OF10_NXM : P_OF10_STD;
        } else if (tid(cur.p) !== tid(want)) {
          msg = { type: 'nxt_flow_mod_table_id', enable: tid(want) };
          next = nxm(cur.p)
            ? tid(want)
              ? P_OF10_NXM_TID
              : P_OF10_NXM
            : tid(want)
              ? P_OF10_STD_TID
              : P_OF10_STD;
        }
      }
      if (!msg) return cur.p === want;
      const rq = vc.request(msg);
      let r: Received | null;
      try {
        r = await vc.transactNoreply([rq]);
      } catch (e) {
        fatalErrno(e, `talking to ${vc.name}`);
      }
      if (r) return false;
      cur.p = next;
    }
  }

  async setProtocolForFlowDump(vc: Vconn, usable: number): Promise<number> {
    const cur = { p: protocolOfVersion(vc.version) };
    for (const f of [
      P_OF15_OXM,
      P_OF14_OXM,
      P_OF13_OXM,
      P_OF12_OXM,
      P_OF11_STD,
      P_OF10_NXM,
      P_OF10_STD,
    ]) {
      if (f & usable & this.o.allowedProtocols && (await this.trySetProtocol(vc, f, cur))) return f;
    }
    const usableS = protocolsToString(usable);
    if (usable & this.o.allowedProtocols) {
      throw new OfctlFatal(`switch does not support any of the usable flow formats (${usableS})`);
    }
    throw new OfctlFatal(
      `none of the usable flow formats (${usableS}) is among the allowed flow formats (${protocolsToString(this.o.allowedProtocols)})`,
    );
  }

  async openForFlowMod(name: string, usable: number): Promise<{ vc: Vconn; protocol: number }> {
    if (!(usable & this.o.allowedProtocols)) {
      throw new OfctlFatal(
        `none of the usable flow formats (${protocolsToString(usable)}) is among the allowed flow formats (${protocolsToString(this.o.allowedProtocols)})`,
      );
    }
    const vc = await this.open(name);
    const cur = { p: protocolOfVersion(vc.version) };
    const start = cur.p;
    if (usable & this.o.allowedProtocols & cur.p) return { vc, protocol: cur.p };
    for (let i = 0; i < 9; i++) {
      const f = 1 << i;
      if (
        f !== start &&
        f & usable & this.o.allowedProtocols &&
        (await this.trySetProtocol(vc, f, cur))
      ) {
        return { vc, protocol: f };
      }
    }
    throw new OfctlFatal(
      `switch does not support any of the usable flow formats (${protocolsToString(usable)})`,
    );
  }
}

export function protocolOfVersion(v: number): number {
  return [0, P_OF10_STD, P_OF11_STD, P_OF12_OXM, P_OF13_OXM, P_OF14_OXM, P_OF15_OXM][v] ?? 0;
}

export function flowModFrame(fm: FlowMod, protocol: number): OfpMessage {
  const nxm = (protocol & (P_OF10_NXM | P_OF10_NXM_TID)) !== 0;
  const tid = (protocol & (P_OF10_STD_TID | P_OF10_NXM_TID)) !== 0 || !(protocol & P_OF10_ANY);
  const m: FlowMod = { ...fm };
  if (!tid && protocol & P_OF10_ANY) m.tableId = 255;
  return { type: 'flow_mod', format: nxm ? 'nxt' : 'standard', ...m };
}

/* ---- helpers the commands share ---- */

export function statsRq(body: StatsRequest): OfpMessage {
  return { type: 'stats_request', format: 'standard', flags: 0, body };
}

/** A port argument: a number, a reserved name, or a port name looked up on the switch. */
export async function strToPortNo(ctx: Ctx, name: string, port: string): Promise<number> {
  const n = parsePortNumber(port);
  if (n !== null) return n;
  const accept = await ctx.portsToAccept(name);
  const p = accept?.(port);
  if (p !== undefined) return p;
  throw new OfctlFatal(`${name}: unknown port \`${port}'`);
}

export const RESERVED: Record<string, number> = {
  in_port: 0xfff8,
  table: 0xfff9,
  normal: 0xfffa,
  flood: 0xfffb,
  all: 0xfffc,
  controller: 0xfffd,
  local: 0xfffe,
  any: 0xffff,
  none: 0xffff,
};

export function parsePortNumber(s: string): number | null {
  if (/^\d+$/.test(s)) {
    const v = Number(s);
    if (v < 0xff00) return v;
    if (v <= 0xffff) return v;
    // OpenFlow 1.1's 32-bit reserved numbers name the same ports (OVS's OFPP11_OFFSET).
    if (v >= 0xffffff00 && v <= 0xffffffff) return v - 0xffff0000;
    return null;
  }
  const r = RESERVED[s.toLowerCase()];
  return r ?? null;
}

/** OVS's ds_get_preprocessed_line(): comments and blank lines dropped, "\" continues. */
export function preprocessedLines(text: string): Array<{ line: string; no: number }> {
  const out: Array<{ line: string; no: number }> = [];
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  let acc = '';
  let n = 0;
  for (const raw of lines) {
    n++;
    let l = raw;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l.endsWith('\\')) {
      acc += l.slice(0, -1);
      continue;
    }
    l = acc + l;
    acc = '';
    const hash = l.indexOf('#');
    if (hash >= 0) l = l.slice(0, hash);
    l = l.trim();
    if (l) out.push({ line: l, no: n });
  }
  if (acc.trim()) out.push({ line: acc.trim(), no: n });
  return out;
}

export function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'latin1');
  } catch (e) {
    throw new OfctlFatal(`${file}: open failed (${strerror((e as NodeJS.ErrnoException).code)})`);
  }
}

/** A message we sent (or one read from a file), printed as ofp_to_string() does. */
export function formatReceivedReq(bytes: Uint8Array, verbosity = 1): string {
  return ofpToString(bytes, { verbosity });
}

/* Messages OVS builds by hand (Nicira stats) still take the next xid, as ofpraw_alloc() would. */
export function allocXidFor(vc: Vconn): number {
  return vc.request({ type: 'barrier_request' }).xid;
}

export async function fetchConfig(vc: Vconn): Promise<{ flags: number; missSendLen: number }> {
  const rq = vc.request({ type: 'get_config_request' });
  let r: Received;
  try {
    r = await vc.transact(rq.bytes, rq.xid);
  } catch (e) {
    fatalErrno(e, `talking to ${vc.name}`);
  }
  const m = r.frame?.msg;
  if (m?.type !== 'get_config_reply')
    throw new OfctlFatal(`${vc.name}: bad reply to config request`);
  return { flags: m.flags, missSendLen: m.missSendLen };
}
