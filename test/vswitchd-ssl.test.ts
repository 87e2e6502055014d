/**
 * OpenFlow over SSL configured through the database, as an administrator does it:
 * `ovs-vsctl set-ssl KEY CERT CA` and `set-controller br0 pssl:PORT:127.0.0.1`. Real
 * ovs-ofctl 3.1 with the client's key, certificate and the CA reaches the bridge, for our
 * switch and for real ovs-vswitchd alike; a certificate another CA signed is refused. Certificates are made with openssl for the test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

let certs = '';

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: certs, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

function makeCert(name: string, ca = 'ca'): void {
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`].concat([
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ]),
  );
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`].concat([
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
    ]),
  );
}

/** Real ovs-ofctl inside the switch's network namespace (the harness gives it one). */
function ofctl(s: Stack, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(
    '/usr/bin/nsenter',
    ['-t', String(s.vswitchd.pid), '-n', '/usr/bin/ovs-ofctl', '--timeout=5', ...args],
    { encoding: 'utf8', env: s.env },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

const clientCreds = (): string[] => [
  `--private-key=${join(certs, 'client.key')}`,
  `--certificate=${join(certs, 'client.pem')}`,
  `--ca-cert=${join(certs, 'ca.pem')}`,
];

before(() => {
  certs = mkdtempSync(join(tmpdir(), 'vswitchd-ssl-'));
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key'].concat([
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
    ]),
  );
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue-ca.key'].concat([
      '-out',
      'rogue-ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=rogue-ca',
    ]),
  );
  makeCert('switch');
  makeCert('client');
  makeCert('rogue', 'rogue-ca');
});

after(() => rmSync(certs, { recursive: true, force: true }));

for (const which of ['ours', 'real'] as const) {
  describe(`set-ssl and a pssl: controller target (${which} ovs-vswitchd)`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ which });
      const lo = spawnSync('/usr/bin/nsenter', [
        '-t',
        String(s.vswitchd.pid),
        '-n',
        'ip',
        'link',
        'set',
        'lo',
        'up',
      ]);
      assert.equal(lo.status, 0, 'loopback up in the switch namespace');
      const key = join(certs, 'switch.key');
      const cert = join(certs, 'switch.pem');
      const ca = join(certs, 'ca.pem');
      for (const cmd of [
        ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
        ['set-ssl', key, cert, ca],
        ['set-controller', 'br0', 'pssl:16653:127.0.0.1'],
      ]) {
        const r = vsctl(s, cmd);
        assert.equal(r.status, 0, r.stderr);
      }
    });
    after(() => stopStack(s));

    it('real ovs-ofctl reaches the bridge with a certificate the CA signed', async () => {
      let r = ofctl(s, [...clientCreds(), 'show', 'ssl:127.0.0.1:16653']);
      // The switch applies the rows a moment after ovs-vsctl returns.
      for (let i = 0; i < 50 && r.status !== 0; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = ofctl(s, [...clientCreds(), 'show', 'ssl:127.0.0.1:16653']);
      }
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /^OFPT_FEATURES_REPLY/m);
      assert.match(r.out, /LOCAL\(br0\)/);
      const add = ofctl(s, [
        ...clientCreds(),
        'add-flow',
        'ssl:127.0.0.1:16653',
        'priority=7,actions=drop',
      ]);
      assert.equal(add.status, 0, add.out);
      const dump = ofctl(s, [...clientCreds(), '--no-stats', 'dump-flows', 'ssl:127.0.0.1:16653']);
      assert.equal(dump.status, 0, dump.out);
      assert.match(dump.out, /priority=7 actions=drop/);
    });

    it('a client whose certificate another CA signed gets nothing', () => {
      const rogue = [
        `--private-key=${join(certs, 'rogue.key')}`,
        `--certificate=${join(certs, 'rogue.pem')}`,
        `--ca-cert=${join(certs, 'ca.pem')}`,
      ];
      const r = ofctl(s, [...rogue, 'show', 'ssl:127.0.0.1:16653']);
      assert.notEqual(r.status, 0, r.out);
      assert.doesNotMatch(r.out, /OFPT_FEATURES_REPLY/);
    });
  });
}
