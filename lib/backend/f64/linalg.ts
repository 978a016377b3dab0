/**
 * Dense linear algebra of the f64 backend with VJPs: Cholesky, solve (LU with partial
 * pivoting) and log-determinant of an SPD matrix. Plain row-major loops for the small matrices
 * dmci programs use (covariances, Kalman gains); no blocking, no BLAS, no symmetry checks.
 */
import { DmciError } from "../../errors.ts";
import { fmtShape, node } from "./ops.ts";
import { addGrad, gradBuf, isTracked, make, needsGrad, type Node, SCALAR } from "./tape.ts";

/** The order n of a square matrix node, or a type error naming the op and the shape. */
function order(op: string, a: Node): number {
  const sh = a.shape;
  if (sh.length !== 2 || sh[0] !== sh[1]) {
    throw new DmciError("type", `${op}: expected a square matrix, got shape ${fmtShape(sh)}`);
  }
  return sh[0];
}

/**
 * Lower-triangular L with L Lᵀ = ½(A + Aᵀ). Reading the symmetric part (rather than one
 * triangle) makes the forward map agree with its symmetric gradient for any A, and keeps
 * round-off asymmetry (e.g. in Kalman covariance updates) harmless.
 */
function choleskyFactor(op: string, A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] * L[j * n + k];
    if (!(s > 0)) {
      throw new DmciError(
        "type",
        `${op}: matrix of shape [${n},${n}] is not positive definite (pivot ${j} is ${s})`,
      );
    }
    const d = Math.sqrt(s);
    L[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = 0.5 * (A[i * n + j] + A[j * n + i]);
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / d;
    }
  }
  return L;
}

/** X (n×m) with L X = B, L lower triangular (forward substitution). */
function solveLower(L: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const X = B.slice();
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const l = L[i * n + k];
      for (let c = 0; c < m; c++) X[i * m + c] -= l * X[k * m + c];
    }
    const d = L[i * n + i];
    for (let c = 0; c < m; c++) X[i * m + c] /= d;
  }
  return X;
}

/** X (n×m) with Lᵀ X = B, L lower triangular (back substitution on the transpose). */
function solveLowerT(L: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const X = B.slice();
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const l = L[k * n + i];
      for (let c = 0; c < m; c++) X[i * m + c] -= l * X[k * m + c];
    }
    const d = L[i * n + i];
    for (let c = 0; c < m; c++) X[i * m + c] /= d;
  }
  return X;
}

function transposed(X: Float64Array, n: number): Float64Array {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T[j * n + i] = X[i * n + j];
  return T;
}

/**
 * Cholesky VJP (Murray 2016, symmetric form): with P = Φ(Lᵀ L̄) (lower triangle, halved
 * diagonal), Ā = sym(L⁻ᵀ P L⁻¹). Entries of L̄ above the diagonal drop out by themselves:
 * (Lᵀ L̄)ᵢⱼ for i ≥ j only reads L̄ₖⱼ with k ≥ i ≥ j.
 */
function choleskyVjp(nd: Node): void {
  const n = nd.aux as number, L = nd.data!, Lb = nd.gd!, P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += L[k * n + i] * Lb[k * n + j];
      P[i * n + j] = i === j ? 0.5 * s : s;
    }
  }
  // G = L⁻ᵀ P L⁻¹: Y = L⁻ᵀ P, then Z = L⁻ᵀ Yᵀ = Gᵀ.
  const Z = solveLowerT(L, transposed(solveLowerT(L, P, n, n), n), n, n);
  const buf = gradBuf(nd.a as Node);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) buf[i * n + j] += 0.5 * (Z[i * n + j] + Z[j * n + i]);
  }
}

/**
 * Lower-triangular L with L Lᵀ = A for symmetric positive-definite A (the symmetric part of A
 * is used). Throws a DmciError "type" if A is not positive definite.
 */
export function cholesky(x: unknown): Node {
  const a = node("cholesky", x), n = order("cholesky", a);
  return make(a.shape, 0, choleskyFactor("cholesky", a.data!, n), isTracked(a), choleskyVjp, a, null, n);
}

interface LogdetAux {
  readonly L: Float64Array;
  readonly n: number;
}

/** Ā += ḡ A⁻¹, with A⁻¹ = L⁻ᵀ L⁻¹ made exactly symmetric. */
function logdetVjp(nd: Node): void {
  const { L, n } = nd.aux as LogdetAux, I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  const inv = solveLowerT(L, solveLower(L, I, n, n), n, n), buf = gradBuf(nd.a as Node), g = nd.g;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) buf[i * n + j] += g * 0.5 * (inv[i * n + j] + inv[j * n + i]);
  }
}

