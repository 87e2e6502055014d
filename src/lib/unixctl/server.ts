/**
 * The unixctl server, after OVS's lib/unixctl.c: a JSON-RPC listener on a unix socket
 * (`$OVS_RUNDIR/<program>.<pid>.ctl` by default) where each request's method is a command name
 * and its params are string arguments. Replies carry a string result or a string error, each
 * ending in a newline unless empty, exactly as OVS's unixctl_command_reply does, so real
 * `ovs-appctl` works against us unchanged.
 *
 * Besides OVS 3.1's protocol, the server accepts the `set-options ["--format","json"]` request of
 * later OVS releases, after which commands that have structured output reply with JSON.
 */
import { isAbsolute, join } from 'node:path';
import { coverage } from '../coverage.ts';
import type { Json } from '../json.ts';
import type { JsonRpcRequest, JsonRpcSession, PassiveStream } from '../jsonrpc/index.ts';
import { listen } from '../jsonrpc/open.ts';
import { rundir } from '../paths.ts';
import { vlog } from '../vlog.ts';
import { versionString } from './version.ts';

const log = vlog('unixctl');
const covReceived = coverage('unixctl_received');
const covReplied = coverage('unixctl_replied');

/** Throw from a command handler to reply with an error string. */
export class UnixctlError extends Error {
  override readonly name = 'UnixctlError';
}

export interface UnixctlConn {
  /** Output format requested with set-options (OVS ≥ 3.4 clients); 'text' otherwise. */
  readonly format: 'text' | 'json';
  readonly session: JsonRpcSession;
}

/**
 * A command handler. `args` excludes the command name. Return the reply text (or, for a
 * connection in json format, any JSON value); null/undefined replies with "". Throw
 * UnixctlError (or return a rejected promise) to reply with an error.
 */
export type UnixctlHandler = (
  args: string[],
  conn: UnixctlConn,
) => string | Json | undefined | Promise<string | Json | undefined>;

export interface UnixctlCommand {
  /** Shown by list-commands; null hides the command (as OVS does for a NULL usage). */
  usage: string | null;
  minArgs: number;
  maxArgs: number;
  handler: UnixctlHandler;
}

/** A table of commands. `unixctlCommands` is the process-wide one daemons register into. */
export class UnixctlCommands {
  readonly commands = new Map<string, UnixctlCommand>();

  register(
    name: string,
    usage: string | null,
    minArgs: number,
    maxArgs: number,
    handler: UnixctlHandler,
  ): void {
    this.commands.set(name, { usage, minArgs, maxArgs, handler });
  }

  /** list-commands' text: sorted, `  %-23s %s`. */
  listCommands(): string {
    let s = 'The available commands are:\n';
    const names = [...this.commands.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const c = this.commands.get(name)!;
      if (c.usage !== null) s += `  ${name.padEnd(23)} ${c.usage}\n`;
    }
    return s;
  }
}

export const unixctlCommands = new UnixctlCommands();

/** Shorthand for registering into the process-wide table (OVS's unixctl_command_register). */
export function unixctlCommandRegister(
  name: string,
  usage: string | null,
  minArgs: number,
  maxArgs: number,
  handler: UnixctlHandler,
): void {
  unixctlCommands.register(name, usage, minArgs, maxArgs, handler);
}

/** The default control socket path: `$OVS_RUNDIR/<program>.<pid>.ctl`. */
export function defaultUnixctlPath(program: string, pid = process.pid): string {
  return join(rundir(), `${program}.${pid}.ctl`);
}

/** OVS's rule for --unixctl=PATH: a name without a slash lives in the run directory. */
export function resolveUnixctlPath(path: string): string {
  return isAbsolute(path) || path.includes('/') ? path : join(rundir(), path);
}

export interface UnixctlServerOptions {
  program: string;
  /** Socket path (--unixctl=PATH); default `$OVS_RUNDIR/<program>.<pid>.ctl`. */
  path?: string;
  commands?: UnixctlCommands;
  /** Registers `list-commands` and `version` (default true). */
  builtins?: boolean;
}

