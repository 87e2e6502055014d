/**
 * ovsdb-tool: Open vSwitch database management utility, for standalone database files.
 * Commands, output and errors follow OVS 3.1's ovsdb-tool; the clustered-database commands
 * answer that clustered databases are not supported.
 */
import { readFileSync, renameSync } from 'node:fs';
import type { Json } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';
import { defaultDbPath, defaultSchemaPath } from '../lib/paths.ts';
import { setLevels, setLevelsFromString, setProgramName, vlog, vlogUsage } from '../lib/vlog.ts';
import { datumFromJson, datumToString } from '../ovsdb/datum.ts';
import { jsonToOvsString, OvsdbError } from '../ovsdb/error.ts';
import { strerror } from '../ovsdb/io-error.ts';
import { followSymlinks, Lockfile } from '../ovsdb/lockfile.ts';
import { ClusteredDatabaseError, OVSDB_MAGIC, OvsdbLog, RAFT_MAGIC } from '../ovsdb/log.ts';
import { shashOrder } from '../ovsdb/ovs-hash-order.ts';
import { ovsJsonError } from '../ovsdb/ovs-json-error.ts';
import {
  compareVersions,
  isValidVersion,
  parseDatabaseSchema,
  parseDatabaseSchemaText,
  schemaEquals,
} from '../ovsdb/schema.ts';
import { createDatabaseFile, Storage, writeStandaloneDb } from '../ovsdb/storage.ts';
import type { DatabaseSchema } from '../ovsdb/types.ts';

const PROGRAM = 'ovsdb-tool';
const VERSION = '3.1.0';

/** ovs_fatal(): "ovsdb-tool: MESSAGE" on stderr, exit status 1. */
class Fatal extends Error {
  constructor(
    message: string,
    readonly status = 1,
  ) {
    super(message);
  }
}
/** exit(status) without a message (compare-versions, db-is-clustered...). */
class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

function fatal(message: string): never {
  throw new Fatal(message);
}

/** check_ovsdb_error(): any OvsdbError becomes fatal with OVS's string form. */
function check<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ClusteredDatabaseError) {
      fatal(`${e.file}: clustered databases are not supported by this ovsdb-tool`);
    }
    if (e instanceof OvsdbError) fatal(e.toString());
    throw e;
  }
}

/** Where output goes (tests capture it). */
export interface ToolIo {
  stdout(s: string): void;
  stderr(s: string): void;
}
const processIo: ToolIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};
let io: ToolIo = processIo;

let out = '';
function print(s: string): void {
  out += s;
  if (out.length > 65536) flush();
}
function flush(): void {
  if (out) io.stdout(out);
  out = '';
}

/* ---------- options (GNU getopt_long, with its argument permutation) ---------- */

interface Options {
  more: number;
  rbacRole?: string;
  args: string[];
}

const LONG_OPTIONS: { name: string; arg: 'none' | 'required' | 'optional'; short?: string }[] = [
  { name: 'more', arg: 'none', short: 'm' },
  { name: 'rbac-role', arg: 'required' },
  { name: 'cid', arg: 'required' },
  { name: 'election-timer', arg: 'required' },
  { name: 'verbose', arg: 'optional', short: 'v' },
  { name: 'help', arg: 'none', short: 'h' },
  { name: 'option', arg: 'none', short: 'o' },
  { name: 'version', arg: 'none', short: 'V' },
];

function applyOption(opts: Options, name: string, value: string | undefined): void {
  switch (name) {
    case 'more':
      opts.more++;
      break;
    case 'rbac-role':
      opts.rbacRole = value;
      break;
    case 'cid':
    case 'election-timer':
      // Only clustered commands use these, and those are not supported.
      break;
    case 'verbose':
      if (value === undefined) setLevels(null, null, 'dbg');
      else {
        const err = setLevelsFromString(value);
        if (err) fatal(`processing "${value}": ${err}`);
      }
      break;
    case 'help':
      usage();
      throw new Exit(0);
    case 'option':
      for (const o of LONG_OPTIONS) {
        const suffix = o.arg === 'required' ? '=ARG' : o.arg === 'optional' ? '=[ARG]' : '';
        print(`--${o.name}${suffix}\n`);
        if (o.short) {
          print(
            `-${o.short} ${o.arg === 'required' ? 'ARG' : o.arg === 'optional' ? '[ARG]' : ''}\n`,
          );
        }
      }
      throw new Exit(0);
    case 'version':
      print(`${PROGRAM} (Open vSwitch) ${VERSION}\n`);
      throw new Exit(0);
  }
}

