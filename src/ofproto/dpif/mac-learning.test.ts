import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ofpPort } from '../ofp-port.ts';
import {
  FDB_FLUSH_REPLY,
  fdbAdd,
  fdbDel,
  fdbShow,
  fdbStatsShow,
  formatMac48,
  MAC_ENTRY_AGE_STATIC_ENTRY,
  MacLearning,
  macFromWords,
  macIsMulticast,
  macTableConfig,
  parseMac48,
} from './mac-learning.ts';

/** A clock the test moves by hand (seconds). */
function fakeClock(start = 1_000) {
  let s = start;
  return {
    clock: () => s * 1000,
    advance: (d: number) => {
      s += d;
    },
  };
}

const mac = (s: string): number => Number.parseInt(s.replaceAll(':', ''), 16);
const P = ofpPort;

describe('MAC addresses', () => {
  test('flow key words, text and multicast bit', () => {
    assert.equal(macFromWords(0x0102, 0x03040506), mac('01:02:03:04:05:06'));
    assert.equal(formatMac48(mac('0a:0b:0c:0d:0e:ff')), '0a:0b:0c:0d:0e:ff');
    assert.equal(parseMac48('a:b:c:d:e:ff'), mac('0a:0b:0c:0d:0e:ff'));
    assert.equal(parseMac48('01:02:03:04:05'), null);
    assert.equal(parseMac48('zz:02:03:04:05:06'), null);
    assert.equal(macIsMulticast(mac('01:00:5e:00:00:01')), true);
    assert.equal(macIsMulticast(mac('ff:ff:ff:ff:ff:ff')), true);
    assert.equal(macIsMulticast(mac('00:00:5e:00:00:01')), false);
    assert.equal(macIsMulticast(mac('02:00:00:00:00:01')), false);
  });

  test('text round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (m) => {
        assert.equal(parseMac48(formatMac48(m)), m);
      }),
    );
  });
});

