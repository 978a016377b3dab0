/**
 * Fitting a spec: the program's parameters (through their transforms) are tuned by an
 * optimizer so that the program's value fits the data, with the whole data set in one
 * evaluation per step (inputs bound as column tensors). Then standard errors, train and
 * test metrics, and the plot. This module wires the parts; it does no I/O but reading
 * the spec's files (results are written by the caller, lib/fit/command.ts).
 */
import { DmciError } from "../errors.ts";
import { normal } from "../random.ts";
import type { Backend } from "../backend/backend.ts";
import { backendByName } from "../backend/select.ts";
import { execute, type Inputs, loadProgram, type Program, runtimeFor } from "../program.ts";
import { interpret } from "../dmci.ts";
import type { Runtime } from "../compile/runtime.ts";
import { type LoadedSpec, neededColumns } from "./spec.ts";
import { loadTable, type Table } from "./data.ts";
import { splitRows } from "./split.ts";
import { dThetaDu, fitParams, toTheta, toU } from "./params.ts";
import { minimize } from "./optim/mod.ts";
import { hessianFromGradients, invertSpd } from "./optim/hessian.ts";
import type { Evaluation, Objective, OptimResult, TracePoint } from "./optim/types.ts";
import { batchLbfgs, type BatchObjective } from "./optim/batch_lbfgs.ts";
import { renderFitPlot } from "./plot.ts";

/** Progress of a fit, for a progress bar. */
export interface FitProgress {
  readonly restart: number;
  readonly restarts: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
}

/** Options of `fitSpec`. */
export interface FitOptions {
  /** Overrides the spec's backend. */
  readonly backend?: string;
  /** Overrides the spec's mode. */
  readonly mode?: "interpreted" | "direct";
  /** Called after every optimizer step. */
  readonly onProgress?: (p: FitProgress) => void;
  /** Skip the plot (tests). */
  readonly plot?: boolean;
}

/** One fitted parameter in the results. */
export interface FittedParam {
  readonly name: string;
  readonly value: number;
  /** Standard error (null when not available; see `standard_errors.method`). */
  readonly se: number | null;
  readonly init: number;
  readonly transform: string;
  readonly fixed: boolean;
  /** "program" for the program's own parameters, "noise" for the fitted noise scale. */
  readonly role: "program" | "noise";
}

/** Metrics of one set of rows. */
export interface SplitMetrics {
  readonly rows: number;
  /** The loss as the optimizer sees it (−log-likelihood for a program log-likelihood). */
  readonly loss: number | null;
  readonly rmse: number | null;
  readonly r2: number | null;
}

/** The results of a fit (written as JSON). */
export interface FitResult {
  readonly name: string;
  readonly spec: string;
  readonly program: string;
  readonly backend: string;
  readonly mode: string;
  readonly loss_kind: string;
  readonly params: FittedParam[];
  readonly standard_errors: { readonly method: string; readonly available: boolean; readonly note?: string };
  readonly log_likelihood: number | null;
  readonly train: SplitMetrics;
  readonly test: SplitMetrics | null;
  readonly optimizer: {
    readonly method: string;
    readonly restarts: {
      restart: number;
      loss: number;
      iterations: number;
      converged: boolean;
      reason: string;
      /** This restart's own objective evaluations (in a batched run: the rounds it took part in). */
      evaluations: number;
      /** This restart's own convergence trace. */
      trace: TracePoint[];
      /** This restart's own warnings (also in `warnings`, prefixed "restart k:"). */
      warnings: string[];
    }[];
    readonly best_restart: number;
    /**
     * Batched evaluations when the restarts ran as one batch (each covers every restart; fewer
     * than the sum of the restarts' own evaluations), null when they ran one at a time.
     */
    readonly batched_rounds: number | null;
    /** The best restart's trace. */
    readonly trace: TracePoint[];
    readonly warnings: string[];
  };
  readonly data: { readonly source: string; readonly rows: number; readonly dropped: number };
  readonly timing: { readonly seconds_total: number; readonly seconds_optimizer: number };
  /** SVG text of the data-vs-fit plot (not written into the JSON file). */
  readonly svg: string | null;
}

