/**
 * The `fit` command: fit a spec (the bundled default when none is given), print the
 * fitted parameters, and write the results (JSON) and the plot (SVG) to --out. Progress
 * goes to stderr as a one-line bar; --json prints the results document on stdout.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DmciError } from "../errors.ts";
import { loadSpec } from "./spec.ts";
import { type FitProgress, type FitResult, fitSpec } from "./fit.ts";

/** The spec `deno task fit` fits when none is named. */
export const DEFAULT_SPEC = new URL("../../fixtures/specs/exponential_decay.json", import.meta.url);

/** Usage of the fit command. */
export const FIT_USAGE = `usage: deno task fit [SPEC.json] [--out DIR] [--backend tfjs|tfjs-wasm|f64]
                     [--mode interpreted|direct] [--no-trace] [--json]

Fits the model spec (default: fixtures/specs/exponential_decay.json) and writes
DIR/NAME.json (results) and DIR/NAME.svg (data vs fit), DIR defaulting to out/.
On f64 the objective is traced once and replayed compiled; --no-trace runs every
step through the program (or evaluator) again.`;

function bar(p: FitProgress): string {
  const width = 24;
  const done = Math.min(width, Math.round((p.step / Math.max(1, p.steps)) * width));
  const lossText = Number.isFinite(p.loss) ? p.loss.toPrecision(6) : String(p.loss);
  return `\r[${"#".repeat(done)}${" ".repeat(width - done)}] restart ${p.restart}/${p.restarts} ` +
    `step ${p.step}/${p.steps} loss ${lossText}   `;
}

function fmt(x: number | null): string {
  return x === null
    ? "—"
    : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
    ? x.toExponential(4)
    : x.toPrecision(6);
}

/** The human summary of a fit. */
export function summarize(r: FitResult, files: string[]): string {
  const lines = [
    `${r.name}: ${r.loss_kind} on ${r.data.rows} rows (${r.train.rows} train, ${r.test?.rows ?? 0} test), ` +
    `${r.mode} on ${r.backend}, ${r.optimizer.method}, ${r.timing.seconds_total.toFixed(2)} s`,
    "",
    `${"parameter".padEnd(14)}${"value".padStart(14)}${"std. error".padStart(14)}  transform`,
    ...r.params.map((p) =>
      `${p.name.padEnd(14)}${fmt(p.value).padStart(14)}${fmt(p.se).padStart(14)}  ${
        p.fixed ? "fixed" : p.transform
      }`
    ),
    "",
    `train: loss ${fmt(r.train.loss)}  rmse ${fmt(r.train.rmse)}  r² ${fmt(r.train.r2)}`,
  ];
  if (r.test) lines.push(`test:  loss ${fmt(r.test.loss)}  rmse ${fmt(r.test.rmse)}  r² ${fmt(r.test.r2)}`);
  if (r.log_likelihood !== null) lines.push(`log-likelihood (train): ${fmt(r.log_likelihood)}`);
  if (!r.standard_errors.available) lines.push(`standard errors: not available (${r.standard_errors.note})`);
  const best = r.optimizer.restarts[r.optimizer.best_restart];
  if (best) lines.push(`optimizer: ${best.converged ? "converged" : "NOT converged"} (${best.reason})`);
  for (const w of r.optimizer.warnings.slice(0, 5)) lines.push(`warning: ${w}`);
  lines.push(...files.map((f) => `wrote ${f}`));
  return lines.join("\n");
}

/** Runs `fit` with CLI arguments; returns the exit code. */
export async function fitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: "string", default: "out" },
      backend: { type: "string" },
      mode: { type: "string" },
      json: { type: "boolean", default: false },
      "no-trace": { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new DmciError("spec", "fit: expected at most one SPEC.json");
  if (values.mode !== undefined && values.mode !== "interpreted" && values.mode !== "direct") {
    throw new DmciError("spec", `--mode: expected interpreted or direct, got '${values.mode}'`);
  }
  const specPath = positionals[0] ?? DEFAULT_SPEC.pathname;
  const showBar = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let last = 0;
  const result = await fitSpec(await loadSpec(specPath), {
    backend: values.backend,
    mode: values.mode as "interpreted" | "direct" | undefined,
    trace: !values["no-trace"],
    onProgress: (p) => {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      if (showBar) Deno.stderr.writeSync(encoder.encode(bar(p)));
    },
  });
  if (showBar) Deno.stderr.writeSync(encoder.encode("\r" + " ".repeat(80) + "\r"));
  await Deno.mkdir(values.out, { recursive: true });
  const files: string[] = [];
  const { svg, ...json } = result;
  const jsonFile = join(values.out, `${result.name}.json`);
  await Deno.writeTextFile(jsonFile, JSON.stringify(json, null, 2) + "\n");
  files.push(jsonFile);
  if (svg) {
    const svgFile = join(values.out, `${result.name}.svg`);
    await Deno.writeTextFile(svgFile, svg);
    files.push(svgFile);
  }
  if (values.json) console.log(JSON.stringify({ ...json, files }));
  else console.log(summarize(result, files));
  return 0;
}
