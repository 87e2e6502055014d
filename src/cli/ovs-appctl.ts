/**
 * ovs-appctl: sends one command to a daemon's unixctl socket and prints the reply, as OVS's
 * utilities/ovs-appctl.c does: the result on stdout (exit 0); an error reply on stderr followed
 * by "ovs-appctl: TARGET: server returned an error" (exit 2); a failure to connect or to
 * transact on stderr (exit 1); a --timeout expiry kills us with SIGALRM, as OVS's alarm() does.
 * Works unchanged against real OVS daemons and ours.
 */
import { isAbsolute, join } from 'node:path';
import type { Json } from '../lib/json.ts';
import { rundir } from '../lib/paths.ts';
import { ErrnoError, readPidfile, strerror } from '../lib/pidfile.ts';
import { unixctlConnect, unixctlTransact } from '../lib/unixctl/client.ts';
import { versionString } from '../lib/unixctl/version.ts';
import { applyVlogOption, setLevels, setProgramName, VlogOptionError, vlog } from '../lib/vlog.ts';

const PROGRAM = 'ovs-appctl';

function fatal(msg: string): never {
  process.stderr.write(`${PROGRAM}: ${msg}\n`);
  process.exit(1);
}

function usage(): never {
  process.stdout.write(`${PROGRAM}, for querying and controlling Open vSwitch daemon
usage: ${PROGRAM} [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/list-pattern  List logging patterns for each destination.
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  -f, --format=FMT   Output format: text (default) or json
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display ovs-appctl version information
`);
  process.exit(0);
}

interface Args {
  target: string;
  format: 'text' | 'json';
  timeout: number;
  command: string[];
}

function parseArgs(argv: string[]): Args {
  let target: string | undefined;
  let format: 'text' | 'json' = 'text';
  let timeout = 0;
  let eSeen = false;
  let i = 0;
  // Long options take "=VALUE" or the next argument; short ones "-tVALUE" or the next argument.
  const value = (a: string, long: string, short: string): string => {
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a.length > 2 && a.startsWith(short) && !a.startsWith('--')) return a.slice(2);
    const v = argv[++i];
    if (v === undefined) {
      fatal(
        a.startsWith('--')
          ? `option '${long}' requires an argument`
          : `option requires an argument -- '${short.slice(1)}'`,
      );
    }
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break; // "+" getopt: options end at the first command word
    if (a === '-t' || a.startsWith('--target') || (a.startsWith('-t') && !a.startsWith('--'))) {
      if (target !== undefined) fatal('-t or --target may be specified only once');
      target = value(a, '--target', '-t');
    } else if (
      a === '-T' ||
      a.startsWith('--timeout') ||
      (a.startsWith('-T') && !a.startsWith('--'))
    ) {
      const v = value(a, '--timeout', '-T');
      timeout = /^\d+$/.test(v) ? Number(v) : 0;
      if (!timeout) fatal(`value ${v} on -T or --timeout is invalid`);
    } else if (
      a === '-f' ||
      a.startsWith('--format') ||
      (a.startsWith('-f') && !a.startsWith('--'))
    ) {
      const v = value(a, '--format', '-f');
      if (v !== 'json' && v !== 'text') fatal(`unknown output format "${v}"`);
      format = v;
    } else if (a === '-e' || a === '--execute') {
      if (eSeen) fatal('-e or --execute may be speciifed only once');
      eSeen = true;
    } else if (a === '-h' || a === '--help') {
      usage();
    } else if (a === '-V' || a === '--version') {
      process.stdout.write(`${versionString(PROGRAM)}\n`);
      process.exit(0);
    } else {
      let n = 0;
      try {
        n = applyVlogOption(a, argv[i + 1]);
      } catch (err) {
        if (err instanceof VlogOptionError) fatal(err.message);
        throw err;
      }
      if (n === 0) {
        fatal(
          a.startsWith('--')
            ? `unrecognized option '${a.split('=')[0]}'`
            : `invalid option -- '${a.slice(1, 2)}'`,
        );
      }
      i += n - 1;
    }
  }
  const command = argv.slice(i);
  if (command.length === 0)
    fatal('at least one non-option argument is required (use --help for help)');
  return { target: target ?? 'ovs-vswitchd', format, timeout, command };
}

/** Resolves a target as OVS does: NAME → $OVS_RUNDIR/NAME.pid → $OVS_RUNDIR/NAME.PID.ctl. */
function socketName(target: string): string {
  // Besides OVS's rules, an absolute path to a pidfile is followed to its socket too.
  let pidfile: string | null = null;
  let name = target;
  if (!isAbsolute(target)) {
    pidfile = join(rundir(), `${target}.pid`);
  } else if (target.endsWith('.pid')) {
    pidfile = target;
    name = target.slice(target.lastIndexOf('/') + 1, -'.pid'.length);
  }
  if (pidfile === null) return target;
  let pid: number;
  try {
    pid = readPidfile(pidfile);
  } catch (err) {
    const code = err instanceof ErrnoError ? err.code : (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') vlog('daemon_unix').warn(`${pidfile}: open: ${strerror(code)}`);
    fatal(`cannot read pidfile "${pidfile}" (${strerror(code)})`);
  }
  const dir = isAbsolute(target) ? target.slice(0, target.lastIndexOf('/')) : rundir();
  return join(dir, `${name}.${pid}.ctl`);
}

function formatResult(result: string | Json, format: 'text' | 'json'): string {
  if (typeof result === 'string') return result;
  return format === 'json' ? `${JSON.stringify(result)}\n` : JSON.stringify(result);
}

async function main(): Promise<void> {
  setProgramName(PROGRAM);
  // OVS's utilities log warnings to the console, not info.
  setLevels(null, 'console', 'warn');
  const args = parseArgs(process.argv.slice(2));
  if (args.timeout) {
    // OVS arms alarm(): on expiry the process dies of SIGALRM (status 142 in a shell).
    setTimeout(() => process.kill(process.pid, 'SIGALRM'), args.timeout * 1000).unref();
  }
  const path = socketName(args.target);
  let session: Awaited<ReturnType<typeof unixctlConnect>>;
  try {
    session = await unixctlConnect(path);
  } catch (err) {
    vlog('unixctl').warn(`failed to connect to ${path}`);
    fatal(`cannot connect to "${path}" (${strerror((err as NodeJS.ErrnoException).code)})`);
  }
  try {
    if (args.format === 'json') {
      const r = await unixctlTransact(session, 'set-options', ['--format', 'json']);
      if (!r.ok) {
        process.stderr.write(r.error);
        process.stderr.write(`${PROGRAM}: ${args.target}: server returned an error\n`);
        process.exit(2);
      }
    }
    const [command, ...cmdArgs] = args.command;
    const reply = await unixctlTransact(session, command, cmdArgs);
    if (reply.ok) {
      process.stdout.write(formatResult(reply.result, args.format));
      session.close();
      return;
    }
    session.close();
    process.stderr.write(reply.error);
    process.stderr.write(`${PROGRAM}: ${args.target}: server returned an error\n`);
    process.exit(2);
  } catch (err) {
    const e = err as Error & { code?: string; reason?: { kind: string; message: string } };
    const why = e.reason
      ? e.reason.kind === 'eof'
        ? 'End of file'
        : e.reason.message
      : e.code
        ? strerror(e.code)
        : e.message;
    vlog('unixctl').warn(`error communicating with ${path}: ${why}`);
    fatal(`${args.target}: transaction error (${why})`);
  }
}

await main();
