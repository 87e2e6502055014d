/*
 * ovs-ofctl packet-out. OVS parses a packet-out's actions without checking them against a flow
 * (there is no match to check them against): dec_ttl or mod_nw_src on a packet that is not IP
 * is sent as written, in any OpenFlow version. Only what the actions' encodings themselves
 * need narrows the versions, as ofpacts_parse_actions() narrows them.
 */

import { actionProtocols, P_ANY, P_OF15_OXM } from '../../ofproto/openflow/protocols.ts';
import { type Ctx, strToPortNo } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { ethFromHex, parsePacketOutStr } from './monitor.ts';

/** The protocols whose action encodings can carry `acts`, with no consistency check. */
const packetOutProtocols = actionProtocols;

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
