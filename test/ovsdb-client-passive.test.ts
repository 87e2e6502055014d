/**
 * ovsdb-client on passive remotes (punix:, ptcp:: it listens and the server connects to it)
 * and `--detach` for monitors, side by side with real ovsdb-client 3.1; the server is real
 * ovsdb-server. What each client prints must be the same, log timestamps aside.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OVSDB_CLIENT, OVSDB_SERVER, OVSDB_TOOL } from './ovsdb-client-harness.ts';
import { waitAccepting } from './socket-wait.ts';

const ROOT = join(import.meta.dirname, '..');
const OURS = join(ROOT, 'bin', 'ovsdb-client');
const SCHEMA = join(ROOT, 'bench', 'ovsdb', 'bench.ovsschema');
const CLIENTS: [string, string][] = [
  ['real', OVSDB_CLIENT],
  ['ours', OURS],
];

let dir: string;
let n = 0;

/** Log lines start with a timestamp; the rest must match. */
const normLog = (s: string): string => s.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'T|');

interface Done {
  stdout: string;
  stderr: string;
  status: number | null;
}

function collect(child: ChildProcess): { done: Promise<Done>; stderr: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  const done = new Promise<Done>((resolve) =>
    child.on('close', (status) => resolve({ stdout: out, stderr: err, status })),
  );
  return { done, stderr: () => err };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A real ovsdb-server on a fresh database that connects out to `remote`. */
function startServer(remote: string): { child: ChildProcess; sock: string } {
  const d = join(dir, `srv${++n}`);
  execFileSync('mkdir', [d]);
  const db = join(d, 'db');
  execFileSync(OVSDB_TOOL, ['create', db, SCHEMA]);
  const sock = join(d, 'db.sock');
  const child = spawn(
    OVSDB_SERVER,
    [
      db,
      `--remote=${remote}`,
      `--remote=punix:${sock}`,
      `--unixctl=${join(d, 'ctl')}`,
      '--no-chdir',
      '-vconsole:off',
    ],
    { stdio: 'ignore' },
  );
  return { child, sock };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Runs `client ARGS` on a passive remote; once it listens, a server connects to it. */
async function passive(
  client: string,
  args: (remote: string) => string[],
  kind: 'punix' | 'ptcp',
): Promise<Done & { socketLeft: boolean }> {
  const path = join(dir, `c${++n}.sock`);
  const remote = kind === 'punix' ? `punix:${path}` : 'ptcp:0:127.0.0.1';
  const child = spawn(client, args(remote), { stdio: ['ignore', 'pipe', 'pipe'] });
  const c = collect(child);
  await waitFor(() => c.stderr().includes('waiting for connection'), 10000, 'listening');
  let active = `unix:${path}`;
  if (kind === 'ptcp') {
    const m = /listening on port (\d+)/.exec(c.stderr());
    assert.ok(m, c.stderr());
    active = `tcp:127.0.0.1:${m[1]}`;
  }
  const srv = startServer(active);
  try {
    const r = await c.done;
    return { ...r, stderr: normLog(r.stderr), socketLeft: existsSync(path) };
  } finally {
    await stop(srv.child);
  }
}

describe('ovsdb-client passive remotes and --detach, against real ovsdb-client 3.1', {
  timeout: 60000,
}, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-client-passive-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('punix: waits for the server to connect, answers, and removes its socket', async () => {
    const results = [];
    for (const [, bin] of CLIENTS)
      results.push(await passive(bin, (r) => ['list-dbs', r], 'punix'));
    const [real, ours] = results;
    assert.equal(real?.stdout, 'Bench\n_Server\n');
    assert.equal(real?.status, 0);
    assert.equal(real?.socketLeft, false);
    assert.match(
      real?.stderr ?? '',
      /^T\|00001\|ovsdb_client\|INFO\|punix:.*: waiting for connection\.\.\.\n$/,
    );
    assert.deepEqual(
      { ...ours, stderr: ours?.stderr.replace(/c\d+\.sock/, 'c.sock') },
      { ...real, stderr: real?.stderr.replace(/c\d+\.sock/, 'c.sock') },
    );
  });

  it('ptcp: logs the bound port, then runs a transaction through the accepted connection', async () => {
    const txn =
      '["Bench",{"op":"insert","table":"T","row":{"name":"a","n":7}},{"op":"select","table":"T","where":[],"columns":["name","n"]}]';
    const results = [];
    for (const [, bin] of CLIENTS)
      results.push(await passive(bin, (r) => ['transact', r, txn], 'ptcp'));
    const [real, ours] = results;
    assert.equal(real?.status, 0);
    assert.match(real?.stdout ?? '', /"rows":\[\{"n":7,"name":"a"\}\]/);
    const norm = (s = ''): string =>
      s.replace(/port \d+/, 'port N').replace(/"uuid","[0-9a-f-]+"/g, 'U');
    assert.match(
      real?.stderr ?? '',
      /socket_util\|INFO\|0:127\.0\.0\.1: listening on port \d+\n.*ovsdb_client\|INFO\|ptcp:0:127\.0\.0\.1: waiting for connection/,
    );
    assert.equal(norm(ours?.stderr), norm(real?.stderr));
    assert.equal(norm(ours?.stdout), norm(real?.stdout));
    assert.equal(ours?.status, 0);
  });

  it('a passive remote that cannot be bound fails as real ovsdb-client does', () => {
    const args = ['list-dbs', 'punix:/nonexistent-dir/x.sock'];
    const runIt = (bin: string): Done => {
      try {
        execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return { stdout: '', stderr: '', status: 0 };
      } catch (e) {
        const x = e as { stdout: string; stderr: string; status: number };
        return { stdout: x.stdout, stderr: normLog(x.stderr), status: x.status };
      }
    };
    const real = runIt(OVSDB_CLIENT);
    const ours = runIt(OURS);
    assert.equal(real.status, 1);
    assert.match(
      real.stderr,
      /failed to connect or listen to "punix:\/nonexistent-dir\/x.sock" \(No such file or directory\)/,
    );
    assert.deepEqual(
      { ...ours, stderr: ours.stderr.split(`${OURS}: `).join('ovsdb-client: ') },
      real,
    );
  });

  it('monitor --detach returns once the initial contents are printed and keeps monitoring into the same stdout', async () => {
    const outputs: Record<string, string> = {};
    for (const [who, bin] of CLIENTS) {
      const srv = startServer(`punix:${join(dir, `unused-${who}.sock`)}`);
      try {
        await waitAccepting(srv.sock);
        const txn = (name: string): void => {
          execFileSync(OVSDB_CLIENT, [
            'transact',
            `unix:${srv.sock}`,
            `["Bench",{"op":"insert","table":"T","row":{"name":"${name}","n":1}}]`,
          ]);
        };
        txn('before');
        const out = join(dir, `${who}.out`);
        const pidfile = join(dir, `${who}.pid`);
        // The shell redirects stdout to a file: the detached monitor must keep writing there.
        execFileSync(
          '/bin/sh',
          [
            '-c',
            `"${bin}" --detach --no-chdir --pidfile="${pidfile}" monitor unix:${srv.sock} Bench T name n > "${out}" 2> "${out}.err"`,
          ],
          { env: { ...process.env, OVS_RUNDIR: dir }, timeout: 15000, stdio: 'ignore' },
        );
        // Returned: the monitor is in the background, its pidfile written, initial rows printed.
        const pid = Number(readFileSync(pidfile, 'utf8').trim());
        assert.ok(pid > 0);
        assert.match(readFileSync(out, 'utf8'), /initial before/);
        txn('after');
        await waitFor(() => readFileSync(out, 'utf8').includes('insert after'), 10000, 'update');
        execFileSync('/usr/bin/ovs-appctl', ['-t', join(dir, `ovsdb-client.${pid}.ctl`), 'exit']);
        await waitFor(() => !existsSync(pidfile), 10000, 'pidfile removal');
        outputs[who] = readFileSync(out, 'utf8').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'UUID');
      } finally {
        await stop(srv.child);
      }
    }
    assert.match(outputs.real ?? '', /UUID insert after 1/);
    assert.equal(outputs.ours, outputs.real);
  });

  it('a detached monitor stopped by SIGTERM removes its pidfile and logs nothing to the console', async () => {
    for (const [who, bin] of CLIENTS) {
      const srv = startServer(`punix:${join(dir, `unused-term-${who}.sock`)}`);
      try {
        await waitAccepting(srv.sock);
        const out = join(dir, `term-${who}.out`);
        const pidfile = join(dir, `term-${who}.pid`);
        execFileSync(
          '/bin/sh',
          [
            '-c',
            `"${bin}" --detach --no-chdir --pidfile="${pidfile}" monitor unix:${srv.sock} Bench T > "${out}" 2> "${out}.err"`,
          ],
          { env: { ...process.env, OVS_RUNDIR: dir }, timeout: 15000, stdio: 'ignore' },
        );
        process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
        await waitFor(() => !existsSync(pidfile), 10000, `${who}: pidfile removal`);
        assert.equal(readFileSync(`${out}.err`, 'utf8'), '', who);
      } finally {
        await stop(srv.child);
      }
    }
  });
});
