/**
 * The one primitive table: every procedure of the language once, with its arity, a
 * one-line doc, whether gradients flow through it, and its implementation over a
 * backend. The compiler, the runtime's global environment, the evaluator and the
 * generated language reference are all made from this table; nothing else defines a
 * primitive. Plain JS numbers are computed here with Math.*; only when an argument is
 * a backend tensor does a primitive call the backend (whose ops carry the gradients).
 */
import { DmciError, type Span } from "./errors.ts";
import type { Backend, BinaryOp, Nested, UnaryOp } from "./backend/backend.ts";
import {
  formatNumber,
  isProcedure,
  listToArray,
  MAX_STRING_LENGTH,
  NIL,
  Pair,
  Sym,
  type TensorWriter,
  UNSPECIFIED,
} from "./values.ts";

/** A primitive's implementation: the call site first (for error positions), then the arguments. */
export type PrimFn = (site: Span | undefined, ...args: any[]) => unknown;

/** What a primitive implementation may use. */
export interface PrimContext {
  readonly backend: Backend;
  /** Calls a procedure value with arguments (trampolined, depth-counted). */
  call(f: unknown, args: unknown[], site: Span | undefined): unknown;
  /** Formats a value for messages. */
  write(v: unknown): string;
}

/** Sections of the language reference. */
export type PrimGroup =
  | "numbers"
  | "booleans"
  | "lists"
  | "control"
  | "symbols and strings"
  | "tensors"
  | "linear algebra";

/** One row of the primitive table. */
export interface Primitive {
  /** The name programs use. */
  readonly name: string;
  /** Minimum and maximum argument count (Infinity: variadic). */
  readonly arity: readonly [number, number];
  /** Section of the reference. */
  readonly group: PrimGroup;
  /** One line: what it does, with the argument names of its signature. */
  readonly doc: string;
  /** Signature for the reference, e.g. `(expt a b)`. */
  readonly signature: string;
  /** True when gradients flow through it (to its numeric arguments). */
  readonly differentiable: boolean;
  /** True when it calls procedure arguments (map, apply, …): the compiler must treat it as a call. */
  readonly callsProcedures: boolean;
  /** Builds the implementation for a context. */
  readonly make: (c: PrimContext) => PrimFn;
}

const V = Infinity;

/** Rounds half to even, as R7RS `round` and both backends do. */
export function roundHalfEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}

/** Numerically stable logistic function. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Numerically stable log(1 + eˣ). */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** JS rules of the elementwise unary ops, used for plain numbers. */
export const UNARY_NUMBER_RULES: Readonly<Record<UnaryOp, (x: number) => number>> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  tanh: Math.tanh,
  sigmoid,
  softplus,
  relu: (x) => (x > 0 ? x : 0),
  log1p: Math.log1p,
  expm1: Math.expm1,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  trunc: Math.trunc,
};

/** JS rules of the elementwise binary ops, used for plain numbers. */
export const BINARY_NUMBER_RULES: Readonly<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  atan2: Math.atan2,
  min: Math.min,
  max: Math.max,
};

/** How `write` shows tensors of a backend. */
export function tensorWriter(b: Backend): TensorWriter {
  return { isTensor: (x) => b.isTensor(x), describe: (x) => ({ shape: b.shape(x), data: b.toNested(x) }) };
}

