/**
 * OVS's database file framing (ovsdb/log.c, described in ovsdb(5)): a file is a sequence of
 * records, each
 *
 *     OVSDB <magic> <length> <sha1>\n
 *     <length bytes of data>
 *
 * where the data is one JSON object (or array) serialised compactly and followed by "\n",
 * <length> counts the data bytes including that "\n", and <sha1> is the lower-case hex SHA-1
 * of exactly those bytes. The magic is "JSON" for a standalone database and "CLUSTER" for a
 * clustered one.
 *
 * A log is read record by record from the start; the first bad record (a torn write at a
 * crash, or corruption) stops reading with an error that names its offset, and everything
 * before it stays usable. The first write after that truncates the file at the end of the
 * last good record, so appends continue from there (OVS does the same: it keeps the file).
 */
import * as crypto from 'node:crypto';
import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Json, JsonObject } from '../lib/json.ts';
import { isJsonObject } from '../lib/json.ts';
import { jsonToOvsString, OvsdbError } from './error.ts';
import { OvsdbIoError } from './io-error.ts';
import { followSymlinks, Lockfile, type LockWarning } from './lockfile.ts';
import { ovsJsonError } from './ovs-json-error.ts';

/** The magic of a standalone database file ("OVSDB JSON ..."). */
export const OVSDB_MAGIC = 'JSON';
/** The magic of a clustered (Raft) database file ("OVSDB CLUSTER ..."). */
export const RAFT_MAGIC = 'CLUSTER';

/** OVS reads a header line with fgets() into 128 bytes: at most 127 characters. */
const MAX_HEADER = 127;

export type LogOpenMode = 'read-only' | 'read-write' | 'create-excl' | 'create';

export interface LogOpenOptions {
  /** The magic(s) accepted; for the create modes exactly one. Default: OVSDB_MAGIC. */
  readonly magic?: string | readonly string[];
  /** Lock the file: default (undefined) locks unless the mode is read-only. */
  readonly locking?: boolean;
  /** Receives what OVS would log at WARN level (lock contention). */
  readonly warn?: LockWarning;
}

type LogState = 'read' | 'read-error' | 'write' | 'write-error' | 'broken';

/** Raised for a file whose first record is "OVSDB CLUSTER": we only do standalone storage. */
export class ClusteredDatabaseError extends OvsdbError {
  constructor(readonly file: string) {
    super('not supported', `${file}: clustered databases are not supported`);
  }
}

/** The header line of one record, as OVS's parse_header() accepts it. */
export interface RecordHeader {
  readonly magic: string;
  readonly length: number;
  readonly sha1: string;
}

/**
 * Parses a header line (with its "\n"). Returns null when it is not one: "OVSDB ", a magic,
 * a space, a nonzero decimal length, a space, 40 hex digits, "\n".
 */
export function parseRecordHeader(line: string): RecordHeader | null {
  const m = /^OVSDB ([^ ]*) [ \t]*\+?([0-9]+) ([0-9a-fA-F]{40})\n$/.exec(line);
  if (!m) return null;
  const length = Number(m[2]);
  if (!Number.isSafeInteger(length) || length === 0) return null;
  return { magic: m[1] as string, length, sha1: (m[3] as string).toLowerCase() };
}

/** The bytes of one record for `json`: header line plus compact JSON plus "\n". */
export function composeRecord(json: Json, magic: string = OVSDB_MAGIC): Buffer {
  return composeRecordText(jsonToOvsString(json), magic);
}

/** One-shot hashing where Node has it (20.12+): no Hash object per record. */
const oneShotHash = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
function sha1Hex(text: string): string {
  return oneShotHash
    ? oneShotHash('sha1', text, 'hex')
    : crypto.createHash('sha1').update(text, 'utf8').digest('hex');
}

/** composeRecord for JSON already serialised as OVS writes it. */
export function composeRecordText(jsonText: string, magic: string = OVSDB_MAGIC): Buffer {
  const data = `${jsonText}\n`;
  // The header is ASCII (the magic is), so the record is one UTF-8 string.
  return Buffer.from(
    `OVSDB ${magic} ${Buffer.byteLength(data, 'utf8')} ${sha1Hex(data)}\n${data}`,
    'utf8',
  );
}

