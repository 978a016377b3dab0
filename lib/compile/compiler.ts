/**
 * The compiler: core nodes to JavaScript source run against a Runtime (`R`). Calls of
 * primitives become direct calls with the call site passed first; calls of procedure
 * values trampoline tail calls (proper tail calls in constant stack) and count depth;
 * a procedure's tail calls to itself become a loop. The output is plain source text,
 * independent of the backend; `instantiate` binds it to one Runtime.
 */
import type { Span } from "../errors.ts";
import type { Datum, NumberDatum } from "../read/datum.ts";
import { containsParam, datumToValue } from "../read/datum_value.ts";
import { children, type LambdaNode, type Node } from "../expand/core.ts";
import { PRIMITIVE_BY_NAME } from "../primitives.ts";
import type { Runtime } from "./runtime.ts";

/** Compiled code of a program, before it is bound to a runtime. */
export interface CompiledCode {
  /** JS source of a function (R, P, F, S, K) returning run($p, G, Q). */
  readonly source: string;
  /** Call-site spans referenced as S[i]. */
  readonly spans: readonly Span[];
  /** Quoted constants without parameters, referenced as K[i]. */
  readonly constants: readonly unknown[];
  /** Quoted data containing parameters, rebuilt per run and referenced as Q[i]. */
  readonly paramQuotes: readonly Datum[];
}

/** The entry point of compiled code bound to a runtime. */
export type RunFn = (
  params: readonly unknown[],
  globals: Record<string, unknown>,
  quotes: readonly unknown[],
) => unknown;

/** Options of `compile`. */
export interface CompileOptions {
  /** Decimal literals that are parameters (by datum identity), for quoted data. */
  readonly params?: ReadonlyMap<NumberDatum, number>;
  /**
   * Globals may be redefined by code compiled later (the REPL): then no call is inlined as a
   * primitive and no global procedure's tail calls to its own name become a loop, so a later
   * redefinition reaches every earlier caller, as in R7RS.
   */
  readonly openGlobals?: boolean;
}

/** Number of times `compile` has run in this process (tests count compilations). */
export let compileCount = 0;

/**
 * Compiles the top-level nodes of a program. The program's value is its last
 * expression's value (unspecified if it has none).
 *
 * @example
 * ```ts
 * import { read } from "../read/reader.ts";
 * import { expandProgram } from "../expand/expander.ts";
 * const code = compile(expandProgram(read("(+ 1 2)", "a.scm")));
 * ```
 */
export function compile(nodes: readonly Node[], options: CompileOptions = {}): CompiledCode {
  compileCount++;
  return new Compiler(nodes, options).program();
}

const instances = new WeakMap<CompiledCode, WeakMap<Runtime, RunFn>>();

/** Binds compiled code to a runtime (once per pair; later calls reuse the function). */
export function instantiate(code: CompiledCode, rt: Runtime): RunFn {
  let byRt = instances.get(code);
  if (!byRt) instances.set(code, byRt = new WeakMap());
  let run = byRt.get(rt);
  if (!run) {
    // The JS text is made distinct per backend (by a comment) so that V8 keeps the type
    // feedback and optimised code of each backend's instance apart: shared, the code would
    // see the values of every backend and be optimised for none.
    const source = `${code.source}\n// on ${rt.backend.name}`;
    const make = new Function("R", "P", "F", "S", "K", source) as (...a: unknown[]) => RunFn;
    run = make(rt, rt.prims, rt.procs, code.spans, code.constants);
    byRt.set(rt, run);
  }
  return run;
}

interface Binding {
  readonly js: string;
  /** Bound to a lambda and never assigned: calls need no procedure check. */
  readonly lambda: LambdaNode | null;
  /**
   * A `letrec` variable referenced from that letrec's initialisers, where it may not be
   * initialised yet: each reference checks (R7RS makes such a use an error).
   */
  readonly uninit?: boolean;
}
type Scope = ReadonlyMap<string, Binding>;

type Dest = { readonly kind: "return" } | { readonly kind: "assign"; readonly to: string } | {
  readonly kind: "drop";
};
const RETURN: Dest = { kind: "return" };
const DROP: Dest = { kind: "drop" };

