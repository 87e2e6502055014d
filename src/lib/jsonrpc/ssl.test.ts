import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, listen } from './open.ts';
import type { TlsOptions } from './stream.ts';

/** Makes a CA and a certificate signed by it with the openssl tool (as ovs-pki would). */
function makePki(dir: string, name: string): { ca: string; make: (who: string) => TlsOptions } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}-ca`,
    '-keyout',
    `${name}-ca.key`,
    '-out',
    `${name}-ca.pem`,
  );
  return {
    ca: join(dir, `${name}-ca.pem`),
    make: (who) => {
      ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${who}`,
        '-keyout',
        `${who}.key`,
        '-out',
        `${who}.csr`,
      );
      ssl(
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        `${name}-ca.pem`,
        '-CAkey',
        `${name}-ca.key`,
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${who}.pem`,
      );
      return {
        privateKey: join(dir, `${who}.key`),
        certificate: join(dir, `${who}.pem`),
        caCert: join(dir, `${name}-ca.pem`),
      };
    },
  };
}

describe('ssl: and pssl:', () => {
  let dir: string;
  let server: TlsOptions;
  let client: TlsOptions;
  let stranger: TlsOptions;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-ssl-'));
    const pki = makePki(dir, 'good');
    server = pki.make('server');
    client = pki.make('client');
    // Signed by another CA, but trusting ours: the server must refuse it.
    const other = makePki(dir, 'other').make('stranger');
    stranger = { ...other, caCert: pki.ca };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('carries JSON-RPC between peers whose certificates our CA signed', async () => {
    const p = await listen(
      'pssl:0:127.0.0.1',
      (s) => {
        s.onRequest = (req, sess) => sess.reply(req.id, ['ok', req.method]);
      },
      { tls: server },
    );
    const c = await connect(`ssl:127.0.0.1:${p.port}`, { tls: client });
    assert.deepEqual(await c.request('hello', []), ['ok', 'hello']);
    c.close();
    await p.close();
  });

  it('refuses a peer whose certificate another CA signed', async () => {
    let accepted = 0;
    const p = await listen(
      'pssl:0:127.0.0.1',
      () => {
        accepted++;
      },
      { tls: server },
    );
    const attempt = connect(`ssl:127.0.0.1:${p.port}`, { tls: stranger, timeoutMs: 3000 }).then(
      async (s) => {
        // TLS 1.3 may complete the client side before the server's verdict arrives.
        await s.request('x', [], { timeoutMs: 2000 });
      },
    );
    await assert.rejects(attempt);
    assert.equal(accepted, 0);
    await p.close();
  });

  it('talks to real ovsdb-server 3.1 over ssl', async () => {
    execFileSync('ovsdb-tool', [
      'create',
      join(dir, 'db'),
      '/usr/share/openvswitch/vswitch.ovsschema',
    ]);
    const srv: ChildProcess = spawn(
      '/usr/sbin/ovsdb-server',
      [
        '--remote=pssl:0:127.0.0.1',
        `--private-key=${server.privateKey}`,
        `--certificate=${server.certificate}`,
        `--ca-cert=${server.caCert}`,
        `--unixctl=${join(dir, 'ctl')}`,
        `--log-file=${join(dir, 'log')}`,
        '--no-chdir',
        '-vconsole:off',
        join(dir, 'db'),
      ],
      { stdio: 'ignore' },
    );
    try {
      let port = 0;
      for (let i = 0; i < 100 && !port; i++) {
        await sleep(50);
        // ovsdb-server logs the port it bound: "pssl:0:127.0.0.1: listening on port N".
        const m = /listening on port (\d+)/.exec(safeRead(join(dir, 'log')));
        if (m) port = Number(m[1]);
      }
      assert.ok(port > 0, 'ovsdb-server reported its port');
      const c = await connect(`ssl:127.0.0.1:${port}`, { tls: client });
      assert.deepEqual(await c.request('list_dbs', []), ['Open_vSwitch', '_Server']);
      c.close();
    } finally {
      srv.kill('SIGTERM');
    }
  });
});

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
