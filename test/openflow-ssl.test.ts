/**
 * OpenFlow over SSL: a pssl: Controller target listens with the SSL row's key, certificate and
 * CA (certificates made with openssl for the test), and real ovs-ofctl 3.1 with -p/-c/-C
 * reaches it (show, add-flow, dump-flows); a client whose certificate another CA signed is
 * refused. An ssl: controller target connects out to a TLS controller that checks the
 * switch's certificate, and is reported connected.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Connmgr } from '../src/ofproto/connmgr/connmgr.ts';
import { TestSwitch } from '../src/ofproto/connmgr/test-switch.ts';
import { decodeMessage, encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { OfpFramer } from '../src/ofproto/openflow/framer.ts';

const OFCTL = '/usr/bin/ovs-ofctl';
let dir = '';

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

function makeCa(name: string): void {
  openssl([
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`],
    ...['-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`],
  ]);
}

function makeCert(name: string, ca: string): void {
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
  ]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createNetServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function newSwitch(): TestSwitch {
  return new TestSwitch('br0', [
    { portNo: 1, name: 'p1', hwAddr: [0xaa55, 0xaa550001] },
    { portNo: 0xfffe, name: 'br0', hwAddr: [0xe243, 0xc905da40] },
  ]);
}

const ssl = () => ({
  privateKey: join(dir, 'switch.key'),
  certificate: join(dir, 'switch.pem'),
  caCert: join(dir, 'ca.pem'),
});

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'of-ssl-'));
  makeCa('ca');
  makeCa('other-ca');
  makeCert('switch', 'ca');
  makeCert('ctl', 'ca');
  makeCert('rogue', 'other-ca');
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('OpenFlow over SSL', () => {
  it('real ovs-ofctl -p/-c/-C reaches a pssl: listener; a foreign certificate is refused', async () => {
    const port = await freePort();
    const sw = newSwitch();
    const cm = new Connmgr(sw, { rundir: null, failMode: 'secure' });
    try {
      cm.setSsl(ssl());
      cm.setControllers([{ target: `pssl:${port}:127.0.0.1` }]);
      for (let i = 0; cm.listenerPort(`pssl:${port}:127.0.0.1`) === null; i++) {
        assert.ok(i < 200, 'pssl listener');
        await new Promise((r) => setTimeout(r, 10));
      }
      const ofctl = async (key: string, args: string[]) => {
        // Asynchronously: the switch answers from this process's event loop.
        const { spawn } = await import('node:child_process');
        return new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
          const p = spawn(OFCTL, [
            '-p',
            join(dir, `${key}.key`),
            '-c',
            join(dir, `${key}.pem`),
            '-C',
            join(dir, 'ca.pem'),
            '--timeout=5',
            ...args,
          ]);
          let out = '';
          let err = '';
          p.stdout.on('data', (d) => {
            out += d;
          });
          p.stderr.on('data', (d) => {
            err += d;
          });
          p.on('close', (status) => resolve({ status, out, err }));
        });
      };
      const target = `ssl:127.0.0.1:${port}`;
      const show = await ofctl('ctl', ['show', target]);
      assert.equal(show.status, 0, show.err);
      assert.match(show.out, /^OFPT_FEATURES_REPLY \(xid=0x2\): dpid:/);
      assert.match(show.out, / 1\(p1\): addr:aa:55:aa:55:00:01/);
      const add = await ofctl('ctl', ['add-flow', target, 'in_port=1,actions=drop']);
      assert.equal(add.status, 0, add.err);
      const dump = await ofctl('ctl', ['dump-flows', '--no-stats', target]);
      assert.equal(dump.status, 0, dump.err);
      assert.equal(dump.out, ' in_port=1 actions=drop\n');
      const rogue = await ofctl('rogue', ['show', target]);
      assert.notEqual(rogue.status, 0, 'a certificate from another CA is refused');
      assert.equal(sw.flowTables.count, 1);
    } finally {
      cm.close();
    }
  });

  it('an ssl: controller target connects to a TLS controller that checks its certificate', async () => {
    let peerCn = '';
    let gotHello = false;
    const srv = createTlsServer(
      {
        key: readFileSync(join(dir, 'ctl.key')),
        cert: readFileSync(join(dir, 'ctl.pem')),
        ca: readFileSync(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (sock: TLSSocket) => {
        peerCn = String(sock.getPeerCertificate().subject?.CN ?? '');
        const fr = new OfpFramer();
        sock.write(encodeMessage({ version: 4, xid: 1, msg: { type: 'hello', versions: [4] } }));
        sock.on('data', (d: Buffer) => {
          for (const ev of fr.push(new Uint8Array(d))) {
            if (ev.kind !== 'message') continue;
            const r = decodeMessage(ev.bytes);
            if (r.ok && r.frame.msg.type === 'hello') gotHello = true;
          }
        });
        sock.on('error', () => {});
      },
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const a = srv.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    const cm = new Connmgr(newSwitch(), { rundir: null, failMode: 'secure' });
    try {
      // Without the SSL row the controller cannot be used.
      cm.setControllers([{ target: `ssl:127.0.0.1:${port}` }]);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(cm.controllerStatus()[0].isConnected, false);
      assert.match(
        cm.controllerStatus()[0].status.last_error ?? '',
        /Private key must be configured/,
      );
      cm.setSsl(ssl());
      for (let i = 0; !cm.controllerStatus()[0]?.isConnected; i++) {
        assert.ok(i < 300, 'ssl controller connection');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(peerCn, 'switch');
      assert.equal(gotHello, true);
    } finally {
      cm.close();
      srv.close();
    }
  });
});
