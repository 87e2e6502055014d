/*
 * The message fixtures: one table drives decode, encode, round-trip and streaming tests
 * (codec.test.ts) and the check against real ovs-ofctl's decoder (`ovs-ofctl ofp-print HEX`
 * must print `text`). Hex marked "captured" was recorded from real ovs-ofctl 3.1 talking to a
 * passive peer (see ovs-ofctl-capture.test.ts); the rest was checked with ovs-ofctl 3.1
 * ofp-print, whose output is the `text` column.
 */

import { type Match, matchSet, newMatch } from '../../lib/flow/match.ts';
import { type FlowMod, noFlowModFlags, type OfpFrame, type PortDesc } from './messages.ts';

export interface Fixture {
  name: string;
  frame: OfpFrame;
  /** Expected bytes, hex (empty in the generator's first run). */
  hex: string;
  /** The first lines of `ovs-ofctl ofp-print HEX` (real OVS 3.1). */
  text: string;
}

function hexBytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function m(fields: Array<[string, number, number?]>): Match {
  const r = newMatch();
  for (const [n, v, mask] of fields) matchSet(r, n, v, mask);
  return r;
}

const port1: PortDesc = {
  portNo: 1,
  hwAddr: [0x0200, 0x00000001],
  name: 'p1',
  config: 0,
  state: 0,
  curr: 0x820,
  advertised: 0,
  supported: 0,
  peer: 0,
  currSpeed: 10000000,
  maxSpeed: 0,
};

function fm(over: Partial<FlowMod>): FlowMod {
  return {
    command: 'add',
    match: newMatch(),
    priority: 0x8000,
    newCookie: 0n,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: 0xffffffff,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    flags: noFlowModFlags(),
    importance: 0,
    ofpacts: [],
    ...over,
  };
}

