/**
 * Table-features set requests (OF1.3 multipart with a body) side by side with real
 * ovs-vswitchd 3.1: restating every table's features is accepted and answered with the
 * features; a partial set, a duplicate table, or a changed max_entries get the errors OVS
 * sends.
 */
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { OfpFramer } from '../src/ofproto/openflow/framer.ts';
import type { OfpFrame, OfpMessage } from '../src/ofproto/openflow/messages.ts';
import type { TableFeatures } from '../src/ofproto/openflow/table-features.ts';
import { dummyBridge, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const V = 4;

class Client {
  readonly frames: OfpFrame[] = [];
  readonly errors: { xid: number; name: string }[] = [];
  private xid = 10;
  constructor(readonly sock: Socket) {
    const fr = new OfpFramer();
    sock.on('data', (d: Buffer) => {
      for (const ev of fr.push(new Uint8Array(d))) {
        if (ev.kind !== 'message') continue;
        const r = decodeMessage(ev.bytes);
        if (!r.ok) continue;
        if (r.frame.msg.type === 'error') {
          this.errors.push({ xid: r.frame.xid, name: r.frame.msg.error.name ?? '?' });
        }
        this.frames.push(r.frame);
      }
    });
    sock.write(encodeMessage({ version: V, xid: 1, msg: { type: 'hello', versions: [V] } }));
  }
  send(msg: OfpMessage): number {
    const xid = this.xid++;
    this.sock.write(encodeMessage({ version: V, xid, msg }));
    return xid;
  }
  /** Sends the tables as a set request over as many messages as needed. */
  setFeatures(tables: TableFeatures[]): number {
    const xid = this.xid++;
    for (let i = 0; i < tables.length; i += 4) {
      const chunk = tables.slice(i, i + 4);
      const more = i + 4 < tables.length ? 1 : 0;
      this.sock.write(
        encodeMessage({
          version: V,
          xid,
          msg: {
            type: 'stats_request',
            format: 'standard',
            flags: more,
            body: { stat: 'table_features', tables: chunk },
          },
        }),
      );
    }
    return xid;
  }
  async settle(xid: number): Promise<{ error: string | null; tables: number }> {
    const b = this.send({ type: 'barrier_request' });
    for (let i = 0; i < 500; i++) {
      if (this.frames.some((f) => f.xid === b)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const err = this.errors.find((e) => e.xid === xid)?.name ?? null;
    let tables = 0;
    for (const f of this.frames) {
      if (f.xid === xid && f.msg.type === 'stats_reply' && f.msg.body.stat === 'table_features') {
        tables += f.msg.body.tables.length;
      }
    }
    return { error: err, tables };
  }
}

async function run(which: 'real' | 'ours') {
  const s: Stack = await startStack({ which });
  try {
    vsctl(s, [...dummyBridge('br0'), 'fail_mode=secure']);
    const sock = createConnection(join(s.dir, 'br0.mgmt'));
    sock.on('error', () => {});
    const c = new Client(sock);
    try {
      const q = c.send({
        type: 'stats_request',
        format: 'standard',
        flags: 0,
        body: { stat: 'table_features', tables: [] },
      });
      const query = await c.settle(q);
      const current: TableFeatures[] = [];
      for (const f of c.frames) {
        if (f.xid === q && f.msg.type === 'stats_reply' && f.msg.body.stat === 'table_features') {
          current.push(...f.msg.body.tables);
        }
      }
      const out: Record<string, { error: string | null; tables: number }> = { query };
      out.restate = await c.settle(c.setFeatures(current));
      out.one = await c.settle(c.setFeatures(current.slice(0, 1)));
      out.dup = await c.settle(c.setFeatures([current[0], current[0]]));
      out.maxEntries = await c.settle(
        c.setFeatures(current.map((t, i) => (i === 3 ? { ...t, maxEntries: 5 } : t))),
      );
      return out;
    } finally {
      sock.destroy();
    }
  } finally {
    stopStack(s);
  }
}

describe('table-features set requests against real ovs-vswitchd', () => {
  it('are accepted or refused as real OVS does', async () => {
    const real = await run('real');
    const ours = await run('ours');
    assert.equal(real.query.tables, 254);
    assert.deepEqual(ours, real);
    // What real OVS 3.1 answered when this test was written.
    assert.deepEqual(real.restate, { error: null, tables: 254 });
    assert.deepEqual(real.one, { error: 'OFPTFFC_EPERM', tables: 0 });
    assert.deepEqual(real.dup, { error: 'NXTFFC_DUP_TABLE', tables: 0 });
    assert.deepEqual(real.maxEntries, { error: 'OFPTFFC_EPERM', tables: 0 });
  });
});
