/**
 * The configuration ovs-vswitchd acts on, read out of the Open_vSwitch database replica into
 * plain values (OVS's ovsrec_* structs, only the columns this switch uses). Reconciliation works
 * on these, so it can be tested without a database. Only vswitchd/ knows the schema's tables.
 */
import type { NetflowSettings } from '../ofproto/dpif/netflow-agent.ts';
import type { SflowSettings } from '../ofproto/dpif/sflow-agent.ts';
import type { Idl, IdlRow, RowEvent } from '../ovsdb/client/index.ts';
import { shashOrder } from '../ovsdb/client/index.ts';
import {
  type FlowSampleCollectorSet,
  type IpfixSettings,
  readCollectorSets,
  readIpfixSettings,
  readNetflowSettings,
  readSflowSettings,
} from './visibility-config.ts';

export interface IfaceConfig {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  readonly options: ReadonlyMap<string, string>;
  readonly ofportRequest: number | undefined;
  /** The number written back earlier (a restarted switch keeps it, as OVS does). */
  readonly ofport: number | undefined;
  readonly mtuRequest: number | undefined;
  readonly mac: string | undefined;
  /** lldp:enable=true (LLDP itself is not built; the setting still reconfigures). */
  readonly lldpEnable: boolean;
}

export interface PortConfig {
  readonly uuid: string;
  readonly name: string;
  readonly mac: string | undefined;
  /** VLAN columns (ofproto/dpif/vlan.ts resolves them). */
  readonly tag: number | undefined;
  readonly trunks: readonly number[];
  readonly cvlans: readonly number[];
  readonly vlanMode: string | undefined;
  readonly otherConfig: ReadonlyMap<string, string>;
  /** In the order OVS walks them (the row's set order). */
  readonly ifaces: readonly IfaceConfig[];
}

/** A Mirror row, its ports by name. */
export interface MirrorCfg {
  readonly uuid: string;
  readonly name: string;
  readonly selectAll: boolean;
  readonly selectSrcPort: readonly string[];
  readonly selectDstPort: readonly string[];
  readonly selectVlan: readonly number[];
  readonly outputPort: string | undefined;
  readonly outputVlan: number | undefined;
  /** Bytes of each mirrored packet kept (0: all). */
  readonly snaplen: number;
}

/** A Controller row (OpenFlow controller or listener of a bridge). */
export interface ControllerCfg {
  readonly uuid: string;
  readonly target: string;
  readonly maxBackoff: number | undefined;
  readonly inactivityProbe: number | undefined;
  readonly rateLimit: number | undefined;
  readonly burstLimit: number | undefined;
}

export interface BridgeConfig {
  readonly uuid: string;
  readonly name: string;
  readonly datapathType: string;
  readonly failMode: string | undefined;
  readonly otherConfig: ReadonlyMap<string, string>;
  readonly floodVlans: readonly number[];
  readonly controllers: readonly ControllerCfg[];
  readonly mirrors: readonly MirrorCfg[];
  /** The sFlow and NetFlow rows (null: off). */
  readonly sflow: SflowSettings | null;
  readonly netflow: NetflowSettings | null;
  /** The IPFIX row (null: none) and the Flow_Sample_Collector_Set rows naming the bridge. */
  readonly ipfix?: IpfixSettings | null;
  readonly collectorSets?: readonly FlowSampleCollectorSet[];
  /** Flow_Table rows by OpenFlow table number (Bridge.flow_tables). */
  readonly flowTables: ReadonlyMap<number, FlowTableConfig>;
  /** In OVS's iteration order of its port-name hash table. */
  readonly ports: readonly PortConfig[];
  /** Ports that are some mirror's output (they do not lend the bridge their address). */
  readonly mirrorOutputPorts: ReadonlySet<string>;
}

export interface OvsConfig {
  readonly uuid: string;
  readonly nextCfg: number;
  readonly otherConfig: ReadonlyMap<string, string>;
  /** In OVS's iteration order of its bridge-name hash table. */
  readonly bridges: readonly BridgeConfig[];
  /** The SSL row's key, certificate and CA certificate files (null: no SSL row). */
  readonly ssl: SslConfig | null;
}

