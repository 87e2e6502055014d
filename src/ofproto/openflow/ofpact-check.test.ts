import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parseMatch } from '../../lib/flow/match-parse.ts';
import { checkOfpacts } from './ofpact-check.ts';
import { parseOfpacts } from './ofpact-parse.ts';

/* Oracle: whether real ovs-ofctl 3.1 parse-flow accepts the flow (in OF1.3 and in its default
 * protocols), and its error name if not: 'of10-only' when only OF1.0/NXM can carry it. */
function ovsParse(flow: string, args: string[]): string {
  try {
    execFileSync('ovs-ofctl', [...args, 'parse-flow', flow], { stdio: ['ignore', 'pipe', 'pipe'] });
    return 'ok';
  } catch (e) {
    const err = String((e as { stderr: Buffer }).stderr);
    const m = /\((OFP[A-Z_]+|NX[A-Z_]+)\)/.exec(err);
    return m ? m[1] : /no usable protocol/.test(err) ? 'no usable protocol' : err;
  }
}

function ovsVerdict(flow: string): string {
  const v13 = ovsParse(flow, ['-O', 'OpenFlow13']);
  if (v13 === 'no usable protocol' && ovsParse(flow, []) === 'ok') return 'of10-only';
  return v13;
}

const FLOWS = [
  'ip,actions=mod_nw_src:1.2.3.4',
  'in_port=1,actions=mod_nw_src:1.2.3.4',
  'ipv6,actions=mod_nw_src:1.2.3.4',
  'tcp,actions=mod_tp_dst:80',
  'ip,actions=mod_tp_dst:80',
  'icmp,actions=mod_tp_dst:80',
  'tcp,actions=fin_timeout(idle_timeout=5)',
  'udp,actions=fin_timeout(idle_timeout=5)',
  'in_port=1,actions=set_field:10.0.0.1->ip_dst',
  'ip,actions=set_field:10.0.0.1->ip_dst',
  'arp,actions=set_field:10.0.0.1->arp_spa',
  'in_port=1,actions=load:1->NXM_OF_IP_TOS[2..7]',
  'in_port=1,actions=move:NXM_OF_IP_SRC[]->NXM_NX_REG0[]',
  'ip,actions=move:NXM_OF_IP_SRC[]->NXM_NX_REG0[]',
  'in_port=1,actions=dec_ttl',
  'ipv6,actions=dec_ttl',
  'in_port=1,actions=set_mpls_label:5',
  'in_port=1,actions=push_mpls:0x8847,set_mpls_label:5',
  'mpls,actions=pop_mpls:0x0800,mod_nw_ttl:3',
  'in_port=1,actions=ct(commit)',
  'ip,actions=ct(commit)',
  'ct_state=+trk,ip,actions=resubmit(1,2,ct)',
  'ct_state=+trk-inv,ip,actions=resubmit(1,2,ct)',
  'in_port=1,actions=set_field:3->vlan_pcp',
  'in_port=1,actions=push_vlan:0x8100,set_field:3->vlan_pcp',
  'in_port=1,actions=mod_vlan_pcp:3',
  'in_port=1,actions=output:NXM_OF_TCP_DST[]',
  'tcp,actions=output:NXM_OF_TCP_DST[]',
  'in_port=1,actions=clone(mod_nw_src:1.2.3.4)',
  'in_port=1,actions=write_actions(mod_tp_src:3)',
];

describe('action/match consistency against ovs-ofctl', () => {
  for (const flow of FLOWS) {
    it(flow, () => {
      const [m, a] = flow.split(',actions=');
      const pm = parseMatch(m);
      const pa = parseOfpacts(a);
      assert.ok(pm.ok && pa.ok);
      const r = checkOfpacts(pa.value, pm.match);
      assert.equal(r.error ? r.error.error : r.of10Only ? 'of10-only' : 'ok', ovsVerdict(flow));
    });
  }
});
