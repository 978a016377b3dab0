/**
 * Metrics of a fitted problem on a set of rows: the loss as the optimizer sees it (unprofiled),
 * RMSE and R² of the predictions, and the log-likelihood the loss implies. Plain numbers out;
 * nothing here optimises.
 */
import { type FitProblem, thetaOf } from "./problem.ts";
import { lossAt, predict } from "./objective.ts";

/**
 * Metrics of one set of rows.
 *
 * @example
 * ```ts
 * const m: SplitMetrics = { rows: 40, loss: 0.0025, rmse: 0.05, r2: 0.99 };
 * ```
 */
export interface SplitMetrics {
  readonly rows: number;
  /** The loss as the optimizer sees it (−log-likelihood for a program log-likelihood). */
  readonly loss: number | null;
  readonly rmse: number | null;
  readonly r2: number | null;
}

/**
 * The loss (mse, Gaussian NLL, or the program's loss / −log-likelihood), RMSE and R² on `rows`
 * at `uHat`; RMSE and R² need a target, R² a target that varies.
 *
 * @example
 * ```ts
 * splitMetrics(problem, split.test, uHat); // { rows, loss, rmse, r2 } on held-out rows
 * ```
 */
export function splitMetrics(p: FitProblem, rows: readonly number[], uHat: Float64Array): SplitMetrics {
  const loss = p.nu > 0 || rows.length ? lossAt(p, rows, uHat) : null;
  if (p.target === undefined) return { rows: rows.length, loss, rmse: null, r2: null };
  const col = p.table.columns.get(p.target)!;
  const y = rows.map((r) => col[r]);
  const pred = predict(p, rows, thetaOf(p, uHat));
  let sse = 0, sst = 0;
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  y.forEach((v, i) => {
    sse += (v - pred[i]) ** 2;
    sst += (v - mean) ** 2;
  });
  return { rows: rows.length, loss, rmse: Math.sqrt(sse / y.length), r2: sst > 0 ? 1 - sse / sst : null };
}

/**
 * The log-likelihood of `rows` implied by the loss there: −NLL for `gaussian-nll` and a program
 * log-likelihood, −(n/2)(log(2π·mse) + 1) for mse (Gaussian, σ² at its MLE), null for a program
 * "loss".
 *
 * @example
 * ```ts
 * logLikelihood(problem, trainMetrics); // e.g. 72.1
 * ```
 */
export function logLikelihood(p: FitProblem, m: SplitMetrics): number | null {
  if (m.loss === null) return null;
  if (p.loss.kind === "program") return p.loss.returns === "log-likelihood" ? -m.loss : null;
  if (p.loss.kind === "gaussian-nll") return -m.loss;
  return -(m.rows / 2) * (Math.log(2 * Math.PI * m.loss) + 1);
}
