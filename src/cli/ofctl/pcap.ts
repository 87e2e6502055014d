/*
 * ovs-ofctl's ofp-parse-pcap: OpenFlow messages read back out of a packet capture. Packets are
 * read as OVS's pcap reader does (classic pcap, either byte order, micro- or nanosecond
 * stamps, Ethernet or Linux "cooked" links), TCP segments to or from the OpenFlow ports are put
 * back in order per stream as OVS's tcp_reader does (in-order data only), and every whole
 * message is printed under its stream's addresses.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { extractFlow } from '../../lib/flow/extract.ts';
import { newFlowKey } from '../../lib/flow/layout.ts';
import { flowToString } from '../../lib/flow/match-format.ts';
import type { Ctx } from './ctx.ts';
import { OfctlFatal, strerror } from './errors.ts';
import { vlogWarn } from './log.ts';
import { ofpToString } from './print.ts';

const OFPP_ANY = 0xffff;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

interface Stream {
  seqNo: number;
  payload: Buffer;
}

/* A whole file read up front: captures ovs-ofctl is given are small. */
function readAll(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    const b = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(fd, b, 0, b.length, null);
      if (n <= 0) break;
      chunks.push(Buffer.from(b.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

const swap32 = (v: number): number =>
  (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

interface Packet {
  when: number;
  data: Buffer;
}

/** The packets of a capture, as OVS reads them (a bad record ends the list). */
function* packets(file: Buffer, network: number, nsec: boolean): Generator<Packet> {
  let at = 24;
  while (at + 16 <= file.length) {
    // Record headers are read in host (little-endian) order; a length over 64 kB means swapped.
    let tsSec = file.readUInt32LE(at);
    let tsSub = file.readUInt32LE(at + 4);
    let len = file.readUInt32LE(at + 8);
    const swap = len > 0xffff;
    if (swap) {
      len = swap32(len);
      if (len > 0xffff) {
        vlogWarn('pcap', `bad packet length ${len} or ${swap32(len)} reading pcap file`);
        return;
      }
      tsSec = swap32(tsSec);
      tsSub = swap32(tsSub);
    }
    at += 16;
    if (at + len > file.length) {
      vlogWarn('pcap', 'failed to read pcap packet: End of file');
      return;
    }
    let data = file.subarray(at, at + len);
    at += len;
    const when = tsSec * 1000 + Math.floor(nsec ? tsSub / 1000000 : tsSub / 1000);
    if (network === 113) {
      if (len < 16) {
        vlogWarn('pcap', 'pcap packet too short for SLL header');
        return;
      }
      if (data.readUInt16BE(4) !== 6) {
        vlogWarn('pcap', 'bad SLL header');
        return;
      }
      const eth = Buffer.alloc(14);
      data.copy(eth, 6, 6, 12);
      data.copy(eth, 12, 14, 16);
      data = Buffer.concat([eth, data.subarray(16)]);
    }
    yield { when, data };
  }
  if (at < file.length) vlogWarn('pcap', 'failed to read pcap record header: End of file');
}

interface Segment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payload: Buffer;
}

/* Ethernet (with any VLAN tags) carrying IPv4 carrying TCP; null for anything else. */
function tcpSegment(d: Buffer): Segment | null {
  if (d.length < 14) return null;
  let off = 12;
  let type = d.readUInt16BE(off);
  while ((type === 0x8100 || type === 0x88a8) && d.length >= off + 6) {
    off += 4;
    type = d.readUInt16BE(off);
  }
  off += 2;
  if (type !== 0x0800 || d.length < off + 20) return null;
  const ihl = (d[off] & 0x0f) * 4;
  if (ihl < 20 || d.length < off + ihl) return null;
  if (d[off + 9] !== 6) return null;
  const totLen = d.readUInt16BE(off + 2);
  const fragOff = d.readUInt16BE(off + 6) & 0x1fff;
  if (fragOff) return null;
  const src = d.readUInt32BE(off + 12);
  const dst = d.readUInt32BE(off + 16);
  const ipEnd = Math.min(d.length, off + Math.max(totLen, ihl));
  const l4 = off + ihl;
  if (ipEnd < l4 + 20) return null;
  const doff = (d[l4 + 12] >> 4) * 4;
  if (doff < 20 || ipEnd < l4 + doff) return null;
  return {
    src,
    dst,
    sport: d.readUInt16BE(l4),
    dport: d.readUInt16BE(l4 + 2),
    seq: d.readUInt32BE(l4 + 4),
    flags: d[l4 + 13],
    payload: d.subarray(l4 + doff, ipEnd),
  };
}

const ip = (a: number): string => `${a >>> 24}.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;

function hms(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)} `;
}

function atoi(s: string): number {
  const m = /^\s*([-+]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) : 0;
}

/* A capture opened as OVS's ovs_pcap_open() opens one: its errors come back as OfctlFatal with
 * the errno OVS would exit with (ENOENT 2, EPROTO 71) as the status. */
interface Capture {
  file: Buffer;
  network: number;
  nsec: boolean;
}

const ERRNO: Record<string, number> = { ENOENT: 2, EACCES: 13, EISDIR: 21, EPROTO: 71 };

function openCapture(path: string): Capture {
  let file: Buffer;
  try {
    file = readAll(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    vlogWarn('pcap', `${path}: failed to open pcap file for reading (${strerror(code)})`);
    throw new OfctlFatal(`${path}: open failed (${strerror(code)})`, ERRNO[code ?? ''] ?? 1);
  }
  if (file.length < 24) {
    vlogWarn('pcap', 'failed to read pcap header: End of file');
    throw new OfctlFatal(`${path}: open failed (End of file)`);
  }
  const magic = file.readUInt32LE(0);
  let swap: boolean;
  let nsec: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xd4c3b2a1) {
    swap = magic === 0xd4c3b2a1;
    nsec = false;
  } else if (magic === 0xa1b23c4d || magic === 0x4d3cb2a1) {
    swap = magic === 0x4d3cb2a1;
    nsec = true;
  } else {
    vlogWarn(
      'pcap',
      `bad magic 0x${magic.toString(16).padStart(8, '0')} reading pcap file (expected 0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, or 0x4d3cb2a1)`,
    );
    throw new OfctlFatal(`${path}: open failed (Protocol error)`, ERRNO.EPROTO);
  }
  const network = swap ? file.readUInt32BE(20) : file.readUInt32LE(20);
  if (network !== 1 && network !== 113) {
    vlogWarn('pcap', `unknown network type ${network} reading pcap file`);
    throw new OfctlFatal(`${path}: open failed (Protocol error)`, ERRNO.EPROTO);
  }
  return { file, network, nsec };
}

/**
 * `parse-pcap FILE...`: the flow of every packet in each capture, as OVS's flow_format()
 * prints it, with in_port ANY. A file that cannot be opened is reported and skipped, and the
 * command then exits with that error's errno, as ovs-ofctl does.
 */
export function cmdParsePcap(ctx: Ctx, args: string[]): void {
  const key = newFlowKey();
  let status = 0;
  for (const path of args) {
    let cap: Capture;
    try {
      cap = openCapture(path);
    } catch (e) {
      if (!(e instanceof OfctlFatal)) throw e;
      ctx.err(`ovs-ofctl: ${e.message}\n`);
      status = e.status;
      continue;
    }
    let out = '';
    for (const pkt of packets(cap.file, cap.network, cap.nsec)) {
      extractFlow(pkt.data, 0, pkt.data.length, OFPP_ANY, key);
      out += `${flowToString(key)}\n`;
    }
    ctx.out(out);
  }
  if (status) throw new OfctlFatal('', status, true);
}

export function cmdOfpParsePcap(ctx: Ctx, args: string[]): void {
  const [path, ...portArgs] = args;
  let cap: Capture;
  try {
    cap = openCapture(path);
  } catch (e) {
    // ofp-parse-pcap dies with ovs_fatal's status 1, not the errno.
    if (e instanceof OfctlFatal) throw new OfctlFatal(e.message);
    throw e;
  }
  const { file, network, nsec } = cap;
  const ports = portArgs.map(atoi);
  const isOfPort = (p: number): boolean =>
    ports.length ? ports.includes(p) : p === 6653 || p === 6633;
  const streams = new Map<string, Stream>();
  let first = true;
  let out = '';
  for (const pkt of packets(file, network, nsec)) {
    const seg = tcpSegment(pkt.data);
    if (!seg || !(isOfPort(seg.sport) || isOfPort(seg.dport))) continue;
    const key = `${seg.src}:${seg.dst}:${seg.sport}:${seg.dport}`;
    let st = streams.get(key);
    const l7 = seg.payload.length;
    if (!st) {
      if (!(seg.flags & TCP_SYN) && !l7) continue;
      st = { seqNo: seg.flags & TCP_SYN ? (seg.seq + 1) >>> 0 : seg.seq, payload: Buffer.alloc(0) };
      streams.set(key, st);
    }
    if (seg.flags & TCP_SYN || !st.seqNo) {
      st.payload = Buffer.alloc(0);
      st.seqNo = (seg.seq + 1) >>> 0;
      continue;
    }
    if (seg.flags & (TCP_FIN | TCP_RST)) {
      streams.delete(key);
      continue;
    }
    if (seg.seq !== st.seqNo) continue;
    st.payload = Buffer.concat([st.payload, seg.payload]);
    st.seqNo = (st.seqNo + l7) >>> 0;
    while (st.payload.length >= 8) {
      const length = st.payload.readUInt16BE(2);
      if (st.payload.length < length || length < 8) break;
      if (!first) out += '\n';
      first = false;
      if (ctx.o.timestamp) out += hms(pkt.when);
      out += `${ip(seg.src)}.${seg.sport} > ${ip(seg.dst)}.${seg.dport}:\n`;
      out += ofpToString(new Uint8Array(st.payload.subarray(0, length)), {
        verbosity: ctx.o.verbosity + 1,
      });
      st.payload = st.payload.subarray(length);
    }
  }
  ctx.out(out);
}
