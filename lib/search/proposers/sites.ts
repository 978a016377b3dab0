/**
 * Where a program may be edited: every expression position of its datums (not binding names,
 * formals, quoted data or a call's operator), each with the variables in scope there and a
 * guess whether it is numeric. It follows the special forms of the expander; it changes
 * nothing and decides no edit (edits.ts does).
 */
import type { Datum, ListDatum } from "../../read/datum.ts";
import { PRIMITIVES } from "../../primitives.ts";
import { SPECIAL_FORMS } from "../../expand/expander.ts";
import type { Path } from "./tree.ts";

/** Elementwise numeric procedures of the table: a call of one of them is a numeric expression. */
export const NUMERIC_PRIMITIVES: ReadonlySet<string> = new Set(
  PRIMITIVES.filter((p) => p.group === "numbers" && p.differentiable).map((p) => p.name),
);

/** A variable visible at a site. */
export interface Binding {
  /** Holds a number (or a tensor of numbers), as far as can be told from the program. */
  readonly numeric: boolean;
  /** A top-level definition or an input (not a local binding). */
  readonly global: boolean;
}

/** One expression position. */
export interface Site {
  readonly path: Path;
  readonly datum: Datum;
  /** Variables in scope (inputs, globals defined in earlier forms, locals), innermost last. */
  readonly scope: ReadonlyMap<string, Binding>;
  /** A number, a numeric variable, or a call of a numeric primitive. */
  readonly numeric: boolean;
}

/** A top-level definition. */
export interface GlobalDef {
  readonly name: string;
  /** Index of its top-level form. */
  readonly form: number;
  /** `(define (f …) …)` or `(define f (lambda …))`. */
  readonly procedure: boolean;
  readonly numeric: boolean;
}

/** What the walk finds. */
export interface Analysis {
  readonly sites: readonly Site[];
  readonly globals: ReadonlyMap<string, GlobalDef>;
  /** Every name bound or referenced anywhere (fresh names avoid them). */
  readonly names: ReadonlySet<string>;
}

const isSym = (d: Datum | undefined, name?: string): boolean =>
  d !== undefined && d.type === "symbol" && (name === undefined || d.name === name);

/** The names written as direct operands of numeric primitives anywhere: such variables hold numbers. */
function numericOperands(forms: readonly Datum[]): Set<string> {
  const out = new Set<string>();
  const go = (d: Datum): void => {
    if (d.type !== "list" || d.items.length === 0) return;
    const head = d.items[0];
    if (isSym(head, "quote")) return;
    if (head.type === "symbol" && NUMERIC_PRIMITIVES.has(head.name)) {
      for (const a of d.items.slice(1)) if (a.type === "symbol") out.add(a.name);
    }
    d.items.forEach(go);
  };
  forms.forEach(go);
  return out;
}

/**
 * Finds the expression positions of a program, with the inputs `inputs` bound globally.
 *
 * @example
 * ```ts
 * import { read } from "../../read/reader.ts";
 * const a = analyze(read("(define u (/ t 10)) (* 2.0 u)", "m.scm"), ["t"]);
 * a.sites.filter((s) => s.numeric).length; // 7: (/ t 10), t, 10, (* 2.0 u), 2.0, u … and the define's value
 * ```
 */
