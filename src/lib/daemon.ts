/**
 * Daemon start-up, after OVS's lib/daemon-unix.c: `--pidfile[=FILE]`, `--overwrite-pidfile`,
 * `--detach`, `--monitor`, `--no-chdir`, `--unixctl=PATH`, plus the vlog options, and the
 * unixctl commands every OVS daemon answers (exit, version, list-commands, vlog/*,
 * memory/show, coverage/show, coverage/read-counter).
 *
 * Node cannot fork, so --detach and --monitor re-spawn the same node process with the same
 * arguments and an environment marker saying which stage it is:
 *
 *   foreground (stage unset)  --detach: spawn the next stage detached, wait for "ready" on a
 *                              pipe (fd 3 of the child), relay its stderr until then, exit 0
 *                              once ready (or 1 if it died first), like daemonize_start/complete.
 *   monitor    (--monitor)    spawn the daemon, restart it when it crashes (a crash signal, or
 *                              exit status 70, which our uncaught-exception handler uses),
 *                              at most once per 10 s; exit when it exits any other way.
 *   daemon                    does the work; `daemon.ready()` signals the stage above.
 *
 * The daemon writes the pidfile (refusing to start if it names a live process), removes it at
 * exit, and with --detach changes to "/" once ready unless --no-chdir: callers resolve
 * relative paths in their own arguments before calling `ready()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { coverageRead, coverageShow, startCoverageSampler } from './coverage.ts';
import { rundir } from './paths.ts';
import { createPidfile, removePidfile } from './pidfile.ts';
import { UnixctlError, UnixctlServer } from './unixctl/server.ts';
import {
  applyVlogOption,
  closeLogFile,
  getLogFile,
  listLevels,
  listPatterns,
  openRequestedLogFile,
  reopenLogFile,
  setConsoleWriter,
  setLevels,
  setLevelsFromString,
  setProgramName,
  setRateLimits,
  vlog,
} from './vlog.ts';

const log = vlog('daemon');

/** Environment marker naming the stage of a re-spawned process. */
export const DAEMON_STAGE_ENV = 'TYPESWITCH_DAEMON_STAGE';
/** Exit status a crashed daemon uses, so that --monitor restarts it (EX_SOFTWARE). */
export const CRASH_EXIT_STATUS = 70;
const READY_FD = 3;
const CRASH_SIGNALS = new Set([
  'SIGABRT',
  'SIGALRM',
  'SIGBUS',
  'SIGFPE',
  'SIGILL',
  'SIGPIPE',
  'SIGSEGV',
  'SIGXCPU',
  'SIGXFSZ',
]);

export interface DaemonOptions {
  /** Absolute pidfile path, or null for none. */
  pidfile: string | null;
  overwritePidfile: boolean;
  detach: boolean;
  monitor: boolean;
  /** False with --no-chdir. */
  chdir: boolean;
  /** --unixctl=PATH (null: default path; 'none': no control socket). */
  unixctl: string | null;
}

export class DaemonOptionError extends Error {
  override readonly name = 'DaemonOptionError';
}

export function defaultDaemonOptions(): DaemonOptions {
  return {
    pidfile: null,
    overwritePidfile: false,
    detach: false,
    monitor: false,
    chdir: true,
    unixctl: null,
  };
}

/** OVS: a relative pidfile name lives in the run directory. */
export function pidfileName(program: string, name: string | null): string {
  if (name === null || name === '') return join(rundir(), `${program}.pid`);
  return isAbsolute(name) ? name : join(rundir(), name);
}

/**
 * Splits daemon and vlog options out of `argv` (which excludes node and the script). Returns
 * the options and the remaining arguments in order. Throws DaemonOptionError or
 * VlogOptionError with OVS's wording.
 */
