/*
 * Datapath actions (OVS_ACTION_ATTR_* of include/linux/openvswitch.h) as plain data, and
 * their text form exactly as OVS's lib/odp-util.c prints and parses it: what
 * `dpctl/dump-flows` shows after "actions:" and `ofproto/trace` under "Datapath actions:".
 *
 * A set action keeps its value and mask in flow-key layout (lib/flow/layout.ts) so that
 * execution reads plain 32-bit words, and formatting reuses the flow key's attribute printer.
 * An empty action list is "drop".
 */

import { FLOW_WORDS, VLAN_CFI } from '../../lib/flow/layout.ts';
import { formatMac, parseMac } from '../../lib/packet/addr.ts';
import { formatKeyAttrBody, KEY_ATTR_FIELDS, SCALAR_ATTRS } from './odp-key.ts';
import { parseKeyAttrBody } from './odp-key-parse.ts';
import { Cursor, OdpParseError, parseInteger } from './odp-parse.ts';

/** Key attributes a set()/masked set() may rewrite. */
export type SetAttr =
  | 'eth'
  | 'vlan'
  | 'mpls'
  | 'ipv4'
  | 'ipv6'
  | 'tcp'
  | 'udp'
  | 'sctp'
  | 'icmp'
  | 'icmpv6'
  | 'arp'
  | 'nd'
  | 'tunnel'
  | 'skb_mark'
  | 'skb_priority'
  | 'recirc_id'
  | 'dp_hash'
  | 'in_port'
  | 'ct_state'
  | 'ct_zone'
  | 'ct_mark'
  | 'ct_label';

const SET_ATTRS: ReadonlySet<string> = new Set<SetAttr>([
  'eth',
  'vlan',
  'mpls',
  'ipv4',
  'ipv6',
  'tcp',
  'udp',
  'sctp',
  'icmp',
  'icmpv6',
  'arp',
  'nd',
  'tunnel',
  'skb_mark',
  'skb_priority',
  'recirc_id',
  'dp_hash',
  'in_port',
  'ct_state',
  'ct_zone',
  'ct_mark',
  'ct_label',
]);

/** The payload of a userspace() action: what the upcall handler gets back. */
export type UserspaceCookie =
  | { readonly kind: 'userdata'; readonly data: Uint8Array }
  | { readonly kind: 'slow_path'; readonly reasons: number }
  | {
      readonly kind: 'controller';
      readonly reason: number;
      readonly dontSend: boolean;
      readonly continuation: boolean;
      readonly recircId: number;
      readonly ruleCookie: bigint;
      readonly controllerId: number;
      readonly maxLen: number;
    }
  | { readonly kind: 'sflow'; readonly vid: number; readonly pcp: number; readonly output: number }
  | {
      readonly kind: 'flow_sample';
      readonly probability: number;
      readonly collectorSetId: number;
      readonly obsDomainId: number;
      readonly obsPointId: number;
      readonly outputPort: number;
      readonly direction: 'default' | 'ingress' | 'egress';
    }
  | { readonly kind: 'ipfix'; readonly outputPort: number };

export interface CtAction {
  readonly type: 'ct';
  readonly commit: boolean;
  readonly forceCommit: boolean;
  readonly zone: number;
  readonly mark: readonly [number, number] | null;
  /** Value and mask, four words each, most significant first. */
  readonly label: { readonly value: readonly number[]; readonly mask: readonly number[] } | null;
  readonly helper: string | null;
  readonly timeout: string | null;
  /** The nat(...) clause as written (kept as text: conntrack is not executed here). */
  readonly nat: string | null;
}

