/**
 * The objective of a fit problem on a set of rows: its loss (mse, Gaussian negative
 * log-likelihood, or the program's own loss or log-likelihood) and the gradient in the
 * optimizer's u, one program run per evaluation; the batched form gives R restarts' losses from
 * one run with parameters [R, 1]; and the predictions at θ. It optimises nothing.
 */
import { DmciError } from "../errors.ts";
import type { Backend, StagedFunction, TensorData } from "../backend/backend.ts";
import type { Inputs, Program } from "../program.ts";
import type { Runtime } from "../compile/runtime.ts";
import type { ProgramData } from "../dmci.ts";
import { dThetaDu, toTheta } from "./params.ts";
import { columnsOf, type FitProblem, runModel, thetaOf } from "./problem.ts";
import type { Evaluation, Objective } from "./optim/types.ts";
import type { BatchObjective } from "./optim/batch_lbfgs.ts";
import { getOrMake } from "../bounded_cache.ts";

/**
 * Checks that the model's value is one prediction per row (a tensor of n, or a number for every
 * row) and returns its shape.
 */
function checkPrediction(B: Backend, v: unknown, n: number, file: string): number[] {
  const shape = typeof v === "number" ? [] : B.isTensor(v) ? B.shape(v) : null;
  if (!shape || !(shape.length === 0 || (shape.length === 1 && shape[0] === n))) {
    throw new DmciError(
      "type",
      `${file}: the program's value must be a tensor of ${n} predictions (one per row), got ${
        shape ? `shape [${shape}]` : "a non-number"
      }`,
    );
  }
  return shape;
}

function programValueError(p: FitProblem): DmciError {
  const returns = p.loss.kind === "program" ? p.loss.returns : "loss";
  return new DmciError(
    "type",
    `${p.program.file}: the program's value must be a real number (the ${returns})`,
  );
}

/** n·log σ + SSE/(2σ²) + (n/2)·log 2π, elementwise in sse and σ. */
function gaussianNll(B: Backend, sse: unknown, sigma: unknown, n: number): unknown {
  const quad = B.binary("div", sse, B.binary("mul", 2, B.unary("square", sigma)));
  return B.binary(
    "add",
    B.binary("mul", n, B.unary("log", sigma)),
    B.binary("add", quad, (n / 2) * Math.log(2 * Math.PI)),
  );
}

/**
 * The loss of the model on the rows as a backend value (differentiable): θ is `ps`, the target
 * `y` a constant tensor of the rows' targets (null without a target).
 */
function lossValue(p: FitProblem, ps: readonly unknown[], inputs: Inputs, y: unknown): unknown {
  const B = p.backend, np = p.params.length;
  const v = runModel(p, ps.slice(0, np), inputs);
  if (p.loss.kind === "program") {
    if (typeof v !== "number" && !B.isTensor(v)) throw programValueError(p);
    return p.loss.returns === "log-likelihood" ? (typeof v === "number" ? -v : B.unary("neg", v)) : v;
  }
  const n = B.shape(y)[0];
  checkPrediction(B, v, n, p.program.file);
  const r = B.binary("sub", v, y);
  if (p.loss.kind === "mse") return B.mean(B.unary("square", r));
  return gaussianNll(B, B.sum(B.unary("square", r)), ps[np], n);
}

/**
 * The staged loss of each problem, made once: the rows' input columns and target are its data
 * inputs, so on f64 one trace serves every set of rows of the same size (folds, bootstrap
 * resamples) unless the program reads the data's values as plain numbers, and each size gets
 * its own traces.
 */
const STAGED = new WeakMap<Runtime, WeakMap<Program | ProgramData, Map<string, StagedFunction>>>();
/** Staged losses kept per runtime and program (one per loss, mode, limits, parameter count, inputs). */
const MAX_STAGED = 16;

/**
 * What `lossValue` reads of a problem besides its runtime (hence backend) and program: two
 * problems with the same key compute the same loss from the same data, so they share a staged
 * loss and its traces (a fit of the same program and spec again: a server job, a re-fit).
 */
function lossKey(p: FitProblem): string {
  return JSON.stringify([
    p.mode,
    p.trace,
    p.limits ?? null,
    p.loss,
    p.params.length,
    p.target === undefined,
    Object.keys(p.inputs),
  ]);
}

