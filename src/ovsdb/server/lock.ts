/**
 * OVSDB locks (RFC 7047 §4.1.8-4.1.10): named, server-wide, owned by at most one session at a
 * time, with a queue of waiters. "steal" takes ownership at once; the previous owner is told
 * with a "stolen" notification and stays queued (OVS's behaviour); when an owner unlocks or
 * disconnects the next waiter becomes owner and gets a "locked" notification.
 */

/** What the lock manager needs from a session: an identity and a way to notify it. */
export interface LockHolder {
  notifyLock(method: 'locked' | 'stolen', lockName: string): void;
}

export class LockManager {
  /** Lock name → waiters, the owner first. */
  private readonly locks = new Map<string, LockHolder[]>();

  isOwner(name: string, who: LockHolder): boolean {
    return this.locks.get(name)?.[0] === who;
  }

  isWaiting(name: string, who: LockHolder): boolean {
    return this.locks.get(name)?.includes(who) ?? false;
  }

  /** "lock": queue up; returns whether `who` owns the lock now. */
  lock(name: string, who: LockHolder): boolean {
    let q = this.locks.get(name);
    if (!q) {
      q = [];
      this.locks.set(name, q);
    }
    q.push(who);
    return q[0] === who;
  }

  /** "steal": own it now; the previous owner, if any, is notified and keeps waiting. */
  steal(name: string, who: LockHolder): true {
    let q = this.locks.get(name);
    if (!q) {
      q = [];
      this.locks.set(name, q);
    }
    const victim = q[0];
    const i = q.indexOf(who);
    if (i >= 0) q.splice(i, 1);
    q.unshift(who);
    if (victim && victim !== who) victim.notifyLock('stolen', name);
    return true;
  }

  /** "unlock" (or disconnection): leave the queue; a new owner is told it has the lock. */
  unlock(name: string, who: LockHolder): void {
    const q = this.locks.get(name);
    if (!q) return;
    const i = q.indexOf(who);
    if (i < 0) return;
    q.splice(i, 1);
    if (q.length === 0) this.locks.delete(name);
    else if (i === 0) q[0].notifyLock('locked', name);
  }

  unlockAll(who: LockHolder): void {
    for (const name of [...this.locks.keys()]) this.unlock(name, who);
  }
}