export class UnixctlServer {
  readonly path: string;
  readonly commands: UnixctlCommands;
  private readonly sessions = new Set<JsonRpcSession>();
  private passive: PassiveStream | null = null;
  private readonly program: string;

  private constructor(path: string, program: string, commands: UnixctlCommands) {
    this.path = path;
    this.program = program;
    this.commands = commands;
  }

  static async create(options: UnixctlServerOptions): Promise<UnixctlServer> {
    const path = options.path
      ? resolveUnixctlPath(options.path)
      : defaultUnixctlPath(options.program);
    const server = new UnixctlServer(path, options.program, options.commands ?? unixctlCommands);
    if (options.builtins !== false) {
      server.commands.register('list-commands', '', 0, 0, () => server.commands.listCommands());
      server.commands.register('version', '', 0, 0, () => versionString(server.program));
    }
    try {
      server.passive = await listen(`punix:${path}`, (s) => server.accept(s), {
        session: { probeIntervalMs: 0 },
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`${path}: could not initialize control socket (${e.message})`);
    }
    return server;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    await this.passive?.close();
    this.passive = null;
  }

  private accept(session: JsonRpcSession): void {
    this.sessions.add(session);
    session.onClose(() => this.sessions.delete(session));
    let format: 'text' | 'json' = 'text';
    const conn: UnixctlConn = {
      get format() {
        return format;
      },
      session,
    };
    session.onRequest = (req: JsonRpcRequest) => {
      if (req.method === 'set-options') {
        const err = parseSetOptions(req.params, (f) => {
          format = f;
        });
        if (err) session.replyError(req.id, withNewline(err));
        else session.reply(req.id, '');
        return;
      }
      void this.process(req, conn);
    };
  }

  private async process(req: JsonRpcRequest, conn: UnixctlConn): Promise<void> {
    const { session } = conn;
    covReceived.inc();
    covReplied.inc();
    if (log.dbgEnabled) {
      log.dbg(
        `received request ${req.method}${JSON.stringify(req.params)}, id=${JSON.stringify(req.id)}`,
      );
    }
    const command = this.commands.commands.get(req.method);
    let error: string | null = null;
    if (!command) {
      error = `"${req.method}" is not a valid command (use "list-commands" to see a list of valid commands)`;
    } else if (req.params.length < command.minArgs) {
      error = `"${req.method}" command requires at least ${command.minArgs} arguments`;
    } else if (req.params.length > command.maxArgs) {
      error = `"${req.method}" command takes at most ${command.maxArgs} arguments`;
    } else if (req.params.some((p) => typeof p !== 'string')) {
      error = `"${req.method}" command has non-string argument`;
    }
    if (error !== null || !command) {
      session.replyError(req.id, withNewline(error ?? ''));
      return;
    }
    try {
      const result = await command.handler(req.params as string[], conn);
      if (conn.format === 'json' && typeof result !== 'string') {
        session.reply(req.id, result ?? ''); // a null result would read as no result at all
      } else {
        const text =
          typeof result === 'string' ? result : result == null ? '' : JSON.stringify(result);
        session.reply(req.id, withNewline(text));
      }
    } catch (err) {
      if (!(err instanceof UnixctlError)) {
        log.err(`${req.method}: command failed: ${(err as Error).stack ?? String(err)}`);
      }
      session.replyError(req.id, withNewline((err as Error).message));
    }
  }
}

function withNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : `${s}\n`;
}

function parseSetOptions(params: Json[], setFormat: (f: 'text' | 'json') => void): string | null {
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === '--format' || p === '-f') {
      const v = params[++i];
      if (v !== 'json' && v !== 'text') return `invalid output format: ${String(v)}`;
      setFormat(v);
    } else if (typeof p === 'string' && /^--format=/.test(p)) {
      const v = p.slice('--format='.length);
      if (v !== 'json' && v !== 'text') return `invalid output format: ${v}`;
      setFormat(v);
    } else {
      return `unknown option: ${String(p)}`;
    }
  }
  return null;
}
