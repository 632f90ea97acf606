/**
 * hawkBit's collection parameters: `offset`/`limit` paging, `sort=field:DIR,...` and a subset of
 * its RSQL/FIQL filter `q` (==, !=, =lt=, =le=, =gt=, =ge=, =in=, =out=, `*` wildcards in ==,
 * `;`/`and`, `,`/`or`, parentheses). Field names are case-insensitive, as hawkBit resolves them.
 */

export type FieldValue = string | number | boolean | undefined;
export type FieldMap<T> = Record<string, (item: T) => FieldValue>;

export class QueryError extends Error {
  constructor(
    readonly errorCode:
      | 'hawkbit.server.error.rest.param.rsqlParamSyntax'
      | 'hawkbit.server.error.rest.param.rsqlInvalidField'
      | 'hawkbit.server.error.rest.param.sortParamSyntax'
      | 'hawkbit.server.error.rest.param.invalidField'
      | 'hawkbit.server.error.rest.param.invalidDirection',
    message: string,
  ) {
    super(message);
  }
}

export interface Paging {
  offset: number;
  limit: number;
}

/** hawkBit never fails on paging values: it clamps them. */
export function pagingOf(params: URLSearchParams): Paging {
  const offset = Number.parseInt(params.get('offset') ?? '', 10);
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  return {
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
    limit: !Number.isFinite(limit) || limit < 1 ? 50 : Math.min(limit, 500),
  };
}

type Node =
  | { kind: 'and' | 'or'; nodes: Node[] }
  | { kind: 'cmp'; field: string; op: string; values: string[] };

const OPERATORS = [
  '==',
  '!=',
  '=lt=',
  '=le=',
  '=gt=',
  '=ge=',
  '=in=',
  '=out=',
  '=li=',
  '<=',
  '>=',
  '<',
  '>',
];

function resolve<T>(fields: FieldMap<T>, name: string): ((item: T) => FieldValue) | undefined {
  const lower = name.toLowerCase();
  for (const [key, get] of Object.entries(fields)) if (key.toLowerCase() === lower) return get;
  return undefined;
}

class Parser {
  #pos = 0;
  constructor(readonly text: string) {}

  parse(): Node {
    const node = this.#or();
    this.#ws();
    if (this.#pos < this.text.length)
      this.#fail(`unexpected '${this.text.slice(this.#pos, this.#pos + 10)}'`);
    return node;
  }

  #fail(message: string): never {
    throw new QueryError(
      'hawkbit.server.error.rest.param.rsqlParamSyntax',
      `RSQL syntax error at ${this.#pos}: ${message}`,
    );
  }