function stagedLoss(p: FitProblem): StagedFunction {
  let byProgram = STAGED.get(p.runtime);
  if (byProgram === undefined) STAGED.set(p.runtime, byProgram = new WeakMap());
  let byKey = byProgram.get(p.program);
  if (byKey === undefined) byProgram.set(p.program, byKey = new Map());
  return getOrMake(byKey, lossKey(p), MAX_STAGED, () => {
    const names = Object.keys(p.inputs);
    return p.backend.stage((ps, data) => {
      const inputs: Record<string, unknown> = {};
      names.forEach((name, i) => inputs[name] = data[i]);
      return {
        value: lossValue(p, ps, inputs as Inputs, p.target === undefined ? null : data[names.length]),
      };
    }, { trace: p.trace });
  });
}

/** The row counts each staged loss has been called on through `objectiveOn` (so has traces for). */
const USED = new WeakMap<StagedFunction, Set<number>>();

/** The rows' input columns (in `p.inputs` order) and target, as the staged loss's data. */
function lossData(p: FitProblem, rows: readonly number[]): TensorData[] {
  const { inputs, y } = columnsOf(p, rows);
  const column = (c: Float64Array): TensorData => ({ shape: [c.length], data: c });
  const data = Object.keys(p.inputs).map((name) => column(inputs[name] as Float64Array));
  if (y !== null) data.push(column(y));
  return data;
}

/**
 * The loss on `rows` and its gradient in u: one run of the program on the rows' columns per
 * call. With `profiled`, an mse loss becomes the Gaussian negative log-likelihood with σ profiled
 * out, (n/2)·log(mse): the same minimiser, but scale-free, so convergence tolerances and the
 * Hessian mean the same whatever the units of the data (the optimizer and the standard errors
 * use it; metrics report the plain mse). Use it on other rows to score a fitted u (validation).
 *
 * @example
 * ```ts
 * // fit on training rows, then score on validation rows at the fitted u:
 * const train = objectiveOn(problem, split.train, { profiled: true });
 * const { value, grad } = objectiveOn(problem, split.test)(uHat); // plain mse and its gradient in u
 * ```
 */
export function objectiveOn(
  p: FitProblem,
  rows: readonly number[],
  o: { profiled?: boolean } = {},
): Objective {
  const data = lossData(p, rows);
  const profile = o.profiled === true && p.loss.kind === "mse";
  const staged = stagedLoss(p);
  let used = USED.get(staged);
  if (used === undefined) USED.set(staged, used = new Set());
  used.add(rows.length);
  return (u: Float64Array): Evaluation => {
    const r = staged.valueAndGrad(thetaOf(p, u), data);
    const grad = new Float64Array(p.nu);
    p.free.forEach((i, j) => grad[j] = (r.grad[i] as number) * dThetaDu(p.params[i].transform, u[j]));
    if (p.withSigma) grad[p.free.length] = (r.grad[p.params.length] as number) * Math.exp(u[p.free.length]);
    if (!profile) return { value: r.value, grad };
    const half = rows.length / 2;
    return { value: half * Math.log(r.value), grad: grad.map((g) => (half * g) / r.value) };
  };
}

/**
 * The loss on `rows` at `u` alone (unprofiled, no gradient), for a value needed once (the
 * metrics): a forward replay when an objective on as many rows has run (its trace is there), else
 * one plain run of the program, where recording a trace would cost more than it saves. The same
 * number as `objectiveOn(p, rows)(u).value`.
 *
 * @example
 * ```ts
 * lossAt(problem, split.test, uHat); // the test loss
 * ```
 */
export function lossAt(p: FitProblem, rows: readonly number[], u: Float64Array): number {
  const staged = stagedLoss(p);
  if (USED.get(staged)?.has(rows.length)) return staged.forward(thetaOf(p, u), lossData(p, rows)).value;
  const B = p.backend, { inputs, y } = columnsOf(p, rows);
  return B.run((ps) => {
    const v = lossValue(p, ps, inputs, y === null ? null : B.tensor(Array.from(y)));
    return typeof v === "number" ? v : B.toNumber(v);
  }, thetaOf(p, u));
}