/** Argument checking and backend calls shared by the implementations. */
class Kit {
  readonly B: Backend;
  constructor(readonly c: PrimContext) {
    this.B = c.backend;
  }
  typeError(name: string, want: string, got: unknown, i: number, site: Span | undefined): DmciError {
    return new DmciError(
      "type",
      `${name}: expected ${want} as argument ${i}, got ${this.c.write(got)}`,
      site,
    );
  }
  /** Re-raises a backend failure as a `type` error of this primitive at this site. */
  rethrow(e: unknown, name: string, site: Span | undefined): never {
    if (e instanceof DmciError) {
      // A backend names its own op (`mul`); the user wrote `*`, so name that too.
      if (!e.message.startsWith(`${name}:`)) {
        throw new DmciError(e.kind, `${name}: ${e.message}`, e.span ?? site, e.irritants);
      }
      if (!e.span) e.span = site;
      throw e;
    }
    if (e instanceof RangeError) throw e; // host stack overflow: the runner turns it into a limit error
    throw new DmciError("type", `${name}: ${e instanceof Error ? e.message : String(e)}`, site);
  }
  guard<T>(name: string, site: Span | undefined, f: () => T): T {
    try {
      return f();
    } catch (e) {
      return this.rethrow(e, name, site);
    }
  }
  isNum(x: unknown): boolean {
    return typeof x === "number" || this.B.isTensor(x);
  }
  num(name: string, x: unknown, i: number, site: Span | undefined): unknown {
    if (typeof x === "number" || this.B.isTensor(x)) return x;
    throw this.typeError(name, "a number", x, i, site);
  }
  /** Checks that x is a real scalar (a number or a one-element tensor) without reading it. */
  realScalar(name: string, x: unknown, i: number, site: Span | undefined): void {
    if (typeof x === "number" || (this.B.isTensor(x) && this.B.shape(x).every((d) => d === 1))) return;
    throw this.typeError(name, "a real number", x, i, site);
  }
  /** `f` of a real scalar (and 0), observed through the backend's `test` (a guard when traced). */
  test1(name: string, f: (a: number, b: number) => boolean, x: unknown, site: Span | undefined): boolean {
    if (typeof x === "number") return f(x, 0);
    this.realScalar(name, x, 1, site);
    return this.B.test(name, f, x);
  }
  /** A real scalar as a plain JS number (tensor scalars are read, which stops gradients). */
  scalar(name: string, x: unknown, i: number, site: Span | undefined): number {
    if (typeof x === "number") return x;
    if (this.B.isTensor(x) && this.B.shape(x).every((d) => d === 1)) return this.B.toNumber(x);
    throw this.typeError(name, "a real number", x, i, site);
  }
  int(name: string, x: unknown, i: number, site: Span | undefined): number {
    const v = typeof x === "number" || this.B.isTensor(x) ? this.scalar(name, x, i, site) : NaN;
    if (!Number.isInteger(v)) throw this.typeError(name, "an integer", x, i, site);
    return v;
  }
  index(name: string, x: unknown, i: number, site: Span | undefined): number {
    const v = this.int(name, x, i, site);
    if (v < 0) throw this.typeError(name, "a non-negative integer", x, i, site);
    return v;
  }
  unary(op: UnaryOp, name: string, x: unknown, site: Span | undefined): unknown {
    if (typeof x === "number") return UNARY_NUMBER_RULES[op](x);
    if (!this.B.isTensor(x)) throw this.typeError(name, "a number", x, 1, site);
    try {
      return this.B.unary(op, x);
    } catch (e) {
      return this.rethrow(e, name, site);
    }
  }
  binary(op: BinaryOp, name: string, a: unknown, b: unknown, site: Span | undefined, i = 1): unknown {
    if (typeof a === "number" && typeof b === "number") return BINARY_NUMBER_RULES[op](a, b);
    this.num(name, a, i, site);
    this.num(name, b, i + 1, site);
    try {
      return this.B.binary(op, a, b);
    } catch (e) {
      return this.rethrow(e, name, site);
    }
  }
  tensor(name: string, x: unknown, i: number, site: Span | undefined): unknown {
    if (this.B.isTensor(x) || typeof x === "number") return x;
    throw this.typeError(name, "a tensor", x, i, site);
  }
  list(name: string, x: unknown, i: number, site: Span | undefined): unknown[] {
    const a = listToArray(x);
    if (!a) throw this.typeError(name, "a proper list", x, i, site);
    return a;
  }
  pair(name: string, x: unknown, i: number, site: Span | undefined): Pair {
    if (x instanceof Pair) return x;
    throw this.typeError(name, "a pair", x, i, site);
  }
  proc(name: string, x: unknown, i: number, site: Span | undefined): unknown {
    if (isProcedure(x)) return x;
    throw this.typeError(name, "a procedure", x, i, site);
  }
  shapeArg(name: string, x: unknown, i: number, site: Span | undefined): number[] {
    if (typeof x === "number" || this.B.isTensor(x)) return [this.index(name, x, i, site)];
    return this.list(name, x, i, site).map((d) => this.index(name, d, i, site));
  }
  /** `eqv?`: numbers by value, everything else by identity. */
  eqv(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    // Only a tensor (an object) can equal another value without being identical to it.
    const ta = typeof a, tb = typeof b;
    if ((ta !== "object" && ta !== "number") || (tb !== "object" && tb !== "number")) return false;
    if (ta === "number" && tb === "number") return false;
    if (a instanceof Pair || a instanceof Sym || b instanceof Pair || b instanceof Sym) return false;
    const an = typeof a === "number" || (this.B.isTensor(a) && this.B.shape(a).length === 0);
    const bn = typeof b === "number" || (this.B.isTensor(b) && this.B.shape(b).length === 0);
    if (an && bn) return this.B.test("=", NUMBERS_EQUAL, a, b);
    return false;
  }
  equal(a: unknown, b: unknown): boolean {
    for (;;) {
      if (this.eqv(a, b)) return true;
      if (typeof a === "string" && typeof b === "string") return a === b;
      if (this.B.isTensor(a) && this.B.isTensor(b)) {
        return JSON.stringify(this.B.shape(a)) === JSON.stringify(this.B.shape(b)) &&
          JSON.stringify(this.B.toNested(a)) === JSON.stringify(this.B.toNested(b));
      }
      if (!(a instanceof Pair && b instanceof Pair)) return false;
      if (!this.equal(a.car, b.car)) return false;
      a = a.cdr;
      b = b.cdr;
    }
  }
  /** Nested lists (of numbers, scalar tensors or tensors) to one tensor, keeping gradients. */
  toTensor(name: string, x: unknown, site: Span | undefined): unknown {
    const B = this.B;
    if (B.isTensor(x)) return x;
    if (typeof x === "number") return B.tensor(x);
    const plain = (v: unknown): Nested | undefined => {
      if (typeof v === "number") return v;
      const a = listToArray(v);
      if (!a || a.length === 0) return undefined;
      const out: Nested[] = [];
      for (const e of a) {
        const n = plain(e);
        if (n === undefined) return undefined;
        out.push(n);
      }
      return out;
    };
    const p = plain(x);
    if (p !== undefined) return this.guard(name, site, () => B.tensor(p));
    const build = (v: unknown): unknown => {
      if (typeof v === "number" || B.isTensor(v)) return v;
      const a = listToArray(v);
      if (!a || a.length === 0) {
        throw this.typeError(name, "a number or a non-empty nested list of numbers", x, 1, site);
      }
      return this.guard(name, site, () => B.stack(a.map(build), 0));
    };
    return build(x);
  }
}

type Def = Omit<Primitive, "differentiable" | "callsProcedures" | "signature"> & {
  differentiable?: boolean;
  callsProcedures?: boolean;
  signature?: string;
};

const table: Primitive[] = [];
function def(group: PrimGroup, d: Omit<Def, "group">): void {
  table.push({
    differentiable: false,
    callsProcedures: false,
    signature: `(${d.name} …)`,
    ...d,
    group,
  });
}

// ---------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------

