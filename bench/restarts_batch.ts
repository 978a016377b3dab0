// Batched against one-at-a-time restarts (lib/fit/restarts.ts calibrate, batch "always" vs
// "never") on the bundled specs, per backend: medians of interleaved rounds and their ratio.
// It decides where calibrate's "auto" batches (measured: see the README's Fitting section).
// Run: deno run -A bench/restarts_batch.ts [ROUNDS]
import { loadSpec, neededColumns } from "../lib/fit/spec.ts";
import { backendByName } from "../lib/backend/select.ts";
import { loadProgram } from "../lib/program.ts";
import { loadTable } from "../lib/fit/data.ts";
import { splitRows } from "../lib/fit/split.ts";
import { fitProblem, initialU } from "../lib/fit/problem.ts";
import { calibrate, restartStarts } from "../lib/fit/restarts.ts";

const ROUNDS = Number(Deno.args[0] ?? 3);
const RESTARTS = 4;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `restarts ${RESTARTS}, ${ROUNDS} interleaved rounds, medians (s); ratio = batched / one at a time`,
);
console.log(
  "spec".padEnd(22) + "backend".padEnd(8) + "batched".padStart(10) + "one-by-one".padStart(12) +
    "ratio".padStart(8),
);
for (const name of ["exponential_decay", "logistic_growth", "nino12_ar1_kalman"]) {
  const loaded = await loadSpec(new URL(`../fixtures/specs/${name}.json`, import.meta.url).pathname);
  const { spec } = loaded;
  const table = await loadTable(spec.data, loaded.dir, neededColumns(spec));
  for (const backend of ["f64", "tfjs"]) {
    const p = fitProblem({
      backend: await backendByName(backend),
      program: loadProgram(loaded.programText, loaded.programFile),
      table,
      spec,
      mode: spec.mode,
    });
    const rows = splitRows(table, spec.split).train;
    const starts = restartStarts(p, initialU(p, rows), RESTARTS, 0);
    const o = { method: "lbfgs" as const, steps: spec.optimizer.steps, tolerance: spec.optimizer.tolerance };
    const t = { always: [] as number[], never: [] as number[] };
    for (let k = 0; k < ROUNDS; k++) {
      for (const batch of ["always", "never"] as const) {
        const t0 = performance.now();
        calibrate(p, rows, starts, { ...o, batch });
        t[batch].push((performance.now() - t0) / 1000);
      }
    }
    const [a, b] = [median(t.always), median(t.never)];
    console.log(
      name.padEnd(22) + backend.padEnd(8) + a.toFixed(3).padStart(10) + b.toFixed(3).padStart(12) +
        (a / b).toFixed(2).padStart(8),
    );
  }
}
