/*
 * The group table of one bridge (OVS's ofproto groups): group_mod with OVS's checks and
 * errors, desc/stats/features replies, and the rule side effects: a flow may only name a group
 * that exists, and deleting a group deletes the flows that use it (reason group_delete).
 */

import type { FlowTables, Rule } from './flow-table.ts';
import { OfpError } from './openflow/errors.ts';
import {
  type Bucket,
  type GroupDesc,
  type GroupMod,
  type GroupProps,
  type GroupType,
  OFPG_ALL,
  OFPG_MAX,
  OFPG15_BUCKET_ALL,
  OFPG15_BUCKET_FIRST,
  OFPG15_BUCKET_LAST,
} from './openflow/group.ts';
import type { GroupFeatures, GroupStats } from './openflow/stats.ts';

const OFPG15_BUCKET_MAX = 0xffffff00;
const OFPP_ANY = 0xffff;
const OFPG_ANY = 0xffffffff;

/* OVS advertises every group type, weights, liveness and chaining, up to OFPG_MAX of each. */
const GROUP_TYPE_BITS = 0xf;
const OFPGFC_SELECT_WEIGHT = 1;
const OFPGFC_SELECT_LIVENESS = 2;
const OFPGFC_CHAINING = 4;
/* Actions OVS allows in buckets, as OF1.2+ OFPAT_* bits: output, set_mpls_ttl, dec_mpls_ttl,
 * push_vlan, pop_vlan, push_mpls, pop_mpls, set_queue, group, set_nw_ttl, dec_nw_ttl,
 * set_field (what real ovs-vswitchd 3.1 reports). */
/* OF1.0's OFPAT_* 0 to 11: output, the set_vlan/strip_vlan/mod_* rewrites and enqueue. */
const GROUP_ACTIONS_OF10 = 0xfff;
const GROUP_ACTIONS = [0, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25].reduce(
  (m, b) => m | (1 << b),
  0,
);

export interface Group {
  readonly groupId: number;
  readonly type: GroupType;
  /** Same as `type`, in the codec's GroupDesc naming. */
  readonly groupType: GroupType;
  readonly buckets: readonly Bucket[];
  /** The selection-method property, kept and reported as given. */
  readonly props?: GroupProps;
  /** ms */
  readonly created: number;
  modified: number;
  packetCount: number;
  byteCount: number;
  readonly bucketStats: Array<{ packetCount: number; byteCount: number }>;
}

export interface GroupTableOptions {
  now?: () => number;
  /** The OpenFlow-action bitmaps per group type reported in group features, by version. */
  actionBits?: (version: number) => [number, number, number, number];
}

export class GroupTable {
  private readonly groups = new Map<number, Group>();
  private readonly now: () => number;
  /** Called after each successful change (translation caches revalidate). */
  onChange: (() => void) | null = null;

  constructor(
    private readonly tables: FlowTables | null = null,
    private readonly opts: GroupTableOptions = {},
  ) {
    this.now = opts.now ?? tables?.clock ?? Date.now;
    if (tables) tables.groupExists = (id) => this.groups.has(id);
  }

  get count(): number {
    return this.groups.size;
  }

  get(groupId: number): Group | undefined {
    return this.groups.get(groupId);
  }

  has(groupId: number): boolean {
    return this.groups.has(groupId);
  }

  groupMod(gm: GroupMod): OfpError | null {
    const err = checkGroupMod(gm);
    if (err) return err;
    switch (gm.command) {
      case 'add':
        if (this.groups.has(gm.groupId)) return new OfpError('OFPGMFC_GROUP_EXISTS');
        return this.install(gm, null);
      case 'modify':
      case 'insert_bucket':
      case 'remove_bucket': {
        const old = this.groups.get(gm.groupId);
        if (!old && gm.addOrMod) return this.install({ ...gm, command: 'add' }, null);
        if (!old) return new OfpError('OFPGMFC_UNKNOWN_GROUP');
        return this.install(gm, old);
      }
      case 'delete':
        this.delete(gm.groupId);
        return null;
      default:
        return new OfpError('OFPGMFC_BAD_COMMAND');
    }
  }

