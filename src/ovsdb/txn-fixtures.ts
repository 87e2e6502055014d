/**
 * Test fixtures for the core's tests: a schema that exercises every feature of the
 * transaction engine, a real ovsdb-server 3.1 driven over a unix socket in a temp dir, and
 * UUID normalisation so replies from both implementations can be compared.
 * Used only by *.test.ts files.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '../lib/json.ts';

export const TEST_SCHEMA = {
  name: 'T',
  version: '1.2.3',
  tables: {
    Root: {
      isRoot: true,
      columns: {
        name: { type: 'string' },
        i: { type: 'integer' },
        r: { type: 'real' },
        b: { type: 'boolean' },
        u: { type: 'uuid' },
        iset: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        rset: { type: { key: 'real', min: 0, max: 'unlimited' } },
        sset: { type: { key: 'string', min: 0, max: 'unlimited' } },
        smap: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        imap: { type: { key: 'integer', value: 'string', min: 0, max: 2 } },
        opt: { type: { key: 'integer', min: 0, max: 1 } },
        ranged: {
          type: { key: { type: 'integer', minInteger: 0, maxInteger: 10 }, min: 0, max: 3 },
        },
        color: {
          type: {
            key: { type: 'string', enum: ['set', ['red', 'green', 'blue']] },
            min: 0,
            max: 1,
          },
        },
        shortstr: { type: { key: { type: 'string', maxLength: 3 }, min: 0, max: 1 } },
        kids: { type: { key: { type: 'uuid', refTable: 'Child' }, min: 0, max: 'unlimited' } },
        weak: {
          type: {
            key: { type: 'uuid', refTable: 'Other', refType: 'weak' },
            min: 0,
            max: 'unlimited',
          },
        },
        fixed: { type: 'string', mutable: false },
      },
      indexes: [['name']],
    },
    Child: {
      columns: {
        name: { type: 'string' },
        sub: { type: { key: { type: 'uuid', refTable: 'Child' }, min: 0, max: 1 } },
      },
    },
    Other: {
      isRoot: true,
      maxRows: 3,
      columns: { k: { type: 'integer' }, s: { type: 'string' } },
      indexes: [['k', 's']],
    },
    WeakOne: {
      isRoot: true,
      columns: { w: { type: { key: { type: 'uuid', refTable: 'Other', refType: 'weak' } } } },
    },
    Color: {
      isRoot: true,
      columns: { c: { type: { key: { type: 'string', enum: ['set', ['red', 'green']] } } } },
    },
  },
} as const satisfies Json;

const named = (n: string): Json => ['named-uuid', n];
const R = 'Root';

/**
 * A sequence of transactions covering RFC 7047 §5.2 and OVS's commit checks; each entry is
 * one transaction (its operations). They run in order, each on the state the previous left.
 */
