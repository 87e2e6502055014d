/**
 * OpenFlow bundles on the switch side, our ovs-vswitchd next to real ovs-vswitchd 3.1: the
 * same raw bundle messages sent on each bridge's management socket get the same replies and
 * errors (replies carry no flags; mismatched flags, double opens and closes, commits after
 * an idle timeout on the warped clock), and the same flows are left behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { OfpFramer } from '../src/ofproto/openflow/framer.ts';
import type { OfpMessage } from '../src/ofproto/openflow/messages.ts';
import { appctl, ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const V14 = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/* A bare OpenFlow 1.4 client on `<rundir>/br0.mgmt` that describes what it receives. */
class Client {
  private readonly got: string[] = [];
  private readonly framer = new OfpFramer();
  private xid = 0x100;
  private constructor(private readonly sock: Socket) {
    sock.on('data', (d) => {
      for (const ev of this.framer.push(new Uint8Array(d))) {
        if (ev.kind === 'message') this.got.push(describeMsg(ev.bytes));
      }
    });
    sock.on('error', () => {});
  }

  static async open(s: Stack): Promise<Client> {
    const sock = connect(join(s.dir, 'br0.mgmt'));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    const c = new Client(sock);
    sock.write(encodeMessage({ version: V14, xid: 1, msg: { type: 'hello', versions: [V14] } }));
    await c.exchange([]);
    c.got.length = 0;
    return c;
  }

  raw(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }

  send(msg: OfpMessage, xid = this.xid++): void {
    this.sock.write(encodeMessage({ version: V14, xid, msg }));
  }

  /** Sends `msgs`, then a barrier; returns what came back before the barrier's reply. */
  async exchange(msgs: OfpMessage[]): Promise<string[]> {
    for (const m of msgs) this.send(m);
    // Everything since the last exchange counts (a timeout error arrives between them).
    const from = 0;
    this.send({ type: 'barrier_request' }, 0xbbbb);
    for (let i = 0; i < 500; i++) {
      const at = this.got.indexOf('barrier_reply', from);
      if (at >= 0) {
        const out = this.got.slice(from, at);
        this.got.length = 0;
        return out.filter((s) => !s.startsWith('hello'));
      }
      await sleep(10);
    }
    throw new Error(`no barrier reply; got ${this.got.join(' | ')}`);
  }

  close(): void {
    this.sock.destroy();
  }
}

function describeMsg(bytes: Uint8Array): string {
  const r = decodeMessage(bytes);
  if (!r.ok) return `undecodable ${r.error.error}`;
  const m = r.frame.msg;
  if (m.type === 'bundle_control') {
    return `bundle_control id=${m.bundleId} type=${m.ctrlType} flags=${m.flags}`;
  }
  if (m.type === 'error') {
    // The error's data starts with the request it is about: say which (type, xid).
    const d = m.error.data;
    const xid = d.length >= 8 ? ((d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7]) >>> 0 : -1;
    return `error ${m.error.name} for type=${d[1]} xid=${xid.toString(16)}`;
  }
  return m.type;
}

const ctl = (ctrlType: number, flags: number, bundleId = 1): OfpMessage => ({
  type: 'bundle_control',
  bundleId,
  ctrlType,
  flags,
  properties: new Uint8Array(0),
});
const OPEN = 0;
const CLOSE = 2;
const COMMIT = 4;
const DISCARD = 6;
const ORDERED = 2;
const ATOMIC = 1;

/* A bundle add carrying an OpenFlow 1.4 flow mod (add, table 0, priority 100, in_port=N,
 * actions=drop), built by hand; the add and the flow mod share `xid`. */
function addFlow(inPort: number, xid: number, flags: number, tableId = 0): Uint8Array {
  const fm = Buffer.alloc(64);
  fm.writeUInt8(V14, 0);
  fm.writeUInt8(14, 1);
  fm.writeUInt16BE(fm.length, 2);
  fm.writeUInt32BE(xid, 4);
  fm.writeUInt8(tableId, 24);
  fm.writeUInt8(0, 25); // OFPFC_ADD
  fm.writeUInt16BE(100, 30); // priority
  fm.writeUInt32BE(0xffffffff, 32); // buffer_id
  fm.writeUInt32BE(0xffffffff, 36); // out_port
  fm.writeUInt32BE(0xffffffff, 40); // out_group
  // ofp_match: OXM, length 4 + 8 (in_port), padded to 16.
  fm.writeUInt16BE(1, 48);
  fm.writeUInt16BE(12, 50);
  fm.writeUInt32BE(0x80000004, 52);
  fm.writeUInt32BE(inPort, 56);
  const add = Buffer.alloc(16 + fm.length);
  add.writeUInt8(V14, 0);
  add.writeUInt8(34, 1); // OFPT_BUNDLE_ADD_MESSAGE
  add.writeUInt16BE(add.length, 2);
  add.writeUInt32BE(xid, 4);
  add.writeUInt32BE(1, 8); // bundle id
  add.writeUInt16BE(flags, 14);
  fm.copy(add, 16);
  return new Uint8Array(add);
}

interface Stacks {
  real: Stack;
  ours: Stack;
}
let stacks: Stacks | null = null;

async function bridge(which: 'real' | 'ours'): Promise<Stack> {
  const s = await startStack({ which });
  const r = vsctl(s, [
    ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
    ...['fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13,OpenFlow14'],
  ]);
  assert.equal(r.status, 0, r.stderr);
  return s;
}

before(async () => {
  stacks = { real: await bridge('real'), ours: await bridge('ours') };
});
after(() => {
  if (stacks) for (const s of [stacks.real, stacks.ours]) stopStack(s);
});

