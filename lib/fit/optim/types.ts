/**
 * The one interface between the fitter and its optimizers: an objective returns a value and its
 * exact gradient, an optimizer returns an `OptimResult`. Plain data only; this module must not
 * import the rest of the library, so specs, CLI and server can share it without cycles.
 */

/**
 * One evaluation of an objective: the value and its gradient with respect to every parameter.
 *
 * @example
 * ```ts
 * const e: Evaluation = { value: 1, grad: Float64Array.of(2) }; // f = x² at x = 1
 * ```
 */
export interface Evaluation {
  /** The objective value (a loss to minimise). May be NaN or ±Infinity; the optimizers cope. */
  value: number;
  /** d value / d x, the same length as x. May contain NaN or ±Infinity; the optimizers cope. */
  grad: Float64Array;
}

/**
 * A function to minimise. It receives a fresh copy of the point, so it may keep or change it; the
 * optimizers copy the returned gradient, so the objective may reuse one buffer between calls. A
 * non-finite answer is handled (the step is rejected); an exception is not caught: it propagates to
 * the optimizer's caller, which is where a program error (a DmciError) should be reported.
 *
 * @example
 * ```ts
 * const sphere: Objective = (x) => ({ value: x.reduce((s, v) => s + v * v, 0), grad: x.map((v) => 2 * v) });
 * ```
 */
export type Objective = (x: Float64Array) => Evaluation;

/**
 * One accepted iteration, for convergence plots and progress bars. Iteration 0 is the starting
 * point (step 0). `step` is the step length actually taken: the line-search α for L-BFGS (the move
 * is α times the search direction), the learning rate in effect for Adam.
 *
 * @example
 * ```ts
 * const p: TracePoint = { iter: 3, value: 0.25, gradNorm: 1e-3, step: 1, evaluations: 5 };
 * ```
 */
export interface TracePoint {
  iter: number;
  value: number;
  /** ‖grad‖∞ at the accepted point. */
  gradNorm: number;
  step: number;
  /** Objective evaluations so far, rejected ones included. */
  evaluations: number;
}

/**
 * What an optimizer returns: the final point (for Adam, the best point seen), how it stopped and
 * why, the trace, and every non-finite evaluation it had to step around.
 *
 * @example
 * ```ts
 * import { lbfgs } from "./lbfgs.ts";
 * const r: OptimResult = lbfgs((x) => ({ value: x[0] ** 2, grad: Float64Array.of(2 * x[0]) }), Float64Array.of(3));
 * r.converged; // true, r.reason says which test fired
 * ```
 */
export interface OptimResult {
  x: Float64Array;
  value: number;
  grad: Float64Array;
  /** Accepted iterations (the starting point is not one). */
  iterations: number;
  /** Objective evaluations, rejected ones included. */
  evaluations: number;
  converged: boolean;
  /** Which stopping test fired, e.g. "gradient norm 3.1e-10 ≤ tolerance 1.0e-9", "max steps (500)". */
  reason: string;
  /** Starting point first, then one point per accepted iteration. */
  trace: TracePoint[];
  /** Evaluations rejected because the value or gradient was NaN/Inf. */
  rejected: number;
  /** Human-readable notes, e.g. "step 17: loss was NaN; step rejected, learning rate halved to 0.005". */
  warnings: string[];
  /** L-BFGS only: the inverse-Hessian approximation at the end (two-loop recursion on the stored pairs). */
  invHessian?: (v: Float64Array) => Float64Array;
}

/**
 * Options shared by the optimizers; each documents its defaults.
 *
 * @example
 * ```ts
 * const o: OptimOptions = { steps: 200, tolerance: 1e-8, onStep: (p) => console.error(p.iter, p.value) };
 * ```
 */
export interface OptimOptions {
  /** Most accepted iterations (L-BFGS 500, Adam 1000). */
  steps?: number;
  /** Convergence tolerance (default 1e-9); see each optimizer for the tests it drives. */
  tolerance?: number;
  /** Adam's learning rate (default 0.01); L-BFGS ignores it. */
  learningRate?: number;
  /** L-BFGS memory: curvature pairs kept (default 10); Adam ignores it. */
  memory?: number;
  /** Called with every trace point as it is made, the starting point included. */
  onStep?: (p: TracePoint) => void;
}

/**
 * A function to minimise without a gradient. Like `Objective`, it gets a fresh copy of the point;
 * a NaN or ±Infinity answer counts as worse than every finite one; an exception propagates.
 *
 * @example
 * ```ts
 * const sphere: ValueObjective = (x) => x.reduce((s, v) => s + v * v, 0);
 * ```
 */
export type ValueObjective = (x: Float64Array) => number;

/**
 * What a gradient-free optimizer returns: the best point it evaluated and how it stopped.
 *
 * @example
 * ```ts
 * const r: GradientFreeResult = { x: Float64Array.of(1), value: 0, iterations: 3, evaluations: 9,
 *   converged: true, reason: "simplex spread ≤ tolerance" };
 * ```
 */
export interface GradientFreeResult {
  x: Float64Array;
  value: number;
  /** Iterations (Nelder–Mead steps, CMA-ES generations, random-search samples). */
  iterations: number;
  evaluations: number;
  converged: boolean;
  reason: string;
}

/**
 * Options shared by the gradient-free optimizers; each documents its defaults.
 *
 * @example
 * ```ts
 * const o: GradientFreeOptions = { steps: 1000, step: 0.5, seed: 1 };
 * ```
 */
export interface GradientFreeOptions {
  /** Most iterations. */
  steps?: number;
  /** Convergence tolerance on values and points. */
  tolerance?: number;
  /** The initial scale of the search (simplex edge, CMA-ES σ₀, random-search σ). */
  step?: number;
  /** Seed of the random numbers (CMA-ES, random search). */
  seed?: number;
  /** CMA-ES population size λ (default 4 + ⌊3 ln n⌋). */
  population?: number;
  /** Called after each iteration with the best value so far and the evaluations used. */
  onStep?: (p: { iter: number; value: number; evaluations: number }) => void;
}
