/*
 * Group and meter commands: add/mod/del-group(s), insert/remove-buckets, dump-groups,
 * dump-group-stats, dump-group-features, add/mod/del-meter(s), dump-meters, meter-stats,
 * meter-features (OpenFlow 1.0 and 1.1 through OVS's Nicira extensions where OVS uses them).
 */

import { decodeMessage } from '../../ofproto/openflow/codec.ts';
import { type GroupCommand, type GroupMod, parseGroupMod } from '../../ofproto/openflow/group.ts';
import type { StatsRequest } from '../../ofproto/openflow/messages.ts';
import { type MeterCommand, type MeterMod, parseMeterMod } from '../../ofproto/openflow/meter.ts';
import { P_ANY, P_OF10_ANY, P_OF13_UP, P_OF15_OXM } from '../../ofproto/openflow/protocols.ts';
import { allocXidFor, type Ctx, preprocessedLines, readInput, statsRq } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { bundleTransact } from './flows.ts';
import { formatReceived, header, messageBody } from './print.ts';
import { fatalErrno, type Received, type Vconn } from './vconn.ts';

/* ---- groups ---- */

/* Any protocol can carry a group-mod (OF1.0 through OVS's extension); the bucket commands
 * fail only when encoded for OF1.1 to OF1.4, as OVS's bad_group_cmd() reports. */
/* OVS's parser narrows the protocols for the selection-method property (OF1.0 extension and
 * OF1.5 only), but ovs-ofctl 3.1 never checks it: other versions just leave the property out. */
export function groupUsable(g: GroupMod): number {
  // Bucket commands and selection properties exist only in OF1.5 and OVS's OF1.0 extension,
  // but as in OVS, parsing a bucket's actions resets what is usable: with buckets, the
  // version check comes only when the message is encoded (needsOf15()).
  const bucketCmd = g.command === 'insert_bucket' || g.command === 'remove_bucket';
  if (g.buckets.length) return P_ANY;
  return bucketCmd || g.props ? P_OF10_ANY | P_OF15_OXM : P_ANY;
}

/* OVS's encoder refuses bucket commands below OpenFlow 1.5 (OF1.0 has them as an extension). */
function needsOf15(g: GroupMod, version: number): void {
  const bucketCmd = g.command === 'insert_bucket' || g.command === 'remove_bucket';
  if (version >= 2 && version <= 5 && bucketCmd) {
    throw new OfctlFatal(
      `${GROUP_CMD_NAMES[g.command]} needs OpenFlow 1.5 or later ('-O OpenFlow15')`,
    );
  }
}

/* command_bucket_id is required by insert-buckets, optional for remove-buckets (all) and
 * refused elsewhere, as OVS's group parser says. */
export function commandBucketIdError(text: string, command: GroupCommand): string | null {
  const head = text.split(/(^|,)\s*bucket=/)[0];
  const had = /(^|,)\s*command_bucket_id=/.test(head);
  if (command === 'insert_bucket' && !had) return 'must specify a command bucket id';
  if (command !== 'insert_bucket' && command !== 'remove_bucket' && had) {
    return 'command bucket id is not needed';
  }
  return null;
}

export const GROUP_CMD_NAMES: Record<GroupCommand, string> = {
  add: 'add-group',
  modify: 'mod-group',
  delete: 'del-group',
  insert_bucket: 'insert-bucket',
  remove_bucket: 'remove-bucket',
};

