/**
 * Continuations side by side with real ovs-vswitchd 3.1 (the scenario of OVS's
 * ofproto-dpif.at "continuation - ..." cases): a real `ovs-ofctl monitor BR resume` resumes
 * every paused packet-in while a packet is injected on p1; what the monitor prints (packet-ins
 * with their continuations, the NXT_RESUMEs it sends) and how many packets leave on each
 * dummy port (tx_pcap) must be the same on both switches, for several pause placements and
 * both monitor versions. Corrupted NXT_RESUMEs (unknown bridge, no continuation, no packet,
 * unknown or short properties, bad actions) get the same errors from both.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appctl, dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

const OFCTL = '/usr/bin/ovs-ofctl';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FLOW =
  'in_port(1),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),' +
  'ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0,ttl=128,frag=no),icmp(type=8,code=0)';

interface Case {
  name: string;
  nPorts: number;
  flows: string;
  version: string;
  /** A second bridge br1 with dummy ports `ports` and flows, monitored too. */
  br1?: { ports: number[]; flows: string };
  /** More ovs-vsctl commands (each after a `--`), run once both bridges exist. */
  setup?: string[];
}

const CASES: Case[] = [
  { name: 'pause at end of pipeline', nPorts: 2, flows: 'actions=2 pause', version: 'OpenFlow10' },
  {
    name: 'resubmit and relative resubmit',
    nPorts: 6,
    flows: [
      'table=0 in_port=1 actions=pause 2 resubmit(,1) 6',
      'table=1 in_port=1 actions=pause 3 pause resubmit:55 5 pause',
      'table=1 in_port=55 actions=4 pause',
    ].join('\n'),
    version: 'OpenFlow13',
  },
  {
    name: 'cookies, stack, write_metadata and goto_table',
    nPorts: 3,
    flows: [
      'table=0 cookie=0x5 in_port=1 actions=set_field:1->reg0 push:NXM_NX_REG0[] pause 2 resubmit(,1) 3',
      'table=1 cookie=0x7 in_port=1 actions=controller(pause,userdata=01.02) resubmit(,2) write_metadata:1/1 goto_table:2',
      'table=2 in_port=1 actions=2 pause',
    ].join('\n'),
    version: 'OpenFlow10',
  },
  {
    name: 'action set',
    nPorts: 3,
    flows: 'in_port=1 actions=1 pause resubmit(,1) pause 2\ntable=1 actions=write_actions(3)',
    version: 'OpenFlow13',
  },
  {
    name: 'flow stats',
    nPorts: 2,
    flows:
      'table=0 in_port=1 actions=set_field:1->reg1 pause resubmit(,2)\ntable=2 reg1=0x1 actions=2',
    version: 'OpenFlow10',
  },
  {
    name: 'after clone',
    nPorts: 3,
    flows: [
      'table=0 in_port=1 actions=set_field:1->reg1 resubmit(,2)',
      'table=1 reg1=0x5 actions=pause resubmit(,3)',
      'table=1 reg1=0x1 actions=2',
      'table=2 in_port=1 actions=clone(set_field:5->reg1, resubmit(,1))',
      'table=3 reg1=0x1 actions=3',
      'table=3 reg1=0x5 actions=2',
    ].join('\n'),
    version: 'OpenFlow13',
  },
  {
    name: 'mirroring',
    nPorts: 5,
    flows: 'in_port=1 actions=pause 2 pause 3 pause 4 pause',
    version: 'OpenFlow13',
    setup: [
      ...['set', 'Bridge', 'br0', 'mirrors=@m', '--', '--id=@p2', 'get', 'Port', 'p2', '--'],
      ...['--id=@p3', 'get', 'Port', 'p3', '--', '--id=@p4', 'get', 'Port', 'p4', '--'],
      ...['--id=@p5', 'get', 'Port', 'p5', '--', '--id=@m', 'create', 'Mirror', 'name=mymirror'],
      ...['select_dst_port=@p2,@p3,@p4', 'output_port=@p5'],
    ],
  },
  {
    name: 'patch ports',
    nPorts: 4,
    flows: [
      'table=0 in_port=1 actions=pause 2 resubmit(,1) pause 4',
      'table=1 in_port=1 actions=pause 3 pause 10 pause',
    ].join('\n'),
    version: 'OpenFlow10',
    br1: { ports: [5], flows: 'table=0 in_port=11 actions=pause 5 pause' },
    setup: [
      ...['add-port', 'br0', 'patch10', '--', 'set', 'interface', 'patch10', 'type=patch'],
      ...['options:peer=patch11', 'ofport_request=10', '--', 'add-port', 'br1', 'patch11', '--'],
      ...['set', 'interface', 'patch11', 'type=patch', 'options:peer=patch10'],
      'ofport_request=11',
    ],
  },
];

