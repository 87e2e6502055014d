/**
 * What the server needs from one database: its schema, its rows, transaction execution,
 * commit notifications and (for a file-backed one) durability. The core Database and the
 * storage layer are adapted to this in one place so the rest of the server does not depend
 * on their exact shapes.
 */
import type { Json } from '../../lib/json.ts';
import type { Changes, DatabaseSchema, Row } from '../types.ts';

export interface TxnContext {
  now(): number;
  hasLock(name: string): boolean;
  /** When the request arrived: a `wait` operation's timeout counts from here. */
  created?: number;
  /** The connection may only read (a read-only remote). */
  readOnly?: boolean;
}

export type TxnOutcome =
  | { status: 'committed'; results: Json[]; changes: Changes; durable: boolean; txnId: string }
  | { status: 'aborted'; results: Json[] }
  | { status: 'blocked'; until: number };

export interface DbAccess {
  readonly schema: DatabaseSchema;
  /** Runs the operations of a "transact" request (the params after the database name). */
  execute(ops: Json[], ctx: TxnContext): TxnOutcome;
  rows(table: string): Iterable<Row>;
  rowCount(): number;
  /** Registers a commit listener; returns a function that removes it. */
  onCommit(cb: (changes: Changes, txnId: string) => void): () => void;
  /** Resolves once the commit `txnId` is on disk (immediately for in-memory databases). */
  whenWritten(txnId: string, durable: boolean): Promise<void>;
  /**
   * Whether the commit `txnId` is already written and needs no waiting (no fsync under way,
   * no write error): then its reply goes out in the same turn, without a promise.
   */
  isWritten?(txnId: string): boolean;
  /** Compacts the backing file, if any; resolves to an error text or null. */
  compact?(): Promise<string | null>;
  /** Releases the file (lock, descriptor). */
  close?(): Promise<void> | void;
}