/** A function being emitted: its statement lines, and the self-loop it may contain. */
interface Fn {
  lines: string[];
  /** The binding of the procedure itself (local) or its global name, for self tail calls. */
  readonly self: {
    readonly binding: Binding | null;
    readonly global: string | null;
    readonly params: readonly string[];
  } | null;
  /** True once a self tail call was emitted (the body is then wrapped in a loop). */
  looped: boolean;
}

/** How many tail calls may be in progress as host calls before one becomes a TailCall. */
const TAIL_BUDGET = 64;

const JS_IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function mangle(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, (c) => `$${c.charCodeAt(0).toString(36)}`);
}

function isLiteral(expr: string): boolean {
  return /^(-?[0-9.e+-]+|true|false|"(?:[^"\\]|\\.)*"|R\.U|NaN|-?Infinity|\(-[0-9.e+-]+\))$/.test(expr);
}

/**
 * More arguments than this are passed as one spread array literal: V8 refuses to compile a
 * call expression with more than 65,525 arguments (a SyntaxError), but not a spread.
 */
const MAX_LISTED_ARGS = 10_000;

/** A JS call expression of `callee` with argument expressions `args`, evaluated left to right. */
function jsCall(callee: string, args: readonly string[]): string {
  const list = args.join(", ");
  return args.length > MAX_LISTED_ARGS ? `${callee}(...[${list}])` : `${callee}(${list})`;
}

class Compiler {
  private readonly spans: Span[] = [];
  private readonly spanIndex = new Map<Span, number>();
  private readonly constants: unknown[] = [];
  private readonly paramQuotes: Datum[] = [];
  private readonly primsUsed = new Map<string, string>();
  private readonly procsUsed = new Map<string, string>();
  private counter = 0;
  /** Globals that are defined more than once or assigned: neither inlined nor loop-optimised. */
  private readonly unstableGlobals = new Set<string>();
  private readonly definedGlobals = new Set<string>();
  /** Stable globals defined by a lambda: once bound they hold a procedure. */
  private readonly lambdaGlobals = new Set<string>();
  /** Names assigned by set! anywhere (conservatively, by name). */
  private readonly assigned = new Set<string>();
  /** JS names of local variables that set! may assign; other locals and temporaries never change. */
  private readonly mutableJs = new Set<string>();
  /**
   * JS variables of the globals the program defines or assigns (unless globals are open): a
   * variable of the run function, initialised from G, is much faster than a property of G.
   */
  private readonly globalJs = new Map<string, string>();
  /** Temporaries (see `temp`): a `let` may take one as its variable. */
  private readonly temps = new Set<string>();

  constructor(private readonly nodes: readonly Node[], private readonly options: CompileOptions) {
    const defineCount = new Map<string, number>();
    const visit = (n: Node): void => {
      if (n.k === "define") {
        defineCount.set(n.name, (defineCount.get(n.name) ?? 0) + 1);
        if (n.value.k === "lambda") this.lambdaGlobals.add(n.name);
      } else if (n.k === "set") this.assigned.add(n.name);
      children(n).forEach(visit);
    };
    nodes.forEach(visit);
    for (const [name, count] of defineCount) {
      this.definedGlobals.add(name);
      if (count > 1) this.unstableGlobals.add(name);
    }
    for (const name of this.assigned) this.unstableGlobals.add(name);
    for (const name of this.lambdaGlobals) {
      if (this.unstableGlobals.has(name) || options.openGlobals) this.lambdaGlobals.delete(name);
    }
    if (!options.openGlobals) {
      for (const name of [...this.definedGlobals, ...this.assigned]) {
        if (!this.globalJs.has(name)) this.globalJs.set(name, `g_${mangle(name)}`);
      }
    }
  }

  program(): CompiledCode {
    const fn: Fn = { lines: [], self: null, looped: false };
    const body = this.nodes;
    if (body.length === 0) fn.lines.push("return R.U;");
    body.forEach((n, i) => this.stmt(n, i === body.length - 1 ? RETURN : DROP, new Map(), fn));
    if (body.length > 0 && body[body.length - 1].k === "define") fn.lines.push("return R.U;");
    const prologue = [
      '"use strict";',
      "const TC = R.TC;",
      ...[...this.primsUsed].map(([name, js]) => `const ${js} = P[${JSON.stringify(name)}];`),
      ...[...this.procsUsed].map(([name, js]) => `const ${js} = F[${JSON.stringify(name)}];`),
    ];
    const source = [
      ...prologue,
      "return function run($p, G, Q) {",
      // (var: closures read these without the checks of let's temporal dead zone)
      ...[...this.globalJs].map(([name, js]) => `var ${js} = G[${JSON.stringify(name)}];`),
      ...fn.lines,
      "};",
    ].join("\n");
    return { source, spans: this.spans, constants: this.constants, paramQuotes: this.paramQuotes };
  }

