/**
 * The `_Server` database: one row per served database in table Database (name, model,
 * connected, leader, schema, cid, sid, index), kept in step with the server's set of
 * databases. Clients such as the IDLs monitor it to notice databases coming and going.
 */
import type { JsonObject } from '../../lib/json.ts';
import { Database } from '../database.ts';
import { defaultDatum } from '../datum.ts';
import { jsonToOvsString } from '../error.ts';
import { parseDatabaseSchema, schemaToJson } from '../schema.ts';
import type { Datum, Row, RowChange, TableSchema } from '../types.ts';
import type { DbAccess } from './db-access.ts';
import { databaseAccess } from './file-db.ts';
import type { OvsdbServer } from './jsonrpc-server.ts';

export const SERVER_DB_NAME = '_Server';

/** The _Server schema (schema/_server.ovsschema holds the same; a test keeps them equal). */
export const SERVER_SCHEMA_JSON: JsonObject = {
  name: '_Server',
  version: '1.2.0',
  cksum: '3009684573 744',
  tables: {
    Database: {
      isRoot: true,
      columns: {
        name: { type: 'string' },
        model: {
          type: { key: { type: 'string', enum: ['set', ['standalone', 'clustered', 'relay']] } },
        },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: { type: 'string' }, min: 0, max: 1 } },
        cid: { type: { key: { type: 'uuid' }, min: 0, max: 1 } },
        sid: { type: { key: { type: 'uuid' }, min: 0, max: 1 } },
        index: { type: { key: { type: 'integer' }, min: 0, max: 1 } },
      },
    },
  },
};

/**
 * Keeps _Server's Database table equal to the server's databases. It commits to the core
 * Database directly: clients may not write to _Server, so "transact" can't be used.
 */
export class ServerDbMaintainer {
  readonly db: Database;
  readonly access: DbAccess;
  /** Database name → row written. */
  private readonly rows = new Map<string, Row>();

  constructor(private readonly server: OvsdbServer) {
    this.db = new Database(parseDatabaseSchema(SERVER_SCHEMA_JSON));
    this.access = databaseAccess(this.db);
  }

  private fields(name: string, schemaText: string): Datum[] {
    const ts = this.db.schema.tables.get('Database') as TableSchema;
    const f: Datum[] = ts.columnList.map((c) => defaultDatum(c.type));
    const put = (col: string, v: string | boolean) => {
      const c = ts.columns.get(col);
      if (c) f[c.index] = { keys: [v], values: null };
    };
    put('name', name);
    put('model', 'standalone');
    put('connected', true);
    put('leader', true);
    put('schema', schemaText);
    return f;
  }

  sync(): void {
    const changes = new Map<string, RowChange>();
    for (const [name, row] of this.rows) {
      if (!this.server.dbs.has(name)) {
        changes.set(row.uuid, { old: row, new: null });
        this.rows.delete(name);
      }
    }
    for (const [name, served] of this.server.dbs) {
      const schemaText = jsonToOvsString(schemaToJson(served.access.schema), true);
      const have = this.rows.get(name);
      const ts = this.db.schema.tables.get('Database') as TableSchema;
      const schemaCol = ts.columns.get('schema')?.index ?? -1;
      if (have && have.fields[schemaCol]?.keys[0] === schemaText) continue;
      const row: Row = {
        uuid: have?.uuid ?? this.db.newUuid(),
        version: this.db.newUuid(),
        fields: this.fields(name, schemaText),
      };
      changes.set(row.uuid, { old: have ?? null, new: row });
      this.rows.set(name, row);
    }
    if (changes.size) this.db.commit(new Map([['Database', changes]]));
  }
}
