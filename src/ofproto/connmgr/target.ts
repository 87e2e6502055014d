/*
 * OpenFlow connection targets as the Controller table and ovs-vsctl write them: active
 * `tcp:IP[:PORT]`, `unix:PATH`, `ssl:IP[:PORT]`, and passive `ptcp:[PORT][:IP]`,
 * `punix:PATH`, `pssl:[PORT][:IP]` (OVS's default OpenFlow port is 6653).
 */

export const OFP_PORT = 6653;

export type Target =
  | { kind: 'tcp' | 'ssl'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'ptcp' | 'pssl'; host: string; port: number }
  | { kind: 'punix'; path: string };

/** Parses a target, or returns the error text OVS would log. */
export function parseTarget(s: string): Target | string {
  const i = s.indexOf(':');
  const kind = i < 0 ? s : s.slice(0, i);
  const rest = i < 0 ? '' : s.slice(i + 1);
  switch (kind) {
    case 'tcp':
    case 'ssl': {
      const { host, port } = hostPort(rest, true);
      if (!host) return `${s}: bad peer name format`;
      if (port === null) return `${s}: bad port number`;
      return { kind, host, port };
    }
    case 'ptcp':
    case 'pssl': {
      // ptcp:[PORT][:IP]
      const j = rest.indexOf(':');
      const portText = j < 0 ? rest : rest.slice(0, j);
      let host = j < 0 ? '0.0.0.0' : rest.slice(j + 1);
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      const port = portText === '' ? OFP_PORT : Number(portText);
      if (!Number.isInteger(port) || port < 0 || port > 65535) return `${s}: bad port number`;
      return { kind, host: host || '0.0.0.0', port };
    }
    case 'unix':
    case 'punix':
      if (!rest) return `${s}: missing path`;
      return { kind, path: rest };
    default:
      return `${s}: unknown connection type "${kind}"`;
  }
}

function hostPort(s: string, needHost: boolean): { host: string; port: number | null } {
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const e = s.indexOf(']');
    host = s.slice(1, e);
    portText = s.slice(e + 2);
  } else {
    const j = s.lastIndexOf(':');
    host = j < 0 ? s : s.slice(0, j);
    portText = j < 0 ? '' : s.slice(j + 1);
  }
  if (!host && needHost) return { host: '', port: null };
  const port = portText === '' ? OFP_PORT : Number(portText);
  return { host, port: Number.isInteger(port) && port > 0 && port <= 65535 ? port : null };
}

export function isPassive(t: Target): boolean {
  return t.kind === 'ptcp' || t.kind === 'punix' || t.kind === 'pssl';
}
