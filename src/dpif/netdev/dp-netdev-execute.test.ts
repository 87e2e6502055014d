import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composePacket } from '../../lib/packet/compose.ts';
import { DpNetdev, type DpNetdevIo } from './dp-netdev.ts';
import { parseOdpActions } from './odp-actions.ts';
import { parseOdpFlow } from './odp-key-parse.ts';
import { DEFAULT_SLOT_SIZE, type PacketBatch } from './packet-batch.ts';

/*
 * execute() (packet-outs, userspace-handled packets) reuses one batch for every packet that fits
 * a slot. Each packet must still leave with its own bytes, whichever output copies the slot and
 * whichever hands it over, and a packet too big for a slot takes a batch of its own.
 */

class CaptureIo implements DpNetdevIo {
  out = new Map<number, Uint8Array[]>();
  send(port: number, batch: PacketBatch): void {
    const l = this.out.get(port) ?? [];
    for (let i = 0; i < batch.count; i++) l.push(batch.packet(i).slice());
    this.out.set(port, l);
  }
}

function udpFrame(srcPort: number, padTo = 0): Uint8Array {
  const f = composePacket(
    parseOdpFlow(
      `in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=198.18.0.1,dst=198.18.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=${srcPort},dst=53)`,
    ).key,
  );
  if (padTo <= f.length) return f;
  const big = new Uint8Array(padTo);
  big.set(f);
  big.fill(0xa5, f.length);
  return big;
}

test('consecutive executes each send their own packet, big ones included', () => {
  const io = new CaptureIo();
  const dp = new DpNetdev({ io, upcall: { miss: () => null }, now: () => 1000 });
  const actions = parseOdpActions('2,3');
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    // Every fifth frame is larger than a slot leaves room for.
    const f = udpFrame(1000 + i, i % 5 === 4 ? DEFAULT_SLOT_SIZE : 0);
    sent.push(f);
    dp.execute(f, 1, actions);
  }
  for (const port of [2, 3]) {
    const got = io.out.get(port) ?? [];
    assert.equal(got.length, sent.length, `port ${port}`);
    for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], sent[i], `port ${port} #${i}`);
  }
});
