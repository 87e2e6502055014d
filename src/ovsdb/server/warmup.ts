/**
 * Start-up warm-up: before a server takes its first client, a throwaway server runs small
 * transactions and a monitor through the very code a client's requests take (socket reads,
 * JSON framing and parsing, request dispatch, transaction execution and commit, the storage
 * record written to a file, monitor updates, reply serialisation and the socket write). A
 * freshly started V8 runs all of that in its interpreter, several times slower than once
 * the hot functions are compiled; without this a new server answers its first few thousand
 * transactions at a fraction of its steady rate. Nothing of the warm-up is kept: its
 * database, sessions, socket and temporary directory are removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isJsonObject, type Json } from '../../lib/json.ts';
import { JsonFramer } from '../../lib/jsonrpc/framer.ts';
import { parseDatabaseSchema } from '../schema.ts';
import { createDatabaseFile } from '../storage.ts';
import type { DbAccess } from './db-access.ts';
import { openFileDbAccess } from './file-db.ts';
import { OvsdbServer } from './jsonrpc-server.ts';

/** A schema with the column kinds real databases use most: scalars, sets, maps, references. */
const WARMUP_SCHEMA = {
  name: 'Warmup',
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
        kids: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 'unlimited' } },
      },
      indexes: [['name']],
      isRoot: true,
    },
    C: {
      columns: { name: { type: 'string' }, n: { type: 'integer' } },
    },
  },
};

function requests(i: number): string[] {
  const name = `p${i}`;
  const out = [
    JSON.stringify({
      id: i * 8,
      method: 'transact',
      params: [
        'Warmup',
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
            kids: ['set', [['named-uuid', 'c']]],
          },
        },
      ],
    }),
    JSON.stringify({
      id: i * 8 + 1,
      method: 'transact',
      params: [
        'Warmup',
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
      ],
    }),
    JSON.stringify({
      id: i * 8 + 2,
      method: 'transact',
      params: ['Warmup', { op: 'select', table: 'P', where: [['n', '>', 0]], columns: ['name'] }],
    }),
    JSON.stringify({ id: i * 8 + 3, method: 'echo', params: [] }),
  ];
  // Keep the table small: rows come and go, as configuration does.
  if (i >= 8) {
    out.push(
      JSON.stringify({
        id: i * 8 + 4,
        method: 'transact',
        params: ['Warmup', { op: 'delete', table: 'P', where: [['name', '==', `p${i - 8}`]] }],
      }),
    );
  }
  return out;
}

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
  /** Stop early after this many milliseconds of wall time. */
  readonly maxMs?: number;
  /**
   * Stop early after this much CPU time of this process (default: no bound but `maxMs`). For
   * embedders who would rather bound the work than the wall time, which a busy machine
   * stretches.
   */
  readonly maxCpuMs?: number;
}

/**
 * Runs the warm-up; resolves when done. Never throws: a failure here costs only speed.
 * Requests go one at a time over a unix socket to a server whose database is a file in a
 * temporary directory, so Node's own socket, stream and file code is warmed with ours.
 */
export async function warmUp(opts: WarmUpOptions = {}): Promise<WarmUpStats> {
  const rounds = opts.rounds ?? 3000;
  const deadline = Date.now() + (opts.maxMs ?? 300);
  const cpuStart = process.cpuUsage();
  const cpuBudgetUs = (opts.maxCpuMs ?? Number.POSITIVE_INFINITY) * 1000;
  const more = (): boolean => {
    if (Date.now() >= deadline) return false;
    const used = process.cpuUsage(cpuStart);
    return used.user + used.system < cpuBudgetUs;
  };
  let done = 0;
  let replies = 0;
  let failures = 0;
  let dir: string | null = null;
  let listener: Server | null = null;
  let access: DbAccess | null = null;
  const sockets: Socket[] = [];
  try {
    dir = mkdtempSync(join(tmpdir(), 'ovsdb-warmup-'));
    const file = join(dir, 'db');
    createDatabaseFile(file, parseDatabaseSchema(WARMUP_SCHEMA));
    access = await openFileDbAccess(file);
    const server = new OvsdbServer({ logger: { info() {}, warn() {}, dbg() {} } });
    server.addDb('Warmup', access, file);
    const path = join(dir, 'sock');
    const srv = createServer((s) => {
      sockets.push(s);
      server.serve(s, 'warmup');
    });
    listener = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(path, resolve);
    });
    const link = await WarmupClient.connect(path, sockets);
    const watcher = await WarmupClient.connect(path, sockets);
    const initial = await watcher.call(
      JSON.stringify({
        id: 'm',
        method: 'monitor_cond',
        params: ['Warmup', null, { P: [{ columns: ['name', 'n', 'tags'] }], C: [{}] }],
      }),
    );
    if (initial) replies++;
    else failures++;
    // A few rounds one request at a time (the path of a client that waits for each reply),
    // then pipelined batches: one event-loop turn then carries dozens of requests through
    // the same functions, so many more calls fit in the time bound and V8 gets to optimize
    // them (a one-at-a-time warm-up spends most of its time in event-loop hops and the
    // interpreter, and ended before the hot functions were compiled).
    for (; done < rounds && done < SINGLE_ROUNDS && more(); done++) {
      for (const text of requests(done)) {
        if (await link.call(text)) replies++;
        else failures++;
      }
    }
    while (done < rounds && more()) {
      const batch: string[] = [];
      for (let k = 0; k < BATCH_ROUNDS && done < rounds; k++, done++) {
        batch.push(...requests(done));
      }
      const ok = await link.callBatch(batch);
      replies += ok;
      failures += batch.length - ok;
    }
  } catch {
    // Speed only: the server works the same without it.
  }
  for (const s of sockets) s.destroy();
  listener?.close();
  try {
    await access?.close?.();
  } catch {
    // Nothing to keep.
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  return { rounds: done, replies, failures };
}

const SINGLE_ROUNDS = 20;
const BATCH_ROUNDS = 16;

/** The client end: one request at a time, as a configuration client sends them, or a batch. */
class WarmupClient {
  private waiting: ((ok: boolean) => void) | null = null;

  private constructor(private readonly socket: Socket) {
    const framer = new JsonFramer();
    socket.on('data', (chunk: Buffer) => {
      framer.feed(chunk, (msg) => {
        // Monitor updates carry "id": null; they are not the awaited reply.
        if (!isJsonObject(msg) || msg.id === null) return;
        const w = this.waiting;
        this.waiting = null;
        w?.(msg.error === null && !hasErrorResult(msg.result));
      });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const w = this.waiting;
      this.waiting = null;
      w?.(false);
    });
  }

  static connect(path: string, sockets: Socket[]): Promise<WarmupClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new WarmupClient(s)));
      sockets.push(s);
      s.once('error', reject);
    });
  }

  call(text: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(text);
    });
  }

  /** Sends all of `texts` at once; resolves with how many replies were successes. */
  callBatch(texts: string[]): Promise<number> {
    return new Promise((resolve) => {
      let left = texts.length;
      let ok = 0;
      const one = (good: boolean): void => {
        if (good) ok++;
        if (--left === 0 || !this.socket.writable) resolve(ok);
        else this.waiting = one;
      };
      this.waiting = one;
      this.socket.write(texts.join(''));
    });
  }
}

/** Whether a transact result holds an operation error (a warm-up that warms error paths). */
function hasErrorResult(result: Json | undefined): boolean {
  return Array.isArray(result) && result.some((r) => isJsonObject(r) && r.error !== undefined);
}
