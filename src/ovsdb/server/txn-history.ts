/**
 * The recent committed transactions of one database, by transaction id, so that a client
 * reconnecting with monitor_cond_since can be sent only what it missed. Bounded like OVS's
 * history: at most 100 transactions, and no more atoms than the database itself holds.
 */
import type { Changes } from '../types.ts';
import { mergeChanges } from './monitor.ts';

export const ZERO_TXN_ID = '00000000-0000-0000-0000-000000000000';
export const MAX_TXN_HISTORY = 100;

interface Entry {
  readonly txnId: string;
  readonly changes: Changes;
  readonly size: number;
}

function changeSize(changes: Changes): number {
  let n = 0;
  for (const rows of changes.values()) n += rows.size;
  return n;
}

export class TxnHistory {
  private entries: Entry[] = [];
  private totalSize = 0;
  private last = ZERO_TXN_ID;

  constructor(private readonly maxEntries = MAX_TXN_HISTORY) {}

  /** The id of the latest transaction (all zeros before the first one). */
  get lastTxnId(): string {
    return this.last;
  }

  /** Records a commit; `dbRows` bounds the history's total size (0: no bound but the count). */
  add(txnId: string, changes: Changes, dbRows = 0): void {
    const size = changeSize(changes);
    this.entries.push({ txnId, changes, size });
    this.totalSize += size;
    this.last = txnId;
    while (
      this.entries.length > 1 &&
      (this.entries.length > this.maxEntries || (dbRows > 0 && this.totalSize > dbRows))
    ) {
      const e = this.entries.shift() as Entry;
      this.totalSize -= e.size;
    }
  }

  /** Forgets everything (the database was replaced). */
  reset(): void {
    this.entries = [];
    this.totalSize = 0;
    this.last = ZERO_TXN_ID;
  }

  /**
   * The changes made after transaction `txnId`: an empty Changes if it is the latest, the
   * merged changes of the later transactions if it is in the history, or null if unknown.
   */
  changesAfter(txnId: string): Changes | null {
    if (txnId === this.last && txnId !== ZERO_TXN_ID) return new Map();
    const i = this.entries.findIndex((e) => e.txnId === txnId);
    if (i < 0) return null;
    const later = this.entries.slice(i + 1).map((e) => e.changes);
    return later.length === 0 ? new Map() : mergeChanges(later);
  }
}
