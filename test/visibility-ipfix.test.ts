/*
 * Side by side: real ovs-vswitchd 3.1 and ours (--enable-dummy, dummy ports, traffic through
 * netdev-dummy/receive), each with
 *   - br0: bridge-wide IPFIX (sampling=1, obs_domain_id=123, obs_point_id=456, no cache),
 *   - br1: per-flow IPFIX, a Flow_Sample_Collector_Set (id 7, cache_active_timeout=1,
 *     cache_max_flows=10) fed by OpenFlow sample actions on ingress and on egress;
 * collectors on 127.0.0.1. The datagrams of both must carry the same templates, the same
 * records (time deltas aside) and the same exporter statistics; the datapath actions must be
 * the same; tshark must decode ours cleanly; nfcapd/nfdump must account the traffic sent.
 *
 * What real OVS does here (observed, and asserted below):
 * - every template (88 of them, in 18 messages) goes out before the first record, with the
 *   record's observation domain, then the options template and an exporter statistics
 *   record in domain 0; one record per message; sequence numbers from 1 per exporter;
 * - br0 samples each packet on input and before each output of the flood (p2 and br0), as
 *   userspace(ipfix(output_port=...)) actions without a sample() wrapper at 100%;
 * - br1's cache folds the three packets into one ingress and one egress record;
 * - a destroyed collector set first exports what its cache holds (flowEndReason 4);
 * - clearing br0's ipfix column stops its export;
 * - records count running totals (nfdump reports those), and a packet that hits a megaflow
 *   another packet created counts as dropped (OVS finds the flow's actions by exact flow);
 * - sequence numbers are per exporter, so tshark remarks on them (for real OVS's too).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { before, describe, it } from 'node:test';
import { DecodeError } from '../src/lib/proto/codec.ts';
import {
  decodeIpfixMessage,
  type IpfixMessage,
  IpfixTemplateCache,
  type IpfixValue,
  OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID,
} from '../src/lib/proto/ipfix.ts';
import {
  all,
  problems,
  throughNfcapd,
  tsharkFields,
  udpFrame,
} from '../src/lib/proto/test-support.ts';
import {
  appctl,
  dummyBridge,
  type Stack,
  startStack,
  stopStack,
  vsctl,
} from './vswitchd-harness.ts';

const PAD = 'ab'.repeat(56);
// 198.18.0.1 -> 198.18.0.2 ICMP echo request (98 bytes) and UDP 5000 -> 53 (46 bytes), by hand.
const ICMP =
  `505400000002505400000001080045000054000100004001000 0c6120001c61200020800f7ff00010001${PAD}`.replace(
    / /g,
    '',
  );
const UDP = `5054000000025054000000010800450000200001000040110000c6120001c612000213880035000c0000deadbeef`;
const ICMP_LEN = ICMP.length / 2;
const UDP_LEN = UDP.length / 2;

interface Capture {
  a: Uint8Array[];
  b: Uint8Array[];
  /** Datagrams to br0's collector after its ipfix column was cleared. */
  aAfterClear: number;
  /** br1's datagrams once its collector set was destroyed with a record still cached. */
  bFlushed: Uint8Array[];
  dumpFlows: string;
  traceA: string;
  traceB: string;
  /** br0's trace once sampling is 1 in 64 and input sampling is off. */
  traceA64: string;
}

