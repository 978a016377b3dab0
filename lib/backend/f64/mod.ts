/**
 * The f64 backend: float64 reverse-mode autodiff implementing the `Backend` interface. It
 * wires ops.ts and linalg.ts to the interface and owns the parameter boundary (leaves in,
 * gradients out); it must not hold tape state of its own: tape.ts does, and resets it in `finally`.
 */
import { DmciError } from "../../errors.ts";
import type {
  Backend,
  BinaryOp,
  Nested,
  ParamValue,
  StagedBody,
  StagedFunction,
  StageOptions,
  UnaryOp,
  ValueAndGrad,
} from "../backend.ts";
import { cholesky, logdet, solve } from "./linalg.ts";
import {
  binary,
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
  slice,
  stack,
  toNested,
  transpose,
  unary,
} from "./ops.ts";
import { leafGrads, paramConst, paramLeaf, scalarValue, seed } from "./params.ts";
import { backward, beginTape, endTape, isTracked, Node } from "./tape.ts";
import { elementsOf, type Recorder, recorder, type Redo, setRecorder } from "./trace/record.ts";
import { stageF64 } from "./trace/stage.ts";

/** Options of `createF64Backend`. */
export interface F64Options {
  /** Largest number of elements any tensor may have (default 10 000 000). */
  readonly maxTensorSize?: number;
}

