/**
 * A real OpenFlow controller, os-ken (Debian python3-os-ken) running a small OpenFlow 1.3
 * learning-switch application, drives our connection manager over TCP on 127.0.0.1: it
 * installs its table-miss flow on connect, answers packet-ins with packet-outs, and installs a
 * flow once it has learned both MAC addresses. Killing it makes standalone mode fail open.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { newFlowKey, W_IN_PORT } from '../src/lib/flow/layout.ts';
import { matchToString } from '../src/lib/flow/match-format.ts';
import { Connmgr } from '../src/ofproto/connmgr/connmgr.ts';
import { TestSwitch } from '../src/ofproto/connmgr/test-switch.ts';
import type { Rule } from '../src/ofproto/flow-table.ts';
import { formatOfpacts } from '../src/ofproto/openflow/ofpact-format.ts';
import { OSKEN_LEARNER_APP as APP } from './osken-learner.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function until(what: string, pred: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function frame(dst: string, src: string): Uint8Array {
  const b = new Uint8Array(60);
  const put = (at: number, mac: string) => {
    mac.split(':').forEach((h, i) => {
      b[at + i] = Number.parseInt(h, 16);
    });
  };
  put(0, dst);
  put(6, src);
  b[12] = 0x88;
  b[13] = 0xb5; // local experimental ethertype
  return b;
}

function show(r: Rule): string {
  const m = matchToString(r.match, 0x8000, {});
  return `priority=${r.priority}${m ? ` ${m}` : ''} actions=${formatOfpacts(r.ofpacts)}`;
}

function visible(sw: TestSwitch): string[] {
  return [...sw.flowTables.rules()]
    .filter((r) => r.priority <= 0xffff)
    .map(show)
    .sort();
}

let dir: string;
let osken: ChildProcess | null = null;
let cm: Connmgr | null = null;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'openflow-osken-'));
  writeFileSync(join(dir, 'learner.py'), APP);
});

after(() => {
  cm?.close();
  if (osken?.pid !== undefined && osken.exitCode === null) osken.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('os-ken learns, installs flows and packet-outs through our connmgr; standalone fails open without it', async () => {
  const port = await freePort();
  osken = spawn(
    '/usr/bin/osken-manager',
    [
      '--ofp-listen-host',
      '127.0.0.1',
      '--ofp-tcp-listen-port',
      String(port),
      join(dir, 'learner.py'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
  );
  let log = '';
  osken.stderr?.on('data', (d) => (log += d));
  const sw = new TestSwitch('br0', [
    { portNo: 1, name: 'p1', hwAddr: [0xaa55, 0xaa550001] },
    { portNo: 2, name: 'p2', hwAddr: [0xaa55, 0xaa550002] },
    { portNo: 0xfffe, name: 'br0', hwAddr: [0xe243, 0xc905da40] },
  ]);
  cm = new Connmgr(sw, { rundir: dir, failOpenDelayMs: 300 });
  cm.setControllers([{ target: `tcp:127.0.0.1:${port}`, maxBackoffMs: 500 }]);
  await until('the table-miss flow from os-ken', () => visible(sw).length === 1);
  assert.deepEqual(visible(sw), ['priority=0 actions=CONTROLLER:65535']);
  await until('fail-open to end', () => cm?.failedOpen === false);
  assert.equal(cm.controllerStatus()[0].isConnected, true, log);

  const call = {
    bridge: 'br0',
    reason: 'action' as const,
    tableId: 0,
    cookie: 0n,
    maxLen: 0xffff,
    controllerId: 0,
    userdata: undefined,
  };
  const f1 = newFlowKey();
  f1[W_IN_PORT] = 1;
  cm.packetIn(call, frame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:01'), f1);
  await until('a flooding packet-out', () => sw.packetOuts.length === 1);
  assert.equal(formatOfpacts(sw.packetOuts[0].ofpacts), 'FLOOD');
  assert.equal(sw.packetOuts[0].inPort, 1);
  assert.equal(sw.packetOuts[0].data.length, 60);

  const f2 = newFlowKey();
  f2[W_IN_PORT] = 2;
  cm.packetIn(call, frame('02:00:00:00:00:01', '02:00:00:00:00:02'), f2);
  await until('the learned flow and a packet-out to port 1', () => sw.packetOuts.length === 2);
  await until('the learned flow', () => visible(sw).length === 2);
  assert.equal(formatOfpacts(sw.packetOuts[1].ofpacts), 'output:1');
  assert.deepEqual(visible(sw), [
    'priority=0 actions=CONTROLLER:65535',
    'priority=1 in_port=2,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01 actions=output:1',
  ]);

  // With the controller gone, standalone mode fails open after the delay; the controller's
  // flows stay.
  osken.kill('SIGKILL');
  await until('fail open', () => cm?.failedOpen === true);
  assert.equal(cm.controllerStatus()[0].isConnected, false);
  assert.equal(sw.flowTables.lookup(0, newFlowKey(), null)?.priority, 0xf0f0f0);
  assert.equal(sw.flowTables.tableStats()[0].activeCount, 2);
});
