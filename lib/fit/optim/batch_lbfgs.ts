/**
 * L-BFGS for a batch of independent problems of equal dimension (a fit's restarts, the battery's
 * restarts × cells), all evaluated by ONE call of the objective per round, so that one batched
 * program run serves every problem. Each problem keeps its own curvature pairs, step length,
 * stopping test, trace and warnings; a NaN or Inf in one problem shortens only that problem's
 * step. Plain numbers only: nothing here knows of backends or specs.
 */
import type { OptimResult, TracePoint } from "./types.ts";
import { dot, fmt, normInf } from "./vec.ts";
import { capWarnings, gradientConverged } from "./result.ts";

/** Values of every problem (length K) and their gradients (K·d, problem-major), at a batch of points. */
export interface BatchEvaluation {
  readonly values: Float64Array;
  readonly grads: Float64Array;
}

/**
 * The objective: K points of dimension d laid out problem-major (x[k·d + i]). Problem k's value
 * and gradient may depend only on x[k·d … k·d + d − 1]: the problems are independent.
 *
 * @example
 * ```ts
 * // K = 2 problems of d = 1: (x − 1)² and (x − 3)²
 * const f: BatchObjective = (x) => ({
 *   values: Float64Array.of((x[0] - 1) ** 2, (x[1] - 3) ** 2),
 *   grads: Float64Array.of(2 * (x[0] - 1), 2 * (x[1] - 3)),
 * });
 * ```
 */
export type BatchObjective = (x: Float64Array) => BatchEvaluation;

/**
 * Options of `batchLbfgs`; every default is the battery benchmark's.
 *
 * @example
 * ```ts
 * const o: BatchOptions = { maxRounds: 2000, steps: 500, tolerance: 1e-6, gradientTolerance: 1e-6 };
 * ```
 */
export interface BatchOptions {
  /** Most rounds (batched evaluations), the start included (default 300). */
  readonly maxRounds?: number;
  /** Most accepted iterations of one problem (default: no limit but `maxRounds`). */
  readonly steps?: number;
  /** Relative decrease below which, 3 accepted steps running, a problem has converged (default 1e-9). */
  readonly tolerance?: number;
  /** When given, a problem has also converged when ‖∇f‖∞ ≤ this·max(1, |f|) (default: off). */
  readonly gradientTolerance?: number;
  /** Curvature pairs kept per problem (default 8). */
  readonly memory?: number;
  /** Largest change of any coordinate in a problem's first (steepest-descent) step (default 0.1). */
  readonly firstStep?: number;
  /** Called with problem k's trace points as they are made, its start included. */
  readonly onStep?: (k: number, p: TracePoint) => void;
}

/**
 * What `batchLbfgs` returns: each problem's own result, and the batched evaluations made. A
 * problem's `evaluations` counts the rounds in which it was still running, so the sum over
 * problems is what running them one at a time would have cost, against `rounds` batched.
 *
 * @example
 * ```ts
 * const r: BatchResult = batchLbfgs(
 *   (x) => ({ values: Float64Array.of(x[0] ** 2), grads: Float64Array.of(2 * x[0]) }),
 *   Float64Array.of(1), 1, 1,
 * );
 * r.runs[0].converged; // true
 * ```
 */
export interface BatchResult {
  /** Every problem's best point, laid out like x0 (problem-major). */
  readonly x: Float64Array;
  /** Every problem's value at its point. */
  readonly values: Float64Array;
  /** Problem k's own iterations, evaluations, convergence, reason, trace and warnings. */
  readonly runs: OptimResult[];
  /** Batched evaluations made (each covers every problem). */
  readonly rounds: number;
}

const ARMIJO = 1e-4;
const CURVATURE_EPS = 1e-10;
const SMALL_RUN = 3;

interface State {
  x: Float64Array;
  f: number;
  g: Float64Array;
  s: Float64Array[];
  y: Float64Array[];
  p: Float64Array;
  alpha: number;
  gp: number;
  small: number;
  iterations: number;
  evaluations: number;
  rejected: number;
  done: boolean;
  converged: boolean;
  reason: string;
  trace: TracePoint[];
  warnings: string[];
}

const finite = (a: Float64Array): boolean => a.every(Number.isFinite);

