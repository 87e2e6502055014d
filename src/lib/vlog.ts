/**
 * The logger, after OVS's lib/vlog.c: one process-wide configuration, modules registered by name
 * (`const log = vlog('ovsdb_server')`), six levels (off, emer, err, warn, info, dbg) set per
 * module per destination (console = stderr, syslog, file), OVS's line patterns and sequence
 * numbers, the `-v`/`--verbose`/`--log-file` options and the `vlog/*` unixctl commands.
 *
 * Disabled levels cost one comparison: each module caches the most verbose level any active
 * destination wants (`minLevel`), and `log.dbg(...)` returns at once below it. Callers that
 * build expensive messages guard them with `if (log.dbgEnabled)`.
 *
 * Syslog: Node cannot write to /dev/log (a unix datagram socket), so syslog output goes only to
 * a UDP target given with --syslog-target=HOST:PORT (RFC 5424 format, as OVS sends it there).
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { logdir } from './paths.ts';

export const LEVELS = ['off', 'emer', 'err', 'warn', 'info', 'dbg'] as const;
export type VlogLevel = (typeof LEVELS)[number];
export const DESTINATIONS = ['console', 'syslog', 'file'] as const;
export type VlogDestination = (typeof DESTINATIONS)[number];

const OFF = 0;
const EMER = 1;
const ERR = 2;
const WARN = 3;
const INFO = 4;
const DBG = 5;
const CONSOLE = 0;
const SYSLOG = 1;
const FILE = 2;
const LEVEL_NAMES = ['OFF', 'EMER', 'ERR', 'WARN', 'INFO', 'DBG'];
// RFC 5424 severities for each level (emer → 0 "emergency", ... dbg → 7 "debug").
const SYSLOG_SEVERITY = [7, 0, 3, 4, 6, 7];
const LOG_LOCAL0 = 16 << 3;

const DEFAULT_PATTERNS = [
  '%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m',
  'ovs|%05N|%c%T|%p|%m',
  '%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m',
];

/** A token bucket like OVS's VLOG_RATE_LIMIT_INIT(rate per minute, burst). */
export class VlogRateLimit {
  private tokens: number;
  private lastFill = Date.now();
  private firstDropped = 0;
  private lastDropped = 0;
  private nDropped = 0;
  constructor(
    readonly ratePerMinute = 5,
    readonly burst = 5,
  ) {
    this.tokens = burst;
  }
  /** Returns a "Dropped N messages" note to log first when messages were dropped, '' to log without one, or null to drop. */
  admit(now = Date.now()): string | null {
    const refill = ((now - this.lastFill) * this.ratePerMinute) / 60000;
    if (refill >= 1) {
      this.tokens = Math.min(this.burst, this.tokens + Math.floor(refill));
      this.lastFill = now;
    }
    if (this.tokens < 1) {
      if (this.nDropped++ === 0) this.firstDropped = now;
      this.lastDropped = now;
      return null;
    }
    this.tokens--;
    if (this.nDropped === 0) return '';
    const note = `Dropped ${this.nDropped} log messages in last ${Math.round((now - this.firstDropped) / 1000)} seconds (most recently, ${Math.round((now - this.lastDropped) / 1000)} seconds ago) due to excessive rate`;
    this.nDropped = 0;
    return note;
  }
}

export class VlogModule {
  readonly name: string;
  /** Level per destination (console, syslog, file). */
  readonly levels: number[] = [INFO, INFO, INFO];
  /** Most verbose level that some active destination will print. */
  minLevel = INFO;
  honorRateLimits = true;
  private readonly rl = new VlogRateLimit(5, 5);

