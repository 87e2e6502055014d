/*
 * ovs-ofctl's command line, read as GNU getopt_long reads it for OVS: options may come before,
 * between or after the command words ("--" ends them), long options match unambiguous
 * prefixes, short options cluster ("-mm"), and the errors use getopt's wording.
 */

import { fieldByName } from '../../lib/flow/fields.ts';
import { applyVlogOption, VlogOptionError } from '../../lib/vlog.ts';
import {
  P_ANY,
  P_ANY_OXM,
  P_OF10_ANY,
  P_OF10_NXM,
  P_OF10_NXM_TID,
  P_OF10_STD,
  P_OF10_STD_TID,
  P_OF11_STD,
  P_OF12_OXM,
  P_OF13_OXM,
  P_OF13_UP,
  P_OF14_OXM,
  P_OF15_OXM,
  protocolsToString,
} from '../../ofproto/openflow/protocols.ts';
import { OfctlFatal } from './errors.ts';

export interface SortCriterion {
  /** null: priority. */
  field: string | null;
  desc: boolean;
}

export interface Options {
  timeout: number;
  strict: boolean;
  readd: boolean;
  bundle: boolean;
  mayCreate: boolean;
  readOnly: boolean;
  /** -1: default (accept names, show them only on a terminal). */
  useNames: number;
  showStats: boolean;
  verbosity: number;
  /** ofp-print --raw: the message comes from stdin as bytes, not hex. */
  raw: boolean;
  timestamp: boolean;
  sort: SortCriterion[];
  /** Allowed OpenFlow versions (1 = OF1.0 ... 6 = OF1.5). */
  versions: number[];
  /** Allowed protocols (OVS's ofputil_protocol bits). */
  allowedProtocols: number;
  packetInFormat: string | null;
  unixctl: string | null;
  help: boolean;
  version: boolean;
  listOptions: boolean;
  args: string[];
}

interface LongOpt {
  name: string;
  arg: 'none' | 'required' | 'optional';
  key: string;
}

const LONG: LongOpt[] = [
  { name: 'timeout', arg: 'required', key: 't' },
  { name: 'strict', arg: 'none', key: 'strict' },
  { name: 'readd', arg: 'none', key: 'readd' },
  { name: 'flow-format', arg: 'required', key: 'F' },
  { name: 'packet-in-format', arg: 'required', key: 'P' },
  { name: 'more', arg: 'none', key: 'm' },
  { name: 'timestamp', arg: 'none', key: 'timestamp' },
  { name: 'sort', arg: 'optional', key: 'sort' },
  { name: 'rsort', arg: 'optional', key: 'rsort' },
  { name: 'names', arg: 'none', key: 'names' },
  { name: 'no-names', arg: 'none', key: 'no-names' },
  { name: 'stats', arg: 'none', key: 'stats' },
  { name: 'no-stats', arg: 'none', key: 'no-stats' },
  { name: 'unixctl', arg: 'required', key: 'unixctl' },
  { name: 'help', arg: 'none', key: 'h' },
  { name: 'option', arg: 'none', key: 'o' },
  { name: 'bundle', arg: 'none', key: 'bundle' },
  { name: 'color', arg: 'optional', key: 'color' },
  { name: 'may-create', arg: 'none', key: 'may-create' },
  { name: 'pcap', arg: 'none', key: 'pcap' },
  { name: 'raw', arg: 'none', key: 'raw' },
  { name: 'read-only', arg: 'none', key: 'read-only' },
  // Daemon options (accepted; ovs-ofctl only uses them for monitor/snoop).
  { name: 'detach', arg: 'none', key: 'ignore' },
  { name: 'no-self-confinement', arg: 'none', key: 'ignore' },
  { name: 'no-chdir', arg: 'none', key: 'ignore' },
  { name: 'pidfile', arg: 'optional', key: 'ignore' },
  { name: 'overwrite-pidfile', arg: 'none', key: 'ignore' },
  { name: 'monitor', arg: 'none', key: 'ignore' },
  { name: 'user', arg: 'required', key: 'ignore' },
  // OpenFlow version options.
  { name: 'version', arg: 'none', key: 'V' },
  { name: 'protocols', arg: 'required', key: 'O' },
  // vlog options (handled by lib/vlog).
  { name: 'verbose', arg: 'optional', key: 'v' },
  { name: 'log-file', arg: 'optional', key: 'log-file' },
  { name: 'syslog-method', arg: 'required', key: 'syslog' },
  { name: 'syslog-target', arg: 'required', key: 'syslog' },
  // SSL options.
  { name: 'private-key', arg: 'required', key: 'ignore' },
  { name: 'certificate', arg: 'required', key: 'ignore' },
  { name: 'ca-cert', arg: 'required', key: 'ignore' },
  { name: 'ssl-protocols', arg: 'required', key: 'ignore' },
  { name: 'ssl-ciphers', arg: 'required', key: 'ignore' },
];

