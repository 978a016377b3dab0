/**
 * Adam (Kingma & Ba 2015, Algorithm 1) for full-batch objectives, with the non-finite rule and
 * the stopping tests of this package. It returns the best point seen, not the last: with a fixed
 * learning rate Adam hovers around a minimum, and the fitter wants the lowest loss it visited.
 */
import type { Objective, OptimOptions, OptimResult, TracePoint } from "./types.ts";
import { evaluate, fmt, normInf } from "./vec.ts";
import { capWarnings, gradientConverged, notFiniteAtStart } from "./result.ts";

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
/** The value "stalls" when its best has not improved by a relative `tolerance` in this many steps. */
const STALL_WINDOW = 100;
/** Halvings of the learning rate tried on one step before giving up on finding a finite point. */
const MAX_HALVINGS = 60;
/** After this many accepted steps in a row a halved learning rate doubles back (never past the requested one). */
const RECOVERY_STEPS = 20;

/**
 * Minimises `f` from `x0` by Adam (β₁ 0.9, β₂ 0.999, ε 1e-8; learning rate default 0.01, at most
 * `steps` = 1000 accepted steps, tolerance default 1e-9).
 *
 * Stops when, after a step,
 * - ‖∇f‖∞ ≤ tolerance·max(1, |f|) (converged), or
 * - the value stalled (converged): the best value has not fallen by more than
 *   tolerance·max(1, |f|) in 100 steps, and neither is the current value that much below every
 *   value since. Both are asked because momentum can carry Adam uphill past an early best point,
 *   and while it comes steadily back down that is not a stall.
 * - `steps` steps were taken (not converged), or
 * - no finite point was found after 60 halvings of the learning rate (not converged).
 *
 * A NaN/Inf value or gradient at a proposed point rejects that step: the moments are left as they
 * were, the learning rate is halved and the step is retried from the previous point. Each
 * rejection is counted in `rejected` and described in `warnings`. After 20 accepted steps in a row
 * a halved rate doubles back, up to the requested one: momentum can run Adam into a NaN region
 * several times in a row, and without recovery those halvings would freeze it for the rest of the
 * run. The trace holds the point of each step (its `step` is the rate used); the result holds the
 * best point seen.
 *
 * @example
 * ```ts
 * const f = (x: Float64Array) => ({ value: (x[0] - 3) ** 2, grad: Float64Array.of(2 * (x[0] - 3)) });
 * adam(f, Float64Array.of(0), { learningRate: 0.1, steps: 2000 }).x[0]; // ≈ 3
 * ```
 */
export function adam(f: Objective, x0: Float64Array, o: OptimOptions = {}): OptimResult {
  const maxSteps = Math.max(0, Math.floor(o.steps ?? 1000));
  const tol = o.tolerance ?? 1e-9;
  const baseLr = o.learningRate ?? 0.01;
  let lr = baseLr;

  const first = evaluate(f, x0);
  if (first.problem) return notFiniteAtStart(x0, first);

  const n = x0.length;
  let x = Float64Array.from(x0);
  let fx = first.value;
  let g = first.grad;
  let best = { x, value: fx, grad: g };
  let m = new Float64Array(n);
  let v = new Float64Array(n);
  let t = 0;
  let acceptedInARow = 0;
  let evaluations = 1;
  let rejected = 0;
  const warnings: string[] = [];
  const trace: TracePoint[] = [];
  // The stall test compares the best value with the best value when it last improved enough
  // (`reference`, at `referenceStep`), and the current value with the lowest one since then.
  let reference = fx;
  let referenceStep = 0;
  let lowSinceReference = Infinity;
  let converged = false;
  let reason = "";

  const record = (step: number) => {
    const p: TracePoint = { iter: t, value: fx, gradNorm: normInf(g), step, evaluations };
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
  steps: while (!converged && t < maxSteps) {
    // The moment updates are computed aside and committed only with a finite step.
    const m1 = new Float64Array(n);
    const v1 = new Float64Array(n);
    const dir = new Float64Array(n);
    const c1 = 1 - BETA1 ** (t + 1);
    const c2 = 1 - BETA2 ** (t + 1);
    for (let i = 0; i < n; i++) {
      m1[i] = BETA1 * m[i] + (1 - BETA1) * g[i];
      v1[i] = BETA2 * v[i] + (1 - BETA2) * g[i] * g[i];
      dir[i] = m1[i] / c1 / (Math.sqrt(v1[i] / c2) + EPSILON);
    }
    for (let halvings = 0;; halvings++) {
      const x1 = x.map((xi, i) => xi - lr * dir[i]);
      const e = evaluate(f, x1);
      evaluations++;
      if (!e.problem) {
        [x, fx, g, m, v] = [x1, e.value, e.grad, m1, v1];
        break;
      }
      rejected++;
      acceptedInARow = 0;
      if (halvings >= MAX_HALVINGS) {
        reason = `no finite point after ${MAX_HALVINGS} halvings of the learning rate at step ${t + 1}`;
        break steps;
      }
      lr /= 2;
      warnings.push(`step ${t + 1}: ${e.problem}; step rejected, learning rate halved to ${fmt(lr)}`);
    }
    t++;
    if (fx < best.value) best = { x, value: fx, grad: g };
    record(lr);
    if (++acceptedInARow >= RECOVERY_STEPS && lr < baseLr) {
      lr = Math.min(baseLr, 2 * lr);
      acceptedInARow = 0;
    }

    if (gradientSmall()) converged = true;
    else if (reference - best.value > tol * Math.max(1, Math.abs(reference))) {
      reference = best.value;
      referenceStep = t;
      lowSinceReference = Infinity;
    } else {
      const newLow = lowSinceReference - fx > tol * Math.max(1, Math.abs(fx));
      lowSinceReference = Math.min(lowSinceReference, fx);
      if (t - referenceStep >= STALL_WINDOW && !newLow) {
        converged = true;
        reason = `value stalled: no decrease > tolerance ${fmt(tol)} (relative) in ${STALL_WINDOW} steps`;
      }
    }
  }
  if (!reason) reason = `max steps (${maxSteps})`;
  return {
    x: best.x,
    value: best.value,
    grad: best.grad,
    iterations: t,
    evaluations,
    converged,
    reason,
    trace,
    rejected,
    warnings: capWarnings(warnings),
  };
}
