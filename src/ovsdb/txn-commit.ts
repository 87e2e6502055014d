/**
 * The commit checks of a transaction, in OVS's order (ovsdb_txn_precommit): what changed,
 * strong reference counts and referential integrity, garbage collection of unreferenced
 * non-root rows, maxRows, weak reference cleanup, unique indexes; then the change set with
 * new row versions.
 */
import type { TableData } from './database.ts';
import { columnRefs } from './database.ts';
import { compareDatums, datumAddedRemoved, datumEquals, datumToString, findKey } from './datum.ts';
import { OvsdbError } from './error.ts';
import type { Txn, TxnRow } from './transaction.ts';
import type { Atom, Changes, Datum, Row, RowChange, TableSchema } from './types.ts';

/* ---------- commit checks ---------- */

function forEachTxnRow(x: Txn, cb: (tr: TxnRow) => void): void {
  // Rows added while iterating are visited too, each once.
  const seen = new Set<TxnRow>();
  let again = true;
  while (again) {
    again = false;
    for (const m of x.rows.values()) {
      for (const tr of [...m.values()]) {
        if (seen.has(tr)) continue;
        seen.add(tr);
        again = true;
        cb(tr);
      }
    }
  }
}

function determineChanges(x: Txn): void {
  for (const [t, m] of x.rows) {
    for (const tr of m.values()) {
      if (tr.old && tr.new) {
        const a = tr.old.fields;
        const b = tr.new.fields;
        let changed = false;
        for (const c of t.schema.columnList) {
          if (
            a[c.index] !== b[c.index] &&
            !datumEquals(c.type, a[c.index] as Datum, b[c.index] as Datum)
          ) {
            changed = true;
            break;
          }
        }
        if (!changed) m.delete(tr.uuid);
        tr.changed = changed;
      } else {
        tr.changed = true;
      }
    }
    if (m.size === 0) x.rows.delete(t);
  }
}

function updateRefCounts(x: Txn): void {
  const db = x.db;
  const adjust = (
    src: TxnRow,
    row: { uuid: string },
    col: number,
    refs: Iterable<[string, string]>,
    delta: number,
  ) => {
    for (const [rt, ru] of refs) {
      const target = db.tables.get(rt) as TableData;
      const tr = x.findOrMake(target, ru);
      if (!tr) {
        const name = (src.table.schema.columnList[col] as TableSchema['columnList'][number]).name;
        throw new OvsdbError(
          'referential integrity violation',
          `Table ${src.table.name} column ${name} row ${row.uuid} references nonexistent row ${ru} in table ${rt}.`,
        );
      }
      tr.nRefs += delta;
    }
  };
  forEachTxnRow(x, (tr) => {
    const t = tr.table;
    if (!t.strongRefColumns.length || !tr.changed) return;
    for (const c of t.strongRefColumns) {
      const od = tr.old?.fields[c] as Datum | undefined;
      const nd = tr.new?.fields[c] as Datum | undefined;
      if (od && !nd)
        adjust(tr, tr.old as Row, c, columnRefs(t.schema, c, od, 'strong', tr.uuid), -1);
      else if (!od && nd)
        adjust(tr, tr.new as Row, c, columnRefs(t.schema, c, nd, 'strong', tr.uuid), 1);
      else if (od && nd && od !== nd) {
        const type = (t.schema.columnList[c] as TableSchema['columnList'][number]).type;
        const { added, removed } = datumAddedRemoved(type, od, nd);
        adjust(tr, tr.old as Row, c, columnRefs(t.schema, c, removed, 'strong', tr.uuid), -1);
        adjust(tr, tr.new as Row, c, columnRefs(t.schema, c, added, 'strong', tr.uuid), 1);
      }
    }
  });
  forEachTxnRow(x, (tr) => {
    if (!tr.new && tr.nRefs > 0) {
      throw new OvsdbError(
        'referential integrity violation',
        `cannot delete ${tr.table.name} row ${tr.uuid} because of ${tr.nRefs} remaining reference(s)`,
      );
    }
  });
}

function deleteGarbageRow(x: Txn, tr: TxnRow): void {
  if (tr.table.schema.isRoot || !tr.new) return;
  const row = tr.new;
  tr.new = null;
  tr.changed = true;
  if (!tr.old) x.rows.get(tr.table)?.delete(tr.uuid);
  const t = tr.table;
  for (const c of t.strongRefColumns) {
    for (const [rt, ru] of columnRefs(t.schema, c, row.fields[c] as Datum, 'strong', tr.uuid)) {
      const target = x.findOrMake(x.db.tables.get(rt) as TableData, ru);
      if (!target?.new) continue;
      if (--target.nRefs === 0) deleteGarbageRow(x, target);
    }
  }
}

