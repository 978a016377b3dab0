/**
 * The expander: datums to core nodes (lib/expand/core.ts). It rewrites every derived
 * form of DESIGN §2 into the dozen core forms, turns internal defines into `letrec*`,
 * and reports malformed forms as `syntax` errors at the form's position. It knows
 * nothing about backends or runtime values.
 */
import { DmciError, type Span } from "../errors.ts";
import { type Datum, isSymbol, type ListDatum, type NumberDatum, type SymbolDatum } from "../read/datum.ts";
import type { LambdaNode, Node } from "./core.ts";

/**
 * The special forms of the language. As in R7RS, a local variable of the same name (a
 * formal, a `let`, `do` or internal-define binding) shadows one within its scope; a
 * top-level `define` of one is a syntax error (top-level forms have no scope to shadow it).
 */
export const SPECIAL_FORMS: ReadonlySet<string> = new Set([
  "quote",
  "if",
  "define",
  "set!",
  "lambda",
  "begin",
  "let",
  "let*",
  "letrec",
  "letrec*",
  "cond",
  "case",
  "and",
  "or",
  "when",
  "unless",
  "do",
]);

/** Options of `expandProgram`. */
export interface ExpandOptions {
  /** Parameter number of each decimal literal that is a parameter (by datum identity). */
  readonly params?: ReadonlyMap<NumberDatum, number>;
}

/**
 * Expands the top-level forms of a program into core nodes. Top-level `define`s
 * become `define` nodes; `(begin …)` at top level is spliced.
 *
 * @example
 * ```ts
 * import { read } from "../read/reader.ts";
 * const nodes = expandProgram(read("(define (f x) (* x x)) (f 3)", "a.scm"));
 * nodes[0].k; // "define"
 * ```
 */
export function expandProgram(forms: readonly Datum[], options: ExpandOptions = {}): Node[] {
  return new Expander(options.params).topLevel(forms);
}

type Scope = ReadonlySet<string>;
const EMPTY_SCOPE: Scope = new Set();

function syntaxError(message: string, at: Datum | Span): never {
  throw new DmciError("syntax", message, "span" in at ? at.span : at);
}

function show(d: Datum): string {
  switch (d.type) {
    case "number":
      return String(d.value);
    case "boolean":
      return d.value ? "#t" : "#f";
    case "string":
      return JSON.stringify(d.value);
    case "symbol":
      return d.name;
    case "list": {
      const inner = d.items.map(show).join(" ");
      const text = d.tail ? `(${inner} . ${show(d.tail)})` : `(${inner})`;
      return text.length > 60 ? text.slice(0, 57) + "...)" : text;
    }
  }
}

function withNames(scope: Scope, names: readonly string[]): Scope {
  if (names.length === 0) return scope;
  const out = new Set(scope);
  for (const n of names) out.add(n);
  return out;
}

class Expander {
  private gensyms = 0;
  constructor(private readonly params?: ReadonlyMap<NumberDatum, number>) {}

  /** A fresh variable name no program can write (it contains a space). */
  private temp(hint: string): string {
    return ` ${hint}${++this.gensyms}`;
  }

  topLevel(forms: readonly Datum[]): Node[] {
    const out: Node[] = [];
    const visit = (d: Datum): void => {
      const head = this.keyword(d, EMPTY_SCOPE);
      if (head === "begin") {
        for (const sub of (d as ListDatum).items.slice(1)) visit(sub);
      } else if (head === "define") {
        const { name, value, span } = this.define(d as ListDatum, EMPTY_SCOPE, true);
        out.push({ k: "define", name, value, span });
      } else out.push(this.expr(d, EMPTY_SCOPE));
    };
    for (const d of forms) visit(d);
    return out;
  }

  /** The special form a datum starts with, if any (and if not shadowed). */
  private keyword(d: Datum, scope: Scope): string | null {
    if (d.type !== "list" || d.items.length === 0) return null;
    const head = d.items[0];
    if (head.type === "symbol" && SPECIAL_FORMS.has(head.name) && !scope.has(head.name)) return head.name;
    return null;
  }

