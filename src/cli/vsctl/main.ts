/**
 * ovs-vsctl's driver: parse, check the commands against the schema, connect, fetch the
 * database, run every command inside one transaction, commit (retrying when the database
 * changed underneath), print the output, and wait for ovs-vswitchd to catch up (next_cfg /
 * cur_cfg) unless --no-wait.
 */
import { readFileSync, writeSync } from 'node:fs';
import type { Json, JsonObject } from '../../lib/json.ts';
import { defaultDbSocket, logdir } from '../../lib/paths.ts';
import { formatTable, newTableOutputState } from '../../lib/table-format.ts';
import { SymbolTable } from '../../ovsdb/atom.ts';
import { jsonToOvsString } from '../../ovsdb/error.ts';
import { ALL_COMMANDS, parseCommands } from './commands.ts';
import {
  type CtlContext,
  messageOf,
  Needs,
  type ParsedCommand,
  VsctlError,
  VsctlExit,
} from './ctl.ts';
import { Idl, type TxnResult, tempUuid } from './idl.ts';
import { Logger } from './log.ts';
import {
  findTypographicMistakes,
  type GlobalOptions,
  optionList,
  parseGlobalOptions,
} from './options.ts';
import { OvsdbConnection, RpcConnectError, type TlsFiles } from './rpc.ts';
import { vswitchSchema } from './schema.ts';
import { usage, versionText } from './usage.ts';
import { escapeArg } from './vswitch-commands.ts';

const PROGRAM = 'ovs-vsctl';

function out(s: string): void {
  if (s) writeSync(1, s);
}
function err(s: string): void {
  writeSync(2, s);
}

function die(message: string): never {
  err(`${PROGRAM}: ${message}\n`);
  process.exit(1);
}

export async function main(argv: readonly string[]): Promise<void> {
  const typos = findTypographicMistakes(argv);
  if (typos.length) {
    for (const t of typos.slice(0, -1)) err(`${PROGRAM}: ${t}\n`);
    die(typos[typos.length - 1] as string);
  }
  let parsed: ReturnType<typeof parseGlobalOptions>;
  let commands: ParsedCommand[];
  try {
    parsed = parseGlobalOptions(argv);
    const o = parsed.options;
    if (o.action === 'help') {
      out(usage(defaultDb()));
      process.exit(0);
    }
    if (o.action === 'version') {
      out(versionText());
      process.exit(0);
    }
    if (o.action === 'commands') {
      out(commandList());
      process.exit(0);
    }
    if (o.action === 'options') {
      out(optionList());
      process.exit(0);
    }
    commands = parseCommands(argv.slice(parsed.rest), parsed.local);
  } catch (e) {
    if (e instanceof VsctlError) die(e.message);
    throw e;
  }
  const o = parsed.options;
  const log = new Logger();
  for (const spec of o.logSpecs) {
    if (spec === null) log.noSyslog();
    else log.applySpec(spec);
  }
  const args = [PROGRAM, ...argv].map(escapeArg).join(' ');
  log.log(
    'vsctl',
    commands.some((c) => c.syntax.mode === 'RW') ? 'info' : 'dbg',
    `Called as ${args}`,
  );
  const need = new Needs();
  need.table('Open_vSwitch');
  if (!o.noWait) need.add('Open_vSwitch', 'cur_cfg');
  try {
    for (const c of commands) {
      c.syntax.prerequisites?.({
        argv: c.argv,
        options: c.options,
        warn: (m, s) => log.warn(m, s),
        need,
      });
    }
  } catch (e) {
    if (e instanceof VsctlError) die(e.message);
    throw e;
  }
  if (o.timeout) {
    setTimeout(() => {
      log.warn('fatal_signal', 'terminating with signal 14 (Alarm clock)');
      process.kill(process.pid, 'SIGALRM');
    }, o.timeout * 1000);
  }
  await run(o, commands, log, args, need);
}

/** "ovs-vsctl (invoked by PARENT (pid N)): ARGS", the comment OVS records with the change. */
function transactionComment(args: string): string {
  let parent = '';
  try {
    const cmdline = readFileSync(`/proc/${process.ppid}/cmdline`, 'latin1');
    parent = cmdline.split('\0')[0] ?? '';
  } catch {
    return `${PROGRAM}: ${args}`;
  }
  return `${PROGRAM} (invoked by ${parent} (pid ${process.ppid})): ${args}`;
}

function defaultDb(): string {
  return `unix:${defaultDbSocket()}`;
}

