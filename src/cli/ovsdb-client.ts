/**
 * ovsdb-client: OVS's command-line OVSDB client (ovsdb/ovsdb-client.c and its man page are the
 * reference). Output is byte-identical to real ovsdb-client 3.1 against the same server state,
 * including the places where OVS prints in hash-table order (see shash-order.ts).
 *
 *   ovsdb-client [OPTIONS] COMMAND [SERVER] [DATABASE] [ARG...]
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DAEMON_STAGE_ENV,
  type Daemon,
  type DaemonOptions,
  detachKeepingOutput,
  parseDaemonArgs,
  startDaemon,
} from '../lib/daemon.ts';
import type { Json, JsonObject } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';
import {
  listenStream,
  OVSDB_PORT,
  type PassiveStream,
  type Stream,
} from '../lib/jsonrpc/stream.ts';
import { defaultDbSocket, logdir, rundir } from '../lib/paths.ts';
import {
  applyTableOption,
  type Cell,
  compareBytewise,
  defaultTableStyle,
  formatTable,
  jsonToString,
  newTableOutputState,
  TABLE_OPTIONS_NO_ARG,
  TABLE_OPTIONS_WITH_ARG,
  type Table,
  type TableOutputState,
  type TableStyle,
  tableUsage,
} from '../lib/table-format.ts';
import type { UnixctlCommands } from '../lib/unixctl/server.ts';
import { versionString } from '../lib/unixctl/version.ts';
import {
  OvsdbConnection,
  type OvsdbNotification,
  OvsdbRpcError,
  type TlsOptions,
} from '../ovsdb/client/connection.ts';
import { jsonToStringHashOrder, PREORDERED, shashOrder } from '../ovsdb/client/shash-order.ts';
import { jsonCell } from '../ovsdb/client/table-cells.ts';
import { compareDatums, datumFromJson, datumToJson } from '../ovsdb/datum.ts';
import {
  IMPLICIT_UUID_TYPE,
  parseDatabaseSchema,
  parseDatabaseSchemaText,
  schemaToJson,
  typeToJson,
} from '../ovsdb/schema.ts';
import type { DatabaseSchema, Datum, OvsdbType, TableSchema } from '../ovsdb/types.ts';

const PROGRAM = 'ovsdb-client';

/** Ends the process the way ovs_fatal does: message on stderr, exit status 1. */
class Fatal extends Error {}

function fatal(msg: string): never {
  throw new Fatal(msg);
}

const ERRNO_TEXT: { [code: string]: string } = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  ETIMEDOUT: 'Connection timed out',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EPROTO: 'Protocol error',
};

function errnoText(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code && ERRNO_TEXT[code]) return ERRNO_TEXT[code] as string;
  return (err as Error).message ?? String(err);
}

/* ---------- options ---------- */

interface Options {
  style: TableStyle;
  timestamp: boolean;
  force: boolean;
  timeout: number;
  dbChangeAware: number;
  tls: Partial<TlsOptions>;
  args: string[];
}

const LONG_WITH_ARG = [
  'timeout',
  'private-key',
  'certificate',
  'ca-cert',
  'bootstrap-ca-cert',
  'ssl-protocols',
  'ssl-ciphers',
  'log-file',
  'syslog-method',
  'syslog-target',
  'pidfile',
  'user',
  'record',
  'replay',
  ...TABLE_OPTIONS_WITH_ARG,
];
const LONG_OPTIONAL_ARG = ['verbose', 'log-file', 'pidfile', 'record', 'replay'];
const LONG_NO_ARG = [
  'help',
  'version',
  'timestamp',
  'force',
  'db-change-aware',
  'no-db-change-aware',
  'leader-only',
  'no-leader-only',
  'detach',
  'no-chdir',
  'monitor',
  'overwrite-pidfile',
  'no-self-confinement',
  ...TABLE_OPTIONS_NO_ARG,
];
/**
 * Real ovsdb-client's long options in its own order, which getopt follows when it lists the
 * possibilities of an ambiguous prefix. (No --unixctl: real ovsdb-client has none.)
 */
const LONG_OPTION_ORDER = [
  'help',
  'version',
  'timestamp',
  'force',
  'timeout',
  'db-change-aware',
  'no-db-change-aware',
  'leader-only',
  'no-leader-only',
  'verbose',
  'log-file',
  'syslog-method',
  'syslog-target',
  'detach',
  'no-self-confinement',
  'no-chdir',
  'pidfile',
  'overwrite-pidfile',
  'monitor',
  'user',
  'bootstrap-ca-cert',
  'private-key',
  'certificate',
  'ca-cert',
  'ssl-protocols',
  'ssl-ciphers',
  'format',
  'data',
  'no-headings',
  'pretty',
  'bare',
  'max-column-width',
  'record',
  'replay',
];
const SHORT_WITH_ARG = new Set(['t', 'f', 'd', 'p', 'c', 'C']);
const SHORT_OPTIONAL_ARG = new Set(['v']);
const SHORT_NO_ARG = new Set(['h', 'V']);

function parseOptions(argv: string[]): Options {
  const o: Options = {
    style: { ...defaultTableStyle(), format: 'table' },
    timestamp: false,
    force: false,
    timeout: 0,
    dbChangeAware: -1,
    tls: {},
    args: [],
  };
  const known = new Set([...LONG_WITH_ARG, ...LONG_OPTIONAL_ARG, ...LONG_NO_ARG]);
  const all = [...new Set([...LONG_OPTION_ORDER, ...known])].filter((n) => known.has(n));
  const handle = (name: string, value: string | undefined): void => {
    try {
      if (applyTableOption(o.style, name, value)) return;
    } catch (err) {
      fatal((err as Error).message);
    }
    switch (name) {
      case 'h':
      case 'help':
        process.stdout.write(usage());
        process.exit(0);
        break;
      case 'V':
      case 'version':
        process.stdout.write(`${versionString(PROGRAM)}\n`);
        process.exit(0);
        break;
      case 'timestamp':
        o.timestamp = true;
        break;
      case 'force':
        o.force = true;
        break;
      case 't':
      case 'timeout': {
        const n = /^\d+$/.test(value ?? '') ? Number(value) : 0;
        if (!n) fatal(`value ${value} on -t or --timeout is invalid`);
        o.timeout = n;
        break;
      }
      case 'db-change-aware':
        o.dbChangeAware = 1;
        break;
      case 'ssl-protocols':
        o.tls.protocols = value;
        break;
      case 'ssl-ciphers':
        o.tls.ciphers = value;
        break;
      case 'v':
      case 'verbose':
        setConsoleLevels(value);
        break;
      case 'no-db-change-aware':
        o.dbChangeAware = 0;
        break;
      case 'p':
      case 'private-key':
        o.tls.privateKey = value;
        break;
      case 'c':
      case 'certificate':
        o.tls.certificate = value;
        break;
      case 'C':
      case 'ca-cert':
      case 'bootstrap-ca-cert':
        o.tls.caCert = value;
        break;
      default:
        // Logging, daemon and replay options are accepted and have no effect here.
        break;
    }
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const given = eq < 0 ? a.slice(2) : a.slice(2, eq);
      // getopt_long accepts any unambiguous prefix of a long option.
      let name = all.includes(given) ? given : '';
      if (!name) {
        const cands = all.filter((n) => n.startsWith(given));
        if (cands.length === 1) name = cands[0] as string;
        else if (cands.length > 1) {
          // As glibc's getopt words it, the whole argument quoted.
          const list = cands.map((c) => ` '--${c}'`).join('');
          fatalUsage(`option '${a}' is ambiguous; possibilities:${list}`);
        } else fatalUsage(`unrecognized option '${a}'`);
      }
      let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (
        LONG_WITH_ARG.includes(name) &&
        !LONG_OPTIONAL_ARG.includes(name) &&
        value === undefined
      ) {
        if (i + 1 >= argv.length) fatalUsage(`option '--${name}' requires an argument`);
        value = argv[++i];
      } else if (LONG_NO_ARG.includes(name) && value !== undefined) {
        fatalUsage(`option '--${name}' doesn't allow an argument`);
      }
      handle(name, value);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        if (SHORT_WITH_ARG.has(c)) {
          let value = a.slice(j + 1);
          if (value === '') {
            if (i + 1 >= argv.length) fatalUsage(`option requires an argument -- '${c}'`);
            value = argv[++i] as string;
          }
          handle(c, value);
          break;
        }
        if (SHORT_OPTIONAL_ARG.has(c)) {
          handle(c, a.slice(j + 1) || undefined);
          break;
        }
        if (SHORT_NO_ARG.has(c)) {
          handle(c, undefined);
          continue;
        }
        fatalUsage(`invalid option -- '${c}'`);
      }
      continue;
    }
    rest.push(a);
  }
  o.args = rest;
  return o;
}

