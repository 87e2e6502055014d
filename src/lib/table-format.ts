/**
 * Tabular output in the formats of OVS's lib/table.c, shared by ovsdb-client, ovs-vsctl and
 * any CLI that prints rows: `table`, `list`, `csv`, `html` and `json`, with cells rendered as
 * `string`, `bare` or `json` data (the `--format`, `--data`, `--no-headings`, `--pretty`,
 * `--bare` and `--max-column-width` options).
 *
 * This module knows nothing about OVSDB types: a cell is either plain text or a JSON value
 * with an optional renderer that turns it into the "string" or "bare" syntax (the OVSDB layer
 * supplies one from its column type). Widths and truncation count UTF-8 bytes, as OVS's
 * printf-based padding does, so that output is byte-identical with the C tools.
 */
import type { Json } from './json.ts';

export type TableFormat = 'table' | 'list' | 'html' | 'csv' | 'json';
export type CellFormat = 'string' | 'bare' | 'json';

/** Renders a JSON cell in the "string" or "bare" syntax; null when the JSON does not parse. */
export type CellRenderer = (json: Json, format: 'string' | 'bare') => string | null;

/** A cell: literal text, or a JSON value converted according to the style's cell format. */
export type Cell = string | { readonly json: Json; readonly render?: CellRenderer } | null;

export interface TableStyle {
  format: TableFormat;
  cellFormat: CellFormat;
  headings: boolean;
  /** Serialize JSON pretty-printed (OVS's JSSF_PRETTY); object members are always sorted. */
  pretty: boolean;
  /** 0 means no limit (table format only). */
  maxColumnWidth: number;
}

/** lib/table.h's TABLE_STYLE_DEFAULT. Note ovsdb-client switches the format to `table`. */
export function defaultTableStyle(): TableStyle {
  return { format: 'list', cellFormat: 'string', headings: true, pretty: false, maxColumnWidth: 0 };
}

export interface Table {
  headings: string[];
  rows: Cell[][];
  caption?: string;
  /** Print the wall-clock time (UTC, milliseconds) before the table. */
  timestamp?: boolean;
}

/**
 * OVS separates consecutive tables printed by one process with a blank line (except in HTML
 * and JSON). Keep one of these per output stream and pass it to every formatTable() call.
 */
export interface TableOutputState {
  first: boolean;
  /** Injectable wall clock (ms since the epoch) for timestamps. */
  now?: () => number;
}

export function newTableOutputState(): TableOutputState {
  return { first: true };
}

/** Parses a `--format` argument; throws Error with OVS's message when unknown. */
export function parseTableFormat(s: string): TableFormat {
  if (s === 'table' || s === 'list' || s === 'html' || s === 'csv' || s === 'json') return s;
  throw new Error(`unknown output format "${s}"`);
}

/** Parses a `--data` argument; throws Error with OVS's message when unknown. */
export function parseCellFormat(s: string): CellFormat {
  if (s === 'string' || s === 'bare' || s === 'json') return s;
  throw new Error(`unknown data format "${s}"`);
}

/**
 * Applies one of the table options shared by OVS's tools to `style`. Returns true if `name`
 * (a long option name without dashes, or a short letter) was one of them.
 */
export function applyTableOption(style: TableStyle, name: string, value?: string): boolean {
  switch (name) {
    case 'f':
    case 'format':
      style.format = parseTableFormat(value ?? '');
      return true;
    case 'd':
    case 'data':
      style.cellFormat = parseCellFormat(value ?? '');
      return true;
    case 'no-headings':
      style.headings = false;
      return true;
    case 'pretty':
      style.pretty = true;
      return true;
    case 'bare':
      style.format = 'list';
      style.cellFormat = 'bare';
      style.headings = false;
      return true;
    case 'max-column-width':
      style.maxColumnWidth = Number.parseInt(value ?? '0', 10) || 0;
      return true;
    default:
      return false;
  }
}

