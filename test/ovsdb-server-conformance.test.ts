// Differential conformance: the same request sequences sent to real ovsdb-server 3.1 and to
// ours, each over a raw unix socket, must get the same replies and notifications. UUIDs are
// renamed in order of appearance; transaction ids (update3, monitor_cond_since) are masked,
// since real OVS keeps no transaction history for standalone databases (always all zeros)
// while ours does (see the unit tests for found/not-found).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Json, JsonObject } from '../src/lib/json.ts';
import { SERVER_SCHEMA_JSON } from '../src/ovsdb/server/server-db.ts';
import { RawClient } from '../src/ovsdb/server/test-client.ts';
import {
  createDb,
  ensureBuilt,
  makeTempDir,
  REAL_VSWITCH_SCHEMA,
  type ServerProcess,
  startServer,
  waitFor,
} from './ovsdb-server-harness.ts';

const SEQUENCES: Record<string, JsonObject[]> = {
  'errors, conditions, monitor_cond_change, locks, waits': [
    {
      method: 'transact',
      params: ['Open_vSwitch', { op: 'insert', table: 'Open_vSwitch', row: {} }],
      id: 1,
    },
    {
      method: 'monitor_cond',
      params: [
        'Open_vSwitch',
        'c',
        {
          Bridge: [{ columns: ['name', 'ports'], where: [['name', '==', 'b1']] }],
          Port: { columns: ['name'] },
        },
      ],
      id: 2,
    },
    {
      method: 'monitor',
      params: [
        'Open_vSwitch',
        'm',
        { Bridge: { columns: ['name', 'external_ids'], select: { initial: false } } },
      ],
      id: 3,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        { op: 'insert', table: 'Bridge', row: { name: 'b1' }, 'uuid-name': 'x' },
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [],
          mutations: [['bridges', 'insert', ['set', [['named-uuid', 'x']]]]],
        },
      ],
      id: 4,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        { op: 'update', table: 'Bridge', where: [], row: { external_ids: ['map', [['a', 'b']]] } },
      ],
      id: 5,
    },
    {
      method: 'monitor_cond_change',
      params: ['c', 'c2', { Bridge: [{ where: [['name', '==', 'zz']] }] }],
      id: 6,
    },
    {
      method: 'monitor_cond_change',
      params: ['c2', 'c2', { Bridge: [{ columns: ['name'] }] }],
      id: 7,
    },
    { method: 'monitor_cond_change', params: ['c2', 'c2', { Nope: [{ where: [] }] }], id: 8 },
    { method: 'monitor_cond_change', params: ['c2', 'c2', { Port: { where: [] } }], id: 9 },
    {
      method: 'monitor_cond_change',
      params: ['c2', 'c2', { Bridge: [{ where: [true] }] }],
      id: 10,
    },
    { method: 'monitor_cancel', params: ['c2'], id: 11 },
    { method: 'monitor_cancel', params: ['c2', 1], id: 12 },
    { method: 'monitor', params: ['Open_vSwitch', 'x', { Nope: {} }], id: 13 },
    { method: 'monitor', params: ['Open_vSwitch', 'x', { Bridge: { columns: ['zz'] } }], id: 14 },
    { method: 'monitor', params: ['Open_vSwitch', 'x', { Bridge: { columns: 'name' } }], id: 15 },
    { method: 'monitor', params: ['Open_vSwitch', 'x', { Bridge: { frob: 1 } }], id: 16 },
    { method: 'monitor', params: ['Open_vSwitch', 'x', { Bridge: { where: [] } }], id: 17 },
    {
      method: 'monitor_cond',
      params: ['Open_vSwitch', 'y', { Bridge: { where: [['zz', '==', 1]] } }],
      id: 18,
    },
    { method: 'monitor_cond_since', params: ['Open_vSwitch', 'z', { Bridge: {} }, 'bad'], id: 19 },
    { method: 'monitor_cond_since', params: ['Open_vSwitch', 'z', { Bridge: {} }, 5], id: 20 },
    {
      method: 'monitor_cond_since',
      params: ['Open_vSwitch', 'z', { Bridge: { columns: ['name'] } }],
      id: 21,
    },
    { method: 'steal', params: ['L'], id: 22 },
    { method: 'lock', params: ['L'], id: 23 },
    { method: 'unlock', params: ['L'], id: 24 },
    { method: 'transact', params: ['Open_vSwitch', { op: 'assert', lock: 'L' }], id: 25 },
    { method: 'get_server_id', params: [], id: 26 },
    { method: 'echo', params: [], id: 'echo' },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        {
          op: 'wait',
          table: 'Bridge',
          where: [],
          columns: ['name'],
          until: '==',
          rows: [{ name: 'b1' }],
          timeout: 0,
        },
      ],
      id: 27,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        {
          op: 'wait',
          table: 'Bridge',
          where: [],
          columns: ['name'],
          until: '==',
          rows: [{ name: 'nope' }],
          timeout: 0,
        },
      ],
      id: 28,
    },
    {
      method: 'transact',
      params: ['Open_vSwitch', { op: 'delete', table: 'Bridge', where: [] }],
      id: 29,
    },
    { method: 'monitor_cancel', params: ['m'], id: 30 },
    { method: 'list_dbs', params: [1], id: 31 },
    {
      method: 'transact',
      params: ['_Server', { op: 'delete', table: 'Database', where: [] }],
      id: 32,
    },
  ],
  'update, update2 and update3 contents for inserts, modifies and deletes': [
    {
      method: 'transact',
      params: ['Open_vSwitch', { op: 'insert', table: 'Open_vSwitch', row: {} }],
      id: 1,
    },
    {
      method: 'monitor',
      params: [
        'Open_vSwitch',
        'm',
        {
          Bridge: [
            { columns: ['name', 'external_ids'], select: { initial: false, delete: false } },
            { columns: ['ports', '_uuid'], select: { modify: false } },
          ],
        },
      ],
      id: 2,
    },
    {
      method: 'monitor_cond',
      params: [
        'Open_vSwitch',
        'c',
        {
          Bridge: { columns: ['name', 'external_ids', 'flood_vlans', 'stp_enable', 'datapath_id'] },
        },
      ],
      id: 3,
    },
    {
      method: 'monitor_cond_since',
      params: [
        'Open_vSwitch',
        's',
        {
          Bridge: {
            columns: ['name', 'external_ids'],
            where: [['external_ids', 'includes', ['map', [['k', '2']]]]],
          },
        },
        '00000000-0000-0000-0000-000000000000',
      ],
      id: 4,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        {
          op: 'insert',
          table: 'Bridge',
          row: {
            name: 'b1',
            external_ids: [
              'map',
              [
                ['k', '1'],
                ['z', '9'],
              ],
            ],
            flood_vlans: ['set', [1, 2, 3]],
          },
          'uuid-name': 'x',
        },
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [],
          mutations: [['bridges', 'insert', ['set', [['named-uuid', 'x']]]]],
        },
      ],
      id: 5,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        {
          op: 'update',
          table: 'Bridge',
          where: [],
          row: {
            external_ids: [
              'map',
              [
                ['k', '2'],
                ['y', '0'],
              ],
            ],
            flood_vlans: ['set', [2, 3, 4]],
            stp_enable: true,
          },
        },
      ],
      id: 6,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        { op: 'update', table: 'Bridge', where: [], row: { datapath_id: 'abc' } },
      ],
      id: 7,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        { op: 'update', table: 'Bridge', where: [], row: { external_ids: ['map', []] } },
      ],
      id: 8,
    },
    {
      method: 'transact',
      params: [
        'Open_vSwitch',
        {
          op: 'mutate',
          table: 'Open_vSwitch',
          where: [],
          mutations: [['bridges', 'delete', ['set', []]]],
        },
        { op: 'update', table: 'Open_vSwitch', where: [], row: { bridges: ['set', []] } },
      ],
      id: 9,
    },
    {
      method: 'monitor_cond',
      params: ['Open_vSwitch', 'c3', { Open_vSwitch: { columns: ['bridges', 'cur_cfg'] } }],
      id: 10,
    },
  ],
  'convert parameter errors; get_schema of _Server and Open_vSwitch': [
    { method: 'convert', params: ['Open_vSwitch'], id: 1 },
    { method: 'convert', params: ['Open_vSwitch', SERVER_SCHEMA_JSON], id: 2 },
    { method: 'convert', params: ['Open_vSwitch', { name: 'Open_vSwitch' }], id: 3 },
    { method: 'convert', params: ['Nope', SERVER_SCHEMA_JSON], id: 4 },
    { method: 'get_schema', params: ['_Server'], id: 5 },
    { method: 'get_schema', params: ['Open_vSwitch'], id: 6 },
  ],
};

