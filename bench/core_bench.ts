/**
 * Core benchmarks (`deno task bench`): one value+gradient of (a) a 1000-step scalar
 * recurrence and (b) a 20-op model over a 1000-element vector, as a program on tfjs and on
 * f64, each group against the same computation written by hand in tfjs (the baseline), so
 * that `deno bench` prints the program's overhead over raw tfjs and the f64 speed-up.
 */
import { loadCases, type Variant } from "./core_cases.ts";

const cases = await loadCases();

/** Last value computed, kept so that no evaluation is dead code. */
export let sink = 0;

for (const c of cases) {
  // The tfjs recurrence takes ~0.1 s per evaluation: a fixed, small count keeps the run short.
  const opts = c.name.startsWith("recurrence") ? { n: 20, warmup: 5 } : { n: 500, warmup: 50 };
  const bench = (v: Variant, baseline = false): void =>
    Deno.bench({
      name: `${c.name}: ${v.name}`,
      group: c.name,
      baseline,
      ...opts,
      fn: () => {
        sink = v.run().value;
      },
    });
  bench(c.hand, true);
  bench(c.tfjs);
  bench(c.f64);
}
