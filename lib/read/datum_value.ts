/**
 * Datums to runtime values: what `quote` yields and how a model program is handed to
 * the evaluator as data. Decimal literals that are parameters become the parameter's
 * current value (a tracked leaf during value-and-gradient), and every pair made from
 * text remembers its source position for error messages.
 */
import type { Datum, ListDatum, NumberDatum } from "./datum.ts";
import { eachDatum, foldDatum } from "./depth.ts";
import { NIL, Pair, pairSpans, Sym } from "../values.ts";

/**
 * Converts a datum to a runtime value. `param(d)` returns the value standing for a
 * decimal literal that is a parameter, or undefined to keep the literal's own value.
 *
 * @example
 * ```ts
 * import { readOne } from "./reader.ts";
 * const v = datumToValue(readOne("(a 1 2.5)", "x.scm")); // the list (a 1 2.5)
 * ```
 */
export function datumToValue(d: Datum, param?: (d: NumberDatum) => unknown): unknown {
  // Data may nest far deeper than the host stack: built bottom-up without recursion.
  return foldDatum(d, (x) => atomValue(x, param), (l, child) => {
    let out: unknown = l.tail ? child(l.tail) : NIL;
    for (let i = l.items.length - 1; i >= 0; i--) {
      const p = new Pair(child(l.items[i]), out);
      pairSpans.set(p, l.items[i].span);
      out = p;
    }
    // The head pair stands for the whole list: give it the list's own position.
    if (out instanceof Pair && l.items.length > 0) pairSpans.set(out, l.span);
    return out;
  });
}

/** The value of a datum that is not a list. */
function atomValue(d: Exclude<Datum, ListDatum>, param?: (d: NumberDatum) => unknown): unknown {
  switch (d.type) {
    case "number": {
      const p = d.decimal && param ? param(d) : undefined;
      return p === undefined ? d.value : p;
    }
    case "boolean":
    case "string":
      return d.value;
    case "symbol":
      return Sym.of(d.name);
  }
}

/** True when the datum contains a decimal literal for which `isParam` holds. */
export function containsParam(d: Datum, isParam: (d: NumberDatum) => boolean): boolean {
  return eachDatum([d], (x) => x.type === "number" && x.decimal && isParam(x));
}