function commandList(): string {
  let s = '';
  for (const c of ALL_COMMANDS.values()) {
    for (const item of c.options.split(',')) if (item) s += `[${item}] `;
    s += `,${c.name},${encodeArguments(c.arguments)}\n`;
  }
  return s;
}

/**
 * The argument syntax in the form --commands prints for shell completion: each word is
 * prefixed by "!" (required), "?" (optional), "+" (one or more) or "*" (any number), with
 * the brackets and dots removed. Scanned from the end, as a "..." applies to the word before.
 */
export function encodeArguments(args: string): string {
  if (!args) return '';
  const out: string[] = [];
  const nest: number[] = [];
  let repeated = false;
  let wholeOptional = false;
  for (let i = args.length - 1; i >= 0; i--) {
    const c = args[i] as string;
    if (c === ']') {
      const next = args[i + 1];
      nest.push(next === undefined || next === ' ' || next === '.' ? 1 : 0);
    } else if (c === '[') {
      const outer = nest.pop() ?? 0;
      if ((i === 0 || args[i - 1] === ' ') && outer) {
        out.push(repeated ? '*' : '?');
        wholeOptional = true;
      } else {
        out.push('?');
        wholeOptional = false;
      }
    } else if (c === ' ') {
      if (!wholeOptional) out.push(repeated ? '+' : '!');
      out.push(' ');
      repeated = false;
      wholeOptional = false;
    } else if (c === '.') {
      repeated = true;
    } else {
      out.push(c);
    }
  }
  if (args[0] !== '[' && out.length > 0) out.push(repeated ? '+' : '!');
  return out.reverse().join('');
}

function tlsFilesOf(o: GlobalOptions): TlsFiles {
  return {
    ...(o.privateKey !== undefined ? { privateKey: o.privateKey } : {}),
    ...(o.certificate !== undefined ? { certificate: o.certificate } : {}),
    ...(o.caCert !== undefined ? { caCert: o.caCert } : {}),
    ...(o.bootstrapCaCert ? { bootstrap: true } : {}),
  };
}

async function connect(o: GlobalOptions, db: string, log: Logger): Promise<OvsdbConnection> {
  const tlsFiles = tlsFilesOf(o);
  log.log('reconnect', 'dbg', `${db}: entering BACKOFF`);
  for (let attempt = 0; ; attempt++) {
    try {
      log.log('reconnect', 'info', `${db}: connecting...`);
      log.log('reconnect', 'dbg', `${db}: entering CONNECTING`);
      const conn = await OvsdbConnection.open(db, tlsFiles);
      log.log('reconnect', 'info', `${db}: connected`);
      log.log('reconnect', 'dbg', `${db}: entering ACTIVE`);
      return conn;
    } catch (e) {
      const code = e instanceof RpcConnectError ? e.code : 'EIO';
      if (e instanceof RpcConnectError && e.sslError)
        log.warn('stream_ssl', `SSL_connect: ${e.sslError}`);
      log.log(
        'reconnect',
        'info',
        `${db}: connection attempt failed (${new RpcConnectError(code).message})`,
      );
      if (!o.retry)
        die(
          `${db}: database connection failed (${messageOf(e instanceof RpcConnectError ? e : new RpcConnectError(code))})`,
        );
      // --retry: keep trying (bounded by --timeout, if any), backing off up to 8 s as OVS does.
      await new Promise((r) => setTimeout(r, Math.min(8000, 1000 * 2 ** Math.min(attempt, 3))));
    }
  }
}

