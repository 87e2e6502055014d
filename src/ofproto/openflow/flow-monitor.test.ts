import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { hex } from './bytes.ts';
import { parseFlowMod } from './flow-mod-parse.ts';
import {
  decodeFlowMonitorMessage,
  encodeFlowMonitorMessage,
  encodeFlowMonitorPause,
  encodeFlowUpdates,
  type FlowMonitorRequest,
  type FullFlowUpdate,
  OFPFMF,
} from './flow-monitor.ts';

/* Real ovs-ofctl 3.1 decodes what we encode: the oracle for the wire forms. */
function ofpPrint(b: Uint8Array): string {
  const r = spawnSync('/usr/bin/ovs-ofctl', ['ofp-print', hex(b)], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

function flow(text: string) {
  const fm = parseFlowMod(text, 'add');
  assert.ok(fm.ok);
  return fm.value;
}

const f1 = flow('table=3,cookie=0x99,idle_timeout=5,tcp,tp_dst=80,actions=output:2');
const update: FullFlowUpdate = {
  event: 'added',
  reason: 'idle',
  tableId: 3,
  idleTimeout: 5,
  hardTimeout: 0,
  priority: 100,
  cookie: 0x99n,
  match: f1.match,
  ofpacts: f1.ofpacts,
};

test('flow updates in every version read back in real ovs-ofctl ofp-print', () => {
  const cases: [number, string][] = [
    [1, 'NXST_FLOW_MONITOR reply (xid=0x0):'],
    [4, 'ONFST_FLOW_MONITOR reply (OF1.3) (xid=0x0):'],
    [5, 'OFPST_FLOW_MONITOR reply (OF1.4) (xid=0x0):'],
    [6, 'OFPST_FLOW_MONITOR reply (OF1.5) (xid=0x0):'],
  ];
  for (const [v, head] of cases) {
    const [b] = encodeFlowUpdates(v, 0, [
      update,
      { ...update, event: 'removed', reason: 'hard', ofpacts: [] },
      { event: 'abbrev', xid: 0x1234 },
    ]);
    const text = ofpPrint(b);
    assert.equal(
      text,
      `${head}\n event=ADDED table=3 idle_timeout=5 cookie=0x99 tcp,tp_dst=80 actions=output:2\n` +
        ` event=DELETED reason=hard table=3 idle_timeout=5 cookie=0x99 tcp,tp_dst=80\n` +
        ` event=ABBREV xid=0x1234\n`,
      `version ${v}`,
    );
  }
});

test('requests, cancels and pause notices read back in real ovs-ofctl ofp-print', () => {
  const rq: FlowMonitorRequest = {
    id: 3,
    command: 'add',
    flags: OFPFMF.INITIAL | OFPFMF.ADD | OFPFMF.INSTRUCTIONS,
    outPort: 2,
    outGroup: 0xffffffff,
    tableId: 1,
    match: flow('udp,actions=drop').match,
  };
  const req = (v: number) =>
    ofpPrint(
      encodeFlowMonitorMessage({
        version: v,
        xid: 9,
        msg: { type: 'flow_monitor_request', flags: 0, requests: [rq] },
      }),
    );
  assert.equal(
    req(1),
    'NXST_FLOW_MONITOR request (xid=0x9):\n id=3 flags=initial,add,actions out_port=2 table=1 udp\n',
  );
  assert.equal(
    req(4),
    'ONFST_FLOW_MONITOR request (OF1.3) (xid=0x9):\n id=3 flags=initial,add,actions out_port=2 table=1 udp\n',
  );
  assert.equal(
    req(5),
    'OFPST_FLOW_MONITOR request (OF1.4) (xid=0x9):\n id=3 flags=initial,add,actions out_port=2 table=1 udp\n',
  );
  const cancel = (v: number) =>
    ofpPrint(
      encodeFlowMonitorMessage({ version: v, xid: 2, msg: { type: 'flow_monitor_cancel', id: 3 } }),
    );
  assert.equal(cancel(1), 'NXT_FLOW_MONITOR_CANCEL (xid=0x2): id=3\n');
  assert.equal(cancel(4), 'ONFT_FLOW_MONITOR_CANCEL (OF1.3) (xid=0x2): id=3\n');
  assert.equal(cancel(5), 'OFPST_FLOW_MONITOR request (OF1.4) (xid=0x2):\n id=3 command=delete\n');
  assert.equal(ofpPrint(encodeFlowMonitorPause(1, true)), 'NXT_FLOW_MONITOR_PAUSED (xid=0x0):\n');
  assert.equal(
    ofpPrint(encodeFlowMonitorPause(4, false)),
    'ONFT_FLOW_MONITOR_RESUMED (OF1.3) (xid=0x0):\n',
  );
  assert.equal(
    ofpPrint(encodeFlowMonitorPause(5, true)),
    'OFPST_FLOW_MONITOR reply (OF1.4) (xid=0x0):\n event=PAUSED\n',
  );
});

test('updates round-trip through decode in every version; long lists split with "more"', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 4, 5, 6),
      fc.array(
        fc.record({
          ev: fc.constantFrom('added', 'removed', 'modified') as fc.Arbitrary<
            'added' | 'removed' | 'modified'
          >,
          cookie: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
          prio: fc.integer({ min: 0, max: 0xffff }),
          idle: fc.integer({ min: 0, max: 0xffff }),
        }),
        { maxLength: 8 },
      ),
      (v, xs) => {
        const ups: FullFlowUpdate[] = xs.map((x) => ({
          ...update,
          event: x.ev,
          reason: x.ev === 'removed' ? 'delete' : 'idle',
          cookie: x.cookie,
          priority: x.prio,
          idleTimeout: x.idle,
        }));
        const [b, ...more] = encodeFlowUpdates(v, 7, ups);
        assert.equal(more.length, 0);
        const d = decodeFlowMonitorMessage(b);
        assert.ok(d?.ok && d.frame.msg.type === 'flow_monitor_reply');
        const got = d.frame.msg.updates;
        assert.equal(got.length, ups.length);
        for (const [i, u] of got.entries()) {
          assert.ok(u.event === ups[i].event && 'cookie' in u);
          assert.equal(u.cookie, ups[i].cookie);
          assert.equal(u.priority, ups[i].priority);
          assert.equal(u.idleTimeout, ups[i].idleTimeout);
        }
      },
    ),
    { numRuns: 60 },
  );
  const many = encodeFlowUpdates(
    5,
    1,
    Array.from({ length: 2000 }, () => update),
  );
  assert.ok(many.length > 1);
  for (const [i, m] of many.entries()) {
    assert.ok(m.length <= 0xffff);
    assert.equal((m[2] << 8) | m[3], m.length);
    assert.equal(m[11], i < many.length - 1 ? 1 : 0, 'OFPSF_REPLY_MORE on all but the last');
  }
  const total = many.reduce((n, m) => {
    const d = decodeFlowMonitorMessage(m);
    assert.ok(d?.ok && d.frame.msg.type === 'flow_monitor_reply');
    return n + d.frame.msg.updates.length;
  }, 0);
  assert.equal(total, 2000);
});

test('malformed requests give OVS errors, never a throw', () => {
  const ok = encodeFlowMonitorMessage({
    version: 1,
    xid: 1,
    msg: {
      type: 'flow_monitor_request',
      flags: 0,
      requests: [
        {
          id: 1,
          command: 'add',
          flags: OFPFMF.ADD,
          outPort: 0xffff,
          outGroup: 0xffffffff,
          tableId: 0xff,
          match: flow('actions=drop').match,
        },
      ],
    },
  });
  const badFlags = ok.slice();
  badFlags[24 + 5] = 0x40;
  const r = decodeFlowMonitorMessage(badFlags);
  assert.ok(r && !r.ok && r.error.error === 'OFPMOFC_BAD_FLAGS');
  fc.assert(
    fc.property(fc.integer({ min: 8, max: ok.length - 1 }), (n) => {
      const cut = ok.slice(0, n);
      cut[2] = n >> 8;
      cut[3] = n & 0xff;
      const d = decodeFlowMonitorMessage(cut);
      assert.ok(d === null || !d.ok || d.frame.msg.type === 'flow_monitor_request');
    }),
  );
});