/* Short options: letter -> (long key, takes an argument). */
const SHORT: Record<string, { key: string; arg: 'none' | 'required' | 'optional' }> = {
  t: { key: 't', arg: 'required' },
  F: { key: 'F', arg: 'required' },
  P: { key: 'P', arg: 'required' },
  m: { key: 'm', arg: 'none' },
  h: { key: 'h', arg: 'none' },
  o: { key: 'o', arg: 'none' },
  V: { key: 'V', arg: 'none' },
  O: { key: 'O', arg: 'required' },
  v: { key: 'v', arg: 'optional' },
  p: { key: 'ignore', arg: 'required' },
  c: { key: 'ignore', arg: 'required' },
  C: { key: 'ignore', arg: 'required' },
};

const VERSION_NAMES = [
  'OpenFlow10',
  'OpenFlow11',
  'OpenFlow12',
  'OpenFlow13',
  'OpenFlow14',
  'OpenFlow15',
];

/** OVS's ofputil_versions_from_string(): names separated by commas or spaces. */
export function versionsFromString(s: string): number[] {
  const out = new Set<number>();
  for (const tok of s.split(/[\s,]+/).filter((t) => t)) {
    const i = VERSION_NAMES.findIndex((n) => n.toLowerCase() === tok.toLowerCase());
    if (i < 0) throw new OfctlFatal(`Unknown OpenFlow version: "${tok}"`);
    out.add(i + 1);
  }
  return [...out].sort((a, b) => a - b);
}

/** The protocols a set of versions can use (ofputil_protocols_from_version_bitmap). */
export function protocolsFromVersions(versions: readonly number[]): number {
  let p = 0;
  for (const v of versions) {
    if (v === 1) p |= P_OF10_ANY;
    else if (v === 2) p |= P_OF11_STD;
    else if (v === 3) p |= P_OF12_OXM;
    else if (v === 4) p |= P_OF13_OXM;
    else if (v === 5) p |= P_OF14_OXM;
    else if (v === 6) p |= P_OF15_OXM;
  }
  return p;
}

export function versionsFromProtocols(p: number): number[] {
  const out: number[] = [];
  if (p & P_OF10_ANY) out.push(1);
  if (p & P_OF11_STD) out.push(2);
  if (p & P_OF12_OXM) out.push(3);
  if (p & P_OF13_OXM) out.push(4);
  if (p & P_OF14_OXM) out.push(5);
  if (p & P_OF15_OXM) out.push(6);
  return out;
}

const PROTOCOL_NAMES: Array<[string, number]> = [
  ['any', P_ANY],
  ['OpenFlow10', P_OF10_STD | P_OF10_STD_TID],
  ['NXM', P_OF10_NXM | P_OF10_NXM_TID],
  ['OXM', P_ANY_OXM],
  ['OpenFlow10+table_id', P_OF10_STD_TID],
  ['NXM+table_id', P_OF10_NXM_TID],
  ['OpenFlow11', P_OF11_STD],
  ['OXM-OpenFlow12', P_OF12_OXM],
  ['OXM-OpenFlow13', P_OF13_OXM],
  ['OXM-OpenFlow14', P_OF14_OXM],
  ['OXM-OpenFlow15', P_OF15_OXM],
  ['openflow10', P_OF10_STD | P_OF10_STD_TID],
  ['nxm', P_OF10_NXM | P_OF10_NXM_TID],
];

function protocolsFromString(s: string): number {
  let p = 0;
  for (const tok of s.split(',').filter((t) => t)) {
    const hit = PROTOCOL_NAMES.find(([n]) => n.toLowerCase() === tok.toLowerCase());
    if (!hit) throw new OfctlFatal(`${tok}: unknown flow protocol`);
    p |= hit[1];
  }
  if (!p) throw new OfctlFatal(`${s}: no flow protocol specified`);
  return p;
}

/** "OpenFlow10, OpenFlow13": OVS's ofputil_format_version_bitmap_names(). */
function versionNames(vs: readonly number[]): string {
  return vs.map((v) => VERSION_NAMES[v - 1]).join(', ');
}

