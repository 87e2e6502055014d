import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Continuation,
  decodeContinuation,
  encodeContinuation,
  uuidToString,
} from './continuation.ts';
import { OfpError } from './errors.ts';

/* Naive property builder: type, length, body, zero padding to 8 (OVS's ofpprop layout). */
function prop(type: number, body: number[]): number[] {
  const len = 4 + body.length;
  const out = [type >> 8, type & 0xff, len >> 8, len & 0xff, ...body];
  while (out.length % 8) out.push(0);
  return out;
}

const UUID = [
  0x74, 0x70, 0x4f, 0xe3, 0xe5, 0x48, 0x66, 0xfe, 0x3e, 0x57, 0x00, 0xa2, 0x34, 0x3d, 0x70, 0xb7,
];

describe('continuation codec', () => {
  it('prints a bridge uuid as real ovs-ofctl 3.1 did for these bytes', () => {
    // Bytes and text from one run of real ovs-vswitchd 3.1 + ovs-ofctl monitor (hex dump and
    // its "continuation.bridge=" line).
    assert.equal(uuidToString(new Uint8Array(UUID)), 'e34f7074-fe66-48e5-a200-573eb7703d34');
  });

  it('encodes bridge, stack (top first), table/cookie markers, actions and odp_port as OVS lays them out', () => {
    const c: Continuation = {
      bridge: new Uint8Array(UUID),
      stack: [new Uint8Array([0, 0, 0, 1]), new Uint8Array([2])],
      mirrors: 0,
      conntracked: false,
      actions: [
        { type: 'unroll_xlate', tableId: 0, cookie: 5n },
        { type: 'output', port: 2, maxLen: 0 },
      ],
      actionSet: [],
      odpPort: 1,
    };
    const want = [
      0,
      0,
      0,
      0,
      ...prop(0x8000, UUID),
      ...prop(0x8001, [2]),
      ...prop(0x8001, [0, 0, 0, 1]),
      ...prop(0x8005, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]),
      // nested: 4 bytes of padding, then OFPAT_OUTPUT (OF1.0): type 0, len 8, port 2, max_len 0
      ...prop(0x8006, [0, 0, 0, 0, 0, 0, 0, 8, 0, 2, 0, 0]),
      ...prop(0x8008, [0, 0, 0, 1]),
    ];
    assert.deepEqual(Array.from(encodeContinuation(c, 1) ?? []), want);
    const back = decodeContinuation(new Uint8Array(want), 1);
    assert.deepEqual(
      back.stack.map((v) => Array.from(v)),
      [[0, 0, 0, 1], [2]],
    );
    assert.deepEqual(back.actions, c.actions);
    assert.equal(back.odpPort, 1);
  });

  it('leaves out an empty continuation, as OVS drops the property', () => {
    const c = {
      bridge: null,
      stack: [],
      mirrors: 0,
      conntracked: false,
      actions: [],
      actionSet: [],
      odpPort: 0,
    };
    assert.equal(encodeContinuation(c, 4), null);
  });

  it('round-trips stacks, mirrors, markers and output actions (property)', () => {
    const action = fc
      .record({
        type: fc.constant('output' as const),
        port: fc.integer({ min: 1, max: 0xfeff }),
        maxLen: fc.constant(0),
      })
      .map((x) => ({ ...x }));
    const unroll = fc
      .record({
        type: fc.constant('unroll_xlate' as const),
        tableId: fc.integer({ min: 0, max: 253 }),
        cookie: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
      })
      .map((x) => ({ ...x }));
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { maxLength: 4 }),
        fc.nat(),
        fc.array(fc.tuple(unroll, fc.array(action, { minLength: 1, maxLength: 3 })), {
          maxLength: 3,
        }),
        fc.constantFrom(1, 4),
        (stack, mirrors, groups, version) => {
          const actions = groups.flatMap(([u, a]) => [u, ...a]);
          const c: Continuation = {
            bridge: new Uint8Array(UUID),
            stack,
            mirrors,
            conntracked: false,
            actions,
            actionSet: [],
            odpPort: 3,
          };
          const back = decodeContinuation(encodeContinuation(c, version) as Uint8Array, version);
          assert.deepEqual(
            back.stack.map((v) => Array.from(v)),
            stack.map((v) => Array.from(v)),
          );
          assert.equal(back.mirrors, mirrors);
          // Markers whose actions are empty vanish; each run comes back after its marker.
          assert.deepEqual(back.actions, actions);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects an unknown property with OFPBPC_BAD_TYPE and a bad length with OFPBPC_BAD_LEN', () => {
    const code = (bytes: number[]): string => {
      try {
        decodeContinuation(new Uint8Array(bytes), 4);
      } catch (e) {
        assert.ok(e instanceof OfpError);
        return e.error;
      }
      return 'ok';
    };
    assert.equal(code([0, 0, 0, 0, ...prop(0x8009, [1, 2, 3, 4])]), 'OFPBPC_BAD_TYPE');
    assert.equal(code([0, 0, 0, 0, ...prop(0x8000, [1, 2, 3])]), 'OFPBPC_BAD_LEN');
    assert.equal(code([0, 0, 0, 0, 0x80, 0x08, 0, 40, 0, 0, 0, 1]), 'OFPBPC_BAD_LEN');
    assert.equal(code([0, 0, 0, 0, ...prop(0x8002, [0, 0, 0, 1])]), 'ok');
  });
});
