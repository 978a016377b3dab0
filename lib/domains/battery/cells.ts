/**
 * Battery cells from a data-set folder: one CSV per cell with columns `cycle,capacity_ah`
 * (other columns ignored), read with csv-parse and checked row by row. A bad file is an error
 * naming file and line, or, when the caller asks, a warning and the cell left out. This module
 * knows nothing of models or fits.
 */
import { basename, dirname, join } from "node:path";
import { CsvError, parseCsv } from "../../deps.ts";
import { DmciError } from "../../errors.ts";

/** One cell's recorded cycles and discharge capacities, in file order. */
export interface Cell {
  /** The file name without `.csv`. */
  readonly name: string;
  /** The CSV file it came from. */
  readonly file: string;
  /** Cycle numbers, strictly increasing. */
  readonly cycle: Float64Array;
  /** Discharge capacity in Ah at each cycle. */
  readonly capacityAh: Float64Array;
}

/** The cells of a folder, and the files left out with why. */
export interface CellSet {
  /** The folder's base name (the data set's name). */
  readonly name: string;
  readonly dir: string;
  /** Cells, sorted by name. */
  readonly cells: Cell[];
  /** One line per cell left out (only with `skipBad`). */
  readonly warnings: string[];
}

/** The columns every cell file must have. */
export const CELL_COLUMNS = ["cycle", "capacity_ah"] as const;

/** Files in a data-set folder that are not cells (the index of ../shared/data/battery's layout). */
const NOT_CELLS = new Set(["index.csv"]);

/** A number as a CSV cell may write it; NaN, inf and empty are not numbers here. */
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** Fewest rows a cell needs (the protocol's initial capacity is the median of the first five). */
export const MIN_ROWS = 8;

/**
 * Parses one cell's CSV text. Errors (kind `data`) name `file:line`: a missing column, a cell
 * that is not a finite number (empty, NaN, text), a cycle not greater than the one before, too
 * few rows, or a malformed CSV.
 *
 * @example
 * ```ts
 * const cell = parseCell("cycle,capacity_ah\n1,1.10\n2,1.09\n…", "B01.csv");
 * cell.cycle; // Float64Array [1, 2, …]
 * ```
 */
export function parseCell(text: string, file: string): Cell {
  const fail = (message: string, line = 1): never => {
    throw new DmciError("data", message, { file, line, col: 1 });
  };
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }) as unknown as typeof records;
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    return fail(`invalid CSV: ${e.message}`, (e as unknown as { lines?: number }).lines ?? 1);
  }
  if (records.length === 0) {
    fail("empty file (expected a header `cycle,capacity_ah`, then one row per cycle)");
  }
  const header = records[0].record;
  const at = CELL_COLUMNS.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) {
      fail(`no column "${name}" (columns: ${header.join(", ")}); a cell file needs cycle,capacity_ah`);
    }
    return i;
  });
  const n = records.length - 1;
  if (n < MIN_ROWS) fail(`${n} data row(s); a cell needs at least ${MIN_ROWS}`, records[n].info.lines);
  const cols = [new Float64Array(n), new Float64Array(n)];
  for (let r = 1; r <= n; r++) {
    const { record, info } = records[r];
    if (record.length !== header.length) {
      fail(`row has ${record.length} fields, the header has ${header.length}`, info.lines);
    }
    CELL_COLUMNS.forEach((name, c) => {
      const s = record[at[c]];
      const v = DECIMAL.test(s) ? Number(s) : NaN;
      if (!Number.isFinite(v)) {
        fail(
          `column "${name}": ${s === "" ? "an empty cell" : JSON.stringify(s)} is not a finite number`,
          info.lines,
        );
      }
      cols[c][r - 1] = v;
    });
    if (r > 1 && !(cols[0][r - 1] > cols[0][r - 2])) {
      fail(
        `column "cycle": ${cols[0][r - 1]} follows ${cols[0][r - 2]}; cycles must increase strictly`,
        info.lines,
      );
    }
    if (!(cols[1][r - 1] > 0)) fail(`column "capacity_ah": ${cols[1][r - 1]} is not positive`, info.lines);
  }
  return { name: basename(file).replace(/\.csv$/i, ""), file, cycle: cols[0], capacityAh: cols[1] };
}

/** What to say about a data folder that does not exist: what its parent holds, or that ../shared/data is absent. */
function whyMissing(dir: string): string {
  const parent = dirname(dir.replace(/[\\/]+$/, ""));
  try {
    const folders = [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) => e.name).sort();
    return ` (${parent} holds: ${folders.join(", ") || "no folders"})`;
  } catch {
    const at = dir.indexOf("shared/data");
    return at < 0 ? "" : `: ${dir.slice(0, at + "shared/data".length)} is absent on this machine (the real ` +
      "battery data sets live there, beside the repository, and are not bundled; without --data the " +
      "bundled synthetic cells are used)";
  }
}

/**
 * Reads every `*.csv` of a folder (except `index.csv`) as a cell, sorted by name. A folder that
 * does not exist is an `io` error that says so. With `skipBad`, a file that fails `parseCell`
 * is left out with a warning instead of stopping the run.
 *
 * @example
 * ```ts
 * const set = await loadCellSet("fixtures/battery/synthetic");
 * set.cells.length; // 10
 * ```
 */
export async function loadCellSet(dir: string, options: { skipBad?: boolean } = {}): Promise<CellSet> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /\.csv$/i.test(entry.name) && !NOT_CELLS.has(entry.name.toLowerCase())) {
        names.push(entry.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DmciError("io", `no data folder ${dir}${whyMissing(dir)}`);
    }
    throw new DmciError("io", `cannot read the folder ${dir}: ${e instanceof Error ? e.message : e}`);
  }
  names.sort();
  const cells: Cell[] = [], warnings: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new DmciError("io", `cannot read ${file}: ${e instanceof Error ? e.message : e}`);
    }
    try {
      cells.push(parseCell(text, file));
    } catch (e) {
      if (!(options.skipBad && e instanceof DmciError)) throw e;
      warnings.push(`skipped ${e.toString()}`);
    }
  }
  if (cells.length === 0) {
    throw new DmciError("data", `no cell files (*.csv with columns cycle,capacity_ah) in ${dir}`);
  }
  return { name: basename(dir.replace(/[\\/]+$/, "")), dir, cells, warnings };
}
