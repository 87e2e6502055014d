/**
 * Our ovs-ofctl against our ovs-vswitchd for the table, queue, TLV, conntrack, IPFIX and
 * flow-monitor commands: whatever our switch answers (or the error it sends for what it does
 * not implement yet), our ovs-ofctl must print it exactly as real ovs-ofctl 3.1 does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { mask } from './ovs-ofctl-harness.ts';
import { ourCli } from './ovs-vsctl-harness.ts';
import { type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

describe('our ovs-ofctl table and Nicira commands against our ovs-vswitchd', () => {
  let stack: Stack;
  const ours = ourCli('ovs-ofctl');
  before(async () => {
    stack = await startStack({ which: 'ours', ovsdb: 'real' });
    const r = vsctl(stack, ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    if (stack) stopStack(stack);
  });
  const ofctl = (args: string[]) => {
    const r = spawnSync(process.execPath, [ours, '--timeout=10', ...args], {
      encoding: 'utf8',
      env: stack.env,
      timeout: 20000,
    });
    return { status: r.status, stdout: mask(r.stdout), stderr: mask(r.stderr) };
  };

  /* Monitors run until --timeout's alarm: both tools must print the same until then. */
  it('monitor watch: and invalid_ttl print what real ovs-ofctl prints against our switch', () => {
    const mon = (which: 'real' | 'ours', args: string[]) => {
      const [cmd, argv] =
        which === 'real' ? ['ovs-ofctl', args] : [process.execPath, [ours, ...args]];
      const r = spawnSync(cmd, argv, { encoding: 'utf8', env: stack.env, timeout: 20000 });
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: mask(r.stderr) };
    };
    for (const args of [
      ['--timeout=1', 'monitor', 'br0', 'watch:'],
      ['-O', 'OpenFlow14', '--timeout=1', 'monitor', 'br0', 'watch:'],
      ['--timeout=1', 'monitor', 'br0', 'invalid_ttl'],
    ]) {
      const r = mon('real', args);
      const o = mon('ours', args);
      assert.deepEqual(o, r, `monitor ${args.join(' ')}`);
    }
  });

  /* Whatever our switch answers (or the error it sends for what it does not implement yet),
   * our ovs-ofctl must print it as real ovs-ofctl does. */
  it('prints what our switch answers exactly as real ovs-ofctl does', () => {
    const both = (args: string[]) => {
      const r = spawnSync('ovs-ofctl', ['--timeout=10', ...args], {
        encoding: 'utf8',
        env: stack.env,
        timeout: 20000,
      });
      return [{ status: r.status, stdout: mask(r.stdout), stderr: mask(r.stderr) }, ofctl(args)];
    };
    for (const args of [
      ['-O', 'OpenFlow15', 'dump-table-desc', 'br0'],
      ['-O', 'OpenFlow13', 'dump-table-features', 'br0'],
      ['-O', 'OpenFlow15', 'dump-table-features', 'br0'],
      ['-O', 'OpenFlow14', 'queue-get-config', 'br0'],
      ['queue-get-config', 'br0'],
      ['dump-tlv-map', 'br0'],
      ['ct-flush-zone', 'br0', '5'],
      ['ct-flush', 'br0', 'zone=3', 'ct_nw_src=10.0.0.1'],
      ['dump-ipfix-bridge', 'br0'],
      ['-O', 'OpenFlow14', 'mod-table', 'br0', '0', 'evict'],
      ['-O', 'OpenFlow11', 'mod-table', 'br0', '1', 'drop'],
      ['-O', 'OpenFlow15', 'mod-table', 'br0', '2', 'name:two'],
      ['add-tlv-map', 'br0', '{class=0xffff,type=0,len=4}->tun_metadata0'],
    ]) {
      const [r, o] = both(args);
      assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
      assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
      assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
    }
  });
});