  private install(gm: GroupMod, old: Group | null): OfpError | null {
    if (gm.groupId > OFPG_MAX) return new OfpError('OFPGMFC_INVALID_GROUP');
    // Bucket commands keep the group's type (OVS, after EXT-570).
    const type = old && gm.command !== 'modify' ? old.type : gm.groupType;
    let buckets: Bucket[] = gm.buckets.map((b) => ({ ...b }));
    if (old && gm.command === 'insert_bucket') {
      const r = insertBuckets(old.buckets, buckets, gm.commandBucketId);
      if (r instanceof OfpError) return r;
      buckets = r;
    } else if (old && gm.command === 'remove_bucket') {
      const r = removeBuckets(old.buckets, gm.commandBucketId);
      if (r instanceof OfpError) return r;
      buckets = r;
    }
    const now = this.now();
    const g: Group = {
      groupId: gm.groupId,
      type,
      groupType: type,
      buckets,
      // Bucket commands keep the group's property; add and modify set it.
      ...(old && gm.command !== 'modify' && gm.command !== 'add'
        ? old.props && { props: old.props }
        : gm.props?.method && { props: gm.props }),
      created: old ? old.created : now,
      modified: now,
      packetCount: old ? old.packetCount : 0,
      byteCount: old ? old.byteCount : 0,
      bucketStats: buckets.map(() => ({ packetCount: 0, byteCount: 0 })),
    };
    this.groups.set(g.groupId, g);
    this.onChange?.();
    return null;
  }

  /** Records the groups; the returned function puts them back (for all-or-nothing bundles). */
  snapshot(): () => void {
    const saved = new Map(this.groups);
    return () => {
      this.groups.clear();
      for (const [k, v] of saved) this.groups.set(k, v);
      this.onChange?.();
    };
  }

  /** Deletes one group (or all with OFPG_ALL) and the flows that use it. */
  delete(groupId: number): void {
    const ids = groupId === OFPG_ALL ? [...this.groups.keys()] : [groupId];
    let n = 0;
    for (const id of ids) {
      if (!this.groups.delete(id)) continue;
      n++;
      if (this.tables) {
        const victims: Rule[] = this.tables.rulesWithGroup(id);
        if (victims.length) this.tables.removeRules(victims, 'group_delete');
      }
    }
    if (n) this.onChange?.();
  }

  /** Groups in id order (OVS dumps them from a hash map; ovs-ofctl tests sort). */
  private selected(groupId: number): Group[] {
    if (groupId === OFPG_ALL)
      return [...this.groups.values()].sort((a, b) => a.groupId - b.groupId);
    const g = this.groups.get(groupId);
    return g ? [g] : [];
  }

  desc(groupId = OFPG_ALL): GroupDesc[] {
    return this.selected(groupId).map((g) => ({
      groupType: g.type,
      groupId: g.groupId,
      buckets: g.buckets.map((b) => ({ ...b })),
      ...(g.props && { props: g.props }),
    }));
  }

  stats(groupId = OFPG_ALL): GroupStats[] {
    const now = this.now();
    return this.selected(groupId).map((g) => {
      const age = now - g.created;
      return {
        groupId: g.groupId,
        refCount: this.tables ? this.tables.rulesWithGroup(g.groupId).length : 0,
        packetCount: BigInt(g.packetCount),
        byteCount: BigInt(g.byteCount),
        durationSec: Math.floor(age / 1000),
        durationNsec: (age % 1000) * 1000000,
        buckets: g.bucketStats.map((b) => ({
          packetCount: BigInt(b.packetCount),
          byteCount: BigInt(b.byteCount),
        })),
      };
    });
  }

