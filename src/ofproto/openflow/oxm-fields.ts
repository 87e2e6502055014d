/*
 * NXM and OXM field assignments: which (class, field) headers carry each field of the flow
 * registry (src/lib/flow/fields.ts, which has no wire numbers, so the table lives here, keyed
 * by the registry's field names). Numbers are those of ovs-fields(7).
 *
 * A header is class(16) | field(7) | hasmask(1) | length(8). Experimenter OXMs (class 0xffff)
 * carry a 32-bit experimenter id right after the header, counted in the length.
 */

import { type Field, fieldByName } from '../../lib/flow/fields.ts';

export const OFPXMC_NXM_0 = 0x0000;
export const OFPXMC_NXM_1 = 0x0001;
export const OFPXMC_OPENFLOW_BASIC = 0x8000;
export const OFPXMC_PACKET_REGS = 0x8001;
export const OFPXMC_ERICSSON = 0x1000;
export const OFPXMC_EXPERIMENTER = 0xffff;

/* [field name, [[wire name, field number, first OpenFlow minor version (0: any)], ...]] */
const ASSIGNMENTS: ReadonlyArray<
  readonly [string, ReadonlyArray<readonly [string, number, number]>]
> = [
  [
    'dp_hash',
    [
      ['NXM_NX_DP_HASH', 35, 0],
      ['NXOXM_ET_DP_HASH', 0, 0],
    ],
  ],
  ['recirc_id', [['NXM_NX_RECIRC_ID', 36, 0]]],
  ['packet_type', [['OXM_OF_PACKET_TYPE', 44, 5]]],
  ['conj_id', [['NXM_NX_CONJ_ID', 37, 0]]],
  [
    'tun_id',
    [
      ['NXM_NX_TUN_ID', 16, 0],
      ['OXM_OF_TUNNEL_ID', 38, 3],
    ],
  ],
  ['tun_src', [['NXM_NX_TUN_IPV4_SRC', 31, 0]]],
  ['tun_dst', [['NXM_NX_TUN_IPV4_DST', 32, 0]]],
  ['tun_ipv6_src', [['NXM_NX_TUN_IPV6_SRC', 109, 0]]],
  ['tun_ipv6_dst', [['NXM_NX_TUN_IPV6_DST', 110, 0]]],
  ['tun_flags', [['NXM_NX_TUN_FLAGS', 104, 0]]],
  ['tun_gbp_id', [['NXM_NX_TUN_GBP_ID', 38, 0]]],
  ['tun_gbp_flags', [['NXM_NX_TUN_GBP_FLAGS', 39, 0]]],
  ['tun_erspan_idx', [['NXOXM_ET_ERSPAN_IDX', 11, 0]]],
  ['tun_erspan_ver', [['NXOXM_ET_ERSPAN_VER', 12, 0]]],
  ['tun_erspan_dir', [['NXOXM_ET_ERSPAN_DIR', 13, 0]]],
  ['tun_erspan_hwid', [['NXOXM_ET_ERSPAN_HWID', 14, 0]]],
  ['tun_gtpu_flags', [['NXOXM_ET_GTPU_FLAGS', 15, 0]]],
  ['tun_gtpu_msgtype', [['NXOXM_ET_GTPU_MSGTYPE', 16, 0]]],
  ['metadata', [['OXM_OF_METADATA', 2, 2]]],
  ['in_port', [['NXM_OF_IN_PORT', 0, 0]]],
  ['in_port_oxm', [['OXM_OF_IN_PORT', 0, 2]]],
  [
    'actset_output',
    [
      ['ONFOXM_ET_ACTSET_OUTPUT', 43, 3],
      ['OXM_OF_ACTSET_OUTPUT', 43, 5],
    ],
  ],
  ['pkt_mark', [['NXM_NX_PKT_MARK', 33, 0]]],
  ['ct_state', [['NXM_NX_CT_STATE', 105, 0]]],
  ['ct_zone', [['NXM_NX_CT_ZONE', 106, 0]]],
  ['ct_mark', [['NXM_NX_CT_MARK', 107, 0]]],
  ['ct_label', [['NXM_NX_CT_LABEL', 108, 0]]],
  ['ct_nw_proto', [['NXM_NX_CT_NW_PROTO', 119, 0]]],
  ['ct_nw_src', [['NXM_NX_CT_NW_SRC', 120, 0]]],
  ['ct_nw_dst', [['NXM_NX_CT_NW_DST', 121, 0]]],
  ['ct_ipv6_src', [['NXM_NX_CT_IPV6_SRC', 122, 0]]],
  ['ct_ipv6_dst', [['NXM_NX_CT_IPV6_DST', 123, 0]]],
  ['ct_tp_src', [['NXM_NX_CT_TP_SRC', 124, 0]]],
  ['ct_tp_dst', [['NXM_NX_CT_TP_DST', 125, 0]]],
  [
    'eth_src',
    [
      ['NXM_OF_ETH_SRC', 2, 0],
      ['OXM_OF_ETH_SRC', 4, 2],
    ],
  ],
  [
    'eth_dst',
    [
      ['NXM_OF_ETH_DST', 1, 0],
      ['OXM_OF_ETH_DST', 3, 2],
    ],
  ],
  [
    'eth_type',
    [
      ['NXM_OF_ETH_TYPE', 3, 0],
      ['OXM_OF_ETH_TYPE', 5, 2],
    ],
  ],
  ['vlan_tci', [['NXM_OF_VLAN_TCI', 4, 0]]],
  ['vlan_vid', [['OXM_OF_VLAN_VID', 6, 2]]],
  ['vlan_pcp', [['OXM_OF_VLAN_PCP', 7, 2]]],
  ['mpls_label', [['OXM_OF_MPLS_LABEL', 34, 2]]],
  ['mpls_tc', [['OXM_OF_MPLS_TC', 35, 2]]],
  ['mpls_bos', [['OXM_OF_MPLS_BOS', 36, 3]]],
  ['mpls_ttl', [['NXM_NX_MPLS_TTL', 30, 0]]],
  [
    'ip_src',
    [
      ['NXM_OF_IP_SRC', 7, 0],
      ['OXM_OF_IPV4_SRC', 11, 2],
    ],
  ],
  [
    'ip_dst',
    [
      ['NXM_OF_IP_DST', 8, 0],
      ['OXM_OF_IPV4_DST', 12, 2],
    ],
  ],
  [
    'ipv6_src',
    [
      ['NXM_NX_IPV6_SRC', 19, 0],
      ['OXM_OF_IPV6_SRC', 26, 2],
    ],
  ],
  [
    'ipv6_dst',
    [
      ['NXM_NX_IPV6_DST', 20, 0],
      ['OXM_OF_IPV6_DST', 27, 2],
    ],
  ],
  [
    'ipv6_label',
    [
      ['NXM_NX_IPV6_LABEL', 27, 0],
      ['OXM_OF_IPV6_FLABEL', 28, 2],
    ],
  ],
  [
    'nw_proto',
    [
      ['NXM_OF_IP_PROTO', 6, 0],
      ['OXM_OF_IP_PROTO', 10, 2],
    ],
  ],
  ['nw_tos', [['NXM_OF_IP_TOS', 5, 0]]],
  ['ip_dscp', [['OXM_OF_IP_DSCP', 8, 2]]],
  [
    'nw_ecn',
    [
      ['NXM_NX_IP_ECN', 28, 0],
      ['OXM_OF_IP_ECN', 9, 2],
    ],
  ],
  ['nw_ttl', [['NXM_NX_IP_TTL', 29, 0]]],
  ['ip_frag', [['NXM_NX_IP_FRAG', 26, 0]]],
  [
    'arp_op',
    [
      ['NXM_OF_ARP_OP', 15, 0],
      ['OXM_OF_ARP_OP', 21, 2],
    ],
  ],
  [
    'arp_spa',
    [
      ['NXM_OF_ARP_SPA', 16, 0],
      ['OXM_OF_ARP_SPA', 22, 2],
    ],
  ],
  [
    'arp_tpa',
    [
      ['NXM_OF_ARP_TPA', 17, 0],
      ['OXM_OF_ARP_TPA', 23, 2],
    ],
  ],
  [
    'arp_sha',
    [
      ['NXM_NX_ARP_SHA', 17, 0],
      ['OXM_OF_ARP_SHA', 24, 2],
    ],
  ],
  [
    'arp_tha',
    [
      ['NXM_NX_ARP_THA', 18, 0],
      ['OXM_OF_ARP_THA', 25, 2],
    ],
  ],
  [
    'tcp_src',
    [
      ['NXM_OF_TCP_SRC', 9, 0],
      ['OXM_OF_TCP_SRC', 13, 2],
    ],
  ],
  [
    'tcp_dst',
    [
      ['NXM_OF_TCP_DST', 10, 0],
      ['OXM_OF_TCP_DST', 14, 2],
    ],
  ],
  [
    'tcp_flags',
    [
      ['NXM_NX_TCP_FLAGS', 34, 0],
      ['ONFOXM_ET_TCP_FLAGS', 42, 3],
      ['OXM_OF_TCP_FLAGS', 42, 5],
    ],
  ],
  [
    'udp_src',
    [
      ['NXM_OF_UDP_SRC', 11, 0],
      ['OXM_OF_UDP_SRC', 15, 2],
    ],
  ],
  [
    'udp_dst',
    [
      ['NXM_OF_UDP_DST', 12, 0],
      ['OXM_OF_UDP_DST', 16, 2],
    ],
  ],
  ['sctp_src', [['OXM_OF_SCTP_SRC', 17, 2]]],
  ['sctp_dst', [['OXM_OF_SCTP_DST', 18, 2]]],
  [
    'icmp_type',
    [
      ['NXM_OF_ICMP_TYPE', 13, 0],
      ['OXM_OF_ICMPV4_TYPE', 19, 2],
    ],
  ],
  [
    'icmp_code',
    [
      ['NXM_OF_ICMP_CODE', 14, 0],
      ['OXM_OF_ICMPV4_CODE', 20, 2],
    ],
  ],
  [
    'icmpv6_type',
    [
      ['NXM_NX_ICMPV6_TYPE', 21, 0],
      ['OXM_OF_ICMPV6_TYPE', 29, 2],
    ],
  ],
  [
    'icmpv6_code',
    [
      ['NXM_NX_ICMPV6_CODE', 22, 0],
      ['OXM_OF_ICMPV6_CODE', 30, 2],
    ],
  ],
  [
    'nd_target',
    [
      ['NXM_NX_ND_TARGET', 23, 0],
      ['OXM_OF_IPV6_ND_TARGET', 31, 2],
    ],
  ],
  [
    'nd_sll',
    [
      ['NXM_NX_ND_SLL', 24, 0],
      ['OXM_OF_IPV6_ND_SLL', 32, 2],
    ],
  ],
  [
    'nd_tll',
    [
      ['NXM_NX_ND_TLL', 25, 0],
      ['OXM_OF_IPV6_ND_TLL', 33, 2],
    ],
  ],
  ['nd_reserved', [['ERICOXM_OF_ICMPV6_ND_RESERVED', 1, 0]]],
  ['nd_options_type', [['ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE', 2, 0]]],
  ['nsh_flags', [['NXOXM_NSH_FLAGS', 1, 0]]],
  ['nsh_mdtype', [['NXOXM_NSH_MDTYPE', 2, 0]]],
  ['nsh_np', [['NXOXM_NSH_NP', 3, 0]]],
  ['nsh_spi', [['NXOXM_NSH_SPI', 4, 0]]],
  ['nsh_si', [['NXOXM_NSH_SI', 5, 0]]],
  ['nsh_ttl', [['NXOXM_NSH_TTL', 10, 0]]],
];

