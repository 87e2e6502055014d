/**
 * The rest of ovs-ofctl side by side with real ovs-ofctl 3.1 on real ovs-vswitchd 3.1:
 * group, meter and port writes, replace-flows, diff-flows, packet-out (checked by the port counters it moves), monitor
 * (packet-ins from netdev-dummy/receive, port-status), --timeout, get/set-frags, probe,
 * meter-features, ofp-parse and the version-negotiation failure.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeMessage } from '../src/ofproto/openflow/codec.ts';
import { parseFlowMod } from '../src/ofproto/openflow/flow-mod-parse.ts';
import type { FlowModCommand } from '../src/ofproto/openflow/messages.ts';
import {
  mask,
  REAL_OFCTL,
  real,
  resetSwitch,
  run,
  type Switch,
  startSwitch,
  stopSwitch,
  writeWith,
} from './ovs-ofctl-harness.ts';
import { appctl, vsctl } from './vswitchd-harness.ts';

let sw: Switch;

before(async () => {
  sw = await startSwitch();
});
after(() => {
  if (sw) stopSwitch(sw);
});

function same(args: string[], input?: string): void {
  const r = run(sw, 'real', args, input);
  const o = run(sw, 'ours', args, input);
  assert.equal(o.stdout, r.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.stderr, r.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.status, r.status, `status of ${args.join(' ')}`);
}

const SETUP = [
  'priority=5,in_port=1,actions=output:2',
  'table=2,priority=7,ip,actions=drop',
  'cookie=0x10,priority=9,tcp,tp_dst=80,actions=output:1',
];

function sameWrite(args: string[], setup: string[] = SETUP, input?: string): void {
  const r = writeWith(sw, 'real', args, setup, input);
  const o = writeWith(sw, 'ours', args, setup, input);
  assert.equal(o.run.stdout, r.run.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(o.run.stderr, r.run.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(o.run.status, r.run.status, `status of ${args.join(' ')}`);
  assert.equal(o.state, r.state, `switch state after ${args.join(' ')}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PACKET = 'ffffffffffff000000000001080045000014000100004000f97cc0a80001c0a80002';

describe('ovs-ofctl tools side by side with real ovs-ofctl', () => {
  describe('writing groups, meters and ports', () => {
    it('add-group, mod-group and del-groups', () => {
      sameWrite([
        '-O',
        'OpenFlow13',
        'add-group',
        'br0',
        'group_id=1,type=all,bucket=output:1,bucket=output:2',
      ]);
      sameWrite(['-O', 'OpenFlow15', 'add-group', 'br0', 'group_id=3,type=all,bucket=output:1']);
      sameWrite(['add-group', 'br0', 'group_id=1,type=all,bucket=output:1']);
      sameWrite(['-O', 'OpenFlow13', 'add-group', 'br0', 'group_id=1']);
      sameWrite(['-O', 'OpenFlow13', 'mod-group', 'br0', 'group_id=1,type=all,bucket=output:1']);
      sameWrite(['-O', 'OpenFlow13', 'del-groups', 'br0']);
      sameWrite(['--may-create', 'mod-group', 'br0', 'group_id=4,type=all,bucket=output:1']);
      sameWrite([
        '-O',
        'OpenFlow13',
        '--may-create',
        'mod-group',
        'br0',
        'group_id=4,type=all,bucket=output:1',
      ]);
      sameWrite(['-O', 'OpenFlow13', 'insert-buckets', 'br0', 'group_id=1,bucket=output:2']);
      sameWrite(['-O', 'OpenFlow15', 'insert-buckets', 'br0', 'group_id=1,bucket=output:2']);
      sameWrite([
        '-O',
        'OpenFlow15',
        'insert-buckets',
        'br0',
        'group_id=1,command_bucket_id=first,bucket=output:2',
      ]);
      sameWrite(['-O', 'OpenFlow15', 'remove-buckets', 'br0', 'group_id=1,command_bucket_id=5']);
      sameWrite(
        ['-O', 'OpenFlow13', 'add-groups', 'br0', '-'],
        SETUP,
        'group_id=4,type=indirect,bucket=output:2\n',
      );
    });
    it('add-meter and del-meters', () => {
      sameWrite(['-O', 'OpenFlow13', 'add-meter', 'br0', 'meter=1,kbps,band=type=drop,rate=1000']);
      sameWrite(['add-meter', 'br0', 'meter=1,kbps,band=type=drop,rate=1000']);
      sameWrite(['-O', 'OpenFlow13', 'add-meter', 'br0', 'meter=1,band=type=drop,rate=1000']);
      sameWrite(['-O', 'OpenFlow13', 'del-meters', 'br0']);
      sameWrite(['-O', 'OpenFlow13', 'mod-meter', 'br0', 'meter=7,kbps,band=type=drop,rate=5']);
    });
    it('mod-port changes what show prints', () => {
      same(['mod-port', 'br0', 'p1', 'down']);
      same(['show', 'br0']);
      same(['-O', 'OpenFlow13', 'mod-port', 'br0', '1', 'up']);
      same(['-O', 'OpenFlow13', 'show', 'br0']);
      same(['mod-port', 'br0', 'p7', 'up']);
    });
  });

  it('replace-flows deletes, adds and changes what differs (and --readd, --bundle)', () => {
    const file = join(sw.stack.dir, 'replace.txt');
    writeFileSync(
      file,
      'priority=5,in_port=1,actions=output:2\ntable=1,priority=9,ip,actions=drop\ncookie=0x5,arp,actions=NORMAL\n',
    );
    sameWrite(['replace-flows', 'br0', file]);
    sameWrite(['-O', 'OpenFlow13', 'replace-flows', 'br0', file]);
    sameWrite(['--readd', '-O', 'OpenFlow13', 'replace-flows', 'br0', file]);
    sameWrite(['-O', 'OpenFlow14', '--bundle', 'replace-flows', 'br0', file]);
    sameWrite(['replace-flows', 'br0', join(sw.stack.dir, 'missing.txt')]);
  });

  it('diff-flows between a switch and files, with exit status 2 on differences', () => {
    resetSwitch(sw, SETUP);
    const a = join(sw.stack.dir, 'a.txt');
    writeFileSync(
      a,
      'priority=5,in_port=1,actions=output:2\ntable=1,priority=9,ip,actions=drop\ncookie=0x5,arp,actions=NORMAL\n',
    );
    same(['diff-flows', 'br0', a]);
    same(['diff-flows', a, 'br0']);
    same(['diff-flows', a, a]);
    same(['-O', 'OpenFlow13', 'diff-flows', 'br0', a]);
    same(['diff-flows', 'br0', 'br0']);
    same(['diff-flows', 'br0', '/nonexistent']);
  });

  it('packet-out sends the packet (port 2 counts it) and reports errors as OVS does', () => {
    const txPackets = (): string =>
      /tx pkts=(\d+)/.exec(real(sw, ['dump-ports', 'br0', '2']).stdout)?.[1] ?? '';
    const before0 = Number(txPackets());
    same(['packet-out', 'br0', `in_port=1 packet=${PACKET} actions=output:2`]);
    assert.equal(Number(txPackets()), before0 + 2, 'each tool sent one packet');
    same(['packet-out', 'br0', '1', 'output:2', PACKET, PACKET]);
    assert.equal(Number(txPackets()), before0 + 6, 'each tool sent two packets');
    same([
      '-O',
      'OpenFlow13',
      'packet-out',
      'br0',
      `in_port=p1 packet=${PACKET} actions=output:p2`,
    ]);
    same(['packet-out', 'br0', 'in_port=1 packet=00 actions=output:2']);
    same(['packet-out', 'br0', `in_port=1 packet=${PACKET}zz actions=output:2`]);
    same(['packet-out', 'br0', 'in_port=1 actions=output:2']);
    same(['packet-out', 'br0', `in_port=p9 packet=${PACKET} actions=output:2`]);
    same(['packet-out', 'br0', `in_port=1 packet=${PACKET} actions=bogus`]);
    same(['packet-out', 'br0', '1', 'output:2']);
  });

  async function monitor(which: 'real' | 'ours', args: string[]): Promise<string> {
    resetSwitch(sw, [
      'in_port=1,actions=controller',
      'in_port=2,actions=controller:userdata=01.02.03,output:1',
    ]);
    const [cmd, argv] =
      which === 'real' ? [REAL_OFCTL, args] : [process.execPath, [sw.ours, ...args]];
    const p = spawn(cmd, argv, { env: sw.stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      await sleep(800);
      for (const [port, l4] of [
        ['p1', 'proto=6,tos=0,ttl=64,frag=no),tcp(src=8,dst=10)'],
        ['p2', 'proto=17,tos=0,ttl=64,frag=no),udp(src=8,dst=10)'],
      ]) {
        const r = appctl(sw.stack, [
          'netdev-dummy/receive',
          port,
          `in_port(${port.slice(1)}),eth(src=50:54:00:00:00:05,dst=50:54:00:00:00:07),eth_type(0x0800),ipv4(src=192.168.0.1,dst=192.168.0.2,${l4}`,
        ]);
        assert.equal(r.status, 0, r.stderr);
      }
      assert.equal(real(sw, ['mod-port', 'br0', 'p2', 'down']).status, 0);
      assert.equal(real(sw, ['mod-port', 'br0', 'p2', 'up']).status, 0);
      await sleep(400);
    } finally {
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    return mask(out);
  }

  for (const args of [
    ['monitor', 'br0', '65534'],
    ['-O', 'OpenFlow13', 'monitor', 'br0'],
    ['-P', 'nxt_packet_in', 'monitor', 'br0', '100'],
    ['-P', 'standard', 'monitor', 'br0', '100'],
  ]) {
    it(`${args.join(' ')} prints the packet-ins and port-status messages it receives`, async () => {
      const r = await monitor('real', args);
      const o = await monitor('ours', args);
      assert.equal(o, r);
      if (!args.includes('-O')) assert.match(r, /PACKET_IN/);
    });
  }

  it('--timeout ends a command that waits too long with SIGALRM, as OVS does', () => {
    const r = run(sw, 'real', ['--timeout=1', 'monitor', 'br0']);
    const o = run(sw, 'ours', ['--timeout=1', 'monitor', 'br0']);
    assert.equal(o.stderr, r.stderr);
    assert.equal(o.status, r.status);
  });

  it('get-frags, set-frags, probe, meter-features and dump-group-features', () => {
    same(['get-frags', 'br0']);
    same(['set-frags', 'br0', 'drop']);
    same(['get-frags', 'br0']);
    same(['set-frags', 'br0', 'normal']);
    same(['set-frags', 'br0', 'bogus']);
    same(['-O', 'OpenFlow13', 'get-frags', 'br0']);
    same(['probe', 'br0']);
    same(['-O', 'OpenFlow13', 'meter-features', 'br0']);
    same(['meter-features', 'br0']);
    for (const v of ['OpenFlow10', 'OpenFlow11', 'OpenFlow13', 'OpenFlow15']) {
      same(['-O', v, 'dump-group-features', 'br0']);
    }
  });

  it('ofp-parse prints a file of OpenFlow messages', () => {
    const msgs: Uint8Array[] = [];
    const fm = (text: string, command: FlowModCommand, version: number, nxt = false): void => {
      const p = parseFlowMod(text, command);
      assert.ok(p.ok);
      msgs.push(
        encodeMessage({
          version,
          xid: 7,
          msg: { type: 'flow_mod', format: nxt ? 'nxt' : 'standard', ...p.value },
        }),
      );
    };
    fm('priority=5,in_port=1,actions=output:2', 'add', 1);
    fm('table=3,tcp,tp_dst=80,idle_timeout=5,actions=drop', 'add', 4);
    fm('ip,actions=output:1', 'modify', 4);
    fm('reg0=5,actions=resubmit(,2)', 'add', 1, true);
    fm('in_port=1', 'delete', 5);
    msgs.push(
      encodeMessage({
        version: 1,
        xid: 3,
        msg: { type: 'echo_request', data: Uint8Array.of(1, 2) },
      }),
    );
    msgs.push(encodeMessage({ version: 4, xid: 9, msg: { type: 'barrier_reply' } }));
    msgs.push(encodeMessage({ version: 6, xid: 1, msg: { type: 'hello', versions: [1, 4, 6] } }));
    const file = join(sw.stack.dir, 'msgs.bin');
    writeFileSync(file, Buffer.concat(msgs));
    same(['ofp-parse', file]);
    same(['ofp-parse', join(sw.stack.dir, 'missing.bin')]);
  });

  it('tcp: targets (a ptcp listener on the bridge) and --names with reserved ports', async () => {
    resetSwitch(sw, ['priority=2,in_port=1,actions=output:2,output:LOCAL']);
    const srv = createServer();
    const port = await new Promise<number>((res) =>
      srv.listen(0, '127.0.0.1', () => res((srv.address() as AddressInfo).port)),
    );
    await new Promise<void>((res) => srv.close(() => res()));
    const r = vsctl(sw.stack, ['set-controller', 'br0', `ptcp:${port}:127.0.0.1`]);
    assert.equal(r.status, 0, r.stderr);
    try {
      const target = `tcp:127.0.0.1:${port}`;
      for (let i = 0; i < 100 && real(sw, ['probe', target]).status !== 0; i++) await sleep(20);
      same(['show', target]);
      same(['dump-flows', target, 'in_port=1']);
      same(['--names', 'dump-flows', target]);
      same(['--names', '-O', 'OpenFlow13', 'dump-flows', 'br0', 'in_port=p1']);
    } finally {
      vsctl(sw.stack, ['del-controller', 'br0']);
    }
  });

  it('-v debug logs of the connection match (OpenFlow 1.0, where no table features are printed)', () => {
    const v = ['-vvconn:dbg', '-vstream_unix:dbg', '-vofctl:dbg'];
    // The switch's hello xid is its own counter: the one thing two runs do not share.
    const norm = (s: string): string =>
      s.replace(/received: OFPT_HELLO \(OF1\.5\) \(xid=0x[0-9a-f]+\)/g, 'HELLO');
    for (const args of [
      ['dump-desc', 'br0'],
      ['add-flow', 'br0', 'in_port=1,actions=drop'],
      ['add-flow', 'br0', 'actions=group:99'],
      ['packet-out', 'br0', `in_port=1,packet=${PACKET},actions=drop`],
    ]) {
      resetSwitch(sw);
      const r = run(sw, 'real', [...v, ...args]);
      resetSwitch(sw);
      const o = run(sw, 'ours', [...v, ...args]);
      assert.equal(norm(o.stderr), norm(r.stderr), args.join(' '));
      assert.equal(o.stdout, r.stdout);
      assert.equal(o.status, r.status);
      assert.match(r.stderr, /vconn\|DBG\|.*negotiated OpenFlow version 0x01/);
    }
  });

  it('a version mismatch fails the way real ovs-ofctl fails', () => {
    const r = vsctl(sw.stack, ['set', 'bridge', 'br0', 'protocols=OpenFlow10,OpenFlow13']);
    assert.equal(r.status, 0, r.stderr);
    try {
      for (const args of [
        ['-O', 'OpenFlow14', 'show', 'br0'],
        ['-O', 'OpenFlow11,OpenFlow12', 'show', 'br0'],
      ]) {
        const o = run(sw, 'ours', args);
        const rr = run(sw, 'real', args);
        // Whether the switch hung up before our error went out is a race in OVS too.
        const norm = (s: string): string => s.replace(/\((Broken pipe|Protocol error)\)/, '(E)');
        assert.equal(norm(o.stderr), norm(rr.stderr));
        assert.equal(o.status, rr.status);
      }
      same(['-O', 'OpenFlow14,OpenFlow13', 'show', 'br0']);
    } finally {
      vsctl(sw.stack, ['clear', 'bridge', 'br0', 'protocols']);
    }
  });
});