export function parseDaemonArgs(
  program: string,
  argv: string[],
): { options: DaemonOptions; rest: string[] } {
  const options = defaultDaemonOptions();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--pidfile' || a.startsWith('--pidfile=')) {
      options.pidfile = pidfileName(program, a === '--pidfile' ? null : a.slice(10));
    } else if (a === '--overwrite-pidfile') {
      options.overwritePidfile = true;
    } else if (a === '--detach') {
      options.detach = true;
    } else if (a === '--monitor') {
      options.monitor = true;
    } else if (a === '--no-chdir') {
      options.chdir = false;
    } else if (a === '--unixctl' || a.startsWith('--unixctl=')) {
      const v = a === '--unixctl' ? argv[++i] : a.slice(10);
      if (v === undefined) throw new DaemonOptionError("option '--unixctl' requires an argument");
      options.unixctl = v;
    } else {
      const n = applyVlogOption(a, argv[i + 1]);
      if (n === 0) rest.push(a);
      else i += n - 1;
    }
  }
  return { options, rest };
}

export const DAEMON_USAGE = `
Daemon options:
  --detach                run in background as daemon
  --pidfile[=FILE]        create pidfile (default: ${'$OVS_RUNDIR'}/PROGRAM.pid)
  --overwrite-pidfile     with --pidfile, start even if already running
  --monitor               creates a process to monitor this daemon
  --no-chdir              do not chdir to '/'
  --unixctl=SOCKET        override default control socket name
`;

export interface Daemon {
  readonly program: string;
  readonly options: DaemonOptions;
  /** The control socket server (null with --unixctl=none). */
  readonly unixctl: UnixctlServer | null;
  /**
   * Start-up is complete (OVS's daemonize_complete): tells a waiting --detach parent to exit,
   * silences the console if detached, and changes to "/" unless --no-chdir.
   */
  ready(): void;
  /** Runs the exit hooks, removes the pidfile, closes the control socket, exits. */
  exit(status?: number): Promise<never>;
  /** Hooks run by exit(), the `exit` command and SIGTERM/SIGINT, newest first. */
  onExit(hook: () => void | Promise<void>): void;
  /** Adds `key:value` pairs to memory/show. */
  addMemoryReporter(report: () => Record<string, number>): void;
}

export interface StartDaemonOptions {
  program: string;
  /** Already parsed options; else parsed from `argv` (default process.argv.slice(2)). */
  options?: DaemonOptions;
  argv?: string[];
  /** Minimum seconds between crash restarts under --monitor (OVS: 10). */
  monitorRestartDelayMs?: number;
  /**
   * `exit` takes `--cleanup` (ovs-vswitchd's: real OVS then also deletes the datapaths and
   * ports it created; ours live only in this process, so both forms end the same way).
   */
  exitCleanup?: boolean;
}

/**
 * Starts a daemon. In a --detach parent or a --monitor supervisor this never resolves (that
 * process exits when its job is done); in the daemon itself it resolves once the pidfile, log
 * file and control socket are set up. Errors (pidfile in use, socket in use) are thrown.
 */
export async function startDaemon(opts: StartDaemonOptions): Promise<Daemon> {
  const { program } = opts;
  setProgramName(program);
  // The process name (/proc/PID/comm, ps, top) is the program's, as for OVS's C daemons, not
  // "node": scripts and OVS's own tests look daemons up by it.
  process.title = program;
  const options =
    opts.options ?? parseDaemonArgs(program, opts.argv ?? process.argv.slice(2)).options;
  const stage = process.env[DAEMON_STAGE_ENV];
  // Not inherited by processes the daemon itself starts (they may want to detach too).
  delete process.env[DAEMON_STAGE_ENV];

  if (stage === undefined && options.detach) {
    return runDetachParent(options.monitor ? 'monitor' : 'daemon');
  }
  if ((stage === undefined || stage === 'detached') && options.monitor) {
    return runMonitor(opts.monitorRestartDelayMs ?? 10_000, stage === 'detached');
  }
  return runDaemon(program, options, stage !== undefined, opts.exitCleanup === true);
}

function respawn(
  stage: string,
  stdio: ('ignore' | 'pipe' | 'inherit')[],
  detached: boolean,
): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, [DAEMON_STAGE_ENV]: stage },
    stdio,
    detached,
  });
}

