/**
 * ovs-vswitchd: the switch daemon. Reads the Open_vSwitch database, builds bridges, ports and
 * interfaces, and writes their status back, as Open vSwitch's does.
 *
 *   ovs-vswitchd [DATABASE] [--enable-dummy[=override]] [--disable-system] [--pidfile[=FILE]]
 *                [--detach] [--monitor] [--no-chdir] [--unixctl=SOCKET] [--log-file[=FILE]]
 *                [-vSPEC]
 *
 * DATABASE is where ovsdb-server listens (default unix:$OVS_RUNDIR/db.sock).
 */
import { resolve } from 'node:path';
import {
  DAEMON_USAGE,
  type Daemon,
  DaemonOptionError,
  parseDaemonArgs,
  startDaemon,
} from '../lib/daemon.ts';
import { defaultDbSocket, rundir } from '../lib/paths.ts';
import { startupBanner, versionString } from '../lib/unixctl/index.ts';
import { registerTimeCommands } from '../lib/unixctl/time-commands.ts';
import { setProgramName, VlogOptionError, vlog, vlogUsage } from '../lib/vlog.ts';
import { installPidfileLocker } from '../native/pidfile-lock.ts';
import { enableDebugOfpacts } from '../ofproto/openflow/ofpact-wire.ts';
import { setSelfConfinement } from '../vswitchd/bridge.ts';
import { registerVswitchdCommands } from '../vswitchd/unixctl.ts';
import { Vswitchd } from '../vswitchd/vswitchd.ts';
import { registerVconnPrinter } from './ofctl/vconn-printer.ts';

const PROGRAM = 'ovs-vswitchd';

class UsageError extends Error {}

interface Options {
  remote: string;
  enableDummy: boolean;
  override: boolean;
}

/** Accepted for compatibility; they configure what this switch does not have (SSL, DPDK...). */
const IGNORED_VALUE_OPTIONS = new Set([
  'private-key',
  'certificate',
  'ca-cert',
  'bootstrap-ca-cert',
  'peer-ca-cert',
  'ssl-protocols',
  'ssl-ciphers',
  'ssl-ciphersuites',
  'user',
  // The NUMA layout a dummy datapath pretends to have: PMD placement, which ours leaves to
  // the kernel, so accepted for OVS's test scripts and not acted on.
  'dummy-numa',
]);
const IGNORED_FLAGS = new Set(['disable-system', 'disable-system-route', 'mlockall', 'dpdk']);

/** A database given as a bare path is a unix socket; relative paths are made absolute now. */
function databaseRemote(arg: string): string {
  if (/^(unix|tcp|ssl):/.test(arg)) {
    return arg.startsWith('unix:') ? `unix:${resolve(arg.slice(5))}` : arg;
  }
  return `unix:${resolve(arg)}`;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { remote: `unix:${defaultDbSocket()}`, enableDummy: false, override: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '-h' || arg === '--help') usage();
    if (arg === '-V' || arg === '--version') version();
    if (!arg.startsWith('--')) throw new UsageError(`invalid option -- '${arg.slice(1, 2)}'`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === 'enable-dummy') {
      o.enableDummy = true;
      if (value === 'override') o.override = true;
      else if (value !== undefined && value !== '' && value !== 'system')
        throw new UsageError(`${value}: unknown dummy level`);
    } else if (name === 'no-self-confinement') {
      if (value !== undefined) throw new UsageError(`option '--${name}' doesn't allow an argument`);
      setSelfConfinement(false);
    } else if (IGNORED_VALUE_OPTIONS.has(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' requires an argument`);
        i++;
      }
    } else if (IGNORED_FLAGS.has(name)) {
      if (value !== undefined) throw new UsageError(`option '--${name}' doesn't allow an argument`);
    } else {
      throw new UsageError(`unrecognized option '${arg}'`);
    }
  }
  if (positional.length > 1)
    throw new UsageError('at most one non-option argument accepted; use --help for usage');
  if (positional.length === 1) o.remote = databaseRemote(positional[0] as string);
  return o;
}

function usage(): never {
  process.stdout.write(`${PROGRAM}: Open vSwitch daemon
usage: ${PROGRAM} [OPTIONS] [DATABASE]
where DATABASE is a socket on which ovsdb-server is listening
      (default: "unix:${defaultDbSocket()}").
${DAEMON_USAGE}${vlogUsage()}
Other options:
  --enable-dummy[=override]  allow dummy datapaths and ports (override: make every
                             datapath and port a dummy one)
  --disable-system        accepted for compatibility (there is no kernel datapath)
  -h, --help              display this help message
  -V, --version           display version information
`);
  process.exit(0);
}

function version(): never {
  process.stdout.write(`${versionString(PROGRAM)}\n`);
  process.exit(0);
}

function fatal(msg: string): never {
  process.stderr.write(`${PROGRAM}: ${msg}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  setProgramName(PROGRAM);
  let o: Options;
  let daemonArgs: ReturnType<typeof parseDaemonArgs>;
  try {
    daemonArgs = parseDaemonArgs(PROGRAM, process.argv.slice(2));
    o = parseArgs(daemonArgs.rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof VlogOptionError || e instanceof DaemonOptionError)
      fatal(e.message);
    throw e;
  }
  installPidfileLocker();
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      program: PROGRAM,
      options: daemonArgs.options,
      exitCleanup: true,
    });
  } catch (e) {
    fatal((e as Error).message);
  }
  vlog('vswitchd').info(startupBanner(PROGRAM));
  // As OVS: debug_slow and debug_recirc are test actions, decoded only under --enable-dummy.
  if (o.enableDummy) enableDebugOfpacts();
  registerVconnPrinter();
  const vs = new Vswitchd({
    remote: o.remote,
    enableDummy: o.enableDummy,
    override: o.override,
    rundir: rundir(),
  });
  daemon.onExit(() => vs.close());
  daemon.addMemoryReporter(() => {
    let ports = 0;
    for (const br of vs.vswitch.bridges.values()) ports += br.ifaces.size;
    return { ports };
  });
  if (daemon.unixctl) {
    registerVswitchdCommands(daemon.unixctl.commands, vs);
    if (o.enableDummy) registerTimeCommands(daemon.unixctl.commands);
  }
  process.on('SIGPIPE', () => {});
  // As OVS: a --detach parent returns once the first configuration is applied.
  await vs.whenConfigured();
  daemon.ready();
}

main().catch((e: unknown) => {
  fatal(String((e as Error)?.stack ?? e));
});
