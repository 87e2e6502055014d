/**
 * Select groups with OVS's selection-method property (selection_method, selection_method_param,
 * fields), added with real ovs-ofctl 3.1 in OpenFlow 1.5 and in OVS's OpenFlow 1.0 extension:
 * `dump-groups` prints the same on our switch as on real ovs-vswitchd, in every version, and a
 * bucket command keeps the property.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const OFCTL = '/usr/bin/ovs-ofctl';

function ofctl(s: Stack, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OFCTL, ['--timeout=10', ...args], { encoding: 'utf8', env: s.env });
  return { status: r.status, out: r.stdout + r.stderr };
}

const STEPS: string[][] = [
  [
    '-O',
    'OpenFlow15',
    'add-group',
    'br0',
    'group_id=1,type=select,selection_method=hash,fields(ip_src,tcp_dst),bucket=bucket_id:1,output:1,bucket=bucket_id:2,output:2',
  ],
  [
    '-O',
    'OpenFlow10',
    'add-group',
    'br0',
    'group_id=2,type=select,selection_method=dp_hash,selection_method_param=7,bucket=output:1',
  ],
  ['-O', 'OpenFlow15', 'add-group', 'br0', 'group_id=3,type=select,bucket=output:2'],
  [
    '-O',
    'OpenFlow15',
    'insert-buckets',
    'br0',
    'group_id=1,command_bucket_id=last,bucket=bucket_id:3,output:3',
  ],
  ['-O', 'OpenFlow10', 'dump-groups', 'br0'],
  ['-O', 'OpenFlow11', 'dump-groups', 'br0'],
  ['-O', 'OpenFlow13', 'dump-groups', 'br0'],
  ['-O', 'OpenFlow15', 'dump-groups', 'br0'],
  ['-O', 'OpenFlow15', 'mod-group', 'br0', 'group_id=1,type=select,bucket=output:1'],
  ['-O', 'OpenFlow15', 'dump-groups', 'br0', '1'],
];

const outputs: Record<'ours' | 'real', string[]> = { ours: [], real: [] };

for (const which of ['real', 'ours'] as const) {
  describe(`selection-method group properties (${which} ovs-vswitchd)`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack({ which });
      const r = vsctl(s, [
        ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
        'protocols=OpenFlow10,OpenFlow11,OpenFlow13,OpenFlow15',
      ]);
      assert.equal(r.status, 0, r.stderr);
      for (const p of ['1', '2', '3']) {
        const a = vsctl(
          s,
          ['add-port', 'br0', `p${p}`, '--', 'set', 'interface', `p${p}`].concat([
            'type=dummy',
            `ofport_request=${p}`,
          ]),
        );
        assert.equal(a.status, 0, a.stderr);
      }
    });
    after(() => stopStack(s));

    it('runs the steps', () => {
      for (const step of STEPS) {
        const r = ofctl(s, step);
        // Real ovs-vswitchd lists groups in no fixed order (a concurrent hash map): sorted.
        const [head = '', ...groups] = r.out.split('\n');
        const out = [head, ...groups.filter((l) => l !== '').sort()].join('\n');
        outputs[which].push(`$ ${step.join(' ')} -> ${r.status}\n${out}\n`);
      }
      assert.match(outputs[which].join(''), /selection_method=hash,fields\(ip_src,tcp_dst\)/);
    });
  });
}

describe('ours against real', () => {
  it('every step prints the same', () => {
    assert.equal(outputs.real.length, STEPS.length, 'the real switch ran first');
    for (let i = 0; i < STEPS.length; i++) assert.equal(outputs.ours[i], outputs.real[i]);
  });
});
