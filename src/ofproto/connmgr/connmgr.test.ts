import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, test } from 'node:test';
import { newFlowKey, W_IN_PORT, W_REG0 } from '../../lib/flow/layout.ts';
import { newMatch } from '../../lib/flow/match.ts';
import { decodeMessage, encodeMessage } from '../openflow/codec.ts';
import { parseFlowMod } from '../openflow/flow-mod-parse.ts';
import { OfpFramer } from '../openflow/framer.ts';
import type { OfpFrame, OfpMessage } from '../openflow/messages.ts';
import { Connmgr, type ControllerConfig } from './connmgr.ts';
import { TestSwitch } from './test-switch.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'connmgr-'));
  dirs.push(d);
  return d;
}

function testSwitch(): TestSwitch {
  return new TestSwitch('br0', [
    { portNo: 1, name: 'p1', hwAddr: [0xaa55, 0xaa550001] },
    { portNo: 0xfffe, name: 'br0', hwAddr: [0xe243, 0xc905da40] },
  ]);
}

/* A controller built on our codec: listens on a unix socket, answers hello with `version`,
 * records everything the switch sends. */
class FakeController {
  readonly frames: OfpFrame[] = [];
  sock: Socket | null = null;
  private readonly server: Server;
  private xid = 100;
  constructor(
    readonly path: string,
    readonly version: number,
  ) {
    this.server = createServer((s) => {
      this.sock = s;
      const fr = new OfpFramer();
      s.write(encodeMessage({ version, xid: 1, msg: { type: 'hello', versions: [version] } }));
      s.on('data', (d) => {
        for (const ev of fr.push(new Uint8Array(d))) {
          if (ev.kind !== 'message') continue;
          const r = decodeMessage(ev.bytes);
          if (r.ok) this.frames.push(r.frame);
        }
      });
      s.on('error', () => {});
    });
    this.server.listen(path);
  }

  send(msg: OfpMessage): number {
    const xid = this.xid++;
    this.sock?.write(encodeMessage({ version: this.version, xid, msg }));
    return xid;
  }

