/**
 * Our whole switch programmed over OpenFlow, side by side with real ovs-vswitchd 3.1: the same
 * bridge (configured with real ovs-vsctl), the same flows and groups added with real
 * ovs-ofctl in OpenFlow 1.0, 1.3, 1.4 and 1.5, then every dump compared (durations and ages
 * masked). Also our ovs-ofctl against our switch prints what real ovs-ofctl prints, and the
 * flows really forward: packets injected after the flow changes leave by the ports the flows
 * name, with the rewrites they ask for, and the counters say so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { extractFlow } from '../src/lib/flow/extract.ts';
import { FLOW_WORDS } from '../src/lib/flow/layout.ts';
import { flowToString } from '../src/lib/flow/match-format.ts';
import { decodePcapFile } from '../src/lib/pcap.ts';
import { appctl, ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const FLOWS = [
  'table=0,priority=100,in_port=1,ip,nw_dst=198.18.0.0/24,actions=mod_nw_tos:16,resubmit(,1)',
  'table=0,priority=90,in_port=1,arp,actions=NORMAL',
  'table=0,priority=50,tcp,tp_dst=80,actions=group:7',
  'table=0,priority=0,actions=drop',
  'table=1,priority=10,udp,actions=mod_vlan_vid:42,output:3',
  'table=1,priority=5,actions=load:0x2a->NXM_NX_REG3[],output:2',
  'table=2,cookie=0x99,idle_timeout=600,actions=output:3',
];

function ofctl(s: Stack, bin: string, args: string[], input?: string) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: s.env, input, cwd: ROOT });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
const REAL = '/usr/bin/ovs-ofctl';
const OURS = join(ROOT, 'bin/ovs-ofctl');

const mask = (t: string): string =>
  t
    .replace(/duration=[0-9.]+s/g, 'duration=Ds')
    .replace(/idle_age=\d+/g, 'idle_age=A')
    .replace(/hard_age=\d+/g, 'hard_age=A')
    .replace(/duration_sec=\d+/g, 'duration_sec=D')
    .replace(/duration:[0-9.]+s/g, 'duration:Ds');

interface Out {
  dumps: Record<string, string>;
  tx: Record<string, string[]>;
  oursTool?: Record<string, string>;
}

async function run(which: 'real' | 'ours'): Promise<Out> {
  const s = await startStack({ which });
  try {
    const pcap = (p: string): string => `options:tx_pcap=${join(s.dir, `${p}.pcap`)}`;
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy', 'fail_mode=secure'],
      ...[
        '--',
        'add-port',
        'br0',
        'p1',
        '--',
        'set',
        'interface',
        'p1',
        'type=dummy',
        'ofport_request=1',
        pcap('p1'),
      ],
      ...[
        '--',
        'add-port',
        'br0',
        'p2',
        '--',
        'set',
        'interface',
        'p2',
        'type=dummy',
        'ofport_request=2',
        pcap('p2'),
      ],
      ...[
        '--',
        'add-port',
        'br0',
        'p3',
        '--',
        'set',
        'interface',
        'p3',
        'type=dummy',
        'ofport_request=3',
        pcap('p3'),
      ],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const ok = (args: string[], input?: string): string => {
      const x = ofctl(s, REAL, args, input);
      assert.equal(x.status, 0, `${which}: ovs-ofctl ${args.join(' ')}: ${x.err}`);
      return x.out;
    };
    ok([
      '-O',
      'OpenFlow13',
      'add-group',
      'br0',
      'group_id=7,type=select,bucket=output:2,bucket=output:3',
    ]);
    const file = join(s.dir, 'flows.txt');
    writeFileSync(file, `${FLOWS.join('\n')}\n`);
    ok(['add-flows', 'br0', file]);
    ok(['-O', 'OpenFlow14', 'mod-flows', 'br0', 'table=1,udp,actions=mod_vlan_vid:43,output:3']);
    ok(['-O', 'OpenFlow15', 'del-flows', 'br0', 'table=2,cookie=0x99/-1']);
    ok(['-O', 'OpenFlow13', 'add-flow', 'br0', 'table=2,priority=7,actions=output:1']);

    // Traffic: through table 1 (udp: tagged out p3), the group (tcp/80), NORMAL (arp), drop.
    const udp =
      'eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.1.1,dst=198.18.0.7,proto=17,tos=0,ttl=64,frag=no),udp(src=5,dst=6)';
    const tcp =
      'eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.1.1,dst=198.18.9.9,proto=6,tos=0,ttl=64,frag=no),tcp(src=5,dst=80)';
    const arp =
      'eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=198.18.1.1,tip=198.18.1.2,op=1,sha=50:54:00:00:00:01,tha=00:00:00:00:00:00)';
    for (const [p, f] of [
      ['p1', udp],
      ['p1', udp],
      ['p1', tcp],
      ['p1', arp],
      ['p3', udp],
    ] as const) {
      const x = appctl(s, ['netdev-dummy/receive', p, f]);
      assert.equal(x.status, 0, x.stderr);
    }
    appctl(s, ['revalidator/wait']);
    // Statistics reach OpenFlow on the revalidator's schedule (up to a second here and in OVS).
    await new Promise((res) => setTimeout(res, 1500));

    const dumps: Record<string, string> = {};
    for (const v of ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']) {
      dumps[`flows-${v}`] = mask(ok(['-O', v, '--sort', 'dump-flows', 'br0']));
      dumps[`aggregate-${v}`] = mask(ok(['-O', v, 'dump-aggregate', 'br0']));
    }
    dumps.nostats = ok(['--no-stats', '--sort', 'dump-flows', 'br0']);
    dumps.groups = ok(['-O', 'OpenFlow13', 'dump-groups', 'br0']);
    dumps.tables = mask(ok(['-O', 'OpenFlow13', 'dump-tables', 'br0']))
      .split('\n')
      .slice(0, 12)
      .join('\n');
    const tx: Record<string, string[]> = {};
    for (const p of ['p1', 'p2', 'p3']) {
      const f = join(s.dir, `${p}.pcap`);
      tx[p] = existsSync(f)
        ? decodePcapFile(readFileSync(f)).records.map((rec) => {
            const k = new Uint32Array(FLOW_WORDS);
            extractFlow(rec.data, 0, rec.data.length, 0, k);
            return flowToString(k);
          })
        : [];
    }
    const out: Out = { dumps, tx };
    if (which === 'ours') {
      // Our ovs-ofctl against our switch prints what real ovs-ofctl prints.
      out.oursTool = {};
      for (const args of [
        ['--no-stats', '--sort', 'dump-flows', 'br0'],
        ['-O', 'OpenFlow13', 'dump-groups', 'br0'],
        ['-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'br0', 'table=1'],
      ]) {
        const a = ofctl(s, REAL, args);
        const b = ofctl(s, OURS, args);
        out.oursTool[args.join(' ')] = JSON.stringify([
          a.status === b.status,
          a.out === b.out,
          a.err === b.err,
          b.out,
          b.err,
        ]);
      }
    }
    return out;
  } finally {
    stopStack(s);
  }
}

describe('OpenFlow-programmed switch: ours against real OVS', () => {
  let real: Out;
  let ours: Out;
  before(async () => {
    [real, ours] = await Promise.all([run('real'), run('ours')]);
  });

  for (const k of [
    'flows-OpenFlow10',
    'flows-OpenFlow13',
    'flows-OpenFlow15',
    'aggregate-OpenFlow10',
    'aggregate-OpenFlow13',
    'aggregate-OpenFlow15',
    'nostats',
    'groups',
  ]) {
    it(`${k} equals real OVS`, () => assert.equal(ours.dumps[k], real.dumps[k]));
  }

  it('the flows forward the same packets to the same ports with the same rewrites', () => {
    // The select group may pick another bucket than OVS (its hash is its own): the TCP packet
    // must leave by exactly one of the group's ports, unchanged.
    const tcpOut = (o: Out): string[] =>
      ['p2', 'p3'].flatMap((p) => (o.tx[p] ?? []).filter((f) => f.startsWith('tcp')));
    assert.equal(tcpOut(ours).length, 1);
    assert.deepEqual(tcpOut(ours), tcpOut(real));
    for (const p of ['p1', 'p2', 'p3']) {
      const strip = (l: string[]) => l.filter((f) => !f.startsWith('tcp'));
      assert.deepEqual(strip(ours.tx[p] ?? []), strip(real.tx[p] ?? []), p);
    }
    assert.ok((ours.tx.p3 ?? []).some((f) => f.includes('dl_vlan=43') && f.includes('nw_tos=16')));
  });

  it('our ovs-ofctl prints what real ovs-ofctl prints against our switch', () => {
    for (const [cmd, v] of Object.entries(ours.oursTool ?? {})) {
      const [st, out, err, text, etext] = JSON.parse(v) as [
        boolean,
        boolean,
        boolean,
        string,
        string,
      ];
      assert.ok(st && out && err, `${cmd}:\n${text}${etext}`);
    }
    assert.equal(Object.keys(ours.oursTool ?? {}).length, 3);
  });
});