export async function cmdGroupMod(
  ctx: Ctx,
  args: string[],
  command: GroupCommand | 'file-add',
): Promise<void> {
  const name = args[0];
  const gms: GroupMod[] = [];
  let usable = P_ANY;
  if (command === 'file-add' || (args.length > 1 && args[1] === '-')) {
    await ctx.namesForParse(name);
    const text = readInput(args[1]);
    for (const { line, no } of preprocessedLines(text)) {
      let cmd: GroupCommand = command === 'file-add' ? 'add' : command;
      let body = line;
      if (command === 'file-add') {
        const m = /^(add|modify|delete|insert_bucket|remove_bucket)(?=[\s,]|$)\s*,?/.exec(line);
        if (m) {
          cmd = m[1] as GroupCommand;
          body = line.slice(m[0].length);
        }
      }
      const p = parseGroupMod(body, cmd);
      const e = p.ok ? commandBucketIdError(body, cmd) : p.error;
      if (e) throw new OfctlFatal(`${args[1]}:${no}: ${e}`);
      if (!p.ok) throw new OfctlFatal(`${args[1]}:${no}: ${p.error}`);
      usable &= groupUsable(p.value);
      gms.push(p.value);
    }
  } else {
    await ctx.namesForParse(name);
    const text = args[1] ?? '';
    const p = parseGroupMod(text, command);
    if (!p.ok) throw new OfctlFatal(p.error);
    const e = commandBucketIdError(text, command);
    if (e) throw new OfctlFatal(e);
    usable &= groupUsable(p.value);
    gms.push(p.value);
  }
  // --may-create: OVS's OFPGC11_ADD_OR_MOD.
  if (ctx.o.mayCreate) for (const g of gms) if (g.command === 'modify') g.addOrMod = true;
  if (ctx.o.bundle) {
    // Bundles need OpenFlow 1.3 or later.
    const { vc } = await ctx.openForFlowMod(name, usable & P_OF13_UP);
    for (const g of gms) needsOf15(g, vc.version);
    await bundleTransact(
      ctx,
      vc,
      gms.map((g) => ({ type: 'group_mod', ...g })),
    );
    vc.close();
    return;
  }
  const { vc } = await ctx.openForFlowMod(name, usable);
  for (const g of gms) {
    needsOf15(g, vc.version);
    const rq = vc.request({ type: 'group_mod', ...g });
    await ctx.transactNoreply(vc, [rq]);
  }
  vc.close();
}

export async function cmdDumpGroups(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const vc = await ctx.open(name);
  let groupId = 0xfffffffc;
  if (args.length > 1) {
    const g = parseGroupId(args[1]);
    if (g !== null) groupId = g;
  }
  if (vc.version === 1) await nxGroupDump(ctx, vc, NXST_GROUP_DESC, groupId);
  else await ctx.dumpTransaction(vc, statsRq({ stat: 'group_desc', groupId }), name);
  vc.close();
}

export function parseGroupId(s: string): number | null {
  const l = s.toLowerCase();
  if (l === 'all') return 0xfffffffc;
  if (l === 'any') return 0xffffffff;
  if (/^\d+$/.test(s) && Number(s) <= 0xffffff00) return Number(s);
  return null;
}

export async function cmdDumpGroupStats(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  await ctx.namesForParse(name);
  const p = parseGroupMod(args[1] ?? '', 'delete');
  if (!p.ok) throw new OfctlFatal(p.error);
  const vc = await ctx.open(name);
  if (vc.version === 1) await nxGroupDump(ctx, vc, NXST_GROUP, p.value.groupId);
  else await ctx.dumpTransaction(vc, statsRq({ stat: 'group', groupId: p.value.groupId }), name);
  vc.close();
}

/* OpenFlow 1.0 has groups only as OVS's Nicira extension: NXST_GROUP (7) with an OF1.1 group
 * stats request and OF1.3 replies, NXST_GROUP_DESC (8) with OF1.5 request and replies. */
export const NXST_GROUP = 7;
export const NXST_GROUP_DESC = 8;

