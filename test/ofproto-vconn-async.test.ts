/**
 * The switch's side of OpenFlow conversations, side by side with real ovs-vswitchd 3.1
 * (--enable-dummy): the vconn debug log of each message sent and received and the
 * "flow_mods in the last N s" report, port-status messages after a port-mod, NXT_SET_ASYNC_CONFIG2
 * enabling request forwarding on an OpenFlow 1.0 connection, the packet-in reasons an
 * OpenFlow 1.3 get-async reply can carry, a controller change flushing groups and meters, and
 * our ovs-ofctl sending a packet-out with dec_ttl on a non-IP packet in OpenFlow 1.2.
 * Real ovs-ofctl monitors and commands drive both switches; each must print the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appctl, ROOT, type Stack, sideBySide, vsctl } from './vswitchd-harness.ts';

const OFCTL = '/usr/bin/ovs-ofctl';
const APPCTL = '/usr/bin/ovs-appctl';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Monitor {
  name: string;
  proc: ChildProcess;
  out: string;
}

interface Seen {
  vconnLog: string;
  flowModsLog: string;
  portStatus: string;
  forwarded: string;
  getAsync13: string;
  groupsAfterController: string;
  metersAfterController: string;
  packetOut12: { status: number | null; stderr: string };
  /** dump-tables after Flow_Table settings, by real ovs-ofctl and by ours. */
  dumpTables: { real: string; ours: string; real12: string; ours12: string };
}

function normalize(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) =>
      l
        .replace(/ \(xid=0x[0-9a-f]+\)/g, '')
        .replace(/ duration=?[0-9.]+s,?/g, '')
        .replace(/addr:[0-9a-f:]+/g, 'addr:X'),
    )
    .join('\n');
}

