/**
 * An embeddable OVSDB server: databases opened from files, the `_Server` database, remotes.
 * `ovsdb-server` (src/cli) is this plus daemon options and unixctl commands.
 *
 *   const srv = await startOvsdbServer({ databases: ['conf.db'], remotes: ['punix:db.sock'] });
 *   ...
 *   await srv.close();
 */

import { realpathSync, renameSync } from 'node:fs';
import type { TlsOptions } from '../../lib/jsonrpc/stream.ts';
import { OvsdbError } from '../error.ts';
import { Storage, writeStandaloneDb } from '../storage.ts';
import type { DbAccess } from './db-access.ts';
import { openFileDbAccess } from './file-db.ts';
import { OvsdbServer, type ServedDb, type ServerLogger } from './jsonrpc-server.ts';
import { parseDbRemote, RemoteManager, readDbRemote, readDbString } from './remotes.ts';
import { SERVER_DB_NAME, ServerDbMaintainer } from './server-db.ts';
import { warmUp } from './warmup.ts';

/** Whether a server of this process has run the start-up warm-up. */
let warmedUp = false;

export type { DbAccess } from './db-access.ts';
export { OvsdbServer, OvsdbSession, ServedDb } from './jsonrpc-server.ts';
export { RemoteManager } from './remotes.ts';

/** A refusal of a management request, reported with exactly this text (as OVS's are). */
export class ServerCommandError extends Error {
  override readonly name = 'ServerCommandError';
}

export interface StartOptions {
  databases: string[];
  remotes?: string[];
  /** Paths or `db:DB,TABLE,COLUMN` references. */
  privateKey?: string;
  certificate?: string;
  caCert?: string;
  /** OVS's --peer-ca-cert: a CA certificate sent with ours, for peers bootstrapping theirs. */
  peerCaCert?: string;
  logger?: ServerLogger;
  /** Per-connection output backlog and input message bounds, in bytes. */
  maxBacklog?: number;
  maxMessageSize?: number;
  /** Run the hot request paths on a throwaway database before listening (default: true). */
  warmUp?: boolean;
  /** See OvsdbServerOptions.standaloneTxnHistory. */
  standaloneTxnHistory?: boolean;
}

export interface RunningOvsdbServer {
  readonly server: OvsdbServer;
  readonly remotes: RemoteManager;
  /** Opens a database file and serves it; throws OvsdbError (OVS's messages). */
  addDb(file: string): Promise<ServedDb>;
  /** Stops serving a database; throws OvsdbError for _Server or an unknown name. */
  removeDb(name: string): Promise<void>;
  /** Compacts one database or all of them; resolves to error texts (empty on success). */
  compact(name?: string): Promise<string[]>;
  /** Validates and adds a remote (ovsdb-server/add-remote). */
  addRemote(remote: string): Promise<void>;
  removeRemote(remote: string): Promise<void>;
  /** memory/show's counters, named as OVS names them. */
  memoryUsage(): Record<string, number>;
  close(): Promise<void>;
}

function realpathOrNull(file: string): string | null {
  try {
    return realpathSync(file);
  } catch {
    return null;
  }
}

