/**
 * Cells for lib/table-format.ts holding OVSDB values: the JSON goes out as is with --data=json
 * and through the column type in the "string" or "bare" syntax otherwise, falling back to the
 * JSON text when it does not parse as that type (what OVS's table.c does).
 */
import type { Json } from '../../lib/json.ts';
import type { Cell, CellRenderer } from '../../lib/table-format.ts';
import { datumFromJson, datumToBare, datumToJson, datumToString } from '../datum.ts';
import type { Datum, OvsdbType } from '../types.ts';

const renderers = new WeakMap<OvsdbType, CellRenderer>();

/** The renderer for values of `type` (cached per type object). */
export function datumRenderer(type: OvsdbType): CellRenderer {
  let r = renderers.get(type);
  if (!r) {
    r = (json, format) => {
      let d: Datum;
      try {
        d = datumFromJson(type, json);
      } catch {
        return null;
      }
      return format === 'string' ? datumToString(type, d) : datumToBare(type, d);
    };
    renderers.set(type, r);
  }
  return r;
}

/** A cell holding a value of `type` in its JSON form. */
export function jsonCell(type: OvsdbType, json: Json): Cell {
  return { json, render: datumRenderer(type) };
}

/** A cell holding a Datum. */
export function datumCell(type: OvsdbType, d: Datum): Cell {
  return { json: datumToJson(type, d), render: datumRenderer(type) };
}
