/**
 * The El Niño data: monthly CSV files (`year,month,series…`) read and checked (one row per month,
 * no gap, numeric cells; an empty cell is a missing observation), then centred: Niño 1+2 SST as
 * anomalies from the training years' calendar-month means, the Pacific indices standardised with
 * training statistics. This module knows no model and no optimizer.
 */
import { join } from "node:path";
import { DmciError } from "../../errors.ts";

/** The shared data folder the benchmark reads in place (../shared/data/enso from the repository). */
export const ENSO_DATA_DIR = new URL("../../../../shared/data/enso/", import.meta.url).pathname;

/** A monthly multivariate series: one row per month, NaN where a cell was empty. */
export interface MonthlySeries {
  readonly file: string;
  /** The series' names (the CSV columns after year and month). */
  readonly names: readonly string[];
  readonly years: readonly number[];
  readonly months: readonly number[];
  /** rows[t][j]: series j in month t; NaN when missing. */
  readonly rows: readonly (readonly number[])[];
}

/**
 * Parses a monthly CSV: a header `year,month,name…`, then one row per month in order with no month
 * left out. Any fault is a `data` DmciError at `file:line:col`.
 *
 * @example
 * ```ts
 * parseMonthly("year,month,x\n1950,1,0.5\n1950,2,\n", "a.csv").rows; // [[0.5], [NaN]]
 * ```
 */
export function parseMonthly(text: string, file: string): MonthlySeries {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  const at = (line: number, col: number) => ({ file, line, col });
  if (lines.length === 0) throw new DmciError("data", "the file is empty", at(1, 1));
  const header = lines[0].split(",").map((s) => s.trim());
  if (header[0] !== "year" || header[1] !== "month" || header.length < 3) {
    throw new DmciError(
      "data",
      `expected the header 'year,month,<series>…', found '${lines[0]}'`,
      at(1, 1),
    );
  }
  const names = header.slice(2);
  const years: number[] = [];
  const months: number[] = [];
  const rows: number[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(",");
    if (cells.length !== header.length) {
      throw new DmciError(
        "data",
        `expected ${header.length} cells, found ${cells.length}`,
        at(i + 1, 1),
      );
    }
    const cols: number[] = [];
    let offset = 1;
    const values = cells.map((raw, j) => {
      cols.push(offset);
      offset += raw.length + 1;
      const cell = raw.trim();
      if (cell === "" && j >= 2) return NaN;
      const v = Number(cell);
      if (cell === "" || !Number.isFinite(v)) {
        throw new DmciError(
          "data",
          `column '${header[j]}': expected a number, found '${raw}'`,
          at(i + 1, cols[j]),
        );
      }
      return v;
    });
    const [year, month] = values;
    if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
      throw new DmciError(
        "data",
        `expected a year and a month 1–12, found '${cells[0]},${cells[1]}'`,
        at(i + 1, 1),
      );
    }
    if (years.length) {
      const prev = years[years.length - 1] * 12 + months[months.length - 1];
      if (year * 12 + month !== prev + 1) {
        const py = years[years.length - 1], pm = months[months.length - 1];
        const ey = pm === 12 ? py + 1 : py, em = pm === 12 ? 1 : pm + 1;
        throw new DmciError(
          "data",
          `gap in the monthly series: expected ${ey}-${em} after ${py}-${pm}, found ${year}-${month}`,
          at(i + 1, 1),
        );
      }
    }
    years.push(year);
    months.push(month);
    rows.push(values.slice(2));
  }
  if (rows.length === 0) throw new DmciError("data", "no data rows after the header", at(1, 1));
  return { file, names, years, months, rows };
}

/**
 * Reads and parses a monthly CSV file; an unreadable file is an `io` DmciError.
 *
 * @example
 * ```ts
 * const s = await readMonthly(join(ENSO_DATA_DIR, "nino12_sst_1950_2010.csv"));
 * ```
 */
export async function readMonthly(path: string): Promise<MonthlySeries> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DmciError(
      "io",
      `cannot read ${path}: ${e instanceof Error ? e.message : e} (see ${ENSO_DATA_DIR})`,
    );
  }
  return parseMonthly(text, path);
}

