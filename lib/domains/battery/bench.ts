/**
 * The battery capacity-fade benchmark: load the cells, split them into training and test cells,
 * fit each model (globals on the training cells' full curves, then per-cell parameters on each
 * test cell's window), score the test cells and draw them. Returns one report per split as plain
 * data (the JSON of `bench battery --json`); printing and writing files is battery_command.ts's.
 */
import { relative } from "node:path";
import { DmciError } from "../../errors.ts";
import { backendByName } from "../../backend/select.ts";
import { runtimeFor } from "../../program.ts";
import { renderFitPlot } from "../../fit/plot.ts";
import { loadCellSet } from "./cells.ts";
import { loadModel, type Model } from "./model.ts";
import { fitCells, fitGlobals, type FitSettings, type GlobalFit, predictCells } from "./fit.ts";
import {
  cellMetrics,
  crossFolds,
  normalise,
  type NormalisedCell,
  splitCells,
  type SplitName,
  SPLITS,
  windowRows,
} from "./protocol.ts";

/** The bundled synthetic cells: the default data set. */
export const SYNTHETIC_DIR = new URL("../../../fixtures/battery/synthetic", import.meta.url).pathname;

/** Options of `runBatteryBench` (the command's flags). */
export interface BenchOptions {
  /** Folder of cell CSVs (default: the bundled synthetic cells). */
  readonly data?: string;
  /** Folder whose cells fit the globals (default: the training cells of `data`). */
  readonly trainData?: string;
  /** Fraction of `data`'s cells that are test cells (default 0.3; 1 with `trainData`). */
  readonly testFraction?: number;
  /**
   * Cross-validation: the shuffled cells dealt into this many folds, each fold the test cells once
   * with the globals fitted on the other folds' cells (the number of cells: leave one out). Not
   * with `testFraction` or `trainData`.
   */
  readonly folds?: number;
  readonly splits?: readonly SplitName[];
  /** Baseline names or .scm paths (default: the eight baselines). */
  readonly models: readonly string[];
  /** Backend name (default f64). */
  readonly backend?: string;
  readonly restarts?: number;
  readonly seed?: number;
  readonly maxRounds?: number;
  /** Trace and replay the batched objectives on f64 (default true). */
  readonly trace?: boolean;
  /** Leave out bad cell files with a warning instead of failing. */
  readonly skipBad?: boolean;
  /** Draw one SVG per model and split (default true). */
  readonly plot?: boolean;
  /** Progress lines (for stderr). */
  readonly onProgress?: (line: string) => void;
}

/** One test cell's result. */
export interface CellResult {
  readonly cell: string;
  /** The fold it was a test cell of (0 without cross-validation). */
  readonly fold: number;
  readonly rows: number;
  /** Rows in the fit window, and the last cycle in it. */
  readonly fit_rows: number;
  readonly fit_last_cycle: number;
  readonly initial_ah: number;
  /** RMSE (normalised capacity) after the window; null when the prediction is not finite. */
  readonly rmse: number | null;
  readonly eol_actual: number;
  readonly eol_actual_reached: boolean;
  readonly eol_predicted: number;
  readonly eol_predicted_reached: boolean;
  readonly eol_error: number;
  /** RMSE on the fit window at the fitted parameters. */
  readonly fit_rmse: number | null;
  readonly converged: boolean;
  readonly reason: string;
  /** Every parameter's θ (globals included) by name. */
  readonly params: Record<string, number>;
}

/** One model's row of a split's report. */
export interface ModelResult {
  readonly model: string;
  readonly file: string;
  readonly mean_rmse: number | null;
  readonly median_rmse: number | null;
  readonly mean_eol_error: number;
  /** Test cells scored. */
  readonly cells: number;
  /** Seconds of fitting for this split: the global fit (shared by the splits, counted in each) and the per-cell fits. */
  readonly fit_seconds: number;
  /** Names of the global parameters (empty when all are per-cell). */
  readonly global_params: string[];
  /** The global fit of each fold (none for a model without globals). */
  readonly global_fits: {
    readonly fold: number;
    readonly params: Record<string, number>;
    readonly train_rmse: number;
    readonly cells: string[];
    readonly converged: boolean;
    readonly reason: string;
    readonly seconds: number;
  }[];
  readonly per_cell: CellResult[];
}

/** The report of one split (one JSON document). */
export interface SplitReport {
  readonly split: SplitName;
  /** Fraction of each test cell's recorded cycles in its fit window. */
  readonly window_fraction: number;
  readonly data: string;
  readonly train_data: string;
  /** Share of --data's cells that are test cells (null with cross-validation). */
  readonly test_fraction: number | null;
  readonly seed: number;
  readonly backend: string;
  readonly mode: "interpreted";
  readonly restarts: number;
  /** Training cells (of every fold) and test cells (of every fold). */
  readonly train_cells: string[];
  readonly test_cells: string[];
  /** Each fold's cells: one fold without cross-validation. */
  readonly folds: { readonly train_cells: string[]; readonly test_cells: string[] }[];
  readonly warnings: string[];
  readonly models: ModelResult[];
}