function variadicArith(name: string, op: BinaryOp, unit: number, doc: string): void {
  def("numbers", {
    name,
    arity: [op === "add" || op === "mul" ? 0 : 1, V],
    signature: `(${name} x …)`,
    doc,
    differentiable: true,
    make: (c) => {
      const k = new Kit(c);
      const rule = BINARY_NUMBER_RULES[op];
      const general = (site: Span | undefined, xs: unknown[]): unknown => {
        if (xs.length === 0) return unit;
        if (xs.length === 1) {
          if (op === "add" || op === "mul") return k.num(name, xs[0], 1, site);
          // (- x) negates, so that (- 0.0) is -0.0 as in R7RS; 0 - x would give 0.
          if (op === "sub") return k.unary("neg", name, xs[0], site);
          return k.binary(op, name, unit, xs[0], site);
        }
        let acc = xs[0];
        for (let i = 1; i < xs.length; i++) acc = k.binary(op, name, acc, xs[i], site, i);
        return acc;
      };
      // Two plain numbers, the usual case, without making an array of the arguments.
      return function (site: Span | undefined, a?: unknown, b?: unknown): unknown {
        if (arguments.length === 3) {
          return typeof a === "number" && typeof b === "number" ? rule(a, b) : k.binary(op, name, a, b, site);
        }
        return general(site, Array.prototype.slice.call(arguments, 1));
      };
    },
  });
}
variadicArith("+", "add", 0, "Sum of the arguments; (+) is 0.");
variadicArith("*", "mul", 1, "Product of the arguments; (*) is 1.");
variadicArith("-", "sub", 0, "Difference (x - y - …); (- x) negates.");
variadicArith("/", "div", 1, "Quotient (x / y / …) in floating point; (/ x) is 1/x.");

const NUMBERS_EQUAL = (a: number, b: number) => a === b;

function comparison(name: string, test: (a: number, b: number) => boolean, doc: string): void {
  def("numbers", {
    name,
    arity: [1, V],
    signature: `(${name} x y …)`,
    doc: doc + " Gives a plain boolean; the gradient follows the branch taken.",
    make: (c) => {
      const k = new Kit(c);
      const general = (site: Span | undefined, xs: unknown[]): boolean => {
        xs.forEach((x, i) => k.realScalar(name, x, i + 1, site));
        for (let i = 1; i < xs.length; i++) {
          const a = xs[i - 1], b = xs[i];
          const holds = typeof a === "number" && typeof b === "number"
            ? test(a, b)
            : k.B.test(name, test, a, b);
          if (!holds) return false;
        }
        return true;
      };
      // Two plain numbers, the usual case, without making an array of the arguments.
      return function (site: Span | undefined, a?: unknown, b?: unknown): boolean {
        if (arguments.length === 3 && typeof a === "number" && typeof b === "number") return test(a, b);
        return general(site, Array.prototype.slice.call(arguments, 1));
      };
    },
  });
}
comparison("=", (a, b) => a === b, "True when all arguments are numerically equal.");
comparison("<", (a, b) => a < b, "True when the arguments are strictly increasing.");
comparison(">", (a, b) => a > b, "True when the arguments are strictly decreasing.");
comparison("<=", (a, b) => a <= b, "True when the arguments are non-decreasing.");
comparison(">=", (a, b) => a >= b, "True when the arguments are non-increasing.");

function unaryPrim(name: string, op: UnaryOp, doc: string, differentiable = true): void {
  def("numbers", {
    name,
    arity: [1, 1],
    signature: `(${name} x)`,
    doc,
    differentiable,
    make: (c) => {
      const k = new Kit(c);
      return (site, x) => k.unary(op, name, x, site);
    },
  });
}
unaryPrim("abs", "abs", "Absolute value.");
unaryPrim("exp", "exp", "e to the power x.");
unaryPrim("sqrt", "sqrt", "Square root (NaN for negative x: the language has no complex numbers).");
unaryPrim("sin", "sin", "Sine (radians).");
unaryPrim("cos", "cos", "Cosine (radians).");
unaryPrim("tan", "tan", "Tangent (radians).");
unaryPrim("asin", "asin", "Arcsine.");
unaryPrim("acos", "acos", "Arccosine.");
unaryPrim("tanh", "tanh", "Hyperbolic tangent.");
unaryPrim("square", "square", "x times x.");
unaryPrim("floor", "floor", "Largest integer not greater than x (zero gradient).", false);
unaryPrim("ceiling", "ceil", "Smallest integer not less than x (zero gradient).", false);
unaryPrim("round", "round", "Nearest integer, ties to even (zero gradient).", false);
unaryPrim("truncate", "trunc", "Integer part of x, towards zero (zero gradient).", false);
unaryPrim("sigmoid", "sigmoid", "Logistic function 1/(1+e^-x), stable for large |x| (extension).");
unaryPrim("softplus", "softplus", "log(1+e^x), stable for large |x| (extension).");
unaryPrim("relu", "relu", "max(x, 0); gradient 0 at 0 (extension).");
unaryPrim("log1p", "log1p", "log(1+x), accurate near 0 (extension).");
unaryPrim("expm1", "expm1", "e^x - 1, accurate near 0 (extension).");

def("numbers", {
  name: "log",
  arity: [1, 2],
  signature: "(log x [base])",
  doc: "Natural logarithm, or logarithm to the given base.",
  differentiable: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, x, base) => {
      const lx = k.unary("log", "log", x, site);
      return base === undefined ? lx : k.binary("div", "log", lx, k.unary("log", "log", base, site), site);
    };
  },
});
def("numbers", {
  name: "atan",
  arity: [1, 2],
  signature: "(atan y [x])",
  doc: "Arctangent of y, or the angle of the point (x, y) with two arguments.",
  differentiable: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, y, x) =>
      x === undefined ? k.unary("atan", "atan", y, site) : k.binary("atan2", "atan", y, x, site);
  },
});
def("numbers", {
  name: "expt",
  arity: [2, 2],
  signature: "(expt a b)",
  doc: "a to the power b.",
  differentiable: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, a, b) => k.binary("pow", "expt", a, b, site);
  },
});
for (const [name, op] of [["min", "min"], ["max", "max"]] as const) {
  def("numbers", {
    name,
    arity: [1, V],
    signature: `(${name} x y …)`,
    doc: `The ${name === "min" ? "smallest" : "largest"} argument; the gradient goes to the selected one.`,
    differentiable: true,
    make: (c) => {
      const k = new Kit(c);
      return (site, ...xs) => {
        let acc = k.num(name, xs[0], 1, site);
        for (let i = 1; i < xs.length; i++) acc = k.binary(op, name, acc, xs[i], site, i);
        return acc;
      };
    },
  });
}

