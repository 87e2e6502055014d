/**
 * The OVSDB JSON-RPC server (RFC 7047 §4 plus OVS's extensions): the databases it serves, the
 * client sessions, and the dispatch of every method. Error replies carry OVS's exact texts, so
 * real OVS clients (ovsdb-client, ovs-vsctl, the IDLs) see what they would from ovsdb-server.
 *
 * Transaction replies are sent only once the commit is written by storage; monitor updates
 * for one commit are composed and serialised once per monitor shape and shared by all
 * monitors of that shape.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Json, JsonObject } from '../../lib/json.ts';
import type { JsonRpcMessage, JsonRpcRequest } from '../../lib/jsonrpc/message.ts';
import { compileWhere } from '../condition.ts';
import { isId, OvsdbError, syntaxError } from '../error.ts';
import { schemaJsonInOvsOrder } from '../ovs-hash-order.ts';
import { parseDatabaseSchema, schemaToJson } from '../schema.ts';
import type { Changes, DatabaseSchema } from '../types.ts';
import type { DbAccess, TxnContext } from './db-access.ts';
import { type LockHolder, LockManager } from './lock.ts';
import {
  type ClauseCompiler,
  composeUpdate,
  condChangeChanges,
  initialChanges,
  type MonitorSpec,
  type MonitorVersion,
  parseCondChange,
  parseMonitorRequests,
} from './monitor.ts';
import { type CloseReason, RpcConnection, type RpcConnectionOptions } from './rpc-connection.ts';
import { TxnHistory, ZERO_TXN_ID } from './txn-history.ts';

export interface ServerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  dbg?(msg: string): void;
}

const silentLogger: ServerLogger = { info() {}, warn() {} };

/** One database as served: the data plus what the server keeps about it. */
export class ServedDb {
  readonly monitors = new Set<JsonRpcMonitor>();
  readonly triggers = new Set<Trigger>();
  readonly history = new TxnHistory();
  /** False: as OVS with a standalone file, no history, and update3 ids are all zeros. */
  readonly keepsHistory: boolean;
  private unsubscribe: (() => void) | null = null;

  constructor(
    readonly name: string,
    readonly access: DbAccess,
    /** The file it came from ("<internal>" for _Server). */
    readonly file: string,
    private readonly server: OvsdbServer,
  ) {
    this.keepsHistory = server.standaloneTxnHistory;
    this.unsubscribe = access.onCommit((changes, txnId) => this.committed(changes, txnId));
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private committed(changes: Changes, txnId: string): void {
    this.initialCache.clear();
    if (this.keepsHistory) this.history.add(txnId, changes, this.access.rowCount());
    // This runs inside the committing transaction: a failure here must not reach it.
    try {
      if (this.monitors.size) this.fanOut(changes, this.keepsHistory ? txnId : ZERO_TXN_ID);
      this.server.committed(this, changes);
    } catch (e) {
      this.server.logger.warn(`${this.name}: sending updates failed: ${(e as Error)?.stack ?? e}`);
    }
    if (this.triggers.size) queueMicrotask(() => this.runTriggers());
  }

  /**
   * Composes one commit's updates now, for the monitors that exist now, and queues them once
   * the code that is committing has finished (a microtask), so that, like OVS, the committing
   * client's reply (queued by then) goes before the notifications, and every monitor still
   * hears of the commit in this same turn. Monitors of one shape (version, tables, columns,
   * select flags, conditions) get byte-identical updates: each is composed and serialised once.
   */
  private fanOut(changes: Changes, txnId: string): void {
    const cache = new Map<string, string | null>();
    const sends: [JsonRpcMonitor, string][] = [];
    for (const m of this.monitors) {
      const key = m.spec.shapeKey;
      let text = cache.get(key);
      if (text === undefined) {
        const update = composeUpdate(m.spec, changes, false);
        text = update ? JSON.stringify(update) : null;
        cache.set(key, text);
      }
      if (text !== null) sends.push([m, text]);
    }
    if (sends.length === 0) return;
    this.pending.push([txnId, sends]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flushPending());
    }
  }

  private pending: [string, [JsonRpcMonitor, string][]][] = [];
  private flushScheduled = false;

