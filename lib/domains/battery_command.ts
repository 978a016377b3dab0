/**
 * `bench battery`: the battery capacity-fade benchmark from the command line. Parses the flags,
 * runs lib/domains/battery/bench.ts, prints a table per split (or the JSON documents with
 * --json) and writes one SVG per model and split to --out. Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DmciError } from "../errors.ts";
import { positiveFlag } from "../cli_flags.ts";
import { columns } from "../text_table.ts";
import { type ModelResult, runBatteryBench, type SplitReport, SYNTHETIC_DIR } from "./battery/bench.ts";
import { BASELINES } from "./battery/model.ts";
import type { SplitName } from "./battery/protocol.ts";

/** Usage of `bench battery`. */
export const BATTERY_USAGE =
  `usage: deno task bench battery [--data DIR] [--train-data DIR] [--test-fraction F | --folds K]
         [--split early|late|both] [--models M,…] [--json] [--backend f64|tfjs|tfjs-wasm]
         [--out DIR] [--restarts N] [--seed N] [--max-rounds N] [--skip-bad-cells] [--no-plots]
         [--no-trace]

Predicts the rest of each test cell's capacity curve from its early cycles (normalised by the
median of its first 5 capacities): split early fits the first 25% of a cell's recorded cycles,
late the first 50%; scored on the rest by RMSE and by the error of the first cycle below 0.8
(a curve that never gets there counts as the cell's last recorded cycle).

  --data DIR          folder of cell CSVs (cycle,capacity_ah); default: the bundled synthetic
                      cells, fixtures/battery/synthetic (real sets: ../shared/data/battery/*)
  --train-data DIR    fit global parameters on all cells of DIR (then --test-fraction defaults to 1)
  --test-fraction F   share of --data's cells that are test cells, by a seeded shuffle (default 0.3)
  --folds K           cross-validation instead: the shuffled cells dealt into K folds, each fold
                      the test cells once with globals fitted on the rest (K = number of cells:
                      leave one out), so every cell gets a test result
  --split S           early, late or both (default both)
  --models M,…        baselines by name and/or .scm model files (repeatable; .scm files may also
                      be plain arguments); "baselines" (the default) is all eight:
                      ${BASELINES.join(", ")}
  --backend B         f64 (default: float64, fastest here), tfjs, tfjs-wasm
  --out DIR           where the SVGs go (default out/battery): MODEL_SPLIT.svg
  --restarts N        starts per fit (default 8);  --seed N  shuffle and starts (default 0)
  --max-rounds N      most batched optimizer rounds per fit (default 300)
  --skip-bad-cells    leave out a bad cell file with a warning (default: stop with its file:line)
  --no-trace          on f64, run the program through the evaluator at every optimizer step
                      (default: trace the first run of each batched objective, replay it compiled)
  --no-plots          write no SVGs
  --json              one JSON document per split on stdout (a list of two with --split both)`;

/** The models a command line names: --models lists (comma-separated) and plain .scm arguments. */
function modelList(lists: readonly string[], positionals: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of [...lists.flatMap((l) => l.split(",")), ...positionals].map((s) => s.trim())) {
    if (item === "") continue;
    if (item === "baselines") out.push(...BASELINES);
    else out.push(item);
  }
  return [...new Set(out.length ? out : BASELINES)];
}

/** An RMSE for the table: 4 decimals, or an exponent when an extrapolation blew up. */
const fmt = (x: number | null) => x === null ? "—" : Math.abs(x) >= 1e3 ? x.toExponential(2) : x.toFixed(4);

