/**
 * OVS's own routing table (lib/ovs-router.c), which tunnel ports consult to pick the bridge,
 * next hop and source address for an outer IP header. Routes are IPv6 prefixes, IPv4 ones held
 * as v4-mapped addresses (::ffff:a.b.c.d, prefix length + 96), matched together with the
 * packet mark. Longest prefix wins; a route the user added ranks above a system route of the
 * same length (its priority is its prefix length + 32).
 *
 * Unixctl: ovs/route/add PREFIX BRIDGE [GW] [pkt_mark=N], ovs/route/del PREFIX [pkt_mark=N],
 * ovs/route/show, ovs/route/lookup ADDR [pkt_mark=N], and netdev-dummy/ip4addr NETDEV A/LEN,
 * netdev-dummy/ip6addr NETDEV A/LEN (the addresses a route's source is chosen from).
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../lib/packet/addr.ts';
import { type UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { findDummyNetdev } from '../netdev/dummy.ts';

/** An IPv6 address as four 32-bit words, most significant first. */
export type In6 = readonly [number, number, number, number];

const ANY: In6 = [0, 0, 0, 0];

export function mapped4(ip: number): In6 {
  return [0, 0, 0xffff, ip >>> 0];
}

function isMapped4(a: In6): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0xffff;
}

function isSet(a: In6): boolean {
  return a[0] !== 0 || a[1] !== 0 || a[2] !== 0 || a[3] !== 0;
}

/** OVS's ipv6_format_mapped: dotted quad for a v4-mapped address. */
export function formatMapped(a: In6): string {
  return isMapped4(a) ? formatIpv4(a[3]) : formatIpv6(a);
}

function maskOf(plen: number): In6 {
  const w = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, plen - 32 * i));
    w[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return w as unknown as In6;
}

function and(a: In6, m: In6): In6 {
  return [(a[0] & m[0]) >>> 0, (a[1] & m[1]) >>> 0, (a[2] & m[2]) >>> 0, (a[3] & m[3]) >>> 0];
}

function eq(a: In6, b: In6): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export interface RouteEntry {
  readonly mark: number;
  /** The prefix, masked to `plen` (of 128). */
  readonly addr: In6;
  readonly plen: number;
  readonly priority: number;
  readonly local: boolean;
  readonly dev: string;
  readonly gw: In6;
  readonly src: In6;
}

/** An interface address a route's source may come from. */
export interface IfaceAddr {
  readonly addr: In6;
  /** Any mask (netdev-dummy/ip4addr takes a non-CIDR one too). */
  readonly mask: In6;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v = (v & (v - 1)) >>> 0) n++;
  return n;
}

/** Where the interface addresses come from (netdev-dummy/ip4addr's, in-process). */
export type AddrSource = (dev: string) => readonly IfaceAddr[] | null;

export class OvsRouter {
  private readonly routes = new Map<string, RouteEntry>();

  constructor(private readonly addrs: AddrSource) {}

  /* OVS's ovs_router_get_netdev_source_address: the address of `dev` whose subnet holds
   * `dst`, the longest such subnet; IPv4 destinations only take IPv4 addresses. */
  private sourceFor(dst: In6, dev: string): In6 | null {
    const list = this.addrs(dev);
    if (list === null) return null;
    let best: In6 | null = null;
    let bestLen = -1;
    for (const a of list) {
      if (isMapped4(dst) && !isMapped4(a.addr)) continue;
      const bits = a.mask.reduce((n, w) => n + popcount(w), 0);
      if (eq(and(dst, a.mask), and(a.addr, a.mask)) && bits > bestLen) {
        best = a.addr;
        bestLen = bits;
      }
    }
    return best;
  }

  /** Adds (or replaces) a route; false when `dev` has no address to use as its source. */
  insert(mark: number, dst: In6, plen: number, dev: string, gw: In6, user: boolean): boolean {
    const local = false;
    const priority = user ? plen + 32 : plen;
    let src = this.sourceFor(dst, dev);
    if (src === null && isSet(gw)) src = this.sourceFor(gw, dev);
    if (src === null) return false;
    const addr = and(dst, maskOf(plen));
    const e: RouteEntry = { mark: mark >>> 0, addr, plen, priority, local, dev, gw, src };
    this.routes.set(routeKey(e.mark, addr, plen, priority), e);
    return true;
  }

