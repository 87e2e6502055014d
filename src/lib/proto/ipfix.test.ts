import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytes, u8, u16, u32, u64 } from './arbitraries.ts';
import { DecodeError, encodeToBytes } from './codec.ts';
import {
  decodeIpfixMessage,
  encodeIpfixMessage,
  IE,
  IPFIX_ENTERPRISE_VMWARE,
  IPFIX_VARLEN,
  type IpfixFieldSpec,
  type IpfixMessage,
  IpfixTemplateCache,
  type IpfixValue,
  OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID,
  type OvsIpfixTemplateKey,
  ovsIpfixAllTemplateKeys,
  ovsIpfixRecord,
  ovsIpfixTemplate,
  ovsIpfixTemplateId,
  ovsIpfixTemplateMessages,
} from './ipfix.ts';
import {
  all,
  fromHex,
  hex,
  one,
  problems,
  throughNfcapd,
  tsharkFields,
  udpFrame,
} from './test-support.ts';

const EXPORT = 1_700_000_000;
const tcpKey: OvsIpfixTemplateKey = {
  l2: 'eth',
  l3: 'ipv4',
  l4: 'tcp',
  tunnel: false,
  direction: 'ingress',
};
const tunnelKey: OvsIpfixTemplateKey = {
  l2: 'vlan',
  l3: 'ipv6',
  l4: 'udp',
  tunnel: true,
  direction: 'egress',
};

function tcpRecord(): IpfixValue[] {
  return ovsIpfixRecord(tcpKey, false, {
    observationPointId: 5,
    flowDirection: 0,
    sourceMacAddress: fromHex('020000000001'),
    destinationMacAddress: fromHex('020000000002'),
    ethernetType: 0x0800,
    ethernetHeaderLength: 14,
    ingressInterface: 1,
    interfaceName: new TextEncoder().encode('p1'),
    ipVersion: 4,
    ipTTL: 64,
    protocolIdentifier: 6,
    sourceIPv4Address: 0xc6120001,
    destinationIPv4Address: 0xc6120002,
    sourceTransportPort: 1234,
    destinationTransportPort: 80,
    flowStartDeltaMicroseconds: 2_000_000,
    flowEndDeltaMicroseconds: 1_000_000,
    packetDeltaCount: 10n,
    packetTotalCount: 10n,
    layer2OctetDeltaCount: 1640n,
    flowEndReason: 2,
    octetDeltaCount: 1500n,
    octetTotalCount: 1500n,
    tcpSynTotalCount: 1n,
  });
}

function dataMessage(seq: number, records: IpfixValue[][]): IpfixMessage {
  const t = ovsIpfixTemplate(tcpKey, false);
  return {
    exportTime: EXPORT,
    sequenceNumber: seq,
    observationDomainId: 7,
    sets: [{ kind: 'data', setId: t.templateId, fields: t.fields, records }],
  };
}

describe("OVS's IPFIX templates", () => {
  it('numbers templates and the options template as ofproto-dpif-ipfix.c does', () => {
    assert.equal(
      ovsIpfixTemplateId({
        l2: 'eth',
        l3: 'unknown',
        l4: 'unknown',
        tunnel: false,
        direction: 'ingress',
      }),
      256,
    );
    assert.equal(ovsIpfixTemplateId(tcpKey), 256 + ((1 * 5 + 1) * 2 + 0) * 2 + 0);
    assert.equal(
      ovsIpfixTemplateId({ l2: 'vlan', l3: 'ipv6', l4: 'icmp', tunnel: true, direction: 'egress' }),
      375,
    );
    assert.equal(OVS_IPFIX_EXPORTER_STATS_TEMPLATE_ID, 462);
    // l4 alternatives only with a known l3: 2 * (1 + 2 * 5) * 2 * 2
    assert.equal(ovsIpfixAllTemplateKeys().length, 88);
  });

  it('lists the elements in OVS order, VMware tunnel elements with the enterprise bit', () => {
    const t = ovsIpfixTemplate(tunnelKey, true);
    const ids = t.fields.map((f) => f.id);
    assert.deepEqual(
      ids.slice(0, 14),
      [138, 61, 56, 80, 256, 240, 10, 368, 82, 83, 14, 369, 82, 83],
    );
    assert.deepEqual(ids.slice(14, 17), [58, 243, 244]);
    assert.ok(
      t.fields.some(
        (f) =>
          f.id === 892 && f.enterprise === IPFIX_ENTERPRISE_VMWARE && f.length === IPFIX_VARLEN,
      ),
    );
    assert.equal(t.fields.at(-1)?.id, IE.postMCastOctetTotalCount.id);
    // Expected bytes for one enterprise specifier: id | 0x8000, length, PEN.
    const b = encodeToBytes(encodeIpfixMessage, {
      exportTime: 0,
      sequenceNumber: 0,
      observationDomainId: 0,
      sets: [
        { kind: 'template', records: [{ templateId: 300, fields: [IE.tunnelKey, IE.vlanId] }] },
      ],
    });
    assert.equal(hex(b.subarray(16)), '00020014' + '012c0002' + '837cffff00001adc' + '003a0002');
  });

  it('packs template messages as OVS does: one more template once 1024 bytes are reached', () => {
    const msgs = ovsIpfixTemplateMessages(EXPORT, 9, 7, false);
    const sizes = msgs.map((m) => encodeToBytes(encodeIpfixMessage, m).length);
    const templates = msgs
      .slice(0, -1)
      .flatMap((m) => (m.sets[0].kind === 'template' ? m.sets[0].records : []));
    assert.equal(templates.length, 88);
    for (const s of sizes.slice(0, -2)) assert.ok(s >= 1024 && s < 1024 + 600, `size ${s}`);
    assert.ok(msgs.every((m) => m.sequenceNumber === 9));
    assert.equal(msgs.at(-1)?.sets[0].kind, 'options-template');
  });
});

