/**
 * The replica ("IDL", as OVS's lib/ovsdb-idl.c calls it): a local copy of chosen tables and
 * columns of one database, kept current by a monitor. It prefers monitor_cond_since (so a
 * reconnect can resume from the last transaction id), falling back to monitor_cond and then
 * monitor when the server refuses. The connection is re-established with exponential backoff.
 */
import { EventEmitter } from 'node:events';
import type { Json } from '../../lib/json.ts';
import { parseDatabaseSchema } from '../schema.ts';
import type { DatabaseSchema, TableSchema } from '../types.ts';
import {
  ConnectionClosedError,
  type MonitorRequests,
  OvsdbConnection,
  type OvsdbNotification,
  OvsdbRpcError,
  type TableUpdates,
  type TlsOptions,
} from './connection.ts';
import {
  applyTableUpdates,
  emptyReplica,
  type ReplicaTables,
  type RowEvent,
  replaceWithSnapshot,
} from './replica.ts';
import type { IdlRow } from './row.ts';
import { type CommitResult, IdlTxn } from './txn.ts';

export const ZERO_TXN_ID = '00000000-0000-0000-0000-000000000000';

/** Which columns of a table to replicate, and which rows (an RFC 7047 condition). */
export interface TableMonitorOptions {
  /** Column names; all columns when omitted. */
  columns?: readonly string[];
  /** A monitor_cond condition, e.g. [["name", "==", "br0"]]; all rows when omitted. */
  where?: Json[];
}

export interface IdlOptions {
  /** One remote (`unix:PATH`, `tcp:IP:PORT`, `ssl:IP:PORT`) or several, tried in turn. */
  remote: string | readonly string[];
  database: string;
  /** Tables to replicate: `true` = all columns. Default: every table of the schema, all columns. */
  tables?: { readonly [table: string]: true | readonly string[] | TableMonitorOptions };
  /** The schema to use instead of asking the server for it. */
  schema?: DatabaseSchema;
  tls?: TlsOptions;
  /** Reconnection backoff, as OVS's reconnect: starts at min, doubles up to max (1 s, 8 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per connection attempt. */
  connectTimeoutMs?: number;
  /** Newest monitor method to try: 3 = monitor_cond_since, 2 = monitor_cond, 1 = monitor. */
  monitorVersion?: 1 | 2 | 3;
  /**
   * Inactivity probe: after this long without hearing from the server, send an echo; after
   * as long again, drop the connection and reconnect. 0 disables. Default as OVS: 5 s for
   * tcp: and ssl:, none for unix:.
   */
  probeIntervalMs?: number;
}

/** What one update message (or a monitor reply) changed. */
export interface ChangeEvent {
  seqno: number;
  events: RowEvent[];
}

export interface IdlEvents {
  /** One row changed. */
  row: [RowEvent];
  /** A transaction's worth of updates (or a whole snapshot) has been applied. */
  change: [ChangeEvent];
  /** A monitor is established and the replica is current. */
  /** `resumed`: monitor_cond_since picked up from the last transaction id (no full reload). */
  connected: [{ remote: string; monitorVersion: 1 | 2 | 3; resumed: boolean }];
  disconnected: [Error | undefined];
}

interface TableSpec {
  columns: string[];
  where: Json[] | undefined;
}

