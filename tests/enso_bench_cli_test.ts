// `bench enso` end to end through the CLI on small data files this test writes into a temp dir
// (synthetic series over the benchmark's years: an AR(1) plus noise for Niño 1+2, seven noisy
// series for the Pacific indices), so it needs no shared data: the --json rows and their shape,
// the evaluation budget, the plots, and one clear error line naming the place for each bad input.
import assert from "node:assert/strict";
import { join } from "node:path";
import { normal } from "../lib/random.ts";
import { runCli } from "./helpers/cli.ts";

/** Runs `cli.ts bench enso …` in a subprocess. */
const bench = (args: string[]) => runCli(["bench", "enso", ...args]);

/** A monthly CSV from `first` to `last` inclusive; `cell(t, j)` gives series j in month t. */
function monthly(
  first: number,
  last: number,
  names: string[],
  cell: (t: number, j: number) => string,
): string {
  const lines = [`year,month,${names.join(",")}`];
  let t = 0;
  for (let y = first; y <= last; y++) {
    for (let m = 1; m <= 12; m++, t++) lines.push(`${y},${m},${names.map((_, j) => cell(t, j)).join(",")}`);
  }
  return lines.join("\n") + "\n";
}

const z = normal(42);
const nino: string[] = [];
{
  let x = 0;
  for (let t = 0; t < 61 * 12; t++) {
    x = 0.9 * x + 0.3 * z();
    nino.push((24 + 2 * Math.sin(2 * Math.PI * t / 12) + x + 0.1 * z()).toFixed(3));
  }
}
const PACIFIC = ["nino12", "nino3", "nino34", "nino4", "soi", "pdo", "tpi"];
const pacific = Array.from({ length: 43 * 12 }, () => PACIFIC.map(() => z().toFixed(3)));

/** A data dir with both files; `edit` may change the Niño 1+2 file's lines. */
async function dataDir(edit: (lines: string[]) => string[] = (l) => l): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "enso_cli_" });
  const text = monthly(1950, 2010, ["sst_c"], (t) => nino[t]);
  await Deno.writeTextFile(join(dir, "nino12_sst_1950_2010.csv"), edit(text.split("\n")).join("\n"));
  await Deno.writeTextFile(
    join(dir, "pacific_indices_1978_2020.csv"),
    monthly(1978, 2020, PACIFIC, (t, j) => pacific[t][j]),
  );
  return dir;
}

Deno.test("bench enso --json: one row per method with exactly the documented fields", async () => {
  const dir = await dataDir();
  const r = await bench([
    "--data",
    dir,
    "--models",
    "ar1+noise",
    "--methods",
    "lbfgs,nelder-mead,random",
    "--evaluations",
    "40",
    "--no-plots",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[enso\] ar1\+noise lbfgs: done/);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(doc), ["rows"]);
  assert.deepEqual(doc.rows.map((row: { method: string }) => row.method), ["lbfgs", "nelder-mead", "random"]);
  for (const row of doc.rows) {
    assert.deepEqual(Object.keys(row), [
      "model",
      "method",
      "train_loglik",
      "test_loglik",
      "test_rmse",
      "evaluations",
      "seconds",
    ]);
    assert.equal(row.model, "ar1+noise");
    for (const k of ["train_loglik", "test_loglik", "test_rmse", "seconds"]) {
      assert.ok(Number.isFinite(row[k]), k);
    }
    assert.ok(row.evaluations <= 40 && row.evaluations > 0, `${row.method}: ${row.evaluations}`);
  }
  const [lbfgs, nm, random] = doc.rows;
  // The gradient-free methods use the whole evaluation budget; L-BFGS beats random search on it.
  assert.equal(nm.evaluations, 40);
  assert.equal(random.evaluations, 40);
  assert.ok(lbfgs.train_loglik > random.train_loglik, `${lbfgs.train_loglik} vs ${random.train_loglik}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bench enso: the table, the equal-evaluation comparison and the SVG plots", async () => {
  const dir = await dataDir();
  const out = join(dir, "out");
  const r = await bench([
    "--data",
    dir,
    "--models",
    "latent-var",
    "--dim",
    "2",
    "--methods",
    "lbfgs,cma-es",
    "--evaluations",
    "15",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /latent-var: latent VAR\(1\), state dimension 2/);
  assert.match(r.stdout, /method\s+train loglik\s+test loglik\s+test RMSE\s+evaluations\s+seconds/);
  assert.match(r.stdout, /equal evaluation count: .* within its first 15/);
  for (const name of ["latent-var_loglik_time.svg", "latent-var_predictions.svg"]) {
    assert.ok((await Deno.readTextFile(join(out, name))).startsWith("<svg"), name);
  }
  await Deno.remove(dir, { recursive: true });
});

/** Runs a bad command line; checks the exit code and that stderr is one line matching `pattern`. */
async function badInput(args: string[], pattern: RegExp, dir?: string) {
  const d = dir ?? await dataDir();
  const r = await bench(["--data", d, "--evaluations", "3", "--no-plots", ...args]);
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
  await Deno.remove(d, { recursive: true });
}

Deno.test("bench enso: a data file with a gap names the file and line", async () => {
  // Line 1 is the header; line 14 is 1951-1. Dropping it leaves 1950-12 followed by 1951-2.
  const dir = await dataDir((lines) => lines.filter((_, i) => i !== 13));
  await badInput(
    ["--models", "ar1+noise"],
    /data error at .*nino12_sst_1950_2010\.csv:14:1: gap in the monthly series: expected 1951-1 after 1950-12, found 1951-2/,
    dir,
  );
});

Deno.test("bench enso: a non-numeric cell names the file, line and column", async () => {
  const dir = await dataDir((lines) => lines.map((l, i) => i === 30 ? l.replace(/,[^,]*$/, ",abc") : l));
  await badInput(
    ["--models", "ar2+noise"],
    /data error at .*nino12_sst_1950_2010\.csv:31:\d+: column 'sst_c': expected a number, found 'abc'/,
    dir,
  );
});

Deno.test("bench enso: --dim 0 and an unknown model or method", async () => {
  await badInput(["--dim", "0"], /^spec error: --dim: expected an integer from 1 to 64, got '0'$/);
  await badInput(
    ["--models", "ar1+noise,ar9"],
    /^spec error: --models: unknown model 'ar9'; expected one of ar1\+noise, ar2\+noise, latent-var$/,
  );
  await badInput(
    ["--methods", "lbfgs,simplex"],
    /^spec error: --methods: unknown method 'simplex'; expected one of lbfgs, adam, nelder-mead, cma-es, random$/,
  );
});