  constructor(name: string) {
    this.name = name;
  }
  get dbgEnabled(): boolean {
    return this.minLevel >= DBG;
  }
  get infoEnabled(): boolean {
    return this.minLevel >= INFO;
  }
  get warnEnabled(): boolean {
    return this.minLevel >= WARN;
  }
  isEnabled(level: VlogLevel): boolean {
    return this.minLevel >= LEVELS.indexOf(level);
  }
  emer(msg: string): void {
    if (this.minLevel >= EMER) emit(this, EMER, msg);
  }
  err(msg: string): void {
    if (this.minLevel >= ERR) emit(this, ERR, msg);
  }
  warn(msg: string): void {
    if (this.minLevel >= WARN) emit(this, WARN, msg);
  }
  info(msg: string): void {
    if (this.minLevel >= INFO) emit(this, INFO, msg);
  }
  dbg(msg: string): void {
    if (this.minLevel >= DBG) emit(this, DBG, msg);
  }
  log(level: VlogLevel, msg: string): void {
    const l = LEVELS.indexOf(level);
    if (this.minLevel >= l) emit(this, l, msg);
  }
  /** Rate-limited logging (OVS's VLOG_*_RL), with this module's own bucket or a given one. */
  logRl(level: VlogLevel, msg: string, rl: VlogRateLimit = this.rl): void {
    const l = LEVELS.indexOf(level);
    if (this.minLevel < l) return;
    if (!this.honorRateLimits) {
      emit(this, l, msg);
      return;
    }
    const note = rl.admit();
    if (note === null) return;
    if (note) emit(this, l, note);
    emit(this, l, msg);
  }
  errRl(msg: string, rl?: VlogRateLimit): void {
    this.logRl('err', msg, rl);
  }
  warnRl(msg: string, rl?: VlogRateLimit): void {
    this.logRl('warn', msg, rl);
  }
  infoRl(msg: string, rl?: VlogRateLimit): void {
    this.logRl('info', msg, rl);
  }
  dbgRl(msg: string, rl?: VlogRateLimit): void {
    this.logRl('dbg', msg, rl);
  }
}

// ---- Process-wide state -------------------------------------------------------------------

const modules = new Map<string, VlogModule>();
let programName = process.argv[1]
  ? (process.argv[1].split('/').pop() ?? 'typeswitch').replace(/\.(js|ts|mjs)$/, '')
  : 'typeswitch';
let seqno = 0;
let logFileName: string | null = null;
let logFd = -1;
let syslogSocket: DgramSocket | null = null;
let syslogTarget: { host: string; port: number } | null = null;
let facility = LOG_LOCAL0;
const patterns = DEFAULT_PATTERNS.slice();
const compiled: Formatter[] = patterns.map(compilePattern);
/** Writes console output; tests replace it. */
let consoleWriter: (line: string) => void = (line) => {
  process.stderr.write(line);
};

/** Returns the module named `name`, registering it on first use. */
export function vlog(name: string): VlogModule {
  let m = modules.get(name);
  if (!m) {
    m = new VlogModule(name);
    for (let d = 0; d < 3; d++) m.levels[d] = defaultLevels[d];
    modules.set(name, m);
    updateMinLevel(m);
  }
  return m;
}

export function setProgramName(name: string): void {
  programName = name;
}
export function getProgramName(): string {
  return programName;
}
export function setConsoleWriter(w: (line: string) => void): void {
  consoleWriter = w;
}

function destinationActive(d: number): boolean {
  return d === CONSOLE || (d === FILE ? logFd >= 0 : syslogSocket !== null);
}
function updateMinLevel(m: VlogModule): void {
  let min = OFF;
  for (let d = 0; d < 3; d++) {
    if (destinationActive(d) && m.levels[d] > min) min = m.levels[d];
  }
  m.minLevel = min;
}
function updateAll(): void {
  for (const m of modules.values()) updateMinLevel(m);
}

/** Sets `level` for one module (or all, null) on one destination (or all, null). */
export function setLevels(
  module: string | null,
  dest: VlogDestination | null,
  level: VlogLevel,
): void {
  const l = LEVELS.indexOf(level);
  const ds = dest === null ? [0, 1, 2] : [DESTINATIONS.indexOf(dest)];
  const ms = module === null ? [...modules.values()] : [vlog(module)];
  for (const m of ms) {
    for (const d of ds) m.levels[d] = l;
    updateMinLevel(m);
  }
  if (module === null) defaultLevels = defaultLevels.map((v, i) => (ds.includes(i) ? l : v));
}
// Levels given for "all modules" also apply to modules registered later (OVS registers all
// modules at start-up; we register lazily, so remember the wildcard settings).
let defaultLevels = [INFO, INFO, INFO];

export function setPattern(dest: VlogDestination | null, pattern: string): void {
  const ds = dest === null ? [0, 1, 2] : [DESTINATIONS.indexOf(dest)];
  for (const d of ds) {
    patterns[d] = pattern;
    compiled[d] = compilePattern(pattern);
  }
}

