/**
 * learn() as a switch applies it, side by side with real ovs-vswitchd 3.1 on a dummy bridge:
 * learn(limit=N) and result_dst, a learned VLAN match, fin_timeout in a learned flow, an
 * unchanged learned flow refreshed (hard_age) rather than replaced; and, on the same switch,
 * group statistics of an "all" group and enqueue/set_queue/pop_queue as skb_priority.
 * The same real ovs-vsctl, ovs-appctl and ovs-ofctl commands run against both switches and
 * each step's output must be what real OVS prints. The steps are our own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { appctl, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

interface Step {
  readonly name: string;
  readonly out: string;
}

function ofctl(
  s: Stack,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/ovs-ofctl', ['--timeout=10', ...args], {
    encoding: 'utf8',
    env: s.env,
    cwd: s.dir,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const udp = (inPort: number, src: number): string =>
  `in_port(${inPort}),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),` +
  `ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=${src},dst=53)`;
const arp = (inPort: number, src: string): string =>
  `in_port(${inPort}),eth(src=${src},dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),` +
  `arp(sip=198.18.0.1,tip=198.18.0.2,op=1,sha=${src},tha=00:00:00:00:00:00)`;
const lastLine = (out: string): string => out.trimEnd().split('\n').pop() ?? '';
/* dump-flows lines without the clock-dependent fields, sorted. */
const flowsOf = (out: string): string =>
  out
    .split('\n')
    .filter((l) => l.startsWith(' '))
    .map((l) => l.replace(/ (duration|idle_age)=[^,]*,/g, ''))
    .sort()
    .join('\n');

