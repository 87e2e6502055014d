import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  allowsCvlan,
  bitmapHas,
  includesVlan,
  inputVidRefusal,
  makeHdr,
  portVlanEquals,
  portVlanFromColumns,
  TRUNK_ALL,
  trunksVlan,
  vlanBitmapFromArray,
  vlanBitmapToArray,
  xvlanExtract,
  xvlanInputTranslate,
  xvlanOutputTranslate,
  xvlanPutWord,
} from './vlan.ts';

const oc = (k: string, v: string) => new Map([[k, v]]);

describe('Port VLAN columns (ovs-vswitchd.conf.db(5), Port table)', () => {
  test('no VLAN columns: a trunk of every VLAN', () => {
    assert.deepEqual(portVlanFromColumns({}), TRUNK_ALL);
  });

  test('tag alone makes an access port and ignores trunks', () => {
    const p = portVlanFromColumns({ tag: 10, trunks: [20] });
    assert.equal(p.mode, 'access');
    assert.equal(p.vlan, 10);
    assert.equal(p.trunks, null);
    assert.equal(trunksVlan(p, 20), false);
  });

  test('trunks alone makes a trunk port of those VLANs', () => {
    const p = portVlanFromColumns({ trunks: [20, 10, 20] });
    assert.equal(p.mode, 'trunk');
    assert.equal(p.vlan, -1);
    assert.ok(p.trunks);
    assert.deepEqual(vlanBitmapToArray(p.trunks), [10, 20]);
  });

  test('explicit trunk mode ignores tag', () => {
    const p = portVlanFromColumns({ tag: 10, vlanMode: 'trunk' });
    assert.equal(p.vlan, -1);
    assert.equal(trunksVlan(p, 10), true);
    assert.equal(trunksVlan(p, 11), true);
  });

  test('native modes always trunk their VLAN and never VLAN 0', () => {
    for (const vlanMode of ['native-tagged', 'native-untagged']) {
      const some = portVlanFromColumns({ tag: 10, trunks: [0, 20], vlanMode });
      assert.ok(some.trunks);
      assert.deepEqual(vlanBitmapToArray(some.trunks), [10, 20]);
      const all = portVlanFromColumns({ tag: 10, vlanMode });
      assert.ok(all.trunks);
      assert.equal(trunksVlan(all, 0), false);
      assert.equal(trunksVlan(all, 4095), true);
      assert.equal(vlanBitmapToArray(all.trunks).length, 4095);
    }
  });

  test('a native mode without a tag uses VLAN 0 and the trunks as given', () => {
    const p = portVlanFromColumns({ trunks: [5], vlanMode: 'native-untagged' });
    assert.equal(p.vlan, 0);
    assert.ok(p.trunks);
    assert.deepEqual(vlanBitmapToArray(p.trunks), [5]);
  });

  test('dot1q-tunnel: cvlans, 802.1ad outer tag unless qinq-ethtype=802.1q', () => {
    const p = portVlanFromColumns({ tag: 10, vlanMode: 'dot1q-tunnel', cvlans: [20] });
    assert.equal(p.qinqEthtype, 0x88a8);
    assert.equal(allowsCvlan(p, 20), true);
    assert.equal(allowsCvlan(p, 0), false);
    const q = portVlanFromColumns({
      tag: 10,
      vlanMode: 'dot1q-tunnel',
      otherConfig: oc('qinq-ethtype', '802.1q'),
    });
    assert.equal(q.qinqEthtype, 0x8100);
    assert.equal(q.cvlans, null);
    assert.equal(portVlanFromColumns({ vlanMode: 'dot1q-tunnel' }).vlan, 0);
  });

  test('priority-tags values', () => {
    const pt = (v: string) =>
      portVlanFromColumns({ otherConfig: oc('priority-tags', v) }).priorityTags;
    assert.equal(pt('true'), 'if-nonzero');
    assert.equal(pt('if-nonzero'), 'if-nonzero');
    assert.equal(pt('always'), 'always');
    assert.equal(pt('false'), 'never');
    assert.equal(pt('bogus'), 'never');
  });

  test('out-of-range tags and unknown modes fall back as ovs-vswitchd does', () => {
    assert.equal(portVlanFromColumns({ tag: 4096 }).mode, 'trunk');
    assert.equal(portVlanFromColumns({ tag: -1 }).mode, 'trunk');
    assert.equal(portVlanFromColumns({ tag: 10, vlanMode: 'weird' }).mode, 'trunk');
    assert.equal(vlanBitmapFromArray([]), null);
    assert.equal(vlanBitmapFromArray([5000, -1]), null, 'nothing valid means all');
  });

  test('equality of resolved settings', () => {
    assert.ok(
      portVlanEquals(
        portVlanFromColumns({ trunks: [1, 2] }),
        portVlanFromColumns({ trunks: [2, 1] }),
      ),
    );
    assert.ok(
      portVlanEquals(portVlanFromColumns({ tag: 5, trunks: [7] }), portVlanFromColumns({ tag: 5 })),
    );
    assert.ok(!portVlanEquals(portVlanFromColumns({ trunks: [1] }), portVlanFromColumns({})));
    assert.ok(!portVlanEquals(portVlanFromColumns({ tag: 5 }), portVlanFromColumns({ tag: 6 })));
    assert.ok(
      !portVlanEquals(
        portVlanFromColumns({ tag: 5, vlanMode: 'dot1q-tunnel' }),
        portVlanFromColumns({
          tag: 5,
          vlanMode: 'dot1q-tunnel',
          otherConfig: oc('qinq-ethtype', '802.1q'),
        }),
      ),
    );
  });

  test('bitmaps hold exactly the listed VIDs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { minLength: 1 }), (vids) => {
        const b = vlanBitmapFromArray(vids);
        assert.ok(b);
        assert.deepEqual(
          vlanBitmapToArray(b),
          [...vids].sort((x, y) => x - y),
        );
        for (const v of vids) assert.ok(bitmapHas(b, v));
      }),
    );
  });
});

