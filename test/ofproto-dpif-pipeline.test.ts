/*
 * The OpenFlow pipeline as ofproto-dpif translates it: table-miss configuration, fragment
 * handling, masked header rewrites and what a packet-in reports (reason, table, cookie,
 * pipeline fields). Expected strings marked "real OVS" were printed by Debian's
 * ovs-vswitchd 3.1 (`ofproto/trace`) for the same flows on a dummy bridge with p1..p3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatOdpActions, parseOdpActions } from '../src/dpif/netdev/odp-actions.ts';
import { OdpExecutor } from '../src/dpif/netdev/odp-execute.ts';
import { Classifier } from '../src/lib/classifier/classifier.ts';
import { extractFlow, N_LAYERS } from '../src/lib/flow/extract.ts';
import { FLOW_WORDS, type FlowKey, W_REG0, W_TUN_ID } from '../src/lib/flow/layout.ts';
import { parseExactFlow } from '../src/lib/flow/match-parse.ts';
import { MacLearning } from '../src/ofproto/dpif/mac-learning.ts';
import { TRUNK_ALL } from '../src/ofproto/dpif/vlan.ts';
import { type NormalPort, normalBridge } from '../src/ofproto/dpif/xlate/normal.ts';
import { formatTrace, type TraceNode } from '../src/ofproto/dpif/xlate/trace.ts';
import {
  type ControllerCall,
  formatMegaflow,
  type XBridge,
  type XGroup,
  type XPort,
  type XRule,
  type XTables,
  xlate,
} from '../src/ofproto/dpif/xlate/xlate.ts';
import { parseFlowMod } from '../src/ofproto/openflow/flow-mod-parse.ts';

type Miss = 'default' | 'controller' | 'continue' | 'drop';

function tables(flows: string[], miss: Record<number, Miss> = {}): XTables {
  const cls = new Map<number, Classifier<XRule>>();
  for (const text of flows) {
    const r = parseFlowMod(text, 'add');
    if (!r.ok) throw new Error(r.error);
    const fm = r.value;
    const t = fm.tableId === 255 ? 0 : fm.tableId;
    let c = cls.get(t);
    if (!c) {
      c = new Classifier<XRule>();
      cls.set(t, c);
    }
    const cookie = fm.newCookie === 0xffffffffffffffffn ? 0n : fm.newCookie;
    const rule: XRule = {
      tableId: t,
      match: fm.match,
      priority: fm.priority,
      cookie,
      ofpacts: fm.ofpacts,
      removed: false,
    };
    c.replace(fm.match, fm.priority, rule);
  }
  return {
    lookup: (t, key, wc) => cls.get(t)?.lookup(key, wc)?.data ?? null,
    missConfig: (t) => miss[t] ?? 'default',
  };
}

function port(ofp: number, odp: number, name = `p${ofp}`): XPort {
  return {
    name,
    ofpPort: ofp,
    odpPort: odp,
    peer: null,
    noFlood: false,
    noFwd: false,
    noPacketIn: false,
    live: true,
  };
}

interface BridgeOpts {
  miss?: Record<number, Miss>;
  missToController?: boolean;
  fragHandling?: number;
  groups?: XGroup[];
}

function bridge(flows: string[], o: BridgeOpts = {}): XBridge {
  const ports = [port(1, 1), port(2, 2), port(3, 3), port(0xfffe, 100, 'br0')];
  const nports: NormalPort[] = ports.map((p) => ({
    name: p.name,
    ofpPort: p.ofpPort as NormalPort['ofpPort'],
    odpPort: p.odpPort as NormalPort['odpPort'],
    vlan: TRUNK_ALL,
    floodable: true,
    mirrorOut: false,
  }));
  const groups = new Map((o.groups ?? []).map((g) => [g.groupId, g]));
  return {
    name: 'br0',
    tables: tables(flows, o.miss),
    groups: { get: (id) => groups.get(id) },
    ports: new Map(ports.map((p) => [p.ofpPort, p])),
    floodOrder: ports,
    normal: normalBridge(nports),
    macs: new MacLearning(),
    missToController: o.missToController ?? false,
    fragHandling: o.fragHandling ?? 0,
    mirrors: [],
    sflowSampling: 0,
    netflow: false,
    portName: (p) => ports.find((x) => x.ofpPort === p)?.name,
  };
}

function flow(s: string): FlowKey {
  const r = parseExactFlow(s);
  if (!r.ok) throw new Error(r.error);
  return r.key;
}

function run(b: XBridge, f: string) {
  const root: TraceNode[] = [];
  const calls: ControllerCall[] = [];
  const r = xlate({
    world: { bridge: () => b },
    bridge: b,
    flow: flow(f),
    sideEffects: false,
    trace: root,
    controllerId: (c) => calls.push(c),
  });
  return {
    actions: formatOdpActions(r.actions),
    trace: formatTrace(root),
    mega: formatMegaflow(flow(f), r.wc),
    calls,
    slow: r.slow,
    error: r.error,
  };
}

const tcp = 'tcp,nw_src=198.18.0.1,nw_dst=198.18.0.2,tp_src=1000,tp_dst=80';

describe('ofproto-dpif pipeline', () => {
  it('commits a DSCP rewrite under its six bits and an address without matching nw_proto', () => {
    const b = bridge([
      'in_port=1,tcp,tp_dst=80 actions=mod_nw_src:198.18.0.9,mod_nw_tos:0,output:2',
    ]);
    const r = run(b, `in_port=1,${tcp},nw_tos=0xfc,nw_ecn=3`);
    // Real OVS.
    assert.equal(r.actions, 'set(ipv4(src=198.18.0.9,tos=0/0xfc)),2');
    assert.equal(
      r.mega,
      'recirc_id=0,eth,tcp,in_port=1,nw_src=198.18.0.1,nw_tos=252,nw_frag=no,tp_dst=80',
    );
  });

  it('an address rewrite alone leaves the megaflow on "ip", not the protocol', () => {
    const b = bridge(['in_port=1,ip actions=mod_nw_src:198.18.0.9,output:2']);
    const r = run(b, `in_port=1,${tcp}`);
    assert.equal(r.actions, 'set(ipv4(src=198.18.0.9)),2');
    assert.equal(r.mega, 'recirc_id=0,eth,ip,in_port=1,nw_src=198.18.0.1,nw_frag=no');
  });

  it('a table set to "continue" passes a miss on; the trace names the table asked for', () => {
    const b = bridge(['in_port=3 actions=goto_table:1', 'table=2 actions=output:1'], {
      miss: { 1: 'continue' },
    });
    const r = run(b, `in_port=3,${tcp}`);
    // Real OVS (OpenFlow 1.1 mod-table br0 1 continue).
    assert.equal(r.actions, '1');
    assert.match(r.trace, /\n 1\. priority 32768\n {4}output:1\n/);
    assert.equal(r.mega, 'recirc_id=0,eth,ip,in_port=3,nw_frag=no');
  });

  it('"continue" through every table ends in a packet-in from table 253', () => {
    const b = bridge([], {
      miss: Object.fromEntries([...Array(254).keys()].map((t) => [t, 'continue'])),
    });
    const r = run(b, `in_port=1,${tcp}`);
    assert.equal(r.calls.length, 1);
    assert.equal(r.calls[0]?.tableId, 253);
    assert.equal(r.calls[0]?.reason, 'no_match');
    assert.equal(r.calls[0]?.miss, 'implicit');
  });

  it('"drop" and "controller" override whether a controller wants misses', () => {
    const drop = run(
      bridge([], { miss: { 0: 'drop' }, missToController: true }),
      `in_port=1,${tcp}`,
    );
    assert.equal(drop.actions, 'drop');
    assert.equal(drop.calls.length, 0);
    const ctl = run(bridge([], { miss: { 0: 'controller' } }), `in_port=1,${tcp}`);
    assert.equal(ctl.calls.length, 1);
    const dflt = run(bridge([]), `in_port=1,${tcp}`);
    assert.equal(dflt.calls.length, 0);
  });

  it('fragments: looked up without ports in "normal" mode, dropped in "drop" mode', () => {
    const flows = [
      'priority=75 tcp nw_frag=first tp_dst=80 actions=output:2',
      'priority=50 tcp nw_frag=first actions=output:3',
    ];
    const first = `in_port=1,${tcp},nw_frag=first`;
    assert.equal(run(bridge(flows, { fragHandling: 0 }), first).actions, '3');
    assert.equal(run(bridge(flows, { fragHandling: 3 }), first).actions, '2');
    const d = run(bridge(flows, { fragHandling: 1 }), first);
    assert.equal(d.actions, 'drop');
    // Real OVS.
    assert.match(
      d.trace,
      /\n 0\. Packets are IP fragments and the fragment handling mode is "drop"\.\n {4}drop\n/,
    );
    // An unfragmented packet is not affected.
    assert.equal(run(bridge(flows, { fragHandling: 1 }), `in_port=1,${tcp}`).actions, 'drop');
  });

  it('Neighbor Discovery rewrites become one set(nd(...)) and are slow-pathed', () => {
    const b = bridge([
      'icmp6,icmpv6_type=135 actions=set_field:fe80::1->nd_target,set_field:32:21:14:86:11:74->nd_sll,output:2',
    ]);
    const r = run(
      b,
      'in_port=1,icmp6,ipv6_src=fe80::1,ipv6_dst=fe80::2,nw_ttl=255,icmpv6_type=135,nd_target=fe80::2020,nd_sll=66:55:44:33:22:11',
    );
    // The form real OVS prints for the same rewrite (its ofproto-dpif tests).
    assert.equal(r.actions, 'set(nd(target=fe80::1,sll=32:21:14:86:11:74)),2');
    assert.equal(r.slow, true);
  });

  it('over 64 kB of datapath actions: the translation so far runs in the slow path', () => {
    const flows = [];
    for (let i = 1; i <= 12; i++)
      flows.push(`in_port=${i} actions=resubmit:${i + 1},resubmit:${i + 1},local`);
    flows.push('in_port=13 actions=local,local,local,local,local,local,local,local');
    const r = run(bridge(flows), 'in_port=1');
    // Real OVS: one report, and the slow-path note in the trace.
    assert.equal(r.trace.split('resubmits yielded over 64 kB of actions').length, 2);
    assert.equal(r.slow, true);
    assert.equal(r.error, null);
    const stack = flows.slice(0, 12);
    const push = 'push:NXM_NX_REG0[]';
    stack.push(`in_port=13 actions=${Array(8).fill(push).join(',')}`);
    const s = run(bridge(stack), 'in_port=1');
    assert.equal(s.error, 'Stack too deep');
    assert.equal(s.trace.split('resubmits yielded over 64 kB of stack').length, 2);
  });

  it('packet-ins carry the registers and tunnel id translation had', () => {
    const b = bridge(['in_port=1 actions=load:1->NXM_NX_REG0[],set_tunnel:6,controller']);
    const r = run(b, `in_port=1,${tcp}`);
    assert.equal(r.calls.length, 1);
    const meta = r.calls[0]?.meta ?? [];
    const pairs = new Map<number, number>();
    for (let i = 0; i < meta.length; i += 2) pairs.set(meta[i] as number, meta[i + 1] as number);
    assert.equal(pairs.get(W_REG0), 1);
    assert.equal(pairs.get(W_TUN_ID + 1), 6);
  });

  it('packet-in reasons: group bucket, rule reached from a bucket, action set, table-miss flow', () => {
    const b = bridge(
      [
        'table=0 in_port=1 actions=write_actions(output(CONTROLLER)),goto_table(1)',
        'table=1 actions=group:1',
        'table=2 priority=0 actions=controller',
      ],
      {
        groups: [
          {
            groupId: 1,
            type: 'all',
            buckets: [
              { bucketId: 0, weight: 0, watchPort: 0xffff, watchGroup: 0xffffffff, ofpacts: ctl() },
              {
                bucketId: 1,
                weight: 0,
                watchPort: 0xffff,
                watchGroup: 0xffffffff,
                ofpacts: parse('resubmit(,2)'),
              },
            ],
          },
        ],
      },
    );
    const r = run(b, `in_port=1,${tcp}`);
    assert.deepEqual(
      r.calls.map((c) => [c.reason, c.tableId, c.miss ?? '']),
      [
        ['group', 1, ''],
        ['action', 2, 'explicit'],
        ['action_set', 0, ''],
      ],
    );
  });
});

function parse(actions: string) {
  const r = parseFlowMod(`actions=${actions}`, 'add');
  if (!r.ok) throw new Error(r.error);
  return r.value.ofpacts;
}

function ctl() {
  return parse('output:CONTROLLER');
}

/* A deliberately naive CRC32c (Castagnoli, reflected), bit by bit: the test's own oracle. */
function naiveCrc32c(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const x of b) {
    crc ^= x;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** An IPv4 SCTP frame (12-byte common header, one 4-byte chunk) and `pad` bytes of padding. */
function sctpFrame(pad: number, csumXor: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 16 + pad);
  f.set([0x50, 0x54, 0, 0, 0, 2, 0x50, 0x54, 0, 0, 0, 1, 0x08, 0x00]);
  f.set([0x45, 0, 0, 36, 0, 0, 0, 0, 64, 132, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2], 14);
  f.set([0x04, 0x58, 0x08, 0xaf, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 4], 34);
  for (let i = 0; i < pad; i++) f[50 + i] = 0xa5;
  setSctpCsum(f, naiveCrc32c(f.subarray(34, 50)) ^ csumXor);
  return f;
}