  expr(d: Datum, scope: Scope): Node {
    switch (d.type) {
      case "number": {
        const index = d.decimal ? this.params?.get(d) : undefined;
        return index === undefined
          ? { k: "const", value: d.value, span: d.span }
          : { k: "param", index, span: d.span };
      }
      case "boolean":
      case "string":
        return { k: "const", value: d.value, span: d.span };
      case "symbol":
        if (SPECIAL_FORMS.has(d.name) && !scope.has(d.name)) {
          syntaxError(`'${d.name}' is a special form, not a variable`, d);
        }
        return { k: "ref", name: d.name, span: d.span };
      case "list":
        return this.list(d, scope);
    }
  }

  private list(d: ListDatum, scope: Scope): Node {
    if (d.items.length === 0) syntaxError("empty combination (); to write the empty list use '()", d);
    if (d.tail !== null) syntaxError(`a call or form must be a proper list, got ${show(d)}`, d);
    const kw = this.keyword(d, scope);
    if (kw === null) {
      return {
        k: "call",
        fn: this.expr(d.items[0], scope),
        args: d.items.slice(1).map((a) => this.expr(a, scope)),
        span: d.span,
      };
    }
    switch (kw) {
      case "quote":
        this.arity(d, 1, 1);
        return { k: "quote", datum: d.items[1], span: d.span };
      case "if":
        this.arity(d, 2, 3);
        return {
          k: "if",
          test: this.expr(d.items[1], scope),
          then: this.expr(d.items[2], scope),
          else: d.items.length > 3 ? this.expr(d.items[3], scope) : null,
          span: d.span,
        };
      case "define":
        return syntaxError(
          "define is only allowed at top level or at the start of a body, got " + show(d),
          d,
        );
      case "set!": {
        this.arity(d, 2, 2);
        const target = d.items[1];
        if (target.type !== "symbol") {
          syntaxError(`set!: expected a variable name, got ${show(target)}`, target);
        }
        return { k: "set", name: target.name, value: this.expr(d.items[2], scope), span: d.span };
      }
      case "lambda":
        if (d.items.length < 3) syntaxError(`lambda: expected formals and a body, got ${show(d)}`, d);
        return this.lambda(d.items[1], d.items.slice(2), scope, null, d.span);
      case "begin":
        if (d.items.length < 2) syntaxError("begin: expected at least one expression", d);
        return this.sequence(d.items.slice(1), scope, d.span);
      case "let":
        return this.let(d, scope);
      case "let*":
        return this.letStar(d, scope);
      case "letrec":
      case "letrec*":
        return this.letrec(d, scope);
      case "cond":
        return this.cond(d, scope);
      case "case":
        return this.case(d, scope);
      case "and":
        return this.and(d.items.slice(1), scope, d.span);
      case "or":
        return this.or(d.items.slice(1), scope, d.span);
      case "when":
      case "unless": {
        if (d.items.length < 3) syntaxError(`${kw}: expected a test and at least one expression`, d);
        const test = this.expr(d.items[1], scope);
        const body = this.sequence(d.items.slice(2), scope, d.span);
        const none: Node = { k: "const", value: "unspecified", span: d.span };
        return kw === "when"
          ? { k: "if", test, then: body, else: none, span: d.span }
          : { k: "if", test, then: none, else: body, span: d.span };
      }
      case "do":
        return this.do(d, scope);
    }
    return syntaxError(`unknown special form ${kw}`, d);
  }

  private arity(d: ListDatum, min: number, max: number): void {
    const n = d.items.length - 1;
    if (n < min || n > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      syntaxError(`${show(d.items[0])}: expected ${want} operand(s), got ${n} in ${show(d)}`, d);
    }
  }