export const TXN_CASES: { name: string; ops: Json[] }[] = [
  {
    name: 'insert with every kind of column',
    ops: [
      {
        op: 'insert',
        table: R,
        row: {
          name: 'a',
          i: 5,
          r: 2.5,
          b: true,
          iset: ['set', [3, 1, 2]],
          rset: ['set', [1.5, 0.5]],
          sset: ['set', ['b', 'a']],
          smap: [
            'map',
            [
              ['k2', 'v2'],
              ['k1', 'v1'],
            ],
          ],
          imap: ['map', [[2, 'two']]],
          opt: 7,
          ranged: ['set', [1, 10]],
          color: 'red',
          shortstr: 'abc',
          fixed: 'f',
        },
      },
    ],
  },
  { name: 'select all', ops: [{ op: 'select', table: R, where: [] }] },
  {
    name: 'select columns with conditions',
    ops: [
      {
        op: 'select',
        table: R,
        where: [
          ['i', '>=', 5],
          ['r', '<', 3],
        ],
        columns: ['name', 'i'],
      },
      { op: 'select', table: R, where: [['iset', 'includes', ['set', [1, 3]]]], columns: ['name'] },
      { op: 'select', table: R, where: [['iset', 'excludes', 9]], columns: ['name'] },
      {
        op: 'select',
        table: R,
        where: [['smap', 'includes', ['map', [['k1', 'v1']]]]],
        columns: ['name'],
      },
      {
        op: 'select',
        table: R,
        where: [['smap', 'excludes', ['map', [['k1', 'v2']]]]],
        columns: ['name'],
      },
      {
        op: 'select',
        table: R,
        where: [
          ['opt', '<=', 7],
          ['b', '==', true],
        ],
        columns: ['opt'],
      },
      { op: 'select', table: R, where: [['name', '!=', 'a']], columns: ['name'] },
      { op: 'select', table: R, where: [true], columns: ['name'] },
      { op: 'select', table: R, where: [false], columns: ['name'] },
    ],
  },
  { name: 'duplicate index value', ops: [{ op: 'insert', table: R, row: { name: 'a' } }] },
  {
    name: 'index clash inside one transaction',
    ops: [
      { op: 'insert', table: R, row: { name: 'z', i: 1 } },
      { op: 'insert', table: R, row: { name: 'z', i: 2 } },
    ],
  },
  {
    name: 'unreferenced non-root row is garbage collected',
    ops: [
      { op: 'insert', table: 'Child', row: { name: 'orphan' } },
      { op: 'select', table: 'Child', where: [], columns: ['name'] },
    ],
  },
  {
    name: 'select after gc',
    ops: [{ op: 'select', table: 'Child', where: [], columns: ['name'] }],
  },
  {
    name: 'strong references with named uuids',
    ops: [
      { op: 'insert', table: 'Child', row: { name: 'c2' }, 'uuid-name': 'c2' },
      { op: 'insert', table: 'Child', row: { name: 'c1', sub: named('c2') }, 'uuid-name': 'c1' },
      { op: 'insert', table: R, row: { name: 'p', kids: ['set', [named('c1')]] } },
      { op: 'select', table: 'Child', where: [['sub', '==', named('c2')]], columns: ['name'] },
    ],
  },
  {
    name: 'children exist',
    ops: [{ op: 'select', table: 'Child', where: [], columns: ['name', 'sub'] }],
  },
  {
    name: 'deleting a referenced row',
    ops: [{ op: 'delete', table: 'Child', where: [['name', '==', 'c1']] }],
  },
  {
    name: 'dropping the last reference collects a chain',
    ops: [
      { op: 'update', table: R, where: [['name', '==', 'p']], row: { kids: ['set', []] } },
      { op: 'select', table: 'Child', where: [], columns: ['name'] },
    ],
  },
  { name: 'chain gone', ops: [{ op: 'select', table: 'Child', where: [], columns: ['name'] }] },
  {
    name: 'reference to an undefined named-uuid',
    ops: [{ op: 'insert', table: R, row: { name: 'q', kids: named('nowhere') } }],
  },
  {
    name: 'reference to a nonexistent uuid',
    ops: [
      {
        op: 'insert',
        table: R,
        row: { name: 'q', kids: ['uuid', '12345678-1234-1234-1234-123456789abc'] },
      },
    ],
  },
  {
    name: 'mutations',
    ops: [
      {
        op: 'mutate',
        table: R,
        where: [['name', '==', 'a']],
        mutations: [
          ['i', '+=', 10],
          ['i', '*=', 3],
          ['i', '-=', 1],
          ['i', '/=', 4],
          ['i', '%=', 5],
          ['r', '*=', 2],
          ['iset', '+=', 100],
          ['rset', '/=', 2],
          ['sset', 'insert', ['set', ['c', 'a']]],
          ['sset', 'delete', 'b'],
          [
            'smap',
            'insert',
            [
              'map',
              [
                ['k1', 'changed'],
                ['k3', 'v3'],
              ],
            ],
          ],
          ['smap', 'delete', ['set', ['k2']]],
          ['smap', 'delete', ['map', [['k3', 'wrong']]]],
          ['imap', 'insert', ['map', [[1, 'one']]]],
        ],
      },
      {
        op: 'select',
        table: R,
        where: [['name', '==', 'a']],
        columns: ['i', 'r', 'iset', 'rset', 'sset', 'smap', 'imap'],
      },
    ],
  },
  {
    name: 'division by zero',
    ops: [{ op: 'mutate', table: R, where: [], mutations: [['i', '/=', 0]] }],
  },
  {
    name: 'integer overflow',
    ops: [
      { op: 'update', table: R, where: [['name', '==', 'a']], row: { i: 2 ** 62 } },
      { op: 'mutate', table: R, where: [['name', '==', 'a']], mutations: [['i', '*=', 4]] },
    ],
  },
  {
    name: 'mutation producing duplicates',
    ops: [{ op: 'mutate', table: R, where: [['name', '==', 'a']], mutations: [['iset', '*=', 0]] }],
  },
  {
    name: 'mutation past the size limit',
    ops: [
      {
        op: 'mutate',
        table: R,
        where: [['name', '==', 'a']],
        mutations: [['imap', 'insert', ['map', [[5, 'five']]]]],
      },
    ],
  },
  {
    name: 'mutation breaking a range constraint',
    ops: [
      { op: 'mutate', table: R, where: [['name', '==', 'a']], mutations: [['ranged', '+=', 5]] },
    ],
  },
  {
    name: 'mutating an immutable column',
    ops: [{ op: 'mutate', table: R, where: [], mutations: [['fixed', 'insert', 'x']] }],
  },
  {
    name: 'modulo on a real',
    ops: [{ op: 'mutate', table: R, where: [], mutations: [['r', '%=', 2]] }],
  },
  {
    name: 'unknown mutator',
    ops: [{ op: 'mutate', table: R, where: [], mutations: [['i', '^=', 2]] }],
  },
  {
    name: 'updating an immutable column',
    ops: [{ op: 'update', table: R, where: [], row: { fixed: 'g' } }],
  },
  {
    name: 'enum violation',
    ops: [{ op: 'insert', table: R, row: { name: 'e', color: 'pink' } }],
  },
  { name: 'default breaking an enum', ops: [{ op: 'insert', table: 'Color', row: {} }] },
  { name: 'range violation', ops: [{ op: 'insert', table: R, row: { name: 'e', ranged: 11 } }] },
  {
    name: 'length violation',
    ops: [{ op: 'insert', table: R, row: { name: 'e', shortstr: 'abcd' } }],
  },
  {
    name: 'set size violation',
    ops: [
      {
        op: 'insert',
        table: R,
        row: {
          name: 'e',
          imap: [
            'map',
            [
              [1, 'a'],
              [2, 'b'],
              [3, 'c'],
            ],
          ],
        },
      },
    ],
  },
  {
    name: 'maxRows and compound index',
    ops: [
      { op: 'insert', table: 'Other', row: { k: 1, s: 'x' } },
      { op: 'insert', table: 'Other', row: { k: 1, s: 'y' } },
    ],
  },
  { name: 'compound index clash', ops: [{ op: 'insert', table: 'Other', row: { k: 1, s: 'x' } }] },
  {
    name: 'too many rows',
    ops: [
      { op: 'insert', table: 'Other', row: { k: 2 } },
      { op: 'insert', table: 'Other', row: { k: 3 } },
    ],
  },
  {
    name: 'weak references to missing rows vanish',
    ops: [
      { op: 'insert', table: 'Other', row: { k: 9, s: 'w' }, 'uuid-name': 'o' },
      {
        op: 'insert',
        table: R,
        row: {
          name: 'w',
          weak: ['set', [named('o'), ['uuid', '12345678-1234-1234-1234-123456789abc']]],
        },
      },
      { op: 'select', table: R, where: [['name', '==', 'w']], columns: ['weak'] },
    ],
  },
  {
    name: 'weak after commit',
    ops: [{ op: 'select', table: R, where: [['name', '==', 'w']], columns: ['weak'] }],
  },
  {
    name: 'deleting a weakly referenced row',
    ops: [{ op: 'delete', table: 'Other', where: [['k', '==', 9]] }],
  },
  {
    name: 'weak cleaned',
    ops: [{ op: 'select', table: R, where: [['name', '==', 'w']], columns: ['weak'] }],
  },
  {
    name: 'weak reference column that may not be empty',
    ops: [
      {
        op: 'insert',
        table: 'WeakOne',
        row: { w: ['uuid', '12345678-1234-1234-1234-123456789abc'] },
      },
    ],
  },
  { name: 'weak reference default all-zeros', ops: [{ op: 'insert', table: 'WeakOne', row: {} }] },
  {
    name: 'wait that fails immediately',
    ops: [
      {
        op: 'wait',
        table: R,
        timeout: 0,
        where: [['name', '==', 'a']],
        columns: ['name'],
        until: '==',
        rows: [],
      },
    ],
  },
  {
    name: 'wait that holds',
    ops: [
      {
        op: 'wait',
        table: R,
        timeout: 0,
        where: [['name', '==', 'a']],
        columns: ['name', 'b'],
        until: '==',
        rows: [{ name: 'a', b: true }],
      },
      {
        op: 'wait',
        table: R,
        timeout: 0,
        where: [['name', '==', 'a']],
        columns: ['name'],
        until: '!=',
        rows: [],
      },
    ],
  },
  {
    name: 'bad wait',
    ops: [{ op: 'wait', table: R, timeout: 0, where: [], until: '<', rows: [] }],
  },
  {
    name: 'abort',
    ops: [
      { op: 'insert', table: R, row: { name: 'ab' } },
      { op: 'abort' },
      { op: 'comment', comment: 'x' },
    ],
  },
  { name: 'assert without the lock', ops: [{ op: 'assert', lock: 'mylock' }] },
  {
    name: 'comment and durable commit',
    ops: [
      { op: 'comment', comment: 'hello' },
      { op: 'commit', durable: false },
    ],
  },
  { name: 'unknown operation', ops: [{ op: 'frobnicate' }] },
  { name: 'operation not an object', ops: [['insert']] },
  { name: 'unknown table', ops: [{ op: 'select', table: 'Nope', where: [] }] },
  { name: 'extra member', ops: [{ op: 'select', table: R, where: [], bogus: 1 }] },
  { name: 'missing where', ops: [{ op: 'select', table: R }] },
  {
    name: 'unknown column in condition',
    ops: [{ op: 'select', table: R, where: [['nope', '==', 1]] }],
  },
  { name: 'unknown function', ops: [{ op: 'select', table: R, where: [['i', 'like', 1]] }] },
  { name: 'ordering on a string', ops: [{ op: 'select', table: R, where: [['name', '<', 'a']] }] },
  { name: 'ordering on a set', ops: [{ op: 'select', table: R, where: [['iset', '<', 1]] }] },
  { name: 'malformed clause', ops: [{ op: 'select', table: R, where: [['name', '==']] }] },
  { name: 'wrong type in condition', ops: [{ op: 'select', table: R, where: [['i', '==', 'x']] }] },
  { name: 'unknown column in row', ops: [{ op: 'insert', table: R, row: { nope: 1 } }] },
  {
    name: 'bad set',
    ops: [{ op: 'insert', table: R, row: { name: 'bs', iset: ['set', [1, 1]] } }],
  },
  { name: 'bad map', ops: [{ op: 'insert', table: R, row: { name: 'bm', smap: ['set', []] } }] },
  { name: 'bad uuid', ops: [{ op: 'insert', table: R, row: { name: 'bu', u: ['uuid', 'xyz'] } }] },
  {
    name: 'duplicate uuid-name',
    ops: [
      { op: 'insert', table: R, row: { name: 'd1' }, 'uuid-name': 'x' },
      { op: 'insert', table: R, row: { name: 'd2' }, 'uuid-name': 'x' },
    ],
  },
  {
    name: 'caller-chosen uuid',
    ops: [
      { op: 'insert', table: R, uuid: '0000abcd-0000-0000-0000-000000000001', row: { name: 'cu' } },
    ],
  },
  {
    name: 'caller-chosen uuid already in use',
    ops: [
      {
        op: 'insert',
        table: R,
        uuid: '0000abcd-0000-0000-0000-000000000001',
        row: { name: 'cu2' },
      },
    ],
  },
  {
    name: 'select by _uuid and update by named uuid',
    ops: [
      { op: 'insert', table: R, row: { name: 'nu' }, 'uuid-name': 'nu' },
      { op: 'update', table: R, where: [['_uuid', '==', named('nu')]], row: { i: 42 } },
      {
        op: 'select',
        table: R,
        where: [['_uuid', '==', named('nu')]],
        columns: ['name', 'i', '_uuid'],
      },
    ],
  },
  {
    name: 'distinct select and sort',
    ops: [
      { op: 'select', table: R, where: [], columns: ['b'] },
      { op: 'select', table: R, where: [], columns: ['name', 'i'], sort: ['i', 'name'] },
    ],
  },
  {
    name: 'update that changes nothing counts the row',
    ops: [{ op: 'update', table: R, where: [['name', '==', 'nu']], row: { i: 42 } }],
  },
  {
    name: 'delete and count',
    ops: [
      { op: 'delete', table: R, where: [['name', '==', 'cu']] },
      { op: 'delete', table: R, where: [['name', '==', 'cu']] },
    ],
  },
  {
    name: 'insert then delete in one transaction',
    ops: [
      { op: 'insert', table: R, row: { name: 'tmp' } },
      { op: 'delete', table: R, where: [['name', '==', 'tmp']] },
      { op: 'select', table: R, where: [['name', '==', 'tmp']] },
    ],
  },
  {
    name: 'select with _version and bad column list',
    ops: [{ op: 'select', table: R, where: [], columns: ['name', 'name'] }],
  },
  {
    name: 'a self reference does not keep a row alive',
    ops: [
      { op: 'insert', table: 'Child', row: { name: 'self', sub: named('me') }, 'uuid-name': 'me' },
      { op: 'select', table: 'Child', where: [], columns: ['name'] },
    ],
  },
  {
    name: 'self-referencing row collected',
    ops: [{ op: 'select', table: 'Child', where: [], columns: ['name'] }],
  },
  {
    name: 'row that must keep a weak reference',
    ops: [
      { op: 'insert', table: 'Other', row: { k: 20, s: 'q' }, 'uuid-name': 'o' },
      { op: 'insert', table: 'WeakOne', row: { w: named('o') } },
    ],
  },
  {
    name: 'deleting its target',
    ops: [{ op: 'delete', table: 'Other', where: [['k', '==', 20]] }],
  },
  {
    name: 'updating a weak set with a missing row',
    ops: [
      {
        op: 'update',
        table: R,
        where: [['name', '==', 'w']],
        row: { weak: ['set', [['uuid', '12345678-1234-1234-1234-123456789abc']]] },
      },
      { op: 'select', table: R, where: [['name', '==', 'w']], columns: ['weak'] },
    ],
  },
  {
    name: 'weak set after update',
    ops: [{ op: 'select', table: R, where: [['name', '==', 'w']], columns: ['weak'] }],
  },
  {
    name: 'referencing a row deleted in the same transaction',
    ops: [
      { op: 'insert', table: 'Child', row: { name: 'gone' }, 'uuid-name': 'g' },
      { op: 'insert', table: R, row: { name: 'holder', kids: named('g') } },
      { op: 'delete', table: 'Child', where: [['name', '==', 'gone']] },
    ],
  },
  {
    name: 'mutating a referencing set',
    ops: [
      { op: 'insert', table: 'Child', row: { name: 'm1' }, 'uuid-name': 'm1' },
      {
        op: 'mutate',
        table: R,
        where: [['name', '==', 'p']],
        mutations: [['kids', 'insert', named('m1')]],
      },
      { op: 'select', table: 'Child', where: [], columns: ['name'] },
    ],
  },
  {
    name: 'mutating the reference away collects the row',
    ops: [
      {
        op: 'mutate',
        table: R,
        where: [['name', '==', 'p']],
        mutations: [['kids', 'delete', ['set', []]]],
      },
      { op: 'update', table: R, where: [['name', '==', 'p']], row: { kids: ['set', []] } },
      { op: 'select', table: 'Child', where: [], columns: ['name'] },
    ],
  },
  {
    name: 'children after mutation',
    ops: [{ op: 'select', table: 'Child', where: [], columns: ['name'] }],
  },
  { name: 'empty transaction', ops: [] },
];

