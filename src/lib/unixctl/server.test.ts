import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { unixctlCommand, unixctlConnect, unixctlTransact } from './client.ts';
import { UnixctlCommands, UnixctlError, UnixctlServer } from './server.ts';
import { packageVersion } from './version.ts';

const run = promisify(execFile);

/** Runs a command, resolving with stdout, stderr and exit code whatever the code. */
async function tool(
  cmd: string,
  args: string[],
): Promise<{ out: string; err: string; code: number }> {
  try {
    const r = await run(cmd, args, { timeout: 10_000 });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { out: x.stdout, err: x.stderr, code: x.code };
  }
}

describe('UnixctlServer with real ovs-appctl 3.1 as the client', () => {
  let dir: string;
  let server: UnixctlServer;
  let path: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-unixctl-'));
    path = join(dir, 'test.ctl');
    const commands = new UnixctlCommands();
    commands.register('echo-args', 'ARG...', 1, 3, (args) => args.join(' '));
    commands.register('fail', '', 0, 0, () => {
      throw new UnixctlError('it failed');
    });
    commands.register('later', '', 0, 0, async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 'done\n';
    });
    commands.register('empty', '', 0, 0, () => undefined);
    commands.register('hidden', null, 0, 0, () => 'x');
    commands.register('structured', null, 0, 0, () => ({ a: [1, 'b'] }));
    commands.register('hang', null, 0, 0, () => new Promise<string>(() => {}));
    server = await UnixctlServer.create({ program: 'test-daemon', path, commands });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers version in OVS's shape with our name", async () => {
    const r = await tool('/usr/bin/ovs-appctl', ['-t', path, 'version']);
    assert.deepEqual(r, {
      out: `test-daemon (TypeSwitch) ${packageVersion()}\n`,
      err: '',
      code: 0,
    });
  });

  it("lists commands sorted, in OVS's layout, hiding those without usage", async () => {
    const r = await tool('/usr/bin/ovs-appctl', ['-t', path, 'list-commands']);
    assert.equal(
      r.out,
      'The available commands are:\n' +
        '  echo-args               ARG...\n' +
        '  empty                   \n' +
        '  fail                    \n' +
        '  later                   \n' +
        '  list-commands           \n' +
        '  version                 \n',
    );
  });

  it('passes arguments and appends the newline OVS adds', async () => {
    const r = await tool('/usr/bin/ovs-appctl', ['-t', path, 'echo-args', 'a', 'b c']);
    assert.deepEqual(r, { out: 'a b c\n', err: '', code: 0 });
    const later = await tool('/usr/bin/ovs-appctl', ['-t', path, 'later']);
    assert.equal(later.out, 'done\n');
    const empty = await tool('/usr/bin/ovs-appctl', ['-t', path, 'empty']);
    assert.deepEqual(empty, { out: '', err: '', code: 0 });
  });

  it("gives OVS's errors for unknown commands and wrong argument counts (exit 2)", async () => {
    const cases: [string[], string][] = [
      [
        ['bogus'],
        '"bogus" is not a valid command (use "list-commands" to see a list of valid commands)\n',
      ],
      [['echo-args'], '"echo-args" command requires at least 1 arguments\n'],
      [['echo-args', '1', '2', '3', '4'], '"echo-args" command takes at most 3 arguments\n'],
      [['fail'], 'it failed\n'],
    ];
    for (const [args, text] of cases) {
      const r = await tool('/usr/bin/ovs-appctl', ['-t', path, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.err, `${text}ovs-appctl: ${path}: server returned an error\n`);
    }
  });

  it('rejects non-string arguments', async () => {
    const s = await unixctlConnect(path);
    await assert.rejects(s.request('echo-args', [1]), {
      message: '"echo-args" command has non-string argument\n',
    });
    s.close();
  });

  it('answers in JSON after set-options --format json', async () => {
    const s = await unixctlConnect(path);
    assert.deepEqual(await unixctlTransact(s, 'set-options', ['--format', 'json']), {
      ok: true,
      result: '',
    });
    assert.deepEqual(await unixctlTransact(s, 'empty', []), { ok: true, result: '' });
    assert.deepEqual(await unixctlTransact(s, 'structured', []), {
      ok: true,
      result: { a: [1, 'b'] },
    });
    s.close();
    // A new connection starts in text format again.
    assert.deepEqual(await unixctlCommand(path, 'structured'), {
      ok: true,
      result: '{"a":[1,"b"]}\n',
    });
  });

  it('serves our ovs-appctl: --format json, and --timeout ends by SIGALRM as OVS does', async () => {
    const ours = join(import.meta.dirname, '../../../bin/ovs-appctl');
    assert.deepEqual(await tool(ours, ['-t', path, '-f', 'json', 'structured']), {
      out: '{"a":[1,"b"]}\n',
      err: '',
      code: 0,
    });
    assert.deepEqual(await tool(ours, ['-t', path, '--format=json', 'version']), {
      out: `test-daemon (TypeSwitch) ${packageVersion()}\n`,
      err: '',
      code: 0,
    });
    const hung = await run(ours, ['-t', path, '-T', '1', 'hang']).catch((e) => e);
    assert.equal(hung.signal, 'SIGALRM');
    const realHung = await run('/usr/bin/ovs-appctl', ['-t', path, '-T', '1', 'hang']).catch(
      (e) => e,
    );
    assert.equal(realHung.signal, 'SIGALRM');
  });
});

