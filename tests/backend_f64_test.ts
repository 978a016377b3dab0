/**
 * Tests of the f64 backend (lib/backend/f64): for every op, its value against a closed form
 * and its gradient against float64 central differences of a random-weighted sum of its output;
 * then the tape discipline (constants untracked, errors leave no tape), limits and speed.
 */
import assert from "node:assert/strict";
import type { BinaryOp, Nested, ParamValue, TensorData, UnaryOp } from "../lib/backend/backend.ts";
import { createF64Backend, f64Backend as B } from "../lib/backend/f64/mod.ts";
import { tapeLength } from "../lib/backend/f64/tape.ts";
import { DmciError } from "../lib/errors.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = rng(20240601);

/** Uniform numbers in [lo, hi). */
function uniform(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** A tensor parameter. */
function T(shape: number[], values: readonly number[]): TensorData {
  assert.equal(values.length, shape.reduce((a, b) => a * b, 1));
  return { shape, data: Float64Array.from(values) };
}

/** A random tensor parameter with elements in [lo, hi). */
function R(shape: number[], lo = -1, hi = 1): TensorData {
  return T(shape, uniform(shape.reduce((a, b) => a * b, 1), lo, hi));
}

/** Checks that every leaf of `actual` is within `tol` (absolute + relative) of `expected`. */
function assertClose(actual: Nested, expected: Nested, tol = 1e-12, path = ""): void {
  if (typeof expected === "number") {
    assert.equal(typeof actual, "number", `${path}: expected a number, got ${JSON.stringify(actual)}`);
    const a = actual as number;
    if (Number.isNaN(expected)) return assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    if (!Number.isFinite(expected)) return assert.equal(a, expected, path);
    const err = Math.abs(a - expected);
    assert.ok(err <= tol * Math.max(1, Math.abs(expected)), `${path}: got ${a}, expected ${expected}`);
    return;
  }
  assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
  assert.equal(actual.length, expected.length, `${path}: length`);
  expected.forEach((e, i) => assertClose((actual as Nested[])[i], e, tol, `${path}[${i}]`));
}

/** The value of an expression over constant inputs, as nested arrays (runs without a tape). */
function value(f: (ps: unknown[]) => unknown, theta: ParamValue[] = []): Nested {
  return B.run((ps) => B.toNested(f(ps)), theta);
}

/**
 * Checks valueAndGrad of f (reduced to a scalar by a random-weighted sum, so every output
 * element matters) against central differences (h = 1e-6) of the same function: the error
 * must be at most 1e-6 relative (absolute for gradients below 1). Returns the analytic grads.
 */
function checkGrad(f: (ps: unknown[]) => unknown, theta: ParamValue[], tol = 1e-6): ParamValue[] {
  const shape = B.run((ps) => B.shape(f(ps)), theta);
  const n = shape.reduce((a, b) => a * b, 1);
  const w = shape.length === 0 ? uniform(1, 0.5, 1.5)[0] : B.tensor(nest(shape, uniform(n, -1.5, 1.5)));
  const scalar = (ps: unknown[]): unknown => {
    const y = B.binary("mul", f(ps), w);
    return shape.length === 0 ? y : B.sum(y);
  };
  const at = (th: ParamValue[]): number => B.run((ps) => B.toNumber(scalar(ps)), th);
  const { value: v, grad } = B.valueAndGrad(scalar, theta);
  assertClose(v, at(theta), 1e-12, "value");
  const h = 1e-6;
  theta.forEach((p, i) => {
    const count = typeof p === "number" ? 1 : p.data.length;
    for (let j = 0; j < count; j++) {
      const shifted = (d: number): ParamValue[] =>
        theta.map((q, k) => {
          if (k !== i) return q;
          if (typeof q === "number") return q + d;
          const data = q.data.slice();
          data[j] += d;
          return { shape: q.shape, data };
        });
      const fd = (at(shifted(h)) - at(shifted(-h))) / (2 * h);
      const g = grad[i];
      const an = typeof g === "number" ? g : g.data[j];
      if (typeof p !== "number") assert.deepEqual((g as TensorData).shape, p.shape, `grad ${i} shape`);
      assert.ok(
        Math.abs(an - fd) <= tol * Math.max(1, Math.abs(fd)),
        `param ${i}[${j}]: gradient ${an}, central difference ${fd}`,
      );
    }
  });
  return grad;
}

/** Row-major values as nested arrays of a shape. */
function nest(shape: readonly number[], values: readonly number[]): Nested {
  let pos = 0;
  const build = (d: number): Nested =>
    d === shape.length ? values[pos++] : Array.from({ length: shape[d] }, () => build(d + 1));
  return build(0);
}

/** Nested arrays of a tensor parameter. */
function nested(p: TensorData): Nested {
  return nest(p.shape, Array.from(p.data));
}

/** Asserts that `f` throws a DmciError of `kind` whose message matches `message`. */
function assertDmci(f: () => unknown, kind: string, message: RegExp | string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, kind);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Unary ops

/** Closed forms, written independently of the backend's table. */
const UNARY_REF: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: (x) => (x < 0 ? -x : x),
  exp: (x) => Math.E ** x,
  log: Math.log,
  sqrt: (x) => x ** 0.5,
  square: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
  tan: (x) => Math.sin(x) / Math.cos(x),
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  tanh: (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.log(1 + Math.exp(x)),
  relu: (x) => (x > 0 ? x : 0),
  log1p: (x) => Math.log(1 + x),
  expm1: (x) => Math.exp(x) - 1,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round, // the test points have no ties
  trunc: (x) => (x < 0 ? Math.ceil(x) : Math.floor(x)),
};

/** Test points inside each op's domain and away from its kinks. */
function unaryPoints(op: UnaryOp): number[] {
  switch (op) {
    case "log":
    case "sqrt":
      return [0.3, 0.75, 1.9];
    case "asin":
    case "acos":
      return [0.3, -0.6, 0.8];
    case "floor":
    case "ceil":
    case "round":
    case "trunc":
      return [0.3, -0.7, 2.2];
    default:
      return [0.3, -0.7, 1.1];
  }
}

for (const op of Object.keys(UNARY_REF) as UnaryOp[]) {
  Deno.test(`unary ${op}: value matches its closed form and gradient matches central differences`, () => {
    const pts = unaryPoints(op), ref = UNARY_REF[op];
    // A plain number gives a constant of the same value.
    const c = B.unary(op, pts[0]);
    assert.ok(B.isTensor(c));
    assertClose(B.toNumber(c), ref(pts[0]), 1e-14);
    // A constant tensor, elementwise.
    assertClose(B.toNested(B.unary(op, B.tensor(pts))), pts.map(ref), 1e-14);
    // Scalar parameters (rank-0 nodes) and a [3] parameter.
    for (const x of pts) {
      assertClose(value((ps) => B.unary(op, ps[0]), [x]), ref(x), 1e-14);
      checkGrad((ps) => B.unary(op, ps[0]), [x]);
    }
    checkGrad((ps) => B.unary(op, ps[0]), [T([3], pts)]);
    checkGrad((ps) => B.unary(op, ps[0]), [T([3, 1], pts)]);
  });
}

Deno.test("unary round: rounds half to even", () => {
  const xs = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999999999999996, 2.6, -2.6, 1e300, 4503599627370497];
  assert.deepEqual(B.toNested(B.unary("round", B.tensor(xs))), [
    0,
    2,
    2,
    4,
    -0,
    -2,
    -2,
    2,
    3,
    -3,
    1e300,
    4503599627370497,
  ]);
});

