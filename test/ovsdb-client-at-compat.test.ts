// ovsdb-client's SSL options as OVS's "SSL db" autotest checks them, as our own scenario run
// with real OVS 3.1's tools and with ours (see ovsdb-at-harness.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { both, HAVE_REAL } from './ovsdb-at-harness.ts';

describe('ovsdb-client SSL as OVS autotests check it', {
  skip: !HAVE_REAL && 'no real OVS',
}, () => {
  it('--ssl-protocols and --ssl-ciphers limit the handshake; failures name OpenSSL reasons', () => {
    both(
      `P="ovs-pki --dir=$PWD/pki --log=$PWD/pki.log"
       ($P init && $P req+sign srv switch && $P req+sign cli switch) >/dev/null 2>&1
       ovsdb-tool create db schema
       ovsdb-server -vconsole:off --detach --no-chdir --pidfile --log-file --private-key=srv-privkey.pem --certificate=srv-cert.pem --ca-cert=pki/switchca/cacert.pem --remote=pssl:0:127.0.0.1 db
       for i in $(seq 50); do PORT=$(sed -n 's/.*0:127.0.0.1: listening on port \\([0-9]*\\)$/\\1/p' ovsdb-server.log); test -n "$PORT" && break; sleep 0.1; done
       C="ovsdb-client --private-key=cli-privkey.pem --certificate=cli-cert.pem --ca-cert=pki/switchca/cacert.pem"
       $C --ssl-protocols=TLSv1.2,TLSv1.1 --ssl-ciphers='HIGH:!aNULL:!MD5' transact ssl:127.0.0.1:$PORT '["ordinals",{"op":"select","table":"ordinals","where":[]}]'
       $C --ssl-protocols=TLSv1 transact ssl:127.0.0.1:$PORT '["ordinals"]' 2>err; echo "status $?"
       sed -n "/failed to connect/s/ (.*)/ (...)/p" err | sed "s/$PORT/PORT/"
       $C --ssl-protocols=TLSv1.2 --ssl-ciphers=ECDHE-ECDSA-AES256-GCM-SHA384 transact ssl:127.0.0.1:$PORT '["ordinals"]' 2>err; echo "status $?"
       grep -c 'sslv3 alert handshake failure' err
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(
          out,
          '[{"rows":[]}]\nstatus 1\novsdb-client: failed to connect to "ssl:127.0.0.1:PORT" (...)\n' +
            'status 1\n1\n',
        );
      },
    );
  });
});
