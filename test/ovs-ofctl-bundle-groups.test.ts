/**
 * Bundles (`bundle` files of flow and group lines, `--bundle` on group commands) and OVS's group
 * selection-method property (selection_method, selection_method_param, fields) side by side
 * with real ovs-ofctl 3.1 on real ovs-vswitchd: same output, same switch state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run, type Switch, startSwitch, stopSwitch, writeWith } from './ovs-ofctl-harness.ts';

let sw: Switch;

before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

/* Runs a writing command with each tool from the same start and compares output and state. */
function sameWrite(args: string[], reset: () => void, state: () => string): void {
  reset();
  const r = run(sw, 'real', args);
  const rs = state();
  reset();
  const o = run(sw, 'ours', args);
  const os = state();
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
  assert.equal(os, rs, `switch state after ${args.join(' ')}`);
}

describe('bundles side by side with real ovs-ofctl on real ovs-vswitchd', () => {
  /* Same start (the flows and groups `setup` leaves), same output, same switch state. */
  function sameBundle(args: string[], input?: string): void {
    const r = writeWith(sw, 'real', args, ['priority=3,in_port=2,actions=drop'], input);
    const o = writeWith(sw, 'ours', args, ['priority=3,in_port=2,actions=drop'], input);
    assert.equal(o.run.stdout, r.run.stdout, `stdout of ${args.join(' ')}`);
    assert.equal(o.run.stderr, r.run.stderr, `stderr of ${args.join(' ')}`);
    assert.equal(o.run.status, r.run.status, `status of ${args.join(' ')}`);
    assert.equal(o.state, r.state, `switch state after ${args.join(' ')}`);
  }

  it('bundle: flow and group lines in one atomic bundle, OpenFlow 1.4 implied', () => {
    const good =
      'flow add in_port=1,actions=drop\ngroup add group_id=5,type=all,bucket=output:1\n flow delete in_port=2\nflow add priority=7,ip,actions=output:2\n';
    const failing =
      'flow add in_port=1,actions=drop\ngroup add group_id=5,type=all\ngroup add group_id=5,type=all\n';
    for (const v of [[], ['-O', 'OpenFlow13'], ['-O', 'OpenFlow15'], ['-O', 'OpenFlow10']]) {
      sameBundle([...v, 'bundle', 'br0', '-'], good);
      sameBundle([...v, 'bundle', 'br0', '-'], failing);
    }
    sameBundle(['bundle', 'br0', '-'], 'meter add x\n');
    sameBundle(['bundle', 'br0', '-'], 'flow add in_port=bogus,actions=drop\n');
    sameBundle(['bundle', 'br0', '/nonexistent/file']);
  });

  it('--bundle add-group and del-groups', () => {
    sameBundle([
      '-O',
      'OpenFlow14',
      '--bundle',
      'add-group',
      'br0',
      'group_id=1,type=all,bucket=output:1',
    ]);
    sameBundle(
      ['-O', 'OpenFlow15', '--bundle', 'add-groups', 'br0', '-'],
      'group_id=1,type=all\ngroup_id=1,type=all\n',
    );
    sameBundle(['-O', 'OpenFlow14', '--bundle', 'del-groups', 'br0']);
  });
});

describe('group selection methods side by side with real ovs-ofctl', () => {
  const base = (): void => {
    assert.equal(run(sw, 'real', ['-O', 'OpenFlow15', 'del-groups', 'br0']).status, 0);
    const r = run(sw, 'real', [
      '-O',
      'OpenFlow15',
      'add-group',
      'br0',
      'group_id=1,type=select,selection_method=hash,fields=ip_src,bucket=output:1',
    ]);
    assert.equal(r.status, 0, r.stderr);
  };
  const groups = (): string =>
    run(sw, 'real', ['-O', 'OpenFlow15', 'dump-groups', 'br0']).stdout +
    run(sw, 'real', ['dump-groups', 'br0']).stdout;

  it('selection_method, selection_method_param and fields in OF1.0, 1.3 and 1.5', () => {
    for (const [v, spec] of [
      [
        'OpenFlow15',
        'group_id=1,type=select,selection_method=hash,fields(ip_src,nw_proto),bucket=output:1',
      ],
      [
        'OpenFlow15',
        'group_id=2,type=select,selection_method=dp_hash,selection_method_param=7,bucket=output:1',
      ],
      ['OpenFlow10', 'group_id=3,type=select,selection_method=hash,fields=ip_src,bucket=output:1'],
      ['OpenFlow13', 'group_id=3,type=select,selection_method=hash,fields=ip_src,bucket=output:1'],
      [
        'OpenFlow15',
        'group_id=4,type=select,selection_method=hash,fields(eth_dst,ip_dst,tcp_dst,nw_src),bucket=output:1',
      ],
      [
        'OpenFlow15',
        'group_id=4,type=select,selection_method=dp_hash,fields=ip_src,bucket=output:1',
      ],
      ['OpenFlow15', 'group_id=4,type=select,selection_method_param=5,bucket=output:1'],
      [
        'OpenFlow15',
        'group_id=4,type=select,selection_method=hash,fields(ip_src,bogus,nw_proto),bucket=output:1',
      ],
      [
        'OpenFlow15',
        'group_id=4,type=select,selection_method=hash,fields(ip_src,ip_src),bucket=output:1',
      ],
    ]) {
      sameWrite(['-O', v, 'add-group', 'br0', spec], base, groups);
    }
    sameWrite(
      ['-O', 'OpenFlow15', 'del-groups', 'br0', 'group_id=1,selection_method=hash'],
      base,
      groups,
    );
    sameWrite(
      [
        '-O',
        'OpenFlow15',
        '--may-create',
        'mod-group',
        'br0',
        'group_id=5,type=select,selection_method=dp_hash,bucket=output:2',
      ],
      base,
      groups,
    );
  });
});