/** log det A = 2 Σ log Lᵢᵢ for symmetric positive-definite A; gradient A⁻¹. */
export function logdet(x: unknown): Node {
  const a = node("logdet", x), n = order("logdet", a), L = choleskyFactor("logdet", a.data!, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[i * n + i]);
  return make(SCALAR, 2 * s, null, isTracked(a), logdetVjp, a, null, { L, n });
}

interface LU {
  /** Unit-lower L below the diagonal and U on and above it, of the row-permuted A. */
  readonly lu: Float64Array;
  /** Row i of the factored matrix is row piv[i] of A. */
  readonly piv: Int32Array;
}

/** LU factorization with partial pivoting; throws if a pivot column is exactly zero. */
function luFactor(op: string, A: Float64Array, n: number): LU {
  const lu = A.slice(), piv = new Int32Array(n);
  for (let i = 0; i < n; i++) piv[i] = i;
  for (let j = 0; j < n; j++) {
    let p = j, best = Math.abs(lu[j * n + j]);
    for (let i = j + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + j]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (lu[p * n + j] === 0) {
      throw new DmciError(
        "type",
        `${op}: matrix of shape [${n},${n}] is singular (column ${j} has no pivot)`,
      );
    }
    if (p !== j) {
      for (let c = 0; c < n; c++) {
        const t = lu[j * n + c];
        lu[j * n + c] = lu[p * n + c];
        lu[p * n + c] = t;
      }
      const t = piv[j];
      piv[j] = piv[p];
      piv[p] = t;
    }
    const d = lu[j * n + j];
    for (let i = j + 1; i < n; i++) {
      const f = (lu[i * n + j] /= d);
      if (f !== 0) { for (let c = j + 1; c < n; c++) lu[i * n + c] -= f * lu[j * n + c]; }
    }
  }
  return { lu, piv };
}

/** X (n×m) with A X = B, from PA = LU: L U X = P B. */
function luSolve({ lu, piv }: LU, B: Float64Array, n: number, m: number): Float64Array {
  const X = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) X[i * m + c] = B[piv[i] * m + c];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const l = lu[i * n + k];
      for (let c = 0; c < m; c++) X[i * m + c] -= l * X[k * m + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const u = lu[i * n + k];
      for (let c = 0; c < m; c++) X[i * m + c] -= u * X[k * m + c];
    }
    const d = lu[i * n + i];
    for (let c = 0; c < m; c++) X[i * m + c] /= d;
  }
  return X;
}

/** Y (n×m) with Aᵀ Y = G, from Aᵀ = Uᵀ Lᵀ P: Uᵀ Z = G, Lᵀ W = Z, Y = Pᵀ W. */
function luSolveT({ lu, piv }: LU, G: Float64Array, n: number, m: number): Float64Array {
  const W = G.slice();
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const u = lu[k * n + i];
      for (let c = 0; c < m; c++) W[i * m + c] -= u * W[k * m + c];
    }
    const d = lu[i * n + i];
    for (let c = 0; c < m; c++) W[i * m + c] /= d;
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const l = lu[k * n + i];
      for (let c = 0; c < m; c++) W[i * m + c] -= l * W[k * m + c];
    }
  }
  const Y = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) Y[piv[i] * m + c] = W[i * m + c];
  return Y;
}

interface SolveAux {
  readonly f: LU;
  readonly n: number;
  readonly m: number;
}

/** b̄ = A⁻ᵀ ḡ and Ā = −b̄ xᵀ, reusing the forward LU factors. */
function solveVjp(nd: Node): void {
  const { f, n, m } = nd.aux as SolveAux, a = nd.a as Node, b = nd.b as Node, X = nd.data!;
  const bb = luSolveT(f, nd.gd!, n, m);
  if (needsGrad(b, nd)) addGrad(b, bb);
  if (needsGrad(a, nd)) {
    const buf = gradBuf(a);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < m; c++) s += bb[i * m + c] * X[j * m + c];
        buf[i * n + j] -= s;
      }
    }
  }
}

/** x with A x = b for square A and b a vector [n] or matrix [n,m]; x has b's shape. */
export function solve(x: unknown, y: unknown): Node {
  const a = node("solve", x), n = order("solve", a), b = node("solve", y), sb = b.shape;
  if (sb.length < 1 || sb.length > 2 || sb[0] !== n) {
    throw new DmciError(
      "type",
      `solve: right-hand side of shape ${fmtShape(sb)} does not fit a matrix of shape ${fmtShape(a.shape)}`,
    );
  }
  const m = sb.length === 2 ? sb[1] : 1, f = luFactor("solve", a.data!, n);
  const tracked = isTracked(a) || isTracked(b);
  return make(sb, 0, luSolve(f, b.data!, n, m), tracked, solveVjp, a, b, { f, n, m });
}
