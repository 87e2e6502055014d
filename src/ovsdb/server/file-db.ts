/**
 * Adapters from the core Database (and storage, for file-backed databases) to the server's
 * DbAccess.
 */
import type { Json } from '../../lib/json.ts';
import { Database } from '../database.ts';
import { parseDatabaseSchema } from '../schema.ts';
import { Storage } from '../storage.ts';
import type { DbAccess } from './db-access.ts';

/** A database that lives only in memory (the _Server database). */
export function memoryDbAccess(schemaJson: Json): DbAccess {
  return databaseAccess(new Database(parseDatabaseSchema(schemaJson)));
}

/** Wraps a core Database; `written` decides when a commit counts as written. */
export function databaseAccess(
  db: Database,
  written?: (txnId: string, durable: boolean) => Promise<void>,
  extra: Pick<DbAccess, 'compact' | 'close' | 'isWritten'> = {},
): DbAccess {
  return {
    schema: db.schema,
    execute: (ops, ctx) => db.execute(ops, ctx),
    rows: (table) => db.rows(table),
    rowCount: () => db.rowCount(),
    onCommit: (cb) => db.onCommit((changes, txnId) => cb(changes, txnId)),
    whenWritten: written ?? (() => Promise.resolve()),
    // Without storage every commit counts as written the moment it is made.
    ...(written ? {} : { isWritten: () => true }),
    ...extra,
  };
}

/**
 * Opens a database file through storage (replayed, locked, every later commit appended).
 * Throws OvsdbError as OVS words it ("I/O error: F: open failed (No such file or directory)").
 */
export async function openFileDbAccess(
  path: string,
  warn?: (message: string) => void,
  info?: (message: string) => void,
): Promise<DbAccess> {
  const st = Storage.open(path, { ...(warn ? { warn } : {}), ...(info ? { info } : {}) });
  return databaseAccess(st.db, (txnId, durable) => st.whenWritten(txnId, durable), {
    isWritten: (txnId) => st.isWritten(txnId),
    compact: async () => {
      try {
        await st.compact();
        return null;
      } catch (e) {
        return String(e);
      }
    },
    close: () => st.close(),
  });
}
