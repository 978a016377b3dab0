/**
 * Cholesky, solve and log-determinant for the tfjs backend, which has none of them:
 * each is a `tf.customGrad` op whose forward and backward passes run in plain JS in
 * float64 on the tensors' values. It must not check argument shapes (mod.ts does, with
 * the caller's op names) and must not keep tensors alive: its closures hold Float64Arrays.
 */
import { tf } from "./setup.ts";
import { DmciError } from "../../errors.ts";

// ---------------------------------------------------------------------------------
// float64 helpers on row-major n×n (or n×k) arrays

/**
 * ½(A + Aᵀ): the matrix the SPD ops factor. A slightly asymmetric input (float32
 * rounding in P = F P Fᵀ + Q) then reads the same whichever triangle holds what, and
 * the symmetrised gradient is the exact gradient of the op as computed.
 */
function symmetrize(a: Float64Array, n: number): Float64Array {
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) s[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
  }
  return s;
}

/**
 * Lower-triangular L with L Lᵀ = A (A symmetric), by the Cholesky–Banachiewicz order.
 * Throws a `type` DmciError naming `op` when A is not (numerically) positive definite.
 */
function choleskyF64(a: Float64Array, n: number, op: string): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        // `!(s > 0)` also catches NaN, which a NaN entry would otherwise spread silently.
        if (!(s > 0)) {
          throw new DmciError(
            "type",
            `${op}: the matrix is not positive definite (pivot ${i + 1} of ${n} is ${s})`,
          );
        }
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** Solves L X = B in place of a copy of B (L lower-triangular n×n, B n×k). */
function solveLower(l: Float64Array, n: number, b: Float64Array, k: number): Float64Array {
  const x = Float64Array.from(b);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * k + c];
      for (let j = 0; j < i; j++) s -= l[i * n + j] * x[j * k + c];
      x[i * k + c] = s / l[i * n + i];
    }
  }
  return x;
}

/** Solves Lᵀ X = B (L lower-triangular n×n, so Lᵀ is upper), B n×k. */
function solveLowerTransposed(l: Float64Array, n: number, b: Float64Array, k: number): Float64Array {
  const x = Float64Array.from(b);
  for (let c = 0; c < k; c++) {
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * k + c];
      for (let j = i + 1; j < n; j++) s -= l[j * n + i] * x[j * k + c];
      x[i * k + c] = s / l[i * n + i];
    }
  }
  return x;
}

/** Transpose of an r×c row-major matrix. */
function transposeF64(a: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

/** An LU factorisation P A = L U with partial pivoting: unit L below, U on and above the diagonal. */
interface LuF64 {
  readonly lu: Float64Array;
  /** Row i of P A is row perm[i] of A. */
  readonly perm: Int32Array;
  readonly n: number;
}

/** LU with partial pivoting; throws a `type` DmciError naming `op` when A is singular. */
function luF64(a: Float64Array, n: number, op: string): LuF64 {
  const lu = Float64Array.from(a);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(lu[c * n + c]);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(lu[r * n + c]);
      if (v > best) [best, p] = [v, r];
    }
    // `!(best > 0)` also catches NaN entries.
    if (!(best > 0)) {
      throw new DmciError("type", `${op}: the matrix is singular (no pivot in column ${c + 1})`);
    }
    if (p !== c) {
      for (let j = 0; j < n; j++) [lu[c * n + j], lu[p * n + j]] = [lu[p * n + j], lu[c * n + j]];
      [perm[c], perm[p]] = [perm[p], perm[c]];
    }
    const d = lu[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = (lu[r * n + c] /= d);
      if (f !== 0) { for (let j = c + 1; j < n; j++) lu[r * n + j] -= f * lu[c * n + j]; }
    }
  }
  return { lu, perm, n };
}

/** Solves A X = B from A's LU factors (B n×k). */
function luSolve({ lu, perm, n }: LuF64, b: Float64Array, k: number): Float64Array {
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) x[i * k + c] = b[perm[i] * k + c];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * k + c];
      for (let j = 0; j < i; j++) s -= lu[i * n + j] * x[j * k + c];
      x[i * k + c] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * k + c];
      for (let j = i + 1; j < n; j++) s -= lu[i * n + j] * x[j * k + c];
      x[i * k + c] = s / lu[i * n + i];
    }
  }
  return x;
}

/** Solves Aᵀ X = B from A's LU factors: Aᵀ = Uᵀ Lᵀ P, so Uᵀ Z = B, Lᵀ W = Z, X = Pᵀ W. */
function luSolveTransposed({ lu, perm, n }: LuF64, b: Float64Array, k: number): Float64Array {
  const w = Float64Array.from(b);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let s = w[i * k + c];
      for (let j = 0; j < i; j++) s -= lu[j * n + i] * w[j * k + c];
      w[i * k + c] = s / lu[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = w[i * k + c];
      for (let j = i + 1; j < n; j++) s -= lu[j * n + i] * w[j * k + c];
      w[i * k + c] = s;
    }
  }
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) x[perm[i] * k + c] = w[i * k + c];
  return x;
}

