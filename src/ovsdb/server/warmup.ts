/**
 * Start-up warm-up: before a server takes its first client, a throwaway server runs small
 * transactions and a monitor through the very code a client's requests take (socket reads,
 * JSON framing and parsing, request dispatch, transaction execution and commit, the storage
 * record written to a file, monitor updates, reply serialisation and the socket write). A
 * freshly started V8 runs all of that in its interpreter, several times slower than once
 * the hot functions are compiled; without this a new server answers its first few thousand
 * transactions at a fraction of its steady rate. Nothing of the warm-up is kept: its
 * databases, sessions, socket and temporary directory are removed.
 *
 * What makes it count, found with --trace-opt/--trace-deopt on a server under the
 * benchmark: enough calls for V8 to compile (a CPU-time bound, not a wall-clock one; most
 * requests handed straight to a connection, without a round trip's event-loop turn; mostly
 * the cheapest requests, single inserts; lower tier-up thresholds while it runs), nothing
 * that throws the compiled code away when the first real client arrives (connections that
 * close early, two databases and two commit hooks so that per-database calls are compiled
 * for any, both key orders and id types), and the compilations it started finished before
 * the first client: V8 compiles on worker threads, and TurboFan's compile of the request
 * paths costs more CPU than the warm-up's requests themselves (about 500 ms against 300 ms
 * here), which would otherwise be spent during the first client's requests.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Json, JsonObject } from '../../lib/json.ts';
import { parseDatabaseSchema } from '../schema.ts';
import { createDatabaseFile } from '../storage.ts';
import type { DbAccess } from './db-access.ts';
import { openFileDbAccess } from './file-db.ts';
import { OvsdbServer } from './jsonrpc-server.ts';

/**
 * The schema of the warm-up databases: the column kinds real databases use most (scalars,
 * sets, maps), and in the first one strong and weak references, in the second none, so
 * that both ways through the commit checks are compiled.
 */
function warmupSchema(name: string, withRefs: boolean): Json {
  const refs: JsonObject = withRefs
    ? {
        kids: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 'unlimited' } },
        peer: { type: { key: { type: 'uuid', refTable: 'P', refType: 'weak' }, min: 0, max: 1 } },
      }
    : {};
  return {
    name,
    version: '1.0.0',
    tables: {
      P: {
        columns: {
          name: { type: 'string' },
          n: { type: 'integer' },
          r: { type: 'real' },
          on: { type: 'boolean' },
          tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
          opts: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
          ...refs,
        },
        indexes: [['name']],
        isRoot: true,
      },
      C: {
        columns: { name: { type: 'string' }, n: { type: 'integer' } },
      },
      S: {
        columns: { name: { type: 'string' }, n: { type: 'integer' } },
        isRoot: true,
      },
    },
  };
}

/**
 * One JSON-RPC request as text: members in either order clients use, ids numbers or strings
 * (each a different shape or type to V8, which compiles for those it has seen).
 */
function request(n: number, method: string, params: Json[]): string {
  const id = n % 3 === 2 ? `w${n}` : n;
  // Python's and our clients send method first; OVS's C clients, id first.
  return (n & 1) === 0
    ? JSON.stringify({ id, method, params })
    : JSON.stringify({ method, params, id });
}

