/*
 * The connection manager of one bridge (OVS's connmgr): the management socket
 * `<rundir>/<bridge>.mgmt` that ovs-ofctl talks to, `<rundir>/<bridge>.snoop` for
 * `ovs-ofctl snoop`, the Controller table's targets (active
 * tcp:/unix: controllers kept connected with backoff, passive ptcp:/punix: listeners), the
 * asynchronous messages (packet-in, flow-removed, port-status) each connection asked for,
 * roles with master election ids, packet-in rate limits (pinsched.ts), and the fail mode:
 *
 *  - with no controller configured and fail_mode standalone, table 0 holds
 *    `priority=0 actions=NORMAL` (OVS's connmgr_flushed());
 *  - with controllers configured, standalone mode "fails open" when none has been connected
 *    for three probe intervals: a hidden NORMAL flow until one connects again;
 *  - secure mode keeps the flow table as it is.
 */

import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import type { FlowKey } from '../../lib/flow/layout.ts';
import {
  FLOW_WORDS,
  N_REGS,
  W_IN_PORT,
  W_METADATA,
  W_PKT_MARK,
  W_REG0,
  W_TUN_ID,
} from '../../lib/flow/layout.ts';
import { type Match, markMaskShared, newMatch, slabFlowKey } from '../../lib/flow/match.ts';
import type { TlsOptions } from '../../lib/jsonrpc/stream.ts';
import { timeMsec } from '../../lib/timeval.ts';
import { vlog } from '../../lib/vlog.ts';
import type { ControllerCall } from '../dpif/xlate/xlate.ts';
import type { Rule } from '../flow-table.ts';
import {
  encodeRequestForward,
  encodeRoleStatus,
  encodeTableStatus,
  OFPCRR,
  OFPRFR,
  OFPTR,
  type TableDesc,
  type TableModVacancy,
} from '../openflow/async-status.ts';
import { encodeMessage } from '../openflow/codec.ts';
import { isNxtResume } from '../openflow/continuation.ts';
import { OfpError } from '../openflow/errors.ts';
import { OFPG_ALL } from '../openflow/group.ts';
import { DEFAULT_VERSIONS } from '../openflow/hello.ts';
import { encodeIpfixReply, ipfixStatsRequestKind } from '../openflow/ipfix-stats.ts';
import {
  type FlowMod,
  type FlowRemovedReason,
  noFlowModFlags,
  OFP_NO_BUFFER,
  type OfpFrame,
  type PacketIn,
  type PortDesc,
} from '../openflow/messages.ts';
import { OFPM_ALL } from '../openflow/meter.ts';
import type { ControllerReason } from '../openflow/ofpact.ts';
import { isQueueConfigRequest } from '../queue-desc.ts';
import type { OfSwitch, PortMod } from './of-switch.ts';
import {
  FLOW_REMOVED_BITS,
  Ofconn,
  PACKET_IN_BACKLOG_MAX,
  PIN_REASON_BITS,
  PORT_STATUS_BITS,
} from './ofconn.ts';
import {
  type HandlerContext,
  handleFrame,
  N_VISIBLE_TABLES,
  portForVersion,
} from './ofconn-handle.ts';
import { Ofmonitors } from './ofmonitor.ts';
import { Pinsched } from './pinsched.ts';
import { isPassive, parseTarget, type Target } from './target.ts';

const log = vlog('connmgr');
const rlog = vlog('rconn');

export type FailMode = 'standalone' | 'secure';

export interface ControllerConfig {
  target: string;
  /** Longest wait between connection attempts (Controller max_backoff, ms; default 8000). */
  maxBackoffMs?: number;
  /** Controller inactivity_probe (ms; default 5000; 0 disables). */
  probeIntervalMs?: number;
  /** Controller.other_config / NXAST controller id this controller answers to. */
  controllerId?: number;
  /** Controller controller_rate_limit (packet-ins per second; OVS minimum 100). */
  rateLimit?: number;
  /** Controller controller_burst_limit (default a quarter of the rate; minimum 25). */
  burstLimit?: number;
}

/** What the Controller table's status columns get (OVS's ofproto_controller_info). */
export interface ControllerStatus {
  target: string;
  isConnected: boolean;
  /** The Controller.role column: other, master or slave. */
  role: 'other' | 'master' | 'slave';
  /** The Controller.status column (state, last_error, sec_since_connect...). */
  status: Record<string, string>;
}

export interface ConnmgrOptions {
  /** Where the management socket goes (OVS_RUNDIR); null for none (tests). */
  rundir: string | null;
  /** Allowed OpenFlow versions (Bridge protocols); default OF1.0 to OF1.5. */
  versions?: readonly number[];
  failMode?: FailMode;
  now?: () => number;
  /** How long every controller must have been away before standalone fails open (ms). */
  failOpenDelayMs?: number;
}

const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENOENT: 'No such file or directory',
  ECONNRESET: 'Connection reset by peer',
  EACCES: 'Permission denied',
};