/** Long options taking an argument, for CLI option parsers. */
export const TABLE_OPTIONS_WITH_ARG: readonly string[] = ['format', 'data', 'max-column-width'];
/** Long options without an argument. */
export const TABLE_OPTIONS_NO_ARG: readonly string[] = ['no-headings', 'pretty', 'bare'];

/** The help text OVS's tools print for these options. */
export function tableUsage(): string {
  return (
    '\nOutput formatting options:\n' +
    '  -f, --format=FORMAT         set output formatting to FORMAT\n' +
    '                              ("table", "html", "csv", or "json")\n' +
    '  -d, --data=FORMAT           set table cell output formatting to\n' +
    '                              FORMAT ("string", "bare", or "json")\n' +
    '  --no-headings               omit table heading row\n' +
    '  --pretty                    pretty-print JSON in output\n' +
    '  --bare                      equivalent to "--format=list --data=bare --no-headings"\n'
  );
}

/** Formats `table` in `style`, returning the text to write (ending in a newline). */
export function formatTable(table: Table, style: TableStyle, state: TableOutputState): string {
  switch (style.format) {
    case 'table':
      return formatAsTable(table, style, state);
    case 'list':
      return formatAsList(table, style, state);
    case 'html':
      return formatAsHtml(table, style, state);
    case 'csv':
      return formatAsCsv(table, style, state);
    case 'json':
      return formatAsJson(table, style, state);
  }
}

/** The text of one cell under `style` (what table, list, csv and html print). */
export function cellText(cell: Cell, style: Pick<TableStyle, 'cellFormat'>): string {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell;
  if (style.cellFormat !== 'json' && cell.render) {
    const s = cell.render(cell.json, style.cellFormat);
    if (s !== null) return s;
  }
  return jsonToString(cell.json, { sort: true });
}

