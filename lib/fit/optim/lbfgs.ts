/**
 * Limited-memory BFGS (Nocedal & Wright, 2nd ed., Algorithms 7.4 and 7.5) with the strong-Wolfe
 * line search of linesearch.ts. It keeps the last `memory` curvature pairs (s, y) and applies the
 * inverse-Hessian approximation by the two-loop recursion; it never forms an n×n matrix.
 */
import { wolfeLineSearch } from "./linesearch.ts";
import type { Objective, OptimOptions, OptimResult, TracePoint } from "./types.ts";
import { dot, evaluate, fmt, norm2, normInf } from "./vec.ts";
import { capWarnings, gradientConverged, notFiniteAtStart } from "./result.ts";

/** A curvature pair is kept only if sᵀy > CURVATURE_EPS·‖s‖‖y‖, which keeps H positive definite. */
const CURVATURE_EPS = 1e-8;
/** Two consecutive iterations of small relative decrease are needed, so one short step cannot stop it. */
const SMALL_DECREASE_RUN = 2;

/**
 * Minimises `f` from `x0` by L-BFGS.
 *
 * Stops when, after an iteration,
 * - ‖∇f‖∞ ≤ tolerance·max(1, |f|) (converged), or
 * - |fₖ − fₖ₊₁| ≤ tolerance·max(1, |fₖ|) on 2 consecutive iterations in each of which ‖∇f‖∞ also
 *   failed to halve (converged: no more progress). The gradient clause matters: near a minimum f
 *   is flat to second order, so its decrease falls below tolerance while x is still only
 *   √tolerance-accurate and the gradient is still shrinking fast; f alone would stop there. Even
 *   so, this test can end with x accurate to about √(2·tolerance/λmin) rather than to the gradient
 *   tolerance; pass a smaller tolerance when x itself must be tight. With a float32 objective
 *   (tfjs) the value has ~1e-7 resolution; pass a tolerance of about 1e-6 there.
 * - `steps` iterations were taken (default 500; not converged), or
 * - the line search finds no acceptable step even along −∇f (not converged; usually the loss is
 *   flat to rounding, or the objective is non-finite all around the point).
 *
 * Defaults: tolerance 1e-9, memory 10. The first step is scaled to length 1 (α₀ = 1/‖∇f‖₂);
 * later ones start at α = 1, where a quasi-Newton step is usually right. A NaN/Inf value or gradient
 * at a trial point makes the line search shorten the step; each is counted in `rejected` and
 * described in `warnings`. The result carries `invHessian`, the final inverse-Hessian approximation
 * (H₀ = γI with γ = sᵀy/yᵀy of the latest pair; identity when no pair was kept).
 *
 * @example
 * ```ts
 * // Rosenbrock from the classic start (−1.2, 1)
 * const rosen = (x: Float64Array) => ({
 *   value: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2,
 *   grad: Float64Array.of(-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)),
 * });
 * const r = lbfgs(rosen, Float64Array.of(-1.2, 1));
 * r.x; // ≈ [1, 1]; r.converged === true
 * ```
 */