/* The hidden fail-open flow's priority: above anything OpenFlow can set (OVS's 0xf0f0f0). */
const FAIL_OPEN_PRIORITY = 0xf0f0f0;
const DEFAULT_PROBE_MS = 5000;
const OFPPS_LIVE = 4;
/* Accepted unix-socket connections so far, to name each as OVS does (unix#N). */
let unixConns = 0;
const OFPPS_LINK_DOWN = 1;
/* Flow tables have no flow limit here: OVS's default max_flows, for vacancy percentages. */
const TABLE_MAX_FLOWS = 0xffffffff;
/* What OVS would evict by (OFPROTO_EVICTION_FLAGS: other, importance, lifetime). */
const EVICTION_FLAGS = 7;

/* A table's vacancy-event state (OVS's oftable vacancy_down/up/event). */
interface Vacancy {
  down: number;
  up: number;
  /** The event that may be sent next (VACANCY_DOWN/UP); 0 when off. */
  event: number;
}
const DEFAULT_MAX_BACKOFF_MS = 8000;

/* A configured controller target: a listener or an active connection with its backoff. */
interface Service {
  readonly target: string;
  readonly config: ControllerConfig;
  readonly parsed: Target | string;
  server: Server | null;
  /** Connections a passive target accepted. */
  readonly accepted: Set<Ofconn>;
  /** Active targets: the current connection attempt or connection. */
  conn: Ofconn | null;
  state: 'VOID' | 'BACKOFF' | 'CONNECTING' | 'ACTIVE' | 'IDLE';
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  lastError: string | null;
  lastConnected: number | null;
  lastDisconnected: number | null;
  closed: boolean;
}

export class Connmgr implements HandlerContext {
  readonly sw: OfSwitch;
  readonly monitors: Ofmonitors;
  private readonly conns = new Set<Ofconn>();
  private readonly services = new Map<string, Service>();
  private mgmt: Server | null = null;
  private mgmtPath: string | null = null;
  private snoopServer: Server | null = null;
  private snoopPath: string | null = null;
  private readonly snoops = new Set<Ofconn>();
  private readonly versions: readonly number[];
  private failMode: FailMode;
  private readonly now: () => number;
  private electionId_: bigint | null = null;
  private failOpenRule: Rule | null = null;
  private failOpenTimer: NodeJS.Timeout | null = null;
  private readonly failOpenDelayMs: number | undefined;
  private closed = false;
  /* The last port-status of each port, to report port-mods as OVS does. */
  private readonly portSent = new Map<number, PortDesc>();
  private portModding = false;
  private ssl: TlsOptions | null = null;
  private readonly vacancies = new Map<number, Vacancy>();
  /* While a group or meter mod runs: what its flow removals will tell, held back until its
   * request has been forwarded (OVS forwards first). */
  private deferred: (() => void)[] | null = null;
  private readonly prevOnRemoved: ((rule: Rule, reason: FlowRemovedReason) => void) | null;
  /** Resolves once the management socket listens. */
  readonly ready: Promise<void>;

  constructor(sw: OfSwitch, opts: ConnmgrOptions) {
    this.sw = sw;
    this.versions = opts.versions?.length ? opts.versions : DEFAULT_VERSIONS;
    this.failMode = opts.failMode ?? 'standalone';
    this.now = opts.now ?? timeMsec;
    this.failOpenDelayMs = opts.failOpenDelayMs;
    this.monitors = new Ofmonitors(() => sw.flowTables, N_VISIBLE_TABLES);
    // Chain onto whatever else watches removals (the bridge may too).
    const prev = sw.flowTables.onRemoved;
    this.prevOnRemoved = prev;
    sw.flowTables.onRemoved = (rule, reason) => {
      prev?.(rule, reason);
      const tell = () => {
        this.monitors.removed(rule, reason);
        this.sendFlowRemoved(rule, reason);
        if (this.vacancies.size) this.checkVacancy(rule.tableId);
      };
      if (this.deferred) this.deferred.push(tell);
      else tell();
    };
    this.ready = opts.rundir
      ? Promise.all([
          this.listenMgmt(join(opts.rundir, `${sw.name}.mgmt`)),
          this.listenSnoop(join(opts.rundir, `${sw.name}.snoop`)),
        ]).then(() => {})
      : Promise.resolve();
    this.flushed();
  }

  /* ------------------------------------------------------------------------------------ */
  /* Listening.                                                                           */

  private listenMgmt(path: string): Promise<void> {
    this.mgmtPath = path;
    const srv = this.listen('service', { kind: 'punix', path }, `unix:${path}`, {
      target: `punix:${path}`,
    });
    this.mgmt = srv;
    return new Promise((resolve) => {
      if (srv === null || srv.listening) {
        resolve();
        return;
      }
      srv.once('listening', () => resolve());
      srv.once('error', () => resolve());
    });
  }

  /* `<bridge>.snoop`: each connection there gets a copy of every message between the bridge
   * and its controllers (what `ovs-ofctl snoop` prints). */
  private listenSnoop(path: string): Promise<void> {
    this.snoopPath = path;
    if (existsSync(path)) {
      try {
        unlinkSync(path);
      } catch {}
    }
    const srv = createServer((sock) => {
      const conn = new Ofconn(sock, {
        type: 'service',
        versions: this.versions,
        name: `snoop:${path}`,
      });
      conn.onConnected = (c) => this.snoops.add(c);
      conn.onClose = (c) => this.snoops.delete(c);
    });
    srv.on('error', (e) => log.err(`${this.sw.name}: ${path}: listen failed: ${e.message}`));
    srv.listen(path);
    this.snoopServer = srv;
    return new Promise((resolve) => {
      srv.once('listening', () => resolve());
      srv.once('error', () => resolve());
    });
  }