export const FIXTURES: Fixture[] = [
  {
    name: 'OF1.0 hello (captured)',
    frame: { version: 1, xid: 1, msg: { type: 'hello', versions: [1] } },
    hex: '0100000800000001',
    text: 'OFPT_HELLO (xid=0x1):\n version bitmap: 0x01',
  },
  {
    name: 'OF1.3 hello with version bitmap (captured)',
    frame: { version: 4, xid: 1, msg: { type: 'hello', versions: [4] } },
    hex: '04000010000000010001000800000010',
    text: 'OFPT_HELLO (OF1.3) (xid=0x1):\n version bitmap: 0x04',
  },
  {
    name: 'OF1.5 hello offering 1.0, 1.3 and 1.5',
    frame: { version: 6, xid: 7, msg: { type: 'hello', versions: [1, 4, 6] } },
    hex: '06000010000000070001000800000052',
    text: 'OFPT_HELLO (OF1.5) (xid=0x7):\n version bitmap: 0x01, 0x04, 0x06',
  },
  {
    name: 'OF1.0 error OFPBRC_BAD_TYPE with data',
    frame: {
      version: 1,
      xid: 5,
      msg: {
        type: 'error',
        error: {
          name: 'OFPBRC_BAD_TYPE',
          type: 1,
          code: 1,
          vendor: 0,
          data: new Uint8Array([1, 0x63, 0, 8, 0, 0, 0, 5]),
        },
      },
    },
    hex: '0101001400000005000100010163000800000005',
    text: 'OFPT_ERROR (xid=0x5): OFPBRC_BAD_TYPE\n***decode error: OFPBRC_BAD_TYPE***\n00000000  01 63 00 08 00 00 00 05-                        |.c......        |',
  },
  {
    name: 'OF1.3 error OFPBMC_BAD_PREREQ',
    frame: {
      version: 4,
      xid: 9,
      msg: {
        type: 'error',
        error: { name: 'OFPBMC_BAD_PREREQ', type: 4, code: 9, vendor: 0, data: new Uint8Array(0) },
      },
    },
    hex: '0401000c0000000900040009',
    text: 'OFPT_ERROR (OF1.3) (xid=0x9): OFPBMC_BAD_PREREQ\nOpenFlow message is empty',
  },
  {
    name: 'OF1.0 Nicira vendor error NXBRC_NXM_INVALID',
    frame: {
      version: 1,
      xid: 3,
      msg: {
        type: 'error',
        error: {
          name: 'NXBRC_NXM_INVALID',
          type: 1,
          code: 256,
          vendor: 0x2320,
          data: new Uint8Array(0),
        },
      },
    },
    hex: '0101001400000003b0c200000000232000010100',
    text: 'OFPT_ERROR (xid=0x3): NXBRC_NXM_INVALID\nOpenFlow message is empty',
  },
  {
    name: 'OF1.3 Nicira experimenter error NXBRC_NXM_INVALID',
    frame: {
      version: 4,
      xid: 3,
      msg: {
        type: 'error',
        error: {
          name: 'NXBRC_NXM_INVALID',
          type: 2,
          code: 0,
          vendor: 0x2320,
          data: new Uint8Array(0),
        },
      },
    },
    hex: '0401001000000003ffff000200002320',
    text: 'OFPT_ERROR (OF1.3) (xid=0x3): NXBRC_NXM_INVALID\nOpenFlow message is empty',
  },
  {
    name: 'OF1.3 echo request with payload',
    frame: {
      version: 4,
      xid: 0x11,
      msg: { type: 'echo_request', data: new Uint8Array([1, 2, 3]) },
    },
    hex: '0402000b00000011010203',
    text: 'OFPT_ECHO_REQUEST (OF1.3) (xid=0x11): 3 bytes of payload\n00000000  01 02 03                                        |...             |',
  },
  {
    name: 'OF1.0 echo reply',
    frame: { version: 1, xid: 0x12, msg: { type: 'echo_reply', data: new Uint8Array(0) } },
    hex: '0103000800000012',
    text: 'OFPT_ECHO_REPLY (xid=0x12): 0 bytes of payload',
  },
  {
    name: 'OF1.0 features request (captured)',
    frame: { version: 1, xid: 4, msg: { type: 'features_request' } },
    hex: '0105000800000004',
    text: 'OFPT_FEATURES_REQUEST (xid=0x4):',
  },
  {
    name: 'OF1.0 features reply with one port',
    frame: {
      version: 1,
      xid: 4,
      msg: {
        type: 'features_reply',
        datapathId: 0x123n,
        nBuffers: 0,
        nTables: 254,
        auxiliaryId: 0,
        capabilities: 0xc7,
        actions: 0xfff,
        ports: [{ ...port1, currSpeed: 0 }],
      },
    },
    hex: '0106005000000004000000000000012300000000fe000000000000c700000fff000102000000000170310000000000000000000000000000000000000000000000000820000000000000000000000000',
    text: 'OFPT_FEATURES_REPLY (xid=0x4): dpid:0000000000000123\nn_tables:254, n_buffers:0\ncapabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP\nactions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst\n 1(p1): addr:02:00:00:00:00:01\n     config:     0\n     state:      0\n     current:    1GB-FD AUTO_PAUSE_ASYM\n     speed: 1000 Mbps now, 0 Mbps max',
  },
  {
    name: 'OF1.3 features reply',
    frame: {
      version: 4,
      xid: 4,
      msg: {
        type: 'features_reply',
        datapathId: 0xfedcba9876543210n,
        nBuffers: 0,
        nTables: 254,
        auxiliaryId: 0,
        capabilities: 0x4f,
        actions: 0,
        ports: [],
      },
    },
    hex: '0406002000000004fedcba987654321000000000fe0000000000004f00000000',
    text: 'OFPT_FEATURES_REPLY (OF1.3) (xid=0x4): dpid:fedcba9876543210\nn_tables:254, n_buffers:0\ncapabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS',
  },
  {
    name: 'OF1.3 get config reply',
    frame: { version: 4, xid: 2, msg: { type: 'get_config_reply', flags: 0, missSendLen: 128 } },
    hex: '0408000c0000000200000080',
    text: 'OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x2): frags=normal miss_send_len=128',
  },
  {
    name: 'OF1.0 set config',
    frame: { version: 1, xid: 2, msg: { type: 'set_config', flags: 1, missSendLen: 0xffff } },
    hex: '0109000c000000020001ffff',
    text: 'OFPT_SET_CONFIG (xid=0x2): frags=drop miss_send_len=65535',
  },
  {
    name: 'OF1.0 barrier request (captured)',
    frame: { version: 1, xid: 7, msg: { type: 'barrier_request' } },
    hex: '0112000800000007',
    text: 'OFPT_BARRIER_REQUEST (xid=0x7):',
  },
  {
    name: 'OF1.3 barrier reply',
    frame: { version: 4, xid: 7, msg: { type: 'barrier_reply' } },
    hex: '0415000800000007',
    text: 'OFPT_BARRIER_REPLY (OF1.3) (xid=0x7):',
  },
  {
    name: 'OF1.3 role request master',
    frame: {
      version: 4,
      xid: 8,
      msg: { type: 'role_request', format: 'standard', role: 'master', generationId: 12n },
    },
    hex: '04180018000000080000000200000000000000000000000c',
    text: 'OFPT_ROLE_REQUEST (OF1.3) (xid=0x8): role=primary generation_id=12',
  },
  {
    name: 'OF1.0 NXT role reply slave',
    frame: {
      version: 1,
      xid: 8,
      msg: { type: 'role_reply', format: 'nxt', role: 'slave', generationId: 0n },
    },
    hex: '0104001400000008000023200000000b00000002',
    text: 'NXT_ROLE_REPLY (xid=0x8): role=secondary',
  },
  {
    name: 'OF1.0 port status add',
    frame: {
      version: 1,
      xid: 0,
      msg: { type: 'port_status', reason: 'add', port: { ...port1, currSpeed: 0 } },
    },
    hex: '010c0040000000000000000000000000000102000000000170310000000000000000000000000000000000000000000000000820000000000000000000000000',
    text: 'OFPT_PORT_STATUS (xid=0x0): ADD: 1(p1): addr:02:00:00:00:00:01\n     config:     0\n     state:      0\n     current:    1GB-FD AUTO_PAUSE_ASYM\n     speed: 1000 Mbps now, 0 Mbps max',
  },
  {
    name: 'OF1.4 port status modify (properties)',
    frame: { version: 5, xid: 0, msg: { type: 'port_status', reason: 'modify', port: port1 } },
    hex: '050c0058000000000200000000000000000000010048000002000000000100007031000000000000000000000000000000000000000000000000002000000000000008200000000000000000000000000098968000000000',
    text: 'OFPT_PORT_STATUS (OF1.4) (xid=0x0): MOD: 1(p1): addr:02:00:00:00:00:01\n     config:     0\n     state:      0\n     current:    1GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max',
  },
  {
    name: 'OF1.3 port mod',
    frame: {
      version: 4,
      xid: 3,
      msg: { type: 'port_mod', portNo: 1, hwAddr: [0x0200, 1], config: 1, mask: 1, advertise: 0 },
    },
    hex: '04100028000000030000000100000000020000000001000000000001000000010000000000000000',
    text: 'OFPT_PORT_MOD (OF1.3) (xid=0x3): port: 1: addr:02:00:00:00:00:01\n     config: PORT_DOWN\n     mask:   PORT_DOWN\n     advertise: UNCHANGED',
  },
  {
    name: 'OF1.0 packet in',
    frame: {
      version: 1,
      xid: 0,
      msg: {
        type: 'packet_in',
        format: 'standard',
        bufferId: 0xffffffff,
        totalLen: 14,
        reason: 'no_match',
        tableId: 0,
        cookie: 0xffffffffffffffffn,
        metadata: m([['in_port', 1]]),
        data: new Uint8Array([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x88, 0xb5]),
      },
    },
    hex: '010a002000000000ffffffff000e000100000102030405060a0b0c0d0e0f88b5',
    text: 'OFPT_PACKET_IN (xid=0x0): total_len=14 in_port=1 (via no_match) data_len=14 (unbuffered)\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=01:02:03:04:05:06,dl_type=0x88b5',
  },
  {
    name: 'OF1.3 packet in with metadata',
    frame: {
      version: 4,
      xid: 0,
      msg: {
        type: 'packet_in',
        format: 'standard',
        bufferId: 0xffffffff,
        totalLen: 14,
        reason: 'action',
        tableId: 3,
        cookie: 0x5n,
        metadata: m([
          ['in_port', 2],
          ['reg1', 7],
        ]),
        data: new Uint8Array([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x88, 0xb5]),
      },
    },
    hex: '040a004000000000ffffffff000e0103000000000000000500010014800000040000000200010204000000070000000000000102030405060a0b0c0d0e0f88b5',
    text: 'OFPT_PACKET_IN (OF1.3) (xid=0x0): table_id=3 cookie=0x5 total_len=14 reg1=0x7,in_port=2 (via action) data_len=14 (unbuffered)\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=01:02:03:04:05:06,dl_type=0x88b5',
  },
  {
    name: 'NXT_PACKET_IN2 with userdata',
    frame: {
      version: 1,
      xid: 0,
      msg: {
        type: 'packet_in',
        format: 'nxt_packet_in2',
        bufferId: 0xffffffff,
        totalLen: 14,
        reason: 'action',
        tableId: 0,
        // No cookie property: sent by no rule (table and reason are always there, as OVS sends).
        cookie: 0xffffffffffffffffn,
        metadata: m([['in_port', 3]]),
        data: new Uint8Array([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x88, 0xb5]),
        userdata: new Uint8Array([0xaa, 0xbb]),
      },
    },
    hex: '0104005000000000000023200000001e000000120102030405060a0b0c0d0e0f88b5000000000000000300050000000000050005010000000006000a00000002000300000000000000070006aabb0000',
    text: 'NXT_PACKET_IN2 (xid=0x0): total_len=14 in_port=3 (via action) data_len=14 (unbuffered)\n userdata=aa.bb\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=01:02:03:04:05:06,dl_type=0x88b5',
  },
  {
    name: 'OF1.0 packet out',
    frame: {
      version: 1,
      xid: 2,
      msg: {
        type: 'packet_out',
        bufferId: 0xffffffff,
        inPort: 0xfffd,
        ofpacts: [{ type: 'output', port: 1, maxLen: 0 }],
        data: new Uint8Array([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x88, 0xb5]),
      },
    },
    hex: '010d002600000002fffffffffffd000800000008000100000102030405060a0b0c0d0e0f88b5',
    text: 'OFPT_PACKET_OUT (xid=0x2): in_port=CONTROLLER actions=output:1 data_len=14\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=01:02:03:04:05:06,dl_type=0x88b5',
  },
  {
    name: 'OF1.3 packet out',
    frame: {
      version: 4,
      xid: 2,
      msg: {
        type: 'packet_out',
        bufferId: 0xffffffff,
        inPort: 0xfffe,
        ofpacts: [{ type: 'output', port: 0xfffb, maxLen: 0 }],
        data: new Uint8Array([1, 2, 3, 4, 5, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x88, 0xb5]),
      },
    },
    hex: '040d003600000002fffffffffffffffe001000000000000000000010fffffffb00000000000000000102030405060a0b0c0d0e0f88b5',
    text: 'OFPT_PACKET_OUT (OF1.3) (xid=0x2): in_port=LOCAL actions=FLOOD data_len=14\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=01:02:03:04:05:06,dl_type=0x88b5',
  },
  {
    name: 'OF1.0 flow removed',
    frame: {
      version: 1,
      xid: 0,
      msg: {
        type: 'flow_removed',
        format: 'standard',
        match: m([['in_port', 1]]),
        cookie: 0x10n,
        priority: 100,
        reason: 'idle',
        tableId: 255, // OpenFlow 1.0 carries no table (OVS reads 255)
        durationSec: 5,
        durationNsec: 500000000,
        idleTimeout: 5,
        hardTimeout: 0,
        packetCount: 3n,
        byteCount: 180n,
      },
    },
    hex: '010b005800000000003820fe000100000000000000000000000000000000000000000000000000000000000000000000000000000000001000640000000000051dcd650000050000000000000000000300000000000000b4',
    text: 'OFPT_FLOW_REMOVED (xid=0x0): priority=100,in_port=1 reason=idle cookie:0x10 duration5.500s idle5 pkts3 bytes180',
  },
  {
    name: 'OF1.3 flow removed',
    frame: {
      version: 4,
      xid: 0,
      msg: {
        type: 'flow_removed',
        format: 'standard',
        match: m([
          ['eth_type', 0x800],
          ['ip_src', 0x0a000001],
        ]),
        cookie: 0x10n,
        priority: 100,
        reason: 'delete',
        tableId: 2,
        durationSec: 1,
        durationNsec: 0,
        idleTimeout: 0,
        hardTimeout: 10,
        packetCount: 0n,
        byteCount: 0n,
      },
    },
    hex: '040b00480000000000000000000000100064020200000001000000000000000a000000000000000000000000000000000001001280000a020800800016040a000001000000000000',
    text: 'OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=100,ip,nw_src=10.0.0.1 reason=delete table_id=2 cookie:0x10 duration1s idle0 hard10 pkts0 bytes0',
  },
  {
    name: 'NXT flow removed with register match',
    frame: {
      version: 1,
      xid: 0,
      msg: {
        type: 'flow_removed',
        format: 'nxt',
        match: m([['reg0', 5]]),
        cookie: 0n,
        priority: 0x8000,
        reason: 'hard',
        tableId: 0, // on the wire as 1: Nicira's table_id is the table plus one
        durationSec: 2,
        durationNsec: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        packetCount: 1n,
        byteCount: 60n,
      },
    },
    hex: '0104004000000000000023200000000e0000000000000000800001010000000200000000000000080000000000000001000000000000003c0001000400000005',
    text: 'NXT_FLOW_REMOVED (xid=0x0): reg0=0x5 reason=hard table_id=0 duration2s idle0 pkts1 bytes60',
  },
  {
    name: 'OF1.0 flow mod add (captured from ovs-ofctl add-flow)',
    frame: {
      version: 1,
      xid: 6,
      msg: {
        type: 'flow_mod',
        format: 'standard',
        ...fm({
          match: m([
            ['eth_type', 0x800],
            ['ip_src', 0x0a000000, 0xff000000],
          ]),
          priority: 100,
          tableId: 255,
          ofpacts: [
            { type: 'set_vlan_vid', vid: 5, pushIfNeeded: true },
            { type: 'output', port: 2, maxLen: 0 },
          ],
        }),
      },
    },
    hex: '010e005800000006003818ef0000000000000000000000000000000000000800000000000a000000000000000000000000000000000000000000000000000064ffffffffffff000000010008000500000000000800020000',
    text: 'OFPT_FLOW_MOD (xid=0x6): ADD priority=100,ip,nw_src=10.0.0.0/8 actions=mod_vlan_vid:5,output:2',
  },
  {
    name: 'OF1.3 flow mod delete strict with cookie mask and out_port',
    frame: {
      version: 4,
      xid: 6,
      msg: {
        type: 'flow_mod',
        format: 'standard',
        ...fm({
          command: 'delete_strict',
          match: m([
            ['eth_type', 0x800],
            ['nw_proto', 6],
            ['tcp_dst', 80],
          ]),
          newCookie: 0xffffffffffffffffn,
          cookie: 0x10n,
          cookieMask: 0xf0n,
          tableId: 3,
          outPort: 2,
        }),
      },
    },
    hex: '040e004800000006000000000000001000000000000000f00304000000008000ffffffff00000002ffffffff000000000001001580000a020800800014010680001c020050000000',
    text: 'OFPT_FLOW_MOD (OF1.3) (xid=0x6): DEL_STRICT table:3 tcp,tp_dst=80 cookie:0x10/0xf0 out_port:2 actions=drop',
  },
  {
    name: 'OF1.4 flow mod with importance, flags and instructions',
    frame: {
      version: 5,
      xid: 6,
      msg: {
        type: 'flow_mod',
        format: 'standard',
        ...fm({
          match: m([['in_port', 1]]),
          tableId: 1,
          idleTimeout: 10,
          hardTimeout: 20,
          importance: 7,
          newCookie: 0xabn,
          flags: { ...noFlowModFlags(), sendFlowRem: true, noPacketCounts: true },
          ofpacts: [
            { type: 'output', port: 2, maxLen: 0 },
            { type: 'write_metadata', metadata: 1n, mask: 0xffn },
            { type: 'goto_table', tableId: 5 },
          ],
        }),
      },
    },
    hex: '050e00780000000600000000000000ab00000000000000000100000a00148000ffffffffffffffffffffffff000900070001000c8000000400000001000000000004001800000000000000100000000200000000000000000002001800000000000000000000000100000000000000ff0001000805000000',
    text: 'OFPT_FLOW_MOD (OF1.4) (xid=0x6): ADD table:1 in_port=1 cookie:0xab idle:10 hard:20 importance:7 send_flow_rem no_packet_counts actions=output:2,write_metadata:0x1/0xff,goto_table:5',
  },
  {
    name: 'NXT_FLOW_MOD with register match and table id',
    frame: {
      version: 1,
      xid: 6,
      msg: {
        type: 'flow_mod',
        format: 'nxt',
        ...fm({
          match: m([
            ['reg0', 1],
            ['eth_type', 0x86dd],
          ]),
          tableId: 2,
          ofpacts: [{ type: 'resubmit', port: 0xfff8, tableId: 3, withCt: false }],
        }),
      },
    },
    hex: '0104005000000006000023200000000d00000000000000000200000000008000ffffffffffff0000000e0000000000000000060286dd00010004000000010000ffff001000002320000efff803000000',
    text: 'NXT_FLOW_MOD (xid=0x6): ADD table:2 ipv6,reg0=0x1 actions=resubmit(,3)',
  },
  {
    name: 'NXT_FLOW_MOD_TABLE_ID',
    frame: { version: 1, xid: 1, msg: { type: 'nxt_flow_mod_table_id', enable: true } },
    hex: '0104001800000001000023200000000f0100000000000000',
    text: 'NXT_FLOW_MOD_TABLE_ID (xid=0x1): enable',
  },
  {
    name: 'NXT_SET_FLOW_FORMAT nxm',
    frame: { version: 1, xid: 1, msg: { type: 'nxt_set_flow_format', format: 'nxm' } },
    hex: '0104001400000001000023200000000c00000002',
    text: 'NXT_SET_FLOW_FORMAT (xid=0x1): format=nxm',
  },
  {
    name: 'NXT_SET_PACKET_IN_FORMAT nxt_packet_in2',
    frame: {
      version: 1,
      xid: 1,
      msg: { type: 'nxt_set_packet_in_format', format: 'nxt_packet_in2' },
    },
    hex: '0104001400000001000023200000001000000002',
    text: 'NXT_SET_PACKET_IN_FORMAT (xid=0x1): format=nxt_packet_in2',
  },
  {
    name: 'OF1.0 desc stats request',
    frame: {
      version: 1,
      xid: 1,
      msg: { type: 'stats_request', format: 'standard', flags: 0, body: { stat: 'desc' } },
    },
    hex: '0110000c0000000100000000',
    text: 'OFPST_DESC request (xid=0x1):',
  },
  {
    name: 'OF1.3 desc reply',
    frame: {
      version: 4,
      xid: 1,
      msg: {
        type: 'stats_reply',
        format: 'standard',
        flags: 0,
        body: {
          stat: 'desc',
          mfrDesc: 'TypeSwitch',
          hwDesc: 'TypeSwitch',
          swDesc: '3.1.0',
          serialNum: 'None',
          dpDesc: 'br0',
        },
      },
    },
    hex: '041304300000000100000000000000005479706553776974636800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000054797065537769746368000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000332e312e3000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004e6f6e650000000000000000000000000000000000000000000000000000000062723000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
    text: 'OFPST_DESC reply (OF1.3) (xid=0x1):\nManufacturer: TypeSwitch\nHardware: TypeSwitch\nSoftware: 3.1.0\nSerial Num: None\nDP Description: br0',
  },
  {
    name: 'OF1.3 flow stats request table 0',
    frame: {
      version: 4,
      xid: 2,
      msg: {
        type: 'stats_request',
        format: 'standard',
        flags: 0,
        body: {
          stat: 'flow',
          aggregate: false,
          match: newMatch(),
          tableId: 0,
          outPort: 0xffff,
          outGroup: 0xffffffff,
          cookie: 0n,
          cookieMask: 0n,
        },
      },
    },
    hex: '0412003800000002000100000000000000000000ffffffffffffffff00000000000000000000000000000000000000000001000400000000',
    text: 'OFPST_FLOW request (OF1.3) (xid=0x2): table=0',
  },
  {
    name: 'NXST_AGGREGATE request',
    frame: {
      version: 1,
      xid: 2,
      msg: {
        type: 'stats_request',
        format: 'nxt',
        flags: 0,
        body: {
          stat: 'flow',
          aggregate: true,
          match: m([['reg3', 1]]),
          tableId: 255,
          outPort: 0xffff,
          outGroup: 0xffffffff,
          cookie: 0n,
          cookieMask: 0n,
        },
      },
    },
    hex: '0110002800000002ffff0000000023200000000100000000ffff0008ff0000000001060400000001',
    text: 'NXST_AGGREGATE request (xid=0x2): reg3=0x1',
  },
  {
    name: 'OF1.3 aggregate reply',
    frame: {
      version: 4,
      xid: 2,
      msg: {
        type: 'stats_reply',
        format: 'standard',
        flags: 0,
        body: { stat: 'aggregate', packetCount: 10n, byteCount: 600n, flowCount: 2 },
      },
    },
    hex: '04130028000000020002000000000000000000000000000a00000000000002580000000200000000',
    text: 'OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count=10 byte_count=600 flow_count=2',
  },
  {
    name: 'OF1.3 flow stats reply',
    frame: {
      version: 4,
      xid: 2,
      msg: {
        type: 'stats_reply',
        format: 'standard',
        flags: 0,
        body: {
          stat: 'flow',
          flows: [
            {
              match: m([['eth_type', 0x800]]),
              priority: 100,
              tableId: 0,
              durationSec: 3,
              durationNsec: 250000000,
              idleTimeout: 0,
              hardTimeout: 0,
              idleAge: -1,
              hardAge: -1,
              cookie: 0n,
              packetCount: 4n,
              byteCount: 240n,
              flags: noFlowModFlags(),
              importance: 0,
              ofpacts: [{ type: 'output', port: 0xfffa, maxLen: 0 }],
            },
          ],
        },
      },
    },
    hex: '0413006800000002000100000000000000580000000000030ee6b2800064000000000000000000000000000000000000000000000000000400000000000000f00001000a80000a020800000000000000000400180000000000000010fffffffa0000000000000000',
    text: 'OFPST_FLOW reply (OF1.3) (xid=0x2):\n cookie=0x0, duration=3.250s, table=0, n_packets=4, n_bytes=240, priority=100,ip actions=NORMAL',
  },
  {
    name: 'OF1.3 port desc request',
    frame: {
      version: 4,
      xid: 3,
      msg: {
        type: 'stats_request',
        format: 'standard',
        flags: 0,
        body: { stat: 'port_desc', portNo: 0xffff },
      },
    },
    hex: '0412001000000003000d000000000000',
    text: 'OFPST_PORT_DESC request (OF1.3) (xid=0x3): port=ANY',
  },
  {
    name: 'OF1.3 port desc reply',
    frame: {
      version: 4,
      xid: 3,
      msg: {
        type: 'stats_reply',
        format: 'standard',
        flags: 0,
        body: { stat: 'port_desc', ports: [port1] },
      },
    },
    hex: '0413005000000003000d00000000000000000001000000000200000000010000703100000000000000000000000000000000000000000000000008200000000000000000000000000098968000000000',
    text: 'OFPST_PORT_DESC reply (OF1.3) (xid=0x3):\n 1(p1): addr:02:00:00:00:00:01\n     config:     0\n     state:      0\n     current:    1GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max',
  },
  {
    name: 'OF1.3 table mod',
    frame: { version: 4, xid: 1, msg: { type: 'table_mod', tableId: 1, config: 0 } },
    hex: '04110010000000010100000000000000',
    text: 'OFPT_TABLE_MOD (OF1.3) (xid=0x1): table_id=1',
  },
  {
    name: 'OF1.4 bundle control open',
    frame: {
      version: 5,
      xid: 1,
      msg: {
        type: 'bundle_control',
        bundleId: 1,
        ctrlType: 0,
        flags: 1,
        properties: new Uint8Array(0),
      },
    },
    hex: '05210010000000010000000100000001',
    text: 'OFPT_BUNDLE_CONTROL (OF1.4) (xid=0x1):\n bundle_id=0x1 type=OPEN_REQUEST flags=atomic',
  },
  {
    name: 'OF1.3 ONF bundle add carrying a flow mod',
    frame: {
      version: 4,
      xid: 2,
      msg: {
        type: 'bundle_add',
        bundleId: 1,
        flags: 1,
        message: hexBytes(
          '040e003800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000400000000',
        ),
      },
    },
    hex: '04040050000000024f4e4600000008fd0000000100000001040e003800000002000000000000000000000000000000000000000000008000ffffffffffffffffffffffff000000000001000400000000',
    text: 'ONFT_BUNDLE_ADD_MESSAGE (OF1.3) (xid=0x2):\n bundle_id=0x1 flags=atomic\nOFPT_FLOW_MOD (OF1.3) (xid=0x2): ADD actions=drop',
  },
  {
    name: 'OF1.3 set async',
    frame: {
      version: 4,
      xid: 5,
      msg: {
        type: 'set_async',
        format: 'standard',
        config: {
          master: { packetIn: 3, portStatus: 7, flowRemoved: 15 },
          slave: { packetIn: 0, portStatus: 7, flowRemoved: 0 },
        },
      },
    },
    hex: '041c002000000005000000030000000000000007000000070000000f00000000',
    text: 'OFPT_SET_ASYNC (OF1.3) (xid=0x5):\n primary:\n       PACKET_IN: no_match action\n     PORT_STATUS: add delete modify\n    FLOW_REMOVED: idle hard delete group_delete\n     ROLE_STATUS: (off)\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)\n\n secondary:\n       PACKET_IN: (off)\n     PORT_STATUS: add delete modify\n    FLOW_REMOVED: (off)\n     ROLE_STATUS: (off)\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)',
  },
  {
    name: 'OF1.4 get async reply with properties',
    frame: {
      version: 5,
      xid: 5,
      msg: {
        type: 'get_async_reply',
        format: 'standard',
        config: { master: { packetIn: 3, roleStatus: 1 }, slave: { packetIn: 0 } },
      },
    },
    hex: '051b002000000005000000080000000000010008000000030007000800000001',
    text: 'OFPT_GET_ASYNC_REPLY (OF1.4) (xid=0x5):\n primary:\n       PACKET_IN: no_match action\n     PORT_STATUS: (off)\n    FLOW_REMOVED: (off)\n     ROLE_STATUS: primary_request\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)\n\n secondary:\n       PACKET_IN: (off)\n     PORT_STATUS: (off)\n    FLOW_REMOVED: (off)\n     ROLE_STATUS: (off)\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)',
  },
  {
    name: 'NXT_SET_ASYNC_CONFIG',
    frame: {
      version: 1,
      xid: 5,
      msg: {
        type: 'set_async',
        format: 'nxt',
        config: {
          master: { packetIn: 1, portStatus: 7, flowRemoved: 15 },
          slave: { packetIn: 0, portStatus: 0, flowRemoved: 0 },
        },
      },
    },
    hex: '01040028000000050000232000000013000000010000000000000007000000000000000f00000000',
    text: 'NXT_SET_ASYNC_CONFIG (xid=0x5):\n primary:\n       PACKET_IN: no_match\n     PORT_STATUS: add delete modify\n    FLOW_REMOVED: idle hard delete group_delete\n     ROLE_STATUS: (off)\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)\n\n secondary:\n       PACKET_IN: (off)\n     PORT_STATUS: (off)\n    FLOW_REMOVED: (off)\n     ROLE_STATUS: (off)\n    TABLE_STATUS: (off)\n  REQUESTFORWARD: (off)',
  },
  {
    name: 'OF1.3 get async request',
    frame: { version: 4, xid: 1, msg: { type: 'get_async_request' } },
    hex: '041a000800000001',
    text: 'OFPT_GET_ASYNC_REQUEST (OF1.3) (xid=0x1):',
  },
];
