/**
 * Tests of the optimizers and uncertainty helpers (lib/fit/optim): L-BFGS and Adam against known
 * minimisers (Rosenbrock, whose minimum is (1, …, 1), and quadratics ½xᵀAx − bᵀx, minimised at
 * A⁻¹b), their handling of NaN regions, and the Hessian helpers against closed forms.
 */
import assert from "node:assert/strict";
import {
  adam,
  denseInverseFromOperator,
  hessianFromGradients,
  invertSpd,
  lbfgs,
  minimize,
  type Objective,
  type OptimResult,
  type TracePoint,
} from "../lib/fit/optim/mod.ts";
import { wolfeLineSearch } from "../lib/fit/optim/linesearch.ts";

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

/** The extended Rosenbrock function of Moré, Garbow & Hillstrom: independent pairs, minimum 0 at (1, …, 1). */
const rosenbrock: Objective = (x) => {
  let value = 0;
  const grad = new Float64Array(x.length);
  for (let i = 0; i + 1 < x.length; i += 2) {
    const a = x[i + 1] - x[i] ** 2;
    const b = 1 - x[i];
    value += 100 * a * a + b * b;
    grad[i] = -400 * x[i] * a - 2 * b;
    grad[i + 1] = 200 * a;
  }
  return { value, grad };
};

/** The classic start (−1.2, 1, −1.2, 1, …). */
function rosenbrockStart(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
}

/** A random orthogonal n×n matrix (Gram–Schmidt on uniform columns), row-major. */
function orthogonal(n: number, rand: () => number): Float64Array {
  const cols: Float64Array[] = [];
  while (cols.length < n) {
    const v = Float64Array.from({ length: n }, () => rand() - 0.5);
    for (const c of cols) {
      const p = c.reduce((s, ci, i) => s + ci * v[i], 0);
      for (let i = 0; i < n; i++) v[i] -= p * c[i];
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((vi) => vi / norm));
  }
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = cols[j][i];
  return Q;
}

/** Q diag(d) Qᵀ. */
function fromEigen(Q: Float64Array, d: number[]): Float64Array {
  const n = d.length;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[i * n + k] * d[k] * Q[j * n + k];
      A[i * n + j] = s;
    }
  }
  return A;
}

/** M·v for a row-major n×n M. */
function matvec(M: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  return Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += M[i * n + j] * v[j];
    return s;
  });
}

/** A quadratic ½xᵀAx − bᵀx with eigenvalues `eig`, its exact minimiser A⁻¹b and exact A⁻¹. */
function quadratic(eig: number[], seed: number) {
  const rand = rng(seed);
  const Q = orthogonal(eig.length, rand);
  const A = fromEigen(Q, eig);
  const Ainv = fromEigen(Q, eig.map((e) => 1 / e));
  const b = Float64Array.from(eig, () => 2 * rand() - 1);
  const f: Objective = (x) => {
    const Ax = matvec(A, x);
    let value = 0;
    for (let i = 0; i < x.length; i++) value += 0.5 * x[i] * Ax[i] - b[i] * x[i];
    return { value, grad: Ax.map((v, i) => v - b[i]) };
  };
  return { f, A, Ainv, xStar: matvec(Ainv, b) };
}

/** max |aᵢ − bᵢ|. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Eigenvalues spaced geometrically from 1 to κ. */
function geometric(n: number, kappa: number): number[] {
  return Array.from({ length: n }, (_, i) => kappa ** (i / (n - 1)));
}

/** Checks what every result must satisfy, whatever happened. */
function assertWellFormed(r: OptimResult): void {
  assert.ok(r.x.every(Number.isFinite), `x has a non-finite element: ${r.x}`);
  assert.ok(Number.isFinite(r.value), `value ${r.value}`);
  assert.ok(r.grad.every(Number.isFinite), "grad has a non-finite element");
  assert.equal(r.trace.length, r.iterations + 1);
  assert.ok(r.trace.every((p) => Number.isFinite(p.value)));
  assert.ok(r.evaluations >= r.iterations + 1);
}