describe('IPFIX against real decoders', () => {
  const templates = ovsIpfixTemplateMessages(EXPORT, 0, 7, false).map((m) =>
    encodeToBytes(encodeIpfixMessage, m),
  );
  const data = encodeToBytes(encodeIpfixMessage, dataMessage(0, [tcpRecord()]));
  const stats = encodeToBytes(encodeIpfixMessage, {
    exportTime: EXPORT,
    sequenceNumber: 1,
    observationDomainId: 0,
    sets: [
      {
        kind: 'data',
        setId: 462,
        fields: [IE.exportingProcessId, IE.notSentPacketTotalCount],
        records: [[1, 3n]],
      },
    ],
  });

  it('tshark reads all OVS templates and decodes a data record with them', () => {
    const frames = [...templates, data].map((m) => udpFrame(m, 4739));
    // OVS's largest templates have 61 fields; tshark's default limit is 60.
    const pkts = tsharkFields(
      frames,
      [
        'cflow.version',
        'cflow.od_id',
        'cflow.template_id',
        'cflow.srcaddr',
        'cflow.dstaddr',
        'cflow.srcport',
        'cflow.dstport',
        'cflow.packets',
        'cflow.octets',
        'cflow.srcmac',
        'cflow.flow_end_reason',
        'cflow.observation_point_id',
        'cflow.if_name',
        'cflow.abstimestart',
      ],
      ['-o', 'cflow.max_template_fields:100'],
    );
    assert.equal(pkts.length, templates.length + 1);
    for (const p of pkts) assert.deepEqual(problems(p), []);
    const ids = pkts.slice(0, -2).flatMap((p) => all(p, 'cflow.template_id').map(Number));
    assert.equal(ids.length, 88);
    assert.deepEqual(all(pkts[pkts.length - 2], 'cflow.template_id'), ['462']);
    const d = pkts[pkts.length - 1];
    assert.equal(one(d, 'cflow.version'), '10');
    assert.equal(one(d, 'cflow.od_id'), '7');
    assert.equal(one(d, 'cflow.srcaddr'), '198.18.0.1');
    assert.equal(one(d, 'cflow.dstaddr'), '198.18.0.2');
    assert.equal(one(d, 'cflow.srcport'), '1234');
    assert.equal(one(d, 'cflow.dstport'), '80');
    assert.equal(one(d, 'cflow.packets'), '10');
    assert.equal(one(d, 'cflow.octets'), '1500');
    assert.equal(one(d, 'cflow.srcmac'), '02:00:00:00:00:01');
    assert.equal(one(d, 'cflow.flow_end_reason'), '2');
    assert.equal(one(d, 'cflow.observation_point_id'), '5');
    assert.equal(one(d, 'cflow.if_name'), 'p1');
    // start delta 2 s before the export time
    assert.match(one(d, 'cflow.abstimestart'), /22:13:18\.0+ UTC/);
  });

  it('nfcapd learns the templates and stores the flow; nfdump reports its totals', async () => {
    const run = await throughNfcapd([...templates, data, stats]);
    assert.match(run.log, /Flows: 1, Packets: 10, Bytes: 1500, Sequence Errors: 0, Bad Packets: 0/);
    assert.equal(run.flows.length, 1);
    const f = run.flows[0];
    assert.equal(f.sa, '198.18.0.1');
    assert.equal(f.da, '198.18.0.2');
    assert.equal(f.sp, '1234');
    assert.equal(f.dp, '80');
    assert.equal(f.pr, 'TCP');
    assert.equal(f.ipkt, '10');
    assert.equal(f.ibyt, '1500');
    assert.equal(f.in, '1');
  });
});

