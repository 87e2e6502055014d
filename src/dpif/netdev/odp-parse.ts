/*
 * Reading OVS's datapath text forms: the cursor the key and action parsers share, and the
 * typed error they raise (with the offset where the text went wrong).
 */

export class OdpParseError extends Error {
  override readonly name = 'OdpParseError';
  readonly code = 'EINVAL';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A cursor over the text being parsed. */
export class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  eat(t: string): boolean {
    if (this.s.startsWith(t, this.pos)) {
      this.pos += t.length;
      return true;
    }
    return false;
  }
  expect(t: string): void {
    if (!this.eat(t))
      throw new OdpParseError(
        `expected "${t}" at "${this.s.slice(this.pos, this.pos + 20)}"`,
        this.pos,
      );
  }
  skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }
  /** An identifier ([A-Za-z0-9_]). */
  ident(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }
  /** Text up to (not including) the first of `stops` at nesting depth 0. */
  token(stops: string): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && stops.includes(c)) break;
      this.pos++;
    }
    return this.s.slice(start, this.pos);
  }
  fail(msg: string): never {
    throw new OdpParseError(msg, this.pos);
  }
  get done(): boolean {
    return this.pos >= this.s.length;
  }
}

/** Parses an integer as C's %i does (0x hex, leading-0 octal, decimal). */
export function parseInteger(s: string): number | null {
  s = s.trim();
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) v = Number.parseInt(s, 8);
  else if (/^[0-9]+$/.test(s)) v = Number.parseInt(s, 10);
  else return null;
  return Number.isSafeInteger(v) ? v : null;
}
