/**
 * The El Niño benchmark: each model's interpreted Kalman log-likelihood maximised by each method
 * under the same budget (wall clock and/or evaluation count, lib/fit/optim/budget.ts), from the
 * same start; the gradient methods (L-BFGS, Adam) through the staged value+gradient, the
 * gradient-free ones (Nelder–Mead, CMA-ES, random search) through the forward-only replay. Each
 * fit is scored on the test years by the filter's one-step-ahead log-likelihood and RMSE. This
 * module computes and returns; lib/domains/enso_command.ts prints and writes files.
 */
import { DmciError } from "../../errors.ts";
import { f64Backend } from "../../backend/f64/mod.ts";
import type { StageStats } from "../../backend/backend.ts";
import {
  type Budget,
  type BudgetPoint,
  cmaEs,
  Meter,
  minimize,
  nelderMead,
  randomSearch,
  withBudget,
} from "../../fit/optim/mod.ts";
import { renderFitPlot, renderVegaLite } from "../../fit/plot.ts";
import { anomalies, dataFiles, type PreparedData, readMonthly, standardised } from "./data.ts";
import { type EnsoModel, loadModel, type ModelId, modelInputs } from "./models.ts";
import { forwardLoglik, likelihood, loglikAndGrad, predictions } from "./likelihood.ts";

/** The method ids of the benchmark. */
export const METHOD_IDS = ["lbfgs", "adam", "nelder-mead", "cma-es", "random"] as const;
/** A method id. */
export type MethodId = (typeof METHOD_IDS)[number];

/** The search scale of every gradient-free method (simplex edge, CMA-ES σ₀, random-search σ). */
export const SEARCH_STEP = 0.1;
/** Adam's learning rate. */
export const ADAM_RATE = 0.01;

/** One row of the table (and of `--json`). */
export interface EnsoRow {
  readonly model: ModelId;
  readonly method: MethodId;
  readonly train_loglik: number;
  readonly test_loglik: number;
  readonly test_rmse: number;
  readonly evaluations: number;
  readonly seconds: number;
}

/** One method's run on one model. */
export interface MethodRun {
  readonly row: EnsoRow;
  /** Best train log-likelihood over time (the meter's history, sign flipped). */
  readonly history: readonly BudgetPoint[];
  /** Why it stopped: the budget, or the optimizer's own reason. */
  readonly stopped: string;
  /** The best θ. */
  readonly theta: Float64Array;
  /** The fitted filter's one-step predictions at θ on the test months (`testScore`'s). */
  readonly predicted: readonly (readonly number[])[];
}

/** The equal-evaluation comparison: every method's best within the same number of evaluations. */
export interface EqualEvaluations {
  readonly evaluations: number;
  readonly rows: readonly { readonly method: MethodId; readonly train_loglik: number }[];
}

/** One model's results. */
export interface ModelReport {
  readonly model: ModelId;
  readonly description: string;
  readonly parameters: number;
  readonly trainMonths: number;
  readonly testMonths: number;
  readonly data: string;
  readonly startLoglik: number;
  readonly runs: readonly MethodRun[];
  readonly equal: EqualEvaluations;
  /** How the staged likelihood ran (recordings, replays, guard failures). */
  readonly stage: StageStats;
  /** name → SVG text (empty without plots). */
  readonly svgs: ReadonlyMap<string, string>;
}

/** Options of `runEnsoBench`. */
export interface EnsoBenchOptions {
  readonly models: readonly ModelId[];
  readonly methods: readonly MethodId[];
  readonly dim: number;
  /** The budget of each method on each model. */
  readonly budget: Budget;
  readonly dataDir: string;
  readonly seed: number;
  readonly plot: boolean;
  readonly onProgress?: (line: string) => void;
}

/** Seconds between progress lines of one run. */
const PROGRESS_EVERY = 15;

/** Reads the data a model needs (each file once). */
async function dataFor(kind: "nino12" | "pacific", dir: string, cache: Map<string, PreparedData>) {
  const hit = cache.get(kind);
  if (hit) return hit;
  const files = dataFiles(dir);
  const d = kind === "nino12"
    ? anomalies(await readMonthly(files.nino12), 1950, 1999, 2010)
    : standardised(await readMonthly(files.pacific), 1978, 2009, 2020);
  cache.set(kind, d);
  return d;
}