function collector(): Promise<{ sock: Socket; got: Uint8Array[] }> {
  const sock = createSocket('udp4');
  const got: Uint8Array[] = [];
  sock.on('message', (m) => got.push(new Uint8Array(m)));
  return new Promise((res) => sock.bind(0, '127.0.0.1', () => res({ sock, got })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ok(r: { status: number | null; stderr: string; stdout: string }): string {
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The "Datapath actions" line of a trace. */
const dpActions = (trace: string) => /^Datapath actions: (.*)$/m.exec(trace)?.[1] ?? trace;

async function run(which: 'real' | 'ours'): Promise<Capture> {
  const ca = await collector();
  const cb = await collector();
  let stack: Stack | undefined;
  try {
    stack = await startStack({ which, ovsdb: 'real', ownNetns: false });
    const s = stack;
    ok(
      vsctl(s, [
        ...dummyBridge('br0', [1, 2]),
        ...dummyBridge('br1', [3, 4]),
        '--',
        '--id=@a',
        'create',
        'ipfix',
        `targets="127.0.0.1:${ca.sock.address().port}"`,
        'sampling=1',
        'obs_domain_id=123',
        'obs_point_id=456',
        '--',
        'set',
        'bridge',
        'br0',
        'ipfix=@a',
        '--',
        '--id=@br1',
        'get',
        'Bridge',
        'br1',
        '--',
        '--id=@b',
        'create',
        'ipfix',
        `targets="127.0.0.1:${cb.sock.address().port}"`,
        'cache_active_timeout=1',
        'cache_max_flows=10',
        '--',
        'create',
        'Flow_Sample_Collector_Set',
        'id=7',
        'bridge=@br1',
        'ipfix=@b',
      ]),
    );
    ok(
      spawnSync(
        '/usr/bin/ovs-ofctl',
        [
          'add-flow',
          'br1',
          'in_port=3,actions=sample(probability=65535,collector_set_id=7,obs_domain_id=5,obs_point_id=6),' +
            'output:4,sample(probability=65535,collector_set_id=7,obs_domain_id=5,obs_point_id=9,sampling_port=4,egress)',
        ],
        { env: s.env, encoding: 'utf8' },
      ),
    );
    await sleep(200);
    for (let i = 0; i < 3; i++) ok(appctl(s, ['netdev-dummy/receive', 'p1', ICMP]));
    for (let i = 0; i < 2; i++) ok(appctl(s, ['netdev-dummy/receive', 'p1', UDP]));
    for (let i = 0; i < 3; i++) ok(appctl(s, ['netdev-dummy/receive', 'p3', ICMP]));
    // Messages with a data set (set id >= 256): records plus one statistics record each.
    const data = (g: Uint8Array[]) => g.filter((d) => d.length > 20 && d[16] !== 0).length;
    for (let i = 0; i < 100 && (data(ca.got) < 16 || data(cb.got) < 3); i++) await sleep(50);
    const dumpFlows =
      ok(appctl(s, ['dpif/dump-flows', 'br0'])) + ok(appctl(s, ['dpif/dump-flows', 'br1']));
    const traceA = ok(
      appctl(s, [
        'ofproto/trace',
        'br0',
        'in_port=1,udp,nw_src=198.18.0.1,nw_dst=198.18.0.2,udp_dst=53',
      ]),
    );
    const traceB = ok(
      appctl(s, ['ofproto/trace', 'br1', 'in_port=3,icmp,nw_src=198.18.0.1,nw_dst=198.18.0.2']),
    );
    const a = [...ca.got];
    const b = [...cb.got];
    // A collector set removed with records in its cache sends them first (forced end).
    const ub = ok(vsctl(s, ['get', 'Flow_Sample_Collector_Set', '.', 'ipfix'])).trim();
    ok(vsctl(s, ['set', 'ipfix', ub, 'cache_active_timeout=60']));
    ok(appctl(s, ['netdev-dummy/receive', 'p3', ICMP]));
    await sleep(100);
    ok(vsctl(s, ['--all', 'destroy', 'Flow_Sample_Collector_Set']));
    for (let i = 0; i < 40 && cb.got.length < b.length + 2; i++) await sleep(50);
    const bFlushed = cb.got.slice(b.length);
    // Sampling below 100% puts each sample in a sample() action; input sampling can be
    // turned off (OVS reads "enable-input-sampling=true" as off).
    const uuid = ok(vsctl(s, ['get', 'bridge', 'br0', 'ipfix'])).trim();
    ok(vsctl(s, ['set', 'ipfix', uuid, 'sampling=64', 'other_config:enable-input-sampling=true']));
    const traceA64 = ok(
      appctl(s, [
        'ofproto/trace',
        'br0',
        'in_port=1,udp,nw_src=198.18.0.1,nw_dst=198.18.0.2,udp_dst=53',
      ]),
    );
    // Removing the row stops the export.
    ok(vsctl(s, ['clear', 'bridge', 'br0', 'ipfix']));
    await sleep(200);
    const n = ca.got.length;
    ok(appctl(s, ['netdev-dummy/receive', 'p1', ICMP]));
    await sleep(300);
    return { a, b, aAfterClear: ca.got.length - n, bFlushed, dumpFlows, traceA, traceB, traceA64 };
  } finally {
    if (stack) stopStack(stack);
    ca.sock.close();
    cb.sock.close();
  }
}

interface Decoded {
  msgs: IpfixMessage[];
  templates: string[];
  records: Array<{ domain: number; seq: number; setId: number; values: IpfixValue[] }>;
}

function decode(bufs: Uint8Array[]): Decoded {
  const cache = new IpfixTemplateCache();
  const out: Decoded = { msgs: [], templates: [], records: [] };
  for (const b of bufs) {
    const m = decodeIpfixMessage(b, cache);
    if (m instanceof DecodeError) throw m;
    out.msgs.push(m);
    for (const s of m.sets) {
      if (s.kind === 'template' || s.kind === 'options-template')
        for (const t of s.records)
          out.templates.push(
            `${m.observationDomainId}:${t.templateId}:${JSON.stringify(t.fields)}`,
          );
      else if (s.kind === 'data')
        for (const r of s.records)
          out.records.push({
            domain: m.observationDomainId,
            seq: m.sequenceNumber,
            setId: s.setId,
            values: r,
          });
      else assert.fail(`data set ${s.setId} without its template`);
    }
  }
  return out;
}

/* Information elements whose values are running totals over all samples so far. */
const TOTALS = new Set([
  85, 86, 134, 135, 174, 175, 199, 218, 219, 220, 221, 222, 223, 353, 354, 355, 356, 357, 358,
]);

/**
 * A record with the time-dependent fields (flow start/end deltas) masked; with `orderFree`
 * also the running totals and the sequence number, which depend on the order of outputs.
 */
function view(r: Decoded['records'][number], orderFree = false): string {
  const fields = decodeFieldsOf(r.setId);
  return JSON.stringify(
    r.values.map((v, i) =>
      fields[i] === 158 || fields[i] === 159
        ? 'T'
        : orderFree && TOTALS.has(fields[i])
          ? 'N'
          : v instanceof Uint8Array
            ? Buffer.from(v).toString('hex')
            : String(v),
    ),
  ).concat(` d=${r.domain} s=${orderFree ? '' : r.seq} t=${r.setId}`);
}

/** The largest value of each running total over the records (the final totals). */
function finalTotals(d: Decoded): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of d.records) {
    decodeFieldsOf(r.setId).forEach((id, i) => {
      if (TOTALS.has(id)) out[id] = Math.max(out[id] ?? 0, Number(r.values[i]));
    });
  }
  return out;
}

let fieldIds = new Map<number, number[]>();
function decodeFieldsOf(setId: number): number[] {
  return fieldIds.get(setId) ?? [];
}
function learnFields(d: Decoded): void {
  for (const m of d.msgs)
    for (const s of m.sets)
      if (s.kind === 'data')
        fieldIds.set(
          s.setId,
          s.fields.map((f) => f.id),
        );
}

/** Value of information element `id` in a record (first occurrence). */
function ie(r: Decoded['records'][number], id: number): IpfixValue | undefined {
  const i = decodeFieldsOf(r.setId).indexOf(id);
  return i < 0 ? undefined : r.values[i];
}

describe('IPFIX: real ovs-vswitchd and ours side by side', () => {
  let real: Capture;
  let ours: Capture;
  let dr: { a: Decoded; b: Decoded };
  let d: { a: Decoded; b: Decoded };

  before(async () => {
    real = await run('real');
    ours = await run('ours');
    fieldIds = new Map();
    dr = { a: decode(real.a), b: decode(real.b) };
    d = { a: decode(ours.a), b: decode(ours.b) };
    for (const x of [dr.a, dr.b, d.a, d.b]) learnFields(x);
  });

  it('the datapath actions are the same (bridge-wide and sample-action sampling)', () => {
    // A flood's outputs come in hash order (OVS-NOTES): compare each output with the sample
    // ahead of it as one unit, and the units as a set.
    const units = (a: string) => {
      const top: string[] = [];
      let depth = 0;
      let cur = '';
      for (const ch of a) {
        if (ch === ',' && depth === 0) {
          top.push(cur);
          cur = '';
          continue;
        }
        if (ch === '(') depth++;
        if (ch === ')') depth--;
        cur += ch;
      }
      top.push(cur);
      const out: string[] = [];
      for (let i = 0; i < top.length; i++) {
        const m = /^userspace\(pid=0,ipfix\(output_port=(\d+)\)\)$/.exec(top[i]);
        if (m && top[i + 1] === m[1]) out.push(`${top[i]}|${top[++i]}`);
        else out.push(top[i]);
      }
      return out;
    };
    const ua = units(dpActions(ours.traceA));
    assert.deepEqual([...ua].sort(), [
      'userspace(pid=0,ipfix(output_port=100))|100',
      'userspace(pid=0,ipfix(output_port=2))|2',
      'userspace(pid=0,ipfix(output_port=4294967295))',
    ]);
    assert.equal(ua[0], 'userspace(pid=0,ipfix(output_port=4294967295))');
    assert.deepEqual([...ua].sort(), [...units(dpActions(real.traceA))].sort());
    const u64 = units(dpActions(ours.traceA64));
    assert.deepEqual(
      [...u64].sort(),
      [
        'sample(sample=1.6%,actions(userspace(pid=0,ipfix(output_port=100))))',
        '100',
        'sample(sample=1.6%,actions(userspace(pid=0,ipfix(output_port=2))))',
        '2',
      ].sort(),
    );
    assert.deepEqual([...u64].sort(), [...units(dpActions(real.traceA64))].sort());
    assert.equal(dpActions(ours.traceB), dpActions(real.traceB));
    const acts = (s: string) =>
      s
        .split('\n')
        .filter((l) => l.includes('actions:'))
        .map((l) =>
          units(l.slice(l.indexOf('actions:') + 8))
            .sort()
            .join(),
        )
        .sort();
    assert.deepEqual(acts(ours.dumpFlows), acts(real.dumpFlows));
  });

  it('the same templates, in the same messages, for the same observation domains', () => {
    assert.equal(dr.a.templates.length, 89);
    assert.deepEqual(d.a.templates, dr.a.templates);
    assert.deepEqual(d.b.templates, dr.b.templates);
    const shape = (x: Decoded) =>
      x.msgs
        .filter((m) => m.sets.some((s) => s.kind !== 'data'))
        .map((m) => m.sets.map((s) => s.kind).join());
    assert.deepEqual(shape(d.a), shape(dr.a));
  });

  it("bridge-wide: one record per sample, the same as real OVS's but for time deltas", () => {
    // The flood's outputs go in hash order, so records are compared as a set and the running
    // totals only at the end; ours must still count up in sequence.
    const flows = (x: Decoded) =>
      x.records.filter((r) => r.setId !== OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID);
    assert.equal(flows(dr.a).length, 15);
    const set = (x: Decoded) =>
      flows(x)
        .map((r) => view(r, true))
        .sort();
    assert.deepEqual(set(d.a), set(dr.a));
    assert.deepEqual(finalTotals(d.a), finalTotals(dr.a));
    assert.deepEqual(
      flows(d.a).map((r) => [r.seq, Number(ie(r, 86))]),
      Array.from({ length: 15 }, (_, i) => [i + 2, i + 1]),
    );
    // The UDP packets hit the megaflow an ICMP packet made, so OVS (looking the flow up by
    // the packet's exact fields) finds no actions for them and counts them as dropped.
    assert.deepEqual(
      flows(d.a).map((r) => `${ie(r, 4)}:${ie(r, 133)}`),
      [...Array(9).fill('1:0'), ...Array(6).fill('17:1')],
    );
  });

  it('per-flow: the cache folds the packets into one ingress and one egress record', () => {
    const flows = (x: Decoded) =>
      x.records.filter((r) => r.setId !== OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID);
    assert.deepEqual(
      flows(d.b).map((r) => view(r)),
      flows(dr.b).map((r) => view(r)),
    );
    const recs = flows(d.b);
    assert.deepEqual(
      recs.map((r) => [r.domain, Number(ie(r, 138)), Number(ie(r, 61)), Number(ie(r, 2))]),
      [
        [5, 6, 0, 3],
        [5, 9, 1, 3],
      ],
    );
  });

  it('exporter statistics records name the same exporting processes', () => {
    const stats = (x: Decoded) =>
      x.records
        .filter((r) => r.setId === OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID)
        .map((r) => `${r.domain}:${r.seq}:${r.values.map(String).join(',')}`);
    assert.deepEqual(stats(d.a), stats(dr.a));
    assert.deepEqual(stats(d.b), stats(dr.b));
  });

  it('destroying a collector set exports what its cache held (forced end)', () => {
    // Decoded with the templates the set's first messages carried.
    const flushed = (c: Capture) => {
      const all = decode([...c.b, ...c.bFlushed]);
      return all.records.slice(decode(c.b).records.length);
    };
    const fo = flushed(ours);
    assert.deepEqual(
      fo.map((r) => [Number(ie(r, 61)), Number(ie(r, 2)), Number(ie(r, 136))]),
      [
        [0, 1, 4],
        [1, 1, 4],
      ],
    );
    assert.deepEqual(
      fo.map((r) => view(r)),
      flushed(real).map((r) => view(r)),
    );
  });

  it('clearing the bridge ipfix column stops the export', () => {
    assert.equal(real.aAfterClear, 0);
    assert.equal(ours.aAfterClear, 0);
  });

  it('packet and byte totals of the ingress records match what was sent', () => {
    const ingress = d.a.records.filter((r) => ie(r, 61) === 0);
    assert.equal(
      ingress.reduce((s, r) => s + Number(ie(r, 2)), 0),
      5,
    );
    assert.equal(
      ingress.reduce((s, r) => s + Number(ie(r, 352)), 0),
      3 * ICMP_LEN + 2 * UDP_LEN,
    );
  });

  it("tshark decodes every datagram without errors; its only remark is OVS's sequence quirk", () => {
    const dissect = (c: Capture) =>
      tsharkFields(
        [...c.a, ...c.b].map((m) => udpFrame(m, 4739)),
        ['cflow.od_id', 'cflow.template_id', 'cflow.packets', 'cflow.octets', 'cflow.srcaddr'],
        ['-d', 'udp.port==4739,cflow', '-o', 'cflow.max_template_fields:100'],
      );
    const pkts = dissect(ours);
    assert.equal(pkts.length, ours.a.length + ours.b.length);
    // OVS numbers messages per exporter, not per observation domain: the statistics record
    // (domain 0) takes a number, so tshark expects the first record of the flow domain one
    // lower. Real OVS's datagrams draw exactly the same remarks.
    const remarks = pkts.flatMap(problems);
    assert.ok(remarks.length > 0);
    for (const r of remarks) assert.match(r, /^Unexpected flow sequence for domain ID \d+/);
    assert.deepEqual(remarks, dissect(real).flatMap(problems));
    const srcs = pkts.flatMap((p) => all(p, 'cflow.srcaddr'));
    assert.equal(srcs.length, 15 + 2);
    assert.ok(srcs.every((x) => x === '198.18.0.1'));
    const packets = pkts.flatMap((p) => all(p, 'cflow.packets')).map(Number);
    assert.equal(packets.length, 17);
  });

  it("nfcapd stores the records and nfdump reads what real OVS's give it", async () => {
    // nfdump takes OVS's running totals (packetTotalCount, octetTotalCount) as a record's
    // counts: the last record's are those of every sample taken.
    const strip = (f: Record<string, string>) => {
      const { ts, te, tr, td, ...rest } = f;
      return JSON.stringify(rest);
    };
    const oursA = await throughNfcapd(ours.a);
    const realA = await throughNfcapd(real.a);
    assert.match(
      oursA.log,
      /Flows: 15, Packets: \d+, Bytes: \d+, Sequence Errors: 0, Bad Packets: 0/,
    );
    assert.deepEqual(oursA.flows.map(strip), realA.flows.map(strip));
    const last = oursA.flows[oursA.flows.length - 1];
    // 5 packets sent, each sampled on input and before its two outputs.
    assert.equal(last.ipkt, '15');
    assert.equal(last.ibyt, String(3 * (3 * 84) + 3 * (2 * 32)));
    assert.equal(oursA.flows.filter((f) => f.dir === '0').length, 5);
    const oursB = await throughNfcapd(ours.b);
    const realB = await throughNfcapd(real.b);
    assert.deepEqual(oursB.flows.map(strip), realB.flows.map(strip));
    assert.deepEqual(
      oursB.flows.map((f) => [f.sa, f.da, f.pr, f.dir, f.ipkt, f.ibyt]),
      [
        // Totals as of each record's last sample: in, out, in, out, in | out.
        ['198.18.0.1', '198.18.0.2', 'ICMP', '0', '5', String(5 * 84)],
        ['198.18.0.1', '198.18.0.2', 'ICMP', '1', '6', String(6 * 84)],
      ],
    );
  });
});
