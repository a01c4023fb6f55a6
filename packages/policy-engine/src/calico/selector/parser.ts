/**
 * The parser of Calico's selector language: tokens to a {@link SelectorNode}.
 *
 * Grammar (precedence `!` over `&&` over `||`, as in Calico):
 *
 * ```text
 * selector  := <empty> | or
 * or        := and ( '||' and )*
 * and       := operation ( '&&' operation )*
 * operation := '!'* ( 'has(' key ')' | 'all()' | 'global()' | '(' or ')'
 *                   | key ( '==' | '!=' | 'contains' | 'starts with' | 'ends with' ) string
 *                   | key ( 'in' | 'not in' ) '{' ( string ( ',' string )* ','? )? '}' )
 * ```
 *
 * Like Calico, a run of leading `!` collapses by parity (`!!has(a)` is `has(a)`), a set
 * may end with a trailing comma, and an empty or all-blank selector means `all()`.
 */
import { SelectorSyntaxError } from '../../errors.js';
import { type SelectorNode, type SelectorValueOperator } from './ast.js';
import { SELECTOR_TOKEN_KIND as K, type SelectorToken, type SelectorTokenKind, tokenizeSelector } from './tokenizer.js';

const VALUE_OPERATORS: Partial<Record<SelectorTokenKind, SelectorValueOperator>> = {
  [K.EQ]: 'eq',
  [K.NE]: 'ne',
  [K.CONTAINS]: 'contains',
  [K.STARTS_WITH]: 'startsWith',
  [K.ENDS_WITH]: 'endsWith',
};

function describe(token: SelectorToken): string {
  switch (token.kind) {
    case K.EOF:
      return 'the end of the selector';
    case K.LABEL:
      return `label ${JSON.stringify(token.value)}`;
    case K.STRING:
      return `string ${JSON.stringify(token.value)}`;
    case K.HAS:
      return `has(${token.value})`;
    default:
      return `'${token.kind}'`;
  }
}

class Parser {
  private index = 0;

  constructor(
    private readonly input: string,
    private readonly tokens: readonly SelectorToken[],
  ) {}

  private peek(): SelectorToken {
    // The token list always ends with EOF and the parser never moves past it.
    return this.tokens[Math.min(this.index, this.tokens.length - 1)] as SelectorToken;
  }

  private fail(token: SelectorToken, detail: string): never {
    throw new SelectorSyntaxError(this.input, token.pos, detail);
  }

  private take(): SelectorToken {
    const token = this.peek();
    if (token.kind !== K.EOF) this.index++;
    return token;
  }

  parseRoot(): SelectorNode {
    if (this.peek().kind === K.EOF) return { kind: 'all' };
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind === K.RPAREN) this.fail(rest, "unexpected ')' with no matching '('");
    if (rest.kind !== K.EOF) this.fail(rest, `expected '&&', '||' or the end of the selector, found ${describe(rest)}`);
    return node;
  }

  private parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === K.OR) {
      this.take();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { kind: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseOperation()];
    while (this.peek().kind === K.AND) {
      this.take();
      operands.push(this.parseOperation());
    }
    return operands.length === 1 ? (operands[0] as SelectorNode) : { kind: 'and', operands };
  }

  private parseOperation(): SelectorNode {
    let negated = false;
    while (this.peek().kind === K.NOT) {
      this.take();
      negated = !negated;
    }
    const node = this.parsePrimary();
    return negated ? { kind: 'not', operand: node } : node;
  }

  private parsePrimary(): SelectorNode {
    const token = this.take();
    switch (token.kind) {
      case K.HAS:
        return { kind: 'has', key: token.value };
      case K.ALL:
        return { kind: 'all' };
      case K.GLOBAL:
        return { kind: 'global' };
      case K.LPAREN: {
        const inner = this.parseOr();
        if (this.peek().kind !== K.RPAREN) {
          this.fail(this.peek(), `expected ')' to close the '(' at ${token.pos}, found ${describe(this.peek())}`);
        }
        this.take();
        return inner;
      }
      case K.LABEL:
        return this.parseComparison(token.value);
      default:
        return this.fail(token, `expected an expression, found ${describe(token)}`);
    }
  }

  private parseComparison(key: string): SelectorNode {
    const op = this.take();
    const valueOp = VALUE_OPERATORS[op.kind];
    if (valueOp !== undefined) {
      const value = this.take();
      if (value.kind !== K.STRING) this.fail(value, 'expected a quoted string');
      return { kind: valueOp, key, value: value.value };
    }
    if (op.kind === K.IN || op.kind === K.NOT_IN) {
      const brace = this.take();
      if (brace.kind !== K.LBRACE) this.fail(brace, "expected '{' to start a set of quoted strings");
      const values: string[] = [];
      let afterValue = false;
      while (this.peek().kind === K.STRING) {
        values.push(this.take().value);
        afterValue = true;
        if (this.peek().kind !== K.COMMA) break;
        this.take();
        afterValue = false;
      }
      if (this.peek().kind !== K.RBRACE) {
        this.fail(this.peek(), afterValue ? "expected ',' or '}'" : "expected a quoted string or '}'");
      }
      this.take();
      // Calico keeps set values as a sorted set of unique strings.
      const set = [...new Set(values)].sort();
      return { kind: op.kind === K.IN ? 'in' : 'notIn', key, values: set };
    }
    return this.fail(op, `expected an operator after label ${JSON.stringify(key)}, found ${describe(op)}`);
  }
}

/**
 * Parses a Calico selector expression. The empty selector (or one of only spaces and
 * tabs) is `all()`, as in Calico.
 *
 * @throws {@link SelectorSyntaxError} naming the 0-based offset of the first problem,
 *   e.g. `selector "app == " at 7: expected a quoted string`.
 */
export function parseSelector(input: string): SelectorNode {
  return new Parser(input, tokenizeSelector(input)).parseRoot();
}
