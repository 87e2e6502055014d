/**
 * Asynchronous messages per role and configuration, side by side with real ovs-vswitchd 3.1
 * (the scenario of OVS's "requestforward" and "asynchronous message control" tests): three
 * real `ovs-ofctl monitor` controllers on the management socket (OpenFlow 1.5, 1.4, 1.3) take
 * roles and set asynchronous masks with raw messages (`ovs-appctl ofctl/send`), then group
 * mods, meter mods, table-mod vacancy settings, flow and port changes happen. Each
 * controller must print the same on both switches: role status to a demoted master,
 * request forwarding and table status only where enabled, port status and flow removed
 * filtered by the masks of the role.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

const OFCTL = '/usr/bin/ovs-ofctl';
const APPCTL = '/usr/bin/ovs-appctl';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctl {
  name: string;
  version: string;
  proc: ChildProcess;
  out: string;
}

function normalize(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.includes('|fatal_signal|'))
    .map((l) =>
      l
        .replace(/ \(xid=0x[0-9a-f]+\)/g, '')
        .replace(/ duration=?[0-9.]+s/g, '')
        .replace(/addr:[0-9a-f:]+/g, 'addr:X'),
    )
    .join('\n');
}

async function run(which: 'real' | 'ours'): Promise<Record<string, string>> {
  const s: Stack = await startStack({ which });
  const ctls: Ctl[] = [];
  try {
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy'],
      ...['fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15'],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const ofctl = (args: string[]) => {
      const x = spawnSync(OFCTL, args, { env: s.env, encoding: 'utf8', cwd: ROOT });
      assert.equal(x.status, 0, `${args.join(' ')}: ${x.stderr}`);
    };
    const appctl = (c: Ctl, args: string[]) => {
      const x = spawnSync(APPCTL, ['-t', join(s.dir, c.name), ...args], {
        env: s.env,
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(x.status, 0, `${c.name} ${args.join(' ')}: ${x.stderr}`);
    };
    for (const [name, version] of [
      ['c1', 'OpenFlow15'],
      ['c2', 'OpenFlow14'],
      ['c3', 'OpenFlow13'],
    ]) {
      const proc = spawn(
        OFCTL,
        ['-O', version, 'monitor', 'br0', `--unixctl=${join(s.dir, name)}`, '--no-chdir'],
        { env: s.env },
      );
      const c: Ctl = { name, version, proc, out: '' };
      proc.stdout?.on('data', (d: Buffer) => {
        c.out += d.toString();
      });
      proc.stderr?.on('data', (d: Buffer) => {
        c.out += d.toString();
      });
      ctls.push(c);
    }
    const [c1, c2, c3] = ctls;
    for (let i = 0; ; i++) {
      const ok = ctls.every(
        (c) =>
          spawnSync(APPCTL, ['-t', join(s.dir, c.name), 'ofctl/barrier'], {
            env: s.env,
            timeout: 5000,
          }).status === 0,
      );
      if (ok) break;
      assert.ok(i < 100, 'monitors did not come up');
      await sleep(50);
    }
    const send = (c: Ctl, hex: string) => {
      appctl(c, ['ofctl/send', hex]);
      appctl(c, ['ofctl/barrier']);
    };
    // c1 (OF1.5) secondary, c2 (OF1.4) primary, c3 (OF1.3) equal.
    send(c1, '061800180000000300000003000000008000000000000002');
    send(c2, '051800180000000300000002000000008000000000000003');
    // c1: packet-in 0x5, port status delete only, flow removed hard/group/meter deletes,
    // request forward of group and meter mods, table status both vacancy events.
    send(
      c1,
      [
        '061c003000000002',
        '0000000800000005',
        '0002000800000002',
        '000400080000001a',
        '000a000800000003',
        '0008000800000018',
      ].join(''),
    );
    // c2 (a service connection: this turns its asynchronous messages on): request forward
    // and table status as master.
    send(c2, '051c001800000002000b0008000000030009000800000018');
    // A group mod from c2 goes to c1 (OF1.5 encoding) and nowhere else.
    send(c2, '050f002000000002000000000000000100100000ffffffffffffffff00000000');
    // A meter mod and a group mod from another connection.
    ofctl(['-O', 'OpenFlow13', 'add-meter', 'br0', 'meter=1,kbps,band=type=drop,rate=1000']);
    ofctl(['-O', 'OpenFlow13', 'add-group', 'br0', 'group_id=2,type=all,bucket=output:1']);
    // Vacancy events for table 1 (no flow limit: 100% empty, 99% with flows).
    ofctl(['-O', 'OpenFlow14', 'mod-table', 'br0', '1', 'vacancy:100,100']);
    ofctl(['add-flow', 'br0', 'table=1,in_port=1,actions=output:2']);
    ofctl(['add-flow', 'br0', 'table=1,in_port=2,actions=output:2']);
    const desc = spawnSync(OFCTL, ['-O', 'OpenFlow14', 'dump-table-desc', 'br0'], {
      env: s.env,
      encoding: 'utf8',
    });
    // Flow removed: a delete (not enabled for c1) and a group deletion (enabled).
    ofctl(['add-flow', 'br0', 'send_flow_rem,in_port=3,actions=drop']);
    ofctl(['del-flows', 'br0', 'in_port=3']);
    ofctl(['-O', 'OpenFlow13', 'add-flow', 'br0', 'send_flow_rem,in_port=4,actions=group:2']);
    ofctl(['-O', 'OpenFlow13', 'del-groups', 'br0', 'group_id=2']);
    // Port status: an add (not enabled for c1), then a delete (enabled).
    vsctl(s, ['add-port', 'br0', 'p5', '--', 'set', 'interface', 'p5', 'type=dummy']);
    vsctl(s, ['del-port', 'br0', 'p5']);
    // c3 becomes primary: c2 hears of it by a role status; then c2 again: c3 hears (ONF).
    send(c3, '041800180000000300000002000000008000000000000004');
    send(c2, '051800180000000300000002000000008000000000000005');
    // What each now reports as its asynchronous configuration.
    send(c1, '061a000800000009');
    send(c2, '051a000800000009');
    send(c3, '041a000800000009');
    for (const c of ctls) appctl(c, ['ofctl/barrier']);
    await sleep(300);
    return {
      ...Object.fromEntries(ctls.map((c) => [c.name, normalize(c.out)])),
      desc: normalize(desc.stdout + desc.stderr),
    };
  } finally {
    for (const c of ctls) c.proc.kill();
    stopStack(s);
  }
}

describe('asynchronous messages against real ovs-vswitchd', () => {
  it('role status, request forwarding, table status and async masks match real OVS', async () => {
    const real = await run('real');
    const ours = await run('ours');
    assert.match(real.c1, /OFPT_REQUESTFORWARD \(OF1.5\): reason=group_mod/);
    assert.match(real.c2, /OFPT_ROLE_STATUS \(OF1.4\): role=secondary/);
    assert.match(real.c3, /ONFT_ROLE_STATUS \(OF1.3\)|OFPT_ROLE_STATUS \(OF1.3\)/);
    assert.match(real.c1, /OFPT_GET_ASYNC_REPLY \(OF1.5\)/);
    assert.match(real.c1, /OFPT_TABLE_STATUS/);
    assert.match(
      real.desc,
      /table 1:\n.*\n +vacancy=on vacancy_down=100% vacancy_up=100% vacancy=99%/,
    );
    for (const c of ['c1', 'c2', 'c3', 'desc']) assert.equal(ours[c], real[c], c);
  });
});
