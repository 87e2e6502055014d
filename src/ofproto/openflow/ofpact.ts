/*
 * The action model ("ofpacts", as OVS calls them): one discriminated union for every action
 * and instruction, independent of the OpenFlow version it came in or goes out with.
 *
 * The wire encodings are in ofpact-wire.ts, the ovs-ofctl text syntax in ofpact-parse.ts and
 * ofpact-format.ts. Port numbers are OpenFlow 1.0-space 16-bit numbers (OFPP_* of layout.ts),
 * as the flow key holds them. Fields are named by the flow registry (src/lib/flow/fields.ts).
 */

/** A run of bits of a field: `reg0[0..15]` is {field: 'reg0', ofs: 0, nBits: 16}. */
export interface Subfield {
  readonly field: string;
  readonly ofs: number;
  readonly nBits: number;
}

export type ControllerReason =
  | 'no_match'
  | 'action'
  | 'invalid_ttl'
  | 'action_set'
  | 'group'
  | 'packet_out';

export type BundleAlgorithm = 'active_backup' | 'hrw';
export type HashFields =
  | 'eth_src'
  | 'symmetric_l4'
  | 'symmetric_l3l4'
  | 'symmetric_l3l4+udp'
  | 'nw_src'
  | 'nw_dst'
  | 'symmetric_l3';
export type MultipathAlgorithm = 'modulo_n' | 'hash_threshold' | 'hrw' | 'iter_hash';

/** One element of a learn() spec. */
export type LearnSpec =
  /** `field[=value]` / `field[]=src[]`: match in the learned flow. */
  | {
      kind: 'match';
      dst: Subfield;
      src: { subfield: Subfield } | { value: bigint };
    }
  /** `load:src->dst`: a load action in the learned flow. */
  | {
      kind: 'load';
      dst: Subfield;
      src: { subfield: Subfield } | { value: bigint };
    }
  /** `output:src`: output to the port in a subfield. */
  | { kind: 'output'; src: Subfield };

export interface Learn {
  tableId: number;
  idleTimeout: number;
  hardTimeout: number;
  finIdleTimeout: number;
  finHardTimeout: number;
  priority: number;
  cookie: bigint;
  flags: { sendFlowRem: boolean; deleteLearned: boolean; writeResult: boolean };
  resultDst?: Subfield;
  limit: number;
  specs: LearnSpec[];
}

export interface Ct {
  commit: boolean;
  force: boolean;
  /** Zone: an immediate value or a 16-bit subfield. */
  zone: { imm: number } | { src: Subfield };
  /** Recirculation table (255 = none). */
  recircTable: number;
  alg: number;
  /** Nested actions (ct_mark/ct_label sets, nat). */
  actions: Ofpact[];
}

export interface Nat {
  flags: { src: boolean; dst: boolean; persistent: boolean; hash: boolean; random: boolean };
  ipv4?: { min: number; max: number };
  ipv6?: { min: number[]; max: number[] };
  proto?: { min: number; max: number };
}

