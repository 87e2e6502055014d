/*
 * The ovs-ofctl commands that print a switch's state or poke at it simply: show, dump-desc,
 * dump-tables, dump-ports(-desc), queue-stats, mod-port, get/set-frags, probe, ping, ofp-parse.
 */

import { readFileSync } from 'node:fs';
import type { OfpFrame, OfpMessage } from '../../ofproto/openflow/messages.ts';
import { P_ANY } from '../../ofproto/openflow/protocols.ts';
import { type Ctx, fetchConfig, formatReceivedReq, statsRq, strToPortNo } from './ctx.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { formatReceived, header, messageBody } from './print.ts';
import { fatalErrno, type Received } from './vconn.ts';

/* ---- simple dumps ---- */

export async function cmdShow(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const vc = await ctx.open(name);
  const rq = vc.request({ type: 'features_request' });
  let r: Received;
  try {
    r = await vc.transact(rq.bytes, rq.xid);
  } catch (e) {
    fatalErrno(e, `talking to ${name}`);
  }
  ctx.out(formatReceived(r));
  const hasPorts = vc.version <= 3;
  if (!hasPorts) {
    await ctx.dumpTransaction(vc, {
      type: 'stats_request',
      format: 'standard',
      flags: 0,
      body: { stat: 'port_desc', portNo: 0xffff },
    });
  }
  vc.close();
  await dumpTrivial(ctx, name, { type: 'get_config_request' });
}

export async function dumpTrivial(ctx: Ctx, name: string, msg: OfpMessage): Promise<void> {
  const vc = await ctx.open(name);
  await ctx.dumpTransaction(vc, msg, name);
  vc.close();
}

export async function cmdDumpDesc(ctx: Ctx, args: string[]): Promise<void> {
  await dumpTrivial(ctx, args[0], statsRq({ stat: 'desc' }));
}

export async function cmdDumpTables(ctx: Ctx, args: string[]): Promise<void> {
  await dumpTrivial(ctx, args[0], statsRq({ stat: 'table' }));
}

export async function cmdDumpPorts(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const port = args.length > 1 ? await strToPortNo(ctx, name, args[1]) : 0xffff;
  const vc = await ctx.open(name);
  await ctx.dumpTransaction(vc, statsRq({ stat: 'port', portNo: port }), name);
  vc.close();
}

export async function cmdDumpPortsDesc(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const port = args.length > 1 ? await strToPortNo(ctx, name, args[1]) : 0xffff;
  const vc = await ctx.open(name);
  await ctx.dumpTransaction(vc, statsRq({ stat: 'port_desc', portNo: port }), name);
  vc.close();
}

export async function cmdQueueStats(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const vc = await ctx.open(name);
  const port =
    args.length > 1 && args[1] && args[1].toLowerCase() !== 'all'
      ? await strToPortNo(ctx, name, args[1])
      : 0xffff;
  const queue =
    args.length > 2 && args[2] && args[2].toLowerCase() !== 'all'
      ? Number.parseInt(args[2], 10) >>> 0
      : 0xffffffff;
  await ctx.dumpTransaction(vc, statsRq({ stat: 'queue', portNo: port, queueId: queue }), name);
  vc.close();
}

/* ---- ports ---- */

export const PORT_MOD_FLAGS: Array<[string, number, boolean]> = [
  ['up', 1, false],
  ['down', 1, true],
  ['stp', 2, false],
  ['no-stp', 2, true],
  ['receive', 4, false],
  ['no-receive', 4, true],
  ['receive-stp', 8, false],
  ['no-receive-stp', 8, true],
  ['flood', 16, false],
  ['no-flood', 16, true],
  ['forward', 32, false],
  ['no-forward', 32, true],
  ['packet-in', 64, false],
  ['no-packet-in', 64, true],
];

export async function cmdModPort(ctx: Ctx, args: string[]): Promise<void> {
  const [name, portName, command] = args;
  // As OVS: a "no-" or bare "no" prefix inverts any flag ("noflood" is "no-flood").
  const lc = command.toLowerCase();
  const base = lc.startsWith('no-') ? lc.slice(3) : lc.startsWith('no') ? lc.slice(2) : null;
  const hit =
    PORT_MOD_FLAGS.find(([n]) => n === lc) ??
    (base !== null ? PORT_MOD_FLAGS.find(([n]) => n === `no-${base}`) : undefined);
  // The port is looked up on a connection of its own first, as OVS's fetch_ofputil_phy_port().
  const vc0 = await ctx.open(name);
  const portNo = /^\d+$/.test(portName) ? Number(portName) : null;
  const ports = await ctx.portIterator(vc0);
  vc0.close();
  const pp = ports.find((p) => (portNo !== null ? p.portNo === portNo : p.name === portName));
  if (!pp) throw new OfctlFatal(`${name}: couldn't find port \`${portName}'`);
  if (!hit) throw new OfctlFatal(`unknown mod-port command '${command}'`);
  const [, bit, set] = hit;
  const { vc } = await ctx.openForFlowMod(name, P_ANY);
  const rq = vc.request({
    type: 'port_mod',
    portNo: pp.portNo,
    hwAddr: pp.hwAddr,
    config: set ? bit : 0,
    mask: bit,
    advertise: 0,
  });
  await ctx.transactNoreply(vc, [rq]);
  vc.close();
}