function integerDivision(name: string, rule: (a: number, b: number) => number, doc: string): void {
  def("numbers", {
    name,
    arity: [2, 2],
    signature: `(${name} n d)`,
    doc,
    make: (c) => {
      const k = new Kit(c);
      return (site, a, b) => {
        const n = k.int(name, a, 1, site);
        const d = k.int(name, b, 2, site);
        if (d === 0) throw new DmciError("type", `${name}: division by zero`, site);
        return rule(n, d) + 0; // + 0 turns -0 (from (quotient -1 2), (remainder -6 3)) into the integer 0
      };
    },
  });
}
integerDivision("quotient", (n, d) => Math.trunc(n / d), "Integer quotient n/d truncated towards zero.");
integerDivision("remainder", (n, d) => n % d, "Remainder with the sign of n.");
integerDivision("modulo", (n, d) => ((n % d) + d) % d, "Modulo with the sign of d.");

function predicate(
  group: PrimGroup,
  name: string,
  doc: string,
  test: (k: Kit, x: unknown, site: Span | undefined) => boolean,
): void {
  def(group, {
    name,
    arity: [1, 1],
    signature: `(${name} x)`,
    doc,
    make: (c) => {
      const k = new Kit(c);
      return (site, x) => test(k, x, site);
    },
  });
}
const isScalar = (k: Kit, x: unknown) =>
  typeof x === "number" || (k.B.isTensor(x) && k.B.shape(x).length === 0);
predicate(
  "numbers",
  "number?",
  "True for real numbers (including scalars that depend on parameters).",
  isScalar,
);
predicate(
  "numbers",
  "integer?",
  "True for numbers with an integer value.",
  (k, x, s) => isScalar(k, x) && Number.isInteger(k.scalar("integer?", x, 1, s)),
);
const IS_ZERO = (x: number) => x === 0,
  IS_POSITIVE = (x: number) => x > 0,
  IS_NEGATIVE = (x: number) => x < 0;
predicate("numbers", "zero?", "True when x is 0.", (k, x, s) => k.test1("zero?", IS_ZERO, x, s));
predicate("numbers", "positive?", "True when x > 0.", (k, x, s) => k.test1("positive?", IS_POSITIVE, x, s));
predicate("numbers", "negative?", "True when x < 0.", (k, x, s) => k.test1("negative?", IS_NEGATIVE, x, s));
predicate("numbers", "even?", "True for even integers.", (k, x, s) => k.int("even?", x, 1, s) % 2 === 0);
predicate(
  "numbers",
  "odd?",
  "True for odd integers.",
  (k, x, s) => Math.abs(k.int("odd?", x, 1, s) % 2) === 1,
);

def("numbers", {
  name: "exact",
  arity: [1, 1],
  signature: "(exact x)",
  doc: "x as a plain integer constant (no gradient); x must have an integer value (there are no rationals).",
  make: (c) => {
    const k = new Kit(c);
    return (site, x) => k.int("exact", x, 1, site) + 0; // an integer: (exact -0.0) is 0
  },
});
def("numbers", {
  name: "inexact",
  arity: [1, 1],
  signature: "(inexact x)",
  doc: "x unchanged (every number is already floating point).",
  differentiable: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, x) => k.num("inexact", x, 1, site);
  },
});

// ---------------------------------------------------------------------------------------
// Booleans and equivalence
// ---------------------------------------------------------------------------------------

predicate("booleans", "not", "True when x is #f (only #f is false).", (_k, x) => x === false);
predicate("booleans", "boolean?", "True for #t and #f.", (_k, x) => typeof x === "boolean");
for (const name of ["eq?", "eqv?"]) {
  def("booleans", {
    name,
    arity: [2, 2],
    signature: `(${name} a b)`,
    doc: "Same object: numbers compare by value, symbols by name, pairs and procedures by identity.",
    make: (c) => {
      const k = new Kit(c);
      return (_site, a, b) => k.eqv(a, b);
    },
  });
}
def("booleans", {
  name: "equal?",
  arity: [2, 2],
  signature: "(equal? a b)",
  doc: "Structural equality: lists element by element, strings and tensors by contents.",
  make: (c) => {
    const k = new Kit(c);
    return (_site, a, b) => k.equal(a, b);
  },
});

// ---------------------------------------------------------------------------------------
// Pairs and lists
// ---------------------------------------------------------------------------------------

