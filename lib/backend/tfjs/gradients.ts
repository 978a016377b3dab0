/**
 * The gradient rules of the tfjs kernels dmci's ops use, one line per kernel. tfjs-core's
 * CommonJS build (the one Deno loads, and the one the cpu/wasm kernels bind to) ships
 * without them: they live only in its extensionless ES modules, which Deno cannot load.
 * This module only registers rules; it must not define ops or hold tensors.
 */
import { tf } from "./setup.ts";

type Grads = Record<string, () => tf.Tensor>;
type Rule = (
  dy: tf.Tensor,
  saved: tf.Tensor[],
  attrs: Record<string, unknown>,
) => Grads | (() => tf.Tensor)[];

/** Sums g over the axes along which `shape` was broadcast to g's shape, and gives it `shape`. */
function unbroadcast(g: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape as number[], g.shape);
  // A fresh tensor even when nothing is summed: tfjs disposes partial gradient sums, and
  // one tensor object handed to two inputs (x + x) would be disposed under the other.
  const r = axes.length > 0 ? tf.sum(g, axes) : tf.clone(g);
  return r.shape.length === shape.length && r.shape.every((d, i) => d === shape[i])
    ? r
    : tf.reshape(r, shape.slice());
}

const zero = (dy: tf.Tensor) => ({ x: () => tf.zerosLike(dy) });
const f32 = (t: tf.Tensor) => tf.cast(t, "float32");

/**
 * Registers a rule for `kernel`. `inputs` names the inputs kept for the backward pass
 * (they arrive first in `saved`), `output` whether the output is kept too (last).
 */
function rule(kernel: string, inputs: string[] | "all", output: boolean, gradFunc: Rule): void {
  tf.registerGradient({
    kernelName: kernel,
    ...(inputs === "all" ? { saveAllInputs: true } : { inputsToSave: inputs }),
    outputsToSave: output ? [true] : [],
    gradFunc: gradFunc as unknown as tf.GradConfig["gradFunc"],
  });
}

// --- elementwise unary: dy times the derivative
rule(tf.Neg, [], false, (dy) => ({ x: () => tf.neg(dy) }));
// sign(x), not tfjs's step (−1 at 0): d|x|/dx is 0 at 0 in every dmci backend.
rule(tf.Abs, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.sign(x)) }));
rule(tf.Exp, [], true, (dy, [y]) => ({ x: () => tf.mul(dy, y) }));
rule(tf.Log, ["x"], false, (dy, [x]) => ({ x: () => tf.div(dy, x) }));
rule(tf.Sqrt, [], true, (dy, [y]) => ({ x: () => tf.div(dy, tf.mul(y, 2)) }));
rule(tf.Square, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.mul(x, 2)) }));
rule(tf.Sin, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.cos(x)) }));
rule(tf.Cos, ["x"], false, (dy, [x]) => ({ x: () => tf.neg(tf.mul(dy, tf.sin(x))) }));
rule(tf.Tan, ["x"], false, (dy, [x]) => ({ x: () => tf.div(dy, tf.square(tf.cos(x))) }));
rule(tf.Asin, ["x"], false, (dy, [x]) => ({ x: () => tf.div(dy, tf.sqrt(tf.sub(1, tf.square(x)))) }));
rule(tf.Acos, ["x"], false, (dy, [x]) => ({ x: () => tf.neg(tf.div(dy, tf.sqrt(tf.sub(1, tf.square(x))))) }));
rule(tf.Atan, ["x"], false, (dy, [x]) => ({ x: () => tf.div(dy, tf.add(1, tf.square(x))) }));
rule(tf.Tanh, [], true, (dy, [y]) => ({ x: () => tf.mul(dy, tf.sub(1, tf.square(y))) }));
rule(tf.Sigmoid, [], true, (dy, [y]) => ({ x: () => tf.mul(dy, tf.mul(y, tf.sub(1, y))) }));
rule(tf.Softplus, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.sigmoid(x)) }));
// step(x) is 1 for x > 0, else 0: relu's derivative is 0 at 0.
rule(tf.Relu, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(x)) }));
rule(tf.Log1p, ["x"], false, (dy, [x]) => ({ x: () => tf.div(dy, tf.add(x, 1)) }));
rule(tf.Expm1, ["x"], false, (dy, [x]) => ({ x: () => tf.mul(dy, tf.exp(x)) }));
for (const k of [tf.Floor, tf.Ceil, tf.Round, tf.Sign]) rule(k, [], false, zero);
rule(tf.Identity, [], false, (dy) => ({ x: () => f32(dy) }));
rule(tf.Cast, [], false, (dy) => ({ x: () => f32(dy) }));

