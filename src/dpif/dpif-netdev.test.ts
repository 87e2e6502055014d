import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NetdevRegistry } from '../netdev/registry.ts';
import { DpifBackers, UnknownDatapathTypeError } from './backers.ts';
import { odpPort } from './dpif.ts';
import { DpifNetdev, nameDerivedPort } from './dpif-netdev.ts';

const registry = new NetdevRegistry({ enableDummy: true, override: false });

test('dummy datapath numbers ports after their names, as OVS test outputs expect', () => {
  const dp = new DpifNetdev('dummy', true, registry);
  assert.equal(dp.fullName, 'dummy@ovs-dummy');
  assert.equal(dp.portQueryByNumber(odpPort(0))?.name, 'ovs-dummy');
  const add = (name: string): number => dp.portAdd(registry.open(name, 'dummy'));
  assert.equal(add('p3'), 3);
  assert.equal(add('br0'), 100);
  assert.equal(add('br1'), 101);
  assert.equal(add('eth0'), 1); // 0 is the datapath's own port: lowest free instead
  assert.equal(add('x3'), 2); // 3 taken
  assert.equal(add('vif'), 4);
  assert.equal(add('a12b7'), 12); // the first run of digits
  assert.throws(() => add('p3'), /File exists/);
});

test('netdev datapath numbers ports with the lowest free number', () => {
  const dp = new DpifNetdev('netdev', false, registry);
  assert.equal(dp.fullName, 'netdev@ovs-netdev');
  const a = dp.portAdd(registry.open('br0', 'internal'));
  const b = dp.portAdd(registry.open('p7', 'dummy'));
  assert.deepEqual([a, b], [1, 2]);
  dp.portDel(a);
  assert.equal(dp.portAdd(registry.open('p9', 'dummy')), 1);
  assert.equal(dp.portQueryByName('br0'), undefined);
});

test('nameDerivedPort: digits after a "br" prefix count from 100', () => {
  assert.equal(nameDerivedPort('br0'), 100);
  assert.equal(nameDerivedPort('p0'), undefined);
  assert.equal(nameDerivedPort('port'), undefined);
  assert.equal(nameDerivedPort('bridge5'), 105);
});

test('dummy numbering: numbers stay unique and a free name-derived number is always taken', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom('p', 'br', 'eth', 'x'),
          fc.integer({ min: 0, max: 6 }),
          fc.boolean(),
        ),
        {
          maxLength: 40,
        },
      ),
      (ops) => {
        const dp = new DpifNetdev('dummy', true, registry);
        for (const [prefix, n, del] of ops) {
          const name = `${prefix}${n}`;
          const have = dp.portQueryByName(name);
          if (have) {
            if (del) dp.portDel(have.portNo);
            continue;
          }
          const wanted = nameDerivedPort(name);
          const free = wanted !== undefined && !dp.portQueryByNumber(odpPort(wanted));
          const got = dp.portAdd(registry.open(name, 'dummy'));
          if (free) assert.equal(got, wanted);
          const numbers = [...dp.ports()].map((p) => p.portNo);
          assert.equal(new Set(numbers).size, numbers.length);
        }
      },
    ),
  );
});

test('backers: one datapath per type shared by its bridges, gone with the last', () => {
  const backers = new DpifBackers(registry);
  assert.deepEqual(backers.types(), ['dummy', 'netdev']);
  const a = backers.acquire('dummy');
  const b = backers.acquire('dummy');
  assert.equal(a, b);
  assert.throws(() => backers.acquire('system'), UnknownDatapathTypeError);
  backers.release(a);
  assert.equal(backers.list().length, 1);
  backers.release(b);
  assert.equal(backers.list().length, 0);
  assert.notEqual(backers.acquire('dummy'), a);
});
