/**
 * ovsdb-server: serves OVSDB databases (RFC 7047) from files, as Open vSwitch's does.
 *
 *   ovsdb-server [DATABASE...] [--remote=REMOTE]... [--run=COMMAND] [--pidfile[=FILE]]
 *                [--detach] [--monitor] [--no-chdir] [--overwrite-pidfile] [--unixctl=SOCKET]
 *                [--log-file[=FILE]] [-vSPEC] [--private-key=KEY] [--certificate=CERT]
 *                [--ca-cert=CA]
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  DAEMON_USAGE,
  type Daemon,
  DaemonOptionError,
  parseDaemonArgs,
  startDaemon,
} from '../lib/daemon.ts';
import { defaultDbPath } from '../lib/paths.ts';
import { strerror } from '../lib/pidfile.ts';
import { type UnixctlCommands, UnixctlError, versionString } from '../lib/unixctl/index.ts';
import { setProgramName, VlogOptionError, vlog, vlogUsage } from '../lib/vlog.ts';
import { installPidfileLocker } from '../native/pidfile-lock.ts';
import { datumEquals, datumToString } from '../ovsdb/datum.ts';
import { OvsdbError } from '../ovsdb/error.ts';
import { shashOrder } from '../ovsdb/ovs-hash-order.ts';
import { type RunningOvsdbServer, startOvsdbServer } from '../ovsdb/server/index.ts';
import type { ColumnSchema, Datum, Row, TableSchema } from '../ovsdb/types.ts';

const PROGRAM = 'ovsdb-server';
const log = vlog('ovsdb_server');

interface Options {
  databases: string[];
  remotes: string[];
  run?: string;
  privateKey?: string;
  certificate?: string;
  caCert?: string;
  peerCaCert?: string;
  /** --no-db: start with no database (ovsdb-server/add-db adds them later). */
  noDb?: boolean;
}

class UsageError extends Error {}

/** Server options (daemon and vlog ones are parsed by lib/daemon.ts) taking a value. */
const VALUE_OPTIONS = new Set([
  'remote',
  'run',
  'private-key',
  'certificate',
  'ca-cert',
  'peer-ca-cert',
  'ssl-protocols',
  'ssl-ciphers',
  'ssl-ciphersuites',
  'sync-from',
  'sync-exclude-tables',
  'user',
  'config-file',
]);
const FLAG_OPTIONS = new Set([
  'bootstrap-ca-cert',
  'disable-file-column-diff',
  'no-self-confinement',
  'active',
  'no-db',
  'help',
  'version',
]);

function parseArgs(argv: string[]): Options {
  const o: Options = { databases: [], remotes: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      o.databases.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      o.databases.push(arg);
      continue;
    }
    if (arg === '-h') return usage();
    if (arg === '-V') return version();
    if (!arg.startsWith('--')) throw new UsageError(`invalid option -- '${arg.slice(1, 2)}'`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (VALUE_OPTIONS.has(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' requires an argument`);
        value = argv[++i];
      }
    } else if (FLAG_OPTIONS.has(name)) {
      if (value !== undefined) throw new UsageError(`option '--${name}' doesn't allow an argument`);
    } else {
      throw new UsageError(`unrecognized option '${arg}'`);
    }
    switch (name) {
      case 'remote':
        o.remotes.push(value as string);
        break;
      case 'run':
        o.run = value;
        break;
      case 'private-key':
        o.privateKey = value;
        break;
      case 'certificate':
        o.certificate = value;
        break;
      case 'ca-cert':
        o.caCert = value;
        break;
      case 'peer-ca-cert':
        o.peerCaCert = value;
        break;
      case 'no-db':
        o.noDb = true;
        break;
      case 'help':
        return usage();
      case 'version':
        return version();
      default:
        // Accepted for compatibility; replication and confinement options have no effect.
        break;
    }
  }
  if (o.databases.length === 0 && !o.noDb) o.databases.push(defaultDbPath());
  return o;
}

