/**
 * Tests of data loading and splitting (lib/fit/data.ts, lib/fit/split.ts): CSV files read
 * relative to the spec; every CSV error names file:line:col and the column; empty and NaN
 * cells drop their row or fail as the spec says; inline columns; fraction and column splits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DmciError } from "../lib/errors.ts";
import { loadTable, type Table, tableFromColumns, tableFromCsv } from "../lib/fit/data.ts";
import { neededColumns, parseSpec } from "../lib/fit/spec.ts";
import { selectRows, splitRows } from "../lib/fit/split.ts";

/** The one-line error a CSV text gives. */
function csvError(text: string, needed: string[], missing: "drop" | "error" = "error"): string {
  try {
    tableFromCsv(text, "data/x.csv", needed, missing);
  } catch (e) {
    assert.ok(e instanceof DmciError && e.kind === "data", `unexpected: ${e}`);
    assert.ok(!e.toString().includes("\n"), `not one line: ${e}`);
    return e.toString();
  }
  assert.fail("accepted");
}

function columnsOf(table: Table): Record<string, number[]> {
  return Object.fromEntries([...table.columns].map(([k, v]) => [k, [...v]]));
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a CSV file relative to the spec's directory loads the needed columns only", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(
      join(dir, "data", "decay.csv"),
      "date,time,y,note\n2020-01-01,0,10.5,start\n2020-01-02,1,6.25,\n2020-01-03,2,3.9e0,a, quoted\n"
        .replace("a, quoted", '"a, quoted"'),
    );
    const table = await loadTable({ csv: "data/decay.csv", missing: "error" }, dir, ["time", "y"]);
    assert.deepEqual(columnsOf(table), { time: [0, 1, 2], y: [10.5, 6.25, 3.9] });
    assert.equal(table.rows, 3);
    assert.equal(table.dropped, 0);
    assert.equal(table.source, join(dir, "data", "decay.csv"));
    assert.deepEqual(table.lines, [2, 3, 4]);
    assert.ok(table.columns.get("y") instanceof Float64Array);
  });
});

Deno.test("CSV details: BOM, CRLF, blank lines, spaces, quotes, signs and exponents", () => {
  const text = '\uFEFF t , y \r\n\r\n 1 , "-2.5" \r\n  \r\n+.5,1e-3\r\n3.,"4"\r\n';
  const table = tableFromCsv(text, "d.csv", ["y", "t"], "error");
  assert.deepEqual(columnsOf(table), { y: [-2.5, 0.001, 4], t: [1, 0.5, 3] });
  assert.deepEqual(table.lines, [3, 5, 6]);
  assert.deepEqual([...table.columns.keys()], ["y", "t"]);
});

Deno.test("an unknown column is named with the file and the columns there are", () => {
  assert.equal(
    csvError("a,b,c\n1,2,3\n", ["a", "time"]),
    'data error at data/x.csv:1:1: no column "time" (columns: a, b, c)',
  );
  assert.equal(
    csvError("\n\na,b\n1,2\n", ["time"]),
    'data error at data/x.csv:3:1: no column "time" (columns: a, b)',
  );
});

Deno.test("a non-numeric cell is named by file:line:col and column", () => {
  const rows = ["t,y", ...Array.from({ length: 12 }, (_, i) => `${i},${i * 2}`), "12,abc", "13,26"];
  assert.equal(
    csvError(rows.join("\n"), ["t", "y"]),
    'data error at data/x.csv:14:4: column "y": "abc" is not a number',
  );
  assert.equal(
    csvError('t,y\n1, "1,5"\n', ["t", "y"]),
    'data error at data/x.csv:2:4: column "y": "1,5" is not a number',
  );
  assert.equal(
    csvError("t,y\n0x10,1\n", ["t", "y"]),
    'data error at data/x.csv:2:1: column "t": "0x10" is not a number',
  );
  assert.equal(
    csvError("t,y\n1,Infinity\n", ["y"]),
    'data error at data/x.csv:2:3: column "y": "Infinity" is not a number',
  );
  // Even with "drop", a cell that is neither a number nor missing is an error.
  assert.equal(
    csvError("t,y\n1,2\n2,n.a.\n", ["y"], "drop"),
    'data error at data/x.csv:3:3: column "y": "n.a." is not a number',
  );
  // A quoted field spanning lines: the next row's line is still right.
  assert.equal(
    csvError('note,t,y\n"two\nlines",1,2\n"c",1,zz\n', ["t", "y"]),
    'data error at data/x.csv:4:7: column "y": "zz" is not a number',
  );
});