  /** Deletes a user route; false when there is none. */
  delete(mark: number, dst: In6, plen: number): boolean {
    const addr = and(dst, maskOf(plen));
    return this.routes.delete(routeKey(mark >>> 0, addr, plen, plen + 32));
  }

  lookup(mark: number, dst: In6): RouteEntry | null {
    let best: RouteEntry | null = null;
    for (const e of this.routes.values()) {
      if (e.mark !== mark >>> 0) continue;
      if (!eq(and(dst, maskOf(e.plen)), e.addr)) continue;
      if (best === null || e.priority > best.priority) best = e;
    }
    return best;
  }

  /** Routes, highest priority first (OVS prints its classifier's order). */
  entries(): RouteEntry[] {
    return [...this.routes.values()].sort((a, b) => b.priority - a.priority);
  }
}

function routeKey(mark: number, addr: In6, plen: number, priority: number): string {
  return `${mark}/${addr.join('.')}/${plen}/${priority}`;
}

/** OVS's ip_parse_cidr: A.B.C.D, A.B.C.D/LEN or A.B.C.D/MASK (a CIDR mask). */
export function parseIpv4Cidr(s: string): { ip: number; plen: number } | null {
  const slash = s.indexOf('/');
  const ip = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (ip === null) return null;
  if (slash < 0) return { ip, plen: 32 };
  const rest = s.slice(slash + 1);
  if (/^\d{1,2}$/.test(rest)) {
    const plen = Number(rest);
    return plen <= 32 ? { ip, plen } : null;
  }
  const m = parseIpv4(rest);
  if (m === null) return null;
  // A netmask must be CIDR: its inverse is a run of low one bits.
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return null;
  return { ip, plen: Math.clz32(inv) };
}

/** OVS's ip_parse_masked: A.B.C.D, A.B.C.D/LEN or A.B.C.D/MASK (any mask). */
export function parseIpv4Masked(s: string): { ip: number; mask: number } | null {
  const slash = s.indexOf('/');
  const ip = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (ip === null) return null;
  if (slash < 0) return { ip, mask: 0xffffffff };
  const rest = s.slice(slash + 1);
  if (/^\d{1,2}$/.test(rest)) {
    const plen = Number(rest);
    if (plen > 32) return null;
    return { ip, mask: plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0 };
  }
  const mask = parseIpv4(rest);
  return mask === null ? null : { ip, mask };
}

/** OVS's ipv6_parse_cidr: ADDR or ADDR/LEN. */
export function parseIpv6Cidr(s: string): { ip: In6; plen: number } | null {
  const slash = s.indexOf('/');
  const w = parseIpv6(slash < 0 ? s : s.slice(0, slash));
  if (w === null) return null;
  const ip = [w[0] >>> 0, w[1] >>> 0, w[2] >>> 0, w[3] >>> 0] as unknown as In6;
  if (slash < 0) return { ip, plen: 128 };
  const rest = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(rest) || Number(rest) > 128) return null;
  return { ip, plen: Number(rest) };
}

/* "pkt_mark=N" as OVS scans it (%i: decimal, 0x hex or 0 octal). */
function scanMark(s: string): number | null {
  const m = /^pkt_mark=([+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*))/.exec(s);
  if (!m) return null;
  const t = m[1] as string;
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '');
  const v = /^0[xX]/.test(body)
    ? Number.parseInt(body.slice(2), 16)
    : body.length > 1 && body.startsWith('0')
      ? Number.parseInt(body, 8)
      : Number(body);
  return (neg ? -v : v) >>> 0;
}

function parseRoute(s: string): { ip: In6; plen: number; v4: boolean } | null {
  const r4 = parseIpv4Cidr(s);
  if (r4) return { ip: mapped4(r4.ip), plen: r4.plen + 96, v4: true };
  const r6 = parseIpv6Cidr(s);
  return r6 ? { ip: r6.ip, plen: r6.plen, v4: false } : null;
}

const ifaceAddrs = new Map<string, { v4?: IfaceAddr; v6?: IfaceAddr }>();

/** The addresses netdev-dummy/ip4addr and ip6addr gave `dev` (null: none ever given). */
export function dummyAddrs(dev: string): readonly IfaceAddr[] | null {
  const a = ifaceAddrs.get(dev);
  if (!a) return null;
  const out: IfaceAddr[] = [];
  if (a.v4) out.push(a.v4);
  if (a.v6) out.push(a.v6);
  return out;
}

