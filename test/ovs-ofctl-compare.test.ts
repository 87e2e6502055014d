/**
 * Our ovs-ofctl against real ovs-vswitchd 3.1, side by side with real ovs-ofctl 3.1: every
 * command here is run with both tools and must print the same bytes (durations and ages
 * masked) with the same exit status; writing commands must also leave the switch in the same
 * state, as dumped by real ovs-ofctl.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  real,
  resetSwitch,
  run,
  type Switch,
  startSwitch,
  stopSwitch,
  writeWith,
} from './ovs-ofctl-harness.ts';

let sw: Switch;

before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

function same(args: string[], input?: string): void {
  const r = run(sw, 'real', args, input);
  const o = run(sw, 'ours', args, input);
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
}

const SETUP = [
  'priority=5,in_port=1,actions=output:2',
  'table=2,priority=7,ip,actions=drop',
  'cookie=0x10,priority=9,tcp,tp_dst=80,actions=mod_nw_src:10.1.2.3,output:1',
];

function sameWrite(args: string[], setup: string[] = SETUP, input?: string): void {
  const r = writeWith(sw, 'real', args, setup, input);
  const o = writeWith(sw, 'ours', args, setup, input);
  assert.equal(o.run.stdout, r.run.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.run.stderr, r.run.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.run.status, r.run.status, `status of ${args.join(' ')}`);
  assert.equal(o.state, r.state, `switch state after ${args.join(' ')}`);
}

describe('ovs-ofctl side by side with real ovs-ofctl on real ovs-vswitchd', () => {
  describe('reading the switch', () => {
    before(() => {
      resetSwitch(sw, [
        ...SETUP,
        'table=1,reg0=5,actions=resubmit(,2)',
        'priority=100,ip,nw_src=10.0.0.0/8,actions=output:2',
      ]);
      const ok = (args: string[]): void => {
        const r = real(sw, args);
        assert.equal(r.status, 0, r.stderr);
      };
      ok([
        '-O',
        'OpenFlow13',
        'add-group',
        'br0',
        'group_id=1,type=all,bucket=output:1,bucket=output:2',
      ]);
      ok([
        '-O',
        'OpenFlow13',
        'add-group',
        'br0',
        'group_id=2,type=select,bucket=weight:10,actions=output:1',
      ]);
      ok(['-O', 'OpenFlow13', 'add-meter', 'br0', 'meter=1,kbps,band=type=drop,rate=1000']);
      ok([
        '-O',
        'OpenFlow15',
        'add-group',
        'br0',
        'group_id=6,type=select,selection_method=hash,selection_method_param=7,fields(eth_dst,ip_dst),bucket=output:1',
      ]);
      ok([
        '-O',
        'OpenFlow13',
        'add-meter',
        'br0',
        'meter=2,pktps,burst,stats,band=type=drop,rate=10,burst_size=5',
      ]);
    });
    for (const v of ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']) {
      it(`show, dump-desc, dump-ports(-desc), dump-tables with -O ${v}`, () => {
        same(['-O', v, 'show', 'br0']);
        same(['-O', v, 'dump-desc', 'br0']);
        same(['-O', v, 'dump-ports', 'br0']);
        same(['-O', v, 'dump-ports', 'br0', '2']);
        same(['-O', v, 'dump-ports-desc', 'br0']);
        same(['-O', v, 'dump-tables', 'br0']);
        same(['-O', v, 'queue-stats', 'br0']);
      });
      it(`dump-flows and dump-aggregate with -O ${v}`, () => {
        same(['-O', v, 'dump-flows', 'br0']);
        same(['-O', v, 'dump-flows', 'br0', 'in_port=1']);
        same(['-O', v, 'dump-flows', 'br0', 'table=2']);
        same(['-O', v, 'dump-flows', 'br0', 'cookie=0x10/-1']);
        same(['-O', v, 'dump-aggregate', 'br0']);
        same(['-O', v, 'dump-aggregate', 'br0', 'ip']);
        same(['-O', v, '--no-stats', 'dump-flows', 'br0']);
      });
    }
    it('dump-flows with --names, --sort and --rsort, and port names in filters', () => {
      same(['--names', 'dump-flows', 'br0']);
      same(['--no-names', 'dump-flows', 'br0']);
      same(['--sort', 'dump-flows', 'br0']);
      same(['--rsort', 'dump-flows', 'br0']);
      same(['--sort=in_port', 'dump-flows', 'br0']);
      same(['--rsort=nw_src', '--no-stats', 'dump-flows', 'br0']);
      same(['dump-flows', 'br0', 'in_port=p1']);
      same(['dump-flows', 'br0', 'in_port=p9']);
      same(['dump-flows', 'br0', 'bogus=1']);
      same(['dump-flows', 'br0', '--sort=bogus_field']);
      same(['dump-flows', 'br0', 'out_port=p9']);
      same(['dump-flows', 'br0', 'out_port=2']);
    });
    it('dump-flows through unix: and the socket path', () => {
      same(['dump-flows', `unix:${join(sw.stack.dir, 'br0.mgmt')}`]);
      same(['-O', 'OpenFlow13', 'dump-flows', join(sw.stack.dir, 'br0.mgmt')]);
    });
    it('groups and meters', () => {
      for (const v of ['OpenFlow10', 'OpenFlow11', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']) {
        same(['-O', v, 'dump-groups', 'br0']);
        same(['-O', v, 'dump-groups', 'br0', '1']);
        same(['-O', v, 'dump-group-stats', 'br0']);
        same(['-O', v, 'dump-group-stats', 'br0', 'group_id=2']);
      }
      for (const v of ['OpenFlow13', 'OpenFlow15']) {
        same(['-O', v, 'dump-meters', 'br0']);
        same(['-O', v, 'dump-meters', 'br0', 'meter=2']);
        same(['-O', v, 'meter-stats', 'br0']);
        same(['-O', v, 'meter-stats', 'br0', 'meter=1']);
      }
      same(['dump-meters', 'br0']);
      same(['meter-stats', 'br0']);
    });
  });

  describe('writing flows', () => {
    it('add-flow with OpenFlow 1.0, NXM and table-id matches', () => {
      sameWrite(['add-flow', 'br0', 'priority=100,ip,nw_src=10.0.0.0/8,actions=output:2']);
      sameWrite(['add-flow', 'br0', 'table=1,reg0=5,actions=resubmit(,2)']);
      sameWrite(['add-flow', 'br0', 'in_port=p1,actions=p2']);
      sameWrite(['add-flow', 'br0', 'table=4,arp,arp_tpa=10.0.0.1,actions=NORMAL']);
      sameWrite(['add-flow', 'br0', 'dl_vlan=10,actions=strip_vlan,output:1']);
      sameWrite([
        '-O',
        'OpenFlow13',
        'add-flow',
        'br0',
        'table=3,cookie=0x55,idle_timeout=30,send_flow_rem,tcp,tp_dst=80,actions=mod_nw_src:1.2.3.4,output:1',
      ]);
      sameWrite([
        '-O',
        'OpenFlow15',
        'add-flow',
        'br0',
        'ipv6,ipv6_src=2001:db8::/32,actions=drop',
      ]);
    });
    it('add-flow errors: bad syntax, unknown port, switch errors, version limits', () => {
      sameWrite(['add-flow', 'br0', 'actions=group:5']);
      sameWrite(['-O', 'OpenFlow13', 'add-flow', 'br0', 'actions=group:5']);
      sameWrite(['add-flow', 'br0', 'table=300,actions=drop']);
      sameWrite(['add-flow', 'br0', 'foo=1,actions=drop']);
      sameWrite(['add-flow', 'br0', 'in_port=p9,actions=drop']);
      sameWrite(['add-flow', 'br0', 'ip,actions=output:p9']);
      sameWrite(['add-flow', 'br0', 'ip']);
      sameWrite(['add-flow', 'br0', 'actions=meter:1']);
    });
    it('mod-flows and del-flows, with and without --strict', () => {
      sameWrite(['del-flows', 'br0']);
      sameWrite(['del-flows', 'br0', 'in_port=1']);
      sameWrite(['del-flows', 'br0', 'table=2']);
      sameWrite(['del-flows', 'br0', 'cookie=0x10/-1']);
      sameWrite(['--strict', 'del-flows', 'br0', 'priority=5,in_port=1']);
      sameWrite(['--strict', 'del-flows', 'br0', 'in_port=1']);
      sameWrite(['mod-flows', 'br0', 'ip,actions=output:1']);
      sameWrite(['-O', 'OpenFlow13', 'mod-flows', 'br0', 'table=2,actions=normal']);
      sameWrite(['--strict', 'mod-flows', 'br0', 'priority=5,in_port=1,actions=drop']);
      sameWrite(['-O', 'OpenFlow14', 'del-flows', 'br0', 'out_port=2']);
    });
    it('add-flows from a file and from stdin, with commands and comments', () => {
      const file = join(sw.stack.dir, 'flows.txt');
      writeFileSync(
        file,
        'priority=10,in_port=1,actions=drop\n# a comment\n\ntable=1, ip, actions=output:2\ndelete in_port=1\nmodify_strict table=2,priority=7,ip,actions=output:1\n',
      );
      sameWrite(['add-flows', 'br0', file]);
      sameWrite(
        ['-O', 'OpenFlow13', 'add-flows', 'br0', '-'],
        SETUP,
        'ip,actions=drop\narp,actions=NORMAL\n',
      );
      sameWrite(['add-flows', 'br0', join(sw.stack.dir, 'nonexistent')]);
      const bad = join(sw.stack.dir, 'bad.txt');
      writeFileSync(bad, 'ip,actions=drop\npriority=10,bogus=1,actions=drop\n');
      sameWrite(['add-flows', 'br0', bad]);
    });
    it('--bundle transactions, successful and failing', () => {
      sameWrite(['--bundle', 'add-flow', 'br0', 'in_port=2,actions=drop']);
      sameWrite(['--bundle', 'add-flow', 'br0', 'actions=group:9']);
      sameWrite(['-O', 'OpenFlow13', '--bundle', 'add-flow', 'br0', 'actions=group:9']);
      sameWrite(
        ['--bundle', 'add-flows', 'br0', '-'],
        SETUP,
        'ip,actions=drop\ndelete in_port=1\n',
      );
    });
  });

  describe('command line and connection errors', () => {
    it('usage errors print what real ovs-ofctl prints', () => {
      same([]);
      same(['foo']);
      same(['show']);
      same(['show', 'a', 'b']);
      same(['--bogus']);
      same(['-x']);
      same(['-t', '0', 'show', 'br0']);
      same(['-O', 'OpenFlow99', 'show', 'br0']);
      same(['-O', 'OpenFlow13', '-F', 'OpenFlow10', 'show', 'br0']);
      same(['--help']);
      same(['--version']);
      same(['-V', '--bogus']);
      same(['--bogus', '-V']);
      same(['list-commands']);
      same(['--option']);
    });
    it('error replies from the switch print the request they answer', () => {
      same(['dump-ports', 'br0', '99']);
      same(['-O', 'OpenFlow13', 'dump-ports', 'br0', '99']);
      same(['-O', 'OpenFlow15', 'dump-ports-desc', 'br0', '99']);
      same(['queue-stats', 'br0', '1', '5']);
      same(['-O', 'OpenFlow13', 'dump-meters', 'br0', 'meter=77']);
    });
    it('connection failures', () => {
      same(['show', 'nobr']);
      same(['show', 'unix:/nonexistent/socket']);
      same(['show', 'tcp:127.0.0.1:1']);
      same(['show', 'foo:bar']);
    });
  });
});