Deno.test("unary floor/ceil/round/trunc: zero gradient and no tape entry", () => {
  for (const op of ["floor", "ceil", "round", "trunc"] as const) {
    const { value: v, grad } = B.valueAndGrad((ps) => {
      const y = B.unary(op, ps[0]);
      assert.equal(tapeLength(), 0);
      return B.sum(y);
    }, [T([2], [1.3, -2.7])]);
    assert.equal(v, UNARY_REF[op](1.3) + UNARY_REF[op](-2.7));
    assert.deepEqual(Array.from((grad[0] as TensorData).data), [0, 0]);
  }
});

Deno.test("unary abs and relu: gradient 0 at 0, sign elsewhere", () => {
  const g = (op: UnaryOp, x: number) => B.valueAndGrad((ps) => B.unary(op, ps[0]), [x]).grad[0];
  assert.equal(g("abs", 0), 0);
  assert.equal(g("abs", -2), -1);
  assert.equal(g("abs", 2), 1);
  assert.equal(g("relu", 0), 0);
  assert.equal(g("relu", -2), 0);
  assert.equal(g("relu", 2), 1);
});

Deno.test("sigmoid, softplus, log1p, expm1 are stable at ±1000 and at tiny arguments", () => {
  const at = (op: UnaryOp, x: number) => B.valueAndGrad((ps) => B.unary(op, ps[0]), [x]);
  assert.deepEqual(at("sigmoid", 1000), { value: 1, grad: [0] });
  assert.deepEqual(at("sigmoid", -1000), { value: 0, grad: [0] });
  assert.deepEqual(at("softplus", 1000), { value: 1000, grad: [1] });
  assert.deepEqual(at("softplus", -1000), { value: 0, grad: [0] });
  // Far tails keep relative precision: σ(−30) ≈ e^−30, softplus(−30) ≈ e^−30.
  assertClose(at("sigmoid", -30).value / Math.exp(-30), 1, 1e-12);
  assertClose(at("sigmoid", -30).grad[0] as number / Math.exp(-30), 1, 1e-12);
  assertClose(at("softplus", -30).value / Math.exp(-30), 1, 1e-12);
  assertClose(at("sigmoid", 0).value, 0.5);
  assertClose(at("softplus", 0).value, Math.LN2);
  assert.equal(at("log1p", 1e-20).value, 1e-20);
  assert.equal(at("expm1", 1e-20).value, 1e-20);
  assert.deepEqual(B.toNested(B.unary("sigmoid", B.tensor([-1000, 1000]))), [0, 1]);
  assert.deepEqual(B.toNested(B.unary("softplus", B.tensor([-1000, 1000]))), [0, 1000]);
});

