/**
 * The `fit` and `program` tasks: a model spec's table, split as `deno task fit` splits it; the
 * spec's test rows are dropped before the material is made, so the search never sees them. Of
 * the training rows (file order), the first (1 − validation) fit the constants and the last
 * `validation` fraction score the candidate: `fit` by the validation NMSE (mse / variance of the
 * validation target), `program` by the program's own loss (or −log-likelihood) on the validation
 * rows. Calibration is lib/fit's: multi-start L-BFGS through the evaluator (restarts.ts), Hessian
 * standard errors (uncertainty.ts), the validation objective's gradient (objective.ts).
 */
import { DmciError } from "../../errors.ts";
import type { Backend } from "../../backend/backend.ts";
import type { ProgramData } from "../../dmci.ts";
import { loadTable, tableFromColumns } from "../../fit/data.ts";
import { neededColumns, type Spec } from "../../fit/spec.ts";
import { splitRows } from "../../fit/split.ts";
import { type FitProblem, fitProblem, initialU, thetaOf, uOf } from "../../fit/problem.ts";
import { objectiveOn, predict } from "../../fit/objective.ts";
import { calibrate, restartStarts } from "../../fit/restarts.ts";
import { fittedParams, standardErrors } from "../../fit/uncertainty.ts";
import { dThetaDu } from "../../fit/params.ts";
import type { ConstantReport, TaskInfo } from "../types.ts";
import type { LoadedSearch } from "../spec.ts";
import type { Calibrated, Candidate, RunLimits, Stage, Task } from "./task.ts";

/** Plain data a fit or program task is made from (only the spec's training rows). */
export interface FitMaterial {
  readonly kind: "fit" | "program";
  readonly info: TaskInfo;
  /** The spec's training rows, by column. */
  readonly columns: Record<string, number[]>;
  readonly inputs: Record<string, string>;
  readonly target: string | undefined;
  readonly loss: Spec["loss"];
  /** Rows [0, fitRows) fit; [fitRows, n) validate. */
  readonly fitRows: number;
  readonly quickRows: number;
  readonly restarts: number;
  readonly steps: number;
  readonly quickSteps: number;
  readonly seed: number;
  readonly limits: RunLimits;
}

/** The rows of each role, as index lists into the material's columns. */
export function fitRoles(m: Pick<FitMaterial, "fitRows" | "quickRows" | "columns">): {
  fit: number[];
  validation: number[];
  quick: number[];
} {
  const n = Object.values(m.columns)[0]?.length ?? 0;
  const fit = Array.from({ length: m.fitRows }, (_, i) => i);
  const validation = Array.from({ length: n - m.fitRows }, (_, i) => m.fitRows + i);
  const k = Math.min(m.quickRows, fit.length);
  // An even subsample of the fit rows (first and last included).
  const quick = [
    ...new Set(Array.from({ length: k }, (_, i) => Math.round((i * (fit.length - 1)) / Math.max(1, k - 1)))),
  ];
  return { fit, validation, quick };
}

/** The data summary a proposer sees: sizes and ranges of the fit rows' columns. */
function summary(columns: Record<string, number[]>, fitRows: number): string {
  return Object.entries(columns).map(([name, v]) => {
    const xs = v.slice(0, fitRows);
    const lo = Math.min(...xs), hi = Math.max(...xs);
    return `${name}: ${xs.length} rows, from ${lo.toPrecision(4)} to ${hi.toPrecision(4)}`;
  }).join("; ");
}

/**
 * Prepares a fit or program task's material on the main thread: loads the table, drops the
 * spec's test rows, and fixes the validation rows.
 */
export async function fitMaterial(s: LoadedSearch): Promise<FitMaterial> {
  const { spec } = s;
  const b = spec.search;
  const full = spec as unknown as Spec;
  const table = await loadTable(spec.data!, s.dir, neededColumns(full));
  const { train } = splitRows(table, spec.split);
  const nFit = Math.floor(train.length * (1 - b.validation));
  if (nFit < 2 || train.length - nFit < 1) {
    throw new DmciError(
      "data",
      `${s.file}: ${train.length} training rows leave too few to fit (${nFit}) or to validate`,
    );
  }
  const columns: Record<string, number[]> = {};
  for (const [name, col] of table.columns) columns[name] = train.map((r) => col[r]);
  const kind = b.task === "program" ? "program" : "fit";
  const inputs = Object.keys(spec.inputs);
  return {
    kind,
    info: {
      kind,
      name: spec.name,
      inputs,
      goal: kind === "fit"
        ? `one prediction of ${spec.target} per row (a tensor as long as the inputs ${inputs.join(", ")})`
        : `the ${spec.loss.kind === "program" ? spec.loss.returns : "loss"} of the data, a real number`,
      dataSummary: summary(columns, nFit),
      allowedPrimitives: s.primitives,
      maxComplexity: b.max_complexity,
    },
    columns,
    inputs: spec.inputs,
    target: spec.target,
    loss: spec.loss,
    fitRows: nFit,
    quickRows: b.quick_rows,
    restarts: b.restarts,
    steps: b.steps,
    quickSteps: b.quick_steps,
    seed: spec.optimizer.seed,
    limits: { fuel: b.fuel, maxTensor: b.max_tensor },
  };
}