def("lists", {
  name: "cons",
  arity: [2, 2],
  signature: "(cons a d)",
  doc: "A new pair with car a and cdr d.",
  make: () => (_site, a, d) => new Pair(a, d),
});
for (
  const path of ["a", "d", "aa", "ad", "da", "dd"].concat(
    ...["a", "d"].map((x) => ["aa", "ad", "da", "dd"].map((y) => x + y)),
    ...["a", "d"].flatMap((x) => ["a", "d"].map((y) => ["aa", "ad", "da", "dd"].map((z) => x + y + z))),
  )
) {
  const name = `c${path}r`;
  const steps = [...path].reverse();
  def("lists", {
    name,
    arity: [1, 1],
    signature: `(${name} p)`,
    doc: path.length === 1
      ? `The ${path === "a" ? "first" : "second"} part of a pair.`
      : `Composition ${steps.map((s) => `c${s}r`).reverse().join(" of ")}.`,
    make: (c) => {
      const k = new Kit(c);
      const fail = (x: unknown, site: Span | undefined): never => {
        throw k.typeError(name, "a pair", x, 1, site);
      };
      // One step per level, without a loop (these are among the most frequent calls).
      const [s0, s1, s2, s3] = steps.map((s) => s === "a");
      switch (steps.length) {
        case 1:
          return s0
            ? (site, x) => x instanceof Pair ? x.car : fail(x, site)
            : (site, x) => x instanceof Pair ? x.cdr : fail(x, site);
        case 2:
          // (each its own function: these four are frequent enough to deserve it)
          if (s0 && s1) {
            return (site, x) => x instanceof Pair && x.car instanceof Pair ? x.car.car : fail(x, site);
          }
          if (s0) return (site, x) => x instanceof Pair && x.car instanceof Pair ? x.car.cdr : fail(x, site);
          if (s1) return (site, x) => x instanceof Pair && x.cdr instanceof Pair ? x.cdr.car : fail(x, site);
          return (site, x) => x instanceof Pair && x.cdr instanceof Pair ? x.cdr.cdr : fail(x, site);
        case 3:
          return (site, x) => {
            if (x instanceof Pair) {
              const y = s0 ? x.car : x.cdr;
              if (y instanceof Pair) {
                const z = s1 ? y.car : y.cdr;
                if (z instanceof Pair) return s2 ? z.car : z.cdr;
              }
            }
            return fail(x, site);
          };
        default:
          return (site, x) => {
            if (x instanceof Pair) {
              const y = s0 ? x.car : x.cdr;
              if (y instanceof Pair) {
                const z = s1 ? y.car : y.cdr;
                if (z instanceof Pair) {
                  const w = s2 ? z.car : z.cdr;
                  if (w instanceof Pair) return s3 ? w.car : w.cdr;
                }
              }
            }
            return fail(x, site);
          };
      }
    },
  });
}
def("lists", {
  name: "list",
  arity: [0, V],
  signature: "(list x …)",
  doc: "A new list of the arguments.",
  make: () => (_site, ...xs) => {
    let out: unknown = NIL;
    for (let i = xs.length - 1; i >= 0; i--) out = new Pair(xs[i], out);
    return out;
  },
});
predicate("lists", "pair?", "True for pairs.", (_k, x) => x instanceof Pair);
predicate("lists", "null?", "True for the empty list.", (_k, x) => x === NIL);
predicate("lists", "list?", "True for proper lists.", (_k, x) => listToArray(x) !== undefined);
def("lists", {
  name: "length",
  arity: [1, 1],
  signature: "(length l)",
  doc: "Number of elements of a proper list.",
  make: (c) => {
    const k = new Kit(c);
    return (site, l) => k.list("length", l, 1, site).length;
  },
});
def("lists", {
  name: "append",
  arity: [0, V],
  signature: "(append l …)",
  doc: "Concatenation of lists; the last argument is shared, not copied.",
  make: (c) => {
    const k = new Kit(c);
    return (site, ...ls) => {
      if (ls.length === 0) return NIL;
      let out = ls[ls.length - 1];
      for (let i = ls.length - 2; i >= 0; i--) {
        const items = k.list("append", ls[i], i + 1, site);
        for (let j = items.length - 1; j >= 0; j--) out = new Pair(items[j], out);
      }
      return out;
    };
  },
});
def("lists", {
  name: "reverse",
  arity: [1, 1],
  signature: "(reverse l)",
  doc: "A new list with the elements in reverse order.",
  make: (c) => {
    const k = new Kit(c);
    return (site, l) => {
      let out: unknown = NIL;
      for (const x of k.list("reverse", l, 1, site)) out = new Pair(x, out);
      return out;
    };
  },
});
def("lists", {
  name: "list-tail",
  arity: [2, 2],
  signature: "(list-tail l k)",
  doc: "The list after dropping its first k elements.",
  make: (c) => {
    const k = new Kit(c);
    return (site, l, n) => {
      let v = l;
      if (typeof n === "number" && n >= 0 && Number.isInteger(n)) {
        // The usual case (a small index into a list), without the checks of k.index.
        let i = 0;
        for (; i < n && v instanceof Pair; i++) v = v.cdr;
        if (i === n) return v;
        v = l;
      }
      const count = k.index("list-tail", n, 2, site);
      for (let i = 0; i < count; i++) {
        if (!(v instanceof Pair)) {
          throw new DmciError("type", `list-tail: index ${count} is out of range for ${c.write(l)}`, site);
        }
        v = v.cdr;
      }
      return v;
    };
  },
});
def("lists", {
  name: "list-ref",
  arity: [2, 2],
  signature: "(list-ref l k)",
  doc: "Element k (from 0) of a list.",
  make: (c) => {
    const k = new Kit(c);
    return (site, l, n) => {
      let v = l;
      if (typeof n === "number" && n >= 0 && Number.isInteger(n)) {
        // The usual case (a small index into a list), without the checks of k.index.
        for (let i = 0; i < n && v instanceof Pair; i++) v = v.cdr;
        if (v instanceof Pair) return v.car;
        v = l;
      }
      const count = k.index("list-ref", n, 2, site);
      for (let i = 0; i < count && v instanceof Pair; i++) v = v.cdr;
      if (!(v instanceof Pair)) {
        throw new DmciError("type", `list-ref: index ${count} is out of range for ${c.write(l)}`, site);
      }
      return v.car;
    };
  },
});
function memberLike(name: string, how: "eq" | "eqv" | "equal", alist: boolean): void {
  def("lists", {
    name,
    arity: [2, how === "equal" ? 3 : 2],
    signature: how === "equal" ? `(${name} x l [same?])` : `(${name} x l)`,
    doc: alist
      ? `First pair of an association list whose car is ${how}? to x, or #f.`
      : `First tail of l whose car is ${how}? to x, or #f.`,
    callsProcedures: how === "equal",
    make: (c) => {
      const k = new Kit(c);
      return (site, x, l, same) => {
        if (same === undefined && how !== "equal") {
          // eq?/eqv?: identity decides unless both are numbers (a symbol is only itself).
          const byIdentity = x instanceof Sym || x instanceof Pair || typeof x === "boolean" ||
            typeof x === "string";
          let p = l;
          while (p instanceof Pair) {
            let y = p.car;
            if (alist) {
              if (!(y instanceof Pair)) throw k.typeError(name, "an association list", l, 2, site);
              y = y.car;
            }
            if (x === y || (!byIdentity && k.eqv(x, y))) return alist ? p.car : p;
            p = p.cdr;
          }
          if (p !== NIL) throw k.typeError(name, "a proper list", l, 2, site);
          return false;
        }
        const test = same !== undefined
          ? (a: unknown, b: unknown) => c.call(k.proc(name, same, 3, site), [a, b], site) !== false
          : how === "equal"
          ? (a: unknown, b: unknown) => k.equal(a, b)
          : (a: unknown, b: unknown) => k.eqv(a, b);
        let p = l;
        while (p instanceof Pair) {
          if (alist) {
            const entry = p.car;
            if (!(entry instanceof Pair)) throw k.typeError(name, "an association list", l, 2, site);
            if (test(x, entry.car)) return entry;
          } else if (test(x, p.car)) return p;
          p = p.cdr;
        }
        if (p !== NIL) throw k.typeError(name, "a proper list", l, 2, site);
        return false;
      };
    },
  });
}
memberLike("memq", "eq", false);
memberLike("member", "equal", false);
memberLike("assq", "eq", true);
memberLike("assv", "eqv", true);
memberLike("assoc", "equal", true);