Deno.test("text in columns the spec does not use is not an error", () => {
  const table = tableFromCsv("label,y\nfoo,1\n,2\nNaN,3\n", "d.csv", ["y"], "error");
  assert.deepEqual(columnsOf(table), { y: [1, 2, 3] });
});

Deno.test("empty files, header-only files, ragged rows and broken quotes are errors with their line", () => {
  const hint = "(expected a header row, then rows of numbers)";
  assert.equal(csvError("", ["t"]), `data error at data/x.csv:1:1: empty file ${hint}`);
  assert.equal(csvError("\n \n\n", ["t"]), `data error at data/x.csv:1:1: empty file ${hint}`);
  assert.equal(csvError("t,y\n", ["t"]), "data error at data/x.csv:1:1: no data rows after the header");
  assert.equal(
    csvError("t,y\n1,2\n3,4,5\n", ["t"]),
    "data error at data/x.csv:3:1: row has 3 fields, the header has 2",
  );
  assert.equal(
    csvError("t,y\n1,2\n3\n", ["t"]),
    "data error at data/x.csv:3:1: row has 1 fields, the header has 2",
  );
  assert.equal(
    csvError('t,y\n1,"2\n3,4\n', ["t"]),
    "data error at data/x.csv:2:3: invalid CSV: a quoted field is never closed",
  );
  assert.equal(
    csvError('t,y\n1,"2"x\n', ["t"]),
    "data error at data/x.csv:2:1: invalid CSV: text follows a closing quote in the same field",
  );
  assert.equal(
    csvError("t,y,t\n1,2,3\n", ["t"]),
    'data error at data/x.csv:1:5: column "t" appears twice in the header (fields 1 and 3)',
  );
});

Deno.test('missing cells with "error": the first one is named with its line and column', () => {
  const text = "t,y\n0,1\n1,\n2,NaN\n3,4\n";
  assert.equal(
    csvError(text, ["t", "y"]),
    'data error at data/x.csv:3:3: column "y": an empty cell (with "missing": "drop" in the spec\'s "data", such rows are dropped)',
  );
  assert.equal(
    csvError("t,y\n0,1\n2,NaN\n", ["t", "y"]),
    'data error at data/x.csv:3:3: column "y": "NaN", a missing value (with "missing": "drop" in the spec\'s "data", such rows are dropped)',
  );
});

Deno.test('missing cells with "drop": their whole rows go, and are counted', () => {
  const text = "t,y,z\n0,1,x\n1,,\n2,NaN,1\n3,4,\nNA,5,1\n6,n/a,1\n7,7,1\n";
  const table = tableFromCsv(text, "d.csv", ["t", "y"], "drop");
  assert.deepEqual(columnsOf(table), { t: [0, 3, 7], y: [1, 4, 7] });
  assert.equal(table.dropped, 4);
  assert.deepEqual(table.lines, [2, 5, 8]);
  assert.equal(
    csvError("t,y\n1,\n,2\n", ["t", "y"], "drop"),
    "data error at data/x.csv:1:1: every row (2) has a missing value in a needed column",
  );
});

Deno.test("an unreadable CSV file is an io error naming it", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      () => loadTable({ csv: "nope.csv", missing: "error" }, dir, ["t"]),
      (e: DmciError) => {
        assert.equal(e.toString(), `io error: cannot read ${join(dir, "nope.csv")}: no such file`);
        return true;
      },
    );
  });
});

Deno.test("inline columns load like CSV: needed columns, missing values dropped or errors", async () => {
  const columns = { t: [0, 1, 2, 3], y: [1, null, 3, NaN], label: [9, 9, 9, 9] };
  const dropped = await loadTable({ columns, missing: "drop" }, ".", ["t", "y"]);
  assert.deepEqual(columnsOf(dropped), { t: [0, 2], y: [1, 3] });
  assert.equal(dropped.dropped, 2);
  assert.equal(dropped.source, "inline data");
  assert.deepEqual(dropped.lines, [1, 3]);
  const fail = (f: () => unknown, message: string) =>
    assert.throws(f, (e: DmciError) => {
      assert.equal(e.toString(), message);
      return true;
    });
  fail(
    () => tableFromColumns(columns, ["t", "y"], "error"),
    'data error: $.data.columns.y[1]: a missing value (with "missing": "drop" in the spec\'s "data", such rows are dropped)',
  );
  fail(
    () => tableFromColumns({ t: [1, 2], y: [1] }, ["t"], "error"),
    "data error: $.data.columns.y has 1 values, but $.data.columns.t has 2",
  );
  fail(
    () => tableFromColumns({ a: [1] }, ["time"], "error"),
    'data error: inline data: no column "time" (columns: a)',
  );
  fail(
    () => tableFromColumns({ t: [] }, ["t"], "error"),
    "data error: inline data: no rows (the columns are empty)",
  );
  fail(
    () => tableFromColumns({ t: [1, Infinity] }, ["t"], "error"),
    "data error: $.data.columns.t[1]: Infinity is not a finite number",
  );
});

