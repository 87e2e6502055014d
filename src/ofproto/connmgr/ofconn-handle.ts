/*
 * What a bridge does with each OpenFlow request (OVS's handle_openflow() in ofproto.c):
 * configuration, flow/group/meter/port mods, packet-outs, statistics, roles, async config and
 * bundles. Replies go back on the requesting connection in its version and formats; failures
 * are OFPT_ERRORs carrying the request's first 64 bytes.
 */

import { FLOW_WORDS } from '../../lib/flow/layout.ts';
import { vlog } from '../../lib/vlog.ts';
import {
  type FlowModOptions,
  type FlowTables,
  NAME_FROM_OPENFLOW,
  type Rule,
  type TableMissConfig,
} from '../flow-table.ts';
import {
  decodeTableModVacancy,
  encodeTableDescs,
  type TableDesc,
  type TableModVacancy,
} from '../openflow/async-status.ts';
import { encodeMessage } from '../openflow/codec.ts';
import { OfpError } from '../openflow/errors.ts';
import { encodeFlowStatsReplies, FlowStatsReplyEncoder } from '../openflow/flow-stats-encode.ts';
import type {
  FlowMod,
  FlowStats,
  OfpFrame,
  OfpMessage,
  PortDesc,
  StatsReply,
  StatsRequest,
} from '../openflow/messages.ts';
import type { TableFeatures } from '../openflow/table-features.ts';
import { bundleAdd, bundleControl } from './bundles.ts';
import { OFPP_ANY, type OfSwitch, type PortMod } from './of-switch.ts';
import { type Ofconn, PIN_REASON_BITS } from './ofconn.ts';
import type { Ofmonitors } from './ofmonitor.ts';
import { bridgeTableFeatures } from './table-features.ts';

const log = vlog('connmgr');
const U64_MAX = 0xffffffffffffffffn;
const OFPSF_REPLY_MORE = 1;
/* Table 254 is OVS's hidden internal table: OpenFlow sees 254 tables. */
export const N_VISIBLE_TABLES = 254;
/* Room for a multipart reply's body in one message (OpenFlow's 16-bit length). */
const MAX_REPLY = 0xffff;
const OFPMP_TABLE_DESC = 14;
const OFPMPF_REQ_MORE = 1;
const OFPTC14_EVICTION = 1 << 2;
/* What table features report as every table's capacity (read-only for controllers). */
const TABLE_MAX_ENTRIES = 1000000;

/** What the handler needs from the connection manager besides the switch. */
export interface HandlerContext {
  readonly sw: OfSwitch;
  /** Flow monitors: flow_mods run through them so they can report what changed. */
  readonly monitors: Ofmonitors;
  /** Records a master election id; false when it is stale (OVS's master_election_id). */
  setElectionId(id: bigint): boolean;
  electionId(): bigint | null;
  /** Gives `conn` a role (demoting the other masters when it becomes master). */
  setRole(conn: Ofconn, role: 'equal' | 'master' | 'slave'): void;
  /** Runs a group or meter mod; tells the other connections about it if it succeeds. */
  forwardable(source: Ofconn, frame: OfpFrame, apply: () => OfpError | null): OfpError | null;
  /** Runs a port-mod (port-status messages follow it as OVS sends them). */
  portMod(pm: PortMod): OfpError | null;
  /** Applies a table-mod's vacancy-event settings. */
  tableMod(tableId: number, vacancy: TableModVacancy): void;
  /** Every visible table's description (OF1.4 table-desc). */
  tableDescs(): TableDesc[];
  /** The bridge's fragment handling (OFPC_FRAG_*), shared by all its connections as in OVS. */
  fragHandling: number;
}

/* OFPC_INVALID_TTL_TO_CONTROLLER: an OF1.0-1.2 config flag that OVS keeps as the invalid_ttl
 * bit of the connection's packet-in async mask (OF1.3 dropped the flag). */
/* OpenFlow 1.1's OFPTC11_TABLE_MISS_* values (the low two bits of a table-mod's config). */
const TABLE_MISS: readonly (TableMissConfig | null)[] = ['controller', 'continue', 'drop', null];
const OFPC_INVALID_TTL_TO_CONTROLLER = 1 << 2;
const OFPC_FRAG_MASK = 0x3;
const PRE14_PIN_REASONS = 0b111;