export type OdpAction =
  | { readonly type: 'output'; readonly port: number }
  | { readonly type: 'lb_output'; readonly bond: number }
  | { readonly type: 'tnl_pop'; readonly port: number }
  | {
      readonly type: 'userspace';
      readonly pid: number;
      readonly cookie: UserspaceCookie | null;
      readonly actions: boolean;
      readonly tunnelOutPort: number | null;
    }
  | {
      readonly type: 'set';
      readonly attr: SetAttr;
      /** Values and mask in flow-key layout; only the attribute's fields are meaningful. */
      readonly key: Uint32Array;
      readonly mask: Uint32Array;
      /** OVS_ACTION_ATTR_SET_MASKED (true) or a whole-attribute OVS_ACTION_ATTR_SET. */
      readonly masked: boolean;
    }
  | { readonly type: 'push_vlan'; readonly tpid: number; readonly tci: number }
  | { readonly type: 'pop_vlan' }
  | { readonly type: 'push_mpls'; readonly lse: number; readonly ethType: number }
  /** OVS's add_mpls: push_mpls for packets that may have no Ethernet header. */
  | { readonly type: 'add_mpls'; readonly lse: number; readonly ethType: number }
  /** A tunnel push with its prebuilt header, kept as OVS's text (the tunnel ports build it). */
  | { readonly type: 'tnl_push'; readonly text: string }
  | { readonly type: 'pop_mpls'; readonly ethType: number }
  | {
      readonly type: 'push_eth';
      readonly src: readonly [number, number];
      readonly dst: readonly [number, number];
    }
  | { readonly type: 'pop_eth' }
  | {
      readonly type: 'sample';
      /** Probability as OVS keeps it: out of UINT32_MAX. */
      readonly probability: number;
      readonly actions: readonly OdpAction[];
    }
  | { readonly type: 'recirc'; readonly id: number }
  | { readonly type: 'hash'; readonly alg: 'l4' | 'sym_l4'; readonly basis: number }
  | { readonly type: 'clone'; readonly actions: readonly OdpAction[] }
  | { readonly type: 'trunc'; readonly maxLen: number }
  | { readonly type: 'meter'; readonly id: number }
  | CtAction
  | { readonly type: 'ct_clear' }
  | {
      readonly type: 'check_pkt_len';
      readonly size: number;
      readonly gt: readonly OdpAction[];
      readonly le: readonly OdpAction[];
    };

export type OdpActions = readonly OdpAction[];

export const UINT32_MAX = 0xffffffff;

/* ------------------------------------------------------------------------------------ */
/* Formatting. */

export interface OdpActionFormatOptions {
  /** Names datapath ports, as `dpctl/dump-flows -m` and `ofproto/trace` with names do. */
  readonly portName?: (port: number) => string | undefined;
}

const SLOW_PATH_NAMES = ['cfm', 'bfd', 'lacp', 'stp', 'lldp', 'action', 'match'];

function port(p: number, o?: OdpActionFormatOptions): string {
  return o?.portName?.(p) ?? String(p >>> 0);
}

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function formatMplsLse(lse: number): string {
  return `label=${lse >>> 12},tc=${(lse >>> 9) & 7},ttl=${lse & 0xff},bos=${(lse >>> 8) & 1}`;
}

function formatTci(tci: number): string {
  const parts = [`vid=${tci & 0xfff}`, `pcp=${(tci >>> 13) & 7}`];
  if (!(tci & VLAN_CFI)) parts.push('cfi=0');
  return parts.join(',');
}

function formatCookie(c: UserspaceCookie, o?: OdpActionFormatOptions): string {
  switch (c.kind) {
    case 'userdata':
      return `userdata(${hexBytes(c.data)})`;
    case 'slow_path': {
      const names: string[] = [];
      let bad = 0;
      for (let i = 0; i < 32; i++) {
        if (!(c.reasons & (1 << i))) continue;
        if (SLOW_PATH_NAMES[i]) names.push(SLOW_PATH_NAMES[i]);
        else bad |= 1 << i;
      }
      if (bad) names.push(`0x${(bad >>> 0).toString(16)}`);
      return `slow_path(${names.length ? names.join(',') : '0'})`;
    }
    case 'controller':
      return (
        `controller(reason=${c.reason},dont_send=${c.dontSend ? 1 : 0},continuation=${c.continuation ? 1 : 0},` +
        `recirc_id=${c.recircId},rule_cookie=${c.ruleCookie === 0n ? '0' : `0x${c.ruleCookie.toString(16)}`},` +
        `controller_id=${c.controllerId},max_len=${c.maxLen})`
      );
    case 'sflow':
      return `sFlow(vid=${c.vid},pcp=${c.pcp},output=${c.output})`;
    case 'flow_sample':
      return (
        `flow_sample(probability=${c.probability},collector_set_id=${c.collectorSetId},` +
        `obs_domain_id=${c.obsDomainId},obs_point_id=${c.obsPointId},output_port=${port(c.outputPort, o)}` +
        `${c.direction === 'default' ? '' : `,${c.direction}`})`
      );
    case 'ipfix':
      return `ipfix(output_port=${port(c.outputPort, o)})`;
  }
}

