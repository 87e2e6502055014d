/*
 * Ofpacts as text, exactly as ovs-ofctl prints them (dump-flows, ofp-print): `drop` for none,
 * instructions and actions comma-separated in order.
 */

import { type Field, fieldByName } from '../../lib/flow/fields.ts';
import { ofpPortToString } from '../../lib/flow/ofp-port.ts';
import { formatIpv4, formatIpv6, formatMac } from '../../lib/packet/addr.ts';
import type { Ofpact, Subfield } from './ofpact.ts';
import { headersOf } from './oxm-fields.ts';

export interface OfpactFormatOptions {
  portName?: (port: number) => string | undefined;
}

/** The name OVS prints for a field inside a subfield: its NXM name, else its OXM name. */
export function subfieldFieldName(name: string): string {
  const hs = headersOf(name);
  const nxm = hs.find((h) => h.isNxm);
  if (nxm) return nxm.name;
  let best = hs[0];
  for (const h of hs) if (h.sinceVersion < best.sinceVersion) best = h;
  return best ? best.name : name;
}

/** A field's width in bits as OVS's subfields count it. */
export function fieldBits(f: Field): number {
  if (f.nWords > 1) return f.nBits;
  if (f.name === 'tun_flags' || f.name === 'arp_op') return f.nBits;
  const top = 32 - Math.clz32(f.wordMask >>> f.shift);
  return Math.min(f.nBits, top);
}

export function formatSubfield(sf: Subfield): string {
  const f = fieldByName(sf.field);
  const name = subfieldFieldName(sf.field);
  if (f && sf.ofs === 0 && sf.nBits === fieldBits(f)) return `${name}[]`;
  if (sf.nBits === 1) return `${name}[${sf.ofs}]`;
  return `${name}[${sf.ofs}..${sf.ofs + sf.nBits - 1}]`;
}

function wordsToBig(w: readonly number[]): bigint {
  let v = 0n;
  for (const x of w) v = (v << 32n) | BigInt(x >>> 0);
  return v;
}

