/**
 * The seed's second walkthrough, "VM traffic monitoring with sFlow", run with our switch and
 * real ovs-vsctl, with the walkthrough's typographic mistakes fixed (`--id`, straight quotes,
 * `--`): VM1 and VM2 exchange traffic on br0, a collector on 127.0.0.1 receives the agent's
 * datagrams. Checked: flow samples arrive at about 1 in `sampling` packets (a bounded run,
 * checked statistically), each with the VMs' interfaces and the sampled header, and tshark
 * dissects them without errors; counter samples arrive every `polling` seconds for each port;
 * `ovs-vsctl list sflow` shows the row and `ovs-vsctl remove bridge br0 sflow UUID` stops it.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { DecodeError } from '../src/lib/proto/codec.ts';
import {
  decodeSflowDatagram,
  type SflowCountersSample,
  type SflowDatagram,
  type SflowFlowSample,
} from '../src/lib/proto/sflow.ts';
import { all, problems, tsharkFields, udpFrame } from '../src/lib/proto/test-support.ts';
import { appctl, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const SAMPLING_N = 64;
const HEADER_BYTES = 128;
const PACKETS = 1280;

const VM1 = '50:54:00:00:00:01';
const VM2 = '50:54:00:00:00:02';
const udp = (src: string, dst: string, sip: string, dip: string): string =>
  `eth(src=${src},dst=${dst}),eth_type(0x0800),ipv4(src=${sip},dst=${dip},proto=17,tos=0,ttl=64,frag=no),udp(src=4000,dst=5000)`;

let s: Stack;
let rx: Socket;
const got: Array<{ at: number; d: Uint8Array }> = [];
let sflowUuid = '';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
function decoded(from = 0): SflowDatagram[] {
  return got
    .filter((g) => g.at >= from)
    .map((g) => {
      const d = decodeSflowDatagram(g.d);
      if (d instanceof DecodeError) throw d;
      return d;
    });
}
const flows = (ds: SflowDatagram[]): SflowFlowSample[] =>
  ds.flatMap((d) => d.samples.filter((x): x is SflowFlowSample => x.kind === 'flow'));
const counters = (ds: SflowDatagram[]): SflowCountersSample[] =>
  ds.flatMap((d) => d.samples.filter((x): x is SflowCountersSample => x.kind === 'counters'));

/** n frames, half VM1 to VM2 on vm1, half back on vm2 (a hundred per command). */
function send(n: number): void {
  for (let sent = 0; sent < n / 2; sent += 100) {
    const k = Math.min(100, n / 2 - sent);
    for (const [port, f] of [
      ['vm1', udp(VM1, VM2, '198.18.0.1', '198.18.0.2')],
      ['vm2', udp(VM2, VM1, '198.18.0.2', '198.18.0.1')],
    ] as const) {
      const r = appctl(s, ['netdev-dummy/receive', port, ...new Array<string>(k).fill(f)]);
      assert.equal(r.status, 0, r.stderr);
    }
  }
}

