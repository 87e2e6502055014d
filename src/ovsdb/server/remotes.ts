/**
 * The server's remotes: passive (punix:, ptcp:, pssl:) listeners and active (unix:, tcp:, ssl:)
 * connections that reconnect with backoff, configured directly or read from the database
 * (`db:DB,TABLE,COLUMN`, as OVS's Manager table is used). The database-backed ones are
 * re-read after every commit; their connection status is written back to Manager-like rows.
 */
import type { Json } from '../../lib/json.ts';
import {
  isPassiveName,
  listenStream,
  needsProbes,
  openStream,
  type PassiveStream,
  type Stream,
  type TlsOptions,
} from '../../lib/jsonrpc/stream.ts';
import type { Datum, Row } from '../types.ts';
import type { OvsdbServer, OvsdbSession, ServedDb } from './jsonrpc-server.ts';
import { DEFAULT_PROBE_INTERVAL } from './rpc-connection.ts';

const MIN_BACKOFF = 1000;
const DEFAULT_MAX_BACKOFF = 8000;

/** Options of one target, from the Manager-like row it came from (if any). */
export interface RemoteOptions {
  probeInterval?: number;
  maxBackoff?: number;
  /** The row's read_only column: its clients may not write. */
  readOnly?: boolean;
  /** Where the target came from: db name, table and row, for status write-back. */
  row?: { db: string; table: string; uuid: string };
}

/** One live target: a listener or a reconnecting client. */
interface Target {
  readonly name: string;
  options: RemoteOptions;
  readonly sessions: Set<OvsdbSession>;
  listener?: PassiveStream;
  listenError?: string;
  /** Active: connected now? */
  connected?: boolean;
  lastError?: string;
  since: number;
  stop(): void;
}

export interface RemoteManagerOptions {
  /** Resolves --private-key/--certificate/--ca-cert (they may be db: references). */
  tls?: () => TlsOptions | undefined;
  log?: { info(m: string): void; warn(m: string): void; dbg?(m: string): void };
}

/** Parses `db:DB,TABLE,COLUMN`. */
export function parseDbRemote(
  remote: string,
): { db: string; table: string; column: string } | null {
  if (!remote.startsWith('db:')) return null;
  const parts = remote.slice(3).split(',');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  return { db: parts[0], table: parts[1], column: parts[2] };
}

function datumStrings(d: Datum): string[] {
  return d.keys.filter((k): k is string => typeof k === 'string');
}

/**
 * Reads the value of a `db:DB,TABLE,COLUMN` reference: returns an error message (OVS's
 * wording) or the targets with their options.
 */
export function readDbRemote(
  server: OvsdbServer,
  remote: string,
): { error: string } | { targets: Map<string, RemoteOptions> } {
  const ref = parseDbRemote(remote);
  if (!ref) return { error: `"${remote}": invalid syntax` };
  const db = server.dbs.get(ref.db);
  if (!db) return { error: `"${remote}": no database named ${ref.db}` };
  const ts = db.access.schema.tables.get(ref.table);
  if (!ts) return { error: `"${remote}": no table named ${ref.table}` };
  const col = ts.columns.get(ref.column);
  if (!col) return { error: `"${remote}": table "${ref.table}" has no column "${ref.column}"` };
  const targets = new Map<string, RemoteOptions>();
  const key = col.type.key;
  if (key.type === 'string' && col.type.value === null) {
    for (const row of db.access.rows(ref.table)) {
      for (const s of datumStrings(row.fields[col.index])) targets.set(s, {});
    }
  } else if (key.type === 'uuid' && key.refTable && col.type.value === null) {
    const refTs = db.access.schema.tables.get(key.refTable);
    const target = refTs?.columns.get('target');
    if (!refTs || !target || target.type.key.type !== 'string') {
      return {
        error: `"${remote}": type of table "${ref.table}" column "${ref.column}" is not string or set of strings`,
      };
    }
    const wanted = new Set<string>();
    for (const row of db.access.rows(ref.table)) {
      for (const u of row.fields[col.index].keys) wanted.add(u as string);
    }
    for (const row of db.access.rows(key.refTable)) {
      if (!wanted.has(row.uuid)) continue;
      const t = datumStrings(row.fields[target.index])[0];
      if (t === undefined) continue;
      targets.set(t, {
        ...managerOptions(refTs.columns, row),
        row: { db: ref.db, table: key.refTable, uuid: row.uuid },
      });
    }
  } else {
    return {
      error: `"${remote}": type of table "${ref.table}" column "${ref.column}" is not string or set of strings`,
    };
  }
  return { targets };
}

