/**
 * Behaviours OVS's own ofproto.at cases rely on, checked here without an OVS source tree:
 * our ovs-vswitchd answers real ovs-ofctl 3.1 as real ovs-vswitchd does (group add-or-modify,
 * bucket inserts with weights, NXM flow mods matching a cookie mask, deletes by table under
 * flow_mod_table_id, packet-outs claiming ports the bridge lacks), and our ovs-ofctl prints
 * and sends what real ovs-ofctl does (-m five and six times, group parse errors, mod-port's
 * "no" prefixes), both against real ovs-vswitchd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const REAL = '/usr/bin/ovs-ofctl';
const OURS = join(ROOT, 'bin/ovs-ofctl');

let real: Stack | null = null;
let ours: Stack | null = null;

async function bridge(which: 'real' | 'ours'): Promise<Stack> {
  const s = await startStack({ which });
  const r = vsctl(s, [
    ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy', 'fail_mode=secure'],
    'protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15',
    ...['--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy'],
    'ofport_request=1',
  ]);
  assert.equal(r.status, 0, r.stderr);
  return s;
}

before(async () => {
  real = await bridge('real');
  ours = await bridge('ours');
});
after(() => {
  for (const s of [real, ours]) if (s) stopStack(s);
});

function ofctl(bin: string, s: Stack, args: string[]) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: s.env, timeout: 20000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function state(s: Stack): string {
  const flows = ofctl(REAL, s, ['-O', 'OpenFlow15', '--no-stats', 'dump-flows', 'br0']).out;
  const groups = ofctl(REAL, s, ['-O', 'OpenFlow15', 'dump-groups', 'br0']).out;
  return `${flows.split('\n').sort().join('\n')}\n${groups}`;
}

/* Runs the same real ovs-ofctl commands against both switches from empty tables; every
 * command's output and the final tables must agree. Returns our switch's final state, after
 * each command's status and output (NUL-separated). */
function sameSwitch(cmds: string[][]): string {
  assert.ok(real && ours);
  const results: string[][] = [];
  for (const s of [real, ours]) {
    ofctl(REAL, s, ['-O', 'OpenFlow15', 'del-flows', 'br0']);
    ofctl(REAL, s, ['-O', 'OpenFlow15', 'del-groups', 'br0']);
    const out = cmds.map((c) => {
      const r = ofctl(REAL, s, c);
      return `${r.status}\n${r.out}${r.err.replace(/\(xid=0x[0-9a-f]+\)/g, '')}`;
    });
    out.push(state(s));
    results.push(out);
  }
  assert.deepEqual(results[1], results[0]);
  return results[1].join('\n\u0000');
}