async function run(
  o: GlobalOptions,
  commands: ParsedCommand[],
  log: Logger,
  args: string,
  need: Needs,
): Promise<void> {
  const db = o.db ?? defaultDb();
  // Only wait-until needs to see every later change. Otherwise the server is asked for
  // Open_vSwitch changes alone (cur_cfg), so that it does not echo back everything a big
  // transaction inserted; a transaction that must be retried fetches a fresh copy instead.
  const watchAll = commands.some((c) => c.syntax.name === 'wait-until');
  let idl = new Idl(vswitchSchema());
  let monitorId = 0;
  let updates = 0;
  let wake: (() => void) | null = null;
  // Once committed, a lost connection is re-established while waiting for cur_cfg, as OVS
  // does (ovsdb_idl_enable_reconnect); before that it is fatal.
  let reconnecting = false;
  let committed = false;
  const attach = (c: OvsdbConnection): OvsdbConnection => {
    c.onUpdate = (params) => {
      if (params[0] !== monitorId) return;
      idl.applyUpdates(params[1] ?? null);
      updates++;
      wake?.();
    };
    c.onClose = (code) => {
      if (committed) {
        if (!reconnecting) void reconnect();
        return;
      }
      if (code === 'EOF') die(`${db}: database connection failed (End of file)`);
      die(`${db}: database connection failed (${messageOf(new RpcConnectError(code))})`);
    };
    if (log.enabled('jsonrpc', 'dbg')) traceRpc(c, db, log);
    return c;
  };
  let conn = attach(await connect(o, db, log));
  const reconnect = async (): Promise<void> => {
    reconnecting = true;
    for (let attempt = 0; ; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(8000, 1000 * 2 ** Math.min(attempt, 3))));
      try {
        conn = attach(await OvsdbConnection.open(db, tlsFilesOf(o)));
        await monitor();
        reconnecting = false;
        updates++;
        wake?.();
        return;
      } catch {
        // keep trying until --timeout, if any, ends the process
      }
    }
  };
  const waitForUpdate = (since: number): Promise<void> =>
    updates > since
      ? Promise.resolve()
      : new Promise((r) => {
          wake = () => {
            wake = null;
            r();
          };
        });
  const monitor = async (): Promise<void> => {
    const fresh = new Idl(vswitchSchema());
    const id = ++monitorId;
    const reply = await conn.request('monitor', [
      'Open_vSwitch',
      id,
      fresh.monitorRequests(need.tables, watchAll),
    ]);
    if (reply.error !== null && reply.error !== undefined) {
      die(`${db}: database connection failed (Protocol error)`);
    }
    fresh.applyUpdates(reply.result ?? null, true);
    idl = fresh;
  };

  await monitor();
  for (let attempt = 0; ; attempt++) {
    const seen = updates;
    const outcome = await doVsctl(o, commands, idl, conn, log, args);
    if (outcome === 'wait') {
      idl.abort();
      await waitForUpdate(seen);
      continue;
    }
    if (outcome === 'retry') {
      // Someone else changed what we verified: start over from the database as it is now.
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(100, 10 * attempt)));
      await monitor();
      continue;
    }
    if (outcome.nextCfg !== undefined) {
      committed = true;
      const want = outcome.nextCfg;
      for (;;) {
        const ovs = idl.firstRow('Open_vSwitch');
        const cur = ovs ? (idl.col(ovs, 'cur_cfg').keys[0] as number) : 0;
        if (cur >= want) break;
        await waitForUpdate(updates);
      }
      if (outcome.newIfaces?.length) await checkNewIfaces(conn, outcome.newIfaces);
    }
    conn.close();
    process.exit(0);
  }
}

/**
 * After ovs-vswitchd has applied the change, report interfaces it could not set up (no
 * ofport, or ofport -1), as real ovs-vsctl does; the exit status stays 0.
 */
async function checkNewIfaces(conn: OvsdbConnection, uuids: string[]): Promise<void> {
  const ops: Json[] = ['Open_vSwitch'];
  for (const u of uuids) {
    ops.push({
      op: 'select',
      table: 'Interface',
      where: [['_uuid', '==', ['uuid', u]]],
      columns: ['name', 'ofport', 'error'],
    });
  }
  const reply = await conn.request('transact', ops);
  if (!Array.isArray(reply.result)) return;
  let anyError = false;
  for (const r of reply.result) {
    const row = (r as JsonObject | null)?.rows;
    const first = Array.isArray(row) ? (row[0] as JsonObject | undefined) : undefined;
    if (!first) continue;
    const ofport = first.ofport;
    if (typeof ofport === 'number' && ofport !== -1) continue;
    const error = typeof first.error === 'string' ? first.error : '';
    const name = String(first.name);
    err(
      error
        ? `${PROGRAM}: Error detected while setting up '${name}': ${error}.  See ovs-vswitchd log for details.\n`
        : `${PROGRAM}: Error detected while setting up '${name}'.  See ovs-vswitchd log for details.\n`,
    );
    anyError = true;
  }
  if (anyError) err(`${PROGRAM}: The default log directory is "${logdir()}".\n`);
}

