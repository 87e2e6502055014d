/*
 * ovs-ofctl packet-out. OVS parses a packet-out's actions without checking them against a flow
 * (there is no match to check them against): dec_ttl or mod_nw_src on a packet that is not IP
 * is sent as written, in any OpenFlow version. Only what the actions' encodings themselves
 * need narrows the versions, as ofpacts_parse_actions() narrows them.
 */

import type { Ofpact } from '../../ofproto/openflow/ofpact.ts';
import {
  P_ANY,
  P_NXM_OXM_ANY,
  P_OF10_STD_ANY,
  P_OF11_UP,
  P_OF13_UP,
  P_OF15_OXM,
} from '../../ofproto/openflow/protocols.ts';
import { type Ctx, strToPortNo } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { ethFromHex, parsePacketOutStr } from './monitor.ts';

/* set_field of these fields has an OpenFlow 1.0 action (mod_dl_src, mod_nw_src...). */
const LEGACY_SET_FIELDS = new Set([
  'eth_src',
  'eth_dst',
  'ip_src',
  'ip_dst',
  'tcp_src',
  'tcp_dst',
  'udp_src',
  'udp_dst',
  'vlan_vid',
  'vlan_pcp',
  'ip_dscp',
  'nw_tos',
]);

/** The protocols whose action encodings can carry `acts`, with no consistency check. */
export function packetOutProtocols(acts: readonly Ofpact[]): number {
  let p = P_ANY;
  for (const a of acts) {
    switch (a.type) {
      case 'meter':
        p &= P_OF13_UP;
        break;
      case 'push_vlan':
        p &= P_OF11_UP;
        break;
      case 'write_metadata':
        p &= ~P_OF10_STD_ANY;
        break;
      case 'set_field':
        if (a.raw === 'set_field' && !LEGACY_SET_FIELDS.has(a.field)) p &= P_NXM_OXM_ANY;
        break;
      case 'write_actions':
      case 'clone':
        p &= packetOutProtocols(a.actions);
        break;
    }
  }
  return p;
}

export async function cmdPacketOut(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const { parseOfpacts } = await import('../../ofproto/openflow/ofpact-parse.ts');
  if (args.length > 3) {
    // The old syntax: IN_PORT ACTIONS PACKET...
    const accept = await ctx.portsToAccept(name);
    if (ctx.shouldAcceptNames()) await ctx.tableMap(name);
    const pa = parseOfpacts(args[2], { portNumber: accept });
    if (!pa.ok) throw new OfctlFatal(pa.error);
    const inPort = await strToPortNo(ctx, name, args[1]);
    const { vc } = await ctx.openForFlowMod(name, packetOutProtocols(pa.value));
    for (const hex of args.slice(3)) {
      const data = ethFromHex(hex);
      if (typeof data === 'string') throw new OfctlFatal(data);
      const rq = vc.request({
        type: 'packet_out',
        bufferId: 0xffffffff,
        inPort,
        ofpacts: pa.value,
        data,
      });
      await ctx.transactNoreply(vc, [rq]);
    }
    vc.close();
    return;
  }
  if (args.length !== 2) throw new OfctlFatal(`Too many arguments (${args.length + 1})`);
  const accept = await ctx.namesForParse(name);
  const po = parsePacketOutStr(args[1], accept, parseOfpacts);
  // Only OpenFlow 1.5 carries pipeline fields in a packet-out.
  const usable = packetOutProtocols(po.ofpacts) & (po.flowMetadata ? P_OF15_OXM : P_ANY);
  const { vc } = await ctx.openForFlowMod(name, usable);
  const rq = vc.request({ type: 'packet_out', bufferId: 0xffffffff, ...po });
  await ctx.transactNoreply(vc, [rq]);
  vc.close();
}