let dir: string;
let ours: ServerProcess;
let real: ChildProcess;
let realSock: string;

before(async () => {
  ensureBuilt();
  dir = makeTempDir();
});

after(async () => {
  real?.kill('SIGKILL');
  await ours?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Masks transaction ids, then renames UUIDs in order of first appearance. */
function normalise(msgs: JsonObject[]): Json {
  const masked = msgs.map((m) => {
    const c = structuredClone(m) as JsonObject;
    if (c.method === 'update3') (c.params as Json[])[1] = 'TXN';
    const r = c.result;
    if (Array.isArray(r) && r.length === 3 && typeof r[0] === 'boolean' && typeof r[1] === 'string')
      r[1] = 'TXN';
    return c;
  });
  const names = new Map<string, string>();
  const text = canonical(masked).replace(UUID_RE, (u) => {
    if (!names.has(u)) names.set(u, `U${names.size}`);
    return names.get(u) as string;
  });
  return JSON.parse(text);
}

/** JSON text with object members sorted, so that member order (hash order in OVS) is moot. */
function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k] as Json)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Sends each request after the previous one was answered, then collects stragglers. The
 * messages are put in a canonical order (by their text with UUIDs masked), since the order of
 * notifications to different monitors is hash order in OVS.
 */
async function play(sock: string, seq: JsonObject[]): Promise<JsonObject[]> {
  const c = await RawClient.connect(sock);
  const out: JsonObject[] = [];
  for (const req of seq) {
    c.send(req);
    out.push(await c.waitFor((m) => m.id === req.id && !m.method, 5000));
  }
  await new Promise((r) => setTimeout(r, 300));
  out.push(...c.received.splice(0));
  c.close();
  const key = (m: JsonObject) => canonical(m).replace(UUID_RE, 'U');
  return out.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

describe('ovsdb-server conformance with real ovsdb-server 3.1', () => {
  for (const [name, seq] of Object.entries(SEQUENCES)) {
    it(name, async () => {
      const sub = makeTempDir();
      try {
        const realDb = join(sub, 'real.db');
        const ourDb = join(sub, 'ours.db');
        await createDb(realDb, REAL_VSWITCH_SCHEMA);
        await createDb(ourDb, REAL_VSWITCH_SCHEMA);
        realSock = join(sub, 'real.sock');
        real = spawn(
          '/usr/sbin/ovsdb-server',
          [
            realDb,
            `--remote=punix:${realSock}`,
            `--unixctl=${join(sub, 'real.ctl')}`,
            '-vconsole:off',
            '--no-chdir',
          ],
          { stdio: 'ignore' },
        );
        ours = await startServer(sub, [ourDb]);
        const { existsSync } = await import('node:fs');
        await waitFor(() => existsSync(realSock), 10_000, 'real ovsdb-server socket');
        const expected = normalise(await play(realSock, seq));
        const actual = normalise(await play(ours.sock, seq));
        assert.deepEqual(actual, expected);
      } finally {
        real?.kill('SIGKILL');
        await ours?.stop();
        rmSync(sub, { recursive: true, force: true });
      }
    });
  }
});
