/**
 * ovs-vsctl's command line before the commands: the global options (parsed the way glibc's
 * getopt_long does for real ovs-vsctl: long options by unique prefix, "+" mode so parsing
 * stops at the first command word, "--" consumed), the per-command options that may come
 * first, and the check for typographic mistakes pasted from web pages.
 */
import { applyTableOption, defaultTableStyle, type TableStyle } from '../../lib/table-format.ts';
import { fatal } from './ctl.ts';

export interface GlobalOptions {
  db: string | null;
  noWait: boolean;
  dryRun: boolean;
  oneline: boolean;
  /** Seconds; 0 means none. */
  timeout: number;
  retry: boolean;
  style: TableStyle;
  /** -v[SPEC] and --no-syslog, in the order given (null stands for --no-syslog). */
  logSpecs: (string | undefined | null)[];
  privateKey?: string;
  certificate?: string;
  caCert?: string;
  /** --bootstrap-ca-cert: caCert is learnt from the server on first contact if missing. */
  bootstrapCaCert?: boolean;
  action: 'run' | 'help' | 'version' | 'commands' | 'options';
}

type HasArg = 'no' | 'required' | 'optional';
interface LongOption {
  name: string;
  hasArg: HasArg;
  /** Short equivalent, or a shared tag for options that getopt treats alike. */
  val: string;
}

const GLOBAL_OPTIONS: readonly LongOption[] = [
  { name: 'db', hasArg: 'required', val: 'db' },
  { name: 'no-syslog', hasArg: 'no', val: 'no-syslog' },
  { name: 'no-wait', hasArg: 'no', val: 'no-wait' },
  { name: 'dry-run', hasArg: 'no', val: 'dry-run' },
  { name: 'oneline', hasArg: 'no', val: 'oneline' },
  { name: 'timeout', hasArg: 'required', val: 't' },
  { name: 'retry', hasArg: 'no', val: 'retry' },
  { name: 'help', hasArg: 'no', val: 'h' },
  { name: 'commands', hasArg: 'no', val: 'commands' },
  { name: 'options', hasArg: 'no', val: 'options' },
  { name: 'leader-only', hasArg: 'no', val: 'leader-only' },
  { name: 'no-leader-only', hasArg: 'no', val: 'no-leader-only' },
  { name: 'shuffle-remotes', hasArg: 'no', val: 'shuffle-remotes' },
  { name: 'no-shuffle-remotes', hasArg: 'no', val: 'no-shuffle-remotes' },
  { name: 'version', hasArg: 'no', val: 'V' },
  { name: 'verbose', hasArg: 'optional', val: 'v' },
  { name: 'log-file', hasArg: 'optional', val: 'log-file' },
  { name: 'syslog-method', hasArg: 'required', val: 'syslog-method' },
  { name: 'syslog-target', hasArg: 'required', val: 'syslog-target' },
  { name: 'format', hasArg: 'required', val: 'f' },
  { name: 'data', hasArg: 'required', val: 'd' },
  { name: 'no-headings', hasArg: 'no', val: 'no-headings' },
  { name: 'pretty', hasArg: 'no', val: 'pretty' },
  { name: 'bare', hasArg: 'no', val: 'bare' },
  { name: 'max-column-width', hasArg: 'required', val: 'max-column-width' },
  { name: 'private-key', hasArg: 'required', val: 'p' },
  { name: 'certificate', hasArg: 'required', val: 'c' },
  { name: 'ca-cert', hasArg: 'required', val: 'C' },
  { name: 'ssl-protocols', hasArg: 'required', val: 'ssl-protocols' },
  { name: 'ssl-ciphers', hasArg: 'required', val: 'ssl-ciphers' },
  { name: 'bootstrap-ca-cert', hasArg: 'required', val: 'bootstrap-ca-cert' },
  { name: 'peer-ca-cert', hasArg: 'required', val: 'peer-ca-cert' },
];

