/** Plot input shared by the plot tests and bench/plot_bench.ts. */
import type { FitPlotInput } from "../../lib/fit/plot.ts";

/** A decaying exponential with small deterministic wiggles; the last quarter is the test split. */
export function decay(n: number): FitPlotInput & { x: Float64Array; observed: number[]; fitted: number[] } {
  const x = Array.from({ length: n }, (_, i) => i * 0.1);
  const fitted = x.map((t) => 2 * Math.exp(-0.3 * t) + 0.2);
  return {
    title: "exponential decay",
    xLabel: "time t (s)",
    yLabel: "signal y",
    x: Float64Array.from(x),
    observed: fitted.map((f, i) => f + 0.05 * Math.sin(7.3 * i)),
    fitted,
    split: x.map((_, i) => i < 0.75 * n ? "train" : "test"),
  };
}