export function registerRouterCommands(cmds: UnixctlCommands, router: OvsRouter): void {
  cmds.register(
    'ovs/route/add',
    'ip_addr/prefix_len out_br_name [gw] [pkt_mark=mark]',
    2,
    4,
    (args) => {
      const r = parseRoute(args[0] as string);
      if (!r) throw new UnixctlError('Invalid parameters');
      let mark = 0;
      let gw = ANY;
      const third = args[2];
      if (third !== undefined) {
        const m = scanMark(third);
        if (m !== null) mark = m;
        else if (r.v4) {
          const g = parseIpv4(third);
          if (g === null) throw new UnixctlError('Invalid pkt_mark or gateway');
          if (g !== 0) gw = mapped4(g);
        } else {
          const g = parseIpv6Cidr(third);
          if (g === null || third.includes('/'))
            throw new UnixctlError('Invalid pkt_mark or IPv6 gateway');
          gw = g.ip;
        }
      }
      const fourth = args[3];
      if (fourth !== undefined) {
        const m = scanMark(fourth);
        if (m === null) throw new UnixctlError('Invalid pkt_mark');
        mark = m;
      }
      if (!router.insert(mark, r.ip, r.plen, args[1] as string, gw, true))
        throw new UnixctlError('Error while inserting route.');
      return 'OK';
    },
  );
  cmds.register('ovs/route/del', 'ip_addr/prefix_len [pkt_mark=mark]', 1, 2, (args) => {
    const r = parseRoute(args[0] as string);
    if (!r) throw new UnixctlError('Invalid parameters');
    let mark = 0;
    if (args[1] !== undefined) {
      const m = scanMark(args[1]);
      if (m === null) throw new UnixctlError('Invalid pkt_mark');
      mark = m;
    }
    if (!router.delete(mark, r.ip, r.plen)) throw new UnixctlError('Not found');
    return 'OK';
  });
  cmds.register('ovs/route/show', '', 0, 0, () => {
    let s = 'Route Table:\n';
    for (const e of router.entries()) {
      s += e.priority === e.plen || e.local ? 'Cached: ' : 'User: ';
      s += `${formatMapped(e.addr)}/${isMapped4(e.addr) ? e.plen - 96 : e.plen}`;
      if (e.mark) s += ` MARK ${e.mark}`;
      s += ` dev ${e.dev}`;
      if (isSet(e.gw)) s += ` GW ${formatMapped(e.gw)}`;
      s += ` SRC ${formatMapped(e.src)}`;
      if (e.local) s += ' local';
      s += '\n';
    }
    return s;
  });
  cmds.register('ovs/route/lookup', 'ip_addr [pkt_mark=mark]', 1, 2, (args) => {
    const r = parseRoute(args[0] as string);
    if (r?.plen !== 128) throw new UnixctlError('Invalid parameters');
    let mark = 0;
    if (args[1] !== undefined) {
      const m = scanMark(args[1]);
      if (m === null) throw new UnixctlError('Invalid pkt_mark');
      mark = m;
    }
    const e = router.lookup(mark, r.ip);
    if (!e) throw new UnixctlError('Not found');
    return `src ${formatMapped(e.src)}\ngateway ${formatMapped(e.gw)}\ndev ${e.dev}\n`;
  });
  cmds.register('netdev-dummy/ip4addr', '[netdev] ipaddr/mask-prefix-len', 2, 2, (args) => {
    const name = args[0] as string;
    if (!findDummyNetdev(name)) throw new UnixctlError('Unknown Dummy Interface');
    const r = parseIpv4Masked(args[1] as string);
    if (!r) throw new UnixctlError(`${args[1]}: invalid IP address`);
    const a = ifaceAddrs.get(name) ?? {};
    a.v4 = { addr: mapped4(r.ip), mask: [0xffffffff, 0xffffffff, 0xffffffff, r.mask] };
    ifaceAddrs.set(name, a);
    return 'OK';
  });
  cmds.register('netdev-dummy/ip6addr', '[netdev] ip6addr', 2, 2, (args) => {
    const name = args[0] as string;
    if (!findDummyNetdev(name)) throw new UnixctlError('Unknown Dummy Interface');
    const r = parseIpv6Cidr(args[1] as string);
    if (!r) throw new UnixctlError(`${args[1]}: invalid IPv6 address`);
    const a = ifaceAddrs.get(name) ?? {};
    a.v6 = { addr: r.ip, mask: maskOf(r.plen) };
    ifaceAddrs.set(name, a);
    return 'OK';
  });
}
