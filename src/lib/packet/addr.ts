/*
 * Text forms of Ethernet, IPv4 and IPv6 addresses as OVS prints and parses them.
 *
 * IPv4 addresses are unsigned 32-bit numbers; MACs and IPv6 addresses are words in the flow
 * key's convention (MAC: [high 16 bits, low 32 bits]; IPv6: four 32-bit words, most
 * significant first). These run on the control path only.
 */

export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Parses dotted-quad IPv4; returns null if malformed. */
export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function formatMac(hi: number, lo: number): string {
  return `${hex2((hi >>> 8) & 0xff)}:${hex2(hi & 0xff)}:${hex2(lo >>> 24)}:${hex2(
    (lo >>> 16) & 0xff,
  )}:${hex2((lo >>> 8) & 0xff)}:${hex2(lo & 0xff)}`;
}

/** Parses "xx:xx:xx:xx:xx:xx" (1 or 2 hex digits per byte, as OVS's scanf does). */
export function parseMac(s: string): [number, number] | null {
  const m =
    /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})$/.exec(
      s,
    );
  if (!m) return null;
  const b = m.slice(1).map((x) => Number.parseInt(x, 16));
  return [(b[0] << 8) | b[1], ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0];
}

/** Formats like glibc's inet_ntop(AF_INET6): longest run of two or more zero groups becomes
 * "::", and IPv4-mapped/compatible addresses end in dotted quad. */
export function formatIpv6(w: ArrayLike<number>, ofs = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = w[ofs + i] >>> 0;
    g.push(x >>> 16, x & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 0;
  let curStart = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curStart < 0) {
        curStart = i;
        curLen = 1;
      } else {
        curLen++;
      }
      if (curLen > bestLen) {
        bestStart = curStart;
        bestLen = curLen;
      }
    } else {
      curStart = -1;
      curLen = 0;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestStart >= 0 && i >= bestStart && i < bestStart + bestLen) {
      if (i === bestStart) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      const v4 = w[ofs + 3] >>> 0;
      return `${out}${formatIpv4(v4)}`;
    }
    out += g[i].toString(16);
  }
  if (bestStart >= 0 && bestStart + bestLen === 8) out += ':';
  return out;
}

/** Parses an IPv6 address (RFC 4291 text forms, with an optional trailing dotted quad). */
export function parseIpv6(s: string): number[] | null {
  if (s.length === 0 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const groups: number[] = [];
  let tail = s;
  let v4: number | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.') >= 0) {
    v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = s.slice(0, lastColon + 1);
    if (tail.endsWith('::')) {
      // keep as is
    } else if (tail.endsWith(':')) {
      tail = tail.slice(0, -1);
    }
  }
  const dbl = tail.indexOf('::');
  if (dbl >= 0 && tail.indexOf('::', dbl + 1) >= 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const r: number[] = [];
    for (const h of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return null;
      r.push(Number.parseInt(h, 16));
    }
    return r;
  };
  const need = v4 === null ? 8 : 6;
  if (dbl >= 0) {
    const a = parseGroups(tail.slice(0, dbl));
    const b = parseGroups(tail.slice(dbl + 2));
    if (!a || !b || a.length + b.length > need - 1) return null;
    groups.push(...a);
    for (let i = a.length + b.length; i < need; i++) groups.push(0);
    groups.push(...b);
  } else {
    const a = parseGroups(tail);
    if (!a || a.length !== need) return null;
    groups.push(...a);
  }
  if (v4 !== null) groups.push(v4 >>> 16, v4 & 0xffff);
  const w: number[] = [];
  for (let i = 0; i < 4; i++) w.push(((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0);
  return w;
}

/** A CIDR prefix mask of `plen` bits over `nWords` 32-bit words, most significant first. */
export function prefixMaskWords(plen: number, nWords: number): number[] {
  const r: number[] = [];
  for (let i = 0; i < nWords; i++) {
    const bits = Math.max(0, Math.min(32, plen - 32 * i));
    r.push(bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);
  }
  return r;
}

/** The prefix length if the words form a CIDR mask, else -1. */
export function cidrBits(words: ArrayLike<number>, ofs: number, nWords: number): number {
  let n = 0;
  let i = 0;
  for (; i < nWords; i++) {
    const x = words[ofs + i] >>> 0;
    if (x === 0xffffffff) {
      n += 32;
      continue;
    }
    const inv = ~x >>> 0;
    // x must be ones followed by zeros: ~x + 1 is a power of two.
    if ((inv & (inv + 1)) !== 0) return -1;
    n += Math.clz32(inv);
    i++;
    break;
  }
  for (; i < nWords; i++) if (words[ofs + i] !== 0) return -1;
  return n;
}