export async function nxGroupDump(
  ctx: Ctx,
  vc: Vconn,
  sub: number,
  groupId: number,
): Promise<void> {
  const xid = allocXidFor(vc);
  const b = Buffer.alloc(32);
  b.writeUInt8(1, 0);
  b.writeUInt8(16, 1); // OFPT10_STATS_REQUEST
  b.writeUInt16BE(32, 2);
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(0xffff, 8); // OFPST_VENDOR
  b.writeUInt32BE(0x2320, 12);
  b.writeUInt32BE(sub, 16);
  b.writeUInt32BE(groupId >>> 0, 24);
  vc.send(new Uint8Array(b));
  const name = sub === NXST_GROUP_DESC ? 'NXST_GROUP_DESC reply' : 'NXST_GROUP reply';
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    if (r.type === 1) {
      ctx.out(formatReceived(r));
      return;
    }
    // The body follows the 24-byte Nicira stats header. Group stats use OF1.3's layout, group
    // descriptions OF1.5's with OF1.0 actions: rewrap as a message our codec decodes.
    const flags = (r.bytes[10] << 8) | r.bytes[11];
    const body = r.bytes.subarray(24);
    const desc = sub === NXST_GROUP_DESC;
    const hl = desc ? 12 : 16;
    const w = Buffer.alloc(hl + body.length);
    w.writeUInt8(desc ? 1 : 4, 0);
    w.writeUInt8(desc ? 17 : 19, 1);
    w.writeUInt16BE(hl + body.length, 2);
    w.writeUInt32BE(xid, 4);
    w.writeUInt16BE(desc ? 7 : 6, 8);
    w.writeUInt16BE(flags, 10);
    Buffer.from(body).copy(w, hl);
    const inner = new Uint8Array(w);
    const d = decodeMessage(inner);
    if (!d.ok) throw new OfctlFatal(`received bad reply: ${formatReceived(r)}`);
    // Printed as OF1.5 prints groups (bucket ids, selection method), which is what OVS does.
    const props = new Uint8Array(16 + body.length);
    props.set(body, 16);
    ctx.out(
      `${header(name, 1, xid)}${messageBody({ ...d.frame, version: desc ? 6 : 4 }, { verbosity: 1 }, props)}`,
    );
    if (!(flags & 1)) return;
  }
}

/* ---- group features ---- */

export const OFPACT_ORDER = [
  'output',
  'group',
  'enqueue',
  'set_field',
  'set_vlan_vid',
  'set_vlan_pcp',
  'strip_vlan',
  'push_vlan',
  'mod_dl_src',
  'mod_dl_dst',
  'mod_nw_src',
  'mod_nw_dst',
  'mod_nw_tos',
  'mod_nw_ecn',
  'mod_nw_ttl',
  'mod_tp_src',
  'mod_tp_dst',
  'dec_ttl',
  'set_mpls_label',
  'set_mpls_tc',
  'set_mpls_ttl',
  'dec_mpls_ttl',
  'push_mpls',
  'pop_mpls',
  'set_queue',
];

/* Wire action-type bit -> OVS action name, per version family (OF1.0, OF1.1, OF1.2+). */
export const ACTION_BITS: Record<'10' | '11' | '12', Record<number, string>> = {
  '10': {
    0: 'output',
    1: 'set_vlan_vid',
    2: 'set_vlan_pcp',
    3: 'strip_vlan',
    4: 'mod_dl_src',
    5: 'mod_dl_dst',
    6: 'mod_nw_src',
    7: 'mod_nw_dst',
    8: 'mod_nw_tos',
    9: 'mod_tp_src',
    10: 'mod_tp_dst',
    11: 'enqueue',
  },
  '11': {
    0: 'output',
    1: 'set_vlan_vid',
    2: 'set_vlan_pcp',
    3: 'mod_dl_src',
    4: 'mod_dl_dst',
    5: 'mod_nw_src',
    6: 'mod_nw_dst',
    7: 'mod_nw_tos',
    8: 'mod_nw_ecn',
    9: 'mod_tp_src',
    10: 'mod_tp_dst',
    13: 'set_mpls_label',
    14: 'set_mpls_tc',
    15: 'set_mpls_ttl',
    16: 'dec_mpls_ttl',
    17: 'push_vlan',
    18: 'strip_vlan',
    19: 'push_mpls',
    20: 'pop_mpls',
    21: 'set_queue',
    22: 'group',
    23: 'mod_nw_ttl',
    24: 'dec_ttl',
  },
  '12': {
    0: 'output',
    15: 'set_mpls_ttl',
    16: 'dec_mpls_ttl',
    17: 'push_vlan',
    18: 'strip_vlan',
    19: 'push_mpls',
    20: 'pop_mpls',
    21: 'set_queue',
    22: 'group',
    23: 'mod_nw_ttl',
    24: 'dec_ttl',
    25: 'set_field',
  },
};

export function actionBitmapText(bits: number, version: number): string {
  const table = ACTION_BITS[version === 1 ? '10' : version === 2 ? '11' : '12'];
  const names = new Set<string>();
  for (let i = 0; i < 32; i++) if (bits & (1 << i) && table[i]) names.add(table[i]);
  return OFPACT_ORDER.filter((n) => names.has(n)).join(' ');
}