function fsyncParentDir(file: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dirname(followSymlinks(file)), constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; OVS ignores that too.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Reads the header line at `offset` the way fgets() would (up to "\n" or 127 bytes). */
function readHeaderLine(fd: number, offset: number): string | null {
  const buf = Buffer.alloc(MAX_HEADER);
  const n = readSync(fd, buf, 0, MAX_HEADER, offset);
  if (n === 0) return null;
  const nl = buf.subarray(0, n).indexOf(10);
  const end = nl >= 0 ? nl + 1 : n;
  // A NUL ends the string for strlen(); such a header cannot parse anyway.
  return buf.subarray(0, end).toString('latin1');
}

function readFully(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

export class OvsdbLog {
  /** The name as given (used in messages, like OVS's display_name). */
  readonly name: string;
  /** The absolute name, so a later chdir does not matter. */
  readonly absName: string;
  private _magic: string;
  private fd: number | null;
  private lock: Lockfile | null;
  private state: LogState = 'read';
  private error: OvsdbError | null = null;
  /** End of the last record read or written: where the next write goes. */
  private _offset = 0;
  private prevOffset = 0;
  /** Size right after open/compaction, for grewLots(). */
  private _base = 0;
  private fsyncRunning: Promise<void> | null = null;
  private fsyncQueued: Promise<void> | null = null;
  private readonly readOnly: boolean;

  private constructor(
    name: string,
    fd: number,
    magic: string,
    lock: Lockfile | null,
    readOnly: boolean,
  ) {
    this.name = name;
    this.absName = resolve(name);
    this.fd = fd;
    this._magic = magic;
    this.lock = lock;
    this.readOnly = readOnly;
  }

  /**
   * Opens (or creates) a log. Errors are OvsdbErrors worded as OVS words them:
   * "I/O error: NAME: open failed (No such file or directory)", "NAME: unexpected file
   * format", "NAME: cannot identify file type", and ClusteredDatabaseError when the file is
   * clustered but only the standalone magic is accepted.
   */
  static open(name: string, mode: LogOpenMode, opts: LogOpenOptions = {}): OvsdbLog {
    const magics =
      typeof opts.magic === 'string' ? [opts.magic] : [...(opts.magic ?? [OVSDB_MAGIC])];
    if ((mode === 'create' || mode === 'create-excl') && magics.length !== 1) {
      throw new Error('OvsdbLog.open: creating a log needs exactly one magic');
    }
    const locking = opts.locking ?? mode !== 'read-only';
    const lock = locking ? Lockfile.lock(name, opts.warn) : null;
    let fd: number | null = null;
    try {
      let flags: number;
      switch (mode) {
        case 'read-only':
          flags = constants.O_RDONLY;
          break;
        case 'read-write':
          flags = constants.O_RDWR;
          break;
        case 'create':
          flags = constants.O_RDWR | constants.O_CREAT;
          break;
        case 'create-excl':
          flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL;
          if (isDanglingSymlink(name)) flags = constants.O_RDWR | constants.O_CREAT;
          break;
      }
      try {
        fd = openSync(name, flags, 0o660);
      } catch (e) {
        const op =
          mode === 'create-excl' ? 'create' : mode === 'create' ? 'create or open' : 'open';
        throw new OvsdbIoError(`${name}: ${op} failed`, e);
      }
      let magic: string;
      const line = readHeaderLine(fd, 0);
      if (line === null) {
        if (magics.length > 1) {
          throw new OvsdbError('ovsdb error', `${name}: cannot identify file type`);
        }
        magic = magics[0] as string;
        // Probably a new file: make its directory entry durable.
        if (mode !== 'read-only') fsyncParentDir(name);
      } else {
        const header = parseRecordHeader(line);
        if (!header) throw new OvsdbError('ovsdb error', `${name}: unexpected file format`);
        if (!magics.includes(header.magic)) {
          if (header.magic === RAFT_MAGIC) throw new ClusteredDatabaseError(name);
          throw new OvsdbError('ovsdb error', `${name}: cannot identify file type`);
        }
        magic = header.magic;
      }
      return new OvsdbLog(name, fd, magic, lock, mode === 'read-only');
    } catch (e) {
      if (fd !== null) closeSync(fd);
      lock?.unlock();
      throw e;
    }
  }

  get magic(): string {
    return this._magic;
  }
  /** Where the next record will be written (end of the last good record). */
  get offset(): number {
    return this._offset;
  }
  get base(): number {
    return this._base;
  }
  /** The error that stopped reading, if any (sticky, as in OVS). */
  get readError(): OvsdbError | null {
    return this.state === 'read-error' ? this.error : null;
  }

  private requireFd(): number {
    if (this.fd === null) throw new OvsdbError('ovsdb error', `${this.name}: log is closed`);
    return this.fd;
  }

  /**
   * Reads the next record. Returns null at end of file. A bad record throws (an OvsdbError
   * naming the offset) and keeps throwing the same error; the records before it stand.
   */
  read(): JsonObject | null {
    switch (this.state) {
      case 'read':
        break;
      case 'write':
        return null;
      default:
        throw this.error as OvsdbError;
    }
    const fd = this.requireFd();
    try {
      const line = readHeaderLine(fd, this._offset);
      if (line === null) return null;
      const dataOffset = this._offset + line.length;
      const header = parseRecordHeader(line);
      if (!header || header.magic !== this._magic) {
        // OVS's parser cuts the line after the magic (when a space follows it) before it
        // gives up, so that is all its message shows.
        const cut = /^OVSDB ([^ ]*) /.exec(line);
        const shown = cut ? `OVSDB ${cut[1]}` : (line.split('\n')[0] as string);
        throw new OvsdbError(
          'syntax error',
          `${this.name}: parse error at offset ${this._offset} in header line "${shown}"`,
        );
      }
      const data = readFully(fd, header.length, dataOffset);
      if (data.length < header.length) {
        throw new OvsdbIoError(
          `${this.name}: error reading ${header.length} bytes starting at offset ${dataOffset}`,
          'EOF',
        );
      }
      const actual = crypto.createHash('sha1').update(data).digest('hex');
      if (actual !== header.sha1) {
        throw new OvsdbError(
          'syntax error',
          `${this.name}: ${header.length} bytes starting at offset ${dataOffset} have SHA-1 hash ${actual} but should have hash ${header.sha1}`,
        );
      }
      let json: Json;
      try {
        json = JSON.parse(data.toString('utf8')) as Json;
      } catch (e) {
        json = null;
        const why = ovsJsonError(data) ?? (e as Error).message;
        throw new OvsdbError(
          'syntax error',
          `${this.name}: ${header.length} bytes starting at offset ${dataOffset} are not valid JSON (${why})`,
        );
      }
      if (!isJsonObject(json)) {
        throw new OvsdbError(
          'syntax error',
          `${this.name}: ${header.length} bytes starting at offset ${dataOffset} are not a JSON object`,
        );
      }
      this.prevOffset = this._offset;
      this._offset = dataOffset + header.length;
      return json;
    } catch (e) {
      const err = e instanceof OvsdbError ? e : new OvsdbIoError(`${this.name}: read failed`, e);
      this.state = 'read-error';
      this.error = err;
      throw err;
    }
  }

  /** Forgets the record just read, so that the next write overwrites it (ovsdb_log_unread). */
  unread(): void {
    if (this.state !== 'read') throw new Error('OvsdbLog.unread: not reading');
    this._offset = this.prevOffset;
  }

  private truncateForWrite(): void {
    const fd = this.requireFd();
    this.state = 'write';
    try {
      ftruncateSync(fd, this._offset);
    } catch (e) {
      throw new OvsdbIoError(`${this.name}: cannot truncate to length ${this._offset}`, e);
    }
  }

  /**
   * Cuts off everything after the last record read (unread records or a bad tail) now, rather
   * than at the next write, and switches to writing.
   */
  discardTail(): void {
    if (this.state === 'write' || this.state === 'broken') return;
    try {
      this.truncateForWrite();
      this.error = null;
    } catch (e) {
      this.state = 'write-error';
      this.error = e as OvsdbError;
      throw e;
    }
  }

  /**
   * Appends one record. Unread records (or a bad tail) are truncated away first. Atomic in
   * the sense OVS means: a failed write is cut off again. Not durable until commit().
   */
  write(json: JsonObject | Json[]): void {
    this.writeText(jsonToOvsString(json));
  }

  /** write() for a record already serialised as OVS writes it (a JSON object or array). */
  writeText(jsonText: string): void {
    switch (this.state) {
      case 'write':
        break;
      case 'broken':
        throw this.error as OvsdbError;
      default:
        try {
          this.truncateForWrite();
          this.error = null;
        } catch (e) {
          this.state = 'write-error';
          this.error = e as OvsdbError;
          throw e;
        }
    }
    const fd = this.requireFd();
    const record = composeRecordText(jsonText, this._magic);
    try {
      let done = 0;
      while (done < record.length) {
        done += writeSync(fd, record, done, record.length - done, this._offset + done);
      }
    } catch (e) {
      try {
        ftruncateSync(fd, this._offset);
      } catch {
        // Nothing more we can do; the next write truncates again.
      }
      this.state = 'write-error';
      this.error = new OvsdbIoError(`${this.name}: write failed`, e);
      throw this.error;
    }
    this._offset += record.length;
  }

  /** Makes everything written so far durable, blocking (ovsdb_log_commit_block). */
  commitSync(): void {
    const fd = this.requireFd();
    try {
      fdatasyncSync(fd);
    } catch (e) {
      throw new OvsdbIoError(`${this.name}: fsync failed`, e);
    }
  }

  /**
   * Makes everything written before this call durable, without blocking the event loop.
   * Concurrent callers share fsyncs: one running, at most one queued behind it.
   */
  commit(): Promise<void> {
    if (!this.fsyncRunning) return this.startFsync();
    if (!this.fsyncQueued) {
      this.fsyncQueued = this.fsyncRunning
        .catch(() => undefined)
        .then(() => {
          this.fsyncQueued = null;
          return this.startFsync();
        });
    }
    return this.fsyncQueued;
  }

  private startFsync(): Promise<void> {
    let fd: number;
    try {
      fd = this.requireFd();
    } catch (e) {
      return Promise.reject(e);
    }
    const p = new Promise<void>((resolveP, rejectP) => {
      fdatasync(fd, (err) => {
        if (err) rejectP(new OvsdbIoError(`${this.name}: fsync failed`, err));
        else resolveP();
      });
    });
    const tracked = p.finally(() => {
      if (this.fsyncRunning === tracked) this.fsyncRunning = null;
    });
    this.fsyncRunning = tracked;
    // Callers get `p`; `tracked` only keeps the bookkeeping (and must not be unhandled).
    tracked.catch(() => undefined);
    return p;
  }

  /** Takes the current size as the base that grewLots() compares with. */
  markBase(): void {
    this._base = this._offset;
  }

  /** OVS 3.1's ovsdb_log_grew_lots(): over 10 MB and more than twice the base. */
  grewLots(): boolean {
    return this._offset > 10 * 1024 * 1024 && Math.floor(this._offset / 2) > this._base;
  }

  /**
   * Atomically replaces the whole file by `entries` (compaction): they are written to
   * "<file>.tmp", made durable, renamed over the file (its symlink target, if it is one),
   * and the directory is synced. Afterwards the log appends to the new file.
   */
  replace(entries: readonly (JsonObject | Json[])[]): void {
    if (this.readOnly) {
      throw new OvsdbError('ovsdb error', `${this.name}: cannot replace a read-only log`);
    }
    const target = followSymlinks(this.absName);
    const tmpName = `${target}.tmp`;
    try {
      unlinkSync(tmpName);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new OvsdbIoError(`failed to remove ${tmpName}`, e);
      }
    }
    const fresh = OvsdbLog.open(tmpName, 'create-excl', { magic: this._magic, locking: false });
    try {
      for (const e of entries) fresh.write(e);
      fresh.markBase();
      fresh.commitSync();
      try {
        renameSync(tmpName, target);
      } catch (e) {
        throw new OvsdbIoError(`failed to rename "${tmpName}" to "${target}"`, e);
      }
    } catch (e) {
      fresh.close();
      try {
        unlinkSync(tmpName);
      } catch {
        // Already gone.
      }
      throw e;
    }
    fsyncParentDir(target);
    const oldFd = this.fd;
    this.fd = fresh.fd;
    fresh.fd = null;
    this._offset = fresh._offset;
    this._base = fresh._base;
    this.state = 'write';
    this.error = null;
    // An fdatasync may still be running on the old descriptor: close it after that.
    if (oldFd !== null) {
      const pending = this.fsyncRunning;
      if (pending) pending.catch(() => undefined).finally(() => closeSync(oldFd));
      else closeSync(oldFd);
    }
    fresh.close();
  }

  /** The file's size on disk (may exceed offset() while a bad tail is not yet cut off). */
  size(): number {
    return fstatSync(this.requireFd()).size;
  }

  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      const pending = this.fsyncRunning;
      if (pending) pending.catch(() => undefined).finally(() => closeSync(fd));
      else closeSync(fd);
    }
    this.lock?.unlock();
    this.lock = null;
  }
}

function isDanglingSymlink(name: string): boolean {
  try {
    statSync(name);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    try {
      return lstatSync(name).isSymbolicLink();
    } catch {
      return false;
    }
  }
}
