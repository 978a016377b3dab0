/**
 * The same Kalman log-likelihood written by hand in TypeScript float64 (forward only): the models'
 * θ → (A, C, Q, R) maps and a covariance filter over plain row-major arrays. It is the reference the
 * interpreted program is tested against and the baseline of bench/enso_scaling.ts, so it shares
 * no code with fixtures/enso/kalman.scm: its stationary covariance is, by default, the exact
 * Kronecker solve (I − A⊗A) vec P = vec Q. It must not import the evaluator.
 */
import { choleskyLower, logdetFromCholesky, luFactor, luSolve } from "../../backend/linalg_f64.ts";
import type { ModelId } from "./models.ts";

/** A linear Gaussian state-space model as row-major matrices: A n×n, C p×n, Q n×n, R p×p. */
export interface StateSpace {
  readonly n: number;
  readonly p: number;
  readonly A: Float64Array;
  readonly C: Float64Array;
  readonly Q: Float64Array;
  readonly R: Float64Array;
}

/** a (m×k) times b (k×c). */
function mul(a: Float64Array, b: Float64Array, m: number, k: number, c: number): Float64Array {
  const out = new Float64Array(m * c);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < k; l++) {
      const x = a[i * k + l];
      if (x === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += x * b[l * c + j];
    }
  }
  return out;
}

/** Transpose of an m×c matrix. */
function tr(a: Float64Array, m: number, c: number): Float64Array {
  const out = new Float64Array(m * c);
  for (let i = 0; i < m; i++) for (let j = 0; j < c; j++) out[j * m + i] = a[i * c + j];
  return out;
}

const eye = (n: number) => {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
};

/** Doublings of the "doubling" start (fixtures/enso/kalman.scm's `lyapunov-doublings`). */
const LYAPUNOV_DOUBLINGS = 40;

/**
 * The stationary covariance P = A P Aᵀ + Q. "kronecker" solves (I − A⊗A) vec P = vec Q by LU
 * (exact, n⁶/3 flops); "doubling" sums Σ A^j Q A^jᵀ by a fixed 40 doublings, as the Scheme library
 * does (n³ per step), so that the benchmarks compare the same computation.
 *
 * @example
 * ```ts
 * stationaryCovariance(Float64Array.of(0.5), Float64Array.of(1), 1); // [4/3]
 * ```
 */
export function stationaryCovariance(
  A: Float64Array,
  Q: Float64Array,
  n: number,
  method: "kronecker" | "doubling" = "kronecker",
): Float64Array {
  if (method === "doubling") {
    let Ak: Float64Array = A, P: Float64Array = Q;
    for (let k = 0; k < LYAPUNOV_DOUBLINGS; k++) {
      const term = mul(mul(Ak, P, n, n, n), tr(Ak, n, n), n, n, n);
      P = P.map((v, i) => v + term[i]);
      Ak = mul(Ak, Ak, n, n, n);
    }
    return P;
  }
  const N = n * n;
  const M = new Float64Array(N * N);
  // vec is row-major: (A P Aᵀ)[i,k] = Σ_{j,l} A[i,j] A[k,l] P[j,l]
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        for (let l = 0; l < n; l++) M[(i * n + k) * N + j * n + l] = -A[i * n + j] * A[k * n + l];
      }
    }
  }
  for (let d = 0; d < N; d++) M[d * N + d] += 1;
  return luSolve(luFactor(M, N, "lyapunov"), Q.slice(), 1);
}

/**
 * The exact Gaussian log-likelihood of `rows` (T rows of p numbers, NaN where missing: missing
 * components are left out of that step's update) from the stationary start, by the covariance
 * filter with the Joseph-form update.
 *
 * @example
 * ```ts
 * kalmanLoglik(ssm, [[0.1], [0.3]]); // a number
 * ```
 */
