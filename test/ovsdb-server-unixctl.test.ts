// ovsdb-server's control commands beyond the basic ones (replication settings, storage
// status, perf counters, memory trimming, disable-monitor-cond), driven by real ovs-appctl
// against real ovsdb-server 3.1 and ours side by side: same replies, errors and statuses.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createDb,
  ensureBuilt,
  makeTempDir,
  type ServerProcess,
  startServer,
  waitFor,
} from './ovsdb-server-harness.ts';

const APPCTL = '/usr/bin/ovs-appctl';
const UUID_RE = /[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g;
const SCHEMA = join(import.meta.dirname, '..', 'bench', 'ovsdb', 'bench.ovsschema');

function appctl(ctl: string, args: string[]): string {
  const r = spawnSync(APPCTL, ['-t', ctl, ...args], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout}${r.stderr.split(ctl).join('CTL')}[${r.status}]`;
}

/** Sends one request on a fresh connection; resolves with the parsed reply. */
function request(sock: string, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(sock, () => s.write(JSON.stringify({ id: 1, method, params })));
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      try {
        const msg = JSON.parse(buf);
        s.destroy();
        resolve(msg);
      } catch {
        // Not whole yet.
      }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no reply to ${method}`)), 5000).unref();
  });
}

describe('ovsdb-server control commands match real ovsdb-server 3.1', () => {
  let dir: string;
  let real: ChildProcess | null = null;
  let ours: ServerProcess | null = null;
  let realCtl: string;
  let realSock: string;
  before(async () => {
    ensureBuilt();
    dir = makeTempDir();
    mkdirSync(join(dir, 'real'));
    mkdirSync(join(dir, 'ours'));
    await createDb(join(dir, 'real', 'db'), SCHEMA);
    await createDb(join(dir, 'ours', 'db'), SCHEMA);
    realCtl = join(dir, 'real', 'ctl');
    realSock = join(dir, 'real', 'db.sock');
    real = spawn(
      '/usr/sbin/ovsdb-server',
      [
        join(dir, 'real', 'db'),
        `--remote=punix:${realSock}`,
        `--unixctl=${realCtl}`,
        `--log-file=${join(dir, 'real', 'log')}`,
      ],
      { stdio: 'ignore' },
    );
    ours = await startServer(
      join(dir, 'ours'),
      [join(dir, 'ours', 'db')],
      [`--log-file=${join(dir, 'ours', 'log')}`],
    );
    await waitFor(() => existsSync(realCtl) && existsSync(realSock), 10_000, 'real server');
  });
  after(async () => {
    real?.kill('SIGKILL');
    await ours?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replication, storage, perf-counter and memory-trim commands reply the same', () => {
    const steps = [
      ['ovsdb-server/sync-status'],
      ['ovsdb-server/get-db-storage-status', 'Bench'],
      ['ovsdb-server/get-db-storage-status', '_Server'],
      ['ovsdb-server/get-db-storage-status', 'Nope'],
      ['ovsdb-server/get-active-ovsdb-server'],
      ['ovsdb-server/set-active-ovsdb-server', 'tcp:127.0.0.1:1'],
      ['ovsdb-server/get-active-ovsdb-server'],
      ['ovsdb-server/set-active-ovsdb-server-probe-interval', 'x'],
      ['ovsdb-server/set-active-ovsdb-server-probe-interval', '100'],
      ['ovsdb-server/disconnect-active-ovsdb-server'],
      ['ovsdb-server/set-sync-exclude-tables', 'junk,Bench:T b:c Bench:T'],
      ['ovsdb-server/get-sync-exclude-tables'],
      ['ovsdb-server/perf-counters-show'],
      ['ovsdb-server/perf-counters-clear'],
      ['ovsdb-server/memory-trim-on-compaction', 'on'],
      ['ovsdb-server/memory-trim-on-compaction', 'maybe'],
      ['ovsdb-server/sync-status'],
      ['ovsdb-server/compact', '_Server'],
      ['ovsdb-server/compact', 'Nope'],
      ['ovsdb-server/compact', 'Bench'],
      ['ovsdb-server/compact'],
    ];
    const expected = steps.map((s) => appctl(realCtl, s));
    const actual = steps.map((s) => appctl((ours as ServerProcess).ctl, s));
    assert.match(expected.join(''), /status: ok\n\[0\]/);
    assert.match(
      expected.join(''),
      /Failed to find the database\.\novs-appctl: CTL: server returned an error\n\[2\]/,
    );
    assert.match(expected.join(''), /Bench:T,b:c,junk:\n\[0\]/);
    assert.match(expected.join(''), /cannot compact built-in databases\n/);
    assert.deepEqual(actual, expected);
    const listed = (ctl: string): string[] =>
      appctl(ctl, ['list-commands'])
        .split('\n')
        .filter((l) => l.startsWith('  ovsdb-server/'));
    assert.deepEqual(listed((ours as ServerProcess).ctl), listed(realCtl));
  });

  it('tlog-set logs the rows transactions change, as real ovsdb-server words it', async () => {
    const results: string[][] = [];
    for (const [ctl, sock, log] of [
      [realCtl, realSock, join(dir, 'real', 'log')],
      [(ours as ServerProcess).ctl, (ours as ServerProcess).sock, join(dir, 'ours', 'log')],
    ] as const) {
      const out: string[] = [];
      for (const a of ['Bench:T maybe', 'Bench:X on', 'Nope:T on', 'BenchT on', 'Bench::T ON']) {
        out.push(appctl(ctl, ['ovsdb-server/tlog-set', ...a.split(' ')]));
      }
      out.push(appctl(ctl, ['ovsdb-server/tlog-list']));
      const txn = async (op: object): Promise<void> => {
        const r = (await request(sock, 'transact', ['Bench', op])) as { error: unknown };
        assert.equal(r.error, null);
      };
      await txn({
        op: 'insert',
        table: 'T',
        row: { name: 'a b', n: 1, tags: ['set', ['x', 'y']] },
      });
      await txn({ op: 'update', table: 'T', where: [], row: { n: 2 } });
      await txn({ op: 'update', table: 'T', where: [], row: { n: 2 } }); // no change: no line
      await txn({ op: 'delete', table: 'T', where: [] });
      out.push(appctl(ctl, ['ovsdb-server/tlog-set', 'Bench:T', 'off']));
      await txn({ op: 'insert', table: 'T', row: { name: 'quiet' } });
      const lines = (): string[] =>
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('|transaction|'))
          .map((l) => l.split('|').slice(2).join('|').replace(UUID_RE, 'U'));
      await waitFor(() => lines().length >= 3, 5000, 'transaction log lines');
      out.push(...lines());
      results.push(out);
    }
    assert.match(
      results[0]?.join('\n') ?? '',
      /table:T,op:updated,name:"a b",_version:U,_uuid:U,n:2/,
    );
    assert.equal(results[0]?.filter((l) => l.includes('op:')).length, 3);
    assert.deepEqual(results[1], results[0]);
  });

  it('disable-monitor-cond makes monitor_cond and monitor_cond_since unknown methods', async () => {
    const monitor = ['Bench', null, { T: [{ columns: ['name'] }] }];
    for (const [ctl, sock] of [
      [realCtl, realSock],
      [(ours as ServerProcess).ctl, (ours as ServerProcess).sock],
    ] as const) {
      const first = (await request(sock, 'monitor_cond', monitor)) as { error: unknown };
      assert.equal(first.error, null);
      assert.equal(appctl(ctl, ['ovsdb-server/disable-monitor-cond']), '[0]');
      for (const method of ['monitor_cond', 'monitor_cond_since']) {
        assert.deepEqual(await request(sock, method, monitor), {
          id: 1,
          error: 'unknown method',
        });
      }
      // Plain monitor still works.
      const r = (await request(sock, 'monitor', ['Bench', null, { T: { columns: ['name'] } }])) as {
        error: unknown;
      };
      assert.equal(r.error, null);
    }
  });
});
