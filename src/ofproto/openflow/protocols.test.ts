import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseFlowMod } from './flow-mod-parse.ts';
import { protocolsToString, usableProtocols } from './protocols.ts';

/* Oracle: the "usable protocols:" line of real ovs-ofctl parse-flow with every version allowed. */
function ovsUsable(flow: string): string {
  try {
    const out = execFileSync(
      'ovs-ofctl',
      [
        '-O',
        'OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15',
        'parse-flow',
        flow,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString();
    return /usable protocols: (.*)/.exec(out)![1];
  } catch {
    return '';
  }
}

const FLOWS = [
  'actions=drop',
  'ip,actions=drop',
  'reg0=1,actions=drop',
  'table=1,actions=drop',
  'table=0,ip,actions=drop',
  'actions=meter:1',
  'actions=push_vlan:0x8100',
  'actions=group:1',
  'actions=goto_table:1',
  'metadata=1,actions=drop',
  'importance=1,actions=drop',
  'no_packet_counts,actions=drop',
  'reset_counts,actions=drop',
  'actions=mod_nw_src:1.2.3.4',
  'tcp,tcp_flags=+syn,actions=drop',
  'mpls,mpls_label=1,actions=drop',
  'actions=write_actions(output:1)',
  'actions=clear_actions',
  'actions=write_metadata:1',
  'ipv6,actions=drop',
  'ip,nw_src=1.0.0.0/255.0.255.0,actions=drop',
  'actions=set_field:1->reg0',
  'ip,actions=set_field:1.2.3.4->ip_src',
  'dl_vlan=5,actions=drop',
  'vlan_tci=0x1000/0x1000,actions=drop',
  'actions=output:1,dec_ttl',
  'actions=load:1->reg0[]',
  'tun_id=5,actions=drop',
  'ct_state=+trk,actions=drop',
  'ip,nw_ttl=4,actions=drop',
  'actions=push_mpls:0x8847',
];

describe('usable protocols against ovs-ofctl', () => {
  for (const flow of FLOWS) {
    it(flow, () => {
      const r = parseFlowMod(flow, 'add');
      assert.ok(r.ok, r.ok ? '' : r.error);
      const ours = usableProtocols(r.value, { tableSpecified: /(^|,)table=/.test(flow) });
      assert.equal(protocolsToString(ours), ovsUsable(flow));
    });
  }
});