describe('ingress and egress rules', () => {
  const access = portVlanFromColumns({ tag: 10 });
  const trunk = portVlanFromColumns({ trunks: [10, 20] });
  const nt = portVlanFromColumns({ tag: 10, trunks: [20], vlanMode: 'native-tagged' });
  const nu = portVlanFromColumns({ tag: 10, trunks: [20], vlanMode: 'native-untagged' });
  const tun = portVlanFromColumns({ tag: 10, vlanMode: 'dot1q-tunnel', cvlans: [20, 30] });
  const out = new Uint32Array(2);

  test('what each mode admits', () => {
    assert.equal(inputVidRefusal(access, 0), null);
    assert.equal(inputVidRefusal(access, 10), 'tagged-on-access');
    assert.equal(inputVidRefusal(trunk, 0), 'not-trunked');
    assert.equal(inputVidRefusal(trunk, 20), null);
    assert.equal(inputVidRefusal(trunk, 30), 'not-trunked');
    assert.equal(inputVidRefusal(TRUNK_ALL, 0), null);
    for (const p of [nt, nu]) {
      assert.equal(inputVidRefusal(p, 0), null);
      assert.equal(inputVidRefusal(p, 10), null);
      assert.equal(inputVidRefusal(p, 20), null);
      assert.equal(inputVidRefusal(p, 30), 'not-trunked');
    }
    assert.equal(inputVidRefusal(tun, 0), 'cvlan-excluded');
    assert.equal(inputVidRefusal(tun, 30), null);
  });

  test('xvlan extraction stops at a missing CFI or a non-VLAN TPID', () => {
    xvlanExtract(0x8100300a, 0x88a81014, out);
    assert.deepEqual([...out], [0x8100200a, 0x88a80014]);
    xvlanExtract(0x8100000a, 0x88a81014, out);
    assert.deepEqual([...out], [0, 0]);
    xvlanExtract(0x8100100a, 0x99991014, out);
    assert.deepEqual([...out], [0x8100000a, 0]);
  });

  test('input translation per mode', () => {
    const prio = makeHdr(0x8100, 0, 0xa000);
    xvlanInputTranslate(access, prio, 0, out);
    assert.deepEqual([...out], [makeHdr(0x8100, 10, 0xa000), 0], 'access keeps a priority tag PCP');
    xvlanInputTranslate(access, 0, 0, out);
    assert.deepEqual([...out], [makeHdr(0x8100, 10, 0), 0]);
    xvlanInputTranslate(nu, makeHdr(0x8100, 20, 0), 0, out);
    assert.deepEqual([...out], [makeHdr(0x8100, 20, 0), 0]);
    xvlanInputTranslate(nu, 0, 0, out);
    assert.deepEqual([...out], [makeHdr(0x8100, 10, 0), 0]);
    xvlanInputTranslate(tun, makeHdr(0x8100, 20, 0x6000), makeHdr(0x8100, 5, 0), out);
    assert.deepEqual(
      [...out],
      [makeHdr(0x88a8, 10, 0), makeHdr(0x8100, 20, 0x6000)],
      'third tag lost',
    );
  });

  test('output translation per mode', () => {
    const v10 = makeHdr(0x8100, 10, 0x2000);
    const v20 = makeHdr(0x8100, 20, 0);
    xvlanOutputTranslate(access, v10, 0, out);
    assert.deepEqual([...out], [0, 0]);
    xvlanOutputTranslate(trunk, v10, v20, out);
    assert.deepEqual([...out], [v10, v20]);
    xvlanOutputTranslate(nt, v10, 0, out);
    assert.deepEqual([...out], [v10, 0], 'native-tagged keeps its VLAN tagged');
    xvlanOutputTranslate(nu, v10, 0, out);
    assert.deepEqual([...out], [0, 0], 'native-untagged strips its VLAN');
    xvlanOutputTranslate(nu, v20, 0, out);
    assert.deepEqual([...out], [v20, 0]);
    xvlanOutputTranslate(tun, makeHdr(0x88a8, 10, 0), v20, out);
    assert.deepEqual([...out], [v20, 0], 'dot1q-tunnel pops the outer tag');
  });

  test('which ports a VLAN floods to', () => {
    const v = (vid: number) => makeHdr(0x8100, vid, 0);
    assert.equal(includesVlan(access, v(10), 0), true);
    assert.equal(includesVlan(access, v(10), v(5)), false);
    assert.equal(includesVlan(access, v(20), 0), false);
    assert.equal(includesVlan(trunk, v(20), v(5)), true);
    assert.equal(includesVlan(trunk, 0, 0), false);
    assert.equal(includesVlan(nu, v(10), 0), true);
    assert.equal(includesVlan(nu, 0, 0), false);
    assert.equal(includesVlan(tun, v(10), v(20)), true);
    assert.equal(includesVlan(tun, v(10), 0), false);
    assert.equal(includesVlan(tun, v(20), v(20)), false);
  });

  test('xvlan_put: a header goes out when VID or PCP is set, or always with priority-tags=always', () => {
    assert.equal(xvlanPutWord(0, 'never'), 0);
    assert.equal(xvlanPutWord(makeHdr(0, 0, 0xa000), 'never'), 0x8100b000);
    assert.equal(xvlanPutWord(makeHdr(0x88a8, 7, 0), 'never'), 0x88a81007);
    assert.equal(xvlanPutWord(makeHdr(0x8100, 0, 0), 'never'), 0);
    assert.equal(xvlanPutWord(makeHdr(0x8100, 0, 0), 'always'), 0x81001000);
    assert.equal(xvlanPutWord(makeHdr(0, 0, 0), 'always'), 0);
  });
});