function setSctpCsum(f: Uint8Array, c: number): void {
  // Stored least significant byte first (RFC 4960 appendix B).
  for (let i = 0; i < 4; i++) f[42 + i] = (c >>> (8 * i)) & 0xff;
}

function sctpCsum(f: Uint8Array): number {
  return (f[42] | (f[43] << 8) | (f[44] << 16) | (f[45] << 24)) >>> 0;
}

describe('SCTP port rewrite', () => {
  function rewrite(frame: Uint8Array): Uint8Array {
    let out: Uint8Array | null = null;
    const ex = new OdpExecutor({
      output: (_p, fr, off, len) => {
        out = fr.slice(off, off + len);
      },
      userspace: () => {},
      recirculate: () => {},
    });
    const buf = new Uint8Array(256);
    buf.set(frame);
    const key = new Uint32Array(FLOW_WORDS);
    const layers = new Int32Array(N_LAYERS);
    extractFlow(buf, 0, frame.length, 1, key, layers);
    ex.load(buf, 0, frame.length, key, layers);
    ex.execute(parseOdpActions('set(sctp(src=85)),1'));
    if (out === null) throw new Error('no output');
    return out;
  }

  it('recomputes the CRC over the IP payload, not the Ethernet padding', () => {
    const out = rewrite(sctpFrame(48, 0));
    const fresh = out.slice();
    fresh.fill(0, 42, 46);
    assert.equal(sctpCsum(out), naiveCrc32c(fresh.subarray(34, 50)));
  });

  it('keeps a wrong checksum wrong by the same difference (as OVS does)', () => {
    const out = rewrite(sctpFrame(0, 0x1234));
    const fresh = out.slice();
    fresh.fill(0, 42, 46);
    assert.equal(sctpCsum(out), (naiveCrc32c(fresh.subarray(34, 50)) ^ 0x1234) >>> 0);
  });
});
