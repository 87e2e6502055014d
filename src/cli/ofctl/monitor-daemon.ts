/*
 * The control side of `ovs-ofctl monitor` and `snoop`: OVS's ovs-ofctl runs its monitor loop
 * as a daemon (--detach, --pidfile, a control socket) and answers ofctl/send, ofctl/barrier,
 * ofctl/set-output-file, ofctl/block, ofctl/unblock and exit on it. OVS's own tests drive
 * switches that way: send a raw message, wait for the barrier, read what came back.
 *
 * Node cannot fork after connecting, so a --detach'ed monitor re-runs itself as a background
 * process at once (before connecting) and the foreground process waits until that one says
 * it is ready, or exits with its status.
 */

import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import {
  DAEMON_STAGE_ENV,
  type Daemon,
  detachKeepingOutput,
  startDaemon,
} from '../../lib/daemon.ts';
import { removePidfile } from '../../lib/pidfile.ts';
import { UnixctlError } from '../../lib/unixctl/server.ts';
import type { Ctx } from './ctx.ts';
import { ofpToString } from './print.ts';
import type { Received, Vconn } from './vconn.ts';

/**
 * In the foreground process of a --detach'ed monitor: runs the monitor in a background copy of
 * this process (same stdout and stderr, as OVS's daemon_save_fd keeps them) and exits 0 once it
 * is ready, or with its status if it fails first. Returns at once when there is nothing to do.
 */
export async function detachMonitor(argv: readonly string[]): Promise<void> {
  if (!argv.includes('--detach') || process.env[DAEMON_STAGE_ENV] !== undefined) return;
  await detachKeepingOutput('ovs-ofctl');
}

/** OVS's openflow_from_hex(): hex digit pairs (blanks between them allowed), one message. */
export function openflowFromHex(hex: string): Uint8Array | string {
  const out: number[] = [];
  let i = 0;
  for (;;) {
    while (i < hex.length && ' \t\r\n\v\f'.includes(hex[i])) i++;
    if (i >= hex.length) break;
    const pair = hex.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return 'Trailing garbage in hex data';
    out.push(Number.parseInt(pair, 16));
    i += 2;
  }
  if (out.length < 8) return 'Message too short for OpenFlow';
  if (out.length !== ((out[2] << 8) | out[3])) {
    return 'Message size does not match length in OpenFlow header';
  }
  return Uint8Array.from(out);
}

/** What the receive loop asks of the control side for each message. */
export interface MonitorControl {
  /** Resolves when reading may go on (ofctl/block holds it). */
  waitUnblocked(): Promise<void> | null;
  /** Called after each received message was printed. */
  received(r: Received): void;
}

/**
 * Starts the daemon side (pidfile, control socket, ready signal to a waiting foreground
 * process) and registers the monitor's commands. Output written to stderr from then on goes
 * wherever ofctl/set-output-file last pointed it.
 */
