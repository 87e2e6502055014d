import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../../lib/proto/codec.ts';
import {
  decodeIpfixMessage,
  type IeName,
  type IpfixMessage,
  IpfixTemplateCache,
  type IpfixValue,
  OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID,
  ovsIpfixAllTemplateKeys,
  ovsIpfixTemplateFieldNames,
  ovsIpfixTemplateId,
  ovsIpfixTemplateMessages,
} from '../../lib/proto/ipfix.ts';
import {
  IPFIX_ODPP_NONE,
  IpfixAgent,
  type IpfixBridgeExporterOptions,
  type IpfixExporterOptions,
  ipfixActionsOutput,
} from './ipfix-agent.ts';

/* Frames built by hand, byte by byte (not with the code under test). Addresses 198.18/15. */
const MAC1 = '020000000001';
const MAC2 = '020000000002';
const IP1 = 'c6120001'; // 198.18.0.1
const IP2 = 'c6120002'; // 198.18.0.2

function ipv4(proto: string, l4: string, tos = '00', ttl = '40'): string {
  const len = (20 + l4.length / 2).toString(16).padStart(4, '0');
  return `45${tos}${len}00010000${ttl}${proto}0000${IP1}${IP2}${l4}`;
}
const ICMP_ECHO = `0800f7ff00010001${'ab'.repeat(56)}`;
/** 98 bytes: Ethernet + IPv4 (84) + ICMP echo request. */
const icmpFrame = (dst = MAC2) => `${dst}${MAC1}0800${ipv4('01', ICMP_ECHO)}`;
/** TCP 1234 -> 80, flags as given, no payload: 54 bytes. */
const tcpFrame = (flags: string) =>
  `${MAC2}${MAC1}0800${ipv4('06', `04d200500000000100000000 50${flags}ffff00000000`.replace(/ /g, ''))}`;
/** UDP 5000 -> dst, 4 bytes of payload. */
const udpFrame = (dst: number) =>
  `${MAC2}${MAC1}0800${ipv4('11', `1388${dst.toString(16).padStart(4, '0')}000c0000deadbeef`)}`;
const arpFrame = () => `ffffffffffff${MAC1}08060001080006040001${MAC1}${IP1}000000000000${IP2}`;
/** ICMP tagged VLAN 10, priority 3. */
const vlanIcmpFrame = () => `${MAC2}${MAC1}8100600a0800${ipv4('01', ICMP_ECHO)}`;
/** IPv6 UDP 2001:db8::1 -> 2001:db8::2, flow label 0x12345. */
const ipv6UdpFrame = () =>
  `${MAC2}${MAC1}86dd60012345000c1140${'20010db8000000000000000000000001'}${'20010db8000000000000000000000002'}13881389000c0000deadbeef`;

const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const EXPORTER: IpfixExporterOptions = {
  targets: ['127.0.0.1:4739'],
  cacheActiveTimeout: 0,
  cacheMaxFlows: 0,
  enableTunnelSampling: true,
  virtualObsId: null,
};
const BRIDGE: IpfixBridgeExporterOptions = {
  ...EXPORTER,
  sampling: 1,
  obsDomainId: 123,
  obsPointId: 456,
  enableInputSampling: true,
  enableOutputSampling: true,
};

const PORTS = [
  { odpPort: 1, name: 'p1', ifIndex: 0, ifType: 0, ifDescr: '' },
  { odpPort: 2, name: 'p2', ifIndex: 7, ifType: 6, ifDescr: 'second port' },
];

function rig(bridge: IpfixBridgeExporterOptions | null = BRIDGE, flows = [] as const) {
  let t = 1_700_000_000_250;
  const sent: Uint8Array[] = [];
  const agent = new IpfixAgent({
    now: () => t,
    send: (d) => sent.push(d.slice()),
    timers: false,
  });
  agent.setPorts(PORTS);
  agent.setOptions(bridge, flows);
  return {
    agent,
    sent,
    advance: (ms: number) => {
      t += ms;
    },
    now: () => t,
  };
}

interface Rec {
  domain: number;
  seq: number;
  exportTime: number;
  templateId: number;
  v: Map<string, IpfixValue>;
  /** The second interface block (egress) under its own names. */
  egressName?: string;
}