// ---------------------------------------------------------------------------------------------
// L-BFGS

Deno.test("lbfgs: 2-D Rosenbrock from (−1.2, 1) reaches (1, 1) within 1e-6 in under 100 iterations", () => {
  const r = lbfgs(rosenbrock, Float64Array.of(-1.2, 1));
  assertWellFormed(r);
  assert.ok(r.converged, r.reason);
  assert.ok(maxDiff(r.x, [1, 1]) < 1e-6, `x = ${r.x}`);
  assert.ok(r.iterations < 100, `${r.iterations} iterations`);
  assert.equal(r.rejected, 0);
});

Deno.test("lbfgs: 10-D extended Rosenbrock reaches (1, …, 1) within 1e-6", () => {
  const r = lbfgs(rosenbrock, rosenbrockStart(10));
  assertWellFormed(r);
  assert.ok(r.converged, r.reason);
  assert.ok(maxDiff(r.x, new Float64Array(10).fill(1)) < 1e-6, `x = ${r.x}`);
});

Deno.test("lbfgs: ill-conditioned 5-D quadratic (κ = 1e3) reaches A⁻¹b within 1e-8", () => {
  // The relative-decrease test stops once f is tolerance-accurate, which leaves x only
  // √tolerance-accurate along the flattest direction; 1e-8 in x needs f to ~1e-16, so ask for it.
  const q = quadratic(geometric(5, 1e3), 7);
  const r = lbfgs(q.f, new Float64Array(5), { tolerance: 1e-14 });
  assertWellFormed(r);
  assert.ok(r.converged, r.reason);
  assert.ok(maxDiff(r.x, q.xStar) < 1e-8, `error ${maxDiff(r.x, q.xStar)}`);
});

Deno.test("lbfgs: inverse-Hessian approximation on a well-conditioned 3-D quadratic is A⁻¹ within 1 %", () => {
  // L-BFGS's H is exact only along its newest pair; elsewhere it is as good as the steps taken
  // explored. On 5-D quadratics with κ = 4 the error is typically 2–5 %, so this is a small case.
  const q = quadratic([1, 2, 3], 11);
  const r = lbfgs(q.f, Float64Array.of(5, -4, 3));
  assert.ok(r.invHessian);
  const H = denseInverseFromOperator(r.invHessian, 3);
  const rel = maxDiff(H, q.Ainv) / Math.max(...q.Ainv.map(Math.abs));
  assert.ok(rel < 1e-2, `relative error ${rel} after ${r.iterations} iterations`);
  assert.ok(invertSpd(H, 3), "the approximation is positive definite");
});

Deno.test("lbfgs: converges on 40 random ill-conditioned quadratics, none stopped by rounding in the value", () => {
  // Near the minimum f changes by less than its rounding while the gradient is still above
  // tolerance; the line search must still take the (gradient-guided) step rather than fail.
  for (const tolerance of [1e-9, 1e-14]) {
    for (let seed = 1; seed <= 40; seed++) {
      const q = quadratic(geometric(5, 1e3), seed);
      const r = lbfgs(q.f, Float64Array.of(5, -4, 3, -2, 1), { tolerance });
      assert.ok(r.converged, `seed ${seed}: ${r.reason}`);
      // f to `tolerance` means x to about √(2·tolerance/λmin), λmin = 1.
      const bound = 2 * Math.sqrt(2 * tolerance);
      assert.ok(maxDiff(r.x, q.xStar) < bound, `seed ${seed}: error ${maxDiff(r.x, q.xStar)}`);
    }
  }
});

Deno.test("lbfgs: memory 1 still converges on the quadratic (two-loop with a single pair)", () => {
  const q = quadratic(geometric(5, 100), 3);
  const r = lbfgs(q.f, new Float64Array(5), { memory: 1, tolerance: 1e-14 });
  assert.ok(r.converged, r.reason);
  assert.ok(maxDiff(r.x, q.xStar) < 1e-6, `error ${maxDiff(r.x, q.xStar)}`);
});

