import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatOdpActions } from '../../../dpif/netdev/odp-actions.ts';
import { Classifier } from '../../../lib/classifier/classifier.ts';
import { parseExactFlow } from '../../../lib/flow/match-parse.ts';
import type { Continuation } from '../../openflow/continuation.ts';
import {
  decodeContinuation,
  encodeContinuation,
  formatContinuationLines,
} from '../../openflow/continuation.ts';
import { parseFlowMod } from '../../openflow/flow-mod-parse.ts';
import { formatOfpact } from '../../openflow/ofpact-format.ts';
import { MacLearning } from '../mac-learning.ts';
import { TRUNK_ALL } from '../vlan.ts';
import { resumeOfpacts, stackBitsToBytes, stackBytesToBits } from './freeze.ts';
import { normalBridge } from './normal.ts';
import { type ControllerCall, type XBridge, type XPort, type XRule, xlate } from './xlate.ts';

function bridge(flows: string[]): XBridge {
  const cls = new Map<number, Classifier<XRule>>();
  for (const text of flows) {
    const r = parseFlowMod(text, 'add');
    if (!r.ok) throw new Error(r.error);
    const fm = r.value;
    const t = fm.tableId === 255 ? 0 : fm.tableId;
    if (!cls.has(t)) cls.set(t, new Classifier<XRule>());
    const rule: XRule = {
      tableId: t,
      match: fm.match,
      priority: fm.priority,
      cookie: fm.newCookie === 0xffffffffffffffffn ? 0n : fm.newCookie,
      ofpacts: fm.ofpacts,
      removed: false,
    };
    cls.get(t)?.replace(fm.match, fm.priority, rule);
  }
  const ports: XPort[] = [1, 2, 3, 4].map((n) => ({
    name: `p${n}`,
    ofpPort: n,
    odpPort: n,
    peer: null,
    noFlood: false,
    noFwd: false,
    noPacketIn: false,
    live: true,
  }));
  return {
    name: 'br0',
    tables: { lookup: (t, key, wc) => cls.get(t)?.lookup(key, wc)?.data ?? null },
    groups: null,
    ports: new Map(ports.map((p) => [p.ofpPort, p])),
    floodOrder: ports,
    normal: normalBridge(
      ports.map((p) => ({
        name: p.name,
        ofpPort: p.ofpPort as never,
        odpPort: p.odpPort as never,
        vlan: TRUNK_ALL,
        floodable: true,
        mirrorOut: false,
      })),
    ),
    macs: new MacLearning(),
    missToController: false,
    mirrors: [],
    sflowSampling: 0,
    netflow: false,
    portName: (p) => `p${p}`,
    uuid: new Uint8Array(16).fill(7),
  };
}

const PKT = 'in_port=1,ip,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_ttl=64';

function run(b: XBridge, resume?: Continuation) {
  const r = parseExactFlow(PKT);
  if (!r.ok) throw new Error(r.error);
  const calls: ControllerCall[] = [];
  const x = xlate({
    world: { bridge: () => b },
    bridge: b,
    flow: r.key,
    sideEffects: true,
    trace: null,
    controllerId: (c) => calls.push(c),
    ofpacts: resume ? resumeOfpacts(resume) : undefined,
  });
  const cont = calls.find((c) => c.continuation)?.continuation;
  return { text: formatOdpActions(x.actions), calls, cont };
}

/* As a controller sees it: through the OpenFlow 1.0 wire form. */
function lines(c: Continuation | undefined): string[] {
  assert.ok(c);
  const wire = decodeContinuation(encodeContinuation(c, 1) as Uint8Array, 1);
  return formatContinuationLines(wire, (acts) => acts.map((a) => formatOfpact(a)).join(','));
}

describe('freezing a translation at controller(pause)', () => {
  const b = bridge([
    'table=0,cookie=0x5,in_port=1,actions=set_field:1->reg0,push:NXM_NX_REG0[],resubmit(,1),output:4',
    'table=1,cookie=0x7,actions=output:2,controller(pause),resubmit(,2),write_metadata:1/1,goto_table:2',
    'table=2,actions=output:3',
  ]);

  it('stops where the pause is and sends a continuation packet-in', () => {
    const r = run(b);
    assert.equal(
      r.text,
      '2,userspace(pid=0,controller(reason=1,dont_send=0,continuation=1,recirc_id=1,rule_cookie=0x5,controller_id=0,max_len=65535))',
    );
    // OVS reports table 0 and the cookie of the frame the pause unwound to.
    assert.equal(r.calls.length, 1);
    assert.equal(r.calls[0]?.tableId, 0);
    assert.equal(r.calls[0]?.cookie, 5n);
  });

  it('keeps each frame`s remaining actions, innermost first, behind table/cookie markers', () => {
    // As real ovs-ofctl 3.1 printed real ovs-vswitchd's continuation for these flows (but
    // output:3 last there): stack, markers, goto_table as resubmit, write_metadata as a load.
    assert.deepEqual(lines(run(b).cont), [
      ' continuation.bridge=07070707-0707-0707-0707-070707070707',
      ' continuation.stack=(top) 0x1 (bottom)',
      ' continuation.actions=unroll_xlate(table=0, cookie=0),resubmit(,2),load:0x1->OXM_OF_METADATA[0],resubmit(,2),unroll_xlate(table=0, cookie=5),output:4',
      ' continuation.odp_port=1',
    ]);
  });

  it('goes on from the continuation when resumed, without repeating what ran', () => {
    const r = run(b, run(b).cont);
    assert.equal(r.text, '3,3,4');
    assert.equal(r.calls.length, 0);
  });
});

describe('stack values in continuations', () => {
  it('turn into whole big-endian bytes and back (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 128 }),
        (bits) => {
          const bytes = stackBitsToBytes(bits);
          assert.equal(bytes.length, Math.ceil(bits.length / 8));
          const back = stackBytesToBits(bytes);
          assert.deepEqual(back.slice(0, bits.length), bits);
          assert.ok(back.slice(bits.length).every((x) => x === 0));
        },
      ),
    );
    assert.deepEqual(Array.from(stackBitsToBytes([1, 0, 0, 0, 0, 0, 0, 0, 1])), [1, 1]);
  });
});
