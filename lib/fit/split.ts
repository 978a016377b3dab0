/**
 * Train/test splits of a data table: by row fraction in file order (a time-series split,
 * never shuffled) or by a condition on a column. Row indices only; `selectRows` makes the
 * sub-tables. No randomness here, so a split is the same on every run.
 */
import { DmciError } from "../errors.ts";
import type { Table } from "./data.ts";
import type { SplitSpec } from "./spec.ts";

/** Row indices (into the table, ascending) of the training and the test rows. */
export interface RowSplit {
  train: number[];
  test: number[];
}

const COMPARE: Record<Extract<SplitSpec, { kind: "column" }>["op"], (a: number, b: number) => boolean> = {
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/**
 * Splits a table's rows. No split: every row trains. `fraction`: the first ⌊train·n⌋ rows
 * train, the rest test. `column`: rows where `column op value` holds train. A split that
 * leaves no training row is a `data` error.
 *
 * @example
 * ```ts
 * splitRows(table, { kind: "fraction", train: 0.8 }); // 10 rows: { train: [0..7], test: [8, 9] }
 * ```
 */
export function splitRows(table: Table, split: SplitSpec | undefined): RowSplit {
  const all = Array.from({ length: table.rows }, (_, i) => i);
  if (split === undefined) return { train: all, test: [] };
  let train: number[];
  if (split.kind === "fraction") {
    // The epsilon keeps 0.29 · 100 = 28.999999999999996 from flooring to 28.
    const n = Math.min(table.rows, Math.floor(split.train * table.rows + 1e-9));
    if (n === 0) {
      throw new DmciError(
        "data",
        `$.split: a train fraction of ${split.train} of the ${table.rows} rows of ${table.source} leaves no training rows`,
      );
    }
    train = all.slice(0, n);
  } else {
    const column = table.columns.get(split.column);
    if (column === undefined) {
      throw new DmciError(
        "data",
        `$.split.column: no column "${split.column}" in ${table.source} (loaded: ${
          [...table.columns.keys()].join(", ")
        })`,
      );
    }
    const holds = COMPARE[split.op];
    train = all.filter((i) => holds(column[i], split.value));
    if (train.length === 0) {
      throw new DmciError(
        "data",
        `$.split: no row of ${table.source} has ${split.column} ${split.op} ${split.value}, so none would train`,
      );
    }
  }
  const inTrain = new Set(train);
  return { train, test: all.filter((i) => !inTrain.has(i)) };
}

/**
 * The sub-table of the given rows (in the given order), with their source lines.
 *
 * @example
 * ```ts
 * const { train } = splitRows(table, spec.split);
 * const trainTable = selectRows(table, train);
 * ```
 */
export function selectRows(table: Table, rows: readonly number[]): Table {
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= table.rows) {
      throw new RangeError(`selectRows: row ${r} is outside 0..${table.rows - 1}`);
    }
  }
  const columns = new Map<string, Float64Array>();
  for (const [name, values] of table.columns) columns.set(name, Float64Array.from(rows, (r) => values[r]));
  return {
    columns,
    rows: rows.length,
    source: table.source,
    dropped: table.dropped,
    lines: rows.map((r) => table.lines[r]),
  };
}