export interface MfHeader {
  /** The registry field this header carries. */
  readonly field: Field;
  /** NXM_OF_ETH_SRC, OXM_OF_VLAN_VID... */
  readonly name: string;
  readonly cls: number;
  readonly num: number;
  /** 0 unless cls is OFPXMC_EXPERIMENTER. */
  readonly experimenter: number;
  /** Value length in bytes. */
  readonly nBytes: number;
  /** OpenFlow wire version from which this is a standard OXM (0: NXM or extension). */
  readonly sinceVersion: number;
  readonly isNxm: boolean;
}

const PREFIXES: ReadonlyArray<readonly [string, number, number]> = [
  ['OXM_OF_PKT_REG', OFPXMC_PACKET_REGS, 0],
  ['NXM_OF_', OFPXMC_NXM_0, 0],
  ['NXM_NX_', OFPXMC_NXM_1, 0],
  ['NXOXM_NSH_', OFPXMC_EXPERIMENTER, 0x005ad650],
  ['OXM_OF_', OFPXMC_OPENFLOW_BASIC, 0],
  ['ONFOXM_ET_', OFPXMC_EXPERIMENTER, 0x4f4e4600],
  ['ERICOXM_OF_', OFPXMC_ERICSSON, 0],
  ['NXOXM_ET_', OFPXMC_EXPERIMENTER, 0x00002320],
];