/* The OF1.0 switch-features action bitmap OVS advertises: every OF1.0 action. */
const OF10_ACTIONS = 0xfff;
/* Capabilities: flow, table, port, queue stats (+ARP_MATCH_IP in OF1.0/1.1, group stats 1.1+). */
function capabilities(version: number): number {
  if (version === 1) return 0x1 | 0x2 | 0x4 | 0x40 | 0x80;
  if (version === 2) return 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80;
  // OF1.4 added a bit for bundles, which OVS supports.
  return 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | (version >= 5 ? 0x200 : 0);
}

/** A port description as `version` says it (the switch gives OF1.1+ semantics). */
export function portForVersion(p: PortDesc, version: number): PortDesc {
  if (version !== 1) return { ...p, config: p.config & 0x65, state: p.state & 0x7 };
  const f = (x: number) => (x & 0x7f) | ((x >>> 4) & 0xf80);
  return {
    ...p,
    config: p.config & 0x7f,
    state: p.state & 1,
    curr: f(p.curr),
    advertised: f(p.advertised),
    supported: f(p.supported),
    peer: f(p.peer),
  };
}

export function handleFrame(ctx: HandlerContext, conn: Ofconn, frame: OfpFrame, raw: Uint8Array) {
  let err: OfpError | null;
  try {
    err = handle(ctx, conn, frame, raw);
  } catch (e) {
    if (!(e instanceof OfpError)) throw e;
    err = e;
  }
  if (err) {
    log.dbg(`${conn.name}: ${frame.msg.type} failed: ${err.message}`);
    conn.sendError(err, raw, frame.xid);
  }
}

function rejectSlave(conn: Ofconn): OfpError | null {
  return conn.role === 'slave' ? new OfpError('OFPBRC_IS_SECONDARY') : null;
}

