// ovs-vsctl behaviours that Open vSwitch's own autotest cases (tests/ovs-vsctl.at) check,
// as our own scenarios run with real OVS 3.1's tools and with ours (see ovsdb-at-harness.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { both, HAVE_REAL } from './ovsdb-at-harness.ts';

describe('ovs-vsctl as OVS autotests check it', { skip: !HAVE_REAL && 'no real OVS' }, () => {
  it('-vPATTERN:console:FORMAT formats its warnings', () => {
    both(
      `ovsdb-tool create db /usr/share/openvswitch/vswitch.ovsschema
       ovsdb-tool transact db '["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]' >/dev/null
       ovsdb-server --detach --no-chdir --pidfile --remote=punix:db.sock db
       ovs-vsctl -vPATTERN:console:'%c|%p|%m' --no-wait -vreconnect:emer -- create Bridge name=br0 2>&1 >/dev/null
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(
          out,
          'db_ctl_base|WARN|applying "create" command to table Bridge without --id option will ' +
            'have no effect\n',
        );
      },
    );
  });

  it('--bootstrap-ca-cert saves the CA the server sends (with --peer-ca-cert), then verifies', () => {
    both(
      `P="ovs-pki --dir=$PWD/pki --log=$PWD/pki.log"
       ($P init && $P req+sign vsctl switch && $P req+sign ovsdbserver controller) >/dev/null 2>&1
       ovsdb-tool create conf.db /usr/share/openvswitch/vswitch.ovsschema
       ovsdb-tool transact conf.db '["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]' >/dev/null
       ovsdb-server -vconsole:off --detach --no-chdir --pidfile --log-file --private-key=ovsdbserver-privkey.pem --certificate=ovsdbserver-cert.pem --ca-cert=pki/switchca/cacert.pem --peer-ca-cert=pki/controllerca/cacert.pem --remote=pssl:0:127.0.0.1 conf.db
       for i in $(seq 50); do PORT=$(sed -n 's/.*0:127.0.0.1: listening on port \\([0-9]*\\)$/\\1/p' ovsdb-server.log); test -n "$PORT" && break; sleep 0.1; done
       V="ovs-vsctl -t 5 --no-wait --db=ssl:127.0.0.1:$PORT --private-key=vsctl-privkey.pem --certificate=vsctl-cert.pem --bootstrap-ca-cert=cacert.pem"
       $V list-br >/dev/null 2>&1; echo "first: $?"
       F() { openssl x509 -noout -fingerprint -in "$1"; }
       test "$(F cacert.pem)" = "$(F pki/controllerca/cacert.pem)" && echo "saved the controller CA"
       $V add-br br0; $V list-br
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(out, 'first: 1\nsaved the controller CA\nbr0\n');
      },
    );
  });

  it('a passive --db waits for the server until --timeout, then dies of SIGALRM', () => {
    both(
      `ovs-vsctl --db=punix:foo --timeout=1 -vreconnect:emer -- init 2>err; echo "status $?"
       grep -c 'terminating with signal' err`,
      (out) => {
        // (bash may first report the "Alarm clock" death itself)
        assert.match(out, /(^|\n)status 142\n1\n$/);
      },
    );
  });
});