/** The value of a number or one-element tensor, read without a guard. */
function scalarOf(op: string, x: unknown): number {
  if (typeof x === "number") return x;
  const n = asNode(op, x);
  if (n.data === null) return n.v;
  if (n.data.length === 1) return n.data[0];
  throw new DmciError("type", `${op}: expected a one-element tensor, got shape ${fmtShape(n.shape)}`);
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
  /** Notes `r = method(args)` in the active trace recording, if any; returns r. */
  const noted = (method: string, op: string, r: Node, args: readonly unknown[], redo: Redo): Node => {
    recorder?.op(method, op, r, args, redo);
    return r;
  };
  // One redo per elementwise op, not a closure per recorded call.
  const unaryRedo = new Map<string, Redo>(), binaryRedo = new Map<string, Redo>();
  const redoUnary = (op: UnaryOp): Redo => {
    let r = unaryRedo.get(op);
    if (r === undefined) unaryRedo.set(op, r = (a) => unary(op, a[0]));
    return r;
  };
  const redoRef: Redo = (a) => ref(a[0], a[1] as number[]);
  const redoBinary = (op: BinaryOp): Redo => {
    let r = binaryRedo.get(op);
    if (r === undefined) binaryRedo.set(op, r = (x) => binary(op, x[0], x[1], max));
    return r;
  };
  return {
    name: "f64",
    isTensor: (x: unknown): boolean => x instanceof Node,
    tensor: (data: Nested): unknown => fromNested(data, max),
    shape: (x: unknown): number[] => (typeof x === "number" ? [] : asNode("shape", x).shape.slice()),
    toNested(x: unknown): Nested {
      if (typeof x === "number") return x;
      const n = asNode("toNested", x);
      if (recorder !== null) recorder.guard(n, "toNested", elementsOf(n));
      return toNested(n);
    },
    toNumber(x: unknown): number {
      const v = scalarOf("toNumber", x);
      if (recorder !== null && x instanceof Node) recorder.guard(x, "toNumber", Float64Array.of(v));
      return v;
    },
    test(name: string, f: (a: number, b: number) => boolean, a: unknown, b?: unknown): boolean {
      const outcome = f(scalarOf("test", a), b === undefined ? 0 : scalarOf("test", b));
      if (recorder !== null) recorder.test(name, f, a, b ?? 0, outcome);
      return outcome;
    },
    unary(op: UnaryOp, x: unknown): unknown {
      const r = unary(op, x);
      return recorder === null ? r : noted("unary", op, r, [x], redoUnary(op));
    },
    binary(op: BinaryOp, a: unknown, b: unknown): unknown {
      const r = binary(op, a, b, max);
      return recorder === null ? r : noted("binary", op, r, [a, b], redoBinary(op));
    },
    matmul(a: unknown, b: unknown): unknown {
      const r = matmul(a, b, max);
      return recorder === null ? r : noted("matmul", "", r, [a, b], (x) => matmul(x[0], x[1], max));
    },
    transpose(a: unknown): unknown {
      const r = transpose(a);
      return recorder === null ? r : noted("transpose", "", r, [a], (x) => transpose(x[0]));
    },
    dot(a: unknown, b: unknown): unknown {
      const r = dot(a, b);
      return recorder === null ? r : noted("dot", "", r, [a, b], (x) => dot(x[0], x[1]));
    },
    outer(a: unknown, b: unknown): unknown {
      const r = outer(a, b, max);
      return recorder === null ? r : noted("outer", "", r, [a, b], (x) => outer(x[0], x[1], max));
    },
    sum(x: unknown, axis?: number): unknown {
      const r = reduce("sum", x, axis);
      return recorder === null ? r : noted("sum", "", r, [x], (a) => reduce("sum", a[0], axis));
    },
    mean(x: unknown, axis?: number): unknown {
      const r = reduce("mean", x, axis);
      return recorder === null ? r : noted("mean", "", r, [x], (a) => reduce("mean", a[0], axis));
    },
    reshape(x: unknown, shape: readonly number[]): unknown {
      const r = reshape(x, shape), to = shape.slice();
      return recorder === null ? r : noted("reshape", "", r, [x], (a) => reshape(a[0], to));
    },
    stack(xs: readonly unknown[], axis: number): unknown {
      const r = stack(xs, axis, max);
      return recorder === null ? r : noted("stack", "", r, [xs], (a) => stack(a[0] as unknown[], axis, max));
    },
    concat(xs: readonly unknown[], axis: number): unknown {
      const r = concat(xs, axis, max);
      return recorder === null
        ? r
        : noted("concat", "", r, [xs], (a) => concat(a[0] as unknown[], axis, max));
    },
    slice(x: unknown, begin: readonly number[], size: readonly number[]): unknown {
      const r = slice(x, begin, size), b = begin.slice(), s = size.slice();
      return recorder === null ? r : noted("slice", "", r, [x], (a) => slice(a[0], b, s));
    },
    diag(x: unknown): unknown {
      const r = diag(x, max);
      return recorder === null ? r : noted("diag", "", r, [x], (a) => diag(a[0], max));
    },
    ref(x: unknown, index: readonly number[]): unknown {
      const r = ref(x, index);
      // The index is an operand (plain numbers), so the scalar engine can read it.
      return recorder === null ? r : noted("ref", "", r, [x, index.slice()], redoRef);
    },
    eye: (n: number): unknown => eye(n, max),
    fill: (shape: readonly number[], value: number): unknown => fill(shape, value, max),
    cholesky(a: unknown): unknown {
      const r = cholesky(a);
      return recorder === null ? r : noted("cholesky", "", r, [a], (x) => cholesky(x[0]));
    },
    solve(a: unknown, b: unknown): unknown {
      const r = solve(a, b);
      return recorder === null ? r : noted("solve", "", r, [a, b], (x) => solve(x[0], x[1]));
    },
    logdet(a: unknown): unknown {
      const r = logdet(a);
      return recorder === null ? r : noted("logdet", "", r, [a], (x) => logdet(x[0]));
    },

    valueAndGrad(f: (params: unknown[]) => unknown, theta: readonly ParamValue[]): ValueAndGrad {
      const outer = untraceableScope("valueAndGrad");
      const saved = beginTape(true);
      try {
        const leaves = theta.map((p, i) => paramLeaf(p, i, max));
        const y = f(leaves), value = scalarValue(y);
        if (isTracked(y)) {
          seed(y);
          backward();
        }
        return { value, grad: leafGrads(leaves, theta) };
      } finally {
        endTape(saved);
        setRecorder(outer);
      }
    },

    run<T>(f: (params: unknown[]) => T, theta: readonly ParamValue[]): T {
      const outer = untraceableScope("run");
      const saved = beginTape(false);
      try {
        return f(theta.map((p, i) => paramConst(p, i, max)));
      } finally {
        endTape(saved);
        setRecorder(outer);
      }
    },

    stage: (f: StagedBody, options?: StageOptions): StagedFunction => stageF64(f, max, options),
  };
}

/**
 * A backend scope opened inside a traced function: its values would be baked into the trace,
 * so the recording is abandoned, and nothing inside is recorded. Returns the recorder to restore.
 */
function untraceableScope(what: string): Recorder | null {
  recorder?.poison(`the traced function opens a nested backend scope (${what})`);
  return setRecorder(null);
}

/** The f64 backend with the default tensor size limit. */
export const f64Backend: Backend = createF64Backend();