function handle(
  ctx: HandlerContext,
  conn: Ofconn,
  frame: OfpFrame,
  raw: Uint8Array,
): OfpError | null {
  const { sw } = ctx;
  const msg = frame.msg;
  const xid = frame.xid;
  const v = conn.version;
  switch (msg.type) {
    case 'hello':
    case 'echo_reply':
    case 'barrier_reply':
      return null;
    case 'error':
      log.info(
        `${conn.name}: received error ${msg.error.name ?? `type ${msg.error.type} code ${msg.error.code}`}`,
      );
      return null;
    case 'echo_request':
      conn.send({ type: 'echo_reply', data: msg.data }, xid);
      return null;
    case 'features_request':
      conn.send(
        {
          type: 'features_reply',
          datapathId: sw.datapathId(),
          nBuffers: 0,
          nTables: N_VISIBLE_TABLES,
          auxiliaryId: 0,
          capabilities: capabilities(v),
          actions: v === 1 ? OF10_ACTIONS : 0,
          ports: v < 4 ? sw.portDescs().map((p) => portForVersion(p, v)) : [],
        },
        xid,
      );
      return null;
    case 'get_config_request': {
      const ttlBit = 1 << PIN_REASON_BITS.invalid_ttl;
      const ttl = conn.version < 4 && ((conn.asyncConfig.master.packetIn ?? 0) & ttlBit) !== 0;
      const flags = ctx.fragHandling | (ttl ? OFPC_INVALID_TTL_TO_CONTROLLER : 0);
      conn.send({ type: 'get_config_reply', flags, missSendLen: conn.missSendLen }, xid);
      return null;
    }
    case 'set_config': {
      // A slave controller may not change the bridge-wide fragment handling (OVS).
      if (conn.type !== 'primary' || conn.role !== 'slave') {
        ctx.fragHandling = msg.flags & OFPC_FRAG_MASK;
      }
      if (conn.version < 4) {
        const ttlBit = 1 << PIN_REASON_BITS.invalid_ttl;
        const m = conn.asyncConfig.master;
        const cur = m.packetIn ?? 0;
        const packetIn = msg.flags & OFPC_INVALID_TTL_TO_CONTROLLER ? cur | ttlBit : cur & ~ttlBit;
        conn.asyncConfig = { ...conn.asyncConfig, master: { ...m, packetIn } };
      }
      conn.missSendLen = msg.missSendLen;
      return null;
    }
    case 'barrier_request':
      conn.send({ type: 'barrier_reply' }, xid);
      return null;
    case 'flow_mod':
      return rejectSlave(conn) ?? flowMod(ctx, conn, msg, raw, xid);
    case 'nxt_flow_mod_table_id':
      conn.tableIdExt = msg.enable;
      return null;
    case 'nxt_set_flow_format':
      conn.nxm = msg.format === 'nxm';
      return null;
    case 'nxt_set_packet_in_format':
      conn.packetInFormat = msg.format;
      return null;
    case 'packet_out':
      return rejectSlave(conn) ?? sw.packetOut(msg);
    case 'port_mod':
      return rejectSlave(conn) ?? ctx.portMod(msg);
    case 'group_mod':
    case 'meter_mod': {
      return (
        rejectSlave(conn) ??
        ctx.forwardable(conn, frame, () =>
          msg.type === 'group_mod' ? sw.groups.groupMod(msg) : sw.meters.meterMod(msg),
        )
      );
    }
    case 'table_mod': {
      if (msg.tableId !== 0xff && msg.tableId >= N_VISIBLE_TABLES) {
        return new OfpError('OFPTMFC_BAD_TABLE');
      }
      const vacancy = decodeTableModVacancy(raw);
      if (vacancy instanceof OfpError) return vacancy;
      const err = rejectSlave(conn);
      if (err === null) {
        ctx.tableMod(msg.tableId, vacancy);
        // OpenFlow 1.4+ carries eviction on or off in every table-mod (OFPTC14_EVICTION).
        if (conn.version >= 5) {
          const on = (msg.config & OFPTC14_EVICTION) !== 0;
          const n = Math.min(N_VISIBLE_TABLES, ctx.sw.flowTables.nTables);
          if (msg.tableId === 0xff)
            for (let t = 0; t < n; t++) ctx.sw.flowTables.setOpenflowEviction(t, on);
          else ctx.sw.flowTables.setOpenflowEviction(msg.tableId, on);
        }
        // Only OpenFlow 1.1 and 1.2 have table-miss bits (OVS's ofputil_decode_table_miss).
        const miss = conn.version === 2 || conn.version === 3 ? TABLE_MISS[msg.config & 3] : null;
        if (miss) {
          const n = Math.min(N_VISIBLE_TABLES, ctx.sw.flowTables.nTables);
          if (msg.tableId === 0xff)
            for (let t = 0; t < n; t++) ctx.sw.flowTables.setMissConfig(t, miss);
          else ctx.sw.flowTables.setMissConfig(msg.tableId, miss);
        }
      }
      return err;
    }
    case 'role_request':
      return roleRequest(ctx, conn, msg, xid);
    case 'role_reply':
      return new OfpError('OFPBRC_BAD_TYPE', msg.type);
    case 'get_async_request': {
      // Before OF1.4 a packet-in mask has bits for no_match, action and invalid_ttl only.
      const c = conn.asyncConfig;
      const pin = conn.version < 5 ? PRE14_PIN_REASONS : 0xffffffff;
      const config = {
        master: { ...c.master, packetIn: (c.master.packetIn ?? 0) & pin },
        slave: { ...c.slave, packetIn: (c.slave.packetIn ?? 0) & pin },
      };
      conn.send({ type: 'get_async_reply', format: 'standard', config }, xid);
      return null;
    }
    case 'set_async':
      conn.asyncConfig = {
        master: { ...conn.asyncConfig.master, ...msg.config.master },
        slave: { ...conn.asyncConfig.slave, ...msg.config.slave },
      };
      // A service connection that configures asynchronous messages wants them.
      if (conn.type === 'service' && conn.missSendLen === 0) conn.missSendLen = 128;
      return null;
    case 'stats_request':
      return statsRequest(ctx, conn, msg.format, msg.body, xid, msg.flags);
    case 'bundle_control':
      return bundleControl(ctx, conn, msg, xid, raw);
    case 'bundle_add':
      return bundleAdd(conn, msg, xid, raw);
    default:
      return new OfpError('OFPBRC_BAD_TYPE', msg.type);
  }
}

/* ---------------------------------------------------------------------------------------- */

/* The flow_mod as OVS's ofputil_decode_flow_mod() leaves it for this connection, then applied. */
function flowMod(
  ctx: HandlerContext,
  conn: Ofconn,
  msg: Extract<OfpMessage, { type: 'flow_mod' }>,
  raw: Uint8Array,
  xid: number,
): OfpError | null {
  const prep = prepareFlowMod(conn, msg, raw);
  if (prep instanceof OfpError) return prep;
  const err = ctx.monitors.flowMod(conn, xid, prep.fm, () =>
    ctx.sw.flowTables.flowMod(prep.fm, prep.opts),
  );
  if (!err) conn.reportFlowMod(prep.fm.command);
  return err;
}

