import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../../lib/json.ts';
import { hmapOrder, Idl, rowName, tempUuid } from './idl.ts';
import { vswitchSchema } from './schema.ts';

const OVS = '11111111-1111-4111-8111-111111111111';
const BR = '22222222-2222-4222-8222-222222222222';

/** A replica holding one Open_vSwitch row with one bridge, as a monitor reply delivers it. */
function replica(): Idl {
  const idl = new Idl(vswitchSchema());
  idl.applyUpdates({
    Open_vSwitch: { [OVS]: { new: { bridges: ['uuid', BR], next_cfg: 3, cur_cfg: 3 } } },
    Bridge: { [BR]: { new: { name: 'br0', ports: ['set', []] } } },
  });
  return idl;
}

test('a transaction that writes nothing new is "unchanged" and builds no request', () => {
  const idl = replica();
  const br = idl.get('Bridge', BR);
  assert.ok(br);
  idl.verifyName(br, 'name');
  idl.set(br, 'name', { keys: ['br0'], values: null });
  assert.equal(
    idl.buildOperations({ database: 'Open_vSwitch', increment: idl.firstRow('Open_vSwitch') }),
    null,
  );
});

test('verify, update, insert with named-uuid, increment, comment: the operations OVS IDL sends', () => {
  const idl = replica();
  const ovs = idl.firstRow('Open_vSwitch');
  assert.ok(ovs);
  idl.verifyName(ovs, 'bridges');
  const row = idl.insert('Bridge', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa');
  idl.set(row, 'name', { keys: ['br1'], values: null });
  idl.set(ovs, 'bridges', { keys: [BR, row.uuid].sort(), values: null });
  const built = idl.buildOperations({
    database: 'Open_vSwitch',
    increment: ovs,
    comment: 'ovs-vsctl: add-br br1',
  });
  assert.ok(built);
  const name = rowName(row.uuid);
  assert.equal(name, 'rowaaaaaaaa_aaaa_4aaa_8aaa_aaaaaaaaaaaa');
  const where: Json = [['_uuid', '==', ['uuid', OVS]]];
  assert.deepEqual(built.ops, [
    'Open_vSwitch',
    {
      op: 'wait',
      table: 'Open_vSwitch',
      timeout: 0,
      where,
      until: '==',
      columns: ['bridges'],
      rows: [{ bridges: ['uuid', BR] }],
    },
    {
      op: 'update',
      table: 'Open_vSwitch',
      where,
      row: {
        bridges: [
          'set',
          [
            ['uuid', BR],
            ['named-uuid', name],
          ],
        ],
      },
    },
    { op: 'insert', table: 'Bridge', 'uuid-name': name, row: { name: 'br1' } },
    { op: 'mutate', table: 'Open_vSwitch', where, mutations: [['next_cfg', '+=', 1]] },
    { op: 'select', table: 'Open_vSwitch', where, columns: ['next_cfg'] },
    { op: 'comment', comment: 'ovs-vsctl: add-br br1' },
  ]);
  // The reply has one result per operation after the database name.
  const result = idl.processReply(
    [
      {},
      { count: 1 },
      { uuid: ['uuid', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'] },
      { count: 1 },
      { rows: [{ next_cfg: 4 }] },
      {},
    ],
    built,
  );
  assert.deepEqual(result, { status: 'success', nextCfg: 4 });
  assert.equal(idl.insertedUuids.get(row.uuid), 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb');
});

test('deleting a non-root row is left to the server; deleting a root row is an operation', () => {
  const idl = replica();
  const br = idl.get('Bridge', BR);
  assert.ok(br);
  idl.delete(br);
  assert.equal(idl.buildOperations({ database: 'Open_vSwitch' }), null);
  const q = '33333333-3333-4333-8333-333333333333';
  idl.applyUpdates({ QoS: { [q]: { new: { type: 'x' } } } });
  idl.delete(idl.get('QoS', q) ?? assert.fail('no QoS row'));
  const built = idl.buildOperations({ database: 'Open_vSwitch' });
  assert.deepEqual(built?.ops, [
    'Open_vSwitch',
    { op: 'delete', table: 'QoS', where: [['_uuid', '==', ['uuid', q]]] },
  ]);
});

test('inserting the only row of a maxRows=1 table first waits for the table to be empty', () => {
  const idl = new Idl(vswitchSchema());
  const ovs = idl.insert('Open_vSwitch');
  const built = idl.buildOperations({ database: 'Open_vSwitch', increment: ovs, dryRun: true });
  assert.ok(built);
  assert.deepEqual(built.ops[1], {
    op: 'wait',
    table: 'Open_vSwitch',
    where: [],
    timeout: 0,
    until: '==',
    rows: [],
  });
  const named = ['named-uuid', rowName(ovs.uuid)];
  assert.deepEqual(built.ops[3], {
    op: 'mutate',
    table: 'Open_vSwitch',
    where: [['_uuid', '==', named]],
    mutations: [['next_cfg', '+=', 1]],
  });
  assert.deepEqual(built.ops.at(-1), { op: 'abort' });
});

test('reply errors: "timed out" means try again, others are errors OVS logs and reports', () => {
  const idl = replica();
  const built = { incIndex: -1, inserts: new Map<string, number>() };
  assert.equal(idl.processReply([{ error: 'timed out' }, null], built).status, 'try-again');
  assert.deepEqual(idl.processReply([{}, { error: 'aborted' }], built), { status: 'success' });
  const r = idl.processReply([{}, { error: 'constraint violation', details: 'x' }], built);
  assert.equal(r.status, 'error');
  assert.equal(r.error, '{"details":"x","error":"constraint violation"}');
  assert.deepEqual(r.warnings, [
    'transaction error: {"details":"x","error":"constraint violation"}',
  ]);
});

test('abort() forgets inserted rows and restores written ones', () => {
  const idl = replica();
  const br = idl.get('Bridge', BR);
  assert.ok(br);
  idl.set(br, 'name', { keys: ['zz'], values: null });
  idl.insert('Bridge');
  idl.abort();
  assert.deepEqual(idl.col(br, 'name').keys, ['br0']);
  assert.equal([...idl.rows('Bridge')].length, 1);
});

test('temporary UUIDs are well-formed version 4 UUIDs', () => {
  fc.assert(
    fc.property(fc.integer(), () =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(tempUuid()),
    ),
  );
});

/** `ovs-vsctl --bare --columns=_uuid list port` of real ovs-vsctl 3.1 on a 68-port database. */
const REAL_PORT_ORDER = [
  '24984a00-83bb-4eca-a56c-b2025c832690',
  'dcdea441-bea4-438c-9752-b29669469864',
  '02671683-0964-4ddd-b61c-ab92cbd3882d',
  '069276c4-527e-4abc-858d-0d75cf870d83',
  'd44091c5-5689-46dd-88db-376ed22870a0',
  '03117245-20b5-49d4-8ab9-67b3846f9cb9',
  'd193dc08-c7ef-4d3b-ad53-af604bdbcd4c',
  'fd59f108-7413-485d-ba96-60f34b73da38',
  'bc246a4c-a895-4c74-b91b-5214fd3de67e',
  '1d0a158c-fa9e-42ce-a350-3c023df176fd',
  '5895088d-5083-4ff4-8739-2f68e0a42a80',
  'ab5afa4e-1ac0-4c94-a4aa-db5d1e410fd9',
  '01ec678e-3422-4197-8eac-ab5d6aafe403',
  '8f98c990-84d7-4f79-be96-e4c40d083a1e',
  'bf716d91-3d22-47c2-a09f-3a67591397a0',
  'ffad4412-f1e8-4502-ad23-8aa9e68f6ad7',
  '7d937d53-caa9-4c77-8806-3d628a4b6087',
  '5a53ff54-344a-4735-8b41-b8c6b1c2a5e3',
  'cc03fd94-cee4-4050-83e1-eeddaa5fe39c',
  '4a99c794-9d24-4dbc-ba54-7eba589218b7',
  'ad34cd15-bf85-4956-aa21-cbb835936667',
  'ca753d56-fab2-4253-8599-5d5fdf3e9231',
  '53ab7ad7-e56e-4376-b6a4-b85b5dbf1672',
  '83a565d7-798c-4257-8ea8-da018e4b2f71',
  'd164335b-4e95-4848-b3eb-8071c2882fe0',
  'e8355a9b-beb3-4ff7-a9da-5cc1204d3ed4',
  'acf447dc-c658-475a-9ba1-837c56d9a932',
  '5f7b2a5d-2119-4fde-b82b-53692fa42d9f',
  'b7d9151f-ee46-4b7e-9e9a-94c18d2701f0',
  'ba1be05f-22e4-448f-9cab-bd60351e215b',
  '5e90cbdf-6c6b-4ed3-943d-b3e5aab11b9e',
  '040aca60-23a0-4e37-8845-e30fa9fb2e15',
  'd47a98a0-1d4f-416d-bfa8-229f649c2114',
  '0aef9f64-136e-492a-b446-6be74bb3497e',
  'f30bcb24-e911-4df0-a16f-6a28bf9cf6aa',
  '49ead364-7108-4312-a13d-0075d76143c3',
  'ff743b65-aae9-487c-96dd-99e17d6f8918',
  'f1a0b8a5-d3d7-4dd1-ae9e-586d3650b9fe',
  'e2a0e025-081e-486b-a7c9-1d337aa46cfd',
  'b1136325-b1d4-4c08-9aae-1d97e357c78a',
  'edc8dc66-81eb-48ad-97dd-d344d2ca66eb',
  '296da0e6-b3b5-494f-962b-6f1b49f56de0',
  '836941e7-f3db-451b-b0bd-4755e7534ded',
  '8bc3d127-6315-405d-9def-206a719e7aac',
  'ac2e94e8-8136-4713-95fe-eec732ccb7fd',
  '15e6f869-d183-4739-ba1c-07bfd3a0c91d',
  '4c677c29-5da6-423a-b0aa-dcefe6419de8',
  'f4b1a12a-6b4d-49b8-91c8-2d8604800c48',
  '82f57fab-c10f-4d91-b86e-7fb3bf52fd44',
  'cfb911ad-4dc8-4f5e-b97e-9e5364517b40',
  'a22b9b6e-6873-4f36-8662-61f27c58357d',
  '9254202e-f866-4e5f-b2a4-a162d92a748b',
  'a7e3b76e-350d-4f31-9b67-b55838f6a31b',
  '7ceaba30-fc88-45b8-8c1a-d2a0c691bb69',
  '8d681230-c84a-40aa-835d-fe46b1a85c5a',
  '34d2ba32-1bbf-47d5-8eff-d93fa4f536f2',
  'ea7db732-e22d-475d-999e-f5ce3a2cf500',
  '136f2b32-2861-4ad2-b8d8-92531e842f92',
  'a0160034-7803-4d05-9881-e102889f4bcb',
  '3beabdf5-639f-450a-9a8a-b097d9dbd0b5',
  'c0cb63ba-0452-4ffc-8066-4d653232566c',
  '8da350fc-f004-4978-b7f7-bbf9207130c2',
  '22902b7c-7fa4-48c4-8a9c-832f5bfe5e51',
  'c35afcbd-f008-45b6-b4ec-dc94e021078e',
  'b4e7083e-bbf8-4d44-bebc-ae13c0652024',
  '57917e3e-b037-405e-bf27-e4949c863cc5',
  '4712f23f-347c-41a2-b3c7-21d4a53f4034',
  'be3fba7f-d6e6-4a26-8229-df8aaf3e3b25',
];

test('rows of a whole table come out in the order real ovs-vsctl lists them', () => {
  const idl = new Idl(vswitchSchema());
  // The server's order on the wire does not matter: feed them reversed.
  const rows: Record<string, Json> = {};
  for (const u of [...REAL_PORT_ORDER].reverse()) rows[u] = { new: { name: u.slice(0, 8) } };
  idl.applyUpdates({ Port: rows }, true);
  assert.deepEqual(
    [...idl.rows('Port')].map((r) => r.uuid),
    REAL_PORT_ORDER,
  );
});

test('hmapOrder: buckets by hash & mask, newest first within a bucket (lib/hmap.c)', () => {
  // The second insertion grows the table to 4 buckets (calc_mask rounds up to 4).
  assert.deepEqual(
    hmapOrder([3, 1, 2], (x) => x),
    [1, 2, 3],
  );
  // 0 and 8 share bucket 0: pushed as [0, 8], then the growth re-pushes them reversed.
  assert.deepEqual(
    hmapOrder([8, 0, 5], (x) => x),
    [8, 0, 5],
  );
  // A later tie is pushed at the head of its chain.
  assert.deepEqual(
    hmapOrder([8, 0, 5, 4], (x) => x),
    [4, 8, 0, 5],
  );
});
