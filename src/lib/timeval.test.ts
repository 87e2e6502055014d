import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import {
  after,
  clockStopped,
  every,
  parseWarpArgs,
  resetClockForTests,
  timeMsec,
  timeStop,
  timeWarp,
} from './timeval.ts';

afterEach(() => resetClockForTests());

test('a stopped clock moves only by warps', async () => {
  timeStop();
  assert.equal(clockStopped(), true);
  const t0 = timeMsec();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(timeMsec(), t0);
  await timeWarp(0, 1500);
  assert.equal(timeMsec(), t0 + 1500);
});

test('a large warp runs periodic work once per step, in steps of MSECS', async () => {
  timeStop();
  const seen: number[] = [];
  const t0 = timeMsec();
  const timer = every(1000, () => seen.push(timeMsec() - t0));
  await timeWarp(3000, 500);
  timer.cancel();
  // Due at 1000, then one period after each run: 1000, 2000, 3000.
  assert.deepEqual(seen, [1000, 2000, 3000]);
  assert.equal(timeMsec() - t0, 3000);
});

test('one-shot timers fire once when warped past, never before', async () => {
  timeStop();
  let n = 0;
  after(5000, () => n++);
  await timeWarp(0, 4999);
  assert.equal(n, 0);
  await timeWarp(0, 1);
  assert.equal(n, 1);
  await timeWarp(0, 10000);
  assert.equal(n, 1);
});

test('a cancelled timer never fires', async () => {
  timeStop();
  let n = 0;
  const t = every(10, () => n++);
  t.cancel();
  await timeWarp(0, 100);
  assert.equal(n, 0);
});

test('timers still run on real time when the clock is not stopped', async () => {
  let n = 0;
  const t = after(20, () => n++);
  await new Promise((r) => setTimeout(r, 80));
  t.cancel();
  assert.equal(n, 1);
});

test("invalid and concurrent warps are refused with OVS's texts", async () => {
  await assert.rejects(timeWarp(0, 0), /^TimeWarpError: invalid MSECS$/);
  await assert.rejects(timeWarp(-5, 10), /invalid MSECS/);
  const first = timeWarp(100, 10);
  await assert.rejects(timeWarp(0, 10), /A previous warp in progress/);
  await first;
});

test("arguments parse as OVS's atoll reads them", () => {
  assert.deepEqual(parseWarpArgs(['500']), { total: 0, step: 500 });
  assert.deepEqual(parseWarpArgs(['10000', '100']), { total: 10000, step: 100 });
  assert.deepEqual(parseWarpArgs(['abc']), { total: 0, step: 0 });
  assert.deepEqual(parseWarpArgs(['12x']), { total: 0, step: 12 });
});