/** The centred series a model is fitted to, split by year. */
export interface PreparedData {
  readonly file: string;
  readonly names: readonly string[];
  readonly years: readonly number[];
  readonly months: readonly number[];
  /** Centred (anomalies, or standardised) values; NaN where missing. */
  readonly rows: readonly (readonly number[])[];
  /** Rows [0, trainEnd) are the training months, [trainEnd, end) the test months. */
  readonly trainEnd: number;
  /** How the values were centred, for reports. */
  readonly centring: string;
}

/** Rows from `firstYear` to `lastYear` inclusive; the training rows must come first and be non-empty. */
function window(s: MonthlySeries, firstYear: number, trainLast: number, lastYear: number) {
  const keep = s.years.map((y, i) => y >= firstYear && y <= lastYear ? i : -1).filter((i) => i >= 0);
  const trainEnd = keep.filter((i) => s.years[i] <= trainLast).length;
  if (trainEnd === 0 || trainEnd === keep.length) {
    throw new DmciError(
      "data",
      `${s.file}: expected months in both ${firstYear}–${trainLast} and ${trainLast + 1}–${lastYear}`,
    );
  }
  return { keep, trainEnd };
}

/**
 * Anomalies of every series: the value minus the mean of its calendar month over the training
 * years (missing cells left out of the means, and left missing).
 *
 * @example
 * ```ts
 * const d = anomalies(series, 1950, 1999, 2010); // train 1950–1999, test 2000–2010
 * ```
 */
export function anomalies(
  s: MonthlySeries,
  firstYear: number,
  trainLast: number,
  lastYear: number,
): PreparedData {
  const { keep, trainEnd } = window(s, firstYear, trainLast, lastYear);
  const p = s.names.length;
  const sums = Array.from({ length: 12 }, () => new Array(p).fill(0));
  const counts = Array.from({ length: 12 }, () => new Array(p).fill(0));
  for (const i of keep.slice(0, trainEnd)) {
    s.rows[i].forEach((v, j) => {
      if (!Number.isNaN(v)) {
        sums[s.months[i] - 1][j] += v;
        counts[s.months[i] - 1][j]++;
      }
    });
  }
  const rows = keep.map((i) =>
    s.rows[i].map((v, j) => v - sums[s.months[i] - 1][j] / counts[s.months[i] - 1][j])
  );
  return {
    file: s.file,
    names: s.names,
    years: keep.map((i) => s.years[i]),
    months: keep.map((i) => s.months[i]),
    rows,
    trainEnd,
    centring: `anomalies from the calendar-month means of ${firstYear}–${trainLast}`,
  };
}

/**
 * Every series standardised with its training mean and standard deviation (missing cells left out).
 *
 * @example
 * ```ts
 * const d = standardised(indices, 1978, 2009, 2020); // train 1978–2009, test 2010–2020
 * ```
 */
export function standardised(
  s: MonthlySeries,
  firstYear: number,
  trainLast: number,
  lastYear: number,
): PreparedData {
  const { keep, trainEnd } = window(s, firstYear, trainLast, lastYear);
  const train = keep.slice(0, trainEnd);
  const stats = s.names.map((_, j) => {
    const xs = train.map((i) => s.rows[i][j]).filter((v) => !Number.isNaN(v));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    return { mean, sd };
  });
  return {
    file: s.file,
    names: s.names,
    years: keep.map((i) => s.years[i]),
    months: keep.map((i) => s.months[i]),
    rows: keep.map((i) => s.rows[i].map((v, j) => (v - stats[j].mean) / stats[j].sd)),
    trainEnd,
    centring: `standardised with the means and standard deviations of ${firstYear}–${trainLast}`,
  };
}

/** The two data files of the benchmark, in `dir`. */
export function dataFiles(dir: string): { nino12: string; pacific: string } {
  return {
    nino12: join(dir, "nino12_sst_1950_2010.csv"),
    pacific: join(dir, "pacific_indices_1978_2020.csv"),
  };
}