export function prepareFlowMod(
  conn: Ofconn,
  msg: FlowMod & { format?: 'standard' | 'nxt' },
  raw: Uint8Array,
): { fm: FlowMod; opts: FlowModOptions } | OfpError {
  const v = conn.version;
  const fm: FlowMod = { ...msg };
  const opts: FlowModOptions = {};
  const isMod = fm.command === 'modify' || fm.command === 'modify_strict';
  const isDel = fm.command === 'delete' || fm.command === 'delete_strict';
  if (v === 1 || msg.format === 'nxt') {
    // The table is in the command's high byte only with flow_mod_table_id; there 0 is table
    // 0, not "all tables" (the codec cannot tell, not knowing the connection's setting).
    if (!conn.tableIdExt) fm.tableId = 0xff;
    else if (fm.tableId === 0xff) {
      const at = msg.format === 'nxt' ? 24 : 56;
      if (raw.length > at && raw[at] === 0) fm.tableId = 0;
    }
    // OpenFlow 1.0 gives exact-match flows (no wildcard bit) the highest priority.
    if (v === 1 && msg.format !== 'nxt' && raw.length >= 12 && raw[1] === 14) {
      const wildcards = ((raw[8] << 24) | (raw[9] << 16) | (raw[10] << 8) | raw[11]) >>> 0;
      if ((wildcards & 0x3fffff) === 0) fm.priority = 0xffff;
    }
  } else {
    // OF1.1+: a modify changes no cookie; only OF1.1 lets an unmatched modify add a flow.
    opts.modifyCookie = false;
    if (isMod && v >= 3) fm.newCookie = U64_MAX;
    if (fm.tableId === 0xff && (v === 2 || !isDel)) return new OfpError('OFPFMFC_BAD_TABLE_ID');
  }
  // OpenFlow 1.0 and 1.1 (and NXM) "add" always resets counters: OVS records reset_counts.
  if ((v <= 2 || msg.format === 'nxt') && fm.command === 'add')
    fm.flags = { ...fm.flags, resetCounts: true };
  // Table 254 is OVS's hidden, read-only table: deletes find nothing there, changes fail.
  if (fm.tableId === N_VISIBLE_TABLES) {
    if (!isDel) return new OfpError('OFPBRC_EPERM');
    fm.tableId = 0xfe;
  }
  opts.version = v;
  return { fm, opts };
}

/* ---------------------------------------------------------------------------------------- */

function roleRequest(
  ctx: HandlerContext,
  conn: Ofconn,
  msg: Extract<OfpMessage, { type: 'role_request' | 'role_reply' }>,
  xid: number,
): OfpError | null {
  if (msg.role !== 'nochange') {
    if (msg.role !== 'equal' && msg.format === 'standard' && !ctx.setElectionId(msg.generationId)) {
      return new OfpError('OFPRRFC_STALE');
    }
    ctx.setRole(conn, msg.role);
  }
  conn.send(
    {
      type: 'role_reply',
      format: msg.format,
      role: conn.role,
      generationId: ctx.electionId() ?? U64_MAX,
    },
    xid,
  );
  return null;
}

/* ---------------------------------------------------------------------------------------- */