/** getopt's own complaints: printed with the program name, then exit 1 (as OVS does on '?'). */
function fatalUsage(msg: string): never {
  // getopt names the program as invoked (argv[0]), not by its short name.
  process.stderr.write(`${process.argv[1] ?? PROGRAM}: ${msg}\n`);
  process.exit(1);
}

function usage(): string {
  const r = rundir();
  return (
    `${PROGRAM}: Open vSwitch database JSON-RPC client\n` +
    `usage: ${PROGRAM} [OPTIONS] COMMAND [ARG...]\n` +
    '\nValid commands are:\n' +
    '\n  list-dbs [SERVER]\n    list databases available on SERVER\n' +
    '\n  get-schema [SERVER] [DATABASE]\n    retrieve schema for DATABASE from SERVER\n' +
    '\n  get-schema-version [SERVER] [DATABASE]\n    retrieve schema for DATABASE from SERVER and report only its\n    version number on stdout\n' +
    '\n  get-schema-cksum [SERVER] [DATABASE]\n    retrieve schema for DATABASE from SERVER and report only its\n    checksum on stdout\n' +
    '\n  list-tables [SERVER] [DATABASE]\n    list tables for DATABASE on SERVER\n' +
    '\n  list-columns [SERVER] [DATABASE] [TABLE]\n    list columns in TABLE (or all tables) in DATABASE on SERVER\n' +
    '\n  transact [SERVER] TRANSACTION\n    run TRANSACTION (params for "transact" request) on SERVER\n    and print the results as JSON on stdout\n' +
    '\n  query [SERVER] TRANSACTION\n    run TRANSACTION (params for "transact" request) on SERVER,\n    as read-only, and print the results as JSON on stdout\n' +
    '\n  monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...\n    monitor contents of COLUMNs in TABLE in DATABASE on SERVER.\n    COLUMNs may include !initial, !insert, !delete, !modify\n    to avoid seeing the specified kinds of changes.\n' +
    '\n  monitor-cond [SERVER] [DATABASE] CONDITION TABLE [COLUMN,...]...\n    monitor contents that match CONDITION of COLUMNs in TABLE in\n    DATABASE on SERVER.\n    COLUMNs may include !initial, !insert, !delete, !modify\n    to avoid seeing the specified kinds of changes.\n' +
    '\n  monitor-cond-since [SERVER] [DATABASE] [LASTID] CONDITION TABLE [COLUMN,...]...\n    monitor contents that match CONDITION of COLUMNs in TABLE in\n    DATABASE on SERVER, since change after LASTID.\n' +
    '    LASTID specifies transaction ID after which the monitoring\n    starts, which works only for cluster mode. If ignored, it\n    defaults to an all-zero uuid.\n    Other arguments are the same as in monitor-cond.\n' +
    '\n  convert [SERVER] SCHEMA\n    convert database on SERVER named in SCHEMA to SCHEMA.\n' +
    "\n  needs-conversion [SERVER] SCHEMA\n    tests whether SCHEMA's db on SERVER needs conversion.\n" +
    '\n  monitor [SERVER] [DATABASE] ALL\n    monitor all changes to all columns in all tables\n' +
    '\n  wait [SERVER] DATABASE STATE\n    wait until DATABASE reaches STATE ("added" or "connected" or "removed")\n    in DATBASE on SERVER.\n' +
    '\n  dump [SERVER] [DATABASE]\n    dump contents of DATABASE on SERVER to stdout\n' +
    '\n  backup [SERVER] [DATABASE] > SNAPSHOT\n    dump database contents in the form of a database file\n' +
    '\n  [--force] restore [SERVER] [DATABASE] < SNAPSHOT\n    restore database contents from a database file\n' +
    '\n  lock [SERVER] LOCK\n    create or wait for LOCK in SERVER\n' +
    '\n  steal [SERVER] LOCK\n    steal LOCK from SERVER\n' +
    '\n  unlock [SERVER] LOCK\n    unlock LOCK from SERVER\n' +
    `\nThe default SERVER is unix:${r}/db.sock.\n` +
    'The default DATABASE is Open_vSwitch.\n' +
    '\nActive SERVER connection methods:\n' +
    '  tcp:HOST:PORT           PORT at remote HOST\n' +
    '  ssl:HOST:PORT           SSL PORT at remote HOST\n' +
    '  unix:FILE               Unix domain socket named FILE\n' +
    'Passive SERVER connection methods:\n' +
    '  ptcp:PORT[:IP]          listen to TCP PORT on IP\n' +
    '  pssl:PORT[:IP]          listen for SSL on PORT on IP\n' +
    '  punix:FILE              listen on Unix domain socket FILE\n' +
    'PKI configuration (required to use SSL):\n' +
    '  -p, --private-key=FILE  file with private key\n' +
    '  -c, --certificate=FILE  file with certificate for private key\n' +
    '  -C, --ca-cert=FILE      file with peer CA certificate\n' +
    '  --bootstrap-ca-cert=FILE  file with peer CA certificate to read or create\n' +
    'SSL options:\n' +
    '  --ssl-protocols=PROTOS  list of SSL protocols to enable\n' +
    '  --ssl-ciphers=CIPHERS   list of SSL ciphers to enable\n' +
    tableUsage() +
    '  --timestamp                 timestamp "monitor" output\n' +
    // As real ovsdb-client's help (which does not list -t/--timeout either).
    'Daemon options:\n' +
    '  --detach                run in background as daemon\n' +
    '  --monitor               creates a process to monitor this daemon\n' +
    '  --user=username[:group] changes the effective daemon user:group\n' +
    "  --no-chdir              do not chdir to '/'\n" +
    `  --pidfile[=FILE]        create pidfile (default: ${r}/${PROGRAM}.pid)\n` +
    '  --overwrite-pidfile     with --pidfile, start even if already running\n' +
    '\nLogging options:\n' +
    '  -vSPEC, --verbose=SPEC   set logging levels\n' +
    '  -v, --verbose            set maximum verbosity level\n' +
    '  --log-file[=FILE]        enable logging to specified FILE\n' +
    `                           (default: ${logdir()}/${PROGRAM}.log)\n` +
    '  --syslog-method=(libc|unix:file|udp:ip:port)\n' +
    '                           specify how to send messages to syslog daemon\n' +
    '  --syslog-target=HOST:PORT  also send syslog msgs to HOST:PORT via UDP\n' +
    '\nReplay options:\n' +
    '  --record[=DIR]            turn on writing replay files\n' +
    '  --replay[=DIR]            run from replay files\n' +
    '\nOther options:\n' +
    '  -h, --help                  display this help message\n' +
    '  -V, --version               display version information\n'
  );
}

/* ---------- connection and arguments ---------- */

type Need = 'none' | 'rpc' | 'database';

interface Ctx {
  opts: Options;
  style: TableStyle;
  out: TableOutputState;
  conn: OvsdbConnection | null;
  database: string;
  /** Start-up is complete (a monitor printed its initial contents): detach now, if asked. */
  ready?: () => void;
  /** With --detach: the background process, whose control socket takes the commands' extras. */
  daemon?: Daemon;
}

function tlsOf(o: Options): TlsOptions | undefined {
  const t = o.tls;
  return t.privateKey && t.certificate && t.caCert
    ? {
        privateKey: t.privateKey,
        certificate: t.certificate,
        caCert: t.caCert,
        ...(t.protocols ? { protocols: t.protocols } : {}),
        ...(t.ciphers ? { ciphers: t.ciphers } : {}),
      }
    : undefined;
}