/** Command options accepted before the first command (getopt sees them as "local"). */
export const LOCAL_OPTIONS: readonly LongOption[] = [
  { name: 'may-exist', hasArg: 'no', val: 'local' },
  { name: 'if-exists', hasArg: 'no', val: 'local' },
  { name: 'with-iface', hasArg: 'no', val: 'local' },
  { name: 'id', hasArg: 'required', val: 'local' },
  { name: 'columns', hasArg: 'required', val: 'local' },
  { name: 'real', hasArg: 'no', val: 'local' },
  { name: 'fake', hasArg: 'no', val: 'local' },
  { name: 'fake-iface', hasArg: 'no', val: 'local' },
  { name: 'inactivity-probe', hasArg: 'required', val: 'local' },
  { name: 'all', hasArg: 'no', val: 'local' },
  { name: 'bootstrap', hasArg: 'no', val: 'local' },
];

const ALL_OPTIONS = [...GLOBAL_OPTIONS, ...LOCAL_OPTIONS];

/** --options: every global option, with its short form after it (for shell completion). */
export function optionList(): string {
  let s = '';
  for (const o of GLOBAL_OPTIONS) {
    const arg = o.hasArg !== 'no';
    s += `--${o.name}${arg ? '=ARG' : ''}\n`;
    if (o.val.length === 1) s += `-${o.val}${arg ? ' ARG' : ''}\n`;
  }
  return s;
}
/** Short options and whether they take an argument ("v" takes an optional one). */
const SHORT: Readonly<Record<string, HasArg>> = {
  t: 'required',
  h: 'no',
  V: 'no',
  v: 'optional',
  f: 'required',
  d: 'required',
  p: 'required',
  c: 'required',
  C: 'required',
};

function findLong(name: string): LongOption {
  const exact = ALL_OPTIONS.find((o) => o.name === name);
  if (exact) return exact;
  const cands = ALL_OPTIONS.filter((o) => o.name.startsWith(name));
  if (cands.length === 0) fatal(`unrecognized option '--${name}'`);
  const first = cands[0] as LongOption;
  if (cands.some((o) => o.hasArg !== first.hasArg || o.val !== first.val)) {
    fatal(
      `option '--${name}' is ambiguous; possibilities:${cands.map((o) => ` '--${o.name}'`).join('')}`,
    );
  }
  return first;
}

export interface ParsedOptions {
  options: GlobalOptions;
  /** Command options given before the first command, e.g. "--may-exist". */
  local: Map<string, string | null>;
  /** Index of the first command word in argv. */
  rest: number;
}

/** Parses the global options of argv (without the program name). */
export function parseGlobalOptions(argv: readonly string[]): ParsedOptions {
  const o: GlobalOptions = {
    db: null,
    noWait: false,
    dryRun: false,
    oneline: false,
    timeout: 0,
    retry: false,
    style: defaultTableStyle(),
    logSpecs: [],
    action: 'run',
  };
  const local = new Map<string, string | null>();
  let i = 0;
  const apply = (val: string, name: string, arg: string | undefined): void => {
    switch (val) {
      case 'db':
        o.db = arg as string;
        break;
      case 'no-syslog':
        o.logSpecs.push(null);
        break;
      case 'no-wait':
        o.noWait = true;
        break;
      case 'dry-run':
        o.dryRun = true;
        break;
      case 'oneline':
        o.oneline = true;
        break;
      case 't': {
        const s = arg as string;
        const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
        if (!(n > 0) || n > 4294967295) fatal(`value ${s} on -t or --timeout is invalid`);
        o.timeout = n;
        break;
      }
      case 'retry':
        o.retry = true;
        break;
      case 'h':
        if (o.action === 'run') o.action = 'help';
        break;
      case 'commands':
        if (o.action === 'run') o.action = 'commands';
        break;
      case 'options':
        if (o.action === 'run') o.action = 'options';
        break;
      case 'V':
        if (o.action === 'run') o.action = 'version';
        break;
      case 'v':
        o.logSpecs.push(arg);
        break;
      case 'f':
      case 'd':
      case 'no-headings':
      case 'pretty':
      case 'bare':
      case 'max-column-width':
        try {
          applyTableOption(o.style, val, arg);
        } catch (e) {
          fatal((e as Error).message);
        }
        break;
      case 'p':
        o.privateKey = arg;
        break;
      case 'c':
        o.certificate = arg;
        break;
      case 'C':
        o.caCert = arg;
        o.bootstrapCaCert = false;
        break;
      case 'bootstrap-ca-cert':
        o.caCert = arg;
        o.bootstrapCaCert = true;
        break;
      case 'local':
        local.set(`--${name}`, arg ?? null);
        break;
      default:
        // leader-only, shuffle-remotes, log-file, syslog-*, ssl-*: accepted, no effect here.
        break;
    }
  };
  while (i < argv.length) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const opt = findLong(name);
      let arg: string | undefined;
      if (eq >= 0) {
        if (opt.hasArg === 'no') fatal(`option '--${opt.name}' doesn't allow an argument`);
        arg = a.slice(eq + 1);
      } else if (opt.hasArg === 'required') {
        if (i + 1 >= argv.length) fatal(`option '--${opt.name}' requires an argument`);
        arg = argv[++i];
      }
      i++;
      apply(opt.val, opt.name, arg);
      // --help, --version, --commands and --options act (and exit) as soon as they are seen.
      if (o.action !== 'run') break;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      let j = 1;
      i++;
      while (j < a.length) {
        const c = a[j] as string;
        const kind = SHORT[c];
        if (!kind) fatal(`invalid option -- '${c}'`);
        if (kind === 'no') {
          apply(c, c, undefined);
          if (o.action !== 'run') return { options: o, local, rest: i };
          j++;
          continue;
        }
        let arg: string | undefined = a.slice(j + 1);
        if (arg === '') {
          if (kind === 'required') {
            if (i >= argv.length) fatal(`option requires an argument -- '${c}'`);
            arg = argv[i++];
          } else {
            arg = undefined;
          }
        }
        apply(c, c, arg);
        break;
      }
      continue;
    }
    break;
  }
  return { options: o, local, rest: i };
}