const byFieldName = new Map<string, MfHeader[]>();
const byWireName = new Map<string, MfHeader>();
const byKey = new Map<string, MfHeader>();

function wireKey(cls: number, num: number, experimenter: number): string {
  return `${cls}:${num}:${experimenter}`;
}

function addHeader(f: Field, name: string, num: number, ofMinor: number, nBytes = f.nBytes) {
  const p = PREFIXES.find(([pre]) => name.startsWith(pre));
  if (!p) throw new Error(`no OXM class for ${name}`);
  const h: MfHeader = {
    field: f,
    name,
    cls: p[1],
    num,
    experimenter: p[2],
    nBytes,
    sinceVersion: ofMinor ? ofMinor + 1 : 0,
    isNxm: p[1] === OFPXMC_NXM_0 || p[1] === OFPXMC_NXM_1,
  };
  const list = byFieldName.get(f.name) ?? [];
  list.push(h);
  byFieldName.set(f.name, list);
  byWireName.set(name, h);
  const k = wireKey(h.cls, num, h.experimenter);
  if (!byKey.has(k)) byKey.set(k, h);
}

for (const [fname, list] of ASSIGNMENTS) {
  const f = fieldByName(fname);
  if (!f) continue; // NSH and other fields the flow key does not hold
  for (const [name, num, minor] of list) addHeader(f, name, num, minor);
}
for (let i = 0; i < 16; i++) {
  const f = fieldByName(`reg${i}`);
  if (f) addHeader(f, `NXM_NX_REG${i}`, i, 0);
}
for (let i = 0; i < 8; i++) {
  const f = fieldByName(`xreg${i}`);
  if (f) addHeader(f, `OXM_OF_PKT_REG${i}`, i, 3);
}
for (let i = 0; i < 4; i++) {
  const f = fieldByName(`xxreg${i}`);
  if (f) addHeader(f, `NXM_NX_XXREG${i}`, 111 + i, 0);
}