  private snoopTraffic(bytes: Uint8Array): void {
    for (const s of this.snoops) s.write(bytes);
  }

  private listen(
    type: 'primary' | 'service',
    t: Target,
    name: string,
    cfg: ControllerConfig,
    accepted?: Set<Ofconn>,
  ): Server | null {
    const onSock = (sock: Socket) => {
      const peer =
        t.kind === 'punix'
          ? `${this.sw.name}<->unix#${++unixConns}`
          : `${this.sw.name}<->${t.kind === 'pssl' ? 'ssl' : 'tcp'}:${sock.remoteAddress}:${sock.remotePort}`;
      const conn = this.adopt(sock, type, peer, cfg);
      if (accepted) {
        accepted.add(conn);
        const onClose = conn.onClose;
        conn.onClose = (c) => {
          accepted.delete(c);
          onClose?.(c);
        };
      }
    };
    let srv: Server;
    if (t.kind === 'pssl') {
      const creds = this.tlsCredentials(name);
      if (typeof creds === 'string') return null;
      // OVS's SSL streams require and verify the peer's certificate against the CA.
      srv = createTlsServer({ ...creds, requestCert: true, rejectUnauthorized: true }, onSock);
      srv.on('tlsClientError', (e) => log.dbg(`${this.sw.name}: ${name}: ${e.message}`));
    } else {
      srv = createServer(onSock);
    }
    srv.on('error', (e) => log.err(`${this.sw.name}: ${name}: listen failed: ${e.message}`));
    if (t.kind === 'punix') {
      if (existsSync(t.path)) {
        try {
          unlinkSync(t.path);
        } catch {}
      }
      srv.listen(t.path);
    } else if (t.kind === 'ptcp' || t.kind === 'pssl') {
      srv.listen(t.port, t.host);
    }
    return srv;
  }

  /* The SSL table's files, read now (a listener or connection picks up replaced files when
   * it is re-created, as OVS re-reads them); the error OVS would log when one is missing. */
  private tlsCredentials(name: string): { key: Buffer; cert: Buffer; ca: Buffer } | string {
    const ssl = this.ssl;
    const missing = !ssl?.privateKey
      ? 'Private key'
      : !ssl.certificate
        ? 'Certificate'
        : !ssl.caCert
          ? 'CA certificate'
          : null;
    if (missing !== null || !ssl) {
      const why = `${missing} must be configured to use SSL`;
      log.err(`${this.sw.name}: ${name}: ${why}`);
      return why;
    }
    try {
      return {
        key: readFileSync(ssl.privateKey),
        cert: readFileSync(ssl.certificate),
        ca: readFileSync(ssl.caCert),
      };
    } catch (e) {
      const why = (e as Error).message;
      log.err(`${this.sw.name}: ${name}: ${why}`);
      return why;
    }
  }

  /**
   * The SSL settings (the Open_vSwitch table's ssl row) for ssl: controllers and pssl:
   * listeners; changing them re-creates those.
   */
  setSsl(ssl: TlsOptions | null): void {
    const same =
      ssl?.privateKey === this.ssl?.privateKey &&
      ssl?.certificate === this.ssl?.certificate &&
      ssl?.caCert === this.ssl?.caCert;
    if (same) return;
    this.ssl = ssl;
    for (const [target, s] of this.services) {
      if (typeof s.parsed === 'string' || (s.parsed.kind !== 'ssl' && s.parsed.kind !== 'pssl')) {
        continue;
      }
      this.destroyService(s);
      this.services.set(target, this.createService(s.config));
    }
  }

