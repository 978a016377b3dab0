/**
 * The benchmark protocol as plain functions of numbers: a cell's capacity normalised by its
 * initial capacity, the fit window of a split, the seeded choice of test cells, and the two
 * metrics (RMSE of normalised capacity after the window; error of the predicted end-of-life
 * cycle). No fitting and no I/O here; fixtures/battery/README.md states the same rules in words.
 */
import { uniform } from "../../random.ts";
import { DmciError } from "../../errors.ts";
import type { Cell } from "./cells.ts";

/** The splits: the fraction of a cell's recorded cycles (rows) a fit may see. */
export const SPLITS = { early: 0.25, late: 0.5 } as const;
/** A split's name. */
export type SplitName = keyof typeof SPLITS;

/** End of life: normalised capacity below this. */
export const EOL_THRESHOLD = 0.8;
/** Rows whose median is the initial capacity. */
export const INITIAL_ROWS = 5;

/** A cell ready for the benchmark: its rows, and capacity divided by its initial capacity. */
export interface NormalisedCell extends Cell {
  /** Median of the first `INITIAL_ROWS` capacities (Ah). */
  readonly initialAh: number;
  /** capacity_ah / initialAh. */
  readonly y: Float64Array;
}

function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Normalises a cell by its initial capacity, the median of its first five recorded capacities
 * (robust to one bad first cycle).
 *
 * @example
 * ```ts
 * normalise(cell).y[0]; // ≈ 1
 * ```
 */
export function normalise(cell: Cell): NormalisedCell {
  const initialAh = median(cell.capacityAh.subarray(0, INITIAL_ROWS));
  return { ...cell, initialAh, y: cell.capacityAh.map((c) => c / initialAh) };
}

/**
 * Rows in the fit window of a split: the first ⌈fraction·n⌉ of the cell's n recorded rows, and
 * at least 3 and at most n − 1, so that there is something to fit and something to test.
 *
 * @example
 * ```ts
 * windowRows(1000, "early"); // 250
 * ```
 */
export function windowRows(n: number, split: SplitName): number {
  return Math.min(n - 1, Math.max(3, Math.ceil(SPLITS[split] * n - 1e-9)));
}

/**
 * The first recorded cycle at which `values` falls below 0.8, or the horizon (the cell's last
 * recorded cycle) when it never does; `reached` says which.
 *
 * @example
 * ```ts
 * eolCycle(Float64Array.of(1, 2, 3), Float64Array.of(1, 0.85, 0.79)); // { cycle: 3, reached: true }
 * ```
 */
export function eolCycle(
  cycle: ArrayLike<number>,
  values: ArrayLike<number>,
): { cycle: number; reached: boolean } {
  for (let i = 0; i < cycle.length; i++) {
    if (values[i] < EOL_THRESHOLD) return { cycle: cycle[i], reached: true };
  }
  return { cycle: cycle[cycle.length - 1], reached: false };
}

/** The metrics of one test cell. */
export interface CellMetrics {
  /** RMSE of normalised capacity over the rows after the window (null when not finite). */
  readonly rmse: number | null;
  readonly eol_actual: number;
  readonly eol_actual_reached: boolean;
  readonly eol_predicted: number;
  readonly eol_predicted_reached: boolean;
  /** |eol_predicted − eol_actual| in cycles. */
  readonly eol_error: number;
}

/**
 * Scores a prediction of a whole cell (one value per recorded row) fitted on its first `fitRows`
 * rows: RMSE on the rows after them; end of life from the data and from the prediction, each over
 * all recorded cycles, a curve that never falls below 0.8 counting as the horizon. A non-finite
 * prediction never reaches end of life, and makes the RMSE null.
 *
 * @example
 * ```ts
 * cellMetrics(cell, prediction, 250).eol_error;
 * ```
 */
export function cellMetrics(
  cell: NormalisedCell,
  prediction: ArrayLike<number>,
  fitRows: number,
): CellMetrics {
  let sse = 0;
  const n = cell.y.length;
  for (let i = fitRows; i < n; i++) sse += (prediction[i] - cell.y[i]) ** 2;
  const rmse = Math.sqrt(sse / (n - fitRows));
  const actual = eolCycle(cell.cycle, cell.y);
  const predicted = eolCycle(cell.cycle, prediction);
  return {
    rmse: Number.isFinite(rmse) ? rmse : null,
    eol_actual: actual.cycle,
    eol_actual_reached: actual.reached,
    eol_predicted: predicted.cycle,
    eol_predicted_reached: predicted.reached,
    eol_error: Math.abs(predicted.cycle - actual.cycle),
  };
}

/** The sorted names in the order of a Fisher–Yates shuffle seeded by `seed`. */
function shuffled(names: readonly string[], seed: number): string[] {
  const order = [...names].sort();
  const rand = uniform(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Splits cell names into training and test cells: a Fisher–Yates shuffle of the sorted names
 * seeded by `seed`, the first round(fraction·n) of it the test cells. With 0 < fraction < 1 and
 * at least two cells, both sides get at least one cell; fraction 1 makes every cell a test cell.
 *
 * @example
 * ```ts
 * splitCells(["a", "b", "c"], 0.3, 0); // { train: [two names], test: [one name] }
 * ```
 */
export function splitCells(
  names: readonly string[],
  fraction: number,
  seed: number,
): { train: string[]; test: string[] } {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new DmciError("spec", `--test-fraction: expected a number in (0, 1], got ${fraction}`);
  }
  const order = shuffled(names, seed);
  let k = fraction === 1 ? order.length : Math.round(fraction * order.length);
  if (fraction < 1 && order.length >= 2) k = Math.min(order.length - 1, Math.max(1, k));
  k = Math.max(1, k);
  return { test: order.slice(0, k).sort(), train: order.slice(k).sort() };
}

/**
 * Cross-validation folds: the same seeded shuffle dealt round-robin into `k` folds (2 ≤ k ≤ the
 * number of cells; k = n leaves one cell out at a time). Each fold's cells are its test cells and
 * all other cells its training cells.
 *
 * @example
 * ```ts
 * crossFolds(["a", "b", "c"], 3, 0).map((f) => f.test); // each cell once, e.g. [["b"], ["c"], ["a"]]
 * ```
 */
export function crossFolds(
  names: readonly string[],
  k: number,
  seed: number,
): { train: string[]; test: string[] }[] {
  if (!(Number.isInteger(k) && k >= 2 && k <= names.length)) {
    throw new DmciError(
      "spec",
      `--folds: expected an integer from 2 to the number of cells (${names.length}), got ${k}`,
    );
  }
  const order = shuffled(names, seed);
  return Array.from({ length: k }, (_, f) => {
    const test = order.filter((_, i) => i % k === f);
    return { test: test.sort(), train: order.filter((n) => !test.includes(n)).sort() };
  });
}
