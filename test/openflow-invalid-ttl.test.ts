/**
 * OFPC_INVALID_TTL_TO_CONTROLLER, side by side with real ovs-vswitchd 3.1: real
 * `ovs-ofctl monitor br0 65534 invalid_ttl` sets the OF1.0 config flag, and a packet whose TTL
 * dec_ttl cannot decrement reaches it as a packet-in "(via invalid_ttl)"; a monitor without the
 * flag gets nothing. Both switches must print the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appctl, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const OFCTL = '/usr/bin/ovs-ofctl';
const PACKET =
  'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),' +
  'ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=1,frag=no),udp(src=1000,dst=2000)';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ofctl(s: Stack, args: string[]): string {
  const r = spawnSync(OFCTL, ['--timeout=10', ...args], { encoding: 'utf8', env: s.env });
  assert.equal(r.status, 0, `ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/* Runs a monitor while one TTL-1 packet arrives; returns what it printed. */
async function monitor(s: Stack, extra: string[]): Promise<string> {
  const ctl = join(s.dir, `mon-${extra.length}.ctl`);
  const p: ChildProcess = spawn(OFCTL, ['monitor', 'br0', ...extra, `--unixctl=${ctl}`], {
    env: s.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // ovs-ofctl monitor prints what it receives on stderr.
  p.stderr?.on('data', (d) => (out += d));
  try {
    // The monitor's barrier comes back only after its set_config was handled.
    for (let i = 0; i < 250 && !existsSync(ctl); i++) await sleep(20);
    const barrier = (): void => {
      const r = spawnSync('/usr/bin/ovs-appctl', ['-t', ctl, 'ofctl/barrier'], {
        encoding: 'utf8',
        timeout: 10000,
      });
      assert.equal(r.status, 0, `ofctl/barrier: ${r.stderr}`);
    };
    barrier();
    const r = appctl(s, ['netdev-dummy/receive', 'p1', PACKET]);
    assert.equal(r.status, 0, r.stderr);
    barrier();
    // What the monitor printed before the barrier reply may still be in the pipe.
    for (let i = 0; i < 25 && !out.includes('OFPT_PACKET_IN'); i++) await sleep(20);
    return out;
  } finally {
    p.kill('SIGTERM');
  }
}

const results: Record<'ours' | 'real', { withFlag: string; without: string }> = {
  ours: { withFlag: '', without: '' },
  real: { withFlag: '', without: '' },
};

for (const which of ['real', 'ours'] as const) {
  describe(`invalid_ttl packet-ins (${which} ovs-vswitchd)`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ which });
      const r = vsctl(s, [
        ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
        ...['--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy'],
        'ofport_request=1',
        ...['--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'type=dummy'],
        'ofport_request=2',
      ]);
      assert.equal(r.status, 0, r.stderr);
      ofctl(s, ['add-flow', 'br0', 'in_port=1,ip,actions=dec_ttl,output:2']);
    });
    after(() => stopStack(s));

    it('a monitor that asked for invalid_ttl gets the packet; one that did not, nothing', async () => {
      // A service connection gets async messages once it sets a miss_send_len.
      results[which].withFlag = await monitor(s, ['65534', 'invalid_ttl']);
      results[which].without = await monitor(s, ['65534']);
      assert.match(results[which].withFlag, /PACKET_IN2? .*\(via invalid_ttl\)/);
      assert.doesNotMatch(results[which].without, /PACKET_IN/);
    });
  });
}

describe('ours against real', () => {
  it('prints the same packet-in', () => {
    assert.ok(results.real.withFlag !== '', 'the real switch ran first');
    assert.equal(results.ours.withFlag, results.real.withFlag);
  });
});
