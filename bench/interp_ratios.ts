/**
 * Interpreted/direct time ratios for value+gradient as one table
 * (`deno run -A --v8-flags=--stack-size=4000 bench/interp_ratios.ts [--rounds N]`).
 * Each case is first warmed up (V8 optimises the evaluator's many small procedures only
 * after some hundreds of runs), then direct and interpreted runs alternate, and the median
 * of each is reported.
 */
import { loadInterpCases } from "./interp_cases.ts";

const GOAL = 3;

function median(xs: number[]): number {
  return xs.sort((a, b) => a - b)[xs.length >> 1];
}

function timeOnce(f: () => void, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
}

const at = Deno.args.indexOf("--rounds");
const rounds = at >= 0 ? Number(Deno.args[at + 1]) : 9;
const cases = await loadInterpCases();
console.log(
  [
    "program".padEnd(26),
    "backend".padEnd(7),
    "direct ms".padStart(10),
    "interp ms".padStart(10),
    "ratio".padStart(7),
  ]
    .join("  "),
);
/** Runs both variants of a case, alternately, for about `ms` milliseconds. */
function warmUp(c: { direct: () => void; interpreted: () => void }, ms: number): void {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    c.direct();
    c.interpreted();
  }
}

const ratios: number[] = [];
for (const c of cases) {
  // Warm up, size a repetition to ≥ 20 ms, then alternate.
  warmUp(c, 300);
  const once = timeOnce(c.interpreted, 3);
  const reps = Math.max(1, Math.ceil(20 / Math.max(once, 1e-3)));
  const d: number[] = [], i: number[] = [];
  for (let r = 0; r < rounds; r++) {
    d.push(timeOnce(c.direct, reps));
    i.push(timeOnce(c.interpreted, reps));
  }
  const [dm, im] = [median(d), median(i)];
  ratios.push(im / dm);
  console.log(
    [
      c.name.padEnd(26),
      c.backend.padEnd(7),
      dm.toFixed(3).padStart(10),
      im.toFixed(3).padStart(10),
      `${(im / dm).toFixed(2)}×`.padStart(7),
    ]
      .join("  "),
  );
}
const worst = Math.max(...ratios);
console.log(
  `worst interpreted/direct ratio ${worst.toFixed(2)}× (goal ≤ ${GOAL}×: ${
    worst <= GOAL ? "met" : "NOT met"
  })`,
);
