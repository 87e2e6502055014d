/**
 * ovsdb-client --detach for transact, query, lock/steal/unlock and monitor-cond, and the
 * control commands real ovsdb-client serves while detached (lock, steal, unlock, exit,
 * ovsdb-client/block, /unblock, /cond_change), side by side with real ovsdb-client 3.1 on a
 * real ovsdb-server: each step is run with both tools and what they print must be the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OVSDB_CLIENT, OVSDB_SERVER, OVSDB_TOOL } from './ovsdb-client-harness.ts';
import { waitAccepting } from './socket-wait.ts';

const ROOT = join(import.meta.dirname, '..');
const OURS = join(ROOT, 'bin', 'ovsdb-client');
const APPCTL = '/usr/bin/ovs-appctl';
const SCHEMA = join(ROOT, 'bench', 'ovsdb', 'bench.ovsschema');
const CLIENTS: [string, string][] = [
  ['real', OVSDB_CLIENT],
  ['ours', OURS],
];

let dir: string;
let n = 0;

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Server {
  child: ChildProcess;
  remote: string;
}

async function startServer(): Promise<Server> {
  const d = join(dir, `srv${++n}`);
  mkdirSync(d);
  const db = join(d, 'db');
  execFileSync(OVSDB_TOOL, ['create', db, SCHEMA]);
  const sock = join(d, 'db.sock');
  const child = spawn(
    OVSDB_SERVER,
    [db, `--remote=punix:${sock}`, `--unixctl=${join(d, 'ctl')}`, '--no-chdir', '-vconsole:off'],
    { stdio: 'ignore' },
  );
  await waitAccepting(sock);
  return { child, remote: `unix:${sock}` };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Runs `BIN --detach --no-chdir --pidfile=PIDFILE ARGS > OUT 2> OUT.err` through a shell. */
function detached(bin: string, pidfile: string, out: string, args: string[]): number | null {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const r = spawnSync(
    '/bin/sh',
    [
      '-c',
      `"${bin}" --detach --no-chdir --pidfile="${pidfile}" ${quoted} > "${out}" 2> "${out}.err"`,
    ],
    { env: { ...process.env, OVS_RUNDIR: dir }, timeout: 15000, stdio: 'ignore' },
  );
  return r.status;
}

/** ovs-appctl against a detached client's control socket: its stdout, stderr and status. */
function appctl(pidfile: string, ...cmd: string[]): string {
  const pid = readFileSync(pidfile, 'utf8').trim();
  const r = spawnSync(APPCTL, ['-t', join(dir, `ovsdb-client.${pid}.ctl`), ...cmd], {
    encoding: 'utf8',
    timeout: 10000,
  });
  return `${r.stdout}${r.stderr}[${r.status}]`.replace(
    /ovsdb-client\.\d+\.ctl/g,
    'ovsdb-client.PID.ctl',
  );
}

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const normUuids = (s: string): string => s.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'UUID');

function transact(srv: Server, ops: string): void {
  execFileSync(OVSDB_CLIENT, ['transact', srv.remote, `["Bench",${ops}]`]);
}