function hexAlt(v: bigint): string {
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

function fmtPort(p: number, opts?: OfpactFormatOptions): string {
  return opts?.portName?.(p) ?? ofpPortToString(p);
}

/** One field value (and mask when not exact) as OVS's mf_format() prints it. */
export function formatFieldValue(
  f: Field,
  value: readonly number[],
  mask: readonly number[] | null,
  opts?: OfpactFormatOptions,
): string {
  const exactMask = f.nWords === 1 ? [f.wordMask >>> f.shift] : null;
  let isExact = true;
  if (mask) {
    if (f.nWords === 1) isExact = mask[0] >>> 0 === exactMask![0];
    else {
      isExact = (mask[0] & f.wordMask) >>> 0 === f.wordMask;
      for (let i = 1; i < f.nWords; i++) if (mask[i] >>> 0 !== 0xffffffff) isExact = false;
    }
  }
  const one = (v: readonly number[]): string => {
    switch (f.format) {
      case 'ipv4':
        return formatIpv4(v[0]);
      case 'ipv6':
        return formatIpv6(v);
      case 'ethernet':
        return formatMac(v[0], v[1]);
      case 'ofp-port':
      case 'ofp-port-oxm':
        return fmtPort(v[0], opts);
      case 'decimal':
        return f.nWords === 1 ? String(v[0] >>> 0) : wordsToBig(v).toString();
      default:
        return hexAlt(wordsToBig(v));
    }
  };
  if (isExact || !mask) return one(value);
  if (f.format === 'decimal') return `${hexAlt(wordsToBig(value))}/${hexAlt(wordsToBig(mask))}`;
  return `${one(value)}/${one(mask)}`;
}

/** `01.02.03` as OVS's format_hex_arg(). */
export function formatHexArg(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('.');
}

function bigHex(v: bigint): string {
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

/** The `load:` segments OVS prints for a set_field that came in as reg_load. */
function formatLoad(a: Extract<Ofpact, { type: 'set_field' }>): string {
  const f = fieldByName(a.field);
  if (!f) return `load:<unknown ${a.field}>`;
  const total = f.nWords === 1 ? 32 : f.nWords * 32;
  const shift = f.nWords === 1 ? 0 : 0;
  const v = wordsToBig(a.value) >> BigInt(shift);
  let m = wordsToBig(a.mask);
  const out: string[] = [];
  // Contiguous runs of 1-bits in the mask, lowest first, each at most 64 bits.
  let bit = 0;
  while (m !== 0n && bit < total) {
    if (((m >> BigInt(bit)) & 1n) === 0n) {
      bit++;
      continue;
    }
    let n = 0;
    while (n < 64 && ((m >> BigInt(bit + n)) & 1n) === 1n) n++;
    const seg = (v >> BigInt(bit)) & ((1n << BigInt(n)) - 1n);
    out.push(`load:${bigHex(seg)}->${formatSubfield({ field: a.field, ofs: bit, nBits: n })}`);
    m &= ~(((1n << BigInt(n)) - 1n) << BigInt(bit));
    bit += n;
  }
  return out.join(',');
}

function formatLearn(a: Extract<Ofpact, { type: 'learn' }>, opts?: OfpactFormatOptions): string {
  let s = `learn(table=${a.tableId}`;
  if (a.idleTimeout) s += `,idle_timeout=${a.idleTimeout}`;
  if (a.hardTimeout) s += `,hard_timeout=${a.hardTimeout}`;
  if (a.finIdleTimeout) s += `,fin_idle_timeout=${a.finIdleTimeout}`;
  if (a.finHardTimeout) s += `,fin_hard_timeout=${a.finHardTimeout}`;
  if (a.priority !== 0x8000) s += `,priority=${a.priority}`;
  if (a.flags.sendFlowRem) s += ',send_flow_rem';
  if (a.flags.deleteLearned) s += ',delete_learned';
  if (a.cookie) s += `,cookie=0x${a.cookie.toString(16)}`;
  if (a.limit) s += `,limit=${a.limit}`;
  if (a.flags.writeResult && a.resultDst) s += `,result_dst=${formatSubfield(a.resultDst)}`;
  for (const sp of a.specs) {
    s += ',';
    if (sp.kind === 'output') {
      s += `output:${formatSubfield(sp.src)}`;
    } else if (sp.kind === 'load') {
      const src = 'value' in sp.src ? bigHex(sp.src.value) : formatSubfield(sp.src.subfield);
      s += `load:${src}->${formatSubfield(sp.dst)}`;
    } else if ('value' in sp.src) {
      const f = fieldByName(sp.dst.field);
      if (f && sp.dst.ofs === 0 && sp.dst.nBits === fieldBits(f)) {
        s += `${f.name}=${formatFieldValue(f, bigToFieldWords(f, sp.src.value), null, opts)}`;
      } else {
        s += `${formatSubfield(sp.dst)}=${bigHex(sp.src.value)}`;
      }
    } else {
      s += formatSubfield(sp.dst);
      const src = sp.src.subfield;
      if (src.field !== sp.dst.field || src.ofs !== sp.dst.ofs) s += `=${formatSubfield(src)}`;
    }
  }
  return `${s})`;
}

/** A value as the registry's words (bits as the field sits in its word, shifted down). */
export function bigToFieldWords(f: Field, v: bigint): number[] {
  // Literals: an array grown by push() keeps room for 17 elements, and stored flows hold these.
  if (f.nWords === 1) return [Number(v & 0xffffffffn)];
  if (f.nWords === 2) return [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)];
  const r: number[] = [];
  for (let i = 0; i < f.nWords; i++) {
    r.push(Number((v >> BigInt(32 * (f.nWords - 1 - i))) & 0xffffffffn));
  }
  return r;
}

function formatCt(a: Extract<Ofpact, { type: 'ct' }>, opts?: OfpactFormatOptions): string {
  const parts: string[] = [];
  if (a.commit) parts.push('commit');
  if (a.force) parts.push('force');
  if (a.recircTable !== 255) parts.push(`table=${a.recircTable}`);
  if ('src' in a.zone) parts.push(`zone=${formatSubfield(a.zone.src)}`);
  else if (a.zone.imm) parts.push(`zone=${a.zone.imm}`);
  let rest = a.actions;
  if (rest.length && rest[0].type === 'nat') {
    parts.push(formatOfpact(rest[0], opts));
    rest = rest.slice(1);
  }
  if (rest.length) parts.push(`exec(${formatOfpacts(rest, opts)})`);
  if (a.alg) parts.push(a.alg === 21 ? 'alg=ftp' : a.alg === 69 ? 'alg=tftp' : `alg=${a.alg}`);
  return `ct(${parts.join(',')})`;
}

function formatNat(a: Extract<Ofpact, { type: 'nat' }>): string {
  let s = 'nat';
  const inner: string[] = [];
  if (a.flags.src || a.flags.dst) {
    let r = a.flags.src ? 'src' : 'dst';
    if (a.ipv4) {
      r += `=${formatIpv4(a.ipv4.min)}`;
      if (a.ipv4.max !== a.ipv4.min) r += `-${formatIpv4(a.ipv4.max)}`;
    } else if (a.ipv6) {
      // Brackets only when a port follows, as OVS's ipv6_format_addr_bracket().
      const br = (w: number[]) => (a.proto?.min ? `[${formatIpv6(w)}]` : formatIpv6(w));
      r += `=${br(a.ipv6.min)}`;
      if (a.ipv6.max.some((x, i) => x !== a.ipv6!.min[i])) r += `-${br(a.ipv6.max)}`;
    }
    if (a.proto && (a.ipv4 || a.ipv6)) {
      r += `:${a.proto.min}`;
      if (a.proto.max !== a.proto.min) r += `-${a.proto.max}`;
    }
    inner.push(r);
    if (a.flags.persistent) inner.push('persistent');
    if (a.flags.hash) inner.push('hash');
    if (a.flags.random) inner.push('random');
  }
  if (inner.length) s += `(${inner.join(',')})`;
  return s;
}

const REASON_TEXT: Record<string, string> = {
  no_match: 'no_match',
  action: 'action',
  invalid_ttl: 'invalid_ttl',
  action_set: 'action_set',
  group: 'group',
  packet_out: 'packet_out',
};

/**
 * OVS's debug_slow and debug_recirc (NXAST 254 and 255, no arguments; ovs-actions(7)). The
 * Ofpact union in ofpact.ts has no member for them yet, so they travel as this shape behind a
 * cast and are recognised with isDebugOfpact(); the datapath translation ignores them.
 */
export interface DebugOfpact {
  type: 'debug_slow' | 'debug_recirc';
}

export function debugOfpact(type: DebugOfpact['type']): Ofpact {
  return { type } as unknown as Ofpact;
}

/** The debug action's name, or null for any other action. */
export function debugOfpactType(a: Ofpact): DebugOfpact['type'] | null {
  const t: string = a.type;
  return t === 'debug_slow' || t === 'debug_recirc' ? t : null;
}

export function formatOfpact(a: Ofpact, opts?: OfpactFormatOptions): string {
  const debug = debugOfpactType(a);
  if (debug) return debug;
  switch (a.type) {
    case 'output':
      return a.port < 0xff00
        ? `output:${fmtPort(a.port, opts)}`
        : a.port === 0xfffd
          ? `CONTROLLER:${a.maxLen}`
          : fmtPort(a.port, opts);
    case 'output_trunc':
      return `output(port=${fmtPort(a.port, opts)},max_len=${a.maxLen})`;
    case 'controller': {
      if (
        a.reason === 'action' &&
        !a.controllerId &&
        !a.userdata?.length &&
        !a.pause &&
        !a.meterId
      ) {
        return `CONTROLLER:${a.maxLen}`;
      }
      const p: string[] = [];
      if (a.reason !== 'action') p.push(`reason=${REASON_TEXT[a.reason]}`);
      if (a.maxLen !== 0xffff) p.push(`max_len=${a.maxLen}`);
      if (a.controllerId) p.push(`id=${a.controllerId}`);
      if (a.userdata?.length) p.push(`userdata=${formatHexArg(a.userdata)}`);
      if (a.pause) p.push('pause');
      if (a.meterId) p.push(`meter_id=${a.meterId}`);
      return `controller(${p.join(',')})`;
    }
    case 'enqueue':
      return `enqueue:${fmtPort(a.port, opts)}:${a.queue}`;
    case 'output_reg':
      return `output:${formatSubfield(a.src)}`;
    case 'bundle': {
      let s = `${a.load ? 'bundle_load' : 'bundle'}(${a.fields},${a.basis},${a.algorithm},ofport,`;
      if (a.load && a.dst) s += `${formatSubfield(a.dst)},`;
      return `${s}members:${a.members.map((p) => fmtPort(p, opts)).join(',')})`;
    }
    case 'set_vlan_vid':
      return `${a.pushIfNeeded ? 'mod_vlan_vid' : 'set_vlan_vid'}:${a.vid}`;
    case 'set_vlan_pcp':
      return `${a.pushIfNeeded ? 'mod_vlan_pcp' : 'set_vlan_pcp'}:${a.pcp}`;
    case 'strip_vlan':
      return a.raw;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'set_eth_src':
      return `mod_dl_src:${formatMac(a.mac[0], a.mac[1])}`;
    case 'set_eth_dst':
      return `mod_dl_dst:${formatMac(a.mac[0], a.mac[1])}`;
    case 'set_ipv4_src':
      return `mod_nw_src:${formatIpv4(a.ip)}`;
    case 'set_ipv4_dst':
      return `mod_nw_dst:${formatIpv4(a.ip)}`;
    case 'set_ip_dscp':
      return `mod_nw_tos:${a.dscp}`;
    case 'set_ip_ecn':
      return `mod_nw_ecn:${a.ecn}`;
    case 'set_ip_ttl':
      return `mod_nw_ttl:${a.ttl}`;
    case 'set_l4_src_port':
      return `mod_tp_src:${a.port}`;
    case 'set_l4_dst_port':
      return `mod_tp_dst:${a.port}`;
    case 'reg_move':
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case 'set_field': {
      if (a.raw === 'load') return formatLoad(a);
      const f = fieldByName(a.field);
      if (!f) return `set_field:?->${a.field}`;
      return `set_field:${formatFieldValue(f, a.value, a.mask, opts)}->${f.name}`;
    }
    case 'stack_push':
      return `push:${formatSubfield(a.src)}`;
    case 'stack_pop':
      return `pop:${formatSubfield(a.dst)}`;
    case 'dec_ttl':
      return a.explicitIds ? `dec_ttl(${a.controllerIds.join(',')})` : 'dec_ttl';
    case 'set_mpls_label':
      return `set_mpls_label(${a.label})`;
    case 'set_mpls_tc':
      return `set_mpls_tc(${a.tc})`;
    case 'set_mpls_ttl':
      return `set_mpls_ttl(${a.ttl})`;
    case 'dec_mpls_ttl':
      return 'dec_mpls_ttl';
    case 'push_mpls':
      return `push_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`;
    case 'pop_mpls':
      return `pop_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`;
    case 'set_tunnel':
      return `set_tunnel${a.wide || a.tunId > 0xffffffffn ? '64' : ''}:${hexAltBig(a.tunId)}`;
    case 'set_queue':
      return `set_queue:${a.queue}`;
    case 'pop_queue':
      return 'pop_queue';
    case 'fin_timeout': {
      const p: string[] = [];
      if (a.idleTimeout) p.push(`idle_timeout=${a.idleTimeout}`);
      if (a.hardTimeout) p.push(`hard_timeout=${a.hardTimeout}`);
      return `fin_timeout(${p.join(',')})`;
    }
    case 'resubmit': {
      if (a.port !== 0xfff8 && a.tableId === 255 && !a.withCt) {
        return `resubmit:${fmtPort(a.port, opts)}`;
      }
      let s = 'resubmit(';
      if (a.port !== 0xfff8) s += fmtPort(a.port, opts);
      s += ',';
      if (a.tableId !== 255) s += String(a.tableId);
      if (a.withCt) s += ',ct';
      return `${s})`;
    }
    case 'learn':
      return formatLearn(a, opts);
    case 'conjunction':
      return `conjunction(${a.id},${a.clause + 1}/${a.nClauses})`;
    case 'multipath':
      return `multipath(${a.fields},${a.basis},${a.algorithm},${a.maxLink + 1},${a.arg},${formatSubfield(a.dst)})`;
    case 'note':
      return `note:${formatHexArg(a.data)}`;
    case 'exit':
      return 'exit';
    case 'sample': {
      let s = `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId}`;
      if (a.samplingPort !== 0xffff) s += `,sampling_port=${fmtPort(a.samplingPort, opts)}`;
      if (a.direction !== 'default') s += `,${a.direction}`;
      return `${s})`;
    }
    case 'clone':
      return `clone(${formatOfpacts(a.actions, opts)})`;
    case 'ct':
      return formatCt(a, opts);
    case 'ct_clear':
      return 'ct_clear';
    case 'nat':
      return formatNat(a);
    case 'check_pkt_larger':
      return `check_pkt_larger(${a.pktLen})->${formatSubfield(a.dst)}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'meter':
      return `meter:${a.meterId}`;
    case 'clear_actions':
      return 'clear_actions';
    case 'write_actions':
      return `write_actions(${formatOfpacts(a.actions, opts)})`;
    case 'write_metadata':
      return a.mask === 0xffffffffffffffffn
        ? `write_metadata:${hexAltBig(a.metadata)}`
        : `write_metadata:${hexAltBig(a.metadata)}/${hexAltBig(a.mask)}`;
    case 'goto_table':
      return `goto_table:${a.tableId}`;
  }
}

function hexAltBig(v: bigint): string {
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

/** A whole action list; `drop` when empty, as ovs-ofctl prints it. */
export function formatOfpacts(acts: readonly Ofpact[], opts?: OfpactFormatOptions): string {
  if (acts.length === 0) return 'drop';
  return acts.map((a) => formatOfpact(a, opts)).join(',');
}
