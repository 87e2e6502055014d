/**
 * The main thread's handle on the PMD worker (OVS's dp_netdev_pmd_thread, one of them): starts
 * it, keeps its flow table a replica of the main DpNetdev's (a DpFlowListener: every put,
 * modify, del and flush is forwarded in order), hands it Linux ports, passes transmits for
 * them, and takes back what the worker cannot do itself: upcalls, userspace() and port-layer
 * actions, output to main-thread ports. Statistics the worker pushes are added to the main
 * flow table's flows, to the lookup counters and to the ports' counters, so the revalidator,
 * idle expiry, dump-flows and OpenFlow statistics read them where they always did.
 *
 * The worker entry is pmd-worker.ts next to this file when running from TypeScript (tsx), and
 * pmd-worker.js beside the bundle (dist/cli/, built by scripts/build.mjs) otherwise.
 */
import { Worker } from 'node:worker_threads';
import { coverage } from '../../lib/coverage.ts';
import { getFlowVlanLimit } from '../../lib/flow/extract.ts';
import { FLOW_WORDS } from '../../lib/flow/layout.ts';
import { LEVELS, type VlogLevel, vlog } from '../../lib/vlog.ts';
import type { PmdPortSpec } from '../../netdev/linux/netdev-linux.ts';
import type { TxBatch } from '../../netdev/netdev.ts';
import type { ActionUpcall, DpFlow, DpFlowListener, DpNetdev } from './dp-netdev.ts';
import type { OdpAction } from './odp-actions.ts';
import { MD_WORDS, NETDEV_MAX_BURST, PacketBatch } from './packet-batch.ts';
import {
  DP_STAT_NAMES,
  FLOW_STAT_WORDS,
  type PackedFrames,
  PMD_MAX_INFLIGHT,
  type PmdCommand,
  type PmdEvent,
  type PmdWorkerData,
  PORT_STAT_WORDS,
  SHARED_SLOTS,
  TX_DONE,
  TX_POSTED,
  UP_DONE,
  type UserspaceAction,
} from './pmd-protocol.ts';

const log = vlog('dpif_netdev');
const covUpcallDrop = coverage('pmd_upcall_drop');
const covTxDrop = coverage('pmd_tx_drop');
const covReplicaError = coverage('pmd_flow_replica_error');
const covUserspaceBatch = coverage('pmd_userspace_batch');

/** How long syncStats() and close() wait for the worker before giving up (ms). */
const REPLY_TIMEOUT_MS = 2000;

/** What the datapath does with what comes back from the worker. */
export interface PmdHost {
  /** Packets the worker missed on, with their metadata, to run through the main engine. */
  upcall(batch: PacketBatch): void;
  /** Output the worker produced for a port it does not drive. */
  output(port: number, batch: TxBatch): void;
  action(up: ActionUpcall): void;
  other(action: OdpAction, packet: Uint8Array, key: Uint32Array): void;
  /** Drop counters of a worker-driven port's device (deltas). */
  portDrops(port: number, txDropped: number, rxDropped: number): void;
  /** The worker died without being asked to (its ports must be taken back). */
  lost(): void;
}

/** How the worker entry is found: TypeScript sources (tests, tsx) or the bundle's sibling. */
function spawnWorker(workerData: PmdWorkerData): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // A worker does not inherit tsx's loader: register it before importing the entry.
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./pmd-worker.ts', here).href;
    const boot =
      `import(${JSON.stringify(tsx)}).then((m) => { m.register(); ` +
      `return import(${JSON.stringify(entry)}); });`;
    return new Worker(boot, { eval: true, workerData, name: 'pmd' });
  }
  return new Worker(new URL('./pmd-worker.js', here), { workerData, name: 'pmd' });
}