  private adopt(
    sock: Socket,
    type: 'primary' | 'service',
    name: string,
    cfg: ControllerConfig,
  ): Ofconn {
    const conn = new Ofconn(sock, {
      type,
      versions: this.versions,
      name,
      probeIntervalMs: type === 'primary' ? (cfg.probeIntervalMs ?? DEFAULT_PROBE_MS) : 0,
      controllerId: cfg.controllerId,
    });
    if (type === 'primary') {
      conn.onTraffic = (b) => {
        if (this.snoops.size) this.snoopTraffic(b);
      };
    }
    if (type === 'primary' && cfg.rateLimit) {
      conn.pinsched = new Pinsched(cfg.rateLimit, cfg.burstLimit, this.now);
    }
    this.conns.add(conn);
    conn.onFrame = (c, frame, raw) => {
      handleFrame(this, c, frame, raw);
      if (this.monitors.active) this.monitors.flush();
      if (this.vacancies.size && frame.msg.type !== 'stats_request') {
        for (const t of this.vacancies.keys()) this.checkVacancy(t);
      }
    };
    conn.onRawRequest = (c, raw) => {
      if (this.sw.resume && isNxtResume(raw)) {
        this.sw.resume(c, raw);
        return true;
      }
      const ipfix = this.sw.ipfixStats ? ipfixStatsRequestKind(raw) : null;
      if (ipfix !== null) {
        const xid = new DataView(raw.buffer, raw.byteOffset).getUint32(4);
        const stats = this.sw.ipfixStats?.(ipfix === 'flow') ?? null;
        if (stats === null) c.sendError(new OfpError('NXST_NOT_CONFIGURED'), raw, xid);
        else c.write(encodeIpfixReply(c.version, ipfix === 'flow', stats, xid));
        return true;
      }
      if (!this.sw.queueConfigReplies || !isQueueConfigRequest(raw)) return false;
      const replies = this.sw.queueConfigReplies(raw);
      if (replies instanceof OfpError)
        c.sendError(replies, raw, new DataView(raw.buffer, raw.byteOffset).getUint32(4));
      else for (const b of replies) c.write(b);
      return true;
    };
    conn.onFlowMonitor = (c, frame, raw) => {
      const err = this.monitors.handle(c, frame);
      if (err) c.sendError(err, raw, frame.xid);
    };
    conn.onClose = (c) => {
      this.conns.delete(c);
      this.monitors.connClosed(c);
      this.updateFailOpen();
    };
    conn.onConnected = () => this.updateFailOpen();
    return conn;
  }

  /** The management socket's path (null without a run directory). */
  get mgmtSocket(): string | null {
    return this.mgmtPath;
  }

