/**
 * Random search: independent Gaussian samples around the starting point, keeping the best. The
 * baseline every other method should beat; it has no state but the best point.
 */
import { normal } from "../../random.ts";
import type { GradientFreeOptions, GradientFreeResult, ValueObjective } from "./types.ts";
import { worstIfNaN } from "./vec.ts";

/**
 * Minimises `f` by evaluating x0 and then `steps` points x0 + step·z, z ~ N(0, I) (step default
 * 0.1, steps default 1000·n, seeded by `seed`), returning the best. It never converges: it stops
 * when the samples (or the caller's budget) run out.
 *
 * @example
 * ```ts
 * const sphere = (x: Float64Array) => x.reduce((s, v) => s + v * v, 0);
 * randomSearch(sphere, Float64Array.of(0.5, 0.5), { step: 0.5, steps: 500, seed: 1 }).value; // small
 * ```
 */
export function randomSearch(
  f: ValueObjective,
  x0: Float64Array,
  o: GradientFreeOptions = {},
): GradientFreeResult {
  const steps = Math.max(0, Math.floor(o.steps ?? 1000 * x0.length));
  const step = o.step ?? 0.1;
  const z = normal(o.seed ?? 0);
  let bestX = Float64Array.from(x0);
  let bestValue = worstIfNaN(f(Float64Array.from(x0)));
  let evaluations = 1;
  for (let i = 1; i <= steps; i++) {
    const x = x0.map((v) => v + step * z());
    const v = worstIfNaN(f(Float64Array.from(x)));
    evaluations++;
    if (v < bestValue) {
      bestValue = v;
      bestX = x;
    }
    o.onStep?.({ iter: i, value: bestValue, evaluations });
  }
  return {
    x: bestX,
    value: bestValue,
    iterations: steps,
    evaluations,
    converged: false,
    reason: `samples spent (${steps})`,
  };
}