/** Element arrays of the list arguments of map-like procedures, cut to the shortest. */
function columns(k: Kit, name: string, lists: unknown[], first: number, site: Span | undefined): unknown[][] {
  const arrays = lists.map((l, i) => k.list(name, l, first + i, site));
  const n = Math.min(...arrays.map((a) => a.length));
  const out: unknown[][] = [];
  for (let i = 0; i < n; i++) out.push(arrays.map((a) => a[i]));
  return out;
}

def("control", {
  name: "map",
  arity: [2, V],
  signature: "(map f l …)",
  doc: "List of (f x …) for the elements of the lists, up to the shortest.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, ...ls) => {
      k.proc("map", f, 1, site);
      const rows = columns(k, "map", ls, 2, site);
      const out = rows.map((args) => c.call(f, args, site));
      let r: unknown = NIL;
      for (let i = out.length - 1; i >= 0; i--) r = new Pair(out[i], r);
      return r;
    };
  },
});
def("control", {
  name: "for-each",
  arity: [2, V],
  signature: "(for-each f l …)",
  doc: "Calls f on the elements of the lists in order, for effect.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, ...ls) => {
      k.proc("for-each", f, 1, site);
      for (const args of columns(k, "for-each", ls, 2, site)) c.call(f, args, site);
      return UNSPECIFIED;
    };
  },
});
def("control", {
  name: "apply",
  arity: [2, V],
  signature: "(apply f x … l)",
  doc: "Calls f with the arguments x … followed by the elements of the list l.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, ...xs) => {
      k.proc("apply", f, 1, site);
      const last = k.list("apply", xs[xs.length - 1], xs.length + 1, site);
      return c.call(f, [...xs.slice(0, -1), ...last], site);
    };
  },
});
def("control", {
  name: "filter",
  arity: [2, 2],
  signature: "(filter pred l)",
  doc: "The elements of l for which pred is true, in order (SRFI-1).",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, l) => {
      k.proc("filter", f, 1, site);
      const kept = k.list("filter", l, 2, site).filter((x) => c.call(f, [x], site) !== false);
      let r: unknown = NIL;
      for (let i = kept.length - 1; i >= 0; i--) r = new Pair(kept[i], r);
      return r;
    };
  },
});
def("control", {
  name: "reduce",
  arity: [3, 3],
  signature: "(reduce f ridentity l)",
  doc: "SRFI-1 reduce: (f x acc) over l starting from its first element; ridentity if l is empty.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, id, l) => {
      k.proc("reduce", f, 1, site);
      const xs = k.list("reduce", l, 3, site);
      if (xs.length === 0) return id;
      let acc = xs[0];
      for (let i = 1; i < xs.length; i++) acc = c.call(f, [xs[i], acc], site);
      return acc;
    };
  },
});
def("control", {
  name: "fold-left",
  arity: [3, V],
  signature: "(fold-left f init l …)",
  doc: "R6RS fold-left: acc ← (f acc x …) from the left.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, init, ...ls) => {
      k.proc("fold-left", f, 1, site);
      let acc = init;
      for (const xs of columns(k, "fold-left", ls, 3, site)) acc = c.call(f, [acc, ...xs], site);
      return acc;
    };
  },
});
def("control", {
  name: "fold-right",
  arity: [3, V],
  signature: "(fold-right f init l …)",
  doc: "R6RS fold-right: acc ← (f x … acc) from the right.",
  callsProcedures: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, f, init, ...ls) => {
      k.proc("fold-right", f, 1, site);
      const rows = columns(k, "fold-right", ls, 3, site);
      let acc = init;
      for (let i = rows.length - 1; i >= 0; i--) acc = c.call(f, [...rows[i], acc], site);
      return acc;
    };
  },
});
def("lists", {
  name: "iota",
  arity: [1, 3],
  signature: "(iota n [start step])",
  doc: "The list (start start+step … start+(n-1)·step); start 0 and step 1 by default (SRFI-1).",
  differentiable: true,
  make: (c) => {
    const k = new Kit(c);
    return (site, n, start = 0, step = 1) => {
      const count = k.index("iota", n, 1, site);
      k.num("iota", start, 2, site);
      k.num("iota", step, 3, site);
      let r: unknown = NIL;
      for (let i = count - 1; i >= 0; i--) {
        r = new Pair(k.binary("add", "iota", start, k.binary("mul", "iota", i, step, site), site), r);
      }
      return r;
    };
  },
});
predicate("control", "procedure?", "True for procedures.", (_k, x) => isProcedure(x));
def("control", {
  name: "error",
  arity: [1, V],
  signature: "(error message irritant …)",
  doc: "Raises a user error with the message and the irritants written after it.",
  make: (c) => (site, msg, ...irritants) => {
    const text = typeof msg === "string" ? msg : c.write(msg);
    const rest = irritants.map((x) => c.write(x)).join(" ");
    throw new DmciError("user", rest ? `${text} ${rest}` : text, site, irritants);
  },
});

