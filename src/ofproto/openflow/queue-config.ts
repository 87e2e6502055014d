/*
 * Queue configuration: OFPT_QUEUE_GET_CONFIG request/reply (OF1.0 types 20/21, OF1.1-1.3 types
 * 22/23) and its OF1.4+ successor, the OFPMP_QUEUE_DESC multipart (15), as OVS's
 * ofputil_queue_config, with the text OVS prints for them.
 */

import { OfpError } from './errors.ts';
import {
  ofptMessage,
  portFromOfp11,
  portToOfp11,
  type RawMessage,
  statsMessage,
} from './raw-msg.ts';

export const OFPMP14_QUEUE_DESC = 15;
export const OFPQ_ALL = 0xffffffff;

export interface QueueConfig {
  port: number;
  queue: number;
  /** Tenths of a percent; 0xffff when absent. */
  minRate: number;
  maxRate: number;
}

export function queueGetConfigTypes(version: number): [number, number] {
  return version === 1 ? [20, 21] : [22, 23];
}

/** The request for `port`'s queues (`queue` only counts from OF1.4 on). */
export function encodeQueueGetConfigRequest(
  version: number,
  port: number,
  queue: number,
  xid: number,
): Uint8Array {
  if (version === 1) {
    const body = new Uint8Array(4);
    body[0] = port >> 8;
    body[1] = port & 255;
    return ofptMessage(version, 20, xid, body);
  }
  const body = new Uint8Array(8);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, portToOfp11(port));
  if (version < 5) return ofptMessage(version, 22, xid, body);
  dv.setUint32(4, queue >>> 0);
  return statsMessage(version, false, OFPMP14_QUEUE_DESC, xid, body);
}

export function decodeQueueGetConfigRequest(m: RawMessage): { port: number; queue: number } {
  const b = m.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = m.bodyAt;
  if (m.version === 1) {
    if (b.length < at + 4) throw new OfpError('OFPBRC_BAD_LEN');
    const port = dv.getUint16(at);
    if (port >= 0xff00) throw new OfpError('OFPQOFC_BAD_PORT');
    return { port, queue: OFPQ_ALL };
  }
  if (b.length < at + 8) throw new OfpError('OFPBRC_BAD_LEN');
  const port = portFromOfp11(dv.getUint32(at));
  if (port === null) throw new OfpError('OFPBAC_BAD_OUT_PORT');
  if (m.kind.cls === 'ofpst') return { port, queue: dv.getUint32(at + 4) };
  if (port !== 0xffff && port >= 0xff00) throw new OfpError('OFPQOFC_BAD_PORT');
  return { port, queue: OFPQ_ALL };
}

export function formatQueueGetConfigRequest(
  r: { port: number; queue: number },
  portText: (p: number) => string,
): string {
  let s = ` port=${portText(r.port)}`;
  if (r.queue !== OFPQ_ALL) s += ` queue=${r.queue}`;
  return s;
}

/** The queues of a reply in any of its three forms. */
export function decodeQueueGetConfigReply(m: RawMessage): QueueConfig[] {
  const b = m.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: QueueConfig[] = [];
  if (m.kind.cls === 'ofpst') {
    let at = m.bodyAt;
    while (at < b.length) {
      if (b.length - at < 16) throw new OfpError('OFPBRC_BAD_LEN');
      const port = portFromOfp11(dv.getUint32(at));
      if (port === null) throw new OfpError('OFPBAC_BAD_OUT_PORT');
      const q: QueueConfig = {
        port,
        queue: dv.getUint32(at + 4),
        minRate: 0xffff,
        maxRate: 0xffff,
      };
      const len = dv.getUint16(at + 8);
      if (len < 16 || at + len > b.length || len % 8) throw new OfpError('OFPBRC_BAD_LEN');
      let p = at + 16;
      while (p < at + len) {
        const type = dv.getUint16(p);
        const plen = dv.getUint16(p + 2);
        if (plen < 4 || p + plen > at + len) throw new OfpError('OFPBPC_BAD_LEN');
        if (type === 1 || type === 2) {
          // A 16-bit rate; OVS writes 2 pad bytes after it and reads any payload that big.
          if (plen < 6) throw new OfpError('OFPBPC_BAD_LEN');
          if (type === 1) q.minRate = dv.getUint16(p + 4);
          else q.maxRate = dv.getUint16(p + 4);
        } else throw new OfpError('OFPBPC_BAD_TYPE');
        p += (plen + 7) & ~7;
      }
      out.push(q);
      at += len;
    }
    return out;
  }
  let at = 8;
  let port: number;
  if (m.version === 1) {
    if (b.length < 16) throw new OfpError('OFPBRC_BAD_LEN');
    port = dv.getUint16(8);
    at = 16;
  } else {
    if (b.length < 16) throw new OfpError('OFPBRC_BAD_LEN');
    const p = portFromOfp11(dv.getUint32(8));
    if (p === null) throw new OfpError('OFPBAC_BAD_OUT_PORT');
    port = p;
    at = 16;
  }
  const qhdr = m.version < 3 ? 8 : 16;
  while (at < b.length) {
    if (b.length - at < qhdr) throw new OfpError('OFPBRC_BAD_LEN');
    const queue = dv.getUint32(at);
    const len = dv.getUint16(at + (qhdr === 8 ? 4 : 8));
    if (len < qhdr || at + len > b.length || len % 8) throw new OfpError('OFPBRC_BAD_LEN');
    const q: QueueConfig = { port, queue, minRate: 0xffff, maxRate: 0xffff };
    let p = at + qhdr;
    while (p < at + len) {
      const prop = dv.getUint16(p);
      const plen = dv.getUint16(p + 2);
      if (plen < 8 || p + plen > at + len || plen % 8) throw new OfpError('OFPBRC_BAD_LEN');
      if ((prop === 1 || prop === 2) && plen >= 16) {
        const rate = dv.getUint16(p + 8);
        if (prop === 1) q.minRate = rate;
        else q.maxRate = rate;
      }
      p += plen;
    }
    out.push(q);
    at += len;
  }
  return out;
}

function rate(name: string, r: number): string {
  if (r <= 1000) return ` ${name}:${Math.floor(r / 10)}.${r % 10}%`;
  if (r < 0xffff) return ` ${name}:(disabled)`;
  return '';
}

/** OVS's reply text: queues sorted by port then queue, a "port=" line whenever it changes. */
export function formatQueueGetConfigReply(
  queues: readonly QueueConfig[],
  portText: (p: number) => string,
): string {
  const sorted = [...queues].sort((a, b) => a.port - b.port || a.queue - b.queue);
  let s = ' ';
  let port = 0;
  for (const q of sorted) {
    if (q.port !== port) {
      port = q.port;
      s += `port=${portText(port)}\n`;
    }
    s += `queue ${q.queue}:${rate('min_rate', q.minRate)}${rate('max_rate', q.maxRate)}\n`;
  }
  return s.endsWith(' ') ? s.slice(0, -1) : s;
}