/** Smallest convergence tolerance float32 gradients can meet. */
const FLOAT32_TOLERANCE = 1e-6;
/** Finite-difference step of the Hessian for float32 gradients. */
const FLOAT32_HESSIAN_STEP = 1e-3;

/** Batched rounds allowed per accepted step (line-search trials included). */
const BATCH_ROUNDS_PER_STEP = 20;

/** A run of the model on some rows: parameters in, the program's value out (inside a backend scope). */
type Evaluate = (rt: Runtime, params: readonly unknown[], inputs: Inputs) => unknown;

function pick(col: Float64Array, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length);
  rows.forEach((r, i) => out[i] = col[r]);
  return out;
}

/**
 * Checks that the model's value is one prediction per row (a tensor of n, or a number
 * for every row) and returns its shape.
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

/** The model's value as plain numbers: a prediction per row. */
function predictionOf(B: Backend, v: unknown, n: number, file: string): Float64Array {
  if (checkPrediction(B, v, n, file).length === 0) {
    return new Float64Array(n).fill(typeof v === "number" ? v : B.toNumber(v));
  }
  return Float64Array.from(B.toNested(v) as number[]);
}

/**
 * Fits a loaded spec.
 *
 * @example
 * ```ts
 * import { loadSpec } from "./spec.ts";
 * const result = await fitSpec(await loadSpec("fixtures/specs/exponential_decay.json"));
 * result.params.map((p) => [p.name, p.value, p.se]);
 * ```
 */