function formatU128(w: readonly number[]): string {
  const s = w
    .map((x) => (x >>> 0).toString(16).padStart(8, '0'))
    .join('')
    .replace(/^0+/, '');
  // As OVS's ds_put_hex: a bare 0 when all bytes are zero.
  return s === '' ? '0' : `0x${s}`;
}

function formatCt(a: CtAction): string {
  const parts: string[] = [];
  if (a.commit) parts.push('commit');
  if (a.forceCommit) parts.push('force_commit');
  if (a.zone) parts.push(`zone=${a.zone}`);
  const hx = (v: number): string => (v === 0 ? '0' : `0x${(v >>> 0).toString(16)}`);
  if (a.mark) parts.push(`mark=${hx(a.mark[0])}/${hx(a.mark[1])}`);
  if (a.label) parts.push(`label=${formatU128(a.label.value)}/${formatU128(a.label.mask)}`);
  if (a.helper !== null) parts.push(`helper=${a.helper}`);
  if (a.timeout !== null) parts.push(`timeout=${a.timeout}`);
  if (a.nat !== null) parts.push(a.nat);
  return parts.length ? `ct(${parts.join(',')})` : 'ct';
}

/** Formats one action. */
export function formatOdpAction(a: OdpAction, o?: OdpActionFormatOptions): string {
  switch (a.type) {
    case 'output':
      return port(a.port, o);
    case 'lb_output':
      return `lb_output(${a.bond})`;
    case 'tnl_pop':
      return `tnl_pop(${port(a.port, o)})`;
    case 'userspace': {
      let s = `userspace(pid=${a.pid >>> 0}`;
      if (a.cookie) s += `,${formatCookie(a.cookie, o)}`;
      if (a.actions) s += ',actions';
      if (a.tunnelOutPort !== null) s += `,tunnel_out_port=${port(a.tunnelOutPort, o)}`;
      return `${s})`;
    }
    case 'set':
      // A whole-attribute set prints every field (OVS formats it verbosely, with no mask).
      return `set(${a.attr}(${formatKeyAttrBody(a.attr, a.key, a.masked || a.attr === 'tunnel' ? a.mask : null, !a.masked && a.attr !== 'tunnel')}))`;
    case 'push_vlan':
      return `push_vlan(${a.tpid !== 0x8100 ? `tpid=0x${a.tpid.toString(16).padStart(4, '0')},` : ''}${formatTci(a.tci)})`;
    case 'pop_vlan':
      return 'pop_vlan';
    case 'push_mpls':
    case 'add_mpls':
      return `${a.type}(${formatMplsLse(a.lse)},eth_type=0x${a.ethType.toString(16)})`;
    case 'tnl_push':
      return `tnl_push(${a.text})`;
    case 'pop_mpls':
      return `pop_mpls(eth_type=0x${a.ethType.toString(16)})`;
    case 'push_eth':
      return `push_eth(src=${formatMac(a.src[0], a.src[1])},dst=${formatMac(a.dst[0], a.dst[1])})`;
    case 'pop_eth':
      return 'pop_eth';
    case 'sample':
      return `sample(sample=${((100 * a.probability) / UINT32_MAX).toFixed(1)}%,actions(${formatOdpActions(a.actions, o)}))`;
    case 'recirc':
      return `recirc(0x${(a.id >>> 0).toString(16)})`;
    case 'hash':
      return `hash(${a.alg}(${a.basis >>> 0}))`;
    case 'clone':
      return `clone(${formatOdpActions(a.actions, o)})`;
    case 'trunc':
      return `trunc(${a.maxLen >>> 0})`;
    case 'meter':
      return `meter(${a.id >>> 0})`;
    case 'ct':
      return formatCt(a);
    case 'ct_clear':
      return 'ct_clear';
    case 'check_pkt_len':
      return `check_pkt_len(size=${a.size},gt(${formatOdpActions(a.gt, o)}),le(${formatOdpActions(a.le, o)}))`;
  }
}