/**
 * The gradient of A ↦ chol(A) for symmetric A (Murray 2016, "Differentiation of the
 * Cholesky decomposition", eq. 10, symmetrised): with Φ(X) the lower triangle of X
 * with its diagonal halved, S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ and Ā = ½(S + Sᵀ). Only the lower
 * triangle of L̄ counts, since the upper triangle of L is constant zero.
 */
function choleskyGradF64(l: Float64Array, n: number, lBar: Float64Array): Float64Array {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      // (Lᵀ tril(L̄))_ij = Σ_k L_ki L̄_kj over k ≥ i (L lower) and k ≥ j (tril(L̄)).
      let s = 0;
      for (let k = i; k < n; k++) s += l[k * n + i] * lBar[k * n + j];
      p[i * n + j] = i === j ? 0.5 * s : s;
    }
  }
  const x = solveLowerTransposed(l, n, p, n); // L⁻ᵀ P
  // X L⁻¹ = (L⁻ᵀ Xᵀ)ᵀ, so the same triangular solve serves twice.
  const s = transposeF64(solveLowerTransposed(l, n, transposeF64(x, n, n), n), n, n);
  return symmetrize(s, n);
}

// ---------------------------------------------------------------------------------
// the custom-gradient ops; inputs are float32 tf tensors of checked shapes

function valuesF64(x: tf.Tensor): Float64Array {
  return Float64Array.from(x.dataSync());
}

function matrix(values: Float64Array, shape: number[]): tf.Tensor {
  return tf.tensor(Float32Array.from(values), shape, "float32");
}

/**
 * Lower-triangular L with L Lᵀ = ½(A + Aᵀ), for A of shape [n,n]; gradient by Murray's rule.
 *
 * @example
 * ```ts
 * choleskyOp(tf.tensor2d([[4, 2], [2, 3]])).arraySync(); // [[2, 0], [1, 1.414…]]
 * ```
 */
export function choleskyOp(a: tf.Tensor): tf.Tensor {
  const n = (a.shape as number[])[0];
  const op = tf.customGrad((x) => {
    const l = choleskyF64(symmetrize(valuesF64(x as tf.Tensor), n), n, "cholesky");
    return {
      value: matrix(l, [n, n]),
      gradFunc: (dy: tf.Tensor) => matrix(choleskyGradF64(l, n, valuesF64(dy)), [n, n]),
    };
  });
  return op(a);
}

/**
 * log det A for symmetric positive-definite A of shape [n,n] (factoring ½(A + Aᵀ)), as
 * 2 Σ log Lᵢᵢ; gradient ḡ A⁻¹.
 *
 * @example
 * ```ts
 * logdetOp(tf.tensor2d([[4, 2], [2, 3]])).dataSync()[0]; // log 8
 * ```
 */
export function logdetOp(a: tf.Tensor): tf.Tensor {
  const n = (a.shape as number[])[0];
  const op = tf.customGrad((x) => {
    const l = choleskyF64(symmetrize(valuesF64(x as tf.Tensor), n), n, "logdet");
    let v = 0;
    for (let i = 0; i < n; i++) v += Math.log(l[i * n + i]);
    return {
      value: tf.scalar(2 * v, "float32"),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync()[0];
        const eye = new Float64Array(n * n);
        for (let i = 0; i < n; i++) eye[i * n + i] = 1;
        // A⁻¹ = L⁻ᵀ L⁻¹, symmetric up to rounding; symmetrise so the gradient is exactly so.
        const inv = symmetrize(solveLowerTransposed(l, n, solveLower(l, n, eye, n), n), n);
        for (let i = 0; i < n * n; i++) inv[i] *= g;
        return matrix(inv, [n, n]);
      },
    };
  });
  return op(a);
}

/**
 * x with A x = b for square A [n,n] and b of shape [n] or [n,k] (LU with partial
 * pivoting); gradients b̄ = A⁻ᵀ ḡ and Ā = −b̄ xᵀ.
 *
 * @example
 * ```ts
 * solveOp(tf.tensor2d([[2, 0], [0, 4]]), tf.tensor1d([2, 2])).arraySync(); // [1, 0.5]
 * ```
 */
export function solveOp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const n = (a.shape as number[])[0];
  const bShape = (b.shape as number[]).slice();
  const k = b.rank === 1 ? 1 : bShape[1];
  const op = tf.customGrad((aT, bT) => {
    const lu = luF64(valuesF64(aT as tf.Tensor), n, "solve");
    const x = luSolve(lu, valuesF64(bT as tf.Tensor), k);
    return {
      value: matrix(x, bShape),
      gradFunc: (dy: tf.Tensor) => {
        const bBar = luSolveTransposed(lu, valuesF64(dy), k);
        const aBar = new Float64Array(n * n);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let c = 0; c < k; c++) s += bBar[i * k + c] * x[j * k + c];
            aBar[i * n + j] = -s;
          }
        }
        return [matrix(aBar, [n, n]), matrix(bBar, bShape)];
      },
    };
  });
  return op(a, b);
}