export type Ofpact =
  /* Output. */
  | { type: 'output'; port: number; maxLen: number }
  | {
      type: 'controller';
      maxLen: number;
      controllerId: number;
      reason: ControllerReason;
      userdata?: Uint8Array;
      pause: boolean;
      meterId?: number;
    }
  | { type: 'enqueue'; port: number; queue: number }
  | { type: 'output_reg'; src: Subfield; maxLen: number }
  | { type: 'output_trunc'; port: number; maxLen: number }
  | {
      type: 'bundle';
      load: boolean;
      fields: HashFields;
      basis: number;
      algorithm: BundleAlgorithm;
      memberType: 'ofport';
      dst?: Subfield;
      members: number[];
    }
  /* Header changes. */
  | { type: 'set_vlan_vid'; vid: number; pushIfNeeded: boolean }
  | { type: 'set_vlan_pcp'; pcp: number; pushIfNeeded: boolean }
  | { type: 'strip_vlan'; raw: 'strip_vlan' | 'pop_vlan' }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'set_eth_src'; mac: [number, number] }
  | { type: 'set_eth_dst'; mac: [number, number] }
  | { type: 'set_ipv4_src'; ip: number }
  | { type: 'set_ipv4_dst'; ip: number }
  | { type: 'set_ip_dscp'; dscp: number }
  | { type: 'set_ip_ecn'; ecn: number }
  | { type: 'set_ip_ttl'; ttl: number }
  | { type: 'set_l4_src_port'; port: number }
  | { type: 'set_l4_dst_port'; port: number }
  | { type: 'reg_move'; src: Subfield; dst: Subfield }
  | {
      type: 'set_field';
      field: string;
      /** Value and mask as words most significant first, in the field's bit positions. */
      value: number[];
      mask: number[];
      /** How it came in: printed as `load:` or `set_field:` as OVS does. */
      raw: 'load' | 'set_field';
    }
  | { type: 'stack_push'; src: Subfield }
  | { type: 'stack_pop'; dst: Subfield }
  | { type: 'dec_ttl'; controllerIds: number[]; explicitIds: boolean }
  | { type: 'set_mpls_label'; label: number }
  | { type: 'set_mpls_tc'; tc: number }
  | { type: 'set_mpls_ttl'; ttl: number }
  | { type: 'dec_mpls_ttl' }
  | { type: 'push_mpls'; ethertype: number }
  | { type: 'pop_mpls'; ethertype: number }
  /* Metadata. */
  | { type: 'set_tunnel'; tunId: bigint; wide: boolean }
  | { type: 'set_queue'; queue: number }
  | { type: 'pop_queue' }
  | { type: 'fin_timeout'; idleTimeout: number; hardTimeout: number }
  /* Flow table interaction. */
  | { type: 'resubmit'; port: number; tableId: number; withCt: boolean }
  | ({ type: 'learn' } & Learn)
  | { type: 'conjunction'; id: number; clause: number; nClauses: number }
  | {
      type: 'multipath';
      fields: HashFields;
      basis: number;
      algorithm: MultipathAlgorithm;
      maxLink: number;
      arg: number;
      dst: Subfield;
    }
  /* Other. */
  | { type: 'note'; data: Uint8Array }
  | { type: 'exit' }
  | {
      type: 'sample';
      probability: number;
      collectorSetId: number;
      obsDomainId: number;
      obsPointId: number;
      samplingPort: number;
      direction: 'default' | 'ingress' | 'egress';
    }
  | { type: 'clone'; actions: Ofpact[] }
  | ({ type: 'ct' } & Ct)
  | { type: 'ct_clear' }
  | ({ type: 'nat' } & Nat)
  | {
      type: 'check_pkt_larger';
      pktLen: number;
      dst: Subfield;
    }
  | { type: 'group'; groupId: number }
  /* Instructions. */
  | { type: 'meter'; meterId: number }
  | { type: 'clear_actions' }
  | { type: 'write_actions'; actions: Ofpact[] }
  | { type: 'write_metadata'; metadata: bigint; mask: bigint }
  | { type: 'goto_table'; tableId: number };

export type OfpactType = Ofpact['type'];

/** The instruction an ofpact belongs to (OVS's ovs_instruction_type_from_ofpact_type). */
export function instructionOf(
  a: Ofpact,
): 'meter' | 'apply' | 'clear' | 'write' | 'metadata' | 'goto' {
  switch (a.type) {
    case 'meter':
      return 'meter';
    case 'clear_actions':
      return 'clear';
    case 'write_actions':
      return 'write';
    case 'write_metadata':
      return 'metadata';
    case 'goto_table':
      return 'goto';
    default:
      return 'apply';
  }
}

export const OFPCR_REASONS: readonly ControllerReason[] = [
  'no_match',
  'action',
  'invalid_ttl',
  'action_set',
  'group',
  'packet_out',
];

export const NX_CTLR_NO_METER = 0;
