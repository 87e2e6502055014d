import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmUp } from './warmup.ts';

test('warm-up runs its transactions successfully (it must warm the success paths)', async () => {
  const s = await warmUp({ rounds: 20, maxMs: 10_000, maxCpuMs: 60_000 });
  assert.equal(s.rounds, 20);
  assert.equal(s.failures, 0);
  // Per round: 4 transactions, an echo and 6 single inserts, plus a delete from round 16 on;
  // and the initial replies of the two monitors.
  assert.equal(s.replies, 20 * 11 + 4 + 2);
});

test('warm-up stops at its time bound', async () => {
  const t0 = Date.now();
  const s = await warmUp({ rounds: 1_000_000, maxMs: 50 });
  assert.ok(s.rounds < 1_000_000);
  assert.ok(Date.now() - t0 < 2000);
});

test('requests handed straight to a connection are answered in full and in order', async () => {
  // Rounds alternate: 4 over sockets, then 12 handed to the sink's connection, and so on.
  const s = await warmUp({ rounds: 60, maxMs: 20_000, maxCpuMs: 60_000 });
  assert.equal(s.rounds, 60);
  assert.equal(s.failures, 0);
  assert.equal(s.replies, 60 * 11 + 44 + 2);
});

test('warm-up stops at its CPU-time bound', async () => {
  const cpu0 = process.cpuUsage();
  const s = await warmUp({ rounds: 1_000_000, maxMs: 20_000, maxCpuMs: 50 });
  const used = process.cpuUsage(cpu0);
  assert.ok(s.rounds < 1_000_000);
  // One batch past the bound at most.
  assert.ok(used.user + used.system < 2_000_000, `${used.user + used.system} us of CPU`);
});