  /** Where global `name` is kept: its JS variable, or its property of G. */
  private global(name: string): string {
    return this.globalJs.get(name) ?? `G[${JSON.stringify(name)}]`;
  }

  private fresh(hint: string): string {
    return `${hint}${++this.counter}`;
  }

  /** A fresh temporary: a JS variable assigned once, before any use, and never after. */
  private temp(hint: string): string {
    const t = this.fresh(hint);
    this.temps.add(t);
    return t;
  }

  /** A fresh JS name for the local variable `name`. */
  private local(name: string): string {
    const js = this.fresh(`v_${mangle(name)}_`);
    if (this.assigned.has(name)) this.mutableJs.add(js);
    return js;
  }

  private site(span: Span): string {
    let i = this.spanIndex.get(span);
    if (i === undefined) {
      i = this.spans.length;
      this.spans.push(span);
      this.spanIndex.set(span, i);
    }
    return `S[${i}]`;
  }

  /** The primitive a callee names, if it is a global primitive no one redefines. */
  private knownPrim(n: Node, scope: Scope): string | null {
    if (
      n.k !== "ref" || this.options.openGlobals || scope.has(n.name) || this.definedGlobals.has(n.name) ||
      this.unstableGlobals.has(n.name)
    ) {
      return null;
    }
    return PRIMITIVE_BY_NAME.has(n.name) ? n.name : null;
  }

  private primRef(name: string): string {
    let js = this.primsUsed.get(name);
    if (!js) this.primsUsed.set(name, js = `p_${mangle(name)}`);
    return js;
  }

  private procRef(name: string): string {
    let js = this.procsUsed.get(name);
    if (!js) this.procsUsed.set(name, js = `f_${mangle(name)}`);
    return js;
  }

  private deliver(expr: string, dest: Dest, fn: Fn): void {
    if (dest.kind === "return") fn.lines.push(`return ${expr};`);
    else if (dest.kind === "assign") fn.lines.push(`${dest.to} = ${expr};`);
    else if (!isLiteral(expr) && !JS_IDENT.test(expr)) fn.lines.push(`${expr};`);
  }

  /** Emits statements that deliver the value of `n` to `dest`. */
  private stmt(n: Node, dest: Dest, scope: Scope, fn: Fn): void {
    switch (n.k) {
      case "if": {
        const test = this.expr(n.test, scope, fn);
        fn.lines.push(`if (${test} !== false) {`);
        this.stmt(n.then, dest, scope, fn);
        fn.lines.push("} else {");
        if (n.else) this.stmt(n.else, dest, scope, fn);
        else this.deliver("R.U", dest, fn);
        fn.lines.push("}");
        return;
      }
      case "begin":
        n.body.forEach((b, i) => this.stmt(b, i === n.body.length - 1 ? dest : DROP, scope, fn));
        return;
      case "let": {
        const inner = new Map(scope);
        const decls: string[] = [];
        n.values.forEach((v, i) => {
          // Each value is evaluated (and declared) before the next, left to right.
          const value = this.expr(v, scope, fn);
          if (this.temps.has(value) && !this.assigned.has(n.names[i])) {
            // A temporary the value was just delivered to is the variable: one register less
            // in the frame (unoptimised frames keep one per variable; deep recursion fills them).
            decls.push(value);
            return;
          }
          const js = this.local(n.names[i]);
          fn.lines.push(`let ${js} = ${value};`);
          decls.push(js);
        });
        n.names.forEach((name, i) => {
          const v = n.values[i];
          inner.set(name, { js: decls[i], lambda: v.k === "lambda" && !this.assigned.has(name) ? v : null });
        });
        this.stmt(n.body, dest, inner, fn);
        return;
      }
      case "letrec": {
        // Initialisers run in order; lambdas run nothing, so before the first initialiser that
        // is not a lambda every variable is initialised, and only later ones need checks.
        const firstRun = n.values.findIndex((v) => v.k !== "lambda");
        const init = new Map(scope);
        const inner = new Map(scope);
        const js = n.names.map((name) => this.local(name));
        n.names.forEach((name, i) => {
          const v = n.values[i];
          const lambda = v.k === "lambda" && !this.assigned.has(name) ? v : null;
          inner.set(name, { js: js[i], lambda });
          init.set(name, { js: js[i], lambda, uninit: firstRun >= 0 && i >= firstRun });
        });
        fn.lines.push(`let ${js.join(", ")};`);
        n.values.forEach((v, i) => {
          const b = init.get(n.names[i])!;
          const value = v.k === "lambda"
            ? this.lambda(v, init, b.lambda ? b : null, null)
            : this.expr(v, init, fn);
          fn.lines.push(`${js[i]} = ${value};`);
        });
        this.stmt(n.body, dest, inner, fn);
        return;
      }
      case "set": {
        const value = this.expr(n.value, scope, fn);
        const b = scope.get(n.name);
        if (b) fn.lines.push(`${b.js} = ${value};`);
        else {
          const g = this.global(n.name);
          fn.lines.push(
            `if (${g} === undefined) R.unbound(${JSON.stringify(n.name)}, ${this.site(n.span)});`,
            `${g} = ${value};`,
          );
        }
        this.deliver("R.U", dest, fn);
        return;
      }
      case "define": {
        const stable = !this.unstableGlobals.has(n.name) && !this.options.openGlobals;
        const value = n.value.k === "lambda"
          ? this.lambda(n.value, scope, null, stable ? n.name : null)
          : this.expr(n.value, scope, fn);
        fn.lines.push(`${this.global(n.name)} = ${value};`);
        this.deliver("R.U", dest, fn);
        return;
      }
      case "call":
        if (dest.kind === "return") return this.tailCall(n, scope, fn);
        return this.deliver(this.expr(n, scope, fn), dest, fn);
      default:
        return this.deliver(this.expr(n, scope, fn), dest, fn);
    }
  }

