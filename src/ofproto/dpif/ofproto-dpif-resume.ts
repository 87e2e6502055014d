/*
 * Continuations on the switch side (OVS's ofproto-dpif nxt_resume and the continuation half
 * of its controller upcalls): a paused translation's packet-in goes to the controllers with
 * its NXPINT_CONTINUATION encoded for each connection's OpenFlow version, and an NXT_RESUME
 * brings it back: the frozen state is checked (NXR_STALE when its bridge is not one of ours),
 * translation goes on from where it stopped with the packet as the controller sent it, the
 * rules it runs through are credited and the result is executed on the datapath.
 */

import { extractFlow } from '../../lib/flow/extract.ts';
import {
  FLOW_WORDS,
  type FlowKey,
  W_IN_PORT,
  W_METADATA,
  W_TUN_ID,
} from '../../lib/flow/layout.ts';
import { newMatch, slabFlowKey } from '../../lib/flow/match.ts';
import { timeMsec } from '../../lib/timeval.ts';
import { vlog } from '../../lib/vlog.ts';
import type { Ofconn } from '../connmgr/ofconn.ts';
import { PIN_REASON_BITS } from '../connmgr/ofconn.ts';
import { decodeMessage } from '../openflow/codec.ts';
import {
  type Continuation,
  decodeContinuation,
  encodeContinuation,
} from '../openflow/continuation.ts';
import { OfpError } from '../openflow/errors.ts';
import type { PacketIn } from '../openflow/messages.ts';
import { OFP_NO_BUFFER } from '../openflow/messages.ts';
import type { ControllerReason } from '../openflow/ofpact.ts';
import { OfprotoDpif } from './ofproto-dpif.ts';
import type { Udpif } from './udpif.ts';
import { resumeOfpacts } from './xlate/freeze.ts';
import { type ControllerCall, PIN_META_WORDS } from './xlate/xlate.ts';

const log = vlog('ofproto_dpif');

const NXT_PACKET_IN2 = 30;

/**
 * Sends a paused translation's packet-in (`call.continuation` set) to the connections that
 * want it, as connmgr's packetIn does for the others: NXT_PACKET_IN2 connections get the
 * continuation, the rest a plain packet-in (as OVS, which drops it for other formats).
 */
export function sendPausedPacketIn(
  conns: readonly Ofconn[],
  call: ControllerCall,
  packet: Uint8Array,
  flow: FlowKey,
): void {
  const c = call.continuation as Continuation;
  const bit = PIN_REASON_BITS[call.reason];
  for (const conn of conns) {
    if (conn.controllerId !== call.controllerId || !conn.wantsAsync('packetIn', bit)) continue;
    const format =
      conn.packetInFormat === 'standard' && conn.nxm && conn.version === 1
        ? 'nxt_packet_in'
        : conn.packetInFormat;
    const data = call.maxLen < packet.length ? packet.subarray(0, call.maxLen) : packet;
    const pin: { type: 'packet_in' } & PacketIn = {
      type: 'packet_in',
      format,
      bufferId: OFP_NO_BUFFER,
      totalLen: packet.length,
      reason: wireReason(call.reason, conn.version),
      tableId: call.tableId,
      cookie: call.cookie,
      metadata: metadataMatch(flow),
      data,
      userdata: call.userdata,
    };
    if (format === 'nxt_packet_in2') {
      const body = encodeContinuation(c, conn.version);
      if (body) pin.continuation = body;
    }
    if (conn.pinsched) conn.pinsched.send(() => conn.send(pin, 0));
    else conn.send(pin, 0);
  }
}

/* OVS's encode_packet_in_reason: OpenFlow 1.4's finer reasons are "action" before 1.4. */
function wireReason(r: ControllerReason, version: number): ControllerReason {
  if ((r === 'action_set' || r === 'group' || r === 'packet_out') && version < 5) return 'action';
  return r;
}

