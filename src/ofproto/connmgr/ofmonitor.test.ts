import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { newMatch } from '../../lib/flow/match.ts';
import { Reader } from '../openflow/bytes.ts';
import { decodeMessage, encodeMessage } from '../openflow/codec.ts';
import { decodeErrorBody } from '../openflow/errors.ts';
import { parseFlowMod } from '../openflow/flow-mod-parse.ts';
import {
  decodeFlowMonitorMessage,
  encodeFlowMonitorMessage,
  type FlowMonitorMessage,
  type FlowUpdate,
  OFPFMF,
} from '../openflow/flow-monitor.ts';
import { OfpFramer } from '../openflow/framer.ts';
import type { OfpMessage } from '../openflow/messages.ts';
import { Connmgr } from './connmgr.ts';
import { looseMatch, ofpactsEqual } from './ofmonitor.ts';
import { TestSwitch } from './test-switch.ts';

const dirs: string[] = [];
const cleanups: (() => void)[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/* A client of the management socket on our codec that keeps every message it gets. */
class Client {
  readonly raws: Uint8Array[] = [];
  private xid = 1000;
  private constructor(
    readonly sock: Socket,
    readonly version: number,
  ) {}

  static async open(path: string, version: number): Promise<Client> {
    const sock = createConnection(path);
    const c = new Client(sock, version);
    const fr = new OfpFramer();
    sock.on('data', (d: Buffer) => {
      for (const ev of fr.push(new Uint8Array(d))) if (ev.kind === 'message') c.raws.push(ev.bytes);
    });
    sock.on('error', () => {});
    sock.write(encodeMessage({ version, xid: 1, msg: { type: 'hello', versions: [version] } }));
    await c.waitFor((b) => b[1] === 0, 'hello');
    cleanups.push(() => sock.destroy());
    return c;
  }

  send(msg: OfpMessage): number {
    const xid = this.xid++;
    this.sock.write(encodeMessage({ version: this.version, xid, msg }));
    return xid;
  }

  sendMonitor(msg: FlowMonitorMessage): number {
    const xid = this.xid++;
    this.sock.write(encodeFlowMonitorMessage({ version: this.version, xid, msg }));
    return xid;
  }

  flow(text: string, command: 'add' | 'modify' | 'delete' = 'add'): number {
    const fm = parseFlowMod(text, command);
    assert.ok(fm.ok);
    return this.send({ type: 'flow_mod', format: 'standard', ...fm.value });
  }

  async barrier(): Promise<void> {
    const xid = this.send({ type: 'barrier_request' });
    const type = this.version === 1 ? 19 : 21;
    await this.waitFor((b) => decodeMessage(b).ok && xidOf(b) === xid && b[1] === type, 'barrier');
  }

  async waitFor(pred: (b: Uint8Array) => boolean, what: string, tries = 300): Promise<Uint8Array> {
    for (let i = 0; i < tries; i++) {
      const f = this.raws.find(pred);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** Every flow update received, in order. */
  updates(): FlowUpdate[] {
    const out: FlowUpdate[] = [];
    for (const b of this.raws) {
      const m = decodeFlowMonitorMessage(b);
      if (m?.ok && m.frame.msg.type === 'flow_monitor_reply') out.push(...m.frame.msg.updates);
      if (m?.ok && m.frame.msg.type === 'flow_monitor_paused') out.push({ event: 'paused' });
      if (m?.ok && m.frame.msg.type === 'flow_monitor_resumed') out.push({ event: 'resumed' });
    }
    return out;
  }

  errors(): string[] {
    return this.raws
      .filter((b) => b[1] === 1)
      .map((b) => decodeErrorBody(new Reader(b, 8, b.length), this.version).name ?? '?');
  }
}

function xidOf(b: Uint8Array): number {
  return ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
}

async function bridge(): Promise<{ cm: Connmgr; sw: TestSwitch; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ofmonitor-'));
  dirs.push(dir);
  const sw = new TestSwitch('br0', [
    { portNo: 1, name: 'p1', hwAddr: [0xaa55, 0xaa550001] },
    { portNo: 0xfffe, name: 'br0', hwAddr: [0xe243, 0xc905da40] },
  ]);
  const cm = new Connmgr(sw, { rundir: dir, failMode: 'secure' });
  await cm.ready;
  cleanups.push(() => cm.close());
  return { cm, sw, path: join(dir, 'br0.mgmt') };
}

const watchAll = (id: number, flags: number) => ({
  type: 'flow_monitor_request' as const,
  flags: 0,
  requests: [
    {
      id,
      command: 'add' as const,
      flags,
      outPort: 0xffff,
      outGroup: 0xffffffff,
      tableId: 0xff,
      match: newMatch(),
    },
  ],
});

test("the monitoring connection's own changes come as one abbreviated update with its xid", async () => {
  const { path } = await bridge();
  const a = await Client.open(path, 5);
  const b = await Client.open(path, 5);
  a.sendMonitor(watchAll(1, OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY | OFPFMF.INSTRUCTIONS));
  await a.barrier();
  const xid = a.flow('in_port=1,actions=output:2');
  await a.barrier();
  b.flow('in_port=2,actions=output:1');
  await b.barrier();
  await a.waitFor(() => a.updates().length >= 2, 'updates');
  const ups = a.updates();
  assert.deepEqual(ups[0], { event: 'abbrev', xid });
  assert.equal(ups[1].event, 'added');
  assert.ok(ups[1].event === 'added' && ups[1].ofpacts.length === 1);
});

test('ONLY_OWN reports the own changes in full; cancel stops updates; errors as OVS', async () => {
  const { path } = await bridge();
  const a = await Client.open(path, 1);
  a.sendMonitor(watchAll(7, OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.ONLY_OWN));
  a.flow('in_port=1,actions=drop');
  await a.barrier();
  a.flow('in_port=1', 'delete');
  await a.barrier();
  const evs = a.updates().map((u) => (u.event === 'removed' ? `removed:${u.reason}` : u.event));
  // The initial reply is empty (no flows yet): only the two changes.
  assert.deepEqual(evs, ['added', 'removed:delete']);
  // A duplicate id, a cancel of an unknown id, flags without any event.
  a.sendMonitor(watchAll(7, OFPFMF.ADD));
  a.sendMonitor({ type: 'flow_monitor_cancel', id: 99 });
  a.sendMonitor(watchAll(8, OFPFMF.INITIAL));
  await a.barrier();
  assert.deepEqual(a.errors(), [
    'OFPMOFC_MONITOR_EXISTS',
    'OFPMOFC_UNKNOWN_MONITOR',
    'OFPMOFC_BAD_FLAGS',
  ]);
  a.sendMonitor({ type: 'flow_monitor_cancel', id: 7 });
  a.flow('in_port=3,actions=drop');
  await a.barrier();
  assert.equal(a.updates().length, 2, 'no update after the cancel');
});

test('OF1.4 monitor commands: modify replaces a monitor, delete removes it', async () => {
  const { path } = await bridge();
  const a = await Client.open(path, 5);
  const req = (command: 'add' | 'modify' | 'delete', tableId: number) => ({
    type: 'flow_monitor_request' as const,
    flags: 0,
    requests: [
      {
        id: 4,
        command,
        flags: OFPFMF.ADD | OFPFMF.ONLY_OWN,
        outPort: 0xffff,
        outGroup: 0xffffffff,
        tableId,
        match: newMatch(),
      },
    ],
  });
  a.sendMonitor(req('modify', 0xff));
  a.sendMonitor(req('add', 1));
  a.flow('table=0,in_port=1,actions=drop');
  a.flow('table=1,in_port=1,actions=drop');
  a.sendMonitor(req('modify', 0));
  a.flow('table=0,in_port=2,actions=drop');
  a.flow('table=1,in_port=2,actions=drop');
  a.sendMonitor(req('delete', 0));
  a.flow('table=0,in_port=3,actions=drop');
  a.sendMonitor(req('delete', 0));
  await a.barrier();
  const tables = a.updates().map((u) => (u.event === 'added' ? u.tableId : -1));
  assert.deepEqual(tables, [1, 0]);
  assert.deepEqual(a.errors(), ['OFPMOFC_UNKNOWN_MONITOR', 'OFPMOFC_UNKNOWN_MONITOR']);
});

test('a monitor that backs up pauses, then resumes with what changed meanwhile', async () => {
  const { path } = await bridge();
  const a = await Client.open(path, 4);
  const b = await Client.open(path, 4);
  a.sendMonitor(watchAll(1, OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY | OFPFMF.INSTRUCTIONS));
  await a.barrier();
  a.sock.pause();
  const N = 6000;
  for (let i = 0; i < N; i++) {
    b.flow(`priority=${(i % 60000) + 1},ip,nw_src=198.18.${i >> 8}.${i & 255},actions=output:2`);
    if (i % 500 === 499) await b.barrier();
  }
  await b.barrier();
  a.sock.resume();
  await a.waitFor(() => a.updates().some((u) => u.event === 'resumed'), 'resumed', 1000);
  const ups = a.updates();
  const iPaused = ups.findIndex((u) => u.event === 'paused');
  const iResumed = ups.findIndex((u) => u.event === 'resumed');
  assert.ok(iPaused > 0, 'paused');
  assert.ok(iResumed > iPaused, 'resumed after paused');
  const seen = new Set<string>();
  for (const u of ups) if (u.event === 'added') seen.add(`${u.priority}`);
  assert.equal(seen.size, N, 'every flow reported, before the pause or in the resume');
});

test('looseMatch and ofpactsEqual', () => {
  const wide = parseFlowMod('ip,actions=drop', 'add');
  const narrow = parseFlowMod('ip,nw_src=198.18.0.1,actions=output:1', 'add');
  const narrow2 = parseFlowMod('ip,nw_src=198.18.0.1,actions=output:1', 'add');
  assert.ok(wide.ok && narrow.ok && narrow2.ok);
  assert.equal(looseMatch(narrow.value.match, wide.value.match), true);
  assert.equal(looseMatch(wide.value.match, narrow.value.match), false);
  assert.equal(ofpactsEqual(narrow.value.ofpacts, narrow2.value.ofpacts), true);
  assert.equal(ofpactsEqual(narrow.value.ofpacts, wide.value.ofpacts), false);
});