  /** A JS expression for the value of `n`; statements it needs are emitted first. */
  private expr(n: Node, scope: Scope, fn: Fn): string {
    switch (n.k) {
      case "const":
        if (n.value === "unspecified") return "R.U";
        if (typeof n.value === "number") {
          if (Number.isNaN(n.value)) return "NaN";
          if (Object.is(n.value, -0)) return "(-0)";
          return n.value < 0 ? `(${n.value})` : String(n.value);
        }
        return JSON.stringify(n.value);
      case "param":
        return `$p[${n.index}]`;
      case "quote":
        return this.quote(n.datum);
      case "ref": {
        const b = scope.get(n.name);
        if (b?.uninit) return `(${b.js} ?? R.uninit(${JSON.stringify(n.name)}, ${this.site(n.span)}))`;
        if (b) return b.js;
        if (this.knownPrim(n, scope)) return this.procRef(n.name);
        return `(${this.global(n.name)} ?? R.unbound(${JSON.stringify(n.name)}, ${this.site(n.span)}))`;
      }
      case "lambda":
        return this.lambda(n, scope, null, null);
      case "if": {
        const test = this.expr(n.test, scope, fn);
        const mark = fn.lines.length;
        const a = this.expr(n.then, scope, fn);
        const b = n.else ? this.expr(n.else, scope, fn) : "R.U";
        if (fn.lines.length === mark) return `(${test} !== false ? ${a} : ${b})`;
        fn.lines.length = mark; // branches need statements: emit an if statement instead
        const t = this.temp("t");
        fn.lines.push(`let ${t};`);
        fn.lines.push(`if (${test} !== false) {`);
        this.stmt(n.then, { kind: "assign", to: t }, scope, fn);
        fn.lines.push("} else {");
        if (n.else) this.stmt(n.else, { kind: "assign", to: t }, scope, fn);
        else fn.lines.push(`${t} = R.U;`);
        fn.lines.push("}");
        return t;
      }
      case "begin":
        n.body.slice(0, -1).forEach((b) => this.stmt(b, DROP, scope, fn));
        return this.expr(n.body[n.body.length - 1], scope, fn);
      case "call":
        return this.call(n, scope, fn);
      case "primcall": {
        const args = this.args(n.args, scope, fn);
        return jsCall(this.primRef(n.prim), [this.site(n.span), ...args]);
      }
      default: {
        const t = this.temp("t");
        fn.lines.push(`let ${t};`);
        this.stmt(n, { kind: "assign", to: t }, scope, fn);
        return t;
      }
    }
  }

