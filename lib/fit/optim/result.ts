/**
 * Pieces of an `OptimResult` that every optimizer builds the same way: the answer when the start
 * is already non-finite, and the cap on warning lines. No optimizer logic lives here.
 */
import type { OptimResult } from "./types.ts";
import { type Checked, fmt, normInf } from "./vec.ts";

/** More warnings than this are summarised, so a run that keeps hitting NaN stays readable. */
const MAX_WARNINGS = 20;

/**
 * The result for a start where the objective is already NaN/Inf: nothing to optimise from, so
 * not converged, no iterations, the starting point returned unchanged. Returned, not thrown, so a
 * multi-start fit can skip that start and go on.
 *
 * @example
 * ```ts
 * notFiniteAtStart(Float64Array.of(-1), { value: NaN, grad: Float64Array.of(1), problem: "loss was NaN" }).reason;
 * // "objective not finite at the initial point"
 * ```
 */
export function notFiniteAtStart(x0: Float64Array, e: Checked): OptimResult {
  return {
    x: Float64Array.from(x0),
    value: e.value,
    grad: e.grad,
    iterations: 0,
    evaluations: 1,
    converged: false,
    reason: "objective not finite at the initial point",
    trace: [],
    rejected: 1,
    warnings: [`initial point: ${e.problem}`],
  };
}

/**
 * The first MAX_WARNINGS − 1 warnings and then one line counting the rest.
 *
 * @example
 * ```ts
 * capWarnings(Array.from({ length: 30 }, (_, i) => `w${i}`)).length; // 20, the last "… and 11 more warnings"
 * ```
 */
export function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return warnings;
  const kept = warnings.slice(0, MAX_WARNINGS - 1);
  kept.push(`… and ${warnings.length - kept.length} more warnings`);
  return kept;
}

/**
 * The gradient convergence test both optimizers use: ‖g‖∞ ≤ tol·max(1, |f|). Returns the
 * reason to report when it holds, else null.
 *
 * @example
 * ```ts
 * gradientConverged(Float64Array.of(1e-12), 3, 1e-9); // "gradient norm … ≤ tolerance …"
 * ```
 */
export function gradientConverged(g: Float64Array, fx: number, tol: number): string | null {
  const gn = normInf(g);
  const bound = tol * Math.max(1, Math.abs(fx));
  return gn <= bound ? `gradient norm ${fmt(gn)} ≤ tolerance ${fmt(bound)}` : null;
}