function parseOptions(argv: readonly string[]): Options {
  const opts: Options = { more: 0, args: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      opts.args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const exact = LONG_OPTIONS.find((o) => o.name === name);
      const matches = exact ? [exact] : LONG_OPTIONS.filter((o) => o.name.startsWith(name));
      if (matches.length === 0) fatal(`unrecognized option '${arg}'`);
      if (matches.length > 1) {
        fatal(
          `option '${arg}' is ambiguous; possibilities: ${matches.map((m) => `'--${m.name}'`).join(' ')}`,
        );
      }
      const o = matches[0] as (typeof LONG_OPTIONS)[number];
      let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
      if (o.arg === 'none' && value !== undefined) {
        fatal(`option '--${o.name}' doesn't allow an argument`);
      }
      if (o.arg === 'required' && value === undefined) {
        if (i + 1 >= argv.length) fatal(`option '--${o.name}' requires an argument`);
        value = argv[++i];
      }
      applyOption(opts, o.name, value);
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j] as string;
        const o = LONG_OPTIONS.find((x) => x.short === c);
        if (!o) fatal(`invalid option -- '${c}'`);
        if (o.arg === 'none') {
          applyOption(opts, o.name, undefined);
          continue;
        }
        const rest = arg.slice(j + 1);
        applyOption(opts, o.name, rest === '' ? undefined : rest);
        break;
      }
    } else {
      opts.args.push(arg);
    }
  }
  return opts;
}

function usage(): void {
  print(`${PROGRAM}: Open vSwitch database management utility
usage: ${PROGRAM} [OPTIONS] COMMAND [ARG...]
  create [DB [SCHEMA]]    create DB with the given SCHEMA
  [--election-timer=ms] create-cluster DB CONTENTS LOCAL
    create clustered DB with given CONTENTS and LOCAL address
  [--cid=UUID] join-cluster DB NAME LOCAL REMOTE...
    join clustered DB with given NAME and LOCAL and REMOTE addrs
  compact [DB [DST]]      compact DB in-place (or to DST)
  convert [DB [SCHEMA [DST]]]   convert DB to SCHEMA (to DST)
  db-name [DB]            report name of schema used by DB
  db-version [DB]         report version of schema used by DB
  db-cksum [DB]           report checksum of schema used by DB
  db-cid DB               report cluster ID of clustered DB
  db-sid DB               report server ID of clustered DB
  db-local-address DB     report local address of clustered DB
  db-is-clustered DB      test whether DB is clustered
  db-is-standalone DB     test whether DB is standalone
  schema-name [SCHEMA]    report SCHEMA's name
  schema-version [SCHEMA] report SCHEMA's schema version
  schema-cksum [SCHEMA]   report SCHEMA's checksum
  compare-versions A OP B  compare OVSDB schema version numbers
  query [DB] TRNS         execute read-only transaction on DB
  transact [DB] TRNS      execute read/write transaction on DB
  cluster-to-standalone DB DB    Convert clustered DB to
      standalone DB when cluster is down and cannot be
        revived
  [-m]... show-log [DB]   print DB's log entries
The default DB is ${defaultDbPath()}.
The default SCHEMA is ${defaultSchemaPath()}.
`);
  print(vlogUsage());
  print(`
Other options:
  -m, --more                  increase show-log verbosity
  --rbac-role=ROLE            RBAC role for transact and query commands
  -h, --help                  display this help message
  -V, --version               display version information
`);
}

/* ---------- helpers ---------- */

/** What OVS's lockfile module logs when a lock is taken. */
function lockWarning(message: string): void {
  vlog('lockfile').warn(message);
}

function readSchemaFile(file: string): DatabaseSchema {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fatal(
      `failed to read schema: "${file}" could not be read as JSON (error opening "${file}": ${strerror(e)})`,
    );
  }
  const err = ovsJsonError(text);
  if (err) fatal(`failed to read schema: "${file}" could not be read as JSON (${err})`);
  return check(() => parseDatabaseSchemaText(text, file));
}

