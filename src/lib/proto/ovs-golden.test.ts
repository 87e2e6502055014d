/*
 * Frames captured from real Open vSwitch 3.1 (ovs-vswitchd --enable-dummy, dummy bridges,
 * netdev-dummy `options:tx_pcap`), each decoded, checked field by field, and re-encoded to
 * the same bytes. Setup: a bond with lacp=active and lacp-time=fast (LACP), a bridge with
 * stp_enable=true (STP), one with rstp_enable=true (RSTP), an interface with cfm_mpid=5
 * (CFM), and one with cfm_mpid=4294967299, cfm_extended=true, cfm_interval=500,
 * cfm_ccm_vlan=100, cfm_ccm_pcp=3 (extended CFM).
 *
 * The export datagrams were received on 127.0.0.1 from the same daemon with a bridge
 * (ports p1, p2; flow in_port=1,actions=output:2) configured with sFlow (agent=127.0.0.1,
 * header=128, sampling=1, polling=1), NetFlow (active_timeout=1, engine_type=7, engine_id=3,
 * add_id_to_interface=true) and IPFIX (obs_domain_id=7, obs_point_id=5, sampling=1,
 * cache_active_timeout=1), while TCP packets 198.18.0.1:1234 -> 198.18.0.2:80 were injected
 * with netdev-dummy/receive.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CCM_DST_MAC,
  CCM_DST_MAC_EXTENDED,
  decodeCcmFrame,
  encodeCcmFrame,
  ovsMaid,
} from './cfm.ts';
import { DecodeError, encodeToBytes, Writer } from './codec.ts';
import {
  decodeIpfixMessage,
  encodeIpfixMessage,
  IpfixTemplateCache,
  ovsIpfixExporterStatsMessage,
  ovsIpfixTemplate,
  ovsIpfixTemplateMessages,
} from './ipfix.ts';
import { decodeSlowProtocolsFrame, encodeSlowProtocolsFrame, LACP_STATE } from './lacp.ts';
import { decodeNetflowV5, encodeNetflowV5, netflowInterface } from './netflow.ts';
import { decodeSflowDatagram, encodeSflowDatagram } from './sflow.ts';
import {
  BPDU_FLAG,
  decodeStpFrame,
  encodeStpFrame,
  ROLE_SHIFT,
  RSTP_ROLE,
  splitBridgeId,
} from './stp.ts';
import { fromHex, hex } from './test-support.ts';

const LACP =
  '0180c2000002aa55aa550002880901010114fffe0200000000b00001ffff0001bf00000002140000000000000000000000000000020000000310000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000';
const STP =
  '0180c2000000aa55aa5500040026424203000000000080006a8b34f6f04d0000000080006a8b34f6f04d80010000140002000f00';
const RSTP =
  '0180c2000000aa55aa5500070027424203000002020e80008ef0651b454d0000000080008ef0651b454d80010000140002000f0000';
const CCM =
  '0180c2000030aa55aa55000a89020001044600000002000504036f767302036f767300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000';
const CCM_EXTENDED =
  '012320000030aa55aa55000981006064890200010046000000022e7804036f767302036f7673000000000000000000000000000000000000000000000000000000000000000000000000000001f4000000010000000300000000000000';

const SFLOW =
  '00000005000000017f0000010000000000000003000007d000000002000000010000008800000005020003e8000000010000000500000000000000008000000100000002000003e900000010000000000000000000000000000000000000000100000048000000010000003a0000000400000036020000000002020000000001080045000028000000004006eea8c6120001c612000204d200500000000000000000500200001e9900000000000000020000005c00000003020003e8000000020000089b00000028000000090000000900000000011990000000000000000000000000000000000000000000000000000000089f00000018000000040000000100000000ffffffff00000001ffffffff';
const NETFLOW =
  '00050001000007d26b059d0820c17bd50000000007030000c6120001c61200020000000006010602000000050000010e0000005e0000055004d20050000206000000000000000000';
const IPFIX_DATA =
  '000a01376b059d07000000020000000701180127000000050002000000000102000000000208000e000000000000000002703100044006000000c6120001c612000204d2005000057a5800057a580000000000000000000000000000000000000000000000010000000000000001000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000360000000000000036050000000000000000000000000000000000000000000000280000000000000028000000000000064000000000000006400000000000000028000000000000002800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000';
const IPFIX_OPTIONS_TEMPLATE =
  '000a00226b059d0700000001000000000003001201ce000200010090000400a70008';
const IPFIX_EXPORTER_STATS = '000a00206b059d07000000010000000001ce0010000000010000000000000000';
/** sha256 of OVS's 18 template messages (export time 0x6b059d07, sequence 1, domain 7), concatenated. */
const IPFIX_TEMPLATES_SHA256 = '9ad8de8dfd04bd5e08543a42b140e38ef5b4bc74365be27f88153d68f681d38e';
const IPFIX_TEMPLATE_SIZES = [
  1208, 1264, 1104, 1120, 1148, 1284, 1124, 1140, 1156, 1156, 1036, 1180, 1220, 1220, 1076, 1184,
  1200, 556,
];