async function scenario(s: Stack): Promise<Seen> {
  const mons: Monitor[] = [];
  const ofctl = (args: string[]) => {
    const x = spawnSync(OFCTL, args, { env: s.env, encoding: 'utf8', timeout: 10_000 });
    assert.equal(x.status, 0, `${args.join(' ')}: ${x.stderr}`);
    return x.stdout;
  };
  const monAppctl = (m: Monitor, args: string[]) => {
    const x = spawnSync(APPCTL, ['-t', join(s.dir, m.name), ...args], {
      env: s.env,
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(x.status, 0, `${m.name} ${args.join(' ')}: ${x.stderr}`);
  };
  const monitor = async (name: string, version: string): Promise<Monitor> => {
    const proc = spawn(
      OFCTL,
      ['-O', version, 'monitor', 'br0', `--unixctl=${join(s.dir, name)}`, '--no-chdir'],
      { env: s.env },
    );
    const m: Monitor = { name, proc, out: '' };
    proc.stdout?.on('data', (d: Buffer) => {
      m.out += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      m.out += d.toString();
    });
    mons.push(m);
    for (let i = 0; ; i++) {
      const r = spawnSync(APPCTL, ['-t', join(s.dir, name), 'ofctl/barrier'], {
        env: s.env,
        timeout: 5000,
      });
      if (r.status === 0) break;
      assert.ok(i < 100, `${name} did not come up`);
      await sleep(50);
    }
    return m;
  };
  const send = (m: Monitor, hex: string) => {
    monAppctl(m, ['ofctl/send', hex]);
    monAppctl(m, ['ofctl/barrier']);
  };
  const take = async (m: Monitor): Promise<string> => {
    monAppctl(m, ['ofctl/barrier']);
    await sleep(200);
    const text = m.out;
    m.out = '';
    // What ofctl/send and ofctl/barrier themselves print is not the switch's doing.
    return normalize(
      text
        .split('\n')
        .filter((l) => !/^(send: |OFPT_BARRIER_REPLY|sent$)/.test(l) && !l.includes('|'))
        .join('\n'),
    );
  };
  try {
    const r = vsctl(s, [
      ...['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy', 'fail_mode=secure'],
      'other-config:datapath-id=fedcba9876543210',
      'protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15',
      ...['--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'type=dummy'],
      'ofport_request=1',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(appctl(s, ['vlog/set', 'vconn:dbg']).status, 0);

    // The vconn log of one plain and one bundled conversation, and the flow_mods report.
    ofctl(['del-flows', 'br0']);
    ofctl([
      '-O',
      'OpenFlow14',
      '--no-names',
      '--bundle',
      'add-flow',
      'br0',
      'in_port=1,actions=drop',
    ]);
    ofctl(['--no-names', 'dump-flows', 'br0']);
    await sleep(300);
    const log = readFileSync(join(s.dir, 'ovs-vswitchd.log'), 'utf8');
    const vconnLog: string[] = [];
    let inVconn = false;
    for (const line of log.split('\n')) {
      const m = /^\S+\|\d+\|(\w+)\|(\w+)\|(.*)$/.exec(line);
      if (m) {
        inVconn = m[1] === 'vconn' && m[2] === 'DBG';
        if (inVconn) vconnLog.push(m[3].replace(/^unix#\d+:/, 'unix:'));
      } else if (inVconn && line !== '') vconnLog.push(line);
    }
    const flowModsLog = log
      .split('\n')
      .filter((l) => l.includes(' flow_mods '))
      .map((l) => l.replace(/^.*connmgr\|INFO\|/, '').replace(/unix#\d+/, 'unix'))
      .join('\n');

    // A port-mod down and up, seen by an OpenFlow 1.4 service connection asking for async.
    const m14 = await monitor('m14', 'OpenFlow14');
    send(m14, '0509000c0123456700000080');
    await take(m14);
    ofctl(['-O', 'OpenFlow14', 'mod-port', 'br0', 'p1', 'down']);
    ofctl(['-O', 'OpenFlow14', 'mod-port', 'br0', 'p1', 'up']);
    const portStatus = await take(m14);

    // NXT_SET_ASYNC_CONFIG2 on OpenFlow 1.0: request forwarding of group mods, as secondary.
    const m10 = await monitor('m10', 'OpenFlow10');
    send(m10, '0104001400000003000023200000000a00000002');
    send(
      m10,
      '0104003000000002000023200000001b00000008000000050002000800000002000400080000001a000a000800000003',
    );
    await take(m10);
    ofctl(['-O', 'OpenFlow11', 'add-group', 'br0', 'group_id=7,type=all,bucket=output:1']);
    const forwarded = await take(m10);

    // What an OpenFlow 1.3 connection is told its default async configuration is.
    const m13 = await monitor('m13', 'OpenFlow13');
    send(m13, '041a00080000000a');
    await sleep(200);
    const getAsync13 = m13.out
      .split('\n')
      .filter((l) => !l.includes('|'))
      .join('\n');

    // Setting a controller flushes flows, groups and meters.
    ofctl(['-O', 'OpenFlow13', 'add-meter', 'br0', 'meter=1,pktps,bands=type=drop,rate=1']);
    assert.equal(vsctl(s, ['set-controller', 'br0', 'tcp:127.0.0.1:1']).status, 0);
    const groupsAfterController = normalize(ofctl(['-O', 'OpenFlow11', 'dump-groups', 'br0']));
    const metersAfterController = normalize(ofctl(['-O', 'OpenFlow13', 'dump-meters', 'br0']));
    assert.equal(vsctl(s, ['del-controller', 'br0']).status, 0);

    // Our ovs-ofctl: dec_ttl with no IP match (a packet-out has none) goes out in OpenFlow 1.2;
    // the packet is IPv4/UDP 198.18.0.1 -> 198.18.0.2.
    const po = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', join(ROOT, 'src/cli/ovs-ofctl.ts')],
        ...['-O', 'OpenFlow12', 'packet-out', 'br0', 'none', 'dec_ttl'],
        '00010203040500102030405008004500001c0000000040110000c6120001c612000204d2162e00080000',
      ],
      { env: s.env, encoding: 'utf8', cwd: ROOT, timeout: 20_000 },
    );
    // Tables whose statistics differ from the one before but whose matching does not.
    const ft = vsctl(s, [
      ...['--', '--id=@t0', 'create', 'Flow_Table', 'name=main'],
      ...['--', '--id=@t1', 'create', 'Flow_Table', 'flow-limit=512'],
      ...['--', 'set', 'bridge', 'br0', 'flow_tables={0=@t0,1=@t1}'],
    ]);
    assert.equal(ft.status, 0, ft.stderr);
    ofctl(['add-flow', 'br0', 'table=2,actions=drop']);
    const oursOfctl = (args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli/ovs-ofctl.ts'), ...args],
        {
          env: s.env,
          encoding: 'utf8',
          cwd: ROOT,
          timeout: 20_000,
        },
      ).stdout;
    const dumpTables = {
      real: ofctl(['dump-tables', 'br0']),
      ours: oursOfctl(['dump-tables', 'br0']),
      real12: ofctl(['-O', 'OpenFlow12', 'dump-tables', 'br0']),
      ours12: oursOfctl(['-O', 'OpenFlow12', 'dump-tables', 'br0']),
    };
    return {
      dumpTables,
      vconnLog: normalize(vconnLog.join('\n')),
      flowModsLog,
      portStatus,
      forwarded,
      getAsync13: normalize(getAsync13),
      groupsAfterController,
      metersAfterController,
      packetOut12: { status: po.status, stderr: po.stderr },
    };
  } finally {
    for (const m of mons) m.proc.kill();
  }
}

describe('OpenFlow conversations against real ovs-vswitchd', () => {
  const seen: Partial<Record<'real' | 'ours', Seen>> = {};
  sideBySide(scenario, (which, r) => {
    seen[which] = r;
  });
  const both = (): [Seen, Seen] => {
    assert.ok(seen.real && seen.ours);
    return [seen.real, seen.ours];
  };

  it('logs each message sent and received at vconn:dbg as OVS does', () => {
    const [real, ours] = both();
    assert.match(real.vconnLog, /unix: received: OFPT_BUNDLE_ADD_MESSAGE \(OF1\.4\):/);
    assert.match(real.vconnLog, /negotiated OpenFlow version 0x05 \(we support version 0x06/);
    assert.equal(ours.vconnLog, real.vconnLog);
  });

  it('reports the flow mods of each connection when it closes', () => {
    const [real, ours] = both();
    assert.match(real.flowModsLog, /br0<->unix: 1 flow_mods in the last 0 s \(1 adds\)/);
    assert.equal(ours.flowModsLog, real.flowModsLog);
  });

  it('reports a port-mod as the new config with the old link state, then the link', () => {
    const [real, ours] = both();
    assert.match(real.portStatus, /config: +PORT_DOWN\n +state: +0\n/);
    assert.equal(ours.portStatus, real.portStatus);
  });

  it('forwards a group mod to an OpenFlow 1.0 secondary that enabled it by NXT_SET_ASYNC_CONFIG2', () => {
    const [real, ours] = both();
    assert.match(real.forwarded, /NXT_REQUESTFORWARD: reason=group_mod/);
    assert.equal(ours.forwarded, real.forwarded);
  });

  it('tells an OpenFlow 1.3 connection only the packet-in reasons that version has', () => {
    const [real, ours] = both();
    assert.match(real.getAsync13, /PACKET_IN: no_match action\n/);
    assert.equal(ours.getAsync13, real.getAsync13);
  });

  it('flushes groups and meters when the bridge gets a controller', () => {
    const [real, ours] = both();
    assert.equal(real.groupsAfterController, 'OFPST_GROUP_DESC reply (OF1.1):');
    assert.equal(ours.groupsAfterController, real.groupsAfterController);
    assert.equal(ours.metersAfterController, real.metersAfterController);
  });

  it('our ovs-ofctl sends a packet-out with dec_ttl and no IP match in OpenFlow 1.2', () => {
    const [real, ours] = both();
    assert.deepEqual(real.packetOut12, { status: 0, stderr: '' });
    assert.deepEqual(ours.packetOut12, real.packetOut12);
  });

  it('our ovs-ofctl dump-tables says "(same matching)" as real ovs-ofctl does', () => {
    const [real, ours] = both();
    assert.match(real.dumpTables.real, /max_entries=512\n {4}\(same matching\)\n/);
    assert.equal(real.dumpTables.ours, real.dumpTables.real);
    assert.equal(ours.dumpTables.ours, ours.dumpTables.real);
  });

  it('our ovs-ofctl prints OpenFlow 1.2 table statistics as real ovs-ofctl does', () => {
    const [real, ours] = both();
    assert.match(real.dumpTables.real12, /^OFPST_TABLE reply \(OF1\.2\)/);
    assert.match(real.dumpTables.real12, /table 2:\n {4}active=1, lookup=0, matched=0\n/);
    assert.equal(real.dumpTables.ours12, real.dumpTables.real12);
    assert.equal(ours.dumpTables.ours12, ours.dumpTables.real12);
  });
});
