/*
 * Real ovs-ofctl 3.1 against a passive OpenFlow peer of our own on 127.0.0.1: the bytes it
 * sends (add-flow, mod-flows, del-flows, dump-flows) are decoded with our codec and compared
 * with what our flow parser makes of the same text; for dump-flows our peer answers with flow
 * stats and ovs-ofctl's printed lines must equal our dump-flows printer's.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchEquals, matchSet, newMatch } from '../../lib/flow/match.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import { parseFlowMod } from './flow-mod-parse.ts';
import { formatFlowStatsLine } from './flow-stats-format.ts';
import { type FlowMod, type FlowModCommand, type FlowStats, noFlowModFlags } from './messages.ts';
import { parseOfpacts } from './ofpact-parse.ts';
import { type Capture, capture as captureWith } from './ovs-ofctl-peer.ts';

function capture(args: string[], rest: string[], flows: FlowStats[] = []): Promise<Capture> {
  return captureWith(args, rest, { flows });
}

function flowMods(c: Capture): FlowMod[] {
  assert.equal(c.code, 0, c.stderr);
  return c.frames.flatMap((f) => (f.msg.type === 'flow_mod' ? [f.msg] : []));
}

/* What `fm` looks like after our own encode and decode in `version` (the wire changes the form of
 * some actions, e.g. mod_nw_src becomes set_field in OF1.2+, exactly as in OVS). */
function viaWire(fm: FlowMod, version: number): FlowMod {
  const r = decodeMessage(
    encodeMessage({ version, xid: 1, msg: { type: 'flow_mod', format: 'standard', ...fm } }),
  );
  assert.ok(r.ok && r.frame.msg.type === 'flow_mod');
  return r.frame.msg;
}

function assertSameFlowMod(got: FlowMod, text: string, command: FlowModCommand, version = 1): void {
  const p = parseFlowMod(text, command);
  assert.ok(p.ok, p.ok ? '' : p.error);
  const want = { ...p.value, ofpacts: viaWire(p.value, version).ofpacts };
  assert.equal(got.command, want.command);
  assert.ok(matchEquals(got.match, want.match), 'match');
  assert.equal(got.priority, want.priority);
  assert.equal(got.idleTimeout, want.idleTimeout);
  assert.equal(got.hardTimeout, want.hardTimeout);
  assert.deepEqual(got.flags, want.flags);
  assert.deepEqual(got.ofpacts, want.ofpacts);
  assert.equal(got.outPort, want.outPort);
  assert.equal(got.cookieMask, want.cookieMask);
  if (want.cookieMask) assert.equal(got.cookie, want.cookie);
  if (command === 'add') assert.equal(got.newCookie, want.newCookie);
  // OF1.0 without the table-id extension has no table: 255 on the wire means "default".
  if (got.tableId !== 255) assert.equal(got.tableId, want.tableId);
}