describe('ovsdb-client --detach and its control commands, against real ovsdb-client 3.1', {
  timeout: 90000,
}, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-client-detach-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--help is real ovsdb-client's text, daemon, logging and PKI options included", () => {
    const env = { ...process.env, OVS_RUNDIR: '/run/x', OVS_LOGDIR: '/log/y' };
    const texts = CLIENTS.map(([, bin]) =>
      spawnSync(bin, ['--help'], { encoding: 'utf8', env, timeout: 10000 }),
    );
    assert.equal(texts[0]?.status, 0);
    assert.match(
      texts[0]?.stdout ?? '',
      /--pidfile\[=FILE\] +create pidfile \(default: \/run\/x\//,
    );
    assert.match(texts[0]?.stdout ?? '', /Passive SERVER connection methods:/);
    assert.equal(texts[1]?.stdout, texts[0]?.stdout);
    assert.equal(texts[1]?.status, 0);
  });

  it('options real ovsdb-client lacks (--unixctl) or finds ambiguous fail as its getopt words it', () => {
    for (const opt of ['--unixctl=/x', '--pr=3', '--re', '--no', '--bogus', '--peer-ca-cert=x']) {
      const [real, ours] = CLIENTS.map(([, bin]) => {
        const r = spawnSync(bin, [opt, 'list-dbs', 'unix:/nonexistent'], {
          encoding: 'utf8',
          timeout: 10000,
        });
        return { status: r.status, stderr: r.stderr.split(`${bin}: `).join('ovsdb-client: ') };
      });
      assert.equal(real?.status, 1, opt);
      assert.deepEqual(ours, real, opt);
    }
  });

  it('transact and query --detach return 0 at once; the result reaches the same stdout', async () => {
    const seen: Record<string, string> = {};
    for (const [who, bin] of CLIENTS) {
      const srv = await startServer();
      try {
        const out = join(dir, `txn-${who}.out`);
        const pidfile = join(dir, `txn-${who}.pid`);
        const ins = '["Bench",{"op":"insert","table":"T","row":{"name":"x","n":3}}]';
        assert.equal(detached(bin, pidfile, out, ['transact', srv.remote, ins]), 0, who);
        await waitFor(() => read(out).endsWith('\n'), 10000, `${who}: transact output`);
        // A failing transaction still detaches with status 0: the error is in the output.
        const bad = join(dir, `bad-${who}.out`);
        assert.equal(
          detached(bin, pidfile, bad, ['transact', srv.remote, '["Bench",{"op":"foo"}]']),
          0,
        );
        await waitFor(() => read(bad).endsWith('\n'), 10000, `${who}: error output`);
        const q = join(dir, `q-${who}.out`);
        const sel = '["Bench",{"op":"select","table":"T","where":[],"columns":["name","n"]}]';
        assert.equal(detached(bin, pidfile, q, ['query', srv.remote, sel]), 0);
        await waitFor(() => read(q).endsWith('\n'), 10000, `${who}: query output`);
        await waitFor(() => !existsSync(pidfile), 10000, `${who}: pidfile removal`);
        // No control socket is left behind for a one-shot command.
        assert.deepEqual(
          execFileSync('ls', [dir], { encoding: 'utf8' })
            .split('\n')
            .filter((f) => f.endsWith('.ctl')),
          [],
        );
        seen[who] = normUuids(read(out) + read(bad) + read(q) + read(`${out}.err`));
      } finally {
        await stop(srv.child);
      }
    }
    assert.match(
      seen.real ?? '',
      /^\[\{"uuid":\["uuid","UUID"\]\}\]\n\[\{"details".*"syntax error"/,
    );
    assert.match(seen.real ?? '', /\[\{"rows":\[\{"n":3,"name":"x"\}\]\}\]\n$/);
    assert.equal(seen.ours, seen.real);
  });

  it('transact --detach to a server that is not there fails in the foreground', () => {
    const results = CLIENTS.map(([who, bin]) => {
      const r = spawnSync(
        bin,
        ['--detach', 'transact', `unix:${join(dir, 'nothing.sock')}`, '["Bench"]'],
        { encoding: 'utf8', timeout: 10000 },
      );
      return { who, status: r.status, stderr: r.stderr.split(`${bin}: `).join('ovsdb-client: ') };
    });
    assert.equal(results[0]?.status, 1);
    assert.match(results[0]?.stderr ?? '', /failed to connect to "unix:.*nothing.sock"/);
    assert.deepEqual({ ...results[1], who: '' }, { ...results[0], who: '' });
  });

  it('detached lock holders take lock, steal and unlock over ovs-appctl and print the same', async () => {
    const seen: Record<string, string[]> = {};
    for (const [who, bin] of CLIENTS) {
      const srv = await startServer();
      const p1 = join(dir, `l1-${who}.pid`);
      const p2 = join(dir, `l2-${who}.pid`);
      const o1 = join(dir, `l1-${who}.out`);
      const o2 = join(dir, `l2-${who}.out`);
      const log: string[] = [];
      try {
        // The parent returns once the first reply is printed.
        assert.equal(detached(bin, p1, o1, ['lock', srv.remote, 'L']), 0);
        assert.equal(read(o1), '{"locked":true}\n');
        assert.equal(detached(bin, p2, o2, ['lock', srv.remote, 'L']), 0);
        assert.equal(read(o2), '{"locked":false}\n');
        log.push(appctl(p1, 'list-commands'));
        const step = async (cmd: string[], want1: string, want2: string): Promise<void> => {
          log.push(appctl(p1, ...cmd));
          await waitFor(
            () => read(o1).endsWith(want1) && read(o2).endsWith(want2),
            5000,
            `${who}: ${cmd.join(' ')}`,
          );
          log.push(read(o1), read(o2));
        };
        await step(['unlock', 'L'], '{}\n', 'locked\n["L"]\n');
        await step(['steal', 'L'], '{"locked":true}\n', 'stolen\n["L"]\n');
        // A second lock of a name already held gets an error reply, which prints nothing.
        await step(['lock', 'M'], '{"locked":true}\n{"locked":true}\n', 'stolen\n["L"]\n');
        log.push(appctl(p1, 'lock', 'M'), appctl(p1, 'lock'));
        await sleep(200);
        log.push(read(o1));
        log.push(appctl(p1, 'exit'), appctl(p2, 'exit'));
        await waitFor(() => !existsSync(p1) && !existsSync(p2), 10000, `${who}: exit`);
        log.push(read(`${o1}.err`), read(`${o2}.err`));
        seen[who] = log;
      } finally {
        await stop(srv.child);
      }
    }
    assert.match(seen.real?.[0] ?? '', /^ {2}lock {20}LOCK\n {2}steal {19}LOCK\n/m);
    assert.deepEqual(seen.ours, seen.real);
  });

  it('a detached monitor-cond blocks, unblocks and changes its condition over ovs-appctl', async () => {
    const seen: Record<string, string[]> = {};
    for (const [who, bin] of CLIENTS) {
      const srv = await startServer();
      const pidfile = join(dir, `mon-${who}.pid`);
      const out = join(dir, `mon-${who}.out`);
      const log: string[] = [];
      try {
        transact(srv, '{"op":"insert","table":"T","row":{"name":"a","n":1}}');
        const args = ['monitor-cond', srv.remote, 'Bench', '[["n","<",10]]', 'T', 'name,n'];
        assert.equal(detached(bin, pidfile, out, args), 0);
        log.push(normUuids(read(out)));
        log.push(appctl(pidfile, 'list-commands'));
        log.push(appctl(pidfile, 'ovsdb-client/unblock'), appctl(pidfile, 'ovsdb-client/block'));
        log.push(appctl(pidfile, 'ovsdb-client/block'));
        transact(srv, '{"op":"insert","table":"T","row":{"name":"b","n":2}}');
        await sleep(300);
        // Blocked: nothing is read, so nothing is printed.
        log.push(normUuids(read(out)));
        log.push(appctl(pidfile, 'ovsdb-client/unblock'));
        await waitFor(() => read(out).includes('insert b'), 5000, `${who}: unblocked update`);
        log.push(appctl(pidfile, 'ovsdb-client/cond_change', 'T', '[["n",">",1]]'));
        // The row leaving the condition is reported deleted (update2 carries no contents).
        await waitFor(() => / delete\n/.test(read(out)), 5000, `${who}: condition change`);
        log.push(appctl(pidfile, 'ovsdb-client/cond_change', 'T'));
        log.push(appctl(pidfile, 'exit'));
        await waitFor(() => !existsSync(pidfile), 10000, `${who}: exit`);
        log.push(normUuids(read(out)), read(`${out}.err`));
        seen[who] = log;
      } finally {
        await stop(srv.child);
      }
    }
    assert.match(seen.real?.join('') ?? '', /already unblocked/);
    assert.match(seen.real?.join('') ?? '', /already blocking/);
    assert.match(seen.real?.join('') ?? '', /condition changed/);
    assert.deepEqual(seen.ours, seen.real);
  });
});
