/**
 * ovs-vsctl's logging, reduced to what the tool itself logs: OVS's console line format and
 * sequence numbers, per-module levels for the console and syslog destinations, and the
 * `-v[SPEC]` / `--no-syslog` options.
 *
 * The sequence number counts every message some destination accepts, as OVS's vlog does.
 * Real ovs-vsctl's syslog destination takes INFO by default, so its "Called as ..." line
 * (INFO for commands that may write) takes number 1 and the first console warning is
 * 00002; we have no syslog connection but keep the numbering.
 */
import { writeSync } from 'node:fs';

const LEVELS = ['off', 'emer', 'err', 'warn', 'info', 'dbg'] as const;
export type Level = (typeof LEVELS)[number];
const LEVEL_NAMES = ['OFF', 'EMER', 'ERR', 'WARN', 'INFO', 'DBG'];
const WARN = 3;
const INFO = 4;
const DBG = 5;

interface Levels {
  console: number;
  syslog: number;
}

export class Logger {
  private seq = 0;
  private readonly modules = new Map<string, Levels>();
  private defaults: Levels = { console: WARN, syslog: INFO };
  /** A console line format set with -vPATTERN:console:FORMAT; null is OVS's default. */
  private consolePattern: string | null = null;

  constructor() {
    // ovs-vsctl quiets the reconnect module everywhere before parsing options.
    this.modules.set('reconnect', { console: WARN, syslog: WARN });
  }

  private levels(module: string): Levels {
    let l = this.modules.get(module);
    if (!l) {
      l = { ...this.defaults };
      this.modules.set(module, l);
    }
    return l;
  }

  /** --no-syslog: the vsctl module logs only warnings and worse to syslog. */
  noSyslog(): void {
    this.levels('vsctl').syslog = WARN;
  }

  /**
   * Applies a -v/--verbose SPEC: words naming a module, a destination (console, syslog,
   * file, any) and a level. No SPEC means every module at dbg everywhere. Returns OVS's
   * error text for a bad spec, or null.
   */
  applySpec(spec: string | undefined): string | null {
    if (spec !== undefined && /^pattern:/i.test(spec)) {
      // PATTERN:DESTINATION:FORMAT; the format may itself hold colons.
      const rest = spec.slice('pattern:'.length);
      const colon = rest.indexOf(':');
      const dest = (colon < 0 ? rest : rest.slice(0, colon)).toLowerCase();
      if (colon < 0) return 'missing destination';
      const format = rest.slice(colon + 1);
      if (dest === 'console' || dest === 'any') this.consolePattern = format;
      else if (dest !== 'syslog' && dest !== 'file') return `unknown destination "${dest}"`;
      return null;
    }
    if (spec === undefined || spec === '') {
      this.defaults = { console: DBG, syslog: DBG };
      for (const l of this.modules.values()) {
        l.console = DBG;
        l.syslog = DBG;
      }
      return null;
    }
    let module: string | null = null;
    let dest: 'console' | 'syslog' | 'file' | null = null;
    let level = DBG;
    for (const raw of spec.split(/[ ,:\t]+/)) {
      const w = raw.toLowerCase();
      if (w === '') continue;
      const li = LEVELS.indexOf(w as Level);
      if (li >= 0) level = li;
      else if (w === 'console' || w === 'syslog' || w === 'file') dest = w;
      else if (w !== 'any') module = raw;
    }
    if (dest === 'file') return null;
    const apply = (l: Levels): void => {
      if (dest !== 'syslog') l.console = level;
      if (dest !== 'console') l.syslog = level;
    };
    if (module !== null) {
      apply(this.levels(module));
    } else {
      apply(this.defaults);
      for (const l of this.modules.values()) apply(l);
    }
    return null;
  }

  log(module: string, level: Level, message: string): void {
    const l = this.levels(module);
    const li = LEVELS.indexOf(level);
    if (li > l.console && li > l.syslog) return;
    this.seq++;
    if (li > l.console) return;
    if (this.consolePattern !== null) {
      writeSync(2, `${formatPattern(this.consolePattern, module, li, this.seq, message)}\n`);
      return;
    }
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    writeSync(
      2,
      `${t}|${String(this.seq).padStart(5, '0')}|${module}|${LEVEL_NAMES[li]}|${message}\n`,
    );
  }

  warn(module: string, message: string): void {
    this.log(module, 'warn', message);
  }

  enabled(module: string, level: Level): boolean {
    const l = this.levels(module);
    return LEVELS.indexOf(level) <= Math.max(l.console, l.syslog);
  }
}

const START = Date.now();

/**
 * One log line in a vlog pattern: %c module, %p level, %m message, %N sequence number,
 * %A program, %P pid, %r ms since start, %d/%D date (local/UTC, optional {strftime} ignored
 * beyond OVS's default shape), %t/%T thread name, %n newline, %% percent; an optional
 * [-]width pads as in OVS.
 */
function formatPattern(pattern: string, module: string, li: number, seq: number, msg: string) {
  return pattern.replace(
    /%(-?)(0?)(\d*)([AcdDEmNnpPrtT%])(\{[^}]*\})?/g,
    (_m, left: string, zero: string, width: string, c: string) => {
      let s: string;
      switch (c) {
        case 'A':
          s = 'ovs-vsctl';
          break;
        case 'c':
          s = module;
          break;
        case 'd':
        case 'D': {
          const iso = new Date().toISOString();
          s = c === 'D' ? iso.replace(/\.\d+Z$/, 'Z') : iso.replace('T', ' ').replace(/\..*$/, '');
          break;
        }
        case 'E':
          s = '';
          break;
        case 'm':
          s = msg;
          break;
        case 'N':
          s = String(seq);
          break;
        case 'n':
          s = '\n';
          break;
        case 'p':
          s = LEVEL_NAMES[li] as string;
          break;
        case 'P':
          s = String(process.pid);
          break;
        case 'r':
          s = String(Date.now() - START);
          break;
        case 't':
          s = 'main';
          break;
        case 'T':
          s = '';
          break;
        default:
          s = '%';
      }
      const w = Number(width || 0);
      if (s.length >= w) return s;
      return left ? s.padEnd(w) : s.padStart(w, zero ? '0' : ' ');
    },
  );
}

export { INFO as LEVEL_INFO };