  private quote(d: Datum): string {
    if (d.type === "number" || d.type === "boolean" || d.type === "string") {
      return this.expr(
        d.type === "number" && d.decimal && this.options.params?.has(d)
          ? { k: "param", index: this.options.params.get(d)!, span: d.span }
          : { k: "const", value: d.value, span: d.span },
        new Map(),
        { lines: [], self: null, looped: false },
      );
    }
    const params = this.options.params;
    if (params && containsParam(d, (x) => params.has(x))) {
      this.paramQuotes.push(d);
      return `Q[${this.paramQuotes.length - 1}]`;
    }
    this.constants.push(datumToValue(d));
    return `K[${this.constants.length - 1}]`;
  }

  /**
   * Argument expressions, evaluated left to right: when a later argument needs
   * statements, the earlier ones that those statements could change (globals, locals
   * that set! assigns, calls) are first saved in temporaries.
   */
  private args(nodes: readonly Node[], scope: Scope, fn: Fn): string[] {
    const out: string[] = [];
    for (const a of nodes) {
      const mark = fn.lines.length;
      const e = this.expr(a, scope, fn);
      if (fn.lines.length > mark) {
        const saves: string[] = [];
        for (let i = 0; i < out.length; i++) {
          if (!isLiteral(out[i]) && !(JS_IDENT.test(out[i]) && !this.mutableJs.has(out[i]))) {
            const t = this.fresh("a");
            saves.push(`const ${t} = ${out[i]};`);
            out[i] = t;
          }
        }
        fn.lines.splice(mark, 0, ...saves);
      }
      out.push(e);
    }
    return out;
  }

  /** A non-tail call as an expression. */
  private call(n: Node & { k: "call" }, scope: Scope, fn: Fn): string {
    const prim = this.knownPrim(n.fn, scope);
    if (prim) {
      const p = PRIMITIVE_BY_NAME.get(prim)!;
      const site = this.site(n.span);
      if (n.args.length < p.arity[0] || n.args.length > p.arity[1]) {
        // A wrong argument count is a run-time error (R7RS), raised when the call is reached.
        fn.lines.push(
          `R.arityError(${JSON.stringify(prim)}, ${p.arity[0]}, ${p.arity[1]}, ${n.args.length}, ${site});`,
        );
        return "R.U";
      }
      const args = this.args(n.args, scope, fn);
      const expr = jsCall(this.primRef(prim), [site, ...args]);
      if (!p.callsProcedures) return expr;
      const t = this.temp("r");
      fn.lines.push(`const ${t} = ${expr};`);
      return t;
    }
    const [f, ...args] = this.callParts(n, scope, fn);
    const t = this.temp("r");
    fn.lines.push(
      `R.site = ${this.site(n.span)};`,
      `if (++R.depth > R.maxDepth) R.tooDeep(R.site);`,
      `let ${t} = ${jsCall(f, args)};`,
      // Bounce before leaving: work reached through the callee's tail calls is still this depth.
      ...this.bounceInline(t),
      `R.depth--;`,
    );
    return t;
  }

  /**
   * Statements that run the pending tail calls in `t` until a value results: R.bounce written
   * out, so that a deep non-tail recursion whose callees return TailCalls keeps one host frame
   * per level (the caller's) instead of two (the caller's and R.bounce's).
   */
  private bounceInline(t: string): string[] {
    // (no named temporaries: an unoptimised frame keeps a register for each, and a cold deep
    // recursion runs in unoptimised frames; a TailCall's callee is always a procedure)
    return [`while (${t} instanceof TC) {`, `R.site = ${t}.site;`, `${t} = ${t}.f(...${t}.args);`, `}`];
  }

  /** Callee and argument expressions of a call through a procedure value; the callee is checked. */
  private callParts(n: Node & { k: "call" }, scope: Scope, fn: Fn): string[] {
    const parts = this.args([n.fn, ...n.args], scope, fn);
    // A variable bound to a lambda and never assigned holds a procedure (a global one once it
    // is bound at all, which its reference checks): no check, and no temporary for it.
    const known = n.fn.k === "ref" &&
      (scope.has(n.fn.name) ? scope.get(n.fn.name)!.lambda !== null : this.lambdaGlobals.has(n.fn.name));
    if (known) return parts;
    if (!JS_IDENT.test(parts[0])) {
      const t = this.fresh("f");
      fn.lines.push(`const ${t} = ${parts[0]};`);
      parts[0] = t;
    }
    fn.lines.push(
      `if (typeof ${parts[0]} !== "function") R.notProcedure(${parts[0]}, ${this.site(n.span)});`,
    );
    return parts;
  }