Deno.test("lbfgs: stops at `steps` and says so", () => {
  const r = lbfgs(rosenbrock, Float64Array.of(-1.2, 1), { steps: 3 });
  assert.equal(r.iterations, 3);
  assert.equal(r.converged, false);
  assert.equal(r.reason, "max steps (3)");
});

Deno.test("lbfgs: a start at the minimum converges at iteration 0 on the gradient test", () => {
  const r = lbfgs(rosenbrock, Float64Array.of(1, 1));
  assert.ok(r.converged);
  assert.equal(r.iterations, 0);
  assert.match(r.reason, /^gradient norm/);
});

// ---------------------------------------------------------------------------------------------
// The line search

Deno.test("wolfeLineSearch: the accepted step satisfies both strong Wolfe conditions", () => {
  const x = Float64Array.of(-1.2, 1);
  const e = rosenbrock(x);
  const d = e.grad.map((g) => -g);
  const r = wolfeLineSearch(rosenbrock, x, e.value, e.grad, d, 1); // α = 1 overshoots badly
  assert.ok(r.ok && r.wolfe);
  const slope0 = e.grad.reduce((s, g, i) => s + g * d[i], 0);
  const slope = r.grad.reduce((s, g, i) => s + g * d[i], 0);
  assert.ok(r.value <= e.value + 1e-4 * r.alpha * slope0);
  assert.ok(Math.abs(slope) <= 0.9 * Math.abs(slope0));
});

Deno.test("wolfeLineSearch: an uphill direction is refused without evaluating", () => {
  const x = Float64Array.of(0.5, 0.5);
  const e = rosenbrock(x);
  const r = wolfeLineSearch(rosenbrock, x, e.value, e.grad, e.grad, 1);
  assert.equal(r.ok, false);
  assert.equal(r.evaluations, 0);
  assert.match(r.reason ?? "", /not a descent direction/);
});

// ---------------------------------------------------------------------------------------------
// Adam

Deno.test("adam: reaches the minimiser of the ill-conditioned 5-D quadratic (κ = 1e3) within 1e-4", () => {
  const q = quadratic(geometric(5, 1e3), 7);
  const r = adam(q.f, new Float64Array(5), { steps: 5000 });
  assertWellFormed(r);
  assert.ok(maxDiff(r.x, q.xStar) < 1e-4, `error ${maxDiff(r.x, q.xStar)} (${r.reason})`);
});

Deno.test("adam: 2-D Rosenbrock from (−1.2, 1) reaches (1, 1) within 1e-2", () => {
  const r = adam(rosenbrock, Float64Array.of(-1.2, 1), { steps: 20000, learningRate: 0.01 });
  assertWellFormed(r);
  assert.ok(maxDiff(r.x, [1, 1]) < 1e-2, `x = ${r.x} (${r.reason})`);
});

Deno.test("adam: returns the best point seen, not the last", () => {
  const r = adam(rosenbrock, Float64Array.of(-1.2, 1), { steps: 300, learningRate: 0.05 });
  const lowest = Math.min(...r.trace.map((p) => p.value));
  assert.equal(r.value, lowest);
  assert.equal(r.value, rosenbrock(r.x).value);
});

Deno.test("adam: stops when the value stalls, and reports it as converged", () => {
  // |x| has no small gradient near its minimum, so only the stall test can stop it.
  const abs: Objective = (x) => ({ value: Math.abs(x[0]), grad: Float64Array.of(Math.sign(x[0])) });
  const r = adam(abs, Float64Array.of(0.3), { steps: 100000, learningRate: 0.01, tolerance: 1e-6 });
  assert.ok(r.converged, r.reason);
  assert.match(r.reason, /stalled/);
  assert.ok(r.iterations < 100000);
  assert.ok(Math.abs(r.x[0]) < 0.02);
});

// ---------------------------------------------------------------------------------------------
// Non-finite safety

/**
 * (x+1)² − 0.1·log x + (y − 2)²: minimum at x = (√4.8 − 2)/4 ≈ 0.0477, y = 2, and NaN for x < 0,
 * so a downhill step from the right easily lands in the NaN region.
 */
