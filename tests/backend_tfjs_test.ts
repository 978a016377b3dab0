// Tests of the tfjs backend (lib/backend/tfjs/): every op's value against a closed form
// and its gradient against float64 central differences computed in plain JS, on both
// tfjs engines (cpu and wasm); errors; stability; tensor leaks; silence of tfjs.
import assert from "node:assert/strict";
import type { Backend, BinaryOp, ParamValue, TensorData, UnaryOp } from "../lib/backend/backend.ts";
import { DmciError } from "../lib/errors.ts";
import { createTfjsBackend, createTfjsCpuBackend, tfjsBackend } from "../lib/backend/tfjs/mod.ts";
import { tf } from "../lib/backend/tfjs/setup.ts";

const ENGINES = ["cpu", "wasm"] as const;
// The wasm engine is started before any test: while it initialises, tfjs refuses every op.
const backends: Record<string, Backend> = {
  cpu: createTfjsCpuBackend(),
  wasm: await createTfjsBackend({ engine: "wasm" }),
};
/** -0 → 0, so that deepEqual (Object.is) compares numbers as `===` does. */
const noNegZero = (xs: readonly number[]) => xs.map((x) => x + 0);

// ---------------------------------------------------------------------------------
// plain-JS float64 reference machinery

/** A tensor in plain JS: shape and row-major float64 elements. */
interface Arr {
  shape: number[];
  data: number[];
}
const arr = (shape: number[], data: number[]): Arr => ({ shape, data });
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** A deterministic weight for output element k; mixed signs so no gradient cancels by symmetry. */
const weight = (k: number) => Math.cos(1.3 * k + 0.4);

function toParam(a: Arr): ParamValue {
  return a.shape.length === 0 ? a.data[0] : { shape: a.shape, data: Float64Array.from(a.data) };
}

function flatNested(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flatNested) : [x as number];
}

/** NumPy broadcasting of an elementwise binary function on Arrs. */
function broadcast(f: (x: number, y: number) => number, a: Arr, b: Arr): Arr {
  const r = Math.max(a.shape.length, b.shape.length);
  const pa = [...Array(r - a.shape.length).fill(1), ...a.shape];
  const pb = [...Array(r - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const data: number[] = [];
  const idx = (p: number[], ix: number[]) => ix.reduce((acc, v, i) => acc * p[i] + (p[i] === 1 ? 0 : v), 0);
  for (let k = 0; k < size(shape); k++) {
    const ix: number[] = [];
    let rem = k;
    for (let i = r - 1; i >= 0; i--) {
      ix[i] = rem % shape[i];
      rem = Math.floor(rem / shape[i]);
    }
    data.push(f(a.data[idx(pa, ix)], b.data[idx(pb, ix)]));
  }
  return { shape, data };
}

function relErr(got: number, want: number, floor: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  if (got === want) return 0;
  return Math.abs(got - want) / Math.max(Math.abs(want), floor);
}

/**
 * Checks one op: `be` computes `fBe(params)`; `fJs(params)` is its float64 closed form.
 * Compares the values elementwise, then the gradient of Σ w_k out_k against float64
 * central differences of the same sum computed with `fJs`.
 */
function checkOp(
  be: Backend,
  fBe: (ps: unknown[]) => unknown,
  fJs: (ps: Arr[]) => Arr,
  inputs: Arr[],
  opts: { grad?: boolean; valueTol?: number } = {},
): void {
  const want = fJs(inputs);
  const got = be.run((ps) => {
    const out = fBe(ps);
    return { shape: be.shape(out), data: flatNested(be.toNested(out)) };
  }, inputs.map(toParam));
  assert.deepEqual(got.shape, want.shape, "shape");
  const scale = Math.max(...want.data.map(Math.abs), 1e-3);
  got.data.forEach((g, k) => {
    const e = relErr(g, want.data[k], 1e-3 * scale);
    assert.ok(e <= (opts.valueTol ?? 2e-5), `value[${k}]: got ${g}, want ${want.data[k]} (rel err ${e})`);
  });
  if (opts.grad === false) return;

  const wsum = (ps: Arr[]) => fJs(ps).data.reduce((s, v, k) => s + weight(k) * v, 0);
  const { value, grad } = be.valueAndGrad((ps) => {
    const out = fBe(ps);
    const shape = be.shape(out);
    const w = be.reshape(be.tensor(Array.from({ length: size(shape) }, (_, k) => weight(k))), shape);
    return be.sum(be.binary("mul", out, w));
  }, inputs.map(toParam));
  const v0 = wsum(inputs);
  assert.ok(relErr(value, v0, 1e-3) <= 1e-4, `weighted value: got ${value}, want ${v0}`);

  const fd: number[][] = inputs.map((a, i) =>
    a.data.map((x, j) => {
      const h = 1e-6 * Math.max(1, Math.abs(x));
      const at = (d: number) =>
        wsum(inputs.map((b, k) => k === i ? arr(b.shape, b.data.map((y, l) => l === j ? y + d : y)) : b));
      return (at(h) - at(-h)) / (2 * h);
    })
  );
  const gmax = Math.max(...fd.flat().map(Math.abs));
  fd.forEach((row, i) => {
    const g = grad[i];
    const gs = typeof g === "number" ? [g] : Array.from((g as TensorData).data);
    if (typeof g !== "number") assert.deepEqual((g as TensorData).shape, inputs[i].shape, `grad[${i}] shape`);
    row.forEach((want, j) => {
      const e = relErr(gs[j], want, Math.max(1e-2 * gmax, 1e-6));
      assert.ok(e <= 1e-3, `grad[${i}][${j}]: got ${gs[j]}, want ${want} (rel err ${e})`);
    });
  });
}

// Closed forms of the elementwise ops.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
const UNARY_JS: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  relu: (x) => Math.max(x, 0),
  log1p: Math.log1p,
  expm1: Math.expm1,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  trunc: Math.trunc,
};
const GENERIC = [-1.3, -0.4, 0.25, 0.9, 1.7];
const UNARY_POINTS: Record<UnaryOp, number[]> = {
  neg: GENERIC,
  abs: [-1.3, -0.4, 0.25, 0.9],
  exp: GENERIC,
  log: [0.3, 0.9, 1.7, 2.5],
  sqrt: [0.3, 0.9, 1.7, 2.5],
  square: GENERIC,
  sin: GENERIC,
  cos: GENERIC,
  tan: [-1.0, -0.3, 0.4, 1.1],
  asin: [-0.8, -0.3, 0.2, 0.7],
  acos: [-0.8, -0.3, 0.2, 0.7],
  atan: GENERIC,
  tanh: GENERIC,
  sigmoid: GENERIC,
  softplus: [-20, -1.3, 0.25, 1.7, 20],
  relu: [-1.3, -0.4, 0.25, 0.9],
  log1p: [-0.5, 1e-4, 0.3, 2],
  expm1: [-1, 1e-4, 0.5, 2],
  floor: [-2.5, -1.7, -0.5, 0.3, 1.5, 2.5],
  ceil: [-2.5, -1.7, -0.5, 0.3, 1.5, 2.5],
  round: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.3],
  trunc: [-2.5, -1.7, -0.5, 0.3, 1.5, 2.5],
};