/** A Flow_Table row (OVS's bridge_configure_tables). */
export interface FlowTableConfig {
  readonly name: string | null;
  /** flow_limit; Infinity without one. */
  readonly flowLimit: number;
  readonly overflowPolicy: 'refuse' | 'evict';
  /** `groups`: subfields whose values divide the flows for fair eviction. */
  readonly groups: readonly string[];
}

export interface SslConfig {
  readonly privateKey: string;
  readonly certificate: string;
  readonly caCert: string;
}

/** The tables and columns ovs-vswitchd replicates. */
export const VSWITCHD_TABLES = {
  Open_vSwitch: true,
  Bridge: true,
  Port: true,
  Interface: true,
  Mirror: true,
  Controller: true,
  sFlow: true,
  NetFlow: true,
  IPFIX: true,
  Flow_Sample_Collector_Set: true,
  SSL: true,
  Flow_Table: true,
} as const;

/**
 * Columns ovs-vswitchd writes and never reads as configuration (OVS's ovsdb_idl_omit_alert):
 * a change to nothing but these, typically our own status write, needs no reconfiguration.
 */
export const STATUS_COLUMNS: { readonly [table: string]: ReadonlySet<string> } = {
  Open_vSwitch: new Set([
    'cur_cfg',
    'statistics',
    'datapath_types',
    'iface_types',
    'dpdk_initialized',
    'dpdk_version',
  ]),
  Bridge: new Set(['datapath_id', 'datapath_version', 'status', 'rstp_status']),
  Controller: new Set(['is_connected', 'role', 'status']),
  Mirror: new Set(['statistics']),
  Port: new Set(['status', 'statistics', 'rstp_status', 'rstp_statistics', 'bond_active_slave']),
  Interface: new Set([
    'admin_state',
    'bfd_status',
    'cfm_fault',
    'cfm_fault_status',
    'cfm_flap_count',
    'cfm_health',
    'cfm_remote_mpids',
    'cfm_remote_opstate',
    'duplex',
    'error',
    'ifindex',
    'lacp_current',
    'link_resets',
    'link_speed',
    'link_state',
    'mac_in_use',
    'mtu',
    'ofport',
    'statistics',
    'status',
  ]),
};

/** True when a change touched configuration, not only status columns. */
export function touchesConfig(events: readonly RowEvent[]): boolean {
  for (const e of events) {
    if (e.kind !== 'modify') return true;
    const status = STATUS_COLUMNS[e.table];
    if (!status || e.columns.some((c) => !status.has(c))) return true;
  }
  return false;
}

function ifaceConfig(row: IdlRow): IfaceConfig {
  return {
    uuid: row.uuid,
    name: row.string('name') ?? '',
    type: row.string('type') ?? '',
    options: row.map('options'),
    ofportRequest: row.integer('ofport_request'),
    ofport: row.integer('ofport'),
    mtuRequest: row.integer('mtu_request'),
    mac: row.string('mac'),
    lldpEnable: row.map('lldp').get('enable') === 'true',
  };
}