describe('IPFIX decoding', () => {
  it('decodes data sets against templates learned from earlier messages', () => {
    const cache = new IpfixTemplateCache();
    for (const m of ovsIpfixTemplateMessages(EXPORT, 0, 7, false)) {
      assert.ok(
        !(decodeIpfixMessage(encodeToBytes(encodeIpfixMessage, m), cache) instanceof DecodeError),
      );
    }
    const m = dataMessage(3, [tcpRecord(), tcpRecord()]);
    assert.deepEqual(decodeIpfixMessage(encodeToBytes(encodeIpfixMessage, m), cache), m);
    // Without the templates the data set stays raw bytes.
    const raw = decodeIpfixMessage(encodeToBytes(encodeIpfixMessage, m));
    assert.ok(!(raw instanceof DecodeError));
    assert.equal(raw.sets[0].kind, 'raw');
  });

  it('encodes long variable-length values with the three-byte length form', () => {
    const fields: IpfixFieldSpec[] = [IE.interfaceName];
    const long = new Uint8Array(300).fill(0x61);
    const m: IpfixMessage = {
      exportTime: 1,
      sequenceNumber: 2,
      observationDomainId: 3,
      sets: [
        { kind: 'template', records: [{ templateId: 999, fields }] },
        { kind: 'data', setId: 999, fields, records: [[long], [new Uint8Array(2)]] },
      ],
    };
    const b = encodeToBytes(encodeIpfixMessage, m);
    assert.equal(hex(b.subarray(32, 35)), 'ff012c');
    assert.deepEqual(decodeIpfixMessage(b), m);
  });

  it('reports malformed messages with offsets', () => {
    const good = encodeToBytes(encodeIpfixMessage, dataMessage(0, [tcpRecord()]));
    const v9 = good.slice();
    v9[1] = 9;
    const e1 = decodeIpfixMessage(v9);
    assert.ok(e1 instanceof DecodeError && e1.offset === 0);
    const e2 = decodeIpfixMessage(good.subarray(0, good.length - 3));
    assert.ok(e2 instanceof DecodeError && e2.offset === 2);
    const badSet = good.slice();
    badSet[18] = 0;
    badSet[19] = 2; // set length 2 < 4
    const e3 = decodeIpfixMessage(badSet);
    assert.ok(e3 instanceof DecodeError && e3.offset === 18);
  });

  it('decode(encode(x)) == x for random templates and records', () => {
    const field: fc.Arbitrary<IpfixFieldSpec> = fc.record({
      id: fc.integer({ min: 1, max: 0x7fff }),
      length: fc.constantFrom(1, 2, 4, 8, 6, 16, 3, IPFIX_VARLEN),
      enterprise: fc.oneof(
        fc.constant(0),
        u32.filter((x) => x !== 0),
      ),
    });
    const valueFor = (f: IpfixFieldSpec): fc.Arbitrary<IpfixValue> =>
      f.length === IPFIX_VARLEN
        ? bytes(0, 300)
        : f.length === 1
          ? u8
          : f.length === 2
            ? u16
            : f.length === 4
              ? u32
              : f.length === 8
                ? u64
                : bytes(f.length, f.length);
    const msg = fc
      .tuple(
        fc.array(field, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 256, max: 30000 }),
        fc.integer({ min: 30001, max: 0xffff }),
        u32,
        u32,
        u32,
      )
      .chain(([fields, id, optionsId, t, s, d]) =>
        fc.array(fc.tuple(...fields.map(valueFor)), { maxLength: 3 }).map(
          (records): IpfixMessage => ({
            exportTime: t,
            sequenceNumber: s,
            observationDomainId: d,
            sets: [
              { kind: 'template', records: [{ templateId: id, fields }] },
              {
                kind: 'options-template',
                records: [{ templateId: optionsId, scopeFieldCount: 1, fields }],
              },
              { kind: 'data', setId: id, fields, records },
            ],
          }),
        ),
      );
    fc.assert(
      fc.property(msg, (m) => {
        const b = encodeToBytes(encodeIpfixMessage, m);
        assert.deepEqual(decodeIpfixMessage(b), structuredClone(m));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(bytes(0, 100), (b) => void decodeIpfixMessage(b)),
      { numRuns: 300 },
    );
  });
});
