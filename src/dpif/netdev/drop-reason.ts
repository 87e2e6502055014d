/**
 * Why a datapath flow drops its packets (OVS's explicit drop action carries the translation's
 * xlate_error), and the `drop_action_*` coverage counters that count the packets each reason
 * dropped: a flow whose action list is empty counts its packets under its reason, the OpenFlow
 * pipeline's own decision (`of_pipeline`) unless the upcall layer says otherwise.
 */
import { type CoverageCounter, coverage } from '../../lib/coverage.ts';

export type DropReason =
  | 'of_pipeline'
  | 'bridge_not_found'
  | 'recursion_too_deep'
  | 'too_many_resubmit'
  | 'stack_too_deep'
  | 'no_recirculation_context'
  | 'recirculation_conflict'
  | 'too_many_mpls_labels'
  | 'invalid_tunnel_metadata'
  | 'unsupported_packet_type'
  | 'congestion'
  | 'forwarding_disabled';

const REASONS: readonly DropReason[] = [
  'of_pipeline',
  'bridge_not_found',
  'recursion_too_deep',
  'too_many_resubmit',
  'stack_too_deep',
  'no_recirculation_context',
  'recirculation_conflict',
  'too_many_mpls_labels',
  'invalid_tunnel_metadata',
  'unsupported_packet_type',
  'congestion',
  'forwarding_disabled',
];

/* Every counter exists from the start, so coverage/read-counter answers 0 before any drop. */
const COUNTERS = new Map<DropReason, CoverageCounter>(
  REASONS.map((r) => [r, coverage(`drop_action_${r}`)]),
);

/** The counter of packets dropped for `reason` (of_pipeline when none is given). */
export function dropCounter(reason: DropReason | undefined): CoverageCounter {
  return COUNTERS.get(reason ?? 'of_pipeline') as CoverageCounter;
}
