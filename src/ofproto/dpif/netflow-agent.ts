/*
 * NetFlow version 5 export of one bridge (OVS's ofproto/netflow.c, written anew).
 *
 * A NetFlow flow is (in_port, nw_src, nw_dst, nw_tos, nw_proto, tp_src, tp_dst) of an IPv4
 * datapath flow; other traffic is not reported. The revalidator hands over each megaflow's
 * statistics since its last look (flowStats); several megaflows may feed one NetFlow flow.
 *
 * When a record goes out, as OVS does it:
 * - when the datapath flow goes away (final = true: idle expiry or deletion);
 * - when the flow's output port changes (the old part is exported first);
 * - every active_timeout seconds while it keeps being used (run(), checked once a second);
 *   a flow not used since its last export is then dropped from the table;
 * - byte counts beyond 32 bits are spread over several records so nothing is lost.
 * Records are packed 30 to a datagram, sent as soon as a datagram is full or at the end of
 * run(). flow_sequence is OVS's (the running record count at the datagram's last record).
 */

import {
  ETH_TYPE_IP,
  NW_PROTO_SHIFT,
  NW_TOS_SHIFT,
  W_DL_TYPE,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
} from '../../lib/flow/layout.ts';
import {
  NetflowV5Batcher,
  type NetflowV5Record,
  netflowInterface,
} from '../../lib/proto/netflow.ts';
import { vlog } from '../../lib/vlog.ts';
import { parseSflowTarget, UdpCollectors, type UdpTarget } from './sflow-agent.ts';

const log = vlog('netflow');

/** output_iface values for traffic not sent to one port (OVS's NF_OUT_*). */
export const NF_OUT_FLOOD = 0xffff;
export const NF_OUT_MULTI = 0xfffe;
export const NF_OUT_DROP = 0xfffd;

export interface NetflowSettings {
  /** "IP:PORT" (the port is required, as in OVS). */
  targets: string[];
  /** null: the datapath's default (opts.defaultEngineType / Id). */
  engineType: number | null;
  engineId: number | null;
  addIdToInterface: boolean;
  /** Seconds between records of a flow still in use; <= 0 disables active timeouts. */
  activeTimeout: number;
}

export interface NetflowAgentOptions {
  /** Milliseconds on the clock `used` values are given in (also the wall clock of headers). */
  now?: () => number;
  send?: (buf: Uint8Array, host: string, port: number) => void;
  /** The datapath's engine type/id when the settings leave them unset. */
  defaultEngineType?: number;
  defaultEngineId?: number;
}

interface NfFlow {
  inPort: number;
  nwSrc: number;
  nwDst: number;
  nwTos: number;
  nwProto: number;
  tpSrc: number;
  tpDst: number;
  outPort: number;
  created: number;
  used: number;
  lastExpired: number;
  packets: number;
  bytes: number;
  tcpFlags: number;
}

/**
 * The engine type and id a datapath gives NetFlow by default: the low two bytes of OVS's
 * 32-bit string hash (hash_string, MurmurHash3-style) of the datapath's name, "ovs-netdev"
 * for the userspace datapath, "ovs-dummy" for the dummy one.
 */
