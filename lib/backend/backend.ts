/**
 * The one interface every numeric backend implements. The compiler's primitives call
 * these functions only when an argument is a backend tensor; plain JS numbers never
 * reach a backend (they are computed with Math.* by the primitive table), which keeps
 * loop counters and constants off the autograd tape.
 *
 * A backend value ("tensor") is anything `isTensor` accepts: a tfjs Tensor, or an f64
 * tape node. A tensor may be rank 0 (a scalar that depends on a parameter) or higher.
 * Every op accepts plain JS numbers wherever it accepts tensors, and returns a tensor.
 * Elementwise binary ops broadcast with NumPy rules.
 */

/** A number or nested arrays of numbers (a rectangular tensor literal). */
export type Nested = number | Nested[];

/** A parameter vector entry: a scalar, or a tensor (for batched restarts). */
export type ParamValue = number | TensorData;

/** A float64 tensor as plain data: row-major elements and shape. */
export interface TensorData {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** Elementwise unary operations. */
export type UnaryOp =
  | "neg"
  | "abs"
  | "exp"
  | "log"
  | "sqrt"
  | "square"
  | "sin"
  | "cos"
  | "tan"
  | "asin"
  | "acos"
  | "atan"
  | "tanh"
  | "sigmoid"
  | "softplus"
  | "relu"
  | "log1p"
  | "expm1"
  | "floor"
  | "ceil"
  | "round" // round half to even, as R7RS `round`
  | "trunc";

/** Elementwise binary operations (broadcasting). `pow` is a**b; `atan2` is atan(a, b) = angle of (b, a). */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "pow" | "atan2" | "min" | "max";

/** The result of `valueAndGrad`. `grad[i]` has the shape of `theta[i]`. */
export interface ValueAndGrad {
  readonly value: number;
  readonly grad: ParamValue[];
}

/**
 * What a staged function computes from the parameters (and the call's data inputs, as constant
 * backend tensors in the order given): its value and, optionally, an auxiliary tensor.
 */
export type StagedBody = (
  params: unknown[],
  data: unknown[],
) => { readonly value: unknown; readonly aux?: unknown };

/** The result of a staged function: value, gradient, and the auxiliary output's elements (or null). */
export interface StagedResult extends ValueAndGrad {
  readonly aux: Float64Array | null;
}

/** How a staged function has run so far (for tests, benchmarks and `--verbose`). */
export interface StageStats {
  /** Untraced runs that recorded a trace (the first call, and each call whose guards all failed). */
  readonly recordings: number;
  /** Calls answered by replaying a trace. */
  readonly replays: number;
  /** Replays abandoned because a guard observed a different value (each followed by another trace or a recording). */
  readonly guardFailures: number;
  /** Traces kept now. */
  readonly traces: number;
  /** Why the function runs untraced (null while tracing is on). */
  readonly untraced: string | null;
  /** The replay engine of the most recent trace (`js`, `ops`, `nodes`), or "" before the first. */
  readonly engine: string;
  /** Ops and guards in the most recent trace (0 before the first). */
  readonly entries: number;
  /** Loops found in the most recent trace (rerolled repeated runs of entries; 0 for other engines). */
  readonly loops: number;
}

/** Options of `Backend.stage`. */
export interface StageOptions {
  /** Record and replay traces (default true; f64 only: other backends always run untraced). */
  readonly trace?: boolean;
  /** Most ops and guards a trace may hold (f64 default 2 000 000); a longer run stays untraced. */
  readonly traceLimit?: number;
}

/**
 * A function of the parameters prepared for many calls with the same program and data: on f64
 * it is traced (recorded once, replayed compiled, re-recorded where a guard fails); elsewhere
 * each call is an ordinary `valueAndGrad` / `run`. Either way the results are the untraced ones.
 */
export interface StagedFunction {
  /**
   * Value, gradient and auxiliary output at θ, on this call's data inputs (constants, no
   * gradient; default none). On f64 the data are inputs of the trace, not constants baked into
   * it: a trace recorded on one data set serves every data set of the same shapes, except where
   * the program reads the data's values as plain numbers (`tensor->list`, a comparison), which
   * is a guard like any other, so other values re-record.
   */
  valueAndGrad(theta: readonly ParamValue[], data?: readonly TensorData[]): StagedResult;
  /** Value and auxiliary output at θ, without a gradient (a forward-only replay when traced). */
  forward(
    theta: readonly ParamValue[],
    data?: readonly TensorData[],
  ): { readonly value: number; readonly aux: Float64Array | null };
  /** What has happened so far. */
  stats(): StageStats;
}

/** A numeric backend. See the module comment for the value conventions. */
export interface Backend {
  /** `tfjs` or `f64`. */
  readonly name: string;
  /** True when x is a value of this backend (not a plain JS number). */
  isTensor(x: unknown): boolean;

