/**
 * The float64 dense linear-algebra kernels both backends share: Cholesky of ½(A + Aᵀ), triangular
 * solves, LU with partial pivoting and its solves, and the VJPs of cholesky, logdet and solve.
 * Plain row-major Float64Array loops with explicit sizes for the small matrices dmci programs use
 * (covariances, Kalman gains): no blocking, no BLAS, no shape checks (callers check shapes).
 */
import { DmciError } from "../errors.ts";

/**
 * ½(A + Aᵀ) of an n×n matrix: the matrix the SPD ops factor, and the form of their gradients.
 * A slightly asymmetric input (rounding in P = F P Fᵀ + Q) then reads the same whichever triangle
 * holds what, and the symmetrised gradient is the exact gradient of the op as computed.
 *
 * @example
 * ```ts
 * symmetricPart(Float64Array.of(1, 2, 4, 3), 2); // [1, 3, 3, 3]
 * ```
 */
export function symmetricPart(a: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  }
  return s;
}

/**
 * Lower-triangular L with L Lᵀ = ½(A + Aᵀ) for an n×n matrix A, column by column. Reading the
 * symmetric part (rather than one triangle) makes the forward map agree with its symmetric
 * gradient for any A. Throws a "type" DmciError naming `op` and the first pivot (1-based) that is
 * not positive; `!(s > 0)` also catches NaN, which would otherwise spread silently. `subject`
 * names the matrix in that message.
 *
 * @example
 * ```ts
 * choleskyLower(Float64Array.of(4, 2, 2, 3), 2, "cholesky"); // [2, 0, 1, √2]
 * choleskyLower(Float64Array.of(1, 2, 2, 1), 2, "cholesky");
 * // throws "cholesky: the matrix is not positive definite (pivot 2 of 2 is -3)"
 * ```
 */
export function choleskyLower(a: Float64Array, n: number, op: string, subject = "the matrix"): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
    if (!(s > 0)) {
      throw new DmciError(
        "type",
        `${op}: ${subject} is not positive definite (pivot ${j + 1} of ${n} is ${s})`,
      );
    }
    const d = Math.sqrt(s);
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = 0.5 * (a[i * n + j] + a[j * n + i]);
      for (let k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = t / d;
    }
  }
  return l;
}

/** Which triangle of a square matrix a substitution reads, and how. */
interface Triangle {
  /** Lower triangle of T (solve from the first row down) or upper (from the last row up). */
  readonly lower: boolean;
  /** Read T's entries transposed: the triangle of Tᵀ, i.e. the opposite one stored in T. */
  readonly transposed: boolean;
  /** Take the diagonal as ones (the unit L of an LU factorisation) instead of reading it. */
  readonly unit: boolean;
}

/**
 * Overwrites X (n×k, holding B) with the solution of T X = B for the triangle of the n×n matrix T
 * (or of Tᵀ) that `tri` describes. The one substitution loop behind every triangular solve here;
 * each row subtracts the rows already solved in increasing index order.
 */
function substitute(t: Float64Array, x: Float64Array, n: number, k: number, tri: Triangle): void {
  const { lower, transposed, unit } = tri;
  // Entry (i, j) of T, or of Tᵀ, is t[i * di + j * dj].
  const di = transposed ? 1 : n, dj = transposed ? n : 1;
  for (let s = 0; s < n; s++) {
    const i = lower ? s : n - 1 - s, from = lower ? 0 : i + 1, to = lower ? i : n;
    for (let j = from; j < to; j++) {
      const tij = t[i * di + j * dj];
      for (let c = 0; c < k; c++) x[i * k + c] -= tij * x[j * k + c];
    }
    if (!unit) {
      const d = t[i * n + i];
      for (let c = 0; c < k; c++) x[i * k + c] /= d;
    }
  }
}

const LOWER: Triangle = { lower: true, transposed: false, unit: false };
const LOWER_UNIT: Triangle = { lower: true, transposed: false, unit: true };
const UPPER: Triangle = { lower: false, transposed: false, unit: false };
/** Lᵀ for L stored lower: the upper triangle of the transpose. */
const LOWER_T: Triangle = { lower: false, transposed: true, unit: false };
const LOWER_UNIT_T: Triangle = { lower: false, transposed: true, unit: true };
/** Uᵀ for U stored upper: the lower triangle of the transpose. */
const UPPER_T: Triangle = { lower: true, transposed: true, unit: false };

