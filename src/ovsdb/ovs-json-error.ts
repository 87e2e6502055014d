/**
 * What OVS's JSON parser (lib/json.c, json_from_string) says about text it rejects: the
 * message real tools print, e.g. `line 0, column 2, byte 2: invalid keyword 'xx'`. We parse
 * with JSON.parse; this reproduces only OVS's verdict and wording, so that our tools report
 * bad input exactly as the real ones do.
 *
 * The model: a byte-wise lexer (keywords, numbers, strings, punctuation) feeding a parser
 * that accepts one top-level object or array. Positions count bytes; an error found at the
 * character that ends a token is reported before that character is counted.
 */

const MAX_HEIGHT = 1000;
const INT_MAX = 2147483647;

type ParseState =
  | 'start'
  | 'end'
  | 'object-init'
  | 'object-name'
  | 'object-colon'
  | 'object-value'
  | 'object-next'
  | 'array-init'
  | 'array-value'
  | 'array-next';

type Token = '{' | '}' | '[' | ']' | ':' | ',' | 'string' | 'value';

class Stop extends Error {}

class Checker {
  line = 0;
  column = 0;
  byte = 0;
  error: string | null = null;
  private state: ParseState = 'start';
  private readonly stack: ('object' | 'array')[] = [];
  private done = false;

  fail(message: string): never {
    if (this.error === null) {
      this.error = `line ${this.line}, column ${this.column}, byte ${this.byte}: ${message}`;
    }
    throw new Stop();
  }

  count(c: number): void {
    this.byte++;
    if (c === 10) {
      this.column = 0;
      this.line++;
    } else {
      this.column++;
    }
  }

  private push(kind: 'object' | 'array'): void {
    if (this.stack.length >= MAX_HEIGHT) {
      this.fail(`input exceeds maximum nesting depth ${MAX_HEIGHT}`);
    }
    this.stack.push(kind);
    this.state = kind === 'object' ? 'object-init' : 'array-init';
  }

  private pop(): void {
    this.stack.pop();
    const top = this.stack[this.stack.length - 1];
    this.state = top === undefined ? 'end' : top === 'object' ? 'object-next' : 'array-next';
  }

  private value(t: Token, next: ParseState): void {
    if (t === '{') this.push('object');
    else if (t === '[') this.push('array');
    else if (t === 'string' || t === 'value') this.state = next;
    else this.fail('syntax error expecting value');
  }

  input(t: Token): void {
    switch (this.state) {
      case 'start':
        if (t === '{') this.push('object');
        else if (t === '[') this.push('array');
        else this.fail('syntax error at beginning of input');
        break;
      case 'end':
        this.fail('trailing garbage at end of input');
        break;
      case 'object-init':
      case 'object-name':
        if (this.state === 'object-init' && t === '}') this.pop();
        else if (t === 'string') this.state = 'object-colon';
        else this.fail('syntax error parsing object expecting string');
        break;
      case 'object-colon':
        if (t === ':') this.state = 'object-value';
        else this.fail("syntax error parsing object expecting ':'");
        break;
      case 'object-value':
        this.value(t, 'object-next');
        break;
      case 'object-next':
        if (t === ',') this.state = 'object-name';
        else if (t === '}') this.pop();
        else this.fail("syntax error expecting '}' or ','");
        break;
      case 'array-init':
      case 'array-value':
        if (this.state === 'array-init' && t === ']') this.pop();
        else this.value(t, 'array-next');
        break;
      case 'array-next':
        if (t === ',') this.state = 'array-value';
        else if (t === ']') this.pop();
        else this.fail("syntax error expecting ']' or ','");
        break;
    }
  }

  keyword(s: string): void {
    if (s !== 'false' && s !== 'true' && s !== 'null') this.fail(`invalid keyword '${s}'`);
    this.input('value');
  }

  number(s: string): void {
    let i = 0;
    const digit = (k: number) => k < s.length && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
    if (s[i] === '-') i++;
    if (s[i] === '0') {
      i++;
      if (digit(i)) this.fail('leading zeros not allowed');
    } else if (digit(i)) {
      while (digit(i)) i++;
    } else {
      this.fail("'-' must be followed by digit");
    }
    if (s[i] === '.') {
      i++;
      if (!digit(i)) this.fail('decimal point must be followed by digit');
      while (digit(i)) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (!digit(i)) this.fail('exponent must contain at least one digit');
      let exponent = 0;
      while (digit(i)) {
        if (exponent >= INT_MAX / 10) this.fail('exponent outside valid range');
        exponent = exponent * 10 + (s.charCodeAt(i) - 48);
        i++;
      }
    }
    if (i !== s.length) this.fail('syntax error in number');
    if (!Number.isFinite(Number(s))) this.fail('number outside valid range');
    this.input('value');
  }

