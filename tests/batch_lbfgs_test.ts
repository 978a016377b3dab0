// The batched L-BFGS (lib/fit/optim/batch_lbfgs.ts): K independent problems in one evaluation per
// round, each with its own memory, line search, stopping test, trace and warnings. The reference
// for each problem is the same optimizer run on that problem alone: in a batch it must take the
// very same path, so a state shared or copied between problems fails here.
import assert from "node:assert/strict";
import { batchLbfgs, type BatchObjective } from "../lib/fit/optim/batch_lbfgs.ts";

/** Problem kinds of dimension 2: Rosenbrock, a scaled quadratic, and one that is NaN beyond x₀ > 1. */
const PROBLEMS: ((x: number, y: number) => { f: number; g: [number, number] })[] = [
  (a, b) => ({
    f: 100 * (b - a * a) ** 2 + (1 - a) ** 2,
    g: [-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)],
  }),
  (a, b) => ({ f: (a - 3) ** 2 + 10 * (b + 2) ** 2, g: [2 * (a - 3), 20 * (b + 2)] }),
  (a, b) => a > 1 ? { f: NaN, g: [NaN, NaN] } : { f: (a - 2) ** 2 + b * b, g: [2 * (a - 2), 2 * b] },
];

/** The batch objective of problems `kinds` (problem k is PROBLEMS[kinds[k]]), counting its calls. */
function batchOf(kinds: number[]): { f: BatchObjective; calls: () => number } {
  let calls = 0;
  const f: BatchObjective = (x) => {
    calls++;
    const values = new Float64Array(kinds.length), grads = new Float64Array(2 * kinds.length);
    kinds.forEach((kind, k) => {
      const r = PROBLEMS[kind](x[2 * k], x[2 * k + 1]);
      values[k] = r.f;
      grads.set(r.g, 2 * k);
    });
    return { values, grads };
  };
  return { f, calls: () => calls };
}

Deno.test("batchLbfgs: each problem in a batch takes exactly the path it takes alone", () => {
  // Two Rosenbrocks from different starts, a quadratic, and the NaN-walled problem.
  const kinds = [0, 0, 1, 2];
  const x0 = Float64Array.of(-1.2, 1, 0.5, -0.5, 0, 0, 0, 1);
  const o = { maxRounds: 3000, tolerance: 1e-14 };
  const { f, calls } = batchOf(kinds);
  const batch = batchLbfgs(f, x0, kinds.length, 2, o);
  assert.equal(calls(), batch.rounds, "one objective call per round");
  kinds.forEach((kind, k) => {
    const alone = batchLbfgs(batchOf([kind]).f, x0.slice(2 * k, 2 * k + 2), 1, 2, o).runs[0];
    const run = batch.runs[k];
    assert.deepEqual(run.trace, alone.trace, `problem ${k}: trace`);
    assert.deepEqual(
      [run.iterations, run.evaluations, run.converged, run.reason, run.warnings, run.rejected],
      [alone.iterations, alone.evaluations, alone.converged, alone.reason, alone.warnings, alone.rejected],
      `problem ${k}`,
    );
    assert.deepEqual(Array.from(run.x), Array.from(batch.x.slice(2 * k, 2 * k + 2)));
    assert.equal(run.value, batch.values[k]);
  });
  // The two Rosenbrock starts end at the same minimum by different paths.
  assert.notDeepEqual(batch.runs[0].trace, batch.runs[1].trace);
  for (const k of [0, 1]) {
    assert.ok(Math.abs(batch.runs[k].x[0] - 1) < 1e-4, `problem ${k}: ${batch.runs[k].x}`);
  }
  // Only the NaN-walled problem has rejected steps, and says so.
  assert.ok(batch.runs[3].rejected > 0 && batch.runs[3].warnings.some((w) => w.includes("loss was NaN")));
  for (const k of [0, 1, 2]) assert.equal(batch.runs[k].rejected, 0);
  // Batching pays: the rounds are the longest problem's evaluations, not their sum.
  const total = batch.runs.reduce((a, r) => a + r.evaluations, 0);
  assert.equal(batch.rounds, Math.max(...batch.runs.map((r) => r.evaluations)));
  assert.ok(batch.rounds < total);
});

Deno.test("batchLbfgs: `steps` and the gradient test stop each problem on its own", () => {
  const kinds = [0, 1];
  const x0 = Float64Array.of(-1.2, 1, 0, 0);
  const r = batchLbfgs(batchOf(kinds).f, x0, 2, 2, { steps: 5, maxRounds: 1000, gradientTolerance: 1e-6 });
  assert.equal(r.runs[0].iterations, 5);
  assert.equal(r.runs[0].reason, "max steps (5)");
  assert.equal(r.runs[0].converged, false);
  const q = batchLbfgs(batchOf([1]).f, Float64Array.of(0, 0), 1, 2, {
    maxRounds: 1000,
    gradientTolerance: 1e-6,
  });
  assert.ok(q.runs[0].converged && q.runs[0].reason.startsWith("gradient norm"), q.runs[0].reason);
  assert.ok(q.runs[0].trace.at(-1)!.gradNorm <= 1e-6 * Math.max(1, Math.abs(q.runs[0].value)));
});

Deno.test("batchLbfgs: a problem not finite at its start is reported, the others run", () => {
  const r = batchLbfgs(batchOf([2, 1]).f, Float64Array.of(5, 0, 0, 0), 2, 2, { maxRounds: 500 });
  assert.equal(r.runs[0].reason, "not finite at the start");
  assert.equal(r.runs[0].iterations, 0);
  assert.ok(r.runs[1].converged && Math.abs(r.runs[1].x[0] - 3) < 1e-4);
});