/** A split's report and the SVG of each model (by model name). */
export interface BenchOutput {
  readonly reports: SplitReport[];
  readonly svgs: Map<string, string>[];
}

const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A path as shown in reports: relative to the working directory when inside it. */
export function shownPath(path: string): string {
  const r = relative(Deno.cwd(), path);
  return r.startsWith("..") || r === "" ? path : r;
}

/**
 * Runs the benchmark: every model on every split. Globals are fitted once per model and shared
 * by the splits (they see only training cells' full curves, never a test cell).
 *
 * @example
 * ```ts
 * const { reports } = await runBatteryBench({ models: ["linear", "knee"], splits: ["early"] });
 * reports[0].models.map((m) => [m.model, m.mean_rmse, m.mean_eol_error]);
 * ```
 */
export async function runBatteryBench(o: BenchOptions): Promise<BenchOutput> {
  const progress = o.onProgress ?? (() => {});
  const dataDir = o.data ?? SYNTHETIC_DIR;
  const set = await loadCellSet(dataDir, { skipBad: o.skipBad });
  const warnings = [...set.warnings];
  const seed = o.seed ?? 0;
  const cells = new Map(set.cells.map((c) => [c.name, normalise(c)]));
  const names = set.cells.map((c) => c.name);
  const pick = (ns: readonly string[]) => ns.map((n) => cells.get(n)!);
  let folds: { train: NormalisedCell[]; test: NormalisedCell[] }[];
  let fraction: number | null = null;
  let trainDir = dataDir;
  if (o.folds !== undefined) {
    if (o.testFraction !== undefined || o.trainData !== undefined) {
      throw new DmciError(
        "spec",
        "--folds: cross-validation chooses the test cells itself; drop --test-fraction and --train-data",
      );
    }
    folds = crossFolds(names, o.folds, seed).map((f) => ({ train: pick(f.train), test: pick(f.test) }));
  } else {
    fraction = o.testFraction ?? (o.trainData ? 1 : 0.3);
    const chosen = splitCells(names, fraction, seed);
    let train = pick(chosen.train);
    if (o.trainData) {
      const ts = await loadCellSet(o.trainData, { skipBad: o.skipBad });
      warnings.push(...ts.warnings);
      train = ts.cells.map(normalise);
      trainDir = o.trainData;
    }
    folds = [{ train, test: pick(chosen.test) }];
  }
  for (const w of warnings) progress(`warning: ${w}`);

  const B = await backendByName(o.backend ?? "f64");
  const settings: FitSettings = {
    backend: B,
    runtime: runtimeFor(B),
    restarts: o.restarts ?? 8,
    seed,
    maxRounds: o.maxRounds ?? 300,
    trace: o.trace ?? true,
  };
  const models: Model[] = [];
  for (const m of o.models) models.push(await loadModel(m));
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) throw new DmciError("spec", `--models: two models are named ${m.name}`);
    seen.add(m.name);
  }
  const splits = o.splits ?? ["early", "late"];
  const cellNames = (key: "train" | "test") => [...new Set(folds.flatMap((f) => f[key].map((c) => c.name)))];
  const reports: SplitReport[] = splits.map((split) => ({
    split,
    window_fraction: SPLITS[split],
    data: shownPath(dataDir),
    train_data: shownPath(trainDir),
    test_fraction: fraction,
    seed,
    backend: B.name,
    mode: "interpreted",
    restarts: settings.restarts,
    train_cells: cellNames("train"),
    test_cells: cellNames("test"),
    folds: folds.map((f) => ({
      train_cells: f.train.map((c) => c.name),
      test_cells: f.test.map((c) => c.name),
    })),
    warnings,
    models: [],
  }));
  const svgs = splits.map(() => new Map<string, string>());

  for (const model of models) {
    const globalNames = model.params.filter((p) => p.global).map((p) => p.name);
    // Globals once per fold, shared by the splits (they never see a test cell).
    const globalFits: (GlobalFit | null)[] = folds.map((fold, k) => {
      if (!globalNames.length) return null;
      if (fold.train.length === 0) {
        throw new DmciError(
          "spec",
          `model ${model.name} has global parameters (${globalNames.join(", ")}) but there are no training ` +
            "cells: lower --test-fraction or give --train-data",
        );
      }
      const g = fitGlobals(model, settings, fold.train);
      progress(
        `${model.name}: globals${folds.length > 1 ? ` of fold ${k + 1}/${folds.length}` : ""} on ` +
          `${fold.train.length} training cells, rmse ${Math.sqrt(g.mse).toFixed(4)}, ${
            g.seconds.toFixed(1)
          } s`,
      );
      return g;
    });
    for (const [i, split] of splits.entries()) {
      const perCell: CellResult[] = [];
      const plotted: { cell: NormalisedCell; prediction: Float64Array; rows: number }[] = [];
      let seconds = 0;
      for (const [k, fold] of folds.entries()) {
        const g = globalFits[k];
        const rows = fold.test.map((c) => windowRows(c.y.length, split));
        const fits = fitCells(
          model,
          settings,
          fold.test,
          rows,
          g?.globals ?? {},
          g?.perCellMedian,
          `${split} ${k}`,
        );
        const predictions = predictCells(model, settings, fold.test, fits.theta);
        seconds += (g?.seconds ?? 0) + fits.seconds;
        fold.test.forEach((cell, c) => {
          plotted.push({ cell, prediction: predictions[c], rows: rows[c] });
          perCell.push({
            cell: cell.name,
            fold: k,
            rows: cell.y.length,
            fit_rows: rows[c],
            fit_last_cycle: cell.cycle[rows[c] - 1],
            initial_ah: cell.initialAh,
            ...cellMetrics(cell, predictions[c], rows[c]),
            fit_rmse: Number.isFinite(fits.mse[c]) ? Math.sqrt(fits.mse[c]) : null,
            converged: fits.converged[c],
            reason: fits.reasons[c],
            params: Object.fromEntries(model.params.map((p, j) => [p.name, fits.theta[c][j]])),
          });
        });
      }
      perCell.sort((a, b) => a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0);
      plotted.sort((a, b) => a.cell.name < b.cell.name ? -1 : a.cell.name > b.cell.name ? 1 : 0);
      const rmses = perCell.flatMap((r) => r.rmse === null ? [] : [r.rmse]);
      const failed = rmses.length < perCell.length;
      reports[i].models.push({
        model: model.name,
        file: shownPath(model.file),
        mean_rmse: failed ? null : mean(rmses),
        median_rmse: failed ? null : median(rmses),
        mean_eol_error: mean(perCell.map((r) => r.eol_error))!,
        cells: perCell.length,
        fit_seconds: seconds,
        global_params: globalNames,
        global_fits: globalFits.flatMap((g, k) =>
          g
            ? [{
              fold: k,
              params: g.globals,
              train_rmse: Math.sqrt(g.mse),
              cells: g.cells,
              converged: g.converged,
              reason: g.reason,
              seconds: g.seconds,
            }]
            : []
        ),
        per_cell: perCell,
      });
      progress(`${model.name} ${split}: ${perCell.length} test cells, ${seconds.toFixed(1)} s`);
      if (o.plot !== false) svgs[i].set(model.name, await plotCells(model.name, set.name, split, plotted));
    }
  }
  return { reports, svgs };
}