  /** Sends composed updates not yet sent (also before a condition change, to keep order). */
  flushPending(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    for (const [txnId, sends] of pending) {
      // Monitors with the same id and version (often all of them) get the same message.
      let lastText = '';
      let lastHead = '';
      let lastMessage = '';
      for (const [m, text] of sends) {
        // A monitor cancelled meanwhile gets nothing more.
        if (!this.monitors.has(m)) continue;
        if (text !== lastText || m.messageHead !== lastHead) {
          lastText = text;
          lastHead = m.messageHead;
          lastMessage = m.updateMessage(text, txnId);
        }
        m.session.conn.sendRaw(lastMessage);
      }
    }
  }

  /** Serialised initial contents per monitor shape, until the next commit. */
  private initialCache = new Map<string, string>();

  /**
   * The initial update for a new monitor. Clients reconnecting together (after a restart)
   * usually ask for the same thing: it is composed and serialised once per shape.
   */
  initialUpdateText(spec: MonitorSpec): string {
    const key = spec.shapeKey;
    const cached = this.initialCache.get(key);
    if (cached !== undefined) return cached;
    const changes = initialChanges(spec, (t) => this.access.rows(t));
    const text = JSON.stringify(composeUpdate(spec, changes, true) ?? {});
    if (this.initialCache.size >= 64) this.initialCache.clear();
    this.initialCache.set(key, text);
    return text;
  }

  runTriggers(): void {
    for (const t of [...this.triggers]) t.session.tryTrigger(t);
  }
}

/** A "transact" waiting for its `wait` operations to be satisfied (OVS's trigger). */
export interface Trigger {
  readonly session: OvsdbSession;
  readonly db: ServedDb;
  readonly id: Json;
  readonly idKey: string;
  readonly ops: Json[];
  readonly created: number;
  until: number;
  timer: NodeJS.Timeout | null;
}

export class JsonRpcMonitor {
  idText: string;
  private notifyHead: string;

  constructor(
    readonly session: OvsdbSession,
    readonly db: ServedDb,
    public id: Json,
    readonly spec: MonitorSpec,
  ) {
    this.idText = JSON.stringify(id);
    this.notifyHead = this.head();
  }

  private head(): string {
    const method =
      this.spec.version === 1 ? 'update' : this.spec.version === 2 ? 'update2' : 'update3';
    return `{"id":null,"method":"${method}","params":[${JSON.stringify(this.id)},`;
  }

  rename(id: Json): void {
    this.id = id;
    this.idText = JSON.stringify(id);
    this.notifyHead = this.head();
  }

  /** The whole notification for an update, to send as is (or to share, see sendUpdate). */
  updateMessage(updateText: string, txnId: string): string {
    const mid = this.spec.version === 3 ? `"${txnId}",` : '';
    return `${this.notifyHead}${mid}${updateText}]}`;
  }

  get messageHead(): string {
    return this.notifyHead;
  }

  sendUpdate(updateText: string, txnId: string): void {
    this.session.conn.sendRaw(this.updateMessage(updateText, txnId));
  }
}

export interface OvsdbServerOptions {
  /** Compiles one <condition> clause of a table; default: the core's condition compiler. */
  compileClause?: ClauseCompiler;
  logger?: ServerLogger;
  /** Limits applied to every connection (backlog, message size); probes are per remote. */
  connectionLimits?: Pick<RpcConnectionOptions, 'maxBacklog' | 'maxMessageSize'>;
  /**
   * Keep a transaction history for standalone databases, so monitor_cond_since can resume
   * (default true). OVS keeps none for them: ovsdb-server passes false, to answer as OVS does.
   */
  standaloneTxnHistory?: boolean;
}

export class OvsdbServer {
  readonly uuid = randomUUID();
  /**
   * False after ovsdb-server/disable-monitor-cond: monitor_cond and monitor_cond_since are
   * then unknown methods, as on servers older than OVS 2.5 (clients fall back to monitor).
   * As in OVS, it cannot be turned back on.
   */
  monitorCondEnabled = true;
  readonly standaloneTxnHistory: boolean;
  readonly dbs = new Map<string, ServedDb>();
  readonly sessions = new Set<OvsdbSession>();
  readonly locks = new LockManager();
  readonly compileClause: ClauseCompiler;
  readonly logger: ServerLogger;
  /** Called after a database was added or removed (the _Server database follows it). */
  onDbsChanged: (() => void) | null = null;
  /** Called after every commit to any database (the db: remotes follow it). */
  onCommit: ((db: ServedDb, changes: Changes) => void) | null = null;

