/**
 * MAC learning, patch ports, truncation, fin_timeout, traces and the revalidation counter,
 * side by side with real ovs-vswitchd 3.1 on dummy bridges: the same ovs-vsctl, ovs-appctl and
 * ovs-ofctl commands (the real 3.1 tools) run against both switches, and each step's output
 * must be what real OVS prints. Every step is our own; none is taken from OVS's testsuite.
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

const arp = (src: string, dst: string): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x0806),arp(sip=198.18.0.1,tip=198.18.0.2,op=1,sha=${src},tha=00:00:00:00:00:00)`;
const mac = (n: number): string =>
  `50:54:00:00:0${(n >> 8) & 0xf}:${(n & 0xff).toString(16).padStart(2, '0')}`;
/* A TCP segment 198.18.0.1:1025 -> 198.18.0.2:80 with the given flags. */
const tcpHex = (flags: number): string =>
  '505400000002505400000001080045000028000100004006' +
  '0000c6120001c61200020401005000000001000000005' +
  flags.toString(16).padStart(3, '0') +
  '200000000000';

/* fdb/show without ages, sorted (ages and equal-age order are not what is compared). */
const fdb = (out: string): string =>
  out
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/\s+\d+$/, '').replace(/\s+static$/, ' static'))
    .sort()
    .join('\n');
const lastLine = (out: string): string => out.trimEnd().split('\n').pop() ?? '';

