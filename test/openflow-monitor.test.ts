/**
 * Flow monitors side by side with real ovs-vswitchd 3.1: real `ovs-ofctl monitor br0 watch:...`
 * in OpenFlow 1.0 (NXST_FLOW_MONITOR), 1.3 (ONFST_FLOW_MONITOR) and 1.4/1.5
 * (OFPMP_FLOW_MONITOR) with filters (table, out_port, match, !initial, !actions, !delete)
 * watches the same flow changes on each switch (flow_mods, a flow that expires, a flow the
 * learn action adds), and must print the same thing: the initial reply on stdout, the
 * updates on stderr (where ovs-ofctl writes asynchronous messages).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { appctl, ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const REAL_OFCTL = '/usr/bin/ovs-ofctl';

const MONITORS: string[][] = [
  ['-O', 'OpenFlow10', 'watch:'],
  ['-O', 'OpenFlow13', 'watch:table=1'],
  ['-O', 'OpenFlow14', 'watch:!initial,out_port=2'],
  ['-O', 'OpenFlow15', 'watch:!actions,tcp'],
  ['-O', 'OpenFlow10', 'watch:!initial,!delete,in_port=1'],
  ['-O', 'OpenFlow13', 'watch:!add,!modify'],
];

/* Flow changes made after the monitors are up (real ovs-ofctl, so both switches see the
 * same requests). */
const CHANGES: string[][] = [
  ['add-flow', 'br0', 'in_port=1,actions=output:2'],
  ['mod-flows', 'br0', 'in_port=1,actions=output:3'],
  // The same actions again: no update.
  ['mod-flows', 'br0', 'in_port=1,actions=output:3'],
  // A new cookie only (OpenFlow 1.0 mod-flows may change it): modified.
  ['mod-flows', 'br0', 'cookie=0x7,in_port=1,actions=output:3'],
  ['add-flow', 'br0', 'table=1,cookie=0x5,idle_timeout=30,tcp,tp_dst=80,actions=drop'],
  // Replacing an identical flow is an add.
  ['add-flow', 'br0', 'table=1,cookie=0x6,hard_timeout=90,tcp,tp_dst=80,actions=output:2'],
  [
    '-O',
    'OpenFlow13',
    'add-flow',
    'br0',
    'table=2,priority=3,ip,actions=push_vlan:0x8100,output:2',
  ],
  ['del-flows', 'br0', 'in_port=1'],
  ['del-flows', 'br0', 'table=1'],
  ['-O', 'OpenFlow14', 'del-flows', 'br0', 'table=2'],
  // Expires by itself: reported outside any request.
  ['add-flow', 'br0', 'table=3,hard_timeout=1,in_port=9,actions=drop'],
];

interface Seen {
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* Lines of each message sorted: a delete of several flows reports them in one message, in
 * classifier order. */
function normalize(text: string): string {
  const msgs: string[][] = [];
  for (const line of text.split('\n')) {
    // ovs-ofctl logs its SIGTERM when the test stops it.
    if (line === '' || line.includes('|fatal_signal|')) continue;
    if (!line.startsWith(' ') || msgs.length === 0) msgs.push([line]);
    else msgs[msgs.length - 1].push(line);
  }
  return msgs.map(([h, ...rest]) => [h, ...rest.sort()].join('\n')).join('\n');
}

async function run(which: 'real' | 'ours'): Promise<Seen[]> {
  const s: Stack = await startStack({ which });
  const mons: ChildProcess[] = [];
  try {
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      ...['fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15'],
      ...['--', 'add-port', 'br0', 'p7', '--', 'set', 'interface', 'p7', 'type=dummy'],
      ...['ofport_request=7'],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const ofctl = (args: string[]) => {
      const x = spawnSync(REAL_OFCTL, args, { env: s.env, encoding: 'utf8', cwd: ROOT });
      assert.equal(x.status, 0, `${args.join(' ')}: ${x.stderr}`);
    };
    ofctl(['add-flow', 'br0', 'priority=5,actions=drop']);
    ofctl(['add-flow', 'br0', 'table=1,priority=7,udp,actions=output:2']);
    ofctl(['add-flow', 'br0', 'table=1,priority=8,tcp,actions=output:4']);
    const seen: Seen[] = MONITORS.map(() => ({ stdout: '', stderr: '' }));
    MONITORS.forEach((m, i) => {
      const p = spawn(REAL_OFCTL, [m[0], m[1], 'monitor', 'br0', m[2]], { env: s.env });
      p.stdout?.on('data', (d: Buffer) => {
        seen[i].stdout += d.toString();
      });
      p.stderr?.on('data', (d: Buffer) => {
        seen[i].stderr += d.toString();
      });
      mons.push(p);
    });
    // Every monitor has its initial reply before anything changes.
    for (let i = 0; seen.some((x) => x.stdout === ''); i++) {
      assert.ok(i < 250, `monitors did not start: ${JSON.stringify(seen)}`);
      await sleep(20);
    }
    for (const c of CHANGES) ofctl(c);
    // A flow the learn action adds is reported like any other.
    ofctl([
      'add-flow',
      'br0',
      'table=0,priority=200,in_port=7,actions=learn(table=5,hard_timeout=60,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])',
    ]);
    const rx = appctl(s, [
      'netdev-dummy/receive',
      'p7',
      'in_port(7),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x1234)',
    ]);
    assert.equal(rx.status, 0, rx.stderr);
    // The last change: the flow's expiry (OVS checks timeouts about once a second).
    for (let i = 0; !seen[0].stderr.includes('reason=hard'); i++) {
      if (i > 200) break;
      await sleep(20);
    }
    await sleep(300);
    return seen;
  } finally {
    for (const p of mons) p.kill();
    stopStack(s);
  }
}

describe('flow monitors against real ovs-vswitchd', () => {
  it('ovs-ofctl monitor prints the same for the same flow changes in OF1.0, 1.3, 1.4, 1.5', async () => {
    const real = await run('real');
    const ours = await run('ours');
    // The scenario itself must exercise something on every monitor.
    for (const [i, r] of real.entries()) {
      assert.ok(r.stdout.includes('reply'), `monitor ${i}: ${JSON.stringify(r)}`);
    }
    assert.match(real[0].stderr, /event=MODIFIED table=0 cookie=0x7 in_port=1 actions=output:3/);
    assert.match(
      real[0].stderr,
      /event=DELETED reason=hard table=3 hard_timeout=1 cookie=0 in_port=9/,
    );
    assert.match(
      real[0].stderr,
      /event=ADDED table=5 hard_timeout=60 cookie=0 dl_dst=50:54:00:00:00:01/,
    );
    assert.match(real[2].stderr, /OFPST_FLOW_MONITOR reply \(OF1.4\)/);
    for (const [i, m] of MONITORS.entries()) {
      assert.equal(
        normalize(ours[i].stdout),
        normalize(real[i].stdout),
        `stdout of ${m.join(' ')}`,
      );
      assert.equal(
        normalize(ours[i].stderr),
        normalize(real[i].stderr),
        `stderr of ${m.join(' ')}`,
      );
    }
  });
});
