/**
 * Runtime values of the language. Numbers are JS numbers or backend tensors, booleans
 * are JS booleans, strings are JS strings; symbols, pairs, the empty list and the
 * unspecified value are the small types below; procedures are JS functions.
 * This module knows nothing about backends beyond the `isTensor` hook given to `write`.
 */
import { DmciError, type Span } from "./errors.ts";
import { isSymbolText } from "./read/reader.ts";

/** An interned symbol: two symbols with the same name are the same object (`eq?`). */
export class Sym {
  private static readonly table = new Map<string, Sym>();
  private constructor(readonly name: string) {}
  /** The unique symbol with this name. */
  static of(name: string): Sym {
    let s = Sym.table.get(name);
    if (!s) {
      s = new Sym(name);
      Sym.table.set(name, s);
    }
    return s;
  }
  /** The symbol's name. */
  toString(): string {
    return this.name;
  }
}

/** A mutable pair (cons cell). */
export class Pair {
  constructor(public car: unknown, public cdr: unknown) {}
}

/** The empty list `()`. */
export const NIL: unique symbol = Symbol("()");
/** The type of the empty list. */
export type Nil = typeof NIL;

/** The value of expressions whose value R7RS leaves unspecified (`set!`, `define`, …). */
export const UNSPECIFIED: unique symbol = Symbol("unspecified");

/**
 * Source positions of pairs made from program text (by `datumToValue`), so that an
 * interpreter walking a program as data can still report `file:line:col`.
 */
export const pairSpans: WeakMap<Pair, Span> = new WeakMap();

/** A procedure value: a JS function, with a name for messages. */
export type Procedure = ((...args: unknown[]) => unknown) & { procName?: string };

/** True for procedures. */
export function isProcedure(x: unknown): x is Procedure {
  return typeof x === "function";
}

/** Builds a proper list from an array. */
export function list(...items: unknown[]): unknown {
  return arrayToList(items);
}

/** Builds a list from an array, ending in `tail` (default: the empty list). */
export function arrayToList(items: readonly unknown[], tail: unknown = NIL): unknown {
  let out = tail;
  for (let i = items.length - 1; i >= 0; i--) out = new Pair(items[i], out);
  return out;
}

/** The elements of a proper list as an array, or undefined if `x` is not a proper list. */
export function listToArray(x: unknown): unknown[] | undefined {
  const out: unknown[] = [];
  let p = x;
  while (p instanceof Pair) {
    out.push(p.car);
    p = p.cdr;
  }
  return p === NIL ? out : undefined;
}

/** Formats a number as Scheme writes it: `3`, `0.5`, `+inf.0`, `+nan.0`. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "+nan.0";
  if (x === Infinity) return "+inf.0";
  if (x === -Infinity) return "-inf.0";
  if (Object.is(x, -0)) return "-0.0";
  return String(x);
}

const STRING_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\t": "\\t",
  "\r": "\\r",
};

/** How `write` shows a backend tensor; the backend supplies it. */
export interface TensorWriter {
  isTensor(x: unknown): boolean;
  /** The tensor's shape and elements (a number for rank 0, else nested arrays). */
  describe(x: unknown): { shape: readonly number[]; data: unknown };
}

/**
 * The longest string the language makes: V8's own bound (2²⁹ − 24 UTF-16 units on 64-bit
 * hosts), so that a longer one is a `limit` error rather than a host `RangeError`.
 */
export const MAX_STRING_LENGTH = 2 ** 29 - 24;

/** Text `write` emits as it is (a marker on its work stack, told apart from values). */
class Text {
  constructor(readonly text: string) {}
}

/**
 * The external representation of a value in Scheme `write` syntax. Tensors of rank 0
 * print as numbers; other tensors as `#<tensor (2 3) ((1 2 3) (4 5 6))>`. A symbol that
 * would not read back as itself is written `|…|` (R7RS). Lists of any depth are written
 * without recursion.
 */
export function write(x: unknown, tensors?: TensorWriter): string {
  const parts: string[] = [];
  let length = 0;
  const work: unknown[] = [x];
  while (work.length > 0) {
    const v = work.pop();
    const before = parts.length;
    if (v instanceof Text) parts.push(v.text);
    else if (typeof v === "number") parts.push(formatNumber(v));
    else if (typeof v === "boolean") parts.push(v ? "#t" : "#f");
    else if (typeof v === "string") parts.push(`"${v.replace(/["\\\n\t\r]/g, (c) => STRING_ESCAPES[c])}"`);
    else if (v instanceof Sym) parts.push(writeSymbol(v.name));
    else if (v === NIL) parts.push("()");
    else if (v === UNSPECIFIED) parts.push("#<unspecified>");
    else if (v instanceof Pair) {
      // Pushed in reverse: ")" first, then the tail, then the elements from the last.
      const items: unknown[] = [];
      let p: unknown = v;
      while (p instanceof Pair) {
        items.push(p.car);
        p = p.cdr;
      }
      work.push(new Text(")"));
      if (p !== NIL) work.push(p, new Text(" . "));
      for (let i = items.length - 1; i >= 0; i--) {
        work.push(items[i]);
        if (i > 0) work.push(new Text(" "));
      }
      work.push(new Text("("));
    } else if (typeof v === "function") {
      parts.push(`#<procedure ${(v as Procedure).procName ?? "anonymous"}>`);
    } else if (tensors?.isTensor(v)) {
      const { shape, data } = tensors.describe(v);
      if (shape.length === 0) work.push(data);
      else parts.push(`#<tensor (${shape.join(" ")}) ${writeNested(data)}>`);
    } else parts.push(`#<${String(v)}>`);
    if (parts.length > before) length += parts[before].length;
    if (length > MAX_STRING_LENGTH) {
      throw new DmciError(
        "limit",
        `write: the text of the value is longer than ${MAX_STRING_LENGTH} characters`,
      );
    }
  }
  return parts.join("");
}

// deno-lint-ignore no-control-regex
const BARRED = /[|\\\x00-\x1f\x7f]/g;

/** A symbol's name as `write` shows it: bare when it reads back as that symbol, else `|…|`. */
function writeSymbol(name: string): string {
  if (isSymbolText(name)) return name;
  return `|${
    name.replace(BARRED, (c) => c === "|" || c === "\\" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16)};`)
  }|`;
}

function writeNested(data: unknown): string {
  return Array.isArray(data) ? `(${data.map(writeNested).join(" ")})` : formatNumber(data as number);
}