  /** A sequence of expressions (no definitions). */
  private sequence(forms: readonly Datum[], scope: Scope, span: Span): Node {
    const body = forms.map((f) => this.expr(f, scope));
    return body.length === 1 ? body[0] : { k: "begin", body, span };
  }

  /** `(define name e)` or `(define (name . formals) body…)`, as name and expanded value. */
  private define(d: ListDatum, scope: Scope, topLevel: boolean): { name: string; value: Node; span: Span } {
    if (d.tail !== null || d.items.length < 2) syntaxError(`define: malformed definition ${show(d)}`, d);
    const target = d.items[1];
    if (target.type === "symbol") {
      if (d.items.length !== 3) syntaxError(`define: expected a name and one expression, got ${show(d)}`, d);
      if (topLevel) this.checkGlobal(target);
      const value = this.expr(d.items[2], withNames(scope, [target.name]));
      return { name: target.name, value: this.named(value, target.name), span: d.span };
    }
    if (target.type === "list" && target.items.length > 0 && target.items[0].type === "symbol") {
      if (d.items.length < 3) syntaxError(`define: procedure ${show(target)} has no body`, d);
      const name = target.items[0] as SymbolDatum;
      if (topLevel) this.checkGlobal(name);
      const formals: Datum = { ...target, items: target.items.slice(1), span: target.span };
      const inner = withNames(scope, [name.name]);
      return {
        name: name.name,
        value: this.lambda(formals, d.items.slice(2), inner, name.name, d.span),
        span: d.span,
      };
    }
    return syntaxError(`define: expected a name or (name formals…), got ${show(target)}`, target);
  }

  /** A global cannot take a special form's name: top-level forms have no scope that could shadow it. */
  private checkGlobal(s: SymbolDatum): void {
    if (SPECIAL_FORMS.has(s.name)) syntaxError(`cannot bind the special form name '${s.name}'`, s);
  }

  private named(value: Node, name: string): Node {
    return value.k === "lambda" && value.name === null ? { ...value, name } : value;
  }

  private lambda(
    formals: Datum,
    body: readonly Datum[],
    scope: Scope,
    name: string | null,
    span: Span,
  ): LambdaNode {
    const params: string[] = [];
    let rest: string | null = null;
    if (formals.type === "symbol") {
      rest = formals.name;
    } else if (formals.type === "list") {
      for (const p of formals.items) {
        if (p.type !== "symbol") syntaxError(`lambda: formal parameter must be a symbol, got ${show(p)}`, p);
        if (params.includes(p.name)) syntaxError(`lambda: duplicate parameter '${p.name}'`, p);
        params.push(p.name);
      }
      if (formals.tail !== null) {
        if (formals.tail.type !== "symbol") {
          syntaxError(`lambda: rest parameter must be a symbol, got ${show(formals.tail)}`, formals.tail);
        }
        rest = formals.tail.name;
      }
    } else syntaxError(`lambda: expected a list of formals or a symbol, got ${show(formals)}`, formals);
    const inner = withNames(scope, rest === null ? params : [...params, rest]);
    return { k: "lambda", params, rest, body: this.body(body, inner, span), name, span };
  }

  /** A body: internal definitions (with `letrec*` meaning) followed by at least one expression. */
  body(forms: readonly Datum[], scope: Scope, span: Span): Node {
    const defs: ListDatum[] = [];
    const exprs: Datum[] = [];
    const visit = (d: Datum): void => {
      const kw = this.keyword(d, scope);
      if (kw === "begin" && exprs.length === 0) {
        for (const sub of (d as ListDatum).items.slice(1)) visit(sub);
      } else if (kw === "define") {
        if (exprs.length > 0) {
          syntaxError("define: definitions must come before the expressions of a body", d);
        }
        defs.push(d as ListDatum);
      } else exprs.push(d);
    };
    for (const f of forms) visit(f);
    if (exprs.length === 0) syntaxError("body has no expression after its definitions", span);
    if (defs.length === 0) return this.sequence(exprs, scope, span);
    const names = defs.map((d) => {
      const t = d.items[1];
      const s = t?.type === "list" ? t.items[0] : t;
      if (!s || s.type !== "symbol") syntaxError(`define: malformed definition ${show(d)}`, d);
      return s.name;
    });
    const inner = withNames(scope, names);
    const values = defs.map((d) => this.define(d, inner, false).value);
    return { k: "letrec", names, values, body: this.sequence(exprs, inner, span), span };
  }