/** OVS refuses an ssl: stream unless key, certificate and CA certificate are all configured. */
function checkSslConfig(server: string, o: Options): void {
  if (!server.startsWith('ssl:')) return;
  const missing: string[] = [];
  if (!o.tls.privateKey) missing.push('Private key');
  if (!o.tls.certificate) missing.push('Certificate');
  if (!o.tls.caCert) missing.push('CA certificate');
  if (missing.length === 0) return;
  for (const m of missing) consoleLog('stream_ssl', 'ERR', `${m} must be configured to use SSL`);
  fatal(`failed to connect to "${server}" (Protocol not available)`);
}

async function openJsonrpc(server: string, o: Options): Promise<OvsdbConnection> {
  checkSslConfig(server, o);
  if (/^p(unix|tcp|ssl):/.test(server)) return acceptJsonrpc(server, o);
  try {
    return await OvsdbConnection.connect(server, { tls: tlsOf(o) });
  } catch (err) {
    // A failed TLS handshake: OVS logs OpenSSL's reason and reports a protocol error.
    const ssl = /error:([0-9A-F]+):SSL routines:[^:]*:([^:\n]+)/.exec(
      String((err as Error)?.message),
    );
    if (ssl) {
      consoleLog('stream_ssl', 'WARN', `SSL_connect: error:${ssl[1]}:SSL routines::${ssl[2]}`);
      fatal(`failed to connect to "${server}" (Protocol error)`);
    }
    fatal(`failed to connect to "${server}" (${errnoText(err)})`);
  }
}

/**
 * A passive remote (punix:, ptcp:, pssl:): listen, wait for the server to connect (as an
 * ovsdb-server with an active --remote does), take that one connection and stop listening,
 * as real ovsdb-client does; its log lines and errors are worded as OVS's.
 */
async function acceptJsonrpc(server: string, o: Options): Promise<OvsdbConnection> {
  let take: ((s: Stream) => void) | null = null;
  const accepted = new Promise<Stream>((resolve) => {
    take = resolve;
  });
  let ps: PassiveStream;
  try {
    ps = await listenStream(
      server,
      (s) => {
        const t = take;
        take = null;
        if (t) t(s);
        else s.destroy();
      },
      { tls: tlsOf(o), defaultPort: OVSDB_PORT },
    );
  } catch (err) {
    if (server.startsWith('punix:')) {
      const path = server.slice('punix:'.length);
      // Node's bind through a short alias path reports a missing directory as EACCES.
      const why = existsSync(dirname(path)) ? errnoText(err) : 'No such file or directory';
      consoleLog('fatal_signal', 'WARN', `could not unlink "${path}" (${why})`);
      consoleLog('stream_unix', 'ERR', `${path}: binding failed: ${why}`);
      fatal(`failed to connect or listen to "${server}" (${why})`);
    }
    fatal(`failed to connect or listen to "${server}" (${errnoText(err)})`);
  }
  if (ps.address.kind !== 'punix') {
    const target = server.slice(server.indexOf(':') + 1);
    consoleLog('socket_util', 'INFO', `${target}: listening on port ${ps.port}`);
  }
  consoleLog('ovsdb_client', 'INFO', `${server}: waiting for connection...`);
  const stream = await accepted;
  await ps.close();
  return OvsdbConnection.fromStream(server, stream);
}

/** RPC errors are fatal in ovsdb-client: "transaction returned error: {...}". */
async function rpc<T>(ctx: Ctx, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof OvsdbRpcError) {
      fatal(
        `transaction returned error: ${jsonToString(err.error, { sort: true, pretty: ctx.style.pretty })}`,
      );
    }
    // The server closing the connection is an end of file, as OVS reports it.
    const eof = err instanceof Error && /closed by peer/.test(err.message);
    fatal(`transaction failed (${eof ? 'End of file' : errnoText(err)})`);
  }
}

async function fetchDbs(ctx: Ctx, conn: OvsdbConnection): Promise<string[]> {
  const r = await rpc(ctx, conn.request('list_dbs', []));
  if (!Array.isArray(r)) fatal('list_dbs response is not array');
  r.forEach((n, i) => {
    if (typeof n !== 'string') fatal(`list_dbs response ${i} is not string`);
  });
  return (r as string[]).sort(compareBytewise);
}

function looksLikeRemote(s: string): boolean {
  return /^[A-Za-z]/.test(s) && s.includes(':');
}

/** ovsdb-client's open_rpc: picks SERVER and DATABASE off the front of the arguments. */
async function openRpc(ctx: Ctx, minArgs: number, need: Need, args: string[]): Promise<number> {
  let idx = 0;
  let server = `unix:${defaultDbSocket()}`;
  if (args.length > minArgs && looksLikeRemote(args[0] as string)) {
    server = args[idx++] as string;
    if (server.includes(',')) server = server.split(',')[0] as string;
  }
  const conn = await openJsonrpc(server, ctx.opts);
  ctx.conn = conn;
  if (need === 'database' && !ctx.database) {
    const dbs = await fetchDbs(ctx, conn);
    if (args.length - idx > minArgs && dbs.includes(args[idx] as string)) {
      ctx.database = args[idx++] as string;
    } else if (dbs.includes('Open_vSwitch')) {
      ctx.database = 'Open_vSwitch';
    } else {
      const cands = dbs.filter((d) => d[0] !== '_');
      if (cands.length !== 1)
        fatal('could not find a default database, please specify a database name');
      ctx.database = cands[0] as string;
    }
  }
  return idx;
}

interface RawSchema {
  json: JsonObject;
  schema: DatabaseSchema;
}

async function fetchSchema(ctx: Ctx): Promise<RawSchema> {
  const conn = ctx.conn as OvsdbConnection;
  const json = await rpc(ctx, conn.request('get_schema', [ctx.database]));
  if (!isJsonObject(json)) fatal('get_schema reply is not an object');
  try {
    return { json, schema: parseDatabaseSchema(json) };
  } catch (err) {
    fatal(String(err));
  }
}

/** The order OVS's ovsdb_schema_from_json leaves schema->tables in. */
function schemaTableOrder(raw: RawSchema): string[] {
  const tables = raw.json.tables;
  return isJsonObject(tables) ? shashOrder(shashOrder(Object.keys(tables))) : [];
}

/** The order of a table's columns in OVS's ts->columns (implicit columns added first). */
function schemaColumnOrder(raw: RawSchema, table: string): string[] {
  const t = (raw.json.tables as JsonObject)[table];
  const cols = isJsonObject(t) && isJsonObject(t.columns) ? Object.keys(t.columns) : [];
  return shashOrder(['_uuid', '_version', ...shashOrder(cols)]);
}

function columnTypeOf(ts: TableSchema, name: string): OvsdbType | undefined {
  if (name === '_uuid' || name === '_version') return IMPLICIT_UUID_TYPE;
  return ts.columns.get(name)?.type;
}

function print(s: string): void {
  process.stdout.write(s);
}

function printJson(ctx: Ctx, json: Json): void {
  print(`${jsonToString(json, { sort: true, pretty: ctx.style.pretty })}\n`);
}

function printTable(ctx: Ctx, t: Table): void {
  print(formatTable(t, ctx.style, ctx.out));
}

function typedCell(type: OvsdbType, json: Json): Cell {
  return jsonCell(type, json);
}

/** Parses a JSON command-line argument; OVS insists on an object or array. */
function parseJsonArg(s: string): Json {
  const trimmed = s.trimStart();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) {
    const pos = trimmed === '' ? 0 : Math.min(s.length, 2);
    fatal(`"${s}": line 0, column ${pos}, byte ${pos}: syntax error at beginning of input`);
  }
  try {
    return JSON.parse(s) as Json;
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const len = Buffer.byteLength(s);
    if (!m || Number(m[1]) >= s.length)
      fatal(`"${s}": line 0, column ${len}, byte ${len}: unexpected end of input`);
    const pos = Number(m[1]);
    fatal(`"${s}": line 0, column ${pos}, byte ${pos}: syntax error`);
  }
}

/* ---------- commands ---------- */

async function doListDbs(ctx: Ctx): Promise<void> {
  for (const db of await fetchDbs(ctx, ctx.conn as OvsdbConnection)) print(`${db}\n`);
}