  /** A call in tail position: a self call loops, a primitive is called, anything else is a TailCall. */
  private tailCall(n: Node & { k: "call" }, scope: Scope, fn: Fn): void {
    const self = fn.self;
    if (self && n.fn.k === "ref" && n.args.length === self.params.length) {
      const b = scope.get(n.fn.name);
      const isSelf = self.binding ? b === self.binding : !b && self.global === n.fn.name;
      if (isSelf) {
        const args = this.args(n.args, scope, fn);
        const temps = args.map((a) => {
          if (isLiteral(a)) return a;
          const t = this.fresh("n");
          fn.lines.push(`const ${t} = ${a};`);
          return t;
        });
        fn.lines.push(...self.params.map((p, i) => `${p} = ${temps[i]};`), "continue self;");
        fn.looped = true;
        return;
      }
    }
    const prim = this.knownPrim(n.fn, scope);
    if (prim === "apply" && n.args.length >= 2) {
      // (apply f … l) in tail position is a tail call of f.
      const args = this.args(n.args, scope, fn);
      fn.lines.push(`return ${jsCall("R.applyTail", [this.site(n.span), ...args])};`);
      return;
    }
    if (prim) {
      fn.lines.push(`return ${this.call(n, scope, fn)};`);
      return;
    }
    const [f, ...args] = this.callParts(n, scope, fn);
    const site = this.site(n.span);
    // While few tail calls are in progress (R.tail counts them, for the whole run), the callee
    // is called at once; past the budget a TailCall unwinds them all to the nearest bounce. So
    // tail calls run in constant space, and most cost no allocation.
    const r = this.fresh("r");
    fn.lines.push(
      `if (R.tail < ${TAIL_BUDGET}) {`,
      `R.site = ${site};`,
      `R.tail++;`,
      `const ${r} = ${jsCall(f, args)};`,
      `R.tail--;`,
      `return ${r};`,
      `}`,
      `return new TC(${f}, [${args.join(", ")}], ${site});`,
    );
  }

  /**
   * A lambda as a JS function expression. `binding`/`global` name the variable the
   * procedure is bound to when its tail calls to that variable may become a loop.
   */
  private lambda(n: LambdaNode, scope: Scope, binding: Binding | null, global: string | null): string {
    const inner = new Map(scope);
    const params = n.params.map((p) => this.local(p));
    n.params.forEach((p, i) => inner.set(p, { js: params[i], lambda: null }));
    const entry = params.map((p) => `${p}$`);
    let rest: string | null = null;
    if (n.rest !== null) {
      rest = this.local(n.rest);
      inner.set(n.rest, { js: rest, lambda: null });
    }
    const loopable = n.rest === null && (binding !== null || global !== null);
    const fn: Fn = { lines: [], self: loopable ? { binding, global, params: entry } : null, looped: false };
    this.stmt(n.body, RETURN, inner, fn);
    const name = JSON.stringify(n.name ?? "lambda");
    const count = n.rest === null
      ? `if (arguments.length !== ${params.length}) R.arity(${name}, ${params.length}, false, arguments.length);`
      : `if (arguments.length < ${params.length}) R.arity(${name}, ${params.length}, true, arguments.length);`;
    // A self loop rebinds the parameters on each iteration (closures capture one iteration's
    // values); otherwise the JS parameters are the variables (a smaller frame: deeper recursion).
    const formals = [...(fn.looped ? entry : params), ...(rest ? [`...${rest}$`] : [])].join(", ");
    const bind = [
      ...(fn.looped ? params.map((p, i) => `let ${p} = ${entry[i]};`) : []),
      ...(rest ? [`let ${rest} = R.listOf(${rest}$);`] : []),
    ];
    const jsName = `s_${mangle(n.name ?? "lambda")}`;
    const body = fn.looped
      ? ["self: for (;;) {", "if (--R.fuel < 0) R.noFuel();", ...bind, ...fn.lines, "}"]
      : ["if (--R.fuel < 0) R.noFuel();", ...bind, ...fn.lines];
    return [`(function ${jsName}(${formals}) {`, count, ...body, "})"].join("\n");
  }
}