  features(version = 4): GroupFeatures {
    // OF1.0 numbers its actions differently; OVS's OF1.0 extension reports all twelve.
    const bits = version === 1 ? GROUP_ACTIONS_OF10 : GROUP_ACTIONS;
    return {
      types: GROUP_TYPE_BITS,
      capabilities: OFPGFC_SELECT_WEIGHT | OFPGFC_SELECT_LIVENESS | OFPGFC_CHAINING,
      maxGroups: [OFPG_MAX, OFPG_MAX, OFPG_MAX, OFPG_MAX],
      actions: this.opts.actionBits?.(version) ?? [bits, bits, bits, bits],
    };
  }

  /** Adds datapath statistics to a group and one of its buckets (index into buckets; -1: all). */
  credit(groupId: number, bucket: number, packets: number, bytes: number): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    g.packetCount += packets;
    g.byteCount += bytes;
    if (bucket === -1) {
      for (const x of g.bucketStats) {
        x.packetCount += packets;
        x.byteCount += bytes;
      }
      return;
    }
    const b = g.bucketStats[bucket];
    if (b) {
      b.packetCount += packets;
      b.byteCount += bytes;
    }
  }
}

/* OVS's ofputil_check_group_mod(). */
function checkGroupMod(gm: GroupMod): OfpError | null {
  if (gm.groupType === 'indirect' && gm.command !== 'delete' && gm.buckets.length !== 1) {
    return new OfpError('OFPGMFC_INVALID_GROUP', 'indirect group needs exactly one bucket');
  }
  if (gm.command === 'remove_bucket' && gm.buckets.length) {
    return new OfpError('OFPGMFC_BAD_BUCKET');
  }
  for (const b of gm.buckets) {
    if (b.weight && gm.groupType !== 'select' && gm.command !== 'insert_bucket') {
      return new OfpError('OFPGMFC_INVALID_GROUP', 'weight outside a select group');
    }
    const live = b.watchPort !== OFPP_ANY || b.watchGroup !== OFPG_ANY;
    if ((gm.groupType === 'all' || gm.groupType === 'indirect') && live) {
      return new OfpError('OFPGMFC_WATCH_UNSUPPORTED');
    }
    if (gm.groupType === 'ff' && !live) {
      return new OfpError('OFPGMFC_INVALID_GROUP', 'fast failover bucket without watch');
    }
  }
  if (gm.command !== 'delete' && gm.groupId > OFPG_MAX) {
    return new OfpError('OFPGMFC_INVALID_GROUP');
  }
  return null;
}

function insertBuckets(old: readonly Bucket[], added: Bucket[], at: number): Bucket[] | OfpError {
  if (at <= OFPG15_BUCKET_MAX && !old.some((b) => b.bucketId === at)) {
    return new OfpError('OFPGMFC_UNKNOWN_BUCKET');
  }
  const ids = new Set<number>();
  for (const b of [...old, ...added]) {
    if (ids.has(b.bucketId)) return new OfpError('OFPGMFC_BUCKET_EXISTS');
    ids.add(b.bucketId);
  }
  if (at === OFPG15_BUCKET_FIRST) return [...added, ...old];
  if (at === OFPG15_BUCKET_LAST || at > OFPG15_BUCKET_MAX) return [...old, ...added];
  const i = old.findIndex((b) => b.bucketId === at);
  return [...old.slice(0, i + 1), ...added, ...old.slice(i + 1)];
}

function removeBuckets(old: readonly Bucket[], which: number): Bucket[] | OfpError {
  if (which === OFPG15_BUCKET_ALL) return [];
  if (which === OFPG15_BUCKET_FIRST) return old.slice(1);
  if (which === OFPG15_BUCKET_LAST) return old.slice(0, -1);
  const i = old.findIndex((b) => b.bucketId === which);
  if (i < 0) return new OfpError('OFPGMFC_UNKNOWN_BUCKET');
  return [...old.slice(0, i), ...old.slice(i + 1)];
}
