/**
 * The runtime that compiled code runs against: limits (fuel, recursion depth), the
 * tail-call trampoline, and the errors that need the position of the call at fault.
 * One Runtime per backend; `reset` starts each run with full fuel. It holds no
 * program state: globals live in a per-run object the program is given.
 */
import { DmciError, type Span } from "../errors.ts";
import type { Backend } from "../backend/backend.ts";
import { listToArray, NIL, Pair, type Procedure, UNSPECIFIED, write } from "../values.ts";
import { makePrimitives, type PrimFn, PRIMITIVES, tensorWriter } from "../primitives.ts";

/** A pending tail call: the trampoline applies `f` to `args` after the caller's frame is gone. */
export class TailCall {
  constructor(readonly f: unknown, readonly args: unknown[], readonly site: Span | undefined) {}
}

const QUASI = new Set(["quasiquote", "unquote", "unquote-splicing"]);

/** Limits of one run. */
export interface Limits {
  /** Maximum number of procedure entries (evaluation steps). */
  readonly fuel: number;
  /** Maximum depth of non-tail calls. */
  readonly maxDepth: number;
}

/**
 * Defaults: 10⁸ steps; depth 10⁵. The host stack is usually the tighter bound: its overflow
 * becomes a `limit` error only while V8's --stack-size is no larger than the thread's real
 * stack (`deno test` runs tests on 2 MiB threads; larger values crash the process instead).
 */
export const DEFAULT_LIMITS: Limits = { fuel: 100_000_000, maxDepth: 100_000 };

/**
 * Runtime state and helpers referenced by generated code as `R`.
 * Fields are public because generated code reads and writes them directly.
 */
export class Runtime {
  /** Steps left in this run. */
  fuel = 0;
  /** Current depth of non-tail calls. */
  depth = 0;
  /** Tail calls in progress as host calls (compiled code makes a TailCall past a budget). */
  tail = 0;
  /** Maximum depth of this run. */
  maxDepth = 0;
  /** Limits of this run, for messages. */
  limits: Limits = DEFAULT_LIMITS;
  /** Position of the most recent call through an unknown procedure value (for arity errors). */
  site: Span | undefined;
  /** The unspecified value. */
  readonly U = UNSPECIFIED;
  /** The tail-call class, for `instanceof` in generated code. */
  readonly TC = TailCall;
  /** Primitive implementations taking the call site first. */
  readonly prims: Record<string, PrimFn>;
  /** Primitives as first-class procedures (arity-checked, no site argument). */
  readonly procs: Record<string, Procedure>;

  constructor(readonly backend: Backend) {
    this.prims = makePrimitives({
      backend,
      call: (f, args, site) => this.call(f, args, site),
      write: (v) => this.write(v),
    });
    this.procs = Object.create(null);
    for (const p of PRIMITIVES) {
      const fn = this.prims[p.name];
      const [min, max] = p.arity;
      // `apply` as a value still makes a tail call: callers of procedure values bounce TailCalls.
      const proc: Procedure = p.name === "apply"
        ? (...args: unknown[]): unknown => {
          if (args.length < min) this.arityError(p.name, min, max, args.length, this.site);
          return this.applyTail(this.site, args[0], ...args.slice(1));
        }
        : (...args: unknown[]): unknown => {
          if (args.length < min || args.length > max) {
            this.arityError(p.name, min, max, args.length, this.site);
          }
          return fn(this.site, ...args);
        };
      proc.procName = p.name;
      this.procs[p.name] = proc;
    }
  }

  /** Starts a run with fresh limits. */
  reset(limits: Limits = DEFAULT_LIMITS): void {
    this.limits = limits;
    this.fuel = limits.fuel;
    this.maxDepth = limits.maxDepth;
    this.depth = 0;
    this.tail = 0;
    this.site = undefined;
  }

  /** The list of the elements of `xs` (a rest parameter's value). */
  listOf(xs: readonly unknown[]): unknown {
    let out: unknown = NIL;
    for (let i = xs.length - 1; i >= 0; i--) out = new Pair(xs[i], out);
    return out;
  }

