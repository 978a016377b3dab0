/**
 * Cost of the El Niño likelihood as the problem grows: for the latent VAR(1) of state dimension
 * n = 5, 10, 20, 40 on the seven Pacific indices (training years, 384 months), the time of one
 * interpreted value+gradient (the traced replay on f64, and one untraced run for comparison), one
 * forward-only replay, and the hand-written TypeScript float64 filter (forward only, the same
 * doubling Lyapunov start) of lib/domains/enso/filter_f64.ts; medians over a few θ near the
 * start, and their ratios to the hand-written filter. The goal: value+gradient at most
 * 5× the hand-written forward filter at n = 20.
 *
 * Run: nice -n 10 deno run -A --v8-flags=--stack-size=4000 bench/enso_scaling.ts [--dims 5,10,20,40]
 *        [--theta-out FILE]   (writes each n's first θ and log-likelihood for bench/enso_scaling_torch.py)
 */
import { parseArgs } from "node:util";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { dataFiles, ENSO_DATA_DIR, readMonthly, standardised } from "../lib/domains/enso/data.ts";
import { loadModel, modelInputs } from "../lib/domains/enso/models.ts";
import {
  forwardLoglik,
  likelihood,
  loglikAndGrad,
  untracedLoglikAndGrad,
} from "../lib/domains/enso/likelihood.ts";
import { kalmanLoglik, stateSpaceAt } from "../lib/domains/enso/filter_f64.ts";
import { normal } from "../lib/random.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { dims: { type: "string", default: "5,10,20,40" }, "theta-out": { type: "string" } },
});
const dims = values.dims.split(",").map(Number);
const file = dataFiles(ENSO_DATA_DIR).pacific;
try {
  await Deno.stat(file);
} catch {
  console.error(`${file} is absent; nothing to time`);
  Deno.exit(3);
}
const data = standardised(await readMonthly(file), 1978, 2009, 2020);
const rows = data.rows.slice(0, data.trainEnd);
const p = data.names.length;

/** Milliseconds of `f(θ)` for each θ, median. */
function median(thetas: Float64Array[], f: (theta: Float64Array) => unknown): number {
  const ms = thetas.map((t) => {
    const t0 = performance.now();
    f(t);
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

const header = [
  "n",
  "params",
  "TS fwd ms",
  "replay v+g ms",
  "replay fwd ms",
  "untraced v+g ms",
  "v+g / TS",
  "fwd / TS",
];
const table: string[][] = [header];
const thetaOut: Record<number, { theta: number[]; loglik: number }> = {};
for (const n of dims) {
  const model = await loadModel("latent-var", { dim: n, series: p });
  const lik = likelihood(model, modelInputs(data, 0, data.trainEnd), f64Backend);
  const z = normal(n);
  const reps = n >= 40 ? 3 : 5;
  const thetas = Array.from({ length: reps }, () => lik.theta0.map((v) => v + 0.01 * z()));
  // Warm up: record the trace (and JIT the TS filter) outside the timings.
  const check = loglikAndGrad(lik, thetas[0]).value;
  forwardLoglik(lik, thetas[0]);
  const ref = kalmanLoglik(stateSpaceAt("latent-var", thetas[0], n, p), rows, "doubling");
  if (Math.abs(check - ref) > 1e-8 * Math.abs(ref)) throw new Error(`n=${n}: ${check} vs ${ref}`);
  thetaOut[n] = { theta: Array.from(thetas[0]), loglik: check };
  const ts = median(thetas, (t) => kalmanLoglik(stateSpaceAt("latent-var", t, n, p), rows, "doubling"));
  const vg = median(thetas, (t) => loglikAndGrad(lik, t));
  const fwd = median(thetas, (t) => forwardLoglik(lik, t));
  const untraced = median(thetas.slice(0, 1), (t) => untracedLoglikAndGrad(lik, t));
  const s = lik.staged.stats();
  table.push([
    String(n),
    String(lik.theta0.length),
    ts.toFixed(1),
    vg.toFixed(1),
    fwd.toFixed(1),
    untraced.toFixed(1),
    (vg / ts).toFixed(2),
    (fwd / ts).toFixed(2),
  ]);
  console.error(
    `n=${n}: ${s.replays} replays, ${s.recordings} recordings, engine ${s.engine}, ${s.entries} entries`,
  );
}
const widths = header.map((_, j) => Math.max(...table.map((r) => r[j].length)));
console.log(
  `latent VAR(1) on ${p} Pacific indices, ${rows.length} training months; medians of 5 θ (3 at n ≥ 40)`,
);
for (const r of table) console.log(r.map((c, j) => c.padStart(widths[j] + 2)).join(""));
if (values["theta-out"]) await Deno.writeTextFile(values["theta-out"], JSON.stringify(thetaOut));