const BINARY_JS: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  atan2: Math.atan2,
  min: Math.min,
  max: Math.max,
};
/** Operand values: positive for pow's base, away from zero for div, no ties for min/max. */
function operand(op: BinaryOp, shape: number[], seed: number): Arr {
  return arr(
    shape,
    Array.from({ length: size(shape) }, (_, k) => {
      const u = Math.sin(2.1 * k + seed * 1.7 + 0.3); // in [-1, 1]
      if (op === "pow" && seed === 0) return 0.6 + 0.5 * (u + 1);
      if (op === "div" && seed === 1) return (u >= 0 ? 0.5 : -0.5) + u;
      return 1.5 * u + 0.05 * seed;
    }),
  );
}
const BROADCASTS: [number[], number[]][] = [[[], []], [[3], []], [[], [3]], [[2, 3], [3]], [[2, 1], [1, 3]]];

// float64 linear algebra for the references
function matmulJs(a: Arr, b: Arr): Arr {
  const [m, k] = a.shape, n = b.shape[1];
  const data = new Array(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let l = 0; l < k; l++) data[i * n + j] += a.data[i * k + l] * b.data[l * n + j];
    }
  }
  return arr([m, n], data);
}
function transposeJs(a: Arr): Arr {
  const [m, n] = a.shape;
  return arr([n, m], Array.from({ length: m * n }, (_, k) => a.data[(k % m) * n + Math.floor(k / m)]));
}
/** B Bᵀ + c I: symmetric positive definite for any B when c > 0. */
function spdJs(b: Arr, c: number): Arr {
  const p = matmulJs(b, transposeJs(b));
  const n = b.shape[0];
  for (let i = 0; i < n; i++) p.data[i * n + i] += c;
  return p;
}
function cholJs(a: Arr): Arr {
  const n = a.shape[0];
  const l = new Array(n * n).fill(0);
  for (let j = 0; j < n; j++) {
    let d = a.data[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] ** 2;
    l[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a.data[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / l[j * n + j];
    }
  }
  return arr([n, n], l);
}
/** Gauss–Jordan elimination with partial pivoting; b of shape [n] or [n,k]. */
function solveJs(a: Arr, b: Arr): Arr {
  const n = a.shape[0], k = b.shape.length === 1 ? 1 : b.shape[1];
  const m = Array.from(
    { length: n },
    (_, i) => [...a.data.slice(i * n, i * n + n), ...b.data.slice(i * k, i * k + k)],
  );
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let j = c; j < n + k; j++) m[r][j] -= f * m[c][j];
    }
  }
  return arr(b.shape, m.flatMap((row, i) => row.slice(n).map((v) => v / m[i][i])));
}
const symJs = (a: Arr): Arr => {
  const n = a.shape[0];
  return arr(a.shape, a.data.map((v, k) => 0.5 * (v + a.data[(k % n) * n + Math.floor(k / n)])));
};

