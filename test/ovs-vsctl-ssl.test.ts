/**
 * ssl: remotes with -p/-c/-C: our ovs-vsctl and real ovs-vsctl 3.1 against a real
 * ovsdb-server listening on pssl (certificates made with openssl for the test): the same
 * results with a good CA, the same warning and error with a CA that does not sign the server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { normaliseLog, ourVsctl, REAL_VSCTL, ROOT } from './ovs-vsctl-harness.ts';

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

test('ssl: remote with private key, certificate and CA certificate, as real ovs-vsctl', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsctl-ssl-'));
  let server: ChildProcess | undefined;
  try {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
    ]);
    for (const n of ['server', 'client']) {
      openssl(dir, [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${n}.key`,
        '-out',
        `${n}.csr`,
        '-subj',
        `/CN=${n}`,
      ]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${n}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${n}.pem`,
        '-days',
        '2',
      ]);
    }
    spawnSync('/usr/bin/ovsdb-tool', [
      'create',
      join(dir, 'db'),
      '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    const port = await freePort();
    server = spawn(
      '/usr/sbin/ovsdb-server',
      [
        `--remote=pssl:${port}:127.0.0.1`,
        `--private-key=${join(dir, 'server.key')}`,
        `--certificate=${join(dir, 'server.pem')}`,
        `--ca-cert=${join(dir, 'ca.pem')}`,
        `--unixctl=${join(dir, 'ctl')}`,
        '--no-chdir',
        '-vconsole:off',
        join(dir, 'db'),
      ],
      { stdio: 'ignore' },
    );
    const run = (which: 'ours' | 'real', ca: string, args: string[]) => {
      const full = [
        '-p',
        join(dir, 'client.key'),
        '-c',
        join(dir, 'client.pem'),
        '-C',
        join(dir, ca),
        `--db=ssl:127.0.0.1:${port}`,
        '--no-wait',
        ...args,
      ];
      const r =
        which === 'real'
          ? spawnSync(REAL_VSCTL, full, { encoding: 'utf8', argv0: 'ovs-vsctl', timeout: 20000 })
          : spawnSync(process.execPath, [ourVsctl(), ...full], {
              encoding: 'utf8',
              timeout: 20000,
              env: { ...process.env, OVS_PKGDATADIR: join(ROOT, 'schema') },
            });
      return `${r.status}\n${r.stdout}${normaliseLog(r.stderr)}`;
    };
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = run('real', 'ca.pem', ['show']).startsWith('0');
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(ready, 'ovsdb-server did not start');
    assert.equal(run('ours', 'ca.pem', ['add-br', 'br0']), '0\n');
    assert.equal(run('real', 'ca.pem', ['add-br', 'br1']), '0\n');
    assert.equal(run('ours', 'ca.pem', ['list-br']), run('real', 'ca.pem', ['list-br']));
    assert.equal(run('ours', 'ca.pem', ['list-br']), '0\nbr0\nbr1\n');
    // The server's own certificate is no CA for it: verification fails the same way.
    const bad = run('ours', 'server.pem', ['list-br']);
    assert.equal(bad, run('real', 'server.pem', ['list-br']));
    assert.match(
      bad,
      /stream_ssl\|WARN\|SSL_connect: .*certificate verify failed\n.*\(Protocol error\)\n$/,
    );
  } finally {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
