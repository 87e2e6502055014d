/*
 * Parsing datapath flow keys with masks (`in_port(1),eth(src=…),eth_type(0x0800),
 * ipv4(src=10.0.0.0/255.0.0.0,frag=no)`) as OVS's odp_flow_from_string() reads them for
 * `dpctl/add-flow` and `netdev-dummy/receive`, and the bodies of set() actions. Control path.
 */

import { getFlowVlanLimit } from '../../lib/flow/extract.ts';
import {
  ETH_TYPE_VLAN_8021Q,
  FLOW_WORDS,
  VLAN_CFI,
  W_CT_LABEL,
  W_CT_STATE,
  W_DL_TYPE,
  W_MPLS0,
  W_PACKET_TYPE,
  W_RECIRC_ID,
  W_TCP_FLAGS,
  W_TUN_FLAGS,
  W_VLAN0,
} from '../../lib/flow/layout.ts';
import { CT_STATE_NAMES, TCP_FLAG_NAMES, TUN_FLAG_NAMES } from '../../lib/flow/match-format.ts';
import { parseIpv4, parseIpv6, parseMac } from '../../lib/packet/addr.ts';
import {
  fullWords,
  isVlanType,
  KEY_ATTR_FIELDS,
  ones,
  SCALAR_ATTRS,
  type SubField,
  setWords,
} from './odp-key.ts';
import { Cursor, parseInteger } from './odp-parse.ts';

function parseFlags(names: readonly string[], s: string): { v: number; m: number } | null {
  const full = (1 << names.length) - 1;
  const num = /^([0-9a-fx]+)(?:\/([0-9a-fx]+))?$/i.exec(s);
  if (num) {
    const v = parseInteger(num[1]);
    const m = num[2] !== undefined ? parseInteger(num[2]) : 0xffffffff;
    if (v === null || m === null) return null;
    return { v: v >>> 0, m: m >>> 0 };
  }
  if (s.startsWith('+') || s.startsWith('-')) {
    let v = 0;
    let m = 0;
    const re = /([+-])([a-z0-9[\]]+)/gy;
    let end = 0;
    for (;;) {
      const x = re.exec(s);
      if (x === null) break;
      const i = names.indexOf(x[2]);
      if (i < 0) return null;
      m |= 1 << i;
      if (x[1] === '+') v |= 1 << i;
      end = re.lastIndex;
    }
    if (end !== s.length) return null;
    return { v, m };
  }
  let v = 0;
  for (const p of s.split('|')) {
    const i = names.indexOf(p);
    if (i < 0) return null;
    v |= 1 << i;
  }
  return { v, m: full };
}

function parseSubFieldValue(f: SubField, s: string, c: Cursor): { v: number[]; m: number[] } {
  const slash = f.fmt === 'ipv6' ? s.lastIndexOf('/') : s.indexOf('/');
  const vs = slash >= 0 ? s.slice(0, slash) : s;
  const ms = slash >= 0 ? s.slice(slash + 1) : null;
  const one = (t: string, isMask: boolean): number[] => {
    switch (f.fmt) {
      case 'mac': {
        const r = parseMac(t);
        if (!r) c.fail(`bad MAC "${t}"`);
        return r;
      }
      case 'ipv4': {
        const r = parseIpv4(t);
        if (r !== null) return [r];
        const p = isMask ? parseInteger(t) : null;
        if (p !== null && p <= 32) return [p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0];
        return c.fail(`bad IPv4 address "${t}"`);
      }
      case 'ipv6': {
        const r = parseIpv6(t);
        if (r) return r;
        const p = isMask ? parseInteger(t) : null;
        if (p !== null && p <= 128) {
          const w = [0, 0, 0, 0];
          for (let i = 0; i < 4; i++) {
            const n = Math.max(0, Math.min(32, p - 32 * i));
            w[i] = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
          }
          return w;
        }
        return c.fail(`bad IPv6 address "${t}"`);
      }
      case 'frag': {
        const i = ['no', 'first', 'later'].indexOf(t);
        if (isMask) {
          const n = parseInteger(t);
          if (n === null) c.fail(`bad frag mask "${t}"`);
          return [n === 0 ? 0 : 3];
        }
        if (i < 0) c.fail(`bad frag "${t}"`);
        return [[0, 1, 3][i]];
      }
      case 'x64': {
        if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) c.fail(`bad number "${t}"`);
        const b = BigInt(t);
        return [Number((b >> 32n) & 0xffffffffn), Number(b & 0xffffffffn)];
      }
      default: {
        const n = parseInteger(t);
        if (n === null) c.fail(`bad number "${t}"`);
        return [n >>> 0];
      }
    }
  };
  const v = one(vs, false);
  const m = ms !== null ? one(ms, true) : fullWords(f);
  return { v, m };
}

