// Fits the fit tests did not reach: a `loss.kind: "program"` fit (the Niño 1+2 AR(1)+noise Kalman
// filter, against an independent maximisation of the exact AR(1) likelihood, and the statsmodels
// values of bench/nino12_kalman_statsmodels.py), Adam through fitSpec, and the fit command's
// --json, --mode and --backend tfjs-wasm end to end.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../lib/fit/spec.ts";
import { fitSpec } from "../lib/fit/fit.ts";
import { runCli } from "./helpers/cli.ts";

const SPECS = new URL("../fixtures/specs/", import.meta.url).pathname;
const ANOMALIES = new URL("../fixtures/data/nino12_anomalies.csv", import.meta.url).pathname;

/**
 * The exact Gaussian AR(1) log-likelihood with a stationary start, maximised independently of
 * dmci: with S(φ) = (1−φ²)y₁² + Σₜ₌₂ⁿ (yₜ − φyₜ₋₁)², the MLE of the innovation variance is
 * q̂ = S(φ)/n, and the profile ℓ(φ) = −½[n log 2π + n log(S(φ)/n) − log(1−φ²) + n] is maximised
 * by golden-section search. The Kalman model's observation variance r has its MLE at the
 * boundary 0 on these data (statsmodels finds r ≈ 1e-14), where the model is exactly this AR(1).
 */
function ar1Mle(y: number[]): { phi: number; q: number; loglik: number } {
  const n = y.length;
  const S = (phi: number) => {
    let s = (1 - phi * phi) * y[0] * y[0];
    for (let t = 1; t < n; t++) s += (y[t] - phi * y[t - 1]) ** 2;
    return s;
  };
  const ell = (phi: number) =>
    -0.5 * (n * Math.log(2 * Math.PI) + n * Math.log(S(phi) / n) - Math.log(1 - phi * phi) + n);
  let [a, b] = [0, 0.999];
  const g = (Math.sqrt(5) - 1) / 2;
  while (b - a > 1e-12) {
    const c = b - g * (b - a), d = a + g * (b - a);
    if (ell(c) > ell(d)) b = d;
    else a = c;
  }
  const phi = (a + b) / 2;
  return { phi, q: S(phi) / n, loglik: ell(phi) };
}

Deno.test("a program log-likelihood fit (Niño 1+2 Kalman filter) reaches the AR(1) MLE", async () => {
  const rows = (await Deno.readTextFile(ANOMALIES)).trim().split("\n").slice(1).map((l) => l.split(","));
  const y = rows.filter((r) => Number(r[0]) < 2000).map((r) => Number(r[4]));
  assert.equal(y.length, 600);
  const ref = ar1Mle(y);
  // The independent maximisation agrees with statsmodels' SARIMAX (measurement_error=True):
  // loglik −343.754003, φ 0.925766, q 0.183546, r 1.1e-14 (bench/nino12_kalman_statsmodels.py).
  assert.ok(Math.abs(ref.loglik - -343.754003) < 1e-6, `reference loglik ${ref.loglik}`);
  assert.ok(Math.abs(ref.phi - 0.925766) < 1e-5 && Math.abs(ref.q - 0.183546) < 1e-5, `${ref.phi} ${ref.q}`);

  const r = await fitSpec(await loadSpec(join(SPECS, "nino12_ar1_kalman.json")), { plot: false });
  assert.equal(r.loss_kind, "program (log-likelihood)");
  const [phi, q, obs] = r.params;
  assert.ok(Math.abs(r.log_likelihood! - ref.loglik) < 1e-6, `loglik ${r.log_likelihood} vs ${ref.loglik}`);
  assert.equal(r.train.loss, -r.log_likelihood!);
  assert.ok(Math.abs(phi.value - ref.phi) < 1e-4, `phi ${phi.value} vs ${ref.phi}`);
  assert.ok(Math.abs(q.value - ref.q) < 1e-4, `q ${q.value} vs ${ref.q}`);
  assert.ok(obs.value < 1e-6, `r ${obs.value} should be at its boundary 0`);
  assert.ok(r.standard_errors.available && phi.se! > 0 && phi.se! < 0.05);
  assert.ok(r.test && r.test.loss! > 0 && r.test.rmse === null, "test rows scored by the program's own loss");
});

Deno.test("Adam through fitSpec reaches the L-BFGS optimum of the exponential decay", async () => {
  const lb = await fitSpec(await loadSpec(join(SPECS, "exponential_decay.json")), { plot: false });
  const loaded = await loadSpec(join(SPECS, "exponential_decay.json"));
  loaded.spec.optimizer = { ...loaded.spec.optimizer, method: "adam", steps: 4000, learning_rate: 0.05 };
  const r = await fitSpec(loaded, { plot: false });
  assert.equal(r.optimizer.method, "adam");
  const run = r.optimizer.restarts[0];
  assert.ok(run.iterations > 10 && run.iterations <= 4000);
  assert.equal(run.trace.length, run.iterations + 1);
  r.params.forEach((p, i) =>
    assert.ok(
      Math.abs(p.value - lb.params[i].value) < 1e-3 * Math.max(1, Math.abs(p.value)),
      `${p.name} ${p.value}`,
    )
  );
  assert.ok(r.train.loss! <= lb.train.loss! * (1 + 1e-6));
});

/** Runs `cli.ts fit …` in a subprocess. */
const fitCli = (args: string[]) => runCli(["fit", ...args]);

Deno.test("fit --json prints one results document; --mode direct gives the interpreted fit", async () => {
  const spec = join(SPECS, "exponential_decay.json");
  const [a, b] = await Promise.all([
    fitCli([spec, "--json", "--out", await Deno.makeTempDir()]),
    fitCli([spec, "--json", "--mode", "direct", "--out", await Deno.makeTempDir()]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ja = JSON.parse(a.stdout), jb = JSON.parse(b.stdout);
  assert.equal(ja.mode, "interpreted");
  assert.equal(jb.mode, "direct");
  assert.ok(!("svg" in ja) && ja.files.length === 2, "the SVG is a file, not in the JSON");
  assert.deepEqual(JSON.parse(await Deno.readTextFile(ja.files[0])).params, ja.params);
  ja.params.forEach((p: { value: number }, i: number) =>
    assert.ok(Math.abs(p.value - jb.params[i].value) <= 1e-9 * Math.max(1, Math.abs(p.value)))
  );
  const bad = await fitCli([spec, "--mode", "compiled"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--mode: expected interpreted or direct, got 'compiled'/);
});

Deno.test("fit --backend tfjs-wasm fits on the wasm backend and agrees with f64 to float32 precision", async () => {
  const spec = join(SPECS, "exponential_decay.json");
  const r = await fitCli([spec, "--json", "--backend", "tfjs-wasm", "--out", await Deno.makeTempDir()]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.backend, "tfjs-wasm");
  const f = await fitSpec(await loadSpec(spec), { plot: false });
  j.params.forEach((p: { value: number }, i: number) =>
    assert.ok(Math.abs(p.value - f.params[i].value) < 1e-3 * Math.max(1, Math.abs(p.value)), `${p.value}`)
  );
});
