/**
 * `ovs-ofctl benchmark TARGET N COUNT` (echo round trips), ours beside real ovs-ofctl 3.1 on
 * real ovs-vswitchd: the same first line, a result line of the same shape, and the same
 * errors for a payload out of range.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run, type Switch, startSwitch, stopSwitch } from './ovs-ofctl-harness.ts';

let sw: Switch;
before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

const timing = (s: string): string =>
  s.replace(
    /Finished in [\d.]+ ms \(\d+ packets\/s\) \(\d+ bytes\/s\)/,
    'Finished in T ms (P packets/s) (B bytes/s)',
  );

describe('ovs-ofctl benchmark', () => {
  it('prints what real ovs-ofctl prints, timings aside', () => {
    for (const args of [
      ['benchmark', 'br0', '100', '50'],
      ['benchmark', 'br0', '0', '3'],
      ['benchmark', 'br0', '65528', '1'],
      ['benchmark', 'br0', '-1', '1'],
      ['benchmark', 'br0', 'x', '2'],
    ]) {
      const r = run(sw, 'real', args);
      const o = run(sw, 'ours', args);
      assert.equal(o.status, r.status, args.join(' '));
      assert.equal(timing(o.stdout), timing(r.stdout), args.join(' '));
      assert.equal(o.stderr, r.stderr, args.join(' '));
    }
    assert.match(
      run(sw, 'ours', ['benchmark', 'br0', '100', '50']).stdout,
      /^Sending 50 packets \* 108 bytes \(with header\) = 5400 bytes total\nFinished in [\d.]+ ms/,
    );
  });
});