function unpack(f: PackedFrames, md: Uint32Array | null): PacketBatch[] {
  let max = 0;
  for (let i = 0; i < f.n; i++) if (f.len[i] > max) max = f.len[i];
  const slot = Math.max(2048, (max + 64 + 63) & ~63);
  const out: PacketBatch[] = [];
  let b: PacketBatch | null = null;
  const none = new Uint32Array(MD_WORDS);
  let o = 0;
  for (let i = 0; i < f.n; i++) {
    if (b === null || b.full) {
      b = new PacketBatch(Math.min(NETDEV_MAX_BURST, f.n - i), slot);
      out.push(b);
    }
    if (md !== null) {
      const m = i * MD_WORDS;
      let set = false;
      for (let w = 1; w < MD_WORDS && !set; w++) if (md[m + w] !== 0) set = true;
      b.addBytes(f.data, o, f.len[i], md, m, set);
    } else {
      b.addBytes(f.data, o, f.len[i], none, 0, false);
    }
    o += f.len[i];
  }
  return out;
}

export class PmdThread implements DpFlowListener {
  private worker: Worker | null;
  private readonly shared = new SharedArrayBuffer(SHARED_SLOTS * 4);
  private readonly counters = new Int32Array(this.shared);
  private pending: PmdCommand[] = [];
  private scheduled = false;
  private txPosted = 0;
  private seq = 0;
  private readonly statsWaiters = new Map<number, () => void>();
  private readonly portWaiters = new Map<number, Array<() => void>>();
  private exited: Promise<void>;
  private closed = false;
  /* Flows as the worker knows them: by a number, so statistics carry no strings. */
  private nextFlowId = 1;
  private readonly flowIds = new Map<DpFlow, number>();
  private readonly flowsById = new Map<number, DpFlow>();
  /* userspace() actions by the number the worker gave them ('actions' messages). */
  private readonly actions = new Map<number, UserspaceAction>();
  /** Commands for the worker could not be applied there (its table out of step). */
  replicaErrors = 0;

  constructor(
    private readonly dp: DpNetdev,
    private readonly host: PmdHost,
    emcInsertInvProb?: number,
  ) {
    const w = spawnWorker({ shared: this.shared, emcInsertInvProb, vlanLimit: getFlowVlanLimit() });
    this.worker = w;
    // The worker never keeps the process alive: exit and SIGTERM end it with the process.
    w.unref();
    w.on('message', (ev: PmdEvent) => this.onEvent(ev));
    w.on('error', (err) => log.err(`PMD thread failed: ${err.stack ?? err}`));
    this.exited = new Promise((resolve) =>
      w.once('exit', () => {
        this.worker = null;
        for (const r of this.statsWaiters.values()) r();
        this.statsWaiters.clear();
        for (const rs of this.portWaiters.values()) for (const r of rs) r();
        this.portWaiters.clear();
        resolve();
        if (!this.closed) {
          log.err('PMD thread exited; its ports are served by the main thread from now on');
          this.host.lost();
        }
      }),
    );
  }

  get running(): boolean {
    return this.worker !== null;
  }

  private queue(cmd: PmdCommand): void {
    if (this.worker === null) return;
    this.pending.push(cmd);
    if (this.scheduled) return;
    this.scheduled = true;
    // One message per turn of the event loop, however many flows a revalidation changed.
    queueMicrotask(() => this.flushQueue());
  }

  private flushQueue(): void {
    this.scheduled = false;
    const cmds = this.pending;
    if (cmds.length === 0 || this.worker === null) return;
    this.pending = [];
    this.worker.postMessage(cmds);
  }

  /* ---------------------------------------------------------------------------------- */
  /* Ports. */

  addPort(port: number, spec: PmdPortSpec): void {
    this.queue({ op: 'port-add', port, spec });
  }

  updatePort(port: number, spec: PmdPortSpec): void {
    this.queue({ op: 'port-update', port, spec });
  }

  /** Resolves once the worker no longer touches the port's device. */
  delPort(port: number): Promise<void> {
    if (this.worker === null) return Promise.resolve();
    return new Promise((resolve) => {
      let ws = this.portWaiters.get(port);
      if (ws === undefined) {
        ws = [];
        this.portWaiters.set(port, ws);
      }
      ws.push(resolve);
      this.queue({ op: 'port-del', port });
    });
  }

