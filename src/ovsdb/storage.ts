/**
 * Standalone database storage (OVS's ovsdb/storage.c and file.c): a database file is a log
 * (log.ts) whose first record is the schema and whose later records are committed
 * transactions (storage-record.ts). Opening replays them into a Database; every later commit
 * of that Database is appended as one record, fsynced first when the transaction asked to be
 * durable; compaction rewrites the file as the schema plus one record holding every row.
 *
 * Compaction follows OVS 3.1's rule (ovsdb_storage_should_snapshot): not before a random
 * 10 to 20 minutes after the previous one; then if the log holds at least 100 records and has
 * grown past 10 MB and to more than twice its size after the last compaction; and, once a
 * day, whenever it holds any record at all. compact() does it on request
 * (ovsdb-server/compact).
 */
import { rmSync } from 'node:fs';
import type { JsonObject } from '../lib/json.ts';
import { Database } from './database.ts';
import { OvsdbError } from './error.ts';
import { ClusteredDatabaseError, OVSDB_MAGIC, OvsdbLog, RAFT_MAGIC } from './log.ts';
import { schemaJsonInOvsOrder } from './ovs-hash-order.ts';
import { parseDatabaseSchema, schemaToJson } from './schema.ts';
import {
  changesToRecordText,
  persistentColumnsInOvsOrder,
  recordToChanges,
  snapshotRecord,
} from './storage-record.ts';
import { replayChanges } from './transaction.ts';
import type { Changes, DatabaseSchema } from './types.ts';

export interface OpenStorageOptions {
  /** Open read-only (no lock, no writes): ovsdb-tool query and the like. */
  readonly readOnly?: boolean;
  /**
   * Read the file as this schema instead of its own (ovsdb-tool convert): tables and columns
   * the new schema lacks are dropped, new ones take their defaults.
   */
  readonly schema?: DatabaseSchema;
  /**
   * Fail on a bad record (ovsdb-tool's behaviour). Otherwise (ovsdb-server's) reading stops
   * at the first bad record, keeps what came before, reports it in `readError`, and a
   * read-write open cuts the bad tail off at once so appends continue from the last good
   * record.
   */
  readonly strict?: boolean;
  /** Append each commit of `db` automatically (default: true unless read-only). */
  readonly attach?: boolean;
  /** Compact automatically by OVS's rule (default: true when attached). */
  readonly autoCompact?: boolean;
  /** Wall clock in ms, for `_date` and compaction timing (tests inject one). */
  readonly now?: () => number;
  /** Uniform [0, 1) random numbers for compaction scheduling. */
  readonly random?: () => number;
  /** UUIDs for row versions and transaction ids. */
  readonly newUuid?: () => string;
  /** Where warnings go (a bad tail found at open, a failed automatic compaction). */
  readonly warn?: (message: string) => void;
  /** Where notes go (a record skipped at open because it fails the commit checks). */
  readonly info?: (message: string) => void;
}

export interface CommitOptions {
  readonly durable?: boolean;
  readonly comment?: string;
}

const TEN_MINUTES = 10 * 60 * 1000;
const ONE_DAY = 24 * 60 * 60 * 1000;

/** ovsdb-server's comment on the record an online compaction writes. */
export const ONLINE_COMPACTION_COMMENT = 'compacting database online';

