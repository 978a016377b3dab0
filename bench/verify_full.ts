/**
 * The full verification run of issue 4's acceptance: every fixture in fixtures/programs,
 * seeds 0–4, direct vs interpreted on tfjs and on f64 (central differences on f64 in both),
 * with the summary, the wall time and the slowest programs of each backend. A script, not a
 * `deno bench` file: `deno run -A --v8-flags=--stack-size=4000 bench/verify_full.ts [PATH…]`.
 * Exits 1 when any pair fails.
 */
import { backendByName } from "../lib/backend/select.ts";
import { verifyPaths } from "../lib/verify.ts";

const SEEDS = 5;
const paths = Deno.args.length ? Deno.args : [new URL("../fixtures/programs", import.meta.url).pathname];
const f64 = await backendByName("f64");
let failed = 0;
const rows: string[] = [];

for (const name of ["tfjs", "f64"]) {
  const backend = await backendByName(name);
  const times: { file: string; ms: number }[] = [];
  let last = performance.now();
  const started = last;
  const report = await verifyPaths(paths, {
    backend,
    f64,
    seeds: SEEDS,
    onProgram: (file, pairs, i, total) => {
      const now = performance.now();
      times.push({ file: file.split("/").pop()!, ms: now - last });
      last = now;
      const bad = pairs.filter((p) => !p.ok);
      if (bad.length) {
        console.error(`${name} [${i + 1}/${total}] ${file}: ${bad.length} failed: ${bad[0].error ?? ""}`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const s = report.summary;
  failed += s.failed;
  rows.push(
    `${name.padEnd(5)} ${String(s.pairs).padStart(6)} ${String(s.passed).padStart(7)} ${
      String(s.failed).padStart(7)
    } ` +
      `${seconds.toFixed(1).padStart(8)} ${(1000 * seconds / Math.max(1, s.pairs)).toFixed(1).padStart(12)}`,
  );
  const slowest = times.sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(`${name}: ${s.pairs} pairs, ${s.passed} passed, ${s.failed} failed in ${seconds.toFixed(1)} s`);
  console.log(
    `  slowest (all ${SEEDS} seeds): ${slowest.map((t) => `${t.file} ${t.ms.toFixed(0)} ms`).join(", ")}`,
  );
}

console.log(`\nbackend  pairs  passed  failed  seconds  ms per pair`);
for (const row of rows) console.log(row);
Deno.exit(failed === 0 ? 0 : 1);