/** The schema record of a standalone database file (read_standalone_schema). */
function readDbSchema(file: string): DatabaseSchema {
  return check(() => {
    const log = OvsdbLog.open(file, 'read-only', { magic: [OVSDB_MAGIC, RAFT_MAGIC] });
    try {
      if (log.magic === RAFT_MAGIC) throw new ClusteredDatabaseError(file);
      const json = log.read();
      if (!json) fatal('unexpected end of file reading schema');
      return parseDatabaseSchema(json);
    } finally {
      log.close();
    }
  });
}

/** ovsdb_file_read(): the whole database, failing on any bad record. */
function readDb(file: string, rw: boolean, schema?: DatabaseSchema): Storage {
  return check(() =>
    Storage.open(file, {
      readOnly: !rw,
      strict: true,
      warn: lockWarning,
      autoCompact: false,
      attach: true,
      ...(schema ? { schema } : {}),
    }),
  );
}

function parseJsonArg(s: string): Json {
  const err = ovsJsonError(s);
  if (err) fatal(`"${s}": ${err}`);
  try {
    return JSON.parse(s) as Json;
  } catch (e) {
    fatal(`"${s}": ${(e as Error).message}`);
  }
}

/* ---------- commands ---------- */

type Handler = (args: string[], opts: Options) => void | Promise<void>;
interface Command {
  name: string;
  usage: string | null;
  min: number;
  max: number;
  run: Handler;
}

function notSupported(what: string): Handler {
  return () => fatal(`${what}: clustered databases are not supported by this ovsdb-tool`);
}

function doCreate(args: string[]): void {
  const db = args[0] ?? defaultDbPath();
  const schema = readSchemaFile(args[1] ?? defaultSchemaPath());
  check(() => createDatabaseFile(db, schema, lockWarning));
}

/** compact_or_convert(): rewrite DB (in place or to DST), optionally under a new schema. */
function compactOrConvert(
  srcName: string,
  dstName: string | undefined,
  newSchema: DatabaseSchema | undefined,
  comment: string,
): void {
  const inPlace = dstName === undefined;
  const src = followSymlinks(srcName);
  const dst = inPlace ? `${src}.tmp` : followSymlinks(dstName);
  const lockOrDie = (f: string): Lockfile => {
    try {
      return Lockfile.lock(f, lockWarning);
    } catch (e) {
      const err = e as OvsdbError & { ioError?: string };
      fatal(`${f}: failed to lock lockfile (${err.ioError ?? String(e)})`);
    }
  };
  const srcLock = inPlace ? lockOrDie(src) : null;
  const dstLock = lockOrDie(dst);
  try {
    const storage = readDb(src, false, newSchema);
    storage.closeSync();
    check(() => writeStandaloneDb(dst, storage.db, comment));
    if (inPlace) {
      try {
        renameSync(dst, src);
      } catch (e) {
        fatal(`failed to rename "${dst}" to "${src}" (${strerror(e)})`);
      }
    }
  } finally {
    srcLock?.unlock();
    dstLock.unlock();
  }
}

function doCompact(args: string[]): void {
  compactOrConvert(
    args[0] ?? defaultDbPath(),
    args[1],
    undefined,
    `compacted by ovsdb-tool ${VERSION}`,
  );
}

function doConvert(args: string[]): void {
  const db = args[0] ?? defaultDbPath();
  const schema = readSchemaFile(args[1] ?? defaultSchemaPath());
  compactOrConvert(db, args[2], schema, `converted by ovsdb-tool ${VERSION}`);
}

function doNeedsConversion(args: string[]): void {
  const a = readDbSchema(args[0] ?? defaultDbPath());
  const b = readSchemaFile(args[1] ?? defaultSchemaPath());
  print(schemaEquals(a, b) ? 'no\n' : 'yes\n');
}

function doDbName(args: string[]): void {
  print(`${readDbSchema(args[0] ?? defaultDbPath()).name}\n`);
}
function doDbVersion(args: string[]): void {
  print(`${readDbSchema(args[0] ?? defaultDbPath()).version}\n`);
}
function doDbCksum(args: string[]): void {
  print(`${readDbSchema(args[0] ?? defaultDbPath()).cksum ?? ''}\n`);
}