describe("the seed's sFlow walkthrough", () => {
  before(async () => {
    rx = createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    rx.on('message', (m) => got.push({ at: Date.now(), d: new Uint8Array(m) }));
    // On the host's loopback, where the collector listens (dummy ports only: no devices).
    s = await startStack({ which: 'ours', ownNetns: false });
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      ...[
        '--',
        'add-port',
        'br0',
        'vm1',
        '--',
        'set',
        'interface',
        'vm1',
        'type=dummy',
        'options:ifindex=11',
      ],
      ...[
        '--',
        'add-port',
        'br0',
        'vm2',
        '--',
        'set',
        'interface',
        'vm2',
        'type=dummy',
        'options:ifindex=12',
      ],
    ]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    rx?.close();
    if (s) stopStack(s);
  });

  it('creates the sFlow row and attaches it to br0 as the walkthrough says', () => {
    const port = rx.address().port;
    const r = vsctl(s, [
      '--',
      '--id=@sflow',
      'create',
      'sflow',
      'agent=127.0.0.1',
      `target="127.0.0.1:${port}"`,
      `header=${HEADER_BYTES}`,
      `sampling=${SAMPLING_N}`,
      'polling=0',
      '--',
      'set',
      'bridge',
      'br0',
      'sflow=@sflow',
    ]);
    assert.equal(r.status, 0, r.stderr);
    sflowUuid = r.stdout.trim();
    assert.match(sflowUuid, /^[0-9a-f-]{36}$/);
    const list = vsctl(s, ['list', 'sflow']);
    assert.match(list.stdout, new RegExp(`_uuid\\s+: ${sflowUuid}`));
    assert.match(list.stdout, new RegExp(`sampling\\s+: ${SAMPLING_N}\\n`));
    assert.match(list.stdout, new RegExp(`targets\\s+: \\["127.0.0.1:${port}"\\]`));
  });

  it("samples about 1 in N packets, with the VMs' interfaces and headers; tshark agrees", async () => {
    // ovs-vsctl returned once the switch applied the row (it waits for cur_cfg).
    const start = Date.now();
    send(PACKETS);
    await sleep(2500);
    const fs = flows(decoded(start));
    // Binomial(1280, 1/64): mean 20, sd 4.4; outside [5, 45] has probability below 1e-6.
    assert.ok(fs.length >= 5 && fs.length <= 45, `${fs.length} flow samples`);
    for (const f of fs) {
      assert.equal(f.samplingRate, SAMPLING_N);
      // Until both MACs are learned NORMAL floods (to the other VM and br0): 2 outputs.
      const other = f.input === 11 ? 12 : 11;
      assert.ok(
        (f.input === 11 || f.input === 12) && (f.output === other || f.output === 0x80000002),
        `in ${f.input} out ${f.output}`,
      );
      const h = f.records.find((x) => x.type === 'header');
      assert.ok(h && h.type === 'header');
      assert.ok(h.header.length <= HEADER_BYTES && h.header.length >= 60);
    }
    // tshark: every datagram (flow samples only: polling is 0) dissects cleanly.
    const frames = got.filter((g) => g.at >= start).map((g) => udpFrame(g.d, 6343));
    const pk = tsharkFields(frames, ['sflow_245.sampletype', 'sflow.flow_sample.input_interface']);
    assert.ok(pk.length > 0);
    for (const p of pk) {
      assert.deepEqual(problems(p), []);
      assert.ok(all(p, 'sflow_245.sampletype').length > 0);
    }
  });

  it('polls counters every `polling` seconds once polling is set, live', async () => {
    const r = vsctl(s, ['set', 'sflow', sflowUuid, 'polling=1']);
    assert.equal(r.status, 0, r.stderr);
    const start = Date.now();
    await sleep(3500);
    const cs = counters(decoded(start));
    const perPort = (ifIndex: number): number =>
      cs.filter((c) => c.sourceIdIndex === ifIndex && c.sourceIdType === 0).length;
    assert.ok(perPort(11) >= 2, `vm1: ${perPort(11)} counter samples`);
    assert.ok(perPort(12) >= 2, `vm2: ${perPort(12)} counter samples`);
    assert.ok(perPort(11) <= 5);
  });

  it('remove bridge br0 sflow UUID stops the agent', async () => {
    const r = vsctl(s, ['remove', 'bridge', 'br0', 'sflow', sflowUuid]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(vsctl(s, ['get', 'bridge', 'br0', 'sflow']).stdout.trim(), '[]');
    await sleep(1500);
    const quiet = Date.now();
    send(200);
    await sleep(2000);
    assert.equal(got.filter((g) => g.at >= quiet).length, 0);
    // The row is gone with its last reference (sFlow is not a root table).
    assert.equal(vsctl(s, ['list', 'sflow']).stdout, '');
  });
});