  private readonly limits: Pick<RpcConnectionOptions, 'maxBacklog' | 'maxMessageSize'>;

  constructor(opts: OvsdbServerOptions = {}) {
    this.limits = opts.connectionLimits ?? {};
    this.standaloneTxnHistory = opts.standaloneTxnHistory ?? true;
    this.compileClause = opts.compileClause ?? ((table, clause) => compileWhere(table, [clause]));
    this.logger = opts.logger ?? silentLogger;
  }

  addDb(name: string, access: DbAccess, file: string): ServedDb {
    const db = new ServedDb(name, access, file, this);
    this.dbs.set(name, db);
    this.onDbsChanged?.();
    return db;
  }

  /**
   * Stops serving a database. Its monitors are cancelled ("monitor_canceled" to
   * change-aware clients), its pending transactions cancelled, and clients that did not
   * declare themselves change-aware are disconnected, as OVS does.
   */
  removeDb(name: string, comment: string | null): ServedDb | null {
    const db = this.dbs.get(name);
    if (!db) return null;
    for (const s of this.sessions) s.preremoveDb(db);
    if (comment !== null) this.reconnectAll(false, comment);
    db.detach();
    this.dbs.delete(name);
    this.onDbsChanged?.();
    return db;
  }

  /**
   * Replaces a database by one converted to `schema` ("convert"); installed by whoever owns
   * the database files. Resolves once the converted database is served; throws OvsdbError.
   */
  convertDb: ((name: string, schema: DatabaseSchema) => Promise<void>) | null = null;

  /** Disconnects sessions (all, or only those not change-aware). */
  reconnectAll(force: boolean, comment?: string): void {
    for (const s of [...this.sessions]) {
      if (force || !s.dbChangeAware) {
        if (comment) this.logger.info(`${s.conn.name}: disconnecting (${comment})`);
        // Gracefully: a reply already queued (to "convert") still goes out first.
        s.conn.close();
      }
    }
  }

  committed(db: ServedDb, changes: Changes): void {
    this.onCommit?.(db, changes);
  }

  /** Serves one accepted or connected stream. */
  serve(socket: Duplex, name: string, opts: RpcConnectionOptions = {}): OvsdbSession {
    const conn = new RpcConnection(socket, name, { ...this.limits, ...opts });
    const s = new OvsdbSession(this, conn);
    this.sessions.add(s);
    return s;
  }

  dropSession(s: OvsdbSession): void {
    this.sessions.delete(s);
  }
}

/** A parameter-checking failure that becomes an error reply. */
function errorJson(e: unknown): Json {
  if (e instanceof OvsdbError) {
    // OVS writes the members in this order; clients don't care, but captures compare easier.
    const out: { [k: string]: Json } = {};
    if (e.syntax !== undefined) out.syntax = e.syntax;
    if (e.details !== undefined) out.details = e.details;
    out.error = e.tag;
    return out;
  }
  return { details: String((e as Error)?.message ?? e), error: 'internal error' };
}

export class OvsdbSession implements LockHolder {
  readonly monitors = new Map<string, JsonRpcMonitor>();
  readonly triggers = new Map<string, Trigger>();
  dbChangeAware = false;
  /** Set for a remote whose read_only column is true: its transactions may only read. */
  readOnly = false;
  private readonly ctx: TxnContext;

  constructor(
    readonly server: OvsdbServer,
    readonly conn: RpcConnection,
  ) {
    conn.onMessage = (msg) => this.received(msg);
    conn.onClose = (reason, detail) => this.closed(reason, detail);
    this.ctx = {
      now: () => Date.now(),
      hasLock: (name) => this.server.locks.isOwner(name, this),
    };
  }

  notifyLock(method: 'locked' | 'stolen', lockName: string): void {
    this.conn.sendNotify(method, [lockName]);
  }

  private closed(reason: CloseReason, detail?: string): void {
    if (reason !== 'eof' && reason !== 'closed') {
      this.server.logger.warn(`${this.conn.name}: ${detail ?? reason}, disconnecting`);
    }
    for (const m of this.monitors.values()) m.db.monitors.delete(m);
    this.monitors.clear();
    for (const t of this.triggers.values()) this.dropTrigger(t);
    this.server.locks.unlockAll(this);
    this.server.dropSession(this);
  }