/** Round `i`'s requests, for database `db`. */
function requests(i: number, db: string): string[] {
  const name = `p${i}`;
  const out = [
    request(i * 16, 'transact', [
      db,
      { op: 'insert', table: 'C', row: { name: `c${i}`, n: i }, 'uuid-name': 'c' },
      {
        op: 'insert',
        table: 'P',
        row: {
          name,
          n: i,
          r: i / 3,
          on: (i & 1) === 1,
          tags: ['set', [`t${i}`, 'x']],
          opts: ['map', [['k', `v${i}`]]],
          ...(db === DB_NAMES[0] ? { kids: ['set', [['named-uuid', 'c']]] } : {}),
        },
      },
    ]),
    request(i * 16 + 1, 'transact', [
      db,
      { op: 'update', table: 'P', where: [['name', '==', name]], row: { n: i + 1, on: true } },
      {
        op: 'mutate',
        table: 'P',
        where: [['name', '==', name]],
        mutations: [
          ['n', '+=', 1],
          ['tags', 'insert', 'y'],
        ],
      },
    ]),
    request(i * 16 + 2, 'transact', [
      db,
      { op: 'select', table: 'P', where: [['n', '>', 0]], columns: ['name'] },
    ]),
    // The smallest transaction: one insert of scalars, as most clients' commits are.
    request(i * 16 + 3, 'transact', [
      db,
      { op: 'insert', table: 'S', row: { name: `s${i}`, n: i * 16 } },
    ]),
    request(i * 16 + 4, 'echo', []),
  ];
  // Most of all the smallest: one insert of scalars each, the shape of most clients'
  // commits. They are also the cheapest requests, so within the warm-up's CPU bound the
  // code every request runs is called several times more often than with bigger ones alone.
  for (let k = 1; k <= SMALL_PER_ROUND; k++) {
    out.push(
      request(i * 16 + 8 + k, 'transact', [
        db,
        { op: 'insert', table: 'S', row: { name: `s${i}.${k}`, n: i * 16 + k } },
      ]),
    );
  }
  // Keep the tables small: rows come and go, as configuration does.
  if (i >= ROUNDS_KEPT) {
    out.push(
      request(i * 16 + 5, 'transact', [
        db,
        { op: 'delete', table: 'P', where: [['name', '==', `p${i - ROUNDS_KEPT}`]] },
        { op: 'delete', table: 'S', where: [['n', '<', (i - ROUNDS_KEPT) * 16]] },
      ]),
    );
  }
  return out;
}

/**
 * The wall-clock bound: a safety net, not the measure of the work (that is `maxCpuMs`). On
 * a quiet machine the CPU bound ends the warm-up in about 0.4 s; with 800 ms here (before),
 * a machine loaded ten times over its cores cut it off at a fraction of its work, and a
 * fresh server then spent twice the CPU per transaction on its first 3,000 (bench/ovsdb:
 * 125-170 µs against 70-110 µs with 1.5 s).
 */
const DEFAULT_MAX_MS = 1500;
/** Rounds whose rows stay before they are deleted again. */
const ROUNDS_KEPT = 16;
/** Single-insert transactions per round, besides the one among the round's others. */
const SMALL_PER_ROUND = 6;

export interface WarmUpStats {
  /** Rounds run before the round count or the time bound was reached. */
  readonly rounds: number;
  /** Successful replies the throwaway server sent (transactions, echoes, the monitor). */
  readonly replies: number;
  /** Replies that carried an error (0 unless this module is out of step with the server). */
  readonly failures: number;
}

export interface WarmUpOptions {
  /** Rounds of requests (each a handful of transactions). */
  readonly rounds?: number;
  /** Stop after this many milliseconds of wall time at most (default 1500). */
  readonly maxMs?: number;
  /**
   * Stop after this much CPU time of the calling thread, the one that serves clients
   * (default 300 ms). The warm-up is bounded by the work it does rather than by the clock:
   * on a busy machine 300 ms of wall time left it a fraction of that, and the server then
   * served its first thousands of requests from the interpreter. `maxMs` still bounds how
   * long a start-up can take.
   */
  readonly maxCpuMs?: number;
  /**
   * Then wait at most this long (default 250 ms) for V8's compiler threads to finish the
   * compilations the warm-up started.
   */
  readonly maxCompileWaitMs?: number;
}

/**
 * V8 11's (Node 20's) tier-up settings and their defaults: the bytecode a function executes
 * between two of its profiler ticks, the ticks it needs before TurboFan compiles it, and
 * the bytecode length that earns it one more tick.
 */
const TIERING_DEFAULTS = [
  ['interrupt-budget', 67584],
  ['ticks-before-optimization', 3],
  ['bytecode-size-allowance-per-tick', 150],
] as const;
/** The same while the warm-up runs. */
const TIERING_EAGER: Record<(typeof TIERING_DEFAULTS)[number][0], number> = {
  'interrupt-budget': 67584 >> 2,
  'ticks-before-optimization': 1,
  'bytecode-size-allowance-per-tick': 1000,
};

