/**
 * What the main thread and the PMD worker (pmd-thread.ts, pmd-worker.ts) say to each other.
 * Commands go one way in order (one message per event-loop turn carrying every command of that
 * turn), so the worker's flow table replays the main thread's changes exactly as they happened.
 * Packets travel packed back to back in one buffer per message, with their lengths (and, for
 * upcalls, each packet's metadata words), never as one message per packet.
 *
 * Queues are bounded by counters in shared memory (no acknowledgement messages): each side
 * counts the packet messages it posted and the other counts those it has handled; a sender
 * over the limit drops and counts instead of queueing more.
 */
import type { PmdPortSpec } from '../../netdev/linux/netdev-linux.ts';
import type { OdpAction, OdpActions } from './odp-actions.ts';

/** Packet messages either side may have in flight before it drops (each up to 32 packets). */
export const PMD_MAX_INFLIGHT = 256;
/** How often the worker pushes flow and port statistics (ms). */
export const PMD_STATS_INTERVAL_MS = 100;

/** Int32 slots of the shared counters: upcall/output/action messages posted by the worker,
 * and handled by the main thread; transmit messages posted by the main thread, and handled by
 * the worker. */
export const UP_POSTED = 0;
export const UP_DONE = 1;
export const TX_POSTED = 2;
export const TX_DONE = 3;
export const SHARED_SLOTS = 4;

/** Frames packed back to back: frame i is data[start_i, start_i + len[i]). */
export interface PackedFrames {
  readonly n: number;
  readonly data: Uint8Array;
  readonly len: Int32Array;
}

export type PmdCommand =
  | { readonly op: 'port-add'; readonly port: number; readonly spec: PmdPortSpec }
  /** Reopen with a new spec (MTU changed, device made again). */
  | { readonly op: 'port-update'; readonly port: number; readonly spec: PmdPortSpec }
  /** Answered by 'port-closed' once the worker no longer touches the device. */
  | { readonly op: 'port-del'; readonly port: number }
  /** `id` names the flow in later commands and statistics (cheaper than its ufid). */
  | {
      readonly op: 'put';
      readonly id: number;
      readonly ufid: string;
      readonly key: Uint32Array;
      readonly mask: Uint32Array;
      readonly actions: OdpActions;
    }
  | {
      readonly op: 'modify';
      readonly id: number;
      readonly actions: OdpActions;
      readonly zeroStats: boolean;
    }
  | { readonly op: 'del'; readonly id: number }
  | { readonly op: 'flush' }
  | ({ readonly op: 'tx'; readonly port: number } & PackedFrames)
  /** Answered by a 'stats' message with the same seq. */
  | { readonly op: 'stats'; readonly seq: number }
  | { readonly op: 'emc'; readonly insertInvProb: number }
  /** other_config:vlan-limit: the worker parses as many VLAN headers as the main thread. */
  | { readonly op: 'vlan-limit'; readonly limit: number }
  /** Close every port and end the thread. */
  | { readonly op: 'exit' };

export interface PmdWorkerData {
  readonly shared: SharedArrayBuffer;
  readonly emcInsertInvProb?: number;
  /** The flow library's VLAN header limit when the worker starts (see 'vlan-limit'). */
  readonly vlanLimit?: number;
}

/** Flow statistics deltas: per flow, its id, packets, bytes, used (absolute, ms), tcp_flags. */
export const FLOW_STAT_WORDS = 5;
/** Port statistics deltas: port, rxPackets, rxBytes, txPackets, txBytes, txDropped (datapath),
 * device txDropped, ring drops. */
export const PORT_STAT_WORDS = 8;

export type UserspaceAction = Extract<OdpAction, { type: 'userspace' }>;
/** A userspace() action's number in 'actions' messages, and the action. */
export type UserspaceDef = readonly [number, UserspaceAction];
/** Numbers the worker hands out before it starts over (a bound on both sides' tables). */
export const PMD_MAX_ACTION_IDS = 1 << 16;
/** userspace() upcalls of sampling actions (sFlow, IPFIX) staged before a message goes; a
 * packet-in's goes at the end of its burst, as misses do. */
export const PMD_ACTION_BATCH = 64;
/** How long a staged sample may wait for more (ms): collectors hear from agents once a second. */
export const PMD_ACTION_DELAY_MS = 5;
/** With more flows than PMD_FLOW_STATS_FEW, the periodic push carries flow statistics only
 * every this many pushes: the revalidator reads them every 500 ms, a sync before dumps brings
 * them in at once, and 10,000 flows pushed ten times a second cost both threads. */
export const PMD_FLOW_STATS_EVERY = 5;
export const PMD_FLOW_STATS_FEW = 1000;

export type PmdEvent =
  | { readonly t: 'ready' }
  /** Packets no worker flow covers (or whose flow needs the main thread), with metadata. */
  | ({ readonly t: 'upcall'; readonly md: Uint32Array } & PackedFrames)
  /** Output to a port the worker does not drive. */
  | ({ readonly t: 'out'; readonly port: number } & PackedFrames)
  /**
   * userspace() actions that ran (sFlow/IPFIX samples, packet-ins), packed: packet i, its flow
   * key at keys[i * FLOW_WORDS ...], and the action numbered acts[i]. Actions are numbered by
   * the worker once and defined in the first message that uses them (`defs`), so a sample
   * costs no object to clone; `reset` forgets every earlier number first.
   */
  | ({
      readonly t: 'actions';
      readonly keys: Uint32Array;
      readonly acts: Int32Array;
      readonly defs: readonly UserspaceDef[] | null;
      readonly reset: boolean;
    } & PackedFrames)
  | {
      readonly t: 'other';
      readonly action: OdpAction;
      readonly key: Uint32Array;
      readonly packet: Uint8Array;
    }
  | {
      readonly t: 'stats';
      /** 0 for a periodic push. */
      readonly seq: number;
      readonly flows: Float64Array;
      /** DpStats deltas in DP_STAT_NAMES order. */
      readonly dp: Float64Array;
      readonly ports: Float64Array;
      /** Packets the worker dropped for a full queue to the main thread (delta). */
      readonly upcallDrops: number;
      /** Flow commands the worker could not apply (delta; a replica out of step). */
      readonly putErrors: number;
    }
  | { readonly t: 'port-closed'; readonly port: number }
  /** A log message of the worker's, "module|LEVEL|message". */
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'port-error'; readonly port: number; readonly message: string };

export const DP_STAT_NAMES = [
  'hit',
  'missed',
  'lost',
  'emcHit',
  'megaflowHit',
  'masksHit',
  'upcalls',
  'recirculations',
] as const;