/** Formats an action list as OVS's format_odp_actions() does ("drop" when empty). */
export function formatOdpActions(actions: OdpActions, o?: OdpActionFormatOptions): string {
  if (actions.length === 0) return 'drop';
  let s = '';
  for (let i = 0; i < actions.length; i++) {
    if (i) s += ',';
    s += formatOdpAction(actions[i], o);
  }
  return s;
}

/* ------------------------------------------------------------------------------------ */
/* Constructors (for translation code and tests). */

export function output(port: number): OdpAction {
  return { type: 'output', port };
}

/** A set action over `attr` from field values given as OVS text, e.g. set('ipv4', 'src=1.2.3.4'). */
export function setAction(attr: SetAttr, body: string): OdpAction {
  return parseOdpActions(`set(${attr}(${body}))`)[0];
}

/** The probability (out of UINT32_MAX) OVS stores for a sample percentage. */
export function sampleProbability(percent: number): number {
  return Math.min(UINT32_MAX, Math.floor(UINT32_MAX * (percent / 100) + 0.5));
}

/* ------------------------------------------------------------------------------------ */
/* Parsing. */

export interface OdpActionParseOptions {
  readonly portNo?: (name: string) => number | undefined;
}

function parsePort(t: string, c: Cursor, o?: OdpActionParseOptions): number {
  const n = parseInteger(t);
  if (n !== null) return n >>> 0;
  const p = o?.portNo?.(t);
  if (p === undefined) c.fail(`unknown port "${t}"`);
  return p;
}

/* Body fields "k=v,k2=v2" into a map (values may contain parentheses). */
function kvList(body: string): Map<string, string> {
  const c: Cursor = new Cursor(body);
  const m = new Map<string, string>();
  while (!c.done) {
    const k = c.token('=,');
    let v = '';
    if (c.eat('=')) v = c.token(',');
    m.set(k, v);
    if (!c.eat(',')) break;
  }
  return m;
}

function num(m: Map<string, string>, k: string, c: Cursor, dflt?: number): number {
  const t = m.get(k);
  if (t === undefined) {
    if (dflt !== undefined) return dflt;
    c.fail(`missing ${k}`);
  }
  const n = parseInteger(t);
  if (n === null) c.fail(`bad ${k} "${t}"`);
  return n;
}

function parseCookie(c: Cursor, o?: OdpActionParseOptions): UserspaceCookie {
  const name = c.ident();
  c.expect('(');
  const body = c.token('');
  c.expect(')');
  const m = kvList(body);
  switch (name) {
    case 'userdata': {
      if (!/^([0-9a-fA-F]{2})*$/.test(body)) c.fail(`bad userdata "${body}"`);
      // OVS pads user data to at least the 8 bytes of its original cookie.
      const data = new Uint8Array(Math.max(8, body.length / 2));
      for (let i = 0; i < body.length / 2; i++)
        data[i] = Number.parseInt(body.slice(2 * i, 2 * i + 2), 16);
      return { kind: 'userdata', data };
    }
    case 'slow_path': {
      let reasons = 0;
      for (const r of body === '' ? [] : body.split(',')) {
        const i = SLOW_PATH_NAMES.indexOf(r);
        if (i >= 0) reasons |= 1 << i;
        else {
          const n = parseInteger(r);
          if (n === null) c.fail(`unknown slow path reason "${r}"`);
          reasons |= n;
        }
      }
      return { kind: 'slow_path', reasons };
    }
    case 'controller': {
      const ck = m.get('rule_cookie') ?? '0';
      if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(ck)) c.fail(`bad rule_cookie "${ck}"`);
      return {
        kind: 'controller',
        reason: num(m, 'reason', c),
        dontSend: num(m, 'dont_send', c, 0) !== 0,
        continuation: num(m, 'continuation', c, 0) !== 0,
        recircId: num(m, 'recirc_id', c, 0),
        ruleCookie: BigInt(ck),
        controllerId: num(m, 'controller_id', c, 0),
        maxLen: num(m, 'max_len', c, 0),
      };
    }
    case 'sFlow':
      return {
        kind: 'sflow',
        vid: num(m, 'vid', c),
        pcp: num(m, 'pcp', c),
        output: num(m, 'output', c),
      };
    case 'flow_sample':
      return {
        kind: 'flow_sample',
        probability: num(m, 'probability', c),
        collectorSetId: num(m, 'collector_set_id', c),
        obsDomainId: num(m, 'obs_domain_id', c),
        obsPointId: num(m, 'obs_point_id', c),
        outputPort: m.has('output_port') ? parsePort(m.get('output_port') ?? '', c, o) : 0xffffffff,
        direction: m.has('ingress') ? 'ingress' : m.has('egress') ? 'egress' : 'default',
      };
    case 'ipfix':
      return { kind: 'ipfix', outputPort: parsePort(m.get('output_port') ?? '', c, o) };
  }
  return c.fail(`unknown userspace cookie "${name}"`);
}