function statsRequest(
  ctx: HandlerContext,
  conn: Ofconn,
  format: 'standard' | 'nxt',
  body: StatsRequest,
  xid: number,
  reqFlags = 0,
): OfpError | null {
  const { sw } = ctx;
  const v = conn.version;
  const reply = (b: StatsReply, flags = 0) =>
    conn.send({ type: 'stats_reply', format, flags, body: b }, xid);
  switch (body.stat) {
    case 'desc':
      reply({ stat: 'desc', ...sw.switchDesc() });
      return null;
    case 'flow': {
      if (body.tableId !== 0xff && body.tableId > N_VISIBLE_TABLES) {
        return new OfpError('OFPBRC_BAD_TABLE_ID');
      }
      if (body.aggregate) {
        reply({ stat: 'aggregate', ...sw.flowTables.aggregate(body) });
        return null;
      }
      sendFlowStats(conn, format, xid, sw.flowTables, sw.flowTables.select(body));
      return null;
    }
    case 'table':
      reply({ stat: 'table', stats: sw.flowTables.tableStats().slice(0, N_VISIBLE_TABLES) });
      return null;
    case 'port':
      reply({ stat: 'port', stats: sw.portStats(body.portNo) });
      return null;
    case 'port_desc': {
      let ports = sw.portDescs().map((p) => portForVersion(p, v));
      if (v >= 6 && body.portNo !== OFPP_ANY) ports = ports.filter((p) => p.portNo === body.portNo);
      sendChunked(conn, format, xid, ports, (ps) => ({ stat: 'port_desc', ports: ps }));
      return null;
    }
    case 'queue': {
      const stats = sw.queueStats?.(body.portNo, body.queueId) ?? [];
      if (stats instanceof OfpError) return stats;
      reply({ stat: 'queue', stats });
      return null;
    }
    case 'group':
      reply({ stat: 'group', stats: sw.groups.stats(body.groupId) });
      return null;
    case 'group_desc':
      sendChunked(conn, format, xid, sw.groups.desc(body.groupId), (gs) => ({
        stat: 'group_desc',
        groups: gs,
      }));
      return null;
    case 'group_features':
      reply({ stat: 'group_features', ...sw.groups.features(v) });
      return null;
    case 'meter':
      reply({ stat: 'meter', stats: sw.meters.stats(body.meterId) });
      return null;
    case 'meter_config':
      reply({ stat: 'meter_config', meters: sw.meters.config(body.meterId) });
      return null;
    case 'meter_features':
      reply({ stat: 'meter_features', ...sw.meters.features() });
      return null;
    case 'table_features': {
      // A request with tables sets features, possibly over several messages ("more").
      if (body.tables.length || conn.pendingTableFeatures) {
        const all = [...(conn.pendingTableFeatures ?? []), ...body.tables];
        if (reqFlags & OFPMPF_REQ_MORE) {
          conn.pendingTableFeatures = all;
          return null;
        }
        conn.pendingTableFeatures = null;
        const err = checkTableFeaturesChange(all, sw.flowTables);
        if (err) return err;
        for (const t of all) sw.flowTables.setTableName(t.tableId, t.name, NAME_FROM_OPENFLOW);
      }
      sendChunked(
        conn,
        format,
        xid,
        // Flow_Table rows name tables and limit them (OVS's query_tables).
        bridgeTableFeatures(v, N_VISIBLE_TABLES, TABLE_MAX_ENTRIES).map((f) => {
          const t = sw.flowTables.tableSettings(f.tableId);
          return t.name === null && t.maxFlows >= f.maxEntries
            ? f
            : { ...f, name: t.name ?? f.name, maxEntries: Math.min(f.maxEntries, t.maxFlows) };
        }),
        (ts) => ({
          stat: 'table_features',
          tables: ts,
        }),
      );
      return null;
    }
    case 'raw':
      if (body.statType === OFPMP_TABLE_DESC && v >= 5) {
        reply({
          stat: 'raw',
          statType: OFPMP_TABLE_DESC,
          body: encodeTableDescs(
            ctx
              .tableDescs()
              .map((d) =>
                sw.flowTables.openflowEviction(d.tableId) ? { ...d, eviction: true } : d,
              ),
          ),
        });
        return null;
      }
      return new OfpError('OFPBRC_BAD_STAT');
    default:
      return new OfpError('OFPBRC_BAD_STAT');
  }
}

/*
 * A table-features set request, judged as OVS 3.1 does (handle_table_features_change): the
 * tables are OVS's fixed pipeline, so a request may restate them but not drop, add or resize
 * any; enable/disable are refused. Changes OVS would accept here (names, narrower match
 * capabilities) are accepted and, like OVS's userspace datapath, change nothing observable
 * beyond the reply, which reports the features in force.
 */
