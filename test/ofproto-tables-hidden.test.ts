/**
 * In-band control's hidden rules, as OVS's ofproto.at case "hidden rules not in table stats"
 * checks them, side by side on our switch and on real ovs-vswitchd 3.1 (--enable-dummy): a
 * controller reached in-band puts rules in table 0 that bridge/dump-flows shows and that
 * neither dump-flows nor table stats (real ovs-ofctl 3.1 asking) count.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { appctl, type Stack, startStack, stopStack, vsctl } from './vswitchd-harness.ts';

function ofctl(s: Stack, args: string[]): string {
  const r = spawnSync('/usr/bin/ovs-ofctl', args, {
    encoding: 'utf8',
    env: s.env,
    timeout: 10_000,
  });
  return `${r.status} ${r.stdout}${r.stderr}`;
}

/**
 * bridge/dump-flows' table-0 rules without durations, the local port's MAC as LOCALMAC, sorted
 * (OVS lists rules of equal priority in hash order).
 */
function hiddenFlows(s: Stack, mac: string): string {
  return appctl(s, ['bridge/dump-flows', 'br0'])
    .stdout.replace(/duration=[\d.]+s, /g, '')
    .replaceAll(mac, 'LOCALMAC')
    .split('\n')
    .filter((l) => l && !l.startsWith('table_id='))
    .sort()
    .join('\n');
}

async function scenario(s: Stack, disableInBand: boolean): Promise<string[]> {
  const out: string[] = [];
  const r = vsctl(s, [
    'add-br',
    'br0',
    '--',
    'set',
    'bridge',
    'br0',
    'datapath_type=dummy',
    ...(disableInBand ? ['other_config:disable-in-band=true'] : []),
    '--',
    'set-controller',
    'br0',
    'tcp:240.0.0.1:6653',
    'ssl:240.0.0.2',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const mac = vsctl(s, ['get', 'interface', 'br0', 'mac_in_use']).stdout.trim().replace(/"/g, '');
  // Bounded wait for the switch to have configured the bridge.
  for (let i = 0; i < 50 && !hiddenFlows(s, mac).includes('1800'); i++) await sleep(20);
  out.push(hiddenFlows(s, mac));
  out.push(ofctl(s, ['dump-flows', 'br0']));
  out.push(ofctl(s, ['dump-tables', 'br0']).split('\n').slice(0, 4).join('\n'));
  return out;
}

describe('in-band hidden rules on our switch and on real ovs-vswitchd', () => {
  const stacks: Stack[] = [];
  const ours: string[][] = [];
  const real: string[][] = [];
  before(async () => {
    for (const which of ['real', 'ours'] as const) {
      for (const disable of [false, true]) {
        const s = await startStack({ which });
        stacks.push(s);
        (which === 'real' ? real : ours).push(await scenario(s, disable));
        stopStack(s);
      }
    }
  });
  after(() => {
    for (const s of stacks) stopStack(s);
  });

  it('a controller reached in-band gets hidden rules in table 0', () => {
    assert.match(real[0][0], /priority=180008,tcp,nw_src=240\.0\.0\.1,tp_src=6653/);
    assert.match(real[0][0], /priority=180007,tcp,nw_dst=240\.0\.0\.2,tp_dst=6653/);
    assert.match(real[0][0], /priority=180000,udp,in_port=LOCAL,dl_src=LOCALMAC/);
    assert.equal(ours[0][0], real[0][0]);
  });

  it('dump-flows and table stats do not count them', () => {
    assert.match(real[0][1], /^0 NXST_FLOW reply \(xid=0x4\):\n$/);
    assert.match(real[0][2], /active=0,/);
    assert.deepEqual(ours[0].slice(1), real[0].slice(1));
  });

  it('other_config:disable-in-band leaves them out', () => {
    assert.doesNotMatch(real[1][0], /180008/);
    assert.deepEqual(ours[1], real[1]);
  });
});
