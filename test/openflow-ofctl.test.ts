/**
 * Real ovs-ofctl 3.1 against our connection manager and flow/group/meter tables (a test switch
 * on the management socket `<rundir>/br0.mgmt`), and against real ovs-vswitchd --enable-dummy
 * with the same bridge: every command's output and exit status must be the same, modulo
 * durations and ages, and modulo the order of dumped flows (OVS dumps them in hash order).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Connmgr } from '../src/ofproto/connmgr/connmgr.ts';
import { TestSwitch } from '../src/ofproto/connmgr/test-switch.ts';
import { dummyBridge, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

interface Out {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ofctl(env: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<Out> {
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/ovs-ofctl', ['--timeout=10', ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    p.stdin.on('error', () => {});
    p.stdin.end(stdin ?? '');
  });
}

/* Durations and ages differ run to run; dumped entries come in hash order in OVS. */
function normalize(s: string): string {
  const lines = s
    .replace(/duration=[0-9.]+s/g, 'duration=?s')
    .replace(/duration:[0-9.]+s/g, 'duration:?s')
    .replace(/(idle_age|hard_age)=[0-9]+/g, '$1=?')
    .replace(/unix:\/tmp\/[^/]+\/br0\.mgmt/g, 'unix:RUNDIR/br0.mgmt')
    // ovs-ofctl's own log lines carry the time: the two runs may straddle a second.
    .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|/gm, 'TIME|')
    .split('\n');
  // Keep headers in place; sort runs of entry lines (they start with a space).
  const out: string[] = [];
  let run: string[] = [];
  for (const l of lines) {
    if ((l.startsWith(' ') && !l.startsWith('  ')) || / queue \d+: /.test(l)) run.push(l);
    else {
      out.push(...run.sort(), l);
      run = [];
    }
  }
  out.push(...run.sort());
  return out.join('\n');
}

const LOCAL_MAC = 'e2:43:c9:05:da:40';

