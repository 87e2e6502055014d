import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDaemonArgs } from './daemon.ts';
import { packageVersion } from './unixctl/version.ts';

const fixture = join(import.meta.dirname, 'daemon-fixture.ts');

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000, env }, (err, out, stderr) =>
      resolve({ out, err: stderr, code: err ? ((err as { code?: number }).code ?? -1) : 0 }),
    );
  });
}
function startFixture(
  dir: string,
  extra: string[],
): Promise<{ out: string; err: string; code: number }> {
  return run(
    process.execPath,
    [
      '--import',
      'tsx',
      fixture,
      '--detach',
      `--pidfile=${join(dir, 'ts-fixture.pid')}`,
      `--unixctl=${join(dir, 'ctl')}`,
      `--log-file=${join(dir, 'log')}`,
      '-vconsole:off',
      ...extra,
    ],
    { ...process.env, OVS_RUNDIR: dir },
  );
}
function readPid(dir: string): number {
  return Number(readFileSync(join(dir, 'ts-fixture.pid'), 'utf8'));
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function waitFor(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}
const appctl = (dir: string, ...args: string[]) =>
  run('/usr/bin/ovs-appctl', ['-t', join(dir, 'ctl'), ...args]);

describe('parseDaemonArgs', () => {
  it('splits daemon and vlog options from the rest, resolving the pidfile as OVS does', () => {
    const { options, rest } = parseDaemonArgs('prog', [
      '--pidfile',
      'db.conf',
      '--detach',
      '--no-chdir',
      '--unixctl=ctl',
      '-vconsole:off',
      '--remote=punix:x',
    ]);
    assert.equal(options.pidfile?.endsWith('/prog.pid'), true);
    assert.equal(options.detach, true);
    assert.equal(options.chdir, false);
    assert.equal(options.unixctl, 'ctl');
    assert.deepEqual(rest, ['db.conf', '--remote=punix:x']);
    assert.equal(parseDaemonArgs('p', ['--pidfile=/a/b.pid']).options.pidfile, '/a/b.pid');
  });
});

describe('a detached daemon, driven by real ovs-appctl 3.1', () => {
  let dir: string;
  let pid: number;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-daemon-'));
  });
  after(() => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('detaches: the starting process exits 0 once the daemon is ready', async () => {
    const r = await startFixture(dir, []);
    assert.deepEqual(r, { out: '', err: '', code: 0 });
    pid = readPid(dir);
    assert.ok(alive(pid));
  });

  it('answers version, vlog/list and memory/show over its control socket', async () => {
    assert.deepEqual(await appctl(dir, 'version'), {
      out: `ts-fixture (TypeSwitch) ${packageVersion()}\n`,
      err: '',
      code: 0,
    });
    const list = await appctl(dir, 'vlog/list');
    assert.match(list.out, /^ {17}console {4}syslog {4}file\n/);
    assert.match(list.out, /\ndaemon {13}OFF {7}INFO {7}INFO\n/);
    assert.equal((await appctl(dir, 'memory/show')).out, 'atoms:2 cells:3\n');
    assert.match(
      (await appctl(dir, 'coverage/show')).out,
      /^Event coverage, avg rate over last: 5 seconds, last minute, last hour, {2}hash=[0-9a-f]{8}:\n/,
    );
    assert.equal((await appctl(dir, 'cwd')).out, '/\n');
  });

  it('refuses a second start while the pidfile names a live process', async () => {
    const r = await startFixture(dir, []);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      `ts-fixture: ${join(dir, 'ts-fixture.pid')}: already running as pid ${pid}, aborting\n`,
    );
    assert.ok(alive(pid));
  });

  it('logs to its --log-file and exits on "exit", removing the pidfile', async () => {
    assert.match(readFileSync(join(dir, 'log'), 'utf8'), /\|vlog\|INFO\|opened log file /);
    assert.deepEqual(await appctl(dir, 'exit'), { out: '', err: '', code: 0 });
    await waitFor(() => !alive(pid));
    assert.equal(existsSync(join(dir, 'ts-fixture.pid')), false);
    assert.equal(existsSync(join(dir, 'ctl')), false);
  });
});

describe('--monitor', () => {
  it('restarts a daemon that crashed, not one that exited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-monitor-'));
    try {
      assert.equal((await startFixture(dir, ['--monitor'])).code, 0);
      const first = readPid(dir);
      assert.equal((await appctl(dir, 'crash')).out, 'crashing\n');
      await waitFor(() => existsSync(join(dir, 'ts-fixture.pid')) && readPid(dir) !== first);
      const second = readPid(dir);
      assert.equal(alive(first), false);
      await waitFor(() => existsSync(join(dir, 'ctl')));
      await waitFor(() => alive(second));
      // The restarted daemon serves commands again.
      let v = await appctl(dir, 'version');
      for (let i = 0; i < 40 && v.code !== 0; i++) {
        await sleep(50);
        v = await appctl(dir, 'version');
      }
      assert.equal(v.code, 0);
      assert.equal((await appctl(dir, 'exit')).code, 0);
      await waitFor(() => !alive(second));
      assert.match(
        readFileSync(join(dir, 'log'), 'utf8'),
        /\|monitor\|ERR\|1 crashes: pid \d+ died, exit status 70, restarting/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