interface Seen {
  monitor: string;
  counts: number[];
  stats: string;
  staleError: string;
}

function normalize(s: string): string {
  return s
    .split('\n')
    .filter((l) => l !== '' && !l.includes('|'))
    .map((l) =>
      l
        .replace(/continuation\.bridge=[0-9a-f-]+/, 'continuation.bridge=UUID')
        .replace(/ duration=[0-9.]+s/, '')
        .replace(/ idle_age=[0-9]+/, ''),
    )
    .join('\n');
}

function addFlows(s: Stack, br: string, text: string): void {
  const flows = text
    .replace(/\bpause\b/g, 'controller(pause)')
    .replace(/controller\(controller\(pause\)/g, 'controller(pause');
  const a = spawnSync(OFCTL, ['-O', 'OpenFlow13', 'add-flows', br, '-'], {
    env: s.env,
    input: flows,
    encoding: 'utf8',
  });
  assert.equal(a.status, 0, a.stderr);
}

interface Monitor {
  proc: ChildProcess;
  ctl: string;
  log: string;
}

async function startMonitor(s: Stack, br: string, version: string): Promise<Monitor> {
  const ctl = join(s.dir, `ofctl-${br}.ctl`);
  const proc = spawn(OFCTL, ['-O', version, 'monitor', br, 'resume', `--unixctl=${ctl}`], {
    env: s.env,
    cwd: s.dir,
  });
  const m: Monitor = { proc, ctl, log: '' };
  proc.stderr?.on('data', (d) => {
    m.log += d;
  });
  // Ready once its control socket answers (it sets miss_send_len before serving it).
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('/usr/bin/ovs-appctl', ['-t', ctl, 'version'], { timeout: 2000 });
    if (r.status === 0) break;
    await sleep(20);
  }
  return m;
}