// --- elementwise binary: each partial is summed back to its operand's shape
rule(tf.Add, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(dy, a.shape),
  b: () => unbroadcast(dy, b.shape),
}));
rule(tf.Sub, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(dy, a.shape),
  b: () => unbroadcast(tf.neg(dy), b.shape),
}));
rule(tf.Multiply, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(tf.mul(dy, b), a.shape),
  b: () => unbroadcast(tf.mul(dy, a), b.shape),
}));
rule(tf.RealDiv, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(tf.div(dy, b), a.shape),
  b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, a), tf.square(b))), b.shape),
}));
// d/da = b·a^(b−1); d/db = a^b·log a where a > 0, else 0 (no NaN from log of a ≤ 0).
rule(tf.Pow, ["a", "b"], true, (dy, [a, b, y]) => ({
  a: () => unbroadcast(tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, 1)))), a.shape),
  b: () => {
    const logA = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
    return unbroadcast(tf.mul(dy, tf.mul(y, logA)), b.shape);
  },
}));
// atan2(a, b) = angle of (b, a): ∂/∂a = b/(a²+b²), ∂/∂b = −a/(a²+b²).
rule(tf.Atan2, ["a", "b"], false, (dy, [a, b]) => {
  const r2 = () => tf.add(tf.square(a), tf.square(b));
  return {
    a: () => unbroadcast(tf.div(tf.mul(dy, b), r2()), a.shape),
    b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, a), r2())), b.shape),
  };
});
// The gradient goes to the selected argument; on a tie, to the first (a).
rule(tf.Minimum, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(tf.mul(dy, f32(tf.lessEqual(a, b))), a.shape),
  b: () => unbroadcast(tf.mul(dy, f32(tf.greater(a, b))), b.shape),
}));
rule(tf.Maximum, ["a", "b"], false, (dy, [a, b]) => ({
  a: () => unbroadcast(tf.mul(dy, f32(tf.greaterEqual(a, b))), a.shape),
  b: () => unbroadcast(tf.mul(dy, f32(tf.less(a, b))), b.shape),
}));

// --- matrices (dmci multiplies rank-2 operands only; no batch broadcasting here)
rule(tf.BatchMatMul, ["a", "b"], false, (dy, [a, b], { transposeA, transposeB }) => {
  const d = dy as tf.Tensor2D, x = a as tf.Tensor2D, y = b as tf.Tensor2D;
  if (!transposeA && !transposeB) {
    return {
      a: () => tf.matMul(d, y, false, true),
      b: () => tf.matMul(x, d, true, false),
    };
  }
  if (!transposeA) return { a: () => tf.matMul(d, y), b: () => tf.matMul(d, x, true, false) };
  if (!transposeB) return { a: () => tf.matMul(y, d, false, true), b: () => tf.matMul(x, d) };
  return { a: () => tf.matMul(y, d, true, true), b: () => tf.matMul(d, x, true, true) };
});
rule(tf.Transpose, [], false, (dy, _s, { perm }) => ({
  x: () => tf.transpose(dy, tf.backend_util.getUndoAxesPermutation(perm as number[])),
}));

// --- reductions and shape changes
function spread(dy: tf.Tensor, x: tf.Tensor, axis: unknown): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const kept = x.shape.slice();
  for (const ax of axes) kept[ax] = 1;
  return tf.mul(tf.reshape(dy, kept), tf.ones(x.shape, "float32"));
}
rule(tf.Sum, ["x"], false, (dy, [x], { axis }) => ({ x: () => spread(dy, x, axis) }));
rule(tf.Mean, ["x"], false, (dy, [x], { axis }) => ({
  x: () => {
    const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
    const n = axes.reduce((p, ax) => p * x.shape[ax], 1);
    return tf.div(spread(dy, x, axis), n);
  },
}));
rule(tf.Reshape, ["x"], false, (dy, [x]) => ({ x: () => tf.reshape(dy, x.shape) }));
// tf.stack of a single tensor runs ExpandDims instead of Pack.
rule(tf.ExpandDims, ["x"], false, (dy, [x]) => ({ x: () => tf.reshape(dy, x.shape) }));
rule(tf.Pack, [], false, (dy, _s, { axis }) => tf.unstack(dy, axis as number).map((t) => () => t));
rule(tf.Concat, "all", false, (dy, saved, { axis }) => {
  const ax = tf.util.parseAxisParam(axis as number, saved[0].shape)[0];
  return tf.split(dy, saved.map((t) => t.shape[ax]), ax).map((t) => () => t);
});
rule(tf.Slice, ["x"], false, (dy, [x], { begin, size }) => {
  const [b, s] = tf.slice_util.parseSliceParams(x, begin as number[], size as number[]);
  return { x: () => tf.pad(dy, x.shape.map((d, i) => [b[i], d - b[i] - s[i]] as [number, number])) };
});
rule(tf.PadV2, ["x"], false, (dy, [x], { paddings }) => ({
  x: () => tf.slice(dy, (paddings as [number, number][]).map((p) => p[0]), x.shape),
}));
