/**
 * CMA-ES, the covariance matrix adaptation evolution strategy, (μ/μ_w, λ) with full covariance,
 * as in Hansen, "The CMA Evolution Strategy: A Tutorial" (arXiv:1604.00772), Algorithm and
 * Table 1 default parameters (positive weights only, c_m = 1). The eigendecomposition of C is
 * refreshed every ⌈1/(10 n (c₁ + c_μ))⌉ generations, as the tutorial suggests (ml-matrix's
 * symmetric solver).
 */
import { EigenvalueDecomposition, Matrix } from "../../deps.ts";
import { normal } from "../../random.ts";
import type { GradientFreeOptions, GradientFreeResult, ValueObjective } from "./types.ts";
import { worstIfNaN } from "./vec.ts";

/** Smallest eigenvalue kept when C is decomposed (rounding can make a tiny one negative). */
const MIN_EIGENVALUE = 1e-300;

/**
 * Minimises `f` from the mean `x0` with initial step size σ₀ = `step` (default 0.3) by CMA-ES.
 * Population λ = `population` (default 4 + ⌊3 ln n⌋), μ = ⌊λ/2⌋. Stops (converged) when
 * σ·√max(diag C) ≤ tolerance (default 1e-10) or the best values of the last 10 + ⌈30n/λ⌉
 * generations span at most tolerance·max(1, |f|); or (not converged) after `steps` generations
 * (default 1000 + 100·n).
 *
 * @example
 * ```ts
 * const sphere = (x: Float64Array) => x.reduce((s, v) => s + v * v, 0);
 * cmaEs(sphere, Float64Array.of(1, 2, 3), { seed: 1 }).value; // ≈ 0
 * ```
 */
export function cmaEs(f: ValueObjective, x0: Float64Array, o: GradientFreeOptions = {}): GradientFreeResult {
  const n = x0.length;
  const tol = o.tolerance ?? 1e-10;
  const maxSteps = Math.max(0, Math.floor(o.steps ?? 1000 + 100 * n));
  const lambda = Math.max(2, Math.floor(o.population ?? 4 + Math.floor(3 * Math.log(n))));
  const mu = Math.floor(lambda / 2);
  const raw = Array.from({ length: mu }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
  const wSum = raw.reduce((a, b) => a + b, 0);
  const w = raw.map((v) => v / wSum);
  const mueff = 1 / w.reduce((a, b) => a + b * b, 0);
  const cs = (mueff + 2) / (n + mueff + 5);
  const ds = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
  const cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
  const c1 = 2 / ((n + 1.3) ** 2 + mueff);
  const cmu = Math.min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff));
  const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  const eigenEvery = Math.max(1, Math.ceil(1 / (10 * n * (c1 + cmu))));
  const historyLength = 10 + Math.ceil(30 * n / lambda);
  const z = normal(o.seed ?? 0);

  const m = Float64Array.from(x0);
  let sigma = o.step ?? 0.3;
  const pc = new Float64Array(n), ps = new Float64Array(n);
  const C = new Float64Array(n * n);
  const B = new Float64Array(n * n); // eigenvectors, column j is B[i*n + j]
  const D = new Float64Array(n).fill(1); // √eigenvalues
  for (let i = 0; i < n; i++) C[i * n + i] = B[i * n + i] = 1;

  let evaluations = 0;
  let bestX = Float64Array.from(x0);
  let bestValue = Infinity;
  const recent: number[] = [];
  let iterations = 0;
  let converged = false;
  let reason = `max steps (${maxSteps})`;

  const ys = Array.from({ length: lambda }, () => new Float64Array(n));
  const zs = Array.from({ length: lambda }, () => new Float64Array(n));
  const values = new Float64Array(lambda);
  while (iterations < maxSteps) {
    for (let k = 0; k < lambda; k++) {
      const zk = zs[k], yk = ys[k];
      for (let j = 0; j < n; j++) zk[j] = z() * D[j];
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += B[i * n + j] * zk[j];
        yk[i] = s;
      }
      const x = m.map((v, i) => v + sigma * yk[i]);
      evaluations++;
      const v = f(Float64Array.from(x));
      values[k] = worstIfNaN(v);
      if (values[k] < bestValue) {
        bestValue = values[k];
        bestX = x;
      }
    }
    iterations++;
    const order = Array.from({ length: lambda }, (_, k) => k).sort((a, b) => values[a] - values[b]);
    // Mean and the weighted step y_w.
    const yw = new Float64Array(n);
    for (let i = 0; i < mu; i++) {
      const y = ys[order[i]];
      for (let j = 0; j < n; j++) yw[j] += w[i] * y[j];
    }
    for (let j = 0; j < n; j++) m[j] += sigma * yw[j];
    // C^{-1/2} y_w = B D⁻¹ Bᵀ y_w.
    const bty = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += B[i * n + j] * yw[i];
      bty[j] = s / D[j];
    }
    const csn = Math.sqrt(cs * (2 - cs) * mueff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j] * bty[j];
      ps[i] = (1 - cs) * ps[i] + csn * s;
    }
    const psNorm = Math.hypot(...ps);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * iterations)) < (1.4 + 2 / (n + 1)) * chiN ? 1 : 0;
    const ccn = hsig * Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < n; i++) pc[i] = (1 - cc) * pc[i] + ccn * yw[i];
    // C ← (1 − c₁ − c_μ) C + c₁ (p_c p_cᵀ + δ(h_σ) C) + c_μ Σ wᵢ yᵢ yᵢᵀ.
    const keep = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let k = 0; k < mu; k++) {
          const y = ys[order[k]];
          rankMu += w[k] * y[i] * y[j];
        }
        const v = keep * C[i * n + j] + c1 * pc[i] * pc[j] + cmu * rankMu;
        C[i * n + j] = C[j * n + i] = v;
      }
    }
    sigma *= Math.exp((cs / ds) * (psNorm / chiN - 1));
    if (iterations % eigenEvery === 0) decompose(C, n, B, D);
    o.onStep?.({ iter: iterations, value: bestValue, evaluations });

    recent.push(values[order[0]]);
    if (recent.length > historyLength) recent.shift();
    let maxDiag = 0;
    for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, C[i * n + i]);
    const spread = sigma * Math.sqrt(maxDiag);
    if (spread <= tol) {
      converged = true;
      reason = `step size σ·√max diag C = ${spread.toExponential(1)} ≤ tolerance`;
      break;
    }
    if (recent.length === historyLength) {
      const range = Math.max(...recent) - Math.min(...recent);
      if (range <= tol * Math.max(1, Math.abs(bestValue))) {
        converged = true;
        reason = `best values of the last ${historyLength} generations span ${range.toExponential(1)}`;
        break;
      }
    }
    if (!Number.isFinite(sigma) || sigma === 0) {
      reason = `step size became ${sigma}`;
      break;
    }
  }
  return { x: bestX, value: bestValue, iterations, evaluations, converged, reason };
}

/** B, D ← the eigenvectors and √eigenvalues of the symmetric C (row-major n×n). */
function decompose(C: Float64Array, n: number, B: Float64Array, D: Float64Array): void {
  const rows = Array.from({ length: n }, (_, i) => Array.from(C.subarray(i * n, (i + 1) * n)));
  const e = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const V = e.eigenvectorMatrix;
  const lam = e.realEigenvalues;
  for (let j = 0; j < n; j++) {
    D[j] = Math.sqrt(Math.max(lam[j], MIN_EIGENVALUE));
    for (let i = 0; i < n; i++) B[i * n + j] = V.get(i, j);
  }
}
