/**
 * The optimizers' public surface: `minimize` picks one by name (as a spec names it), and the
 * types and uncertainty helpers are re-exported. Wiring only; the algorithms live in their files.
 */
import { DmciError } from "../../errors.ts";
import { adam } from "./adam.ts";
import { lbfgs } from "./lbfgs.ts";
import type { Objective, OptimOptions, OptimResult } from "./types.ts";

export { adam } from "./adam.ts";
export { lbfgs } from "./lbfgs.ts";
export { denseInverseFromOperator, hessianFromGradients, invertSpd } from "./hessian.ts";
export type { Evaluation, Objective, OptimOptions, OptimResult, TracePoint } from "./types.ts";

/**
 * The optimizer names a spec may use.
 *
 * @example
 * ```ts
 * const m: Method = "lbfgs";
 * ```
 */
export type Method = "adam" | "lbfgs";

/**
 * Minimises `f` from `x0` with the named optimizer; see `adam` and `lbfgs` for what the options
 * mean to each, their defaults and stopping tests.
 *
 * @example
 * ```ts
 * const f = (x: Float64Array) => ({ value: (x[0] - 2) ** 2, grad: Float64Array.of(2 * (x[0] - 2)) });
 * minimize("lbfgs", f, Float64Array.of(0)).x[0]; // ≈ 2
 * ```
 */
export function minimize(method: Method, f: Objective, x0: Float64Array, o: OptimOptions = {}): OptimResult {
  switch (method) {
    case "adam":
      return adam(f, x0, o);
    case "lbfgs":
      return lbfgs(f, x0, o);
    default:
      // Specs are validated before they get here; this guards callers that bypass validation.
      throw new DmciError("spec", `unknown optimizer "${method}"; expected "adam" or "lbfgs"`);
  }
}

export { nelderMead } from "./nelder_mead.ts";
export { cmaEs } from "./cma_es.ts";
export { randomSearch } from "./random_search.ts";
export {
  type Budget,
  type BudgetedResult,
  BudgetExhausted,
  type BudgetPoint,
  Meter,
  withBudget,
} from "./budget.ts";
export type { GradientFreeOptions, GradientFreeResult, ValueObjective } from "./types.ts";