export async function startOvsdbServer(opts: StartOptions): Promise<RunningOvsdbServer> {
  const server = new OvsdbServer({
    logger: opts.logger,
    connectionLimits: { maxBacklog: opts.maxBacklog, maxMessageSize: opts.maxMessageSize },
    ...(opts.standaloneTxnHistory !== undefined
      ? { standaloneTxnHistory: opts.standaloneTxnHistory }
      : {}),
  });
  const maintainer = new ServerDbMaintainer(server);
  // What opening a file reports: a bad tail, records skipped because they fail the checks.
  const logWarn = (m: string): void => opts.logger?.warn(m);
  const logInfo = (m: string): void => opts.logger?.info(m);
  const serverAccess: DbAccess = maintainer.access;
  const files = new Map<string, string>();
  const tls = (): TlsOptions | undefined => {
    if (!opts.privateKey || !opts.certificate || !opts.caCert) return undefined;
    const k = readDbString(server, opts.privateKey);
    const c = readDbString(server, opts.certificate);
    const a = readDbString(server, opts.caCert);
    if (!k || !c || !a) return undefined;
    return {
      privateKey: k,
      certificate: c,
      caCert: a,
      ...(opts.peerCaCert ? { peerCaCert: opts.peerCaCert } : {}),
    };
  };
  const remotes = new RemoteManager(server, { tls, log: opts.logger });
  server.onDbsChanged = () => maintainer.sync();
  server.convertDb = async (name, schema) => {
    const served = server.dbs.get(name);
    const file = files.get(name);
    // The internal _Server database has one schema only; OVS accepts converting it to that.
    if (name === SERVER_DB_NAME) return;
    if (!served || !file)
      throw new OvsdbError('not supported', `${name} is not a file-backed database`);
    // Read the file as the new schema (dropping what it lacks, defaulting what it adds),
    // then swap files: the converted copy is written beside it and renamed over it.
    const converted = Storage.open(file, { schema, readOnly: true, attach: false, strict: true });
    // Through symlinks, as OVS does: the link stays a link to the converted file.
    const target = realpathOrNull(file) ?? file;
    const tmp = `${target}.tmp`;
    try {
      writeStandaloneDb(tmp, converted.db, 'converted by ovsdb-server');
    } finally {
      converted.closeSync();
    }
    // One _Server update for the swap: the database's row stays (its schema changes), as in
    // OVS, rather than being deleted and inserted again.
    const dbsChanged = server.onDbsChanged;
    server.onDbsChanged = null;
    try {
      server.removeDb(name, null);
      await served.access.close?.();
      renameSync(tmp, target);
      server.addDb(name, await openFileDbAccess(file, logWarn, logInfo), file);
    } finally {
      server.onDbsChanged = dbsChanged;
      dbsChanged?.();
    }
  };
  server.onCommit = (db) => remotes.dbChanged(db);

  const addDb = async (file: string): Promise<ServedDb> => {
    // OVS spots a file it already serves before trying its lock (which would fail anyway).
    const real = realpathOrNull(file);
    for (const f of files.values()) {
      if (real !== null && realpathOrNull(f) === real)
        throw new OvsdbError('ovsdb error', `${file}: already open`);
    }
    const access = await openFileDbAccess(file, logWarn, logInfo);
    const name = access.schema.name;
    const error = name.startsWith('_')
      ? `${name}: names beginning with "_" are reserved`
      : server.dbs.has(name)
        ? `${name}: duplicate database name`
        : null;
    if (error) {
      await access.close?.();
      throw new OvsdbError('ovsdb error', error);
    }
    files.set(name, file);
    // As OVS: clients that did not say they follow database changes are reconnected.
    server.reconnectAll(false, `adding ${name} database`);
    return server.addDb(name, access, file);
  };

  try {
    for (const f of opts.databases) await addDb(f);
  } catch (e) {
    for (const db of server.dbs.values()) await db.access.close?.();
    throw e;
  }
  server.addDb(SERVER_DB_NAME, serverAccess, '<internal>');
  // Before the first client can connect: its requests then run compiled code from the start.
  // Once per process: compiled code is the process's, so the next server an embedder (or a
  // test) starts in it finds the request paths compiled already.
  if (opts.warmUp !== false && !warmedUp) {
    warmedUp = true;
    await warmUp();
  }
  for (const r of opts.remotes ?? []) remotes.add(r);
  await remotes.reconcile();

  return {
    server,
    remotes,
    addDb: async (file) => {
      const db = await addDb(file);
      return db;
    },
    removeDb: async (name) => {
      if (name === SERVER_DB_NAME) throw new ServerCommandError('Cannot remove reserved database.');
      const db = server.removeDb(name, `removing ${name} database by user request`);
      if (!db) throw new ServerCommandError('Failed to find the database.');
      files.delete(name);
      await db.access.close?.();
      void remotes.reconcile();
    },
    compact: async (name) => {
      if (name?.startsWith('_')) return ['cannot compact built-in databases'];
      const targets = name === undefined ? [...server.dbs.values()] : [server.dbs.get(name)];
      if (targets.some((t) => t === undefined)) return ['no database by that name'];
      const errors: string[] = [];
      for (const db of targets as ServedDb[]) {
        if (db.name === SERVER_DB_NAME || !db.access.compact) continue;
        const err = await db.access.compact();
        if (err) errors.push(`${db.name}: ${err}`);
      }
      return errors;
    },
    addRemote: async (remote) => {
      if (parseDbRemote(remote) || remote.startsWith('db:')) {
        const res = readDbRemote(server, remote);
        if ('error' in res) throw new ServerCommandError(res.error);
      }
      remotes.add(remote);
      await remotes.reconcile();
    },
    removeRemote: async (remote) => {
      if (!remotes.remove(remote)) throw new ServerCommandError('no such remote');
      await remotes.reconcile();
    },
    memoryUsage: () => {
      let monitors = 0;
      let triggers = 0;
      let cells = 0;
      for (const db of server.dbs.values()) {
        monitors += db.monitors.size;
        triggers += db.triggers.size;
        for (const t of db.access.schema.tables.values()) {
          let n = 0;
          for (const _ of db.access.rows(t.name)) n++;
          cells += n * (t.columnList.length + 2);
        }
      }
      return { cells, monitors, sessions: server.sessions.size, triggers };
    },
    close: async () => {
      await remotes.close();
      server.reconnectAll(true);
      for (const db of server.dbs.values()) {
        db.detach();
        await db.access.close?.();
      }
    },
  };
}