function runDetachParent(next: 'monitor' | 'daemon'): Promise<never> {
  // The child's stderr comes through us so start-up errors reach the user; once it is ready we
  // exit and the pipe closes, so the caller's stdout/stderr are never held open by the daemon.
  const child = respawn(
    next === 'monitor' ? 'detached' : 'daemon',
    ['ignore', 'ignore', 'pipe', 'pipe'],
    true,
  );
  child.stderr?.pipe(process.stderr);
  return new Promise<never>(() => {
    let ready = false;
    const readyPipe = child.stdio[READY_FD] as NodeJS.ReadableStream;
    readyPipe.on('data', (d: Buffer) => {
      if (!ready && d.toString().includes('ready')) {
        ready = true;
        child.unref();
        child.stderr?.unpipe(process.stderr);
        child.stderr?.destroy();
        process.exit(0);
      }
    });
    child.on('exit', (code, signal) => {
      if (ready) return;
      if (signal) process.stderr.write(`${process.argv[1]}: child died of ${signal}\n`);
      process.exit(code && code !== 0 ? code : 1);
    });
  });
}

/**
 * The foreground half of a --detach for a client tool that keeps the caller's stdout and stderr
 * (OVS's daemon_save_fd: ovsdb-client's detached transact/lock, ovs-ofctl monitor): runs this
 * program again as the daemon stage, and exits 0 once it reports ready, or with its status
 * (naming the signal that killed it) if it fails first.
 */
export function detachKeepingOutput(program: string): Promise<never> {
  const child = respawn('daemon', ['ignore', 'inherit', 'inherit', 'pipe'], true);
  return new Promise<never>(() => {
    let ready = false;
    (child.stdio[READY_FD] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      if (ready || !d.toString().includes('ready')) return;
      ready = true;
      child.unref();
      process.exit(0);
    });
    child.on('exit', (code, signal) => {
      if (ready) return;
      if (signal) process.stderr.write(`${program}: child died of ${signal}\n`);
      process.exit(code ? code : 1);
    });
  });
}

function runMonitor(restartDelayMs: number, notifyUpstream: boolean): Promise<never> {
  const mlog = vlog('monitor');
  openRequestedLogFile();
  if (notifyUpstream) {
    // Our stderr is the detaching parent's pipe, gone once it exits.
    process.stderr.on('error', () => {});
  }
  let lastRestart = Number.NEGATIVE_INFINITY;
  let crashes = 0;
  let current: ChildProcess | null = null;
  const forward = (sig: NodeJS.Signals): void => {
    process.on(sig, () => {
      if (current) current.kill(sig);
      else process.exit(0);
    });
  };
  forward('SIGTERM');
  forward('SIGINT');
  const start = (first: boolean): void => {
    const child = respawn('daemon', ['ignore', 'inherit', 'inherit', 'pipe'], false);
    current = child;
    const readyPipe = child.stdio[READY_FD] as NodeJS.ReadableStream;
    readyPipe.on('data', (d: Buffer) => {
      if (first && notifyUpstream && d.toString().includes('ready')) {
        signalReady();
        setConsoleWriter(() => {});
      }
    });
    child.on('exit', (code, signal) => {
      current = null;
      const crashed = (signal !== null && CRASH_SIGNALS.has(signal)) || code === CRASH_EXIT_STATUS;
      const how = signal ? `killed (${signal})` : `exit status ${code}`;
      if (!crashed) {
        mlog.info(`pid ${child.pid} died, ${how}, exiting`);
        process.exit(0);
      }
      const status = `${++crashes} crashes: pid ${child.pid} died, ${how}`;
      const wait = Math.max(0, lastRestart + restartDelayMs - Date.now());
      if (wait > 0) mlog.warn(`${status}, waiting until 10 seconds since last restart`);
      setTimeout(() => {
        lastRestart = Date.now();
        mlog.err(`${status}, restarting`);
        start(false);
      }, wait);
    });
  };
  start(true);
  return new Promise<never>(() => {});
}

function signalReady(): void {
  try {
    writeSync(READY_FD, 'ready\n');
    closeSync(READY_FD);
  } catch {
    // No one is waiting (a foreground run without --detach).
  }
}