  /** Transmits on a worker-driven port (copied; dropped and counted when the queue is full). */
  send(port: number, batch: TxBatch): void {
    if (this.worker === null || batch.count === 0) return;
    if (this.txPosted - Atomics.load(this.counters, TX_DONE) >= PMD_MAX_INFLIGHT) {
      covTxDrop.inc(batch.count);
      return;
    }
    this.txPosted++;
    Atomics.store(this.counters, TX_POSTED, this.txPosted);
    let bytes = 0;
    for (let i = 0; i < batch.count; i++) bytes += batch.len[i];
    const data = new Uint8Array(bytes);
    const len = new Int32Array(batch.count);
    let o = 0;
    for (let i = 0; i < batch.count; i++) {
      const l = batch.len[i];
      data.set(batch.frames[i].subarray(batch.off[i], batch.off[i] + l), o);
      len[i] = l;
      o += l;
    }
    this.queue({ op: 'tx', port, n: batch.count, data, len });
  }

  setEmcInsertInvProb(v: number): void {
    this.queue({ op: 'emc', insertInvProb: v });
  }

  setVlanLimit(limit: number): void {
    this.queue({ op: 'vlan-limit', limit });
  }

  /* ---------------------------------------------------------------------------------- */
  /* The flow table replica (DpFlowListener). */

  put(flow: DpFlow): void {
    if (this.worker === null) return;
    const id = this.nextFlowId++;
    this.flowIds.set(flow, id);
    this.flowsById.set(id, flow);
    this.queue({
      op: 'put',
      id,
      ufid: flow.ufid,
      key: flow.key,
      mask: flow.mask,
      actions: flow.actions,
    });
  }
  modify(flow: DpFlow, zeroStats: boolean): void {
    const id = this.flowIds.get(flow);
    if (id !== undefined) this.queue({ op: 'modify', id, actions: flow.actions, zeroStats });
  }
  del(flow: DpFlow): void {
    const id = this.flowIds.get(flow);
    if (id === undefined) return;
    this.flowIds.delete(flow);
    this.flowsById.delete(id);
    this.queue({ op: 'del', id });
  }
  flush(): void {
    this.flowIds.clear();
    this.flowsById.clear();
    this.queue({ op: 'flush' });
  }

  /* ---------------------------------------------------------------------------------- */

