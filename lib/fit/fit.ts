/**
 * Fitting a spec, as a composition of named stages: the problem (program, backend, parameters,
 * table; problem.ts), multi-start calibration of its objective on the training rows
 * (objective.ts, restarts.ts), standard errors (uncertainty.ts), train and test metrics
 * (metrics.ts), the results document (result.ts) and the plot. This module only wires them; it
 * does no I/O but reading the spec's files (results are written by lib/fit/command.ts).
 */
import { backendByName } from "../backend/select.ts";
import { loadProgram, type Program } from "../program.ts";
import { type LoadedSpec, neededColumns } from "./spec.ts";
import { loadTable } from "./data.ts";
import { splitRows } from "./split.ts";
import { type FitProblem, fitProblem, initialU, thetaOf } from "./problem.ts";
import { predict } from "./objective.ts";
import { calibrate, restartStarts } from "./restarts.ts";
import { fittedParams, standardErrors } from "./uncertainty.ts";
import { logLikelihood, splitMetrics } from "./metrics.ts";
import { type FitResult, optimizerReport } from "./result.ts";
import { renderFitPlot } from "./plot.ts";
import type { Limits } from "../compile/runtime.ts";
import { getOrMake } from "../bounded_cache.ts";

export type { FitResult, FittedParam, OptimizerReport, RestartReport, SplitMetrics } from "./result.ts";

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
  /** Trace and replay the objective on f64 (default true; `--no-trace` sets false). */
  readonly trace?: boolean;
  /** Limits of each run of the program (fuel, depth; default: DEFAULT_LIMITS). */
  readonly limits?: Partial<Limits>;
  /** Largest number of elements a tensor may have (default: the backend's). */
  readonly maxTensorSize?: number;
}

/** Programs loaded by fits, by file and text (a Program is immutable and backend-independent). */
const PROGRAMS = new Map<string, Program>();
const MAX_PROGRAMS = 32;

/**
 * The program of `text` read from `file`, loaded once per process: a later fit of the same
 * program reuses it, and with it its prepared evaluator entry and its staged losses' traces.
 */
function programOf(text: string, file: string): Program {
  return getOrMake(PROGRAMS, `${file}\n${text}`, MAX_PROGRAMS, () => loadProgram(text, file));
}

/**
 * Fits a loaded spec: load the table and split it, calibrate from the inits and the spec's
 * restarts on the training rows, then standard errors, metrics on train and test rows, the
 * log-likelihood and the plot.
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
  const { spec } = loaded;
  const problem = fitProblem({
    backend: await backendByName(
      options.backend ?? spec.backend,
      options.maxTensorSize === undefined ? undefined : { maxTensorSize: options.maxTensorSize },
    ),
    program: programOf(loaded.programText, loaded.programFile),
    table: await loadTable(spec.data, loaded.dir, neededColumns(spec)),
    spec,
    mode: options.mode ?? spec.mode,
    trace: options.trace,
    limits: options.limits,
  });
  const split = splitRows(problem.table, spec.split);
  const o = spec.optimizer;
  const u0 = initialU(problem, split.train);
  const calibration = calibrate(problem, split.train, restartStarts(problem, u0, o.restarts, o.seed), {
    method: o.method,
    steps: o.steps,
    tolerance: o.tolerance,
    learningRate: o.learning_rate,
    onStep: (k, p) =>
      options.onProgress?.({
        restart: k + 1,
        restarts: o.restarts,
        step: p.iter,
        steps: o.steps,
        loss: p.value,
      }),
  });
  const uHat = calibration.runs.length ? calibration.runs[calibration.best].x : u0;
  const se = standardErrors(problem, split.train, uHat);
  const train = splitMetrics(problem, split.train, uHat);
  const svg = options.plot === false || spec.target === undefined
    ? null
    : await plotFit(problem, split.test, thetaOf(problem, uHat), spec.name, spec.plot?.x);
  return {
    name: spec.name,
    spec: loaded.file,
    program: loaded.programFile,
    backend: problem.backend.name,
    mode: problem.mode,
    loss_kind: spec.loss.kind === "program" ? `program (${spec.loss.returns})` : spec.loss.kind,
    params: fittedParams(problem, uHat, u0, se.seU),
    standard_errors: { method: se.method, available: se.seU !== null, ...(se.note ? { note: se.note } : {}) },
    log_likelihood: logLikelihood(problem, train),
    train,
    test: split.test.length ? splitMetrics(problem, split.test, uHat) : null,
    optimizer: optimizerReport(o.method, calibration),
    data: { source: problem.table.source, rows: problem.table.rows, dropped: problem.table.dropped ?? 0 },
    timing: { seconds_total: (performance.now() - t0) / 1000, seconds_optimizer: calibration.seconds },
    svg,
  };
}

/** The data-vs-fit plot over every row, test rows marked. */
function plotFit(
  p: FitProblem,
  testRows: readonly number[],
  theta: readonly number[],
  name: string,
  x?: string,
): Promise<string> {
  const all = Array.from({ length: p.table.rows }, (_, i) => i);
  const xName = x ?? Object.values(p.inputs)[0];
  const role: ("train" | "test")[] = all.map(() => "train");
  testRows.forEach((r) => role[r] = "test");
  return renderFitPlot({
    title: `${name}: data and fit (${p.mode}, ${p.backend.name})`,
    xLabel: xName ?? "row",
    yLabel: p.target!,
    x: xName ? p.table.columns.get(xName)! : Float64Array.from(all),
    observed: p.table.columns.get(p.target!)!,
    fitted: predict(p, all, theta),
    split: role,
  });
}