/** A split's report as text: the summary table, then each test cell's RMSE and EOL error. */
export function formatReport(r: SplitReport): string {
  const cells = r.folds.length > 1
    ? `${r.folds.length}-fold cross-validation over ${r.test_cells.length} cells (globals on the other folds)`
    : `${r.test_cells.length} test cells (${r.test_cells.join(", ")}); globals on ${r.train_cells.length} ` +
      `training cells of ${r.train_data}`;
  const head =
    `battery benchmark, ${r.split} split (fit on the first ${100 * r.window_fraction}% of each test ` +
    `cell's cycles): data ${r.data}, ${cells}; ${r.backend}, ${r.mode}, ${r.restarts} restarts`;
  const summary = columns([
    ["model", "mean RMSE", "median RMSE", "mean EOL err", "cells", "fit s"],
    ...r.models.map((m: ModelResult) => [
      m.model,
      fmt(m.mean_rmse),
      fmt(m.median_rmse),
      m.mean_eol_error.toFixed(1),
      String(m.cells),
      m.fit_seconds.toFixed(1),
    ]),
  ]);
  const first = r.models[0]?.per_cell ?? [];
  const perCell = columns([
    ["", ...first.map((c) => `${c.cell} (${c.eol_actual}${c.eol_actual_reached ? "" : "*"})`)],
    ...r.models.map((m) => [m.model, ...m.per_cell.map((c) => `${fmt(c.rmse)} / ${c.eol_error}`)]),
  ]);
  return [
    head,
    "",
    ...summary,
    "",
    "per test cell: RMSE / |EOL error| in cycles; in the header, the actual EOL cycle (* = never below 0.8:",
    "the cell's last recorded cycle)",
    ...perCell,
  ].join("\n");
}

/**
 * Runs `bench battery` with the arguments after `battery`; returns the exit code. Errors are
 * thrown as DmciErrors for the CLI to print as one line.
 *
 * @example
 * ```ts
 * await batteryBenchCommand(["--models", "linear,knee", "--split", "early", "--json"]);
 * ```
 */
export async function batteryBenchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      data: { type: "string" },
      "train-data": { type: "string" },
      "test-fraction": { type: "string" },
      folds: { type: "string" },
      split: { type: "string", default: "both" },
      models: { type: "string", multiple: true, default: [] },
      json: { type: "boolean", default: false },
      backend: { type: "string", default: "f64" },
      out: { type: "string", default: join("out", "battery") },
      restarts: { type: "string" },
      seed: { type: "string" },
      "max-rounds": { type: "string" },
      "skip-bad-cells": { type: "boolean", default: false },
      "no-trace": { type: "boolean", default: false },
      "no-plots": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(BATTERY_USAGE);
    return 0;
  }
  const splitFlag = values.split;
  if (splitFlag !== "early" && splitFlag !== "late" && splitFlag !== "both") {
    throw new DmciError("spec", `--split: expected early, late or both, got '${splitFlag}'`);
  }
  const splits: SplitName[] = splitFlag === "both" ? ["early", "late"] : [splitFlag];
  let testFraction: number | undefined;
  if (values["test-fraction"] !== undefined) {
    testFraction = Number(values["test-fraction"]);
    if (!(testFraction > 0 && testFraction <= 1)) {
      throw new DmciError(
        "spec",
        `--test-fraction: expected a number in (0, 1], got '${values["test-fraction"]}'`,
      );
    }
  }
  const seedText = values.seed;
  const seed = seedText === undefined ? 0 : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new DmciError("spec", `--seed: expected an integer ≥ 0, got '${seedText}'`);
  }
  const plot = !values["no-plots"];
  const t0 = performance.now();
  const { reports, svgs } = await runBatteryBench({
    data: values.data ?? SYNTHETIC_DIR,
    trainData: values["train-data"],
    testFraction,
    folds: positiveFlag("folds", values.folds),
    splits,
    models: modelList(values.models, positionals),
    backend: values.backend,
    restarts: positiveFlag("restarts", values.restarts) ?? 8,
    seed,
    maxRounds: positiveFlag("max-rounds", values["max-rounds"]) ?? 300,
    skipBad: values["skip-bad-cells"],
    trace: !values["no-trace"],
    plot,
    onProgress: (line) => console.error(`[battery] ${line}`),
  });
  const files: string[] = [];
  if (plot) {
    await Deno.mkdir(values.out, { recursive: true });
    for (const [i, r] of reports.entries()) {
      for (const [model, svg] of svgs[i]) {
        const file = join(values.out, `${model}_${r.split}.svg`);
        await Deno.writeTextFile(file, svg);
        files.push(file);
      }
    }
  }
  if (values.json) {
    console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports));
  } else {
    console.log(reports.map(formatReport).join("\n\n"));
    for (const w of reports[0]?.warnings ?? []) console.log(`warning: ${w}`);
    console.log(
      `\n${files.length ? `wrote ${files.length} SVGs to ${values.out}; ` : ""}total ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
  }
  return 0;
}
