/*
 * Rows written by real ovs-vsctl into real ovsdb-server 3.1, read through our Idl: the plain
 * settings must carry OVS's defaults (sFlow 400/30/128, NetFlow active timeout 600) and its
 * corrections (negative active_timeout -> default; enable-input-sampling negated).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RealServer, startRealServer, vsctl } from '../../test/ovsdb-client-harness.ts';
import { Idl } from '../ovsdb/client/index.ts';
import {
  readBridgeVisibility,
  readNetflowSettings,
  readSflowSettings,
  VISIBILITY_TABLES,
} from './visibility-config.ts';

describe('visibility rows read from the database', () => {
  let server: RealServer;
  let idl: Idl;

  before(async () => {
    server = await startRealServer();
    vsctl(server, 'init');
    idl = await Idl.connect({ remote: server.remote, database: 'Open_vSwitch', timeoutMs: 5000 });
  });
  after(async () => {
    idl?.close();
    await server?.cleanup();
  });

  async function bridge(name: string) {
    await idl.waitUntil(() => idl.find('Bridge', (r) => r.string('name') === name).length > 0);
    const seq = idl.seqno;
    // Let any further update of the same transaction arrive.
    await idl.waitForChange(seq, 200);
    const b = idl.find('Bridge', (r) => r.string('name') === name)[0];
    assert.ok(b, name);
    return b;
  }

  it('a bridge without rows has everything off', async () => {
    vsctl(server, 'add-br', 'br-none');
    const v = readBridgeVisibility(idl, await bridge('br-none'));
    assert.deepEqual(v, { sflow: null, netflow: null, ipfix: null, collectorSets: [] });
  });

  it('the seed walkthrough sFlow row, and one with defaults only', async () => {
    vsctl(
      server,
      'add-br',
      'br0',
      '--',
      '--id=@s',
      'create',
      'sflow',
      'agent=eth1',
      'target="10.0.0.2:6343","10.0.0.3"',
      'header=128',
      'sampling=64',
      'polling=10',
      '--',
      'set',
      'bridge',
      'br0',
      'sflow=@s',
    );
    const s = readSflowSettings(idl, await bridge('br0'));
    assert.deepEqual(s, {
      agentAddress: 'eth1',
      targets: ['10.0.0.2:6343', '10.0.0.3'],
      sampling: 64,
      polling: 10,
      header: 128,
    });
    vsctl(
      server,
      'add-br',
      'br1',
      '--',
      '--id=@s',
      'create',
      'sflow',
      'target="10.0.0.2"',
      '--',
      'set',
      'bridge',
      'br1',
      'sflow=@s',
    );
    assert.deepEqual(readSflowSettings(idl, await bridge('br1')), {
      agentAddress: null,
      targets: ['10.0.0.2'],
      sampling: 400,
      polling: 30,
      header: 128,
    });
  });

  it('NetFlow rows: defaults, engine ids, and the active_timeout corrections', async () => {
    vsctl(
      server,
      'add-br',
      'br2',
      '--',
      '--id=@n',
      'create',
      'netflow',
      'targets="10.0.0.2:2055"',
      '--',
      'set',
      'bridge',
      'br2',
      'netflow=@n',
    );
    assert.deepEqual(readNetflowSettings(idl, await bridge('br2')), {
      targets: ['10.0.0.2:2055'],
      engineType: null,
      engineId: null,
      addIdToInterface: false,
      activeTimeout: 600,
    });
    vsctl(
      server,
      'add-br',
      'br3',
      '--',
      '--id=@n',
      'create',
      'netflow',
      'targets="10.0.0.2:2055"',
      'engine_type=9',
      'engine_id=4',
      'add_id_to_interface=true',
      'active_timeout=-1',
      '--',
      'set',
      'bridge',
      'br3',
      'netflow=@n',
    );
    assert.deepEqual(readNetflowSettings(idl, await bridge('br3')), {
      targets: ['10.0.0.2:2055'],
      engineType: 9,
      engineId: 4,
      addIdToInterface: true,
      activeTimeout: 600,
    });
  });

  it('IPFIX and Flow_Sample_Collector_Set rows', async () => {
    vsctl(
      server,
      'add-br',
      'br4',
      '--',
      '--id=@i',
      'create',
      'ipfix',
      'targets="10.0.0.2:4739"',
      'obs_domain_id=123',
      'obs_point_id=456',
      'cache_active_timeout=60',
      'cache_max_flows=13',
      'other_config:enable-input-sampling=true',
      '--',
      'set',
      'bridge',
      'br4',
      'ipfix=@i',
    );
    vsctl(
      server,
      '--id=@br4',
      'get',
      'bridge',
      'br4',
      '--',
      '--id=@j',
      'create',
      'ipfix',
      'targets="10.0.0.3:4739"',
      '--',
      'create',
      'flow_sample_collector_set',
      'id=7',
      'bridge=@br4',
      'ipfix=@j',
    );
    await idl.waitUntil(() => idl.rows('Flow_Sample_Collector_Set').length > 0);
    const v = readBridgeVisibility(idl, await bridge('br4'));
    assert.deepEqual(v.ipfix, {
      targets: ['10.0.0.2:4739'],
      sampling: 400,
      obsDomainId: 123,
      obsPointId: 456,
      cacheActiveTimeout: 60,
      cacheMaxFlows: 13,
      enableTunnelSampling: true,
      enableInputSampling: false,
      enableOutputSampling: true,
      virtualObsId: null,
    });
    assert.equal(v.collectorSets.length, 1);
    assert.equal(v.collectorSets[0].id, 7);
    assert.deepEqual(v.collectorSets[0].ipfix?.targets, ['10.0.0.3:4739']);
  });

  it('names the tables it needs replicated', () => {
    assert.deepEqual(Object.keys(VISIBILITY_TABLES).sort(), [
      'Flow_Sample_Collector_Set',
      'IPFIX',
      'NetFlow',
      'sFlow',
    ]);
  });
});