  /** Brings the worker's statistics into the main flow table now (or after a timeout). */
  syncStats(): Promise<void> {
    if (this.worker === null) return Promise.resolve();
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(seq);
        resolve();
      }, REPLY_TIMEOUT_MS);
      timer.unref();
      this.statsWaiters.set(seq, () => {
        clearTimeout(timer);
        resolve();
      });
      this.queue({ op: 'stats', seq });
    });
  }

  /** Closes every worker port and ends the thread; resolves when it has exited. */
  close(): Promise<void> {
    const w = this.worker;
    if (this.closed || w === null) return this.exited;
    this.closed = true;
    // Waited for: the process stays up until the worker has closed its ports.
    w.ref();
    this.queue({ op: 'exit' });
    this.flushQueue();
    const timer = setTimeout(() => void w.terminate(), REPLY_TIMEOUT_MS);
    timer.unref();
    return this.exited.then(() => clearTimeout(timer));
  }

  /** Ends the worker abruptly, as a crash would (tests of the fallback). */
  kill(): Promise<void> {
    void this.worker?.terminate();
    return this.exited;
  }

  private onEvent(ev: PmdEvent): void {
    try {
      this.handle(ev);
    } catch (err) {
      log.err(`PMD event ${ev.t}: ${(err as Error).stack ?? err}`);
    }
  }

  private handle(ev: PmdEvent): void {
    switch (ev.t) {
      case 'ready':
        return;
      case 'upcall':
        try {
          for (const b of unpack(ev, ev.md)) this.host.upcall(b);
        } finally {
          Atomics.add(this.counters, UP_DONE, 1);
        }
        return;
      case 'out':
        try {
          for (const b of unpack(ev, null)) this.host.output(ev.port, b);
        } finally {
          Atomics.add(this.counters, UP_DONE, 1);
        }
        return;
      case 'actions':
        try {
          this.runActions(ev);
        } finally {
          Atomics.add(this.counters, UP_DONE, 1);
        }
        return;
      case 'other':
        try {
          this.host.other(ev.action, ev.packet, ev.key);
        } finally {
          Atomics.add(this.counters, UP_DONE, 1);
        }
        return;
      case 'stats':
        this.applyStats(ev);
        if (ev.seq !== 0) {
          const r = this.statsWaiters.get(ev.seq);
          this.statsWaiters.delete(ev.seq);
          r?.();
        }
        return;
      case 'port-closed': {
        const ws = this.portWaiters.get(ev.port);
        const r = ws?.shift();
        if (ws !== undefined && ws.length === 0) this.portWaiters.delete(ev.port);
        r?.();
        return;
      }
      case 'port-error':
        log.warn(`PMD thread cannot open port ${ev.port}: ${ev.message}`);
        return;
      case 'log': {
        const m = /^([^|]*)\|([A-Z]+)\|(.*)$/s.exec(ev.line.trimEnd());
        const level = m?.[2].toLowerCase();
        if (m && (LEVELS as readonly string[]).includes(level ?? '')) {
          vlog(m[1]).log(level as VlogLevel, m[3]);
        } else {
          log.info(ev.line.trimEnd());
        }
        return;
      }
    }
  }

  private runActions(ev: Extract<PmdEvent, { t: 'actions' }>): void {
    covUserspaceBatch.inc();
    const table = this.actions;
    if (ev.reset) table.clear();
    if (ev.defs !== null) for (const [id, a] of ev.defs) table.set(id, a);
    // The message's buffers are this thread's now: each upcall gets views of them, no copies.
    let o = 0;
    for (let i = 0; i < ev.n; i++) {
      const l = ev.len[i];
      const action = table.get(ev.acts[i]);
      if (action !== undefined) {
        const k = i * FLOW_WORDS;
        this.host.action({
          action,
          key: ev.keys.subarray(k, k + FLOW_WORDS),
          packet: ev.data.subarray(o, o + l),
        });
      }
      o += l;
    }
  }

  private applyStats(ev: Extract<PmdEvent, { t: 'stats' }>): void {
    const dp = this.dp;
    const v = ev.flows;
    for (let o = 0; o + FLOW_STAT_WORDS <= v.length; o += FLOW_STAT_WORDS) {
      // Gone meanwhile (deleted here after the worker counted): nothing to credit.
      const f = this.flowsById.get(v[o]);
      if (f === undefined) continue;
      f.packets += v[o + 1];
      f.bytes += v[o + 2];
      if (v[o + 3] > f.used) f.used = v[o + 3];
      f.tcpFlags |= v[o + 4];
    }
    for (let i = 0; i < DP_STAT_NAMES.length; i++) dp.stats[DP_STAT_NAMES[i]] += ev.dp[i];
    const p = ev.ports;
    for (let o = 0; o + PORT_STAT_WORDS <= p.length; o += PORT_STAT_WORDS) {
      const s = dp.portStats(p[o]);
      s.rxPackets += p[o + 1];
      s.rxBytes += p[o + 2];
      s.txPackets += p[o + 3];
      s.txBytes += p[o + 4];
      s.txDropped += p[o + 5];
      if (p[o + 6] !== 0 || p[o + 7] !== 0) this.host.portDrops(p[o], p[o + 6], p[o + 7]);
    }
    if (ev.upcallDrops) covUpcallDrop.inc(ev.upcallDrops);
    if (ev.putErrors) {
      covReplicaError.inc(ev.putErrors);
      this.replicaErrors += ev.putErrors;
    }
  }
}