/** The magic of a database file: OVSDB_MAGIC or RAFT_MAGIC. */
function fileMagic(file: string): string {
  return check(() => {
    const log = OvsdbLog.open(file, 'read-only', { magic: [OVSDB_MAGIC, RAFT_MAGIC] });
    const magic = log.magic;
    log.close();
    return magic;
  });
}

/**
 * check-cluster DB...: each file must open as a clustered log, as in OVS (a standalone one
 * fails with "cannot identify file type"); checking clustered files themselves is not
 * supported here.
 */
function doCheckCluster(args: string[]): void {
  for (const file of args) {
    check(() => {
      OvsdbLog.open(file, 'read-only', { magic: RAFT_MAGIC }).close();
    });
    fatal(`${file}: clustered databases are not supported by this ovsdb-tool`);
  }
}

/**
 * cluster-to-standalone DB CLUSTERDB, in OVS's order: open CLUSTERDB, create DB (which must
 * not exist: it is left behind, empty, if what follows fails), then refuse a CLUSTERDB that
 * is not clustered (OVS's message, with its stray newline).
 */
function doClusterToStandalone(args: string[]): void {
  const [dbFile, clusterFile] = args as [string, string];
  const magic = fileMagic(clusterFile);
  check(() => {
    OvsdbLog.open(dbFile, 'create-excl', { magic: OVSDB_MAGIC }).close();
  });
  if (magic !== RAFT_MAGIC) fatal('Database is not clustered db.\n');
  fatal(`${clusterFile}: clustered databases are not supported by this ovsdb-tool`);
}

function doClusterMetadata(args: string[]): void {
  const file = args[0] as string;
  if (fileMagic(file) !== RAFT_MAGIC) fatal(`${file}: not a clustered database`);
  fatal(`${file}: clustered databases are not supported by this ovsdb-tool`);
}

function hasMagic(magic: string): Handler {
  return (args) => {
    if (fileMagic(args[0] as string) !== magic) throw new Exit(2);
  };
}

function doSchemaName(args: string[]): void {
  print(`${readSchemaFile(args[0] ?? defaultSchemaPath()).name}\n`);
}
function doSchemaVersion(args: string[]): void {
  print(`${readSchemaFile(args[0] ?? defaultSchemaPath()).version}\n`);
}
function doSchemaCksum(args: string[]): void {
  print(`${readSchemaFile(args[0] ?? defaultSchemaPath()).cksum ?? ''}\n`);
}

/** query/transact: run TRNS against the file; print the results on one line, keys sorted. */
async function transact(args: string[], rw: boolean): Promise<void> {
  const file = args.length >= 2 ? (args[0] as string) : defaultDbPath();
  const storage = readDb(file, rw);
  try {
    const request = parseJsonArg(args[args.length - 1] as string);
    const db = storage.db;
    if (!Array.isArray(request) || request.length === 0 || request[0] !== db.schema.name) {
      const err = new OvsdbError(
        'syntax error',
        Array.isArray(request) ? 'database name expected as first parameter' : 'array expected',
        { syntax: request },
      );
      print(`${jsonToOvsString(err.toJson(), true)}\n`);
      return;
    }
    const ops = request.slice(1);
    let outcome = db.execute(ops, { now: Date.now, hasLock: () => false });
    if (outcome.status === 'blocked') {
      // Without a server nobody can wait: OVS fails the unsatisfied "wait" with "triggers not
      // supported". Run again with every wait already past its timeout, and swap the error.
      const forever = 2 ** 52;
      const timedOut = `"wait" timed out after ${forever} ms`;
      const impatient = ops.map((op) =>
        isJsonObject(op) && op.op === 'wait' && op.timeout === undefined
          ? { ...op, timeout: 1 }
          : op,
      );
      outcome = db.execute(impatient, { now: Date.now, hasLock: () => false, elapsedMs: forever });
      if (outcome.status === 'aborted') {
        outcome.results = outcome.results.map((r) =>
          isJsonObject(r) && r.error === 'timed out' && r.details === timedOut
            ? { error: 'not supported', details: 'triggers not supported' }
            : r,
        );
      }
    }
    let results: Json[];
    if (outcome.status === 'blocked') {
      results = [{ error: 'not supported', details: 'triggers not supported' }];
    } else {
      results = outcome.results;
      if (outcome.status === 'committed') {
        try {
          await storage.whenWritten(outcome.txnId, outcome.durable);
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          results = [...results, e.toJson()];
        }
      }
    }
    print(`${jsonToOvsString(results, true)}\n`);
  } finally {
    await storage.close();
  }
}

