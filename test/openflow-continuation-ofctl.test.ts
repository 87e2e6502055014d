/**
 * Our `ovs-ofctl monitor BR resume` (OVS's test-only option) against real ovs-vswitchd 3.1 and
 * ours: it must answer every paused packet-in with an NXT_RESUME, so that a packet injected
 * on p1 runs through every pause of the pipeline and leaves once on each of p2..p6, as in
 * OVS's ofproto-dpif.at "continuation - resubmit" case.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appctl, dummyBridge, ROOT, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FLOW =
  'in_port(1),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),' +
  'ipv4(src=192.168.0.1,dst=192.168.0.2,proto=1,tos=0,ttl=128,frag=no),icmp(type=8,code=0)';
const FLOWS = [
  'table=0 in_port=1 actions=controller(pause) 2 resubmit(,1) 6',
  'table=1 in_port=1 actions=controller(pause) 3 controller(pause) resubmit:55 5 controller(pause)',
  'table=1 in_port=55 actions=4 controller(pause)',
].join('\n');
const N_PAUSES = 5;

interface Seen {
  resumes: number;
  packetIns: number;
  counts: number[];
}

async function scenario(s: Stack): Promise<Seen> {
  const ports = [1, 2, 3, 4, 5, 6];
  const args = [...dummyBridge('br0', ports).slice(1), '--', 'set', 'bridge', 'br0'];
  args.push('fail_mode=secure');
  for (const p of ports)
    args.push('--', 'set', 'interface', `p${p}`, `options:tx_pcap=${join(s.dir, `p${p}-tx.pcap`)}`);
  assert.equal(vsctl(s, args).status, 0);
  const mon = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', join(ROOT, 'src/cli/ovs-ofctl.ts')],
      ...['-O', 'OpenFlow13', 'monitor', 'br0', 'resume'],
    ],
    { env: s.env, cwd: ROOT },
  );
  let log = '';
  mon.stderr?.on('data', (d) => {
    log += d;
  });
  try {
    await sleep(1500);
    const a = spawnSync('/usr/bin/ovs-ofctl', ['-O', 'OpenFlow13', 'add-flows', 'br0', '-'], {
      env: s.env,
      input: FLOWS,
      encoding: 'utf8',
    });
    assert.equal(a.status, 0, a.stderr);
    appctl(s, ['revalidator/wait']);
    assert.equal(appctl(s, ['netdev-dummy/receive', 'p1', FLOW]).status, 0);
    const resumes = () => (log.match(/send: NXT_RESUME/g) ?? []).length;
    for (let i = 0; i < 500 && resumes() < N_PAUSES; i++) await sleep(10);
    await sleep(300);
    const counts = ports.slice(1).map((p) => {
      const x = spawnSync('/usr/bin/ovs-ofctl', ['parse-pcap', join(s.dir, `p${p}-tx.pcap`)], {
        encoding: 'utf8',
      });
      return x.stdout.split('\n').filter(Boolean).length;
    });
    return { resumes: resumes(), packetIns: (log.match(/^NXT_PACKET_IN2/gm) ?? []).length, counts };
  } finally {
    mon.kill();
  }
}

describe('our ovs-ofctl monitor resume, against real ovs-vswitchd 3.1 and ours', () => {
  const seen: Partial<Record<'real' | 'ours', Seen>> = {};
  sideBySide(scenario, (which, r) => {
    seen[which] = r;
  });
  for (const which of ['real', 'ours'] as const) {
    it(`resumes each of the ${N_PAUSES} pauses once on ${which}`, () => {
      assert.equal(seen[which]?.packetIns, N_PAUSES);
      assert.equal(seen[which]?.resumes, N_PAUSES);
    });
    it(`gets the packet out once on each of p2..p6 on ${which}`, () => {
      assert.deepEqual(seen[which]?.counts, [1, 1, 1, 1, 1]);
    });
  }
});
