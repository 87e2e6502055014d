/*
 * Groups and meters against real ovs-ofctl 3.1: its add-group / add-meter bytes (captured by
 * our passive peer) must decode to what our text parser reads, and its dump-groups /
 * dump-meters output of our replies must equal our printers'.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { hex, Reader, Writer } from './bytes.ts';
import { encodeMessage } from './codec.ts';
import { OfpError } from './errors.ts';
import {
  formatGroup,
  formatGroupMod,
  type GroupDesc,
  type GroupMod,
  parseGroupMod,
  pullGroupMod,
  putGroupMod,
} from './group.ts';
import { formatMeterConfig, formatMeterMod, type MeterMod, parseMeterMod } from './meter.ts';
import { capture } from './ovs-ofctl-peer.ts';

const GROUPS = [
  'group_id=1,type=all,bucket=output:1,bucket=output:2',
  'group_id=2,type=select,bucket=weight:100,watch_port:3,actions=output:3,bucket=weight:50,actions=mod_dl_src:00:00:00:00:00:01,output:4',
  'group_id=3,type=ff,bucket=watch_port:1,output:1,bucket=watch_group:5,output:2',
  'group_id=4,type=indirect,bucket=actions=set_queue:3,resubmit(,3)',
];
const VERSIONS: Array<[string, number]> = [
  ['OpenFlow11', 2],
  ['OpenFlow13', 4],
  ['OpenFlow15', 6],
];

function groupModFrom(c: Awaited<ReturnType<typeof capture>>): GroupMod {
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(c.rejected, []);
  const f = c.frames.find((x) => x.msg.type === 'group_mod');
  assert.ok(f && f.msg.type === 'group_mod');
  const { type: _t, ...g } = f.msg;
  return g;
}

describe('groups', () => {
  for (const [proto, version] of VERSIONS) {
    for (const text of GROUPS) {
      it(`${proto} add-group ${text}`, async () => {
        const got = groupModFrom(await capture(['-O', proto, '--no-names'], ['add-group', text]));
        const p = parseGroupMod(text, 'add');
        assert.ok(p.ok, p.ok ? '' : p.error);
        // Our bytes for the parsed group must read back as what ovs-ofctl sent.
        const w = new Writer();
        putGroupMod(w, p.value, version);
        const ours = pullGroupMod(new Reader(w.finish()), version);
        assert.deepEqual(ours, got);
        // And real ovs-ofctl prints our group-mod as we do.
        const bytes = encodeMessage({ version, xid: 2, msg: { type: 'group_mod', ...ours } });
        const printed = execFileSync('ovs-ofctl', ['ofp-print', hex(bytes)])
          .toString()
          .split('\n')[1];
        assert.equal(printed, formatGroupMod(ours, version));
      });
    }
  }
  it('OpenFlow 1.0 add-group uses the NXT group-mod', async () => {
    const got = groupModFrom(await capture(['--no-names'], ['add-group', GROUPS[1]]));
    const p = parseGroupMod(GROUPS[1], 'add');
    assert.ok(p.ok);
    assert.equal(got.buckets.length, 2);
    assert.equal(got.buckets[0].weight, 100);
    assert.deepEqual(got.buckets[1].ofpacts, p.value.buckets[1].ofpacts);
  });
  for (const [proto, version] of VERSIONS.slice(1)) {
    it(`${proto} dump-groups prints our groups as our printer`, async () => {
      const groups: GroupDesc[] = GROUPS.map((t) => {
        const p = parseGroupMod(t, 'add');
        assert.ok(p.ok);
        return { groupType: p.value.groupType, groupId: p.value.groupId, buckets: p.value.buckets };
      });
      const c = await capture(['-O', proto], ['dump-groups'], { groups });
      assert.equal(c.code, 0, c.stderr);
      const lines = c.stdout.split('\n').filter((l) => l.startsWith(' '));
      // What ovs-ofctl got went through the wire; compare with our printer on the same.
      const viaWire = groups.map((g) => {
        const w = new Writer();
        putGroupMod(w, { command: 'add', commandBucketId: 0xffffffff, ...g }, version);
        const back = pullGroupMod(new Reader(w.finish()), version);
        return ` ${formatGroup(back, version)}`;
      });
      assert.deepEqual(lines, viaWire);
    });
  }
  it('rejects bad group text and bad bucket bytes', () => {
    assert.equal(parseGroupMod('type=all,bucket=output:1', 'add').ok, false);
    assert.equal(parseGroupMod('group_id=1,type=bogus', 'add').ok, false);
    assert.equal(parseGroupMod('group_id=1,type=all,bucket=frob:1', 'add').ok, false);
    const r = new Reader(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0]));
    assert.throws(
      () => pullGroupMod(r, 4),
      (e: unknown) => e instanceof OfpError && e.error === 'OFPGMFC_BAD_BUCKET',
    );
  });
});

const METERS = [
  'meter=1,kbps,burst,band=type=drop,rate=100,burst_size=10',
  'meter=2,pktps,stats,band=type=dscp_remark,rate=1000,prec_level=1',
];

describe('meters', () => {
  for (const text of METERS) {
    it(`OpenFlow13 add-meter ${text}`, async () => {
      const c = await capture(['-O', 'OpenFlow13', '--no-names'], ['add-meter', text]);
      assert.equal(c.code, 0, c.stderr);
      const f = c.frames.find((x) => x.msg.type === 'meter_mod');
      assert.ok(f && f.msg.type === 'meter_mod');
      const { type: _t, ...got } = f.msg;
      const p = parseMeterMod(text, 'add');
      assert.ok(p.ok, p.ok ? '' : p.error);
      assert.deepEqual(got, p.value);
      const bytes = encodeMessage({ version: 4, xid: 2, msg: { type: 'meter_mod', ...p.value } });
      const printed = execFileSync('ovs-ofctl', ['ofp-print', hex(bytes)]).toString();
      assert.equal(printed.replace(/^.*?:/, ''), formatMeterMod(p.value as MeterMod));
    });
  }
  it('dump-meters prints our meters as our printer', async () => {
    const meters = METERS.map((t) => {
      const p = parseMeterMod(t, 'add');
      assert.ok(p.ok);
      const { command: _c, ...m } = p.value;
      return m;
    });
    const c = await capture(['-O', 'OpenFlow13'], ['dump-meters'], { meters });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.replace(/^.*\n/, ''), meters.map((m) => formatMeterConfig(m)).join('\n'));
  });
  it('rejects what ovs-ofctl rejects', () => {
    const r = parseMeterMod('meter=1,band=type=drop,rate=100', 'add');
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /either 'kbps' or 'pktps'/);
  });
});