function ok<T>(v: T | DecodeError): T {
  if (v instanceof DecodeError) throw v;
  return v;
}

describe('frames captured from real OVS 3.1', () => {
  it('LACP: decodes and re-encodes byte for byte', () => {
    const f = ok(decodeSlowProtocolsFrame(fromHex(LACP)));
    assert.equal(f.src, 'aa:55:aa:55:00:02');
    assert.ok(f.pdu.subtype === 'lacp');
    assert.deepEqual(f.pdu.actor, {
      systemPriority: 65534,
      systemId: '02:00:00:00:00:b0',
      key: 1,
      portPriority: 65535,
      portId: 1,
      state:
        LACP_STATE.activity |
        LACP_STATE.timeout |
        LACP_STATE.aggregation |
        LACP_STATE.synchronization |
        LACP_STATE.collecting |
        LACP_STATE.distributing |
        LACP_STATE.expired,
    });
    assert.equal(f.pdu.partner.systemId, '00:00:00:00:00:00');
    assert.equal(f.pdu.collectorMaxDelay, 0);
    const w = new Writer(200);
    encodeSlowProtocolsFrame(f.src, f.pdu, w);
    assert.equal(hex(w.bytes()), LACP);
  });

  it('STP: a 35-byte config BPDU from the root bridge', () => {
    const f = ok(decodeStpFrame(fromHex(STP)));
    assert.ok(f.bpdu.type === 'config');
    assert.equal(f.bpdu.rootId, f.bpdu.bridgeId);
    assert.equal(splitBridgeId(f.bpdu.rootId).priority, 0x8000);
    assert.equal(f.bpdu.portId, 0x8001);
    assert.deepEqual(
      [f.bpdu.messageAge, f.bpdu.maxAge, f.bpdu.helloTime, f.bpdu.forwardDelay],
      [0, 20 * 256, 2 * 256, 15 * 256],
    );
    const w = new Writer(100);
    encodeStpFrame(f.src, f.bpdu, w);
    assert.equal(hex(w.bytes()), STP);
  });

  it('RSTP: a 36-byte RST BPDU, designated role proposing', () => {
    const f = ok(decodeStpFrame(fromHex(RSTP)));
    assert.ok(f.bpdu.type === 'rst');
    assert.equal(f.bpdu.protocolVersion, 2);
    assert.equal(f.bpdu.flags, (RSTP_ROLE.designated << ROLE_SHIFT) | BPDU_FLAG.proposal);
    assert.equal(f.bpdu.version1Length, 0);
    const w = new Writer(100);
    encodeStpFrame(f.src, f.bpdu, w);
    assert.equal(hex(w.bytes()), RSTP);
  });

  it('CFM: a standard-mode CCM', () => {
    const f = ok(decodeCcmFrame(fromHex(CCM)));
    assert.equal(f.dst, CCM_DST_MAC);
    assert.equal(f.vlan, null);
    assert.deepEqual(
      { ...f.ccm, maid: hex(f.ccm.maid) },
      {
        mdLevel: 0,
        version: 0,
        rdi: false,
        interval: 4,
        reservedFlags: 0,
        sequence: 2,
        mepId: 5,
        maid: hex(ovsMaid()),
        intervalMsX: 0,
        mpid64: 0n,
        opdown: false,
        tlvs: [],
        endTlv: true,
      },
    );
    const w = new Writer(100);
    encodeCcmFrame(f, f.ccm, w);
    assert.equal(hex(w.bytes()), CCM);
  });

  it('CFM: an extended-mode CCM with a 500 ms interval, 64-bit MPID and a VLAN tag', () => {
    const f = ok(decodeCcmFrame(fromHex(CCM_EXTENDED)));
    assert.equal(f.dst, CCM_DST_MAC_EXTENDED);
    assert.deepEqual(f.vlan, { vid: 100, pcp: 3 });
    assert.equal(f.ccm.interval, 0);
    assert.equal(f.ccm.intervalMsX, 500);
    assert.equal(f.ccm.mpid64, 4294967299n);
    assert.equal(f.ccm.opdown, false);
    const w = new Writer(100);
    encodeCcmFrame(f, f.ccm, w);
    assert.equal(hex(w.bytes()), CCM_EXTENDED);
  });

  it('sFlow: a datagram with a flow sample and the global counters re-encodes byte for byte', () => {
    const d = ok(decodeSflowDatagram(fromHex(SFLOW)));
    assert.deepEqual(d.agentAddress, { type: 'ipv4', ipv4: 0x7f000001 });
    const [flow, global] = d.samples;
    assert.ok(flow.kind === 'flow' && global.kind === 'counters');
    assert.equal(flow.expanded, false);
    assert.equal(flow.samplingRate, 1);
    assert.deepEqual(
      flow.records.map((r) => r.type),
      ['switch', 'header'],
    );
    const h = flow.records[1];
    assert.ok(h.type === 'header');
    assert.equal(h.protocol, 1);
    assert.equal(h.stripped, 4);
    assert.equal(h.frameLength, h.header.length + 4);
    assert.equal(global.sourceIdType, 2);
    assert.deepEqual(
      global.records.map((r) => r.type),
      ['app-resources', 'ovs-dp'],
    );
    assert.equal(hex(encodeToBytes(encodeSflowDatagram, d)), SFLOW);
  });

  it('NetFlow: engine ids, add_id_to_interface and the record re-encode byte for byte', () => {
    const m = ok(decodeNetflowV5(fromHex(NETFLOW)));
    assert.equal(m.header.engineType, 7);
    assert.equal(m.header.engineId, 3);
    assert.equal(m.header.flowSequence, 0);
    const [r] = m.records;
    assert.equal(r.input, netflowInterface(1, 3, true));
    assert.equal(r.output, netflowInterface(2, 3, true));
    assert.deepEqual(
      [r.srcAddr, r.dstAddr, r.srcPort, r.dstPort, r.protocol],
      [0xc6120001, 0xc6120002, 1234, 80, 6],
    );
    assert.equal(r.packets, 5);
    assert.equal(hex(encodeToBytes(encodeNetflowV5, m)), NETFLOW);
  });

  it('IPFIX: our template messages are byte-identical to OVS 3.1', () => {
    const msgs = ovsIpfixTemplateMessages(0x6b059d07, 1, 7, false).map((m) =>
      encodeToBytes(encodeIpfixMessage, m),
    );
    assert.deepEqual(
      msgs.slice(0, -1).map((m) => m.length),
      IPFIX_TEMPLATE_SIZES,
    );
    const sha = createHash('sha256');
    for (const m of msgs.slice(0, -1)) sha.update(hex(m));
    assert.equal(sha.digest('hex'), IPFIX_TEMPLATES_SHA256);
    assert.equal(hex(msgs[msgs.length - 1]), IPFIX_OPTIONS_TEMPLATE);
    assert.equal(
      hex(encodeToBytes(encodeIpfixMessage, ovsIpfixExporterStatsMessage(0x6b059d07, 1, 1, 0n))),
      IPFIX_EXPORTER_STATS,
    );
  });

  it('IPFIX: a data record decodes with those templates and re-encodes byte for byte', () => {
    const cache = new IpfixTemplateCache();
    for (const m of ovsIpfixTemplateMessages(0x6b059d07, 1, 7, false))
      ok(decodeIpfixMessage(encodeToBytes(encodeIpfixMessage, m), cache));
    const m = ok(decodeIpfixMessage(fromHex(IPFIX_DATA), cache));
    assert.equal(m.observationDomainId, 7);
    assert.equal(m.sequenceNumber, 2);
    const [set] = m.sets;
    assert.ok(set.kind === 'data');
    const t = ovsIpfixTemplate(
      { l2: 'eth', l3: 'ipv4', l4: 'tcp', tunnel: false, direction: 'ingress' },
      false,
    );
    assert.equal(set.setId, t.templateId);
    const [rec] = set.records;
    const at = (id: number) => rec[t.fields.findIndex((f) => f.id === id)];
    assert.equal(at(138), 5); // observationPointId
    assert.equal(at(8), 0xc6120001);
    assert.equal(at(12), 0xc6120002);
    assert.equal(at(7), 1234);
    assert.equal(at(11), 80);
    assert.deepEqual(at(82), new TextEncoder().encode('p1'));
    assert.equal(hex(encodeToBytes(encodeIpfixMessage, m)), IPFIX_DATA);
  });
});