export function lbfgs(f: Objective, x0: Float64Array, o: OptimOptions = {}): OptimResult {
  const memory = Math.max(1, Math.floor(o.memory ?? 10));
  const maxSteps = Math.max(0, Math.floor(o.steps ?? 500));
  const tol = o.tolerance ?? 1e-9;

  const first = evaluate(f, x0);
  if (first.problem) return notFiniteAtStart(x0, first);

  let x: Float64Array = Float64Array.from(x0);
  let fx = first.value;
  let g: Float64Array = first.grad;
  let evaluations = 1;
  let rejected = 0;
  const warnings: string[] = [];
  const trace: TracePoint[] = [];
  // Curvature pairs, oldest first, with ρ = 1/sᵀy.
  let S: Float64Array[] = [];
  let Y: Float64Array[] = [];
  let R: number[] = [];
  let skipped = 0;
  let iterations = 0;
  let smallDecreases = 0;
  let previousDecrease = NaN; // fₖ₋₁ − fₖ, for the restart step estimate
  let converged = false;
  let reason = "";

  const record = (step: number) => {
    const p: TracePoint = { iter: iterations, value: fx, gradNorm: normInf(g), step, evaluations };
    trace.push(p);
    o.onStep?.(p);
  };
  const gradientSmall = () => {
    const why = gradientConverged(g, fx, tol);
    if (why) reason = why;
    return why !== null;
  };

  record(0);
  converged = gradientSmall();
  while (!converged && iterations < maxSteps) {
    let d = twoLoop(g, S, Y, R).map((v) => -v);
    // Rounding in the recursion can, rarely, undo descent; steepest descent is always safe.
    if (!(dot(g, d) < 0)) {
      if (S.length > 0) {
        warnings.push(`iteration ${iterations + 1}: L-BFGS direction not downhill; memory cleared`);
      }
      [S, Y, R] = [[], [], []];
      d = g.map((v) => -v);
    }
    // N&W §3.5: without curvature information, guess α from the last decrease (eq. 3.60), or, on
    // the very first step, make the step unit length; with it, the quasi-Newton α = 1.
    let alpha0 = 1;
    if (S.length === 0) {
      alpha0 = Number.isFinite(previousDecrease) && previousDecrease > 0
        ? Math.min(1, (2.02 * previousDecrease) / -dot(g, d))
        : 1 / norm2(g);
    }
    const ls = wolfeLineSearch(f, x, fx, g, d, alpha0);
    evaluations += ls.evaluations;
    rejected += ls.rejected;
    for (const p of ls.problems) {
      warnings.push(`iteration ${iterations + 1}: ${p}; step rejected, line search backtracked`);
    }
    if (!ls.ok) {
      if (S.length > 0) {
        warnings.push(
          `iteration ${iterations + 1}: line search failed along the L-BFGS direction (${ls.reason}); ` +
            `memory cleared, retrying along −gradient`,
        );
        [S, Y, R] = [[], [], []];
        continue;
      }
      // In low precision (float32 gradients) the last digits of f are noise, and no step can
      // satisfy the Wolfe conditions once f has stopped decreasing: converged, to that precision.
      if (Math.abs(previousDecrease) <= tol * Math.max(1, Math.abs(fx))) {
        converged = true;
        reason =
          `no further decrease at this precision: the last relative decrease was ≤ tolerance ${fmt(tol)} ` +
          `and the line search along −gradient found no better point (${ls.reason})`;
      } else reason = `line search failed along −gradient: ${ls.reason}`;
      break;
    }

    const s = ls.x.map((v, i) => v - x[i]);
    const y = ls.grad.map((v, i) => v - g[i]);
    const sy = dot(s, y);
    if (sy > CURVATURE_EPS * norm2(s) * norm2(y)) {
      S.push(s);
      Y.push(y);
      R.push(1 / sy);
      if (S.length > memory) [S, Y, R] = [S.slice(1), Y.slice(1), R.slice(1)];
    } else skipped++;

    const fPrev = fx;
    const gPrevNorm = normInf(g);
    x = ls.x;
    fx = ls.value;
    g = ls.grad;
    previousDecrease = fPrev - fx;
    iterations++;
    record(ls.alpha);

    if (gradientSmall()) converged = true;
    else if (Math.abs(fPrev - fx) <= tol * Math.max(1, Math.abs(fPrev)) && normInf(g) > 0.5 * gPrevNorm) {
      if (++smallDecreases >= SMALL_DECREASE_RUN) {
        converged = true;
        reason =
          `relative decrease ≤ tolerance ${fmt(tol)} on ${SMALL_DECREASE_RUN} consecutive iterations ` +
          `(gradient no longer halving)`;
      }
    } else smallDecreases = 0;
  }
  if (!reason) reason = `max steps (${maxSteps})`;
  const notes = capWarnings(warnings);
  if (skipped > 0) notes.push(`${skipped} curvature pair(s) skipped (sᵀy ≤ ${CURVATURE_EPS}·‖s‖‖y‖)`);
  const [S1, Y1, R1] = [S, Y, R];
  return {
    x,
    value: fx,
    grad: g,
    iterations,
    evaluations,
    converged,
    reason,
    trace,
    rejected,
    warnings: notes,
    invHessian: (v: Float64Array) => twoLoop(v, S1, Y1, R1),
  };
}

/**
 * H·v by the two-loop recursion (N&W Alg. 7.4), H the L-BFGS inverse-Hessian approximation built
 * from the pairs on H₀ = γI, γ = sᵀy/yᵀy of the newest pair (1 with no pairs).
 */
function twoLoop(v: Float64Array, S: Float64Array[], Y: Float64Array[], R: number[]): Float64Array {
  const k = S.length;
  const q = Float64Array.from(v);
  const a = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    a[i] = R[i] * dot(S[i], q);
    for (let j = 0; j < q.length; j++) q[j] -= a[i] * Y[i][j];
  }
  const gamma = k > 0 ? dot(S[k - 1], Y[k - 1]) / dot(Y[k - 1], Y[k - 1]) : 1;
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < k; i++) {
    const b = R[i] * dot(Y[i], q);
    for (let j = 0; j < q.length; j++) q[j] += (a[i] - b) * S[i][j];
  }
  return q;
}