/** −H·g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4), H₀ = γI with γ = sᵀy/yᵀy. */
function direction(st: State): Float64Array {
  const q = st.g.slice();
  const m = st.s.length, a = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    a[i] = dot(st.s[i], q) / dot(st.y[i], st.s[i]);
    for (let j = 0; j < q.length; j++) q[j] -= a[i] * st.y[i][j];
  }
  const gamma = m ? dot(st.s[m - 1], st.y[m - 1]) / dot(st.y[m - 1], st.y[m - 1]) : 1;
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < m; i++) {
    const b = dot(st.y[i], q) / dot(st.y[i], st.s[i]);
    for (let j = 0; j < q.length; j++) q[j] += st.s[i][j] * (a[i] - b);
  }
  return q.map((v) => -v);
}

/** Sets the next search direction and first trial step of a problem. */
function aim(st: State, firstStep: number): void {
  let p = direction(st);
  let gp = dot(st.g, p);
  if (!(gp < 0) || !finite(p)) {
    if (st.s.length) {
      st.warnings.push(`iteration ${st.iterations + 1}: L-BFGS direction not downhill; memory cleared`);
    }
    st.s = [], st.y = [];
    p = st.g.map((v) => -v);
    gp = dot(st.g, p);
  }
  st.p = p, st.gp = gp;
  st.alpha = st.s.length ? 1 : firstStep / Math.max(normInf(st.g), 1e-300);
}

function record(st: State, k: number, step: number, o: BatchOptions): void {
  const p: TracePoint = {
    iter: st.iterations,
    value: st.f,
    gradNorm: normInf(st.g),
    step,
    evaluations: st.evaluations,
  };
  st.trace.push(p);
  o.onStep?.(k, p);
}

/** Stops a problem whose gradient test (when asked for) holds; returns whether it did. */
function gradientStop(st: State, o: BatchOptions): boolean {
  if (o.gradientTolerance === undefined) return false;
  const why = gradientConverged(st.g, st.f, o.gradientTolerance);
  if (why) st.done = true, st.converged = true, st.reason = why;
  return why !== null;
}

/**
 * Minimises K independent functions of d variables by L-BFGS with a backtracking (Armijo) line
 * search, one batched evaluation per round: in each round every problem still running is
 * evaluated at its trial point, then accepts it (sufficient decrease: curvature pair stored when
 * sᵀy > 0, new quasi-Newton direction) or shortens its step (quadratic interpolation, ×0.1 on a
 * non-finite value). A problem stops when its relative decrease stays below `tolerance` for 3
 * accepted steps (converged), when its gradient is zero or meets `gradientTolerance` (converged),
 * when no step along −∇f decreases it (not converged: flat to rounding), when it has taken `steps`
 * iterations,
 * or when the rounds run out. Problems that stopped are still evaluated at their point (the batch
 * has a fixed shape) and ignore the result. Every problem's result is what it would be alone:
 * nothing of one problem reaches another.
 *
 * @example
 * ```ts
 * // two problems, (x − 1)² and (x − 3)²
 * const f = (x: Float64Array) => ({
 *   values: Float64Array.of((x[0] - 1) ** 2, (x[1] - 3) ** 2),
 *   grads: Float64Array.of(2 * (x[0] - 1), 2 * (x[1] - 3)),
 * });
 * batchLbfgs(f, Float64Array.of(0, 0), 2, 1).x; // ≈ [1, 3]
 * ```
 */