  /** Bindings `((name init) …)` as names and init datums. */
  private bindings(
    d: Datum,
    form: string,
    requireInit = true,
  ): { names: SymbolDatum[]; inits: Datum[]; rest: Datum[][] } {
    if (d.type !== "list" || d.tail !== null) {
      syntaxError(`${form}: expected a list of bindings, got ${show(d)}`, d);
    }
    const names: SymbolDatum[] = [];
    const inits: Datum[] = [];
    const rest: Datum[][] = [];
    for (const b of d.items) {
      if (
        b.type !== "list" || b.tail !== null || b.items.length < (requireInit ? 2 : 1) ||
        b.items[0].type !== "symbol"
      ) {
        syntaxError(`${form}: expected a binding (name expression), got ${show(b)}`, b);
      }
      if (form !== "do" && b.items.length !== 2) {
        syntaxError(`${form}: expected a binding (name expression), got ${show(b)}`, b);
      }
      const name = b.items[0] as SymbolDatum;
      if (names.some((n) => n.name === name.name)) {
        syntaxError(`${form}: duplicate binding of '${name.name}'`, name);
      }
      names.push(name);
      inits.push(b.items[1]);
      rest.push(b.items.slice(2));
    }
    return { names, inits, rest };
  }

  private let(d: ListDatum, scope: Scope): Node {
    if (d.items.length < 3) syntaxError(`let: expected bindings and a body, got ${show(d)}`, d);
    if (isSymbol(d.items[1])) {
      // Named let: (let loop ((v init) …) body) = ((letrec ((loop (lambda (v …) body))) loop) init …)
      if (d.items.length < 4) syntaxError(`let: named let needs bindings and a body, got ${show(d)}`, d);
      const loop = d.items[1] as SymbolDatum;
      const { names, inits } = this.bindings(d.items[2], "let");
      const formals: Datum = { type: "list", items: names, tail: null, span: d.items[2].span };
      const inner = withNames(scope, [loop.name]);
      const fn = this.lambda(formals, d.items.slice(3), inner, loop.name, d.span);
      return {
        k: "call",
        fn: {
          k: "letrec",
          names: [loop.name],
          values: [fn],
          body: { k: "ref", name: loop.name, span: loop.span },
          span: d.span,
        },
        args: inits.map((i) => this.expr(i, scope)),
        span: d.span,
      };
    }
    const { names, inits } = this.bindings(d.items[1], "let");
    const ns = names.map((n) => n.name);
    return {
      k: "let",
      names: ns,
      values: inits.map((i, j) => this.named(this.expr(i, scope), ns[j])),
      body: this.body(d.items.slice(2), withNames(scope, ns), d.span),
      span: d.span,
    };
  }

  private letStar(d: ListDatum, scope: Scope): Node {
    if (d.items.length < 3) syntaxError(`let*: expected bindings and a body, got ${show(d)}`, d);
    const b = d.items[1];
    if (b.type !== "list" || b.tail !== null) {
      syntaxError(`let*: expected a list of bindings, got ${show(b)}`, b);
    }
    const go = (i: number, sc: Scope): Node => {
      if (i === b.items.length) return this.body(d.items.slice(2), sc, d.span);
      const one: ListDatum = { type: "list", items: [b.items[i]], tail: null, span: b.items[i].span };
      const { names, inits } = this.bindings(one, "let*");
      const name = names[0].name;
      return {
        k: "let",
        names: [name],
        values: [this.named(this.expr(inits[0], sc), name)],
        body: go(i + 1, withNames(sc, [name])),
        span: d.span,
      };
    };
    return go(0, scope);
  }