function assertDmci(f: () => unknown, kind: string, message: string | RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DmciError, `expected a DmciError, got ${e}`);
    assert.equal(e.kind, kind);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------------
// the op tests, on each engine

for (const engine of ENGINES) {
  const t = (name: string, fn: (be: Backend) => void | Promise<void>) =>
    Deno.test(`${engine}: ${name}`, async () => await fn(backends[engine]));

  for (const op of Object.keys(UNARY_JS) as UnaryOp[]) {
    const piecewiseConstant = ["floor", "ceil", "round", "trunc"].includes(op);
    t(`unary ${op}: value matches its closed form and gradient matches central differences`, (be) => {
      const x = arr([UNARY_POINTS[op].length], UNARY_POINTS[op]);
      checkOp(be, ([p]) => be.unary(op, p), ([a]) => arr(a.shape, a.data.map(UNARY_JS[op])), [x], {
        grad: !piecewiseConstant,
      });
      checkOp(be, ([p]) => be.unary(op, p), ([a]) => arr([], a.data.map(UNARY_JS[op])), [
        arr([], [UNARY_POINTS[op][1]]),
      ], {
        grad: !piecewiseConstant,
      });
      if (piecewiseConstant) {
        const { grad } = be.valueAndGrad(([p]) => be.sum(be.unary(op, p)), [toParam(x)]);
        assert.deepEqual(Array.from((grad[0] as TensorData).data), x.data.map(() => 0));
      }
    });
  }

  t("round is half to even, trunc rounds toward zero", (be) => {
    const xs = [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999, -2.5001];
    assert.deepEqual(noNegZero(flatNested(be.toNested(be.unary("round", be.tensor(xs))))), [
      -4,
      -2,
      -2,
      0,
      0,
      2,
      2,
      4,
      2,
      -3,
    ]);
    const tr = flatNested(be.toNested(be.unary("trunc", be.tensor([-2.7, -0.2, 0.2, 2.7]))));
    assert.deepEqual(noNegZero(tr), [-2, 0, 0, 2]);
  });

  t("abs and relu have gradient 0 at 0; abs has gradient sign(x) elsewhere", (be) => {
    const x = { shape: [3], data: new Float64Array([-2, 0, 3]) };
    const ga = be.valueAndGrad(([p]) => be.sum(be.unary("abs", p)), [x]).grad[0] as TensorData;
    assert.deepEqual(Array.from(ga.data), [-1, 0, 1]);
    const gr = be.valueAndGrad(([p]) => be.sum(be.unary("relu", p)), [x]).grad[0] as TensorData;
    assert.deepEqual(Array.from(gr.data), [0, 0, 1]);
  });

  t("sigmoid and softplus are finite with finite gradients at ±100 and ±1000", (be) => {
    const xs = [-1000, -100, 100, 1000];
    for (const x of xs) {
      // e^-100 ≈ 4e-44 is a float32 denormal: cpu keeps it, wasm flushes it to 0.
      const s = be.valueAndGrad(([p]) => be.unary("sigmoid", p), [x]);
      assert.ok(Math.abs(s.value - (x < 0 ? 0 : 1)) < 1e-30, `sigmoid(${x}) = ${s.value}`);
      assert.ok(Math.abs(s.grad[0] as number) < 1e-30, `sigmoid'(${x}) = ${s.grad[0]}`);
      const p = be.valueAndGrad(([q]) => be.unary("softplus", q), [x]);
      assert.ok(Math.abs(p.value - (x < 0 ? 0 : x)) < 1e-30, `softplus(${x}) = ${p.value}`);
      assert.ok(Math.abs((p.grad[0] as number) - (x < 0 ? 0 : 1)) < 1e-30, `softplus'(${x}) = ${p.grad[0]}`);
    }
  });

  t("log1p and expm1 are accurate for tiny arguments", (be) => {
    for (const x of [1e-7, -3e-6, 2e-5]) {
      assert.ok(relErr(be.toNumber(be.unary("log1p", x)), Math.log1p(x), 0) < 1e-6);
      assert.ok(relErr(be.toNumber(be.unary("expm1", x)), Math.expm1(x), 0) < 1e-6);
    }
  });

  for (const op of Object.keys(BINARY_JS) as BinaryOp[]) {
    for (const [sa, sb] of BROADCASTS) {
      t(`binary ${op} ${JSON.stringify(sa)}×${JSON.stringify(sb)}: value and gradient`, (be) => {
        checkOp(
          be,
          ([a, b]) => be.binary(op, a, b),
          ([a, b]) => broadcast(BINARY_JS[op], a, b),
          [operand(op, sa, 0), operand(op, sb, 1)],
        );
      });
    }
  }

  t("binary ops accept plain numbers on either side", (be) => {
    checkOp(be, ([a]) => be.binary("sub", 2, a), ([a]) => broadcast((x, y) => x - y, arr([], [2]), a), [
      arr([2], [0.5, 3]),
    ]);
    checkOp(be, ([a]) => be.binary("pow", a, 3), ([a]) => broadcast((x, y) => x ** y, a, arr([], [3])), [
      arr([2], [-1.5, 2]),
    ]);
  });

  t("pow: d/db is 0 where the base is not positive; d/da follows b·a^(b−1)", (be) => {
    const { value, grad } = be.valueAndGrad(([a, b]) => be.binary("pow", a, b), [-2, 3]);
    assert.equal(value, -8);
    assert.deepEqual(noNegZero(grad as number[]), [12, 0]);
    assert.deepEqual(
      noNegZero(be.valueAndGrad(([a, b]) => be.binary("pow", a, b), [0, 2]).grad as number[]),
      [0, 0],
    );
  });

  t("min and max send the gradient to the selected argument, to the first on a tie", (be) => {
    assert.deepEqual(be.valueAndGrad(([a, b]) => be.binary("max", a, b), [1, 2]).grad, [0, 1]);
    assert.deepEqual(be.valueAndGrad(([a, b]) => be.binary("max", a, b), [2, 2]).grad, [1, 0]);
    assert.deepEqual(be.valueAndGrad(([a, b]) => be.binary("min", a, b), [1, 2]).grad, [1, 0]);
    assert.deepEqual(be.valueAndGrad(([a, b]) => be.binary("min", a, b), [2, 2]).grad, [1, 0]);
  });

  t("atan2(a, b) is the angle of the point (b, a)", (be) => {
    assert.ok(Math.abs(be.toNumber(be.binary("atan2", 1, -1)) - 3 * Math.PI / 4) < 1e-6);
    assert.ok(Math.abs(be.toNumber(be.binary("atan2", -1, 0)) + Math.PI / 2) < 1e-6);
  });

  t("binary ops reject shapes that do not broadcast, naming the op and both shapes", (be) => {
    assertDmci(
      () => be.binary("add", be.tensor([[1, 2, 3], [4, 5, 6]]), be.tensor([1, 2])),
      "type",
      "add: shapes do not broadcast: [2,3] and [2]",
    );
    assertDmci(() => be.binary("mul", "x", 1), "type", /^mul: expected a number or a tensor, got a string/);
  });

  const M23 = arr([2, 3], [0.5, -1.2, 0.3, 1.1, 0.7, -0.4]);
  const M32 = arr([3, 2], [0.9, -0.2, 0.4, 1.3, -0.6, 0.8]);
  const V3 = arr([3], [0.7, -1.1, 0.45]);
  const V3b = arr([3], [-0.3, 0.8, 1.25]);

  t("matmul of matrices, and of vectors as NumPy treats them", (be) => {
    checkOp(be, ([a, b]) => be.matmul(a, b), ([a, b]) => matmulJs(a, b), [M23, M32]);
    checkOp(be, ([a, b]) => be.matmul(a, b), ([a, b]) => arr([2], matmulJs(arr([1, 3], a.data), b).data), [
      V3,
      M32,
    ]);
    checkOp(be, ([a, b]) => be.matmul(a, b), ([a, b]) => arr([2], matmulJs(a, arr([3, 1], b.data)).data), [
      M23,
      V3,
    ]);
    checkOp(
      be,
      ([a, b]) => be.matmul(a, b),
      ([a, b]) => arr([], [a.data.reduce((s, x, i) => s + x * b.data[i], 0)]),
      [V3, V3b],
    );
  });

  t("matmul rejects mismatched inner dimensions, naming both shapes", (be) => {
    assertDmci(
      () => be.matmul(be.fill([2, 3], 1), be.fill([4, 2], 1)),
      "type",
      "matmul: inner dimensions differ: [2,3] × [4,2]",
    );
    assertDmci(
      () => be.matmul(be.fill([2, 2, 2], 1), be.fill([2, 2], 1)),
      "type",
      /^matmul: expected vectors or matrices/,
    );
  });

  t("transpose of a matrix; vectors and scalars are unchanged", (be) => {
    checkOp(be, ([a]) => be.transpose(a), ([a]) => transposeJs(a), [M23]);
    checkOp(be, ([a]) => be.transpose(a), ([a]) => a, [V3]);
  });

  t("dot and outer of vectors", (be) => {
    checkOp(
      be,
      ([a, b]) => be.dot(a, b),
      ([a, b]) => arr([], [a.data.reduce((s, x, i) => s + x * b.data[i], 0)]),
      [V3, V3b],
    );
    const w2 = arr([2], [1.5, -0.5]);
    checkOp(
      be,
      ([a, b]) => be.outer(a, b),
      ([a, b]) => arr([3, 2], a.data.flatMap((x) => b.data.map((y) => x * y))),
      [V3, w2],
    );
    assertDmci(
      () => be.dot(be.tensor([1, 2]), be.tensor([1, 2, 3])),
      "type",
      "dot: expected two vectors of equal length, got shapes [2] and [3]",
    );
  });

  t("sum and mean over all elements and along one axis", (be) => {
    const rows = (a: Arr) => [0, 1].map((i) => a.data.slice(3 * i, 3 * i + 3));
    checkOp(be, ([a]) => be.sum(a), ([a]) => arr([], [a.data.reduce((s, x) => s + x, 0)]), [M23]);
    checkOp(be, ([a]) => be.mean(a), ([a]) => arr([], [a.data.reduce((s, x) => s + x, 0) / 6]), [M23]);
    checkOp(
      be,
      ([a]) => be.sum(a, 0),
      ([a]) => arr([3], [0, 1, 2].map((j) => rows(a)[0][j] + rows(a)[1][j])),
      [M23],
    );
    checkOp(be, ([a]) => be.sum(a, 1), ([a]) => arr([2], rows(a).map((r) => r.reduce((s, x) => s + x, 0))), [
      M23,
    ]);
    checkOp(
      be,
      ([a]) => be.mean(a, 0),
      ([a]) => arr([3], [0, 1, 2].map((j) => (rows(a)[0][j] + rows(a)[1][j]) / 2)),
      [M23],
    );
    checkOp(
      be,
      ([a]) => be.mean(a, 1),
      ([a]) => arr([2], rows(a).map((r) => r.reduce((s, x) => s + x, 0) / 3)),
      [M23],
    );
    assertDmci(() => be.sum(be.fill([2, 3], 1), 2), "type", "sum: axis 2 is out of range for shape [2,3]");
  });

  t("reshape keeps the elements in row-major order", (be) => {
    checkOp(be, ([a]) => be.reshape(a, [3, 2]), ([a]) => arr([3, 2], a.data), [M23]);
    checkOp(be, ([a]) => be.reshape(a, [6]), ([a]) => arr([6], a.data), [M23]);
    assertDmci(
      () => be.reshape(be.fill([2, 3], 1), [4]),
      "type",
      "reshape: cannot reshape [2,3] (6 elements) to [4] (4 elements)",
    );
  });

  t("stack along a new axis, concat along an existing one", (be) => {
    const W = arr([3], [2, -0.5, 0.1]);
    checkOp(be, ([a, b]) => be.stack([a, b], 0), ([a, b]) => arr([2, 3], [...a.data, ...b.data]), [V3, W]);
    checkOp(
      be,
      ([a, b]) => be.stack([a, b], 1),
      ([a, b]) => arr([3, 2], a.data.flatMap((x, i) => [x, b.data[i]])),
      [V3, W],
    );
    checkOp(be, ([a, b]) => be.stack([a, b, 4], 0), ([a, b]) => arr([3], [a.data[0], b.data[0], 4]), [
      arr([], [0.3]),
      arr([], [-2]),
    ]);
    checkOp(be, ([a, b]) => be.concat([a, b], 0), ([a, b]) => arr([6], [...a.data, ...b.data]), [V3, W]);
    checkOp(
      be,
      ([a, b]) => be.concat([a, b], 1),
      ([a, b]) =>
        arr(
          [2, 6],
          [0, 1].flatMap((i) => [...a.data.slice(3 * i, 3 * i + 3), ...b.data.slice(3 * i, 3 * i + 3)]),
        ),
      [M23, arr([2, 3], [1, 2, 3, 4, 5, 6])],
    );
    checkOp(be, ([a]) => be.concat([a], 0), ([a]) => a, [V3]);
    assertDmci(
      () => be.stack([be.tensor([1, 2]), be.tensor([1, 2, 3])], 0),
      "type",
      "stack: shapes differ: [2] and [3]",
    );
    assertDmci(
      () => be.concat([be.fill([2, 3], 1), be.fill([3, 2], 1)], 0),
      "type",
      "concat: shapes differ off axis 0: [2,3] and [3,2]",
    );
  });

  t("slice with explicit sizes and with size -1 (to the end)", (be) => {
    checkOp(
      be,
      ([a]) => be.slice(a, [0, 1], [2, 2]),
      ([a]) => arr([2, 2], [a.data[1], a.data[2], a.data[4], a.data[5]]),
      [M23],
    );
    checkOp(be, ([a]) => be.slice(a, [1, 1], [-1, -1]), ([a]) => arr([1, 2], [a.data[4], a.data[5]]), [M23]);
    checkOp(be, ([a]) => be.slice(a, [1], [-1]), ([a]) => arr([2], a.data.slice(1)), [V3]);
    assertDmci(() => be.slice(be.fill([3], 1), [2], [2]), "type", /^slice: size is out of range on axis 0/);
  });

  t("diag builds a diagonal matrix from a vector and reads the diagonal of a square matrix", (be) => {
    checkOp(
      be,
      ([a]) => be.diag(a),
      ([a]) => arr([3, 3], [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => i === j ? a.data[i] : 0))),
      [V3],
    );
    const M33 = arr([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => v * 0.3 - 1));
    checkOp(be, ([a]) => be.diag(a), ([a]) => arr([3], [a.data[0], a.data[4], a.data[8]]), [M33]);
    assert.deepEqual(be.toNested(be.diag(be.tensor([Infinity, 1]))), [[Infinity, 0], [0, 1]]);
    assertDmci(() => be.diag(be.fill([2, 3], 1)), "type", "diag: expected a square matrix, got shape [2,3]");
  });

  t("ref returns one element as a rank-0 tensor, and the gradient flows to it", (be) => {
    checkOp(be, ([a]) => be.ref(a, [1, 2]), ([a]) => arr([], [a.data[5]]), [M23]);
    checkOp(be, ([a]) => be.ref(a, [0]), ([a]) => arr([], [a.data[0]]), [V3]);
    assertDmci(() => be.ref(be.fill([3], 1), [3]), "type", "ref: index [3] is out of range for shape [3]");
  });

  t("tensor, eye and fill make constants of the given shapes", (be) => {
    assert.deepEqual(be.toNested(be.tensor([[1, 2], [3, 4]])), [[1, 2], [3, 4]]);
    assert.deepEqual(be.shape(be.tensor(2.5)), []);
    assert.deepEqual(be.toNested(be.eye(2)), [[1, 0], [0, 1]]);
    assert.deepEqual(be.toNested(be.fill([2], 7)), [7, 7]);
    assertDmci(() => be.tensor([[1, 2], [3]]), "type", /^tensor: the data is not rectangular/);
  });

  t("toNumber, toNested, shape and isTensor", (be) => {
    const x = be.tensor([[1.5], [2]]);
    assert.equal(be.isTensor(x), true);
    assert.equal(be.isTensor(3), false);
    assert.deepEqual(be.shape(x), [2, 1]);
    assert.deepEqual(be.toNested(x), [[1.5], [2]]);
    assert.equal(be.toNumber(be.tensor([[4]])), 4);
    assert.equal(be.toNumber(4), 4);
    assertDmci(
      () => be.toNumber(x),
      "type",
      "toNumber: expected a one-element tensor, got a tensor of shape [2,1]",
    );
  });

  t("tensors larger than maxTensorSize are a limit error", async () => {
    const small = await createTfjsBackend({ engine, maxTensorSize: 100 });
    assertDmci(
      () => small.fill([10, 11], 0),
      "limit",
      /^fill: a tensor of shape \[10,11\] would have 110 elements/,
    );
    assertDmci(() => small.outer(small.fill([20], 1), small.fill([20], 1)), "limit", /^outer: /);
    assertDmci(() => small.binary("add", small.fill([20, 1], 1), small.fill([1, 20], 1)), "limit", /^add: /);
    assertDmci(() => small.eye(11), "limit", /^eye: /);
    assert.equal(small.toNumber(small.sum(small.fill([10, 10], 1))), 100);
  });

  // --- linear algebra
  const B33 = arr([3, 3], [0.8, -0.3, 0.5, 0.2, 1.1, -0.4, -0.6, 0.1, 0.9]);
  const spd = (be: Backend, b: unknown) =>
    be.binary("add", be.matmul(b, be.transpose(b)), be.binary("mul", be.eye(3), 3));

  t("cholesky of B Bᵀ + 3I: value and gradient through B", (be) => {
    checkOp(be, ([b]) => be.cholesky(spd(be, b)), ([b]) => cholJs(spdJs(b, 3)), [B33]);
  });

  t("cholesky reads (A + Aᵀ)/2, so its gradient w.r.t. A's own entries is exact", (be) => {
    const A = spdJs(B33, 3);
    A.data[1] += 0.2; // slightly asymmetric
    checkOp(be, ([a]) => be.cholesky(a), ([a]) => cholJs(symJs(a)), [A]);
  });

  t("logdet of an SPD matrix: value and gradient, directly and through B", (be) => {
    const logdetJs = (a: Arr) =>
      arr([], [2 * [0, 1, 2].reduce((s, i) => s + Math.log(cholJs(symJs(a)).data[4 * i]), 0)]);
    checkOp(be, ([a]) => be.logdet(a), ([a]) => logdetJs(a), [spdJs(B33, 1)]);
    checkOp(be, ([b]) => be.logdet(spd(be, b)), ([b]) => logdetJs(spdJs(b, 3)), [B33]);
  });

  t("solve with a vector and with a matrix right-hand side: value and gradients to A and b", (be) => {
    const A = arr([3, 3], [0.3, 2.0, -0.5, 1.5, 0.2, 0.4, -0.7, 0.6, 1.8]); // needs pivoting
    checkOp(be, ([a, b]) => be.solve(a, b), ([a, b]) => solveJs(a, b), [A, V3]);
    checkOp(be, ([a, b]) => be.solve(a, b), ([a, b]) => solveJs(a, b), [A, M32]);
  });

  t("linear algebra rejects bad shapes and matrices that are not positive definite or are singular", (be) => {
    assertDmci(
      () => be.cholesky(be.tensor([[1, 2], [2, 1]])),
      "type",
      /^cholesky: the matrix is not positive definite \(pivot 2 of 2/,
    );
    assertDmci(
      () => be.logdet(be.tensor([[-1, 0], [0, 1]])),
      "type",
      /^logdet: the matrix is not positive definite/,
    );
    assertDmci(
      () => be.solve(be.tensor([[1, 2], [2, 4]]), be.tensor([1, 1])),
      "type",
      /^solve: the matrix is singular/,
    );
    assertDmci(
      () => be.cholesky(be.fill([2, 3], 1)),
      "type",
      "cholesky: expected a square matrix, got shape [2,3]",
    );
    assertDmci(
      () => be.solve(be.eye(3), be.fill([2], 1)),
      "type",
      "solve: the right-hand side must have 3 rows: [3,3] and [2]",
    );
  });

  // --- valueAndGrad and run
  t("a parameter the value does not depend on gets gradient 0, also for a constant value", (be) => {
    const v = { shape: [2], data: new Float64Array([1, 2]) };
    const r = be.valueAndGrad(([a]) => be.unary("square", a), [3, -1, v]);
    assert.deepEqual(r, { value: 9, grad: [6, 0, { shape: [2], data: new Float64Array(2) }] });
    assert.deepEqual(be.valueAndGrad(() => 5, [1, 2]), { value: 5, grad: [0, 0] });
    assert.deepEqual(be.valueAndGrad(() => 5, []), { value: 5, grad: [] });
    assert.deepEqual(be.valueAndGrad(([a]) => a, [4, 1]), { value: 4, grad: [1, 0] });
  });

  t("valueAndGrad accepts a one-element tensor and rejects anything else", (be) => {
    assert.equal(be.valueAndGrad(([a]) => be.reshape(a, [1, 1]), [2]).value, 2);
    assertDmci(
      () => be.valueAndGrad(([a]) => be.binary("mul", a, be.tensor([1, 2, 3])), [2]),
      "type",
      "value-and-gradient: the program's value must be a real scalar, got a tensor of shape [3]",
    );
    assertDmci(() => be.valueAndGrad(() => true, [2]), "type", /^value-and-gradient: .* got a boolean/);
  });

  t("tensor parameters: gradients come back as float64 TensorData of the same shape", (be) => {
    const p = { shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) };
    const { value, grad } = be.valueAndGrad(([a, k]) => be.sum(be.binary("mul", be.unary("square", a), k)), [
      p,
      0.5,
    ]);
    assert.equal(value, 15);
    assert.deepEqual(grad[0], { shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) });
    assert.equal(grad[1], 30);
  });

  t("run passes numbers as numbers and tensor data as constant tensors, and releases every tensor", (be) => {
    const before = tf.memory().numTensors;
    const out = be.run(([k, v]) => {
      assert.equal(typeof k, "number");
      assert.ok(be.isTensor(v));
      return be.toNested(be.binary("mul", v, k as number));
    }, [2, { shape: [2], data: new Float64Array([1, 3]) }]);
    assert.deepEqual(out, [2, 6]);
    assert.throws(() =>
      be.run(() => {
        be.fill([5], 1);
        throw new Error("boom");
      }, []), /boom/);
    assert.equal(tf.memory().numTensors, before);
  });

  t("no tensor leaks over 1000 valueAndGrad calls, including calls that throw", (be) => {
    const M = { shape: [2, 2], data: new Float64Array([0.9, 0.1, -0.2, 1.2]) };
    const model = ([a, b, m]: unknown[]) => {
      let x: unknown = 0.5;
      for (let i = 0; i < 5; i++) {
        x = be.binary(
          "add",
          x,
          be.binary(
            "mul",
            0.01,
            be.binary("sub", be.binary("mul", a, x), be.binary("mul", b, be.unary("square", x))),
          ),
        );
      }
      const A = be.binary("add", be.matmul(m, be.transpose(m)), be.eye(2));
      const s = be.solve(A, be.stack([x, b], 0));
      return be.binary("add", be.binary("add", be.logdet(A), be.sum(be.cholesky(A))), be.dot(s, s));
    };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      switch (i % 5) {
        case 0:
        case 1:
          be.valueAndGrad(model, [1.1, 0.3, M]);
          break;
        case 2: // throws in the middle of the forward pass, after tape nodes kept tensors
          assert.throws(() =>
            be.valueAndGrad((ps) => {
              model(ps);
              be.unary("exp", ps[0]);
              throw new DmciError("user", "stop");
            }, [1.1, 0.3, M]), /stop/);
          break;
        case 3: // throws inside a custom-gradient op
          assert.throws(
            () => be.valueAndGrad(([a]) => be.cholesky(be.binary("mul", be.eye(2), be.unary("neg", a))), [1]),
            DmciError,
          );
          break;
        case 4: // the value is not a scalar
          assert.throws(() => be.valueAndGrad(([a]) => be.binary("mul", a, be.fill([2], 1)), [1]), DmciError);
          break;
      }
    }
    assert.equal(tf.memory().numTensors, before);
    assert.equal(tf.engine().state.activeTape, null);
  });
}

