/**
 * Data tables: the numeric columns a spec needs, from a CSV file (read by csv-parse) or from
 * the spec's inline columns. Errors name the file, line and column at fault; empty and NaN
 * cells drop their row or fail, as the spec's `missing` says. Knows nothing of programs.
 */
import { CsvError, parseCsv } from "../deps.ts";
import { DmciError, type Span } from "../errors.ts";
import { type DataSpec, formatPath, readTextFile, resolveFrom } from "./spec.ts";

/** Numeric columns of equal length, and where each row came from. */
export interface Table {
  /** Column name to values, one per row: exactly the columns asked for. */
  columns: Map<string, Float64Array>;
  /** Number of rows (after dropping). */
  rows: number;
  /** Where the data came from: the CSV file's path, or `inline data`. */
  source: string;
  /** Rows dropped for a missing value (with `"missing": "drop"`). */
  dropped: number;
  /** Each row's 1-based line in the CSV file (inline data: its 1-based position). */
  lines: number[];
}

/** What a missing cell does: drop its row, or fail. */
export type MissingPolicy = DataSpec["missing"];

// Cells that mean "no value". Anything else must be a decimal number.
const MISSING = new Set(["", "nan", "na", "n/a", "null"]);
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

const DROP_HINT = `(with "missing": "drop" in the spec's "data", such rows are dropped)`;

/**
 * Loads the `needed` columns of a spec's data: its CSV file (a path relative to `dir`, the
 * spec's directory) or its inline columns. Other columns may hold anything (dates, labels).
 *
 * @example
 * ```ts
 * const table = await loadTable({ csv: "decay.csv", missing: "drop" }, "fixtures/data", ["t", "y"]);
 * table.columns.get("t"); // Float64Array
 * ```
 */
export async function loadTable(data: DataSpec, dir: string, needed: readonly string[]): Promise<Table> {
  if (data.csv !== undefined) {
    const file = resolveFrom(dir, data.csv);
    return tableFromCsv(await readTextFile(file), file, needed, data.missing);
  }
  if (data.columns !== undefined) return tableFromColumns(data.columns, needed, data.missing);
  throw new DmciError("spec", '$.data: expected "csv" (a file path) or "columns" (inline data), got neither');
}

/** Positions in a text: offset to `file:line:col`. */
function spanner(text: string, file: string): (offset: number) => Span {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) starts.push(i + 1);
  }
  return (offset) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, col: offset - starts[lo] + 1 };
  };
}

// Where field `index` of the record starting at `start` begins (past leading blanks).
function fieldOffset(text: string, start: number, index: number): number {
  let k = start, field = 0, quoted = false;
  for (; field < index && k < text.length; k++) {
    const c = text[k];
    if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) field++;
    else if ((c === "\n" || c === "\r") && !quoted) break;
  }
  while (text[k] === " " || text[k] === "\t") k++;
  return k;
}

/**
 * Where each record of a well-formed CSV text starts, skipping blank lines as csv-parse
 * does (its `raw` text loses the "\n" of "\r\n", so offsets are found here instead).
 */
function recordStarts(text: string): number[] {
  const starts: number[] = [];
  const blank = /[ \t]*(?:\r\n|\n|\r|$)/y;
  let k = 0;
  while (k < text.length) {
    blank.lastIndex = k;
    if (blank.exec(text)) {
      k = blank.lastIndex;
      continue;
    }
    starts.push(k);
    let quoted = false;
    for (; k < text.length; k++) {
      const c = text[k];
      if (c === '"') quoted = !quoted;
      else if (!quoted && (c === "\n" || c === "\r")) break;
    }
    k += text.startsWith("\r\n", k) ? 2 : 1;
  }
  return starts;
}

// The offset of the quote left open at the end of the text, if one is.
function unclosedQuote(text: string): number | undefined {
  let open: number | undefined;
  for (let k = text.indexOf('"'); k !== -1; k = text.indexOf('"', k + 1)) {
    open = open === undefined ? k : undefined;
  }
  return open;
}

const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "a quoted field is never closed",
  CSV_INVALID_CLOSING_QUOTE: "text follows a closing quote in the same field",
  INVALID_OPENING_QUOTE: "a quote in the middle of an unquoted field",
};

/**
 * Parses CSV text (a header row, then rows) into the `needed` numeric columns. `file` names
 * the source in errors, which carry the line and column of the cell at fault.
 *
 * @example
 * ```ts
 * tableFromCsv("t,y\n0,1.5\n1,\n", "d.csv", ["t", "y"], "drop").rows; // 1 (one row dropped)
 * ```
 */
