/**
 * Small ofproto-dpif behaviours OVS's own tests rely on, side by side on our switch and real
 * ovs-vswitchd 3.1 (--enable-dummy): Open_vSwitch other_config:vlan-limit as ofproto/trace sees
 * it (ofproto-dpif.at "VLAN depth limit"), and dpif-dummy/change-port-number with ofproto
 * following the new datapath port number ("datapath port number change"), errors included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { appctl, dummyBridge, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

function ofctl(s: Stack, args: string[]): void {
  const r = spawnSync('/usr/bin/ovs-ofctl', args, { encoding: 'utf8', env: s.env });
  if (r.status !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

const QINQ =
  'in_port(1),eth(src=00:11:22:33:44:55,dst=00:22:44:66:88:00),eth_type(0x8100),vlan(vid=16,pcp=0),' +
  'encap(eth_type(0x8100),vlan(vid=17,pcp=0),encap(eth_type(0xabcd)))';

interface Seen {
  vlan: string[];
  renumber: string[];
}

async function scenario(s: Stack): Promise<Seen> {
  const r = vsctl(s, dummyBridge('br0', [1, 2, 3]));
  assert.equal(r.status, 0, r.stderr);
  ofctl(s, [
    'add-flow',
    'br0',
    'in_port=1,eth_type=0x8100,vlan_tci=0x0010/0x01ff,actions=output:2',
  ]);
  ofctl(s, [
    'add-flow',
    'br0',
    'in_port=1,eth_type=0xabcd,vlan_tci=0x0010/0x01ff,actions=output:3',
  ]);
  ofctl(s, ['add-flow', 'br0', 'in_port=LOCAL,actions=output:1']);
  const ovs = vsctl(s, ['get', 'Open_vSwitch', '.', '_uuid']).stdout.trim();
  const trace = (flow: string): string => {
    const t = appctl(s, ['ofproto/trace', 'ovs-dummy', flow]);
    return `${t.status} ${lastLine(t.stdout)}${t.stderr}`;
  };
  const vlan: string[] = [trace(QINQ)];
  for (const limit of ['0', '2', '1', '-1']) {
    assert.equal(
      vsctl(s, ['set', 'Open_vSwitch', ovs, `other_config:vlan-limit=${limit}`]).status,
      0,
    );
    vlan.push(`${limit}: ${trace(QINQ)}`);
  }
  vsctl(s, ['remove', 'Open_vSwitch', ovs, 'other_config', 'vlan-limit']);
  vlan.push(`default: ${trace(QINQ)}`);

  const renumber: string[] = [];
  const change = (...args: string[]): void => {
    const c = appctl(s, ['dpif-dummy/change-port-number', ...args]);
    renumber.push(`${args.join(' ')} -> ${c.status} ${JSON.stringify(c.stdout)} ${c.stderr}`);
  };
  const traceLocal = (): void => {
    const t = appctl(s, ['ofproto/trace', 'br0', 'in_port=LOCAL,dl_src=10:20:30:40:50:60']);
    renumber.push(`${t.status} ${lastLine(t.stdout)}${t.stderr}`);
  };
  traceLocal();
  change('nope', 'p1', '5');
  change('ovs-dummy', 'zz', '5');
  change('ovs-dummy', 'p1', '0');
  change('ovs-dummy', 'p1', 'x');
  change('ovs-dummy', 'p1', '2');
  change('ovs-dummy', 'p1', '5');
  traceLocal();
  renumber.push(appctl(s, ['dpif/show']).stdout.replace(/hit:\d+ missed:\d+/, 'STATS'));
  // Renumbered again: outputs follow, and a key naming the new number finds its bridge.
  change('ovs-dummy', 'p1', '7');
  traceLocal();
  renumber.push(trace(QINQ.replace('in_port(1)', 'in_port(7)')));
  return { vlan, renumber };
}

describe('vlan-limit and dpif-dummy/change-port-number, ours and real ovs-vswitchd', () => {
  let ours: Seen = { vlan: [], renumber: [] };
  let real: Seen = { vlan: [], renumber: [] };
  sideBySide(scenario, (which, r) => {
    if (which === 'real') real = r;
    else ours = r;
  });

  it('other_config:vlan-limit decides how many VLAN headers the flow has', () => {
    // The scenario itself discriminates: one tag by default, both with 0 or 2.
    assert.equal(real.vlan[0], '0 Datapath actions: 2');
    assert.equal(real.vlan[1], '0: 0 Datapath actions: 3');
    assert.deepEqual(ours.vlan, real.vlan);
  });

  it('change-port-number renumbers the port, ofproto follows, errors as OVS words them', () => {
    assert.equal(real.renumber[0], '0 Datapath actions: 1');
    assert.equal(real.renumber[7], '0 Datapath actions: 5');
    assert.deepEqual(ours.renumber, real.renumber);
  });
});
