/**
 * Standard errors of a fit: the inverse Hessian of the negative log-likelihood in u (central
 * differences of exact gradients), through the transforms by the delta method; for mse the
 * likelihood is Gaussian with σ² = SSE/(n−p). Also the fitted parameters as the results list
 * them. It optimises nothing.
 */
import { dThetaDu } from "./params.ts";
import { type FitProblem, isFloat32, thetaOf } from "./problem.ts";
import { objectiveOn } from "./objective.ts";
import { hessianFromGradients, invertSpd } from "./optim/hessian.ts";

/** Finite-difference step of the Hessian for float32 gradients. */
const FLOAT32_HESSIAN_STEP = 1e-3;

/**
 * Standard errors in u (null with a note when not available).
 *
 * @example
 * ```ts
 * const se: StandardErrors = { seU: Float64Array.of(0.01), method: "…" };
 * ```
 */
export interface StandardErrors {
  /** One per entry of u: free parameters, then σ. */
  readonly seU: Float64Array | null;
  /** Why there are none. */
  readonly note?: string;
  /** How they were computed, for the results. */
  readonly method: string;
}

/**
 * Standard errors in u at `uHat` of the problem fitted on `rows`. A program "loss" that is not a
 * log-likelihood implies none; nor does a Hessian that is not positive definite, or (for mse)
 * no more rows than parameters.
 *
 * @example
 * ```ts
 * const se = standardErrors(problem, split.train, calibration.runs[calibration.best].x);
 * se.seU; // Float64Array, or null and se.note says why
 * ```
 */
export function standardErrors(p: FitProblem, rows: readonly number[], uHat: Float64Array): StandardErrors {
  const method =
    "inverse of the Hessian of the negative log-likelihood (central differences of exact gradients), " +
    "mapped through the transforms by the delta method" +
    (p.loss.kind === "mse" ? "; mse: Gaussian errors, σ profiled out, σ² = SSE/(n−p)" : "");
  const nu = p.nu, n = rows.length;
  if (p.loss.kind === "program" && p.loss.returns !== "log-likelihood") {
    return {
      seU: null,
      method,
      note: "the program's loss is not a log-likelihood, so it implies no standard errors",
    };
  }
  if (nu === 0) return { seU: null, method };
  let scale = 1;
  if (p.loss.kind === "mse") {
    // The profile likelihood's inverse Hessian uses σ̂² = SSE/n; rescale to SSE/(n−p).
    if (n - nu <= 0) return { seU: null, method, note: `too few rows (${n}) for ${nu} parameters` };
    scale = n / (n - nu);
  }
  const train = objectiveOn(p, rows, { profiled: true });
  const h = hessianFromGradients(train, uHat, isFloat32(p.backend) ? FLOAT32_HESSIAN_STEP : undefined);
  const inv = invertSpd(h, nu);
  if (!inv) return { seU: null, method, note: "the Hessian at the optimum is not positive definite" };
  return { seU: Float64Array.from({ length: nu }, (_, j) => Math.sqrt(scale * inv[j * nu + j])), method };
}

/**
 * One fitted parameter in the results.
 *
 * @example
 * ```ts
 * const k: FittedParam = { name: "k", value: 0.45, se: 0.01, init: 0.5, transform: "positive", fixed: false, role: "program" };
 * ```
 */
export interface FittedParam {
  readonly name: string;
  readonly value: number;
  /** Standard error (null when not available; see `standard_errors.method`). */
  readonly se: number | null;
  readonly init: number;
  readonly transform: string;
  readonly fixed: boolean;
  /** "program" for the program's own parameters, "noise" for the fitted noise scale. */
  readonly role: "program" | "noise";
}

/**
 * The parameters at `uHat` with their standard errors in θ: se(θ) = se(u)·|dθ/du| (the delta
 * method); σ last, when fitted, starting from `u0`'s σ.
 *
 * @example
 * ```ts
 * fittedParams(problem, uHat, u0, se.seU).map((q) => [q.name, q.value, q.se]);
 * ```
 */
export function fittedParams(
  p: FitProblem,
  uHat: Float64Array,
  u0: Float64Array,
  seU: Float64Array | null,
): FittedParam[] {
  const theta = thetaOf(p, uHat);
  const out: FittedParam[] = p.params.map((q, i) => {
    const j = p.free.indexOf(i);
    return {
      name: q.name,
      value: theta[i],
      se: j >= 0 && seU ? seU[j] * Math.abs(dThetaDu(q.transform, uHat[j])) : null,
      init: q.init,
      transform: q.transform.kind,
      fixed: q.fixed,
      role: "program",
    };
  });
  if (p.withSigma) {
    const j = p.free.length, sigma = theta[p.params.length];
    out.push({
      name: "sigma",
      value: sigma,
      se: seU ? seU[j] * sigma : null,
      init: Math.exp(u0[j]),
      transform: "positive",
      fixed: false,
      role: "noise",
    });
  }
  return out;
}
