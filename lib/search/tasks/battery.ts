/**
 * The `battery` task: the protocol of `bench battery` on the data set's TRAINING cells only (its
 * test cells, chosen by the same seeded split as `bench battery --test-fraction F --seed S`, are
 * dropped before the material is made). A candidate's score is the early-split extrapolation RMSE
 * by leave-one-cell-out over the training cells: for each training cell, the globals are fitted on
 * the other training cells' full curves, then its per-cell parameters on its first 25% of rows,
 * and the RMSE is taken after that window; the score is the mean over cells. The fits are
 * lib/domains/battery/fit.ts's batched L-BFGS through the evaluator.
 *
 * Gradient feedback, as the fit task gives it: each constant's standard error from the Hessian of
 * the pooled training loss (every training cell's full curve, the program with its constants as
 * written in, σ² = SSE/(n−p)), and the gradient of the score itself w.r.t. it with the fits held
 * fixed: the mean over folds of d(RMSE after the window)/dθ at that fold's fitted θ.
 *
 * Scores that belong to the program: the restarts are seeded by the program's shape, not by the
 * candidate's number, so a program scores the same wherever it stands in a search (before, a
 * lucky draw of restarts made a program look better than a re-run of it scores). The full stage
 * first fits the globals on all training cells (the constants written into best.scm), then starts
 * every fold from them, so that a re-run of the written program starts where its score was made;
 * for a non-convex model the re-run's fits may still land a little apart. The folds' start
 * carries what the fit on all training cells learnt, as the parent's constants did before; the
 * held-out test cells of `bench battery` are never seen.
 */
import { DmciError } from "../../errors.ts";
import type { Backend } from "../../backend/backend.ts";
import { runtimeFor } from "../../program.ts";
import { loadCellSet } from "../../domains/battery/cells.ts";
import { type Model, parseModel } from "../../domains/battery/model.ts";
import { fitCells, fitGlobals, type FitSettings, predictCells } from "../../domains/battery/fit.ts";
import {
  cellMetrics,
  normalise,
  type NormalisedCell,
  splitCells,
  windowRows,
} from "../../domains/battery/protocol.ts";
import { toU } from "../../fit/params.ts";
import { resolveFrom } from "../../fit/spec.ts";
import { tableFromColumns } from "../../fit/data.ts";
import { type FitProblem, fitProblem, uOf } from "../../fit/problem.ts";
import { objectiveOn } from "../../fit/objective.ts";
import { constantReports } from "./fit.ts";
import type { ConstantReport, TaskInfo } from "../types.ts";
import type { Datum } from "../../read/datum.ts";
import { fnv1a } from "../../random.ts";
import { shapeKey } from "../shape.ts";
import type { LoadedSearch } from "../spec.ts";
import type { Calibrated, Candidate, RunLimits, Stage, Task } from "./task.ts";

/** Plain data the battery task is made from: the training cells only. */
export interface BatteryMaterial {
  readonly kind: "battery";
  readonly info: TaskInfo;
  readonly cells: { name: string; cycle: number[]; capacityAh: number[] }[];
  /** The cells `bench battery` would test on (named for the record; their data is not here). */
  readonly heldOut: string[];
  readonly data: string;
  readonly restarts: number;
  readonly maxRounds: number;
  readonly seed: number;
  readonly quickRows: number;
  readonly limits: RunLimits;
}

/**
 * Loads the cells, keeps the training cells of bench battery's split.
 *
 * @example
 * ```ts
 * const m = await batteryMaterial(await loadSearchSpec("fixtures/specs/battery-search.json"));
 * m.cells.map((c) => c.name);
 * ```
 */