// ---------------------------------------------------------------------------------------------
// Binary ops

/** Closed forms, written independently of the backend's table. */
const BINARY_REF: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.exp(b * Math.log(a)),
  atan2: Math.atan2,
  min: (a, b) => (a < b ? a : b),
  max: (a, b) => (a > b ? a : b),
};

/** Operand ranges inside each op's domain (pow needs a > 0, div needs b away from 0). */
function ranges(op: BinaryOp): { a: [number, number]; b: [number, number] } {
  if (op === "pow") return { a: [0.5, 2], b: [-1.5, 1.5] };
  if (op === "div") return { a: [-2, 2], b: [0.5, 2] };
  return { a: [-2, 2], b: [-2, 2] };
}

for (const op of Object.keys(BINARY_REF) as BinaryOp[]) {
  Deno.test(`binary ${op}: scalars, numbers and broadcasting [3]×[], [2,3]×[3], [2,1]×[1,3]`, () => {
    const ref = BINARY_REF[op], { a: ra, b: rb } = ranges(op);
    const f = (ps: unknown[]) => B.binary(op, ps[0], ps[1]);
    const [a0] = uniform(1, ...ra), [b0] = uniform(1, ...rb);
    // numbers, scalar nodes and mixes
    assertClose(B.toNumber(B.binary(op, a0, b0)), ref(a0, b0), 1e-14);
    assertClose(value(f, [a0, b0]), ref(a0, b0), 1e-14);
    checkGrad(f, [a0, b0]);
    checkGrad((ps) => B.binary(op, a0, ps[0]), [b0]);
    checkGrad((ps) => B.binary(op, ps[0], b0), [a0]);
    // [3] × [] (scalar node) and [] × [3], and [3] × number
    const v3 = R([3], ...ra), s = uniform(1, ...rb)[0];
    assertClose(value(f, [v3, s]), Array.from(v3.data, (x) => ref(x, s)), 1e-14);
    checkGrad(f, [v3, s]);
    const w3 = R([3], ...rb);
    assertClose(value(f, [a0, w3]), Array.from(w3.data, (y) => ref(a0, y)), 1e-14);
    checkGrad(f, [a0, w3]);
    checkGrad((ps) => B.binary(op, ps[0], s), [v3]);
    // [2,3] × [3]
    const m23 = R([2, 3], ...ra);
    const expect23 = [0, 1].map((i) => [0, 1, 2].map((j) => ref(m23.data[i * 3 + j], w3.data[j])));
    assertClose(value(f, [m23, w3]), expect23, 1e-14);
    checkGrad(f, [m23, w3]);
    // [2,1] × [1,3]
    const c21 = R([2, 1], ...ra), r13 = R([1, 3], ...rb);
    const expectOuter = [0, 1].map((i) => [0, 1, 2].map((j) => ref(c21.data[i], r13.data[j])));
    assertClose(value(f, [c21, r13]), expectOuter, 1e-14);
    checkGrad(f, [c21, r13]);
    // a constant tensor with a parameter, and [1] broadcasting against [3]
    checkGrad((ps) => B.binary(op, B.tensor(nested(m23)), ps[0]), [w3]);
    checkGrad(f, [R([1], ...ra), w3]);
  });
}

Deno.test("binary: shapes that do not broadcast are a type error naming the op and shapes", () => {
  assertDmci(
    () => B.binary("add", B.fill([2, 3], 1), B.fill([4], 1)),
    "type",
    "add: shapes [2,3] and [4] do not broadcast",
  );
  assertDmci(() => B.binary("mul", "x", 1), "type", "mul: expected a number or tensor, got a string");
});

Deno.test("binary min/max: the gradient goes to the selected argument, the first on ties", () => {
  const g = (op: BinaryOp, a: number, b: number) =>
    B.valueAndGrad((ps) => B.binary(op, ps[0], ps[1]), [a, b]).grad;
  assert.deepEqual(g("min", 1, 1), [1, 0]);
  assert.deepEqual(g("max", 1, 1), [1, 0]);
  assert.deepEqual(g("min", 1, 2), [1, 0]);
  assert.deepEqual(g("min", 3, 2), [0, 1]);
  assert.deepEqual(g("max", 1, 2), [0, 1]);
  const t = B.valueAndGrad((ps) => B.sum(B.binary("max", ps[0], ps[1])), [
    T([3], [1, 5, 2]),
    T([3], [1, 3, 4]),
  ]);
  assert.deepEqual(t.grad.map((x) => Array.from((x as TensorData).data)), [[1, 1, 0], [0, 0, 1]]);
});