/**
 * Applies a spec as `-v`/`--verbose=SPEC` and `vlog/set` take it: words separated by spaces,
 * commas, colons or tabs naming at most one module, destination and level (`ANY` = all), or
 * `PATTERN:DEST:PATTERN`, or `FACILITY:NAME`. Returns OVS's error text, or null on success.
 */
export function setLevelsFromString(spec: string): string | null {
  const words = spec.split(/[ ,:\t]+/).filter((w) => w !== '');
  const first = words[0]?.toLowerCase();
  if (first === 'pattern') {
    const m = /^\s*pattern[ ,:\t]+([^ ,:\t]+)[ ,:\t]?(.*)$/is.exec(spec);
    if (!m) return 'missing destination';
    const d = m[1].toLowerCase();
    if (d !== 'any' && !DESTINATIONS.includes(d as VlogDestination)) {
      return `unknown destination "${m[1]}"`;
    }
    setPattern(d === 'any' ? null : (d as VlogDestination), m[2]);
    return null;
  }
  if (first === 'facility') {
    const name = spec.replace(/^\s*facility[ ,:\t]?/i, '').toLowerCase();
    const value = FACILITIES.indexOf(name);
    if (value < 0) return 'invalid facility';
    facility = value << 3;
    return null;
  }
  let module: string | null = null;
  let dest: VlogDestination | null = null;
  let level: VlogLevel | null = null;
  for (const w of words) {
    const lw = w.toLowerCase();
    if (lw === 'any') continue;
    if (DESTINATIONS.includes(lw as VlogDestination)) {
      if (dest) return 'cannot specify multiple destinations';
      dest = lw as VlogDestination;
    } else if (levelFromName(lw) !== null) {
      if (level) return 'cannot specify multiple levels';
      level = levelFromName(lw);
    } else if (modules.has(w) || OVS_MODULES.has(w)) {
      if (module) return 'cannot specify multiple modules';
      module = w;
    } else {
      return `no destination, level, or module "${w}"`;
    }
  }
  setLevels(module, dest, level ?? 'dbg');
  return null;
}

/**
 * Module names of OVS 3.1's programs (as its ovsdb-server and ovs-vswitchd list them in
 * vlog/list). Command lines and scripts written for OVS name them in -v specs (OVS's own tests
 * start ovs-vswitchd with -vvconn -vofproto_dpif); we accept them even where our code has no
 * module of that name yet, so such a command line starts us instead of failing.
 */
const OVS_MODULES = new Set(
  (
    'appctl backtrace bfd bond bridge bundle bundles cfm collectors command_line connmgr ' +
    'conntrack conntrack_tp coverage ct_dpif daemon daemon_unix db_ctl_base dns_resolve dpdk ' +
    'dpif dpif_lookup_autovalidator dpif_lookup_generic dpif_mfex_extract_study dpif_netdev ' +
    'dpif_netdev_extract dpif_netdev_impl dpif_netdev_lookup dpif_netlink dpif_netlink_rtnl ' +
    'entropy fail_open fatal_signal flow hmap in_band ipf ipfix jsonrpc lacp lldp lldpd ' +
    'lldpd_structs lockfile memory meta_flow native_tnl netdev netdev_afxdp netdev_dummy ' +
    'netdev_linux netdev_offload netdev_offload_tc netdev_vport netflow netlink ' +
    'netlink_conntrack netlink_notifier netlink_socket nx_match odp_execute odp_execute_impl ' +
    'odp_util ofctl ofp_actions ofp_bundle ofp_connection ofp_errors ofp_flow ofp_group ' +
    'ofp_match ofp_meter ofp_monitor ofp_msgs ofp_packet ofp_port ofp_protocol ofp_queue ' +
    'ofp_table ofp_util ofproto ofproto_dpif ofproto_dpif_mirror ofproto_dpif_monitor ' +
    'ofproto_dpif_rid ofproto_dpif_upcall ofproto_dpif_xlate ofproto_xlate_cache ovs_lldp ' +
    'ovs_numa ovs_rcu ovs_replay ovs_router ovs_thread ovsdb ovsdb_client ovsdb_cs ovsdb_error ' +
    'ovsdb_file ovsdb_idl ovsdb_jsonrpc_server ovsdb_log ovsdb_monitor ovsdb_rbac ovsdb_server ' +
    'ovsdb_tool ovsdb_util ox_stat pcap pmd_perf poll_loop process raft raft_rpc rconn reconnect ' +
    'relay replication route_table rstp rstp_sm sflow sha1 signals socket_util socket_util_unix ' +
    'storage stp stream stream_fd stream_replay stream_ssl stream_tcp stream_unix svec ' +
    'system_stats tc timeval transaction transaction_forward trigger tunnel unixctl ' +
    'userspace_tso util uuid vconn vconn_stream vlog vsctl vswitchd'
  ).split(' '),
);