  private letrec(d: ListDatum, scope: Scope): Node {
    const form = (d.items[0] as SymbolDatum).name;
    if (d.items.length < 3) syntaxError(`${form}: expected bindings and a body, got ${show(d)}`, d);
    const { names, inits } = this.bindings(d.items[1], form);
    const ns = names.map((n) => n.name);
    const inner = withNames(scope, ns);
    return {
      k: "letrec",
      names: ns,
      values: inits.map((i, j) => this.named(this.expr(i, inner), ns[j])),
      body: this.body(d.items.slice(2), inner, d.span),
      span: d.span,
    };
  }

  private cond(d: ListDatum, scope: Scope): Node {
    const clauses = d.items.slice(1);
    if (clauses.length === 0) syntaxError("cond: expected at least one clause", d);
    const go = (i: number): Node => {
      if (i === clauses.length) return { k: "const", value: "unspecified", span: d.span };
      const c = clauses[i];
      if (c.type !== "list" || c.tail !== null || c.items.length === 0) {
        syntaxError(`cond: expected a clause (test expression …), got ${show(c)}`, c);
      }
      if (isSymbol(c.items[0], "else") && !scope.has("else")) {
        if (i !== clauses.length - 1) syntaxError("cond: else clause must be the last clause", c);
        if (c.items.length < 2) syntaxError("cond: else clause needs at least one expression", c);
        return this.sequence(c.items.slice(1), scope, c.span);
      }
      const test = this.expr(c.items[0], scope);
      if (c.items.length === 1) {
        // (cond (test) …): the value of test when true.
        const t = this.temp("cond");
        const ref: Node = { k: "ref", name: t, span: c.span };
        return {
          k: "let",
          names: [t],
          values: [test],
          body: { k: "if", test: ref, then: ref, else: go(i + 1), span: c.span },
          span: c.span,
        };
      }
      if (isSymbol(c.items[1], "=>") && !scope.has("=>")) {
        if (c.items.length !== 3) syntaxError(`cond: expected (test => receiver), got ${show(c)}`, c);
        const t = this.temp("cond");
        const ref: Node = { k: "ref", name: t, span: c.span };
        const call: Node = { k: "call", fn: this.expr(c.items[2], scope), args: [ref], span: c.span };
        return {
          k: "let",
          names: [t],
          values: [test],
          body: { k: "if", test: ref, then: call, else: go(i + 1), span: c.span },
          span: c.span,
        };
      }
      return {
        k: "if",
        test,
        then: this.sequence(c.items.slice(1), scope, c.span),
        else: go(i + 1),
        span: c.span,
      };
    };
    return go(0);
  }

