// Restarts of a fit are independent optimisations: on tfjs they are evaluated in one batch
// (lib/fit/optim/batch_lbfgs.ts), yet each reports its own iterations, convergence, trace and
// warnings, as if it had run alone. These tests fail if the batching is removed (rounds would
// equal the sum of the restarts' evaluations) or if one restart's data is copied into another.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../lib/fit/spec.ts";
import { fitSpec } from "../lib/fit/fit.ts";

const SPECS = new URL("../fixtures/specs/", import.meta.url).pathname;

Deno.test("batched restarts on tfjs report each restart's own loss, trace, iterations and evaluations", async () => {
  const loaded = await loadSpec(join(SPECS, "exponential_decay.json"));
  loaded.spec.optimizer.restarts = 3;
  const r = await fitSpec(loaded, { plot: false, backend: "tfjs" });
  const runs = r.optimizer.restarts;
  assert.equal(runs.length, 3);
  // The one-restart profile likelihood at the optimum is about −194.52 (f64 fit: −194.524); the
  // headline trace is the best restart's and ends there, not at the sum of the restarts.
  assert.equal(r.optimizer.trace.at(-1)!.value, runs[r.optimizer.best_restart].loss);
  assert.ok(r.optimizer.batched_rounds !== null, "the restarts ran batched");
  for (const run of runs) {
    assert.ok(Math.abs(run.loss - -194.524) < 0.01, `restart ${run.restart}: loss ${run.loss}`);
    assert.equal(run.trace.length, run.iterations + 1, "one trace point per iteration and the start");
    assert.equal(run.trace.at(-1)!.value, run.loss, "the trace ends at the restart's own loss");
    assert.equal(run.trace.at(-1)!.evaluations, run.evaluations);
    assert.ok(run.converged, `restart ${run.restart}: ${run.reason}`);
  }
  // Different starts: different first values and different paths.
  const firsts = new Set(runs.map((x) => x.trace[0].value));
  assert.equal(firsts.size, 3, `start values ${[...firsts]}`);
  assert.notDeepEqual(runs[0].trace, runs[1].trace);
  assert.notDeepEqual(runs[1].trace, runs[2].trace);
  // One batched round serves every restart still running: fewer rounds than evaluations in all.
  const total = runs.reduce((a, x) => a + x.evaluations, 0);
  assert.equal(r.optimizer.batched_rounds, Math.max(...runs.map((x) => x.evaluations)));
  assert.ok(
    r.optimizer.batched_rounds! < total,
    `${r.optimizer.batched_rounds} rounds, ${total} evaluations`,
  );
  assert.deepEqual(r.optimizer.trace, runs[r.optimizer.best_restart].trace);
});