export function analyze(forms: readonly Datum[], inputs: readonly string[]): Analysis {
  const operands = numericOperands(forms);
  const sites: Site[] = [];
  const globals = new Map<string, GlobalDef>();
  const names = new Set<string>(inputs);

  const looksNumeric = (d: Datum, scope: ReadonlyMap<string, Binding>): boolean => {
    if (d.type === "number") return true;
    if (d.type === "symbol") return scope.get(d.name)?.numeric ?? false;
    if (d.type !== "list" || d.items.length === 0) return false;
    const head = d.items[0];
    if (head.type !== "symbol" || scope.has(head.name) && !scope.get(head.name)!.global) return false;
    if (NUMERIC_PRIMITIVES.has(head.name) && !globals.has(head.name)) return true;
    if (head.name === "if" && d.items.length === 4) {
      return looksNumeric(d.items[2], scope) && looksNumeric(d.items[3], scope);
    }
    return false;
  };
  const bind = (
    scope: ReadonlyMap<string, Binding>,
    entries: readonly (readonly [string, boolean])[],
  ): Map<string, Binding> => {
    const out = new Map(scope);
    for (const [name, numeric] of entries) {
      names.add(name);
      out.delete(name); // innermost last
      out.set(name, { numeric: numeric || operands.has(name), global: false });
    }
    return out;
  };
  const formals = (f: Datum | undefined): string[] => {
    const out: string[] = [];
    if (f === undefined) return out;
    if (f.type === "symbol") return [f.name];
    if (f.type === "list") {
      for (const x of f.items) if (x.type === "symbol") out.push(x.name);
      if (f.tail?.type === "symbol") out.push(f.tail.name);
    }
    return out;
  };
  const keyword = (d: ListDatum, scope: ReadonlyMap<string, Binding>): string | null => {
    const head = d.items[0];
    return head?.type === "symbol" && SPECIAL_FORMS.has(head.name) && !scope.has(head.name)
      ? head.name
      : null;
  };
  const each = (d: ListDatum, from: number, path: Path, scope: ReadonlyMap<string, Binding>): void => {
    for (let i = from; i < d.items.length; i++) expr(d.items[i], [...path, i], scope);
  };

  const expr = (d: Datum, path: Path, scope: ReadonlyMap<string, Binding>): void => {
    if (d.type === "symbol") names.add(d.name);
    if (d.type === "number" || d.type === "symbol") {
      sites.push({ path, datum: d, scope, numeric: looksNumeric(d, scope) });
      return;
    }
    if (d.type !== "list" || d.items.length === 0 || d.tail !== null) return;
    const k = keyword(d, scope);
    const items = d.items;
    switch (k) {
      case "quote":
        return;
      case "if":
      case "begin":
      case "when":
      case "unless":
      case "and":
      case "or":
        return each(d, 1, path, scope);
      case "set!":
        return each(d, 2, path, scope);
      case "define": // a define where a body was not expected: walk its value
        return each(d, 2, path, scope);
      case "lambda":
        return body(d, 2, path, bind(scope, formals(items[1]).map((n) => [n, false])));
      case "let":
      case "let*":
      case "letrec":
      case "letrec*": {
        const named = k === "let" && items[1]?.type === "symbol";
        const at = named ? 2 : 1;
        const bindings = items[at];
        if (bindings?.type !== "list") return;
        let inner: ReadonlyMap<string, Binding> = scope;
        const pairs = bindings.items.map((b) =>
          b.type === "list" && b.items[0]?.type === "symbol" ? b as ListDatum : null
        );
        const all = pairs.flatMap((b) => b ? [[(b.items[0] as { name: string }).name, false] as const] : []);
        if (k === "letrec" || k === "letrec*") inner = bind(scope, all);
        pairs.forEach((b, i) => {
          if (!b || b.items.length < 2) return;
          const name = (b.items[0] as { name: string }).name;
          const initScope = k === "let" ? scope : inner;
          expr(b.items[1], [...path, at, i, 1], initScope);
          if (k === "let*") inner = bind(inner, [[name, looksNumeric(b.items[1], initScope)]]);
        });
        if (k === "let") {
          inner = bind(
            scope,
            pairs.flatMap((b) =>
              b && b.items.length >= 2
                ? [[(b.items[0] as { name: string }).name, looksNumeric(b.items[1], scope)] as const]
                : []
            ),
          );
          if (named) inner = bind(inner, [[(items[1] as { name: string }).name, false]]);
        }
        return body(d, at + 1, path, inner);
      }
      case "cond":
        items.slice(1).forEach((c, i) => {
          if (c.type !== "list") return;
          c.items.forEach((x, j) => {
            if (!(j === 0 && isSym(x, "else")) && !isSym(x, "=>")) expr(x, [...path, i + 1, j], scope);
          });
        });
        return;
      case "case":
        expr(items[1], [...path, 1], scope);
        items.slice(2).forEach((c, i) => {
          if (c.type !== "list") return;
          c.items.forEach((x, j) => {
            if (j > 0 && !isSym(x, "=>")) expr(x, [...path, i + 2, j], scope);
          });
        });
        return;
      case "do": {
        const specs = items[1]?.type === "list" ? items[1].items : [];
        const vars: [string, boolean][] = [];
        specs.forEach((s, i) => {
          if (s.type !== "list" || s.items[0]?.type !== "symbol") return;
          if (s.items[1]) expr(s.items[1], [...path, 1, i, 1], scope);
          vars.push([
            (s.items[0] as { name: string }).name,
            s.items[1] ? looksNumeric(s.items[1], scope) : false,
          ]);
        });
        const inner = bind(scope, vars);
        specs.forEach((s, i) => {
          if (s.type === "list" && s.items[2]) expr(s.items[2], [...path, 1, i, 2], inner);
        });
        if (items[2]?.type === "list") each(items[2], 0, [...path, 2], inner);
        return each(d, 3, path, inner);
      }
      default: {
        // A call: the operator position is not an expression to edit unless it is itself a call.
        if (items[0].type === "list") expr(items[0], [...path, 0], scope);
        else if (items[0].type === "symbol") names.add(items[0].name);
        sites.push({ path, datum: d, scope, numeric: looksNumeric(d, scope) });
        each(d, 1, path, scope);
      }
    }
  };

  /** A body from item `from` of `d`: internal defines first (letrec* scope), then expressions. */
  const body = (d: ListDatum, from: number, path: Path, scope: ReadonlyMap<string, Binding>): void => {
    const defs: [string, boolean][] = [];
    for (let i = from; i < d.items.length; i++) {
      const x = d.items[i];
      if (x.type !== "list" || keyword(x, scope) !== "define") continue;
      const target = x.items[1];
      if (target?.type === "symbol") {
        defs.push([target.name, x.items[2] ? looksNumeric(x.items[2], scope) : false]);
      } else if (target?.type === "list" && target.items[0]?.type === "symbol") {
        defs.push([(target.items[0] as { name: string }).name, false]);
      }
    }
    const inner = bind(scope, defs);
    for (let i = from; i < d.items.length; i++) {
      const x = d.items[i];
      if (x.type === "list" && keyword(x, scope) === "define") definition(x, [...path, i], inner);
      else expr(x, [...path, i], inner);
    }
  };

  const definition = (d: ListDatum, path: Path, scope: ReadonlyMap<string, Binding>): void => {
    const target = d.items[1];
    if (target?.type === "symbol") each(d, 2, path, scope);
    else if (target?.type === "list") {
      body(
        d,
        2,
        path,
        bind(scope, formals({ ...target, items: target.items.slice(1) }).map((n) => [n, false])),
      );
    }
  };

  let top = new Map<string, Binding>(inputs.map((n) => [n, { numeric: true, global: true }]));
  forms.forEach((form, i) => {
    if (form.type === "list" && keyword(form, top) === "define") {
      const target = form.items[1];
      let name: string | null = null;
      let procedure = false;
      let numeric = false;
      if (target?.type === "symbol") {
        name = target.name;
        const value = form.items[2];
        procedure = value?.type === "list" && isSym(value.items[0], "lambda");
        numeric = value !== undefined && (looksNumeric(value, top) || operands.has(name));
      } else if (target?.type === "list" && target.items[0]?.type === "symbol") {
        name = (target.items[0] as { name: string }).name;
        procedure = true;
      }
      const withSelf = name && procedure ? new Map(top).set(name, { numeric: false, global: true }) : top;
      definition(form, [i], withSelf);
      if (name) {
        names.add(name);
        globals.set(name, { name, form: i, procedure, numeric });
        top = new Map(top);
        top.delete(name);
        top.set(name, { numeric, global: true });
      }
    } else expr(form, [i], top);
  });
  return { sites, globals, names };
}