/**
 * Lowers V8's tier-up thresholds for the warm-up, so that what every request runs is
 * compiled within its bound: with the defaults a function that runs once per request and
 * has a few kB of bytecode (the transaction executor, say) needs thousands of calls, more
 * than the warm-up makes, and was then compiled during a client's first requests instead.
 * The warm-up's requests take the same paths with the same object shapes as a client's,
 * so the feedback they leave is what compiled code should assume (measured with
 * --trace-deopt: 0-4 deoptimizations after the first client arrives, in Node's stream
 * code, against 1 with the defaults). restore() puts the defaults back. Under another V8 than
 * 11, whose defaults this code does not know, or for a setting the command line gave,
 * nothing is changed.
 */
function eagerTiering(): { restore(): void } {
  if (!process.versions.v8.startsWith('11.')) return { restore() {} };
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const changed = TIERING_DEFAULTS.filter(([flag]) => {
    const re = new RegExp(`^--${flag.replaceAll('-', '[-_]')}(=|$)`);
    return !given.some((a) => re.test(a));
  });
  for (const [flag] of changed) setFlagsFromString(`--${flag}=${TIERING_EAGER[flag]}`);
  return {
    restore() {
      for (const [flag, value] of changed) setFlagsFromString(`--${flag}=${value}`);
    },
  };
}

/**
 * Waits (at most `maxMs`) until the process's other threads (V8's compiler and garbage
 * collector threads) have neither run nor waited to run for a few ms (Linux's per-thread
 * schedstat: ns on the CPU, ns waiting for it); at once where /proc is not there.
 */
async function backgroundIdle(maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  const others = (): number => {
    let sum = 0;
    let tids: string[];
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      return -1;
    }
    for (const tid of tids) {
      if (tid === String(process.pid)) continue;
      try {
        const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ');
        sum += Number(run) + Number(wait);
      } catch {
        // Gone meanwhile.
      }
    }
    return sum;
  };
  let last = others();
  if (last < 0) return;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 4));
    const now = others();
    if (now - last < 200_000) return;
    last = now;
  }
}

