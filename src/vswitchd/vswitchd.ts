/**
 * ovs-vswitchd's control loop (OVS's bridge_run): keep a replica of the Open_vSwitch database,
 * reconfigure the switch whenever it changes, and write status back in the same transaction
 * as cur_cfg, so that a waiting ovs-vsctl sees the interfaces' ofport and error as soon as it
 * sees its next_cfg applied. Statistics and device status are refreshed every
 * other_config:stats-update-interval milliseconds (at least, and by default, 5000).
 *
 * Reconfigurations never overlap: a change that arrives during one is applied right after it.
 */
import { DpifBackers } from '../dpif/backers.ts';
import { DEFAULT_FLOW_LIMIT } from '../dpif/netdev/dp-netdev.ts';
import { getFlowVlanLimit, setFlowVlanLimit } from '../lib/flow/extract.ts';
import { after, type ClockTimer } from '../lib/timeval.ts';
import { vlog } from '../lib/vlog.ts';
import { configureUserspaceTso } from '../netdev/linux/netdev-linux.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import { setBundleIdleTimeout } from '../ofproto/connmgr/bundles.ts';
import { DEFAULT_MAX_IDLE_MS, udpifOf } from '../ofproto/dpif/udpif.ts';
import { Idl } from '../ovsdb/client/index.ts';
import type { Iface } from './bridge.ts';
import { VSwitch } from './bridge.ts';
import { readOvsConfig, touchesConfig, VSWITCHD_TABLES } from './config.ts';
import {
  type SystemInfo,
  writeControllerStatus,
  writeMirrorStatistics,
  writeReconfigureStatus,
  writeStatistics,
} from './status.ts';

const log = vlog('bridge');

export interface VswitchdOptions {
  /** The database: `unix:PATH`, `tcp:IP:PORT`, ... */
  remote: string;
  enableDummy: boolean;
  override: boolean;
  /** Milliseconds clock (port number reuse); Date.now by default. */
  now?: () => number;
  /** Open real Linux devices for system, tap and internal ports (default true). */
  linux?: boolean;
  /** Where bridges' `<name>.mgmt` OpenFlow sockets go (OVS_RUNDIR); none when undefined. */
  rundir?: string;
  /** The floor (and default) of stats-update-interval; OVS's 5000 unless a test lowers it. */
  minStatsIntervalMs?: number;
}

export const MIN_STATS_INTERVAL_MS = 5000;
const RETRY_MS = 250;

export class Vswitchd {
  readonly registry: NetdevRegistry;
  readonly backers: DpifBackers;
  readonly vswitch: VSwitch;
  readonly idl: Idl;
  private running = false;
  private dirty = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private statsTimer: ClockTimer | undefined;
  private statsIntervalMs: number;
  private readonly minStatsIntervalMs: number;
  private configuredOnce = false;
  private readonly firstConfigured: Promise<void>;
  private resolveFirst!: () => void;
  /** Completed reconfigurations (for tests and memory/show). */
  reconfigurations = 0;

  constructor(opts: VswitchdOptions) {
    this.minStatsIntervalMs = opts.minStatsIntervalMs ?? MIN_STATS_INTERVAL_MS;
    this.statsIntervalMs = this.minStatsIntervalMs;
    this.registry = new NetdevRegistry({
      enableDummy: opts.enableDummy,
      override: opts.override,
      linux: opts.linux ?? true,
    });
    this.backers = new DpifBackers(this.registry);
    this.vswitch = new VSwitch({
      registry: this.registry,
      backers: this.backers,
      override: opts.override,
      now: opts.now,
      rundir: opts.rundir,
      onDeviceChange: () => this.refreshStatusSoon(),
    });
    this.firstConfigured = new Promise((r) => {
      this.resolveFirst = r;
    });
    this.idl = new Idl({ remote: opts.remote, database: 'Open_vSwitch', tables: VSWITCHD_TABLES });
    this.idl.on('change', ({ events }) => {
      if (touchesConfig(events)) this.schedule();
    });
    this.idl.on('connected', () => this.schedule());
  }

  /** Resolves once the first configuration has been applied and its status committed. */
  whenConfigured(): Promise<void> {
    return this.firstConfigured;
  }

  systemInfo(): SystemInfo {
    return { datapathTypes: this.backers.types(), ifaceTypes: this.registry.types() };
  }