  /** Runs pending tail calls until a value results. */
  bounce(t: unknown): unknown {
    while (t instanceof TailCall) {
      const f = t.f;
      if (typeof f !== "function") this.notProcedure(f, t.site);
      this.site = t.site;
      const a = t.args;
      // (spreading is slower than a call with the argument count known)
      switch (a.length) {
        case 0:
          t = f();
          break;
        case 1:
          t = f(a[0]);
          break;
        case 2:
          t = f(a[0], a[1]);
          break;
        case 3:
          t = f(a[0], a[1], a[2]);
          break;
        default:
          t = f(...a);
      }
    }
    return t;
  }

  /**
   * `(apply f x … l)` as a tail call: the TailCall of f, for the caller to bounce. Bad
   * arguments go to the `apply` primitive, which reports them.
   */
  applyTail(site: Span | undefined, f: unknown, ...xs: unknown[]): unknown {
    const last = listToArray(xs[xs.length - 1]);
    if (typeof f !== "function" || last === undefined) return this.prims.apply(site, f, ...xs);
    return new TailCall(f, [...xs.slice(0, -1), ...last], site);
  }

  /** Calls a procedure value from a primitive (map, apply, …) and returns its value. */
  call(f: unknown, args: unknown[], site: Span | undefined): unknown {
    if (typeof f !== "function") this.notProcedure(f, site);
    this.site = site;
    if (++this.depth > this.maxDepth) this.tooDeep(site);
    let r = f(...args);
    // bounce written out: one host frame less per level of a recursion through primitives
    while (r instanceof TailCall) {
      const g = r.f;
      if (typeof g !== "function") this.notProcedure(g, r.site);
      this.site = r.site;
      r = g(...r.args);
    }
    this.depth--;
    return r;
  }

  /** Formats a value in `write` syntax, tensors included. */
  write(v: unknown): string {
    return write(v, tensorWriter(this.backend));
  }

  /** Throws the error for a call with the wrong number of arguments. */
  arityError(name: string, min: number, max: number, got: number, site: Span | undefined): never {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new DmciError("arity", `${name}: expected ${want} argument(s), got ${got}`, site);
  }

  /** Arity error of a compiled lambda, at the site of the current call. */
  arity(name: string, min: number, variadic: boolean, got: number): never {
    return this.arityError(name, min, variadic ? Infinity : min, got, this.site);
  }

  /** Throws for a reference to an unbound global. */
  unbound(name: string, span: Span): never {
    // `x, ,x and ,@x read as these names; say why they are unbound (as lib/evaluator.scm does).
    const why = QUASI.has(name) ? " (quasiquote is not in the language: build lists with list and cons)" : "";
    throw new DmciError("unbound", `unbound variable: ${name}${why}`, span);
  }

  /** Throws for a use of a `letrec` (or internal define) variable before its initialiser ran. */
  uninit(name: string, span: Span): never {
    // The same message as lib/evaluator.scm gives, so direct and interpreted runs agree.
    throw new DmciError("unbound", `variable ${name} used before its definition`, span);
  }

  /**
   * The `limit` error for a host stack overflow caught from a run, or `e` itself for any
   * other error: deep non-tail recursion must never crash the host.
   */
  stackLimit(e: unknown): unknown {
    if (!(e instanceof RangeError && /call stack/i.test(e.message))) return e;
    return new DmciError(
      "limit",
      `host stack exhausted at recursion depth ${this.depth} (non-tail recursion too deep, or a call with ` +
        `very many arguments such as apply on a long list; lower the maxDepth limit to get this error ` +
        `earlier, or give deno a larger stack with --v8-flags=--stack-size=KB, no larger than the thread's ` +
        `real stack)`,
      this.site,
    );
  }

  /** Throws for a call of a value that is not a procedure. */
  notProcedure(value: unknown, site: Span | undefined): never {
    throw new DmciError("type", `attempt to call a non-procedure: ${this.write(value)}`, site);
  }

  /** Throws when the fuel of a run is spent. */
  noFuel(): never {
    throw new DmciError(
      "limit",
      `step limit of ${this.limits.fuel} evaluation steps exceeded (raise it with the fuel option, --fuel N)`,
      this.site,
    );
  }

  /** Throws when non-tail recursion is too deep. */
  tooDeep(site: Span | undefined): never {
    throw new DmciError(
      "limit",
      `recursion depth limit of ${this.maxDepth} exceeded (raise it with the maxDepth option, --max-depth N)`,
      site,
    );
  }
}