export function groupFeaturesText(
  f: { types: number; capabilities: number; maxGroups: number[]; actions: number[] },
  version: number,
): string {
  let s = `\n Group table:\n    Types:  0x${f.types.toString(16)}\n    Capabilities:  0x${f.capabilities.toString(16)}\n`;
  const names = ['all', 'select', 'indirect', 'fast failover'];
  for (let i = 0; i < 4; i++) {
    if (!(f.types & (1 << i))) continue;
    s += `    ${names[i]} group:\n       max_groups=${f.maxGroups[i] ? `0x${(f.maxGroups[i] >>> 0).toString(16)}` : '0'}\n`;
    s += `       actions: ${actionBitmapText(f.actions[i], version)}\n`;
  }
  return s;
}

export async function cmdDumpGroupFeatures(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  if (vc.version >= 3) {
    const rq = vc.request(statsRq({ stat: 'group_features' }));
    let r: Received;
    try {
      r = await vc.transact(rq.bytes, rq.xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const m = r.frame?.msg;
    if (m?.type === 'stats_reply' && m.body.stat === 'group_features') {
      ctx.out(
        `${header('OFPST_GROUP_FEATURES reply', vc.version, r.xid)}${groupFeaturesText(m.body, vc.version)}`,
      );
    } else ctx.out(formatReceived(r));
    vc.close();
    return;
  }
  // OpenFlow 1.0 and 1.1: OVS's NXST_GROUP_FEATURES (9).
  const xid = allocXidFor(vc);
  const b = Buffer.alloc(24);
  b.writeUInt8(vc.version, 0);
  b.writeUInt8(vc.version === 1 ? 16 : 18, 1);
  b.writeUInt16BE(24, 2);
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(0xffff, 8);
  const vo = vc.version === 1 ? 12 : 16;
  b.writeUInt32BE(0x2320, vo);
  b.writeUInt32BE(9, vo + 4);
  let r: Received;
  try {
    r = await vc.transact(new Uint8Array(b), xid);
  } catch (e) {
    fatalErrno(e, 'OpenFlow packet receive failed');
  }
  if (r.type === 1 || r.bytes.length < 64) {
    ctx.out(formatReceived(r));
  } else {
    const d = Buffer.from(r.bytes);
    const at = 24;
    const f = {
      types: d.readUInt32BE(at),
      capabilities: d.readUInt32BE(at + 4),
      maxGroups: [0, 1, 2, 3].map((i) => d.readUInt32BE(at + 8 + 4 * i)),
      actions: [0, 1, 2, 3].map((i) => d.readUInt32BE(at + 24 + 4 * i)),
    };
    ctx.out(
      `${header('NXST_GROUP_FEATURES reply', vc.version, xid)}${groupFeaturesText(f, vc.version)}`,
    );
  }
  vc.close();
}

/* ---- meters ---- */

export async function cmdMeterMod(ctx: Ctx, args: string[], command: MeterCommand): Promise<void> {
  const name = args[0];
  let meter: MeterMod = { command, meterId: 0xffffffff, flags: 0, bands: [] };
  if (args.length > 1) {
    const mm = parseMeterMod(args[1], command);
    if (!mm.ok) throw new OfctlFatal(mm.error);
    meter = mm.value;
  }
  const { vc } = await ctx.openForFlowMod(name, P_OF13_UP);
  const rq = vc.request({ type: 'meter_mod', ...meter });
  await ctx.transactNoreply(vc, [rq]);
  vc.close();
}

export async function cmdMeterRequest(
  ctx: Ctx,
  args: string[],
  kind: 'meter_config' | 'meter' | 'meter_features',
): Promise<void> {
  const name = args[0];
  let meterId = 0xffffffff;
  if (args.length > 1 && kind !== 'meter_features') {
    const p = parseMeterMod(args[1], 'delete');
    if (!p.ok) throw new OfctlFatal(p.error);
    meterId = p.value.meterId;
  }
  const { vc } = await ctx.openForFlowMod(name, P_OF13_UP);
  const body: StatsRequest =
    kind === 'meter_features' ? { stat: 'meter_features' } : { stat: kind, meterId };
  await ctx.dumpTransaction(vc, statsRq(body), name);
  vc.close();
}