Deno.test("binary pow: d/db is 0 for a ≤ 0, d/da is b·a^(b−1), and 0^0 has zero gradient", () => {
  const g = (a: number, b: number) => B.valueAndGrad((ps) => B.binary("pow", ps[0], ps[1]), [a, b]);
  assert.deepEqual(g(-2, 3), { value: -8, grad: [12, 0] });
  assert.deepEqual(g(0, 2), { value: 0, grad: [0, 0] });
  assert.deepEqual(g(0, 0), { value: 1, grad: [0, 0] });
  const r = g(2, 3);
  assert.equal(r.grad[0], 12);
  assertClose(r.grad[1] as number, 8 * Math.LN2);
});

Deno.test("binary atan2: atan2(a, b) is the angle of (b, a)", () => {
  assertClose(B.toNumber(B.binary("atan2", 1, 0)), Math.PI / 2);
  assertClose(B.toNumber(B.binary("atan2", 0, -1)), Math.PI);
  assert.deepEqual(B.valueAndGrad((ps) => B.binary("atan2", ps[0], ps[1]), [0, 0]).grad, [0, 0]);
});

// ---------------------------------------------------------------------------------------------
// Products, reductions and structural ops

Deno.test("matmul: [2,3]×[3,2], [3]×[3,2], [2,3]×[3], [3]×[3] values and gradients", () => {
  const a = [[1, 2, 3], [4, 5, 6]], b = [[1, 0], [2, -1], [0, 3]];
  assert.deepEqual(B.toNested(B.matmul(B.tensor(a), B.tensor(b))), [[5, 7], [14, 13]]);
  assert.deepEqual(B.toNested(B.matmul(B.tensor([1, 2, 3]), B.tensor(b))), [5, 7]);
  assert.deepEqual(B.toNested(B.matmul(B.tensor(a), B.tensor([1, 0, -1]))), [-2, -2]);
  assert.deepEqual(B.shape(B.matmul(B.tensor([1, 2, 3]), B.tensor([1, 0, -1]))), []);
  assert.equal(B.toNumber(B.matmul(B.tensor([1, 2, 3]), B.tensor([1, 0, -1]))), -2);
  const f = (ps: unknown[]) => B.matmul(ps[0], ps[1]);
  checkGrad(f, [R([2, 3]), R([3, 2])]);
  checkGrad(f, [R([3]), R([3, 2])]);
  checkGrad(f, [R([2, 3]), R([3])]);
  checkGrad(f, [R([3]), R([3])]);
  checkGrad((ps) => B.matmul(B.tensor(a), ps[0]), [R([3, 4])]);
  assertDmci(
    () => B.matmul(B.fill([2, 3], 1), B.fill([4, 2], 1)),
    "type",
    "matmul: inner dimensions differ: [2,3] × [4,2]",
  );
  assertDmci(() => B.matmul(2, B.fill([2], 1)), "type", /^matmul: expected operands of rank 1 or 2/);
});

Deno.test("transpose: rank 2 swaps axes, rank ≤ 1 is unchanged; gradient", () => {
  assert.deepEqual(B.toNested(B.transpose(B.tensor([[1, 2, 3], [4, 5, 6]]))), [[1, 4], [2, 5], [3, 6]]);
  assert.deepEqual(B.toNested(B.transpose(B.tensor([1, 2]))), [1, 2]);
  checkGrad((ps) => B.transpose(ps[0]), [R([2, 3])]);
  checkGrad((ps) => B.matmul(B.transpose(ps[0]), ps[0]), [R([3, 2])]);
  checkGrad((ps) => B.transpose(ps[0]), [R([3])]);
});

Deno.test("dot and outer: values and gradients; mismatched lengths are a type error", () => {
  assert.equal(B.toNumber(B.dot(B.tensor([1, 2, 3]), B.tensor([4, 5, 6]))), 32);
  assert.deepEqual(B.toNested(B.outer(B.tensor([1, 2]), B.tensor([3, 4, 5]))), [[3, 4, 5], [6, 8, 10]]);
  checkGrad((ps) => B.dot(ps[0], ps[1]), [R([4]), R([4])]);
  checkGrad((ps) => B.dot(ps[0], ps[0]), [R([4])]);
  checkGrad((ps) => B.outer(ps[0], ps[1]), [R([2]), R([3])]);
  assertDmci(() => B.dot(B.fill([3], 1), B.fill([4], 1)), "type", /^dot: .*\[3\] and \[4\]/);
  assertDmci(() => B.outer(B.fill([3, 1], 1), B.fill([4], 1)), "type", /^outer: .*\[3,1\]/);
});