export function netflowEngineIds(datapathName: string): { engineType: number; engineId: number } {
  const b = new TextEncoder().encode(datapathName);
  let h = 0;
  const mix = (word: number): void => {
    let d = Math.imul(word, 0xcc9e2d51);
    d = (d << 15) | (d >>> 17);
    d = Math.imul(d, 0x1b873593);
    h ^= d;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  let i = 0;
  for (; i + 4 <= b.length; i += 4)
    mix(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
  if (i < b.length) {
    let w = 0;
    for (let j = 0; i + j < b.length; j++) w |= b[i + j] << (8 * j);
    mix(w);
  }
  h ^= b.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return { engineType: (h >>> 8) & 0xff, engineId: h & 0xff };
}

/** A 32-bit key hash is enough to pick a bucket; the bucket compares the fields. */
function flowHash(inPort: number, src: number, dst: number, nw: number, tp: number): number {
  let h = Math.imul(inPort ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ src, 0xc2b2ae35);
  h = Math.imul(h ^ dst, 0x85ebca6b);
  h = Math.imul(h ^ nw, 0xc2b2ae35);
  h = Math.imul(h ^ tp, 0x85ebca6b);
  // 30 bits keep it a small integer, which Map hashes and compares fastest.
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

export class NetflowAgent {
  private settings: NetflowSettings;
  private readonly now: () => number;
  private readonly collectors: UdpCollectors;
  private targets: UdpTarget[] = [];
  private readonly bootTime: number;
  private readonly flows = new Map<number, NfFlow[]>();
  private nFlows = 0;
  private activeTimeoutMs = 0;
  private reconfigTime = 0;
  private nextTimeout = 0;
  private engineType = 0;
  private engineId = 0;
  private readonly batcher: NetflowV5Batcher;
  private closed = false;
  private readonly rec: NetflowV5Record = {
    srcAddr: 0,
    dstAddr: 0,
    nextHop: 0,
    input: 0,
    output: 0,
    packets: 0,
    octets: 0,
    first: 0,
    last: 0,
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    protocol: 0,
    tos: 0,
    srcAs: 0,
    dstAs: 0,
    srcMask: 0,
    dstMask: 0,
  };

  constructor(
    settings: NetflowSettings,
    private readonly opts: NetflowAgentOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.bootTime = this.now();
    this.collectors = new UdpCollectors('NetFlow', opts.send);
    this.batcher = new NetflowV5Batcher(
      () => {
        const t = this.now();
        return {
          sysUptime: (t - this.bootTime) >>> 0,
          unixSecs: Math.floor(t / 1000) >>> 0,
          unixNsecs: (t % 1000) * 1_000_000,
          engineType: this.engineType,
          engineId: this.engineId,
          samplingInterval: 0,
        };
      },
      (d) => this.collectors.send(d, this.targets),
    );
    this.settings = settings;
    this.apply(settings);
  }

  /** NetFlow flows being tracked. */
  get flowCount(): number {
    return this.nFlows;
  }

  configure(s: NetflowSettings): void {
    if (this.closed) return;
    this.settings = s;
    this.apply(s);
  }

  flowStats(
    key: Uint32Array,
    packets: number,
    bytes: number,
    tcpFlags: number,
    used: number,
    inPort: number,
    outPort: number,
    final: boolean,
  ): void {
    if (this.closed || key[W_DL_TYPE] !== ETH_TYPE_IP) return;
    const src = key[W_NW_SRC] >>> 0;
    const dst = key[W_NW_DST] >>> 0;
    const nw = key[W_NW];
    const proto = (nw >>> NW_PROTO_SHIFT) & 0xff;
    const tos = (nw >>> NW_TOS_SHIFT) & 0xff;
    const tp = key[W_TP] >>> 0;
    const h = flowHash(inPort, src, dst, (proto << 8) | tos, tp);
    let bucket = this.flows.get(h);
    let f: NfFlow | undefined;
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const x = bucket[i];
        if (
          x.inPort === inPort &&
          x.nwSrc === src &&
          x.nwDst === dst &&
          x.nwProto === proto &&
          x.nwTos === tos &&
          ((x.tpSrc << 16) | x.tpDst) >>> 0 === tp
        ) {
          f = x;
          break;
        }
      }
    }
    if (!f) {
      if (packets === 0 && final) return;
      f = {
        inPort,
        nwSrc: src,
        nwDst: dst,
        nwTos: tos,
        nwProto: proto,
        tpSrc: tp >>> 16,
        tpDst: tp & 0xffff,
        outPort,
        created: used,
        used: 0,
        lastExpired: 0,
        packets: 0,
        bytes: 0,
        tcpFlags: 0,
      };
      if (!bucket) {
        bucket = [];
        this.flows.set(h, bucket);
      }
      bucket.push(f);
      this.nFlows++;
    }
    if (f.outPort !== outPort) {
      this.expire(f);
      f.created = used;
      f.outPort = outPort;
    }
    f.packets += packets;
    f.bytes += bytes;
    f.tcpFlags |= tcpFlags;
    const u = Math.max(f.used, used);
    if (f.used !== u) {
      f.used = u;
      // Keeps a long-idle flow from being expired at once when it is used again.
      if (!this.activeTimeoutMs || !f.lastExpired || this.reconfigTime > f.lastExpired) {
        f.lastExpired = this.now();
      }
    }
    if (final) {
      this.expire(f);
      this.remove(h, f);
    }
  }

  run(): void {
    if (this.closed) return;
    const now = this.now();
    if (this.activeTimeoutMs > 0 && now >= this.nextTimeout) {
      this.nextTimeout = now + 1000;
      for (const [h, bucket] of this.flows) {
        // Backwards: remove() may take the flow out of the bucket.
        for (let i = bucket.length - 1; i >= 0; i--) {
          const f = bucket[i];
          if (now > f.lastExpired + this.activeTimeoutMs) {
            const idle = f.used < f.lastExpired;
            this.expire(f);
            if (idle) this.remove(h, f);
          }
        }
      }
    }
    this.batcher.flush();
  }

  close(): void {
    if (this.closed) return;
    this.batcher.flush();
    this.closed = true;
    this.flows.clear();
    this.nFlows = 0;
    this.collectors.close();
  }

  // ------------------------------------------------------------------ internals

  private apply(s: NetflowSettings): void {
    this.engineType = (s.engineType ?? this.opts.defaultEngineType ?? 0) & 0xff;
    this.engineId = (s.engineId ?? this.opts.defaultEngineId ?? 0) & 0xff;
    const targets: UdpTarget[] = [];
    for (const t of s.targets) {
      const p = parseSflowTarget(t, null);
      if (p) targets.push(p);
      else log.warnRl(`${t}: NetFlow collector needs an IP address and a port`);
    }
    this.targets = targets;
    const timeout = s.activeTimeout > 0 ? s.activeTimeout * 1000 : 0;
    if (timeout !== this.activeTimeoutMs) {
      this.activeTimeoutMs = timeout;
      this.reconfigTime = this.now();
      this.nextTimeout = this.reconfigTime;
    }
  }

  private remove(h: number, f: NfFlow): void {
    const bucket = this.flows.get(h);
    if (!bucket) return;
    const i = bucket.indexOf(f);
    if (i < 0) return;
    bucket.splice(i, 1);
    if (bucket.length === 0) this.flows.delete(h);
    this.nFlows--;
  }

  /** Exports what the flow counted since its last export and starts counting afresh. */
  private expire(f: NfFlow): void {
    let pkts = f.packets;
    let bytes = f.bytes;
    f.lastExpired += this.activeTimeoutMs;
    if (pkts === 0) return;
    if (bytes / 2 ** 32 <= 175) {
      // 32-bit record counters: spread a larger count evenly over several records.
      while (bytes > 0) {
        const n = Math.ceil(bytes / 0xffffffff);
        const p = Math.floor(pkts / n);
        const b = Math.floor(bytes / n);
        this.record(f, p, b);
        pkts -= p;
        bytes -= b;
      }
    } else {
      log.warnRl(`impossible byte counter ${bytes}`);
    }
    f.packets = 0;
    f.bytes = 0;
    f.tcpFlags = 0;
  }

  private record(f: NfFlow, packets: number, bytes: number): void {
    const r = this.rec;
    const addId = this.settings.addIdToInterface;
    r.srcAddr = f.nwSrc;
    r.dstAddr = f.nwDst;
    r.input = netflowInterface(f.inPort, this.engineId, addId);
    r.output = netflowInterface(f.outPort, this.engineId, addId);
    r.packets = packets >>> 0;
    r.octets = bytes >>> 0;
    r.first = (f.created - this.bootTime) >>> 0;
    r.last = (Math.max(f.created, f.used) - this.bootTime) >>> 0;
    if (f.nwProto === 1) {
      // ICMP: type and code travel together in the destination port.
      r.srcPort = 0;
      r.dstPort = ((f.tpSrc & 0xff) << 8) | (f.tpDst & 0xff);
    } else {
      r.srcPort = f.tpSrc;
      r.dstPort = f.tpDst;
    }
    r.tcpFlags = f.tcpFlags & 0xff;
    r.protocol = f.nwProto;
    r.tos = f.nwTos & 0xfc;
    this.batcher.add(r);
  }
}
