/*
 * ovs-ofctl's table and queue configuration commands: dump-table-desc, mod-table and
 * queue-get-config, in the order OVS's ovs-ofctl does their steps (the xids it prints follow).
 */

import { encodeQueueGetConfigRequest, OFPQ_ALL } from '../../ofproto/openflow/queue-config.ts';
import { parseRaw, statsMore } from '../../ofproto/openflow/raw-msg.ts';
import {
  decodeTableDescReply,
  defaultTableMod,
  encodeTableDescRequest,
  encodeTableMod,
  type TableDesc,
  type TableMod,
} from '../../ofproto/openflow/table-config.ts';
import { Ctx, strToPortNo } from './ctx.ts';
import { OfctlFatal } from './errors.ts';
import { vlogWarn } from './log.ts';
import { protocolsFromVersions } from './options.ts';
import { formatReceived } from './print.ts';
import { dumpRaw, rawRequest } from './raw-dump.ts';
import { changeTableName } from './table-features.ts';
import { fatalErrno, type Received, type Vconn } from './vconn.ts';

const VERSION_NAMES = [
  '',
  'OpenFlow10',
  'OpenFlow11',
  'OpenFlow12',
  'OpenFlow13',
  'OpenFlow14',
  'OpenFlow15',
];

export async function cmdDumpTableDesc(ctx: Ctx, args: string[]): Promise<void> {
  const vc = await ctx.open(args[0]);
  if (vc.version < 5) {
    throw new OfctlFatal("dump-table-desc needs OpenFlow 1.4 or later ('-O OpenFlow14')");
  }
  await dumpRaw(
    ctx,
    vc,
    rawRequest((xid) => encodeTableDescRequest(vc.version, xid)),
  );
  vc.close();
}

export async function cmdQueueGetConfig(ctx: Ctx, args: string[]): Promise<void> {
  const name = args[0];
  const port = await strToPortNo(ctx, name, args.length > 1 ? args[1] : 'any');
  const qarg = args.length > 2 ? args[2] : 'all';
  const queue = qarg.toLowerCase() === 'all' ? OFPQ_ALL : atoi(qarg);
  const vc = await ctx.open(name);
  if (port === 0xffff && vc.version === 1) {
    // OpenFlow 1.0 asks port by port; OVS lists the ports on the first connection and asks on
    // a second one.
    const vc2 = await ctx.open(name);
    for (const p of await ctx.portIterator(vc)) {
      if (p.portNo < 0xff00) {
        const rq = rawRequest((xid) =>
          encodeQueueGetConfigRequest(vc2.version, p.portNo, queue, xid),
        );
        await dumpRaw(ctx, vc2, rq, vc2.name);
      }
    }
    vc2.close();
  } else {
    const rq = rawRequest((xid) => encodeQueueGetConfigRequest(vc.version, port, queue, xid));
    await dumpRaw(ctx, vc, rq, vc.name);
  }
  vc.close();
}

/* C's atoi(): leading blanks, a sign, digits; anything else ends it. */
function atoi(s: string): number {
  const m = /^\s*([-+]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) >>> 0 : 0;
}

/* ---- mod-table ---- */

interface ParsedTableMod {
  tm: TableMod;
  name: string | null;
  versions: number[];
}

function tableFromString(s: string): number | null {
  if (s.startsWith('-')) {
    vlogWarn('ofp_table', `Negative value ${s} is not a valid table number.`);
    return null;
  }
  if (/^\d+$/.test(s)) {
    const t = Number(s);
    if (t > 255) {
      vlogWarn('ofp_table', `table ${t} is outside the supported range 0 through 255`);
      return null;
    }
    return t;
  }
  // Table names: OVS's own tables have none, so a name never resolves.
  return null;
}