export class Storage {
  readonly path: string;
  readonly db: Database;
  /** What stopped reading the file at open (a torn or corrupt tail), if anything. */
  readonly readError: OvsdbError | null;
  private readonly log: OvsdbLog;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly warn: (message: string) => void;
  private readonly autoCompact: boolean;
  private nRead = 0;
  private nWritten = 0;
  private nextSnapshotMin = 0;
  private nextSnapshotMax = 0;
  private detach: (() => void) | null = null;
  /** Durable commits whose fsync is under way, by transaction id. */
  private readonly pendingSync = new Map<string, Promise<void>>();
  /** Commits whose write failed, by transaction id (bounded). */
  private readonly failed = new Map<string, OvsdbError>();
  private dailyTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    path: string,
    log: OvsdbLog,
    db: Database,
    readError: OvsdbError | null,
    nRead: number,
    opts: OpenStorageOptions,
  ) {
    this.path = path;
    this.log = log;
    this.db = db;
    this.readError = readError;
    this.nRead = nRead;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.warn = opts.warn ?? (() => undefined);
    const attach = opts.attach ?? !opts.readOnly;
    this.autoCompact = opts.autoCompact ?? (attach && !opts.readOnly);
    this.scheduleNextSnapshot(false);
    if (attach) {
      // The record layout of each table, worked out now rather than on its first commit.
      for (const t of db.schema.tables.values()) persistentColumnsInOvsOrder(t);
      this.detach = db.onCommit((changes, txnId, info) =>
        this.onCommit(changes, txnId, { durable: info.durable, comment: info.comment }),
      );
    }
  }

  /**
   * Opens a database file and replays it. Throws OvsdbError: I/O errors and lock contention
   * as OVS words them, ClusteredDatabaseError for a clustered file, schema errors, and (when
   * strict) the first bad record.
   */
  static open(path: string, opts: OpenStorageOptions = {}): Storage {
    // Both magics, as OVS opens storage: an empty file then "cannot identify file type".
    const log = OvsdbLog.open(path, opts.readOnly ? 'read-only' : 'read-write', {
      magic: [OVSDB_MAGIC, RAFT_MAGIC],
      warn: opts.warn,
    });
    try {
      if (log.magic === RAFT_MAGIC) throw new ClusteredDatabaseError(path);
      const schemaJson = log.read();
      if (!schemaJson) {
        throw new OvsdbError('ovsdb error', `${path}: unexpected end of file reading schema`);
      }
      const fileSchema = parseDatabaseSchema(schemaJson);
      const schema = opts.schema ?? fileSchema;
      const db = new Database(schema, opts.newUuid ? { newUuid: opts.newUuid } : {});
      let nRead = 1;
      let readError: OvsdbError | null = null;
      for (;;) {
        let record: JsonObject | null;
        try {
          record = log.read();
        } catch (e) {
          if (opts.strict || !(e instanceof OvsdbError)) throw e;
          readError = e;
          break;
        }
        if (!record) break;
        nRead++;
        if (nRead === 2) log.markBase();
        let changes: Changes;
        try {
          changes = recordToChanges(schema, record, (t, u) => db.getRow(t, u), {
            converting: opts.schema !== undefined,
            newUuid: db.newUuid,
          });
        } catch (e) {
          if (opts.strict || !(e instanceof OvsdbError)) throw e;
          // A record that does not apply: drop it and what follows, as a bad tail.
          log.unread();
          nRead--;
          // OVS names the record, not the file, in this message.
          readError = e;
          break;
        }
        // The commit checks, as OVS replays a record. A record that fails them (a reference
        // to a missing row, say) is where ovsdb-tool silently stops reading; ovsdb-server
        // logs it and goes on with the next record, the file left as it is.
        try {
          db.replay(replayChanges(db, changes));
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          if (opts.strict) {
            log.unread();
            nRead--;
            break;
          }
          opts.info?.(e.toString());
        }
      }
      if (readError) {
        opts.warn?.(readError.toString());
        if (!opts.readOnly) {
          // Cut the bad tail off now, so the file is clean even before the next commit.
          log.discardTail();
          log.commitSync();
        }
      } else if (!opts.readOnly && !opts.strict && (opts.attach ?? true)) {
        // A server's file: switch to appending now (the file ends at the last record read,
        // so nothing is cut) rather than on the first commit, which then takes the same
        // path as every later one.
        try {
          log.discardTail();
        } catch {
          // The log remembers the error; the first commit tries again and reports it.
        }
      }
      return new Storage(path, log, db, readError, nRead, opts);
    } catch (e) {
      log.close();
      throw e;
    }
  }

  get schema(): DatabaseSchema {
    return this.db.schema;
  }

  /** Bytes of the file up to the end of the last good record. */
  get size(): number {
    return this.log.offset;
  }

  private onCommit(changes: Changes, txnId: string, opts: CommitOptions): void {
    try {
      const wrote = this.writeChanges(changes, opts);
      if (wrote && opts.durable) {
        const p = this.log.commit();
        this.pendingSync.set(txnId, p);
        p.then(
          () => this.pendingSync.delete(txnId),
          (e: unknown) => {
            this.pendingSync.delete(txnId);
            this.remember(txnId, e as OvsdbError);
          },
        );
      }
    } catch (e) {
      this.remember(txnId, e instanceof OvsdbError ? e : new OvsdbError('I/O error', String(e)));
      return;
    }
    if (this.autoCompact) this.maybeCompact();
  }

  private remember(txnId: string, e: OvsdbError): void {
    this.failed.set(txnId, e);
    if (this.failed.size > 1000) this.failed.delete(this.failed.keys().next().value as string);
  }

  /** Appends the record for `changes`; returns whether there was anything to write. */
  private writeChanges(changes: Changes, opts: CommitOptions): boolean {
    if (this.closed) throw new OvsdbError('I/O error', `${this.path}: storage is closed`);
    const text = changesToRecordText(
      this.db.schema,
      changes,
      opts.comment ? { date: this.now(), comment: opts.comment } : { date: this.now() },
    );
    if (text === null) return false;
    this.log.writeText(text);
    this.nWritten++;
    return true;
  }

  /**
   * Resolves once the commit `txnId` of the attached database is on disk (after its fsync
   * when durable); rejects with the OvsdbError its write got. The server sends a
   * transaction's reply only after this.
   */
  whenWritten(txnId: string, _durable = true): Promise<void> {
    const err = this.failed.get(txnId);
    if (err) {
      this.failed.delete(txnId);
      return Promise.reject(err);
    }
    return this.pendingSync.get(txnId) ?? Promise.resolve();
  }

  /** Whether whenWritten(txnId) would resolve at once (written, no fsync pending, no error). */
  isWritten(txnId: string): boolean {
    return !this.pendingSync.has(txnId) && !this.failed.has(txnId);
  }

  /**
   * Writes `changes` (already applied to memory by the caller) as one record; durable ones
   * are fsynced before this returns. For a Storage opened with `attach: false`.
   */
  commitSync(changes: Changes, opts: CommitOptions = {}): void {
    if (this.writeChanges(changes, opts) && opts.durable) this.log.commitSync();
    if (this.autoCompact) this.maybeCompact();
  }

  /** commitSync, but a durable fsync does not block the event loop. */
  async commit(changes: Changes, opts: CommitOptions = {}): Promise<void> {
    const wrote = this.writeChanges(changes, opts);
    if (wrote && opts.durable) await this.log.commit();
    if (this.autoCompact) this.maybeCompact();
  }

  private scheduleNextSnapshot(quick: boolean): void {
    let base = TEN_MINUTES;
    let range = TEN_MINUTES;
    if (quick) {
      base /= 10;
      range /= 10;
    }
    const now = this.now();
    this.nextSnapshotMin = now + base + Math.floor(this.random() * range);
    if (!quick) {
      this.nextSnapshotMax = now + ONE_DAY;
      if (this.autoCompact && !this.closed) {
        if (this.dailyTimer) clearTimeout(this.dailyTimer);
        this.dailyTimer = setTimeout(() => this.maybeCompact(), ONE_DAY + 1000);
        this.dailyTimer.unref();
      }
    }
  }

  /** OVS 3.1's ovsdb_storage_should_snapshot() for standalone storage. */
  shouldCompact(): boolean {
    const now = this.now();
    if (now < this.nextSnapshotMin) return false;
    const logLength = this.nRead + this.nWritten;
    if (now < this.nextSnapshotMax) return logLength >= 100 && this.log.grewLots();
    return logLength > 0;
  }

  private maybeCompact(): void {
    if (this.closed || !this.shouldCompact()) return;
    try {
      this.compactSync();
    } catch (e) {
      this.warn(`${this.path}: compaction failed: ${String(e)}`);
    }
  }

  /**
   * Rewrites the file as the schema plus one record with every row (atomically: temporary
   * file, fsync, rename, directory fsync). `comment` defaults to ovsdb-server's.
   */
  compactSync(comment: string = ONLINE_COMPACTION_COMMENT): void {
    if (this.closed) throw new OvsdbError('I/O error', `${this.path}: storage is closed`);
    const schema = this.db.schema;
    const data = snapshotRecord(
      schema,
      (t) => this.db.rows(t),
      { date: this.now(), comment },
      true,
    );
    try {
      this.log.replace([schemaRecord(schema), data]);
      this.scheduleNextSnapshot(false);
    } catch (e) {
      this.scheduleNextSnapshot(true);
      throw e;
    }
  }

  /** compactSync for callers that want a promise (ovsdb-server/compact). */
  async compact(comment?: string): Promise<void> {
    this.compactSync(comment);
  }

  /** Stops following the database, waits for pending fsyncs, releases the file and lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.pendingSync.values()]);
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach?.();
    this.detach = null;
    if (this.dailyTimer) clearTimeout(this.dailyTimer);
    this.log.close();
  }
}

/** The first record of a database file: the schema, members in the order OVS writes them. */
export function schemaRecord(schema: DatabaseSchema): JsonObject {
  return schemaJsonInOvsOrder(schemaToJson(schema));
}