/** Headers of a field, NXM first then OXM in table order. */
export function headersOf(fieldName: string): readonly MfHeader[] {
  return byFieldName.get(fieldName) ?? [];
}

/** NXM_NX_REG0, OXM_OF_IN_PORT... (as used in `load:`, `move:` and learn specs). */
export function headerByWireName(name: string): MfHeader | undefined {
  return byWireName.get(name);
}

export function headerByWire(cls: number, num: number, experimenter = 0): MfHeader | undefined {
  return byKey.get(wireKey(cls, num, experimenter));
}

/**
 * The header to send `fieldName` with: in OXM (`oxm` true, OpenFlow wire `version`) the newest
 * OXM assignment standard in that version, else an extension OXM, else the NXM one; in NXM the
 * NXM assignment, else an OXM one (as OVS does for fields NXM never numbered).
 */
export function headerFor(fieldName: string, oxm: boolean, version: number): MfHeader | undefined {
  const list = byFieldName.get(fieldName);
  if (!list) return undefined;
  let best: MfHeader | undefined;
  if (oxm) {
    for (const h of list) {
      if (h.isNxm) continue;
      if (h.sinceVersion && h.sinceVersion > version) continue;
      if (!best || h.sinceVersion > best.sinceVersion) best = h;
    }
  }
  if (!best) best = list.find((h) => h.isNxm);
  return best ?? list[0];
}

/** The 32-bit header word (without experimenter id) for a header with or without mask. */
export function headerWord(h: MfHeader, masked: boolean): number {
  const len = (h.experimenter ? 4 : 0) + h.nBytes * (masked ? 2 : 1);
  return ((h.cls << 16) | (h.num << 9) | (masked ? 0x100 : 0) | len) >>> 0;
}

export interface WireHeaderId {
  /** OVS's field name (tun_metadata7, reg3, nsh_c1... included). */
  readonly field: string;
  readonly cls: number;
  readonly num: number;
  readonly experimenter: number;
}

let fieldOrder: WireHeaderId[] | null = null;

function wireId(field: string, name: string, num: number): WireHeaderId {
  const p = PREFIXES.find(([pre]) => name.startsWith(pre));
  if (!p) throw new Error(`no OXM class for ${name}`);
  return { field, cls: p[1], num, experimenter: p[2] };
}

/**
 * Every header OVS numbers, in OVS's field order (its mf_field ids), including the fields our
 * flow key does not hold: table-features replies list fields as bitmaps in this order.
 */
export function wireHeadersInFieldOrder(): readonly WireHeaderId[] {
  if (fieldOrder) return fieldOrder;
  const out: WireHeaderId[] = [];
  for (const [fname, list] of ASSIGNMENTS) {
    for (const [name, num] of list) out.push(wireId(fname, name, num));
    if (fname === 'tun_gtpu_msgtype') {
      for (let i = 0; i < 64; i++) out.push(wireId(`tun_metadata${i}`, 'NXM_NX_', 40 + i));
    } else if (fname === 'ct_tp_dst') {
      for (let i = 0; i < 16; i++) out.push(wireId(`reg${i}`, 'NXM_NX_', i));
      for (let i = 0; i < 8; i++) out.push(wireId(`xreg${i}`, 'OXM_OF_PKT_REG', i));
      for (let i = 0; i < 4; i++) out.push(wireId(`xxreg${i}`, 'NXM_NX_', 111 + i));
    } else if (fname === 'nsh_si') {
      for (let i = 1; i <= 4; i++) out.push(wireId(`nsh_c${i}`, 'NXOXM_NSH_', 5 + i));
    }
  }
  fieldOrder = out;
  return out;
}