/** CPU time of this thread in ms (Linux), else of the whole process. */
function threadCpuMs(): number {
  try {
    // First field: nanoseconds this thread has run.
    const stat = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1');
    return Number.parseInt(stat, 10) / 1e6;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

/**
 * Runs the warm-up; resolves when done. Never throws: a failure here costs only speed.
 * Requests go over a unix socket to a server whose databases are files in a temporary
 * directory, so Node's own socket, stream and file code is warmed with ours. V8's tier-up
 * budget is a quarter of its default while it runs (unless the command line set one), and
 * back to the default afterwards.
 */
export async function warmUp(opts: WarmUpOptions = {}): Promise<WarmUpStats> {
  const rounds = opts.rounds ?? 3000;
  const deadline = Date.now() + (opts.maxMs ?? DEFAULT_MAX_MS);
  const cpuEnd = threadCpuMs() + (opts.maxCpuMs ?? 300);
  const more = (): boolean => Date.now() < deadline && threadCpuMs() < cpuEnd;
  let done = 0;
  let replies = 0;
  let failures = 0;
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'ovsdb-warmup-'));
  } catch {
    return { rounds: 0, replies: 0, failures: 0 };
  }
  const removeDir = (): void => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A temporary directory left behind costs nothing but its few bytes.
    }
  };
  // A daemon told to exit while it warms up still leaves no directory behind.
  process.once('exit', removeDir);
  const tiering = eagerTiering();
  const listeners: Server[] = [];
  const accesses: DbAccess[] = [];
  const sockets: Socket[] = [];
  const run = async (): Promise<void> => {
    const server = new OvsdbServer({ logger: { info() {}, warn() {}, dbg() {} } });
    // A server always has a commit hook (the db: remotes follow commits); two of them in
    // turn, so that the call is compiled for any (the server's own is a third).
    const hooks = [(): void => {}, (): void => {}];
    server.onCommit = hooks[0] as () => void;
    // Two databases, so that the code called through per-database closures (storage, commit
    // listeners) has seen more than one target before V8 compiles it: the database a client
    // then uses is a third, which would otherwise cost a deoptimization on its first commit.
    for (const name of DB_NAMES) {
      const file = join(dir, name);
      createDatabaseFile(file, parseDatabaseSchema(warmupSchema(name, name === DB_NAMES[0])));
      const access = await openFileDbAccess(file);
      accesses.push(access);
      server.addDb(name, access, file);
    }
    const path = join(dir, 'sock');
    const srv = createServer((s) => {
      s.setNoDelay(true);
      sockets.push(s);
      server.serve(s, 'warmup');
    });
    listeners.push(srv);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(path, resolve);
    });
    await closingSessions(path, sockets, server);
    // The sink connects first, alone, so the server's only session is then its own.
    const sink = await WarmupClient.connect(path, sockets);
    await sink.call(request(1, 'echo', []));
    const sinkSession = [...server.sessions][0];
    const links: WarmupClient[] = [];
    for (let k = 0; k < CLIENTS; k++) links.push(await WarmupClient.connect(path, sockets));
    for (const name of DB_NAMES) {
      const watcher = await WarmupClient.connect(path, sockets);
      const initial = await watcher.call(
        request(0, 'monitor_cond', [
          name,
          null,
          // Not S: its inserts are the cheap requests, and the monitor paths are warmed by
          // P's and C's changes.
          { P: [{ columns: ['name', 'n', 'tags'] }], C: [{}] },
        ]),
      );
      if (initial) replies++;
      else failures++;
    }
    const dbOf = (i: number): string => DB_NAMES[i % DB_NAMES.length] as string;
    // Each client waits for every reply before its next request, the way configuration
    // clients talk, so every request takes the whole path of its own (socket read, framing,
    // dispatch, commit, reply write). Several such clients at once share each turn of the
    // event loop.
    const round = async (link: WarmupClient, i: number): Promise<void> => {
      for (const text of requests(i, dbOf(i))) {
        if (await link.call(text)) replies++;
        else failures++;
      }
    };
    while (done < rounds && more()) {
      const batch: Promise<void>[] = [];
      for (let k = 0; k < CLIENTS && done < rounds; k++, done++) {
        batch.push(round(links[k] as WarmupClient, done));
      }
      await Promise.all(batch);
      server.onCommit = (server.onCommit === hooks[0] ? hooks[1] : hooks[0]) as () => void;
      // Then as many rounds again and more handed straight to the sink's connection as if
      // just read from its socket, one request at a time (each reply flushed and written
      // before the next request), without the event-loop turn a round trip costs: within
      // the time bound that makes several times more requests, enough for V8 to compile
      // the whole path (a warm-up of round trips alone ended with much of it still in the
      // interpreter). Only the socket read itself is left to the round trips above.
      if (!sinkSession) continue;
      let expected = 0;
      const got = sink.expect();
      for (let k = 0; k < INJECTED_ROUNDS && done < rounds; k++, done++) {
        for (const text of requests(done, dbOf(done))) {
          expected++;
          sinkSession.conn.receive(Buffer.from(text));
          // Lets the reply be flushed, as at the end of a read.
          await null;
        }
      }
      const ok = await got(expected);
      replies += ok;
      failures += expected - ok;
    }
  };
  // Bounded even if a reply never came: the sockets are destroyed below, which settles
  // whatever the run still awaits.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    run().catch(() => {
      // Speed only: the server works the same without it.
    }),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, (opts.maxMs ?? DEFAULT_MAX_MS) + 2000);
    }),
  ]);
  clearTimeout(timer);
  for (const s of sockets) s.destroy();
  for (const l of listeners) l.close();
  for (const access of accesses) {
    try {
      await access.close?.();
    } catch {
      // Nothing to keep.
    }
  }
  process.off('exit', removeDir);
  removeDir();
  tiering.restore();
  // V8 compiles on worker threads; what the warm-up queued is compiled before the first
  // client rather than while it is served (it would take CPU from the client's requests).
  await backgroundIdle(opts.maxCompileWaitMs ?? 250);
  return { rounds: done, replies, failures };
}

