/**
 * Status written back to the database, in the columns and forms OVS writes:
 *
 * - Interface: ofport (-1 when the interface could not be set up), error, admin_state,
 *   link_state, link_resets, link_speed/duplex (when the device reports a speed), mtu,
 *   mac_in_use, ifindex, status, statistics; an interface that failed has all of these
 *   cleared but ofport and error, as OVS's iface_clear_db_record does;
 * - Bridge: datapath_id (16 hex digits) and datapath_version;
 * - Open_vSwitch: cur_cfg (= the next_cfg just applied, what ovs-vsctl waits for),
 *   datapath_types, iface_types, dpdk_initialized and dpdk_version.
 *
 * Only columns whose value differs are sent (the transaction builder compares with the replica).
 */
import type { Idl, IdlRow, IdlTxn } from '../ovsdb/client/index.ts';
import type { Bridge, Iface, IfaceOutcome, ReconfigureOutcome } from './bridge.ts';
import type { OvsConfig } from './config.ts';

/** The columns describing a working interface's device. */
export function writeIfaceNetdevStatus(txn: IdlTxn, row: IdlRow, iface: Iface): void {
  const nd = iface.netdev;
  txn.set(row, 'status', nd.getStatus());
  txn.set(row, 'admin_state', nd.isUp() ? 'up' : 'down');
  txn.set(row, 'link_state', nd.getCarrier() ? 'up' : 'down');
  txn.set(row, 'link_resets', nd.getCarrierResets());
  const bps = nd.getSpeedBps();
  txn.set(row, 'link_speed', bps ? bps : null);
  txn.set(row, 'duplex', bps ? 'full' : null);
  const mtu = nd.getMtu();
  txn.set(row, 'mtu', mtu ?? null);
  txn.set(row, 'mac_in_use', nd.getEtheraddr());
  txn.set(row, 'ifindex', nd.getIfindex());
}

export function writeIfaceStatistics(txn: IdlTxn, row: IdlRow, iface: Iface): void {
  txn.set(row, 'statistics', iface.netdev.getStatisticsColumn());
}

function writeIfaceOutcome(txn: IdlTxn, row: IdlRow, o: IfaceOutcome): void {
  if (o.ok) {
    txn.set(row, 'ofport', o.iface.ofpPort);
    txn.set(row, 'error', null);
    writeIfaceNetdevStatus(txn, row, o.iface);
    writeIfaceStatistics(txn, row, o.iface);
    return;
  }
  txn.set(row, 'ofport', -1);
  txn.set(row, 'error', o.error);
  for (const col of [
    'status',
    'admin_state',
    'duplex',
    'link_speed',
    'link_state',
    'mac_in_use',
    'mtu',
    'cfm_fault',
    'cfm_fault_status',
    'cfm_remote_mpids',
    'lacp_current',
    'statistics',
    'ifindex',
  ])
    txn.set(row, col, null);
}

export interface SystemInfo {
  datapathTypes: string[];
  ifaceTypes: string[];
}

/** Fills `txn` with everything a reconfiguration has to say, and cur_cfg. */
export function writeReconfigureStatus(
  txn: IdlTxn,
  idl: Idl,
  cfg: OvsConfig | undefined,
  outcome: ReconfigureOutcome,
  info: SystemInfo,
): void {
  for (const o of outcome.ifaces) {
    const row = idl.getRow('Interface', o.uuid);
    if (row) writeIfaceOutcome(txn, row, o);
  }
  for (const b of outcome.bridges) {
    const row = idl.getRow('Bridge', b.uuid);
    if (!row) continue;
    txn.set(row, 'datapath_id', b.datapathId);
    txn.set(row, 'datapath_version', b.datapathVersion);
  }
  if (!cfg) return;
  const ovs = idl.getRow('Open_vSwitch', cfg.uuid);
  if (!ovs) return;
  txn.set(ovs, 'cur_cfg', cfg.nextCfg);
  txn.set(ovs, 'datapath_types', info.datapathTypes);
  txn.set(ovs, 'iface_types', info.ifaceTypes);
  txn.set(ovs, 'dpdk_initialized', false);
  txn.set(ovs, 'dpdk_version', 'none');
}

/** The periodic refresh: device status and statistics of every working interface. */
export function writeStatistics(txn: IdlTxn, idl: Idl, ifaces: Iterable<Iface>): void {
  for (const iface of ifaces) {
    const row = idl.getRow('Interface', iface.cfg.uuid);
    if (!row) continue;
    writeIfaceNetdevStatus(txn, row, iface);
    writeIfaceStatistics(txn, row, iface);
  }
}

/** Controller rows' is_connected, role and status, from each bridge's connection manager. */
export function writeControllerStatus(txn: IdlTxn, idl: Idl, bridges: Iterable<Bridge>): void {
  for (const br of bridges) {
    const cm = br.ofproto.connmgr;
    if (!cm) continue;
    const byTarget = new Map(cm.controllerStatus().map((c) => [c.target, c]));
    for (const c of br.cfg.controllers) {
      const row = idl.getRow('Controller', c.uuid);
      const st = byTarget.get(c.target);
      if (!row || !st) continue;
      if (row.boolean('is_connected') !== st.isConnected)
        txn.set(row, 'is_connected', st.isConnected);
      txn.set(row, 'role', st.role);
      txn.set(row, 'status', new Map(Object.entries(st.status)));
    }
  }
}

/** Mirror rows' statistics (tx_packets, tx_bytes), from each bridge's forwarding state. */
export function writeMirrorStatistics(txn: IdlTxn, idl: Idl, bridges: Iterable<Bridge>): void {
  for (const br of bridges) {
    const fwd = br.ofproto.fwd;
    for (const m of br.cfg.mirrors) {
      const row = idl.getRow('Mirror', m.uuid);
      const i = fwd.mirrors.findIndex((x) => x.name === m.name);
      const st = i >= 0 ? fwd.mirrorStats[i] : undefined;
      if (!row || !st) continue;
      txn.set(
        row,
        'statistics',
        new Map([
          ['tx_bytes', st.bytes],
          ['tx_packets', st.packets],
        ]),
      );
    }
  }
}