async function doGetSchema(ctx: Ctx): Promise<void> {
  printJson(ctx, schemaToJson((await fetchSchema(ctx)).schema));
}

async function doGetSchemaVersion(ctx: Ctx): Promise<void> {
  print(`${(await fetchSchema(ctx)).schema.version}\n`);
}

async function doGetSchemaCksum(ctx: Ctx): Promise<void> {
  print(`${(await fetchSchema(ctx)).schema.cksum ?? ''}\n`);
}

async function doListTables(ctx: Ctx): Promise<void> {
  const raw = await fetchSchema(ctx);
  printTable(ctx, { headings: ['Table'], rows: schemaTableOrder(raw).map((t) => [t]) });
}

async function doListColumns(ctx: Ctx, args: string[]): Promise<void> {
  const tableName = args[0];
  const raw = await fetchSchema(ctx);
  const headings = tableName ? ['Column', 'Type'] : ['Table', 'Column', 'Type'];
  const rows: Cell[][] = [];
  for (const t of schemaTableOrder(raw)) {
    if (tableName && tableName !== t) continue;
    const ts = raw.schema.tables.get(t) as TableSchema;
    for (const c of schemaColumnOrder(raw, t)) {
      const type = columnTypeOf(ts, c) as OvsdbType;
      const row: Cell[] = tableName ? [] : [t];
      row.push(c, { json: typeToJson(type) });
      rows.push(row);
    }
  }
  printTable(ctx, { headings, rows });
}

async function transact(ctx: Ctx, args: string[], txn: Json): Promise<Json> {
  if (!Array.isArray(txn) || txn.length === 0 || typeof txn[0] !== 'string')
    fatal('not a valid OVSDB query');
  ctx.database = txn[0] as string;
  await openRpc(ctx, 1, 'database', args);
  const conn = ctx.conn as OvsdbConnection;
  if (ctx.opts.dbChangeAware === 1) await sendDbChangeAware(ctx);
  // Real ovsdb-client detaches here, before sending: the caller gets status 0 whatever the
  // transaction's fate, and the result lands on the caller's stdout later.
  ctx.ready?.();
  return rpc(ctx, conn.request('transact', txn));
}

async function doTransact(ctx: Ctx, args: string[]): Promise<void> {
  printJson(ctx, await transact(ctx, args, parseJsonArg(args[args.length - 1] as string)));
}

async function doQuery(ctx: Ctx, args: string[]): Promise<void> {
  const txn = parseJsonArg(args[args.length - 1] as string);
  if (!Array.isArray(txn)) fatal('not a valid OVSDB query');
  txn.push({ op: 'abort' });
  const abortIdx = txn.length - 2;
  const result = await transact(ctx, args, txn);
  if (Array.isArray(result) && result.length === abortIdx + 1) {
    const r = result[abortIdx];
    if (isJsonObject(r) && r.error === 'aborted') result.pop();
  }
  printJson(ctx, result);
}

async function sendDbChangeAware(ctx: Ctx): Promise<void> {
  if (ctx.opts.dbChangeAware === 0) return;
  const conn = ctx.conn as OvsdbConnection;
  try {
    await conn.request('set_db_change_aware', [true]);
  } catch (err) {
    if (err instanceof OvsdbRpcError) {
      if (ctx.opts.dbChangeAware === 1) {
        fatal(`${conn.name}: set_db_change_aware failed (${jsonToString(err.error)})`);
      }
      return;
    }
    fatal(`${conn.name}: error setting db_change_aware (${errnoText(err)})`);
  }
}

/* dump */

async function doDump(ctx: Ctx, args: string[]): Promise<void> {
  const raw = await fetchSchema(ctx);
  const schema = raw.schema;
  let tables: string[];
  const custom: string[] = [];
  if (args.length) {
    const tname = args[0] as string;
    if (!schema.tables.has(tname)) fatal(`No table "${tname}" found.`);
    tables = [tname];
    const ts = schema.tables.get(tname) as TableSchema;
    for (const c of args.slice(1)) {
      if (!columnTypeOf(ts, c)) fatal(`Table "${tname}" has no column ${c}.`);
      if (!custom.includes(c)) custom.push(c);
    }
  } else {
    tables = [...schema.tables.keys()].sort(compareBytewise);
  }
  const columnsOf = (t: string): string[] =>
    (args.length > 1 ? custom : schemaColumnOrder(raw, t)).filter((c) => c !== '_version');
  const ops: Json[] = [ctx.database];
  for (const t of tables) ops.push({ op: 'select', table: t, where: [], columns: columnsOf(t) });
  const conn = ctx.conn as OvsdbConnection;
  const result = await rpc(ctx, conn.request('transact', ops));
  if (!Array.isArray(result) || result.length !== tables.length) {
    fatal(`reply is not array of ${tables.length} elements: ${jsonToString(result)}`);
  }
  tables.forEach((t, i) => {
    const r = result[i];
    if (!isJsonObject(r) || !Array.isArray(r.rows)) {
      fatal(
        `${t} table reply is not an object with a "rows" member array: ${jsonToString(r as Json)}`,
      );
    }
    dumpTable(ctx, schema.tables.get(t) as TableSchema, columnsOf(t), r.rows);
  });
}

function dumpTable(ctx: Ctx, ts: TableSchema, columnNames: string[], rows: Json[]): void {
  const cols = [...columnNames]
    .sort(compareBytewise)
    .map((name) => ({ name, type: columnTypeOf(ts, name) as OvsdbType }));
  const loose = cols.map(
    (c) => ({ ...c.type, min: 0, max: Number.POSITIVE_INFINITY }) as OvsdbType,
  );
  const data: Datum[][] = rows.map((row, y) => {
    if (!isJsonObject(row))
      fatal(`row ${y} in table ${ts.name} response is not a JSON object: ${jsonToString(row)}`);
    return cols.map((c, x): Datum => {
      const json = row[c.name];
      if (json === undefined) fatal(`row ${y} in table ${ts.name} response lacks ${c.name} column`);
      let d: Datum;
      try {
        d = datumFromJson(loose[x] as OvsdbType, json);
      } catch (err) {
        fatal(String(err));
      }
      return d;
    });
  });
  // Rows sorted by their values, uuid columns last since their values are random.
  const nonUuid = cols
    .map((_c, i) => i)
    .filter((i) => (cols[i] as { type: OvsdbType }).type.key.type !== 'uuid');
  const uuidCols = cols
    .map((_c, i) => i)
    .filter((i) => (cols[i] as { type: OvsdbType }).type.key.type === 'uuid');
  const order = [...nonUuid, ...uuidCols];
  data.sort((a, b) => {
    for (const x of order) {
      const c = compareDatums((cols[x] as { type: OvsdbType }).type, a[x] as Datum, b[x] as Datum);
      if (c) return c;
    }
    return 0;
  });
  printTable(ctx, {
    caption: `${ts.name} table`,
    headings: cols.map((c) => c.name),
    rows: data.map((row) =>
      row.map((d, x) =>
        typedCell(
          (cols[x] as { type: OvsdbType }).type,
          datumToJson((cols[x] as { type: OvsdbType }).type, d),
        ),
      ),
    ),
  });
}

/* monitor */

interface MonitoredTable {
  table: TableSchema;
  columns: { name: string; type: OvsdbType }[];
}

function parseMonitorColumns(
  arg: string,
  server: string,
  ctx: Ctx,
  ts: TableSchema,
  mt: MonitoredTable,
): JsonObject {
  const columnsJson: string[] = [];
  const mr: JsonObject = { columns: columnsJson };
  let initial = true;
  let insert = true;
  let del = true;
  let modify = true;
  const add = (name: string): void => {
    if (mt.columns.some((c) => c.name === name))
      fatal(`${server}: column "${name}" mentioned multiple times`);
    mt.columns.push({ name, type: columnTypeOf(ts, name) as OvsdbType });
    columnsJson.push(name);
  };
  for (const token of arg.split(',').filter((t) => t !== '')) {
    if (token === '!initial') initial = false;
    else if (token === '!insert') insert = false;
    else if (token === '!delete') del = false;
    else if (token === '!modify') modify = false;
    else {
      if (!columnTypeOf(ts, token)) {
        fatal(
          `${server}: table "${ts.name}" in ${ctx.database} does not have a column named "${token}"`,
        );
      }
      add(token);
    }
  }
  if (columnsJson.length === 0) {
    for (const c of [...ts.columns.keys()].sort(compareBytewise)) add(c);
    add('_version');
  }
  if (!initial || !insert || !del || !modify) {
    mr.select = { initial, insert, delete: del, modify };
  }
  return mr;
}

