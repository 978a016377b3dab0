/**
 * The `tfjs` backend: every Backend op on float32 tf.Tensors, differentiated by tfjs's
 * tape with the rules of gradients.ts (and custom-gradient linear algebra, linalg.ts).
 * It checks every argument itself so that errors are DmciErrors naming the op and the
 * culprit, and it must not leak tensors: valueAndGrad and run release all they make.
 */
import type {
  Backend,
  BinaryOp,
  Nested,
  ParamValue,
  StagedBody,
  StagedFunction,
  TensorData,
  UnaryOp,
  ValueAndGrad,
} from "../backend.ts";
import { stageUntraced } from "../stage_untraced.ts";
import { DmciError } from "../../errors.ts";
import { readyTfjsEngine, tf, type TfjsEngine, useTfjsEngine } from "./setup.ts";
import { choleskyOp, logdetOp, solveOp } from "./linalg.ts";
import "./gradients.ts";

export type { TfjsEngine };

/** Options of `createTfjsBackend`. */
export interface TfjsBackendOptions {
  /** Which tfjs kernels compute: `cpu` (default, plain JS) or `wasm` (XNNPACK, SIMD). */
  readonly engine?: TfjsEngine;
  /** The most elements any tensor an op makes may have; more is a `limit` error. */
  readonly maxTensorSize?: number;
}

/** The default bound on tensor sizes: 10⁷ float32 elements, 40 MB. */
export const DEFAULT_MAX_TENSOR_SIZE = 10_000_000;

/**
 * Makes a tfjs backend, loading the engine first (`wasm` needs an asynchronous start,
 * during which tfjs runs no op at all; `cpu` does not — see `createTfjsCpuBackend`).
 * Backends on different engines may be used alternately: each entry point switches.
 *
 * @example
 * ```ts
 * const be = await createTfjsBackend({ engine: "wasm" });
 * be.valueAndGrad(([a]) => be.unary("square", a), [3]); // { value: 9, grad: [6] }
 * ```
 */
export async function createTfjsBackend(opts: TfjsBackendOptions = {}): Promise<Backend> {
  const engine = opts.engine ?? "cpu";
  await readyTfjsEngine(engine);
  return makeBackend(engine, opts.maxTensorSize ?? DEFAULT_MAX_TENSOR_SIZE);
}

/**
 * Makes a tfjs backend on the `cpu` engine, synchronously.
 *
 * @example
 * ```ts
 * const be = createTfjsCpuBackend({ maxTensorSize: 1000 });
 * be.toNested(be.eye(2)); // [[1, 0], [0, 1]]
 * ```
 */
export function createTfjsCpuBackend(opts: { readonly maxTensorSize?: number } = {}): Backend {
  return makeBackend("cpu", opts.maxTensorSize ?? DEFAULT_MAX_TENSOR_SIZE);
}

/**
 * The default backend: tfjs on `cpu` with the default size limit. Making it touches no
 * tfjs state; the engine is selected when one of its entry points is first used.
 *
 * @example
 * ```ts
 * tfjsBackend.run(([k]) => tfjsBackend.toNumber(tfjsBackend.binary("mul", k, 2)), [1.5]); // 3
 * ```
 */
export const tfjsBackend: Backend = createTfjsCpuBackend();

// ---------------------------------------------------------------------------------
// argument checking

const fmt = (shape: readonly number[]): string => `[${shape.join(",")}]`;

function describe(x: unknown): string {
  if (x instanceof tf.Tensor) return `a tensor of shape ${fmt(x.shape)}`;
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") return "an object";
  return `a ${typeof x} (${String(x)})`;
}

function typeError(message: string): never {
  throw new DmciError("type", message);
}