async function runDaemon(
  program: string,
  options: DaemonOptions,
  spawned: boolean,
  exitCleanup: boolean,
): Promise<Daemon> {
  const exitHooks: (() => void | Promise<void>)[] = [];
  const memoryReporters: (() => Record<string, number>)[] = [];
  let exiting = false;

  if (options.pidfile)
    createPidfile(options.pidfile, {
      overwrite: options.overwritePidfile || (spawned && options.monitor),
    });
  openRequestedLogFile();

  // The console may be a pipe to a --monitor or --detach parent that is gone (both are told
  // to stop together): a log line then must not become an uncaught EPIPE.
  process.stderr.on('error', () => {});
  // A bug must not leave a pidfile behind; under --monitor the special status gets a restart.
  process.on('uncaughtException', (err) => {
    log.emer(`uncaught exception: ${err.stack ?? String(err)}`);
    removePidfile();
    process.exit(CRASH_EXIT_STATUS);
  });

  let unixctl: UnixctlServer | null = null;
  if (options.unixctl !== 'none') {
    unixctl = await UnixctlServer.create({ program, path: options.unixctl ?? undefined });
  }

  const daemon: Daemon = {
    program,
    options,
    unixctl,
    ready() {
      if (spawned) {
        signalReady();
        if (options.detach) {
          setConsoleWriter(() => {});
          process.stderr.on('error', () => {});
          process.stdout.on('error', () => {});
        }
      }
      if (options.detach && options.chdir) process.chdir('/');
      startCoverageSampler();
    },
    async exit(status = 0): Promise<never> {
      if (!exiting) {
        exiting = true;
        for (const hook of exitHooks.slice().reverse()) {
          try {
            await hook();
          } catch (err) {
            log.err(`exit hook failed: ${(err as Error).stack ?? String(err)}`);
          }
        }
        await unixctl?.close();
        removePidfile();
      }
      process.exit(status);
    },
    onExit(hook) {
      exitHooks.push(hook);
    },
    addMemoryReporter(report) {
      memoryReporters.push(report);
    },
  };

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log.info(`${sig} received, exiting`);
      void daemon.exit(0);
    });
  }

  if (unixctl) registerCommonCommands(unixctl, daemon, memoryReporters, exitCleanup);
  return daemon;
}

function registerCommonCommands(
  server: UnixctlServer,
  daemon: Daemon,
  memoryReporters: (() => Record<string, number>)[],
  exitCleanup: boolean,
): void {
  const c = server.commands;
  c.register('exit', exitCleanup ? '[--cleanup]' : '', 0, exitCleanup ? 1 : 0, (_args, conn) => {
    // Reply first, then exit once the reply has been written (OVS replies before exiting).
    conn.session.onClose(() => void daemon.exit(0));
    setTimeout(() => conn.session.close(), 0);
    return '';
  });
  c.register(
    'vlog/set',
    '{spec | PATTERN:destination:pattern}',
    0,
    Number.MAX_SAFE_INTEGER,
    (args) => {
      if (args.length === 0) setLevels(null, null, 'dbg');
      for (const a of args) {
        const err = setLevelsFromString(a);
        if (err) throw new UnixctlError(err);
      }
      return '';
    },
  );
  c.register('vlog/list', '', 0, 0, () => listLevels());
  c.register('vlog/list-pattern', '', 0, 0, () => listPatterns());
  c.register('vlog/reopen', '', 0, 0, () => {
    if (getLogFile() === null) throw new UnixctlError('Logging to file not configured');
    try {
      reopenLogFile();
    } catch (err) {
      throw new UnixctlError((err as Error).message);
    }
    return '';
  });
  c.register('vlog/close', '', 0, 0, () => {
    closeLogFile();
    return '';
  });
  c.register('vlog/enable-rate-limit', '[module]...', 0, Number.MAX_SAFE_INTEGER, (args) => {
    const err = setRateLimits(args, true);
    if (err) throw new UnixctlError(err);
    return '';
  });
  c.register('vlog/disable-rate-limit', '[module]...', 0, Number.MAX_SAFE_INTEGER, (args) => {
    const err = setRateLimits(args, false);
    if (err) throw new UnixctlError(err);
    return '';
  });
  c.register('memory/show', '', 0, 0, () => {
    const usage: Record<string, number> = {};
    for (const r of memoryReporters) Object.assign(usage, r());
    const keys = Object.keys(usage).sort();
    return keys.map((k) => `${k}:${usage[k]}`).join(' ');
  });
  c.register('coverage/show', '', 0, 0, () => coverageShow());
  c.register('coverage/read-counter', 'COUNTER', 1, 1, (args) => {
    const n = coverageRead(args[0]);
    return `${n ?? 0}\n`;
  });
}