const logBarrier: Objective = (p) => {
  const [x, y] = p;
  return {
    value: (x + 1) ** 2 - 0.1 * Math.log(x) + (y - 2) ** 2,
    grad: Float64Array.of(2 * (x + 1) - 0.1 / x, 2 * (y - 2)),
  };
};
const logBarrierMin = [(Math.sqrt(4.8) - 2) / 4, 2];

Deno.test("lbfgs: steps into a NaN region are rejected and it still ends at the finite minimum", () => {
  const r = lbfgs(logBarrier, Float64Array.of(3, -1));
  assertWellFormed(r);
  assert.ok(r.rejected > 0, "expected at least one rejected step");
  assert.ok(r.warnings.some((w) => /loss was NaN; step rejected/.test(w)), r.warnings.join("\n"));
  assert.ok(r.converged, r.reason);
  assert.ok(maxDiff(r.x, logBarrierMin) < 1e-6, `x = ${r.x}`);
});

Deno.test("adam: steps into a NaN region are rejected, the learning rate halved, and it ends at the minimum", () => {
  const r = adam(logBarrier, Float64Array.of(3, -1), { learningRate: 0.5, steps: 5000 });
  assertWellFormed(r);
  assert.ok(r.rejected > 0, "expected at least one rejected step");
  assert.ok(r.warnings.some((w) => /loss was NaN; step rejected, learning rate halved/.test(w)));
  assert.ok(maxDiff(r.x, logBarrierMin) < 1e-3, `x = ${r.x}`);
});

Deno.test("both optimizers reject a finite loss whose gradient is not finite", () => {
  // A pseudo-Huber loss around 1.5 whose gradient code fails (NaN) beyond |x| > 2. Its slope is
  // nearly flat far out, so the first secant step overshoots far past 2.
  const f: Objective = (x) => {
    const r = x[0] - 1.5;
    return {
      value: Math.sqrt(1 + r * r),
      grad: Float64Array.of(Math.abs(x[0]) > 2 ? NaN : r / Math.sqrt(1 + r * r)),
    };
  };
  for (const r of [lbfgs(f, Float64Array.of(-1.9)), adam(f, Float64Array.of(-1.9), { learningRate: 1 })]) {
    assertWellFormed(r);
    assert.ok(r.rejected > 0);
    assert.ok(r.warnings.some((w) => /gradient element 0 was NaN/.test(w)), r.warnings.join("\n"));
    assert.ok(Math.abs(r.x[0] - 1.5) < 1e-3, `x = ${r.x}`);
  }
});

Deno.test("both optimizers return, not throw, when the initial point is not finite", () => {
  for (const r of [lbfgs(logBarrier, Float64Array.of(-1, 0)), adam(logBarrier, Float64Array.of(-1, 0))]) {
    assert.equal(r.converged, false);
    assert.equal(r.reason, "objective not finite at the initial point");
    assert.equal(r.iterations, 0);
    assert.deepEqual([...r.x], [-1, 0]);
    assert.match(r.warnings[0], /loss was NaN/);
  }
  // −∞ is "better" than any number, and just as unusable.
  const minusInf: Objective = () => ({ value: -Infinity, grad: Float64Array.of(0) });
  assert.match(lbfgs(minusInf, Float64Array.of(0)).warnings[0], /loss was -Infinity/);
});

Deno.test("optimizers copy the objective's gradient, so a reused buffer cannot corrupt their state", () => {
  const buf = new Float64Array(2);
  const shared: Objective = (x) => {
    const e = rosenbrock(x);
    buf.set(e.grad);
    return { value: e.value, grad: buf };
  };
  const r = lbfgs(shared, Float64Array.of(-1.2, 1));
  assert.ok(maxDiff(r.x, [1, 1]) < 1e-6);
});

// ---------------------------------------------------------------------------------------------
// Trace and onStep