async function scenario(s: Stack, c: Case, n: number): Promise<Seen> {
  const pcap = (p: number) => join(s.dir, `case${n}-p${p}-tx.pcap`);
  const ports = Array.from({ length: c.nPorts }, (_, i) => i + 1);
  const allPorts = [...ports, ...(c.br1?.ports ?? [])];
  const args = [...dummyBridge('br0', ports).slice(1), '--', 'set', 'bridge', 'br0'];
  args.push('fail_mode=secure');
  if (c.br1)
    args.push(...dummyBridge('br1', c.br1.ports), '--', 'set', 'bridge', 'br1', 'fail_mode=secure');
  for (const p of allPorts)
    args.push('--', 'set', 'interface', `p${p}`, `options:tx_pcap=${pcap(p)}`);
  const r = vsctl(s, args);
  assert.equal(r.status, 0, r.stderr);
  if (c.setup) {
    const x = vsctl(s, c.setup);
    assert.equal(x.status, 0, x.stderr);
  }
  const mons = [await startMonitor(s, 'br0', c.version)];
  try {
    if (c.br1) mons.push(await startMonitor(s, 'br1', c.version));
    addFlows(s, 'br0', c.flows);
    if (c.br1) addFlows(s, 'br1', c.br1.flows);
    appctl(s, ['revalidator/wait']);
    assert.equal(appctl(s, ['netdev-dummy/receive', 'p1', FLOW]).status, 0);
    // Until every pause has been resumed and nothing more comes.
    const nPauses = (`${c.flows} ${c.br1?.flows ?? ''}`.match(/pause/g) ?? []).length;
    const resumes = () =>
      mons.reduce((n, m) => n + (m.log.match(/send: NXT_RESUME/g) ?? []).length, 0);
    for (let i = 0; i < 300 && resumes() < nPauses; i++) await sleep(10);
    await sleep(300);
    const m0 = mons[0] as Monitor;
    const before = m0.log.length;
    // A continuation naming a bridge that is not there: OVS answers NXR_STALE.
    const resume = buildStaleResume(c.version === 'OpenFlow10' ? 1 : 4);
    spawnSync('/usr/bin/ovs-appctl', ['-t', m0.ctl, 'ofctl/send', resume], {
      env: s.env,
      encoding: 'utf8',
      timeout: 5000,
    });
    for (let i = 0; i < 100 && !m0.log.slice(before).includes('OFPT_ERROR'); i++) await sleep(10);
    const staleError =
      m0.log
        .slice(before)
        .split('\n')
        .filter((l) => l.includes('OFPT_ERROR') || l.startsWith('NX'))[0] ?? '';
    const counts = allPorts.slice(1).map((p) => {
      const x = spawnSync(OFCTL, ['parse-pcap', pcap(p)], {
        encoding: 'utf8',
      });
      return x.stdout.split('\n').filter(Boolean).length;
    });
    let st = '';
    for (const br of c.br1 ? ['br0', 'br1'] : ['br0'])
      st += spawnSync(OFCTL, ['-O', 'OpenFlow13', 'dump-flows', br], {
        env: s.env,
        encoding: 'utf8',
      }).stdout;
    const monitor = mons.map((m, i) => (i === 0 ? m.log.slice(0, before) : m.log)).join('\n--\n');
    return { monitor: normalize(monitor), counts, stats: normalize(st), staleError };
  } finally {
    for (const m of mons) m.proc.kill();
    // The next case starts from scratch on the same switch.
    vsctl(s, ['--if-exists', 'del-br', 'br0', '--', '--if-exists', 'del-br', 'br1']);
  }
}

const STALE_BRIDGE = [0, 0, 0, 0, 0x80, 0x00, 0, 20, ...new Array(16).fill(0xab), 0, 0, 0, 0];

/* An NXT_RESUME (OpenFlow `version`) with a 60-byte packet (unless `packet` is false), in_port
 * 1 metadata and continuation body `cont` (none if null). Built by hand from OVS's layout. */
function buildResume(version: number, cont: number[] | null, packet = true): string {
  const props: number[] = [];
  const prop = (type: number, body: number[]) => {
    const len = 4 + body.length;
    props.push(type >> 8, type & 0xff, len >> 8, len & 0xff, ...body);
    while (props.length % 8) props.push(0);
  };
  if (packet)
    prop(
      0,
      Array.from({ length: 60 }, (_, i) => (i < 12 ? 0x50 : i === 12 ? 8 : 0)),
    );
  prop(3, [0]);
  prop(5, [1]);
  // NXM_OF_IN_PORT (0x0000, field 0, 2 bytes) = 1 for OF1.0; OXM_OF_IN_PORT for OF1.3.
  prop(6, version === 1 ? [0, 0, 0, 2, 0, 1] : [0x80, 0, 0, 4, 0, 0, 0, 1]);
  if (cont) prop(8, cont);
  const len = 16 + props.length;
  const hdr = [version, 4, len >> 8, len & 0xff, 0, 0, 0, 0x42, 0, 0, 0x23, 0x20, 0, 0, 0, 28];
  return Buffer.from([...hdr, ...props]).toString('hex');
}

function buildStaleResume(version: number): string {
  return buildResume(version, STALE_BRIDGE);
}