function addMonitoredTable(
  args: string[],
  server: string,
  ctx: Ctx,
  condition: Json | undefined,
  ts: TableSchema,
  requests: JsonObject,
  mts: MonitoredTable[],
): void {
  const mt: MonitoredTable = { table: ts, columns: [] };
  mts.push(mt);
  const arr: Json[] = [];
  const specs = args.length > 1 ? args.slice(1) : [''];
  specs.forEach((spec, i) => {
    const mr = parseMonitorColumns(spec, server, ctx, ts, mt);
    if (i === 0 && condition !== undefined) mr.where = condition;
    arr.push(mr);
  });
  requests[ts.name] = arr;
}

function monitorRow(
  row: Json,
  type: string,
  uuid: string,
  mt: MonitoredTable,
  rows: Cell[][],
): void {
  if (row === undefined || row === null) {
    process.stderr.write(`${PROGRAM}: missing ${type} row\n`);
    return;
  }
  if (!isJsonObject(row)) {
    process.stderr.write(`${PROGRAM}: <row> is not object\n`);
    return;
  }
  const cells: Cell[] = [uuid, type];
  for (const c of mt.columns) {
    const v = row[c.name];
    cells.push(v === undefined ? null : typedCell(c.type, v));
  }
  rows.push(cells);
}

function monitorHeadings(mt: MonitoredTable): string[] {
  return ['row', 'action', ...mt.columns.map((c) => c.name)];
}

/** The row updates of one table in the order OVS's shash of the parsed object gives. */
function rowOrder(tu: JsonObject): string[] {
  return shashOrder(Object.keys(tu));
}

function monitorPrint(ctx: Ctx, updates: Json, mts: MonitoredTable[], initial: boolean): void {
  if (!isJsonObject(updates)) {
    process.stderr.write(`${PROGRAM}: <table-updates> is not object\n`);
    return;
  }
  for (const mt of mts) {
    const tu = updates[mt.table.name];
    if (tu === undefined) continue;
    if (!isJsonObject(tu)) {
      process.stderr.write(`${PROGRAM}: <table-update> for table ${mt.table.name} is not object\n`);
      continue;
    }
    const rows: Cell[][] = [];
    for (const uuid of rowOrder(tu)) {
      const ru = tu[uuid];
      if (!isJsonObject(ru)) {
        process.stderr.write(`${PROGRAM}: <row-update> is not object\n`);
        continue;
      }
      const old = ru.old;
      const nw = ru.new;
      if (initial) monitorRow(nw as Json, 'initial', uuid, mt, rows);
      else if (old === undefined) monitorRow(nw as Json, 'insert', uuid, mt, rows);
      else if (nw === undefined) monitorRow(old, 'delete', uuid, mt, rows);
      else {
        monitorRow(old, 'old', uuid, mt, rows);
        monitorRow(nw, 'new', '', mt, rows);
      }
    }
    printTable(ctx, {
      headings: monitorHeadings(mt),
      rows,
      timestamp: ctx.opts.timestamp,
      ...(mts.length > 1 ? { caption: mt.table.name } : {}),
    });
  }
}

function monitor2Print(ctx: Ctx, updates: Json, mts: MonitoredTable[]): void {
  if (!isJsonObject(updates)) {
    process.stderr.write(`${PROGRAM}: <table-updates2> is not object\n`);
    return;
  }
  for (const mt of mts) {
    const tu = updates[mt.table.name];
    if (tu === undefined) continue;
    if (!isJsonObject(tu)) {
      process.stderr.write(`${PROGRAM}: <table-update> for table ${mt.table.name} is not object\n`);
      continue;
    }
    const rows: Cell[][] = [];
    for (const uuid of rowOrder(tu)) {
      const ru = tu[uuid];
      if (!isJsonObject(ru)) {
        process.stderr.write(`${PROGRAM}: <row-update2> is not object\n`);
        continue;
      }
      for (const op of ['delete', 'initial', 'modify', 'insert']) {
        const row = ru[op];
        if (row === undefined) continue;
        if (op === 'delete') {
          if (row !== null)
            process.stderr.write(`${PROGRAM}: delete method does not expect <row>\n`);
          else rows.push([uuid, op]);
        } else if (!isJsonObject(row)) {
          process.stderr.write(`${PROGRAM}: <row> is not object\n`);
        } else {
          monitorRow(row, op, uuid, mt, rows);
        }
        break;
      }
    }
    printTable(ctx, {
      headings: monitorHeadings(mt),
      rows,
      timestamp: ctx.opts.timestamp,
      ...(mts.length > 1 ? { caption: mt.table.name } : {}),
    });
  }
}

async function doMonitorImpl(
  ctx: Ctx,
  version: 1 | 2 | 3,
  args: string[],
  condition: Json | undefined,
  lastId: string,
): Promise<void> {
  const conn = ctx.conn as OvsdbConnection;
  const server = conn.name;
  const tableName = args[0] as string;
  const raw = await fetchSchema(ctx);
  const requests: JsonObject = {};
  const mts: MonitoredTable[] = [];
  if (tableName !== 'ALL') {
    const ts = raw.schema.tables.get(tableName);
    if (!ts) fatal(`${server}: ${ctx.database} does not have a table named "${tableName}"`);
    addMonitoredTable(args, server, ctx, condition, ts, requests, mts);
  } else {
    if (condition !== undefined) fatal('ALL tables are not allowed with condition');
    for (const t of [...raw.schema.tables.keys()].sort(compareBytewise)) {
      addMonitoredTable(
        args,
        server,
        ctx,
        undefined,
        raw.schema.tables.get(t) as TableSchema,
        requests,
        mts,
      );
    }
  }
  if (ctx.daemon?.unixctl) registerMonitorCommands(ctx.daemon.unixctl.commands, conn);
  await sendDbChangeAware(ctx);
  const method = version === 1 ? 'monitor' : version === 2 ? 'monitor_cond' : 'monitor_cond_since';
  const params: Json[] = [ctx.database, null, requests];
  if (version === 3) params.push(lastId);
  let ready = false;
  const pendingNotes: OvsdbNotification[] = [];
  const onNote = (n: OvsdbNotification): void => {
    const p = n.params;
    if (n.method === 'update' && p.length === 2 && p[0] === null)
      monitorPrint(ctx, p[1] as Json, mts, false);
    else if (n.method === 'update2' && version === 2 && p.length === 2 && p[0] === null) {
      monitor2Print(ctx, p[1] as Json, mts);
    } else if (n.method === 'update3' && version === 3 && p.length === 3 && p[0] === null) {
      print(`\nlast_id: ${String(p[1])}`);
      monitor2Print(ctx, p[2] as Json, mts);
    } else if (n.method === 'monitor_canceled') {
      fatalNow(`${server}: ${ctx.database} database was removed`);
    }
  };
  conn.on('notification', (n: OvsdbNotification) => {
    if (ready) onNote(n);
    else pendingNotes.push(n);
  });
  const closed = new Promise<Error | undefined>((r) => conn.once('close', r));
  const result = await rpc(ctx, conn.request(method, params));
  if (version === 1) monitorPrint(ctx, result, mts, true);
  else if (version === 2) monitor2Print(ctx, result, mts);
  else {
    if (!Array.isArray(result)) process.stderr.write(`${PROGRAM}: <result> is not array\n`);
    else {
      if (result.length !== 3) {
        process.stderr.write(
          `${PROGRAM}: <result> should have 3 elements, but has ${result.length}.\n`,
        );
      }
      print(`found: ${result[0] === true ? 'true' : 'false'}, last_id: ${String(result[1])}\n`);
      monitor2Print(ctx, result[2] as Json, mts);
    }
  }
  ready = true;
  ctx.ready?.();
  for (const n of pendingNotes) onNote(n);
  const why = await closed;
  fatal(
    `${server}: receive failed (${why instanceof Error && /closed by peer/.test(why.message) ? 'End of file' : errnoText(why)})`,
  );
}

