/**
 * Datums to runtime values: what `quote` yields and how a model program is handed to
 * the evaluator as data. Decimal literals that are parameters become the parameter's
 * current value (a tracked leaf during value-and-gradient), and every pair made from
 * text remembers its source position for error messages.
 */
import type { Datum, NumberDatum } from "./datum.ts";
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
    case "list": {
      let out: unknown = d.tail ? datumToValue(d.tail, param) : NIL;
      for (let i = d.items.length - 1; i >= 0; i--) {
        const p = new Pair(datumToValue(d.items[i], param), out);
        pairSpans.set(p, d.items[i].span);
        out = p;
      }
      // The head pair stands for the whole list: give it the list's own position.
      if (out instanceof Pair && d.items.length > 0) pairSpans.set(out, d.span);
      return out;
    }
  }
}

/** True when the datum contains a decimal literal for which `isParam` holds. */
export function containsParam(d: Datum, isParam: (d: NumberDatum) => boolean): boolean {
  switch (d.type) {
    case "number":
      return d.decimal && isParam(d);
    case "list":
      return d.items.some((x) => containsParam(x, isParam)) ||
        (d.tail !== null && containsParam(d.tail, isParam));
    default:
      return false;
  }
}
