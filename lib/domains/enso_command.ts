/**
 * `bench enso`: the El Niño benchmark from the command line. Parses and checks the flags, runs
 * lib/domains/enso/bench.ts, prints a table per model (or `{"rows": […]}` with --json) and writes
 * the SVG plots to --out. Progress goes to stderr.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DmciError } from "../errors.ts";
import { positiveFlag } from "../cli_flags.ts";
import { columns } from "../text_table.ts";
import { ENSO_DATA_DIR } from "./enso/data.ts";
import { DEFAULT_DIM, MAX_DIM, MODEL_IDS, type ModelId } from "./enso/models.ts";
import {
  ADAM_RATE,
  METHOD_IDS,
  type MethodId,
  type ModelReport,
  runEnsoBench,
  SEARCH_STEP,
} from "./enso/bench.ts";

/** Usage of `bench enso`. */
export const ENSO_USAGE =
  `usage: deno task bench enso [--dim N] [--budget SECONDS] [--evaluations N] [--models M,…]
         [--methods M,…] [--data DIR] [--seed S] [--out DIR] [--no-plots] [--json]

Fits linear-Gaussian state-space models of El Niño by maximising a Kalman-filter log-likelihood
that is a Scheme program run by the evaluator (fixtures/enso/kalman.scm), with each method under
the same budget from the same start; scores each fit by the one-step-ahead log-likelihood and
RMSE on the test years. Niño 1+2 SST anomalies: train 1950–1999, test 2000–2010; seven Pacific
indices, standardised: train 1978–2009, test 2010–2020.

  --models M,…      ${MODEL_IDS.join(", ")} (default all)
  --methods M,…     ${METHOD_IDS.join(", ")} (default all); the gradient methods
                    use the traced value+gradient, the others the forward-only replay
  --dim N           state dimension of latent-var, 1 to ${MAX_DIM} (default ${DEFAULT_DIM})
  --budget SECONDS  wall clock per method and model (default 60)
  --evaluations N   also at most N likelihood evaluations per method and model
  --data DIR        folder with nino12_sst_1950_2010.csv and pacific_indices_1978_2020.csv
                    (default ${ENSO_DATA_DIR})
  --seed S          latent-var's starting values and the random methods' seeds (default 0)
  --out DIR         where the SVGs go (default out/enso): MODEL_loglik_time.svg, MODEL_predictions.svg
  --no-plots        write no SVGs
  --json            print {"rows": [{"model", "method", "train_loglik", "test_loglik", "test_rmse",
                    "evaluations", "seconds"}]}`;

/** A comma-separated list of ids, each checked against `known`. */
function idList<T extends string>(flag: string, v: string | undefined, known: readonly T[]): T[] {
  if (v === undefined) return [...known];
  const out: T[] = [];
  for (const item of v.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (!(known as readonly string[]).includes(item)) {
      throw new DmciError(
        "spec",
        `--${flag}: unknown ${flag.slice(0, -1)} '${item}'; expected one of ${known.join(", ")}`,
      );
    }
    if (!out.includes(item as T)) out.push(item as T);
  }
  if (out.length === 0) {
    throw new DmciError("spec", `--${flag}: expected at least one of ${known.join(", ")}`);
  }
  return out;
}

const num = (x: number, digits = 3) => Number.isFinite(x) ? x.toFixed(digits) : String(x);

/**
 * One model's report as text: the equal-wall-clock table, then the equal-evaluation comparison.
 *
 * @example
 * ```ts
 * console.log(formatEnsoReport(report, "600 s per method"));
 * ```
 */
export function formatEnsoReport(r: ModelReport, budget: string): string {
  const s = r.stage;
  return [
    `${r.model}: ${r.description}`,
    `  data ${r.data}: ${r.trainMonths} training months, ${r.testMonths} test months; ` +
    `start log-likelihood ${num(r.startLoglik)}; budget ${budget}`,
    `  staged likelihood: ${s.recordings} recordings, ${s.replays} replays, ${s.guardFailures} guard failures` +
    (s.untraced ? `, untraced: ${s.untraced}` : ""),
    "",
    ...columns([
      ["method", "train loglik", "test loglik", "test RMSE", "evaluations", "seconds", "stopped"],
      ...r.runs.map(({ row, stopped }) => [
        row.method,
        num(row.train_loglik),
        num(row.test_loglik),
        num(row.test_rmse, 4),
        String(row.evaluations),
        row.seconds.toFixed(1),
        stopped,
      ]),
    ]).map((l) => "  " + l),
    "",
    `  equal evaluation count: the best train log-likelihood of each method within its first ${r.equal.evaluations}`,
    ...columns([
      ["method", "train loglik"],
      ...r.equal.rows.map((e) => [e.method, num(e.train_loglik)]),
    ]).map((l) => "  " + l),
  ].join("\n");
}

/**
 * Runs `bench enso` with the arguments after `enso`; returns the exit code. Errors are thrown
 * as DmciErrors for the CLI to print as one line.
 *
 * @example
 * ```ts
 * await ensoBenchCommand(["--models", "ar1+noise", "--budget", "10", "--json"]);
 * ```
 */
export async function ensoBenchCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dim: { type: "string" },
      budget: { type: "string" },
      evaluations: { type: "string" },
      models: { type: "string" },
      methods: { type: "string" },
      data: { type: "string" },
      seed: { type: "string" },
      out: { type: "string", default: join("out", "enso") },
      "no-plots": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(ENSO_USAGE);
    return 0;
  }
  const models: ModelId[] = idList("models", values.models, MODEL_IDS);
  const methods: MethodId[] = idList("methods", values.methods, METHOD_IDS);
  const dim = values.dim === undefined ? DEFAULT_DIM : Number(values.dim);
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_DIM) {
    throw new DmciError("spec", `--dim: expected an integer from 1 to ${MAX_DIM}, got '${values.dim}'`);
  }
  const seconds = positiveFlag("budget", values.budget, false) ?? 60;
  const evaluations = positiveFlag("evaluations", values.evaluations);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new DmciError("spec", `--seed: expected an integer ≥ 0, got '${values.seed}'`);
  }
  const plot = !values["no-plots"];
  const t0 = performance.now();
  const reports = await runEnsoBench({
    models,
    methods,
    dim,
    budget: { seconds, evaluations },
    dataDir: values.data ?? ENSO_DATA_DIR,
    seed,
    plot,
    onProgress: (line) => console.error(`[enso] ${line}`),
  });
  const files: string[] = [];
  if (plot) {
    await Deno.mkdir(values.out, { recursive: true });
    for (const r of reports) {
      for (const [name, svg] of r.svgs) {
        const file = join(values.out, `${name}.svg`);
        await Deno.writeTextFile(file, svg);
        files.push(file);
      }
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ rows: reports.flatMap((r) => r.runs.map((run) => run.row)) }));
    return 0;
  }
  const budget = `${seconds} s${
    evaluations === undefined ? "" : ` or ${evaluations} evaluations`
  } per method`;
  console.log(reports.map((r) => formatEnsoReport(r, budget)).join("\n\n"));
  console.log(
    `\nAdam learning rate ${ADAM_RATE}; gradient-free search scale ${SEARCH_STEP}; seed ${seed}` +
      `\n${files.length ? `wrote ${files.length} SVGs to ${values.out}; ` : ""}total ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
  );
  return 0;
}