/**
 * Runs the benchmark: for each model, each method from the program's starting θ under
 * `budget`, scored on the test years.
 *
 * @example
 * ```ts
 * const reports = await runEnsoBench({ models: ["ar1+noise"], methods: ["lbfgs", "random"], dim: 20,
 *   budget: { evaluations: 100 }, dataDir: ENSO_DATA_DIR, seed: 0, plot: false });
 * ```
 */
export async function runEnsoBench(o: EnsoBenchOptions): Promise<ModelReport[]> {
  const say = o.onProgress ?? (() => {});
  const cache = new Map<string, PreparedData>();
  const reports: ModelReport[] = [];
  for (const id of o.models) {
    const data = await dataFor(id === "latent-var" ? "pacific" : "nino12", o.dataDir, cache);
    const model = await loadModel(id, { dim: o.dim, seed: o.seed, series: data.names.length });
    reports.push(await benchModel(model, data, o, say));
  }
  return reports;
}

async function benchModel(
  model: EnsoModel,
  data: PreparedData,
  o: EnsoBenchOptions,
  say: (line: string) => void,
): Promise<ModelReport> {
  const lik = likelihood(model, modelInputs(data, 0, data.trainEnd), f64Backend);
  const theta0 = lik.theta0;
  // Warm up: the first calls record the trace; no method's clock should pay for that.
  const startLoglik = loglikAndGrad(lik, theta0).value;
  forwardLoglik(lik, theta0);
  say(
    `${model.id}: ${model.description}; ${data.trainEnd} training months, start log-likelihood ${
      startLoglik.toFixed(3)
    }`,
  );

  const runs: MethodRun[] = [];
  const meters: Meter[] = [];
  for (const method of o.methods) {
    const meter = new Meter(o.budget);
    let lastSay = 0;
    const progress = () => {
      const s = meter.seconds();
      if (s - lastSay >= PROGRESS_EVERY) {
        lastSay = s;
        say(
          `${model.id} ${method}: ${s.toFixed(0)} s, ${meter.evaluations} evaluations, best log-likelihood ${
            (-meter.bestValue).toFixed(3)
          }`,
        );
      }
    };
    // Losses are −log L; a numerical error of the program at an extreme θ is a failed (NaN) point.
    const loss = meter.value((x) => {
      progress();
      let v: number;
      try {
        v = -forwardLoglik(lik, x);
      } catch (e) {
        if (!(e instanceof DmciError)) throw e;
        v = NaN;
      }
      return v;
    });
    const lossAndGrad = meter.objective((x) => {
      progress();
      try {
        const r = loglikAndGrad(lik, x);
        return { value: -r.value, grad: r.grad.map((g) => -g) };
      } catch (e) {
        if (!(e instanceof DmciError)) throw e;
        return { value: NaN, grad: new Float64Array(x.length).fill(NaN) };
      }
    });
    const forever = 1e12;
    const r = withBudget(meter, (): string => {
      switch (method) {
        case "lbfgs":
        case "adam":
          return minimize(method, lossAndGrad, theta0, {
            steps: forever,
            tolerance: 1e-10,
            learningRate: ADAM_RATE, // read by Adam only
          }).reason;
        case "nelder-mead":
          return nelderMead(loss, theta0, { steps: forever, tolerance: 1e-10, step: SEARCH_STEP }).reason;
        case "cma-es":
          return cmaEs(loss, theta0, {
            steps: forever,
            tolerance: 1e-10,
            step: SEARCH_STEP,
            seed: o.seed + 1,
          })
            .reason;
        case "random":
          return randomSearch(loss, theta0, { steps: forever, step: SEARCH_STEP, seed: o.seed + 2 }).reason;
      }
    });
    const theta = r.x ?? theta0;
    const score = testScore(model, data, theta);
    const row: EnsoRow = {
      model: model.id,
      method,
      train_loglik: -r.value,
      test_loglik: score.loglik,
      test_rmse: score.rmse,
      evaluations: r.evaluations,
      seconds: r.seconds,
    };
    const stopped = r.result ?? r.stopped;
    say(
      `${model.id} ${method}: done, ${r.evaluations} evaluations in ${r.seconds.toFixed(1)} s, train ${
        row.train_loglik.toFixed(3)
      }, test ${row.test_loglik.toFixed(3)} (${stopped})`,
    );
    meters.push(meter);
    runs.push({
      row,
      history: r.history.map((p) => ({ ...p, best: -p.best })),
      stopped,
      theta,
      predicted: score.predicted,
    });
  }
  const common = Math.min(...meters.map((m) => m.evaluations));
  const equal: EqualEvaluations = {
    evaluations: common,
    rows: runs.map((run, i) => ({ method: run.row.method, train_loglik: -meters[i].bestWithin(common) })),
  };
  const svgs = new Map<string, string>();
  if (o.plot && runs.length) {
    svgs.set(`${model.id}_loglik_time`, await loglikTimePlot(model, runs, startLoglik));
    const best = runs.reduce((a, b) => (b.row.train_loglik > a.row.train_loglik ? b : a));
    svgs.set(`${model.id}_predictions`, await predictionPlot(model, data, best));
  }
  return {
    model: model.id,
    description: model.description,
    parameters: theta0.length,
    trainMonths: data.trainEnd,
    testMonths: data.rows.length - data.trainEnd,
    data: data.file,
    startLoglik,
    runs,
    equal,
    stage: lik.staged.stats(),
    svgs,
  };
}

