/*
 * Executing datapath actions on packets (OVS's lib/odp-execute.c plus the parts of
 * dp_execute_cb() in dpif-netdev.c that need the datapath: output, userspace, recirc).
 *
 * The executor works on one packet at a time in a PacketCtx: the frame's bytes (edited in
 * place with lib/packet's helpers, which keep checksums right), its current flow key (kept in
 * step with set actions so masked sets read the current value) and its header offsets.
 * Nested lists (clone, sample, check_pkt_len) run on a copy in a preallocated context unless
 * they are the last action, as the kernel datapath does. Nothing allocates per packet.
 *
 * Conntrack (ct) and meters are not executed here: ct() passes the packet through unchanged
 * (its text form is kept for display), meter() never drops. tnl_pop, lb_output and push_eth/
 * pop_eth go to the DatapathIo callbacks or drop the packet.
 */

import { extractFlow, LAYER_L2_5, LAYER_L3, LAYER_L4, N_LAYERS } from '../../lib/flow/extract.ts';
import { hashAdd, hashFinish } from '../../lib/flow/hash.ts';
import {
  ETH_TYPE_IPV6,
  FLOW_NW_FRAG_LATER,
  FLOW_WORDS,
  type FlowKey,
  IPPROTO_ICMPV6,
  STAGE_L2,
  W_ARP_SHA,
  W_ARP_THA,
  W_CT_LABEL,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST,
  W_DL_SRC,
  W_DL_TYPE,
  W_DP_HASH,
  W_IN_PORT,
  W_IPV6_DST,
  W_IPV6_LABEL,
  W_IPV6_SRC,
  W_MPLS0,
  W_ND_TARGET,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import {
  setArpOp,
  setArpSha,
  setArpSpa,
  setArpTha,
  setArpTpa,
  setNdSll,
  setNdTarget,
  setNdTll,
} from '../../lib/packet/arp-nd.ts';
import { crc32c } from '../../lib/packet/crc32c.ts';
import {
  popMpls,
  popVlan,
  pushMpls,
  pushVlan,
  setEthDst,
  setEthSrc,
  setMplsLse,
  setVlanTci,
} from '../../lib/packet/eth.ts';
import {
  setIcmpTypeCode,
  setIpv4Dst,
  setIpv4Src,
  setIpv4Tos,
  setIpv4Ttl,
  setIpv6Dst,
  setIpv6Hlim,
  setIpv6Label,
  setIpv6Src,
  setIpv6Tc,
  setTpDst,
  setTpSrc,
} from '../../lib/packet/ip.ts';
import type { OdpAction, OdpActions } from './odp-actions.ts';
import { copyFrame, DEFAULT_SLOT_SIZE, MAX_SLOT_SIZE } from './packet-batch.ts';

/** How deep clone/sample/check_pkt_len may nest (OVS's kernel limit is similar). */
export const MAX_NESTING = 8;

/** What the executor needs from the datapath around it. Called synchronously. */
export interface ExecuteSink {
  /**
   * Queues the packet for transmission on datapath port `port`. `final` says this is the
   * packet's last use (the last action of the top-level list), so the sink may take the
   * buffer instead of copying it, as OVS steals the packet on a last output.
   */
  output(
    port: number,
    frame: Uint8Array,
    off: number,
    len: number,
    key: FlowKey,
    final: boolean,
  ): void;
  /** A userspace() action: hands a copy of the packet to the upcall handler. */
  userspace(
    action: Extract<OdpAction, { type: 'userspace' }>,
    frame: Uint8Array,
    off: number,
    len: number,
    key: FlowKey,
  ): void;
  /** recirc(id): re-injects the packet with its metadata (key words [0, STAGE_L2)). */
  recirculate(frame: Uint8Array, off: number, len: number, key: FlowKey): void;
  /** tnl_pop / lb_output, if the port layer implements them; otherwise the packet drops. */
  other?(action: OdpAction, frame: Uint8Array, off: number, len: number, key: FlowKey): void;
}

/** One packet being executed: bytes, current key, header offsets (absolute). */
export class PacketCtx {
  buf: Uint8Array;
  off = 0;
  len = 0;
  /** The root context aliases the caller's key (load()); nested ones own theirs. */
  key: Uint32Array = new Uint32Array(FLOW_WORDS);
  readonly layers: Int32Array = new Int32Array(N_LAYERS);
  layersOk = false;
  /** Bytes to cut the next output to (trunc), 0 = none. */
  cutlen = 0;
  /** A private slot used when this context holds a copy (grows for a super-frame). */
  own: Uint8Array;
  constructor(slotSize: number) {
    this.own = new Uint8Array(slotSize);
    this.buf = this.own;
  }
}

/** A seedable xorshift32 generator for sample(); deterministic in tests. */
export class Xorshift32 {
  private s: number;
  constructor(seed = 0x9e3779b9) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
}

const scratchKey = new Uint32Array(FLOW_WORDS);

function readLe32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** How the SCTP header's stored checksum differs (XOR) from the correct CRC32c. */
function sctpCsumError(b: Uint8Array, l4: number, l4Len: number): number {
  const stored = readLe32(b, l4 + 8);
  b[l4 + 8] = b[l4 + 9] = b[l4 + 10] = b[l4 + 11] = 0;
  const correct = crc32c(b, l4, l4Len) >>> 0;
  b[l4 + 8] = stored & 0xff;
  b[l4 + 9] = (stored >>> 8) & 0xff;
  b[l4 + 10] = (stored >>> 16) & 0xff;
  b[l4 + 11] = stored >>> 24;
  return (stored ^ correct) >>> 0;
}

export class OdpExecutor {
  readonly rng: Xorshift32;
  private readonly ctxs: PacketCtx[] = [];

  constructor(
    private readonly sink: ExecuteSink,
    seed?: number,
    slotSize = DEFAULT_SLOT_SIZE,
  ) {
    this.rng = new Xorshift32(seed);
    for (let i = 0; i <= MAX_NESTING; i++) this.ctxs.push(new PacketCtx(slotSize));
  }

  /** The top-level context: point it at a packet with rootCtx(), then run execute(). */
  get root(): PacketCtx {
    return this.ctxs[0];
  }

  /** Prepares the root context over a packet whose key (with metadata) is `key`; set actions
   * edit that key in place. */
  load(
    buf: Uint8Array,
    off: number,
    len: number,
    key: FlowKey,
    layers: Int32Array | null,
  ): PacketCtx {
    const c = this.ctxs[0];
    c.buf = buf;
    c.off = off;
    c.len = len;
    // Aliased, not copied: the caller's per-packet key is scratch the actions may edit.
    c.key = key;
    c.cutlen = 0;
    if (layers !== null) {
      c.layers[LAYER_L2_5] = layers[LAYER_L2_5] < 0 ? -1 : layers[LAYER_L2_5] + off;
      c.layers[LAYER_L3] = layers[LAYER_L3] < 0 ? -1 : layers[LAYER_L3] + off;
      c.layers[LAYER_L4] = layers[LAYER_L4] < 0 ? -1 : layers[LAYER_L4] + off;
      c.layersOk = true;
    } else c.layersOk = false;
    return c;
  }

  /** Runs `actions` on the packet in context `depth` (0 = the root). */
  execute(actions: OdpActions, depth = 0): void {
    const c = this.ctxs[depth];
    const n = actions.length;
    for (let i = 0; i < n; i++) {
      const a = actions[i];
      const last = i === n - 1;
      switch (a.type) {
        case 'output':
          // Nested lists run in place only as a last action, so depth 0 + last is final.
          this.doOutput(c, a.port, depth === 0 && last);
          break;
        case 'userspace':
          this.sink.userspace(a, c.buf, c.off, c.len, c.key);
          break;
        case 'recirc':
          c.key[1] = a.id >>> 0; // W_RECIRC_ID
          this.sink.recirculate(c.buf, c.off, c.len, c.key);
          return; // OVS: recirculation consumes the packet.
        case 'set':
          this.doSet(c, a);
          break;
        case 'push_vlan': {
          const r = pushVlan(c.buf, c.off, c.len, a.tpid, a.tci);
          if (r < 0) return;
          c.len = r;
          this.l2Changed(c);
          break;
        }
        case 'pop_vlan': {
          const r = popVlan(c.buf, c.off, c.len);
          if (r >= 0) {
            c.len = r;
            this.l2Changed(c);
          }
          break;
        }
        case 'push_mpls':
        case 'add_mpls': {
          const r = pushMpls(c.buf, c.off, c.len, a.ethType, a.lse);
          if (r < 0) return;
          c.len = r;
          this.l2Changed(c);
          break;
        }
        case 'pop_mpls': {
          const r = popMpls(c.buf, c.off, c.len, a.ethType);
          if (r >= 0) {
            c.len = r;
            this.l2Changed(c);
          }
          break;
        }
        case 'sample':
          // probability is out of UINT32_MAX; the generator never returns 0.
          if (
            a.probability === 0 ||
            (a.probability < 0xffffffff && this.rng.next() > a.probability)
          )
            break;
          if (!this.nested(c, depth, a.actions, last)) return;
          break;
        case 'clone':
          if (!this.nested(c, depth, a.actions, last)) return;
          break;
        case 'check_pkt_len':
          if (!this.nested(c, depth, c.len > a.size ? a.gt : a.le, last)) return;
          break;
        case 'hash':
          c.key[W_DP_HASH] = this.l4Hash(c, a.basis, a.alg === 'sym_l4');
          break;
        case 'trunc':
          if (a.maxLen < c.len) c.cutlen = a.maxLen;
          break;
        case 'ct_clear':
          c.key[W_CT_STATE] = 0;
          c.key[W_CT_ZONE] = 0;
          c.key[W_CT_MARK] = 0;
          c.key.fill(0, W_CT_LABEL, W_CT_LABEL + 4);
          break;
        case 'ct':
        case 'meter':
          break;
        case 'tnl_pop':
        case 'tnl_push':
        case 'lb_output':
        case 'push_eth':
        case 'pop_eth':
          if (this.sink.other) this.sink.other(a, c.buf, c.off, c.len, c.key);
          return;
      }
    }
  }

  /* Runs a nested list on a copy (or in place when it is the last action). Returns false
   * when the packet was consumed in place. */
  private nested(c: PacketCtx, depth: number, actions: OdpActions, last: boolean): boolean {
    if (last) {
      this.execute(actions, depth);
      return false;
    }
    if (depth + 1 > MAX_NESTING) return true;
    const d = this.ctxs[depth + 1];
    if (c.len > d.own.length) {
      if (c.len > MAX_SLOT_SIZE) return true;
      d.own = new Uint8Array(MAX_SLOT_SIZE);
    }
    copyFrame(d.own, 0, c.buf, c.off, c.len);
    d.buf = d.own;
    d.off = 0;
    d.len = c.len;
    d.key.set(c.key);
    d.cutlen = c.cutlen;
    d.layersOk = c.layersOk;
    if (c.layersOk) {
      for (let j = 0; j < 3; j++) d.layers[j] = c.layers[j] < 0 ? -1 : c.layers[j] - c.off;
    }
    this.execute(actions, depth + 1);
    return true;
  }

  private doOutput(c: PacketCtx, port: number, final: boolean): void {
    let len = c.len;
    if (c.cutlen > 0) {
      if (c.cutlen < len) len = c.cutlen;
      c.cutlen = 0;
    }
    this.sink.output(port, c.buf, c.off, len, c.key, final);
  }

  /* After a push or pop the L2 layout changed: re-derive offsets and L2+ key fields. */
  private l2Changed(c: PacketCtx): void {
    c.layersOk = false;
    this.refresh(c);
  }

  private refresh(c: PacketCtx): void {
    extractFlow(c.buf, c.off, c.len, c.key[W_IN_PORT], scratchKey, c.layers);
    for (let w = STAGE_L2; w < FLOW_WORDS; w++) c.key[w] = scratchKey[w];
    for (let j = 0; j < 3; j++) if (c.layers[j] >= 0) c.layers[j] += c.off;
    c.layersOk = true;
  }

  private l4Hash(c: PacketCtx, basis: number, symmetric: boolean): number {
    const k = c.key;
    let h = basis | 0;
    let a = k[W_NW_SRC];
    let b = k[W_NW_DST];
    let p = k[W_TP];
    if (symmetric) {
      const x = a ^ b;
      a = x;
      b = 0;
      p = (p >>> 16) ^ (p & 0xffff);
    }
    h = hashAdd(h, a);
    h = hashAdd(h, b);
    for (let i = 0; i < 4; i++) {
      h = hashAdd(h, symmetric ? k[W_IPV6_SRC + i] ^ k[W_IPV6_DST + i] : k[W_IPV6_SRC + i]);
      if (!symmetric) h = hashAdd(h, k[W_IPV6_DST + i]);
    }
    h = hashAdd(h, k[W_NW] & 0xff);
    h = hashAdd(h, p);
    const r = hashFinish(h, 12);
    return r === 0 ? 1 : r;
  }

  private doSet(c: PacketCtx, a: Extract<OdpAction, { type: 'set' }>): void {
    const k = c.key;
    const v = a.key;
    const m = a.mask;
    const b = c.buf;
    switch (a.attr) {
      case 'skb_mark':
      case 'skb_priority':
      case 'recirc_id':
      case 'dp_hash':
      case 'in_port':
      case 'ct_state':
      case 'ct_zone':
      case 'ct_mark':
      case 'ct_label':
      case 'tunnel':
        // Metadata only: merge into the key's metadata words.
        for (let w = 0; w < STAGE_L2; w++)
          if (m[w] !== 0) k[w] = ((k[w] & ~m[w]) | (v[w] & m[w])) >>> 0;
        return;
    }
    if (!c.layersOk) this.refresh(c);
    const l3 = c.layers[LAYER_L3];
    const l4 = c.layers[LAYER_L4];
    const end = c.off + c.len;
    switch (a.attr) {
      case 'eth': {
        if (c.len < 14) return;
        if (m[W_DL_SRC] | m[W_DL_SRC + 1]) {
          const hi = ((k[W_DL_SRC] & ~m[W_DL_SRC]) | (v[W_DL_SRC] & m[W_DL_SRC])) & 0xffff;
          const lo =
            ((k[W_DL_SRC + 1] & ~m[W_DL_SRC + 1]) | (v[W_DL_SRC + 1] & m[W_DL_SRC + 1])) >>> 0;
          setEthSrc(b, c.off, hi, lo);
          k[W_DL_SRC] = hi;
          k[W_DL_SRC + 1] = lo;
        }
        if (m[W_DL_DST] | m[W_DL_DST + 1]) {
          const hi = ((k[W_DL_DST] & ~m[W_DL_DST]) | (v[W_DL_DST] & m[W_DL_DST])) & 0xffff;
          const lo =
            ((k[W_DL_DST + 1] & ~m[W_DL_DST + 1]) | (v[W_DL_DST + 1] & m[W_DL_DST + 1])) >>> 0;
          setEthDst(b, c.off, hi, lo);
          k[W_DL_DST] = hi;
          k[W_DL_DST + 1] = lo;
        }
        return;
      }
      case 'vlan': {
        const cur = k[W_VLAN0];
        if (!(cur & 0x1000)) return; // no tag
        const tci = ((cur & ~m[W_VLAN0]) | (v[W_VLAN0] & m[W_VLAN0])) & 0xffff;
        setVlanTci(b, c.off, tci);
        k[W_VLAN0] = ((cur & 0xffff0000) | tci | 0x1000) >>> 0;
        return;
      }
      case 'mpls': {
        const l25 = c.layers[LAYER_L2_5];
        if (l25 < 0) return;
        const lse = ((k[W_MPLS0] & ~m[W_MPLS0]) | (v[W_MPLS0] & m[W_MPLS0])) >>> 0;
        setMplsLse(b, l25, lse);
        k[W_MPLS0] = lse;
        return;
      }
      case 'ipv4': {
        if (l3 < 0 || (k[W_DL_TYPE] & 0xffff) !== 0x0800) return;
        const tl4 = (k[W_NW] >>> 24) & FLOW_NW_FRAG_LATER ? -1 : l4;
        if (m[W_NW_SRC]) {
          const x = ((k[W_NW_SRC] & ~m[W_NW_SRC]) | (v[W_NW_SRC] & m[W_NW_SRC])) >>> 0;
          setIpv4Src(b, l3, tl4, x);
          k[W_NW_SRC] = x;
        }
        if (m[W_NW_DST]) {
          const x = ((k[W_NW_DST] & ~m[W_NW_DST]) | (v[W_NW_DST] & m[W_NW_DST])) >>> 0;
          setIpv4Dst(b, l3, tl4, x);
          k[W_NW_DST] = x;
        }
        this.setNwTosTtl(c, a, false);
        return;
      }
      case 'ipv6': {
        if (l3 < 0 || (k[W_DL_TYPE] & 0xffff) !== ETH_TYPE_IPV6) return;
        const proto = k[W_NW] & 0xff;
        const tl4 = (k[W_NW] >>> 24) & FLOW_NW_FRAG_LATER ? -1 : l4;
        let any = false;
        for (let i = 0; i < 4; i++) if (m[W_IPV6_SRC + i]) any = true;
        if (any) {
          for (let i = 0; i < 4; i++) {
            const w = W_IPV6_SRC + i;
            k[w] = ((k[w] & ~m[w]) | (v[w] & m[w])) >>> 0;
          }
          setIpv6Src(b, l3, tl4, proto, k, W_IPV6_SRC);
        }
        any = false;
        for (let i = 0; i < 4; i++) if (m[W_IPV6_DST + i]) any = true;
        if (any) {
          for (let i = 0; i < 4; i++) {
            const w = W_IPV6_DST + i;
            k[w] = ((k[w] & ~m[w]) | (v[w] & m[w])) >>> 0;
          }
          setIpv6Dst(b, l3, tl4, proto, k, W_IPV6_DST);
        }
        if (m[W_IPV6_LABEL] & 0xfffff) {
          const x =
            ((k[W_IPV6_LABEL] & ~m[W_IPV6_LABEL]) | (v[W_IPV6_LABEL] & m[W_IPV6_LABEL])) & 0xfffff;
          setIpv6Label(b, l3, x);
          k[W_IPV6_LABEL] = x;
        }
        this.setNwTosTtl(c, a, true);
        return;
      }
      case 'tcp':
      case 'udp':
      case 'sctp': {
        if (l4 < 0 || m[W_TP] === 0) return;
        const proto = k[W_NW] & 0xff;
        const want = a.attr === 'tcp' ? 6 : a.attr === 'udp' ? 17 : 132;
        if (proto !== want) return;
        const x = ((k[W_TP] & ~m[W_TP]) | (v[W_TP] & m[W_TP])) >>> 0;
        let l4Len = end - l4;
        // SCTP's CRC covers the IP payload only, not Ethernet padding (OVS's l4_size).
        if (proto === 132 && l3 >= 0) {
          const v4 = b[l3] >>> 4 === 4;
          const ipEnd = v4
            ? l3 + ((b[l3 + 2] << 8) | b[l3 + 3])
            : l3 + 40 + ((b[l3 + 4] << 8) | b[l3 + 5]);
          if (ipEnd > l4 && ipEnd < end) l4Len = ipEnd - l4;
        }
        // SCTP keeps a wrong checksum wrong (OVS's packet_set_sctp_port): the new CRC is
        // offset by however far the old one was from correct.
        const sctpFix = proto === 132 && l4Len >= 12 ? sctpCsumError(b, l4, l4Len) : 0;
        if (m[W_TP] >>> 16) setTpSrc(b, proto, l4, l4Len, x >>> 16);
        if (m[W_TP] & 0xffff) setTpDst(b, proto, l4, l4Len, x & 0xffff);
        if (sctpFix !== 0) {
          const c = (readLe32(b, l4 + 8) ^ sctpFix) >>> 0;
          b[l4 + 8] = c & 0xff;
          b[l4 + 9] = (c >>> 8) & 0xff;
          b[l4 + 10] = (c >>> 16) & 0xff;
          b[l4 + 11] = c >>> 24;
        }
        k[W_TP] = x;
        return;
      }
      case 'icmp':
      case 'icmpv6': {
        if (l4 < 0 || m[W_TP] === 0) return;
        const x = ((k[W_TP] & ~m[W_TP]) | (v[W_TP] & m[W_TP])) >>> 0;
        setIcmpTypeCode(b, l4, (x >>> 16) & 0xff, x & 0xff);
        k[W_TP] = x;
        return;
      }
      case 'arp': {
        if (l3 < 0) return;
        if (m[W_NW_SRC]) {
          k[W_NW_SRC] = ((k[W_NW_SRC] & ~m[W_NW_SRC]) | (v[W_NW_SRC] & m[W_NW_SRC])) >>> 0;
          setArpSpa(b, l3, k[W_NW_SRC]);
        }
        if (m[W_NW_DST]) {
          k[W_NW_DST] = ((k[W_NW_DST] & ~m[W_NW_DST]) | (v[W_NW_DST] & m[W_NW_DST])) >>> 0;
          setArpTpa(b, l3, k[W_NW_DST]);
        }
        if (m[W_NW] & 0xff) {
          const op = ((k[W_NW] & ~m[W_NW]) | (v[W_NW] & m[W_NW])) & 0xff;
          setArpOp(b, l3, op);
          k[W_NW] = ((k[W_NW] & ~0xff) | op) >>> 0;
        }
        if (m[W_ARP_SHA] | m[W_ARP_SHA + 1]) {
          this.mergeMac(k, v, m, W_ARP_SHA);
          setArpSha(b, l3, k[W_ARP_SHA], k[W_ARP_SHA + 1]);
        }
        if (m[W_ARP_THA] | m[W_ARP_THA + 1]) {
          this.mergeMac(k, v, m, W_ARP_THA);
          setArpTha(b, l3, k[W_ARP_THA], k[W_ARP_THA + 1]);
        }
        return;
      }
      case 'nd': {
        if (l4 < 0 || (k[W_NW] & 0xff) !== IPPROTO_ICMPV6) return;
        const l4Len = end - l4;
        let any = false;
        for (let i = 0; i < 4; i++) if (m[W_ND_TARGET + i]) any = true;
        if (any) {
          for (let i = 0; i < 4; i++) {
            const w = W_ND_TARGET + i;
            k[w] = ((k[w] & ~m[w]) | (v[w] & m[w])) >>> 0;
          }
          setNdTarget(b, l4, k, W_ND_TARGET);
        }
        if (m[W_ARP_SHA] | m[W_ARP_SHA + 1]) {
          this.mergeMac(k, v, m, W_ARP_SHA);
          setNdSll(b, l4, l4Len, k[W_ARP_SHA], k[W_ARP_SHA + 1]);
        }
        if (m[W_ARP_THA] | m[W_ARP_THA + 1]) {
          this.mergeMac(k, v, m, W_ARP_THA);
          setNdTll(b, l4, l4Len, k[W_ARP_THA], k[W_ARP_THA + 1]);
        }
        return;
      }
    }
  }

  private mergeMac(k: Uint32Array, v: Uint32Array, m: Uint32Array, w: number): void {
    k[w] = ((k[w] & ~m[w]) | (v[w] & m[w])) & 0xffff;
    k[w + 1] = ((k[w + 1] & ~m[w + 1]) | (v[w + 1] & m[w + 1])) >>> 0;
  }

  /* tos/tclass (bits 23..16 of W_NW) and ttl/hlimit (15..8). */
  private setNwTosTtl(c: PacketCtx, a: Extract<OdpAction, { type: 'set' }>, v6: boolean): void {
    const k = c.key;
    const m = a.mask[W_NW];
    const l3 = c.layers[LAYER_L3];
    if (m & 0x00ff0000) {
      const cur = (k[W_NW] >>> 16) & 0xff;
      const tos = ((cur & ~(m >>> 16)) | ((a.key[W_NW] >>> 16) & (m >>> 16))) & 0xff;
      if (v6) setIpv6Tc(c.buf, l3, tos);
      else setIpv4Tos(c.buf, l3, tos);
      k[W_NW] = ((k[W_NW] & ~0x00ff0000) | (tos << 16)) >>> 0;
    }
    if (m & 0x0000ff00) {
      const cur = (k[W_NW] >>> 8) & 0xff;
      const ttl = ((cur & ~(m >>> 8)) | ((a.key[W_NW] >>> 8) & (m >>> 8))) & 0xff;
      if (v6) setIpv6Hlim(c.buf, l3, ttl);
      else setIpv4Ttl(c.buf, l3, ttl);
      k[W_NW] = ((k[W_NW] & ~0x0000ff00) | (ttl << 8)) >>> 0;
    }
  }
}
