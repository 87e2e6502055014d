/**
 * Pidfiles as OVS keeps them (lib/daemon-unix.c): the file holds "<pid>\n" and the daemon holds
 * an fcntl write lock on it for its whole life. Readers (ovs-appctl -t NAME, a second daemon
 * start) trust the pid only while the lock is held by that pid.
 *
 * Node has no fcntl API, so the lock is one pluggable object: `setPidfileLocker()` installs the
 * native addon's implementation when it exists. Until then `lock` does nothing and `owner`
 * answers null, and we fall back to checking that the pid is alive with kill(pid, 0). That is
 * enough for our own tools; real ovs-appctl -t NAME needs the real lock (OVS-NOTES.md) and
 * says "cannot read pidfile" without it, while -t /path/to/NAME.PID.ctl works.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { constants } from 'node:os';

export interface PidfileLocker {
  /** Takes an fcntl F_SETLK write lock on the whole file; false if that is not possible. */
  lock(fd: number): boolean;
  /** F_GETLK: the pid holding a write lock on the file, 0 if none, null if unknown (no support). */
  owner(fd: number): number | null;
}

const noLocker: PidfileLocker = {
  lock: () => false,
  owner: () => null,
};
let locker: PidfileLocker = noLocker;

export function setPidfileLocker(l: PidfileLocker): void {
  locker = l;
}

/** The installed locker: other lock files (the database's `.conf.db.~lock~`) use it too. */
export function pidfileLocker(): PidfileLocker {
  return locker;
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EACCES: 'Permission denied',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
  EPROTO: 'Protocol error',
  EINVAL: 'Invalid argument',
  ENOTCONN: 'Transport endpoint is not connected',
  ENOTSOCK: 'Socket operation on non-socket',
  EADDRINUSE: 'Address already in use',
  ENAMETOOLONG: 'File name too long',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
};
/** The C library's text for an errno code, as OVS's ovs_strerror prints it. */
export function strerror(code: string | undefined): string {
  if (code === 'EOF') return 'End of file';
  return (code && STRERROR[code]) ?? code ?? 'Unknown error';
}

/** An error with an errno code and the C library's text as message. */
export class ErrnoError extends Error {
  override readonly name = 'ErrnoError';
  readonly code: string;
  readonly errno: number;
  constructor(code: string, message = strerror(code)) {
    super(message);
    this.code = code;
    this.errno = (constants.errno as Record<string, number>)[code] ?? 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Returns the pid of the live process that owns the pidfile. Throws ErrnoError ENOENT (no
 * file), ESRCH (stale: nobody holds it) or the read error.
 */
export function readPidfile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ErrnoError((err as NodeJS.ErrnoException).code ?? 'EIO');
  }
  try {
    const owner = locker.owner(fd);
    if (owner === 0) throw new ErrnoError('ESRCH');
    const pid = Number.parseInt(readFileSync(fd, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new ErrnoError('ESRCH');
    if (owner !== null ? owner !== pid : !isAlive(pid)) throw new ErrnoError('ESRCH');
    return pid;
  } finally {
    closeSync(fd);
  }
}

let ours: { path: string; fd: number } | null = null;

/**
 * Writes this process's pidfile (via a temporary file renamed into place, so readers never see
 * it half-written) and locks it. Unless `overwrite`, refuses when the existing one names a live
 * process: throws Error("PATH: already running as pid N, aborting"), OVS's text.
 */
export function createPidfile(path: string, options: { overwrite?: boolean } = {}): void {
  if (!options.overwrite) {
    try {
      const pid = readPidfile(path);
      if (pid !== process.pid) throw new Error(`${path}: already running as pid ${pid}, aborting`);
    } catch (err) {
      if (!(err instanceof ErrnoError)) throw err;
      if (err.code !== 'ENOENT' && err.code !== 'ESRCH') {
        throw new Error(`${path}: pidfile check failed (${err.message}), aborting`);
      }
    }
  }
  const tmp = `${path}.tmp`;
  try {
    unlinkSync(tmp);
  } catch {
    // No leftover.
  }
  const fd = openSync(tmp, 'wx', 0o644);
  writeSync(fd, `${process.pid}\n`);
  locker.lock(fd);
  renameSync(tmp, path);
  // The fd stays open: closing it would drop the fcntl lock.
  ours = { path, fd };
  process.once('exit', removePidfile);
}

/** Removes our pidfile if it is still ours (called at exit). */
export function removePidfile(): void {
  if (!ours) return;
  try {
    if (Number.parseInt(readFileSync(ours.path, 'utf8'), 10) === process.pid) unlinkSync(ours.path);
  } catch {
    // Already gone.
  }
  try {
    closeSync(ours.fd);
  } catch {
    // Already closed.
  }
  ours = null;
}
