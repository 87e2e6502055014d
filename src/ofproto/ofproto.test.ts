import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DpifBackers } from '../dpif/backers.ts';
import { NetdevRegistry } from '../netdev/registry.ts';
import { OFPP_LOCAL, ofpPort, validOfportRequest } from './ofp-port.ts';
import { Ofproto } from './ofproto.ts';

const registry = new NetdevRegistry({ enableDummy: true, override: false });

function setup(now = () => 0): Ofproto {
  return new Ofproto('br0', 'dummy', new DpifBackers(registry), { now });
}
const dummy = (name: string) => registry.open(name, 'dummy');

test('the port named like the bridge is the local port; patch ports have no datapath port', () => {
  const o = setup();
  assert.equal(o.portAdd(registry.open('br0', 'dummy-internal')), OFPP_LOCAL);
  assert.equal(o.portByName('br0')?.odpPort, 100);
  const p = o.portAdd(registry.open('pp', 'patch'));
  assert.equal(o.port(p)?.odpPort, null);
});

test('requested numbers are honoured when free; others come after the last one handed out', () => {
  let t = 0;
  const o = setup(() => t);
  assert.equal(o.portAdd(dummy('a'), ofpPort(5)), 5);
  assert.equal(o.portAdd(dummy('b')), 1);
  assert.equal(o.portAdd(dummy('c'), ofpPort(5)), 2); // taken: falls back to allocation
  o.portDel(ofpPort(1));
  assert.equal(o.portAdd(dummy('d')), 3); // 1 was just released: not reused yet
  assert.equal(o.portAdd(dummy('e')), 4);
  assert.equal(o.portAdd(dummy('f')), 6); // 5 is in use
  assert.equal(o.portAdd(dummy('g'), ofpPort(1)), 1); // a request may take a released number
  o.portDel(ofpPort(3));
  t += 60 * 60 * 1000 + 1;
  o.portDel(ofpPort(1));
  assert.equal(o.portAdd(dummy('h')), 7);
});

test('numbers released over an hour ago are reused; else the least recently used one', () => {
  let t = 0;
  const o = new Ofproto('brx', 'dummy', new DpifBackers(registry), { now: () => t });
  // Fill the automatic range, release two numbers at different times.
  for (let i = 1; i < 32768; i++) o.portAdd(dummy(`q${i}`));
  t = 10;
  o.portDel(ofpPort(200));
  t = 20;
  o.portDel(ofpPort(100));
  t = 30;
  assert.equal(o.portAdd(dummy('late1')), 200); // none free and none old: least recently used
  assert.equal(o.portAdd(dummy('late2')), 100);
  assert.throws(() => o.portAdd(dummy('late3')), /File exists/);
});

test('validOfportRequest accepts 1..65279 only', () => {
  assert.equal(validOfportRequest(0), null);
  assert.equal(validOfportRequest(1), 1);
  assert.equal(validOfportRequest(0xfeff), 0xfeff);
  assert.equal(validOfportRequest(0xff00), null);
  assert.equal(validOfportRequest(undefined), null);
});

test('allocation: numbers unique, requests honoured when free, automatic ones below 32768', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          del: fc.boolean(),
          request: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
          dt: fc.constantFrom(0, 1000, 2 * 60 * 60 * 1000),
        }),
        { maxLength: 60 },
      ),
      (ops) => {
        let t = 0;
        const o = new Ofproto('bry', 'dummy', new DpifBackers(registry), { now: () => t });
        let n = 0;
        for (const op of ops) {
          t += op.dt;
          const ports = [...o.ports()];
          if (op.del && ports.length) {
            o.portDel((ports[n % ports.length] as { ofpPort: ReturnType<typeof ofpPort> }).ofpPort);
          } else {
            const req = op.request === undefined ? null : ofpPort(op.request);
            const free = req !== null && !o.port(req);
            const got = o.portAdd(dummy(`z${n}`), req);
            if (free) assert.equal(got, req);
            assert.ok(got >= 1 && got < 32768);
          }
          n++;
          const numbers = [...o.ports()].map((p) => p.ofpPort);
          assert.equal(new Set(numbers).size, numbers.length);
        }
      },
    ),
  );
});