/** The per-restart losses, shape [R], of a batched evaluation (parameters [R, 1]); mse profiled. */
function batchLosses(
  p: FitProblem,
  ps: readonly unknown[],
  inputs: Inputs,
  y: Float64Array | null,
  R: number,
): unknown {
  const B = p.backend, np = p.params.length, file = p.program.file;
  const v = runModel(p, ps.slice(0, np), inputs);
  if (p.loss.kind === "program") {
    if (typeof v !== "number" && !B.isTensor(v)) throw programValueError(p);
    const shape = typeof v === "number" ? [] : B.shape(v);
    if (shape.length > 0 && shape.reduce((a, b) => a * b, 1) !== R) {
      throw new DmciError(
        "type",
        `${file}: batched restarts: the program's value has shape [${shape}], not one per restart`,
      );
    }
    const l = shape.length === 0 ? B.binary("mul", v, B.fill([R], 1)) : B.reshape(v, [R]);
    return p.loss.returns === "log-likelihood" ? B.unary("neg", l) : l;
  }
  const n = y!.length;
  const shape = typeof v === "number" ? [] : B.isTensor(v) ? B.shape(v) : null;
  const ok = shape && (shape.length === 0 || (shape.length === 1 && shape[0] === n) ||
    (shape.length === 2 && (shape[0] === R || shape[0] === 1) && shape[1] === n));
  if (!ok) {
    throw new DmciError(
      "type",
      `${file}: batched restarts: the prediction has shape [${shape ?? "?"}], expected [${R}, ${n}]`,
    );
  }
  const r = B.binary("sub", B.binary("mul", v, B.fill([R, 1], 1)), B.tensor(Array.from(y!)));
  const sse = B.sum(B.unary("square", r), 1);
  if (p.loss.kind === "mse") return B.binary("mul", n / 2, B.unary("log", B.binary("div", sse, n)));
  return gaussianNll(B, sse, B.reshape(ps[np], [R]), n);
}

/**
 * R problems' objectives on `rows` from ONE run of the program per call: each parameter is a
 * column [R, 1] of the R points, and broadcasting evaluates them all. Problem r's value is what
 * `objectiveOn(p, rows, { profiled: true })` gives at its point (to rounding), and its gradient
 * is the gradient of the sum with respect to its own parameters: the problems share none. A
 * program that cannot broadcast so (one that branches on a parameter, say) throws a `type` error.
 *
 * @example
 * ```ts
 * const f = batchObjectiveOn(problem, split.train, 3);
 * f(Float64Array.of(...u1, ...u2, ...u3)).values; // three losses
 * ```
 */
export function batchObjectiveOn(p: FitProblem, rows: readonly number[], R: number): BatchObjective {
  const { inputs, y } = columnsOf(p, rows);
  const B = p.backend, nu = p.nu;
  const thetaBatch = (U: Float64Array) => {
    const column = (f: (r: number) => number) => ({
      shape: [R, 1],
      data: Float64Array.from({ length: R }, (_, r) => f(r)),
    });
    const theta = p.params.map((q, i) => {
      const j = p.free.indexOf(i);
      return j < 0 ? q.init : column((r) => toTheta(q.transform, U[r * nu + j]));
    });
    if (p.withSigma) theta.push(column((r) => Math.exp(U[r * nu + p.free.length])));
    return theta;
  };
  const staged = B.stage((ps) => {
    const each = batchLosses(p, ps, inputs, y, R);
    return { value: B.sum(each), aux: each };
  }, { trace: p.trace });
  return (U) => {
    const res = staged.valueAndGrad(thetaBatch(U));
    const values = res.aux!;
    const grads = new Float64Array(R * nu);
    const gOf = (k: number, r: number) => {
      const g = res.grad[k];
      return typeof g === "number" ? g : g.data[r];
    };
    for (let r = 0; r < R; r++) {
      p.free.forEach((i, j) =>
        grads[r * nu + j] = gOf(i, r) * dThetaDu(p.params[i].transform, U[r * nu + j])
      );
      if (p.withSigma) {
        grads[r * nu + p.free.length] = gOf(p.params.length, r) * Math.exp(U[r * nu + p.free.length]);
      }
    }
    return { values, grads };
  };
}

/**
 * The program's predictions on `rows` at θ (σ, if present, is ignored), as plain numbers.
 *
 * @example
 * ```ts
 * predict(problem, [0, 1, 2, 3], thetaOf(problem, uHat)); // Float64Array of 4
 * ```
 */
export function predict(p: FitProblem, rows: readonly number[], theta: readonly number[]): Float64Array {
  const B = p.backend;
  const { inputs } = columnsOf(p, rows);
  return B.run((ps) => {
    const v = runModel(p, ps, inputs);
    if (checkPrediction(B, v, rows.length, p.program.file).length === 0) {
      return new Float64Array(rows.length).fill(typeof v === "number" ? v : B.toNumber(v));
    }
    return Float64Array.from(B.toNested(v) as number[]);
  }, theta.slice(0, p.params.length));
}
