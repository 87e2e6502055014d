/*
 * Answering queue configuration requests: OFPT_QUEUE_GET_CONFIG (OF1.0-1.3) and the OF1.4+
 * OFPMP_QUEUE_DESC multipart. The message union in codec.ts does not model them, so this
 * works on raw bytes with queue-config.ts's decoder. Our ports have no QoS yet: each has
 * queue 0 without rate properties, as the ports of OVS's dummy netdev report.
 */

import { OfpError } from './openflow/errors.ts';
import {
  decodeQueueGetConfigRequest,
  OFPMP14_QUEUE_DESC,
  OFPQ_ALL,
} from './openflow/queue-config.ts';
import {
  ofptMessage,
  parseRaw,
  portToOfp11,
  type RawMessage,
  statsMessage,
} from './openflow/raw-msg.ts';

const OFPP_ANY = 0xffff;

/** Whether `raw` is a queue configuration request this module answers. */
export function isQueueConfigRequest(raw: Uint8Array): boolean {
  const v = raw[0];
  const t = raw[1];
  if (v === 1) return t === 20;
  if (v >= 2 && v <= 4) return t === 22;
  // OF1.4+: a multipart request (18) of type QUEUE_DESC.
  return v >= 5 && t === 18 && raw.length >= 12 && ((raw[8] << 8) | raw[9]) === OFPMP14_QUEUE_DESC;
}

/** The queues one port has (our ports: queue 0 only). */
export type QueuesOf = (port: number) => number[] | null;

/**
 * The replies to a queue configuration request, or the error OVS sends: OFPQOFC_BAD_PORT for
 * a port the switch lacks, OFPQOFC_BAD_QUEUE for a queue no requested port has.
 */
export function queueConfigReplies(
  raw: Uint8Array,
  ports: readonly number[],
  queuesOf: QueuesOf,
): Uint8Array[] | OfpError {
  const m = parseRaw(raw);
  if (!m) return new OfpError('OFPBRC_BAD_LEN');
  let req: { port: number; queue: number };
  try {
    req = decodeQueueGetConfigRequest(m);
  } catch (e) {
    if (e instanceof OfpError) return e;
    throw e;
  }
  const found: { port: number; queue: number }[] = [];
  const collect = (port: number): boolean => {
    const queues = queuesOf(port) ?? [];
    if (req.queue === OFPQ_ALL) {
      for (const q of queues) found.push({ port, queue: q });
      return true;
    }
    if (!queues.includes(req.queue)) return false;
    found.push({ port, queue: req.queue });
    return true;
  };
  if (req.port === OFPP_ANY) {
    let any = false;
    for (const p of [...ports].sort((a, b) => a - b)) if (collect(p)) any = true;
    if (!any) return new OfpError('OFPQOFC_BAD_QUEUE');
  } else if (!ports.includes(req.port)) {
    return new OfpError('OFPQOFC_BAD_PORT');
  } else if (!collect(req.port)) {
    return new OfpError('OFPQOFC_BAD_QUEUE');
  }
  return [encodeReply(m, req.port, found)];
}

function encodeReply(
  m: RawMessage,
  reqPort: number,
  queues: readonly { port: number; queue: number }[],
): Uint8Array {
  const v = m.version;
  if (v >= 5) {
    // ofp14_queue_desc: port, queue_id, len, 6 pad bytes, properties (none).
    const body = new Uint8Array(16 * queues.length);
    const dv = new DataView(body.buffer);
    queues.forEach((q, i) => {
      dv.setUint32(i * 16, portToOfp11(q.port));
      dv.setUint32(i * 16 + 4, q.queue >>> 0);
      dv.setUint16(i * 16 + 8, 16);
    });
    return statsMessage(v, true, OFPMP14_QUEUE_DESC, m.xid, body);
  }
  // OF1.0 and OF1.1 queues are 8 bytes (id, len, pad); OF1.2+ add the port (16 bytes).
  const qlen = v <= 2 ? 8 : 16;
  const head = 8;
  const body = new Uint8Array(head + qlen * queues.length);
  const dv = new DataView(body.buffer);
  if (v === 1) dv.setUint16(0, reqPort);
  else dv.setUint32(0, portToOfp11(reqPort));
  queues.forEach((q, i) => {
    const at = head + i * qlen;
    dv.setUint32(at, q.queue >>> 0);
    if (qlen === 8) dv.setUint16(at + 4, 8);
    else {
      dv.setUint32(at + 4, portToOfp11(q.port));
      dv.setUint16(at + 8, 16);
    }
  });
  return ofptMessage(v, v === 1 ? 21 : 23, m.xid, body);
}