Deno.test("onStep is called once per iteration (and for the start) with the trace points", () => {
  for (const method of ["lbfgs", "adam"] as const) {
    const seen: TracePoint[] = [];
    const r = minimize(method, rosenbrock, Float64Array.of(-1.2, 1), {
      steps: 50,
      onStep: (p) => seen.push(p),
    });
    assert.equal(seen.length, r.iterations + 1, method);
    assert.deepEqual(seen, r.trace);
    assert.deepEqual(seen.map((p) => p.iter), Array.from({ length: seen.length }, (_, i) => i));
    assert.equal(seen[0].step, 0);
    assert.ok(seen.every((p, i) => i === 0 || p.evaluations > seen[i - 1].evaluations));
  }
});

Deno.test("lbfgs trace values never increase beyond rounding (every step has sufficient decrease)", () => {
  for (
    const r of [
      lbfgs(rosenbrock, rosenbrockStart(10)),
      lbfgs(quadratic(geometric(5, 1e3), 7).f, new Float64Array(5)),
    ]
  ) {
    const t = r.trace;
    assert.ok(t.every((p, i) => i === 0 || p.value <= t[i - 1].value + 1e-12 * Math.abs(t[i - 1].value)));
  }
});

// ---------------------------------------------------------------------------------------------
// Hessian helpers

Deno.test("hessianFromGradients: f = x²y + sin y matches [[2y, 2x], [2x, −sin y]] within 1e-6", () => {
  const f: Objective = (p) => ({
    value: p[0] ** 2 * p[1] + Math.sin(p[1]),
    grad: Float64Array.of(2 * p[0] * p[1], p[0] ** 2 + Math.cos(p[1])),
  });
  for (const [x, y] of [[1, 2], [-0.3, 0.7], [12, -5]]) {
    const H = hessianFromGradients(f, Float64Array.of(x, y));
    const exact = [2 * y, 2 * x, 2 * x, -Math.sin(y)];
    assert.ok(maxDiff(H, exact) < 1e-6, `at (${x}, ${y}): ${H} vs ${exact}`);
  }
});

Deno.test("hessianFromGradients: on a quadratic it recovers A, exactly symmetric", () => {
  const q = quadratic(geometric(5, 1e3), 7);
  const H = hessianFromGradients(q.f, Float64Array.of(1, 2, 3, 4, 5));
  assert.ok(maxDiff(H, q.A) < 1e-6 * 1e3);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(H[i * 5 + j], H[j * 5 + i]);
});

Deno.test("invertSpd: matches known inverses", () => {
  assert.ok(maxDiff(invertSpd(Float64Array.of(4, 2, 2, 3), 2)!, [0.375, -0.25, -0.25, 0.5]) < 1e-15);
  const q = quadratic(geometric(5, 1e3), 7);
  const inv = invertSpd(q.A, 5);
  assert.ok(inv);
  assert.ok(maxDiff(inv, q.Ainv) < 1e-10);
  assert.ok(Math.abs(invertSpd(Float64Array.of(2), 1)![0] - 0.5) < 1e-15);
});

Deno.test("invertSpd: null for indefinite, singular and non-finite matrices", () => {
  assert.equal(invertSpd(Float64Array.of(1, 2, 2, 1), 2), null);
  assert.equal(invertSpd(Float64Array.of(1, 1, 1, 1), 2), null);
  assert.equal(invertSpd(Float64Array.of(-1, 0, 0, 1), 2), null);
  assert.equal(invertSpd(Float64Array.of(NaN, 0, 0, 1), 2), null);
});

Deno.test("denseInverseFromOperator: columns of the operator, symmetrised", () => {
  const M = Float64Array.of(2, 1, 0, 3); // not symmetric: the result is (M + Mᵀ)/2
  const dense = denseInverseFromOperator((v) => matvec(M, v), 2);
  assert.deepEqual([...dense], [2, 0.5, 0.5, 3]);
});

Deno.test("minimize: dispatches by name and rejects unknown names", () => {
  const q = quadratic(geometric(3, 10), 2);
  assert.ok(maxDiff(minimize("lbfgs", q.f, new Float64Array(3)).x, q.xStar) < 1e-8);
  assert.throws(() => minimize("sgd" as "adam", q.f, new Float64Array(3)), /unknown optimizer "sgd"/);
});