/** Decodes everything sent: templates learned, data records named by their template. */
function decodeAll(sent: Uint8Array[]) {
  const cache = new IpfixTemplateCache();
  const msgs: IpfixMessage[] = [];
  const recs: Rec[] = [];
  const keys = new Map(ovsIpfixAllTemplateKeys().map((k) => [ovsIpfixTemplateId(k), k]));
  for (const b of sent) {
    const m = decodeIpfixMessage(b, cache);
    if (m instanceof DecodeError) throw m;
    msgs.push(m);
    for (const s of m.sets) {
      assert.notEqual(s.kind, 'raw', 'a data set arrived before its template');
      if (s.kind !== 'data' || s.setId === OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID) continue;
      const k = keys.get(s.setId);
      assert.ok(k, `unknown template ${s.setId}`);
      const names = ovsIpfixTemplateFieldNames(k, s.fields.length > names0(k));
      for (const r of s.records) {
        const v = new Map<string, IpfixValue>();
        let seenName = 0;
        names.forEach((n: IeName, i) => {
          if (n === 'interfaceName' && seenName++ === 1) v.set('egressInterfaceName', r[i]);
          else if (!v.has(n)) v.set(n, r[i]);
        });
        recs.push({
          domain: m.observationDomainId,
          seq: m.sequenceNumber,
          exportTime: m.exportTime,
          templateId: s.setId,
          v,
        });
      }
    }
  }
  return { msgs, recs };
}
const names0 = (k: Parameters<typeof ovsIpfixTemplateFieldNames>[0]) =>
  ovsIpfixTemplateFieldNames(k, false).length;

const str = (v: IpfixValue | undefined) => Buffer.from(v as Uint8Array).toString();
const num = (v: IpfixValue | undefined) => Number(v);

