/**
 * The outside reference for `bench enso`'s AR(1)+noise and AR(2)+noise: fits both by L-BFGS on
 * the interpreted Kalman likelihood (to a tight tolerance, best of a few starts), writes the same
 * training anomalies to a temp CSV, runs bench/enso_statsmodels.py (statsmodels SARIMAX with
 * measurement error, no trend, exact stationary initialisation) on them, and prints both maximum
 * log-likelihoods and parameter sets side by side. Exits 1 when a log-likelihood differs by more
 * than 1e-3, 3 when statsmodels is missing (saying so).
 *
 * Run: deno run -A --v8-flags=--stack-size=4000 bench/enso_statsmodels.ts
 */
import { join } from "node:path";
import { f64Backend } from "../lib/backend/f64/mod.ts";
import { anomalies, dataFiles, ENSO_DATA_DIR, readMonthly } from "../lib/domains/enso/data.ts";
import { loadModel, modelInputs } from "../lib/domains/enso/models.ts";
import { likelihood, loglikAndGrad } from "../lib/domains/enso/likelihood.ts";
import { stateSpaceAt } from "../lib/domains/enso/filter_f64.ts";
import { lbfgs } from "../lib/fit/optim/mod.ts";

const TOLERANCE = 1e-3;
const files = dataFiles(ENSO_DATA_DIR);
try {
  await Deno.stat(files.nino12);
} catch {
  console.error(`${files.nino12} is absent; nothing to compare`);
  Deno.exit(3);
}
const data = anomalies(await readMonthly(files.nino12), 1950, 1999, 2010);
const train = data.rows.slice(0, data.trainEnd).map((r) => r[0]);

/** Our maximum: L-BFGS on −log L from the program's start and a few others; the best. */
async function ours(id: "ar1+noise" | "ar2+noise") {
  const model = await loadModel(id);
  const lik = likelihood(model, modelInputs(data, 0, data.trainEnd), f64Backend);
  const starts = [lik.theta0, lik.theta0.map((v, i) => i === 0 ? 2 : v), lik.theta0.map((v) => v - 1)];
  let best = { value: -Infinity, theta: lik.theta0 };
  for (const x0 of starts) {
    const r = lbfgs(
      (x) => {
        const e = loglikAndGrad(lik, x);
        return { value: -e.value, grad: e.grad.map((g) => -g) };
      },
      x0,
      { tolerance: 1e-13, steps: 2000 },
    );
    if (-r.value > best.value) best = { value: -r.value, theta: r.x };
  }
  const ss = stateSpaceAt(id, best.theta);
  const params = id === "ar1+noise"
    ? { "ar.L1": ss.A[0], "var.measurement_error": ss.R[0], sigma2: ss.Q[0] }
    : { "ar.L1": ss.A[0], "ar.L2": ss.A[1], "var.measurement_error": ss.R[0], sigma2: ss.Q[0] };
  return { loglik: best.value, params };
}

const dir = await Deno.makeTempDir({ prefix: "enso_sm_" });
const csv = join(dir, "anomalies.csv");
await Deno.writeTextFile(csv, "anomaly\n" + train.map((v) => v.toPrecision(17)).join("\n") + "\n");
const py = await new Deno.Command("/usr/bin/python3", { // Debian's, where python3-statsmodels installs
  args: [new URL("./enso_statsmodels.py", import.meta.url).pathname, csv],
  stdout: "piped",
  stderr: "piped",
}).output().catch((e) => {
  console.error(`cannot run python3: ${e.message}`);
  Deno.exit(3);
});
await Deno.remove(dir, { recursive: true });
const dec = new TextDecoder();
if (py.code !== 0) {
  console.error(dec.decode(py.stderr).trim());
  Deno.exit(3);
}
const sm = JSON.parse(dec.decode(py.stdout));
console.log(`training anomalies: ${train.length} months (1950–1999), statsmodels ${sm.statsmodels}`);
let ok = true;
for (const [id, key] of [["ar1+noise", "ar1"], ["ar2+noise", "ar2"]] as const) {
  const mine = await ours(id);
  const ref = sm[key] as { loglik: number; params: Record<string, number> };
  const diff = Math.abs(mine.loglik - ref.loglik);
  ok &&= diff <= TOLERANCE;
  console.log(
    `\n${id}: max log-likelihood  dmci ${mine.loglik.toFixed(6)}  statsmodels ${ref.loglik.toFixed(6)}  ` +
      `|difference| ${diff.toExponential(2)} (${diff <= TOLERANCE ? "agree" : "DISAGREE"} to ${TOLERANCE})`,
  );
  for (const [name, v] of Object.entries(mine.params)) {
    console.log(
      `  ${name.padEnd(22)} dmci ${v.toPrecision(7).padStart(14)}  statsmodels ${
        ref.params[name].toPrecision(7).padStart(14)
      }`,
    );
  }
}
Deno.exit(ok ? 0 : 1);