/* ---- switch configuration and liveness ---- */

export const FRAG_MODES = ['normal', 'drop', 'reassemble', 'nx-match'];

export async function cmdGetFrags(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  const c = await fetchConfig(vc);
  ctx.out(`${FRAG_MODES[c.flags & 3]}\n`);
  vc.close();
}

export async function cmdSetFrags(ctx: Ctx, args: string[]): Promise<void> {
  const frag = FRAG_MODES.indexOf(args[1].toLowerCase());
  if (frag < 0) throw new OfctlFatal(`${args[1]}: unknown fragment handling mode`);
  const vc = await ctx.open(args[0]);
  let c = await fetchConfig(vc);
  if ((c.flags & 3) !== frag) {
    await ctx.transactNoreply(vc, [
      vc.request({ type: 'set_config', flags: (c.flags & ~3) | frag, missSendLen: c.missSendLen }),
    ]);
    c = await fetchConfig(vc);
    if ((c.flags & 3) !== frag) {
      throw new OfctlFatal(
        `${args[0]}: setting fragment handling mode failed (this switch probably doesn't support mode "${FRAG_MODES[frag]}")`,
      );
    }
  }
  vc.close();
}

export async function cmdProbe(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  const rq = vc.request({ type: 'echo_request', data: new Uint8Array(0) });
  let r: Received;
  try {
    r = await vc.transact(rq.bytes, rq.xid);
  } catch (e) {
    fatalErrno(e, `talking to ${args[0]}`);
  }
  if (r.bytes.length !== 8) throw new OfctlFatal('reply does not match request');
  vc.close();
}

export async function cmdPing(ctx: Ctx, args: string[]): Promise<void> {
  const payload = args.length > 1 ? Number.parseInt(args[1], 10) || 0 : 64;
  if (payload > 65527 || payload < 0)
    throw new OfctlFatal('payload must be between 0 and 65527 bytes');
  const vc = await ctx.open(args[0]);
  for (let i = 0; i < 10; i++) {
    const data = new Uint8Array(payload);
    for (let j = 0; j < payload; j++) data[j] = (Math.random() * 256) | 0;
    const rq = vc.request({ type: 'echo_request', data });
    const start = process.hrtime.bigint();
    let r: Received;
    try {
      r = await vc.transact(rq.bytes, rq.xid);
    } catch (e) {
      fatalErrno(e, 'transact');
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const m = r.frame?.msg;
    const body = r.bytes.subarray(8);
    if (m?.type !== 'echo_reply' || body.length !== payload || Buffer.compare(body, data) !== 0) {
      ctx.out(
        `Reply does not match request.  Request:\n${formatReceivedReq(rq.bytes)}Reply:\n${formatReceived(r)}`,
      );
    }
    ctx.out(
      `${r.bytes.length} bytes from ${args[0]}: xid=${r.xid.toString(16).padStart(8, '0')} time=${ms.toFixed(1)} ms\n`,
    );
  }
  vc.close();
}

/* ---- ofp-parse ---- */

export function cmdOfpParse(ctx: Ctx, args: string[]): void {
  let data: string;
  try {
    data = readFileSync(args[0] === '-' ? 0 : args[0], 'latin1');
  } catch (e) {
    throw new OfctlFatal(`${args[0]}: open (${strerror((e as NodeJS.ErrnoException).code)})`);
  }
  const b = Buffer.from(data, 'latin1');
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 8) throw new OfctlFatal(`${args[0]}: unexpected end of file mid-message`);
    const len = b.readUInt16BE(off + 2);
    if (len < 8) throw new OfctlFatal(`${args[0]}: ${len}-byte message is too short for OpenFlow`);
    if (b.length - off < len)
      throw new OfctlFatal(`${args[0]}: unexpected end of file mid-message`);
    const msg = new Uint8Array(b.subarray(off, off + len));
    ctx.out(formatReceivedReq(msg, ctx.o.verbosity + 2));
    off += len;
  }
}

export function frameText(f: OfpFrame): string {
  return header('', f.version, f.xid) + messageBody(f);
}

/* C's atoi: leading blanks and sign, then digits; 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) | 0 : 0;
}

/** `benchmark TARGET N COUNT`: COUNT echo round trips of N payload bytes, timed. */
export async function cmdBenchmark(ctx: Ctx, args: string[]): Promise<void> {
  const maxPayload = 65535 - 8;
  // The payload is unsigned in OVS: a negative one is out of range too.
  const payload = atoi(args[1]) >>> 0;
  if (payload > maxPayload) {
    throw new OfctlFatal(`payload must be between 0 and ${maxPayload} bytes`);
  }
  const size = 8 + payload;
  const count = atoi(args[2]);
  ctx.out(
    `Sending ${count} packets * ${size} bytes (with header) = ${Math.imul(count, size) >>> 0} bytes total\n`,
  );
  const vc = await ctx.open(args[0]);
  const data = new Uint8Array(payload);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const rq = vc.request({ type: 'echo_request', data });
    try {
      await vc.transact(rq.bytes, rq.xid);
    } catch (e) {
      fatalErrno(e, 'transact');
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  vc.close();
  ctx.out(
    `Finished in ${ms.toFixed(1)} ms (${(count / (ms / 1000)).toFixed(0)} packets/s) (${((count * size) / (ms / 1000)).toFixed(0)} bytes/s)\n`,
  );
}
