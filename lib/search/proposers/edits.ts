/**
 * The structural edits of the offline mutator, each a function from a draft program (datums,
 * directives, the analysis of its sites) and a seeded random source to a new draft, or null
 * when it has nowhere to apply. Operators come from the primitive table. Edits do not check
 * their result (wellformed.ts does) and never touch a program's text directly.
 */
import type { Datum, ListDatum, NumberDatum } from "../../read/datum.ts";
import { PRIMITIVE_BY_NAME } from "../../primitives.ts";
import { SPECIAL_FORMS } from "../../expand/expander.ts";
import type { ConstantReport } from "../types.ts";
import { type Analysis, type GlobalDef, NUMERIC_PRIMITIVES, type Site } from "./sites.ts";
import { at, call, insertAt, list, num, type Path, removeAt, replaceAt, sameDatum, sym } from "./tree.ts";
import { toggleGlobal } from "./header.ts";

/** A program being edited. */
export interface Draft {
  readonly forms: readonly Datum[];
  /** `; @param` lines by parameter name. */
  readonly directives: ReadonlyMap<string, string>;
}

/** A decimal literal of the draft with its feedback from the parent's calibration. */
export interface Constant {
  /** Where the literal is. */
  readonly path: Path;
  /** The defined name, for `(define k 0.5)`. */
  readonly defined: string | null;
  readonly report: ConstantReport | null;
}

/** The operators an edit may write, from the primitive table filtered by the task. */
export interface Operators {
  /** Procedures of one argument that change it (`exp`, `-`, …). */
  readonly unary: readonly string[];
  /** Procedures that take two arguments. */
  readonly binary: readonly string[];
  /** Every allowed numeric procedure, with its arity. */
  readonly arity: ReadonlyMap<string, readonly [number, number]>;
}

/** Everything an edit may look at. */
export interface EditContext {
  readonly draft: Draft;
  readonly analysis: Analysis;
  readonly constants: readonly Constant[];
  readonly ops: Operators;
  readonly inputs: readonly string[];
  readonly battery: boolean;
  /** Other programs (crossover partners), read and analysed. */
  readonly donors: readonly { readonly id: string; readonly draft: Draft; readonly analysis: Analysis }[];
  readonly rng: Rng;
}

/** An edit's result: the new draft and a few words on what was done. */
export interface Edited {
  readonly draft: Draft;
  readonly edit: string;
}

/** One structural edit. */
export type Edit = (c: EditContext) => Edited | null;

/** Seeded choices (from lib/random.ts `uniform`). */
export interface Rng {
  /** A uniform in (0, 1). */
  (): number;
}

/** A uniform integer in [0, n). */
export function below(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}
/** A uniformly chosen element, or undefined for an empty array. */
export function pick<T>(rng: Rng, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[below(rng, xs.length)];
}
/** An index chosen with probability proportional to its weight (uniform when all are zero). */
export function weighted(rng: Rng, weights: readonly number[]): number {
  const total = weights.reduce((a, w) => a + (Number.isFinite(w) && w > 0 ? w : 0), 0);
  if (!(total > 0)) return below(rng, weights.length);
  let r = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    const w = Number.isFinite(weights[i]) && weights[i] > 0 ? weights[i] : 0;
    if (r < w) return i;
    r -= w;
  }
  return weights.length - 1;
}

// `+ * min max` of one argument return it, and `inexact` is the identity on our numbers: as a
// wrapper they would change nothing.
const IDENTITY_OF_ONE = new Set(["+", "*", "min", "max", "inexact"]);

/**
 * The operators of a task: the allowed elementwise numeric procedures of the table, split by
 * the argument counts they accept.
 *
 * @example
 * ```ts
 * operators(["+", "exp", "car"]).unary; // ["exp"]
 * ```
 */
export function operators(allowed: readonly string[]): Operators {
  const prims = allowed.filter((n) => NUMERIC_PRIMITIVES.has(n)).map((n) => PRIMITIVE_BY_NAME.get(n)!);
  return {
    unary: prims.filter((p) => p.arity[0] <= 1 && p.arity[1] >= 1 && !IDENTITY_OF_ONE.has(p.name)).map((p) =>
      p.name
    ),
    binary: prims.filter((p) => p.arity[0] <= 2 && p.arity[1] >= 2).map((p) => p.name),
    arity: new Map(prims.map((p) => [p.name, p.arity])),
  };
}

/** A fresh decimal constant: magnitude log-uniform in [0.01, 2], two significant digits, mostly positive. */
export function freshConstant(rng: Rng): NumberDatum {
  const magnitude = Math.pow(10, -2 + rng() * Math.log10(200));
  const value = Number(magnitude.toPrecision(2)) * (rng() < 0.8 ? 1 : -1);
  return num(value, true);
}

