/**
 * OVS's "I/O error": an OvsdbError that also carries the system error text, printed as
 * `I/O error: <details> (<strerror>)` and sent as `{"error":"I/O error","details":..,
 * "io-error":<strerror>}` (ovsdb_io_error in OVS).
 */
import { OvsdbError, type OvsdbErrorJson } from './error.ts';

/** glibc's strerror() texts for the errno values file I/O can produce, plus OVS's EOF. */
const STRERROR: Record<string, string> = {
  EOF: 'End of file',
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EAGAIN: 'Resource temporarily unavailable',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EDEADLK: 'Resource deadlock avoided',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EROFS: 'Read-only file system',
  EBADF: 'Bad file descriptor',
  EIO: 'Input/output error',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EXDEV: 'Invalid cross-device link',
  EBUSY: 'Device or resource busy',
  EFBIG: 'File too large',
};

/** The strerror() text for a Node.js system error (or an errno code name). */
export function strerror(err: unknown): string {
  const code =
    typeof err === 'string' ? err : ((err as NodeJS.ErrnoException | null)?.code ?? undefined);
  if (code && STRERROR[code]) return STRERROR[code] as string;
  if (err instanceof Error) {
    // Node's own message looks like "ENOENT: no such file or directory, open 'x'".
    const m = /^[A-Z0-9]+: ([^,]+)/.exec(err.message);
    if (m) return (m[1] as string).charAt(0).toUpperCase() + (m[1] as string).slice(1);
    return err.message;
  }
  return String(code ?? err);
}

export class OvsdbIoError extends OvsdbError {
  /** strerror() of the underlying failure, e.g. "No such file or directory". */
  readonly ioError: string;
  /** The errno code name (ENOENT, EAGAIN, EOF...). */
  readonly errno: string;

  constructor(details: string, cause: unknown) {
    const ioError = strerror(cause);
    super('I/O error', details, { message: `I/O error: ${details} (${ioError})` });
    this.ioError = ioError;
    this.errno =
      typeof cause === 'string' ? cause : ((cause as NodeJS.ErrnoException)?.code ?? 'EIO');
  }

  override toJson(): OvsdbErrorJson {
    const out = super.toJson();
    out['io-error'] = this.ioError;
    return out;
  }

  override toString(): string {
    return this.message;
  }
}
