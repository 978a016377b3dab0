/**
 * The results document of a fit (what `fit --json` prints and `DIR/NAME.json` holds) and the
 * pieces of it built from a calibration. Types and plain assembly only: nothing here runs a model.
 */
import type { Calibration } from "./restarts.ts";
import type { FittedParam } from "./uncertainty.ts";
import type { SplitMetrics } from "./metrics.ts";
import type { TracePoint } from "./optim/types.ts";

export type { FittedParam } from "./uncertainty.ts";
export type { SplitMetrics } from "./metrics.ts";

/**
 * One restart as the results report it: its own loss, iterations, evaluations, convergence,
 * reason, trace and warnings.
 *
 * @example
 * ```ts
 * const r: RestartReport = {
 *   restart: 0, loss: -194.5, iterations: 9, converged: true, reason: "…", evaluations: 24, trace: [], warnings: [],
 * };
 * ```
 */
export interface RestartReport {
  restart: number;
  loss: number;
  iterations: number;
  converged: boolean;
  reason: string;
  /** This restart's own objective evaluations (in a batched run: the rounds it took part in). */
  evaluations: number;
  /** This restart's own convergence trace. */
  trace: TracePoint[];
  /** This restart's own warnings (also in the optimizer's `warnings`, prefixed "restart k:"). */
  warnings: string[];
}

/**
 * The optimizer block of the results.
 *
 * @example
 * ```ts
 * // optimizerReport("lbfgs", calibration).restarts[k].trace is restart k's own trace
 * ```
 */
export interface OptimizerReport {
  readonly method: string;
  readonly restarts: RestartReport[];
  readonly best_restart: number;
  /**
   * Batched evaluations when the restarts ran as one batch (each covers every restart; fewer
   * than the sum of the restarts' own evaluations), null when they ran one at a time.
   */
  readonly batched_rounds: number | null;
  /** The best restart's trace. */
  readonly trace: TracePoint[];
  readonly warnings: string[];
}

/**
 * The results of a fit (written as JSON).
 *
 * @example
 * ```ts
 * // const r: FitResult = await fitSpec(loaded); r.params, r.train.rmse, r.optimizer.restarts
 * ```
 */
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
  readonly optimizer: OptimizerReport;
  readonly data: { readonly source: string; readonly rows: number; readonly dropped: number };
  readonly timing: { readonly seconds_total: number; readonly seconds_optimizer: number };
  /** SVG text of the data-vs-fit plot (not written into the JSON file). */
  readonly svg: string | null;
}

/**
 * The optimizer block of a calibration: every restart's own report, the best one's trace, and the
 * notes and warnings of all.
 *
 * @example
 * ```ts
 * optimizerReport("lbfgs", calibrate(problem, rows, starts, options)).best_restart;
 * ```
 */
export function optimizerReport(method: string, c: Calibration): OptimizerReport {
  return {
    method,
    restarts: c.runs.map((r, k) => ({
      restart: k,
      loss: r.value,
      iterations: r.iterations,
      converged: r.converged,
      reason: r.reason,
      evaluations: r.evaluations,
      trace: r.trace,
      warnings: r.warnings,
    })),
    best_restart: c.best,
    batched_rounds: c.rounds,
    trace: c.runs.length ? c.runs[c.best].trace : [],
    warnings: [...c.notes, ...c.runs.flatMap((r, k) => r.warnings.map((w) => `restart ${k}: ${w}`))],
  };
}
