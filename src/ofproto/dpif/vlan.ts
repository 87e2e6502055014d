/*
 * 802.1Q port VLAN configuration and the rules NORMAL applies with it (OVS's vlan_mode, tag,
 * trunks, cvlans and other_config qinq-ethtype / priority-tags, as ovs-vswitchd.conf.db(5)
 * documents them for the Port table).
 *
 * Inside the bridge a packet carries an "xvlan": up to two VLAN headers, outermost first.
 * Each header is one unsigned number laid out like a flow key VLAN word without the CFI bit:
 * TPID in bits 31..16, PCP in bits 15..13, VID in bits 11..0; 0 means "no header". TPID 0
 * with a non-zero VID is a header whose TPID was never set (OVS's xvlan_push_uninit), which
 * goes out as 802.1Q. Two numbers, no objects: translation of a packet allocates nothing here.
 */

import {
  ETH_TYPE_VLAN_8021AD,
  ETH_TYPE_VLAN_8021Q,
  VLAN_CFI,
  VLAN_PCP_MASK,
  VLAN_VID_MASK,
} from '../../lib/flow/layout.ts';

export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged' | 'dot1q-tunnel';

/** other_config:priority-tags. */
export type PriorityTagsMode = 'never' | 'if-nonzero' | 'always';

/** 4096 bits, one per VID. */
export type VlanBitmap = Uint32Array;

/** A port's VLAN behaviour, resolved as ofproto-dpif keeps it for a bundle. */
export interface PortVlan {
  readonly mode: VlanMode;
  /** The port's VLAN (tag): -1 in trunk mode, 0 when a non-trunk mode has no valid tag. */
  readonly vlan: number;
  /** VLANs trunked; null = all. Unused in access and dot1q-tunnel modes. */
  readonly trunks: VlanBitmap | null;
  /** Customer VLANs a dot1q-tunnel port admits; null = all. */
  readonly cvlans: VlanBitmap | null;
  /** TPID of the outer tag a dot1q-tunnel port pushes (0x88a8 unless qinq-ethtype=802.1q). */
  readonly qinqEthtype: number;
  readonly priorityTags: PriorityTagsMode;
}

/** The Port columns that decide VLAN behaviour, as plain values read from the database. */
export interface PortVlanColumns {
  readonly tag?: number;
  readonly trunks?: readonly number[];
  readonly cvlans?: readonly number[];
  readonly vlanMode?: string;
  readonly otherConfig?: ReadonlyMap<string, string>;
}

/** A trunk port carrying every VLAN: what a port with no VLAN columns set is. */
export const TRUNK_ALL: PortVlan = {
  mode: 'trunk',
  vlan: -1,
  trunks: null,
  cvlans: null,
  qinqEthtype: ETH_TYPE_VLAN_8021AD,
  priorityTags: 'never',
};

export function newVlanBitmap(): VlanBitmap {
  return new Uint32Array(128);
}

export function bitmapHas(b: VlanBitmap, vid: number): boolean {
  return (b[vid >>> 5] & (1 << (vid & 31))) !== 0;
}

export function bitmapSet(b: VlanBitmap, vid: number, on: boolean): void {
  if (on) b[vid >>> 5] |= 1 << (vid & 31);
  else b[vid >>> 5] &= ~(1 << (vid & 31));
}

/**
 * A bitmap of the listed VIDs; null (meaning "all") for an empty list or one with no VID in
 * 0..4095, as OVS's vlan_bitmap_from_array treats them.
 */
export function vlanBitmapFromArray(vids: readonly number[] | undefined): VlanBitmap | null {
  if (!vids || vids.length === 0) return null;
  const b = newVlanBitmap();
  let n = 0;
  for (const v of vids) {
    if (Number.isInteger(v) && v >= 0 && v < 4096 && !bitmapHas(b, v)) {
      bitmapSet(b, v, true);
      n++;
    }
  }
  return n ? b : null;
}

/** The VIDs set in a bitmap, ascending. */
export function vlanBitmapToArray(b: VlanBitmap): number[] {
  const out: number[] = [];
  for (let v = 0; v < 4096; v++) if (bitmapHas(b, v)) out.push(v);
  return out;
}