export async function fitSpec(loaded: LoadedSpec, options: FitOptions = {}): Promise<FitResult> {
  const t0 = performance.now();
  const { spec, dir } = loaded;
  const backendName = options.backend ?? spec.backend;
  const mode = options.mode ?? spec.mode;
  const B = await backendByName(backendName);
  const rt = runtimeFor(B);
  const prog: Program = loadProgram(loaded.programText, loaded.programFile);
  const params = fitParams(spec, prog.params);
  const table: Table = await loadTable(spec.data, dir, neededColumns(spec));
  const split = splitRows(table, spec.split);
  const column = (name: string) => table.columns.get(name)!;

  const evaluate: Evaluate = mode === "direct"
    ? (rt, ps, inputs) => execute(prog, rt, ps, undefined, inputs)
    : (rt, ps, inputs) => interpret(prog, rt, ps, { inputs });

  const loss = spec.loss;
  const withSigma = loss.kind === "gaussian-nll";
  const free = params.map((p, i) => (p.fixed ? -1 : i)).filter((i) => i >= 0);
  const nu = free.length + (withSigma ? 1 : 0);

  const inputsFor = (rows: readonly number[]): Inputs =>
    Object.fromEntries(Object.entries(spec.inputs).map(([v, c]) => [v, pick(column(c), rows)]));
  const targetFor = (rows: readonly number[]) =>
    spec.target === undefined ? null : pick(column(spec.target), rows);

  // θ (program parameters, then sigma) from the optimizer's u.
  const thetaOf = (u: Float64Array): number[] => {
    const theta = params.map((p) => p.init);
    free.forEach((i, j) => theta[i] = toTheta(params[i].transform, u[j]));
    if (withSigma) theta.push(Math.exp(u[free.length]));
    return theta;
  };
  const u0 = new Float64Array(nu);
  free.forEach((i, j) => u0[j] = toU(params[i].transform, params[i].init, params[i].name));
  if (withSigma) {
    const y = targetFor(split.train)!;
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, y.length - 1)) || 1;
    u0[free.length] = Math.log(loss.kind === "gaussian-nll" && loss.sigma_init ? loss.sigma_init : sd);
  }

  /** The loss of the model on `rows` as a backend value (differentiable). */
  const lossValue = (ps: readonly unknown[], inputs: Inputs, y: Float64Array | null): unknown => {
    const np = params.length;
    const v = evaluate(rt, ps.slice(0, np), inputs);
    if (loss.kind === "program") {
      if (typeof v !== "number" && !B.isTensor(v)) {
        throw new DmciError(
          "type",
          `${prog.file}: the program's value must be a real number (the ${loss.returns})`,
        );
      }
      return loss.returns === "log-likelihood" ? (typeof v === "number" ? -v : B.unary("neg", v)) : v;
    }
    checkPrediction(B, v, y!.length, prog.file);
    const r = B.binary("sub", v, B.tensor(Array.from(y!)));
    if (loss.kind === "mse") return B.mean(B.unary("square", r));
    const sigma = ps[np];
    const n = y!.length;
    const sse = B.sum(B.unary("square", r));
    const quad = B.binary("div", sse, B.binary("mul", 2, B.unary("square", sigma)));
    return B.binary(
      "add",
      B.binary("mul", n, B.unary("log", sigma)),
      B.binary("add", quad, (n / 2) * Math.log(2 * Math.PI)),
    );
  };
  /**
   * The loss on `rows` and its gradient in u. With `profiled`, an mse loss becomes the
   * Gaussian negative log-likelihood with σ profiled out, (n/2)·log(mse): the same
   * minimiser, but scale-free, so convergence tolerances and the Hessian mean the same
   * whatever the units of the data.
   */
  const objectiveFor = (rows: readonly number[], profiled = false): Objective => {
    const inputs = inputsFor(rows);
    const y = targetFor(rows);
    const profile = profiled && loss.kind === "mse";
    return (u: Float64Array): Evaluation => {
      const theta = thetaOf(u);
      const r = B.valueAndGrad((ps) => lossValue(ps, inputs, y), theta);
      const grad = new Float64Array(nu);
      free.forEach((i, j) => grad[j] = (r.grad[i] as number) * dThetaDu(params[i].transform, u[j]));
      if (withSigma) grad[free.length] = (r.grad[params.length] as number) * Math.exp(u[free.length]);
      if (!profile) return { value: r.value, grad };
      const half = rows.length / 2;
      return { value: half * Math.log(r.value), grad: grad.map((g) => (half * g) / r.value) };
    };
  };

  /** The per-restart losses, shape [R], of a batched evaluation (parameters [R, 1]). */
  const batchLosses = (
    ps: readonly unknown[],
    inputs: Inputs,
    y: Float64Array | null,
    R: number,
  ): unknown => {
    const np = params.length;
    const v = evaluate(rt, ps.slice(0, np), inputs);
    const toR = (x: unknown, what: string): unknown => {
      const shape = typeof x === "number" ? [] : B.shape(x);
      const size = shape.reduce((a, b) => a * b, 1);
      if (shape.length > 0 && size !== R) {
        throw new DmciError(
          "type",
          `${prog.file}: batched restarts: ${what} has shape [${shape}], not one per restart`,
        );
      }
      return shape.length === 0 ? B.binary("mul", x, B.fill([R], 1)) : B.reshape(x, [R]);
    };
    if (loss.kind === "program") {
      if (typeof v !== "number" && !B.isTensor(v)) {
        throw new DmciError(
          "type",
          `${prog.file}: the program's value must be a real number (the ${loss.returns})`,
        );
      }
      const l = toR(v, "the program's value");
      return loss.returns === "log-likelihood" ? B.unary("neg", l) : l;
    }
    const n = y!.length;
    const shape = typeof v === "number" ? [] : B.isTensor(v) ? B.shape(v) : null;
    const ok = shape && (shape.length === 0 || (shape.length === 1 && shape[0] === n) ||
      (shape.length === 2 && (shape[0] === R || shape[0] === 1) && shape[1] === n));
    if (!ok) {
      throw new DmciError(
        "type",
        `${prog.file}: batched restarts: the prediction has shape [${shape ?? "?"}], expected [${R}, ${n}]`,
      );
    }
    const r = B.binary("sub", B.binary("mul", v, B.fill([R, 1], 1)), B.tensor(Array.from(y!)));
    const sse = B.sum(B.unary("square", r), 1);
    if (loss.kind === "mse") return B.binary("mul", n / 2, B.unary("log", B.binary("div", sse, n)));
    const sigma = B.reshape(ps[np], [R]);
    const quad = B.binary("div", sse, B.binary("mul", 2, B.unary("square", sigma)));
    return B.binary(
      "add",
      B.binary("mul", n, B.unary("log", sigma)),
      B.binary("add", quad, (n / 2) * Math.log(2 * Math.PI)),
    );
  };

  /**
   * Optimises every start as its own problem (its own L-BFGS memory, line search and stopping
   * test), all evaluated by one batched run of the program per round.
   */
  const batchedRestarts = (
    starts: Float64Array[],
    opts: Parameters<typeof minimize>[3] & { onRestartStep: (k: number, p: TracePoint) => void },
  ): { runs: OptimResult[]; rounds: number } => {
    const R = starts.length;
    const inputs = inputsFor(split.train);
    const y = targetFor(split.train);
    const thetaBatch = (U: Float64Array) => {
      const column = (f: (r: number) => number) => ({
        shape: [R, 1],
        data: Float64Array.from({ length: R }, (_, r) => f(r)),
      });
      const theta = params.map((p, i) => {
        const j = free.indexOf(i);
        return j < 0 ? p.init : column((r) => toTheta(p.transform, U[r * nu + j]));
      });
      if (withSigma) theta.push(column((r) => Math.exp(U[r * nu + free.length])));
      return theta;
    };
    const batch: BatchObjective = (U) => {
      let values = new Float64Array(R);
      // The sum's gradient with respect to restart r's parameters is restart r's own gradient:
      // the restarts share no parameter.
      const res = B.valueAndGrad((ps) => {
        const each = batchLosses(ps, inputs, y, R);
        values = Float64Array.from(B.toNested(each) as number[]);
        return B.sum(each);
      }, thetaBatch(U));
      const grads = new Float64Array(R * nu);
      const gOf = (k: number, r: number) => {
        const g = res.grad[k];
        return typeof g === "number" ? g : g.data[r];
      };
      for (let r = 0; r < R; r++) {
        free.forEach((i, j) => grads[r * nu + j] = gOf(i, r) * dThetaDu(params[i].transform, U[r * nu + j]));
        if (withSigma) {
          grads[r * nu + free.length] = gOf(params.length, r) * Math.exp(U[r * nu + free.length]);
        }
      }
      return { values, grads };
    };
    const U0 = new Float64Array(R * nu);
    starts.forEach((s, r) => U0.set(s, r * nu));
    const res = batchLbfgs(batch, U0, R, nu, {
      steps: opts.steps,
      maxRounds: BATCH_ROUNDS_PER_STEP * (opts.steps ?? 500),
      tolerance: opts.tolerance,
      gradientTolerance: opts.tolerance,
      onStep: opts.onRestartStep,
    });
    return { runs: res.runs, rounds: res.rounds };
  };

  const train = objectiveFor(split.train, true);
  const first = nu > 0 ? train(u0) : null;
  if (first && !Number.isFinite(first.value)) {
    const at = params.map((p) => `${p.name}=${p.init}`).join(", ");
    throw new DmciError(
      "type",
      `the loss is ${first.value} at the initial parameters (${at}); check the program and the inits`,
      {
        file: prog.file,
        line: 1,
        col: 1,
      },
    );
  }

  // Optimise from each start; the first start is the inits, the others are jittered.
  const o = spec.optimizer;
  // float32 gradients (tfjs) cannot resolve a 1e-9 relative decrease, and their finite
  // differences need a larger step: both are widened there, and said so in the results.
  const float32 = B.name !== "f64";
  const tolerance = float32 ? Math.max(o.tolerance, FLOAT32_TOLERANCE) : o.tolerance;
  const notes: string[] = [];
  if (tolerance !== o.tolerance) {
    notes.push(`tolerance raised from ${o.tolerance} to ${tolerance}: ${B.name} computes in float32`);
  }
  const gaussian = normal(o.seed);
  const starts: Float64Array[] = [];
  for (let k = 0; k < o.restarts && nu > 0; k++) {
    starts.push(Float64Array.from(u0, (u, j) => {
      if (k === 0) return u;
      const t = j < free.length ? params[free[j]].transform : { kind: "positive" as const };
      const scale = t.kind === "free" ? 0.5 * Math.max(1, Math.abs(u)) : t.kind === "positive" ? 0.5 : 1;
      return u + scale * gaussian();
    }));
  }
  const optimOptions = (restart: number) => ({
    steps: o.steps,
    tolerance,
    learningRate: o.learning_rate,
    onStep: (p: TracePoint) =>
      options.onProgress?.({ restart, restarts: o.restarts, step: p.iter, steps: o.steps, loss: p.value }),
  });
  const tOpt = performance.now();
  let runs: OptimResult[] | null = null;
  let rounds: number | null = null;
  if (starts.length > 1 && float32 && o.method === "lbfgs") {
    // All restarts in one evaluation per step: each parameter a column [restarts, 1], so the
    // program computes every restart at once by broadcasting. A program that cannot (a
    // branch on a parameter, say) falls back to one restart at a time. Only on tfjs, whose
    // per-op cost hardly depends on size; on f64 a scalar op is ~50× cheaper than a tiny
    // tensor op, so there one restart at a time is faster (measured: Kalman spec, 4 restarts,
    // 0.6 s one by one against 2.3 s batched).
    try {
      const batched = batchedRestarts(starts, {
        ...optimOptions(0),
        onRestartStep: (k, p) => optimOptions(k + 1).onStep(p),
      });
      runs = batched.runs;
      rounds = batched.rounds;
    } catch (e) {
      if (!(e instanceof DmciError) || e.kind !== "type") throw e;
      notes.push(`restarts ran one at a time: the program cannot run them batched (${e.message})`);
    }
  }
  runs ??= starts.map((start, k) => minimize(o.method, train, start, optimOptions(k + 1)));
  const secondsOptimizer = (performance.now() - tOpt) / 1000;
  let best = 0;
  runs.forEach((r, k) => {
    if (Number.isFinite(r.value) && !(r.value >= runs[best].value)) best = k;
  });
  const uHat = runs.length ? runs[best].x : u0;
  const thetaHat = thetaOf(uHat);

  // Standard errors: inverse Hessian of the negative log-likelihood in u, through the
  // transforms (delta method). For mse the likelihood is Gaussian with σ² estimated.
  const nTrain = split.train.length;
  let seU: Float64Array | null = null;
  let seNote: string | undefined;
  const isLikelihood = loss.kind !== "program" || loss.returns === "log-likelihood";
  if (!isLikelihood) seNote = "the program's loss is not a log-likelihood, so it implies no standard errors";
  else if (nu > 0) {
    const h = hessianFromGradients(train, uHat, float32 ? FLOAT32_HESSIAN_STEP : undefined);
    let scale = 1;
    if (loss.kind === "mse") {
      // The profile likelihood's inverse Hessian uses σ̂² = SSE/n; rescale to SSE/(n−p).
      const dof = nTrain - nu;
      if (dof <= 0) seNote = `too few rows (${nTrain}) for ${nu} parameters`;
      scale = nTrain / dof;
    }
    const inv = seNote ? null : invertSpd(h, nu);
    if (!seNote && !inv) seNote = "the Hessian at the optimum is not positive definite";
    if (inv) seU = Float64Array.from({ length: nu }, (_, j) => Math.sqrt(scale * inv[j * nu + j]));
  }
  const fitted: FittedParam[] = params.map((p, i) => {
    const j = free.indexOf(i);
    const se = j >= 0 && seU ? seU[j] * Math.abs(dThetaDu(p.transform, uHat[j])) : null;
    return {
      name: p.name,
      value: thetaHat[i],
      se,
      init: p.init,
      transform: p.transform.kind,
      fixed: p.fixed,
      role: "program",
    };
  });
  if (withSigma) {
    const j = free.length;
    fitted.push({
      name: "sigma",
      value: thetaHat[params.length],
      se: seU ? seU[j] * thetaHat[params.length] : null,
      init: Math.exp(u0[j]),
      transform: "positive",
      fixed: false,
      role: "noise",
    });
  }

  // Metrics on train and test rows at θ̂.
  const metrics = (rows: readonly number[]): SplitMetrics => {
    const lossAt = nu > 0 || rows.length ? objectiveFor(rows)(uHat).value : null;
    if (spec.target === undefined) return { rows: rows.length, loss: lossAt, rmse: null, r2: null };
    const y = targetFor(rows)!;
    const pred = predict(rows);
    let sse = 0, sst = 0;
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    y.forEach((v, i) => {
      sse += (v - pred[i]) ** 2;
      sst += (v - mean) ** 2;
    });
    return {
      rows: rows.length,
      loss: lossAt,
      rmse: Math.sqrt(sse / y.length),
      r2: sst > 0 ? 1 - sse / sst : null,
    };
  };
  const predict = (rows: readonly number[]): Float64Array => {
    const inputs = inputsFor(rows);
    return B.run(
      (ps) => predictionOf(B, evaluate(rt, ps, inputs), rows.length, prog.file),
      thetaHat.slice(0, params.length),
    );
  };
  const trainMetrics = metrics(split.train);
  const testMetrics = split.test.length ? metrics(split.test) : null;

  let logLik: number | null = null;
  const bestLoss = trainMetrics.loss;
  if (bestLoss !== null) {
    if (loss.kind === "program" && loss.returns === "log-likelihood") logLik = -bestLoss;
    else if (loss.kind === "gaussian-nll") logLik = -bestLoss;
    else if (loss.kind === "mse") logLik = -(nTrain / 2) * (Math.log(2 * Math.PI * bestLoss) + 1);
  }

  let svg: string | null = null;
  if (options.plot !== false && spec.target !== undefined) {
    const all = Array.from({ length: table.rows }, (_, i) => i);
    const xName = spec.plot?.x ?? Object.values(spec.inputs)[0];
    const x = xName ? column(xName) : Float64Array.from(all);
    const role: ("train" | "test")[] = all.map(() => "train");
    split.test.forEach((r) => role[r] = "test");
    const fittedAll = predict(all);
    svg = await renderFitPlot({
      title: `${spec.name}: data and fit (${mode}, ${B.name})`,
      xLabel: xName ?? "row",
      yLabel: spec.target,
      x,
      observed: column(spec.target),
      fitted: fittedAll,
      split: role,
    });
  }

  return {
    name: spec.name,
    spec: loaded.file,
    program: loaded.programFile,
    backend: B.name,
    mode,
    loss_kind: loss.kind === "program" ? `program (${loss.returns})` : loss.kind,
    params: fitted,
    standard_errors: {
      method:
        "inverse of the Hessian of the negative log-likelihood (central differences of exact gradients), " +
        "mapped through the transforms by the delta method" +
        (loss.kind === "mse" ? "; mse: Gaussian errors, σ profiled out, σ² = SSE/(n−p)" : ""),
      available: seU !== null,
      ...(seNote ? { note: seNote } : {}),
    },
    log_likelihood: logLik,
    train: trainMetrics,
    test: testMetrics,
    optimizer: {
      method: o.method,
      restarts: runs.map((r, k) => ({
        restart: k,
        loss: r.value,
        iterations: r.iterations,
        converged: r.converged,
        reason: r.reason,
        evaluations: r.evaluations,
        trace: r.trace,
        warnings: r.warnings,
      })),
      best_restart: best,
      batched_rounds: rounds,
      trace: runs.length ? runs[best].trace : [],
      warnings: [...notes, ...runs.flatMap((r, k) => r.warnings.map((w) => `restart ${k}: ${w}`))],
    },
    data: { source: table.source, rows: table.rows, dropped: table.dropped ?? 0 },
    timing: { seconds_total: (performance.now() - t0) / 1000, seconds_optimizer: secondsOptimizer },
    svg,
  };
}