function sleep(ms: number, signal: { cancelled: boolean; wake?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

export class Idl extends EventEmitter<IdlEvents> {
  readonly database: string;
  private readonly opts: IdlOptions;
  private readonly remotes: readonly string[];
  private schemaValue: DatabaseSchema | undefined;
  private schemaText: string | undefined;
  private specs = new Map<string, TableSpec>();
  private replica: ReplicaTables = new Map();
  private conn: OvsdbConnection | null = null;
  private monitorVersionValue: 1 | 2 | 3 = 3;
  private monitorId: Json = null;
  private monitorSeq = 0;
  private lastTxnIdValue = ZERO_TXN_ID;
  private seqnoValue = 0;
  private isClosed = false;
  private ready: Promise<void>;
  private resolveReady!: () => void;
  private everConnected = false;
  private readonly sleeper: { cancelled: boolean; wake?: () => void } = { cancelled: false };
  /** Notifications that arrived while a monitor request was in flight. */
  private queued: OvsdbNotification[] | null = null;
  private lastError: Error | undefined;

  constructor(opts: IdlOptions) {
    super();
    this.opts = opts;
    this.database = opts.database;
    this.remotes = typeof opts.remote === 'string' ? [opts.remote] : [...opts.remote];
    if (this.remotes.length === 0) throw new RangeError('Idl needs at least one remote');
    this.schemaValue = opts.schema;
    this.ready = new Promise((r) => {
      this.resolveReady = r;
    });
    void this.run();
  }

  /** Connects and resolves once the replica holds the database's current contents. */
  static async connect(opts: IdlOptions & { timeoutMs?: number }): Promise<Idl> {
    const idl = new Idl(opts);
    try {
      await idl.whenReady(opts.timeoutMs);
    } catch (err) {
      idl.close();
      throw err;
    }
    return idl;
  }

  /** Resolves when the first replica is loaded; rejects after `timeoutMs` (if given). */
  whenReady(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined) return this.ready;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const why = this.lastError ? `: ${this.lastError.message}` : '';
        reject(
          new Error(
            `${this.remotes.join(', ')}: database ${this.database} not replicated within ${timeoutMs} ms${why}`,
          ),
        );
      }, timeoutMs);
      this.ready.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  get schema(): DatabaseSchema {
    if (!this.schemaValue) throw new Error('schema not known yet: await idl.whenReady()');
    return this.schemaValue;
  }
  /** Increases every time the replica changes (OVS's ovsdb_idl_get_seqno). */
  get seqno(): number {
    return this.seqnoValue;
  }
  get isConnected(): boolean {
    return this.conn !== null && this.queued === null && !this.conn.closed && this.everConnected;
  }
  /** The live connection, for raw requests (locks, echo); null while reconnecting. */
  get connection(): OvsdbConnection | null {
    return this.conn && !this.conn.closed ? this.conn : null;
  }
  /** The monitor method in use: 3 monitor_cond_since, 2 monitor_cond, 1 monitor. */
  get monitorVersion(): 1 | 2 | 3 {
    return this.monitorVersionValue;
  }
  /** The last transaction id seen (monitor_cond_since only; all zeros otherwise). */
  get lastTxnId(): string {
    return this.lastTxnIdValue;
  }

  tableSchema(name: string): TableSchema {
    const t = this.schema.tables.get(name);
    if (!t) throw new RangeError(`database ${this.database} has no table ${name}`);
    return t;
  }

  /** The replicated rows of `table`, by uuid. */
  table(name: string): ReadonlyMap<string, IdlRow> {
    const t = this.replica.get(name);
    if (!t) throw new RangeError(`table ${name} is not replicated`);
    return t;
  }
  rows(name: string): IdlRow[] {
    return [...this.table(name).values()];
  }
  getRow(table: string, uuid: string): IdlRow | undefined {
    return this.replica.get(table)?.get(uuid);
  }
  /** The first row of a table (handy for singleton tables such as Open_vSwitch). */
  first(table: string): IdlRow | undefined {
    for (const r of this.table(table).values()) return r;
    return undefined;
  }
  /** Rows of `table` for which `pred` holds. */
  find(table: string, pred: (row: IdlRow) => boolean): IdlRow[] {
    return this.rows(table).filter(pred);
  }
  /** Whether `column` of `table` is replicated (so a transaction may verify it). */
  isReplicated(table: string, column: string): boolean {
    return this.specs.get(table)?.columns.includes(column) ?? false;
  }

  /** Resolves true once seqno exceeds `after`, false after `timeoutMs`. */
  waitForChange(after = this.seqnoValue, timeoutMs = 5000): Promise<boolean> {
    if (this.seqnoValue > after) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onChange = (): void => {
        if (this.seqnoValue > after) done(true);
      };
      const t = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean): void => {
        clearTimeout(t);
        this.off('change', onChange);
        resolve(v);
      };
      this.on('change', onChange);
    });
  }

  /** Resolves true once `pred()` holds (checked after every change), false after `timeoutMs`. */
  async waitUntil(pred: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitForChange(this.seqnoValue, left))) return pred();
    }
    return true;
  }

  /**
   * Changes the condition of one table (monitor_cond_change). The replica drops rows that no
   * longer match and receives the new ones as updates.
   */
  async setCondition(table: string, where: Json[] | undefined): Promise<void> {
    const spec = this.specs.get(table);
    if (!spec) throw new RangeError(`table ${table} is not replicated`);
    spec.where = where;
    const conn = this.connection;
    if (!conn || !this.isConnected) return; // applied on the next (re)connection
    if (this.monitorVersionValue === 1) {
      // Plain monitor has no conditions: start over with a new monitor.
      conn.close();
      return;
    }
    await conn.monitorCondChange(this.monitorId, this.monitorId, {
      [table]: [{ where: where ?? [true] }],
    });
  }

  /** Starts a transaction against the replica. */
  transaction(): IdlTxn {
    return new IdlTxn(this);
  }

  /**
   * Runs `fn` in a fresh transaction and commits it; on "try-again" (a verified column changed
   * underneath, or a row went away) waits for the replica to catch up and runs `fn` again.
   * `fn` may return a value; it is returned with the result of the last commit.
   */
  async commitWithRetry<T>(
    fn: (txn: IdlTxn, idl: Idl) => T | Promise<T>,
    opts: { maxAttempts?: number; timeoutMs?: number } = {},
  ): Promise<CommitResult & { value: T }> {
    const maxAttempts = opts.maxAttempts ?? 100;
    const deadline = Date.now() + (opts.timeoutMs ?? 30000);
    for (let attempt = 1; ; attempt++) {
      const seqno = this.seqnoValue;
      const txn = this.transaction();
      const value = await fn(txn, this);
      const result = await txn.commit();
      if (result.status !== 'try-again' || attempt >= maxAttempts || Date.now() >= deadline) {
        return { ...result, value };
      }
      await this.waitForChange(seqno, Math.max(1, Math.min(1000, deadline - Date.now())));
    }
  }

  /** Stops replicating and closes the connection. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.sleeper.wake?.();
    this.conn?.close();
  }

  // ---- connection management ----

  private async run(): Promise<void> {
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 8000;
    let backoff = 0;
    let i = 0;
    while (!this.isClosed) {
      const remote = this.remotes[i++ % this.remotes.length] as string;
      let conn: OvsdbConnection;
      try {
        conn = await OvsdbConnection.connect(remote, {
          tls: this.opts.tls,
          timeoutMs: this.opts.connectTimeoutMs ?? 10000,
        });
      } catch (err) {
        this.lastError = err as Error;
        backoff = backoff ? Math.min(max, backoff * 2) : min;
        await sleep(backoff, this.sleeper);
        continue;
      }
      if (this.isClosed) {
        conn.close();
        break;
      }
      const closed = new Promise<Error | undefined>((r) => conn.once('close', r));
      const probe = this.startProbes(conn, remote);
      try {
        await this.startSession(conn, remote);
        backoff = 0;
      } catch (err) {
        this.lastError = err as Error;
        conn.close();
      }
      const why = await closed;
      if (probe) clearInterval(probe);
      this.conn = null;
      if (this.everConnected) this.emit('disconnected', this.isClosed ? undefined : why);
      if (this.isClosed) break;
      backoff = backoff ? Math.min(max, backoff * 2) : min;
      await sleep(backoff, this.sleeper);
    }
  }

  private startProbes(conn: OvsdbConnection, remote: string): NodeJS.Timeout | undefined {
    const interval = this.opts.probeIntervalMs ?? (/^(tcp|ssl):/.test(remote) ? 5000 : 0);
    if (!interval) return undefined;
    let probing = false;
    const t = setInterval(
      () => {
        const idle = Date.now() - conn.lastReceived;
        if (idle < interval) {
          probing = false;
        } else if (!probing) {
          probing = true;
          conn.echo([]).catch(() => {});
        } else if (idle >= 2 * interval) {
          this.lastError = new Error(
            `${remote}: no response to inactivity probe after ${idle / 1000} seconds, disconnecting`,
          );
          conn.close();
        }
      },
      Math.max(10, Math.floor(interval / 2)),
    );
    t.unref();
    return t;
  }

  private async startSession(conn: OvsdbConnection, remote: string): Promise<void> {
    this.conn = conn;
    this.queued = [];
    conn.on('notification', (n: OvsdbNotification) => {
      if (this.queued) this.queued.push(n);
      else this.handleNotification(n);
    });
    if (!this.opts.schema) {
      // Fetched on every connection: the database may have been converted meanwhile.
      const json = await conn.getSchema(this.database);
      const text = JSON.stringify(json);
      if (text !== this.schemaText) {
        const changed = this.schemaText !== undefined;
        this.schemaValue = parseDatabaseSchema(json);
        this.schemaText = text;
        if (changed) {
          // Start over against the new schema: rows reappear from the fresh snapshot.
          this.specs.clear();
          this.replica = new Map();
          this.lastTxnIdValue = ZERO_TXN_ID;
        }
      }
    }
    if (this.specs.size === 0) this.buildSpecs();
    if (this.replica.size === 0) this.replica = emptyReplica(this.schema, this.specs.keys());

    let version = this.opts.monitorVersion ?? 3;
    let resumed = false;
    for (;;) {
      this.monitorId = `idl-${this.database}-${++this.monitorSeq}`;
      try {
        resumed = await this.sendMonitor(conn, version);
        break;
      } catch (err) {
        // Any error reply means "not supported here": step down, as OVS's ovsdb-cs does.
        if (!(err instanceof OvsdbRpcError) || version === 1) throw err;
        version = (version - 1) as 1 | 2;
      }
    }
    this.monitorVersionValue = version;
    const queued = this.queued ?? [];
    this.queued = null;
    for (const n of queued) this.handleNotification(n);
    this.everConnected = true;
    this.emit('connected', { remote, monitorVersion: version, resumed });
    this.resolveReady();
  }

  private buildSpecs(): void {
    const schema = this.schema;
    const wanted = this.opts.tables;
    const names = wanted ? Object.keys(wanted) : [...schema.tables.keys()];
    for (const name of names) {
      const ts = schema.tables.get(name);
      if (!ts) throw new RangeError(`database ${this.database} has no table ${name}`);
      const w = wanted?.[name] ?? true;
      let columns: readonly string[] | undefined;
      let where: Json[] | undefined;
      if (w === true) columns = undefined;
      else if (Array.isArray(w)) columns = w as readonly string[];
      else {
        columns = (w as TableMonitorOptions).columns;
        where = (w as TableMonitorOptions).where;
      }
      const cols = columns ? [...columns] : ts.columnList.map((c) => c.name);
      for (const c of cols) {
        if (!ts.columns.has(c)) throw new RangeError(`table ${name} has no column ${c}`);
      }
      this.specs.set(name, { columns: cols, where });
    }
  }

  private monitorRequests(version: 1 | 2 | 3): MonitorRequests {
    const req: MonitorRequests = {};
    for (const [name, spec] of this.specs) {
      req[name] =
        version === 1 || spec.where === undefined
          ? { columns: spec.columns }
          : { columns: spec.columns, where: spec.where };
    }
    return req;
  }

  /** Returns true when the server resumed from our last transaction id. */
  private async sendMonitor(conn: OvsdbConnection, version: 1 | 2 | 3): Promise<boolean> {
    const req = this.monitorRequests(version);
    let updates: TableUpdates;
    let resumed = false;
    if (version === 3) {
      const r = await conn.monitorCondSince(
        this.database,
        this.monitorId,
        req,
        this.lastTxnIdValue,
      );
      updates = r.updates;
      resumed = r.found && this.everConnected;
      this.lastTxnIdValue = r.lastTxnId;
    } else if (version === 2) {
      updates = await conn.monitorCond(this.database, this.monitorId, req);
    } else {
      updates = await conn.monitor(this.database, this.monitorId, req);
    }
    const events = resumed
      ? applyTableUpdates(this.schema, this.replica, updates, 3)
      : replaceWithSnapshot(this.schema, this.replica, updates, version);
    this.publish(events, true);
    return resumed;
  }

  private handleNotification(n: OvsdbNotification): void {
    const p = n.params;
    let events: RowEvent[];
    if (
      n.method === 'update3' &&
      this.monitorVersionValue === 3 &&
      p.length >= 3 &&
      sameId(p[0], this.monitorId)
    ) {
      if (typeof p[1] === 'string') this.lastTxnIdValue = p[1];
      events = applyTableUpdates(this.schema, this.replica, p[2] as TableUpdates, 3);
    } else if (n.method === 'update2' && p.length >= 2 && sameId(p[0], this.monitorId)) {
      events = applyTableUpdates(this.schema, this.replica, p[1] as TableUpdates, 2);
    } else if (n.method === 'update' && p.length >= 2 && sameId(p[0], this.monitorId)) {
      events = applyTableUpdates(this.schema, this.replica, p[1] as TableUpdates, 1);
    } else {
      if (n.method === 'monitor_canceled') this.conn?.close(); // reconnect and monitor afresh
      return;
    }
    this.publish(events, false);
  }

  private publish(events: RowEvent[], always: boolean): void {
    if (events.length === 0 && !always) return;
    this.seqnoValue++;
    for (const e of events) this.emit('row', e);
    this.emit('change', { seqno: this.seqnoValue, events });
  }

  /** For txn.ts: the current connection or an error saying why there is none. */
  requireConnection(): OvsdbConnection {
    const c = this.connection;
    if (!c || !this.isConnected)
      throw new ConnectionClosedError(`${this.remotes.join(', ')}: not connected`);
    return c;
  }
}

function sameId(a: Json, b: Json): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