/* ---------- show-log ---------- */

/** " %Y-%m-%d %H:%M:%S.###" in UTC; seconds are taken for old files' second timestamps. */
function formatDate(t: number): string {
  if (t < 2147483647) t *= 1000;
  const d = new Date(t);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return ` ${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

/** Members of a parsed JSON object in the order OVS's parser would iterate them. */
function members(obj: { [k: string]: Json }): [string, Json][] {
  return shashOrder(Object.keys(obj)).map((k) => [k, obj[k] as Json]);
}

function printDbChanges(
  record: { [k: string]: Json },
  schema: DatabaseSchema | null,
  names: Map<string, string>,
  verbosity: number,
): void {
  const diff = record._is_diff === true;
  let i = 0;
  for (const [table, rows] of members(record)) {
    if (table.startsWith('_') || !isJsonObject(rows)) continue;
    if (i++ === 0) print('\n');
    const tableSchema = schema?.tables.get(table);
    for (const [uuid, columns] of members(rows)) {
      const oldName = names.get(uuid);
      let newName: string | undefined;
      if (isJsonObject(columns) && columns.name !== undefined) {
        newName = jsonToOvsString(columns.name as Json, true);
      }
      print(`  table ${table}`);
      const short = uuid.slice(0, 8);
      if (oldName === undefined) {
        print(
          newName !== undefined
            ? ` insert row ${newName} (${short}):\n`
            : ` insert row ${short}:\n`,
        );
      } else {
        print(` row ${oldName} (${short})${diff ? ' diff' : ''}:\n`);
      }
      if (isJsonObject(columns)) {
        if (verbosity > 1) {
          for (const [column, value] of members(columns)) {
            let text: string | undefined;
            const col = tableSchema?.columns.get(column);
            if (col) {
              try {
                text = datumToString(col.type, datumFromJson(col.type, value));
              } catch {
                text = undefined;
              }
            }
            print(`    ${column}=${text ?? jsonToOvsString(value, true)}\n`);
          }
        }
        if (newName !== undefined && (oldName === undefined || oldName !== newName)) {
          names.set(uuid, newName);
        } else if (oldName === undefined) {
          names.set(uuid, short);
        }
      } else if (columns === null) {
        print('    delete row\n');
        names.delete(uuid);
      }
    }
  }
}

function doShowLog(args: string[], opts: Options): void {
  const file = args[0] ?? defaultDbPath();
  const log = check(() => OvsdbLog.open(file, 'read-only', { magic: [OVSDB_MAGIC, RAFT_MAGIC] }));
  try {
    if (log.magic === RAFT_MAGIC) {
      fatal(`${file}: clustered databases are not supported by this ovsdb-tool`);
    }
    const names = new Map<string, string>();
    let schema: DatabaseSchema | null = null;
    for (let i = 0; ; i++) {
      const json = check(() => log.read());
      if (!json) break;
      print(`record ${i}:`);
      if (i === 0) {
        const s = check(() => parseDatabaseSchema(json));
        schema = s;
        print(` "${s.name}" schema, version="${s.version}", cksum="${s.cksum ?? ''}"\n`);
      } else {
        const date = json._date;
        if (typeof date === 'number' && Number.isInteger(date)) print(formatDate(date));
        const comment = json._comment;
        if (typeof comment === 'string') print(` "${comment}"`);
        if (opts.more > 0) printDbChanges(json, schema, names, opts.more);
      }
      print('\n');
    }
  } finally {
    log.close();
  }
}

function parseVersion(s: string): string {
  if (!isValidVersion(s)) fatal(`${s}: not an OVSDB version number in format x.y.z`);
  return s;
}

function doCompareVersions(args: string[]): void {
  const a = parseVersion(args[0] as string);
  const b = parseVersion(args[2] as string);
  const cmp = compareVersions(a, b);
  const op = args[1] as string;
  const table: Record<string, boolean> = {
    '<': cmp < 0,
    '<=': cmp <= 0,
    '==': cmp === 0,
    '>=': cmp >= 0,
    '>': cmp > 0,
    '!=': cmp !== 0,
  };
  const result = table[op];
  if (result === undefined) fatal(`${op}: not a relational operator`);
  throw new Exit(result ? 0 : 2);
}

function doListCommands(): void {
  print('The available commands are:\n');
  for (const c of COMMANDS) print(`  ${c.name.padEnd(24)}${c.usage ?? ''}\n`);
}

const COMMANDS: Command[] = [
  { name: 'create', usage: '[db [schema]]', min: 0, max: 2, run: doCreate },
  {
    name: 'create-cluster',
    usage: 'db contents local',
    min: 3,
    max: 3,
    run: notSupported('create-cluster'),
  },
  {
    name: 'join-cluster',
    usage: 'db name local remote...',
    min: 4,
    max: Number.MAX_SAFE_INTEGER,
    run: notSupported('join-cluster'),
  },
  { name: 'compact', usage: '[db [dst]]', min: 0, max: 2, run: doCompact },
  { name: 'convert', usage: '[db [schema [dst]]]', min: 0, max: 3, run: doConvert },
  { name: 'needs-conversion', usage: null, min: 0, max: 2, run: doNeedsConversion },
  { name: 'db-name', usage: '[db]', min: 0, max: 1, run: doDbName },
  { name: 'db-version', usage: '[db]', min: 0, max: 1, run: doDbVersion },
  { name: 'db-cksum', usage: '[db]', min: 0, max: 1, run: doDbCksum },
  { name: 'db-cid', usage: 'db', min: 1, max: 1, run: doClusterMetadata },
  { name: 'db-sid', usage: 'db', min: 1, max: 1, run: doClusterMetadata },
  { name: 'db-local-address', usage: 'db', min: 1, max: 1, run: doClusterMetadata },
  { name: 'db-is-clustered', usage: 'db', min: 1, max: 1, run: hasMagic(RAFT_MAGIC) },
  { name: 'db-is-standalone', usage: 'db', min: 1, max: 1, run: hasMagic(OVSDB_MAGIC) },
  { name: 'schema-name', usage: '[schema]', min: 0, max: 1, run: doSchemaName },
  { name: 'schema-version', usage: '[schema]', min: 0, max: 1, run: doSchemaVersion },
  { name: 'schema-cksum', usage: '[schema]', min: 0, max: 1, run: doSchemaCksum },
  { name: 'query', usage: '[db] trns', min: 1, max: 2, run: (a) => transact(a, false) },
  { name: 'transact', usage: '[db] trns', min: 1, max: 2, run: (a) => transact(a, true) },
  { name: 'show-log', usage: '[db]', min: 0, max: 1, run: doShowLog },
  {
    name: 'check-cluster',
    usage: 'db...',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    run: doCheckCluster,
  },
  { name: 'compare-versions', usage: 'a op b', min: 3, max: 3, run: doCompareVersions },
  {
    name: 'help',
    usage: null,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    run: () => {
      usage();
    },
  },
  {
    name: 'list-commands',
    usage: null,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    run: doListCommands,
  },
  {
    name: 'cluster-to-standalone',
    usage: 'db clusterdb',
    min: 2,
    max: 2,
    run: doClusterToStandalone,
  },
];

async function runCommand(opts: Options): Promise<void> {
  const [name, ...args] = opts.args;
  if (name === undefined) fatal('missing command name; use --help for help');
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) fatal(`unknown command '${name}'; use --help for help`);
  if (args.length < cmd.min) fatal(`'${name}' command requires at least ${cmd.min} arguments`);
  if (args.length > cmd.max) fatal(`'${name}' command takes at most ${cmd.max} arguments`);
  await cmd.run(args, opts);
}

/** Runs ovsdb-tool with `argv` (without node and script); returns the exit status. */
export async function main(argv: readonly string[], output: ToolIo = processIo): Promise<number> {
  io = output;
  out = '';
  setProgramName(PROGRAM);
  let status = 0;
  try {
    await runCommand(parseOptions(argv));
  } catch (e) {
    if (e instanceof Exit) status = e.status;
    else if (e instanceof Fatal) {
      flush();
      io.stderr(`${PROGRAM}: ${e.message}\n`);
      status = e.status;
    } else {
      flush();
      process.stderr.write(
        `${PROGRAM}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      status = 1;
    }
  }
  flush();
  return status;
}

if (process.argv[1] && /ovsdb-tool(\.[jt]s)?$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
