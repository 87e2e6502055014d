/*
 * The flow key: every field a packet is classified on, as a fixed array of 32-bit words.
 *
 * A key is a `Uint32Array` of FLOW_WORDS words (or a subarray view of that length made
 * once, never per packet). A mask has the same shape: a 1 bit means "this bit matters".
 * Values are stored as plain numbers in host order, so `key[W_NW_SRC]` is the IPv4 source as
 * an unsigned 32-bit integer (198.18.0.1 = 0xc6120001).
 *
 * Fields wider than 32 bits take consecutive words, most significant word first; the
 * first word holds the high-order remainder in its low bits (a MAC takes two words: its
 * first two bytes in the low 16 bits of the first word, its last four bytes in the
 * second). Narrow fields share a word at fixed bit positions given below.
 *
 * The words are grouped, like OVS's struct flow, in four stages so the classifier can
 * stop early and leave later-stage fields wildcarded: metadata, L2, L3, L4.
 *
 *  word  bits      field(s)
 *  ----- --------- ------------------------------------------------------------
 *  Metadata stage [0, STAGE_L2)
 *   0    31..0     in_port (OpenFlow port in ofproto, datapath port in the dpif)
 *   1    31..0     recirc_id
 *   2    31..0     dp_hash
 *   3    31..0     skb_priority
 *   4    31..0     pkt_mark
 *   5    31..0     ct_state
 *   6    15..0     ct_zone
 *   7    31..0     ct_mark
 *   8-11           ct_label (128)
 *  12     7..0     ct_nw_proto
 *  13    31..0     ct_nw_src
 *  14    31..0     ct_nw_dst
 *  15-18           ct_ipv6_src
 *  19-22           ct_ipv6_dst
 *  23    31..16    ct_tp_src        15..0 ct_tp_dst
 *  24    31..0     conj_id
 *  25    31..0     actset_output
 *  26    31..0     packet_type (0 = Ethernet)
 *  27-28           metadata (64)
 *  29-44           reg0 .. reg15 (xregN = reg2N:reg2N+1, xxregN = reg4N..reg4N+3)
 *  45-46           tun_id (64)
 *  47    31..0     tun_src
 *  48    31..0     tun_dst
 *  49-52           tun_ipv6_src
 *  53-56           tun_ipv6_dst
 *  57    15..0     tun_flags
 *  58    15..8     tun_tos          7..0 tun_ttl
 *  59    31..16    tun_tp_src       15..0 tun_tp_dst
 *  60    31..16    tun_gbp_id       7..0 tun_gbp_flags
 *  61    31..24    tun_erspan_ver   23..16 tun_erspan_dir   7..0 tun_erspan_hwid
 *  62    19..0     tun_erspan_idx
 *  63    15..8     tun_gtpu_flags   7..0 tun_gtpu_msgtype
 *  L2 stage [STAGE_L2, STAGE_L3)
 *  64-65           dl_dst (48)
 *  66-67           dl_src (48)
 *  68    15..0     dl_type (0x05ff when the frame has no Ethernet II type, as OVS)
 *  69    31..16    outer VLAN TPID  15..0 vlan_tci (CFI bit 0x1000 set = tag present)
 *  70              second VLAN tag, same layout
 *  71-73           MPLS label stack entries 0..2 as on the wire
 *                  (label 31..12, tc 11..9, bos 8, ttl 7..0)
 *  L3 stage [STAGE_L3, STAGE_L4)
 *  74    31..0     nw_src (IPv4 source or ARP SPA)
 *  75    31..0     nw_dst (IPv4 destination or ARP TPA)
 *  76-79           ipv6_src
 *  80-83           ipv6_dst
 *  84    19..0     ipv6_label
 *  85    31..24    nw_frag (bit0 any fragment, bit1 later fragment)
 *        23..16    nw_tos (DSCP 23..18, ECN 17..16)
 *        15..8     nw_ttl           7..0 nw_proto (or low 8 bits of the ARP opcode)
 *  L4 stage [STAGE_L4, FLOW_WORDS)
 *  86    31..16    tp_src (TCP/UDP/SCTP port, ICMP type)   15..0 tp_dst (port, ICMP code)
 *  87    11..0     tcp_flags
 *  88-91           nd_target
 *  92-93           arp_sha / nd_sll (48)
 *  94-95           arp_tha / nd_tll (48)
 *  96    31..0     nd_reserved (ICMPv6 ND flags word) or IGMP group
 *  97     7..0     nd_options_type
 */