function parseUserspace(c: Cursor, o?: OdpActionParseOptions): OdpAction {
  c.expect('pid=');
  const pid = parseInteger(c.token(','));
  if (pid === null) c.fail('bad pid');
  let cookie: UserspaceCookie | null = null;
  let actions = false;
  let tunnelOutPort: number | null = null;
  while (c.eat(',')) {
    if (c.eat('actions')) actions = true;
    else if (c.eat('tunnel_out_port=')) tunnelOutPort = parsePort(c.token(','), c, o);
    else cookie = parseCookie(c, o);
  }
  c.expect(')');
  // With no user data OVS still sends its whole (zeroed, untyped) 48-byte cookie.
  if (cookie === null) cookie = { kind: 'userdata', data: new Uint8Array(48) };
  return { type: 'userspace', pid, cookie, actions, tunnelOutPort };
}

function parseSet(c: Cursor, o?: OdpActionParseOptions): OdpAction {
  const attr = c.ident();
  if (!SET_ATTRS.has(attr)) c.fail(`cannot set "${attr}"`);
  c.expect('(');
  const body = c.token('');
  c.expect(')');
  c.expect(')');
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  if (attr === 'vlan') {
    // set(vlan(...)) without cfi leaves the CFI bit as it is.
    parseKeyAttrBody('vlan', body, key, mask);
  } else {
    parseKeyAttrBody(attr, body, key, mask, o?.portNo);
  }
  return { type: 'set', attr: attr as SetAttr, key, mask, masked: !wholeAttrExact(attr, mask) };
}

/* Whether the mask covers the whole attribute (then OVS uses a plain set). */
function wholeAttrExact(attr: string, mask: Uint32Array): boolean {
  if (attr === 'tunnel') return true;
  const fields = KEY_ATTR_FIELDS[attr];
  if (fields !== undefined) {
    for (const f of fields) {
      const n = f.fmt === 'mac' || f.fmt === 'x64' ? 2 : f.fmt === 'ipv6' ? 4 : 1;
      if (n === 1) {
        const ones = f.bits >= 32 ? 0xffffffff : 2 ** f.bits - 1;
        if (((mask[f.word] >>> f.shift) & ones) >>> 0 !== ones) return false;
      } else {
        for (let i = 0; i < n; i++) {
          const full = f.fmt === 'mac' && i === 0 ? 0xffff : 0xffffffff;
          if ((mask[f.word + i] & full) >>> 0 !== full) return false;
        }
      }
    }
    return true;
  }
  if (attr === 'vlan') return (mask[69] & 0xffff) === 0xffff;
  if (attr === 'mpls') return mask[71] >>> 0 === 0xffffffff;
  if (attr === 'ct_label')
    return (
      mask[8] === 0xffffffff &&
      mask[9] === 0xffffffff &&
      mask[10] === 0xffffffff &&
      mask[11] === 0xffffffff
    );
  const s = SCALAR_ATTRS[attr];
  if (s === undefined) return false;
  const ones = s.bits >= 32 ? 0xffffffff : 2 ** s.bits - 1;
  return (mask[s.word] & ones) >>> 0 === ones;
}