function managerOptions(
  columns: ReadonlyMap<string, { index: number; type: { key: { type: string } } }>,
  row: Row,
): RemoteOptions {
  const out: RemoteOptions = {};
  const int = (name: string): number | undefined => {
    const c = columns.get(name);
    if (c?.type.key.type !== 'integer') return undefined;
    const v = row.fields[c.index].keys[0];
    return typeof v === 'number' ? v : undefined;
  };
  const probe = int('inactivity_probe');
  if (probe !== undefined) out.probeInterval = probe;
  const backoff = int('max_backoff');
  if (backoff !== undefined) out.maxBackoff = backoff;
  const ro = columns.get('read_only');
  if (ro?.type.key.type === 'boolean' && row.fields[ro.index].keys[0] === true) out.readOnly = true;
  return out;
}

/** Reads a single string from `db:DB,TABLE,COLUMN` (SSL key/cert paths). */
export function readDbString(server: OvsdbServer, ref: string): string | undefined {
  const r = parseDbRemote(ref);
  if (!r) return ref;
  const db = server.dbs.get(r.db);
  const ts = db?.access.schema.tables.get(r.table);
  const col = ts?.columns.get(r.column);
  if (!db || !col) return undefined;
  for (const row of db.access.rows(r.table)) {
    const s = datumStrings(row.fields[col.index])[0];
    if (s !== undefined) return s;
  }
  return undefined;
}

let unixConnections = 0;

/** How OVS names a connection in its logs: "unix#3", "tcp:127.0.0.1:43210", "ssl:...". */
function peerName(stream: Stream, remote: string): string {
  if (!isPassiveName(remote)) return remote;
  if (remote.startsWith('punix:')) return `unix#${++unixConnections}`;
  const kind = remote.startsWith('pssl:') ? 'ssl' : 'tcp';
  const host = stream.remoteAddress ?? '?';
  return `${kind}:${host.includes(':') ? `[${host}]` : host}:${stream.remotePort ?? 0}`;
}

