/**
 * The visibility rows of a bridge (sFlow, NetFlow, IPFIX, Flow_Sample_Collector_Set) read out
 * of the database replica into the plain settings the agents take, with the defaults and
 * corrections OVS's bridge.c applies (bridge_configure_sflow / _netflow / _ipfix).
 */

import { vlog } from '../lib/vlog.ts';
import type { NetflowSettings } from '../ofproto/dpif/netflow-agent.ts';
import {
  SFLOW_DEFAULT_HEADER,
  SFLOW_DEFAULT_POLLING,
  SFLOW_DEFAULT_SAMPLING,
  type SflowSettings,
} from '../ofproto/dpif/sflow-agent.ts';
import type { IdlRow } from '../ovsdb/client/index.ts';

const log = vlog('bridge');

/** What the reader needs of the Idl (a fake in unit tests). */
export interface RowSource {
  getRow(table: string, uuid: string): IdlRow | undefined;
}

export const NETFLOW_DEFAULT_ACTIVE_TIMEOUT = 600;

/** Bridge-wide IPFIX (the IPFIX row a Bridge points to). */
export interface IpfixSettings {
  targets: string[];
  /** 1-in-N; OVS's default 400. */
  sampling: number;
  obsDomainId: number;
  obsPointId: number;
  /** Seconds; 0: no active timeout. */
  cacheActiveTimeout: number;
  /** 0: no flow cache. */
  cacheMaxFlows: number;
  enableTunnelSampling: boolean;
  enableInputSampling: boolean;
  enableOutputSampling: boolean;
  virtualObsId: string | null;
}

/** A Flow_Sample_Collector_Set row of the bridge (for the OpenFlow `sample` action). */
export interface FlowSampleCollectorSet {
  id: number;
  ipfix: Omit<IpfixSettings, 'sampling' | 'obsDomainId' | 'obsPointId'> | null;
}

export interface BridgeVisibility {
  sflow: SflowSettings | null;
  netflow: NetflowSettings | null;
  ipfix: IpfixSettings | null;
  collectorSets: FlowSampleCollectorSet[];
}

function refRow(src: RowSource, row: IdlRow, column: string, table: string): IdlRow | undefined {
  const uuid = row.set<string>(column)[0];
  return uuid === undefined ? undefined : src.getRow(table, uuid);
}

/** The Bridge's sFlow row, or null when it has none (sFlow off). */
export function readSflowSettings(src: RowSource, bridge: IdlRow): SflowSettings | null {
  const s = refRow(src, bridge, 'sflow', 'sFlow');
  if (!s) return null;
  return {
    agentAddress: s.string('agent') ?? null,
    targets: s.set<string>('targets'),
    sampling: s.integer('sampling') ?? SFLOW_DEFAULT_SAMPLING,
    polling: s.integer('polling') ?? SFLOW_DEFAULT_POLLING,
    header: s.integer('header') ?? SFLOW_DEFAULT_HEADER,
  };
}

/**
 * The Bridge's NetFlow row, or null. engineType/engineId stay null when unset (the datapath
 * supplies them). active_timeout 0 means the default; OVS 3.1 also turns a negative value into
 * the default (with a warning), whatever its documentation says about -1.
 */
export function readNetflowSettings(src: RowSource, bridge: IdlRow): NetflowSettings | null {
  const n = refRow(src, bridge, 'netflow', 'NetFlow');
  if (!n) return null;
  const name = bridge.string('name') ?? '';
  let activeTimeout = n.integer('active_timeout') ?? 0;
  if (activeTimeout < 0) {
    log.warn(
      `bridge ${name}: active timeout interval set to negative value, using default instead (${NETFLOW_DEFAULT_ACTIVE_TIMEOUT} seconds)`,
    );
    activeTimeout = 0;
  }
  const settings: NetflowSettings = {
    targets: n.set<string>('targets'),
    engineType: n.integer('engine_type') ?? null,
    engineId: n.integer('engine_id') ?? null,
    addIdToInterface: n.boolean('add_id_to_interface') ?? false,
    activeTimeout: activeTimeout === 0 ? NETFLOW_DEFAULT_ACTIVE_TIMEOUT : activeTimeout,
  };
  if (settings.addIdToInterface && (settings.engineId ?? 0) > 0x7f) {
    log.warn(
      `bridge ${name}: NetFlow port mangling may conflict with another vswitch, choose an engine id less than 128`,
    );
  }
  return settings;
}

function ipfixCommon(row: IdlRow): Omit<IpfixSettings, 'sampling' | 'obsDomainId' | 'obsPointId'> {
  const oc = row.map('other_config');
  const flag = (k: string, dflt: boolean): boolean => {
    const v = oc.get(k);
    return v === undefined ? dflt : v === 'true';
  };
  return {
    targets: row.set<string>('targets'),
    cacheActiveTimeout: row.integer('cache_active_timeout') ?? 0,
    cacheMaxFlows: row.integer('cache_max_flows') ?? 0,
    enableTunnelSampling: flag('enable-tunnel-sampling', true),
    // OVS 3.1 negates these two: "true" turns the sampling direction off (bridge.c).
    enableInputSampling: !flag('enable-input-sampling', false),
    enableOutputSampling: !flag('enable-output-sampling', false),
    virtualObsId: oc.get('virtual_obs_id') ?? null,
  };
}

/** The Bridge's IPFIX row as bridge-wide sampling; null without one or without sampling. */
export function readIpfixSettings(src: RowSource, bridge: IdlRow): IpfixSettings | null {
  const r = refRow(src, bridge, 'ipfix', 'IPFIX');
  if (!r) return null;
  return {
    ...ipfixCommon(r),
    sampling: r.integer('sampling') ?? 400,
    obsDomainId: r.integer('obs_domain_id') ?? 0,
    obsPointId: r.integer('obs_point_id') ?? 0,
  };
}

/**
 * The Flow_Sample_Collector_Set rows that name this bridge, ordered by id. `rows` is every row
 * of that table (the table is not referenced from Bridge, so the caller lists it).
 */
export function readCollectorSets(
  src: RowSource,
  bridge: IdlRow,
  rows: Iterable<IdlRow>,
): FlowSampleCollectorSet[] {
  const out: FlowSampleCollectorSet[] = [];
  for (const r of rows) {
    if (r.set<string>('bridge')[0] !== bridge.uuid) continue;
    const ipfix = refRow(src, r, 'ipfix', 'IPFIX');
    out.push({ id: r.integer('id') ?? 0, ipfix: ipfix ? ipfixCommon(ipfix) : null });
  }
  return out.sort((a, b) => a.id - b.id);
}

export function readBridgeVisibility(
  src: RowSource & { rows?(table: string): IdlRow[] },
  bridge: IdlRow,
): BridgeVisibility {
  return {
    sflow: readSflowSettings(src, bridge),
    netflow: readNetflowSettings(src, bridge),
    ipfix: readIpfixSettings(src, bridge),
    collectorSets: src.rows
      ? readCollectorSets(src, bridge, src.rows('Flow_Sample_Collector_Set'))
      : [],
  };
}

/** The tables and columns to replicate for these readers (merge into VSWITCHD_TABLES). */
export const VISIBILITY_TABLES = {
  sFlow: true,
  NetFlow: true,
  IPFIX: true,
  Flow_Sample_Collector_Set: true,
} as const;