export const W_IN_PORT = 0;
export const W_RECIRC_ID = 1;
export const W_DP_HASH = 2;
export const W_SKB_PRIORITY = 3;
export const W_PKT_MARK = 4;
export const W_CT_STATE = 5;
export const W_CT_ZONE = 6;
export const W_CT_MARK = 7;
export const W_CT_LABEL = 8;
export const W_CT_NW_PROTO = 12;
export const W_CT_NW_SRC = 13;
export const W_CT_NW_DST = 14;
export const W_CT_IPV6_SRC = 15;
export const W_CT_IPV6_DST = 19;
export const W_CT_TP = 23;
export const W_CONJ_ID = 24;
export const W_ACTSET_OUTPUT = 25;
export const W_PACKET_TYPE = 26;
export const W_METADATA = 27;
export const W_REG0 = 29;
export const N_REGS = 16;
export const W_TUN_ID = 45;
export const W_TUN_SRC = 47;
export const W_TUN_DST = 48;
export const W_TUN_IPV6_SRC = 49;
export const W_TUN_IPV6_DST = 53;
export const W_TUN_FLAGS = 57;
export const W_TUN_TOS_TTL = 58;
export const W_TUN_TP = 59;
export const W_TUN_GBP = 60;
export const W_TUN_ERSPAN = 61;
export const W_TUN_ERSPAN_IDX = 62;
export const W_TUN_GTPU = 63;

export const W_DL_DST = 64;
export const W_DL_SRC = 66;
export const W_DL_TYPE = 68;
export const W_VLAN0 = 69;
export const W_VLAN1 = 70;
export const W_MPLS0 = 71;
export const N_MPLS = 3;

export const W_NW_SRC = 74;
export const W_NW_DST = 75;
export const W_IPV6_SRC = 76;
export const W_IPV6_DST = 80;
export const W_IPV6_LABEL = 84;
export const W_NW = 85;

export const W_TP = 86;
export const W_TCP_FLAGS = 87;
export const W_ND_TARGET = 88;
export const W_ARP_SHA = 92;
export const W_ARP_THA = 94;
export const W_ND_RESERVED = 96;
export const W_ND_OPTIONS_TYPE = 97;

export const FLOW_WORDS = 98;

/* Stage boundaries (word index where each stage starts). */
export const STAGE_L2 = 64;
export const STAGE_L3 = 74;
export const STAGE_L4 = 86;
export const N_STAGES = 4;
export const STAGE_ENDS: readonly number[] = [STAGE_L2, STAGE_L3, STAGE_L4, FLOW_WORDS];

/* Bit positions inside W_NW. */
export const NW_FRAG_SHIFT = 24;
export const NW_TOS_SHIFT = 16;
export const NW_TTL_SHIFT = 8;
export const NW_PROTO_SHIFT = 0;

export const FLOW_NW_FRAG_ANY = 1;
export const FLOW_NW_FRAG_LATER = 2;
export const FLOW_NW_FRAG_MASK = 3;

export const VLAN_CFI = 0x1000;
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_PCP_MASK = 0xe000;
export const VLAN_PCP_SHIFT = 13;

/* The dl_type OVS gives frames that carry an 802.3 length instead of an Ethernet type. */
export const FLOW_DL_TYPE_NONE = 0x05ff;

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
export const ETH_TYPE_VLAN_8021Q = 0x8100;
export const ETH_TYPE_VLAN_8021AD = 0x88a8;
export const ETH_TYPE_IPV6 = 0x86dd;
export const ETH_TYPE_MPLS = 0x8847;
export const ETH_TYPE_MPLS_MCAST = 0x8848;
export const ETH_TYPE_NSH = 0x894f;
export const ETH_TYPE_MIN = 0x0600;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;

export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

/* Reserved OpenFlow 1.0 port numbers as OVS keeps them internally (16 bits). */
export const OFPP_MAX = 0xff00;
export const OFPP_UNSET = 0xfff7;
export const OFPP_IN_PORT = 0xfff8;
export const OFPP_TABLE = 0xfff9;
export const OFPP_NORMAL = 0xfffa;
export const OFPP_FLOOD = 0xfffb;
export const OFPP_ALL = 0xfffc;
export const OFPP_CONTROLLER = 0xfffd;
export const OFPP_LOCAL = 0xfffe;
export const OFPP_NONE = 0xffff;

export type FlowKey = Uint32Array;

export function newFlowKey(): FlowKey {
  return new Uint32Array(FLOW_WORDS);
}

/** The stage (0 metadata, 1 L2, 2 L3, 3 L4) a word belongs to. */
export function stageOfWord(w: number): number {
  return w < STAGE_L2 ? 0 : w < STAGE_L3 ? 1 : w < STAGE_L4 ? 2 : 3;
}

export function getDlType(key: FlowKey): number {
  return key[W_DL_TYPE] & 0xffff;
}

export function getNwProto(key: FlowKey): number {
  return key[W_NW] & 0xff;
}

export function getNwFrag(key: FlowKey): number {
  return (key[W_NW] >>> NW_FRAG_SHIFT) & 0xff;
}

export function getTpSrc(key: FlowKey): number {
  return key[W_TP] >>> 16;
}

export function getTpDst(key: FlowKey): number {
  return key[W_TP] & 0xffff;
}

export function getVlanTci(key: FlowKey, i = 0): number {
  return key[W_VLAN0 + i] & 0xffff;
}