export function kalmanLoglik(
  ssm: StateSpace,
  rows: readonly (readonly number[])[],
  lyapunov: "kronecker" | "doubling" = "kronecker",
): number {
  const { n, A, C, Q, R } = ssm;
  const At = tr(A, n, n);
  let m: Float64Array = new Float64Array(n);
  let P: Float64Array = stationaryCovariance(A, Q, n, lyapunov);
  let ll = 0;
  for (const row of rows) {
    const seen = row.map((v, j) => Number.isNaN(v) ? -1 : j).filter((j) => j >= 0);
    const q = seen.length;
    if (q > 0) {
      // The observed rows of C and y, the observed block of R.
      const Cs = new Float64Array(q * n), Rs = new Float64Array(q * q), e = new Float64Array(q);
      seen.forEach((j, a) => {
        for (let c = 0; c < n; c++) Cs[a * n + c] = C[j * n + c];
        seen.forEach((k, b) => Rs[a * q + b] = R[j * ssm.p + k]);
      });
      const yHat = mul(Cs, m, q, n, 1);
      seen.forEach((j, a) => e[a] = row[j] - yHat[a]);
      const PCt = mul(P, tr(Cs, q, n), n, n, q);
      const S = mul(Cs, PCt, q, n, q).map((v, i) => v + Rs[i]);
      const lu = luFactor(S, q, "kalman");
      const K = tr(luSolve(lu, tr(PCt, n, q), n), q, n); // n×q
      const Se = luSolve(lu, e, 1);
      const L = choleskyLower(S, q, "kalman");
      ll -= 0.5 *
        (q * Math.log(2 * Math.PI) + logdetFromCholesky(L, q) + e.reduce((s, v, i) => s + v * Se[i], 0));
      const Ke = mul(K, e, n, q, 1), KC = mul(K, Cs, n, q, n);
      m = m.map((v, i) => v + Ke[i]);
      const IKC = eye(n).map((v, i) => v - KC[i]);
      const KRKt = mul(mul(K, Rs, n, q, q), tr(K, n, q), n, q, n);
      P = mul(mul(IKC, P, n, n, n), tr(IKC, n, n), n, n, n).map((v, i) => v + KRKt[i]);
    }
    m = mul(A, m, n, n, 1);
    const APAt = mul(mul(A, P, n, n, n), At, n, n, n);
    P = APAt.map((_, i) => 0.5 * (APAt[i] + APAt[(i % n) * n + Math.floor(i / n)]) + Q[i]);
  }
  return ll;
}

const pacf = (u: number) => u / Math.sqrt(1 + u * u);

/**
 * A model's matrices at θ, the same maps as the programs' parameter blocks (fixtures/enso/*.scm,
 * lib/domains/enso/models.ts): `n` is the latent VAR's state dimension, `p` its series.
 *
 * @example
 * ```ts
 * stateSpaceAt("ar1+noise", Float64Array.of(0.5, -1, -1)).A; // [0.5/√1.25]
 * ```
 */
export function stateSpaceAt(id: ModelId, theta: Float64Array, n = 1, p = 1): StateSpace {
  if (id === "ar1+noise") {
    const [u, logQ, logR] = theta;
    return {
      n: 1,
      p: 1,
      A: Float64Array.of(pacf(u)),
      C: Float64Array.of(1),
      Q: Float64Array.of(Math.exp(logQ)),
      R: Float64Array.of(Math.exp(logR)),
    };
  }
  if (id === "ar2+noise") {
    const [u1, u2, logQ, logR] = theta;
    const r1 = pacf(u1), r2 = pacf(u2);
    return {
      n: 2,
      p: 1,
      A: Float64Array.of(r1 * (1 - r2), r2, 1, 0),
      C: Float64Array.of(1, 0),
      Q: Float64Array.of(Math.exp(logQ), 0, 0, 0),
      R: Float64Array.of(Math.exp(logR)),
    };
  }
  const U = theta.slice(0, n * n);
  const C = theta.slice(n * n, n * n + p * n);
  const R = new Float64Array(p * p);
  for (let j = 0; j < p; j++) R[j * p + j] = Math.exp(theta[n * n + p * n + j]);
  // A = U L⁻¹ with L Lᵀ = I + U Uᵀ: Aᵀ = L⁻ᵀ Uᵀ solves Lᵀ Aᵀ = Uᵀ.
  const G = mul(U, tr(U, n, n), n, n, n).map((v, i) => v + (i % (n + 1) === 0 ? 1 : 0));
  const L = choleskyLower(G, n, "latent-var");
  const At = luSolve(luFactor(tr(L, n, n), n, "latent-var"), tr(U, n, n), n);
  return { n, p, A: tr(At, n, n), C, Q: eye(n), R };
}