Deno.test("a spec's needed columns load from its data", async () => {
  const spec = parseSpec({
    name: "s",
    program: "p.scm",
    inputs: { t: "time" },
    target: "y",
    split: { kind: "column", column: "year", op: "<", value: 2000 },
    data: { columns: { time: [1, 2], y: [3, 4], year: [1999, 2001], other: [0, 0] } },
  }, "s");
  const table = await loadTable(spec.data, ".", neededColumns(spec));
  assert.deepEqual([...table.columns.keys()], ["time", "y", "year"]);
  assert.deepEqual(splitRows(table, spec.split), { train: [0], test: [1] });
});

const TEN = tableFromColumns({ t: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, ["t"], "error");

Deno.test("no split: every row trains", () => {
  assert.deepEqual(splitRows(TEN, undefined), { train: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], test: [] });
});

Deno.test("a fraction split trains on the first ⌊train·n⌋ rows in file order", () => {
  assert.deepEqual(splitRows(TEN, { kind: "fraction", train: 0.8 }), {
    train: [0, 1, 2, 3, 4, 5, 6, 7],
    test: [8, 9],
  });
  assert.deepEqual(splitRows(TEN, { kind: "fraction", train: 0.25 }), {
    train: [0, 1],
    test: [2, 3, 4, 5, 6, 7, 8, 9],
  });
  assert.deepEqual(splitRows(TEN, { kind: "fraction", train: 1 }).test, []);
  const hundred = tableFromColumns({ t: Array.from({ length: 100 }, (_, i) => i) }, ["t"], "error");
  // 0.29 · 100 is 28.999999999999996 in floating point; the split still takes 29 rows.
  assert.equal(splitRows(hundred, { kind: "fraction", train: 0.29 }).train.length, 29);
  assert.throws(() => splitRows(TEN, { kind: "fraction", train: 0.05 }), (e: DmciError) => {
    assert.equal(
      e.toString(),
      "data error: $.split: a train fraction of 0.05 of the 10 rows of inline data leaves no training rows",
    );
    return true;
  });
});

Deno.test("a column split trains on the rows satisfying the condition, for every operator", () => {
  const cases = [
    ["<", [0, 1, 2]],
    ["<=", [0, 1, 2, 3]],
    [">", [4, 5, 6, 7, 8, 9]],
    [">=", [3, 4, 5, 6, 7, 8, 9]],
    ["==", [3]],
    ["!=", [0, 1, 2, 4, 5, 6, 7, 8, 9]],
  ] as const;
  for (const [op, train] of cases) {
    const split = splitRows(TEN, { kind: "column", column: "t", op, value: 3 });
    assert.deepEqual(split.train, train, op);
    assert.deepEqual([...split.train, ...split.test].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  assert.throws(() => splitRows(TEN, { kind: "column", column: "t", op: ">", value: 70 }), (e: DmciError) => {
    assert.equal(e.toString(), "data error: $.split: no row of inline data has t > 70, so none would train");
    return true;
  });
  assert.throws(
    () => splitRows(TEN, { kind: "column", column: "year", op: ">", value: 0 }),
    (e: DmciError) => e.kind === "data" && e.message.startsWith('$.split.column: no column "year"'),
  );
});

Deno.test("selectRows keeps the chosen rows' values and source lines", () => {
  const table = tableFromCsv("t,y\n0,10\n\n1,11\n2,12\n3,13\n", "d.csv", ["t", "y"], "error");
  const { train, test } = splitRows(table, { kind: "fraction", train: 0.5 });
  const sub = selectRows(table, test);
  assert.deepEqual(columnsOf(sub), { t: [2, 3], y: [12, 13] });
  assert.equal(sub.rows, 2);
  assert.equal(sub.source, "d.csv");
  assert.deepEqual(sub.lines, [5, 6]);
  assert.deepEqual(columnsOf(selectRows(table, train)), { t: [0, 1], y: [10, 11] });
  assert.throws(() => selectRows(table, [4]), RangeError);
});
