/*
 * packet-out, and monitor/snoop: what a switch sends asynchronously, printed on stderr as OVS's
 * ovs-ofctl does.
 */

import { fieldByName } from '../../lib/flow/fields.ts';
import { type Match, matchSetField, newMatch } from '../../lib/flow/match.ts';
import { parseFieldValue, splitActions, splitKeyValues } from '../../lib/flow/match-parse.ts';
import { ofpPortFromString } from '../../lib/flow/ofp-port.ts';
import { encodeMessage } from '../../ofproto/openflow/codec.ts';
import { encodeFlowMonitorMessage } from '../../ofproto/openflow/flow-monitor.ts';
import type { FlowMod } from '../../ofproto/openflow/messages.ts';
import type { Ctx } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { parseWatch } from './flow-monitor-print.ts';
import { detachMonitor, startMonitorControl } from './monitor-daemon.ts';
import { formatReceived, ofpToString } from './print.ts';
import { dumpRaw, rawRequest } from './raw-dump.ts';
import { fatalErrno, type Received, type Vconn } from './vconn.ts';

/* ---- packet-out ---- */

/**
 * OVS's parse_ofp_packet_out_str(): "in_port=P packet=HEX actions=..." (a `bundle` file's
 * packet-out lines too). Throws OfctlFatal with OVS's message.
 */
export function parsePacketOutStr(
  text: string,
  accept: Parameters<typeof ofpPortFromString>[1],
  parseOfpacts: typeof import('../../ofproto/openflow/ofpact-parse.ts').parseOfpacts,
): { inPort: number; data: Uint8Array; ofpacts: FlowMod['ofpacts']; flowMetadata?: Match } {
  const { match: head, actions } = splitActions(text);
  let inPort = 0xfffd;
  let data: Uint8Array | null = null;
  // Pipeline fields the packet starts with (OpenFlow 1.5 carries them).
  let metadata: Match | null = null;
  for (const [k, v] of splitKeyValues(head)) {
    if (!v) throw new OfctlFatal(`field ${k} missing value`);
    if (k === 'in_port') {
      const p = ofpPortFromString(v, accept);
      if (p === null) throw new OfctlFatal(`${v} is not a valid OpenFlow port`);
      if (p > 0xff00 && p !== 0xfffe && p !== 0xffff && p !== 0xfffd) {
        throw new OfctlFatal(`${v} is not a valid OpenFlow port for PACKET_OUT`);
      }
      inPort = p;
    } else if (k === 'packet') {
      const d = ethFromHex(v);
      if (typeof d === 'string') throw new OfctlFatal(`packet: ${d}`);
      data = d;
    } else if (k === 'packet_type' && /^\(?\s*0\s*,\s*(0x)?0+\s*\)?$/.test(v)) {
      // (0,0): Ethernet, what a packet-out carries anyway.
    } else if (!fieldByName(k)) {
      throw new OfctlFatal(`unknown keyword ${k}`);
    } else {
      const f = fieldByName(k);
      if (!f || !isPipelineField(f.name)) {
        throw new OfctlFatal(`${k} is not a valid pipeline field for PACKET_OUT`);
      }
      const pv = parseFieldValue(f, v);
      if ('error' in pv) throw new OfctlFatal(pv.error);
      metadata ??= newMatch();
      matchSetField(metadata, f, pv.value, pv.mask);
    }
  }
  if (!data?.length) throw new OfctlFatal('must specify packet');
  let ofpacts: FlowMod['ofpacts'] = [];
  if (actions !== null) {
    const pa = parseOfpacts(actions, { portNumber: accept });
    if (!pa.ok) throw new OfctlFatal(pa.error);
    ofpacts = pa.value;
  }
  if (metadata) {
    metadata.key[0] = inPort;
    metadata.mask[0] = 0xffffffff;
    return { inPort, data, ofpacts, flowMetadata: metadata };
  }
  return { inPort, data, ofpacts };
}

/* OVS's mf_is_pipeline_field(): what a packet-out may preset besides in_port. */
function isPipelineField(name: string): boolean {
  return /^(tun_|tunnel_)|^metadata$|^x{0,2}reg\d+$|^pkt_mark$/.test(name);
}

/** OVS's eth_from_hex(): hex digit pairs, white space between them allowed. */
export function ethFromHex(hex: string): Uint8Array | string {
  const out: number[] = [];
  let i = 0;
  for (;;) {
    while (i < hex.length && ' \t\r\n'.includes(hex[i])) i++;
    const pair = hex.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
    out.push(Number.parseInt(pair, 16));
    i += 2;
  }
  if (i < hex.length) return 'Trailing garbage in packet data';
  if (out.length < 14) return 'Packet data too short for Ethernet';
  return Uint8Array.from(out);
}

/* ---- monitor / snoop ---- */

const OFPC_INVALID_TTL_TO_CONTROLLER = 4;

