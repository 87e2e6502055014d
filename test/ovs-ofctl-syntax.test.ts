/**
 * ovs-ofctl syntax that OVS's own tests (ofproto-dpif.at, ofproto.at) use: group bucket
 * weights, the debug_slow and debug_recirc actions, meter specs separated by spaces, and the
 * mod-port words. Each command is run by our ovs-ofctl and by real ovs-ofctl 3.1 against one
 * real ovs-vswitchd 3.1 (--enable-dummy): both must print the same bytes with the same exit
 * status and leave the switch in the same state, as real ovs-ofctl dumps it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Reader, Writer } from '../src/ofproto/openflow/bytes.ts';
import { formatOfpacts } from '../src/ofproto/openflow/ofpact-format.ts';
import { parseOfpacts } from '../src/ofproto/openflow/ofpact-parse.ts';
import {
  decodeActions,
  enableDebugOfpacts,
  putActions,
} from '../src/ofproto/openflow/ofpact-wire.ts';
import {
  resetSwitch,
  run,
  type Switch,
  startSwitch,
  stopSwitch,
  switchState,
  writeWith,
} from './ovs-ofctl-harness.ts';

let sw: Switch;

before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

function sameWrite(args: string[], setup: string[] = []): void {
  const r = writeWith(sw, 'real', args, setup);
  const o = writeWith(sw, 'ours', args, setup);
  assert.equal(o.run.stdout, r.run.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.run.stderr, r.run.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.run.status, r.run.status, `status of ${args.join(' ')}`);
  assert.equal(o.state, r.state, `switch state after ${args.join(' ')}`);
}

function same(args: string[]): void {
  const r = run(sw, 'real', args);
  const o = run(sw, 'ours', args);
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
}

const GROUPS = [
  'group_id=1,type=select,bucket=weight:10,output:1',
  'group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2',
  'group_id=1,type=select,bucket=bucket_id:0,weight:10,actions=output:1,bucket=bucket_id:1,weight:90,actions=output:2',
  'group_id=1234,type=select,bucket=weight:100,actions=output:1',
  'group_id=1,type=all,bucket=weight:5,output:1',
  'group_id=1,type=select,selection_method=dp_hash,bucket=weight:10,output:1',
  'group_id=1,type=select,bucket=actions=output:1,weight:10',
  'group_id=1,type=select,bucket=output:1,weight:0x20,bucket=weight:3,output:2,resubmit(,1)',
  'group_id=1,type=select,bucket=weight:65536,output:1',
  'group_id=1,type=select,bucket=weight:10',
  'group_id=1,type=ff,bucket=output:1',
  'group_id=1,type=ff,bucket=watch_port:1,output:1,bucket=watch_group:2,output:2',
  'group_id=1,type=indirect,bucket=output:1,bucket=output:2',
  'group_id=1,type=all,bucket=output:1,bucket=weight:0,output:2',
];

describe('ovs-ofctl syntax from OVS tests, side by side with real ovs-ofctl 3.1', () => {
  describe('group bucket weights', () => {
    for (const g of GROUPS) {
      for (const v of ['OpenFlow15', 'OpenFlow13', 'OpenFlow11']) {
        it(`${v} add-group ${g}`, () => sameWrite(['-O', v, 'add-group', 'br0', g]));
      }
    }
  });

  describe('debug_slow and debug_recirc', () => {
    for (const f of [
      'actions=debug_slow,output:2',
      'in_port=1,actions=debug_recirc,output:2',
      'actions=debug_recirc,debug_slow,resubmit(,1)',
    ]) {
      for (const v of ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']) {
        it(`${v} add-flow ${f}`, () => sameWrite(['-O', v, 'add-flow', 'br0', f]));
      }
      it(`parse-flow ${f}`, () => same(['parse-flow', f]));
    }
    it('the switch side decodes them only once enabled (ovs-vswitchd --enable-dummy)', () => {
      const p = parseOfpacts('debug_recirc,debug_slow,output:2');
      assert.ok(p.ok);
      const w = new Writer();
      putActions(w, p.value, 4);
      const bytes = w.finish();
      // NXAST_DEBUG_RECIRC (255) then NXAST_DEBUG_SLOW (254), as real ovs-ofctl 3.1 encodes them.
      assert.equal(
        Buffer.from(bytes.subarray(0, 32)).toString('hex'),
        'ffff00100000232000ff000000000000ffff00100000232000fe000000000000',
      );
      assert.throws(() => decodeActions(new Reader(bytes), bytes.length, 4), /BAD_VENDOR_TYPE/);
      enableDebugOfpacts();
      try {
        const back = decodeActions(new Reader(bytes), bytes.length, 4);
        assert.equal(formatOfpacts(back), 'debug_recirc,debug_slow,output:2');
      } finally {
        enableDebugOfpacts(false);
      }
    });
  });

  describe('meters with spaces', () => {
    for (const m of [
      'meter=1 pktps stats bands=type=drop rate=1',
      'meter=1 pktps burst stats bands=type=drop rate=10 burst_size=20',
      'meter=2 kbps bands=type=dscp_remark rate=100 prec_level=1',
      'meter=1,pktps,stats,bands=type=drop,rate=1',
      'meter=1 kbps stats bands=type=drop rate=100 type=drop rate=200',
      'meter=1 kbps',
      'meter=1 kbps band',
      'meter=1 bands=type=drop rate=1',
      'kbps bands=type=drop rate=1',
      'meter=0 kbps bands=type=drop rate=1',
      'meter=1 kbps bands=rate=1 type=drop',
      'meter=1 kbps bands=type=drop',
      'meter=1 kbps bands=type=drop rate=1 burst_size=5',
      'meter=1 kbps burst bands=type=drop rate=1',
      'meter=1 kbps bands=type=dscp_remark rate=1',
      'meter=1 kbps bands=type=drop rate=1 prec_level=2',
      'meter=1 kbps bands=type=foo rate=1',
      'meter=1 kbps bands=type=drop rate=x1',
      'meter=1 kbps bands=type=drop rate',
      'meter=1 kbps bogus=2 bands=type=drop rate=1',
      'meter=0x10 kbps bands=type=drop rate=0x100',
    ]) {
      it(`add-meter ${m}`, () => sameWrite(['-O', 'OpenFlow13', 'add-meter', 'br0', m]));
    }
    // Each tool starts from the same two meters, so a delete that does nothing shows.
    const withMeters = (which: 'real' | 'ours', args: string[]) => {
      resetSwitch(sw);
      for (const m of [
        'meter=1 kbps bands=type=drop rate=5',
        'meter=2 pktps bands=type=drop rate=7',
      ]) {
        assert.equal(run(sw, 'real', ['-O', 'OpenFlow13', 'add-meter', 'br0', m]).status, 0);
      }
      return { run: run(sw, which, args), state: switchState(sw) };
    };
    for (const m of ['meter=1', 'meter 1', 'meter=1 kbps', 'meter=all', 'bands=1']) {
      it(`del-meters ${m}`, () => {
        const args = ['-O', 'OpenFlow13', 'del-meters', 'br0', m];
        assert.deepEqual(withMeters('ours', args), withMeters('real', args));
      });
      it(`dump-meters ${m}`, () => same(['-O', 'OpenFlow13', 'dump-meters', 'br0', m]));
    }
  });

  describe('mod-port words', () => {
    for (const w of [
      'noforward',
      'forward',
      'up',
      'down',
      'stp',
      'no-stp',
      'receive',
      'no-receive',
      'receive-stp',
      'no-receive-stp',
      'flood',
      'no-flood',
      'packet-in',
      'no-packet-in',
      'bogus',
      'UP',
      'No-Flood',
      'noflood',
      'no',
    ]) {
      it(`mod-port p1 ${w}`, () => {
        // The opposite word first, so that a tool that changes nothing is caught.
        const undo = w === 'up' ? 'down' : w === 'down' ? 'up' : w.replace(/^no-?/i, '');
        const opposite = undo === w ? `no-${w}` : undo;
        const go = (which: 'real' | 'ours') => {
          run(sw, 'real', ['mod-port', 'br0', 'p1', opposite]);
          const before = run(sw, 'real', ['show', 'br0']).stdout;
          const r = run(sw, which, ['mod-port', 'br0', 'p1', w]);
          return { r, before, after: run(sw, 'real', ['show', 'br0']).stdout };
        };
        const real = go('real');
        const ours = go('ours');
        assert.deepEqual(ours, real);
      });
    }
    for (const args of [
      ['-O', 'OpenFlow13', 'mod-port', 'br0', '2', 'no-flood'],
      ['-O', 'OpenFlow15', 'mod-port', 'br0', 'p2', 'down'],
      ['-O', 'OpenFlow14', 'mod-port', 'br0', 'p2', 'up'],
      ['mod-port', 'br0', 'nosuch', 'down'],
      ['mod-port', 'br0', '99', 'down'],
    ]) {
      it(args.join(' '), () => {
        const r = run(sw, 'real', args);
        const rShow = run(sw, 'real', ['show', 'br0']);
        const o = run(sw, 'ours', args);
        const oShow = run(sw, 'real', ['show', 'br0']);
        assert.deepEqual(o, r);
        assert.equal(oShow.stdout, rShow.stdout);
      });
    }
  });
});
