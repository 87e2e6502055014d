/**
 * The lock that keeps two servers from writing one database file: `.<name>.~lock~` beside
 * the file, as OVS's lib/lockfile.c names it.
 *
 * OVS holds an fcntl() write lock on that file. Node.js has no fcntl locking, so we:
 *  - write our PID into the lock file and treat the lock as held while that PID is alive
 *    (and, on Linux, still a node or ovsdb process: a reused PID does not count);
 *  - when the native addon is loaded (daemons install it), also take the real fcntl lock, so
 *    real OVS tools see ours;
 *  - also honour real OVS's fcntl locks, which Linux lists in /proc/locks by inode, so our
 *    tools refuse a file a real ovsdb-server has open (real OVS cannot see our locks:
 *    it only looks at fcntl locks).
 * The small race between two of our processes checking and writing at the same moment is
 * closed by re-reading the file after writing it.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { pidfileLocker } from '../lib/pidfile.ts';
import { OvsdbIoError } from './io-error.ts';

/** What the lock module reports instead of OVS's vlog warnings. */
export type LockWarning = (message: string) => void;

/** OVS's lockfile_name(): symlinks followed, then `dir/.base.~lock~`. */
export function lockfileName(file: string): string {
  const target = followSymlinks(file);
  const dir = dirname(target);
  const base = `.${basename(target)}.~lock~`;
  return target.includes('/') ? join(dir, base) : base;
}

/**
 * Like OVS's follow_symlinks(): the file a (chain of) symlink(s) points to, or the name itself
 * (unchanged, relative names stay relative) when it is not a symlink or cannot be read.
 */
export function followSymlinks(file: string): string {
  let name = file;
  for (let i = 0; i < 10; i++) {
    let target: string;
    try {
      if (!lstatSync(name).isSymbolicLink()) return name;
      target = readlinkSync(name);
    } catch {
      return name;
    }
    name = isAbsolute(target) || !name.includes('/') ? target : join(dirname(name), target);
  }
  return name;
}

/** Lock files this process holds, by their absolute name. */
const held = new Map<string, Lockfile>();

/**
 * Whether `pid` is alive and plausibly the process that wrote it: after a crash the PID may
 * have been reused by an unrelated program, so on Linux a live process counts only if its
 * command line mentions node or ovsdb.
 */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return true;
  }
  return /node|ovsdb|typeswitch/i.test(cmdline);
}

/** Linux's major/minor split of a dev_t, as /proc/locks prints them (hex, two digits). */
function devToProcLocks(dev: number): string {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  const hex2 = (n: number) => n.toString(16).padStart(2, '0');
  return `${hex2(major)}:${hex2(minor)}`;
}

/** The PID holding an fcntl/OFD lock on the inode, from /proc/locks, or 0. */
function fcntlLockHolder(dev: number, ino: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return 0;
  }
  const id = `${devToProcLocks(dev)}:${ino}`;
  for (const line of text.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1234 fe:00:2147156 0 EOF"
    const f = line.trim().split(/\s+/);
    if (f.length >= 6 && f[5] === id && (f[1] === 'POSIX' || f[1] === 'OFDLCK')) {
      const pid = Number(f[4]);
      if (pid > 0 && pid !== process.pid) return pid;
    }
  }
  return 0;
}

function readPid(fd: number): number {
  const buf = Buffer.alloc(32);
  let n = 0;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } catch {
    return 0;
  }
  const pid = Number.parseInt(buf.subarray(0, n).toString('latin1').trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

export class Lockfile {
  private fd: number | null;

  private constructor(
    readonly name: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Takes the lock for `file` (the database file, not the lock file's name). Throws
   * OvsdbIoError "<file>: failed to lock lockfile (<strerror>)" as OVS does; `warn` gets the
   * lines OVS logs at WARN level.
   */
  static lock(file: string, warn?: LockWarning): Lockfile {
    const name = lockfileName(file);
    const fail = (code: string, warning: string): never => {
      warn?.(warning);
      throw new OvsdbIoError(`${file}: failed to lock lockfile`, code);
    };
    if (held.has(resolve(name))) {
      fail('EDEADLK', `${name}: cannot lock file because this process has already locked it`);
    }
    let fd: number;
    try {
      fd = openSync(name, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      warn?.(`${name}: failed to open lock file: ${new OvsdbIoError('', code).ioError}`);
      return fail(code, `${name}: failed to lock file: ${new OvsdbIoError('', code).ioError}`);
    }
    try {
      const st = fstatSync(fd);
      let other = fcntlLockHolder(st.dev, st.ino);
      if (!other) {
        const pid = readPid(fd);
        if (pid && pid !== process.pid && pidAlive(pid)) other = pid;
      }
      if (other) {
        fail('EAGAIN', `${name}: cannot lock file because it is already locked by pid ${other}`);
      }
      if (pidfileLocker().owner(fd) !== null && !pidfileLocker().lock(fd)) {
        const by = pidfileLocker().owner(fd) || 'another process';
        fail('EAGAIN', `${name}: cannot lock file because it is already locked by pid ${by}`);
      }
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
      const now = readPid(fd);
      if (now !== process.pid) {
        fail('EAGAIN', `${name}: cannot lock file because it is already locked by pid ${now}`);
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    const lock = new Lockfile(name, fd);
    held.set(resolve(name), lock);
    return lock;
  }

  /** Releases the lock; the (now empty) lock file stays, as OVS leaves it. */
  unlock(): void {
    if (this.fd === null) return;
    try {
      if (readPid(this.fd) === process.pid) ftruncateSync(this.fd, 0);
    } catch {
      // Nothing useful to do: the PID in it dies with us anyway.
    }
    closeSync(this.fd);
    this.fd = null;
    held.delete(resolve(this.name));
  }
}