function parseVlanMode(s: string | undefined, tag: number): VlanMode {
  switch (s) {
    case 'access':
    case 'trunk':
    case 'native-tagged':
    case 'native-untagged':
    case 'dot1q-tunnel':
      return s;
    case undefined:
    case '':
      // No vlan_mode: a valid tag makes an access port (trunks then ignored), else trunk.
      return tag >= 0 ? 'access' : 'trunk';
    default:
      // The schema forbids other values; ovs-vswitchd falls back to trunk.
      return 'trunk';
  }
}

/**
 * Resolves the Port columns into the bundle settings, as ovs-vswitchd's port_configure and
 * ofproto-dpif's bundle_set do together (so native modes always trunk their own VLAN and
 * never VLAN 0).
 */
export function portVlanFromColumns(c: PortVlanColumns): PortVlan {
  const tag =
    c.tag !== undefined && Number.isInteger(c.tag) && c.tag >= 0 && c.tag <= 4095 ? c.tag : -1;
  const mode = parseVlanMode(c.vlanMode, tag);
  const vlan = mode === 'trunk' ? -1 : Math.max(tag, 0);
  const qe = c.otherConfig?.get('qinq-ethtype') ?? '';
  const pt = c.otherConfig?.get('priority-tags') ?? '';
  const priorityTags: PriorityTagsMode =
    pt === 'if-nonzero' || pt === 'true' ? 'if-nonzero' : pt === 'always' ? 'always' : 'never';
  let trunks: VlanBitmap | null = null;
  let cvlans: VlanBitmap | null = null;
  const given = vlanBitmapFromArray(c.trunks);
  switch (mode) {
    case 'access':
      break;
    case 'trunk':
      trunks = given;
      break;
    case 'native-tagged':
    case 'native-untagged':
      if (vlan !== 0 && (!given || !bitmapHas(given, vlan) || bitmapHas(given, 0))) {
        trunks = given ? given.slice() : newVlanBitmap().fill(0xffffffff);
        bitmapSet(trunks, vlan, true);
        bitmapSet(trunks, 0, false);
      } else {
        trunks = given;
      }
      break;
    case 'dot1q-tunnel':
      cvlans = vlanBitmapFromArray(c.cvlans);
      break;
  }
  return {
    mode,
    vlan,
    trunks,
    cvlans,
    qinqEthtype: qe === '802.1q' ? ETH_TYPE_VLAN_8021Q : ETH_TYPE_VLAN_8021AD,
    priorityTags,
  };
}