  #ws() {
    while (this.text[this.#pos] === ' ') this.#pos++;
  }

  #keyword(word: string): boolean {
    this.#ws();
    const slice = this.text.slice(this.#pos, this.#pos + word.length + 1);
    if (slice.toLowerCase() === `${word} `) {
      this.#pos += word.length + 1;
      return true;
    }
    return false;
  }

  #or(): Node {
    const nodes = [this.#and()];
    for (;;) {
      this.#ws();
      if (this.text[this.#pos] === ',') this.#pos++;
      else if (!this.#keyword('or')) break;
      nodes.push(this.#and());
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'or', nodes };
  }

  #and(): Node {
    const nodes = [this.#term()];
    for (;;) {
      this.#ws();
      if (this.text[this.#pos] === ';') this.#pos++;
      else if (!this.#keyword('and')) break;
      nodes.push(this.#term());
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
  }

  #term(): Node {
    this.#ws();
    if (this.text[this.#pos] === '(') {
      this.#pos++;
      const inner = this.#or();
      this.#ws();
      if (this.text[this.#pos] !== ')') this.#fail("missing ')'");
      this.#pos++;
      return inner;
    }
    const field = /^[A-Za-z0-9_.]+/.exec(this.text.slice(this.#pos))?.[0];
    if (!field) this.#fail('field name expected');
    this.#pos += field.length;
    this.#ws();
    const op = OPERATORS.find((o) => this.text.startsWith(o, this.#pos));
    if (!op) this.#fail('comparison operator expected');
    this.#pos += op.length;
    this.#ws();
    let values: string[];
    if (this.text[this.#pos] === '(') {
      this.#pos++;
      values = [this.#value()];
      for (;;) {
        this.#ws();
        if (this.text[this.#pos] === ',') {
          this.#pos++;
          values.push(this.#value());
        } else break;
      }
      if (this.text[this.#pos] !== ')') this.#fail("missing ')'");
      this.#pos++;
    } else values = [this.#value()];
    return { kind: 'cmp', field, op, values };
  }

  #value(): string {
    this.#ws();
    const quote = this.text[this.#pos];
    if (quote === '"' || quote === "'") {
      let out = '';
      this.#pos++;
      while (this.#pos < this.text.length && this.text[this.#pos] !== quote) {
        if (this.text[this.#pos] === '\\') this.#pos++;
        out += this.text[this.#pos] ?? '';
        this.#pos++;
      }
      if (this.text[this.#pos] !== quote) this.#fail('unterminated quoted value');
      this.#pos++;
      return out;
    }
    const raw = /^[^;,()"' ]+/.exec(this.text.slice(this.#pos))?.[0];
    if (!raw) this.#fail('value expected');
    this.#pos += raw.length;
    return raw;
  }
}

function compare(a: FieldValue, b: string): number | undefined {
  if (a === undefined) return undefined;
  if (typeof a === 'number') {
    const n = Number(b);
    return Number.isFinite(n) ? a - n : undefined;
  }
  const left = String(a).toLowerCase();
  const right = b.toLowerCase();
  return left < right ? -1 : left > right ? 1 : 0;
}

function equals(a: FieldValue, b: string): boolean {
  if (a === undefined) return false;
  if (typeof a === 'number') return a === Number(b);
  if (typeof a === 'boolean') return String(a) === b.toLowerCase();
  if (b.includes('*')) {
    const pattern = b
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${pattern}$`, 'i').test(a);
  }
  return a.toLowerCase() === b.toLowerCase();
}

/** Compiles `q` into a predicate; unknown fields and bad syntax throw a `QueryError`. */
export function compileFilter<T>(q: string, fields: FieldMap<T>): (item: T) => boolean {
  const tree = new Parser(q).parse();
  const build = (node: Node): ((item: T) => boolean) => {
    if (node.kind !== 'cmp') {
      const parts = node.nodes.map(build);
      return node.kind === 'and'
        ? (item) => parts.every((p) => p(item))
        : (item) => parts.some((p) => p(item));
    }
    const get = resolve(fields, node.field);
    if (!get)
      throw new QueryError(
        'hawkbit.server.error.rest.param.rsqlInvalidField',
        `unknown field ${node.field}`,
      );
    const [first = ''] = node.values;
    switch (node.op) {
      case '==':
        return (item) => equals(get(item), first);
      case '!=':
        return (item) => !equals(get(item), first);
      case '=li=':
        return (item) => equals(get(item), first.replaceAll('%', '*'));
      case '=in=':
        return (item) => node.values.some((v) => equals(get(item), v));
      case '=out=':
        return (item) => !node.values.some((v) => equals(get(item), v));
      case '=lt=':
      case '<':
        return (item) => (compare(get(item), first) ?? Number.NaN) < 0;
      case '=le=':
      case '<=':
        return (item) => (compare(get(item), first) ?? Number.NaN) <= 0;
      case '=gt=':
      case '>':
        return (item) => (compare(get(item), first) ?? Number.NaN) > 0;
      default:
        return (item) => (compare(get(item), first) ?? Number.NaN) >= 0;
    }
  };
  return build(tree);
}

/** Compiles `sort=field:DIR,...`; an empty value means the caller's default. */
export function compileSort<T>(sort: string, fields: FieldMap<T>): (a: T, b: T) => number {
  const keys = sort.split(',').map((term) => {
    const pieces = term.split(':');
    if (pieces.length !== 2 || !pieces[0] || !pieces[1]) {
      throw new QueryError(
        'hawkbit.server.error.rest.param.sortParamSyntax',
        `sort term '${term}' is not field:ASC|DESC`,
      );
    }
    const get = resolve(fields, pieces[0].trim());
    if (!get)
      throw new QueryError(
        'hawkbit.server.error.rest.param.invalidField',
        `unknown sort field ${pieces[0]}`,
      );
    const dir = pieces[1].trim().toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') {
      throw new QueryError(
        'hawkbit.server.error.rest.param.invalidDirection',
        `sort direction ${pieces[1]} is not ASC or DESC`,
      );
    }
    return { get, sign: dir === 'ASC' ? 1 : -1 };
  });
  return (a, b) => {
    for (const { get, sign } of keys) {
      const x = get(a);
      const y = get(b);
      if (x === y) continue;
      if (x === undefined) return sign;
      if (y === undefined) return -sign;
      return (x < y ? -1 : 1) * sign;
    }
    return 0;
  };
}

/** Filter, sort and page in memory, answering hawkBit's `{content,total,size}` inputs. */
export function queryList<T>(
  all: readonly T[],
  params: URLSearchParams,
  fields: FieldMap<T>,
  defaultSort: string,
  options: { allowQ?: boolean } = {},
): { items: T[]; total: number } {
  const q = options.allowQ === false ? null : params.get('q');
  const filtered = q ? all.filter(compileFilter(q, fields)) : [...all];
  filtered.sort(compileSort(params.get('sort') || defaultSort, fields));
  const { offset, limit } = pagingOf(params);
  return { items: filtered.slice(offset, offset + limit), total: filtered.length };
}
