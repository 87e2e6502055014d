/**
 * Dumps big enough to be sent paced (ofconn.ts sendPaced: the replies go out in steps as the
 * peer reads them): real ovs-ofctl prints the same 10,000 flows from our switch as from real
 * ovs-vswitchd 3.1, in OpenFlow 1.0 (NXST_FLOW) and 1.3; requests sent behind the dump on the
 * same connection are handled after its last reply; a peer that does not read its dump is not
 * read either (as OVS stops reading a connection with many replies queued); a peer that
 * leaves half way through leaves the switch serving.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { OfpFramer } from '../src/ofproto/openflow/framer.ts';
import { dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

const N = 10_000;
const REAL = '/usr/bin/ovs-ofctl';

function flowLines(): string {
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const a = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
    if (i % 2 === 0) out.push(`priority=${100 + (i % 7)},ip,nw_dst=${a},actions=output:1`);
    else
      out.push(
        `priority=200,tcp,nw_src=${a},tp_dst=${i % 1000},actions=mod_dl_dst:02:00:00:00:00:01,output:2`,
      );
  }
  return `${out.join('\n')}\n`;
}

function ofctl(s: Stack, args: string[]): string {
  const r = spawnSync(REAL, args, { encoding: 'utf8', env: s.env, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sortedFlows = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.includes('actions='))
    .map((l) => l.trim())
    .sort();

interface Seen {
  of10: string[];
  of13: string[];
}

/* OFPMP_FLOW (xid 2) for all tables, any port and group, no cookie or match. */
function flowStatsRequest13(): Uint8Array {
  const req = new Uint8Array(56);
  const dv = new DataView(req.buffer);
  req.set([4, 18, 0, 56, 0, 0, 0, 2, 0, 1]);
  dv.setUint8(16, 0xff);
  dv.setUint32(20, 0xffffffff);
  dv.setUint32(24, 0xffffffff);
  dv.setUint16(48, 1);
  dv.setUint16(50, 4);
  return req;
}

/* One raw OpenFlow 1.3 connection to the bridge's mgmt socket that sends a flow-stats request,
 * a barrier and an echo in one write, and records the type of every reply with its flags. */