export async function startMonitorControl(
  ctx: Ctx,
  vc: Vconn,
  argv: readonly string[],
): Promise<MonitorControl> {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ program: 'ovs-ofctl', argv: [...argv] });
  } catch (e) {
    ctx.err(`ovs-ofctl: failed to create unixctl server (${(e as Error).message})\n`);
    process.exit(1);
  }
  // ovs-ofctl dies of a terminating signal (its fatal_signal line already logged), as OVS's
  // does, instead of a daemon's orderly "SIGTERM received, exiting": it only cleans up.
  const socket = daemon.unixctl?.path ?? null;
  for (const s of signals) {
    for (const l of process.listeners(s)) {
      if (!before.get(s)?.includes(l)) process.removeListener(s, l);
    }
    process.once(s, () => {
      removePidfile();
      if (socket) {
        try {
          unlinkSync(socket);
        } catch {
          // Already gone.
        }
      }
      // Nothing else may keep the process alive past the signal OVS's would die of.
      process.removeAllListeners(s);
      process.kill(process.pid, s);
    });
  }
  let blocked: { promise: Promise<void>; release: () => void } | null = null;
  let barrierWaiter: (() => void) | null = null;
  const commands = daemon.unixctl?.commands;
  if (commands) {
    commands.register('exit', '', 0, 0, (_args, conn) => {
      // OVS reads what is already waiting on the connection before it leaves the loop.
      conn.session.onClose(() => {
        setTimeout(() => void daemon.exit(0), 20);
      });
      setTimeout(() => conn.session.close(), 0);
      return '';
    });
    commands.register('ofctl/send', 'OFMSG...', 1, Number.MAX_SAFE_INTEGER, (args) => {
      let reply = '';
      let ok = true;
      for (const hex of args) {
        const msg = openflowFromHex(hex);
        if (typeof msg === 'string') {
          reply += `${msg}\n`;
          ok = false;
          continue;
        }
        process.stderr.write(`send: ${ofpToString(msg, { verbosity: ctx.o.verbosity })}`);
        vc.send(msg);
        reply += 'sent\n';
      }
      if (!ok) throw new UnixctlError(reply);
      return reply;
    });
    commands.register('ofctl/packet-out', 'PACKET-OUT', 1, 1, async (args) => {
      const { parsePacketOutStr } = await import('./monitor.ts');
      const { parseOfpacts } = await import('../../ofproto/openflow/ofpact-parse.ts');
      let po: ReturnType<typeof parsePacketOutStr>;
      try {
        po = parsePacketOutStr(args[0], undefined, parseOfpacts);
      } catch (e) {
        throw new UnixctlError(`${(e as Error).message}\n`);
      }
      const rq = vc.request({ type: 'packet_out', bufferId: 0xffffffff, ...po });
      process.stderr.write(ofpToString(rq.bytes, { verbosity: ctx.o.verbosity }));
      vc.send(rq.bytes);
      return '';
    });
    commands.register('ofctl/barrier', '', 0, 0, () => {
      if (barrierWaiter) throw new UnixctlError('already waiting for barrier reply');
      const rq = vc.request({ type: 'barrier_request' });
      return new Promise<string>((resolve) => {
        barrierWaiter = () => resolve('');
        vc.send(rq.bytes);
      });
    });
    commands.register('ofctl/set-output-file', 'FILE', 1, 1, (args) => {
      let fd: number;
      try {
        fd = openSync(args[0], 'w', 0o666);
      } catch (e) {
        throw new UnixctlError(errnoText(e));
      }
      redirectStderr(fd);
      return '';
    });
    commands.register('ofctl/block', '', 0, 0, () => {
      if (blocked) return 'already blocking';
      let release = (): void => {};
      const promise = new Promise<void>((r) => {
        release = r;
      });
      blocked = { promise, release };
      return '';
    });
    commands.register('ofctl/unblock', '', 0, 0, () => {
      if (!blocked) return 'already unblocked';
      const b = blocked;
      blocked = null;
      b.release();
      return '';
    });
  }
  daemon.ready();
  return {
    waitUnblocked: () => blocked?.promise ?? null,
    received(r) {
      if (barrierWaiter && isBarrierReply(r)) {
        const w = barrierWaiter;
        barrierWaiter = null;
        w();
      }
    },
  };
}

function isBarrierReply(r: Received): boolean {
  return r.frame?.msg.type === 'barrier_reply';
}

let outputFd: number | null = null;

/* As OVS's dup2() onto stderr: every later write to stderr goes to the file, synchronously. */
function redirectStderr(fd: number): void {
  if (outputFd !== null) closeSync(outputFd);
  outputFd = fd;
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    try {
      if (outputFd !== null) {
        if (typeof chunk === 'string') writeSync(outputFd, chunk);
        else writeSync(outputFd, chunk as Uint8Array);
      }
    } catch {
      // A full disk or a removed file: OVS carries on too.
    }
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  process.stderr.write = write as typeof process.stderr.write;
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return (e as Error).message;
}