Deno.test("sum and mean: of everything and along one axis (incl. negative); gradients", () => {
  const x = [[1, 2, 3], [4, 5, 6]], t = B.tensor(x);
  assert.equal(B.toNumber(B.sum(t)), 21);
  assert.equal(B.toNumber(B.mean(t)), 3.5);
  assert.deepEqual(B.toNested(B.sum(t, 0)), [5, 7, 9]);
  assert.deepEqual(B.toNested(B.sum(t, 1)), [6, 15]);
  assert.deepEqual(B.toNested(B.sum(t, -1)), [6, 15]);
  assert.deepEqual(B.toNested(B.mean(t, 0)), [2.5, 3.5, 4.5]);
  assert.deepEqual(B.toNested(B.mean(t, 1)), [2, 5]);
  assert.deepEqual(B.shape(B.sum(B.tensor([1, 2]), 0)), []);
  assert.equal(B.toNumber(B.sum(7)), 7);
  for (const op of ["sum", "mean"] as const) {
    const f = (axis?: number) => (ps: unknown[]) => B[op](ps[0], axis);
    checkGrad(f(), [R([2, 3])]);
    checkGrad(f(0), [R([2, 3])]);
    checkGrad(f(1), [R([2, 3])]);
    checkGrad(f(1), [R([2, 3, 4])]);
    checkGrad(f(0), [R([3])]);
    checkGrad(f(), [0.7]);
  }
  assertDmci(() => B.sum(t, 2), "type", "sum: axis 2 is out of range for shape [2,3]");
});