export async function batteryMaterial(s: LoadedSearch, dataOverride?: string): Promise<BatteryMaterial> {
  const b = s.spec.search;
  const bat = b.battery!;
  const dir = dataOverride ?? resolveFrom(s.dir, bat.data);
  const set = await loadCellSet(dir);
  const split = splitCells(set.cells.map((c) => c.name), bat.test_fraction, bat.seed);
  const train = set.cells.filter((c) => split.train.includes(c.name));
  if (train.length < 2) {
    throw new DmciError(
      "data",
      `${dir}: leave-one-cell-out needs at least 2 training cells, got ${train.length}`,
    );
  }
  return {
    kind: "battery",
    info: {
      kind: "battery",
      name: s.spec.name,
      inputs: ["cycle"],
      goal: "the normalised capacity at each cycle, elementwise in `cycle` (a tensor of cycle numbers)",
      dataSummary: train.map((c) =>
        `${c.name}: ${c.cycle.length} cycles up to ${c.cycle[c.cycle.length - 1]}, ` +
        `capacity ${c.capacityAh[0].toPrecision(4)} → ${
          c.capacityAh[c.capacityAh.length - 1].toPrecision(4)
        } Ah`
      ).join("; "),
      allowedPrimitives: s.primitives,
      maxComplexity: b.max_complexity,
    },
    cells: train.map((c) => ({
      name: c.name,
      cycle: Array.from(c.cycle),
      capacityAh: Array.from(c.capacityAh),
    })),
    heldOut: split.test,
    data: dir,
    restarts: bat.restarts,
    maxRounds: bat.max_rounds,
    seed: bat.seed,
    quickRows: Math.max(b.quick_rows, 120),
    limits: { fuel: b.fuel, maxTensor: b.max_tensor },
  };
}

/** Every k-th row of a cell (and its last), so that it has at most `rows` rows. */
function thin(cell: NormalisedCell, rows: number): NormalisedCell {
  const k = Math.ceil(cell.y.length / rows);
  if (k <= 1) return cell;
  const keep = Array.from({ length: cell.y.length }, (_, i) => i).filter((i) =>
    i % k === 0 || i === cell.y.length - 1
  );
  return {
    ...cell,
    cycle: Float64Array.from(keep, (i) => cell.cycle[i]),
    capacityAh: Float64Array.from(keep, (i) => cell.capacityAh[i]),
    y: Float64Array.from(keep, (i) => cell.y[i]),
  };
}

/** One fold of leave-one-cell-out: its cell's RMSE after the early window, and the θ it was scored at. */
export interface Fold {
  readonly rmse: number;
  readonly theta: number[];
  /** The rows of the early window (the RMSE is on the rows after it). */
  readonly rows: number;
}

/** Leave-one-cell-out on the training cells: per fold, the early-split RMSE and its θ. */
export function leaveOneCellOutFolds(model: Model, s: FitSettings, cells: readonly NormalisedCell[]): Fold[] {
  const hasGlobals = model.params.some((p) => p.global);
  return cells.map((test, i) => {
    const train = cells.filter((_, j) => j !== i);
    const g = hasGlobals ? fitGlobals(model, s, train) : null;
    const rows = windowRows(test.y.length, "early");
    const fits = fitCells(model, s, [test], [rows], g?.globals ?? {}, g?.perCellMedian, `early ${i}`);
    const prediction = predictCells(model, s, [test], fits.theta)[0];
    const rmse = cellMetrics(test, prediction, rows).rmse;
    if (rmse === null) throw new DmciError("type", `the prediction of ${test.name} is not finite`);
    return { rmse, theta: fits.theta[0], rows };
  });
}

/** The leave-one-cell-out early-split RMSE of each training cell. */
export function leaveOneCellOut(model: Model, s: FitSettings, cells: readonly NormalisedCell[]): number[] {
  return leaveOneCellOutFolds(model, s, cells).map((f) => f.rmse);
}

/** The squared-error problem of the model on cells' rows, pooled into one table (cycle → y). */
function pooledProblem(
  model: Model,
  backend: Backend,
  cells: readonly NormalisedCell[],
  fuel: number,
): FitProblem {
  const table = tableFromColumns(
    { cycle: cells.flatMap((c) => Array.from(c.cycle)), y: cells.flatMap((c) => Array.from(c.y)) },
    ["cycle", "y"],
    "error",
  );
  return fitProblem({
    backend,
    program: model.program,
    table,
    spec: { params: {}, inputs: { cycle: "cycle" }, target: "y", loss: { kind: "mse" } },
    mode: "interpreted",
    limits: { fuel },
  });
}

/**
 * The constants as written in (`values`, source order) with their standard errors (Hessian of the
 * pooled training loss) and the score's gradient with the fits held fixed (see the module comment).
 */
