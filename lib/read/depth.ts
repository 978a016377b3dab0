/**
 * Walking datums without recursion, so that data and code nested far deeper than the host
 * stack allows are still read, searched and converted; and the guard that turns a host
 * stack overflow in a stage that must recurse (expander, compiler, the evaluator's
 * analysis) into one `limit` error at the most deeply nested place of the program.
 * Nothing here may recurse on the datum's depth.
 */
import { DmciError, type Span } from "../errors.ts";
import type { Datum, ListDatum } from "./datum.ts";

/**
 * Calls `visit` on every datum of `forms` in source order (a list before its items, its
 * items left to right, then its dotted tail), with the list nesting depth (top level 0).
 * `visit` returning true stops the walk; `eachDatum` then returns true.
 *
 * @example
 * ```ts
 * import { read } from "./reader.ts";
 * const names: string[] = [];
 * eachDatum(read("(a (b) c)", "x.scm"), (d) => void (d.type === "symbol" && names.push(d.name)));
 * names; // ["a", "b", "c"]
 * ```
 */
export function eachDatum(
  forms: readonly Datum[],
  visit: (d: Datum, depth: number) => boolean | void,
): boolean {
  const stack: [Datum, number][] = [];
  for (let i = forms.length - 1; i >= 0; i--) stack.push([forms[i], 0]);
  while (stack.length > 0) {
    const [d, depth] = stack.pop()!;
    if (visit(d, depth) === true) return true;
    if (d.type === "list") {
      if (d.tail) stack.push([d.tail, depth + 1]);
      for (let i = d.items.length - 1; i >= 0; i--) stack.push([d.items[i], depth + 1]);
    }
  }
  return false;
}

/**
 * Builds a value from a datum bottom-up without recursion: `list(d, child)` makes the
 * value of list `d`, where `child(x)` is the value of an item or tail `x` of `d` (already
 * made for lists, made by `atom` for the rest).
 *
 * @example
 * ```ts
 * import { readOne } from "./reader.ts";
 * const count = (d: Datum) => foldDatum<number>(d, () => 1, (l, c) => l.items.reduce((n, x) => n + c(x), 1));
 * count(readOne("(a (b c))", "x.scm")); // 5
 * ```
 */
export function foldDatum<T>(
  root: Datum,
  atom: (d: Exclude<Datum, ListDatum>) => T,
  list: (d: ListDatum, child: (x: Datum) => T) => T,
): T {
  if (root.type !== "list") return atom(root);
  const done = new Map<ListDatum, T>();
  const child = (x: Datum): T => x.type === "list" ? done.get(x)! : atom(x);
  const stack: [ListDatum, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [d, ready] = stack.pop()!;
    if (ready) {
      if (!done.has(d)) done.set(d, list(d, child));
      continue;
    }
    stack.push([d, true]);
    if (d.tail?.type === "list") stack.push([d.tail, false]);
    for (const x of d.items) if (x.type === "list") stack.push([x, false]);
  }
  return done.get(root)!;
}

/** The most deeply nested list of `forms` and its depth (1 for a top-level list), if any. */
export function deepest(forms: readonly Datum[]): { depth: number; span: Span } | undefined {
  let best: { depth: number; span: Span } | undefined;
  eachDatum(forms, (d, depth) => {
    if (d.type === "list" && (!best || depth + 1 > best.depth)) best = { depth: depth + 1, span: d.span };
  });
  return best;
}

/** True when `e` is V8's host stack overflow. */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/**
 * The `limit` error for a program whose nesting the host stack could not take while
 * `stage` ran: located at the most deeply nested list.
 */
export function nestingError(forms: readonly Datum[], stage: string): DmciError {
  const deep = deepest(forms);
  return new DmciError(
    "limit",
    `host stack exhausted while ${stage}` +
      (deep ? ` a program nested ${deep.depth} levels deep (the deepest list is here)` : "") +
      `; nest less, or give deno a larger stack with --v8-flags=--stack-size=KB`,
    deep?.span,
  );
}

/**
 * Runs `f`, a stage that recurses on the nesting of `forms`, turning a host stack
 * overflow into `nestingError(forms, stage)`.
 *
 * @example
 * ```ts
 * import { read } from "./reader.ts";
 * guardNesting(read("(a)", "x.scm"), "expanding", () => 1); // 1
 * ```
 */
export function guardNesting<T>(forms: readonly Datum[], stage: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isStackOverflow(e)) throw nestingError(forms, stage);
    throw e;
  }
}