describe('real ovs-ofctl talking to our codec', () => {
  it('add-flow (OpenFlow 1.0 match) arrives as the flow our parser reads', async () => {
    const text =
      'priority=100,ip,nw_src=10.0.0.0/8,idle_timeout=5,cookie=0x9,actions=mod_vlan_vid:5,output:2';
    const [fm] = flowMods(await capture([], ['add-flow', text]));
    assertSameFlowMod(fm, text, 'add');
  });
  it('add-flow with a register match uses NXT_FLOW_MOD', async () => {
    const text =
      'table=3,reg0=0x5,tcp,tp_dst=80,actions=learn(table=4,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,5)';
    const c = await capture([], ['add-flow', text]);
    const fms = c.frames.filter((f) => f.msg.type === 'flow_mod');
    assert.equal(fms.length, 1);
    assert.ok(fms[0].msg.type === 'flow_mod' && fms[0].msg.format === 'nxt');
    assertSameFlowMod(flowMods(c)[0], text, 'add');
  });
  it('del-flows with a cookie mask', async () => {
    const text = 'cookie=0x10/0xff,tcp,tp_dst=80';
    const [fm] = flowMods(await capture([], ['del-flows', text]));
    assertSameFlowMod(fm, text, 'delete');
  });
  it('mod-flows --strict', async () => {
    const text = 'priority=5,in_port=1,actions=drop';
    const [fm] = flowMods(await capture(['--strict'], ['mod-flows', text]));
    assertSameFlowMod(fm, text, 'modify_strict');
  });
  it('OpenFlow 1.3 add-flow with instructions', async () => {
    const text =
      'table=2,priority=100,tcp,tp_dst=80,send_flow_rem,actions=load:1->reg0[],mod_nw_src:10.0.0.1,goto_table:3';
    const c = await capture(['-O', 'OpenFlow13', '--no-names'], ['add-flow', text]);
    assert.equal(c.frames[1].version, 4);
    assertSameFlowMod(flowMods(c)[0], text, 'add', 4);
  });
  it('OpenFlow 1.5 add-flow with importance', async () => {
    const text =
      'priority=7,importance=3,udp,actions=set_field:1->reg2,move:reg2[0..15]->udp_dst[],output:1';
    const c = await capture(['-O', 'OpenFlow15', '--no-names'], ['add-flow', text]);
    const [fm] = flowMods(c);
    assertSameFlowMod(fm, text, 'add', 6);
    assert.equal(fm.importance, 3);
  });

  const flows: FlowStats[] = [
    {
      match: (() => {
        const m = newMatch();
        matchSet(m, 'eth_type', 0x800);
        matchSet(m, 'ip_dst', 0xc6120000, 0xffff0000);
        return m;
      })(),
      priority: 100,
      tableId: 0,
      durationSec: 12,
      durationNsec: 345000000,
      idleTimeout: 0,
      hardTimeout: 30,
      idleAge: 3,
      hardAge: 12,
      cookie: 0x42n,
      packetCount: 7n,
      byteCount: 420n,
      flags: noFlowModFlags(),
      importance: 0,
      ofpacts: (() => {
        const p = parseOfpacts('mod_dl_dst:02:00:00:00:00:02,output:3');
        assert.ok(p.ok);
        return p.value;
      })(),
    },
    {
      match: newMatch(),
      priority: 0,
      tableId: 1,
      durationSec: 1,
      durationNsec: 0,
      idleTimeout: 10,
      hardTimeout: 0,
      idleAge: 0,
      hardAge: 1,
      cookie: 0n,
      packetCount: 0n,
      byteCount: 0n,
      flags: noFlowModFlags(),
      importance: 0,
      ofpacts: [],
    },
  ];
  for (const [args, stats] of [
    [[], true],
    [['--no-stats'], false],
    [['-O', 'OpenFlow13'], true],
    [['-O', 'OpenFlow13', '--no-stats'], false],
  ] as const) {
    it(`dump-flows ${args.join(' ')} prints our flows as our printer does`, async () => {
      const c = await capture([...args], ['dump-flows'], flows);
      assert.equal(c.code, 0, c.stderr);
      const lines = c.stdout.split('\n').filter((l) => l.startsWith(' '));
      // What ovs-ofctl received is our reply in the negotiated version (OF1.3 flow stats carry
      // no idle/hard ages and say mod_dl_dst as set_field); our printer must print it the same.
      const reply = c.frames.find((f) => f.msg.type === 'stats_request')!;
      const sent = decodeMessage(
        encodeMessage({
          version: reply.version,
          xid: 1,
          msg: {
            type: 'stats_reply',
            format: reply.msg.type === 'stats_request' ? reply.msg.format : 'standard',
            flags: 0,
            body: { stat: 'flow', flows },
          },
        }),
      );
      assert.ok(
        sent.ok && sent.frame.msg.type === 'stats_reply' && sent.frame.msg.body.stat === 'flow',
      );
      const expected = sent.frame.msg.body.flows.map((f) =>
        formatFlowStatsLine(f, { showStats: stats }),
      );
      assert.deepEqual(lines, expected);
    });
  }
});