export function batteryConstants(
  model: Model,
  backend: Backend,
  cells: readonly NormalisedCell[],
  folds: readonly Fold[],
  values: readonly number[],
  fuel: number,
): ConstantReport[] {
  const pooled = pooledProblem(model, backend, cells, fuel);
  const all = Array.from({ length: pooled.table.rows }, (_, i) => i);
  // d score/dθ = mean over folds of d RMSE_i/dθ = mean of (d MSE_i/dθ) / (2 RMSE_i), MSE_i after the window
  const grad = new Float64Array(pooled.nu);
  folds.forEach((f, i) => {
    const p = pooledProblem(model, backend, [cells[i]], fuel);
    const after = Array.from({ length: cells[i].y.length - f.rows }, (_, k) => f.rows + k);
    const g = objectiveOn(p, after)(uOf(p, f.theta)).grad;
    g.forEach((x, j) => grad[j] += x / (2 * f.rmse) / folds.length);
  });
  const u = uOf(pooled, values);
  return constantReports(pooled, all, u, u, grad);
}

/** The model with its literals replaced by `warm` where each lies in its transform's domain. */
function warmed(model: Model, warm: readonly number[] | null): Model {
  if (!warm) return model;
  return {
    ...model,
    params: model.params.map((p, i) => {
      try {
        toU(p.transform, warm[i], p.name);
        return Number.isFinite(warm[i]) ? { ...p, init: warm[i] } : p;
      } catch {
        return p;
      }
    }),
  };
}

/**
 * The model named by its shape (the datums with constants abstracted): the fits' random
 * restarts are seeded by the model's name, and a program must score the same wherever it is
 * scored (at any place in a search, or re-scored from its best.scm), not by its position.
 */
function seededByShape(model: Model, forms: readonly Datum[]): Model {
  return { ...model, name: `shape-${fnv1a(shapeKey(forms)).toString(16)}` };
}

/** Makes the battery task on `backend`. */
export function batteryTask(m: BatteryMaterial, backend: Backend): Task {
  const cells = m.cells.map((c) =>
    normalise({
      name: c.name,
      file: c.name,
      cycle: Float64Array.from(c.cycle),
      capacityAh: Float64Array.from(c.capacityAh),
    })
  );
  const quickCells = cells.map((c) => thin(c, m.quickRows));
  const settings = (stage: Stage): FitSettings => ({
    backend,
    runtime: runtimeFor(backend),
    restarts: stage === "quick" ? Math.min(2, m.restarts) : m.restarts,
    seed: m.seed,
    maxRounds: stage === "quick" ? Math.max(20, Math.floor(m.maxRounds / 3)) : m.maxRounds,
    limits: { fuel: m.limits.fuel },
  });
  return {
    info: m.info,
    calibrate(candidate: Candidate, stage: Stage, warm: readonly number[] | null): Calibrated {
      const model = seededByShape(
        warmed(parseModel(candidate.text, candidate.program.file, { compile: false }), warm),
        candidate.program.forms,
      );
      const s = settings(stage);
      const scoreOf = (folds: readonly Fold[]) => {
        const rmses = folds.map((f) => f.rmse);
        const details = Object.fromEntries(cells.map((c, i) => [`rmse_${c.name}`, rmses[i]]));
        return { score: rmses.reduce((a, b) => a + b, 0) / rmses.length, details };
      };
      if (stage === "quick") return { ...scoreOf(leaveOneCellOutFolds(model, s, quickCells)), constants: [] };
      // The constants written into the program: globals fitted on all training cells' full
      // curves, per-cell ones at the median of those cells' fits (a start for a new cell). The
      // folds start from them, so that the program as written scores what it is reported to.
      const all = fitGlobals(model, s, cells);
      const values = model.params.map((p) => p.global ? all.globals[p.name] : all.perCellMedian[p.name]);
      const folds = leaveOneCellOutFolds(warmed(model, values), s, cells);
      const { score, details } = scoreOf(folds);
      let constants: ConstantReport[];
      try {
        constants = batteryConstants(model, backend, cells, folds, values, m.limits.fuel);
      } catch {
        // feedback is advice: a candidate whose pooled problem cannot be set up keeps its score
        constants = model.params.map((p, i) => ({
          name: p.name,
          value: values[i],
          se: null,
          validationGrad: null,
        }));
      }
      return { score, constants, details: { ...details, train_rmse: Math.sqrt(all.mse) } };
    },
  };
}
