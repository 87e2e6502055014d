/**
 * typeswitch: runs TypeSwitch's daemons on the embedded default — database file and sockets
 * under one directory of the user's, no root, no configuration.
 *
 *   typeswitch start | stop | status | restart
 *
 * Each daemon is started the way OVS's ovs-ctl starts it (detached, with a pidfile, a log file
 * and a control socket), so real ovs-vsctl / ovs-appctl pointed at the same OVS_RUNDIR work.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbdir, defaultDbPath, defaultDbSocket, logdir, pkgroot, rundir } from '../lib/paths.ts';

interface DaemonSpec {
  readonly name: string;
  readonly args: () => string[];
}

const DAEMONS: readonly DaemonSpec[] = [
  {
    name: 'ovsdb-server',
    args: () => [
      defaultDbPath(),
      `--remote=punix:${defaultDbSocket()}`,
      '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
      `--pidfile=${pidfilePath('ovsdb-server')}`,
      `--log-file=${join(logdir(), 'ovsdb-server.log')}`,
      '--detach',
      '--no-chdir',
    ],
  },
  {
    name: 'ovs-vswitchd',
    args: () => [
      `unix:${defaultDbSocket()}`,
      `--pidfile=${pidfilePath('ovs-vswitchd')}`,
      `--log-file=${join(logdir(), 'ovs-vswitchd.log')}`,
      '--detach',
      '--no-chdir',
    ],
  },
];

function pidfilePath(name: string): string {
  return join(rundir(), `${name}.pid`);
}

function tool(name: string): string {
  return join(pkgroot(), 'bin', name);
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** The PID in a daemon's pidfile, if that process is alive. */
function runningPid(name: string): number | null {
  const file = pidfilePath(name);
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Whether `pid` still runs: a zombie (exited, not yet reaped by its new parent) has ended. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function start(): number {
  for (const dir of [rundir(), dbdir(), logdir()]) mkdirSync(dir, { recursive: true });
  if (!existsSync(defaultDbPath())) {
    const r = run(tool('ovsdb-tool'), ['create', defaultDbPath()]);
    if (!r.ok) {
      console.error(`typeswitch: creating ${defaultDbPath()} failed: ${r.out}`);
      return 1;
    }
    console.log(`created database ${defaultDbPath()}`);
  }
  for (const d of DAEMONS) {
    const pid = runningPid(d.name);
    if (pid !== null) {
      console.log(`${d.name} is already running (pid ${pid})`);
      continue;
    }
    const r = run(tool(d.name), d.args());
    if (!r.ok) {
      console.error(`typeswitch: starting ${d.name} failed: ${r.out}`);
      return 1;
    }
    console.log(`started ${d.name} (pid ${runningPid(d.name) ?? '?'})`);
    if (d.name === 'ovsdb-server') initDatabase();
  }
  printWhere();
  return 0;
}

/**
 * The equivalent of `ovs-vsctl --no-wait init`: the Open_vSwitch row exists before
 * ovs-vswitchd starts, so that ovs-vsctl `show` does not have to insert it (OVS-NOTES.md).
 * The `wait` makes the insert a no-op on a database that already has the row.
 */
function initDatabase(): void {
  const init = JSON.stringify([
    'Open_vSwitch',
    {
      op: 'wait',
      table: 'Open_vSwitch',
      where: [],
      columns: [],
      until: '==',
      rows: [],
      timeout: 0,
    },
    { op: 'insert', table: 'Open_vSwitch', row: {} },
    { op: 'comment', comment: 'typeswitch: initialize database' },
  ]);
  run(tool('ovsdb-client'), ['transact', `unix:${defaultDbSocket()}`, init]);
}

function printWhere(): void {
  console.log(`database:   ${defaultDbPath()}`);
  console.log(`socket:     unix:${defaultDbSocket()}`);
  console.log(`logs:       ${logdir()}`);
  console.log('point the Open vSwitch tools here with:');
  console.log(`  export OVS_RUNDIR=${rundir()} OVS_DBDIR=${dbdir()} OVS_LOGDIR=${logdir()}`);
}

function stop(): number {
  let status = 0;
  for (const d of [...DAEMONS].reverse()) {
    const pid = runningPid(d.name);
    if (pid === null) {
      console.log(`${d.name} is not running`);
      continue;
    }
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && processExists(pid)) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    if (processExists(pid)) {
      console.error(`typeswitch: ${d.name} (pid ${pid}) did not stop`);
      status = 1;
    } else {
      console.log(`stopped ${d.name} (pid ${pid})`);
    }
  }
  return status;
}

function status(): number {
  let all = true;
  for (const d of DAEMONS) {
    const pid = runningPid(d.name);
    console.log(pid === null ? `${d.name} is not running` : `${d.name} is running with pid ${pid}`);
    all &&= pid !== null;
  }
  if (all) printWhere();
  return all ? 0 : 3;
}

const USAGE = `typeswitch: run TypeSwitch on its embedded default
usage: typeswitch start | stop | status | restart
Files live in ${rundir()}, ${dbdir()} and ${logdir()}
(set TYPESWITCH_HOME, or OVS_RUNDIR / OVS_DBDIR / OVS_LOGDIR, to move them).`;

function main(argv: string[]): number {
  switch (argv[0]) {
    case 'start':
      return start();
    case 'stop':
      return stop();
    case 'status':
      return status();
    case 'restart':
      return stop() || start();
    case '-h':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(USAGE);
      return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