export function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    timeout: 0,
    strict: false,
    readd: false,
    raw: false,
    bundle: false,
    mayCreate: false,
    readOnly: false,
    useNames: -1,
    showStats: true,
    verbosity: 0,
    timestamp: false,
    sort: [],
    versions: [1],
    allowedProtocols: P_ANY,
    packetInFormat: null,
    unixctl: null,
    help: false,
    version: false,
    listOptions: false,
    args: [],
  };
  const apply = (key: string, value: string | undefined, raw: string): void => {
    switch (key) {
      case 't': {
        const v = value ?? '';
        const n = /^\d+$/.test(v) ? Number(v) : 0;
        if (!n) throw new OfctlFatal(`value ${v} on -t or --timeout is invalid`);
        o.timeout = n;
        break;
      }
      case 'strict':
        o.strict = true;
        break;
      case 'raw':
        o.raw = true;
        break;
      case 'readd':
        o.readd = true;
        break;
      case 'F':
        o.allowedProtocols = protocolsFromString(value ?? '');
        break;
      case 'P': {
        const v = (value ?? '').toLowerCase();
        if (!['standard', 'openflow10', 'nxt_packet_in', 'nxm', 'nxt_packet_in2'].includes(v)) {
          throw new OfctlFatal(`unknown packet-in format \`${value}'`);
        }
        o.packetInFormat = v;
        break;
      }
      case 'm':
        o.verbosity++;
        break;
      case 'timestamp':
        o.timestamp = true;
        break;
      case 'sort':
      case 'rsort': {
        const desc = key === 'rsort';
        if (!value || value.toLowerCase() === 'priority') o.sort.push({ field: null, desc });
        else if (!fieldByName(value)) throw new OfctlFatal(`${value}: unknown field name`);
        else o.sort.push({ field: value, desc });
        break;
      }
      case 'names':
        o.useNames = 1;
        break;
      case 'no-names':
        o.useNames = 0;
        break;
      case 'stats':
        o.showStats = true;
        break;
      case 'no-stats':
        o.showStats = false;
        break;
      case 'unixctl':
        o.unixctl = value ?? null;
        break;
      case 'h':
        o.help = true;
        break;
      case 'o':
        o.listOptions = true;
        break;
      case 'bundle':
        o.bundle = true;
        break;
      case 'may-create':
        o.mayCreate = true;
        break;
      case 'read-only':
        o.readOnly = true;
        break;
      case 'color': {
        const v = value?.toLowerCase();
        if (
          v !== undefined &&
          !['always', 'yes', 'force', 'never', 'no', 'none', 'auto', 'tty', 'if-tty'].includes(v)
        ) {
          throw new OfctlFatal(`incorrect value \`${value}' for --color`);
        }
        break;
      }
      case 'V':
        o.version = true;
        break;
      case 'O':
        o.versions = versionsFromString(value ?? '');
        break;
      case 'v':
      case 'log-file':
      case 'syslog':
        try {
          applyVlogOption(raw, value);
        } catch (e) {
          if (e instanceof VlogOptionError) throw new OfctlFatal(e.message);
          throw e;
        }
        break;
      default:
        break;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      o.args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const exact = LONG.find((l) => l.name === name);
      const cands = exact ? [exact] : LONG.filter((l) => l.name.startsWith(name));
      const keys = new Set(cands.map((c) => `${c.key}/${c.arg}`));
      if (cands.length === 0) throw new OfctlFatal(`unrecognized option '--${name}'`, 1);
      if (keys.size > 1) {
        throw new OfctlFatal(
          `option '--${name}' is ambiguous; possibilities:${cands.map((c) => ` '--${c.name}'`).join('')}`,
        );
      }
      const opt = cands[0];
      let value: string | undefined;
      if (opt.arg === 'none') {
        if (eq >= 0) throw new OfctlFatal(`option '--${opt.name}' doesn't allow an argument`);
      } else if (opt.arg === 'optional') {
        value = eq >= 0 ? a.slice(eq + 1) : undefined;
      } else if (eq >= 0) value = a.slice(eq + 1);
      else {
        value = argv[++i];
        if (value === undefined)
          throw new OfctlFatal(`option '--${opt.name}' requires an argument`);
      }
      const raw =
        opt.key === 'v'
          ? value === undefined
            ? '--verbose'
            : `--verbose=${value}`
          : opt.key === 'log-file'
            ? value === undefined
              ? '--log-file'
              : `--log-file=${value}`
            : `--${opt.name}`;
      apply(opt.key, value, raw);
      // getopt hands over options in order: --help, --version and --option act at once.
      if (o.help || o.version || o.listOptions) return o;
      continue;
    }
    if (a.startsWith('-') && a !== '-') {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const so = SHORT[c];
        if (!so) throw new OfctlFatal(`invalid option -- '${c}'`);
        if (so.arg === 'none') {
          apply(so.key, undefined, `-${c}`);
          if (o.help || o.version || o.listOptions) return o;
          continue;
        }
        let value: string | undefined = a.slice(j + 1);
        if (value === '') {
          if (so.arg === 'required') {
            value = argv[++i];
            if (value === undefined) throw new OfctlFatal(`option requires an argument -- '${c}'`);
          } else value = undefined;
        }
        apply(so.key, value, c === 'v' ? `-v${value ?? ''}` : `-${c}`);
        break;
      }
      continue;
    }
    o.args.push(a);
  }

  if (o.help || o.version || o.listOptions) return o;
  if (o.sort.length) o.sort.push({ field: null, desc: true });

  // --bundle implies OpenFlow 1.4 when no bundle-capable version was enabled.
  if (o.bundle && !o.versions.some((v) => v >= 4)) {
    o.versions = [...o.versions.filter((v) => v >= 4), 5];
  } else if (o.bundle) {
    o.versions = o.versions.filter((v) => v >= 4);
  }
  const vp = protocolsFromVersions(o.versions);
  if (!(o.allowedProtocols & vp)) {
    throw new OfctlFatal(
      `None of the enabled OpenFlow versions (${versionNames(o.versions)}) supports any of the enabled flow formats (${protocolsToString(o.allowedProtocols)}).  (Use -O to enable additional OpenFlow versions or -F to enable additional flow formats.)`,
    );
  }
  o.allowedProtocols &= vp;
  o.versions = versionsFromProtocols(o.allowedProtocols);
  return o;
}

export { P_OF13_UP };