function parseCt(c: Cursor): CtAction {
  let commit = false;
  let forceCommit = false;
  let zone = 0;
  let mark: [number, number] | null = null;
  let label: { value: number[]; mask: number[] } | null = null;
  let helper: string | null = null;
  let timeout: string | null = null;
  let nat: string | null = null;
  if (c.eat('(')) {
    while (!c.done && c.peek() !== ')') {
      const t = c.token(',');
      const eq = t.indexOf('=');
      const k = eq >= 0 ? t.slice(0, eq) : t;
      const v = eq >= 0 ? t.slice(eq + 1) : '';
      if (t === 'commit') commit = true;
      else if (t === 'force_commit') forceCommit = true;
      else if (k === 'zone') {
        const z = parseInteger(v);
        if (z === null) c.fail(`bad zone "${v}"`);
        zone = z & 0xffff;
      } else if (k === 'mark') {
        const [vs, ms] = v.split('/');
        const mv = parseInteger(vs);
        const mm = ms !== undefined ? parseInteger(ms) : 0xffffffff;
        if (mv === null || mm === null) c.fail(`bad mark "${v}"`);
        mark = [mv >>> 0, mm >>> 0];
      } else if (k === 'label') {
        const [vs, ms] = v.split('/');
        const w = (x: string): number[] => {
          const h = x.replace(/^0x/i, '').padStart(32, '0').slice(-32);
          if (!/^[0-9a-f]+$/i.test(h)) c.fail(`bad label "${v}"`);
          return [0, 1, 2, 3].map((i) => Number.parseInt(h.slice(i * 8, i * 8 + 8), 16) >>> 0);
        };
        label = {
          value: w(vs),
          mask: ms !== undefined ? w(ms) : [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        };
      } else if (k === 'helper') helper = v;
      else if (k === 'timeout') timeout = v;
      else if (t === 'nat' || t.startsWith('nat(')) nat = t;
      else c.fail(`unknown ct option "${t}"`);
      if (!c.eat(',')) break;
    }
    c.expect(')');
  }
  return { type: 'ct', commit, forceCommit, zone, mark, label, helper, timeout, nat };
}

function parseAction(c: Cursor, o?: OdpActionParseOptions): OdpAction {
  const ch = c.peek();
  if (ch >= '0' && ch <= '9') {
    const t = c.token(',');
    const n = parseInteger(t);
    if (n === null) c.fail(`bad port "${t}"`);
    return { type: 'output', port: n >>> 0 };
  }
  const name = c.ident();
  const arg = (): string => {
    c.expect('(');
    const t = c.token('');
    c.expect(')');
    return t;
  };
  const intArg = (): number => {
    const t = arg();
    const n = parseInteger(t);
    if (n === null) c.fail(`bad ${name} argument "${t}"`);
    return n;
  };
  switch (name) {
    case 'pop_vlan':
      return { type: 'pop_vlan' };
    case 'pop_eth':
      return { type: 'pop_eth' };
    case 'ct_clear':
      return { type: 'ct_clear' };
    case 'ct':
      return parseCt(c);
    case 'userspace':
      c.expect('(');
      return parseUserspace(c, o);
    case 'set':
      c.expect('(');
      return parseSet(c, o);
    case 'trunc':
      return { type: 'trunc', maxLen: intArg() >>> 0 };
    case 'meter':
      return { type: 'meter', id: intArg() >>> 0 };
    case 'recirc':
      return { type: 'recirc', id: intArg() >>> 0 };
    case 'lb_output':
      return { type: 'lb_output', bond: intArg() >>> 0 };
    case 'tnl_pop':
      return { type: 'tnl_pop', port: parsePort(arg(), c, o) };
    case 'hash': {
      c.expect('(');
      const alg = c.ident();
      if (alg !== 'l4' && alg !== 'sym_l4') c.fail(`unknown hash algorithm "${alg}"`);
      const basis = intArg();
      c.expect(')');
      return { type: 'hash', alg, basis: basis >>> 0 };
    }
    case 'push_vlan': {
      const m = kvList(arg());
      const tci =
        (num(m, 'vid', c) & 0xfff) |
        ((num(m, 'pcp', c) & 7) << 13) |
        (num(m, 'cfi', c, 1) ? VLAN_CFI : 0);
      return { type: 'push_vlan', tpid: num(m, 'tpid', c, 0x8100) & 0xffff, tci };
    }
    case 'tnl_push':
      return { type: 'tnl_push', text: arg() };
    case 'add_mpls':
    case 'push_mpls': {
      const m = kvList(arg());
      const lse =
        ((num(m, 'label', c) & 0xfffff) << 12) |
        ((num(m, 'tc', c) & 7) << 9) |
        ((num(m, 'bos', c) & 1) << 8) |
        (num(m, 'ttl', c) & 0xff);
      return { type: name, lse: lse >>> 0, ethType: num(m, 'eth_type', c) & 0xffff };
    }
    case 'pop_mpls': {
      const m = kvList(arg());
      return { type: 'pop_mpls', ethType: num(m, 'eth_type', c) & 0xffff };
    }
    case 'push_eth': {
      const m = kvList(arg());
      const src = parseMac(m.get('src') ?? '');
      const dst = parseMac(m.get('dst') ?? '');
      if (!src || !dst) c.fail('bad push_eth addresses');
      return { type: 'push_eth', src, dst };
    }
    case 'sample': {
      c.expect('(sample=');
      const pct = c.token('%');
      c.expect('%,actions(');
      const p = Number(pct);
      if (!/^[0-9.]+$/.test(pct) || !(p >= 0 && p <= 100))
        c.fail(`bad sample probability "${pct}"`);
      const actions = parseList(c, o);
      c.expect('))');
      return { type: 'sample', probability: sampleProbability(p), actions };
    }
    case 'clone': {
      c.expect('(');
      const actions = parseList(c, o);
      c.expect(')');
      return { type: 'clone', actions };
    }
    case 'check_pkt_len': {
      c.expect('(size=');
      const size = parseInteger(c.token(','));
      if (size === null) c.fail('bad check_pkt_len size');
      c.expect(',gt(');
      const gt = parseList(c, o);
      c.expect('),le(');
      const le = parseList(c, o);
      c.expect('))');
      return { type: 'check_pkt_len', size: size & 0xffff, gt, le };
    }
    case 'drop':
      return c.fail('"drop" must be the whole action list');
  }
  if (name !== '' && o?.portNo) {
    const p = o.portNo(name);
    if (p !== undefined) return { type: 'output', port: p };
  }
  return c.fail(`unknown action "${name || c.s.slice(c.pos, c.pos + 20)}"`);
}

/* A comma-separated list up to the closing parenthesis (not consumed). "drop" = empty. */
function parseList(c: Cursor, o?: OdpActionParseOptions): OdpAction[] {
  const out: OdpAction[] = [];
  c.skipSpace();
  if (c.s.startsWith('drop', c.pos) && /^drop\s*(\)|$)/.test(c.s.slice(c.pos))) {
    c.pos += 4;
    c.skipSpace();
    return out;
  }
  while (!c.done && c.peek() !== ')') {
    c.skipSpace();
    out.push(parseAction(c, o));
    c.skipSpace();
    if (!c.eat(',')) break;
  }
  return out;
}

/**
 * Parses a datapath action list as OVS's odp_actions_from_string() does (also accepting
 * push_mpls, pop_mpls, hash and push_eth/pop_eth, which OVS prints but cannot read back).
 * Throws OdpParseError.
 */
export function parseOdpActions(text: string, o?: OdpActionParseOptions): OdpAction[] {
  const c: Cursor = new Cursor(text.trim());
  const out = parseList(c, o);
  if (!c.done) throw new OdpParseError(`unexpected "${c.s.slice(c.pos, c.pos + 20)}"`, c.pos);
  return out;
}