/**
 * X (n×k) with L X = B, L lower-triangular n×n (forward substitution); B is not modified.
 *
 * @example
 * ```ts
 * solveLower(Float64Array.of(2, 0, 1, 1), Float64Array.of(2, 3), 2, 1); // [1, 2]
 * ```
 */
export function solveLower(l: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  const x = b.slice();
  substitute(l, x, n, k, LOWER);
  return x;
}

/**
 * X (n×k) with Lᵀ X = B, L lower-triangular n×n (back substitution on the transpose, without
 * forming it); B is not modified.
 *
 * @example
 * ```ts
 * solveLowerTransposed(Float64Array.of(2, 0, 1, 1), Float64Array.of(4, 1), 2, 1); // [1.5, 1]
 * ```
 */
export function solveLowerTransposed(l: Float64Array, b: Float64Array, n: number, k: number): Float64Array {
  const x = b.slice();
  substitute(l, x, n, k, LOWER_T);
  return x;
}

/** Transpose of an n×n row-major matrix. */
function transposeSquare(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}

/**
 * log det A = 2 Σ log Lᵢᵢ from the Cholesky factor L (n×n) of A.
 *
 * @example
 * ```ts
 * logdetFromCholesky(choleskyLower(Float64Array.of(4, 2, 2, 3), 2, "logdet"), 2); // log 8
 * ```
 */
export function logdetFromCholesky(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/**
 * The Cholesky VJP (Murray 2016, "Differentiation of the Cholesky decomposition", eq. 10,
 * symmetrised): with Φ(X) the lower triangle of X with its diagonal halved, P = Φ(Lᵀ L̄) and
 * Ā = sym(L⁻ᵀ P L⁻¹). Entries of L̄ above the diagonal drop out by themselves (the upper triangle
 * of L is constant zero): (Lᵀ L̄)ᵢⱼ for i ≥ j only reads L̄ₖⱼ with k ≥ i ≥ j.
 *
 * @example
 * ```ts
 * // A = [a] (1×1): L = √a, so Ā = L̄ / (2√a).
 * choleskyVjp(Float64Array.of(2), Float64Array.of(1), 1); // [0.25]
 * ```
 */
export function choleskyVjp(l: Float64Array, lBar: Float64Array, n: number): Float64Array {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += l[k * n + i] * lBar[k * n + j];
      p[i * n + j] = i === j ? 0.5 * s : s;
    }
  }
  // Y = L⁻ᵀ P, then Z = L⁻ᵀ Yᵀ = (L⁻ᵀ P L⁻¹)ᵀ: one triangular solve serves twice.
  const z = solveLowerTransposed(l, transposeSquare(solveLowerTransposed(l, p, n, n), n), n, n);
  return symmetricPart(z, n);
}

/**
 * The logdet VJP ḡ A⁻¹, from the Cholesky factor L (n×n) of A: A⁻¹ = L⁻ᵀ L⁻¹, symmetrised so
 * that the gradient is exactly symmetric.
 *
 * @example
 * ```ts
 * logdetVjp(Float64Array.of(2, 0, 0, 1), 2, 3); // 3 · diag(1/4, 1) = [0.75, 0, 0, 3]
 * ```
 */
export function logdetVjp(l: Float64Array, n: number, g: number): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const inv = symmetricPart(solveLowerTransposed(l, solveLower(l, eye, n, n), n, n), n);
  for (let i = 0; i < n * n; i++) inv[i] *= g;
  return inv;
}

/** An LU factorisation P A = L U of an n×n matrix A with partial pivoting. */
export interface LuFactors {
  /** Unit-lower L strictly below the diagonal and U on and above it, row-major n×n. */
  readonly lu: Float64Array;
  /** Row i of P A is row perm[i] of A. */
  readonly perm: Int32Array;
  /** The order of A. */
  readonly n: number;
}