/** The numeric variables visible at a site (those written as leaves of new expressions). */
export function leaves(site: Site): string[] {
  return [...site.scope].filter(([, b]) => b.numeric).map(([n]) => n);
}

/** A random numeric expression of at most `depth` operator levels over the site's leaves. */
export function randomExpr(c: EditContext, site: Site, depth: number): Datum {
  const names = leaves(site);
  const r = c.rng();
  if (depth <= 0 || r < 0.4) {
    return names.length > 0 && c.rng() < 0.65 ? sym(pick(c.rng, names)!) : freshConstant(c.rng);
  }
  if (r < 0.7 && c.ops.unary.length > 0) {
    return call(pick(c.rng, c.ops.unary)!, randomExpr(c, site, depth - 1));
  }
  const op = pick(c.rng, c.ops.binary);
  if (!op) return freshConstant(c.rng);
  return call(op, randomExpr(c, site, depth - 1), randomExpr(c, site, depth - 1));
}

/** A new term `c·leaf` or `c·f(leaf)` with a fresh constant c. */
function freshTerm(c: EditContext, site: Site): Datum {
  const names = leaves(site);
  const leaf: Datum = names.length > 0 ? sym(pick(c.rng, names)!) : freshConstant(c.rng);
  const inner = c.rng() < 0.5 && c.ops.unary.length > 0 ? call(pick(c.rng, c.ops.unary)!, leaf) : leaf;
  return c.ops.arity.has("*") ? call("*", freshConstant(c.rng), inner) : inner;
}

const where = (d: Datum): string => `${d.span.line}:${d.span.col}`;
const edited = (c: EditContext, forms: readonly Datum[], edit: string): Edited => ({
  draft: { forms, directives: c.draft.directives },
  edit,
});

/** The name of a call's operator when it is a primitive the program does not rebind. */
function primitiveHead(d: Datum, site: Site, globals: ReadonlyMap<string, GlobalDef>): string | null {
  if (d.type !== "list" || d.items.length === 0 || d.items[0].type !== "symbol") return null;
  const name = d.items[0].name;
  return PRIMITIVE_BY_NAME.has(name) && !site.scope.has(name) && !globals.has(name) ? name : null;
}

/** The numeric sites, each weighted by the validation gradients of the constants at or under it. */
function chooseSite(c: EditContext, filter: (s: Site) => boolean = () => true): Site | undefined {
  // The literal of a named constant `(define k 0.5)` is edited where k is used, not in place.
  const named = new Set(c.constants.filter((k) => k.defined !== null).map((k) => k.path.join(".")));
  const sites = c.analysis.sites.filter((s) => s.numeric && filter(s) && !named.has(s.path.join(".")));
  if (sites.length === 0) return undefined;
  // Half the time, edit near a constant the validation loss is sensitive to (DESIGN: gradient
  // feedback); the other half, anywhere.
  const sensitive = c.constants.filter((k) => k.report?.validationGrad);
  if (sensitive.length > 0 && c.rng() < 0.5) {
    const k = sensitive[weighted(c.rng, sensitive.map(sensitivity))];
    const near = sites.filter((s) =>
      locations(c, k).some((p) => isPrefix(s.path, p) && p.length - s.path.length <= 2)
    );
    if (near.length > 0) return pick(c.rng, near);
  }
  return pick(c.rng, sites);
}

/** |∂(validation loss)/∂k| times the constant's scale (its SE, else its magnitude). */
export function sensitivity(k: Pick<Constant, "report">): number {
  const r = k.report;
  if (!r || r.validationGrad === null) return 0;
  const scale = r.se !== null && Number.isFinite(r.se) && r.se > 0 ? r.se : Math.max(Math.abs(r.value), 1e-6);
  return Math.abs(r.validationGrad) * scale;
}

/** True when the constant's ~95% interval (±2 SE) includes zero. */
export function insignificant(k: Pick<Constant, "report">): boolean {
  const r = k.report;
  return r !== null && r.se !== null && Number.isFinite(r.value) && !(Math.abs(r.value) > 2 * r.se);
}

function isPrefix(p: Path, q: Path): boolean {
  return p.length <= q.length && p.every((x, i) => q[i] === x);
}

/** Where a constant acts: its literal, or every reference to the name it defines. */
function locations(c: EditContext, k: Constant): Path[] {
  if (k.defined === null) return [k.path];
  const name = k.defined;
  return c.analysis.sites
    .filter((s) => s.datum.type === "symbol" && s.datum.name === name && s.scope.get(name)?.global)
    .map((s) => s.path);
}

