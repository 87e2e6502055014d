// Behaviours that Open vSwitch's own autotest cases (tests/ovsdb-*.at, ovs-vsctl.at) check,
// written as our own scenarios: each shell scenario runs once with real OVS 3.1's tools
// (/usr/sbin, /usr/bin) and once with ours (bin/) first on the PATH, in a fresh directory,
// and both must print what real OVS prints. CI has no OVS source tree, so these guard what
// scripts/ovs-testsuite.sh found.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { both, HAVE_REAL, INSERT } from './ovsdb-at-harness.ts';

describe('ovsdb-server as OVS autotests check it', { skip: !HAVE_REAL && 'no real OVS' }, () => {
  it('a torn log tail is reported with the file named as given, then cut off', () => {
    both(
      `ovsdb-tool create db schema
       ovsdb-server --remote=punix:socket db --run="ovsdb-client transact unix:socket ${INSERT(0, 'zero').replace(/"/g, '\\"')}" >/dev/null
       echo xxx >> db
       ovsdb-server --remote=punix:socket db --run="ovsdb-client transact unix:socket ${INSERT(1, 'one').replace(/"/g, '\\"')}" 2>&1 >/dev/null
       echo ---
       ovsdb-server --remote=punix:socket db --run="ovsdb-client transact unix:socket '[\\"ordinals\\"]'" 2>&1`,
      (out) => {
        assert.match(
          out,
          /\|ovsdb_server\|(ERR|WARN)\|syntax error: db: parse error at offset \d+ in header line "xxx"\n/,
        );
        // The next start finds a clean file.
        assert.match(out, /---\n\[\]\n$/);
      },
    );
  });

  it('a record that does not apply is reported by its JSON, without the file name', () => {
    both(
      `ovsdb-tool create db schema
       printf 'OVSDB JSON 15 ffbcdae4b0386265f9ea3280dd7c8f0b72a20e56\\n{"invalid":{}}\\n' >> db
       ovsdb-server --remote=punix:socket db --run="true" 2>&1`,
      (out) => {
        assert.match(
          out,
          /\|syntax "\{"invalid":\{\}\}": unknown table: No table named invalid\.\n/,
        );
      },
    );
  });

  it('add-db of a file already served says "already open"; adding disconnects unaware clients', () => {
    both(
      `ovsdb-tool create db1 schema; ovsdb-tool create db2 schema2
       ovsdb-server --detach --no-chdir --pidfile --remote=punix:db.sock db1
       ovsdb-client --detach --no-chdir --pidfile=c.pid --no-db-change-aware --no-headings monitor _Server Database name > unaware.out 2>/dev/null
       ovs-appctl -t ovsdb-server ovsdb-server/add-db db2; echo "add: $?"
       ovs-appctl -t ovsdb-server ovsdb-server/add-db db2; echo "again: $?"
       ovs-appctl -t ovsdb-server ovsdb-server/list-dbs
       for i in 1 2 3 4 5 6 7 8 9 10; do test -e c.pid || break; sleep 0.3; done
       test -e c.pid && echo "client still running"
       ovs-appctl -t ovsdb-server exit
       sed 's/^[0-9a-f-]* /U /' unaware.out | sort`,
      (out) => {
        assert.equal(
          out,
          'add: 0\novsdb error: db2: already open\novs-appctl: ovsdb-server: server returned an ' +
            'error\nagain: 2\n_Server\nmydb\nordinals\nU initial _Server\nU initial ordinals\n',
        );
      },
    );
  });

  it('monitor_cond_since on a standalone database: not found, last id all zeros', () => {
    both(
      `ovsdb-tool create db schema
       ovsdb-server --detach --no-chdir --pidfile --remote=punix:socket db
       ovsdb-client transact unix:socket ${INSERT(1, 'one')} >/dev/null
       ovsdb-client --detach --no-chdir --pidfile=c.pid -f csv monitor-cond-since unix:socket ordinals 11111111-1111-1111-1111-111111111111 '[["name","==","one"],["name","==","ten"]]' ordinals name > out 2>/dev/null
       ovsdb-client transact unix:socket ${INSERT(10, 'ten')} >/dev/null
       ovsdb-client transact unix:socket '["ordinals"]' >/dev/null
       ovs-appctl -t ovsdb-server exit
       for i in 1 2 3 4 5 6 7 8 9 10; do test -e c.pid || break; sleep 0.3; done
       grep last_id out`,
      (out) => {
        const zero = '00000000-0000-0000-0000-000000000000';
        assert.equal(out, `found: false, last_id: ${zero}\nlast_id: ${zero}\n`);
      },
    );
  });

  it('a db: remote with read_only=true refuses writes; ptcp:0 logs its port', () => {
    both(
      `ovsdb-tool create db schema2
       ovsdb-tool transact db '["mydb",{"op":"insert","table":"Root","row":{"managers":["named-uuid","x"]}},{"op":"insert","table":"Manager","uuid-name":"x","row":{"target":"ptcp:0:127.0.0.1","read_only":true}}]' >/dev/null
       ovsdb-server -vconsole:off --log-file --detach --no-chdir --pidfile --remote=db:mydb,Root,managers db
       for i in $(seq 50); do PORT=$(sed -n 's/.*0:127.0.0.1: listening on port \\([0-9]*\\)$/\\1/p' ovsdb-server.log); test -n "$PORT" && break; sleep 0.1; done
       ovsdb-client transact tcp:127.0.0.1:$PORT '["mydb",{"op":"select","table":"things","where":[]},{"op":"insert","table":"things","row":{"n":2}}]'
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(
          out,
          '[{"rows":[]},{"details":"insert operation not allowed when database server is in ' +
            'read only mode","error":"not allowed"}]\n',
        );
      },
    );
  });

  it("online conversion ends an unaware client's pending transaction with an end of file", () => {
    both(
      `mkdir dir; ovsdb-tool create dir/db schema; ln -s dir/db db; ln -s dir/.db.~lock~ .db.~lock~
       ovsdb-server --detach --no-chdir --pidfile --remote=punix:db.sock db
       ovsdb-client --detach --no-chdir --pidfile=t.pid --no-db-change-aware transact '["ordinals",{"op":"wait","table":"ordinals","where":[["name","==","seven"]],"columns":["name"],"rows":[],"until":"!="}]' > t.out 2> t.err
       sed 's/,"name":{"type":"string"}//' schema > new-schema
       cmp -s schema new-schema && echo 'schema unchanged'
       ovsdb-client convert new-schema
       for i in $(seq 50); do test -e t.pid || break; sleep 0.1; done
       cat t.out t.err
       ovsdb-client needs-conversion new-schema
       test -h db && test -f dir/db && echo 'db is still a link'
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(
          out,
          'ovsdb-client: transaction failed (End of file)\nno\ndb is still a link\n',
        );
      },
    );
  });

  it('a detached lock client says nothing on stderr when the server goes away', () => {
    both(
      `ovsdb-tool create db schema
       ovsdb-server --detach --no-chdir --pidfile --remote=punix:socket db
       ovsdb-client --detach --no-chdir lock unix:socket lock0 > c1 2>&1
       ovs-appctl -t ovsdb-server exit
       sleep 1; cat c1; ls *.ctl 2>/dev/null`,
      (out) => {
        assert.equal(out, '{"locked":true}\n');
      },
    );
  });

  it('--monitor: a restarted server still serves what add-db and add-remote added', () => {
    both(
      `ovsdb-tool create db1 schema; ovsdb-tool create db2 schema2
       ovsdb-server -vconsole:off --monitor --detach --no-chdir --pidfile --log-file db1
       ovs-appctl -t ovsdb-server ovsdb-server/add-db db2
       ovs-appctl -t ovsdb-server ovsdb-server/add-remote punix:s1
       cp ovsdb-server.pid old.pid; kill -SEGV $(cat old.pid)
       for i in $(seq 100); do p=$(cat ovsdb-server.pid 2>/dev/null); test -n "$p" && test "$p" != "$(cat old.pid)" && break; sleep 0.1; done
       for i in $(seq 100); do ovs-appctl -t ovsdb-server version >/dev/null 2>&1 && break; sleep 0.1; done
       ovs-appctl -t ovsdb-server ovsdb-server/list-dbs
       ovs-appctl -t ovsdb-server ovsdb-server/list-remotes
       ovs-appctl -t ovsdb-server exit`,
      (out) => {
        assert.equal(out, '_Server\nmydb\nordinals\npunix:s1\n');
      },
    );
  });
});