export function batchLbfgs(
  f: BatchObjective,
  x0: Float64Array,
  K: number,
  d: number,
  o: BatchOptions = {},
): BatchResult {
  const maxRounds = o.maxRounds ?? 300, tol = o.tolerance ?? 1e-9, memory = o.memory ?? 8;
  const firstStep = o.firstStep ?? 0.1, steps = o.steps ?? Infinity;
  const trial = Float64Array.from(x0);
  let r = f(trial);
  let rounds = 1;
  const states: State[] = [];
  for (let k = 0; k < K; k++) {
    const x = x0.slice(k * d, (k + 1) * d);
    const g = r.grads.slice(k * d, (k + 1) * d);
    const st: State = {
      x,
      f: r.values[k],
      g,
      s: [],
      y: [],
      p: new Float64Array(d),
      alpha: 0,
      gp: 0,
      small: 0,
      iterations: 0,
      evaluations: 1,
      rejected: 0,
      done: false,
      converged: false,
      reason: "",
      trace: [],
      warnings: [],
    };
    if (!Number.isFinite(st.f) || !finite(g)) {
      st.warnings.push(`initial point: loss was ${st.f}${finite(g) ? "" : ", gradient not finite"}`);
      st.done = true, st.f = Infinity, st.reason = "not finite at the start", st.rejected = 1;
    } else {
      record(st, k, 0, o);
      if (d === 0 || normInf(g) === 0) {
        st.done = true, st.converged = true, st.reason = "zero gradient";
      } else if (!gradientStop(st, o)) {
        if (steps <= 0) st.done = true, st.reason = `max steps (${steps})`;
        else aim(st, firstStep);
      }
    }
    states.push(st);
  }

  while (rounds < maxRounds && states.some((st) => !st.done)) {
    states.forEach((st, k) => {
      for (let i = 0; i < d; i++) trial[k * d + i] = st.done ? st.x[i] : st.x[i] + st.alpha * st.p[i];
    });
    r = f(trial);
    rounds++;
    states.forEach((st, k) => {
      if (st.done) return;
      st.evaluations++;
      const fv = r.values[k];
      const gv = r.grads.slice(k * d, (k + 1) * d);
      const ok = Number.isFinite(fv) && finite(gv);
      if (!ok) {
        st.rejected++;
        st.warnings.push(
          `iteration ${st.iterations + 1}: ${
            Number.isFinite(fv) ? "gradient not finite" : `loss was ${fv}`
          } ` +
            `at step ${fmt(st.alpha)}; step rejected and shortened`,
        );
      }
      if (ok && fv <= st.f + ARMIJO * st.alpha * st.gp) {
        const xn = trial.slice(k * d, (k + 1) * d);
        const s = xn.map((v, i) => v - st.x[i]);
        const y = gv.map((v, i) => v - st.g[i]);
        const sy = dot(s, y);
        if (sy > CURVATURE_EPS * Math.sqrt(dot(s, s) * dot(y, y))) {
          st.s.push(s), st.y.push(y);
          if (st.s.length > memory) st.s.shift(), st.y.shift();
        }
        const decrease = st.f - fv;
        st.x = xn, st.f = fv, st.g = gv, st.iterations++;
        record(st, k, st.alpha, o);
        st.small = decrease <= tol * Math.abs(fv) ? st.small + 1 : 0;
        if (st.small >= SMALL_RUN) {
          st.done = true, st.converged = true;
          st.reason = `relative decrease ≤ ${tol} on ${SMALL_RUN} steps`;
        } else if (normInf(gv) === 0) {
          st.done = true, st.converged = true, st.reason = "zero gradient";
        } else if (gradientStop(st, o)) {
          // converged on the gradient test
        } else if (st.iterations >= steps) {
          st.done = true, st.reason = `max steps (${steps})`;
        } else aim(st, firstStep);
        return;
      }
      // Shorten the step: the minimiser of the quadratic through f, f'(0) and f(α), kept in [0.1α, 0.5α].
      const q = ok ? (-st.gp * st.alpha * st.alpha) / (2 * (fv - st.f - st.gp * st.alpha)) : 0.1 * st.alpha;
      st.alpha = Math.min(0.5 * st.alpha, Math.max(0.1 * st.alpha, Number.isFinite(q) ? q : 0.1 * st.alpha));
      const scale = 1 + normInf(st.x);
      if (st.alpha * normInf(st.p) < 1e-13 * scale) {
        if (st.s.length) {
          st.warnings.push(
            `iteration ${st.iterations + 1}: no decrease along the L-BFGS direction; memory cleared, ` +
              "retrying along −gradient",
          );
          st.s = [], st.y = [];
          aim(st, firstStep);
        } else {
          st.done = true;
          st.reason = "no decrease along −∇f (flat to rounding)";
        }
      }
    });
  }
  const x = new Float64Array(K * d), values = new Float64Array(K);
  states.forEach((st, k) => {
    x.set(st.x, k * d);
    values[k] = st.f;
    if (!st.done) st.reason = `max rounds (${maxRounds})`;
  });
  const runs = states.map((st): OptimResult => ({
    x: st.x,
    value: st.f,
    grad: st.g,
    iterations: st.iterations,
    evaluations: st.evaluations,
    converged: st.converged,
    reason: st.reason,
    trace: st.trace,
    rejected: st.rejected,
    warnings: capWarnings(st.warnings),
  }));
  return { x, values, runs, rounds };
}
