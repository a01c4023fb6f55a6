// Where a JSON text goes wrong. JSON.parse on Node 20 names the position of some errors
// only ("Unexpected token ']', "[1,]" is not valid JSON"), so after it fails this scanner
// walks the text by RFC 8259's grammar to the first offending character. Only run on a
// text JSON.parse refused.

/** The first syntax error of a JSON text: its offset (UTF-16 units) and what was expected. */
export interface JsonSyntaxError {
  readonly offset: number;
  readonly reason: string;
}

class Scanner {
  i = 0;
  constructor(readonly text: string) {}

  fail(reason: string, at: number = this.i): never {
    throw Object.assign(new Error(reason), { offset: at });
  }

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i]!)) this.i++;
  }

  found(): string {
    return this.i >= this.text.length ? 'the end of the body' : JSON.stringify(this.text[this.i]);
  }

  value(): void {
    this.ws();
    const c = this.text[this.i];
    if (c === '{') this.object();
    else if (c === '[') this.array();
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (!this.word('true') && !this.word('false') && !this.word('null')) this.fail(`expected a value, found ${this.found()}`);
    this.ws();
  }

  word(w: string): boolean {
    if (!this.text.startsWith(w, this.i)) return false;
    this.i += w.length;
    return true;
  }

  object(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail(`expected a property name in double quotes, found ${this.found()}`);
      this.string();
      this.ws();
      if (this.text[this.i] !== ':') this.fail(`expected ':' after the property name, found ${this.found()}`);
      this.i++;
      this.value();
      const c = this.text[this.i];
      if (c === '}') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail(`expected ',' or '}' in an object, found ${this.found()}`);
      this.i++;
    }
  }

  array(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      const c = this.text[this.i];
      if (c === ']') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail(`expected ',' or ']' in a list, found ${this.found()}`);
      this.i++;
    }
  }

  string(): void {
    const start = this.i;
    this.i++;
    while (this.i < this.text.length) {
      const c = this.text.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail('a control character inside a string (escape it)');
      if (c === 0x5c) {
        const e = this.text[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/u.test(this.text.slice(this.i + 2, this.i + 6))) this.fail('expected four hex digits after \\u');
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`invalid escape in a string`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
    this.fail('a string that does not end (no closing ")', start);
  }

  number(): void {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/u.exec(this.text.slice(this.i, this.i + 400));
    if (match === null) this.fail('invalid number');
    this.i += match[0].length;
  }
}

/**
 * The first syntax error of `text`, or `undefined` when the scanner finds none (the
 * text is JSON, or nests too deep to scan).
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.value();
    if (scanner.i < text.length) scanner.fail(`unexpected ${scanner.found()} after the JSON value`);
    return undefined;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    return { offset: (error as { offset: number }).offset, reason: (error as Error).message };
  }
}