async function scenario(which: 'ours' | 'real'): Promise<Step[]> {
  // The host's namespace: the IPFIX exporter needs a working loopback for its collector.
  const s = await startStack({ which, ownNetns: false });
  const steps: Step[] = [];
  const app = (name: string, args: string[], view: (o: string) => string = (o) => o): void => {
    const r = appctl(s, args);
    steps.push({ name, out: `${r.status}\n${view(r.stdout)}${r.stderr.split('\n')[0] ?? ''}` });
  };
  const cfg = (args: string[]): void => {
    const r = vsctl(s, args);
    assert.equal(r.status, 0, `${which}: ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
  };
  try {
    const port = (br: string, p: string, n: number): string[] => [
      ...['--', 'add-port', br, p, '--', 'set', 'interface', p, 'type=dummy'],
      `ofport_request=${n}`,
    ];
    cfg([
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      ...['fail-mode=standalone', 'other-config:mac-table-size=10'],
    ]);
    app('rev_reconfigure after a bridge', ['coverage/read-counter', 'rev_reconfigure']);
    cfg([1, 2, 3, 4, 5, 6].flatMap((n) => port('br0', `p${n}`, n)));
    app('rev_reconfigure after six ports', ['coverage/read-counter', 'rev_reconfigure']);
    cfg([
      ...['add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=dummy'],
      ...['fail-mode=standalone'],
      ...['--', 'add-port', 'br1', 'pbr1', '--', 'set', 'interface', 'pbr1', 'type=patch'],
      ...['options:peer=pbr0', 'ofport_request=1'],
      ...['--', 'add-port', 'br0', 'pbr0', '--', 'set', 'interface', 'pbr0', 'type=patch'],
      ...['options:peer=pbr1', 'ofport_request=9'],
      ...port('br1', 'p7', 7),
    ]);
    app('rev_reconfigure after a patched bridge', ['coverage/read-counter', 'rev_reconfigure']);
    cfg(['set', 'interface', 'p7', 'lldp:enable=true']);
    app('revalidator/wait', ['revalidator/wait']);
    app('rev_reconfigure after lldp on', ['coverage/read-counter', 'rev_reconfigure']);
    cfg(['set', 'bridge', 'br0', 'other-config:dp-desc=x']);
    app('rev_reconfigure after an unrelated change', ['coverage/read-counter', 'rev_reconfigure']);
    app('dpif/dump-dps', ['dpif/dump-dps']);
    app('time/stop', ['time/stop']);

    // Ten MACs fill br0's table: three each on p1..p3, one on p4; then p5 brings five more.
    let n = 1;
    for (const p of [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 5, 5, 5, 5]) {
      appctl(s, [
        'ofproto/trace',
        'br0',
        `in_port=${p},dl_src=${mac(n++)},dl_dst=ff:ff:ff:ff:ff:ff`,
        '-generate',
      ]);
      appctl(s, ['time/warp', '1000']);
    }
    app('fdb after overflow', ['fdb/show', 'br0'], fdb);
    app('evictions', ['coverage/read-counter', 'mac_learning_evicted']);

    // A MAC learned on p6 crosses the patch and is learned on br1 too; p6 going forgets both.
    appctl(s, [
      'ofproto/trace',
      'br0',
      `in_port=6,dl_src=${mac(0x600)},dl_dst=ff:ff:ff:ff:ff:ff`,
      '-generate',
    ]);
    app('br1 fdb with the MAC', ['fdb/show', 'br1'], fdb);
    cfg(['del-port', 'p6']);
    app('br1 fdb after its port went', ['fdb/show', 'br1'], fdb);

    // A static MAC seen on another port stays where it is, and is counted.
    app('fdb/add', ['fdb/add', 'br0', 'p2', '0', mac(0x700)]);
    appctl(s, [
      'ofproto/trace',
      'br0',
      `in_port=3,dl_src=${mac(0x700)},dl_dst=${mac(1)}`,
      '-generate',
    ]);
    app('static none move', ['coverage/read-counter', 'mac_learning_static_none_move']);
    app('fdb static', ['fdb/show', 'br0'], (o) =>
      fdb(o)
        .split('\n')
        .filter((l) => l.includes('static'))
        .join('\n'),
    );

    // ofproto/trace's argument forms and their errors.
    const odp = `in_port(2),${arp(mac(0x800), mac(0x801))}`;
    // A flood leaves in hash order in OVS: compared as a set.
    app('trace dp_name odp_flow', ['ofproto/trace', 'ovs-dummy', odp], (o) =>
      lastLine(o).replace(/: (.*)/, (_m, l: string) => `: ${l.split(',').sort().join(',')}`),
    );
    app('trace unknown dp', ['ofproto/trace', 'nodp', odp]);
    app('trace bridge odp_flow', ['ofproto/trace', 'br0', odp]);
    app('trace dp br_flow', ['ofproto/trace', 'ovs-dummy', 'in_port=2']);
    app('trace br_flow alone', ['ofproto/trace', 'in_port=2,dl_type=0x0806']);
    app('trace no such odp port', ['ofproto/trace', 'ovs-dummy', 'in_port(77)']);
    app('trace garbage packet', ['ofproto/trace', 'ovs-dummy', odp, 'zz']);
    app('trace short packet', ['ofproto/trace', 'ovs-dummy', odp, '0011']);
    app(
      'trace packet keeps metadata',
      ['ofproto/trace', 'in_port(2),skb_mark(7)', tcpHex(0x02)],
      (o) => o.split('\n')[0] ?? '',
    );
    app(
      'trace --names',
      ['ofproto/trace', 'br0', `in_port=p3,dl_dst=${mac(0x700)}`, '--names'],
      lastLine,
    );
    app(
      'trace-packet-out',
      ['ofproto/trace-packet-out', 'br0', 'in_port=4', 'mod_vlan_vid:7,output:5'],
      lastLine,
    );

    // Truncation: ahead of a datapath port's output; refused towards a patch port.
    cfg(['set', 'bridge', 'br1', 'fail-mode=secure']);
    ofctl(s, [
      'add-flow',
      'br1',
      'in_port=7,actions=output(port=1,max_len=100),output(port=LOCAL,max_len=70),mod_nw_tos:8,output:LOCAL',
    ]);
    app(
      'trunc',
      ['ofproto/trace', 'br1', 'in_port=7,ip'],
      (o) =>
        `${lastLine(o)}\n${o
          .split('\n')
          .filter((l) => l.includes('output_trunc'))
          .map((l) => l.trim())
          .join('\n')}`,
    );

    // The patch ports count what crossed them.
    ofctl(s, ['del-flows', 'br1']);
    ofctl(s, ['add-flow', 'br1', 'actions=output:7']);
    appctl(s, ['netdev-dummy/receive', 'p3', `in_port(3),${arp(mac(0x900), 'ff:ff:ff:ff:ff:ff')}`]);
    appctl(s, ['netdev-dummy/receive', 'p3', `in_port(3),${arp(mac(0x900), 'ff:ff:ff:ff:ff:ff')}`]);
    appctl(s, ['revalidator/purge']);
    const ports = ofctl(s, ['dump-ports', 'br1', 'pbr1']);
    steps.push({
      name: 'patch port statistics',
      out: ports.stdout.replace(/xid=0x[0-9a-f]+/, 'xid'),
    });

    // fin_timeout shortens the idle timeout when a FIN goes through.
    ofctl(s, ['del-flows', 'br1']);
    ofctl(s, ['add-flow', 'br1', 'idle_timeout=60,tcp,actions=fin_timeout(idle_timeout=4)']);
    appctl(s, ['netdev-dummy/receive', 'p7', tcpHex(0x02)]);
    appctl(s, ['revalidator/purge']);
    appctl(s, ['netdev-dummy/receive', 'p7', tcpHex(0x11)]);
    appctl(s, ['revalidator/purge']);
    const flows = ofctl(s, ['dump-flows', 'br1']);
    steps.push({
      name: 'fin_timeout',
      out: flows.stdout
        .replace(/ (cookie|duration|idle_age)=[^,]*,/g, '')
        .replace(/xid=0x[0-9a-f]+/, 'xid'),
    });

    // The stack survives a trip through a patch port; in_port is pushed in its 32-bit form.
    ofctl(s, ['del-flows', 'br1']);
    ofctl(s, [
      'add-flow',
      'br1',
      'ip,actions=push:OXM_OF_IN_PORT[],output:1,pop:OXM_OF_IPV4_SRC[],output:7',
    ]);
    // (A flood in the peer leaves in hash order: compared as a set.)
    app(
      'stack across a patch port',
      ['ofproto/trace', 'br1', 'in_port=LOCAL,icmp,nw_src=198.18.0.9'],
      (o) =>
        lastLine(o).replace(
          /: (.*)/,
          (_m, l: string) =>
            `: ${l
              .split(/,(?![^(]*\))/)
              .sort()
              .join(',')}`,
        ),
    );

    // IPFIX exporter statistics: refused until configured, then counting what was sampled.
    const ipfixDump = (name: string, args: string[]): void => {
      const r = ofctl(s, args);
      steps.push({
        name,
        out: `${r.status}\n${r.stdout}${r.stderr}`
          .replace(/xid=0x[0-9a-f]+/g, 'xid')
          .replace(/tx pkts=\d+/, 'tx pkts=N')
          .replace(/tx errs=\d+/, 'tx errs=N'),
      });
    };
    ipfixDump('ipfix bridge stats unconfigured', ['dump-ipfix-bridge', 'br1']);
    ipfixDump('ipfix flow stats unconfigured', ['dump-ipfix-flow', 'br1']);
    cfg([
      ...['--', 'set', 'bridge', 'br1', 'ipfix=@i', '--', '--id=@i', 'create', 'ipfix'],
      ...['targets="127.0.0.1:4739"', 'sampling=1'],
    ]);
    for (let i = 0; i < 3; i++) {
      appctl(s, [
        'netdev-dummy/receive',
        'p7',
        `in_port(7),eth(src=${mac(1)},dst=${mac(2)}),eth_type(0x0800)`,
      ]);
    }
    ipfixDump('ipfix bridge stats', ['dump-ipfix-bridge', 'br1']);

    // Port statistics age with the (warped) clock.
    appctl(s, ['time/warp', '20000']);
    const dur = ofctl(s, ['-O', 'OpenFlow13', 'dump-ports', 'br1', 'p7']).stdout;
    const secs = Number(/duration=([0-9.]+)s/.exec(dur)?.[1] ?? 'NaN');
    steps.push({ name: 'port duration past 20 s', out: String(secs >= 20) });

    // The bridge's internal port follows its other ports' smallest MTU, then the default.
    const mtu = (name: string): void => {
      steps.push({ name, out: vsctl(s, ['get', 'interface', 'br1', 'mtu']).stdout });
    };
    cfg(['set', 'interface', 'p7', 'mtu_request=1600']);
    mtu('internal MTU follows a port');
    cfg(['del-port', 'br1', 'p7']);
    mtu('internal MTU without ports');
    return steps;
  } finally {
    stopStack(s);
  }
}

describe('ofproto-dpif learning, patch ports and traces: ours against real OVS', () => {
  let real: Step[];
  let ours: Step[];
  before(async () => {
    [real, ours] = await Promise.all([scenario('real'), scenario('ours')]);
  });

  it('runs the same steps', () => {
    assert.deepEqual(
      ours.map((s) => s.name),
      real.map((s) => s.name),
    );
  });

  const names = [
    'rev_reconfigure after a bridge',
    'rev_reconfigure after six ports',
    'rev_reconfigure after a patched bridge',
    'rev_reconfigure after lldp on',
    'rev_reconfigure after an unrelated change',
    'dpif/dump-dps',
    'fdb after overflow',
    'evictions',
    'br1 fdb with the MAC',
    'br1 fdb after its port went',
    'static none move',
    'fdb static',
    'trace dp_name odp_flow',
    'trace unknown dp',
    'trace bridge odp_flow',
    'trace dp br_flow',
    'trace br_flow alone',
    'trace no such odp port',
    'trace garbage packet',
    'trace short packet',
    'trace packet keeps metadata',
    'trace --names',
    'trace-packet-out',
    'trunc',
    'patch port statistics',
    'fin_timeout',
    'stack across a patch port',
    'ipfix bridge stats unconfigured',
    'ipfix flow stats unconfigured',
    'ipfix bridge stats',
    'port duration past 20 s',
    'internal MTU follows a port',
    'internal MTU without ports',
  ];
  for (const name of names) {
    it(`${name}: as real OVS`, () => {
      const r = real.find((s) => s.name === name);
      const o = ours.find((s) => s.name === name);
      assert.ok(r, `real OVS ran ${name}`);
      assert.equal(o?.out, r.out);
    });
  }
});