function levelFromName(w: string): VlogLevel | null {
  // Only the exact level names, case-insensitively (the caller lower-cases).
  return (LEVELS as readonly string[]).includes(w) ? (w as VlogLevel) : null;
}

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'clock',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock2',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

// ---- Output --------------------------------------------------------------------------------

type Formatter = (m: VlogModule, level: number, msg: string, now: number) => string;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** strftime for the conversions OVS's patterns use, plus OVS's `###` for milliseconds. */
function strftime(fmt: string, ms: number, utc: boolean): string {
  const d = new Date(ms);
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const day = utc ? d.getUTCDate() : d.getDate();
  const H = utc ? d.getUTCHours() : d.getHours();
  const M = utc ? d.getUTCMinutes() : d.getMinutes();
  const S = utc ? d.getUTCSeconds() : d.getSeconds();
  let out = fmt.replace(/%([YmdHMSehTFb%])/g, (_, c: string) => {
    switch (c) {
      case 'Y':
        return String(Y);
      case 'm':
        return pad2(mo + 1);
      case 'd':
        return pad2(day);
      case 'e':
        return day < 10 ? ` ${day}` : String(day);
      case 'H':
        return pad2(H);
      case 'M':
        return pad2(M);
      case 'S':
        return pad2(S);
      case 'T':
        return `${pad2(H)}:${pad2(M)}:${pad2(S)}`;
      case 'F':
        return `${Y}-${pad2(mo + 1)}-${pad2(day)}`;
      case 'h':
      case 'b':
        return MONTHS[mo];
      default:
        return '%';
    }
  });
  if (out.includes('###')) out = out.replace('###', String(ms % 1000).padStart(3, '0'));
  return out;
}

const bootTime = Date.now();

/** Compiles an OVS log pattern (`%c`, `%05N`, `%D{...}`, `%-10p`, ...) into a formatter. */
export function compilePattern(pattern: string): Formatter {
  const parts: Formatter[] = [];
  let i = 0;
  let lit = '';
  const flushLit = (): void => {
    if (lit) {
      const s = lit;
      parts.push(() => s);
      lit = '';
    }
  };
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch !== '%') {
      lit += ch;
      i++;
      continue;
    }
    i++;
    let left = false;
    let padChar = ' ';
    if (pattern[i] === '-') {
      left = true;
      i++;
    }
    if (pattern[i] === '0') {
      padChar = '0';
      i++;
    }
    let width = 0;
    while (i < pattern.length && pattern[i] >= '0' && pattern[i] <= '9') {
      width = width * 10 + Number(pattern[i]);
      i++;
    }
    const conv = pattern[i++];
    let arg: string | null = null;
    if ((conv === 'c' || conv === 'd' || conv === 'D') && pattern[i] === '{') {
      const close = pattern.indexOf('}', i);
      arg = pattern.slice(i + 1, close < 0 ? undefined : close);
      i = close < 0 ? pattern.length : close + 1;
    }
    let f: Formatter;
    switch (conv) {
      case 'A':
        f = () => programName;
        break;
      case 'B':
        f = (_m, l) => String(facility + SYSLOG_SEVERITY[l]);
        break;
      case 'c':
        f = (m) => m.name;
        break;
      case 'd': {
        const fmt = arg ?? '%Y-%m-%d %H:%M:%S.###';
        f = (_m, _l, _s, now) => strftime(fmt, now, false);
        break;
      }
      case 'D': {
        const fmt = arg ?? '%Y-%m-%d %H:%M:%S.###';
        f = (_m, _l, _s, now) => strftime(fmt, now, true);
        break;
      }
      case 'E': {
        const h = hostname();
        f = () => h;
        break;
      }
      case 'm':
        f = (_m, _l, s) => s.replace(/\n+$/, '');
        break;
      case 'N':
        f = () => String(seqno);
        break;
      case 'n':
        f = () => '\n';
        break;
      case 'p':
        f = (_m, l) => LEVEL_NAMES[l];
        break;
      case 'P':
        f = () => String(process.pid);
        break;
      case 'r':
        f = (_m, _l, _s, now) => String(now - bootTime);
        break;
      case 't':
        f = () => 'main';
        break;
      case 'T':
        f = () => '';
        break;
      default: {
        const c = conv ?? '';
        f = () => c;
      }
    }
    flushLit();
    if (width > 0) {
      const inner = f;
      f = (m, l, s, now) => {
        const v = inner(m, l, s, now);
        return left ? v.padEnd(width, padChar) : v.padStart(width, padChar);
      };
    }
    parts.push(f);
  }
  flushLit();
  return (m, l, s, now) => {
    let out = '';
    for (const p of parts) out += p(m, l, s, now);
    return out;
  };
}