function bridgeConfig(idl: Idl, row: IdlRow): BridgeConfig {
  const ports = new Map<string, PortConfig>();
  for (const uuid of row.set<string>('ports')) {
    const p = idl.getRow('Port', uuid);
    if (!p) continue;
    const name = p.string('name') ?? '';
    // OVS: a second port of the same name is ignored (with a warning); so is one without interfaces.
    if (ports.has(name)) continue;
    const ifaces: IfaceConfig[] = [];
    for (const iu of p.set<string>('interfaces')) {
      const i = idl.getRow('Interface', iu);
      if (i) ifaces.push(ifaceConfig(i));
    }
    if (ifaces.length === 0) continue;
    ports.set(name, {
      uuid: p.uuid,
      name,
      mac: p.string('mac'),
      tag: p.integer('tag'),
      trunks: p.set<number>('trunks'),
      cvlans: p.set<number>('cvlans'),
      vlanMode: p.string('vlan_mode'),
      otherConfig: p.map('other_config'),
      ifaces,
    });
  }
  const mirrorOutputPorts = new Set<string>();
  const portName = (u: string): string | undefined => idl.getRow('Port', u)?.string('name');
  const mirrors: MirrorCfg[] = [];
  for (const mu of row.set<string>('mirrors')) {
    const m = idl.getRow('Mirror', mu);
    if (!m) continue;
    const out = m.string('output_port');
    if (out) mirrorOutputPorts.add(out);
    const names = (col: string): string[] =>
      m
        .set<string>(col)
        .map(portName)
        .filter((n): n is string => n !== undefined);
    mirrors.push({
      uuid: m.uuid,
      name: m.string('name') ?? '',
      selectAll: m.boolean('select_all') ?? false,
      selectSrcPort: names('select_src_port'),
      selectDstPort: names('select_dst_port'),
      selectVlan: m.set<number>('select_vlan'),
      outputPort: out ? portName(out) : undefined,
      outputVlan: m.integer('output_vlan'),
      snaplen: m.integer('snaplen') ?? 0,
    });
  }
  const portOrder = shashOrder([...ports.keys()]);
  return {
    uuid: row.uuid,
    name: row.string('name') ?? '',
    datapathType: row.string('datapath_type') ?? '',
    failMode: row.string('fail_mode'),
    otherConfig: row.map('other_config'),
    floodVlans: row.set<number>('flood_vlans'),
    mirrors,
    flowTables: flowTableConfigs(idl, row),
    sflow: readSflowSettings(idl, row),
    netflow: readNetflowSettings(idl, row),
    ipfix: readIpfixSettings(idl, row),
    collectorSets: readCollectorSets(idl, row, idl.rows('Flow_Sample_Collector_Set')),
    controllers: row
      .set<string>('controller')
      .map((u) => idl.getRow('Controller', u))
      .filter((c): c is IdlRow => c !== undefined)
      .map((c) => ({
        uuid: c.uuid,
        target: c.string('target') ?? '',
        maxBackoff: c.integer('max_backoff'),
        inactivityProbe: c.integer('inactivity_probe'),
        rateLimit: c.integer('controller_rate_limit'),
        burstLimit: c.integer('controller_burst_limit'),
      })),
    ports: portOrder.map((n) => ports.get(n) as PortConfig),
    mirrorOutputPorts: new Set(
      [...ports.values()].filter((p) => mirrorOutputPorts.has(p.uuid)).map((p) => p.name),
    ),
  };
}

/** Reads the configuration; undefined while the database has no Open_vSwitch row. */
export function readOvsConfig(idl: Idl): OvsConfig | undefined {
  const ovs = idl.first('Open_vSwitch');
  if (!ovs) return undefined;
  const bridges = new Map<string, BridgeConfig>();
  for (const uuid of ovs.set<string>('bridges')) {
    const b = idl.getRow('Bridge', uuid);
    if (!b) continue;
    const name = b.string('name') ?? '';
    if (!bridges.has(name)) bridges.set(name, bridgeConfig(idl, b));
  }
  const order = shashOrder([...bridges.keys()]);
  return {
    uuid: ovs.uuid,
    nextCfg: ovs.integer('next_cfg') ?? 0,
    otherConfig: ovs.map('other_config'),
    bridges: order.map((n) => bridges.get(n) as BridgeConfig),
    ssl: sslConfig(idl, ovs),
  };
}

function flowTableConfigs(idl: Idl, bridge: IdlRow): Map<number, FlowTableConfig> {
  const out = new Map<number, FlowTableConfig>();
  for (const [table, uuid] of bridge.map<number, string>('flow_tables')) {
    const r = idl.getRow('Flow_Table', uuid);
    if (!r) continue;
    const limit = r.integer('flow_limit');
    out.set(table, {
      name: r.string('name') ?? null,
      flowLimit: limit === undefined || limit >= 0xffffffff ? Infinity : limit,
      overflowPolicy: r.string('overflow_policy') === 'evict' ? 'evict' : 'refuse',
      groups: r.set<string>('groups'),
    });
  }
  return out;
}

function sslConfig(idl: Idl, ovs: IdlRow): SslConfig | null {
  const uuid = ovs.set<string>('ssl')[0];
  const row = uuid === undefined ? undefined : idl.getRow('SSL', uuid);
  if (!row) return null;
  return {
    privateKey: row.string('private_key') ?? '',
    certificate: row.string('certificate') ?? '',
    caCert: row.string('ca_cert') ?? '',
  };
}
