import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Json } from '../json.ts';
import { encodeMessage, messageFromJson } from './message.ts';

// Error texts are those of OVS 3.1 lib/jsonrpc.c (jsonrpc_msg_from_json / jsonrpc_msg_is_valid).
const BAD: [Json, string][] = [
  [[1], 'message is not a JSON object'],
  [{ method: 1, params: [], id: 1 }, 'method is not a JSON string'],
  [{ method: 'x', params: [], id: 1, extra: 1 }, 'message has unexpected member "extra"'],
  [{ method: 'x', params: {}, id: 1 }, '"params" must be JSON array'],
  [{ method: 'x', id: 1 }, 'request must have "params"'],
  [{ params: [], id: 1 }, 'request must have "method"'],
  [{ method: 'x' }, 'notification must have "params"'],
  [{ result: 1, error: 'e', id: 1 }, 'reply must not have "error"'],
  [{ result: 1, id: null }, 'reply must have "id"'],
  [{ error: 'e', id: null }, 'error must have "id"'],
  [{ method: 'x', params: [], result: 1, id: 1 }, 'reply must not have "method"'],
];

describe('messageFromJson', () => {
  for (const [json, text] of BAD) {
    it(`rejects ${JSON.stringify(json)}: ${text}`, () => {
      assert.throws(() => messageFromJson(json), { name: 'JsonRpcMessageError', message: text });
    });
  }

  it('classifies the four kinds, treating null members as absent', () => {
    assert.deepEqual(messageFromJson({ method: 'echo', params: [], id: 'echo' }), {
      type: 'request',
      method: 'echo',
      params: [],
      id: 'echo',
    });
    assert.deepEqual(messageFromJson({ method: 'update', params: [1], id: null }), {
      type: 'notify',
      method: 'update',
      params: [1],
    });
    assert.deepEqual(messageFromJson({ result: [], error: null, id: 3 }), {
      type: 'reply',
      result: [],
      id: 3,
    });
    assert.deepEqual(messageFromJson({ result: null, error: { error: 'x' }, id: 3 }), {
      type: 'error',
      error: { error: 'x' },
      id: 3,
    });
  });

  it('encodes with the explicit nulls OVS writes', () => {
    assert.equal(
      encodeMessage({ type: 'notify', method: 'n', params: [] }),
      '{"method":"n","params":[],"id":null}',
    );
    assert.equal(
      encodeMessage({ type: 'reply', result: 1, id: 2 }),
      '{"result":1,"error":null,"id":2}',
    );
    assert.equal(
      encodeMessage({ type: 'error', error: 'e', id: 2 }),
      '{"result":null,"error":"e","id":2}',
    );
  });
});