/** replace: a numeric subtree becomes a random expression. */
export const replace: Edit = (c) => {
  const site = chooseSite(c);
  if (!site) return null;
  const d = randomExpr(c, site, 1 + below(c.rng, 2));
  return edited(c, replaceAt(c.draft.forms, site.path, d), `replace at ${where(site.datum)}`);
};

/** insert: `e` becomes `(op e x)`, or a variadic call gets one more operand. */
export const insert: Edit = (c) => {
  const site = chooseSite(c);
  if (!site) return null;
  const head = primitiveHead(site.datum, site, c.analysis.globals);
  const arity = head ? c.ops.arity.get(head) : undefined;
  const list = site.datum as ListDatum;
  if (arity && arity[1] === Infinity && list.items.length >= 3 && c.rng() < 0.5) {
    const path = [...site.path, 1 + below(c.rng, list.items.length)];
    return edited(
      c,
      insertAt(c.draft.forms, path, randomExpr(c, site, 1)),
      `insert operand at ${where(site.datum)}`,
    );
  }
  const op = pick(c.rng, c.ops.binary);
  if (!op) return null;
  const other = randomExpr(c, site, below(c.rng, 2));
  const d = c.rng() < 0.5 ? call(op, site.datum, other) : call(op, other, site.datum);
  return edited(c, replaceAt(c.draft.forms, site.path, d), `insert ${op} at ${where(site.datum)}`);
};

/** delete: an operand of a variadic call is dropped, or a call is replaced by one of its operands. */
export const remove: Edit = (c) => {
  const site = chooseSite(c, (s) => s.datum.type === "list");
  if (!site) return null;
  const d = site.datum as ListDatum;
  const head = primitiveHead(d, site, c.analysis.globals);
  const arity = head ? PRIMITIVE_BY_NAME.get(head)!.arity : undefined;
  const operands = d.items.slice(1);
  if (arity && operands.length - 1 >= Math.max(arity[0], 2) && c.rng() < 0.5) {
    const i = 1 + below(c.rng, operands.length);
    return edited(c, removeAt(c.draft.forms, [...site.path, i]), `delete operand at ${where(d.items[i])}`);
  }
  const numeric = c.analysis.sites.filter((s) =>
    s.numeric && s.path.length === site.path.length + 1 &&
    isPrefix(site.path, s.path)
  );
  const keep = pick(c.rng, numeric);
  if (!keep) return null;
  return edited(c, replaceAt(c.draft.forms, site.path, keep.datum), `hoist ${where(keep.datum)}`);
};

/** wrap: `e` becomes `(f e)` or `(f (* k e))` with a fresh constant k. */
export const wrap: Edit = (c) => {
  const site = chooseSite(c);
  const f = pick(c.rng, c.ops.unary);
  if (!site || !f) return null;
  const inner = c.rng() < 0.5 && c.ops.arity.has("*")
    ? call("*", freshConstant(c.rng), site.datum)
    : site.datum;
  return edited(c, replaceAt(c.draft.forms, site.path, call(f, inner)), `wrap ${f} at ${where(site.datum)}`);
};

/** swap: a primitive call's operator becomes another that takes as many arguments. */
export const swap: Edit = (c) => {
  const sites = c.analysis.sites.filter((s) => s.numeric && primitiveHead(s.datum, s, c.analysis.globals));
  const site = pick(c.rng, sites);
  if (!site) return null;
  const d = site.datum as ListDatum;
  const head = primitiveHead(d, site, c.analysis.globals)!;
  const n = d.items.length - 1;
  const pool = n === 1
    ? c.ops.unary
    : [...c.ops.arity].filter(([, a]) => a[0] <= n && n <= a[1]).map(([k]) => k);
  const op = pick(c.rng, pool.filter((o) => o !== head));
  if (!op) return null;
  const out: ListDatum = { ...d, items: [sym(op), ...d.items.slice(1)] };
  return edited(c, replaceAt(c.draft.forms, site.path, out), `swap ${head}→${op} at ${where(d)}`);
};

/** add-term: a sum gets a new term `k·leaf`, or `e` becomes `(+ e k·leaf)`. */
export const addTerm: Edit = (c) => {
  if (!c.ops.arity.has("+")) return null;
  const site = chooseSite(c);
  if (!site) return null;
  const head = primitiveHead(site.datum, site, c.analysis.globals);
  const term = freshTerm(c, site);
  if ((head === "+" || head === "-") && (site.datum as ListDatum).items.length >= 2) {
    const path = [...site.path, (site.datum as ListDatum).items.length];
    return edited(c, insertAt(c.draft.forms, path, term), `add term to ${head} at ${where(site.datum)}`);
  }
  return edited(
    c,
    replaceAt(c.draft.forms, site.path, call("+", site.datum, term)),
    `add term at ${where(site.datum)}`,
  );
};