/** `openStorage(path)`: Storage.open with the server's defaults (attached, lenient). */
export function openStorage(path: string, opts: OpenStorageOptions = {}): Storage {
  return Storage.open(path, opts);
}

/**
 * Creates a new database file holding only `schema` (ovsdb-tool create); fails if the file
 * exists. The schema record is the schema's JSON as OVS writes it.
 */
export function createDatabaseFile(
  path: string,
  schema: DatabaseSchema,
  warn?: (message: string) => void,
): void {
  const log = OvsdbLog.open(path, 'create-excl', warn ? { warn } : {});
  try {
    log.write(schemaRecord(schema));
    log.commitSync();
  } finally {
    log.close();
  }
}

/**
 * Writes a whole database as a new standalone file: the schema and one record with every row
 * (ovsdb-tool compact/convert to a target, and their temporary file). The file is created
 * or truncated, not locked (the caller holds the locks).
 */
export function writeStandaloneDb(
  path: string,
  db: Database,
  comment: string,
  date: number = Date.now(),
): void {
  const log = OvsdbLog.open(path, 'create', { locking: false });
  try {
    log.discardTail();
    log.write(schemaRecord(db.schema));
    log.write(snapshotRecord(db.schema, (t) => db.rows(t), { date, comment }, false));
    log.commitSync();
  } catch (e) {
    log.close();
    rmSync(path, { force: true });
    throw e;
  }
  log.close();
}