export function tableFromCsv(
  text: string,
  file: string,
  needed: readonly string[],
  missing: MissingPolicy,
): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const spanAt = spanner(body, file);
  const fail = (message: string, offset: number): never => {
    throw new DmciError("data", message, spanAt(offset));
  };
  let records: string[][];
  try {
    records = parseCsv(body, {
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true, // ragged rows are reported below, with their line
    }) as string[][];
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    const message = `invalid CSV: ${CSV_PROBLEMS[e.code] ?? e.message}`;
    // csv-parse reports where it gave up; an unclosed quote is better shown where it opened.
    const opened = e.code === "CSV_QUOTE_NOT_CLOSED" ? unclosedQuote(body) : undefined;
    if (opened !== undefined) fail(message, opened);
    throw new DmciError("data", message, {
      file,
      line: (e as unknown as { lines?: number }).lines ?? 1,
      col: 1,
    });
  }
  if (records.length === 0) fail("empty file (expected a header row, then rows of numbers)", 0);

  const starts = recordStarts(body);
  const header = records[0];
  const index = new Map<string, number>();
  for (const name of needed) {
    const at = header.indexOf(name);
    if (at === -1) {
      fail(`no column "${name}" (columns: ${header.join(", ")})`, starts[0]);
    }
    const again = header.indexOf(name, at + 1);
    if (again !== -1) {
      fail(
        `column "${name}" appears twice in the header (fields ${at + 1} and ${again + 1})`,
        fieldOffset(body, starts[0], again),
      );
    }
    index.set(name, at);
  }
  if (records.length === 1) fail("no data rows after the header", starts[0]);

  const columns = needed.map(() => new Float64Array(records.length - 1));
  const lines: number[] = [];
  let rows = 0, dropped = 0;
  const cell = new Float64Array(needed.length);
  for (let r = 1; r < records.length; r++) {
    const record = records[r];
    if (record.length !== header.length) {
      fail(`row has ${record.length} fields, the header has ${header.length}`, starts[r]);
    }
    let missingAt = -1;
    needed.forEach((name, c) => {
      const at = index.get(name)!;
      const s = record[at];
      if (MISSING.has(s.toLowerCase())) {
        cell[c] = NaN;
        if (missingAt === -1) missingAt = c;
      } else if (DECIMAL.test(s)) {
        cell[c] = Number(s);
      } else {
        fail(`column "${name}": ${JSON.stringify(s)} is not a number`, fieldOffset(body, starts[r], at));
      }
    });
    if (missingAt !== -1) {
      if (missing === "drop") {
        dropped++;
        continue;
      }
      const name = needed[missingAt];
      const at = index.get(name)!;
      const what = record[at] === "" ? "an empty cell" : `${JSON.stringify(record[at])}, a missing value`;
      fail(`column "${name}": ${what} ${DROP_HINT}`, fieldOffset(body, starts[r], at));
    }
    for (let c = 0; c < needed.length; c++) columns[c][rows] = cell[c];
    lines.push(spanAt(starts[r]).line);
    rows++;
  }
  if (rows === 0) fail(`every row (${dropped}) has a missing value in a needed column`, starts[0]);
  return {
    columns: new Map(needed.map((name, c) => [name, columns[c].slice(0, rows)])),
    rows,
    source: file,
    dropped,
    lines,
  };
}

/**
 * Validates inline columns (equal lengths, numbers; `null` or NaN is missing) and keeps the
 * `needed` ones. Errors name the JSON path, e.g. `$.data.columns.y[3]`.
 *
 * @example
 * ```ts
 * tableFromColumns({ t: [0, 1, 2], y: [1, null, 3] }, ["t", "y"], "drop").rows; // 2
 * ```
 */
export function tableFromColumns(
  columns: Readonly<Record<string, readonly (number | null)[]>>,
  needed: readonly string[],
  missing: MissingPolicy,
): Table {
  const fail = (message: string): never => {
    throw new DmciError("data", message);
  };
  const names = Object.keys(columns);
  const path = (...at: (string | number)[]) => formatPath(["data", "columns", ...at]);
  if (names.length === 0) fail(`${path()}: no columns`);
  for (const name of names) {
    if (!Array.isArray(columns[name])) fail(`${path(name)}: expected an array of numbers`);
  }
  const n = columns[names[0]].length;
  for (const name of names) {
    if (columns[name].length !== n) {
      fail(`${path(name)} has ${columns[name].length} values, but ${path(names[0])} has ${n}`);
    }
  }
  for (const name of needed) {
    if (!Object.hasOwn(columns, name)) {
      fail(`inline data: no column "${name}" (columns: ${names.join(", ")})`);
    }
  }
  if (n === 0) fail("inline data: no rows (the columns are empty)");

  const keep: number[] = [];
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    let missingIn: string | undefined;
    for (const name of needed) {
      const v = columns[name][i];
      if (v === null || (typeof v === "number" && Number.isNaN(v))) missingIn ??= name;
      else if (typeof v !== "number" || !Number.isFinite(v)) {
        const shown = typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v);
        fail(`${path(name, i)}: ${shown} is not a finite number`);
      }
    }
    if (missingIn === undefined) keep.push(i);
    else if (missing === "drop") dropped++;
    else fail(`${path(missingIn, i)}: a missing value ${DROP_HINT}`);
  }
  if (keep.length === 0) fail(`inline data: every row (${dropped}) has a missing value in a needed column`);
  return {
    columns: new Map(
      needed.map((name) => [name, Float64Array.from(keep, (i) => columns[name][i] as number)]),
    ),
    rows: keep.length,
    source: "inline data",
    dropped,
    lines: keep.map((i) => i + 1),
  };
}