describe('MacLearning', () => {
  test('learns per VLAN and reports new MACs and moves', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock });
    assert.equal(ml.update(mac('00:00:00:00:00:01'), 10, P(1)), true);
    assert.equal(ml.lookup(mac('00:00:00:00:00:01'), 10)?.port, 1);
    assert.equal(ml.lookup(mac('00:00:00:00:00:01'), 20), undefined);
    // Same second, same port: nothing to do.
    assert.equal(ml.update(mac('00:00:00:00:00:01'), 10, P(1)), false);
    // A move is learned at once, even within the same second.
    assert.equal(ml.update(mac('00:00:00:00:00:01'), 10, P(2)), true);
    assert.equal(ml.lookup(mac('00:00:00:00:00:01'), 10)?.port, 2);
    assert.deepEqual(ml.stats, { learned: 1, expired: 0, evicted: 0, moved: 1 });
    assert.equal(ml.run(), true, 'changes ask for revalidation');
    assert.equal(ml.run(), false);
  });

  test('never learns multicast sources, and not in flood VLANs', () => {
    const ml = new MacLearning();
    assert.equal(ml.update(mac('01:00:00:00:00:01'), 10, P(1)), false);
    assert.equal(ml.setFloodVlans([20, 5000]), true);
    assert.equal(ml.setFloodVlans([20]), false, 'same set');
    assert.equal(ml.update(mac('00:00:00:00:00:01'), 20, P(1)), false);
    assert.equal(ml.size, 0);
    ml.setFloodVlans(null);
    ml.update(mac('00:00:00:00:00:01'), 20, P(1));
    ml.setFloodVlans([20]);
    assert.equal(
      ml.lookup(mac('00:00:00:00:00:01'), 20),
      undefined,
      'flood VLANs are never looked up',
    );
  });

  test('ages entries out after the idle time, by the injected clock', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock, idleTime: 60 });
    ml.update(mac('00:00:00:00:00:01'), 0, P(1));
    t.advance(30);
    ml.update(mac('00:00:00:00:00:02'), 0, P(1));
    const e1 = ml.lookup(mac('00:00:00:00:00:01'), 0);
    assert.ok(e1);
    assert.equal(ml.age(e1), 30);
    assert.equal(ml.nextWakeMs(), 1_030 * 1000, 'pending revalidation: wake now');
    ml.run();
    assert.equal(ml.nextWakeMs(), (1_000 + 60) * 1000);
    t.advance(29);
    ml.run();
    assert.equal(ml.size, 2);
    t.advance(1);
    ml.run();
    assert.equal(ml.size, 1);
    assert.equal(ml.lookup(mac('00:00:00:00:00:01'), 0), undefined);
    assert.equal(ml.stats.expired, 1);
  });

  test('traffic refreshes an entry once it is a second old', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock, idleTime: 60 });
    ml.update(mac('00:00:00:00:00:01'), 0, P(1));
    t.advance(50);
    assert.equal(ml.update(mac('00:00:00:00:00:01'), 0, P(1)), false, 'refresh is not a change');
    t.advance(50);
    ml.run();
    assert.equal(ml.size, 1);
  });

  test('idle time and size are clamped as OVS clamps them', () => {
    assert.equal(new MacLearning({ idleTime: 1 }).idleTime, 15);
    assert.equal(new MacLearning({ idleTime: 100_000 }).idleTime, 3600);
    assert.equal(new MacLearning({ idleTime: -1 }).idleTime, 3600);
    assert.equal(new MacLearning().idleTime, 300);
    assert.equal(new MacLearning().maxEntries, 8192);
    assert.equal(new MacLearning({ maxEntries: 3 }).maxEntries, 10);
    assert.equal(new MacLearning({ maxEntries: 5_000_000 }).maxEntries, 1_000_000);
  });

  test('Bridge other_config mac-aging-time / mac-table-size, defaults for absent or bad values', () => {
    const m = (o: Record<string, string>) => macTableConfig(new Map(Object.entries(o)));
    assert.deepEqual(m({}), { idleTime: 300, maxEntries: 8192 });
    assert.deepEqual(m({ 'mac-aging-time': '20', 'mac-table-size': '100' }), {
      idleTime: 20,
      maxEntries: 100,
    });
    assert.deepEqual(m({ 'mac-aging-time': '0', 'mac-table-size': 'x' }), {
      idleTime: 300,
      maxEntries: 8192,
    });
    assert.deepEqual(m({ 'mac-aging-time': '99999999999' }), { idleTime: 300, maxEntries: 8192 });
    assert.equal(new MacLearning(m({ 'mac-aging-time': '5' })).idleTime, 15);
  });

  test('changing the idle time keeps ages', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock, idleTime: 100 });
    ml.update(mac('00:00:00:00:00:01'), 0, P(1));
    t.advance(40);
    ml.setIdleTime(50);
    const e = ml.lookup(mac('00:00:00:00:00:01'), 0);
    assert.ok(e);
    assert.equal(ml.age(e), 40);
    t.advance(10);
    ml.run();
    assert.equal(ml.size, 0);
  });

  test('static entries never age, survive flush, are not moved by traffic', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock });
    ml.addStatic(mac('00:00:00:00:00:05'), 10, P(5));
    ml.update(mac('00:00:00:00:00:06'), 10, P(6));
    assert.equal(ml.update(mac('00:00:00:00:00:05'), 10, P(7)), false);
    assert.equal(ml.lookup(mac('00:00:00:00:00:05'), 10)?.port, 5);
    t.advance(100_000);
    ml.run();
    assert.equal(ml.size, 1);
    ml.flush();
    assert.equal(ml.size, 1);
    const e = ml.lookup(mac('00:00:00:00:00:05'), 10);
    assert.ok(e);
    assert.equal(ml.age(e), MAC_ENTRY_AGE_STATIC_ENTRY);
    assert.equal(ml.staticEntries, 1);
    assert.equal(ml.delStatic(mac('00:00:00:00:00:05'), 10), true);
    assert.equal(ml.delStatic(mac('00:00:00:00:00:05'), 10), false);
    assert.equal(ml.staticEntries, 0);
    assert.equal(ml.size, 0);
  });

  test('a gratuitous ARP locks the entry against bond reflections for 5 s', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock });
    const m = mac('00:00:00:00:00:01');
    ml.update(m, 0, P(1), true, false);
    t.advance(2);
    assert.equal(ml.update(m, 0, P(2), true, true), false);
    assert.equal(ml.lookup(m, 0)?.port, 1);
    t.advance(4);
    assert.equal(ml.update(m, 0, P(2), true, true), true);
    assert.equal(ml.lookup(m, 0)?.port, 2);
  });

  test('flushPort forgets a removed port, static entries included', () => {
    const ml = new MacLearning();
    ml.update(mac('00:00:00:00:00:01'), 0, P(1));
    ml.addStatic(mac('00:00:00:00:00:02'), 0, P(1));
    ml.update(mac('00:00:00:00:00:03'), 0, P(2));
    ml.flushPort(P(1));
    assert.deepEqual(
      [...ml.entries()].map((e) => e.mac),
      [mac('00:00:00:00:00:03')],
    );
    assert.equal(ml.staticEntries, 0);
  });

  test('shrinking the table trims the least recently used', () => {
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock });
    for (let i = 1; i <= 12; i++) ml.update(i, 0, P(1));
    ml.setMaxEntries(10);
    assert.equal(ml.size, 12);
    ml.run();
    assert.deepEqual(
      [...ml.entries()].map((e) => e.mac),
      [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
  });

  test('a full table evicts fairly: the oldest entry of the port with the most entries', () => {
    // Captured from real ovs-vswitchd 3.1 with other_config:mac-table-size=10: two MACs on
    // p8, then eight on p1, then a third on p8 (all by netdev-dummy/receive, same second).
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock, maxEntries: 10 });
    ml.update(mac('00:00:00:00:01:01'), 20, P(8));
    ml.update(mac('00:00:00:00:01:02'), 20, P(8));
    for (let i = 1; i <= 8; i++) ml.update(mac(`00:00:00:00:02:0${i}`), 10, P(1));
    ml.update(mac('00:00:00:00:01:03'), 20, P(8));
    assert.equal(
      fdbShow(ml),
      ' port  VLAN  MAC                Age\n' +
        '    8    20  00:00:00:00:01:01    0\n' +
        '    8    20  00:00:00:00:01:02    0\n' +
        '    1    10  00:00:00:00:02:02    0\n' +
        '    1    10  00:00:00:00:02:03    0\n' +
        '    1    10  00:00:00:00:02:04    0\n' +
        '    1    10  00:00:00:00:02:05    0\n' +
        '    1    10  00:00:00:00:02:06    0\n' +
        '    1    10  00:00:00:00:02:07    0\n' +
        '    1    10  00:00:00:00:02:08    0\n' +
        '    8    20  00:00:00:00:01:03    0\n',
    );
    assert.equal(
      fdbStatsShow('br0', ml),
      'Statistics for bridge "br0":\n' +
        '  Current/maximum MAC entries in the table: 10/10\n' +
        '  Current static MAC entries in the table : 0\n' +
        '  Total number of learned MAC entries     : 11\n' +
        '  Total number of expired MAC entries     : 0\n' +
        '  Total number of evicted MAC entries     : 1\n' +
        '  Total number of port moved MAC entries  : 0\n',
    );
  });

  test('the table never exceeds its size and lookups agree with a naive model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ m: fc.nat(30), v: fc.nat(2), p: fc.nat(3), dt: fc.nat(40) }), {
          maxLength: 200,
        }),
        (ops) => {
          const t = fakeClock();
          const ml = new MacLearning({ clock: t.clock, maxEntries: 10, idleTime: 60 });
          const model = new Map<string, { port: number; seen: number }>();
          for (const o of ops) {
            t.advance(o.dt);
            ml.run();
            ml.update(o.m + 1, o.v, P(o.p + 1));
            assert.ok(ml.size <= 10);
            model.set(`${o.m + 1}/${o.v}`, { port: o.p + 1, seen: t.clock() / 1000 });
            const now = t.clock() / 1000;
            for (const e of ml.entries()) {
              const want = model.get(`${e.mac}/${e.vlan}`);
              assert.ok(want);
              // An entry still in the table is the last port seen and younger than the idle time.
              assert.equal(e.port, want.port);
              assert.ok(now - want.seen < 60);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('fdb unixctl text', () => {
  test('matches real ovs-vswitchd 3.1 after learning, a move and fdb/add', () => {
    // Captured from real ovs-vswitchd 3.1: :08 learned on p8 (VLAN 20), :02 on p2 and :06 on
    // p6 (VLAN 10); 7 s later :08 moved to p9; then `fdb/add br0 p3 30 00:00:00:00:00:33`,
    // `fdb/add br0 p4 10 00:00:00:00:00:02` twice, `fdb/show br0`, `fdb/stats-show br0`,
    // `fdb/flush br0`, `fdb/show br0`.
    const t = fakeClock();
    const ml = new MacLearning({ clock: t.clock });
    ml.update(mac('00:00:00:00:00:08'), 20, P(8));
    ml.update(mac('00:00:00:00:00:02'), 10, P(2));
    ml.update(mac('00:00:00:00:00:06'), 10, P(6));
    t.advance(7);
    ml.update(mac('00:00:00:00:00:08'), 20, P(9));
    assert.deepEqual(fdbAdd(ml, P(3), '30', '00:00:00:00:00:33'), { ok: true, text: '' });
    assert.deepEqual(fdbAdd(ml, P(4), '10', '00:00:00:00:00:02'), {
      ok: true,
      text: 'Overriding already existing dynamic entry on 2\n',
    });
    assert.deepEqual(fdbAdd(ml, P(4), '10', '00:00:00:00:00:02'), { ok: true, text: '' });
    assert.equal(
      fdbShow(ml),
      ' port  VLAN  MAC                Age\n' +
        '    6    10  00:00:00:00:00:06    7\n' +
        '    9    20  00:00:00:00:00:08    0\n' +
        '    3    30  00:00:00:00:00:33  static\n' +
        '    4    10  00:00:00:00:00:02  static\n',
    );
    assert.equal(
      fdbStatsShow('br0', ml),
      'Statistics for bridge "br0":\n' +
        '  Current/maximum MAC entries in the table: 4/8192\n' +
        '  Current static MAC entries in the table : 2\n' +
        '  Total number of learned MAC entries     : 3\n' +
        '  Total number of expired MAC entries     : 0\n' +
        '  Total number of evicted MAC entries     : 0\n' +
        '  Total number of port moved MAC entries  : 1\n',
    );
    ml.flush();
    assert.equal(FDB_FLUSH_REPLY, 'table successfully flushed');
    assert.equal(
      fdbShow(ml),
      ' port  VLAN  MAC                Age\n' +
        '    3    30  00:00:00:00:00:33  static\n' +
        '    4    10  00:00:00:00:00:02  static\n',
    );
  });

  test('fdb/add over a static entry on another port, fdb/del and their errors', () => {
    const ml = new MacLearning();
    fdbAdd(ml, P(1), '5', '00:00:00:00:00:01');
    assert.deepEqual(fdbAdd(ml, P(2), '5', '00:00:00:00:00:01'), {
      ok: true,
      text: 'Overriding already existing static entry on 1\n',
    });
    assert.deepEqual(fdbAdd(ml, P(2), '5', 'nope'), { ok: false, error: 'bad MAC address' });
    assert.deepEqual(fdbDel(ml, '5', 'nope'), { ok: false, error: 'bad MAC address' });
    assert.deepEqual(fdbDel(ml, '6', '00:00:00:00:00:01'), {
      ok: false,
      error: 'could not find static mac entry\n',
    });
    assert.deepEqual(fdbDel(ml, '5', '00:00:00:00:00:01'), { ok: true, text: '' });
    assert.equal(ml.size, 0);
  });

  test('the local port prints as LOCAL', () => {
    const ml = new MacLearning();
    ml.update(mac('00:00:00:00:00:01'), 0, P(0xfffe));
    assert.match(fdbShow(ml), /\nLOCAL {5}0 {2}00:00:00:00:00:01 {4}0\n$/);
  });
});

describe('overflow eviction order', () => {
  test('ties between equally full ports break as OVS heap does (captured from real ovs-vswitchd 3.1)', () => {
    const t = fakeClock();
    const ml = new MacLearning({ maxEntries: 10, clock: t.clock });
    const ports = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 5, 5, 5, 5];
    ports.forEach((p, i) => {
      ml.update(0x505400000000 + i + 1, 0, P(p));
      t.advance(1);
    });
    const left = [...ml.entries()]
      .map((e) => `${e.port} ${formatMac48(e.mac)}`)
      .sort()
      .join('\n');
    // What real OVS's fdb/show held after the same fifteen learnings (table size 10).
    assert.equal(
      left,
      [
        '1 50:54:00:00:00:02',
        '1 50:54:00:00:00:03',
        '2 50:54:00:00:00:05',
        '2 50:54:00:00:00:06',
        '3 50:54:00:00:00:08',
        '3 50:54:00:00:00:09',
        '4 50:54:00:00:00:0a',
        '5 50:54:00:00:00:0d',
        '5 50:54:00:00:00:0e',
        '5 50:54:00:00:00:0f',
      ].join('\n'),
    );
    assert.equal(ml.stats.evicted, 5);
  });

  test('the evicted entry is the least recently used of its port, refreshes included', () => {
    const t = fakeClock();
    const ml = new MacLearning({ maxEntries: 10, clock: t.clock });
    for (let i = 0; i < 10; i++) ml.update(0x020000000000 + i, 0, P(1));
    t.advance(400); // everything is old enough to be refreshed
    ml.update(0x020000000000, 0, P(1));
    ml.update(0x020000000099, 0, P(2));
    assert.equal(ml.lookup(0x020000000000, 0)?.port, P(1));
    assert.equal(ml.lookup(0x020000000001, 0), undefined);
  });
});
