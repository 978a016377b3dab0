/**
 * Tests of the gradient-free optimizers (Nelder–Mead, CMA-ES, random search) on standard functions
 * with known minima — Rosenbrock (minimum 0 at (1, …, 1)), the sphere and a 10⁶-conditioned
 * ellipsoid (0 at 0), Rastrigin (global 0 at 0, local minima at every integer point) — and of the
 * budget meter that all methods, the gradient ones included, are compared under.
 */
import assert from "node:assert/strict";
import {
  adam,
  BudgetExhausted,
  cmaEs,
  lbfgs,
  Meter,
  nelderMead,
  type Objective,
  randomSearch,
  withBudget,
} from "../lib/fit/optim/mod.ts";

const rosenbrock = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
  return s;
};
const sphere = (x: Float64Array) => x.reduce((s, v) => s + v * v, 0);
/** Σ 10^{6 i/(n−1)} xᵢ²: condition number 10⁶. */
const ellipsoid = (x: Float64Array) =>
  x.reduce((s, v, i) => s + 10 ** (6 * i / Math.max(1, x.length - 1)) * v * v, 0);
const rastrigin = (x: Float64Array) =>
  10 * x.length + x.reduce((s, v) => s + v * v - 10 * Math.cos(2 * Math.PI * v), 0);

const maxDist = (x: Float64Array, target: number) => Math.max(...x.map((v) => Math.abs(v - target)));

Deno.test("nelder-mead: Rosenbrock 2-D from (−1.2, 1) reaches (1, 1)", () => {
  const r = nelderMead(rosenbrock, Float64Array.of(-1.2, 1), { tolerance: 1e-10 });
  assert.ok(r.converged, r.reason);
  assert.ok(maxDist(r.x, 1) < 1e-4, `x = ${r.x}`);
  assert.ok(r.value < 1e-8, `f = ${r.value}`);
  assert.equal(r.value, rosenbrock(r.x));
});

Deno.test("nelder-mead: sphere in 8 dimensions and an ellipsoid in 4", () => {
  const s = nelderMead(sphere, Float64Array.from({ length: 8 }, (_, i) => i - 3.5), {
    step: 1,
    steps: 20000,
    tolerance: 1e-10,
  });
  assert.ok(s.converged, s.reason);
  assert.ok(maxDist(s.x, 0) < 1e-4, `x = ${s.x}`);
  const e = nelderMead(ellipsoid, Float64Array.of(1, 1, 1, 1), { step: 0.5, steps: 20000, tolerance: 1e-12 });
  assert.ok(e.value < 1e-8, `f = ${e.value}`);
});

Deno.test("nelder-mead: NaN regions count as worse than any number", () => {
  const f = (x: Float64Array) => x[0] < -0.5 ? NaN : (x[0] - 1) ** 2 + (x[1] + 2) ** 2;
  const r = nelderMead(f, Float64Array.of(0, 0), { step: 1 });
  assert.ok(maxDist(Float64Array.of(r.x[0] - 1, r.x[1] + 2), 0) < 1e-4, `x = ${r.x}`);
});

Deno.test("cma-es: Rosenbrock in 10 dimensions reaches (1, …, 1)", () => {
  const r = cmaEs(rosenbrock, new Float64Array(10), { step: 0.5, seed: 3, tolerance: 1e-12 });
  assert.ok(r.value < 1e-10, `f = ${r.value} (${r.reason})`);
  assert.ok(maxDist(r.x, 1) < 1e-4, `x = ${r.x}`);
});

Deno.test("cma-es: a 10⁶-conditioned ellipsoid in 20 dimensions (needs the adapted covariance)", () => {
  const r = cmaEs(ellipsoid, new Float64Array(20).fill(1), { step: 1, seed: 1, tolerance: 1e-12 });
  assert.ok(r.value < 1e-10, `f = ${r.value} (${r.reason})`);
  assert.ok(maxDist(r.x, 0) < 1e-5, `x = ${r.x}`);
});

Deno.test("cma-es: Rastrigin 2-D with a large population (λ = 200) finds the global minimum", () => {
  for (const seed of [1, 2, 3]) {
    const r = cmaEs(rastrigin, Float64Array.of(3.3, -2.7), {
      step: 2,
      population: 200,
      seed,
      tolerance: 1e-12,
    });
    assert.ok(r.value < 1e-10, `seed ${seed}: f = ${r.value} at ${r.x} (${r.reason})`);
  }
});