  /** A constant tensor (no gradient flows into it) from a number or nested arrays. */
  tensor(data: Nested): unknown;
  /** Shape of a tensor; `[]` for rank 0. */
  shape(x: unknown): number[];
  /** The elements of a tensor: a number for rank 0, else nested arrays. */
  toNested(x: unknown): Nested;
  /** The value of a tensor with exactly one element, as a JS number. */
  toNumber(x: unknown): number;

  /**
   * A plain test of one or two real scalars (numbers or one-element tensors): `f(a, b)` on
   * their values (b is 0 when absent). This is how comparisons and predicates observe a
   * parameter-dependent number; a traced run keeps the outcome as a guard.
   */
  test(name: string, f: (a: number, b: number) => boolean, a: unknown, b?: unknown): boolean;

  /** Elementwise unary op. */
  unary(op: UnaryOp, x: unknown): unknown;
  /** Elementwise binary op with broadcasting. */
  binary(op: BinaryOp, a: unknown, b: unknown): unknown;

  /** Matrix product of rank-2 tensors ([m,k]×[k,n]); a rank-1 operand is a row/column vector as NumPy does. */
  matmul(a: unknown, b: unknown): unknown;
  /** Transpose of a rank-2 tensor (rank ≤ 1 unchanged). */
  transpose(a: unknown): unknown;
  /** Inner product of two rank-1 tensors of equal length: a scalar. */
  dot(a: unknown, b: unknown): unknown;
  /** Outer product of two rank-1 tensors: [m]×[n] → [m,n]. */
  outer(a: unknown, b: unknown): unknown;
  /** Sum of all elements (axis undefined) or along one axis (removed). */
  sum(x: unknown, axis?: number): unknown;
  /** Mean of all elements or along one axis. */
  mean(x: unknown, axis?: number): unknown;
  /** Same elements, new shape (sizes must match). */
  reshape(x: unknown, shape: readonly number[]): unknown;
  /** Stack tensors/numbers of equal shape along a new axis. */
  stack(xs: readonly unknown[], axis: number): unknown;
  /** Concatenate tensors along an existing axis. */
  concat(xs: readonly unknown[], axis: number): unknown;
  /** The sub-tensor starting at `begin` with extent `size` (size -1: to the end). */
  slice(x: unknown, begin: readonly number[], size: readonly number[]): unknown;
  /** Rank 1 → diagonal matrix; rank 2 (square) → its diagonal. */
  diag(x: unknown): unknown;
  /** One element as a rank-0 tensor; `index` has one entry per axis. Gradient flows. */
  ref(x: unknown, index: readonly number[]): unknown;
  /** Identity matrix n×n (constant). */
  eye(n: number): unknown;
  /** Constant tensor of zeros / ones of a shape. */
  fill(shape: readonly number[], value: number): unknown;

  /** Lower-triangular L with L Lᵀ = A for symmetric positive-definite A; gradient flows. */
  cholesky(a: unknown): unknown;
  /** x with A x = b (b a vector or matrix), for square A, stable (LU with pivoting or Cholesky); gradient flows to A and b. */
  solve(a: unknown, b: unknown): unknown;
  /** log|det A| for symmetric positive-definite A (via Cholesky); gradient flows. */
  logdet(a: unknown): unknown;

  /**
   * Runs `f` with the parameters as tracked leaves and returns f's value (which must
   * be a scalar: a number or a one-element tensor) and its gradient w.r.t. each
   * parameter. If the value does not depend on a parameter, that gradient is zero.
   * All tensors made during the call are released before it returns.
   */
  valueAndGrad(f: (params: unknown[]) => unknown, theta: readonly ParamValue[]): ValueAndGrad;

  /**
   * Runs `f` in a scope: the parameters enter as constants (scalars as plain JS
   * numbers, tensors as constant tensors), and every tensor made inside is released
   * when `f` returns, so `f` must turn what it keeps into plain JS data itself.
   */
  run<T>(f: (params: unknown[]) => T, theta: readonly ParamValue[]): T;

  /**
   * Prepares `f` for repeated calls with different parameters (same shapes), as in an
   * optimizer loop. `f` must depend on nothing but its parameters (its program and data fixed).
   */
  stage(f: StagedBody, options?: StageOptions): StagedFunction;
}