// ---------------------------------------------------------------------------------------
// Symbols and strings
// ---------------------------------------------------------------------------------------

predicate("symbols and strings", "symbol?", "True for symbols.", (_k, x) => x instanceof Sym);
predicate("symbols and strings", "string?", "True for strings.", (_k, x) => typeof x === "string");
def("symbols and strings", {
  name: "symbol->string",
  arity: [1, 1],
  signature: "(symbol->string s)",
  doc: "The name of a symbol.",
  make: (c) => {
    const k = new Kit(c);
    return (site, s) => {
      if (!(s instanceof Sym)) throw k.typeError("symbol->string", "a symbol", s, 1, site);
      return s.name;
    };
  },
});
def("symbols and strings", {
  name: "string->symbol",
  arity: [1, 1],
  signature: "(string->symbol s)",
  doc: "The symbol with this name.",
  make: (c) => {
    const k = new Kit(c);
    return (site, s) => {
      if (typeof s !== "string") throw k.typeError("string->symbol", "a string", s, 1, site);
      return Sym.of(s);
    };
  },
});
def("symbols and strings", {
  name: "string-append",
  arity: [0, V],
  signature: "(string-append s …)",
  doc: "Concatenation of strings.",
  make: (c) => {
    const k = new Kit(c);
    return (site, ...ss) => {
      let length = 0;
      ss.forEach((s, i) => {
        if (typeof s !== "string") throw k.typeError("string-append", "a string", s, i + 1, site);
        length += s.length;
      });
      if (length > MAX_STRING_LENGTH) {
        throw new DmciError(
          "limit",
          `string-append: a string of ${length} characters, more than the limit of ${MAX_STRING_LENGTH}`,
          site,
        );
      }
      return ss.join("");
    };
  },
});
def("symbols and strings", {
  name: "number->string",
  arity: [1, 1],
  signature: "(number->string x)",
  doc: "The decimal representation of a number.",
  make: (c) => {
    const k = new Kit(c);
    return (site, x) => formatNumber(k.scalar("number->string", x, 1, site));
  },
});

// ---------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------