Deno.test("cma-es: the same seed gives the same run, another seed another", () => {
  const a = cmaEs(sphere, Float64Array.of(1, 2, 3), { seed: 5, steps: 20 });
  const b = cmaEs(sphere, Float64Array.of(1, 2, 3), { seed: 5, steps: 20 });
  const c = cmaEs(sphere, Float64Array.of(1, 2, 3), { seed: 6, steps: 20 });
  assert.deepEqual(a.x, b.x);
  assert.notDeepEqual(a.x, c.x);
  assert.equal(a.evaluations, 20 * (4 + Math.floor(3 * Math.log(3))));
});

Deno.test("random search: keeps the best sample, centred on the start", () => {
  const f = (x: Float64Array) => (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2;
  const r = randomSearch(f, Float64Array.of(0, 0), { step: 0.5, steps: 4000, seed: 2 });
  assert.equal(r.evaluations, 4001);
  assert.equal(r.value, f(r.x));
  // 4000 samples of N(0, 0.25 I): the nearest to (0.3, −0.2) is within 0.03 with probability ≈ 1.
  assert.ok(Math.sqrt(r.value) < 0.03, `distance ${Math.sqrt(r.value)}`);
  // It is not a local search: on a far-away minimum it stays near the start.
  const far = randomSearch(sphere, Float64Array.of(10, 10), { step: 0.1, steps: 1000, seed: 2 });
  assert.ok(far.value > 150, `f = ${far.value}`);
});

Deno.test("budget: an evaluation budget is exact and the best point is kept", () => {
  const meter = new Meter({ evaluations: 37 });
  const r = withBudget(meter, () => nelderMead(meter.value(rosenbrock), Float64Array.of(-1.2, 1)));
  assert.equal(r.result, null);
  assert.equal(r.evaluations, 37);
  assert.match(r.stopped, /evaluations \(37\)/);
  assert.equal(r.value, rosenbrock(r.x!));
  assert.ok(r.value < rosenbrock(Float64Array.of(-1.2, 1)));
  // The history is monotone and ends at the best.
  for (let i = 1; i < r.history.length; i++) assert.ok(r.history[i].best <= r.history[i - 1].best);
  assert.equal(r.history[r.history.length - 1].best, r.value);
  assert.equal(meter.bestWithin(1), rosenbrock(Float64Array.of(-1.2, 1)));
});

Deno.test("budget: a wall-clock budget stops every method, gradient ones included", () => {
  let now = 0;
  const tick = () => now;
  const grad: Objective = (x) => {
    now += 100; // each evaluation takes 0.1 s of the fake clock
    const a = x[1] - x[0] ** 2;
    return { value: rosenbrock(x), grad: Float64Array.of(-400 * x[0] * a - 2 * (1 - x[0]), 200 * a) };
  };
  for (const run of ["lbfgs", "adam", "cma-es", "random"] as const) {
    now = 0;
    const meter = new Meter({ seconds: 2 }, tick);
    const x0 = Float64Array.of(-1.2, 1);
    const value = (x: Float64Array) => grad(x).value;
    const r = withBudget(meter, () => {
      if (run === "lbfgs") return lbfgs(meter.objective(grad), x0, { steps: 1e9 });
      if (run === "adam") return adam(meter.objective(grad), x0, { steps: 1e9 });
      if (run === "cma-es") return cmaEs(meter.value(value), x0, { steps: 1e9 });
      return randomSearch(meter.value(value), x0, { steps: 1e9 });
    });
    // None of them solves Rosenbrock in 20 evaluations, so each runs until 2 s = 20 evaluations.
    assert.match(r.stopped, /wall clock \(2 s\)/, run);
    assert.equal(r.evaluations, 20, run);
    assert.ok(r.value < rosenbrock(x0), run);
  }
});

Deno.test("budget: other exceptions pass through", () => {
  const meter = new Meter({ evaluations: 10 });
  assert.throws(
    () =>
      withBudget(meter, () =>
        meter.value(() =>
          (() => {
            throw new RangeError("boom");
          })()
        )(Float64Array.of(1))),
    RangeError,
  );
  assert.ok(new BudgetExhausted("x") instanceof Error);
});
