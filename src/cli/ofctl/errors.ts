/*
 * How ovs-ofctl fails: ovs_fatal() prints "ovs-ofctl: MESSAGE" on stderr and exits 1. Commands
 * throw OfctlFatal and the entry point prints it, so that no path exits while output is still
 * buffered.
 */

export class OfctlFatal extends Error {
  override readonly name = 'OfctlFatal';
  /** Exit status (1 for ovs_fatal). */
  readonly status: number;
  /** Printed as is (no "ovs-ofctl: " prefix) when set. */
  readonly raw: boolean;
  constructor(message: string, status = 1, raw = false) {
    super(message);
    this.status = status;
    this.raw = raw;
  }
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
  EPROTO: 'Protocol error',
  EINVAL: 'Invalid argument',
  ENOTCONN: 'Transport endpoint is not connected',
  ENOTSOCK: 'Socket operation on non-socket',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENAMETOOLONG: 'File name too long',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EIO: 'Input/output error',
  EOF: 'End of file',
};

/** The C library's text for an errno code (OVS's ovs_strerror, plus "End of file" for EOF). */
export function strerror(code: string | undefined): string {
  return (code && STRERROR[code]) ?? code ?? 'Unknown error';
}
