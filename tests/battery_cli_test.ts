// The battery benchmark end to end through the CLI on real cells (../shared/data/battery, read in
// place; the test says so and passes without checking anything when the data are absent), with
// the protocol's numbers for one cell recomputed by hand from its CSV: normalisation (median of
// the first 5 capacities), the early window (first ⌈25%⌉ of rows), the actual and predicted
// end-of-life cycle (first below 0.8, else the horizon) and the RMSE on the rows after the window.
// Also the options --folds, --train-data and --skip-bad-cells.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers/cli.ts";

const REAL = new URL("../../shared/data/battery/", import.meta.url).pathname;
const SYNTHETIC = new URL("../fixtures/battery/synthetic/", import.meta.url).pathname;

/** Runs `cli.ts bench battery --no-plots …` in a subprocess. */
const bench = (args: string[]) => runCli(["bench", "battery", "--no-plots", ...args]);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const haveReal = await exists(join(REAL, "nasa_pcoe", "B0005.csv")) && await exists(join(REAL, "hkust"));
if (!haveReal) console.error(`battery_cli_test: ${REAL} is absent; the real-cell tests check nothing here`);

Deno.test({
  name: "bench battery --folds 3 on NASA cells: one cell's protocol numbers match a hand computation",
  ignore: !haveReal,
  fn: async () => {
    const r = await bench([
      "--data",
      join(REAL, "nasa_pcoe"),
      "--folds",
      "3",
      "--models",
      "linear",
      "--split",
      "early",
      "--restarts",
      "2",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.folds.length, 3);
    const cells = report.models[0].per_cell;
    assert.deepEqual(cells.map((c: { cell: string }) => c.cell), ["B0005", "B0007", "B0018"]);
    assert.deepEqual(
      new Set(cells.map((c: { fold: number }) => c.fold)),
      new Set([0, 1, 2]),
      "each cell a test cell once",
    );

    // B0005 by hand, from its CSV.
    const lines = (await Deno.readTextFile(join(REAL, "nasa_pcoe", "B0005.csv"))).trim().split("\n").slice(1);
    const cycle = lines.map((l) => Number(l.split(",")[0])), cap = lines.map((l) => Number(l.split(",")[1]));
    const n = cap.length;
    const first5 = cap.slice(0, 5).sort((a, b) => a - b);
    const initial = first5[2];
    const y = cap.map((c) => c / initial);
    const window = Math.ceil(0.25 * n);
    const eol = (v: number[]) => {
      const i = v.findIndex((x) => x < 0.8);
      return i < 0 ? cycle[n - 1] : cycle[i];
    };
    const c = cells[0];
    assert.equal(c.rows, n);
    assert.equal(c.initial_ah, initial);
    assert.equal(c.fit_rows, window);
    assert.equal(c.fit_last_cycle, cycle[window - 1]);
    assert.equal(c.eol_actual, eol(y));
    // The linear model's prediction at the reported parameters: q0 − a·cycle/1000.
    const pred = cycle.map((t) => c.params.q0 - c.params.a * t / 1000);
    let sse = 0;
    for (let i = window; i < n; i++) sse += (y[i] - pred[i]) ** 2;
    assert.ok(Math.abs(c.rmse - Math.sqrt(sse / (n - window))) < 1e-12, `rmse ${c.rmse}`);
    assert.equal(c.eol_predicted, eol(pred));
    assert.equal(c.eol_error, Math.abs(eol(pred) - eol(y)));
    // And the fit window's RMSE is the least-squares line's on the window (closed form).
    const xs = cycle.slice(0, window).map((t) => t / 1000), ys = y.slice(0, window);
    const mx = xs.reduce((a, b) => a + b) / window, my = ys.reduce((a, b) => a + b) / window;
    const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) /
      xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    assert.ok(
      Math.abs(-c.params.a - slope) < 1e-4 * Math.abs(slope),
      `a ${c.params.a} vs OLS slope ${-slope}`,
    );
  },
});

Deno.test({
  name: "bench battery --train-data fits the globals on one data set and tests every cell of another",
  ignore: !haveReal,
  fn: async () => {
    const r = await bench([
      "--data",
      join(REAL, "nasa_pcoe"),
      "--train-data",
      join(REAL, "hkust"),
      "--models",
      "knee",
      "--split",
      "early",
      "--restarts",
      "2",
      "--max-rounds",
      "60",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.train_cells, ["H21_cham", "H24_molicel", "H31_samsung"]);
    assert.deepEqual(report.test_cells, ["B0005", "B0007", "B0018"]);
    assert.match(report.train_data, /hkust/);
    const knee = report.models[0];
    assert.deepEqual(knee.global_fits[0].cells, report.train_cells);
    assert.equal(knee.per_cell.length, 3);
  },
});

Deno.test("bench battery --skip-bad-cells leaves out a bad file with a warning; without it, one located error", async () => {
  const dir = await Deno.makeTempDir();
  for (const name of ["S01.csv", "S02.csv", "S03.csv", "S04.csv"]) {
    await Deno.copyFile(join(SYNTHETIC, name), join(dir, name));
  }
  await Deno.writeTextFile(join(dir, "BAD.csv"), "cycle,capacity_ah\n1,1.0\n2,abc\n");
  const args = ["--data", dir, "--models", "linear", "--split", "early", "--restarts", "1", "--json"];
  const stop = await bench(args);
  assert.notEqual(stop.code, 0);
  const lines = stop.stderr.trim().split("\n");
  assert.equal(lines.length, 1, stop.stderr);
  assert.match(lines[0], /^data error.*BAD\.csv:3/);
  const skip = await bench([...args, "--skip-bad-cells"]);
  assert.equal(skip.code, 0, skip.stderr);
  const report = JSON.parse(skip.stdout);
  assert.ok(report.warnings.some((w: string) => w.includes("BAD.csv")), report.warnings.join("\n"));
  assert.ok(![...report.train_cells, ...report.test_cells].includes("BAD"));
  assert.equal(report.train_cells.length + report.test_cells.length, 4);
});