export class RemoteManager {
  /** The configured remotes as given (--remote and add-remote), in order. */
  private readonly configured: string[] = [];
  private readonly targets = new Map<string, Target>();
  private readonly errors = new Map<string, string>();
  private reconcileQueued = false;
  private statusTimer: NodeJS.Timeout | null = null;
  private lastStatus = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly server: OvsdbServer,
    private readonly options: RemoteManagerOptions = {},
  ) {}

  list(): string[] {
    return [...this.configured].sort();
  }

  add(remote: string): void {
    if (!this.configured.includes(remote)) this.configured.push(remote);
  }

  remove(remote: string): boolean {
    const i = this.configured.indexOf(remote);
    if (i < 0) return false;
    this.configured.splice(i, 1);
    return true;
  }

  /** The listeners' bound names (for tests and logs): ptcp:0 shows its real port here. */
  boundNames(): string[] {
    const out: string[] = [];
    for (const t of this.targets.values()) if (t.listener) out.push(t.listener.boundName);
    return out;
  }

  /** Opens/closes targets to match the configuration and the db: remotes' current values. */
  async reconcile(): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<string, RemoteOptions>();
    for (const r of this.configured) {
      if (r.startsWith('db:')) {
        const res = readDbRemote(this.server, r);
        if ('error' in res) {
          if (this.errors.get(r) !== res.error) this.options.log?.warn(res.error);
          this.errors.set(r, res.error);
          continue;
        }
        this.errors.delete(r);
        for (const [t, o] of res.targets) if (!wanted.has(t)) wanted.set(t, o);
      } else if (!wanted.has(r)) {
        wanted.set(r, {});
      }
    }
    for (const [name, t] of this.targets) {
      if (!wanted.has(name)) {
        t.stop();
        this.targets.delete(name);
      }
    }
    const starts: Promise<void>[] = [];
    for (const [name, opts] of wanted) {
      const existing = this.targets.get(name);
      if (existing) {
        const probeChanged = existing.options.probeInterval !== opts.probeInterval;
        existing.options = opts;
        if (probeChanged) {
          for (const s of existing.sessions) s.conn.setProbeInterval(this.probeFor(name, opts));
        }
        continue;
      }
      starts.push(this.start(name, opts));
    }
    await Promise.all(starts);
    this.armStatus();
  }

  /** Schedules a reconcile soon (after a commit). */
  dbChanged(db: ServedDb): void {
    if (this.reconcileQueued || this.closed) return;
    if (!this.configured.some((r) => r.startsWith(`db:${db.name},`))) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      void this.reconcile();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    for (const t of this.targets.values()) t.stop();
    this.targets.clear();
  }

  private probeFor(name: string, opts: RemoteOptions): number {
    if (opts.probeInterval !== undefined) return opts.probeInterval;
    return needsProbes(name) ? DEFAULT_PROBE_INTERVAL : 0;
  }

  private attach(t: Target, stream: Stream, peer: string): void {
    const s = this.server.serve(stream, peerName(stream, peer), {
      probeInterval: this.probeFor(t.name, t.options),
    });
    if (t.options.readOnly) s.readOnly = true;
    t.sessions.add(s);
    const prev = s.conn.onClose;
    s.conn.onClose = (reason, detail) => {
      t.sessions.delete(s);
      prev(reason, detail);
    };
  }

  private async start(name: string, opts: RemoteOptions): Promise<void> {
    const t: Target = {
      name,
      options: opts,
      sessions: new Set(),
      since: Date.now(),
      stop: () => {},
    };
    this.targets.set(name, t);
    const tls =
      name.startsWith('ssl:') || name.startsWith('pssl:') ? this.options.tls?.() : undefined;
    if (isPassiveName(name)) {
      try {
        const l = await listenStream(name, (s) => this.attach(t, s, name), { tls });
        t.listener = l;
        t.listenError = undefined;
        this.options.log?.dbg?.(`${name}: listening on ${l.boundName}`);
        // As OVS, a port the kernel chose is logged (scripts and OVS's tests read it there).
        const target = name.slice(name.indexOf(':') + 1);
        if (/^p(tcp|ssl):/.test(name) && target.split(':')[0] === '0')
          this.options.log?.info(`${target}: listening on port ${l.port}`);
        t.stop = () => {
          void l.close();
          for (const s of t.sessions) s.conn.destroy();
        };
        if (this.targets.get(name) !== t) t.stop();
      } catch (err) {
        t.listenError = (err as Error).message;
        this.options.log?.warn(`${name}: listen failed: ${(err as Error).message}`);
      }
      return;
    }
    // Active: connect, and reconnect with backoff after failures or disconnection.
    let stopped = false;
    let backoff = 0;
    let timer: NodeJS.Timeout | null = null;
    const attempt = async (): Promise<void> => {
      timer = null;
      if (stopped) return;
      try {
        const stream = await openStream(name, { tls, timeoutMs: 10000 });
        if (stopped) {
          stream.destroy();
          return;
        }
        backoff = 0;
        t.connected = true;
        t.since = Date.now();
        this.attach(t, stream, name);
        stream.once('close', () => {
          t.connected = false;
          t.since = Date.now();
          if (!stopped) schedule();
        });
      } catch (err) {
        t.lastError = (err as Error).message;
        schedule();
      }
    };
    const schedule = (): void => {
      if (stopped || timer) return;
      const max = t.options.maxBackoff ?? DEFAULT_MAX_BACKOFF;
      backoff = backoff === 0 ? MIN_BACKOFF : Math.min(max, backoff * 2);
      timer = setTimeout(() => void attempt(), backoff);
      timer.unref();
    };
    t.stop = () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const s of t.sessions) s.conn.destroy();
    };
    await attempt();
  }

  /* ---------- status write-back (Manager.status / is_connected) ---------- */

  private armStatus(): void {
    if (this.statusTimer || this.closed) return;
    if (![...this.targets.values()].some((t) => t.options.row)) return;
    this.statusTimer = setInterval(() => this.writeStatus(), 2500);
    this.statusTimer.unref();
    setImmediate(() => this.writeStatus());
  }

  private writeStatus(): void {
    const byDb = new Map<string, Json[]>();
    for (const t of this.targets.values()) {
      const row = t.options.row;
      if (!row) continue;
      const db = this.server.dbs.get(row.db);
      const ts = db?.access.schema.tables.get(row.table);
      if (!db || !ts) continue;
      const passive = isPassiveName(t.name);
      const connected = passive ? t.sessions.size > 0 : t.connected === true;
      const status: [string, string][] = [];
      if (passive) {
        if (t.listener?.port) status.push(['bound_port', String(t.listener.port)]);
        if (t.sessions.size > 1) status.push(['n_connections', String(t.sessions.size)]);
        if (t.listenError) status.push(['last_error', t.listenError]);
      } else {
        status.push(['state', connected ? 'ACTIVE' : 'BACKOFF']);
        const secs = Math.floor((Date.now() - t.since) / 1000);
        status.push([connected ? 'sec_since_connect' : 'sec_since_disconnect', String(secs)]);
        if (!connected && t.lastError) status.push(['last_error', t.lastError]);
      }
      status.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const rowJson: { [k: string]: Json } = {};
      if (ts.columns.get('is_connected')?.type.key.type === 'boolean')
        rowJson.is_connected = connected;
      if (ts.columns.get('status')?.type.value) rowJson.status = ['map', status];
      const key = `${row.db}/${row.uuid}`;
      const text = JSON.stringify(rowJson);
      if (this.lastStatus.get(key) === text) continue;
      this.lastStatus.set(key, text);
      let ops = byDb.get(row.db);
      if (!ops) {
        ops = [];
        byDb.set(row.db, ops);
      }
      ops.push({
        op: 'update',
        table: row.table,
        where: [['_uuid', '==', ['uuid', row.uuid]]],
        row: rowJson,
      });
    }
    for (const [name, ops] of byDb) {
      const db = this.server.dbs.get(name);
      if (!db) continue;
      try {
        db.access.execute(ops, { now: () => Date.now(), hasLock: () => false });
      } catch {
        // A row that vanished meanwhile: the next round uses fresh targets.
      }
    }
  }
}