/**
 * The one-step-ahead score on the test months of the filter run over all months at θ (so the
 * test months are predicted from everything before them): the sum of their log-likelihood terms
 * and the RMSE of their predictions over the observed cells.
 *
 * @example
 * ```ts
 * testScore(model, data, theta); // { loglik: -60.2, rmse: 0.41 }
 * ```
 */
export function testScore(model: EnsoModel, data: PreparedData, theta: Float64Array): {
  loglik: number;
  rmse: number;
  predicted: number[][];
} {
  const p = predictions(model, modelInputs(data, 0, data.rows.length), f64Backend, theta);
  let loglik = 0, sq = 0, cells = 0;
  for (let t = data.trainEnd; t < data.rows.length; t++) {
    loglik += p.loglik[t];
    data.rows[t].forEach((y, j) => {
      if (!Number.isNaN(y)) {
        sq += (y - p.predicted[t][j]) ** 2;
        cells++;
      }
    });
  }
  return { loglik, rmse: Math.sqrt(sq / cells), predicted: p.predicted.slice(data.trainEnd) };
}

const METHOD_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2"];

/** Train log-likelihood (best so far) against wall time, one step line per method. */
async function loglikTimePlot(model: EnsoModel, runs: readonly MethodRun[], start: number): Promise<string> {
  const values: { method: string; seconds: number; loglik: number }[] = [];
  let dropped = 0;
  for (const run of runs) {
    const points = [...run.history, {
      seconds: run.row.seconds,
      evaluations: run.row.evaluations,
      best: run.row.train_loglik,
    }];
    for (const p of points) {
      if (Number.isFinite(p.best) && p.best >= start) {
        values.push({ method: run.row.method, seconds: Math.max(p.seconds, 1e-3), loglik: p.best });
      } else dropped++;
    }
  }
  return await renderVegaLite({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `${model.id}: best train log-likelihood vs wall time`,
      subtitle: `${model.description}; start ${start.toFixed(1)}` +
        (dropped ? `; ${dropped} points below the start left out` : ""),
    },
    width: 560,
    height: 320,
    data: { values },
    mark: { type: "line", interpolate: "step-after", point: true },
    encoding: {
      x: {
        field: "seconds",
        type: "quantitative",
        scale: { type: "log" },
        title: "wall time (s, log scale)",
      },
      y: { field: "loglik", type: "quantitative", scale: { zero: false }, title: "train log-likelihood" },
      color: {
        field: "method",
        type: "nominal",
        scale: { domain: [...METHOD_IDS], range: METHOD_COLORS },
      },
    },
  });
}

/** The fitted filter's one-step predictions against the data on the test months, one panel per series. */
async function predictionPlot(model: EnsoModel, data: PreparedData, run: MethodRun): Promise<string> {
  const x: number[] = [], observed: number[] = [], fitted: number[] = [], panels: string[] = [];
  for (let t = data.trainEnd; t < data.rows.length; t++) {
    data.names.forEach((name, j) => {
      x.push(data.years[t] + (data.months[t] - 1) / 12);
      observed.push(data.rows[t][j]);
      fitted.push(run.predicted[t - data.trainEnd][j]);
      panels.push(name);
    });
  }
  return await renderFitPlot({
    title: `${model.id}: one-step predictions on the test years (${run.row.method} fit, RMSE ${
      run.row.test_rmse.toFixed(3)
    })`,
    xLabel: "year",
    xFormat: "d",
    yLabel: model.data === "nino12" ? "SST anomaly (°C)" : "standardised index",
    x,
    observed,
    fitted,
    split: x.map(() => "test"),
    panels: data.names.length > 1 ? panels : undefined,
  });
}