const CORRUPT: Array<{ name: string; hex: string }> = [
  { name: 'unknown bridge', hex: buildResume(4, STALE_BRIDGE) },
  { name: 'no continuation', hex: buildResume(4, null) },
  { name: 'no packet', hex: buildResume(4, STALE_BRIDGE, false) },
  { name: 'unknown property', hex: buildResume(4, [0, 0, 0, 0, 0x80, 0x10, 0, 8, 0, 0, 0, 1]) },
  { name: 'short bridge uuid', hex: buildResume(4, [0, 0, 0, 0, 0x80, 0, 0, 7, 1, 2, 3, 0]) },
  { name: 'property past the end', hex: buildResume(4, [0, 0, 0, 0, 0x80, 8, 0, 40, 0, 0, 0, 1]) },
  {
    name: 'bad actions',
    hex: buildResume(4, [
      ...STALE_BRIDGE,
      0x80,
      6,
      0,
      16,
      0,
      0,
      0,
      0,
      0xff,
      0xfe,
      0,
      8,
      0,
      0,
      0,
      0,
    ]),
  },
];

/* Each corrupted NXT_RESUME sent on a fresh monitor connection that never got a
 * continuation: the first error line the monitor prints for each. */
async function corruptScenario(s: Stack): Promise<string[]> {
  const r = vsctl(s, dummyBridge('br0', [1]).slice(1));
  assert.equal(r.status, 0, r.stderr);
  const m = await startMonitor(s, 'br0', 'OpenFlow13');
  try {
    // Ours routes NXT_RESUME on connections it has seen at its once-a-second run.
    await sleep(1200);
    const out: string[] = [];
    for (const c of CORRUPT) {
      const before = m.log.length;
      spawnSync('/usr/bin/ovs-appctl', ['-t', m.ctl, 'ofctl/send', c.hex], {
        env: s.env,
        timeout: 5000,
      });
      for (let i = 0; i < 100 && !m.log.slice(before).includes('OFPT_ERROR'); i++) await sleep(10);
      const line = m.log
        .slice(before)
        .split('\n')
        .find((l) => l.includes('OFPT_ERROR'));
      out.push(`${c.name}: ${line ?? '(no error)'}`);
    }
    return out;
  } finally {
    m.proc.kill();
  }
}

/* Every case, then the corrupted continuations, on one switch (starting switches is what
 * costs). */
async function allScenarios(s: Stack): Promise<{ cases: Seen[]; corrupt: string[] }> {
  const cases: Seen[] = [];
  for (const [n, c] of CASES.entries()) cases.push(await scenario(s, c, n));
  return { cases, corrupt: await corruptScenario(s) };
}

describe('continuations side by side with real ovs-vswitchd 3.1', () => {
  const seen: Partial<Record<'real' | 'ours', { cases: Seen[]; corrupt: string[] }>> = {};
  sideBySide(allScenarios, (which, r) => {
    seen[which] = r;
  });
  for (const [n, c] of CASES.entries()) {
    const real = () => seen.real?.cases[n];
    const ours = () => seen.ours?.cases[n];
    it(`${c.name} (${c.version}): the monitor prints the same packet-ins, continuations and NXT_RESUMEs`, () => {
      assert.ok(real()?.monitor.includes('NXT_PACKET_IN2'), real()?.monitor);
      assert.equal(ours()?.monitor, real()?.monitor);
    });
    it(`${c.name} (${c.version}): the same packets leave each port`, () => {
      assert.deepEqual(ours()?.counts, real()?.counts);
    });
    it(`${c.name} (${c.version}): the same flow statistics`, () => {
      assert.equal(ours()?.stats, real()?.stats);
    });
    it(`${c.name} (${c.version}): a continuation for an unknown bridge gets NXR_STALE`, () => {
      assert.match(real()?.staleError ?? '', /NXR_STALE/);
      assert.equal(ours()?.staleError, real()?.staleError);
    });
  }
  it('corrupted continuations are answered with the same errors', (t) => {
    t.diagnostic((seen.real?.corrupt ?? []).join('\n'));
    assert.ok(seen.real?.corrupt[0]?.includes('NXR_STALE'), String(seen.real?.corrupt));
    assert.deepEqual(seen.ours?.corrupt, seen.real?.corrupt);
  });
});