/** A name not used anywhere in the program. */
export function freshName(c: EditContext, stem: string): string {
  for (let i = 1;; i++) {
    const n = `${stem}${i}`;
    if (!c.analysis.names.has(n) && !PRIMITIVE_BY_NAME.has(n) && !SPECIAL_FORMS.has(n)) return n;
  }
}

/** lift: an inline decimal literal becomes a top-level `(define cN …)` before its form (battery: maybe global). */
export const lift: Edit = (c) => {
  const inline = c.constants.filter((k) => k.defined === null);
  const k = pick(c.rng, inline);
  if (!k) return null;
  const literal = at(c.draft.forms, k.path)!;
  const name = freshName(c, "c");
  let forms = replaceAt(c.draft.forms, k.path, sym(name));
  forms = insertAt(forms, [k.path[0]], list(sym("define"), sym(name), literal));
  const directives = new Map(c.draft.directives);
  if (c.battery && c.rng() < 0.5) directives.set(name, toggleGlobal(name, undefined));
  return { draft: { forms, directives }, edit: `lift ${where(literal)} to ${name}` };
};

/** global (battery): a named parameter switches between per-cell and shared by all cells. */
export const toggleGlobalEdit: Edit = (c) => {
  if (!c.battery) return null;
  const k = pick(c.rng, c.constants.filter((k) => k.defined !== null));
  if (!k) return null;
  const name = k.defined!;
  const directives = new Map(c.draft.directives);
  directives.set(name, toggleGlobal(name, directives.get(name)));
  return { draft: { forms: c.draft.forms, directives }, edit: `toggle global ${name}` };
};

/**
 * prune (gradient feedback): the term holding a constant whose error bar includes zero is
 * deleted from the sum it belongs to.
 */
export const prune: Edit = (c) => {
  const weak = c.constants.filter(insignificant);
  const k = pick(c.rng, weak);
  if (!k) return null;
  const places = locations(c, k);
  const place = pick(c.rng, places);
  if (!place) return null;
  // Climb through products and quotients to the operand of a sum.
  for (let p = place; p.length >= 2; p = p.slice(0, -1)) {
    const parent = at(c.draft.forms, p.slice(0, -1)) as ListDatum;
    const head = parent?.type === "list" && parent.items[0]?.type === "symbol" ? parent.items[0].name : null;
    const i = p[p.length - 1];
    // (the minuend of a difference is not a term that can go: (- a b) without a is (- b))
    if (
      (head === "+" || head === "-") && i >= (head === "-" ? 2 : 1) && parent.items.length >= 3 &&
      !c.analysis.globals.has(head)
    ) {
      const operands = parent.items.length - 1;
      const forms = operands >= 3
        ? removeAt(c.draft.forms, p)
        : replaceAt(c.draft.forms, p.slice(0, -1), parent.items[i === 1 ? 2 : 1]);
      return edited(c, forms, `prune ${k.report!.name} (|value| ≤ 2 SE)`);
    }
    if (head !== "*" && head !== "/") break;
  }
  return null;
};

/** crossover: a numeric subtree of another program replaces one of this one; free names are mapped. */
export const crossover: Edit = (c) => {
  const donor = pick(c.rng, c.donors);
  if (!donor) return null;
  const from = pick(c.rng, donor.analysis.sites.filter((s) => s.numeric && s.datum.type === "list"));
  const target = chooseSite(c);
  if (!from || !target) return null;
  let forms = [...c.draft.forms];
  const directives = new Map(c.draft.directives);
  const rename = new Map<string, string>();
  let imported = 0;
  const targetLeaves = leaves(target);
  for (const s of donor.analysis.sites) {
    if (s.datum.type !== "symbol" || !isPrefix(from.path, s.path) || !from.scope.has(s.datum.name)) continue;
    const name = s.datum.name;
    if (rename.has(name) || target.scope.get(name)?.numeric) continue;
    const def = donor.analysis.globals.get(name);
    const value = def ? (donor.draft.forms[def.form] as ListDatum).items[2] : undefined;
    if (value?.type === "number" && !c.analysis.names.has(name)) {
      forms = insertAt(forms, [target.path[0] + imported], list(sym("define"), sym(name), value));
      imported++;
      const line = donor.draft.directives.get(name);
      if (line) directives.set(name, line);
      rename.set(name, name);
    } else {
      const other = pick(c.rng, targetLeaves);
      if (!other) return null;
      rename.set(name, other);
    }
  }
  const renamed = renameFree(from.datum, rename);
  const path = [target.path[0] + imported, ...target.path.slice(1)];
  forms = replaceAt(forms, path, renamed);
  return { draft: { forms, directives }, edit: `crossover with #${donor.id} at ${where(target.datum)}` };
};