function fatalNow(msg: string): never {
  process.stderr.write(`${PROGRAM}: ${msg}\n`);
  process.exit(1);
}

async function doMonitor(ctx: Ctx, args: string[]): Promise<void> {
  await doMonitorImpl(ctx, 1, args, undefined, '');
}

async function doMonitorCondImpl(
  ctx: Ctx,
  version: 2 | 3,
  lastId: string,
  args: string[],
): Promise<void> {
  const raw = await fetchSchema(ctx);
  const tableName = args[1] as string;
  if (!raw.schema.tables.has(tableName))
    fatal(`${ctx.database} does not have a table named "${tableName}"`);
  const condition = parseJsonArg(args[0] as string);
  await doMonitorImpl(ctx, version, args.slice(1), condition, lastId);
}

async function doMonitorCond(ctx: Ctx, args: string[]): Promise<void> {
  await doMonitorCondImpl(ctx, 2, '', args);
}

const UUID_ARG = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

async function doMonitorCondSince(ctx: Ctx, args: string[]): Promise<void> {
  let lastId = '00000000-0000-0000-0000-000000000000';
  let a = args;
  if (UUID_ARG.test(a[0] as string)) {
    lastId = (a[0] as string).toLowerCase();
    a = a.slice(1);
  }
  await doMonitorCondImpl(ctx, 3, lastId, a);
}

/**
 * The control commands real ovsdb-client serves while a detached monitor runs:
 * ovsdb-client/block and /unblock stop and restart reading from the server (so the server sees
 * a client that does not read), ovsdb-client/cond_change sends monitor_cond_change.
 */
function registerMonitorCommands(c: UnixctlCommands, conn: OvsdbConnection): void {
  let blocked = false;
  c.register('ovsdb-client/block', '', 0, 0, () => {
    if (blocked) return 'already blocking';
    blocked = true;
    conn.pause();
    return '';
  });
  c.register('ovsdb-client/unblock', '', 0, 0, () => {
    if (!blocked) return 'already unblocked';
    blocked = false;
    conn.resume();
    return '';
  });
  c.register('ovsdb-client/cond_change', 'TABLE COND', 2, 2, (args) => {
    const [table, cond] = args as [string, string];
    // As real ovsdb-client: the reply is not awaited and an error reply is ignored.
    conn.requestWithCallback(
      'monitor_cond_change',
      [null, null, { [table]: [{ where: jsonFromStringLoose(cond) }] }],
      () => {},
    );
    return 'condition changed';
  });
}

/** OVS's json_from_string: text that does not parse becomes a string holding the error. */
function jsonFromStringLoose(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    return (err as Error).message;
  }
}

/* locks */

/**
 * lock / steal / unlock: prints each reply and each notification (locked, stolen) as it comes.
 * Detached, the control socket takes further lock, steal and unlock requests (one pending at
 * a time, as real ovsdb-client keeps them), and the process detaches at the first reply.
 */
async function doLock(ctx: Ctx, method: string, lock: string): Promise<void> {
  const conn = ctx.conn as OvsdbConnection;
  conn.on('notification', (n: OvsdbNotification) => {
    print(`${n.method}\n`);
    printJson(ctx, n.params);
  });
  const closed = new Promise<Error | undefined>((r) => conn.once('close', r));
  const send = (m: string, name: string): void => {
    conn.requestWithCallback(m, [name], (result) => {
      // An error reply (e.g. a second lock of the same name) prints nothing, as in OVS.
      if (result === undefined) return;
      printJson(ctx, result);
      ctx.ready?.();
    });
  };
  send(method, lock);
  const commands = ctx.daemon?.unixctl?.commands;
  if (commands) {
    for (const m of ['unlock', 'steal', 'lock']) {
      commands.register(m, 'LOCK', 1, 1, (args) => {
        send(m, args[0] as string);
        return '';
      });
    }
  }
  const why = await closed;
  fatal(
    `${conn.name}: receive failed (${why instanceof Error && /closed by peer/.test(why.message) ? 'End of file' : errnoText(why)})`,
  );
}

/* wait */

async function doWait(ctx: Ctx, args: string[]): Promise<void> {
  const database = args[args.length - 2] as string;
  const state = args[args.length - 1] as string;
  if (state !== 'connected' && state !== 'added' && state !== 'removed')
    fatal(`${state}: unknown state`);
  const remote = args.length > 2 ? (args[0] as string) : `unix:${defaultDbSocket()}`;
  const op: JsonObject = { op: 'wait', table: 'Database', where: [['name', '==', database]] };
  if (state === 'connected') {
    op.columns = ['connected'];
    op.until = '==';
    op.rows = [{ connected: true }];
  } else {
    // The row exists (added) or not (removed). No timeout: the server holds the request.
    op.columns = [];
    op.until = '==';
    op.rows = state === 'added' ? [{}] : [];
  }
  checkSslConfig(remote, ctx.opts);
  // Like OVS's reconnecting session: keep trying until the server is there.
  for (let backoff = 1000; ; backoff = Math.min(8000, backoff * 2)) {
    let conn: OvsdbConnection;
    consoleLog('reconnect', 'INFO', `${remote}: connecting...`);
    try {
      conn = await OvsdbConnection.connect(remote, { tls: tlsOf(ctx.opts) });
    } catch (err) {
      consoleLog('reconnect', 'INFO', `${remote}: connection attempt failed (${errnoText(err)})`);
      // OVS's reconnect retries after 1 s, then says how long each longer wait is.
      if (backoff > 1000)
        consoleLog(
          'reconnect',
          'INFO',
          `${remote}: waiting ${backoff / 1000} seconds before reconnect`,
        );
      await new Promise((r) => setTimeout(r, backoff));
      continue;
    }
    consoleLog('reconnect', 'INFO', `${remote}: connected`);
    ctx.conn = conn;
    const sdca = conn.request('set_db_change_aware', [true]);
    const txn = conn.request('transact', ['_Server', op]);
    try {
      await sdca;
    } catch (err) {
      if (err instanceof OvsdbRpcError) {
        fatal(`${conn.name}: set_db_change_aware failed (${jsonToString(err.error)})`);
      }
    }
    let result: Json;
    try {
      result = await txn;
    } catch (err) {
      if (err instanceof OvsdbRpcError)
        fatal(`transaction returned error: ${jsonToString(err.error, { sort: true })}`);
      continue; // connection lost: reconnect and ask again
    }
    if (!Array.isArray(result)) fatal('result is not array');
    for (const r of result) {
      if (!isJsonObject(r)) fatal('result array element is not object');
      if (r.error !== undefined)
        fatal(`server returned error reply: ${jsonToString(r, { sort: true })}`);
    }
    return;
  }
}

/* backup / restore / convert */

async function doBackup(ctx: Ctx): Promise<void> {
  if (process.stdout.isTTY)
    fatal('not writing backup to a terminal; please redirect stdout to a file');
  const raw = await fetchSchema(ctx);
  const schema = raw.schema;
  const order = schemaTableOrder(raw);
  const ops: Json[] = [ctx.database];
  for (const t of order) {
    const ts = schema.tables.get(t) as TableSchema;
    const cols = schemaColumnOrder(raw, t).filter(
      (c) => c !== '_version' && !ts.columns.get(c)?.ephemeral,
    );
    ops.push({ op: 'select', table: t, where: [], columns: cols });
  }
  const conn = ctx.conn as OvsdbConnection;
  const result = await rpc(ctx, conn.request('transact', ops));
  if (!Array.isArray(result) || result.length !== order.length) {
    fatal(`reply is not array of ${order.length} elements: ${jsonToString(result)}`);
  }
  const txn: JsonObject = {};
  order.forEach((t, i) => {
    const r = result[i];
    if (!isJsonObject(r) || !Array.isArray(r.rows)) {
      fatal(
        `${t} table reply is not an object with a "rows" member array: ${jsonToString(r as Json)}`,
      );
    }
    if (r.rows.length === 0) return;
    const rows: JsonObject = {};
    for (const row of r.rows) {
      if (!isJsonObject(row)) fatal(`${t} table reply row is not an object: ${jsonToString(row)}`);
      const u = row._uuid;
      if (!Array.isArray(u) || typeof u[1] !== 'string')
        fatal(`${t} table reply row lacks _uuid member: ${jsonToString(row)}`);
      // OVS writes the parsed row itself, _uuid removed: its members keep their shash order.
      const copy: JsonObject = {};
      for (const k of shashOrder(Object.keys(row))) if (k !== '_uuid') copy[k] = row[k] as Json;
      PREORDERED.add(copy);
      rows[u[1]] = copy;
    }
    txn[t] = rows;
  });
  txn._comment = 'produced by "ovsdb-client backup"';
  txn._is_diff = true;
  txn._date = Date.now();
  const out = [logRecord(ovsSchemaJson(raw)), logRecord(txn)];
  process.stdout.write(Buffer.concat(out));
}