  /** Validates the escapes of a string's raw bytes (between the quotes). */
  string(raw: Buffer): void {
    const hex4 = (at: number): number | string => {
      if (at + 4 > raw.length) return 'quoted string ends within \\u escape';
      const t = raw.subarray(at, at + 4).toString('latin1');
      if (!/^[0-9a-fA-F]{4}$/.test(t)) return 'malformed \\u escape';
      const v = Number.parseInt(t, 16);
      if (v === 0) return 'null bytes not supported in quoted strings';
      return v;
    };
    for (let i = 0; i < raw.length; ) {
      if (raw[i] !== 0x5c) {
        i++;
        continue;
      }
      const e = raw[i + 1] as number;
      i += 2;
      if ('"\\/bfnrt'.includes(String.fromCharCode(e))) continue;
      if (e !== 0x75) this.fail(`bad escape \\${String.fromCharCode(e)}`);
      const c0 = hex4(i);
      if (typeof c0 === 'string') this.fail(c0);
      i += 4;
      if (c0 < 0xd800 || c0 > 0xdbff) continue;
      if (i + 2 > raw.length || raw[i] !== 0x5c || raw[i + 1] !== 0x75) {
        this.fail('malformed escaped surrogate pair');
      }
      i += 2;
      const c1 = hex4(i);
      if (typeof c1 === 'string') this.fail(c1);
      if (c1 < 0xdc00 || c1 > 0xdfff) {
        this.fail('second half of escaped surrogate pair is not trailing surrogate');
      }
      i += 4;
    }
    this.input('string');
  }

  run(bytes: Buffer): void {
    type Lex = 'start' | 'keyword' | 'number' | 'string' | 'escape';
    let lex = 'start' as Lex;
    let tokenStart = 0;
    // The start of a keyword or number that the previous buffer ended inside.
    let carried: Buffer = Buffer.alloc(0);
    const token = (buf: Buffer, end: number): string => {
      const t = Buffer.concat([carried, buf.subarray(tokenStart, end)]).toString('latin1');
      carried = Buffer.alloc(0);
      return t;
    };
    const feed = (buf: Buffer) => {
      tokenStart = 0;
      for (let i = 0; !this.done && i < buf.length; ) {
        const c = buf[i] as number;
        let consumed = true;
        switch (lex) {
          case 'start':
            if (c === 32 || c === 9 || c === 10 || c === 13) {
              // whitespace
            } else if (c >= 97 && c <= 122) {
              lex = 'keyword';
              tokenStart = i;
            } else if ('[]{}:,'.includes(String.fromCharCode(c))) {
              this.input(String.fromCharCode(c) as Token);
            } else if (c === 45 || (c >= 48 && c <= 57)) {
              lex = 'number';
              tokenStart = i;
            } else if (c === 34) {
              lex = 'string';
              tokenStart = i + 1;
            } else if (c >= 0x20 && c < 0x7f) {
              this.fail(`invalid character '${String.fromCharCode(c)}'`);
            } else {
              this.fail(`invalid character U+${c.toString(16).padStart(4, '0')}`);
            }
            break;
          case 'keyword':
            if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) {
              lex = 'start';
              this.keyword(token(buf, i));
              consumed = false;
            }
            break;
          case 'number':
            if (!'.0123456789eE-+'.includes(String.fromCharCode(c))) {
              lex = 'start';
              this.number(token(buf, i));
              consumed = false;
            }
            break;
          case 'string':
            if (c === 0x5c) lex = 'escape';
            else if (c === 34) {
              lex = 'start';
              this.string(buf.subarray(tokenStart, i));
            } else if (c < 0x20) {
              this.fail(
                `U+${c.toString(16).toUpperCase().padStart(4, '0')} must be escaped in quoted string`,
              );
            }
            break;
          case 'escape':
            lex = 'string';
            break;
        }
        if (consumed) {
          this.count(c);
          i++;
        }
      }
    };
    feed(bytes);
    if (lex === 'keyword' || lex === 'number') carried = bytes.subarray(tokenStart);
    if (lex === 'string' || lex === 'escape') this.fail('unexpected end of input in quoted string');
    if (lex === 'keyword' || lex === 'number') feed(Buffer.from(' '));
    if (this.state === 'start') this.fail('empty input stream');
    if (this.state !== 'end') this.fail('unexpected end of input');
  }
}

/**
 * OVS's error message for `text` as a JSON document (an object or array, nothing after it
 * but white space), or null if OVS would accept it.
 */
export function ovsJsonError(text: string | Buffer): string | null {
  const c = new Checker();
  try {
    c.run(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return c.error;
}
