/**
 * Dense second-order helpers for uncertainties: a Hessian from central differences of exact
 * gradients, the inverse of a symmetric positive-definite matrix by Cholesky, and the dense form
 * of an inverse-Hessian operator such as L-BFGS's. Matrices are n×n row-major Float64Arrays.
 * Turning these into standard errors (and labelling which was used) is the fitter's job, not this one.
 */
import { DmciError } from "../../errors.ts";
import type { Objective } from "./types.ts";
import { evaluate } from "./vec.ts";

/** ∛ε, the step that balances truncation (∝ h²) and rounding (∝ ε/h) in a central difference. */
const CBRT_EPS = Math.cbrt(Number.EPSILON);

/**
 * The Hessian of `f` at `x` as the central difference of its exact gradient along each axis,
 * Hᵢⱼ ≈ (∂ᵢf(x + hⱼeⱼ) − ∂ᵢf(x − hⱼeⱼ)) / 2hⱼ, then symmetrised, (H + Hᵀ)/2. Costs 2n gradient
 * evaluations; errors are O(h²), about 1e-10 relative for smooth f with the default
 * hⱼ = ∛ε·max(1, |xⱼ|). A non-finite gradient leaves NaN/Inf in the matrix (and `invertSpd` then
 * returns null), rather than a plausible-looking wrong number.
 *
 * @example
 * ```ts
 * // f = x²y + sin y: H = [[2y, 2x], [2x, −sin y]]
 * const f = (p: Float64Array) => ({
 *   value: p[0] ** 2 * p[1] + Math.sin(p[1]),
 *   grad: Float64Array.of(2 * p[0] * p[1], p[0] ** 2 + Math.cos(p[1])),
 * });
 * hessianFromGradients(f, Float64Array.of(1, 2)); // ≈ [4, 2, 2, −0.909]
 * ```
 */
export function hessianFromGradients(f: Objective, x: Float64Array, h?: number): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const step = h ?? CBRT_EPS * Math.max(1, Math.abs(x[j]));
    const xp = Float64Array.from(x);
    const xm = Float64Array.from(x);
    xp[j] += step;
    xm[j] -= step;
    // Divide by the difference actually represented, not the nominal 2h.
    const width = xp[j] - xm[j];
    const gp = evaluate(f, xp).grad;
    const gm = evaluate(f, xm).grad;
    for (let i = 0; i < n; i++) H[i * n + j] = (gp[i] - gm[i]) / width;
  }
  return symmetrise(H, n);
}

/**
 * The inverse of a symmetric positive-definite n×n matrix by Cholesky factorisation, or null if
 * the matrix is not positive definite (a pivot ≤ 0 or non-finite): at a saddle or on a flat
 * direction the curvature gives no standard error, and the caller should say so. Only the lower
 * triangle of `h` is read.
 *
 * @example
 * ```ts
 * invertSpd(Float64Array.of(4, 2, 2, 3), 2); // [0.375, −0.25, −0.25, 0.5]
 * invertSpd(Float64Array.of(1, 2, 2, 1), 2); // null (eigenvalues 3 and −1)
 * ```
 */
export function invertSpd(h: Float64Array, n: number): Float64Array | null {
  if (h.length !== n * n) {
    throw new DmciError("type", `invertSpd: expected ${n}×${n} = ${n * n} elements, got ${h.length}`);
  }
  // h = L Lᵀ, L lower triangular.
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = h[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = h[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  // W = L⁻¹ by forward substitution, then h⁻¹ = Wᵀ W.
  const W = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= L[i * n + k] * W[k * n + c];
      W[i * n + c] = s / L[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += W[k * n + i] * W[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}

/**
 * The dense n×n matrix of a linear operator (its columns are op(eⱼ)), symmetrised. Meant for
 * `OptimResult.invHessian`, whose two-loop recursion is symmetric only up to rounding.
 *
 * @example
 * ```ts
 * denseInverseFromOperator((v) => v.map((x) => 2 * x), 2); // [2, 0, 0, 2]
 * ```
 */
export function denseInverseFromOperator(op: (v: Float64Array) => Float64Array, n: number): Float64Array {
  const M = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = op(e);
    for (let i = 0; i < n; i++) M[i * n + j] = col[i];
  }
  return symmetrise(M, n);
}

/** (M + Mᵀ)/2 in place. */
function symmetrise(M: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const s = (M[i * n + j] + M[j * n + i]) / 2;
      M[i * n + j] = s;
      M[j * n + i] = s;
    }
  }
  return M;
}
