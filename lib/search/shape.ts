/**
 * What the database and the warm start need to know of a program's datums, with its constants
 * abstracted away: a key that two programs share when they differ only in their decimal
 * constants (deduplication), the behaviour descriptor of the MAP-Elites grid, and, per constant,
 * the context that says whether its subtree is unchanged between a parent and a child.
 */
import type { Datum } from "../read/datum.ts";
import { PRIMITIVE_BY_NAME } from "../primitives.ts";
import { findParams } from "../program.ts";
import { formatLiteral } from "./proposers/print.ts";

/** A datum written with every decimal constant as `#c` (integers, which are fixed, kept). */
function abstracted(d: Datum): string {
  switch (d.type) {
    case "number":
      return d.decimal ? "#c" : formatLiteral(d);
    case "symbol":
      return d.name;
    case "boolean":
      return d.value ? "#t" : "#f";
    case "string":
      return JSON.stringify(d.value);
    case "list":
      return `(${d.items.map(abstracted).join(" ")}${d.tail ? ` . ${abstracted(d.tail)}` : ""})`;
  }
}

/**
 * The deduplication key: the program's forms with constants abstracted.
 *
 * @example
 * ```ts
 * import { read } from "../read/reader.ts";
 * shapeKey(read("(* 2.0 x)", "a")) === shapeKey(read("(* 3.5 x)", "b")); // true
 * ```
 */
export function shapeKey(forms: readonly Datum[]): string {
  return forms.map(abstracted).join(" ");
}

/**
 * The behaviour descriptor: how many distinct primitives the program calls (a structural
 * diversity measure that needs no evaluation and is the same in every process).
 *
 * @example
 * ```ts
 * distinctPrimitives(read("(* 2.0 (exp (* -1.0 x)))", "a")); // 2
 * ```
 */
export function distinctPrimitives(forms: readonly Datum[]): number {
  const used = new Set<string>();
  const go = (d: Datum): void => {
    if (d.type !== "list") return;
    const head = d.items[0];
    if (head?.type === "symbol" && PRIMITIVE_BY_NAME.has(head.name)) used.add(head.name);
    d.items.forEach(go);
  };
  forms.forEach(go);
  return used.size;
}

/**
 * Per parameter (source order), the context that identifies it across programs: its name when
 * it is `define`d, else the smallest list holding it written with constants abstracted, and its
 * position there, numbered when the context occurs more than once.
 */
export function constantContexts(forms: readonly Datum[]): string[] {
  const params = findParams(forms);
  const named = new Set(params.filter((p) => !/^\d+:\d+/.test(p.name)).map((p) => p.datum));
  const context = new Map<Datum, string>();
  const go = (d: Datum): void => {
    if (d.type !== "list") return;
    const key = abstracted(d);
    d.items.forEach((x, i) => {
      if (x.type === "number" && x.decimal) context.set(x, `${key}@${i}`);
      go(x);
    });
  };
  forms.forEach(go);
  const seen = new Map<string, number>();
  return params.map((p) => {
    const base = named.has(p.datum) ? `define ${p.name}` : context.get(p.datum) ?? p.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return `${base}#${n}`;
  });
}

/**
 * The warm start of a child: for each of its constants whose context (constantContexts) the
 * parent has too, the parent's fitted value; else the child's literal.
 *
 * @example
 * ```ts
 * warmStart(read("(* 2.0 (exp x))", "p"), [2.7], read("(+ (* 2.0 (exp x)) 0.5)", "c")); // [2.7, 0.5]
 * ```
 */
export function warmStart(
  parentForms: readonly Datum[],
  parentValues: readonly number[],
  childForms: readonly Datum[],
): number[] {
  const parent = new Map(constantContexts(parentForms).map((k, i) => [k, parentValues[i]]));
  const literals = findParams(childForms).map((p) => p.value);
  return constantContexts(childForms).map((k, i) => {
    const v = parent.get(k);
    return v !== undefined && Number.isFinite(v) ? v : literals[i];
  });
}
