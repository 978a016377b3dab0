/**
 * The f64 backend: float64 reverse-mode autodiff implementing the `Backend` interface. It
 * wires ops.ts and linalg.ts to the interface and owns the parameter boundary (leaves in,
 * gradients out); it must not hold tape state of its own: tape.ts does, and resets it in `finally`.
 */
import { DmciError } from "../../errors.ts";
import type { Backend, BinaryOp, Nested, ParamValue, TensorData, UnaryOp, ValueAndGrad } from "../backend.ts";
import { cholesky, logdet, solve } from "./linalg.ts";
import {
  binary,
  checkSize,
  concat,
  describe,
  diag,
  dot,
  eye,
  fill,
  fmtShape,
  fromNested,
  matmul,
  outer,
  reduce,
  ref,
  reshape,
  shapeArg,
  sizeOf,
  slice,
  stack,
  toNested,
  transpose,
  unary,
} from "./ops.ts";
import { backward, beginTape, endTape, isTracked, leaf, Node, SCALAR, tensorConst } from "./tape.ts";

/** Options of `createF64Backend`. */
export interface F64Options {
  /** Largest number of elements any tensor may have (default 10 000 000). */
  readonly maxTensorSize?: number;
}

/** Checks a tensor parameter (shape, element count, size limit) and returns its shape. */
function paramShape(p: TensorData, i: number, max: number): number[] {
  const shape = shapeArg(`parameter ${i}`, p.shape);
  checkSize(`parameter ${i}`, shape, max);
  if (!(p.data instanceof Float64Array) || p.data.length !== sizeOf(shape)) {
    throw new DmciError(
      "type",
      `parameter ${i}: shape ${fmtShape(shape)} needs ${sizeOf(shape)} elements, got ${
        p.data instanceof Float64Array ? p.data.length : describe(p.data)
      }`,
    );
  }
  return shape;
}

/** A parameter as a leaf of the active tape (data copied: the caller may reuse its buffer). */
function paramLeaf(p: ParamValue, i: number, max: number): Node {
  if (typeof p === "number") return leaf(SCALAR, p, null);
  const shape = paramShape(p, i, max);
  return shape.length === 0 ? leaf(SCALAR, p.data[0], null) : leaf(shape, 0, p.data.slice());
}

/** The value of f's result as a number, or the type error the interface prescribes. */
function scalarValue(y: unknown): number {
  if (typeof y === "number") return y;
  if (y instanceof Node) {
    if (y.data === null) return y.v;
    if (y.data.length === 1) return y.data[0];
  }
  throw new DmciError(
    "type",
    `value-and-gradient: the program's value must be a real scalar, got ${describe(y)}`,
  );
}

function asNode(op: string, x: unknown): Node {
  if (x instanceof Node) return x;
  throw new DmciError("type", `${op}: expected a tensor, got ${describe(x)}`);
}

/**
 * Makes an f64 backend whose ops refuse to build tensors of more than `maxTensorSize`
 * elements (DmciError "limit"). All instances share one tape stack, which is safe because
 * tapes are identified by id and nest.
 */
export function createF64Backend(opts: F64Options = {}): Backend {
  const max = opts.maxTensorSize ?? 10_000_000;
  return {
    name: "f64",
    isTensor: (x: unknown): boolean => x instanceof Node,
    tensor: (data: Nested): unknown => fromNested(data, max),
    shape: (x: unknown): number[] => (typeof x === "number" ? [] : asNode("shape", x).shape.slice()),
    toNested: (x: unknown): Nested => (typeof x === "number" ? x : toNested(asNode("toNested", x))),
    toNumber(x: unknown): number {
      if (typeof x === "number") return x;
      const n = asNode("toNumber", x);
      if (n.data === null) return n.v;
      if (n.data.length === 1) return n.data[0];
      throw new DmciError("type", `toNumber: expected a one-element tensor, got shape ${fmtShape(n.shape)}`);
    },
    unary: (op: UnaryOp, x: unknown): unknown => unary(op, x),
    binary: (op: BinaryOp, a: unknown, b: unknown): unknown => binary(op, a, b, max),
    matmul: (a: unknown, b: unknown): unknown => matmul(a, b, max),
    transpose: (a: unknown): unknown => transpose(a),
    dot: (a: unknown, b: unknown): unknown => dot(a, b),
    outer: (a: unknown, b: unknown): unknown => outer(a, b, max),
    sum: (x: unknown, axis?: number): unknown => reduce("sum", x, axis),
    mean: (x: unknown, axis?: number): unknown => reduce("mean", x, axis),
    reshape: (x: unknown, shape: readonly number[]): unknown => reshape(x, shape),
    stack: (xs: readonly unknown[], axis: number): unknown => stack(xs, axis, max),
    concat: (xs: readonly unknown[], axis: number): unknown => concat(xs, axis, max),
    slice: (x: unknown, begin: readonly number[], size: readonly number[]): unknown => slice(x, begin, size),
    diag: (x: unknown): unknown => diag(x, max),
    ref: (x: unknown, index: readonly number[]): unknown => ref(x, index),
    eye: (n: number): unknown => eye(n, max),
    fill: (shape: readonly number[], value: number): unknown => fill(shape, value, max),
    cholesky: (a: unknown): unknown => cholesky(a),
    solve: (a: unknown, b: unknown): unknown => solve(a, b),
    logdet: (a: unknown): unknown => logdet(a),

    valueAndGrad(f: (params: unknown[]) => unknown, theta: readonly ParamValue[]): ValueAndGrad {
      const saved = beginTape(true);
      try {
        const leaves = theta.map((p, i) => paramLeaf(p, i, max));
        const y = f(leaves), value = scalarValue(y);
        if (isTracked(y)) {
          if (y.data === null) y.g = 1;
          else y.gd = Float64Array.of(1);
          backward();
        }
        const grad = leaves.map((l, i): ParamValue => {
          const p = theta[i];
          if (typeof p === "number") return l.g;
          if (l.data === null) return { shape: [], data: Float64Array.of(l.g) };
          return { shape: l.shape.slice(), data: l.gd ?? new Float64Array(l.data.length) };
        });
        return { value, grad };
      } finally {
        endTape(saved);
      }
    },

    run<T>(f: (params: unknown[]) => T, theta: readonly ParamValue[]): T {
      const saved = beginTape(false);
      try {
        const params = theta.map((p, i): unknown => {
          if (typeof p === "number") return p;
          const shape = paramShape(p, i, max);
          return shape.length === 0 ? p.data[0] : tensorConst(shape, p.data.slice());
        });
        return f(params);
      } finally {
        endTape(saved);
      }
    },
  };
}

/** The f64 backend with the default tensor size limit. */
export const f64Backend: Backend = createF64Backend();