function collectGarbage(x: Txn): void {
  forEachTxnRow(x, (tr) => {
    if (tr.new && tr.nRefs === 0) deleteGarbageRow(x, tr);
  });
}

function checkMaxRows(x: Txn): void {
  for (const [t, m] of x.rows) {
    const max = t.schema.maxRows;
    if (max === Number.POSITIVE_INFINITY) continue;
    let n = t.rows.size;
    for (const tr of m.values()) {
      if (!tr.old && tr.new) n++;
      else if (tr.old && !tr.new) n--;
    }
    if (n > max) {
      throw new OvsdbError(
        'constraint violation',
        `transaction causes "${t.name}" table to contain ${n} rows, greater than the schema-defined limit of ${max} row(s)`,
      );
    }
  }
}

function rowExistsAfter(x: Txn, table: string, uuid: string): boolean {
  const t = x.db.tables.get(table);
  if (!t) return false;
  return x.current(t, uuid) !== null;
}

function assessWeakRefs(x: Txn): void {
  // Rows deleted by this transaction, and the rows that referred to them weakly.
  const deleted = new Set<string>();
  for (const [t, m] of x.rows) {
    for (const tr of m.values()) {
      if (tr.old && !tr.new) {
        deleted.add(`${t.name}\u0000${tr.uuid}`);
        const srcs = t.weakSources.get(tr.uuid);
        if (srcs) for (const s of srcs.values()) x.findOrMake(s.table, s.uuid);
      }
    }
  }
  forEachTxnRow(x, (tr) => {
    const t = tr.table;
    if (!tr.new || !t.weakRefColumns.length) return;
    for (const c of t.weakRefColumns) {
      const col = t.schema.columnList[c] as TableSchema['columnList'][number];
      const type = col.type;
      const d = tr.new.fields[c] as Datum;
      const old = tr.old?.fields[c] as Datum | undefined;
      const kRef = type.key.refTable && type.key.refType === 'weak' ? type.key.refTable : undefined;
      const vRef =
        type.value?.refTable && type.value.refType === 'weak' ? type.value.refTable : undefined;
      let zero = false;
      const gone = (refTable: string, atom: Atom, isNew: boolean): boolean => {
        if (atom === tr.uuid && refTable === t.name) return false;
        if (deleted.has(`${refTable}\u0000${atom as string}`)) return true;
        if (isNew && !rowExistsAfter(x, refTable, atom as string)) {
          if (atom === '00000000-0000-0000-0000-000000000000') zero = true;
          return true;
        }
        return false;
      };
      const keys: Atom[] = [];
      const values: Atom[] | null = d.values ? [] : null;
      for (let i = 0; i < d.keys.length; i++) {
        const k = d.keys[i] as Atom;
        const v = d.values ? (d.values[i] as Atom) : undefined;
        // Only references this transaction added are checked for existence.
        let isNew = !old;
        if (old) {
          const j = findKey(type.key.type, old, k);
          isNew = j < 0 || (old.values !== null && old.values[j] !== v);
        }
        if ((kRef && gone(kRef, k, isNew)) || (vRef && gone(vRef, v as Atom, isNew))) continue;
        keys.push(k);
        if (values) values.push(v as Atom);
      }
      if (keys.length === d.keys.length) continue;
      tr.new.fields[c] = { keys, values };
      tr.changed = true;
      if (keys.length < type.min) {
        if (zero && !tr.old) {
          throw new OvsdbError(
            'constraint violation',
            `Weak reference column "${col.name}" in "${t.name}" row ${tr.uuid} (inserted within this transaction) contained all-zeros UUID (probably as the default value for this column) but deleting this value caused a constraint volation because this column is not allowed to be empty.`,
          );
        }
        throw new OvsdbError(
          'constraint violation',
          `Deletion of ${d.keys.length - keys.length} weak reference(s) to deleted (or never-existing) rows from column "${col.name}" in "${t.name}" row ${tr.uuid} ${tr.old ? '' : '(inserted within this transaction) '}caused this column to become empty, but constraints on this column disallow an empty column.`,
        );
      }
    }
  });
}

function englishList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

function indexValues(t: TableData, i: number, fields: readonly Datum[]): string {
  const cols = t.indexColumns[i] as number[];
  return englishList(
    cols.map((c) =>
      datumToString(
        (t.schema.columnList[c] as TableSchema['columnList'][number]).type,
        fields[c] as Datum,
      ),
    ),
  );
}

