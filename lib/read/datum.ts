/**
 * The datum: what the reader produces and the expander consumes. A tagged union that
 * keeps the source position of every node, so later stages can name the place at fault.
 * Datums are syntax; runtime values (pairs, symbols) live in lib/values.ts.
 */
import type { Span } from "../errors.ts";

/** A numeric literal. `decimal` is true when written with a point or an exponent. */
export interface NumberDatum {
  readonly type: "number";
  readonly value: number;
  readonly decimal: boolean;
  readonly span: Span;
}
/** `#t`, `#f`, `#true`, `#false`. */
export interface BooleanDatum {
  readonly type: "boolean";
  readonly value: boolean;
  readonly span: Span;
}
/** A string literal with escapes already decoded. */
export interface StringDatum {
  readonly type: "string";
  readonly value: string;
  readonly span: Span;
}
/** A symbol. */
export interface SymbolDatum {
  readonly type: "symbol";
  readonly name: string;
  readonly span: Span;
}
/**
 * A list: `items` then `tail`. A proper list has `tail === null`; `(a b . c)` has
 * items [a, b] and tail c. The reader normalises `(a . (b c))` to the proper list (a b c).
 * `'x` is read as the list (quote x).
 */
export interface ListDatum {
  readonly type: "list";
  readonly items: readonly Datum[];
  readonly tail: Datum | null;
  readonly span: Span;
}

/** Any datum. */
export type Datum = NumberDatum | BooleanDatum | StringDatum | SymbolDatum | ListDatum;

/** True when d is the symbol `name`. */
export function isSymbol(d: Datum | undefined, name?: string): d is SymbolDatum {
  return d !== undefined && d.type === "symbol" && (name === undefined || d.name === name);
}

/** True when d is a proper list (no dotted tail). */
export function isProperList(d: Datum): d is ListDatum {
  return d.type === "list" && d.tail === null;
}