let syslogFormatter: Formatter | undefined;

function emit(m: VlogModule, level: number, msg: string): void {
  seqno++;
  const now = Date.now();
  if (m.levels[CONSOLE] >= level) {
    consoleWriter(`${compiled[CONSOLE](m, level, msg, now)}\n`);
  }
  if (syslogSocket && syslogTarget && m.levels[SYSLOG] >= level) {
    syslogFormatter ??= compilePattern('<%B>1 %D{%Y-%m-%dT%H:%M:%S.###Z} %E %A %P %c - \ufeff%m');
    const line = syslogFormatter(m, level, msg, now);
    syslogSocket.send(line, syslogTarget.port, syslogTarget.host);
  }
  if (logFd >= 0 && m.levels[FILE] >= level) {
    try {
      writeSync(logFd, `${compiled[FILE](m, level, msg, now)}\n`);
      if (level === EMER) fsyncSync(logFd);
    } catch {
      // A full disk must not take the daemon down with it.
    }
  }
}

// ---- Log file ------------------------------------------------------------------------------

/** The default log file, as `--log-file` without a name uses: $OVS_LOGDIR/<program>.log. */
export function defaultLogFile(): string {
  return join(logdir(), `${programName}.log`);
}

/**
 * Opens (or reopens) the log file in append mode. Throws the open error (ENOENT, EACCES...).
 */
export function setLogFile(path: string | null): void {
  const name = path === null ? defaultLogFile() : isAbsolute(path) ? path : resolve(path);
  const fd = openSync(name, 'a', 0o640);
  if (logFd >= 0) {
    vlogSelf.info('closing log file');
    closeSync(logFd);
  }
  logFd = fd;
  logFileName = name;
  updateAll();
  vlogSelf.info(`opened log file ${name}`);
}

export function getLogFile(): string | null {
  return logFileName;
}

/** vlog/reopen: reopens the same file (after logrotate renamed it). */
export function reopenLogFile(): void {
  if (logFileName === null) throw new Error('Logging to file not configured');
  setLogFile(logFileName);
}

export function closeLogFile(): void {
  if (logFd >= 0) {
    closeSync(logFd);
    logFd = -1;
    updateAll();
  }
}

export function setSyslogTarget(target: string): void {
  const c = target.lastIndexOf(':');
  const host = target.slice(0, c).replace(/^\[|\]$/g, '');
  const port = Number(target.slice(c + 1));
  if (c < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`${target}: bad syslog target (expected HOST:PORT)`);
  }
  syslogSocket?.close();
  syslogSocket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  syslogSocket.unref();
  syslogSocket.on('error', () => {});
  syslogTarget = { host, port };
  updateAll();
}

const vlogSelf = vlog('vlog');

// ---- Command line --------------------------------------------------------------------------

export class VlogOptionError extends Error {
  override readonly name = 'VlogOptionError';
}

/**
 * Applies one vlog command-line option if `arg` is one: `-v`, `-vSPEC`, `--verbose`,
 * `--verbose=SPEC`, `--log-file`, `--log-file=PATH`, `--syslog-target=HOST:PORT`,
 * `--syslog-method=M` (accepted, ignored). `next` supplies a separate argument for the options
 * that require one. Returns how many argv entries it consumed (0 = not a vlog option); throws
 * VlogOptionError with OVS's wording on a bad spec.
 */