/** The plotted range of normalised capacity: a prediction beyond it is drawn at its edge. */
const PLOT_RANGE = [0, 1.2] as const;

/**
 * The SVG of one model and split: a grid of test cells, data against prediction, the window
 * marked. A prediction that leaves [0, 1.2] (an extrapolation that blew up) is clipped to it, and
 * the title says so, so that the data stay readable.
 */
function plotCells(
  model: string,
  dataName: string,
  split: SplitName,
  cells: { cell: NormalisedCell; prediction: Float64Array; rows: number }[],
): Promise<string> {
  const [lo, hi] = PLOT_RANGE;
  let clipped = 0;
  const fitted = cells.flatMap(({ prediction }) =>
    Array.from(prediction, (v) => {
      if (v < lo || v > hi) clipped++;
      return Math.min(hi, Math.max(lo, v));
    })
  );
  return renderFitPlot({
    title: `${model} on ${dataName}, ${split} split: fit on the first ${
      100 * SPLITS[split]
    }% of each test cell's cycles${
      clipped ? ` (prediction clipped to ${lo}–${hi} at ${clipped} cycles)` : ""
    }`,
    xLabel: "cycle",
    yLabel: "capacity / initial capacity",
    x: cells.flatMap(({ cell }) => Array.from(cell.cycle)),
    observed: cells.flatMap(({ cell }) => Array.from(cell.y)),
    fitted,
    split: cells.flatMap(({ cell, rows }) =>
      Array.from(cell.y, (_, t) => t < rows ? "train" as const : "test" as const)
    ),
    panels: cells.flatMap(({ cell }) => Array.from(cell.y, () => cell.name)),
  });
}