async function dumpThenModify(
  s: Stack,
): Promise<{ order: string[]; entries: number; withoutActions: number }> {
  const sock = connect(join(s.dir, 'br0.mgmt'));
  const framer = new OfpFramer();
  const order: string[] = [];
  let entries = 0;
  let withoutActions = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; saw ${order.length}`)), 20_000);
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      for (const ev of framer.push(new Uint8Array(d))) {
        if (ev.kind !== 'message') continue;
        const b = ev.bytes;
        const type = b[1];
        if (type === 19) {
          const more = (b[10] << 8) | b[11];
          // Count entries: each OF1.3 flow-stats entry starts with its 16-bit length.
          for (let at = 16; at < b.length; ) {
            entries++;
            const len = (b[at] << 8) | b[at + 1];
            const matchLen = (((b[at + 50] << 8) | b[at + 51]) + 7) & ~7;
            if (len === 48 + matchLen) withoutActions++;
            at += len;
          }
          order.push(more & 1 ? 'part' : 'last');
        } else if (type === 21) order.push('barrier');
        else if (type === 3) {
          order.push('echo');
          clearTimeout(timer);
          resolve();
        }
      }
    });
  });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const hello = encodeMessage({ version: 4, xid: 1, msg: { type: 'hello', versions: [4] } });
  const req = flowStatsRequest13();
  // OFPFC_MODIFY of every flow in table 0 to no instructions (drop).
  const mod = new Uint8Array(56);
  const mv = new DataView(mod.buffer);
  mod.set([4, 14, 0, 56, 0, 0, 0, 5]);
  mod[25] = 1;
  mv.setUint32(32, 0xffffffff);
  mv.setUint32(36, 0xffffffff);
  mv.setUint32(40, 0xffffffff);
  mv.setUint16(48, 1);
  mv.setUint16(50, 4);
  const barrier = Uint8Array.of(4, 20, 0, 8, 0, 0, 0, 3);
  const echo = Uint8Array.of(4, 2, 0, 8, 0, 0, 0, 4);
  sock.write(Buffer.concat([hello, req, mod, barrier, echo]));
  try {
    await done;
  } finally {
    sock.destroy();
  }
  return { order, entries, withoutActions };
}

describe('paced dumps of 10,000 flows', () => {
  const seen: Partial<Record<'real' | 'ours', Seen>> = {};
  let ours: Stack | null = null;
  sideBySide(
    (s) => {
      const r = vsctl(s, [
        ...dummyBridge('br0', [1, 2]),
        '--',
        'set',
        'bridge',
        'br0',
        'fail_mode=secure',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const file = join(s.dir, 'flows.txt');
      writeFileSync(file, flowLines());
      ofctl(s, ['add-flows', 'br0', file]);
      if (s.which === 'ours') ours = s;
      return {
        of10: sortedFlows(ofctl(s, ['--no-stats', 'dump-flows', 'br0'])),
        of13: sortedFlows(ofctl(s, ['-O', 'OpenFlow13', '--no-stats', 'dump-flows', 'br0'])),
      };
    },
    (which, r) => {
      seen[which] = r;
    },
  );

  it('real ovs-ofctl prints the same flows from both switches', () => {
    assert.equal(seen.real?.of10.length, N);
    assert.deepEqual(seen.ours?.of10, seen.real?.of10);
    assert.equal(seen.real?.of13.length, N);
    assert.deepEqual(seen.ours?.of13, seen.real?.of13);
  });

  it('handles what follows the dump on its connection after the last reply', async () => {
    assert.ok(ours);
    const { order, entries, withoutActions } = await dumpThenModify(ours);
    assert.equal(entries, N);
    // The flow_mod sent behind the request changes none of what the dump shows...
    assert.equal(withoutActions, 0);
    // ...and it was applied once the dump was out.
    assert.doesNotMatch(ofctl(ours, ['--no-stats', 'dump-flows', 'br0']), /output/);
    const last = order.indexOf('last');
    assert.ok(last > 0, `replies: ${order.length}`);
    assert.deepEqual(order.slice(last), ['last', 'barrier', 'echo']);
    assert.ok(order.slice(0, last).every((t) => t === 'part'));
  });

  it('stops reading a peer that does not read its dump, and answers all once it does', async () => {
    assert.ok(ours);
    const sock = connect(join(ours.dir, 'br0.mgmt'));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause();
    const hello = encodeMessage({ version: 4, xid: 1, msg: { type: 'hello', versions: [4] } });
    const req = flowStatsRequest13();
    // 4 MiB of echo requests behind the dump: far more than the socket buffers hold.
    const echoes = 1 << 19;
    const flood = new Uint8Array(echoes * 8);
    for (let i = 0; i < echoes; i++) flood.set([4, 2, 0, 8, 0, 0, 0, 9], i * 8);
    sock.write(Buffer.concat([hello, req]));
    sock.write(flood);
    await new Promise((r) => setTimeout(r, 1000));
    // The switch read only what came with the dump request: the rest waits on our side.
    assert.ok(sock.writableLength > 1 << 20, `still to send: ${sock.writableLength}`);
    const framer = new OfpFramer();
    let entries = 0;
    let echoReplies = 0;
    let last = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${echoReplies} echo replies`)),
        60_000,
      );
      sock.on('error', reject);
      sock.on('data', (d: Buffer) => {
        for (const ev of framer.push(new Uint8Array(d))) {
          if (ev.kind !== 'message') continue;
          const b = ev.bytes;
          if (b[1] === 19) {
            assert.equal(echoReplies, 0, 'an echo reply came before the dump ended');
            for (let at = 16; at < b.length; at += (b[at] << 8) | b[at + 1]) entries++;
            if ((b[11] & 1) === 0) last = true;
          } else if (b[1] === 3 && ++echoReplies === echoes) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      sock.resume();
    });
    sock.destroy();
    assert.ok(last);
    assert.equal(entries, N);
  });

  it('a peer that leaves half way through leaves the switch serving', async () => {
    assert.ok(ours);
    const s = ours;
    for (let i = 0; i < 3; i++) {
      const sock = connect(join(s.dir, 'br0.mgmt'));
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const hello = encodeMessage({ version: 1, xid: 1, msg: { type: 'hello', versions: [1] } });
      // NXST_FLOW (OF1.0 vendor stats) for everything, then gone before the replies are read.
      const req = new Uint8Array(32);
      const dv = new DataView(req.buffer);
      req.set([1, 16, 0, 32, 0, 0, 0, 2]);
      dv.setUint16(8, 0xffff);
      dv.setUint32(12, 0x2320);
      dv.setUint16(24, 0xffff);
      dv.setUint8(28, 0xff);
      sock.write(Buffer.concat([hello, req]));
      await new Promise((r) => setTimeout(r, 20));
      sock.destroy();
    }
    assert.equal(sortedFlows(ofctl(s, ['--no-stats', 'dump-flows', 'br0'])).length, N);
    assert.match(ofctl(s, ['dump-aggregate', 'br0']), /flow_count=10000/);
  });
});
