import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pinsched } from './pinsched.ts';

test('packet-ins within the burst go out at once, then queue up to the burst, then drop', () => {
  let t = 0;
  const p = new Pinsched(100, 25, () => t);
  const out: number[] = [];
  const results = Array.from({ length: 60 }, (_, i) => p.send(() => out.push(i)));
  assert.equal(results.filter((r) => r === 'sent').length, 25);
  assert.equal(results.filter((r) => r === 'queued').length, 25);
  assert.equal(results.filter((r) => r === 'dropped').length, 10);
  assert.equal(out.length, 25);
  // 100 per second: 100 ms later ten more may go, in order.
  t = 100;
  p.run();
  assert.deepEqual(out.slice(25), [25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
  t = 1000;
  p.run();
  assert.equal(out.length, 50);
  assert.equal(p.queued, 0);
  p.close();
});

test('settings below OVS minimums are raised to them', () => {
  const p = new Pinsched(1, 1);
  assert.equal(p.rate, 100);
  assert.equal(p.burst, 25);
  const q = new Pinsched(1000, undefined);
  assert.equal(q.burst, 250, 'default burst is a quarter of the rate');
  p.close();
  q.close();
});