function describeIndexRow(x: Txn, t: TableData, i: number, uuid: string, title: string): string {
  const tr = x.find(t, uuid);
  let s = `${title} row, with UUID ${uuid}, `;
  if (!tr?.changed) {
    s += 'existed in the database before this transaction and was not modified by the transaction.';
  } else if (!tr.old) {
    s += 'was inserted by this transaction.';
  } else if (
    t.indexKey(i, tr.old.fields) === t.indexKey(i, (tr.new as NonNullable<TxnRow['new']>).fields)
  ) {
    s +=
      "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index.";
  } else {
    s += `had the following index values before the transaction: ${indexValues(t, i, tr.old.fields)}.`;
  }
  return s;
}

function duplicateIndexError(
  x: Txn,
  t: TableData,
  i: number,
  a: string,
  b: string,
  fields: readonly Datum[],
): OvsdbError {
  // OVS names the greater row (comparing all columns) first.
  const [first, second] = compareRows(x, t, a, b) > 0 ? [a, b] : [b, a];
  const names = (t.schema.indexes[i] as readonly string[]).map((n) => `"${n}"`);
  const cols = `column${names.length > 1 ? 's' : ''} ${englishList(names)}`;
  return new OvsdbError(
    'constraint violation',
    `Transaction causes multiple rows in "${t.name}" table to have identical values (${indexValues(t, i, fields)}) for index on ${cols}.  ${describeIndexRow(x, t, i, first, 'First')}  ${describeIndexRow(x, t, i, second, 'Second')}`,
  );
}

function compareRows(x: Txn, t: TableData, a: string, b: string): number {
  const ra = x.current(t, a);
  const rb = x.current(t, b);
  if (ra && rb) {
    for (const c of t.schema.columnList) {
      const r = compareDatums(c.type, ra.fields[c.index] as Datum, rb.fields[c.index] as Datum);
      if (r) return r;
    }
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkIndexes(x: Txn): void {
  for (const [t, m] of x.rows) {
    const n = t.indexes.length;
    if (!n) continue;
    const txnIdx: Map<string, string>[] = t.indexes.map(() => new Map());
    for (const tr of m.values()) {
      if (!tr.new) continue;
      for (let i = 0; i < n; i++) {
        const k = t.indexKey(i, tr.new.fields);
        const mine = txnIdx[i] as Map<string, string>;
        const other = mine.get(k);
        if (other !== undefined) throw duplicateIndexError(x, t, i, other, tr.uuid, tr.new.fields);
        const committed = (t.indexes[i] as Map<string, string>).get(k);
        if (committed !== undefined && committed !== tr.uuid && !m.has(committed)) {
          throw duplicateIndexError(x, t, i, committed, tr.uuid, tr.new.fields);
        }
        mine.set(k, tr.uuid);
      }
    }
  }
}

/**
 * Whether any table of a database has strong or weak reference columns. A database computes
 * it when it is made, so that its first commit takes no path the others do not.
 */
const refKinds = new WeakMap<object, { strong: boolean; weak: boolean }>();
export function referenceKinds(tables: ReadonlyMap<string, TableData>): {
  strong: boolean;
  weak: boolean;
} {
  let k = refKinds.get(tables);
  if (!k) {
    k = { strong: false, weak: false };
    for (const t of tables.values()) {
      if (t.strongRefColumns.length) k.strong = true;
      if (t.weakRefColumns.length) k.weak = true;
    }
    refKinds.set(tables, k);
  }
  return k;
}

/** Runs the commit checks and builds the change set; throws OvsdbError on a violation. */
export function precommit(x: Txn): Changes {
  determineChanges(x);
  const changes = new Map<string, Map<string, RowChange>>();
  if (x.rows.size === 0) return changes;
  // Each check walks every touched row; skip those that cannot apply to this database or
  // to these rows (the common case: no references at all, only root tables touched).
  const refs = referenceKinds(x.db.tables);
  // Without strong references anywhere every reference count is zero: nothing to adjust.
  if (refs.strong) updateRefCounts(x);
  // Only rows of non-root tables are ever garbage.
  for (const t of x.rows.keys()) {
    if (!t.schema.isRoot) {
      collectGarbage(x);
      break;
    }
  }
  checkMaxRows(x);
  // Without weak references anywhere there is nothing to clean up.
  if (refs.weak) assessWeakRefs(x);
  checkIndexes(x);
  for (const [t, m] of x.rows) {
    let out: Map<string, RowChange> | undefined;
    for (const tr of m.values()) {
      if (!tr.changed || (!tr.old && !tr.new)) continue;
      let nu: Row | null = null;
      if (tr.new) {
        const version = tr.old ? x.db.newUuid() : tr.new.version;
        nu = Object.freeze({ uuid: tr.uuid, version, fields: Object.freeze(tr.new.fields) });
      }
      if (!out) {
        out = new Map();
        changes.set(t.name, out);
      }
      out.set(tr.uuid, { old: tr.old, new: nu });
    }
  }
  return changes;
}