describe('IpfixAgent: bridge exporter without a cache (OVS sends each sample at once)', () => {
  it('templates, options template and exporter statistics precede the first record', () => {
    const r = rig();
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    const expected = ovsIpfixTemplateMessages(1_700_000_001, 1, 123, false).length;
    assert.equal(r.sent.length, expected + 2);
    const { msgs, recs } = decodeAll(r.sent);
    // Template messages and the statistics record carry sequence number 1; data advances it.
    assert.deepEqual(
      msgs.map((m) => [m.observationDomainId, m.sequenceNumber]),
      [...Array(expected - 1).fill([123, 1]), [0, 1], [0, 1], [123, 2]],
    );
    const stats = msgs[expected];
    assert.equal(stats.sets[0].kind, 'data');
    // Export time: seconds rounded up.
    assert.ok(msgs.every((m) => m.exportTime === 1_700_000_001));
    assert.equal(recs.length, 1);
    const v = recs[0].v;
    assert.equal(
      recs[0].templateId,
      ovsIpfixTemplateId({
        l2: 'eth',
        l3: 'ipv4',
        l4: 'icmp',
        tunnel: false,
        direction: 'ingress',
      }),
    );
    assert.equal(num(v.get('observationPointId')), 456);
    assert.equal(num(v.get('flowDirection')), 0);
    assert.equal(Buffer.from(v.get('sourceMacAddress') as Uint8Array).toString('hex'), MAC1);
    assert.equal(num(v.get('ethernetType')), 0x0800);
    assert.equal(num(v.get('ethernetHeaderLength')), 14);
    assert.equal(str(v.get('interfaceName')), 'p1');
    assert.equal(num(v.get('sourceIPv4Address')), 0xc6120001);
    assert.equal(num(v.get('ipTTL')), 64);
    assert.equal(num(v.get('icmpTypeIPv4')), 8);
    assert.equal(num(v.get('packetDeltaCount')), 1);
    assert.equal(num(v.get('layer2OctetDeltaCount')), 98);
    assert.equal(num(v.get('octetDeltaCount')), 84);
    assert.equal(num(v.get('octetDeltaSumOfSquares')), 84 * 84);
    assert.equal(num(v.get('ingressUnicastPacketTotalCount')), 1);
    assert.equal(num(v.get('droppedPacketDeltaCount')), 0);
    assert.equal(num(v.get('flowEndReason')), 2);
    // 250 ms into the second, the export time is 750 ms ahead.
    assert.equal(num(v.get('flowStartDeltaMicroseconds')), 750_000);
  });

  it('an egress sample names both ports and counts totals across records', () => {
    const r = rig();
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    r.agent.bridgeSample(bytes(icmpFrame()), 1, 2, true);
    const { recs } = decodeAll(r.sent);
    assert.deepEqual(
      recs.map((x) => x.seq),
      [2, 3],
    );
    const e = recs[1].v;
    assert.equal(num(e.get('flowDirection')), 1);
    assert.equal(str(e.get('interfaceName')), 'p1');
    assert.equal(str(e.get('egressInterfaceName')), 'p2');
    assert.equal(num(e.get('egressInterface')), 7);
    assert.equal(num(e.get('egressInterfaceType')), 6);
    assert.equal(num(e.get('packetTotalCount')), 2);
    assert.equal(num(e.get('egressUnicastPacketTotalCount')), 1);
    assert.equal(num(e.get('octetTotalCount')), 168);
  });

  it('picks the template from the packet: ARP (L2 only), VLAN, IPv6/UDP, TCP flag totals', () => {
    const r = rig();
    r.agent.bridgeSample(bytes(arpFrame()), 1, IPFIX_ODPP_NONE, null);
    r.agent.bridgeSample(bytes(vlanIcmpFrame()), 1, IPFIX_ODPP_NONE, true);
    r.agent.bridgeSample(bytes(ipv6UdpFrame()), 1, IPFIX_ODPP_NONE, true);
    r.agent.bridgeSample(bytes(tcpFrame('12')), 1, IPFIX_ODPP_NONE, true); // SYN+ACK
    r.agent.bridgeSample(bytes(tcpFrame('11')), 1, IPFIX_ODPP_NONE, true); // FIN+ACK
    const { recs } = decodeAll(r.sent);
    const id = (
      l2: 'eth' | 'vlan',
      l3: 'unknown' | 'ipv4' | 'ipv6',
      l4: 'unknown' | 'icmp' | 'udp' | 'tcp',
    ) => ovsIpfixTemplateId({ l2, l3, l4, tunnel: false, direction: 'ingress' });
    assert.deepEqual(
      recs.map((x) => x.templateId),
      [
        id('eth', 'unknown', 'unknown'),
        id('vlan', 'ipv4', 'icmp'),
        id('eth', 'ipv6', 'udp'),
        id('eth', 'ipv4', 'tcp'),
        id('eth', 'ipv4', 'tcp'),
      ],
    );
    // ARP: a broadcast, dropped (no output action known): dropped counts, no IP part.
    const arp = recs[0].v;
    assert.equal(num(arp.get('ingressBroadcastPacketTotalCount')), 1);
    assert.equal(num(arp.get('droppedPacketDeltaCount')), 1);
    assert.equal(arp.has('octetDeltaCount'), false);
    const vl = recs[1].v;
    assert.equal(num(vl.get('vlanId')), 10);
    assert.equal(num(vl.get('dot1qPriority')), 3);
    assert.equal(num(vl.get('ethernetHeaderLength')), 18);
    const v6 = recs[2].v;
    assert.equal(
      Buffer.from(v6.get('sourceIPv6Address') as Uint8Array).toString('hex'),
      '20010db8000000000000000000000001',
    );
    assert.equal(num(v6.get('flowLabelIPv6')), 0x12345);
    assert.equal(num(v6.get('destinationTransportPort')), 5001);
    const t2 = recs[4].v;
    assert.equal(num(t2.get('tcpAckTotalCount')), 2);
    assert.equal(num(t2.get('tcpSynTotalCount')), 1);
    assert.equal(num(t2.get('tcpFinTotalCount')), 1);
    assert.equal(num(t2.get('tcpRstTotalCount')), 0);
    assert.equal(num(t2.get('droppedPacketTotalCount')), 1);
  });

  it('never samples BFD (UDP to 3784/3785)', () => {
    const r = rig();
    r.agent.bridgeSample(bytes(udpFrame(3784)), 1, IPFIX_ODPP_NONE, true);
    r.agent.bridgeSample(bytes(udpFrame(3785)), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.sent.length, 0);
    r.agent.bridgeSample(bytes(udpFrame(3786)), 1, IPFIX_ODPP_NONE, true);
    assert.equal(decodeAll(r.sent).recs.length, 1);
  });

  it('1-in-N sampling reports N packets per sample', () => {
    const r = rig({ ...BRIDGE, sampling: 64 });
    assert.equal(r.agent.bridgeProbability, Math.floor(0xffffffff / 64));
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    const v = decodeAll(r.sent).recs[0].v;
    assert.equal(num(v.get('packetDeltaCount')), 64);
    assert.equal(num(v.get('layer2OctetDeltaCount')), 64 * 98);
  });

  it('templates go out again only after 600 s', () => {
    const r = rig();
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    const first = r.sent.length;
    r.advance(599_000);
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.sent.length, first + 1);
    r.advance(1_000);
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.sent.length, 2 * first + 1);
  });

  it('virtual_obs_id adds the field to templates and records', () => {
    const r = rig({ ...BRIDGE, virtualObsId: 'vm-17' });
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    const { recs } = decodeAll(r.sent);
    assert.equal(str(recs[0].v.get('virtualObsID')), 'vm-17');
  });
});