/** ovsdb_schema_to_json with members inserted in the order OVS inserts them. */
function ovsSchemaJson(raw: RawSchema): JsonObject {
  const json = schemaToJson(raw.schema);
  const tables = json.tables as JsonObject;
  const ordered: JsonObject = {};
  for (const t of schemaTableOrder(raw)) {
    const tj = tables[t] as JsonObject;
    const cols = tj.columns as JsonObject;
    const oc: JsonObject = {};
    for (const c of schemaColumnOrder(raw, t)) if (cols[c] !== undefined) oc[c] = cols[c] as Json;
    ordered[t] = { ...tj, columns: oc };
  }
  json.tables = ordered;
  return json;
}

/**
 * One record of OVS's database file format: "OVSDB JSON <length> <sha1>\n<json>\n", the JSON
 * compact and unsorted. Written here rather than through the storage module so the tool does
 * not depend on it; the bytes are the same.
 */
function logRecord(json: Json): Buffer {
  const { createHash } = requireCrypto();
  // The length and SHA-1 cover the JSON and its trailing newline.
  const body = Buffer.from(`${jsonToStringHashOrder(json)}\n`);
  const sha1 = createHash('sha1').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`OVSDB JSON ${body.length} ${sha1}\n`), body]);
}

let cryptoModule: typeof import('node:crypto') | undefined;
function requireCrypto(): typeof import('node:crypto') {
  if (!cryptoModule) fatal('internal error: crypto not loaded');
  return cryptoModule;
}

/** Reads an OVSDB file (standalone format) from text: [schema, ...transaction records]. */
function readDbFile(buf: Buffer): Json[] {
  const records: Json[] = [];
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) break;
    const header = buf.subarray(off, nl).toString('latin1');
    const m = /^OVSDB JSON (\d+) ([0-9a-f]{40})$/.exec(header);
    if (!m) fatal(`/dev/stdin: parse error at offset ${off} in header line "${header}"`);
    const len = Number(m[1]);
    const body = buf.subarray(nl + 1, nl + 1 + len);
    records.push(JSON.parse(body.toString('utf8')) as Json);
    off = nl + 1 + len;
  }
  return records;
}

async function doRestore(ctx: Ctx): Promise<void> {
  if (process.stdin.isTTY)
    fatal('not reading backup from a terminal; please redirect stdin from a file');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const records = readDbFile(Buffer.concat(chunks));
  if (records.length === 0) fatal('/dev/stdin: unexpected end of file');
  let backupSchema: DatabaseSchema;
  try {
    backupSchema = parseDatabaseSchema(records[0] as Json);
  } catch (err) {
    fatal(String(err));
  }
  // Replay the transaction records (OVS's file format: a row's columns, null to delete).
  const tables = new Map<string, Map<string, JsonObject>>();
  for (const t of backupSchema.tables.keys()) tables.set(t, new Map());
  for (const rec of records.slice(1)) {
    if (!isJsonObject(rec)) continue;
    for (const [t, rowsJson] of Object.entries(rec)) {
      const rows = tables.get(t);
      if (!rows || !isJsonObject(rowsJson)) continue;
      for (const [uuid, row] of Object.entries(rowsJson)) {
        if (row === null) rows.delete(uuid);
        else if (isJsonObject(row)) rows.set(uuid, { ...(rows.get(uuid) ?? {}), ...row });
      }
    }
  }
  const online = (await fetchSchema(ctx)).schema;
  const same =
    jsonToString(schemaToJson(backupSchema), { sort: true }) ===
    jsonToString(schemaToJson(online), { sort: true });
  if (!same) {
    const s =
      backupSchema.version !== online.version
        ? `backup schema has version "${backupSchema.version}" but database schema has version "${online.version}"`
        : `backup schema and database schema are both version ${backupSchema.version} but still differ`;
    if (!ctx.opts.force) {
      fatal(
        `${s} (use --force to override differences, or "ovsdb-client convert" to change the schema)`,
      );
    }
  }
  const rowName = (u: string): string => `row${u.replace(/-/g, '_')}`;
  const ops: Json[] = [backupSchema.name];
  for (const [t, rows] of tables) {
    const ts = backupSchema.tables.get(t) as TableSchema;
    ops.push({ op: 'delete', table: t, where: [] });
    for (const [uuid, row] of rows) {
      const out: JsonObject = {};
      for (const c of ts.columnList) {
        if (c.ephemeral || row[c.name] === undefined) continue;
        out[c.name] = renameUuids(row[c.name] as Json, rowName);
      }
      ops.push({ op: 'insert', table: t, 'uuid-name': rowName(uuid), row: out });
    }
  }
  const conn = ctx.conn as OvsdbConnection;
  const result = await rpc(ctx, conn.request('transact', ops));
  if (!Array.isArray(result)) fatal('result is not array');
  for (const r of result) {
    if (!isJsonObject(r)) fatal('result array element is not object');
    if (r.error !== undefined)
      fatal(`server returned error reply: ${jsonToString(r, { sort: true })}`);
  }
}

/** Rewrites ["uuid", U] references as ["named-uuid", "rowU"] so restored rows keep their links. */
function renameUuids(json: Json, name: (u: string) => string): Json {
  if (Array.isArray(json)) {
    if (json.length === 2 && json[0] === 'uuid' && typeof json[1] === 'string')
      return ['named-uuid', name(json[1])];
    return json.map((j) => renameUuids(j, name));
  }
  return json;
}

async function readSchemaFile(path: string): Promise<DatabaseSchema> {
  const { readFileSync } = await import('node:fs');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fatal(
      `failed to read schema: "${path}" could not be read as JSON (error opening "${path}": ${errnoText(err)})`,
    );
  }
  try {
    return parseDatabaseSchemaText(text, path);
  } catch (err) {
    fatal(String(err));
  }
}

async function doConvert(ctx: Ctx, args: string[]): Promise<void> {
  const schema = await readSchemaFile(args[args.length - 1] as string);
  ctx.database = schema.name;
  await openRpc(ctx, 1, 'database', args);
  await sendDbChangeAware(ctx);
  await rpc(
    ctx,
    (ctx.conn as OvsdbConnection).request('convert', [schema.name, schemaToJson(schema)]),
  );
}

async function doNeedsConversion(ctx: Ctx, args: string[]): Promise<void> {
  const schema = await readSchemaFile(args[args.length - 1] as string);
  ctx.database = schema.name;
  await openRpc(ctx, 1, 'database', args);
  const online = (await fetchSchema(ctx)).schema;
  const same =
    jsonToString(schemaToJson(schema), { sort: true }) ===
    jsonToString(schemaToJson(online), { sort: true });
  print(same ? 'no\n' : 'yes\n');
}

/* ---------- dispatch ---------- */

interface Command {
  need: Need;
  min: number;
  max: number;
  run: (ctx: Ctx, args: string[]) => Promise<void>;
}