describe('our ovs-appctl against real ovsdb-server 3.1', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ts-appctl-'));
    await run('/usr/bin/ovsdb-tool', [
      'create',
      join(dir, 'db'),
      '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    // No --unixctl: the socket gets OVS's default name, $OVS_RUNDIR/ovsdb-server.PID.ctl.
    await run(
      '/usr/sbin/ovsdb-server',
      [
        `--remote=punix:${join(dir, 'db.sock')}`,
        '--pidfile',
        '--detach',
        '--no-chdir',
        '-vconsole:off',
        join(dir, 'db'),
      ],
      { env: { ...process.env, OVS_RUNDIR: dir } },
    );
    const pid = readFileSync(join(dir, 'ovsdb-server.pid'), 'utf8').trim();
    symlinkSync(join(dir, `ovsdb-server.${pid}.ctl`), join(dir, 'ctl'));
  });
  after(async () => {
    await tool('/usr/bin/ovs-appctl', ['-t', join(dir, 'ctl'), 'exit']);
    rmSync(dir, { recursive: true, force: true });
  });

  const ours = join(import.meta.dirname, '../../../bin/ovs-appctl');
  for (const args of [
    ['version'],
    ['list-commands'],
    ['vlog/list'],
    ['bogus'],
    ['version', 'x'],
    ['vlog/set', 'foo'],
    ['vlog/list-pattern'],
  ]) {
    it(`prints what real ovs-appctl prints for ${args.join(' ')}`, async () => {
      const t = ['-t', join(dir, 'ctl'), ...args];
      const [a, b] = await Promise.all([tool(ours, t), tool('/usr/bin/ovs-appctl', t)]);
      assert.deepEqual(a, b);
    });
  }

  it('finds the daemon by name through its pidfile (OVS_RUNDIR)', async () => {
    // Our pidfile reader falls back to a liveness check where real OVS needs the fcntl lock.
    const r = await new Promise<{ out: string; code: number }>((resolve) => {
      execFile(
        ours,
        ['-t', 'ovsdb-server', 'version'],
        { env: { ...process.env, OVS_RUNDIR: dir } },
        (err, out) => resolve({ out, code: err ? (err as { code: number }).code : 0 }),
      );
    });
    assert.deepEqual(r, { out: 'ovsdb-server (Open vSwitch) 3.1.0\n', code: 0 });
  });

  it('reports a missing socket and a missing pidfile as real ovs-appctl does', async () => {
    for (const target of [join(dir, 'nope.ctl'), 'nope']) {
      const t = ['-t', target, 'version'];
      const opts = { env: { ...process.env, OVS_RUNDIR: dir } };
      const [a, b] = await Promise.all([
        run(ours, t, opts).catch((e) => e),
        run('/usr/bin/ovs-appctl', t, opts).catch((e) => e),
      ]);
      assert.equal(a.code, 1);
      assert.equal(a.code, b.code);
      // Log lines carry timestamps: compare from the module name on.
      const strip = (s: string): string => s.replace(/^[^|\n]*\|\d+\|/gm, '');
      assert.equal(strip(a.stderr), strip(b.stderr));
    }
  });
});