async function fetchConfigFlags(vc: Vconn): Promise<{ flags: number; missSendLen: number }> {
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

/* OVS's monitor_set_invalid_ttl_to_controller(): set the flag, then check that it took. */
async function setInvalidTtlToController(ctx: Ctx, vc: Vconn): Promise<void> {
  let c = await fetchConfigFlags(vc);
  if (c.flags & OFPC_INVALID_TTL_TO_CONTROLLER) return;
  await ctx.transactNoreply(vc, [
    vc.request({
      type: 'set_config',
      flags: c.flags | OFPC_INVALID_TTL_TO_CONTROLLER,
      missSendLen: c.missSendLen,
    }),
  ]);
  c = await fetchConfigFlags(vc);
  if (!(c.flags & OFPC_INVALID_TTL_TO_CONTROLLER)) {
    throw new OfctlFatal(
      "setting invalid_ttl_to_controller failed (this switch probably doesn't support this flag)",
    );
  }
}

/* "watch:SPEC": one flow monitor, its initial reply dumped on stdout. */
async function watchFlows(ctx: Ctx, vc: Vconn, name: string, spec: string): Promise<void> {
  const accept = await ctx.namesForParse(name);
  const rq = parseWatch(spec, accept);
  if (typeof rq === 'string') throw new OfctlFatal(rq);
  const req = rawRequest((xid) =>
    encodeFlowMonitorMessage({
      version: vc.version,
      xid,
      msg: { type: 'flow_monitor_request', flags: 0, requests: [rq] },
    }),
  );
  if (ctx.o.verbosity) ctx.out(ofpToString(req.bytes, { verbosity: ctx.o.verbosity + 2 }));
  await dumpRaw(ctx, vc, req, vc.name);
}

/** OVS's fetch_switch_config() then set_switch_config() with a new miss_send_len. */
export async function setMissSendLen(ctx: Ctx, vc: Vconn, missSendLen: number): Promise<void> {
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
  await ctx.transactNoreply(vc, [
    vc.request({ type: 'set_config', flags: m.flags, missSendLen: missSendLen & 0xffff }),
  ]);
}

export async function trySetPacketInFormat(
  vc: Vconn,
  format: 'nxt_packet_in' | 'nxt_packet_in2',
): Promise<boolean> {
  const rq = vc.request({ type: 'nxt_set_packet_in_format', format });
  try {
    return (await vc.transactNoreply([rq])) === null;
  } catch (e) {
    fatalErrno(e, `talking to ${vc.name}`);
  }
}

export async function cmdMonitor(ctx: Ctx, args: string[], snoop: boolean): Promise<number> {
  const name = args[0];
  await detachMonitor(process.argv.slice(2));
  let vc: Vconn;
  let resume = false;
  if (snoop) {
    ctx.o.useNames = 0;
    vc = await ctx.open(name, 'snoop');
  } else {
    if (args.slice(1).includes('invalid_ttl')) {
      const usable = ctx.o.versions.filter((v) => v <= 3);
      if (!usable.length) {
        throw new OfctlFatal(
          'invalid_ttl requires one of the OpenFlow versions OpenFlow10, OpenFlow11, OpenFlow12 but none is enabled (use -O)',
        );
      }
      ctx.o.versions = usable;
    }
    vc = await ctx.open(name);
    for (const arg of args.slice(1)) {
      if (/^\d/.test(arg)) await setMissSendLen(ctx, vc, Number.parseInt(arg, 10));
      else if (arg === 'resume') {
        // OVS's undocumented test option: answer each continuation with an NXT_RESUME.
        resume = true;
        await setMissSendLen(ctx, vc, 0xffff);
      } else if (arg === 'invalid_ttl') await setInvalidTtlToController(ctx, vc);
      else if (arg.startsWith('watch:')) await watchFlows(ctx, vc, name, arg.slice(6));
      else throw new OfctlFatal(`${arg}: unsupported "monitor" argument`);
    }
    const pif = ctx.o.packetInFormat;
    if (pif !== null) {
      const f =
        pif === 'nxt_packet_in2'
          ? 'nxt_packet_in2'
          : pif === 'nxt_packet_in' || pif === 'nxm'
            ? 'nxt_packet_in'
            : null;
      if (f)
        await ctx.transactNoreply(vc, [
          vc.request({ type: 'nxt_set_packet_in_format', format: f }),
        ]);
      else
        await ctx.transactNoreply(vc, [
          vc.request({ type: 'nxt_set_packet_in_format', format: 'standard' }),
        ]);
    } else if (!(await trySetPacketInFormat(vc, 'nxt_packet_in2')) && vc.version === 1) {
      await trySetPacketInFormat(vc, 'nxt_packet_in');
    }
  }
  // ovs-ofctl prints what it receives on stderr, and runs until killed or disconnected.
  const control = await startMonitorControl(ctx, vc, process.argv.slice(2));
  for (;;) {
    const hold = control.waitUnblocked();
    if (hold) await hold;
    let r: Received;
    try {
      r = await vc.recv();
    } catch (e) {
      fatalErrno(e, 'vconn_recv');
    }
    if (ctx.o.timestamp) ctx.err(`${timestampNow()}: `);
    ctx.err(formatReceived(r, { verbosity: ctx.o.verbosity + 2 }));
    control.received(r);
    if (resume) resumeContinuation(ctx, vc, r);
    if (!snoop && r.frame?.msg.type === 'echo_request') {
      vc.sendFrame({
        version: r.version,
        xid: r.xid,
        msg: { type: 'echo_reply', data: r.frame.msg.data },
      });
    }
  }
}

/* ovs-ofctl's monitor "resume": a packet-in with a continuation goes back as an NXT_RESUME
 * with the packet whole, its flow properties and the same continuation (no userdata). */
function resumeContinuation(ctx: Ctx, vc: Vconn, r: Received): void {
  const m = r.frame?.msg;
  if (m?.type !== 'packet_in' || !m.continuation?.length) return;
  const raw = encodeMessage({
    version: r.version,
    xid: 0,
    msg: {
      ...m,
      format: 'nxt_packet_in2',
      bufferId: 0xffffffff,
      totalLen: m.data.length,
      userdata: undefined,
    },
  }).slice();
  new DataView(raw.buffer).setUint32(12, NXT_RESUME);
  ctx.err(`send: ${ofpToString(raw, { verbosity: ctx.o.verbosity + 2 })}`);
  vc.send(raw);
}

const NXT_RESUME = 28;

export function timestampNow(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}