const COMMANDS: { [name: string]: Command } = {
  'list-dbs': { need: 'rpc', min: 0, max: 0, run: doListDbs },
  'get-schema': { need: 'database', min: 0, max: 0, run: doGetSchema },
  'get-schema-version': { need: 'database', min: 0, max: 0, run: doGetSchemaVersion },
  'get-schema-cksum': { need: 'database', min: 0, max: 0, run: doGetSchemaCksum },
  'list-tables': { need: 'database', min: 0, max: 0, run: doListTables },
  'list-columns': { need: 'database', min: 0, max: 1, run: doListColumns },
  transact: { need: 'none', min: 1, max: 2, run: doTransact },
  query: { need: 'none', min: 1, max: 2, run: doQuery },
  monitor: { need: 'database', min: 1, max: Number.POSITIVE_INFINITY, run: doMonitor },
  'monitor-cond': { need: 'database', min: 2, max: 3, run: doMonitorCond },
  'monitor-cond-since': { need: 'database', min: 2, max: 4, run: doMonitorCondSince },
  wait: { need: 'none', min: 2, max: 3, run: doWait },
  convert: { need: 'none', min: 1, max: 2, run: doConvert },
  'needs-conversion': { need: 'none', min: 1, max: 2, run: doNeedsConversion },
  dump: { need: 'database', min: 0, max: Number.POSITIVE_INFINITY, run: doDump },
  backup: { need: 'database', min: 0, max: 0, run: doBackup },
  restore: { need: 'database', min: 0, max: 0, run: doRestore },
  lock: { need: 'rpc', min: 1, max: 1, run: (ctx, a) => doLock(ctx, 'lock', a[0] as string) },
  steal: { need: 'rpc', min: 1, max: 1, run: (ctx, a) => doLock(ctx, 'steal', a[0] as string) },
  unlock: { need: 'rpc', min: 1, max: 1, run: (ctx, a) => doLock(ctx, 'unlock', a[0] as string) },
  help: {
    need: 'none',
    min: 0,
    max: Number.POSITIVE_INFINITY,
    run: async () => {
      print(usage());
    },
  },
};

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.timeout) {
    // OVS arms alarm(2) and dies of SIGALRM when the time is up; so do we.
    setTimeout(() => process.kill(process.pid, 'SIGALRM'), opts.timeout * 1000).unref();
  }
  const args = opts.args;
  if (args.length === 0) fatal('missing command name; use --help for help');
  const name = args[0] as string;
  const cmd = COMMANDS[name];
  if (!cmd) fatal(`unknown command '${name}'; use --help for help`);
  if (name === 'backup' || name === 'restore') cryptoModule = await import('node:crypto');
  const ctx: Ctx = {
    opts,
    style: opts.style,
    out: newTableOutputState(),
    conn: null,
    database: '',
  };
  if (DETACHING_COMMANDS.has(name) && argv.includes('--detach')) {
    // Real ovsdb-client opens a control socket only for the commands that keep running.
    const daemon = await detach(argv, name !== 'transact' && name !== 'query');
    ctx.daemon = daemon;
    detachedDaemon = daemon;
    ctx.ready = () => {
      if (consoleDetached) return;
      consoleDetached = true;
      daemon.ready();
      // OVS's daemonize_complete points stderr at /dev/null unless the command saved it
      // (transact and the monitors do, the lock commands do not): a detached lock client's
      // later errors, such as the server going away, reach nobody.
      if (name === 'lock' || name === 'steal' || name === 'unlock')
        process.stderr.write = () => true;
    };
  }
  let rest = args.slice(1);
  if (cmd.need !== 'none') rest = rest.slice(await openRpc(ctx, cmd.min, cmd.need, rest));
  if (rest.length < cmd.min || rest.length > cmd.max)
    fatal(`invalid syntax for '${name}' (use --help for help)`);
  try {
    await cmd.run(ctx, rest);
  } finally {
    ctx.conn?.close();
  }
  return 0;
}

let logSeq = 0;

/** The background process of a --detach'ed command, whose pidfile and socket go when it dies. */
let detachedDaemon: Daemon | null = null;

/** A log line on the console in OVS's default format (what vlog prints at INFO and above). */
/** Set once a --detach'ed command has detached: as OVS's daemons, it logs nothing to the console. */
let consoleDetached = false;

const LOG_LEVELS = ['off', 'emer', 'err', 'warn', 'info', 'dbg'];
/** The console's level per module ("" for the rest), as -v options set them (OVS: INFO). */
const consoleLevels = new Map<string, number>([['', 4]]);

/**
 * Applies one -v[SPEC]: OVS's words module, destination and level, in any order, separated
 * by colons; only what concerns the console matters here (no other destination is written).
 */
function setConsoleLevels(spec: string | undefined): void {
  if (!spec) {
    consoleLevels.clear();
    consoleLevels.set('', 5);
    return;
  }
  // "PATTERN:dest:format" sets a line format, not a level.
  if (/^pattern:/i.test(spec)) return;
  let module = '';
  let dest = 'any';
  let level = 5;
  for (const word of spec.split(/[:,\s]+/).filter(Boolean)) {
    const w = word.toLowerCase();
    const l = LOG_LEVELS.indexOf(w);
    if (l >= 0) level = l;
    else if (w === 'console' || w === 'syslog' || w === 'file' || w === 'any') dest = w;
    else module = w;
  }
  if (dest !== 'console' && dest !== 'any') return;
  if (module === '' || module === 'any') {
    consoleLevels.clear();
    consoleLevels.set('', level);
  } else {
    consoleLevels.set(module, level);
  }
}

function consoleLog(module: string, level: string, msg: string): void {
  if (consoleDetached) return;
  const limit = consoleLevels.get(module) ?? (consoleLevels.get('') as number);
  if (LOG_LEVELS.indexOf(level.toLowerCase()) > limit) return;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  logSeq++;
  process.stderr.write(`${now}|${String(logSeq).padStart(5, '0')}|${module}|${level}|${msg}\n`);
}

/**
 * OVS's fatal-signal handler logs the signal before the process dies of it; monitor and lock
 * users see that line when they stop the tool, so print it the same way.
 */
/** The commands that honour --detach, as in real ovsdb-client; the others ignore it. */
const DETACHING_COMMANDS = new Set([
  'transact',
  'query',
  'monitor',
  'monitor-cond',
  'monitor-cond-since',
  'lock',
  'steal',
  'unlock',
]);

/**
 * --detach, as real ovsdb-client does it: the command runs in a background process that keeps
 * the caller's stdout and stderr (output goes where the caller redirected it); the foreground
 * process exits 0 once the background one says start-up is complete (a monitor's initial
 * contents or a lock's first reply printed, a transaction's connection open), or with the
 * background process's status if that fails first. The background process has OVS's daemon
 * trimmings: --pidfile, --no-chdir and, for the commands that keep running, a control socket
 * (ovsdb-client.PID.ctl, or --unixctl). Node cannot fork, so the background process is this
 * program run again with a stage marker in its environment.
 */
async function detach(argv: string[], withUnixctl: boolean): Promise<Daemon> {
  let options: DaemonOptions;
  try {
    options = parseDaemonArgs(PROGRAM, argv).options;
  } catch (e) {
    fatal((e as Error).message);
  }
  if (process.env[DAEMON_STAGE_ENV] === undefined) {
    await detachKeepingOutput(PROGRAM);
  }
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      program: PROGRAM,
      options: withUnixctl ? options : { ...options, unixctl: 'none' },
    });
  } catch (e) {
    fatal((e as Error).message);
  }
  // Real ovsdb-client has no memory module: keep list-commands the same as its.
  daemon.unixctl?.commands.commands.delete('memory/show');
  return daemon;
}

function installFatalSignalLog(): void {
  const names: [NodeJS.Signals, number, string][] = [
    ['SIGTERM', 15, 'Terminated'],
    ['SIGINT', 2, 'Interrupt'],
    ['SIGHUP', 1, 'Hangup'],
    ['SIGALRM', 14, 'Alarm clock'],
  ];
  for (const [sig, num, text] of names) {
    process.once(sig, () => {
      consoleLog('fatal_signal', 'WARN', `terminating with signal ${num} (${text})`);
      process.kill(process.pid, sig);
    });
  }
}

installFatalSignalLog();
// OVS ignores SIGPIPE; a reader that went away (e.g. `| head`) ends the output quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  process.exit(err.code === 'EPIPE' ? 0 : 1);
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof Fatal) {
      process.stderr.write(`${PROGRAM}: ${err.message}\n`);
    } else {
      process.stderr.write(`${PROGRAM}: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    if (detachedDaemon) void detachedDaemon.exit(1);
    else process.exit(1);
  },
);