Deno.test("reshape: shares elements in a new shape, to and from rank 0; gradient", () => {
  assert.deepEqual(B.toNested(B.reshape(B.tensor([[1, 2, 3], [4, 5, 6]]), [3, 2])), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(B.shape(B.reshape(B.tensor([5]), [])), []);
  assert.deepEqual(B.toNested(B.reshape(5, [1, 1])), [[5]]);
  checkGrad((ps) => B.reshape(ps[0], [3, 2]), [R([2, 3])]);
  checkGrad((ps) => B.reshape(ps[0], [6]), [R([2, 3])]);
  checkGrad((ps) => B.reshape(ps[0], []), [R([1])]);
  checkGrad((ps) => B.reshape(ps[0], [1]), [0.4]);
  assertDmci(() => B.reshape(B.fill([2, 3], 0), [4]), "type", /^reshape: .*\[2,3\].*\[4\]/);
});

Deno.test("stack: numbers, scalar nodes and tensors along a new axis; gradient", () => {
  assert.deepEqual(B.toNested(B.stack([1, B.tensor(2), 3], 0)), [1, 2, 3]);
  const a = B.tensor([1, 2]), b = B.tensor([3, 4]);
  assert.deepEqual(B.toNested(B.stack([a, b], 0)), [[1, 2], [3, 4]]);
  assert.deepEqual(B.toNested(B.stack([a, b], 1)), [[1, 3], [2, 4]]);
  assert.deepEqual(B.toNested(B.stack([a, b], -1)), [[1, 3], [2, 4]]);
  checkGrad((ps) => B.stack([ps[0], 2, ps[1], ps[0]], 0), [0.3, -1.2]);
  checkGrad((ps) => B.stack([ps[0], ps[1]], 0), [R([2, 3]), R([2, 3])]);
  checkGrad((ps) => B.stack([ps[0], B.tensor([[1, 2, 3], [4, 5, 6]]), ps[1]], 1), [R([2, 3]), R([2, 3])]);
  checkGrad((ps) => B.stack([ps[0], ps[1]], 2), [R([2, 3]), R([2, 3])]);
  assertDmci(() => B.stack([a, B.tensor([1, 2, 3])], 0), "type", /^stack: item 1 has shape \[3\]/);
});

Deno.test("concat: along an existing axis; gradient; rank 0 and mismatches are type errors", () => {
  const a = B.tensor([[1, 2], [3, 4]]), b = B.tensor([[5], [6]]);
  assert.deepEqual(B.toNested(B.concat([a, b], 1)), [[1, 2, 5], [3, 4, 6]]);
  assert.deepEqual(B.toNested(B.concat([a, B.tensor([[7, 8]])], 0)), [[1, 2], [3, 4], [7, 8]]);
  assert.deepEqual(B.toNested(B.concat([B.tensor([1]), B.tensor([2, 3])], 0)), [1, 2, 3]);
  checkGrad((ps) => B.concat([ps[0], ps[1]], 1), [R([2, 3]), R([2, 1])]);
  checkGrad((ps) => B.concat([ps[0], B.tensor([[1, 2, 3]]), ps[1]], 0), [R([1, 3]), R([2, 3])]);
  checkGrad((ps) => B.concat([ps[0], ps[0]], 0), [R([3])]);
  assertDmci(() => B.concat([1, 2], 0), "type", /^concat: item 0 is rank 0/);
  assertDmci(() => B.concat([a, B.tensor([[1, 2, 3]])], 1), "type", /^concat: item 1 has shape \[1,3\]/);
});

Deno.test("slice: begin and size per axis, size -1 to the end; gradient; bounds", () => {
  const x = B.tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
  assert.deepEqual(B.toNested(B.slice(x, [1, 1], [2, -1])), [[6, 7, 8], [10, 11, 12]]);
  assert.deepEqual(B.toNested(B.slice(x, [0, 2], [1, 1])), [[3]]);
  assert.deepEqual(B.toNested(B.slice(B.tensor([1, 2, 3]), [1], [0])), []);
  checkGrad((ps) => B.slice(ps[0], [1, 1], [2, -1]), [R([3, 4])]);
  checkGrad((ps) => B.slice(ps[0], [1], [2]), [R([4])]);
  assertDmci(() => B.slice(x, [2, 0], [2, 1]), "type", /^slice: .* out of bounds for shape \[3,4\]/);
  assertDmci(() => B.slice(x, [0], [1]), "type", /^slice: .*one entry per axis/);
});

Deno.test("diag: vector → diagonal matrix and square matrix → diagonal; gradients", () => {
  assert.deepEqual(B.toNested(B.diag(B.tensor([1, 2]))), [[1, 0], [0, 2]]);
  assert.deepEqual(B.toNested(B.diag(B.tensor([[1, 2], [3, 4]]))), [1, 4]);
  checkGrad((ps) => B.diag(ps[0]), [R([3])]);
  checkGrad((ps) => B.diag(ps[0]), [R([3, 3])]);
  assertDmci(
    () => B.diag(B.fill([2, 3], 0)),
    "type",
    "diag: expected a vector or a square matrix, got shape [2,3]",
  );
});

Deno.test("ref: one element as rank 0; gradient scatters into the tensor; bounds", () => {
  const x = B.tensor([[1, 2, 3], [4, 5, 6]]);
  const e = B.ref(x, [1, 2]);
  assert.deepEqual(B.shape(e), []);
  assert.equal(B.toNumber(e), 6);
  checkGrad((ps) => B.ref(ps[0], [1, 0]), [R([2, 3])]);
  checkGrad((ps) => {
    let s: unknown = 0;
    for (let i = 0; i < 4; i++) {
      s = B.binary("add", s, B.binary("mul", B.ref(ps[0], [i]), B.ref(ps[0], [3 - i])));
    }
    return s;
  }, [R([4])]);
  const { grad } = B.valueAndGrad((ps) => B.ref(ps[0], [1]), [T([3], [1, 2, 3])]);
  assert.deepEqual(Array.from((grad[0] as TensorData).data), [0, 1, 0]);
  assertDmci(() => B.ref(x, [2, 0]), "type", "ref: index [2,0] is out of range for shape [2,3]");
  assertDmci(() => B.ref(x, [0]), "type", "ref: index [0] does not match shape [2,3]");
});

Deno.test("eye, fill and tensor: constants of the right shape; ragged input is a type error", () => {
  assert.deepEqual(B.toNested(B.eye(2)), [[1, 0], [0, 1]]);
  assert.deepEqual(B.toNested(B.fill([2, 1], 7)), [[7], [7]]);
  assert.deepEqual(B.shape(B.fill([], 3)), []);
  assert.deepEqual(B.shape(B.tensor([])), [0]);
  assert.deepEqual(B.shape(B.tensor([[], []])), [2, 0]);
  assertDmci(() => B.tensor([[1, 2], [3]]), "type", /^tensor: nested arrays are not rectangular/);
  assertDmci(() => B.tensor([1, "a" as unknown as number]), "type", /^tensor: expected a number/);
});

Deno.test("shape, toNumber, toNested: numbers, rank 0, one-element and larger tensors", () => {
  assert.deepEqual(B.shape(3), []);
  assert.deepEqual(B.shape(B.tensor(3)), []);
  assert.deepEqual(B.shape(B.tensor([[1, 2, 3]])), [1, 3]);
  assert.equal(B.toNumber(4), 4);
  assert.equal(B.toNumber(B.tensor([[4]])), 4);
  assert.equal(B.toNested(B.tensor(4)), 4);
  assert.equal(B.isTensor(4), false);
  assert.equal(B.isTensor(B.tensor(4)), true);
  assertDmci(
    () => B.toNumber(B.tensor([1, 2])),
    "type",
    "toNumber: expected a one-element tensor, got shape [2]",
  );
});

// ---------------------------------------------------------------------------------------------
// Linear algebra

/** An SPD matrix X Xᵀ + I from a parameter X (so finite differences perturb it symmetrically). */
const spd = (x: unknown): unknown => B.binary("add", B.matmul(x, B.transpose(x)), B.eye(B.shape(x)[0]));

Deno.test("cholesky: value against a hand factor and L Lᵀ = A; not positive definite is a type error", () => {
  const L = B.toNested(B.cholesky(B.tensor([[4, 2], [2, 3]]))) as number[][];
  assertClose(L, [[2, 0], [1, Math.SQRT2]], 1e-15);
  const a = B.run((ps) => B.toNested(spd(ps[0])), [R([4, 4])]);
  const l = B.cholesky(B.tensor(a));
  assertClose(B.toNested(B.matmul(l, B.transpose(l))), a, 1e-13);
  assertDmci(
    () => B.cholesky(B.tensor([[1, 2], [2, 1]])),
    "type",
    /^cholesky: matrix of shape \[2,2\] is not positive definite/,
  );
  assertDmci(
    () => B.cholesky(B.fill([2, 3], 1)),
    "type",
    "cholesky: expected a square matrix, got shape [2,3]",
  );
});

Deno.test("cholesky: gradient (Murray 2016) matches central differences", () => {
  checkGrad((ps) => B.cholesky(spd(ps[0])), [R([1, 1])]);
  checkGrad((ps) => B.cholesky(spd(ps[0])), [R([3, 3])]);
  checkGrad((ps) => B.cholesky(spd(ps[0])), [R([5, 3])]);
  // Directly in A: the symmetric part is what is factored, so every raw entry has a gradient.
  const a = B.run((ps) => B.toNested(spd(ps[0])), [R([4, 4])]) as number[][];
  checkGrad((ps) => B.cholesky(ps[0]), [T([4, 4], a.flat())]);
  // Through a typical use: a Gaussian log-density with L.
  checkGrad((ps) => {
    const l = B.cholesky(spd(ps[0]));
    const z = B.solve(l, ps[1]);
    return B.binary("add", B.dot(z, z), B.sum(B.unary("log", B.diag(l))));
  }, [R([3, 3]), R([3])]);
});

Deno.test("solve: vector and matrix right-hand sides; pivoting; gradients to A and b", () => {
  const a = [[2, 1], [1, 3]];
  assertClose(B.toNested(B.solve(B.tensor(a), B.tensor([3, 5]))), [0.8, 1.4], 1e-15);
  assertClose(B.toNested(B.solve(B.tensor(a), B.tensor([[3, 1], [5, 0]]))), [[0.8, 0.6], [1.4, -0.2]], 1e-15);
  // A zero leading entry needs a row swap.
  assertClose(B.toNested(B.solve(B.tensor([[0, 1], [1, 0]]), B.tensor([2, 3]))), [3, 2], 1e-15);
  const A = T([4, 4], uniform(16, -1, 1).map((x, i) => (i % 5 === 0 ? x + 3 : x)));
  checkGrad((ps) => B.solve(ps[0], ps[1]), [A, R([4])]);
  checkGrad((ps) => B.solve(ps[0], ps[1]), [A, R([4, 2])]);
  checkGrad((ps) => B.solve(ps[0], B.tensor([1, 2, 3, 4])), [R([4, 4])]);
  checkGrad((ps) => B.solve(B.tensor(nested(A)), ps[0]), [R([4, 3])]);
  checkGrad((ps) => B.solve(ps[0], ps[1]), [T([2, 2], [0, 1, 1, 0.2]), R([2])]);
  assertDmci(() => B.solve(B.tensor([[1, 2], [2, 4]]), B.tensor([1, 1])), "type", /^solve: .* is singular/);
  assertDmci(
    () => B.solve(B.eye(2), B.fill([3], 1)),
    "type",
    "solve: right-hand side of shape [3] does not fit a matrix of shape [2,2]",
  );
});

Deno.test("logdet: value against the 2×2 determinant; gradient A⁻¹ matches central differences", () => {
  assertClose(B.toNumber(B.logdet(B.tensor([[4, 2], [2, 3]]))), Math.log(8), 1e-15);
  assertClose(B.toNumber(B.logdet(B.eye(3))), 0);
  const a = B.run((ps) => B.toNested(spd(ps[0])), [R([4, 4])]) as number[][];
  const { grad } = B.valueAndGrad((ps) => B.logdet(ps[0]), [T([4, 4], a.flat())]);
  const prod = B.toNested(B.matmul(B.tensor(nested(grad[0] as TensorData)), B.tensor(a)));
  assertClose(prod, B.toNested(B.eye(4)), 1e-12);
  checkGrad((ps) => B.logdet(ps[0]), [T([4, 4], a.flat())]);
  checkGrad((ps) => B.logdet(spd(ps[0])), [R([3, 2])]);
  assertDmci(() => B.logdet(B.tensor([[-1]])), "type", /^logdet: .*not positive definite/);
});

// ---------------------------------------------------------------------------------------------
// The tape and valueAndGrad / run

Deno.test("constant tensors never enter the tape; ops on parameters do", () => {
  B.valueAndGrad((ps) => {
    const c = B.binary("mul", B.matmul(B.eye(3), B.fill([3], 2)), 4);
    const d = B.solve(B.eye(3), B.unary("exp", B.tensor([1, 2, 3])));
    B.stack([c, d, B.tensor([1, 2, 3])], 0);
    B.ref(c, [0]);
    B.binary("add", 1, 2);
    assert.equal(tapeLength(), 0);
    const y = B.dot(c, ps[0]);
    assert.equal(tapeLength(), 1);
    return y;
  }, [T([3], [1, 2, 3])]);
  B.run((ps) => {
    B.binary("add", B.sum(ps[1]), ps[0]);
    assert.equal(tapeLength(), 0);
  }, [1, T([2], [1, 2])]);
  assert.equal(tapeLength(), 0);
});

Deno.test("valueAndGrad: scalar and tensor params, zero gradient without dependence, one-element results", () => {
  const r = B.valueAndGrad(
    (ps) => B.reshape(B.binary("mul", ps[0], B.sum(ps[1])), [1, 1]),
    [2, T([2], [3, 4]), 5, T([2, 2], [1, 2, 3, 4])],
  );
  assert.equal(r.value, 14);
  assert.equal(r.grad[0], 7);
  assert.deepEqual(r.grad[1], { shape: [2], data: Float64Array.of(2, 2) });
  assert.equal(r.grad[2], 0);
  assert.deepEqual(r.grad[3], { shape: [2, 2], data: new Float64Array(4) });
  assert.deepEqual(B.valueAndGrad(() => 3, [1]), { value: 3, grad: [0] });
  assert.deepEqual(B.valueAndGrad((ps) => ps[0], [1.5]), { value: 1.5, grad: [1] });
  // A rank-0 tensor parameter is a rank-0 leaf; its gradient comes back as rank-0 TensorData.
  assert.deepEqual(B.valueAndGrad((ps) => B.binary("mul", ps[0], 4), [T([], [2])]), {
    value: 8,
    grad: [{ shape: [], data: Float64Array.of(4) }],
  });
  assert.equal(B.run((ps) => ps[0], [T([], [2])]), 2);
});

Deno.test("valueAndGrad: a non-scalar value is a type error", () => {
  assertDmci(
    () => B.valueAndGrad((ps) => B.binary("mul", ps[0], B.fill([3], 1)), [1]),
    "type",
    "value-and-gradient: the program's value must be a real scalar, got a tensor of shape [3]",
  );
  assertDmci(() => B.valueAndGrad(() => "x", []), "type", /must be a real scalar, got a string/);
});

Deno.test("an error thrown inside f leaves no tape and the backend usable", () => {
  assert.throws(() =>
    B.valueAndGrad((ps) => {
      B.binary("mul", ps[0], ps[0]);
      throw new Error("boom");
    }, [2])
  );
  assert.equal(tapeLength(), 0);
  assertDmci(
    () => B.valueAndGrad((ps) => B.matmul(ps[0], ps[0]), [T([2, 3], [1, 2, 3, 4, 5, 6])]),
    "type",
    /^matmul/,
  );
  assert.equal(tapeLength(), 0);
  assert.deepEqual(B.valueAndGrad((ps) => B.binary("mul", ps[0], ps[0]), [3]), { value: 9, grad: [6] });
});

Deno.test("nested valueAndGrad: the inner call treats outer values as constants", () => {
  const r = B.valueAndGrad((ps) => {
    const inner = B.valueAndGrad((qs) => B.binary("mul", qs[0], ps[0]), [5]);
    assert.equal(inner.grad[0], 3);
    return B.binary("mul", ps[0], ps[0]);
  }, [3]);
  assert.deepEqual(r, { value: 9, grad: [6] });
});

Deno.test("maxTensorSize: ops refuse results above the limit with a limit error", () => {
  const small = createF64Backend({ maxTensorSize: 10 });
  assertDmci(() => small.fill([4, 4], 0), "limit", /^fill: a result of shape \[4,4\] would have 16 elements/);
  assertDmci(() => small.outer(small.fill([4], 1), small.fill([4], 1)), "limit", /^outer/);
  assertDmci(() => small.binary("add", small.fill([4, 1], 1), small.fill([1, 4], 1)), "limit", /^add/);
  assertDmci(() => small.valueAndGrad(() => 0, [R([11])]), "limit", /^parameter 0/);
  assert.deepEqual(small.shape(small.fill([10], 0)), [10]);
});

// ---------------------------------------------------------------------------------------------
// Recurrences (their speed is measured in bench/core_bench.ts, not here)

/** 1000 steps of x ← x + dt·(a·x − b·x·x), five ops per step. */
function logistic(ps: unknown[]): unknown {
  const [a, b] = ps, dt = 0.01;
  let x: unknown = 0.5;
  for (let i = 0; i < 1000; i++) {
    const bx = B.binary("mul", b, x);
    x = B.binary("add", x, B.binary("mul", dt, B.binary("mul", x, B.binary("sub", a, bx))));
  }
  return x;
}

Deno.test("a 1000-step scalar recurrence: gradient matches central differences", () => {
  checkGrad(logistic, [1.2, 0.7]);
});