  private received(msg: JsonRpcMessage): void {
    if (msg.type === 'request') {
      try {
        this.request(msg);
      } catch (e) {
        this.conn.sendError(msg.id, errorJson(e));
      }
    } else if (msg.type === 'notify') {
      if (msg.method === 'cancel') this.cancel(msg.params);
    }
    // Replies (to our echo probes) need no action.
  }

  private request(req: JsonRpcRequest): void {
    const p = req.params;
    switch (req.method) {
      case 'transact':
        this.transact(req);
        return;
      case 'convert':
        this.convert(req);
        return;
      case 'monitor':
        this.monitor(req, 1);
        return;
      case 'monitor_cond':
      case 'monitor_cond_since':
        if (!this.server.monitorCondEnabled) this.conn.sendError(req.id, 'unknown method');
        else this.monitor(req, req.method === 'monitor_cond' ? 2 : 3);
        return;
      case 'monitor_cond_change':
        this.condChange(req);
        return;
      case 'monitor_cancel':
        this.monitorCancel(req);
        return;
      case 'get_schema': {
        const db = this.lookupDb(req);
        if (db) this.conn.sendReply(req.id, schemaJson(db));
        return;
      }
      case 'list_dbs':
        this.conn.sendReply(req.id, [...this.server.dbs.keys()].sort());
        return;
      case 'get_server_id':
        this.conn.sendReply(req.id, this.server.uuid);
        return;
      case 'lock':
      case 'steal':
        this.lock(req);
        return;
      case 'unlock':
        this.unlock(req);
        return;
      case 'set_db_change_aware':
        if (p.length !== 1 || typeof p[0] !== 'boolean') {
          throw syntaxError(p, `${req.method}: true or false parameter expected`);
        }
        this.dbChangeAware = p[0];
        this.conn.sendReply(req.id, {});
        return;
      case 'echo':
        this.conn.sendReply(req.id, p);
        return;
      default:
        this.conn.sendError(req.id, 'unknown method');
        return;
    }
  }

  /** OVS's ovsdb_jsonrpc_lookup_db: the first param names the database. */
  private lookupDb(req: JsonRpcRequest): ServedDb | null {
    const p = req.params;
    if (p.length === 0 || typeof p[0] !== 'string') {
      throw syntaxError(p, `${req.method} request params must begin with <db-name>`);
    }
    const db = this.server.dbs.get(p[0]);
    if (!db) {
      throw syntaxError(
        p,
        `${req.method} request specifies unknown database ${p[0]}`,
        'unknown database',
      );
    }
    return db;
  }

  /* ---------- transactions and triggers ---------- */

  private transact(req: JsonRpcRequest): void {
    const db = this.lookupDb(req) as ServedDb;
    const idKey = JSON.stringify(req.id);
    if (this.triggers.has(idKey)) {
      throw syntaxError(req.params, `${req.method}: duplicate request ID`);
    }
    const now = Date.now();
    const t: Trigger = {
      session: this,
      db,
      id: req.id,
      idKey,
      ops: req.params.slice(1),
      created: now,
      until: Number.POSITIVE_INFINITY,
      timer: null,
    };
    this.tryTrigger(t);
  }

  /** Executes (or re-executes) a transaction; keeps it as a trigger while it is blocked. */
  tryTrigger(t: Trigger): void {
    if (this.conn.isClosed) {
      this.dropTrigger(t);
      return;
    }
    let outcome: ReturnType<DbAccess['execute']>;
    const timedOut = Date.now() >= t.until;
    try {
      outcome = t.db.access.execute(t.ops, {
        now: timedOut ? () => Math.max(Date.now(), t.until) : this.ctx.now,
        hasLock: this.ctx.hasLock,
        readOnly: this.readOnly,
        // Lets the executor measure a `wait` timeout from the request's arrival, as OVS does.
        created: t.created,
      });
    } catch (e) {
      this.dropTrigger(t);
      this.conn.sendError(t.id, errorJson(e));
      return;
    }
    if (outcome.status === 'blocked') {
      if (timedOut) {
        this.dropTrigger(t);
        this.conn.sendReply(t.id, timedOutResults(t.ops));
        return;
      }
      if (!Number.isFinite(t.until) || outcome.until < t.until) t.until = outcome.until;
      if (!this.triggers.has(t.idKey)) {
        this.triggers.set(t.idKey, t);
        t.db.triggers.add(t);
      }
      if (!t.timer && Number.isFinite(t.until)) {
        t.timer = setTimeout(
          () => {
            t.timer = null;
            if (this.triggers.get(t.idKey) === t) this.tryTrigger(t);
          },
          Math.max(0, t.until - Date.now()),
        );
      }
      return;
    }
    this.dropTrigger(t);
    if (outcome.status === 'aborted') {
      this.conn.sendReply(t.id, outcome.results);
      return;
    }
    const results = outcome.results;
    const access = t.db.access;
    if (access.isWritten?.(outcome.txnId)) {
      this.conn.sendReply(t.id, results);
      return;
    }
    access.whenWritten(outcome.txnId, outcome.durable).then(
      () => this.conn.sendReply(t.id, results),
      (err: unknown) => {
        // The commit is in memory but not on disk: report it as OVS reports I/O errors.
        this.conn.sendReply(t.id, [
          ...results,
          { error: 'I/O error', details: String((err as Error)?.message ?? err) },
        ]);
      },
    );
  }

