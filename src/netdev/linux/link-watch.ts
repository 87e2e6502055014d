/**
 * One rtnetlink link monitor per network namespace, shared by every Linux netdev opened there
 * (OVS's netdev-linux keeps one notifier for all its devices too). Devices subscribe by
 * ifindex and hear about admin state, carrier, MTU, address changes and deletion as the kernel
 * announces them, so their getters never make a system call.
 *
 * The monitor does not keep the process alive, and it closes when its last device goes.
 */
import { readlinkSync } from 'node:fs';
import { type LinkMessage, LinkMonitor, type RtnlMessage } from '../../native/rtnetlink.ts';

export type { LinkMessage };

type Listener = (m: LinkMessage) => void;

interface Watch {
  monitor: LinkMonitor;
  /** Listeners by ifindex, or by name (a string key) for devices that may come back. */
  byIfindex: Map<number | string, Set<Listener>>;
}

const watches = new Map<string, Watch>();

/** The identity of the calling thread's network namespace ("net:[4026531840]"). */
export function currentNetns(): string {
  try {
    return readlinkSync('/proc/thread-self/ns/net');
  } catch {
    return 'net:[unknown]';
  }
}

function dispatch(w: Watch, m: RtnlMessage): void {
  if (m.type !== 'new' && m.type !== 'del') return;
  // Snapshots: a listener may subscribe or unsubscribe while it runs.
  const ls = w.byIfindex.get(m.ifindex);
  if (ls) for (const l of [...ls]) l(m);
  const named = m.name === undefined ? undefined : w.byIfindex.get(m.name);
  if (named) for (const l of [...named]) l(m);
}

/**
 * Calls `listener` with every link message about `key` in the calling thread's namespace,
 * until the returned function is called: an ifindex, or a device name (which also hears of a
 * new device taking that name). Throws what LinkMonitor.open throws.
 */
export function watchLink(key: number | string, listener: Listener): () => void {
  const ifindex = key;
  const ns = currentNetns();
  let w = watches.get(ns);
  if (!w) {
    const byIfindex = new Map<number | string, Set<Listener>>();
    const created: Watch = { monitor: undefined as unknown as LinkMonitor, byIfindex };
    // No initial dump: each device reads its state when it opens, then follows changes.
    created.monitor = LinkMonitor.open((m) => dispatch(created, m), { dump: false });
    created.monitor.ref(false);
    w = created;
    watches.set(ns, w);
  }
  let ls = w.byIfindex.get(ifindex);
  if (!ls) {
    ls = new Set();
    w.byIfindex.set(ifindex, ls);
  }
  ls.add(listener);
  const watch = w;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const set = watch.byIfindex.get(ifindex);
    set?.delete(listener);
    if (set && set.size === 0) watch.byIfindex.delete(ifindex);
    if (watch.byIfindex.size === 0) {
      watch.monitor.close();
      for (const [k, v] of watches) if (v === watch) watches.delete(k);
    }
  };
}