function separator(state: TableOutputState): string {
  if (state.first) {
    state.first = false;
    return '';
  }
  return '\n';
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "%Y-%m-%d %H:%M:%S.###" in UTC, the format of OVS's table timestamps. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const msec = String(d.getUTCMilliseconds()).padStart(3, '0');
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${msec}`
  );
}

function header(table: Table, state: TableOutputState): string {
  let s = '';
  if (table.timestamp) s += `${formatTimestamp((state.now ?? Date.now)())}\n`;
  if (table.caption !== undefined) s += `${table.caption}\n`;
  return s;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

function byteLength(s: string): number {
  return ASCII_ONLY.test(s) ? s.length : Buffer.byteLength(s);
}

/** printf's "%-W.Ws": pad or truncate to exactly `w` bytes. */
function padTruncate(s: string, w: number): string {
  if (ASCII_ONLY.test(s)) {
    return s.length >= w ? s.slice(0, w) : s + ' '.repeat(w - s.length);
  }
  const b = Buffer.from(s);
  if (b.length >= w) return decodeBytes(b.subarray(0, w));
  return s + ' '.repeat(w - b.length);
}

// Truncation can split a multi-byte character, as C's printf does. A JS string cannot hold
// the broken sequence the C tool writes, so it decodes to U+FFFD. Only --max-column-width can
// make this happen: otherwise widths come from the data and nothing is truncated.
function decodeBytes(b: Buffer): string {
  return b.toString('utf8');
}

function finishLine(line: string): string {
  return `${line.replace(/ +$/, '')}\n`;
}

function formatAsTable(table: Table, style: TableStyle, state: TableOutputState): string {
  let out = separator(state) + header(table, state);
  const n = table.headings.length;
  const texts = table.rows.map((row) => {
    const r: string[] = [];
    for (let x = 0; x < n; x++) r.push(cellText(row[x] ?? null, style));
    return r;
  });
  const widths: number[] = [];
  for (let x = 0; x < n; x++) {
    let w = 0;
    for (const r of texts) w = Math.max(w, byteLength(r[x]));
    if (style.maxColumnWidth > 0 && w > style.maxColumnWidth) w = style.maxColumnWidth;
    if (style.headings) w = Math.max(w, byteLength(table.headings[x]));
    widths.push(w);
  }
  if (style.headings) {
    // The heading row uses "%-*s": padded but never truncated.
    out += finishLine(
      table.headings
        .map((h, x) => (byteLength(h) >= widths[x] ? h : h + ' '.repeat(widths[x] - byteLength(h))))
        .join(' '),
    );
    out += finishLine(widths.map((w) => '-'.repeat(w)).join(' '));
  }
  for (const r of texts) out += finishLine(r.map((t, x) => padTruncate(t, widths[x])).join(' '));
  return out;
}

function formatAsList(table: Table, style: TableStyle, state: TableOutputState): string {
  let out = separator(state) + header(table, state);
  table.rows.forEach((row, y) => {
    if (y > 0) out += '\n';
    table.headings.forEach((h, x) => {
      const text = cellText(row[x] ?? null, style);
      if (style.headings) out += `${h}${' '.repeat(Math.max(0, 20 - byteLength(h)))}: `;
      out += `${text}\n`;
    });
  });
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  );
}

const UUID_PREFIX = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

/** An HTML cell in which every UUID becomes a link to the row that has it. */
function htmlCell(element: string, content: string): string {
  let s = `    <${element}>`;
  let p = 0;
  while (p < content.length) {
    const m = content.charCodeAt(p) < 128 ? UUID_PREFIX.exec(content.slice(p, p + 36)) : null;
    if (m) {
      s += `<a href="#${m[0]}">${m[0].slice(0, 8)}</a>`;
      p += 36;
    } else {
      s += escapeHtml(content[p]);
      p++;
    }
  }
  return `${s}</${element}>\n`;
}

function formatAsHtml(table: Table, style: TableStyle, state: TableOutputState): string {
  let out = '';
  if (table.timestamp) out += `${formatTimestamp((state.now ?? Date.now)())}\n`;
  out += '<table border=1>\n';
  if (table.caption !== undefined) out += htmlCell('caption', table.caption);
  if (style.headings) {
    out += '  <tr>\n';
    for (const h of table.headings) out += htmlCell('th', h);
    out += '  </tr>\n';
  }
  for (const row of table.rows) {
    out += '  <tr>\n';
    table.headings.forEach((h, x) => {
      const content = cellText(row[x] ?? null, style);
      if (h === '_uuid') {
        out += `    <td><a name="${escapeHtml(content)}">${escapeHtml(content.slice(0, 8))}</a></td>\n`;
      } else {
        out += htmlCell('td', content);
      }
    });
    out += '  </tr>\n';
  }
  return `${out}</table>\n`;
}

function csvCell(s: string): string {
  return /[\n",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatAsCsv(table: Table, style: TableStyle, state: TableOutputState): string {
  let out = separator(state) + header(table, state);
  if (style.headings) out += `${table.headings.map(csvCell).join(',')}\n`;
  for (const row of table.rows) {
    out += `${table.headings.map((_, x) => csvCell(cellText(row[x] ?? null, style))).join(',')}\n`;
  }
  return out;
}

function formatAsJson(table: Table, style: TableStyle, state: TableOutputState): string {
  const obj: { [k: string]: Json } = {};
  if (table.caption !== undefined) obj.caption = table.caption;
  if (table.timestamp) obj.time = formatTimestamp((state.now ?? Date.now)());
  obj.headings = table.headings;
  obj.data = table.rows.map((row) =>
    table.headings.map((_, x): Json => {
      const c = row[x] ?? null;
      if (c === null) return null;
      return typeof c === 'string' ? c : c.json;
    }),
  );
  return `${jsonToString(obj, { sort: true, pretty: style.pretty })}\n`;
}

/* ---- JSON text exactly as OVS's lib/json.c writes it ---- */

export interface JsonStringOptions {
  /** Sort object members bytewise (OVS's JSSF_SORT). */
  sort?: boolean;
  /** Newlines and two-space indentation per level (OVS's JSSF_PRETTY). */
  pretty?: boolean;
}

/**
 * Serializes like OVS: no spaces in compact form, control characters as \uXXXX (except
 * \b \t \n \f \r), '/' and non-ASCII left as they are, integers as integers and other numbers
 * in C's "%.15g". Pretty form puts every array element and object member on its own line.
 */
export function jsonToString(json: Json, opts: JsonStringOptions = {}): string {
  const parts: string[] = [];
  serialize(json, opts.sort ?? false, opts.pretty ?? false, 0, parts);
  return parts.join('');
}

function indent(pretty: boolean, depth: number, parts: string[]): void {
  if (pretty) parts.push(`\n${' '.repeat(2 * depth)}`);
}

function serialize(
  json: Json,
  sort: boolean,
  pretty: boolean,
  depth: number,
  parts: string[],
): void {
  if (json === null) parts.push('null');
  else if (json === true) parts.push('true');
  else if (json === false) parts.push('false');
  else if (typeof json === 'number') parts.push(formatJsonNumber(json));
  else if (typeof json === 'string') parts.push(quoteJsonString(json));
  else if (Array.isArray(json)) {
    parts.push('[');
    if (json.length > 0) {
      indent(pretty, depth + 1, parts);
      json.forEach((e, i) => {
        if (i) {
          parts.push(',');
          indent(pretty, depth + 1, parts);
        }
        serialize(e, sort, pretty, depth + 1, parts);
      });
    }
    parts.push(']');
  } else {
    parts.push('{');
    indent(pretty, depth + 1, parts);
    let keys = Object.keys(json);
    if (sort) keys = keys.sort(compareBytewise);
    keys.forEach((k, i) => {
      if (i) {
        parts.push(',');
        indent(pretty, depth + 1, parts);
      }
      parts.push(quoteJsonString(k), pretty ? ': ' : ':');
      serialize(json[k], sort, pretty, depth + 1, parts);
    });
    parts.push('}');
  }
}

/** Bytewise UTF-8 order (what C's strcmp gives), not UTF-16 code-unit order. */
export function compareBytewise(a: string, b: string): number {
  if (ASCII_ONLY.test(a) && ASCII_ONLY.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const NEEDS_ESCAPE = /["\\\x00-\x1f]/;
const SHORT_ESCAPES: { [c: string]: string } = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

export function quoteJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(/["\\\x00-\x1f]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** An integer-valued number as "%lld", anything else as C's "%.15g". */
export function formatJsonNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) {
    return Object.is(n, -0) ? '0' : String(n);
  }
  return formatG(n, 15);
}

/**
 * JavaScript's toExponential/toFixed round an exact tie away from zero; C's printf rounds it
 * to even. A tie at p significant digits is only possible when the double's exact decimal
 * expansion has exactly p+1 significant digits ending in 5 (e.g. 5647453515801765): then
 * return the value truncated to p digits when the p-th digit is even, so the formatting
 * below prints what printf("%.<p>g") prints.
 */
function roundTiesToEven(x: number, p: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) m |= 1n << 52n;
  const e2 = (biased === 0 ? 1 : biased) - 1075;
  const n = e2 >= 0 ? m << BigInt(e2) : m * 5n ** BigInt(-e2);
  const digits = n.toString();
  if (digits.length < p + 1 || digits[p] !== '5' || !/^0*$/.test(digits.slice(p + 1))) return x;
  if (Number(digits[p - 1]) % 2 === 1) return x; // away from zero is also "to even" here
  const exp10 = digits.length - 1 + Math.min(e2, 0);
  const truncated = Number(`${digits[0]}.${digits.slice(1, p)}e${exp10}`);
  return x < 0 ? -truncated : truncated;
}

/** C's printf("%.<precision>g"). */
export function formatG(n: number, precision: number): string {
  if (Number.isNaN(n)) return n > 0 ? 'nan' : '-nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const p = precision === 0 ? 1 : precision;
  n = roundTiesToEven(n, p);
  const exp = n.toExponential(p - 1);
  const [mant, e] = exp.split('e');
  const x = Number.parseInt(e, 10);
  if (x < -4 || x >= p) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const ax = Math.abs(x);
    return `${m}e${x < 0 ? '-' : '+'}${ax < 10 ? `0${ax}` : ax}`;
  }
  const fixed = n.toFixed(Math.max(0, p - 1 - x));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}
