import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Json } from '../json.ts';
import { JsonFramer, JsonFramingError } from './framer.ts';

/** Feeds `bytes` in the given pieces and returns every value framed. */
function frame(pieces: Uint8Array[], maxMessageSize = 0): Json[] {
  const f = new JsonFramer({ maxMessageSize });
  const out: Json[] = [];
  for (const p of pieces) f.feed(p, (v) => out.push(v));
  f.finish();
  return out;
}
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

// Messages in the shape OVS 3.1's jsonrpc.c writes them (list_dbs, an inactivity probe, the
// server's reply), back to back; the last adds escapes, braces inside strings and UTF-8.
const GOLDEN = Buffer.from(
  '{"id":0,"method":"list_dbs","params":[]}' +
    '{"id":"echo","method":"echo","params":[]}' +
    ' \n{"result":["Open_vSwitch","_Server"],"error":null,"id":0}' +
    '{"method":"update","params":["x\\"}{","é{[😀]}\\\\"],"id":null}',
  'utf8',
);
const GOLDEN_VALUES: Json[] = [
  { id: 0, method: 'list_dbs', params: [] },
  { id: 'echo', method: 'echo', params: [] },
  { result: ['Open_vSwitch', '_Server'], error: null, id: 0 },
  { method: 'update', params: ['x"}{', 'é{[😀]}\\'], id: null },
];

describe('JsonFramer', () => {
  it('frames the golden stream whole', () => {
    assert.deepEqual(frame([GOLDEN]), GOLDEN_VALUES);
  });

  it('frames the golden stream split at every byte boundary', () => {
    for (let i = 0; i <= GOLDEN.length; i++) {
      assert.deepEqual(frame(splitAt(GOLDEN, [i])), GOLDEN_VALUES, `split at ${i}`);
    }
  });

  it('frames the golden stream fed one byte at a time (splits inside UTF-8 sequences)', () => {
    const pieces = [...GOLDEN].map((b) => Uint8Array.of(b));
    assert.deepEqual(frame(pieces), GOLDEN_VALUES);
  });

  it('reframes any sequence of JSON values however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue())), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom('', ' ', '\n', '\r\n\t'),
        (values, cuts, sep) => {
          const bytes = Buffer.from(values.map((v) => JSON.stringify(v)).join(sep), 'utf8');
          const got = frame(
            splitAt(
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
          );
          // JSON.parse(JSON.stringify(v)) is the oracle: it normalises -0 and the like.
          assert.deepEqual(
            got,
            values.map((v) => JSON.parse(JSON.stringify(v))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects a top-level scalar with OVS's text", () => {
    assert.throws(() => frame([Buffer.from('123')]), {
      name: 'JsonFramingError',
      message: 'syntax error at beginning of input',
    });
    assert.throws(() => frame([Buffer.from('"str"')]), JsonFramingError);
  });

  it('rejects malformed JSON inside a value and stays failed', () => {
    const f = new JsonFramer();
    assert.throws(() => f.feed(Buffer.from('{"a":}'), () => {}), JsonFramingError);
    assert.throws(() => f.feed(Buffer.from('{}'), () => {}), JsonFramingError);
  });

  it('rejects invalid UTF-8', () => {
    assert.throws(() => frame([Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d])]), {
      message: 'invalid UTF-8 sequence',
    });
  });

  it('reports a value cut off by end of stream', () => {
    assert.throws(() => frame([Buffer.from('{"a":"b')]), {
      message: 'unexpected end of input in quoted string',
    });
    assert.throws(() => frame([Buffer.from('[1,')]), { message: 'unexpected end of input' });
  });

  it('enforces the maximum message size whether or not the value spans chunks', () => {
    const big = Buffer.from(JSON.stringify(['x'.repeat(100)]));
    assert.throws(() => frame([big], 50), { code: 'E2BIG' });
    assert.throws(() => frame(splitAt(big, [10, 60]), 50), { code: 'E2BIG' });
    assert.equal(frame([big], 200).length, 1);
  });

  it('rejects nesting deeper than OVS allows', () => {
    assert.throws(() => frame([Buffer.from('['.repeat(1001))]), {
      message: 'input exceeds maximum nesting depth 1000',
    });
    assert.equal(frame([Buffer.from(`${'['.repeat(1000)}${']'.repeat(1000)}`)]).length, 1);
  });

  it('lets the caller reuse a chunk once feed returns (readers share one read buffer)', () => {
    const text = JSON.stringify({ method: 'echo', params: ['x'.repeat(40)], id: 1 });
    const framer = new JsonFramer();
    const got: Json[] = [];
    const buf = Buffer.alloc(text.length);
    // Each piece is read into the same buffer, as a reader with one buffer does.
    for (const [from, to] of [
      [0, 10],
      [10, 30],
      [30, text.length],
    ] as const) {
      const n = buf.write(text.slice(from, to));
      framer.feed(buf.subarray(0, n), (v) => got.push(v));
      buf.fill(0x5d);
    }
    assert.deepEqual(got, [JSON.parse(text)]);
  });
});
