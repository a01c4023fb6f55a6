import { CNI_ERROR, CniError } from '../errors.js';
import { type JsonNode, type JsonObjectNode } from './json-node.js';

// A strict RFC 8259 JSON reader that keeps what `JSON.parse` loses, so a plugin's
// configuration reaches the plugin with the same values it was written with (CNI SPEC
// §"Section 1: Network configuration format": plugin-specific fields are passed
// through unchanged): numbers keep their source text (`12345678901234567890`, `1.0`,
// `-0`), keys keep their order, and a key such as `__proto__` is data, not a prototype.
// Duplicate keys: the last value wins, as in Go's encoding/json that libcni uses.

/** Deepest nesting accepted; Go's encoding/json stops at 10000, a config needs far less. */
export const MAX_JSON_DEPTH = 512;

const decoder = new TextDecoder('utf-8');

/**
 * Decodes a JSON document into a lossless {@link JsonNode} tree.
 *
 * @param input - the document, as UTF-8 bytes or text. A UTF-8 byte order mark is
 *   skipped; invalid UTF-8 becomes U+FFFD, as Go's decoder does.
 * @throws CniError code 6 (decode failure) naming the line and column of the first
 *   error, e.g. `invalid JSON at line 3, column 5: expected "," or "}"`.
 */
export function decodeJson(input: Uint8Array | string): JsonNode {
  const text = typeof input === 'string' ? input : decoder.decode(input);
  return new Reader(text.startsWith('\uFEFF') ? text.slice(1) : text).document();
}

/**
 * Decodes a JSON document that must be an object.
 * @throws CniError code 6 when the text is not JSON, code 7 when it is JSON but not an object.
 */
export function decodeJsonObject(input: Uint8Array | string): JsonObjectNode {
  const node = decodeJson(input);
  if (node.kind !== 'object') {
    throw new CniError(CNI_ERROR.INVALID_NETWORK_CONFIG, `configuration: must be an object (got ${node.kind})`);
  }
  return node;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
};

class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  document(): JsonNode {
    const node = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('unexpected content after the document');
    return node;
  }

  private value(depth: number): JsonNode {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    this.skipSpace();
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(depth);
      case '[': return this.array(depth);
      case '"': return { kind: 'string', value: this.string() };
      case 't': this.literal('true'); return { kind: 'boolean', value: true };
      case 'f': this.literal('false'); return { kind: 'boolean', value: false };
      case 'n': this.literal('null'); return { kind: 'null' };
      case undefined: return this.fail('unexpected end of input');
      default: {
        NUMBER.lastIndex = this.pos;
        const match = NUMBER.exec(this.text);
        if (match === null) return this.fail(`unexpected character ${JSON.stringify(c)}`);
        this.pos += match[0].length;
        return { kind: 'number', raw: match[0] };
      }
    }
  }

  private object(depth: number): JsonObjectNode {
    this.pos++; // '{'
    const entries = new Map<string, JsonNode>();
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', entries: [] };
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('expected ":" after a key');
      this.pos++;
      entries.set(key, this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return { kind: 'object', entries: [...entries] };
      if (c !== ',') { this.pos--; this.fail('expected "," or "}"'); }
    }
  }

  private array(depth: number): JsonNode {
    this.pos++; // '['
    const items: JsonNode[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === ']') return { kind: 'array', items };
      if (c !== ',') { this.pos--; this.fail('expected "," or "]"'); }
    }
  }

  private string(): string {
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (Number.isNaN(code)) this.fail('unterminated string');
      if (code === 0x22) break; // '"'
      if (code < 0x20) this.fail('control character in a string');
      if (code !== 0x5c) { this.pos++; continue; } // not '\'
      out += this.text.slice(start, this.pos);
      const esc = this.text[this.pos + 1];
      if (esc === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('invalid \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else {
        const replacement = esc === undefined ? undefined : ESCAPES[esc];
        if (replacement === undefined) this.fail('invalid escape in a string');
        out += replacement;
        this.pos += 2;
      }
      start = this.pos;
    }
    out += this.text.slice(start, this.pos);
    this.pos++; // closing quote
    return out;
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected character ${JSON.stringify(this.text[this.pos])}`);
    this.pos += word.length;
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return;
      this.pos++;
    }
  }

  private fail(problem: string): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text[i] === '\n') { line++; lineStart = i + 1; }
    }
    const column = this.pos - lineStart + 1;
    throw new CniError(CNI_ERROR.DECODE_FAILURE, `invalid JSON at line ${line}, column ${column}: ${problem}`);
  }
}