export function applyVlogOption(arg: string, next?: string): number {
  let spec: string | undefined;
  if (arg === '-v' || arg === '--verbose') {
    setLevels(null, null, 'dbg');
    return 1;
  }
  if (arg.startsWith('-v') && !arg.startsWith('--')) spec = arg.slice(2);
  else if (arg.startsWith('--verbose=')) spec = arg.slice('--verbose='.length);
  if (spec !== undefined) {
    const err = setLevelsFromString(spec);
    if (err) throw new VlogOptionError(`processing "${spec}": ${err}`);
    return 1;
  }
  if (arg === '--log-file' || arg.startsWith('--log-file=')) {
    pendingLogFile = arg.length > '--log-file='.length ? arg.slice('--log-file='.length) : null;
    wantLogFile = true;
    return 1;
  }
  for (const opt of ['--syslog-target', '--syslog-method'] as const) {
    if (arg === opt || arg.startsWith(`${opt}=`)) {
      const value = arg === opt ? next : arg.slice(opt.length + 1);
      if (value === undefined) throw new VlogOptionError(`option '${opt}' requires an argument`);
      if (opt === '--syslog-target') setSyslogTarget(value);
      return arg === opt ? 2 : 1;
    }
  }
  return 0;
}

let wantLogFile = false;
let pendingLogFile: string | null = null;

/**
 * Opens the log file requested by `--log-file`, if any. Daemons call it after --detach and
 * --no-chdir are settled (a relative name is resolved against the starting directory).
 */
export function openRequestedLogFile(): void {
  if (wantLogFile) setLogFile(pendingLogFile);
}
export function logFileRequested(): boolean {
  return wantLogFile;
}

/** Help text for the vlog options, as OVS's vlog_usage prints it. */
export function vlogUsage(): string {
  return `
Logging options:
  -vSPEC, --verbose=SPEC   set logging levels
  -v, --verbose            set maximum verbosity level
  --log-file[=FILE]        enable logging to specified FILE
                           (default: ${defaultLogFile()})
  --syslog-method=(libc|unix:file|udp:ip:port)
                           specify how to send messages to syslog daemon
  --syslog-target=HOST:PORT  also send syslog msgs to HOST:PORT via UDP
`;
}

// ---- unixctl command bodies (registered by daemon.ts) --------------------------------------

/** vlog/list: OVS's table, modules sorted. */
export function listLevels(): string {
  let s = '                 console    syslog    file\n';
  s += '                 -------    ------    ------\n';
  const lines: string[] = [];
  for (const m of modules.values()) {
    const lv = (d: number): string => LEVEL_NAMES[m.levels[d]].padStart(4);
    let line = `${m.name.padEnd(16)}  ${lv(CONSOLE)}       ${lv(SYSLOG)}       ${lv(FILE)}`;
    if (!m.honorRateLimits) line += '    (rate limiting disabled)';
    lines.push(`${line}\n`);
  }
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s + lines.join('');
}

/** vlog/list-pattern. */
export function listPatterns(): string {
  let s = '         prefix                            format\n';
  s += '         ------                            ------\n';
  // OVS's destination enum order, not vlog/list's column order.
  for (const d of [SYSLOG, CONSOLE, FILE]) {
    const name = DESTINATIONS[d].toUpperCase();
    s += `${name.padEnd(7)}  ${'none'.padEnd(32)}  ${patterns[d]}\n`;
  }
  return s;
}

/** vlog/enable-rate-limit and vlog/disable-rate-limit. Returns an error text or null. */
export function setRateLimits(names: string[], enable: boolean): string | null {
  if (names.length === 0) {
    for (const m of modules.values()) m.honorRateLimits = enable;
    return null;
  }
  for (const n of names) {
    const m = modules.get(n);
    if (!m) return 'unknown module';
    m.honorRateLimits = enable;
  }
  return null;
}

/** For tests: forget configuration (levels, patterns, log file), keep registered modules. */
export function resetVlogForTests(): void {
  closeLogFile();
  defaultLevels = [INFO, INFO, INFO];
  for (let d = 0; d < 3; d++) setPattern(DESTINATIONS[d], DEFAULT_PATTERNS[d]);
  for (const m of modules.values()) {
    m.levels.splice(0, 3, INFO, INFO, INFO);
    m.honorRateLimits = true;
    updateMinLevel(m);
  }
  seqno = 0;
  wantLogFile = false;
  pendingLogFile = null;
}