  private case(d: ListDatum, scope: Scope): Node {
    if (d.items.length < 3) syntaxError(`case: expected a key and at least one clause, got ${show(d)}`, d);
    const key = this.temp("key");
    const keyRef: Node = { k: "ref", name: key, span: d.span };
    const clauses = d.items.slice(2);
    const go = (i: number): Node => {
      if (i === clauses.length) return { k: "const", value: "unspecified", span: d.span };
      const c = clauses[i];
      if (c.type !== "list" || c.tail !== null || c.items.length < 2) {
        syntaxError(`case: expected a clause ((datum …) expression …), got ${show(c)}`, c);
      }
      const isElse = isSymbol(c.items[0], "else") && !scope.has("else");
      if (isElse && i !== clauses.length - 1) syntaxError("case: else clause must be the last clause", c);
      let body: Node;
      if (isSymbol(c.items[1], "=>") && !scope.has("=>")) {
        if (c.items.length !== 3) syntaxError(`case: expected (datums => receiver), got ${show(c)}`, c);
        body = { k: "call", fn: this.expr(c.items[2], scope), args: [keyRef], span: c.span };
      } else body = this.sequence(c.items.slice(1), scope, c.span);
      if (isElse) return body;
      const data = c.items[0];
      if (data.type !== "list" || data.tail !== null) {
        syntaxError(`case: expected a list of datums, got ${show(data)}`, data);
      }
      const tests: Node[] = data.items.map((datum) => ({
        k: "primcall",
        prim: "eqv?",
        args: [keyRef, { k: "quote", datum, span: datum.span }],
        span: datum.span,
      }));
      const test = tests.reduceRight<Node>(
        (acc, t) => ({
          k: "if",
          test: t,
          then: { k: "const", value: true, span: c.span },
          else: acc,
          span: c.span,
        }),
        { k: "const", value: false, span: c.span },
      );
      return { k: "if", test, then: body, else: go(i + 1), span: c.span };
    };
    return { k: "let", names: [key], values: [this.expr(d.items[1], scope)], body: go(0), span: d.span };
  }

  private and(args: readonly Datum[], scope: Scope, span: Span): Node {
    if (args.length === 0) return { k: "const", value: true, span };
    const first = this.expr(args[0], scope);
    if (args.length === 1) return first;
    return {
      k: "if",
      test: first,
      then: this.and(args.slice(1), scope, span),
      else: { k: "const", value: false, span },
      span,
    };
  }

  private or(args: readonly Datum[], scope: Scope, span: Span): Node {
    if (args.length === 0) return { k: "const", value: false, span };
    const first = this.expr(args[0], scope);
    if (args.length === 1) return first;
    const t = this.temp("or");
    const ref: Node = { k: "ref", name: t, span };
    return {
      k: "let",
      names: [t],
      values: [first],
      body: { k: "if", test: ref, then: ref, else: this.or(args.slice(1), scope, span), span },
      span,
    };
  }

  /** `(do ((var init step) …) (test result …) command …)` as a named-let loop. */
  private do(d: ListDatum, scope: Scope): Node {
    if (d.items.length < 3) syntaxError(`do: expected bindings and (test result …), got ${show(d)}`, d);
    const { names, inits, rest } = this.bindings(d.items[1], "do", true);
    for (let i = 0; i < rest.length; i++) {
      if (rest[i].length > 1) {
        syntaxError(`do: expected (variable init [step]), got too many parts`, names[i]);
      }
    }
    const exit = d.items[2];
    if (exit.type !== "list" || exit.tail !== null || exit.items.length === 0) {
      syntaxError(`do: expected (test result …), got ${show(exit)}`, exit);
    }
    const loop = this.temp("do");
    const ns = names.map((n) => n.name);
    const inner = withNames(scope, ns);
    const steps: Node[] = names.map((n, i) =>
      rest[i].length ? this.expr(rest[i][0], inner) : { k: "ref", name: n.name, span: n.span }
    );
    const result: Node = exit.items.length > 1
      ? this.sequence(exit.items.slice(1), inner, exit.span)
      : { k: "const", value: "unspecified", span: exit.span };
    const again: Node = { k: "call", fn: { k: "ref", name: loop, span: d.span }, args: steps, span: d.span };
    const commands = d.items.slice(3).map((c) => this.expr(c, inner));
    const body: Node = {
      k: "if",
      test: this.expr(exit.items[0], inner),
      then: result,
      else: commands.length ? { k: "begin", body: [...commands, again], span: d.span } : again,
      span: d.span,
    };
    const fn: Node = { k: "lambda", params: ns, rest: null, body, name: "do", span: d.span };
    return {
      k: "call",
      fn: {
        k: "letrec",
        names: [loop],
        values: [fn],
        body: { k: "ref", name: loop, span: d.span },
        span: d.span,
      },
      args: inits.map((i) => this.expr(i, scope)),
      span: d.span,
    };
  }
}