/** Variance of the values at `rows` of a column (1 when it does not vary, so the NMSE is the mse). */
function variance(col: Float64Array, rows: readonly number[]): number {
  const mean = rows.reduce((a, r) => a + col[r], 0) / rows.length;
  const v = rows.reduce((a, r) => a + (col[r] - mean) ** 2, 0) / rows.length;
  return v > 0 ? v : 1;
}

/** The problem of fitting `program` to the material's table (made from its columns when not given). */
export function problemOf(
  m: FitMaterial,
  backend: Backend,
  program: ProgramData,
  table = tableFromColumns(m.columns, Object.keys(m.columns), "error"),
): FitProblem {
  return fitProblem({
    backend,
    program,
    table,
    spec: { params: {}, inputs: m.inputs, target: m.target, loss: m.loss },
    mode: "interpreted",
    limits: { fuel: m.limits.fuel },
  });
}

/**
 * Makes the task on `backend` (which carries the tensor-size limit).
 *
 * @example
 * ```ts
 * const task = fitTask(await fitMaterial(await loadSearchSpec("fixtures/specs/oscillator-search.json")), f64Backend);
 * task.calibrate(readProgram("(* 1.0 (cos (* 2.0 t)))", "c.scm"), "full", null).score;
 * ```
 */
export function fitTask(m: FitMaterial, backend: Backend): Task {
  const roles = fitRoles(m);
  const table = tableFromColumns(m.columns, Object.keys(m.columns), "error");
  return {
    info: m.info,
    calibrate({ program }: Candidate, stage: Stage, warm: readonly number[] | null): Calibrated {
      const p = problemOf(m, backend, program, table);
      const rows = stage === "quick" ? roles.quick : roles.fit;
      const u0 = warm ? uOf(p, warm) : initialU(p, rows);
      const starts = restartStarts(p, u0, stage === "quick" ? 1 : m.restarts, m.seed);
      const c = calibrate(p, rows, starts, {
        method: "lbfgs",
        steps: stage === "quick" ? m.quickSteps : m.steps,
        tolerance: 1e-10,
        batch: "never",
      });
      const uHat = c.runs[c.best].x;
      if (!Number.isFinite(c.runs[c.best].value)) {
        throw new DmciError("type", `the training loss is ${c.runs[c.best].value} after calibration`);
      }
      const scoreRows = stage === "quick" ? roles.quick : roles.validation;
      const scored = objectiveOn(p, scoreRows)(uHat);
      const score = m.kind === "fit" ? nmse(p, scoreRows, uHat) : scored.value;
      if (!Number.isFinite(score)) throw new DmciError("type", `the ${stage} score is ${score}`);
      if (stage === "quick") return { score, constants: [], details: { train_loss: c.runs[c.best].value } };
      return {
        score,
        constants: constantReports(p, roles.fit, uHat, u0, scored.grad),
        details: { train_loss: c.runs[c.best].value, validation_loss: scored.value },
      };
    },
  };
}

/** MSE / variance of the target on `rows`, at uHat. */
export function nmse(p: FitProblem, rows: readonly number[], uHat: Float64Array): number {
  const col = p.table.columns.get(p.target!)!;
  const pred = predict(p, rows, thetaOf(p, uHat));
  let sse = 0;
  rows.forEach((r, i) => sse += (pred[i] - col[r]) ** 2);
  return sse / rows.length / variance(col, rows);
}

/**
 * Per constant: fitted value, Hessian standard error of the loss on `fitRows` at uHat, and
 * d(validation loss)/dθ from `gradU`, the validation loss's gradient in u (the battery task uses
 * it too).
 */
export function constantReports(
  p: FitProblem,
  fitRows: readonly number[],
  uHat: Float64Array,
  u0: Float64Array,
  gradU: Float64Array,
): ConstantReport[] {
  let seU: Float64Array | null = null;
  try {
    seU = standardErrors(p, fitRows, uHat).seU;
  } catch {
    seU = null;
  }
  const fitted = fittedParams(p, uHat, u0, seU);
  return p.params.map((q, i) => {
    const j = p.free.indexOf(i);
    const d = j >= 0 ? dThetaDu(q.transform, uHat[j]) : 0;
    const se = fitted[i].se;
    return {
      name: q.name,
      value: fitted[i].value,
      se: se !== null && Number.isFinite(se) ? se : null,
      validationGrad: j >= 0 && d !== 0 && Number.isFinite(gradU[j] / d) ? gradU[j] / d : null,
    };
  });
}
