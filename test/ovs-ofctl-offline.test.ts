/**
 * ovs-ofctl's offline commands (ofp-print, parse-flow, the match round-trip commands
 * parse-ofp10-match, parse-ofp11-match, parse-nxm, parse-oxm and check-vlan, learn's parse
 * errors): our output against what real ovs-ofctl 3.1 printed for the same input. Expected
 * stdout, stderr (log timestamps stripped) and exit status were captured from real ovs-ofctl
 * 3.1 (Debian's openvswitch-common) on this machine; where that tool is installed the test
 * also checks it still prints the same, so a stale golden cannot hide a change.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ourCli } from './ovs-vsctl-harness.ts';

interface Case {
  name: string;
  args: string[];
  stdin: string | null;
  status: number;
  stdout: string;
  stderr: string;
}

const REAL = '/usr/bin/ovs-ofctl';

/* Captured from real ovs-ofctl 3.1; hex messages and matches are our own. */
const CASES: Case[] = [
  {
    name: 'REQUESTFORWARD OF1.4 carrying a group mod',
    args: ['ofp-print', '05 20 00 18 00 00 00 07 05 0f 00 10 00 00 00 07 00 00 00 00 00 00 00 09'],
    stdin: null,
    status: 0,
    stdout: 'OFPT_REQUESTFORWARD (OF1.4) (xid=0x7): reason=group_mod\n ADD group_id=9,type=all\n',
    stderr: '',
  },
  {
    name: 'OF1.5 group mod whose bucket has no actions (an 8-byte ofp15_bucket)',
    args: [
      'ofp-print',
      '06 0f 00 20 00 00 00 02 00 00 00 00 00 00 00 01 00 08 00 00 ff ff ff ff 00 08 00 00 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_GROUP_MOD (OF1.5) (xid=0x2):\n ADD group_id=1,type=all,bucket=bucket_id:0,actions=drop\n',
    stderr: '',
  },
  {
    name: 'ONF REQUESTFORWARD OF1.3 carrying a meter mod',
    args: [
      'ofp-print',
      '04 04 00 30 00 00 00 07 4f 4e 46 00 00 00 09 2e 04 1d 00 20 00 00 00 07 00 00 00 05 00 00 00 0b 00 01 00 10 00 00 00 64 00 00 00 00 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'ONFT_REQUESTFORWARD (OF1.3) (xid=0x7): reason=meter_mod ADD meter=11 kbps burst bands=\ntype=drop rate=100 burst_size=0\n',
    stderr: '',
  },
  {
    name: 'OF1.0 flow mod at verbosity 3 shows the raw ofp_match and pri:',
    args: [
      'ofp-print',
      '01 0e 00 50 00 00 00 05 00 38 20 ee 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 08 00 00 06 00 00 c6 12 00 07 00 00 00 00 00 00 00 16 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 64 ff ff ff ff ff ff 00 00 00 00 00 08 00 01 00 00',
      '3',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_FLOW_MOD (xid=0x5): ADD ip,in_port=2,dl_vlan=*,dl_vlan_pcp=*,dl_src=*,dl_dst=*,nw_src=*,nw_dst=*,nw_proto=*,nw_tos=*,tp_src=*,tp_dst=* pri:100 actions=output:1\n',
    stderr: '',
  },
  {
    name: 'OF1.1 flow mod with a standard match',
    args: [
      'ofp-print',
      '02 0e 00 a0 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80 00 ff ff ff ff ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 58 00 00 00 00 00 00 03 ee 00 00 00 00 00 00 ff ff ff ff ff ff 00 00 00 00 00 00 ff ff ff ff ff ff 00 00 00 00 08 00 00 06 c6 12 00 07 00 00 00 ff 00 00 00 00 ff ff ff ff 00 00 00 16 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff ff ff ff ff 00 04 00 18 00 00 00 00 00 00 00 10 00 00 00 01 00 00 00 00 00 00 00 00',
      '2',
    ],
    stdin: null,
    status: 0,
    stdout: 'OFPT_FLOW_MOD (OF1.1) (xid=0x9): ADD in_port=0 actions=output:1\n',
    stderr: '',
  },
  {
    name: 'parse-ofp10-match: round trip and normalization',
    args: ['-vPATTERN:console:%c|%p|%m', 'parse-ofp10-match'],
    stdin:
      '0030e0ff 0003 000000000000 000000000000 ffff 00 00 0806 00 00 0000 00000000 00000000 0000 0000\n00382eff 0000 000000000000 000000000000 0000 00 00 0800 00 11 0000 c6120000 00000000 0035 0000\n',
    status: 0,
    stdout:
      'nw_dst=0.0.0.0/29\n 5: 03 -> 00\n18: ff -> 00\n19: ff -> 00\n22: 08 -> 00\n23: 06 -> 00\nnormal:  1: 30 -> 38\nnormal:  2: e0 -> 20\n\n\n 2: 2e -> 20\n22: 08 -> 00\n25: 11 -> 00\n28: c6 -> 00\n29: 12 -> 00\n37: 35 -> 00\n\n',
    stderr:
      'ofp_match|INFO|normalization changed ofp_match, details:\nofp_match|INFO| pre: nw_dst=0.0.0.0/29\nofp_match|INFO|post: \n',
  },
  {
    name: 'parse-ofp11-match: a VLAN-less TCP match and a bad port',
    args: ['-vPATTERN:console:%c|%p|%m', 'parse-ofp11-match'],
    stdin:
      '0000 0058 00000000 0000031e 000000000000 ffffffffffff 000000000000 ffffffffffff ffff 00 00 0800 00 06 c6120000 000000ff 00000000 ffffffff 0000 0050 00000000 00 000000 0000000000000000 ffffffffffffffff\n0000 0058 00012345 000003fe 000000000000 ffffffffffff 000000000000 ffffffffffff 0000 00 00 0000 00 00 00000000 ffffffff 00000000 ffffffff 0000 0000 00000000 00 000000 0000000000000000 ffffffffffffffff\n',
    status: 0,
    stdout:
      'in_port=0\n11: 1e -> fe\n36: ff -> 00\n37: ff -> 00\n40: 08 -> 00\n43: 06 -> 00\n44: c6 -> 00\n45: 12 -> 00\n48: 00 -> ff\n49: 00 -> ff\n50: 00 -> ff\n63: 50 -> 00\n\nbad ofp11_match: OFPBMC_BAD_VALUE\n\n',
    stderr:
      'ofp_port|WARN|port 74565 is outside the supported range 0 through 65279 or 0xffffff00 through 0xffffffff\n',
  },
  {
    name: 'parse-nxm --strict: prerequisites and comments',
    args: ['--strict', 'parse-nxm'],
    stdin:
      'NXM_OF_ETH_TYPE(0800), NXM_OF_IP_PROTO(06), NXM_OF_TCP_DST(0050)\n# comment\n\nNXM_OF_IP_PROTO(06)\nNXM_OF_ETH_TYPE(86dd), NXM_NX_IPV6_SRC_W(20010db8000000000000000000000000/ffffffff000000000000000000000000)\nNXM_OF_IN_PORT(0001), 01020304(1111/3333), NXM_OF_ETH_TYPE(0800)\n',
    status: 0,
    stdout:
      'NXM_OF_ETH_TYPE(0800), NXM_OF_IP_PROTO(06), NXM_OF_TCP_DST(0050)\n# comment\n\nnx_pull_match() returned error OFPBMC_BAD_PREREQ\nNXM_OF_ETH_TYPE(86dd), NXM_NX_IPV6_SRC_W(20010db8000000000000000000000000/ffffffff000000000000000000000000)\nnx_pull_match() returned error OFPBMC_BAD_FIELD\n',
    stderr: '',
  },
  {
    name: 'parse-nxm (loose) skips unknown fields',
    args: ['parse-nxm'],
    stdin:
      'NXM_OF_IN_PORT(0001), 01020304(1111/3333), NXM_OF_ETH_TYPE(0800)\nNXM_OF_ETH_TYPE(0800), NXM_NX_MPLS_TTL(01)\nNXM_OF_ETH_TYPE(8847), NXM_NX_MPLS_TTL(05)\n',
    status: 0,
    stdout:
      'NXM_OF_IN_PORT(0001), NXM_OF_ETH_TYPE(0800)\nNXM_OF_ETH_TYPE(0800)\nNXM_OF_ETH_TYPE(8847), NXM_NX_MPLS_TTL(05)\n',
    stderr: '',
  },
  {
    name: 'parse-oxm -m OpenFlow15 with hex dump',
    args: ['-m', 'parse-oxm', 'OpenFlow15'],
    stdin:
      'OXM_OF_ETH_TYPE(0800), OXM_OF_IPV4_SRC_W(c6120000/fffe0000)\nOXM_OF_VLAN_VID_W(1000/1000)\n',
    status: 0,
    stdout:
      'OXM_OF_ETH_TYPE(0800), OXM_OF_IPV4_SRC_W(c6120000/fffe0000)\n00000000  00 01 00 16 80 00 0a 02-08 00 80 00 17 08 c6 12\n00000010  00 00 ff fe 00 00 00 00\nOXM_OF_VLAN_VID_W(1000/1000)\n00000000  00 01 00 0c 80 00 0d 04-10 00 10 00 00 00 00 00\n',
    stderr: '',
  },
  {
    name: 'check-vlan VID 100',
    args: ['check-vlan', '1064', '1fff'],
    stdin: null,
    status: 0,
    stdout:
      'dl_vlan=100 -> 1064/1fff\nNXM: NXM_OF_VLAN_TCI_W(1064/1fff) -> 1064/1fff\nOXM: OXM_OF_VLAN_VID(1064) -> 1064/1fff,--\nOF1.0: 0064/0,00/1 -> 1064/1fff\nOF1.1: 0064/0,00/1 -> 1064/1fff\n',
    stderr: '',
  },
  {
    name: 'check-vlan no VLAN',
    args: ['check-vlan', '0000', 'ffff'],
    stdin: null,
    status: 0,
    stdout:
      'vlan_tci=0x0000 -> 0000/ffff\nNXM: NXM_OF_VLAN_TCI(0000) -> 0000/ffff\nOXM: OXM_OF_VLAN_VID(0000) -> 0000/1fff,--\nOF1.0: ffff/0,00/0 -> 0000/ffff\nOF1.1: ffff/0,00/1 -> 0000/ffff\n',
    stderr: '',
  },
  {
    name: 'check-vlan PCP only',
    args: ['check-vlan', 'a000', 'e000'],
    stdin: null,
    status: 0,
    stdout:
      'vlan_tci=0xa000/0xe000 -> a000/e000\nNXM: NXM_OF_VLAN_TCI_W(a000/e000) -> a000/e000\nOXM: <any> -> 0000/0000,--\nOF1.0: 0000/1,05/0 -> b000/f000\nOF1.1: fffe/0,05/0 -> b000/f000\n',
    stderr: '',
  },
  {
    name: 'parse-flows NXM -mmm prints raw NXM',
    args: ['-F', 'nxm', '-mmm', 'parse-flow', 'tcp,nw_src=198.18.0.1,tp_dst=80,actions=drop'],
    stdin: null,
    status: 0,
    stdout:
      'usable protocols: any\nchosen protocol: NXM-table_id\nNXT_FLOW_MOD (xid=0x1): ADD NXM_OF_ETH_TYPE(0800), NXM_OF_IP_SRC(c6120001), NXM_OF_IP_PROTO(06), NXM_OF_TCP_DST(0050) actions=drop\n',
    stderr: '',
  },
  {
    name: 'parse-flow logs a flow that normalization changes',
    args: ['-vPATTERN:console:%c|%p|%m', 'parse-flow', 'arp,nw_tos=4,actions=drop'],
    stdin: null,
    status: 0,
    stdout:
      'usable protocols: any\nchosen protocol: OpenFlow10-table_id\nOFPT_FLOW_MOD (xid=0x1): ADD arp actions=drop\n',
    stderr:
      'ofp_match|INFO|normalization changed ofp_match, details:\nofp_match|INFO| pre: arp,nw_tos=4\nofp_match|INFO|post: arp\nofp_match|INFO|normalization changed ofp_match, details:\nofp_match|INFO| pre: arp,nw_tos=4\nofp_match|INFO|post: arp\n',
  },
  {
    name: 'parse-flow with OF1.0+table_id prints table:255 for no table',
    args: ['-F', 'OpenFlow10+table_id', 'parse-flow', 'ip,actions=resubmit(,3)'],
    stdin: null,
    status: 0,
    stdout:
      'usable protocols: any\nchosen protocol: OpenFlow10+table_id\nOFPT_FLOW_MOD (xid=0x1): ADD table:255 ip actions=resubmit(,3)\n',
    stderr: '',
  },
  {
    name: 'learn: subfield or immediate, both fail',
    args: ['parse-flow', 'actions=learn(reg0[0..3]=0x1f)'],
    stdin: null,
    status: 1,
    stdout: '',
    stderr:
      "ovs-ofctl: reg0[0..3]=0x1f: reg0[0..3] value 0x1f cannot be parsed as a subfield (0x1f: unknown field `0x1f') or an immediate value (reg0[0..3]=0x1f: value 0x1f does not fit into 4 bits)\n",
  },
  {
    name: 'learn: bit widths differ',
    args: ['parse-flow', 'actions=learn(reg0[0..3]=reg1[0..4])'],
    stdin: null,
    status: 1,
    stdout: '',
    stderr:
      'ovs-ofctl: reg0[0..3]=reg1[0..4]: bit widths of reg0[0..3] (5) and reg1[0..4] (4) differ\n',
  },
  {
    name: 'learn: destination prerequisites',
    args: ['-vPATTERN:console:%c|%p|%m', 'parse-flow', 'actions=learn(load:5->NXM_OF_IP_DST[])'],
    stdin: null,
    status: 1,
    stdout: '',
    stderr:
      'meta_flow|WARN|destination field ip_dst lacks correct prerequisites\novs-ofctl: actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)\n',
  },
  {
    name: 'learn: too-long immediate load',
    args: ['parse-flow', 'actions=learn(load:0x10->reg0[0..3])'],
    stdin: null,
    status: 1,
    stdout: '',
    stderr: 'ovs-ofctl: 0x10->reg0[0..3]: value does not fit into 4 bits\n',
  },
  {
    name: 'learn: field = field',
    args: ['parse-flow', 'actions=learn(eth_dst=eth_src,eth_type=0x800,load:5->ip_dst)'],
    stdin: null,
    status: 0,
    stdout:
      'usable protocols: any\nchosen protocol: OpenFlow10-table_id\nOFPT_FLOW_MOD (xid=0x1): ADD actions=learn(table=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],eth_type=0x800,load:0x5->NXM_OF_IP_DST[])\n',
    stderr: '',
  },
  {
    name: 'SET_ASYNC OF1.4 with a reason the version lacks',
    args: ['ofp-print', '05 1c 00 18 00 00 00 09 00 01 00 08 00 00 00 80 00 02 00 08 00 00 00 07'],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_SET_ASYNC (OF1.4) (xid=0x9): ***decode error: OFPACFC_INVALID***\n00000000  05 1c 00 18 00 00 00 09-00 01 00 08 00 00 00 80 |................|\n00000010  00 02 00 08 00 00 00 07-                        |........        |\n',
    stderr: 'ofp_connection|WARN|bad value 0x80 for PACKET_IN (allowed mask 0x3f)\n',
  },
  {
    name: 'SET_ASYNC OF1.4 with an unknown property',
    args: ['ofp-print', '05 1c 00 10 00 00 00 09 00 20 00 08 00 00 00 01'],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_SET_ASYNC (OF1.4) (xid=0x9): ***decode error: OFPACFC_UNSUPPORTED***\n00000000  05 1c 00 10 00 00 00 09-00 20 00 08 00 00 00 01 |......... ......|\n',
    stderr: 'ofp_connection|WARN|unknown async config property type 32\n',
  },
  {
    name: 'METER_MOD with both kbps and pktps',
    args: [
      'ofp-print',
      '04 1d 00 20 00 00 00 07 00 00 00 03 00 00 00 09 00 01 00 10 00 00 01 f4 00 00 00 00 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_METER_MOD (OF1.3) (xid=0x7): ***decode error: OFPMMFC_BAD_FLAGS***\n00000000  04 1d 00 20 00 00 00 07-00 00 00 03 00 00 00 09 |... ............|\n00000010  00 01 00 10 00 00 01 f4-00 00 00 00 00 00 00 00 |................|\n',
    stderr: '',
  },
  {
    name: 'OFPST_GROUP_FEATURES reply OF1.3',
    args: [
      'ofp-print',
      '04 13 00 38 00 00 00 03 00 08 00 00 00 00 00 00 00 00 00 05 00 00 00 03 00 00 00 10 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00 01 00 00 00 00 00 01 00 01 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPST_GROUP_FEATURES reply (OF1.3) (xid=0x3):\n Group table:\n    Types:  0x5\n    Capabilities:  0x3\n    all group:\n       max_groups=0x10\n       actions: output\n    indirect group:\n       max_groups=0x8\n       actions: output dec_mpls_ttl\n',
    stderr: '',
  },
  {
    name: "OFPST_GROUP_DESC OF1.5 with OVS 2.4's selection-method vendor id",
    args: [
      'ofp-print',
      '06 13 00 70 00 00 00 04 00 07 00 00 00 00 00 00 00 60 01 00 00 00 00 07 00 18 00 00 00 00 00 00 00 18 00 10 00 00 00 00 00 00 00 10 00 00 00 01 00 00 00 00 00 00 00 00 ff ff 00 35 00 00 15 40 00 00 00 01 00 00 00 00 68 61 73 68 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 80 00 16 04 ff ff ff 00 80 00 14 01 ff 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPST_GROUP_DESC reply (OF1.5) (xid=0x4):\n group_id=7,type=select,selection_method=hash,selection_method_param=3,fields(ip_src=255.255.255.0,nw_proto),bucket=bucket_id:0,actions=output:1\n',
    stderr: '',
  },
  {
    name: 'NXT_RESUME',
    args: [
      'ofp-print',
      '01 04 00 38 00 00 00 11 00 00 23 20 00 00 00 1c 00 00 00 12 ff ff ff ff ff ff 0a 0b 0c 0d 0e 0f 88 b5 00 00 00 00 00 00 00 06 00 0a 00 00 00 02 ff fe 00 00 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'NXT_RESUME (xid=0x11): total_len=14 in_port=LOCAL (via no_match) data_len=14 (unbuffered)\nvlan_tci=0x0000,dl_src=0a:0b:0c:0d:0e:0f,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x88b5\n',
    stderr: '',
  },
  {
    name: 'PACKET_OUT OF1.5 refuses non-pipeline metadata',
    args: [
      'ofp-print',
      '06 0d 00 38 00 00 00 05 ff ff ff ff 00 10 00 00 00 01 00 12 80 00 00 04 00 00 00 02 80 00 0a 02 08 00 00 00 00 00 00 00 00 00 00 10 ff ff ff fb 00 00 00 00 00 00 00 00',
    ],
    stdin: null,
    status: 0,
    stdout:
      'OFPT_PACKET_OUT (OF1.5) (xid=0x5): ***decode error: OFPBRC_PIPELINE_FIELDS_ONLY***\n00000000  06 0d 00 38 00 00 00 05-ff ff ff ff 00 10 00 00 |...8............|\n00000010  00 01 00 12 80 00 00 04-00 00 00 02 80 00 0a 02 |................|\n00000020  08 00 00 00 00 00 00 00-00 00 00 10 ff ff ff fb |................|\n00000030  00 00 00 00 00 00 00 00-                        |........        |\n',
    stderr: '',
  },
];

const stripTimes = (s: string): string => s.replace(/^\d{4}-\d\d-\d\dT[\d:]+Z\|\d+\|/gm, '');

function runTool(cmd: string, argv: string[], stdin: string | null) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', input: stdin ?? '', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: stripTimes(r.stderr) };
}

describe('ovs-ofctl offline commands print what real ovs-ofctl 3.1 prints', () => {
  const ours = ourCli('ovs-ofctl');
  for (const c of CASES) {
    it(c.name, () => {
      const got = runTool(process.execPath, [ours, ...c.args], c.stdin);
      assert.deepEqual(got, { status: c.status, stdout: c.stdout, stderr: c.stderr });
    });
  }
  it('the goldens are still what real ovs-ofctl prints', { skip: !existsSync(REAL) }, () => {
    for (const c of CASES) {
      const got = runTool(REAL, c.args, c.stdin);
      assert.deepEqual(got, { status: c.status, stdout: c.stdout, stderr: c.stderr }, c.name);
    }
  });
});