/**
 * Sessions that end before the rest begins: one after a request split over two reads and an
 * unknown method, one after bytes that are not JSON. Their connection objects then change
 * state (closed, queue dropped, framer failed) before V8 compiles the code that reads that
 * state; otherwise the first connection to close, at the end of the warm-up, invalidates
 * that compiled code, and a server's first clients run in the interpreter again.
 */
async function closingSessions(
  path: string,
  sockets: Socket[],
  server: OvsdbServer,
): Promise<void> {
  const split = await WarmupClient.connect(path, sockets);
  const text = request(2, 'transact', ['Warmup', { op: 'comment', comment: 'split' }]);
  const half = text.length >> 1;
  const reply = split.call(text.slice(0, half));
  await new Promise((resolve) => setImmediate(resolve));
  split.send(text.slice(half));
  await reply;
  await split.call(request(3, 'no_such_method', []));
  split.close();
  const bad = await WarmupClient.connect(path, sockets);
  bad.send('{"id":4,"method":]');
  // Both sessions gone (bounded: the server closes at once, the peer's end takes a turn).
  for (let i = 0; i < 100 && server.sessions.size > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  bad.close();
}

const DB_NAMES = ['Warmup', 'Warmup2'];
/** Clients talking at once (rows of one round are deleted ROUNDS_KEPT rounds later). */
const CLIENTS = 4;
/** Rounds handed to the sink's connection after each round of round trips. */
const INJECTED_ROUNDS = 12;

/**
 * The client end: one request at a time, as a configuration client sends them, or replies
 * to requests sent by other means counted. Replies are only delimited and looked at, not
 * parsed: the client's work is overhead that would take time from the server's.
 */
class WarmupClient {
  private waiting: ((ok: boolean) => void) | null = null;
  private tail = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.received(chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      const w = this.waiting;
      this.waiting = null;
      w?.(false);
    });
  }

  /** Splits the stream into top-level values (as the framer does) and settles each reply. */
  private received(text: string): void {
    const s = this.tail + text;
    let start = 0;
    let { depth, inString, escaped } = this;
    for (let i = this.tail.length; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (depth++ === 0) start = i;
      } else if ((c === 0x7d || c === 0x5d) && --depth === 0) {
        this.settle(s.slice(start, i + 1));
      }
    }
    this.tail = depth > 0 ? s.slice(start) : '';
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
  }

  private settle(message: string): void {
    // Monitor updates carry "id": null; they are not replies.
    if (message.startsWith('{"id":null')) return;
    const w = this.waiting;
    this.waiting = null;
    // A JSON-RPC error, or an operation's error object among the results.
    w?.(!message.includes('"error":"') && !message.includes('"error":{'));
  }

  static connect(path: string, sockets: Socket[]): Promise<WarmupClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new WarmupClient(s)));
      sockets.push(s);
      s.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  close(): void {
    this.socket.destroy();
  }

  call(text: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(text);
    });
  }

  /**
   * For replies to requests sent by other means: call before sending, then call the result
   * with how many were sent; it resolves with how many of them were successes.
   */
  expect(): (n: number) => Promise<number> {
    let seen = 0;
    let ok = 0;
    let want = Number.POSITIVE_INFINITY;
    let done: ((ok: number) => void) | null = null;
    const one = (good: boolean): void => {
      seen++;
      if (good) ok++;
      if (seen >= want || !this.socket.writable) done?.(ok);
      else this.waiting = one;
    };
    this.waiting = one;
    return (n) =>
      new Promise((resolve) => {
        want = n;
        done = resolve;
        if (seen >= want || !this.socket.writable) resolve(ok);
      });
  }
}