function flows(s: Stack): string {
  const bin = s.which === 'real' ? '/usr/bin/ovs-ofctl' : join(ROOT, 'bin/ovs-ofctl');
  const r = spawnSync(bin, ['-O', 'OpenFlow14', 'dump-flows', 'br0', '--no-stats'], {
    encoding: 'utf8',
    env: s.env,
  });
  return r.stdout;
}

/* Runs `steps` on both switches on fresh connections; each step's replies must agree. */
async function both(steps: Array<(c: Client, s: Stack) => Promise<string[]>>): Promise<string[][]> {
  assert.ok(stacks);
  const results: Record<'real' | 'ours', string[][]> = { real: [], ours: [] };
  for (const which of ['real', 'ours'] as const) {
    const s = stacks[which];
    const c = await Client.open(s);
    try {
      for (const step of steps) results[which].push(await step(c, s));
      results[which].push([flows(s)]);
    } finally {
      c.close();
    }
    spawnSync(
      which === 'real' ? '/usr/bin/ovs-ofctl' : join(ROOT, 'bin/ovs-ofctl'),
      ['del-flows', 'br0'],
      { env: s.env },
    );
  }
  assert.deepEqual(results.ours, results.real);
  return results.ours;
}

describe('OpenFlow bundles, ours next to real ovs-vswitchd', () => {
  it('replies carry no flags; a second open, or a close or commit with other flags, fails', async () => {
    const r = await both([
      (c) => c.exchange([ctl(OPEN, ORDERED)]),
      (c) => c.exchange([ctl(OPEN, ORDERED)]),
      (c) => c.exchange([ctl(CLOSE, ORDERED)]),
      (c) => c.exchange([ctl(OPEN, ATOMIC)]),
      (c) => c.exchange([ctl(CLOSE, ORDERED)]),
      (c) => c.exchange([ctl(CLOSE, ATOMIC)]),
      (c) => c.exchange([ctl(OPEN, ATOMIC), ctl(COMMIT, ORDERED), ctl(DISCARD, ATOMIC)]),
    ]);
    assert.deepEqual(r[0], ['bundle_control id=1 type=1 flags=0']);
    // The second open drops the bundle too: the close after it finds nothing.
    assert.deepEqual(r[1], ['error OFPBFC_BAD_ID for type=33 xid=101']);
    assert.deepEqual(r[2], ['error OFPBFC_BAD_ID for type=33 xid=102']);
    assert.deepEqual(r[4], ['error OFPBFC_BAD_FLAGS for type=33 xid=104']);
    assert.deepEqual(r[6], [
      'bundle_control id=1 type=1 flags=0',
      'error OFPBFC_BAD_FLAGS for type=33 xid=107',
      'error OFPBFC_BAD_ID for type=33 xid=108',
    ]);
  });

  it('commits flow mods all together, and none when one of them fails', async () => {
    const r = await both([
      async (c) => {
        c.send(ctl(OPEN, ATOMIC | ORDERED));
        c.raw(addFlow(1, 0x500, ATOMIC | ORDERED));
        c.raw(addFlow(2, 0x501, ATOMIC | ORDERED));
        return c.exchange([ctl(COMMIT, ATOMIC | ORDERED)]);
      },
      async (c) => {
        c.send(ctl(OPEN, ATOMIC | ORDERED));
        c.raw(addFlow(3, 0x502, ATOMIC | ORDERED));
        // Table 254 is read-only: refused when added; the bundle stays open.
        c.raw(addFlow(4, 0x503, ATOMIC | ORDERED, 254));
        return c.exchange([ctl(DISCARD, ATOMIC | ORDERED)]);
      },
    ]);
    assert.deepEqual(r[0], [
      'bundle_control id=1 type=1 flags=0',
      'bundle_control id=1 type=5 flags=0',
    ]);
    assert.deepEqual(r[1], [
      'bundle_control id=1 type=1 flags=0',
      'error OFPBRC_EPERM for type=34 xid=503',
      'bundle_control id=1 type=7 flags=0',
    ]);
    assert.match(r[2][0], /in_port=1 actions=drop/);
    assert.doesNotMatch(r[2][0], /in_port=3/);
  });

  it('an idle bundle expires after bundle-idle-timeout with OFPBFC_TIMEOUT', async () => {
    assert.ok(stacks);
    for (const s of [stacks.real, stacks.ours]) {
      assert.equal(
        vsctl(s, ['set', 'Open_vSwitch', '.', 'other_config:bundle-idle-timeout=4']).status,
        0,
      );
    }
    const r = await both([
      async (c, s) => {
        appctl(s, ['time/stop']);
        const out = await c.exchange([ctl(OPEN, ORDERED)]);
        appctl(s, ['time/warp', '3000']);
        out.push(...(await c.exchange([ctl(CLOSE, ORDERED)])));
        appctl(s, ['time/warp', '3000']);
        out.push(...(await c.exchange([])));
        appctl(s, ['time/warp', '2000']);
        // OVS checks for expiry on the main loop iteration after the one the warp ran in.
        appctl(s, ['time/warp', '1000']);
        out.push(...(await c.exchange([ctl(COMMIT, ORDERED)])));
        return out;
      },
    ]);
    assert.deepEqual(r[0], [
      'bundle_control id=1 type=1 flags=0',
      'bundle_control id=1 type=3 flags=0',
      'error OFPBFC_TIMEOUT for type=33 xid=100',
      'error OFPBFC_BAD_ID for type=33 xid=102',
    ]);
  });
});
