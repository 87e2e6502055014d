/**
 * dpctl's datapath, port and flow commands against an in-memory process (no database).
 * Every expected reply was captured from real ovs-vswitchd 3.1 --enable-dummy driven by
 * ovs-appctl with the same commands and the same flow file (a temp dir, 2026-11-24).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DpifBackers } from '../dpif/backers.ts';
import { UnixctlCommands, UnixctlError } from '../lib/unixctl/index.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import { registerForwardingCommands } from './unixctl-forwarding.ts';
import type { Vswitchd } from './vswitchd.ts';

const dir = mkdtempSync(join(tmpdir(), 'dpctl-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A process with datapaths and ports but no bridges: all dpctl needs. */
function fakeVswitchd(): Vswitchd {
  const registry = new NetdevRegistry({ enableDummy: true, override: false, linux: false });
  const backers = new DpifBackers(registry);
  return { registry, backers, vswitch: { bridges: new Map() } } as unknown as Vswitchd;
}

type Reply = { ok: true; out: string } | { ok: false; err: string };

function setup(): (cmd: string, ...args: string[]) => Promise<Reply> {
  const cmds = new UnixctlCommands();
  registerForwardingCommands(cmds, fakeVswitchd());
  return async (cmd, ...args) => {
    const c = cmds.commands.get(cmd);
    assert.ok(c, `${cmd} is registered`);
    try {
      const out = await c.handler(args, { format: 'text' } as never);
      return { ok: true, out: typeof out === 'string' ? out : '' };
    } catch (e) {
      assert.ok(e instanceof UnixctlError, String(e));
      return { ok: false, err: e.message };
    }
  };
}

const sorted = (s: string): string => `${s.split('\n').filter(Boolean).sort().join('\n')}\n`;

test('add-dp, add-if with and without port_no, show, and the port errors', async () => {
  const ctl = setup();
  assert.deepEqual(await ctl('dpctl/add-dp', 'dummy@dp9'), { ok: true, out: '' });
  assert.deepEqual(await ctl('dpctl/add-dp', 'dummy@dp9'), {
    ok: false,
    err: 'ovs-vswitchd: add_dp (File exists)\n',
  });
  assert.deepEqual(
    await ctl('dpctl/add-if', 'dummy@dp9', 'tap3,type=dummy,port_no=7', 'q1,type=dummy'),
    { ok: true, out: '' },
  );
  assert.deepEqual(await ctl('dpctl/add-if', 'dummy@dp9', 'q2,type=dummy,port_no=7'), {
    ok: false,
    err: 'ovs-vswitchd: adding q2 to dummy@dp9 failed (Device or resource busy)\n',
  });
  assert.deepEqual(await ctl('dpctl/add-if', 'dummy@dp9', 'zz'), {
    ok: false,
    err: 'ovs-vswitchd: zz: failed to open network device (No such device)\n',
  });
  assert.deepEqual(await ctl('dpctl/show', 'dummy@dp9'), {
    ok: true,
    out:
      'dummy@dp9:\n  lookups: hit:0 missed:0 lost:0\n  flows: 0\n' +
      '  port 0: dp9 (dummy-internal)\n  port 1: q1 (dummy)\n  port 7: tap3 (dummy)\n',
  });
  assert.deepEqual(await ctl('dpctl/set-if', 'dummy@dp9', 'tap3,port_no=7'), {
    ok: true,
    out: '',
  });
  assert.deepEqual(await ctl('dpctl/set-if', 'dummy@dp9', 'tap3,port_no=8'), {
    ok: false,
    err: "ovs-vswitchd: tap3: can't change port number from 7 to 8\n",
  });
  assert.deepEqual(await ctl('dpctl/set-if', 'dummy@dp9', 'q1,type=system'), {
    ok: false,
    err: "ovs-vswitchd: q1: can't change type from dummy to system\n",
  });
  assert.deepEqual(await ctl('dpctl/set-if', 'dummy@dp9', 'nope,type=dummy'), {
    ok: false,
    err: 'ovs-vswitchd: nope: failed to query port in dummy@dp9 (No such device)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-if', 'dummy@dp9', '7'), { ok: true, out: '' });
  assert.deepEqual(await ctl('dpctl/del-if', 'dummy@dp9', '42'), {
    ok: false,
    err: 'ovs-vswitchd: deleting port 42 from dummy@dp9 failed (No such device)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-if', 'dummy@dp9', 'dp9'), {
    ok: false,
    err: 'ovs-vswitchd: deleting port dp9 from dummy@dp9 failed (Invalid argument)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-if', 'dummy@dp9', 'tap3'), {
    ok: false,
    err: 'ovs-vswitchd: no port named tap3\n',
  });
  assert.deepEqual(await ctl('dpctl/del-flow', 'dummy@dp9', 'ufid:1234'), {
    ok: false,
    err: 'ovs-vswitchd: parsing flow ufid (Invalid argument)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-dp', 'dummy@dp9'), { ok: true, out: '' });
  assert.deepEqual(await ctl('dpctl/show', 'dummy@dp9'), {
    ok: false,
    err: 'ovs-vswitchd: opening datapath dummy@dp9 failed (No such device)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-dp', 'dummy@dp9'), {
    ok: false,
    err: 'ovs-vswitchd: opening datapath (No such device)\n',
  });
});

