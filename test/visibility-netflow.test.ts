/*
 * Side by side: real ovs-vswitchd 3.1 (--enable-dummy, max-idle 500 ms) with a NetFlow row,
 * ICMP frames injected with netdev-dummy/receive, its datagrams caught on 127.0.0.1; and our
 * NetflowAgent fed the statistics the revalidator would hand it for the same traffic.
 *
 * What real OVS does here (observed, and asserted below):
 * - the first echo request is flooded (output 65535, NF_OUT_FLOOD); once the reply has taught
 *   the MAC table, later requests go to port 2, and the change of output port exports the
 *   flooded part as a record of its own;
 * - ICMP type/code travel in dst_port, src_port 0; ports are OpenFlow port numbers;
 * - engine_type/engine_id default to the dummy datapath's (204, 62 for "ovs-dummy").
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import {
  ETH_TYPE_IP,
  FLOW_WORDS,
  W_DL_TYPE,
  W_NW,
  W_NW_DST,
  W_NW_SRC,
  W_TP,
} from '../src/lib/flow/layout.ts';
import { DecodeError } from '../src/lib/proto/codec.ts';
import { decodeNetflowV5, type NetflowV5Record } from '../src/lib/proto/netflow.ts';
import { NetflowAgent, NF_OUT_FLOOD } from '../src/ofproto/dpif/netflow-agent.ts';
import {
  appctl,
  dummyBridge,
  type Stack,
  startStack,
  stopStack,
  vsctl,
} from './vswitchd-harness.ts';

const PAD = 'ab'.repeat(56);
// 192.168.0.1 (p1) -> 192.168.0.2 (p2) echo request, and the reply; 98 bytes each, by hand.
const REQUEST = `505400000002505400000001080045000054000100004001f7a6c0a80001c0a800020800f7ff00010001${PAD}`;
const REPLY = `505400000001505400000002080045000054000100004001f7a6c0a80002c0a800010000ffff00010001${PAD}`;
const IP1 = 0xc0a80001;
const IP2 = 0xc0a80002;

function icmpKey(src: number, dst: number, type: number): Uint32Array {
  const k = new Uint32Array(FLOW_WORDS);
  k[W_DL_TYPE] = ETH_TYPE_IP;
  k[W_NW_SRC] = src;
  k[W_NW_DST] = dst;
  k[W_NW] = (64 << 8) | 1;
  k[W_TP] = type << 16;
  return k;
}

type View = Pick<
  NetflowV5Record,
  'srcAddr' | 'dstAddr' | 'input' | 'output' | 'packets' | 'octets' | 'srcPort' | 'dstPort'
> & { protocol: number; tos: number; tcpFlags: number; nextHop: number };

function view(r: NetflowV5Record): View {
  return {
    srcAddr: r.srcAddr,
    dstAddr: r.dstAddr,
    nextHop: r.nextHop,
    input: r.input,
    output: r.output,
    packets: r.packets,
    octets: r.octets,
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    protocol: r.protocol,
    tos: r.tos,
    tcpFlags: r.tcpFlags,
  };
}

const sorted = (vs: View[]): string[] => vs.map((v) => JSON.stringify(v)).sort();

describe('NetFlow: real ovs-vswitchd and our agent side by side', () => {
  let stack: Stack | undefined;
  const real: {
    engineType: number;
    engineId: number;
    flowSequence: number;
    records: NetflowV5Record[];
  }[] = [];

  before(async () => {
    const rx = createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    rx.on('message', (m) => {
      const d = decodeNetflowV5(new Uint8Array(m));
      if (!(d instanceof DecodeError)) real.push({ ...d.header, records: d.records });
    });
    try {
      stack = await startStack({ which: 'real', ovsdb: 'real', ownNetns: false });
      const port = rx.address().port;
      const r = vsctl(stack, [
        '--',
        'set',
        'Open_vSwitch',
        '.',
        'other_config:max-idle=500',
        ...dummyBridge('br0', [1, 2]),
        '--',
        '--id=@n',
        'create',
        'netflow',
        `targets="127.0.0.1:${port}"`,
        'active_timeout=1',
        '--',
        'set',
        'bridge',
        'br0',
        'netflow=@n',
      ]);
      assert.equal(r.status, 0, r.stderr);
      await new Promise((res) => setTimeout(res, 300));
      for (let i = 0; i < 3; i++) appctl(stack, ['netdev-dummy/receive', 'p1', REQUEST]);
      appctl(stack, ['netdev-dummy/receive', 'p2', REPLY]);
      const total = () =>
        real.reduce((a, d) => a + d.records.reduce((b, x) => b + x.packets, 0), 0);
      for (let i = 0; i < 100 && total() < 4; i++) await new Promise((res) => setTimeout(res, 50));
    } finally {
      rx.close();
    }
  });

  after(() => {
    if (stack) stopStack(stack);
  });

  function ours() {
    const sent: Uint8Array[] = [];
    let t = 1_000_000;
    const agent = new NetflowAgent(
      {
        targets: ['127.0.0.1:2055'],
        engineType: null,
        engineId: null,
        addIdToInterface: false,
        activeTimeout: 1,
      },
      {
        now: () => t,
        send: (d) => sent.push(d.slice()),
        defaultEngineType: 204,
        defaultEngineId: 62,
      },
    );
    const req = icmpKey(IP1, IP2, 8);
    const rep = icmpKey(IP2, IP1, 0);
    // What the revalidator sees: the flooded first request, the reply, then two requests
    // forwarded to port 2; the flows then idle out of the datapath.
    agent.flowStats(req, 1, 98, 0, t, 1, NF_OUT_FLOOD, false);
    t += 10;
    agent.flowStats(rep, 1, 98, 0, t, 2, 1, false);
    agent.flowStats(req, 2, 196, 0, t, 1, 2, false);
    t += 500;
    agent.flowStats(req, 0, 0, 0, t - 500, 1, 2, true);
    agent.flowStats(rep, 0, 0, 0, t - 500, 2, 1, true);
    agent.run();
    agent.close();
    return sent.map((d) => {
      const m = decodeNetflowV5(d);
      if (m instanceof DecodeError) throw m;
      return m;
    });
  }

  it('real OVS exported all four packets', () => {
    const recs = real.flatMap((d) => d.records);
    assert.equal(
      recs.reduce((a, r) => a + r.packets, 0),
      4,
      JSON.stringify(recs),
    );
  });

  it('same records: addresses, ports, ICMP encoding, per-output split, counts', () => {
    const r = sorted(real.flatMap((d) => d.records.map(view)));
    const o = sorted(ours().flatMap((m) => m.records.map(view)));
    assert.deepEqual(o, r);
    assert.ok(
      r.some((s) => s.includes(`"output":${NF_OUT_FLOOD}`)),
      'the flooded part',
    );
  });

  it('same header fields: engine type/id of the dummy datapath, OVS flow_sequence', () => {
    for (const d of real) {
      assert.equal(d.engineType, 204);
      assert.equal(d.engineId, 62);
    }
    const mine = ours();
    for (const m of mine) {
      assert.equal(m.header.engineType, 204);
      assert.equal(m.header.engineId, 62);
      assert.equal(m.header.samplingInterval, 0);
    }
    // The running count at each datagram's last record: the same total either way.
    assert.equal(
      Math.max(...mine.map((m) => m.header.flowSequence)),
      Math.max(...real.map((d) => d.flowSequence)),
    );
  });
});