describe('ovs-ofctl against our connmgr and real ovs-vswitchd, side by side', () => {
  let real: Stack;
  let ourDir: string;
  let ourEnv: NodeJS.ProcessEnv;
  let cm: Connmgr;

  before(async () => {
    real = await startStack({ which: 'real', ovsdb: 'real' });
    const r = vsctl(real, [
      ...dummyBridge('br0'),
      'other-config:datapath-id=0000000000000001',
      `other-config:hwaddr=${LOCAL_MAC}`,
      '--',
      'add-port',
      'br0',
      'p1',
      '--',
      'set',
      'interface',
      'p1',
      'type=dummy',
      'ofport_request=1',
      '--',
      'add-port',
      'br0',
      'p2',
      '--',
      'set',
      'interface',
      'p2',
      'type=dummy',
      'ofport_request=2',
    ]);
    assert.equal(r.status, 0, r.stderr);
    // Dummy ports get their addresses in creation order: use what real OVS gave them.
    const mac = (name: string): [number, number] => {
      const m = vsctl(real, ['get', 'interface', name, 'mac_in_use']).stdout.trim();
      const h = m.replace(/"/g, '').split(':').join('');
      return [Number.parseInt(h.slice(0, 4), 16), Number.parseInt(h.slice(4), 16)];
    };
    ourDir = mkdtempSync(join(tmpdir(), 'openflow-ours-'));
    ourEnv = { ...process.env, OVS_RUNDIR: ourDir };
    const sw = new TestSwitch('br0', [
      { portNo: 1, name: 'p1', hwAddr: mac('p1') },
      { portNo: 2, name: 'p2', hwAddr: mac('p2') },
      { portNo: 0xfffe, name: 'br0', hwAddr: [0xe243, 0xc905da40] },
    ]);
    cm = new Connmgr(sw, { rundir: ourDir });
    await cm.ready;
  });

  after(() => {
    cm?.close();
    if (ourDir) rmSync(ourDir, { recursive: true, force: true });
    if (real) stopStack(real);
  });

  /* Runs each command on both switches in turn and compares what ovs-ofctl printed. */
  async function same(cmds: Array<string | [string, string]>): Promise<string[]> {
    const shown: string[] = [];
    for (const c of cmds) {
      const [line, stdin] = typeof c === 'string' ? [c, undefined] : c;
      const args = line.split(' ');
      const theirs = await ofctl(real.env, args, stdin);
      const ours = await ofctl(ourEnv, args, stdin);
      const t = `[${theirs.status}] ${normalize(theirs.stdout)}${normalize(theirs.stderr)}`;
      const o = `[${ours.status}] ${normalize(ours.stdout)}${normalize(ours.stderr)}`;
      assert.equal(o, t, `ovs-ofctl ${line}`);
      shown.push(t);
    }
    return shown;
  }

  const reset = ['del-flows br0', '-O OpenFlow13 del-groups br0', '-O OpenFlow13 del-meters br0'];

  test('show, dump-desc, dump-tables and dump-ports-desc in every version', async () => {
    const out = await same([
      'show br0',
      '-O OpenFlow13 show br0',
      '-O OpenFlow14 show br0',
      '-O OpenFlow15 show br0',
      'dump-desc br0',
      'dump-tables br0',
      '-O OpenFlow13 dump-tables br0',
      '-O OpenFlow15 dump-tables br0',
      'dump-ports-desc br0',
      '-O OpenFlow14 dump-ports-desc br0',
      '-O OpenFlow13 dump-ports-desc br0 p1',
      '-O OpenFlow15 dump-ports-desc br0 2',
      '-O OpenFlow13 dump-table-features br0',
      '-O OpenFlow15 dump-table-features br0',
    ]);
    assert.match(out[0], /dpid:0000000000000001/);
    assert.match(out[0], /LOCAL\(br0\): addr:e2:43:c9:05:da:40/);
  });

  test('the standalone bridge starts with priority=0 actions=NORMAL', async () => {
    const out = await same(['dump-flows br0', '-O OpenFlow13 dump-flows br0']);
    assert.match(out[0], /priority=0 actions=NORMAL/);
  });

  for (const ver of ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']) {
    test(`add-flow, add-flows, mod-flows, del-flows and dumps with -O ${ver}`, async () => {
      const o = `-O ${ver}`;
      const flows = [
        'priority=10,in_port=1,actions=output:2',
        'priority=20,ip,nw_src=198.18.0.0/16,actions=drop',
        'table=1,priority=5,tcp,tp_dst=80,actions=output:1',
        'cookie=0x10,priority=30,arp,actions=NORMAL',
        'cookie=0x11,table=2,idle_timeout=100,hard_timeout=200,priority=7,dl_vlan=5,actions=strip_vlan,output:1',
        'priority=40,udp,actions=mod_tp_dst:53,output:2',
        'priority=50,reg0=5,actions=resubmit(,3)',
      ];
      const out = await same([
        ...reset,
        `${o} add-flow br0 priority=1,in_port=2,actions=output:1`,
        [`${o} add-flows br0 -`, `${flows.join('\n')}\n`],
        `${o} dump-flows br0`,
        `${o} --no-stats dump-flows br0`,
        `${o} dump-flows br0 table=1`,
        `${o} dump-flows br0 ip`,
        `${o} dump-flows br0 cookie=0x10/-1`,
        `${o} dump-flows br0 out_port=1`,
        `${o} dump-aggregate br0`,
        `${o} dump-aggregate br0 table=2`,
        `${o} mod-flows br0 in_port=1,actions=output:LOCAL`,
        `${o} mod-flows br0 cookie=0x10/0xff,actions=drop`,
        `${o} --strict mod-flows br0 priority=10,in_port=1,actions=output:2`,
        `${o} --no-stats dump-flows br0`,
        `${o} del-flows br0 out_port=2`,
        `${o} --no-stats dump-flows br0`,
        `${o} --strict del-flows br0 priority=20,ip,nw_src=198.18.0.0/16`,
        `${o} del-flows br0 table=1`,
        `${o} --no-stats dump-flows br0`,
        `${o} -O ${ver} dump-tables br0`,
        `${o} del-flows br0`,
        `${o} dump-flows br0`,
      ]);
      assert.ok(
        out.some((x) => x.includes('tp_dst=80')),
        'flows were dumped',
      );
    });
  }

  test('flow_mod errors come back as real OVS sends them', async () => {
    await same([
      ...reset,
      '-O OpenFlow13 add-flow br0 actions=group:99',
      '-O OpenFlow13 add-flow br0 actions=meter:7,output:1',
      '-O OpenFlow13 add-flow br0 ip,actions=set_field:80->tcp_dst',
      'add-flow br0 priority=5,in_port=1,actions=drop',
      'add-flow br0 priority=5,ip,check_overlap,actions=drop',
      '-O OpenFlow13 add-flow br0 priority=5,ip,check_overlap,actions=drop',
      '-O OpenFlow13 add-flow br0 table=254,actions=drop',
      '--no-stats dump-flows br0',
    ]);
  });

  test('groups: add, modify, insert/remove buckets, dump, stats, delete with their flows', async () => {
    await same([
      ...reset,
      '-O OpenFlow13 add-group br0 group_id=1,type=all,bucket=output:1,bucket=output:2',
      '-O OpenFlow13 add-group br0 group_id=2,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2',
      '-O OpenFlow13 add-group br0 group_id=3,type=indirect,bucket=output:1',
      '-O OpenFlow13 add-group br0 group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2',
      '-O OpenFlow13 add-group br0 group_id=1,type=all,bucket=output:1',
      '-O OpenFlow13 add-group br0 group_id=5,type=indirect,bucket=output:1,bucket=output:2',
      '-O OpenFlow13 dump-groups br0',
      '-O OpenFlow15 dump-groups br0',
      '-O OpenFlow13 dump-groups br0 2',
      '-O OpenFlow13 mod-group br0 group_id=3,type=indirect,bucket=output:2',
      '-O OpenFlow13 mod-group br0 group_id=9,type=all,bucket=output:2',
      '-O OpenFlow15 insert-buckets br0 group_id=1,command_bucket_id=first,bucket=bucket_id:7,output:LOCAL',
      '-O OpenFlow15 remove-buckets br0 group_id=1,command_bucket_id=last',
      '-O OpenFlow15 dump-groups br0 1',
      '-O OpenFlow13 add-flow br0 in_port=1,actions=group:1',
      '-O OpenFlow13 add-flow br0 in_port=2,actions=group:2',
      '-O OpenFlow13 dump-group-stats br0',
      '-O OpenFlow13 del-groups br0 group_id=1',
      '-O OpenFlow13 --no-stats dump-flows br0',
      '-O OpenFlow13 dump-groups br0',
      '-O OpenFlow13 dump-group-features br0',
      '-O OpenFlow13 del-groups br0',
      '-O OpenFlow13 dump-groups br0',
    ]);
  });

  test('meters: add, modify, dump, stats, features, delete with their flows', async () => {
    await same([
      ...reset,
      '-O OpenFlow13 add-meter br0 meter=1,kbps,band=type=drop,rate=1000',
      '-O OpenFlow13 add-meter br0 meter=2,pktps,burst,stats,band=type=drop,rate=10,burst_size=5',
      '-O OpenFlow13 add-meter br0 meter=1,kbps,band=type=drop,rate=1000',
      '-O OpenFlow13 add-meter br0 meter=3,kbps,band=type=dscp_remark,rate=100,prec_level=1',
      '-O OpenFlow13 mod-meter br0 meter=1,kbps,band=type=drop,rate=2000',
      '-O OpenFlow13 mod-meter br0 meter=9,kbps,band=type=drop,rate=2000',
      '-O OpenFlow13 dump-meters br0',
      '-O OpenFlow15 dump-meters br0',
      '-O OpenFlow13 dump-meter br0 meter=2',
      '-O OpenFlow13 add-flow br0 in_port=1,actions=meter:1,output:2',
      '-O OpenFlow13 meter-stats br0',
      '-O OpenFlow13 meter-features br0',
      '-O OpenFlow13 del-meter br0 meter=1',
      '-O OpenFlow13 --no-stats dump-flows br0',
      '-O OpenFlow13 del-meters br0',
      '-O OpenFlow13 dump-meters br0',
    ]);
  });

  test('bundles: --bundle add-flows commits all or nothing', async () => {
    const good = 'in_port=1,actions=drop\nin_port=2,actions=output:1\n';
    const bad = 'in_port=3,actions=drop\nin_port=4,actions=group:77\n';
    await same([
      ...reset,
      ['-O OpenFlow14 --bundle add-flows br0 -', good],
      '-O OpenFlow14 --bundle add-flow br0 in_port=5,actions=drop',
      ['-O OpenFlow14 --bundle add-flows br0 -', bad],
      ['-O OpenFlow13 --bundle add-flows br0 -', bad],
      '-O OpenFlow13 --bundle del-flows br0 in_port=1',
      '-O OpenFlow14 --no-stats dump-flows br0',
    ]);
  });

  for (const ver of ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']) {
    test(`ovs-ofctl -O ${ver} monitor prints the same flow-removed messages`, async () => {
      const watch = async (env: NodeJS.ProcessEnv): Promise<string> => {
        await ofctl(env, ['del-flows', 'br0']);
        const mon = spawn('/usr/bin/ovs-ofctl', ['-O', ver, 'monitor', 'br0', '65534'], { env });
        // ovs-ofctl monitor prints what it receives on stderr.
        let out = '';
        mon.stdout.on('data', (d) => (out += d));
        mon.stderr.on('data', (d) => (out += d));
        // Wait until the monitor has set its miss_send_len (its requests are answered).
        await new Promise((r) => setTimeout(r, 300));
        await ofctl(env, [
          'add-flow',
          'br0',
          'in_port=1,send_flow_rem,idle_timeout=50,actions=drop',
        ]);
        await ofctl(env, ['add-flow', 'br0', 'in_port=2,actions=drop']);
        await ofctl(env, ['del-flows', 'br0', 'in_port=1']);
        await ofctl(env, ['del-flows', 'br0', 'in_port=2']);
        for (let i = 0; i < 200 && !out.includes('reason=delete'); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        mon.kill('SIGTERM');
        await new Promise((r) => mon.once('close', r));
        const lines = out.split('\n').filter((l) => !l.includes('|fatal_signal|'));
        return normalize(lines.join('\n').replace(/duration[0-9.]+s/g, 'duration?s'));
      };
      const theirs = await watch(real.env);
      const ours = await watch(ourEnv);
      assert.match(theirs, /reason=delete/);
      assert.equal(ours, theirs);
    });
  }

  test('port stats, queue stats and config requests', async () => {
    await same([
      'dump-ports br0 1',
      '-O OpenFlow13 get-frags br0',
      'set-frags br0 normal',
      '-O OpenFlow13 queue-stats br0',
    ]);
  });
});
