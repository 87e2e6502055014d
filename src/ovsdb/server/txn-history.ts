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

const NO_ENTRY: Entry = { txnId: ZERO_TXN_ID, changes: new Map(), size: 0 };

export class TxnHistory {
  /**
   * A ring of the last entries, oldest at `first`. Preallocated and filled: a commit stores
   * into a slot, with no array growing, shifting or changing kind.
   */
  private readonly ring: Entry[];
  private first = 0;
  private count = 0;
  private totalSize = 0;
  private last = ZERO_TXN_ID;

  constructor(maxEntries = MAX_TXN_HISTORY) {
    // One slot more than kept: a new entry goes in before the oldest is dropped.
    this.ring = new Array<Entry>(Math.max(1, maxEntries) + 1).fill(NO_ENTRY);
  }

  /** The id of the latest transaction (all zeros before the first one). */
  get lastTxnId(): string {
    return this.last;
  }

  private at(i: number): Entry {
    return this.ring[(this.first + i) % this.ring.length] as Entry;
  }

  /** Records a commit; `dbRows` bounds the history's total size (0: no bound but the count). */
  add(txnId: string, changes: Changes, dbRows = 0): void {
    const size = changeSize(changes);
    const ring = this.ring;
    ring[(this.first + this.count) % ring.length] = { txnId, changes, size };
    this.count++;
    this.totalSize += size;
    this.last = txnId;
    while (
      this.count > 1 &&
      (this.count >= ring.length || (dbRows > 0 && this.totalSize > dbRows))
    ) {
      this.dropOldest();
    }
  }

  private dropOldest(): void {
    const e = this.ring[this.first] as Entry;
    this.ring[this.first] = NO_ENTRY;
    this.first = (this.first + 1) % this.ring.length;
    this.count--;
    this.totalSize -= e.size;
  }

  /** Forgets everything (the database was replaced). */
  reset(): void {
    this.ring.fill(NO_ENTRY);
    this.first = 0;
    this.count = 0;
    this.totalSize = 0;
    this.last = ZERO_TXN_ID;
  }

  /**
   * The changes made after transaction `txnId`: an empty Changes if it is the latest, the
   * merged changes of the later transactions if it is in the history, or null if unknown.
   */
  changesAfter(txnId: string): Changes | null {
    if (txnId === this.last && txnId !== ZERO_TXN_ID) return new Map();
    let i = 0;
    while (i < this.count && this.at(i).txnId !== txnId) i++;
    if (i === this.count) return null;
    const later: Changes[] = [];
    for (let j = i + 1; j < this.count; j++) later.push(this.at(j).changes);
    return later.length === 0 ? new Map() : mergeChanges(later);
  }
}
