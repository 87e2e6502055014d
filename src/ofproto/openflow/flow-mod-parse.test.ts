import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { hex } from './bytes.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { parseFlowMod } from './flow-mod-parse.ts';
import { formatDuration, formatFlowStats } from './flow-stats-format.ts';
import type { FlowMod, FlowStats } from './messages.ts';

/* Oracle: real `ovs-ofctl [-O V] parse-flow FLOW` (its last line, after "ADD"). */
function ovs(version: number | null, flow: string): string {
  const args = version
    ? ['-O', `OpenFlow1${version - 1}`, 'parse-flow', flow]
    : ['parse-flow', flow];
  const out = execFileSync('ovs-ofctl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return out
    .trim()
    .split('\n')
    .pop()!
    .replace(/^.*?: ADD /, '');
}

function ours(version: number, flow: string): string {
  const p = parseFlowMod(flow, 'add');
  assert.ok(p.ok, p.ok ? '' : p.error);
  const bytes = encodeMessage({
    version,
    xid: 1,
    msg: { type: 'flow_mod', format: 'standard', ...p.value },
  });
  const out = execFileSync('ovs-ofctl', ['ofp-print', hex(bytes)]).toString();
  return out.split('\n')[0].replace(/^.*?: ADD /, '');
}

const FLOWS_ANY = [
  'priority=100,ip,nw_src=10.0.0.0/8,actions=mod_vlan_vid:5,output:2',
  'tcp,tp_dst=80,idle_timeout=10,hard_timeout=20,cookie=0x123,send_flow_rem,actions=NORMAL',
  'n_packets=5,duration=3s,n_bytes=7,tcp,actions=NORMAL',
  'in_port=LOCAL,dl_dst=ff:ff:ff:ff:ff:ff,actions=FLOOD',
  'arp,arp_tpa=198.18.0.1,actions=CONTROLLER:128',
  'table=3,priority=0,actions=drop',
  'reg0=0x5,actions=resubmit(,4)',
  'priority=7,check_overlap,ipv6,ipv6_dst=2001:db8::1,actions=output:1',
];
const FLOWS_OF14 = [
  'table=1,priority=5,cookie=0x10,idle_timeout=5,hard_timeout=6,importance=3,send_flow_rem,check_overlap,reset_counts,no_packet_counts,no_byte_counts,ip,actions=drop',
  'metadata=0x5/0xff,actions=write_metadata:0x10/0xf0,goto_table:2',
];

describe('flow-mod text against ovs-ofctl parse-flow', () => {
  for (const flow of FLOWS_ANY) {
    it(`default protocol: ${flow}`, () => assert.equal(ours(1, flow), ovs(null, flow)));
  }
  for (const flow of [...FLOWS_ANY, ...FLOWS_OF14]) {
    it(`OpenFlow 1.4: ${flow}`, () => assert.equal(ours(5, flow), ovs(5, flow)));
  }
});

describe('flow-mod text errors and commands', () => {
  const err = (text: string, cmd: FlowMod['command'], re: RegExp) => {
    const r = parseFlowMod(text, cmd);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.match(r.error, re);
  };
  it('rejects what OVS rejects', () => {
    err('cookie=1/1,actions=drop', 'add', /flow additions cannot use a cookie mask/);
    err('ip', 'add', /must specify an action/);
    err('frob=1,actions=drop', 'add', /unknown keyword frob/);
    err('out_port=1,actions=drop', 'add', /unknown keyword out_port/);
    err('cookie=5', 'delete', /cannot set cookie/);
    err('priority=70000,actions=drop', 'add', /invalid priority/);
    err('ip,actions=output:1,drop', 'add', /"drop" must not be accompanied/);
  });
  it('reads delete filters: out_port, out_group, cookie mask, table', () => {
    const r = parseFlowMod('table=2,cookie=0x10/0xf0,out_port=3,out_group=7,tcp', 'delete_strict');
    assert.ok(r.ok);
    assert.equal(r.value.tableId, 2);
    assert.equal(r.value.cookie, 0x10n);
    assert.equal(r.value.cookieMask, 0xf0n);
    assert.equal(r.value.outPort, 3);
    assert.equal(r.value.outGroup, 7);
    assert.deepEqual(r.value.ofpacts, []);
  });
  it('a modify without cookie keeps existing cookies', () => {
    const r = parseFlowMod('ip,actions=drop', 'modify');
    assert.ok(r.ok);
    assert.equal(r.value.newCookie, 0xffffffffffffffffn);
    assert.equal(r.value.tableId, 255);
  });
});

describe('dump-flows printing', () => {
  it('prints durations as OVS does', () => {
    assert.equal(formatDuration(5, 0), '5s');
    assert.equal(formatDuration(5, 500000000), '5.500s');
    assert.equal(formatDuration(1, 1500), '1.0000015s');
  });
  it('matches ovs-ofctl ofp-print of the same NXST_FLOW reply', () => {
    const p = parseFlowMod(
      'table=2,priority=300,cookie=0xab,idle_timeout=60,importance=0,send_flow_rem,udp,udp_dst=53,actions=output:3',
      'add',
    );
    assert.ok(p.ok);
    const fs: FlowStats = {
      match: p.value.match,
      priority: p.value.priority,
      tableId: 2,
      durationSec: 100,
      durationNsec: 10000000,
      idleTimeout: 60,
      hardTimeout: 0,
      idleAge: 4,
      hardAge: 50,
      cookie: 0xabn,
      packetCount: 123n,
      byteCount: 45678n,
      flags: p.value.flags,
      importance: 0,
      ofpacts: p.value.ofpacts,
    };
    const bytes = encodeMessage({
      version: 1,
      xid: 9,
      msg: { type: 'stats_reply', format: 'nxt', flags: 0, body: { stat: 'flow', flows: [fs] } },
    });
    const printed = execFileSync('ovs-ofctl', ['ofp-print', hex(bytes)])
      .toString()
      .split('\n')[1];
    // NXST flow stats carry no flags, so what OVS prints is the flow without send_flow_rem.
    const d = decodeMessage(bytes);
    assert.ok(d.ok && d.frame.msg.type === 'stats_reply' && d.frame.msg.body.stat === 'flow');
    assert.equal(` ${formatFlowStats(d.frame.msg.body.flows[0], { showStats: true })}`, printed);
    assert.equal(
      formatFlowStats(fs, { showStats: false }),
      'cookie=0xab, table=2, idle_timeout=60, send_flow_rem priority=300,udp,tp_dst=53 actions=output:3',
    );
  });
});
