/**
 * ovs/route/* and netdev-dummy/ip4addr, ip6addr: the same command sequence was run against
 * real ovs-vswitchd 3.1 (--enable-dummy --disable-system-route, bridge br0 of type dummy, in a
 * temp dir, 2026-11-24); every reply and error below is what it answered.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { DummyNetdev } from '../netdev/dummy.ts';
import {
  dummyAddrs,
  mapped4,
  OvsRouter,
  parseIpv4Cidr,
  parseIpv4Masked,
  registerRouterCommands,
} from './ovs-router.ts';

const dev = new DummyNetdev('br0', 'dummy-internal');
after(() => dev.close());

type Reply = { ok: true; out: string } | { ok: false; err: string };

function setup(): (cmd: string, ...args: string[]) => Reply {
  const cmds = new UnixctlCommands();
  registerRouterCommands(cmds, new OvsRouter(dummyAddrs));
  return (cmd, ...args) => {
    const c = cmds.commands.get(cmd);
    assert.ok(c, cmd);
    assert.ok(args.length >= c.minArgs && args.length <= c.maxArgs, `${cmd} arity`);
    try {
      const out = c.handler(args, { format: 'text' } as never);
      assert.equal(typeof out, 'string');
      return { ok: true, out: out as string };
    } catch (e) {
      assert.ok(e instanceof UnixctlError, String(e));
      return { ok: false, err: e.message };
    }
  };
}

const ok = (out = 'OK'): Reply => ({ ok: true, out });
const err = (e: string): Reply => ({ ok: false, err: e });

test('routes take their source address from the device, by destination or gateway', () => {
  const run = setup();
  // No address on br0 yet: no source for the route.
  assert.deepEqual(
    run('ovs/route/add', '198.19.0.0/16', 'br0', '198.18.0.254'),
    err('Error while inserting route.'),
  );
  assert.deepEqual(run('netdev-dummy/ip4addr', 'br0', '198.18.0.1/255.255.255.0'), ok());
  assert.deepEqual(
    run('netdev-dummy/ip4addr', 'nosuch', '198.18.0.1/24'),
    err('Unknown Dummy Interface'),
  );
  assert.deepEqual(run('ovs/route/add', '198.19.0.0/16', 'br0', '198.18.0.254'), ok());
  assert.deepEqual(
    run('ovs/route/add', '198.19.7.9/16', 'br0', '198.18.0.253', 'pkt_mark=0x10'),
    ok(),
  );
  assert.deepEqual(run('ovs/route/add', '198.18.0.0/24', 'br0'), ok());
  assert.deepEqual(
    run('ovs/route/add', '198.19.1.0/24', 'br0', 'bogus'),
    err('Invalid pkt_mark or gateway'),
  );
  assert.deepEqual(
    run('ovs/route/add', '198.19.1.0/24', 'br0', '198.18.0.9', 'pkt_mark=x'),
    err('Invalid pkt_mark'),
  );
  assert.deepEqual(run('ovs/route/add', 'nonsense', 'br0'), err('Invalid parameters'));
  assert.deepEqual(run('netdev-dummy/ip6addr', 'br0', '2001:db8:1::1/64'), ok());
  assert.deepEqual(run('ovs/route/add', '2001:db8:2::/48', 'br0', '2001:db8:1::fe'), ok());
  assert.deepEqual(
    run('ovs/route/show'),
    ok(
      'Route Table:\n' +
        'User: 198.18.0.0/24 dev br0 SRC 198.18.0.1\n' +
        'User: 198.19.0.0/16 dev br0 GW 198.18.0.254 SRC 198.18.0.1\n' +
        'User: 198.19.0.0/16 MARK 16 dev br0 GW 198.18.0.253 SRC 198.18.0.1\n' +
        'User: 2001:db8:2::/48 dev br0 GW 2001:db8:1::fe SRC 2001:db8:1::1\n',
    ),
  );
  assert.deepEqual(
    run('ovs/route/lookup', '198.19.5.5'),
    ok('src 198.18.0.1\ngateway 198.18.0.254\ndev br0\n'),
  );
  assert.deepEqual(
    run('ovs/route/lookup', '198.19.5.5', 'pkt_mark=16'),
    ok('src 198.18.0.1\ngateway 198.18.0.253\ndev br0\n'),
  );
  assert.deepEqual(
    run('ovs/route/lookup', '198.18.0.77'),
    ok('src 198.18.0.1\ngateway ::\ndev br0\n'),
  );
  assert.deepEqual(run('ovs/route/lookup', '198.20.0.1'), err('Not found'));
  assert.deepEqual(run('ovs/route/lookup', '198.19.5.0/24'), err('Invalid parameters'));
  assert.deepEqual(
    run('ovs/route/lookup', '2001:db8:2::5'),
    ok('src 2001:db8:1::1\ngateway 2001:db8:1::fe\ndev br0\n'),
  );
  assert.deepEqual(run('ovs/route/del', '198.19.0.0/16', 'pkt_mark=16'), ok());
  assert.deepEqual(run('ovs/route/del', '198.19.0.0/16', 'pkt_mark=16'), err('Not found'));
  assert.deepEqual(
    run('ovs/route/show'),
    ok(
      'Route Table:\n' +
        'User: 198.18.0.0/24 dev br0 SRC 198.18.0.1\n' +
        'User: 198.19.0.0/16 dev br0 GW 198.18.0.254 SRC 198.18.0.1\n' +
        'User: 2001:db8:2::/48 dev br0 GW 2001:db8:1::fe SRC 2001:db8:1::1\n',
    ),
  );
});

test('the longest prefix wins; a non-CIDR interface mask still selects a source', () => {
  const addrs = [
    { addr: mapped4(0xc6120001), mask: [0xffffffff, 0xffffffff, 0xffffffff, 0xff00ff00] },
  ] as const;
  const r = new OvsRouter((d) => (d === 'br9' ? addrs : null));
  // 198.19.0.0 & 255.0.255.0 equals 198.18.0.1 & 255.0.255.0: the destination gives the source.
  assert.equal(r.insert(0, mapped4(0xc6130000), 112, 'br9', [0, 0, 0, 0], true), true);
  // 198.19.5.0 is outside the masked subnet, and with no gateway there is no source.
  assert.equal(r.insert(0, mapped4(0xc6130500), 120, 'br9', [0, 0, 0, 0], true), false);
  assert.equal(r.insert(0, mapped4(0xc6130000), 120, 'br9', [0, 0, 0, 0], true), true);
  assert.equal(r.lookup(0, mapped4(0xc6130005))?.plen, 120);
  assert.equal(r.lookup(0, mapped4(0xc6130605))?.plen, 112);
  assert.equal(r.lookup(7, mapped4(0xc6130605)), null);
  assert.equal(r.insert(0, mapped4(0xc6130000), 112, 'nope', [0, 0, 0, 0], true), false);
  assert.deepEqual(parseIpv4Masked('198.18.0.1/255.0.255.0'), { ip: 0xc6120001, mask: 0xff00ff00 });
  assert.deepEqual(parseIpv4Cidr('198.18.0.0/255.255.0.0'), { ip: 0xc6120000, plen: 16 });
  assert.equal(parseIpv4Cidr('198.18.0.0/255.0.255.0'), null);
  assert.equal(parseIpv4Cidr('198.18.0.0/33'), null);
});