function checkTableFeaturesChange(
  tables: readonly TableFeatures[],
  flowTables: FlowTables,
): OfpError | null {
  if (tables.length === 0) return null;
  const seen = new Set<number>();
  for (const t of tables) {
    if (seen.has(t.tableId)) return new OfpError('NXTFFC_DUP_TABLE', `table ${t.tableId}`);
    seen.add(t.tableId);
  }
  // The hidden table may not be named in a request.
  if (seen.has(N_VISIBLE_TABLES)) return new OfpError('OFPTFFC_EPERM', 'hidden table');
  const command = tables[0].command;
  if (command === 2 || command === 3) return new OfpError('OFPTFFC_EPERM', 'enable/disable');
  if (command !== 1) {
    // Replace: every visible table, none skipped, none beyond.
    let n = 0;
    while (seen.has(n)) n++;
    const beyond = [...seen].some((id) => id > n);
    if (n !== N_VISIBLE_TABLES || beyond) {
      return new OfpError('OFPTFFC_EPERM', `cannot change the number of tables to ${n}`);
    }
  }
  for (const t of tables) {
    if (t.maxEntries !== TABLE_MAX_ENTRIES) return new OfpError('OFPTFFC_EPERM', 'max_entries');
  }
  // A name given through OVSDB cannot be changed through OpenFlow, only restated.
  for (const t of tables) {
    if (!flowTables.maySetTableName(t.tableId, t.name, NAME_FROM_OPENFLOW)) {
      return new OfpError('OFPTFFC_EPERM', `table ${t.tableId} is named through OVSDB`);
    }
  }
  return null;
}

/* Dumps of at least this many flows (some eight 64 kB replies) are sent paced. */
const PACED_MIN_FLOWS = 4096;

/* Flow stats split over as many replies as 64 kB messages need, OFPSF_REPLY_MORE on all but
 * the last. Batches grow while they fit and halve when one does not. Each reply's entries are
 * made as it is encoded: built all at once, 100,000 entries lived long enough for the
 * collector to copy every one of them out of the young generation. */
function sendFlowStats(
  conn: Ofconn,
  format: 'standard' | 'nxt',
  xid: number,
  tables: FlowTables,
  rules: Rule[],
) {
  const now = tables.now();
  // Entries straight from the rules into the replies, unless OF1.0's own format is asked for
  // (its replies switch to NXM per reply, when a flow needs it: the chunked path's rule).
  if (format === 'nxt' || conn.version !== 1) {
    const fill = (i: number, out: FlowStats): void => tables.fillRuleStats(rules[i], now, out);
    const skipped = (_i: number, e: Error): void =>
      log.warn(`${conn.name}: cannot encode reply: ${e.message}`);
    const nx = format === 'nxt';
    if (rules.length < PACED_MIN_FLOWS) {
      encodeFlowStatsReplies(
        rules.length,
        fill,
        conn.version,
        xid,
        nx,
        (r) => conn.write(r),
        skipped,
      );
      return;
    }
    // A big dump goes out as the peer reads it (ovs-ofctl prints while the rest is encoded).
    const enc = new FlowStatsReplyEncoder(rules.length, fill, conn.version, xid, nx, skipped);
    conn.sendPaced({ run: (emit, budget) => enc.run(emit, budget), abort: () => enc.finish() });
    return;
  }
  sendChunked(conn, format, xid, rules, (rs) => ({
    stat: 'flow',
    flows: rs.map((r) => tables.ruleStats(r, now)),
  }));
}

function sendChunked<T>(
  conn: Ofconn,
  format: 'standard' | 'nxt',
  xid: number,
  items: T[],
  body: (chunk: T[]) => StatsReply,
): void {
  if (items.length === 0) {
    conn.send({ type: 'stats_reply', format, flags: 0, body: body([]) }, xid);
    return;
  }
  let n = 64;
  let i = 0;
  while (i < items.length) {
    const chunk = items.slice(i, i + n);
    const last = i + chunk.length >= items.length;
    const msg: OfpMessage = {
      type: 'stats_reply',
      format,
      flags: last ? 0 : OFPSF_REPLY_MORE,
      body: body(chunk),
    };
    let bytes: Uint8Array | null = null;
    try {
      bytes = encodeReply(conn, msg, xid);
    } catch (e) {
      if (!(e instanceof OfpError) || chunk.length === 1) {
        log.warn(`${conn.name}: cannot encode reply: ${(e as Error).message}`);
        i += chunk.length;
        continue;
      }
    }
    if (bytes === null) {
      n = Math.max(1, chunk.length >> 1);
      continue;
    }
    conn.write(bytes);
    i += chunk.length;
    if (bytes.length < MAX_REPLY / 2) n *= 2;
  }
}

function encodeReply(conn: Ofconn, msg: OfpMessage, xid: number): Uint8Array {
  return encodeMessage({ version: conn.version, xid, msg });
}

/** Whether a match is catch-all (helper for callers filtering requests). */
export function isCatchAll(m: { mask: Uint32Array }): boolean {
  for (let i = 0; i < FLOW_WORDS; i++) if (m.mask[i] !== 0) return false;
  return true;
}
