import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DpifNetdev } from '../../dpif/dpif-netdev.ts';
import { NetdevRegistry } from '../../netdev/registry.ts';
import { MAX_CONTROLLER_CALLS, Udpif } from './udpif.ts';
import type { ControllerCall } from './xlate/xlate.ts';

/* The calls a translation registers (their ids go into userspace() cookies) carry pipeline
 * fields, so a long-lived switch could see any number of distinct ones: the table starts afresh
 * at its bound, with ids that never repeat and a revalidation to re-translate every flow. */
test('controller calls: bounded, ids never reused, flows revalidated when it starts afresh', () => {
  const registry = new NetdevRegistry({ enableDummy: true, override: false });
  const udpif = new Udpif(new DpifNetdev('dummy', true, registry));
  const reg = (udpif as unknown as { registerCall(c: ControllerCall): number }).registerCall.bind(
    udpif,
  );
  const inner = udpif as unknown as { calls: Map<string, number>; dirty: boolean };
  const call = (reg0: number): ControllerCall => ({
    bridge: 'br0',
    reason: 'action',
    tableId: 0,
    cookie: 0n,
    maxLen: 0xffff,
    controllerId: 0,
    userdata: undefined,
    meta: [40, reg0],
  });
  const first = reg(call(0));
  assert.equal(reg(call(0)), first, 'the same call keeps its id');
  for (let i = 1; i < MAX_CONTROLLER_CALLS; i++) reg(call(i));
  assert.equal(inner.calls.size, MAX_CONTROLLER_CALLS);
  inner.dirty = false;
  const next = reg(call(MAX_CONTROLLER_CALLS));
  assert.equal(inner.calls.size, 1, 'started afresh');
  assert.equal(inner.dirty, true, 'every flow is re-translated');
  assert.ok(next > first + MAX_CONTROLLER_CALLS - 1, 'ids keep counting up');
  assert.notEqual(reg(call(0)), first, 'an old call gets a new id');
});
