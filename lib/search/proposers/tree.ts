/**
 * Datum trees as values: addressing a subtree by its path of item indices, rebuilding a
 * tree with one subtree replaced, inserted or removed (never mutating the input), making
 * new nodes, and counting nodes (a program's complexity). No knowledge of special forms here.
 */
import type { Datum, ListDatum, NumberDatum, SymbolDatum } from "../../read/datum.ts";
import type { Span } from "../../errors.ts";

/** Where a subtree is: the index of the top-level form, then item indices into lists. */
export type Path = readonly number[];

/** The position given to nodes the proposers make (they are printed and read back before use). */
export const MADE: Span = { file: "<proposed>", line: 0, col: 0 };

/** A symbol node. */
export function sym(name: string): SymbolDatum {
  return { type: "symbol", name, span: MADE };
}
/** A number node; `decimal` makes it a parameter. */
export function num(value: number, decimal: boolean): NumberDatum {
  return { type: "number", value, decimal, span: MADE };
}
/** A proper list node. */
export function list(...items: Datum[]): ListDatum {
  return { type: "list", items, tail: null, span: MADE };
}
/** A call `(name args…)`. */
export function call(name: string, ...args: Datum[]): ListDatum {
  return list(sym(name), ...args);
}

/** The subtree at `path`, or undefined when the path leads nowhere. */
export function at(forms: readonly Datum[], path: Path): Datum | undefined {
  let d: Datum | undefined = forms[path[0]];
  for (let i = 1; i < path.length && d; i++) d = d.type === "list" ? d.items[path[i]] : undefined;
  return d;
}

/** Rebuilds the list at `path` with `f` applied to its items. */
function editItems(
  forms: readonly Datum[],
  path: Path,
  f: (items: Datum[]) => Datum[],
): Datum[] {
  if (path.length === 0) return f([...forms]);
  const go = (d: Datum, rest: Path): Datum => {
    if (d.type !== "list") throw new Error(`tree: path into an atom`);
    if (rest.length === 0) return { ...d, items: f([...d.items]) };
    const items = [...d.items];
    items[rest[0]] = go(items[rest[0]], rest.slice(1));
    return { ...d, items };
  };
  const out = [...forms];
  out[path[0]] = go(out[path[0]], path.slice(1));
  return out;
}

/** The forms with the subtree at `path` (non-empty) replaced by `d`. */
export function replaceAt(forms: readonly Datum[], path: Path, d: Datum): Datum[] {
  return editItems(forms, path.slice(0, -1), (items) => (items[path[path.length - 1]] = d, items));
}

/** The forms with the subtree at `path` removed from its list (or from the top level). */
export function removeAt(forms: readonly Datum[], path: Path): Datum[] {
  return editItems(forms, path.slice(0, -1), (items) => (items.splice(path[path.length - 1], 1), items));
}

/** The forms with `d` inserted before position `path` (its last index may equal the list's length). */
export function insertAt(forms: readonly Datum[], path: Path, d: Datum): Datum[] {
  return editItems(forms, path.slice(0, -1), (items) => (items.splice(path[path.length - 1], 0, d), items));
}

/**
 * The number of datum nodes: one per atom and per list (the complexity of a program).
 *
 * @example
 * ```ts
 * import { read } from "../../read/reader.ts";
 * countNodes(read("(+ 1 (* a b))", "a.scm")); // 6
 * ```
 */
export function countNodes(forms: readonly Datum[]): number {
  let n = 0;
  const go = (d: Datum): void => {
    n++;
    if (d.type === "list") {
      d.items.forEach(go);
      if (d.tail) go(d.tail);
    }
  };
  forms.forEach(go);
  return n;
}

/** Structural equality of datums, ignoring positions. */
export function sameDatum(a: Datum, b: Datum): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "number":
      return b.type === "number" && Object.is(a.value, b.value) && a.decimal === b.decimal;
    case "boolean":
    case "string":
      return a.value === (b as typeof a).value;
    case "symbol":
      return a.name === (b as SymbolDatum).name;
    case "list": {
      const l = b as ListDatum;
      return a.items.length === l.items.length && a.items.every((x, i) => sameDatum(x, l.items[i])) &&
        (a.tail === null ? l.tail === null : l.tail !== null && sameDatum(a.tail, l.tail));
    }
  }
}