function tensorPrim(
  name: string,
  arity: readonly [number, number],
  signature: string,
  doc: string,
  body: (k: Kit, site: Span | undefined, ...args: any[]) => unknown,
  group: PrimGroup = "tensors",
  differentiable = true,
): void {
  def(group, {
    name,
    arity,
    signature,
    doc,
    differentiable,
    make: (c) => {
      const k = new Kit(c);
      return (site, ...args) => k.guard(name, site, () => body(k, site, ...args));
    },
  });
}
tensorPrim(
  "tensor",
  [1, 1],
  "(tensor x)",
  "A tensor from a number or a nested list of numbers (gradients flow from elements).",
  (k, s, x) => k.toTensor("tensor", x, s),
);
predicate(
  "tensors",
  "tensor?",
  "True for tensors of rank 1 or more.",
  (k, x) => k.B.isTensor(x) && k.B.shape(x).length > 0,
);
tensorPrim(
  "shape",
  [1, 1],
  "(shape t)",
  "The shape of a tensor as a list of integers; () for a number.",
  (k, s, t) => {
    k.tensor("shape", t, 1, s);
    let r: unknown = NIL;
    const sh = k.B.shape(t);
    for (let i = sh.length - 1; i >= 0; i--) r = new Pair(sh[i], r);
    return r;
  },
  "tensors",
  false,
);
tensorPrim(
  "zeros",
  [1, 1],
  "(zeros shape)",
  "A constant tensor of zeros; shape is an integer or a list of integers.",
  (k, s, sh) => k.B.fill(k.shapeArg("zeros", sh, 1, s), 0),
  "tensors",
  false,
);
tensorPrim(
  "ones",
  [1, 1],
  "(ones shape)",
  "A constant tensor of ones; shape is an integer or a list of integers.",
  (k, s, sh) => k.B.fill(k.shapeArg("ones", sh, 1, s), 1),
  "tensors",
  false,
);
tensorPrim(
  "eye",
  [1, 1],
  "(eye n)",
  "The n×n identity matrix.",
  (k, s, n) => k.B.eye(k.index("eye", n, 1, s)),
  "tensors",
  false,
);
tensorPrim(
  "tensor-ref",
  [1, V],
  "(tensor-ref t i …)",
  "Element (i …) of a tensor, one index per axis (gradient flows).",
  (k, s, t, ...idx) => {
    k.tensor("tensor-ref", t, 1, s);
    const shape = k.B.shape(t);
    if (idx.length !== shape.length) {
      throw new DmciError(
        "type",
        `tensor-ref: a tensor of shape (${
          shape.join(" ")
        }) needs ${shape.length} index(es), got ${idx.length}`,
        s,
      );
    }
    const ix = idx.map((v, i) => {
      const n = k.index("tensor-ref", v, i + 2, s);
      if (n >= shape[i]) {
        throw new DmciError(
          "type",
          `tensor-ref: index ${n} is out of range for axis ${i} of size ${shape[i]}`,
          s,
        );
      }
      return n;
    });
    return ix.length === 0 ? t : k.B.ref(t, ix);
  },
);
tensorPrim(
  "tensor->list",
  [1, 1],
  "(tensor->list t)",
  "The elements of a tensor as nested lists (gradients flow to the elements).",
  (k, s, t) => {
    k.tensor("tensor->list", t, 1, s);
    if (typeof t === "number") return t;
    const shape = k.B.shape(t);
    if (shape.length === 0) return t;
    const build = (prefix: number[]): unknown => {
      const axis = prefix.length;
      let r: unknown = NIL;
      for (let i = shape[axis] - 1; i >= 0; i--) {
        const ix = [...prefix, i];
        r = new Pair(axis === shape.length - 1 ? k.B.ref(t, ix) : build(ix), r);
      }
      return r;
    };
    return build([]);
  },
);
tensorPrim(
  "matmul",
  [2, 2],
  "(matmul a b)",
  "Matrix product (rank-1 operands act as row/column vectors).",
  (k, s, a, b) => k.B.matmul(k.tensor("matmul", a, 1, s), k.tensor("matmul", b, 2, s)),
);
tensorPrim(
  "transpose",
  [1, 1],
  "(transpose m)",
  "Transpose of a matrix.",
  (k, s, a) => k.B.transpose(k.tensor("transpose", a, 1, s)),
);
tensorPrim(
  "dot",
  [2, 2],
  "(dot u v)",
  "Inner product of two vectors.",
  (k, s, a, b) => k.B.dot(k.tensor("dot", a, 1, s), k.tensor("dot", b, 2, s)),
);
tensorPrim(
  "outer",
  [2, 2],
  "(outer u v)",
  "Outer product of two vectors.",
  (k, s, a, b) => k.B.outer(k.tensor("outer", a, 1, s), k.tensor("outer", b, 2, s)),
);
for (const name of ["sum", "mean"] as const) {
  tensorPrim(
    name,
    [1, 2],
    `(${name} t [axis])`,
    `${name === "sum" ? "Sum" : "Mean"} of all elements, or along one axis.`,
    (k, s, t, axis) => {
      const x = k.tensor(name, t, 1, s);
      return axis === undefined ? k.B[name](x) : k.B[name](x, k.index(name, axis, 2, s));
    },
  );
}
tensorPrim(
  "reshape",
  [2, 2],
  "(reshape t shape)",
  "The same elements in a new shape.",
  (k, s, t, sh) => k.B.reshape(k.tensor("reshape", t, 1, s), k.shapeArg("reshape", sh, 2, s)),
);
for (
  const [name, doc] of [
    ["stack", "Stacks equal-shaped tensors (or numbers) along a new axis (default 0)."],
    ["concat", "Concatenates tensors along an existing axis (default 0)."],
  ] as const
) {
  tensorPrim(name, [1, 2], `(${name} list [axis])`, doc, (k, s, l, axis = 0) => {
    const xs = k.list(name, l, 1, s).map((x, i) => k.tensor(name, x, i + 1, s));
    if (xs.length === 0) throw k.typeError(name, "a non-empty list", l, 1, s);
    return k.B[name](xs, k.index(name, axis, 2, s));
  });
}
tensorPrim(
  "slice",
  [3, 3],
  "(slice t begin size)",
  "The block of t starting at the indices begin with extents size (-1: to the end).",
  (k, s, t, b, z) => {
    const begin = k.list("slice", b, 2, s).map((v) => k.index("slice", v, 2, s));
    const size = k.list("slice", z, 3, s).map((v) => k.int("slice", v, 3, s));
    return k.B.slice(k.tensor("slice", t, 1, s), begin, size);
  },
);
tensorPrim(
  "diag",
  [1, 1],
  "(diag t)",
  "Vector → diagonal matrix; square matrix → its diagonal.",
  (k, s, t) => k.B.diag(k.tensor("diag", t, 1, s)),
);
tensorPrim(
  "cholesky",
  [1, 1],
  "(cholesky A)",
  "Lower-triangular L with L·Lᵀ = A for symmetric positive-definite A.",
  (k, s, a) => k.B.cholesky(k.tensor("cholesky", a, 1, s)),
  "linear algebra",
);
tensorPrim(
  "solve",
  [2, 2],
  "(solve A b)",
  "x with A·x = b for square A; b a vector or a matrix.",
  (k, s, a, b) => k.B.solve(k.tensor("solve", a, 1, s), k.tensor("solve", b, 2, s)),
  "linear algebra",
);
tensorPrim(
  "logdet",
  [1, 1],
  "(logdet A)",
  "log det A for symmetric positive-definite A (via Cholesky).",
  (k, s, a) => k.B.logdet(k.tensor("logdet", a, 1, s)),
  "linear algebra",
);

/** The primitive table, in reference order. */
export const PRIMITIVES: readonly Primitive[] = table;

/** Primitives by name. */
export const PRIMITIVE_BY_NAME: ReadonlyMap<string, Primitive> = new Map(table.map((p) => [p.name, p]));

/** Builds every primitive's implementation for a context. */
export function makePrimitives(c: PrimContext): Record<string, PrimFn> {
  const out: Record<string, PrimFn> = Object.create(null);
  for (const p of table) out[p.name] = p.make(c);
  return out;
}
