import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pkgroot } from '../../lib/paths.ts';
import { parseDatabaseSchema, schemaToJson } from '../schema.ts';
import { SERVER_SCHEMA_JSON } from './server-db.ts';

describe('_Server schema', () => {
  it('the embedded schema equals schema/_server.ovsschema', () => {
    const file = JSON.parse(readFileSync(join(pkgroot(), 'schema', '_server.ovsschema'), 'utf8'));
    assert.deepEqual(SERVER_SCHEMA_JSON, file);
  });

  it('parses, and round-trips through the core schema code', () => {
    const schema = parseDatabaseSchema(SERVER_SCHEMA_JSON);
    assert.equal(schema.name, '_Server');
    assert.deepEqual([...(schema.tables.get('Database')?.columns.keys() ?? [])].sort(), [
      'cid',
      'connected',
      'index',
      'leader',
      'model',
      'name',
      'schema',
      'sid',
    ]);
    assert.deepEqual(schemaToJson(parseDatabaseSchema(schemaToJson(schema))), schemaToJson(schema));
  });
});