/** Splits a byte stream of concatenated JSON values (as OVS sends them). */
export class JsonStreamSplitter {
  private buf = '';
  private depth = 0;
  private inStr = false;
  private esc = false;
  private start = 0;
  private pos = 0;

  push(chunk: string): Json[] {
    this.buf += chunk;
    const out: Json[] = [];
    for (; this.pos < this.buf.length; this.pos++) {
      const c = this.buf[this.pos];
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === '\\') this.esc = true;
        else if (c === '"') this.inStr = false;
      } else if (c === '"') this.inStr = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        if (--this.depth === 0) {
          out.push(JSON.parse(this.buf.slice(this.start, this.pos + 1)) as Json);
          this.start = this.pos + 1;
        }
      }
    }
    this.buf = this.buf.slice(this.start);
    this.pos -= this.start;
    this.start = 0;
    return out;
  }
}

/** A real ovsdb-server 3.1 serving one database, on a unix socket in its own temp dir. */
export class RealOvsdb {
  private constructor(
    readonly dir: string,
    private readonly proc: ChildProcess,
    private readonly sock: Socket,
  ) {}

  private nextId = 1;
  private pending = new Map<number, (v: Json) => void>();

  static async start(schema: Json): Promise<RealOvsdb> {
    const dir = mkdtempSync(join(tmpdir(), 'ts-ovsdb-'));
    writeFileSync(join(dir, 'schema.json'), JSON.stringify(schema));
    execFileSync('/usr/bin/ovsdb-tool', ['create', join(dir, 'db'), join(dir, 'schema.json')]);
    const sockPath = join(dir, 'sock');
    const proc = spawn(
      '/usr/sbin/ovsdb-server',
      [
        `--remote=punix:${sockPath}`,
        `--unixctl=${join(dir, 'ctl')}`,
        '--no-chdir',
        `--log-file=${join(dir, 'log')}`,
        '-vconsole:off',
        join(dir, 'db'),
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    let sock: Socket | undefined;
    while (!sock) {
      if (Date.now() > deadline) {
        proc.kill();
        throw new Error('real ovsdb-server did not start');
      }
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(sockPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const db = new RealOvsdb(dir, proc, sock);
    const splitter = new JsonStreamSplitter();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const msg of splitter.push(chunk)) {
        const m = msg as { id?: number; method?: string; result?: Json; error?: Json };
        if (m.method === 'echo') {
          sock?.write(JSON.stringify({ id: m.id ?? null, result: [], error: null }));
          continue;
        }
        const cb = typeof m.id === 'number' ? db.pending.get(m.id) : undefined;
        if (cb) {
          db.pending.delete(m.id as number);
          cb(m.error !== null && m.error !== undefined ? { error: m.error } : (m.result as Json));
        }
      }
    });
    return db;
  }

  /** Sends one JSON-RPC request and resolves to its result (or {error} for an error reply). */
  request(method: string, params: Json[], timeoutMs = 5000): Promise<Json> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
      this.sock.write(JSON.stringify({ id, method, params }));
    });
  }

  transact(ops: Json[]): Promise<Json> {
    return this.request('transact', ['T', ...ops]);
  }

  async stop(): Promise<void> {
    this.sock.destroy();
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * Renames UUIDs: the ones named by insert results (in order of appearance) become <0>, <1>,
 * ...; any other UUID (row versions, random ones) becomes <?>. Inside "rows" of a select,
 * rows are sorted so that hash order does not matter.
 */
export class UuidNormalizer {
  private readonly names = new Map<string, string>();

  learnInserts(results: Json): void {
    if (!Array.isArray(results)) return;
    for (const r of results) {
      if (r && typeof r === 'object' && !Array.isArray(r) && Array.isArray(r.uuid)) {
        const u = r.uuid[1] as string;
        if (!this.names.has(u)) this.names.set(u, `<${this.names.size}>`);
      }
    }
  }

  normalize(v: Json): Json {
    if (typeof v === 'string') {
      const s = v.replace(UUID_G, (u) => this.names.get(u) ?? '<?>');
      // Which of two clashing rows OVS names first depends on their random UUIDs.
      const m = /^(.*)First (row, with UUID .*?\.) {2}Second (row, with UUID .*)$/.exec(s);
      if (m) {
        const [a, b] = [m[2] as string, m[3] as string].sort();
        return `${m[1]}First|Second ${a}  ${b}`;
      }
      return s;
    }
    if (Array.isArray(v)) {
      const out = v.map((x) => this.normalize(x));
      // Sets are sorted by UUID, which normalisation scrambles.
      if (out.length === 2 && out[0] === 'set' && Array.isArray(out[1])) {
        out[1] = [...out[1]].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      }
      return out;
    }
    if (v && typeof v === 'object') {
      const out: { [k: string]: Json } = {};
      for (const k of Object.keys(v).sort()) {
        let val = this.normalize(v[k] as Json);
        if (k === 'rows' && Array.isArray(val)) {
          val = [...val].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
        }
        out[k] = val;
      }
      return out;
    }
    return v;
  }
}