function renameFree(d: Datum, rename: ReadonlyMap<string, string>): Datum {
  if (d.type === "symbol") return rename.has(d.name) ? sym(rename.get(d.name)!) : d;
  if (d.type !== "list") return d;
  if (d.items[0]?.type === "symbol" && d.items[0].name === "quote") return d;
  // The operator keeps its name (it is a procedure, not one of the numeric variables renamed).
  return { ...d, items: d.items.map((x, i) => (i === 0 && x.type === "symbol" ? x : renameFree(x, rename))) };
}

/** simplify: one algebraic tidy-up (flatten nested sums/products, merge literals, drop identities). */
export const simplify: Edit = (c) => {
  const candidates: Edited[] = [];
  for (const s of c.analysis.sites) {
    const head = primitiveHead(s.datum, s, c.analysis.globals);
    if (!head) continue;
    const d = s.datum as ListDatum;
    const args = d.items.slice(1);
    const out = simplified(head, args);
    if (out && !sameDatum(out, d)) {
      candidates.push(edited(c, replaceAt(c.draft.forms, s.path, out), `simplify ${head} at ${where(d)}`));
    }
  }
  return pick(c.rng, candidates) ?? null;
};

/** One rewrite of `(head args…)` that keeps its value, or null. */
function simplified(head: string, args: readonly Datum[]): Datum | null {
  const isCall = (d: Datum, name: string): d is ListDatum =>
    d.type === "list" && d.items[0]?.type === "symbol" && d.items[0].name === name;
  const isInt = (d: Datum, v: number) => d.type === "number" && !d.decimal && d.value === v;
  if ((head === "+" || head === "*") && args.length === 1) return args[0];
  if (head === "+" || head === "*") {
    // (+ a (+ b c)) → (+ a b c)
    const i = args.findIndex((a) => isCall(a, head));
    if (i >= 0) {
      return call(head, ...args.slice(0, i), ...(args[i] as ListDatum).items.slice(1), ...args.slice(i + 1));
    }
    const identity = head === "+" ? 0 : 1;
    const j = args.findIndex((a) => isInt(a, identity));
    if (j >= 0 && args.length >= 2) {
      return args.length === 2 ? args[1 - j] : call(head, ...args.filter((_, k) => k !== j));
    }
    const decimals = args.flatMap((a, k) => (a.type === "number" && a.decimal ? [k] : []));
    if (decimals.length >= 2) {
      const [p, q] = decimals;
      const a = args[p] as NumberDatum, b = args[q] as NumberDatum;
      const merged = num(head === "+" ? a.value + b.value : a.value * b.value, true);
      const rest = args.filter((_, k) => k !== p && k !== q);
      return rest.length === 0 ? merged : call(head, merged, ...rest);
    }
  }
  if (head === "-" && args.length === 1 && isCall(args[0], "-") && args[0].items.length === 2) {
    return args[0].items[1];
  }
  if (head === "-" && args.length === 2 && isInt(args[1], 0)) return args[0];
  return null;
}

/**
 * Removes top-level definitions of values (not procedures) that nothing refers to, and the
 * directives of parameters that no longer exist (so a deleted term leaves no dead constant).
 */
export function tidy(draft: Draft): Draft {
  let forms = [...draft.forms];
  for (let changed = true; changed;) {
    changed = false;
    const used = new Set<string>();
    const note = (d: Datum, top: boolean): void => {
      if (d.type === "symbol") used.add(d.name);
      else if (d.type === "list") {
        const isDef = top && d.items[0]?.type === "symbol" && d.items[0].name === "define" &&
          d.items[1]?.type === "symbol";
        d.items.forEach((x, i) => (isDef && i === 1) || note(x, false));
        if (d.tail) note(d.tail, false);
      }
    };
    forms.forEach((f) => note(f, true));
    for (let i = 0; i < forms.length - 1; i++) {
      const f = forms[i];
      if (
        f.type === "list" && f.items.length === 3 && f.items[0].type === "symbol" &&
        f.items[0].name === "define" &&
        f.items[1].type === "symbol" && !used.has(f.items[1].name)
      ) {
        forms = forms.filter((_, k) => k !== i);
        changed = true;
        break;
      }
    }
  }
  return { forms, directives: draft.directives };
}