/* Runs a command with real and with our ovs-ofctl against real ovs-vswitchd. */
function sameTool(args: string[]): { status: number | null; out: string; err: string } {
  assert.ok(real);
  const r = ofctl(REAL, real, args);
  const o = ofctl(OURS, real, args);
  assert.equal(o.err, r.err, `stderr of ${args.join(' ')}`);
  assert.equal(o.out, r.out, `stdout of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
  return o;
}

describe('ofproto.at behaviours, our switch next to real ovs-vswitchd', () => {
  it('--may-create mod-group adds a missing group, then modifies it', () => {
    const st = sameSwitch([
      [
        '-O',
        'OpenFlow13',
        '--may-create',
        'mod-group',
        'br0',
        'group_id=7,type=all,bucket=output:1',
      ],
      [
        '-O',
        'OpenFlow13',
        '--may-create',
        'mod-group',
        'br0',
        'group_id=7,type=indirect,bucket=output:2',
      ],
      ['-O', 'OpenFlow13', 'mod-group', 'br0', 'group_id=8,type=all,bucket=output:1'],
    ]);
    assert.match(st, /UNKNOWN_GROUP/);
    const groups = st.slice(st.lastIndexOf('OFPST_GROUP_DESC'));
    assert.match(groups, /group_id=7,type=indirect,bucket=bucket_id:0,actions=output:2/);
    assert.doesNotMatch(groups, /group_id=8/);
  });

  it('an inserted bucket keeps its weight in a select group', () => {
    const st = sameSwitch([
      [
        '-O',
        'OpenFlow15',
        'add-group',
        'br0',
        'group_id=9,type=select,selection_method=hash bucket=bucket_id=1,weight:100,output:1',
      ],
      [
        '-O',
        'OpenFlow15',
        'insert-buckets',
        'br0',
        'group_id=9,command_bucket_id=last,bucket=bucket_id=2,weight=100,actions=output:1',
      ],
    ]);
    assert.match(st, /bucket=bucket_id:2,weight:100,actions=output:1/);
  });

  it('NXM mod-flows by cookie mask keeps the cookies; del-flows table=0 spares table 1', () => {
    const st = sameSwitch([
      ['add-flow', 'br0', 'cookie=0x1,in_port=1,actions=drop'],
      ['add-flow', 'br0', 'cookie=0x2,table=1,in_port=1,actions=drop'],
      ['-F', 'nxm', 'mod-flows', 'br0', 'cookie=0x1/0xff,actions=output:1'],
      ['--no-stats', 'dump-flows', 'br0'],
      ['del-flows', 'br0', 'table=0'],
      ['--no-stats', 'dump-flows', 'br0'],
    ]);
    const outs = st.split('\n\u0000');
    assert.match(outs[3], /cookie=0x1, in_port=1 actions=output:1/);
    assert.match(outs[5], /cookie=0x2, table=1, in_port=1 actions=drop/);
    assert.doesNotMatch(outs[5], /cookie=0x1/);
  });

  it('a packet-out may claim an in_port the bridge does not have', () => {
    sameSwitch([
      ['packet-out', 'br0', 'in_port=6 packet=0001020304050010203040501234 actions=drop'],
    ]);
  });
});

describe('our ovs-ofctl next to real ovs-ofctl, on real ovs-vswitchd', () => {
  it('-m five times hex-dumps each flow mod sent, six or more times prints bare hex', () => {
    const a = sameTool(['-O', 'OpenFlow13', 'del-flows', 'br0', 'table=0', '-mmmmm']);
    assert.match(a.out, /^00000000 {2}04 0e 00 38/);
    const b = sameTool(['-O', 'OpenFlow10', 'del-flows', 'br0', 'table=0', '-mmmmmm']);
    assert.match(b.out, /^0x10e0048[0-9a-f]+\n$/);
    sameTool(['-F', 'nxm', 'mod-flows', 'br0', 'cookie=0x1/0xff,actions=output:1', '-mmmmmm']);
  });

  it('group parse errors: out-of-range ids, a type where none is needed, bucket commands below OF1.5', () => {
    const e = sameTool(['-O', 'OpenFlow11', 'del-groups', 'br0', 'group_id=0xfffffff0']);
    assert.equal(e.err, 'ovs-ofctl: invalid group id 4294967280\n');
    sameTool([
      '-O',
      'OpenFlow15',
      'insert-buckets',
      'br0',
      'group_id=1,command_bucket_id=1,type=all,bucket=actions=drop',
    ]);
    sameTool([
      '-O',
      'OpenFlow15',
      'insert-buckets',
      'br0',
      'group_id=1,command_bucket_id=0xffffff01,bucket=actions=drop',
    ]);
    sameTool([
      '-O',
      'OpenFlow11',
      'insert-buckets',
      'br0',
      'group_id=1,command_bucket_id=first,bucket=actions=drop',
    ]);
    sameTool(['-O', 'OpenFlow11', 'remove-buckets', 'br0', 'group_id=1,command_bucket_id=last']);
  });

  it('goto_table must go forward from the table a flow names', () => {
    const e = sameTool(['-O', 'OpenFlow11', 'add-flow', 'br0', 'table=1,actions=goto_table:1']);
    assert.equal(e.status, 1);
    sameTool(['-O', 'OpenFlow11', 'add-flow', 'br0', 'table=1,actions=goto_table:2']);
  });

  it('packet-out: 32-bit reserved port numbers, pipeline fields, packet_type (0,0)', () => {
    const pkt = '0001020304050010203040501234';
    sameTool(['-O', 'OpenFlow12', 'packet-out', 'br0', '4294967293', 'drop', pkt]);
    const md = `in_port=controller tun_id=0x11 metadata=0x22 packet=${pkt} actions=drop`;
    sameTool(['-O', 'OpenFlow15', 'packet-out', 'br0', md, '-mmmmmm']);
    sameTool([
      '-O',
      'OpenFlow15',
      'packet-out',
      'br0',
      `in_port=1 packet=${pkt} packet_type(0,0x0) actions=drop`,
    ]);
    const e = sameTool([
      '-O',
      'OpenFlow15',
      'packet-out',
      'br0',
      `in_port=1 nw_src=1.2.3.4 packet=${pkt}`,
    ]);
    assert.equal(e.status, 1);
  });

  it('mod-port takes "no" with or without a dash', () => {
    for (const cmd of [
      'noflood',
      'flood',
      'no-receive',
      'receive',
      'nopacket-in',
      'packet-in',
      'nosuch',
    ]) {
      sameTool(['mod-port', 'br0', 'p1', cmd]);
    }
    const show = sameTool(['show', 'br0']);
    assert.match(show.out, /1\(p1\)/);
  });
});