function bitmapEquals(a: VlanBitmap | null, b: VlanBitmap | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two settings behave the same. When a port's settings change, ofproto-dpif forgets
 * the MACs learned on it (MacLearning.flushPort) and revalidates its flows.
 */
export function portVlanEquals(a: PortVlan, b: PortVlan): boolean {
  return (
    a.mode === b.mode &&
    a.vlan === b.vlan &&
    a.qinqEthtype === b.qinqEthtype &&
    a.priorityTags === b.priorityTags &&
    bitmapEquals(a.trunks, b.trunks) &&
    bitmapEquals(a.cvlans, b.cvlans)
  );
}

/* ------------------------------------------------------------------------------------ */
/* xvlan headers. */

export function hdrVid(h: number): number {
  return h & VLAN_VID_MASK;
}

export function hdrPcp(h: number): number {
  return h & VLAN_PCP_MASK;
}

export function hdrTpid(h: number): number {
  return h >>> 16;
}

export function makeHdr(tpid: number, vid: number, pcpBits: number): number {
  return ((tpid << 16) | (pcpBits & VLAN_PCP_MASK) | (vid & VLAN_VID_MASK)) >>> 0;
}

function isVlanTpid(tpid: number): boolean {
  return tpid === ETH_TYPE_VLAN_8021Q || tpid === ETH_TYPE_VLAN_8021AD;
}

/**
 * The xvlan of a packet from its flow key VLAN words (OVS's xvlan_extract): headers count
 * while their TPID is a VLAN type and their CFI bit is set.
 */
export function xvlanExtract(word0: number, word1: number, out: Uint32Array): void {
  out[0] = 0;
  out[1] = 0;
  if (!isVlanTpid(word0 >>> 16) || !(word0 & VLAN_CFI)) return;
  out[0] = (word0 & ~VLAN_CFI) >>> 0;
  if (!isVlanTpid(word1 >>> 16) || !(word1 & VLAN_CFI)) return;
  out[1] = (word1 & ~VLAN_CFI) >>> 0;
}

/** Whether the port trunks `vid` (never for access ports). */
export function trunksVlan(p: PortVlan, vid: number): boolean {
  return p.mode !== 'access' && (p.trunks === null || bitmapHas(p.trunks, vid));
}

export function allowsCvlan(p: PortVlan, vid: number): boolean {
  return p.cvlans === null || bitmapHas(p.cvlans, vid);
}

/** Whether a packet whose internal xvlan is (v0, v1) may leave on this port. */
export function includesVlan(p: PortVlan, v0: number, v1: number): boolean {
  switch (p.mode) {
    case 'access':
      return hdrVid(v0) === p.vlan && hdrVid(v1) === 0;
    case 'trunk':
    case 'native-untagged':
    case 'native-tagged':
      return trunksVlan(p, hdrVid(v0));
    case 'dot1q-tunnel':
      return hdrVid(v0) === p.vlan && allowsCvlan(p, hdrVid(v1));
  }
}

/** Why a VID may not enter, or null when it may (OVS's input_vid_is_valid). */
export type IngressRefusal = 'tagged-on-access' | 'not-trunked' | 'cvlan-excluded';

export function inputVidRefusal(p: PortVlan, vid: number): IngressRefusal | null {
  switch (p.mode) {
    case 'access':
      return vid ? 'tagged-on-access' : null;
    case 'native-untagged':
    case 'native-tagged':
      if (!vid) return null;
      return trunksVlan(p, vid) ? null : 'not-trunked';
    case 'trunk':
      return trunksVlan(p, vid) ? null : 'not-trunked';
    case 'dot1q-tunnel':
      return allowsCvlan(p, vid) ? null : 'cvlan-excluded';
  }
}

/**
 * The xvlan inside the bridge for a packet that arrived with xvlan (in0, in1) on port `p`
 * (OVS's xvlan_input_translate). Writes out[0], out[1].
 */
export function xvlanInputTranslate(p: PortVlan, in0: number, in1: number, out: Uint32Array): void {
  const tpid0 = hdrTpid(in0) || ETH_TYPE_VLAN_8021Q;
  switch (p.mode) {
    case 'access':
      out[0] = makeHdr(tpid0, p.vlan, hdrPcp(in0));
      out[1] = 0;
      return;
    case 'trunk':
      out[0] = in0;
      out[1] = in1;
      return;
    case 'native-untagged':
    case 'native-tagged':
      out[0] = hdrVid(in0) ? in0 : makeHdr(tpid0, p.vlan, hdrPcp(in0));
      out[1] = in1;
      return;
    case 'dot1q-tunnel':
      // The customer's headers move in by one; the outer one is the port's, with PCP 0.
      out[1] = in0;
      out[0] = makeHdr(p.qinqEthtype, p.vlan, 0);
      return;
  }
}

/**
 * The xvlan a packet carries out of port `p` (OVS's xvlan_output_translate). Writes out[0],
 * out[1].
 */
export function xvlanOutputTranslate(p: PortVlan, v0: number, v1: number, out: Uint32Array): void {
  switch (p.mode) {
    case 'access':
      out[0] = 0;
      out[1] = 0;
      return;
    case 'trunk':
    case 'native-tagged':
      out[0] = v0;
      out[1] = v1;
      return;
    case 'native-untagged':
      if (hdrVid(v0) === p.vlan) {
        out[0] = v1;
        out[1] = 0;
      } else {
        out[0] = v0;
        out[1] = v1;
      }
      return;
    case 'dot1q-tunnel':
      out[0] = v1;
      out[1] = 0;
      return;
  }
}

/**
 * Flow key VLAN words for an egress xvlan (OVS's xvlan_put): a header is present when its
 * VID or PCP is non-zero, or, with priority-tags=always, when its TPID is set. Returns the
 * word (TPID, TCI with CFI) or 0 for an absent header.
 */
export function xvlanPutWord(h: number, priorityTags: PriorityTagsMode): number {
  const tci = h & (VLAN_VID_MASK | VLAN_PCP_MASK);
  const tpid = hdrTpid(h);
  if (tci || (priorityTags === 'always' && tpid)) {
    return (((tpid || ETH_TYPE_VLAN_8021Q) << 16) | tci | VLAN_CFI) >>> 0;
  }
  return 0;
}