function usage(): never {
  process.stdout.write(`${PROGRAM}: Open vSwitch database server
usage: ${PROGRAM} [OPTIONS] [DATABASE...]
where each DATABASE is a database file in ovsdb format.
The default DATABASE, if none is given, is
${defaultDbPath()}.

JSON-RPC options (may be specified any number of times):
  --remote=REMOTE         connect or listen to REMOTE
  --private-key=FILE      file with private key (may be db:DB,TABLE,COLUMN)
  --certificate=FILE      file with certificate for private key
  --ca-cert=FILE          file with peer CA certificate
${DAEMON_USAGE}${vlogUsage()}
Other options:
  --run COMMAND           run COMMAND as subprocess then exit
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

/* ---------- unixctl ---------- */

function errorText(e: unknown): string {
  // OVS prints database errors as "tag: details" and its own refusals as bare text.
  if (e instanceof OvsdbError) return e.toString();
  return String((e as Error)?.message ?? e);
}

/**
 * Under --monitor, a restarted daemon serves the databases and remotes that the one that died
 * served, including those added or removed at run time (OVS keeps them in a temporary file
 * shared across its fork). The file's name travels to the daemon in the environment.
 */
const SAVED_CONFIG_ENV = 'TYPESWITCH_OVSDB_SERVER_CONFIG';
let savedConfigFile: string | null = null;

interface SavedConfig {
  databases: string[];
  remotes: string[];
}

function loadSavedConfig(): SavedConfig | null {
  if (savedConfigFile === null) return null;
  try {
    const c = JSON.parse(readFileSync(savedConfigFile, 'utf8')) as SavedConfig;
    return Array.isArray(c.databases) && Array.isArray(c.remotes) ? c : null;
  } catch {
    return null;
  }
}

function saveConfig(srv: RunningOvsdbServer): void {
  if (savedConfigFile === null) return;
  const databases: string[] = [];
  for (const db of srv.server.dbs.values()) {
    if (db.name !== '_Server') databases.push(resolve(db.file));
  }
  const c: SavedConfig = { databases, remotes: srv.remotes.list() };
  try {
    writeFileSync(savedConfigFile, JSON.stringify(c));
  } catch (e) {
    log.warn(`${savedConfigFile}: could not save configuration (${(e as Error).message})`);
  }
}

/**
 * OVS registers its commands before its control socket takes requests; ours exists while the
 * databases are still opening (and the request paths warming up). Until the server runs, its
 * commands wait for it rather than being unknown: a restarted --monitor daemon answers
 * `version` at once and is asked for its databases next.
 */
function registerPending(cmds: UnixctlCommands, running: Promise<unknown>): void {
  for (const name of SERVER_COMMANDS) {
    cmds.register(name, null, 0, Number.MAX_SAFE_INTEGER, async (args, conn) => {
      await running;
      const c = cmds.commands.get(name);
      if (!c) throw new UnixctlError(`"${name}" is not a valid command`);
      if (args.length < c.minArgs)
        throw new UnixctlError(`"${name}" command requires at least ${c.minArgs} arguments`);
      if (args.length > c.maxArgs)
        throw new UnixctlError(`"${name}" command takes at most ${c.maxArgs} arguments`);
      return c.handler(args, conn);
    });
  }
}

const SERVER_COMMANDS = [
  'ovsdb-server/compact',
  'ovsdb-server/add-remote',
  'ovsdb-server/remove-remote',
  'ovsdb-server/list-remotes',
  'ovsdb-server/add-db',
  'ovsdb-server/remove-db',
  'ovsdb-server/list-dbs',
  'ovsdb-server/reconnect',
];

/** Runs a command body, turning its failure into a unixctl error reply. */
async function guarded<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new UnixctlError(errorText(e));
  }
}

function registerCommands(cmds: UnixctlCommands, srv: RunningOvsdbServer): void {
  cmds.register('ovsdb-server/compact', '', 0, 1, async (args) => {
    const errors = await srv.compact(args[0]);
    if (errors.length) throw new UnixctlError(errors.join('\n'));
    return '';
  });
  cmds.register('ovsdb-server/add-remote', 'REMOTE', 1, 1, ([r]) =>
    guarded(async () => {
      await srv.addRemote(r);
      saveConfig(srv);
      return '';
    }),
  );
  cmds.register('ovsdb-server/remove-remote', 'REMOTE', 1, 1, ([r]) =>
    guarded(async () => {
      await srv.removeRemote(r);
      saveConfig(srv);
      return '';
    }),
  );
  cmds.register('ovsdb-server/list-remotes', '', 0, 0, () =>
    srv.remotes
      .list()
      .map((r) => `${r}\n`)
      .join(''),
  );
  cmds.register('ovsdb-server/add-db', 'DB', 1, 1, ([f]) =>
    guarded(async () => {
      // Relative to the current directory, as in OVS ("/" once detached without --no-chdir).
      await srv.addDb(f);
      saveConfig(srv);
      return '';
    }),
  );
  cmds.register('ovsdb-server/remove-db', 'DB', 1, 1, ([name]) =>
    guarded(async () => {
      await srv.removeDb(name);
      saveConfig(srv);
      return '';
    }),
  );
  cmds.register('ovsdb-server/list-dbs', '', 0, 0, () =>
    [...srv.server.dbs.keys()]
      .sort()
      .map((n) => `${n}\n`)
      .join(''),
  );
  cmds.register('ovsdb-server/reconnect', '', 0, 0, () => {
    srv.server.reconnectAll(true);
    return '';
  });
  registerOvsCompatCommands(cmds, srv);
}

/**
 * The rest of real ovsdb-server's control commands, for scripts and tests written against it.
 * There is no active-backup replication here: this server is always "active", the
 * replication settings are kept and reported but connecting to an active server is refused.
 */
function registerOvsCompatCommands(cmds: UnixctlCommands, srv: RunningOvsdbServer): void {
  let trimMemory: boolean | null = null;
  cmds.register('ovsdb-server/memory-trim-on-compaction', 'on|off', 1, 1, ([arg]) => {
    if (arg !== 'on' && arg !== 'off') throw new UnixctlError('invalid argument');
    const on = arg === 'on';
    if (trimMemory !== on)
      log.info(`memory trimming after compaction ${on ? 'enabled' : 'disabled'}.`);
    trimMemory = on;
    return '';
  });
  // OVS counts CPU cycles with perf events only on x86 Linux builds that enable them.
  cmds.register('ovsdb-server/perf-counters-show', '', 0, 0, () => {
    return 'performance counter is not supported on this platform';
  });
  cmds.register('ovsdb-server/perf-counters-clear', '', 0, 0, () => '');
  let activeServer = '';
  let excludeTables = '';
  cmds.register('ovsdb-server/set-active-ovsdb-server', '', 1, 1, ([remote]) => {
    activeServer = remote as string;
    return '';
  });
  cmds.register('ovsdb-server/get-active-ovsdb-server', '', 0, 0, () => activeServer);
  cmds.register('ovsdb-server/connect-active-ovsdb-server', '', 0, 0, () => {
    throw new UnixctlError(
      'active-backup replication is not supported by this ovsdb-server; it stays active',
    );
  });
  cmds.register('ovsdb-server/disconnect-active-ovsdb-server', '', 0, 0, () => '');
  cmds.register('ovsdb-server/set-active-ovsdb-server-probe-interval', '', 1, 1, ([ms]) => {
    // OVS answers this one as text, not as an error.
    return /^-?\d+$/.test(ms as string) ? '' : 'Invalid probe interval, integer value expected';
  });
  cmds.register('ovsdb-server/set-sync-exclude-tables', '', 0, 1, (args) => {
    // "DB:TABLE" items separated by spaces or commas, reported back sorted and deduplicated.
    const items = new Set<string>();
    for (const it of (args[0] ?? '').split(/[ ,]+/)) {
      if (!it) continue;
      const colon = it.indexOf(':');
      items.add(colon < 0 ? `${it}:` : it);
    }
    excludeTables = [...items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(',');
    return '';
  });
  cmds.register('ovsdb-server/get-sync-exclude-tables', '', 0, 0, () => excludeTables);
  cmds.register('ovsdb-server/sync-status', '', 0, 0, () => 'state: active\n');
  cmds.register('ovsdb-server/get-db-storage-status', 'DB', 1, 1, ([name]) => {
    if (!srv.server.dbs.has(name as string)) throw new UnixctlError('Failed to find the database.');
    return 'status: ok';
  });
  registerTlogCommands(cmds, srv);
  cmds.register('ovsdb-server/disable-monitor-cond', '', 0, 0, () => {
    srv.server.monitorCondEnabled = false;
    // Clients reconnect and, finding monitor_cond gone, fall back to monitor.
    srv.server.reconnectAll(true, 'user ran ovsdb-server/disable-monitor-cond');
    return '';
  });
}

/**
 * ovsdb-server/tlog-set DB:TABLE on|off and tlog-list: log every row a committed transaction
 * inserts, updates or deletes in the chosen tables, at INFO in module "transaction", in
 * OVS's words ("table:T,op:inserted,COLUMN:VALUE,..." with the columns in OVS's order).
 */
function registerTlogCommands(cmds: UnixctlCommands, srv: RunningOvsdbServer): void {
  const tlog = vlog('transaction');
  // db name -> logged tables, and the commit listener that logs them.
  const logged = new Map<string, { tables: Set<string>; stop: () => void }>();
  const logRow = (ts: TableSchema, op: string, row: Row): void => {
    const parts = [`table:${ts.name}`, `op:${op}`];
    for (const name of ovsTableColumnOrder(ts)) {
      if (name === '_uuid') parts.push(`_uuid:${row.uuid}`);
      else if (name === '_version') parts.push(`_version:${row.version}`);
      else {
        const c = ts.columns.get(name) as ColumnSchema;
        parts.push(`${name}:${datumToString(c.type, row.fields[c.index] as Datum)}`);
      }
    }
    tlog.info(parts.join(','));
  };
  cmds.register('ovsdb-server/tlog-set', 'DB:TABLE on|off', 2, 2, ([target, onOff]) => {
    const mode = (onOff as string).toLowerCase();
    if (mode !== 'on' && mode !== 'off') throw new UnixctlError('invalid command argument');
    const parts = (target as string).split(':').filter((x) => x !== '');
    if (parts.length !== 2) throw new UnixctlError('invalid DB:TABLE argument');
    const [dbName, tableName] = parts as [string, string];
    const db = srv.server.dbs.get(dbName);
    if (!db) throw new UnixctlError('no such database');
    const schema = db.access.schema;
    if (!schema.tables.has(tableName)) throw new UnixctlError('no such table');
    let entry = logged.get(dbName);
    if (mode === 'on' && !entry) {
      const tables = new Set<string>();
      const stop = db.access.onCommit((changes) => {
        for (const t of tables) {
          const rows = changes.get(t);
          const ts = schema.tables.get(t);
          if (!rows || !ts) continue;
          for (const ch of rows.values()) {
            if (!ch.old && ch.new) logRow(ts, 'inserted', ch.new);
            else if (ch.old && !ch.new) logRow(ts, 'deleted', ch.old);
            else if (ch.old && ch.new && rowChanged(ts, ch.old, ch.new))
              logRow(ts, 'updated', ch.new);
          }
        }
      });
      entry = { tables, stop };
      logged.set(dbName, entry);
    }
    if (mode === 'on') entry?.tables.add(tableName);
    else entry?.tables.delete(tableName);
    return '';
  });
  cmds.register('ovsdb-server/tlog-list', '', 0, 0, () => {
    let out =
      'database        table                       logging\n' +
      '--------        -----                       -------\n';
    for (const name of [...srv.server.dbs.keys()].sort(compareBytes)) {
      const db = srv.server.dbs.get(name);
      if (!db) continue;
      out += `${name.padEnd(16)} \n`;
      for (const t of [...db.access.schema.tables.keys()].sort(compareBytes)) {
        const on = logged.get(name)?.tables.has(t) ? 'ON' : 'OFF';
        out += `                ${t.padEnd(27)} ${on}\n`;
      }
    }
    return out;
  });
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowChanged(ts: TableSchema, old: Row, nu: Row): boolean {
  for (const c of ts.columnList) {
    if (!datumEquals(c.type, old.fields[c.index] as Datum, nu.fields[c.index] as Datum))
      return true;
  }
  return false;
}

const columnOrders = new WeakMap<TableSchema, readonly string[]>();

/** The order in which OVS walks a table's columns (its column hash, _uuid and _version too). */
function ovsTableColumnOrder(ts: TableSchema): readonly string[] {
  let order = columnOrders.get(ts);
  if (!order) {
    order = shashOrder(['_uuid', '_version', ...shashOrder(ts.columnList.map((c) => c.name))]);
    columnOrders.set(ts, order);
  }
  return order;
}

/* ---------- main ---------- */

async function main(): Promise<void> {
  setProgramName(PROGRAM);
  let o: Options;
  let daemonArgs: ReturnType<typeof parseDaemonArgs>;
  try {
    daemonArgs = parseDaemonArgs(PROGRAM, process.argv.slice(2));
    o = parseArgs(daemonArgs.rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof VlogOptionError || e instanceof DaemonOptionError) {
      fatal(e.message);
    }
    throw e;
  }
  // Before the daemon may change to "/".
  // Kept as given (OVS's messages name them so) unless the daemon will leave this directory.
  const leavesCwd = daemonArgs.options.detach && daemonArgs.options.chdir;
  const databases = o.databases.map((d) => (isAbsolute(d) || !leavesCwd ? d : resolve(d)));
  // OVS opens the databases before it creates its control socket, so an unusable file is
  // what the user hears about first; check before the daemon machinery starts.
  for (const [i, d] of databases.entries()) {
    try {
      accessSync(d, constants.R_OK | constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      fatal(`I/O error: ${o.databases[i]}: open failed (${strerror(code)})`);
    }
  }

  if (daemonArgs.options.monitor && process.env[SAVED_CONFIG_ENV] === undefined) {
    process.env[SAVED_CONFIG_ENV] = join(tmpdir(), `typeswitch-ovsdb-server.${process.pid}.json`);
  }
  let daemon: Daemon;
  try {
    // fcntl locks on the pidfile and the database lock file, as real OVS tools expect them.
    installPidfileLocker();
    daemon = await startDaemon({ program: PROGRAM, options: daemonArgs.options });
  } catch (e) {
    fatal((e as Error).message);
  }

  // Only the daemon itself gets here; what it runs (--run) must not inherit the file.
  savedConfigFile = process.env[SAVED_CONFIG_ENV] ?? null;
  delete process.env[SAVED_CONFIG_ENV];
  const saved = loadSavedConfig();
  let running: (ok: boolean) => void = () => {};
  if (daemon.unixctl) {
    registerPending(daemon.unixctl.commands, new Promise((r) => (running = r)));
  }
  let srv: RunningOvsdbServer;
  try {
    srv = await startOvsdbServer({
      databases: saved ? saved.databases : databases,
      remotes: saved ? saved.remotes : o.remotes,
      privateKey: o.privateKey,
      certificate: o.certificate,
      caCert: o.caCert,
      ...(o.peerCaCert ? { peerCaCert: o.peerCaCert } : {}),
      logger: { info: (m) => log.info(m), warn: (m) => log.warn(m), dbg: (m) => log.dbg(m) },
      // Not OVS options: bounds a deployment (or a test) may tighten.
      maxBacklog: envBytes('TYPESWITCH_OVSDB_MAX_BACKLOG'),
      maxMessageSize: envBytes('TYPESWITCH_OVSDB_MAX_MESSAGE_SIZE'),
      // Our databases are standalone files: OVS keeps no history for them.
      standaloneTxnHistory: false,
    });
  } catch (e) {
    process.stderr.write(
      `${PROGRAM}: ${e instanceof OvsdbError ? e.toString() : String((e as Error).message ?? e)}\n`,
    );
    await daemon.exit(1);
    return;
  }
  daemon.onExit(() => srv.close());
  saveConfig(srv);
  daemon.onExit(() => {
    // A clean exit: no restart will want it.
    if (savedConfigFile !== null) {
      try {
        unlinkSync(savedConfigFile);
      } catch {}
    }
  });
  daemon.addMemoryReporter(() => srv.memoryUsage());
  if (daemon.unixctl) registerCommands(daemon.unixctl.commands, srv);
  running(true);
  process.on('SIGPIPE', () => {});

  if (o.run) {
    const child = spawn('/bin/sh', ['-c', o.run], { stdio: 'inherit' });
    child.on('exit', (_code, signal) => {
      if (signal) log.info(`${o.run}: child terminated by signal ${signal}`);
      void daemon.exit(0);
    });
    child.on('error', (e) => {
      log.err(`${o.run}: subprocess failed (${e.message})`);
      void daemon.exit(1);
    });
  }
  daemon.ready();
}

function envBytes(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

main().catch((e: unknown) => {
  fatal(String((e as Error)?.stack ?? e));
});
