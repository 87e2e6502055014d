/* OpenFlow port numbers as text, as OVS's ofputil_port_to_string()/_from_string() do. */

const PORT_NAMES: ReadonlyArray<[number, string]> = [
  [0xfff8, 'IN_PORT'],
  [0xfff9, 'TABLE'],
  [0xfffa, 'NORMAL'],
  [0xfffb, 'FLOOD'],
  [0xfffc, 'ALL'],
  [0xfffd, 'CONTROLLER'],
  [0xfffe, 'LOCAL'],
  [0xffff, 'ANY'],
  [0xfff7, 'UNSET'],
];

/** OVS's ofputil_port_to_string for OpenFlow 1.0-space port numbers (no port names). */
export function ofpPortToString(port: number): string {
  for (const [n, s] of PORT_NAMES) if (n === port) return s;
  return String(port);
}

/** OVS's ofputil_port_from_string without a port map; null if invalid. */
export function ofpPortFromString(s: string, names?: (name: string) => number | undefined) {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n <= 0xffff) return n;
    if (n >= 0xffffff00 && n <= 0xffffffff) return n - 0xffff0000;
    return null;
  }
  const up = s.toUpperCase();
  for (const [n, name] of PORT_NAMES) if (name === up) return n;
  if (up === 'NONE') return 0xffff;
  if (names) {
    const unq = s.length > 1 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
    const p = names(unq);
    if (p !== undefined) return p;
  }
  return null;
}