/** -v: log each JSON-RPC message as OVS's jsonrpc module does at debug level. */
function traceRpc(conn: OvsdbConnection, db: string, log: Logger): void {
  const request = conn.request.bind(conn);
  conn.request = async (method, params) => {
    log.log(
      'jsonrpc',
      'dbg',
      `${db}: send request, method="${method}", params=${jsonToOvsString(params)}`,
    );
    const reply = await request(method, params);
    if (reply.error !== null && reply.error !== undefined) {
      log.log('jsonrpc', 'dbg', `${db}: received error, error=${jsonToOvsString(reply.error)}`);
    } else {
      log.log(
        'jsonrpc',
        'dbg',
        `${db}: received reply, result=${jsonToOvsString(reply.result ?? null)}`,
      );
    }
    return reply;
  };
  const onUpdate = conn.onUpdate;
  conn.onUpdate = (params) => {
    log.log(
      'jsonrpc',
      'dbg',
      `${db}: received notification, method="update", params=${jsonToOvsString(params)}`,
    );
    onUpdate?.(params);
  };
}

async function doVsctl(
  o: GlobalOptions,
  commands: ParsedCommand[],
  idl: Idl,
  conn: OvsdbConnection,
  log: Logger,
  args: string,
): Promise<'wait' | 'retry' | { nextCfg?: number; newIfaces?: string[] }> {
  const symtab = new SymbolTable(tempUuid);
  let ovs = idl.firstRow('Open_vSwitch');
  if (!ovs) ovs = idl.insert('Open_vSwitch');
  const ctx: CtlContext = {
    argv: [],
    options: new Map(),
    output: '',
    table: null,
    idl,
    symtab,
    lastCommand: false,
    tryAgain: false,
    warn: (m, s) => log.warn(m, s),
    invalidateCache: () => {
      ctx.cache = null;
    },
    ovs,
    cache: null,
    verifiedPorts: false,
    newIfaces: [],
  };
  try {
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i] as ParsedCommand;
      ctx.argv = c.argv;
      ctx.options = c.options;
      ctx.output = '';
      ctx.table = null;
      ctx.tryAgain = false;
      ctx.lastCommand = i === commands.length - 1;
      ctx.verifiedPorts = false;
      c.syntax.run?.(ctx);
      c.output = ctx.output;
      c.table = ctx.table;
      if (ctx.tryAgain) return 'wait';
    }
    for (const [name, sym] of symtab.symbols) {
      if (!sym.created) {
        throw new VsctlError(
          `row id "${name}" is referenced but never created (e.g. with "-- --id=${name} create ...")`,
        );
      }
      if (!sym.strongRef) {
        log.warn(
          'vsctl',
          sym.weakRef
            ? `row id "${name}" was created but only a weak reference to it was inserted, so it will not actually appear in the database`
            : `row id "${name}" was created but no reference to it was inserted, so it will not actually appear in the database`,
        );
      }
    }
  } catch (e) {
    if (e instanceof VsctlError) die(e.message);
    if (e instanceof VsctlExit) process.exit(e.status);
    throw e;
  }

  const built = idl.buildOperations({
    database: 'Open_vSwitch',
    ...(o.noWait ? {} : { increment: ovs }),
    comment: transactionComment(args),
    dryRun: o.dryRun,
  });
  let nextCfg: number | undefined;
  if (built) {
    const reply = await conn.request('transact', built.ops);
    const result: TxnResult =
      reply.error !== null && reply.error !== undefined
        ? { status: 'error', error: jsonToOvsString(reply.error, true) }
        : idl.processReply(reply.result ?? null, built);
    for (const w of result.warnings ?? []) log.warn('ovsdb_idl', w);
    if (result.status === 'try-again') return 'retry';
    if (result.status === 'error') die(`transaction error: ${result.error}`);
    nextCfg = o.noWait ? undefined : result.nextCfg;
  }
  try {
    for (const c of commands) {
      if (!c.syntax.postprocess) continue;
      ctx.argv = c.argv;
      ctx.options = c.options;
      ctx.output = c.output;
      ctx.table = c.table;
      c.syntax.postprocess(ctx);
      c.output = ctx.output;
    }
  } catch (e) {
    if (e instanceof VsctlError) die(e.message);
    throw e;
  }
  printOutputs(o, commands);
  if (nextCfg === undefined) return {};
  const newIfaces = ctx.newIfaces
    .map((u) => idl.insertedUuids.get(u))
    .filter((u) => u !== undefined);
  return { nextCfg, newIfaces };
}

function printOutputs(o: GlobalOptions, commands: ParsedCommand[]): void {
  const state = newTableOutputState();
  let s = '';
  for (const c of commands) {
    if (c.table) {
      s += formatTable(c.table, o.style, state);
    } else if (o.oneline) {
      s += `${c.output.replace(/\n$/, '').replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`;
    } else {
      s += c.output;
    }
  }
  out(s);
}