/**
 * LU factorisation of an n×n matrix with partial pivoting (the largest |entry| of each column,
 * the first on ties). Throws a "type" DmciError naming `op` when a column has no nonzero pivot;
 * `!(best > 0)` also catches a NaN pivot. `subject` names the matrix in that message.
 *
 * @example
 * ```ts
 * luFactor(Float64Array.of(0, 1, 1, 0), 2, "solve").perm; // [1, 0]: the rows are swapped
 * luFactor(Float64Array.of(1, 2, 2, 4), 2, "solve");
 * // throws "solve: the matrix is singular (pivot 2 of 2 is 0)"
 * ```
 */
export function luFactor(a: Float64Array, n: number, op: string, subject = "the matrix"): LuFactors {
  const lu = a.slice(), perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let j = 0; j < n; j++) {
    let p = j, best = Math.abs(lu[j * n + j]);
    for (let i = j + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + j]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (!(best > 0)) {
      throw new DmciError(
        "type",
        `${op}: ${subject} is singular (pivot ${j + 1} of ${n} is ${lu[p * n + j]})`,
      );
    }
    if (p !== j) {
      for (let c = 0; c < n; c++) {
        const t = lu[j * n + c];
        lu[j * n + c] = lu[p * n + c];
        lu[p * n + c] = t;
      }
      const t = perm[j];
      perm[j] = perm[p];
      perm[p] = t;
    }
    const d = lu[j * n + j];
    for (let i = j + 1; i < n; i++) {
      const f = (lu[i * n + j] /= d);
      if (f !== 0) { for (let c = j + 1; c < n; c++) lu[i * n + c] -= f * lu[j * n + c]; }
    }
  }
  return { lu, perm, n };
}

/**
 * X (n×k) with A X = B from A's LU factors: L U X = P B.
 *
 * @example
 * ```ts
 * luSolve(luFactor(Float64Array.of(0, 1, 1, 0), 2, "solve"), Float64Array.of(2, 3), 1); // [3, 2]
 * ```
 */
export function luSolve({ lu, perm, n }: LuFactors, b: Float64Array, k: number): Float64Array {
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) x[i * k + c] = b[perm[i] * k + c];
  substitute(lu, x, n, k, LOWER_UNIT);
  substitute(lu, x, n, k, UPPER);
  return x;
}

/**
 * X (n×k) with Aᵀ X = B from A's LU factors: Aᵀ = Uᵀ Lᵀ P, so Uᵀ Z = B, Lᵀ W = Z, X = Pᵀ W.
 *
 * @example
 * ```ts
 * // Aᵀ = [[1, 0], [2, 1]]: x₀ = 1, then 2·1 + x₁ = 4.
 * luSolveTransposed(luFactor(Float64Array.of(1, 2, 0, 1), 2, "solve"), Float64Array.of(1, 4), 1); // [1, 2]
 * ```
 */
export function luSolveTransposed({ lu, perm, n }: LuFactors, b: Float64Array, k: number): Float64Array {
  const w = b.slice();
  substitute(lu, w, n, k, UPPER_T);
  substitute(lu, w, n, k, LOWER_UNIT_T);
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) x[perm[i] * k + c] = w[i * k + c];
  return x;
}

/** The cotangents of solve's two inputs. */
export interface SolveCotangents {
  /** Ā (n×n). */
  readonly aBar: Float64Array;
  /** B̄ (n×k). */
  readonly bBar: Float64Array;
}

/**
 * The VJP of X = A⁻¹ B (X, B n×k) from the forward LU factors of A and the result X:
 * B̄ = A⁻ᵀ X̄ and Ā = −B̄ Xᵀ.
 *
 * @example
 * ```ts
 * // A = [[2, 0], [0, 4]], x = [1, 0.5], x̄ = [1, 1]: b̄ = [0.5, 0.25], Ā = −b̄ xᵀ.
 * const f = luFactor(Float64Array.of(2, 0, 0, 4), 2, "solve");
 * solveVjp(f, Float64Array.of(1, 0.5), Float64Array.of(1, 1), 1).aBar; // [-0.5, -0.25, -0.25, -0.125]
 * ```
 */
export function solveVjp(f: LuFactors, x: Float64Array, xBar: Float64Array, k: number): SolveCotangents {
  const n = f.n, bBar = luSolveTransposed(f, xBar, k), aBar = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += bBar[i * k + c] * x[j * k + c];
      aBar[i * n + j] = -s;
    }
  }
  return { aBar, bBar };
}
