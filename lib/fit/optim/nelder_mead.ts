/**
 * The Nelder–Mead simplex method (Nelder & Mead 1965) with the dimension-adaptive coefficients of
 * Gao & Han (2012, "Implementing the Nelder-Mead simplex algorithm with adaptive parameters"):
 * reflection 1, expansion 1 + 2/n, contraction 3/4 − 1/(2n), shrink 1 − 1/n, which keep it
 * making progress in tens of dimensions where the classic (1, 2, ½, ½) stalls.
 */
import type { GradientFreeOptions, GradientFreeResult, ValueObjective } from "./types.ts";
import { worstIfNaN } from "./vec.ts";

/**
 * Minimises `f` from `x0` by Nelder–Mead. The initial simplex is x0 and x0 + step·eᵢ (step
 * default 0.1). Stops (converged) when the simplex's values differ by at most tolerance·max(1, |f_best|)
 * and its vertices lie within tolerance (∞-norm) of the best one (tolerance default 1e-8), or
 * (not converged) after `steps` iterations (default 200·n).
 *
 * @example
 * ```ts
 * const rosen = (x: Float64Array) => 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2;
 * nelderMead(rosen, Float64Array.of(-1.2, 1)).x; // ≈ [1, 1]
 * ```
 */
export function nelderMead(
  f: ValueObjective,
  x0: Float64Array,
  o: GradientFreeOptions = {},
): GradientFreeResult {
  const n = x0.length;
  const tol = o.tolerance ?? 1e-8;
  const maxSteps = Math.max(0, Math.floor(o.steps ?? 200 * n));
  const step = o.step ?? 0.1;
  const alpha = 1, beta = 1 + 2 / n, gamma = 0.75 - 1 / (2 * n), delta = 1 - 1 / n;
  let evaluations = 0;
  const evalAt = (x: Float64Array) => {
    evaluations++;
    return worstIfNaN(f(Float64Array.from(x))); // a NaN vertex is the worst, replaced first
  };

  const xs: Float64Array[] = [Float64Array.from(x0)];
  for (let i = 0; i < n; i++) {
    const v = Float64Array.from(x0);
    v[i] += step;
    xs.push(v);
  }
  const fs = xs.map(evalAt);
  const order = () => {
    const idx = xs.map((_, i) => i).sort((a, b) => fs[a] - fs[b]);
    const nx = idx.map((i) => xs[i]), nf = idx.map((i) => fs[i]);
    for (let i = 0; i <= n; i++) {
      xs[i] = nx[i];
      fs[i] = nf[i];
    }
  };
  const along = (c: Float64Array, t: number, w: Float64Array) => c.map((v, j) => v + t * (w[j] - v));

  let iterations = 0;
  let reason = `max steps (${maxSteps})`;
  let converged = false;
  order();
  while (iterations < maxSteps) {
    const spreadF = fs[n] - fs[0];
    let spreadX = 0;
    for (let i = 1; i <= n; i++) {
      for (let j = 0; j < n; j++) spreadX = Math.max(spreadX, Math.abs(xs[i][j] - xs[0][j]));
    }
    if (spreadF <= tol * Math.max(1, Math.abs(fs[0])) && spreadX <= tol) {
      converged = true;
      reason = `simplex spread ${spreadF.toExponential(1)} in value, ${
        spreadX.toExponential(1)
      } in x ≤ tolerance`;
      break;
    }
    iterations++;
    // Centroid of all but the worst vertex.
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[j] += xs[i][j] / n;
    const worst = xs[n];
    const xr = along(c, -alpha, worst);
    const fr = evalAt(xr);
    if (fr < fs[0]) {
      const xe = along(c, -alpha * beta, worst);
      const fe = evalAt(xe);
      if (fe < fr) [xs[n], fs[n]] = [xe, fe];
      else [xs[n], fs[n]] = [xr, fr];
    } else if (fr < fs[n - 1]) {
      [xs[n], fs[n]] = [xr, fr];
    } else {
      // Outside contraction when the reflection beat the worst, else inside.
      const outside = fr < fs[n];
      const xc = outside ? along(c, -alpha * gamma, worst) : along(c, gamma, worst);
      const fc = evalAt(xc);
      if (fc < (outside ? fr : fs[n])) {
        [xs[n], fs[n]] = [xc, fc];
      } else {
        for (let i = 1; i <= n; i++) {
          xs[i] = along(xs[0], delta, xs[i]);
          fs[i] = evalAt(xs[i]);
        }
      }
    }
    order();
    o.onStep?.({ iter: iterations, value: fs[0], evaluations });
  }
  return { x: Float64Array.from(xs[0]), value: fs[0], iterations, evaluations, converged, reason };
}