function metadataMatch(flow: FlowKey) {
  const m = newMatch();
  m.key[W_IN_PORT] = flow[W_IN_PORT] as number;
  m.mask[W_IN_PORT] = 0xffffffff;
  for (const w of PIN_META_WORDS) {
    if (flow[w] === 0) continue;
    // 64-bit fields are matched whole.
    const first = w === W_METADATA + 1 || w === W_TUN_ID + 1 ? w - 1 : w;
    const n = first === W_METADATA || first === W_TUN_ID ? 2 : 1;
    for (let i = first; i < first + n; i++) {
      m.key[i] = flow[i] as number;
      m.mask[i] = 0xffffffff;
    }
  }
  return m;
}

/**
 * Handles an NXT_RESUME (OVS's handle_nxt_resume + nxt_resume): null when the packet went on
 * its way, else the error to send back.
 */
export function nxtResume(udpif: Udpif, raw: Uint8Array): OfpError | null {
  // The body is an NXT_PACKET_IN2's: decode it as one.
  const b = raw.slice();
  new DataView(b.buffer).setUint32(12, NXT_PACKET_IN2);
  const r = decodeMessage(b);
  if (!r.ok) return r.error;
  if (r.frame.msg.type !== 'packet_in') return new OfpError('OFPBRC_BAD_TYPE');
  const pin = r.frame.msg;
  // OVS requires the packet itself (decode_nx_packet_in2).
  if (pin.data.length === 0) return new OfpError('OFPBRC_BAD_LEN', 'NXT_RESUME lacks packet');
  let c: Continuation;
  try {
    c = pin.continuation
      ? decodeContinuation(pin.continuation, raw[0] as number)
      : {
          bridge: null,
          stack: [],
          mirrors: 0,
          conntracked: false,
          actions: [],
          actionSet: [],
          odpPort: 0,
        };
  } catch (e) {
    if (e instanceof OfpError) return e;
    throw e;
  }
  const dpif = c.bridge ? OfprotoDpif.byUuid(c.bridge) : null;
  const ub = dpif ? udpif.bridgeByName(dpif.name) : undefined;
  if (!dpif || ub?.dpif !== dpif) return new OfpError('NXR_STALE');

  const flow = slabFlowKey();
  const md = pin.metadata;
  extractFlow(pin.data, 0, pin.data.length, md.key[W_IN_PORT] as number, flow);
  for (let i = 0; i < FLOW_WORDS; i++) {
    const m = md.mask[i] as number;
    if (m && i !== W_IN_PORT) flow[i] = ((flow[i] as number) & ~m) | ((md.key[i] as number) & m);
  }
  const xr = udpif.translate(ub, flow, true, null, false, resumeOfpacts(c));
  const len = pin.data.length;
  const now = timeMsec();
  // The side effects a translated packet has (OVS runs the resume's xlate cache).
  for (const l of xr.learns) {
    const lb = udpif.bridgeByName(l.bridge);
    if (lb?.dpif.macs.update(l.learn.mac, l.learn.vlan, l.learn.port, l.learn.isGratArp))
      udpif.changed();
  }
  for (const m of xr.flowMods) udpif.bridgeByName(m.bridge)?.learnFlow(m.fm);
  for (const h of xr.rules) {
    if (!h.rule.removed) udpif.bridgeByName(h.bridge)?.creditRule(h.rule, 1, len, now);
  }
  for (const [name, bits] of xr.mirrored) {
    // Mirrors output before the pause were counted then.
    const fresh = name === dpif.name ? bits & ~c.mirrors : bits;
    if (fresh) udpif.bridgeByName(name)?.dpif.creditMirrors(fresh, 1, len);
  }
  for (const g of xr.groups)
    udpif.bridgeByName(g.bridge)?.creditGroup?.(g.groupId, g.bucket, 1, len);
  for (const p of xr.patches) {
    udpif.bridgeByName(p.bridge)?.patchStats?.(p.port, true, 1, len);
    udpif.bridgeByName(p.peerBridge)?.patchStats?.(p.peerPort, false, 1, len);
  }
  try {
    udpif.dpif.dp.execute(pin.data, c.odpPort, xr.actions);
  } catch (e) {
    log.warn(`${dpif.name}: executing resumed packet failed: ${(e as Error).message}`);
  }
  return null;
}