describe('IpfixAgent: the flow cache', () => {
  it('aggregates samples of one flow and exports them at the active timeout', () => {
    const r = rig({ ...BRIDGE, cacheActiveTimeout: 2, cacheMaxFlows: 10 });
    for (let i = 0; i < 3; i++) {
      r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
      r.advance(100);
    }
    r.agent.run();
    assert.equal(r.sent.length, 0);
    assert.equal(r.agent.nextTimeoutMs(), r.now() - 300 + 2000);
    r.advance(1700);
    r.agent.run();
    const { recs } = decodeAll(r.sent);
    assert.equal(recs.length, 1);
    const v = recs[0].v;
    assert.equal(num(v.get('packetDeltaCount')), 3);
    assert.equal(num(v.get('octetDeltaCount')), 3 * 84);
    assert.equal(num(v.get('minimumIpTotalLength')), 84);
    assert.equal(num(v.get('flowEndReason')), 2);
    // First sample 2.75 s, last 2.55 s before the export time (seconds rounded up).
    assert.equal(num(v.get('flowStartDeltaMicroseconds')), 2_750_000);
    assert.equal(num(v.get('flowEndDeltaMicroseconds')), 2_550_000);
  });

  it('evicts the oldest flow when the cache overflows (lack of resources)', () => {
    const r = rig({ ...BRIDGE, cacheActiveTimeout: 100, cacheMaxFlows: 1 });
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.sent.length, 0);
    r.agent.bridgeSample(bytes(udpFrame(53)), 1, IPFIX_ODPP_NONE, true);
    const { recs } = decodeAll(r.sent);
    assert.equal(recs.length, 1);
    assert.equal(num(recs[0].v.get('icmpTypeIPv4')), 8);
    assert.equal(num(recs[0].v.get('flowEndReason')), 5);
    r.agent.close();
    const after = decodeAll(r.sent).recs;
    assert.equal(after.length, 2);
    assert.equal(num(after[1].v.get('destinationTransportPort')), 53);
    assert.equal(num(after[1].v.get('flowEndReason')), 4);
  });

  it('removing the bridge exporter flushes its cache as a forced end', () => {
    const r = rig({ ...BRIDGE, cacheActiveTimeout: 60, cacheMaxFlows: 100 });
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.agent.setOptions(null, []), true);
    const { recs } = decodeAll(r.sent);
    assert.equal(recs.length, 1);
    assert.equal(num(recs[0].v.get('flowEndReason')), 4);
    assert.equal(r.agent.bridgeProbability, 0);
    const n = r.sent.length;
    r.agent.bridgeSample(bytes(icmpFrame()), 1, IPFIX_ODPP_NONE, true);
    assert.equal(r.sent.length, n);
  });

  it('packet totals are conserved: every sample ends up in exactly one record', () => {
    const frames = [icmpFrame(), udpFrame(53), udpFrame(54), tcpFrame('02'), arpFrame()].map(bytes);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(
          fc.record({
            frame: fc.integer({ min: 0, max: frames.length - 1 }),
            out: fc.constantFrom(IPFIX_ODPP_NONE, 2),
            wait: fc.integer({ min: 0, max: 1500 }),
          }),
          { maxLength: 40 },
        ),
        (timeout, maxFlows, samples) => {
          const r = rig({ ...BRIDGE, cacheActiveTimeout: timeout, cacheMaxFlows: maxFlows });
          let bytesSent = 0;
          for (const s of samples) {
            r.agent.bridgeSample(frames[s.frame], 1, s.out, true);
            bytesSent += frames[s.frame].length;
            r.advance(s.wait);
            r.agent.run();
          }
          r.agent.close();
          const { recs } = decodeAll(r.sent);
          const pk = recs.reduce((a, x) => a + num(x.v.get('packetDeltaCount')), 0);
          const by = recs.reduce((a, x) => a + num(x.v.get('layer2OctetDeltaCount')), 0);
          assert.equal(pk, samples.length);
          assert.equal(by, bytesSent);
          // Sequence numbers: 2, 3, ... with no gap (1 went to the statistics record).
          for (const [i, x] of recs.entries()) assert.equal(x.seq, i + 2);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('IpfixAgent: flow exporters (Flow_Sample_Collector_Set)', () => {
  it('samples go to the exporter of their collector set, with the action ids', () => {
    const r = rig(null, [] as const);
    r.agent.setOptions(null, [
      { id: 7, ipfix: EXPORTER },
      { id: 8, ipfix: { ...EXPORTER, targets: [] } },
    ]);
    assert.deepEqual(r.agent.collectorSetIds, [7]);
    assert.equal(r.agent.bridgeProbability, 0);
    const cookie = {
      probability: 65535,
      collectorSetId: 7,
      obsDomainId: 5,
      obsPointId: 6,
      outputPort: 2,
      direction: 'default' as const,
    };
    r.agent.flowSample(bytes(icmpFrame()), 1, cookie, true);
    r.agent.flowSample(bytes(icmpFrame()), 1, { ...cookie, collectorSetId: 8 }, true);
    r.agent.flowSample(
      bytes(icmpFrame()),
      1,
      { ...cookie, probability: 32768, direction: 'ingress' },
      false,
    );
    const { recs } = decodeAll(r.sent);
    assert.equal(recs.length, 2);
    assert.equal(recs[0].domain, 5);
    assert.equal(num(recs[0].v.get('observationPointId')), 6);
    assert.equal(num(recs[0].v.get('flowDirection')), 1);
    assert.equal(num(recs[0].v.get('packetDeltaCount')), 1);
    // An explicit direction wins over the sampling port; 65535/32768 rounds down to 1.
    assert.equal(num(recs[1].v.get('flowDirection')), 0);
    assert.equal(num(recs[1].v.get('droppedPacketDeltaCount')), 1);
    assert.equal(r.agent.flowStats()[0].pkts, 2);
    assert.equal(r.agent.flowStats()[0].collectorSetId, 7);
  });

  it('exporting process ids are numbered across the process in creation order', () => {
    const a = rig();
    a.agent.setOptions(BRIDGE, [{ id: 1, ipfix: EXPORTER }]);
    const ids = a.agent.exporterIds();
    assert.equal(ids.flows.get(1), ids.bridge + 1);
    const b = rig();
    assert.equal(b.agent.exporterIds().bridge, ids.bridge + 2);
  });
});

describe('ipfixActionsOutput (OVS reads the flow actions for dropped counts)', () => {
  it('outputs count at top level, in clones and in 100% samples only', () => {
    assert.equal(ipfixActionsOutput(null), null);
    assert.equal(ipfixActionsOutput([{ type: 'output', port: 2 }]), true);
    assert.equal(ipfixActionsOutput([{ type: 'pop_vlan' }]), false);
    assert.equal(
      ipfixActionsOutput([{ type: 'clone', actions: [{ type: 'output', port: 2 }] }]),
      true,
    );
    assert.equal(
      ipfixActionsOutput([
        { type: 'sample', probability: 0xffffffff, actions: [{ type: 'output', port: 2 }] },
      ]),
      true,
    );
    assert.equal(
      ipfixActionsOutput([
        { type: 'sample', probability: 0x7fffffff, actions: [{ type: 'output', port: 2 }] },
      ]),
      false,
    );
  });
});