  private dropTrigger(t: Trigger): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    if (this.triggers.get(t.idKey) === t) this.triggers.delete(t.idKey);
    t.db.triggers.delete(t);
  }

  private cancel(params: Json[]): void {
    if (params.length !== 1) return;
    const t = this.triggers.get(JSON.stringify(params[0]));
    if (!t) return;
    this.dropTrigger(t);
    // OVS answers a cancelled transaction only on change-aware sessions.
    if (this.dbChangeAware) this.conn.sendError(t.id, 'canceled');
  }

  /** OVS's online schema conversion: the database is replaced, clients are told. */
  private convert(req: JsonRpcRequest): void {
    const db = this.lookupDb(req) as ServedDb;
    const p = req.params;
    if (p.length !== 2) throw syntaxError(p, 'array expected');
    const schema = parseDatabaseSchema(p[1]);
    if (schema.name !== db.name) {
      throw new OvsdbError(
        'invalid parameters',
        `new schema name (${schema.name}) does not match database name (${db.name})`,
      );
    }
    const convertDb = this.server.convertDb;
    if (!convertDb) throw new OvsdbError('not supported', 'database conversion is not supported');
    convertDb(db.name, schema).then(
      () => {
        this.conn.sendReply(req.id, {});
        this.server.reconnectAll(false, `committed ${db.name} database schema conversion`);
      },
      (e: unknown) => this.conn.sendError(req.id, errorJson(e)),
    );
  }

  /* ---------- monitors ---------- */

  private monitor(req: JsonRpcRequest, version: MonitorVersion): void {
    const db = this.lookupDb(req) as ServedDb;
    const p = req.params;
    if (
      (version === 1 && p.length < 3) ||
      (version === 2 && p.length !== 3) ||
      (version === 3 && p.length !== 4)
    ) {
      throw syntaxError(p, 'invalid parameters');
    }
    const id = p[1];
    const idKey = JSON.stringify(id);
    if (typeof p[2] !== 'object' || p[2] === null || Array.isArray(p[2])) {
      throw syntaxError(p[2], 'monitor-requests must be object');
    }
    if (this.monitors.has(idKey)) throw syntaxError(id, 'duplicate monitor ID');
    const spec = parseMonitorRequests(db.access.schema, p[2], version, this.server.compileClause);
    let since: Changes | null = null;
    if (version === 3) {
      const last = p[3];
      if (typeof last !== 'string') throw syntaxError(last, 'last-txn-id must be string');
      if (
        !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(last)
      ) {
        throw syntaxError(last, 'last-txn-id must be UUID format.');
      }
      if (last.toLowerCase() !== ZERO_TXN_ID) since = db.history.changesAfter(last.toLowerCase());
    }
    const m = new JsonRpcMonitor(this, db, id, spec);
    this.monitors.set(idKey, m);
    db.monitors.add(m);
    const found = since !== null;
    let text =
      since !== null
        ? JSON.stringify(composeUpdate(spec, since, false) ?? {})
        : db.initialUpdateText(spec);
    if (version === 3) {
      text = `[${found},"${db.history.lastTxnId}",${text}]`;
    }
    this.conn.sendRawReply(req.id, text);
  }

  private condChange(req: JsonRpcRequest): void {
    const p = req.params;
    if (p.length !== 3) throw syntaxError(p, 'invalid parameters');
    const m = this.monitors.get(JSON.stringify(p[0]));
    if (!m) throw syntaxError(p[0], 'unknown monitor session');
    const newKey = JSON.stringify(p[1]);
    const changingId = newKey !== m.idText;
    if (changingId && this.monitors.has(newKey)) throw syntaxError(p[1], 'duplicate monitor ID');
    for (const name of Object.keys((p[2] as object) ?? {})) {
      if (!m.db.access.schema.tables.has(name))
        throw syntaxError(undefined, `no table named ${name}`);
    }
    m.db.flushPending();
    const oldConds = parseCondChange(m.spec, p[2], this.server.compileClause);
    if (changingId) {
      this.monitors.delete(m.idText);
      m.rename(p[1]);
      this.monitors.set(JSON.stringify(p[1]), m);
    }
    const changes = condChangeChanges(oldConds.keys(), (t) => m.db.access.rows(t));
    const update = composeUpdate(m.spec, changes, false, oldConds);
    // The reply comes after the update, as in OVS, so a client sees the new rows first.
    if (update) m.sendUpdate(JSON.stringify(update), m.db.history.lastTxnId);
    this.conn.sendReply(req.id, {});
  }

  private monitorCancel(req: JsonRpcRequest): void {
    if (req.params.length !== 1) {
      this.conn.sendError(req.id, 'invalid parameters');
      return;
    }
    const key = JSON.stringify(req.params[0]);
    const m = this.monitors.get(key);
    if (!m) {
      this.conn.sendError(req.id, 'unknown monitor');
      return;
    }
    this.monitors.delete(key);
    m.db.monitors.delete(m);
    this.conn.sendReply(req.id, {});
  }

  /** The database is going away: cancel what refers to it. */
  preremoveDb(db: ServedDb): void {
    for (const [key, m] of [...this.monitors]) {
      if (m.db !== db) continue;
      if (this.dbChangeAware && !this.conn.isClosed)
        this.conn.sendNotify('monitor_canceled', [m.id]);
      this.monitors.delete(key);
      db.monitors.delete(m);
    }
    for (const t of [...this.triggers.values()]) {
      if (t.db !== db) continue;
      this.dropTrigger(t);
      if (this.dbChangeAware) this.conn.sendError(t.id, 'canceled');
    }
  }

  /* ---------- locks ---------- */

  private lockName(req: JsonRpcRequest): string {
    const p = req.params;
    if (p.length !== 1 || typeof p[0] !== 'string' || !isId(p[0])) {
      throw syntaxError(p, `${req.method} request params must be <id>`);
    }
    return p[0];
  }

  private lock(req: JsonRpcRequest): void {
    const name = this.lockName(req);
    const locks = this.server.locks;
    if (locks.isWaiting(name, this)) {
      throw syntaxError(req.params, `must issue "unlock" before new "${req.method}"`);
    }
    const locked = req.method === 'steal' ? locks.steal(name, this) : locks.lock(name, this);
    this.conn.sendReply(req.id, { locked });
  }

  private unlock(req: JsonRpcRequest): void {
    const name = this.lockName(req);
    if (!this.server.locks.isWaiting(name, this)) {
      throw syntaxError(req.params, `${req.method}: "unlock" without "lock" or "steal"`);
    }
    this.server.locks.unlock(name, this);
    this.conn.sendReply(req.id, {});
  }
}

/** get_schema's reply; cached since a served schema never changes in place. */
const schemaCache = new WeakMap<object, Json>();
function schemaJson(db: ServedDb): Json {
  const schema = db.access.schema;
  let j = schemaCache.get(schema);
  if (j === undefined) {
    // Members in real ovsdb-server's print order, as in the database file's schema record.
    j = schemaJsonInOvsOrder(schemaToJson(schema) as JsonObject);
    schemaCache.set(schema, j);
  }
  return j;
}

/** The result of a transaction whose `wait` never came true. */
function timedOutResults(ops: Json[]): Json[] {
  const out: Json[] = [];
  for (const op of ops) {
    if (op && typeof op === 'object' && !Array.isArray(op) && op.op === 'wait') {
      out.push({ error: 'timed out' });
      return out;
    }
    out.push(null);
  }
  out.push({ error: 'timed out' });
  return out;
}