function isIndex(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0;
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** NumPy broadcast of two shapes, or a type error naming `op`. */
function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      typeError(`${op}: shapes do not broadcast: ${fmt(a)} and ${fmt(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Row-major elements and shape of a rectangular nested array of numbers, or a type error. */
function flattenNested(data: Nested): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let d: Nested = data; Array.isArray(d); d = d[0]) {
    shape.push(d.length);
    if (d.length === 0) break;
  }
  const values: number[] = [];
  const walk = (d: Nested, depth: number): void => {
    if (depth === shape.length) {
      if (typeof d !== "number") typeError(`tensor: expected a number at depth ${depth}, got ${describe(d)}`);
      values.push(d);
      return;
    }
    if (!Array.isArray(d) || d.length !== shape[depth]) {
      typeError(`tensor: the data is not rectangular: expected ${shape[depth]} elements at depth ${depth}`);
    }
    for (const e of d) walk(e, depth + 1);
  };
  walk(data, 0);
  return { values, shape };
}

const UNARY: Record<UnaryOp, (x: tf.Tensor) => tf.Tensor> = {
  neg: (x) => tf.neg(x),
  abs: (x) => tf.abs(x), // gradient sign(x), 0 at 0 (gradients.ts)
  exp: (x) => tf.exp(x),
  log: (x) => tf.log(x),
  sqrt: (x) => tf.sqrt(x),
  square: (x) => tf.square(x),
  sin: (x) => tf.sin(x),
  cos: (x) => tf.cos(x),
  tan: (x) => tf.tan(x),
  asin: (x) => tf.asin(x),
  acos: (x) => tf.acos(x),
  atan: (x) => tf.atan(x),
  tanh: (x) => tf.tanh(x),
  // tfjs's sigmoid is 1/(1+e^-x) (0 and 1 at ∓1000, no NaN), and its softplus switches
  // to x or e^x beyond float32's range; both gradients (y(1−y) and sigmoid) are stable.
  // Checked on both engines at ±100 and ±1000 by the tests.
  sigmoid: (x) => tf.sigmoid(x),
  softplus: (x) => tf.softplus(x),
  relu: (x) => tf.relu(x), // gradient step(x): 0 at 0
  log1p: (x) => tf.log1p(x),
  expm1: (x) => tf.expm1(x),
  // Zero gradients (gradients.ts); tfjs's round is half to even on both engines.
  floor: (x) => tf.floor(x),
  ceil: (x) => tf.ceil(x),
  round: (x) => tf.round(x),
  // sign(x)·floor(|x|): both factors have zero gradient, so trunc has too.
  trunc: (x) => tf.mul(tf.sign(x), tf.floor(tf.abs(x))),
};

const BINARY: Record<BinaryOp, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  // d/da = b·a^(b−1); d/db = a^b·log a where a > 0, else 0 (gradients.ts).
  pow: (a, b) => tf.pow(a, b),
  atan2: (a, b) => tf.atan2(a, b),
  // On a tie the gradient goes to the first argument a (gradients.ts).
  min: (a, b) => tf.minimum(a, b),
  max: (a, b) => tf.maximum(a, b),
};

// ---------------------------------------------------------------------------------
// the backend

function makeBackend(engine: TfjsEngine, maxTensorSize: number): Backend {
  const use = (): void => useTfjsEngine(engine);

  /** A tensor from a number or tensor argument of `op`; numbers become float32 scalars. */
  const lift = (op: string, x: unknown): tf.Tensor => {
    if (x instanceof tf.Tensor) return x;
    if (typeof x === "number") return tf.scalar(x, "float32");
    return typeError(`${op}: expected a number or a tensor, got ${describe(x)}`);
  };

  const checkSize = (op: string, shape: readonly number[]): void => {
    const n = sizeOf(shape);
    if (n > maxTensorSize) {
      const what = `a tensor of shape ${fmt(shape)} would have ${n} elements`;
      throw new DmciError("limit", `${op}: ${what}, more than the limit of ${maxTensorSize}`);
    }
  };

  const checkShape = (op: string, shape: readonly number[]): number[] => {
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      typeError(`${op}: a shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    return shape.slice();
  };

  const checkAxis = (op: string, axis: unknown, rank: number, shape: readonly number[]): number => {
    if (!isIndex(axis) || axis >= rank) {
      typeError(`${op}: axis ${String(axis)} is out of range for shape ${fmt(shape)}`);
    }
    return axis;
  };

  // Ops called outside any tfjs scope would leave their intermediates (and lifted
  // numbers) alive for ever; inside valueAndGrad/run a scope is always active, so the
  // extra tidy is only paid at top level.
  const scoped = <T extends tf.Tensor>(f: () => T): T => tf.engine().state.activeScope ? f() : tf.tidy(f);

  const square = (op: string, a: tf.Tensor): number => {
    if (a.rank !== 2 || a.shape[0] !== a.shape[1]) {
      typeError(`${op}: expected a square matrix, got shape ${fmt(a.shape)}`);
    }
    return a.shape[0];
  };

  const toParam = (p: ParamValue, i: number): tf.Tensor => {
    if (typeof p === "number") return tf.scalar(p, "float32");
    if (p && Array.isArray(p.shape) && p.data instanceof Float64Array) {
      const shape = checkShape("parameters", p.shape);
      if (sizeOf(shape) !== p.data.length) {
        typeError(`parameters: parameter ${i} has shape ${fmt(shape)} but ${p.data.length} elements`);
      }
      return tf.tensor(Float32Array.from(p.data), shape, "float32");
    }
    return typeError(`parameters: parameter ${i} must be a number or tensor data, got ${describe(p)}`);
  };

  /** f's value as a rank-0 tensor, or the type error valueAndGrad promises. */
  const scalarValue = (y: unknown): tf.Scalar => {
    if (typeof y === "number") return tf.scalar(y, "float32");
    if (y instanceof tf.Tensor && y.size === 1) return (y.rank === 0 ? y : tf.reshape(y, [])) as tf.Scalar;
    return typeError(`value-and-gradient: the program's value must be a real scalar, got ${describe(y)}`);
  };

  const be: Backend = {
    name: engine === "wasm" ? "tfjs-wasm" : "tfjs",

    isTensor: (x) => x instanceof tf.Tensor,

    tensor(data) {
      use();
      if (typeof data === "number") return tf.scalar(data, "float32");
      const { values, shape } = flattenNested(data);
      checkSize("tensor", shape);
      return tf.tensor(Float32Array.from(values), shape, "float32");
    },

    shape(x) {
      if (typeof x === "number") return [];
      if (x instanceof tf.Tensor) return x.shape.slice();
      return typeError(`shape: expected a number or a tensor, got ${describe(x)}`);
    },

    toNested(x) {
      if (typeof x === "number") return x;
      if (x instanceof tf.Tensor) return x.arraySync() as Nested;
      return typeError(`toNested: expected a number or a tensor, got ${describe(x)}`);
    },

    toNumber(x) {
      if (typeof x === "number") return x;
      if (x instanceof tf.Tensor && x.size === 1) return x.dataSync()[0];
      return typeError(`toNumber: expected a one-element tensor, got ${describe(x)}`);
    },

    unary(op, x) {
      const f = UNARY[op];
      if (!f) typeError(`unary: unknown operation ${String(op)}`);
      return scoped(() => f(lift(op, x)));
    },

    binary(op, a, b) {
      const f = BINARY[op];
      if (!f) typeError(`binary: unknown operation ${String(op)}`);
      return scoped(() => {
        const ta = lift(op, a);
        const tb = lift(op, b);
        checkSize(op, broadcastShape(op, ta.shape, tb.shape));
        return f(ta, tb);
      });
    },

    matmul(a, b) {
      return scoped(() => {
        const ta = lift("matmul", a);
        const tb = lift("matmul", b);
        if (ta.rank < 1 || ta.rank > 2 || tb.rank < 1 || tb.rank > 2) {
          typeError(`matmul: expected vectors or matrices, got shapes ${fmt(ta.shape)} × ${fmt(tb.shape)}`);
        }
        // NumPy: a vector on the left is a row, on the right a column; that axis is dropped after.
        const a2 = ta.rank === 1 ? tf.reshape(ta, [1, ta.shape[0]]) : ta;
        const b2 = tb.rank === 1 ? tf.reshape(tb, [tb.shape[0], 1]) : tb;
        if (a2.shape[1] !== b2.shape[0]) {
          typeError(`matmul: inner dimensions differ: ${fmt(ta.shape)} × ${fmt(tb.shape)}`);
        }
        const m = (a2.shape as number[])[0], n = (b2.shape as number[])[1];
        checkSize("matmul", [m, n]);
        const c = tf.matMul(a2 as tf.Tensor2D, b2 as tf.Tensor2D);
        if (ta.rank === 2 && tb.rank === 2) return c;
        return tf.reshape(c, ta.rank === 1 ? (tb.rank === 1 ? [] : [n]) : [m]);
      });
    },

    transpose(a) {
      return scoped(() => {
        const t = lift("transpose", a);
        if (t.rank <= 1) return t;
        if (t.rank > 2) typeError(`transpose: expected a vector or a matrix, got shape ${fmt(t.shape)}`);
        return tf.transpose(t);
      });
    },

    dot(a, b) {
      return scoped(() => {
        const ta = lift("dot", a);
        const tb = lift("dot", b);
        if (ta.rank !== 1 || tb.rank !== 1 || ta.shape[0] !== tb.shape[0]) {
          typeError(
            `dot: expected two vectors of equal length, got shapes ${fmt(ta.shape)} and ${fmt(tb.shape)}`,
          );
        }
        return tf.sum(tf.mul(ta, tb));
      });
    },

    outer(a, b) {
      return scoped(() => {
        const ta = lift("outer", a);
        const tb = lift("outer", b);
        if (ta.rank !== 1 || tb.rank !== 1) {
          typeError(`outer: expected two vectors, got shapes ${fmt(ta.shape)} and ${fmt(tb.shape)}`);
        }
        const m = ta.shape[0], n = tb.shape[0];
        checkSize("outer", [m, n]);
        return tf.mul(tf.reshape(ta, [m, 1]), tf.reshape(tb, [1, n]));
      });
    },

    sum(x, axis) {
      return scoped(() => {
        const t = lift("sum", x);
        if (axis === undefined) return tf.sum(t);
        return tf.sum(t, checkAxis("sum", axis, t.rank, t.shape));
      });
    },

    mean(x, axis) {
      return scoped(() => {
        const t = lift("mean", x);
        if (axis === undefined) return tf.mean(t);
        return tf.mean(t, checkAxis("mean", axis, t.rank, t.shape));
      });
    },

    reshape(x, shape) {
      return scoped(() => {
        const t = lift("reshape", x);
        const s = checkShape("reshape", shape);
        if (sizeOf(s) !== t.size) {
          typeError(
            `reshape: cannot reshape ${fmt(t.shape)} (${t.size} elements) to ${fmt(s)} (${
              sizeOf(s)
            } elements)`,
          );
        }
        return tf.reshape(t, s);
      });
    },

    stack(xs, axis) {
      return scoped(() => {
        if (!Array.isArray(xs) || xs.length === 0) typeError("stack: expected at least one tensor");
        const ts = xs.map((x) => lift("stack", x));
        const s0 = ts[0].shape;
        for (const t of ts) {
          if (t.rank !== s0.length || t.shape.some((d, i) => d !== s0[i])) {
            typeError(`stack: shapes differ: ${fmt(s0)} and ${fmt(t.shape)}`);
          }
        }
        if (!isIndex(axis) || axis > s0.length) {
          typeError(`stack: axis ${axis} is out of range for shape ${fmt(s0)}`);
        }
        const out = [...s0.slice(0, axis), ts.length, ...s0.slice(axis)];
        checkSize("stack", out);
        return tf.stack(ts, axis);
      });
    },

    concat(xs, axis) {
      return scoped(() => {
        if (!Array.isArray(xs) || xs.length === 0) typeError("concat: expected at least one tensor");
        const ts = xs.map((x) => lift("concat", x));
        const s0 = ts[0].shape;
        if (s0.length === 0) typeError("concat: cannot concatenate scalars (use stack)");
        checkAxis("concat", axis, s0.length, s0);
        let total = 0;
        for (const t of ts) {
          if (t.rank !== s0.length || t.shape.some((d, i) => i !== axis && d !== s0[i])) {
            typeError(`concat: shapes differ off axis ${axis}: ${fmt(s0)} and ${fmt(t.shape)}`);
          }
          total += t.shape[axis];
        }
        const out = s0.slice();
        out[axis] = total;
        checkSize("concat", out);
        return ts.length === 1 ? ts[0] : tf.concat(ts, axis);
      });
    },

    slice(x, begin, size) {
      return scoped(() => {
        const t = lift("slice", x);
        const bad = (why: string): never =>
          typeError(`slice: ${why}: begin ${fmt(begin)}, size ${fmt(size)} for shape ${fmt(t.shape)}`);
        if (begin.length !== t.rank || size.length !== t.rank) {
          bad("expected one begin and one size per axis");
        }
        const sz = t.shape.map((d, i) => {
          const b = begin[i], s = size[i];
          if (!isIndex(b) || b > d) bad(`begin is out of range on axis ${i}`);
          if (s === -1) return d - b;
          if (!isIndex(s) || b + s > d) bad(`size is out of range on axis ${i}`);
          return s;
        });
        return tf.slice(t, begin.slice(), sz);
      });
    },

    diag(x) {
      return scoped(() => {
        const t = lift("diag", x);
        // Both directions pad with zeros and reshape, so that the diagonal element i*(n+1)
        // of the flattened matrix moves exactly (no multiplication by an identity, which
        // would turn an infinite entry into NaNs off the diagonal); all these ops have
        // tfjs gradients.
        if (t.rank === 1) {
          const n = t.shape[0];
          checkSize("diag", [n, n]);
          if (n === 0) return tf.zeros([0, 0], "float32");
          const rows = tf.pad(tf.reshape(t, [n, 1]), [[0, 0], [0, n]]); // [n, n+1], x_i then zeros
          return tf.reshape(tf.slice(tf.reshape(rows, [n * (n + 1)]), [0], [n * n]), [n, n]);
        }
        if (t.rank === 2) {
          const n = square("diag", t);
          if (n === 0) return tf.zeros([0], "float32");
          const flat = tf.pad(tf.reshape(t, [n * n]), [[0, n]]); // [n(n+1)]
          return tf.reshape(tf.slice(tf.reshape(flat, [n, n + 1]), [0, 0], [n, 1]), [n]);
        }
        return typeError(`diag: expected a vector or a square matrix, got shape ${fmt(t.shape)}`);
      });
    },

    ref(x, index) {
      return scoped(() => {
        const t = lift("ref", x);
        if (
          !Array.isArray(index) || index.length !== t.rank ||
          index.some((v, i) => !isIndex(v) || v >= t.shape[i])
        ) {
          typeError(`ref: index ${JSON.stringify(index)} is out of range for shape ${fmt(t.shape)}`);
        }
        if (t.rank === 0) return t;
        return tf.reshape(tf.slice(t, index.slice(), index.map(() => 1)), []);
      });
    },

    eye(n) {
      use();
      if (!isIndex(n)) typeError(`eye: expected a non-negative integer size, got ${describe(n)}`);
      checkSize("eye", [n, n]);
      return tf.eye(n, n, undefined, "float32");
    },

    fill(shape, value) {
      use();
      const s = checkShape("fill", shape);
      if (typeof value !== "number") {
        typeError(`fill: expected a number to fill with, got ${describe(value)}`);
      }
      checkSize("fill", s);
      return tf.fill(s, value, "float32");
    },

    cholesky(a) {
      return scoped(() => {
        const t = lift("cholesky", a);
        square("cholesky", t);
        return choleskyOp(t);
      });
    },

    solve(a, b) {
      return scoped(() => {
        const ta = lift("solve", a);
        const tb = lift("solve", b);
        const n = square("solve", ta);
        if (tb.rank < 1 || tb.rank > 2 || tb.shape[0] !== n) {
          typeError(`solve: the right-hand side must have ${n} rows: ${fmt(ta.shape)} and ${fmt(tb.shape)}`);
        }
        return solveOp(ta, tb);
      });
    },

    logdet(a) {
      return scoped(() => {
        const t = lift("logdet", a);
        square("logdet", t);
        return logdetOp(t);
      });
    },

    valueAndGrad(f, theta): ValueAndGrad {
      use();
      const eng = tf.engine();
      eng.startScope("dmci-value-and-grad");
      try {
        const params = theta.map(toParam);
        if (params.length === 0) return { value: scalarValue(f([])).dataSync()[0], grad: [] };
        // allowNoGradients: a parameter the value does not depend on gets `undefined`
        // (read as zero) instead of tf.grads's "Cannot compute gradient" error.
        const { value, grads } = eng.gradients(() => scalarValue(f(params)), params, undefined, true);
        const grad: ParamValue[] = theta.map((p, i): ParamValue => {
          const g = grads[i] as tf.Tensor | undefined;
          if (typeof p === "number") return g ? g.dataSync()[0] : 0;
          const data = g ? Float64Array.from(g.dataSync()) : new Float64Array(p.data.length);
          return { shape: p.shape.slice(), data } satisfies TensorData;
        });
        return { value: value.dataSync()[0], grad };
      } catch (e) {
        dropTape();
        throw e;
      } finally {
        eng.endScope();
      }
    },

    run<T>(f: (params: unknown[]) => T, theta: readonly ParamValue[]): T {
      use();
      const eng = tf.engine();
      eng.startScope("dmci-run");
      try {
        return f(theta.map((p, i) => (typeof p === "number" ? p : toParam(p, i))));
      } finally {
        // No result is exempted from disposal: f returns plain data (by contract), and a
        // tensor smuggled out would fail loudly on first use instead of leaking.
        eng.endScope();
      }
    },

    test: (_name: string, f: (a: number, b: number) => boolean, a: unknown, b?: unknown): boolean =>
      f(be.toNumber(a), b === undefined ? 0 : be.toNumber(b)),

    stage: (f: StagedBody): StagedFunction => stageUntraced(be, f, "tracing is f64 only"),
  };
  return be;
}

/**
 * After a throw inside `engine.gradients`, the tape still holds the tensors kept for
 * the backward pass (tfjs frees them only on success); free them and drop the tape.
 */
function dropTape(): void {
  const state = tf.engine().state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null as unknown as typeof state.activeTape;
}