/* OVS's str_to_int(s, 0): C's strtol with base 0 over the whole string. */
function strToInt(s: string): number | null {
  const m = /^\s*[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(s);
  if (!m) return null;
  const neg = s.trim().startsWith('-');
  const b = m[1];
  const v = /^0[xX]/.test(b)
    ? Number.parseInt(b.slice(2), 16)
    : b.length > 1 && b.startsWith('0')
      ? Number.parseInt(b, 8)
      : Number.parseInt(b, 10);
  return neg ? -v : v;
}

function parseVacancy(tm: TableMod, setting: string): void {
  // strtok_r(":") then strtok_r(","), twice: empty tokens are skipped.
  const afterColon = setting.includes(':') ? setting.slice(setting.indexOf(':') + 1) : '';
  const toks = afterColon.split(',').filter((t) => t !== '');
  const down = toks[0];
  if (down === undefined) throw new OfctlFatal('Vacancy down value missing');
  const d = strToInt(down);
  if (d === null || d < 0 || d > 100) throw new OfctlFatal(`Invalid vacancy down value "${down}"`);
  const up = toks[1];
  if (up === undefined) throw new OfctlFatal('Vacancy up value missing');
  const u = strToInt(up);
  if (u === null || u < 0 || u > 100) throw new OfctlFatal(`Invalid vacancy up value "${up}"`);
  if (d > u) {
    throw new OfctlFatal(
      'Invalid vacancy range, vacancy up should be greater than vacancy down (OFPBPC_BAD_VALUE)',
    );
  }
  tm.tableVacancy = { down: d, up: u, vacancy: 0 };
}

export function parseTableMod(tableId: string, setting: string): ParsedTableMod {
  let id: number | null;
  if (tableId.toLowerCase() === 'all') id = 255;
  else id = tableFromString(tableId);
  if (id === null) throw new OfctlFatal(`unknown table "${tableId}"`);
  const tm = defaultTableMod(id);
  let name: string | null = null;
  let versions: number[];
  const colon = setting.indexOf(':');
  const head = colon < 0 ? setting : setting.slice(0, colon);
  if (setting === 'controller' || setting === 'continue' || setting === 'drop') {
    tm.miss = setting;
    versions = [2, 3];
  } else if (setting === 'evict' || setting === 'noevict') {
    tm.eviction = setting === 'evict' ? 'on' : 'off';
    versions = [5, 6];
  } else if ('vacancy'.startsWith(head)) {
    // OVS compares only up to the colon, so any prefix of "vacancy" (even "") selects it.
    tm.vacancy = 'on';
    versions = [5, 6];
    parseVacancy(tm, setting);
  } else if (setting === 'novacancy') {
    tm.vacancy = 'off';
    versions = [5, 6];
  } else if (id !== 255 && setting.startsWith('name:')) {
    name = setting.slice(5);
    versions = [4, 5, 6];
  } else throw new OfctlFatal(`invalid table_mod setting ${setting}`);
  if (id === 0xfe && tm.miss === 'continue') {
    throw new OfctlFatal("last table's flow miss handling can not be continue");
  }
  return { tm, name, versions };
}

async function fetchTableDesc(vc: Vconn, tm: TableMod): Promise<void> {
  const rq = rawRequest((xid) => encodeTableDescRequest(vc.version, xid));
  vc.send(rq.bytes);
  let td: TableDesc | null = null;
  for (;;) {
    let r: Received;
    try {
      r = await vc.recvXid(rq.xid);
    } catch (e) {
      fatalErrno(e, 'OpenFlow packet receive failed');
    }
    const m = parseRaw(r.bytes);
    if (m?.kind.cls !== 'ofpst' || !m.kind.reply || m.kind.stat !== 14) {
      throw new OfctlFatal(`received bad reply: ${formatReceived(r, { verbosity: 2 })}`);
    }
    if (!td) {
      try {
        td = decodeTableDescReply(m).find((t) => t.tableId === tm.tableId) ?? null;
      } catch {
        td = null;
      }
    }
    if (!statsMore(m)) break;
  }
  // Not found: OVS is left with a zeroed description.
  const d: TableDesc = td ?? {
    tableId: tm.tableId,
    eviction: 'default',
    evictionFlags: 0,
    vacancy: 'default',
    tableVacancy: { down: 0, up: 0, vacancy: 0 },
  };
  if (tm.eviction !== 'default') {
    tm.vacancy = d.vacancy;
    tm.tableVacancy = { ...d.tableVacancy };
  } else if (tm.vacancy !== 'default') {
    tm.eviction = d.eviction;
    tm.evictionFlags = d.evictionFlags;
  }
}

export async function cmdModTable(ctx: Ctx, args: string[]): Promise<void> {
  const [name, tableArg, setting] = args;
  if (ctx.shouldAcceptNames()) await ctx.tableMap(name);
  const { tm, name: newName, versions } = parseTableMod(tableArg, setting);
  const allowed = ctx.o.versions;
  const usable = versions.filter((v) => allowed.includes(v));
  if (!usable.length) {
    throw new OfctlFatal(
      `table_mod '${setting}' requires one of the OpenFlow versions ${versions.map((v) => VERSION_NAMES[v]).join(', ')}`,
    );
  }
  const sub = new Ctx(
    { ...ctx.o, versions: usable, allowedProtocols: protocolsFromVersions(usable) },
    ctx.out,
    ctx.err,
  );
  const vc = await sub.open(name);
  if (newName !== null) {
    await changeTableName(sub, vc, tm.tableId, newName);
  } else if (allowed.includes(5) || allowed.includes(6)) {
    const ids = tm.tableId === 255 ? Array.from({ length: 254 }, (_, i) => i) : [tm.tableId];
    for (const id of ids) {
      tm.tableId = id;
      await fetchTableDesc(vc, tm);
      await sub.transactNoreply(vc, [rawRequest((xid) => encodeTableMod(tm, vc.version, xid))]);
    }
  } else {
    await sub.transactNoreply(vc, [rawRequest((xid) => encodeTableMod(tm, vc.version, xid))]);
  }
  vc.close();
}