  /** Every working interface of every bridge. */
  *ifaces(): IterableIterator<Iface> {
    for (const br of this.vswitch.bridges.values()) yield* br.ifaces.values();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.statsTimer?.cancel();
    this.idl.close();
    this.vswitch.destroy();
  }

  private schedule(): void {
    if (this.closed) return;
    this.dirty = true;
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        await this.reconfigureOnce();
      }
    } finally {
      this.running = false;
    }
  }

  private async reconfigureOnce(): Promise<void> {
    if (!this.idl.isConnected) return;
    const cfg = readOvsConfig(this.idl);
    let outcome: ReturnType<VSwitch['reconfigure']>;
    try {
      configureUserspaceTso(cfg?.otherConfig.get('userspace-tso-enable'));
      outcome = this.vswitch.reconfigure(cfg);
      this.configureDatapaths(cfg?.otherConfig);
    } catch (e) {
      log.err(`reconfiguration failed: ${(e as Error).stack ?? String(e)}`);
      return;
    }
    this.updateStatsInterval(cfg?.otherConfig.get('stats-update-interval'));
    const txn = this.idl.transaction();
    writeReconfigureStatus(txn, this.idl, cfg, outcome, this.systemInfo());
    const r = await txn.commit();
    if (r.status === 'success' || r.status === 'unchanged') {
      this.reconfigurations++;
      if (!this.configuredOnce) {
        this.configuredOnce = true;
        this.resolveFirst();
        this.armStatsTimer();
      }
      return;
    }
    // A row went away underneath, or the connection dropped: the replica will catch up and a
    // change will come; retry anyway in case it does not.
    log.dbg(`status transaction ${r.status}${r.error ? `: ${r.error}` : ''}`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.schedule(), RETRY_MS);
    this.retryTimer.unref?.();
  }

  /** Open_vSwitch other_config max-idle (ms, default 10000) and flow-limit, per datapath; vlan-limit. */
  private configureDatapaths(oc: ReadonlyMap<string, string> | undefined): void {
    const int = (k: string, dflt: number, min: number): number => {
      const n = Number.parseInt(oc?.get(k) ?? '', 10);
      return Number.isFinite(n) && n >= min ? n : dflt;
    };
    setBundleIdleTimeout(int('bundle-idle-timeout', 0, 0));
    // OVS 3.1 looks at one VLAN header unless told otherwise (0 or less: as many as it can).
    setFlowVlanLimit(int('vlan-limit', 1, Number.MIN_SAFE_INTEGER));
    for (const d of this.backers.list()) {
      d.setVlanLimit(getFlowVlanLimit());
      udpifOf(d).maxIdleMs = int('max-idle', DEFAULT_MAX_IDLE_MS, 500);
      d.dp.flowLimit = int('flow-limit', DEFAULT_FLOW_LIMIT, 1);
    }
  }

  /** Writes device status and statistics now (after a device changed state). */
  refreshStatusSoon(): void {
    if (this.configuredOnce && !this.closed) {
      this.statsTimer?.cancel();
      this.statsTimer = after(0, () => this.refreshStats());
    }
  }

  private updateStatsInterval(v: string | undefined): void {
    const n = v === undefined ? Number.NaN : Number.parseInt(v, 10);
    const interval = Math.max(
      Number.isFinite(n) ? n : this.minStatsIntervalMs,
      this.minStatsIntervalMs,
    );
    if (interval !== this.statsIntervalMs) {
      this.statsIntervalMs = interval;
      if (this.configuredOnce) this.armStatsTimer();
    }
  }

  private armStatsTimer(): void {
    this.statsTimer?.cancel();
    if (this.closed) return;
    // On the daemon's clock, so that time/warp brings the next statistics write forward.
    this.statsTimer = after(this.statsIntervalMs, () => this.refreshStats());
  }

  /** Rate-limited like OVS: the next refresh is timed from the end of this one. */
  private async refreshStats(): Promise<void> {
    try {
      if (this.idl.isConnected) {
        const txn = this.idl.transaction();
        writeStatistics(txn, this.idl, this.ifaces());
        writeControllerStatus(txn, this.idl, this.vswitch.bridges.values());
        for (const br of this.vswitch.bridges.values()) br.ofproto.udpif.pushAllStats();
        writeMirrorStatistics(txn, this.idl, this.vswitch.bridges.values());
        await txn.commit();
      }
    } catch (e) {
      log.err(`statistics update failed: ${(e as Error).message}`);
    }
    this.armStatsTimer();
  }
}