/**
 * Parses the body of key attribute `attr` (text between its parentheses) into `key`/`mask`.
 * For vlan/eth_type the caller passes the tag index (`vlan`): see parseOdpFlow.
 */
export function parseKeyAttrBody(
  attr: string,
  body: string,
  key: Uint32Array,
  mask: Uint32Array,
  portNo?: (name: string) => number | undefined,
): void {
  const c: Cursor = new Cursor(body);
  const fields = KEY_ATTR_FIELDS[attr];
  if (fields !== undefined) {
    while (!c.done) {
      const name = c.ident();
      if (attr === 'tunnel' && name === 'flags') {
        c.expect('(');
        const t = c.token('');
        c.expect(')');
        const r = t === '' ? { v: 0, m: 0xf } : parseFlags(TUN_FLAG_NAMES, t);
        if (!r) c.fail(`bad tunnel flags "${t}"`);
        key[W_TUN_FLAGS] = r.v & 0xf;
        mask[W_TUN_FLAGS] = r.m & 0xf;
      } else {
        const f = fields.find((x) => x.name === name);
        if (!f) c.fail(`unknown field "${name}" in ${attr}()`);
        c.expect('=');
        const t = c.token(',');
        const { v, m } = parseSubFieldValue(f, t, c);
        const full = fullWords(f);
        const mm = m.map((x, i) => (x & full[i]) >>> 0);
        // Values stay unmasked: OVS shows the first packet's bits under a partial mask.
        setWords(
          key,
          f,
          v.map((x, i) => (x & full[i]) >>> 0),
        );
        setWords(mask, f, mm);
      }
      if (!c.eat(',')) break;
    }
    if (!c.done) c.fail(`unexpected "${c.s.slice(c.pos)}" in ${attr}()`);
    return;
  }
  switch (attr) {
    case 'vlan': {
      // Caller has staged the tag word in W_VLAN0 of key/mask.
      let tci = VLAN_CFI;
      let tm = VLAN_CFI;
      while (!c.done) {
        const name = c.ident();
        c.expect('=');
        const t = c.token(',');
        const [vs, ms] = t.split('/');
        const v = parseInteger(vs);
        const m = ms !== undefined ? parseInteger(ms) : null;
        if (v === null || (ms !== undefined && m === null)) c.fail(`bad vlan value "${t}"`);
        if (name === 'vid') {
          tci = (tci & ~0xfff) | (v & 0xfff);
          tm = (tm & ~0xfff) | ((m ?? 0xfff) & 0xfff);
        } else if (name === 'pcp') {
          tci = (tci & ~0xe000) | ((v & 7) << 13);
          tm = (tm & ~0xe000) | (((m ?? 7) & 7) << 13);
        } else if (name === 'cfi') {
          tci = v ? tci | VLAN_CFI : tci & ~VLAN_CFI;
          tm = (m ?? 1) ? tm | VLAN_CFI : tm & ~VLAN_CFI;
        } else c.fail(`unknown vlan field "${name}"`);
        if (!c.eat(',')) break;
      }
      key[W_VLAN0] = ((key[W_VLAN0] & 0xffff0000) | tci) >>> 0;
      mask[W_VLAN0] = ((mask[W_VLAN0] & 0xffff0000) | tm) >>> 0;
      return;
    }
    case 'mpls': {
      let lse = 0;
      let lm = 0;
      const shifts: Record<string, [number, number]> = {
        label: [12, 0xfffff],
        tc: [9, 7],
        ttl: [0, 0xff],
        bos: [8, 1],
      };
      while (!c.done) {
        const name = c.ident();
        c.expect('=');
        const t = c.token(',');
        const [vs, ms] = t.split('/');
        const sh = shifts[name];
        if (!sh) c.fail(`unknown mpls field "${name}"`);
        const v = parseInteger(vs);
        const m =
          ms !== undefined
            ? parseInteger(
                /^[0-9a-f]+$/i.test(ms) && name !== 'label' && name !== 'ttl' ? `0x${ms}` : ms,
              )
            : sh[1];
        if (v === null || m === null) c.fail(`bad mpls value "${t}"`);
        lse |= (v & sh[1]) << sh[0];
        lm |= (m & sh[1]) << sh[0];
        if (!c.eat(',')) break;
      }
      key[W_MPLS0] = lse >>> 0;
      mask[W_MPLS0] = lm >>> 0;
      return;
    }
    case 'tcp_flags':
    case 'ct_state': {
      const names = attr === 'tcp_flags' ? TCP_FLAG_NAMES : CT_STATE_NAMES;
      const r = parseFlags(names, body);
      if (!r) c.fail(`bad ${attr} "${body}"`);
      const w = attr === 'tcp_flags' ? W_TCP_FLAGS : W_CT_STATE;
      const width = attr === 'tcp_flags' ? 0xfff : 0xff;
      const m = r.m === 0xffffffff || r.m === 0xffff ? width : r.m & width;
      key[w] = r.v & width;
      mask[w] = m;
      return;
    }
    case 'ct_label': {
      const [vs, ms] = body.split('/');
      const parse128 = (t: string): number[] => {
        if (!/^(0x)?[0-9a-f]+$/i.test(t)) c.fail(`bad ct_label "${t}"`);
        const h = t.replace(/^0x/i, '').padStart(32, '0').slice(-32);
        return [0, 1, 2, 3].map((i) => Number.parseInt(h.slice(i * 8, i * 8 + 8), 16) >>> 0);
      };
      const v = parse128(vs);
      const m = ms !== undefined ? parse128(ms) : [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
      for (let i = 0; i < 4; i++) {
        key[W_CT_LABEL + i] = v[i] >>> 0;
        mask[W_CT_LABEL + i] = m[i];
      }
      return;
    }
    case 'packet_type': {
      let v = 0;
      let m = 0;
      while (!c.done) {
        const name = c.ident();
        c.expect('=');
        const t = c.token(',');
        const [vs, ms] = t.split('/');
        const x = parseInteger(vs);
        const xm = ms !== undefined ? parseInteger(ms) : 0xffff;
        if (x === null || xm === null) c.fail(`bad packet_type "${t}"`);
        if (name === 'ns') {
          v |= (x & 0xffff) << 16;
          m |= (xm & 0xffff) << 16;
        } else if (name === 'id') {
          v |= x & 0xffff;
          m |= xm & 0xffff;
        } else c.fail(`unknown packet_type field "${name}"`);
        if (!c.eat(',')) break;
      }
      key[W_PACKET_TYPE] = v >>> 0;
      mask[W_PACKET_TYPE] = m >>> 0;
      return;
    }
  }
  const s = SCALAR_ATTRS[attr];
  if (s === undefined) c.fail(`unknown key attribute "${attr}"`);
  const [vs, ms] = body.split('/');
  let v = parseInteger(vs);
  if (v === null && attr === 'in_port') v = portNo?.(vs) ?? null;
  const m = ms !== undefined ? parseInteger(ms) : ones(s.bits);
  if (v === null || m === null) c.fail(`bad ${attr} value "${body}"`);
  key[s.word] = (v & ones(s.bits)) >>> 0;
  mask[s.word] = (m & ones(s.bits)) >>> 0;
}

export interface OdpFlow {
  readonly key: Uint32Array;
  readonly mask: Uint32Array;
}

export interface OdpFlowParseOptions {
  readonly portNo?: (name: string) => number | undefined;
}

/**
 * Parses a datapath flow key with optional masks (`in_port(1),eth(src=…),eth_type(0x0800),
 * ipv4(src=10.0.0.0/255.0.0.0,frag=no)`), as `dpctl/add-flow` and `netdev-dummy/receive`
 * accept it. Fields not mentioned are wildcarded; recirc_id defaults to 0 exact, as OVS does
 * for flows it installs, and packet_type to Ethernet when eth() is present.
 */
export function parseOdpFlow(text: string, opts?: OdpFlowParseOptions): OdpFlow {
  const key = new Uint32Array(FLOW_WORDS);
  const mask = new Uint32Array(FLOW_WORDS);
  const c: Cursor = new Cursor(text.trim());
  let sawRecirc = false;
  parseAttrList(c, key, mask, 0, opts, () => {
    sawRecirc = true;
  });
  if (!c.done) c.fail(`unexpected "${c.s.slice(c.pos, c.pos + 20)}"`);
  if (!sawRecirc) mask[W_RECIRC_ID] = 0xffffffff;
  return { key, mask };
}

function parseAttrList(
  c: Cursor,
  key: Uint32Array,
  mask: Uint32Array,
  depth: number,
  opts: OdpFlowParseOptions | undefined,
  onRecirc: () => void,
): void {
  // Index of the next VLAN tag; eth_type seen before a vlan() is that tag's TPID.
  let vlanIdx = depth;
  let pastLimit = false;
  while (!c.done && c.peek() !== ')') {
    c.skipSpace();
    const name = c.ident();
    if (name === '') c.fail(`expected a key attribute at "${c.s.slice(c.pos, c.pos + 20)}"`);
    if (!c.eat('(')) c.fail(`expected "(" after ${name}`);
    if (name === 'encap') {
      // Past other_config:vlan-limit OVS's odp_flow_key_to_flow stops: the tag's TPID stays
      // the Ethertype and whatever it encapsulates is not part of the flow.
      if (pastLimit) c.token('');
      else parseAttrList(c, key, mask, vlanIdx, opts, onRecirc);
      c.expect(')');
    } else {
      const body = c.token('');
      c.expect(')');
      if (name === 'recirc_id') onRecirc();
      if (name === 'vlan' && vlanIdx >= getFlowVlanLimit() && vlanIdx < 2) {
        // Beyond the limit: not a tag of the flow (see encap above).
        pastLimit = true;
      } else if (name === 'vlan') {
        if (vlanIdx >= 2) c.fail('too many VLAN headers');
        const tpid = key[W_DL_TYPE] & 0xffff;
        const k = new Uint32Array(FLOW_WORDS);
        const m = new Uint32Array(FLOW_WORDS);
        k[W_VLAN0] = (isVlanType(tpid) ? tpid : ETH_TYPE_VLAN_8021Q) << 16;
        m[W_VLAN0] = mask[W_DL_TYPE] ? 0xffff0000 : 0;
        parseKeyAttrBody('vlan', body, k, m);
        key[W_VLAN0 + vlanIdx] = k[W_VLAN0] >>> 0;
        mask[W_VLAN0 + vlanIdx] = m[W_VLAN0] >>> 0;
        key[W_DL_TYPE] = 0;
        mask[W_DL_TYPE] = 0;
        vlanIdx++;
      } else if (name === 'eth') {
        // packet_type stays wildcarded unless given: OVS then prints eth() even when empty.
        parseKeyAttrBody('eth', body, key, mask);
      } else {
        parseKeyAttrBody(name, body, key, mask, opts?.portNo);
      }
    }
    if (!c.eat(',')) break;
  }
}

/**
 * What a key with no eth_type() means when it is made into a packet (OVS's odp_flow_key_to_flow,
 * as netdev-dummy/receive uses it): the Ethertype of its L3 attribute (ipv4, ipv6, mpls), else
 * an 802.2 frame (FLOW_DL_TYPE_NONE). `text` is the key as parsed into `key`.
 */
export function applyDefaultEthertype(text: string, key: Uint32Array): void {
  if (/(^|[,(])eth_type\(/.test(text)) return;
  let t = 0x05ff;
  if (/(^|[,(])ipv4\(/.test(text)) t = 0x0800;
  else if (/(^|[,(])ipv6\(/.test(text)) t = 0x86dd;
  else if (/(^|[,(])mpls\(/.test(text)) t = 0x8847;
  key[W_DL_TYPE] = t;
}