  /** Bound address of a ptcp: controller target (for port 0 listeners in tests). */
  listenerPort(target: string): number | null {
    const a = this.services.get(target)?.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Controllers.                                                                         */

  hasControllers(): boolean {
    return this.services.size > 0;
  }

  /** Applies the bridge's Controller rows; flushes the flow table when that changes whether
   * there are controllers at all (OVS's connmgr_set_controllers). */
  setControllers(list: readonly ControllerConfig[]): void {
    const had = this.hasControllers();
    const wanted = new Map(list.map((c) => [c.target, c]));
    for (const [target, s] of this.services) {
      const c = wanted.get(target);
      if (!c || !sameConfig(c, s.config)) {
        log.info(`${this.sw.name}: removed primary controller "${target}"`);
        this.destroyService(s);
        this.services.delete(target);
      }
    }
    for (const [target, c] of wanted) {
      if (!this.services.has(target)) this.services.set(target, this.createService(c));
    }
    if (had !== this.hasControllers()) this.flushFlows();
    this.updateFailOpen();
  }

  setFailMode(mode: FailMode): void {
    if (mode === this.failMode) return;
    this.failMode = mode;
    this.updateFailOpen();
    if (!this.hasControllers()) this.flushFlows();
  }

  /** Deletes every flow, group and meter (OVS's ofproto_flush__()) and re-adds the
   * standalone NORMAL flow where it belongs. */
  flushFlows(): void {
    this.failOpenRule = null;
    this.sw.flowTables.flush();
    this.sw.groups.delete(OFPG_ALL);
    this.sw.meters.delete(OFPM_ALL);
    this.flushed();
  }

  /** OVS's connmgr_flushed(): after a flush, the standalone bridge's default flow. */
  flushed(): void {
    if (this.hasControllers() || this.failMode !== 'standalone') return;
    this.sw.flowTables.flowMod(normalFlow(0));
  }

  private createService(c: ControllerConfig): Service {
    const parsed = parseTarget(c.target);
    const s: Service = {
      target: c.target,
      config: c,
      parsed,
      server: null,
      accepted: new Set(),
      conn: null,
      state: 'VOID',
      backoffMs: 0,
      timer: null,
      lastError: null,
      lastConnected: null,
      lastDisconnected: null,
      closed: false,
    };
    log.info(`${this.sw.name}: added primary controller "${c.target}"`);
    if (typeof parsed === 'string') {
      s.lastError = parsed;
      log.warn(`${this.sw.name}: ${parsed}`);
      return s;
    }
    if (isPassive(parsed)) {
      s.server = this.listen('primary', parsed, c.target, c, s.accepted);
      if (s.server === null) s.lastError = 'SSL is not configured';
      s.state = 'IDLE';
      return s;
    }
    this.connect(s);
    return s;
  }

  private connect(s: Service): void {
    if (s.closed || typeof s.parsed === 'string') return;
    const t = s.parsed;
    s.state = 'CONNECTING';
    rlog.info(`${this.sw.name}<->${s.target}: connecting...`);
    let sock: Socket;
    if (t.kind === 'unix') sock = createConnection(t.path);
    else if (t.kind === 'tcp') sock = createConnection(t.port, t.host);
    else if (t.kind === 'ssl') {
      const creds = this.tlsCredentials(s.target);
      if (typeof creds === 'string') {
        s.lastError = creds;
        this.backoff(s, creds);
        return;
      }
      // OVS checks the controller's certificate chain against the CA, not its host name.
      sock = tlsConnect({
        host: t.host,
        port: t.port,
        ...creds,
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
      });
    } else return;
    let conn: Ofconn | null = null;
    sock.once(t.kind === 'ssl' ? 'secureConnect' : 'connect', () => {
      if (s.closed) {
        sock.destroy();
        return;
      }
      conn = this.adopt(sock, 'primary', `${this.sw.name}<->${s.target}`, s.config);
      s.conn = conn;
      const onConnected = conn.onConnected;
      conn.onConnected = (c) => {
        s.state = 'ACTIVE';
        s.backoffMs = 0;
        s.lastConnected = this.now();
        rlog.info(`${this.sw.name}<->${s.target}: connected`);
        onConnected?.(c);
      };
      const onClose = conn.onClose;
      conn.onClose = (c) => {
        onClose?.(c);
        if (s.conn === c) s.conn = null;
        if (s.state === 'ACTIVE') s.lastDisconnected = this.now();
        if (!s.closed) this.backoff(s, 'connection closed by peer');
      };
    });
    sock.once('error', (e) => {
      if (conn === null && !s.closed) {
        // OVS reports strerror() text ("Connection refused"), not Node's message.
        const code = (e as NodeJS.ErrnoException).code ?? '';
        s.lastError = STRERROR[code] ?? e.message;
        this.backoff(s, s.lastError);
      }
    });
  }

  private backoff(s: Service, why: string): void {
    if (s.closed || s.timer) return;
    const max = s.config.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    s.backoffMs = s.backoffMs === 0 ? 1000 : Math.min(max, s.backoffMs * 2);
    s.state = 'BACKOFF';
    rlog.info(
      `${this.sw.name}<->${s.target}: ${why}; waiting ${s.backoffMs / 1000} seconds before reconnect`,
    );
    s.timer = setTimeout(() => {
      s.timer = null;
      this.connect(s);
    }, s.backoffMs);
    s.timer.unref?.();
  }

  private destroyService(s: Service): void {
    s.closed = true;
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.server?.close();
    if (s.parsed !== null && typeof s.parsed !== 'string' && s.parsed.kind === 'punix') {
      try {
        unlinkSync(s.parsed.path);
      } catch {}
    }
    s.conn?.close();
    // Connections accepted by a removed listener go too.
    for (const c of [...s.accepted]) c.close();
  }

  /** Per Controller row: is_connected, role and status for the database. */
  controllerStatus(): ControllerStatus[] {
    const now = this.now();
    const out: ControllerStatus[] = [];
    for (const s of this.services.values()) {
      const conns = s.conn
        ? [s.conn]
        : s.server
          ? [...this.conns].filter((c) => c.type === 'primary' && !this.isActiveConn(c))
          : [];
      const live = conns.filter((c) => c.isConnected);
      const role = live[0]?.role ?? 'equal';
      const status: Record<string, string> = {};
      if (s.lastError) status.last_error = s.lastError;
      status.state = s.state;
      if (s.lastConnected !== null) {
        status.sec_since_connect = String(Math.floor((now - s.lastConnected) / 1000));
      }
      if (s.lastDisconnected !== null && s.state !== 'ACTIVE') {
        status.sec_since_disconnect = String(Math.floor((now - s.lastDisconnected) / 1000));
      }
      out.push({
        target: s.target,
        isConnected: live.length > 0,
        role: role === 'equal' || role === 'nochange' ? 'other' : role,
        status,
      });
    }
    return out;
  }

  private isActiveConn(c: Ofconn): boolean {
    for (const s of this.services.values()) if (s.conn === c) return true;
    return false;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Roles.                                                                               */

  setElectionId(id: bigint): boolean {
    if (this.electionId_ !== null && BigInt.asIntN(64, id - this.electionId_) < 0n) return false;
    this.electionId_ = id;
    return true;
  }

  electionId(): bigint | null {
    return this.electionId_;
  }

  /* OVS's ofconn_set_role(): a new master demotes the old one, which hears of it by a role
   * status (OF1.3+), whatever its asynchronous message configuration. */
  setRole(conn: Ofconn, role: 'equal' | 'master' | 'slave'): void {
    if (role === 'master' && conn.role !== 'master') {
      for (const c of this.conns) {
        if (c === conn || c.role !== 'master') continue;
        c.role = 'slave';
        if (!c.isConnected) continue;
        const gen = this.electionId_ ?? 0xffffffffffffffffn;
        const b = encodeRoleStatus(c.version, 'slave', OFPCRR.PRIMARY_REQUEST, gen);
        if (b) c.write(b);
      }
    }
    conn.role = role;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Request forwarding and table status.                                                 */

  /** Runs a group or meter mod from `source`; when it succeeds, forwards it to the other
   * connections that asked, before telling anyone about the flows it removed. */
  forwardable(source: Ofconn, frame: OfpFrame, apply: () => OfpError | null): OfpError | null {
    const outer = this.deferred;
    this.deferred = [];
    let err: OfpError | null;
    let held: (() => void)[];
    try {
      err = apply();
    } finally {
      held = this.deferred;
      this.deferred = outer;
    }
    if (err === null) this.requestForward(source, frame);
    for (const f of held) f();
    return err;
  }

  private requestForward(source: Ofconn, frame: OfpFrame): void {
    const msg = frame.msg;
    if (msg.type !== 'group_mod' && msg.type !== 'meter_mod') return;
    const reason = msg.type === 'group_mod' ? OFPRFR.GROUP_MOD : OFPRFR.METER_MOD;
    for (const c of this.conns) {
      if (c === source || !c.wantsAsync('requestForward', reason)) continue;
      // Meter mods have no form before OpenFlow 1.3.
      if (reason === OFPRFR.METER_MOD && c.version < 4) continue;
      let inner: Uint8Array;
      try {
        inner = encodeMessage({ version: c.version, xid: frame.xid, msg });
      } catch (e) {
        log.warn(`${c.name}: cannot forward ${msg.type}: ${(e as Error).message}`);
        continue;
      }
      c.write(encodeRequestForward(c.version, inner));
    }
  }

  private fragHandling_ = 0;

  /** OFPC_FRAG_NORMAL (0), DROP (1), REASM (2) or NX_MATCH (3), as set_config set it. */
  get fragHandling(): number {
    return this.fragHandling_;
  }

  set fragHandling(v: number) {
    if (v === this.fragHandling_) return;
    this.fragHandling_ = v;
    this.sw.fragHandlingChanged?.();
  }

  /** The vacancy settings of an OF1.4+ table-mod (OVS's table_mod__ for vacancy). */
  tableMod(tableId: number, v: TableModVacancy): void {
    if (v.vacancy === 'default') return;
    const tables =
      tableId === 0xff ? Array.from({ length: N_VISIBLE_TABLES }, (_, i) => i) : [tableId];
    for (const t of tables) {
      const cur = this.vacancies.get(t) ?? { down: 0, up: 0, event: 0 };
      cur.down = v.down;
      cur.up = v.up;
      if (v.vacancy === 'off') cur.event = 0;
      else if (!cur.event) {
        cur.event = this.vacancy(t) < cur.up ? OFPTR.VACANCY_UP : OFPTR.VACANCY_DOWN;
      }
      // Tables with vacancy events off and default thresholds need no state.
      if (cur.event === 0 && cur.down === 0 && cur.up === 0) this.vacancies.delete(t);
      else this.vacancies.set(t, cur);
    }
  }

  tableDescs(): TableDesc[] {
    const out: TableDesc[] = [];
    for (let t = 0; t < N_VISIBLE_TABLES; t++) {
      const v = this.vacancies.get(t);
      out.push({
        tableId: t,
        eviction: false,
        evictionFlags: EVICTION_FLAGS,
        vacancyEvents: (v?.event ?? 0) !== 0,
        vacancyDown: v?.down ?? 0,
        vacancyUp: v?.up ?? 0,
        vacancy: this.vacancy(t),
      });
    }
    return out;
  }

  private vacancy(tableId: number): number {
    const n = this.sw.flowTables.tableCount(tableId);
    const max = Math.min(TABLE_MAX_FLOWS, this.sw.flowTables.tableSettings(tableId).maxFlows);
    if (n >= max) return 0;
    return Math.floor(((max - n) * 100) / max);
  }

  /* OVS's send_table_status(): an event when the vacancy crossed the threshold armed. */
  private checkVacancy(tableId: number): void {
    const v = this.vacancies.get(tableId);
    if (!v?.event) return;
    const vacancy = this.vacancy(tableId);
    const event = vacancy < v.down ? OFPTR.VACANCY_DOWN : vacancy > v.up ? OFPTR.VACANCY_UP : 0;
    if (event === 0 || event !== v.event) return;
    const desc = {
      tableId,
      eviction: false,
      evictionFlags: EVICTION_FLAGS,
      vacancyEvents: true,
      vacancyDown: v.down,
      vacancyUp: v.up,
      vacancy,
    };
    for (const c of this.conns) {
      if (!c.wantsAsync('tableStatus', event)) continue;
      const b = encodeTableStatus(c.version, event, desc);
      if (b) c.write(b);
    }
    v.event = event === OFPTR.VACANCY_DOWN ? OFPTR.VACANCY_UP : OFPTR.VACANCY_DOWN;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Fail open.                                                                           */

  private updateFailOpen(): void {
    if (this.closed) return;
    const want =
      this.failMode === 'standalone' && this.hasControllers() && !this.anyControllerConnected();
    if (!want) {
      if (this.failOpenTimer) clearTimeout(this.failOpenTimer);
      this.failOpenTimer = null;
      if (this.failOpenRule) {
        const r = this.failOpenRule;
        this.failOpenRule = null;
        this.sw.flowTables.removeRules([r], 'delete');
      }
      return;
    }
    if (this.failOpenRule || this.failOpenTimer) return;
    this.failOpenTimer = setTimeout(() => {
      this.failOpenTimer = null;
      if (this.failMode !== 'standalone' || this.anyControllerConnected()) return;
      const secs = Math.round(this.failOpenDelay() / 1000);
      log.warn(`${this.sw.name}: no controller connected for ${secs} seconds, failing open`);
      const fm = normalFlow(FAIL_OPEN_PRIORITY);
      this.sw.flowTables.flowMod(fm);
      this.failOpenRule = this.sw.flowTables.findExactly(0, fm.match, FAIL_OPEN_PRIORITY);
    }, this.failOpenDelay());
    this.failOpenTimer.unref?.();
  }

  private failOpenDelay(): number {
    if (this.failOpenDelayMs !== undefined) return this.failOpenDelayMs;
    let probe = 0;
    for (const s of this.services.values()) {
      probe = Math.max(probe, s.config.probeIntervalMs ?? DEFAULT_PROBE_MS);
    }
    return Math.max(probe * 3, 1000);
  }

  private anyControllerConnected(): boolean {
    for (const c of this.conns) if (c.type === 'primary' && c.isConnected) return true;
    return false;
  }

  /** True while standalone mode has failed open. */
  get failedOpen(): boolean {
    return this.failOpenRule !== null;
  }

  /* ------------------------------------------------------------------------------------ */
  /* Asynchronous messages.                                                               */

  /** A packet-in from translation (the bridge's PacketInSink). */
  packetIn(call: ControllerCall, packet: Uint8Array, flow: FlowKey): void {
    const bit = call.miss ? PIN_REASON_BITS.no_match : PIN_REASON_BITS[call.reason];
    for (const c of this.conns) {
      if (c.controllerId !== call.controllerId || !c.wantsAsync('packetIn', bit)) continue;
      // Only connections older than OpenFlow 1.3 hear of misses without a table-miss flow.
      if (call.miss === 'implicit' && c.version >= 4) continue;
      // A controller that does not read its packet-ins loses the newest, as in OVS (whose
      // queue for them holds 100), instead of making the switch hold them all.
      if (c.txBacklog > PACKET_IN_BACKLOG_MAX) {
        c.packetInsDropped++;
        continue;
      }
      const reason = wirePacketInReason(call, c.version);
      let maxLen = call.maxLen;
      if (maxLen === 0xffff && call.reason === 'no_match') maxLen = c.missSendLen;
      const data = maxLen < packet.length ? packet.subarray(0, maxLen) : packet;
      const pin: { type: 'packet_in' } & PacketIn = {
        type: 'packet_in',
        format:
          c.packetInFormat === 'standard' && c.nxm && c.version === 1
            ? 'nxt_packet_in'
            : c.packetInFormat,
        bufferId: OFP_NO_BUFFER,
        totalLen: packet.length,
        reason,
        tableId: call.tableId,
        cookie: call.cookie,
        metadata: packetMetadata(flow),
        data,
        userdata: call.userdata,
      };
      // Asynchronous messages carry xid 0, as OVS sends them.
      if (c.pinsched) c.pinsched.send(() => c.send(pin, 0));
      else c.send(pin, 0);
    }
  }

  /** A flow-removed for every connection that asked, if the rule has send_flow_rem. */
  sendFlowRemoved(rule: Rule, reason: FlowRemovedReason): void {
    if (!rule.flags.sendFlowRem || rule.priority > 0xffff) return;
    const now = this.now();
    const age = now - rule.created;
    const bit = FLOW_REMOVED_BITS[reason];
    for (const c of this.conns) {
      if (!c.wantsAsync('flowRemoved', bit)) continue;
      c.send(
        {
          type: 'flow_removed',
          format: c.version === 1 && c.nxm ? 'nxt' : 'standard',
          match: rule.match,
          cookie: rule.cookie,
          priority: rule.priority,
          reason,
          tableId: rule.tableId,
          durationSec: Math.floor(age / 1000),
          durationNsec: (age % 1000) * 1000000,
          idleTimeout: rule.idleTimeout,
          hardTimeout: rule.hardTimeout,
          packetCount: BigInt(rule.packetCount),
          byteCount: BigInt(rule.byteCount),
        },
        0,
      );
    }
  }

  /** A port-status to every connection that asked (ports come with OF1.1+ semantics). */
  sendPortStatus(reason: 'add' | 'delete' | 'modify', port: PortDesc): void {
    const last = this.portSent.get(port.portNo);
    if (reason === 'delete') this.portSent.delete(port.portNo);
    else this.portSent.set(port.portNo, port);
    if (reason === 'modify' && last) {
      // A port-mod changes the configuration first and the link follows: OVS reports the new
      // configuration with the old link state (not live), then the link state once it changes.
      if (this.portModding && last.config !== port.config) {
        this.sendPortStatusNow('modify', { ...port, state: last.state & ~OFPPS_LIVE });
        if (!((last.state ^ port.state) & OFPPS_LINK_DOWN)) return;
      } else if (samePortDesc(last, port)) {
        // OVS sends no port-status that says nothing new.
        return;
      }
    }
    this.sendPortStatusNow(reason, port);
  }

  /** A port-mod from a controller (reported as OVS reports it, see sendPortStatus). */
  portMod(pm: PortMod): OfpError | null {
    this.portModding = true;
    try {
      return this.sw.portMod(pm);
    } finally {
      this.portModding = false;
    }
  }

  private sendPortStatusNow(reason: 'add' | 'delete' | 'modify', port: PortDesc): void {
    // OVS adds a port before it is live and then says it became live (a modify that only
    // OF1.1+ can tell apart: OF1.0 has no live bit, and OVS sends no modify that looks the
    // same as what it replaces).
    if (reason === 'add' && port.state & OFPPS_LIVE) {
      this.sendPortStatusNow('add', { ...port, state: port.state & ~OFPPS_LIVE });
      const bit = PORT_STATUS_BITS.modify;
      for (const c of this.conns) {
        if (c.version === 1 || !c.wantsAsync('portStatus', bit)) continue;
        c.send({ type: 'port_status', reason: 'modify', port: portForVersion(port, c.version) }, 0);
      }
      return;
    }
    const bit = PORT_STATUS_BITS[reason];
    for (const c of this.conns) {
      if (!c.wantsAsync('portStatus', bit)) continue;
      c.send({ type: 'port_status', reason, port: portForVersion(port, c.version) }, 0);
    }
  }

  /** Open connections (for tests and ovs-appctl). */
  connections(): readonly Ofconn[] {
    return [...this.conns];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.failOpenTimer) clearTimeout(this.failOpenTimer);
    for (const s of this.services.values()) this.destroyService(s);
    this.services.clear();
    for (const c of [...this.conns]) c.close();
    this.mgmt?.close();
    this.snoopServer?.close();
    for (const s of [...this.snoops]) s.close();
    for (const path of [this.mgmtPath, this.snoopPath]) {
      if (!path) continue;
      try {
        unlinkSync(path);
      } catch {}
    }
    this.sw.flowTables.onRemoved = this.prevOnRemoved;
  }
}

function sameConfig(a: ControllerConfig, b: ControllerConfig): boolean {
  return (
    a.maxBackoffMs === b.maxBackoffMs &&
    a.rateLimit === b.rateLimit &&
    a.burstLimit === b.burstLimit &&
    a.probeIntervalMs === b.probeIntervalMs &&
    a.controllerId === b.controllerId
  );
}

/* `priority=P actions=NORMAL` in table 0. */
function normalFlow(priority: number): FlowMod {
  return {
    command: 'add',
    match: newMatch(),
    priority,
    newCookie: 0n,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: 0xffff,
    outGroup: 0xffffffff,
    flags: noFlowModFlags(),
    importance: 0,
    ofpacts: [{ type: 'output', port: 0xfffa, maxLen: 0 }],
  };
}

/* The reason a packet-in gives on a connection of `version` (OVS's encode_packet_in_reason):
 * OpenFlow 1.4's finer reasons are "action" before 1.4, a table-miss flow's packet-in is
 * "action" before 1.3. */
function wirePacketInReason(call: ControllerCall, version: number): ControllerReason {
  if (call.miss === 'implicit') return 'no_match';
  if (call.miss === 'explicit') return version < 4 ? 'action' : 'no_match';
  const r = call.reason;
  if ((r === 'action_set' || r === 'group' || r === 'packet_out') && version < 5) return 'action';
  return r;
}

/* The pipeline fields a packet-in carries: in_port always, metadata, registers, tunnel id and
 * packet mark when set. */
const PIN_META_WORDS: readonly number[] = [
  W_METADATA,
  W_METADATA + 1,
  W_TUN_ID,
  W_TUN_ID + 1,
  W_PKT_MARK,
  ...Array.from({ length: N_REGS }, (_, i) => W_REG0 + i),
].filter((w) => w < FLOW_WORDS);

/* The usual packet-in names only its in_port: one read-only mask for all of them lets the
 * match encoder reuse its field list instead of deriving it per packet-in. */
const IN_PORT_ONLY_MASK: FlowKey = (() => {
  const m = new Uint32Array(FLOW_WORDS);
  m[W_IN_PORT] = 0xffffffff;
  markMaskShared(m);
  return m;
})();

function packetMetadata(flow: FlowKey): Match {
  let extra = false;
  for (const w of PIN_META_WORDS) if (flow[w] !== 0) extra = true;
  if (!extra) {
    const key = slabFlowKey();
    key[W_IN_PORT] = flow[W_IN_PORT];
    return { key, mask: IN_PORT_ONLY_MASK };
  }
  const m = newMatch();
  m.key[W_IN_PORT] = flow[W_IN_PORT];
  m.mask[W_IN_PORT] = 0xffffffff;
  for (const w of PIN_META_WORDS) {
    if (flow[w] !== 0) {
      m.key[w] = flow[w];
      m.mask[w] = 0xffffffff;
    }
  }
  // The 64-bit fields are matched whole (a partial mask would print as tun_id=0x6/0xffffffff).
  for (const w of [W_METADATA, W_TUN_ID]) {
    if (m.mask[w] | m.mask[w + 1]) {
      m.key[w] = flow[w];
      m.key[w + 1] = flow[w + 1];
      m.mask[w] = 0xffffffff;
      m.mask[w + 1] = 0xffffffff;
    }
  }
  return m;
}

function samePortDesc(a: PortDesc, b: PortDesc): boolean {
  return (
    a.config === b.config &&
    a.state === b.state &&
    a.name === b.name &&
    a.hwAddr[0] === b.hwAddr[0] &&
    a.hwAddr[1] === b.hwAddr[1] &&
    a.curr === b.curr &&
    a.advertised === b.advertised &&
    a.supported === b.supported &&
    a.peer === b.peer &&
    a.currSpeed === b.currSpeed &&
    a.maxSpeed === b.maxSpeed
  );
}
