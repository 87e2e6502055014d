/**
 * The OVSDB client side: a typed connection, a replica kept current by monitors ("IDL"), and
 * a transaction builder. This is what ovs-vsctl, ovs-vswitchd and ovsdb-client build on.
 *
 * Raw requests, one connection:
 *
 *   const conn = await OvsdbConnection.connect('unix:/run/openvswitch/db.sock');
 *   const dbs = await conn.listDbs();                      // ['Open_vSwitch', '_Server']
 *   const schema = parseDatabaseSchema(await conn.getSchema('Open_vSwitch'));
 *   const results = await conn.transact('Open_vSwitch', [{ op: 'select', table: 'Bridge', where: [] }]);
 *   conn.on('notification', ({ method, params }) => ...);  // update, update2, update3, locked, stolen
 *   conn.close();
 *
 * The replica: pick tables and columns (and optionally rows, with a condition); it connects
 * with backoff, monitors with monitor_cond_since (falling back to monitor_cond, then monitor),
 * resumes after a reconnect, and emits what changed.
 *
 *   const idl = await Idl.connect({ remote: 'unix:.../db.sock', database: 'Open_vSwitch',
 *     tables: { Open_vSwitch: true, Bridge: ['name', 'ports'], Port: { where: [['name', '==', 'p1']] } },
 *     timeoutMs: 5000 });
 *   for (const br of idl.rows('Bridge')) console.log(br.string('name'), br.set('ports'));
 *   idl.on('row', (e) => ...);      // {kind: 'insert'|'modify'|'delete', table, row/old}
 *   idl.on('change', ({ seqno, events }) => ...);  // one per update message
 *
 * Typed accessors on IdlRow: `get(col)` (atom, atom|undefined, array or Map by column kind),
 * `string`, `integer`, `boolean`, `scalar`, `set`, `map`, `mapGet`, `datum`.
 *
 * Transactions, retried when what they read changed underneath (as ovs-vsctl does):
 *
 *   const r = await idl.commitWithRetry((txn) => {
 *     const ovs = idl.first('Open_vSwitch')!;
 *     txn.verify(ovs, 'bridges');                       // a `wait` op: conflict -> try again
 *     const br = txn.insert('Bridge', { name: 'br0' });
 *     txn.set(ovs, 'bridges', [...ovs.set('bridges'), br]);   // rows stand for their uuids
 *     txn.increment(ovs, 'next_cfg');
 *     return br;
 *   });
 *   r.status;                       // 'success' | 'unchanged' | 'try-again' | 'not-locked' | 'error'
 *   r.inserted.get(r.value.uuid);   // the real uuid of the new bridge
 *   r.incrementedValue;             // next_cfg after the commit
 *
 * Output helpers for CLIs: `jsonCell(type, json)` / `datumCell(type, datum)` make cells for
 * lib/table-format.ts that print in OVS's --data=string|bare|json syntaxes; `shashOrder(keys)`
 * gives the order in which OVS iterates a string hash map (ovsdb-client prints tables,
 * columns and monitor rows in that order).
 */
export {
  ConnectionClosedError,
  type ConnectOptions,
  isUnknownMethod,
  type MonitorCondSinceReply,
  type MonitorRequest,
  type MonitorRequests,
  OvsdbConnection,
  type OvsdbNotification,
  OvsdbRpcError,
  type TableUpdates,
  type TlsOptions,
} from './connection.ts';
export {
  type ChangeEvent,
  Idl,
  type IdlEvents,
  type IdlOptions,
  type TableMonitorOptions,
  ZERO_TXN_ID,
} from './idl.ts';
export {
  applyTableUpdates,
  emptyReplica,
  type ReplicaTables,
  type RowEvent,
  replaceWithSnapshot,
} from './replica.ts';
export {
  type AtomInput,
  type ColumnValue,
  datumToValue,
  IdlRow,
  type RowRef,
  type ValueInput,
  valueToDatum,
} from './row.ts';
export {
  hashString,
  hmapOrder,
  jsonToStringHashOrder,
  PREORDERED,
  shashOrder,
} from './shash-order.ts';
export { datumCell, datumRenderer, jsonCell } from './table-cells.ts';
export { type CommitResult, type CommitStatus, IdlTxn, TxnRow } from './txn.ts';