async function scenario(which: 'ours' | 'real'): Promise<Step[]> {
  const s = await startStack({ which });
  const steps: Step[] = [];
  const cfg = (args: string[]): void => {
    const r = vsctl(s, args);
    assert.equal(r.status, 0, `${which}: ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
  };
  const flows = (text: string): void => {
    for (const f of text.trim().split('\n')) {
      const r = ofctl(s, ['add-flow', 'br0', f.trim()]);
      assert.equal(r.status, 0, `${which}: add-flow ${f}: ${r.stderr}`);
    }
  };
  const dump = (name: string, args: string[]): void => {
    steps.push({ name, out: flowsOf(ofctl(s, ['dump-flows', 'br0', ...args]).stdout) });
  };
  try {
    cfg([
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      'fail-mode=secure',
      ...[1, 2, 3].flatMap((n) => [
        ...['--', 'add-port', 'br0', `p${n}`, '--', 'set', 'interface', `p${n}`, 'type=dummy'],
        `ofport_request=${n}`,
      ]),
    ]);

    // learn(limit=2): the third and later distinct flows are refused, and result_dst says so.
    flows(`
      table=0,in_port=1,udp,actions=learn(table=5,cookie=0x7,limit=2,result_dst=reg1[0],dl_type=0x0800,nw_proto=17,udp_dst=udp_src),resubmit(,1)
      table=1,reg1=1,actions=output:2
      table=1,reg1=0,actions=output:3`);
    for (const src of [1001, 1002, 1003, 1004, 1001]) {
      appctl(s, ['netdev-dummy/receive', 'p1', udp(1, src)]);
    }
    dump('learned under the limit', ['table=5', '--no-stats']);
    appctl(s, ['revalidator/purge']);
    dump('result_dst counted', ['table=1']);

    // A learned match on VLAN_TCI[0..11] leaves the CFI bit out of the mask.
    flows(
      'table=0,in_port=2,actions=learn(table=6,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
    );
    appctl(s, ['ofproto/trace', 'ovs-dummy', arp(2, '50:54:00:00:00:0a'), '-generate']);
    dump('learned VLAN match', ['table=6', '--no-stats']);
    // A plain trace learns nothing and says so; -generate shows the flow it learns.
    const learnLines = (o: string): string =>
      o
        .split('\n')
        .filter((l) => l.includes('learn') || l.includes('table=6'))
        .join('\n');
    for (const gen of [[], ['-generate']]) {
      const t = appctl(s, ['ofproto/trace', 'ovs-dummy', arp(2, '50:54:00:00:00:0d'), ...gen]);
      steps.push({ name: `trace of learn ${gen.join('') || 'plain'}`, out: learnLines(t.stdout) });
    }

    // fin_timeout parameters become a fin_timeout action ahead of the learned actions.
    flows(
      'table=0,in_port=3,actions=learn(table=7,fin_idle_timeout=3,fin_hard_timeout=9,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
    );
    appctl(s, ['ofproto/trace', 'ovs-dummy', arp(3, '50:54:00:00:00:0b'), '-generate']);
    dump('learned fin_timeout', ['table=7', '--no-stats']);

    // Learning the same flow again refreshes it: hard_age restarts, duration goes on.
    appctl(s, ['time/stop']);
    flows(
      'table=0,priority=40000,in_port=3,dl_src=50:54:00:00:00:0c,actions=learn(table=8,hard_timeout=30,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
    );
    appctl(s, ['ofproto/trace', 'ovs-dummy', arp(3, '50:54:00:00:00:0c'), '-generate']);
    appctl(s, ['time/warp', '5000']);
    appctl(s, ['ofproto/trace', 'ovs-dummy', arp(3, '50:54:00:00:00:0c'), '-generate']);
    appctl(s, ['time/warp', '2000']);
    const t8 = ofctl(s, ['dump-flows', 'br0', 'table=8']).stdout;
    steps.push({
      name: 'refreshed learned flow',
      out: /duration=(\d+)[.\d]*s.*hard_age=(\d+)/.exec(t8)?.slice(1).join(' ') ?? t8,
    });

    // An "all" group counts a packet once, and each bucket once.
    assert.equal(
      ofctl(s, [
        ...['-O', 'OpenFlow13', 'add-group', 'br0'],
        'group_id=9,type=all,bucket=output:2,bucket=output:3',
      ]).status,
      0,
    );
    flows('table=0,priority=5,in_port=1,ip,actions=group:9');
    for (let i = 0; i < 3; i++) {
      appctl(s, [
        'netdev-dummy/receive',
        'p1',
        'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.3,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)',
      ]);
    }
    appctl(s, ['revalidator/purge']);
    steps.push({
      name: 'all-group statistics',
      out: ofctl(s, ['-O', 'OpenFlow13', 'dump-group-stats', 'br0']).stdout.replace(
        /xid=0x[0-9a-f]+/,
        'xid',
      ),
    });

    // Queues are the userspace datapath's skb_priority: set for one output by enqueue.
    flows(
      'table=0,priority=50000,in_port=2,ip,actions=enqueue:3:4,output:1,set_queue:6,output:3,pop_queue,enqueue:2:1,output:1',
    );
    steps.push({
      name: 'enqueue and set_queue',
      out: lastLine(appctl(s, ['ofproto/trace', 'br0', 'in_port=2,ip']).stdout),
    });
  } finally {
    stopStack(s);
  }
  return steps;
}

describe('learn() and queues against real ovs-vswitchd 3.1', () => {
  let real: Step[] = [];
  let ours: Step[] = [];
  before(async () => {
    real = await scenario('real');
    ours = await scenario('ours');
  });
  it('runs every step on both switches', () => {
    assert.deepEqual(
      ours.map((x) => x.name),
      real.map((x) => x.name),
    );
  });
  for (const name of [
    'learned under the limit',
    'result_dst counted',
    'learned VLAN match',
    'trace of learn plain',
    'trace of learn -generate',
    'learned fin_timeout',
    'refreshed learned flow',
    'all-group statistics',
    'enqueue and set_queue',
  ]) {
    it(`${name}: as real OVS`, () => {
      const r = real.find((x) => x.name === name);
      const o = ours.find((x) => x.name === name);
      assert.ok(r && o, name);
      assert.equal(o.out, r.out);
    });
  }
  it('the real switch shows what the steps are about', () => {
    if (process.env.SHOW_STEPS) console.log(JSON.stringify(real, null, 1));
    const r = (name: string): string => real.find((x) => x.name === name)?.out ?? '';
    assert.equal(r('learned under the limit').split('\n').length, 2);
    assert.match(r('learned VLAN match'), /vlan_tci=0x0000\/0x0fff/);
    assert.match(r('trace of learn plain'), /suppressing side effects, so learn action ignored/);
    assert.match(r('trace of learn -generate'), /-> table=6 vlan_tci=0x0000\/0x0fff,dl_dst=/);
    assert.match(r('learned fin_timeout'), /fin_timeout\(idle_timeout=3,hard_timeout=9\)/);
    assert.equal(r('refreshed learned flow'), '7 2');
    assert.match(r('enqueue and set_queue'), /skb_priority/);
  });
});