// ---------------------------------------------------------------------------------
// engine-independent behaviour

Deno.test("cpu and wasm engines agree on a value and gradient when used alternately", () => {
  const cpu = backends.cpu;
  const wasm = backends.wasm;
  const f = (be: Backend) => ([a, b]: unknown[]) =>
    be.logdet(be.binary("add", be.outer(a, a), be.binary("mul", be.eye(2), b)));
  const theta = [{ shape: [2], data: new Float64Array([0.3, -0.7]) }, 1.5];
  const r1 = cpu.valueAndGrad(f(cpu), theta);
  const r2 = wasm.valueAndGrad(f(wasm), theta);
  assert.equal(tf.getBackend(), "wasm");
  const r3 = cpu.valueAndGrad(f(cpu), theta);
  assert.equal(tf.getBackend(), "cpu");
  assert.deepEqual(r1, r3);
  assert.ok(Math.abs(r1.value - r2.value) < 1e-5);
});

Deno.test("the ready-made tfjsBackend computes on cpu", () => {
  const r = tfjsBackend.valueAndGrad(([a]) => tfjsBackend.binary("mul", a, a), [3]);
  assert.deepEqual(r, { value: 9, grad: [6] });
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("importing the backend and first use on cpu and wasm print nothing", async () => {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/first_use.ts`;
  const mod = new URL("../lib/backend/tfjs/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { createTfjsBackend, tfjsBackend as be } from ${JSON.stringify(mod)};
     be.valueAndGrad(([a]) => be.unary("exp", a), [1]);
     be.run(() => be.toNested(be.tensor([1, 2])), []);
     const w = await createTfjsBackend({ engine: "wasm" });
     w.valueAndGrad(([a]) => w.unary("exp", a), [1]);
     be.valueAndGrad(([a]) => be.unary("exp", a), [1]);\n`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", script],
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    assert.equal(dec.decode(out.stderr), "");
    assert.equal(dec.decode(out.stdout), "");
    assert.equal(out.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
