import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyPoller } from './busy-poll.ts';

/* A poller on a clock the test moves (ms) and a scheduler the test drains by hand, so each
 * window's start, end and adaptation is seen exactly. */
function rig(maxUs: number) {
  let now = 1000;
  let queued: (() => void)[] = [];
  const p = new BusyPoller(
    maxUs,
    () => now,
    (fn) => queued.push(fn),
  );
  return {
    p,
    /** Moves the clock by `us` and runs the loop's polls up to then. */
    advance(us: number): void {
      now += us / 1000;
      const run = queued;
      queued = [];
      for (const fn of run) fn();
    },
    get pending(): number {
      return queued.length;
    },
  };
}

test('a peer that answers within the longest window gets a growing window', () => {
  const r = rig(200);
  assert.equal(r.p.window, 50);
  r.p.noteActivity();
  assert.equal(r.p.active, true);
  r.advance(60); // past the 50 µs window: polling stops
  assert.equal(r.p.active, false);
  assert.equal(r.pending, 0);
  r.advance(20); // the next request 80 µs after the last: the window was too short
  r.p.noteActivity();
  assert.equal(r.p.window, 100);
  r.advance(150);
  assert.equal(r.p.active, false);
  r.p.noteActivity(); // 150 µs: grows again, capped at the longest window
  assert.equal(r.p.window, 200);
  r.advance(250);
  r.p.noteActivity();
  // 250 µs is beyond the longest window: one such gap changes nothing, two in a row halve it.
  assert.equal(r.p.window, 200);
  r.advance(250);
  r.p.noteActivity();
  assert.equal(r.p.window, 100);
  r.advance(250);
  r.p.noteActivity();
  assert.equal(r.p.window, 50);
  // A quick answer in between starts the count again.
  r.advance(20);
  r.p.noteActivity();
  r.advance(250);
  r.p.noteActivity();
  assert.equal(r.p.window, 50);
});

test('activity inside the window keeps it as it is and extends the polling', () => {
  const r = rig(200);
  r.p.noteActivity();
  r.advance(30);
  assert.equal(r.p.active, true);
  r.p.noteActivity();
  assert.equal(r.p.window, 50);
  r.advance(30); // 60 µs after the first, 30 after the second: still polling
  assert.equal(r.p.active, true);
  r.advance(30);
  assert.equal(r.p.active, false);
});

test('a peer that talks rarely ends with no polling at all', () => {
  const r = rig(200);
  r.p.noteActivity();
  for (let i = 0; i < 12; i++) {
    r.advance(1000);
    r.p.noteActivity();
  }
  assert.equal(r.p.window, 0);
  assert.equal(r.p.active, false);
  assert.equal(r.pending, 0);
  // A quick exchange starts it again at the first step of growth.
  r.advance(40);
  r.p.noteActivity();
  assert.equal(r.p.window, 50);
  assert.equal(r.p.active, true);
});

test('a longest window of 0 turns polling off', () => {
  const r = rig(0);
  r.p.noteActivity();
  r.advance(10);
  r.p.noteActivity();
  assert.equal(r.p.active, false);
  assert.equal(r.pending, 0);
});

test('the real scheduler keeps the event loop turning without blocking, then lets it sleep', async () => {
  let ticks = 0;
  const p = new BusyPoller(5000, undefined, (fn) => {
    ticks++;
    setImmediate(fn);
  });
  const idle = async (): Promise<void> => {
    for (let i = 0; i < 10_000 && p.active; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  // Quick exchanges (a few loop turns apart) grow the window towards its 5 ms bound.
  for (let i = 0; i < 8; i++) {
    p.noteActivity();
    await idle();
  }
  assert.ok(p.window >= 1600, `window ${p.window} µs`);
  ticks = 0;
  const start = performance.now();
  p.noteActivity();
  await idle();
  const ms = performance.now() - start;
  assert.equal(p.active, false);
  assert.ok(ms >= p.window / 1000, `polled ${ms} ms for a ${p.window} µs window`);
  assert.ok(ticks > 2, `the loop turned ${ticks} times`);
});