  async waitFor(pred: (f: OfpFrame) => boolean, what: string): Promise<OfpFrame> {
    for (let i = 0; i < 300; i++) {
      const f = this.frames.find(pred);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  close(): void {
    this.sock?.destroy();
    this.server.close();
  }
}

let cm: Connmgr | null = null;
let ctl: FakeController | null = null;
beforeEach(() => {
  cm = null;
  ctl = null;
});
afterEach(() => {
  cm?.close();
  ctl?.close();
});

async function connected(version = 4, extra: Partial<ControllerConfig> = {}) {
  const dir = tempDir();
  const sw = testSwitch();
  ctl = new FakeController(join(dir, 'ctl.sock'), version);
  cm = new Connmgr(sw, { rundir: dir });
  cm.setControllers([{ target: `unix:${join(dir, 'ctl.sock')}`, ...extra }]);
  await ctl.waitFor(() => true, 'hello');
  for (let i = 0; i < 300 && !cm.controllerStatus()[0]?.isConnected; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return { sw, cm, ctl };
}

test('standalone without controllers keeps priority=0 actions=NORMAL; secure does not', () => {
  const sw = testSwitch();
  const m = new Connmgr(sw, { rundir: null });
  assert.equal(sw.flowTables.count, 1);
  const [r] = sw.flowTables.rules();
  assert.equal(r.priority, 0);
  assert.deepEqual(r.ofpacts, [{ type: 'output', port: 0xfffa, maxLen: 0 }]);
  m.setFailMode('secure');
  assert.equal(sw.flowTables.count, 0, 'changing the fail mode flushes');
  m.setFailMode('standalone');
  assert.equal(sw.flowTables.count, 1);
  m.close();
});

test('configuring the first controller flushes the flows, removing the last one restores NORMAL', () => {
  const sw = testSwitch();
  const m = new Connmgr(sw, { rundir: null, failOpenDelayMs: 60_000 });
  const fm = parseFlowMod('in_port=1,actions=drop', 'add');
  assert.ok(fm.ok);
  sw.flowTables.flowMod(fm.value);
  assert.equal(sw.flowTables.count, 2);
  m.setControllers([{ target: 'tcp:127.0.0.1:1' }]);
  assert.equal(sw.flowTables.count, 0);
  m.setControllers([]);
  assert.equal(sw.flowTables.count, 1);
  m.close();
});

test('an active controller connects, negotiates, and is reported as connected', async () => {
  const { cm, ctl } = await connected(4);
  const st = cm.controllerStatus();
  assert.equal(st.length, 1);
  assert.equal(st[0].isConnected, true);
  assert.equal(st[0].role, 'other');
  assert.equal(st[0].status.state, 'ACTIVE');
  ctl.send({ type: 'features_request' });
  const f = await ctl.waitFor((x) => x.msg.type === 'features_reply', 'features');
  assert.equal(f.version, 4);
  assert.ok(f.msg.type === 'features_reply' && f.msg.datapathId === 1n);
});

test('roles: master election ids, stale requests, slaves may not modify', async () => {
  const { cm, ctl, sw } = await connected(4);
  ctl.send({ type: 'role_request', format: 'standard', role: 'master', generationId: 10n });
  const r1 = await ctl.waitFor((x) => x.msg.type === 'role_reply', 'role reply');
  assert.ok(r1.msg.type === 'role_reply');
  assert.equal(r1.msg.role, 'master');
  assert.equal(r1.msg.generationId, 10n);
  assert.equal(cm.controllerStatus()[0].role, 'master');
  const stale = ctl.send({
    type: 'role_request',
    format: 'standard',
    role: 'slave',
    generationId: 5n,
  });
  const e = await ctl.waitFor((x) => x.xid === stale, 'stale error');
  assert.ok(e.msg.type === 'error');
  assert.equal(e.msg.error.name, 'OFPRRFC_STALE');
  ctl.send({ type: 'role_request', format: 'standard', role: 'slave', generationId: 11n });
  await ctl.waitFor((x) => x.msg.type === 'role_reply' && x.msg.role === 'slave', 'slave');
  const fm = parseFlowMod('in_port=1,actions=drop', 'add');
  assert.ok(fm.ok);
  const before = sw.flowTables.count;
  const x = ctl.send({ type: 'flow_mod', format: 'standard', ...fm.value });
  const err = await ctl.waitFor((f) => f.xid === x, 'is-secondary error');
  assert.ok(err.msg.type === 'error');
  assert.equal(err.msg.error.name, 'OFPBRC_IS_SECONDARY');
  assert.equal(sw.flowTables.count, before);
});

test('packet-ins go out truncated to miss_send_len with the pipeline metadata', async () => {
  const { cm, ctl } = await connected(4);
  const flow = newFlowKey();
  flow[W_IN_PORT] = 1;
  flow[W_REG0] = 7;
  const packet = new Uint8Array(300).map((_, i) => i & 0xff);
  cm.packetIn(
    {
      bridge: 'br0',
      reason: 'no_match',
      tableId: 3,
      cookie: 0x55n,
      maxLen: 0xffff,
      controllerId: 0,
      userdata: undefined,
    },
    packet,
    flow,
  );
  const f = await ctl.waitFor((x) => x.msg.type === 'packet_in', 'packet-in');
  assert.ok(f.msg.type === 'packet_in');
  assert.equal(f.msg.totalLen, 300);
  assert.equal(f.msg.data.length, 128);
  assert.equal(f.msg.tableId, 3);
  assert.equal(f.msg.cookie, 0x55n);
  assert.equal(f.msg.metadata.key[W_IN_PORT], 1);
  assert.equal(f.msg.metadata.key[W_REG0], 7);
  // set_config miss_send_len=0xffff: whole packets.
  ctl.send({ type: 'set_config', flags: 0, missSendLen: 0xffff });
  ctl.send({ type: 'barrier_request' });
  await ctl.waitFor((x) => x.msg.type === 'barrier_reply', 'barrier');
  cm.packetIn(
    {
      bridge: 'br0',
      reason: 'no_match',
      tableId: 0,
      cookie: 0n,
      maxLen: 0xffff,
      controllerId: 0,
      userdata: undefined,
    },
    packet,
    flow,
  );
  await ctl.waitFor(
    (x) => x.msg.type === 'packet_in' && x.msg.data.length === 300,
    'full packet-in',
  );
});

test('flow-removed for send_flow_rem flows, port-status, async masks', async () => {
  const { cm, ctl, sw } = await connected(4);
  const fm = parseFlowMod('in_port=1,send_flow_rem,idle_timeout=9,actions=drop', 'add');
  assert.ok(fm.ok);
  sw.flowTables.flowMod(fm.value);
  sw.flowTables.flowMod({ ...fm.value, command: 'delete', match: newMatch() });
  const f = await ctl.waitFor((x) => x.msg.type === 'flow_removed', 'flow removed');
  assert.ok(f.msg.type === 'flow_removed');
  assert.equal(f.msg.reason, 'delete');
  assert.equal(f.msg.idleTimeout, 9);
  assert.equal(f.msg.match.key[W_IN_PORT], 1);
  cm.sendPortStatus('add', sw.portDescs()[0]);
  const p = await ctl.waitFor((x) => x.msg.type === 'port_status', 'port status');
  assert.ok(p.msg.type === 'port_status' && p.msg.port.name === 'p1');
  // A slave gets port status but no flow-removed by default.
  ctl.send({ type: 'role_request', format: 'standard', role: 'slave', generationId: 1n });
  await ctl.waitFor((x) => x.msg.type === 'role_reply', 'role');
  const n = ctl.frames.length;
  sw.flowTables.flowMod(fm.value);
  sw.flowTables.flowMod({ ...fm.value, command: 'delete', match: newMatch() });
  cm.sendPortStatus('delete', sw.portDescs()[0]);
  await ctl.waitFor((x) => x.msg.type === 'port_status' && x.msg.reason === 'delete', 'ps');
  assert.equal(
    ctl.frames.slice(n).filter((x) => x.msg.type === 'flow_removed').length,
    0,
    'no flow-removed for a slave',
  );
});

for (const [version, wanted] of [
  [4, true],
  [5, false],
] as const) {
  test(`OF1.${version - 1}: an async mask of "action" ${wanted ? 'covers' : 'no longer covers'} packet-out's controller output`, async () => {
    const { cm, ctl } = await connected(version);
    ctl.send({
      type: 'set_async',
      format: 'standard',
      config: { master: { packetIn: 1 << 1 }, slave: { packetIn: 0 } },
    });
    ctl.send({ type: 'barrier_request' });
    await ctl.waitFor((x) => x.msg.type === 'barrier_reply', 'barrier');
    const flow = newFlowKey();
    flow[W_IN_PORT] = 1;
    const pin = (reason: 'packet_out' | 'no_match') =>
      cm.packetIn(
        {
          bridge: 'br0',
          reason,
          tableId: 0,
          cookie: 0n,
          maxLen: 0xffff,
          controllerId: 0,
          userdata: undefined,
        },
        new Uint8Array(60),
        flow,
      );
    pin('packet_out');
    // A no_match packet-in is masked off in both versions: once the barrier after it is
    // answered, whatever the packet-out produced has been sent.
    pin('no_match');
    ctl.send({ type: 'barrier_request' });
    const barriers = () => ctl.frames.filter((x) => x.msg.type === 'barrier_reply').length;
    await ctl.waitFor(() => barriers() === 2, 'second barrier');
    const pins = ctl.frames.filter((x) => x.msg.type === 'packet_in');
    assert.equal(pins.length, wanted ? 1 : 0);
  });
}

test('malformed messages get errors and the connection survives', async () => {
  const { ctl } = await connected(4);
  // A flow_mod cut short after its header.
  ctl.sock?.write(new Uint8Array([4, 14, 0, 12, 0, 0, 0, 77, 1, 2, 3, 4]));
  // An unknown message type.
  ctl.sock?.write(new Uint8Array([4, 99, 0, 8, 0, 0, 0, 78]));
  const e1 = await ctl.waitFor((x) => x.xid === 77, 'error 1');
  const e2 = await ctl.waitFor((x) => x.xid === 78, 'error 2');
  assert.ok(e1.msg.type === 'error' && e1.msg.error.name === 'OFPBRC_BAD_LEN');
  assert.ok(e2.msg.type === 'error' && e2.msg.error.name === 'OFPBRC_BAD_TYPE');
  const x = ctl.send({ type: 'echo_request', data: new Uint8Array([1, 2]) });
  await ctl.waitFor((f) => f.xid === x && f.msg.type === 'echo_reply', 'echo');
});

for (const version of [1, 4]) {
  test(`OF1.${version - 1}: flow_mods each followed by a barrier in one write: all applied, each barrier answered in order with its xid`, async () => {
    const { ctl, sw } = await connected(version);
    // What ovs-ofctl add-flows sends (vconn_transact_noreply), several pairs in one segment.
    const chunks: Uint8Array[] = [];
    const barrierXids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fm = parseFlowMod(`priority=${100 + i},in_port=1,actions=drop`, 'add');
      assert.ok(fm.ok);
      const msg = { type: 'flow_mod', ...fm.value, tableId: 0 } as OfpMessage;
      chunks.push(encodeMessage({ version, xid: 1000 + 2 * i, msg }));
      barrierXids.push(1001 + 2 * i);
      chunks.push(encodeMessage({ version, xid: 1001 + 2 * i, msg: { type: 'barrier_request' } }));
    }
    ctl.sock?.write(Buffer.concat(chunks));
    await ctl.waitFor((f) => f.xid === 1009, 'the last barrier reply');
    const replies = ctl.frames.filter((f) => f.xid >= 1000 && f.xid < 1010);
    assert.deepEqual(
      replies.map((f) => [f.xid, f.version, f.msg.type]),
      barrierXids.map((x) => [x, version, 'barrier_reply']),
    );
    assert.equal(sw.flowTables.tableCount(0), 5);
    // A barrier in another version is not answered as one: the version check comes first.
    const other = version === 1 ? 4 : 1;
    ctl.sock?.write(new Uint8Array([other, other === 1 ? 18 : 20, 0, 8, 0, 0, 0x7, 0xd0]));
    const e = await ctl.waitFor((f) => f.xid === 2000, 'bad version error');
    assert.ok(e.msg.type === 'error' && e.msg.error.name === 'OFPBRC_BAD_VERSION');
  });
}

test('standalone fails open while no controller is connected, and recovers', async () => {
  const dir = tempDir();
  const sw = testSwitch();
  const path = join(dir, 'late.sock');
  cm = new Connmgr(sw, { rundir: null, failOpenDelayMs: 50 });
  cm.setControllers([{ target: `unix:${path}`, maxBackoffMs: 1000 }]);
  for (let i = 0; i < 100 && !cm.failedOpen; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(cm.failedOpen, true);
  // The hidden flow forwards but is not visible to OpenFlow.
  assert.equal(sw.flowTables.lookup(0, newFlowKey(), null)?.priority, 0xf0f0f0);
  assert.equal(
    sw.flowTables.flowStats({
      aggregate: false,
      match: newMatch(),
      tableId: 255,
      outPort: 0xffff,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 0n,
    }).length,
    0,
  );
  assert.equal(sw.flowTables.tableStats()[0].activeCount, 0);
  ctl = new FakeController(path, 4);
  for (let i = 0; i < 300 && cm.failedOpen; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(cm.failedOpen, false);
  assert.equal(sw.flowTables.count, 0);
});

test('a controller with no common version gets HELLO_FAILED and is dropped', async () => {
  const dir = tempDir();
  const sw = testSwitch();
  ctl = new FakeController(join(dir, 'c.sock'), 4);
  cm = new Connmgr(sw, { rundir: null, versions: [1] });
  cm.setControllers([{ target: `unix:${join(dir, 'c.sock')}` }]);
  const e = await ctl.waitFor((x) => x.msg.type === 'error', 'hello failed');
  assert.ok(e.msg.type === 'error');
  assert.equal(e.msg.error.name, 'OFPHFC_INCOMPATIBLE');
  assert.equal(cm.controllerStatus()[0].isConnected, false);
});

test('fuzzed messages on a live connection get errors or are ignored, never a crash', async () => {
  const { ctl, sw } = await connected(4);
  const fc = await import('fast-check');
  const samples = fc.sample(
    fc.record({
      version: fc.constantFrom(1, 4, 5, 6, 9),
      type: fc.integer({ min: 0, max: 40 }),
      body: fc.uint8Array({ maxLength: 120 }),
    }),
    { numRuns: 300, seed: 7 },
  );
  for (const [i, s] of samples.entries()) {
    const len = 8 + s.body.length;
    const m = new Uint8Array(len);
    m.set([s.version, s.type, len >> 8, len & 0xff, 0, 0, 0x10, i & 0xff]);
    m.set(s.body, 8);
    ctl.sock?.write(m);
  }
  const x = ctl.send({ type: 'echo_request', data: new Uint8Array([9]) });
  await ctl.waitFor((f) => f.xid === x && f.msg.type === 'echo_reply', 'echo after fuzz');
  // Whatever was accepted, the tables are still consistent.
  assert.equal([...sw.flowTables.rules()].length, sw.flowTables.count);
});

test('controller_rate_limit: a burst goes out, the next burst waits, the rest is dropped', async () => {
  const { cm, ctl } = await connected(4, { rateLimit: 100, burstLimit: 25 });
  const flow = newFlowKey();
  flow[W_IN_PORT] = 1;
  const call = {
    bridge: 'br0',
    reason: 'action' as const,
    tableId: 0,
    cookie: 0n,
    maxLen: 0xffff,
    controllerId: 0,
    userdata: undefined,
  };
  for (let i = 0; i < 100; i++) cm.packetIn(call, new Uint8Array([i]), flow);
  const pins = () => ctl.frames.filter((f) => f.msg.type === 'packet_in');
  await ctl.waitFor(() => pins().length >= 25, 'first burst');
  for (let i = 0; i < 200 && pins().length < 50; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  const got = pins();
  assert.equal(got.length, 50, 'burst sent plus burst queued; the rest dropped');
  assert.deepEqual(
    got.map((f) => (f.msg.type === 'packet_in' ? f.msg.data[0] : -1)),
    Array.from({ length: 50 }, (_, i) => i),
    'in order',
  );
});

test('real ovs-ofctl snoop sees the messages between the bridge and its controller', async () => {
  const { ctl, cm } = await connected(4);
  const rundir = cm.mgmtSocket?.replace(/\/br0\.mgmt$/, '') ?? '';
  const { spawn } = await import('node:child_process');
  const snoop = spawn('/usr/bin/ovs-ofctl', ['snoop', 'br0'], {
    env: { ...process.env, OVS_RUNDIR: rundir },
  });
  let out = '';
  snoop.stdout.on('data', (d) => (out += d));
  snoop.stderr.on('data', (d) => (out += d));
  try {
    // Wait until the snoop connection is set up, then make some traffic.
    for (let i = 0; i < 100 && !out.includes('ECHO_REPLY'); i++) {
      ctl.send({ type: 'echo_request', data: new Uint8Array([1, 2, 3]) });
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /OFPT_ECHO_REQUEST \(OF1\.3\) \(xid=0x[0-9a-f]+\): 3 bytes of payload/);
    assert.match(out, /OFPT_ECHO_REPLY \(OF1\.3\) \(xid=0x[0-9a-f]+\): 3 bytes of payload/);
  } finally {
    snoop.kill('SIGTERM');
  }
});