test('add-dp with ports: a requested number, else the one the name asks for', async () => {
  const ctl = setup();
  assert.deepEqual(
    await ctl('dpctl/add-dp', 'dummy@dp9', 'q1,type=dummy,port_no=3', 'q2,type=dummy'),
    { ok: true, out: '' },
  );
  assert.deepEqual(await ctl('dpctl/show'), {
    ok: true,
    out:
      'dummy@dp9:\n  lookups: hit:0 missed:0 lost:0\n  flows: 0\n' +
      '  port 0: dp9 (dummy-internal)\n  port 2: q2 (dummy)\n  port 3: q1 (dummy)\n',
  });
});

test('flow files: verbs, bad lines reported without failing, then add/mod/del-flow', async () => {
  const ctl = setup();
  assert.equal((await ctl('dpctl/add-dp', 'dummy@dp9', 'q1,type=dummy')).ok, true);
  const file = join(dir, 'flows.txt');
  writeFileSync(
    file,
    'in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x88b5) 1\n' +
      'mod in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x88b5) 0,1\n' +
      'del\n' +
      'd in_port(q1),eth_type(0x88b6)\n' +
      'a in_port(q1),eth_type(0x88b6) drop\n' +
      'a in_port(q1),eth_type(0x88b7) 1 2\n',
  );
  assert.deepEqual(await ctl('dpctl/add-flows', 'dummy@dp9', file), {
    ok: true,
    out:
      'ovs-vswitchd: Failed parsing line number 3, skipped!\n' +
      'ovs-vswitchd: deleting flow (No such file or directory)\n' +
      'Perhaps you need to specify a UFID?\n',
  });
  const dump = await ctl('dpctl/dump-flows', 'dummy@dp9');
  assert.ok(dump.ok);
  assert.equal(
    sorted(dump.out),
    sorted(
      'flow-dump from the main thread:\n' +
        'recirc_id(0),in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x88b5), packets:0, bytes:0, used:never, actions:0,1\n' +
        'recirc_id(0),in_port(1),eth_type(0x88b6), packets:0, bytes:0, used:never, actions:drop\n' +
        'recirc_id(0),in_port(1),eth_type(0x88b7), packets:0, bytes:0, used:never, actions:1,2\n',
    ),
  );
  assert.deepEqual(await ctl('dpctl/mod-flow', 'dummy@dp9', 'in_port(1),eth_type(0x88b8)', '3'), {
    ok: false,
    err: 'ovs-vswitchd: updating flow table (No such file or directory)\n',
  });
  assert.deepEqual(await ctl('dpctl/add-flow', 'dummy@dp9', 'in_port(1),eth_type(0x88b6)', '3'), {
    ok: false,
    err: 'ovs-vswitchd: updating flow table (File exists)\n',
  });
  assert.deepEqual(await ctl('dpctl/del-flow', 'dummy@dp9', 'in_port(1),eth_type(0x88b6)'), {
    ok: true,
    out: '',
  });
  assert.deepEqual(await ctl('dpctl/mod-flows', 'dummy@dp9', file), {
    ok: true,
    out:
      'ovs-vswitchd: Failed parsing line number 3, skipped!\n' +
      'ovs-vswitchd: deleting flow (No such file or directory)\n' +
      'Perhaps you need to specify a UFID?\n' +
      'ovs-vswitchd: updating flow table (File exists)\n',
  });
  // With only one datapath, del-flows FILE takes the file's verbs (default delete).
  assert.deepEqual(await ctl('dpctl/del-flows', file), {
    ok: true,
    out:
      'ovs-vswitchd: Failed parsing line number 1, skipped!\n' +
      'ovs-vswitchd: Failed parsing line number 3, skipped!\n' +
      'ovs-vswitchd: updating flow table (File exists)\n',
  });
  assert.deepEqual(await ctl('dpctl/add-flows', 'dummy@dp9', join(dir, 'none.txt')), {
    ok: true,
    out: `ovs-vswitchd: Opening file "${join(dir, 'none.txt')}" failed (No such file or directory)\n`,
  });
  const show = await ctl('dpctl/show');
  assert.ok(show.ok && show.out.includes('  flows: 3\n'), JSON.stringify(show));
  assert.deepEqual(await ctl('dpctl/del-flows', 'dummy@dp9'), { ok: true, out: '' });
  assert.deepEqual(await ctl('dpctl/dump-flows', 'dummy@dp9'), { ok: true, out: '' });
  assert.deepEqual(await ctl('dpctl/del-dp', 'dummy@dp9'), { ok: true, out: '' });
});
