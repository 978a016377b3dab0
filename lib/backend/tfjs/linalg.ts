/**
 * Cholesky, solve and log-determinant for the tfjs backend, which has none of them:
 * each is a `tf.customGrad` op whose forward and backward passes run the shared float64
 * kernels of ../linalg_f64.ts on the tensors' values. It must not check argument shapes
 * (mod.ts does, with the caller's op names) and must not keep tensors alive: its closures
 * hold Float64Arrays.
 */
import { tf } from "./setup.ts";
import {
  choleskyLower,
  choleskyVjp,
  logdetFromCholesky,
  logdetVjp,
  luFactor,
  luSolve,
  solveVjp,
} from "../linalg_f64.ts";

// inputs are float32 tf tensors of checked shapes; values go through float64

/** A tensor's (float32) values widened to float64. */
function valuesF64(x: tf.Tensor): Float64Array {
  return Float64Array.from(x.dataSync());
}

/** A float32 tensor of the given shape holding float64 kernel output. */
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
    const l = choleskyLower(valuesF64(x as tf.Tensor), n, "cholesky");
    return {
      value: matrix(l, [n, n]),
      gradFunc: (dy: tf.Tensor) => matrix(choleskyVjp(l, valuesF64(dy), n), [n, n]),
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
    const l = choleskyLower(valuesF64(x as tf.Tensor), n, "logdet");
    return {
      value: tf.scalar(logdetFromCholesky(l, n), "float32"),
      gradFunc: (dy: tf.Tensor) => matrix(logdetVjp(l, n, dy.dataSync()[0]), [n, n]),
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
    const lu = luFactor(valuesF64(aT as tf.Tensor), n, "solve");
    const x = luSolve(lu, valuesF64(bT as tf.Tensor), k);
    return {
      value: matrix(x, bShape),
      gradFunc: (dy: tf.Tensor) => {
        const { aBar, bBar } = solveVjp(lu, x, valuesF64(dy), k);
        return [matrix(aBar, [n, n]), matrix(bBar, bShape)];
      },
    };
  });
  return op(a, b);
}