/* ---------- typographic mistakes ---------- */

const DASHES: Readonly<Record<string, string>> = {
  '\u2014': 'an em dash (U+2014)',
  '\u2013': 'an en dash (U+2013)',
  '\u2012': 'a figure dash (U+2012)',
  '\u2015': 'a horizontal bar (U+2015)',
  '\u2212': 'a minus sign (U+2212)',
};
const QUOTES: Readonly<Record<string, [string, string]>> = {
  '\u201c': ['a left double quotation mark (U+201C)', '"'],
  '\u201d': ['a right double quotation mark (U+201D)', '"'],
  '\u201e': ['a double low-9 quotation mark (U+201E)', '"'],
  '\u2018': ['a left single quotation mark (U+2018)', "'"],
  '\u2019': ['a right single quotation mark (U+2019)', "'"],
  '\u00ab': ['a left guillemet (U+00AB)', '"'],
  '\u00bb': ['a right guillemet (U+00BB)', '"'],
};

const LONG_NAMES = new Set(ALL_OPTIONS.map((o) => o.name));

/**
 * Looks for what web pages do to ovs-vsctl commands: a typographic dash where "--" was
 * meant, a long option with one dash ("-id=@x"), and curly quotes where the shell or
 * ovs-vsctl needed straight ones. Returns one message per mistake, each naming the fix.
 * Only positions where the mistake changes the meaning are checked, so a curly apostrophe
 * inside a description is left alone.
 */
export function findTypographicMistakes(argv: readonly string[]): string[] {
  const found: string[] = [];
  let optionPosition = true;
  for (const a of argv) {
    const first = a[0] ?? '';
    const dash = DASHES[first];
    if (dash) {
      let n = 0;
      while (n < a.length && DASHES[a[n] as string]) n++;
      if (n === a.length) found.push(`"${a}" is ${dash}; use "--" to separate commands`);
      else found.push(`"${a}" starts with ${dash}; use "--${a.slice(n)}"`);
      optionPosition = true;
      continue;
    }
    if (a === '--') {
      optionPosition = true;
      continue;
    }
    if (optionPosition && first === '-' && a[1] !== '-' && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(1) : a.slice(1, eq);
      if (LONG_NAMES.has(name)) found.push(`"${a}" has a single dash; use "-${a}"`);
    }
    if (first !== '-') optionPosition = false;
    for (let k = 0; k < a.length; k++) {
      const q = QUOTES[a[k] as string];
      if (!q) continue;
      const prev = k === 0 ? '' : (a[k - 1] as string);
      if (k === 0 || k === a.length - 1 || prev === '=' || prev === ':') {
        const esc = q[1] === '"' ? `\\" or '"'` : `"'"`;
        found.push(
          `"${a}" contains ${q[0]}; use a straight quote ${q[1]} (type ${esc} in the shell)`,
        );
        break;
      }
    }
  }
  return found;
}
